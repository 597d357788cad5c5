/* conformer.c - WeNet's ConformerEncoder (wenet/models/transformer/ at 01546996),
 * recorded node by node under WeNet's own module paths and weight names.
 *
 *   xs [B,T,F] --global_cmvn--> (x - mean) * istd
 *      --embed--> Conv2dSubsampling{4,6,8} or LinearNoSubsampling
 *                 -> x * sqrt(D) [B,T',D], pos_emb = pe[:T'] [1,T',D]
 *      --encoders.N--> macaron FFN, rel-pos MHSA, conv module, FFN, norm_final
 *      --after_norm--> output [B,T',D], output.1 = masks [B,1,T'] (True = valid)
 *
 * Padding is processed exactly as given: the subsampling convs and the
 * depthwise conv read padded frames, so a short utterance in a padded
 * batch differs from the same utterance alone, as in WeNet.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/attention.h"
#include "layerstep/config.h"
#include "layerstep/model.h"
#include "conformer.h"
#include "ctc.h"
#include "random_weights.h"

/* ------------------------------------------------------------------ */
/* forward pieces (modules already declared: klass/extra not repeated)   */

static int enter(ls_graph *g, const char *name)
{
    return ls_graph_begin(g, NULL, NULL, "%s", name);
}

static int linear(ls_graph *g, const char *name, int x, int64_t in, int64_t out, bool bias)
{
    enter(g, name);
    int w = ls_graph_weight(g, "weight", 2, (int64_t[]){out, in});
    int b = bias ? ls_graph_weight(g, "bias", 1, (int64_t[]){out}) : -1;
    return ls_graph_end(g, ls_g_linear(g, x, w, b, NULL));
}

static int layer_norm(ls_graph *g, const char *name, int x, int64_t d, double eps)
{
    enter(g, name);
    int w = ls_graph_weight(g, "weight", 1, &d);
    int b = ls_graph_weight(g, "bias", 1, &d);
    return ls_graph_end(g, ls_g_layer_norm(g, x, w, b, (float)eps, NULL));
}

/* Identity in eval; a repeated call gets the reference's ".callN" name. */
static int dropout(ls_graph *g, const char *name, int x)
{
    enter(g, name);
    return ls_graph_end(g, x);
}

static int act(ls_graph *g, const conformer_cfg *c, int x)
{
    static const ls_op OPS[] = {LS_OP_SILU, LS_OP_RELU, LS_OP_GELU, LS_OP_TANH};
    enter(g, "activation");
    return ls_graph_end(g, ls_g_op1(g, OPS[c->act], x, NULL));
}

static int conv(ls_graph *g, ls_op op, int x, int w, int b, int64_t stride, int64_t pad,
                int64_t groups)
{
    ls_op_params p;
    memset(&p, 0, sizeof p);
    p.i[0] = stride;
    p.i[1] = pad;
    p.i[2] = groups;
    int in[3] = {x, w, b};
    return ls_graph_op(g, op, &p, in, b >= 0 ? 3 : 2, NULL);
}

/* A zero-filled constant living in the graph's arena. */
static int zeros(ls_graph *g, int ndim, const int64_t *shape)
{
    ls_tensor t;
    ls_error e;
    if (!ls_graph_ok(g))
        return -1;
    if (ls_tensor_alloc(ls_graph_arena(g), LS_F32, ndim, shape, &t, &e))
        return ls_graph_fail(g, e.code, "%s", e.msg);
    return ls_graph_const(g, NULL, &t);
}

/* Conv2dSubsampling{4,6,8} or LinearNoSubsampling, then RelPositionalEncoding.
 * Returns x; *pos_emb and *mask (True = valid, [B,1,T']) are set. */
