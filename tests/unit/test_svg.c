/* test_svg.c - the SVG heatmap writer (svg.h) without the debugger:
 * which colour map, hatching, values in cells, a title that fits,
 * well-formed XML whatever the labels hold, and a real render with
 * rsvg-convert checked pixel by pixel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layerstep/atomic.h"
#include "layerstep/svg.h"
#include "tmpdir.h"

static char *render(const ls_svg_heatmap *h)
{
    char *s = NULL;
    size_t n = 0;
    ls_error err = {0};
    assert_int_equal(ls_svg_render(h, &s, &n, &err), LS_OK);
    assert_non_null(s);
    assert_int_equal(strlen(s), n);
    return s;
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The <rect> of cell [i,j]: its x, y, size and fill attribute. */
static void cell_rect(const char *svg, int i, int j, int *x, int *y, int *size, char *fill, size_t n)
{
    char key[48];
    snprintf(key, sizeof key, "<title>[%d,%d] ", i, j);
    const char *t = strstr(svg, key);
    assert_non_null(t);
    const char *r = t;
    while (r > svg && strncmp(r, "<rect ", 6) != 0)
        r--;
    assert_int_equal(sscanf(r, "<rect x=\"%d\" y=\"%d\" width=\"%d\"", x, y, size), 3);
    const char *f = strstr(r, "fill=\"");
    assert_true(f && f < t);
    f += 6;
    size_t k = (size_t)(strchr(f, '"') - f);
    assert_true(k < n);
    memcpy(fill, f, k);
    fill[k] = '\0';
}

static void rgb_of(const char *fill, int rgb[3])
{
    assert_int_equal(sscanf(fill, "rgb(%d,%d,%d)", &rgb[0], &rgb[1], &rgb[2]), 3);
}

static int svg_size(const char *svg, int *w, int *h)
{
    const char *p = strstr(svg, "<svg ");
    assert_non_null(p);
    return sscanf(strstr(p, "width="), "width=\"%d\" height=\"%d\"", w, h);
}

/* ---- colour maps ---- */

static void test_probabilities_get_a_sequential_map(void **st)
{
    (void)st;
    /* a softmax row: 0.5 must not look neutral (white) */
    double v[6] = {0.5, 0.25, 0.25, 0.0, 1.0, 0.0};
    ls_svg_heatmap h = {.v = v, .rows = 2, .cols = 3, .title = "p", .map = LS_SVG_MAP_PROB};
    double lo, hi;
    assert_int_equal(ls_svg_resolve(&h, &lo, &hi), LS_SVG_MAP_SEQUENTIAL);
    assert_true(lo == 0.0 && hi == 1.0);
    /* AUTO sees non-negative values and picks the same kind of map */
    h.map = LS_SVG_MAP_AUTO;
    assert_int_equal(ls_svg_resolve(&h, &lo, &hi), LS_SVG_MAP_SEQUENTIAL);
    assert_true(lo == 0.0 && hi == 1.0);
    h.map = LS_SVG_MAP_PROB;
    char *s = render(&h);
    assert_non_null(strstr(s, "<desc>map sequential"));
    int x, y, size, rgb[3], lo_rgb[3], hi_rgb[3];
    char fill[64];
    /* viridis: 0 is dark purple, 1 bright yellow, 0.5 teal, never white */
    cell_rect(s, 0, 0, &x, &y, &size, fill, sizeof fill);
    rgb_of(fill, rgb);
    assert_false(rgb[0] > 200 && rgb[1] > 200 && rgb[2] > 200);
    assert_true(abs(rgb[0] - 33) <= 2 && abs(rgb[1] - 145) <= 2 && abs(rgb[2] - 140) <= 2);
    cell_rect(s, 1, 0, &x, &y, &size, fill, sizeof fill);
    rgb_of(fill, lo_rgb);
    cell_rect(s, 1, 1, &x, &y, &size, fill, sizeof fill);
    rgb_of(fill, hi_rgb);
    assert_true(lo_rgb[0] + lo_rgb[1] + lo_rgb[2] < 200);
    assert_true(hi_rgb[0] + hi_rgb[1] > 400 && hi_rgb[2] < 100);
    /* ordered: brighter with the value, in luminance */
    int ramp[5][3];
    for (int k = 0; k < 5; k++)
        ls_svg_color(LS_SVG_MAP_SEQUENTIAL, k / 4.0, ramp[k]);
    for (int k = 1; k < 5; k++)
        assert_true(2 * ramp[k][0] + 7 * ramp[k][1] + ramp[k][2] >
                    2 * ramp[k - 1][0] + 7 * ramp[k - 1][1] + ramp[k - 1][2]);
    free(s);
}

