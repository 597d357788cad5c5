/* The fast kernels against the reference loops, on every ISA this CPU
 * has (AVX-512, AVX2, plain C), one thread and a pool, the pack cache on
 * and off: GEMM shapes that are not multiples of the tiles (12x32, 6x16,
 * 6x8) nor of the cache blocks (KC 256, MC 240), transposed and sliced
 * (strided) operands, batched and broadcast matmuls, conv1d/conv2d with
 * stride, padding and groups, and the element-wise fast paths.
 *
 * Tolerance |fast - ref| <= atol + rtol*|ref|, NaN/Inf placement first:
 * the reference accumulates in double, the kernels in float, so the
 * bound grows with K (rtol 1e-5 * sqrt-ish K is loose enough, 1e-3 abs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layerstep/kernels.h"
#include "layerstep/ops.h"

static double urand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static ls_tensor rnd(ls_arena *a, int nd, const int64_t *sh, uint64_t *seed)
{
    ls_tensor t;
    assert_int_equal(ls_tensor_alloc(a, LS_F32, nd, sh, &t, NULL), LS_OK);
    for (int64_t i = 0; i < ls_tensor_numel(&t); i++)
        ((float *)t.data)[i] = (float)urand(seed);
    return t;
}

static void expect_close(const ls_tensor *got, const ls_tensor *ref, double atol, double rtol,
                         const char *what)
{
    assert_true(ls_tensor_same_shape(got, ref));
    for (int64_t i = 0; i < ls_tensor_numel(ref); i++) {
        double g = ls_tensor_get_flat(got, i), r = ls_tensor_get_flat(ref, i);
        if (isnan(r) || isnan(g)) {
            if (isnan(r) != isnan(g))
                fail_msg("%s[%lld]: got %.9g, expected %.9g (NaN)", what, (long long)i, g, r);
            continue;
        }
        if (isinf(r) || isinf(g)) {
            if (g != r)
                fail_msg("%s[%lld]: got %.9g, expected %.9g (Inf)", what, (long long)i, g, r);
            continue;
        }
        if (fabs(g - r) > atol + rtol * fabs(r))
            fail_msg("%s[%lld]: got %.9g, expected %.9g (|diff| %.3g)", what, (long long)i, g,
                     r, fabs(g - r));
    }
}

/* Every (isa, threads, cache) setting the machine can run. */
typedef struct setting {
    ls_isa isa;
    int threads;
    bool cache;
} setting;

static int settings(setting *s)
{
    int n = 0;
    ls_isa best = ls_cpu_isa();
    for (int isa = LS_ISA_GENERIC; isa <= (int)best; isa++)
        for (int th = 1; th <= 2; th++)
            for (int c = 0; c < 2; c++)
                s[n++] = (setting){(ls_isa)isa, th, c};
    return n;
}

/* Runs op on the fast path under every setting and compares each with
 * the reference.  const_mask: inputs treated as weights (cacheable). */
