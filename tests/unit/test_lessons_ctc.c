/* Lesson 06's question kinds (text: a CTC transcript or the unit of a
 * cell; count: cells equal to a value), box edits (index..to), the
 * {transcript} fact and `lesson --wav`'s file, on the hand-set ctc_hello
 * model of tests/data; and what the loader and the point check refuse
 * about them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/lesson.h"

static const char *root(void)
{
    const char *r = getenv("LS_SOURCE_ROOT");
    return r ? r : ".";
}

/* Lesson 06's question kinds and box edit on the hand-set ctc_hello model
 * (tests/data), whose path for hello.wav is known exactly:
 *   ··hhhhhhhh··eeeeeeee··llllllll··llllllll··oooooooo··▁▁▁▁▁▁▁▁··wwwwwwww··...
 * (112 frames, 12 runs of 8, 2 blanks before each run: 24 blanks). */
#define Q(kind, extra) \
    "\"question\":{\"kind\":\"" kind "\",\"prompt\":{\"en\":\"p\",\"zh\":\"p\"}," \
    "\"why\":{\"en\":\"why-en\",\"zh\":\"why-zh\"}" extra "}"
#define T "\"text\":{\"en\":\"x\",\"zh\":\"x\"}"
static const char ctc_lesson[] =
    "{\"title\":{\"en\":\"t\",\"zh\":\"t\"},\"model\":\"ctc_hello\",\"input\":{\"wav\":\"ctc_hello/hello.wav\"},"
    "\"steps\":["
    "{\"point\":\"ctc_greedy_search\"," T "," Q("text", "") "},"
    "{\"point\":\"ctc.log_softmax\"," T "," Q("text", ",\"of\":\"topk_index\",\"index\":[0,14]") "},"
    "{\"point\":\"topk_index\"," T "," Q("text", ",\"index\":[0,0]") "},"
    "{\"point\":\"topk_index\"," T "," Q("count", ",\"index\":[0],\"equal\":0") "},"
    "{\"point\":\"ctc.log_softmax\"," T ",\"action\":{\"kind\":\"edit\",\"index\":[0,25,0],\"value\":0},"
    Q("text", ",\"of\":\"ctc_greedy_search\"") "},"
    "{\"point\":\"xs\"," T ",\"action\":{\"kind\":\"edit\",\"index\":[0,62,0],\"to\":[0,69,79],\"value\":-15.942385},"
    Q("text", ",\"of\":\"ctc_greedy_search\"") "}"
    "]}";

static bool hide_all(void *ud, const char *point, const ls_tensor *shape, int dim)
{
    (void)ud;
    (void)shape;
    return dim == -2 && !strcmp(point, "ctc_greedy_search");
}

