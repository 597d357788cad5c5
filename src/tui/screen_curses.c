/* The only file that touches curses, and the owner of the program's only
 * mutable globals: the screen and the "a signal arrived" flag.
 *
 * Signals: SIGINT/SIGTERM/SIGHUP/SIGQUIT only set a flag (a lock-free
 * atomic store, async-signal-safe); the key loop polls it (getch times out
 * every 100 ms), restores the terminal and returns.  The executors get the
 * same flag (ls_screen_cancel_flag -> ls_exec_opts.cancel) and poll it
 * between tiles and rows of their long kernels, so a key whose work takes
 * seconds (`c` over a minute of audio) is cut short within milliseconds.  Our handlers are installed before curses starts, so
 * ncurses leaves them alone but still installs its own SIGTSTP (Ctrl-Z,
 * fg) and SIGWINCH (KEY_RESIZE) handling. */
#include "screen_curses.h"

#include <curses.h>
#include <term.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "layerstep/atomic.h"

static _Atomic int got_signal;
static SCREEN *screen;
static chtype style_attr[LS_STY_COUNT];

static void on_signal(int sig) { atomic_store(&got_signal, sig); }

const _Atomic int *ls_screen_cancel_flag(void) { return &got_signal; }

/* A terminal curses can draw a screen on: cursor addressing at least.
 * TERM=dumb (an editor's shell buffer, some CI logs) has none, and drew
 * an unusable screen that exited 0. */
static int check_term(ls_error *err)
{
    const char *term = getenv("TERM");
    if (!term || !*term)
        return ls_error_set(err, LS_ERR_ARG, "tui needs a terminal type: TERM is not set");
    int errret = 0;
    if (setupterm(NULL, STDOUT_FILENO, &errret) != OK)
        return ls_error_set(err, LS_ERR_ARG, "tui: unknown terminal type TERM=%s", term);
    const char *cup = tigetstr("cup");
    bool usable = cup && cup != (char *)-1;
    del_curterm(cur_term);
    if (!usable)
        return ls_error_set(err, LS_ERR_ARG,
                            "tui: TERM=%s cannot move the cursor; run it in a full terminal", term);
    return LS_OK;
}

int ls_screen_check(const ls_screen_opts *o, ls_error *err)
{
    if (o && o->replay) {
        void *buf;
        size_t len;
        int *keys = NULL, n = 0;
        if (ls_read_file(o->replay, 1 << 20, &buf, &len, err))
            return 2;
        int rc = ls_tui_keys_parse(buf, &keys, &n, err);
        free(buf);
        free(keys);
        if (rc) {
            ls_error_prefix(err, "%s", o->replay);
            return 2;
        }
    }
    if (o && o->record && ls_atomic_check(o->record, err))
        return 2;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        ls_error_set(err, LS_ERR_ARG, "tui needs a terminal (stdin and stdout are not both a tty)");
        return 2;
    }
    return check_term(err) ? 2 : 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void put(void *ud, int y, int x, const char *s, int n, int style)
{
    (void)ud;
    attrset(style >= 0 && style < LS_STY_COUNT ? style_attr[style] : A_NORMAL);
    mvaddnstr(y, x, s, n);
}