static int embed(ls_graph *g, const conformer_cfg *c, int x, int mask, int64_t B, int64_t T,
                 int *pos_emb, int *mask_out)
{
    const int64_t D = c->output_size;
    const sub_desc *sd = &ls_conformer_subs[c->input];
    const int64_t Tsub = ls_conformer_sub_len(sd, T);
    enter(g, "embed");
    ls_graph_name(g, mask, "input.1");
    if (c->input == IN_LINEAR) {
        enter(g, "out");
        int y = linear(g, "0", x, c->input_size, D, true);
        y = layer_norm(g, "1", y, D, 1e-5);
        y = dropout(g, "2", y);
        x = ls_graph_end(g, y);
    } else {
        /* [B,T,F] -> [B,1,T,F] -> convs -> [B,D,T',F'] */
        enter(g, "conv");
        int y = ls_g_unsqueeze(g, x, 1, NULL);
        int64_t cin = 1;
        for (int i = 0; i < sd->n; i++) {
            char name[16];
            const int64_t k = sd->k[i];
            snprintf(name, sizeof name, "%d", 2 * i);
            enter(g, name);
            int w = ls_graph_weight(g, "weight", 4, (int64_t[]){D, cin, k, k});
            int b = ls_graph_weight(g, "bias", 1, &D);
            y = ls_graph_end(g, conv(g, LS_OP_CONV2D, y, w, b, sd->s[i], 0, 1));
            snprintf(name, sizeof name, "%d", 2 * i + 1);
            enter(g, name);
            y = ls_graph_end(g, ls_g_op1(g, LS_OP_RELU, y, NULL));
            cin = D;
        }
        y = ls_graph_end(g, y);
        /* [B,D,T',F'] -> [B,T',D,F'] -> [B,T',D*F']: feature index c*F' + f */
        const int64_t F = ls_conformer_sub_len(sd, c->input_size);
        y = ls_g_contiguous(g, ls_g_transpose(g, y, 1, 2, NULL), NULL);
        y = ls_g_reshape(g, y, 3, (int64_t[]){B, Tsub, D * F}, NULL);
        if (c->input == IN_CONV2D) {
            enter(g, "out");
            x = ls_graph_end(g, linear(g, "0", y, D * F, D, true));
        } else {
            x = linear(g, "linear", y, D * F, D, true);
        }
        /* the mask follows each conv: x_mask[:, :, k-1::s] */
        for (int i = 0; i < sd->n; i++)
            mask = ls_g_slice(g, mask, 2, sd->k[i] - 1, INT64_MAX, sd->s[i], NULL);
    }
    enter(g, "pos_enc");
    x = ls_g_scalar(g, LS_OP_SCALE, x, (float)sqrt((double)D), NULL);
    x = dropout(g, "dropout", x);
    ls_op_params p;
    memset(&p, 0, sizeof p);
    p.i[0] = Tsub;
    p.i[1] = D;
    int pe = ls_g_unsqueeze(g, ls_graph_op(g, LS_OP_POS_TABLE, &p, NULL, 0, NULL), 0, NULL);
    pe = dropout(g, "dropout", pe);
    ls_graph_alias(g, pe, "1");
    x = ls_graph_end(g, x);
    ls_graph_alias(g, pe, "1");
    *mask_out = ls_graph_alias(g, mask, "2");
    *pos_emb = pe;
    return ls_graph_end(g, x);
}

/* Transformer-XL's shift (WeNet before 107b478a), drawn for one head:
 *
 *   bd [T,T] --cat zero column--> [T,T+1] --view--> [T+1,T] --drop row 0--> [T,T]
 *
 * so row i reads bd shifted right by T-1-i, with zeros from the padding. */
static int rel_shift(ls_graph *g, int bd, int64_t B, int64_t H, int64_t T)
{
    int z = zeros(g, 4, (int64_t[]){B, H, T, 1});
    ls_op_params p;
    memset(&p, 0, sizeof p);
    p.i[0] = 3;
    int cat = ls_graph_op(g, LS_OP_CONCAT, &p, (int[]){z, bd}, 2, NULL);
    int v = ls_g_reshape(g, cat, 4, (int64_t[]){B, H, T + 1, T}, NULL);
    return ls_g_slice(g, v, 2, 1, T + 1, 1, NULL);
}

/* RelPositionMultiHeadedAttention, drawn for the two score terms:
 *
 *   q [B,H,T,d] + pos_bias_u [H,1,d] = q_u     matrix_ac = q_u @ k^T  [B,H,T,T]
 *   q [B,H,T,d] + pos_bias_v [H,1,d] = q_v     matrix_bd = q_v @ p^T  [B,H,T,T]
 *   p = linear_pos(pos_emb) [1,T,D] -> [1,H,T,d]   (key position j, no shift)
 *   scores = (ac + bd) / sqrt(d); -inf on padded keys; softmax; 0 on padded keys
 */
