/* The executor on a small hand-built graph: step node by node, pause on a
 * glob, edit a tensor and rerun downstream, and check every value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/exec.h"
#include "layerstep/kernels.h"
#include "layerstep/model.h"
#include "layerstep/npy.h"

/* x[2,3] -> fc (Linear 3->4, weight from a map, no bias) -> relu "act"
 *   -> head: view [2,2,2] -> transpose(1,2) "split" -> *2 "scaled"
 *   -> softmax "probs" */
typedef struct fixture {
    ls_tmap *w;
    ls_graph *g;
    ls_exec *ex;
    float x[6];
    float wv[12];
} fixture;

static const float W[12] = {1, 0, -1, 0.5f, 0.5f, 0.5f, -1, 2, 0, 0, 0, 1};
static const float X[6] = {1, 2, 3, -1, 0, 4};

static void build(fixture *f)
{
    memcpy(f->wv, W, sizeof W);
    memcpy(f->x, X, sizeof X);
    f->w = ls_tmap_new("test.safetensors");
    ls_tensor wt = ls_tensor_make(LS_F32, 2, (int64_t[]){4, 3}, f->wv);
    assert_int_equal(ls_tmap_put_ref(f->w, "fc.weight", &wt, NULL), LS_OK);
    ls_graph *g = ls_graph_new("Toy", f->w);
    int x = ls_graph_input(g, "x", LS_F32, 2, (int64_t[]){2, 3});
    ls_graph_begin(g, "Linear", "in_features=3, out_features=4, bias=False", "fc");
    int y = ls_g_linear(g, x, ls_graph_weight(g, "weight", 2, (int64_t[]){4, 3}), -1, NULL);
    ls_graph_end(g, y);
    int a = ls_g_op1(g, LS_OP_RELU, y, "act");
    ls_graph_begin(g, "Head", "", "head");
    int v = ls_g_reshape(g, a, 3, (int64_t[]){2, 2, 2}, NULL);
    int s = ls_g_transpose(g, v, 1, 2, "split");
    int sc = ls_g_scalar(g, LS_OP_SCALE, s, 2.0f, "scaled");
    int p = ls_g_op1(g, LS_OP_SOFTMAX, sc, "probs");
    ls_graph_end(g, p);
    assert_true(ls_graph_ok(g));
    f->g = g;
    ls_error err = {0};
    assert_int_equal(ls_exec_new(g, NULL, &f->ex, &err), LS_OK);
    ls_tensor xt = ls_tensor_make(LS_F32, 2, (int64_t[]){2, 3}, f->x);
    assert_int_equal(ls_exec_set_input(f->ex, "x", &xt, &err), LS_OK);
}

static void teardown(fixture *f)
{
    ls_exec_free(f->ex);
    ls_graph_free(f->g);
    ls_tmap_free(f->w);
}

/* The expected values, computed here with plain loops from x and w. */
static void expect_all(fixture *f, const float *x, const float *w)
{
    float act[8], probs[8];
    for (int b = 0; b < 2; b++)
        for (int o = 0; o < 4; o++) {
            float s = 0;
            for (int k = 0; k < 3; k++)
                s += x[b * 3 + k] * w[o * 3 + k];
            act[b * 4 + o] = s > 0 ? s : 0;
        }
    /* split[b,i,j] = act[b, j*2+i]; softmax over j of 2*split */
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 2; i++) {
            float z0 = 2 * act[b * 4 + 0 * 2 + i], z1 = 2 * act[b * 4 + 1 * 2 + i];
            float m = z0 > z1 ? z0 : z1;
            float e0 = expf(z0 - m), e1 = expf(z1 - m);
            probs[(b * 2 + i) * 2 + 0] = e0 / (e0 + e1);
            probs[(b * 2 + i) * 2 + 1] = e1 / (e0 + e1);
        }
    const ls_tensor *t = ls_exec_out(f->ex, ls_graph_find(f->g, "act"));
    assert_non_null(t);
    for (int i = 0; i < 8; i++)
        assert_float_equal(ls_tensor_get_flat(t, i), act[i], 1e-6);
    t = ls_exec_out(f->ex, ls_graph_find(f->g, "head.split"));
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                assert_float_equal(ls_tensor_get(t, (int64_t[]){b, i, j}), act[b * 4 + j * 2 + i],
                                   1e-6);
    t = ls_exec_out(f->ex, ls_graph_find(f->g, "head"));
    for (int i = 0; i < 8; i++)
        assert_float_equal(ls_tensor_get_flat(t, i), probs[i], 1e-6);
}

