/* ls_attn_finish's masking, one reference style at a time, on a small
 * attention with one fully masked row:
 *
 *   mask [1,1,3,4] (True = masked)   row 0: . . . X   row 1: X X X X   row 2: . . . .
 *
 * "scores_masked" must be exactly masked_fill(scores, mask, value) (or
 * scores + mask_add), and the fully masked row must come out of the
 * softmax as each reference makes it: uniform 1/n under a -1e9 fill, the
 * unmasked softmax again under an added -10000 (softmax ignores a shift
 * every key shares), NaN under an added -inf, 0 under WeNet's -inf fill
 * zeroed after the softmax.  ls_attn_row_state must tell each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layerstep/attention.h"
#include "layerstep/exec.h"

enum { H = 2, TQ = 3, TK = 4, D = 4 };

typedef enum style { FILL_1E9, ADD_10000, ADD_INF, WENET, NO_MASK } style;

typedef struct run {
    ls_graph *g;
    ls_exec *ex;
    float q[H * TQ * D], k[H * TK * D], v[H * TK * D];
    unsigned char mask[TQ * TK];
} run;

static const unsigned char MASK[TQ * TK] = {0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0};

static float val(int i, int salt)
{
    /* spread-out values, so that no two scores of a row are equal */
    return (float)sin(0.7 * i + 1.3 * salt) * (1.0f + 0.25f * (float)(i % 5));
}

static void build(run *r, style st)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < H * TQ * D; i++)
        r->q[i] = val(i, 1);
    for (int i = 0; i < H * TK * D; i++) {
        r->k[i] = val(i, 2);
        r->v[i] = val(i, 3);
    }
    memcpy(r->mask, MASK, sizeof MASK);
    ls_graph *g = ls_graph_new("Attn", NULL);
    int q = ls_graph_input(g, "q", LS_F32, 4, (int64_t[]){1, H, TQ, D});
    int k = ls_graph_input(g, "k", LS_F32, 4, (int64_t[]){1, H, TK, D});
    int v = ls_graph_input(g, "v", LS_F32, 4, (int64_t[]){1, H, TK, D});
    int m = st == NO_MASK ? -1 : ls_graph_input(g, "m", LS_BOOL, 4, (int64_t[]){1, 1, TQ, TK});
    ls_graph_begin(g, "Attention", "", "att");
    ls_attn_spec s = ls_attn_spec_default(H, D, D);
    int madd = -1;
    if (st == ADD_10000 || st == ADD_INF) {
        s.mask_mode = LS_MASK_ADD;
        int f = ls_graph_op(g, LS_OP_CAST, &(ls_op_params){.i = {LS_F32}}, &m, 1, NULL);
        madd = st == ADD_10000 ? ls_g_scalar(g, LS_OP_SCALE, f, -10000.0f, NULL)
                               : ls_g_masked_fill(g, ls_g_scalar(g, LS_OP_SCALE, f, 0.0f, NULL), m,
                                                  -INFINITY, NULL);
    } else if (st == WENET) {
        s.mask_value = -INFINITY;
        s.zero_after_softmax = true;
    }
    ls_graph_end(g, ls_attn_core(g, q, k, v, m, madd, &s));
    assert_true(ls_graph_ok(g));
    ls_error err = {0};
    assert_int_equal(ls_exec_new(g, NULL, &r->ex, &err), LS_OK);
    ls_tensor t = ls_tensor_make(LS_F32, 4, (int64_t[]){1, H, TQ, D}, r->q);
    assert_int_equal(ls_exec_set_input(r->ex, "q", &t, &err), LS_OK);
    t = ls_tensor_make(LS_F32, 4, (int64_t[]){1, H, TK, D}, r->k);
    assert_int_equal(ls_exec_set_input(r->ex, "k", &t, &err), LS_OK);
    t = ls_tensor_make(LS_F32, 4, (int64_t[]){1, H, TK, D}, r->v);
    assert_int_equal(ls_exec_set_input(r->ex, "v", &t, &err), LS_OK);
    if (m >= 0) {
        t = ls_tensor_make(LS_BOOL, 4, (int64_t[]){1, 1, TQ, TK}, r->mask);
        assert_int_equal(ls_exec_set_input(r->ex, "m", &t, &err), LS_OK);
    }
    assert_int_equal(ls_exec_run(r->ex, &err), LS_OK);
    r->g = g;
}

