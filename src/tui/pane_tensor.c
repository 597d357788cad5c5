/* The tensor pane: what the selected point is (name, op, shape, stats
 * over the whole tensor), then one 2-D slice as numbers, a heatmap, or
 * statistics; `e` overlays how the shape came about. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layerstep/lesson.h"
#include "tui_internal.h"

#define CELL_W 8

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void fmt_value(const ls_tensor *t, double v, char *buf, size_t n)
{
    if (t->dtype == LS_BOOL)
        snprintf(buf, n, "%s", v != 0 ? "True" : "False");
    else if (t->dtype == LS_I64)
        snprintf(buf, n, "%lld", (long long)v);
    else if (isnan(v))
        snprintf(buf, n, "nan");
    else if (isinf(v))
        snprintf(buf, n, "%sinf", v < 0 ? "-" : "");
    else {
        /* at most CELL_W - 1 characters, so five columns fit at 80x24 */
        static const char *const fmts[] = {"%.4g", "%.3g", "%.2g", "%.0e"};
        for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++)
            if (snprintf(buf, n, fmts[i], v) <= CELL_W - 1)
                break;
    }
}
#pragma GCC diagnostic pop

/* "[2,5,32]": the compact form of the explain line ("[?,?,?]" while a
 * question asks for it) */
