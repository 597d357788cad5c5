/* Edits, undo and module runs: change a kept tensor and rerun what the
 * user has seen downstream; run one module alone on random or given
 * inputs in the second run slot. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/npy.h"
#include "app_internal.h"

/* ------------------------------------------------------------------ */
/* edits                                                               */

/* Broadcast views (expand) cannot be written; follow them back to the
 * tensor they repeat, mapping the index, so "edit a mask cell" works on
 * the [B,1,1,T] mask behind a [B,H,T,T] view. */
static int edit_target(const tui_run *r, int node, int64_t *idx)
{
    for (int guard = 0; guard < 64; guard++) {
        const ls_tensor *t = tui_out(r, node);
        if (!t)
            return -1;
        bool bcast = false;
        for (int d = 0; d < t->ndim; d++)
            if (t->stride[d] == 0 && t->shape[d] > 1)
                bcast = true;
        if (!bcast)
            return node;
        const ls_node *nd = ls_graph_node(r->g, node);
        if (nd->n_in < 1)
            return -1;
        const ls_tensor *in = &ls_graph_node(r->g, nd->in[0])->out;
        int64_t ni[LS_MAX_DIMS] = {0};
        switch (nd->op) {
        case LS_OP_ALIAS:
            break;
        case LS_OP_EXPAND:
            for (int j = 0; j < in->ndim; j++) {
                int d = j + t->ndim - in->ndim;
                ni[j] = in->shape[j] == 1 ? 0 : idx[d];
            }
            memcpy(idx, ni, sizeof ni);
            break;
        case LS_OP_UNSQUEEZE: {
            int dim = (int)nd->p.i[0];
            for (int j = 0, k = 0; j < t->ndim; j++)
                if (j != dim)
                    ni[k++] = idx[j];
            memcpy(idx, ni, sizeof ni);
            break;
        }
        default:
            return -1;
        }
        node = nd->in[0];
    }
    return -1;
}

/* Recomputes what the user has seen downstream of an edit; what was
 * computed ahead is forgotten first (it would be stale, and recomputing
 * it would make the edit wait for nodes nobody looks at yet). */
static int rerun(tui_run *r, int edited, ls_error *err)
{
    int rc = ls_exec_rewind(r->ex, r->front, err);
    r->ahead_failed = false;
    return rc ? rc : ls_exec_rerun(r->ex, edited, err);
}

static void edit_free(tui_edit *e)
{
    free(e->idx);
    free(e->old);
}

/* Sets cells (indices in node's own shape) to value, or each to vals[i]
 * when vals is given; records the old values; reruns downstream. */
void tui_edit_cells(ls_tui *a, int node, int64_t (*idx)[LS_MAX_DIMS], int n, double value)
{
    tui_run *r = tui_cur(a);
    ls_error err = {0};
    if (n <= 0)
        return;
    if (!tui_computed(r, node)) {
        tui_say(a, true, tui_s(a, S_NOT_COMPUTED), ls_graph_node(r->g, node)->name);
        return;
    }
    /* NaN, inf or 1e19 in an int64 cell: said, not converted */
    if (ls_tensor_value_check(ls_graph_node(r->g, node)->out.dtype, value, &err)) {
        tui_say(a, true, "%s: %s", ls_graph_node(r->g, node)->name, err.msg);
        return;
    }
    int target = -1;
    for (int i = 0; i < n; i++) {
        int t = edit_target(r, node, idx[i]);
        if (t < 0 || (target >= 0 && t != target)) {
            tui_say(a, true, tui_s(a, S_BROADCAST_VIEW),
                ls_graph_node(r->g, node)->name);
            return;
        }
        target = t;
    }
    tui_edit e = {target, n, malloc((size_t)n * sizeof *e.idx), malloc((size_t)n * sizeof *e.old)};
    tui_edit *ne = realloc(r->edits, (size_t)(r->n_edits + 1) * sizeof *ne);
    if (!e.idx || !e.old || !ne) {
        if (ne)
            r->edits = ne;
        edit_free(&e);
        tui_say(a, true, "%s", tui_s(a, S_NO_MEMORY_EDIT));
        return;
    }
    r->edits = ne;
    ls_tensor *t = ls_exec_edit(r->ex, target, &err);
    if (!t) {
        edit_free(&e);
        tui_say(a, true, "%s", err.msg);
        return;
    }
    memcpy(e.idx, idx, (size_t)n * sizeof *e.idx);
    for (int i = 0; i < n; i++) {
        e.old[i] = ls_tensor_get(t, idx[i]);
        ls_tensor_set(t, idx[i], value);
    }
    r->edits[r->n_edits++] = e;
    int rc = rerun(r, target, &err);
    r->epoch++;
    const char *tn = ls_graph_node(r->g, target)->name;
    if (rc)
        tui_say(a, true, tui_s(a, S_RERUN_FAILED), err.msg);
    else if (target != node)
        tui_say(a, false, tui_s(a, S_EDITED_BROADCAST),
            n, n == 1 ? "" : "s", tn, ls_graph_node(r->g, node)->name);
    else
        tui_say(a, false, tui_s(a, S_EDITED), n,
            n == 1 ? "" : "s", tn);
}

