/* The quiz: while a lesson step's question is open the lesson owns the
 * keyboard and what the question asks for is hidden everywhere.
 *
 * Hidden, until the question is answered or shown:
 *   a shape question (or a choice about one dimension) - every shape with
 *     the same dimensions, in any order ([1, 32, 8, 64] gives away
 *     [1, 8, 32, 64] too), reads "[?, ?, ?, ?]", and those tensors' values
 *     are not drawn (their rows and columns would count the dims);
 *   a masked-positions question - the mask, the masks it repeats
 *     (expand/unsqueeze views), and what the mask already shaped (masked
 *     scores, attn); no cell is drawn as masked from it;
 *   a choice about a value - that tensor's values;
 *   a text or count question (CTC) - that tensor's values, and what
 *     shows them elsewhere: the transcript on the title line and in the
 *     narration for ctc_greedy_search, the frames' best-unit labels for
 *     topk_index.
 *   an argmax question ("which key does query 3 attend to most?") - the
 *     values of every float tensor with exactly the shape of the one asked
 *     about (scores, masked scores and weights rank the keys alike).
 * A direction question hides nothing: its answer does not exist before
 * the edit that answering makes.  A count question hides nothing either:
 * it asks to count cells that are shown (the blanks of a path), and the
 * count is written nowhere.
 *
 * Keys: a choice is answered by its letter or its value, without Enter;
 * everything else printable goes to the answer line (line.c edits it);
 * Enter answers (an empty line shows the answer); Esc hands the keyboard
 * back to the debugger with the question still open (n/Enter reopen it).
 * A wrong answer gets the reason and one more try, then the answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/lesson.h"
#include "app_internal.h"

static const ls_lesson_question *question(const ls_tui *a)
{
    if (!a->les.lesson)
        return NULL;
    const ls_lesson_question *q = &a->les.lesson->steps[a->les.step].q;
    return q->kind ? q : NULL;
}

bool tui_quiz_open(const ls_tui *a)
{
    return question(a) && (a->les.answer == 0 || a->les.answer == 2);
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

static void sorted_dims(const ls_tensor *t, int64_t *d)
{
    memcpy(d, t->shape, (size_t)t->ndim * sizeof *d);
    qsort(d, (size_t)t->ndim, sizeof *d, cmp_i64);
}

static void secret_add(ls_tui *a, const char *name)
{
    if (a->les.secret.n_names < 8)
        snprintf(a->les.secret.names[a->les.secret.n_names++], sizeof a->les.secret.names[0], "%s", name);
}

void tui_quiz_arm(ls_tui *a)
{
    memset(&a->les.secret, 0, sizeof a->les.secret);
    a->les.secret.dim = -1;
    const ls_lesson_question *q = question(a);
    const ls_graph *g = tui_cur(a)->g;
    int node = q && q->of ? ls_graph_find(g, q->of) : -1;
    /* a count question is answered by counting what is shown (the cells
     * of a path): the number itself stands nowhere */
    if (node < 0 || q->kind == LS_Q_DIRECTION || q->kind == LS_Q_COUNT)
        return;
    const ls_node *nd = ls_graph_node(g, node);
    secret_add(a, nd->name);
    if (q->kind == LS_Q_SHAPE || (q->kind == LS_Q_CHOICE && q->dim >= 0)) {
        a->les.secret.by_shape = true;
        a->les.secret.dim = q->kind == LS_Q_CHOICE ? q->dim : -1;
        a->les.secret.ndim = nd->out.ndim;
        sorted_dims(&nd->out, a->les.secret.dims);
    }
    if (q->kind == LS_Q_CHOICE && q->argmax) {
        /* a row's largest column shows in what the tensor was made from
         * cell by cell (attn <- scores_masked <- scores): hide those too */
        for (int i = node, guard = 0; guard < 6; guard++) {
            const ls_node *d = ls_graph_node(g, i);
            if (d->n_in < 1)
                break;
            const ls_node *src = ls_graph_node(g, d->in[0]);
            if (src->op == LS_OP_CONST || src->out.ndim != nd->out.ndim ||
                memcmp(src->out.shape, nd->out.shape, (size_t)nd->out.ndim * sizeof *nd->out.shape))
                break;
            i = d->in[0];
            secret_add(a, src->name);
        }
    } else if (q->kind == LS_Q_CHOICE) {
        /* "how many frames come out?" is also a dim of every tensor
         * with that many frames: the answer's value, read live */
        char ans[16];
        const ls_tensor *t = tui_out(tui_cur(a), node);
        if (t && !ls_lesson_answer(q, g, tui_cur(a)->ex, a->model, NULL, ans, sizeof ans, NULL)) {
            double v = q->values[ans[0] - 'a'];
            if (v >= 2 && v == (double)(int64_t)v)
                a->les.secret.value = (int64_t)v;
        }
    }
    if (q->kind == LS_Q_ARGMAX) {
        a->les.secret.by_row = true;
        a->les.secret.row_ndim = nd->out.ndim;
        memcpy(a->les.secret.row_shape, nd->out.shape, (size_t)nd->out.ndim * sizeof nd->out.shape[0]);
    }
    if (q->kind == LS_Q_MASKED) {
        a->les.secret.by_mask = true;
        /* the views the mask repeats ([B,1,1,T] behind [B,H,T,T]) show it too */
        for (int i = node, guard = 0; guard < 8; guard++) {
            const ls_node *d = ls_graph_node(g, i);
            if (d->n_in < 1)
                break;
            const ls_node *src = ls_graph_node(g, d->in[0]);
            if (src->out.dtype != LS_BOOL || src->op == LS_OP_CONST)
                break;
            i = d->in[0];
            secret_add(a, src->name);
        }
    }
}

