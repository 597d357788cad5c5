/* Every lesson in lessons/ loads, names only points its model has, and
 * each question's answer worked out from the live tensors is accepted,
 * while a wrong one is refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layerstep/atomic.h"
#include "layerstep/lesson.h"

static const char *root(void)
{
    const char *r = getenv("LS_SOURCE_ROOT");
    return r ? r : ".";
}

/* A wrong answer of the same kind as the right one. */
static void wrong_of(const ls_lesson_question *q, const char *right, char *buf, size_t n)
{
    switch (q->kind) {
    case LS_Q_SHAPE: snprintf(buf, n, "[%s, 1]", right + 1); buf[strlen(buf) - 1] = '7'; break;
    case LS_Q_MASKED: snprintf(buf, n, "%s", strcmp(right, "none") ? "none" : "0"); break;
    case LS_Q_CHOICE: snprintf(buf, n, "%c", right[0] == 'a' ? 'b' : 'a'); break;
    case LS_Q_DIRECTION: snprintf(buf, n, "%s", right[0] == 'r' ? "falls" : "rises"); break;
    default: buf[0] = '\0';
    }
}

static void check_lesson(const char *path)
{
    ls_error err = {0};
    ls_lesson *L;
    char data[600];
    snprintf(data, sizeof data, "%s/data", root());
    if (ls_lesson_load(path, &L, &err))
        fail_msg("%s", err.msg);
    ls_lesson_run run;
    ls_exec_opts eo = {.threads = 1};
    if (ls_lesson_run_open(L, data, &eo, &run, &err))
        fail_msg("%s", err.msg);
    if (ls_lesson_check_points(L, run.g, &err))
        fail_msg("%s", err.msg);
    for (int i = 0; i < L->n_steps; i++) {
        const ls_lesson_step *s = &L->steps[i];
        /* every live fact the narration quotes resolves */
        for (int lang = 0; lang < LS_LANG_COUNT; lang++) {
            char text[4096];
            ls_lesson_expand(ls_ltext_get(&s->text, lang), run.g, text, sizeof text);
            if (strstr(text, "{shape:") || strstr(text, "{dim:") || strstr(text, " ?,") ||
                strstr(text, " ?\xef\xbc\x9a") || strstr(text, " ?:"))
                fail_msg("%s: step %d: unresolved live fact in '%s'", path, i + 1, text);
        }
        if (!s->q.kind)
            continue;
        char ans[256], wrong[300], why[1200];
        if (ls_lesson_solve(L, i, &run, ans, sizeof ans, &err))
            fail_msg("%s: step %d: %s", path, i + 1, err.msg);
        wrong_of(&s->q, ans, wrong, sizeof wrong);
        if (s->q.kind == LS_Q_DIRECTION) {
            /* redo the edit by hand: check wants the state after it */
            int node = ls_graph_find(run.g, s->act.point);
            double before = ls_lesson_watch(&s->q, run.g, run.ex);
            ls_tensor *t = ls_exec_edit(run.ex, node, &err);
            assert_non_null(t);
            double old = ls_tensor_get(t, s->act.index);
            ls_tensor_set(t, s->act.index, s->act.value);
            assert_int_equal(ls_exec_rerun(run.ex, node, &err), LS_OK);
            assert_true(ls_lesson_check(&s->q, run.g, run.ex, &before, ans, LS_LANG_EN, why, sizeof why));
            assert_false(ls_lesson_check(&s->q, run.g, run.ex, &before, wrong, LS_LANG_ZH, why, sizeof why));
            assert_non_null(strstr(why, ls_ltext_get(&s->q.why, LS_LANG_ZH)));
            ls_tensor_set(t, s->act.index, old);
            ls_exec_unpin(run.ex, node);
            assert_int_equal(ls_exec_rerun(run.ex, node, &err), LS_OK);
            continue;
        }
        if (!ls_lesson_check(&s->q, run.g, run.ex, NULL, ans, LS_LANG_EN, why, sizeof why))
            fail_msg("%s: step %d: the live answer '%s' is refused: %s", path, i + 1, ans, why);
        if (ls_lesson_check(&s->q, run.g, run.ex, NULL, wrong, LS_LANG_EN, why, sizeof why))
            fail_msg("%s: step %d: the wrong answer '%s' is accepted", path, i + 1, wrong);
        /* the reason states the live fact and the lesson's explanation */
        assert_non_null(strstr(why, ls_ltext_get(&s->q.why, LS_LANG_EN)));
    }
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
}

