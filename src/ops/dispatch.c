/* dispatch.c - the op table: names, kinds, shape inference, the compute
 * switch and parameter descriptions.
 *
 * ls_op_infer is the single place that validates an op's inputs: the
 * graph calls it while building (shape-only tensors) and ls_op_compute
 * calls it again on the real tensors, so the reference loops and fast
 * kernels can assume well-formed shapes and never check anything.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops_impl.h"

static const char *const LS_OP_NAMES[] = {
    [LS_OP_INPUT] = "input",
    [LS_OP_CONST] = "const",
    [LS_OP_ALIAS] = "alias",
    [LS_OP_RESHAPE] = "reshape",
    [LS_OP_PERMUTE] = "permute",
    [LS_OP_TRANSPOSE] = "transpose",
    [LS_OP_SLICE] = "slice",
    [LS_OP_UNSQUEEZE] = "unsqueeze",
    [LS_OP_SQUEEZE] = "squeeze",
    [LS_OP_EXPAND] = "expand",
    [LS_OP_CONTIGUOUS] = "contiguous",
    [LS_OP_CONCAT] = "concat",
    [LS_OP_CAST] = "cast",
    [LS_OP_MATMUL] = "matmul",
    [LS_OP_LINEAR] = "linear",
    [LS_OP_ADD] = "add",
    [LS_OP_SUB] = "sub",
    [LS_OP_MUL] = "mul",
    [LS_OP_DIV] = "div",
    [LS_OP_SCALE] = "scale",
    [LS_OP_DIV_SCALAR] = "div_scalar",
    [LS_OP_ADD_SCALAR] = "add_scalar",
    [LS_OP_RELU] = "relu",
    [LS_OP_GELU] = "gelu",
    [LS_OP_SILU] = "silu",
    [LS_OP_SIGMOID] = "sigmoid",
    [LS_OP_TANH] = "tanh",
    [LS_OP_GLU] = "glu",
    [LS_OP_MASKED_FILL] = "masked_fill",
    [LS_OP_EQ_SCALAR] = "eq_scalar",
    [LS_OP_LOGICAL_OR] = "logical_or",
    [LS_OP_LOGICAL_NOT] = "logical_not",
    [LS_OP_TRIU_MASK] = "triu_mask",
    [LS_OP_PAD_MASK] = "pad_mask",
    [LS_OP_SOFTMAX] = "softmax",
    [LS_OP_LAYER_NORM] = "layer_norm",
    [LS_OP_GROUP_NORM] = "group_norm",
    [LS_OP_BATCH_NORM] = "batch_norm",
    [LS_OP_ARGMAX] = "argmax",
    [LS_OP_CROSS_ENTROPY] = "cross_entropy",
    [LS_OP_EMBEDDING] = "embedding",
    [LS_OP_POS_TABLE] = "pos_table",
    [LS_OP_CONV1D] = "conv1d",
    [LS_OP_CONV2D] = "conv2d",
    [LS_OP_CONV_LEN] = "conv_len",
    [LS_OP_WEIGHT_NORM] = "weight_norm",
};
_Static_assert(sizeof LS_OP_NAMES / sizeof LS_OP_NAMES[0] == LS_OP_COUNT,
               "LS_OP_NAMES must name every op of enum ls_op");

const char *ls_op_name(ls_op op)
{
    if ((unsigned)op >= LS_OP_COUNT || !LS_OP_NAMES[op])
        return "?";
    return LS_OP_NAMES[op];
}

ls_op_kind ls_op_kind_of(ls_op op)
{
    if (op == LS_OP_INPUT || op == LS_OP_CONST)
        return LS_KIND_LEAF;
    if (op >= LS_OP_ALIAS && op <= LS_OP_EXPAND)
        return LS_KIND_VIEW;
    return LS_KIND_COMPUTE;
}

/* ---- broadcasting ---- */

/* numpy rules on raw shapes: right-align, a dim of 1 stretches. */
static bool bcast_dims(int na, const int64_t *sa, int nb, const int64_t *sb, int *nd,
                       int64_t *out, int *bad)
{
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int ia = i - (n - na), ib = i - (n - nb);
        int64_t da = ia >= 0 ? sa[ia] : 1, db = ib >= 0 ? sb[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            *bad = i;
            return false;
        }
        out[i] = da == 1 ? db : da;
    }
    *nd = n;
    return true;
}

int ls_broadcast_shape(const ls_tensor *a, const ls_tensor *b, int *ndim, int64_t *shape,
                       ls_error *err)
{
    if (a->ndim < 0 || a->ndim > LS_MAX_DIMS || b->ndim < 0 || b->ndim > LS_MAX_DIMS)
        return ls_error_set(err, LS_ERR_SHAPE, "broadcast: %d and %d dims (at most %d)",
                            a->ndim, b->ndim, LS_MAX_DIMS);
    int bad = 0;
    if (!bcast_dims(a->ndim, a->shape, b->ndim, b->shape, ndim, shape, &bad)) {
        char ba[64], bb[64];
        return ls_error_set(err, LS_ERR_SHAPE, "shapes %s and %s do not broadcast (dim %d)",
                            ls_shape_str(a, ba, sizeof ba), ls_shape_str(b, bb, sizeof bb),
                            bad);
    }
    return LS_OK;
}

/* ---- validation helpers (all messages start with the op name) ---- */

typedef struct shp {
    char s[64];
} shp;

static shp shape_of(const ls_tensor *t)
{
    shp r;
    ls_shape_str(t, r.s, sizeof r.s);
    return r;
}

static int want_n(const char *name, int n_in, int lo, int hi, ls_error *err)
{
    if (n_in >= lo && n_in <= hi)
        return LS_OK;
    if (lo == hi)
        return ls_error_set(err, LS_ERR_ARG, "%s: expects %d input%s, got %d", name, lo,
                            lo == 1 ? "" : "s", n_in);
    return ls_error_set(err, LS_ERR_ARG, "%s: expects %d to %d inputs, got %d", name, lo, hi,
                        n_in);
}

static int want_dtype(const char *name, const ls_tensor *t, int k, ls_dtype dt, ls_error *err)
{
    if (t->dtype == dt)
        return LS_OK;
    return ls_error_set(err, LS_ERR_ARG, "%s: input %d is %s, expected %s", name, k,
                        ls_dtype_name(t->dtype), ls_dtype_name(dt));
}

