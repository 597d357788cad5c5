/* layerstep bench --tui: how long one key takes, from ls_tui_feed to a
 * fully drawn screen, on a real model (default: the article-size
 * Conformer on the 3.6 s clip).
 *
 * It drives the TUI core exactly as the terminal adapter does (feed, then
 * draw the whole screen) into a text canvas, so what is timed is the
 * executor's work for the key plus the redraw; only the curses write to
 * the terminal is left out.  A scripted session walks the whole forward
 * pass with each stepping key (s, n, o, then p back over it) and the
 * viewing keys on the way, and prints per key: count, median, 95th
 * percentile and worst time with the point it happened at.  `c` to the end
 * runs the whole forward pass in one key; it is reported on its own line
 * because it is a "run", not a step.
 *
 * The session runs --repeat times (default 3) on the same debugger, and
 * each press is taken as the median of its repeats: on a shared VM a
 * neighbour's burst can double one press, and the median over repeats
 * of the same press at the same point is the program's own time.  The
 * single worst press is printed too.
 *
 * Two paces.  Back to back: each key comes the moment the last screen is
 * drawn, so every step computes its own nodes.  At a reading pace (--pace
 * MS, default 250): a person takes MS to read the screen before the next
 * key, and the debugger computes ahead meanwhile (ls_tui_idle, as the
 * terminal loop calls it).  No time is slept: the idle work runs until MS
 * have passed or there is nothing left to do, and when the node it was in
 * runs past MS, the key counts as pressed at MS, so the wait for that node
 * is part of the key's time, as it is for a person.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "layerstep/graph.h"
#include "layerstep/kernels.h"
#include "layerstep/tui.h"

static const char *const usage_bench_tui =
    "usage: layerstep bench --tui [--model DIR] [--wav FILE | --inputs DIR] [--threads N]\n"
    "                             [--size WxH] [--repeat N] [--pace MS]\n"
    "\n"
    "Times one key (feed + full redraw) over a scripted session on a real model.\n"
    "Default: the article-size Conformer (data/conformer_article) on\n"
    "data/speech_3_6s.wav at 80x24 and 200x50, all cores.  The session runs N\n"
    "times (default 3); each press counts as the median of its N repeats.\n"
    "It runs twice: keys back to back, then at a reading pace of MS between keys\n"
    "(default 250), when the debugger computes ahead as it does in a terminal;\n"
    "--pace 0 runs only the first.\n";

typedef struct key_times {
    int key;
    const char *what;
    double *ms;
    int *at;  /* node shown after the key */
    int n, cap;
} key_times;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct session {
    ls_tui *app;
    ls_textcanvas tc;
    key_times keys[16];
    int n_keys;
    int failed;
    double pace_ms;  /* 0: keys back to back */
} session;

static key_times *slot(session *s, int key, const char *what)
{
    for (int i = 0; i < s->n_keys; i++)
        if (s->keys[i].key == key && !strcmp(s->keys[i].what, what))
            return &s->keys[i];
    if (s->n_keys == (int)(sizeof s->keys / sizeof s->keys[0]))
        return NULL;
    key_times *k = &s->keys[s->n_keys++];
    memset(k, 0, sizeof *k);
    k->key = key;
    k->what = what;
    return k;
}

/* One key, timed from feed to drawn screen; returns the feed flags. */
static unsigned press(session *s, int key, const char *what)
{
    double t0 = now_ms();
    if (s->pace_ms > 0) {
        /* the person reads for pace_ms; the debugger works ahead */
        double pressed = t0 + s->pace_ms;
        while (now_ms() < pressed && ls_tui_idle(s->app)) {
        }
        double t = now_ms();
        t0 = t > pressed ? pressed : t;
    }
    unsigned r = ls_tui_feed(s->app, key);
    ls_textcanvas_clear(&s->tc);
    ls_tui_draw(s->app, &s->tc.c);
    double dt = now_ms() - t0;
    key_times *k = slot(s, key, what);
    if (!k)
        return r;
    if (k->n == k->cap) {
        int cap = k->cap ? 2 * k->cap : 256;
        double *ms = realloc(k->ms, (size_t)cap * sizeof *ms);
        int *at = ms ? realloc(k->at, (size_t)cap * sizeof *at) : NULL;
        if (ms)
            k->ms = ms;
        if (!ms || !at) {
            s->failed = 1;
            return r;
        }
        k->at = at;
        k->cap = cap;
    }
    ls_tui_state st;
    ls_tui_get_state(s->app, &st);
    k->ms[k->n] = dt;
    k->at[k->n] = st.at;
    k->n++;
    return r;
}

static int cursor_of(const ls_tui *app)
{
    ls_tui_state st;
    ls_tui_get_state(app, &st);
    return st.cursor;
}

