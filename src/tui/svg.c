/* svg.c - a slice as a standalone SVG heatmap (svg.h), for slides.
 *
 * The colour map says what the numbers are: probabilities and other
 * non-negative tensors get a sequential map (viridis: dark is small,
 * bright is large, and it stays ordered in greyscale and for most
 * colour-blind viewers); only signed tensors get the diverging
 * blue-white-red map, centred on 0 so white means zero, not "middling".
 *
 *   +---------------------------------------------+
 *   | title (wrapped to 2 lines if long)          |
 *   | subtitle                                    |
 *   |        +----------------+   +-+ hi          |
 *   |  row   | cells (values  |   | | mid         |
 *   | labels |  when <= 16^2) |   | | lo          |
 *   |        +----------------+   +-+ [//] masked |
 *   |         column labels (rotated)             |
 *   +---------------------------------------------+
 *
 * The document is built in memory and written whole (atomic.h), so a
 * failed or interrupted export never leaves half a picture behind.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/atomic.h"
#include "layerstep/svg.h"

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

/* Next code point of UTF-8 s at *i, advancing *i; a malformed or
 * XML-forbidden sequence reads as U+FFFD after one byte. */
static uint32_t next_cp(const char *s, size_t *i)
{
    const unsigned char *u = (const unsigned char *)s + *i;
    uint32_t c = u[0];
    int n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
    if (n < 0) {
        (*i)++;
        return 0xfffd;
    }
    c = n == 0 ? c : n == 1 ? c & 0x1f : n == 2 ? c & 0x0f : c & 0x07;
    for (int k = 1; k <= n; k++) {
        if ((u[k] & 0xc0) != 0x80) {
            (*i)++;
            return 0xfffd;
        }
        c = c << 6 | (u[k] & 0x3f);
    }
    static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff) {
        (*i)++;
        return 0xfffd;
    }
    *i += (size_t)n + 1;
    return c;
}

