/* tui.h - the step-through debugger's core: state, keys, drawing.
 *
 *   ls_tui *app;
 *   ls_tui_opts o = {.model = m, .inputs = in};
 *   ls_tui_new(g, ex, &o, &app, &err);          // app borrows g and ex
 *   ls_tui_set_size(app, 80, 24);
 *   unsigned r = ls_tui_feed(app, 's');          // step into: runs nodes, returns redraw flags
 *   ls_tui_draw(app, &canvas);                   // any ls_canvas: curses, or a text buffer
 *   if (r & LS_TUI_QUIT) ...
 *   ls_tui_free(app);
 *
 * The core never touches a terminal (STYLE habits 12-13): keys come in
 * through ls_tui_feed, pixels go out through an ls_canvas, so tests drive
 * the debugger and read its screen as text.  The curses adapter lives in
 * the `layerstep` executable (src/tui/screen_curses.c).
 *
 * The UI never computes tensors: stepping drives the executor
 * (ls_exec_run_until), step back only moves the view to an earlier,
 * still-kept output, edits go through ls_exec_edit + ls_exec_rerun, and
 * between keys ls_tui_idle steps the executor ahead of what is shown.
 *
 * Ownership: the app borrows the graph, executor, model and inputs given
 * to ls_tui_new (they must outlive it); it owns what it creates itself
 * (the graph and executor of a "run one module" session, edit history).
 */
#ifndef LAYERSTEP_TUI_H
#define LAYERSTEP_TUI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layerstep/model.h"

/* ---- keys: printable ASCII as itself, the rest here ---- */
enum {
    LS_KEY_TAB = 9,
    LS_KEY_ENTER = 10,
    LS_KEY_ESC = 27,
    LS_KEY_BACKSPACE = 127,
    LS_KEY_UP = 0x1000,
    LS_KEY_DOWN,
    LS_KEY_LEFT,
    LS_KEY_RIGHT,
    LS_KEY_PGUP,
    LS_KEY_PGDN,
    LS_KEY_HOME,
    LS_KEY_END,
    LS_KEY_RESIZE,  /* call ls_tui_set_size first */
    LS_KEY_MAX
};
#define LS_KEY_CTRL(c) ((c) & 0x1f)
/* A resize to w x h as one key, so a recorded session keeps its resizes
 * ("<Resize:100x30>" in a key file).  Fed to ls_tui_feed it sets the size
 * itself; a terminal replay reflows to the terminal's real size instead,
 * since a program cannot resize the terminal it runs in. */
#define LS_KEY_SIZED_BASE 0x1000000
#define LS_KEY_SIZED_MAX 4096  /* w and h are 1..LS_KEY_SIZED_MAX-1 */
int ls_tui_key_sized(int w, int h);
/* true (and *w, *h) when key is a sized resize */
bool ls_tui_key_is_sized(int key, int *w, int *h);

/* "s", "<Up>", "<Space>", "<C-c>": the spelling of record/replay files. */
const char *ls_tui_key_name(int key, char *buf, size_t n);
/* Inverse of ls_tui_key_name; -1 when the text names no key. */
int ls_tui_key_parse(const char *s);
/* A key file: names separated by blanks or newlines, '#' starts a comment
 * ("s s <Down> : d u m p <Space> x . n p y <Enter>").  *keys is
 * malloc'ed; an unknown name is an error naming it and its line. */
int ls_tui_keys_parse(const char *text, int **keys, int *n, ls_error *err);

/* ---- drawing ---- */
/* Semantic styles; the adapter maps them to colours or, without colour,
 * to bold/reverse/dim. Heat levels are also drawn as the ASCII ramp
 * LS_TUI_RAMP, so a heatmap reads the same in monochrome. */
typedef enum ls_tui_style {
    LS_STY_NORMAL = 0,
    LS_STY_DIM,       /* pending points, secondary text */
    LS_STY_TITLE,     /* title bar, pane headings */
    LS_STY_SELECT,    /* the selected row / cell */
    LS_STY_CURRENT,   /* the point the run is stopped at */
    LS_STY_BREAK,     /* breakpoint marks */
    LS_STY_EDITED,    /* edited tensors and cells */
    LS_STY_MASKED,    /* masked attention cells */
    LS_STY_WARN,      /* errors, NaN/Inf, fully masked rows */
    LS_STY_STATUS,    /* status line */
    LS_STY_HEAT0,     /* ... LS_STY_HEAT0 + 9 */
    LS_STY_COUNT = LS_STY_HEAT0 + 10
} ls_tui_style;

#define LS_TUI_RAMP " .:-=+*#%@"
#define LS_TUI_MIN_W 60
#define LS_TUI_MIN_H 16

