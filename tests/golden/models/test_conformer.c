/* conformer against WeNet's ConformerEncoder: the conformer_small fixture
 * (padded second utterance included) with the fast and the reference
 * kernels; the module tree printed like str(model) equals the fixture's
 * module_tree.txt; the bundled article config builds on random weights
 * and gives [1,90,512] after subsampling 363 frames; the other input
 * layers and switches build and run; config and input errors say what
 * is wrong. */
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

#include "golden.h"
#include "layerstep/config.h"
#include "layerstep/npy.h"
#include "layerstep/safetensors.h"

/* acts/ files in conformer_small: every one must have a point */
#define N_ACTS 119

static void check_small(bool reference)
{
    char dir[4096], path[4200];
    ls_error err = {0};
    ls_tensor lens, xs;
    ls_arena *a = ls_arena_new(1 << 16);
    /* the fixture's second utterance is padded: padding leaks into its
     * valid frames in the reference, and must here too */
    snprintf(path, sizeof path, "%s/inputs/xs_lens.npy",
             ls_golden_path("conformer_small", dir, sizeof dir));
    assert_int_equal(ls_npy_load(path, a, &lens, &err), LS_OK);
    snprintf(path, sizeof path, "%s/inputs/xs.npy", dir);
    assert_int_equal(ls_npy_load(path, a, &xs, &err), LS_OK);
    assert_int_equal(lens.shape[0], 2);
    assert_true(ls_tensor_get_flat(&lens, 1) < (double)xs.shape[1]);
    ls_arena_free(a);
    ls_golden_opts o = {.atol = 1e-5, .rtol = 1e-4, .reference = reference,
                        .min_compared = N_ACTS};
    assert_int_equal(ls_golden_check(ls_golden_path("conformer_small", dir, sizeof dir), &o), 0);
}

static void test_small_fast(void **state)
{
    (void)state;
    check_small(false);
}

static void test_small_reference(void **state)
{
    (void)state;
    check_small(true);
}

/* ---- helpers ---- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

typedef struct buf {
    char *s;
    size_t n, cap;
} buf;

static void put(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    assert_true(k >= 0 && (size_t)k < sizeof tmp);
    if (b->n + (size_t)k + 1 > b->cap) {
        b->cap = (b->n + (size_t)k + 1) * 2;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
    memcpy(b->s + b->n, tmp, (size_t)k + 1);
    b->n += (size_t)k;
}

/* str(model) as PyTorch 1.13 prints it, from the graph's modules. */
static void print_module(const ls_graph *g, int i, int indent, buf *b)
{
    const ls_module *m = ls_graph_module(g, i);
    bool leaf = true;
    for (int j = i + 1; j < ls_graph_n_modules(g); j++)
        if (ls_graph_module(g, j)->parent == i)
            leaf = false;
    if (leaf) {
        put(b, "%s(%s)\n", m->klass, m->extra);
        return;
    }
    put(b, "%s(%s\n", m->klass, m->extra);
    for (int j = i + 1; j < ls_graph_n_modules(g); j++) {
        const ls_module *c = ls_graph_module(g, j);
        if (c->parent != i)
            continue;
        put(b, "%*s(%s): ", indent + 2, "", c->name);
        print_module(g, j, indent + 2, b);
    }
    put(b, "%*s)\n", indent, "");
}

static ls_model *load(const char *dir)
{
    ls_error err = {0};
    ls_model *m = NULL;
    if (ls_model_load(dir, &m, &err))
        fail_msg("%s", err.msg);
    return m;
}

static ls_graph *build_example(const ls_model *m, ls_tmap **inputs)
{
    ls_error err = {0};
    *inputs = ls_tmap_new("example inputs");
    assert_int_equal(ls_model_arch(m)->example_inputs(m, *inputs, &err), LS_OK);
    ls_graph *g = NULL;
    if (ls_model_build(m, *inputs, NULL, &g, &err))
        fail_msg("%s", err.msg);
    return g;
}

static void assert_shape(const ls_graph *g, const char *name, int ndim, const int64_t *shape)
{
    int i = ls_graph_find(g, name);
    if (i < 0)
        fail_msg("no point '%s'", name);
    const ls_tensor *t = ls_graph_shape(g, i);
    assert_int_equal(t->ndim, ndim);
    for (int d = 0; d < ndim; d++)
        assert_int_equal(t->shape[d], shape[d]);
}