static void test_every_lesson(void **state)
{
    (void)state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/lessons", root());
    char **paths;
    int n;
    ls_error err = {0};
    assert_int_equal(ls_lesson_list(dir, &paths, &n, &err), LS_OK);
    assert_true(n >= 1);
    for (int i = 0; i < n; i++) {
        print_message("lesson %s\n", paths[i]);
        check_lesson(paths[i]);
    }
    ls_lesson_list_free(paths, n);
}

/* The lesson 02 facts the walkthrough is about, from the live model. */
static void test_lesson02_facts(void **state)
{
    (void)state;
    char path[600], data[600];
    snprintf(path, sizeof path, "%s/lessons/02_masks_teacher_forcing.json", root());
    snprintf(data, sizeof data, "%s/data", root());
    ls_error err = {0};
    ls_lesson *L;
    assert_int_equal(ls_lesson_load(path, &L, &err), LS_OK);
    ls_lesson_run run;
    assert_int_equal(ls_lesson_run_open(L, data, &(ls_exec_opts){.threads = 1}, &run, &err), LS_OK);
    char ans[256];
    for (int i = 0; i < L->n_steps; i++) {
        const ls_lesson_step *s = &L->steps[i];
        if (!s->q.kind)
            continue;
        assert_int_equal(ls_lesson_solve(L, i, &run, ans, sizeof ans, &err), LS_OK);
        if (!strcmp(s->point, "decoder.dec_self_attn_subsequence_mask"))
            assert_string_equal(ans, "3 4 5");       /* row 2: the future */
        if (!strcmp(s->point, "decoder.dec_enc_attn_mask"))
            assert_string_equal(ans, "4");           /* the source's trailing P */
        if (!strcmp(s->point, "decoder.dec_self_attn_pad_mask"))
            assert_string_equal(ans, "none");        /* the text says no P in the target */
        if (s->q.kind == LS_Q_DIRECTION)
            assert_string_equal(ans, "rises");       /* the weight moves to the kept keys */
    }
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
}

static void write_file(const char *path, const char *text)
{
    assert_int_equal(ls_atomic_write_file(path, text, strlen(text), NULL), LS_OK);
}

static void test_errors_name_file_and_step(void **state)
{
    (void)state;
    char path[] = "/tmp/ls_lesson_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    ls_error err = {0};
    ls_lesson *L;
    write_file(path, "{\"title\":{\"en\":\"t\",\"zh\":\"t\"},\"model\":\"m\",\"steps\":["
                     "{\"point\":\"a\",\"text\":{\"en\":\"x\",\"zh\":\"x\"}},"
                     "{\"point\":\"b\",\"text\":{\"en\":\"x\"}}]}");
    assert_int_not_equal(ls_lesson_load(path, &L, &err), LS_OK);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "step 2"));
    assert_non_null(strstr(err.msg, "zh"));
    write_file(path, "{\"title\":{\"en\":\"t\",\"zh\":\"t\"},\"model\":\"m\",\"steps\":["
                     "{\"point\":\"a\",\"text\":{\"en\":\"x\",\"zh\":\"x\"},"
                     "\"question\":{\"kind\":\"guess\"}}]}");
    assert_int_not_equal(ls_lesson_load(path, &L, &err), LS_OK);
    assert_non_null(strstr(err.msg, "step 1: question: unknown kind 'guess'"));
    write_file(path, "{\"title\": ");
    assert_int_not_equal(ls_lesson_load(path, &L, &err), LS_OK);
    assert_non_null(strstr(err.msg, "not valid JSON"));
    unlink(path);
}

