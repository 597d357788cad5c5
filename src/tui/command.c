/* The ':' command line, completion, exports (.npy, SVG) and the one-line
 * prompt shared by ':', goto, set and lesson answers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/npy.h"
#include "layerstep/svg.h"
#include "app_internal.h"

/* ------------------------------------------------------------------ */
/* exports                                                             */

static int selected_tensor(ls_tui *a, const ls_tensor **t, int *node)
{
    *node = tui_selected_node(a);
    *t = *node >= 0 ? tui_out(tui_cur(a), *node) : NULL;
    if (!*t) {
        tui_say(a, true, "%s", tui_s(a, S_SELECT_COMPUTED));
        return -1;
    }
    if (tui_quiz_hides_values(a, *node)) {
        tui_say(a, true, "%s", tui_s(a, S_Q_GIVES_AWAY));
        return -1;
    }
    return 0;
}

static void dump_npy(ls_tui *a, const char *path)
{
    const ls_tensor *t;
    int node;
    if (!*path) {
        tui_say(a, true, "%s", tui_s(a, S_DUMP_NAME));
        return;
    }
    if (selected_tensor(a, &t, &node))
        return;
    ls_error err = {0};
    if (ls_npy_save(path, t, &err))
        tui_say(a, true, tui_s(a, S_DUMP_ERROR), err.msg);
    else
        tui_say(a, false, tui_s(a, S_WROTE), path, ls_graph_node(tui_cur(a)->g, node)->name);
}

static void dump_svg(ls_tui *a, const char *path)
{
    const ls_tensor *t;
    int node;
    if (!*path) {
        tui_say(a, true, "%s", tui_s(a, S_SVG_NAME));
        return;
    }
    if (selected_tensor(a, &t, &node))
        return;
    tui_slice s;
    tui_slice_of(a, t, &s);
    if ((int64_t)s.rows * s.cols > (1 << 20)) {
        tui_say(a, true, tui_s(a, S_SVG_TOO_LARGE), s.rows, s.cols);
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
    /* model and point on the first line, where in the tensor on the second */
    char title[640], sub[256], shape[64];
    const char *md = a->model ? ls_model_dir(a->model) : a->title, *sl = strrchr(md, '/');
    const ls_node *nd = ls_graph_node(tui_cur(a)->g, node);
    md = sl && sl[1] ? sl + 1 : md;
    snprintf(title, sizeof title, "%s%s%s", md, *md ? "  " : "", nd->name);
    int k = snprintf(sub, sizeof sub, "%s", ls_shape_str(t, shape, sizeof shape));
    if (t->ndim >= 3)
        k += snprintf(sub + k, sizeof sub - (size_t)k, "  batch %d of %d", s.batch, s.n_batch);
    if (t->ndim >= 4)
        snprintf(sub + k, sizeof sub - (size_t)k, "  head %d of %d", s.head, s.n_head);
    ls_svg_heatmap hm = {.v = v, .masked = mk, .rows = s.rows, .cols = s.cols,
                         .row_labels = (const char *const *)rl, .col_labels = (const char *const *)cl,
                         .title = title, .subtitle = sub,
                         .map = !strcmp(nd->point, "attn") || nd->op == LS_OP_SOFTMAX
                                    ? LS_SVG_MAP_PROB : LS_SVG_MAP_AUTO};
    if (!rc)
        rc = ls_svg_write(path, &hm, &err);
    if (rc)
        tui_say(a, true, tui_s(a, S_SVG_ERROR), err.msg[0] ? err.msg : tui_s(a, S_NO_MEMORY));
    else
        tui_say(a, false, tui_s(a, S_WROTE_SVG), path, s.rows, s.cols,
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
    char *word = a->line.buf;
    if (a->prompt == PROMPT_COMMAND) {
        char *sp = strrchr(a->line.buf, ' ');
        if (!sp) {
            tui_say(a, false, "%s", tui_s(a, S_COMMANDS));
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
                if (!tui_node_is_point(r->g, i))
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
        tui_say(a, true, tui_s(a, S_COMPLETE_NONE), word);
        return;
    }
    size_t room = sizeof a->line.buf - (size_t)(word - a->line.buf) - 1;
    snprintf(word, room + 1, "%s", best);
    a->line.len = a->line.pos = (int)strlen(a->line.buf);
    if (count == 1)
        tui_say(a, false, "%s", "");
    else
        tui_say(a, false, tui_s(a, S_COMPLETE_MANY), count, list);
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
        tui_say(a, true, "%s", tui_s(a, S_VIEW_NAMES));
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
            tui_say(a, false, tui_s(a, S_BREAKPOINTS), a->n_breaks ? list : tui_s(a, S_W_NONE));
        } else if (tui_break_add(a, arg) == LS_OK) {
            tui_say(a, false, tui_s(a, S_BREAK_SET), arg);
        }
    } else if (!strcmp(cmd, "delete") || !strcmp(cmd, "nobreak") || !strcmp(cmd, "d")) {
        if (tui_break_remove(a, *arg ? arg : "*"))
            tui_say(a, false, tui_s(a, S_BREAK_REMOVED), *arg ? arg : tui_s(a, S_W_ALL));
        else
            tui_say(a, true, tui_s(a, S_NO_BREAKPOINT), arg);
    } else if (!strcmp(cmd, "goto") || !strcmp(cmd, "g")) {
        tui_go_to(a, arg);
    } else if (!strcmp(cmd, "set")) {
        tui_edit_cursor(a, arg);
    } else if (!strcmp(cmd, "zero")) {
        tui_zero_slice(a);
    } else if (!strcmp(cmd, "undo") || !strcmp(cmd, "u")) {
        tui_undo(a);
    } else if (!strcmp(cmd, "module")) {
        tui_module_run(a, arg);
    } else if (!strcmp(cmd, "main") || !strcmp(cmd, "back")) {
        tui_module_back(a);
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
        tui_say(a, true, tui_s(a, S_UNKNOWN_COMMAND), cmd);
    }
    return LS_TUI_REDRAW;
}

/* Keys while a prompt is open: they edit its line (line.c) until Enter
 * runs it or Esc closes it; Backspace on an empty line leaves it open, so
 * the letters typed next never fall through as debugger commands. */
unsigned tui_feed_prompt(ls_tui *a, int key)
{
    if (key == LS_KEY_ESC || key == LS_KEY_CTRL('c') || key == LS_KEY_CTRL('g')) {
        a->prompt = PROMPT_NONE;
        tui_say(a, false, "%s", "");
        return LS_TUI_REDRAW;
    }
    if (key == LS_KEY_TAB) {
        if (a->prompt != PROMPT_SET) {
            a->line.pos = a->line.len;  /* completion works on the end of the line */
            complete(a);
        }
        return LS_TUI_REDRAW;
    }
    if (key == LS_KEY_ENTER || key == '\r') {
        int kind = a->prompt;
        a->prompt = PROMPT_NONE;
        tui_say(a, false, "%s", "");
        char line[sizeof a->line.buf];
        snprintf(line, sizeof line, "%s", a->line.buf);
        if (kind == PROMPT_COMMAND)
            return ls_tui_command(a, line);
        if (kind == PROMPT_GOTO)
            tui_go_to(a, line);
        else if (kind == PROMPT_SET)
            tui_edit_cursor(a, line);
        return LS_TUI_REDRAW;
    }
    return tui_line_key(&a->line, key) ? LS_TUI_REDRAW : 0;
}

void tui_open_prompt(ls_tui *a, int kind, const char *init)
{
    a->prompt = kind;
    tui_line_set(&a->line, init);
    tui_say(a, false, "%s", "");
}