static void test_names_and_modules(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    /* the fc linear became the module output "fc"; probs aliased as "head" */
    int fc = ls_graph_find(f.g, "fc");
    assert_true(fc >= 0);
    assert_int_equal(ls_graph_node(f.g, fc)->op, LS_OP_LINEAR);
    assert_string_equal(ls_graph_node(f.g, fc)->path, "fc");
    assert_string_equal(ls_graph_node(f.g, fc)->point, "");
    int hp = ls_graph_find(f.g, "head.probs");
    int h = ls_graph_find(f.g, "head");
    assert_true(hp >= 0 && h > hp);
    assert_int_equal(ls_graph_node(f.g, h)->op, LS_OP_ALIAS);
    assert_true(ls_graph_find(f.g, "fc.weight") >= 0);
    assert_true(ls_graph_node(f.g, ls_graph_find(f.g, "fc.weight"))->flags & LS_NODE_PARAM);
    int m = ls_graph_find_module(f.g, "head");
    assert_true(m > 0);
    assert_string_equal(ls_graph_module(f.g, m)->klass, "Head");
    assert_int_equal(ls_graph_module(f.g, m)->out_node, h);
    assert_int_equal(ls_graph_module(f.g, m)->depth, 1);
    assert_int_equal(ls_graph_shape(f.g, ls_graph_find(f.g, "head.split"))->shape[1], 2);
    teardown(&f);
}

static int pause_on_glob(void *ud, const ls_exec *ex, int node, const ls_tensor *out)
{
    (void)out;
    const char *glob = ud;
    return ls_glob_match(glob, ls_graph_node(ls_exec_graph(ex), node)->name) ? LS_HOOK_PAUSE
                                                                               : LS_HOOK_CONTINUE;
}

static void test_step_pause_edit_rerun(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    ls_error err = {0};
    /* step node by node: each step computes exactly the cursor node */
    int n = ls_graph_n_nodes(f.g);
    int act = ls_graph_find(f.g, "act");
    while (ls_exec_cursor(f.ex) <= act) {
        int c = ls_exec_cursor(f.ex);
        assert_false(ls_exec_computed(f.ex, c) && ls_op_kind_of(ls_graph_node(f.g, c)->op) != LS_KIND_LEAF);
        assert_int_equal(ls_exec_step(f.ex, &err), LS_OK);
        assert_true(ls_exec_computed(f.ex, c));
        assert_int_equal(ls_exec_cursor(f.ex), c + 1);
    }
    assert_null(ls_exec_out(f.ex, ls_graph_find(f.g, "head.scaled")));
    /* continue: the hook pauses right after "head.scaled" */
    ls_exec_add_hook(f.ex, (ls_hook){pause_on_glob, "*.sc?led"});
    assert_int_equal(ls_exec_run(f.ex, &err), LS_OK);
    assert_true(ls_exec_paused(f.ex));
    assert_int_equal(ls_exec_cursor(f.ex), ls_graph_find(f.g, "head.scaled") + 1);
    assert_null(ls_exec_out(f.ex, ls_graph_find(f.g, "head.probs")));
    assert_int_equal(ls_exec_run(f.ex, &err), LS_OK);
    assert_true(ls_exec_done(f.ex));
    assert_int_equal(ls_exec_cursor(f.ex), n);
    expect_all(&f, X, W);

    /* edit an input cell, rerun downstream */
    int xi = ls_graph_find(f.g, "x");
    ls_tensor *xt = ls_exec_edit(f.ex, xi, &err);
    assert_non_null(xt);
    ls_tensor_set(xt, (int64_t[]){1, 0}, 5.0);
    assert_int_equal(ls_exec_rerun(f.ex, xi, &err), LS_OK);
    float x2[6];
    memcpy(x2, X, sizeof X);
    x2[3] = 5;
    expect_all(&f, x2, W);

    /* edit a weight: copied on edit, the map's tensor is unchanged */
    int wi = ls_graph_find(f.g, "fc.weight");
    ls_tensor *wt = ls_exec_edit(f.ex, wi, &err);
    assert_non_null(wt);
    assert_ptr_not_equal(wt->data, f.wv);
    ls_tensor_set(wt, (int64_t[]){2, 1}, -3.0);
    assert_int_equal(ls_exec_rerun(f.ex, wi, &err), LS_OK);
    float w2[12];
    memcpy(w2, W, sizeof W);
    w2[7] = -3;
    expect_all(&f, x2, w2);
    assert_true(f.wv[7] == 2.0f);

    /* edit a cell of a view: its storage ("act") is pinned, and rerun from
     * the view's storage updates everything downstream */
    int split = ls_graph_find(f.g, "head.split");
    ls_tensor *st = ls_exec_edit(f.ex, split, &err);
    assert_non_null(st);
    assert_true(ls_exec_is_pinned(f.ex, act));
    ls_tensor_set(st, (int64_t[]){0, 1, 0}, 0.25); /* = act[0, 1] */
    assert_int_equal(ls_exec_rerun(f.ex, split, &err), LS_OK);
    const ls_tensor *at = ls_exec_out(f.ex, act);
    assert_float_equal(ls_tensor_get(at, (int64_t[]){0, 1}), 0.25, 1e-7);
    const ls_tensor *pr = ls_exec_out(f.ex, ls_graph_find(f.g, "head.probs"));
    float z0 = 2 * 0.25f, z1 = 2 * (float)ls_tensor_get(at, (int64_t[]){0, 3});
    assert_float_equal(ls_tensor_get(pr, (int64_t[]){0, 1, 0}), 1 / (1 + expf(z1 - z0)), 1e-6);
    /* a pinned node is not recomputed by a rerun from upstream */
    assert_int_equal(ls_exec_rerun(f.ex, xi, &err), LS_OK);
    assert_float_equal(ls_tensor_get(at, (int64_t[]){0, 1}), 0.25, 1e-7);
    ls_exec_unpin(f.ex, act);
    assert_int_equal(ls_exec_rerun(f.ex, xi, &err), LS_OK);
    expect_all(&f, x2, w2);
    teardown(&f);
}

