/* The one key table: ls_tui_feed dispatches through it, the '?' screen
 * and `layerstep tui --help` print it, so the three never disagree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/lesson.h"
#include "tui_internal.h"

/* An entry with help == NULL is another key for the entry above it. */
const tui_keydef ls_tui_keymap[] = {
    {'s', ACT_STEP_INTO, "Stepping", "step into: run to the next named point", "步入：运行到下一个有名字的点"},
    {'n', ACT_STEP_OVER, "Stepping", "step over: next point at this depth or shallower",
     "步过：同层或更外层的下一个点"},
    {'N', ACT_STEP_OVER, "Stepping", NULL, NULL},  /* in a lesson, n is "next lesson step" */
    {'o', ACT_STEP_OUT, "Stepping", "step out: finish the current module", "步出：运行完当前模块"},
    {'c', ACT_CONTINUE, "Stepping", "continue to the next breakpoint or the end", "继续：运行到下一个断点或末尾"},
    {'p', ACT_STEP_BACK, "Stepping", "step back to the previous point (kept values)",
     "后退到上一个点（值都保留着）"},
    {'g', ACT_GOTO, "Stepping", "go to a point by name (Tab completes)", "按名字跳到一个点（Tab 补全）"},
    {'b', ACT_BREAK_TOGGLE, "Stepping", "toggle a breakpoint on the selected row", "在选中的行上设/删断点"},
    {'R', ACT_RESTART, "Stepping", "restart the run (edits stay; u undoes them)",
     "从头重新运行（修改保留；u 撤销）"},
    {LS_KEY_UP, ACT_UP, "Moving", "up (tree row / grid cell)", "上（树的行 / 网格单元）"},
    {'k', ACT_UP, "Moving", NULL, NULL},
    {LS_KEY_DOWN, ACT_DOWN, "Moving", "down", "下"},
    {'j', ACT_DOWN, "Moving", NULL, NULL},
    {LS_KEY_LEFT, ACT_LEFT, "Moving", "left / fold a module / go to its parent",
     "左 / 折叠模块 / 回到上层模块"},
    {'h', ACT_LEFT, "Moving", NULL, NULL},
    {LS_KEY_RIGHT, ACT_RIGHT, "Moving", "right / unfold a module", "右 / 展开模块"},
    {'l', ACT_RIGHT, "Moving", NULL, NULL},
    {LS_KEY_PGUP, ACT_PGUP, "Moving", "page up", "上一页"},
    {LS_KEY_PGDN, ACT_PGDN, "Moving", "page down", "下一页"},
    {LS_KEY_HOME, ACT_HOME, "Moving", "first row", "第一行"},
    {LS_KEY_END, ACT_END, "Moving", "last row", "最后一行"},
    {LS_KEY_ENTER, ACT_FOLD, "Moving", "fold / unfold the selected module", "折叠 / 展开选中的模块"},
    {LS_KEY_TAB, ACT_FOCUS, "Moving", "switch pane (tree / tensor)", "切换窗格（模块树 / 张量）"},
    {'[', ACT_HEAD_PREV, "Viewing", "previous head", "上一个头"},
    {']', ACT_HEAD_NEXT, "Viewing", "next head", "下一个头"},
    {'{', ACT_BATCH_PREV, "Viewing", "previous batch item", "上一个批次项"},
    {'}', ACT_BATCH_NEXT, "Viewing", "next batch item", "下一个批次项"},
    {'v', ACT_VIEW_CYCLE, "Viewing", "cycle grid / heatmap / stats", "轮换 网格 / 热图 / 统计"},
    {'a', ACT_ATTENTION, "Viewing", "attention chain: q k v -> scores -> mask -> attn",
     "注意力链：q k v -> scores -> mask -> attn"},
    {'e', ACT_EXPLAIN, "Viewing", "explain how the shape came about", "解释形状是怎么来的"},
    {'=', ACT_EDIT, "Editing", "set the cell under the cursor, rerun downstream", "设置光标所在的单元，重算下游"},
    {'Z', ACT_ZERO_HEAD, "Editing", "zero the shown head/slice, rerun downstream",
     "把显示的头/切片清零，重算下游"},
    {'u', ACT_UNDO, "Editing", "undo the last edit", "撤销上一次修改"},
    {'M', ACT_MODULE_RUN, "Editing", "run the selected module alone on random data",
     "用随机数据单独运行选中的模块"},
    {'P', ACT_LESSON_BACK, "Other", "lessons: back one step, with its run and edits as they were",
     "课程：回到上一步，运行和修改都恢复成那一步的样子"},
    {':', ACT_COMMAND, "Other", "command line (:help lists the commands)", "命令行（:help 列出所有命令）"},
    {'?', ACT_HELP, "Other", "this help", "本帮助"},
    {LS_KEY_CTRL('l'), ACT_REDRAW, "Other", "redraw the screen", "重画屏幕"},
    {'q', ACT_QUIT, "Other", "quit", "退出"},
};
const int ls_tui_keymap_len = (int)(sizeof ls_tui_keymap / sizeof ls_tui_keymap[0]);

