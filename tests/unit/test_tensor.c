/* Tensor views, copies, arena and tmap: the pieces every op relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "layerstep/tensor.h"
#include "layerstep/tmap.h"

static ls_tensor iota(ls_arena *a, int ndim, const int64_t *shape)
{
    ls_tensor t;
    assert_int_equal(ls_tensor_alloc(a, LS_F32, ndim, shape, &t, NULL), LS_OK);
    for (int64_t i = 0; i < ls_tensor_numel(&t); i++)
        ((float *)t.data)[i] = (float)i;
    return t;
}

static void test_arena_aligned_zeroed(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(4096);
    for (int i = 1; i < 50; i++) {
        unsigned char *p = ls_arena_alloc(a, (size_t)i * 37);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        for (int k = 0; k < i * 37; k++)
            assert_int_equal(p[k], 0);
        memset(p, 0xff, (size_t)i * 37);
    }
    /* larger than a chunk gets its own block */
    assert_non_null(ls_arena_alloc(a, 1 << 20));
    assert_null(ls_arena_alloc(a, SIZE_MAX));
    assert_true(ls_arena_used(a) > (1 << 20));
    ls_arena_free(a);
}

static void test_head_split_views(void **state)
{
    (void)state;
    /* [B,T,D] = [2,3,8] -> view [2,3,2,4] -> transpose(1,2) -> [2,2,3,4] */
    ls_arena *a = ls_arena_new(0);
    ls_tensor x = iota(a, 3, (int64_t[]){2, 3, 8});
    ls_tensor v, h;
    assert_int_equal(ls_tensor_reshape(&x, 4, (int64_t[]){2, 3, 2, -1}, &v, NULL), LS_OK);
    assert_int_equal(v.shape[3], 4);
    assert_int_equal(ls_tensor_transpose(&v, 1, 2, &h, NULL), LS_OK);
    assert_int_equal(h.shape[1], 2);
    assert_int_equal(h.shape[2], 3);
    assert_ptr_equal(h.data, x.data); /* no copy */
    assert_false(ls_tensor_is_contiguous(&h));
    /* h[b,hd,t,e] == x[b,t,hd*4+e] */
    for (int64_t b = 0; b < 2; b++)
        for (int64_t hd = 0; hd < 2; hd++)
            for (int64_t t = 0; t < 3; t++)
                for (int64_t e = 0; e < 4; e++)
                    assert_true(ls_tensor_get(&h, (int64_t[]){b, hd, t, e}) ==
                                (double)(b * 24 + t * 8 + hd * 4 + e));
    ls_tensor c;
    assert_int_equal(ls_tensor_contiguous(a, &h, &c, NULL), LS_OK);
    assert_true(ls_tensor_is_contiguous(&c));
    assert_true(((float *)c.data)[1 * 12 + 0 * 4 + 1] == 4 + 1); /* [0,1,0,1] = x[0,0,5] */
    /* reshape of a non-contiguous view is refused */
    ls_error e = {0};
    assert_int_equal(ls_tensor_reshape(&h, 2, (int64_t[]){2, 12}, &v, &e), LS_ERR_ARG);
    assert_non_null(strstr(e.msg, "contiguous"));
    assert_int_equal(ls_tensor_reshape(&x, 2, (int64_t[]){5, -1}, &v, &e), LS_ERR_SHAPE);
    ls_arena_free(a);
}

