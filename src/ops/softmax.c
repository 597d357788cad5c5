/* softmax.c - softmax over the last dim.
 *
 * Max-subtracted like torch, with the subtraction in float32 (so x - max
 * rounds as torch's does) and exp/sum in double.  The edge cases follow
 * torch rather than "fixing" them:
 *   - a row of all -inf: max is -inf, -inf - -inf is NaN -> a NaN row
 *     (WeNet zeroes it afterwards with masked_fill);
 *   - a row of all -1e9: every x - max is 0 -> uniform weights (the toy
 *     Transformer relies on it);
 *   - a NaN anywhere in a row makes the whole row NaN.
 */
#include <math.h>

#include "ops_impl.h"

void ls_softmax_ref(const ls_tensor *x, ls_tensor *out)
{
    // x is (..,N), out is (..,N): exp(x - max) / sum(exp(x - max)) per row
    int64_t sh[4], sx[4];
    ls_shape4(x, sh);
    ls_bcast_strides(x, x, sx);
    const int64_t N = sh[3];
    float *o = out->data;
    for (int64_t i0 = 0; i0 < sh[0]; i0++)
        for (int64_t i1 = 0; i1 < sh[1]; i1++)
            for (int64_t i2 = 0; i2 < sh[2]; i2++) {
                const float *row = (const float *)x->data + i0 * sx[0] + i1 * sx[1] + i2 * sx[2];
                float mx = -INFINITY;
                for (int64_t j = 0; j < N; j++)
                    if (row[j * sx[3]] > mx)
                        mx = row[j * sx[3]];
                double sum = 0.0;
                for (int64_t j = 0; j < N; j++) {
                    float d = row[j * sx[3]] - mx;
                    sum += exp((double)d);
                }
                for (int64_t j = 0; j < N; j++) {
                    float d = row[j * sx[3]] - mx;
                    o[j] = (float)(exp((double)d) / sum);
                }
                o += N;
            }
}

void ls_log_softmax_ref(const ls_tensor *x, ls_tensor *out)
{
    // x is (..,N), out is (..,N): (x - max) - log(sum(exp(x - max))) per row,
    // torch's order of operations (F.log_softmax: WeNet's CTC.log_softmax)
    int64_t sh[4], sx[4];
    ls_shape4(x, sh);
    ls_bcast_strides(x, x, sx);
    const int64_t N = sh[3];
    float *o = out->data;
    for (int64_t i0 = 0; i0 < sh[0]; i0++)
        for (int64_t i1 = 0; i1 < sh[1]; i1++)
            for (int64_t i2 = 0; i2 < sh[2]; i2++) {
                const float *row = (const float *)x->data + i0 * sx[0] + i1 * sx[1] + i2 * sx[2];
                float mx = -INFINITY;
                for (int64_t j = 0; j < N; j++)
                    if (row[j * sx[3]] > mx)
                        mx = row[j * sx[3]];
                double sum = 0.0;
                for (int64_t j = 0; j < N; j++)
                    sum += exp((double)(row[j * sx[3]] - mx));
                const float lse = (float)log(sum);
                for (int64_t j = 0; j < N; j++)
                    o[j] = (row[j * sx[3]] - mx) - lse;
                o += N;
            }
}
