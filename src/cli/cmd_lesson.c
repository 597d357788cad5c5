/* layerstep lessons / lesson N: guided walks through real forward passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tui/screen_curses.h"
#include "cli.h"
#include "layerstep/audio.h"
#include "layerstep/lesson.h"

static const char *const lesson_usage =
    "usage: layerstep lesson N [--lang en|zh] [--classroom] [--restart] [--answers]\n"
    "                          [--wav FILE] [--record FILE] [--replay FILE [--delay MS]]\n"
    "                          [--no-ahead]\n"
    "       layerstep lessons [--lang en|zh]\n"
    "\n"
    "A lesson steps through a real model run with narration and questions.\n"
    "n or Enter goes to the next step; a question is answered on the bottom\n"
    "line (an empty answer shows the right one).  Every other debugger key\n"
    "works as usual (? lists them).  Progress is saved and resumed.\n"
    "\n"
    "  --lang en|zh   narration language (default: from LANG/LC_ALL)\n"
    "  --classroom    for a projector: the narration takes at least half the\n"
    "                 screen, the grid is reduced to the part the step is about\n"
    "  --restart      start at step 1 instead of the saved step\n"
    "  --answers      print each question's answer, worked out from the model\n"
    "  --wav FILE     a speech lesson on your own recording instead of its clip\n"
    "                 (16-bit PCM or float WAV; other rates are resampled to\n"
    "                 16 kHz and stereo mixed down, said on the status line)\n"
    "  --no-ahead     compute only when a key asks (by default the nodes past the\n"
    "                 one shown are computed while you read, hidden until reached)\n";

static const char *lessons_dir(void)
{
    const char *d = getenv("LAYERSTEP_LESSONS");
    return d && d[0] ? d : LS_LESSONS_DIR;
}

static const char *data_dir(void)
{
    const char *d = getenv("LAYERSTEP_DATA");
    return d && d[0] ? d : LS_DATA_DIR;
}

/* The lesson file whose number is n ("2" and "02" both name 02_*.json). */
static int find_lesson(const char *num, char *path, size_t size)
{
    char **paths;
    int n;
    ls_error err = {0};
    if (ls_lesson_list(lessons_dir(), &paths, &n, &err)) {
        cli_error(err.msg);
        return 2;
    }
    /* digits only: "1abc" and "4.9" name no lesson rather than lesson 1 or 4 */
    unsigned long long want;
    if (!*num || strspn(num, "0123456789") != strlen(num) || strlen(num) > 6) {
        fprintf(stderr, "layerstep lesson: a lesson is named by its number (like 2 or 02), got '%s'\n",
                num);
        ls_lesson_list_free(paths, n);
        return 2;
    }
    want = strtoull(num, NULL, 10);
    int found = -1;
    for (int i = 0; i < n; i++) {
        const char *base = strrchr(paths[i], '/') ? strrchr(paths[i], '/') + 1 : paths[i];
        if (base[0] >= '0' && base[0] <= '9' && strtoull(base, NULL, 10) == want)
            found = i;
    }
    if (found >= 0)
        snprintf(path, size, "%s", paths[found]);
    ls_lesson_list_free(paths, n);
    if (found < 0) {
        fprintf(stderr, "layerstep: no lesson %s in %s ('layerstep lessons' lists them)\n", num,
                lessons_dir());
        return 2;
    }
    return 0;
}

/* One lesson's line in a list: "02  Masks and ..." and its progress
 * mark ("[done]", "[step 3/12]" or ""); *done when finished. */
static int lesson_entry(const char *path, int lang, const char *prog /* may be NULL */, char *label, size_t ln,
                        char *mark, size_t mn, bool *done, ls_error *err)
{
    ls_lesson *L;
    if (ls_lesson_load(path, &L, err))
        return 2;
    int step = 0;
    bool any = false;
    *done = false;
    ls_error perr = {0};
    if (prog && ls_progress_get(prog, L->id, &step, done, &any, &perr))
        fprintf(stderr, "layerstep: progress: %s\n", perr.msg);
    bool zh = lang == LS_LANG_ZH;
    /* a title is read from a file: no escape sequence reaches the terminal */
    char id[64], title[400];
    snprintf(label, ln, "%s  %s", ls_printable(L->id, id, sizeof id),
             ls_printable(ls_ltext_get(&L->title, lang), title, sizeof title));
    if (*done)
        snprintf(mark, mn, "%s", zh ? "[已完成]" : "[done]");
    else if (step > 0)
        snprintf(mark, mn, zh ? "[第 %d/%d 步]" : "[step %d/%d]", step + 1, L->n_steps);
    else
        mark[0] = '\0';
    ls_lesson_free(L);
    return 0;
}

