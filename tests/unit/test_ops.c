/* Every op on hand-checked values, on strided and odd-shaped inputs, the
 * fast kernels against the reference loops, and ls_op_infer's error paths.
 *
 * Hand values are worked out in the comment beside each case.  The
 * fast-vs-reference checks use |got - ref| <= atol + rtol*|ref| after
 * checking that NaN and Inf appear in the same places.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layerstep/ops.h"

/* ---- helpers ---- */

/* Tensor of shape sh filled from vals (row-major), or zeros when NULL. */
static ls_tensor mk(ls_arena *a, ls_dtype dt, int nd, const int64_t *sh, const double *vals)
{
    ls_tensor t;
    assert_int_equal(ls_tensor_alloc(a, dt, nd, sh, &t, NULL), LS_OK);
    if (vals)
        for (int64_t i = 0; i < ls_tensor_numel(&t); i++)
            ls_tensor_set_flat(&t, i, vals[i]);
    return t;
}

/* splitmix64: the state lives in the caller, so tests stay independent. */
static double urand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0 * 2.0 - 1.0; /* [-1, 1) */
}

static ls_tensor rnd(ls_arena *a, int nd, const int64_t *sh, uint64_t *seed)
{
    ls_tensor t = mk(a, LS_F32, nd, sh, NULL);
    for (int64_t i = 0; i < ls_tensor_numel(&t); i++)
        ((float *)t.data)[i] = (float)urand(seed);
    return t;
}

/* infer + alloc + compute; returns the status of the first failing step. */
static int run(ls_arena *a, ls_op op, const ls_op_params *p, const ls_tensor *const *in, int n,
               bool reference, ls_tensor *out, ls_error *err)
{
    ls_tensor o;
    int rc = ls_op_infer(op, p, in, n, &o, err);
    if (rc)
        return rc;
    if ((rc = ls_tensor_alloc(a, o.dtype, o.ndim, o.shape, &o, err)))
        return rc;
    ls_op_ctx ctx = {.reference = reference, .threads = 1};
    rc = ls_op_compute(op, p, in, n, &o, &ctx, err);
    *out = o;
    return rc;
}

static void expect_close_t(const ls_tensor *got, const ls_tensor *ref, double atol, double rtol,
                           const char *what);

/* Runs op with the fast path and with the reference loops, checks they
 * agree, and returns the fast result. */
static ls_tensor run_ok(ls_arena *a, ls_op op, const ls_op_params *p, const ls_tensor *const *in,
                        int n)
{
    ls_tensor o, r;
    ls_error err = {0};
    if (run(a, op, p, in, n, false, &o, &err) != LS_OK)
        fail_msg("%s failed: %s", ls_op_name(op), err.msg);
    if (run(a, op, p, in, n, true, &r, &err) != LS_OK)
        fail_msg("%s (reference) failed: %s", ls_op_name(op), err.msg);
    expect_close_t(&o, &r, 1e-6, 1e-6, ls_op_name(op));
    return o;
}

/* NaN/Inf placement first, then atol + rtol*|ref|. */
static void expect_close_t(const ls_tensor *got, const ls_tensor *ref, double atol, double rtol,
                           const char *what)
{
    assert_int_equal(got->dtype, ref->dtype);
    assert_true(ls_tensor_same_shape(got, ref));
    int64_t n = ls_tensor_numel(ref);
    for (int64_t i = 0; i < n; i++) {
        double g = ls_tensor_get_flat(got, i), r = ls_tensor_get_flat(ref, i);
        if (isnan(r) || isnan(g)) {
            if (isnan(r) != isnan(g))
                fail_msg("%s[%lld]: got %.9g, expected %.9g (NaN mismatch)", what, (long long)i,
                         g, r);
            continue;
        }
        if (isinf(r) || isinf(g)) {
            if (g != r)
                fail_msg("%s[%lld]: got %.9g, expected %.9g (Inf mismatch)", what, (long long)i,
                         g, r);
            continue;
        }
        if (fabs(g - r) > atol + rtol * fabs(r))
            fail_msg("%s[%lld]: got %.9g, expected %.9g (|diff| %.3g)", what, (long long)i, g, r,
                     fabs(g - r));
    }
}

static void expect_vals(const ls_tensor *got, const double *want, int64_t n, double tol,
                        const char *what)
{
    assert_int_equal(ls_tensor_numel(got), n);
    for (int64_t i = 0; i < n; i++) {
        double g = ls_tensor_get_flat(got, i);
        bool ok = isnan(want[i]) ? isnan(g) : (g == want[i] || fabs(g - want[i]) <= tol);
        if (!ok)
            fail_msg("%s[%lld]: got %.9g, expected %.9g", what, (long long)i, g, want[i]);
    }
}

/* Runs an op with the fast path and with the reference loops and
 * compares them. */
static void fast_vs_ref(ls_arena *a, ls_op op, const ls_op_params *p, const ls_tensor *const *in,
                        int n, const char *what)
{
    ls_tensor f, r;
    ls_error err = {0};
    if (run(a, op, p, in, n, false, &f, &err) != LS_OK)
        fail_msg("%s (fast): %s", what, err.msg);
    if (run(a, op, p, in, n, true, &r, &err) != LS_OK)
        fail_msg("%s (ref): %s", what, err.msg);
    expect_close_t(&f, &r, 1e-5, 1e-4, what);
}

/* ---- the table ---- */

static void test_names_and_kinds(void **state)
{
    (void)state;
    for (int i = 0; i < LS_OP_COUNT; i++) {
        const char *n = ls_op_name((ls_op)i);
        assert_non_null(n);
        assert_string_not_equal(n, "?");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(n, ls_op_name((ls_op)j));
    }
    assert_string_equal(ls_op_name(LS_OP_MATMUL), "matmul");
    assert_string_equal(ls_op_name(LS_OP_CONV2D), "conv2d");
    assert_string_equal(ls_op_name(LS_OP_COUNT), "?");
    assert_int_equal(ls_op_kind_of(LS_OP_CONST), LS_KIND_LEAF);
    assert_int_equal(ls_op_kind_of(LS_OP_EXPAND), LS_KIND_VIEW);
    assert_int_equal(ls_op_kind_of(LS_OP_CONTIGUOUS), LS_KIND_COMPUTE);

    char buf[128];
    ls_op_params p = {.i = {2, 0, 1}};
    ls_op_params_str(LS_OP_CONV1D, &p, 3, buf, sizeof buf);
    assert_non_null(strstr(buf, "stride=2, pad=0, groups=1"));
    p = (ls_op_params){.i = {3, 2, -1, 8}};
    ls_op_params_str(LS_OP_RESHAPE, &p, 1, buf, sizeof buf);
    assert_string_equal(buf, "shape=[2, -1, 8]");
    ls_op_params_str(LS_OP_RELU, &p, 1, buf, sizeof buf);
    assert_string_equal(buf, "");
    ls_op_params_str(LS_OP_SLICE, &p, 1, buf, 4); /* truncates, no overflow */
    assert_int_equal(strlen(buf), 3);
}

/* ---- matmul / linear ---- */

static void test_matmul_hand(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    /* [[1,2,3],[4,5,6]] @ [[7,8],[9,10],[11,12]]
     *   = [[7+18+33, 8+20+36], [28+45+66, 32+50+72]] = [[58,64],[139,154]] */
    ls_tensor x = mk(a, LS_F32, 2, (int64_t[]){2, 3}, (double[]){1, 2, 3, 4, 5, 6});
    ls_tensor y = mk(a, LS_F32, 2, (int64_t[]){3, 2}, (double[]){7, 8, 9, 10, 11, 12});
    for (int ref = 0; ref < 2; ref++) {
        ls_tensor o;
        assert_int_equal(run(a, LS_OP_MATMUL, NULL, (const ls_tensor *[]){&x, &y}, 2, ref, &o, NULL),
                         LS_OK);
        expect_vals(&o, (double[]){58, 64, 139, 154}, 4, 0, "matmul");
    }
    /* Batch broadcast: a [1,2,2] @ b [2,2,2]; b[0] = I gives a back,
     * b[1] = [[0,1],[1,0]] swaps a's columns: [[2,1],[4,3]]. */
    ls_tensor a3 = mk(a, LS_F32, 3, (int64_t[]){1, 2, 2}, (double[]){1, 2, 3, 4});
    ls_tensor b3 = mk(a, LS_F32, 3, (int64_t[]){2, 2, 2}, (double[]){1, 0, 0, 1, 0, 1, 1, 0});
    for (int ref = 0; ref < 2; ref++) {
        ls_tensor o;
        assert_int_equal(run(a, LS_OP_MATMUL, NULL, (const ls_tensor *[]){&a3, &b3}, 2, ref, &o, NULL),
                         LS_OK);
        assert_int_equal(o.ndim, 3);
        assert_int_equal(o.shape[0], 2);
        expect_vals(&o, (double[]){1, 2, 3, 4, 2, 1, 4, 3}, 8, 0, "matmul bcast");
    }
    /* A transposed view as b: y^T is [2,3] with strides (1,2);
     * x @ (x^T) = [[1+4+9, 4+10+18], [.., 16+25+36]] = [[14,32],[32,77]] */
    ls_tensor xt;
    assert_int_equal(ls_tensor_transpose(&x, 0, 1, &xt, NULL), LS_OK);
    for (int ref = 0; ref < 2; ref++) {
        ls_tensor o;
        assert_int_equal(run(a, LS_OP_MATMUL, NULL, (const ls_tensor *[]){&x, &xt}, 2, ref, &o, NULL),
                         LS_OK);
        expect_vals(&o, (double[]){14, 32, 32, 77}, 4, 0, "matmul x x^T");
    }
    ls_arena_free(a);
}

