/* wav2vec2.c - torchaudio 0.13.1 wav2vec2_model (Wav2Vec2Model), node by
 * node, under torchaudio's module paths and state_dict names.
 *
 *   waveforms [B,N] ──unsqueeze──> [B,1,N]
 *     feature_extractor.conv_layers.i:  conv1d(k,s) -> norm -> GELU   [B,C,T_i]
 *        (group_norm: GroupNorm(C,C) on block 0 only, over the whole
 *         padded time axis; layer_norm: LayerNorm over C on every block)
 *        lengths: T_i = floor((T_{i-1} - k) / s) + 1      (".1" points)
 *     feature_extractor = transpose -> [B,T,C]
 *   encoder.feature_projection: LayerNorm(C) -> Linear(C,E) -> dropout
 *   encoder.transformer.input.0: padded frames set to 0
 *   encoder.transformer:
 *     x + pos_conv_embed(x)   grouped conv, pad K//2, drop last frame if K
 *                             even, GELU; weight = g * v / ||v|| (dim=2)
 *     post-norm (encoder_layer_norm_first = false): layer_norm, layers
 *       layer: x = LN(x + attn(x)); x = final_LN(x + FF(x))
 *     pre-norm (true): layers, then layer_norm
 *       layer: x += attn(LN(x)); x += FF(final_LN(x))
 *     attention: (q * hd^-0.5) @ k^T + mask_add (-10000 on padded keys),
 *                softmax, @ v, out_proj
 *   aux: Linear(E, aux_num_out), when configured
 *   output = (logits, lengths)
 *
 * Hugging Face transformers directories (config.json with "model_type":
 * "wav2vec2") are read too.  Their config maps onto torchaudio's
 * arguments, and their keys are renamed on load the way torchaudio's
 * import_huggingface_model loads the submodules' state_dicts:
 *
 *   transformers (Wav2Vec2ForCTC)                torchaudio (Wav2Vec2Model)
 *   ------------------------------------------   ------------------------------------
 *   wav2vec2.feature_extractor.conv_layers.N.*   feature_extractor.conv_layers.N.*
 *   wav2vec2.feature_projection.*                encoder.feature_projection.*
 *   wav2vec2.encoder.pos_conv_embed.conv.        encoder.transformer.pos_conv_embed.conv.
 *     parametrizations.weight.original0            weight_g   (newer transformers)
 *     parametrizations.weight.original1            weight_v
 *   wav2vec2.encoder.*                           encoder.transformer.*
 *     (pos_conv_embed.conv.weight_g/weight_v/bias, layer_norm.*,
 *      layers.N.attention.{q,k,v,out}_proj.*, layers.N.layer_norm.*,
 *      layers.N.feed_forward.{intermediate,output}_dense.*,
 *      layers.N.final_layer_norm.*: same names below the prefix)
 *   lm_head.*                                    aux.*
 *   wav2vec2.masked_spec_embed, quantizer.*,     (dropped: not used by the forward)
 *   project_q.*, project_hid.*
 *   The "wav2vec2." prefix may be absent (a bare Wav2Vec2Model).
 *
 *   config.json (Wav2Vec2Config)                 wav2vec2_model argument
 *   feat_extract_norm "group" / "layer"          extractor_mode "group_norm" / "layer_norm"
 *   zip(conv_dim, conv_kernel, conv_stride)      extractor_conv_layer_config
 *   conv_bias                                    extractor_conv_bias
 *   hidden_size                                  encoder_embed_dim
 *   num_conv_pos_embeddings                      encoder_pos_conv_kernel
 *   num_conv_pos_embedding_groups                encoder_pos_conv_groups
 *   num_hidden_layers / num_attention_heads      encoder_num_layers / encoder_num_heads
 *   intermediate_size                            encoder_ff_interm_features
 *   do_stable_layer_norm                         encoder_layer_norm_first
 *   vocab_size (only with lm_head weights)       aux_num_out
 *   layer_norm_eps                               (torchaudio: always 1e-5; used for the
 *                                                 encoder's norms, as transformers does)
 *   feat_proj_dropout, attention_dropout,        encoder_projection_dropout, ..._attention_dropout,
 *   activation_dropout, hidden_dropout           ..._ff_interm_dropout, encoder_dropout
 * docs/wav2vec2_hf_mapping.md has the same table.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hf.h"
#include "layerstep/attention.h"
#include "layerstep/config.h"
#include "layerstep/model.h"
#include "ctc.h"
#include "random_weights.h"

#define W2V_MAX_CONV 32
#define W2V_EXTRACTOR_EPS 1e-5 /* torch's GroupNorm / LayerNorm default */

typedef struct w2v_conv {
    int64_t out, kernel, stride;
} w2v_conv;

typedef struct w2v_cfg {
    bool hf;                 /* read from a transformers config.json */
    bool group_norm;         /* extractor_mode "group_norm" (else "layer_norm") */
    int n_conv;
    w2v_conv conv[W2V_MAX_CONV];
    bool conv_bias;
    int64_t embed, pos_kernel, pos_groups, layers, heads, ff;
    bool layer_norm_first;   /* encoder_layer_norm_first: pre-norm layers */
    int64_t aux_num_out;     /* 0: no aux head */
    double eps;              /* encoder norms (printed as given, run as float) */
    /* dropouts: identity in eval, kept for the module tree's repr */
    double p_proj, p_attn, p_ff, p_out;
} w2v_cfg;

/* ------------------------------------------------------------------ */
/* config                                                               */

static const w2v_conv BASE_CONVS[] = {{512, 10, 5}, {512, 3, 2}, {512, 3, 2}, {512, 3, 2},
                                      {512, 3, 2},  {512, 2, 2}, {512, 2, 2}};

