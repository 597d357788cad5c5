/* fast_ew.c - fast paths of the element-wise and row ops on contiguous
 * float32 tensors: the maps (relu, silu, sigmoid, gelu, scale, add/sub/
 * mul/div), GLU, softmax, layer_norm, batch_norm, and the axpy row of the
 * depthwise convolution.  Strided or broadcast inputs go to the
 * reference loops.
 *
 * On AVX-512 and AVX2 the rows run through vec_body.h, compiled once per
 * ISA; the transcendentals there are float32 (exp ~1 ulp, erf ~1 ulp,
 * see vec_body.h), so silu/sigmoid/gelu/glu/softmax differ from the
 * double-precision reference by a few ulp, and layer_norm's moments are
 * float sums.  Plain C keeps the reference's double formulas (same bits)
 * for the maps and leaves the row ops to the reference.  Work is split
 * over the pool in chunks of about CHUNK floats.
 */
#include <math.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LS_X86 1
#endif

#include "layerstep/kernels.h"
#include "ops_impl.h"

enum { CHUNK = 1 << 14 }; /* floats per task: ~64 KiB, a few microseconds */

#ifdef LS_X86
#define INL static inline __attribute__((always_inline))

/* ---- AVX-512 ---- */
#define TGT __attribute__((target("avx512f,avx2,fma")))
#define FN(name) name##_512
#define V __m512
#define VW 16
#define vset1 _mm512_set1_ps
#define vloadu _mm512_loadu_ps
#define vstoreu _mm512_storeu_ps
#define vadd _mm512_add_ps
#define vsub _mm512_sub_ps
#define vmul _mm512_mul_ps
#define vdiv _mm512_div_ps
#define vmax _mm512_max_ps
#define vmin _mm512_min_ps
#define vfmadd _mm512_fmadd_ps  /* a*b + c */
#define vfnmadd _mm512_fnmadd_ps /* c - a*b */
#define vabs _mm512_abs_ps
#define vround(x) _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define vscale2 _mm512_scalef_ps /* p * 2^n, overflow and underflow as IEEE */
#define vblend_gt(x, t, a, b) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, t, _CMP_GT_OQ), b, a)
#define vblend_lt(x, t, a, b) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, t, _CMP_LT_OQ), b, a)
#define vhsum _mm512_reduce_add_ps
#define vhmax _mm512_reduce_max_ps
#include "vec_body.h"
#undef TGT
#undef FN
#undef V
#undef VW
#undef vset1
#undef vloadu
#undef vstoreu
#undef vadd
#undef vsub
#undef vmul
#undef vdiv
#undef vmax
#undef vmin
#undef vfmadd
#undef vfnmadd
#undef vabs
#undef vround
#undef vscale2
#undef vblend_gt
#undef vblend_lt
#undef vhsum
#undef vhmax

/* ---- AVX2 ---- */
#define TGT __attribute__((target("avx2,fma")))

INL TGT __m256 scale2_256(__m256 p, __m256 n)
{
    /* n in [-150, 128]: two factors 2^n1 * 2^n2 with n1, n2 in [-75, 64] */
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
}

