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

const char *ls_printable(const char *s, char *buf, size_t n)
{
    if (n == 0)
        return "";
    if (!s)
        s = "(null)";
    size_t i = 0, j = 0;
    for (; s[i] && j + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0xc2 && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f) {
            buf[j++] = '?';
            i++;
            continue;
        }
        buf[j++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    buf[j] = '\0';
    if (s[i] && n > 4) {
        /* not in the middle of a UTF-8 sequence */
        size_t k = n - 4;
        while (k > 0 && ((unsigned char)buf[k] & 0xc0) == 0x80)
            k--;
        memcpy(buf + k, "...", 4);
    }
    return buf;
}