static void test_matmul_fast_vs_ref(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    uint64_t seed = 1;
    /* odd sizes, then sizes just past every block edge (MC=72, KC=256, NC=512) */
    const int64_t dims[][3] = {{3, 5, 7}, {1, 1, 1}, {13, 17, 19}, {6, 8, 8}, {75, 260, 515}};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        ls_tensor x = rnd(a, 2, (int64_t[]){dims[i][0], dims[i][1]}, &seed);
        ls_tensor y = rnd(a, 2, (int64_t[]){dims[i][1], dims[i][2]}, &seed);
        fast_vs_ref(a, LS_OP_MATMUL, NULL, (const ls_tensor *[]){&x, &y}, 2, "matmul");
    }
    /* strided operands: q [2,3,5,4] view of [2,5,3,4]; k^T from a
     * transposed view; batch broadcast [2,1,..] @ [3,..] */
    ls_tensor q0 = rnd(a, 4, (int64_t[]){2, 5, 3, 4}, &seed), q, k, kt;
    assert_int_equal(ls_tensor_transpose(&q0, 1, 2, &q, NULL), LS_OK);
    ls_tensor k0 = rnd(a, 4, (int64_t[]){2, 7, 3, 4}, &seed);
    assert_int_equal(ls_tensor_permute(&k0, (int[]){0, 2, 3, 1}, &kt, NULL), LS_OK); /* [2,3,4,7] */
    fast_vs_ref(a, LS_OP_MATMUL, NULL, (const ls_tensor *[]){&q, &kt}, 2, "matmul q k^T");
    ls_tensor b1 = rnd(a, 4, (int64_t[]){2, 1, 5, 9}, &seed);
    k = rnd(a, 3, (int64_t[]){3, 9, 11}, &seed);
    ls_tensor o;
    assert_int_equal(run(a, LS_OP_MATMUL, NULL, (const ls_tensor *[]){&b1, &k}, 2, false, &o, NULL),
                     LS_OK);
    assert_int_equal(o.ndim, 4);
    assert_int_equal(o.shape[1], 3);
    fast_vs_ref(a, LS_OP_MATMUL, NULL, (const ls_tensor *[]){&b1, &k}, 2, "matmul bcast");
    ls_arena_free(a);
}

static void test_linear(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    /* x [[1,2,3],[4,5,6]], w [[1,0,-1],[.5,.5,.5]], b [1,-1]
     *   row 0: 1-3+1 = -1,  0.5*6-1 = 2
     *   row 1: 4-6+1 = -1,  0.5*15-1 = 6.5 */
    ls_tensor x = mk(a, LS_F32, 2, (int64_t[]){2, 3}, (double[]){1, 2, 3, 4, 5, 6});
    ls_tensor w = mk(a, LS_F32, 2, (int64_t[]){2, 3}, (double[]){1, 0, -1, .5, .5, .5});
    ls_tensor b = mk(a, LS_F32, 1, (int64_t[]){2}, (double[]){1, -1});
    for (int ref = 0; ref < 2; ref++) {
        ls_tensor o;
        assert_int_equal(run(a, LS_OP_LINEAR, NULL, (const ls_tensor *[]){&x, &w, &b}, 3, ref, &o, NULL),
                         LS_OK);
        expect_vals(&o, (double[]){-1, 2, -1, 6.5}, 4, 0, "linear");
        assert_int_equal(run(a, LS_OP_LINEAR, NULL, (const ls_tensor *[]){&x, &w}, 2, ref, &o, NULL),
                         LS_OK);
        expect_vals(&o, (double[]){-2, 3, -2, 7.5}, 4, 0, "linear no bias");
    }
    uint64_t seed = 7;
    ls_tensor x3 = rnd(a, 3, (int64_t[]){2, 5, 7}, &seed), w3 = rnd(a, 2, (int64_t[]){9, 7}, &seed);
    ls_tensor b3 = rnd(a, 1, (int64_t[]){9}, &seed);
    fast_vs_ref(a, LS_OP_LINEAR, NULL, (const ls_tensor *[]){&x3, &w3, &b3}, 3, "linear 3d");
    fast_vs_ref(a, LS_OP_LINEAR, NULL, (const ls_tensor *[]){&x3, &w3}, 2, "linear 3d nobias");
    /* strided x ([5,2,7] transposed view: leading dims do not collapse) */
    ls_tensor xt;
    assert_int_equal(ls_tensor_transpose(&x3, 0, 1, &xt, NULL), LS_OK);
    fast_vs_ref(a, LS_OP_LINEAR, NULL, (const ls_tensor *[]){&xt, &w3, &b3}, 3, "linear strided");
    /* 4-d x, a 1-d x, and a transposed weight */
    ls_tensor x4 = rnd(a, 4, (int64_t[]){2, 3, 4, 7}, &seed);
    fast_vs_ref(a, LS_OP_LINEAR, NULL, (const ls_tensor *[]){&x4, &w3, &b3}, 3, "linear 4d");
    ls_tensor x1 = rnd(a, 1, (int64_t[]){7}, &seed);
    fast_vs_ref(a, LS_OP_LINEAR, NULL, (const ls_tensor *[]){&x1, &w3, &b3}, 3, "linear 1d");
    ls_tensor wt0 = rnd(a, 2, (int64_t[]){7, 9}, &seed), wt;
    assert_int_equal(ls_tensor_transpose(&wt0, 0, 1, &wt, NULL), LS_OK);
    fast_vs_ref(a, LS_OP_LINEAR, NULL, (const ls_tensor *[]){&x3, &wt, &b3}, 3, "linear w^T");
    ls_tensor xb = rnd(a, 3, (int64_t[]){3, 77, 300}, &seed), wb = rnd(a, 2, (int64_t[]){130, 300}, &seed);
    fast_vs_ref(a, LS_OP_LINEAR, NULL, (const ls_tensor *[]){&xb, &wb}, 2, "linear big");
    ls_arena_free(a);
}

/* ---- element-wise ---- */

static void test_binary(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    /* [2,3] op [3]: rows [1,2,3],[4,5,6] with [10,20,30] */
    ls_tensor x = mk(a, LS_F32, 2, (int64_t[]){2, 3}, (double[]){1, 2, 3, 4, 5, 6});
    ls_tensor r = mk(a, LS_F32, 1, (int64_t[]){3}, (double[]){10, 20, 30});
    ls_tensor c = mk(a, LS_F32, 2, (int64_t[]){2, 1}, (double[]){2, 4});
    const ls_tensor *xr[] = {&x, &r}, *xc[] = {&x, &c}, *cr[] = {&c, &r};
    ls_tensor o = run_ok(a, LS_OP_ADD, NULL, xr, 2);
    expect_vals(&o, (double[]){11, 22, 33, 14, 25, 36}, 6, 0, "add");
    o = run_ok(a, LS_OP_SUB, NULL, xr, 2);
    expect_vals(&o, (double[]){-9, -18, -27, -6, -15, -24}, 6, 0, "sub");
    o = run_ok(a, LS_OP_MUL, NULL, xc, 2); /* row 0 * 2, row 1 * 4 */
    expect_vals(&o, (double[]){2, 4, 6, 16, 20, 24}, 6, 0, "mul");
    o = run_ok(a, LS_OP_DIV, NULL, xc, 2);
    expect_vals(&o, (double[]){.5, 1, 1.5, 1, 1.25, 1.5}, 6, 0, "div");
    /* both sides broadcast: [2,1] + [3] -> [2,3] */
    o = run_ok(a, LS_OP_ADD, NULL, cr, 2);
    assert_int_equal(o.shape[0], 2);
    assert_int_equal(o.shape[1], 3);
    expect_vals(&o, (double[]){12, 22, 32, 14, 24, 34}, 6, 0, "add 2-way");
    /* strided: x^T [3,2] - x^T */
    ls_tensor xt;
    assert_int_equal(ls_tensor_transpose(&x, 0, 1, &xt, NULL), LS_OK);
    o = run_ok(a, LS_OP_MUL, NULL, (const ls_tensor *[]){&xt, &xt}, 2);
    expect_vals(&o, (double[]){1, 16, 4, 25, 9, 36}, 6, 0, "mul strided");
    /* 0-d scalar tensor broadcasts to anything */
    ls_tensor s = mk(a, LS_F32, 0, NULL, (double[]){3});
    o = run_ok(a, LS_OP_SUB, NULL, (const ls_tensor *[]){&s, &x}, 2);
    expect_vals(&o, (double[]){2, 1, 0, -1, -2, -3}, 6, 0, "scalar - x");
    /* int64 add stays int64 */
    ls_tensor i1 = mk(a, LS_I64, 1, (int64_t[]){3}, (double[]){5, 6, 7});
    ls_tensor i2 = mk(a, LS_I64, 0, NULL, (double[]){-2});
    o = run_ok(a, LS_OP_ADD, NULL, (const ls_tensor *[]){&i1, &i2}, 2);
    assert_int_equal(o.dtype, LS_I64);
    expect_vals(&o, (double[]){3, 4, 5}, 3, 0, "add i64");
    /* logical_or [2,1] | [3] */
    ls_tensor m1 = mk(a, LS_BOOL, 2, (int64_t[]){2, 1}, (double[]){0, 1});
    ls_tensor m2 = mk(a, LS_BOOL, 1, (int64_t[]){3}, (double[]){1, 0, 0});
    o = run_ok(a, LS_OP_LOGICAL_OR, NULL, (const ls_tensor *[]){&m1, &m2}, 2);
    assert_int_equal(o.dtype, LS_BOOL);
    expect_vals(&o, (double[]){1, 0, 0, 1, 1, 1}, 6, 0, "logical_or");
    o = run_ok(a, LS_OP_LOGICAL_NOT, NULL, (const ls_tensor *[]){&m2}, 1);
    expect_vals(&o, (double[]){0, 1, 1}, 3, 0, "logical_not");
    ls_arena_free(a);
}