static void setup_styles(bool colour)
{
    for (int i = 0; i < LS_STY_COUNT; i++)
        style_attr[i] = A_NORMAL;
    style_attr[LS_STY_DIM] = A_DIM;
    style_attr[LS_STY_TITLE] = A_BOLD;
    style_attr[LS_STY_SELECT] = A_REVERSE;
    style_attr[LS_STY_CURRENT] = A_BOLD | A_UNDERLINE;
    style_attr[LS_STY_BREAK] = A_BOLD;
    style_attr[LS_STY_EDITED] = A_BOLD | A_UNDERLINE;
    style_attr[LS_STY_MASKED] = A_DIM;
    style_attr[LS_STY_WARN] = A_BOLD;
    style_attr[LS_STY_STATUS] = A_REVERSE;
    if (!colour)
        return;
    start_color();
    use_default_colors();
    init_pair(1, COLOR_CYAN, -1);    /* title */
    init_pair(2, COLOR_YELLOW, -1);  /* current */
    init_pair(3, COLOR_RED, -1);     /* break, warn */
    init_pair(4, COLOR_MAGENTA, -1); /* edited */
    init_pair(5, COLOR_BLACK, COLOR_WHITE); /* masked */
    init_pair(6, COLOR_BLACK, COLOR_CYAN);  /* status */
    style_attr[LS_STY_TITLE] = COLOR_PAIR(1) | A_BOLD;
    style_attr[LS_STY_CURRENT] = COLOR_PAIR(2) | A_BOLD;
    style_attr[LS_STY_BREAK] = COLOR_PAIR(3) | A_BOLD;
    style_attr[LS_STY_WARN] = COLOR_PAIR(3) | A_BOLD;
    style_attr[LS_STY_EDITED] = COLOR_PAIR(4) | A_BOLD;
    style_attr[LS_STY_MASKED] = COLOR_PAIR(5) | A_DIM;
    style_attr[LS_STY_STATUS] = COLOR_PAIR(6);
    /* heat ramp as backgrounds: 256 colours when there are, else 8 */
    static const short ramp256[10] = {17, 19, 25, 31, 37, 71, 149, 220, 208, 196};
    static const short ramp8[10] = {COLOR_BLUE,  COLOR_BLUE,   COLOR_CYAN, COLOR_CYAN, COLOR_GREEN,
                                    COLOR_GREEN, COLOR_YELLOW, COLOR_YELLOW, COLOR_RED, COLOR_RED};
    for (int k = 0; k < 10; k++) {
        short bg = COLORS >= 256 ? ramp256[k] : ramp8[k];
        init_pair((short)(10 + k), COLOR_BLACK, bg);
        style_attr[LS_STY_HEAT0 + k] = COLOR_PAIR(10 + k);
    }
}

static int map_key(int ch)
{
    switch (ch) {
    case KEY_UP: return LS_KEY_UP;
    case KEY_DOWN: return LS_KEY_DOWN;
    case KEY_LEFT: return LS_KEY_LEFT;
    case KEY_RIGHT: return LS_KEY_RIGHT;
    case KEY_PPAGE: return LS_KEY_PGUP;
    case KEY_NPAGE: return LS_KEY_PGDN;
    case KEY_HOME: return LS_KEY_HOME;
    case KEY_END: return LS_KEY_END;
    case KEY_ENTER:
    case '\r':
    case '\n': return LS_KEY_ENTER;
    case KEY_BACKSPACE:
    case 8:
    case 127: return LS_KEY_BACKSPACE;
    case KEY_RESIZE: return LS_KEY_RESIZE;
    default: return ch >= 0 && ch < 256 ? ch : -1;
    }
}

static void draw(const ls_screen_view *v, bool colour)
{
    ls_canvas c = {.w = COLS, .h = LINES, .colour = colour, .put = put, .ud = NULL};
    erase();
    v->draw(v->ud, &c);
    refresh();
}

typedef struct recorder {
    char *s;
    size_t n, cap;
    bool failed;  /* out of memory: a partial recording is not written */
} recorder;

static void record_key(recorder *r, int key)
{
    char name[32];
    ls_tui_key_name(key, name, sizeof name);
    size_t k = strlen(name);
    if (r->n + k + 2 > r->cap) {
        size_t cap = r->cap * 2 + k + 256;
        char *ns = realloc(r->s, cap);
        if (!ns) {
            r->failed = true;
            return;
        }
        r->s = ns;
        r->cap = cap;
    }
    memcpy(r->s + r->n, name, k);
    r->n += k;
    r->s[r->n++] = '\n';
}

/* One key through the app; true when it asked to quit. */
static bool feed(const ls_screen_view *v, int key, recorder *rec, bool colour)
{
    int w, h;
    if (ls_tui_key_is_sized(key, &w, &h))
        key = LS_KEY_RESIZE;  /* replayed: the terminal's real size wins */
    if (key == LS_KEY_RESIZE) {
        v->set_size(v->ud, COLS, LINES);
        if (rec)
            record_key(rec, ls_tui_key_sized(COLS, LINES));
    } else if (rec) {
        record_key(rec, key);
    }
    unsigned r = v->feed(v->ud, key);
    /* a signal cut the key's work short: the screen is about to go, and
     * drawing it (stats of a large tensor) would only delay the exit */
    if ((r & LS_TUI_REDRAW) && !atomic_load(&got_signal))
        draw(v, colour);
    return r & LS_TUI_QUIT;
}

static unsigned app_feed(void *ud, int key) { return ls_tui_feed(ud, key); }
static void app_draw(void *ud, ls_canvas *c) { ls_tui_draw(ud, c); }
static void app_set_size(void *ud, int w, int h) { ls_tui_set_size(ud, w, h); }
static bool app_idle(void *ud) { return ls_tui_idle(ud); }