INL TGT float hsum_256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INL TGT float hmax_256(__m256 v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#define FN(name) name##_256
#define V __m256
#define VW 8
#define vset1 _mm256_set1_ps
#define vloadu _mm256_loadu_ps
#define vstoreu _mm256_storeu_ps
#define vadd _mm256_add_ps
#define vsub _mm256_sub_ps
#define vmul _mm256_mul_ps
#define vdiv _mm256_div_ps
#define vmax _mm256_max_ps
#define vmin _mm256_min_ps
#define vfmadd _mm256_fmadd_ps
#define vfnmadd _mm256_fnmadd_ps
#define vabs(x) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x)
#define vround(x) _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define vscale2 scale2_256
#define vblend_gt(x, t, a, b) _mm256_blendv_ps(b, a, _mm256_cmp_ps(x, t, _CMP_GT_OQ))
#define vblend_lt(x, t, a, b) _mm256_blendv_ps(b, a, _mm256_cmp_ps(x, t, _CMP_LT_OQ))
#define vhsum hsum_256
#define vhmax hmax_256
#include "vec_body.h"
#undef TGT
#undef FN
#undef V
#undef VW
#endif /* LS_X86 */

static ls_isa isa_of(const ls_op_ctx *ctx)
{
    ls_isa isa = ctx && ctx->isa ? (ls_isa)ctx->isa : LS_ISA_AUTO;
    return isa == LS_ISA_AUTO ? ls_cpu_isa() : isa;
}

static void run_tasks(const ls_op_ctx *ctx, void (*fn)(void *, int, int), void *ud,
                      int64_t tasks)
{
    ls_pool_run(ctx ? ctx->pool : NULL, ctx ? ctx->threads : 1, fn, ud, (int)tasks);
}

/* ---- maps ---- */

typedef struct ew_job {
    ls_op op;
    ls_isa isa;
    float f;
    const float *a, *b;
    float *o;
    int64_t n;
} ew_job;

/* Plain C: the reference's formulas, flat. */
static void ew_range_c(const ew_job *j, int64_t lo, int64_t hi)
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
    case LS_OP_DIV_SCALAR:
        for (int64_t i = lo; i < hi; i++)
            o[i] = a[i] / f;
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
    case LS_OP_DIV:
        for (int64_t i = lo; i < hi; i++)
            o[i] = a[i] / b[i];
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
    const float *b = j->b ? j->b + lo : NULL;
    switch (j->isa) {
#ifdef LS_X86
    case LS_ISA_AVX512:
        map_row_512(j->op, j->f, j->a + lo, b, j->o + lo, hi - lo);
        return;
    case LS_ISA_AVX2:
        map_row_256(j->op, j->f, j->a + lo, b, j->o + lo, hi - lo);
        return;
#endif
    default:
        ew_range_c(j, lo, hi);
        return;
    }
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
    case LS_OP_DIV_SCALAR:
    case LS_OP_ADD_SCALAR:
        break;
    case LS_OP_ADD:
    case LS_OP_SUB:
    case LS_OP_MUL:
    case LS_OP_DIV:
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
    ew_job j = {op, isa_of(ctx), p ? p->f[0] : 0.0f, a->data, b ? b->data : NULL, out->data,
                ls_tensor_numel(out)};
    int64_t tasks = (j.n + CHUNK - 1) / CHUNK;
    if (tasks > (1 << 30))
        return false;
    run_tasks(ctx, ew_task, &j, tasks);
    return true;
}

/* ---- row ops ---- */

/* Rows of `len` floats, `rows` of them, split in tasks of ~CHUNK floats. */
typedef struct row_job {
    ls_op op;
    ls_isa isa;
    int64_t rows, len, per_task;
    const float *x;
    float *o;
    /* glu: the second half is x + half; layer_norm: w, b, eps;
     * batch_norm: channels and their (mean, scale, shift); group_norm:
     * a row is a group of cpg channels, w and b per channel (or NULL) */
    int64_t half;
    const float *w, *b;
    float eps;
    int64_t channels;
    const float *mst;
    int64_t cpg;
} row_job;

static void row_one(const row_job *j, int64_t r)
{
    const float *x = j->x + r * (j->op == LS_OP_GLU ? 2 * j->len : j->len);
    float *o = j->o + r * j->len;
    const float *m = j->mst ? j->mst + 3 * (r % j->channels) : NULL;
    float gm = 0.0f, gi = 0.0f;
    const int64_t S = j->cpg ? j->len / j->cpg : 0, c0 = j->cpg * (r % (j->channels > 0 ? j->channels : 1));
    switch (j->isa) {
#ifdef LS_X86
#define ROWS(SUF)                                                                                  \
    case LS_OP_SOFTMAX: softmax_row_##SUF(x, o, j->len); break;                                    \
    case LS_OP_LAYER_NORM: layer_norm_row_##SUF(x, j->w, j->b, j->eps, o, j->len); break;          \
    case LS_OP_GLU: glu_row_##SUF(x, x + j->len, o, j->len); break;                                \
    case LS_OP_BATCH_NORM: affine_row_##SUF(x, m[0], m[1], m[2], o, j->len); break;                \
    case LS_OP_GROUP_NORM:                                                                         \
        moments_##SUF(x, j->len, j->eps, &gm, &gi);                                                \
        for (int64_t c = 0; c < j->cpg; c++)                                                       \
            affine_row_##SUF(x + c * S, gm, gi * (j->w ? j->w[c0 + c] : 1.0f),                     \
                             j->b ? j->b[c0 + c] : 0.0f, o + c * S, S);                            \
        break;                                                                                     \
    default: break;
    case LS_ISA_AVX512:
        switch (j->op) { ROWS(512) }
        return;
    case LS_ISA_AVX2:
        switch (j->op) { ROWS(256) }
        return;
#undef ROWS
#endif
    default:
        (void)x, (void)o, (void)m, (void)gm, (void)gi, (void)S, (void)c0;
        return;
    }
}

