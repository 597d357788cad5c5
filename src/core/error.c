#include "layerstep/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ls_error_set(ls_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int ls_error_prefix(ls_error *err, const char *fmt, ...)
{
    if (!err)
        return LS_ERR_INTERNAL;
    char head[LS_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    /* build "head: old" by hand: snprintf of two full-size buffers into
     * one trips -Wformat-truncation, and truncation is intended here */
    char old[LS_ERROR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    size_t hn = strlen(head), on = strlen(old), cap = sizeof err->msg - 1, k = 0;
    memcpy(err->msg, head, hn < cap ? hn : cap);
    k = hn < cap ? hn : cap;
    if (k + 2 <= cap) {
        memcpy(err->msg + k, ": ", 2);
        k += 2;
    }
    size_t take = on < cap - k ? on : cap - k;
    memcpy(err->msg + k, old, take);
    err->msg[k + take] = '\0';
    return err->code;
}

const char *ls_status_name(int code)
{
    switch (code) {
    case LS_OK: return "ok";
    case LS_ERR_IO: return "i/o error";
    case LS_ERR_FORMAT: return "malformed file";
    case LS_ERR_SHAPE: return "shape mismatch";
    case LS_ERR_NOMEM: return "out of memory";
    case LS_ERR_ARG: return "bad argument";
    case LS_ERR_MISSING: return "missing";
    case LS_ERR_LIMIT: return "over a limit";
    case LS_ERR_RANGE: return "value out of range";
    case LS_ERR_INTERNAL: return "internal error";
    case LS_ERR_CANCELLED: return "cancelled";
    default: return "unknown error";
    }
}
