/* tui_strings.h - the debugger's own words (pane titles, status hints,
 * the ? screen, messages) in every interface language, from one table.
 *
 *   ls_canvas_printf(c, y, x, w, sty, "%s", tui_s(a, S_MODULES));
 *   tui_say(a, true, tui_s(a, S_GOTO_NONE), name);   // a format: same
 *                                                    // conversions in en and zh
 *
 * The language is the lesson's in a lesson, else `layerstep tui --lang`
 * or the environment's (ls_tui_opts.lang).  Lesson texts come from the
 * lesson files; error messages from the engine stay English. */
#ifndef LAYERSTEP_TUI_STRINGS_H
#define LAYERSTEP_TUI_STRINGS_H

typedef enum tui_str {
    /* status line and frame */
    S_STATUS_AT,          /* " at %s %s  [%d/%d]" */
    S_STATUS_START,
    S_HINTS_WIDE,
    S_HINTS_MID,
    S_HINTS_NARROW,
    S_LHINTS_WIDE,        /* in a lesson n walks the lesson */
    S_LHINTS_MID,
    S_LHINTS_NARROW,
    S_WELCOME,
    S_TOO_SMALL,
    S_TOO_SMALL_NEED,
    S_TOO_SMALL_QUIT,
    S_TITLE_RUN,
    S_TITLE_MODRUN_RANDOM,
    S_TITLE_MODRUN_OWN,
    S_TITLE_MODRUN,
    /* panes */
    S_MODULES,            /* " Modules (%s)" */
    S_TAB_TENSOR,
    S_TAB_TREE,
    S_NO_MODULES,
    S_HELP_TITLE,
    S_HELP_LESSON,
    S_SEC_STEPPING,
    S_SEC_MOVING,
    S_SEC_VIEWING,
    S_SEC_EDITING,
    S_SEC_OTHER,
    S_SEC_COMMANDS,
    S_HELP_MARKS,
    S_CMD_BREAK,
    S_CMD_DELETE,
    S_CMD_GOTO,
    S_CMD_SET,
    S_CMD_ZERO,
    S_CMD_UNDO,
    S_CMD_MODULE,
    S_CMD_MODULE2,
    S_CMD_DUMP,
    S_CMD_SVG,
    S_CMD_HEAD,
    S_CMD_QUIT,
    /* words put into messages */
    S_W_HEAD,
    S_W_BATCH,
    S_W_BATCH_ITEM,
    S_W_YOUR,
    S_W_RANDOM,
    S_W_NONE,
    S_W_ALL,
    /* messages (app.c, step.c, edit.c, command.c) */
    S_SELECT_TO_CHOOSE,   /* "select a computed tensor to choose its %s" */
    S_NO_DIM,
    S_SLICE_OF,
    S_KEY_NOTHING,
    S_NOTHING_TO_EDIT,
    S_NO_ATTENTION,
    S_AT_END,
    S_BREAKPOINT_HIT,
    S_FINISHED,
    S_AT_START,
    S_RESTARTED,
    S_EDITS_KEPT,
    S_GOTO_EMPTY,
    S_GOTO_SEVERAL,
    S_GOTO_NONE,
    S_BREAK_REMOVED,
    S_BREAK_SET,
    S_NO_MEMORY,
    S_NOT_COMPUTED,
    S_BROADCAST_VIEW,
    S_NO_MEMORY_EDIT,
    S_RERUN_FAILED,
    S_EDITED_BROADCAST,
    S_EDITED,
    S_SET_NOT_NUMBER,
    S_ZERO_NOTHING,
    S_ZERO_TOO_LARGE,
    S_UNDO_NOTHING,
    S_UNDO_FAILED,
    S_UNDO_RERUN_FAILED,
    S_UNDONE,
    S_MODULE_BAD_ARG,
    S_MODULE_TOO_MANY,
    S_MODULE_SELECT,
    S_MODULE_ERROR,
    S_MODULE_RUN,
    S_MAIN_ALREADY,
    S_MAIN_BACK,
    S_SELECT_COMPUTED,
    S_DUMP_NAME,
    S_DUMP_ERROR,
    S_WROTE,
    S_SVG_NAME,
    S_SVG_TOO_LARGE,
    S_SVG_ERROR,
    S_WROTE_SVG,
    S_COMMANDS,
    S_COMPLETE_NONE,
    S_COMPLETE_MANY,
    S_VIEW_NAMES,
    S_BREAKPOINTS,
    S_NO_BREAKPOINT,
    S_UNKNOWN_COMMAND,
    S_MODULES_PLAIN,      /* the tree's title while the keys are the tensor pane's */
    S_LESSON_BACK_ONLY,   /* P outside a lesson */
    S_COUNT
} tui_str;

struct ls_tui;
/* The text of id in the app's language. */
const char *tui_s(const struct ls_tui *a, tui_str id);
/* The text of id in lang (LS_LANG_*; English for an unknown one). */
const char *tui_s_lang(int lang, tui_str id);
/* The language the app's own texts are in. */
int tui_lang(const struct ls_tui *a);

#endif
