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
#include "layerstep/npy.h"
#include "layerstep/tui.h"

static const char *root(void)
{
    const char *r = getenv("LS_SOURCE_ROOT");
    return r ? r : ".";
}

/* The trained speech models (data/conformer_ctc, data/wav2vec2_ctc) come
 * from training runs and are committed on their own; a lesson that names
 * one is skipped, and says so, while its directory is absent. */
static bool needs_absent_model(const char *path)
{
    static const char *const trained[] = {"conformer_ctc", "wav2vec2_ctc"};
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    static char text[1 << 18];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    for (size_t i = 0; i < sizeof trained / sizeof *trained; i++) {
        char quoted[64], cfg[700];
        snprintf(quoted, sizeof quoted, "\"%s\"", trained[i]);
        snprintf(cfg, sizeof cfg, "%s/data/%s/config.json", root(), trained[i]);
        if (strstr(text, quoted) && access(cfg, R_OK) != 0) {
            print_message("SKIP %s: data/%s is absent\n", path, trained[i]);
            return true;
        }
    }
    return false;
}

/* A wrong answer of the same kind as the right one. */
static void wrong_of(const ls_lesson_question *q, const char *right, char *buf, size_t n)
{
    switch (q->kind) {
    case LS_Q_SHAPE: snprintf(buf, n, "[%s, 1]", right + 1); buf[strlen(buf) - 1] = '7'; break;
    case LS_Q_MASKED: snprintf(buf, n, "%s", strcmp(right, "none") ? "none" : "0"); break;
    case LS_Q_CHOICE: snprintf(buf, n, "%c", right[0] == 'a' ? 'b' : 'a'); break;
    case LS_Q_DIRECTION: snprintf(buf, n, "%s", right[0] == 'r' ? "falls" : "rises"); break;
    case LS_Q_TEXT: snprintf(buf, n, "%s x", right); break;
    case LS_Q_COUNT: snprintf(buf, n, "%lld", atoll(right) + 1); break;
    case LS_Q_ARGMAX: snprintf(buf, n, "%d", atoi(right) ? 0 : 1); break;
    default: buf[0] = '\0';
    }
}

static void check_lesson(const char *path)
{
    ls_error err = {0};
    ls_lesson *L;
    char data[600];
    snprintf(data, sizeof data, "%s/data", root());
    if (needs_absent_model(path))
        return;
    if (ls_lesson_load(path, &L, &err))
        fail_msg("%s", err.msg);
    ls_lesson_run run;
    ls_exec_opts eo = {.threads = 1};
    if (ls_lesson_run_open(L, data, &eo, &run, &err))
        fail_msg("%s", err.msg);
    if (ls_lesson_check_all(L, &run, &err))
        fail_msg("%s", err.msg);
    for (int i = 0; i < L->n_steps; i++) {
        const ls_lesson_step *s = &L->steps[i];
        /* a step's "run" switch: its text and question are about that run */
        if (ls_lesson_run_switch(L, i, &run, &err))
            fail_msg("%s", err.msg);
        /* every live fact the narration quotes resolves ({transcript}
         * needs the run done) */
        if (!ls_exec_done(run.ex) && ls_exec_run(run.ex, &err))
            fail_msg("%s: step %d: %s", path, i + 1, err.msg);
        for (int lang = 0; lang < LS_LANG_COUNT; lang++) {
            char text[4096];
            if (ls_lesson_expand_live(ls_ltext_get(&s->text, lang), run.g, run.ex, run.m, NULL, NULL, text,
                                      sizeof text) ||
                strstr(text, "{shape:") || strstr(text, "{dim:"))
                fail_msg("%s: step %d: unresolved live fact in '%s'", path, i + 1, text);
            if (s->q.kind &&
                ls_lesson_expand(ls_ltext_get(&s->q.prompt, lang), run.g, text, sizeof text))
                fail_msg("%s: step %d: unresolved live fact in the prompt '%s'", path, i + 1, text);
            /* the reason is shown as written: no live fact may hide in it */
            const char *why = s->q.kind ? ls_ltext_get(&s->q.why, lang) : "";
            if (strstr(why, "{shape:") || strstr(why, "{dim:") || strstr(why, "{transcript}"))
                fail_msg("%s: step %d: the \"why\" is shown unexpanded: '%s'", path, i + 1, why);
        }
        if (!s->q.kind)
            continue;
        char ans[256], wrong[300], why[1200];
        if (ls_lesson_solve(L, i, &run, ans, sizeof ans, &err))
            fail_msg("%s: step %d: %s", path, i + 1, err.msg);
        wrong_of(&s->q, ans, wrong, sizeof wrong);
        if (s->act.kind == LS_ACT_EDIT) {
            /* redo the edit by hand: check wants the state after it (for
             * any question: the TUI asks with the step's edit applied) */
            double before = ls_lesson_watch(&s->q, run.g, run.ex);
            double *old = NULL;
            if (ls_lesson_edit_apply(&s->act, run.g, run.ex, &old, &err))
                fail_msg("%s: step %d: %s", path, i + 1, err.msg);
            assert_true(ls_lesson_check(&s->q, run.g, run.ex, run.m, &before, ans, LS_LANG_EN, why, sizeof why));
            assert_false(ls_lesson_check(&s->q, run.g, run.ex, run.m, &before, wrong, LS_LANG_ZH, why, sizeof why));
            assert_non_null(strstr(why, ls_ltext_get(&s->q.why, LS_LANG_ZH)));
            assert_int_equal(ls_lesson_edit_undo(&s->act, run.g, run.ex, old, &err), LS_OK);
            continue;
        }
        if (!ls_lesson_check(&s->q, run.g, run.ex, run.m, NULL, ans, LS_LANG_EN, why, sizeof why))
            fail_msg("%s: step %d: the live answer '%s' is refused: %s", path, i + 1, ans, why);
        if (ls_lesson_check(&s->q, run.g, run.ex, run.m, NULL, wrong, LS_LANG_EN, why, sizeof why))
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
    int seen_empty = 0;
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
        /* the empty row: the narration says 1/6 under -1e9, NaN under -inf */
        if (s->q.kind == LS_Q_CHOICE && s->act.kind == LS_ACT_EDIT) {
            double v = s->q.values[ans[0] - 'a'];
            bool fill = !strcmp(s->q.of, "decoder.layers.0.dec_self_attn.attn");
            bool inf = !strcmp(s->q.of, "mha.attn");
            assert_true(fill || inf);
            if (fill)
                assert_true(fabs(v - 1.0 / 6) < 1e-6);
            else
                assert_true(isnan(v));
            seen_empty += fill ? 1 : 10;
            /* with the edit applied (as solve applies it), the row the
             * softmax is given holds only the fill */
            int node = ls_graph_find(run.g, s->act.point);
            ls_tensor *t = ls_exec_edit(run.ex, node, &err);
            assert_non_null(t);
            double old = ls_tensor_get(t, s->act.index);
            assert_true(old == 0.0);  /* the key was visible before the edit */
            ls_tensor_set(t, s->act.index, s->act.value);
            assert_int_equal(ls_exec_rerun(run.ex, node, &err), LS_OK);
            const ls_tensor *sm = ls_exec_out(run.ex, ls_graph_find(run.g, s->point));
            assert_non_null(sm);
            assert_true(strstr(s->point, ".scores_masked") != NULL);
            for (int64_t h = 0; h < sm->shape[1]; h++)
                for (int64_t j = 0; j < sm->shape[3]; j++) {
                    double c = ls_tensor_get(sm, (int64_t[]){0, h, 0, j});
                    assert_true(fill ? c == (double)-1e9f : (isinf(c) && c < 0));
                }
            ls_tensor_set(t, s->act.index, old);
            ls_exec_unpin(run.ex, node);
            assert_int_equal(ls_exec_rerun(run.ex, node, &err), LS_OK);
        }
    }
    assert_int_equal(seen_empty, 11);  /* both experiments are there */
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
}