static void check_op(ls_op op, const ls_op_params *p, const ls_tensor *const *in, int n_in,
                     unsigned const_mask, double atol, double rtol, const char *what)
{
    ls_arena *a = ls_arena_new(1 << 20);
    ls_error err = {0};
    ls_tensor ref, got;
    assert_int_equal(ls_op_infer(op, p, in, n_in, &ref, &err), LS_OK);
    assert_int_equal(ls_tensor_alloc(a, ref.dtype, ref.ndim, ref.shape, &ref, NULL), LS_OK);
    assert_int_equal(ls_tensor_alloc(a, ref.dtype, ref.ndim, ref.shape, &got, NULL), LS_OK);
    ls_op_ctx rctx = {.reference = true, .threads = 1};
    assert_int_equal(ls_op_compute(op, p, in, n_in, &ref, &rctx, &err), LS_OK);
    ls_pool *pool = ls_pool_new(2, NULL);
    assert_non_null(pool);
    setting s[16];
    int ns = settings(s);
    for (int k = 0; k < ns; k++) {
        ls_pack_cache *packs = s[k].cache ? ls_pack_cache_new() : NULL;
        ls_op_ctx ctx = {.threads = s[k].threads, .pool = s[k].threads > 1 ? pool : NULL,
                         .packs = packs, .isa = s[k].isa, .const_inputs = const_mask};
        char label[160];
        snprintf(label, sizeof label, "%s [%s, %d thread(s), cache %s]", what,
                 ls_isa_name(s[k].isa), s[k].threads, s[k].cache ? "on" : "off");
        /* ls_op_prepack packs exactly what the first compute would cache,
         * and writes nothing to out */
        size_t prepacked = 0;
        if (packs) {
            memset(got.data, 0xff, ls_tensor_nbytes(&got));
            ls_op_prepack(op, p, in, n_in, &got, &ctx);
            const unsigned char *g = got.data;
            for (size_t i = 0; i < ls_tensor_nbytes(&got); i++)
                if (g[i] != 0xff)
                    fail_msg("%s: ls_op_prepack wrote to out (byte %zu)", label, i);
            prepacked = ls_pack_cache_bytes(packs);
            if (op == LS_OP_LINEAR && (const_mask & 2u))
                assert_true(prepacked > 0); /* W^T is always cached */
        }
        /* twice: the second run reads the cached packs */
        for (int rep = 0; rep < 2; rep++) {
            memset(got.data, 0xff, ls_tensor_nbytes(&got)); /* NaN: every cell must be written */
            assert_int_equal(ls_op_compute(op, p, in, n_in, &got, &ctx, &err), LS_OK);
            expect_close(&got, &ref, atol, rtol, label);
            if (packs && ls_pack_cache_bytes(packs) != prepacked)
                fail_msg("%s: compute packed %zu bytes more than ls_op_prepack", label,
                         ls_pack_cache_bytes(packs) - prepacked);
        }
        ls_pack_cache_free(packs);
    }
    ls_pool_free(pool);
    ls_arena_free(a);
}

static void test_linear_odd_shapes(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(1 << 20);
    uint64_t seed = 1;
    /* rows x in -> out: tiles 12x32/6x16/6x8 and blocks KC=256, MC=240;
     * the last is big enough (out x in > 1e5) that the pool packs W in
     * (KC block, row chunk) tasks */
    static const int64_t shapes[][3] = {{1, 1, 1},    {5, 7, 3},     {13, 33, 17},
                                        {90, 512, 96}, {49, 100, 257}, {241, 40, 300},
                                        {7, 515, 33}, {13, 301, 517}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int64_t M = shapes[i][0], N = shapes[i][1], K = shapes[i][2];
        ls_tensor x = rnd(a, 2, (int64_t[]){M, K}, &seed);
        ls_tensor w = rnd(a, 2, (int64_t[]){N, K}, &seed);
        ls_tensor b = rnd(a, 1, (int64_t[]){N}, &seed);
        char what[64];
        snprintf(what, sizeof what, "linear %lldx%lldx%lld", (long long)M, (long long)N,
                 (long long)K);
        check_op(LS_OP_LINEAR, NULL, (const ls_tensor *[]){&x, &w, &b}, 3, 2u, 1e-4, 1e-4,
                 what);
        check_op(LS_OP_LINEAR, NULL, (const ls_tensor *[]){&x, &w}, 2, 2u, 1e-4, 1e-4, what);
    }
    ls_arena_free(a);
}

