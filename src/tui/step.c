/* Stepping and breakpoints: targets are found by scanning the graph, then
 * reached by running the executor up to them (or by moving over kept
 * values, see app.c's picture of `at` and `front`). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_internal.h"

/* ------------------------------------------------------------------ */
/* stepping: targets are found by scanning the graph, then reached by    */
/* running the executor up to them (or by moving over kept values)       */

static int next_point(const tui_run *r, int from)
{
    for (int i = from + 1; i < r->n_nodes; i++)
        if (tui_node_is_point(r->g, i))
            return i;
    return -1;
}

static int prev_point(const tui_run *r, int from)
{
    for (int i = from - 1; i >= 0; i--)
        if (tui_node_is_point(r->g, i) && tui_computed(r, i))
            return i;
    return -1;
}

static bool pred_reached(void *ud, const ls_exec *ex, int node)
{
    (void)ex;
    return node >= *(const int *)ud;
}

/* Moves `at` to target, running the executor when target is pending. */
void tui_reach(ls_tui *a, int target)
{
    tui_run *r = tui_cur(a);
    if (target < 0)
        return;
    if (ls_graph_node(r->g, target)->op == LS_OP_CONST) {
        tui_select_node(r, target);  /* a weight: there already, the run stays put */
        return;
    }
    if (target >= r->front) {
        ls_error err = {0};
        /* what was computed ahead while the user read is kept values */
        if (target >= ls_exec_cursor(r->ex) &&
            ls_exec_run_until(r->ex, pred_reached, &target, &err)) {
            tui_say(a, true, "%s", err.msg);
            r->front = ls_exec_cursor(r->ex);
            r->at = prev_point(r, r->front);
            tui_select_node(r, r->at);
            return;
        }
        r->front = target + 1;
    }
    r->at = target;
    tui_select_node(r, target);
}

void tui_step_into(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    int t = next_point(r, r->at);
    if (t < 0) {
        tui_say(a, false, "%s", tui_s(a, S_AT_END));
        return;
    }
    tui_reach(a, t);
}

/* The outermost module that the next point enters after `at`: step over
 * runs to its output, the way a debugger steps over a call. */
void tui_step_over(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    int t = next_point(r, r->at);
    if (t < 0) {
        tui_say(a, false, "%s", tui_s(a, S_AT_END));
        return;
    }
    int target = t;
    for (int m = ls_graph_node(r->g, t)->module; m > 0; m = ls_graph_module(r->g, m)->parent) {
        const ls_module *md = ls_graph_module(r->g, m);
        if (r->first_point[m] > r->at && md->out_node > t)
            target = md->out_node;
    }
    tui_reach(a, target);
}

void tui_step_out(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    if (r->at < 0) {
        tui_step_over(a);
        return;
    }
    const ls_node *nd = ls_graph_node(r->g, r->at);
    int m = nd->module;
    if (m >= 0 && ls_graph_module(r->g, m)->out_node == r->at)
        m = ls_graph_module(r->g, m)->parent;
    for (; m > 0; m = ls_graph_module(r->g, m)->parent) {
        int out = ls_graph_module(r->g, m)->out_node;
        if (out > r->at) {
            tui_reach(a, out);
            return;
        }
    }
    tui_reach(a, r->last_point);
}

void tui_cont(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    for (int i = r->at + 1; i < r->n_nodes; i++)
        if (tui_node_is_point(r->g, i) && tui_is_break(a, i)) {
            tui_reach(a, i);
            if (r->at == i)
                tui_say(a, false, tui_s(a, S_BREAKPOINT_HIT), ls_graph_node(r->g, i)->name);
            return;
        }
    if (r->last_point < 0 || r->at >= r->last_point) {
        tui_say(a, false, "%s", tui_s(a, S_AT_END));
        return;
    }
    tui_reach(a, r->last_point);
    if (r->at == r->last_point)
        tui_say(a, false, "%s", tui_s(a, S_FINISHED));
}

void tui_step_back(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    int p = prev_point(r, r->at < 0 ? 0 : r->at);
    if (r->at < 0 || p < 0) {
        tui_say(a, false, "%s", tui_s(a, S_AT_START));
        return;
    }
    r->at = p;
    tui_select_node(r, p);
}