static void test_module_tree(void **state)
{
    (void)state;
    char dir[4096], path[4200];
    ls_golden_path("conformer_small", dir, sizeof dir);
    ls_model *m = load(dir);
    ls_error err = {0};
    ls_tmap *inputs = NULL;
    snprintf(path, sizeof path, "%s/inputs", dir);
    assert_int_equal(ls_npy_load_dir(path, &inputs, &err), LS_OK);
    ls_graph *g = NULL;
    assert_int_equal(ls_model_build(m, inputs, NULL, &g, &err), LS_OK);
    buf b = {0};
    print_module(g, 0, 0, &b);
    snprintf(path, sizeof path, "%s/module_tree.txt", dir);
    char *want = slurp(path);
    size_t n = strlen(want);
    while (n && want[n - 1] == '\n')
        want[--n] = '\0';
    while (b.n && b.s[b.n - 1] == '\n')
        b.s[--b.n] = '\0';
    if (strcmp(b.s, want) != 0)
        fail_msg("module tree differs:\n%s\n--- expected ---\n%s", b.s, want);
    free(want);
    free(b.s);
    ls_graph_free(g);
    ls_tmap_free(inputs);
    ls_model_free(m);
}

/* ---- the article's size, random weights ---- */

static void test_article(void **state)
{
    (void)state;
    char dir[4096];
    const char *root = getenv("LS_SOURCE_ROOT");
    snprintf(dir, sizeof dir, "%s/data/conformer_article", root ? root : ".");
    ls_model *m = load(dir);
    assert_string_equal(ls_model_weights_note(m), "random weights, seed 1");
    ls_tmap *inputs;
    ls_graph *g = build_example(m, &inputs);
    assert_shape(g, "xs", 3, (int64_t[]){1, 363, 80});
    assert_shape(g, "embed", 3, (int64_t[]){1, 90, 512});
    assert_shape(g, "embed.1", 3, (int64_t[]){1, 90, 512});
    assert_shape(g, "encoders.11.self_attn.scores", 4, (int64_t[]){1, 8, 90, 90});
    assert_shape(g, "output", 3, (int64_t[]){1, 90, 512});
    /* random weights keep 12 layers sane: finite, unit-scale output */
    ls_error err = {0};
    ls_exec *ex = NULL;
    assert_int_equal(ls_exec_new(g, NULL, &ex, &err), LS_OK);
    assert_int_equal(ls_exec_set_inputs(ex, inputs, &err), LS_OK);
    if (ls_exec_run(ex, &err))
        fail_msg("%s", err.msg);
    ls_stats st;
    ls_tensor_stats(ls_exec_out(ex, ls_graph_find(g, "output")), &st);
    assert_int_equal(st.nan + st.inf, 0);
    assert_true(st.std > 0.1 && st.std < 10.0);
    ls_tensor_stats(ls_exec_out(ex, ls_graph_find(g, "encoders.11.self_attn.attn")), &st);
    assert_int_equal(st.nan + st.inf, 0);
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(inputs);
    ls_model_free(m);
}

/* ---- variants on random weights: build and run, shapes from the config ---- */

typedef struct tmpdir {
    char path[256];
} tmpdir;

static void write_config(tmpdir *d, const char *encoder_conf)
{
    snprintf(d->path, sizeof d->path, "/tmp/ls_conformer_XXXXXX");
    assert_non_null(mkdtemp(d->path));
    char p[512];
    snprintf(p, sizeof p, "%s/config.json", d->path);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "{\"arch\": \"conformer\", \"random_weights_seed\": 3, \"encoder_conf\": {%s}}\n",
            encoder_conf);
    fclose(f);
}

static void remove_dir(tmpdir *d)
{
    char p[512];
    snprintf(p, sizeof p, "%s/config.json", d->path);
    unlink(p);
    rmdir(d->path);
}

/* The example utterance twice, the second cut short and zero-padded:
 * xs [2,T,F], xs_lens {T, T-17}. */