static int self_attn(ls_graph *g, const conformer_cfg *c, int x, int pos_emb, int mask,
                     int64_t B, int64_t T, int *k_out, int *v_out)
{
    const int64_t D = c->output_size, H = c->heads, dk = D / H;
    enter(g, "self_attn");
    /* forward(query, key, value, mask, pos_emb): named so one attention can
     * be fed its own tensors, as in model_attn(x, x, x, x, mask) */
    int query = ls_graph_arg(g, x, "query", 0);
    int key = ls_graph_arg(g, x, "key", 0);
    int value = ls_graph_arg(g, x, "value", 0);
    mask = ls_graph_arg(g, mask, "mask", 1); /* [B,1,T] True = valid (WeNet) */
    pos_emb = ls_graph_arg(g, pos_emb, "pos_emb", 0);
    /* mask.unsqueeze(1).eq(0): padded keys, [B,1,1,T] -> [B,1,T,T] */
    ls_op_params ep;
    memset(&ep, 0, sizeof ep);
    ep.i[0] = 4;
    ep.i[1] = B;
    ep.i[2] = 1;
    ep.i[3] = T;
    ep.i[4] = T;
    int attn_mask = ls_graph_op(
        g, LS_OP_EXPAND, &ep,
        (int[]){ls_g_unsqueeze(g, ls_g_op1(g, LS_OP_LOGICAL_NOT, mask, NULL), 1, NULL)}, 1, NULL);
    int q = ls_attn_heads(g, linear(g, "linear_q", query, D, D, c->q_bias), (int)H, (int)dk, "q");
    int k = ls_attn_heads(g, linear(g, "linear_k", key, D, D, c->k_bias), (int)H, (int)dk, "k");
    int v = ls_attn_heads(g, linear(g, "linear_v", value, D, D, c->v_bias), (int)H, (int)dk, "v");
    int p = ls_attn_heads(g, linear(g, "linear_pos", pos_emb, D, D, false), (int)H, (int)dk, "p");
    int bu = ls_graph_weight(g, "pos_bias_u", 2, (int64_t[]){H, dk});
    int bv = ls_graph_weight(g, "pos_bias_v", 2, (int64_t[]){H, dk});
    bu = ls_g_reshape(g, bu, 3, (int64_t[]){H, 1, dk}, NULL);
    bv = ls_g_reshape(g, bv, 3, (int64_t[]){H, 1, dk}, NULL);
    int qu = ls_g_op2(g, LS_OP_ADD, q, bu, "q_with_bias_u");
    int qv = ls_g_op2(g, LS_OP_ADD, q, bv, "q_with_bias_v");
    int ac = ls_g_op2(g, LS_OP_MATMUL, qu, ls_g_transpose(g, k, 2, 3, NULL), "matrix_ac");
    int bd;
    if (c->rel_shift) {
        bd = ls_g_op2(g, LS_OP_MATMUL, qv, ls_g_transpose(g, p, 2, 3, NULL), NULL);
        bd = ls_graph_name(g, rel_shift(g, bd, B, H, T), "matrix_bd");
    } else {
        bd = ls_g_op2(g, LS_OP_MATMUL, qv, ls_g_transpose(g, p, 2, 3, NULL), "matrix_bd");
    }
    /* math.sqrt(d_k) is a double that torch rounds to float32 */
    ls_attn_spec s = ls_attn_spec_default((int)H, (int)dk, (int)dk);
    s.scale = (float)sqrt((double)dk);
    s.mask_value = -INFINITY;
    s.zero_after_softmax = true;
    int scores = ls_g_scalar(g, LS_OP_DIV_SCALAR, ls_g_op2(g, LS_OP_ADD, ac, bd, NULL), s.scale,
                             "scores");
    int ctx = ls_attn_finish(g, scores, v, attn_mask, -1, &s);
    if (ls_graph_ok(g)) {
        char name[512];
        snprintf(name, sizeof name, "%s.attn", ls_graph_scope(g));
        dropout(g, "dropout", ls_graph_find(g, name));
    }
    int y = linear(g, "linear_out", ctx, D, D, c->out_bias);
    ls_graph_alias(g, k, "1.0");
    ls_graph_alias(g, v, "1.1");
    *k_out = k;
    *v_out = v;
    return ls_graph_end(g, y);
}

static int ffn(ls_graph *g, const conformer_cfg *c, const char *name, int x)
{
    const int64_t D = c->output_size, U = c->linear_units;
    enter(g, name);
    int y = linear(g, "w_1", x, D, U, c->mlp_bias);
    y = dropout(g, "dropout", act(g, c, y));
    y = linear(g, "w_2", y, U, D, c->mlp_bias);
    return ls_graph_end(g, y);
}

/* 1x1 or depthwise Conv1d module; `input0` names its input point first. */
static int conv1d_mod(ls_graph *g, const char *name, int x, int64_t in, int64_t out, int64_t k,
                      int64_t pad, int64_t groups, bool bias)
{
    enter(g, name);
    ls_graph_name(g, x, "input.0");
    int w = ls_graph_weight(g, "weight", 3, (int64_t[]){out, in / groups, k});
    int b = bias ? ls_graph_weight(g, "bias", 1, &out) : -1;
    return ls_graph_end(g, conv(g, LS_OP_CONV1D, x, w, b, 1, pad, groups));
}

