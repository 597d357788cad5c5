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
    int x = scores;
    if (mask >= 0)
        mask = ls_graph_name(g, mask, "mask");
    if (s->mask_mode == LS_MASK_ADD && mask_add >= 0) {
        mask_add = ls_graph_name(g, mask_add, "mask_add");
        x = ls_g_op2(g, LS_OP_ADD, x, mask_add, NULL);
    } else if (mask >= 0) {
        x = ls_g_masked_fill(g, x, mask, s->mask_value, NULL);
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
