/* The attention view on a row whose every key is masked shows what the
 * softmax really made of it, under each masking style:
 *   masked_fill(-1e9)            toy Transformer   uniform 1/n ('~')
 *   + mask_add(-inf)             nn.MultiheadAttn  NaN ('!')
 *   masked_fill(-inf), then 0    WeNet Conformer   zeros ('0')
 * and says why in one line; and the sum column reads 1 (or 0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/model.h"
#include "layerstep/npy.h"
#include "layerstep/tui.h"

typedef struct fx {
    ls_model *m;
    ls_tmap *in;
    ls_graph *g;
    ls_exec *ex;
    ls_tui *app;
    ls_textcanvas tc;
} fx;

static void fx_open(fx *f, const char *fixture)
{
    const char *data = getenv("LS_TEST_DATA");
    if (!data)
        skip();
    char dir[512], in_dir[600];
    snprintf(dir, sizeof dir, "%s/%s", data, fixture);
    snprintf(in_dir, sizeof in_dir, "%s/inputs", dir);
    ls_error err = {0};
    assert_int_equal(ls_model_load(dir, &f->m, &err), LS_OK);
    assert_int_equal(ls_npy_load_dir(in_dir, &f->in, &err), LS_OK);
    assert_int_equal(ls_model_build(f->m, f->in, &(ls_build_opts){0}, &f->g, &err), LS_OK);
    assert_int_equal(ls_exec_new(f->g, &(ls_exec_opts){.threads = 1}, &f->ex, &err), LS_OK);
    assert_int_equal(ls_exec_set_inputs(f->ex, f->in, &err), LS_OK);
    assert_int_equal(ls_tui_new(f->g, f->ex, &(ls_tui_opts){.model = f->m, .inputs = f->in}, &f->app, &err),
                     LS_OK);
    assert_int_equal(ls_textcanvas_init(&f->tc, 100, 30), LS_OK);
    ls_tui_set_size(f->app, 100, 30);
}

static void fx_close(fx *f)
{
    ls_textcanvas_free(&f->tc);
    ls_tui_free(f->app);
    ls_exec_free(f->ex);
    ls_graph_free(f->g);
    ls_tmap_free(f->in);
    ls_model_free(f->m);
}

static void cmd(fx *f, const char *line)
{
    ls_tui_command(f->app, line);
    ls_tui_state st;
    ls_tui_get_state(f->app, &st);
    if (st.message_is_error)
        fail_msg(":%s: %s", line, st.message);
}

static bool on_screen(fx *f, const char *s)
{
    ls_textcanvas_clear(&f->tc);
    ls_tui_draw(f->app, &f->tc.c);
    if (getenv("LS_TUI_SHOW")) {
        char *d = ls_textcanvas_dump(&f->tc);
        fprintf(stderr, "%s\n----\n", d ? d : "");
        free(d);
    }
    return ls_textcanvas_find(&f->tc, s) >= 0;
}

/* Sets cell (row, col) of the selected 2-D slice with the debugger's own
 * cursor keys and '=' prompt. */
static void set_cell(fx *f, int row, int col, const char *value)
{
    ls_tui_state st;
    ls_tui_get_state(f->app, &st);
    if (st.focus != LS_FOCUS_TENSOR)
        ls_tui_feed(f->app, LS_KEY_TAB);
    ls_tui_feed(f->app, LS_KEY_HOME);
    for (int i = 0; i < row; i++)
        ls_tui_feed(f->app, LS_KEY_DOWN);
    for (int j = 0; j < col; j++)
        ls_tui_feed(f->app, LS_KEY_RIGHT);
    ls_tui_feed(f->app, '=');
    for (const char *c = value; *c; c++)
        ls_tui_feed(f->app, *c);
    ls_tui_feed(f->app, LS_KEY_ENTER);
    ls_tui_get_state(f->app, &st);
    if (st.message_is_error)
        fail_msg("set [%d, %d] = %s: %s", row, col, value, st.message);
}

/* -inf added on every key: softmax of all -inf is 0/0 */
static void test_minus_inf_gives_nan(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "mha_small");
    cmd(&f, "goto kpm.key_padding_mask");
    for (int j = 0; j < 4; j++)  /* item 1 already pads keys 4-6 */
        set_cell(&f, 1, j, "true");
    cmd(&f, "goto kpm.attn");
    cmd(&f, "batch 1");
    ls_tui_feed(f.app, 'a');
    assert_true(on_screen(&f, "every key masked with -inf"));
    assert_true(on_screen(&f, "!!!!!!!"));
    assert_true(on_screen(&f, "nan"));  /* the sum column */
    cmd(&f, "batch 0");
    assert_false(on_screen(&f, "every key masked"));
    assert_true(on_screen(&f, "1.00"));
    fx_close(&f);
}

/* masked_fill(-inf), then WeNet zeroes the padded rows after the softmax */
static void test_wenet_zeroes_the_row(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "conformer_small");
    cmd(&f, "goto xs_lens");
    set_cell(&f, 0, 1, "0");  /* item 1: no valid frame */
    cmd(&f, "goto encoders.0.self_attn.attn");
    cmd(&f, "batch 1");
    ls_tui_feed(f.app, 'a');
    assert_true(on_screen(&f, "zeroed after the softmax"));
    assert_true(on_screen(&f, "0000"));
    assert_true(on_screen(&f, "0.00"));
    assert_false(on_screen(&f, "1.00"));
    fx_close(&f);
}

/* Column numbers over a heatmap read: every k-th one, never "91011". */
static void test_heat_column_numbers(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "transformer_small");
    cmd(&f, "goto encoder.layers.0.enc_self_attn.fc");  /* [2, 5, 32] */
    cmd(&f, "view heat");
    assert_false(on_screen(&f, "91011"));
    assert_true(on_screen(&f, "10"));
    assert_true(on_screen(&f, "20"));
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minus_inf_gives_nan),
        cmocka_unit_test(test_wenet_zeroes_the_row),
        cmocka_unit_test(test_heat_column_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