static void test_signed_values_get_a_diverging_map_centred_on_zero(void **st)
{
    (void)st;
    /* asymmetric data: -0.5 .. 2; the range must be -2 .. 2 so 0 is white */
    double v[4] = {-0.5, 0.0, 2.0, 1.0};
    bool mk[4] = {false, false, false, false};
    ls_svg_heatmap h = {.v = v, .masked = mk, .rows = 2, .cols = 2, .title = "s"};
    double lo, hi;
    assert_int_equal(ls_svg_resolve(&h, &lo, &hi), LS_SVG_MAP_DIVERGING);
    assert_true(lo == -2.0 && hi == 2.0);
    char *s = render(&h);
    assert_non_null(strstr(s, "<desc>map diverging"));
    int x, y, size, rgb[3];
    char fill[64];
    cell_rect(s, 0, 1, &x, &y, &size, fill, sizeof fill); /* 0 */
    rgb_of(fill, rgb);
    assert_true(rgb[0] > 240 && rgb[1] > 240 && rgb[2] > 240);
    cell_rect(s, 0, 0, &x, &y, &size, fill, sizeof fill); /* -0.5: bluish */
    rgb_of(fill, rgb);
    assert_true(rgb[2] > rgb[0]);
    cell_rect(s, 1, 0, &x, &y, &size, fill, sizeof fill); /* 2: deep red */
    rgb_of(fill, rgb);
    assert_true(rgb[0] > 150 && rgb[1] < 60 && rgb[2] < 60);
    free(s);
    /* mask fills (-1e9) are not data: a masked softmax input's kept
     * values alone decide the map */
    double w[4] = {-1e9, 0.3, 0.7, -INFINITY};
    bool m2[4] = {true, false, false, false};
    ls_svg_heatmap h2 = {.v = w, .masked = m2, .rows = 2, .cols = 2, .title = "m"};
    assert_int_equal(ls_svg_resolve(&h2, &lo, &hi), LS_SVG_MAP_SEQUENTIAL);
    assert_true(lo == 0.3 && hi == 0.7);
    /* an explicit choice wins */
    h2.map = LS_SVG_MAP_DIVERGING;
    assert_int_equal(ls_svg_resolve(&h2, &lo, &hi), LS_SVG_MAP_DIVERGING);
    assert_true(lo == -0.7 && hi == 0.7);
}

/* ---- masked cells, values, title ---- */

static void test_masked_cells_are_hatched(void **st)
{
    (void)st;
    double v[12];
    bool mk[12];
    for (int k = 0; k < 12; k++) {
        v[k] = k * 0.05;
        mk[k] = k % 4 == 3; /* the last key of each query: a padded key */
    }
    ls_svg_heatmap h = {.v = v, .masked = mk, .rows = 3, .cols = 4, .title = "attn",
                        .map = LS_SVG_MAP_PROB};
    char *s = render(&h);
    /* a pattern of diagonal lines, used by exactly the masked cells and the legend key */
    assert_non_null(strstr(s, "<pattern id=\"masked\""));
    assert_non_null(strstr(s, "patternTransform=\"rotate(45)\""));
    assert_non_null(strstr(s, "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\""));
    assert_int_equal(count(s, "masked ("), 3);
    assert_int_equal(count(s, "fill=\"url(#masked)\""), 3 + 1);
    int x, y, size;
    char fill[64];
    cell_rect(s, 1, 3, &x, &y, &size, fill, sizeof fill);
    assert_string_equal(fill, "url(#masked)");
    cell_rect(s, 1, 2, &x, &y, &size, fill, sizeof fill);
    assert_string_not_equal(fill, "url(#masked)");
    free(s);
    /* nothing masked: no legend key for it */
    memset(mk, 0, sizeof mk);
    s = render(&h);
    assert_int_equal(count(s, "url(#masked)"), 0);
    free(s);
}