static int print_list(int lang)
{
    char **paths;
    int n;
    ls_error err = {0};
    if (ls_lesson_list(lessons_dir(), &paths, &n, &err)) {
        cli_error(err.msg);
        return 2;
    }
    char *prog = ls_progress_path();
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char label[512], mark[64];
        bool done;
        if (lesson_entry(paths[i], lang, prog, label, sizeof label, mark, sizeof mark, &done, &err)) {
            cli_error(err.msg);
            rc = 2;
            continue;
        }
        printf("  %s%s%s\n", label, mark[0] ? "  " : "", mark);
    }
    free(prog);
    ls_lesson_list_free(paths, n);
    return rc;
}

static int parse_lang(const char *v, int *lang)
{
    *lang = ls_lesson_lang(v);
    if (*lang < 0) {
        fprintf(stderr, "layerstep: --lang takes en or zh, got '%s'\n", v);
        return 2;
    }
    return 0;
}

int cmd_lessons(int argc, char **argv)
{
    int lang = ls_lesson_lang_default();
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--lang") && i + 1 < argc) {
            if (parse_lang(argv[++i], &lang))
                return 2;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(lesson_usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "layerstep lessons: unknown option '%s'\n%s", argv[i], lesson_usage);
            return 2;
        }
    }
    ls_tui_locale(false, &(ls_error){0});  /* printed, not drawn: any locale will do */
    int rc = print_list(lang);
    printf("\n%s\n", lang == LS_LANG_ZH ? "用 `layerstep lesson N` 开始一课（例如 layerstep lesson 2）"
                                          : "Start one with `layerstep lesson N` (e.g. layerstep lesson 2).");
    return rc;
}

/* What was done to a WAV input before the model heard it ("" if nothing),
 * in the lesson's language: the CLI's own notice, for the status line. */
static void wav_notice(const ls_lesson_run *run, int lang, char *buf, size_t n)
{
    bool zh = lang == LS_LANG_ZH;
    char p[600];
    ls_printable(run->wav_path, p, sizeof p);
    buf[0] = '\0';
    if (run->wav_rate && run->wav_rate != LS_WAV_RATE && run->wav_channels > 1)
        snprintf(buf, n, zh ? "%s：%d Hz 已重采样为 %d Hz，%d 个声道已混为单声道"
                            : "%s: %d Hz resampled to %d Hz, %d channels mixed down to mono",
                 p, run->wav_rate, LS_WAV_RATE, run->wav_channels);
    else if (run->wav_rate && run->wav_rate != LS_WAV_RATE)
        snprintf(buf, n, zh ? "%s：%d Hz 已重采样为 %d Hz" : "%s: %d Hz resampled to %d Hz", p,
                 run->wav_rate, LS_WAV_RATE);
    else if (run->wav_channels > 1)
        snprintf(buf, n, zh ? "%s：%d 个声道已混为单声道" : "%s: %d channels mixed down to mono", p,
                 run->wav_channels);
}

/* A lesson whose runs do not check: one line; a learner's clip (read
 * fine, else the run would not have opened) too short for the frames a
 * step edits or asks about is told so by name. */
static void check_error(const ls_lesson *L, const ls_error *err)
{
    if (L->user_wav && (err->code == LS_ERR_RANGE || err->code == LS_ERR_SHAPE)) {
        char p[600];
        fprintf(stderr, "layerstep: %s: too short for lesson %s (%s); record a longer clip\n",
                ls_printable(L->user_wav, p, sizeof p), L->id, err->msg);
        return;
    }
    cli_error(err->msg);
}

