/* gemm.c - the packed GEMM behind matmul, linear and the convolutions:
 * cache blocking, panel packing, register-tiled micro-kernels for
 * AVX-512, AVX2/FMA and plain C, the split over the executor's threads,
 * and the cache of weights packed once.
 *
 * BLIS-style loops (one thread's share is a block of C):
 *
 *   for jc in N step NC                 B block  KC x NC  (L2)
 *     for pc in K step KC
 *       pack B[pc:+KC, jc:+NC]          -> NR-wide panels, or the cached copy
 *       for ic in M step MC             A block  MC x KC  (L2)
 *         pack A[ic:+MC, pc:+KC]        -> MR-tall panels, or the cached copy
 *         for jr in NC step NR          B micro-panel KC x NR stays in L1
 *           for ir in MC step MR        A block streams from L2
 *             C[ir:+MR, jr:+NR] (+)= Apanel . Bpanel      (registers)
 *
 * When only A is a cached weight (a convolution: A = w, B = im2col) the
 * two inner loops swap, so the weight's micro-panel, which comes from
 * memory, is read once and reused from L1 while the freshly packed B
 * streams from L2: 5-7% faster on the Conformer's 3x3 conv, while the
 * same swap makes the linears (W^T = B cached) 10% slower.
 *
 *   a packed panel, k-major:  [k0: r0 r1 .. rMR-1][k1: r0 ..] ...
 *
 * Weights are packed whole, once, into the same panels (one KC block after
 * another, panels side by side within a block), so a cached operand is
 * just a pointer into that copy: the per-call packing of a matrix that
 * never changes is what makes a BLAS slow on 90-row activations.
 *
 * Tiles: AVX-512 12x32 (24 zmm accumulators), AVX2 6x16 (12 ymm), plain C
 * 6x8.  A short last row tile runs a kernel specialised for its row count
 * (no wasted FMAs); a short last column tile is zero-padded in the panel
 * and stored through a mask.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LS_X86 1
#endif

#include "layerstep/kernels.h"
#include "ops_impl.h"

enum { KC = 256, MC = 240, NC = 1024 };

typedef void (*kernel_fn)(int mr, int nr, int64_t kc, const float *ap, const float *bp,
                          float *c, int64_t ldc, int add);

typedef struct kernel_desc {
    int mr, nr;
    kernel_fn fn;
} kernel_desc;

/* ---- micro-kernels ---- */

/* Plain C, 6x8: one named accumulator row per tile row, so gcc and clang
 * keep them in registers at -O2 (a 2-d array stays in memory). */
static void kern_generic(int mr, int nr, int64_t kc, const float *restrict ap,
                         const float *restrict bp, float *restrict c, int64_t ldc, int add)
{
    enum { R = 6, N = 8 };
    float c0[N] = {0}, c1[N] = {0}, c2[N] = {0}, c3[N] = {0}, c4[N] = {0}, c5[N] = {0};
    for (int64_t k = 0; k < kc; k++) {
        const float a0 = ap[0], a1 = ap[1], a2 = ap[2], a3 = ap[3], a4 = ap[4], a5 = ap[5];
        for (int j = 0; j < N; j++) {
            const float b = bp[j];
            c0[j] += a0 * b;
            c1[j] += a1 * b;
            c2[j] += a2 * b;
            c3[j] += a3 * b;
            c4[j] += a4 * b;
            c5[j] += a5 * b;
        }
        ap += R;
        bp += N;
    }
    float rows[R][N];
    memcpy(rows[0], c0, sizeof c0);
    memcpy(rows[1], c1, sizeof c0);
    memcpy(rows[2], c2, sizeof c0);
    memcpy(rows[3], c3, sizeof c0);
    memcpy(rows[4], c4, sizeof c0);
    memcpy(rows[5], c5, sizeof c0);
    for (int r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        if (add)
            for (int j = 0; j < nr; j++)
                cr[j] += rows[r][j];
        else
            for (int j = 0; j < nr; j++)
                cr[j] = rows[r][j];
    }
}

#ifdef LS_X86
#define T512 __attribute__((target("avx512f,avx2,fma")))
#define T256 __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline))