static void test_scalar_ops(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    ls_tensor x = mk(a, LS_F32, 1, (int64_t[]){3}, (double[]){1, -2, 0.5});
    ls_op_params p = {.f = {4}};
    ls_tensor o = run_ok(a, LS_OP_SCALE, &p, (const ls_tensor *[]){&x}, 1);
    expect_vals(&o, (double[]){4, -8, 2}, 3, 0, "scale");
    o = run_ok(a, LS_OP_ADD_SCALAR, &p, (const ls_tensor *[]){&x}, 1);
    expect_vals(&o, (double[]){5, 2, 4.5}, 3, 0, "add_scalar");
    o = run_ok(a, LS_OP_DIV_SCALAR, &p, (const ls_tensor *[]){&x}, 1);
    expect_vals(&o, (double[]){.25, -.5, .125}, 3, 0, "div_scalar");

    /* div_scalar must be a true float32 division: on many values x / 3
     * and x * (1/3) round differently; the op must match the former
     * bit for bit everywhere. */
    const int n = 1000;
    ls_tensor y = mk(a, LS_F32, 1, (int64_t[]){n}, NULL);
    for (int i = 0; i < n; i++)
        ((float *)y.data)[i] = 1.0f + (float)i * 0.37f;
    const float f = 3.0f; /* 1/3 is inexact */
    p.f[0] = f;
    o = run_ok(a, LS_OP_DIV_SCALAR, &p, (const ls_tensor *[]){&y}, 1);
    int differ = 0;
    for (int i = 0; i < n; i++) {
        float v = ((float *)y.data)[i];
        volatile float q = v / f, r = v * (1.0f / f);
        assert_true(((float *)o.data)[i] == q);
        differ += q != r;
    }
    assert_true(differ > 0); /* the check above can tell the two apart */
    ls_arena_free(a);
}

static void test_activations(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    ls_tensor x = mk(a, LS_F32, 1, (int64_t[]){4}, (double[]){-1, 0, 1, 2});
    const ls_tensor *in[] = {&x};
    ls_tensor o = run_ok(a, LS_OP_RELU, NULL, in, 1);
    expect_vals(&o, (double[]){0, 0, 1, 2}, 4, 0, "relu");
    /* gelu(x) = x/2 (1 + erf(x/sqrt2)): erf(0.70710678) = 0.68268949,
     * erf(1.41421356) = 0.95449974 */
    /* (the fast paths evaluate exp/erf in float32: 2 ulp of 2 is 2.4e-7) */
    o = run_ok(a, LS_OP_GELU, NULL, in, 1);
    expect_vals(&o, (double[]){-0.15865525, 0, 0.84134475, 1.95449974}, 4, 2.5e-7, "gelu");
    /* sigmoid(1) = 1/(1+e^-1) = 0.73105858, sigmoid(2) = 0.88079708 */
    o = run_ok(a, LS_OP_SIGMOID, NULL, in, 1);
    expect_vals(&o, (double[]){0.26894142, 0.5, 0.73105858, 0.88079708}, 4, 2.5e-7, "sigmoid");
    o = run_ok(a, LS_OP_SILU, NULL, in, 1); /* x * sigmoid(x) */
    expect_vals(&o, (double[]){-0.26894142, 0, 0.73105858, 1.76159416}, 4, 2.5e-7, "silu");
    o = run_ok(a, LS_OP_TANH, NULL, in, 1); /* tanh(1) = 0.76159416, tanh(2) = 0.96402758 */
    expect_vals(&o, (double[]){-0.76159416, 0, 0.76159416, 0.96402758}, 4, 1e-7, "tanh");
    /* NaN passes through relu */
    ls_tensor nan1 = mk(a, LS_F32, 1, (int64_t[]){1}, (double[]){NAN});
    o = run_ok(a, LS_OP_RELU, NULL, (const ls_tensor *[]){&nan1}, 1);
    assert_true(isnan(((float *)o.data)[0]));

    /* glu over dim 1 of [1,4,1]: a = [1,2], b = [0, ln 3];
     * sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4 -> [0.5, 1.5] */
    ls_tensor g = mk(a, LS_F32, 3, (int64_t[]){1, 4, 1}, (double[]){1, 2, 0, log(3.0)});
    ls_op_params p = {.i = {1}};
    o = run_ok(a, LS_OP_GLU, &p, (const ls_tensor *[]){&g}, 1);
    assert_int_equal(o.shape[1], 2);
    expect_vals(&o, (double[]){0.5, 1.5}, 2, 2.5e-7, "glu dim 1");
    /* last dim, on a transposed view: g^T is [1,1,4] */
    ls_tensor gt;
    assert_int_equal(ls_tensor_transpose(&g, 1, 2, &gt, NULL), LS_OK);
    p.i[0] = -1;
    o = run_ok(a, LS_OP_GLU, &p, (const ls_tensor *[]){&gt}, 1);
    expect_vals(&o, (double[]){0.5, 1.5}, 2, 2.5e-7, "glu dim -1");
    ls_arena_free(a);
}

