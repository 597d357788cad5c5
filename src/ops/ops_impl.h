/* ops_impl.h - what the op files share with each other and the dispatcher;
 * not part of the public API (not under include/).
 *
 *   if (!ctx->reference && ls_matmul_fast(a, b, out))
 *       return LS_OK;
 *   ls_matmul_ref(a, b, out);       // shapes the fast kernel does not take
 *
 * Fast kernels return false when they do not handle a case (or cannot get
 * their scratch memory); the caller then runs the reference loop, so a
 * false return is never an error.
 */
#ifndef LAYERSTEP_OPS_IMPL_H
#define LAYERSTEP_OPS_IMPL_H

#include <stdatomic.h>

#include "layerstep/ops.h"

/* Polled between rows and tiles of the long loops (ls_op_ctx.cancel). */
static inline bool ls_cancelled(const _Atomic int *c)
{
    return c && atomic_load_explicit(c, memory_order_relaxed) != 0;
}

/* The reference loops with a cancel flag (the public ls_*_ref pass NULL). */
void ls_matmul_ref_c(const ls_tensor *a, const ls_tensor *b, ls_tensor *out, const _Atomic int *cancel);
void ls_linear_ref_c(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, ls_tensor *out,
                     const _Atomic int *cancel);
void ls_conv1d_ref_c(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int stride,
                     int pad, int groups, ls_tensor *out, const _Atomic int *cancel);
void ls_conv2d_ref_c(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int stride,
                     int pad, ls_tensor *out, const _Atomic int *cancel);

/* Implicit im2col, the B operand of a convolution lowered to a GEMM:
 *   B[k, p] = x[c, i*stride + u - pad_h, j*stride + v - pad_w]   (0 outside)
 *   k = (c*KH + u)*KW + v,  p = i*OW + j
 * x[c, h, w] is at x[c*sc + h*sh + w*sw]; a conv1d is H = KH = 1. */
typedef struct ls_im2col {
    const float *x;
    int64_t sc, sh, sw;
    int64_t H, W, KH, KW, stride, pad_h, pad_w, OW;
} ls_im2col;

/* A GEMM operand: element (r, c) at p[r*rs + c*cs], or (B only) an
 * implicit im2col.  cache: the data is an immutable weight, so its packed
 * form may be kept in ctx->packs for the executor's lifetime. */
typedef struct ls_gemm_op {
    const float *p;
    int64_t rs, cs;
    const ls_im2col *im2col;
    bool cache;
} ls_gemm_op;

/* c[M,N] (row stride ldc, unit column stride) = or += a[M,K] @ b[K,N].
 * thread < 0: may split over ctx->pool (ctx->threads); thread >= 0: runs
 * on the calling thread, a pool task of that index (its scratch).  ctx
 * may be NULL.  Returns false only when scratch allocation fails. */
bool ls_gemm_ex(const ls_op_ctx *ctx, int thread, int64_t M, int64_t N, int64_t K,
                const ls_gemm_op *a, const ls_gemm_op *b, float *c, int64_t ldc,
                bool accumulate);
/* The same, strided operands, no ctx: one thread, packed per call. */
bool ls_gemm_f32(int64_t M, int64_t N, int64_t K, const float *a, int64_t rsa, int64_t csa,
                 const float *b, int64_t rsb, int64_t csb, float *c, int64_t ldc,
                 bool accumulate);

bool ls_matmul_fast(const ls_tensor *a, const ls_tensor *b, ls_tensor *out,
                    const ls_op_ctx *ctx);
bool ls_linear_fast(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, ls_tensor *out,
                    const ls_op_ctx *ctx);
bool ls_conv1d_fast(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int stride,
                    int pad, int groups, ls_tensor *out, const ls_op_ctx *ctx);
bool ls_conv2d_fast(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int stride,
                    int pad, ls_tensor *out, const ls_op_ctx *ctx);

/* Contiguous float32 relu/silu/sigmoid/gelu/scale/add_scalar, and
 * add/sub/mul of two same-shape contiguous tensors (b NULL for unary). */
bool ls_elementwise_fast(ls_op op, const ls_op_params *p, const ls_tensor *a,
                         const ls_tensor *b, ls_tensor *out, const ls_op_ctx *ctx);

/* Row ops on contiguous float32 inputs (false otherwise, or on plain C,
 * where the reference loops run): softmax and layer_norm over the last
 * dim, GLU along dim, eval batch_norm per channel of (B,C,...). */
bool ls_softmax_fast(const ls_tensor *x, ls_tensor *out, const ls_op_ctx *ctx);
bool ls_layer_norm_fast(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, float eps,
                        ls_tensor *out, const ls_op_ctx *ctx);
bool ls_glu_fast(const ls_tensor *x, int dim, ls_tensor *out, const ls_op_ctx *ctx);
bool ls_group_norm_fast(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int groups,
                        float eps, ls_tensor *out, const ls_op_ctx *ctx);
bool ls_batch_norm_fast(const ls_tensor *x, const ls_tensor *mean, const ls_tensor *var,
                        const ls_tensor *w, const ls_tensor *b, float eps, ls_tensor *out,
                        const ls_op_ctx *ctx);
/* o[i] += a * x[i] for i < n, vectorised for ctx's ISA (ctx may be NULL). */
void ls_axpy_f32(const ls_op_ctx *ctx, float a, const float *x, float *o, int64_t n);

/* o[i] = bias + sum_{t < kt} w[t] * col[t*ldcol + i] for i < n (ctx's ISA). */
void ls_taps_f32(const ls_op_ctx *ctx, const float *w, int64_t kt, const float *col,
                 int64_t ldcol, float bias, float *o, int64_t n);

/* weight_norm on a contiguous v: same bits as the reference. */
bool ls_weight_norm_fast(const ls_tensor *v, const ls_tensor *g, int dim, ls_tensor *out);

/* Reference loops the public header does not list (their ops take no
 * tensor parameters worth exposing). */
void ls_triu_mask_ref(int64_t k, ls_tensor *out);                   /* out (R,C) bool */
void ls_pad_mask_ref(const ls_tensor *lengths, ls_tensor *out);     /* out (B,T) bool */

/* t's strides laid out against a 4-d index of out (right-aligned, numpy
 * style): a missing or size-1 dim gets stride 0 so one index walks both. */
void ls_bcast_strides(const ls_tensor *t, const ls_tensor *out, int64_t st[LS_MAX_DIMS]);
/* out's shape padded on the left with 1s to 4 dims. */
void ls_shape4(const ls_tensor *t, int64_t sh[LS_MAX_DIMS]);

#endif