static ls_tmap *padded_pair(const ls_tmap *example)
{
    const ls_tensor *x = ls_tmap_get(example, "xs");
    assert_non_null(x);
    const int64_t T = x->shape[1], F = x->shape[2];
    ls_tmap *in = ls_tmap_new("padded pair");
    ls_error err = {0};
    ls_tensor xs;
    assert_int_equal(ls_tensor_alloc(ls_tmap_arena(in), LS_F32, 3, (int64_t[]){2, T, F}, &xs,
                                     &err),
                     LS_OK);
    float *d = xs.data;
    const float *s = x->data;
    memcpy(d, s, (size_t)(T * F) * sizeof *d);
    memcpy(d + T * F, s, (size_t)((T - 17) * F) * sizeof *d);
    int64_t lens[2] = {T, T - 17};
    ls_tensor l = ls_tensor_make(LS_I64, 1, (int64_t[]){2}, lens);
    assert_int_equal(ls_tmap_put_ref(in, "xs", &xs, &err), LS_OK);
    assert_int_equal(ls_tmap_put(in, "xs_lens", &l, &err), LS_OK);
    return in;
}

/* Loads, builds on a padded pair made from the example input, runs, and
 * checks the output shape and (optionally) that nothing is NaN/Inf. */
static void run_variant(const char *conf, int64_t t_sub, bool check_all_finite)
{
    tmpdir d;
    write_config(&d, conf);
    ls_model *m = load(d.path);
    ls_tmap *example;
    ls_graph *g0 = build_example(m, &example);
    ls_graph_free(g0);
    ls_tmap *inputs = padded_pair(example);
    ls_tmap_free(example);
    ls_graph *g = NULL;
    ls_error err0 = {0};
    if (ls_model_build(m, inputs, NULL, &g, &err0))
        fail_msg("%s: %s", conf, err0.msg);
    assert_shape(g, "output", 3, (int64_t[]){2, t_sub, 32});
    assert_shape(g, "output.1", 3, (int64_t[]){2, 1, t_sub});
    ls_error err = {0};
    ls_exec *ex = NULL;
    assert_int_equal(ls_exec_new(g, NULL, &ex, &err), LS_OK);
    assert_int_equal(ls_exec_set_inputs(ex, inputs, &err), LS_OK);
    if (ls_exec_run(ex, &err))
        fail_msg("%s: %s", conf, err.msg);
    /* the short utterance has fewer valid frames after subsampling */
    const ls_tensor *mk = ls_exec_out(ex, ls_graph_find(g, "output.1"));
    assert_true(ls_tensor_get(mk, (int64_t[]){0, 0, t_sub - 1}) != 0);
    assert_true(ls_tensor_get(mk, (int64_t[]){1, 0, t_sub - 1}) == 0);
    /* every layer's scores_masked is WeNet's scores.masked_fill(mask, -inf),
     * the mask [B,1,T,T] shared by the heads; the padded item fills some */
    int64_t filled = 0;
    for (int i = 0; i < ls_graph_n_nodes(g); i++) {
        const ls_node *nd = ls_graph_node(g, i);
        if (!nd->point || strcmp(nd->point, "scores_masked"))
            continue;
        char n[512];
        snprintf(n, sizeof n, "%.*s.scores", (int)(strlen(nd->name) - strlen(".scores_masked")), nd->name);
        const ls_tensor *sc = ls_exec_out(ex, ls_graph_find(g, n));
        snprintf(n, sizeof n, "%.*s.mask", (int)(strlen(nd->name) - strlen(".scores_masked")), nd->name);
        const ls_tensor *mk = ls_exec_out(ex, ls_graph_find(g, n));
        const ls_tensor *sm = ls_exec_out(ex, i);
        assert_non_null(sc);
        assert_non_null(mk);
        assert_int_equal(mk->shape[1], 1);
        int64_t x[4];
        for (x[0] = 0; x[0] < sc->shape[0]; x[0]++)
            for (x[1] = 0; x[1] < sc->shape[1]; x[1]++)
                for (x[2] = 0; x[2] < sc->shape[2]; x[2]++)
                    for (x[3] = 0; x[3] < sc->shape[3]; x[3]++) {
                        bool m = ls_tensor_get(mk, (int64_t[]){x[0], 0, x[2], x[3]}) != 0;
                        double got = ls_tensor_get(sm, x), want = m ? -INFINITY : ls_tensor_get(sc, x);
                        filled += m;
                        if (got != want)
                            fail_msg("%s: %s[%lld,%lld,%lld,%lld] = %g, want %g", conf, nd->name,
                                     (long long)x[0], (long long)x[1], (long long)x[2],
                                     (long long)x[3], got, want);
                    }
    }
    assert_true(filled > 0);
    for (int i = 0; check_all_finite && i < ls_graph_n_nodes(g); i++) {
        /* scores_masked holds the -inf filled scores on purpose (and a
         * hidden node, the softmax before WeNet zeroes, NaN rows) */
        const ls_tensor *t = ls_exec_out(ex, i);
        if (!t || t->dtype != LS_F32 || (ls_graph_node(g, i)->flags & LS_NODE_HIDDEN))
            continue;
        ls_stats st;
        ls_tensor_stats(t, &st);
        const char *pt = ls_graph_node(g, i)->point;
        if (st.nan || (st.inf && !(pt && !strcmp(pt, "scores_masked"))))
            fail_msg("%s: '%s' has NaN/Inf", conf, ls_graph_node(g, i)->name);
    }
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(inputs);
    ls_model_free(m);
    remove_dir(&d);
}

