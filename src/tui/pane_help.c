/* The '?' screen: generated from the key table, so it cannot drift. */
#include <stdio.h>

#include "tui_internal.h"

void ls_pane_help_draw(ls_tui *a, ls_canvas *c, int y, int x, int h, int w)
{
    ls_canvas_fill(c, y, x, w, ' ', LS_STY_TITLE);
    ls_canvas_printf(c, y, x, w, LS_STY_TITLE, "%s", tui_s(a, S_HELP_TITLE));
    int total = 0;
    char line[256];
    while (ls_tui_help_line(tui_lang(a), total, line, sizeof line))
        total++;
    if (a->les.lesson && h > 3) {
        /* the one key whose meaning a lesson changes */
        ls_canvas_printf(c, y + 1, x + 1, w - 1, LS_STY_WARN,
                         "%s", tui_s(a, S_HELP_LESSON));
        y++;
        h--;
    }
    int rows = h - 1;
    /* two columns when the screen is wide enough to show everything */
    int cols = w >= 150 && total > rows ? 2 : 1;
    int per = cols == 2 ? (total + 1) / 2 : total;
    if (a->help_top > per - rows)
        a->help_top = per - rows > 0 ? per - rows : 0;
    for (int col = 0; col < cols; col++)
        for (int i = 0; i < rows; i++) {
            int k = col * per + a->help_top + i;
            if (k >= (col + 1) * per || !ls_tui_help_line(tui_lang(a), k, line, sizeof line))
                break;
            int style = line[0] && line[0] != ' ' ? LS_STY_TITLE : LS_STY_NORMAL;
            ls_canvas_printf(c, y + 1 + i, x + 1 + col * (w / 2), w / cols - 1, style, "%s", line);
        }
}