static bool stop_at(void *ud, const ls_exec *ex, int node)
{
    (void)ex;
    return node == *(int *)ud;
}

static void test_run_until_and_reset(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    ls_error err = {0};
    int target = ls_graph_find(f.g, "act");
    assert_int_equal(ls_exec_run_until(f.ex, stop_at, &target, &err), LS_OK);
    assert_int_equal(ls_exec_cursor(f.ex), target + 1);
    assert_false(ls_exec_paused(f.ex));
    ls_exec_reset(f.ex);
    assert_int_equal(ls_exec_cursor(f.ex), 0);
    assert_null(ls_exec_out(f.ex, target));
    assert_non_null(ls_exec_out(f.ex, ls_graph_find(f.g, "x"))); /* inputs stay */
    assert_int_equal(ls_exec_run(f.ex, &err), LS_OK);
    expect_all(&f, X, W);
    teardown(&f);
}

static void test_build_errors_are_sticky(void **state)
{
    (void)state;
    ls_tmap *w = ls_tmap_new("w.safetensors");
    ls_graph *g = ls_graph_new("Bad", w);
    int x = ls_graph_input(g, "x", LS_F32, 2, (int64_t[]){2, 3});
    int y = ls_graph_input(g, "y", LS_F32, 2, (int64_t[]){4, 5});
    ls_graph_begin(g, "M", "", "attn");
    int bad = ls_g_op2(g, LS_OP_MATMUL, x, y, "scores");
    assert_int_equal(bad, -1);
    assert_false(ls_graph_ok(g));
    assert_non_null(strstr(ls_graph_error(g)->msg, "attn.scores"));
    /* later calls do nothing */
    assert_int_equal(ls_g_op1(g, LS_OP_RELU, x, "r"), -1);
    ls_graph_free(g);

    g = ls_graph_new("Bad", w);
    ls_graph_begin(g, "Linear", "", "fc");
    assert_int_equal(ls_graph_weight(g, "weight", 2, (int64_t[]){4, 3}), -1);
    assert_string_equal(ls_graph_error(g)->msg, "w.safetensors: missing tensor 'fc.weight'");
    ls_exec *ex;
    ls_error err = {0};
    assert_int_equal(ls_exec_new(g, NULL, &ex, &err), LS_ERR_MISSING);
    ls_graph_free(g);
    ls_tmap_free(w);
}

