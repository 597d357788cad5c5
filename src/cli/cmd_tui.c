/* layerstep tui: the step-through debugger on a terminal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tui/screen_curses.h"
#include "cli.h"
#include "layerstep/lesson.h"

static const char *const tui_usage =
    "usage: layerstep tui --model DIR [--inputs DIR | --input NAME=FILE ... | --src TEXT [--tgt TEXT]\n"
    "                     | --wav FILE] [--break GLOB]... [--record FILE] [--replay FILE [--delay MS]]\n"
    "                     [--no-ahead] [--lang en|zh]\n"
    "\n"
    "Steps through the forward pass node by node: the module tree on the left\n"
    "(like a debugger's call stack), the selected tensor on the right (shape,\n"
    "stats, numbers, heatmap), the attention chain of one head with `a`.\n"
    "Works from 80x24 up; NO_COLOR or a monochrome terminal get an ASCII ramp.\n"
    "\n"
    "  --break GLOB      stop `c` at points (or on entering modules) matching GLOB\n"
    "  --record FILE     write the keys pressed to FILE on exit\n"
    "  --replay FILE     press the keys in FILE first (a classroom demo, a test)\n"
    "  --delay MS        pause between replayed keys\n"
    "  --no-ahead        compute only when a key asks (by default the nodes past the\n"
    "                    one shown are computed while you read, and stay hidden\n"
    "                    until you step to them; --reference never computes ahead)\n"
    "  --lang en|zh      the debugger's own labels, hints and messages (default:\n"
    "                    from LC_ALL/LC_MESSAGES/LANG)\n"
    "\n";

/* Takes --record/--replay/--delay/--lang out of argv (they are the
 * screen's, not the model's), leaving the rest for cli_parse. */
static int take_screen_opts(int *argc, char **argv, ls_screen_opts *so, int *lang)
{
    int w = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        bool rec = !strcmp(a, "--record"), rep = !strcmp(a, "--replay"), del = !strcmp(a, "--delay");
        bool lng = !strcmp(a, "--lang");
        if (!strcmp(a, "--no-ahead")) {
            so->no_ahead = true;
            continue;
        }
        if (!rec && !rep && !del && !lng) {
            argv[w++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc) {
            fprintf(stderr, "layerstep tui: option %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (lng) {
            *lang = ls_lesson_lang(v);
            if (*lang < 0) {
                fprintf(stderr, "layerstep tui: --lang takes en or zh, got '%s'\n", v);
                return 2;
            }
        } else if (rec)
            so->record = v;
        else if (rep)
            so->replay = v;
        else {
            char *end;
            long ms = strtol(v, &end, 10);
            if (end == v || *end || ms < 0 || ms > 60000) {
                fprintf(stderr, "layerstep tui: --delay takes milliseconds 0..60000, got '%s'\n", v);
                return 2;
            }
            so->delay_ms = (int)ms;
        }
    }
    *argc = w;
    return 0;
}

int cmd_tui(int argc, char **argv)
{
    ls_screen_opts so = {0};
    char **args = malloc((size_t)(argc + 1) * sizeof *args);
    if (!args) {
        cli_error("out of memory");
        return 2;
    }
    memcpy(args, argv, (size_t)argc * sizeof *args);
    args[argc] = NULL;
    int lang = ls_lesson_lang_default();
    int rc = take_screen_opts(&argc, args, &so, &lang);
    cli_opts o;
    if (!rc)
        rc = cli_parse(argc, args, 2, &o, "tui");
    if (rc || o.help) {
        FILE *f = rc ? stderr : stdout;
        fputs(tui_usage, f);
        char *keys = ls_tui_help_text();
        if (keys)
            fputs(keys, f);
        free(keys);
        free(args);
        return rc;
    }
    if (o.only || o.out) {
        fprintf(stderr, "layerstep tui: %s is not a tui option (the debugger keeps every point; "
                        "%s)\n", o.only ? "--only" : "--out",
                o.only ? "--break GLOB stops at the ones you want" : "':dump FILE' writes one");
        free(args);
        return 2;
    }
    ls_model *m = NULL;
    ls_tmap *in = NULL;
    ls_graph *g = NULL;
    ls_exec *ex = NULL;
    ls_tui *app = NULL;
    ls_error err = {0};
    if (ls_tui_locale(lang == LS_LANG_ZH, &err)) {
        cli_error(err.msg);
        free(args);
        return 2;
    }
    /* no tty, TERM=dumb, an unreadable --replay or unwritable --record:
     * said now, not after seconds of loading (or, for --record, after the
     * whole session's keys) */
    if (ls_screen_check(&so, &err)) {
        cli_error(err.msg);
        rc = 2;
        goto done;
    }
    o.cancel = ls_screen_cancel_flag();
    if ((rc = cli_load(&o, &m, &in)) || (rc = cli_prepare(&o, m, in, &g, &ex)))
        goto done;
    ls_tui_opts to = {.model = m, .inputs = in, .breaks = o.breaks, .n_breaks = o.n_breaks,
                      .seed = o.seed, .lang = lang,
                      /* module runs get the --max-memory budget too */
                      .exec = {.reference = cli_reference(&o), .threads = o.threads,
                               .max_bytes = cli_exec_budget(&o, m), .cancel = o.cancel}};
    if (ls_tui_new(g, ex, &to, &app, &err)) {
        cli_error(err.msg);
        rc = 2;
        goto done;
    }
    rc = ls_screen_run(app, &so, &err);
    /* the terminal is restored by now: messages are safe to print */
    if (rc == 2)
        cli_error(err.msg);
done:
    ls_tui_free(app);
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
    free(args);
    return rc;
}