static void test_linear_strided(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(1 << 20);
    uint64_t seed = 2;
    /* x a transposed view [T,C] of [C,T], w a column slice of a wider matrix */
    ls_tensor xb = rnd(a, 3, (int64_t[]){2, 37, 29}, &seed), x, wb = rnd(a, 2, (int64_t[]){45, 80},
                                                                       &seed), w;
    assert_int_equal(ls_tensor_transpose(&xb, 1, 2, &x, NULL), LS_OK); /* [2,29,37] */
    assert_int_equal(ls_tensor_slice(&wb, 1, 3, 40, 1, &w, NULL), LS_OK);  /* [45,37] */
    check_op(LS_OP_LINEAR, NULL, (const ls_tensor *[]){&x, &w}, 2, 2u, 1e-4, 1e-4,
             "linear strided");
    /* every other row of x (a step-2 slice) and a transposed weight */
    ls_tensor xs, wt, wtb = rnd(a, 2, (int64_t[]){37, 45}, &seed);
    assert_int_equal(ls_tensor_slice(&x, 1, 0, 29, 2, &xs, NULL), LS_OK);
    assert_int_equal(ls_tensor_transpose(&wtb, 0, 1, &wt, NULL), LS_OK); /* [45,37] */
    check_op(LS_OP_LINEAR, NULL, (const ls_tensor *[]){&xs, &wt}, 2, 2u, 1e-4, 1e-4,
             "linear step-2 rows, transposed w");
    ls_arena_free(a);
}

static void test_matmul_batched(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(1 << 20);
    uint64_t seed = 3;
    /* attention-like: [B,H,T,d] @ [B,H,d,T] with k a transposed view */
    ls_tensor q = rnd(a, 4, (int64_t[]){2, 3, 19, 13}, &seed);
    ls_tensor kb = rnd(a, 4, (int64_t[]){2, 3, 23, 13}, &seed), kt;
    assert_int_equal(ls_tensor_transpose(&kb, 2, 3, &kt, NULL), LS_OK);
    check_op(LS_OP_MATMUL, NULL, (const ls_tensor *[]){&q, &kt}, 2, 0u, 1e-4, 1e-4,
             "matmul q k^T");
    /* broadcast batch: [3,1,M,K] @ [4,K,N] */
    ls_tensor x = rnd(a, 4, (int64_t[]){3, 1, 14, 35}, &seed);
    ls_tensor y = rnd(a, 3, (int64_t[]){4, 35, 33}, &seed);
    check_op(LS_OP_MATMUL, NULL, (const ls_tensor *[]){&x, &y}, 2, 0u, 1e-4, 1e-4,
             "matmul broadcast");
    /* one big 2-d product split over threads, b a weight */
    ls_tensor m = rnd(a, 2, (int64_t[]){61, 300}, &seed);
    ls_tensor w = rnd(a, 2, (int64_t[]){300, 70}, &seed);
    check_op(LS_OP_MATMUL, NULL, (const ls_tensor *[]){&m, &w}, 2, 2u, 2e-4, 1e-4,
             "matmul 61x70x300");
    ls_arena_free(a);
}