static void test_masks(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    /* x [2,1,3] (values 1..6), mask [2,1,1,3] style: [2,1,3] -> fill -inf
     * where the key is padding; broadcast over a middle dim of 2 */
    ls_tensor x = mk(a, LS_F32, 3, (int64_t[]){2, 2, 3}, (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    ls_tensor m = mk(a, LS_BOOL, 3, (int64_t[]){2, 1, 3}, (double[]){0, 0, 1, 0, 1, 1});
    ls_op_params p = {.f = {-INFINITY}};
    ls_tensor o = run_ok(a, LS_OP_MASKED_FILL, &p, (const ls_tensor *[]){&x, &m}, 2);
    expect_vals(&o, (double[]){1, 2, -INFINITY, 4, 5, -INFINITY, 7, -INFINITY, -INFINITY, 10,
                               -INFINITY, -INFINITY},
                12, 0, "masked_fill");
    /* eq_scalar on int64 ids: id == 0 is a pad */
    ls_tensor ids = mk(a, LS_I64, 2, (int64_t[]){2, 3}, (double[]){3, 0, 1, 0, 0, 2});
    p = (ls_op_params){.f = {0}};
    o = run_ok(a, LS_OP_EQ_SCALAR, &p, (const ls_tensor *[]){&ids}, 1);
    assert_int_equal(o.dtype, LS_BOOL);
    expect_vals(&o, (double[]){0, 1, 0, 1, 1, 0}, 6, 0, "eq_scalar");
    /* triu(ones(3,4), k=1): True where j - i >= 1 */
    p = (ls_op_params){.i = {3, 4, 1}};
    o = run_ok(a, LS_OP_TRIU_MASK, &p, NULL, 0);
    expect_vals(&o, (double[]){0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1}, 12, 0, "triu_mask");
    /* pad mask for lengths [3,1], T=4 */
    ls_tensor len = mk(a, LS_I64, 1, (int64_t[]){2}, (double[]){3, 1});
    p = (ls_op_params){.i = {4}};
    o = run_ok(a, LS_OP_PAD_MASK, &p, (const ls_tensor *[]){&len}, 1);
    expect_vals(&o, (double[]){0, 0, 0, 1, 0, 1, 1, 1}, 8, 0, "pad_mask");
    ls_arena_free(a);
}

static void test_cast_concat_contiguous(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    ls_tensor x = mk(a, LS_F32, 1, (int64_t[]){4}, (double[]){1.7, -1.7, 0, 2});
    ls_op_params p = {.i = {LS_I64}};
    ls_tensor o = run_ok(a, LS_OP_CAST, &p, (const ls_tensor *[]){&x}, 1);
    assert_int_equal(o.dtype, LS_I64);
    expect_vals(&o, (double[]){1, -1, 0, 2}, 4, 0, "cast f32->i64 truncates");
    p.i[0] = LS_BOOL;
    o = run_ok(a, LS_OP_CAST, &p, (const ls_tensor *[]){&x}, 1);
    expect_vals(&o, (double[]){1, 1, 0, 1}, 4, 0, "cast f32->bool");
    p.i[0] = LS_F32;
    ls_tensor ob = o;
    o = run_ok(a, LS_OP_CAST, &p, (const ls_tensor *[]){&ob}, 1);
    assert_int_equal(o.dtype, LS_F32);
    expect_vals(&o, (double[]){1, 1, 0, 1}, 4, 0, "cast bool->f32");

    /* concat [2,1] and [2,2] on dim 1: [[1,10,11],[2,12,13]] */
    ls_tensor c1 = mk(a, LS_F32, 2, (int64_t[]){2, 1}, (double[]){1, 2});
    ls_tensor c2 = mk(a, LS_F32, 2, (int64_t[]){2, 2}, (double[]){10, 11, 12, 13});
    p = (ls_op_params){.i = {-1}};
    o = run_ok(a, LS_OP_CONCAT, &p, (const ls_tensor *[]){&c1, &c2}, 2);
    expect_vals(&o, (double[]){1, 10, 11, 2, 12, 13}, 6, 0, "concat dim -1");
    /* dim 0 with a transposed input: c2^T = [[10,12],[11,13]] */
    ls_tensor c2t;
    assert_int_equal(ls_tensor_transpose(&c2, 0, 1, &c2t, NULL), LS_OK);
    p.i[0] = 0;
    o = run_ok(a, LS_OP_CONCAT, &p, (const ls_tensor *[]){&c2, &c2t, &c2}, 3);
    assert_int_equal(o.shape[0], 6);
    expect_vals(&o, (double[]){10, 11, 12, 13, 10, 12, 11, 13, 10, 11, 12, 13}, 12, 0, "concat 3");
    o = run_ok(a, LS_OP_CONTIGUOUS, NULL, (const ls_tensor *[]){&c2t}, 1);
    assert_true(ls_tensor_is_contiguous(&o));
    expect_vals(&o, (double[]){10, 12, 11, 13}, 4, 0, "contiguous");
    ls_arena_free(a);
}

/* ---- reductions / norms ---- */

static void test_softmax(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    /* rows: [0, ln 3] -> [1/4, 3/4]; [1000,1000] -> [1/2,1/2] (no overflow);
     * all -inf -> NaN (as torch); all -1e9 -> uniform */
    ls_tensor x = mk(a, LS_F32, 2, (int64_t[]){4, 2},
                     (double[]){0, log(3.0), 1000, 1000, -INFINITY, -INFINITY, -1e9, -1e9});
    ls_tensor o = run_ok(a, LS_OP_SOFTMAX, NULL, (const ls_tensor *[]){&x}, 1);
    expect_vals(&o, (double[]){.25, .75, .5, .5, NAN, NAN, .5, .5}, 8, 1e-7, "softmax");
    /* one -inf in a row gets exactly 0 */
    ls_tensor y = mk(a, LS_F32, 1, (int64_t[]){3}, (double[]){1, -INFINITY, 1});
    o = run_ok(a, LS_OP_SOFTMAX, NULL, (const ls_tensor *[]){&y}, 1);
    expect_vals(&o, (double[]){.5, 0, .5}, 3, 0, "softmax -inf key");
    /* strided: softmax over a transposed view's last dim: [[0,0],[ln3,1000]]^T rows */
    ls_tensor z = mk(a, LS_F32, 2, (int64_t[]){2, 2}, (double[]){0, 0, log(3.0), 0});
    ls_tensor zt;
    assert_int_equal(ls_tensor_transpose(&z, 0, 1, &zt, NULL), LS_OK); /* rows [0,ln3], [0,0] */
    o = run_ok(a, LS_OP_SOFTMAX, NULL, (const ls_tensor *[]){&zt}, 1);
    expect_vals(&o, (double[]){.25, .75, .5, .5}, 4, 1e-7, "softmax strided");
    ls_arena_free(a);
}

static void test_layer_norm(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    /* x = [1,2,3,4]: mean 2.5, var (2.25+.25+.25+2.25)/4 = 1.25,
     * (x - 2.5)/sqrt(1.25) = [-1.34164079, -0.44721360, 0.44721360, 1.34164079] */
    ls_tensor x = mk(a, LS_F32, 2, (int64_t[]){1, 4}, (double[]){1, 2, 3, 4});
    ls_tensor w = mk(a, LS_F32, 1, (int64_t[]){4}, (double[]){1, 1, 2, 2});
    ls_tensor b = mk(a, LS_F32, 1, (int64_t[]){4}, (double[]){0, 0, 0, 1});
    ls_op_params p = {.i = {0, 0}, .f = {0}};
    ls_tensor o = run_ok(a, LS_OP_LAYER_NORM, &p, (const ls_tensor *[]){&x}, 1);
    expect_vals(&o, (double[]){-1.34164079, -0.44721360, 0.44721360, 1.34164079}, 4, 1e-6, "ln");
    p = (ls_op_params){.i = {1, 1}, .f = {0}};
    o = run_ok(a, LS_OP_LAYER_NORM, &p, (const ls_tensor *[]){&x, &w, &b}, 3);
    expect_vals(&o, (double[]){-1.34164079, -0.44721360, 0.89442719, 3.68328157}, 4, 1e-6, "ln wb");
    p = (ls_op_params){.i = {0, 1}, .f = {0}}; /* bias only: in[1] is the bias */
    o = run_ok(a, LS_OP_LAYER_NORM, &p, (const ls_tensor *[]){&x, &b}, 2);
    expect_vals(&o, (double[]){-1.34164079, -0.44721360, 0.44721360, 2.34164079}, 4, 1e-6, "ln b");
    /* eps matters: var 1.25 + eps 0.75 = 2 -> (x-2.5)/sqrt2 */
    p = (ls_op_params){.f = {0.75f}};
    o = run_ok(a, LS_OP_LAYER_NORM, &p, (const ls_tensor *[]){&x}, 1);
    expect_vals(&o, (double[]){-1.06066017, -0.35355339, 0.35355339, 1.06066017}, 4, 1e-6, "ln eps");
    /* strided: rows of a transposed [4,2] are [1,2,3,4] and [2,4,6,8]
     * (the second normalises to the same values) */
    ls_tensor y = mk(a, LS_F32, 2, (int64_t[]){4, 2}, (double[]){1, 2, 2, 4, 3, 6, 4, 8});
    ls_tensor yt;
    assert_int_equal(ls_tensor_transpose(&y, 0, 1, &yt, NULL), LS_OK);
    p = (ls_op_params){.f = {0}};
    o = run_ok(a, LS_OP_LAYER_NORM, &p, (const ls_tensor *[]){&yt}, 1);
    expect_vals(&o, (double[]){-1.34164079, -0.44721360, 0.44721360, 1.34164079, -1.34164079,
                               -0.44721360, 0.44721360, 1.34164079},
                8, 1e-6, "ln strided");
    ls_arena_free(a);
}

static void test_group_batch_norm(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    /* x [1,2,2] = channels [1,2] and [3,4]; w [1,2], b [0,1], eps 0.
     * groups=2 (per channel): [1,2] -> [-1,1]; [3,4] -> [-1,1]*2+1 = [-1,3]
     * groups=1: LN over [1,2,3,4] -> [-1.3416, -0.4472 | .4472*2+1, 1.3416*2+1] */
    ls_tensor x = mk(a, LS_F32, 3, (int64_t[]){1, 2, 2}, (double[]){1, 2, 3, 4});
    ls_tensor w = mk(a, LS_F32, 1, (int64_t[]){2}, (double[]){1, 2});
    ls_tensor b = mk(a, LS_F32, 1, (int64_t[]){2}, (double[]){0, 1});
    ls_op_params p = {.i = {2}, .f = {0}};
    ls_tensor o = run_ok(a, LS_OP_GROUP_NORM, &p, (const ls_tensor *[]){&x, &w, &b}, 3);
    expect_vals(&o, (double[]){-1, 1, -1, 3}, 4, 1e-6, "group_norm g=2");
    p.i[0] = 1;
    o = run_ok(a, LS_OP_GROUP_NORM, &p, (const ls_tensor *[]){&x, &w, &b}, 3);
    expect_vals(&o, (double[]){-1.34164079, -0.44721360, 1.89442719, 3.68328157}, 4, 1e-6,
                "group_norm g=1");
    /* strided input: x^T over the last two dims is channels [1,3],[2,4];
     * per channel each normalises to [-1,1] -> [-1,1, -1*2+1, 1*2+1] */
    ls_tensor xt;
    assert_int_equal(ls_tensor_transpose(&x, 1, 2, &xt, NULL), LS_OK);
    p.i[0] = 2;
    o = run_ok(a, LS_OP_GROUP_NORM, &p, (const ls_tensor *[]){&xt, &w, &b}, 3);
    expect_vals(&o, (double[]){-1, 1, -1, 3}, 4, 1e-6, "group_norm strided");

    /* batch_norm eval: mean [1,3], var [4,1], w [1,2], b [0,1], eps 0:
     * ch0 (x-1)/2 = [0, .5]; ch1 (x-3)*2+1 = [1, 3] */
    ls_tensor mean = mk(a, LS_F32, 1, (int64_t[]){2}, (double[]){1, 3});
    ls_tensor var = mk(a, LS_F32, 1, (int64_t[]){2}, (double[]){4, 1});
    p = (ls_op_params){.f = {0}};
    o = run_ok(a, LS_OP_BATCH_NORM, &p, (const ls_tensor *[]){&x, &mean, &var, &w, &b}, 5);
    expect_vals(&o, (double[]){0, .5, 1, 3}, 4, 1e-6, "batch_norm");
    p.f[0] = 12; /* var + eps = 16 and 13 */
    o = run_ok(a, LS_OP_BATCH_NORM, &p, (const ls_tensor *[]){&x, &mean, &var}, 3);
    expect_vals(&o, (double[]){0, .25, 0, 1 / sqrt(13.0)}, 4, 1e-6, "batch_norm eps, no affine");
    ls_arena_free(a);
}

static void test_argmax_cross_entropy(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    /* first maximum wins; NaN counts as the maximum */
    ls_tensor x = mk(a, LS_F32, 2, (int64_t[]){3, 3}, (double[]){1, 3, 3, 5, -1, 2, 0, NAN, 9});
    ls_tensor o = run_ok(a, LS_OP_ARGMAX, NULL, (const ls_tensor *[]){&x}, 1);
    assert_int_equal(o.dtype, LS_I64);
    assert_int_equal(o.ndim, 1);
    expect_vals(&o, (double[]){1, 0, 1}, 3, 0, "argmax");
    ls_tensor xt;
    assert_int_equal(ls_tensor_transpose(&x, 0, 1, &xt, NULL), LS_OK); /* cols: [1,5,0],[3,-1,NaN],[3,2,9] */
    o = run_ok(a, LS_OP_ARGMAX, NULL, (const ls_tensor *[]){&xt}, 1);
    expect_vals(&o, (double[]){1, 2, 2}, 3, 0, "argmax strided");

    /* logits [[0,0],[0,ln3]], targets [0,1]:
     * row 0: -log(1/2) = 0.69314718; row 1: -log(3/4) = 0.28768207;
     * mean 0.49041462.  ignore_index=1 keeps row 0 only. */
    ls_tensor lg = mk(a, LS_F32, 2, (int64_t[]){2, 2}, (double[]){0, 0, 0, log(3.0)});
    ls_tensor tg = mk(a, LS_I64, 1, (int64_t[]){2}, (double[]){0, 1});
    ls_op_params p = {.i = {-100}};
    o = run_ok(a, LS_OP_CROSS_ENTROPY, &p, (const ls_tensor *[]){&lg, &tg}, 2);
    assert_int_equal(o.ndim, 0);
    expect_vals(&o, (double[]){0.49041462}, 1, 1e-7, "cross_entropy");
    p.i[0] = 1;
    o = run_ok(a, LS_OP_CROSS_ENTROPY, &p, (const ls_tensor *[]){&lg, &tg}, 2);
    expect_vals(&o, (double[]){0.69314718}, 1, 1e-7, "cross_entropy ignore");
    ls_tensor tg0 = mk(a, LS_I64, 1, (int64_t[]){2}, (double[]){1, 1});
    o = run_ok(a, LS_OP_CROSS_ENTROPY, &p, (const ls_tensor *[]){&lg, &tg0}, 2);
    assert_true(isnan(((float *)o.data)[0])); /* every row ignored: 0/0 */
    ls_tensor bad = mk(a, LS_I64, 1, (int64_t[]){2}, (double[]){0, 2});
    ls_error err = {0};
    p.i[0] = -100;
    assert_int_equal(run(a, LS_OP_CROSS_ENTROPY, &p, (const ls_tensor *[]){&lg, &bad}, 2, true, &o, &err),
                     LS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "target 2"));
    ls_arena_free(a);
}

/* ---- lookups ---- */

static void test_embedding_pos_table(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    ls_tensor tab = mk(a, LS_F32, 2, (int64_t[]){3, 2}, (double[]){0, 1, 10, 11, 20, 21});
    ls_tensor ids = mk(a, LS_I64, 2, (int64_t[]){2, 2}, (double[]){2, 0, 1, 1});
    ls_tensor o = run_ok(a, LS_OP_EMBEDDING, NULL, (const ls_tensor *[]){&ids, &tab}, 2);
    assert_int_equal(o.ndim, 3);
    expect_vals(&o, (double[]){20, 21, 0, 1, 10, 11, 10, 11}, 8, 0, "embedding");
    ls_tensor bad = mk(a, LS_I64, 1, (int64_t[]){3}, (double[]){0, 17, 1});
    ls_error err = {0};
    assert_int_equal(run(a, LS_OP_EMBEDDING, NULL, (const ls_tensor *[]){&bad, &tab}, 2, false, &o, &err),
                     LS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "17"));
    assert_non_null(strstr(err.msg, "embedding"));
    ((int64_t *)bad.data)[1] = 3; /* == V: one past the last row */
    assert_int_equal(run(a, LS_OP_EMBEDDING, NULL, (const ls_tensor *[]){&bad, &tab}, 2, false, &o, &err),
                     LS_ERR_RANGE);
    ((int64_t *)bad.data)[1] = -1;
    assert_int_equal(run(a, LS_OP_EMBEDDING, NULL, (const ls_tensor *[]){&bad, &tab}, 2, false, &o, &err),
                     LS_ERR_RANGE);

    /* T=3, D=4: div = [exp(0), exp(2 * -ln(1e4)/4)] = [1, 0.01];
     * pe[0] = [0,1,0,1], pe[1] = [sin 1, cos 1, sin .01, cos .01],
     * pe[2] = [sin 2, cos 2, sin .02, cos .02] */
    ls_op_params p = {.i = {3, 4}};
    o = run_ok(a, LS_OP_POS_TABLE, &p, NULL, 0);
    expect_vals(&o, (double[]){0, 1, 0, 1, 0.84147098, 0.54030231, 0.00999983, 0.99995000,
                               0.90929743, -0.41614684, 0.01999867, 0.99980001},
                12, 1e-6, "pos_table");
    /* A realistic table against the float64 formula: the float32 steps
     * only move the angle by ~p * 6e-8 */
    p = (ls_op_params){.i = {100, 256}};
    o = run_ok(a, LS_OP_POS_TABLE, &p, NULL, 0);
    for (int64_t t = 0; t < 100; t++)
        for (int64_t i = 0; i < 128; i++) {
            double ang = (double)t * exp((double)(2 * i) * -(log(10000.0) / 256.0));
            assert_true(fabs(ls_tensor_get(&o, (int64_t[]){t, 2 * i}) - sin(ang)) < 2e-5);
            assert_true(fabs(ls_tensor_get(&o, (int64_t[]){t, 2 * i + 1}) - cos(ang)) < 2e-5);
        }
    ls_arena_free(a);
}

