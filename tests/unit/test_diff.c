/* diff on a hand-built graph: a fault planted in one op is LOCAL there and
 * inherited everywhere downstream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "layerstep/diff.h"
#include "layerstep/trace.h"

static const float W[12] = {1, 0, -1, 0.5f, 0.5f, 0.5f, -1, 2, 0, 0, 0, 1};
static const float X[6] = {1, 2, 3, -1, 0, 4};

typedef struct fx {
    ls_tmap *w;
    ls_graph *g;
    ls_exec *ex;
} fx;

static void build(fx *f)
{
    f->w = ls_tmap_new("w");
    ls_tensor wt = ls_tensor_make(LS_F32, 2, (int64_t[]){4, 3}, (void *)W);
    ls_tmap_put(f->w, "fc.weight", &wt, NULL);
    ls_graph *g = ls_graph_new("Toy", f->w);
    int x = ls_graph_input(g, "x", LS_F32, 2, (int64_t[]){2, 3});
    ls_graph_begin(g, "Linear", "", "fc");
    int y = ls_graph_end(g, ls_g_linear(g, x, ls_graph_weight(g, "weight", 2, (int64_t[]){4, 3}), -1, NULL));
    int a = ls_g_op1(g, LS_OP_RELU, y, "act");
    ls_graph_begin(g, "Head", "", "head");
    int v = ls_g_reshape(g, a, 3, (int64_t[]){2, 2, 2}, NULL);
    int s = ls_g_transpose(g, v, 1, 2, "split");
    int sc = ls_g_scalar(g, LS_OP_SCALE, s, 2.0f, "scaled");
    ls_graph_end(g, ls_g_op1(g, LS_OP_SOFTMAX, sc, "probs"));
    assert_true(ls_graph_ok(g));
    f->g = g;
    assert_int_equal(ls_exec_new(g, NULL, &f->ex, NULL), LS_OK);
    ls_tensor xt = ls_tensor_make(LS_F32, 2, (int64_t[]){2, 3}, (void *)X);
    assert_int_equal(ls_exec_set_input(f->ex, "x", &xt, NULL), LS_OK);
    assert_int_equal(ls_exec_run(f->ex, NULL), LS_OK);
}

static void drop(fx *f)
{
    ls_exec_free(f->ex);
    ls_graph_free(f->g);
    ls_tmap_free(f->w);
}

static ls_tmap *snapshot(const fx *f)
{
    ls_tmap *m = ls_tmap_new("ref");
    for (int i = 0; i < ls_graph_n_nodes(f->g); i++)
        if (ls_node_is_point(ls_graph_node(f->g, i)))
            ls_tmap_put(m, ls_graph_node(f->g, i)->name, ls_exec_out(f->ex, i), NULL);
    return m;
}

static const ls_diff_row *row_of(const fx *f, const ls_diff *d, const char *name)
{
    for (int i = 0; i < d->n; i++)
        if (!strcmp(ls_graph_node(f->g, d->rows[i].node)->name, name))
            return &d->rows[i];
    fail_msg("no row for %s", name);
    return NULL;
}

static void test_clean_run_passes(void **state)
{
    (void)state;
    fx f;
    build(&f);
    ls_tmap *ref = snapshot(&f);
    ls_diff *d;
    assert_int_equal(ls_diff_run(f.ex, ref, &(ls_cmp_opts){1e-6, 1e-5}, &d, NULL), LS_OK);
    assert_int_equal(d->first_fail, -1);
    assert_true(d->n >= 6);
    ls_diff_free(d);
    ls_tmap_free(ref);
    drop(&f);
}

static void test_planted_fault_is_local_then_inherited(void **state)
{
    (void)state;
    /* The reference is a run with a planted fault in "act" (one wrong
     * cell), every op after it computed from the wrong value: a
     * consistent run of a faulty implementation.  Our clean run differs
     * from it first at act (LOCAL) and then everywhere downstream, where
     * our op fed the reference's inputs reproduces the reference
     * (inherited). */
    fx bad;
    build(&bad);
    int act = ls_graph_find(bad.g, "act");
    ls_tensor *t = ls_exec_edit(bad.ex, act, NULL);
    assert_non_null(t);
    ls_tensor_set(t, (int64_t[]){1, 2}, ls_tensor_get(t, (int64_t[]){1, 2}) + 0.5);
    assert_int_equal(ls_exec_rerun(bad.ex, act, NULL), LS_OK);
    ls_tmap *ref = snapshot(&bad);
    drop(&bad);

    fx f;
    build(&f);
    ls_diff *d;
    assert_int_equal(ls_diff_run(f.ex, ref, &(ls_cmp_opts){1e-6, 1e-5}, &d, NULL), LS_OK);
    assert_int_equal(row_of(&f, d, "fc")->verdict, LS_DIFF_PASS);
    assert_int_equal(row_of(&f, d, "act")->verdict, LS_DIFF_LOCAL);
    assert_int_equal(row_of(&f, d, "head.split")->verdict, LS_DIFF_INHERITED);
    assert_int_equal(row_of(&f, d, "head.scaled")->verdict, LS_DIFF_INHERITED);
    assert_int_equal(row_of(&f, d, "head.probs")->verdict, LS_DIFF_INHERITED);
    assert_int_equal(row_of(&f, d, "head")->verdict, LS_DIFF_INHERITED);
    assert_string_equal(ls_graph_node(f.g, d->rows[d->first_local].node)->name, "act");
    assert_int_equal(d->first_fail, d->first_local);
    /* the worst element is the planted one: act[1,2] -> flat 6 */
    assert_int_equal(row_of(&f, d, "act")->cmp.worst, 6);
    cJSON *j = ls_diff_json(f.ex, ref, d);
    assert_string_equal(cJSON_GetObjectItem(j, "first_local")->valuestring, "act");
    cJSON_Delete(j);
    ls_diff_free(d);
    ls_tmap_free(ref);
    drop(&f);
}

static void test_fault_in_a_later_op(void **state)
{
    (void)state;
    fx f;
    build(&f);
    ls_tmap *ref = snapshot(&f);
    /* plant in the reference instead: its "scaled" used a different
     * factor, so ours is LOCAL at scaled and probs inherits */
    ls_tensor *s = (ls_tensor *)ls_tmap_get(ref, "head.scaled");
    for (int64_t i = 0; i < ls_tensor_numel(s); i++)
        ls_tensor_set_flat(s, i, ls_tensor_get_flat(s, i) * 1.5);
    /* recompute the reference's probs from its scaled, as a reference would */
    ls_tensor *p = (ls_tensor *)ls_tmap_get(ref, "head.probs");
    ls_softmax_ref(s, p);
    ls_tensor *h = (ls_tensor *)ls_tmap_get(ref, "head");
    ls_tensor_copy(h, p);
    ls_diff *d;
    assert_int_equal(ls_diff_run(f.ex, ref, &(ls_cmp_opts){1e-6, 1e-5}, &d, NULL), LS_OK);
    assert_int_equal(row_of(&f, d, "head.split")->verdict, LS_DIFF_PASS);
    assert_int_equal(row_of(&f, d, "head.scaled")->verdict, LS_DIFF_LOCAL);
    assert_int_equal(row_of(&f, d, "head.probs")->verdict, LS_DIFF_INHERITED);
    ls_diff_free(d);
    ls_tmap_free(ref);
    drop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_run_passes),
        cmocka_unit_test(test_planted_fault_is_local_then_inherited),
        cmocka_unit_test(test_fault_in_a_later_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
