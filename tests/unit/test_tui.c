/* The debugger without a terminal: keys go in through ls_tui_feed, the
 * screen comes out of a text canvas.  Every key of the key table is
 * exercised on a small two-layer attention graph built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layerstep/atomic.h"
#include "layerstep/attention.h"
#include "layerstep/model.h"
#include "layerstep/npy.h"
#include "layerstep/tui.h"
#include "../../src/tui/tui_internal.h" /* axis labels are internal */

/* x[2,3,4], lens[2] -> enc: pad mask -> layers.{0,1}: attn (W_Q linear,
 * heads 2 x 2, scores, mask, attn, context) -> out linear */
typedef struct fx {
    ls_tmap *w;
    ls_graph *g;
    ls_exec *ex;
    ls_tui *app;
    ls_textcanvas tc;
    float wq[2][16], wo[16];
} fx;

static const float X[24] = {0.1f, 0.2f, -0.3f, 0.4f, 1.0f, -1.0f, 0.5f, 0.0f,
                            0.3f, 0.3f, 0.3f, -0.9f, -0.2f, 0.7f, 0.1f, 0.0f,
                            0.5f, -0.5f, 0.2f, 0.8f, 0.9f, 0.1f, -0.4f, 0.6f};

/* limits: 0 = none; main_fit = the main executor may allocate exactly
 * what its run needs (so a weight edit, which copies, cannot); module =
 * the byte limit of module runs */
static void build_limited(fx *f, bool main_fit, size_t module);

static void build(fx *f) { build_limited(f, false, 0); }

static void build_limited(fx *f, bool main_fit, size_t module)
{
    memset(f, 0, sizeof *f);
    f->w = ls_tmap_new("toy.safetensors");
    for (int l = 0; l < 2; l++) {
        for (int i = 0; i < 16; i++)
            f->wq[l][i] = (i % 5 == 0 ? 1.0f : 0.1f * (float)((i * 7 + l) % 3 - 1));
        char key[64];
        snprintf(key, sizeof key, "enc.layers.%d.attn.W_Q.weight", l);
        ls_tensor t = ls_tensor_make(LS_F32, 2, (int64_t[]){4, 4}, f->wq[l]);
        assert_int_equal(ls_tmap_put_ref(f->w, key, &t, NULL), LS_OK);
    }
    ls_graph *g = ls_graph_new("Toy", f->w);
    int x = ls_graph_input(g, "x", LS_F32, 3, (int64_t[]){2, 3, 4});
    int lens = ls_graph_input(g, "lens", LS_I64, 1, (int64_t[]){2});
    ls_graph_begin(g, "Encoder", "", "enc");
    ls_op_params pp = {.i = {3}};
    int pm = ls_graph_op(g, LS_OP_PAD_MASK, &pp, &lens, 1, "pad_mask");
    int m4 = ls_g_unsqueeze(g, ls_g_unsqueeze(g, pm, 1, NULL), 1, NULL); /* [2,1,1,3] */
    ls_graph_begin(g, "ModuleList", "", "layers");
    int h = x;
    for (int l = 0; l < 2; l++) {
        ls_graph_begin(g, "EncoderLayer", "", "%d", l);
        ls_graph_begin(g, "MultiHeadAttention", "", "attn");
        ls_graph_begin(g, "Linear", "in_features=4, out_features=4, bias=False", "W_Q");
        int lq = ls_g_linear(g, h, ls_graph_weight(g, "weight", 2, (int64_t[]){4, 4}), -1, NULL);
        lq = ls_graph_end(g, lq);
        int q = ls_attn_heads(g, lq, 2, 2, "q");
        int k = ls_attn_heads(g, h, 2, 2, "k");
        int v = ls_attn_heads(g, h, 2, 2, "v");
        ls_attn_spec s = ls_attn_spec_default(2, 2, 2);
        int ctx = ls_attn_core(g, q, k, v, m4, -1, &s);
        h = ls_graph_end(g, ctx);
        h = ls_graph_end(g, h);
    }
    ls_graph_end(g, -1);
    h = ls_graph_end(g, h);
    assert_true(ls_graph_ok(g));
    f->g = g;
    ls_error err = {0};
    /* one thread: these tests are about the UI, not the kernels */
    ls_exec_opts eo = {.threads = 1};
    if (main_fit)
        eo.max_bytes = ls_exec_plan_bytes(g, &eo);
    assert_int_equal(ls_exec_new(g, &eo, &f->ex, &err), LS_OK);
    ls_tensor xt = ls_tensor_make(LS_F32, 3, (int64_t[]){2, 3, 4}, (void *)X);
    int64_t lv[2] = {3, 2};
    ls_tensor lt = ls_tensor_make(LS_I64, 1, (int64_t[]){2}, lv);
    assert_int_equal(ls_exec_set_input(f->ex, "x", &xt, &err), LS_OK);
    assert_int_equal(ls_exec_set_input(f->ex, "lens", &lt, &err), LS_OK);
    assert_int_equal(ls_tui_new(g, f->ex, &(ls_tui_opts){.seed = 7, .exec = {.threads = 1, .max_bytes = module}},
                                &f->app, &err), LS_OK);
    assert_int_equal(ls_textcanvas_init(&f->tc, 80, 24), LS_OK);
    ls_tui_set_size(f->app, 80, 24);
}

static void teardown(fx *f)
{
    ls_textcanvas_free(&f->tc);
    ls_tui_free(f->app);
    ls_exec_free(f->ex);
    ls_graph_free(f->g);
    ls_tmap_free(f->w);
}

static unsigned keys(fx *f, const char *s)
{
    unsigned r = 0;
    for (; *s; s++)
        r |= ls_tui_feed(f->app, *s);
    return r;
}

static void render(fx *f)
{
    ls_textcanvas_clear(&f->tc);
    ls_tui_draw(f->app, &f->tc.c);
    /* LS_TUI_SHOW=1 prints every rendered screen, for writing tests */
    if (getenv("LS_TUI_SHOW")) {
        char *s = ls_textcanvas_dump(&f->tc);
        fprintf(stderr, "%s----\n", s ? s : "");
        free(s);
    }
}

static bool screen_has(fx *f, const char *s)
{
    render(f);
    return ls_textcanvas_find(&f->tc, s) >= 0;
}

static ls_tui_state state(fx *f)
{
    ls_tui_state st;
    ls_tui_get_state(f->app, &st);
    return st;
}

static const char *at_name(fx *f)
{
    int at = state(f).at;
    return at < 0 ? "" : ls_graph_node(f->g, at)->name;
}

static void go(fx *f, const char *name)
{
    char line[256];
    snprintf(line, sizeof line, "goto %s", name);
    ls_tui_command(f->app, line);
    assert_string_equal(at_name(f), name);
}

/* ---- tests ---- */

static void test_start_screen(void **st)
{
    (void)st;
    fx f;
    build(&f);
    ls_tui_state s = state(&f);
    assert_int_equal(s.at, -1);
    assert_int_equal(s.cursor, 0);
    render(&f);
    assert_true(ls_textcanvas_find(&f.tc, "Modules") >= 0);
    assert_true(ls_textcanvas_find(&f.tc, "(enc): Encoder") >= 0);
    /* repeated layers start folded */
    assert_true(ls_textcanvas_find(&f.tc, "+ (layers): ModuleList") >= 0);
    assert_true(ls_textcanvas_find(&f.tc, "at (start") >= 0);
    teardown(&f);
}

