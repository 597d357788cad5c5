/* `:svg PATH`: the shown slice as a standalone SVG heatmap, for slides
 * and handouts.  Written whole or not at all (atomic.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/atomic.h"
#include "layerstep/tui.h"

typedef struct sbuf {
    char *s;
    size_t n, cap;
    bool oom;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = true;
            return;
        }
        if (b->s && (size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)k + 4096;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
}

/* Text inside XML: escape the five specials, drop control bytes. */
static void put_text(sbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': put(b, "&lt;"); break;
        case '>': put(b, "&gt;"); break;
        case '&': put(b, "&amp;"); break;
        case '"': put(b, "&quot;"); break;
        case '\'': put(b, "&apos;"); break;
        default:
            if ((unsigned char)*s >= 32)
                put(b, "%c", *s);
        }
    }
}

/* A blue-white-red ramp reads well in print and for most colour-blind
 * viewers; t in [0,1]. */
static void ramp(double t, int *r, int *g, int *bl)
{
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    if (t < 0.5) {
        double u = t / 0.5;
        *r = (int)(59 + u * (247 - 59));
        *g = (int)(76 + u * (247 - 76));
        *bl = (int)(192 + u * (247 - 192));
    } else {
        double u = (t - 0.5) / 0.5;
        *r = (int)(247 + u * (180 - 247));
        *g = (int)(247 + u * (4 - 247));
        *bl = (int)(247 + u * (38 - 247));
    }
}

int ls_tui_svg_write(const char *path, const char *title, const double *v, const bool *masked,
                     int rows, int cols, const char *const *row_labels,
                     const char *const *col_labels, ls_error *err)
{
    if (rows <= 0 || cols <= 0)
        return ls_error_set(err, LS_ERR_ARG, "%s: nothing to draw (%dx%d slice)", path, rows, cols);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++)
        if (isfinite(v[i]) && !(masked && masked[i])) {
            lo = v[i] < lo ? v[i] : lo;
            hi = v[i] > hi ? v[i] : hi;
        }
    if (lo > hi)
        lo = hi = 0;
    int cell = cols > 60 || rows > 60 ? 8 : 28;
    int lab_w = 90, lab_h = 90, legend_w = 110, pad = 20, title_h = 30;
    int W = pad + lab_w + cols * cell + pad + legend_w;
    int H = title_h + pad + rows * cell + lab_h + pad;
    sbuf b = {0};
    put(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    put(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "font-family=\"monospace\" font-size=\"11\">\n", W, H);
    put(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    put(&b, "<text x=\"%d\" y=\"20\" font-size=\"14\">", pad);
    put_text(&b, title);
    put(&b, "</text>\n");
    int x0 = pad + lab_w, y0 = title_h + pad;
    put(&b, "<defs><pattern id=\"masked\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">"
            "<rect width=\"6\" height=\"6\" fill=\"#d9d9d9\"/><path d=\"M0,6 L6,0\" stroke=\"#777\"/>"
            "</pattern></defs>\n");
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            size_t k = (size_t)i * (size_t)cols + (size_t)j;
            put(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" ", x0 + j * cell,
                y0 + i * cell, cell, cell);
            if ((masked && masked[k]) || !isfinite(v[k])) {
                put(&b, "fill=\"url(#masked)\"><title>[%d,%d] masked</title></rect>\n", i, j);
            } else {
                int r, g, bl;
                ramp(hi > lo ? (v[k] - lo) / (hi - lo) : 0.5, &r, &g, &bl);
                put(&b, "fill=\"rgb(%d,%d,%d)\"><title>[%d,%d] %.6g</title></rect>\n", r, g, bl, i,
                    j, v[k]);
            }
        }
    /* axis labels: tokens or frames when known, indices otherwise */
    int step = cell >= 12 ? 1 : 10;
    for (int i = 0; i < rows; i += step) {
        put(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", x0 - 4, y0 + i * cell + cell / 2 + 4);
        if (row_labels && row_labels[i])
            put_text(&b, row_labels[i]);
        else
            put(&b, "%d", i);
        put(&b, "</text>\n");
    }
    for (int j = 0; j < cols; j += step) {
        int tx = x0 + j * cell + cell / 2 + 4, ty = y0 + rows * cell + 6;
        put(&b, "<text x=\"%d\" y=\"%d\" transform=\"rotate(-60 %d %d)\" text-anchor=\"end\">", tx, ty,
            tx, ty);
        if (col_labels && col_labels[j])
            put_text(&b, col_labels[j]);
        else
            put(&b, "%d", j);
        put(&b, "</text>\n");
    }
    /* legend: the ramp with its two ends, and the masked pattern */
    int lx = x0 + cols * cell + pad, lh = rows * cell < 100 ? 100 : rows * cell;
    for (int k = 0; k < 20; k++) {
        int r, g, bl;
        ramp(1.0 - k / 19.0, &r, &g, &bl);
        put(&b, "<rect x=\"%d\" y=\"%d\" width=\"16\" height=\"%d\" fill=\"rgb(%d,%d,%d)\"/>\n", lx,
            y0 + k * lh / 20, lh / 20 + 1, r, g, bl);
    }
    put(&b, "<text x=\"%d\" y=\"%d\">%.4g</text>\n", lx + 20, y0 + 10, hi);
    put(&b, "<text x=\"%d\" y=\"%d\">%.4g</text>\n", lx + 20, y0 + lh, lo);
    put(&b, "<rect x=\"%d\" y=\"%d\" width=\"16\" height=\"16\" fill=\"url(#masked)\"/>\n", lx,
        y0 + lh + 10);
    put(&b, "<text x=\"%d\" y=\"%d\">masked</text>\n", lx + 20, y0 + lh + 22);
    put(&b, "</svg>\n");
    if (b.oom) {
        free(b.s);
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory building the SVG", path);
    }
    int rc = ls_atomic_write_file(path, b.s, b.n, err);
    free(b.s);
    return rc;
}