static int want_ndim(const char *name, const ls_tensor *t, int k, int lo, int hi, ls_error *err)
{
    if (t->ndim >= lo && t->ndim <= hi)
        return LS_OK;
    if (lo == hi)
        return ls_error_set(err, LS_ERR_SHAPE, "%s: input %d has shape %s, expected %d dims",
                            name, k, shape_of(t).s, lo);
    return ls_error_set(err, LS_ERR_SHAPE, "%s: input %d has shape %s, expected %d to %d dims",
                        name, k, shape_of(t).s, lo, hi);
}

/* A 1-d float vector of length n (norm weights, biases, running stats). */
static int want_vec(const char *name, const ls_tensor *t, int k, int64_t n, ls_error *err)
{
    int rc = want_dtype(name, t, k, LS_F32, err);
    if (rc)
        return rc;
    if (t->ndim != 1 || t->shape[0] != n)
        return ls_error_set(err, LS_ERR_SHAPE, "%s: input %d has shape %s, expected [%lld]",
                            name, k, shape_of(t).s, (long long)n);
    return LS_OK;
}

/* Resolves a possibly negative dim against ndim (Python style). */
static int want_dim(const char *name, int64_t dim, int ndim, int *out, ls_error *err)
{
    int64_t d = dim < 0 ? dim + ndim : dim;
    if (d < 0 || d >= ndim)
        return ls_error_set(err, LS_ERR_ARG, "%s: dim %lld out of range for %d dims", name,
                            (long long)dim, ndim);
    *out = (int)d;
    return LS_OK;
}

/* Integer parameters that the reference loops take as int. */
static int want_param(const char *name, const char *what, int64_t v, int64_t lo, ls_error *err)
{
    if (v >= lo && v <= (1 << 30))
        return LS_OK;
    return ls_error_set(err, LS_ERR_ARG, "%s: %s is %lld, expected %lld to %d", name, what,
                        (long long)v, (long long)lo, 1 << 30);
}

static void set_out(ls_tensor *out, ls_dtype dt, int ndim, const int64_t *shape)
{
    /* A shape whose element count overflows gets no strides (computing
     * them would overflow too); ls_op_infer's final ls_shape_check rejects
     * it with a message. */
    if (ls_shape_check(ndim, shape, dt, true, NULL) != LS_OK) {
        memset(out, 0, sizeof *out);
        out->dtype = dt;
        out->ndim = ndim;
        memcpy(out->shape, shape, sizeof(int64_t) * (size_t)ndim);
        return;
    }
    *out = ls_tensor_make(dt, ndim, shape, NULL);
}

/* ---- per-family inference ---- */

static int infer_view(ls_op op, const ls_op_params *p, const ls_tensor *const *in, int n_in,
                      ls_tensor *out, ls_error *err)
{
    const char *name = ls_op_name(op);
    int rc = want_n(name, n_in, 1, 1, err);
    if (rc)
        return rc;
    const ls_tensor *x = in[0];
    switch (op) {
    case LS_OP_ALIAS:
        *out = *x;
        return LS_OK;
    case LS_OP_RESHAPE:
    case LS_OP_EXPAND:
        if (p->i[0] < 0 || p->i[0] > LS_MAX_DIMS)
            return ls_error_set(err, LS_ERR_ARG, "%s: %lld dims (at most %d)", name,
                                (long long)p->i[0], LS_MAX_DIMS);
        if (op == LS_OP_RESHAPE)
            return ls_tensor_reshape(x, (int)p->i[0], &p->i[1], out, err);
        return ls_tensor_expand(x, (int)p->i[0], &p->i[1], out, err);
    case LS_OP_PERMUTE: {
        if (p->i[0] != x->ndim)
            return ls_error_set(err, LS_ERR_ARG, "permute: %lld dims given for %s",
                                (long long)p->i[0], shape_of(x).s);
        int perm[LS_MAX_DIMS] = {0, 0, 0, 0};
        for (int i = 0; i < x->ndim; i++) {
            int64_t v = p->i[1 + i];
            perm[i] = v >= 0 && v < LS_MAX_DIMS ? (int)v : -1;
        }
        return ls_tensor_permute(x, perm, out, err);
    }
    case LS_OP_TRANSPOSE: {
        int d0 = 0, d1 = 0;
        if ((rc = want_dim(name, p->i[0], x->ndim, &d0, err)) ||
            (rc = want_dim(name, p->i[1], x->ndim, &d1, err)))
            return rc;
        return ls_tensor_transpose(x, d0, d1, out, err);
    }
    case LS_OP_SLICE: {
        int d = 0;
        if ((rc = want_dim(name, p->i[0], x->ndim, &d, err)))
            return rc;
        return ls_tensor_slice(x, d, p->i[1], p->i[2], p->i[3], out, err);
    }
    case LS_OP_UNSQUEEZE: {
        int d = 0;
        if ((rc = want_dim(name, p->i[0], x->ndim + 1, &d, err)))
            return rc;
        return ls_tensor_unsqueeze(x, d, out, err);
    }
    case LS_OP_SQUEEZE: {
        int d = 0;
        if ((rc = want_dim(name, p->i[0], x->ndim, &d, err)))
            return rc;
        return ls_tensor_squeeze(x, d, out, err);
    }
    default:
        return ls_error_set(err, LS_ERR_INTERNAL, "%s: not a view op", name);
    }
}

static int infer_matmul(const ls_tensor *const *in, int n_in, ls_tensor *out, ls_error *err)
{
    int rc;
    if ((rc = want_n("matmul", n_in, 2, 2, err)))
        return rc;
    const ls_tensor *a = in[0], *b = in[1];
    if ((rc = want_dtype("matmul", a, 0, LS_F32, err)) ||
        (rc = want_dtype("matmul", b, 1, LS_F32, err)) ||
        (rc = want_ndim("matmul", a, 0, 2, LS_MAX_DIMS, err)) ||
        (rc = want_ndim("matmul", b, 1, 2, LS_MAX_DIMS, err)))
        return rc;
    if (a->shape[a->ndim - 1] != b->shape[b->ndim - 2])
        return ls_error_set(err, LS_ERR_SHAPE, "matmul: inner dims differ: %s @ %s",
                            shape_of(a).s, shape_of(b).s);
    int64_t sh[LS_MAX_DIMS];
    int nd, bad;
    if (!bcast_dims(a->ndim - 2, a->shape, b->ndim - 2, b->shape, &nd, sh, &bad))
        return ls_error_set(err, LS_ERR_SHAPE, "matmul: batch dims do not broadcast: %s @ %s",
                            shape_of(a).s, shape_of(b).s);
    sh[nd] = a->shape[a->ndim - 2];
    sh[nd + 1] = b->shape[b->ndim - 1];
    set_out(out, LS_F32, nd + 2, sh);
    return LS_OK;
}

