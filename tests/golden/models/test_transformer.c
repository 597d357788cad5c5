/* The toy Transformer and nn.MultiheadAttention against their golden
 * fixtures, the masks cell by cell with padding in the source, text
 * input, and diff on planted faults. */
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
#include "layerstep/diff.h"
#include "layerstep/npy.h"
#include "layerstep/trace.h"
#include "layerstep/transformer.h"

static void test_transformer_teacher(void **state)
{
    (void)state;
    char dir[512];
    ls_golden_path("transformer_small", dir, sizeof dir);
    /* greedy_decoder is checked by its own test; every other act here */
    static const char *const opt[] = {"*.dropout", "greedy_decoder", NULL};
    for (int ref = 0; ref < 2; ref++) {
        ls_golden_opts o = {.mode = "teacher", .atol = 1e-5, .rtol = 1e-4, .optional = opt,
                            .reference = ref, .min_compared = 120};
        assert_int_equal(ls_golden_check(dir, &o), 0);
    }
}

static void test_transformer_greedy(void **state)
{
    (void)state;
    char dir[512];
    ls_golden_path("transformer_small", dir, sizeof dir);
    /* greedy decoding runs each sentence alone: only its result compares */
    static const char *const only[] = {"greedy_decoder", NULL};
    ls_golden_opts o = {.mode = "greedy", .atol = 1e-5, .rtol = 1e-4, .only = only,
                        .min_compared = 1};
    assert_int_equal(ls_golden_check(dir, &o), 0);
}

static void test_mha_all_cases(void **state)
{
    (void)state;
    char dir[512];
    ls_golden_path("mha_small", dir, sizeof dir);
    for (int ref = 0; ref < 2; ref++) {
        ls_golden_opts o = {.atol = 1e-5, .rtol = 1e-4, .reference = ref, .min_compared = 30};
        assert_int_equal(ls_golden_check(dir, &o), 0);
    }
}

typedef struct run {
    ls_model *m;
    ls_tmap *in;
    ls_graph *g;
    ls_exec *ex;
} run;

static void start(run *r, const char *fixture)
{
    char dir[512];
    ls_error err = {0};
    ls_golden_path(fixture, dir, sizeof dir);
    assert_int_equal(ls_model_load(dir, &r->m, &err), LS_OK);
    r->in = ls_tmap_new("test inputs");
}

static void go(run *r, const char *mode)
{
    ls_error err = {0};
    ls_build_opts bo = {.mode = mode};
    if (ls_model_build(r->m, r->in, &bo, &r->g, &err))
        fail_msg("build: %s", err.msg);
    assert_int_equal(ls_exec_new(r->g, NULL, &r->ex, &err), LS_OK);
    assert_int_equal(ls_exec_set_inputs(r->ex, r->in, &err), LS_OK);
    assert_int_equal(ls_exec_run(r->ex, &err), LS_OK);
}

static void stop(run *r)
{
    ls_exec_free(r->ex);
    ls_graph_free(r->g);
    ls_tmap_free(r->in);
    ls_model_free(r->m);
}

static const ls_tensor *point(const run *r, const char *name)
{
    const ls_tensor *t = ls_exec_out(r->ex, ls_graph_find(r->g, name));
    if (!t)
        fail_msg("no point %s", name);
    return t;
}

static void put_ids(run *r, const char *name, int64_t B, int64_t T, const int64_t *ids)
{
    ls_tensor t = ls_tensor_make(LS_I64, 2, (int64_t[]){B, T}, (void *)ids);
    assert_int_equal(ls_tmap_put(r->in, name, &t, NULL), LS_OK);
}

/* <att>.scores_masked is exactly the reference's scores.masked_fill(
 * attn_mask, -1e9): our own scores and mask, cell by cell, bit for bit. */
