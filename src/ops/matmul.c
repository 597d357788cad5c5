/* matmul.c - batched matmul, linear, and the packed GEMM that the fast
 * paths of matmul, linear and the convolutions share.
 *
 * The reference loops accumulate in double: they are the "truth" the fast
 * kernels and the PyTorch dumps are compared against.  The GEMM keeps
 * float32 accumulators, as OpenBLAS does.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/kernels.h"
#include "ops_impl.h"

/* ---- reference loops ---- */

/* Strides of t's batch dims (all but the last two) against the two batch
 * dims of out, padded on the left: a dim t lacks, or has as 1, is
 * broadcast with stride 0. */
static void batch_strides(const ls_tensor *t, const ls_tensor *out, int64_t st[2])
{
    int tb = t->ndim - 2, ob = out->ndim - 2;
    for (int i = 0; i < 2; i++) {
        int od = i - (2 - ob);
        int td = od - (ob - tb);
        st[i] = (od >= 0 && td >= 0 && t->shape[td] != 1) ? t->stride[td] : 0;
    }
}

static void batch_sizes(const ls_tensor *out, int64_t nb[2])
{
    int ob = out->ndim - 2;
    for (int i = 0; i < 2; i++) {
        int od = i - (2 - ob);
        nb[i] = od >= 0 ? out->shape[od] : 1;
    }
}

void ls_matmul_ref(const ls_tensor *a, const ls_tensor *b, ls_tensor *out)
{
    ls_matmul_ref_c(a, b, out, NULL);
}

void ls_matmul_ref_c(const ls_tensor *a, const ls_tensor *b, ls_tensor *out, const _Atomic int *cancel)
{
    // a is (..,M,K), b is (..,K,N), out is (..,M,N); the batch dims broadcast
    const int64_t M = a->shape[a->ndim - 2], K = a->shape[a->ndim - 1];
    const int64_t N = b->shape[b->ndim - 1];
    const int64_t ars = a->stride[a->ndim - 2], acs = a->stride[a->ndim - 1];
    const int64_t brs = b->stride[b->ndim - 2], bcs = b->stride[b->ndim - 1];
    int64_t nb[2], sa[2], sb[2];
    batch_sizes(out, nb);
    batch_strides(a, out, sa);
    batch_strides(b, out, sb);
    const float *A = a->data, *B = b->data;
    float *C = out->data;
    for (int64_t i0 = 0; i0 < nb[0]; i0++)
        for (int64_t i1 = 0; i1 < nb[1]; i1++) {
            const float *ab = A + i0 * sa[0] + i1 * sa[1];
            const float *bb = B + i0 * sb[0] + i1 * sb[1];
            for (int64_t m = 0; m < M; m++) {
                if (ls_cancelled(cancel))
                    return;
                for (int64_t n = 0; n < N; n++) {
                    double s = 0.0;
                    for (int64_t k = 0; k < K; k++)
                        s += (double)ab[m * ars + k * acs] * (double)bb[k * brs + n * bcs];
                    *C++ = (float)s;
                }
            }
        }
}

void ls_linear_ref(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, ls_tensor *out)
{
    ls_linear_ref_c(x, w, b, out, NULL);
}

void ls_linear_ref_c(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, ls_tensor *out,
                     const _Atomic int *cancel)
{
    // x is (..,K), w is (N,K), b is (N) or NULL, out is (..,N): x W^T + b
    const int64_t K = x->shape[x->ndim - 1], N = w->shape[0];
    int64_t sh[LS_MAX_DIMS] = {1, 1, 1, 1}, st[LS_MAX_DIMS] = {0, 0, 0, 0};
    /* The leading dims of x, padded on the left to three. */
    int lead = x->ndim - 1;
    for (int i = 0; i < lead; i++) {
        sh[3 - lead + i] = x->shape[i];
        st[3 - lead + i] = x->stride[i];
    }
    const int64_t xcs = x->stride[x->ndim - 1];
    const float *X = x->data, *W = w->data, *Bv = b ? b->data : NULL;
    float *O = out->data;
    for (int64_t i0 = 0; i0 < sh[0]; i0++)
        for (int64_t i1 = 0; i1 < sh[1]; i1++)
            for (int64_t i2 = 0; i2 < sh[2]; i2++) {
                if (ls_cancelled(cancel))
                    return;
                const float *row = X + i0 * st[0] + i1 * st[1] + i2 * st[2];
                for (int64_t n = 0; n < N; n++) {
                    double s = Bv ? (double)Bv[n * b->stride[0]] : 0.0;
                    for (int64_t k = 0; k < K; k++)
                        s += (double)row[k * xcs] * (double)W[n * w->stride[0] + k * w->stride[1]];
                    *O++ = (float)s;
                }
            }
}

/* ---- fast paths ---- */

/* Batch items of a matmul spread over the pool: each item is one
 * single-threaded GEMM (attention's per-head products are too small to
 * split one by one). */