static void compact_shape(const ls_tui *a, const ls_tensor *t, char *buf, size_t n)
{
    bool hide = tui_quiz_hides_shape(a, t);
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->ndim && k < n; d++)
        k += hide ? (size_t)snprintf(buf + k, n - k, "%s?", d ? "," : "")
                  : (size_t)snprintf(buf + k, n - k, "%s%lld", d ? "," : "", (long long)t->shape[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

static void op_label(const ls_node *nd, bool compact, char *buf, size_t n)
{
    char ps[128] = "";
    if (nd->op == LS_OP_TRANSPOSE && compact)
        snprintf(ps, sizeof ps, "%lld,%lld", (long long)nd->p.i[0], (long long)nd->p.i[1]);
    else if (!compact || nd->op == LS_OP_SCALE || nd->op == LS_OP_DIV_SCALAR)
        ls_op_params_str(nd->op, &nd->p, nd->n_in, ps, sizeof ps);
    const char *name = nd->op == LS_OP_RESHAPE && compact ? "view" : ls_op_name(nd->op);
    if (ps[0])
        snprintf(buf, n, "%s(%s)", name, ps);
    else
        snprintf(buf, n, "%s", name);
}

/* Name of an extra input, following hidden views to a named tensor:
 * "transpose of k". */
static void input_name(const ls_graph *g, int i, char *buf, size_t n)
{
    const ls_node *nd = ls_graph_node(g, i);
    if (!(nd->flags & LS_NODE_HIDDEN)) {
        snprintf(buf, n, "%s", nd->point[0] ? nd->point : nd->name);
        return;
    }
    if (nd->n_in > 0) {
        const ls_node *src = ls_graph_node(g, nd->in[0]);
        snprintf(buf, n, "%s of %s", ls_op_name(nd->op), src->point[0] ? src->point : src->name);
        return;
    }
    snprintf(buf, n, "%s", ls_op_name(nd->op));
}

/* Walks back from node through hidden nodes and views to the first
 * named op that made the data, so `q` reads
 *   [2,5,32] -linear-> [2,5,32] -view-> [2,5,4,8] -transpose(1,2)-> [2,4,5,8] */
int ls_tui_explain_lines(const ls_tui *a, int node, char lines[][320], int max_lines)
{
    const ls_graph *g = tui_ccur(a)->g;
    int chain[16], nc = 0;
    int cur = node;
    chain[nc++] = cur;
    while (nc < 15) {
        const ls_node *nd = ls_graph_node(g, cur);
        if (nd->n_in < 1)
            break;
        bool named = !(nd->flags & LS_NODE_HIDDEN);
        if (cur != node && named && ls_op_kind_of(nd->op) == LS_KIND_COMPUTE) {
            chain[nc++] = nd->in[0];
            break;
        }
        cur = nd->in[0];
        chain[nc++] = cur;
        if (ls_op_kind_of(ls_graph_node(g, cur)->op) == LS_KIND_LEAF)
            break;
    }
    int k = 0;
    char sh[64], op[192], extra[128];
    if (k < max_lines)
        snprintf(lines[k++], 320, tui_s(a, S_X_HOW), ls_graph_node(g, node)->name);
    int compact_line = k < max_lines ? k++ : -1;
    if (k < max_lines)
        snprintf(lines[k++], 320, "%s", "");
    char compact[1024] = "";
    size_t cl = 0;
    for (int i = nc - 1; i >= 0; i--) {
        const ls_node *nd = ls_graph_node(g, chain[i]);
        tui_shape_text(a, &nd->out, sh, sizeof sh);
        const char *nm = nd->flags & LS_NODE_HIDDEN ? "" : nd->name;
        if (i == nc - 1) {
            if (k < max_lines)
                snprintf(lines[k++], 320, "  %-14.60s %.200s", sh, nm);
            compact_shape(a, &nd->out, sh, sizeof sh);
            cl += (size_t)snprintf(compact + cl, sizeof compact - cl, "%s", sh);
            continue;
        }
        op_label(nd, false, op, sizeof op);
        if (tui_quiz_hides_shape(a, &nd->out))  /* view(shape=[...]) would say it */
            snprintf(op, sizeof op, "%s", ls_op_name(nd->op));
        extra[0] = '\0';
        if (nd->n_in > 1) {
            char in[96];
            input_name(g, nd->in[1], in, sizeof in);
            snprintf(extra, sizeof extra, tui_s(a, S_X_WITH), in);
        }
        if (k < max_lines)
            snprintf(lines[k++], 320, "  -%.120s%.60s-> %.60s %.60s", op, extra, sh, nm);
        if (nd->op == LS_OP_ALIAS)
            continue;  /* a new name, not a new shape */
        op_label(nd, true, op, sizeof op);
        if (tui_quiz_hides_shape(a, &nd->out) && nd->op != LS_OP_TRANSPOSE)
            snprintf(op, sizeof op, "%s", nd->op == LS_OP_RESHAPE ? "view" : ls_op_name(nd->op));
        compact_shape(a, &nd->out, sh, sizeof sh);
        if (cl < sizeof compact)
            cl += (size_t)snprintf(compact + cl, sizeof compact - cl, " -%s-> %s", op, sh);
    }
    /* the one-line form first: it is the answer, the steps are the proof */
    if (compact_line >= 0)
        snprintf(lines[compact_line], 320, "%.319s", compact);
    return k;
}

/* Lines wrapped at blanks to the pane width, continuations indented. */
void ls_pane_explain_draw(ls_tui *a, ls_canvas *c, int y, int x, int h, int w)
{
    int node = tui_selected_node(a);
    if (node < 0)
        return;
    char lines[24][320];
    int n = ls_tui_explain_lines(a, node, lines, 24);
    ls_canvas_fill(c, y, x, w, '-', LS_STY_TITLE);
    ls_canvas_printf(c, y, x + 1, w - 2, LS_STY_TITLE, "%s", tui_s(a, S_X_TITLE));
    int row = 1, width = w - 2;
    if (width < 10)
        return;
    for (int i = 0; i < n && row < h; i++) {
        const char *p = lines[i];
        bool first = true;
        do {
            int indent = first ? 0 : 4;
            int room = width - indent;
            int len = (int)strlen(p);
            int take = len;
            if (len > room) {
                take = room;
                while (take > room / 3 && p[take] != ' ')
                    take--;
                if (take <= room / 3)
                    take = room;
            }
            ls_canvas_fill(c, y + row, x, w, ' ', LS_STY_NORMAL);
            ls_canvas_printf(c, y + row, x + 1 + indent, take, i == 0 ? LS_STY_TITLE : LS_STY_NORMAL,
                             "%s", p);
            row++;
            p += take;
            while (*p == ' ')
                p++;
            first = false;
        } while (*p && row < h);
    }
}

static void keep_visible(int cur, int *top, int visible)
{
    if (visible < 1)
        visible = 1;
    if (cur < *top)
        *top = cur;
    if (cur >= *top + visible)
        *top = cur - visible + 1;
    if (*top < 0)
        *top = 0;
}

static int label_width(ls_tui *a, int node, const tui_slice *s, int axis, int n, int cap)
{
    int w = 0;
    char buf[64];
    for (int i = 0; i < n && i < 512; i++) {
        const char *l = tui_axis_label(a, node, s, axis, i, buf, sizeof buf);
        int k = l ? (int)strlen(l) : 0;
        if (k > w)
            w = k;
    }
    char num[32];
    int nw = snprintf(num, sizeof num, "%d", n - 1);
    if (w < nw)
        w = nw;
    return w > cap ? cap : w;
}

static void draw_grid(ls_tui *a, ls_canvas *c, int node, const tui_slice *s, int y, int x, int h,
                      int w)
{
    int lw = label_width(a, node, s, 0, s->rows, 12);
    int vis_cols = (w - lw - 1) / CELL_W, vis_rows = h - 1;
    if (vis_cols < 1 || vis_rows < 1)
        return;
    keep_visible(a->row, &a->grid_top, vis_rows);
    keep_visible(a->col, &a->grid_left, vis_cols);
    char buf[64];
    for (int j = 0; j < vis_cols && a->grid_left + j < s->cols; j++) {
        int cj = a->grid_left + j;
        const char *l = tui_axis_label(a, node, s, 1, cj, buf, sizeof buf);
        char num[16];
        snprintf(num, sizeof num, "%d", cj);
        /* cut by display width, never inside a character ("0:0ms ·"
         * is 7 columns but 8 bytes) */
        const char *t = l ? l : num;
        int n = (int)strlen(t), k = 0, wd = 0;
        while (k < n) {
            uint32_t cp;
            int step = ls_utf8_decode(t + k, n - k, &cp), cw = ls_char_width(cp);
            if (step <= 0 || wd + cw > CELL_W - 1)
                break;
            k += step;
            wd += cw;
        }
        ls_canvas_printf(c, y, x + lw + 1 + j * CELL_W, CELL_W, LS_STY_TITLE, "%*s%.*s", CELL_W - 1 - wd, "",
                         k, t);
    }
    for (int i = 0; i < vis_rows && a->grid_top + i < s->rows; i++) {
        int ri = a->grid_top + i;
        const char *l = tui_axis_label(a, node, s, 0, ri, buf, sizeof buf);
        char num[16];
        snprintf(num, sizeof num, "%d", ri);
        ls_canvas_printf(c, y + 1 + i, x, lw, LS_STY_TITLE, "%*.*s", lw, lw, l ? l : num);
        for (int j = 0; j < vis_cols && a->grid_left + j < s->cols; j++) {
            int cj = a->grid_left + j;
            double v = tui_slice_get(s, ri, cj);
            bool masked = tui_slice_masked(a, node, s, ri, cj);
            bool cur = a->focus == LS_FOCUS_TENSOR && ri == a->row && cj == a->col;
            char val[32];
            fmt_value(s->t, v, val, sizeof val);
            /* token ids read as their words ("beer", not 4) */
            char word[64];
            if (s->t->dtype == LS_I64 && a->model && a->arch && a->arch->id_word &&
                a->arch->id_word(a->model, ls_graph_node(tui_ccur(a)->g, node)->name, (int64_t)v, word,
                                 sizeof word))
                snprintf(val, sizeof val, "%.*s", CELL_W - 1, word);
            int style = cur ? LS_STY_SELECT : masked ? LS_STY_MASKED
                                            : !isfinite(v) ? LS_STY_WARN
                                                           : LS_STY_NORMAL;
            /* a masked cell keeps its number (the teacher wants to see
             * -1e9 in the grid) but is drawn as masked */
            ls_canvas_printf(c, y + 1 + i, x + lw + 1 + j * CELL_W, CELL_W, style, "%*s ",
                             CELL_W - 1, val);
        }
    }
}

static void draw_heat(ls_tui *a, ls_canvas *c, int node, const tui_slice *s, int y, int x, int h,
                      int w)
{
    double lo, hi;
    tui_heat_range(a, node, s, &lo, &hi);
    int lw = label_width(a, node, s, 0, s->rows, 12);
    int vis_cols = (w - lw - 3) / 2, vis_rows = h - 3;
    if (vis_cols < 1 || vis_rows < 1)
        return;
    keep_visible(a->row, &a->grid_top, vis_rows);
    keep_visible(a->col, &a->grid_left, vis_cols);
    /* legend first: a heatmap without its scale is a picture, not data */
    int lx = ls_canvas_printf(c, y, x, w, LS_STY_NORMAL, "%.4g [", lo);
    for (int k = 0; k < 10 && lx < w; k++, lx++)
        ls_canvas_printf(c, y, x + lx, 1, c->colour ? LS_STY_HEAT0 + k : LS_STY_NORMAL, "%c",
                         LS_TUI_RAMP[k]);
    lx += ls_canvas_printf(c, y, x + lx, w - lx, LS_STY_NORMAL, "] %.4g  ", hi);
    lx += ls_canvas_printf(c, y, x + lx, w - lx, LS_STY_MASKED, "XX");
    ls_canvas_printf(c, y, x + lx, w - lx, LS_STY_NORMAL, "%s", tui_s(a, S_T_HEAT_MASKED));
    /* column numbers every k-th column, where k leaves room for the widest
     * ("0 2 4 ... 10" not "91011") */
    char num[16];
    int wmax = snprintf(num, sizeof num, "%d", s->cols - 1), k = 1;
    while (k * 2 < wmax + 1)
        k = k == 1 ? 2 : k == 2 ? 5 : k * 2;
    for (int j = 0; j < vis_cols && a->grid_left + j < s->cols; j++) {
        int col = a->grid_left + j, len = snprintf(num, sizeof num, "%d", col);
        if (col % k == 0 && j * 2 + len <= vis_cols * 2)
            ls_canvas_printf(c, y + 1, x + lw + 1 + j * 2, len, LS_STY_TITLE, "%s", num);
    }
    char buf[64];
    for (int i = 0; i < vis_rows && a->grid_top + i < s->rows; i++) {
        int ri = a->grid_top + i;
        const char *l = tui_axis_label(a, node, s, 0, ri, buf, sizeof buf);
        char num[16];
        snprintf(num, sizeof num, "%d", ri);
        ls_canvas_printf(c, y + 2 + i, x, lw, LS_STY_TITLE, "%*.*s", lw, lw, l ? l : num);
        bool all_masked = s->cols > 0;
        for (int j = 0; j < s->cols && all_masked; j++)
            all_masked = tui_slice_masked(a, node, s, ri, j);
        for (int j = 0; j < vis_cols && a->grid_left + j < s->cols; j++) {
            int cj = a->grid_left + j;
            double v = tui_slice_get(s, ri, cj);
            bool cur = a->focus == LS_FOCUS_TENSOR && ri == a->row && cj == a->col;
            char cell[3] = "XX";
            int style = LS_STY_MASKED;
            if (!tui_slice_masked(a, node, s, ri, cj)) {
                if (s->t->dtype == LS_BOOL) {
                    /* False is "nothing here", not the middle of a ramp */
                    cell[0] = cell[1] = v != 0 ? '#' : '.';
                    style = LS_STY_DIM;
                } else if (!isfinite(v)) {
                    cell[0] = cell[1] = '!';
                    style = LS_STY_WARN;
                } else {
                    int lev = ls_tui_heat_level(v, lo, hi);
                    cell[0] = cell[1] = LS_TUI_RAMP[lev];
                    style = LS_STY_HEAT0 + lev;
                }
            }
            ls_canvas_printf(c, y + 2 + i, x + lw + 1 + cj * 2 - a->grid_left * 2, 2,
                             cur ? LS_STY_SELECT : style, "%s", cell);
        }
        if (all_masked)
            ls_canvas_printf(c, y + 2 + i, x + lw + 1 + vis_cols * 2 + 1, 1, LS_STY_WARN, "!");
    }
    /* the cursor cell in numbers, so the picture can be read exactly */
    if (h >= 4 && s->rows > 0) {
        int r = a->row < s->rows ? a->row : s->rows - 1, cc = a->col < s->cols ? a->col : s->cols - 1;
        char val[32];
        fmt_value(s->t, tui_slice_get(s, r, cc), val, sizeof val);
        char rl[64], cl2[64];
        const char *rlab = tui_axis_label(a, node, s, 0, r, rl, sizeof rl);
        const char *clab = tui_axis_label(a, node, s, 1, cc, cl2, sizeof cl2);
        int yy = y + 2 + (s->rows - a->grid_top < vis_rows ? s->rows - a->grid_top : vis_rows);
        if (yy < y + h)
            ls_canvas_printf(c, yy, x, w, LS_STY_DIM, "[%d%s%s%s, %d%s%s%s] = %s%s", r,
                             rlab ? " '" : "", rlab ? rlab : "", rlab ? "'" : "", cc,
                             clab ? " '" : "", clab ? clab : "", clab ? "'" : "", val,
                             tui_slice_masked(a, node, s, r, cc) ? tui_s(a, S_T_CELL_MASKED) : "");
    }
}

static void draw_stats(ls_tui *a, ls_canvas *c, int node, const tui_slice *s, int y, int x, int h,
                       int w)
{
    const ls_stats *st = tui_stats(a, node);
    const ls_tensor *t = s->t;
    int k = 0;
    char strides[96] = "";
    size_t sl = 0;
    for (int d = 0; d < t->ndim; d++)
        sl += (size_t)snprintf(strides + sl, sizeof strides - sl, "%s%lld", d ? ", " : "",
                               (long long)t->stride[d]);
    const tui_run *r = tui_ccur(a);
    int stor = ls_exec_storage_node(r->ex, node);
    if (k < h)
        ls_canvas_printf(c, y + k++, x, w, LS_STY_NORMAL, tui_s(a, S_T_ELEMENTS),
                         (long long)ls_tensor_numel(t), strides,
                         tui_s(a, ls_tensor_is_contiguous(t) ? S_T_CONTIGUOUS : S_T_STRIDED));
    if (stor != node && k < h)
        ls_canvas_printf(c, y + k++, x, w, LS_STY_NORMAL, tui_s(a, S_T_SHARES),
                         ls_graph_node(r->g, stor)->name);
    if (st && k < h)
        ls_canvas_printf(c, y + k++, x, w, LS_STY_NORMAL,
                         tui_s(a, S_T_WHOLE), st->min, st->max,
                         st->mean, st->std);
    if (st && k < h)
        ls_canvas_printf(c, y + k++, x, w, st->nan || st->inf ? LS_STY_WARN : LS_STY_NORMAL,
                         tui_s(a, S_T_FINITE), (long long)st->count,
                         (long long)st->nan, (long long)st->inf);
    double mn = INFINITY, mx = -INFINITY, sum = 0;
    int64_t cnt = 0, masked = 0;
    int dead_rows = 0;
    for (int i = 0; i < s->rows; i++) {
        int row_masked = 0;
        for (int j = 0; j < s->cols; j++) {
            if (tui_slice_masked(a, node, s, i, j)) {
                masked++;
                row_masked++;
                continue;
            }
            double v = tui_slice_get(s, i, j);
            if (!isfinite(v))
                continue;
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            sum += v;
            cnt++;
        }
        if (s->cols > 0 && row_masked == s->cols)
            dead_rows++;
    }
    if (k < h)
        ls_canvas_printf(c, y + k++, x, w, LS_STY_NORMAL, tui_s(a, S_T_THIS_SLICE),
                         s->rows, s->cols, cnt ? mn : 0, cnt ? mx : 0, cnt ? sum / (double)cnt : 0);
    if (k < h)
        ls_canvas_printf(c, y + k++, x, w, dead_rows ? LS_STY_WARN : LS_STY_NORMAL,
                         tui_s(a, S_T_MASKED_CELLS), (long long)masked, dead_rows);
    if (t->ndim >= 2 && k < h && !strcmp(ls_graph_node(r->g, node)->point, "attn")) {
        /* softmax rows should sum to 1: the first check a learner makes */
        double worst = 0;
        for (int i = 0; i < s->rows; i++) {
            double rs = 0;
            for (int j = 0; j < s->cols; j++)
                rs += tui_slice_get(s, i, j);
            if (fabs(rs - 1) > worst)
                worst = fabs(rs - 1);
        }
        ls_canvas_printf(c, y + k++, x, w, LS_STY_NORMAL, tui_s(a, S_T_ROWS_SUM), worst);
    }
}

void ls_pane_tensor_draw(ls_tui *a, ls_canvas *c, int y, int x, int h, int w)
{
    tui_run *r = tui_cur(a);
    int tstyle = a->focus == LS_FOCUS_TENSOR ? LS_STY_TITLE : LS_STY_DIM;
    static const tui_str views[] = {S_T_VIEW_GRID, S_T_VIEW_HEAT, S_T_VIEW_STATS};
    ls_canvas_fill(c, y, x, w, ' ', tstyle);
    const int title_w =
        ls_canvas_printf(c, y, x, w, tstyle, tui_s(a, S_T_TITLE), tui_s(a, views[a->view]));
    int node = tui_selected_node(a);
    if (node < 0) {
        int m = tui_selected_module(a);
        ls_canvas_printf(c, y + 2, x + 1, w - 1, LS_STY_DIM, "%s",
                         tui_s(a, m >= 0 ? S_T_NO_OUTPUT : S_T_NOTHING_SELECTED));
        if (m >= 0)
            ls_canvas_printf(c, y + 3, x + 1, w - 1, LS_STY_DIM, "%s", tui_s(a, S_T_UNFOLD));
        return;
    }
    const ls_node *nd = ls_graph_node(r->g, node);
    char shape[96], op[192];
    tui_shape_text(a, &nd->out, shape, sizeof shape);
    op_label(nd, false, op, sizeof op);
    if (tui_quiz_hides_shape(a, &nd->out))  /* reshape(shape=[...]) would say it */
        snprintf(op, sizeof op, "%s", ls_op_name(nd->op));
    const int name_w = ls_canvas_printf(c, y + 1, x + 1, w - 1, LS_STY_CURRENT, "%s", nd->name);
    const ls_tensor *t = tui_out(r, node);
    bool edited = t && ls_exec_is_pinned(r->ex, node);
    /* shape first: it is what a learner looks at first */
    int lx = ls_canvas_printf(c, y + 2, x + 1, w - 1, LS_STY_NORMAL, "%s %s  ",
                              ls_dtype_name(nd->out.dtype), shape);
    lx += ls_canvas_printf(c, y + 2, x + 1 + lx, w - 1 - lx,
                           edited ? LS_STY_EDITED : t ? LS_STY_NORMAL : LS_STY_DIM, "%s",
                           tui_s(a, edited ? S_T_EDITED : t ? S_T_COMPUTED : S_T_PENDING));
    ls_canvas_printf(c, y + 2, x + 1 + lx, w - 1 - lx, LS_STY_DIM, "  %s", op);
    if (!t) {
        ls_canvas_printf(c, y + 4, x + 1, w - 1, LS_STY_DIM, "%s", tui_s(a, S_T_NOT_YET));
        return;
    }
    if (tui_quiz_hides_values(a, node)) {
        /* its numbers would answer the open question (their rows and
         * columns count its dims; a mask shows its cells) */
        ls_canvas_printf(c, y + 4, x + 1, w - 1, LS_STY_DIM, "%s", tui_s(a, S_T_ANSWER_FIRST));
        return;
    }
    const ls_stats *st = tui_stats(a, node);
    /* min/max/mean/std and the NaN/Inf counts on one line, counts that
     * are not zero first; when even the shortest form does not leave room
     * (80 columns), zero counts move to the end of the name line or the
     * pane's title line, and in a pane too narrow for those they go first
     * with the rest clipped (the stats view, v, has them all) */
    const bool bad = st->nan || st->inf;
    char mm[160], counts[64];
    const int cl = snprintf(counts, sizeof counts, "nan %lld inf %lld", (long long)st->nan,
                            (long long)st->inf);
    /* four significant digits, three, or the range form: the first that
     * fits with the counts, else the first that fits alone, so no number
     * is cut in the middle */
    int ml = 0, fit_alone = -1, counts_y = -1;
    for (int form = 0; form < 3; form++) {
        ml = form == 0   ? snprintf(mm, sizeof mm, "min %.4g max %.4g mean %.4g std %.4g",
                                    st->min, st->max, st->mean, st->std)
             : form == 1 ? snprintf(mm, sizeof mm, "min %.3g max %.3g mean %.3g std %.3g",
                                    st->min, st->max, st->mean, st->std)
                         : snprintf(mm, sizeof mm, "%.3g..%.3g mean %.3g std %.3g", st->min,
                                    st->max, st->mean, st->std);
        if (ml + 2 + cl <= w - 1) {
            fit_alone = -2;
            break;
        }
        if (fit_alone == -1 && ml <= w - 1)
            fit_alone = form;
    }
    if (fit_alone == -2 && bad) /* counts that are not zero first */
        ls_canvas_printf(c, y + 3, x + 1, w - 1, LS_STY_WARN, "%s  %s", counts, mm);
    else if (fit_alone == -2)
        ls_canvas_printf(c, y + 3, x + 1, w - 1, LS_STY_NORMAL, "%s %s", mm, counts);
    else {
        if (fit_alone >= 0 && fit_alone < 2) /* back to the longest form that fits */
            ml = snprintf(mm, sizeof mm, fit_alone == 0 ? "min %.4g max %.4g mean %.4g std %.4g"
                                                        : "min %.3g max %.3g mean %.3g std %.3g",
                          st->min, st->max, st->mean, st->std);
        if (!bad)
            counts_y = name_w + 2 + cl <= w - 1 ? y + 1 : title_w + 2 + cl <= w - 1 ? y : -1;
        if (counts_y < 0) /* nowhere else: the counts first, the rest clipped */
            ls_canvas_printf(c, y + 3, x + 1, w - 1, bad ? LS_STY_WARN : LS_STY_NORMAL, "%s  %s",
                             counts, mm);
        else
            ls_canvas_printf(c, y + 3, x + 1, w - 1, LS_STY_NORMAL, "%s", mm);
    }
    if (counts_y == y + 1 || counts_y == y)
        ls_canvas_printf(c, counts_y, x + w - cl, cl, counts_y == y ? tstyle : LS_STY_DIM, "%s",
                         counts);
    tui_slice s;
    tui_slice_of(a, t, &s);
    /* the cursor may sit outside a smaller tensor after a selection change */
    if (a->row >= s.rows)
        a->row = s.rows - 1;
    if (a->col >= s.cols)
        a->col = s.cols - 1;
    char sl[96];
    if (t->ndim >= 4)
        snprintf(sl, sizeof sl, "[b=%d, h=%d, :, :]", s.batch, s.head);
    else if (t->ndim == 3)
        snprintf(sl, sizeof sl, "[b=%d, :, :]", s.batch);
    else
        snprintf(sl, sizeof sl, "%s", t->ndim == 0 ? tui_s(a, S_T_SCALAR) : "[:, :]");
    int sx = ls_canvas_printf(c, y + 4, x + 1, w - 1, LS_STY_NORMAL, tui_s(a, S_T_SLICE), sl, s.rows, s.cols);
    /* which batch item and head, with the keys that change them; a
     * shorter form when the pane is narrow */
    char bhs[96] = "";
    int bl = 0;
    if (s.n_batch > 1 && s.n_head > 1) {
        snprintf(bhs, sizeof bhs, tui_s(a, S_T_BATCH_HEAD), s.batch, s.n_batch, s.head, s.n_head);
        bl = ls_text_width(bhs);  /* columns: a CJK character takes two */
        if (sx + bl > w - 1) {
            snprintf(bhs, sizeof bhs, tui_s(a, S_T_BATCH_HEAD_SHORT), s.batch, s.n_batch, s.head,
                     s.n_head);
            bl = ls_text_width(bhs);
        }
    } else if (s.n_batch > 1) {
        snprintf(bhs, sizeof bhs, tui_s(a, S_T_BATCH_ONLY), s.batch, s.n_batch);
        bl = ls_text_width(bhs);
    } else if (s.n_head > 1) {
        snprintf(bhs, sizeof bhs, tui_s(a, S_T_HEAD_ONLY), s.head, s.n_head);
        bl = ls_text_width(bhs);
    }
    if (bl > 0)
        sx += ls_canvas_printf(c, y + 4, x + 1 + sx, w - 1 - sx, LS_STY_DIM, "%s", bhs);

    int by = y + 5, bh = h - 5;
    if (bh <= 0)
        return;
    switch (a->view) {
    case LS_VIEW_GRID: draw_grid(a, c, node, &s, by, x, bh, w); break;
    case LS_VIEW_HEAT: draw_heat(a, c, node, &s, by, x, bh, w); break;
    default: draw_stats(a, c, node, &s, by, x + 1, bh, w - 1); break;
    }
}