/* ConvolutionModule on x [B,T,D]; pad is [B,1,T] True = padded frame.
 *   [B,T,D] -> [B,D,T] -> zero pad -> pw1 [B,2I,T] -> GLU [B,I,T]
 *   -> depthwise K -> norm -> act -> pw2 [B,D,T] -> zero pad -> [B,T,D] */
static int conv_module(ls_graph *g, const conformer_cfg *c, int x, int pad, int64_t B,
                       int *x_zeroed)
{
    const int64_t D = c->output_size, I = c->conv_inner_factor * D / 2, K = c->kernel;
    enter(g, "conv_module");
    int y = ls_g_masked_fill(g, ls_g_transpose(g, x, 1, 2, NULL), pad, 0.0f, NULL);
    *x_zeroed = y;
    int64_t dw_pad = (K - 1) / 2;
    int cache = -1;
    ls_op_params p;
    if (c->causal) {
        /* left context only: K-1 zero frames in front of pointwise_conv1
         * (so they pass its bias and the GLU), no padding in the depthwise
         * conv; the last K-1 input frames are the returned cache */
        if (K > 1) {
            int z = zeros(g, 3, (int64_t[]){B, D, K - 1});
            memset(&p, 0, sizeof p);
            p.i[0] = 2;
            y = ls_graph_op(g, LS_OP_CONCAT, &p, (int[]){z, y}, 2, NULL);
            cache = ls_g_slice(g, y, 2, -(K - 1), INT64_MAX, 1, NULL);
        }
        dw_pad = 0;
    }
    y = conv1d_mod(g, "pointwise_conv1", y, D, 2 * I, 1, 0, 1, c->conv_bias);
    memset(&p, 0, sizeof p);
    p.i[0] = 1;
    y = ls_graph_op(g, LS_OP_GLU, &p, &y, 1, NULL);
    y = conv1d_mod(g, "depthwise_conv", y, I, I, K, dw_pad, I, c->conv_bias);
    enter(g, "norm");
    if (c->cnn_layer_norm) {
        int w = ls_graph_weight(g, "weight", 1, &I), b = ls_graph_weight(g, "bias", 1, &I);
        y = ls_g_layer_norm(g, ls_g_transpose(g, y, 1, 2, NULL), w, b, (float)c->conv_norm_eps,
                            NULL);
    } else {
        int in[5] = {y, ls_graph_weight(g, "running_mean", 1, &I),
                     ls_graph_weight(g, "running_var", 1, &I), ls_graph_weight(g, "weight", 1, &I),
                     ls_graph_weight(g, "bias", 1, &I)};
        memset(&p, 0, sizeof p);
        p.f[0] = (float)c->conv_norm_eps;
        y = ls_graph_op(g, LS_OP_BATCH_NORM, &p, in, 5, NULL);
    }
    y = ls_graph_end(g, y);
    y = act(g, c, y);
    if (c->cnn_layer_norm)
        y = ls_g_transpose(g, y, 1, 2, NULL);
    y = conv1d_mod(g, "pointwise_conv2", y, I, D, 1, 0, 1, c->conv_bias);
    y = ls_g_transpose(g, ls_g_masked_fill(g, y, pad, 0.0f, NULL), 1, 2, NULL);
    if (cache >= 0)
        ls_graph_alias(g, cache, "1");
    return ls_graph_end(g, y);
}

/* residual + scale * dropout(y): the layer's one Dropout serves every
 * sub-block, so its calls are named dropout, dropout.call1, ... */
static int residual_add(ls_graph *g, int res, int y, float scale)
{
    y = dropout(g, "dropout", y);
    if (scale != 1.0f)
        y = ls_g_scalar(g, LS_OP_SCALE, y, scale, NULL);
    return ls_g_op2(g, LS_OP_ADD, res, y, NULL);
}

