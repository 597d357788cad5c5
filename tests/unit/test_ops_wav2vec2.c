/* The two ops added for wav2vec2: conv_len (int64 lengths through a conv,
 * floor division, clamped at 0) and weight_norm (g * v / ||v||), on hand
 * values, strided inputs, both kernel paths, and their shape errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "layerstep/ops.h"

static ls_tensor run(ls_arena *a, ls_op op, const ls_op_params *p, const ls_tensor *const *in,
                     int n_in, bool reference)
{
    ls_error err = {0};
    ls_tensor out;
    if (ls_op_infer(op, p, in, n_in, &out, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(ls_tensor_alloc(a, out.dtype, out.ndim, out.shape, &out, &err), LS_OK);
    ls_op_ctx ctx = {.reference = reference};
    if (ls_op_compute(op, p, in, n_in, &out, &ctx, &err))
        fail_msg("%s", err.msg);
    return out;
}

static void test_conv_len(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(1 << 16);
    /* every other element of a [12] tensor: a strided input */
    int64_t buf[12] = {960, -1, 10, -1, 9, -1, 5, -1, 0, -1, 8, -1};
    ls_tensor base = ls_tensor_make(LS_I64, 1, (int64_t[]){12}, buf), len;
    assert_int_equal(ls_tensor_slice(&base, 0, 0, 12, 2, &len, NULL), LS_OK);
    /* k=10, s=5: 960 -> 950/5+1 = 191; 10 -> 1; 9 -> floor(-1/5)+1 = 0;
     * 5 -> floor(-5/5)+1 = 0; 0 -> floor(-10/5)+1 = -1 -> 0;
     * 8 -> floor(-2/5)+1 = 0 (truncation toward zero would give 1) */
    const int64_t want[6] = {191, 1, 0, 0, 0, 0};
    ls_op_params p = {.i = {10, 5, 0}};
    const ls_tensor *in[1] = {&len};
    for (int ref = 0; ref < 2; ref++) {
        ls_tensor o = run(a, LS_OP_CONV_LEN, &p, in, 1, ref);
        assert_int_equal(o.dtype, LS_I64);
        for (int i = 0; i < 6; i++)
            assert_int_equal(((int64_t *)o.data)[i], want[i]);
    }
    /* padding: k=3, s=2, pad=1: 4 -> (4+2-3)/2+1 = 2; 960 -> 480 */
    ls_op_params pp = {.i = {3, 2, 1}};
    ls_tensor o = run(a, LS_OP_CONV_LEN, &pp, in, 1, true);
    assert_int_equal(((int64_t *)o.data)[0], 480);
    /* errors: float lengths, stride 0 */
    ls_error err = {0};
    float f[2] = {1, 2};
    ls_tensor ft = ls_tensor_make(LS_F32, 1, (int64_t[]){2}, f), out;
    const ls_tensor *fin[1] = {&ft};
    assert_int_not_equal(ls_op_infer(LS_OP_CONV_LEN, &p, fin, 1, &out, &err), LS_OK);
    assert_non_null(strstr(err.msg, "conv_len"));
    ls_op_params bad = {.i = {3, 0, 0}};
    assert_int_not_equal(ls_op_infer(LS_OP_CONV_LEN, &bad, in, 1, &out, &err), LS_OK);
    assert_non_null(strstr(err.msg, "stride"));
    ls_arena_free(a);
}

/* Plain weight norm over every dim but `dim` of a contiguous [A,B,C]. */
static void expect_weight_norm(const float *v, const float *g, const int64_t *sh, int dim,
                               const ls_tensor *got)
{
    for (int64_t j = 0; j < sh[dim]; j++) {
        double ss = 0;
        for (int64_t i = 0; i < sh[0] * sh[1] * sh[2]; i++) {
            int64_t idx[3] = {i / (sh[1] * sh[2]), i / sh[2] % sh[1], i % sh[2]};
            if (idx[dim] == j)
                ss += (double)v[i] * v[i];
        }
        for (int64_t i = 0; i < sh[0] * sh[1] * sh[2]; i++) {
            int64_t idx[3] = {i / (sh[1] * sh[2]), i / sh[2] % sh[1], i % sh[2]};
            if (idx[dim] == j) {
                double want = g[j] * v[i] / sqrt(ss);
                double d = ls_tensor_get_flat(got, i);
                assert_false(isnan(d) || isinf(d));
                assert_true(fabs(d - want) <= 1e-6 + 1e-6 * fabs(want));
            }
        }
    }
}

static void test_weight_norm(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(1 << 16);
    const int64_t sh[3] = {3, 2, 5};
    float v[30], g2[5] = {0.5f, -1.0f, 2.0f, 0.25f, 3.0f}, g0[3] = {1.5f, -0.5f, 2.0f};
    for (int i = 0; i < 30; i++)
        v[i] = (float)((i * 7 % 11) - 5) / 4.0f;
    ls_tensor vt = ls_tensor_make(LS_F32, 3, sh, v);
    for (int ref = 0; ref < 2; ref++) {
        /* dim=2 as torchaudio's pos_conv uses it: g is [1,1,K] */
        ls_tensor gt = ls_tensor_make(LS_F32, 3, (int64_t[]){1, 1, 5}, g2);
        const ls_tensor *in[2] = {&vt, &gt};
        ls_op_params p = {.i = {2}};
        ls_tensor o = run(a, LS_OP_WEIGHT_NORM, &p, in, 2, ref);
        expect_weight_norm(v, g2, sh, 2, &o);
        /* dim=0, torch's default */
        ls_tensor g0t = ls_tensor_make(LS_F32, 3, (int64_t[]){3, 1, 1}, g0);
        const ls_tensor *in0[2] = {&vt, &g0t};
        ls_op_params p0 = {.i = {0}};
        o = run(a, LS_OP_WEIGHT_NORM, &p0, in0, 2, ref);
        expect_weight_norm(v, g0, sh, 0, &o);
    }
    /* a strided v gives the same as its contiguous copy */
    ls_tensor vtr, vc;
    assert_int_equal(ls_tensor_transpose(&vt, 1, 2, &vtr, NULL), LS_OK);
    assert_int_equal(ls_tensor_contiguous(a, &vtr, &vc, NULL), LS_OK);
    float g1[5] = {1, 2, 3, 4, 5};
    ls_tensor gt = ls_tensor_make(LS_F32, 3, (int64_t[]){1, 5, 1}, g1);
    ls_op_params p1 = {.i = {1}};
    const ls_tensor *ins[2] = {&vtr, &gt}, *inc[2] = {&vc, &gt};
    ls_tensor os = run(a, LS_OP_WEIGHT_NORM, &p1, ins, 2, true);
    ls_tensor oc = run(a, LS_OP_WEIGHT_NORM, &p1, inc, 2, true);
    assert_memory_equal(os.data, oc.data, 30 * sizeof(float));
    /* g of the wrong shape */
    ls_error err = {0};
    ls_tensor out;
    ls_op_params p = {.i = {2}};
    const ls_tensor *bad[2] = {&vt, &gt};
    assert_int_not_equal(ls_op_infer(LS_OP_WEIGHT_NORM, &p, bad, 2, &out, &err), LS_OK);
    assert_non_null(strstr(err.msg, "weight_norm: g has shape [1, 5, 1]"));
    ls_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_len),
        cmocka_unit_test(test_weight_norm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