static void test_repeated_module_calls(void **state)
{
    (void)state;
    ls_graph *g = ls_graph_new("M", NULL);
    int x = ls_graph_input(g, "x", LS_F32, 1, (int64_t[]){3});
    for (int k = 0; k < 3; k++) {
        ls_graph_begin(g, "Dropout", "p=0.1", "dropout");
        x = ls_graph_end(g, ls_graph_alias(g, x, NULL));
    }
    assert_true(ls_graph_ok(g));
    assert_true(ls_graph_find(g, "dropout") >= 0);
    assert_true(ls_graph_find(g, "dropout.call1") >= 0);
    assert_true(ls_graph_find(g, "dropout.call2") >= 0);
    assert_int_equal(ls_graph_n_modules(g), 2); /* root + one dropout */
    ls_graph_free(g);
}

static void test_glob(void **state)
{
    (void)state;
    assert_true(ls_glob_match("encoders.*.self_attn.scores", "encoders.11.self_attn.scores"));
    assert_true(ls_glob_match("*", ""));
    assert_true(ls_glob_match("a*b*c", "aXXbYYc"));
    assert_false(ls_glob_match("a*b*c", "aXXbYY"));
    assert_true(ls_glob_match("enc?", "enc1"));
    assert_false(ls_glob_match("enc?", "enc12"));
    assert_false(ls_glob_match("scores", "encoders.0.scores"));
}

/* A fixture of tests/data (or $LS_TEST_DATA): its model, its inputs and
 * the graph built from them. */
static void load_fixture(const char *name, ls_model **m, ls_tmap **in, ls_graph **g)
{
    const char *data = getenv("LS_TEST_DATA");
    char dir[512], in_dir[600];
    snprintf(dir, sizeof dir, "%s/%s", data ? data : "tests/data", name);
    snprintf(in_dir, sizeof in_dir, "%s/inputs", dir);
    ls_error err = {0};
    if (ls_model_load(dir, m, &err) || ls_npy_load_dir(in_dir, in, &err) ||
        ls_model_build(*m, *in, NULL, g, &err))
        fail_msg("%s", err.msg);
}

/* `run --only GLOB` (issue 9): reuse_buffers with keep.  On the real
 * transformer_small fixture: the planned bytes are what the executor
 * allocates, keeping only "*.attn" plans far less than keeping all, the
 * kept points and the results survive the run with the full run's
 * values, and the others are gone (their buffers were reused). */
static void test_reuse_keep_plan(void **state)
{
    (void)state;
    ls_error err = {0};
    ls_model *m;
    ls_tmap *in;
    ls_graph *g;
    load_fixture("transformer_small", &m, &in, &g);
    const ls_exec_opts opts[4] = {{.threads = 1},
                                  {.threads = 1, .reuse_buffers = true},
                                  {.threads = 1, .reuse_buffers = true, .keep = "*.attn"},
                                  {.threads = 1, .reuse_buffers = true, .keep = "*"}};
    ls_exec *ex[4];
    size_t plan[4];
    for (int k = 0; k < 4; k++) {
        plan[k] = ls_exec_plan_bytes(g, &opts[k]);
        if (ls_exec_new(g, &opts[k], &ex[k], &err) || ls_exec_set_inputs(ex[k], in, &err) ||
            ls_exec_run(ex[k], &err))
            fail_msg("%s", err.msg);
        assert_int_equal(plan[k], ls_exec_bytes(ex[k]));
    }
    assert_true(plan[1] <= plan[2] && plan[2] < plan[0] / 2);
    assert_true(plan[3] <= plan[0]);
    int kept = 0, gone = 0;
    for (int i = 0; i < ls_graph_n_nodes(g); i++) {
        const ls_node *nd = ls_graph_node(g, i);
        const ls_tensor *full = ls_exec_out(ex[0], i), *only = ls_exec_out(ex[2], i);
        bool attn = nd->name && ls_glob_match("*.attn", nd->name);
        if (attn || !strcmp(nd->name ? nd->name : "", "loss")) {
            assert_non_null(only);
            assert_memory_equal(full->data, only->data, ls_tensor_nbytes(full));
            kept++;
        }
        /* keep = "*": every output, as the kept layout */
        assert_true(!ls_exec_out(ex[3], i) == !full);
        gone += full && !only;
    }
    assert_true(kept >= 5);
    assert_true(gone > 20);
    for (int k = 0; k < 4; k++)
        ls_exec_free(ex[k]);
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
}