static void test_values_in_cells_up_to_16x16(void **st)
{
    (void)st;
    enum { N = 17 };
    double v[N * N];
    for (int k = 0; k < N * N; k++)
        v[k] = (k % 7) / 6.0;
    v[0] = 0.25;
    v[1] = 1.0;
    v[2] = 0.0;
    ls_svg_heatmap h = {.v = v, .rows = 16, .cols = 16, .title = "t", .map = LS_SVG_MAP_PROB};
    char *s = render(&h);
    assert_int_equal(count(s, "class=\"v\""), 16 * 16);
    /* few digits, and ink that reads: white on dark 0, black on bright 1 */
    assert_non_null(strstr(s, "fill=\"#ffffff\">0.25</text>"));
    assert_non_null(strstr(s, "fill=\"#000000\">1.00</text>"));
    assert_non_null(strstr(s, "fill=\"#ffffff\">0</text>"));
    free(s);
    h.rows = 17; /* one row more: no values */
    s = render(&h);
    assert_int_equal(count(s, "class=\"v\""), 0);
    free(s);
    h.rows = 16;
    h.cols = 17;
    s = render(&h);
    assert_int_equal(count(s, "class=\"v\""), 0);
    free(s);
    /* masked cells carry no value text (a -1e9 fill is not a reading) */
    bool mk[4] = {true, false, false, false};
    double w[4] = {-1e9, 0.5, -0.3, 12.5};
    ls_svg_heatmap h2 = {.v = w, .masked = mk, .rows = 2, .cols = 2, .title = "t"};
    s = render(&h2);
    assert_int_equal(count(s, "class=\"v\""), 3);
    assert_null(strstr(s, "e+09</text>"));
    assert_non_null(strstr(s, ">-0.30</text>"));
    assert_non_null(strstr(s, ">12.5</text>"));
    free(s);
}

/* The title lines as written: text between '<text class="title"' and
 * '</text>', with their x and font size. */
static int title_lines(const char *s, char lines[4][512], int x[4], int fs[4])
{
    int n = 0;
    for (const char *p = strstr(s, "<text class=\"title\""); p && n < 4;
         p = strstr(p + 1, "<text class=\"title\"")) {
        assert_int_equal(sscanf(p, "<text class=\"title\" x=\"%d\"", &x[n]), 1);
        assert_int_equal(sscanf(strstr(p, "font-size="), "font-size=\"%d\"", &fs[n]), 1);
        const char *a = strchr(p, '>') + 1, *b = strstr(a, "</text>");
        size_t k = (size_t)(b - a);
        assert_true(k < 512);
        memcpy(lines[n], a, k);
        lines[n][k] = '\0';
        n++;
    }
    return n;
}

/* An estimate made here, not by the writer: 0.6 em per character of a
 * monospace font (DejaVu Sans Mono's advance is 0.602 em). */
static double est_width(const char *s, int fs)
{
    int chars = 0;
    for (; *s; s++)
        chars += ((unsigned char)*s & 0xc0) != 0x80;
    return chars * 0.6 * fs;
}

static void test_title_is_never_clipped(void **st)
{
    (void)st;
    double v[4] = {0.1, 0.9, 0.4, 0.6};
    const char *sub = "[2, 8, 32, 32]  batch 1 of 2  head 7 of 8";
    const char *titles[] = {
        "toy_transformer  encoder.layers.0.enc_self_attn.attn",
        ("conformer_small  encoder.encoders.11.self_attn.matrix_bd_with_a_very_long_point_name "
         "and.some.more.path.segments.that.go.on.and.on"),
        "x",
    };
    for (size_t t = 0; t < sizeof titles / sizeof titles[0]; t++) {
        ls_svg_heatmap h = {.v = v, .rows = 2, .cols = 2, .title = titles[t], .subtitle = sub};
        char *s = render(&h);
        int W, H;
        assert_int_equal(svg_size(s, &W, &H), 2);
        char lines[4][512];
        int x[4], fs[4];
        int n = title_lines(s, lines, x, fs);
        assert_true(n >= 2 && n <= 3); /* title on one or two lines, then the subtitle */
        char joined[1024] = "";
        for (int i = 0; i < n; i++) {
            assert_true(x[i] + est_width(lines[i], fs[i]) <= W);
            if (i < n - 1)
                strcat(joined, lines[i]);
        }
        /* every character of the title is there (a break eats one space) */
        assert_true(strlen(joined) + 1 >= strlen(titles[t]));
        assert_string_equal(lines[n - 1], sub);
        assert_non_null(strstr(s, "batch 1 of 2  head 7 of 8"));
        if (t == 1)
            assert_int_equal(n, 3); /* the long one wrapped */
        free(s);
    }
}