static void test_conv(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(1 << 20);
    uint64_t seed = 4;
    /* conv1d: {C, T, OC, K, stride, pad, groups} */
    static const int64_t c1[][7] = {{3, 50, 20, 10, 5, 0, 1}, {8, 31, 14, 3, 2, 1, 1},
                                    {12, 17, 12, 5, 1, 2, 4}, {16, 9, 16, 1, 1, 0, 1},
                                    {6, 11, 6, 7, 1, 3, 6},   {4, 13, 9, 1, 2, 1, 1}};
    for (size_t i = 0; i < sizeof c1 / sizeof c1[0]; i++) {
        const int64_t *c = c1[i];
        ls_tensor x = rnd(a, 3, (int64_t[]){2, c[0], c[1]}, &seed);
        ls_tensor w = rnd(a, 3, (int64_t[]){c[2], c[0] / c[6], c[3]}, &seed);
        ls_tensor b = rnd(a, 1, (int64_t[]){c[2]}, &seed);
        ls_op_params p = {.i = {c[4], c[5], c[6]}};
        char what[64];
        snprintf(what, sizeof what, "conv1d case %zu", i);
        check_op(LS_OP_CONV1D, &p, (const ls_tensor *[]){&x, &w, &b}, 3, 2u, 1e-4, 1e-4, what);
    }
    /* conv1d on a transposed input ([B,T,C] viewed as [B,C,T]) */
    ls_tensor xt = rnd(a, 3, (int64_t[]){1, 21, 10}, &seed), x;
    assert_int_equal(ls_tensor_transpose(&xt, 1, 2, &x, NULL), LS_OK);
    ls_tensor w = rnd(a, 3, (int64_t[]){18, 10, 1}, &seed);
    check_op(LS_OP_CONV1D, &(ls_op_params){.i = {1, 0, 1}}, (const ls_tensor *[]){&x, &w}, 2,
             2u, 1e-4, 1e-4, "conv1d 1x1 transposed input");
    /* conv2d like Conv2dSubsampling4, small: stride 2, and a padded one */
    ls_tensor x2 = rnd(a, 4, (int64_t[]){1, 3, 23, 17}, &seed);
    ls_tensor w2 = rnd(a, 4, (int64_t[]){13, 3, 3, 3}, &seed);
    ls_tensor b2 = rnd(a, 1, (int64_t[]){13}, &seed);
    check_op(LS_OP_CONV2D, &(ls_op_params){.i = {2, 0}}, (const ls_tensor *[]){&x2, &w2, &b2}, 3,
             2u, 1e-4, 1e-4, "conv2d stride 2");
    check_op(LS_OP_CONV2D, &(ls_op_params){.i = {1, 1}}, (const ls_tensor *[]){&x2, &w2}, 2, 2u,
             1e-4, 1e-4, "conv2d pad 1");
    /* few taps (C*KH*KW <= 16: explicit im2col, one write per output), as
     * in the first conv of Conv2dSubsampling (1 channel, 3x3, stride 2)
     * and of wav2vec2's extractor (1 channel, K=10, stride 5): two batch
     * items, more positions than one block (2048) with a tail, fewer
     * output channels than pool tasks, and a permuted weight */
    ls_tensor x3 = rnd(a, 4, (int64_t[]){2, 1, 37, 29}, &seed);
    ls_tensor w3 = rnd(a, 4, (int64_t[]){21, 1, 3, 3}, &seed);
    ls_tensor b3 = rnd(a, 1, (int64_t[]){21}, &seed);
    check_op(LS_OP_CONV2D, &(ls_op_params){.i = {2, 0}}, (const ls_tensor *[]){&x3, &w3, &b3}, 3,
             2u, 1e-5, 1e-5, "conv2d 1 channel stride 2");
    ls_tensor x4 = rnd(a, 4, (int64_t[]){1, 1, 61, 45}, &seed);
    ls_tensor w4b = rnd(a, 4, (int64_t[]){3, 3, 1, 7}, &seed), w4;
    assert_int_equal(ls_tensor_permute(&w4b, (const int[]){3, 2, 0, 1}, &w4, NULL), LS_OK);
    check_op(LS_OP_CONV2D, &(ls_op_params){.i = {1, 1}}, (const ls_tensor *[]){&x4, &w4}, 2, 2u,
             1e-5, 1e-5, "conv2d 1 channel pad 1, permuted weight");
    ls_tensor x5 = rnd(a, 3, (int64_t[]){2, 1, 403}, &seed);
    ls_tensor w5 = rnd(a, 3, (int64_t[]){33, 1, 10}, &seed);
    check_op(LS_OP_CONV1D, &(ls_op_params){.i = {5, 0, 1}}, (const ls_tensor *[]){&x5, &w5}, 2,
             2u, 1e-5, 1e-5, "conv1d 1 channel K=10 stride 5");
    ls_tensor x6 = rnd(a, 4, (int64_t[]){1, 1, 363, 80}, &seed);
    ls_tensor w6 = rnd(a, 4, (int64_t[]){64, 1, 3, 3}, &seed);
    ls_tensor b6 = rnd(a, 1, (int64_t[]){64}, &seed);
    check_op(LS_OP_CONV2D, &(ls_op_params){.i = {2, 0}}, (const ls_tensor *[]){&x6, &w6, &b6}, 3,
             2u, 1e-5, 1e-5, "conv2d fbank-sized 1 channel stride 2");
    ls_arena_free(a);
}

