/* CTC: the log_softmax and ctc_collapse ops on hand-checked values, the
 * units file (good and malformed), and a whole run of the hand-set
 * tests/data/ctc_hello model through ls_ctc_transcript. */
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

#include "layerstep/audio.h"
#include "layerstep/graph.h"
#include "layerstep/model.h"
#include "layerstep/ops.h"

static ls_tensor mk(ls_arena *a, ls_dtype dt, int nd, const int64_t *sh, const double *vals)
{
    ls_tensor t;
    assert_int_equal(ls_tensor_alloc(a, dt, nd, sh, &t, NULL), LS_OK);
    for (int64_t i = 0; vals && i < ls_tensor_numel(&t); i++)
        ls_tensor_set_flat(&t, i, vals[i]);
    return t;
}

static ls_tensor run1(ls_arena *a, ls_op op, const ls_op_params *p, const ls_tensor *x)
{
    ls_tensor o;
    ls_error err = {0};
    const ls_tensor *in[1] = {x};
    if (ls_op_infer(op, p, in, 1, &o, &err) ||
        ls_tensor_alloc(a, o.dtype, o.ndim, o.shape, &o, &err))
        fail_msg("%s: %s", ls_op_name(op), err.msg);
    ls_op_ctx ctx = {.reference = true};
    if (ls_op_compute(op, p, in, 1, &o, &ctx, &err))
        fail_msg("%s: %s", ls_op_name(op), err.msg);
    return o;
}

/* ---- ops ---- */

static void test_log_softmax(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(1 << 16);
    /* row 0: logsumexp(1,2,3) = 3.4076059644; row 1: 1000 and 0 must not
     * overflow (x - max first): [0, -1000]; row 2: -inf stays -inf */
    ls_tensor x = mk(a, LS_F32, 2, (int64_t[]){3, 3},
                     (double[]){1, 2, 3, 1000, 0, 0, -INFINITY, 0, 0});
    ls_tensor o = run1(a, LS_OP_LOG_SOFTMAX, NULL, &x);
    const float *v = o.data;
    const double want[] = {1 - 3.4076059644, 2 - 3.4076059644, 3 - 3.4076059644};
    for (int j = 0; j < 3; j++)
        assert_true(fabs(v[j] - want[j]) < 1e-6);
    assert_true(v[3] == 0.0f);
    assert_true(fabsf(v[4] + 1000.0f) < 1e-3f);
    assert_true(isinf(v[6]) && v[6] < 0);
    assert_true(fabs(v[7] - log(0.5)) < 1e-6);
    /* a strided view (the transpose) reads the right elements */
    ls_tensor t;
    assert_int_equal(ls_tensor_transpose(&x, 0, 1, &t, NULL), LS_OK);
    ls_tensor ot = run1(a, LS_OP_LOG_SOFTMAX, NULL, &t);
    /* column 0 of x = {1, 1000, -inf}: [1-1000, 0, -inf] */
    assert_true(fabsf(((float *)ot.data)[0] + 999.0f) < 1e-3f);
    assert_true(((float *)ot.data)[1] == 0.0f);
    /* exp of a row sums to 1 */
    double s = 0;
    for (int j = 0; j < 3; j++)
        s += exp(v[j]);
    assert_true(fabs(s - 1.0) < 1e-6);
    ls_arena_free(a);
}

static void expect_ids(const ls_tensor *o, int64_t row, const int64_t *want, int64_t n)
{
    for (int64_t t = 0; t < n; t++)
        if ((int64_t)ls_tensor_get(o, (int64_t[]){row, t}) != want[t])
            fail_msg("row %lld, t %lld: got %lld, want %lld", (long long)row, (long long)t,
                     (long long)ls_tensor_get(o, (int64_t[]){row, t}), (long long)want[t]);
}