int ls_screen_run(ls_tui *app, const ls_screen_opts *o, ls_error *err)
{
    ls_screen_view v = {.ud = app, .feed = app_feed, .draw = app_draw, .set_size = app_set_size,
                        .idle = app_idle};
    return ls_screen_run_view(&v, o, err);
}

int ls_screen_run_view(const ls_screen_view *app, const ls_screen_opts *o, ls_error *err)
{
    int *keys = NULL, n_keys = 0;
    if (o && o->replay) {
        void *buf;
        size_t len;
        if (ls_read_file(o->replay, 1 << 20, &buf, &len, err))
            return 2;
        int rc = ls_tui_keys_parse(buf, &keys, &n_keys, err);
        free(buf);
        if (rc) {
            ls_error_prefix(err, "%s", o->replay);
            return 2;
        }
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        free(keys);
        ls_error_set(err, LS_ERR_ARG, "tui needs a terminal (stdin and stdout are not both a tty)");
        return 2;
    }
    if (check_term(err)) {
        free(keys);
        return 2;
    }
    /* a UTF-8 LC_CTYPE when there is one; callers whose text needs it
     * (Chinese) asked ls_tui_locale(true, ...) before getting here */
    ls_tui_locale(false, err);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: a signal should wake getch */
    /* SIGQUIT (Ctrl-\) too: its default core dump left the terminal in the
     * alternate screen with echo off */
    struct sigaction old[4];
    static const int sigs[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (int i = 0; i < 4; i++)
        sigaction(sigs[i], &sa, &old[i]);
    atomic_store(&got_signal, 0);
    screen = newterm(NULL, stdout, stdin);
    if (!screen) {
        for (int i = 0; i < 4; i++)
            sigaction(sigs[i], &old[i], NULL);
        free(keys);
        ls_error_set(err, LS_ERR_ARG, "cannot start the terminal (TERM=%s)",
                     getenv("TERM") ? getenv("TERM") : "unset");
        return 2;
    }
    set_term(screen);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    timeout(100);
    bool colour = has_colors() && !(getenv("NO_COLOR") && getenv("NO_COLOR")[0]);
    setup_styles(colour);
    app->set_size(app->ud, COLS, LINES);
    draw(app, colour);

    recorder rec = {0};
    recorder *recp = o && o->record ? &rec : NULL;
    bool quit = false;
    /* Between keys the view works ahead (the debugger computes the nodes
     * past the one shown), one bounded piece per call, checking for a
     * key after each: a key waits at most one piece. */
    bool (*idle)(void *) = o && o->no_ahead ? NULL : app->idle;
    bool more = idle != NULL;
    for (int i = 0; i < n_keys && !quit && !got_signal; i++) {
        if (o->delay_ms > 0) {
            double until = now_ms() + o->delay_ms;
            while (more && !got_signal && now_ms() < until)
                more = idle(app->ud);
            double left = until - now_ms();
            if (left > 0)
                napms((int)left);
        }
        /* a resize during a replay still reflows the screen */
        int ch;
        while ((timeout(0), ch = getch()) != ERR)
            if (ch == KEY_RESIZE)
                feed(app, LS_KEY_RESIZE, NULL, colour);
        timeout(100);
        quit = feed(app, keys[i], recp, colour);
        more = idle != NULL;
    }
    while (!quit && !got_signal) {
        timeout(more ? 0 : 100);
        int ch = getch();
        if (ch == ERR) {
            if (more)
                more = idle(app->ud);
            continue;
        }
        int key = map_key(ch);
        if (key < 0)
            continue;
        quit = feed(app, key, recp, colour);
        more = idle != NULL;  /* a step, restart or edit may leave new work */
    }
    int sig = got_signal;
    endwin();
    delscreen(screen);
    screen = NULL;
    for (int i = 0; i < 4; i++)
        sigaction(sigs[i], &old[i], NULL);
    free(keys);
    int code = sig ? 128 + sig : 0;
    if (recp) {
        ls_error e2 = {0};
        if (rec.failed)
            ls_error_set(&e2, LS_ERR_NOMEM, "%s: out of memory recording the keys; not written",
                         o->record);
        if (rec.failed || ls_atomic_write_file(o->record, rec.s ? rec.s : "", rec.n, &e2)) {
            *err = e2;
            code = code ? code : 2;
        }
        free(rec.s);
    }
    return code;
}