static const tui_str commands_help[] = {
    S_CMD_BREAK, S_CMD_DELETE, S_CMD_GOTO, S_CMD_SET, S_CMD_ZERO, S_CMD_UNDO,
    S_CMD_MODULE, S_CMD_MODULE2, S_CMD_DUMP, S_CMD_SVG, S_CMD_HEAD, S_CMD_QUIT,
};

/* A section heading of the key table in lang. */
static const char *section_text(const char *section, int lang)
{
    static const struct {
        const char *en;
        tui_str id;
    } names[] = {{"Stepping", S_SEC_STEPPING}, {"Moving", S_SEC_MOVING}, {"Viewing", S_SEC_VIEWING},
                 {"Editing", S_SEC_EDITING},   {"Other", S_SEC_OTHER}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(section, names[i].en))
            return tui_s_lang(lang, names[i].id);
    return section;
}

tui_action ls_tui_action_for(int key)
{
    for (int i = 0; i < ls_tui_keymap_len; i++)
        if (ls_tui_keymap[i].key == key)
            return ls_tui_keymap[i].act;
    return ACT_NONE;
}

static const struct {
    int key;
    const char *name;
} named_keys[] = {
    {LS_KEY_UP, "Up"},       {LS_KEY_DOWN, "Down"},   {LS_KEY_LEFT, "Left"},
    {LS_KEY_RIGHT, "Right"}, {LS_KEY_PGUP, "PgUp"},   {LS_KEY_PGDN, "PgDn"},
    {LS_KEY_HOME, "Home"},   {LS_KEY_END, "End"},     {LS_KEY_ENTER, "Enter"},
    {LS_KEY_TAB, "Tab"},     {LS_KEY_ESC, "Esc"},     {LS_KEY_BACKSPACE, "BS"},
    {' ', "Space"},          {'<', "lt"},             {'#', "hash"},             {LS_KEY_RESIZE,
     "Resize"},
};

int ls_tui_key_sized(int w, int h)
{
    if (w < 1 || h < 1 || w >= LS_KEY_SIZED_MAX || h >= LS_KEY_SIZED_MAX)
        return LS_KEY_RESIZE;
    return LS_KEY_SIZED_BASE + w * LS_KEY_SIZED_MAX + h;
}

bool ls_tui_key_is_sized(int key, int *w, int *h)
{
    if (key < LS_KEY_SIZED_BASE + LS_KEY_SIZED_MAX ||
        key >= LS_KEY_SIZED_BASE + LS_KEY_SIZED_MAX * LS_KEY_SIZED_MAX)
        return false;
    int v = key - LS_KEY_SIZED_BASE;
    if (v % LS_KEY_SIZED_MAX == 0)
        return false;
    *w = v / LS_KEY_SIZED_MAX;
    *h = v % LS_KEY_SIZED_MAX;
    return true;
}

const char *ls_tui_key_name(int key, char *buf, size_t n)
{
    int w, h;
    if (ls_tui_key_is_sized(key, &w, &h)) {
        snprintf(buf, n, "<Resize:%dx%d>", w, h);
        return buf;
    }
    for (size_t i = 0; i < sizeof named_keys / sizeof named_keys[0]; i++)
        if (named_keys[i].key == key) {
            snprintf(buf, n, "<%s>", named_keys[i].name);
            return buf;
        }
    if (key > 32 && key < 127)
        snprintf(buf, n, "%c", key);
    else if (key > 0 && key <= 26)
        snprintf(buf, n, "<C-%c>", key + 'a' - 1);
    else
        snprintf(buf, n, "<%d>", key);
    return buf;
}

int ls_tui_key_parse(const char *s)
{
    size_t len = strlen(s);
    if (len == 1 && s[0] > 32 && s[0] < 127)
        return s[0];
    if (len < 3 || s[0] != '<' || s[len - 1] != '>')
        return -1;
    if (!strncmp(s, "<Resize:", 8)) {
        int w, h, used = 0;
        if (sscanf(s + 8, "%4dx%4d>%n", &w, &h, &used) == 2 && (size_t)used == len - 8 &&
            w >= 1 && h >= 1 && w < LS_KEY_SIZED_MAX && h < LS_KEY_SIZED_MAX)
            return ls_tui_key_sized(w, h);
        return -1;
    }
    for (size_t i = 0; i < sizeof named_keys / sizeof named_keys[0]; i++) {
        size_t k = strlen(named_keys[i].name);
        if (k == len - 2 && !strncmp(s + 1, named_keys[i].name, k))
            return named_keys[i].key;
    }
    if (len == 5 && !strncmp(s, "<C-", 3) && s[3] >= 'a' && s[3] <= 'z')
        return s[3] - 'a' + 1;
    char *end;
    long v = strtol(s + 1, &end, 10);
    if (end == s + len - 1 && v > 0 && v < LS_KEY_MAX)
        return (int)v;
    return -1;
}

