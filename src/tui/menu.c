/* A list to pick from (the lesson list): the same canvas and keys as the
 * debugger, so it is driven and read in tests exactly like the app. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/tui.h"
#include "tui_strings.h"

typedef struct menu_item {
    char *label;
    char *mark;
} menu_item;

struct ls_menu {
    char *title, *hint;
    menu_item *items;
    int n, cap;
    int sel, top, chosen;
    int w, h;
    int lang;
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s ? s : "", n);
    return d;
}

int ls_menu_new(const char *title, const char *hint, ls_menu **out, ls_error *err)
{
    ls_menu *m = calloc(1, sizeof *m);
    if (m) {
        m->title = dup_str(title);
        m->hint = dup_str(hint);
        m->chosen = -1;
        m->w = 80;
        m->h = 24;
    }
    if (!m || !m->title || !m->hint) {
        ls_menu_free(m);
        *out = NULL;
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory for the menu");
    }
    *out = m;
    return LS_OK;
}

void ls_menu_free(ls_menu *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++) {
        free(m->items[i].label);
        free(m->items[i].mark);
    }
    free(m->items);
    free(m->title);
    free(m->hint);
    free(m);
}

int ls_menu_add(ls_menu *m, const char *label, const char *mark, ls_error *err)
{
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 8;
        menu_item *ni = realloc(m->items, (size_t)cap * sizeof *ni);
        if (!ni)
            return ls_error_set(err, LS_ERR_NOMEM, "out of memory for the menu");
        m->items = ni;
        m->cap = cap;
    }
    menu_item *it = &m->items[m->n];
    it->label = dup_str(label);
    it->mark = dup_str(mark);
    if (!it->label || !it->mark) {
        free(it->label);
        free(it->mark);
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory for the menu");
    }
    m->n++;
    return LS_OK;
}

void ls_menu_select(ls_menu *m, int i)
{
    m->sel = i < 0 ? 0 : i >= m->n ? (m->n ? m->n - 1 : 0) : i;
}

int ls_menu_selected(const ls_menu *m) { return m->sel; }
int ls_menu_chosen(const ls_menu *m) { return m->chosen; }
void ls_menu_set_size(ls_menu *m, int w, int h)
{
    m->w = w;
    m->h = h;
}

void ls_menu_set_lang(ls_menu *m, int lang) { m->lang = lang; }

/* Items whose label starts with the digits typed so far ("3" -> "03 ..."). */
static void jump_to_number(ls_menu *m, int digit)
{
    for (int i = 0; i < m->n; i++)
        if (strtol(m->items[i].label, NULL, 10) == digit) {
            m->sel = i;
            return;
        }
}

unsigned ls_menu_feed(ls_menu *m, int key)
{
    int page = m->h - 4 > 1 ? m->h - 4 : 1;
    switch (key) {
    case LS_KEY_UP:
    case 'k': m->sel--; break;
    case LS_KEY_DOWN:
    case 'j': m->sel++; break;
    case LS_KEY_PGUP: m->sel -= page; break;
    case LS_KEY_PGDN: m->sel += page; break;
    case LS_KEY_HOME: m->sel = 0; break;
    case LS_KEY_END: m->sel = m->n - 1; break;
    case LS_KEY_ENTER:
    case '\r':
    case ' ':
    case 'l':
    case LS_KEY_RIGHT:
        if (m->n > 0) {
            m->chosen = m->sel;
            return LS_TUI_QUIT;
        }
        return 0;
    case 'q':
    case LS_KEY_ESC:
    case LS_KEY_CTRL('c'):
        m->chosen = -1;
        return LS_TUI_QUIT;
    default:
        if (key >= '1' && key <= '9')
            jump_to_number(m, key - '0');
        else {
            int w, h;
            if (ls_tui_key_is_sized(key, &w, &h))
                ls_menu_set_size(m, w, h);
            else if (key != LS_KEY_RESIZE && key != LS_KEY_CTRL('l'))
                return 0;
        }
    }
    ls_menu_select(m, m->sel);
    return LS_TUI_REDRAW;
}

void ls_menu_draw(ls_menu *m, ls_canvas *c)
{
    m->w = c->w;
    m->h = c->h;
    for (int y = 0; y < c->h; y++)
        ls_canvas_fill(c, y, 0, c->w, ' ', LS_STY_NORMAL);
    /* narrower than the debugger needs is fine here, but not unreadable */
    if (c->w < 40 || c->h < 6) {
        ls_canvas_printf(c, 0, 0, c->w, LS_STY_WARN, "%s", tui_s_lang(m->lang, S_TOO_SMALL));
        ls_canvas_printf(c, 1, 0, c->w, LS_STY_NORMAL, tui_s_lang(m->lang, S_TOO_SMALL_NEED), c->w, c->h, 40, 6);
        return;
    }
    ls_canvas_fill(c, 0, 0, c->w, ' ', LS_STY_TITLE);
    ls_canvas_printf(c, 0, 0, c->w, LS_STY_TITLE, " layerstep  ");
    int tx = (int)strlen(" layerstep  ");
    ls_canvas_text(c, 0, tx, c->w - tx, LS_STY_TITLE, m->title, (int)strlen(m->title));
    int rows = c->h - 4;
    if (m->sel < m->top)
        m->top = m->sel;
    if (m->sel >= m->top + rows)
        m->top = m->sel - rows + 1;
    for (int i = 0; i < rows && m->top + i < m->n; i++) {
        const menu_item *it = &m->items[m->top + i];
        int y = 2 + i, sty = m->top + i == m->sel ? LS_STY_SELECT : LS_STY_NORMAL;
        int mw = ls_text_width(it->mark);
        ls_canvas_fill(c, y, 1, c->w - 2, ' ', sty);
        ls_canvas_printf(c, y, 1, 2, sty, "%s", m->top + i == m->sel ? ">" : " ");
        ls_canvas_text(c, y, 3, c->w - 5 - mw - 1, sty, it->label, (int)strlen(it->label));
        if (mw)
            ls_canvas_text(c, y, c->w - 2 - mw, mw, m->top + i == m->sel ? sty : LS_STY_DIM, it->mark,
                           (int)strlen(it->mark));
    }
    ls_canvas_fill(c, c->h - 1, 0, c->w, ' ', LS_STY_STATUS);
    ls_canvas_text(c, c->h - 1, 1, c->w - 1, LS_STY_STATUS, m->hint, (int)strlen(m->hint));
}