static void test_step_into(void **st)
{
    (void)st;
    fx f;
    build(&f);
    unsigned r = keys(&f, "s");
    assert_true(r & LS_TUI_REDRAW);
    assert_string_equal(at_name(&f), "x");
    keys(&f, "s");
    assert_string_equal(at_name(&f), "lens");
    keys(&f, "s");
    assert_string_equal(at_name(&f), "enc.pad_mask");
    keys(&f, "s");
    /* into the first layer: the first point is the W_Q linear */
    assert_string_equal(at_name(&f), "enc.layers.0.attn.W_Q");
    keys(&f, "ss");
    assert_string_equal(at_name(&f), "enc.layers.0.attn.k");
    /* the point's row is unfolded, marked computed and current */
    render(&f);
    char row[256];
    int y = ls_textcanvas_find(&f.tc, "k      [2, 2, 3, 2]");
    assert_true(y >= 0);
    assert_non_null(strstr(ls_textcanvas_row(&f.tc, y, row, sizeof row), " *>"));
    assert_true(ls_textcanvas_find(&f.tc, "[2, 2, 3, 2]") >= 0);
    teardown(&f);
}

static void test_step_over_and_out(void **st)
{
    (void)st;
    fx f;
    build(&f);
    keys(&f, "sss");
    assert_string_equal(at_name(&f), "enc.pad_mask");
    /* over the first layer as a whole */
    keys(&f, "n");
    assert_string_equal(at_name(&f), "enc.layers.0");
    keys(&f, "n");
    assert_string_equal(at_name(&f), "enc.layers.1");
    keys(&f, "R");
    keys(&f, "ssss");
    assert_string_equal(at_name(&f), "enc.layers.0.attn.W_Q");
    /* at the same depth: q after W_Q */
    keys(&f, "n");
    assert_string_equal(at_name(&f), "enc.layers.0.attn.q");
    keys(&f, "o");
    assert_string_equal(at_name(&f), "enc.layers.0.attn");
    keys(&f, "o");
    assert_string_equal(at_name(&f), "enc.layers.0");
    teardown(&f);
}

static void test_continue_and_breakpoints(void **st)
{
    (void)st;
    fx f;
    build(&f);
    ls_tui_command(f.app, "break *.scores");
    assert_int_equal(state(&f).n_breaks, 1);
    keys(&f, "c");
    assert_string_equal(at_name(&f), "enc.layers.0.attn.scores");
    assert_non_null(strstr(state(&f).message, "breakpoint"));
    keys(&f, "c");
    assert_string_equal(at_name(&f), "enc.layers.1.attn.scores");
    render(&f);
    assert_true(ls_textcanvas_find(&f.tc, "B*>") >= 0);
    keys(&f, "c");
    assert_true(ls_exec_done(f.ex));
    /* typed, not called */
    keys(&f, ":delete *");
    ls_tui_feed(f.app, LS_KEY_ENTER);
    assert_int_equal(state(&f).n_breaks, 0);
    keys(&f, ":break enc.layers.1");
    ls_tui_feed(f.app, LS_KEY_ENTER);
    keys(&f, "R");
    keys(&f, "c");
    /* a module breakpoint stops on entry */
    assert_string_equal(at_name(&f), "enc.layers.1.attn.W_Q");
    teardown(&f);
}

static void test_break_toggle_key(void **st)
{
    (void)st;
    fx f;
    build(&f);
    keys(&f, "sss");
    /* the selected row is the current point */
    keys(&f, "b");
    assert_int_equal(state(&f).n_breaks, 1);
    render(&f);
    assert_true(ls_textcanvas_find(&f.tc, "B*>") >= 0);
    keys(&f, "b");
    assert_int_equal(state(&f).n_breaks, 0);
    teardown(&f);
}

static void test_step_back_same_numbers(void **st)
{
    (void)st;
    fx f;
    build(&f);
    go(&f, "enc.layers.0.attn.scores");
    int scores = state(&f).at;
    float before[36];
    const ls_tensor *t = ls_exec_out(f.ex, scores);
    for (int i = 0; i < 36; i++)
        before[i] = (float)ls_tensor_get_flat(t, i);
    render(&f);
    char *shot = ls_textcanvas_dump(&f.tc);
    keys(&f, "s");
    assert_string_equal(at_name(&f), "enc.layers.0.attn.mask");
    int cursor = state(&f).cursor;
    keys(&f, "p");
    assert_string_equal(at_name(&f), "enc.layers.0.attn.scores");
    /* stepping back does not run anything */
    assert_int_equal(state(&f).cursor, cursor);
    for (int i = 0; i < 36; i++)
        assert_true(before[i] == (float)ls_tensor_get_flat(ls_exec_out(f.ex, scores), i));
    render(&f);
    char *again = ls_textcanvas_dump(&f.tc);
    /* the tensor pane shows exactly what it showed (the tree marks differ) */
    assert_non_null(strstr(again, "div_scalar"));
    char *a = strstr(shot, "slice"), *b = strstr(again, "slice");
    assert_non_null(a);
    assert_non_null(b);
    free(shot);
    free(again);
    keys(&f, "R");
    keys(&f, "p");
    assert_non_null(strstr(state(&f).message, "at the start"));
    teardown(&f);
}

static void test_goto_completion(void **st)
{
    (void)st;
    fx f;
    build(&f);
    keys(&f, "g");
    assert_true(state(&f).prompt);
    keys(&f, "enc.layers.1.attn.sc");
    ls_tui_feed(f.app, LS_KEY_TAB);
    render(&f);
    assert_true(ls_textcanvas_find(&f.tc, "goto: enc.layers.1.attn.scores") >= 0);
    ls_tui_feed(f.app, LS_KEY_ENTER);
    assert_false(state(&f).prompt);
    assert_string_equal(at_name(&f), "enc.layers.1.attn.scores");
    /* ambiguous completion lists the candidates */
    keys(&f, "genc.layers.0.attn.");
    ls_tui_feed(f.app, LS_KEY_TAB);
    assert_non_null(strstr(state(&f).message, "matches"));
    ls_tui_feed(f.app, LS_KEY_ESC);
    assert_false(state(&f).prompt);
    /* back to an earlier point: no rerun, the view moves */
    go(&f, "enc.layers.0.attn.q");
    keys(&f, "gnope");
    ls_tui_feed(f.app, LS_KEY_ENTER);
    assert_true(state(&f).message_is_error);
    teardown(&f);
}

static void test_restart_and_quit(void **st)
{
    (void)st;
    fx f;
    build(&f);
    keys(&f, "c");
    assert_true(ls_exec_done(f.ex));
    keys(&f, "R");
    assert_int_equal(state(&f).at, -1);
    assert_int_equal(state(&f).cursor, 0);
    assert_true(keys(&f, "q") & LS_TUI_QUIT);
    assert_true(ls_tui_command(f.app, "quit") & LS_TUI_QUIT);
    teardown(&f);
}