static bool has_point(const ls_lesson_run *r, const char *fmt, int k)
{
    char name[128];
    snprintf(name, sizeof name, fmt, k);
    return ls_graph_find(r->g, name) >= 0;
}

/* Lessons 03 and 05 narrate facts of the two wav2vec2 builds that no
 * question can ask: which conv blocks have a norm, and where the
 * transformer's own LayerNorm runs.  Checked here on the runs the lessons
 * open, with the answers the narration relies on. */
static void test_wav2vec2_lesson_facts(void **state)
{
    (void)state;
    static const char *const files[] = {"03_wav2vec2_features.json", "05_wav2vec2_encoder.json"};
    char path[600], data[600], ans[256];
    snprintf(data, sizeof data, "%s/data", root());
    for (int f = 0; f < 2; f++) {
        snprintf(path, sizeof path, "%s/lessons/%s", root(), files[f]);
        if (needs_absent_model(path))
            continue;
        ls_error err = {0};
        ls_lesson *L;
        assert_int_equal(ls_lesson_load(path, &L, &err), LS_OK);
        ls_lesson_run run;
        assert_int_equal(ls_lesson_run_open(L, data, &(ls_exec_opts){.threads = 1}, &run, &err), LS_OK);
        int seen_gn = 0, seen_ln = 0, seen_trained = 0;
        for (int i = 0; i < L->n_steps; i++) {
            const ls_lesson_step *s = &L->steps[i];
            if (ls_lesson_run_switch(L, i, &run, &err))
                fail_msg("%s: step %d: %s", path, i + 1, err.msg);
            if (strstr(run.model_dir, "wav2vec2_ctc")) {
                /* the trained model: a layer_norm extractor (lesson 03
                 * says every block has one) and a pre-norm encoder */
                seen_trained++;
                for (int k = 0; k < 7; k++)
                    assert_true(has_point(&run, "feature_extractor.conv_layers.%d.layer_norm", k));
                if (s->q.kind == LS_Q_DIRECTION) {
                    /* lesson 05: an input frame 40 away is outside the
                     * positional conv's window of k frames */
                    int w = ls_graph_find(run.g, "encoder.transformer.pos_conv_embed.conv.weight");
                    assert_true(w >= 0 && ls_graph_node(run.g, w)->out.shape[2] <= 2 * 40);
                    assert_int_equal(ls_lesson_solve(L, i, &run, ans, sizeof ans, &err), LS_OK);
                    assert_string_equal(ans, "same");
                }
                continue;
            }
            bool ln = strstr(run.model_dir, "wav2vec2_base_ln") != NULL;
            seen_ln += ln;
            seen_gn += !ln;
            /* group_norm: a norm on block 0 only; layer_norm: on all 7 */
            assert_true(has_point(&run, "feature_extractor.conv_layers.%d.layer_norm", 0));
            for (int k = 1; k < 7; k++)
                assert_int_equal(has_point(&run, "feature_extractor.conv_layers.%d.layer_norm", k), ln);
            /* post-norm: encoder.transformer.layer_norm before layer 0;
             * pre-norm: after layer 11, and the layer starts with its norm */
            int top = ls_graph_find(run.g, "encoder.transformer.layer_norm");
            int l0 = ls_graph_find(run.g, "encoder.transformer.layers.0.attention.q_proj");
            int l11 = ls_graph_find(run.g, "encoder.transformer.layers.11.feed_forward");
            int n0 = ls_graph_find(run.g, "encoder.transformer.layers.0.layer_norm");
            assert_true(top >= 0 && l0 >= 0 && l11 >= 0 && n0 >= 0);
            assert_true(ln ? top > l11 : top < l0);
            assert_true(ln ? n0 < l0 : n0 > l0);
            if (!s->q.kind)
                continue;
            assert_int_equal(ls_lesson_solve(L, i, &run, ans, sizeof ans, &err), LS_OK);
            if (s->q.kind == LS_Q_DIRECTION && f == 0)
                /* GroupNorm: another channel is untouched; LayerNorm: the
                 * frame's other channels are pulled toward 0 */
                assert_string_equal(ans, ln ? "rises" : "same");
            if (s->q.kind == LS_Q_DIRECTION && f == 1)
                assert_string_equal(ans, "falls");
            if (s->q.kind == LS_Q_MASKED)
                assert_string_equal(ans, "15 16 17");   /* 5000 samples -> 15 frames of 18 */
        }
        assert_true(seen_gn > 0 && seen_ln > 0 && seen_trained > 0);
        ls_lesson_run_close(&run);
        ls_lesson_free(L);
    }
}

/* Over head h of a [1, H, T, T] tensor: the std of its values, and each
 * row's largest column (peak[], T entries). */
static double head_stats(const ls_tensor *t, int h, int64_t *peak)
{
    int64_t T = t->shape[2], idx[4] = {0, h, 0, 0};
    double s = 0, s2 = 0;
    for (idx[2] = 0; idx[2] < T; idx[2]++) {
        double bv = -INFINITY;
        for (idx[3] = 0; idx[3] < T; idx[3]++) {
            double v = ls_tensor_get(t, idx);
            s += v;
            s2 += v * v;
            if (v > bv) {
                bv = v;
                peak[idx[2]] = idx[3];
            }
        }
    }
    double n = (double)(T * T);
    return sqrt(s2 / n - (s / n) * (s / n));
}

/* Lesson 04's narration of the trained Conformer states what its questions
 * ask on one row only: in layer 2 head 2 the content term has the larger
 * spread and few rows of matrix_bd peak on the diagonal (row 20 early, as
 * the question's reason says); in layer 3 head 2 most rows, row 25 among
 * them, peak in the last part of the clip (frames 35 on). */