void tui_edit_cursor(ls_tui *a, const char *text)
{
    int node = tui_selected_node(a);
    const ls_tensor *t = node >= 0 ? tui_out(tui_cur(a), node) : NULL;
    if (!t) {
        tui_say(a, true, "%s", tui_s(a, S_NOTHING_TO_EDIT));
        return;
    }
    while (*text == ' ')
        text++;
    char *end;
    double v;
    if (!strcasecmp(text, "true"))
        v = 1;
    else if (!strcasecmp(text, "false"))
        v = 0;
    else {
        v = strtod(text, &end);
        while (end && *end == ' ')
            end++;
        if (end == text || *end) {
            tui_say(a, true, tui_s(a, S_SET_NOT_NUMBER), text);
            return;
        }
    }
    tui_slice s;
    tui_slice_of(a, t, &s);
    int row = a->row < s.rows ? a->row : s.rows - 1, col = a->col < s.cols ? a->col : s.cols - 1;
    int64_t idx[1][LS_MAX_DIMS];
    tui_slice_index(&s, row, col, idx[0]);
    tui_edit_cells(a, node, idx, 1, v);
}

void tui_zero_slice(ls_tui *a)
{
    int node = tui_selected_node(a);
    const ls_tensor *t = node >= 0 ? tui_out(tui_cur(a), node) : NULL;
    if (!t) {
        tui_say(a, true, "%s", tui_s(a, S_ZERO_NOTHING));
        return;
    }
    tui_slice s;
    tui_slice_of(a, t, &s);
    int64_t n = (int64_t)s.rows * s.cols;
    if (n > (1 << 22)) {
        tui_say(a, true, tui_s(a, S_ZERO_TOO_LARGE),
            (long long)n);
        return;
    }
    int64_t (*idx)[LS_MAX_DIMS] = malloc((size_t)n * sizeof *idx);
    if (!idx) {
        tui_say(a, true, "%s", tui_s(a, S_NO_MEMORY));
        return;
    }
    for (int i = 0; i < s.rows; i++)
        for (int j = 0; j < s.cols; j++)
            tui_slice_index(&s, i, j, idx[(int64_t)i * s.cols + j]);
    tui_edit_cells(a, node, idx, (int)n, 0.0);
    free(idx);
}

