/* The quiz as a student meets it, key by key (src/tui/quiz.c, line.c):
 * the answer line edits like readline and takes UTF-8; while a question
 * is open every letter is the answer's, and what it asks for is nowhere
 * on the screen; a choice is answered by its letter or value without
 * Enter; a wrong answer gets one more try, then the answer; P goes back
 * a step; the score is kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layerstep/lesson.h"
#include "layerstep/tui.h"
#include "../../src/tui/tui_internal.h" /* the line editor is internal */

/* ---- the line editor ---- */

static void type(tui_line *l, const char *s)
{
    for (; *s; s++)
        assert_true(tui_line_key(l, (unsigned char)*s));
}

static void test_line_editing(void **state)
{
    (void)state;
    tui_line l;
    tui_line_set(&l, "");
    type(&l, "[1, 8, 32, 64]");
    assert_string_equal(l.buf, "[1, 8, 32, 64]");
    assert_true(tui_line_key(&l, LS_KEY_LEFT));
    assert_true(tui_line_key(&l, LS_KEY_BACKSPACE));  /* the 4 */
    assert_string_equal(l.buf, "[1, 8, 32, 6]");
    assert_true(tui_line_key(&l, LS_KEY_HOME));
    type(&l, "x");
    assert_string_equal(l.buf, "x[1, 8, 32, 6]");
    assert_true(tui_line_key(&l, LS_KEY_CTRL('e')));
    assert_int_equal(l.pos, l.len);
    assert_true(tui_line_key(&l, LS_KEY_CTRL('w')));  /* "6]" */
    assert_string_equal(l.buf, "x[1, 8, 32, ");
    assert_true(tui_line_key(&l, LS_KEY_CTRL('w')));  /* "32, " and the blank */
    assert_string_equal(l.buf, "x[1, 8, ");
    assert_true(tui_line_key(&l, LS_KEY_CTRL('a')));
    assert_true(tui_line_key(&l, LS_KEY_RIGHT));
    assert_true(tui_line_key(&l, LS_KEY_CTRL('k')));
    assert_string_equal(l.buf, "x");
    type(&l, "yz");
    assert_true(tui_line_key(&l, LS_KEY_LEFT));
    assert_true(tui_line_key(&l, LS_KEY_CTRL('u')));
    assert_string_equal(l.buf, "z");
    assert_int_equal(l.pos, 0);
    assert_true(tui_line_key(&l, LS_KEY_CTRL('d')));
    assert_string_equal(l.buf, "");
    /* Backspace on an empty line is still the line's: nothing to delete */
    assert_true(tui_line_key(&l, LS_KEY_BACKSPACE));
    assert_false(tui_line_key(&l, LS_KEY_ESC));
    assert_false(tui_line_key(&l, LS_KEY_ENTER));
}

static void test_line_utf8(void **state)
{
    (void)state;
    tui_line l;
    tui_line_set(&l, "");
    /* an input method's phrase arrives as UTF-8 bytes */
    type(&l, "升高");
    assert_string_equal(l.buf, "升高");
    assert_true(tui_line_complete_utf8(&l));
    assert_true(tui_line_key(&l, LS_KEY_LEFT));  /* over one character, 3 bytes */
    assert_int_equal(l.pos, 3);
    type(&l, "a");
    assert_string_equal(l.buf, "升a高");
    assert_true(tui_line_key(&l, LS_KEY_END));
    assert_true(tui_line_key(&l, LS_KEY_BACKSPACE));  /* a whole character */
    assert_string_equal(l.buf, "升a");
    assert_true(tui_line_key(&l, 0xe9));  /* half a character: not complete yet */
    assert_false(tui_line_complete_utf8(&l));
    assert_true(tui_line_key(&l, 0x99));
    assert_true(tui_line_key(&l, 0x8d));
    assert_true(tui_line_complete_utf8(&l));
    assert_string_equal(l.buf, "升a降");
    /* a long paste stops at the buffer, never mid-character on set */
    char big[2000];
    for (int i = 0; i < 600; i++)
        memcpy(big + 3 * i, "降", 3);
    big[1800] = '\0';
    tui_line_set(&l, big);
    assert_true(l.len < (int)sizeof l.buf);
    assert_int_equal(l.len % 3, 0);
}