static int answers(const ls_lesson *L, int lang)
{
    ls_lesson_run run;
    ls_error err = {0};
    if (ls_lesson_run_open(L, data_dir(), &(ls_exec_opts){.threads = 1}, &run, &err)) {
        cli_error(err.msg);
        return 2;
    }
    /* the same checks a session makes: answers of a lesson that would be
     * refused are not printed as if it were fine */
    if (ls_lesson_check_all(L, &run, &err)) {
        check_error(L, &err);
        ls_lesson_run_close(&run);
        return 2;
    }
    char note[1200];
    wav_notice(&run, lang, note, sizeof note);
    if (note[0])
        fprintf(stderr, "layerstep: %s\n", note);
    int rc = 0;
    for (int i = 0; i < L->n_steps; i++) {
        if (!L->steps[i].q.kind)
            continue;
        char ans[256];
        if (ls_lesson_solve(L, i, &run, ans, sizeof ans, &err)) {
            cli_error(err.msg);
            rc = 2;
            break;
        }
        char prompt[1024];
        ls_lesson_expand_live(ls_ltext_get(&L->steps[i].q.prompt, lang), run.g, run.ex, run.m, NULL, NULL,
                              prompt, sizeof prompt);
        /* a fourth column: the text a screen must not show while the
         * question is open (a choice's text, else the answer itself) */
        const ls_lesson_question *q = &L->steps[i].q;
        char told[256];
        snprintf(told, sizeof told, "%s", ans);
        if (q->kind == LS_Q_CHOICE && ans[0] >= 'a' && ans[0] - 'a' < q->n_choices)
            ls_lesson_expand(ls_ltext_get(&q->choices[ans[0] - 'a'], lang), run.g, told, sizeof told);
        /* a unit ("l", "blank") or a count ("17") stands on any screen for
         * other reasons (frame numbers, the narration's words): no text to
         * look for; the quiz hides the tensor that tells it (see quiz.c) */
        if (q->kind == LS_Q_COUNT || (q->kind == LS_Q_TEXT && q->n_index))
            told[0] = '\0';
        /* a column number stands on screen anyway (the axis labels): the
         * reveal's words are what must wait */
        else if (q->kind == LS_Q_ARGMAX)
            snprintf(told, sizeof told, lang == LS_LANG_ZH ? "第 %s 列" : "column %s", ans);
        char sa[256], sp[1024], st[256];
        printf("step %d\t%s\t%s\t%s\n", i + 1, ls_printable(ans, sa, sizeof sa),
               ls_printable(prompt, sp, sizeof sp), ls_printable(told, st, sizeof st));
    }
    ls_lesson_run_close(&run);
    return rc;
}

static int lesson_session(const char *path, int lang, bool classroom, bool restart,
                          bool show_answers, const char *wav, const ls_screen_opts *so);

int cmd_lesson(int argc, char **argv)
{
    int lang = ls_lesson_lang_default();
    bool classroom = false, restart = false, show_answers = false;
    const char *num = NULL, *wav = NULL;
    ls_screen_opts so = {0};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(lesson_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--lang") && has) {
            if (parse_lang(argv[++i], &lang))
                return 2;
        } else if (!strcmp(a, "--classroom")) {
            classroom = true;
        } else if (!strcmp(a, "--restart")) {
            restart = true;
        } else if (!strcmp(a, "--answers")) {
            show_answers = true;
        } else if (!strcmp(a, "--wav") && has) {
            wav = argv[++i];
        } else if (!strcmp(a, "--record") && has) {
            so.record = argv[++i];
        } else if (!strcmp(a, "--replay") && has) {
            so.replay = argv[++i];
        } else if (!strcmp(a, "--no-ahead")) {
            so.no_ahead = true;
        } else if (!strcmp(a, "--delay") && has) {
            unsigned long long ms;
            if (cli_parse_count(argv[++i], 60000, &ms, a, "lesson"))
                return 2;
            so.delay_ms = (int)ms;
        } else if (a[0] != '-' && !num) {
            num = a;
        } else {
            fprintf(stderr, "layerstep lesson: unknown or incomplete option '%s'\n%s", a, lesson_usage);
            return 2;
        }
    }
    if (!num) {
        fputs(lesson_usage, stderr);
        return 2;
    }
    char path[1024];
    if (find_lesson(num, path, sizeof path))
        return 2;
    return lesson_session(path, lang, classroom, restart, show_answers, wav, &so);
}