#define SMALL "\"input_size\": 20, \"output_size\": 32, \"attention_heads\": 2, " \
              "\"linear_units\": 48, \"num_blocks\": 2, \"cnn_module_kernel\": 5"

static void test_variants(void **state)
{
    (void)state;
    /* every example gives 90 frames after subsampling */
    run_variant(SMALL, 90, true);
    run_variant(SMALL ", \"input_layer\": \"conv2d6\"", 90, true);
    run_variant(SMALL ", \"input_layer\": \"conv2d8\"", 90, true);
    run_variant(SMALL ", \"input_layer\": \"linear\"", 90, true);
    run_variant(SMALL ", \"normalize_before\": false, \"macaron_style\": false", 90, true);
    run_variant(SMALL ", \"use_cnn_module\": false, \"activation_type\": \"relu\"", 90, true);
    run_variant(SMALL ", \"causal\": true, \"cnn_module_kernel\": 4", 90, true);
    run_variant(SMALL ", \"cnn_module_norm\": \"layer_norm\", \"conv_bias\": false", 90, true);
    run_variant(SMALL ", \"rel_shift\": true, \"attention_heads\": 4", 90, true);
}

/* WeNet's ConvolutionModule zeroes the padded frames in place on a view of
 * its input.  Without normalize_before that input is the residual itself,
 * so at padded frames norm_conv sees 0 + 0 and gives its bias; the padded
 * frames of norm_mha (the conv input) are not zero.  Found by
 * tools/compare_wenet_dims.py against WeNet. */
static void test_post_norm_padding(void **state)
{
    (void)state;
    tmpdir d;
    write_config(&d, SMALL ", \"normalize_before\": false");
    ls_model *m = load(d.path);
    ls_tmap *example;
    ls_graph *g0 = build_example(m, &example);
    ls_graph_free(g0);
    ls_tmap *inputs = padded_pair(example);
    ls_tmap_free(example);
    ls_graph *g = NULL;
    ls_error err = {0};
    assert_int_equal(ls_model_build(m, inputs, NULL, &g, &err), LS_OK);
    ls_exec *ex = NULL;
    assert_int_equal(ls_exec_new(g, NULL, &ex, &err), LS_OK);
    assert_int_equal(ls_exec_set_inputs(ex, inputs, &err), LS_OK);
    assert_int_equal(ls_exec_run(ex, &err), LS_OK);
    const ls_tensor *mk = ls_exec_out(ex, ls_graph_find(g, "output.1"));
    const ls_tensor *bias = ls_tmap_get(ls_graph_weights(g), "encoders.1.norm_conv.bias");
    const ls_tensor *nc = ls_exec_out(ex, ls_graph_find(g, "encoders.1.norm_conv"));
    const ls_tensor *nm = ls_exec_out(ex, ls_graph_find(g, "encoders.1.norm_mha"));
    assert_non_null(mk);
    assert_non_null(bias);
    assert_non_null(nc);
    assert_non_null(nm);
    const int64_t T = nc->shape[1], D = nc->shape[2];
    int padded = 0;
    for (int64_t t = 0; t < T; t++) {
        if (ls_tensor_get(mk, (int64_t[]){1, 0, t}) != 0)
            continue;
        padded++;
        double nm_abs = 0;
        for (int64_t c = 0; c < D; c++) {
            assert_float_equal(ls_tensor_get(nc, (int64_t[]){1, t, c}),
                               ls_tensor_get_flat(bias, c), 1e-6);
            nm_abs += fabs(ls_tensor_get(nm, (int64_t[]){1, t, c}));
        }
        assert_true(nm_abs > 1e-3);
    }
    assert_true(padded >= 2);
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(inputs);
    ls_model_free(m);
    remove_dir(&d);
}