static int parse_convs_torchaudio(const cJSON *root, const char *file, w2v_cfg *c, ls_error *err)
{
    const char *key = "kwargs.extractor_conv_layer_config";
    const cJSON *list = ls_json_at(root, key);
    if (!list || cJSON_IsNull(list)) {
        /* None: wav2vec2_model's documented default */
        c->n_conv = (int)(sizeof BASE_CONVS / sizeof BASE_CONVS[0]);
        memcpy(c->conv, BASE_CONVS, sizeof BASE_CONVS);
        return LS_OK;
    }
    int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    if (n < 1 || n > W2V_MAX_CONV)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: '%s' must be a list of 1 to %d [out_channels, kernel, stride] "
                            "triples",
                            file, key, W2V_MAX_CONV);
    for (int i = 0; i < n; i++) {
        const cJSON *t = cJSON_GetArrayItem(list, i);
        if (!cJSON_IsArray(t) || cJSON_GetArraySize(t) != 3)
            return ls_error_set(err, LS_ERR_FORMAT,
                                "%s: '%s.%d' must be an [out_channels, kernel, stride] triple",
                                file, key, i);
        int64_t *dst[3] = {&c->conv[i].out, &c->conv[i].kernel, &c->conv[i].stride};
        for (int j = 0; j < 3; j++) {
            char k[128];
            snprintf(k, sizeof k, "%s.%d.%d", key, i, j);
            int rc = ls_json_int(root, k, file, 1, 1 << 20, dst[j], err);
            if (rc)
                return rc;
        }
    }
    c->n_conv = n;
    return LS_OK;
}

static int parse_torchaudio(const cJSON *root, const char *file, w2v_cfg *c, ls_error *err)
{
    char mode[32];
    int rc = ls_json_str(root, "kwargs.extractor_mode", file, mode, sizeof mode, err);
    if (rc)
        return rc;
    if (strcmp(mode, "group_norm") && strcmp(mode, "layer_norm"))
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: 'kwargs.extractor_mode' must be \"group_norm\" or "
                            "\"layer_norm\", found \"%s\"",
                            file, mode);
    c->group_norm = strcmp(mode, "group_norm") == 0;
    if ((rc = parse_convs_torchaudio(root, file, c, err)) ||
        (rc = ls_json_bool(root, "kwargs.extractor_conv_bias", file, &c->conv_bias, err)) ||
        (rc = ls_json_int(root, "kwargs.encoder_embed_dim", file, 1, 1 << 16, &c->embed, err)) ||
        (rc = ls_json_int(root, "kwargs.encoder_pos_conv_kernel", file, 1, 1 << 16,
                          &c->pos_kernel, err)) ||
        (rc = ls_json_int(root, "kwargs.encoder_pos_conv_groups", file, 1, 1 << 16,
                          &c->pos_groups, err)) ||
        (rc = ls_json_int(root, "kwargs.encoder_num_layers", file, 0, 1024, &c->layers, err)) ||
        (rc = ls_json_int(root, "kwargs.encoder_num_heads", file, 1, 1 << 16, &c->heads, err)) ||
        (rc = ls_json_int(root, "kwargs.encoder_ff_interm_features", file, 1, 1 << 20, &c->ff,
                          err)) ||
        (rc = ls_json_bool(root, "kwargs.encoder_layer_norm_first", file, &c->layer_norm_first,
                           err)) ||
        (rc = ls_json_int_opt(root, "kwargs.aux_num_out", file, 1, 1 << 20, 0, &c->aux_num_out,
                              err)) ||
        (rc = ls_json_num_opt(root, "kwargs.encoder_projection_dropout", file, 0, 1, 0.1,
                              &c->p_proj, err)) ||
        (rc = ls_json_num_opt(root, "kwargs.encoder_attention_dropout", file, 0, 1, 0.1,
                              &c->p_attn, err)) ||
        (rc = ls_json_num_opt(root, "kwargs.encoder_ff_interm_dropout", file, 0, 1, 0.0,
                              &c->p_ff, err)) ||
        (rc = ls_json_num_opt(root, "kwargs.encoder_dropout", file, 0, 1, 0.1, &c->p_out, err)))
        return rc;
    c->eps = 1e-5; /* torchaudio builds every LayerNorm with the default */
    return LS_OK;
}

/* One of the three parallel conv lists of a transformers config. */
static int parse_hf_list(const cJSON *root, const char *file, const char *key, int *n,
                         int64_t *vals, ls_error *err)
{
    const cJSON *list = ls_json_at(root, key);
    int len = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    if (!list)
        return ls_error_set(err, LS_ERR_MISSING, "%s: missing key '%s'", file, key);
    if (len < 1 || len > W2V_MAX_CONV)
        return ls_error_set(err, LS_ERR_FORMAT, "%s: '%s' must be a list of 1 to %d integers",
                            file, key, W2V_MAX_CONV);
    if (*n >= 0 && len != *n)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: '%s' has %d entries, but 'conv_dim' has %d (one per conv layer)",
                            file, key, len, *n);
    for (int i = 0; i < len; i++) {
        char k[96];
        snprintf(k, sizeof k, "%s.%d", key, i);
        int rc = ls_json_int(root, k, file, 1, 1 << 20, &vals[i], err);
        if (rc)
            return rc;
    }
    *n = len;
    return LS_OK;
}