/* ---- the wav2vec2 helpers ---- */

static void test_conv_len_weight_norm(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    /* kernel 10, stride 5: floor((16000-10)/5)+1 = 3199, floor((400-10)/5)+1
     * = 79, floor((12-10)/5)+1 = 1, and a length shorter than the kernel
     * clamps at 0 */
    ls_tensor len = mk(a, LS_I64, 1, (int64_t[]){4}, (double[]){16000, 400, 12, 5});
    ls_op_params p = {.i = {10, 5, 0}};
    ls_tensor o = run_ok(a, LS_OP_CONV_LEN, &p, (const ls_tensor *[]){&len}, 1);
    assert_int_equal(o.dtype, LS_I64);
    expect_vals(&o, (double[]){3199, 79, 1, 0}, 4, 0, "conv_len");
    /* v [[3,4],[6,8]], dim 0, g [[1],[2]]: row norms 5 and 10 ->
     * [[.6,.8],[1.2,1.6]]; dim 1, g [[1,1]]: column norms sqrt(45), sqrt(80) */
    ls_tensor v = mk(a, LS_F32, 2, (int64_t[]){2, 2}, (double[]){3, 4, 6, 8});
    ls_tensor g0 = mk(a, LS_F32, 2, (int64_t[]){2, 1}, (double[]){1, 2});
    p = (ls_op_params){.i = {0}};
    o = run_ok(a, LS_OP_WEIGHT_NORM, &p, (const ls_tensor *[]){&v, &g0}, 2);
    expect_vals(&o, (double[]){.6, .8, 1.2, 1.6}, 4, 1e-6, "weight_norm dim 0");
    ls_tensor g1 = mk(a, LS_F32, 2, (int64_t[]){1, 2}, (double[]){1, 1});
    p.i[0] = 1;
    o = run_ok(a, LS_OP_WEIGHT_NORM, &p, (const ls_tensor *[]){&v, &g1}, 2);
    expect_vals(&o, (double[]){3 / sqrt(45.0), 4 / sqrt(80.0), 6 / sqrt(45.0), 8 / sqrt(80.0)}, 4,
                1e-6, "weight_norm dim 1");
    ls_error err = {0};
    assert_int_equal(ls_op_infer(LS_OP_WEIGHT_NORM, &p, (const ls_tensor *[]){&v, &g0}, 2, &o, &err),
                     LS_ERR_SHAPE);
    ls_arena_free(a);
}

/* ---- convolutions ---- */

