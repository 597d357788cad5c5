#include "layerstep/tensor.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const size_t dtype_sizes[LS_DTYPE_COUNT] = {4, 8, 1};
static const char *const dtype_names[LS_DTYPE_COUNT] = {"float32", "int64", "bool"};

size_t ls_dtype_size(ls_dtype dt) { return (unsigned)dt < LS_DTYPE_COUNT ? dtype_sizes[dt] : 0; }
const char *ls_dtype_name(ls_dtype dt)
{
    return (unsigned)dt < LS_DTYPE_COUNT ? dtype_names[dt] : "?";
}

int64_t ls_tensor_numel(const ls_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

size_t ls_tensor_nbytes(const ls_tensor *t)
{
    return (size_t)ls_tensor_numel(t) * ls_dtype_size(t->dtype);
}

static void contiguous_strides(int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        stride[i] = s;
        s *= shape[i];
    }
}

bool ls_tensor_is_contiguous(const ls_tensor *t)
{
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != s)
            return false;
        s *= t->shape[i];
    }
    return true;
}

bool ls_tensor_same_shape(const ls_tensor *a, const ls_tensor *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return false;
    return true;
}

int ls_shape_check(int ndim, const int64_t *shape, ls_dtype dt, bool allow_zero, ls_error *err)
{
    if (ndim < 0 || ndim > LS_MAX_DIMS)
        return ls_error_set(err, LS_ERR_SHAPE, "%d dimensions (at most %d supported)", ndim,
                            LS_MAX_DIMS);
    if ((unsigned)dt >= LS_DTYPE_COUNT)
        return ls_error_set(err, LS_ERR_FORMAT, "unknown dtype %d", (int)dt);
    /* Bound the element count so numel * 8 bytes still fits in size_t and
     * int64 with room for index arithmetic. */
    const int64_t limit = INT64_MAX / 16;
    int64_t n = 1, span = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] == 0 && !allow_zero))
            return ls_error_set(err, LS_ERR_SHAPE, "dimension %d is %lld (must be %s)", i,
                                (long long)shape[i], allow_zero ? ">= 0" : "> 0");
        /* a zero dim makes the count 0, but the strides of the other dims
         * are still products of them: bound those too */
        int64_t s = shape[i] ? shape[i] : 1;
        if (span > limit / s)
            return ls_error_set(err, LS_ERR_SHAPE,
                                "element count overflows (dimension %d is %lld)", i,
                                (long long)shape[i]);
        span *= s;
        n *= shape[i];
    }
    if ((uint64_t)n > SIZE_MAX / 8)
        return ls_error_set(err, LS_ERR_SHAPE, "tensor too large (%lld elements)", (long long)n);
    return LS_OK;
}

ls_tensor ls_tensor_make(ls_dtype dt, int ndim, const int64_t *shape, void *data)
{
    ls_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t.shape[i] = shape[i];
    contiguous_strides(ndim, t.shape, t.stride);
    t.data = data;
    return t;
}

int ls_tensor_alloc(ls_arena *a, ls_dtype dt, int ndim, const int64_t *shape, ls_tensor *out,
                    ls_error *err)
{
    int rc = ls_shape_check(ndim, shape, dt, true, err);
    if (rc)
        return rc;
    ls_tensor t = ls_tensor_make(dt, ndim, shape, NULL);
    size_t bytes = ls_tensor_nbytes(&t);
    t.data = ls_arena_alloc(a, bytes);
    if (!t.data)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    *out = t;
    return LS_OK;
}

/* ---- views ---- */

static int check_dim(const ls_tensor *t, int *dim, int extra, const char *what, ls_error *err)
{
    int n = t->ndim + extra;
    int d = *dim < 0 ? *dim + n : *dim;
    if (d < 0 || d >= n)
        return ls_error_set(err, LS_ERR_ARG, "%s: dim %d out of range for %d dims", what, *dim,
                            t->ndim);
    *dim = d;
    return LS_OK;
}

