/* lesson.h - guided lessons: a JSON file of steps over a real model run.
 *
 *   ls_lesson *L;
 *   ls_lesson_load("lessons/02_masks.json", &L, &err);       // full validation
 *   ls_lesson_run run;
 *   ls_lesson_run_open(L, LS_DATA_DIR, &(ls_exec_opts){.threads = 1}, &run, &err);
 *   ls_lesson_check_all(L, &run, &err);                      // every point exists
 *   bool ok = ls_lesson_check(&L->steps[3].q, run.g, run.ex, run.m, NULL, "[2, 8, 6, 64]", 0, why, sizeof why);
 *   ls_lesson_run_close(&run); ls_lesson_free(L);
 *
 * Answers are never stored in the file: a shape question is answered by
 * the live tensor's shape, a masked-positions question by the live mask,
 * a choice by a live quantity, a rise/fall question by the value before
 * and after the edit, a which-column question by the row's live maximum.  So a lesson stays right when the model changes.
 * Narration can quote live facts too: "{shape:POINT}" becomes "[2, 8, 6, 64]"
 * and "{dim:POINT:K}" one dimension (ls_lesson_expand).
 *
 * Every text is given in every language (LS_LESSON_LANGS); the loader
 * refuses a lesson missing one, naming the file and the step.
 * Ownership: ls_lesson_free frees everything the lesson holds; a run
 * owns its model, inputs, graph and executor.
 */
#ifndef LAYERSTEP_LESSON_H
#define LAYERSTEP_LESSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layerstep/model.h"

enum { LS_LANG_EN = 0, LS_LANG_ZH, LS_LANG_COUNT };
#define LS_LESSON_LANGS {"en", "zh"}

typedef struct ls_ltext { char *s[LS_LANG_COUNT]; } ls_ltext;

typedef enum ls_lesson_show {
    LS_SHOW_TENSOR = 0,  /* the numbers */
    LS_SHOW_HEATMAP,
    LS_SHOW_ATTENTION,   /* the attention chain of one head */
    LS_SHOW_SHAPE,       /* how the shape came about */
} ls_lesson_show;

typedef enum ls_lesson_qkind {
    LS_Q_NONE = 0,
    LS_Q_SHAPE,      /* type the shape of `of`: "[2, 8, 6, 64]" */
    LS_Q_CHOICE,     /* pick the choice whose value equals a live quantity */
    LS_Q_MASKED,     /* list the masked columns of row `index` of mask `of` */
    LS_Q_DIRECTION,  /* does `of[index]` rise or fall after the step's edit? */
    LS_Q_TEXT,       /* type what a CTC id tensor says: the transcript of
                      * ctc_greedy_search, or the unit at one cell of topk_index */
    LS_Q_COUNT,      /* how many cells of row `index` of `of` equal `equal` */
    LS_Q_ARGMAX,     /* which column of row `index` of `of` is largest ("which key
                      * does query 3 attend to most?"): a column number */
} ls_lesson_qkind;

#define LS_LESSON_MAX_CHOICES 6

typedef struct ls_lesson_question {
    ls_lesson_qkind kind;
    ls_ltext prompt;
    ls_ltext why;            /* the reason, shown with a wrong answer */
    char *of;                /* the point the answer is read from */
    int n_index;             /* index prefix (masked, argmax: the row; direction: a cell) */
    int64_t index[4];
    /* choice: the quantity is dim `dim` of `of` (dim >= 0), or the value at index,
     * or (argmax) the column of the largest value in row `index` (all dims but
     * the last): "which key does this query attend to most?" */
    int dim;
    bool argmax;
    int n_choices;
    ls_ltext choices[LS_LESSON_MAX_CHOICES];
    double values[LS_LESSON_MAX_CHOICES];  /* NaN matches NaN ("nan" in the file) */
    double equal;            /* count: the value counted */
    /* "value": [lo, hi]: the choice matches lo <= v <= hi (values[] = lo),
     * for a peak that a retrained model may move by a frame or two */
    double upto[LS_LESSON_MAX_CHOICES];
    bool is_range[LS_LESSON_MAX_CHOICES];
} ls_lesson_question;

