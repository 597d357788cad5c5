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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/lesson.h"
#include "app_internal.h"

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
    tui_rows_update(r);
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
                tui_rows_update(r);
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
        tui_say(a, false, tui_s(a, S_SELECT_TO_CHOOSE), tui_s(a, head ? S_W_HEAD : S_W_BATCH_ITEM));
        return;
    }
    tui_slice s;
    tui_slice_of(a, t, &s);
    int n = head ? s.n_head : s.n_batch;
    int *v = head ? &a->head : &a->batch;
    if (n <= 1) {
        tui_say(a, false, tui_s(a, S_NO_DIM), ls_graph_node(tui_cur(a)->g, node)->name,
            tui_s(a, head ? S_W_HEAD : S_W_BATCH));
        return;
    }
    /* start from the clamped value so a stale index does not stall */
    *v = (head ? s.head : s.batch) + d;
    if (*v < 0)
        *v = 0;
    if (*v >= n)
        *v = n - 1;
    a->heat.valid = false;
    tui_say(a, false, tui_s(a, S_SLICE_OF), tui_s(a, head ? S_W_HEAD : S_W_BATCH_ITEM), *v, n);
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
        return tui_feed_prompt(a, key);
    if (a->les.typing && !a->help) {
        int rc = tui_quiz_key(a, key);
        if (rc >= 0)
            return (unsigned)rc;
    }
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
    if (tui_lesson_key(a, key))
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
        tui_say(a, true, tui_s(a, S_KEY_NOTHING), ls_tui_key_name(key, kn, sizeof kn));
        return LS_TUI_REDRAW;
    }
    case ACT_STEP_INTO: tui_step_into(a); break;
    case ACT_STEP_OVER: tui_step_over(a); break;
    case ACT_STEP_OUT: tui_step_out(a); break;
    case ACT_CONTINUE: tui_cont(a); break;
    case ACT_STEP_BACK: tui_step_back(a); break;
    case ACT_RESTART: tui_restart(a); break;
    case ACT_BREAK_TOGGLE: tui_break_toggle(a); break;
    case ACT_GOTO: tui_open_prompt(a, PROMPT_GOTO, ""); break;
    case ACT_COMMAND: tui_open_prompt(a, PROMPT_COMMAND, ""); break;
    case ACT_EDIT: {
        int node = tui_selected_node(a);
        if (node < 0 || !tui_computed(r, node)) {
            tui_say(a, true, "%s", tui_s(a, S_NOTHING_TO_EDIT));
            break;
        }
        tui_open_prompt(a, PROMPT_SET, "");
        break;
    }
    case ACT_ZERO_HEAD: tui_zero_slice(a); break;
    case ACT_UNDO: tui_undo(a); break;
    case ACT_MODULE_RUN: tui_module_run(a, NULL); break;
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
            tui_say(a, true, "%s", tui_s(a, S_NO_ATTENTION));
        else
            a->attention = !a->attention;
        break;
    case ACT_EXPLAIN: a->explain = !a->explain; break;
    case ACT_HELP:
        a->help = true;
        a->help_top = 0;
        break;
    case ACT_REDRAW: break;
    case ACT_LESSON_BACK: tui_say(a, false, "%s", tui_s(a, S_LESSON_BACK_ONLY)); break;
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
    int rc = tui_run_init(&a->runs[0], g, ex, false, err);
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
        a->lang = o->lang;
        for (int i = 0; i < o->n_breaks; i++)
            if (tui_break_add(a, o->breaks[i])) {
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
    tui_rows_update(&a->runs[0]);
    tui_say(a, false, "%s", tui_s(a, S_WELCOME));
    if (o && o->lesson) {
        a->les.lesson = o->lesson;
        a->les.lang = o->lang;
        a->les.classroom = o->classroom;
        a->les.result = calloc((size_t)o->lesson->n_steps, 1);
        a->les.entry_edits = malloc((size_t)o->lesson->n_steps * sizeof *a->les.entry_edits);
        if (o->progress)
            a->les.progress = strdup(o->progress);
        if (!a->les.result || !a->les.entry_edits || (o->progress && !a->les.progress)) {
            ls_tui_free(a);
            return ls_error_set(err, LS_ERR_NOMEM, "out of memory starting the lesson");
        }
        for (int i = 0; i < o->lesson->n_steps; i++)
            a->les.entry_edits[i] = -1;
        /* how the questions went last time, so the score goes on; a
         * lesson started from its first step (new, restarted or finished
         * before) starts a new score */
        ls_error perr = {0};
        if (a->les.progress && o->lesson_step > 0 &&
            ls_progress_get_answers(a->les.progress, o->lesson->id, a->les.result, o->lesson->n_steps, &perr))
            snprintf(a->les.progress_err, sizeof a->les.progress_err, "%s", perr.msg);
        if (o->data_dir)
            snprintf(a->les.data_dir, sizeof a->les.data_dir, "%s", o->data_dir);
        a->les.model0 = a->model;
        a->les.inputs0 = a->inputs;
        if (!o->title)
            snprintf(a->title, sizeof a->title, "%s", ls_ltext_get(&o->lesson->title, o->lang));
        a->msg[0] = '\0';
        tui_lesson_enter(a, o->lesson_step);
        if (a->les.progress_err[0] && !a->msg_err)
            tui_say(a, true, tui_s(a, S_L_PROGRESS), a->les.progress_err);
    }
    /* converted input is not what the user handed over: said, as the CLI does */
    if (o && o->notice && o->notice[0] && !a->msg_err)
        tui_say(a, false, "%s", o->notice);
    *out = a;
    return LS_OK;
}

