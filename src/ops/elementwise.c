/* elementwise.c - broadcast binary ops, unary maps, GLU, masked_fill.
 *
 * Every loop walks a 4-d index over out (shapes padded on the left with
 * 1s) and reads its inputs through broadcast strides, so strided views
 * and numpy broadcasting cost nothing extra.  The innermost dim is a row
 * handed to a small per-op loop, which keeps the op switch out of the
 * per-element path.  Transcendentals are evaluated in double and rounded
 * once, so the result is the float32 nearest the exact value.
 */
#include <math.h>

#include "ops_impl.h"

void ls_shape4(const ls_tensor *t, int64_t sh[LS_MAX_DIMS])
{
    int off = LS_MAX_DIMS - t->ndim;
    for (int i = 0; i < LS_MAX_DIMS; i++)
        sh[i] = i >= off ? t->shape[i - off] : 1;
}

void ls_bcast_strides(const ls_tensor *t, const ls_tensor *out, int64_t st[LS_MAX_DIMS])
{
    (void)out; /* right alignment only depends on t: out has >= t->ndim dims */
    int off = LS_MAX_DIMS - t->ndim;
    for (int i = 0; i < LS_MAX_DIMS; i++)
        st[i] = (i >= off && t->shape[i - off] != 1) ? t->stride[i - off] : 0;
}

static double load_any(ls_dtype dt, const void *p)
{
    switch (dt) {
    case LS_F32: return *(const float *)p;
    case LS_I64: return (double)*(const int64_t *)p;
    case LS_BOOL: return *(const unsigned char *)p ? 1.0 : 0.0;
    default: return 0.0;
    }
}

/* ---- binary ---- */

static void row_f32(ls_op op, int64_t n, const float *a, int64_t sa, const float *b, int64_t sb,
                    float *o)
{
    switch (op) {
    case LS_OP_ADD:
        for (int64_t i = 0; i < n; i++)
            o[i] = a[i * sa] + b[i * sb];
        break;
    case LS_OP_SUB:
        for (int64_t i = 0; i < n; i++)
            o[i] = a[i * sa] - b[i * sb];
        break;
    case LS_OP_MUL:
        for (int64_t i = 0; i < n; i++)
            o[i] = a[i * sa] * b[i * sb];
        break;
    case LS_OP_DIV:
        for (int64_t i = 0; i < n; i++)
            o[i] = a[i * sa] / b[i * sb];
        break;
    default:
        break;
    }
}

/* Wrapping arithmetic: int64 overflow is defined in torch (two's
 * complement) and undefined in C, so go through uint64. */
static void row_i64(ls_op op, int64_t n, const int64_t *a, int64_t sa, const int64_t *b,
                    int64_t sb, int64_t *o)
{
    for (int64_t i = 0; i < n; i++) {
        uint64_t x = (uint64_t)a[i * sa], y = (uint64_t)b[i * sb];
        uint64_t r = op == LS_OP_ADD ? x + y : op == LS_OP_SUB ? x - y : x * y;
        o[i] = (int64_t)r;
    }
}

void ls_binary_ref(ls_op op, const ls_tensor *a, const ls_tensor *b, ls_tensor *out)
{
    // a, b broadcast (numpy rules) to out, up to 4 dims.  float32 for
    // add/sub/mul/div, int64 for add/sub/mul, bool for logical_or.
    int64_t sh[4], sa[4], sb[4];
    ls_shape4(out, sh);
    ls_bcast_strides(a, out, sa);
    ls_bcast_strides(b, out, sb);
    size_t es = ls_dtype_size(out->dtype);
    char *o = out->data;
    for (int64_t i0 = 0; i0 < sh[0]; i0++)
        for (int64_t i1 = 0; i1 < sh[1]; i1++)
            for (int64_t i2 = 0; i2 < sh[2]; i2++) {
                int64_t oa = i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                int64_t ob = i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                if (op == LS_OP_LOGICAL_OR) {
                    const unsigned char *pa = (const unsigned char *)a->data + oa;
                    const unsigned char *pb = (const unsigned char *)b->data + ob;
                    unsigned char *po = (unsigned char *)o;
                    for (int64_t i = 0; i < sh[3]; i++)
                        po[i] = (pa[i * sa[3]] || pb[i * sb[3]]) ? 1 : 0;
                } else if (out->dtype == LS_I64) {
                    row_i64(op, sh[3], (const int64_t *)a->data + oa, sa[3],
                            (const int64_t *)b->data + ob, sb[3], (int64_t *)o);
                } else {
                    row_f32(op, sh[3], (const float *)a->data + oa, sa[3],
                            (const float *)b->data + ob, sb[3], (float *)o);
                }
                o += sh[3] * (int64_t)es;
            }
}