static void test_elementwise(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(1 << 20);
    uint64_t seed = 5;
    /* more than one pool chunk (16384), not a multiple of it */
    ls_tensor x = rnd(a, 2, (int64_t[]){7, 5003}, &seed);
    ls_tensor y = rnd(a, 2, (int64_t[]){7, 5003}, &seed);
    /* the whole range of the maps: tails of sigmoid/erf, exp's
     * overflow (|x| > 88) and underflow, NaN and both infinities */
    float *xd = x.data;
    for (int64_t i = 0; i < ls_tensor_numel(&x); i += 3)
        xd[i] *= 12.0f;
    for (int64_t i = 1; i < ls_tensor_numel(&x); i += 97)
        xd[i] *= 120.0f;
    xd[3] = NAN;
    xd[5] = INFINITY;
    xd[6] = -INFINITY;
    /* exact in float: the same bits on every path */
    static const ls_op exact[] = {LS_OP_RELU, LS_OP_SCALE, LS_OP_ADD_SCALAR, LS_OP_DIV_SCALAR};
    ls_op_params p = {.f = {0.37f}};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        check_op(exact[i], &p, (const ls_tensor *[]){&x}, 1, 0u, 0, 0, ls_op_name(exact[i]));
    /* float32 exp/erf against the double reference: a few ulp */
    static const ls_op tr[] = {LS_OP_SILU, LS_OP_SIGMOID, LS_OP_GELU};
    for (size_t i = 0; i < sizeof tr / sizeof tr[0]; i++)
        check_op(tr[i], &p, (const ls_tensor *[]){&x}, 1, 0u, 1e-7, 2e-6, ls_op_name(tr[i]));
    static const ls_op bin[] = {LS_OP_ADD, LS_OP_SUB, LS_OP_MUL, LS_OP_DIV};
    for (size_t i = 0; i < sizeof bin / sizeof bin[0]; i++)
        check_op(bin[i], NULL, (const ls_tensor *[]){&x, &y}, 2, 0u, 0, 0, ls_op_name(bin[i]));
    /* a strided input takes the reference path and still agrees */
    ls_tensor xt;
    assert_int_equal(ls_tensor_transpose(&x, 0, 1, &xt, NULL), LS_OK);
    check_op(LS_OP_SILU, NULL, (const ls_tensor *[]){&xt}, 1, 0u, 0, 0, "silu transposed");
    ls_arena_free(a);
}