static void test_conv1d(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    /* x = [1,2,3,4,5], w = [1,0,-1], pad 1: out[t] = x[t-1] - x[t+1]
     *   = [0-2, 1-3, 2-4, 3-5, 4-0] = [-2,-2,-2,-2,4]; bias 1 adds 1;
     *   stride 2 keeps t = 0,2,4 */
    ls_tensor x = mk(a, LS_F32, 3, (int64_t[]){1, 1, 5}, (double[]){1, 2, 3, 4, 5});
    ls_tensor w = mk(a, LS_F32, 3, (int64_t[]){1, 1, 3}, (double[]){1, 0, -1});
    ls_tensor b = mk(a, LS_F32, 1, (int64_t[]){1}, (double[]){1});
    for (int ref = 0; ref < 2; ref++) {
        ls_op_params p = {.i = {1, 1, 1}};
        ls_tensor o;
        assert_int_equal(run(a, LS_OP_CONV1D, &p, (const ls_tensor *[]){&x, &w}, 2, ref, &o, NULL), LS_OK);
        expect_vals(&o, (double[]){-2, -2, -2, -2, 4}, 5, 0, "conv1d");
        assert_int_equal(run(a, LS_OP_CONV1D, &p, (const ls_tensor *[]){&x, &w, &b}, 3, ref, &o, NULL),
                         LS_OK);
        expect_vals(&o, (double[]){-1, -1, -1, -1, 5}, 5, 0, "conv1d bias");
        p.i[0] = 2;
        assert_int_equal(run(a, LS_OP_CONV1D, &p, (const ls_tensor *[]){&x, &w}, 2, ref, &o, NULL), LS_OK);
        expect_vals(&o, (double[]){-2, -2, 4}, 3, 0, "conv1d stride 2");
        /* groups=2, w [2,1,1] = [2],[3]: channel-wise scaling */
        ls_tensor x2 = mk(a, LS_F32, 3, (int64_t[]){1, 2, 3}, (double[]){1, 2, 3, 4, 5, 6});
        ls_tensor w2 = mk(a, LS_F32, 3, (int64_t[]){2, 1, 1}, (double[]){2, 3});
        p = (ls_op_params){.i = {1, 0, 2}};
        assert_int_equal(run(a, LS_OP_CONV1D, &p, (const ls_tensor *[]){&x2, &w2}, 2, ref, &o, NULL),
                         LS_OK);
        expect_vals(&o, (double[]){2, 4, 6, 12, 15, 18}, 6, 0, "conv1d groups");
    }
    /* fast vs reference on odd shapes: plain, grouped, depthwise (WeNet's
     * K=15 pad 7), pointwise on a strided input, pointwise with padding,
     * wav2vec2's first layer (C=1, K=10, stride 5), and a weight whose
     * layout the GEMM path refuses (must fall back, still correct) */
    uint64_t seed = 3;
    struct {
        int64_t B, C, T, OC, K, s, pad, g;
    } cs[] = {{2, 6, 37, 10, 5, 2, 2, 1}, {2, 6, 37, 10, 5, 1, 2, 2},  {2, 8, 41, 8, 15, 1, 7, 8},
              {1, 5, 23, 7, 1, 1, 0, 1},  {1, 5, 23, 7, 1, 1, 1, 1},   {2, 1, 203, 9, 10, 5, 0, 1},
              {1, 12, 33, 12, 4, 1, 2, 3}, {1, 16, 17, 32, 3, 3, 0, 16}};
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        ls_tensor xx = rnd(a, 3, (int64_t[]){cs[i].B, cs[i].C, cs[i].T}, &seed);
        ls_tensor ww = rnd(a, 3, (int64_t[]){cs[i].OC, cs[i].C / cs[i].g, cs[i].K}, &seed);
        ls_tensor bb = rnd(a, 1, (int64_t[]){cs[i].OC}, &seed);
        ls_op_params p = {.i = {cs[i].s, cs[i].pad, cs[i].g}};
        char what[64];
        snprintf(what, sizeof what, "conv1d case %zu", i);
        fast_vs_ref(a, LS_OP_CONV1D, &p, (const ls_tensor *[]){&xx, &ww, &bb}, 3, what);
        fast_vs_ref(a, LS_OP_CONV1D, &p, (const ls_tensor *[]){&xx, &ww}, 2, what);
    }
    ls_tensor xs0 = rnd(a, 3, (int64_t[]){2, 19, 6}, &seed), xs; /* [B,T,C] -> [B,C,T] view */
    assert_int_equal(ls_tensor_transpose(&xs0, 1, 2, &xs, NULL), LS_OK);
    ls_tensor w1 = rnd(a, 3, (int64_t[]){9, 6, 1}, &seed), w3 = rnd(a, 3, (int64_t[]){9, 6, 3}, &seed);
    ls_op_params p = {.i = {1, 0, 1}};
    fast_vs_ref(a, LS_OP_CONV1D, &p, (const ls_tensor *[]){&xs, &w1}, 2, "conv1d 1x1 strided");
    p.i[1] = 1;
    fast_vs_ref(a, LS_OP_CONV1D, &p, (const ls_tensor *[]){&xs, &w3}, 2, "conv1d strided");
    ls_tensor w3p0 = rnd(a, 3, (int64_t[]){9, 3, 6}, &seed), w3p; /* [OC,K,C] -> [OC,C,K] view */
    assert_int_equal(ls_tensor_transpose(&w3p0, 1, 2, &w3p, NULL), LS_OK);
    fast_vs_ref(a, LS_OP_CONV1D, &p, (const ls_tensor *[]){&xs, &w3p}, 2, "conv1d strided w");
    ls_arena_free(a);
}

