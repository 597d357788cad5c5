/* Canvas helpers and the in-memory canvas tests read the screen from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/tui.h"

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
    /* the canvas is ASCII: anything else (a UTF-8 token) becomes '?' */
    for (int i = 0; i < k; i++)
        if ((unsigned char)buf[i] < 32 || (unsigned char)buf[i] > 126)
            buf[i] = '?';
    int skip = x < 0 ? -x : 0;
    if (skip >= k)
        return 0;
    int n = k - skip;
    if (n > max_w)
        n = max_w;
    if (x + skip + n > c->w)
        n = c->w - x - skip;
    if (n <= 0)
        return 0;
    c->put(c->ud, y, x + skip, buf + skip, n, style);
    return n;
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

static void text_put(void *ud, int y, int x, const char *s, int n, int style)
{
    ls_textcanvas *t = ud;
    if (y < 0 || y >= t->c.h)
        return;
    for (int i = 0; i < n && x + i < t->c.w; i++) {
        if (x + i < 0)
            continue;
        t->text[(size_t)y * (size_t)t->c.w + (size_t)(x + i)] = s[i];
        t->style[(size_t)y * (size_t)t->c.w + (size_t)(x + i)] = (unsigned char)style;
    }
}

int ls_textcanvas_init(ls_textcanvas *t, int w, int h)
{
    memset(t, 0, sizeof *t);
    if (w <= 0 || h <= 0)
        return LS_ERR_ARG;
    t->text = malloc((size_t)w * (size_t)h);
    t->style = malloc((size_t)w * (size_t)h);
    if (!t->text || !t->style) {
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
    t->text = NULL;
    t->style = NULL;
}

void ls_textcanvas_clear(ls_textcanvas *t)
{
    memset(t->text, ' ', (size_t)t->c.w * (size_t)t->c.h);
    memset(t->style, 0, (size_t)t->c.w * (size_t)t->c.h);
}

const char *ls_textcanvas_row(const ls_textcanvas *t, int y, char *buf, size_t n)
{
    if (!n)
        return buf;
    buf[0] = '\0';
    if (y < 0 || y >= t->c.h)
        return buf;
    size_t w = (size_t)t->c.w;
    if (w > n - 1)
        w = n - 1;
    memcpy(buf, t->text + (size_t)y * (size_t)t->c.w, w);
    while (w > 0 && buf[w - 1] == ' ')
        w--;
    buf[w] = '\0';
    return buf;
}

char *ls_textcanvas_dump(const ls_textcanvas *t)
{
    size_t w = (size_t)t->c.w, h = (size_t)t->c.h;
    char *s = malloc((w + 1) * h + 1);
    if (!s)
        return NULL;
    size_t k = 0;
    for (size_t y = 0; y < h; y++) {
        char *row = s + k;
        ls_textcanvas_row(t, (int)y, row, w + 1);
        k += strlen(row);
        s[k++] = '\n';
    }
    s[k] = '\0';
    return s;
}

int ls_textcanvas_find(const ls_textcanvas *t, const char *s)
{
    char buf[4096];
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
