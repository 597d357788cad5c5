/* Canvas helpers and the in-memory canvas tests read the screen from. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "layerstep/tui.h"

/* UTF-8 with display widths.  Widths come from our own table, not
 * wcwidth(): wcwidth depends on the locale, and tests (C locale) must lay
 * out Chinese narration exactly as a UTF-8 terminal does. */
int ls_utf8_decode(const char *s, int n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    int len = u[0] < 0x80 ? 1 : (u[0] & 0xe0) == 0xc0 ? 2 : (u[0] & 0xf0) == 0xe0 ? 3
            : (u[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!len || len > n) {
        *cp = '?';
        return 1;
    }
    uint32_t c = len == 1 ? u[0] : u[0] & (0x7f >> len);
    for (int i = 1; i < len; i++) {
        if ((u[i] & 0xc0) != 0x80) {
            *cp = '?';
            return 1;
        }
        c = (c << 6) | (u[i] & 0x3f);
    }
    *cp = c;
    return len;
}

int ls_char_width(uint32_t c)
{
    if (c < 32 || (c >= 0x7f && c < 0xa0))
        return -1;  /* control: never drawn as is */
    if ((c >= 0x300 && c <= 0x36f) || c == 0x200b || (c >= 0xfe00 && c <= 0xfe0f))
        return 0;
    if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0x303e) || (c >= 0x3041 && c <= 0x33ff) ||
        (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xa4cf) ||
        (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) ||
        (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x20000 && c <= 0x3fffd))
        return 2;
    return 1;
}

int ls_text_width(const char *s)
{
    int w = 0, n = (int)strlen(s);
    for (int i = 0; i < n;) {
        uint32_t c;
        i += ls_utf8_decode(s + i, n - i, &c);
        int cw = ls_char_width(c);
        w += cw < 0 ? 1 : cw;
    }
    return w;
}

/* punctuation that may not start a line */
static bool closes(uint32_t c)
{
    static const uint32_t set[] = {0xff0c, 0x3002, 0xff1b, 0xff1a, 0xff01, 0xff1f, 0xff09, 0x3001,
                                   0x300d, 0x300f, 0x300b, 0x3011, 0x3009, 0x201d, 0x2019, 0xff3d,
                                   0xff5d, ')', ']', '}', ',', '.', ':', ';', '!', '?', '%'};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        if (c == set[i])
            return true;
    return false;
}

/* punctuation that may not end a line */
static bool opens(uint32_t c)
{
    static const uint32_t set[] = {0xff08, 0x300c, 0x300e, 0x300a, 0x3010, 0x3008, 0x201c, 0x2018,
                                   0xff3b, 0xff5b};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        if (c == set[i])
            return true;
    return false;
}

int ls_text_wrap(const char *s, int width, int *lens, int max_lines)
{
    int n = (int)strlen(s), lines = 0, i = 0;
    if (width < 2)
        width = 2;
    while (i < n && lines < max_lines) {
        if (s[i] == ' ') {  /* no leading blanks on a line */
            i++;
            continue;
        }
        int col = 0, j = i, brk = -1;
        while (j < n && s[j] != '\n') {
            uint32_t c;
            int k = ls_utf8_decode(s + j, n - j, &c);
            int cw = ls_char_width(c);
            cw = cw < 0 ? 1 : cw;
            if (col + cw > width)
                break;
            if (c == ' ')
                brk = j;
            else if (cw == 2 && j + k < n && !opens(c)) {
                /* a line may end after any wide character, but never after
                 * an opening bracket or right before closing punctuation
                 * (the kinsoku rule Chinese typesetting follows) */
                uint32_t nx;
                ls_utf8_decode(s + j + k, n - j - k, &nx);
                if (!closes(nx))
                    brk = j + k;
            }
            col += cw;
            j += k;
        }
        int end = j;
        if (j < n && s[j] != '\n' && brk > i)
            end = brk;
        else if (j < n && s[j] != '\n') {
            /* a forced break (no break point fits): still keep an opening
             * bracket with what follows and closing punctuation with what
             * precedes, by moving the break back a character or two */
            for (int cand = end, tries = 0; tries < 4; tries++) {
                int prev = cand - 1;
                while (prev > i && ((unsigned char)s[prev] & 0xc0) == 0x80)
                    prev--;
                if (prev <= i)
                    break;  /* nothing legal fits: keep the hard break */
                uint32_t at, before;
                ls_utf8_decode(s + cand, n - cand, &at);
                ls_utf8_decode(s + prev, n - prev, &before);
                if (!closes(at) && !opens(before)) {
                    end = cand;
                    break;
                }
                cand = prev;
            }
        }
        lens[lines++] = end - i;
        lens[lines - 1] |= (i << 16);  /* start offset in the high bits */
        i = end;
        if (i < n && s[i] == '\n')
            i++;
    }
    return lines;
}