typedef enum ls_lesson_akind { LS_ACT_NONE = 0, LS_ACT_EDIT, LS_ACT_HEAD } ls_lesson_akind;

typedef struct ls_lesson_action {
    ls_lesson_akind kind;
    char *point;             /* edit: the tensor edited */
    int n_index;
    int64_t index[4];
    bool has_to;             /* edit: every cell of the box index..to (inclusive) */
    int64_t to[4];
    double value;
    int head;                /* head: the head to show */
} ls_lesson_action;

/* The cells an edit action sets: 1, or the box index..to (at most
 * LS_LESSON_MAX_EDIT_CELLS, checked at load); cell k of them, in row-major
 * order, into idx (LS_MAX_DIMS numbers, the unused ones 0). */
#define LS_LESSON_MAX_EDIT_CELLS (1 << 20)
int64_t ls_lesson_edit_count(const ls_lesson_action *a);
void ls_lesson_edit_cell(const ls_lesson_action *a, int64_t k, int64_t *idx);

/* A step's "run": from this step on (until the next step with one) the
 * steps look at a new run.  Unset fields inherit from the run before:
 * the model; the input and mode only when the model is the same (a
 * different model gets its example inputs).  module/random are never
 * inherited.  A module run is that module alone (ls_graph_extract), fed
 * seeded random tensors of the shapes it gets in the full run
 * (random_inputs, as `layerstep run --module P --random-inputs SEED`), or
 * else the full run's own tensors at its arguments. */
typedef struct ls_lesson_switch {
    char *models[4];         /* n_models == 0: the current model */
    int n_models;
    bool has_input;
    char *in_src, *in_tgt, *in_wav, *in_dir;
    char *mode;
    char *module;            /* a module path, or NULL: the whole model */
    bool random;             /* random_inputs given */
    uint64_t seed;
} ls_lesson_switch;

typedef struct ls_lesson_step {
    char *point;
    ls_lesson_switch *run;   /* NULL: the run of the steps before */
    ls_ltext text;
    ls_lesson_show show;
    ls_lesson_question q;
    ls_lesson_action act;
} ls_lesson_step;

typedef struct ls_lesson {
    char *path;              /* the file, for messages */
    char id[16];             /* "02", from the file name's leading digits */
    ls_ltext title;
    char *models[4];         /* model directories under the data dir, first existing wins */
    int n_models;
    char *in_src, *in_tgt;   /* input: text (transformer) */
    char *in_wav;            /* input: a wav file under the data dir */
    char *in_dir;            /* input: an inputs/ directory of the model */
    char *mode;              /* build mode ("teacher"), or NULL */
    char *user_wav;          /* `lesson N --wav F`: F, as given, replaces every "wav" input
                              * (set by the caller after loading; freed with the lesson) */
    ls_lesson_step *steps;
    int n_steps;
} ls_lesson;

int ls_lesson_load(const char *path, ls_lesson **out, ls_error *err);
/* The same from memory: `text` is n bytes (no NUL needed), `name` stands
 * for the file in messages and gives the lesson's id. */
int ls_lesson_parse(const char *text, size_t n, const char *name, ls_lesson **out,
                    ls_error *err);
void ls_lesson_free(ls_lesson *L);
/* "en" / "zh" -> LS_LANG_*, -1 if unknown. */
int ls_lesson_lang(const char *name);
/* Language from LC_ALL / LC_MESSAGES / LANG ("zh_CN.UTF-8" -> zh), else en. */
int ls_lesson_lang_default(void);
const char *ls_ltext_get(const ls_ltext *t, int lang);

/* Lesson files (NN_*.json) of a directory, sorted by name; *paths is an
 * array of malloc'ed strings (free with ls_lesson_list_free). */
int ls_lesson_list(const char *dir, char ***paths, int *n, ls_error *err);
void ls_lesson_list_free(char **paths, int n);

/* A lesson's model, inputs, graph and executor: the run one stretch of
 * steps looks at (from step `start`, see ls_lesson_run_start).  For a
 * module run g and ex hold the module alone; in stays the full model's
 * inputs (they fixed the module's shapes). */
