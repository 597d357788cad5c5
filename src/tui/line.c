/* The one-line editor behind every prompt (':', goto, set, a lesson's
 * answer line): readline's keys on a UTF-8 buffer.
 *
 * Keys arrive one byte at a time for non-ASCII text (a terminal sends a
 * Chinese character, or an input method's whole phrase, as UTF-8 bytes),
 * so bytes >= 0x80 are inserted as they come and the cursor moves over
 * whole characters: a continuation byte (10xxxxxx) never starts one. */
#include <string.h>

#include "tui_internal.h"

static bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

void tui_line_set(tui_line *l, const char *text)
{
    size_t n = strlen(text);
    if (n > sizeof l->buf - 1)
        n = sizeof l->buf - 1;
    /* never keep half a character at the cut */
    while (n > 0 && n < strlen(text) && is_cont((unsigned char)text[n]))
        n--;
    memcpy(l->buf, text, n);
    l->buf[n] = '\0';
    l->len = l->pos = (int)n;
}

static int char_before(const tui_line *l, int pos)
{
    if (pos <= 0)
        return 0;
    pos--;
    while (pos > 0 && is_cont((unsigned char)l->buf[pos]))
        pos--;
    return pos;
}

static int char_after(const tui_line *l, int pos)
{
    if (pos >= l->len)
        return l->len;
    pos++;
    while (pos < l->len && is_cont((unsigned char)l->buf[pos]))
        pos++;
    return pos;
}

/* Removes bytes [from, to) and leaves the cursor at from. */
static void cut(tui_line *l, int from, int to)
{
    if (from >= to)
        return;
    memmove(l->buf + from, l->buf + to, (size_t)(l->len - to) + 1);
    l->len -= to - from;
    l->pos = from;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool tui_line_key(tui_line *l, int key)
{
    switch (key) {
    case LS_KEY_LEFT: l->pos = char_before(l, l->pos); return true;
    case LS_KEY_RIGHT: l->pos = char_after(l, l->pos); return true;
    case LS_KEY_HOME:
    case LS_KEY_CTRL('a'): l->pos = 0; return true;
    case LS_KEY_END:
    case LS_KEY_CTRL('e'): l->pos = l->len; return true;
    case LS_KEY_CTRL('u'): cut(l, 0, l->pos); return true;
    case LS_KEY_CTRL('k'): l->buf[l->len = l->pos] = '\0'; return true;
    case LS_KEY_CTRL('d'): cut(l, l->pos, char_after(l, l->pos)); return true;
    case LS_KEY_BACKSPACE:
    case LS_KEY_CTRL('h'): cut(l, char_before(l, l->pos), l->pos); return true;
    case LS_KEY_CTRL('w'): {
        /* the word before the cursor and the blanks after it, as readline */
        int p = l->pos;
        while (p > 0 && is_blank(l->buf[p - 1]))
            p--;
        while (p > 0 && !is_blank(l->buf[p - 1]))
            p--;
        cut(l, p, l->pos);
        return true;
    }
    default: break;
    }
    if ((key >= 32 && key < 127) || (key >= 0x80 && key <= 0xFF)) {
        if (l->len >= (int)sizeof l->buf - 1)
            return true;  /* full: the key is still the line's, not a command */
        memmove(l->buf + l->pos + 1, l->buf + l->pos, (size_t)(l->len - l->pos) + 1);
        l->buf[l->pos++] = (char)key;
        l->len++;
        return true;
    }
    return false;
}

bool tui_line_complete_utf8(const tui_line *l)
{
    /* the last character is whole: no lead byte waiting for its tail */
    int p = l->len;
    int k = 0;
    while (p > 0 && is_cont((unsigned char)l->buf[p - 1]) && k < 4) {
        p--;
        k++;
    }
    if (p == 0 || (unsigned char)l->buf[p - 1] < 0x80)
        return k == 0;
    unsigned char lead = (unsigned char)l->buf[p - 1];
    int need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
    return k == need;
}