/* ---- the quiz on the toy Transformer ---- */

#define T2 "{\"en\":\"x\",\"zh\":\"x\"}"
#define TXT(s) "{\"en\":\"" s "\",\"zh\":\"" s "\"}"
static const char lesson_text[] =
    "{\"title\":" T2 ",\"model\":\"transformer_small\",\"input\":{\"dir\":\"inputs\"},\"steps\":["
    /* 1: a shape question whose narration quotes the shape */
    "{\"point\":\"encoder.layers.0.enc_self_attn.q\",\"text\":" TXT("q is {shape:encoder.layers.0.enc_self_attn.q} here") ","
    "\"question\":{\"kind\":\"shape\",\"of\":\"encoder.layers.0.enc_self_attn.q\",\"prompt\":" TXT("shape?") ",\"why\":" T2 "}},"
    /* 2: d_k as a choice (answered by value) */
    "{\"point\":\"encoder.layers.0.enc_self_attn.q\",\"text\":" T2 ","
    "\"question\":{\"kind\":\"choice\",\"of\":\"encoder.layers.0.enc_self_attn.q\",\"dim\":3,\"prompt\":" TXT("d_k?") ","
    "\"choices\":[{\"value\":1,\"text\":" TXT("1") "},{\"value\":8,\"text\":" TXT("8") "},{\"value\":16,\"text\":" TXT("16") "}],"
    "\"why\":" T2 "}},"
    /* 3: heads as a choice where one value continues another: "1" waits for "16"... */
    "{\"point\":\"encoder.layers.0.enc_self_attn.q\",\"text\":" T2 ","
    "\"question\":{\"kind\":\"choice\",\"of\":\"encoder.layers.0.enc_self_attn.q\",\"dim\":1,\"prompt\":" TXT("heads?") ","
    "\"choices\":[{\"value\":1,\"text\":" TXT("1") "},{\"value\":4,\"text\":" TXT("4") "},{\"value\":16,\"text\":" TXT("16") "}],"
    "\"why\":" T2 "}},"
    /* 4: which keys does row 0 of item 0 mask (the padding P) */
    "{\"point\":\"encoder.layers.0.enc_self_attn.attn\",\"show\":\"attention\",\"text\":" T2 ","
    "\"question\":{\"kind\":\"masked\",\"of\":\"encoder.layers.0.enc_self_attn.mask\",\"index\":[0,0,0],"
    "\"prompt\":" TXT("masked?") ",\"why\":" T2 "}},"
    "{\"point\":\"encoder.layers.0.enc_self_attn.fc\",\"text\":" T2 "}]}";

typedef struct fx {
    ls_lesson *L;
    ls_lesson_run run;
    ls_tui *app;
    ls_textcanvas tc;
} fx;

static void fx_open_text(fx *f, const char *text, size_t n)
{
    memset(f, 0, sizeof *f);
    ls_error err = {0};
    if (ls_lesson_parse(text, n, "mem/09_quiz.json", &f->L, &err))
        fail_msg("%s", err.msg);
    const char *d = getenv("LS_TEST_DATA");
    char data[700];
    snprintf(data, sizeof data, "%s", d ? d : "tests/data");
    assert_int_equal(ls_lesson_run_open(f->L, data, &(ls_exec_opts){.threads = 1}, &f->run, &err), LS_OK);
    ls_tui_opts to = {.model = f->run.m, .inputs = f->run.in, .lesson = f->L, .data_dir = data,
                      .exec = {.threads = 1}};
    assert_int_equal(ls_tui_new(f->run.g, f->run.ex, &to, &f->app, &err), LS_OK);
    assert_int_equal(ls_textcanvas_init(&f->tc, 80, 24), LS_OK);
    ls_tui_set_size(f->app, 80, 24);
}

static void fx_open(fx *f) { fx_open_text(f, lesson_text, sizeof lesson_text - 1); }

