/* tui_internal.h - the debugger state the panes read, and the key table.
 * Not installed; the panes read the app, only app.c changes it (except
 * scroll offsets, which a pane clamps while drawing because only it knows
 * how many rows fit). */
#ifndef LAYERSTEP_TUI_INTERNAL_H
#define LAYERSTEP_TUI_INTERNAL_H

#include "layerstep/tui.h"
#include "tui_strings.h"

typedef enum tui_action {
    ACT_NONE = 0,
    ACT_STEP_INTO,
    ACT_STEP_OVER,
    ACT_STEP_OUT,
    ACT_CONTINUE,
    ACT_STEP_BACK,
    ACT_RESTART,
    ACT_BREAK_TOGGLE,
    ACT_GOTO,
    ACT_UP,
    ACT_DOWN,
    ACT_LEFT,
    ACT_RIGHT,
    ACT_PGUP,
    ACT_PGDN,
    ACT_HOME,
    ACT_END,
    ACT_FOLD,
    ACT_FOCUS,
    ACT_HEAD_PREV,
    ACT_HEAD_NEXT,
    ACT_BATCH_PREV,
    ACT_BATCH_NEXT,
    ACT_VIEW_CYCLE,
    ACT_ATTENTION,
    ACT_EXPLAIN,
    ACT_EDIT,
    ACT_ZERO_HEAD,
    ACT_UNDO,
    ACT_MODULE_RUN,
    ACT_COMMAND,
    ACT_HELP,
    ACT_QUIT,
    ACT_REDRAW,
    ACT_LESSON_BACK,  /* P: a lesson's previous step (lesson_mode.c) */
    ACT_COUNT
} tui_action;

typedef struct tui_keydef {
    int key;
    tui_action act;
    const char *section;  /* heading in the help screen */
    const char *help;     /* NULL: an alternative key of the entry before */
    const char *help_zh;  /* the same in Chinese (NULL where help is) */
} tui_keydef;

/* The one key table (keymap.c): dispatch and both help texts come from it. */
extern const tui_keydef ls_tui_keymap[];
extern const int ls_tui_keymap_len;
tui_action ls_tui_action_for(int key);
/* Help lines ("  s            step into: ...") one at a time, in lang
 * (LS_LANG_*); returns false past the end. */
bool ls_tui_help_line(int lang, int i, char *buf, size_t n);

/* One edit: cells of `node` with their old values, for undo. */
typedef struct tui_edit {
    int node;
    int n;
    int64_t (*idx)[LS_MAX_DIMS];
    double *old;
} tui_edit;

/* Rows of the tree: >= 0 a point node, < 0 a module (-(m+1)). */
typedef struct tui_run {
    ls_graph *g;
    ls_exec *ex;
    bool owned;
    int n_nodes, n_mods;
    int at;                  /* node the view is at, -1 at the start */
    int *kid_start, *kids;   /* per module: children in execution order (CSR) */
    int *first_point;        /* per module: first point inside, -1 if none */
    unsigned char *expanded; /* per module */
    int *rows, *row_depth, n_rows;
    bool rows_dirty;
    int sel_row, tree_top;
    ls_stats *stats;         /* per node, valid when stats_epoch == epoch + 1 */
    unsigned *stats_epoch;
    unsigned epoch;          /* bumped whenever kept values change (rerun, restart) */
    tui_edit *edits;
    int n_edits;
    int last_point;          /* last point node of the graph */
    /* Nodes before `front` are what the user has stepped through: the
     * executor's cursor as it would be without computing ahead.  While
     * waiting for a key the executor runs further (ls_tui_idle); those
     * outputs stay pending on screen until a step reaches them. */
    int front;
    bool ahead_failed;       /* computing ahead hit an error: leave it to the next step */
} tui_run;

/* A prompt's text: UTF-8 bytes, the cursor a byte offset at a character
 * boundary (line.c). */
typedef struct tui_line {
    char buf[512];
    int len, pos;
} tui_line;
void tui_line_set(tui_line *l, const char *text);
/* Applies an editing key (printable or UTF-8 byte inserts; Left/Right,
 * Home/End, Ctrl-A/E/U/W/K/D, Backspace edit); false if key is not one. */