/* Presses key until the run reaches its end (or max presses). */
static void walk(session *s, int key, const char *what, int max)
{
    const ls_graph *g = ls_tui_graph(s->app);
    int end = ls_graph_n_nodes(g);
    for (int i = 0; i < max && cursor_of(s->app) < end; i++)
        press(s, key, what);
}

static const char *point_name(const ls_graph *g, int at)
{
    return at >= 0 && at < ls_graph_n_nodes(g) ? ls_graph_node(g, at)->name : "(start)";
}

/* The samples of a key are `repeats` runs of the same presses one after
 * another: press j of a run is at j, j + per, j + 2*per, ... */
static void report(const session *s, const ls_graph *g, int repeats, double limit_ms)
{
    printf("  %-6s %-35s %5s %8s %8s %8s  %-32s %s\n", "key", "what", "count", "median", "p95",
           "worst", "worst at", "single");
    int over = 0, over_raw = 0, total = 0;
    for (int i = 0; i < s->n_keys; i++) {
        const key_times *k = &s->keys[i];
        if (!k->n || k->n % repeats)
            continue;
        const int per = k->n / repeats;
        double *med = malloc((size_t)per * sizeof *med), *r = malloc((size_t)repeats * sizeof *r);
        double *v = malloc((size_t)per * sizeof *v);
        if (!med || !r || !v) {
            free(med);
            free(r);
            free(v);
            return;
        }
        int worst = 0, raw = 0;
        for (int j = 0; j < per; j++) {
            for (int t = 0; t < repeats; t++)
                r[t] = k->ms[t * per + j];
            qsort(r, (size_t)repeats, sizeof *r, cmp_double);
            med[j] = v[j] = r[repeats / 2];
            if (med[j] > med[worst])
                worst = j;
        }
        for (int j = 1; j < k->n; j++)
            if (k->ms[j] > k->ms[raw])
                raw = j;
        qsort(v, (size_t)per, sizeof *v, cmp_double);
        /* c and o run as far as the user asked (a breakpoint, the end of
         * a module that may be the whole model): runs, not steps */
        bool is_step = k->key != 'c' && k->key != 'o';
        for (int j = 0; j < per && is_step; j++)
            over += med[j] > limit_ms;
        for (int j = 0; j < k->n && is_step; j++)
            over_raw += k->ms[j] > limit_ms;
        total += is_step ? per : 0;
        char name[32], single[64];
        ls_tui_key_name(k->key, name, sizeof name);
        snprintf(single, sizeof single, "%.2fms", k->ms[raw]);
        printf("  %-6s %-35s %5d %7.2fms %7.2fms %7.2fms  %-32s %s\n", name, k->what, per,
               v[per / 2], v[(int)(0.95 * (per - 1))], med[worst], point_name(g, k->at[worst]),
               single);
        free(med);
        free(r);
        free(v);
    }
    printf("  steps over %.0f ms: %d of %d (median of %d repeats; every key but c and o, which\n"
           "  run to a breakpoint or the end of a module and take as long as the nodes they\n"
           "  compute); single presses over %.0f ms: %d of %d\n",
           limit_ms, over, total, repeats, limit_ms, over_raw, total * repeats);
}

/* One scripted session: step into every point, looking around on the way
 * as a learner does, then step over, step out and run to breakpoints. */
static void script(session *s, int n)
{
    walk(s, 's', "step into (next point)", n);
    for (int i = 0; i < 40; i++)
        press(s, 'p', "step back (kept values)");
    for (int i = 0; i < 20; i++)
        press(s, LS_KEY_DOWN, "move in the tree");
    for (int i = 0; i < 3; i++)
        press(s, 'v', "cycle grid/heatmap/stats");
    press(s, 'R', "restart");
    walk(s, 'n', "step over", n);
    press(s, 'R', "restart");
    /* step out as a learner does: a few steps into a module, then out */
    for (int i = 0; i < n && cursor_of(s->app) < n; i++) {
        for (int k = 0; k < 4; k++)
            press(s, 's', "step into (next point)");
        press(s, 'o', "step out (finish the module)");
    }
    press(s, 'R', "restart");
    ls_tui_command(s->app, "break *.self_attn.attn");
    for (int i = 0; i < 3; i++) {
        press(s, 'c', "continue to a breakpoint");
        press(s, 'a', "attention chain view");
        press(s, ']', "next head");
        press(s, 'a', "attention chain view");
        press(s, 'e', "explain the shape");
        press(s, 'e', "explain the shape");
    }
    ls_tui_command(s->app, "delete *");
    press(s, 'R', "restart");
    press(s, 'c', "continue to the end (whole forward)");
    press(s, 'R', "restart");
}