int ls_tensor_reshape(const ls_tensor *t, int ndim, const int64_t *shape, ls_tensor *out,
                      ls_error *err)
{
    if (ndim < 0 || ndim > LS_MAX_DIMS)
        return ls_error_set(err, LS_ERR_ARG, "reshape: %d dims (at most %d)", ndim, LS_MAX_DIMS);
    if (!ls_tensor_is_contiguous(t))
        return ls_error_set(err, LS_ERR_ARG, "reshape: input is not contiguous (make it contiguous first)");
    int64_t n = ls_tensor_numel(t), known = 1;
    int infer = -1;
    int64_t s[LS_MAX_DIMS];
    for (int i = 0; i < ndim; i++) {
        s[i] = shape[i];
        if (s[i] == -1) {
            if (infer >= 0)
                return ls_error_set(err, LS_ERR_ARG, "reshape: more than one -1");
            infer = i;
        } else if (s[i] < 0) {
            return ls_error_set(err, LS_ERR_ARG, "reshape: negative dim %lld", (long long)s[i]);
        } else {
            known *= s[i];
        }
    }
    if (infer >= 0) {
        if (known == 0 || n % known)
            return ls_error_set(err, LS_ERR_SHAPE, "reshape: cannot infer -1 for %lld elements",
                                (long long)n);
        s[infer] = n / known;
        known = n;
    }
    if (known != n) {
        char b[64];
        return ls_error_set(err, LS_ERR_SHAPE, "reshape: %s has %lld elements, new shape has %lld",
                            ls_shape_str(t, b, sizeof b), (long long)n, (long long)known);
    }
    ls_tensor r = ls_tensor_make(t->dtype, ndim, s, t->data);
    *out = r;
    return LS_OK;
}

int ls_tensor_permute(const ls_tensor *t, const int *perm, ls_tensor *out, ls_error *err)
{
    bool seen[LS_MAX_DIMS] = {false};
    ls_tensor r = *t;
    for (int i = 0; i < t->ndim; i++) {
        int p = perm[i];
        if (p < 0 || p >= t->ndim || seen[p])
            return ls_error_set(err, LS_ERR_ARG, "permute: not a permutation of %d dims", t->ndim);
        seen[p] = true;
        r.shape[i] = t->shape[p];
        r.stride[i] = t->stride[p];
    }
    *out = r;
    return LS_OK;
}

int ls_tensor_transpose(const ls_tensor *t, int d0, int d1, ls_tensor *out, ls_error *err)
{
    int rc;
    if ((rc = check_dim(t, &d0, 0, "transpose", err)) || (rc = check_dim(t, &d1, 0, "transpose", err)))
        return rc;
    int perm[LS_MAX_DIMS] = {0, 1, 2, 3};
    perm[d0] = d1;
    perm[d1] = d0;
    return ls_tensor_permute(t, perm, out, err);
}

int ls_tensor_slice(const ls_tensor *t, int dim, int64_t start, int64_t end, int64_t step,
                    ls_tensor *out, ls_error *err)
{
    int rc = check_dim(t, &dim, 0, "slice", err);
    if (rc)
        return rc;
    if (step < 1)
        return ls_error_set(err, LS_ERR_ARG, "slice: step %lld must be >= 1", (long long)step);
    int64_t n = t->shape[dim];
    if (start < 0)
        start += n;
    if (end < 0)
        end += n;
    if (start < 0)
        start = 0;
    if (start > n)
        start = n;
    if (end > n)
        end = n;
    if (end < start)
        end = start;
    ls_tensor r = *t;
    r.shape[dim] = (end - start + step - 1) / step;
    r.stride[dim] = t->stride[dim] * step;
    if (t->data && r.shape[dim] > 0)
        r.data = (char *)t->data + (size_t)(start * t->stride[dim]) * ls_dtype_size(t->dtype);
    *out = r;
    return LS_OK;
}

int ls_tensor_unsqueeze(const ls_tensor *t, int dim, ls_tensor *out, ls_error *err)
{
    if (t->ndim >= LS_MAX_DIMS)
        return ls_error_set(err, LS_ERR_ARG, "unsqueeze: already %d dims", t->ndim);
    int rc = check_dim(t, &dim, 1, "unsqueeze", err);
    if (rc)
        return rc;
    ls_tensor r = *t;
    for (int i = t->ndim; i > dim; i--) {
        r.shape[i] = t->shape[i - 1];
        r.stride[i] = t->stride[i - 1];
    }
    r.shape[dim] = 1;
    r.stride[dim] = dim < t->ndim ? t->shape[dim] * t->stride[dim] : 1;
    r.ndim = t->ndim + 1;
    *out = r;
    return LS_OK;
}

int ls_tensor_squeeze(const ls_tensor *t, int dim, ls_tensor *out, ls_error *err)
{
    int rc = check_dim(t, &dim, 0, "squeeze", err);
    if (rc)
        return rc;
    if (t->shape[dim] != 1)
        return ls_error_set(err, LS_ERR_SHAPE, "squeeze: dim %d has size %lld, not 1", dim,
                            (long long)t->shape[dim]);
    ls_tensor r = *t;
    for (int i = dim; i < t->ndim - 1; i++) {
        r.shape[i] = t->shape[i + 1];
        r.stride[i] = t->stride[i + 1];
    }
    r.ndim = t->ndim - 1;
    r.shape[r.ndim] = 0;
    r.stride[r.ndim] = 0;
    *out = r;
    return LS_OK;
}