static void test_moving_keys(void **st)
{
    (void)st;
    fx f;
    build(&f);
    int keys_tree[] = {LS_KEY_DOWN, 'j', LS_KEY_UP, 'k', LS_KEY_PGDN, LS_KEY_PGUP, LS_KEY_END, LS_KEY_HOME};
    int sel[8];
    for (int i = 0; i < 8; i++) {
        ls_tui_feed(f.app, keys_tree[i]);
        sel[i] = state(&f).selected;
    }
    (void)sel;
    /* Home: first row (x); down twice reaches the encoder */
    ls_tui_feed(f.app, LS_KEY_HOME);
    assert_int_equal(state(&f).selected, ls_graph_find(f.g, "x"));
    keys(&f, "jj");
    assert_int_equal(state(&f).selected_module, ls_graph_find_module(f.g, "enc"));
    /* l unfolds layers, h folds it, h again goes to the parent */
    keys(&f, "jj");
    assert_int_equal(state(&f).selected_module, ls_graph_find_module(f.g, "enc.layers"));
    keys(&f, "l");
    assert_true(screen_has(&f, "- (layers): ModuleList"));
    assert_true(screen_has(&f, "(0): EncoderLayer"));
    keys(&f, "h");
    assert_true(screen_has(&f, "+ (layers): ModuleList"));
    keys(&f, "h");
    assert_int_equal(state(&f).selected_module, ls_graph_find_module(f.g, "enc"));
    ls_tui_feed(f.app, LS_KEY_ENTER);
    assert_true(screen_has(&f, "+ (enc): Encoder"));
    ls_tui_feed(f.app, LS_KEY_ENTER);
    /* Tab: the grid cursor moves instead */
    go(&f, "enc.layers.0.attn.scores");
    ls_tui_feed(f.app, LS_KEY_TAB);
    assert_int_equal(state(&f).focus, LS_FOCUS_TENSOR);
    keys(&f, "jl");
    assert_int_equal(state(&f).row, 1);
    assert_int_equal(state(&f).col, 1);
    ls_tui_feed(f.app, LS_KEY_RIGHT);
    ls_tui_feed(f.app, LS_KEY_RIGHT);
    assert_int_equal(state(&f).col, 2);  /* clamped to the 3 keys */
    ls_tui_feed(f.app, LS_KEY_PGDN);
    assert_int_equal(state(&f).row, 2);
    ls_tui_feed(f.app, LS_KEY_HOME);
    assert_int_equal(state(&f).row, 0);
    assert_int_equal(state(&f).col, 0);
    ls_tui_feed(f.app, LS_KEY_END);
    assert_int_equal(state(&f).row, 2);
    keys(&f, "kh");
    ls_tui_feed(f.app, LS_KEY_UP);
    ls_tui_feed(f.app, LS_KEY_LEFT);
    ls_tui_feed(f.app, LS_KEY_PGUP);
    assert_int_equal(state(&f).row, 0);
    ls_tui_feed(f.app, LS_KEY_TAB);
    assert_int_equal(state(&f).focus, LS_FOCUS_TREE);
    teardown(&f);
}

static void test_head_batch_view(void **st)
{
    (void)st;
    fx f;
    build(&f);
    go(&f, "enc.layers.0.attn.scores");
    keys(&f, "]");
    assert_int_equal(state(&f).head, 1);
    keys(&f, "]");
    assert_int_equal(state(&f).head, 1);  /* 2 heads */
    assert_true(screen_has(&f, "[b=0, h=1, :, :]"));
    keys(&f, "[");
    assert_int_equal(state(&f).head, 0);
    keys(&f, "}");
    assert_int_equal(state(&f).batch, 1);
    assert_true(screen_has(&f, "[b=1, h=0, :, :]"));
    keys(&f, "{");
    assert_int_equal(state(&f).batch, 0);
    /* grid -> heatmap -> stats -> grid */
    assert_true(screen_has(&f, "view: grid"));
    keys(&f, "v");
    assert_int_equal(state(&f).view, LS_VIEW_HEAT);
    assert_true(screen_has(&f, "[ .:-=+*#%@]"));
    keys(&f, "v");
    assert_int_equal(state(&f).view, LS_VIEW_STATS);
    assert_true(screen_has(&f, "whole tensor"));
    keys(&f, "v");
    assert_int_equal(state(&f).view, LS_VIEW_GRID);
    teardown(&f);
}

static void test_masked_cells(void **st)
{
    (void)st;
    fx f;
    build(&f);
    go(&f, "enc.layers.0.attn.attn");
    keys(&f, "}v");  /* batch 1 has 2 tokens: key 2 is padding */
    render(&f);
    int y = ls_textcanvas_find(&f.tc, "XX");
    assert_true(y >= 0);
    /* the masked column is drawn masked, never as a number */
    char row[256];
    ls_textcanvas_row(&f.tc, ls_textcanvas_find(&f.tc, "|0 "), row, sizeof row);
    assert_non_null(strstr(row, "XX"));
    /* in the grid the number stays but the cell has the masked style */
    keys(&f, "vv");
    go(&f, "enc.layers.0.attn.scores");
    render(&f);
    teardown(&f);
}

static void test_attention_view(void **st)
{
    (void)st;
    fx f;
    build(&f);
    go(&f, "enc.layers.0.attn.context");
    keys(&f, "a");
    assert_true(state(&f).attention);
    render(&f);
    assert_true(ls_textcanvas_find(&f.tc, "Attention enc.layers.0.attn") >= 0);
    assert_true(ls_textcanvas_find(&f.tc, "scores [2, 2, 3, 3]") >= 0);
    assert_true(ls_textcanvas_find(&f.tc, "mask") >= 0);
    assert_true(ls_textcanvas_find(&f.tc, "attn [2, 2, 3, 3]") >= 0);
    assert_true(ls_textcanvas_find(&f.tc, "q [2, 2, 3, 2]") >= 0);
    keys(&f, "}");
    render(&f);
    assert_true(ls_textcanvas_find(&f.tc, "XX") >= 0);
    keys(&f, "a");
    assert_false(state(&f).attention);
    /* outside attention: a says so */
    go(&f, "x");
    keys(&f, "a");
    assert_false(state(&f).attention);
    assert_true(state(&f).message_is_error);
    teardown(&f);
}

static void test_fully_masked_rows(void **st)
{
    (void)st;
    fx f;
    build(&f);
    go(&f, "enc.pad_mask");
    /* mask every key of batch 0: edit through the view the mask is */
    ls_tui_feed(f.app, LS_KEY_TAB);
    for (int c = 0; c < 3; c++) {
        keys(&f, "=");
        keys(&f, "1");
        ls_tui_feed(f.app, LS_KEY_ENTER);
        keys(&f, "l");
    }
    assert_int_equal(state(&f).n_edits, 3);
    go(&f, "enc.layers.0.attn.attn");
    keys(&f, "a");
    render(&f);
    assert_true(ls_textcanvas_find(&f.tc, "every key masked") >= 0);
    teardown(&f);
}

static void test_explain(void **st)
{
    (void)st;
    fx f;
    build(&f);
    go(&f, "enc.layers.0.attn.q");
    keys(&f, "e");
    assert_true(state(&f).explain);
    render(&f);
    assert_true(ls_textcanvas_find(&f.tc, "[2,3,4] -linear-> [2,3,4]") >= 0);
    assert_true(ls_textcanvas_find(&f.tc, "-transpose(1,2)-> [2,2,3,2]") >= 0);
    char lines[24][320];
    int n = ls_tui_explain_lines(f.app, state(&f).at, lines, 24);
    assert_true(n > 3);
    assert_string_equal(lines[1],
                        "[2,3,4] -linear-> [2,3,4] -view-> [2,3,2,2] -transpose(1,2)-> [2,2,3,2]");
    n = ls_tui_explain_lines(f.app, ls_graph_find(f.g, "enc.layers.0.attn.scores"), lines, 24);
    bool found = false;
    for (int i = 0; i < n; i++)
        found = found || strstr(lines[i], "-matmul");
    assert_true(found);
    keys(&f, "e");
    assert_false(state(&f).explain);
    teardown(&f);
}

