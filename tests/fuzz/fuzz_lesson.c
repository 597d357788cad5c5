/* libFuzzer target: bytes as a lesson file (ls_lesson_parse, no temp
 * file).  A lesson that parses is then checked on one of three live runs:
 * lesson 01's trained model (data/mha_trained) when its first model is
 * mha_trained, the random-weight nn.MultiheadAttention of the same size
 * (data/mha_lesson, lesson 01's model before it was trained, its example
 * input) when it is mha_lesson, else lesson 02's toy Transformer
 * (data/toy_transformer_trained, its inputs), up to its first "run"
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

/* The runs parsed lessons are checked on: the models and inputs of
 * lessons/02, lesson 01's untrained model and lessons/01 (cheap ones; the
 * speech lessons' models take seconds to load). */
static const char *const run_lessons[3] = {
    "{\"title\": {\"en\": \"t\", \"zh\": \"t\"},"
    " \"model\": [\"toy_transformer_trained\", \"toy_transformer\"], \"input\": {\"dir\": \"inputs\"},"
    " \"steps\": [{\"point\": \"x\", \"text\": {\"en\": \"t\", \"zh\": \"t\"}}]}",
    "{\"title\": {\"en\": \"t\", \"zh\": \"t\"}, \"model\": \"mha_lesson\","
    " \"steps\": [{\"point\": \"x\", \"text\": {\"en\": \"t\", \"zh\": \"t\"}}]}",
    "{\"title\": {\"en\": \"t\", \"zh\": \"t\"}, \"model\": \"mha_trained\","
    " \"steps\": [{\"point\": \"x\", \"text\": {\"en\": \"t\", \"zh\": \"t\"}}]}"};

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
            ls_lesson_check(&s->q, run->g, run->ex, run->m, &before, ans, lang, reason, sizeof reason);
            ls_lesson_check(&s->q, run->g, run->ex, run->m, &before, "[9, 9] z", lang, reason, sizeof reason);
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
    /* the harness's one piece of state: the two runs, each opened when a
     * lesson first needs it and kept (solve restores every edit it makes) */
    static ls_lesson *R[3];
    static ls_lesson_run runs[3];
    int k = L->n_models == 0 ? 0 : !strcmp(L->models[0], "mha_lesson") ? 1
                                 : !strcmp(L->models[0], "mha_trained") ? 2 : 0;
    if (!R[k] && (ls_lesson_parse(run_lessons[k], strlen(run_lessons[k]), "run.json", &R[k], &err) ||
                  ls_lesson_run_open(R[k], LS_FUZZ_MODELS, &(ls_exec_opts){.threads = 1}, &runs[k],
                                     &err))) {
        fprintf(stderr, "fuzz_lesson: setup failed: %s\n", err.msg);
        abort();
    }
    if (!ls_lesson_check_points(L, runs[k].g, &err))
        walk(L, &runs[k]);
    else if (getenv("LS_FUZZ_VERBOSE"))
        fprintf(stderr, "%s\n", err.msg);
    ls_lesson_free(L);
    return 0;
}
