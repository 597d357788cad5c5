/* The debugger's runs: the module tree's rows for one graph and executor,
 * what the screen may show of each node, breakpoints as the tree marks
 * them, and the one-line message. */
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/trace.h"
#include "app_internal.h"

/* ------------------------------------------------------------------ */
/* runs and the module tree                                            */

bool tui_node_is_point(const ls_graph *g, int i)
{
    return ls_node_is_point(ls_graph_node(g, i));
}

typedef struct kid_key {
    int key, item;
} kid_key;

static int cmp_kid(const void *a, const void *b)
{
    const kid_key *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    /* a module sorts before the point that opens it */
    return x->item < y->item ? -1 : x->item > y->item;
}

void tui_run_free(tui_run *r)
{
    free(r->kid_start);
    free(r->kids);
    free(r->first_point);
    free(r->expanded);
    free(r->rows);
    free(r->row_depth);
    free(r->stats);
    free(r->stats_epoch);
    for (int i = 0; i < r->n_edits; i++) {
        free(r->edits[i].idx);
        free(r->edits[i].old);
    }
    free(r->edits);
    if (r->owned) {
        ls_exec_free(r->ex);
        ls_graph_free(r->g);
    }
    memset(r, 0, sizeof *r);
}

/* Children of each module in execution order: child modules keyed by
 * their first point, own points by index.  A module's output node is the
 * module's row itself, not a child. */
int tui_run_init(tui_run *r, ls_graph *g, ls_exec *ex, bool owned, ls_error *err)
{
    memset(r, 0, sizeof *r);
    r->g = g;
    r->ex = ex;
    r->owned = owned;
    /* weights packed now, while the run opens, not by the first step
     * into each layer (a 20 ms spike on the Conformer's 3x3 conv) */
    ls_exec_prepack(ex);
    r->at = -1;
    r->front = ls_exec_cursor(ex);
    r->n_nodes = ls_graph_n_nodes(g);
    r->n_mods = ls_graph_n_modules(g);
    int n = r->n_nodes, nm = r->n_mods;
    size_t nn = (size_t)(n ? n : 1), nmm = (size_t)(nm ? nm : 1);
    r->first_point = malloc(nmm * sizeof *r->first_point);
    r->expanded = calloc(nmm, 1);
    r->kid_start = calloc(nmm + 1, sizeof *r->kid_start);
    r->kids = malloc((nn + nmm) * sizeof *r->kids);
    r->rows = malloc((nn + nmm) * sizeof *r->rows);
    r->row_depth = malloc((nn + nmm) * sizeof *r->row_depth);
    r->stats = calloc(nn, sizeof *r->stats);
    r->stats_epoch = calloc(nn, sizeof *r->stats_epoch);
    kid_key *keys = malloc((nn + nmm) * sizeof *keys);
    int *owner = malloc((nn + nmm) * sizeof *owner);
    if (!r->first_point || !r->expanded || !r->kid_start || !r->kids || !r->rows ||
        !r->row_depth || !r->stats || !r->stats_epoch || !keys || !owner) {
        free(keys);
        free(owner);
        tui_run_free(r);
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory starting the debugger");
    }
    for (int m = 0; m < nm; m++)
        r->first_point[m] = -1;
    r->last_point = -1;
    for (int i = 0; i < n; i++) {
        if (!tui_node_is_point(g, i))
            continue;
        r->last_point = i;
        for (int m = ls_graph_node(g, i)->module; m >= 0 && r->first_point[m] < 0;
             m = ls_graph_module(g, m)->parent)
            r->first_point[m] = i;
    }
    /* (owner, key, item) triples, then a counting pass into CSR form */
    int nk = 0;
    for (int m = 1; m < nm; m++) {
        const ls_module *md = ls_graph_module(g, m);
        if (md->parent < 0)
            continue;
        int key = r->first_point[m] >= 0 ? r->first_point[m]
                  : md->first_node >= 0  ? md->first_node
                                         : n;
        owner[nk] = md->parent;
        keys[nk++] = (kid_key){key, -(m + 1)};
    }
    for (int i = 0; i < n; i++) {
        const ls_node *nd = ls_graph_node(g, i);
        bool param = nd->op == LS_OP_CONST && (nd->flags & LS_NODE_PARAM);
        if (!tui_node_is_point(g, i) && !param)
            continue;
        if (nd->module >= 0 && ls_graph_module(g, nd->module)->out_node == i)
            continue;
        owner[nk] = nd->module < 0 ? 0 : nd->module;
        /* a module's weights list first, as a debugger shows a frame's
         * fields before stepping into it; they are rows to look at and
         * edit, never places the run stops */
        int m = nd->module < 0 ? 0 : nd->module;
        keys[nk++] = (kid_key){param && r->first_point[m] >= 0 ? r->first_point[m] : i, i};
    }
    for (int k = 0; k < nk; k++)
        r->kid_start[owner[k] + 1]++;
    for (int m = 0; m < nm; m++)
        r->kid_start[m + 1] += r->kid_start[m];
    int *fill = calloc(nmm, sizeof *fill);
    kid_key *sorted = malloc((nn + nmm) * sizeof *sorted);
    if (!fill || !sorted) {
        free(fill);
        free(sorted);
        free(keys);
        free(owner);
        tui_run_free(r);
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory starting the debugger");
    }
    for (int k = 0; k < nk; k++)
        sorted[r->kid_start[owner[k]] + fill[owner[k]]++] = keys[k];
    for (int m = 0; m < nm; m++)
        qsort(sorted + r->kid_start[m], (size_t)(r->kid_start[m + 1] - r->kid_start[m]),
              sizeof *sorted, cmp_kid);
    for (int k = 0; k < nk; k++)
        r->kids[k] = sorted[k].item;
    free(fill);
    free(sorted);
    free(keys);
    free(owner);
    /* the top two levels open; repeated layers and everything below folded */
    for (int m = 0; m < nm; m++)
        r->expanded[m] = ls_graph_module(g, m)->depth <= 1;
    r->rows_dirty = true;
    return LS_OK;
}