static void test_edit_and_undo(void **st)
{
    (void)st;
    fx f;
    build(&f);
    keys(&f, "c");
    int out = ls_graph_find(f.g, "enc");
    double before = ls_tensor_get_flat(ls_exec_out(f.ex, out), 0);
    go(&f, "x");
    ls_tui_feed(f.app, LS_KEY_TAB);
    keys(&f, "=5");
    ls_tui_feed(f.app, LS_KEY_ENTER);
    assert_int_equal(state(&f).n_edits, 1);
    assert_true(ls_exec_is_pinned(f.ex, ls_graph_find(f.g, "x")));
    double after = ls_tensor_get_flat(ls_exec_out(f.ex, out), 0);
    assert_true(fabs(after - before) > 1e-6);
    assert_true(screen_has(&f, "EDITED"));
    keys(&f, "u");
    assert_int_equal(state(&f).n_edits, 0);
    assert_false(ls_exec_is_pinned(f.ex, ls_graph_find(f.g, "x")));
    assert_true(fabs(ls_tensor_get_flat(ls_exec_out(f.ex, out), 0) - before) < 1e-9);
    /* a weight: a row of its module in the tree; goto selects it without
     * moving the run; the edit goes to a copy, the model's map untouched,
     * downstream recomputed */
    int wnode = ls_graph_find(f.g, "enc.layers.0.attn.W_Q.weight");
    int at_before = state(&f).at;
    ls_tui_command(f.app, "goto enc.layers.0.attn.W_Q.weight");
    assert_int_equal(state(&f).selected, wnode);
    assert_int_equal(state(&f).at, at_before);
    assert_true(screen_has(&f, ".weight"));
    assert_true(screen_has(&f, "enc.layers.0.attn.W_Q.weight"));
    keys(&f, "=9");
    ls_tui_feed(f.app, LS_KEY_ENTER);
    assert_false(state(&f).message_is_error);
    assert_true(f.wq[0][0] == 1.0f);
    assert_true(ls_tensor_get_flat(ls_exec_out(f.ex, wnode), 0) == 9.0);
    assert_true(fabs(ls_tensor_get_flat(ls_exec_out(f.ex, out), 0) - before) > 1e-6);
    keys(&f, "u");
    assert_true(ls_tensor_get_flat(ls_exec_out(f.ex, wnode), 0) == 1.0);
    assert_true(fabs(ls_tensor_get_flat(ls_exec_out(f.ex, out), 0) - before) < 1e-9);
    /* not a number */
    keys(&f, "=abc");
    ls_tui_feed(f.app, LS_KEY_ENTER);
    assert_true(state(&f).message_is_error);
    teardown(&f);
}

/* The NaN/Inf counts stay on screen at 80x24, where min/max/mean/std
 * and the counts do not fit on one line of the tensor pane: zero counts
 * move to another line, counts that are not zero go first. */
static void test_nan_inf_counts_at_80x24(void **st)
{
    (void)st;
    fx f;
    build(&f);
    keys(&f, "c");
    go(&f, "enc.layers.0.attn.scores");
    assert_true(screen_has(&f, "nan 0 inf 0"));
    /* and at other widths, on whichever line has room */
    for (int w = 60; w <= 100; w += 2) {
        ls_textcanvas_free(&f.tc);
        assert_int_equal(ls_textcanvas_init(&f.tc, w, 24), LS_OK);
        ls_tui_set_size(f.app, w, 24);
        ls_tui_feed(f.app, LS_KEY_RESIZE);
        if (!screen_has(&f, "nan 0 inf 0"))
            fail_msg("no NaN/Inf counts at %dx24", w);
    }
    ls_textcanvas_free(&f.tc);
    assert_int_equal(ls_textcanvas_init(&f.tc, 80, 24), LS_OK);
    ls_tui_set_size(f.app, 80, 24);
    ls_tui_feed(f.app, LS_KEY_RESIZE);
    go(&f, "x");
    ls_tui_feed(f.app, LS_KEY_TAB);
    keys(&f, "=nan");
    ls_tui_feed(f.app, LS_KEY_ENTER);
    assert_true(isnan(ls_tensor_get_flat(ls_exec_out(f.ex, ls_graph_find(f.g, "x")), 0)));
    render(&f);
    int at = ls_textcanvas_find(&f.tc, "nan 1 inf 0  min");
    assert_true(at >= 0);
    /* downstream, every score of the first query row is NaN now */
    go(&f, "enc.layers.0.attn.scores");
    assert_false(screen_has(&f, "nan 0 inf 0"));
    teardown(&f);
}

static void test_zero_head(void **st)
{
    (void)st;
    fx f;
    build(&f);
    keys(&f, "c");
    go(&f, "enc.layers.0.attn.attn");
    keys(&f, "]Z");
    assert_int_equal(state(&f).n_edits, 1);
    const ls_tensor *t = ls_exec_out(f.ex, state(&f).at);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            assert_true(ls_tensor_get(t, (int64_t[]){0, 1, i, j}) == 0.0);
            /* head 0 untouched */
        }
    assert_true(ls_tensor_get(t, (int64_t[]){0, 0, 0, 0}) != 0.0);
    keys(&f, "u");
    assert_true(ls_tensor_get(t, (int64_t[]){0, 1, 0, 0}) != 0.0);
    teardown(&f);
}

static void test_module_run(void **st)
{
    (void)st;
    fx f;
    build(&f);
    ls_tui_command(f.app, "module enc.layers.1.attn");
    ls_tui_state s = state(&f);
    assert_true(s.in_module_run);
    assert_false(s.message_is_error);
    const ls_graph *g = ls_tui_graph(f.app);
    assert_true(g != f.g);
    assert_true(ls_graph_find(g, "enc.layers.1.attn.scores") >= 0);
    keys(&f, "c");
    assert_true(ls_exec_done(ls_tui_exec(f.app)));
    assert_true(screen_has(&f, "module run"));
    ls_tui_command(f.app, "main");
    assert_false(state(&f).in_module_run);
    /* the key: on the selected module row */
    keys(&f, "sss");
    keys(&f, "j");
    ls_tui_feed(f.app, LS_KEY_HOME);
    keys(&f, "jj");
    keys(&f, "M");
    assert_true(state(&f).in_module_run);
    keys(&f, "s");
    assert_true(state(&f).at >= 0);
    teardown(&f);
}

/* An allocation that really fails (issue 9): module runs get a byte
 * limit through the TUI's executor options (as --max-memory gives them),
 * too small for the module's executor.  The run is refused with the
 * reason on the status line, the main run stays as it was, and the
 * debugger goes on answering keys. */
static void test_out_of_memory(void **st)
{
    (void)st;
    fx f;
    build_limited(&f, true, 256);
    keys(&f, "c");
    assert_true(ls_exec_done(f.ex));
    ls_tui_command(f.app, "module enc.layers.1.attn");
    assert_false(state(&f).in_module_run);
    assert_true(state(&f).message_is_error);
    assert_true(screen_has(&f, "module: out of memory: the tensors of this run need"));
    assert_true(ls_tui_graph(f.app) == f.g);
    /* the M key on a module row takes the same way */
    keys(&f, "sss");
    ls_tui_feed(f.app, LS_KEY_HOME);
    keys(&f, "jjM");
    assert_false(state(&f).in_module_run);
    assert_true(screen_has(&f, "module: out of memory"));
    /* still answering: an edit needs no new memory, rerun and undo work */
    go(&f, "x");
    ls_tui_feed(f.app, LS_KEY_TAB);
    keys(&f, "=5");
    ls_tui_feed(f.app, LS_KEY_ENTER);
    assert_int_equal(state(&f).n_edits, 1);
    assert_false(state(&f).message_is_error);
    assert_true(screen_has(&f, "EDITED"));
    keys(&f, "u");
    assert_int_equal(state(&f).n_edits, 0);
    /* the same module runs once the limit allows it */
    ls_tui_free(f.app);
    ls_error err = {0};
    assert_int_equal(ls_tui_new(f.g, f.ex, &(ls_tui_opts){.seed = 7, .exec = {.threads = 1, .max_bytes = 1 << 20}},
                                &f.app, &err), LS_OK);
    ls_tui_set_size(f.app, 80, 24);
    ls_tui_command(f.app, "module enc.layers.1.attn");
    assert_true(state(&f).in_module_run);
    teardown(&f);
}

