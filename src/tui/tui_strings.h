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
    S_TITLE_HEARD,
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
    /* the tensor pane and the shape explanation (pane_tensor.c) */
    S_T_TITLE,            /* " Tensor  view: %s (v cycles)" */
    S_T_VIEW_GRID,
    S_T_VIEW_HEAT,
    S_T_VIEW_STATS,
    S_T_NO_OUTPUT,
    S_T_UNFOLD,
    S_T_NOTHING_SELECTED,
    S_T_COMPUTED,
    S_T_PENDING,
    S_T_EDITED,
    S_T_NOT_YET,
    S_T_ANSWER_FIRST,
    S_T_SLICE,            /* "slice %s %dx%d" */
    S_T_SCALAR,
    S_T_BATCH_HEAD,
    S_T_BATCH_HEAD_SHORT,
    S_T_BATCH_ONLY,
    S_T_HEAD_ONLY,
    S_T_HEAT_MASKED,
    S_T_CELL_MASKED,
    S_T_ELEMENTS,
    S_T_CONTIGUOUS,
    S_T_STRIDED,
    S_T_SHARES,
    S_T_WHOLE,
    S_T_FINITE,
    S_T_THIS_SLICE,
    S_T_MASKED_CELLS,
    S_T_ROWS_SUM,
    S_X_TITLE,
    S_X_HOW,              /* "How %.280s got its shape:" */
    S_X_WITH,
    /* the attention pane (pane_attn.c) */
    S_A_TITLE_NONE,
    S_A_NONE,
    S_A_TITLE,            /* " Attention %s  batch %d/%d  head %d/%d" */
    S_A_NOT_YET,
    S_A_PENDING,
    S_A_HIDDEN,
    S_A_MASKED,
    S_A_OPEN,
    S_A_SUM,
    S_A_ROWS_DEAD,
    S_A_ROWS_EXPLAIN,
    S_A_LEGEND,
    S_A_KEYS,
    /* the lesson pane, the quiz and lesson mode */
    S_L_HEAD,             /* " Lesson %s  step %d/%d  %s" */
    S_L_HINT_COVER,
    S_L_HINT_CHOICE,
    S_L_HINT_TYPE,
    S_L_HINT_REOPEN,
    S_L_HINT_FINISH,
    S_L_HINT_NEXT,
    S_L_SCORE,
    S_L_FINISHED,
    S_L_FIRST_STEP,
    S_L_ANSWERED_BEFORE,
    S_L_ERROR,
    S_L_NO_POINT_HERE,
    S_L_NO_POINT_MODEL,
    S_L_PROGRESS,
    S_L_PROGRESS_NOT_SAVED,
    S_Q_FULL_STOP,
    S_Q_RIGHT,
    S_Q_NOT_QUITE,
    S_Q_LOOK_AGAIN,
    S_Q_WRONG,            /* "Not quite: '%.200s' is not it. %s One more try ..." */
    S_Q_CLOSED,
    S_Q_GIVES_AWAY,
    /* the bottom line's prompts */
    S_PROMPT_ANSWER,
    S_PROMPT_GOTO,
    S_PROMPT_SET,
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
    S_MODULE_TWICE,
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
