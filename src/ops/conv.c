/* conv.c - conv1d (stride, zero padding, groups) and conv2d (stride, zero
 * padding), no dilation.
 *
 * Fast paths lower a convolution to the packed GEMM of matmul.c:
 *
 *   out[b, g*OCg + oc, t] = sum_(c,k) w[g*OCg + oc, c, k] * col[(c,k), t]
 *   col[(c,k), t]         = x[b, g*Cg + c, t*stride + k - pad]   (0 outside)
 *
 * The im2col matrix is never built: the GEMM packs its B panels straight
 * from x (ls_im2col), so the only copy is the one packing makes anyway.  A
 * 1x1 conv without padding
 * needs no im2col at all (x itself is the strided B operand), a conv
 * with one output channel per group (depthwise) runs as a direct loop,
 * since a GEMM with M = 1 would waste the register tile, and a conv with
 * at most 16 taps per output (one input channel) builds its small im2col
 * matrix and writes each output once (conv_few_taps below).
 */
#include <stdlib.h>

#include "layerstep/kernels.h"
#include "ops_impl.h"

static float fvec(const ls_tensor *t, int64_t i)
{
    return ((const float *)t->data)[i * t->stride[0]];
}

void ls_conv1d_ref(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int stride,
                   int pad, int groups, ls_tensor *out)
{
    ls_conv1d_ref_c(x, w, b, stride, pad, groups, out, NULL);
}

void ls_conv1d_ref_c(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int stride,
                     int pad, int groups, ls_tensor *out, const _Atomic int *cancel)
{
    // x is (B,C,T), w is (OC,C/groups,K), b is (OC) or NULL, out is (B,OC,To):
    // out[n,oc,t] = b[oc] + sum_{c,k} w[oc,c,k] * x[n, g*C/groups + c, t*stride + k - pad]
    // where g = oc / (OC/groups), and x is 0 outside [0,T)
    const int64_t B = x->shape[0], C = x->shape[1], T = x->shape[2];
    const int64_t OC = w->shape[0], K = w->shape[2], To = out->shape[2];
    const int64_t Cg = C / groups, OCg = OC / groups;
    const float *X = x->data, *W = w->data;
    float *O = out->data;
    for (int64_t n = 0; n < B; n++)
        for (int64_t oc = 0; oc < OC; oc++) {
            if (ls_cancelled(cancel))
                return;
            int64_t g = oc / OCg;
            for (int64_t t = 0; t < To; t++) {
                double s = b ? (double)fvec(b, oc) : 0.0;
                for (int64_t c = 0; c < Cg; c++)
                    for (int64_t k = 0; k < K; k++) {
                        int64_t ti = t * stride + k - pad;
                        if (ti < 0 || ti >= T)
                            continue;
                        s += (double)W[oc * w->stride[0] + c * w->stride[1] + k * w->stride[2]] *
                             (double)X[n * x->stride[0] + (g * Cg + c) * x->stride[1] +
                                       ti * x->stride[2]];
                    }
                *O++ = (float)s;
            }
        }
}

void ls_conv2d_ref(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int stride,
                   int pad, ls_tensor *out)
{
    ls_conv2d_ref_c(x, w, b, stride, pad, out, NULL);
}

void ls_conv2d_ref_c(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int stride,
                     int pad, ls_tensor *out, const _Atomic int *cancel)
{
    // x is (B,C,H,W), w is (OC,C,KH,KW), b is (OC) or NULL, out is (B,OC,OH,OW):
    // out[n,oc,i,j] = b[oc] + sum_{c,u,v} w[oc,c,u,v] * x[n,c, i*stride+u-pad, j*stride+v-pad]
    const int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], Wd = x->shape[3];
    const int64_t OC = w->shape[0], KH = w->shape[2], KW = w->shape[3];
    const int64_t OH = out->shape[2], OW = out->shape[3];
    const float *X = x->data, *Wt = w->data;
    float *O = out->data;
    for (int64_t n = 0; n < B; n++)
        for (int64_t oc = 0; oc < OC; oc++)
            for (int64_t i = 0; i < OH; i++) {
                if (ls_cancelled(cancel))
                    return;
                for (int64_t j = 0; j < OW; j++) {
                    double s = b ? (double)fvec(b, oc) : 0.0;
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t u = 0; u < KH; u++) {
                            int64_t hi = i * stride + u - pad;
                            if (hi < 0 || hi >= H)
                                continue;
                            for (int64_t v = 0; v < KW; v++) {
                                int64_t wi = j * stride + v - pad;
                                if (wi < 0 || wi >= Wd)
                                    continue;
                                s += (double)Wt[oc * w->stride[0] + c * w->stride[1] +
                                                u * w->stride[2] + v * w->stride[3]] *
                                     (double)X[n * x->stride[0] + c * x->stride[1] +
                                               hi * x->stride[2] + wi * x->stride[3]];
                            }
                        }
                    *O++ = (float)s;
                }
            }
}