typedef struct batch_job {
    const ls_op_ctx *ctx;
    int64_t M, N, K, nb1;
    const float *A, *B;
    float *C;
    int64_t sa[2], sb[2], ars, acs, brs, bcs;
    atomic_bool ok;
} batch_job;

static void batch_task(void *ud, int t, int thread)
{
    batch_job *j = ud;
    int64_t i0 = t / j->nb1, i1 = t % j->nb1;
    ls_gemm_op A = {j->A + i0 * j->sa[0] + i1 * j->sa[1], j->ars, j->acs, NULL, false};
    ls_gemm_op B = {j->B + i0 * j->sb[0] + i1 * j->sb[1], j->brs, j->bcs, NULL, false};
    if (!ls_gemm_ex(j->ctx, thread, j->M, j->N, j->K, &A, &B, j->C + (int64_t)t * j->M * j->N,
                    j->N, false))
        atomic_store(&j->ok, false);
}

bool ls_matmul_fast(const ls_tensor *a, const ls_tensor *b, ls_tensor *out, const ls_op_ctx *ctx)
{
    const int64_t M = a->shape[a->ndim - 2], K = a->shape[a->ndim - 1];
    const int64_t N = b->shape[b->ndim - 1];
    int64_t nb[2];
    batch_job j = {.ctx = ctx, .M = M, .N = N, .K = K, .A = a->data, .B = b->data,
                   .C = out->data, .ars = a->stride[a->ndim - 2], .acs = a->stride[a->ndim - 1],
                   .brs = b->stride[b->ndim - 2], .bcs = b->stride[b->ndim - 1]};
    atomic_init(&j.ok, true);
    batch_sizes(out, nb);
    batch_strides(a, out, j.sa);
    batch_strides(b, out, j.sb);
    j.nb1 = nb[1];
    const int64_t items = nb[0] * nb[1];
    if (items == 1) {
        ls_gemm_op A = {j.A, j.ars, j.acs, NULL, ctx && (ctx->const_inputs & 1u)};
        ls_gemm_op B = {j.B, j.brs, j.bcs, NULL, ctx && (ctx->const_inputs & 2u)};
        return ls_gemm_ex(ctx, -1, M, N, K, &A, &B, j.C, N, false);
    }
    if (items > (1 << 30))
        return false;
    if (ctx && ctx->pack_only)
        return true; /* per-item GEMMs of activations: nothing to cache */
    ls_pool_run(ctx ? ctx->pool : NULL, ctx ? ctx->threads : 1, batch_task, &j, (int)items);
    return atomic_load(&j.ok);
}

bool ls_linear_fast(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, ls_tensor *out,
                    const ls_op_ctx *ctx)
{
    const int64_t K = x->shape[x->ndim - 1], N = w->shape[0];
    /* Leading dims of x padded to three; those whose strides chain merge
     * into one GEMM row range (the usual contiguous [B,T,K] case), so W is
     * packed once instead of once per batch item. */
    int64_t sh[3] = {1, 1, 1}, st[3] = {0, 0, 0};
    int lead = x->ndim - 1;
    for (int i = 0; i < lead; i++) {
        sh[3 - lead + i] = x->shape[i];
        st[3 - lead + i] = x->stride[i];
    }
    /* rows: the leading dims, from the right, that collapse into one. */
    int64_t rows = sh[2], rstride = st[2];
    int first = 2;
    for (int d = 1; d >= 0; d--) {
        if (sh[d] == 1) {
            first = d;
            continue;
        }
        if (rows == 1)
            rstride = st[d];
        else if (st[d] != rows * rstride)
            break;
        rows *= sh[d];
        first = d;
    }
    if (b && !(ctx && ctx->pack_only)) {
        float *o = out->data;
        int64_t total = ls_tensor_numel(out) / (N ? N : 1);
        for (int64_t r = 0; r < total && N > 0; r++)
            for (int64_t n = 0; n < N; n++)
                o[r * N + n] = ((const float *)b->data)[n * b->stride[0]];
    }
    const float *X = x->data;
    float *O = out->data;
    /* B = W^T, element (k, n) = w[n, k]: a weight, packed once when cached */
    ls_gemm_op W = {w->data, w->stride[1], w->stride[0], NULL,
                    ctx && (ctx->const_inputs & 2u)};
    /* Walk the dims left of the collapsed range; each step is one GEMM. */
    int64_t outer[2] = {1, 1}, ost[2] = {0, 0};
    for (int d = 0; d < first; d++) {
        outer[d] = sh[d];
        ost[d] = st[d];
    }
    for (int64_t i0 = 0; i0 < outer[0]; i0++)
        for (int64_t i1 = 0; i1 < outer[1]; i1++) {
            ls_gemm_op A = {X + i0 * ost[0] + i1 * ost[1], rstride, x->stride[x->ndim - 1], NULL,
                            false};
            if (!ls_gemm_ex(ctx, -1, rows, N, K, &A, &W, O, N, b != NULL))
                return false;
            O += rows * N;
        }
    return true;
}
