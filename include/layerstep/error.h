/* error.h - status codes and the error message every fallible call fills.
 *
 *   ls_error err = {0};
 *   if (ls_npy_load(path, arena, &t, &err) != LS_OK)
 *       fprintf(stderr, "layerstep: %s\n", err.msg);   // one clear line
 *
 * Library code never exits: it returns a negative ls_status and writes one
 * line into err->msg naming the file, the object and what was expected vs
 * found.  err may be NULL when the caller does not want the text.
 */
#ifndef LAYERSTEP_ERROR_H
#define LAYERSTEP_ERROR_H

#include <stddef.h>

typedef enum ls_status {
    LS_OK = 0,
    LS_ERR_IO = -1,       /* open/read/write/rename failed */
    LS_ERR_FORMAT = -2,   /* file content malformed */
    LS_ERR_SHAPE = -3,    /* shapes do not fit */
    LS_ERR_NOMEM = -4,    /* allocation failed */
    LS_ERR_ARG = -5,      /* bad argument from the caller or the user */
    LS_ERR_MISSING = -6,  /* a named tensor/key/point is absent */
    LS_ERR_LIMIT = -7,    /* over a configured limit (memory, size) */
    LS_ERR_RANGE = -8,    /* a value out of its allowed range */
    LS_ERR_INTERNAL = -9, /* our own bug */
    LS_ERR_CANCELLED = -10 /* stopped on request (a signal); nothing half-done is kept */
} ls_status;

#define LS_ERROR_MSG_MAX 1024

typedef struct ls_error {
    int code;
    char msg[LS_ERROR_MSG_MAX];
} ls_error;

/* A copy of s safe to print on a terminal: control bytes (C0, DEL and the
 * UTF-8 C1 range U+0080..U+009F, which include ESC and CSI) become '?', so
 * a lesson title or a point name read from a file cannot move the cursor
 * or retitle the window.  Other UTF-8 stays.  Cut with "..." to fit n.
 * Returns buf. */
const char *ls_printable(const char *s, char *buf, size_t n);

/* Sets err (if non-NULL) and returns code, so callers can write
 * `return ls_error_set(err, LS_ERR_FORMAT, "%s: ...", path);` */
int ls_error_set(ls_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an already set message (adds context on the way up). */
int ls_error_prefix(ls_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *ls_status_name(int code);

#endif
