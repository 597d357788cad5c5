/* wav2vec2 against torchaudio 0.13.1: both fixtures (group_norm extractor
 * with post-norm layers, layer_norm extractor with pre-norm layers), each
 * with the fast and the reference kernels; a Hugging Face-named copy of
 * each fixture built at test time must give identical tensors; the
 * bundled base config builds with the expected extractor shapes; config
 * and input errors say what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "golden.h"
#include "layerstep/compare.h"
#include "layerstep/config.h"
#include "layerstep/npy.h"
#include "layerstep/safetensors.h"

static const char *const FIXTURES[] = {"wav2vec2_small", "wav2vec2_small_layer_norm"};
/* acts/ files per fixture: every one must have a point */
static const int N_ACTS[] = {74, 76};

/* dir/file into out; a path that does not fit fails the test. */
static void path_of(char *out, size_t n, const char *dir, const char *file)
{
    int k = snprintf(out, n, "%s/%s", dir, file);
    assert_true(k > 0 && (size_t)k < n);
}

static void check_fixture(int fx, bool reference)
{
    char dir[4096];
    ls_golden_opts o = {.atol = 1e-5, .rtol = 1e-4, .reference = reference,
                        .min_compared = N_ACTS[fx]};
    assert_int_equal(ls_golden_check(ls_golden_path(FIXTURES[fx], dir, sizeof dir), &o), 0);
}

static void test_group_norm_fast(void **state)
{
    (void)state;
    check_fixture(0, false);
}

static void test_group_norm_reference(void **state)
{
    (void)state;
    check_fixture(0, true);
}

static void test_layer_norm_fast(void **state)
{
    (void)state;
    check_fixture(1, false);
}

static void test_layer_norm_reference(void **state)
{
    (void)state;
    check_fixture(1, true);
}

/* ---- Hugging Face naming ---- */

/* torchaudio key -> transformers key (the inverse of the importer's
 * table); `parametrized` uses newer transformers' weight-norm names. */
static void hf_key(const char *k, bool parametrized, char *out, size_t n)
{
    static const char *const pre[][2] = {
        {"feature_extractor.", "wav2vec2.feature_extractor."},
        {"encoder.feature_projection.", "wav2vec2.feature_projection."},
        {"encoder.transformer.", "wav2vec2.encoder."},
        {"aux.", "lm_head."},
    };
    if (parametrized && strcmp(k, "encoder.transformer.pos_conv_embed.conv.weight_g") == 0) {
        snprintf(out, n, "wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original0");
        return;
    }
    if (parametrized && strcmp(k, "encoder.transformer.pos_conv_embed.conv.weight_v") == 0) {
        snprintf(out, n, "wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original1");
        return;
    }
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
        size_t l = strlen(pre[i][0]);
        if (strncmp(k, pre[i][0], l) == 0) {
            snprintf(out, n, "%s%s", pre[i][1], k + l);
            return;
        }
    }
    fail_msg("no transformers name for '%s'", k);
}

static cJSON *int_list(const cJSON *convs, int j)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < cJSON_GetArraySize(convs); i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(
                                    cJSON_GetArrayItem(cJSON_GetArrayItem(convs, i), j)->valuedouble));
    return a;
}