void tui_restart(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    ls_exec_reset(r->ex);
    r->at = -1;
    r->front = 0;
    r->ahead_failed = false;
    r->epoch++;
    r->sel_row = 0;
    tui_say(a, false, tui_s(a, S_RESTARTED), r->n_edits ? tui_s(a, S_EDITS_KEPT) : "");
}

/* Name -> node: a point, a module (its output, else its first point),
 * a unique prefix, or the first glob match after `at`. */
static int resolve_name(ls_tui *a, const char *name)
{
    tui_run *r = tui_cur(a);
    int i = ls_graph_find(r->g, name);
    if (i >= 0)
        return i;
    int m = ls_graph_find_module(r->g, name);
    if (m >= 0) {
        const ls_module *md = ls_graph_module(r->g, m);
        return md->out_node >= 0 ? md->out_node : r->first_point[m];
    }
    int found = -1, count = 0;
    size_t len = strlen(name);
    for (int k = 0; k < r->n_nodes; k++)
        if (tui_node_is_point(r->g, k) && !strncmp(ls_graph_node(r->g, k)->name, name, len)) {
            if (found < 0)
                found = k;
            count++;
        }
    if (count == 1)
        return found;
    if (strpbrk(name, "*?")) {
        for (int k = r->at + 1; k < r->n_nodes; k++)
            if (tui_node_is_point(r->g, k) && ls_glob_match(name, ls_graph_node(r->g, k)->name))
                return k;
        for (int k = 0; k <= r->at && k < r->n_nodes; k++)
            if (tui_node_is_point(r->g, k) && ls_glob_match(name, ls_graph_node(r->g, k)->name))
                return k;
    }
    return count > 1 ? -2 : -1;
}

void tui_go_to(ls_tui *a, const char *name)
{
    while (*name == ' ')
        name++;
    if (!*name) {
        tui_say(a, true, "%s", tui_s(a, S_GOTO_EMPTY));
        return;
    }
    int t = resolve_name(a, name);
    if (t == -2) {
        tui_say(a, true, tui_s(a, S_GOTO_SEVERAL), name);
        return;
    }
    if (t < 0) {
        tui_say(a, true, tui_s(a, S_GOTO_NONE), name);
        return;
    }
    tui_reach(a, t);
}

/* ------------------------------------------------------------------ */
/* breakpoints                                                         */

bool tui_break_remove(ls_tui *a, const char *glob)
{
    bool any = false;
    for (int i = 0; i < a->n_breaks;) {
        if (!strcmp(glob, "*") || !strcmp(a->breaks[i], glob)) {
            free(a->breaks[i]);
            memmove(a->breaks + i, a->breaks + i + 1, (size_t)(a->n_breaks - i - 1) * sizeof *a->breaks);
            a->n_breaks--;
            any = true;
        } else {
            i++;
        }
    }
    return any;
}

int tui_break_add(ls_tui *a, const char *glob)
{
    for (int i = 0; i < a->n_breaks; i++)
        if (!strcmp(a->breaks[i], glob))
            return LS_OK;
    char **nb = realloc(a->breaks, (size_t)(a->n_breaks + 1) * sizeof *nb);
    if (!nb)
        return LS_ERR_NOMEM;
    a->breaks = nb;
    if (!(a->breaks[a->n_breaks] = strdup(glob)))
        return LS_ERR_NOMEM;
    a->n_breaks++;
    return LS_OK;
}

void tui_break_toggle(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    tui_rows_update(r);
    if (r->n_rows == 0)
        return;
    int item = r->rows[r->sel_row];
    const char *name = item < 0 ? ls_graph_module(r->g, -item - 1)->path
                                : ls_graph_node(r->g, item)->name;
    if (tui_break_remove(a, name))
        tui_say(a, false, tui_s(a, S_BREAK_REMOVED), name);
    else if (tui_break_add(a, name) == LS_OK)
        tui_say(a, false, tui_s(a, S_BREAK_SET), name);
    else
        tui_say(a, true, "%s", tui_s(a, S_NO_MEMORY));
}