static bool wide_cp(uint32_t c)
{
    return (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) ||
           (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
           (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
           (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1faff) ||
           (c >= 0x20000 && c <= 0x3fffd);
}

/* Monospace advance: DejaVu Sans Mono's is 0.602 em; a little more
 * leaves room for a fallback font. */
#define ADVANCE 0.62

double ls_svg_text_width(const char *s, double px)
{
    double w = 0;
    for (size_t i = 0; s && s[i];) {
        uint32_t c = next_cp(s, &i);
        if (c >= 32 && c != 0x7f)
            w += wide_cp(c) ? 2 : 1;
    }
    return w * ADVANCE * px;
}

/* Text content or attribute value: the five specials escaped, control
 * characters dropped, bad UTF-8 replaced, at most max_cols columns
 * (an ellipsis marks a cut; max_cols <= 0: no limit). */
static void put_text_max(sbuf *b, const char *s, int max_cols)
{
    int cols = 0;
    for (size_t i = 0; s && s[i];) {
        size_t at = i;
        uint32_t c = next_cp(s, &i);
        if (c < 32 || c == 0x7f || (c >= 0x80 && c < 0xa0))
            continue;
        int w = wide_cp(c) ? 2 : 1;
        if (max_cols > 0 && cols + w > max_cols - 1 && s[i]) {
            put(b, "\xe2\x80\xa6");
            return;
        }
        cols += w;
        switch (c) {
        case '<': put(b, "&lt;"); break;
        case '>': put(b, "&gt;"); break;
        case '&': put(b, "&amp;"); break;
        case '"': put(b, "&quot;"); break;
        case '\'': put(b, "&apos;"); break;
        case 0xfffd: put(b, "\xef\xbf\xbd"); break;
        default: put(b, "%.*s", (int)(i - at), s + at);
        }
    }
}

static void put_text(sbuf *b, const char *s) { put_text_max(b, s, 0); }

/* Colour stops, evenly spaced over [0, 1]. */
static const unsigned char viridis[][3] = {
    {68, 1, 84},    {71, 45, 123},  {59, 82, 139},  {44, 114, 142}, {33, 145, 140},
    {40, 174, 128}, {94, 201, 98},  {173, 220, 48}, {253, 231, 37},
};
static const unsigned char rdbu[][3] = {
    {33, 102, 172},  {103, 169, 207}, {209, 229, 240}, {247, 247, 247},
    {253, 219, 199}, {239, 138, 98},  {178, 24, 43},
};

static void interp(const unsigned char (*stops)[3], int n, double t, int rgb[3])
{
    t = !(t > 0) ? 0 : t > 1 ? 1 : t;
    double x = t * (n - 1);
    int k = (int)x;
    if (k >= n - 1)
        k = n - 2;
    double u = x - k;
    for (int c = 0; c < 3; c++)
        rgb[c] = (int)lround(stops[k][c] + u * (stops[k + 1][c] - stops[k][c]));
}

void ls_svg_color(ls_svg_map map, double t, int rgb[3])
{
    if (map == LS_SVG_MAP_DIVERGING)
        interp(rdbu, (int)(sizeof rdbu / sizeof rdbu[0]), t, rgb);
    else
        interp(viridis, (int)(sizeof viridis / sizeof viridis[0]), t, rgb);
}

static bool shown(const ls_svg_heatmap *h, size_t k)
{
    return isfinite(h->v[k]) && !(h->masked && h->masked[k]);
}

ls_svg_map ls_svg_resolve(const ls_svg_heatmap *h, double *lo, double *hi)
{
    double mn = INFINITY, mx = -INFINITY;
    size_t n = h->rows > 0 && h->cols > 0 ? (size_t)h->rows * (size_t)h->cols : 0;
    for (size_t k = 0; k < n; k++)
        if (shown(h, k)) {
            mn = h->v[k] < mn ? h->v[k] : mn;
            mx = h->v[k] > mx ? h->v[k] : mx;
        }
    if (mn > mx)
        mn = mx = 0;
    ls_svg_map map = h->map;
    if (map == LS_SVG_MAP_AUTO)
        map = mn >= 0 ? LS_SVG_MAP_SEQUENTIAL : LS_SVG_MAP_DIVERGING;
    if (map == LS_SVG_MAP_PROB) {
        mn = 0;
        mx = mx > 1 ? mx : 1;
        map = LS_SVG_MAP_SEQUENTIAL;
    } else if (map == LS_SVG_MAP_DIVERGING) {
        double m = fabs(mn) > fabs(mx) ? fabs(mn) : fabs(mx);
        mn = -m;
        mx = m;
    }
    if (!(mx > mn)) {
        /* a constant slice: a range around it so it gets one honest colour */
        double d = fabs(mx) > 0 ? fabs(mx) : 1;
        if (map == LS_SVG_MAP_SEQUENTIAL)
            mn -= d;
        else
            mn = -(mx = d);
    }
    *lo = mn;
    *hi = mx;
    return map;
}

/* Few digits: what fits a 40 px cell and still reads as a number. */
static void fmt_value(double v, char *buf, size_t n)
{
    double a = fabs(v);
    if (isnan(v))
        snprintf(buf, n, "NaN");
    else if (isinf(v))
        snprintf(buf, n, v < 0 ? "-inf" : "inf");
    else if (v == 0)
        snprintf(buf, n, "0");
    else if (a >= 99999.5 || a < 0.005)
        snprintf(buf, n, "%.0e", v);
    else if (a >= 99.95)
        snprintf(buf, n, "%.0f", v);
    else if (a >= 9.995)
        snprintf(buf, n, "%.1f", v);
    else
        snprintf(buf, n, "%.2f", v);
}

static void fmt_tick(double v, char *buf, size_t n)
{
    snprintf(buf, n, "%.4g", fabs(v) < 1e-12 ? 0.0 : v);
}

/* Black or white, whichever reads better on rgb (WCAG relative luminance). */
static const char *ink_for(const int rgb[3])
{
    double l = 0;
    static const double w[3] = {0.2126, 0.7152, 0.0722};
    for (int c = 0; c < 3; c++) {
        double x = rgb[c] / 255.0;
        l += w[c] * (x <= 0.03928 ? x / 12.92 : pow((x + 0.055) / 1.055, 2.4));
    }
    /* contrast with black (l+0.05)/0.05 vs with white 1.05/(l+0.05) */
    return (l + 0.05) * (l + 0.05) > 0.0525 ? "#000000" : "#ffffff";
}

enum { PAD = 16, FONT = 11, TITLE_FONT = 15, SUB_FONT = 12, LABEL_COLS = 20, MIN_W = 360, WRAP_W = 720 };

/* Where to break a title that is wider than limit: the space that makes
 * the longer line shortest, or, when no space gives lines within limit,
 * the space, '.' or '/' that does (a '.' or '/' stays on the first
 * line); -1 when there is no break at all. */
static long title_split(const char *t, double limit)
{
    size_t n = strlen(t);
    char *tmp = malloc(n + 1);
    if (!tmp)
        return -1;
    long best = -1;
    for (int pass = 0; pass < 2; pass++) {
        double best_w = INFINITY;
        for (size_t i = 1; i + 1 < n; i++) {
            if (t[i] != ' ' && (pass == 0 || (t[i] != '.' && t[i] != '/')))
                continue;
            size_t cut = t[i] == ' ' ? i : i + 1;
            memcpy(tmp, t, cut);
            tmp[cut] = '\0';
            double w1 = ls_svg_text_width(tmp, TITLE_FONT), w2 = ls_svg_text_width(t + i + 1, TITLE_FONT);
            double w = w1 > w2 ? w1 : w2;
            if (w < best_w) {
                best_w = w;
                best = (long)i;
            }
        }
        if (best >= 0 && best_w <= limit)
            break;
    }
    free(tmp);
    return best;
}

/* px per cell along an axis of n cells: big enough to read, and at most
 * about 1024 px for the axis */
static int cell_size(int n) { return n <= 64 ? 24 : 1024 / n > 2 ? 1024 / n : 2; }

static double label_width(const char *const *labels, int n, int step)
{
    double w = 0;
    char idx[24];
    for (int i = 0; i < n; i += step) {
        const char *s = labels && labels[i] ? labels[i] : NULL;
        if (!s) {
            snprintf(idx, sizeof idx, "%d", i);
            s = idx;
        }
        double x = ls_svg_text_width(s, FONT);
        double cap = LABEL_COLS * ADVANCE * FONT;
        w = x > w ? (x < cap ? x : cap) : w;
    }
    return w;
}

static void put_label(sbuf *b, const char *const *labels, int i)
{
    if (labels && labels[i])
        put_text_max(b, labels[i], LABEL_COLS);
    else
        put(b, "%d", i);
}

int ls_svg_render(const ls_svg_heatmap *h, char **out, size_t *len, ls_error *err)
{
    *out = NULL;
    *len = 0;
    if (h->rows <= 0 || h->cols <= 0 || !h->v)
        return ls_error_set(err, LS_ERR_ARG, "nothing to draw (a %dx%d slice)", h->rows, h->cols);
    if ((int64_t)h->rows * h->cols > (1 << 22))
        return ls_error_set(err, LS_ERR_LIMIT, "a %dx%d slice is too large for a picture",
                            h->rows, h->cols);
    int rows = h->rows, cols = h->cols;
    bool values = rows <= LS_SVG_VALUES_MAX && cols <= LS_SVG_VALUES_MAX;
    /* each axis sized on its own, so a [5, 512] slice keeps readable rows */
    int cw = values ? 40 : cell_size(cols), ch = values ? 40 : cell_size(rows);
    bool tips = (int64_t)rows * cols <= 128 * 128; /* hover text: only where it stays small */
    double lo, hi;
    ls_svg_map map = ls_svg_resolve(h, &lo, &hi);

    /* labels: every k-th when neighbours would overlap */
    int rstep = (FONT + 2 + ch - 1) / ch, cstep = (FONT + 4 + cw - 1) / cw;
    double rlab_w = label_width(h->row_labels, rows, rstep);
    double clab_w = label_width(h->col_labels, cols, cstep);
    /* column labels run up-left at 60 degrees from under their column */
    int x0 = PAD + (int)ceil(fmax(rlab_w + 6, clab_w * 0.5 + 4));
    int grid_w = cols * cw, grid_h = rows * ch;
    int clab_h = (int)ceil(clab_w * 0.866 + FONT) + 6;

    bool any_masked = false, any_nonfinite = false;
    for (size_t k = 0; k < (size_t)rows * (size_t)cols; k++) {
        any_masked |= h->masked && h->masked[k];
        any_nonfinite |= !(h->masked && h->masked[k]) && !isfinite(h->v[k]);
    }
    char tick[3][32];
    double tv[3] = {hi, (lo + hi) / 2, lo};
    double tick_w = 0;
    for (int i = 0; i < 3; i++) {
        fmt_tick(tv[i], tick[i], sizeof tick[i]);
        double w = ls_svg_text_width(tick[i], FONT);
        tick_w = w > tick_w ? w : tick_w;
    }
    double key_w = ls_svg_text_width(any_nonfinite ? "NaN/Inf" : "masked", FONT);
    int legend_w = 16 + 6 + (int)ceil(fmax(tick_w, key_w)) + 4;
    int lh = grid_h < 120 ? 120 : grid_h > 400 ? 400 : grid_h;
    int legend_h = lh + (any_masked ? 24 : 0) + (any_nonfinite ? 24 : 0);
    int content_w = x0 + grid_w + 2 * PAD + legend_w + PAD;

    /* the title: one line if it fits the picture (or WRAP_W for a small
     * one), else two; the picture widens to whatever the lines need */
    const char *title = h->title ? h->title : "";
    int limit = (content_w > WRAP_W ? content_w : WRAP_W) - 2 * PAD;
    char *line[2] = {NULL, NULL};
    int n_lines = 1;
    long cut = ls_svg_text_width(title, TITLE_FONT) > limit ? title_split(title, limit) : -1;
    if (cut > 0) {
        /* the spaces at the break go; a '.' or '/' stays on line 1 */
        size_t e = title[cut] == ' ' ? (size_t)cut : (size_t)cut + 1, b2 = (size_t)cut + 1;
        while (e > 0 && title[e - 1] == ' ')
            e--;
        while (title[b2] == ' ')
            b2++;
        line[0] = strndup(title, e);
        line[1] = strdup(title + b2);
        n_lines = 2;
    } else {
        line[0] = strdup(title);
    }
    if (!line[0] || (n_lines == 2 && !line[1])) {
        free(line[0]);
        free(line[1]);
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    }
    double text_w = 0;
    for (int i = 0; i < n_lines; i++)
        text_w = fmax(text_w, ls_svg_text_width(line[i], TITLE_FONT));
    if (h->subtitle)
        text_w = fmax(text_w, ls_svg_text_width(h->subtitle, SUB_FONT));
    int W = content_w;
    if (W < MIN_W)
        W = MIN_W;
    if (W < (int)ceil(text_w) + 2 * PAD)
        W = (int)ceil(text_w) + 2 * PAD;
    int y_title = PAD + TITLE_FONT;
    int y0 = PAD + n_lines * (TITLE_FONT + 5) + (h->subtitle ? SUB_FONT + 6 : 0) + 12;
    int body_h = grid_h + clab_h > legend_h ? grid_h + clab_h : legend_h;
    int H = y0 + body_h + PAD;

    sbuf b = {0};
    put(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    put(&b,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
        "font-family=\"DejaVu Sans Mono, monospace\" font-size=\"%d\">\n",
        W, H, W, H, FONT);
    /* for readers and tests: which map, over which range */
    put(&b, "<desc>map %s, range %.6g to %.6g</desc>\n",
        map == LS_SVG_MAP_DIVERGING ? "diverging (blue-white-red, white = 0)" : "sequential (viridis)",
        lo, hi);
    put(&b, "<defs><pattern id=\"masked\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
            "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#e8e8e8\"/>"
            "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#707070\" stroke-width=\"2\"/>"
            "</pattern></defs>\n");
    put(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    for (int i = 0; i < n_lines; i++) {
        put(&b, "<text class=\"title\" x=\"%d\" y=\"%d\" font-size=\"%d\" font-weight=\"bold\" "
                "xml:space=\"preserve\">", PAD,
            y_title + i * (TITLE_FONT + 5), TITLE_FONT);
        put_text(&b, line[i]);
        put(&b, "</text>\n");
    }
    if (h->subtitle) {
        put(&b, "<text class=\"title\" x=\"%d\" y=\"%d\" font-size=\"%d\" fill=\"#333\" "
                "xml:space=\"preserve\">", PAD,
            y_title + n_lines * (TITLE_FONT + 5) - 2, SUB_FONT);
        put_text(&b, h->subtitle);
        put(&b, "</text>\n");
    }
    free(line[0]);
    free(line[1]);

    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            size_t k = (size_t)i * (size_t)cols + (size_t)j;
            double v = h->v[k];
            int x = x0 + j * cw, y = y0 + i * ch, rgb[3] = {0, 0, 0};
            char val[32];
            fmt_value(v, val, sizeof val);
            put(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" ", x, y, cw, ch);
            if (h->masked && h->masked[k]) {
                put(&b, "fill=\"url(#masked)\"");
                if (tips)
                    put(&b, "><title>[%d,%d] masked (%s)</title></rect>\n", i, j, val);
                else
                    put(&b, "/>\n");
                continue;
            }
            if (!isfinite(v))
                put(&b, "fill=\"#000000\"");
            else {
                ls_svg_color(map, (v - lo) / (hi - lo), rgb);
                put(&b, "fill=\"rgb(%d,%d,%d)\"", rgb[0], rgb[1], rgb[2]);
            }
            if (tips && isfinite(v))
                put(&b, "><title>[%d,%d] %.6g</title></rect>\n", i, j, v);
            else if (tips)
                put(&b, "><title>[%d,%d] %s</title></rect>\n", i, j, val);
            else
                put(&b, "/>\n");
            if (values)
                put(&b,
                    "<text class=\"v\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" "
                    "fill=\"%s\">%s</text>\n",
                    x + cw / 2, y + ch / 2 + 4, ink_for(rgb), val);
        }
    put(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n", x0,
        y0, grid_w, grid_h);

    for (int i = 0; i < rows; i += rstep) {
        put(&b, "<text class=\"rl\" x=\"%d\" y=\"%d\" text-anchor=\"end\">", x0 - 5,
            y0 + i * ch + ch / 2 + 4);
        put_label(&b, h->row_labels, i);
        put(&b, "</text>\n");
    }
    for (int j = 0; j < cols; j += cstep) {
        int tx = x0 + j * cw + cw / 2 + 4, ty = y0 + grid_h + 8;
        put(&b, "<text class=\"cl\" x=\"%d\" y=\"%d\" transform=\"rotate(-60 %d %d)\" "
                "text-anchor=\"end\">", tx, ty, tx, ty);
        put_label(&b, h->col_labels, j);
        put(&b, "</text>\n");
    }

    /* the colour bar, top = hi; 64 bands are smooth at any size */
    int lx = x0 + grid_w + 2 * PAD;
    for (int k = 0; k < 64; k++) {
        int rgb[3];
        ls_svg_color(map, 1.0 - (k + 0.5) / 64.0, rgb);
        int ya = y0 + k * lh / 64, yb = y0 + (k + 1) * lh / 64;
        put(&b, "<rect x=\"%d\" y=\"%d\" width=\"16\" height=\"%d\" fill=\"rgb(%d,%d,%d)\"/>\n", lx, ya,
            yb - ya, rgb[0], rgb[1], rgb[2]);
    }
    put(&b, "<rect x=\"%d\" y=\"%d\" width=\"16\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n", lx,
        y0, lh);
    for (int i = 0; i < 3; i++) {
        int ty = y0 + i * lh / 2;
        put(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", lx + 16, ty,
            lx + 20, ty);
        put(&b, "<text class=\"tick\" x=\"%d\" y=\"%d\">%s</text>\n", lx + 22,
            ty + (i == 0 ? 8 : i == 2 ? 0 : 4), tick[i]);
    }
    int ky = y0 + lh + 8;
    if (any_masked) {
        put(&b, "<rect x=\"%d\" y=\"%d\" width=\"16\" height=\"16\" fill=\"url(#masked)\" "
                "stroke=\"#444\"/><text x=\"%d\" y=\"%d\">masked</text>\n",
            lx, ky, lx + 22, ky + 12);
        ky += 24;
    }
    if (any_nonfinite)
        put(&b, "<rect x=\"%d\" y=\"%d\" width=\"16\" height=\"16\" fill=\"#000000\"/>"
                "<text x=\"%d\" y=\"%d\">NaN/Inf</text>\n",
            lx, ky, lx + 22, ky + 12);
    put(&b, "</svg>\n");
    if (b.oom) {
        free(b.s);
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory building a %dx%d picture", rows,
                            cols);
    }
    *out = b.s;
    *len = b.n;
    return LS_OK;
}

int ls_svg_write(const char *path, const ls_svg_heatmap *h, ls_error *err)
{
    char *s;
    size_t n;
    int rc = ls_svg_render(h, &s, &n, err);
    if (rc) {
        if (err)
            ls_error_prefix(err, "%s", path);
        return rc;
    }
    rc = ls_atomic_write_file(path, s, n, err);
    free(s);
    return rc;
}
