/* config.c - config.json parsing and checked, typed lookups.
 *
 * Every getter error reads "<file>: '<key>' must be <what>, found <value>"
 * so a user can fix the file without reading code.  JSON null counts as
 * absent for the _opt getters (Python's None means "use the default") but
 * is a type error for the required ones.
 */
#include "layerstep/config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io_internal.h"
#include "layerstep/atomic.h"

#define JSON_FILE_MAX ((size_t)64 << 20)

int ls_json_load(const char *path, cJSON **out, ls_error *err)
{
    *out = NULL;
    void *buf;
    size_t len;
    int rc = ls_read_file(path, JSON_FILE_MAX, &buf, &len, err);
    if (rc != LS_OK)
        return rc;
    rc = ls_json_parse(buf, len, path, out, err);
    free(buf);
    return rc;
}

/* 1-based line and column of byte `at`, columns counted in bytes. */
static void line_col(const char *text, size_t at, size_t *line, size_t *col)
{
    *line = 1;
    size_t start = 0;
    for (size_t i = 0; i < at; i++)
        if (text[i] == '\n') {
            (*line)++;
            start = i + 1;
        }
    *col = at - start + 1;
}

static int syntax_error(const char *text, size_t len, size_t at, const char *name,
                        const char *what, ls_error *err)
{
    size_t line, col;
    line_col(text, at, &line, &col);
    char near[24] = "";
    size_t k = 0;
    for (size_t i = at; i < len && k < 16 && text[i] != '\n'; i++)
        near[k++] = text[i];
    near[k] = '\0';
    char shown[32];
    return ls_error_set(err, LS_ERR_FORMAT, "%s: %s at line %zu, column %zu%s%s%s", name, what,
                        line, col, k ? " near '" : " (end of file)",
                        k ? ls_printable(near, shown, sizeof shown) : "", k ? "'" : "");
}

int ls_json_parse(const char *text, size_t len, const char *name, cJSON **out, ls_error *err)
{
    *out = NULL;
    if (!name)
        name = "(json)";
    size_t skip = 0;
    /* Editors on some systems prepend a UTF-8 byte order mark; cJSON does
     * not skip it. */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        skip = 3;
    /* The length-bounded parse hands back the error position itself, so the
     * message never depends on cJSON's global error pointer. */
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text + skip, len - skip, &end, 0);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : skip;
        if (at > len)
            at = len;
        return syntax_error(text, len, at, name, "JSON syntax error", err);
    }
    for (const char *p = end; p && p < text + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(root);
            return syntax_error(text, len, (size_t)(p - text), name,
                                "unexpected text after the JSON value", err);
        }
    *out = root;
    return LS_OK;
}

const cJSON *ls_json_at(const cJSON *root, const char *dotted)
{
    if (!root || !dotted)
        return NULL;
    const cJSON *cur = root;
    const char *p = dotted;
    char part[256];
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n >= sizeof part)
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        if (cJSON_IsObject(cur)) {
            cur = cJSON_GetObjectItemCaseSensitive(cur, part);
        } else if (cJSON_IsArray(cur)) {
            /* "sentences.0" indexes a list, handy for small nested configs. */
            char *e;
            long i = strtol(part, &e, 10);
            if (*e || part[0] < '0' || part[0] > '9' || i > 1000000)
                return NULL;
            cur = cJSON_GetArrayItem(cur, (int)i);
        } else {
            return NULL;
        }
        if (!cur)
            return NULL;
        if (!dot)
            return cur;
        p = dot + 1;
    }
}

static const char *file_name(const char *file) { return file ? file : "config"; }

static void show(const cJSON *v, char *buf, size_t n)
{
    char *s = cJSON_PrintUnformatted(v);
    ls_printable(s ? s : "?", buf, n);
    free(s);
}

static int missing(const char *file, const char *key, ls_error *err)
{
    return ls_error_set(err, LS_ERR_MISSING, "%s: missing key '%s'", file_name(file), key);
}

/* Range errors say LS_ERR_RANGE, type errors LS_ERR_FORMAT; the text is the
 * same shape either way. */
static int must_be(const char *file, const char *key, const cJSON *v, int code, const char *what,
                   ls_error *err)
{
    char got[80];
    show(v, got, sizeof got);
    return ls_error_set(err, code, "%s: '%s' must be %s, found %s", file_name(file), key, what,
                        got);
}

