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
    size_t k = 0;
    int unresolved = 0;
    if (!n)
        return 0;
    while (*text && k + 1 < n) {
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

/* The column of the largest value in the row at q->index (the first on a
 * tie; NaN never wins). */
static int64_t row_argmax(const ls_tensor *t, const ls_lesson_question *q)
{
    int64_t idx[LS_MAX_DIMS] = {0}, best = 0;
    memcpy(idx, q->index, sizeof q->index);
    int last = t->ndim - 1;
    double bv = -INFINITY;
    for (int64_t j = 0; j < t->shape[last]; j++) {
        idx[last] = j;
        double v = ls_tensor_get(t, idx);
        if (v > bv) {
            bv = v;
            best = j;
        }
    }
    return best;
}

int ls_lesson_answer(const ls_lesson_question *q, const ls_graph *g, const ls_exec *ex,
                     const double *before, char *ans, size_t n, ls_error *err)
{
    const ls_tensor *t = live(g, ex, q->of, err);
    if (!t)
        return err ? err->code : LS_ERR_ARG;
    switch (q->kind) {
    case LS_Q_SHAPE:
        shape_text(t, ans, n);
        return LS_OK;
    case LS_Q_MASKED:
        masked_cols(t, q, ans, n);
        return LS_OK;
    case LS_Q_CHOICE: {
        double v = q->dim >= 0 ? (double)t->shape[q->dim]
                   : q->argmax  ? (double)row_argmax(t, q)
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

int ls_lesson_fact(const ls_lesson_question *q, const ls_graph *g, const ls_exec *ex,
                   const double *before, int lang, char *fact, size_t n, ls_error *err)
{
    char ans[256];
    int rc = ls_lesson_answer(q, g, ex, before, ans, sizeof ans, err);
    if (rc)
        return rc;
    bool zh = lang == LS_LANG_ZH;
    switch (q->kind) {
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
                     const double *before, const char *typed, int lang, char *reason, size_t n)
{
    char ans[256];
    ls_error err = {0};
    reason[0] = '\0';
    if (ls_lesson_answer(q, g, ex, before, ans, sizeof ans, &err)) {
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
    case LS_Q_NONE: break;
    }
    if (!ok) {
        char fact[300] = "";
        ls_lesson_fact(q, g, ex, before, lang, fact, sizeof fact, NULL);
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
        return ls_lesson_answer(&s->q, run->g, run->ex, NULL, ans, n, err);
    int node = ls_graph_find(run->g, s->act.point);
    double before = ls_lesson_watch(&s->q, run->g, run->ex);
    ls_tensor *t = node >= 0 ? ls_exec_edit(run->ex, node, err) : NULL;
    if (!t)
        return ls_error_set(err, LS_ERR_ARG, "%s: step %d: cannot edit '%s'", L->path, step + 1,
                            s->act.point);
    if (!ls_lesson_index_inside(t, s->act.n_index, s->act.index))
        return ls_error_set(err, LS_ERR_SHAPE, "%s: step %d: edit index (%d numbers) is not a cell of '%s' (%d dims)",
                            L->path, step + 1, s->act.n_index, s->act.point, t->ndim);
    double old = ls_tensor_get(t, s->act.index);
    ls_error verr = {0};
    if (ls_tensor_value_check(t->dtype, s->act.value, &verr)) {
        ls_exec_unpin(run->ex, node);
        return ls_error_set(err, LS_ERR_RANGE, "%s: step %d: edit of '%s': %s", L->path, step + 1,
                            s->act.point, verr.msg);
    }
    ls_tensor_set(t, s->act.index, s->act.value);
    int rc = ls_exec_rerun(run->ex, node, err);
    if (!rc)
        rc = ls_lesson_answer(&s->q, run->g, run->ex, s->q.kind == LS_Q_DIRECTION ? &before : NULL,
                              ans, n, err);
    ls_tensor_set(t, s->act.index, old);
    ls_exec_unpin(run->ex, node);
    int rc2 = ls_exec_rerun(run->ex, node, rc ? NULL : err);
    return rc ? rc : rc2;
}

