#include "layerstep/attention.h"

#include <math.h>
#include <string.h>

ls_attn_spec ls_attn_spec_default(int n_heads, int d_k, int d_v)
{
    ls_attn_spec s;
    memset(&s, 0, sizeof s);
    s.n_heads = n_heads;
    s.d_k = d_k;
    s.d_v = d_v;
    s.scale_mode = LS_SCALE_DIV_AFTER;
    s.scale = sqrtf((float)d_k);
    s.mask_mode = LS_MASK_FILL;
    s.mask_value = -1e9f;
    return s;
}

int ls_attn_heads(ls_graph *g, int x, int n_heads, int d, const char *point)
{
    const ls_tensor *t = ls_graph_shape(g, x);
    if (!t)
        return -1;
    if (t->ndim != 3)
        return ls_graph_fail(g, LS_ERR_SHAPE, "%s: head split needs [B,T,H*d], got %d dims",
                             ls_graph_scope(g), t->ndim);
    /* shape first: the builder calls below may move the node array (and t) */
    int64_t shape[4] = {t->shape[0], t->shape[1], n_heads, d};
    /* a projection output is contiguous; a slice of a packed one is not */
    int src = ls_tensor_is_contiguous(t) ? x : ls_g_contiguous(g, x, NULL);
    int v = ls_g_reshape(g, src, 4, shape, NULL);
    return ls_g_transpose(g, v, 1, 2, point);
}

int ls_attn_merge(ls_graph *g, int x, const char *point)
{
    const ls_tensor *t = ls_graph_shape(g, x);
    if (!t)
        return -1;
    /* shape first: the builder calls below may move the node array (and t) */
    int64_t shape[3] = {t->shape[0], t->shape[2], t->shape[1] * t->shape[3]};
    int tr = ls_g_transpose(g, x, 1, 2, NULL);
    int c = ls_g_contiguous(g, tr, NULL);
    return ls_g_reshape(g, c, 3, shape, point);
}

int ls_attn_scores(ls_graph *g, int q, int k, const ls_attn_spec *s)
{
    int kt = ls_g_transpose(g, k, 2, 3, NULL);
    switch (s->scale_mode) {
    case LS_SCALE_DIV_AFTER:
        return ls_g_scalar(g, LS_OP_DIV_SCALAR, ls_g_op2(g, LS_OP_MATMUL, q, kt, NULL), s->scale,
                           "scores");
    case LS_SCALE_MUL_AFTER:
        return ls_g_scalar(g, LS_OP_SCALE, ls_g_op2(g, LS_OP_MATMUL, q, kt, NULL), s->scale,
                           "scores");
    case LS_SCALE_Q_DIV_BEFORE:
        return ls_g_op2(g, LS_OP_MATMUL, ls_g_scalar(g, LS_OP_DIV_SCALAR, q, s->scale, NULL), kt,
                        "scores");
    case LS_SCALE_Q_BEFORE:
    default:
        return ls_g_op2(g, LS_OP_MATMUL, ls_g_scalar(g, LS_OP_SCALE, q, s->scale, NULL), kt,
                        "scores");
    }
}

int ls_attn_finish(ls_graph *g, int scores, int v, int mask, int mask_add,
                   const ls_attn_spec *s)
{
    int x;
    if (mask >= 0)
        mask = ls_graph_name(g, mask, "mask");
    /* "scores_masked" is what the softmax is given.  It is named even when
     * nothing is masked (then an alias of scores) so that every attention
     * has the same chain scores -> mask -> scores_masked -> attn for a
     * breakpoint, a lesson or `g`; a point that came and went with the
     * padding would be a trap. */
    if (s->mask_mode == LS_MASK_ADD && mask_add >= 0) {
        mask_add = ls_graph_name(g, mask_add, "mask_add");
        x = ls_g_op2(g, LS_OP_ADD, scores, mask_add, "scores_masked");
    } else if (mask >= 0) {
        x = ls_g_masked_fill(g, scores, mask, s->mask_value, "scores_masked");
    } else {
        x = ls_graph_alias(g, scores, "scores_masked");
    }
    int attn;
    if (s->zero_after_softmax && mask >= 0) {
        int sm = ls_g_op1(g, LS_OP_SOFTMAX, x, NULL);
        attn = ls_g_masked_fill(g, sm, mask, 0.0f, "attn");
    } else {
        attn = ls_g_op1(g, LS_OP_SOFTMAX, x, "attn");
    }
    int ctx = ls_g_op2(g, LS_OP_MATMUL, attn, v, NULL);
    return ls_attn_merge(g, ctx, "context");
}