static void test_ctc_collapse(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(1 << 16);
    /* WeNet's remove_duplicates_and_blank, then -1 padding:
     *   [0 1 1 0 1 2 2 0] -> 1 1 2    (a blank splits the two 1s)
     *   [0 0 0 0 0 0 0 0] -> nothing
     *   [3 3 3 1 1 3 2 2] -> 3 1 3 2  (no blank: runs count once) */
    ls_tensor ids = mk(a, LS_I64, 2, (int64_t[]){3, 8},
                       (double[]){0, 1, 1, 0, 1, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                  3, 3, 3, 1, 1, 3, 2, 2});
    ls_op_params p = {.i = {0}};
    ls_tensor o = run1(a, LS_OP_CTC_COLLAPSE, &p, &ids);
    assert_int_equal(o.dtype, LS_I64);
    assert_int_equal(o.shape[0], 3);
    assert_int_equal(o.shape[1], 8);
    expect_ids(&o, 0, (int64_t[]){1, 1, 2, -1, -1, -1, -1, -1}, 8);
    expect_ids(&o, 1, (int64_t[]){-1, -1, -1, -1, -1, -1, -1, -1}, 8);
    expect_ids(&o, 2, (int64_t[]){3, 1, 3, 2, -1, -1, -1, -1}, 8);
    /* another blank id: 3 is dropped, 0 kept */
    p.i[0] = 3;
    o = run1(a, LS_OP_CTC_COLLAPSE, &p, &ids);
    expect_ids(&o, 0, (int64_t[]){0, 1, 0, 1, 2, 0, -1, -1}, 8);
    expect_ids(&o, 2, (int64_t[]){1, 2, -1}, 3);
    /* strided: the transpose of a [8,3] tensor */
    ls_tensor col = mk(a, LS_I64, 2, (int64_t[]){4, 2}, (double[]){5, 0, 5, 7, 0, 7, 5, 0});
    ls_tensor ct;
    assert_int_equal(ls_tensor_transpose(&col, 0, 1, &ct, NULL), LS_OK);
    p.i[0] = 0;
    o = run1(a, LS_OP_CTC_COLLAPSE, &p, &ct);
    expect_ids(&o, 0, (int64_t[]){5, 5, -1, -1}, 4);   /* 5 5 0 5 */
    expect_ids(&o, 1, (int64_t[]){7, -1, -1, -1}, 4);  /* 0 7 7 0 */
    /* shapes and dtypes it refuses */
    ls_error err = {0};
    ls_tensor f = mk(a, LS_F32, 2, (int64_t[]){1, 2}, NULL), out;
    assert_int_not_equal(ls_op_infer(LS_OP_CTC_COLLAPSE, &p, (const ls_tensor *[]){&f}, 1, &out,
                                     &err),
                         LS_OK);
    ls_tensor i3 = mk(a, LS_I64, 3, (int64_t[]){1, 2, 2}, NULL);
    assert_int_not_equal(ls_op_infer(LS_OP_CTC_COLLAPSE, &p, (const ls_tensor *[]){&i3}, 1, &out,
                                     &err),
                         LS_OK);
    assert_non_null(strstr(err.msg, "ctc_collapse"));
    ls_arena_free(a);
}

/* ---- a temporary copy of tests/data/ctc_hello ---- */

