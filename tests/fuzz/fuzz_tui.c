/* libFuzzer target: random key sequences through the TUI core on a small
 * real model (tests/data/mha_small with its inputs), the screen redrawn
 * after every key at a size the input picks.
 *
 * Bytes -> keys as in tui_keys.h; ':' commands that write files (dump,
 * svg) write into a scratch directory. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "layerstep/npy.h"
#include "layerstep/tui.h"
#include "tui_keys.h"

#ifndef LS_FUZZ_DATA
#define LS_FUZZ_DATA "tests/data"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_enter_scratch();
    if (size > 4096)
        return 0;
    ls_error err;
    ls_model *m = NULL;
    ls_tmap *in = NULL;
    ls_graph *g = NULL;
    ls_exec *ex = NULL;
    ls_tui *app = NULL;
    if (ls_model_load(LS_FUZZ_DATA "/mha_small", &m, &err) ||
        ls_npy_load_dir(LS_FUZZ_DATA "/mha_small/inputs", &in, &err) ||
        ls_model_build(m, in, NULL, &g, &err) ||
        ls_exec_new(g, &(ls_exec_opts){.threads = 1}, &ex, &err) ||
        ls_exec_set_inputs(ex, in, &err) ||
        ls_tui_new(g, ex, &(ls_tui_opts){.model = m, .inputs = in, .seed = 1,
                                         .exec = {.threads = 1}}, &app, &err)) {
        fprintf(stderr, "fuzz_tui: setup failed: %s\n", err.msg);
        abort();
    }
    fuzz_keys(app, data, size);
    ls_tui_free(app);
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
    return 0;
}