static void row_task(void *ud, int t, int thread)
{
    (void)thread;
    const row_job *j = ud;
    int64_t lo = (int64_t)t * j->per_task, hi = lo + j->per_task;
    if (hi > j->rows)
        hi = j->rows;
    for (int64_t r = lo; r < hi; r++)
        row_one(j, r);
}

static bool run_rows(row_job *j, const ls_op_ctx *ctx)
{
    if (j->isa != LS_ISA_AVX512 && j->isa != LS_ISA_AVX2)
        return false; /* plain C: the reference loops */
    if (j->rows <= 0 || j->len <= 0)
        return true;
    j->per_task = CHUNK / j->len > 0 ? CHUNK / j->len : 1;
    int64_t tasks = (j->rows + j->per_task - 1) / j->per_task;
    if (tasks > (1 << 30))
        return false;
    run_tasks(ctx, row_task, j, tasks);
    return true;
}

static bool plain_f32(const ls_tensor *t)
{
    return t->dtype == LS_F32 && ls_tensor_is_contiguous(t);
}

bool ls_softmax_fast(const ls_tensor *x, ls_tensor *out, const ls_op_ctx *ctx)
{
    if (!plain_f32(x) || x->ndim < 1)
        return false;
    const int64_t len = x->shape[x->ndim - 1];
    row_job j = {.op = LS_OP_SOFTMAX, .isa = isa_of(ctx), .len = len, .x = x->data,
                 .o = out->data};
    j.rows = len ? ls_tensor_numel(x) / len : 0;
    return run_rows(&j, ctx);
}

bool ls_layer_norm_fast(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, float eps,
                        ls_tensor *out, const ls_op_ctx *ctx)
{
    if (!plain_f32(x) || x->ndim < 1 || (w && !plain_f32(w)) || (b && !plain_f32(b)))
        return false;
    const int64_t len = x->shape[x->ndim - 1];
    row_job j = {.op = LS_OP_LAYER_NORM, .isa = isa_of(ctx), .len = len, .x = x->data,
                 .o = out->data, .w = w ? w->data : NULL, .b = b ? b->data : NULL, .eps = eps};
    j.rows = len ? ls_tensor_numel(x) / len : 0;
    return run_rows(&j, ctx);
}

bool ls_glu_fast(const ls_tensor *x, int dim, ls_tensor *out, const ls_op_ctx *ctx)
{
    // x contiguous viewed as [outer, 2, half*inner]: each outer block is
    // its first half followed by its second, so a row is half*inner long.
    if (!plain_f32(x))
        return false;
    if (dim < 0)
        dim += x->ndim;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; d++)
        outer *= x->shape[d];
    for (int d = dim + 1; d < x->ndim; d++)
        inner *= x->shape[d];
    row_job j = {.op = LS_OP_GLU, .isa = isa_of(ctx), .rows = outer,
                 .len = x->shape[dim] / 2 * inner, .x = x->data, .o = out->data};
    return run_rows(&j, ctx);
}

static float vec1(const ls_tensor *t, int64_t i, float dflt)
{
    return t ? ((const float *)t->data)[i * t->stride[0]] : dflt;
}

bool ls_batch_norm_fast(const ls_tensor *x, const ls_tensor *mean, const ls_tensor *var,
                        const ls_tensor *w, const ls_tensor *b, float eps, ls_tensor *out,
                        const ls_op_ctx *ctx)
{
    // x contiguous (B,C,...): row (b, c) is the spatial block of channel c;
    // per channel (x - mean) * (w / sqrt(var + eps)) + b, the scale in double.
    if (!plain_f32(x) || x->ndim < 2)
        return false;
    const int64_t C = x->shape[1];
    float *mst = malloc((size_t)(C > 0 ? C : 1) * 3 * sizeof *mst);
    if (!mst)
        return false;
    for (int64_t c = 0; c < C; c++) {
        mst[3 * c] = vec1(mean, c, 0.0f);
        mst[3 * c + 1] =
            (float)((double)vec1(w, c, 1.0f) / sqrt((double)vec1(var, c, 1.0f) + (double)eps));
        mst[3 * c + 2] = vec1(b, c, 0.0f);
    }
    int64_t len = 1;
    for (int d = 2; d < x->ndim; d++)
        len *= x->shape[d];
    row_job j = {.op = LS_OP_BATCH_NORM, .isa = isa_of(ctx), .rows = x->shape[0] * C,
                 .len = len, .x = x->data, .o = out->data, .channels = C > 0 ? C : 1,
                 .mst = mst};
    bool ok = run_rows(&j, ctx);
    free(mst);
    return ok;
}