static void test_labels_every_kth_when_they_would_collide(void **st)
{
    (void)st;
    enum { R = 5, C = 512 };
    static double v[R * C];
    static char names[C][32];
    const char *cl[C], *rl[R] = {"ich", "mochte", "ein", "bier", "a_token_far_longer_than_any_label_should_be"};
    for (int k = 0; k < R * C; k++)
        v[k] = sin(k * 0.1);
    for (int j = 0; j < C; j++) {
        snprintf(names[j], sizeof names[j], "%d:%dms", j, j * 20);
        cl[j] = names[j];
    }
    ls_svg_heatmap h = {.v = v, .rows = R, .cols = C, .row_labels = rl, .col_labels = cl, .title = "w"};
    char *s = render(&h);
    /* 5 rows keep one label each; 512 columns get every k-th, spaced
     * at least a line of text apart, starting at column 0 */
    assert_int_equal(count(s, "class=\"rl\""), R);
    int n = count(s, "class=\"cl\"");
    assert_true(n > 8 && n < C);
    assert_non_null(strstr(s, ">0:0ms</text>"));
    int prev = -1000, x, y, first = 1;
    for (const char *p = strstr(s, "<text class=\"cl\""); p; p = strstr(p + 1, "<text class=\"cl\"")) {
        assert_int_equal(sscanf(p, "<text class=\"cl\" x=\"%d\" y=\"%d\"", &x, &y), 2);
        if (!first)
            assert_true(x - prev >= 13);
        first = 0;
        prev = x;
    }
    /* a label too long for the margin ends in an ellipsis */
    assert_non_null(strstr(s, ">a_token_far_longer_\xe2\x80\xa6</text>"));
    assert_null(strstr(s, "should_be"));
    free(s);
}

/* ---- XML ---- */

static bool have(const char *path) { return access(path, X_OK) == 0; }

static void test_labels_are_escaped_into_well_formed_xml(void **st)
{
    (void)st;
    double v[9] = {1, -1, 0.5, 0, 2, -2, 3, 0.25, 1};
    const char *rows[] = {"<s>", "a&b", "\"q\" 'x'"};
    const char *cols[] = {"\x01\x1b[31mred\n\t", "\xff\xfe bad", "\xe4\xb8\xad\xe6\x96\x87"};
    ls_svg_heatmap h = {.v = v, .rows = 3, .cols = 3, .row_labels = rows, .col_labels = cols,
                        .title = "model <b>&amp; \"t\"", .subtitle = "batch 0\x07"};
    char *s = render(&h);
    assert_null(strstr(s, "<s>"));
    assert_null(strstr(s, "<b>"));
    assert_non_null(strstr(s, "&lt;s&gt;"));
    assert_non_null(strstr(s, "a&amp;b"));
    assert_non_null(strstr(s, "&quot;q&quot; &apos;x&apos;"));
    assert_non_null(strstr(s, "&amp;amp;"));
    assert_non_null(strstr(s, "\xe4\xb8\xad\xe6\x96\x87"));      /* Chinese kept */
    assert_non_null(strstr(s, "\xef\xbf\xbd\xef\xbf\xbd bad")); /* bad bytes replaced */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        assert_true(*p >= 0x20 || *p == '\n');
    free(s);
    /* a real XML parser agrees */
    if (!have("/usr/bin/python3")) {
        print_message("skipped the parser check: /usr/bin/python3 is not installed\n");
        return;
    }
    char dir[512], path[600], cmd[1400];
    assert_int_equal(test_tmpdir_make(dir, sizeof dir, "svg"), 0);
    snprintf(path, sizeof path, "%s/labels.svg", dir);
    ls_error err = {0};
    assert_int_equal(ls_svg_write(path, &h, &err), LS_OK);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); "
             "t = [n.firstChild.data for n in d.getElementsByTagName(\"text\") if n.firstChild]; "
             "sys.exit(0 if \"<s>\" in t and \"a&b\" in t else 3)' %s",
             path);
    assert_int_equal(system(cmd), 0);
    test_tmpdir_remove(dir);
}