/* One lesson in the TUI (or its answers printed); the process exit code. */
static int lesson_session(const char *path, int lang, bool classroom, bool restart,
                          bool show_answers, const char *wav, const ls_screen_opts *sop)
{
    ls_screen_opts so = *sop;
    ls_lesson *L;
    ls_error err = {0};
    if (ls_lesson_load(path, &L, &err)) {
        cli_error(err.msg);
        return 2;
    }
    if (wav && !ls_lesson_takes_wav(L)) {
        char id[64];
        fprintf(stderr, "layerstep: --wav %s: lesson %s takes no audio (its model reads text or tensors)\n",
                wav, ls_printable(L->id, id, sizeof id));
        ls_lesson_free(L);
        return 2;
    }
    if (wav && !(L->user_wav = strdup(wav))) {
        cli_error("out of memory");
        ls_lesson_free(L);
        return 2;
    }
    if (show_answers) {
        int rc = answers(L, lang);
        ls_lesson_free(L);
        return rc;
    }
    /* before the seconds of opening the runs: Chinese needs a UTF-8 terminal */
    if (ls_tui_locale(lang == LS_LANG_ZH, &err)) {
        cli_error(err.msg);
        ls_lesson_free(L);
        return 2;
    }
    ls_lesson_run run;
    int rc = 0;
    ls_tui *app = NULL;
    /* no tty, TERM=dumb, a bad --replay/--record: before the models load */
    if (ls_screen_check(&so, &err)) {
        cli_error(err.msg);
        ls_lesson_free(L);
        return 2;
    }
    ls_exec_opts eo = {.cancel = ls_screen_cancel_flag()};
    /* every run of the lesson is opened and checked first (seconds for the
     * article-size models): say so rather than leave a blank terminal */
    if (isatty(STDOUT_FILENO)) {
        char id[64], title[400];
        printf(lang == LS_LANG_ZH ? "正在打开第 %s 课：%s ……\n" : "Opening lesson %s: %s ...\n",
               ls_printable(L->id, id, sizeof id),
               ls_printable(ls_ltext_get(&L->title, lang), title, sizeof title));
        fflush(stdout);
    }
    bool opened = !ls_lesson_run_open(L, data_dir(), &eo, &run, &err);
    if (!opened || ls_lesson_check_all(L, &run, &err)) {
        if (opened)
            check_error(L, &err);
        else
            cli_error(err.msg);
        ls_lesson_free(L);
        if (run.g)
            ls_lesson_run_close(&run);
        return 2;
    }
    char *prog = ls_progress_path();
    int step = 0;
    if (prog && !restart) {
        bool done, any;
        ls_error perr = {0};
        /* a file that cannot be read: the lesson starts at step 1, says
         * why on its status line, and never writes over that file */
        ls_progress_get(prog, L->id, &step, &done, &any, &perr);
        if (done)
            step = 0;  /* a finished lesson starts over */
    }
    char note[1200];
    wav_notice(&run, lang, note, sizeof note);
    ls_tui_opts to = {.model = run.m, .inputs = run.in, .lesson = L, .lang = lang, .data_dir = data_dir(),
                      .classroom = classroom, .lesson_step = step, .progress = prog,
                      .exec = eo, .notice = note};
    if (ls_tui_new(run.g, run.ex, &to, &app, &err)) {
        cli_error(err.msg);
        rc = 2;
    } else {
        rc = ls_screen_run(app, &so, &err);
        if (rc == 2)
            cli_error(err.msg);
        /* the status line said it; the terminal keeps it after the screen is gone */
        if (ls_tui_progress_error(app))
            fprintf(stderr, "layerstep: progress: %s\n", ls_tui_progress_error(app));
    }
    free(prog);
    ls_tui_free(app);
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
    return rc;
}

