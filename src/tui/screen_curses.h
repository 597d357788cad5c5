/* screen_curses.h - the terminal for ls_tui: the only code that calls
 * curses.  Linked into the `layerstep` executable, not the engine.
 *
 *   ls_screen_opts so = {.record = "demo.keys"};
 *   int code = ls_screen_run(app, &so, &err);   // until q, a signal or an error
 *
 * The terminal is restored on every way out (quit, Ctrl-C, SIGTERM,
 * SIGHUP, an error); the return value is the process exit code
 * (0, or 128 + signal number). */
#ifndef LAYERSTEP_SCREEN_CURSES_H
#define LAYERSTEP_SCREEN_CURSES_H

#include "layerstep/tui.h"

typedef struct ls_screen_opts {
    const char *record;   /* write the keys pressed here on exit (atomic), or NULL */
    const char *replay;   /* feed these keys first, or NULL */
    int delay_ms;         /* pause between replayed keys */
    bool no_ahead;        /* never call the view's idle (compute only on keys) */
} ls_screen_opts;

int ls_screen_run(ls_tui *app, const ls_screen_opts *o, ls_error *err);
/* What ls_screen_run would refuse, checked before the model is loaded
 * (seconds, hundreds of MB): a --replay file that cannot be read or
 * parsed, a --record path that could not be written at exit, stdin or
 * stdout not a tty, a TERM without cursor addressing (dumb).  0 or 2 with
 * err set. */
int ls_screen_check(const ls_screen_opts *o, ls_error *err);
/* The flag the signal handler sets while a screen runs: give it to the
 * executors (ls_exec_opts.cancel) so a long node stops within
 * milliseconds of Ctrl-C, SIGTERM, SIGHUP or SIGQUIT. */
const _Atomic int *ls_screen_cancel_flag(void);

/* Any key-driven screen (the debugger, the lesson list): the same loop,
 * signal handling, terminal restore and record/replay. */
typedef struct ls_screen_view {
    void *ud;
    unsigned (*feed)(void *ud, int key);   /* LS_TUI_REDRAW / LS_TUI_QUIT */
    void (*draw)(void *ud, ls_canvas *c);
    void (*set_size)(void *ud, int w, int h);
    /* Called while no key waits, until it returns false (a key starts it
     * again); NULL: nothing to do between keys. */
    bool (*idle)(void *ud);
} ls_screen_view;
int ls_screen_run_view(const ls_screen_view *v, const ls_screen_opts *o, ls_error *err);

#endif