static int parse_hf(const cJSON *root, const char *file, w2v_cfg *c, ls_error *err)
{
    char norm[32];
    int rc = ls_json_str_opt(root, "feat_extract_norm", file, "group", norm, sizeof norm, err);
    if (rc)
        return rc;
    if (strcmp(norm, "group") && strcmp(norm, "layer"))
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: 'feat_extract_norm' must be \"group\" or \"layer\", found \"%s\"",
                            file, norm);
    c->hf = true;
    c->group_norm = strcmp(norm, "group") == 0;
    int64_t dim[W2V_MAX_CONV], kern[W2V_MAX_CONV], stride[W2V_MAX_CONV];
    int n = -1;
    double eps;
    if ((rc = parse_hf_list(root, file, "conv_dim", &n, dim, err)) ||
        (rc = parse_hf_list(root, file, "conv_kernel", &n, kern, err)) ||
        (rc = parse_hf_list(root, file, "conv_stride", &n, stride, err)) ||
        (rc = ls_json_bool_opt(root, "conv_bias", file, false, &c->conv_bias, err)) ||
        (rc = ls_json_int(root, "hidden_size", file, 1, 1 << 16, &c->embed, err)) ||
        (rc = ls_json_int_opt(root, "num_conv_pos_embeddings", file, 1, 1 << 16, 128,
                              &c->pos_kernel, err)) ||
        (rc = ls_json_int_opt(root, "num_conv_pos_embedding_groups", file, 1, 1 << 16, 16,
                              &c->pos_groups, err)) ||
        (rc = ls_json_int(root, "num_hidden_layers", file, 0, 1024, &c->layers, err)) ||
        (rc = ls_json_int(root, "num_attention_heads", file, 1, 1 << 16, &c->heads, err)) ||
        (rc = ls_json_int(root, "intermediate_size", file, 1, 1 << 20, &c->ff, err)) ||
        (rc = ls_json_bool_opt(root, "do_stable_layer_norm", file, false, &c->layer_norm_first,
                               err)) ||
        (rc = ls_json_num_opt(root, "layer_norm_eps", file, 1e-12, 1.0, 1e-5, &eps, err)) ||
        (rc = ls_json_int_opt(root, "vocab_size", file, 1, 1 << 20, 0, &c->aux_num_out, err)) ||
        (rc = ls_json_num_opt(root, "feat_proj_dropout", file, 0, 1, 0.0, &c->p_proj, err)) ||
        (rc = ls_json_num_opt(root, "attention_dropout", file, 0, 1, 0.1, &c->p_attn, err)) ||
        (rc = ls_json_num_opt(root, "activation_dropout", file, 0, 1, 0.1, &c->p_ff, err)) ||
        (rc = ls_json_num_opt(root, "hidden_dropout", file, 0, 1, 0.1, &c->p_out, err)))
        return rc;
    /* switches that change the forward and torchaudio's importer ignores:
     * refused, so such a model cannot run with the wrong math */
    static const char *const ACTS[] = {"hidden_act", "feat_extract_activation"};
    for (int i = 0; i < 2; i++) {
        char act[32];
        if ((rc = ls_json_str_opt(root, ACTS[i], file, "gelu", act, sizeof act, err)))
            return rc;
        if (strcmp(act, "gelu"))
            return ls_error_set(err, LS_ERR_RANGE,
                                "%s: '%s' = \"%s\" is not supported (only \"gelu\", erf GELU)",
                                file, ACTS[i], act);
    }
    bool adapter;
    if ((rc = ls_json_bool_opt(root, "add_adapter", file, false, &adapter, err)))
        return rc;
    if (adapter)
        return ls_error_set(err, LS_ERR_RANGE,
                            "%s: 'add_adapter' = true is not supported (no adapter layers)", file);
    c->n_conv = n;
    for (int i = 0; i < n; i++)
        c->conv[i] = (w2v_conv){dim[i], kern[i], stride[i]};
    c->eps = eps;
    return LS_OK;
}

static int parse_config(ls_model *m, ls_error *err)
{
    const cJSON *root = ls_model_config(m);
    const char *file = ls_model_config_path(m);
    w2v_cfg *c = calloc(1, sizeof *c);
    if (!c)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    int rc;
    const char *emb_key = "", *heads_key = "", *groups_key = "";
    if (ls_json_at(root, "kwargs")) {
        rc = parse_torchaudio(root, file, c, err);
        emb_key = "kwargs.encoder_embed_dim";
        heads_key = "kwargs.encoder_num_heads";
        groups_key = "kwargs.encoder_pos_conv_groups";
    } else if (ls_json_at(root, "model_type")) {
        rc = parse_hf(root, file, c, err);
        emb_key = "hidden_size";
        heads_key = "num_attention_heads";
        groups_key = "num_conv_pos_embedding_groups";
    } else {
        rc = ls_error_set(err, LS_ERR_MISSING,
                          "%s: missing key 'kwargs' (torchaudio wav2vec2_model arguments) or "
                          "'model_type' (a Hugging Face Wav2Vec2Config)",
                          file);
    }
    if (!rc && c->embed % c->heads)
        rc = ls_error_set(err, LS_ERR_RANGE,
                          "%s: '%s' (%lld) must be divisible by '%s' (%lld)", file, emb_key,
                          (long long)c->embed, heads_key, (long long)c->heads);
    if (!rc && c->embed % c->pos_groups)
        rc = ls_error_set(err, LS_ERR_RANGE,
                          "%s: '%s' (%lld) must be divisible by '%s' (%lld)", file, emb_key,
                          (long long)c->embed, groups_key, (long long)c->pos_groups);
    if (rc) {
        free(c);
        return rc;
    }
    ls_model_set_cfg(m, c);
    return LS_OK;
}

/* ------------------------------------------------------------------ */
/* Hugging Face keys                                                    */

typedef struct hf_rule {
    const char *from, *to; /* prefix rewrite, longest first where they nest */
} hf_rule;