/* ---- unary ---- */

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* float32 -> float32 maps. */
static void row_unary(ls_op op, float f, int64_t n, const float *x, int64_t sx, float *o)
{
    switch (op) {
    case LS_OP_SCALE:
        for (int64_t i = 0; i < n; i++)
            o[i] = x[i * sx] * f;
        break;
    case LS_OP_DIV_SCALAR:
        /* A true division, as `scores / np.sqrt(d_k)` does; x * (1/f)
         * rounds differently in about a third of the elements. */
        for (int64_t i = 0; i < n; i++)
            o[i] = x[i * sx] / f;
        break;
    case LS_OP_ADD_SCALAR:
        for (int64_t i = 0; i < n; i++)
            o[i] = x[i * sx] + f;
        break;
    case LS_OP_RELU:
        /* NaN < 0 is false, so NaN passes through as torch.relu does. */
        for (int64_t i = 0; i < n; i++)
            o[i] = x[i * sx] < 0.0f ? 0.0f : x[i * sx];
        break;
    case LS_OP_GELU:
        for (int64_t i = 0; i < n; i++) {
            double v = x[i * sx];
            o[i] = (float)(0.5 * v * (1.0 + erf(v * 0.70710678118654752440)));
        }
        break;
    case LS_OP_SILU:
        for (int64_t i = 0; i < n; i++) {
            double v = x[i * sx];
            o[i] = (float)(v * sigmoid(v));
        }
        break;
    case LS_OP_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            o[i] = (float)sigmoid(x[i * sx]);
        break;
    case LS_OP_TANH:
        for (int64_t i = 0; i < n; i++)
            o[i] = (float)tanh(x[i * sx]);
        break;
    default:
        break;
    }
}

/* Ops whose input or output is not float32: one element at a time
 * through double (exact for bool, int64 up to 2^53 and float32). */
static void store_cast(ls_dtype dt, void *p, double v)
{
    switch (dt) {
    case LS_F32:
        *(float *)p = (float)v;
        break;
    case LS_I64:
        /* torch truncates toward zero; out-of-range and NaN give INT64_MIN
         * as the x86 conversion does, without C's undefined behaviour. */
        *(int64_t *)p = (v >= -9223372036854775808.0 && v < 9223372036854775808.0)
                            ? (int64_t)v
                            : INT64_MIN;
        break;
    case LS_BOOL:
        *(unsigned char *)p = v != 0.0; /* NaN is true, as in torch */
        break;
    default:
        break;
    }
}

void ls_unary_ref(ls_op op, const ls_op_params *p, const ls_tensor *x, ls_tensor *out)
{
    // x is any shape (up to 4 dims), out has x's shape.  float32 maps for
    // scale/div_scalar/add_scalar/relu/gelu/silu/sigmoid/tanh; any dtype
    // for eq_scalar (-> bool), logical_not (-> bool), cast, contiguous.
    int64_t sh[4], sx[4];
    ls_shape4(x, sh);
    ls_bcast_strides(x, x, sx);
    const float f = p ? p->f[0] : 0.0f;
    const size_t ies = ls_dtype_size(x->dtype), oes = ls_dtype_size(out->dtype);
    char *o = out->data;
    bool float_map = op != LS_OP_EQ_SCALAR && op != LS_OP_LOGICAL_NOT && op != LS_OP_CAST &&
                     op != LS_OP_CONTIGUOUS;
    for (int64_t i0 = 0; i0 < sh[0]; i0++)
        for (int64_t i1 = 0; i1 < sh[1]; i1++)
            for (int64_t i2 = 0; i2 < sh[2]; i2++) {
                int64_t ox = i0 * sx[0] + i1 * sx[1] + i2 * sx[2];
                if (float_map) {
                    row_unary(op, f, sh[3], (const float *)x->data + ox, sx[3], (float *)o);
                } else {
                    const char *px = (const char *)x->data + ox * (int64_t)ies;
                    for (int64_t i = 0; i < sh[3]; i++) {
                        const char *e = px + i * sx[3] * (int64_t)ies;
                        double v = load_any(x->dtype, e);
                        char *d = o + i * (int64_t)oes;
                        if (op == LS_OP_EQ_SCALAR)
                            *(unsigned char *)d = v == (double)f;
                        else if (op == LS_OP_LOGICAL_NOT)
                            *(unsigned char *)d = v == 0.0;
                        else if (x->dtype == LS_I64 && out->dtype == LS_I64)
                            *(int64_t *)d = *(const int64_t *)e; /* beyond 2^53 */
                        else
                            store_cast(out->dtype, d, v);
                    }
                }
                o += sh[3] * (int64_t)oes;
            }
}