bool ls_group_norm_fast(const ls_tensor *x, const ls_tensor *w, const ls_tensor *b, int groups,
                        float eps, ls_tensor *out, const ls_op_ctx *ctx)
{
    // x contiguous (B,C,...): group g of batch b is one contiguous block of
    // C/groups channels x the spatial size; its moments, then per channel
    // (x - mean) * (inv * w[c]) + b[c].  w and b contiguous or NULL.
    if (!plain_f32(x) || x->ndim < 2 || groups <= 0 || (w && !plain_f32(w)) ||
        (b && !plain_f32(b)))
        return false;
    const int64_t C = x->shape[1];
    int64_t S = 1;
    for (int d = 2; d < x->ndim; d++)
        S *= x->shape[d];
    row_job j = {.op = LS_OP_GROUP_NORM, .isa = isa_of(ctx), .rows = x->shape[0] * groups,
                 .len = C / groups * S, .x = x->data, .o = out->data,
                 .w = w ? w->data : NULL, .b = b ? b->data : NULL, .eps = eps,
                 .channels = groups, .cpg = C / groups};
    return run_rows(&j, ctx);
}

void ls_axpy_f32(const ls_op_ctx *ctx, float a, const float *x, float *o, int64_t n)
{
    switch (isa_of(ctx)) {
#ifdef LS_X86
    case LS_ISA_AVX512:
        axpy_row_512(a, x, o, n);
        return;
    case LS_ISA_AVX2:
        axpy_row_256(a, x, o, n);
        return;
#endif
    default:
        for (int64_t i = 0; i < n; i++)
            o[i] += a * x[i];
        return;
    }
}

void ls_taps_f32(const ls_op_ctx *ctx, const float *w, int64_t kt, const float *col,
                 int64_t ldcol, float bias, float *o, int64_t n)
{
    switch (isa_of(ctx)) {
#ifdef LS_X86
    case LS_ISA_AVX512:
        taps_row_512(w, kt, col, ldcol, bias, o, n);
        return;
    case LS_ISA_AVX2:
        taps_row_256(w, kt, col, ldcol, bias, o, n);
        return;
#endif
    default:
        for (int64_t i = 0; i < n; i++) {
            float acc = bias;
            for (int64_t t = 0; t < kt; t++)
                acc += w[t] * col[t * ldcol + i];
            o[i] = acc;
        }
        return;
    }
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
    if (inner == 1) {
        /* dim is the last one (wav2vec2's positional conv, dim=2): rows of
         * len, summed into ss element by element; each ss[j] still adds
         * its terms in the order a = 0, 1, ..., so the bits are the same */
        for (int64_t a = 0; a < outer; a++) {
            const float *restrict r = x + a * len;
            double *restrict sj = ss;
            for (int64_t j = 0; j < len; j++)
                sj[j] += (double)r[j] * (double)r[j];
        }
    } else {
        for (int64_t a = 0; a < outer; a++)
            for (int64_t j = 0; j < len; j++) {
                const float *r = x + (a * len + j) * inner;
                double s = ss[j];
                for (int64_t b = 0; b < inner; b++)
                    s += (double)r[b] * (double)r[b];
                ss[j] = s;
            }
    }
    for (int64_t j = 0; j < len; j++) {
        double gj = ls_tensor_get_flat(g, j);
        ss[j] = ss[j] > 0.0 ? gj / sqrt(ss[j]) : 0.0;
    }
    if (inner == 1) {
        for (int64_t a = 0; a < outer; a++) {
            const float *restrict r = x + a * len;
            float *restrict w = o + a * len;
            for (int64_t j = 0; j < len; j++)
                w[j] = (float)(r[j] * ss[j]);
        }
    } else {
        for (int64_t a = 0; a < outer; a++)
            for (int64_t j = 0; j < len; j++) {
                const float *r = x + (a * len + j) * inner;
                float *w = o + (a * len + j) * inner;
                for (int64_t b = 0; b < inner; b++)
                    w[b] = (float)(r[b] * ss[j]);
            }
    }
    free(ss);
    return true;
}
