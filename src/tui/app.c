/* The debugger's state and ls_tui_feed: every key is an action on this
 * struct or a call into the executor; nothing here draws to a terminal.
 *
 * Positions.  `at` is the point the user is looking at as "the current
 * line"; `front` is how far the user has stepped (what the screen may
 * show as computed).  Every output stays kept, so stepping back moves
 * `at` only, and stepping forward again walks kept values until it
 * reaches the front.  While no key waits, the executor computes past the
 * front (ls_tui_idle), so a step forward usually finds its nodes done;
 * otherwise it runs the executor up to them:
 *
 *     nodes   0 ....... at ........ front ....... exec cursor ....... n
 *             [ computed, shown         ][ computed ahead, shown pending ][ pending ]
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/npy.h"
#include "layerstep/trace.h"
#include "tui_internal.h"

#include "layerstep/lesson.h"

/* ------------------------------------------------------------------ */
/* runs and the module tree                                            */

static bool node_is_point(const ls_graph *g, int i)
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

static void run_free(tui_run *r)
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
static int run_init(tui_run *r, ls_graph *g, ls_exec *ex, bool owned, ls_error *err)
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
        run_free(r);
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory starting the debugger");
    }
    for (int m = 0; m < nm; m++)
        r->first_point[m] = -1;
    r->last_point = -1;
    for (int i = 0; i < n; i++) {
        if (!node_is_point(g, i))
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
        if (!node_is_point(g, i) && !param)
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
        run_free(r);
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

static void rows_update(tui_run *r)
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
static void select_node(tui_run *r, int node)
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
    rows_update(r);
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
    /* an edited tensor stays computed through a restart (reset keeps
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

void tui_slice_of(const ls_tui *a, const ls_tensor *t, tui_slice *s)
{
    memset(s, 0, sizeof *s);
    s->t = t;
    s->n_batch = s->n_head = 1;
    s->row_dim = s->col_dim = -1;
    s->rows = s->cols = 1;
    switch (t->ndim) {
    case 0:
        break;
    case 1:
        s->col_dim = 0;
        break;
    case 2:
        s->row_dim = 0;
        s->col_dim = 1;
        break;
    case 3:
        s->n_batch = (int)t->shape[0];
        s->row_dim = 1;
        s->col_dim = 2;
        break;
    default:
        s->n_batch = (int)t->shape[0];
        s->n_head = (int)t->shape[1];
        s->row_dim = 2;
        s->col_dim = 3;
        break;
    }
    if (s->row_dim >= 0)
        s->rows = t->shape[s->row_dim] > 1 << 30 ? 1 << 30 : (int)t->shape[s->row_dim];
    if (s->col_dim >= 0)
        s->cols = t->shape[s->col_dim] > 1 << 30 ? 1 << 30 : (int)t->shape[s->col_dim];
    s->batch = a->batch < s->n_batch ? a->batch : s->n_batch - 1;
    s->head = a->head < s->n_head ? a->head : s->n_head - 1;
    if (s->batch < 0)
        s->batch = 0;
    if (s->head < 0)
        s->head = 0;
}

void tui_slice_index(const tui_slice *s, int r, int c, int64_t *idx)
{
    memset(idx, 0, LS_MAX_DIMS * sizeof *idx);
    if (s->t->ndim >= 3)
        idx[0] = s->batch;
    if (s->t->ndim >= 4)
        idx[1] = s->head;
    if (s->row_dim >= 0)
        idx[s->row_dim] = r;
    if (s->col_dim >= 0)
        idx[s->col_dim] = c;
}

double tui_slice_get(const tui_slice *s, int r, int c)
{
    int64_t idx[LS_MAX_DIMS];
    tui_slice_index(s, r, c, idx);
    return ls_tensor_get(s->t, idx);
}

static bool point_is(const ls_node *nd, const char *p) { return !strcmp(nd->point, p); }

/* The attention mask that applies to node's last two dims (True =
 * masked), or -1. */
static int mask_node_find(const ls_tui *a, int node);

int tui_mask_node(ls_tui *a, int node)
{
    const tui_run *r = tui_ccur(a);
    int cursor = r->front;
    if (a->maskmemo.valid && a->maskmemo.cur == a->cur && a->maskmemo.node == node &&
        a->maskmemo.cursor == cursor && a->maskmemo.epoch == r->epoch)
        return a->maskmemo.result;
    a->maskmemo.valid = true;
    a->maskmemo.cur = a->cur;
    a->maskmemo.node = node;
    a->maskmemo.cursor = cursor;
    a->maskmemo.epoch = r->epoch;
    a->maskmemo.result = mask_node_find(a, node);
    return a->maskmemo.result;
}

static int mask_node_find(const ls_tui *a, int node)
{
    const tui_run *r = tui_ccur(a);
    const ls_node *nd = ls_graph_node(r->g, node);
    if (nd->module < 0)
        return -1;
    bool maskable = point_is(nd, "scores") || point_is(nd, "scores_masked") || point_is(nd, "attn") ||
                    point_is(nd, "matrix_ac") || point_is(nd, "matrix_bd") || point_is(nd, "mask_add") ||
                    nd->op == LS_OP_MASKED_FILL || nd->op == LS_OP_SOFTMAX;
    if (!maskable)
        return -1;
    int m = tui_find_point(a, ls_graph_module(r->g, nd->module)->path, "mask");
    const ls_tensor *mt = m >= 0 ? tui_out(r, m) : NULL;
    const ls_tensor *t = tui_out(r, node);
    if (!mt || !t || mt->dtype != LS_BOOL || mt->ndim > t->ndim || mt->ndim < 1 || t->ndim < 2)
        return -1;
    for (int j = 0; j < mt->ndim; j++) {
        int d = j + t->ndim - mt->ndim;
        if (mt->shape[j] != 1 && mt->shape[j] != t->shape[d])
            return -1;
    }
    return m;
}

static bool mask_cell(const ls_tensor *mt, const ls_tensor *t, const int64_t *idx)
{
    int64_t mi[LS_MAX_DIMS] = {0};
    for (int j = 0; j < mt->ndim; j++) {
        int d = j + t->ndim - mt->ndim;
        mi[j] = mt->shape[j] == 1 ? 0 : idx[d];
    }
    return ls_tensor_get(mt, mi) != 0;
}

static bool is_mask_tensor(const ls_node *nd, const ls_tensor *t)
{
    return t->dtype == LS_BOOL && strstr(nd->name, "mask");
}

bool tui_slice_masked(ls_tui *a, int node, const tui_slice *s, int r, int c)
{
    int64_t idx[LS_MAX_DIMS];
    tui_slice_index(s, r, c, idx);
    double v = ls_tensor_get(s->t, idx);
    const ls_node *nd = ls_graph_node(tui_ccur(a)->g, node);
    if (is_mask_tensor(nd, s->t))
        return v != 0;
    if (s->t->dtype == LS_F32 && (v <= -1e8 || (isinf(v) && v < 0)))
        return true;
    int m = tui_mask_node(a, node);
    return m >= 0 && mask_cell(tui_out(tui_ccur(a), m), s->t, idx);
}

void tui_heat_range(ls_tui *a, int node, const tui_slice *s, double *lo, double *hi)
{
    const tui_run *r = tui_ccur(a);
    if (a->heat.valid && a->heat.cur == a->cur && a->heat.node == node &&
        a->heat.batch == s->batch && a->heat.head == s->head && a->heat.epoch == r->epoch) {
        *lo = a->heat.lo;
        *hi = a->heat.hi;
        return;
    }
    double mn = INFINITY, mx = -INFINITY;
    for (int i = 0; i < s->rows; i++)
        for (int j = 0; j < s->cols; j++) {
            double v = tui_slice_get(s, i, j);
            if (!isfinite(v) || tui_slice_masked(a, node, s, i, j))
                continue;
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
    if (mn > mx)
        mn = mx = 0;
    *lo = mn;
    *hi = mx;
    a->heat.valid = true;
    a->heat.cur = a->cur;
    a->heat.node = node;
    a->heat.batch = s->batch;
    a->heat.head = s->head;
    a->heat.epoch = r->epoch;
    a->heat.lo = mn;
    a->heat.hi = mx;
}

int ls_tui_heat_level(double v, double lo, double hi)
{
    if (!(hi > lo))
        return 5;
    int k = (int)((v - lo) / (hi - lo) * 9.0 + 0.5);
    return k < 0 ? 0 : k > 9 ? 9 : k;
}

static bool is_audio(const ls_tui *a)
{
    return a->arch && (!strcmp(a->arch->name, "wav2vec2") || !strcmp(a->arch->name, "conformer"));
}

/* Length in ms of the audio input: a waveform [B,S] at 16 kHz, or
 * fbank frames [B,T,F] at a 10 ms shift; 0 if unknown. */
static double audio_ms(const ls_tui *a)
{
    if (!a->inputs)
        return 0;
    for (int i = 0; i < ls_tmap_count(a->inputs); i++) {
        const ls_tensor *t = ls_tmap_at(a->inputs, i);
        if (t->dtype != LS_F32)
            continue;
        if (t->ndim == 2)
            return (double)t->shape[1] / 16.0;
        if (t->ndim == 3)
            return (double)t->shape[1] * 10.0;
    }
    return 0;
}

const char *tui_axis_label(const ls_tui *a, int node, const tui_slice *s, int axis, int64_t i,
                           char *buf, size_t n)
{
    const ls_node *nd = ls_graph_node(tui_ccur(a)->g, node);
    int dim = axis == 0 ? s->row_dim : s->col_dim;
    if (dim < 0 || nd->op == LS_OP_CONST || (nd->flags & LS_NODE_PARAM) || !a->model)
        return NULL;
    int64_t len = s->t->shape[dim];
    if (a->arch && a->arch->token_label && a->inputs) {
        /* label an axis only when it is exactly as long as the sentence */
        char tmp[64];
        if (!a->arch->token_label(a->model, a->inputs, nd->name, axis, len - 1, tmp, sizeof tmp) ||
            a->arch->token_label(a->model, a->inputs, nd->name, axis, len, tmp, sizeof tmp))
            return NULL;
        return a->arch->token_label(a->model, a->inputs, nd->name, axis, i, buf, n);
    }
    if (is_audio(a) && a->arch->time_rates) {
        /* a time axis is one as long as the input at one of the model's
         * frame rates: [B,T,C] rows, [B,C,T] columns, both of [B,H,T,T];
         * a frame starts at i * step (receptive fields only trim the end) */
        double ms = audio_ms(a), step[16];
        int64_t frames[16];
        int k = ms > 0 ? a->arch->time_rates(a->model, ms, frames, step, 16) : 0;
        for (int r = 0; r < k; r++)
            if (frames[r] == len && len >= 2) {
                double t = (double)i * step[r];
                /* whole milliseconds where the rate allows (10, 20, 40 ms) */
                if (step[r] == floor(step[r]))
                    snprintf(buf, n, "%lld:%.0fms", (long long)i, t);
                else
                    snprintf(buf, n, "%lld:%.1fms", (long long)i, t);
                return buf;
            }
    }
    return NULL;
}

int tui_attention_module(const ls_tui *a, int node)
{
    const tui_run *r = tui_ccur(a);
    int m = tui_selected_module(a);
    if (m < 0 && node >= 0)
        m = ls_graph_node(r->g, node)->module;
    static const char *const need[] = {"scores", "attn"};
    for (; m >= 0; m = ls_graph_module(r->g, m)->parent) {
        const char *path = ls_graph_module(r->g, m)->path;
        bool ok = true;
        for (size_t k = 0; k < sizeof need / sizeof need[0] && ok; k++)
            ok = tui_find_point(a, path, need[k]) >= 0;
        if (ok && (tui_find_point(a, path, "q") >= 0 || tui_find_point(a, path, "matrix_ac") >= 0))
            return m;
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* messages                                                            */

static void say(ls_tui *a, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(ls_tui *a, bool error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    va_end(ap);
    a->msg_err = error;
}

/* ------------------------------------------------------------------ */
/* stepping: targets are found by scanning the graph, then reached by    */
/* running the executor up to them (or by moving over kept values)       */

static int next_point(const tui_run *r, int from)
{
    for (int i = from + 1; i < r->n_nodes; i++)
        if (node_is_point(r->g, i))
            return i;
    return -1;
}

static int prev_point(const tui_run *r, int from)
{
    for (int i = from - 1; i >= 0; i--)
        if (node_is_point(r->g, i) && tui_computed(r, i))
            return i;
    return -1;
}

static bool pred_reached(void *ud, const ls_exec *ex, int node)
{
    (void)ex;
    return node >= *(const int *)ud;
}

/* Moves `at` to target, running the executor when target is pending. */
static void reach(ls_tui *a, int target)
{
    tui_run *r = tui_cur(a);
    if (target < 0)
        return;
    if (ls_graph_node(r->g, target)->op == LS_OP_CONST) {
        select_node(r, target);  /* a weight: there already, the run stays put */
        return;
    }
    if (target >= r->front) {
        ls_error err = {0};
        /* what was computed ahead while the user read is kept values */
        if (target >= ls_exec_cursor(r->ex) &&
            ls_exec_run_until(r->ex, pred_reached, &target, &err)) {
            say(a, true, "%s", err.msg);
            r->front = ls_exec_cursor(r->ex);
            r->at = prev_point(r, r->front);
            select_node(r, r->at);
            return;
        }
        r->front = target + 1;
    }
    r->at = target;
    select_node(r, target);
}

static void step_into(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    int t = next_point(r, r->at);
    if (t < 0) {
        say(a, false, "at the end of the forward pass (R restarts, p steps back)");
        return;
    }
    reach(a, t);
}

/* The outermost module that the next point enters after `at`: step over
 * runs to its output, the way a debugger steps over a call. */
static void step_over(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    int t = next_point(r, r->at);
    if (t < 0) {
        say(a, false, "at the end of the forward pass (R restarts, p steps back)");
        return;
    }
    int target = t;
    for (int m = ls_graph_node(r->g, t)->module; m > 0; m = ls_graph_module(r->g, m)->parent) {
        const ls_module *md = ls_graph_module(r->g, m);
        if (r->first_point[m] > r->at && md->out_node > t)
            target = md->out_node;
    }
    reach(a, target);
}

static void step_out(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    if (r->at < 0) {
        step_over(a);
        return;
    }
    const ls_node *nd = ls_graph_node(r->g, r->at);
    int m = nd->module;
    if (m >= 0 && ls_graph_module(r->g, m)->out_node == r->at)
        m = ls_graph_module(r->g, m)->parent;
    for (; m > 0; m = ls_graph_module(r->g, m)->parent) {
        int out = ls_graph_module(r->g, m)->out_node;
        if (out > r->at) {
            reach(a, out);
            return;
        }
    }
    reach(a, r->last_point);
}

static void cont(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    for (int i = r->at + 1; i < r->n_nodes; i++)
        if (node_is_point(r->g, i) && tui_is_break(a, i)) {
            reach(a, i);
            if (r->at == i)
                say(a, false, "breakpoint: %s", ls_graph_node(r->g, i)->name);
            return;
        }
    if (r->last_point < 0 || r->at >= r->last_point) {
        say(a, false, "at the end of the forward pass (R restarts, p steps back)");
        return;
    }
    reach(a, r->last_point);
    if (r->at == r->last_point)
        say(a, false, "finished: every node computed (p steps back through them)");
}

static void step_back(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    int p = prev_point(r, r->at < 0 ? 0 : r->at);
    if (r->at < 0 || p < 0) {
        say(a, false, "at the start: nothing before this point");
        return;
    }
    r->at = p;
    select_node(r, p);
}

static void restart(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    ls_exec_reset(r->ex);
    r->at = -1;
    r->front = 0;
    r->ahead_failed = false;
    r->epoch++;
    r->sel_row = 0;
    say(a, false, "restarted: nothing computed%s", r->n_edits ? " (edits kept; u undoes)" : "");
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
        if (node_is_point(r->g, k) && !strncmp(ls_graph_node(r->g, k)->name, name, len)) {
            if (found < 0)
                found = k;
            count++;
        }
    if (count == 1)
        return found;
    if (strpbrk(name, "*?")) {
        for (int k = r->at + 1; k < r->n_nodes; k++)
            if (node_is_point(r->g, k) && ls_glob_match(name, ls_graph_node(r->g, k)->name))
                return k;
        for (int k = 0; k <= r->at && k < r->n_nodes; k++)
            if (node_is_point(r->g, k) && ls_glob_match(name, ls_graph_node(r->g, k)->name))
                return k;
    }
    return count > 1 ? -2 : -1;
}

static void go_to(ls_tui *a, const char *name)
{
    while (*name == ' ')
        name++;
    if (!*name) {
        say(a, true, "goto: give a point name (Tab completes)");
        return;
    }
    int t = resolve_name(a, name);
    if (t == -2) {
        say(a, true, "goto: '%s' names several points; Tab completes", name);
        return;
    }
    if (t < 0) {
        say(a, true, "goto: no point or module named '%s'", name);
        return;
    }
    reach(a, t);
}

/* ------------------------------------------------------------------ */
/* breakpoints                                                         */

static bool break_remove(ls_tui *a, const char *glob)
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

static int break_add(ls_tui *a, const char *glob)
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

static void break_toggle(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    rows_update(r);
    if (r->n_rows == 0)
        return;
    int item = r->rows[r->sel_row];
    const char *name = item < 0 ? ls_graph_module(r->g, -item - 1)->path
                                : ls_graph_node(r->g, item)->name;
    if (break_remove(a, name))
        say(a, false, "breakpoint removed: %s", name);
    else if (break_add(a, name) == LS_OK)
        say(a, false, "breakpoint set: %s (c continues to it)", name);
    else
        say(a, true, "out of memory");
}

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
static void edit_cells(ls_tui *a, int node, int64_t (*idx)[LS_MAX_DIMS], int n, double value)
{
    tui_run *r = tui_cur(a);
    ls_error err = {0};
    if (n <= 0)
        return;
    if (!tui_computed(r, node)) {
        say(a, true, "'%s' is not computed yet: step to it first", ls_graph_node(r->g, node)->name);
        return;
    }
    int target = -1;
    for (int i = 0; i < n; i++) {
        int t = edit_target(r, node, idx[i]);
        if (t < 0 || (target >= 0 && t != target)) {
            say(a, true, "'%s' is a broadcast view that cannot be traced back; edit its source",
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
        say(a, true, "out of memory recording the edit");
        return;
    }
    r->edits = ne;
    ls_tensor *t = ls_exec_edit(r->ex, target, &err);
    if (!t) {
        edit_free(&e);
        say(a, true, "%s", err.msg);
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
        say(a, true, "rerun after the edit failed: %s", err.msg);
    else if (target != node)
        say(a, false, "edited %d cell%s of %s (broadcast into %s); downstream recomputed; u undoes",
            n, n == 1 ? "" : "s", tn, ls_graph_node(r->g, node)->name);
    else
        say(a, false, "edited %d cell%s of %s; downstream recomputed; u undoes", n,
            n == 1 ? "" : "s", tn);
}

static void edit_cursor(ls_tui *a, const char *text)
{
    int node = tui_selected_node(a);
    const ls_tensor *t = node >= 0 ? tui_out(tui_cur(a), node) : NULL;
    if (!t) {
        say(a, true, "nothing to edit: select a computed tensor");
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
            say(a, true, "set: '%s' is not a number (true/false for masks)", text);
            return;
        }
    }
    tui_slice s;
    tui_slice_of(a, t, &s);
    int row = a->row < s.rows ? a->row : s.rows - 1, col = a->col < s.cols ? a->col : s.cols - 1;
    int64_t idx[1][LS_MAX_DIMS];
    tui_slice_index(&s, row, col, idx[0]);
    edit_cells(a, node, idx, 1, v);
}

static void zero_slice(ls_tui *a)
{
    int node = tui_selected_node(a);
    const ls_tensor *t = node >= 0 ? tui_out(tui_cur(a), node) : NULL;
    if (!t) {
        say(a, true, "nothing to zero: select a computed tensor");
        return;
    }
    tui_slice s;
    tui_slice_of(a, t, &s);
    int64_t n = (int64_t)s.rows * s.cols;
    if (n > (1 << 22)) {
        say(a, true, "zero: the slice has %lld cells, more than this debugger edits at once",
            (long long)n);
        return;
    }
    int64_t (*idx)[LS_MAX_DIMS] = malloc((size_t)n * sizeof *idx);
    if (!idx) {
        say(a, true, "out of memory");
        return;
    }
    for (int i = 0; i < s.rows; i++)
        for (int j = 0; j < s.cols; j++)
            tui_slice_index(&s, i, j, idx[(int64_t)i * s.cols + j]);
    edit_cells(a, node, idx, (int)n, 0.0);
    free(idx);
}

static void undo(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    if (r->n_edits == 0) {
        say(a, false, "nothing to undo");
        return;
    }
    tui_edit *e = &r->edits[r->n_edits - 1];
    ls_error err = {0};
    ls_tensor *t = ls_exec_edit(r->ex, e->node, &err);
    if (!t) {
        say(a, true, "undo: %s", err.msg);
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
        say(a, true, "rerun after undo failed: %s", err.msg);
    else
        say(a, false, "undone: %s restored; downstream recomputed", ls_graph_node(r->g, node)->name);
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
            say(a, true, "module: '%s' is not NAME=FILE.npy", w);
            return false;
        }
        if (*n == MODULE_MAX_FILES) {
            say(a, true, "module: at most %d NAME=FILE.npy inputs", MODULE_MAX_FILES);
            return false;
        }
        *eq = '\0';
        names[*n] = w;
        files[(*n)++] = eq + 1;
    }
    return true;
}

/* A lesson's "run" switch may have put its own model on the axis labels
 * (lesson_use_run); the main run, and modules cut from it, label with the
 * main run's model again. */
static void main_labels(ls_tui *a)
{
    if (!a->les.run)
        return;
    a->model = a->les.model0;
    a->inputs = a->les.inputs0;
    a->arch = a->model ? ls_model_arch(a->model) : NULL;
}

static void module_run(ls_tui *a, const char *path_arg)
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
            say(a, true, "module: select a module in the tree (or :module PATH)");
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
        say(a, true, "module: %s", err.msg);
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
    if (rc || run_init(&nr, sub, ex, true, &err)) {
        ls_exec_free(ex);
        ls_graph_free(sub);
        say(a, true, "module: %s", err.msg);
        return;
    }
    if (a->cur == 1)
        run_free(&a->runs[1]);
    a->runs[1] = nr;
    a->cur = 1;
    main_labels(a);
    a->maskmemo.valid = false;
    a->heat.valid = false;
    a->row = a->col = a->grid_top = a->grid_left = 0;
    a->attention = a->explain = false;
    /* open the whole module: it is small and the point of the exercise */
    for (int m = 0; m < nr.n_mods; m++)
        a->runs[1].expanded[m] = ls_graph_module(sub, m)->depth <= 2;
    a->runs[1].rows_dirty = true;
    rows_update(&a->runs[1]);
    say(a, false, "module %s alone on %s inputs (%s); s steps in, :main goes back", path,
        n_files ? "your" : "random", what);
}

static void module_back(ls_tui *a)
{
    if (a->cur != 1) {
        say(a, false, "already in the main run");
        return;
    }
    run_free(&a->runs[1]);
    a->cur = 0;
    main_labels(a);
    a->maskmemo.valid = false;
    a->heat.valid = false;
    say(a, false, "back in the main run");
}

/* ------------------------------------------------------------------ */
/* exports                                                             */

static int selected_tensor(ls_tui *a, const ls_tensor **t, int *node)
{
    *node = tui_selected_node(a);
    *t = *node >= 0 ? tui_out(tui_cur(a), *node) : NULL;
    if (!*t) {
        say(a, true, "select a computed tensor first");
        return -1;
    }
    return 0;
}

static void dump_npy(ls_tui *a, const char *path)
{
    const ls_tensor *t;
    int node;
    if (!*path) {
        say(a, true, "dump: give a file name (:dump scores.npy)");
        return;
    }
    if (selected_tensor(a, &t, &node))
        return;
    ls_error err = {0};
    if (ls_npy_save(path, t, &err))
        say(a, true, "dump: %s", err.msg);
    else
        say(a, false, "wrote %s (%s)", path, ls_graph_node(tui_cur(a)->g, node)->name);
}

static void dump_svg(ls_tui *a, const char *path)
{
    const ls_tensor *t;
    int node;
    if (!*path) {
        say(a, true, "svg: give a file name (:svg scores.svg)");
        return;
    }
    if (selected_tensor(a, &t, &node))
        return;
    tui_slice s;
    tui_slice_of(a, t, &s);
    if ((int64_t)s.rows * s.cols > (1 << 20)) {
        say(a, true, "svg: a %dx%d slice is too large for a readable picture", s.rows, s.cols);
        return;
    }
    size_t cells = (size_t)s.rows * (size_t)s.cols;
    double *v = malloc(cells * sizeof *v);
    bool *mk = malloc(cells * sizeof *mk);
    char **rl = calloc((size_t)s.rows, sizeof *rl), **cl = calloc((size_t)s.cols, sizeof *cl);
    ls_error err = {0};
    int rc = v && mk && rl && cl ? LS_OK : LS_ERR_NOMEM;
    for (int i = 0; !rc && i < s.rows; i++)
        for (int j = 0; j < s.cols; j++) {
            v[(size_t)i * (size_t)s.cols + (size_t)j] = tui_slice_get(&s, i, j);
            mk[(size_t)i * (size_t)s.cols + (size_t)j] = tui_slice_masked(a, node, &s, i, j);
        }
    char buf[96];
    for (int i = 0; !rc && i < s.rows; i++)
        if (tui_axis_label(a, node, &s, 0, i, buf, sizeof buf))
            rl[i] = strdup(buf);
    for (int j = 0; !rc && j < s.cols; j++)
        if (tui_axis_label(a, node, &s, 1, j, buf, sizeof buf))
            cl[j] = strdup(buf);
    char title[640];
    char shape[64];
    snprintf(title, sizeof title, "%s %s batch %d head %d", ls_graph_node(tui_cur(a)->g, node)->name,
             ls_shape_str(t, shape, sizeof shape), s.batch, s.head);
    if (!rc)
        rc = ls_tui_svg_write(path, title, v, mk, s.rows, s.cols, (const char *const *)rl,
                              (const char *const *)cl, &err);
    if (rc)
        say(a, true, "svg: %s", err.msg[0] ? err.msg : "out of memory");
    else
        say(a, false, "wrote %s (%dx%d slice of %s)", path, s.rows, s.cols,
            ls_graph_node(tui_cur(a)->g, node)->name);
    for (int i = 0; rl && i < s.rows; i++)
        free(rl[i]);
    for (int j = 0; cl && j < s.cols; j++)
        free(cl[j]);
    free(rl);
    free(cl);
    free(v);
    free(mk);
}

/* ------------------------------------------------------------------ */
/* the command line and completion                                     */

static void complete(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    /* complete the word after the command on ':' lines, the whole line on 'g' */
    char *word = a->pbuf;
    if (a->prompt == PROMPT_COMMAND) {
        char *sp = strrchr(a->pbuf, ' ');
        if (!sp) {
            say(a, false, "commands: break delete goto set zero undo module main dump svg head batch view quit");
            return;
        }
        word = sp + 1;
    }
    size_t wl = strlen(word);
    int count = 0;
    char best[256] = "";
    char list[400] = "";
    size_t ll = 0;
    for (int pass = 0; pass < 2; pass++) {
        int n = pass == 0 ? r->n_nodes : r->n_mods;
        for (int i = 0; i < n; i++) {
            const char *name;
            if (pass == 0) {
                if (!node_is_point(r->g, i))
                    continue;
                name = ls_graph_node(r->g, i)->name;
            } else {
                name = ls_graph_module(r->g, i)->path;
                if (!name[0] || ls_graph_find(r->g, name) >= 0)
                    continue;
            }
            if (strncmp(name, word, wl))
                continue;
            if (count++ == 0) {
                snprintf(best, sizeof best, "%s", name);
            } else {
                size_t k = 0;
                while (best[k] && best[k] == name[k])
                    k++;
                best[k] = '\0';
            }
            if (ll < sizeof list - 1)
                ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s ", name + (wl > 0 ? 0 : 0));
        }
    }
    if (count == 0) {
        say(a, true, "no point or module starts with '%s'", word);
        return;
    }
    size_t room = sizeof a->pbuf - (size_t)(word - a->pbuf) - 1;
    snprintf(word, room + 1, "%s", best);
    a->plen = (int)strlen(a->pbuf);
    if (count == 1)
        say(a, false, "%s", "");
    else
        say(a, false, "%d matches: %s", count, list);
}

static void set_view_name(ls_tui *a, const char *v)
{
    if (!strcmp(v, "grid"))
        a->view = LS_VIEW_GRID;
    else if (!strncmp(v, "heat", 4))
        a->view = LS_VIEW_HEAT;
    else if (!strcmp(v, "stats"))
        a->view = LS_VIEW_STATS;
    else
        say(a, true, "view: grid, heat or stats");
}

unsigned ls_tui_command(ls_tui *a, const char *line)
{
    char cmd[64] = "";
    while (*line == ' ' || *line == ':')
        line++;
    size_t k = 0;
    while (line[k] && line[k] != ' ' && k < sizeof cmd - 1) {
        cmd[k] = line[k];
        k++;
    }
    cmd[k] = '\0';
    const char *arg = line + k;
    while (*arg == ' ')
        arg++;
    char argbuf[400];
    snprintf(argbuf, sizeof argbuf, "%s", arg);
    for (size_t n = strlen(argbuf); n > 0 && argbuf[n - 1] == ' ';)
        argbuf[--n] = '\0';
    arg = argbuf;
    if (!cmd[0])
        return LS_TUI_REDRAW;
    if (!strcmp(cmd, "q") || !strcmp(cmd, "quit"))
        return LS_TUI_QUIT | LS_TUI_REDRAW;
    if (!strcmp(cmd, "break") || !strcmp(cmd, "b")) {
        if (!*arg) {
            char list[400] = "";
            size_t l = 0;
            for (int i = 0; i < a->n_breaks && l < sizeof list; i++)
                l += (size_t)snprintf(list + l, sizeof list - l, "%s ", a->breaks[i]);
            say(a, false, "breakpoints: %s", a->n_breaks ? list : "none");
        } else if (break_add(a, arg) == LS_OK) {
            say(a, false, "breakpoint set: %s (c continues to it)", arg);
        }
    } else if (!strcmp(cmd, "delete") || !strcmp(cmd, "nobreak") || !strcmp(cmd, "d")) {
        if (break_remove(a, *arg ? arg : "*"))
            say(a, false, "breakpoint removed: %s", *arg ? arg : "all");
        else
            say(a, true, "no breakpoint '%s'", arg);
    } else if (!strcmp(cmd, "goto") || !strcmp(cmd, "g")) {
        go_to(a, arg);
    } else if (!strcmp(cmd, "set")) {
        edit_cursor(a, arg);
    } else if (!strcmp(cmd, "zero")) {
        zero_slice(a);
    } else if (!strcmp(cmd, "undo") || !strcmp(cmd, "u")) {
        undo(a);
    } else if (!strcmp(cmd, "module")) {
        module_run(a, arg);
    } else if (!strcmp(cmd, "main") || !strcmp(cmd, "back")) {
        module_back(a);
    } else if (!strcmp(cmd, "dump")) {
        dump_npy(a, arg);
    } else if (!strcmp(cmd, "svg")) {
        dump_svg(a, arg);
    } else if (!strcmp(cmd, "head") || !strcmp(cmd, "batch")) {
        int v = atoi(arg);
        if (v < 0)
            v = 0;
        if (cmd[0] == 'h')
            a->head = v;
        else
            a->batch = v;
        a->heat.valid = false;
    } else if (!strcmp(cmd, "view")) {
        set_view_name(a, arg);
    } else if (!strcmp(cmd, "help")) {
        a->help = true;
        a->help_top = 0;
    } else {
        say(a, true, "unknown command ':%s' (:help lists them)", cmd);
    }
    return LS_TUI_REDRAW;
}

static void lesson_answer(ls_tui *a, const char *typed);

static unsigned feed_prompt(ls_tui *a, int key)
{
    if (key == LS_KEY_ESC || key == LS_KEY_CTRL('c') || key == LS_KEY_CTRL('g')) {
        a->prompt = PROMPT_NONE;
        say(a, false, "%s", "");
        return LS_TUI_REDRAW;
    }
    if (key == LS_KEY_BACKSPACE || key == 8) {
        if (a->plen > 0)
            a->pbuf[--a->plen] = '\0';
        else
            a->prompt = PROMPT_NONE;
        return LS_TUI_REDRAW;
    }
    if (key == LS_KEY_TAB) {
        if (a->prompt != PROMPT_SET && a->prompt != PROMPT_ANSWER)
            complete(a);
        return LS_TUI_REDRAW;
    }
    if (key == LS_KEY_ENTER || key == '\r') {
        int kind = a->prompt;
        a->prompt = PROMPT_NONE;
        say(a, false, "%s", "");
        char line[256];
        snprintf(line, sizeof line, "%s", a->pbuf);
        if (kind == PROMPT_COMMAND)
            return ls_tui_command(a, line);
        if (kind == PROMPT_GOTO)
            go_to(a, line);
        else if (kind == PROMPT_SET)
            edit_cursor(a, line);
        else if (kind == PROMPT_ANSWER)
            lesson_answer(a, line);
        return LS_TUI_REDRAW;
    }
    if (key >= 32 && key < 127 && a->plen < (int)sizeof a->pbuf - 1) {
        a->pbuf[a->plen++] = (char)key;
        a->pbuf[a->plen] = '\0';
        return LS_TUI_REDRAW;
    }
    return 0;
}

static void open_prompt(ls_tui *a, int kind, const char *init)
{
    a->prompt = kind;
    snprintf(a->pbuf, sizeof a->pbuf, "%s", init);
    a->plen = (int)strlen(a->pbuf);
    say(a, false, "%s", "");
}

/* ------------------------------------------------------------------ */
/* moving                                                              */

static int page_rows(const ls_tui *a)
{
    int p = a->h - 8;
    return p < 1 ? 1 : p;
}

static void tree_move(ls_tui *a, tui_action act)
{
    tui_run *r = tui_cur(a);
    rows_update(r);
    if (r->n_rows == 0)
        return;
    int item = r->rows[r->sel_row];
    switch (act) {
    case ACT_UP: r->sel_row--; break;
    case ACT_DOWN: r->sel_row++; break;
    case ACT_PGUP: r->sel_row -= page_rows(a); break;
    case ACT_PGDN: r->sel_row += page_rows(a); break;
    case ACT_HOME: r->sel_row = 0; break;
    case ACT_END: r->sel_row = r->n_rows - 1; break;
    case ACT_RIGHT:
    case ACT_FOLD:
    case ACT_LEFT:
        if (item < 0 && (act == ACT_FOLD || (act == ACT_RIGHT) != (bool)r->expanded[-item - 1])) {
            int m = -item - 1;
            if (r->kid_start[m + 1] > r->kid_start[m] || r->expanded[m]) {
                r->expanded[m] = !r->expanded[m];
                r->rows_dirty = true;
                rows_update(r);
                break;
            }
        }
        if (act == ACT_LEFT) {
            /* to the parent module's row */
            int depth = r->row_depth[r->sel_row];
            for (int i = r->sel_row - 1; i >= 0; i--)
                if (r->row_depth[i] < depth) {
                    r->sel_row = i;
                    break;
                }
        }
        break;
    default: break;
    }
    if (r->sel_row >= r->n_rows)
        r->sel_row = r->n_rows - 1;
    if (r->sel_row < 0)
        r->sel_row = 0;
    if (r->rows[r->sel_row] != item) {
        a->heat.valid = false;
        a->grid_top = a->grid_left = 0;
    }
}

static void grid_move(ls_tui *a, tui_action act)
{
    int node = tui_selected_node(a);
    const ls_tensor *t = node >= 0 ? tui_out(tui_cur(a), node) : NULL;
    int rows = 1, cols = 1;
    if (t) {
        tui_slice s;
        tui_slice_of(a, t, &s);
        rows = s.rows;
        cols = s.cols;
    }
    switch (act) {
    case ACT_UP: a->row--; break;
    case ACT_DOWN: a->row++; break;
    case ACT_LEFT: a->col--; break;
    case ACT_RIGHT: a->col++; break;
    case ACT_PGUP: a->row -= page_rows(a); break;
    case ACT_PGDN: a->row += page_rows(a); break;
    case ACT_HOME: a->row = a->col = 0; break;
    case ACT_END: a->row = rows - 1; break;
    default: break;
    }
    if (a->row >= rows)
        a->row = rows - 1;
    if (a->col >= cols)
        a->col = cols - 1;
    if (a->row < 0)
        a->row = 0;
    if (a->col < 0)
        a->col = 0;
}

static void slice_step(ls_tui *a, bool head, int d)
{
    int node = tui_selected_node(a);
    const ls_tensor *t = node >= 0 ? tui_out(tui_cur(a), node) : NULL;
    if (!t) {
        say(a, false, "select a computed tensor to choose its %s", head ? "head" : "batch item");
        return;
    }
    tui_slice s;
    tui_slice_of(a, t, &s);
    int n = head ? s.n_head : s.n_batch;
    int *v = head ? &a->head : &a->batch;
    if (n <= 1) {
        say(a, false, "%s has no %s dimension", ls_graph_node(tui_cur(a)->g, node)->name,
            head ? "head" : "batch");
        return;
    }
    /* start from the clamped value so a stale index does not stall */
    *v = (head ? s.head : s.batch) + d;
    if (*v < 0)
        *v = 0;
    if (*v >= n)
        *v = n - 1;
    a->heat.valid = false;
    say(a, false, "%s %d of %d", head ? "head" : "batch item", *v, n);
}

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
        say(a, true, "lesson: no point '%s' here", act->point);
        return;
    }
    int64_t idx[1][LS_MAX_DIMS] = {{0}};
    memcpy(idx[0], act->index, sizeof act->index);
    edit_cells(a, node, idx, 1, act->value);
}

/* Gives runs[1] back and closes the run a step's "run" switch opened;
 * the main run's model labels the axes again. */
static void lesson_drop_run(ls_tui *a)
{
    if (!a->les.run)
        return;
    if (a->cur == 1 && a->runs[1].g == a->les.run->g) {
        run_free(&a->runs[1]);
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
        lesson_drop_run(a);
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
            say(a, true, "lesson: %s", lr ? err.msg : "out of memory");
            free(lr);
            return false;
        }
        lesson_drop_run(a);
        a->les.run = lr;
        a->les.run_start = start;
    }
    if (a->cur == 1)
        run_free(&a->runs[1]);  /* a module run of the user's own */
    tui_run nr;
    if (run_init(&nr, a->les.run->g, a->les.run->ex, false, &err)) {
        say(a, true, "lesson: %s", err.msg);
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
    rows_update(&a->runs[1]);
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

static void lesson_enter(ls_tui *a, int i)
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
        say(a, true, "lesson: no point '%s' in this model", s->point);
        return;
    }
    /* run far enough for the question too, then show the step's point */
    reach(a, need > node ? need : node);
    if (ls_graph_node(r->g, node)->op == LS_OP_CONST)
        select_node(r, node);  /* a weight: shown, the run stays where it is */
    else if (tui_computed(r, node)) {
        r->at = node;
        select_node(r, node);
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

static void lesson_answer(ls_tui *a, const char *typed)
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
static bool lesson_key(ls_tui *a, int key)
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
        open_prompt(a, PROMPT_ANSWER, "");
        return true;
    }
    if (a->les.step + 1 >= L->n_steps) {
        if (a->les.progress[0])
            ls_progress_set(a->les.progress, L->id, a->les.step, true, NULL);
        say(a, false, "%s", tr(a, "lesson finished: q quits, `layerstep lessons` lists the others",
                               "本课结束：按 q 退出，`layerstep lessons` 列出其他课程"));
        return true;
    }
    lesson_enter(a, a->les.step + 1);
    return true;
}

/* ------------------------------------------------------------------ */
/* the feed                                                            */

unsigned ls_tui_feed(ls_tui *a, int key)
{
    int w, h;
    if (ls_tui_key_is_sized(key, &w, &h)) {
        ls_tui_set_size(a, w, h);
        return LS_TUI_REDRAW;
    }
    if (key == LS_KEY_RESIZE)
        return LS_TUI_REDRAW;
    if (a->prompt)
        return feed_prompt(a, key);
    tui_action act = ls_tui_action_for(key);
    if (a->help) {
        if (act == ACT_DOWN || act == ACT_PGDN)
            a->help_top += act == ACT_DOWN ? 1 : page_rows(a);
        else if (act == ACT_UP || act == ACT_PGUP)
            a->help_top -= act == ACT_UP ? 1 : page_rows(a);
        else if (act == ACT_HOME)
            a->help_top = 0;
        else
            a->help = false;  /* any other key (?, q, Esc) closes help */
        if (a->help_top < 0)
            a->help_top = 0;
        return LS_TUI_REDRAW;
    }
    if (key == LS_KEY_ESC) {
        bool any = a->explain || a->attention || a->msg[0];
        a->explain = a->attention = false;
        a->msg[0] = '\0';
        return any ? LS_TUI_REDRAW : 0;
    }
    if (lesson_key(a, key))
        return LS_TUI_REDRAW;
    if (a->les.cover && act != ACT_QUIT && act != ACT_HELP) {
        a->les.cover = false;  /* any key lifts the classroom cover */
        return LS_TUI_REDRAW;
    }
    tui_run *r = tui_cur(a);
    int before_sel = tui_selected_node(a);
    a->msg[0] = '\0';  /* a message answers one key */
    a->msg_err = false;
    switch (act) {
    case ACT_NONE: {
        char kn[16];
        say(a, true, "key %s does nothing here (? lists the keys)", ls_tui_key_name(key, kn, sizeof kn));
        return LS_TUI_REDRAW;
    }
    case ACT_STEP_INTO: step_into(a); break;
    case ACT_STEP_OVER: step_over(a); break;
    case ACT_STEP_OUT: step_out(a); break;
    case ACT_CONTINUE: cont(a); break;
    case ACT_STEP_BACK: step_back(a); break;
    case ACT_RESTART: restart(a); break;
    case ACT_BREAK_TOGGLE: break_toggle(a); break;
    case ACT_GOTO: open_prompt(a, PROMPT_GOTO, ""); break;
    case ACT_COMMAND: open_prompt(a, PROMPT_COMMAND, ""); break;
    case ACT_EDIT: {
        int node = tui_selected_node(a);
        if (node < 0 || !tui_computed(r, node)) {
            say(a, true, "nothing to edit: select a computed tensor");
            break;
        }
        open_prompt(a, PROMPT_SET, "");
        break;
    }
    case ACT_ZERO_HEAD: zero_slice(a); break;
    case ACT_UNDO: undo(a); break;
    case ACT_MODULE_RUN: module_run(a, NULL); break;
    case ACT_UP:
    case ACT_DOWN:
    case ACT_LEFT:
    case ACT_RIGHT:
    case ACT_PGUP:
    case ACT_PGDN:
    case ACT_HOME:
    case ACT_END:
        if (a->focus == LS_FOCUS_TREE && !a->attention)
            tree_move(a, act);
        else
            grid_move(a, act);
        break;
    case ACT_FOLD:
        if (a->focus == LS_FOCUS_TREE)
            tree_move(a, act);
        break;
    case ACT_FOCUS:
        a->focus = a->focus == LS_FOCUS_TREE ? LS_FOCUS_TENSOR : LS_FOCUS_TREE;
        break;
    case ACT_HEAD_PREV: slice_step(a, true, -1); break;
    case ACT_HEAD_NEXT: slice_step(a, true, 1); break;
    case ACT_BATCH_PREV: slice_step(a, false, -1); break;
    case ACT_BATCH_NEXT: slice_step(a, false, 1); break;
    case ACT_VIEW_CYCLE:
        a->view = (ls_tui_view)((a->view + 1) % LS_VIEW_COUNT);
        break;
    case ACT_ATTENTION:
        if (!a->attention && tui_attention_module(a, tui_selected_node(a)) < 0)
            say(a, true, "no attention here: select a module with q, k, v, scores and attn points");
        else
            a->attention = !a->attention;
        break;
    case ACT_EXPLAIN: a->explain = !a->explain; break;
    case ACT_HELP:
        a->help = true;
        a->help_top = 0;
        break;
    case ACT_REDRAW: break;
    case ACT_QUIT: return LS_TUI_QUIT | LS_TUI_REDRAW;
    case ACT_COUNT: break;
    }
    if (tui_selected_node(a) != before_sel) {
        a->heat.valid = false;
        a->grid_top = a->grid_left = 0;
        grid_move(a, ACT_NONE);
    }
    return LS_TUI_REDRAW;
}

/* ------------------------------------------------------------------ */
/* life cycle and the frame                                            */

int ls_tui_new(ls_graph *g, ls_exec *ex, const ls_tui_opts *o, ls_tui **out, ls_error *err)
{
    *out = NULL;
    ls_tui *a = calloc(1, sizeof *a);
    if (!a)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory starting the debugger");
    int rc = run_init(&a->runs[0], g, ex, false, err);
    if (rc) {
        free(a);
        return rc;
    }
    a->w = 80;
    a->h = 24;
    a->view = LS_VIEW_GRID;
    if (o) {
        a->model = o->model;
        a->inputs = o->inputs;
        a->seed = o->seed;
        a->exec_opts = o->exec;
        for (int i = 0; i < o->n_breaks; i++)
            if (break_add(a, o->breaks[i])) {
                ls_tui_free(a);
                return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
            }
        if (o->title)
            snprintf(a->title, sizeof a->title, "%s", o->title);
    }
    a->arch = a->model ? ls_model_arch(a->model) : NULL;
    if (!a->title[0] && a->model)
        snprintf(a->title, sizeof a->title, "%s (%s)", ls_model_dir(a->model),
                 ls_model_weights_note(a->model));
    rows_update(&a->runs[0]);
    say(a, false, "s step into, n over, o out, c continue, ? help");
    if (o && o->lesson) {
        a->les.lesson = o->lesson;
        a->les.lang = o->lang;
        a->les.classroom = o->classroom;
        if (o->progress)
            snprintf(a->les.progress, sizeof a->les.progress, "%s", o->progress);
        if (o->data_dir)
            snprintf(a->les.data_dir, sizeof a->les.data_dir, "%s", o->data_dir);
        a->les.model0 = a->model;
        a->les.inputs0 = a->inputs;
        if (!o->title)
            snprintf(a->title, sizeof a->title, "%s", ls_ltext_get(&o->lesson->title, o->lang));
        a->msg[0] = '\0';
        lesson_enter(a, o->lesson_step);
    }
    *out = a;
    return LS_OK;
}

void ls_tui_free(ls_tui *a)
{
    if (!a)
        return;
    run_free(&a->runs[1]);
    lesson_drop_run(a);
    run_free(&a->runs[0]);
    for (int i = 0; i < a->n_breaks; i++)
        free(a->breaks[i]);
    free(a->breaks);
    free(a);
}

void ls_tui_set_size(ls_tui *a, int w, int h)
{
    a->w = w;
    a->h = h;
}

bool ls_tui_idle(ls_tui *a)
{
    tui_run *r = tui_cur(a);
    /* one plain-loop node can take seconds (the article Conformer's 3x3
     * conv), and a key would wait for all of it */
    if (a->exec_opts.reference || r->ahead_failed || ls_exec_done(r->ex))
        return false;
    ls_error err = {0};
    if (ls_exec_step(r->ex, &err)) {
        /* not shown: the step that reaches this node runs it again and
         * reports the error where the user is looking */
        r->ahead_failed = true;
        return false;
    }
    return !ls_exec_done(r->ex);
}

const ls_graph *ls_tui_graph(const ls_tui *a) { return tui_ccur(a)->g; }
const ls_exec *ls_tui_exec(const ls_tui *a) { return tui_ccur(a)->ex; }

void ls_tui_get_state(const ls_tui *a, ls_tui_state *st)
{
    const tui_run *r = tui_ccur(a);
    memset(st, 0, sizeof *st);
    st->at = r->at;
    st->selected = tui_selected_node(a);
    st->selected_module = tui_selected_module(a);
    st->cursor = r->front;
    st->batch = a->batch;
    st->head = a->head;
    st->row = a->row;
    st->col = a->col;
    st->view = a->view;
    st->focus = a->focus;
    st->help = a->help;
    st->explain = a->explain;
    st->attention = a->attention;
    st->prompt = a->prompt != PROMPT_NONE;
    st->in_module_run = a->cur == 1;
    st->n_breaks = a->n_breaks;
    st->n_edits = r->n_edits;
    st->lesson_step = a->les.lesson ? a->les.step : -1;
    st->answer = a->les.answer;
    st->w = a->w;
    st->h = a->h;
    st->message = a->msg;
    st->message_is_error = a->msg_err;
}

static void draw_status(ls_tui *a, ls_canvas *c, int y)
{
    tui_run *r = tui_cur(a);
    ls_canvas_fill(c, y, 0, c->w, ' ', LS_STY_STATUS);
    char shape[64] = "";
    const char *name = "(start: nothing run yet)";
    if (r->at >= 0) {
        name = ls_graph_node(r->g, r->at)->name;
        ls_shape_str(&ls_graph_node(r->g, r->at)->out, shape, sizeof shape);
    }
    int x = ls_canvas_printf(c, y, 0, c->w, LS_STY_STATUS, " at %s %s  [%d/%d]", name, shape,
                             r->front, r->n_nodes);
    static const char *const hints[] = {
        "s/n/o/c step  p back  g goto  b break  v view  a attn  e shape  ? help  q quit ",
        "s n o c p g b v a e  ? help  q quit ",
        "? help  q quit ",
    };
    /* in a lesson n walks the lesson, so step over moves to N */
    static const char *const lesson_hints[] = {
        "n/Enter next  s step  N over  p back  a attn  u undo  ? help  q quit ",
        "n next  s N p a u  ? help  q quit ",
        "n next  ? help  q quit ",
    };
    const char *const *hl_set = a->les.lesson ? lesson_hints : hints;
    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++) {
        int hl = (int)strlen(hl_set[i]);
        if (x + 2 + hl <= c->w) {
            ls_canvas_printf(c, y, c->w - hl, hl, LS_STY_STATUS, "%s", hl_set[i]);
            break;
        }
    }
}

static void draw_bottom(ls_tui *a, ls_canvas *c, int y)
{
    ls_canvas_fill(c, y, 0, c->w, ' ', LS_STY_NORMAL);
    if (a->prompt) {
        const char *lead = a->prompt == PROMPT_COMMAND ? ":" : a->prompt == PROMPT_GOTO ? "goto: "
                         : a->prompt == PROMPT_ANSWER ? "answer> " : "set = ";
        /* keep the end of a long line (where the typing happens) visible */
        int lw = (int)strlen(lead);
        const char *text = a->pbuf;
        if (lw + a->plen + 1 > c->w)
            text += lw + a->plen + 1 - c->w;
        int x = ls_canvas_printf(c, y, 0, c->w, LS_STY_NORMAL, "%s%s", lead, text);
        ls_canvas_fill(c, y, x, 1, ' ', LS_STY_SELECT);
        if (a->msg[0] && y > 0)
            ls_canvas_printf(c, y - 1, 0, c->w, a->msg_err ? LS_STY_WARN : LS_STY_STATUS, "%s", a->msg);
        return;
    }
    ls_canvas_printf(c, y, 0, c->w, a->msg_err ? LS_STY_WARN : LS_STY_NORMAL, "%s", a->msg);
}

void ls_tui_draw(ls_tui *a, ls_canvas *c)
{
    a->w = c->w;
    a->h = c->h;
    for (int y = 0; y < c->h; y++)
        ls_canvas_fill(c, y, 0, c->w, ' ', LS_STY_NORMAL);
    if (c->w < LS_TUI_MIN_W || c->h < LS_TUI_MIN_H) {
        /* never draw a squashed layout: say what is needed instead */
        int y = c->h / 2 - 1;
        ls_canvas_printf(c, y < 0 ? 0 : y, 0, c->w, LS_STY_WARN, "terminal too small");
        ls_canvas_printf(c, y + 1, 0, c->w, LS_STY_NORMAL, "%dx%d, need %dx%d", c->w, c->h,
                         LS_TUI_MIN_W, LS_TUI_MIN_H);
        ls_canvas_printf(c, y + 2, 0, c->w, LS_STY_DIM, "resize or q to quit");
        return;
    }
    tui_run *r = tui_cur(a);
    rows_update(r);
    ls_canvas_fill(c, 0, 0, c->w, ' ', LS_STY_TITLE);
    /* which run is shown goes before the (long) title, so 80 columns keep it */
    char which[1200] = "";
    if (a->cur == 1 && a->les.run && r->g == a->les.run->g && !a->les.run->module[0]) {
        const char *dir = a->les.run->model_dir, *slash = strrchr(dir, '/');
        snprintf(which, sizeof which, "[run: %s] ", slash && slash[1] ? slash + 1 : dir);
    } else if (a->cur == 1 && a->les.run && r->g == a->les.run->g && a->les.run->random) {
        snprintf(which, sizeof which, "[module run: %s, random inputs, seed %llu] ",
                 a->les.run->module, (unsigned long long)a->les.run->seed);
    } else if (a->cur == 1 && a->les.run && r->g == a->les.run->g) {
        snprintf(which, sizeof which, "[module run: %s, the model's own inputs] ", a->les.run->module);
    } else if (a->cur == 1) {
        snprintf(which, sizeof which, "[module run: %s, :main goes back] ",
                 ls_graph_module(r->g, r->n_mods > 1 ? 1 : 0)->path);
    }
    ls_canvas_printf(c, 0, 0, c->w, LS_STY_TITLE, " layerstep  %s%s", which, a->title);
    int top = 1, bottom = c->h - 2, ph = bottom - top;
    if (a->les.lesson && !a->help && a->les.cover) {
        ls_pane_lesson_draw(a, c, top, 0, ph, c->w);
        draw_status(a, c, c->h - 2);
        draw_bottom(a, c, c->h - 1);
        return;
    }
    if (a->les.lesson && !a->help) {
        /* the narration takes the bottom of the pane area, the panes keep the rest */
        int lh = ls_pane_lesson_rows(a, c->w);
        if (lh > ph - 6)
            lh = ph - 6;
        ls_pane_lesson_draw(a, c, bottom - lh, 0, lh, c->w);
        bottom -= lh;
        ph -= lh;
    }
    if (a->help) {
        ls_pane_help_draw(a, c, top, 0, ph, c->w);
    } else if (a->attention) {
        ls_pane_attn_draw(a, c, top, 0, ph, c->w);
    } else {
        int tw = c->w * 2 / 5;
        tw = tw < 24 ? 24 : tw > 60 ? 60 : tw;
        ls_pane_tree_draw(a, c, top, 0, ph, tw);
        ls_pane_tensor_draw(a, c, top, tw + 1, ph, c->w - tw - 1);
        for (int y = top; y < bottom; y++)
            ls_canvas_fill(c, y, tw, 1, '|', LS_STY_DIM);
        if (a->explain) {
            int eh = ph / 2 < 10 ? (ph < 10 ? ph : 10) : ph / 2;
            ls_pane_explain_draw(a, c, bottom - eh, 0, eh, c->w);
        }
    }
    draw_status(a, c, c->h - 2);
    draw_bottom(a, c, c->h - 1);
}