/* Executors of one model sharing a pack cache (ls_exec_opts.packs): the
 * weights are packed once, not once per executor, and every executor
 * computes what one with its own cache does. */
static void test_shared_packs(void **state)
{
    (void)state;
    ls_error err = {0};
    ls_model *m;
    ls_tmap *in;
    ls_graph *g;
    load_fixture("transformer_small", &m, &in, &g);
    ls_pack_cache *shared = ls_pack_cache_new();
    assert_non_null(shared);
    const ls_exec_opts opts[3] = {{.threads = 1},
                                  {.threads = 1, .packs = shared},
                                  {.threads = 2, .reuse_buffers = true, .packs = shared}};
    ls_exec *ex[3];
    size_t after[3];
    for (int k = 0; k < 3; k++) {
        if (ls_exec_new(g, &opts[k], &ex[k], &err) || ls_exec_set_inputs(ex[k], in, &err) ||
            ls_exec_run(ex[k], &err))
            fail_msg("%s", err.msg);
        after[k] = ls_pack_cache_bytes(shared);
    }
    assert_int_equal(after[0], 0);      /* the first executor kept its own */
    assert_true(after[1] > 0);          /* the second packed into the shared one */
    assert_int_equal(after[2], after[1]); /* the third found them there */
    int checked = 0;
    for (int i = 0; i < ls_graph_n_nodes(g); i++) {
        const ls_tensor *a = ls_exec_out(ex[0], i), *b = ls_exec_out(ex[1], i);
        const ls_tensor *c = ls_exec_out(ex[2], i);
        assert_true(!a == !b);
        if (a && a->dtype == LS_F32) {
            assert_memory_equal(a->data, b->data, ls_tensor_nbytes(a));
            if (c) { /* the results: same weights, another thread count */
                for (int64_t j = 0; j < ls_tensor_numel(a); j++)
                    assert_float_equal(ls_tensor_get_flat(c, j), ls_tensor_get_flat(a, j), 1e-5);
                checked++;
            }
        }
    }
    assert_true(checked > 0);
    for (int k = 0; k < 3; k++)
        ls_exec_free(ex[k]);
    ls_pack_cache_free(shared); /* after the executors that borrowed it */
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
}

/* ls_exec_prepack packs what a whole run would (the cache does not grow
 * during the run), computes nothing, and the run after it gives the same
 * bits as a run without it. */