/* Help line i: section headings, one line per action (its keys joined by
 * '/'), then the ':' commands. */
bool ls_tui_help_line(int lang, int i, char *buf, size_t n)
{
    int line = 0;
    const char *section = NULL;
    for (int k = 0; k < ls_tui_keymap_len; k++) {
        const tui_keydef *d = &ls_tui_keymap[k];
        if (!d->help)
            continue;
        if (!section || strcmp(section, d->section)) {
            if (section && line++ == i) {
                snprintf(buf, n, "%s", "");
                return true;
            }
            section = d->section;
            if (line++ == i) {
                snprintf(buf, n, "%s", section_text(section, lang));
                return true;
            }
        }
        if (line++ == i) {
            char keys[48] = "", kn[16];
            size_t used = 0;
            for (int j = k; j < ls_tui_keymap_len && (j == k || !ls_tui_keymap[j].help); j++) {
                const char *name = ls_tui_key_name(ls_tui_keymap[j].key, kn, sizeof kn);
                if (ls_tui_keymap[j].key == LS_KEY_CTRL('l'))
                    name = "Ctrl-L";
                else if (name[0] == '<' && name[1] && name[2]) {
                    /* "<Up>" reads better as "Up" in prose */
                    size_t l = strlen(name);
                    memmove(kn, name + 1, l - 2);
                    kn[l - 2] = '\0';
                    name = kn;
                }
                used += (size_t)snprintf(keys + used, sizeof keys - used, "%s%s", j == k ? "" : "/",
                                         name);
                if (used >= sizeof keys)
                    break;
            }
            snprintf(buf, n, "  %-12s %s", keys, lang == LS_LANG_ZH && d->help_zh ? d->help_zh : d->help);
            return true;
        }
    }
    if (line++ == i) {
        snprintf(buf, n, "%s", "");
        return true;
    }
    if (line++ == i) {
        snprintf(buf, n, "%s", tui_s_lang(lang, S_SEC_COMMANDS));
        return true;
    }
    for (size_t k = 0; k < sizeof commands_help / sizeof commands_help[0]; k++)
        if (line++ == i) {
            snprintf(buf, n, "  %s", tui_s_lang(lang, commands_help[k]));
            return true;
        }
    if (line++ == i) {
        snprintf(buf, n, "%s", "");
        return true;
    }
    if (line++ == i) {
        snprintf(buf, n, "%s", tui_s_lang(lang, S_HELP_MARKS));
        return true;
    }
    return false;
}

char *ls_tui_help_text(void)
{
    size_t cap = 8192, len = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    s[0] = '\0';
    char line[256];
    for (int i = 0; ls_tui_help_line(LS_LANG_EN, i, line, sizeof line); i++) {
        size_t k = strlen(line);
        if (len + k + 2 > cap) {
            char *ns = realloc(s, cap * 2 + k);
            if (!ns)
                break;
            s = ns;
            cap = cap * 2 + k;
        }
        memcpy(s + len, line, k);
        len += k;
        s[len++] = '\n';
        s[len] = '\0';
    }
    return s;
}

int ls_tui_keys_parse(const char *text, int **keys, int *n, ls_error *err)
{
    *keys = NULL;
    *n = 0;
    int cap = 0, line = 1;
    const char *p = text;
    while (*p) {
        if (*p == '\n')
            line++;
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            p++;
            continue;
        }
        if (*p == '#') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        char tok[32];
        size_t k = 0;
        while (p[k] && p[k] != ' ' && p[k] != '\t' && p[k] != '\n' && p[k] != '\r')
            k++;
        if (k >= sizeof tok) {
            free(*keys);
            *keys = NULL;
            return ls_error_set(err, LS_ERR_FORMAT, "line %d: '%.*s...' is not a key name", line,
                                16, p);
        }
        memcpy(tok, p, k);
        tok[k] = '\0';
        p += k;
        int key = ls_tui_key_parse(tok);
        if (key < 0) {
            free(*keys);
            *keys = NULL;
            return ls_error_set(err, LS_ERR_FORMAT,
                                "line %d: '%s' is not a key name (a character, <Up>, <Enter>, <C-c>...)",
                                line, tok);
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            int *nk = realloc(*keys, (size_t)cap * sizeof *nk);
            if (!nk) {
                free(*keys);
                *keys = NULL;
                return ls_error_set(err, LS_ERR_NOMEM, "out of memory reading keys");
            }
            *keys = nk;
        }
        (*keys)[(*n)++] = key;
    }
    return LS_OK;
}