int ls_canvas_text(ls_canvas *c, int y, int x, int max_w, int style, const char *s, int len)
{
    if (y < 0 || y >= c->h || x >= c->w || max_w <= 0)
        return 0;
    char out[1024];
    int o = 0, col = 0;
    for (int i = 0; i < len && o < (int)sizeof out - 4;) {
        uint32_t cp;
        int k = ls_utf8_decode(s + i, len - i, &cp);
        int cw = ls_char_width(cp);
        const char *src = s + i;
        int sl = k;
        if (cw < 0 || (cp == '?' && k == 1 && s[i] != '?')) {
            src = "?";  /* a control or a broken byte */
            sl = 1;
            cw = 1;
        }
        i += k;
        if (cw == 0)
            continue;  /* combining marks: dropped rather than misplaced */
        if (col + cw > max_w || x + col + cw > c->w)
            break;
        if (x + col < 0) {
            /* clipped at the left edge: a half-visible wide char becomes a blank */
            if (x + col + cw > 0)
                out[o++] = ' ';
        } else {
            memcpy(out + o, src, (size_t)sl);
            o += sl;
        }
        col += cw;
    }
    if (o > 0)
        c->put(c->ud, y, x < 0 ? 0 : x, out, o, style);
    return col;
}

int ls_canvas_printf(ls_canvas *c, int y, int x, int max_w, int style, const char *fmt, ...)
{
    if (y < 0 || y >= c->h || x >= c->w || max_w <= 0)
        return 0;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (k < 0)
        return 0;
    if (k > (int)sizeof buf - 1)
        k = (int)sizeof buf - 1;
    int skip = x < 0 ? -x : 0;
    int w = ls_canvas_text(c, y, x, max_w + skip, style, buf, k);
    return w > skip ? w - skip : 0;
}

void ls_canvas_fill(ls_canvas *c, int y, int x, int n, char ch, int style)
{
    if (y < 0 || y >= c->h)
        return;
    if (x < 0) {
        n += x;
        x = 0;
    }
    if (x + n > c->w)
        n = c->w - x;
    if (n <= 0)
        return;
    char buf[512];
    while (n > 0) {
        int k = n < (int)sizeof buf ? n : (int)sizeof buf;
        memset(buf, ch, (size_t)k);
        c->put(c->ud, y, x, buf, k, style);
        x += k;
        n -= k;
    }
}

/* Each cell keeps its character as UTF-8 (up to 4 bytes); the right half
 * of a wide character is an empty cell.  `text` keeps the ASCII view. */
static void cell_set(ls_textcanvas *t, int y, int x, const char *s, int n, int style)
{
    size_t i = (size_t)y * (size_t)t->c.w + (size_t)x;
    memset(t->utf8 + i * 4, 0, 4);
    memcpy(t->utf8 + i * 4, s, (size_t)n);
    t->text[i] = n == 1 ? s[0] : n == 0 ? ' ' : '?';
    t->style[i] = (unsigned char)style;
}