/* Writes an HF-style model directory for a torchaudio fixture into tmp. */
static void make_hf_copy(const char *fixture, const char *tmp, bool parametrized)
{
    ls_error err = {0};
    char path[4096];
    cJSON *src;
    path_of(path, sizeof path, fixture, "config.json");
    assert_int_equal(ls_json_load(path, &src, &err), LS_OK);
    const cJSON *kw = ls_json_at(src, "kwargs");
    assert_non_null(kw);
    cJSON *c = cJSON_CreateObject();
    const cJSON *convs = cJSON_GetObjectItem(kw, "extractor_conv_layer_config");
    cJSON_AddStringToObject(c, "model_type", "wav2vec2");
    cJSON *arch = cJSON_AddArrayToObject(c, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("Wav2Vec2ForCTC"));
    cJSON_AddItemToObject(c, "conv_dim", int_list(convs, 0));
    cJSON_AddItemToObject(c, "conv_kernel", int_list(convs, 1));
    cJSON_AddItemToObject(c, "conv_stride", int_list(convs, 2));
    cJSON_AddBoolToObject(c, "conv_bias",
                          cJSON_IsTrue(cJSON_GetObjectItem(kw, "extractor_conv_bias")));
    const char *mode = cJSON_GetObjectItem(kw, "extractor_mode")->valuestring;
    cJSON_AddStringToObject(c, "feat_extract_norm",
                            strcmp(mode, "group_norm") == 0 ? "group" : "layer");
    cJSON_AddBoolToObject(c, "do_stable_layer_norm",
                          cJSON_IsTrue(cJSON_GetObjectItem(kw, "encoder_layer_norm_first")));
    static const char *const ints[][2] = {
        {"encoder_pos_conv_kernel", "num_conv_pos_embeddings"},
        {"encoder_pos_conv_groups", "num_conv_pos_embedding_groups"},
        {"encoder_embed_dim", "hidden_size"},
        {"encoder_num_layers", "num_hidden_layers"},
        {"encoder_num_heads", "num_attention_heads"},
        {"encoder_ff_interm_features", "intermediate_size"},
        {"aux_num_out", "vocab_size"},
        {"encoder_projection_dropout", "feat_proj_dropout"},
        {"encoder_attention_dropout", "attention_dropout"},
        {"encoder_ff_interm_dropout", "activation_dropout"},
        {"encoder_dropout", "hidden_dropout"},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        cJSON_AddNumberToObject(c, ints[i][1], cJSON_GetObjectItem(kw, ints[i][0])->valuedouble);
    cJSON_AddNumberToObject(c, "layer_norm_eps", 1e-5);
    char *text = cJSON_Print(c);
    path_of(path, sizeof path, tmp, "config.json");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(text);
    cJSON_Delete(c);
    cJSON_Delete(src);

    ls_tmap *w;
    path_of(path, sizeof path, fixture, "weights.safetensors");
    assert_int_equal(ls_safetensors_load(path, &w, &err), LS_OK);
    ls_tmap *hf = ls_tmap_new("hf");
    for (int i = 0; i < ls_tmap_count(w); i++) {
        char k[512];
        hf_key(ls_tmap_name(w, i), parametrized, k, sizeof k);
        assert_int_equal(ls_tmap_put_ref(hf, k, ls_tmap_at(w, i), &err), LS_OK);
    }
    /* transformers keeps this parameter for pretraining; the forward
     * never reads it and the importer must drop it */
    float junk[4] = {1, 2, 3, 4};
    ls_tensor jt = ls_tensor_make(LS_F32, 1, (int64_t[]){4}, junk);
    assert_int_equal(ls_tmap_put_ref(hf, "wav2vec2.masked_spec_embed", &jt, &err), LS_OK);
    path_of(path, sizeof path, tmp, "model.safetensors");
    assert_int_equal(ls_safetensors_save(path, hf, NULL, &err), LS_OK);
    ls_tmap_free(hf);
    ls_tmap_free(w);
    /* so ls_golden_check can compare the copy with the fixture's acts */
    char acts[4096];
    path_of(acts, sizeof acts, fixture, "acts");
    path_of(path, sizeof path, tmp, "acts");
    assert_int_equal(symlink(acts, path), 0);
}

static void remove_hf_copy(const char *tmp)
{
    static const char *const files[] = {"config.json", "model.safetensors", "acts"};
    char path[4096];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, files[i]);
        unlink(path);
    }
    rmdir(tmp);
}

typedef struct run {
    ls_model *m;
    ls_graph *g;
    ls_exec *ex;
} run;

