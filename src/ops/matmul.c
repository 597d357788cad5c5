/* matmul.c - batched matmul, linear, and the packed GEMM that the fast
 * paths of matmul, linear and the convolutions share.
 *
 * The reference loops accumulate in double: they are the "truth" the fast
 * kernels and the PyTorch dumps are compared against.  The GEMM keeps
 * float32 accumulators, as OpenBLAS does.
 */
#include <stdlib.h>
#include <string.h>

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
            for (int64_t m = 0; m < M; m++)
                for (int64_t n = 0; n < N; n++) {
                    double s = 0.0;
                    for (int64_t k = 0; k < K; k++)
                        s += (double)ab[m * ars + k * acs] * (double)bb[k * brs + n * bcs];
                    *C++ = (float)s;
                }
        }
}

void ls_linear_ref(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, ls_tensor *out)
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
                const float *row = X + i0 * st[0] + i1 * st[1] + i2 * st[2];
                for (int64_t n = 0; n < N; n++) {
                    double s = Bv ? (double)Bv[n * b->stride[0]] : 0.0;
                    for (int64_t k = 0; k < K; k++)
                        s += (double)row[k * xcs] * (double)W[n * w->stride[0] + k * w->stride[1]];
                    *O++ = (float)s;
                }
            }
}

/* ---- the packed GEMM ----
 *
 * BLIS-style blocking: a KC x NC block of b is packed into NR-wide column
 * panels, an MC x KC block of a into MR-tall row panels, and an MR x NR
 * micro-kernel runs over the packed panels with its accumulators in
 * registers.  Packing copies through any strides, so transposed and
 * sliced operands cost one pass over memory, and zero-padding the panel
 * edges lets the micro-kernel always run full tiles.
 *
 *            NR                       packed b panel: [KC][NR]
 *         +------+                    packed a panel: [KC][MR]
 *      MR | acc  |  += a[:, k] (x) b[k, :]   for k in 0..KC
 *         +------+
 *
 * The sizes fit the baseline x86-64 build (16 SSE registers: 6x8 tile =
 * 12 accumulator vectors); the AVX-512 issue retunes them.
 */
enum { MR = 6, NR = 8, MC = 72, KC = 256, NC = 512 };

static void pack_a(int64_t mc, int64_t kc, const float *a, int64_t rsa, int64_t csa, float *ap)
{
    for (int64_t i = 0; i < mc; i += MR) {
        int64_t mr = mc - i < MR ? mc - i : MR;
        for (int64_t k = 0; k < kc; k++) {
            int64_t r = 0;
            for (; r < mr; r++)
                ap[r] = a[(i + r) * rsa + k * csa];
            for (; r < MR; r++)
                ap[r] = 0.0f;
            ap += MR;
        }
    }
}

static void pack_b(int64_t kc, int64_t nc, const float *b, int64_t rsb, int64_t csb, float *bp)
{
    for (int64_t j = 0; j < nc; j += NR) {
        int64_t nr = nc - j < NR ? nc - j : NR;
        for (int64_t k = 0; k < kc; k++) {
            const float *src = b + k * rsb + j * csb;
            int64_t c = 0;
            if (csb == 1)
                for (; c < nr; c++)
                    bp[c] = src[c];
            else
                for (; c < nr; c++)
                    bp[c] = src[c * csb];
            for (; c < NR; c++)
                bp[c] = 0.0f;
            bp += NR;
        }
    }
}

/* One named accumulator row per register-tile row (MR = 6 is spelled out):
 * with a fixed-size NR loop gcc and clang keep all six in vector
 * registers and vectorise the NR loop; a 2-d acc[MR][NR] array instead
 * stays in memory at -O2 and runs a third slower. */
_Static_assert(MR == 6, "micro_kernel spells out six accumulator rows");
static void micro_kernel(int64_t kc, const float *restrict ap, const float *restrict bp,
                         float *restrict c, int64_t ldc, int64_t mr, int64_t nr, bool add)
{
    float c0[NR] = {0}, c1[NR] = {0}, c2[NR] = {0}, c3[NR] = {0}, c4[NR] = {0}, c5[NR] = {0};
    for (int64_t k = 0; k < kc; k++) {
        const float a0 = ap[0], a1 = ap[1], a2 = ap[2], a3 = ap[3], a4 = ap[4], a5 = ap[5];
        for (int j = 0; j < NR; j++) {
            const float b = bp[j];
            c0[j] += a0 * b;
            c1[j] += a1 * b;
            c2[j] += a2 * b;
            c3[j] += a3 * b;
            c4[j] += a4 * b;
            c5[j] += a5 * b;
        }
        ap += MR;
        bp += NR;
    }
    float rows[MR][NR];
    memcpy(rows[0], c0, sizeof c0);
    memcpy(rows[1], c1, sizeof c0);
    memcpy(rows[2], c2, sizeof c0);
    memcpy(rows[3], c3, sizeof c0);
    memcpy(rows[4], c4, sizeof c0);
    memcpy(rows[5], c5, sizeof c0);
    for (int64_t r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        if (add)
            for (int64_t j = 0; j < nr; j++)
                cr[j] += rows[r][j];
        else
            for (int64_t j = 0; j < nr; j++)
                cr[j] = rows[r][j];
    }
}