/* A lesson parsed from memory (not NUL-terminated) whose edit names a
 * cell outside its tensor is refused before anything is written: by the
 * point check and by solve (which `lesson --answers` calls without it).
 * Found by fuzz_lesson: the edit wrote outside the mask. */
static void test_parse_and_hostile_edit(void **state)
{
    (void)state;
    static const char text[] =
        "{\"title\":{\"en\":\"t\",\"zh\":\"t\"},\"model\":\"toy_transformer\",\"input\":{\"dir\":\"inputs\"},"
        "\"steps\":[{\"point\":\"decoder.layers.0.dec_self_attn.attn\",\"text\":{\"en\":\"x\",\"zh\":\"x\"},"
        "\"question\":{\"kind\":\"direction\",\"prompt\":{\"en\":\"p\",\"zh\":\"p\"},"
        "\"why\":{\"en\":\"w\",\"zh\":\"w\"},\"index\":[0,0,3,0]},"
        "\"action\":{\"kind\":\"edit\",\"point\":\"decoder.dec_self_attn_mask\",\"index\":[0,3,99999],\"value\":true}}]}";
    char buf[sizeof text + 8];
    memcpy(buf, text, sizeof text - 1);
    memset(buf + sizeof text - 1, '}', 8);  /* no NUL: only n bytes are read */
    ls_error err = {0};
    ls_lesson *L;
    assert_int_equal(ls_lesson_parse(buf, sizeof text - 1, "mem/07_x.json", &L, &err), LS_OK);
    assert_string_equal(L->id, "07");
    char data[600];
    snprintf(data, sizeof data, "%s/data", root());
    ls_lesson_run run;
    if (ls_lesson_run_open(L, data, &(ls_exec_opts){.threads = 1}, &run, &err))
        fail_msg("%s", err.msg);
    assert_int_not_equal(ls_lesson_check_points(L, run.g, &err), LS_OK);
    assert_non_null(strstr(err.msg, "mem/07_x.json: step 1: edit index"));
    char ans[64];
    assert_int_not_equal(ls_lesson_solve(L, 0, &run, ans, sizeof ans, &err), LS_OK);
    assert_non_null(strstr(err.msg, "is not a cell of 'decoder.dec_self_attn_mask'"));
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
    /* the parse error's line is counted within the n bytes */
    static const char bad[] = "{\n\n\"title\": ]";
    assert_int_not_equal(ls_lesson_parse(bad, sizeof bad - 1, "mem/x.json", &L, &err), LS_OK);
    assert_non_null(strstr(err.msg, "mem/x.json: not valid JSON (near line 3)"));
}

static void test_progress(void **state)
{
    (void)state;
    char dir[] = "/tmp/ls_progress_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[300];
    snprintf(path, sizeof path, "%s/a/b/progress.json", dir);
    int step;
    bool done, any;
    assert_int_equal(ls_progress_get(path, "02", &step, &done, &any), LS_OK);
    assert_false(any);
    assert_int_equal(ls_progress_set(path, "02", 4, false, NULL), LS_OK);
    assert_int_equal(ls_progress_set(path, "01", 9, true, NULL), LS_OK);
    assert_int_equal(ls_progress_get(path, "02", &step, &done, &any), LS_OK);
    assert_true(any);
    assert_int_equal(step, 4);
    assert_false(done);
    assert_int_equal(ls_progress_get(path, "01", &step, &done, &any), LS_OK);
    assert_int_equal(step, 9);
    assert_true(done);
    unlink(path);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/a", dir);
    rmdir(sub);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_lesson),
        cmocka_unit_test(test_lesson02_facts),
        cmocka_unit_test(test_errors_name_file_and_step),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_parse_and_hostile_edit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