static void test_row_ops(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(1 << 22);
    uint64_t seed = 6;
    /* row lengths around the vector widths (8, 16) and the attention's 90 */
    static const int64_t lens[] = {1, 7, 16, 33, 90, 512};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        const int64_t n = lens[k];
        char what[64];
        ls_tensor x = rnd(a, 3, (int64_t[]){3, 41, n}, &seed);
        float *xd = x.data;
        for (int64_t i = 0; i < ls_tensor_numel(&x); i++)
            xd[i] = xd[i] * 8.0f + 3.0f; /* an offset the moments must remove */
        /* softmax: masked rows (-inf), a row of -inf (NaN), a NaN row,
         * a row of -1e9 (uniform) */
        ls_tensor s = rnd(a, 3, (int64_t[]){3, 41, n}, &seed);
        float *sd = s.data;
        for (int64_t i = 0; i < ls_tensor_numel(&s); i++)
            sd[i] = (i % 5 == 4) ? -INFINITY : sd[i] * 30.0f;
        for (int64_t j = 0; j < n; j++) {
            sd[1 * n + j] = -INFINITY;
            sd[3 * n + j] = -1e9f;
        }
        sd[2 * n + n / 2] = NAN;
        snprintf(what, sizeof what, "softmax rows of %lld", (long long)n);
        check_op(LS_OP_SOFTMAX, NULL, (const ls_tensor *[]){&s}, 1, 0u, 1e-7, 1e-5, what);
        /* layer_norm with and without weight and bias */
        ls_tensor w = rnd(a, 1, (int64_t[]){n}, &seed), b = rnd(a, 1, (int64_t[]){n}, &seed);
        snprintf(what, sizeof what, "layer_norm D=%lld", (long long)n);
        ls_op_params ln = {.i = {1, 1}, .f = {1e-5f}};
        check_op(LS_OP_LAYER_NORM, &ln, (const ls_tensor *[]){&x, &w, &b}, 3, 0u, 2e-5, 1e-5,
                 what);
        ls_op_params ln0 = {.i = {0, 0}, .f = {1e-12f}};
        check_op(LS_OP_LAYER_NORM, &ln0, (const ls_tensor *[]){&x}, 1, 0u, 2e-5, 1e-5, what);
        /* GLU on the last dim (needs an even one) and on dim 1 */
        ls_tensor g = rnd(a, 3, (int64_t[]){2, 6, 2 * n}, &seed);
        float *gd = g.data;
        for (int64_t i = 0; i < ls_tensor_numel(&g); i++)
            gd[i] *= 20.0f;
        snprintf(what, sizeof what, "glu last dim, half %lld", (long long)n);
        check_op(LS_OP_GLU, &(ls_op_params){.i = {-1}}, (const ls_tensor *[]){&g}, 1, 0u, 1e-7,
                 2e-6, what);
        check_op(LS_OP_GLU, &(ls_op_params){.i = {1}}, (const ls_tensor *[]){&g}, 1, 0u, 1e-7,
                 2e-6, "glu dim 1");
        /* batch_norm (eval) on [B,C,T], affine and not */
        ls_tensor mean = rnd(a, 1, (int64_t[]){41}, &seed), var = rnd(a, 1, (int64_t[]){41}, &seed);
        ls_tensor bw = rnd(a, 1, (int64_t[]){41}, &seed), bb = rnd(a, 1, (int64_t[]){41}, &seed);
        float *vd = var.data;
        for (int i = 0; i < 41; i++)
            vd[i] = vd[i] * vd[i] + 0.1f;
        snprintf(what, sizeof what, "batch_norm T=%lld", (long long)n);
        check_op(LS_OP_BATCH_NORM, &(ls_op_params){.f = {1e-5f}},
                 (const ls_tensor *[]){&x, &mean, &var, &bw, &bb}, 5, 0u, 1e-5, 1e-5, what);
        check_op(LS_OP_BATCH_NORM, &(ls_op_params){.f = {1e-3f}},
                 (const ls_tensor *[]){&x, &mean, &var}, 3, 0u, 1e-5, 1e-5, what);
        /* group_norm on [B,12,T]: one channel per group (wav2vec2's
         * feature extractor), 4 groups, one group; affine and not */
        ls_tensor gx = rnd(a, 3, (int64_t[]){2, 12, n}, &seed);
        float *gxd = gx.data;
        for (int64_t i = 0; i < ls_tensor_numel(&gx); i++)
            gxd[i] = gxd[i] * 5.0f - 2.0f;
        ls_tensor gw = rnd(a, 1, (int64_t[]){12}, &seed), gb = rnd(a, 1, (int64_t[]){12}, &seed);
        static const int64_t gs[] = {12, 4, 1};
        for (int k2 = 0; k2 < 3; k2++) {
            snprintf(what, sizeof what, "group_norm T=%lld groups=%lld", (long long)n,
                     (long long)gs[k2]);
            ls_op_params gp = {.i = {gs[k2]}, .f = {1e-5f}};
            check_op(LS_OP_GROUP_NORM, &gp, (const ls_tensor *[]){&gx, &gw, &gb}, 3, 0u, 2e-5,
                     1e-5, what);
            check_op(LS_OP_GROUP_NORM, &gp, (const ls_tensor *[]){&gx}, 1, 0u, 2e-5, 1e-5, what);
        }
    }
    /* depthwise conv1d as in the Conformer's conv module: K=15, pad 7,
     * rows long enough for the vector loop */
    ls_tensor x = rnd(a, 3, (int64_t[]){2, 9, 93}, &seed);
    ls_tensor w = rnd(a, 3, (int64_t[]){9, 1, 15}, &seed), b = rnd(a, 1, (int64_t[]){9}, &seed);
    check_op(LS_OP_CONV1D, &(ls_op_params){.i = {1, 7, 9}}, (const ls_tensor *[]){&x, &w, &b}, 3,
             2u, 1e-5, 1e-5, "depthwise conv1d K=15");
    /* weight_norm keeps the reference's double sums in the same order:
     * the same bits, on the last dim (wav2vec2's pos_conv) and inner ones */
    ls_tensor v = rnd(a, 3, (int64_t[]){6, 5, 37}, &seed);
    for (int dim = 0; dim < 3; dim++) {
        int64_t gsh[3] = {1, 1, 1};
        gsh[dim] = v.shape[dim];
        ls_tensor g = rnd(a, 3, gsh, &seed);
        char what[64];
        snprintf(what, sizeof what, "weight_norm dim %d", dim);
        check_op(LS_OP_WEIGHT_NORM, &(ls_op_params){.i = {dim}}, (const ls_tensor *[]){&v, &g},
                 2, 0u, 0, 0, what);
    }
    ls_arena_free(a);
}