int ls_attn_core(ls_graph *g, int q, int k, int v, int mask, int mask_add,
                 const ls_attn_spec *s)
{
    return ls_attn_finish(g, ls_attn_scores(g, q, k, s), v, mask, mask_add, s);
}

/* mask value for attn cell idx: the mask is aligned on the right, size-1
 * dims broadcast; a mask that does not fit masks nothing */
static bool masked_at(const ls_tensor *mask, const ls_tensor *attn, const int64_t *idx)
{
    if (!mask || mask->ndim < 1 || mask->ndim > attn->ndim)
        return false;
    int64_t mi[LS_MAX_DIMS];
    for (int j = 0; j < mask->ndim; j++) {
        int d = j + attn->ndim - mask->ndim;
        if (mask->shape[j] != 1 && mask->shape[j] != attn->shape[d])
            return false;
        mi[j] = mask->shape[j] == 1 ? 0 : idx[d];
    }
    return ls_tensor_get(mask, mi) != 0;
}

ls_attn_row ls_attn_row_state(const ls_tensor *attn, const ls_tensor *mask, const int64_t *row)
{
    if (!attn || attn->ndim < 1 || attn->ndim > LS_MAX_DIMS)
        return LS_ATTN_ROW_NORMAL;
    int last = attn->ndim - 1;
    int64_t idx[LS_MAX_DIMS] = {0};
    for (int j = 0; j < last; j++)
        idx[j] = row[j];
    bool all_masked = attn->shape[last] > 0, any_nan = false, all_zero = true;
    for (int64_t k = 0; k < attn->shape[last]; k++) {
        idx[last] = k;
        double v = ls_tensor_get(attn, idx);
        any_nan |= isnan(v);
        all_zero &= v == 0.0;
        all_masked &= masked_at(mask, attn, idx);
    }
    if (any_nan)
        return LS_ATTN_ROW_NAN;
    if (!all_masked)
        return LS_ATTN_ROW_NORMAL;
    if (all_zero)
        return LS_ATTN_ROW_ZEROED;
    /* 1/n to float32 rounding: a fill that replaced every score */
    double u = 1.0 / (double)attn->shape[last];
    for (int64_t k = 0; k < attn->shape[last]; k++) {
        idx[last] = k;
        if (fabs(ls_tensor_get(attn, idx) - u) > 1e-6 * u)
            return LS_ATTN_ROW_SHIFTED;
    }
    return LS_ATTN_ROW_UNIFORM;
}

const char *ls_attn_row_explain(ls_attn_row state, int lang)
{
    static const char *const text[][2] = {
        {"", ""},
        {"every key masked: all scores hold the same fill (-1e9, -10000), so softmax gives 1/n each",
         "每个键都被遮住：分数全是同一个填充值（-1e9、-10000），softmax 给每个键 1/n"},
        {"every key masked by adding the same -10000: softmax ignores a common shift, so the row is as if unmasked",
         "每个键都加了同样的 -10000：softmax 不受整体平移影响，这一行和没遮时一样"},
        {"NaN: every key masked with -inf, and softmax of all -inf is 0/0",
         "NaN：每个键都用 -inf 遮住，全 -inf 的 softmax 是 0/0"},
        {"every key masked: the softmax row (NaN under -inf) was zeroed after the softmax",
         "每个键都被遮住：softmax 之后这一行（-inf 下本是 NaN）被置 0"},
    };
    if ((int)state < 0 || (int)state > LS_ATTN_ROW_ZEROED)
        return "";
    return text[state][lang == 1 ? 1 : 0];
}