static void done(run *r)
{
    ls_exec_free(r->ex);
    ls_graph_free(r->g);
}

static const ls_tensor *out(const run *r, const char *name)
{
    int n = ls_graph_find(r->g, name);
    assert_true(n >= 0);
    const ls_tensor *t = ls_exec_out(r->ex, n);
    assert_non_null(t);
    return t;
}

static double at(const ls_tensor *t, int h, int i, int j)
{
    return ls_tensor_get(t, (int64_t[]){0, h, i, j});
}

/* scores_masked against the reference's own formula, cell for cell, bit
 * for bit (the same float32 operation, so no tolerance) */
static void check_scores_masked(const run *r, style st)
{
    const ls_tensor *sc = out(r, "att.scores"), *sm = out(r, "att.scores_masked");
    for (int h = 0; h < H; h++)
        for (int i = 0; i < TQ; i++)
            for (int j = 0; j < TK; j++) {
                float s = (float)at(sc, h, i, j), want = s;
                bool mk = st != NO_MASK && MASK[i * TK + j];
                if (st == FILL_1E9 && mk)
                    want = -1e9f;          /* scores.masked_fill(mask, -1e9) */
                else if (st == WENET && mk)
                    want = -INFINITY;      /* masked_fill(mask, -inf) */
                else if (st == ADD_10000)
                    want = s + (mk ? -10000.0f : 0.0f);     /* + attention_mask */
                else if (st == ADD_INF)
                    want = s + (mk ? -INFINITY : 0.0f);     /* + float mask */
                float got = (float)at(sm, h, i, j);
                if (memcmp(&got, &want, sizeof got)) {
                    fail_msg("style %d: scores_masked[0,%d,%d,%d] = %.9g, want %.9g", st, h, i, j,
                             (double)got, (double)want);
                }
            }
}

static ls_attn_row row_state(const run *r, int h, int i)
{
    int m = ls_graph_find(r->g, "att.mask");
    return ls_attn_row_state(out(r, "att.attn"), m >= 0 ? ls_exec_out(r->ex, m) : NULL,
                             (int64_t[]){0, h, i});
}

static void test_fill_1e9_uniform(void **st)
{
    (void)st;
    run r;
    build(&r, FILL_1E9);
    check_scores_masked(&r, FILL_1E9);
    const ls_tensor *a = out(&r, "att.attn");
    for (int h = 0; h < H; h++) {
        for (int j = 0; j < TK; j++)
            assert_true(at(a, h, 1, j) == 1.0 / TK);  /* equal fills: exactly 1/4 */
        assert_true(at(a, h, 0, 3) == 0.0);           /* exp(-1e9 - max) underflows */
        assert_int_equal(row_state(&r, h, 1), LS_ATTN_ROW_UNIFORM);
        assert_int_equal(row_state(&r, h, 0), LS_ATTN_ROW_NORMAL);
        assert_int_equal(row_state(&r, h, 2), LS_ATTN_ROW_NORMAL);
    }
    done(&r);
}

static void test_add_10000_shift(void **st)
{
    (void)st;
    run r;
    build(&r, ADD_10000);
    check_scores_masked(&r, ADD_10000);
    /* a shift every key shares cancels in the softmax: the row is (up to
     * the rounding of s - 10000) the softmax of the unmasked scores */
    const ls_tensor *a = out(&r, "att.attn"), *sc = out(&r, "att.scores");
    for (int h = 0; h < H; h++) {
        double mx = -INFINITY, sum = 0, e[TK];
        for (int j = 0; j < TK; j++)
            mx = fmax(mx, at(sc, h, 1, j));
        for (int j = 0; j < TK; j++)
            sum += e[j] = exp(at(sc, h, 1, j) - mx);
        bool uniform = true;
        for (int j = 0; j < TK; j++) {
            assert_true(fabs(at(a, h, 1, j) - e[j] / sum) < 2e-3);
            uniform &= fabs(at(a, h, 1, j) - 1.0 / TK) < 1e-3;
        }
        assert_false(uniform);
        assert_int_equal(row_state(&r, h, 1), LS_ATTN_ROW_SHIFTED);
        assert_int_equal(row_state(&r, h, 0), LS_ATTN_ROW_NORMAL);
    }
    done(&r);
}