static int infer_linear(const ls_tensor *const *in, int n_in, ls_tensor *out, ls_error *err)
{
    int rc;
    if ((rc = want_n("linear", n_in, 2, 3, err)))
        return rc;
    const ls_tensor *x = in[0], *w = in[1];
    if ((rc = want_dtype("linear", x, 0, LS_F32, err)) ||
        (rc = want_dtype("linear", w, 1, LS_F32, err)) ||
        (rc = want_ndim("linear", x, 0, 1, LS_MAX_DIMS, err)) ||
        (rc = want_ndim("linear", w, 1, 2, 2, err)))
        return rc;
    if (x->shape[x->ndim - 1] != w->shape[1])
        return ls_error_set(err, LS_ERR_SHAPE,
                            "linear: input %s has %lld features, weight %s expects %lld",
                            shape_of(x).s, (long long)x->shape[x->ndim - 1], shape_of(w).s,
                            (long long)w->shape[1]);
    if (n_in == 3 && (rc = want_vec("linear", in[2], 2, w->shape[0], err)))
        return rc;
    int64_t sh[LS_MAX_DIMS];
    memcpy(sh, x->shape, sizeof sh);
    sh[x->ndim - 1] = w->shape[0];
    set_out(out, LS_F32, x->ndim, sh);
    return LS_OK;
}

static int infer_binary(ls_op op, const ls_tensor *const *in, int n_in, ls_tensor *out,
                        ls_error *err)
{
    const char *name = ls_op_name(op);
    int rc;
    if ((rc = want_n(name, n_in, 2, 2, err)))
        return rc;
    const ls_tensor *a = in[0], *b = in[1];
    bool int_ok = op == LS_OP_ADD || op == LS_OP_SUB || op == LS_OP_MUL;
    ls_dtype dt = op == LS_OP_LOGICAL_OR ? LS_BOOL
                  : (int_ok && a->dtype == LS_I64) ? LS_I64
                                                   : LS_F32;
    if ((rc = want_dtype(name, a, 0, dt, err)) || (rc = want_dtype(name, b, 1, dt, err)))
        return rc;
    int64_t sh[LS_MAX_DIMS];
    int nd;
    if ((rc = ls_broadcast_shape(a, b, &nd, sh, err)))
        return ls_error_prefix(err, "%s", name), rc;
    set_out(out, dt, nd, sh);
    return LS_OK;
}

static int infer_unary(ls_op op, const ls_op_params *p, const ls_tensor *const *in, int n_in,
                       ls_tensor *out, ls_error *err)
{
    const char *name = ls_op_name(op);
    int rc;
    if ((rc = want_n(name, n_in, 1, 1, err)))
        return rc;
    const ls_tensor *x = in[0];
    ls_dtype dt;
    switch (op) {
    case LS_OP_CONTIGUOUS:
        dt = x->dtype;
        break;
    case LS_OP_CAST:
        if (p->i[0] < 0 || p->i[0] >= LS_DTYPE_COUNT)
            return ls_error_set(err, LS_ERR_ARG, "cast: unknown target dtype %lld",
                                (long long)p->i[0]);
        dt = (ls_dtype)p->i[0];
        break;
    case LS_OP_EQ_SCALAR:
    case LS_OP_LOGICAL_NOT:
        dt = LS_BOOL;
        break;
    default:
        if ((rc = want_dtype(name, x, 0, LS_F32, err)))
            return rc;
        dt = LS_F32;
        break;
    }
    set_out(out, dt, x->ndim, x->shape);
    return LS_OK;
}

static int infer_glu(const ls_op_params *p, const ls_tensor *const *in, int n_in,
                     ls_tensor *out, ls_error *err)
{
    int rc, d = 0;
    if ((rc = want_n("glu", n_in, 1, 1, err)) || (rc = want_dtype("glu", in[0], 0, LS_F32, err)) ||
        (rc = want_ndim("glu", in[0], 0, 1, LS_MAX_DIMS, err)) ||
        (rc = want_dim("glu", p->i[0], in[0]->ndim, &d, err)))
        return rc;
    if (in[0]->shape[d] % 2)
        return ls_error_set(err, LS_ERR_SHAPE, "glu: dim %d of %s is odd, cannot halve it", d,
                            shape_of(in[0]).s);
    int64_t sh[LS_MAX_DIMS];
    memcpy(sh, in[0]->shape, sizeof sh);
    sh[d] /= 2;
    set_out(out, LS_F32, in[0]->ndim, sh);
    return LS_OK;
}

static int infer_masked_fill(const ls_tensor *const *in, int n_in, ls_tensor *out,
                             ls_error *err)
{
    int rc;
    if ((rc = want_n("masked_fill", n_in, 2, 2, err)) ||
        (rc = want_dtype("masked_fill", in[1], 1, LS_BOOL, err)))
        return rc;
    const ls_tensor *x = in[0], *m = in[1];
    int64_t sh[LS_MAX_DIMS];
    int nd, bad;
    /* The mask stretches to x, never x to the mask: the output is x's shape. */
    if (!bcast_dims(x->ndim, x->shape, m->ndim, m->shape, &nd, sh, &bad) || nd != x->ndim ||
        memcmp(sh, x->shape, sizeof(int64_t) * (size_t)nd) != 0)
        return ls_error_set(err, LS_ERR_SHAPE, "masked_fill: mask %s does not broadcast to %s",
                            shape_of(m).s, shape_of(x).s);
    set_out(out, x->dtype, x->ndim, x->shape);
    return LS_OK;
}