static void test_write_is_atomic_and_errors_name_the_file(void **st)
{
    (void)st;
    char dir[512], path[600], bad[700];
    assert_int_equal(test_tmpdir_make(dir, sizeof dir, "svg"), 0);
    snprintf(path, sizeof path, "%s/x.svg", dir);
    double v[1] = {3};
    ls_svg_heatmap h = {.v = v, .rows = 1, .cols = 1, .title = "one"};
    ls_error err = {0};
    assert_int_equal(ls_svg_write(path, &h, &err), LS_OK);
    /* nothing to draw: an error naming the file, the old file untouched */
    ls_svg_heatmap empty = {.v = v, .rows = 0, .cols = 1, .title = "none"};
    assert_int_not_equal(ls_svg_write(path, &empty, &err), LS_OK);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "nothing to draw"));
    void *buf;
    size_t len;
    assert_int_equal(ls_read_file(path, 1 << 20, &buf, &len, NULL), LS_OK);
    assert_non_null(strstr(buf, "one</text>"));
    free(buf);
    /* a directory that is not there */
    snprintf(bad, sizeof bad, "%s/missing/x.svg", dir);
    err.msg[0] = '\0';
    assert_int_not_equal(ls_svg_write(bad, &h, &err), LS_OK);
    assert_non_null(strstr(err.msg, "missing"));
    struct stat sb;
    assert_int_not_equal(stat(bad, &sb), 0);
    test_tmpdir_remove(dir);
}

/* ---- a real render ---- */

/* Prints "W H" then "r g b" for each (x, y) given, from a PNG, using only
 * Python's standard library (zlib + the five PNG row filters). */
static const char png_probe[] =
    "import sys, zlib, struct\n"
    "d = open(sys.argv[1], 'rb').read()\n"
    "assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n'\n"
    "i, idat = 8, b''\n"
    "while i < len(d):\n"
    "    n, t = struct.unpack('>I4s', d[i:i+8]); c = d[i+8:i+8+n]; i += 12 + n\n"
    "    if t == b'IHDR': w, h, bd, ct = struct.unpack('>IIBB', c[:10])\n"
    "    if t == b'IDAT': idat += c\n"
    "assert bd == 8 and ct in (2, 6)\n"
    "bpp = 3 if ct == 2 else 4\n"
    "raw = zlib.decompress(idat); st = w * bpp; rows = []; prev = bytearray(st); p = 0\n"
    "for y in range(h):\n"
    "    f = raw[p]; line = bytearray(raw[p+1:p+1+st]); p += 1 + st\n"
    "    for x in range(st):\n"
    "        a = line[x-bpp] if x >= bpp else 0; b = prev[x]; c = prev[x-bpp] if x >= bpp else 0\n"
    "        if f == 1: line[x] = (line[x] + a) & 255\n"
    "        elif f == 2: line[x] = (line[x] + b) & 255\n"
    "        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255\n"
    "        elif f == 4:\n"
    "            q = a + b - c; pa, pb, pc = abs(q - a), abs(q - b), abs(q - c)\n"
    "            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255\n"
    "    rows.append(line); prev = line\n"
    "print(w, h)\n"
    "for k in range(2, len(sys.argv), 2):\n"
    "    x, y = int(sys.argv[k]), int(sys.argv[k+1])\n"
    "    print(*rows[y][x*bpp:x*bpp+3])\n";

static bool on_path(const char *prog)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