static void run_model(const char *dir, const ls_tmap *inputs, run *r)
{
    ls_error err = {0};
    if (ls_model_load(dir, &r->m, &err))
        fail_msg("%s", err.msg);
    if (ls_model_build(r->m, inputs, NULL, &r->g, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(ls_exec_new(r->g, NULL, &r->ex, &err), LS_OK);
    assert_int_equal(ls_exec_set_inputs(r->ex, inputs, &err), LS_OK);
    assert_int_equal(ls_exec_run(r->ex, &err), LS_OK);
}

static void free_run(run *r)
{
    ls_exec_free(r->ex);
    ls_graph_free(r->g);
    ls_model_free(r->m);
}

static void check_hf(int fx, bool parametrized)
{
    char fixture[4096], tmp[] = "/tmp/ls_w2v_hf_XXXXXX", path[4096];
    ls_golden_path(FIXTURES[fx], fixture, sizeof fixture);
    assert_non_null(mkdtemp(tmp));
    make_hf_copy(fixture, tmp, parametrized);

    /* the HF directory against the torchaudio acts... */
    path_of(path, sizeof path, fixture, "inputs");
    ls_golden_opts o = {.atol = 1e-5, .rtol = 1e-4, .inputs_dir = path,
                        .min_compared = N_ACTS[fx]};
    assert_int_equal(ls_golden_check(tmp, &o), 0);

    /* ...and bit for bit against the torchaudio-named model */
    ls_error err = {0};
    ls_tmap *inputs;
    assert_int_equal(ls_npy_load_dir(path, &inputs, &err), LS_OK);
    run a = {0}, b = {0};
    run_model(fixture, inputs, &a);
    run_model(tmp, inputs, &b);
    int compared = 0;
    for (int i = 0; i < ls_graph_n_nodes(a.g); i++) {
        const ls_node *n = ls_graph_node(a.g, i);
        if (n->flags & LS_NODE_HIDDEN)
            continue;
        int j = ls_graph_find(b.g, n->name);
        if (j < 0)
            fail_msg("HF model has no point '%s'", n->name);
        ls_cmp_row r;
        ls_compare_tensors(ls_exec_out(b.ex, j), ls_exec_out(a.ex, i), &(ls_cmp_opts){0, 0},
                           &r);
        if (r.status != LS_CMP_PASS || r.max_abs != 0)
            fail_msg("'%s' differs between HF and torchaudio names: max abs %g", n->name,
                     r.max_abs);
        compared++;
    }
    assert_int_equal(ls_graph_n_nodes(a.g), ls_graph_n_nodes(b.g));
    assert_true(compared >= N_ACTS[fx]);
    free_run(&a);
    free_run(&b);
    ls_tmap_free(inputs);
    remove_hf_copy(tmp);
}

static void test_hf_group_norm(void **state)
{
    (void)state;
    check_hf(0, false);
}

static void test_hf_layer_norm_parametrized(void **state)
{
    (void)state;
    check_hf(1, true);
}

/* ---- the walkthrough's base model ---- */

static void test_base_config_shapes(void **state)
{
    (void)state;
    const char *root = getenv("LS_SOURCE_ROOT");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/wav2vec2_base", root ? root : ".");
    ls_error err = {0};
    ls_model *m;
    if (ls_model_load(dir, &m, &err))
        fail_msg("%s", err.msg);
    assert_non_null(strstr(ls_model_weights_note(m), "random weights, seed 1"));
    ls_tmap *in = ls_tmap_new("example");
    assert_int_equal(ls_model_arch(m)->example_inputs(m, in, &err), LS_OK);
    const ls_tensor *wav = ls_tmap_get(in, "waveforms");
    assert_non_null(wav);
    assert_int_equal(wav->shape[0], 1);
    assert_int_equal(wav->shape[1], 16000);
    ls_graph *g;
    if (ls_model_build(m, in, NULL, &g, &err))
        fail_msg("%s", err.msg);
    static const int64_t T[] = {3199, 1599, 799, 399, 199, 99, 49};
    for (int i = 0; i < 7; i++) {
        char name[96];
        snprintf(name, sizeof name, "feature_extractor.conv_layers.%d", i);
        const ls_tensor *t = ls_graph_shape(g, ls_graph_find(g, name));
        assert_non_null(t);
        assert_int_equal(t->ndim, 3);
        assert_int_equal(t->shape[0], 1);
        assert_int_equal(t->shape[1], 512);
        assert_int_equal(t->shape[2], T[i]);
    }
    const ls_tensor *t = ls_graph_shape(g, ls_graph_find(g, "encoder.transformer.layers.11"));
    assert_non_null(t);
    assert_int_equal(t->shape[1], 49);
    assert_int_equal(t->shape[2], 768);
    t = ls_graph_shape(g, ls_graph_find(g, "encoder.transformer.layers.11.attention.scores"));
    assert_int_equal(t->shape[1], 12);
    assert_true(ls_graph_find(g, "aux") < 0);
    assert_true(ls_graph_find(g, "output") >= 0);
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
}

/* ---- errors ---- */

/* A model dir whose config is the small fixture's with kwargs[key] = v;
 * returns ls_model_load's message. */
static void load_with(const char *key, double v, char *msg, size_t n)
{
    char fixture[4096], path[4096], tmp[] = "/tmp/ls_w2v_cfg_XXXXXX";
    ls_golden_path(FIXTURES[0], fixture, sizeof fixture);
    path_of(path, sizeof path, fixture, "config.json");
    ls_error err = {0};
    cJSON *c;
    assert_int_equal(ls_json_load(path, &c, &err), LS_OK);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(c, "kwargs"), key, cJSON_CreateNumber(v));
    assert_non_null(mkdtemp(tmp));
    path_of(path, sizeof path, tmp, "config.json");
    char *text = cJSON_Print(c);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(text);
    cJSON_Delete(c);
    ls_model *m = NULL;
    assert_int_not_equal(ls_model_load(tmp, &m, &err), LS_OK);
    assert_null(m);
    snprintf(msg, n, "%s", err.msg);
    unlink(path);
    rmdir(tmp);
}

static void test_config_errors(void **state)
{
    (void)state;
    char msg[LS_ERROR_MSG_MAX];
    load_with("encoder_num_heads", 0, msg, sizeof msg);
    assert_non_null(strstr(msg, "config.json"));
    assert_non_null(strstr(msg, "kwargs.encoder_num_heads"));
    load_with("encoder_num_heads", 5, msg, sizeof msg);
    assert_non_null(strstr(msg, "'kwargs.encoder_embed_dim' (48) must be divisible by "
                                "'kwargs.encoder_num_heads' (5)"));
    load_with("encoder_embed_dim", 50, msg, sizeof msg);
    assert_non_null(strstr(msg, "must be divisible"));
}

static void test_input_errors(void **state)
{
    (void)state;
    char dir[4096];
    ls_error err = {0};
    ls_model *m;
    assert_int_equal(ls_model_load(ls_golden_path(FIXTURES[0], dir, sizeof dir), &m, &err),
                     LS_OK);
    ls_tmap *in = ls_tmap_new("inputs");
    float wav[8] = {0};
    ls_tensor t = ls_tensor_make(LS_F32, 2, (int64_t[]){1, 8}, wav);
    assert_int_equal(ls_tmap_put(in, "waveforms", &t, &err), LS_OK);
    ls_graph *g = NULL;
    assert_int_not_equal(ls_model_build(m, in, NULL, &g, &err), LS_OK);
    assert_null(g);
    assert_non_null(strstr(err.msg, "conv layer 0 has kernel 10, larger than its input of 8"));

    /* 19 samples pass block 0 (2 frames) but not block 1 (kernel 3) */
    float wav19[19] = {0};
    t = ls_tensor_make(LS_F32, 2, (int64_t[]){1, 19}, wav19);
    assert_int_equal(ls_tmap_put(in, "waveforms", &t, &err), LS_OK);
    assert_int_not_equal(ls_model_build(m, in, NULL, &g, &err), LS_OK);
    assert_non_null(strstr(err.msg, "conv layer 1 has kernel 3, larger than its input of 2"));

    /* lengths are optional: without them every item is full length */
    float wav2[2 * 400];
    for (int i = 0; i < 800; i++)
        wav2[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    t = ls_tensor_make(LS_F32, 2, (int64_t[]){2, 400}, wav2);
    assert_int_equal(ls_tmap_put(in, "waveforms", &t, &err), LS_OK);
    if (ls_model_build(m, in, NULL, &g, &err))
        fail_msg("%s", err.msg);
    ls_exec *ex;
    assert_int_equal(ls_exec_new(g, NULL, &ex, &err), LS_OK);
    assert_int_equal(ls_exec_set_inputs(ex, in, &err), LS_OK);
    assert_int_equal(ls_exec_run(ex, &err), LS_OK);
    const ls_tensor *l = ls_exec_out(ex, ls_graph_find(g, "output.1"));
    assert_non_null(l);
    assert_int_equal((int64_t)ls_tensor_get_flat(l, 0), 19); /* 400 -> 79 -> 39 -> 19 */
    const ls_tensor *y = ls_exec_out(ex, ls_graph_find(g, "output"));
    ls_stats s;
    ls_tensor_stats(y, &s);
    assert_int_equal(s.nan + s.inf, 0);
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_norm_fast),
        cmocka_unit_test(test_group_norm_reference),
        cmocka_unit_test(test_layer_norm_fast),
        cmocka_unit_test(test_layer_norm_reference),
        cmocka_unit_test(test_hf_group_norm),
        cmocka_unit_test(test_hf_layer_norm_parametrized),
        cmocka_unit_test(test_base_config_shapes),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_input_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
