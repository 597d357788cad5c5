/* norm.c - layer_norm, group_norm, batch_norm (eval).
 *
 * Statistics are summed in double with a two-pass mean/variance, so the
 * result is the float32 nearest the exact normalisation; torch's own
 * float32 moments differ from that by a few ulp.  Variance is the biased
 * one (divide by n), as all three torch norms use.
 */
#include <math.h>

#include "ops_impl.h"

/* Element i of a 1-d float tensor through its stride, or dflt when t is
 * absent. */
static double vec_at(const ls_tensor *t, int64_t i, double dflt)
{
    return t ? (double)((const float *)t->data)[i * t->stride[0]] : dflt;
}

void ls_layer_norm_ref(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, float eps,
                       ls_tensor *out)
{
    // x is (..,D), w and b are (D) or NULL, out is (..,D):
    // (x - mean) / sqrt(var + eps) * w + b over the last dim
    int64_t sh[4], sx[4];
    ls_shape4(x, sh);
    ls_bcast_strides(x, x, sx);
    const int64_t D = sh[3];
    float *o = out->data;
    for (int64_t i0 = 0; i0 < sh[0]; i0++)
        for (int64_t i1 = 0; i1 < sh[1]; i1++)
            for (int64_t i2 = 0; i2 < sh[2]; i2++) {
                const float *row = (const float *)x->data + i0 * sx[0] + i1 * sx[1] + i2 * sx[2];
                double mean = 0.0, var = 0.0;
                for (int64_t d = 0; d < D; d++)
                    mean += row[d * sx[3]];
                mean /= (double)D;
                for (int64_t d = 0; d < D; d++) {
                    double c = row[d * sx[3]] - mean;
                    var += c * c;
                }
                var /= (double)D;
                double inv = 1.0 / sqrt(var + (double)eps);
                for (int64_t d = 0; d < D; d++)
                    *o++ = (float)((row[d * sx[3]] - mean) * inv * vec_at(w, d, 1.0) +
                                   vec_at(b, d, 0.0));
            }
}

void ls_group_norm_ref(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int groups,
                       float eps, ls_tensor *out)
{
    // x is (B,C,...) with up to two spatial dims, w and b are (C) or NULL,
    // out is x's shape.  Each group of C/groups channels is normalised over
    // (its channels x all spatial positions), then scaled per channel.
    //   x [B, C, T]  ->  view [B, G, C/G * T]  -> stats per (b, g)
    int64_t sh[4], sx[4];
    /* Pad on the right so x is [B,C,S1,S2] whatever its rank (2..4). */
    for (int i = 0; i < 4; i++) {
        sh[i] = i < x->ndim ? x->shape[i] : 1;
        sx[i] = i < x->ndim ? x->stride[i] : 0;
    }
    const int64_t B = sh[0], C = sh[1], cpg = C / groups;
    const double n = (double)(cpg * sh[2] * sh[3]);
    const float *X = x->data;
    float *O = out->data; /* contiguous, so [B,C,S1,S2] row-major */
    for (int64_t bi = 0; bi < B; bi++)
        for (int64_t g = 0; g < groups; g++) {
            double mean = 0.0, var = 0.0;
            for (int64_t c = g * cpg; c < (g + 1) * cpg; c++)
                for (int64_t s1 = 0; s1 < sh[2]; s1++)
                    for (int64_t s2 = 0; s2 < sh[3]; s2++)
                        mean += X[bi * sx[0] + c * sx[1] + s1 * sx[2] + s2 * sx[3]];
            mean /= n;
            for (int64_t c = g * cpg; c < (g + 1) * cpg; c++)
                for (int64_t s1 = 0; s1 < sh[2]; s1++)
                    for (int64_t s2 = 0; s2 < sh[3]; s2++) {
                        double d = X[bi * sx[0] + c * sx[1] + s1 * sx[2] + s2 * sx[3]] - mean;
                        var += d * d;
                    }
            var /= n;
            double inv = 1.0 / sqrt(var + (double)eps);
            for (int64_t c = g * cpg; c < (g + 1) * cpg; c++) {
                double wc = vec_at(w, c, 1.0), bc = vec_at(b, c, 0.0);
                float *oc = O + (bi * C + c) * sh[2] * sh[3];
                for (int64_t s1 = 0; s1 < sh[2]; s1++)
                    for (int64_t s2 = 0; s2 < sh[3]; s2++) {
                        double v = X[bi * sx[0] + c * sx[1] + s1 * sx[2] + s2 * sx[3]];
                        *oc++ = (float)((v - mean) * inv * wc + bc);
                    }
            }
        }
}

void ls_batch_norm_ref(const ls_tensor *x, const ls_tensor *mean, const ls_tensor *var,
                       const ls_tensor *w, const ls_tensor *b, float eps, ls_tensor *out)
{
    // x is (B,C,...) with up to two spatial dims; mean, var, w, b are (C)
    // (w, b may be NULL); out is x's shape:
    // (x - running_mean) / sqrt(running_var + eps) * w + b
    int64_t sh[4], sx[4];
    for (int i = 0; i < 4; i++) {
        sh[i] = i < x->ndim ? x->shape[i] : 1;
        sx[i] = i < x->ndim ? x->stride[i] : 0;
    }
    const float *X = x->data;
    float *o = out->data;
    for (int64_t bi = 0; bi < sh[0]; bi++)
        for (int64_t c = 0; c < sh[1]; c++) {
            double m = vec_at(mean, c, 0.0);
            double inv = 1.0 / sqrt(vec_at(var, c, 1.0) + (double)eps);
            double wc = vec_at(w, c, 1.0), bc = vec_at(b, c, 0.0);
            for (int64_t s1 = 0; s1 < sh[2]; s1++)
                for (int64_t s2 = 0; s2 < sh[3]; s2++) {
                    double v = X[bi * sx[0] + c * sx[1] + s1 * sx[2] + s2 * sx[3]];
                    *o++ = (float)((v - m) * inv * wc + bc);
                }
        }
}