static int infer_norm(ls_op op, const ls_op_params *p, const ls_tensor *const *in, int n_in,
                      ls_tensor *out, ls_error *err)
{
    const char *name = ls_op_name(op);
    int rc;
    if (n_in < 1)
        return want_n(name, n_in, 1, 5, err);
    const ls_tensor *x = in[0];
    if ((rc = want_dtype(name, x, 0, LS_F32, err)))
        return rc;
    if (op == LS_OP_SOFTMAX) {
        if ((rc = want_n(name, n_in, 1, 1, err)) ||
            (rc = want_ndim(name, x, 0, 1, LS_MAX_DIMS, err)))
            return rc;
    } else if (op == LS_OP_LAYER_NORM) {
        int nw = p->i[0] != 0, nb = p->i[1] != 0;
        if ((rc = want_n(name, n_in, 1 + nw + nb, 1 + nw + nb, err)) ||
            (rc = want_ndim(name, x, 0, 1, LS_MAX_DIMS, err)))
            return rc;
        for (int k = 1; k < n_in; k++)
            if ((rc = want_vec(name, in[k], k, x->shape[x->ndim - 1], err)))
                return rc;
    } else {
        /* group_norm (x, [w, b]) and batch_norm (x, mean, var, [w, b]) on
         * [B, C, spatial...]; per-channel vectors have length C. */
        int base = op == LS_OP_GROUP_NORM ? 1 : 3;
        if (n_in != base && n_in != base + 2)
            return ls_error_set(err, LS_ERR_ARG, "%s: expects %d or %d inputs, got %d", name,
                                base, base + 2, n_in);
        if ((rc = want_ndim(name, x, 0, 2, LS_MAX_DIMS, err)))
            return rc;
        for (int k = 1; k < n_in; k++)
            if ((rc = want_vec(name, in[k], k, x->shape[1], err)))
                return rc;
        if (op == LS_OP_GROUP_NORM) {
            if ((rc = want_param(name, "groups", p->i[0], 1, err)))
                return rc;
            if (x->shape[1] % p->i[0])
                return ls_error_set(err, LS_ERR_SHAPE,
                                    "group_norm: %lld channels of %s do not split into %lld groups",
                                    (long long)x->shape[1], shape_of(x).s, (long long)p->i[0]);
        }
    }
    set_out(out, LS_F32, x->ndim, x->shape);
    return LS_OK;
}

static int infer_misc(ls_op op, const ls_op_params *p, const ls_tensor *const *in, int n_in,
                      ls_tensor *out, ls_error *err)
{
    const char *name = ls_op_name(op);
    int rc;
    int64_t sh[LS_MAX_DIMS] = {0, 0, 0, 0};
    switch (op) {
    case LS_OP_TRIU_MASK:
        if ((rc = want_n(name, n_in, 0, 0, err)))
            return rc;
        if (p->i[0] < 0 || p->i[1] < 0)
            return ls_error_set(err, LS_ERR_ARG, "triu_mask: %lld x %lld rows/cols",
                                (long long)p->i[0], (long long)p->i[1]);
        sh[0] = p->i[0];
        sh[1] = p->i[1];
        set_out(out, LS_BOOL, 2, sh);
        return LS_OK;
    case LS_OP_POS_TABLE:
        if ((rc = want_n(name, n_in, 0, 0, err)))
            return rc;
        if (p->i[0] < 0 || p->i[1] < 1)
            return ls_error_set(err, LS_ERR_ARG, "pos_table: T=%lld, D=%lld (need T >= 0, D >= 1)",
                                (long long)p->i[0], (long long)p->i[1]);
        sh[0] = p->i[0];
        sh[1] = p->i[1];
        set_out(out, LS_F32, 2, sh);
        return LS_OK;
    case LS_OP_PAD_MASK:
        if ((rc = want_n(name, n_in, 1, 1, err)) || (rc = want_dtype(name, in[0], 0, LS_I64, err)) ||
            (rc = want_ndim(name, in[0], 0, 1, 1, err)))
            return rc;
        if (p->i[0] < 0)
            return ls_error_set(err, LS_ERR_ARG, "pad_mask: T=%lld", (long long)p->i[0]);
        sh[0] = in[0]->shape[0];
        sh[1] = p->i[0];
        set_out(out, LS_BOOL, 2, sh);
        return LS_OK;
    case LS_OP_CONCAT: {
        if ((rc = want_n(name, n_in, 1, LS_OP_MAX_INPUTS, err)) ||
            (rc = want_ndim(name, in[0], 0, 1, LS_MAX_DIMS, err)))
            return rc;
        int d = 0;
        if ((rc = want_dim(name, p->i[0], in[0]->ndim, &d, err)))
            return rc;
        memcpy(sh, in[0]->shape, sizeof sh);
        sh[d] = 0;
        for (int k = 0; k < n_in; k++) {
            const ls_tensor *t = in[k];
            if ((rc = want_dtype(name, t, k, in[0]->dtype, err)))
                return rc;
            bool ok = t->ndim == in[0]->ndim;
            for (int i = 0; ok && i < t->ndim; i++)
                ok = i == d || t->shape[i] == in[0]->shape[i];
            if (!ok)
                return ls_error_set(err, LS_ERR_SHAPE,
                                    "concat: input %d has shape %s, input 0 has %s (only dim %d "
                                    "may differ)",
                                    k, shape_of(t).s, shape_of(in[0]).s, d);
            sh[d] += t->shape[d];
        }
        set_out(out, in[0]->dtype, in[0]->ndim, sh);
        return LS_OK;
    }
    case LS_OP_ARGMAX: {
        if ((rc = want_n(name, n_in, 1, 1, err)) ||
            (rc = want_ndim(name, in[0], 0, 1, LS_MAX_DIMS, err)))
            return rc;
        const ls_tensor *x = in[0];
        if (x->dtype != LS_F32 && x->dtype != LS_I64)
            return want_dtype(name, x, 0, LS_F32, err);
        if (x->shape[x->ndim - 1] < 1)
            return ls_error_set(err, LS_ERR_SHAPE, "argmax: empty last dim in %s",
                                shape_of(x).s);
        set_out(out, LS_I64, x->ndim - 1, x->shape);
        return LS_OK;
    }
    case LS_OP_CROSS_ENTROPY: {
        if ((rc = want_n(name, n_in, 2, 2, err)) ||
            (rc = want_dtype(name, in[0], 0, LS_F32, err)) ||
            (rc = want_dtype(name, in[1], 1, LS_I64, err)) ||
            (rc = want_ndim(name, in[0], 0, 2, 2, err)) ||
            (rc = want_ndim(name, in[1], 1, 1, 1, err)))
            return rc;
        if (in[1]->shape[0] != in[0]->shape[0] || in[0]->shape[1] < 1)
            return ls_error_set(err, LS_ERR_SHAPE,
                                "cross_entropy: logits %s and targets %s (expected [N, V>=1] "
                                "and [N])",
                                shape_of(in[0]).s, shape_of(in[1]).s);
        set_out(out, LS_F32, 0, sh);
        return LS_OK;
    }
    case LS_OP_EMBEDDING: {
        if ((rc = want_n(name, n_in, 2, 2, err)) ||
            (rc = want_dtype(name, in[0], 0, LS_I64, err)) ||
            (rc = want_dtype(name, in[1], 1, LS_F32, err)) ||
            (rc = want_ndim(name, in[0], 0, 0, LS_MAX_DIMS - 1, err)) ||
            (rc = want_ndim(name, in[1], 1, 2, 2, err)))
            return rc;
        memcpy(sh, in[0]->shape, sizeof(int64_t) * (size_t)in[0]->ndim);
        sh[in[0]->ndim] = in[1]->shape[1];
        set_out(out, LS_F32, in[0]->ndim + 1, sh);
        return LS_OK;
    }
    default:
        return ls_error_set(err, LS_ERR_INTERNAL, "%s: no inference rule", name);
    }
}