static void fx_close(fx *f)
{
    ls_textcanvas_free(&f->tc);
    ls_tui_free(f->app);
    ls_lesson_run_close(&f->run);
    ls_lesson_free(f->L);
}

static ls_tui_state st(fx *f)
{
    ls_tui_state s;
    ls_tui_get_state(f->app, &s);
    return s;
}

/* The whole screen as UTF-8 text. */
static char *screen(fx *f)
{
    ls_textcanvas_clear(&f->tc);
    ls_tui_draw(f->app, &f->tc.c);
    static char buf[80 * 24 * 4 + 64];
    size_t k = 0;
    for (int y = 0; y < 24; y++) {
        for (int x = 0; x < 80; x++) {
            const char *c = f->tc.utf8 + ((size_t)y * 80 + (size_t)x) * 4;
            size_t n = strnlen(c, 4);
            memcpy(buf + k, n ? c : "", n);
            k += n;
        }
        buf[k++] = '\n';
    }
    buf[k] = '\0';
    return buf;
}

static void feed(fx *f, const char *keys)
{
    for (; *keys; keys++)
        ls_tui_feed(f->app, (unsigned char)*keys);
}

static void test_shape_question(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    const char *shape = "[2, 4, 5, 8]";
    ls_tui_state s = st(&f);
    assert_int_equal(s.lesson_step, 0);
    assert_true(s.prompt);  /* the question opens the answer line */
    char *scr = screen(&f);
    assert_null(strstr(scr, shape));
    assert_non_null(strstr(scr, "q is [?, ?, ?, ?] here"));  /* the narration hides it too */
    assert_non_null(strstr(scr, "at encoder.layers.0.enc_self_attn.q [?, ?, ?, ?]"));
    /* debugger keys are typed, the debugger does not move */
    int at = s.at, cursor = s.cursor;
    feed(&f, "bcosnRM");
    s = st(&f);
    assert_int_equal(s.at, at);
    assert_int_equal(s.cursor, cursor);
    assert_int_equal(s.n_breaks, 0);
    assert_false(s.in_module_run);
    assert_non_null(strstr(screen(&f), "answer> bcosnRM"));
    /* Backspace to empty and once more: the line stays open */
    for (int i = 0; i < 8; i++)
        ls_tui_feed(f.app, LS_KEY_BACKSPACE);
    assert_true(st(&f).prompt);
    feed(&f, "c");
    assert_int_equal(st(&f).at, at);
    ls_tui_feed(f.app, LS_KEY_CTRL('u'));
    /* wrong once: a reason without the shape, one more try */
    feed(&f, "[2, 4, 5, 9]");
    ls_tui_feed(f.app, LS_KEY_ENTER);
    s = st(&f);
    assert_int_equal(s.answer, 2);
    assert_true(s.prompt);
    scr = screen(&f);
    assert_non_null(strstr(scr, "Not quite"));
    assert_null(strstr(scr, shape));
    /* Esc hands the keys back, the question stays open and hidden */
    ls_tui_feed(f.app, LS_KEY_ESC);
    assert_false(st(&f).prompt);
    assert_null(strstr(screen(&f), shape));
    ls_tui_feed(f.app, 'n');  /* back to the answer line, not the next step */
    s = st(&f);
    assert_true(s.prompt);
    assert_int_equal(s.lesson_step, 0);
    /* right: the shape shows everywhere again */
    feed(&f, shape);
    ls_tui_feed(f.app, LS_KEY_ENTER);
    s = st(&f);
    assert_int_equal(s.answer, 1);
    assert_false(s.prompt);
    scr = screen(&f);
    assert_non_null(strstr(scr, "Right"));
    assert_non_null(strstr(scr, "q is [2, 4, 5, 8] here"));
    fx_close(&f);
}

