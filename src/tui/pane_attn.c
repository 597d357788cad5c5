/* The attention chain of one head on one screen:
 *
 *    q [Tq,dk]   k [Tk,dk]   v [Tk,dv]
 *    scores [Tq,Tk] -> mask -> attn        (Conformer: matrix_ac + matrix_bd -> scores ...)
 *
 * Masked cells are drawn as masked ("XX"), never as the -1e9 / -inf
 * numbers a masked_fill leaves; rows whose every key is masked get a '!'
 * because their softmax is uniform garbage (or NaN). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tui_internal.h"

typedef struct panel {
    int node;          /* the point drawn */
    const char *title;
    bool is_mask;      /* draw the mask broadcast to scores' shape */
} panel;

/* Draws one panel; returns its width. Cells are cw columns wide. */
static int draw_panel(ls_tui *a, ls_canvas *c, const panel *p, int scores, int y, int x, int h,
                      int max_w, int cw, int lw, bool grid_cursor)
{
    const tui_run *r = tui_ccur(a);
    const ls_tensor *t = tui_out(r, p->is_mask ? scores : p->node);
    const ls_tensor *mt = p->is_mask ? tui_out(r, p->node) : NULL;
    char shape[64];
    ls_shape_str(&ls_graph_node(r->g, p->node)->out, shape, sizeof shape);
    if (!t || (p->is_mask && !mt)) {
        ls_canvas_printf(c, y, x, max_w, LS_STY_DIM, "%s (pending)", p->title);
        return (int)strlen(p->title) + 10;
    }
    tui_slice s;
    tui_slice_of(a, t, &s);
    int vis_c = (max_w - lw) / cw;
    if (vis_c > s.cols)
        vis_c = s.cols;
    if (vis_c < 1)
        return 0;
    int vis_r = h - 1;
    /* T x T panels follow the scroll offsets, q/k/v start at column 0 */
    bool square = s.rows == s.cols || p->is_mask || p->node == scores;
    int left = square ? a->grid_left : 0;
    if (left > s.cols - vis_c)
        left = s.cols - vis_c;
    if (left < 0)
        left = 0;
    int top = a->grid_top;
    if (top > s.rows - 1)
        top = s.rows - 1;
    if (top < 0)
        top = 0;
    int width = lw + vis_c * cw;
    int tl = ls_canvas_printf(c, y, x, max_w, LS_STY_TITLE, "%s %s", p->title, shape);
    int full = width;
    if (tl + 1 > full)
        full = tl + 1 > max_w ? max_w : tl + 1;
    double lo = INFINITY, hi = -INFINITY;
    if (!p->is_mask) {
        for (int i = 0; i < s.rows; i++)
            for (int j = 0; j < s.cols; j++) {
                double v = tui_slice_get(&s, i, j);
                if (!isfinite(v) || tui_slice_masked(a, p->node, &s, i, j))
                    continue;
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
    }
    char buf[64];
    for (int i = 0; i < vis_r && top + i < s.rows; i++) {
        int ri = top + i;
        if (lw > 0) {
            const char *l = tui_axis_label(a, p->node == scores || p->is_mask ? scores : p->node, &s,
                                           0, ri, buf, sizeof buf);
            char num[16];
            snprintf(num, sizeof num, "%d", ri);
            ls_canvas_printf(c, y + 1 + i, x, lw - 1, LS_STY_TITLE, "%*.*s", lw - 1, lw - 1, l ? l : num);
        }
        bool all = s.cols > 0;
        for (int j = 0; j < s.cols && all; j++) {
            int64_t idx[LS_MAX_DIMS];
            tui_slice_index(&s, ri, j, idx);
            all = p->is_mask ? tui_slice_masked(a, scores, &s, ri, j) : tui_slice_masked(a, p->node, &s, ri, j);
        }
        for (int j = 0; j < vis_c; j++) {
            int cj = left + j;
            bool masked;
            double v = 0;
            if (p->is_mask) {
                masked = tui_slice_masked(a, scores, &s, ri, cj);
            } else {
                v = tui_slice_get(&s, ri, cj);
                masked = tui_slice_masked(a, p->node, &s, ri, cj);
            }
            char cell[4] = "XX";
            int style = LS_STY_MASKED;
            if (p->is_mask && !masked) {
                cell[0] = cell[1] = '.';
                style = LS_STY_DIM;
            } else if (!masked && !isfinite(v)) {
                cell[0] = cell[1] = '!';
                style = LS_STY_WARN;
            } else if (!masked) {
                int lev = ls_tui_heat_level(v, lo, hi);
                cell[0] = cell[1] = LS_TUI_RAMP[lev];
                style = LS_STY_HEAT0 + lev;
            }
            cell[cw] = '\0';
            bool cur = grid_cursor && square && ri == a->row && cj == a->col;
            ls_canvas_printf(c, y + 1 + i, x + lw + j * cw, cw, cur ? LS_STY_SELECT : style, "%s", cell);
        }
        if (all && square)
            ls_canvas_printf(c, y + 1 + i, x + width, 1, LS_STY_WARN, "!");
    }
    return full + 1;
}

static int panel_need(const ls_tui *a, int node, int cw, int lw)
{
    const ls_tensor *t = tui_out(tui_ccur(a), node);
    const ls_tensor *d = t ? t : &ls_graph_node(tui_ccur(a)->g, node)->out;
    int cols = d->ndim ? (int)d->shape[d->ndim - 1] : 1;
    return lw + cols * cw + 1;
}

void ls_pane_attn_draw(ls_tui *a, ls_canvas *c, int y, int x, int h, int w)
{
    const tui_run *r = tui_ccur(a);
    int m = tui_attention_module(a, tui_selected_node(a));
    ls_canvas_fill(c, y, x, w, ' ', LS_STY_TITLE);
    if (m < 0) {
        ls_canvas_printf(c, y, x, w, LS_STY_TITLE, " Attention");
        ls_canvas_printf(c, y + 2, x + 1, w - 1, LS_STY_DIM, "no attention module here (a or Esc goes back)");
        return;
    }
    const char *path = ls_graph_module(r->g, m)->path;
    int q = tui_find_point(a, path, "q"), k = tui_find_point(a, path, "k"), v = tui_find_point(a, path, "v");
    int sc = tui_find_point(a, path, "scores"), mk = tui_find_point(a, path, "mask");
    int at = tui_find_point(a, path, "attn");
    int ac = tui_find_point(a, path, "matrix_ac"), bd = tui_find_point(a, path, "matrix_bd");
    const ls_tensor *st = tui_out(r, sc);
    tui_slice ss = {0};
    if (st)
        tui_slice_of(a, st, &ss);
    ls_canvas_printf(c, y, x, w, LS_STY_TITLE, " Attention %s  batch %d/%d  head %d/%d  ([ ] head, { } batch, hjkl cell, a back)",
                     path, ss.batch, ss.n_batch, ss.head, ss.n_head);
    if (!st) {
        ls_canvas_printf(c, y + 2, x + 1, w - 1, LS_STY_DIM,
                         "scores not computed yet: step into the module (s) or go there (g %s.scores)", path);
        return;
    }
    /* clamp the shared cell cursor to the scores slice */
    if (a->row >= ss.rows)
        a->row = ss.rows - 1;
    if (a->col >= ss.cols)
        a->col = ss.cols - 1;
    int info_h = 3, avail = h - 1 - info_h;
    int lw = 0;
    char buf[64];
    for (int i = 0; i < ss.rows && i < 256; i++) {
        const char *l = tui_axis_label(a, sc, &ss, 0, i, buf, sizeof buf);
        int len = l ? (int)strlen(l) : snprintf(buf, sizeof buf, "%d", i);
        lw = len > lw ? len : lw;
    }
    lw = (lw > 10 ? 10 : lw) + 1;
    /* row 1: q k v (only when there is room for both rows) */
    panel top[3];
    int nt = 0;
    if (q >= 0)
        top[nt++] = (panel){q, "q", false};
    if (k >= 0)
        top[nt++] = (panel){k, "k", false};
    if (v >= 0)
        top[nt++] = (panel){v, "v", false};
    int rows_top = nt && avail >= 10 ? (avail - 2) / 2 : 0;
    if (rows_top > ss.rows + 1)
        rows_top = ss.rows + 1;
    int py = y + 1;
    if (rows_top > 1) {
        int px = x;
        for (int i = 0; i < nt && px < x + w - 4; i++) {
            int cw = panel_need(a, top[i].node, 1, i == 0 ? lw : 0) <= (w - (px - x)) / (nt - i) ? 1 : 1;
            int used = draw_panel(a, c, &top[i], sc, py, px, rows_top, x + w - px, cw, i == 0 ? lw : 0, false);
            px += used + 2;
        }
        py += rows_top + 1;
    }
    /* row 2: the chain */
    panel ch[5];
    int nc = 0;
    if (ac >= 0)
        ch[nc++] = (panel){ac, "matrix_ac", false};
    if (bd >= 0)
        ch[nc++] = (panel){bd, "matrix_bd", false};
    ch[nc++] = (panel){sc, "scores", false};
    if (mk >= 0)
        ch[nc++] = (panel){mk, "mask", true};
    if (at >= 0)
        ch[nc++] = (panel){at, "attn", false};
    int need2 = lw + 4 * (nc - 1);
    for (int i = 0; i < nc; i++)
        need2 += ss.cols * 2 + 1;
    int cw = need2 <= w ? 2 : 1;
    int rows_chain = y + 1 + avail - py;
    int px = x;
    for (int i = 0; i < nc && px < x + w - 2; i++) {
        int room = x + w - px;
        int per = i == nc - 1 ? room : room / (nc - i);
        int used = draw_panel(a, c, &ch[i], sc, py, px, rows_chain, per, cw, i == 0 ? lw : 0, true);
        px += used;
        if (i < nc - 1 && px + 3 < x + w) {
            ls_canvas_printf(c, py + 1 + (ss.rows < rows_chain - 1 ? ss.rows : rows_chain - 1) / 2, px, 3,
                             LS_STY_DIM, "-> ");
            px += 3;
        }
    }
    /* the cursor cell across the chain, in numbers */
    int iy = y + h - info_h;
    int64_t idx[LS_MAX_DIMS];
    tui_slice_index(&ss, a->row, a->col, idx);
    char ql[64], kl[64];
    const char *qlab = tui_axis_label(a, sc, &ss, 0, a->row, ql, sizeof ql);
    const char *klab = tui_axis_label(a, sc, &ss, 1, a->col, kl, sizeof kl);
    int lx = ls_canvas_printf(c, iy, x, w, LS_STY_NORMAL, "query %d%s%s%s x key %d%s%s%s:", a->row,
                              qlab ? " '" : "", qlab ? qlab : "", qlab ? "'" : "", a->col,
                              klab ? " '" : "", klab ? klab : "", klab ? "'" : "");
    for (int i = 0; i < nc; i++) {
        const ls_tensor *t = tui_out(r, ch[i].node);
        if (!t)
            continue;
        char val[32];
        if (ch[i].is_mask) {
            snprintf(val, sizeof val, "%s", tui_slice_masked(a, sc, &ss, a->row, a->col) ? "masked" : "open");
        } else {
            tui_slice s2;
            tui_slice_of(a, t, &s2);
            double vv = a->row < s2.rows && a->col < s2.cols ? tui_slice_get(&s2, a->row, a->col) : NAN;
            snprintf(val, sizeof val, "%.4g", vv);
        }
        lx += ls_canvas_printf(c, iy, x + lx, w - lx, LS_STY_NORMAL, "  %s %s", ch[i].title, val);
    }
    /* rows every key of which is masked */
    char dead[256] = "";
    size_t dl = 0;
    int n_dead = 0;
    for (int i = 0; i < ss.rows; i++) {
        bool all = ss.cols > 0;
        for (int j = 0; j < ss.cols && all; j++)
            all = tui_slice_masked(a, sc, &ss, i, j);
        if (all && dl < sizeof dead) {
            dl += (size_t)snprintf(dead + dl, sizeof dead - dl, "%s%d", n_dead ? ", " : "", i);
            n_dead++;
        }
    }
    if (n_dead)
        ls_canvas_printf(c, iy + 1, x, w, LS_STY_WARN,
                         "! %d quer%s with every key masked (rows %s): softmax has nothing to attend to",
                         n_dead, n_dead == 1 ? "y" : "ies", dead);
    else
        ls_canvas_printf(c, iy + 1, x, w, LS_STY_DIM, "XX masked (never shown as -1e9/-inf)  .. open  ramp%s",
                         " \" .:-=+*#%@\" low..high per panel");
    /* key labels, since heat cells have no room for words */
    int kx = 0;
    for (int j = 0; j < ss.cols && kx < w; j++) {
        const char *l = tui_axis_label(a, sc, &ss, 1, j, buf, sizeof buf);
        if (!l)
            break;
        kx += ls_canvas_printf(c, iy + 2, x + kx, w - kx, LS_STY_DIM, "%s%d=%s", j ? "  " : "keys: ", j, l);
    }
}