static void text_put(void *ud, int y, int x, const char *s, int n, int style)
{
    ls_textcanvas *t = ud;
    if (y < 0 || y >= t->c.h)
        return;
    for (int i = 0; i < n && x < t->c.w;) {
        uint32_t cp;
        int k = ls_utf8_decode(s + i, n - i, &cp);
        int cw = ls_char_width(cp);
        cw = cw < 1 ? 1 : cw;
        if (x >= 0 && x + cw <= t->c.w) {
            size_t at = (size_t)y * (size_t)t->c.w + (size_t)x;
            /* breaking a wide character in half leaves a blank */
            if (x > 0 && t->utf8[at * 4] == 0)
                cell_set(t, y, x - 1, " ", 1, t->style[at - 1]);
            if (x + cw < t->c.w && t->utf8[(at + (size_t)cw) * 4] == 0)
                cell_set(t, y, x + cw, " ", 1, t->style[at + (size_t)cw]);
            cell_set(t, y, x, s + i, k, style);
            if (cw == 2)
                cell_set(t, y, x + 1, "", 0, style);
        }
        x += cw;
        i += k;
    }
}

int ls_textcanvas_init(ls_textcanvas *t, int w, int h)
{
    memset(t, 0, sizeof *t);
    if (w <= 0 || h <= 0)
        return LS_ERR_ARG;
    t->text = malloc((size_t)w * (size_t)h);
    t->style = malloc((size_t)w * (size_t)h);
    t->utf8 = malloc((size_t)w * (size_t)h * 4);
    if (!t->text || !t->style || !t->utf8) {
        ls_textcanvas_free(t);
        return LS_ERR_NOMEM;
    }
    t->c.w = w;
    t->c.h = h;
    t->c.put = text_put;
    t->c.ud = t;
    ls_textcanvas_clear(t);
    return LS_OK;
}

void ls_textcanvas_free(ls_textcanvas *t)
{
    free(t->text);
    free(t->style);
    free(t->utf8);
    t->utf8 = NULL;
    t->text = NULL;
    t->style = NULL;
}

void ls_textcanvas_clear(ls_textcanvas *t)
{
    memset(t->text, ' ', (size_t)t->c.w * (size_t)t->c.h);
    memset(t->style, 0, (size_t)t->c.w * (size_t)t->c.h);
    memset(t->utf8, 0, (size_t)t->c.w * (size_t)t->c.h * 4);
    for (size_t i = 0; i < (size_t)t->c.w * (size_t)t->c.h; i++)
        t->utf8[i * 4] = ' ';
}

const char *ls_textcanvas_row(const ls_textcanvas *t, int y, char *buf, size_t n)
{
    if (!n)
        return buf;
    buf[0] = '\0';
    if (y < 0 || y >= t->c.h)
        return buf;
    size_t k = 0, keep = 0;
    for (int x = 0; x < t->c.w; x++) {
        const char *cell = t->utf8 + ((size_t)y * (size_t)t->c.w + (size_t)x) * 4;
        size_t l = strnlen(cell, 4);
        if (k + l > n - 1)
            break;
        memcpy(buf + k, cell, l);
        k += l;
        if (l && !(l == 1 && cell[0] == ' '))
            keep = k;
    }
    buf[keep] = '\0';
    return buf;
}

char *ls_textcanvas_dump(const ls_textcanvas *t)
{
    size_t w = (size_t)t->c.w, h = (size_t)t->c.h;
    char *s = malloc((4 * w + 1) * h + 1);
    if (!s)
        return NULL;
    size_t k = 0;
    for (size_t y = 0; y < h; y++) {
        char *row = s + k;
        ls_textcanvas_row(t, (int)y, row, 4 * w + 1);
        k += strlen(row);
        s[k++] = '\n';
    }
    s[k] = '\0';
    return s;
}

int ls_textcanvas_find(const ls_textcanvas *t, const char *s)
{
    char buf[16384];
    for (int y = 0; y < t->c.h; y++)
        if (strstr(ls_textcanvas_row(t, y, buf, sizeof buf), s))
            return y;
    return -1;
}

int ls_textcanvas_style_at(const ls_textcanvas *t, int y, int x)
{
    if (y < 0 || y >= t->c.h || x < 0 || x >= t->c.w)
        return -1;
    return t->style[(size_t)y * (size_t)t->c.w + (size_t)x];
}