/* ":module PATH NAME=FILE.npy": the module gets the file's tensor for
 * that input (the rest random); a wrong file is refused by name. */
static void test_module_run_files(void **st)
{
    (void)st;
    fx f;
    build(&f);
    ls_tui_command(f.app, "module enc.layers.1.attn");
    const ls_graph *g = ls_tui_graph(f.app);
    const char *xname = NULL;
    for (int i = 0; i < ls_graph_n_nodes(g) && !xname; i++)
        if (ls_graph_node(g, i)->op == LS_OP_INPUT && ls_graph_node(g, i)->out.dtype == LS_F32)
            xname = ls_graph_node(g, i)->name;
    assert_non_null(xname);
    char name[128];
    snprintf(name, sizeof name, "%s", xname);
    ls_tui_command(f.app, "main");
    char dir[] = "/tmp/ls_tui_mod_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char good[256], bad[256], cmd[600];
    snprintf(good, sizeof good, "%s/x.npy", dir);
    snprintf(bad, sizeof bad, "%s/bad.npy", dir);
    ls_error err = {0};
    ls_tensor xt = ls_tensor_make(LS_F32, 3, (int64_t[]){2, 3, 4}, (void *)X);
    ls_tensor bt = ls_tensor_make(LS_F32, 2, (int64_t[]){6, 4}, (void *)X);
    assert_int_equal(ls_npy_save(good, &xt, &err), LS_OK);
    assert_int_equal(ls_npy_save(bad, &bt, &err), LS_OK);

    snprintf(cmd, sizeof cmd, "module enc.layers.1.attn %s=%s", name, good);
    ls_tui_command(f.app, cmd);
    ls_tui_state s = state(&f);
    assert_true(s.in_module_run);
    assert_false(s.message_is_error);
    assert_non_null(strstr(s.message, "from file"));
    keys(&f, "c");
    const ls_exec *ex = ls_tui_exec(f.app);
    const ls_tensor *in = ls_exec_out(ex, ls_graph_find(ls_tui_graph(f.app), name));
    assert_non_null(in);
    for (int i = 0; i < 24; i++)
        assert_true(ls_tensor_get_flat(in, i) == X[i]);
    ls_tui_command(f.app, "main");

    snprintf(cmd, sizeof cmd, "module enc.layers.1.attn %s=%s", name, bad);
    ls_tui_command(f.app, cmd);
    s = state(&f);
    assert_false(s.in_module_run);
    assert_true(s.message_is_error);
    assert_non_null(strstr(s.message, "bad.npy"));
    assert_non_null(strstr(s.message, "[6, 4]"));
    assert_non_null(strstr(s.message, "[2, 3, 4]"));

    snprintf(cmd, sizeof cmd, "module enc.layers.1.attn nosuch=%s", good);
    ls_tui_command(f.app, cmd);
    s = state(&f);
    assert_false(s.in_module_run);
    assert_non_null(strstr(s.message, "no input 'nosuch'"));
    ls_tui_command(f.app, "module enc.layers.1.attn justaword");
    assert_non_null(strstr(state(&f).message, "NAME=FILE.npy"));
    snprintf(cmd, sizeof cmd, "module enc.layers.1.attn %s=%s/missing.npy", name, dir);
    ls_tui_command(f.app, cmd);
    assert_true(state(&f).message_is_error);
    assert_non_null(strstr(state(&f).message, "missing.npy"));
    unlink(good);
    unlink(bad);
    rmdir(dir);
    teardown(&f);
}

static void test_dump_and_svg(void **st)
{
    (void)st;
    fx f;
    build(&f);
    char dir[] = "/tmp/ls_tui_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char npy[256], svg[256], cmd[300];
    snprintf(npy, sizeof npy, "%s/scores.npy", dir);
    snprintf(svg, sizeof svg, "%s/scores.svg", dir);
    go(&f, "enc.layers.0.attn.scores");
    snprintf(cmd, sizeof cmd, "dump %s", npy);
    ls_tui_command(f.app, cmd);
    assert_false(state(&f).message_is_error);
    ls_arena *a = ls_arena_new(1 << 16);
    ls_tensor t;
    assert_int_equal(ls_npy_load(npy, a, &t, NULL), LS_OK);
    assert_int_equal(t.ndim, 4);
    assert_true(ls_tensor_get_flat(&t, 5) == ls_tensor_get_flat(ls_exec_out(f.ex, state(&f).at), 5));
    ls_arena_free(a);
    snprintf(cmd, sizeof cmd, "svg %s", svg);
    keys(&f, "}");
    ls_tui_command(f.app, cmd);
    assert_false(state(&f).message_is_error);
    void *buf;
    size_t len;
    assert_int_equal(ls_read_file(svg, 1 << 20, &buf, &len, NULL), LS_OK);
    assert_non_null(strstr(buf, "<svg"));
    assert_non_null(strstr(buf, "</svg>"));
    /* the title says where in the tensor; signed scores: the diverging map */
    assert_non_null(strstr(buf, ">enc.layers.0.attn.scores</text>"));
    assert_non_null(strstr(buf, "[2, 2, 3, 3]  batch 1 of 2  head 0 of 2</text>"));
    assert_non_null(strstr(buf, "<desc>map diverging"));
    free(buf);
    /* probabilities: the sequential map over [0, 1], whatever the slice
     * holds; batch item 1 has 2 of 3 keys, and by now its mask is computed */
    go(&f, "enc.layers.0.attn.attn");
    ls_tui_command(f.app, cmd);
    assert_false(state(&f).message_is_error);
    assert_int_equal(ls_read_file(svg, 1 << 20, &buf, &len, NULL), LS_OK);
    assert_non_null(strstr(buf, "<desc>map sequential (viridis), range 0 to 1</desc>"));
    assert_non_null(strstr(buf, "url(#masked)"));
    free(buf);
    /* no file name: an error, nothing written */
    ls_tui_command(f.app, "dump");
    assert_true(state(&f).message_is_error);
    unlink(npy);
    unlink(svg);
    rmdir(dir);
    teardown(&f);
}