void tui_undo(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    if (r->n_edits == 0) {
        tui_say(a, false, "%s", tui_s(a, S_UNDO_NOTHING));
        return;
    }
    tui_edit *e = &r->edits[r->n_edits - 1];
    ls_error err = {0};
    ls_tensor *t = ls_exec_edit(r->ex, e->node, &err);
    if (!t) {
        tui_say(a, true, tui_s(a, S_UNDO_FAILED), err.msg);
        return;
    }
    for (int i = e->n - 1; i >= 0; i--)
        ls_tensor_set(t, e->idx[i], e->old[i]);
    int node = e->node;
    edit_free(e);
    r->n_edits--;
    bool still = false;
    for (int i = 0; i < r->n_edits; i++)
        if (ls_exec_storage_node(r->ex, r->edits[i].node) == ls_exec_storage_node(r->ex, node))
            still = true;
    if (!still)
        ls_exec_unpin(r->ex, node);
    int rc = rerun(r, node, &err);
    r->epoch++;
    if (rc)
        tui_say(a, true, tui_s(a, S_UNDO_RERUN_FAILED), err.msg);
    else
        tui_say(a, false, tui_s(a, S_UNDONE), ls_graph_node(r->g, node)->name);
}

/* ------------------------------------------------------------------ */
/* run one module alone                                                */

/* ":module PATH query=q.npy mask=m.npy": the NAME=FILE words after the
 * path, split in place; false (and a message) when there are too many. */