void ls_tui_free(ls_tui *a)
{
    if (!a)
        return;
    tui_run_free(&a->runs[1]);
    tui_lesson_drop_run(a);
    tui_run_free(&a->runs[0]);
    free(a->les.result);
    free(a->les.entry_edits);
    free(a->les.progress);
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

const char *ls_tui_progress_error(const ls_tui *a)
{
    return a->les.progress_err[0] ? a->les.progress_err : NULL;
}

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
    st->prompt = a->prompt != PROMPT_NONE || a->les.typing;
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
    const char *name = tui_s(a, S_STATUS_START);
    if (r->at >= 0) {
        name = ls_graph_node(r->g, r->at)->name;
        tui_shape_text(a, &ls_graph_node(r->g, r->at)->out, shape, sizeof shape);
    }
    /* where the view is (p moves it back), of how many nodes */
    int x = ls_canvas_printf(c, y, 0, c->w, LS_STY_STATUS, tui_s(a, S_STATUS_AT), name, shape,
                             r->at + 1, r->n_nodes);
    const char *const hints[] = {
        tui_s(a, S_HINTS_WIDE),
        tui_s(a, S_HINTS_MID),
        tui_s(a, S_HINTS_NARROW),
    };
    /* in a lesson n walks the lesson, so step over moves to N */
    const char *const lesson_hints[] = {
        tui_s(a, S_LHINTS_WIDE),
        tui_s(a, S_LHINTS_MID),
        tui_s(a, S_LHINTS_NARROW),
    };
    const char *const *hl_set = a->les.lesson ? lesson_hints : hints;
    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++) {
        int hl = ls_text_width(hl_set[i]);  /* columns: a CJK character takes two */
        if (x + 2 + hl <= c->w) {
            ls_canvas_printf(c, y, c->w - hl, hl, LS_STY_STATUS, "%s", hl_set[i]);
            break;
        }
    }
}

/* A prompt's line with the cursor where the editing happens; a long
 * line scrolls so the cursor stays in view. */
static void draw_line(ls_canvas *c, int y, const char *lead, const tui_line *l, int style)
{
    int lw = ls_text_width(lead);
    char before[sizeof l->buf];
    snprintf(before, sizeof before, "%.*s", l->pos, l->buf);
    const char *text = l->buf;
    /* drop whole characters from the left until the cursor fits */
    while (lw + ls_text_width(before) + 1 > c->w && *text) {
        uint32_t cp;
        int k = ls_utf8_decode(text, (int)strlen(text), &cp);
        memmove(before, before + k, strlen(before + k) + 1);
        text += k;
    }
    int x = ls_canvas_printf(c, y, 0, c->w, style, "%s", lead);
    x += ls_canvas_text(c, y, x, c->w - x, style, text, (int)strlen(text));
    int cx = lw + ls_text_width(before);
    if (cx < c->w) {
        const char *at = l->buf + l->pos;
        uint32_t cp = ' ';
        int k = *at ? ls_utf8_decode(at, (int)strlen(at), &cp) : 1;
        ls_canvas_text(c, y, cx, c->w - cx, LS_STY_SELECT, *at ? at : " ", k);
    }
}

