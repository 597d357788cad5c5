/* Lesson mode: a step drives the same cursor moves, edits and head choice
 * as the keys do; answers are checked by the lesson engine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/lesson.h"
#include "app_internal.h"

/* ------------------------------------------------------------------ */
/* lesson mode: steps drive the same cursor moves, edits and head choice  */
/* as the keys do; answers are checked by the lesson engine               */

static const char *tr(const ls_tui *a, const char *en, const char *zh)
{
    return a->les.lang == LS_LANG_ZH ? zh : en;
}

static void lesson_apply_edit(ls_tui *a, const ls_lesson_action *act)
{
    tui_run *r = tui_cur(a);
    int node = ls_graph_find(r->g, act->point);
    if (node < 0) {
        tui_say(a, true, "lesson: no point '%s' here", act->point);
        return;
    }
    int64_t idx[1][LS_MAX_DIMS] = {{0}};
    memcpy(idx[0], act->index, sizeof act->index);
    tui_edit_cells(a, node, idx, 1, act->value);
}

/* Gives runs[1] back and closes the run a step's "run" switch opened;
 * the main run's model labels the axes again. */
void tui_lesson_drop_run(ls_tui *a)
{
    if (!a->les.run)
        return;
    if (a->cur == 1 && a->runs[1].g == a->les.run->g) {
        tui_run_free(&a->runs[1]);
        a->cur = 0;
    }
    ls_lesson_run_close(a->les.run);
    free(a->les.run);
    a->les.run = NULL;
    a->les.run_start = 0;
    a->model = a->les.model0;
    a->inputs = a->les.inputs0;
    a->arch = a->model ? ls_model_arch(a->model) : NULL;
    a->maskmemo.valid = false;
    a->heat.valid = false;
}

/* Shows the run step i looks at: the main run (runs[0]) for the steps
 * before the first "run" switch, else the switch's run in runs[1] (the
 * module-run slot), opened once per stretch of steps. */
static bool lesson_use_run(ls_tui *a, int i)
{
    const ls_lesson *L = a->les.lesson;
    int start = ls_lesson_run_start(L, i);
    if (start == 0) {
        /* the main run is step 0's (ls_lesson_run_open), switch or not */
        tui_lesson_drop_run(a);
        return true;
    }
    if (a->les.run && a->les.run_start == start && a->cur == 1 && a->runs[1].g == a->les.run->g)
        return true;
    ls_error err = {0};
    if (!a->les.run || a->les.run_start != start) {
        ls_lesson_run *lr = calloc(1, sizeof *lr);
        if (!a->les.data_dir[0])
            ls_error_set(&err, LS_ERR_ARG, "%s: step %d switches runs, but no data directory was given",
                         L->path, start + 1);
        /* the main run's model is shared when the switch keeps it */
        if (!lr || err.code ||
            ls_lesson_run_open_shared(L, i, a->les.data_dir, &a->exec_opts, a->les.model0, lr, &err)) {
            tui_say(a, true, "lesson: %s", lr ? err.msg : "out of memory");
            free(lr);
            return false;
        }
        tui_lesson_drop_run(a);
        a->les.run = lr;
        a->les.run_start = start;
    }
    if (a->cur == 1)
        tui_run_free(&a->runs[1]);  /* a module run of the user's own */
    tui_run nr;
    if (tui_run_init(&nr, a->les.run->g, a->les.run->ex, false, &err)) {
        tui_say(a, true, "lesson: %s", err.msg);
        a->cur = 0;
        return false;
    }
    a->runs[1] = nr;
    a->cur = 1;
    /* axis labels come from the model and inputs of what is shown; a
     * module alone has no sentence or clip to label its axes with */
    a->model = a->les.run->m;
    a->inputs = a->les.run->module[0] ? NULL : a->les.run->in;
    a->arch = ls_model_arch(a->model);
    a->maskmemo.valid = false;
    a->heat.valid = false;
    for (int m = 0; m < nr.n_mods; m++)
        a->runs[1].expanded[m] = a->les.run->module[0] ? ls_graph_module(nr.g, m)->depth <= 2
                                                        : ls_graph_module(nr.g, m)->depth <= 1;
    a->runs[1].rows_dirty = true;
    tui_rows_update(&a->runs[1]);
    return true;
}

/* Batch, head, row and column of the slice view from a tensor index
 * (or a row prefix of it), as tui_slice_of lays the dims out. */
static void lesson_focus(ls_tui *a, int node, const int64_t *idx, int ni)
{
    int nd = ls_graph_node(tui_cur(a)->g, node)->out.ndim;
    if (nd < 1 || ni < 1 || ni > nd)
        return;
    if (nd >= 3)
        a->batch = (int)idx[0];
    if (nd >= 4 && ni >= 2)
        a->head = (int)idx[1];
    int row_dim = nd >= 4 ? 2 : nd - 2, col_dim = nd >= 4 ? 3 : nd - 1;
    if (row_dim >= 0 && ni > row_dim)
        a->row = (int)idx[row_dim];
    if (ni > col_dim)
        a->col = (int)idx[col_dim];
    a->focus = LS_FOCUS_TENSOR;  /* the cursor cell is the one to look at */
}