static const hf_rule HF_RULES[] = {
    {"wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original0",
     "encoder.transformer.pos_conv_embed.conv.weight_g"},
    {"wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original1",
     "encoder.transformer.pos_conv_embed.conv.weight_v"},
    {"wav2vec2.feature_extractor.", "feature_extractor."},
    {"wav2vec2.feature_projection.", "encoder.feature_projection."},
    {"wav2vec2.encoder.", "encoder.transformer."},
    {"lm_head.", "aux."},
    /* a bare Wav2Vec2Model has no "wav2vec2." prefix */
    {"encoder.pos_conv_embed.conv.parametrizations.weight.original0",
     "encoder.transformer.pos_conv_embed.conv.weight_g"},
    {"encoder.pos_conv_embed.conv.parametrizations.weight.original1",
     "encoder.transformer.pos_conv_embed.conv.weight_v"},
    {"feature_extractor.", "feature_extractor."},
    {"feature_projection.", "encoder.feature_projection."},
    {"encoder.", "encoder.transformer."},
};

int ls_wav2vec2_hf_import(const ls_tmap *in, ls_tmap **out, ls_error *err)
{
    char src[512];
    snprintf(src, sizeof src, "%s", ls_tmap_source(in));
    ls_tmap *w = ls_tmap_new(src);
    if (!w)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    for (int i = 0; i < ls_tmap_count(in); i++) {
        const char *name = ls_tmap_name(in, i);
        for (size_t r = 0; r < sizeof HF_RULES / sizeof HF_RULES[0]; r++) {
            size_t n = strlen(HF_RULES[r].from);
            if (strncmp(name, HF_RULES[r].from, n) != 0)
                continue;
            char key[512];
            if (snprintf(key, sizeof key, "%s%s", HF_RULES[r].to, name + n) >= (int)sizeof key)
                break;
            int rc = ls_tmap_put(w, key, ls_tmap_at(in, i), err);
            if (rc) {
                ls_tmap_free(w);
                return rc;
            }
            break;
        }
    }
    *out = w;
    return LS_OK;
}

/* ------------------------------------------------------------------ */
/* graph                                                                */

static int linear(ls_graph *g, int x, const char *name, int64_t in, int64_t out)
{
    char extra[128];
    snprintf(extra, sizeof extra, "in_features=%lld, out_features=%lld, bias=True",
             (long long)in, (long long)out);
    ls_graph_begin(g, "Linear", extra, "%s", name);
    int w = ls_graph_weight(g, "weight", 2, (int64_t[]){out, in});
    int b = ls_graph_weight(g, "bias", 1, (int64_t[]){out});
    return ls_graph_end(g, ls_g_linear(g, x, w, b, NULL));
}

/* nn.LayerNorm over the last dim (x is [..,D]). */
static int layer_norm(ls_graph *g, int x, const char *name, int64_t d, double eps)
{
    char extra[96], e[32];
    snprintf(extra, sizeof extra, "(%lld,), eps=%s, elementwise_affine=True", (long long)d,
             ls_py_float(eps, e, sizeof e));
    ls_graph_begin(g, "LayerNorm", extra, "%s", name);
    int w = ls_graph_weight(g, "weight", 1, (int64_t[]){d});
    int b = ls_graph_weight(g, "bias", 1, (int64_t[]){d});
    return ls_graph_end(g, ls_g_layer_norm(g, x, w, b, (float)eps, NULL));
}

/* Dropout in eval: the module's output is its input. */
static int dropout(ls_graph *g, int x, const char *name, double p)
{
    char extra[64], e[32];
    snprintf(extra, sizeof extra, "p=%s, inplace=False", ls_py_float(p, e, sizeof e));
    ls_graph_begin(g, "Dropout", extra, "%s", name);
    return ls_graph_end(g, x);
}

/* One ConvLayerBlock: conv -> norm -> GELU, and the lengths after it.
 * x is [B,C_in,T]; *len is updated to the block's output lengths. */
static int conv_block(ls_graph *g, const w2v_cfg *c, int i, int64_t c_in, int x, int *len)
{
    const w2v_conv *cv = &c->conv[i];
    const bool gn = c->group_norm && i == 0, ln = !c->group_norm;
    char extra[160], e[32];
    ls_graph_begin(g, "ConvLayerBlock", "", "%d", i);
    ls_py_float(W2V_EXTRACTOR_EPS, e, sizeof e);
    if (gn) {
        snprintf(extra, sizeof extra, "%lld, %lld, eps=%s, affine=True", (long long)cv->out,
                 (long long)cv->out, e);
        ls_graph_declare(g, "GroupNorm", extra, "layer_norm");
    } else if (ln) {
        snprintf(extra, sizeof extra, "(%lld,), eps=%s, elementwise_affine=True",
                 (long long)cv->out, e);
        ls_graph_declare(g, "LayerNorm", extra, "layer_norm");
    }
    snprintf(extra, sizeof extra, "%lld, %lld, kernel_size=(%lld,), stride=(%lld,)%s",
             (long long)c_in, (long long)cv->out, (long long)cv->kernel, (long long)cv->stride,
             c->conv_bias ? "" : ", bias=False");
    ls_graph_begin(g, "Conv1d", extra, "conv");
    ls_op_params p = {.i = {cv->stride, 0, 1}};
    int in[3] = {x, ls_graph_weight(g, "weight", 3, (int64_t[]){cv->out, c_in, cv->kernel}),
                 c->conv_bias ? ls_graph_weight(g, "bias", 1, (int64_t[]){cv->out}) : -1};
    int y = ls_graph_end(g, ls_graph_op(g, LS_OP_CONV1D, &p, in, c->conv_bias ? 3 : 2, NULL));
    if (gn) {
        /* one group per channel: each channel normalised over all of T,
         * padding included */
        ls_graph_begin(g, "GroupNorm", NULL, "layer_norm");
        ls_op_params gp = {.i = {cv->out}, .f = {(float)W2V_EXTRACTOR_EPS}};
        int gin[3] = {y, ls_graph_weight(g, "weight", 1, (int64_t[]){cv->out}),
                      ls_graph_weight(g, "bias", 1, (int64_t[]){cv->out})};
        y = ls_graph_end(g, ls_graph_op(g, LS_OP_GROUP_NORM, &gp, gin, 3, NULL));
    } else if (ln) {
        /* torchaudio's LayerNorm subclass: transpose, norm over C, back */
        ls_graph_begin(g, "LayerNorm", NULL, "layer_norm");
        int t = ls_g_transpose(g, y, 1, 2, NULL);
        int w = ls_graph_weight(g, "weight", 1, (int64_t[]){cv->out});
        int b = ls_graph_weight(g, "bias", 1, (int64_t[]){cv->out});
        int n = ls_g_layer_norm(g, t, w, b, (float)W2V_EXTRACTOR_EPS, NULL);
        y = ls_graph_end(g, ls_g_transpose(g, n, 1, 2, NULL));
    }
    int a = ls_g_op1(g, LS_OP_GELU, y, NULL);
    ls_op_params lp = {.i = {cv->kernel, cv->stride, 0}};
    *len = ls_graph_op(g, LS_OP_CONV_LEN, &lp, len, 1, NULL);
    ls_graph_alias(g, *len, "1");
    return ls_graph_end(g, a);
}

