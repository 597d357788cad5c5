/* Lesson 01's trained model (data/mha_trained, tools/train_mha_lesson.py):
 * every point against torch's activations on its example input (its
 * acts/, written by the training tool), on both kernel sets; then the
 * task through layerstep alone: 200 seeded random letter sequences come
 * out reversed, and the heads look at the mirror position; and the
 * wrapped config's mistakes are refused by name. */
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
#include "layerstep/exec.h"

static const char *model_dir(char *buf, size_t n)
{
    const char *root = getenv("LS_SOURCE_ROOT");
    snprintf(buf, n, "%s/data/mha_trained", root ? root : ".");
    return buf;
}

static void test_against_torch(void **state)
{
    (void)state;
    char dir[600];
    model_dir(dir, sizeof dir);
    for (int ref = 0; ref < 2; ref++) {
        /* the project's tolerance: atol 1e-5 + rtol 1e-4 * max|ref| */
        ls_golden_opts o = {.atol = 1e-5, .rtol = 1e-4, .reference = ref, .min_compared = 16};
        assert_int_equal(ls_golden_check(dir, &o), 0);
    }
}

/* 28 random letters (ids 1..26), 4 padding positions; predicted[i] should
 * be tokens[27 - i].  The committed model stopped early (config.json
 * "training"): torch measured 98.9% of the letters right on 256 held-out
 * sequences, so at least 98% must be right here; and in every head the
 * query rows whose largest weight sits on the mirror key are the most. */
static void test_reverses(void **state)
{
    (void)state;
    char dir[600];
    ls_error err = {0};
    ls_model *m;
    assert_int_equal(ls_model_load(model_dir(dir, sizeof dir), &m, &err), LS_OK);
    enum { B = 200, T = 32, L = 28, H = 8 };
    static int64_t ids[B * T];
    static unsigned char kpm[B * T];
    ls_rng r = {12345};
    for (int b = 0; b < B; b++)
        for (int j = 0; j < T; j++) {
            ids[b * T + j] = j < L ? 1 + (int64_t)(ls_rng_next(&r) % 26) : 0;
            kpm[b * T + j] = j >= L;
        }
    ls_tmap *in = ls_tmap_new("test inputs");
    ls_tensor t = ls_tensor_make(LS_I64, 2, (int64_t[]){B, T}, ids);
    ls_tensor k = ls_tensor_make(LS_BOOL, 2, (int64_t[]){B, T}, kpm);
    assert_int_equal(ls_tmap_put(in, "tokens", &t, NULL), LS_OK);
    assert_int_equal(ls_tmap_put(in, "key_padding_mask", &k, NULL), LS_OK);
    ls_graph *g;
    ls_exec *ex;
    if (ls_model_build(m, in, &(ls_build_opts){0}, &g, &err))
        fail_msg("build: %s", err.msg);
    assert_int_equal(ls_exec_new(g, &(ls_exec_opts){.threads = 1}, &ex, &err), LS_OK);
    assert_int_equal(ls_exec_set_inputs(ex, in, &err), LS_OK);
    assert_int_equal(ls_exec_run(ex, &err), LS_OK);
    const ls_tensor *pred = ls_exec_out(ex, ls_graph_find(g, "predicted"));
    const ls_tensor *attn = ls_exec_out(ex, ls_graph_find(g, "mha.attn"));
    assert_non_null(pred);
    assert_non_null(attn);
    int wrong = 0, mirror[H] = {0};
    for (int b = 0; b < B; b++)
        for (int i = 0; i < L; i++) {
            wrong += (int64_t)ls_tensor_get(pred, (int64_t[]){b, i}) != ids[b * T + L - 1 - i];
            for (int h = 0; h < H; h++) {
                int best = 0;
                for (int j = 1; j < T; j++)
                    if (ls_tensor_get(attn, (int64_t[]){b, h, i, j}) >
                        ls_tensor_get(attn, (int64_t[]){b, h, i, best}))
                        best = j;
                mirror[h] += best == L - 1 - i;
            }
        }
    printf("reversed: %d of %d letters wrong (%.2f%% right)\n", wrong, B * L,
           100.0 * (B * L - wrong) / (B * L));
    for (int h = 0; h < H; h++)
        printf("head %d: the mirror key is the largest weight in %.1f%% of rows\n", h,
               100.0 * mirror[h] / (B * L));
    assert_true(wrong * 50 <= B * L);
    for (int h = 0; h < H; h++)
        assert_true(mirror[h] * 2 > B * L);
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
}

