/* libFuzzer target: random key sequences through the TUI core on a small
 * real model (tests/data/mha_small with its inputs), the screen redrawn
 * after every key at a size the input picks.
 *
 * Input bytes -> keys: 0x00-0x7f are themselves (letters, ':' commands,
 * Enter, Esc, Ctrl keys); 0x80 and up pick a special key (arrows, pages,
 * Home/End, resize).  A resize takes the next two bytes as width and
 * height, so "terminal too small" screens are drawn too.  ':' commands
 * that write files (dump, svg) write into a scratch directory. */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layerstep/npy.h"
#include "layerstep/tui.h"

#ifndef LS_FUZZ_DATA
#define LS_FUZZ_DATA "tests/data"
#endif

/* The harness's one piece of state: a scratch working directory for
 * files the commands write, made on the first call, removed at exit. */
static char scratch[] = "/tmp/ls_fuzz_tui_XXXXXX";

static void remove_scratch(void)
{
    DIR *d = opendir(scratch);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
    if (chdir("/") == 0)
        rmdir(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int in_scratch;
    if (!in_scratch) {
        if (mkdtemp(scratch) && chdir(scratch) == 0)
            atexit(remove_scratch);
        in_scratch = 1;
    }
    if (size > 4096)
        return 0;
    ls_error err;
    ls_model *m = NULL;
    ls_tmap *in = NULL;
    ls_graph *g = NULL;
    ls_exec *ex = NULL;
    ls_tui *app = NULL;
    ls_textcanvas tc = {0};
    if (ls_model_load(LS_FUZZ_DATA "/mha_small", &m, &err) ||
        ls_npy_load_dir(LS_FUZZ_DATA "/mha_small/inputs", &in, &err) ||
        ls_model_build(m, in, NULL, &g, &err) ||
        ls_exec_new(g, &(ls_exec_opts){.threads = 1}, &ex, &err) ||
        ls_exec_set_inputs(ex, in, &err) ||
        ls_tui_new(g, ex, &(ls_tui_opts){.model = m, .inputs = in, .seed = 1,
                                         .exec = {.threads = 1}}, &app, &err) ||
        ls_textcanvas_init(&tc, 80, 24)) {
        fprintf(stderr, "fuzz_tui: setup failed: %s\n", err.msg);
        abort();
    }
    int w = 80, h = 24;
    ls_tui_set_size(app, w, h);
    for (size_t i = 0; i < size; i++) {
        int key = data[i];
        if (key >= 0x80) {
            key = LS_KEY_UP + (key - 0x80) % (LS_KEY_MAX - LS_KEY_UP);
            if (key == LS_KEY_RESIZE) {
                w = i + 1 < size ? 1 + data[++i] % 200 : 80;
                h = i + 1 < size ? 1 + data[++i] % 60 : 24;
                ls_tui_set_size(app, w, h);
                ls_textcanvas_free(&tc);
                if (ls_textcanvas_init(&tc, w, h))
                    abort();
            }
        }
        unsigned r = ls_tui_feed(app, key);
        ls_textcanvas_clear(&tc);
        ls_tui_draw(app, &tc.c);
        if (r & LS_TUI_QUIT)
            break;
    }
    ls_textcanvas_free(&tc);
    ls_tui_free(app);
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
    return 0;
}