/* SelfAttention through the shared builder.  mask [B,1,T,T] bool and
 * mask_add [B,1,T,T] float. */
static int self_attention(ls_graph *g, const w2v_cfg *c, int x, int mask, int mask_add)
{
    const int64_t E = c->embed;
    const int H = (int)c->heads, hd = (int)(E / c->heads);
    char e[32], extra[64];
    ls_graph_begin(g, "SelfAttention", "", "attention");
    snprintf(extra, sizeof extra, "p=%s, inplace=False", ls_py_float(c->p_attn, e, sizeof e));
    ls_graph_declare(g, "Dropout", extra, "dropout");
    const char *order[] = {"k_proj", "v_proj", "q_proj", "out_proj"};
    snprintf(extra, sizeof extra, "in_features=%lld, out_features=%lld, bias=True",
             (long long)E, (long long)E);
    for (int i = 0; i < 4; i++)
        ls_graph_declare(g, "Linear", extra, order[i]);
    int q = ls_attn_heads(g, linear(g, x, "q_proj", E, E), H, hd, "q");
    int k = ls_attn_heads(g, linear(g, x, "k_proj", E, E), H, hd, "k");
    int v = ls_attn_heads(g, linear(g, x, "v_proj", E, E), H, hd, "v");
    ls_attn_spec s = ls_attn_spec_default(H, hd, hd);
    s.scale_mode = LS_SCALE_Q_BEFORE;
    s.scale = (float)pow((double)hd, -0.5); /* head_dim**-0.5, applied as float32 */
    s.mask_mode = LS_MASK_ADD;
    int ctx = ls_attn_core(g, q, k, v, mask, mask_add, &s);
    char name[512];
    snprintf(name, sizeof name, "%s.attn", ls_graph_scope(g));
    dropout(g, ls_graph_find(g, name), "dropout", c->p_attn);
    return ls_graph_end(g, linear(g, ctx, "out_proj", E, E));
}

static int feed_forward(ls_graph *g, const w2v_cfg *c, int x)
{
    ls_graph_begin(g, "FeedForward", "", "feed_forward");
    int h = linear(g, x, "intermediate_dense", c->embed, c->ff);
    h = dropout(g, ls_g_op1(g, LS_OP_GELU, h, NULL), "intermediate_dropout", c->p_ff);
    char extra[128];
    snprintf(extra, sizeof extra, "in_features=%lld, out_features=%lld, bias=True",
             (long long)c->ff, (long long)c->embed);
    ls_graph_begin(g, "Linear", extra, "output_dense");
    ls_graph_alias(g, h, "input.0");
    int w = ls_graph_weight(g, "weight", 2, (int64_t[]){c->embed, c->ff});
    int b = ls_graph_weight(g, "bias", 1, (int64_t[]){c->embed});
    h = ls_graph_end(g, ls_g_linear(g, h, w, b, NULL));
    h = dropout(g, h, "output_dropout", c->p_out);
    return ls_graph_end(g, h);
}

static int encoder_layer(ls_graph *g, const w2v_cfg *c, int i, int x, int mask, int mask_add)
{
    const int64_t E = c->embed;
    char ln_extra[96], e[32];
    snprintf(ln_extra, sizeof ln_extra, "(%lld,), eps=%s, elementwise_affine=True",
             (long long)E, ls_py_float(c->eps, e, sizeof e));
    ls_graph_begin(g, "EncoderLayer", "", "%d", i);
    ls_graph_declare(g, "SelfAttention", "", "attention");
    char extra[64];
    snprintf(extra, sizeof extra, "p=%s, inplace=False", ls_py_float(c->p_out, e, sizeof e));
    ls_graph_declare(g, "Dropout", extra, "dropout");
    ls_graph_declare(g, "LayerNorm", ln_extra, "layer_norm");
    ls_graph_declare(g, "FeedForward", "", "feed_forward");
    ls_graph_declare(g, "LayerNorm", ln_extra, "final_layer_norm");
    int residual = x;
    if (c->layer_norm_first)
        x = layer_norm(g, x, "layer_norm", E, c->eps);
    x = self_attention(g, c, x, mask, mask_add);
    x = dropout(g, x, "dropout", c->p_out);
    x = ls_g_op2(g, LS_OP_ADD, residual, x, NULL);
    if (c->layer_norm_first) {
        int ff = feed_forward(g, c, layer_norm(g, x, "final_layer_norm", E, c->eps));
        x = ls_g_op2(g, LS_OP_ADD, x, ff, NULL);
    } else {
        x = layer_norm(g, x, "layer_norm", E, c->eps);
        int ff = feed_forward(g, c, x);
        x = layer_norm(g, ls_g_op2(g, LS_OP_ADD, x, ff, NULL), "final_layer_norm", E, c->eps);
    }
    return ls_graph_end(g, x);
}