static void check_scores_masked(const run *r, const char *att)
{
    char n[160];
    snprintf(n, sizeof n, "%s.scores", att);
    const ls_tensor *sc = point(r, n);
    snprintf(n, sizeof n, "%s.mask", att);
    const ls_tensor *mk = point(r, n);
    snprintf(n, sizeof n, "%s.scores_masked", att);
    const ls_tensor *sm = point(r, n);
    assert_int_equal(ls_tensor_numel(sm), ls_tensor_numel(sc));
    int64_t filled = 0, i[4];
    for (i[0] = 0; i[0] < sc->shape[0]; i[0]++)
        for (i[1] = 0; i[1] < sc->shape[1]; i[1]++)
            for (i[2] = 0; i[2] < sc->shape[2]; i[2]++)
                for (i[3] = 0; i[3] < sc->shape[3]; i[3]++) {
                    bool m = ls_tensor_get(mk, i) != 0;
                    float want = m ? -1e9f : (float)ls_tensor_get(sc, i);
                    float got = (float)ls_tensor_get(sm, i);
                    filled += m;
                    if (memcmp(&got, &want, sizeof got))
                        fail_msg("%s.scores_masked[%lld,%lld,%lld,%lld] = %.9g, want %.9g", att,
                                 (long long)i[0], (long long)i[1], (long long)i[2], (long long)i[3],
                                 (double)got, (double)want);
                }
    assert_true(filled > 0);
}

/* Source padding of our own: sentence 0 has 3 words and 2 P, sentence 1
 * has 1 word and 4 P; the target has P in its last position. */
static void test_masks_cell_by_cell(void **state)
{
    (void)state;
    run r;
    start(&r, "transformer_small");
    const int64_t enc[2][5] = {{1, 2, 4, 0, 0}, {3, 0, 0, 0, 0}};
    const int64_t dec[2][6] = {{6, 1, 2, 3, 4, 0}, {6, 1, 0, 3, 5, 8}};
    put_ids(&r, "enc_inputs", 2, 5, &enc[0][0]);
    put_ids(&r, "dec_inputs", 2, 6, &dec[0][0]);
    go(&r, "teacher");
    const int64_t H = 4;
    for (int l = 0; l < 2; l++) {
        char n[128];
        snprintf(n, sizeof n, "encoder.layers.%d.enc_self_attn.mask", l);
        const ls_tensor *m = point(&r, n);
        assert_int_equal(m->shape[1], H);
        for (int64_t b = 0; b < 2; b++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t i = 0; i < 5; i++)
                    for (int64_t j = 0; j < 5; j++)
                        assert_int_equal((int)ls_tensor_get(m, (int64_t[]){b, h, i, j}),
                                         enc[b][j] == 0);
        snprintf(n, sizeof n, "decoder.layers.%d.dec_self_attn.mask", l);
        m = point(&r, n);
        for (int64_t b = 0; b < 2; b++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t i = 0; i < 6; i++)
                    for (int64_t j = 0; j < 6; j++)
                        assert_int_equal((int)ls_tensor_get(m, (int64_t[]){b, h, i, j}),
                                         dec[b][j] == 0 || j > i);
        snprintf(n, sizeof n, "decoder.layers.%d.dec_enc_attn.mask", l);
        m = point(&r, n);
        assert_int_equal(m->shape[3], 5);
        for (int64_t b = 0; b < 2; b++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t i = 0; i < 6; i++)
                    for (int64_t j = 0; j < 5; j++)
                        assert_int_equal((int)ls_tensor_get(m, (int64_t[]){b, h, i, j}),
                                         enc[b][j] == 0);
        static const char *const atts[] = {"encoder.layers.%d.enc_self_attn",
                                           "decoder.layers.%d.dec_self_attn",
                                           "decoder.layers.%d.dec_enc_attn"};
        for (int k = 0; k < 3; k++) {
            snprintf(n, sizeof n, atts[k], l);
            check_scores_masked(&r, n);
        }
        /* masked keys get exactly zero weight (exp(-1e9 - max) underflows) */
        snprintf(n, sizeof n, "encoder.layers.%d.enc_self_attn.attn", l);
        const ls_tensor *a = point(&r, n);
        for (int64_t i = 0; i < 5; i++)
            for (int64_t j = 1; j < 5; j++)
                assert_true(ls_tensor_get(a, (int64_t[]){1, 0, i, j}) == 0.0);
    }
    stop(&r);
}

