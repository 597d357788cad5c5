/* fast_ew.c - fast paths of the element-wise float maps on contiguous
 * tensors: flat loops the compiler vectorises, split over the pool in
 * chunks.  Strided or broadcast inputs go to the reference loops.
 *
 * The transcendental maps keep the reference's double formulas, so both
 * paths give the same bits; the gain is the flat loop and the threads.
 */
#include <math.h>
#include <stdlib.h>

#include "layerstep/kernels.h"
#include "ops_impl.h"

enum { CHUNK = 1 << 14 }; /* floats per task: ~64 KiB, a few microseconds */

typedef struct ew_job {
    ls_op op;
    float f;
    const float *a, *b;
    float *o;
    int64_t n;
} ew_job;

static void ew_range(const ew_job *j, int64_t lo, int64_t hi)
{
    const float *restrict a = j->a, *restrict b = j->b;
    float *restrict o = j->o;
    const float f = j->f;
    switch (j->op) {
    case LS_OP_RELU:
        /* NaN < 0 is false: NaN passes through, as in the reference */
        for (int64_t i = lo; i < hi; i++)
            o[i] = a[i] < 0.0f ? 0.0f : a[i];
        break;
    case LS_OP_SILU:
        for (int64_t i = lo; i < hi; i++)
            o[i] = (float)((double)a[i] * (1.0 / (1.0 + exp(-(double)a[i]))));
        break;
    case LS_OP_SIGMOID:
        for (int64_t i = lo; i < hi; i++)
            o[i] = (float)(1.0 / (1.0 + exp(-(double)a[i])));
        break;
    case LS_OP_GELU:
        for (int64_t i = lo; i < hi; i++)
            o[i] = (float)(0.5 * a[i] * (1.0 + erf(a[i] * 0.70710678118654752440)));
        break;
    case LS_OP_SCALE:
        for (int64_t i = lo; i < hi; i++)
            o[i] = a[i] * f;
        break;
    case LS_OP_ADD_SCALAR:
        for (int64_t i = lo; i < hi; i++)
            o[i] = a[i] + f;
        break;
    case LS_OP_ADD:
        for (int64_t i = lo; i < hi; i++)
            o[i] = a[i] + b[i];
        break;
    case LS_OP_SUB:
        for (int64_t i = lo; i < hi; i++)
            o[i] = a[i] - b[i];
        break;
    case LS_OP_MUL:
        for (int64_t i = lo; i < hi; i++)
            o[i] = a[i] * b[i];
        break;
    default:
        break;
    }
}

static void ew_task(void *ud, int t, int thread)
{
    (void)thread;
    const ew_job *j = ud;
    int64_t lo = (int64_t)t * CHUNK, hi = lo + CHUNK < j->n ? lo + CHUNK : j->n;
    ew_range(j, lo, hi);
}

bool ls_elementwise_fast(ls_op op, const ls_op_params *p, const ls_tensor *a,
                         const ls_tensor *b, ls_tensor *out, const ls_op_ctx *ctx)
{
    switch (op) {
    case LS_OP_RELU:
    case LS_OP_SILU:
    case LS_OP_SIGMOID:
    case LS_OP_GELU:
    case LS_OP_SCALE:
    case LS_OP_ADD_SCALAR:
        break;
    case LS_OP_ADD:
    case LS_OP_SUB:
    case LS_OP_MUL:
        if (!b || b->dtype != LS_F32 || !ls_tensor_same_shape(a, b) ||
            !ls_tensor_is_contiguous(b))
            return false;
        break;
    default:
        return false;
    }
    if (a->dtype != LS_F32 || out->dtype != LS_F32 || !ls_tensor_is_contiguous(a) ||
        !ls_tensor_same_shape(a, out))
        return false;
    ew_job j = {op, p ? p->f[0] : 0.0f, a->data, b ? b->data : NULL, out->data,
                ls_tensor_numel(out)};
    int64_t tasks = (j.n + CHUNK - 1) / CHUNK;
    if (tasks > (1 << 30))
        return false;
    ls_pool_run(ctx ? ctx->pool : NULL, ctx ? ctx->threads : 1, ew_task, &j, (int)tasks);
    return true;
}

bool ls_weight_norm_fast(const ls_tensor *v, const ls_tensor *g, int dim, ls_tensor *out)
{
    // v contiguous, viewed as [outer, len, inner] around dim (see the
    // reference).  The sums of squares run in the reference's order per
    // index j (a outer, b inner), in double, so the bits are the same;
    // the gain is reading v once, in memory order, without index math.
    if (!ls_tensor_is_contiguous(v))
        return false;
    const int64_t len = v->shape[dim];
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; d++)
        outer *= v->shape[d];
    for (int d = dim + 1; d < v->ndim; d++)
        inner *= v->shape[d];
    double *ss = calloc((size_t)(len > 0 ? len : 1), sizeof *ss);
    if (!ss)
        return false;
    const float *x = v->data;
    float *o = out->data;
    for (int64_t a = 0; a < outer; a++)
        for (int64_t j = 0; j < len; j++) {
            const float *r = x + (a * len + j) * inner;
            double s = ss[j];
            for (int64_t b = 0; b < inner; b++)
                s += (double)r[b] * (double)r[b];
            ss[j] = s;
        }
    for (int64_t j = 0; j < len; j++) {
        double gj = ls_tensor_get_flat(g, j);
        ss[j] = ss[j] > 0.0 ? gj / sqrt(ss[j]) : 0.0;
    }
    for (int64_t a = 0; a < outer; a++)
        for (int64_t j = 0; j < len; j++) {
            const float *r = x + (a * len + j) * inner;
            float *w = o + (a * len + j) * inner;
            for (int64_t b = 0; b < inner; b++)
                w[b] = (float)(r[b] * ss[j]);
        }
    free(ss);
    return true;
}