/* Which bias tensors the model asks for: WeNet builds linear_out with
 * query_bias's switch (nn.Linear(inner_dim, n_feat, bias=query_bias)), so
 * a checkpoint made with query_bias false has no linear_out.bias.  Found by
 * tools/compare_wenet_dims.py against WeNet. */
static void expect_biases(const char *conf, const char *const *have, const char *const *lack)
{
    tmpdir d;
    write_config(&d, conf);
    ls_model *m = load(d.path);
    ls_tmap *inputs;
    ls_graph *g = build_example(m, &inputs);
    const ls_tmap *w = ls_graph_weights(g);
    for (const char *const *k = have; *k; k++)
        if (!ls_tmap_get(w, *k))
            fail_msg("%s: no weight '%s'", conf, *k);
    for (const char *const *k = lack; *k; k++)
        if (ls_tmap_get(w, *k))
            fail_msg("%s: unexpected weight '%s'", conf, *k);
    ls_graph_free(g);
    ls_tmap_free(inputs);
    ls_model_free(m);
    remove_dir(&d);
}

static void test_bias_switches(void **state)
{
    (void)state;
    const char *const out_b = "encoders.0.self_attn.linear_out.bias";
    expect_biases(SMALL ", \"query_bias\": false",
                  (const char *const[]){"encoders.0.self_attn.linear_k.bias",
                                        "encoders.0.self_attn.linear_v.bias", NULL},
                  (const char *const[]){"encoders.0.self_attn.linear_q.bias", out_b, NULL});
    expect_biases(SMALL ", \"key_bias\": false, \"value_bias\": false",
                  (const char *const[]){"encoders.0.self_attn.linear_q.bias", out_b, NULL},
                  (const char *const[]){"encoders.0.self_attn.linear_k.bias",
                                        "encoders.0.self_attn.linear_v.bias", NULL});
}

/* WeNet v3.0.1 (210b5600) had query_bias but always gave linear_out a bias:
 * such a checkpoint, query_bias false with linear_out.bias, must use that
 * bias, not ignore it.  The same random weights plus a bias of 0.5 must
 * move layer 0's linear_out by exactly 0.5. */
static void test_out_bias_from_checkpoint(void **state)
{
    (void)state;
    tmpdir d0, d1;
    write_config(&d0, SMALL ", \"query_bias\": false");
    ls_model *m0 = load(d0.path);
    ls_error err = {0};
    const ls_tmap *w0 = ls_model_weights(m0);
    ls_tmap *w1 = ls_tmap_new("v3.0.1 checkpoint");
    for (int i = 0; i < ls_tmap_count(w0); i++)
        assert_int_equal(ls_tmap_put_ref(w1, ls_tmap_name(w0, i), ls_tmap_at(w0, i), &err), LS_OK);
    float half[32];
    for (int i = 0; i < 32; i++)
        half[i] = 0.5f;
    ls_tensor hb = ls_tensor_make(LS_F32, 1, (int64_t[]){32}, half);
    assert_int_equal(ls_tmap_put_ref(w1, "encoders.0.self_attn.linear_out.bias", &hb, &err), LS_OK);
    assert_int_equal(ls_tmap_put_ref(w1, "encoders.1.self_attn.linear_out.bias", &hb, &err), LS_OK);
    snprintf(d1.path, sizeof d1.path, "/tmp/ls_conformer_XXXXXX");
    assert_non_null(mkdtemp(d1.path));
    char p[512];
    snprintf(p, sizeof p, "%s/weights.safetensors", d1.path);
    assert_int_equal(ls_safetensors_save(p, w1, NULL, &err), LS_OK);
    ls_tmap_free(w1);
    snprintf(p, sizeof p, "%s/config.json", d1.path);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "{\"arch\": \"conformer\", \"encoder_conf\": {%s, \"query_bias\": false}}\n",
            SMALL);
    fclose(f);
    ls_model *m1 = load(d1.path);
    ls_tmap *in0, *in1;
    ls_graph *g0 = build_example(m0, &in0), *g1 = build_example(m1, &in1);
    ls_exec *e0, *e1;
    assert_int_equal(ls_exec_new(g0, NULL, &e0, &err), LS_OK);
    assert_int_equal(ls_exec_new(g1, NULL, &e1, &err), LS_OK);
    assert_int_equal(ls_exec_set_inputs(e0, in0, &err), LS_OK);
    assert_int_equal(ls_exec_set_inputs(e1, in1, &err), LS_OK);
    assert_int_equal(ls_exec_run(e0, &err), LS_OK);
    assert_int_equal(ls_exec_run(e1, &err), LS_OK);
    const ls_tensor *a = ls_exec_out(e0, ls_graph_find(g0, "encoders.0.self_attn.linear_out"));
    const ls_tensor *b = ls_exec_out(e1, ls_graph_find(g1, "encoders.0.self_attn.linear_out"));
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(ls_tensor_numel(a), ls_tensor_numel(b));
    for (int64_t i = 0; i < ls_tensor_numel(a); i++)
        assert_float_equal(ls_tensor_get_flat(b, i) - ls_tensor_get_flat(a, i), 0.5, 1e-5);
    ls_exec_free(e0);
    ls_exec_free(e1);
    ls_graph_free(g0);
    ls_graph_free(g1);
    ls_tmap_free(in0);
    ls_tmap_free(in1);
    ls_model_free(m0);
    ls_model_free(m1);
    remove_dir(&d0);
    snprintf(p, sizeof p, "%s/weights.safetensors", d1.path);
    unlink(p);
    remove_dir(&d1);
}