static void test_choice_by_letter_and_value(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    /* step 1 shown (empty Enter) */
    ls_tui_feed(f.app, LS_KEY_ENTER);
    assert_int_equal(st(&f).answer, 3);
    ls_tui_feed(f.app, 'n');
    assert_int_equal(st(&f).lesson_step, 1);
    /* d_k as a value: "8" answers at once, no Enter; nothing else gives 8 away */
    char *scr = screen(&f);
    assert_null(strstr(scr, "[2, 4, 5, 8]"));
    feed(&f, "8");
    assert_int_equal(st(&f).answer, 1);
    ls_tui_feed(f.app, 'n');
    assert_int_equal(st(&f).lesson_step, 2);
    /* heads: "1" is the start of "16", so it waits; "16" is wrong; the letter b is right */
    feed(&f, "1");
    assert_int_equal(st(&f).answer, 0);
    feed(&f, "6");
    assert_int_equal(st(&f).answer, 2);
    feed(&f, "b");
    assert_int_equal(st(&f).answer, 1);
    /* P goes back a step, as it was: answered, not asked again */
    ls_tui_feed(f.app, 'P');
    ls_tui_state s = st(&f);
    assert_int_equal(s.lesson_step, 1);
    assert_int_equal(s.answer, 1);
    assert_false(s.prompt);
    ls_tui_feed(f.app, 'n');
    ls_tui_feed(f.app, 'n');
    assert_int_equal(st(&f).lesson_step, 3);
    fx_close(&f);
}

static void test_masked_question_hides_the_mask(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    for (int i = 0; i < 3; i++) {
        ls_tui_feed(f.app, LS_KEY_ENTER);  /* shown */
        ls_tui_feed(f.app, 'n');
    }
    ls_tui_state s = st(&f);
    assert_int_equal(s.lesson_step, 3);
    assert_true(s.attention);
    char *scr = screen(&f);
    /* no masked cell (the legend's "XX masked" is the only XX), no
     * "masked" readout, the mask panel blank */
    assert_string_equal(strstr(scr, "XX"), strstr(scr, "XX masked"));
    assert_null(strstr(scr, "mask masked"));
    assert_non_null(strstr(scr, "hidden"));
    feed(&f, "4");
    ls_tui_feed(f.app, LS_KEY_ENTER);
    assert_int_equal(st(&f).answer, 1);
    scr = screen(&f);
    assert_string_not_equal(strstr(scr, "XX"), strstr(scr, "XX masked"));
    /* the end: a score, saved nowhere (no progress file here) */
    ls_tui_feed(f.app, 'n');
    ls_tui_feed(f.app, 'n');
    scr = screen(&f);
    assert_non_null(strstr(scr, "1 of 4 right first time, 0 after a retry, 3 shown"));
    fx_close(&f);
}

/* "Which key does query 2 attend to most?" on mha_small's padded item:
 * while it is open every tensor that ranks the keys (scores, masked
 * scores, weights, the tuple alias) reads "?", q and the mask do not, and
 * the masked keys are still drawn; the live answer opens them. */
static const char argmax_text[] =
    "{\"title\":" T2 ",\"model\":\"mha_small\",\"input\":{\"dir\":\"inputs\"},\"steps\":["
    "{\"point\":\"kpm.attn\",\"show\":\"attention\",\"text\":" T2 ","
    "\"question\":{\"kind\":\"argmax\",\"index\":[1,0,2],\"prompt\":" TXT("which key?") ",\"why\":" T2 "}},"
    "{\"point\":\"kpm\",\"text\":" T2 "}]}";