bool tui_line_key(tui_line *l, int key);
/* Whether the text does not end in the middle of a UTF-8 character. */
bool tui_line_complete_utf8(const tui_line *l);

enum { PROMPT_NONE = 0, PROMPT_COMMAND, PROMPT_GOTO, PROMPT_SET };

/* The 2-D slice a pane shows: rows x cols of tensor t at (batch, head). */
typedef struct tui_slice {
    const ls_tensor *t;
    int rows, cols;
    int batch, head;       /* clamped */
    int n_batch, n_head;   /* 1 when the tensor has no such dim */
    int row_dim, col_dim;  /* dims of t shown as rows/cols (-1: none) */
} tui_slice;

struct ls_tui {
    tui_run runs[2];
    int cur;                 /* 0: the main run, 1: a module run */
    const ls_model *model;
    const ls_tmap *inputs;
    const ls_arch *arch;
    char **breaks;
    int n_breaks;
    int w, h;
    ls_tui_focus focus;
    ls_tui_view view;
    int batch, head, row, col, grid_top, grid_left;
    bool help, explain, attention;
    int help_top;
    int prompt;
    tui_line line;           /* the open prompt's text */
    char msg[512];
    bool msg_err;
    char title[160];
    int lang;                /* LS_LANG_* of the debugger's own texts (tui_s) */
    unsigned long long seed;
    ls_exec_opts exec_opts;
    /* the mask that applies to the last asked node: asked once per cell */
    struct {
        int cur, node, cursor, result;
        unsigned epoch;
        bool valid;
    } maskmemo;
    /* lesson mode (lesson == NULL: plain debugger) */
    struct {
        const struct ls_lesson *lesson;
        int lang, step, answer;  /* answer: 0 open, 1 right, 2 wrong once (open), 3 shown */
        int tries;               /* wrong answers to the open question */
        bool typing;             /* the answer line has the keyboard (quiz.c) */
        tui_line line;           /* the answer being typed */
        /* per step: LS_RESULT_* (how its question went), and the run's
         * edit count when the step was entered (-1: never), so P can go
         * back to a step as it was */
        unsigned char *result;
        int *entry_edits;
        /* what the open question would give away, by point name (a module
         * run has other node numbers): its tensor, and for shape questions
         * the sorted dims every equal shape must hide */
        struct {
            char names[8][256];  /* the question's point and, for a mask, the masks it repeats */
            int n_names;
            bool by_shape, by_mask;
            int ndim, dim;       /* dim: the one dimension a choice asks for, or -1 */
            int64_t value;       /* a choice's answer as a whole number >= 2, else 0:
                                  * a shape with that dim gives it away */
            int64_t dims[LS_MAX_DIMS];
            /* an argmax question: every float tensor of exactly this shape
             * (the scores, masked scores, weights and their aliases rank
             * the keys alike) keeps its values hidden */
            bool by_row;
            int row_ndim;
            int64_t row_shape[LS_MAX_DIMS];
        } secret;
        char progress_err[LS_ERROR_MSG_MAX];  /* the last failure to read or save progress */
        bool classroom, cover;   /* cover: classroom narration hides the panes */
        bool edited;             /* the step's edit is applied (direction question) */
        double before;           /* the watched value before that edit */
        char reason[1400];
        char *progress;          /* the progress file, or NULL */
        /* a step's "run" switch: the run it opened (shown in runs[1]),
         * from step run_start; the main run's model to go back to */
        struct ls_lesson_run *run;
        int run_start;
        const ls_model *model0;
        const ls_tmap *inputs0;
        char data_dir[512];
    } les;
    /* heat range of the last drawn slice */
    struct {
        bool valid;
        int cur, node, batch, head;
        unsigned epoch;
        double lo, hi;
    } heat;
};

static inline tui_run *tui_cur(ls_tui *a) { return &a->runs[a->cur]; }
static inline const tui_run *tui_ccur(const ls_tui *a) { return &a->runs[a->cur]; }

/* What the screen may show of node: computed and either reached by a
 * step (before `front`), a leaf, or an edited (pinned) tensor. */
bool tui_computed(const tui_run *r, int node);
/* ls_exec_out for a node tui_computed allows, else NULL. */
const ls_tensor *tui_out(const tui_run *r, int node);

