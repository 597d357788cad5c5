/* cli.h - shared pieces of the `layerstep` subcommands (not a library
 * API: the CLI is the only user). */
#ifndef LAYERSTEP_CLI_H
#define LAYERSTEP_CLI_H

#include <stdbool.h>

#include "layerstep/model.h"

#define CLI_MAX_INPUTS 32
#define CLI_MAX_BREAKS 32

typedef struct cli_opts {
    const char *model;
    const char *inputs_dir;
    const char *input_names[CLI_MAX_INPUTS];  /* point into name_buf */
    char name_buf[CLI_MAX_INPUTS][128];
    const char *input_files[CLI_MAX_INPUTS];
    int n_inputs;
    const char *src;          /* --src TEXT (text models) */
    const char *tgt;          /* --tgt TEXT (teacher forcing) */
    const char *wav;          /* --wav FILE (audio models) */
    const char *mode;         /* --mode teacher|greedy */
    const char *module;       /* --module PATH */
    const char *only;         /* --only GLOB */
    const char *out;          /* --out DIR */
    const char *breaks[CLI_MAX_BREAKS];
    int n_breaks;
    bool stats, force, reference, all, json, help, strict;
    bool random_inputs;
    unsigned long long seed;
    double atol, rtol;
    int threads;
    /* the executors' cancel flag (ls_exec_opts.cancel): the TUI's signal
     * flag; NULL for the batch commands, which signals simply end */
    const _Atomic int *cancel;
    size_t max_memory;        /* --max-memory; 0 until parsed = half of RAM */
    /* run/dump: with --only, keep only the outputs of matching points
     * (the others' buffers are reused; hooks still see every node) */
    bool only_keeps;
    const char *positional[4];
    int n_positional;
} cli_opts;

/* Parses argv[first..]; unknown options are errors. Returns 0 or 2. */
int cli_parse(int argc, char **argv, int first, cli_opts *o, const char *cmd);
/* Loads the model and the inputs the options name (or the model's example
 * inputs when none are given). Prints the error and returns 2 on failure. */
int cli_load(const cli_opts *o, ls_model **m, ls_tmap **inputs);
/* Builds the graph and an executor with inputs set. */
int cli_prepare(const cli_opts *o, ls_model *m, ls_tmap *inputs, ls_graph **g, ls_exec **ex);
void cli_error(const char *msg);
/* One stderr line each when a WAV was mixed down or resampled. */
struct ls_wav_info;
void cli_wav_notices(const char *path, const struct ls_wav_info *wi);
/* A whole number of digits only, at most max; prints "OPT takes ..." and
 * returns 2 otherwise. */
int cli_parse_count(const char *s, unsigned long long max, unsigned long long *out,
                    const char *opt, const char *cmd);
/* Refuses a run whose weights + the tensors its executor (options eo)
 * keeps exceed --max-memory: prints the estimate and a hint, returns 2.
 * Called before any activation is allocated. */
int cli_check_memory(const cli_opts *o, const ls_model *m, const ls_graph *g,
                     const ls_exec_opts *eo);
/* What an executor may allocate under an explicit --max-memory (the
 * limit less the weights, at least 1); 0 without one. */
size_t cli_exec_budget(const cli_opts *o, const ls_model *m);
/* --reference, or LAYERSTEP_REFERENCE=1 (the kernels' test oracle) */
bool cli_reference(const cli_opts *o);

int cmd_print(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_bench(int argc, char **argv);
/* bench --tui: key-to-redraw times on a real model */
int cmd_bench_tui(int argc, char **argv);
int cmd_tui(int argc, char **argv);
/* transcribe --model DIR F.wav...: FILE<TAB>TEXT per file (CTC greedy) */
int cmd_transcribe(int argc, char **argv);
int cmd_lesson(int argc, char **argv);
int cmd_lessons(int argc, char **argv);
/* man TEMPLATE: the manual page, KEYS filled from the key table (build step) */
int cmd_man(int argc, char **argv);
/* bare `layerstep`: the lessons (lesson 01 on a first start) */
int cli_default(const char *argv0);

#endif
