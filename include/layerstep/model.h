/* model.h - a model directory (config.json + weights.safetensors) and the
 * architectures that build graphs from it.
 *
 *   ls_model *m;
 *   ls_model_load("data/toy_transformer", &m, &err);     // config + weights
 *   ls_build_opts o = {0};                              // default mode
 *   ls_graph *g;
 *   ls_model_build(m, inputs, &o, &g, &err);            // inputs: name -> tensor
 *   ... ls_exec_new(g, ...) ...
 *   ls_graph_free(g); ls_model_free(m);
 *
 * A model is immutable once loaded; every run builds its own graph and
 * executor, so one model serves many runs.  Each architecture is one
 * ls_arch (src/models/<arch>.c) listed in src/models/registry.c.
 */
#ifndef LAYERSTEP_MODEL_H
#define LAYERSTEP_MODEL_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "layerstep/exec.h"

typedef struct ls_model ls_model;

typedef struct ls_build_opts {
    const char *mode;    /* arch-specific: "teacher" (default) / "greedy" for transformer */
    const char *module;  /* build only this module (path), fed from the inputs */
} ls_build_opts;

/* What an input looks like, for --random-inputs, help text and checks. */
typedef struct ls_input_spec {
    char name[64];
    ls_dtype dtype;
    int ndim;
    int64_t shape[LS_MAX_DIMS];
    char what[128];      /* "source token ids, pad id 0, [B,src_len]" */
} ls_input_spec;

typedef struct ls_arch {
    const char *name;        /* value of config.json "arch" */
    const char *root_class;  /* class of the root module in the tree print */
    /* Reads m's config tree into a typed struct stored with ls_model_set_cfg. */
    int (*parse_config)(ls_model *m, ls_error *err);
    /* Records the forward pass for these inputs into a new graph. */
    int (*build)(const ls_model *m, const ls_tmap *inputs, const ls_build_opts *o,
                 ls_graph **out, ls_error *err);
    /* Example inputs (shapes a print or a random run can use); fills a map. */
    int (*example_inputs)(const ls_model *m, ls_tmap *out, ls_error *err);
    /* Optional: fill m's weights from a seed when the directory has none. */
    int (*random_weights)(ls_model *m, uint64_t seed, ls_error *err);
    /* With random_weights: the bytes it would allocate, from the config
     * alone (saturating at UINT64_MAX), so absurd sizes are refused before
     * anything is generated. */
    uint64_t (*random_weights_bytes)(const ls_model *m);
    /* Optional: per-axis labels (tokens) of batch item `batch` for a
     * point, NULL if none (each item of a batch has its own sentence). */
    const char *(*token_label)(const ls_model *m, const ls_tmap *inputs, const char *point,
                               int64_t batch, int axis, int64_t index, char *buf, size_t n);
    /* Optional: the word a token id stands for in an id tensor `point`
     * (inputs, greedy results, argmax), NULL if the point holds no ids. */
    const char *(*id_word)(const ls_model *m, const char *point, int64_t id, char *buf, size_t n);
    /* Optional (audio models): the frame rates a time axis can have for
     * an input of `ms` milliseconds, one per stage (samples or fbank
     * frames, then after each strided conv): n[i] frames, step[i] ms
     * apart, frame j starting at j * step[i].  Returns the count (<= max).
     * An axis as long as n[i] is labelled with times; others are not. */
    int (*time_rates)(const ls_model *m, double ms, int64_t *n, double *step, int max);
    /* Optional: after a run, print the result for people (decoded words,
     * output shapes).  */
    void (*print_result)(const ls_model *m, const ls_exec *ex, FILE *out);
} ls_arch;

const ls_arch *ls_arch_find(const char *name);
int ls_arch_count(void);
const ls_arch *ls_arch_at(int i);

/* Seeded random weights (a config with no weights file) may take at most
 * ls_model_default_max_memory() bytes; _limit sets that cap (0: none). */
int ls_model_load(const char *dir, ls_model **out, ls_error *err);
int ls_model_load_limit(const char *dir, size_t max_bytes, ls_model **out, ls_error *err);
/* Half of physical memory: the default cap on one run. */
size_t ls_model_default_max_memory(void);
/* Bytes of every weight tensor (a run's fixed cost). */
size_t ls_model_weight_bytes(const ls_model *m);
/* "" or one line about weights with NaN/Inf values (naming the first such
 * tensor); loading still succeeds. */
const char *ls_model_warning(const ls_model *m);
void ls_model_free(ls_model *m);

const char *ls_model_dir(const ls_model *m);
const ls_arch *ls_model_arch(const ls_model *m);
const cJSON *ls_model_config(const ls_model *m);
const char *ls_model_config_path(const ls_model *m);  /* for messages */
ls_tmap *ls_model_weights(const ls_model *m);
/* "trained weights" or "random weights, seed N" */
const char *ls_model_weights_note(const ls_model *m);
void ls_model_set_weights_note(ls_model *m, const char *note);
void *ls_model_cfg(const ls_model *m);
/* The model takes ownership of cfg (freed with free()). */
void ls_model_set_cfg(ls_model *m, void *cfg);

/* ---- CTC (speech models with a CTC head) ----
 * The units file of the model directory (WeNet's units.txt, or tokens.txt:
 * "TOKEN ID" per line, "<blank> 0", ..., "▁" or "<space>" for a space) is
 * read at load when present; a malformed one refuses the load naming the
 * file and line.  config.json "ctc_blank" (default 0) is the blank id. */
int ls_model_n_units(const ls_model *m);               /* 0: no units file */
const char *ls_model_unit(const ls_model *m, int64_t id); /* NULL if unknown */
int64_t ls_model_ctc_blank(const ls_model *m);
/* The unit as text: " " for the space units, "<ID>" for an id without a
 * unit.  Returns buf. */
const char *ls_model_unit_text(const ls_model *m, int64_t id, char *buf, size_t n);
/* Item `batch`'s transcript from a finished run's "ctc_greedy_search"
 * point into buf (cut to fit).  Returns 1, or 0 when the graph has no
 * CTC decoding (buf is then ""). */
int ls_ctc_transcript(const ls_model *m, const ls_exec *ex, int64_t batch, char *buf, size_t n);

int ls_model_build(const ls_model *m, const ls_tmap *inputs, const ls_build_opts *o,
                   ls_graph **out, ls_error *err);

/* Deterministic generator for seeded random weights and --random-inputs
 * (splitmix64 + Box-Muller); no global state. */
typedef struct ls_rng { uint64_t s; } ls_rng;
uint64_t ls_rng_next(ls_rng *r);
float ls_rng_uniform(ls_rng *r);   /* [0,1) */
float ls_rng_normal(ls_rng *r);

#endif