static void test_ctc_questions(void **state)
{
    (void)state;
    char data[600];
    snprintf(data, sizeof data, "%s/tests/data", root());
    ls_error err = {0};
    ls_lesson *L;
    if (ls_lesson_parse(ctc_lesson, sizeof ctc_lesson - 1, "ctc.json", &L, &err))
        fail_msg("%s", err.msg);
    ls_lesson_run run;
    if (ls_lesson_run_open(L, data, &(ls_exec_opts){.threads = 1}, &run, &err) ||
        ls_lesson_check_all(L, &run, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(run.wav_rate, 16000);
    char ans[256], why[1200];
    static const char *const want[] = {"hello world", "e", "blank", "24", "helllo world", "hello orld"};
    for (int i = 0; i < L->n_steps; i++) {
        assert_int_equal(ls_lesson_solve(L, i, &run, ans, sizeof ans, &err), LS_OK);
        assert_string_equal(ans, want[i]);
    }
    /* solve put every edit back: the clip says what it said */
    char heard[256];
    assert_true(ls_ctc_transcript(run.m, run.ex, 0, heard, sizeof heard));
    assert_string_equal(heard, "hello world");
    const ls_lesson_question *q = &L->steps[0].q;
    assert_true(ls_lesson_check(q, run.g, run.ex, run.m, NULL, "  Hello   WORLD ", LS_LANG_EN, why, sizeof why));
    assert_false(ls_lesson_check(q, run.g, run.ex, run.m, NULL, "hello", LS_LANG_EN, why, sizeof why));
    assert_non_null(strstr(why, "ctc_greedy_search decodes to \"hello world\""));
    assert_non_null(strstr(why, "why-en"));
    assert_false(ls_lesson_check(q, run.g, run.ex, NULL, NULL, "hello world", LS_LANG_EN, why, sizeof why));
    /* a unit: its text, or its id (the column read); 'e' is id 3 */
    q = &L->steps[1].q;
    assert_true(ls_lesson_check(q, run.g, run.ex, run.m, NULL, "E", LS_LANG_EN, why, sizeof why));
    assert_true(ls_lesson_check(q, run.g, run.ex, run.m, NULL, "3", LS_LANG_EN, why, sizeof why));
    assert_false(ls_lesson_check(q, run.g, run.ex, run.m, NULL, "4", LS_LANG_EN, why, sizeof why));
    assert_false(ls_lesson_check(q, run.g, run.ex, run.m, NULL, "3x", LS_LANG_EN, why, sizeof why));
    assert_false(ls_lesson_check(q, run.g, run.ex, run.m, NULL, "l", LS_LANG_ZH, why, sizeof why));
    assert_non_null(strstr(why, "topk_index 在 [0, 14] 处是 e"));
    q = &L->steps[2].q;
    assert_true(ls_lesson_check(q, run.g, run.ex, run.m, NULL, "\xc2\xb7", LS_LANG_EN, why, sizeof why));
    assert_true(ls_lesson_check(q, run.g, run.ex, run.m, NULL, "<blank>", LS_LANG_EN, why, sizeof why));
    assert_true(ls_lesson_check(q, run.g, run.ex, run.m, NULL, "0", LS_LANG_EN, why, sizeof why));
    assert_false(ls_lesson_check(q, run.g, run.ex, run.m, NULL, "h", LS_LANG_EN, why, sizeof why));
    q = &L->steps[3].q;
    assert_true(ls_lesson_check(q, run.g, run.ex, run.m, NULL, " 24 ", LS_LANG_EN, why, sizeof why));
    assert_false(ls_lesson_check(q, run.g, run.ex, run.m, NULL, "23", LS_LANG_EN, why, sizeof why));
    assert_false(ls_lesson_check(q, run.g, run.ex, run.m, NULL, "24 25", LS_LANG_EN, why, sizeof why));
    assert_non_null(strstr(why, "row [0] of topk_index has 24 cells equal to 0"));
    /* the box: 8 frames x 80 bins, row-major */
    const ls_lesson_action *act = &L->steps[5].act;
    assert_int_equal(ls_lesson_edit_count(act), 640);
    assert_int_equal(ls_lesson_edit_count(&L->steps[4].act), 1);
    int64_t idx[LS_MAX_DIMS];
    ls_lesson_edit_cell(act, 0, idx);
    assert_true(idx[0] == 0 && idx[1] == 62 && idx[2] == 0);
    ls_lesson_edit_cell(act, 81, idx);
    assert_true(idx[1] == 63 && idx[2] == 1);
    ls_lesson_edit_cell(act, 639, idx);
    assert_true(idx[1] == 69 && idx[2] == 79);
    double *old = NULL;
    const ls_tensor *xs = ls_exec_out(run.ex, ls_graph_find(run.g, "xs"));
    double around[2][80], inside = 0;
    for (int k = 0; k < 80; k++) {
        around[0][k] = ls_tensor_get(xs, (int64_t[]){0, 61, k});
        around[1][k] = ls_tensor_get(xs, (int64_t[]){0, 70, k});
        inside += ls_tensor_get(xs, (int64_t[]){0, 65, k});
    }
    assert_true(inside > 80 * -15.9);  /* frame 65 is not silent before */
    assert_int_equal(ls_lesson_edit_apply(act, run.g, run.ex, &old, &err), LS_OK);
    xs = ls_exec_out(run.ex, ls_graph_find(run.g, "xs"));
    for (int k = 0; k < 80; k++) {
        for (int f = 62; f <= 69; f++)
            assert_float_equal(ls_tensor_get(xs, (int64_t[]){0, f, k}), -15.942385, 1e-5);
        /* the frames either side are untouched */
        assert_true(ls_tensor_get(xs, (int64_t[]){0, 61, k}) == around[0][k]);
        assert_true(ls_tensor_get(xs, (int64_t[]){0, 70, k}) == around[1][k]);
    }
    /* {transcript}: live, hidden on request, "?" without the run */
    char text[256];
    assert_int_equal(ls_lesson_expand_live("heard \"{transcript}\".", run.g, run.ex, run.m, NULL, NULL, text,
                                           sizeof text), 0);
    assert_string_equal(text, "heard \"hello orld\".");
    assert_int_equal(ls_lesson_expand_live("heard {transcript}", run.g, run.ex, run.m, hide_all, NULL, text,
                                           sizeof text), 0);
    assert_string_equal(text, "heard ?");
    assert_int_equal(ls_lesson_expand("heard {transcript}", run.g, text, sizeof text), 1);
    assert_int_equal(ls_lesson_edit_undo(act, run.g, run.ex, old, &err), LS_OK);
    assert_true(ls_ctc_transcript(run.m, run.ex, 0, heard, sizeof heard));
    assert_string_equal(heard, "hello world");
    ls_lesson_run_close(&run);
    ls_lesson_free(L);

    /* --wav: the learner's clip replaces the lesson's; a bad one is named */
    assert_int_equal(ls_lesson_parse(ctc_lesson, sizeof ctc_lesson - 1, "ctc.json", &L, &err), LS_OK);
    assert_true(ls_lesson_takes_wav(L));
    L->user_wav = strdup("/nonexistent/mine.wav");
    assert_int_not_equal(ls_lesson_run_open(L, data, NULL, &run, &err), LS_OK);
    assert_non_null(strstr(err.msg, "/nonexistent/mine.wav"));
    ls_lesson_free(L);
}

/* What the loader and the point check refuse about the new kinds and boxes. */
static void test_ctc_lesson_errors(void **state)
{
    (void)state;
    static const struct { const char *step, *msg; } bad[] = {
        {"{\"point\":\"xs\"," T ",\"action\":{\"kind\":\"edit\",\"index\":[0,2,0],\"to\":[0,3],\"value\":0}}",
         "\"to\" must have as many numbers as \"index\""},
        {"{\"point\":\"xs\"," T ",\"action\":{\"kind\":\"edit\",\"index\":[0,5,0],\"to\":[0,3,0],\"value\":0}}",
         "\"to\" must not be before \"index\" (dim 1)"},
        {"{\"point\":\"xs\"," T ",\"action\":{\"kind\":\"edit\",\"index\":[0,0,0],\"to\":[2000,2000,2000],\"value\":0}}",
         "at most 1048576"},
        {"{\"point\":\"topk_index\"," T "," Q("count", ",\"index\":[0]") "}", "missing \"equal\""},
        {"{\"point\":\"topk_index\"," T "," Q("count", "") "}", "missing \"index\""},
        {"{\"point\":\"topk_index\"," T "," Q("spell", "") "}", "(shape, choice, masked, direction, text, count or argmax)"},
    };
    ls_error err = {0};
    ls_lesson *L;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[2048];
        snprintf(text, sizeof text, "{\"title\":{\"en\":\"t\",\"zh\":\"t\"},\"model\":\"ctc_hello\",\"steps\":[%s]}",
                 bad[i].step);
        assert_int_not_equal(ls_lesson_parse(text, strlen(text), "bad.json", &L, &err), LS_OK);
        if (!strstr(err.msg, bad[i].msg) || !strstr(err.msg, "bad.json: step 1"))
            fail_msg("case %zu: '%s' does not say '%s'", i, err.msg, bad[i].msg);
    }
    /* against the live graph: a box past the tensor, a transcript of a
     * tensor that is not the decoding, a count row of the wrong length */
    static const struct { const char *step, *msg; } live_bad[] = {
        {"{\"point\":\"xs\"," T ",\"action\":{\"kind\":\"edit\",\"index\":[0,100,0],\"to\":[0,120,79],\"value\":0}}",
         "step 1: edit \"to\" is not a cell of 'xs'"},
        {"{\"point\":\"topk_index\"," T "," Q("text", "") "}", "\"of\" must be ctc_greedy_search, not 'topk_index'"},
        {"{\"point\":\"topk_index\"," T "," Q("count", ",\"index\":[0,1],\"equal\":0") "}",
         "index of 'topk_index' has 2 numbers, expected 1"},
    };
    char data[600];
    snprintf(data, sizeof data, "%s/tests/data", root());
    for (size_t i = 0; i < sizeof live_bad / sizeof live_bad[0]; i++) {
        char text[2048];
        snprintf(text, sizeof text, "{\"title\":{\"en\":\"t\",\"zh\":\"t\"},\"model\":\"ctc_hello\","
                 "\"input\":{\"wav\":\"ctc_hello/hello.wav\"},\"steps\":[%s]}", live_bad[i].step);
        assert_int_equal(ls_lesson_parse(text, strlen(text), "bad.json", &L, &err), LS_OK);
        ls_lesson_run run;
        assert_int_equal(ls_lesson_run_open(L, data, NULL, &run, &err), LS_OK);
        assert_int_not_equal(ls_lesson_check_all(L, &run, &err), LS_OK);
        if (!strstr(err.msg, live_bad[i].msg))
            fail_msg("live case %zu: '%s' does not say '%s'", i, err.msg, live_bad[i].msg);
        ls_lesson_run_close(&run);
        ls_lesson_free(L);
    }
}
#undef Q
#undef T

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctc_questions),
        cmocka_unit_test(test_ctc_lesson_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
