/* tui_keys.h - the TUI fuzz targets' shared pieces: a scratch working
 * directory for the files ':dump'/':svg' write, and the bytes -> keys
 * loop with a redraw after every key.
 *
 * Bytes -> keys: 0x00-0x7f are themselves (letters, ':' commands, Enter,
 * Esc, Ctrl keys); 0x80-0xef pick a special key (arrows, pages,
 * Home/End, resize).  A resize takes the next two bytes as width and
 * height, so "terminal too small" screens are drawn too.  0xf0-0xfe are
 * time between keys (ls_tui_idle computes 1-15 nodes ahead), 0xff all
 * the time it wants. */
#ifndef LAYERSTEP_FUZZ_TUI_KEYS_H
#define LAYERSTEP_FUZZ_TUI_KEYS_H

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layerstep/tui.h"

/* The harness's one piece of state: the scratch directory, made on the
 * first call, removed at exit. */
static char fuzz_scratch[] = "/tmp/ls_fuzz_tui_XXXXXX";

static void fuzz_remove_scratch(void)
{
    DIR *d = opendir(fuzz_scratch);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
    if (chdir("/") == 0)
        rmdir(fuzz_scratch);
}

static void fuzz_enter_scratch(void)
{
    static int in_scratch;
    if (!in_scratch) {
        if (mkdtemp(fuzz_scratch) && chdir(fuzz_scratch) == 0)
            atexit(fuzz_remove_scratch);
        in_scratch = 1;
    }
}

/* Feeds data as keys to app (at 80x24 first), drawing after each. */
static void fuzz_keys(ls_tui *app, const uint8_t *data, size_t size)
{
    ls_textcanvas tc = {0};
    if (ls_textcanvas_init(&tc, 80, 24))
        abort();
    int w = 80, h = 24;
    ls_tui_set_size(app, w, h);
    for (size_t i = 0; i < size; i++) {
        int key = data[i];
        if (key >= 0xf0) {
            for (int k = 0; key == 0xff || k < key - 0xef; k++)
                if (!ls_tui_idle(app))
                    break;
            continue;
        }
        if (key >= 0x80) {
            key = LS_KEY_UP + (key - 0x80) % (LS_KEY_MAX - LS_KEY_UP);
            if (key == LS_KEY_RESIZE) {
                w = i + 1 < size ? 1 + data[++i] % 200 : 80;
                h = i + 1 < size ? 1 + data[++i] % 60 : 24;
                ls_tui_set_size(app, w, h);
                ls_textcanvas_free(&tc);
                if (ls_textcanvas_init(&tc, w, h))
                    abort();
            }
        }
        unsigned r = ls_tui_feed(app, key);
        ls_textcanvas_clear(&tc);
        ls_tui_draw(app, &tc.c);
        if (r & LS_TUI_QUIT)
            break;
    }
    ls_textcanvas_free(&tc);
}

#endif