static bool named_secret(const ls_tui *a, const char *name)
{
    for (int i = 0; i < a->les.secret.n_names; i++)
        if (!strcmp(a->les.secret.names[i], name))
            return true;
    return false;
}

static bool has_dim(const ls_tensor *t, int64_t v)
{
    for (int d = 0; v && d < t->ndim; d++)
        if (t->shape[d] == v)
            return true;
    return false;
}

bool tui_quiz_hides_shape(const ls_tui *a, const ls_tensor *t)
{
    if (!tui_quiz_open(a))
        return false;
    if (has_dim(t, a->les.secret.value))
        return true;
    if (!a->les.secret.by_shape || t->ndim != a->les.secret.ndim || t->ndim < 1)
        return false;
    int64_t d[LS_MAX_DIMS];
    sorted_dims(t, d);
    return !memcmp(d, a->les.secret.dims, (size_t)t->ndim * sizeof *d);
}

const char *tui_shape_text(const ls_tui *a, const ls_tensor *t, char *buf, size_t n)
{
    if (!tui_quiz_hides_shape(a, t))
        return ls_shape_str(t, buf, n);
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s?", d ? ", " : "");
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

bool tui_quiz_mask_hidden(ls_tui *a, int mask_node)
{
    return tui_quiz_open(a) && a->les.secret.by_mask && mask_node >= 0 &&
           named_secret(a, ls_graph_node(tui_ccur(a)->g, mask_node)->name);
}

static bool row_secret(const ls_tui *a, const ls_tensor *t)
{
    return a->les.secret.by_row && t->dtype == LS_F32 && t->ndim == a->les.secret.row_ndim &&
           !memcmp(t->shape, a->les.secret.row_shape, (size_t)t->ndim * sizeof t->shape[0]);
}

bool tui_quiz_hides_ranking_only(ls_tui *a, int node)
{
    if (!tui_quiz_open(a) || node < 0)
        return false;
    const ls_node *nd = ls_graph_node(tui_ccur(a)->g, node);
    return row_secret(a, &nd->out) && !named_secret(a, nd->name) && !tui_quiz_hides_shape(a, &nd->out);
}

bool tui_quiz_hides_values(ls_tui *a, int node)
{
    if (!tui_quiz_open(a) || node < 0)
        return false;
    const ls_node *nd = ls_graph_node(tui_ccur(a)->g, node);
    if (named_secret(a, nd->name) || tui_quiz_hides_shape(a, &nd->out))
        return true;
    if (row_secret(a, &nd->out))
        return true;
    if (!a->les.secret.by_mask || nd->out.dtype == LS_BOOL)
        return false;
    /* what the mask has shaped gives it away; the raw scores do not */
    if (!tui_quiz_mask_hidden(a, tui_mask_node(a, node)))
        return false;
    return strcmp(nd->point, "scores") && strcmp(nd->point, "matrix_ac") && strcmp(nd->point, "matrix_bd");
}

bool tui_quiz_hides_point(const ls_tui *a, const char *name)
{
    return tui_quiz_open(a) && named_secret(a, name);
}

bool tui_quiz_hide_cb(void *ud, const char *point, const ls_tensor *shape, int dim)
{
    const ls_tui *a = ud;
    if (dim == -2)  /* a value read from point ({transcript}) */
        return tui_quiz_hides_point(a, point);
    /* a shape gives an answer away by its dims, whatever its name */
    if (!tui_quiz_hides_shape(a, shape))
        return false;
    /* a choice about one dimension hides that one: "8 heads" may stay */
    if (dim >= 0 && dim < shape->ndim && a->les.secret.value)
        return shape->shape[dim] == a->les.secret.value;
    return dim < 0 || a->les.secret.dim < 0 || dim == a->les.secret.dim;
}

/* ------------------------------------------------------------------ */
/* answering                                                           */

static void apply_edit(ls_tui *a, const ls_lesson_action *act)
{
    tui_run *r = tui_cur(a);
    int node = ls_graph_find(r->g, act->point);
    if (node < 0) {
        tui_say(a, true, tui_s(a, S_L_NO_POINT_HERE), act->point);
        return;
    }
    /* one cell, or a box of them (frames silenced): one undoable edit */
    int64_t n = ls_lesson_edit_count(act);
    int64_t (*idx)[LS_MAX_DIMS] = calloc((size_t)n, sizeof *idx);
    if (!idx) {
        tui_say(a, true, "%s", tui_s(a, S_NO_MEMORY));
        return;
    }
    for (int64_t k = 0; k < n; k++)
        ls_lesson_edit_cell(act, k, idx[k]);
    tui_edit_cells(a, node, idx, (int)n, act->value);
    free(idx);
}

/* A direction question's prediction is made: now do the edit and look. */
void tui_quiz_direction_edit(ls_tui *a)
{
    const ls_lesson_step *s = &a->les.lesson->steps[a->les.step];
    tui_run *r = tui_cur(a);
    if (s->q.kind != LS_Q_DIRECTION || a->les.edited)
        return;
    a->les.before = ls_lesson_watch(&s->q, r->g, r->ex);
    apply_edit(a, &s->act);
    a->les.edited = true;
}

void tui_quiz_apply_step_edit(ls_tui *a)
{
    const ls_lesson_step *s = &a->les.lesson->steps[a->les.step];
    if (s->act.kind == LS_ACT_EDIT)
        apply_edit(a, &s->act);
}

static void reveal(ls_tui *a, const char *lead)
{
    const ls_lesson_step *s = &a->les.lesson->steps[a->les.step];
    tui_run *r = tui_cur(a);
    const double *before = s->q.kind == LS_Q_DIRECTION ? &a->les.before : NULL;
    char fact[400];
    ls_error err = {0};
    a->les.answer = 3;
    a->les.typing = false;
    a->les.result[a->les.step] = LS_RESULT_SHOWN;
    if (ls_lesson_fact(&s->q, r->g, r->ex, a->model, before, a->les.lang, fact, sizeof fact, &err)) {
        snprintf(a->les.reason, sizeof a->les.reason, "%s", err.msg);
        return;
    }
    snprintf(a->les.reason, sizeof a->les.reason, "%s%s%s%s", lead, fact, tui_s(a, S_Q_FULL_STOP),
             ls_ltext_get(&s->q.why, a->les.lang));
}

static void submit(ls_tui *a, const char *typed)
{
    const ls_lesson_step *s = &a->les.lesson->steps[a->les.step];
    tui_run *r = tui_cur(a);
    while (*typed == ' ')
        typed++;
    tui_quiz_direction_edit(a);
    const double *before = s->q.kind == LS_Q_DIRECTION ? &a->les.before : NULL;
    tui_line_set(&a->les.line, "");
    if (!*typed) {
        reveal(a, "");
        return;
    }
    char reason[sizeof a->les.reason];
    if (ls_lesson_check(&s->q, r->g, r->ex, a->model, before, typed, a->les.lang, reason, sizeof reason)) {
        a->les.answer = 1;
        a->les.typing = false;
        a->les.result[a->les.step] = a->les.tries ? LS_RESULT_RETRY : LS_RESULT_FIRST;
        /* the live fact too: what the screen now shows, said once */
        char fact[400] = "";
        ls_lesson_fact(&s->q, r->g, r->ex, a->model, before, a->les.lang, fact, sizeof fact, NULL);
        snprintf(a->les.reason, sizeof a->les.reason, "%s%s%s%s", tui_s(a, S_Q_RIGHT), fact,
                 tui_s(a, S_Q_FULL_STOP), ls_ltext_get(&s->q.why, a->les.lang));
        return;
    }
    a->les.tries++;
    /* one more try, except after a direction edit: its result is now on screen */
    if (a->les.tries >= 2 || s->q.kind == LS_Q_DIRECTION) {
        reveal(a, tui_s(a, S_Q_NOT_QUITE));
        return;
    }
    /* the reason without the live fact, which is the answer; a lesson's
     * "why" that names the answer waits for the reveal too */
    a->les.answer = 2;
    char ans[256] = "";
    ls_lesson_answer(&s->q, r->g, r->ex, a->model, before, ans, sizeof ans, NULL);
    if (s->q.kind == LS_Q_CHOICE && ans[0] >= 'a' && ans[0] - 'a' < s->q.n_choices)
        ls_lesson_expand(ls_ltext_get(&s->q.choices[ans[0] - 'a'], a->les.lang), r->g, ans, sizeof ans);
    const char *why = ls_ltext_get(&s->q.why, a->les.lang);
    if (strlen(ans) > 1 && strstr(why, ans))
        why = tui_s(a, S_Q_LOOK_AGAIN);
    snprintf(a->les.reason, sizeof a->les.reason, tui_s(a, S_Q_WRONG), typed, why);
}

/* Whether the typed line already answers a choice: its letter, or a value
 * that no other choice's value continues ("6" waits, "64" answers). */
static bool choice_done(const ls_tui *a)
{
    const ls_lesson_question *q = question(a);
    if (!q || q->kind != LS_Q_CHOICE || !tui_line_complete_utf8(&a->les.line))
        return false;
    bool more = false;
    int i = ls_lesson_choice_typed(q, a->les.line.buf, a->les.lang, &more);
    return i >= 0 && !more;
}

int tui_quiz_key(ls_tui *a, int key)
{
    if (key == LS_KEY_ESC) {
        a->les.typing = false;
        tui_say(a, false, "%s", tui_s(a, S_Q_CLOSED));
        return LS_TUI_REDRAW;
    }
    if (key == LS_KEY_ENTER || key == '\r') {
        char typed[sizeof a->les.line.buf];
        snprintf(typed, sizeof typed, "%s", a->les.line.buf);
        submit(a, typed);
        return LS_TUI_REDRAW;
    }
    /* looking around while thinking: the view's keys that type nothing */
    if (key == LS_KEY_UP || key == LS_KEY_DOWN || key == LS_KEY_PGUP || key == LS_KEY_PGDN ||
        key == LS_KEY_TAB)
        return -1;
    if (key == '?' && a->les.line.len == 0)
        return -1;  /* help, from an empty line */
    if (!tui_line_key(&a->les.line, key))
        return LS_TUI_REDRAW;  /* the quiz owns the keyboard: nothing falls through */
    a->msg[0] = '\0';
    if (choice_done(a)) {
        char typed[sizeof a->les.line.buf];
        snprintf(typed, sizeof typed, "%s", a->les.line.buf);
        submit(a, typed);
    }
    return LS_TUI_REDRAW;
}

void tui_quiz_score(const ls_tui *a, int *first, int *retry, int *shown, int *asked)
{
    *first = *retry = *shown = *asked = 0;
    const ls_lesson *L = a->les.lesson;
    for (int i = 0; L && i < L->n_steps; i++) {
        if (!L->steps[i].q.kind)
            continue;
        (*asked)++;
        *first += a->les.result[i] == LS_RESULT_FIRST;
        *retry += a->les.result[i] == LS_RESULT_RETRY;
        *shown += a->les.result[i] == LS_RESULT_SHOWN;
    }
}