static unsigned menu_feed(void *m, int key) { return ls_menu_feed(m, key); }
static void menu_draw(void *m, ls_canvas *c) { ls_menu_draw(m, c); }
static void menu_size(void *m, int w, int h) { ls_menu_set_size(m, w, h); }

/* The lesson list as a screen: returns the chosen lesson's path in path
 * (0), nothing chosen (1), or an exit code >= 2 / 128+signal. */
static int pick_lesson(int lang, char *path, size_t size)
{
    char **paths;
    int n;
    ls_error err = {0};
    if (ls_lesson_list(lessons_dir(), &paths, &n, &err)) {
        cli_error(err.msg);
        return 2;
    }
    bool zh = lang == LS_LANG_ZH;
    ls_menu *m = NULL;
    int rc = 0, first_open = -1;
    if (ls_menu_new(zh ? "课程" : "Lessons",
                    zh ? "上/下 选择  回车 打开  数字 跳转  q 退出"
                       : "Up/Down choose  Enter open  1-9 jump  q quit",
                    &m, &err)) {
        cli_error(err.msg);
        ls_lesson_list_free(paths, n);
        return 2;
    }
    ls_menu_set_lang(m, lang);
    char *prog = ls_progress_path();
    for (int i = 0; i < n && !rc; i++) {
        char label[512], mark[64];
        bool done;
        if (lesson_entry(paths[i], lang, prog, label, sizeof label, mark, sizeof mark, &done, &err) ||
            ls_menu_add(m, label, mark, &err)) {
            cli_error(err.msg);
            rc = 2;
        }
        if (!done && first_open < 0)
            first_open = i;
    }
    if (!rc) {
        /* the first lesson not finished yet is where a learner goes on */
        ls_menu_select(m, first_open >= 0 ? first_open : 0);
        ls_screen_view v = {.ud = m, .feed = menu_feed, .draw = menu_draw, .set_size = menu_size};
        rc = ls_screen_run_view(&v, &(ls_screen_opts){0}, &err);
        if (rc == 2)
            cli_error(err.msg);
        else if (!rc && ls_menu_chosen(m) < 0)
            rc = 1;
        else if (!rc)
            snprintf(path, size, "%s", paths[ls_menu_chosen(m)]);
    }
    free(prog);
    ls_menu_free(m);
    ls_lesson_list_free(paths, n);
    return rc;
}

/* Bare `layerstep`: lesson 01 on the first start, then the lesson list as
 * a screen; leaving a lesson with q comes back to the list, q there quits.
 * Without a terminal, the list is printed. */
int cli_default(const char *argv0)
{
    (void)argv0;
    char *prog = ls_progress_path();
    int step;
    bool done, any = false;
    ls_error perr = {0};
    if (prog && ls_progress_get(prog, NULL, &step, &done, &any, &perr)) {
        fprintf(stderr, "layerstep: progress: %s\n", perr.msg);
        any = true;  /* a learner's file we cannot read: not a first start */
    }
    free(prog);
    int lang = ls_lesson_lang_default();
    bool term = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    ls_error err = {0};
    /* the lesson list and lessons are drawn: Chinese needs UTF-8 */
    if (ls_tui_locale(term && lang == LS_LANG_ZH, &err)) {
        cli_error(err.msg);
        return 2;
    }
    if (!term) {
        printf("%s\n\n", lang == LS_LANG_ZH ? "layerstep 课程：" : "layerstep lessons:");
        if (print_list(lang))
            return 2;
        printf("\n%s\n", lang == LS_LANG_ZH ? "用 `layerstep lesson N` 开始一课（需要终端）"
                                            : "Start one with `layerstep lesson N` (needs a terminal).");
        return 0;
    }
    char path[1024];
    if (!any) {
        if (find_lesson("1", path, sizeof path))
            return 2;
        int rc = lesson_session(path, lang, false, false, false, NULL, &(ls_screen_opts){0});
        if (rc)
            return rc;
    }
    for (;;) {
        int rc = pick_lesson(lang, path, sizeof path);
        if (rc == 1)
            return 0;
        if (rc)
            return rc;
        rc = lesson_session(path, lang, false, false, false, NULL, &(ls_screen_opts){0});
        if (rc)
            return rc;
    }
}