static void test_rsvg_convert_renders_the_export(void **st)
{
    (void)st;
    if (!on_path("rsvg-convert") || !have("/usr/bin/python3")) {
        print_message("SKIPPED: rsvg-convert (Debian package librsvg2-bin) or /usr/bin/python3 "
                      "is not installed; the SVG was not rendered\n");
        skip();
    }
    /* a toy attention: 5 queries x 5 keys, key 4 padded (masked) */
    double v[25];
    bool mk[25];
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            v[i * 5 + j] = j == 4 ? 0 : (i == j ? 0.7 : 0.1);
            mk[i * 5 + j] = j == 4;
        }
    const char *toks[] = {"ich", "mochte", "ein", "bier", "P"};
    ls_svg_heatmap h = {.v = v, .masked = mk, .rows = 5, .cols = 5, .row_labels = toks,
                        .col_labels = toks, .title = "toy_transformer  encoder.layers.0.enc_self_attn.attn",
                        .subtitle = "[2, 4, 5, 5]  batch 0 of 2  head 0 of 4", .map = LS_SVG_MAP_PROB};
    char dir[512], svg[600], png[600], out[620], cmd[4096];
    assert_int_equal(test_tmpdir_make(dir, sizeof dir, "svg"), 0);
    snprintf(svg, sizeof svg, "%s/attn.svg", dir);
    snprintf(png, sizeof png, "%s/attn.png", dir);
    snprintf(out, sizeof out, "%s/probe.txt", dir);
    ls_error err = {0};
    assert_int_equal(ls_svg_write(svg, &h, &err), LS_OK);
    snprintf(cmd, sizeof cmd, "rsvg-convert -o '%s' '%s'", png, svg);
    assert_int_equal(system(cmd), 0);
    struct stat sb;
    assert_int_equal(stat(png, &sb), 0);
    assert_true(sb.st_size > 1000);

    char *s = render(&h);
    int W, H, x, y, size, diag[3], off[3];
    assert_int_equal(svg_size(s, &W, &H), 2);
    char fill[64];
    cell_rect(s, 2, 2, &x, &y, &size, fill, sizeof fill); /* 0.7 on the diagonal */
    rgb_of(fill, diag);
    cell_rect(s, 2, 0, &x, &y, &size, fill, sizeof fill); /* 0.1 */
    rgb_of(fill, off);
    int mx, my;
    cell_rect(s, 2, 4, &mx, &my, &size, fill, sizeof fill); /* masked */
    assert_string_equal(fill, "url(#masked)");
    free(s);
    /* probe a corner of each cell (the value text sits in the middle),
     * the whole masked cell's row of pixels, and the white margin */
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    assert_true(fputs(png_probe, f) >= 0);
    assert_int_equal(fclose(f), 0);
    int n = snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' %d %d %d %d 1 1", out, png,
                     x + 2 * size + 4, y + 4, x + 4, y + 4);
    for (int k = 1; k < size - 1; k++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %d %d", mx + k, my + size / 2);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " > '%s.out'", out);
    assert_int_equal(system(cmd), 0);
    char res[640];
    snprintf(res, sizeof res, "%s.out", out);
    FILE *r = fopen(res, "r");
    assert_non_null(r);
    int pw, ph, px[3];
    assert_int_equal(fscanf(r, "%d %d", &pw, &ph), 2);
    assert_int_equal(pw, W);
    assert_int_equal(ph, H);
    int want[3][3] = {{diag[0], diag[1], diag[2]}, {off[0], off[1], off[2]}, {255, 255, 255}};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(fscanf(r, "%d %d %d", &px[0], &px[1], &px[2]), 3);
        for (int c = 0; c < 3; c++)
            assert_true(abs(px[c] - want[k][c]) <= 8);
    }
    /* hatching: light background and dark lines across the masked cell */
    int light = 0, dark = 0;
    for (int k = 1; k < size - 1; k++) {
        assert_int_equal(fscanf(r, "%d %d %d", &px[0], &px[1], &px[2]), 3);
        assert_true(abs(px[0] - px[1]) < 10 && abs(px[1] - px[2]) < 10); /* grey */
        light += px[0] > 200;
        dark += px[0] < 150;
    }
    assert_true(light >= 5 && dark >= 3);
    fclose(r);
    test_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probabilities_get_a_sequential_map),
        cmocka_unit_test(test_signed_values_get_a_diverging_map_centred_on_zero),
        cmocka_unit_test(test_masked_cells_are_hatched),
        cmocka_unit_test(test_values_in_cells_up_to_16x16),
        cmocka_unit_test(test_title_is_never_clipped),
        cmocka_unit_test(test_labels_every_kth_when_they_would_collide),
        cmocka_unit_test(test_labels_are_escaped_into_well_formed_xml),
        cmocka_unit_test(test_write_is_atomic_and_errors_name_the_file),
        cmocka_unit_test(test_rsvg_convert_renders_the_export),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