int ls_tensor_expand(const ls_tensor *t, int ndim, const int64_t *shape, ls_tensor *out,
                     ls_error *err)
{
    if (ndim < t->ndim || ndim > LS_MAX_DIMS)
        return ls_error_set(err, LS_ERR_ARG, "expand: %d dims to %d", t->ndim, ndim);
    ls_tensor r = *t;
    r.ndim = ndim;
    int off = ndim - t->ndim;
    for (int i = 0; i < ndim; i++) {
        int64_t have = i >= off ? t->shape[i - off] : 1;
        int64_t st = i >= off ? t->stride[i - off] : 0;
        int64_t want = shape[i] == -1 ? have : shape[i];
        if (have == want) {
            r.shape[i] = have;
            r.stride[i] = st;
        } else if (have == 1 && want >= 0) {
            r.shape[i] = want;
            r.stride[i] = 0;
        } else {
            char b[64];
            return ls_error_set(err, LS_ERR_SHAPE, "expand: cannot expand %s (dim %d is %lld) to %lld",
                                ls_shape_str(t, b, sizeof b), i, (long long)have, (long long)want);
        }
    }
    *out = r;
    return LS_OK;
}

/* ---- copies and access ---- */

void *ls_tensor_at(const ls_tensor *t, const int64_t *idx)
{
    int64_t off = 0;
    for (int i = 0; i < t->ndim; i++)
        off += idx[i] * t->stride[i];
    return (char *)t->data + off * (int64_t)ls_dtype_size(t->dtype);
}

static void flat_to_index(const ls_tensor *t, int64_t flat, int64_t *idx)
{
    for (int i = t->ndim - 1; i >= 0; i--) {
        int64_t s = t->shape[i];
        idx[i] = s ? flat % s : 0;
        flat = s ? flat / s : 0;
    }
}

static double load(ls_dtype dt, const void *p)
{
    switch (dt) {
    case LS_F32: return *(const float *)p;
    case LS_I64: return (double)*(const int64_t *)p;
    case LS_BOOL: return *(const unsigned char *)p ? 1.0 : 0.0;
    default: return 0.0;
    }
}

/* Whether v can be stored in a cell of dtype dt.  The test is on the
 * double, before any cast: converting NaN or a value outside int64 to an
 * integer is undefined behaviour (a release build stored INT64_MIN for
 * "nan").  f32 takes anything: beyond its range a value is +-inf, as
 * torch does. */
int ls_tensor_value_check(ls_dtype dt, double v, ls_error *err)
{
    if (dt == LS_I64 && !(v >= -9223372036854775808.0 && v < 9223372036854775808.0))
        return ls_error_set(err, LS_ERR_RANGE, "%g does not fit an int64 cell (a whole number "
                            "between -9.2e18 and 9.2e18)", v);
    if (dt == LS_BOOL && isnan(v))
        return ls_error_set(err, LS_ERR_RANGE, "nan is not a mask value (true/false or a number)");
    return LS_OK;
}

static int store(ls_dtype dt, void *p, double v)
{
    if (ls_tensor_value_check(dt, v, NULL))
        return LS_ERR_RANGE;
    switch (dt) {
    case LS_F32:
        *(float *)p = v > FLT_MAX ? INFINITY : v < -FLT_MAX ? -INFINITY : (float)v;
        break;
    case LS_I64: *(int64_t *)p = (int64_t)v; break;
    case LS_BOOL: *(unsigned char *)p = v != 0.0; break;
    default: break;
    }
    return LS_OK;
}

double ls_tensor_get(const ls_tensor *t, const int64_t *idx) { return load(t->dtype, ls_tensor_at(t, idx)); }
int ls_tensor_set(ls_tensor *t, const int64_t *idx, double v) { return store(t->dtype, ls_tensor_at(t, idx), v); }

double ls_tensor_get_flat(const ls_tensor *t, int64_t i)
{
    int64_t idx[LS_MAX_DIMS];
    flat_to_index(t, i, idx);
    return ls_tensor_get(t, idx);
}

int ls_tensor_set_flat(ls_tensor *t, int64_t i, double v)
{
    int64_t idx[LS_MAX_DIMS];
    flat_to_index(t, i, idx);
    return ls_tensor_set(t, idx, v);
}