static int get_int(const cJSON *v, const char *key, const char *file, int64_t lo, int64_t hi,
                   int64_t *out, ls_error *err)
{
    char what[96];
    snprintf(what, sizeof what, "an integer in [%" PRId64 ", %" PRId64 "]", lo, hi);
    if (!cJSON_IsNumber(v))
        return must_be(file, key, v, LS_ERR_FORMAT, what, err);
    double d = v->valuedouble;
    if (d != floor(d) || !isfinite(d))
        return must_be(file, key, v, LS_ERR_FORMAT, what, err);
    /* Compare as doubles first so huge values never reach the cast. */
    if (d < (double)lo || d > (double)hi || d < -9223372036854775808.0 ||
        d >= 9223372036854775808.0)
        return must_be(file, key, v, LS_ERR_RANGE, what, err);
    int64_t i = (int64_t)d;
    if (i < lo || i > hi)
        return must_be(file, key, v, LS_ERR_RANGE, what, err);
    *out = i;
    return LS_OK;
}

static int get_num(const cJSON *v, const char *key, const char *file, double lo, double hi,
                   double *out, ls_error *err)
{
    char what[96];
    snprintf(what, sizeof what, "a number in [%g, %g]", lo, hi);
    if (!cJSON_IsNumber(v))
        return must_be(file, key, v, LS_ERR_FORMAT, what, err);
    double d = v->valuedouble;
    if (!(d >= lo && d <= hi))
        return must_be(file, key, v, LS_ERR_RANGE, what, err);
    *out = d;
    return LS_OK;
}

static int get_bool(const cJSON *v, const char *key, const char *file, bool *out, ls_error *err)
{
    if (!cJSON_IsBool(v))
        return must_be(file, key, v, LS_ERR_FORMAT, "true or false", err);
    *out = cJSON_IsTrue(v);
    return LS_OK;
}

static int copy_str(const char *s, const char *key, const char *file, char *buf, size_t n,
                    ls_error *err)
{
    size_t len = strlen(s);
    if (len >= n) {
        if (n)
            buf[0] = '\0';
        return ls_error_set(err, LS_ERR_RANGE,
                            "%s: '%s' is %zu characters long, at most %zu allowed",
                            file_name(file), key, len, n ? n - 1 : 0);
    }
    memcpy(buf, s, len + 1);
    return LS_OK;
}

static int get_str(const cJSON *v, const char *key, const char *file, char *buf, size_t n,
                   ls_error *err)
{
    if (!cJSON_IsString(v))
        return must_be(file, key, v, LS_ERR_FORMAT, "a string", err);
    return copy_str(v->valuestring, key, file, buf, n, err);
}

int ls_json_int(const cJSON *root, const char *key, const char *file, int64_t lo, int64_t hi,
                int64_t *out, ls_error *err)
{
    const cJSON *v = ls_json_at(root, key);
    return v ? get_int(v, key, file, lo, hi, out, err) : missing(file, key, err);
}

int ls_json_num(const cJSON *root, const char *key, const char *file, double lo, double hi,
                double *out, ls_error *err)
{
    const cJSON *v = ls_json_at(root, key);
    return v ? get_num(v, key, file, lo, hi, out, err) : missing(file, key, err);
}

int ls_json_bool(const cJSON *root, const char *key, const char *file, bool *out, ls_error *err)
{
    const cJSON *v = ls_json_at(root, key);
    return v ? get_bool(v, key, file, out, err) : missing(file, key, err);
}

int ls_json_str(const cJSON *root, const char *key, const char *file, char *buf, size_t n,
                ls_error *err)
{
    const cJSON *v = ls_json_at(root, key);
    return v ? get_str(v, key, file, buf, n, err) : missing(file, key, err);
}

static const cJSON *at_opt(const cJSON *root, const char *key)
{
    const cJSON *v = ls_json_at(root, key);
    return cJSON_IsNull(v) ? NULL : v;
}

int ls_json_int_opt(const cJSON *root, const char *key, const char *file, int64_t lo, int64_t hi,
                    int64_t dflt, int64_t *out, ls_error *err)
{
    const cJSON *v = at_opt(root, key);
    if (!v) {
        *out = dflt;
        return LS_OK;
    }
    return get_int(v, key, file, lo, hi, out, err);
}

int ls_json_num_opt(const cJSON *root, const char *key, const char *file, double lo, double hi,
                    double dflt, double *out, ls_error *err)
{
    const cJSON *v = at_opt(root, key);
    if (!v) {
        *out = dflt;
        return LS_OK;
    }
    return get_num(v, key, file, lo, hi, out, err);
}

int ls_json_bool_opt(const cJSON *root, const char *key, const char *file, bool dflt, bool *out,
                     ls_error *err)
{
    const cJSON *v = at_opt(root, key);
    if (!v) {
        *out = dflt;
        return LS_OK;
    }
    return get_bool(v, key, file, out, err);
}

int ls_json_str_opt(const cJSON *root, const char *key, const char *file, const char *dflt,
                    char *buf, size_t n, ls_error *err)
{
    const cJSON *v = at_opt(root, key);
    if (!v)
        return copy_str(dflt ? dflt : "", key, file, buf, n, err);
    return get_str(v, key, file, buf, n, err);
}