static int infer_conv(ls_op op, const ls_op_params *p, const ls_tensor *const *in, int n_in,
                      ls_tensor *out, ls_error *err)
{
    const char *name = ls_op_name(op);
    const int nd = op == LS_OP_CONV1D ? 3 : 4;
    int rc;
    if ((rc = want_n(name, n_in, 2, 3, err)))
        return rc;
    const ls_tensor *x = in[0], *w = in[1];
    if ((rc = want_dtype(name, x, 0, LS_F32, err)) || (rc = want_dtype(name, w, 1, LS_F32, err)) ||
        (rc = want_ndim(name, x, 0, nd, nd, err)) || (rc = want_ndim(name, w, 1, nd, nd, err)) ||
        (rc = want_param(name, "stride", p->i[0], 1, err)) ||
        (rc = want_param(name, "pad", p->i[1], 0, err)))
        return rc;
    int64_t groups = 1;
    if (op == LS_OP_CONV1D) {
        if ((rc = want_param(name, "groups", p->i[2], 1, err)))
            return rc;
        groups = p->i[2];
    }
    const int64_t C = x->shape[1], OC = w->shape[0], s = p->i[0], pad = p->i[1];
    if (C % groups || OC % groups || w->shape[1] != C / groups)
        return ls_error_set(err, LS_ERR_SHAPE,
                            "%s: input %s and weight %s do not fit (groups=%lld: weight must be "
                            "[OC, C/groups, ...] with C and OC divisible by groups)",
                            name, shape_of(x).s, shape_of(w).s, (long long)groups);
    if (n_in == 3 && (rc = want_vec(name, in[2], 2, OC, err)))
        return rc;
    int64_t sh[LS_MAX_DIMS] = {x->shape[0], OC, 0, 0};
    for (int i = 2; i < nd; i++) {
        int64_t len = x->shape[i] + 2 * pad, k = w->shape[i];
        if (k < 1 || len < k)
            return ls_error_set(err, LS_ERR_SHAPE,
                                "%s: kernel %s is larger than the padded input %s (pad=%lld)",
                                name, shape_of(w).s, shape_of(x).s, (long long)pad);
        sh[i] = (len - k) / s + 1;
    }
    set_out(out, LS_F32, nd, sh);
    return LS_OK;
}

/* conv_len: the output lengths of a conv for int64 input lengths. */
static int infer_conv_len(const ls_op_params *p, const ls_tensor *const *in, int n_in,
                          ls_tensor *out, ls_error *err)
{
    int rc;
    if ((rc = want_n("conv_len", n_in, 1, 1, err)) ||
        (rc = want_dtype("conv_len", in[0], 0, LS_I64, err)) ||
        (rc = want_param("conv_len", "kernel", p->i[0], 1, err)) ||
        (rc = want_param("conv_len", "stride", p->i[1], 1, err)) ||
        (rc = want_param("conv_len", "pad", p->i[2], 0, err)))
        return rc;
    set_out(out, LS_I64, in[0]->ndim, in[0]->shape);
    return LS_OK;
}

/* weight_norm: v any shape, g the same rank with 1s except on dim. */
static int infer_weight_norm(const ls_op_params *p, const ls_tensor *const *in, int n_in,
                             ls_tensor *out, ls_error *err)
{
    int rc, dim = 0;
    if ((rc = want_n("weight_norm", n_in, 2, 2, err)) ||
        (rc = want_dtype("weight_norm", in[0], 0, LS_F32, err)) ||
        (rc = want_dtype("weight_norm", in[1], 1, LS_F32, err)) ||
        (rc = want_ndim("weight_norm", in[0], 0, 1, LS_MAX_DIMS, err)) ||
        (rc = want_dim("weight_norm", p->i[0], in[0]->ndim, &dim, err)))
        return rc;
    const ls_tensor *v = in[0], *g = in[1];
    bool ok = g->ndim == v->ndim;
    for (int d = 0; ok && d < v->ndim; d++)
        ok = g->shape[d] == (d == dim ? v->shape[d] : 1);
    if (!ok)
        return ls_error_set(err, LS_ERR_SHAPE,
                            "weight_norm: g has shape %s, expected 1s except %lld on dim %d "
                            "of v %s",
                            shape_of(g).s, (long long)v->shape[dim], dim, shape_of(v).s);
    set_out(out, LS_F32, v->ndim, v->shape);
    return LS_OK;
}