void ls_tensor_copy(ls_tensor *dst, const ls_tensor *src)
{
    size_t es = ls_dtype_size(src->dtype);
    int64_t n = ls_tensor_numel(src);
    if (ls_tensor_is_contiguous(dst) && ls_tensor_is_contiguous(src)) {
        memmove(dst->data, src->data, (size_t)n * es);
        return;
    }
    /* Walk a 4-d index with the innermost dim in the loop body: strided
     * copies of attention heads are common and this keeps them cheap. */
    int64_t sh[4] = {1, 1, 1, 1}, ss[4] = {0}, ds[4] = {0};
    int off = 4 - src->ndim;
    for (int i = 0; i < src->ndim; i++) {
        sh[off + i] = src->shape[i];
        ss[off + i] = src->stride[i];
        ds[off + i] = dst->stride[i];
    }
    const char *s = src->data;
    char *d = dst->data;
    for (int64_t a = 0; a < sh[0]; a++)
        for (int64_t b = 0; b < sh[1]; b++)
            for (int64_t c = 0; c < sh[2]; c++) {
                const char *sp = s + (a * ss[0] + b * ss[1] + c * ss[2]) * (int64_t)es;
                char *dp = d + (a * ds[0] + b * ds[1] + c * ds[2]) * (int64_t)es;
                if (es == 4) {
                    for (int64_t e = 0; e < sh[3]; e++)
                        ((float *)dp)[e * ds[3]] = ((const float *)sp)[e * ss[3]];
                } else {
                    for (int64_t e = 0; e < sh[3]; e++)
                        memcpy(dp + e * ds[3] * (int64_t)es, sp + e * ss[3] * (int64_t)es, es);
                }
            }
}

int ls_tensor_contiguous(ls_arena *a, const ls_tensor *t, ls_tensor *out, ls_error *err)
{
    ls_tensor r;
    int rc = ls_tensor_alloc(a, t->dtype, t->ndim, t->shape, &r, err);
    if (rc)
        return rc;
    ls_tensor_copy(&r, t);
    *out = r;
    return LS_OK;
}

char *ls_shape_str(const ls_tensor *t, char *buf, size_t n)
{
    size_t k = 0;
    if (n == 0)
        return buf;
    buf[0] = '\0';
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < t->ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

/* The TUI shows stats of whole tensors on every step (a 3.6M-element
 * subsampling output among them), so contiguous float32 gets its own
 * loops: the same two passes and double sums as the general one, over
 * LANES partial sums (one running double sum is a chain of dependent
 * adds), and with AVX2 eight floats at a time: 3.3 ms -> 0.6 ms on the
 * 875K-element output of the Conformer's 3x3 conv. */
enum { LANES = 8 };

typedef struct lanes {
    double sum[LANES], sq[LANES];
    float mn[LANES], mx[LANES];
    int64_t nan, inf;
} lanes;

/* p[i0, i1) into the lanes: pass 1 min/max/sum of the finite values. */
static void pass1(lanes *a, const float *p, int64_t i0, int64_t i1)
{
    for (int64_t i = i0; i < i1; i++) {
        const int l = (int)(i % LANES);
        const float v = p[i];
        if (!isfinite(v)) {
            a->nan += isnan(v) != 0;
            a->inf += isinf(v) != 0;
            continue;
        }
        a->mn[l] = v < a->mn[l] ? v : a->mn[l];
        a->mx[l] = v > a->mx[l] ? v : a->mx[l];
        a->sum[l] += v;
    }
}

/* pass 2: squared deviations of the finite values from mean */
static void pass2(lanes *a, const float *p, int64_t i0, int64_t i1, double mean)
{
    for (int64_t i = i0; i < i1; i++)
        if (isfinite(p[i]))
            a->sq[i % LANES] += ((double)p[i] - mean) * ((double)p[i] - mean);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define STATS_AVX2 1

/* Both passes eight floats at a time; returns how many it covered (a
 * multiple of 8), the caller does the rest.  Non-finite lanes are masked
 * out: v - v is 0 only for finite v. */
__attribute__((target("avx2"))) static int64_t pass1_avx2(lanes *a, const float *p, int64_t n)
{
    const int64_t body = n - n % 8;
    const __m256 inf = _mm256_set1_ps(INFINITY), ninf = _mm256_set1_ps(-INFINITY);
    __m256 mn = inf, mx = ninf;
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    for (int64_t i = 0; i < body; i += 8) {
        const __m256 v = _mm256_loadu_ps(p + i);
        const __m256 ok = _mm256_cmp_ps(_mm256_sub_ps(v, v), _mm256_setzero_ps(), _CMP_EQ_OQ);
        const int bad = ~_mm256_movemask_ps(ok) & 0xff;
        if (bad) { /* rare: count NaN and Inf */
            const int nan = _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
            a->nan += __builtin_popcount((unsigned)nan);
            a->inf += __builtin_popcount((unsigned)(bad & ~nan));
        }
        mn = _mm256_min_ps(mn, _mm256_blendv_ps(inf, v, ok));
        mx = _mm256_max_ps(mx, _mm256_blendv_ps(ninf, v, ok));
        const __m256 z = _mm256_and_ps(v, ok);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(z)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(z, 1)));
    }
    _mm256_storeu_ps(a->mn, mn);
    _mm256_storeu_ps(a->mx, mx);
    _mm256_storeu_pd(a->sum, s0);
    _mm256_storeu_pd(a->sum + 4, s1);
    return body;
}