typedef struct ls_lesson_run {
    ls_model *m;
    ls_tmap *in;
    ls_graph *g;
    ls_exec *ex;
    char model_dir[512];
    int start;               /* the first step of this run's stretch */
    char module[256];        /* "" for the whole model */
    bool random;             /* module fed seeded random tensors */
    uint64_t seed;
    char data_dir[512];      /* how it was opened, to open the next one */
    ls_exec_opts eo;
    bool has_eo;
    bool borrowed;           /* m belongs to someone else (open_shared) */
    /* a WAV input as the file had it: rate != 16000 was resampled,
     * channels > 1 mixed down (0: no WAV input) */
    int wav_rate, wav_channels;
    char wav_path[700];
} ls_lesson_run;
/* Whether the lesson reads a WAV anywhere (its input or a step's run). */
bool ls_lesson_takes_wav(const ls_lesson *L);
/* The run of step 0 (the lesson's model and input, or step 0's "run"). */
int ls_lesson_run_open(const ls_lesson *L, const char *data_dir, const ls_exec_opts *eo,
                       ls_lesson_run *run, ls_error *err);
/* The run step `step` looks at; eo may be NULL (defaults). */
int ls_lesson_run_open_at(const ls_lesson *L, int step, const char *data_dir,
                          const ls_exec_opts *eo, ls_lesson_run *run, ls_error *err);
/* The same, borrowing `share` (not copied, must outlive run) when the run
 * needs that model directory, instead of loading its weights again. */
int ls_lesson_run_open_shared(const ls_lesson *L, int step, const char *data_dir,
                              const ls_exec_opts *eo, const ls_model *share, ls_lesson_run *run,
                              ls_error *err);
/* Makes run the one step `step` looks at: nothing if it already is, else
 * closes it and opens that one (same data dir and executor options; the
 * model is kept if the new run uses the same directory).  On failure run
 * is closed. */
int ls_lesson_run_switch(const ls_lesson *L, int step, ls_lesson_run *run, ls_error *err);
/* The step whose "run" step `step` uses: the last step <= step with a
 * "run", or 0 (the lesson's own run).  Steps with the same start share
 * one run. */
int ls_lesson_run_start(const ls_lesson *L, int step);
void ls_lesson_run_close(ls_lesson_run *run);
/* Every point and question tensor of the steps that look at step 0's run
 * exists in g (the graph ls_lesson_run_open gave); steps after a "run"
 * switch are left to ls_lesson_check_all.  An error names the file, the
 * step and the point. */
int ls_lesson_check_points(const ls_lesson *L, const ls_graph *g, ls_error *err);
/* The same for every step, each in its own run: opens every run the
 * lesson switches to (through `run`, which is back at step 0's run after
 * a success). */
int ls_lesson_check_all(const ls_lesson *L, ls_lesson_run *run, ls_error *err);

/* Text with {shape:P} and {dim:P:K} replaced from g's shapes (in the
 * narration, question prompts and choice texts); returns how many
 * references did not resolve (each shows as "?"). */
int ls_lesson_expand(const char *text, const ls_graph *g, char *out, size_t n);

/* ls_lesson_expand, but a point for which hide(ud, point, its shape, K)
 * is true reads "[?, ?, ?, ?]" ({shape:}, K = -1) or "?" ({dim:P:K}): the narration
 * of a step must not give away the answer to its open question. */
int ls_lesson_expand_hiding(const char *text, const ls_graph *g,
                            bool (*hide)(void *ud, const char *point, const ls_tensor *shape, int dim),
                            void *ud, char *out, size_t n);

/* ls_lesson_expand_hiding that also reads the live run: "{transcript}"
 * becomes what ctc_greedy_search decoded (item 0, m's units), "?" until it
 * is computed; hide(ud, "ctc_greedy_search", NULL, -2) true hides it ("?"
 * too: the open question asks for it).  ex and m may be NULL ("?"). */
int ls_lesson_expand_live(const char *text, const ls_graph *g, const ls_exec *ex,
                          const ls_model *m,
                          bool (*hide)(void *ud, const char *point, const ls_tensor *shape, int dim),
                          void *ud, char *out, size_t n);