/* ConvolutionalPositionalEmbedding; x is [B,T,E]. */
static int pos_conv_embed(ls_graph *g, const w2v_cfg *c, int x, int64_t T)
{
    const int64_t E = c->embed, K = c->pos_kernel, G = c->pos_groups;
    ls_graph_begin(g, "ConvolutionalPositionalEmbedding", "", "pos_conv_embed");
    int t = ls_g_transpose(g, x, 1, 2, NULL);
    char extra[160];
    snprintf(extra, sizeof extra,
             "%lld, %lld, kernel_size=(%lld,), stride=(%lld,), padding=(%lld,), groups=%lld",
             (long long)E, (long long)E, (long long)K, 1LL, (long long)(K / 2), (long long)G);
    ls_graph_begin(g, "Conv1d", extra, "conv");
    /* weight_norm(dim=2): one norm per kernel tap, over (out, in/groups) */
    ls_op_params wp = {.i = {2}};
    int win[2] = {ls_graph_weight(g, "weight_v", 3, (int64_t[]){E, E / G, K}),
                  ls_graph_weight(g, "weight_g", 3, (int64_t[]){1, 1, K})};
    int w = ls_graph_op(g, LS_OP_WEIGHT_NORM, &wp, win, 2, "weight");
    ls_op_params cp = {.i = {1, K / 2, G}};
    int cin[3] = {t, w, ls_graph_weight(g, "bias", 1, (int64_t[]){E})};
    int y = ls_graph_end(g, ls_graph_op(g, LS_OP_CONV1D, &cp, cin, 3, NULL));
    if (K % 2 == 0) /* padding K//2 on both sides gives one frame too many */
        y = ls_g_slice(g, y, 2, 0, T, 1, NULL);
    y = ls_g_op1(g, LS_OP_GELU, y, NULL);
    return ls_graph_end(g, ls_g_transpose(g, y, 1, 2, NULL));
}

static bool has_aux(const ls_model *m, const w2v_cfg *c)
{
    if (c->aux_num_out <= 0)
        return false;
    /* transformers: vocab_size is always set, the head exists only in
     * Wav2Vec2ForCTC (torchaudio's importer checks the class) */
    return !c->hf || ls_tmap_get(ls_model_weights(m), "aux.weight") != NULL;
}