static void test_conformer_trained_facts(void **state)
{
    (void)state;
    char path[600], data[600];
    snprintf(path, sizeof path, "%s/lessons/04_conformer.json", root());
    snprintf(data, sizeof data, "%s/data", root());
    if (needs_absent_model(path))
        return;
    ls_error err = {0};
    ls_lesson *L;
    assert_int_equal(ls_lesson_load(path, &L, &err), LS_OK);
    ls_lesson_run run;
    assert_int_equal(ls_lesson_run_open(L, data, &(ls_exec_opts){.threads = 1}, &run, &err), LS_OK);
    int step = -1;
    for (int i = 0; i < L->n_steps && step < 0; i++)
        if (!strcmp(L->steps[i].point, "encoders.2.self_attn.matrix_ac"))
            step = i;
    assert_true(step > 0);
    assert_int_equal(ls_lesson_run_switch(L, step, &run, &err), LS_OK);
    assert_non_null(strstr(run.model_dir, "conformer_ctc"));
    assert_int_equal(ls_exec_run(run.ex, &err), LS_OK);
    const char *names[3] = {"encoders.2.self_attn.matrix_ac", "encoders.2.self_attn.matrix_bd",
                            "encoders.3.self_attn.attn"};
    const ls_tensor *t[3];
    double sd[3];
    int64_t peak[3][512];
    for (int k = 0; k < 3; k++) {
        t[k] = ls_exec_out(run.ex, ls_graph_find(run.g, names[k]));
        assert_non_null(t[k]);
        assert_true(t[k]->shape[2] > 35 && t[k]->shape[2] <= 512);
        sd[k] = head_stats(t[k], 2, peak[k]);
    }
    int64_t T = t[1]->shape[2];
    int diag = 0, late = 0, early = 0;
    for (int64_t i = 0; i < T; i++) {
        diag += llabs(peak[1][i] - i) <= 1;
        early += peak[1][i] <= 15;
        late += peak[2][i] >= 35;
    }
    print_message("layer 2 head 2: std ac %.3g, bd %.3g; bd rows peaking on the diagonal %d of %lld, "
                  "row 20 at %lld; layer 3 head 2: %d rows peak at 35 or later, row 25 at %lld\n",
                  sd[0], sd[1], diag, (long long)T, (long long)peak[1][20], late, (long long)peak[2][25]);
    assert_true(sd[0] > sd[1]);
    assert_true(6 * diag < T);
    /* the narration: many rows peak in the same columns near the start; the
     * question's reason: row 20's peak does not follow the diagonal */
    assert_true(4 * early >= T);
    assert_true(llabs(peak[1][20] - 20) > 4);
    assert_true(2 * late > T);
    assert_true(peak[2][25] >= 35);
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
}

/* Lesson 01 at the walkthrough's sizes: the trained model (embedding,
 * pos_enc, nn.MultiheadAttention d_model 512 / 8 heads, out) reversing
 * its example sequence of 28 letters and 4 padding tokens. */