static int encoder_layer(ls_graph *g, const conformer_cfg *c, int64_t l, int x, int pos_emb,
                         int mask, int pad, int64_t B, int64_t T)
{
    const int64_t D = c->output_size;
    const double eps = c->norm_eps;
    const bool pre = c->normalize_before;
    const float ff_scale = c->macaron ? 0.5f : 1.0f;
    char name[32];
    snprintf(name, sizeof name, "%lld", (long long)l);
    enter(g, name);
    if (c->macaron) {
        int y = pre ? layer_norm(g, "norm_ff_macaron", x, D, eps) : x;
        x = residual_add(g, x, ffn(g, c, "feed_forward_macaron", y), ff_scale);
        if (!pre)
            x = layer_norm(g, "norm_ff_macaron", x, D, eps);
    }
    int k, v;
    int y = pre ? layer_norm(g, "norm_mha", x, D, eps) : x;
    x = residual_add(g, x, self_attn(g, c, y, pos_emb, mask, B, T, &k, &v), 1.0f);
    if (!pre)
        x = layer_norm(g, "norm_mha", x, D, eps);
    int cache = -1;
    if (c->use_cnn) {
        y = pre ? layer_norm(g, "norm_conv", x, D, eps) : x;
        int zeroed;
        y = conv_module(g, c, y, pad, B, &zeroed);
        /* WeNet zeroes the padded frames with masked_fill_ on a transposed
         * view of the module's input, in place: without normalize_before
         * that input is the residual itself, whose padded frames are then
         * zero in the sum below (they never reach valid frames) */
        if (!pre)
            x = ls_g_transpose(g, zeroed, 1, 2, NULL);
        if (c->causal && c->kernel > 1 && ls_graph_ok(g)) {
            char full[512];
            snprintf(full, sizeof full, "%s.conv_module.1", ls_graph_scope(g));
            cache = ls_graph_find(g, full);
        }
        x = residual_add(g, x, y, 1.0f);
        if (!pre)
            x = layer_norm(g, "norm_conv", x, D, eps);
    }
    y = pre ? layer_norm(g, "norm_ff", x, D, eps) : x;
    x = residual_add(g, x, ffn(g, c, "feed_forward", y), ff_scale);
    if (!pre)
        x = layer_norm(g, "norm_ff", x, D, eps);
    if (c->use_cnn)
        x = layer_norm(g, "norm_final", x, D, eps);
    /* the layer returns (x, mask, (k, v), cnn_cache) */
    ls_graph_alias(g, mask, "1");
    ls_graph_alias(g, k, "2.0");
    ls_graph_alias(g, v, "2.1");
    if (cache >= 0)
        ls_graph_alias(g, cache, "3");
    return ls_graph_end(g, x);
}

/* ------------------------------------------------------------------ */
/* build                                                                */

static int check_inputs(const conformer_cfg *c, const ls_tmap *inputs, const ls_tensor **xs,
                        const ls_tensor **lens, ls_error *err)
{
    const char *src = inputs ? ls_tmap_source(inputs) : "inputs";
    *xs = inputs ? ls_tmap_get(inputs, "xs") : NULL;
    *lens = inputs ? ls_tmap_get(inputs, "xs_lens") : NULL;
    if (!*xs)
        return ls_error_set(err, LS_ERR_MISSING, "%s: no input 'xs' (float32 fbank [B,T,%lld])",
                            src, (long long)c->input_size);
    const ls_tensor *x = *xs;
    if (x->dtype != LS_F32 || x->ndim != 3 || x->shape[2] != c->input_size) {
        char s[64];
        return ls_error_set(err, LS_ERR_SHAPE,
                            "%s: 'xs' is %s %s, expected float32 [B,T,%lld] (input_size)", src,
                            ls_dtype_name(x->dtype), ls_shape_str(x, s, sizeof s),
                            (long long)c->input_size);
    }
    if (!*lens)
        return ls_error_set(err, LS_ERR_MISSING,
                            "%s: no input 'xs_lens' (int64 [%lld], valid frames per utterance)",
                            src, (long long)x->shape[0]);
    const ls_tensor *l = *lens;
    if (l->dtype != LS_I64 || l->ndim != 1 || l->shape[0] != x->shape[0]) {
        char s[64];
        return ls_error_set(err, LS_ERR_SHAPE,
                            "%s: 'xs_lens' is %s %s, expected int64 [%lld] (one length per "
                            "utterance)",
                            src, ls_dtype_name(l->dtype), ls_shape_str(l, s, sizeof s),
                            (long long)x->shape[0]);
    }
    const sub_desc *sd = &ls_conformer_subs[c->input];
    const int64_t T = x->shape[1], Tsub = ls_conformer_sub_len(sd, T);
    if (Tsub < 1) {
        int64_t need = 1;
        while (ls_conformer_sub_len(sd, need) < 1)
            need++;
        return ls_error_set(err, LS_ERR_SHAPE,
                            "%s: 'xs' has %lld frames, too short for %s (needs at least %lld "
                            "frames to leave one after subsampling)",
                            src, (long long)T, sd->klass, (long long)need);
    }
    if (Tsub > PE_MAX_LEN)
        return ls_error_set(err, LS_ERR_SHAPE,
                            "%s: 'xs' has %lld frames, %lld after subsampling, more than the "
                            "%d positions of RelPositionalEncoding",
                            src, (long long)T, (long long)Tsub, PE_MAX_LEN);
    if (l->data)
        for (int64_t b = 0; b < l->shape[0]; b++) {
            int64_t n = (int64_t)ls_tensor_get(l, &b);
            if (n < 0 || n > T)
                return ls_error_set(err, LS_ERR_RANGE,
                                    "%s: xs_lens[%lld] = %lld is outside [0, %lld] (frames in "
                                    "xs)",
                                    src, (long long)b, (long long)n, (long long)T);
        }
    return LS_OK;
}

