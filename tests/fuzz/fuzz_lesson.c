/* libFuzzer target: bytes as a lesson file (ls_lesson_parse, no temp
 * file).  A lesson that parses is then checked against the toy
 * Transformer the bundled lessons use (data/toy_transformer_trained, its
 * inputs), whatever model it names, up to its first step with a "run"
 * switch (the parser still reads every step): every point is looked up
 * (ls_lesson_check_points), every text expanded into a roomy and a tiny
 * buffer, and every question solved on the live run (a direction
 * question edits a tensor, reruns, restores) and checked against the
 * right answer and a wrong one, the way the TUI and `lesson --answers` do.
 *
 * Property checked besides memory safety: a refused lesson gets an error
 * message that names the file. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/lesson.h"

#ifndef LS_FUZZ_MODELS
#define LS_FUZZ_MODELS "data"
#endif

#define NAME "fuzz/03_lesson.json"

/* The run every parsed lesson is checked on: its model list and inputs
 * are those of lessons/01 and 02. */
static const char run_lesson[] =
    "{\"title\": {\"en\": \"t\", \"zh\": \"t\"},"
    " \"model\": [\"toy_transformer_trained\", \"toy_transformer\"], \"input\": {\"dir\": \"inputs\"},"
    " \"steps\": [{\"point\": \"x\", \"text\": {\"en\": \"t\", \"zh\": \"t\"}}]}";

static void expand(const ls_ltext *t, const ls_graph *g)
{
    char big[2048], tiny[7];
    for (int l = 0; l < LS_LANG_COUNT; l++)
        if (t->s[l]) {
            ls_lesson_expand(t->s[l], g, big, sizeof big);
            ls_lesson_expand(t->s[l], g, tiny, sizeof tiny);
        }
}

static void walk(const ls_lesson *L, ls_lesson_run *run)
{
    /* the steps before the first "run" switch: the others look at runs
     * of other models, which would make one input cost seconds */
    for (int i = 0; i < L->n_steps && ls_lesson_run_start(L, i) == 0; i++) {
        const ls_lesson_step *s = &L->steps[i];
        expand(&s->text, run->g);
        if (!s->q.kind)
            continue;
        expand(&s->q.prompt, run->g);
        expand(&s->q.why, run->g);
        char ans[256], reason[1600];
        ls_error err = {0};
        if (ls_lesson_solve(L, i, run, ans, sizeof ans, &err)) {
            if (getenv("LS_FUZZ_VERBOSE"))
                fprintf(stderr, "step %d: %s\n", i + 1, err.msg);
            continue;
        }
        /* solve restored the edit: the watched value is the "before" */
        double before = ls_lesson_watch(&s->q, run->g, run->ex);
        for (int lang = 0; lang < LS_LANG_COUNT; lang++) {
            ls_lesson_check(&s->q, run->g, run->ex, &before, ans, lang, reason, sizeof reason);
            ls_lesson_check(&s->q, run->g, run->ex, &before, "[9, 9] z", lang, reason, sizeof reason);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    ls_lesson *L = NULL;
    ls_error err = {0};
    if (ls_lesson_parse((const char *)data, size, NAME, &L, &err)) {
        if (getenv("LS_FUZZ_VERBOSE"))
            fprintf(stderr, "%s\n", err.msg);
        if (L || strncmp(err.msg, NAME, strlen(NAME))) {
            fprintf(stderr, "fuzz_lesson: refused without naming the file: '%s'\n", err.msg);
            abort();
        }
        return 0;
    }
    /* the harness's one piece of state: the run, opened on the first
     * lesson that parses and kept (solve restores every edit it makes) */
    static ls_lesson *R;
    static ls_lesson_run run;
    if (!R && (ls_lesson_parse(run_lesson, sizeof run_lesson - 1, "run.json", &R, &err) ||
               ls_lesson_run_open(R, LS_FUZZ_MODELS, &(ls_exec_opts){.threads = 1}, &run, &err))) {
        fprintf(stderr, "fuzz_lesson: setup failed: %s\n", err.msg);
        abort();
    }
    if (!ls_lesson_check_points(L, run.g, &err))
        walk(L, &run);
    else if (getenv("LS_FUZZ_VERBOSE"))
        fprintf(stderr, "%s\n", err.msg);
    ls_lesson_free(L);
    return 0;
}
