/* The attention chain of one head on one screen:
 *
 *    q [Tq,dk]   k [Tk,dk]   v [Tk,dv]                (when there is room)
 *    scores -> scores_masked -> mask -> attn  sum    (Conformer: matrix_ac + matrix_bd first)
 *
 * Every key column is in view whenever one character per key can show
 * it: cells shrink from two columns to one, then the panels the step is
 * not about give way (attn, mask and the selected point stay longest);
 * only when even one panel is wider than the pane do the panels scroll,
 * following the cursor.  Rows follow the cursor too.
 *
 * Masked cells are drawn as masked ("XX"/"X"), never as the -1e9 / -inf
 * a masked_fill leaves.  A row whose every key is masked shows what the
 * softmax really made of it: '~' uniform 1/n (a finite fill such as -1e9
 * or -10000), '!' NaN (-inf: 0/0), '0' a row the model zeroes after the
 * softmax (WeNet), with the reason under the panels.  The sum column
 * after attn must read 1 (or 0 for a zeroed row). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layerstep/attention.h"
#include "layerstep/lesson.h"
#include "tui_internal.h"

typedef struct panel {
    int node;          /* the point drawn */
    const char *title;
    bool is_mask;      /* draw the mask broadcast to scores' shape */
    int prio;          /* higher stays longer when space is short */
    bool full;         /* its title shows the shape too */
} panel;

typedef enum { ROW_OK = 0, ROW_UNIFORM, ROW_NAN, ROW_ZERO, ROW_OTHER } row_kind;

/* What the softmax produced on a row whose every key is masked. */
static row_kind dead_row_kind(const tui_slice *at, int i)
{
    if (!at || i >= at->rows)
        return ROW_OTHER;
    bool all_nan = true, all_zero = true, all_same = true;
    double first = tui_slice_get(at, i, 0);
    for (int j = 0; j < at->cols; j++) {
        double v = tui_slice_get(at, i, j);
        all_nan &= isnan(v);
        all_zero &= v == 0;
        all_same &= fabs(v - first) <= 1e-6;
    }
    return all_nan ? ROW_NAN : all_zero ? ROW_ZERO : all_same ? ROW_UNIFORM : ROW_OTHER;
}

static void keep_visible(int cur, int *first, int visible, int total)
{
    if (visible < 1)
        visible = 1;
    if (cur < *first)
        *first = cur;
    if (cur >= *first + visible)
        *first = cur - visible + 1;
    if (*first > total - visible)
        *first = total - visible;
    if (*first < 0)
        *first = 0;
}

/* Column numbers over a panel: every k-th index where k leaves room for
 * the widest number ("0    5    10"). */