static void test_help(void **st)
{
    (void)st;
    fx f;
    build(&f);
    keys(&f, "?");
    assert_true(state(&f).help);
    assert_true(screen_has(&f, "step into"));
    ls_tui_feed(f.app, LS_KEY_DOWN);
    assert_true(state(&f).help);
    keys(&f, "q");  /* closes help, does not quit */
    assert_false(state(&f).help);
    /* every described key appears in the help text */
    char *h = ls_tui_help_text();
    assert_non_null(h);
    const char *must[] = {"step into", "step over", "step out", "continue", "step back", "go to",
                          "breakpoint", "restart", "Tab", "head", "batch", "heatmap", "attention",
                          "explain", "undo", ":dump", ":svg", "PgUp", "Home"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        assert_non_null(strstr(h, must[i]));
    free(h);
    teardown(&f);
}

static void test_sizes(void **st)
{
    (void)st;
    fx f;
    build(&f);
    go(&f, "enc.layers.0.attn.scores");
    int sizes[][2] = {{50, 10}, {59, 24}, {80, 15}, {60, 16}, {80, 24}, {200, 50}, {300, 80}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ls_textcanvas tc;
        assert_int_equal(ls_textcanvas_init(&tc, sizes[i][0], sizes[i][1]), LS_OK);
        ls_tui_set_size(f.app, sizes[i][0], sizes[i][1]);
        ls_tui_feed(f.app, LS_KEY_RESIZE);
        for (int mode = 0; mode < 4; mode++) {
            ls_textcanvas_clear(&tc);
            ls_tui_draw(f.app, &tc.c);
            bool small = sizes[i][0] < LS_TUI_MIN_W || sizes[i][1] < LS_TUI_MIN_H;
            assert_int_equal(ls_textcanvas_find(&tc, "terminal too small") >= 0, small);
            if (!small) {
                char row[512];
                assert_non_null(strstr(ls_textcanvas_row(&tc, 0, row, sizeof row), "layerstep"));
                assert_non_null(strstr(ls_textcanvas_row(&tc, sizes[i][1] - 2, row, sizeof row), " at "));
            }
            keys(&f, mode == 0 ? "a" : mode == 1 ? "a?" : "\x1b");
        }
        ls_textcanvas_free(&tc);
    }
    teardown(&f);
}

static void test_keys_file(void **st)
{
    (void)st;
    int *k, n;
    ls_error err = {0};
    assert_int_equal(ls_tui_keys_parse("# a demo\ns s <Down>\n: b r e a k <Space> * <Enter> <C-c> <lt> <hash>\n",
                                       &k, &n, &err),
                     LS_OK);
    assert_int_equal(n, 15);
    assert_int_equal(k[0], 's');
    assert_int_equal(k[2], LS_KEY_DOWN);
    assert_int_equal(k[9], ' ');
    assert_int_equal(k[11], LS_KEY_ENTER);
    assert_int_equal(k[12], 3);
    assert_int_equal(k[13], '<');
    assert_int_equal(k[14], '#');
    free(k);
    assert_int_not_equal(ls_tui_keys_parse("s <Nope>", &k, &n, &err), LS_OK);
    assert_non_null(strstr(err.msg, "<Nope>"));
    /* names round-trip */
    for (int key = 1; key < LS_KEY_MAX; key++) {
        if (key >= 127 && key < LS_KEY_UP)
            continue;
        char name[32];
        ls_tui_key_name(key, name, sizeof name);
        assert_int_equal(ls_tui_key_parse(name), key);
    }
    /* resizes are recorded with their size and replayed to it */
    int w = 0, h = 0;
    assert_int_equal(ls_tui_keys_parse("s <Resize:100x30> s <Resize:80x24>", &k, &n, &err), LS_OK);
    assert_int_equal(n, 4);
    assert_true(ls_tui_key_is_sized(k[1], &w, &h) && w == 100 && h == 30);
    assert_true(ls_tui_key_is_sized(k[3], &w, &h) && w == 80 && h == 24);
    assert_false(ls_tui_key_is_sized('s', &w, &h));
    assert_false(ls_tui_key_is_sized(LS_KEY_RESIZE, &w, &h));
    char nm[32];
    assert_string_equal(ls_tui_key_name(k[1], nm, sizeof nm), "<Resize:100x30>");
    assert_int_equal(ls_tui_key_parse(nm), k[1]);
    free(k);
    static const char *const bad_sizes[] = {"<Resize:0x30>", "<Resize:100x>", "<Resize:5000x30>",
                                            "<Resize:-3x30>", "<Resize:100x30x>", "<Resize:>"};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++)
        assert_int_equal(ls_tui_key_parse(bad_sizes[i]), -1);
    {
        fx f;
        build(&f);
        ls_tui_set_size(f.app, 80, 24);
        assert_true(ls_tui_feed(f.app, ls_tui_key_sized(132, 43)) & LS_TUI_REDRAW);
        ls_tui_state s;
        ls_tui_get_state(f.app, &s);
        assert_int_equal(s.w, 132);
        assert_int_equal(s.h, 43);
        teardown(&f);
    }
    /* a replayed session drives the app like typed keys */
    fx f;
    build(&f);
    assert_int_equal(ls_tui_keys_parse(": b r e a k <Space> * . a t t n . a t t n <Enter> c c", &k, &n, &err), LS_OK);
    for (int i = 0; i < n; i++)
        ls_tui_feed(f.app, k[i]);
    free(k);
    assert_string_equal(at_name(&f), "enc.layers.1.attn.attn");
    teardown(&f);
}

/* Wrapping: lines fit the width in display columns, nothing is lost but
 * blanks at a break, and (kinsoku) no line starts with closing
 * punctuation or ends with an opening bracket. */
static void test_text_wrap(void **st)
{
    (void)st;
    static const char *const texts[] = {
        "拆分多头：先把 [b, len, d_model] view 成 [b, len, heads, d_k]（再 transpose(1, 2)），得到每个头自己的“分数”。",
        "分数=Q K^T/sqrt(d_k)（缩放），softmax（按行），再乘 V（值）。每一行的和为 1，填充列为 0。",
        "Scores = Q K^T / sqrt(d_k): each query against each key, then softmax (rows sum to 1).",
    };
    static const char *const closing[] = {"，", "。", "：", "）", "、", "”", ")", ",", "."};
    static const char *const opening[] = {"（", "“", "「"};
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++)
        for (int width = 12; width <= 60; width++) {  /* narrower cannot always obey the rule */
            int lens[128];
            int n = ls_text_wrap(texts[t], width, lens, 128);
            assert_true(n > 0 && n < 128);
            size_t kept = 0;
            for (int i = 0; i < n; i++) {
                int start = lens[i] >> 16, len = lens[i] & 0xffff;
                char line[512];
                assert_true(len < (int)sizeof line);
                memcpy(line, texts[t] + start, (size_t)len);
                line[len] = '\0';
                kept += (size_t)len;
                assert_true(ls_text_width(line) <= width);
                for (size_t k = 0; k < sizeof closing / sizeof closing[0] && i > 0; k++)
                    if (!strncmp(line, closing[k], strlen(closing[k])))
                        fail_msg("width %d line %d starts with '%s': %s", width, i, closing[k], line);
                for (size_t k = 0; k < sizeof opening / sizeof opening[0] && i + 1 < n; k++) {
                    size_t ol = strlen(opening[k]);
                    if ((size_t)len >= ol && !strcmp(line + len - ol, opening[k]))
                        fail_msg("width %d line %d ends with '%s': %s", width, i, opening[k], line);
                }
            }
            size_t blanks = 0;
            for (const char *c = texts[t]; *c; c++)
                blanks += *c == ' ';
            assert_true(kept + blanks >= strlen(texts[t]));
        }
}

/* The lesson list: keys move and choose, the screen shows labels, marks
 * (CJK too) and the selection. */