/* ---- fast paths ---- */

/* Fills each [rows, len] block of out with the per-row bias, so the GEMM
 * can accumulate onto it. */
static void fill_bias(float *o, int64_t batches, int64_t OC, int64_t len, const ls_tensor *b)
{
    for (int64_t n = 0; n < batches; n++)
        for (int64_t oc = 0; oc < OC; oc++) {
            float v = b ? fvec(b, oc) : 0.0f;
            float *r = o + (n * OC + oc) * len;
            for (int64_t t = 0; t < len; t++)
                r[t] = v;
        }
}

/* ---- few taps: explicit im2col, each output written once ----
 *
 * When C*KH*KW is small (the first conv of Conv2dSubsampling or of
 * wav2vec2's extractor reads one input channel: 9 or 10 taps), a GEMM
 * with K = 9 spends its time loading and storing C tiles, not in FMAs.
 * Here the im2col matrix is built (taps x positions, 254 KiB for the
 * Conformer's 363x80 fbank) and each output row is bias + sum of taps in
 * registers, stored once; output rows are split over the pool. */
enum { FEW_TAPS = 16, TAPS_BLOCK = 2048 };

typedef struct taps_job {
    const ls_op_ctx *ctx;
    const float *col, *w, *bias; /* col [kt][P], w [OC][kt], bias [OC] */
    int64_t kt, P, OC;
    float *out;                  /* [OC][P] */
    int tasks;
} taps_job;

static void taps_task(void *ud, int t, int thread)
{
    (void)thread;
    const taps_job *j = ud;
    const int64_t lo = j->OC * t / j->tasks, hi = j->OC * (t + 1) / j->tasks;
    /* positions in blocks, so the taps' rows of col stay in L2 across
     * the output channels */
    for (int64_t p0 = 0; p0 < j->P; p0 += TAPS_BLOCK) {
        const int64_t n = j->P - p0 < TAPS_BLOCK ? j->P - p0 : TAPS_BLOCK;
        if (ls_cancelled(j->ctx ? j->ctx->cancel : NULL))
            return;
        for (int64_t oc = lo; oc < hi; oc++)
            ls_taps_f32(j->ctx, j->w + oc * j->kt, j->kt, j->col + p0, j->P,
                        j->bias ? j->bias[oc] : 0.0f, j->out + oc * j->P + p0, n);
    }
}

/* x (one batch item, through g) convolved with w (element (oc, c, u, v)
 * of a [OC, C, KH, KW] or [OC, C, K] weight) into out [OC, P].  False when
 * the scratch cannot be had (the caller falls back). */