/* ---- GLU and masked_fill ---- */

void ls_glu_ref(const ls_tensor *x, int dim, ls_tensor *out)
{
    // x is (.., 2H, ..) along dim, out is (.., H, ..): a * sigmoid(b) where
    // a is the first half of dim and b the second
    if (dim < 0)
        dim += x->ndim;
    int64_t h = x->shape[dim] / 2;
    ls_tensor a, b;
    ls_tensor_slice(x, dim, 0, h, 1, &a, NULL);
    ls_tensor_slice(x, dim, h, 2 * h, 1, &b, NULL);
    int64_t sh[4], sa[4], sb[4];
    ls_shape4(out, sh);
    ls_bcast_strides(&a, out, sa);
    ls_bcast_strides(&b, out, sb);
    float *o = out->data;
    for (int64_t i0 = 0; i0 < sh[0]; i0++)
        for (int64_t i1 = 0; i1 < sh[1]; i1++)
            for (int64_t i2 = 0; i2 < sh[2]; i2++) {
                const float *pa = (const float *)a.data + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                const float *pb = (const float *)b.data + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                for (int64_t i = 0; i < sh[3]; i++)
                    *o++ = (float)((double)pa[i * sa[3]] * sigmoid(pb[i * sb[3]]));
            }
}

void ls_masked_fill_ref(const ls_tensor *x, const ls_tensor *mask, float value, ls_tensor *out)
{
    // x is any shape, mask (bool) broadcasts to x, out has x's shape:
    // out = mask ? value : x
    //   scores [B,H,Tq,Tk]  <-  mask [B,1,1,Tk]  (strides 0 on H and Tq)
    int64_t sh[4], sx[4], sm[4];
    ls_shape4(out, sh);
    ls_bcast_strides(x, out, sx);
    ls_bcast_strides(mask, out, sm);
    const size_t es = ls_dtype_size(x->dtype);
    char *o = out->data;
    for (int64_t i0 = 0; i0 < sh[0]; i0++)
        for (int64_t i1 = 0; i1 < sh[1]; i1++)
            for (int64_t i2 = 0; i2 < sh[2]; i2++) {
                int64_t ox = i0 * sx[0] + i1 * sx[1] + i2 * sx[2];
                const unsigned char *pm =
                    (const unsigned char *)mask->data + i0 * sm[0] + i1 * sm[1] + i2 * sm[2];
                if (x->dtype == LS_F32) {
                    const float *px = (const float *)x->data + ox;
                    float *po = (float *)o;
                    for (int64_t i = 0; i < sh[3]; i++)
                        po[i] = pm[i * sm[3]] ? value : px[i * sx[3]];
                } else {
                    const char *px = (const char *)x->data + ox * (int64_t)es;
                    for (int64_t i = 0; i < sh[3]; i++) {
                        const char *e = px + i * sx[3] * (int64_t)es;
                        char *d = o + i * (int64_t)es;
                        if (pm[i * sm[3]])
                            store_cast(x->dtype, d, value);
                        else
                            for (size_t k = 0; k < es; k++)
                                d[k] = e[k];
                    }
                }
                o += sh[3] * (int64_t)es;
            }
}