static int build(const ls_model *m, const ls_tmap *inputs, const ls_build_opts *o,
                 ls_graph **out, ls_error *err)
{
    const ls_tmap *w = ls_model_weights(m);
    /* linear_out has query_bias's bias switch since WeNet 35e0a1c3 (v3.1.0)
     * but always a bias in v3.0.1 (210b5600): the checkpoint tells which */
    conformer_cfg cfg = *(const conformer_cfg *)ls_model_cfg(m);
    if (w && ls_tmap_get(w, "encoders.0.self_attn.linear_out.bias"))
        cfg.out_bias = true;
    const conformer_cfg *c = &cfg;
    *out = NULL;
    (void)o; /* --module is cut out of the whole graph by ls_model_build */
    const ls_tensor *xs, *lens;
    int rc = check_inputs(c, inputs, &xs, &lens, err);
    if (rc)
        return rc;
    const int64_t B = xs->shape[0], T = xs->shape[1], F = c->input_size;
    const int64_t Tsub = ls_conformer_sub_len(&ls_conformer_subs[c->input], T);
    const bool cmvn = w && ls_tmap_get(w, "global_cmvn.mean");

    ls_graph *g = ls_graph_new("ConformerEncoder", w);
    if (!g)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    ls_conformer_declare_tree(g, c, cmvn);
    int x = ls_graph_input(g, "xs", LS_F32, 3, xs->shape);
    int len = ls_graph_input(g, "xs_lens", LS_I64, 1, &B);

    /* masks = ~make_pad_mask(xs_lens, T).unsqueeze(1): [B,1,T], True = valid */
    ls_op_params p;
    memset(&p, 0, sizeof p);
    p.i[0] = T;
    int padm = ls_graph_op(g, LS_OP_PAD_MASK, &p, &len, 1, NULL);
    int mask = ls_g_unsqueeze(g, ls_g_op1(g, LS_OP_LOGICAL_NOT, padm, NULL), 1, NULL);

    if (cmvn) {
        enter(g, "global_cmvn");
        x = ls_g_op2(g, LS_OP_SUB, x, ls_graph_weight(g, "mean", 1, &F), NULL);
        if (c->cmvn_norm_var)
            x = ls_g_op2(g, LS_OP_MUL, x, ls_graph_weight(g, "istd", 1, &F), NULL);
        x = ls_graph_end(g, x);
    }
    int pos_emb;
    x = embed(g, c, x, mask, B, T, &pos_emb, &mask);

    /* padded frames for the conv module, [B,1,T'] True = padded (each
     * attention derives its key mask from `mask` itself) */
    int pad = ls_g_op1(g, LS_OP_LOGICAL_NOT, mask, NULL);

    enter(g, "encoders");
    for (int64_t l = 0; l < c->num_blocks; l++)
        x = encoder_layer(g, c, l, x, pos_emb, mask, pad, B, Tsub);
    ls_graph_end(g, -1);
    if (c->normalize_before && c->final_norm)
        x = layer_norm(g, "after_norm", x, c->output_size, c->norm_eps);
    ls_graph_alias(g, x, "output");
    ls_graph_alias(g, mask, "output.1");

    /* WeNet's ASRModel puts CTC beside the encoder; here, with the
     * encoder as the root, ctc is its last child:
     * ctc.log_softmax = F.log_softmax(ctc.ctc_lo(encoder_out), dim=2)
     * (CTC.log_softmax, wenet/models/transformer/ctc.py at 01546996) */
    const ls_tensor *ctc_w = w ? ls_tmap_get(w, "ctc.ctc_lo.weight") : NULL;
    if (ctc_w) {
        const int64_t D = c->output_size, V = ctc_w->ndim ? ctc_w->shape[0] : 0;
        ls_graph_begin(g, "CTC", "", "ctc");
        ls_conformer_declare_linear(g, "ctc_lo", D, V, true);
        ls_graph_declare(g, "CTCLoss", "", "ctc_loss");  /* training only */
        int logp = ls_g_op1(g, LS_OP_LOG_SOFTMAX, linear(g, "ctc_lo", x, D, V, true),
                            "log_softmax");
        ls_graph_end(g, -1);
        ls_ctc_greedy_points(g, logp, ls_g_reshape(g, pad, 2, (int64_t[]){B, Tsub}, NULL),
                             ls_model_ctc_blank(m));
    }

    if (!ls_graph_ok(g)) {
        rc = ls_error_set(err, ls_graph_error(g)->code, "%s", ls_graph_error(g)->msg);
        ls_graph_free(g);
        return rc;
    }
    *out = g;
    return LS_OK;
}