static void test_text_round_trip(void **state)
{
    (void)state;
    run r;
    start(&r, "transformer_small");
    ls_error err = {0};
    assert_int_equal(ls_transformer_text_inputs(r.m, "ich mochte ein bier", NULL, r.in, &err), LS_OK);
    const ls_tensor *e = ls_tmap_get(r.in, "enc_inputs");
    assert_non_null(e);
    int64_t want[5] = {1, 2, 3, 4, 0}; /* padded with P */
    for (int i = 0; i < 5; i++)
        assert_int_equal(((int64_t *)e->data)[i], want[i]);
    assert_int_equal(ls_transformer_text_inputs(r.m, "ich mochte ein wein P", NULL, r.in, &err),
                     LS_ERR_ARG);
    assert_non_null(strstr(err.msg, "'wein' is not in the source vocabulary"));
    assert_non_null(strstr(err.msg, "bier"));
    assert_int_equal(ls_transformer_text_inputs(r.m, "ich ich ich ich ich ich", NULL, r.in, &err),
                     LS_ERR_ARG);
    go(&r, "greedy");
    const ls_tensor *gd = point(&r, "greedy_decoder");
    char words[256];
    ls_transformer_words(r.m, false, gd->data, gd->shape[1], words, sizeof words);
    assert_true(!strncmp(words, "S ", 2)); /* decoding starts at the start symbol */
    /* the same first sentence as the fixture gives the fixture's tokens */
    char path[512];
    ls_golden_path("transformer_small/acts/greedy_decoder.npy", path, sizeof path);
    ls_arena *a = ls_arena_new(0);
    ls_tensor ref;
    assert_int_equal(ls_npy_load(path, a, &ref, &err), LS_OK);
    for (int64_t t = 0; t < 6; t++)
        assert_int_equal(((int64_t *)gd->data)[t], ((int64_t *)ref.data)[t]);
    ls_arena_free(a);
    stop(&r);
}

/* diff: a reference with a planted fault (a wrong scale in one attention's
 * scores; one flipped mask cell), every later op computed from it.  diff of
 * a clean run names the planted op LOCAL and the ops after it inherited. */

/* The teacher-forced run of transformer_small on its fixture inputs. */
static void teacher_run(run *r)
{
    start(r, "transformer_small");
    ls_tmap_free(r->in);
    char dir[512];
    ls_golden_path("transformer_small/inputs", dir, sizeof dir);
    assert_int_equal(ls_npy_load_dir(dir, &r->in, NULL), LS_OK);
    go(r, "teacher");
}

/* plant edits one tensor of a finished run and reruns downstream */
typedef void (*plant_fn)(run *bad, const void *arg);

/* *ref: every point of a run with plant's fault; *d: the diff of the
 * clean run r (left running for the caller, with r.g naming d's rows). */
static void diff_planted(plant_fn plant, const void *arg, run *r, ls_tmap **ref, ls_diff **d)
{
    run bad;
    teacher_run(&bad);
    plant(&bad, arg);
    *ref = ls_tmap_new("planted");
    for (int i = 0; i < ls_graph_n_nodes(bad.g); i++)
        if (ls_node_is_point(ls_graph_node(bad.g, i)))
            ls_tmap_put(*ref, ls_graph_node(bad.g, i)->name, ls_exec_out(bad.ex, i), NULL);
    stop(&bad);
    teacher_run(r);
    assert_int_equal(ls_diff_run(r->ex, *ref, &(ls_cmp_opts){1e-5, 1e-4}, d, NULL), LS_OK);
    assert_true((*d)->first_local >= 0);
}