static void draw_ticks(ls_canvas *c, int y, int x, int left, int vis, int cw, int total)
{
    char num[16];
    int wmax = snprintf(num, sizeof num, "%d", total - 1);
    static const int steps[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
    int k = 1000;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (steps[i] * cw >= wmax + 1) {
            k = steps[i];
            break;
        }
    for (int j = 0; j < vis; j++) {
        int col = left + j;
        if (col % k)
            continue;
        int len = snprintf(num, sizeof num, "%d", col);
        if (j * cw + len <= vis * cw)
            ls_canvas_printf(c, y, x + j * cw, len, LS_STY_DIM, "%s", num);
    }
}

typedef struct layout {
    int sc, at;             /* scores and attn nodes */
    tui_slice ss, as;       /* their slices (as.t NULL: attn not shown) */
    bool *dead;             /* per query row: every key masked */
    int top, left, vis_r, vis_c, cw, lw;
} layout;

static void draw_panel(ls_tui *a, ls_canvas *c, const panel *p, const layout *L, int y, int x)
{
    const tui_run *r = tui_ccur(a);
    const ls_tensor *t = tui_out(r, p->is_mask ? L->sc : p->node);
    char shape[64], title[96];
    tui_shape_text(a, &ls_graph_node(r->g, p->node)->out, shape, sizeof shape);
    snprintf(title, sizeof title, "%s%s%s", p->title, p->full ? " " : "", p->full ? shape : "");
    int pw = L->vis_c * L->cw;
    bool hidden = tui_quiz_hides_values(a, p->node);
    ls_canvas_printf(c, y, x, pw > (int)strlen(title) ? pw : (int)strlen(title), hidden ? LS_STY_DIM : LS_STY_TITLE,
                     "%s", title);
    if (!t || !tui_out(r, p->node)) {
        ls_canvas_printf(c, y + 2, x, pw, LS_STY_DIM, "%s", tui_s(a, S_A_PENDING));
        return;
    }
    if (hidden) {
        /* the open question asks what this shows: blank, not a hint */
        ls_canvas_printf(c, y + 2, x, pw > 6 ? pw : 6, LS_STY_DIM, "%s", tui_s(a, S_A_HIDDEN));
        return;
    }
    tui_slice s;
    tui_slice_of(a, tui_out(r, p->node), &s);
    tui_slice sc = L->ss;
    double lo = INFINITY, hi = -INFINITY;
    if (!p->is_mask)
        tui_heat_range(a, p->node, &s, &lo, &hi);
    /* [Tq,Tk] panels scroll together; q, k, v show their first columns */
    bool square = p->is_mask || s.cols == L->ss.cols;
    int cols = p->is_mask ? L->ss.cols : s.cols, left = square ? L->left : 0;
    draw_ticks(c, y + 1, x, left, L->vis_c, L->cw, cols);
    bool is_attn = p->node == L->at;
    for (int i = 0; i < L->vis_r && L->top + i < (p->is_mask ? L->ss.rows : s.rows); i++) {
        int ri = L->top + i;
        row_kind dk = is_attn && L->dead[ri] ? dead_row_kind(&s, ri) : ROW_OK;
        for (int j = 0; j < L->vis_c && left + j < cols; j++) {
            int cj = left + j;
            bool masked = tui_slice_masked(a, p->is_mask ? L->sc : p->node, p->is_mask ? &sc : &s, ri, cj);
            double v = p->is_mask || ri >= s.rows || cj >= s.cols ? 0 : tui_slice_get(&s, ri, cj);
            char g = 'X';
            int style = LS_STY_MASKED;
            if (dk == ROW_UNIFORM || dk == ROW_NAN || dk == ROW_ZERO) {
                g = dk == ROW_UNIFORM ? '~' : dk == ROW_NAN ? '!' : '0';
                style = LS_STY_WARN;
            } else if (dk == ROW_OTHER && isfinite(v)) {
                /* an added mask shifted every key alike: a real distribution */
                int lev = ls_tui_heat_level(v, lo, hi);
                g = LS_TUI_RAMP[lev];
                style = LS_STY_HEAT0 + lev;
            } else if (p->is_mask && !masked) {
                g = '.';
                style = LS_STY_DIM;
            } else if (!masked && !isfinite(v)) {
                g = '!';
                style = LS_STY_WARN;
            } else if (!masked) {
                int lev = ls_tui_heat_level(v, lo, hi);
                g = LS_TUI_RAMP[lev];
                style = LS_STY_HEAT0 + lev;
            }
            char cell[3] = {g, g, '\0'};
            cell[L->cw] = '\0';
            bool cur = square && ri == a->row && cj == a->col;
            ls_canvas_printf(c, y + 2 + i, x + j * L->cw, L->cw, cur ? LS_STY_SELECT : style, "%s", cell);
        }
    }
}

/* Panel width on screen: its cells, or its name (with the shape when
 * `full`) when that is wider. */
static int panel_w(const ls_tui *a, const panel *p, int cells, bool full)
{
    char shape[64];
    tui_shape_text(a, &ls_graph_node(tui_ccur(a)->g, p->node)->out, shape, sizeof shape);
    int tl = (int)strlen(p->title) + (full ? 1 + (int)strlen(shape) : 0);
    return cells > tl ? cells : tl;
}

/* Which panels fit in `room` at cw columns a cell: the lowest priority
 * ones give way first; returns how many are kept. */
static int fit_panels(const ls_tui *a, const panel *ch, int nc, int cols, int cw, bool full, int room,
                      bool *keep)
{
    int n_keep = nc;
    for (int i = 0; i < nc; i++)
        keep[i] = true;
    for (;;) {
        int need = -2;
        for (int i = 0; i < nc; i++)
            if (keep[i])
                need += panel_w(a, &ch[i], cols * cw, full) + 2;
        if (need <= room || n_keep == 1)
            return n_keep;
        int low = -1;
        for (int i = 0; i < nc; i++)
            if (keep[i] && (low < 0 || ch[i].prio < ch[low].prio))
                low = i;
        keep[low] = false;
        n_keep--;
    }
}

void ls_pane_attn_draw(ls_tui *a, ls_canvas *c, int y, int x, int h, int w)
{
    const tui_run *r = tui_ccur(a);
    bool zh = tui_lang(a) == LS_LANG_ZH;
    int m = tui_attention_module(a, tui_selected_node(a));
    ls_canvas_fill(c, y, x, w, ' ', LS_STY_TITLE);
    if (m < 0) {
        ls_canvas_printf(c, y, x, w, LS_STY_TITLE, "%s", tui_s(a, S_A_TITLE_NONE));
        ls_canvas_printf(c, y + 2, x + 1, w - 1, LS_STY_DIM, "%s", tui_s(a, S_A_NONE));
        return;
    }
    const char *path = ls_graph_module(r->g, m)->path;
    int sc = tui_find_point(a, path, "scores"), mk = tui_find_point(a, path, "mask");
    int at = tui_find_point(a, path, "attn"), sm = tui_find_point(a, path, "scores_masked");
    int ac = tui_find_point(a, path, "matrix_ac"), bd = tui_find_point(a, path, "matrix_bd");
    const ls_tensor *st = tui_out(r, sc);
    layout L = {.sc = sc, .at = at};
    if (st)
        tui_slice_of(a, st, &L.ss);
    int tx = ls_canvas_printf(c, y, x, w, LS_STY_TITLE, tui_s(a, S_A_TITLE), path,
                              L.ss.batch, L.ss.n_batch, L.ss.head, L.ss.n_head);
    ls_canvas_printf(c, y, x + tx, w - tx, LS_STY_TITLE, "  [ ] { } hjkl a");
    if (!st) {
        ls_canvas_printf(c, y + 2, x + 1, w - 1, LS_STY_DIM, tui_s(a, S_A_NOT_YET), path);
        return;
    }
    /* the shared cell cursor lives in the scores slice */
    if (a->row >= L.ss.rows)
        a->row = L.ss.rows - 1;
    if (a->col >= L.ss.cols)
        a->col = L.ss.cols - 1;
    const ls_tensor *att = at >= 0 ? tui_out(r, at) : NULL;
    if (att && !tui_quiz_hides_values(a, at))
        tui_slice_of(a, att, &L.as);
    bool dead_buf[4096];
    bool *dead = dead_buf;
    int nd_rows = L.ss.rows < 4096 ? L.ss.rows : 4096;
    for (int i = 0; i < nd_rows; i++) {
        bool all = L.ss.cols > 0;
        for (int j = 0; j < L.ss.cols && all; j++)
            all = tui_slice_masked(a, sc, &L.ss, i, j);
        dead[i] = all;
    }
    L.dead = dead;

    /* row labels: the batch item's tokens or times where known */
    char buf[64];
    int lw = 0;
    for (int i = 0; i < L.ss.rows && i < 512; i++) {
        const char *l = tui_axis_label(a, sc, &L.ss, 0, i, buf, sizeof buf);
        int len = l ? (int)strlen(l) : snprintf(buf, sizeof buf, "%d", i);
        lw = len > lw ? len : lw;
    }
    L.lw = (lw > 8 ? 8 : lw) + 1;
    const int info_h = 3, sum_w = 5;
    /* the chain, in its order; priorities say what stays when space is short */
    panel ch[6];
    int nc = 0;
    int sel = tui_selected_node(a);
    if (ac >= 0)
        ch[nc++] = (panel){ac, "matrix_ac", false, 1, false};
    if (bd >= 0)
        ch[nc++] = (panel){bd, "matrix_bd", false, 1, false};
    ch[nc++] = (panel){sc, "scores", false, 3, false};
    if (sm >= 0)
        ch[nc++] = (panel){sm, "scores_masked", false, 2, false};
    if (mk >= 0)
        ch[nc++] = (panel){mk, "mask", true, 4, false};
    if (at >= 0)
        ch[nc++] = (panel){at, "attn", false, 5, false};
    for (int i = 0; i < nc; i++)
        if (ch[i].node == sel)
            ch[i].prio = 9;
    bool keep[6] = {false}, keep2[6] = {false};
    int room = w - L.lw - (L.as.t ? sum_w : 0);
    /* one column a cell keeps the most panels; two when that keeps the same
     * ones; shapes in the titles when even those fit */
    int n_keep = fit_panels(a, ch, nc, L.ss.cols, 1, false, room, keep);
    int cw = 1, need2 = -2;
    for (int i = 0; i < nc; i++)
        if (keep[i])
            need2 += panel_w(a, &ch[i], L.ss.cols * 2, false) + 2;
    if (need2 <= room && fit_panels(a, ch, nc, L.ss.cols, 2, false, room, keep2) == n_keep &&
        !memcmp(keep, keep2, sizeof keep))
        cw = 2;
    /* shapes in the titles, most important panels first, while they fit */
    int need = -2;
    for (int i = 0; i < nc; i++)
        if (keep[i])
            need += panel_w(a, &ch[i], L.ss.cols * cw, false) + 2;
    for (int pr = 9; pr >= 0; pr--)
        for (int i = 0; i < nc; i++) {
            if (!keep[i] || ch[i].prio != pr)
                continue;
            int extra = panel_w(a, &ch[i], L.ss.cols * cw, true) - panel_w(a, &ch[i], L.ss.cols * cw, false);
            if (need + extra <= room) {
                ch[i].full = true;
                need += extra;
            }
        }
    L.cw = cw;
    int per = n_keep == 1 ? room : room / n_keep - 2;
    L.vis_c = per / cw < L.ss.cols ? per / cw : L.ss.cols;
    if (L.vis_c < 1)
        L.vis_c = 1;
    L.vis_r = h - 1 - info_h - 2;
    if (L.vis_r < 1)
        L.vis_r = 1;
    keep_visible(a->row, &a->grid_top, L.vis_r, L.ss.rows);
    keep_visible(a->col, &a->grid_left, L.vis_c, L.ss.cols);
    L.top = a->grid_top;
    L.left = a->grid_left;

    int py = y + 1;
    /* q, k and v above the chain when the rows fit twice */
    int q = tui_find_point(a, path, "q"), k = tui_find_point(a, path, "k"), v = tui_find_point(a, path, "v");
    int chain_h = (L.ss.rows < L.vis_r ? L.ss.rows : L.vis_r) + 2;
    if (q >= 0 && h - 1 - info_h >= 2 * chain_h + 1) {
        panel top[3] = {{q, "q", false, 0, true}, {k, "k", false, 0, true}, {v, "v", false, 0, true}};
        layout T = L;
        T.vis_r = chain_h - 2;
        int tx2 = x + L.lw;
        for (int i = 0; i < 3 && top[i].node >= 0; i++) {
            const ls_tensor *tt = tui_out(r, top[i].node);
            int tc = tt && tt->ndim ? (int)tt->shape[tt->ndim - 1] : 1;
            int room2 = x + w - tx2;
            T.cw = 1;
            T.vis_c = tc < room2 - 1 ? tc : room2 - 1;
            if (T.vis_c < 1 || (T.vis_c < tc && T.vis_c < 8))
                break;  /* too narrow to read */
            draw_panel(a, c, &top[i], &T, py, tx2);
            tx2 += panel_w(a, &top[i], T.vis_c, true) + 2;
        }
        for (int i = 0; i < T.vis_r && L.top + i < L.ss.rows; i++)
            ls_canvas_printf(c, py + 2 + i, x, L.lw - 1, LS_STY_TITLE, "%*d", L.lw - 1, L.top + i);
        py += chain_h + 1;
        L.vis_r = y + h - info_h - py - 2;
    }
    /* row labels once, on the left */
    for (int i = 0; i < L.vis_r && L.top + i < L.ss.rows; i++) {
        int ri = L.top + i;
        const char *l = tui_axis_label(a, sc, &L.ss, 0, ri, buf, sizeof buf);
        char num[16];
        snprintf(num, sizeof num, "%d", ri);
        ls_canvas_printf(c, py + 2 + i, x, L.lw - 1, ri == a->row ? LS_STY_CURRENT : LS_STY_TITLE, "%*.*s",
                         L.lw - 1, L.lw - 1, l ? l : num);
    }
    int px = x + L.lw;
    for (int i = 0; i < nc; i++) {
        if (!keep[i])
            continue;
        draw_panel(a, c, &ch[i], &L, py, px);
        px += panel_w(a, &ch[i], L.vis_c * cw, ch[i].full) + 2;
    }
    if (L.as.t && keep[nc - 1] && ch[nc - 1].node == at) {
        /* softmax rows sum to 1 (0 when the model zeroes a row) */
        ls_canvas_printf(c, py, px - 1, sum_w, LS_STY_TITLE, "%s", tui_s(a, S_A_SUM));
        for (int i = 0; i < L.vis_r && L.top + i < L.as.rows; i++) {
            double s = 0;
            for (int j = 0; j < L.as.cols; j++)
                s += tui_slice_get(&L.as, L.top + i, j);
            ls_canvas_printf(c, py + 2 + i, px - 1, sum_w, isfinite(s) && (fabs(s - 1) < 1e-3 || s == 0)
                                                             ? LS_STY_DIM : LS_STY_WARN, "%4.2f", s);
        }
    }

    /* the cursor cell across the chain, in numbers */
    int iy = y + h - info_h;
    char ql[64], kl[64];
    const char *qlab = tui_axis_label(a, sc, &L.ss, 0, a->row, ql, sizeof ql);
    const char *klab = tui_axis_label(a, sc, &L.ss, 1, a->col, kl, sizeof kl);
    int lx = ls_canvas_printf(c, iy, x, w, LS_STY_NORMAL, "q %d%s%s%s k %d%s%s%s:", a->row,
                              qlab ? " '" : "", qlab ? qlab : "", qlab ? "'" : "", a->col,
                              klab ? " '" : "", klab ? klab : "", klab ? "'" : "");
    for (int i = 0; i < nc; i++) {
        const ls_tensor *t = tui_out(r, ch[i].node);
        if (!t)
            continue;
        char val[32];
        if (tui_quiz_hides_values(a, ch[i].node)) {
            snprintf(val, sizeof val, "?");
        } else if (ch[i].is_mask) {
            snprintf(val, sizeof val, "%s", tui_s(a, tui_slice_masked(a, sc, &L.ss, a->row, a->col) ? S_A_MASKED : S_A_OPEN));
        } else {
            tui_slice s2;
            tui_slice_of(a, t, &s2);
            double vv = a->row < s2.rows && a->col < s2.cols ? tui_slice_get(&s2, a->row, a->col) : NAN;
            snprintf(val, sizeof val, "%.4g", vv);
        }
        lx += ls_canvas_printf(c, iy, x + lx, w - lx, LS_STY_NORMAL, " %s %s", ch[i].title, val);
    }
    /* rows every key of which is masked, and what the softmax made of them */
    char rows[128] = "";
    size_t rl = 0;
    int n_dead = 0;
    row_kind kind = ROW_OK;
    for (int i = 0; i < nd_rows; i++)
        if (dead[i]) {
            /* runs of rows as ranges: "0-10,14" */
            int e = i;
            while (e + 1 < nd_rows && dead[e + 1])
                e++;
            if (rl < sizeof rows && (i == 0 || !dead[i - 1])) {
                if (e > i)
                    rl += (size_t)snprintf(rows + rl, sizeof rows - rl, "%s%d-%d", n_dead ? "," : "", i, e);
                else
                    rl += (size_t)snprintf(rows + rl, sizeof rows - rl, "%s%d", n_dead ? "," : "", i);
            }
            row_kind k = L.as.t ? dead_row_kind(&L.as, i) : ROW_OTHER;
            kind = n_dead == 0 ? k : kind == k ? k : ROW_OTHER;
            n_dead++;
        }
    if (n_dead) {
        /* what the softmax really made of them, read from attn's values */
        ls_attn_row st = kind == ROW_UNIFORM ? LS_ATTN_ROW_UNIFORM : kind == ROW_NAN ? LS_ATTN_ROW_NAN
                         : kind == ROW_ZERO  ? LS_ATTN_ROW_ZEROED : LS_ATTN_ROW_SHIFTED;
        char uni[48] = "";
        if (kind == ROW_UNIFORM)
            snprintf(uni, sizeof uni, " (1/%d = %.3g)", L.ss.cols, L.ss.cols ? 1.0 / L.ss.cols : 0);
        char line[512];
        if (!L.as.t)
            snprintf(line, sizeof line, tui_s(a, S_A_ROWS_DEAD), rows);
        else
            snprintf(line, sizeof line, tui_s(a, S_A_ROWS_EXPLAIN), rows, ls_attn_row_explain(st, zh ? 1 : 0), uni);
        /* two lines if it needs them: the reason matters more than the key list */
        int lens[2];
        int nl = ls_text_wrap(line, w, lens, 2);
        for (int k = 0; k < nl; k++)
            ls_canvas_text(c, iy + 1 + k, x, w, LS_STY_WARN, line + (lens[k] >> 16), lens[k] & 0xffff);
        if (nl > 1)
            return;
    } else {
        int ex = ls_canvas_printf(c, iy + 1, x, w, LS_STY_MASKED, "%s", cw == 2 ? "XX" : "X");
        ls_canvas_printf(c, iy + 1, x + ex, w - ex, LS_STY_DIM, "%s", tui_s(a, S_A_LEGEND));
    }
    /* key labels, since cells have no room for words */
    int kx = 0;
    for (int j = a->grid_left; j < L.ss.cols && kx < w; j++) {
        const char *l = tui_axis_label(a, sc, &L.ss, 1, j, buf, sizeof buf);
        if (!l)
            break;
        kx += ls_canvas_printf(c, iy + 2, x + kx, w - kx, LS_STY_DIM, "%s%d=%s", kx ? " " : tui_s(a, S_A_KEYS), j, l);
    }
}