static void test_prepack(void **state)
{
    (void)state;
    ls_error err = {0};
    ls_model *m;
    ls_tmap *in;
    ls_graph *g;
    load_fixture("conformer_small", &m, &in, &g);
    ls_pack_cache *pre = ls_pack_cache_new(), *lazy = ls_pack_cache_new();
    assert_non_null(pre);
    assert_non_null(lazy);
    ls_exec *a, *b;
    if (ls_exec_new(g, &(ls_exec_opts){.threads = 2, .packs = pre}, &a, &err) ||
        ls_exec_new(g, &(ls_exec_opts){.threads = 2, .packs = lazy}, &b, &err) ||
        ls_exec_set_inputs(a, in, &err) || ls_exec_set_inputs(b, in, &err))
        fail_msg("%s", err.msg);
    ls_exec_prepack(a);
    size_t packed = ls_pack_cache_bytes(pre);
    assert_true(packed > 0);
    assert_int_equal(ls_exec_cursor(a), 0);
    for (int i = 0; i < ls_graph_n_nodes(g); i++)
        if (ls_op_kind_of(ls_graph_node(g, i)->op) == LS_KIND_COMPUTE)
            assert_false(ls_exec_computed(a, i));
    if (ls_exec_run(a, &err) || ls_exec_run(b, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(ls_pack_cache_bytes(pre), packed);
    assert_int_equal(ls_pack_cache_bytes(lazy), packed);
    for (int i = 0; i < ls_graph_n_nodes(g); i++) {
        const ls_tensor *x = ls_exec_out(a, i), *y = ls_exec_out(b, i);
        assert_true(!x == !y);
        if (x && ls_tensor_is_contiguous(x) && ls_tensor_is_contiguous(y))
            assert_memory_equal(x->data, y->data, ls_tensor_nbytes(x));
    }
    ls_exec_free(a);
    ls_exec_free(b);
    ls_pack_cache_free(pre);
    ls_pack_cache_free(lazy);
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
}

/* ls_exec_rewind (the TUI forgets what it computed ahead before an
 * edit): outputs from the new cursor on are forgotten, leaves and pinned
 * outputs stay, running again gives the same bits, and a rewind past the
 * cursor does nothing.  A reuse_buffers run refuses: its early buffers
 * already hold later nodes' data. */
static void test_rewind(void **state)
{
    (void)state;
    ls_error err = {0};
    ls_model *m;
    ls_tmap *in;
    ls_graph *g;
    load_fixture("transformer_small", &m, &in, &g);
    int n = ls_graph_n_nodes(g);
    ls_exec *a, *b, *r;
    if (ls_exec_new(g, &(ls_exec_opts){.threads = 1}, &a, &err) ||
        ls_exec_new(g, &(ls_exec_opts){.threads = 1}, &b, &err) ||
        ls_exec_new(g, &(ls_exec_opts){.threads = 1, .reuse_buffers = true}, &r, &err) ||
        ls_exec_set_inputs(a, in, &err) || ls_exec_set_inputs(b, in, &err) ||
        ls_exec_set_inputs(r, in, &err) || ls_exec_run(b, &err) || ls_exec_run(r, &err))
        fail_msg("%s", err.msg);
    int mid = n / 2;
    /* an output before mid, pinned by an edit, and one after it */
    int pinned = -1;
    for (int i = mid + 1; i < n && pinned < 0; i++)
        if (ls_op_kind_of(ls_graph_node(g, i)->op) == LS_KIND_COMPUTE)
            pinned = i;
    assert_true(pinned > mid);
    if (ls_exec_run(a, &err))
        fail_msg("%s", err.msg);
    assert_non_null(ls_exec_edit(a, pinned, &err));
    assert_int_equal(ls_exec_rewind(a, n + 5, &err), LS_OK); /* past the cursor: nothing */
    assert_int_equal(ls_exec_cursor(a), n);
    assert_int_equal(ls_exec_rewind(a, mid, &err), LS_OK);
    assert_int_equal(ls_exec_cursor(a), mid);
    int forgotten = 0;
    for (int i = 0; i < n; i++) {
        bool leaf = ls_op_kind_of(ls_graph_node(g, i)->op) == LS_KIND_LEAF;
        if (i < mid || leaf || i == pinned)
            assert_true(ls_exec_computed(a, i));
        else {
            assert_false(ls_exec_computed(a, i));
            forgotten++;
        }
    }
    assert_true(forgotten > 10);
    ls_exec_unpin(a, pinned);
    if (ls_exec_run(a, &err))
        fail_msg("%s", err.msg);
    for (int i = 0; i < n; i++) {
        const ls_tensor *x = ls_exec_out(a, i), *y = ls_exec_out(b, i);
        assert_true(!x == !y);
        if (x && ls_tensor_is_contiguous(x) && ls_tensor_is_contiguous(y))
            assert_memory_equal(x->data, y->data, ls_tensor_nbytes(x));
    }
    assert_int_equal(ls_exec_rewind(r, mid, &err), LS_ERR_ARG);
    assert_non_null(strstr(err.msg, "reuse_buffers"));
    assert_int_equal(ls_exec_cursor(r), n);
    ls_exec_free(a);
    ls_exec_free(b);
    ls_exec_free(r);
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_modules),
        cmocka_unit_test(test_step_pause_edit_rerun),
        cmocka_unit_test(test_run_until_and_reset),
        cmocka_unit_test(test_build_errors_are_sticky),
        cmocka_unit_test(test_repeated_module_calls),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_reuse_keep_plan),
        cmocka_unit_test(test_shared_packs),
        cmocka_unit_test(test_prepack),
        cmocka_unit_test(test_rewind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