static void test_slice_unsqueeze_expand(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    ls_tensor x = iota(a, 2, (int64_t[]){3, 10});
    ls_tensor s;
    /* the conformer mask subsampling: [:, 2::2] */
    assert_int_equal(ls_tensor_slice(&x, 1, 2, INT64_MAX, 2, &s, NULL), LS_OK);
    assert_int_equal(s.shape[1], 4);
    assert_true(ls_tensor_get(&s, (int64_t[]){1, 3}) == 10 + 8);
    assert_int_equal(ls_tensor_slice(&x, 0, -1, 3, 1, &s, NULL), LS_OK);
    assert_int_equal(s.shape[0], 1);
    assert_true(ls_tensor_get(&s, (int64_t[]){0, 0}) == 20);
    assert_int_equal(ls_tensor_slice(&x, 0, 0, 3, 0, &s, NULL), LS_ERR_ARG);
    ls_tensor u;
    assert_int_equal(ls_tensor_unsqueeze(&x, 1, &u, NULL), LS_OK);
    assert_int_equal(u.ndim, 3);
    assert_int_equal(u.shape[1], 1);
    assert_true(ls_tensor_get(&u, (int64_t[]){2, 0, 7}) == 27);
    assert_int_equal(ls_tensor_unsqueeze(&x, -1, &u, NULL), LS_OK);
    assert_int_equal(u.shape[2], 1);
    ls_tensor q;
    assert_int_equal(ls_tensor_squeeze(&u, 2, &q, NULL), LS_OK);
    assert_true(ls_tensor_same_shape(&q, &x));
    ls_tensor row, ex;
    assert_int_equal(ls_tensor_slice(&x, 0, 1, 2, 1, &row, NULL), LS_OK);
    assert_int_equal(ls_tensor_expand(&row, 3, (int64_t[]){2, 4, 10}, &ex, NULL), LS_OK);
    assert_true(ls_tensor_get(&ex, (int64_t[]){1, 3, 9}) == 19);
    assert_int_equal(ls_tensor_expand(&x, 2, (int64_t[]){4, 10}, &ex, NULL), LS_ERR_SHAPE);
    ls_arena_free(a);
}

static void test_shape_check_overflow(void **state)
{
    (void)state;
    ls_error e = {0};
    int64_t big[4] = {INT64_C(1) << 40, INT64_C(1) << 40, 2, 2};
    assert_int_equal(ls_shape_check(4, big, LS_F32, false, &e), LS_ERR_SHAPE);
    assert_non_null(strstr(e.msg, "overflow"));
    assert_int_equal(ls_shape_check(2, (int64_t[]){3, -1}, LS_F32, false, &e), LS_ERR_SHAPE);
    assert_int_equal(ls_shape_check(2, (int64_t[]){3, 0}, LS_F32, false, &e), LS_ERR_SHAPE);
    assert_int_equal(ls_shape_check(2, (int64_t[]){3, 0}, LS_F32, true, &e), LS_OK);
    assert_int_equal(ls_shape_check(5, big, LS_F32, false, &e), LS_ERR_SHAPE);
}

static void test_stats_and_strings(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    ls_tensor x = iota(a, 1, (int64_t[]){5});
    ((float *)x.data)[1] = NAN;
    ((float *)x.data)[3] = -INFINITY;
    ls_stats s;
    ls_tensor_stats(&x, &s);
    assert_int_equal(s.nan, 1);
    assert_int_equal(s.inf, 1);
    assert_int_equal(s.count, 3);
    assert_true(fabs(s.mean - 2.0) < 1e-12); /* (0+2+4)/3 */
    assert_true(s.min == 0.0 && s.max == 4.0);
    char b[64];
    ls_tensor y = ls_tensor_make(LS_BOOL, 4, (int64_t[]){2, 4, 5, 5}, NULL);
    assert_string_equal(ls_shape_str(&y, b, sizeof b), "[2, 4, 5, 5]");
    ls_arena_free(a);
}

/* Contiguous float32 takes its own loop; a transposed view of the same
 * numbers goes through the general one: both must agree. */
static void test_stats_fast_matches_general(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    ls_tensor x = iota(a, 2, (int64_t[]){37, 53});
    float *p = x.data;
    for (int i = 0; i < 37 * 53; i++)
        p[i] = (float)sin(i * 0.37) * 100.0f + 3.0f;
    p[7] = NAN;
    p[100] = INFINITY;
    p[1000] = -INFINITY;
    p[37 * 53 - 1] = NAN; /* in the tail after the 8-wide loop */
    ls_tensor tr;
    assert_int_equal(ls_tensor_transpose(&x, 0, 1, &tr, NULL), LS_OK);
    assert_false(ls_tensor_is_contiguous(&tr));
    ls_stats f, g;
    ls_tensor_stats(&x, &f);
    ls_tensor_stats(&tr, &g);
    assert_int_equal(f.nan, 2);
    assert_int_equal(f.inf, 2);
    assert_int_equal(f.count, 37 * 53 - 4);
    assert_int_equal(f.nan, g.nan);
    assert_int_equal(f.inf, g.inf);
    assert_int_equal(f.count, g.count);
    assert_true(f.min == g.min && f.max == g.max);
    /* same values, another summation order */
    assert_true(fabs(f.mean - g.mean) < 1e-9 * (1 + fabs(g.mean)));
    assert_true(fabs(f.std - g.std) < 1e-9 * g.std);
    ls_arena_free(a);
}