void tui_lesson_enter(ls_tui *a, int i)
{
    const ls_lesson *L = a->les.lesson;
    if (i < 0)
        i = 0;
    if (i >= L->n_steps)
        i = L->n_steps - 1;
    const ls_lesson_step *s = &L->steps[i];
    a->les.step = i;
    a->les.answer = 0;
    a->les.edited = false;
    a->les.reason[0] = '\0';
    a->les.cover = a->les.classroom;
    if (!lesson_use_run(a, i))
        return;
    tui_run *r = tui_cur(a);
    int node = ls_graph_find(r->g, s->point);
    int need = s->q.kind ? ls_graph_find(r->g, s->q.of) : -1;
    if (node < 0) {
        tui_say(a, true, "lesson: no point '%s' in this model", s->point);
        return;
    }
    /* run far enough for the question too, then show the step's point */
    tui_reach(a, need > node ? need : node);
    if (ls_graph_node(r->g, node)->op == LS_OP_CONST)
        tui_select_node(r, node);  /* a weight: shown, the run stays where it is */
    else if (tui_computed(r, node)) {
        r->at = node;
        tui_select_node(r, node);
    }
    a->attention = s->show == LS_SHOW_ATTENTION && tui_attention_module(a, node) >= 0;
    a->explain = s->show == LS_SHOW_SHAPE;
    a->view = s->show == LS_SHOW_HEATMAP ? LS_VIEW_HEAT : LS_VIEW_GRID;
    a->focus = LS_FOCUS_TREE;
    a->heat.valid = false;
    a->grid_top = a->grid_left = 0;
    a->row = a->col = 0;
    /* the cell the step is about (its edit, else its question's cell or
     * row) is where the grid and heatmap scroll to */
    const int64_t *idx = NULL;
    int ni = 0;
    if (s->act.kind == LS_ACT_EDIT && s->act.point && !strcmp(s->act.point, s->point)) {
        idx = s->act.index;
        ni = s->act.n_index;
    } else if (s->q.kind && s->q.n_index > 0 && s->q.of && !strcmp(s->q.of, s->point)) {
        idx = s->q.index;
        ni = s->q.n_index;
    }
    if (idx)
        lesson_focus(a, node, idx, ni);
    if (s->act.kind == LS_ACT_HEAD)
        a->head = s->act.head;
    if (s->act.kind == LS_ACT_EDIT && s->q.kind != LS_Q_DIRECTION)
        lesson_apply_edit(a, &s->act);
    if (a->les.progress[0])
        ls_progress_set(a->les.progress, L->id, i, false, NULL);  /* best effort */
}

void tui_lesson_answer(ls_tui *a, const char *typed)
{
    const ls_lesson_step *s = &a->les.lesson->steps[a->les.step];
    tui_run *r = tui_cur(a);
    while (*typed == ' ')
        typed++;
    if (s->q.kind == LS_Q_DIRECTION && !a->les.edited) {
        /* the prediction is made; now do the edit and look */
        a->les.before = ls_lesson_watch(&s->q, r->g, r->ex);
        lesson_apply_edit(a, &s->act);
        a->les.edited = true;
    }
    const double *before = s->q.kind == LS_Q_DIRECTION ? &a->les.before : NULL;
    if (!*typed) {
        char ans[256];
        ls_error err = {0};
        if (ls_lesson_answer(&s->q, r->g, r->ex, before, ans, sizeof ans, &err))
            snprintf(a->les.reason, sizeof a->les.reason, "%s", err.msg);
        else
            snprintf(a->les.reason, sizeof a->les.reason, "%s %s. %s",
                     tr(a, "The answer:", "答案:"), ans, ls_ltext_get(&s->q.why, a->les.lang));
        a->les.answer = 3;
        return;
    }
    if (ls_lesson_check(&s->q, r->g, r->ex, before, typed, a->les.lang, a->les.reason,
                        sizeof a->les.reason)) {
        a->les.answer = 1;
        snprintf(a->les.reason, sizeof a->les.reason, "%s", tr(a, "Right.", "答对了。"));
    } else {
        /* the reason, not just "wrong": the live fact and the lesson's why */
        char why[sizeof a->les.reason];
        snprintf(why, sizeof why, "%s", a->les.reason);
        snprintf(a->les.reason, sizeof a->les.reason, "%s%.1300s", tr(a, "Not quite: ", "不对："), why);
        a->les.answer = 2;
    }
}

/* n / Enter / Space in lesson mode; false when the key is not the lesson's. */
bool tui_lesson_key(ls_tui *a, int key)
{
    const ls_lesson *L = a->les.lesson;
    if (!L || (key != 'n' && key != LS_KEY_ENTER && key != '\r' && !(key == ' ' && a->les.cover)))
        return false;
    a->msg[0] = '\0';
    a->msg_err = false;
    if (a->les.cover) {  /* classroom: the narration first, then the tensor */
        a->les.cover = false;
        return true;
    }
    const ls_lesson_step *s = &L->steps[a->les.step];
    if (s->q.kind && (a->les.answer == 0 || a->les.answer == 2)) {
        tui_open_prompt(a, PROMPT_ANSWER, "");
        return true;
    }
    if (a->les.step + 1 >= L->n_steps) {
        if (a->les.progress[0])
            ls_progress_set(a->les.progress, L->id, a->les.step, true, NULL);
        tui_say(a, false, "%s", tr(a, "lesson finished: q quits, `layerstep lessons` lists the others",
                               "本课结束：按 q 退出，`layerstep lessons` 列出其他课程"));
        return true;
    }
    tui_lesson_enter(a, a->les.step + 1);
    return true;
}

