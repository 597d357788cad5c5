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
            tui_say(a, true, tui_s(a, S_L_ERROR), lr ? err.msg : tui_s(a, S_NO_MEMORY));
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
        tui_say(a, true, tui_s(a, S_L_ERROR), err.msg);
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

/* Saves the step, whether the lesson is done and how its questions went;
 * a failure is said on the status line and kept for the exit. */
static void save_progress(ls_tui *a, bool done)
{
    const ls_lesson *L = a->les.lesson;
    if (!a->les.progress)
        return;
    ls_error err = {0};
    if (ls_progress_set_answers(a->les.progress, L->id, a->les.step, done, a->les.result, L->n_steps,
                                &err)) {
        snprintf(a->les.progress_err, sizeof a->les.progress_err, "%s", err.msg);
        tui_say(a, true, tui_s(a, S_L_PROGRESS_NOT_SAVED), err.msg);
    } else if (err.msg[0]) {
        /* saved, after keeping a damaged file aside */
        snprintf(a->les.progress_err, sizeof a->les.progress_err, "%s", err.msg);
        tui_say(a, true, tui_s(a, S_L_PROGRESS), err.msg);
    }
}

/* Undoes the edits made in this run since step i was entered, so a step
 * gone back to is as it was (its own edit is applied again after). */
static void back_to_entry(ls_tui *a, int i)
{
    tui_run *r = tui_cur(a);
    int want = a->les.entry_edits[i];
    while (want >= 0 && r->n_edits > want) {
        int before = r->n_edits;
        tui_undo(a);
        if (r->n_edits >= before)
            break;  /* the undo failed and said why: never loop on it */
    }
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
    a->les.tries = 0;
    a->les.edited = false;
    a->les.reason[0] = '\0';
    a->les.cover = a->les.classroom;
    tui_line_set(&a->les.line, "");
    a->les.typing = false;
    memset(&a->les.secret, 0, sizeof a->les.secret);
    if (!lesson_use_run(a, i))
        return;
    back_to_entry(a, i);
    tui_run *r = tui_cur(a);
    a->les.entry_edits[i] = r->n_edits;
    int node = ls_graph_find(r->g, s->point);
    int need = s->q.kind ? ls_graph_find(r->g, s->q.of) : -1;
    if (node < 0) {
        tui_say(a, true, tui_s(a, S_L_NO_POINT_MODEL), s->point);
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
    } else if (s->q.kind == LS_Q_TEXT && s->q.n_index > 0 &&
               s->q.n_index == ls_graph_node(r->g, node)->out.ndim - 1) {
        /* a unit of topk_index asked while its log-probs are shown: their row */
        idx = s->q.index;
        ni = s->q.n_index;
    }
    if (idx)
        lesson_focus(a, node, idx, ni);
    if (s->act.kind == LS_ACT_HEAD)
        a->head = s->act.head;
    if (s->act.kind == LS_ACT_EDIT && s->q.kind != LS_Q_DIRECTION)
        tui_quiz_apply_step_edit(a);
    if (s->q.kind && a->les.result[i]) {
        /* answered before (P went back, or resumed): as it was, not asked again */
        if (s->q.kind == LS_Q_DIRECTION)
            tui_quiz_direction_edit(a);
        a->les.answer = a->les.result[i] == LS_RESULT_SHOWN ? 3 : 1;
        snprintf(a->les.reason, sizeof a->les.reason, "%s", tui_s(a, S_L_ANSWERED_BEFORE));
    } else if (s->q.kind) {
        tui_quiz_arm(a);
        a->les.typing = !a->les.cover;
    }
    save_progress(a, false);
}

static void finish(ls_tui *a)
{
    int first, retry, shown, asked;
    tui_quiz_score(a, &first, &retry, &shown, &asked);
    save_progress(a, true);
    if (a->msg_err)
        return;
    tui_say(a, false, tui_s(a, S_L_FINISHED), first, asked, retry, shown);
}

/* n / Enter / Space / P in lesson mode; false when the key is not the lesson's. */
bool tui_lesson_key(ls_tui *a, int key)
{
    const ls_lesson *L = a->les.lesson;
    if (!L)
        return false;
    if (key == 'P') {
        if (a->les.step == 0) {
            tui_say(a, false, "%s", tui_s(a, S_L_FIRST_STEP));
            return true;
        }
        a->msg[0] = '\0';
        a->msg_err = false;
        tui_lesson_enter(a, a->les.step - 1);
        return true;
    }
    if (key != 'n' && key != LS_KEY_ENTER && key != '\r' && !(key == ' ' && a->les.cover))
        return false;
    a->msg[0] = '\0';
    a->msg_err = false;
    if (a->les.cover) {  /* classroom: the narration first, then the tensor */
        a->les.cover = false;
        a->les.typing = tui_quiz_open(a);
        return true;
    }
    if (tui_quiz_open(a)) {
        a->les.typing = true;  /* back to the answer line */
        return true;
    }
    if (a->les.step + 1 >= L->n_steps) {
        finish(a);
        return true;
    }
    tui_lesson_enter(a, a->les.step + 1);
    return true;
}