/* Transformer-XL's shift, checked against its definition on the same
 * unshifted product: out[i][j] = padded[T + i*T + j] where
 * padded[r*(T+1) + c] = c ? bd[r][c-1] : 0. */
static void test_rel_shift(void **state)
{
    (void)state;
    tmpdir d0, d1;
    write_config(&d0, SMALL);
    write_config(&d1, SMALL ", \"rel_shift\": true");
    ls_model *m0 = load(d0.path), *m1 = load(d1.path);
    ls_tmap *in0, *in1;
    ls_graph *g0 = build_example(m0, &in0), *g1 = build_example(m1, &in1);
    ls_error err = {0};
    ls_exec *e0, *e1;
    assert_int_equal(ls_exec_new(g0, NULL, &e0, &err), LS_OK);
    assert_int_equal(ls_exec_new(g1, NULL, &e1, &err), LS_OK);
    assert_int_equal(ls_exec_set_inputs(e0, in0, &err), LS_OK);
    assert_int_equal(ls_exec_set_inputs(e1, in1, &err), LS_OK);
    assert_int_equal(ls_exec_run(e0, &err), LS_OK);
    assert_int_equal(ls_exec_run(e1, &err), LS_OK);
    /* layer 0 sees identical inputs in both */
    const ls_tensor *bd = ls_exec_out(e0, ls_graph_find(g0, "encoders.0.self_attn.matrix_bd"));
    const ls_tensor *sh = ls_exec_out(e1, ls_graph_find(g1, "encoders.0.self_attn.matrix_bd"));
    assert_non_null(bd);
    assert_non_null(sh);
    const int64_t H = bd->shape[1], T = bd->shape[2];
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j < T; j++) {
                int64_t n = T + i * T + j, r = n / (T + 1), c = n % (T + 1);
                double want = c ? ls_tensor_get(bd, (int64_t[]){0, h, r, c - 1}) : 0.0;
                double got = ls_tensor_get(sh, (int64_t[]){0, h, i, j});
                assert_float_equal(got, want, 0.0);
            }
    ls_exec_free(e0);
    ls_exec_free(e1);
    ls_graph_free(g0);
    ls_graph_free(g1);
    ls_tmap_free(in0);
    ls_tmap_free(in1);
    ls_model_free(m0);
    ls_model_free(m1);
    remove_dir(&d0);
    remove_dir(&d1);
}

/* ---- errors ---- */