typedef struct scale_plant {
    const char *node;
    double scale;
} scale_plant;

static void plant_scale(run *bad, const void *arg)
{
    const scale_plant *p = arg;
    int node = ls_graph_find(bad->g, p->node);
    assert_true(node >= 0);
    ls_tensor *t = ls_exec_edit(bad->ex, node, NULL);
    assert_non_null(t);
    for (int64_t i = 0; i < ls_tensor_numel(t); i++)
        ls_tensor_set_flat(t, i, ls_tensor_get_flat(t, i) * p->scale);
    assert_int_equal(ls_exec_rerun(bad->ex, node, NULL), LS_OK);
}

/* unmask one padded source position: mask[0,0,4] */
static void plant_unmask(run *bad, const void *mask_name)
{
    int node = ls_graph_find(bad->g, mask_name);
    assert_true(node >= 0);
    /* the [B,S,S] mask repeats one row per query: edit the [B,S] pad flags */
    int storage = ls_exec_storage_node(bad->ex, node);
    ls_tensor *flags = ls_exec_edit(bad->ex, storage, NULL);
    assert_non_null(flags);
    assert_int_equal((int)ls_tensor_get_flat(flags, 4), 1); /* "P" is masked */
    ls_tensor_set_flat(flags, 4, 0);
    assert_int_equal(ls_exec_rerun(bad->ex, storage, NULL), LS_OK);
}

static void test_diff_wrong_scale(void **state)
{
    (void)state;
    const scale_plant p = {"decoder.layers.0.dec_enc_attn.scores", 1.25};
    run r;
    ls_tmap *ref;
    ls_diff *d;
    diff_planted(plant_scale, &p, &r, &ref, &d);
    assert_string_equal(ls_graph_node(r.g, d->rows[d->first_local].node)->name, p.node);
    int local = 0, inherited = 0;
    for (int i = 0; i < d->n; i++) {
        if (d->rows[i].verdict == LS_DIFF_LOCAL)
            local++;
        if (d->rows[i].verdict == LS_DIFF_INHERITED)
            inherited++;
    }
    assert_int_equal(local, 1);
    assert_true(inherited > 20); /* everything downstream */
    /* the final output differs, and only by inheritance */
    for (int i = 0; i < d->n; i++)
        if (!strcmp(ls_graph_node(r.g, d->rows[i].node)->name, "output"))
            assert_int_equal(d->rows[i].verdict, LS_DIFF_INHERITED);
    ls_diff_free(d);
    ls_tmap_free(ref);
    stop(&r);
}

static void test_diff_wrong_mask_cell(void **state)
{
    (void)state;
    const char *mask_name = "encoder.enc_self_attn_mask";
    run r;
    ls_tmap *ref;
    ls_diff *d;
    diff_planted(plant_unmask, mask_name, &r, &ref, &d);
    assert_string_equal(ls_graph_node(r.g, d->rows[d->first_local].node)->name, mask_name);
    for (int i = 0; i < d->n; i++) {
        const char *n = ls_graph_node(r.g, d->rows[i].node)->name;
        if (!strcmp(n, "encoder.layers.0.enc_self_attn.attn") || !strcmp(n, "output"))
            assert_int_equal(d->rows[i].verdict, LS_DIFF_INHERITED);
        if (!strcmp(n, "encoder.layers.0.enc_self_attn.scores"))
            assert_int_equal(d->rows[i].verdict, LS_DIFF_PASS); /* before the mask */
    }
    ls_diff_free(d);
    ls_tmap_free(ref);
    stop(&r);
}