/* read-only helpers the panes use (run.c, view.c) */
int tui_selected_node(const ls_tui *a);
int tui_selected_module(const ls_tui *a);
bool tui_is_break(const ls_tui *a, int node);
bool tui_module_has_break(const ls_tui *a, int m);
const ls_stats *tui_stats(ls_tui *a, int node);
void tui_slice_of(const ls_tui *a, const ls_tensor *t, tui_slice *s);
double tui_slice_get(const tui_slice *s, int r, int c);
void tui_slice_index(const tui_slice *s, int r, int c, int64_t *idx);
/* Whether cell (r, c) of the slice counts as masked: the module's mask
 * point says so, or the value is a mask fill (<= -1e8, -inf). */
bool tui_slice_masked(ls_tui *a, int node, const tui_slice *s, int r, int c);
int tui_mask_node(ls_tui *a, int node);
/* Finite, unmasked value range of the slice (cached per node/slice/epoch). */
void tui_heat_range(ls_tui *a, int node, const tui_slice *s, double *lo, double *hi);
/* Axis label for row/col index i of node's slice into buf, or NULL. */
const char *tui_axis_label(const ls_tui *a, int node, const tui_slice *s, int axis, int64_t i,
                           char *buf, size_t n);
/* The attention module around node (has q, k, v, scores, attn), or -1. */
int tui_attention_module(const ls_tui *a, int node);
int tui_find_point(const ls_tui *a, const char *module_path, const char *point);

/* quiz.c: while a lesson's question is open, what it asks for is hidden
 * wherever it would show (the panes ask here before drawing) */
bool tui_quiz_open(const ls_tui *a);
/* The shape t (of a node, or the graph's shape) must not be shown. */
bool tui_quiz_hides_shape(const ls_tui *a, const ls_tensor *t);
/* The node's values (grid, heat, stats, attention panels) must not be shown. */
bool tui_quiz_hides_values(ls_tui *a, int node);
/* Its values are hidden by an argmax question alone: where the mask hides
 * keys may still show (a masked key is never the answer). */
bool tui_quiz_hides_ranking_only(ls_tui *a, int node);
/* "[1, 8, 32, 64]", or "[?, ?, ?, ?]" while the quiz hides that shape. */
const char *tui_shape_text(const ls_tui *a, const ls_tensor *t, char *buf, size_t n);
/* Whether the run shown is a whole model's (the main run, or a lesson's
 * switched whole-model run): its transcript and frame labels are shown. */
bool tui_whole_run(const ls_tui *a);
/* Whether the open question hides the values of the point named (the
 * tensor it asks about): the CTC transcript and frame labels read it. */
bool tui_quiz_hides_point(const ls_tui *a, const char *name);
/* The narration's hide callback (ls_lesson_expand_hiding), ud = the app. */
bool tui_quiz_hide_cb(void *ud, const char *point, const ls_tensor *shape, int dim);
/* How the lesson's questions went so far (LS_RESULT_* counts). */
void tui_quiz_score(const ls_tui *a, int *first, int *retry, int *shown, int *asked);
/* 1 right first time, 2 right after a retry, 3 shown */
enum { LS_RESULT_NONE = 0, LS_RESULT_FIRST, LS_RESULT_RETRY, LS_RESULT_SHOWN };

/* panes: draw into the rectangle (y, x, h, w) */
void ls_pane_tree_draw(ls_tui *a, ls_canvas *c, int y, int x, int h, int w);
void ls_pane_tensor_draw(ls_tui *a, ls_canvas *c, int y, int x, int h, int w);
void ls_pane_attn_draw(ls_tui *a, ls_canvas *c, int y, int x, int h, int w);
/* full width under the panes: the one-line form needs ~75 columns */
void ls_pane_explain_draw(ls_tui *a, ls_canvas *c, int y, int x, int h, int w);
/* the lesson's narration, question and feedback */
void ls_pane_lesson_draw(ls_tui *a, ls_canvas *c, int y, int x, int h, int w);
/* rows the narration pane wants at width w */
int ls_pane_lesson_rows(ls_tui *a, int w);
void ls_pane_help_draw(ls_tui *a, ls_canvas *c, int y, int x, int h, int w);
/* A heat level 0..9 for v in [lo, hi]. */
int ls_tui_heat_level(double v, double lo, double hi);

#endif