static void test_conv2d(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    /* x = 1..9 as 3x3, w = [[1,0],[0,1]]: out[i,j] = x[i,j] + x[i+1,j+1]
     *   = [1+5, 2+6, 4+8, 5+9] = [6,8,12,14].
     * pad 1, stride 2: out[0,0] = x[0,0] = 1, out[0,1] = x[0,2] = 3,
     *   out[1,0] = x[2,0] = 7, out[1,1] = x[1,1] + x[2,2] = 14 */
    ls_tensor x = mk(a, LS_F32, 4, (int64_t[]){1, 1, 3, 3}, (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
    ls_tensor w = mk(a, LS_F32, 4, (int64_t[]){1, 1, 2, 2}, (double[]){1, 0, 0, 1});
    for (int ref = 0; ref < 2; ref++) {
        ls_op_params p = {.i = {1, 0}};
        ls_tensor o;
        assert_int_equal(run(a, LS_OP_CONV2D, &p, (const ls_tensor *[]){&x, &w}, 2, ref, &o, NULL), LS_OK);
        expect_vals(&o, (double[]){6, 8, 12, 14}, 4, 0, "conv2d");
        p = (ls_op_params){.i = {2, 1}};
        assert_int_equal(run(a, LS_OP_CONV2D, &p, (const ls_tensor *[]){&x, &w}, 2, ref, &o, NULL), LS_OK);
        expect_vals(&o, (double[]){1, 3, 7, 14}, 4, 0, "conv2d pad stride");
    }
    uint64_t seed = 5;
    struct {
        int64_t B, C, H, W, OC, K, s, pad;
    } cs[] = {{2, 3, 11, 9, 5, 3, 2, 0}, {1, 1, 17, 13, 7, 3, 2, 0}, {1, 4, 7, 8, 3, 3, 1, 1},
              {2, 2, 5, 6, 4, 1, 1, 0}};
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        ls_tensor xx = rnd(a, 4, (int64_t[]){cs[i].B, cs[i].C, cs[i].H, cs[i].W}, &seed);
        ls_tensor ww = rnd(a, 4, (int64_t[]){cs[i].OC, cs[i].C, cs[i].K, cs[i].K}, &seed);
        ls_tensor bb = rnd(a, 1, (int64_t[]){cs[i].OC}, &seed);
        ls_op_params p = {.i = {cs[i].s, cs[i].pad}};
        char what[64];
        snprintf(what, sizeof what, "conv2d case %zu", i);
        fast_vs_ref(a, LS_OP_CONV2D, &p, (const ls_tensor *[]){&xx, &ww, &bb}, 3, what);
    }
    /* WeNet's subsampling input: x.unsqueeze(1) of a [B,T,80] view */
    ls_tensor f0 = rnd(a, 3, (int64_t[]){2, 29, 80}, &seed), f;
    assert_int_equal(ls_tensor_unsqueeze(&f0, 1, &f, NULL), LS_OK);
    ls_tensor ww = rnd(a, 4, (int64_t[]){8, 1, 3, 3}, &seed);
    ls_op_params p = {.i = {2, 0}};
    fast_vs_ref(a, LS_OP_CONV2D, &p, (const ls_tensor *[]){&f, &ww}, 2, "conv2d subsampling");
    ls_arena_free(a);
}

/* ---- views through ls_op_infer ---- */

static void test_views(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    double v[24];
    for (int i = 0; i < 24; i++)
        v[i] = i;
    ls_tensor x = mk(a, LS_F32, 3, (int64_t[]){2, 3, 4}, v);
    const ls_tensor *in[] = {&x};
    ls_tensor o;
    ls_op_params p = {.i = {4, 2, 3, 2, -1}};
    assert_int_equal(ls_op_infer(LS_OP_RESHAPE, &p, in, 1, &o, NULL), LS_OK);
    assert_ptr_equal(o.data, x.data);
    assert_int_equal(o.shape[3], 2);
    p = (ls_op_params){.i = {1, 2}};
    assert_int_equal(ls_op_infer(LS_OP_TRANSPOSE, &p, in, 1, &o, NULL), LS_OK);
    assert_int_equal(o.shape[1], 4);
    assert_int_equal(o.stride[1], 1);
    p = (ls_op_params){.i = {3, 2, 0, 1}};
    assert_int_equal(ls_op_infer(LS_OP_PERMUTE, &p, in, 1, &o, NULL), LS_OK);
    assert_int_equal(o.shape[0], 4);
    assert_int_equal(o.stride[0], 1);
    /* x[:, :, 2::2] starts at element 2 */
    p = (ls_op_params){.i = {2, 2, 4, 2}};
    assert_int_equal(ls_op_infer(LS_OP_SLICE, &p, in, 1, &o, NULL), LS_OK);
    assert_ptr_equal(o.data, (float *)x.data + 2);
    assert_int_equal(o.shape[2], 1);
    p = (ls_op_params){.i = {-1, 2, 4, 2}};
    assert_int_equal(ls_op_infer(LS_OP_SLICE, &p, in, 1, &o, NULL), LS_OK);
    assert_ptr_equal(o.data, (float *)x.data + 2);
    p = (ls_op_params){.i = {1}};
    assert_int_equal(ls_op_infer(LS_OP_UNSQUEEZE, &p, in, 1, &o, NULL), LS_OK);
    assert_int_equal(o.ndim, 4);
    assert_int_equal(o.shape[1], 1);
    ls_tensor u = o;
    assert_int_equal(ls_op_infer(LS_OP_SQUEEZE, &p, (const ls_tensor *[]){&u}, 1, &o, NULL), LS_OK);
    assert_true(ls_tensor_same_shape(&o, &x));
    assert_int_equal(ls_op_infer(LS_OP_ALIAS, NULL, in, 1, &o, NULL), LS_OK);
    assert_ptr_equal(o.data, x.data);
    /* expand [2,1,4] slice to [2,3,4], then materialise it by compute */
    p = (ls_op_params){.i = {1, 1, 2, 1}};
    ls_tensor s;
    assert_int_equal(ls_op_infer(LS_OP_SLICE, &p, in, 1, &s, NULL), LS_OK);
    p = (ls_op_params){.i = {3, 2, 3, 4}};
    assert_int_equal(ls_op_infer(LS_OP_EXPAND, &p, (const ls_tensor *[]){&s}, 1, &o, NULL), LS_OK);
    assert_int_equal(o.stride[1], 0);
    ls_tensor m;
    assert_int_equal(run(a, LS_OP_EXPAND, &p, (const ls_tensor *[]){&s}, 1, false, &m, NULL), LS_OK);
    assert_true(ls_tensor_get(&m, (int64_t[]){1, 2, 3}) == 12 + 4 + 3);
    /* shape-only input (no data) works too */
    ls_tensor d = ls_tensor_make(LS_F32, 2, (int64_t[]){6, 4}, NULL);
    p = (ls_op_params){.i = {0, 1}};
    assert_int_equal(ls_op_infer(LS_OP_TRANSPOSE, &p, (const ls_tensor *[]){&d}, 1, &o, NULL), LS_OK);
    assert_null(o.data);
    ls_arena_free(a);
}

/* ---- error paths: an error code and a message, never a crash ---- */

static void expect_err(int rc, int want, const ls_error *err, const char *needle)
{
    assert_int_equal(rc, want);
    if (needle && !strstr(err->msg, needle))
        fail_msg("message '%s' lacks '%s'", err->msg, needle);
}

static void test_infer_errors(void **state)
{
    (void)state;
    ls_tensor o;
    ls_error err = {0};
    ls_tensor q = ls_tensor_make(LS_F32, 4, (int64_t[]){2, 4, 5, 8}, NULL);
    ls_tensor k = ls_tensor_make(LS_F32, 4, (int64_t[]){3, 4, 8, 5}, NULL);
    ls_tensor i64 = ls_tensor_make(LS_I64, 2, (int64_t[]){2, 3}, NULL);
    ls_tensor v3 = ls_tensor_make(LS_F32, 1, (int64_t[]){3}, NULL);
    ls_tensor v4 = ls_tensor_make(LS_F32, 1, (int64_t[]){4}, NULL);
    ls_tensor m23 = ls_tensor_make(LS_F32, 2, (int64_t[]){2, 3}, NULL);
    ls_tensor m43 = ls_tensor_make(LS_F32, 2, (int64_t[]){4, 3}, NULL);
    ls_op_params p = {0};

    expect_err(ls_op_infer(LS_OP_MATMUL, NULL, (const ls_tensor *[]){&q, &q}, 2, &o, &err),
               LS_ERR_SHAPE, &err, "matmul: inner dims differ: [2, 4, 5, 8] @ [2, 4, 5, 8]");
    expect_err(ls_op_infer(LS_OP_MATMUL, NULL, (const ls_tensor *[]){&q, &k}, 2, &o, &err),
               LS_ERR_SHAPE, &err, "batch dims");
    expect_err(ls_op_infer(LS_OP_MATMUL, NULL, (const ls_tensor *[]){&q, &v3}, 2, &o, &err),
               LS_ERR_SHAPE, &err, "matmul");
    expect_err(ls_op_infer(LS_OP_MATMUL, NULL, (const ls_tensor *[]){&q}, 1, &o, &err),
               LS_ERR_ARG, &err, "matmul: expects 2 inputs, got 1");
    expect_err(ls_op_infer(LS_OP_MATMUL, NULL, (const ls_tensor *[]){&i64, &m23}, 2, &o, &err),
               LS_ERR_ARG, &err, "int64");
    expect_err(ls_op_infer(LS_OP_LINEAR, NULL, (const ls_tensor *[]){&q, &m23}, 2, &o, &err),
               LS_ERR_SHAPE, &err, "linear");
    expect_err(ls_op_infer(LS_OP_LINEAR, NULL, (const ls_tensor *[]){&m23, &m43, &v3}, 3, &o, &err),
               LS_ERR_SHAPE, &err, "linear: input 2");
    expect_err(ls_op_infer(LS_OP_ADD, NULL, (const ls_tensor *[]){&m23, &m43}, 2, &o, &err),
               LS_ERR_SHAPE, &err, "add");
    expect_err(ls_op_infer(LS_OP_ADD, NULL, (const ls_tensor *[]){&m23, &v4}, 2, &o, &err),
               LS_ERR_SHAPE, &err, "do not broadcast");
    expect_err(ls_op_infer(LS_OP_DIV, NULL, (const ls_tensor *[]){&i64, &i64}, 2, &o, &err),
               LS_ERR_ARG, &err, "div");
    expect_err(ls_op_infer(LS_OP_RELU, NULL, (const ls_tensor *[]){&i64}, 1, &o, &err), LS_ERR_ARG,
               &err, "relu");
    expect_err(ls_op_infer(LS_OP_INPUT, NULL, NULL, 0, &o, &err), LS_ERR_ARG, &err, "input");
    expect_err(ls_op_infer(LS_OP_CONST, NULL, NULL, 0, &o, &err), LS_ERR_ARG, &err, "const");
    expect_err(ls_op_infer((ls_op)999, NULL, NULL, 0, &o, &err), LS_ERR_ARG, &err, "unknown");
    expect_err(ls_op_infer(LS_OP_SOFTMAX, NULL, (const ls_tensor *[]){NULL}, 1, &o, &err),
               LS_ERR_ARG, &err, "softmax");
    expect_err(ls_op_infer(LS_OP_SOFTMAX, NULL, NULL, 1, &o, &err), LS_ERR_ARG, &err, "softmax");
    expect_err(ls_op_infer(LS_OP_SOFTMAX, NULL, (const ls_tensor *[]){&q}, 99, &o, &err),
               LS_ERR_ARG, &err, "softmax");
    ls_tensor junk = q;
    junk.ndim = 7;
    expect_err(ls_op_infer(LS_OP_SOFTMAX, NULL, (const ls_tensor *[]){&junk}, 1, &o, &err),
               LS_ERR_ARG, &err, "malformed");
    p.i[0] = 1; /* glu on an odd dim */
    expect_err(ls_op_infer(LS_OP_GLU, &p, (const ls_tensor *[]){&m23}, 1, &o, &err), LS_ERR_SHAPE,
               &err, "glu");
    p.i[0] = 5;
    expect_err(ls_op_infer(LS_OP_GLU, &p, (const ls_tensor *[]){&m23}, 1, &o, &err), LS_ERR_ARG,
               &err, "glu: dim 5");
    ls_tensor mask = ls_tensor_make(LS_BOOL, 2, (int64_t[]){4, 3}, NULL);
    expect_err(ls_op_infer(LS_OP_MASKED_FILL, NULL, (const ls_tensor *[]){&m23, &mask}, 2, &o, &err),
               LS_ERR_SHAPE, &err, "masked_fill");
    expect_err(ls_op_infer(LS_OP_MASKED_FILL, NULL, (const ls_tensor *[]){&m23, &m23}, 2, &o, &err),
               LS_ERR_ARG, &err, "bool");
    p = (ls_op_params){.i = {1, 1}};
    expect_err(ls_op_infer(LS_OP_LAYER_NORM, &p, (const ls_tensor *[]){&m23, &v4, &v3}, 3, &o, &err),
               LS_ERR_SHAPE, &err, "layer_norm: input 1");
    expect_err(ls_op_infer(LS_OP_LAYER_NORM, &p, (const ls_tensor *[]){&m23}, 1, &o, &err),
               LS_ERR_ARG, &err, "layer_norm");
    p = (ls_op_params){.i = {2}};
    ls_tensor x3 = ls_tensor_make(LS_F32, 3, (int64_t[]){2, 3, 10}, NULL);
    expect_err(ls_op_infer(LS_OP_GROUP_NORM, &p, (const ls_tensor *[]){&x3}, 1, &o, &err),
               LS_ERR_SHAPE, &err, "group_norm");
    expect_err(ls_op_infer(LS_OP_BATCH_NORM, &p, (const ls_tensor *[]){&x3, &v4, &v4}, 3, &o, &err),
               LS_ERR_SHAPE, &err, "batch_norm");
    /* conv: kernel wider than the padded input, bad groups, bad stride */
    ls_tensor w = ls_tensor_make(LS_F32, 3, (int64_t[]){4, 3, 11}, NULL);
    p = (ls_op_params){.i = {1, 0, 1}};
    expect_err(ls_op_infer(LS_OP_CONV1D, &p, (const ls_tensor *[]){&x3, &w}, 2, &o, &err),
               LS_ERR_SHAPE, &err, "conv1d");
    p = (ls_op_params){.i = {1, 0, 2}};
    expect_err(ls_op_infer(LS_OP_CONV1D, &p, (const ls_tensor *[]){&x3, &w}, 2, &o, &err),
               LS_ERR_SHAPE, &err, "groups=2");
    p = (ls_op_params){.i = {0, 0, 1}};
    expect_err(ls_op_infer(LS_OP_CONV1D, &p, (const ls_tensor *[]){&x3, &w}, 2, &o, &err),
               LS_ERR_ARG, &err, "stride");
    p = (ls_op_params){.i = {1, 0}};
    expect_err(ls_op_infer(LS_OP_CONV2D, &p, (const ls_tensor *[]){&x3, &w}, 2, &o, &err),
               LS_ERR_SHAPE, &err, "conv2d");
    p = (ls_op_params){.i = {1}};
    expect_err(ls_op_infer(LS_OP_CONCAT, &p, (const ls_tensor *[]){&m23, &m43}, 2, &o, &err),
               LS_ERR_SHAPE, &err, "concat");
    expect_err(ls_op_infer(LS_OP_CONCAT, &p, (const ls_tensor *[]){&m23, &i64}, 2, &o, &err),
               LS_ERR_ARG, &err, "concat");
    expect_err(ls_op_infer(LS_OP_EMBEDDING, NULL, (const ls_tensor *[]){&m23, &m43}, 2, &o, &err),
               LS_ERR_ARG, &err, "embedding");
    expect_err(ls_op_infer(LS_OP_CROSS_ENTROPY, &p, (const ls_tensor *[]){&m23, &v4}, 2, &o, &err),
               LS_ERR_ARG, &err, "cross_entropy");
    p = (ls_op_params){.i = {-1, 4}};
    expect_err(ls_op_infer(LS_OP_TRIU_MASK, &p, NULL, 0, &o, &err), LS_ERR_ARG, &err, "triu_mask");
    p = (ls_op_params){.i = {INT64_MAX / 2, INT64_MAX / 2}};
    expect_err(ls_op_infer(LS_OP_POS_TABLE, &p, NULL, 0, &o, &err), LS_ERR_SHAPE, &err,
               "pos_table");
    p = (ls_op_params){.i = {99}};
    expect_err(ls_op_infer(LS_OP_CAST, &p, (const ls_tensor *[]){&m23}, 1, &o, &err), LS_ERR_ARG,
               &err, "cast");
    /* views: bad dims, a reshape that does not fit, a non-contiguous reshape */
    p = (ls_op_params){.i = {0, 7}};
    expect_err(ls_op_infer(LS_OP_TRANSPOSE, &p, (const ls_tensor *[]){&m23}, 1, &o, &err),
               LS_ERR_ARG, &err, "transpose");
    p = (ls_op_params){.i = {2, 5, 5}};
    expect_err(ls_op_infer(LS_OP_RESHAPE, &p, (const ls_tensor *[]){&m23}, 1, &o, &err),
               LS_ERR_SHAPE, &err, "reshape");
    p = (ls_op_params){.i = {9, 1}};
    expect_err(ls_op_infer(LS_OP_RESHAPE, &p, (const ls_tensor *[]){&m23}, 1, &o, &err),
               LS_ERR_ARG, &err, "reshape");
    ls_tensor t;
    assert_int_equal(ls_tensor_transpose(&m23, 0, 1, &t, NULL), LS_OK);
    p = (ls_op_params){.i = {1, 6}};
    expect_err(ls_op_infer(LS_OP_RESHAPE, &p, (const ls_tensor *[]){&t}, 1, &o, &err), LS_ERR_ARG,
               &err, "contiguous");
    p = (ls_op_params){.i = {3, 0, 1, 2}};
    expect_err(ls_op_infer(LS_OP_PERMUTE, &p, (const ls_tensor *[]){&m23}, 1, &o, &err),
               LS_ERR_ARG, &err, "permute");
    p = (ls_op_params){.i = {2, 0, 0}};
    expect_err(ls_op_infer(LS_OP_PERMUTE, &p, (const ls_tensor *[]){&m23}, 1, &o, &err),
               LS_ERR_ARG, &err, "permute");
    p = (ls_op_params){.i = {0}};
    expect_err(ls_op_infer(LS_OP_SQUEEZE, &p, (const ls_tensor *[]){&m23}, 1, &o, &err),
               LS_ERR_SHAPE, &err, "squeeze");
    /* every op survives garbage: no inputs, NULL params */
    for (int op = 0; op < LS_OP_COUNT; op++) {
        int rc = ls_op_infer((ls_op)op, NULL, NULL, 0, &o, &err);
        if (op != LS_OP_TRIU_MASK && op != LS_OP_POS_TABLE)
            assert_int_not_equal(rc, LS_OK);
        rc = ls_op_infer((ls_op)op, NULL, (const ls_tensor *[]){&q, &k, &m23, &v3, &v4}, 5, &o, &err);
        (void)rc;
        char buf[8];
        ls_op_params_str((ls_op)op, NULL, 0, buf, sizeof buf);
    }
}

static void test_compute_errors(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    ls_error err = {0};
    ls_tensor x = mk(a, LS_F32, 2, (int64_t[]){2, 3}, NULL);
    ls_tensor wrong = mk(a, LS_F32, 2, (int64_t[]){3, 2}, NULL);
    ls_op_ctx ctx = {0};
    expect_err(ls_op_compute(LS_OP_RELU, NULL, (const ls_tensor *[]){&x}, 1, &wrong, &ctx, &err),
               LS_ERR_SHAPE, &err, "relu: output");
    ls_tensor nodata = ls_tensor_make(LS_F32, 2, (int64_t[]){2, 3}, NULL);
    expect_err(ls_op_compute(LS_OP_RELU, NULL, (const ls_tensor *[]){&nodata}, 1, &x, &ctx, &err),
               LS_ERR_ARG, &err, "no data");
    ls_tensor big = mk(a, LS_F32, 2, (int64_t[]){4, 6}, NULL), strided;
    assert_int_equal(ls_tensor_slice(&big, 1, 0, 6, 2, &strided, NULL), LS_OK); /* [4,3] */
    ls_tensor st;
    assert_int_equal(ls_tensor_slice(&strided, 0, 0, 2, 1, &st, NULL), LS_OK); /* [2,3] strided */
    expect_err(ls_op_compute(LS_OP_RELU, NULL, (const ls_tensor *[]){&x}, 1, &st, &ctx, &err),
               LS_ERR_ARG, &err, "contiguous");
    expect_err(ls_op_compute(LS_OP_CONST, NULL, NULL, 0, &x, &ctx, &err), LS_ERR_ARG, &err, NULL);
    /* NULL ctx means the fast path */
    assert_int_equal(ls_op_compute(LS_OP_RELU, NULL, (const ls_tensor *[]){&x}, 1, &x, NULL, &err),
                     LS_OK);
    /* zero-size tensors run and do nothing */
    ls_tensor e = mk(a, LS_F32, 2, (int64_t[]){0, 3}, NULL), eo;
    assert_int_equal(run(a, LS_OP_SOFTMAX, NULL, (const ls_tensor *[]){&e}, 1, false, &eo, &err), LS_OK);
    ls_tensor w = mk(a, LS_F32, 2, (int64_t[]){4, 3}, NULL);
    assert_int_equal(run(a, LS_OP_LINEAR, NULL, (const ls_tensor *[]){&e, &w}, 2, false, &eo, &err), LS_OK);
    ls_arena_free(a);
}

static void test_broadcast_shape(void **state)
{
    (void)state;
    ls_tensor a = ls_tensor_make(LS_F32, 4, (int64_t[]){2, 1, 5, 1}, NULL);
    ls_tensor b = ls_tensor_make(LS_F32, 3, (int64_t[]){3, 1, 7}, NULL);
    int nd = 0;
    int64_t sh[4];
    assert_int_equal(ls_broadcast_shape(&a, &b, &nd, sh, NULL), LS_OK);
    assert_int_equal(nd, 4);
    assert_int_equal(sh[0], 2);
    assert_int_equal(sh[1], 3);
    assert_int_equal(sh[2], 5);
    assert_int_equal(sh[3], 7);
    ls_tensor c = ls_tensor_make(LS_F32, 1, (int64_t[]){4}, NULL);
    ls_error err = {0};
    assert_int_equal(ls_broadcast_shape(&b, &c, &nd, sh, &err), LS_ERR_SHAPE);
    assert_non_null(strstr(err.msg, "[3, 1, 7]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_kinds),
        cmocka_unit_test(test_matmul_hand),
        cmocka_unit_test(test_matmul_fast_vs_ref),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_scalar_ops),
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_masks),
        cmocka_unit_test(test_cast_concat_contiguous),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_layer_norm),
        cmocka_unit_test(test_group_batch_norm),
        cmocka_unit_test(test_argmax_cross_entropy),
        cmocka_unit_test(test_embedding_pos_table),
        cmocka_unit_test(test_conv_len_weight_norm),
        cmocka_unit_test(test_conv1d),
        cmocka_unit_test(test_conv2d),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_infer_errors),
        cmocka_unit_test(test_compute_errors),
        cmocka_unit_test(test_broadcast_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