/* ------------------------------------------------------------------ */
/* example inputs, random weights, result                               */

static int example_inputs(const ls_model *m, ls_tmap *out, ls_error *err)
{
    const conformer_cfg *c = ls_model_cfg(m);
    /* the shortest input giving 90 frames after subsampling (363 for
     * conv2d), like a 3.6 s utterance */
    int64_t T = 1;
    while (ls_conformer_sub_len(&ls_conformer_subs[c->input], T) < 90)
        T++;
    const int64_t F = c->input_size;
    ls_tensor xs;
    int rc = ls_tensor_alloc(ls_tmap_arena(out), LS_F32, 3, (int64_t[]){1, T, F}, &xs, err);
    if (rc)
        return rc;
    /* an fbank already through CMVN looks like N(0,1) per bin */
    ls_rng r = {20201217};
    float *d = xs.data;
    for (int64_t i = 0; i < T * F; i++)
        d[i] = ls_rng_normal(&r);
    ls_tensor l = ls_tensor_make(LS_I64, 1, (int64_t[]){1}, &T);
    if ((rc = ls_tmap_put_ref(out, "xs", &xs, err)))
        return rc;
    return ls_tmap_put(out, "xs_lens", &l, err);
}

static void rw_ffn(ls_rw *s, const conformer_cfg *c, const char *prefix)
{
    char k[256];
    snprintf(k, sizeof k, "%s.w_1", prefix);
    ls_rw_linear(s, k, c->output_size, c->linear_units, c->mlp_bias);
    snprintf(k, sizeof k, "%s.w_2", prefix);
    ls_rw_linear(s, k, c->linear_units, c->output_size, c->mlp_bias);
}