static void draw_bottom(ls_tui *a, ls_canvas *c, int y)
{
    ls_canvas_fill(c, y, 0, c->w, ' ', LS_STY_NORMAL);
    if (a->prompt || a->les.typing) {
        /* ':' is the commands' own syntax (:break ...), in every language */
        const char *lead = a->prompt == PROMPT_COMMAND ? ":"
                         : tui_s(a, a->prompt == PROMPT_GOTO ? S_PROMPT_GOTO
                                    : a->prompt == PROMPT_SET ? S_PROMPT_SET : S_PROMPT_ANSWER);
        draw_line(c, y, lead, a->prompt ? &a->line : &a->les.line, LS_STY_NORMAL);
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
        ls_canvas_printf(c, y < 0 ? 0 : y, 0, c->w, LS_STY_WARN, "%s", tui_s(a, S_TOO_SMALL));
        ls_canvas_printf(c, y + 1, 0, c->w, LS_STY_NORMAL, tui_s(a, S_TOO_SMALL_NEED), c->w, c->h,
                         LS_TUI_MIN_W, LS_TUI_MIN_H);
        ls_canvas_printf(c, y + 2, 0, c->w, LS_STY_DIM, "%s", tui_s(a, S_TOO_SMALL_QUIT));
        return;
    }
    tui_run *r = tui_cur(a);
    tui_rows_update(r);
    ls_canvas_fill(c, 0, 0, c->w, ' ', LS_STY_TITLE);
    /* which run is shown goes before the (long) title, so 80 columns keep it */
    char which[1200] = "";
    if (a->cur == 1 && a->les.run && r->g == a->les.run->g && !a->les.run->module[0]) {
        const char *dir = a->les.run->model_dir, *slash = strrchr(dir, '/');
        snprintf(which, sizeof which, tui_s(a, S_TITLE_RUN), slash && slash[1] ? slash + 1 : dir);
    } else if (a->cur == 1 && a->les.run && r->g == a->les.run->g && a->les.run->random) {
        snprintf(which, sizeof which, tui_s(a, S_TITLE_MODRUN_RANDOM),
                 a->les.run->module, (unsigned long long)a->les.run->seed);
    } else if (a->cur == 1 && a->les.run && r->g == a->les.run->g) {
        snprintf(which, sizeof which, tui_s(a, S_TITLE_MODRUN_OWN), a->les.run->module);
    } else if (a->cur == 1) {
        snprintf(which, sizeof which, tui_s(a, S_TITLE_MODRUN),
                 ls_graph_module(r->g, r->n_mods > 1 ? 1 : 0)->path);
    }
    /* a speech model with a CTC head: what it heard, once the user has
     * stepped past the decoding (not when only computed ahead); before the
     * long title, so 80 columns keep it */
    char text[256], heard[300] = "";
    if (tui_whole_run(a) && a->model && ls_graph_find(r->g, "ctc_greedy_search") >= 0 &&
        ls_graph_find(r->g, "ctc_greedy_search") < r->front &&
        !tui_quiz_hides_point(a, "ctc_greedy_search") &&  /* the open question asks for it */
        ls_ctc_transcript(a->model, r->ex, a->batch, text, sizeof text))
        snprintf(heard, sizeof heard, tui_s(a, S_TITLE_HEARD), text);
    ls_canvas_printf(c, 0, 0, c->w, LS_STY_TITLE, " layerstep  %s%s%s", which, heard, a->title);
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
        /* classroom: the narration is what the back row reads, half the
         * screen at least; the grid keeps the cells around the step's own */
        if (a->les.classroom && lh < ph / 2)
            lh = ph / 2;
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

