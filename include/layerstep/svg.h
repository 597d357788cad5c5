/* svg.h - a 2-D slice as a standalone SVG heatmap, for slides and handouts.
 *
 *   ls_svg_heatmap h = {.v = vals, .rows = 6, .cols = 5, .masked = mk,
 *                       .row_labels = toks, .col_labels = toks,
 *                       .title = "toy_transformer  enc.layers.0.attn.attn",
 *                       .subtitle = "batch 1 of 2, head 0 of 8", .map = LS_SVG_MAP_PROB};
 *   ls_svg_write("attn.svg", &h, &err);      // whole file or nothing (atomic.h)
 *
 * Pure functions over a plain description: nothing here knows the debugger,
 * so the pictures can be tested without a terminal.  The caller owns every
 * pointer in the description; ls_svg_render's buffer is the caller's to free.
 */
#ifndef LAYERSTEP_SVG_H
#define LAYERSTEP_SVG_H

#include <stdbool.h>
#include <stddef.h>

#include "layerstep/error.h"

typedef enum ls_svg_map {
    LS_SVG_MAP_AUTO = 0,   /* SEQUENTIAL when every shown value is >= 0, else DIVERGING */
    LS_SVG_MAP_PROB,       /* probabilities: SEQUENTIAL over the fixed range [0, 1] */
    LS_SVG_MAP_SEQUENTIAL, /* viridis over [min, max] */
    LS_SVG_MAP_DIVERGING,  /* blue-white-red over [-m, m], m = max |v|: white is 0 */
} ls_svg_map;

typedef struct ls_svg_heatmap {
    const double *v;     /* rows x cols, row-major; NaN/Inf drawn as such, not coloured */
    const bool *masked;  /* rows x cols or NULL: true cells are hatched */
    int rows, cols;
    const char *const *row_labels; /* rows entries or NULL; an entry may be NULL (index) */
    const char *const *col_labels;
    const char *title;    /* UTF-8; wrapped to two lines when long, never clipped */
    const char *subtitle; /* may be NULL */
    ls_svg_map map;
} ls_svg_heatmap;

/* Slices up to this size carry their values in the cells. */
#define LS_SVG_VALUES_MAX 16

/* The map actually used (never AUTO) and its value range lo < hi. */
ls_svg_map ls_svg_resolve(const ls_svg_heatmap *h, double *lo, double *hi);
/* Colour of t in [0, 1] (clamped) along the map, as 0-255 RGB. */
void ls_svg_color(ls_svg_map map, double t, int rgb[3]);
/* Rough width in px of UTF-8 text in a monospace font of size px
 * (wide East Asian characters count twice). */
double ls_svg_text_width(const char *s, double px);
/* The SVG document into a malloc'ed NUL-terminated buffer. */
int ls_svg_render(const ls_svg_heatmap *h, char **out, size_t *len, ls_error *err);
/* ls_svg_render, then written atomically to path. */
int ls_svg_write(const char *path, const ls_svg_heatmap *h, ls_error *err);

#endif