__attribute__((target("avx2"))) static int64_t pass2_avx2(lanes *a, const float *p, int64_t n,
                                                           double mean)
{
    const int64_t body = n - n % 8;
    const __m256d m = _mm256_set1_pd(mean);
    __m256d q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
    for (int64_t i = 0; i < body; i += 8) {
        const __m256 v = _mm256_loadu_ps(p + i);
        const __m256i ok = _mm256_castps_si256(
            _mm256_cmp_ps(_mm256_sub_ps(v, v), _mm256_setzero_ps(), _CMP_EQ_OQ));
        /* the float lanes' masks widened to the double lanes */
        const __m256d k0 = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(ok)));
        const __m256d k1 =
            _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(ok, 1)));
        const __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), m);
        const __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), m);
        q0 = _mm256_add_pd(q0, _mm256_and_pd(_mm256_mul_pd(d0, d0), k0));
        q1 = _mm256_add_pd(q1, _mm256_and_pd(_mm256_mul_pd(d1, d1), k1));
    }
    _mm256_storeu_pd(a->sq, q0);
    _mm256_storeu_pd(a->sq + 4, q1);
    return body;
}
#endif

static void stats_f32(const float *p, int64_t n, ls_stats *s)
{
    lanes a;
    memset(&a, 0, sizeof a);
    for (int l = 0; l < LANES; l++) {
        a.mn[l] = INFINITY;
        a.mx[l] = -INFINITY;
    }
    int64_t done = 0;
#ifdef STATS_AVX2
    const bool avx2 = __builtin_cpu_supports("avx2");
    if (avx2)
        done = pass1_avx2(&a, p, n);
#endif
    pass1(&a, p, done, n);
    s->nan = a.nan;
    s->inf = a.inf;
    s->count = n - s->nan - s->inf;
    if (!s->count)
        return;
    double total = 0.0;
    float lo = INFINITY, hi = -INFINITY;
    for (int l = 0; l < LANES; l++) {
        total += a.sum[l];
        lo = a.mn[l] < lo ? a.mn[l] : lo;
        hi = a.mx[l] > hi ? a.mx[l] : hi;
    }
    const double mean = total / (double)s->count;
    done = 0;
#ifdef STATS_AVX2
    if (avx2)
        done = pass2_avx2(&a, p, n, mean);
#endif
    pass2(&a, p, done, n, mean);
    double sqt = 0.0;
    for (int l = 0; l < LANES; l++)
        sqt += a.sq[l];
    s->mean = mean;
    s->std = sqrt(sqt / (double)s->count);
    s->min = lo;
    s->max = hi;
}

void ls_tensor_stats(const ls_tensor *t, ls_stats *s)
{
    memset(s, 0, sizeof *s);
    int64_t n = ls_tensor_numel(t);
    if (t->dtype == LS_F32 && t->data && ls_tensor_is_contiguous(t)) {
        stats_f32((const float *)t->data, n, s);
        return;
    }
    double sum = 0.0, sq = 0.0;
    double mn = INFINITY, mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double v = ls_tensor_get_flat(t, i);
        if (isnan(v)) {
            s->nan++;
            continue;
        }
        if (isinf(v)) {
            s->inf++;
            continue;
        }
        if (v < mn)
            mn = v;
        if (v > mx)
            mx = v;
        sum += v;
        s->count++;
    }
    if (s->count) {
        double mean = sum / (double)s->count;
        for (int64_t i = 0; i < n; i++) {
            double v = ls_tensor_get_flat(t, i);
            if (isfinite(v))
                sq += (v - mean) * (v - mean);
        }
        s->mean = mean;
        s->std = sqrt(sq / (double)s->count);
        s->min = mn;
        s->max = mx;
    }
}