/* A grid of cells.  `put` writes n bytes of UTF-8 text s at column x of
 * row y; the caller has clipped it to the canvas by display width (a CJK
 * character takes two columns).  Controls and broken bytes become '?'. */
typedef struct ls_canvas {
    int w, h;
    bool colour;
    void (*put)(void *ud, int y, int x, const char *s, int n, int style);
    void *ud;
} ls_canvas;

/* Clipped printf at (y, x); returns the columns written. */
int ls_canvas_printf(ls_canvas *c, int y, int x, int max_w, int style, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void ls_canvas_fill(ls_canvas *c, int y, int x, int n, char ch, int style);
/* len bytes of UTF-8 s at (y, x), clipped to max_w columns; returns the
 * columns written. */
int ls_canvas_text(ls_canvas *c, int y, int x, int max_w, int style, const char *s, int len);
/* One UTF-8 character: bytes used (1 for a broken byte, *cp = '?'). */
int ls_utf8_decode(const char *s, int n, uint32_t *cp);
/* Display columns of a character (0 combining, 2 wide, -1 control). */
int ls_char_width(uint32_t cp);
int ls_text_width(const char *s);
/* Wraps s to width columns (at blanks, or after any wide character);
 * lens[i] = (start << 16) | bytes of line i.  Returns the line count. */
int ls_text_wrap(const char *s, int width, int *lens, int max_lines);

/* A canvas in memory (for tests and screen dumps). */
typedef struct ls_textcanvas {
    ls_canvas c;
    char *text;          /* h rows of w bytes (not NUL-terminated rows); non-ASCII as '?' */
    char *utf8;          /* h*w cells of 4 bytes: the character, "" right of a wide one */
    unsigned char *style;
} ls_textcanvas;
int ls_textcanvas_init(ls_textcanvas *t, int w, int h);
void ls_textcanvas_free(ls_textcanvas *t);
void ls_textcanvas_clear(ls_textcanvas *t);
/* Row y as a NUL-terminated string with trailing blanks cut, into buf. */
const char *ls_textcanvas_row(const ls_textcanvas *t, int y, char *buf, size_t n);
/* Whole screen, rows joined by '\n' (malloc'ed; caller frees). */
char *ls_textcanvas_dump(const ls_textcanvas *t);
/* First row containing s, or -1. */
int ls_textcanvas_find(const ls_textcanvas *t, const char *s);
/* Style of the cell at (y, x). */
int ls_textcanvas_style_at(const ls_textcanvas *t, int y, int x);

/* ---- the app ---- */
typedef struct ls_tui ls_tui;

typedef struct ls_tui_opts {
    const ls_model *model;    /* may be NULL: no token labels, no title */
    const ls_tmap *inputs;    /* may be NULL: for token labels */
    const char *const *breaks;/* initial breakpoint globs */
    int n_breaks;
    const char *title;        /* may be NULL */
    unsigned long long seed;  /* for "run one module with random data" */
    ls_exec_opts exec;        /* executor options for module runs (as the main run's) */
    /* Lesson mode: narration over the panes, n/Enter walks the steps, a
     * question is answered on the bottom line.  The lesson must describe
     * the graph given to ls_tui_new. */
    const struct ls_lesson *lesson;  /* may be NULL */
    int lang;                 /* LS_LANG_*: the lesson's and the debugger's own texts */
    bool classroom;           /* large narration, a pause at every step */
    int lesson_step;          /* step to start at (resumed progress) */
    const char *progress;     /* progress file to record steps in, or NULL */
    const char *data_dir;     /* where a step's "run" finds its model (lesson) */
    const char *notice;       /* said on the status line at the start (a resampled WAV), or NULL */
} ls_tui_opts;

/* Redraw flags returned by ls_tui_feed. */
enum {
    LS_TUI_REDRAW = 1u << 0,  /* something on screen changed */
    LS_TUI_QUIT = 1u << 1,    /* the user asked to leave */
};

typedef enum ls_tui_view {
    LS_VIEW_GRID = 0,
    LS_VIEW_HEAT,
    LS_VIEW_STATS,
    LS_VIEW_COUNT
} ls_tui_view;

typedef enum ls_tui_focus { LS_FOCUS_TREE = 0, LS_FOCUS_TENSOR } ls_tui_focus;

/* What tests and the adapter may read back (a snapshot). */
typedef struct ls_tui_state {
    int at;              /* node the run is stopped at (last point stepped to), -1 at start */
    int selected;        /* node shown in the tensor pane, -1 for none */
    int selected_module; /* module of the selected tree row, -1 if a point */
    int cursor;          /* executor cursor (next node to run) */
    int batch, head;     /* slice of 3-D/4-D tensors */
    int row, col;        /* grid cursor within the slice */
    ls_tui_view view;
    ls_tui_focus focus;
    bool help, explain, attention, prompt;
    bool in_module_run;  /* a "run one module" session is active */
    int n_breaks, n_edits;
    int lesson_step;     /* -1 without a lesson */
    int answer;          /* lesson question: 0 open, 1 right, 2 wrong, 3 shown */
    int w, h;            /* size the app lays out for */
    const char *message; /* last message ("" if none) */
    bool message_is_error;
} ls_tui_state;

int ls_tui_new(ls_graph *g, ls_exec *ex, const ls_tui_opts *o, ls_tui **out, ls_error *err);
void ls_tui_free(ls_tui *app);
void ls_tui_set_size(ls_tui *app, int w, int h);
/* One key in, redraw flags out.  Never calls curses, never blocks. */
unsigned ls_tui_feed(ls_tui *app, int key);
/* Work to do while no key is waiting: computes the next node past what
 * the user has stepped through, so a later step into or over it only
 * moves over kept values.  Nothing on screen changes (those outputs stay
 * pending until a step reaches them, and an edit forgets them); an error
 * is left for the step that reaches the node.  One node per call, so a
 * key waits at most one node; returns true while there is more to do.
 * Does nothing when opts.exec.reference is set: a plain-loop node can
 * take seconds. */
bool ls_tui_idle(ls_tui *app);
/* Draws the whole screen on c (w x h; smaller than LS_TUI_MIN_W x
 * LS_TUI_MIN_H gives a "terminal too small" message). */
void ls_tui_draw(ls_tui *app, ls_canvas *c);
void ls_tui_get_state(const ls_tui *app, ls_tui_state *st);
/* The last failure to read or save lesson progress (also shown on the
 * status line when it happened), or NULL. */
const char *ls_tui_progress_error(const ls_tui *app);
/* Runs a ':' command line ("break *.scores", "dump x.npy") as if typed. */
unsigned ls_tui_command(ls_tui *app, const char *line);
/* The graph and executor currently shown (the module run's, if any). */
const ls_graph *ls_tui_graph(const ls_tui *app);
const ls_exec *ls_tui_exec(const ls_tui *app);

/* How node's shape came about, following the graph back through views
 * to the op that made the data, one line per step, then the one-line form
 * "[2,5,32] -linear-> [2,5,32] -view-> [2,5,4,8] -transpose(1,2)-> [2,4,5,8]".
 * Returns the number of lines filled. */
int ls_tui_explain_lines(const ls_tui *app, int node, char lines[][320], int max_lines);

/* The key table as help text (for --help and the '?' screen), into a
 * malloc'ed string. */
char *ls_tui_help_text(void);

/* ---- the terminal's locale ----
 * ncursesw draws UTF-8 (Chinese, box drawing, token labels) only under a
 * UTF-8 LC_CTYPE, and LANG=C or a locale that is not installed (LANG=
 * zh_CN.UTF-8 on a machine with only C.utf8) gives an ASCII one.  Sets
 * the locale from the environment and, when its character set is not
 * UTF-8, LC_CTYPE alone to the first of C.UTF-8, C.utf8, en_US.UTF-8 that
 * exists (messages, numbers and collation stay the environment's).
 * Returns LS_OK when the terminal will get UTF-8, or when need_utf8 is
 * false (English works in ASCII); else LS_ERR_ARG with one line naming
 * the missing locale and what to install. */
int ls_tui_locale(bool need_utf8, ls_error *err);
/* The same with its own list of fallbacks (tests). */
int ls_tui_locale_from(const char *const *fallbacks, int n, bool need_utf8, ls_error *err);

/* ---- a list to pick from (the lesson list) ----
 * Up/Down/j/k/PgUp/PgDn/Home/End move, a digit jumps to the item whose
 * label starts with that number, Enter/Space/l/Right choose (feed returns
 * LS_TUI_QUIT with ls_menu_chosen() >= 0), q/Esc/Ctrl-C leave (chosen -1). */
typedef struct ls_menu ls_menu;
int ls_menu_new(const char *title, const char *hint, ls_menu **out, ls_error *err);
void ls_menu_free(ls_menu *m);
/* label and mark ("[done]") are UTF-8, copied */
int ls_menu_add(ls_menu *m, const char *label, const char *mark, ls_error *err);
void ls_menu_select(ls_menu *m, int i);
int ls_menu_selected(const ls_menu *m);
int ls_menu_chosen(const ls_menu *m);
void ls_menu_set_size(ls_menu *m, int w, int h);
/* The language of the menu's own words (LS_LANG_*; English by default). */
void ls_menu_set_lang(ls_menu *m, int lang);
unsigned ls_menu_feed(ls_menu *m, int key);
void ls_menu_draw(ls_menu *m, ls_canvas *c);

#endif