static void test_menu(void **st)
{
    (void)st;
    ls_menu *m;
    ls_error err = {0};
    assert_int_equal(ls_menu_new("Lessons", "Enter open  q quit", &m, &err), LS_OK);
    assert_int_equal(ls_menu_add(m, "01  Self-attention", "[done]", &err), LS_OK);
    assert_int_equal(ls_menu_add(m, "02  Masks", "", &err), LS_OK);
    assert_int_equal(ls_menu_add(m, "03  wav2vec2 特征提取", "[第 2/9 步]", &err), LS_OK);
    ls_textcanvas tc;
    assert_int_equal(ls_textcanvas_init(&tc, 80, 24), LS_OK);
    ls_menu_draw(m, &tc.c);
    assert_true(ls_textcanvas_find(&tc, "Lessons") == 0);
    int r1 = ls_textcanvas_find(&tc, "01  Self-attention");
    assert_true(r1 > 0);
    assert_true(ls_textcanvas_find(&tc, "[done]") == r1);
    assert_int_equal(ls_textcanvas_style_at(&tc, r1, 5), LS_STY_SELECT);
    assert_int_equal(ls_menu_feed(m, LS_KEY_DOWN), LS_TUI_REDRAW);
    assert_int_equal(ls_menu_selected(m), 1);
    assert_int_equal(ls_menu_feed(m, 'j'), LS_TUI_REDRAW);
    assert_int_equal(ls_menu_feed(m, 'j'), LS_TUI_REDRAW);  /* stays on the last */
    assert_int_equal(ls_menu_selected(m), 2);
    ls_textcanvas_clear(&tc);
    ls_menu_draw(m, &tc.c);
    int r3 = ls_textcanvas_find(&tc, "03  wav2vec2");
    assert_true(r3 == r1 + 2);
    assert_int_equal(ls_textcanvas_style_at(&tc, r3, 5), LS_STY_SELECT);
    assert_int_equal(ls_textcanvas_style_at(&tc, r1, 5), LS_STY_NORMAL);
    assert_int_equal(ls_menu_feed(m, '2'), LS_TUI_REDRAW);  /* a digit jumps */
    assert_int_equal(ls_menu_selected(m), 1);
    assert_int_equal(ls_menu_feed(m, 'x'), 0u);  /* not a menu key: nothing to redraw */
    assert_int_equal(ls_menu_feed(m, LS_KEY_HOME), LS_TUI_REDRAW);
    assert_int_equal(ls_menu_selected(m), 0);
    assert_int_equal(ls_menu_feed(m, LS_KEY_ENTER), LS_TUI_QUIT);
    assert_int_equal(ls_menu_chosen(m), 0);
    assert_int_equal(ls_menu_feed(m, 'q'), LS_TUI_QUIT);
    assert_int_equal(ls_menu_chosen(m), -1);
    /* too small says so, a long list scrolls to keep the selection shown */
    ls_textcanvas small;
    assert_int_equal(ls_textcanvas_init(&small, 30, 5), LS_OK);
    ls_menu_draw(m, &small.c);
    assert_true(ls_textcanvas_find(&small, "terminal too small") >= 0);
    ls_textcanvas_free(&small);
    for (int i = 4; i <= 40; i++) {
        char label[32];
        snprintf(label, sizeof label, "%02d  lesson %d", i, i);
        assert_int_equal(ls_menu_add(m, label, "", &err), LS_OK);
    }
    assert_int_equal(ls_menu_feed(m, LS_KEY_END), LS_TUI_REDRAW);
    ls_textcanvas_clear(&tc);
    ls_menu_draw(m, &tc.c);
    assert_true(ls_textcanvas_find(&tc, "40  lesson 40") > 0);
    assert_true(ls_textcanvas_find(&tc, "01  Self-attention") < 0);
    ls_textcanvas_free(&tc);
    ls_menu_free(m);
}

/* A real model from tests/data with its inputs, in the TUI (skips the
 * test when the fixtures are not there). */
typedef struct realfx {
    ls_model *m;
    ls_tmap *in;
    ls_graph *g;
    ls_exec *ex;
    ls_tui *app;
} realfx;

static void real_open(realfx *r, const char *fixture)
{
    const char *data = getenv("LS_TEST_DATA");
    if (!data)
        skip();
    char dir[512], in_dir[600];
    snprintf(dir, sizeof dir, "%s/%s", data, fixture);
    snprintf(in_dir, sizeof in_dir, "%s/inputs", dir);
    ls_error err = {0};
    assert_int_equal(ls_model_load(dir, &r->m, &err), LS_OK);
    assert_int_equal(ls_npy_load_dir(in_dir, &r->in, &err), LS_OK);
    assert_int_equal(ls_model_build(r->m, r->in, &(ls_build_opts){0}, &r->g, &err), LS_OK);
    assert_int_equal(ls_exec_new(r->g, &(ls_exec_opts){.threads = 1}, &r->ex, &err), LS_OK);
    assert_int_equal(ls_exec_set_inputs(r->ex, r->in, &err), LS_OK);
    assert_int_equal(ls_tui_new(r->g, r->ex, &(ls_tui_opts){.model = r->m, .inputs = r->in}, &r->app, &err),
                     LS_OK);
}

static void real_close(realfx *r)
{
    ls_tui_free(r->app);
    ls_exec_free(r->ex);
    ls_graph_free(r->g);
    ls_tmap_free(r->in);
    ls_model_free(r->m);
}

/* Audio models label frame axes with when each frame starts: after the
 * Conformer's Subsampling4 a frame is 4 fbank shifts = 40 ms apart, not
 * duration / frames. */
static void test_audio_frame_labels(void **st)
{
    (void)st;
    realfx r;
    real_open(&r, "conformer_small");
    ls_tui *app = r.app;
    const ls_graph *g = r.g;
    ls_tui_command(app, "goto encoders.0.self_attn.scores");
    ls_textcanvas tc;
    assert_int_equal(ls_textcanvas_init(&tc, 120, 40), LS_OK);
    ls_tui_set_size(app, 120, 40);
    ls_tui_draw(app, &tc.c);
    int s = ls_graph_find(g, "encoders.0.self_attn.scores");
    assert_true(s >= 0);
    int64_t frames = ls_graph_node(g, s)->out.shape[3];
    assert_true(frames >= 3);
    assert_true(ls_textcanvas_find(&tc, "1:40ms") >= 0);
    assert_true(ls_textcanvas_find(&tc, "2:80ms") >= 0);
    ls_textcanvas_free(&tc);
    real_close(&r);
}

/* wav2vec2's extractor tensors are [B, C, T]: time is the columns (at that
 * conv's rate), the channels are not times */
static void test_audio_channels_first_labels(void **st)
{
    (void)st;
    realfx r;
    real_open(&r, "wav2vec2_small");
    ls_tui *app = r.app;
    const ls_graph *g = r.g;
    const ls_exec *ex = r.ex;
    /* the last conv block: channels x frames, frames 5*2*2 samples apart */
    int node = ls_graph_find(g, "feature_extractor.conv_layers.2");
    assert_true(node >= 0);
    const ls_tensor *wav = ls_tmap_get(r.in, "waveforms");
    assert_non_null(wav);
    ls_tui_command(app, "goto feature_extractor.conv_layers.2");
    ls_tui_state s;
    ls_tui_get_state(app, &s);
    assert_int_equal(s.selected, node);
    tui_slice sl;
    const ls_tensor *t = ls_exec_out(ex, node);
    assert_non_null(t);
    tui_slice_of(app, t, &sl);
    char buf[64];
    /* rows are channels: no time label */
    assert_null(tui_axis_label(app, node, &sl, 0, 1, buf, sizeof buf));
    assert_non_null(tui_axis_label(app, node, &sl, 1, 2, buf, sizeof buf));
    assert_string_equal(buf, "2:2.5ms");
    /* the encoder's [B, T, C] rows are frames at the same rate */
    node = ls_graph_find(g, "feature_extractor");
    ls_tui_command(app, "goto feature_extractor");
    t = ls_exec_out(ex, node);
    tui_slice_of(app, t, &sl);
    assert_non_null(tui_axis_label(app, node, &sl, 0, 4, buf, sizeof buf));
    assert_string_equal(buf, "4:5.0ms");
    assert_null(tui_axis_label(app, node, &sl, 1, 1, buf, sizeof buf));
    real_close(&r);
}