/* AVX-512, up to 12x32.  `mr` is a constant at every call site below, so
 * the row loops unroll and the 2*mr accumulators live in zmm registers:
 * per k, two loads of B, mr broadcasts of A, 2*mr FMAs. */
INL T512 void k512(const int mr, int nr, int64_t kc, const float *restrict ap,
                   const float *restrict bp, float *restrict c, int64_t ldc, int add)
{
    __m512 x0[12], x1[12];
#pragma GCC unroll 12
    for (int r = 0; r < 12; r++)
        if (r < mr)
            x0[r] = x1[r] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        const __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
#pragma GCC unroll 12
        for (int r = 0; r < 12; r++)
            if (r < mr) {
                const __m512 a = _mm512_set1_ps(ap[r]);
                x0[r] = _mm512_fmadd_ps(a, b0, x0[r]);
                x1[r] = _mm512_fmadd_ps(a, b1, x1[r]);
            }
        ap += 12;
        bp += 32;
    }
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32   ? (__mmask16)0xFFFF
                         : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1)
                                   : (__mmask16)0;
#pragma GCC unroll 12
    for (int r = 0; r < 12; r++)
        if (r < mr) {
            float *cr = c + r * ldc;
            if (add) {
                x0[r] = _mm512_add_ps(x0[r], _mm512_maskz_loadu_ps(m0, cr));
                x1[r] = _mm512_add_ps(x1[r], _mm512_maskz_loadu_ps(m1, cr + 16));
            }
            _mm512_mask_storeu_ps(cr, m0, x0[r]);
            _mm512_mask_storeu_ps(cr + 16, m1, x1[r]);
        }
}

T512 static void kern_avx512(int mr, int nr, int64_t kc, const float *ap, const float *bp,
                             float *c, int64_t ldc, int add)
{
    switch (mr) {
#define K512(n)                                                                                    \
    case n:                                                                                        \
        k512(n, nr, kc, ap, bp, c, ldc, add);                                                      \
        break;
        K512(1) K512(2) K512(3) K512(4) K512(5) K512(6)
        K512(7) K512(8) K512(9) K512(10) K512(11) K512(12)
#undef K512
    default:
        break;
    }
}

/* AVX2/FMA, up to 6x16 (12 of the 16 ymm registers accumulate). */
INL T256 void k256(const int mr, int nr, int64_t kc, const float *restrict ap,
                   const float *restrict bp, float *restrict c, int64_t ldc, int add)
{
    __m256 x0[6], x1[6];
#pragma GCC unroll 6
    for (int r = 0; r < 6; r++)
        if (r < mr)
            x0[r] = x1[r] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
#pragma GCC unroll 6
        for (int r = 0; r < 6; r++)
            if (r < mr) {
                const __m256 a = _mm256_broadcast_ss(ap + r);
                x0[r] = _mm256_fmadd_ps(a, b0, x0[r]);
                x1[r] = _mm256_fmadd_ps(a, b1, x1[r]);
            }
        ap += 6;
        bp += 16;
    }
    if (nr == 16) {
#pragma GCC unroll 6
        for (int r = 0; r < 6; r++)
            if (r < mr) {
                float *cr = c + r * ldc;
                if (add) {
                    x0[r] = _mm256_add_ps(x0[r], _mm256_loadu_ps(cr));
                    x1[r] = _mm256_add_ps(x1[r], _mm256_loadu_ps(cr + 8));
                }
                _mm256_storeu_ps(cr, x0[r]);
                _mm256_storeu_ps(cr + 8, x1[r]);
            }
        return;
    }
    /* a short column tile goes through memory, element by element */
    float t[16];
#pragma GCC unroll 6
    for (int r = 0; r < 6; r++)
        if (r < mr) {
            float *cr = c + r * ldc;
            _mm256_storeu_ps(t, x0[r]);
            _mm256_storeu_ps(t + 8, x1[r]);
            for (int j = 0; j < nr; j++)
                cr[j] = add ? cr[j] + t[j] : t[j];
        }
}