bool ls_gemm_f32(int64_t M, int64_t N, int64_t K, const float *a, int64_t rsa, int64_t csa,
                 const float *b, int64_t rsb, int64_t csb, float *c, int64_t ldc,
                 bool accumulate)
{
    if (M <= 0 || N <= 0)
        return true;
    if (K <= 0) {
        if (!accumulate)
            for (int64_t m = 0; m < M; m++)
                memset(c + m * ldc, 0, (size_t)N * sizeof(float));
        return true;
    }
    float *ap = malloc(sizeof(float) * MC * KC);
    float *bp = malloc(sizeof(float) * KC * NC);
    if (!ap || !bp) {
        free(ap);
        free(bp);
        return false;
    }
    for (int64_t jc = 0; jc < N; jc += NC) {
        int64_t nc = N - jc < NC ? N - jc : NC;
        for (int64_t pc = 0; pc < K; pc += KC) {
            int64_t kc = K - pc < KC ? K - pc : KC;
            bool add = accumulate || pc > 0;
            pack_b(kc, nc, b + pc * rsb + jc * csb, rsb, csb, bp);
            for (int64_t ic = 0; ic < M; ic += MC) {
                int64_t mc = M - ic < MC ? M - ic : MC;
                pack_a(mc, kc, a + ic * rsa + pc * csa, rsa, csa, ap);
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    int64_t nr = nc - jr < NR ? nc - jr : NR;
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        int64_t mr = mc - ir < MR ? mc - ir : MR;
                        micro_kernel(kc, ap + ir * kc, bp + jr * kc,
                                     c + (ic + ir) * ldc + jc + jr, ldc, mr, nr, add);
                    }
                }
            }
        }
    }
    free(ap);
    free(bp);
    return true;
}

/* ---- fast paths ---- */

bool ls_matmul_fast(const ls_tensor *a, const ls_tensor *b, ls_tensor *out)
{
    const int64_t M = a->shape[a->ndim - 2], K = a->shape[a->ndim - 1];
    const int64_t N = b->shape[b->ndim - 1];
    int64_t nb[2], sa[2], sb[2];
    batch_sizes(out, nb);
    batch_strides(a, out, sa);
    batch_strides(b, out, sb);
    const float *A = a->data, *B = b->data;
    float *C = out->data;
    for (int64_t i0 = 0; i0 < nb[0]; i0++)
        for (int64_t i1 = 0; i1 < nb[1]; i1++) {
            if (!ls_gemm_f32(M, N, K, A + i0 * sa[0] + i1 * sa[1], a->stride[a->ndim - 2],
                             a->stride[a->ndim - 1], B + i0 * sb[0] + i1 * sb[1],
                             b->stride[b->ndim - 2], b->stride[b->ndim - 1], C, N, false))
                return false;
            C += M * N;
        }
    return true;
}

bool ls_linear_fast(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, ls_tensor *out)
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
    if (b) {
        float *o = out->data;
        int64_t total = ls_tensor_numel(out) / (N ? N : 1);
        for (int64_t r = 0; r < total && N > 0; r++)
            for (int64_t n = 0; n < N; n++)
                o[r * N + n] = ((const float *)b->data)[n * b->stride[0]];
    }
    const float *X = x->data, *W = w->data;
    float *O = out->data;
    /* Walk the dims left of the collapsed range; each step is one GEMM. */
    int64_t outer[2] = {1, 1}, ost[2] = {0, 0};
    for (int d = 0; d < first; d++) {
        outer[d] = sh[d];
        ost[d] = st[d];
    }
    for (int64_t i0 = 0; i0 < outer[0]; i0++)
        for (int64_t i1 = 0; i1 < outer[1]; i1++) {
            if (!ls_gemm_f32(rows, N, K, X + i0 * ost[0] + i1 * ost[1], rstride,
                             x->stride[x->ndim - 1], W, w->stride[1], w->stride[0], O, N,
                             b != NULL))
                return false;
            O += rows * N;
        }
    return true;
}