/* Every key in every state: nothing may crash or leave the app stuck. */
static void test_any_key_any_state(void **st)
{
    (void)st;
    fx f;
    build(&f);
    uint64_t s = 12345;
    static const int pool[] = {'s', 'n', 'o', 'c', 'p', 'g', 'b', 'R', 'j', 'k', 'h', 'l', '[', ']',
                               '{', '}', 'v', 'a', 'e', '=', 'Z', 'u', 'M', ':', '?', 'x', '1',
                               '.', '*', LS_KEY_UP, LS_KEY_DOWN, LS_KEY_LEFT, LS_KEY_RIGHT,
                               LS_KEY_PGUP, LS_KEY_PGDN, LS_KEY_HOME, LS_KEY_END, LS_KEY_TAB,
                               LS_KEY_ENTER, LS_KEY_ESC, LS_KEY_BACKSPACE, LS_KEY_RESIZE, 0, 3,
                               0x7fff, -1};
    int n = (int)(sizeof pool / sizeof pool[0]);
    for (int i = 0; i < 6000; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int key = pool[(s >> 33) % (uint64_t)n];
        if (key == 'q')
            continue;
        ls_tui_feed(f.app, key);
        if (i % 50 == 0)
            render(&f);
    }
    render(&f);
    teardown(&f);
}

/* Computing ahead while waiting for a key (ls_tui_idle) is invisible:
 * an app that runs ahead between keys (sometimes all the way, sometimes
 * a node or two) shows, key for key, the same screen and state as one
 * that never does, through steps, step back, pending points selected in
 * the tree, edits and undo, restarts and module runs.  And it did run
 * ahead: its executor got past what the screen shows. */
static void test_compute_ahead_is_invisible(void **st)
{
    (void)st;
    fx plain, ahead;
    build(&plain);
    build(&ahead);
    int n = ls_graph_n_nodes(ahead.g);
    /* between opening and the first key: everything computed, nothing shown */
    while (ls_tui_idle(ahead.app)) {
    }
    assert_int_equal(ls_exec_cursor(ahead.ex), n);
    assert_int_equal(state(&ahead).cursor, 0);
    render(&plain);
    render(&ahead);
    assert_memory_equal(plain.tc.text, ahead.tc.text, 80 * 24);
    assert_memory_equal(plain.tc.style, ahead.tc.style, 80 * 24);
    uint64_t s = 777;
    static const int pool[] = {'s', 's', 's', 'n', 'o', 'c', 'p', 'p', 'b', 'R', 'j', 'k', 'j',
                               'h', 'l', '[', ']', '{', '}', 'v', 'a', 'e', '=', '5', 'Z', 'u',
                               'M', 'x', '.', LS_KEY_UP, LS_KEY_DOWN, LS_KEY_DOWN, LS_KEY_PGDN,
                               LS_KEY_END, LS_KEY_HOME, LS_KEY_TAB, LS_KEY_ENTER, LS_KEY_ESC};
    int np = (int)(sizeof pool / sizeof pool[0]), got_ahead = 0, edits = 0;
    for (int i = 0; i < 4000; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int key = pool[(s >> 33) % (uint64_t)np];
        ls_tui_feed(plain.app, key);
        int edits_before = state(&ahead).n_edits;
        ls_tui_feed(ahead.app, key);
        /* an edit or undo forgets what was computed ahead rather than
         * recomputing it (it would only delay the edit) */
        if (state(&ahead).n_edits != edits_before)
            assert_int_equal(ls_exec_cursor(ls_tui_exec(ahead.app)), state(&ahead).cursor);
        /* idle time before the next key: none, a node or two, or all */
        int budget = (int)((s >> 20) % 4);
        for (int k = 0; budget == 3 || k < budget; k++)
            if (!ls_tui_idle(ahead.app))
                break;
        ls_tui_state a = state(&plain), b = state(&ahead);
        assert_int_equal(a.at, b.at);
        assert_int_equal(a.selected, b.selected);
        assert_int_equal(a.cursor, b.cursor);
        assert_int_equal(a.n_edits, b.n_edits);
        assert_int_equal(a.in_module_run, b.in_module_run);
        assert_string_equal(a.message, b.message);
        got_ahead += ls_exec_cursor(ls_tui_exec(ahead.app)) > b.cursor;
        edits += b.n_edits > 0;
        if (i % 7 == 0 || key == 'u' || key == LS_KEY_ENTER) {
            render(&plain);
            render(&ahead);
            if (memcmp(plain.tc.text, ahead.tc.text, 80 * 24) ||
                memcmp(plain.tc.style, ahead.tc.style, 80 * 24)) {
                for (int y = 0; y < 24; y++) {
                    char r1[96], r2[96];
                    ls_textcanvas_row(&plain.tc, y, r1, sizeof r1);
                    ls_textcanvas_row(&ahead.tc, y, r2, sizeof r2);
                    bool sty = memcmp(plain.tc.style + y * 80, ahead.tc.style + y * 80, 80);
                    if (strcmp(r1, r2) || sty)
                        print_error("row %d%s:\n  %s\n  %s\n", y, sty ? " (styles)" : "", r1, r2);
                }
                fail_msg("key %d: screens differ", i);
            }
        }
    }
    assert_true(got_ahead > 100);
    assert_true(edits > 100);
    teardown(&plain);
    teardown(&ahead);
}

/* With the reference loops nothing is computed ahead: one plain-loop
 * node can take seconds, and a key would wait for it. */
static void test_no_ahead_in_reference_mode(void **st)
{
    (void)st;
    fx f;
    build(&f);
    ls_tui *ref;
    ls_error err = {0};
    /* a second app on the same run, told the run uses the reference loops */
    assert_int_equal(ls_tui_new(f.g, f.ex, &(ls_tui_opts){.exec = {.threads = 1, .reference = true}},
                                &ref, &err), LS_OK);
    assert_false(ls_tui_idle(ref));
    assert_int_equal(ls_exec_cursor(f.ex), 0);
    assert_true(ls_tui_idle(f.app));
    assert_int_equal(ls_exec_cursor(f.ex), 1);
    ls_tui_free(ref);
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_screen),
        cmocka_unit_test(test_step_into),
        cmocka_unit_test(test_step_over_and_out),
        cmocka_unit_test(test_continue_and_breakpoints),
        cmocka_unit_test(test_break_toggle_key),
        cmocka_unit_test(test_step_back_same_numbers),
        cmocka_unit_test(test_goto_completion),
        cmocka_unit_test(test_restart_and_quit),
        cmocka_unit_test(test_moving_keys),
        cmocka_unit_test(test_head_batch_view),
        cmocka_unit_test(test_masked_cells),
        cmocka_unit_test(test_attention_view),
        cmocka_unit_test(test_fully_masked_rows),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_edit_and_undo),
        cmocka_unit_test(test_nan_inf_counts_at_80x24),
        cmocka_unit_test(test_zero_head),
        cmocka_unit_test(test_module_run),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_module_run_files),
        cmocka_unit_test(test_dump_and_svg),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_keys_file),
        cmocka_unit_test(test_text_wrap),
        cmocka_unit_test(test_menu),
        cmocka_unit_test(test_audio_frame_labels),
        cmocka_unit_test(test_audio_channels_first_labels),
        cmocka_unit_test(test_any_key_any_state),
        cmocka_unit_test(test_compute_ahead_is_invisible),
        cmocka_unit_test(test_no_ahead_in_reference_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