static bool conv_few_taps(const ls_im2col *g, int64_t C, int64_t P, const ls_tensor *w,
                          const ls_tensor *b, float *out, const ls_op_ctx *ctx)
{
    const int64_t OC = w->shape[0], kt = C * g->KH * g->KW;
    float *col = malloc((size_t)(kt * P) * sizeof(float));
    float *wc = malloc((size_t)(OC * kt + OC) * sizeof(float));
    if (!col || !wc) {
        free(col);
        free(wc);
        return false;
    }
    const int64_t ws_u = w->ndim == 4 ? w->stride[2] : 0, ws_v = w->stride[w->ndim - 1];
    for (int64_t oc = 0; oc < OC; oc++) {
        int64_t t = 0;
        for (int64_t c = 0; c < C; c++)
            for (int64_t u = 0; u < g->KH; u++)
                for (int64_t v = 0; v < g->KW; v++)
                    wc[oc * kt + t++] = ((const float *)w->data)[oc * w->stride[0] +
                                                                 c * w->stride[1] + u * ws_u +
                                                                 v * ws_v];
        wc[OC * kt + oc] = b ? fvec(b, oc) : 0.0f;
    }
    float *r = col;
    for (int64_t c = 0; c < C; c++)
        for (int64_t u = 0; u < g->KH; u++)
            for (int64_t v = 0; v < g->KW; v++)
                for (int64_t p = 0; p < P; p++) {
                    const int64_t h = (p / g->OW) * g->stride + u - g->pad_h;
                    const int64_t x = (p % g->OW) * g->stride + v - g->pad_w;
                    *r++ = h >= 0 && h < g->H && x >= 0 && x < g->W
                               ? g->x[c * g->sc + h * g->sh + x * g->sw]
                               : 0.0f;
                }
    const int threads = ctx && ctx->pool ? ctx->threads : 1;
    taps_job j = {ctx, col, wc, wc + OC * kt, kt, P, OC, out,
                  (int)(OC < 4 * threads ? OC : 4 * threads)};
    ls_pool_run(ctx ? ctx->pool : NULL, threads, taps_task, &j, j.tasks);
    free(col);
    free(wc);
    return true;
}

/* One output channel per group: out row oc reads input channels
 * [g*Cg, (g+1)*Cg).  For each tap k the valid t range is computed once,
 * leaving a branch-free inner loop. */
static void conv1d_direct(const ls_tensor *x, const ls_tensor *w, int stride, int pad,
                          int groups, ls_tensor *out, const ls_op_ctx *ctx)
{
    const int64_t B = x->shape[0], C = x->shape[1], T = x->shape[2];
    const int64_t OC = w->shape[0], K = w->shape[2], To = out->shape[2];
    const int64_t Cg = C / groups;
    const int64_t xs = x->stride[2];
    for (int64_t n = 0; n < B; n++)
        for (int64_t oc = 0; oc < OC; oc++) {
            if (ls_cancelled(ctx ? ctx->cancel : NULL))
                return;
            float *o = (float *)out->data + (n * OC + oc) * To;
            for (int64_t c = 0; c < Cg; c++) {
                const float *xr =
                    (const float *)x->data + n * x->stride[0] + (oc * Cg + c) * x->stride[1];
                for (int64_t k = 0; k < K; k++) {
                    const float wk = ((const float *)w->data)[oc * w->stride[0] +
                                                              c * w->stride[1] + k * w->stride[2]];
                    /* valid t: 0 <= t*stride + k - pad < T */
                    int64_t lo = pad - k > 0 ? (pad - k + stride - 1) / stride : 0;
                    int64_t hi = T - 1 + pad - k >= 0 ? (T - 1 + pad - k) / stride + 1 : 0;
                    if (hi > To)
                        hi = To;
                    if (stride == 1 && xs == 1) {
                        const float *xk = xr + lo + k - pad; /* >= xr by the choice of lo */
                        if (hi > lo)
                            ls_axpy_f32(ctx, wk, xk, o + lo, hi - lo);
                    } else {
                        for (int64_t t = lo; t < hi; t++)
                            o[t] += wk * xr[(t * stride + k - pad) * xs];
                    }
                }
            }
        }
}