static void add_rows(tui_run *r, int m, int depth)
{
    for (int k = r->kid_start[m]; k < r->kid_start[m + 1]; k++) {
        int item = r->kids[k];
        r->rows[r->n_rows] = item;
        r->row_depth[r->n_rows++] = depth;
        if (item < 0 && r->expanded[-item - 1])
            add_rows(r, -item - 1, depth + 1);
    }
}

void tui_rows_update(tui_run *r)
{
    if (!r->rows_dirty)
        return;
    int sel = r->n_rows > 0 && r->sel_row < r->n_rows ? r->rows[r->sel_row] : 0;
    r->n_rows = 0;
    if (r->n_mods > 0)
        add_rows(r, 0, 0);
    r->rows_dirty = false;
    r->sel_row = 0;
    for (int i = 0; i < r->n_rows; i++)
        if (r->rows[i] == sel) {
            r->sel_row = i;
            break;
        }
}

/* Makes node's row visible (unfolding its modules) and selects it. */
void tui_select_node(tui_run *r, int node)
{
    if (node < 0 || node >= r->n_nodes)
        return;
    const ls_node *nd = ls_graph_node(r->g, node);
    int m = nd->module;
    bool is_out = m >= 0 && ls_graph_module(r->g, m)->out_node == node;
    int from = is_out ? ls_graph_module(r->g, m)->parent : m;
    for (int p = from; p >= 0; p = ls_graph_module(r->g, p)->parent)
        if (!r->expanded[p]) {
            r->expanded[p] = 1;
            r->rows_dirty = true;
        }
    tui_rows_update(r);
    int want = is_out ? -(m + 1) : node;
    for (int i = 0; i < r->n_rows; i++)
        if (r->rows[i] == want) {
            r->sel_row = i;
            return;
        }
}

/* ------------------------------------------------------------------ */
/* lookups the panes share                                             */

bool tui_computed(const tui_run *r, int node)
{
    if (!ls_exec_computed(r->ex, node))
        return false;
    /* an edited tensor stays computed through a tui_restart (reset keeps
     * pins), and was on screen before computing ahead existed */
    if (node < r->front || (ls_exec_storage_node(r->ex, node) == node && ls_exec_is_pinned(r->ex, node)))
        return true;
    return ls_op_kind_of(ls_graph_node(r->g, node)->op) == LS_KIND_LEAF;
}

const ls_tensor *tui_out(const tui_run *r, int node)
{
    return tui_computed(r, node) ? ls_exec_out(r->ex, node) : NULL;
}

int tui_selected_module(const ls_tui *a)
{
    const tui_run *r = tui_ccur(a);
    if (r->n_rows == 0 || r->sel_row >= r->n_rows)
        return -1;
    int item = r->rows[r->sel_row];
    return item < 0 ? -item - 1 : -1;
}

int tui_selected_node(const ls_tui *a)
{
    const tui_run *r = tui_ccur(a);
    if (r->n_rows == 0 || r->sel_row >= r->n_rows)
        return r->at;
    int item = r->rows[r->sel_row];
    if (item >= 0)
        return item;
    return ls_graph_module(r->g, -item - 1)->out_node;
}

int tui_find_point(const ls_tui *a, const char *module_path, const char *point)
{
    char name[512];
    if (module_path[0])
        snprintf(name, sizeof name, "%s.%s", module_path, point);
    else
        snprintf(name, sizeof name, "%s", point);
    return ls_graph_find(tui_ccur(a)->g, name);
}

/* A point stops `c` when a glob names it, or names a module it opens
 * (its first point), so `--break encoder.layers.0` stops on entry. */
bool tui_is_break(const ls_tui *a, int node)
{
    const tui_run *r = tui_ccur(a);
    const ls_node *nd = ls_graph_node(r->g, node);
    bool is_out = nd->module >= 0 && ls_graph_module(r->g, nd->module)->out_node == node;
    for (int b = 0; b < a->n_breaks; b++) {
        if (!is_out && ls_glob_match(a->breaks[b], nd->name))
            return true;
        for (int m = nd->module; m > 0; m = ls_graph_module(r->g, m)->parent)
            if (r->first_point[m] == node && ls_glob_match(a->breaks[b], ls_graph_module(r->g, m)->path))
                return true;
    }
    return false;
}

bool tui_module_has_break(const ls_tui *a, int m)
{
    const char *path = ls_graph_module(tui_ccur(a)->g, m)->path;
    for (int b = 0; b < a->n_breaks; b++)
        if (ls_glob_match(a->breaks[b], path))
            return true;
    return false;
}

const ls_stats *tui_stats(ls_tui *a, int node)
{
    tui_run *r = tui_cur(a);
    const ls_tensor *t = tui_out(r, node);
    if (!t)
        return NULL;
    /* stats over a whole tensor are O(numel): once per node and epoch */
    if (r->stats_epoch[node] != r->epoch + 1) {
        ls_tensor_stats(t, &r->stats[node]);
        r->stats_epoch[node] = r->epoch + 1;
    }
    return &r->stats[node];
}
/* ------------------------------------------------------------------ */
/* messages                                                            */

void tui_say(ls_tui *a, bool error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
    a->msg_err = error;
}