#define MODULE_MAX_FILES 8
static bool module_files(ls_tui *a, char *args, char **names, char **files, int *n)
{
    *n = 0;
    for (char *save = NULL, *w = strtok_r(args, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(w, '=');
        if (!eq || eq == w || !eq[1]) {
            tui_say(a, true, tui_s(a, S_MODULE_BAD_ARG), w);
            return false;
        }
        if (*n == MODULE_MAX_FILES) {
            tui_say(a, true, tui_s(a, S_MODULE_TOO_MANY), MODULE_MAX_FILES);
            return false;
        }
        *eq = '\0';
        for (int k = 0; k < *n; k++)
            if (!strcmp(names[k], w)) {
                tui_say(a, true, tui_s(a, S_MODULE_TWICE), w);
                return false;
            }
        names[*n] = w;
        files[(*n)++] = eq + 1;
    }
    return true;
}

/* A lesson's "run" switch may have put its own model on the axis labels
 * (lesson_use_run); the main run, and modules cut from it, label with the
 * main run's model again. */
void tui_main_labels(ls_tui *a)
{
    if (!a->les.run)
        return;
    a->model = a->les.model0;
    a->inputs = a->les.inputs0;
    a->arch = a->model ? ls_model_arch(a->model) : NULL;
}

void tui_module_run(ls_tui *a, const char *path_arg)
{
    tui_run *main_run = &a->runs[0];
    char path[512], args[768] = "";
    char *names[MODULE_MAX_FILES], *files[MODULE_MAX_FILES];
    int n_files = 0;
    if (path_arg && *path_arg) {
        snprintf(path, sizeof path, "%s", path_arg);
        char *sp = strchr(path, ' ');
        if (sp) {
            *sp = '\0';
            snprintf(args, sizeof args, "%s", path_arg + (sp - path) + 1);
        }
        if (!module_files(a, args, names, files, &n_files))
            return;
    } else {
        int m = tui_selected_module(a);
        if (m < 0)
            m = a->cur == 0 && main_run->at >= 0 ? ls_graph_node(main_run->g, main_run->at)->module : -1;
        if (m <= 0) {
            tui_say(a, true, "%s", tui_s(a, S_MODULE_SELECT));
            return;
        }
        snprintf(path, sizeof path, "%s", ls_graph_module(tui_cur(a)->g, m)->path);
    }
    ls_error err = {0};
    ls_graph *sub = NULL;
    ls_exec *ex = NULL;
    /* one module on a small random batch: threads buy nothing here */
    ls_exec_opts eo = a->exec_opts;
    eo.threads = 1;
    if (ls_graph_extract(main_run->g, path, &sub, &err) || ls_exec_new(sub, &eo, &ex, &err)) {
        ls_graph_free(sub);
        tui_say(a, true, tui_s(a, S_MODULE_ERROR), err.msg);
        return;
    }
    /* NAME=FILE.npy inputs from files (same dtype and shape as the module
     * gets in the model); the rest random: floats ~ N(0,1), masks and ids
     * the argument's "nothing masked" value (edit a cell to mask one) */
    ls_rng rng = {a->seed};
    ls_arena *ar = ls_arena_new(1 << 16);
    char what[256] = "";
    size_t wl = 0;
    int rc = ar ? LS_OK : ls_error_set(&err, LS_ERR_NOMEM, "out of memory");
    bool used[MODULE_MAX_FILES] = {false};
    for (int i = 0; i < ls_graph_n_nodes(sub) && !rc; i++) {
        const ls_node *nd = ls_graph_node(sub, i);
        if (nd->op != LS_OP_INPUT)
            continue;
        int k = 0;
        while (k < n_files && strcmp(names[k], nd->name))
            k++;
        ls_tensor t;
        char shape[64], got[64];
        ls_shape_str(&nd->out, shape, sizeof shape);
        if (k < n_files) {
            used[k] = true;
            rc = ls_npy_load(files[k], ar, &t, &err);
            if (!rc && (t.dtype != nd->out.dtype || !ls_tensor_same_shape(&t, &nd->out)))
                rc = ls_error_set(&err, LS_ERR_SHAPE, "%s: %s %s, but input '%s' is %s %s", files[k],
                                  ls_dtype_name(t.dtype), ls_shape_str(&t, got, sizeof got), nd->name,
                                  ls_dtype_name(nd->out.dtype), shape);
        } else {
            rc = ls_tensor_alloc(ar, nd->out.dtype, nd->out.ndim, nd->out.shape, &t, &err);
            for (int64_t j = 0; !rc && j < ls_tensor_numel(&t); j++)
                ls_tensor_set_flat(&t, j, t.dtype == LS_F32 ? ls_rng_normal(&rng) : ls_graph_input_fill(nd));
        }
        if (!rc)
            rc = ls_exec_set_input(ex, nd->name, &t, &err);
        if (!rc && wl < sizeof what)
            wl += (size_t)snprintf(what + wl, sizeof what - wl, "%s%s %s%s", wl ? ", " : "", nd->name,
                                   shape, k < n_files ? " from file" : "");
    }
    for (int k = 0; k < n_files && !rc; k++)
        if (!used[k])
            rc = ls_error_set(&err, LS_ERR_ARG, "module %s has no input '%s' (its inputs: %s)", path,
                              names[k], what);
    ls_arena_free(ar);
    tui_run nr;
    if (rc || tui_run_init(&nr, sub, ex, true, &err)) {
        ls_exec_free(ex);
        ls_graph_free(sub);
        tui_say(a, true, tui_s(a, S_MODULE_ERROR), err.msg);
        return;
    }
    if (a->cur == 1)
        tui_run_free(&a->runs[1]);
    a->runs[1] = nr;
    a->cur = 1;
    tui_main_labels(a);
    /* random or given tensors are not the sentence or the clip: rows and
     * columns are labelled by index */
    a->inputs = NULL;
    a->maskmemo.valid = false;
    a->heat.valid = false;
    a->row = a->col = a->grid_top = a->grid_left = 0;
    a->attention = a->explain = false;
    /* open the whole module: it is small and the point of the exercise */
    for (int m = 0; m < nr.n_mods; m++)
        a->runs[1].expanded[m] = ls_graph_module(sub, m)->depth <= 2;
    a->runs[1].rows_dirty = true;
    tui_rows_update(&a->runs[1]);
    tui_say(a, false, tui_s(a, S_MODULE_RUN), path,
        tui_s(a, n_files ? S_W_YOUR : S_W_RANDOM), what);
}

void tui_module_back(ls_tui *a)
{
    if (a->cur != 1) {
        tui_say(a, false, "%s", tui_s(a, S_MAIN_ALREADY));
        return;
    }
    tui_run_free(&a->runs[1]);
    a->cur = 0;
    tui_main_labels(a);
    a->maskmemo.valid = false;
    a->heat.valid = false;
    tui_say(a, false, "%s", tui_s(a, S_MAIN_BACK));
}