static int infer_compute(ls_op op, const ls_op_params *p, const ls_tensor *const *in, int n_in,
                         ls_tensor *out, ls_error *err)
{
    switch (op) {
    case LS_OP_MATMUL:
        return infer_matmul(in, n_in, out, err);
    case LS_OP_LINEAR:
        return infer_linear(in, n_in, out, err);
    case LS_OP_ADD:
    case LS_OP_SUB:
    case LS_OP_MUL:
    case LS_OP_DIV:
    case LS_OP_LOGICAL_OR:
        return infer_binary(op, in, n_in, out, err);
    case LS_OP_CONTIGUOUS:
    case LS_OP_CAST:
    case LS_OP_SCALE:
    case LS_OP_DIV_SCALAR:
    case LS_OP_ADD_SCALAR:
    case LS_OP_RELU:
    case LS_OP_GELU:
    case LS_OP_SILU:
    case LS_OP_SIGMOID:
    case LS_OP_TANH:
    case LS_OP_EQ_SCALAR:
    case LS_OP_LOGICAL_NOT:
        return infer_unary(op, p, in, n_in, out, err);
    case LS_OP_GLU:
        return infer_glu(p, in, n_in, out, err);
    case LS_OP_MASKED_FILL:
        return infer_masked_fill(in, n_in, out, err);
    case LS_OP_SOFTMAX:
    case LS_OP_LAYER_NORM:
    case LS_OP_GROUP_NORM:
    case LS_OP_BATCH_NORM:
        return infer_norm(op, p, in, n_in, out, err);
    case LS_OP_CONV1D:
    case LS_OP_CONV2D:
        return infer_conv(op, p, in, n_in, out, err);
    case LS_OP_CONV_LEN:
        return infer_conv_len(p, in, n_in, out, err);
    case LS_OP_WEIGHT_NORM:
        return infer_weight_norm(p, in, n_in, out, err);
    default:
        return infer_misc(op, p, in, n_in, out, err);
    }
}

int ls_op_infer(ls_op op, const ls_op_params *p, const ls_tensor *const *in, int n_in,
                ls_tensor *out, ls_error *err)
{
    static const ls_op_params no_params; /* read-only: ops without params */
    if (!p)
        p = &no_params;
    if ((unsigned)op >= LS_OP_COUNT)
        return ls_error_set(err, LS_ERR_ARG, "op %d: unknown op", (int)op);
    const char *name = ls_op_name(op);
    if (!out)
        return ls_error_set(err, LS_ERR_ARG, "%s: no output tensor", name);
    if (ls_op_kind_of(op) == LS_KIND_LEAF)
        return ls_error_set(err, LS_ERR_ARG, "%s: a leaf has no shape rule (the graph sets it)",
                            name);
    if (n_in < 0 || n_in > LS_OP_MAX_INPUTS || (n_in > 0 && !in))
        return ls_error_set(err, LS_ERR_ARG, "%s: %d inputs (at most %d)", name, n_in,
                            LS_OP_MAX_INPUTS);
    for (int k = 0; k < n_in; k++) {
        const ls_tensor *t = in[k];
        if (!t)
            return ls_error_set(err, LS_ERR_ARG, "%s: input %d is missing", name, k);
        if (t->ndim < 0 || t->ndim > LS_MAX_DIMS || (unsigned)t->dtype >= LS_DTYPE_COUNT)
            return ls_error_set(err, LS_ERR_ARG, "%s: input %d is malformed (%d dims, dtype %d)",
                                name, k, t->ndim, (int)t->dtype);
        for (int i = 0; i < t->ndim; i++)
            if (t->shape[i] < 0)
                return ls_error_set(err, LS_ERR_ARG, "%s: input %d has shape %s", name, k,
                                    shape_of(t).s);
    }
    if (ls_op_kind_of(op) == LS_KIND_VIEW)
        return infer_view(op, p, in, n_in, out, err);
    int rc = infer_compute(op, p, in, n_in, out, err);
    if (rc)
        return rc;
    /* Guards the shapes built from parameters (triu_mask, pos_table) and
     * products of large inputs against overflow before anyone allocates. */
    if ((rc = ls_shape_check(out->ndim, out->shape, out->dtype, true, err)))
        return ls_error_prefix(err, "%s: output", name), rc;
    return LS_OK;
}

/* ---- compute ---- */

static bool has_data(const ls_tensor *t)
{
    return t->data != NULL || ls_tensor_numel(t) == 0;
}

void ls_op_prepack(ls_op op, const ls_op_params *p, const ls_tensor *const *in, int n_in,
                   ls_tensor *out, const ls_op_ctx *ctx)
{
    if (!ctx || ctx->reference || !ctx->packs || !ctx->const_inputs)
        return;
    ls_op_ctx c = *ctx;
    c.pack_only = true;
    const ls_tensor *b = n_in == 3 ? in[2] : NULL;
    /* the fast paths return early once packed; a false return (a layout
     * they do not take) means nothing would be cached anyway */
    switch (op) {
    case LS_OP_MATMUL:
        (void)ls_matmul_fast(in[0], in[1], out, &c);
        break;
    case LS_OP_LINEAR:
        (void)ls_linear_fast(in[0], in[1], b, out, &c);
        break;
    case LS_OP_CONV1D:
        (void)ls_conv1d_fast(in[0], in[1], b, (int)p->i[0], (int)p->i[1], (int)p->i[2], out, &c);
        break;
    case LS_OP_CONV2D:
        (void)ls_conv2d_fast(in[0], in[1], b, (int)p->i[0], (int)p->i[1], out, &c);
        break;
    default:
        break;
    }
}