/* The wrapped model's config: each mistake refused with the file and the
 * key; a good one without weights runs on seeded random weights and its
 * example tokens. */
static int load_config(const char *dir, const char *json, ls_model **m, ls_error *err)
{
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    return ls_model_load(dir, m, err);
}

#define KW "\"arch\": \"mha\", \"random_weights_seed\": 1, \"kwargs\": {\"embed_dim\": 8, \"num_heads\": 2}, "

static void test_config_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/ls_mha_wrap_XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"{" KW "\"positional_encoding\": {}}", "'positional_encoding' needs 'embedding'"},
        {"{" KW "\"embedding\": {\"num_embeddings\": 3}, \"vocab\": [\"a\", \"b\"]}",
         "'vocab' must be an array of 3 words"},
        {"{" KW "\"embedding\": {\"num_embeddings\": 2}, \"vocab\": [\"a\", \"b\"], "
         "\"example_inputs\": {\"length\": 4, \"tokens\": \"abq\"}}",
         "'example_inputs.tokens': 'q' is not in 'vocab'"},
        {"{" KW "\"embedding\": {\"num_embeddings\": 2}, \"vocab\": [\"a\", \"b\"], "
         "\"example_inputs\": {\"length\": 2, \"tokens\": \"aba\"}}",
         "more tokens than 'example_inputs.length' (2)"},
        {"{" KW "\"embedding\": {\"num_embeddings\": 2}, \"positional_encoding\": {\"kind\": \"learned\"}}",
         "'positional_encoding.kind' 'learned' is not supported"},
        {"{" KW "\"embedding\": {\"num_embeddings\": 2}, \"cases\": [{\"name\": \"a\"}]}",
         "'cases' and 'embedding' do not go together"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ls_model *m = NULL;
        ls_error err = {0};
        assert_int_not_equal(load_config(dir, bad[i].json, &m, &err), LS_OK);
        if (!strstr(err.msg, bad[i].want) || !strstr(err.msg, "config.json"))
            fail_msg("case %zu: '%s', want '%s'", i, err.msg, bad[i].want);
    }
    /* a good one: random weights, the example tokens then the pad id */
    ls_model *m = NULL;
    ls_error err = {0};
    int rc = load_config(dir, "{" KW "\"embedding\": {\"num_embeddings\": 3}, "
                                 "\"positional_encoding\": {}, \"output\": {\"out_features\": 3}, "
                                 "\"vocab\": [\"_\", \"x\", \"y\"], \"example_inputs\": {\"batch\": 2, "
                                 "\"length\": 5, \"tokens\": \"xyx\", \"causal\": false, \"key_lengths\": [3, 2]}}",
                                 &m, &err);
    if (rc)
        fail_msg("%s", err.msg);
    ls_tmap *in = ls_tmap_new("example");
    assert_int_equal(ls_model_arch(m)->example_inputs(m, in, &err), LS_OK);
    const ls_tensor *ids = ls_tmap_get(in, "tokens");
    assert_non_null(ids);
    static const int64_t want[5] = {1, 2, 1, 0, 0};
    for (int b = 0; b < 2; b++)
        for (int j = 0; j < 5; j++)
            assert_int_equal((int64_t)ls_tensor_get(ids, (int64_t[]){b, j}), want[j]);
    assert_non_null(ls_tmap_get(in, "key_padding_mask"));
    ls_graph *g;
    assert_int_equal(ls_model_build(m, in, &(ls_build_opts){0}, &g, &err), LS_OK);
    static const char *const pts[] = {"embed", "pos_enc.pe", "pos_enc", "mha.q", "mha.attn", "mha",
                                      "mha.1", "out", "predicted"};
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++)
        if (ls_graph_find(g, pts[i]) < 0)
            fail_msg("no point %s", pts[i]);
    ls_graph_free(g);
    /* float tokens are refused by name */
    ls_tmap *in2 = ls_tmap_new("bad");
    float x[4] = {0};
    ls_tensor t = ls_tensor_make(LS_F32, 2, (int64_t[]){1, 4}, x);
    assert_int_equal(ls_tmap_put(in2, "tokens", &t, NULL), LS_OK);
    assert_int_not_equal(ls_model_build(m, in2, &(ls_build_opts){0}, &g, &err), LS_OK);
    assert_non_null(strstr(err.msg, "input 'tokens' must be int64 [B,T]"));
    ls_tmap_free(in2);
    ls_tmap_free(in);
    ls_model_free(m);
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", dir);
    remove(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_torch),
        cmocka_unit_test(test_reverses),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