static void test_add_inf_nan(void **st)
{
    (void)st;
    run r;
    build(&r, ADD_INF);
    check_scores_masked(&r, ADD_INF);
    const ls_tensor *a = out(&r, "att.attn");
    for (int h = 0; h < H; h++) {
        for (int j = 0; j < TK; j++) {
            assert_true(isnan(at(a, h, 1, j)));   /* exp(-inf - -inf) = NaN */
            assert_false(isnan(at(a, h, 0, j)));
        }
        assert_true(at(a, h, 0, 3) == 0.0);
        assert_int_equal(row_state(&r, h, 1), LS_ATTN_ROW_NAN);
        assert_int_equal(row_state(&r, h, 2), LS_ATTN_ROW_NORMAL);
    }
    /* and the NaN runs on into that query's context */
    const ls_tensor *c = out(&r, "att.context");
    assert_true(isnan(ls_tensor_get(c, (int64_t[]){0, 1, 0})));
    assert_false(isnan(ls_tensor_get(c, (int64_t[]){0, 0, 0})));
    done(&r);
}

static void test_wenet_zeroed(void **st)
{
    (void)st;
    run r;
    build(&r, WENET);
    check_scores_masked(&r, WENET);
    const ls_tensor *a = out(&r, "att.attn");
    for (int h = 0; h < H; h++) {
        for (int j = 0; j < TK; j++)
            assert_true(at(a, h, 1, j) == 0.0);
        assert_int_equal(row_state(&r, h, 1), LS_ATTN_ROW_ZEROED);
        assert_int_equal(row_state(&r, h, 0), LS_ATTN_ROW_NORMAL);
    }
    done(&r);
}

/* no mask: the point is still there (an alias of scores), so a lesson or
 * a breakpoint on *.scores_masked works on every attention */
static void test_no_mask_still_named(void **st)
{
    (void)st;
    run r;
    build(&r, NO_MASK);
    check_scores_masked(&r, NO_MASK);
    for (int h = 0; h < H; h++)
        for (int i = 0; i < TQ; i++)
            assert_int_equal(row_state(&r, h, i), LS_ATTN_ROW_NORMAL);
    /* the chain's order: scores, scores_masked, attn */
    assert_true(ls_graph_find(r.g, "att.scores") < ls_graph_find(r.g, "att.scores_masked"));
    assert_true(ls_graph_find(r.g, "att.scores_masked") < ls_graph_find(r.g, "att.attn"));
    done(&r);
}

static void test_explain_lines(void **st)
{
    (void)st;
    assert_string_equal(ls_attn_row_explain(LS_ATTN_ROW_NORMAL, 0), "");
    for (int s = LS_ATTN_ROW_UNIFORM; s <= LS_ATTN_ROW_ZEROED; s++)
        for (int lang = 0; lang < 2; lang++) {
            const char *t = ls_attn_row_explain((ls_attn_row)s, lang);
            assert_true(strlen(t) > 10);
            /* each differs from the others and between languages */
            for (int o = LS_ATTN_ROW_UNIFORM; o < s; o++)
                assert_string_not_equal(t, ls_attn_row_explain((ls_attn_row)o, lang));
            assert_string_not_equal(t, ls_attn_row_explain((ls_attn_row)s, !lang));
        }
    assert_non_null(strstr(ls_attn_row_explain(LS_ATTN_ROW_UNIFORM, 0), "1/n"));
    assert_non_null(strstr(ls_attn_row_explain(LS_ATTN_ROW_NAN, 0), "NaN"));
    assert_string_equal(ls_attn_row_explain((ls_attn_row)99, 0), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_1e9_uniform),   cmocka_unit_test(test_add_10000_shift),
        cmocka_unit_test(test_add_inf_nan),        cmocka_unit_test(test_wenet_zeroed),
        cmocka_unit_test(test_no_mask_still_named), cmocka_unit_test(test_explain_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