static void rw_walk(ls_rw *s_, const ls_model *m)
{
    const conformer_cfg *c = ls_model_cfg(m);
    const int64_t D = c->output_size, F = c->input_size, H = c->heads, dk = D / H;
    const int64_t I = c->conv_inner_factor * D / 2, K = c->kernel;
    const sub_desc *sd = &ls_conformer_subs[c->input];
    ls_rw s = *s_;
    char k[256];
    /* identity CMVN: mean 0, istd 1 */
    ls_rw_put(&s, "global_cmvn", "mean", 1, &F, 0, 0.0f);
    ls_rw_put(&s, "global_cmvn", "istd", 1, &F, 0, 1.0f);
    if (c->input == IN_LINEAR) {
        ls_rw_linear(&s, "embed.out.0", F, D, true);
        ls_rw_norm(&s, "embed.out.1", D);
    } else {
        int64_t cin = 1;
        for (int i = 0; i < sd->n; i++) {
            const int64_t kk = sd->k[i];
            const double bound = 1.0 / sqrt((double)(cin * kk * kk));
            snprintf(k, sizeof k, "embed.conv.%d", 2 * i);
            ls_rw_put(&s, k, "weight", 4, (int64_t[]){D, cin, kk, kk}, bound, 0);
            ls_rw_put(&s, k, "bias", 1, &D, bound, 0);
            cin = D;
        }
        ls_rw_linear(&s, c->input == IN_CONV2D ? "embed.out.0" : "embed.linear",
                  D * ls_conformer_sub_len(sd, F), D, true);
    }
    ls_rw_norm(&s, "after_norm", D);
    if (c->vocab > 0)
        ls_rw_linear(&s, "ctc.ctc_lo", D, c->vocab, true);
    for (int64_t l = 0; l < c->num_blocks; l++) {
        char p[128];
        snprintf(p, sizeof p, "encoders.%lld.self_attn.linear_q", (long long)l);
        ls_rw_linear(&s, p, D, D, c->q_bias);
        snprintf(p, sizeof p, "encoders.%lld.self_attn.linear_k", (long long)l);
        ls_rw_linear(&s, p, D, D, c->k_bias);
        snprintf(p, sizeof p, "encoders.%lld.self_attn.linear_v", (long long)l);
        ls_rw_linear(&s, p, D, D, c->v_bias);
        snprintf(p, sizeof p, "encoders.%lld.self_attn.linear_out", (long long)l);
        ls_rw_linear(&s, p, D, D, c->out_bias);
        snprintf(p, sizeof p, "encoders.%lld.self_attn.linear_pos", (long long)l);
        ls_rw_linear(&s, p, D, D, false);
        /* xavier_uniform_ on [H, d_k]: fan_in d_k, fan_out H */
        snprintf(p, sizeof p, "encoders.%lld.self_attn", (long long)l);
        const double xb = sqrt(6.0 / (double)(H + dk));
        ls_rw_put(&s, p, "pos_bias_u", 2, (int64_t[]){H, dk}, xb, 0);
        ls_rw_put(&s, p, "pos_bias_v", 2, (int64_t[]){H, dk}, xb, 0);
        snprintf(p, sizeof p, "encoders.%lld.feed_forward", (long long)l);
        rw_ffn(&s, c, p);
        if (c->macaron) {
            snprintf(p, sizeof p, "encoders.%lld.feed_forward_macaron", (long long)l);
            rw_ffn(&s, c, p);
        }
        if (c->use_cnn) {
            double b1 = 1.0 / sqrt((double)D), bdw = 1.0 / sqrt((double)K),
                   b2 = 1.0 / sqrt((double)I);
            snprintf(p, sizeof p, "encoders.%lld.conv_module.pointwise_conv1", (long long)l);
            ls_rw_put(&s, p, "weight", 3, (int64_t[]){2 * I, D, 1}, b1, 0);
            if (c->conv_bias)
                ls_rw_put(&s, p, "bias", 1, (int64_t[]){2 * I}, b1, 0);
            snprintf(p, sizeof p, "encoders.%lld.conv_module.depthwise_conv", (long long)l);
            ls_rw_put(&s, p, "weight", 3, (int64_t[]){I, 1, K}, bdw, 0);
            if (c->conv_bias)
                ls_rw_put(&s, p, "bias", 1, &I, bdw, 0);
            snprintf(p, sizeof p, "encoders.%lld.conv_module.norm", (long long)l);
            ls_rw_norm(&s, p, I);
            if (!c->cnn_layer_norm) {
                ls_rw_put(&s, p, "running_mean", 1, &I, 0, 0.0f);
                ls_rw_put(&s, p, "running_var", 1, &I, 0, 1.0f);
            }
            snprintf(p, sizeof p, "encoders.%lld.conv_module.pointwise_conv2", (long long)l);
            ls_rw_put(&s, p, "weight", 3, (int64_t[]){D, I, 1}, b2, 0);
            if (c->conv_bias)
                ls_rw_put(&s, p, "bias", 1, &D, b2, 0);
        }
        static const char *const NORMS[] = {"norm_ff", "norm_mha", "norm_ff_macaron", "norm_conv",
                                            "norm_final"};
        for (int n = 0; n < 5; n++) {
            if ((n == 2 && !c->macaron) || (n >= 3 && !c->use_cnn))
                continue;
            snprintf(p, sizeof p, "encoders.%lld.%s", (long long)l, NORMS[n]);
            ls_rw_norm(&s, p, D);
        }
    }
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
    const ls_tensor *mk = ls_exec_out(ex, ls_graph_find(g, "output.1"));
    if (!y || !mk)
        return;
    char s[64];
    fprintf(out, "encoder output %s, valid frames per utterance:", ls_shape_str(y, s, sizeof s));
    for (int64_t b = 0; b < mk->shape[0]; b++) {
        int64_t n = 0;
        for (int64_t t = 0; t < mk->shape[2]; t++)
            n += ls_tensor_get(mk, (int64_t[]){b, 0, t}) != 0;
        fprintf(out, " %lld", (long long)n);
    }
    fprintf(out, "\n");
}

/* fbank frames are 10 ms apart (the shift our Kaldi fbank uses); each
 * conv of the input layer strides over them */
static int time_rates(const ls_model *m, double ms, int64_t *n, double *step, int max)
{
    const conformer_cfg *c = ls_model_cfg(m);
    const sub_desc *d = &ls_conformer_subs[c->input];
    int k = 0;
    int64_t t = (int64_t)(ms / 10.0 + 0.5);
    double st = 10.0;
    if (k < max) {
        n[k] = t;
        step[k++] = st;
    }
    for (int i = 0; i < d->n && k < max && t >= d->k[i]; i++) {
        t = (t - d->k[i]) / d->s[i] + 1;
        st *= d->s[i];
        n[k] = t;
        step[k++] = st;
    }
    return k;
}

const ls_arch ls_arch_conformer = {
    .name = "conformer",
    .root_class = "ConformerEncoder",
    .parse_config = ls_conformer_parse_config,
    .build = build,
    .example_inputs = example_inputs,
    .random_weights = random_weights,
    .random_weights_bytes = random_weights_bytes,
    .token_label = NULL,
    .id_word = ls_ctc_id_word,
    .time_rates = time_rates,
    .print_result = print_result,
};
