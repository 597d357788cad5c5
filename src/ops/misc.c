/* misc.c - lookups, tables, masks, concat, argmax, cross_entropy. */
#include <math.h>

#include "ops_impl.h"

int ls_embedding_ref(const ls_tensor *ids, const ls_tensor *table, ls_tensor *out,
                     ls_error *err)
{
    // ids is (...) int64, table is (V,D), out is (...,D): out[..., :] = table[id, :]
    // An id outside [0,V) is a data error (a bad token file), not a bug:
    // report it with its position and leave the rest of out unspecified.
    const int64_t V = table->shape[0], D = table->shape[1];
    int64_t sh[4], si[4];
    ls_shape4(ids, sh);
    ls_bcast_strides(ids, ids, si);
    const float *T = table->data;
    float *o = out->data;
    int64_t flat = 0;
    for (int64_t i0 = 0; i0 < sh[0]; i0++)
        for (int64_t i1 = 0; i1 < sh[1]; i1++)
            for (int64_t i2 = 0; i2 < sh[2]; i2++)
                for (int64_t i3 = 0; i3 < sh[3]; i3++, flat++) {
                    int64_t id = ((const int64_t *)ids->data)[i0 * si[0] + i1 * si[1] +
                                                              i2 * si[2] + i3 * si[3]];
                    if (id < 0 || id >= V)
                        return ls_error_set(err, LS_ERR_RANGE,
                                            "embedding: id %lld at flat position %lld is outside "
                                            "the vocabulary [0, %lld)",
                                            (long long)id, (long long)flat, (long long)V);
                    for (int64_t d = 0; d < D; d++)
                        *o++ = T[id * table->stride[0] + d * table->stride[1]];
                }
    return LS_OK;
}

void ls_pos_table_ref(ls_tensor *out)
{
    // out is (T,D): pe[p,2i] = sin(p*div[i]), pe[p,2i+1] = cos(p*div[i]),
    // div[i] = exp(2i * -(ln(10000)/D)).
    // Each step rounds to float32 where torch's float32 tensors do (the
    // scalar, 2i*scalar, exp, p*div, sin/cos), so the table is bit-equal
    // to WeNet's and the toy Transformer's pe up to libm's last ulp.
    const int64_t T = out->shape[0], D = out->shape[1];
    float *pe = out->data;
    const float scale = (float)(-(log(10000.0) / (double)D));
    for (int64_t i = 0; 2 * i < D; i++) {
        const float div = (float)exp((double)((float)(2 * i) * scale));
        for (int64_t p = 0; p < T; p++) {
            const float arg = (float)p * div;
            pe[p * D + 2 * i] = (float)sin((double)arg);
            if (2 * i + 1 < D)
                pe[p * D + 2 * i + 1] = (float)cos((double)arg);
        }
    }
}

void ls_triu_mask_ref(int64_t k, ls_tensor *out)
{
    // out is (R,C) bool: True where j - i >= k (torch.triu(ones, k) > 0)
    const int64_t R = out->shape[0], C = out->shape[1];
    unsigned char *o = out->data;
    for (int64_t i = 0; i < R; i++)
        for (int64_t j = 0; j < C; j++)
            o[i * C + j] = j - i >= k;
}

void ls_pad_mask_ref(const ls_tensor *lengths, ls_tensor *out)
{
    // lengths is (B) int64, out is (B,T) bool: True where t >= lengths[b]
    // (WeNet's make_pad_mask: True = padding)
    const int64_t B = out->shape[0], T = out->shape[1];
    unsigned char *o = out->data;
    for (int64_t b = 0; b < B; b++) {
        int64_t len = ((const int64_t *)lengths->data)[b * lengths->stride[0]];
        for (int64_t t = 0; t < T; t++)
            o[b * T + t] = t >= len;
    }
}