static void test_tmap_expect(void **state)
{
    (void)state;
    ls_tmap *m = ls_tmap_new("weights.safetensors");
    ls_arena *a = ls_arena_new(0);
    ls_tensor x = iota(a, 2, (int64_t[]){512, 256});
    ls_tensor tr;
    ls_tensor_transpose(&x, 0, 1, &tr, NULL);
    assert_int_equal(ls_tmap_put(m, "enc.w", &tr, NULL), LS_OK); /* copied contiguous */
    ls_arena_free(a);
    const ls_tensor *t;
    ls_error e = {0};
    assert_int_equal(ls_tmap_expect(m, "enc.w", LS_F32, 2, (int64_t[]){512, 512}, &t, &e),
                     LS_ERR_SHAPE);
    assert_string_equal(e.msg,
                        "weights.safetensors: tensor 'enc.w' has shape [256, 512], expected [512, 512]");
    assert_int_equal(ls_tmap_expect(m, "nope", LS_F32, -1, NULL, &t, &e), LS_ERR_MISSING);
    assert_int_equal(ls_tmap_expect(m, "enc.w", LS_F32, 2, (int64_t[]){256, 512}, &t, &e), LS_OK);
    assert_true(ls_tensor_get(t, (int64_t[]){3, 1}) == 1 * 256 + 3);
    assert_int_equal(ls_tmap_count(m), 1);
    ls_tmap_free(m);
}

/* Typed edits (the TUI's "=" and lesson edits) that do not fit the cell
 * are refused before any cast: NaN or 1e19 into int64 was undefined
 * behaviour and stored INT64_MIN in a release build. */
static void test_set_refuses_values_that_do_not_fit(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(4096);
    ls_tensor t, f, b;
    assert_int_equal(ls_tensor_alloc(a, LS_I64, 1, (int64_t[]){3}, &t, NULL), LS_OK);
    assert_int_equal(ls_tensor_alloc(a, LS_F32, 1, (int64_t[]){2}, &f, NULL), LS_OK);
    assert_int_equal(ls_tensor_alloc(a, LS_BOOL, 1, (int64_t[]){1}, &b, NULL), LS_OK);
    assert_int_equal(ls_tensor_set_flat(&t, 0, 7), LS_OK);
    const double bad[] = {NAN, INFINITY, -INFINITY, 1e19, -1e19, 9223372036854775808.0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ls_tensor_set_flat(&t, 0, bad[i]), LS_ERR_RANGE);
        assert_true(ls_tensor_get_flat(&t, 0) == 7); /* unchanged */
    }
    ls_error err = {0};
    assert_int_equal(ls_tensor_value_check(LS_I64, NAN, &err), LS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "does not fit an int64 cell"));
    assert_int_equal(ls_tensor_set_flat(&t, 1, -9223372036854775808.0), LS_OK);
    assert_int_equal(ls_tensor_set_flat(&t, 2, 1e18), LS_OK);
    assert_true(((int64_t *)t.data)[2] == 1000000000000000000LL);
    /* f32 takes anything, inf beyond its range as torch does */
    assert_int_equal(ls_tensor_set_flat(&f, 0, 1e300), LS_OK);
    assert_true(isinf(((float *)f.data)[0]) && ((float *)f.data)[0] > 0);
    assert_int_equal(ls_tensor_set_flat(&f, 1, NAN), LS_OK);
    assert_int_equal(ls_tensor_set_flat(&b, 0, NAN), LS_ERR_RANGE);
    ls_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_aligned_zeroed),
        cmocka_unit_test(test_head_split_views),
        cmocka_unit_test(test_slice_unsqueeze_expand),
        cmocka_unit_test(test_shape_check_overflow),
        cmocka_unit_test(test_stats_and_strings),
        cmocka_unit_test(test_stats_fast_matches_general),
        cmocka_unit_test(test_tmap_expect),
        cmocka_unit_test(test_set_refuses_values_that_do_not_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