T256 static void kern_avx2(int mr, int nr, int64_t kc, const float *ap, const float *bp,
                           float *c, int64_t ldc, int add)
{
    switch (mr) {
#define K256(n)                                                                                    \
    case n:                                                                                        \
        k256(n, nr, kc, ap, bp, c, ldc, add);                                                      \
        break;
        K256(1) K256(2) K256(3) K256(4) K256(5) K256(6)
#undef K256
    default:
        break;
    }
}
#endif /* LS_X86 */

static kernel_desc pick_kernel(int isa)
{
    if (isa == LS_ISA_AUTO)
        isa = ls_cpu_isa();
#ifdef LS_X86
    if (isa == LS_ISA_AVX512)
        return (kernel_desc){12, 32, kern_avx512};
    if (isa == LS_ISA_AVX2)
        return (kernel_desc){6, 16, kern_avx2};
#endif
    return (kernel_desc){6, 8, kern_generic};
}

/* ---- packing ---- */

static int64_t ceil_to(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/* A[m0:+mc, k0:+kc] -> MR-tall panels (rows past mc are zero). */
static void pack_a(const ls_gemm_op *a, int64_t m0, int64_t mc, int64_t k0, int64_t kc, int MR,
                   float *dst)
{
    const int64_t rs = a->rs, cs = a->cs;
    for (int64_t i = 0; i < mc; i += MR) {
        const int64_t mr = mc - i < MR ? mc - i : MR;
        const float *src = a->p + (m0 + i) * rs + k0 * cs;
        if (cs == 1) {
            /* rows are contiguous: read each row once, write it strided */
            for (int64_t r = 0; r < mr; r++) {
                const float *s = src + r * rs;
                for (int64_t k = 0; k < kc; k++)
                    dst[k * MR + r] = s[k];
            }
        } else {
            for (int64_t k = 0; k < kc; k++)
                for (int64_t r = 0; r < mr; r++)
                    dst[k * MR + r] = src[r * rs + k * cs];
        }
        if (mr < MR)
            for (int64_t k = 0; k < kc; k++)
                for (int64_t r = mr; r < MR; r++)
                    dst[k * MR + r] = 0.0f;
        dst += MR * kc;
    }
}

#ifdef LS_X86
/* One im2col panel of 32 columns whose windows all lie inside x, rows
 * (c,u,v) from the given start: each row is x at the 32 offsets. */
T512 static void gather_rows32(const ls_im2col *g, const int64_t *off, int64_t c, int64_t u,
                               int64_t v, int64_t kc, float *dst)
{
    int32_t o[32];
    for (int j = 0; j < 32; j++)
        o[j] = (int32_t)off[j];
    const __m512i i0 = _mm512_loadu_si512(o), i1 = _mm512_loadu_si512(o + 16);
    for (int64_t k = 0; k < kc; k++) {
        const float *xk = g->x + c * g->sc + u * g->sh + v * g->sw;
        _mm512_store_ps(dst + k * 32, _mm512_i32gather_ps(i0, xk, 4));
        _mm512_store_ps(dst + k * 32 + 16, _mm512_i32gather_ps(i1, xk, 4));
        if (++v == g->KW) {
            v = 0;
            if (++u == g->KH) {
                u = 0;
                c++;
            }
        }
    }
}
#endif

/* Implicit im2col: column p of B for rows k0..k0+kc of one panel. */
static void pack_b_im2col(const ls_im2col *g, int64_t n0, int64_t nr, int64_t k0, int64_t kc,
                          int NR, float *dst)
{
    int64_t hi0[64], wi0[64], off[64]; /* NR <= 64 */
    bool inside = true;
    for (int64_t j = 0; j < nr; j++) {
        int64_t p = n0 + j;
        hi0[j] = (p / g->OW) * g->stride - g->pad_h;
        wi0[j] = (p % g->OW) * g->stride - g->pad_w;
        off[j] = hi0[j] * g->sh + wi0[j] * g->sw;
        inside &= hi0[j] >= 0 && hi0[j] + g->KH <= g->H && wi0[j] >= 0 && wi0[j] + g->KW <= g->W;
    }
    const int64_t kk = g->KH * g->KW;
    int64_t c = k0 / kk, u = (k0 % kk) / g->KW, v = k0 % g->KW;
    if (inside) {
        /* every window of the panel lies inside x (no padding reached):
         * a gather through the offsets, no bounds checks */
#ifdef LS_X86
        /* NR == 32 is the AVX-512 kernel's panel, chosen only when the CPU
         * has AVX-512: two 16-lane gathers per row (int32 offsets) */
        bool small = nr == 32;
        for (int64_t j = 0; j < nr && small; j++)
            small = off[j] <= INT32_MAX;
        if (NR == 32 && small) {
            gather_rows32(g, off, c, u, v, kc, dst);
            return;
        }
#endif
        for (int64_t k = 0; k < kc; k++) {
            const float *xk = g->x + c * g->sc + u * g->sh + v * g->sw;
            float *d = dst + k * NR;
            for (int64_t j = 0; j < nr; j++)
                d[j] = xk[off[j]];
            for (int64_t j = nr; j < NR; j++)
                d[j] = 0.0f;
            if (++v == g->KW) {
                v = 0;
                if (++u == g->KH) {
                    u = 0;
                    c++;
                }
            }
        }
        return;
    }
    for (int64_t k = 0; k < kc; k++) {
        const float *xc = g->x + c * g->sc;
        float *d = dst + k * NR;
        for (int64_t j = 0; j < nr; j++) {
            int64_t h = hi0[j] + u, w = wi0[j] + v;
            d[j] = (h >= 0 && h < g->H && w >= 0 && w < g->W) ? xc[h * g->sh + w * g->sw] : 0.0f;
        }
        for (int64_t j = nr; j < NR; j++)
            d[j] = 0.0f;
        if (++v == g->KW) {
            v = 0;
            if (++u == g->KH) {
                u = 0;
                c++;
            }
        }
    }
}

/* B[k0:+kc, n0:+nc] -> NR-wide panels (columns past nc are zero). */
static void pack_b(const ls_gemm_op *b, int64_t n0, int64_t nc, int64_t k0, int64_t kc, int NR,
                   float *dst)
{
    const int64_t rs = b->rs, cs = b->cs;
    for (int64_t j = 0; j < nc; j += NR) {
        const int64_t nr = nc - j < NR ? nc - j : NR;
        if (b->im2col) {
            pack_b_im2col(b->im2col, n0 + j, nr, k0, kc, NR, dst);
            dst += NR * kc;
            continue;
        }
        const float *src = b->p + k0 * rs + (n0 + j) * cs;
        if (cs == 1) {
            for (int64_t k = 0; k < kc; k++) {
                memcpy(dst + k * NR, src + k * rs, (size_t)nr * sizeof(float));
                for (int64_t c = nr; c < NR; c++)
                    dst[k * NR + c] = 0.0f;
            }
        } else {
            /* a transposed operand (linear's W^T): read its columns whole */
            for (int64_t c = 0; c < nr; c++) {
                const float *s = src + c * cs;
                if (rs == 1)
                    for (int64_t k = 0; k < kc; k++)
                        dst[k * NR + c] = s[k];
                else
                    for (int64_t k = 0; k < kc; k++)
                        dst[k * NR + c] = s[k * rs];
            }
            for (int64_t k = 0; k < kc; k++)
                for (int64_t c = nr; c < NR; c++)
                    dst[k * NR + c] = 0.0f;
        }
        dst += NR * kc;
    }
}

/* ---- the cache of packed weights ---- */

typedef struct pack_key {
    const float *p;
    int64_t rows, cols, rs, cs;
    int side, panel; /* 0 = A (MR panels), 1 = B (NR panels); panel = MR or NR */
} pack_key;

typedef struct pack_entry {
    pack_key key;
    float *data;
    size_t bytes;
} pack_entry;

struct ls_pack_cache {
    pthread_mutex_t mu; /* executors sharing the cache may run in parallel */
    pack_entry *e;
    int n, cap;
    size_t bytes;
};

ls_pack_cache *ls_pack_cache_new(void)
{
    ls_pack_cache *c = calloc(1, sizeof(ls_pack_cache));
    if (c && pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void ls_pack_cache_free(ls_pack_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        free(c->e[i].data);
    free(c->e);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

size_t ls_pack_cache_bytes(const ls_pack_cache *c)
{
    if (!c)
        return 0;
    pthread_mutex_lock((pthread_mutex_t *)&c->mu);
    size_t b = c->bytes;
    pthread_mutex_unlock((pthread_mutex_t *)&c->mu);
    return b;
}

static const float *cached_pack_locked(ls_pack_cache *pc, const ls_gemm_op *op, int side,
                                       int64_t rows, int64_t K, int panel, ls_pool *pool,
                                       int threads);

/* The whole operand packed (K blocks one after another), from the cache
 * or packed now; NULL when it cannot be cached (then pack per call).
 * Packing happens under the lock, so two executors never pack the same
 * weight twice. */
static const float *cached_pack(ls_pack_cache *pc, const ls_gemm_op *op, int side, int64_t rows,
                                int64_t K, int panel, ls_pool *pool, int threads)
{
    if (!pc || !op->cache || op->im2col)
        return NULL;
    pthread_mutex_lock(&pc->mu);
    const float *d = cached_pack_locked(pc, op, side, rows, K, panel, pool, threads);
    pthread_mutex_unlock(&pc->mu);
    return d;
}

/* One weight packed whole, split over the pool by (KC block, row chunk):
 * the chunks are whole panels, so each task writes its own part of the
 * layout cached_pack_locked describes. */
typedef struct pack_job {
    const ls_gemm_op *op;
    int side, panel;
    int64_t rows, K, pad, chunk, n_chunks;
    float *d;
} pack_job;

static void pack_task(void *ud, int t, int thread)
{
    (void)thread;
    const pack_job *j = ud;
    const int64_t k0 = (int64_t)(t / j->n_chunks) * KC, r0 = (t % j->n_chunks) * j->chunk;
    const int64_t kc = j->K - k0 < KC ? j->K - k0 : KC;
    const int64_t n = j->rows - r0 < j->chunk ? j->rows - r0 : j->chunk;
    if (n <= 0)
        return;
    float *dst = j->d + k0 * j->pad + r0 * kc;
    if (j->side == 0)
        pack_a(j->op, r0, n, k0, kc, j->panel, dst);
    else
        pack_b(j->op, r0, n, k0, kc, j->panel, dst);
}

static const float *cached_pack_locked(ls_pack_cache *pc, const ls_gemm_op *op, int side,
                                       int64_t rows, int64_t K, int panel, ls_pool *pool,
                                       int threads)
{
    pack_key key;
    memset(&key, 0, sizeof key); /* compared with memcmp: no stray padding bytes */
    key.p = op->p;
    key.rows = rows;
    key.cols = K;
    key.rs = op->rs;
    key.cs = op->cs;
    key.side = side;
    key.panel = panel;
    for (int i = 0; i < pc->n; i++)
        if (!memcmp(&pc->e[i].key, &key, sizeof key))
            return pc->e[i].data;
    if (pc->n == pc->cap) {
        int cap = pc->cap ? pc->cap * 2 : 64;
        pack_entry *e = realloc(pc->e, (size_t)cap * sizeof *e);
        if (!e)
            return NULL;
        pc->e = e;
        pc->cap = cap;
    }
    const int64_t pad = ceil_to(rows, panel);
    size_t bytes = (size_t)(pad * K) * sizeof(float);
    float *d = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (!d)
        return NULL;
    /* packing 9.4 MB (the Conformer's 3x3 conv) takes 10-20 ms on one
     * thread: split it, four row chunks of whole panels per KC block */
    const int64_t chunk = ceil_to((rows + 3) / 4, panel);
    pack_job pj = {op, side, panel, rows, K, pad, chunk, (rows + chunk - 1) / chunk, d};
    const int64_t tasks = (K + KC - 1) / KC * pj.n_chunks;
    if (pool && threads > 1 && tasks > 1 && tasks < (1 << 30) && (double)rows * K > 1e5)
        ls_pool_run(pool, threads, pack_task, &pj, (int)tasks);
    else
        for (int t = 0; t < tasks; t++)
            pack_task(&pj, t, 0);
    memset(&pc->e[pc->n], 0, sizeof pc->e[pc->n]); /* padding bytes of the key too */
    pc->e[pc->n].key = key;
    pc->e[pc->n].data = d;
    pc->e[pc->n].bytes = bytes;
    pc->n++;
    pc->bytes += bytes;
    return d;
}

/* ---- one thread's block of C ---- */

typedef struct gemm_job {
    int64_t M, N, K;
    const ls_gemm_op *a, *b;
    float *c;
    int64_t ldc;
    bool accumulate;
    kernel_desc kd;
    const float *ac, *bc;   /* cached packed copies, or NULL */
    ls_pool *pool;
    /* the split: task t covers rows [m_lo(t), m_hi(t)) x cols [n_lo, n_hi) */
    int tasks;
    bool split_n;
    atomic_bool ok;
    const _Atomic int *cancel;
} gemm_job;

/* Scratch for one thread: from the pool, or malloc'd and freed by the caller. */
typedef struct scratch_ref {
    ls_pool *pool;
    int thread;
    void *own[2];
} scratch_ref;

static float *get_scratch(scratch_ref *s, int slot, size_t floats)
{
    size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
    if (s->pool)
        return ls_pool_scratch(s->pool, s->thread, slot, bytes);
    free(s->own[slot]);
    s->own[slot] = aligned_alloc(64, bytes ? bytes : 64);
    return s->own[slot];
}

static bool gemm_block(const gemm_job *j, scratch_ref *s, int64_t m0, int64_t m1, int64_t n0,
                       int64_t n1)
{
    const int MR = j->kd.mr, NR = j->kd.nr;
    const int64_t K = j->K;
    const int64_t Mpad = ceil_to(j->M, MR), Npad = ceil_to(j->N, NR);
    float *ap = NULL, *bp = NULL;
    /* The operand read from memory (a cached weight) is the one whose
     * micro-panel stays in L1 while the other, packed just now into L2,
     * streams past it: A-outer for a convolution (w is A), B-outer for
     * a linear (W^T is B) and for two activations. */
    const bool a_outer = j->ac && !j->bc;
    if (!j->ac && !(ap = get_scratch(s, 0, (size_t)(MC * KC))))
        return false;
    if (!j->bc && !(bp = get_scratch(s, 1, (size_t)(ceil_to(NC, NR) * KC))))
        return false;
    for (int64_t jc = n0; jc < n1; jc += NC) {
        const int64_t nc = n1 - jc < NC ? n1 - jc : NC;
        for (int64_t pc = 0; pc < K; pc += KC) {
            const int64_t kc = K - pc < KC ? K - pc : KC;
            const int add = j->accumulate || pc > 0;
            const float *bblk;
            if (j->bc) {
                bblk = j->bc + pc * Npad + jc * kc;
            } else {
                pack_b(j->b, jc, nc, pc, kc, NR, bp);
                bblk = bp;
            }
            for (int64_t ic = m0; ic < m1; ic += MC) {
                /* a block is at most MC x NC x KC multiply-adds (well
                 * under a millisecond): a signal is seen that soon */
                if (ls_cancelled(j->cancel))
                    return true;
                const int64_t mc = m1 - ic < MC ? m1 - ic : MC;
                const float *ablk;
                if (j->ac) {
                    ablk = j->ac + pc * Mpad + ic * kc;
                } else {
                    pack_a(j->a, ic, mc, pc, kc, MR, ap);
                    ablk = ap;
                }
                /* the tiles of this block, the L1-resident operand's
                 * index outer */
                const int64_t ti = (mc + MR - 1) / MR, tj = (nc + NR - 1) / NR;
                for (int64_t o = 0; o < (a_outer ? ti : tj); o++)
                    for (int64_t q = 0; q < (a_outer ? tj : ti); q++) {
                        const int64_t ir = (a_outer ? o : q) * MR, jr = (a_outer ? q : o) * NR;
                        const int mr = (int)(mc - ir < MR ? mc - ir : MR);
                        const int nr = (int)(nc - jr < NR ? nc - jr : NR);
                        j->kd.fn(mr, nr, kc, ablk + ir * kc, bblk + jr * kc,
                                 j->c + (ic + ir) * j->ldc + jc + jr, j->ldc, add);
                    }
            }
        }
    }
    return true;
}

static void range_of(int64_t units, int tasks, int t, int64_t *lo, int64_t *hi)
{
    *lo = units * t / tasks;
    *hi = units * (t + 1) / tasks;
}

static void gemm_task(void *ud, int t, int thread)
{
    gemm_job *j = ud;
    const int64_t MR = j->kd.mr, NR = j->kd.nr;
    int64_t m0 = 0, m1 = j->M, n0 = 0, n1 = j->N, lo, hi;
    if (j->split_n) {
        range_of((j->N + NR - 1) / NR, j->tasks, t, &lo, &hi);
        n0 = lo * NR;
        n1 = hi * NR < j->N ? hi * NR : j->N;
    } else {
        range_of((j->M + MR - 1) / MR, j->tasks, t, &lo, &hi);
        m0 = lo * MR;
        m1 = hi * MR < j->M ? hi * MR : j->M;
    }
    if (m0 >= m1 || n0 >= n1)
        return;
    scratch_ref s = {j->pool, thread, {NULL, NULL}};
    if (!gemm_block(j, &s, m0, m1, n0, n1))
        atomic_store(&j->ok, false);
    free(s.own[0]);
    free(s.own[1]);
}

bool ls_gemm_ex(const ls_op_ctx *ctx, int thread, int64_t M, int64_t N, int64_t K,
                const ls_gemm_op *a, const ls_gemm_op *b, float *c, int64_t ldc, bool accumulate)
{
    if (M <= 0 || N <= 0)
        return true;
    if (K <= 0) {
        if (!accumulate)
            for (int64_t m = 0; m < M; m++)
                memset(c + m * ldc, 0, (size_t)N * sizeof(float));
        return true;
    }
    gemm_job j = {M, N, K, a, b, c, ldc, accumulate, pick_kernel(ctx ? ctx->isa : 0),
                  NULL, NULL, ctx ? ctx->pool : NULL, 1, false, true, ctx ? ctx->cancel : NULL};
    ls_pack_cache *pc = ctx ? ctx->packs : NULL;
    int threads = ctx && ctx->pool && thread < 0 ? ctx->threads : 1;
    if (threads > ls_pool_threads(j.pool))
        threads = ls_pool_threads(j.pool);
    /* a pool task (thread >= 0) must not run the pool again: it packs alone */
    j.ac = cached_pack(pc, a, 0, M, K, j.kd.mr, j.pool, threads);
    j.bc = cached_pack(pc, b, 1, N, K, j.kd.nr, j.pool, threads);
    if (ctx && ctx->pack_only)
        return true;
    /* below ~1 MFLOP a second thread costs more than it saves */
    if ((double)M * (double)N * (double)K < 5e5)
        threads = 1;
    if (threads > 1) {
        const int64_t mt = (M + j.kd.mr - 1) / j.kd.mr, nt = (N + j.kd.nr - 1) / j.kd.nr;
        /* split the dimension with more tiles; columns first, since each
         * thread then packs only its own part of B */
        j.split_n = nt >= 2 * threads || nt >= mt;
        const int64_t units = j.split_n ? nt : mt;
        j.tasks = (int)(units < threads ? units : threads);
        ls_pool_run(j.pool, j.tasks, gemm_task, &j, j.tasks);
    } else {
        if (thread < 0)
            thread = 0;
        scratch_ref s = {j.pool, thread, {NULL, NULL}};
        atomic_store(&j.ok, gemm_block(&j, &s, 0, M, 0, N));
        free(s.own[0]);
        free(s.own[1]);
    }
    return atomic_load(&j.ok);
}

bool ls_gemm_f32(int64_t M, int64_t N, int64_t K, const float *a, int64_t rsa, int64_t csa,
                 const float *b, int64_t rsb, int64_t csb, float *c, int64_t ldc,
                 bool accumulate)
{
    ls_gemm_op A = {a, rsa, csa, NULL, false}, B = {b, rsb, csb, NULL, false};
    return ls_gemm_ex(NULL, -1, M, N, K, &A, &B, c, ldc, accumulate);
}
