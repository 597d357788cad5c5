/* app_internal.h - how the debugger's own files (app.c, run.c, view.c,
 * step.c, edit.c, command.c, lesson_mode.c) call each other to change
 * the state.  The panes never include this: they read the state through
 * tui_internal.h and change nothing but their scroll offsets. */
#ifndef LAYERSTEP_APP_INTERNAL_H
#define LAYERSTEP_APP_INTERNAL_H

#include "tui_internal.h"

/* run.c: a run's tree rows and selection */
bool tui_node_is_point(const ls_graph *g, int i);
int tui_run_init(tui_run *r, ls_graph *g, ls_exec *ex, bool owned, ls_error *err);
void tui_run_free(tui_run *r);
void tui_rows_update(tui_run *r);
/* Makes node's row visible (unfolding its modules) and selects it. */
void tui_select_node(tui_run *r, int node);
/* The message line; it answers one key. */
void tui_say(ls_tui *a, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* step.c */
/* Moves `at` to target, running the executor when target is pending. */
void tui_reach(ls_tui *a, int target);
void tui_step_into(ls_tui *a);
void tui_step_over(ls_tui *a);
void tui_step_out(ls_tui *a);
void tui_cont(ls_tui *a);
void tui_step_back(ls_tui *a);
void tui_restart(ls_tui *a);
void tui_go_to(ls_tui *a, const char *name);
bool tui_break_remove(ls_tui *a, const char *glob);
int tui_break_add(ls_tui *a, const char *glob);
void tui_break_toggle(ls_tui *a);

/* edit.c */
/* Sets cells (indices in node's own shape) to value; records the old
 * values; reruns downstream. */
void tui_edit_cells(ls_tui *a, int node, int64_t (*idx)[LS_MAX_DIMS], int n, double value);
void tui_edit_cursor(ls_tui *a, const char *text);
void tui_zero_slice(ls_tui *a);
void tui_undo(ls_tui *a);
void tui_module_run(ls_tui *a, const char *path_arg);
void tui_module_back(ls_tui *a);
void tui_main_labels(ls_tui *a);

/* command.c */
unsigned tui_feed_prompt(ls_tui *a, int key);
void tui_open_prompt(ls_tui *a, int kind, const char *init);

/* quiz.c */
/* Works out what the current step's question would give away. */
void tui_quiz_arm(ls_tui *a);
/* A key while the answer line is open: redraw flags, or -1 when the key
 * is the view's (arrows, Tab, help) and the feed should handle it. */
int tui_quiz_key(ls_tui *a, int key);
bool tui_quiz_mask_hidden(ls_tui *a, int mask_node);
void tui_quiz_direction_edit(ls_tui *a);
void tui_quiz_apply_step_edit(ls_tui *a);

/* lesson_mode.c */
void tui_lesson_enter(ls_tui *a, int i);
/* n / Enter / Space in lesson mode; false when the key is not the lesson's. */
bool tui_lesson_key(ls_tui *a, int key);
void tui_lesson_drop_run(ls_tui *a);

#endif