static int build(const ls_model *m, const ls_tmap *inputs, const ls_build_opts *o,
                 ls_graph **out, ls_error *err)
{
    const w2v_cfg *c = ls_model_cfg(m);
    *out = NULL;
    if (o && o->module && *o->module)
        return ls_error_set(err, LS_ERR_ARG,
                            "wav2vec2: building one module alone ('%s') is not supported; "
                            "run the whole model and break on it",
                            o->module);
    const ls_tensor *wav = ls_tmap_get(inputs, "waveforms");
    if (!wav)
        return ls_error_set(err, LS_ERR_MISSING,
                            "%s: no input 'waveforms' (float32 audio [B,N] or [N])",
                            inputs ? ls_tmap_source(inputs) : "inputs");
    if (wav->dtype != LS_F32 || wav->ndim < 1 || wav->ndim > 2)
        return ls_error_set(err, LS_ERR_SHAPE,
                            "%s: 'waveforms' is %s with %d dims, expected float32 [B,N] or [N]",
                            ls_tmap_source(inputs), ls_dtype_name(wav->dtype), wav->ndim);
    const int64_t B = wav->ndim == 2 ? wav->shape[0] : 1, N = wav->shape[wav->ndim - 1];
    const ls_tensor *lens = ls_tmap_get(inputs, "lengths");
    if (lens && (lens->dtype != LS_I64 || lens->ndim != 1 || lens->shape[0] != B))
        return ls_error_set(err, LS_ERR_SHAPE,
                            "%s: 'lengths' is %s with %d dims, expected int64 [%lld] (one per "
                            "waveform)",
                            ls_tmap_source(inputs), ls_dtype_name(lens->dtype), lens->ndim,
                            (long long)B);
    /* frames after each conv; torchaudio would fail inside conv1d */
    int64_t T = N;
    for (int i = 0; i < c->n_conv; i++) {
        if (T < c->conv[i].kernel)
            return ls_error_set(err, LS_ERR_SHAPE,
                                "%s: waveforms of %lld samples are too short: conv layer "
                                "%d has kernel %lld, larger than its input of %lld frames",
                                ls_tmap_source(inputs), (long long)N, i, (long long)c->conv[i].kernel, (long long)T);
        T = (T - c->conv[i].kernel) / c->conv[i].stride + 1;
    }

    ls_graph *g = ls_graph_new("Wav2Vec2Model", ls_model_weights(m));
    if (!g)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    int x = ls_graph_input(g, "waveforms", LS_F32, wav->ndim, wav->shape);
    int len;
    if (lens) {
        len = ls_graph_input(g, "lengths", LS_I64, 1, (int64_t[]){B});
    } else {
        /* no lengths: every item is full length (no padding to mask) */
        ls_tensor t;
        ls_error e;
        if (ls_tensor_alloc(ls_graph_arena(g), LS_I64, 1, (int64_t[]){B}, &t, &e)) {
            ls_graph_free(g);
            return ls_error_set(err, e.code, "%s", e.msg);
        }
        for (int64_t b = 0; b < B; b++)
            ((int64_t *)t.data)[b] = N;
        len = ls_graph_const(g, "lengths", &t);
    }
    const int64_t E = c->embed;
    const int64_t C = c->conv[c->n_conv - 1].out;
    const bool aux = has_aux(m, c);
    ls_graph_declare(g, "FeatureExtractor", "", "feature_extractor");
    ls_graph_declare(g, "Encoder", "", "encoder");
    if (aux) {
        char extra[128];
        snprintf(extra, sizeof extra, "in_features=%lld, out_features=%lld, bias=True",
                 (long long)E, (long long)c->aux_num_out);
        ls_graph_declare(g, "Linear", extra, "aux");
    }

    /* ---- feature extractor ---- */
    ls_graph_begin(g, "FeatureExtractor", "", "feature_extractor");
    x = ls_g_reshape(g, x, 3, (int64_t[]){B, 1, N}, NULL);
    ls_graph_begin(g, "ModuleList", "", "conv_layers");
    int64_t c_in = 1;
    for (int i = 0; i < c->n_conv; i++) {
        x = conv_block(g, c, i, c_in, x, &len);
        c_in = c->conv[i].out;
    }
    ls_graph_end(g, -1);
    x = ls_g_transpose(g, x, 1, 2, NULL);
    ls_graph_alias(g, len, "1");
    x = ls_graph_end(g, x);

    /* ---- encoder ---- */
    ls_graph_begin(g, "Encoder", "", "encoder");
    ls_graph_declare(g, "FeatureProjection", "", "feature_projection");
    ls_graph_declare(g, "Transformer", "", "transformer");
    ls_graph_begin(g, "FeatureProjection", "", "feature_projection");
    x = layer_norm(g, x, "layer_norm", C, c->eps);
    x = linear(g, x, "projection", C, E);
    x = ls_graph_end(g, dropout(g, x, "dropout", c->p_proj));
    /* pad [B,T], True on padded frames; keys get -10000 in the scores */
    ls_op_params pp = {.i = {T}};
    int pad = ls_graph_op(g, LS_OP_PAD_MASK, &pp, &len, 1, NULL);
    int pad4 = ls_g_reshape(g, pad, 4, (int64_t[]){B, 1, 1, T}, NULL);
    ls_op_params ep = {.i = {4, B, 1, T, T}};
    int mask = ls_graph_op(g, LS_OP_EXPAND, &ep, &pad4, 1, NULL);
    ls_op_params castp = {.i = {LS_F32}};
    int madd = ls_graph_op(g, LS_OP_CAST, &castp, &pad4, 1, NULL);
    madd = ls_g_scalar(g, LS_OP_SCALE, madd, -10000.0f, NULL);
    int mask_add = ls_graph_op(g, LS_OP_EXPAND, &ep, &madd, 1, NULL);

    ls_graph_begin(g, "Transformer", "", "transformer");
    char extra[96], e[32];
    ls_graph_declare(g, "ConvolutionalPositionalEmbedding", "", "pos_conv_embed");
    snprintf(extra, sizeof extra, "(%lld,), eps=%s, elementwise_affine=True", (long long)E,
             ls_py_float(c->eps, e, sizeof e));
    ls_graph_declare(g, "LayerNorm", extra, "layer_norm");
    snprintf(extra, sizeof extra, "p=%s, inplace=False", ls_py_float(c->p_out, e, sizeof e));
    ls_graph_declare(g, "Dropout", extra, "dropout");
    ls_graph_declare(g, "ModuleList", "", "layers");
    x = ls_g_masked_fill(g, x, ls_g_unsqueeze(g, pad, 2, NULL), 0.0f, "input.0");
    x = ls_g_op2(g, LS_OP_ADD, x, pos_conv_embed(g, c, x, T), NULL);
    /* Transformer.layer_norm_first = not encoder_layer_norm_first */
    if (!c->layer_norm_first)
        x = layer_norm(g, x, "layer_norm", E, c->eps);
    x = dropout(g, x, "dropout", c->p_out);
    ls_graph_begin(g, "ModuleList", "", "layers");
    for (int i = 0; i < c->layers; i++)
        x = encoder_layer(g, c, i, x, mask, mask_add);
    ls_graph_end(g, -1);
    if (c->layer_norm_first)
        x = layer_norm(g, x, "layer_norm", E, c->eps);
    x = ls_graph_end(g, x);
    x = ls_graph_end(g, x);

    if (aux)
        x = linear(g, x, "aux", E, c->aux_num_out);
    ls_graph_alias(g, x, "output");
    ls_graph_alias(g, len, "output.1");
    /* aux's logits trained with CTC (torchaudio's recipes take
     * F.log_softmax(logits, -1) for the loss), then greedy decoding */
    if (aux)
        ls_ctc_greedy_points(g, ls_g_op1(g, LS_OP_LOG_SOFTMAX, x, "log_softmax"), pad,
                             ls_model_ctc_blank(m));

    if (!ls_graph_ok(g)) {
        ls_error_set(err, ls_graph_error(g)->code, "%s", ls_graph_error(g)->msg);
        ls_graph_free(g);
        return err ? err->code : LS_ERR_INTERNAL;
    }
    *out = g;
    return LS_OK;
}

/* ------------------------------------------------------------------ */
/* example inputs and random weights                                    */

static int example_inputs(const ls_model *m, ls_tmap *out, ls_error *err)
{
    (void)m;
    /* one second at 16 kHz: a gliding tone with a little deterministic
     * noise, enough to give every conv something to respond to */
    enum { N = 16000 };
    float *w = malloc(N * sizeof *w);
    if (!w)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    ls_rng r = {12345};
    double phase = 0.0;
    for (int i = 0; i < N; i++) {
        double f = 200.0 + 600.0 * i / N;
        phase += 2.0 * M_PI * f / 16000.0;
        w[i] = (float)(0.5 * sin(phase) + 0.2 * sin(3.0 * phase) +
                       0.02 * (ls_rng_uniform(&r) - 0.5));
    }
    ls_tensor t = ls_tensor_make(LS_F32, 2, (int64_t[]){1, N}, w);
    int64_t n = N;
    ls_tensor l = ls_tensor_make(LS_I64, 1, (int64_t[]){1}, &n);
    int rc = ls_tmap_put(out, "waveforms", &t, err);
    if (!rc)
        rc = ls_tmap_put(out, "lengths", &l, err);
    free(w);
    return rc;
}

