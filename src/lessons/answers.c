/* Answers, read from the live tensors: the narration's live shapes, the
 * right answer of a question, whether a typed answer is right, the fact
 * that decides it, and solving a step for tests and --answers. */

#include "layerstep/lesson.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "layerstep/atomic.h"
#include "layerstep/audio.h"
#include "layerstep/npy.h"
#include "layerstep/transformer.h"
#include "lesson_internal.h"

/* ------------------------------------------------------------------ */
/* live facts                                                          */

static void shape_text(const ls_tensor *t, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

int ls_lesson_expand(const char *text, const ls_graph *g, char *out, size_t n)
{
    return ls_lesson_expand_hiding(text, g, NULL, NULL, out, n);
}

int ls_lesson_expand_hiding(const char *text, const ls_graph *g,
                            bool (*hide)(void *ud, const char *point, const ls_tensor *shape, int dim),
                            void *ud, char *out, size_t n)
{
    return ls_lesson_expand_live(text, g, NULL, NULL, hide, ud, out, n);
}

/* "{transcript}": what the run heard, or "?" (not computed, hidden, no units) */
static bool transcript_text(const ls_graph *g, const ls_exec *ex, const ls_model *m,
                            bool (*hide)(void *ud, const char *point, const ls_tensor *shape, int dim),
                            void *ud, char *buf, size_t n)
{
    int node = g ? ls_graph_find(g, "ctc_greedy_search") : -1;
    snprintf(buf, n, "?");
    if (node < 0 || !ex || !m || !ls_exec_out(ex, node))
        return false;
    if (hide && hide(ud, "ctc_greedy_search", NULL, -2))
        return true;  /* the open question asks for it */
    char t[256];
    if (!ls_ctc_transcript(m, ex, 0, t, sizeof t))
        return false;
    snprintf(buf, n, "%s", t);
    return true;
}

int ls_lesson_expand_live(const char *text, const ls_graph *g, const ls_exec *ex,
                          const ls_model *m,
                          bool (*hide)(void *ud, const char *point, const ls_tensor *shape, int dim),
                          void *ud, char *out, size_t n)
{
    size_t k = 0;
    int unresolved = 0;
    if (!n)
        return 0;
    while (*text && k + 1 < n) {
        if (!strncmp(text, "{transcript}", 12)) {
            char val[300];
            unresolved += !transcript_text(g, ex, m, hide, ud, val, sizeof val);
            k += (size_t)snprintf(out + k, n - k, "%s", val);
            if (k >= n)
                k = n - 1;
            text += 12;
            continue;
        }
        const char *close = NULL;
        if (*text == '{' && (!strncmp(text, "{shape:", 7) || !strncmp(text, "{dim:", 5)))
            close = strchr(text, '}');
        if (!close) {
            out[k++] = *text++;
            continue;
        }
        char spec[300];
        snprintf(spec, sizeof spec, "%.*s", (int)(close - text - 1), text + 1);
        char *name = strchr(spec, ':') + 1, val[96] = "?";
        char *dim = spec[0] == 'd' ? strrchr(name, ':') : NULL;
        if (dim)
            *dim++ = '\0';
        int node = g ? ls_graph_find(g, name) : -1;
        bool ok = false;
        if (node >= 0 && hide && hide(ud, name, &ls_graph_node(g, node)->out, dim ? atoi(dim) : -1)) {
            /* the open question asks for this: "[?, ?, ?, ?]" or "?" */
            const ls_tensor *t = &ls_graph_node(g, node)->out;
            size_t vk = 0;
            if (!dim) {
                vk += (size_t)snprintf(val, sizeof val, "[");
                for (int d = 0; d < t->ndim && vk < sizeof val; d++)
                    vk += (size_t)snprintf(val + vk, sizeof val - vk, "%s?", d ? ", " : "");
                if (vk < sizeof val)
                    snprintf(val + vk, sizeof val - vk, "]");
            } else {
                snprintf(val, sizeof val, "?");
            }
            ok = true;
        } else if (node >= 0) {
            const ls_tensor *t = &ls_graph_node(g, node)->out;
            if (!dim) {
                shape_text(t, val, sizeof val);
                ok = true;
            } else if (atoi(dim) >= 0 && atoi(dim) < t->ndim) {
                snprintf(val, sizeof val, "%lld", (long long)t->shape[atoi(dim)]);
                ok = true;
            }
        }
        unresolved += !ok;
        k += (size_t)snprintf(out + k, n - k, "%s", val);
        if (k >= n)
            k = n - 1;
        text = close + 1;
    }
    out[k] = '\0';
    return unresolved;
}

static const ls_tensor *live(const ls_graph *g, const ls_exec *ex, const char *name, ls_error *err)
{
    int node = ls_graph_find(g, name);
    if (node < 0) {
        ls_error_set(err, LS_ERR_MISSING, "no point '%s' in the model", name);
        return NULL;
    }
    const ls_tensor *t = ls_exec_out(ex, node);
    if (!t)
        ls_error_set(err, LS_ERR_ARG, "'%s' is not computed yet", name);
    return t;
}

double ls_lesson_watch(const ls_lesson_question *q, const ls_graph *g, const ls_exec *ex)
{
    const ls_tensor *t = live(g, ex, q->of, NULL);
    if (!t || q->n_index != t->ndim)
        return NAN;
    return ls_tensor_get(t, q->index);
}

/* Masked columns of the row at q->index, as "1 4 5" (or "none"). */
static void masked_cols(const ls_tensor *t, const ls_lesson_question *q, char *buf, size_t n)
{
    int64_t idx[LS_MAX_DIMS] = {0};
    memcpy(idx, q->index, sizeof q->index);
    size_t k = 0;
    buf[0] = '\0';
    int last = t->ndim - 1;
    for (int64_t j = 0; j < t->shape[last] && k < n; j++) {
        idx[last] = j;
        if (ls_tensor_get(t, idx) != 0)
            k += (size_t)snprintf(buf + k, n - k, "%s%lld", k ? " " : "", (long long)j);
    }
    if (!buf[0])
        snprintf(buf, n, "none");
}

/* The unit an id stands for, as the learner types it: the blank is
 * "blank", the space unit "space", else its text ("<N>" without units). */
static void unit_answer(const ls_model *m, int64_t id, char *buf, size_t n)
{
    if (m && id == ls_model_ctc_blank(m)) {
        snprintf(buf, n, "blank");
        return;
    }
    if (!m) {
        snprintf(buf, n, "<%lld>", (long long)id);
        return;
    }
    ls_model_unit_text(m, id, buf, n);
    if (!strcmp(buf, " "))
        snprintf(buf, n, "space");
}

/* Cells of the row at q->index (all dims but the last) equal to q->equal. */
static int64_t count_row(const ls_tensor *t, const ls_lesson_question *q)
{
    int64_t idx[LS_MAX_DIMS] = {0}, c = 0;
    memcpy(idx, q->index, sizeof q->index);
    int last = t->ndim - 1;
    for (int64_t j = 0; j < t->shape[last]; j++) {
        idx[last] = j;
        c += ls_tensor_get(t, idx) == q->equal;
    }
    return c;
}

/* The row at q->index of t (all dims but the last): its largest value and
 * the first column holding it (-1 for an empty row or one of NaN only). */
static int64_t row_argmax(const ls_tensor *t, const ls_lesson_question *q, double *max)
{
    int64_t idx[LS_MAX_DIMS] = {0}, best = -1;
    memcpy(idx, q->index, sizeof q->index);
    int last = t->ndim - 1;
    *max = NAN;
    for (int64_t j = 0; last >= 0 && j < t->shape[last]; j++) {
        idx[last] = j;
        double v = ls_tensor_get(t, idx);
        if (!isnan(v) && (best < 0 || v > *max)) {
            *max = v;
            best = j;
        }
    }
    return best;
}

/* row_argmax's column, 0 for a row of NaN only (a choice needs a value). */
static int64_t row_peak(const ls_tensor *t, const ls_lesson_question *q)
{
    double mx;
    int64_t j = row_argmax(t, q, &mx);
    return j < 0 ? 0 : j;
}

/* The value in column j of that row (NaN when j is outside it). */
static double row_at(const ls_tensor *t, const ls_lesson_question *q, int64_t j)
{
    int64_t idx[LS_MAX_DIMS] = {0};
    memcpy(idx, q->index, sizeof q->index);
    int last = t->ndim - 1;
    if (last < 0 || j < 0 || j >= t->shape[last])
        return NAN;
    idx[last] = j;
    return ls_tensor_get(t, idx);
}

int ls_lesson_answer(const ls_lesson_question *q, const ls_graph *g, const ls_exec *ex,
                     const ls_model *m, const double *before, char *ans, size_t n, ls_error *err)
{
    const ls_tensor *t = live(g, ex, q->of, err);
    if (!t)
        return err ? err->code : LS_ERR_ARG;
    switch (q->kind) {
    case LS_Q_TEXT:
        if (q->n_index) {
            if (!ls_lesson_index_inside(t, q->n_index, q->index))
                return ls_error_set(err, LS_ERR_RANGE, "the index is not a cell of '%s'", q->of);
            unit_answer(m, (int64_t)ls_tensor_get(t, q->index), ans, n);
            return LS_OK;
        }
        if (!m)
            return ls_error_set(err, LS_ERR_ARG, "a transcript question needs the model's units");
        if (!ls_ctc_transcript(m, ex, 0, ans, n))
            return ls_error_set(err, LS_ERR_ARG, "'%s' holds no transcript", q->of);
        if (!ans[0])
            snprintf(ans, n, "none");  /* nothing heard: typed as "none" */
        return LS_OK;
    case LS_Q_COUNT:
        if (q->n_index != t->ndim - 1)
            return ls_error_set(err, LS_ERR_RANGE, "the index is not a row of '%s'", q->of);
        snprintf(ans, n, "%lld", (long long)count_row(t, q));
        return LS_OK;
    case LS_Q_SHAPE:
        shape_text(t, ans, n);
        return LS_OK;
    case LS_Q_MASKED:
        masked_cols(t, q, ans, n);
        return LS_OK;
    case LS_Q_ARGMAX: {
        double mx;
        int64_t j = row_argmax(t, q, &mx);
        if (j < 0)
            return ls_error_set(err, LS_ERR_RANGE, "this row of '%s' has no number (all NaN)", q->of);
        snprintf(ans, n, "%lld", (long long)j);
        return LS_OK;
    }
    case LS_Q_CHOICE: {
        double v = q->dim >= 0 ? (double)t->shape[q->dim]
                   : q->argmax  ? (double)row_peak(t, q)
                                : ls_tensor_get(t, q->index);
        for (int i = 0; i < q->n_choices; i++)
            if (q->is_range[i] ? v >= q->values[i] && v <= q->upto[i] :
                (isnan(v) && isnan(q->values[i])) || q->values[i] == v ||
                fabs(q->values[i] - v) <= 1e-6 * (1 + fabs(v))) {
                snprintf(ans, n, "%c", 'a' + i);
                return LS_OK;
            }
        return ls_error_set(err, LS_ERR_RANGE, "no choice matches the live value %g of '%s'", v, q->of);
    }
    case LS_Q_DIRECTION: {
        if (!before)
            return ls_error_set(err, LS_ERR_ARG, "a direction question needs the value before the edit");
        double after = ls_tensor_get(t, q->index);
        snprintf(ans, n, "%s", after > *before ? "rises" : after < *before ? "falls" : "same");
        return LS_OK;
    }
    case LS_Q_NONE: break;
    }
    return ls_error_set(err, LS_ERR_ARG, "this step asks no question");
}

/* Integers of s in order ("[2, 8,6 x64]" -> 2 8 6 64); returns the count. */
static int numbers(const char *s, long long *v, int max)
{
    int n = 0;
    while (*s && n < max) {
        if (isdigit((unsigned char)*s)) {
            v[n++] = strtoll(s, (char **)&s, 10);
            continue;
        }
        s++;
    }
    return n;
}

static bool same_numbers(const char *a, const char *b)
{
    long long va[256], vb[256];
    int na = numbers(a, va, 256), nb = numbers(b, vb, 256);
    return na == nb && !memcmp(va, vb, (size_t)na * sizeof *va);
}

/* Words of s, lowercased, one space apart, none at the ends; the blank's
 * and the space unit's other spellings as "blank" / "space", nothing
 * heard as "none". */
static void norm_text(const char *s, char *out, size_t n)
{
    size_t k = 0;
    bool gap = false;
    for (; *s && k + 1 < n; s++) {
        if (*s == ' ' || *s == '\t') {
            gap = k > 0;
            continue;
        }
        if (gap && k + 1 < n)
            out[k++] = ' ';
        gap = false;
        if (k + 1 < n)
            out[k++] = (char)tolower((unsigned char)*s);
    }
    out[k] = '\0';
    static const char *const alias[][2] = {
        {"\xc2\xb7", "blank"}, {"<blank>", "blank"}, {"_", "blank"}, {"-", "blank"}, {"空白", "blank"},
        {"\xe2\x96\x81", "space"}, {"<space>", "space"}, {"空格", "space"},
        {"nothing", "none"}, {"无", "none"}, {"(none)", "none"}};
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (!strcmp(out, alias[i][0]))
            snprintf(out, n, "%s", alias[i][1]);
}

static bool same_text(const char *typed, const char *ans)
{
    char a[300], b[300];
    norm_text(typed, a, sizeof a);
    norm_text(ans, b, sizeof b);
    return a[0] && !strcmp(a, b);
}

/* "64" for a value, as a choice's value is typed */
static void value_text(double v, char *buf, size_t n) { snprintf(buf, n, "%.10g", v); }

static const char *skip_blanks(const char *s)
{
    while (*s == ' ')
        s++;
    return s;
}

/* typed, blanks cut at both ends, equals text */
static bool typed_is(const char *typed, const char *text)
{
    typed = skip_blanks(typed);
    size_t k = strlen(typed);
    while (k > 0 && typed[k - 1] == ' ')
        k--;
    return k > 0 && strlen(text) == k && !strncasecmp(typed, text, k);
}

int ls_lesson_choice_typed(const ls_lesson_question *q, const char *typed, int lang, bool *more)
{
    if (more)
        *more = false;
    if (q->kind != LS_Q_CHOICE)
        return -1;
    const char *t = skip_blanks(typed);
    char c = (char)tolower((unsigned char)t[0]);
    if (c >= 'a' && c < 'a' + q->n_choices && (!t[1] || t[1] == ' ' || t[1] == ')'))
        return c - 'a';
    int found = -1;
    size_t tl = strlen(t);
    while (tl > 0 && t[tl - 1] == ' ')
        tl--;
    for (int i = 0; i < q->n_choices; i++) {
        char vt[64];
        if (q->is_range[i])
            snprintf(vt, sizeof vt, "%.10g-%.10g", q->values[i], q->upto[i]);
        else
            value_text(q->values[i], vt, sizeof vt);
        const char *texts[3] = {vt, ls_ltext_get(&q->choices[i], lang),
                                ls_ltext_get(&q->choices[i], LS_LANG_EN)};
        for (int k = 0; k < 3; k++) {
            if (!texts[k] || !texts[k][0])
                continue;
            if (typed_is(t, texts[k]))
                found = i;
            else if (more && tl > 0 && strlen(texts[k]) > tl && !strncasecmp(texts[k], t, tl))
                *more = true;
        }
    }
    return found;
}

/* "[0, 31]" */
static void index_text(const int64_t *idx, int ni, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ni && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)idx[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

int ls_lesson_fact(const ls_lesson_question *q, const ls_graph *g, const ls_exec *ex,
                   const ls_model *m, const double *before, int lang, char *fact, size_t n,
                   ls_error *err)
{
    char ans[256];
    int rc = ls_lesson_answer(q, g, ex, m, before, ans, sizeof ans, err);
    if (rc)
        return rc;
    bool zh = lang == LS_LANG_ZH;
    char at[96];
    index_text(q->index, q->n_index, at, sizeof at);
    switch (q->kind) {
    case LS_Q_TEXT:
        if (q->n_index)
            snprintf(fact, n, zh ? "%s 在 %s 处是 %s" : "%s at %s is %s", q->of, at, ans);
        else
            snprintf(fact, n, zh ? "%s 解码出来是 \"%s\"" : "%s decodes to \"%s\"", q->of, ans);
        break;
    case LS_Q_COUNT:
        snprintf(fact, n, zh ? "%s 的 %s 行有 %s 个值等于 %g" : "row %s of %s has %s cells equal to %g",
                 zh ? q->of : at, zh ? at : q->of, ans, q->equal);
        break;
    case LS_Q_SHAPE:
        if (zh)
            snprintf(fact, n, "%s 的实际形状: %s", q->of, ans);
        else
            snprintf(fact, n, "the live shape of %s is %s", q->of, ans);
        break;
    case LS_Q_MASKED: {
        bool none = !strcmp(ans, "none");
        if (zh)
            snprintf(fact, n, "%s 这一行被遮住的列是: %s", q->of, none ? "无" : ans);
        else
            snprintf(fact, n, "this row of %s masks columns: %s", q->of, ans);
        break;
    }
    case LS_Q_CHOICE: {
        int i = ans[0] - 'a';
        snprintf(fact, n, zh ? "正确答案是 %c) %s" : "the answer is %c) %s", ans[0],
                 ls_ltext_get(&q->choices[i], lang));
        break;
    }
    case LS_Q_ARGMAX: {
        const ls_tensor *t = live(g, ex, q->of, NULL);
        double v = row_at(t, q, atoll(ans));
        if (zh)
            snprintf(fact, n, "%s 这一行最大的是第 %s 列 (%.4g)", q->of, ans, v);
        else
            snprintf(fact, n, "this row of %s is largest at column %s (%.4g)", q->of, ans, v);
        break;
    }
    case LS_Q_DIRECTION: {
        double after = ls_tensor_get(live(g, ex, q->of, NULL), q->index);
        if (zh)
            snprintf(fact, n, "%s 从 %.4g 变成 %.4g (%s)", q->of, *before, after,
                     ans[0] == 'r' ? "上升" : ans[0] == 'f' ? "下降" : "不变");
        else
            snprintf(fact, n, "%s went from %.4g to %.4g (%s)", q->of, *before, after, ans);
        break;
    }
    case LS_Q_NONE: fact[0] = '\0'; break;
    }
    return LS_OK;
}

bool ls_lesson_check(const ls_lesson_question *q, const ls_graph *g, const ls_exec *ex,
                     const ls_model *m, const double *before, const char *typed, int lang,
                     char *reason, size_t n)
{
    char ans[256];
    ls_error err = {0};
    reason[0] = '\0';
    if (ls_lesson_answer(q, g, ex, m, before, ans, sizeof ans, &err)) {
        snprintf(reason, n, "%s", err.msg);
        return false;
    }
    typed = skip_blanks(typed);
    bool ok = false;
    switch (q->kind) {
    case LS_Q_SHAPE:
        ok = same_numbers(typed, ans) && numbers(typed, (long long[1]){0}, 1) > 0;
        break;
    case LS_Q_MASKED: {
        bool none = !strcmp(ans, "none");
        ok = none ? (!strncasecmp(typed, "none", 4) || !strcmp(typed, "-") || !strcmp(typed, "无"))
                  : same_numbers(typed, ans);
        break;
    }
    case LS_Q_ARGMAX: {
        /* one column number; a column tied with the largest is right too */
        long long v[2];
        const ls_tensor *t = live(g, ex, q->of, NULL);
        double mx;
        ok = t && numbers(typed, v, 2) == 1 && row_argmax(t, q, &mx) >= 0 && row_at(t, q, v[0]) == mx;
        break;
    }
    case LS_Q_CHOICE:
        /* by letter ("b", "b)") or by value ("64", or the choice's text) */
        ok = ls_lesson_choice_typed(q, typed, lang, NULL) == ans[0] - 'a';
        break;
    case LS_Q_DIRECTION: {
        char c = (char)tolower((unsigned char)typed[0]);
        bool up = c == 'r' || c == 'u' || c == 'i' || !strncmp(typed, "升", 3) || !strncmp(typed, "上", 3) ||
                  !strncmp(typed, "增", 3);
        bool down = c == 'f' || c == 'd' || !strncmp(typed, "降", 3) || !strncmp(typed, "下", 3) ||
                    !strncmp(typed, "减", 3);
        ok = (ans[0] == 'r' && up && !down) || (ans[0] == 'f' && down && !up) ||
             (ans[0] == 's' && (c == 's' || c == '='));
        break;
    }
    case LS_Q_TEXT:
        ok = same_text(typed, ans);
        if (!ok && q->n_index) {
            /* a unit may be typed as its id: the column of the log-probs read */
            const ls_tensor *t = live(g, ex, q->of, NULL);
            long long v[2];
            ok = t && numbers(typed, v, 2) == 1 && isdigit((unsigned char)typed[0]) &&
                 strspn(typed, "0123456789 ") == strlen(typed) && v[0] == (long long)ls_tensor_get(t, q->index);
        }
        break;
    case LS_Q_COUNT: {
        long long v[2];
        ok = numbers(typed, v, 2) == 1 && same_numbers(typed, ans);
        break;
    }
    case LS_Q_NONE: break;
    }
    if (!ok) {
        char fact[300] = "";
        ls_lesson_fact(q, g, ex, m, before, lang, fact, sizeof fact, NULL);
        snprintf(reason, n, "%s%s%s", fact, lang == LS_LANG_ZH ? "。" : ". ", ls_ltext_get(&q->why, lang));
    }
    return ok;
}

int ls_lesson_solve(const ls_lesson *L, int step, ls_lesson_run *run, char *ans, size_t n,
                    ls_error *err)
{
    if (step < 0 || step >= L->n_steps)
        return ls_error_set(err, LS_ERR_RANGE, "%s: no step %d", L->path, step + 1);
    const ls_lesson_step *s = &L->steps[step];
    int rc0 = ls_lesson_run_switch(L, step, run, err);
    if (rc0)
        return rc0;
    if (!ls_exec_done(run->ex) && ls_exec_run(run->ex, err))
        return err ? err->code : LS_ERR_INTERNAL;
    /* an edit is part of the question: a direction question asks what it
     * does, any other is asked after it (the TUI applies it as the step
     * opens), so the answer is read with the edit in place */
    if (s->act.kind != LS_ACT_EDIT)
        return ls_lesson_answer(&s->q, run->g, run->ex, run->m, NULL, ans, n, err);
    double before = ls_lesson_watch(&s->q, run->g, run->ex);
    double *old = NULL;
    int rc = ls_lesson_edit_apply(&s->act, run->g, run->ex, &old, err);
    if (rc)
        return ls_error_prefix(err, "%s: step %d", L->path, step + 1);
    rc = ls_lesson_answer(&s->q, run->g, run->ex, run->m, s->q.kind == LS_Q_DIRECTION ? &before : NULL,
                          ans, n, err);
    int rc2 = ls_lesson_edit_undo(&s->act, run->g, run->ex, old, rc ? NULL : err);
    return rc ? rc : rc2;
}

int ls_lesson_edit_apply(const ls_lesson_action *act, const ls_graph *g, ls_exec *ex, double **old,
                         ls_error *err)
{
    *old = NULL;
    int node = ls_graph_find(g, act->point);
    ls_tensor *t = node >= 0 ? ls_exec_edit(ex, node, err) : NULL;
    if (!t)
        return ls_error_set(err, LS_ERR_ARG, "cannot edit '%s'", act->point);
    int64_t cells = ls_lesson_edit_count(act), idx[LS_MAX_DIMS];
    bool inside = ls_lesson_index_inside(t, act->n_index, act->index) &&
                  (!act->has_to || ls_lesson_index_inside(t, act->n_index, act->to));
    ls_error verr = {0};
    int rc = LS_OK;
    if (!inside)
        rc = ls_error_set(err, LS_ERR_SHAPE, "edit index (%d numbers) is not a cell of '%s' (%d dims)",
                          act->n_index, act->point, t->ndim);
    else if (ls_tensor_value_check(t->dtype, act->value, &verr))
        rc = ls_error_set(err, LS_ERR_RANGE, "edit of '%s': %s", act->point, verr.msg);
    else if (!(*old = malloc((size_t)cells * sizeof **old)))
        rc = ls_error_set(err, LS_ERR_NOMEM, "edit of '%s': out of memory", act->point);
    if (rc) {
        ls_exec_unpin(ex, node);
        return rc;
    }
    for (int64_t k = 0; k < cells; k++) {
        ls_lesson_edit_cell(act, k, idx);
        (*old)[k] = ls_tensor_get(t, idx);
        ls_tensor_set(t, idx, act->value);
    }
    rc = ls_exec_rerun(ex, node, err);
    if (rc) {
        ls_lesson_edit_undo(act, g, ex, *old, NULL);
        *old = NULL;
    }
    return rc;
}

int ls_lesson_edit_undo(const ls_lesson_action *act, const ls_graph *g, ls_exec *ex, double *old,
                        ls_error *err)
{
    int node = ls_graph_find(g, act->point);
    /* the cells were pinned by ls_lesson_edit_apply: no recompute in between */
    ls_tensor *t = node >= 0 && old ? ls_exec_edit(ex, node, NULL) : NULL;
    int64_t idx[LS_MAX_DIMS];
    for (int64_t k = 0; t && k < ls_lesson_edit_count(act); k++) {
        ls_lesson_edit_cell(act, k, idx);
        ls_tensor_set(t, idx, old[k]);
    }
    free(old);
    if (node < 0)
        return LS_OK;
    ls_exec_unpin(ex, node);
    return ls_exec_rerun(ex, node, err);
}