typedef struct fx {
    char dir[256];
    char data[1024];
} fx;

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void put(const fx *f, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", f->dir, name);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    const char *d = getenv("LS_TEST_DATA");
    snprintf(f->data, sizeof f->data, "%s/ctc_hello", d && *d ? d : "tests/data");
    snprintf(f->dir, sizeof f->dir, "/tmp/ls_test_ctc.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    static const char *const FILES[] = {"config.json", "weights.safetensors", "units.txt"};
    for (int i = 0; i < 3; i++) {
        char a[1200], b[512];
        snprintf(a, sizeof a, "%s/%s", f->data, FILES[i]);
        snprintf(b, sizeof b, "%s/%s", f->dir, FILES[i]);
        copy_file(a, b);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    static const char *const FILES[] = {"config.json", "weights.safetensors", "units.txt",
                                        "tokens.txt"};
    for (int i = 0; i < 4; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", f->dir, FILES[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Loads the model in f->dir and transcribes ctc_hello's hello.wav. */
static int transcribe(const fx *f, char *text, size_t n, ls_error *err)
{
    ls_model *m;
    int rc = ls_model_load(f->dir, &m, err);
    if (rc)
        return rc;
    char wav[1200];
    snprintf(wav, sizeof wav, "%s/hello.wav", f->data);
    ls_tmap *in = ls_tmap_new("hello.wav");
    ls_graph *g = NULL;
    ls_exec *ex = NULL;
    if (!(rc = ls_audio_model_inputs(m, wav, in, err)) &&
        !(rc = ls_model_build(m, in, NULL, &g, err)) && !(rc = ls_exec_new(g, NULL, &ex, err)) &&
        !(rc = ls_exec_set_inputs(ex, in, err)) && !(rc = ls_exec_run(ex, err)))
        assert_int_equal(ls_ctc_transcript(m, ex, 0, text, n), 1);
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
    return rc;
}

static void test_transcript(void **state)
{
    fx *f = *state;
    char text[256];
    ls_error err = {0};
    if (transcribe(f, text, sizeof text, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(text, "hello world");
    /* the TUI's words for the id points */
    ls_model *m;
    assert_int_equal(ls_model_load(f->dir, &m, &err), LS_OK);
    const ls_arch *arch = ls_model_arch(m);
    char w[32];
    assert_non_null(arch->id_word);
    assert_string_equal(arch->id_word(m, "topk_index", 4, w, sizeof w), "h");
    assert_string_equal(arch->id_word(m, "topk_index", 0, w, sizeof w), "\xc2\xb7");
    assert_string_equal(arch->id_word(m, "ctc_greedy_search", 1, w, sizeof w), "\xe2\x96\x81");
    assert_string_equal(arch->id_word(m, "ctc_greedy_search", -1, w, sizeof w), "");
    assert_null(arch->id_word(m, "ctc_greedy_search", 10, w, sizeof w));
    assert_null(arch->id_word(m, "output", 4, w, sizeof w));
    ls_model_free(m);
    /* the text comes from the file: tokens.txt (wav2vec2's name), CRLF
     * line ends, a blank line, ids out of order, "<space>" for the space,
     * and other letters for the same ids */
    char p[512];
    snprintf(p, sizeof p, "%s/units.txt", f->dir);
    unlink(p);
    put(f, "tokens.txt", "<space> 1\r\nb 0\r\n\r\nH 4\nE 3\nL 5\nO 6\nW 8\nR 7\nD 2\n<sos/eos> 9\n");
    assert_int_equal(transcribe(f, text, sizeof text, &err), LS_OK);
    assert_string_equal(text, "HELLO WORLD");
    /* a cut buffer ends cleanly */
    assert_int_equal(transcribe(f, text, 4, &err), LS_OK);
    assert_string_equal(text, "HEL");
    /* no units file: ids in brackets */
    snprintf(p, sizeof p, "%s/tokens.txt", f->dir);
    unlink(p);
    assert_int_equal(transcribe(f, text, sizeof text, &err), LS_OK);
    assert_string_equal(text, "<4><3><5><5><6><1><8><6><7><5><2>");
}

static void expect_refused(const fx *f, const char *units, const char *what)
{
    put(f, "units.txt", units);
    ls_model *m = NULL;
    ls_error err = {0};
    assert_int_not_equal(ls_model_load(f->dir, &m, &err), LS_OK);
    assert_null(m);
    if (!strstr(err.msg, "units.txt") || !strstr(err.msg, what) || strchr(err.msg, '\n'))
        fail_msg("'%s': message '%s' lacks '%s'", units, err.msg, what);
}

static void test_units_refused(void **state)
{
    fx *f = *state;
    expect_refused(f, "<blank> 0\na\n", "units.txt:2: expected 'TOKEN ID'");
    expect_refused(f, "<blank> 0\na 1 2\n", "units.txt:2:");
    expect_refused(f, "<blank> 0\n\na x1\n", "units.txt:3:");
    expect_refused(f, "<blank> 0\na -1\n", "units.txt:2:");
    expect_refused(f, "<blank> 0\na 99999999999999999999\n", "units.txt:2:");
    expect_refused(f, "<blank> 0\na 1\nb 1\n", "units.txt:3: id 1 given twice");
    expect_refused(f, "\n\n", "no units");
    {
        char p[512];
        snprintf(p, sizeof p, "%s/units.txt", f->dir);
        FILE *fp = fopen(p, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite("<blank> 0\na\0b 1\n", 1, 16, fp), 16);
        assert_int_equal(fclose(fp), 0);
        ls_model *m = NULL;
        ls_error err = {0};
        assert_int_not_equal(ls_model_load(f->dir, &m, &err), LS_OK);
        assert_non_null(strstr(err.msg, "units.txt:2: NUL byte"));
    }
    char longl[1100];
    memset(longl, 'x', sizeof longl - 1);
    longl[sizeof longl - 1] = '\0';
    expect_refused(f, longl, "longer than");
    /* ctc_blank out of range is refused by the config reader */
    put(f, "units.txt", "<blank> 0\n");
    put(f, "config.json", "{\"arch\": \"conformer\", \"encoder_conf\": {\"input_size\": 80, "
                          "\"output_size\": 10, \"attention_heads\": 1, \"num_blocks\": 0, "
                          "\"input_layer\": \"linear\"}, \"ctc_blank\": -1}");
    ls_model *m = NULL;
    ls_error err = {0};
    assert_int_not_equal(ls_model_load(f->dir, &m, &err), LS_OK);
    assert_non_null(strstr(err.msg, "ctc_blank"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_softmax),
        cmocka_unit_test(test_ctc_collapse),
        cmocka_unit_test_setup_teardown(test_transcript, setup, teardown),
        cmocka_unit_test_setup_teardown(test_units_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