bool ls_conv1d_fast(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int stride,
                    int pad, int groups, ls_tensor *out, const ls_op_ctx *ctx)
{
    const int64_t B = x->shape[0], C = x->shape[1], T = x->shape[2];
    const int64_t OC = w->shape[0], K = w->shape[2], To = out->shape[2];
    const int64_t Cg = C / groups, OCg = OC / groups;
    const bool pack_only = ctx && ctx->pack_only;
    if (groups == 1 && C * K <= FEW_TAPS) {
        if (pack_only)
            return true; /* no GEMM, nothing to cache */
        bool ok = true;
        for (int64_t n = 0; n < B && ok; n++) {
            ls_im2col col = {(const float *)x->data + n * x->stride[0], x->stride[1], 0,
                             x->stride[2], 1, T, 1, K, stride, 0, pad, To};
            ok = conv_few_taps(&col, C, To, w, b, (float *)out->data + n * OC * To, ctx);
        }
        if (ok)
            return true;
    }
    if (OCg == 1) {
        if (pack_only)
            return true;
        fill_bias(out->data, B, OC, To, b);
        conv1d_direct(x, w, stride, pad, groups, out, ctx);
        return true;
    }
    /* The GEMM reads w[oc] as one row of Cg*K: needs (c,k) to be one stride. */
    if (Cg > 1 && K > 1 && w->stride[1] != K * w->stride[2])
        return false;
    if (!pack_only)
        fill_bias(out->data, B, OC, To, b);
    const int64_t wcs = K > 1 ? w->stride[2] : w->stride[1];
    const bool wconst = ctx && (ctx->const_inputs & 2u);
    for (int64_t n = 0; n < B; n++)
        for (int64_t g = 0; g < groups; g++) {
            const float *xg =
                (const float *)x->data + n * x->stride[0] + g * Cg * x->stride[1];
            float *og = (float *)out->data + (n * OC + g * OCg) * To;
            ls_gemm_op A = {(const float *)w->data + g * OCg * w->stride[0], w->stride[0], wcs,
                            NULL, wconst};
            ls_im2col col = {xg, x->stride[1], 0, x->stride[2], 1, T, 1, K, stride, 0, pad, To};
            /* a 1x1 conv without padding reads x itself as B */
            ls_gemm_op Bop = {xg, x->stride[1], x->stride[2] * stride, NULL, false};
            if (!(K == 1 && pad == 0))
                Bop = (ls_gemm_op){NULL, 0, 0, &col, false};
            if (!ls_gemm_ex(ctx, -1, OCg, To, Cg * K, &A, &Bop, og, To, true))
                return false;
        }
    return true;
}

bool ls_conv2d_fast(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int stride,
                    int pad, ls_tensor *out, const ls_op_ctx *ctx)
{
    const int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], Wd = x->shape[3];
    const int64_t OC = w->shape[0], KH = w->shape[2], KW = w->shape[3];
    const int64_t OH = out->shape[2], OW = out->shape[3], P = OH * OW;
    (void)OH;
    /* w[oc] must read as one row of C*KH*KW with a single stride. */
    const int64_t ws = w->stride[3];
    if ((C > 1 && w->stride[1] != KH * KW * ws) || (KH > 1 && w->stride[2] != KW * ws))
        return false;
    const bool pack_only = ctx && ctx->pack_only;
    if (C * KH * KW <= FEW_TAPS && pack_only)
        return true; /* no GEMM, nothing to cache */
    if (C * KH * KW <= FEW_TAPS) {
        bool ok = true;
        for (int64_t n = 0; n < B && ok; n++) {
            ls_im2col col = {(const float *)x->data + n * x->stride[0], x->stride[1],
                             x->stride[2], x->stride[3], H, Wd, KH, KW, stride, pad, pad, OW};
            ok = conv_few_taps(&col, C, P, w, b, (float *)out->data + n * OC * P, ctx);
        }
        if (ok)
            return true;
    }
    if (!pack_only)
        fill_bias(out->data, B, OC, P, b);
    ls_gemm_op A = {w->data, w->stride[0], ws, NULL, ctx && (ctx->const_inputs & 2u)};
    for (int64_t n = 0; n < B; n++) {
        ls_im2col col = {(const float *)x->data + n * x->stride[0], x->stride[1], x->stride[2],
                         x->stride[3], H, Wd, KH, KW, stride, pad, pad, OW};
        ls_gemm_op Bop = {NULL, 0, 0, &col, false};
        if (!ls_gemm_ex(ctx, -1, OC, P, C * KH * KW, &A, &Bop, (float *)out->data + n * OC * P,
                        P, true))
            return false;
    }
    return true;
}