/* The right answer as text ("[2, 8, 6, 64]", "3 4 5", "b", "falls",
 * "hello world", "17"), read from the live tensors; m (may be NULL: ids
 * read "<N>") turns a text question's ids into units; for LS_Q_DIRECTION `before` is the watched value
 * before the edit (ex holds the value after).  The question's tensor must
 * be computed.  Returns LS_OK or an error. */
int ls_lesson_answer(const ls_lesson_question *q, const ls_graph *g, const ls_exec *ex,
                     const ls_model *m, const double *before, char *ans, size_t n, ls_error *err);
/* Whether `typed` is right; if not, `reason` gets why (the live fact, then
 * the lesson's explanation in lang). */
bool ls_lesson_check(const ls_lesson_question *q, const ls_graph *g, const ls_exec *ex,
                     const ls_model *m, const double *before, const char *typed, int lang,
                     char *reason, size_t n);
/* The choice typed: by its letter ("b", "b)") or by its value ("64",
 * or the choice's text in lang or English); -1 if none.  *more (may be
 * NULL) tells whether typed is also the start of another choice's value,
 * so a quiz that answers without Enter waits for the next key. */
int ls_lesson_choice_typed(const ls_lesson_question *q, const char *typed, int lang, bool *more);
/* The live fact that decides the question ("the live shape of q is
 * [1, 8, 32, 64]"), for the reveal; never shown while it is open. */
int ls_lesson_fact(const ls_lesson_question *q, const ls_graph *g, const ls_exec *ex,
                   const ls_model *m, const double *before, int lang, char *fact, size_t n,
                   ls_error *err);
/* The watched value of a direction question (NaN if not computed). */
double ls_lesson_watch(const ls_lesson_question *q, const ls_graph *g, const ls_exec *ex);

/* The right answer of step `step`, worked out on run (switched first to
 * the run the step looks at, see ls_lesson_run_switch; runs it to the end
 * first; when the step has an edit action, applies it, reads the answer
 * (a direction question: against the value before it; any other: with the
 * edit in place, as the TUI asks it), then restores the cell and reruns).
 * For tests and --answers. */
int ls_lesson_solve(const ls_lesson *L, int step, ls_lesson_run *run, char *ans, size_t n,
                    ls_error *err);

/* A step's edit on a finished run: every cell of it set to its value (old
 * values saved in *old, malloc'ed), then the run redone downstream; undo
 * puts the old values back, frees old and reruns.  For tests and solving;
 * the TUI edits through its own undo stack. */
int ls_lesson_edit_apply(const ls_lesson_action *act, const ls_graph *g, ls_exec *ex, double **old,
                         ls_error *err);
int ls_lesson_edit_undo(const ls_lesson_action *act, const ls_graph *g, ls_exec *ex, double *old,
                        ls_error *err);

/* Progress (progress.c): {"lessons": {"02": {"step": 4, "done": false,
 * "answers": [1, 2, 0, 3]}}, "last": "02"} at
 * $XDG_STATE_HOME/layerstep/progress.json (~/.local/state/...).
 * answers[i]: how step i's question went (0 not yet, 1 right first time,
 * 2 right after a retry, 3 shown). */
/* The file's path, malloc'ed; NULL when neither variable is set. */
char *ls_progress_path(void);
/* Step saved for lesson id (0 if none), *any = whether the file has any
 * lesson.  No file is a first start (LS_OK); a file that cannot be read
 * or is damaged is an error naming it (the outputs stay at a first start). */
int ls_progress_get(const char *path, const char *id, int *step, bool *done, bool *any, ls_error *err);
/* answers of lesson id into res[0..n) (zeros where none). */
int ls_progress_get_answers(const char *path, const char *id, unsigned char *res, int n, ls_error *err);
/* Records step, done and the answers of id, written atomically
 * (directories made).  A file that cannot be read is never overwritten
 * (an error); a damaged one is kept as PATH.bad-<time> first, and then,
 * on success, err->msg holds that notice with err->code 0.  err is required. */
int ls_progress_set_answers(const char *path, const char *id, int step, bool done,
                            const unsigned char *res, int n, ls_error *err);
/* The same keeping the answers already recorded. */
int ls_progress_set(const char *path, const char *id, int step, bool done, ls_error *err);

#endif