void ls_concat_ref(const ls_tensor *const *in, int n, int dim, ls_tensor *out)
{
    // in[k] are (.., Lk, ..) along dim, equal elsewhere; out is (.., sum Lk, ..)
    // Each input is copied into the slice of out it occupies.
    if (dim < 0)
        dim += out->ndim;
    int64_t off = 0;
    for (int k = 0; k < n; k++) {
        int64_t len = in[k]->shape[dim];
        if (len > 0) {
            ls_tensor dst;
            ls_tensor_slice(out, dim, off, off + len, 1, &dst, NULL);
            ls_tensor_copy(&dst, in[k]);
        }
        off += len;
    }
}

void ls_argmax_ref(const ls_tensor *x, ls_tensor *out)
{
    // x is (..,N) float32 or int64, out is (..) int64: index of the first
    // maximum; a NaN counts as the maximum (torch.argmax does the same)
    int64_t sh[4], sx[4];
    ls_shape4(x, sh);
    ls_bcast_strides(x, x, sx);
    int64_t *o = out->data;
    for (int64_t i0 = 0; i0 < sh[0]; i0++)
        for (int64_t i1 = 0; i1 < sh[1]; i1++)
            for (int64_t i2 = 0; i2 < sh[2]; i2++) {
                int64_t base = i0 * sx[0] + i1 * sx[1] + i2 * sx[2], best = 0;
                double bv = 0.0;
                for (int64_t j = 0; j < sh[3]; j++) {
                    int64_t e = base + j * sx[3];
                    double v = x->dtype == LS_I64 ? (double)((const int64_t *)x->data)[e]
                                                  : (double)((const float *)x->data)[e];
                    if (j == 0 || (!isnan(bv) && (v > bv || isnan(v)))) {
                        bv = v;
                        best = j;
                    }
                }
                *o++ = best;
            }
}

int ls_cross_entropy_ref(const ls_tensor *logits, const ls_tensor *target, int64_t ignore_index,
                         ls_tensor *out, ls_error *err)
{
    // logits is (N,V), target is (N) int64, out is () float32:
    // mean over rows with target != ignore_index of
    //   -log_softmax(logits[n])[target[n]] = logsumexp(logits[n]) - logits[n, target[n]]
    // With every row ignored the mean is 0/0 = NaN, as in torch.
    const int64_t N = logits->shape[0], V = logits->shape[1];
    const float *L = logits->data;
    double sum = 0.0;
    int64_t count = 0;
    for (int64_t n = 0; n < N; n++) {
        int64_t t = ((const int64_t *)target->data)[n * target->stride[0]];
        if (t == ignore_index)
            continue;
        if (t < 0 || t >= V)
            return ls_error_set(err, LS_ERR_RANGE,
                                "cross_entropy: target %lld at row %lld is outside [0, %lld)",
                                (long long)t, (long long)n, (long long)V);
        const float *row = L + n * logits->stride[0];
        const int64_t cs = logits->stride[1];
        double mx = -INFINITY;
        for (int64_t v = 0; v < V; v++)
            if (row[v * cs] > mx)
                mx = row[v * cs];
        double se = 0.0;
        for (int64_t v = 0; v < V; v++)
            se += exp((double)row[v * cs] - mx);
        sum += mx + log(se) - (double)row[t * cs];
        count++;
    }
    *(float *)out->data = (float)(sum / (double)count);
    return LS_OK;
}

void ls_ctc_collapse_ref(const ls_tensor *ids, int64_t blank, ls_tensor *out)
{
    // ids is (B,T) int64, out is (B,T) int64: per row, WeNet's
    // remove_duplicates_and_blank (a run of equal ids counts once, blanks
    // are dropped), then -1 to the end of the row.  A padded batch gives
    // rows of different lengths; -1 marks the end so the tensor stays
    // rectangular and the length is where the first -1 sits.
    const int64_t B = ids->shape[0], T = ids->shape[1];
    int64_t *o = out->data;
    for (int64_t b = 0; b < B; b++) {
        int64_t n = 0, prev = 0;
        for (int64_t t = 0; t < T; t++) {
            int64_t v = (int64_t)ls_tensor_get(ids, (int64_t[]){b, t});
            if (v != blank && (t == 0 || v != prev))
                o[b * T + n++] = v;
            prev = v;
        }
        while (n < T)
            o[b * T + n++] = -1;
    }
}