static void test_argmax_question_hides_the_ranking(void **state)
{
    (void)state;
    fx f;
    fx_open_text(&f, argmax_text, sizeof argmax_text - 1);
    ls_tui_state s = st(&f);
    assert_true(s.prompt && s.attention);
    ls_tui *a = f.app;
    const ls_graph *g = f.run.g;
    static const char *const hidden[] = {"kpm.scores", "kpm.scores_masked", "kpm.attn", "kpm.1"};
    for (int i = 0; i < 4; i++)
        if (!tui_quiz_hides_values(a, ls_graph_find(g, hidden[i])))
            fail_msg("%s shown while asked", hidden[i]);
    assert_false(tui_quiz_hides_values(a, ls_graph_find(g, "kpm.q")));
    assert_false(tui_quiz_hides_values(a, ls_graph_find(g, "kpm.mask")));
    char *scr = screen(&f);
    assert_non_null(strstr(scr, "scores ?"));
    assert_non_null(strstr(scr, "attn ?"));
    /* item 1 has 4 keys of 7: its masked keys still show */
    assert_string_not_equal(strstr(scr, "XX"), strstr(scr, "XX masked"));
    char ans[16];
    ls_error err = {0};
    assert_int_equal(ls_lesson_answer(&f.L->steps[0].q, g, f.run.ex, f.run.m, NULL, ans, sizeof ans, &err), LS_OK);
    assert_true(atoi(ans) < 4);  /* a masked key is never the answer */
    feed(&f, ans);
    ls_tui_feed(f.app, LS_KEY_ENTER);
    assert_int_equal(st(&f).answer, 1);
    assert_false(tui_quiz_hides_values(a, ls_graph_find(g, "kpm.attn")));
    scr = screen(&f);
    assert_null(strstr(scr, "attn ?"));
    fx_close(&f);
}


/* The ':' line takes UTF-8: ":dump 中文.npy" writes that file (it used to
 * drop the bytes and write ".npy"). */
static void test_command_line_utf8(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    /* an open question's tensor is not exported: answered (shown) first */
    ls_tui_feed(f.app, ':');
    feed(&f, "dump /tmp/never.npy");
    ls_tui_feed(f.app, LS_KEY_ENTER);
    /* at an open question ':' is typed: the line was judged as an answer */
    assert_int_equal(st(&f).answer, 2);
    ls_tui_feed(f.app, LS_KEY_ESC);
    ls_tui_feed(f.app, ':');
    feed(&f, "dump /tmp/never.npy");
    ls_tui_feed(f.app, LS_KEY_ENTER);
    assert_true(st(&f).message_is_error);
    assert_null(fopen("/tmp/never.npy", "rb"));
    ls_tui_feed(f.app, 'n');
    ls_tui_feed(f.app, LS_KEY_ENTER);  /* shown */
    assert_int_equal(st(&f).answer, 3);
    char dir[] = "/tmp/ls_quiz_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char line[300], path[200];
    snprintf(path, sizeof path, "%s/中文.npy", dir);
    snprintf(line, sizeof line, "dump %s", path);
    ls_tui_feed(f.app, ':');
    feed(&f, line);
    ls_tui_feed(f.app, LS_KEY_ENTER);
    ls_tui_state s = st(&f);
    if (s.message_is_error)
        fail_msg("%s", s.message);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fclose(fp);
    unlink(path);
    rmdir(dir);
    fx_close(&f);
}

/* Hostile edits said, not done: NaN, inf or 1e19 in an int64 cell (it
 * used to convert out of range), and a module input given twice. */
static void test_hostile_edits(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    ls_tui_feed(f.app, LS_KEY_ESC);
    ls_tui_command(f.app, "goto enc_inputs");
    static const char *const bad[] = {"nan", "inf", "-inf", "1e19"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ls_tui_feed(f.app, '=');
        feed(&f, bad[i]);
        ls_tui_feed(f.app, LS_KEY_ENTER);
        ls_tui_state s = st(&f);
        assert_true(s.message_is_error);
        assert_non_null(strstr(s.message, "enc_inputs"));
        assert_int_equal(s.n_edits, 0);
    }
    ls_tui_command(f.app, "module encoder.layers.0.enc_self_attn Q=/tmp/a.npy Q=/tmp/a.npy");
    ls_tui_state s = st(&f);
    assert_true(s.message_is_error);
    assert_non_null(strstr(s.message, "given twice"));
    fx_close(&f);
}

/* Lesson 06's questions on the hand-set CTC model: while "which unit wins
 * frame 14" is open no frame label names its best unit; while the
 * transcript is asked neither the title line nor the narration's
 * {transcript} says it; both come back with the answer.  A notice given
 * at the start (a resampled --wav) is on the status line. */