static void expect_config_error(const char *conf, const char *const *needles)
{
    tmpdir d;
    write_config(&d, conf);
    ls_error err = {0};
    ls_model *m = NULL;
    int rc = ls_model_load(d.path, &m, &err);
    remove_dir(&d);
    if (rc == LS_OK) {
        ls_model_free(m);
        fail_msg("config accepted: %s", conf);
    }
    for (const char *const *n = needles; *n; n++)
        if (!strstr(err.msg, *n))
            fail_msg("message '%s' lacks '%s'", err.msg, *n);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_config_error("\"input_size\": 80, \"attention_heads\": 0",
                        (const char *[]){"config.json", "encoder_conf.attention_heads", NULL});
    expect_config_error("\"input_size\": 80, \"output_size\": 30, \"attention_heads\": 4",
                        (const char *[]){"config.json", "encoder_conf.output_size", "30",
                                         "not divisible", "attention_heads", NULL});
    expect_config_error("\"input_size\": 80, \"cnn_module_kernel\": 14",
                        (const char *[]){"config.json", "encoder_conf.cnn_module_kernel", "14",
                                         "odd", NULL});
    expect_config_error("\"input_size\": 80, \"input_layer\": \"conv3d\"",
                        (const char *[]){"encoder_conf.input_layer", "conv3d", "conv2d6", NULL});
    expect_config_error("\"output_size\": 64",
                        (const char *[]){"encoder_conf.input_size", "missing", NULL});
    expect_config_error("\"input_size\": 5",
                        (const char *[]){"encoder_conf.input_size", "too small", NULL});
    expect_config_error("\"input_size\": 80, \"pos_enc_layer_type\": \"abs_pos\"",
                        (const char *[]){"encoder_conf.pos_enc_layer_type", "abs_pos", NULL});
}

static void test_input_errors(void **state)
{
    (void)state;
    char dir[4096];
    ls_model *m = load(ls_golden_path("conformer_small", dir, sizeof dir));
    ls_error err = {0};
    ls_graph *g = NULL;
    /* 6 frames cannot survive two 3x3 stride-2 convs */
    static float x[6 * 80];
    int64_t n = 6;
    ls_tmap *in = ls_tmap_new("test inputs");
    ls_tensor xs = ls_tensor_make(LS_F32, 3, (int64_t[]){1, 6, 80}, x);
    ls_tensor lens = ls_tensor_make(LS_I64, 1, (int64_t[]){1}, &n);
    assert_int_equal(ls_tmap_put(in, "xs", &xs, &err), LS_OK);
    assert_int_equal(ls_tmap_put(in, "xs_lens", &lens, &err), LS_OK);
    assert_int_not_equal(ls_model_build(m, in, NULL, &g, &err), LS_OK);
    assert_null(g);
    assert_non_null(strstr(err.msg, "6 frames"));
    assert_non_null(strstr(err.msg, "too short"));
    assert_non_null(strstr(err.msg, "at least 7"));
    /* 7 frames give one */
    static float x7[7 * 80];
    n = 7;
    xs = ls_tensor_make(LS_F32, 3, (int64_t[]){1, 7, 80}, x7);
    assert_int_equal(ls_tmap_put(in, "xs", &xs, &err), LS_OK);
    assert_int_equal(ls_tmap_put(in, "xs_lens", &lens, &err), LS_OK);
    if (ls_model_build(m, in, NULL, &g, &err))
        fail_msg("%s", err.msg);
    assert_shape(g, "output", 3, (int64_t[]){1, 1, 64});
    ls_graph_free(g);
    g = NULL;
    /* wrong feature count */
    static float x2[10 * 40];
    xs = ls_tensor_make(LS_F32, 3, (int64_t[]){1, 10, 40}, x2);
    assert_int_equal(ls_tmap_put(in, "xs", &xs, &err), LS_OK);
    assert_int_not_equal(ls_model_build(m, in, NULL, &g, &err), LS_OK);
    assert_non_null(strstr(err.msg, "'xs'"));
    assert_non_null(strstr(err.msg, "[B,T,80]"));
    /* a length beyond the frames */
    n = 11;
    xs = ls_tensor_make(LS_F32, 3, (int64_t[]){1, 7, 80}, x7);
    assert_int_equal(ls_tmap_put(in, "xs", &xs, &err), LS_OK);
    assert_int_equal(ls_tmap_put(in, "xs_lens", &lens, &err), LS_OK);
    assert_int_not_equal(ls_model_build(m, in, NULL, &g, &err), LS_OK);
    assert_non_null(strstr(err.msg, "xs_lens[0] = 11"));
    ls_tmap_free(in);
    ls_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_fast),
        cmocka_unit_test(test_small_reference),
        cmocka_unit_test(test_module_tree),
        cmocka_unit_test(test_article),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_rel_shift),
        cmocka_unit_test(test_post_norm_padding),
        cmocka_unit_test(test_bias_switches),
        cmocka_unit_test(test_out_bias_from_checkpoint),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_input_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