static void rw_walk(ls_rw *s_, const ls_model *m)
{
    const w2v_cfg *c = ls_model_cfg(m);
    ls_rw s = *s_;
    char k[256];
    int64_t c_in = 1;
    for (int i = 0; i < c->n_conv; i++) {
        const w2v_conv *cv = &c->conv[i];
        double bound = 1.0 / sqrt((double)(c_in * cv->kernel));
        snprintf(k, sizeof k, "feature_extractor.conv_layers.%d.conv", i);
        ls_rw_put(&s, k, "weight", 3, (int64_t[]){cv->out, c_in, cv->kernel}, bound, 0);
        if (c->conv_bias)
            ls_rw_put(&s, k, "bias", 1, (int64_t[]){cv->out}, bound, 0);
        if (!c->group_norm || i == 0) {
            snprintf(k, sizeof k, "feature_extractor.conv_layers.%d.layer_norm", i);
            ls_rw_norm(&s, k, cv->out);
        }
        c_in = cv->out;
    }
    const int64_t E = c->embed, K = c->pos_kernel, G = c->pos_groups;
    ls_rw_norm(&s, "encoder.feature_projection.layer_norm", c_in);
    ls_rw_linear(&s, "encoder.feature_projection.projection", c_in, E, true);
    /* weight_norm starts from the conv's own init with g = ||v|| per tap */
    double bound = 1.0 / sqrt((double)(E / G * K));
    const char *pc = "encoder.transformer.pos_conv_embed.conv";
    const float *v = ls_rw_put(&s, pc, "weight_v", 3, (int64_t[]){E, E / G, K}, bound, 0);
    float *g = ls_rw_put(&s, pc, "weight_g", 3, (int64_t[]){1, 1, K}, 0, 0.0f);
    if (v && g)
        for (int64_t j = 0; j < K; j++) {
            double ss = 0;
            for (int64_t i = 0; i < E * (E / G); i++)
                ss += (double)v[i * K + j] * v[i * K + j];
            g[j] = (float)sqrt(ss);
        }
    ls_rw_put(&s, pc, "bias", 1, (int64_t[]){E}, bound, 0);
    ls_rw_norm(&s, "encoder.transformer.layer_norm", E);
    static const char *const proj[] = {"k_proj", "v_proj", "q_proj", "out_proj"};
    for (int64_t l = 0; l < c->layers; l++) {
        char p[128];
        for (int j = 0; j < 4; j++) {
            snprintf(p, sizeof p, "encoder.transformer.layers.%lld.attention.%s", (long long)l,
                     proj[j]);
            ls_rw_linear(&s, p, E, E, true);
        }
        snprintf(p, sizeof p, "encoder.transformer.layers.%lld.layer_norm", (long long)l);
        ls_rw_norm(&s, p, E);
        snprintf(p, sizeof p, "encoder.transformer.layers.%lld.feed_forward.intermediate_dense",
                 (long long)l);
        ls_rw_linear(&s, p, E, c->ff, true);
        snprintf(p, sizeof p, "encoder.transformer.layers.%lld.feed_forward.output_dense",
                 (long long)l);
        ls_rw_linear(&s, p, c->ff, E, true);
        snprintf(p, sizeof p, "encoder.transformer.layers.%lld.final_layer_norm", (long long)l);
        ls_rw_norm(&s, p, E);
    }
    if (c->aux_num_out > 0)
        ls_rw_linear(&s, "aux", E, c->aux_num_out, true);
    *s_ = s;
}

static int random_weights(ls_model *m, uint64_t seed, ls_error *err)
{
    return ls_rw_fill_model(m, seed, rw_walk, err);
}

static uint64_t random_weights_bytes(const ls_model *m) { return ls_rw_count_model(m, rw_walk); }

static void print_result(const ls_model *m, const ls_exec *ex, FILE *out)
{
    (void)m;
    const ls_graph *g = ls_exec_graph(ex);
    const ls_tensor *y = ls_exec_out(ex, ls_graph_find(g, "output"));
    const ls_tensor *l = ls_exec_out(ex, ls_graph_find(g, "output.1"));
    if (!y || !l)
        return;
    char s[64];
    fprintf(out, "output %s, frames per item:", ls_shape_str(y, s, sizeof s));
    for (int64_t b = 0; b < l->shape[0]; b++)
        fprintf(out, " %lld", (long long)ls_tensor_get_flat(l, b));
    fprintf(out, "\n");
}

/* 16 kHz samples, then every conv of the extractor (no padding) */
static int time_rates(const ls_model *m, double ms, int64_t *n, double *step, int max)
{
    const w2v_cfg *c = ls_model_cfg(m);
    int k = 0;
    int64_t t = (int64_t)(ms * 16.0 + 0.5);
    double st = 1.0 / 16.0;
    if (k < max) {
        n[k] = t;
        step[k++] = st;
    }
    for (int i = 0; i < c->n_conv && k < max && t >= c->conv[i].kernel; i++) {
        t = (t - c->conv[i].kernel) / c->conv[i].stride + 1;
        st *= (double)c->conv[i].stride;
        n[k] = t;
        step[k++] = st;
    }
    return k;
}

const ls_arch ls_arch_wav2vec2 = {
    .name = "wav2vec2",
    .root_class = "Wav2Vec2Model",
    .parse_config = parse_config,
    .build = build,
    .example_inputs = example_inputs,
    .random_weights = random_weights,
    .random_weights_bytes = random_weights_bytes,
    .token_label = NULL,
    .id_word = ls_ctc_id_word,
    .time_rates = time_rates,
    .print_result = print_result,
};
