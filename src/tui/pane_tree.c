/* The module tree, read like a debugger's call stack: modules fold,
 * the point the run stopped at is marked, computed vs pending differ.
 *
 *   B*> name                shape
 *   |||
 *   ||+-- '>' the run is stopped here
 *   |+--- '*' computed, '.' pending, '~' module running, 'E' edited
 *   |     (a module's weights are rows too: "  .weight  [512, 512]")
 *   +---- 'B' breakpoint
 */
#include <stdio.h>
#include <string.h>

#include "tui_internal.h"

static void draw_row(ls_tui *a, ls_canvas *c, int y, int x, int w, int row)
{
    tui_run *r = tui_cur(a);
    int item = r->rows[row];
    int depth = r->row_depth[row];
    int node = item >= 0 ? item : ls_graph_module(r->g, -item - 1)->out_node;
    bool selected = row == r->sel_row;
    bool here = node >= 0 && node == r->at;
    char mark_b = ' ', mark_s = '.', mark_h = here ? '>' : ' ';
    char label[256], shape[64] = "";
    if (item < 0) {
        int m = -item - 1;
        const ls_module *md = ls_graph_module(r->g, m);
        if (tui_module_has_break(a, m))
            mark_b = 'B';
        if (node >= 0 && tui_computed(r, node))
            mark_s = '*';
        else if (r->first_point[m] >= 0 && r->at >= r->first_point[m])
            mark_s = '~';
        bool has_kids = r->kid_start[m + 1] > r->kid_start[m];
        snprintf(label, sizeof label, "%s(%s): %s", has_kids ? (r->expanded[m] ? "- " : "+ ") : "  ",
                 md->name, md->klass);
    } else {
        const ls_node *nd = ls_graph_node(r->g, item);
        if (tui_is_break(a, item))
            mark_b = 'B';
        if (tui_computed(r, item))
            mark_s = '*';
        const char *p = nd->point[0] ? nd->point : nd->name;
        /* weights read as the module's attributes: "W_Q.weight" -> ".weight" */
        bool param = nd->op == LS_OP_CONST && (nd->flags & LS_NODE_PARAM);
        snprintf(label, sizeof label, "  %s%s", param ? "." : "", p);
    }
    if (node >= 0) {
        tui_shape_text(a, &ls_graph_node(r->g, node)->out, shape, sizeof shape);
        if (tui_computed(r, node) && ls_exec_is_pinned(r->ex, node))
            mark_s = 'E';
    }
    int style = selected ? LS_STY_SELECT : here ? LS_STY_CURRENT : mark_s == '.' ? LS_STY_DIM
                                                                                 : LS_STY_NORMAL;
    ls_canvas_fill(c, y, x, w, ' ', style);
    ls_canvas_printf(c, y, x, 1, mark_b == 'B' && !selected ? LS_STY_BREAK : style, "%c", mark_b);
    ls_canvas_printf(c, y, x + 1, 1, mark_s == 'E' && !selected ? LS_STY_EDITED : style, "%c", mark_s);
    ls_canvas_printf(c, y, x + 2, 1, style, "%c", mark_h);
    /* deep trees: cap the indent so names stay readable at 80 columns */
    int indent = depth * 2;
    if (indent > w / 3)
        indent = w / 3;
    int sl = (int)strlen(shape);
    int avail = w - 3 - indent;
    int used = ls_canvas_printf(c, y, x + 3 + indent, avail, style, "%s", label);
    if (sl && used + sl + 2 <= avail)
        ls_canvas_printf(c, y, x + w - sl, sl, selected ? style : LS_STY_DIM, "%s", shape);
}

void ls_pane_tree_draw(ls_tui *a, ls_canvas *c, int y, int x, int h, int w)
{
    tui_run *r = tui_cur(a);
    int style = a->focus == LS_FOCUS_TREE ? LS_STY_TITLE : LS_STY_DIM;
    ls_canvas_fill(c, y, x, w, ' ', style);
    /* the Tab hint only on the pane that has the keys, so it never reads
     * as the name of the other one */
    if (a->focus == LS_FOCUS_TREE)
        ls_canvas_printf(c, y, x, w, style, tui_s(a, S_MODULES), tui_s(a, S_TAB_TENSOR));
    else
        ls_canvas_printf(c, y, x, w, style, "%s", tui_s(a, S_MODULES_PLAIN));
    int rows = h - 1;
    if (rows <= 0)
        return;
    if (r->n_rows == 0) {
        ls_canvas_printf(c, y + 1, x, w, LS_STY_DIM, "%s", tui_s(a, S_NO_MODULES));
        return;
    }
    if (r->sel_row < r->tree_top)
        r->tree_top = r->sel_row;
    if (r->sel_row >= r->tree_top + rows)
        r->tree_top = r->sel_row - rows + 1;
    if (r->tree_top > r->n_rows - rows)
        r->tree_top = r->n_rows - rows;
    if (r->tree_top < 0)
        r->tree_top = 0;
    for (int i = 0; i < rows && r->tree_top + i < r->n_rows; i++)
        draw_row(a, c, y + 1 + i, x, w, r->tree_top + i);
}