static void count_task(void *ud, int task, int thread)
{
    (void)thread;
    ((int *)ud)[task]++; /* each task index is run by exactly one thread */
}

static void test_pool_runs_every_task(void **state)
{
    (void)state;
    ls_pool *p = ls_pool_new(3, NULL);
    assert_non_null(p);
    static int hits[257];
    memset(hits, 0, sizeof hits);
    /* many short runs back to back (wake-up races), task counts around
     * the thread count */
    for (int rep = 0; rep < 2000; rep++)
        ls_pool_run(p, 3, count_task, hits, 1 + rep % 257);
    for (int t = 0; t < 257; t++) {
        int want = 0;
        for (int rep = 0; rep < 2000; rep++)
            want += t < 1 + rep % 257;
        assert_int_equal(hits[t], want);
    }
    ls_pool_free(p);
}

static void thread_task(void *ud, int task, int thread)
{
    ((int *)ud)[task] = thread;
}

/* `threads` caps who may take tasks: a run limited to one thread runs on
 * the caller only, whatever the pool's size; and tasks of one run are
 * never taken by a thread still busy with an older one (every index is
 * written by exactly one run). */
static void test_pool_thread_limit(void **state)
{
    (void)state;
    ls_pool *p = ls_pool_new(3, NULL);
    assert_non_null(p);
    int who[64];
    for (int rep = 0; rep < 500; rep++) {
        memset(who, -1, sizeof who);
        int lim = 1 + rep % 3, n = 1 + rep % 64;
        ls_pool_run(p, lim, thread_task, who, n);
        for (int t = 0; t < n; t++) {
            assert_true(who[t] >= 0);
            assert_true(who[t] < lim);
        }
        for (int t = n; t < 64; t++)
            assert_int_equal(who[t], -1);
    }
    ls_pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_odd_shapes),
        cmocka_unit_test(test_linear_strided),
        cmocka_unit_test(test_matmul_batched),
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_elementwise),
        cmocka_unit_test(test_row_ops),
        cmocka_unit_test(test_pool_runs_every_task),
        cmocka_unit_test(test_pool_thread_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