static const char ctc_text[] =
    "{\"title\":" T2 ",\"model\":\"ctc_hello\",\"input\":{\"wav\":\"ctc_hello/hello.wav\"},\"steps\":["
    "{\"point\":\"ctc.log_softmax\",\"text\":" T2 ","
    "\"question\":{\"kind\":\"text\",\"of\":\"topk_index\",\"index\":[0,14],\"prompt\":" TXT("unit?") ",\"why\":" T2 "}},"
    "{\"point\":\"ctc_greedy_search\",\"text\":" TXT("it said <{transcript}>") ","
    "\"question\":{\"kind\":\"text\",\"prompt\":" TXT("text?") ",\"why\":" T2 "}},"
    "{\"point\":\"ctc.log_softmax\",\"action\":{\"kind\":\"edit\",\"index\":[0,25,0],\"value\":0},\"text\":" TXT("now <{transcript}>") ","
    "\"question\":{\"kind\":\"text\",\"of\":\"ctc_greedy_search\",\"prompt\":" TXT("now?") ",\"why\":" T2 "}}]}";

static void test_ctc_questions_hide(void **state)
{
    (void)state;
    fx f;
    memset(&f, 0, sizeof f);
    ls_error err = {0};
    if (ls_lesson_parse(ctc_text, sizeof ctc_text - 1, "mem/06_ctc.json", &f.L, &err))
        fail_msg("%s", err.msg);
    const char *d = getenv("LS_TEST_DATA");
    char data[700];
    snprintf(data, sizeof data, "%s", d ? d : "tests/data");
    assert_int_equal(ls_lesson_run_open(f.L, data, &(ls_exec_opts){.threads = 1}, &f.run, &err), LS_OK);
    ls_tui_opts to = {.model = f.run.m, .inputs = f.run.in, .lesson = f.L, .data_dir = data,
                      .exec = {.threads = 1}, .notice = "mine.wav: 44100 Hz resampled to 16000 Hz"};
    assert_int_equal(ls_tui_new(f.run.g, f.run.ex, &to, &f.app, &err), LS_OK);
    assert_int_equal(ls_textcanvas_init(&f.tc, 80, 24), LS_OK);
    ls_tui_set_size(f.app, 80, 24);
    char *scr = screen(&f);
    assert_non_null(strstr(scr, "mine.wav: 44100 Hz resampled to 16000 Hz"));
    /* step 1: rows of ctc.log_softmax carry their time, not their winner */
    assert_non_null(strstr(scr, "14:140ms"));
    assert_null(strstr(scr, "14:140ms e"));
    assert_null(strstr(scr, "ms \xc2\xb7"));
    feed(&f, "e\r");
    scr = screen(&f);
    assert_non_null(strstr(scr, "14:140ms e"));
    /* step 2: the transcript is asked */
    feed(&f, "\r");
    assert_int_equal(st(&f).lesson_step, 1);
    scr = screen(&f);
    assert_null(strstr(scr, "hello world"));
    assert_null(strstr(scr, "heard:"));
    assert_non_null(strstr(scr, "it said <?>"));
    feed(&f, "hello world\r");
    scr = screen(&f);
    assert_non_null(strstr(scr, "[heard: \"hello world\"]"));
    assert_non_null(strstr(scr, "it said <hello world>"));
    /* step 3: the edit is made as the step opens; the new text hidden */
    feed(&f, "\r");
    scr = screen(&f);
    assert_null(strstr(scr, "helllo"));
    assert_null(strstr(scr, "heard:"));
    assert_non_null(strstr(scr, "now <?>"));
    feed(&f, "helllo world\r");
    scr = screen(&f);
    assert_non_null(strstr(scr, "[heard: \"helllo world\"]"));
    assert_non_null(strstr(scr, "now <helllo world>"));
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_editing),
        cmocka_unit_test(test_line_utf8),
        cmocka_unit_test(test_shape_question),
        cmocka_unit_test(test_choice_by_letter_and_value),
        cmocka_unit_test(test_masked_question_hides_the_mask),
        cmocka_unit_test(test_argmax_question_hides_the_ranking),
        cmocka_unit_test(test_command_line_utf8),
        cmocka_unit_test(test_hostile_edits),
        cmocka_unit_test(test_ctc_questions_hide),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