int ls_op_compute(ls_op op, const ls_op_params *p, const ls_tensor *const *in, int n_in,
                  ls_tensor *out, const ls_op_ctx *ctx, ls_error *err)
{
    static const ls_op_params no_params;
    if (!p)
        p = &no_params;
    ls_tensor want;
    int rc = ls_op_infer(op, p, in, n_in, &want, err);
    if (rc)
        return rc;
    const char *name = ls_op_name(op);
    for (int k = 0; k < n_in; k++)
        if (!has_data(in[k]))
            return ls_error_set(err, LS_ERR_ARG, "%s: input %d has no data", name, k);
    if (out->dtype != want.dtype || !ls_tensor_same_shape(out, &want))
        return ls_error_set(err, LS_ERR_SHAPE, "%s: output is %s %s, expected %s %s", name,
                            ls_dtype_name(out->dtype), shape_of(out).s,
                            ls_dtype_name(want.dtype), shape_of(&want).s);
    if (!has_data(out))
        return ls_error_set(err, LS_ERR_ARG, "%s: output has no data", name);
    if (ls_tensor_numel(out) == 0)
        return LS_OK;
    if (ls_op_kind_of(op) == LS_KIND_VIEW) {
        /* Views need no compute; asked anyway, materialise the view. */
        if (out->data != want.data || memcmp(out->stride, want.stride, sizeof want.stride))
            ls_tensor_copy(out, &want);
        return LS_OK;
    }
    if (!ls_tensor_is_contiguous(out))
        return ls_error_set(err, LS_ERR_ARG, "%s: output %s is not contiguous", name,
                            shape_of(out).s);
    const bool fast = !(ctx && ctx->reference);
    switch (op) {
    case LS_OP_CONTIGUOUS:
        ls_tensor_copy(out, in[0]);
        return LS_OK;
    case LS_OP_CAST:
        if (in[0]->dtype == out->dtype)
            ls_tensor_copy(out, in[0]);
        else
            ls_unary_ref(op, p, in[0], out);
        return LS_OK;
    case LS_OP_CONCAT:
        ls_concat_ref(in, n_in, (int)p->i[0], out);
        return LS_OK;
    case LS_OP_MATMUL:
        if (!fast || !ls_matmul_fast(in[0], in[1], out, ctx))
            ls_matmul_ref_c(in[0], in[1], out, ctx ? ctx->cancel : NULL);
        return LS_OK;
    case LS_OP_LINEAR: {
        const ls_tensor *b = n_in == 3 ? in[2] : NULL;
        if (!fast || !ls_linear_fast(in[0], in[1], b, out, ctx))
            ls_linear_ref_c(in[0], in[1], b, out, ctx ? ctx->cancel : NULL);
        return LS_OK;
    }
    case LS_OP_ADD:
    case LS_OP_SUB:
    case LS_OP_MUL:
    case LS_OP_DIV:
    case LS_OP_LOGICAL_OR:
        if (!fast || !ls_elementwise_fast(op, p, in[0], in[1], out, ctx))
            ls_binary_ref(op, in[0], in[1], out);
        return LS_OK;
    case LS_OP_SCALE:
    case LS_OP_DIV_SCALAR:
    case LS_OP_ADD_SCALAR:
    case LS_OP_RELU:
    case LS_OP_GELU:
    case LS_OP_SILU:
    case LS_OP_SIGMOID:
    case LS_OP_TANH:
    case LS_OP_EQ_SCALAR:
    case LS_OP_LOGICAL_NOT:
        if (!fast || !ls_elementwise_fast(op, p, in[0], NULL, out, ctx))
            ls_unary_ref(op, p, in[0], out);
        return LS_OK;
    case LS_OP_GLU:
        if (!fast || !ls_glu_fast(in[0], (int)p->i[0], out, ctx))
            ls_glu_ref(in[0], (int)p->i[0], out);
        return LS_OK;
    case LS_OP_MASKED_FILL:
        ls_masked_fill_ref(in[0], in[1], p->f[0], out);
        return LS_OK;
    case LS_OP_TRIU_MASK:
        ls_triu_mask_ref(p->i[2], out);
        return LS_OK;
    case LS_OP_PAD_MASK:
        ls_pad_mask_ref(in[0], out);
        return LS_OK;
    case LS_OP_SOFTMAX:
        if (!fast || !ls_softmax_fast(in[0], out, ctx))
            ls_softmax_ref(in[0], out);
        return LS_OK;
    case LS_OP_LAYER_NORM: {
        const ls_tensor *w = p->i[0] ? in[1] : NULL;
        const ls_tensor *b = p->i[1] ? in[p->i[0] ? 2 : 1] : NULL;
        if (!fast || !ls_layer_norm_fast(in[0], w, b, p->f[0], out, ctx))
            ls_layer_norm_ref(in[0], w, b, p->f[0], out);
        return LS_OK;
    }
    case LS_OP_GROUP_NORM: {
        const ls_tensor *w = n_in == 3 ? in[1] : NULL, *b = n_in == 3 ? in[2] : NULL;
        if (!fast || !ls_group_norm_fast(in[0], w, b, (int)p->i[0], p->f[0], out, ctx))
            ls_group_norm_ref(in[0], w, b, (int)p->i[0], p->f[0], out);
        return LS_OK;
    }
    case LS_OP_BATCH_NORM: {
        const ls_tensor *w = n_in == 5 ? in[3] : NULL, *b = n_in == 5 ? in[4] : NULL;
        if (!fast || !ls_batch_norm_fast(in[0], in[1], in[2], w, b, p->f[0], out, ctx))
            ls_batch_norm_ref(in[0], in[1], in[2], w, b, p->f[0], out);
        return LS_OK;
    }
    case LS_OP_ARGMAX:
        ls_argmax_ref(in[0], out);
        return LS_OK;
    case LS_OP_CROSS_ENTROPY:
        return ls_cross_entropy_ref(in[0], in[1], p->i[0], out, err);
    case LS_OP_EMBEDDING:
        return ls_embedding_ref(in[0], in[1], out, err);
    case LS_OP_POS_TABLE:
        ls_pos_table_ref(out);
        return LS_OK;
    case LS_OP_CONV1D: {
        const ls_tensor *b = n_in == 3 ? in[2] : NULL;
        int s = (int)p->i[0], pad = (int)p->i[1], g = (int)p->i[2];
        if (!fast || !ls_conv1d_fast(in[0], in[1], b, s, pad, g, out, ctx))
            ls_conv1d_ref_c(in[0], in[1], b, s, pad, g, out, ctx ? ctx->cancel : NULL);
        return LS_OK;
    }
    case LS_OP_CONV2D: {
        const ls_tensor *b = n_in == 3 ? in[2] : NULL;
        int s = (int)p->i[0], pad = (int)p->i[1];
        if (!fast || !ls_conv2d_fast(in[0], in[1], b, s, pad, out, ctx))
            ls_conv2d_ref_c(in[0], in[1], b, s, pad, out, ctx ? ctx->cancel : NULL);
        return LS_OK;
    }
    case LS_OP_CONV_LEN:
        ls_conv_len_ref(in[0], p->i[0], p->i[1], p->i[2], out);
        return LS_OK;
    case LS_OP_WEIGHT_NORM: {
        int dim = (int)(p->i[0] < 0 ? p->i[0] + in[0]->ndim : p->i[0]);
        if (!fast || !ls_weight_norm_fast(in[0], in[1], dim, out))
            ls_weight_norm_ref(in[0], in[1], dim, out);
        return LS_OK;
    }
    default:
        return ls_error_set(err, LS_ERR_INTERNAL, "%s: no compute", name);
    }
}

/* ---- parameter descriptions ---- */

