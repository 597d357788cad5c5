/* The lesson pane: the step's narration (live shapes filled in), the
 * question, and the feedback with its reason.  Text is UTF-8 wrapped by
 * display width, so Chinese lines fill the same columns as English ones.
 * In classroom mode it covers the screen, double-spaced, for a projector. */
#include <stdio.h>
#include <string.h>

#include "layerstep/lesson.h"
#include "tui_internal.h"

#define MAX_LINES 64

typedef struct para {
    const char *s;
    int style;
} para;

/* The paragraphs of the current step, in order; returns the count. */
static int paras(ls_tui *a, char *narr, size_t nn, char *prompt, size_t pn, char *head, size_t hn,
                 char *hint, size_t in, para *p)
{
    const ls_lesson *L = a->les.lesson;
    const ls_lesson_step *s = &L->steps[a->les.step];
    int lang = a->les.lang;
    snprintf(head, hn, tui_s(a, S_L_HEAD), L->id,
             a->les.step + 1, L->n_steps, s->point);
    /* live shapes, except what the open question asks for */
    ls_lesson_expand_live(ls_ltext_get(&s->text, lang), tui_ccur(a)->g, tui_ccur(a)->ex, a->model,
                          tui_quiz_hide_cb, a, narr, nn);
    int n = 0;
    p[n++] = (para){narr, LS_STY_NORMAL};
    bool open = tui_quiz_open(a);
    if (s->q.kind) {
        ls_lesson_expand_live(ls_ltext_get(&s->q.prompt, lang), tui_ccur(a)->g, tui_ccur(a)->ex, a->model,
                              tui_quiz_hide_cb, a, prompt, pn);
        p[n++] = (para){prompt, LS_STY_CURRENT};
    }
    if (a->les.answer == 1)
        p[n++] = (para){a->les.reason, LS_STY_TITLE};
    else if (a->les.answer == 2 || a->les.answer == 3)
        p[n++] = (para){a->les.reason, a->les.answer == 2 ? LS_STY_WARN : LS_STY_EDITED};
    bool last = a->les.step + 1 >= L->n_steps;
    tui_str h = a->les.cover                                            ? S_L_HINT_COVER
                : open && a->les.typing && s->q.kind == LS_Q_CHOICE ? S_L_HINT_CHOICE
                : open && a->les.typing                               ? S_L_HINT_TYPE
                : open                                                ? S_L_HINT_REOPEN
                : last                                                ? S_L_HINT_FINISH
                                                                      : S_L_HINT_NEXT;
    snprintf(hint, in, "%s", tui_s(a, h));
    if (last && !open) {
        int first, retry, shown, asked;
        tui_quiz_score(a, &first, &retry, &shown, &asked);
        size_t k = strlen(hint);
        if (asked)
            snprintf(hint + k, in - k, tui_s(a, S_L_SCORE),
                     first, asked, retry, shown);
    }
    p[n++] = (para){hint, LS_STY_DIM};
    return n;
}

static int layout(ls_tui *a, int w, bool draw, ls_canvas *c, int y0, int x0, int h)
{
    char narr[4096], prompt[1024], head[256], hint[400];
    para p[6];
    int np = paras(a, narr, sizeof narr, prompt, sizeof prompt, head, sizeof head, hint, sizeof hint, p);
    bool big = a->les.cover;
    int margin = big ? 4 : 1, tw = w - 2 * margin;
    int y = 0;
    if (draw) {
        ls_canvas_fill(c, y0, x0, w, ' ', LS_STY_TITLE);
        ls_canvas_text(c, y0, x0, w, LS_STY_TITLE, head, (int)strlen(head));
    }
    y += big ? 2 : 1;
    for (int i = 0; i < np; i++) {
        int lens[MAX_LINES];
        int nl = ls_text_wrap(p[i].s, tw, lens, MAX_LINES);
        for (int k = 0; k < nl; k++) {
            if (draw && y < h)
                ls_canvas_text(c, y0 + y, x0 + margin, tw, p[i].style, p[i].s + (lens[k] >> 16),
                               lens[k] & 0xffff);
            y += big ? 2 : 1;  /* classroom: double-spaced for the back row */
        }
        if (big)
            y++;
    }
    return y;
}

int ls_pane_lesson_rows(ls_tui *a, int w)
{
    return layout(a, w, false, NULL, 0, 0, 0);
}

void ls_pane_lesson_draw(ls_tui *a, ls_canvas *c, int y, int x, int h, int w)
{
    for (int i = 0; i < h; i++)
        ls_canvas_fill(c, y + i, x, w, ' ', LS_STY_NORMAL);
    layout(a, w, true, c, y, x, h);
}
