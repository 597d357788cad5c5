/* libFuzzer target: random key sequences through the TUI in lesson mode,
 * on the real lessons 01 (the trained nn.MultiheadAttention, data/mha_trained) and 02
 * (the toy Transformer), opened the way `layerstep lesson N` opens them.
 *
 * Byte 0 picks the lesson (bit 0), the language (bit 1), classroom mode
 * (bit 2); byte 1 the step to start at (resumed progress, any number);
 * the rest are keys as in tui_keys.h (answers typed at the prompt, n/N,
 * the debugger's own keys and ':' commands, resizes).  No progress file
 * is written; ':dump'/':svg' write into a scratch directory. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "layerstep/lesson.h"
#include "layerstep/tui.h"
#include "tui_keys.h"

#ifndef LS_FUZZ_MODELS
#define LS_FUZZ_MODELS "data"
#endif
#ifndef LS_FUZZ_LESSONS
#define LS_FUZZ_LESSONS "lessons"
#endif

static const char *const lessons[2] = {LS_FUZZ_LESSONS "/01_self_attention.json",
                                       LS_FUZZ_LESSONS "/02_masks_teacher_forcing.json"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_enter_scratch();
    if (size < 2 || size > 4096)
        return 0;
    ls_error err = {0};
    ls_lesson *L = NULL;
    ls_lesson_run run = {0};
    ls_tui *app = NULL;
    if (ls_lesson_load(lessons[data[0] & 1], &L, &err) ||
        ls_lesson_run_open(L, LS_FUZZ_MODELS, &(ls_exec_opts){.threads = 1}, &run, &err) ||
        ls_lesson_check_all(L, &run, &err)) {
        fprintf(stderr, "fuzz_tui_lesson: setup failed: %s\n", err.msg);
        abort();
    }
    ls_tui_opts to = {.model = run.m, .inputs = run.in, .seed = 1, .exec = {.threads = 1},
                      .lesson = L, .lang = data[0] & 2 ? LS_LANG_ZH : LS_LANG_EN,
                      .classroom = data[0] & 4, .lesson_step = data[1] % (L->n_steps + 2) - 1,
                      .data_dir = LS_FUZZ_MODELS};
    if (ls_tui_new(run.g, run.ex, &to, &app, &err)) {
        fprintf(stderr, "fuzz_tui_lesson: setup failed: %s\n", err.msg);
        abort();
    }
    fuzz_keys(app, data + 2, size - 2);
    ls_tui_free(app);
    ls_lesson_run_close(&run);
    ls_lesson_free(L);
    return 0;
}