static void test_lesson01_facts(void **state)
{
    (void)state;
    char path[600], data[600];
    snprintf(path, sizeof path, "%s/lessons/01_self_attention.json", root());
    snprintf(data, sizeof data, "%s/data", root());
    ls_error err = {0};
    ls_lesson *L;
    assert_int_equal(ls_lesson_load(path, &L, &err), LS_OK);
    ls_lesson_run run;
    assert_int_equal(ls_lesson_run_open(L, data, &(ls_exec_opts){.threads = 1}, &run, &err), LS_OK);
    assert_non_null(strstr(run.model_dir, "mha_trained"));
    /* the example input: the config's letters, then the pad id 0, and
     * the last 4 keys padded */
    static const char word[] = "attentionisallyouneedreverse";
    const ls_tensor *ids = ls_tmap_get(run.in, "tokens");
    const ls_tensor *kpm = ls_tmap_get(run.in, "key_padding_mask");
    assert_non_null(ids);
    assert_non_null(kpm);
    assert_true(ids->ndim == 2 && ids->shape[0] == 1 && ids->shape[1] == 32);
    for (int64_t j = 0; j < 32; j++) {
        assert_int_equal((int64_t)ls_tensor_get(ids, (int64_t[]){0, j}), j < 28 ? word[j] - 'a' + 1 : 0);
        assert_int_equal(ls_tensor_get(kpm, (int64_t[]){0, j}) != 0, j >= 28);
    }
    if (!ls_exec_done(run.ex))
        assert_int_equal(ls_exec_run(run.ex, &err), LS_OK);
    /* trained: the example comes out reversed */
    const ls_tensor *pred = ls_exec_out(run.ex, ls_graph_find(run.g, "predicted"));
    assert_non_null(pred);
    for (int64_t j = 0; j < 28; j++)
        assert_int_equal((int64_t)ls_tensor_get(pred, (int64_t[]){0, j}), word[27 - j] - 'a' + 1);
    char ans[256];
    bool seen_split = false, seen_mask = false, seen_join = false;
    int seen_argmax = 0;
    for (int i = 0; i < L->n_steps; i++) {
        const ls_lesson_step *s = &L->steps[i];
        if (!s->q.kind)
            continue;
        assert_int_equal(ls_lesson_solve(L, i, &run, ans, sizeof ans, &err), LS_OK);
        if (!strcmp(s->point, "mha.q") && s->q.kind == LS_Q_SHAPE) {
            assert_string_equal(ans, "[1, 8, 32, 64]");  /* [b, 32, 512] -> [b, 8, 32, 64] */
            seen_split = true;
        }
        if (!strcmp(s->q.of, "mha.mask")) {
            assert_string_equal(ans, "28 29 30 31");     /* key_lengths [28] */
            seen_mask = true;
        }
        if (!strcmp(s->point, "mha.context")) {
            assert_string_equal(ans, "[1, 32, 512]");    /* and back */
            seen_join = true;
        }
        if (s->q.kind == LS_Q_ARGMAX) {
            /* the heads asked about read the mirror key: query i, key 27 - i */
            assert_int_equal(atoi(ans), 27 - (int)s->q.index[2]);
            seen_argmax++;
        }
    }
    assert_true(seen_split && seen_mask && seen_join && seen_argmax >= 2);
    /* the walkthrough's order: tokens, split, scores, mask, softmax, V, join, out */
    static const char *const order[] = {"tokens", "pos_enc", "mha.q", "mha.scores", "mha.mask",
                                        "mha.attn", "mha.v", "mha.context", "mha.out_proj", "out",
                                        "predicted"};
    int k = 0;
    for (int i = 0; i < L->n_steps && k < 11; i++)
        if (!strcmp(L->steps[i].point, order[k]))
            k++;
    assert_int_equal(k, 11);
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
 * Found writing fuzz_lesson's seeds: the edit wrote outside the mask. */
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

/* ---- a step's "run" switch ---- */

#define T2 "{\"en\":\"x\",\"zh\":\"x\"}"
#define SHAPEQ(of) "\"question\":{\"kind\":\"shape\",\"of\":\"" of "\",\"prompt\":" T2 ",\"why\":" T2 "}"

/* Five stretches over the fixtures in tests/data, each naming a point
 * only its own run has: the toy Transformer; MHA (another model: its
 * example inputs); the Conformer; its encoders.0.self_attn alone on
 * seeded random inputs ("query" is an input only there); and
 * encoders.1.self_attn alone on the tensors the full run feeds it. */
static const char switch_lesson[] =
    "{\"title\":" T2 ",\"model\":\"transformer_small\",\"input\":{\"dir\":\"inputs\"},\"steps\":["
    "{\"point\":\"encoder.layers.0.enc_self_attn.q\",\"text\":" T2 "," SHAPEQ("encoder.layers.0.enc_self_attn.q") "},"
    "{\"point\":\"kpm.scores\",\"run\":{\"model\":\"mha_small\"},\"text\":{\"en\":\"q is {shape:kpm.q}\",\"zh\":\"x\"},"
    SHAPEQ("kpm.q") "},"
    "{\"point\":\"kpm.attn\",\"text\":" T2 "},"
    "{\"point\":\"encoders.0.self_attn.matrix_bd\",\"run\":{\"model\":[\"nothing_here\",\"conformer_small\"],"
    "\"input\":{\"dir\":\"inputs\"}},\"text\":" T2 "," SHAPEQ("encoders.0.self_attn.matrix_bd") "},"
    "{\"point\":\"encoders.0.self_attn.scores\",\"run\":{\"module\":\"encoders.0.self_attn\",\"random_inputs\":7},"
    "\"text\":" T2 "," SHAPEQ("query") "},"
    "{\"point\":\"encoders.1.self_attn.linear_out\",\"run\":{\"module\":\"encoders.1.self_attn\"},"
    "\"text\":" T2 "," SHAPEQ("pos_emb") "}]}";

static ls_lesson *parse_switch_lesson(void)
{
    ls_lesson *L;
    ls_error err = {0};
    if (ls_lesson_parse(switch_lesson, sizeof switch_lesson - 1, "mem/09_switch.json", &L, &err))
        fail_msg("%s", err.msg);
    return L;
}

static void fixtures_dir(char *buf, size_t n) { snprintf(buf, n, "%s/tests/data", root()); }

/* The full run of model dir `name` on its inputs/ (or example inputs). */
static void open_full(const char *name, bool inputs_dir, ls_model **m, ls_tmap **in, ls_graph **g,
                      ls_exec **ex)
{
    char dir[700], path[800];
    fixtures_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ls_error err = {0};
    assert_int_equal(ls_model_load(path, m, &err), LS_OK);
    if (inputs_dir) {
        snprintf(path, sizeof path, "%s/%s/inputs", dir, name);
        assert_int_equal(ls_npy_load_dir(path, in, &err), LS_OK);
    } else {
        *in = ls_tmap_new("example");
        assert_int_equal(ls_model_arch(*m)->example_inputs(*m, *in, &err), LS_OK);
    }
    assert_int_equal(ls_model_build(*m, *in, NULL, g, &err), LS_OK);
    assert_int_equal(ls_exec_new(*g, &(ls_exec_opts){.threads = 1}, ex, &err), LS_OK);
    assert_int_equal(ls_exec_set_inputs(*ex, *in, &err), LS_OK);
    assert_int_equal(ls_exec_run(*ex, &err), LS_OK);
}

static void close_full(ls_model *m, ls_tmap *in, ls_graph *g, ls_exec *ex)
{
    ls_exec_free(ex);
    ls_graph_free(g);
    ls_tmap_free(in);
    ls_model_free(m);
}

/* "[2, 4, 6, 8]", as a shape question's answer reads */
static const char *shape_of(const ls_graph *g, const char *name, char buf[64])
{
    int node = ls_graph_find(g, name);
    if (node < 0)
        fail_msg("no '%s' in the full run", name);
    const ls_tensor *t = &ls_graph_node(g, node)->out;
    size_t k = (size_t)snprintf(buf, 64, "[");
    for (int d = 0; d < t->ndim; d++)
        k += (size_t)snprintf(buf + k, 64 - k, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    snprintf(buf + k, 64 - k, "]");
    return buf;
}

static const ls_tensor *out_of(const ls_lesson_run *r, const char *name)
{
    int node = ls_graph_find(r->g, name);
    if (node < 0)
        fail_msg("no '%s' in the run of step %d", name, r->start + 1);
    const ls_tensor *t = ls_exec_out(r->ex, node);
    assert_non_null(t);
    return t;
}

static void assert_same_values(const ls_tensor *a, const ls_tensor *b, double tol)
{
    assert_int_equal(ls_tensor_numel(a), ls_tensor_numel(b));
    for (int64_t i = 0; i < ls_tensor_numel(a); i++)
        if (fabs(ls_tensor_get_flat(a, i) - ls_tensor_get_flat(b, i)) > tol)
            fail_msg("element %lld: %g vs %g", (long long)i, ls_tensor_get_flat(a, i),
                     ls_tensor_get_flat(b, i));
}

/* "Which key does query 2 attend to most?" is read from the live weights:
 * a score edited to tower over the row moves the answer to its key, and
 * the old answer is then refused; a typed key tied with the maximum
 * counts too. */
static void test_argmax_question_is_live(void **state)
{
    (void)state;
    static const char text[] =
        "{\"title\":" T2 ",\"model\":\"mha_small\",\"input\":{\"dir\":\"inputs\"},\"steps\":["
        "{\"point\":\"kpm.attn\",\"text\":" T2 ",\"question\":{\"kind\":\"argmax\",\"index\":[0,1,2],"
        "\"prompt\":" T2 ",\"why\":{\"en\":\"because\",\"zh\":\"x\"}}}]}";
    ls_lesson *L;
    ls_error err = {0};
    if (ls_lesson_parse(text, sizeof text - 1, "mem/09_argmax.json", &L, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(L->steps[0].q.kind, LS_Q_ARGMAX);
    char data[700];
    fixtures_dir(data, sizeof data);
    ls_lesson_run run;
    assert_int_equal(ls_lesson_run_open(L, data, &(ls_exec_opts){.threads = 1}, &run, &err), LS_OK);
    if (ls_lesson_check_all(L, &run, &err))
        fail_msg("%s", err.msg);
    char ans[64], why[512];
    assert_int_equal(ls_lesson_solve(L, 0, &run, ans, sizeof ans, &err), LS_OK);
    const ls_lesson_question *q = &L->steps[0].q;
    /* the answer is the row's largest weight, counted here by hand */
    const ls_tensor *attn = ls_exec_out(run.ex, ls_graph_find(run.g, "kpm.attn"));
    int64_t best = 0;
    for (int64_t j = 1; j < attn->shape[3]; j++)
        if (ls_tensor_get(attn, (int64_t[]){0, 1, 2, j}) > ls_tensor_get(attn, (int64_t[]){0, 1, 2, best}))
            best = j;
    assert_int_equal(atoll(ans), best);
    assert_true(ls_lesson_check(q, run.g, run.ex, run.m, NULL, ans, LS_LANG_EN, why, sizeof why));
    char other[16];
    int64_t k = best == 0 ? 1 : 0;
    snprintf(other, sizeof other, "%lld", (long long)k);
    assert_false(ls_lesson_check(q, run.g, run.ex, run.m, NULL, other, LS_LANG_EN, why, sizeof why));
    assert_non_null(strstr(why, "column"));
    assert_non_null(strstr(why, "because"));
    assert_false(ls_lesson_check(q, run.g, run.ex, run.m, NULL, "none", LS_LANG_EN, why, sizeof why));
    /* edit: key k's score in that row towers over the rest */
    int sn = ls_graph_find(run.g, "kpm.scores");
    ls_tensor *sc = ls_exec_edit(run.ex, sn, &err);
    assert_non_null(sc);
    ls_tensor_set(sc, (int64_t[]){0, 1, 2, k}, 1e4);
    assert_int_equal(ls_exec_rerun(run.ex, sn, &err), LS_OK);
    assert_int_equal(ls_lesson_answer(q, run.g, run.ex, run.m, NULL, ans, sizeof ans, &err), LS_OK);
    assert_int_equal(atoll(ans), k);
    assert_true(ls_lesson_check(q, run.g, run.ex, run.m, NULL, other, LS_LANG_EN, why, sizeof why));
    snprintf(other, sizeof other, "%lld", (long long)best);
    assert_false(ls_lesson_check(q, run.g, run.ex, run.m, NULL, other, LS_LANG_EN, why, sizeof why));
    ls_exec_unpin(run.ex, sn);
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
    /* the index names a row: all dims but the last */
    static const char bad[] =
        "{\"title\":" T2 ",\"model\":\"mha_small\",\"input\":{\"dir\":\"inputs\"},\"steps\":["
        "{\"point\":\"kpm.attn\",\"text\":" T2 ",\"question\":{\"kind\":\"argmax\",\"index\":[0,1,2,3],"
        "\"prompt\":" T2 ",\"why\":" T2 "}}]}";
    assert_int_equal(ls_lesson_parse(bad, sizeof bad - 1, "mem/09_argmax.json", &L, &err), LS_OK);
    assert_int_equal(ls_lesson_run_open(L, data, &(ls_exec_opts){.threads = 1}, &run, &err), LS_OK);
    assert_int_not_equal(ls_lesson_check_all(L, &run, &err), LS_OK);
    assert_non_null(strstr(err.msg, "expected 3"));
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
}

static void test_run_switch_stretches(void **state)
{
    (void)state;
    ls_lesson *L = parse_switch_lesson();
    assert_non_null(L->steps[1].run);
    assert_null(L->steps[2].run);
    int starts[] = {0, 1, 1, 3, 4, 5};
    for (int i = 0; i < L->n_steps; i++)
        assert_int_equal(ls_lesson_run_start(L, i), starts[i]);
    char data[700];
    fixtures_dir(data, sizeof data);
    ls_error err = {0};
    ls_lesson_run run;
    assert_int_equal(ls_lesson_run_open(L, data, &(ls_exec_opts){.threads = 1}, &run, &err), LS_OK);
    assert_int_equal(run.start, 0);
    /* ignoring the switch, step 2's point would be missing from step 1's run */
    assert_true(ls_graph_find(run.g, "kpm.scores") < 0);
    assert_true(ls_graph_find(run.g, "encoders.0.self_attn.matrix_bd") < 0);
    assert_int_equal(ls_lesson_check_points(L, run.g, &err), LS_OK);  /* step 1's stretch only */
    if (ls_lesson_check_all(L, &run, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(run.start, 0);  /* back at step 1's run */

    /* the narration of a switched step quotes its own run */
    assert_int_equal(ls_lesson_run_switch(L, 2, &run, &err), LS_OK);
    assert_int_equal(run.start, 1);
    assert_non_null(strstr(run.model_dir, "mha_small"));
    char text[256];
    assert_int_equal(ls_lesson_expand(ls_ltext_get(&L->steps[1].text, LS_LANG_EN), run.g, text, sizeof text), 0);
    /* a reference that does not resolve is counted (and shown as "?") */
    char bad[128];
    assert_int_equal(ls_lesson_expand("{shape:nope} {dim:kpm.q:9} {dim:kpm.q:0}", run.g, bad, sizeof bad), 2);
    assert_true(!strncmp(bad, "? ? ", 4));

    /* every answer comes from the step's own run */
    char ans[5][64];
    const int qsteps[] = {0, 1, 3, 4, 5};
    for (int k = 0; k < 5; k++) {
        if (ls_lesson_solve(L, qsteps[k], &run, ans[k], sizeof ans[k], &err))
            fail_msg("step %d: %s", qsteps[k] + 1, err.msg);
        assert_int_equal(run.start, qsteps[k]);
    }
    ls_model *m;
    ls_tmap *in;
    ls_graph *g;
    ls_exec *ex;
    char want[64], shape[64];
    /* MHA on its example inputs: another model gets its own inputs */
    open_full("mha_small", false, &m, &in, &g, &ex);
    snprintf(want, sizeof want, "%s", shape_of(g, "kpm.q", shape));
    close_full(m, in, g, ex);
    assert_string_equal(ans[1], want);
    assert_non_null(strstr(text, want));
    open_full("transformer_small", true, &m, &in, &g, &ex);
    assert_string_equal(ans[0], shape_of(g, "encoder.layers.0.enc_self_attn.q", shape));
    close_full(m, in, g, ex);
    /* the Conformer on the inputs the switch gave; a module's arguments
     * have the shapes the full run feeds it */
    open_full("conformer_small", true, &m, &in, &g, &ex);
    assert_string_equal(ans[2], shape_of(g, "encoders.0.self_attn.matrix_bd", shape));
    assert_string_equal(ans[3], shape_of(g, "encoders.0.self_attn.@query", shape));
    assert_string_equal(ans[4], shape_of(g, "encoders.1.self_attn.@pos_emb", shape));
    close_full(m, in, g, ex);

    /* a switch that keeps the model keeps the loaded weights */
    assert_int_equal(ls_lesson_run_switch(L, 3, &run, &err), LS_OK);
    const ls_model *conformer = run.m;
    assert_int_equal(ls_lesson_run_switch(L, 4, &run, &err), LS_OK);
    assert_ptr_equal(run.m, conformer);
    assert_false(run.borrowed);
    /* open_shared borrows a model it can use, and leaves it alive */
    ls_lesson_run other;
    assert_int_equal(ls_lesson_run_open_shared(L, 5, data, &(ls_exec_opts){.threads = 1}, run.m,
                                               &other, &err), LS_OK);
    assert_ptr_equal(other.m, run.m);
    assert_true(other.borrowed);
    ls_lesson_run_close(&other);
    assert_int_equal(ls_lesson_run_open_shared(L, 1, data, &(ls_exec_opts){.threads = 1}, run.m,
                                               &other, &err), LS_OK);
    assert_ptr_not_equal(other.m, run.m);  /* MHA: its own model */
    assert_false(other.borrowed);
    ls_lesson_run_close(&other);
    assert_non_null(ls_model_dir(run.m));

    /* the random module run is `layerstep run --module P --random-inputs 7`:
     * seeded N(0,1) floats in input order, masks the argument's fill */
    assert_int_equal(ls_lesson_run_switch(L, 4, &run, &err), LS_OK);
    assert_string_equal(run.module, "encoders.0.self_attn");
    assert_true(run.random);
    ls_rng rng = {7};
    const ls_tensor *q = out_of(&run, "query");
    for (int64_t i = 0; i < ls_tensor_numel(q); i++)
        assert_true(ls_tensor_get_flat(q, i) == (double)ls_rng_normal(&rng));
    const ls_tensor *mask = out_of(&run, "mask");
    for (int64_t i = 0; i < ls_tensor_numel(mask); i++)
        assert_true(ls_tensor_get_flat(mask, i) == 1);  /* WeNet: True = valid */

    /* without random_inputs the module gets the full run's own tensors,
     * so its output is the full run's output there */
    assert_int_equal(ls_lesson_run_switch(L, 5, &run, &err), LS_OK);
    assert_false(run.random);
    assert_int_equal(ls_exec_run(run.ex, &err), LS_OK);
    open_full("conformer_small", true, &m, &in, &g, &ex);
    assert_same_values(out_of(&run, "query"),
                       ls_exec_out(ex, ls_graph_find(g, "encoders.1.self_attn.@query")), 0);
    assert_same_values(out_of(&run, "encoders.1.self_attn.linear_out"),
                       ls_exec_out(ex, ls_graph_find(g, "encoders.1.self_attn.linear_out")), 1e-5);
    close_full(m, in, g, ex);
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
}

/* Bad "run" fields are refused at load, naming the file and the step;
 * a module the model lacks, when the run opens. */
static void test_run_switch_errors(void **state)
{
    (void)state;
    static const struct {
        const char *run, *msg;
    } cases[] = {
        {"[1]", "mem/x.json: step 2: \"run\" must be an object"},
        {"{\"modle\":\"m\"}", "mem/x.json: step 2: run: unknown field \"modle\""},
        {"{\"model\":3}", "mem/x.json: step 2: run: \"model\" must be a directory name"},
        {"{\"model\":\"../etc\"}", "step 2: run: \"model\" '../etc' must stay inside"},
        {"{\"input\":\"a.wav\"}", "step 2: run: \"input\" must be an object"},
        {"{\"input\":{\"wav\":\"../a.wav\"}}", "step 2: run: \"input\" paths must stay inside"},
        {"{\"module\":\"\"}", "step 2: \"module\" must be a non-empty string"},
        {"{\"random_inputs\":3}", "step 2: run: \"random_inputs\" needs \"module\""},
        {"{\"module\":\"a\",\"random_inputs\":-1}", "step 2: run: \"random_inputs\" must be a seed"},
        {"{\"module\":\"a\",\"random_inputs\":1.5}", "step 2: run: \"random_inputs\" must be a seed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"title\":" T2 ",\"model\":\"m\",\"steps\":[{\"point\":\"a\",\"text\":" T2 "},"
                 "{\"point\":\"b\",\"text\":" T2 ",\"run\":%s}]}", cases[i].run);
        ls_lesson *L;
        ls_error err = {0};
        assert_int_not_equal(ls_lesson_parse(text, strlen(text), "mem/x.json", &L, &err), LS_OK);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("run %s: got '%s', expected '%s'", cases[i].run, err.msg, cases[i].msg);
    }
    static const char nomod[] =
        "{\"title\":" T2 ",\"model\":\"conformer_small\",\"input\":{\"dir\":\"inputs\"},\"steps\":["
        "{\"point\":\"encoders.0\",\"text\":" T2 "},"
        "{\"point\":\"query\",\"text\":" T2 ",\"run\":{\"module\":\"encoders.9.self_attn\",\"random_inputs\":1}}]}";
    ls_lesson *L;
    ls_error err = {0};
    assert_int_equal(ls_lesson_parse(nomod, sizeof nomod - 1, "mem/y.json", &L, &err), LS_OK);
    char data[700];
    fixtures_dir(data, sizeof data);
    ls_lesson_run run;
    assert_int_equal(ls_lesson_run_open(L, data, &(ls_exec_opts){.threads = 1}, &run, &err), LS_OK);
    assert_int_not_equal(ls_lesson_check_all(L, &run, &err), LS_OK);
    if (!strstr(err.msg, "mem/y.json: step 2: run: no module 'encoders.9.self_attn'"))
        fail_msg("got '%s'", err.msg);
    assert_null(run.g);  /* a failed switch leaves the run closed */
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
}

/* A choice with "argmax": the column of a row's largest value, read live
 * (checked against the row scanned here; the right choice is a range
 * [best, best + 2]), and its parse errors. */
static void test_choice_argmax(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"\"argmax\":1,\"index\":[0,0,3]", "\"argmax\" must be true or false"},
        {"\"argmax\":true", "\"argmax\" needs \"index\""},
        {"\"argmax\":true,\"index\":[0,0,3],\"dim\":1", "\"argmax\" needs \"index\""},
    };
    const char *pre = "{\"title\":" T2 ",\"model\":\"conformer_small\",\"input\":{\"dir\":\"inputs\"},"
                      "\"steps\":[{\"point\":\"encoders.0.self_attn.attn\",\"text\":" T2 ",";
    char text[2048];
    ls_lesson *L;
    ls_error err = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text,
                 "%s\"question\":{\"kind\":\"choice\",%s,\"prompt\":" T2 ",\"why\":" T2 ","
                 "\"choices\":[{\"value\":1,\"text\":" T2 "},{\"value\":2,\"text\":" T2 "}]}}]}",
                 pre, bad[i][0]);
        assert_int_not_equal(ls_lesson_parse(text, strlen(text), "mem/am.json", &L, &err), LS_OK);
        if (!strstr(err.msg, bad[i][1]))
            fail_msg("%s: got '%s'", bad[i][0], err.msg);
    }
    /* the row's largest column, found by hand on the fixture */
    snprintf(text, sizeof text, "%s\"question\":{\"kind\":\"shape\",\"prompt\":" T2 ",\"why\":" T2 "}}]}", pre);
    assert_int_equal(ls_lesson_parse(text, strlen(text), "mem/am.json", &L, &err), LS_OK);
    char data[700];
    fixtures_dir(data, sizeof data);
    ls_lesson_run run;
    assert_int_equal(ls_lesson_run_open(L, data, &(ls_exec_opts){.threads = 1}, &run, &err), LS_OK);
    assert_int_equal(ls_exec_run(run.ex, &err), LS_OK);
    const ls_tensor *t = ls_exec_out(run.ex, ls_graph_find(run.g, "encoders.0.self_attn.attn"));
    assert_non_null(t);
    int64_t idx[4] = {0, 1, 3, 0}, best = 0;
    double bv = -1;
    for (idx[3] = 0; idx[3] < t->shape[3]; idx[3]++)
        if (ls_tensor_get(t, idx) > bv) {
            bv = ls_tensor_get(t, idx);
            best = idx[3];
        }
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
    snprintf(text, sizeof text,
             "%s\"question\":{\"kind\":\"choice\",\"argmax\":true,\"index\":[0,1,3],\"prompt\":" T2
             ",\"why\":" T2 ",\"choices\":[{\"value\":%lld,\"text\":" T2 "},{\"value\":[%lld,%lld],\"text\":" T2 "}]}}]}",
             pre, (long long)best + 1, (long long)best, (long long)best + 2);
    assert_int_equal(ls_lesson_parse(text, strlen(text), "mem/am.json", &L, &err), LS_OK);
    assert_int_equal(ls_lesson_run_open(L, data, &(ls_exec_opts){.threads = 1}, &run, &err), LS_OK);
    assert_int_equal(ls_lesson_check_all(L, &run, &err), LS_OK);
    char ans[64], why[600];
    assert_int_equal(ls_lesson_solve(L, 0, &run, ans, sizeof ans, &err), LS_OK);
    assert_string_equal(ans, "b");
    assert_true(ls_lesson_check(&L->steps[0].q, run.g, run.ex, run.m, NULL, "b", LS_LANG_EN, why, sizeof why));
    assert_false(ls_lesson_check(&L->steps[0].q, run.g, run.ex, run.m, NULL, "a", LS_LANG_EN, why, sizeof why));
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
    /* the index is a row: a full cell is refused when the run opens */
    snprintf(text, sizeof text,
             "%s\"question\":{\"kind\":\"choice\",\"argmax\":true,\"index\":[0,1,3,0],\"prompt\":" T2
             ",\"why\":" T2 ",\"choices\":[{\"value\":0,\"text\":" T2 "},{\"value\":1,\"text\":" T2 "}]}}]}",
             pre);
    assert_int_equal(ls_lesson_parse(text, strlen(text), "mem/am.json", &L, &err), LS_OK);
    assert_int_equal(ls_lesson_run_open(L, data, &(ls_exec_opts){.threads = 1}, &run, &err), LS_OK);
    assert_int_not_equal(ls_lesson_check_all(L, &run, &err), LS_OK);
    assert_non_null(strstr(err.msg, "has 4 numbers, expected 3"));
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
}

/* A lesson given as text, its first run opened on the test fixtures and
 * shown in the TUI core at w x h. */
static ls_tui *lesson_tui(const char *text, size_t n, const char *name, ls_lesson **L,
                          ls_lesson_run *run, int w, int h)
{
    ls_error err = {0};
    if (ls_lesson_parse(text, n, name, L, &err))
        fail_msg("%s", err.msg);
    char data[700];
    fixtures_dir(data, sizeof data);
    assert_int_equal(ls_lesson_run_open(*L, data, &(ls_exec_opts){.threads = 1}, run, &err), LS_OK);
    ls_tui *app;
    ls_tui_opts to = {.model = run->m, .inputs = run->in, .lesson = *L, .data_dir = data,
                      .exec = {.threads = 1}};
    assert_int_equal(ls_tui_new(run->g, run->ex, &to, &app, &err), LS_OK);
    ls_tui_set_size(app, w, h);
    return app;
}

/* The TUI walks the same stretches: each step's point is selected in the
 * run its switch opened (in the module-run slot), and a step without a
 * switch goes back to the main run. */
static void test_run_switch_tui(void **state)
{
    (void)state;
    static const char text[] =
        "{\"title\":" T2 ",\"model\":\"conformer_small\",\"input\":{\"dir\":\"inputs\"},\"steps\":["
        "{\"point\":\"encoders.0.self_attn.matrix_bd\",\"text\":" T2 "},"
        "{\"point\":\"kpm.attn\",\"run\":{\"model\":\"mha_small\"},\"text\":" T2 "},"
        "{\"point\":\"encoders.0.self_attn.scores\",\"run\":{\"model\":\"conformer_small\",\"input\":{\"dir\":\"inputs\"},"
        "\"module\":\"encoders.0.self_attn\",\"random_inputs\":3},\"text\":" T2 "},"
        "{\"point\":\"query\",\"text\":" T2 "},"
        "{\"point\":\"encoders.0.self_attn.attn\",\"text\":" T2 "}]}";
    ls_lesson *L;
    ls_lesson_run run;
    ls_tui *app = lesson_tui(text, sizeof text - 1, "mem/08_t.json", &L, &run, 120, 40);
    const char *want[] = {"encoders.0.self_attn.matrix_bd", "kpm.attn", "encoders.0.self_attn.scores",
                          "query"};
    const ls_graph *seen[4];
    for (int i = 0; i < 4; i++) {
        ls_tui_state st;
        ls_tui_get_state(app, &st);
        assert_int_equal(st.lesson_step, i);
        const ls_graph *g = ls_tui_graph(app);
        seen[i] = g;
        int node = ls_graph_find(g, want[i]);
        if (node < 0)
            fail_msg("step %d: no '%s' in the graph shown", i + 1, want[i]);
        assert_int_equal(st.selected, node);
        assert_true(ls_exec_computed(ls_tui_exec(app), node));
        assert_int_equal(st.in_module_run, i > 0);
        if (i < 3)
            ls_tui_feed(app, 'n');
    }
    assert_ptr_equal(seen[0], run.g);
    assert_ptr_not_equal(seen[1], run.g);
    assert_ptr_equal(seen[2], seen[3]);  /* one run for the stretch */
    /* :main leaves the switched run for the main one; step 5, in the same
     * stretch, puts that run back (kept, not reopened) */
    const char *cmd = ":main";
    for (const char *c = cmd; *c; c++)
        ls_tui_feed(app, *c);
    ls_tui_feed(app, LS_KEY_ENTER);
    ls_tui_state st;
    ls_tui_get_state(app, &st);
    assert_false(st.in_module_run);
    assert_ptr_equal(ls_tui_graph(app), run.g);
    ls_tui_feed(app, 'n');
    ls_tui_get_state(app, &st);
    assert_int_equal(st.lesson_step, 4);
    assert_true(st.in_module_run);
    assert_ptr_equal(ls_tui_graph(app), seen[3]);
    assert_int_equal(st.selected, ls_graph_find(seen[3], "encoders.0.self_attn.attn"));
    ls_tui_free(app);
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
}

/* A real lesson opened twice, as `layerstep lesson N` opens it; one copy
 * computes ahead between keys (ls_tui_idle), the other never does.  Key
 * for key (steps, answers typed or left empty, a direction question's
 * edit, stepping, undo) both show the same screen and state. */
static void lesson_ahead_invisible(const char *file, uint64_t seed)
{
    char path[700], data[600];
    snprintf(path, sizeof path, "%s/lessons/%s", root(), file);
    snprintf(data, sizeof data, "%s/data", root());
    ls_error err = {0};
    ls_lesson *L[2];
    ls_lesson_run run[2];
    ls_tui *app[2];
    ls_textcanvas tc[2];
    for (int k = 0; k < 2; k++) {
        if (ls_lesson_load(path, &L[k], &err) ||
            ls_lesson_run_open(L[k], data, &(ls_exec_opts){.threads = 1}, &run[k], &err))
            fail_msg("%s", err.msg);
        ls_tui_opts to = {.model = run[k].m, .inputs = run[k].in, .lesson = L[k], .data_dir = data,
                          .exec = {.threads = 1}};
        assert_int_equal(ls_tui_new(run[k].g, run[k].ex, &to, &app[k], &err), LS_OK);
        ls_tui_set_size(app[k], 100, 30);
        assert_int_equal(ls_textcanvas_init(&tc[k], 100, 30), LS_OK);
    }
    static const int pool[] = {'n', 'n', 'n', 'n', LS_KEY_ENTER, LS_KEY_ENTER, 'r', 'f', '1', '[',
                               ' ', ',', ']', LS_KEY_BACKSPACE, LS_KEY_ESC, 's', 'p', 'u', 'j', 'a'};
    int np = (int)(sizeof pool / sizeof pool[0]), max_step = 0, ahead = 0, answered = 0;
    for (int i = 0; i < 1500; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        int key = pool[(seed >> 33) % (uint64_t)np];
        ls_tui_state before;
        ls_tui_get_state(app[1], &before);
        int a_before = before.answer;
        unsigned q0 = ls_tui_feed(app[0], key), q1 = ls_tui_feed(app[1], key);
        assert_int_equal(q0, q1);
        int budget = (int)((seed >> 20) % 4);
        for (int k = 0; budget == 3 || k < budget; k++)
            if (!ls_tui_idle(app[1]))
                break;
        ls_tui_state a, b;
        ls_tui_get_state(app[0], &a);
        ls_tui_get_state(app[1], &b);
        assert_int_equal(a.lesson_step, b.lesson_step);
        assert_int_equal(a.answer, b.answer);
        assert_int_equal(a.at, b.at);
        assert_int_equal(a.cursor, b.cursor);
        assert_int_equal(a.n_edits, b.n_edits);
        assert_string_equal(a.message, b.message);
        ahead += ls_exec_cursor(ls_tui_exec(app[1])) > b.cursor;
        answered += b.answer != 0 && b.answer != a_before;
        max_step = b.lesson_step > max_step ? b.lesson_step : max_step;
        for (int k = 0; k < 2; k++) {
            ls_textcanvas_clear(&tc[k]);
            ls_tui_draw(app[k], &tc[k].c);
        }
        for (int y = 0; y < 30; y++) {
            char r0[128], r1[128];
            ls_textcanvas_row(&tc[0], y, r0, sizeof r0);
            ls_textcanvas_row(&tc[1], y, r1, sizeof r1);
            if (strcmp(r0, r1) || memcmp(tc[0].style + y * 100, tc[1].style + y * 100, 100))
                fail_msg("%s, key %d: row %d differs:\n  %s\n  %s", file, i, y, r0, r1);
        }
        if (q0 & LS_TUI_QUIT)
            break;
    }
    print_message("%s: reached step %d, %d answers, ahead after %d keys\n", file, max_step + 1,
                  answered, ahead);
    assert_true(max_step >= 3);
    assert_true(answered >= 3);
    assert_true(ahead > 50);
    for (int k = 0; k < 2; k++) {
        ls_textcanvas_free(&tc[k]);
        ls_tui_free(app[k]);
        ls_lesson_run_close(&run[k]);
        ls_lesson_free(L[k]);
    }
}

/* A question about a tensor past the step's point: entering the step
 * runs far enough for it (the front moves there), so it is answered the
 * same with or without computing ahead. */
static void test_question_past_the_step(void **state)
{
    (void)state;
    static const char text[] =
        "{\"title\":" T2 ",\"model\":\"conformer_small\",\"input\":{\"dir\":\"inputs\"},\"steps\":["
        "{\"point\":\"encoders.0.self_attn.q\",\"text\":" T2 ","
        "\"question\":{\"kind\":\"shape\",\"of\":\"encoders.0.self_attn.attn\","
        "\"prompt\":" T2 ",\"why\":" T2 "}}]}";
    for (int ahead = 0; ahead < 2; ahead++) {
        ls_lesson *L;
        ls_lesson_run run;
        ls_tui *app = lesson_tui(text, sizeof text - 1, "mem/10_q.json", &L, &run, 100, 30);
        while (ahead && ls_tui_idle(app)) {
        }
        int attn = ls_graph_find(run.g, "encoders.0.self_attn.attn");
        assert_true(attn >= 0);
        assert_true(ls_exec_computed(run.ex, attn));
        int q = ls_graph_find(run.g, "encoders.0.self_attn.q");
        ls_tui_state st;
        ls_tui_get_state(app, &st);
        assert_int_equal(st.at, q);
        assert_int_equal(st.cursor, attn + 1);
        assert_true(ls_exec_cursor(run.ex) == (ahead ? ls_graph_n_nodes(run.g) : attn + 1));
        char want[64];
        ls_shape_str(&ls_graph_node(run.g, attn)->out, want, sizeof want);
        assert_true(st.prompt);  /* the question's step opens the answer line */
        for (const char *c = want; *c; c++)
            ls_tui_feed(app, *c);
        ls_tui_feed(app, LS_KEY_ENTER);
        ls_tui_get_state(app, &st);
        assert_int_equal(st.answer, 1);
        ls_tui_free(app);
        ls_lesson_run_close(&run);
        ls_lesson_free(L);
    }
}

static void test_compute_ahead_in_lessons(void **state)
{
    (void)state;
    lesson_ahead_invisible("01_self_attention.json", 11);
    lesson_ahead_invisible("02_masks_teacher_forcing.json", 12);
}

/* A step's edit (or question cell) is where the grid scrolls: batch,
 * head, row and column of the view point at it, the tensor pane has the
 * focus, and the cell is drawn as the cursor. */
static void test_step_focuses_its_cell(void **state)
{
    (void)state;
    static const char text[] =
        "{\"title\":" T2 ",\"model\":\"conformer_small\",\"input\":{\"dir\":\"inputs\"},\"steps\":["
        "{\"point\":\"encoders.0.self_attn.scores\",\"text\":" T2 ","
        "\"action\":{\"kind\":\"edit\",\"point\":\"encoders.0.self_attn.scores\",\"index\":[1,2,9,7],\"value\":3.5}},"
        "{\"point\":\"encoders.0.self_attn.attn\",\"text\":" T2 ","
        "\"question\":{\"kind\":\"direction\",\"index\":[0,1,8,6],"
        "\"prompt\":" T2 ",\"why\":" T2 "},"
        "\"action\":{\"kind\":\"edit\",\"point\":\"encoders.0.self_attn.mask\",\"index\":[0,0,6],\"value\":false}}]}";
    ls_lesson *L;
    ls_lesson_run run;
    ls_tui *app = lesson_tui(text, sizeof text - 1, "mem/09_f.json", &L, &run, 80, 24);
    ls_tui_state st;
    ls_tui_get_state(app, &st);
    /* step 1: the edited cell [1, 2, 9, 7] */
    assert_int_equal(st.batch, 1);
    assert_int_equal(st.head, 2);
    assert_int_equal(st.row, 9);
    assert_int_equal(st.col, 7);
    assert_int_equal(st.focus, LS_FOCUS_TENSOR);
    ls_textcanvas tc;
    assert_int_equal(ls_textcanvas_init(&tc, 80, 24), LS_OK);
    ls_tui_draw(app, &tc.c);
    bool cursor_drawn = false;
    for (int y = 0; y < 24; y++)
        for (int x = 40; x < 80; x++)
            cursor_drawn = cursor_drawn || ls_textcanvas_style_at(&tc, y, x) == LS_STY_SELECT;
    assert_true(cursor_drawn);
    /* step 2: the edit is on another tensor; the question's cell is shown */
    ls_tui_feed(app, 'n');
    ls_tui_get_state(app, &st);
    assert_int_equal(st.lesson_step, 1);
    assert_int_equal(st.batch, 0);
    assert_int_equal(st.head, 1);
    assert_int_equal(st.row, 8);
    assert_int_equal(st.col, 6);
    ls_textcanvas_free(&tc);
    ls_tui_free(app);
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_lesson),
        cmocka_unit_test(test_lesson01_facts),
        cmocka_unit_test(test_lesson02_facts),
        cmocka_unit_test(test_wav2vec2_lesson_facts),
        cmocka_unit_test(test_conformer_trained_facts),
        cmocka_unit_test(test_errors_name_file_and_step),
        cmocka_unit_test(test_step_focuses_its_cell),
        cmocka_unit_test(test_compute_ahead_in_lessons),
        cmocka_unit_test(test_question_past_the_step),
        cmocka_unit_test(test_run_switch_stretches),
        cmocka_unit_test(test_argmax_question_is_live),
        cmocka_unit_test(test_run_switch_errors),
        cmocka_unit_test(test_choice_argmax),
        cmocka_unit_test(test_run_switch_tui),
        cmocka_unit_test(test_parse_and_hostile_edit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