static void shape_list(const int64_t *v, int64_t n, char *buf, size_t cap)
{
    size_t k = 0;
    if (n < 0 || n > LS_MAX_DIMS)
        n = 0;
    k += (size_t)snprintf(buf, cap, "[");
    for (int64_t i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)v[i]);
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
}

void ls_op_params_str(ls_op op, const ls_op_params *p, int n_in, char *buf, size_t n)
{
    static const ls_op_params no_params;
    if (!buf || n == 0)
        return;
    if (!p)
        p = &no_params;
    char list[96];
    const long long i0 = p->i[0], i1 = p->i[1], i2 = p->i[2], i3 = p->i[3];
    buf[0] = '\0';
    switch (op) {
    case LS_OP_RESHAPE:
    case LS_OP_EXPAND:
        shape_list(&p->i[1], p->i[0], list, sizeof list);
        snprintf(buf, n, "shape=%s", list);
        break;
    case LS_OP_PERMUTE:
        shape_list(&p->i[1], p->i[0], list, sizeof list);
        snprintf(buf, n, "dims=%s", list);
        break;
    case LS_OP_TRANSPOSE:
        snprintf(buf, n, "dim0=%lld, dim1=%lld", i0, i1);
        break;
    case LS_OP_SLICE:
        snprintf(buf, n, "dim=%lld, start=%lld, end=%lld, step=%lld", i0, i1, i2, i3);
        break;
    case LS_OP_UNSQUEEZE:
    case LS_OP_SQUEEZE:
    case LS_OP_GLU:
        snprintf(buf, n, "dim=%lld", i0);
        break;
    case LS_OP_CONCAT:
        snprintf(buf, n, "dim=%lld, inputs=%d", i0, n_in);
        break;
    case LS_OP_CAST:
        snprintf(buf, n, "dtype=%s", ls_dtype_name((ls_dtype)p->i[0]));
        break;
    case LS_OP_LINEAR:
        snprintf(buf, n, "bias=%s", n_in == 3 ? "True" : "False");
        break;
    case LS_OP_SCALE:
    case LS_OP_DIV_SCALAR:
    case LS_OP_ADD_SCALAR:
    case LS_OP_EQ_SCALAR:
    case LS_OP_MASKED_FILL:
        snprintf(buf, n, "value=%g", (double)p->f[0]);
        break;
    case LS_OP_TRIU_MASK:
        snprintf(buf, n, "rows=%lld, cols=%lld, k=%lld", i0, i1, i2);
        break;
    case LS_OP_PAD_MASK:
        snprintf(buf, n, "T=%lld", i0);
        break;
    case LS_OP_LAYER_NORM:
        snprintf(buf, n, "eps=%g, weight=%s, bias=%s", (double)p->f[0], i0 ? "True" : "False",
                 i1 ? "True" : "False");
        break;
    case LS_OP_GROUP_NORM:
        snprintf(buf, n, "groups=%lld, eps=%g, affine=%s", i0, (double)p->f[0],
                 n_in == 3 ? "True" : "False");
        break;
    case LS_OP_BATCH_NORM:
        snprintf(buf, n, "eps=%g, affine=%s", (double)p->f[0], n_in == 5 ? "True" : "False");
        break;
    case LS_OP_CROSS_ENTROPY:
        snprintf(buf, n, "ignore_index=%lld", i0);
        break;
    case LS_OP_POS_TABLE:
        snprintf(buf, n, "T=%lld, D=%lld", i0, i1);
        break;
    case LS_OP_CONV1D:
        snprintf(buf, n, "stride=%lld, pad=%lld, groups=%lld, bias=%s", i0, i1, i2,
                 n_in == 3 ? "True" : "False");
        break;
    case LS_OP_CONV2D:
        snprintf(buf, n, "stride=%lld, pad=%lld, bias=%s", i0, i1, n_in == 3 ? "True" : "False");
        break;
    case LS_OP_CONV_LEN:
        snprintf(buf, n, "kernel=%lld, stride=%lld, pad=%lld", i0, i1, i2);
        break;
    case LS_OP_WEIGHT_NORM:
        snprintf(buf, n, "dim=%lld", i0);
        break;
    default:
        break;
    }
}

/* ---- reference loops of the ops added for wav2vec2 ---- */

void ls_conv_len_ref(const ls_tensor *len, int64_t kernel, int64_t stride, int64_t pad,
                     ls_tensor *out)
{
    // len is (..) int64, out is len's shape, int64.  Floor division, as
    // torch.div(..., rounding_mode="floor"), then clamped at 0 like
    // torchaudio's ConvLayerBlock (an input shorter than the kernel).
    int64_t *o = out->data;
    const int64_t n = ls_tensor_numel(out);
    for (int64_t i = 0; i < n; i++) {
        int64_t num = (int64_t)ls_tensor_get_flat(len, i) + 2 * pad - kernel;
        int64_t q = num / stride;
        if (num % stride != 0 && num < 0)
            q--; /* C truncates toward zero */
        o[i] = q + 1 > 0 ? q + 1 : 0;
    }
}

void ls_weight_norm_ref(const ls_tensor *v, const ls_tensor *g, int dim, ls_tensor *out)
{
    // v is (..), g has v's rank with 1s except on dim, out is v's shape:
    // out = g * v / ||v||, the norm taken over every dim except dim, one
    // per index along dim (torch._weight_norm).
    //   v viewed as [outer, len, inner]: flat index (a*len + j)*inner + b
    const int64_t len = v->shape[dim];
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; d++)
        outer *= v->shape[d];
    for (int d = dim + 1; d < v->ndim; d++)
        inner *= v->shape[d];
    float *o = out->data;
    for (int64_t j = 0; j < len; j++) {
        double ss = 0.0;
        for (int64_t a = 0; a < outer; a++)
            for (int64_t b = 0; b < inner; b++) {
                double x = ls_tensor_get_flat(v, (a * len + j) * inner + b);
                ss += x * x;
            }
        double gj = ls_tensor_get_flat(g, j);
        double scale = ss > 0.0 ? gj / sqrt(ss) : 0.0;
        for (int64_t a = 0; a < outer; a++)
            for (int64_t b = 0; b < inner; b++) {
                int64_t i = (a * len + j) * inner + b;
                o[i] = (float)(ls_tensor_get_flat(v, i) * scale);
            }
    }
}