static int bench_size(const cli_opts *o, int w, int h, int repeats, double pace)
{
    ls_model *m = NULL;
    ls_tmap *in = NULL;
    ls_graph *g = NULL;
    ls_exec *ex = NULL;
    session s = {.pace_ms = pace};
    ls_error err = {0};
    int rc;
    if ((rc = cli_load(o, &m, &in)) || (rc = cli_prepare(o, m, in, &g, &ex)))
        goto done;
    ls_tui_opts to = {.model = m, .inputs = in,
                      .exec = {.threads = o->threads, .reference = cli_reference(o)}};
    double t_open = now_ms();
    if (ls_tui_new(g, ex, &to, &s.app, &err) || ls_textcanvas_init(&s.tc, w, h)) {
        cli_error(err.msg[0] ? err.msg : "out of memory");
        rc = 2;
        goto done;
    }
    ls_tui_set_size(s.app, w, h);
    t_open = now_ms() - t_open;
    printf("%s, %dx%d, %d thread%s, %d nodes, %d repeats, ", ls_model_dir(m), w, h, o->threads,
           o->threads == 1 ? "" : "s", ls_graph_n_nodes(g), repeats);
    if (pace > 0)
        printf("a key every %.0f ms (computing ahead between keys):\n", pace);
    else
        printf("keys back to back (nothing computed ahead):\n");
    int n = ls_graph_n_nodes(g);
    double t0 = now_ms();
    script(&s, n);
    double t_session = now_ms() - t0;
    for (int r = 1; r < repeats; r++)
        script(&s, n);
    printf("  (opening the debugger, weights packed: %.0f ms; one session: %.0f ms)\n", t_open,
           t_session);
    report(&s, g, repeats, 50.0);
    rc = s.failed ? 2 : 0;
    if (s.failed)
        cli_error("bench --tui: out of memory recording times");
done:
    for (int i = 0; i < s.n_keys; i++) {
        free(s.keys[i].ms);
        free(s.keys[i].at);
    }
    ls_textcanvas_free(&s.tc);
    ls_tui_free(s.app);
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
    return rc;
}

int cmd_bench_tui(int argc, char **argv)
{
    char model[2048], wav[2048], threads[16];
    snprintf(model, sizeof model, "%s/conformer_article", LS_DATA_DIR);
    snprintf(wav, sizeof wav, "%s/speech_3_6s.wav", LS_DATA_DIR);
    snprintf(threads, sizeof threads, "%d", ls_cpu_count());
    const char *model_arg = model, *wav_arg = wav, *inputs_arg = NULL, *threads_arg = threads;
    int sizes[4][2] = {{80, 24}, {200, 50}}, n_sizes = 2, repeats = 3;
    double pace = 250;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_bench_tui, stdout);
            return 0;
        } else if (!strcmp(a, "--model") && v) {
            model_arg = v;
            wav_arg = NULL;
            i++;
        } else if (!strcmp(a, "--wav") && v) {
            wav_arg = v;
            i++;
        } else if (!strcmp(a, "--inputs") && v) {
            inputs_arg = v;
            wav_arg = NULL;
            i++;
        } else if (!strcmp(a, "--repeat") && v && atoi(v) >= 1 && atoi(v) <= 100) {
            repeats = atoi(v);
            i++;
        } else if (!strcmp(a, "--pace") && v && strspn(v, "0123456789") == strlen(v) && *v &&
                   atoi(v) <= 10000) {
            pace = atoi(v);
            i++;
        } else if (!strcmp(a, "--threads") && v) {
            threads_arg = v;
            i++;
        } else if (!strcmp(a, "--size") && v &&
                   sscanf(v, "%dx%d", &sizes[0][0], &sizes[0][1]) == 2 && sizes[0][0] > 0 &&
                   sizes[0][0] <= 1000 && sizes[0][1] > 0 && sizes[0][1] <= 1000) {
            n_sizes = 1;
            i++;
        } else {
            fprintf(stderr, "layerstep bench --tui: bad option '%s'\n%s", a, usage_bench_tui);
            return 2;
        }
    }
    char *args[16];
    int n = 0;
    args[n++] = argv[0];
    args[n++] = "bench";
    args[n++] = "--model";
    args[n++] = (char *)model_arg;
    if (wav_arg) {
        args[n++] = "--wav";
        args[n++] = (char *)wav_arg;
    }
    if (inputs_arg) {
        args[n++] = "--inputs";
        args[n++] = (char *)inputs_arg;
    }
    args[n++] = "--threads";
    args[n++] = (char *)threads_arg;
    args[n] = NULL;
    cli_opts o;
    if (cli_parse(n, args, 2, &o, "bench --tui"))
        return 2;
    printf("layerstep bench --tui: one key = ls_tui_feed + a full redraw into a text canvas\n");
    for (int i = 0; i < n_sizes; i++)
        for (int p = 0; p < (pace > 0 ? 2 : 1); p++) {
            int rc = bench_size(&o, sizes[i][0], sizes[i][1], repeats, p ? pace : 0);
            if (rc)
                return rc;
        }
    return 0;
}