static void test_config_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/ls_tf_cfg_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"arch\": \"transformer\", \"globals\": {\"d_model\": 32, \"d_ff\": 64, \"d_k\": 8, "
          "\"d_v\": 8, \"n_layers\": 2, \"n_heads\": 0, \"src_vocab_size\": 6, "
          "\"tgt_vocab_size\": 9}}",
          f);
    fclose(f);
    ls_model *m = NULL;
    ls_error err = {0};
    assert_int_equal(ls_model_load(dir, &m, &err), LS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "globals.n_heads"));
    assert_non_null(strstr(err.msg, "config.json"));
    remove(path);
    rmdir(dir);
}

/* One attention cut out of the model and fed the fixture's own tensors
 * gives the fixture's scores, attention and output. */
static void test_module_run_matches_fixture(void **state)
{
    (void)state;
    run r;
    start(&r, "transformer_small");
    ls_tmap_free(r.in);
    char dir[512];
    ls_golden_path("transformer_small/inputs", dir, sizeof dir);
    assert_int_equal(ls_npy_load_dir(dir, &r.in, NULL), LS_OK);
    ls_error err = {0};
    ls_build_opts bo = {.mode = "teacher", .module = "encoder.layers.0.enc_self_attn"};
    if (ls_model_build(r.m, r.in, &bo, &r.g, &err))
        fail_msg("build: %s", err.msg);
    assert_int_equal(ls_graph_find(r.g, "decoder"), -1); /* only the module */
    assert_int_equal(ls_exec_new(r.g, NULL, &r.ex, &err), LS_OK);
    ls_golden_path("transformer_small/acts", dir, sizeof dir);
    ls_tmap *acts;
    assert_int_equal(ls_npy_load_dir(dir, &acts, NULL), LS_OK);
    /* input_Q = K = V = encoder.pos_emb ([S,B,D]) transposed to [B,S,D] */
    ls_tensor pe = *ls_tmap_get(acts, "encoder.pos_emb"), x;
    ls_tensor_transpose(&pe, 0, 1, &x, NULL);
    assert_int_equal(ls_exec_set_input(r.ex, "input_Q", &x, &err), LS_OK);
    assert_int_equal(ls_exec_set_input(r.ex, "input_K", &x, &err), LS_OK);
    assert_int_equal(ls_exec_set_input(r.ex, "input_V", &x, &err), LS_OK);
    /* attn_mask [B,S,S]: the key is a pad */
    const ls_tensor *ids = ls_tmap_get(r.in, "enc_inputs");
    int64_t B = ids->shape[0], S = ids->shape[1];
    unsigned char mask[64 * 64];
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < S; i++)
            for (int64_t j = 0; j < S; j++)
                mask[(b * S + i) * S + j] = ls_tensor_get(ids, (int64_t[]){b, j}) == 0;
    ls_tensor mt = ls_tensor_make(LS_BOOL, 3, (int64_t[]){B, S, S}, mask);
    assert_int_equal(ls_exec_set_input(r.ex, "attn_mask", &mt, &err), LS_OK);
    assert_int_equal(ls_exec_run(r.ex, &err), LS_OK);
    const char *names[] = {"encoder.layers.0.enc_self_attn.scores",
                           "encoder.layers.0.enc_self_attn.attn",
                           "encoder.layers.0.enc_self_attn", NULL};
    for (const char **n = names; *n; n++) {
        ls_cmp_row row;
        ls_compare_tensors(point(&r, *n), ls_tmap_get(acts, *n), &(ls_cmp_opts){1e-5, 1e-4}, &row);
        if (row.status != LS_CMP_PASS)
            fail_msg("%s: max abs %g", *n, row.max_abs);
    }
    ls_tmap_free(acts);
    stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transformer_teacher),
        cmocka_unit_test(test_transformer_greedy),
        cmocka_unit_test(test_mha_all_cases),
        cmocka_unit_test(test_masks_cell_by_cell),
        cmocka_unit_test(test_text_round_trip),
        cmocka_unit_test(test_diff_wrong_scale),
        cmocka_unit_test(test_diff_wrong_mask_cell),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_module_run_matches_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
