/* progress.c - where each learner got to, in one small JSON file:
 *
 *   {"lessons": {"02": {"step": 4, "done": false, "answers": [1, 2, 0, 3]}},
 *    "last": "02"}
 *
 * at $XDG_STATE_HOME/layerstep/progress.json (~/.local/state/...).
 * "answers" holds how each step's question went (0 not yet, 1 right first
 * time, 2 right after a retry, 3 shown), so a score survives a restart.
 *
 * Nothing a learner made is lost: a file that cannot be read is never
 * written over (the error says why), and a damaged one (cut short, not an
 * object, over 1 MiB) is kept as progress.json.bad-<time> before a new one
 * is written.  Paths are allocated, never cut to a buffer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "layerstep/atomic.h"
#include "layerstep/lesson.h"

#define PROGRESS_MAX (1 << 20)

char *ls_progress_path(void)
{
    const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    const char *base = x && x[0] == '/' ? x : home && home[0] ? home : NULL;
    if (!base)
        return NULL;
    const char *tail = base == x ? "/layerstep/progress.json" : "/.local/state/layerstep/progress.json";
    size_t n = strlen(base) + strlen(tail) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s", base, tail);
    return p;
}

typedef enum { READ_OK, READ_NONE, READ_DAMAGED, READ_FAILED } read_state;

/* The file's object (READ_OK), none yet, a damaged one (what is wrong in
 * err), or one that cannot be read (err). */
static read_state progress_read(const char *path, cJSON **root, ls_error *err)
{
    *root = NULL;
    struct stat st;
    if (stat(path, &st)) {
        if (errno == ENOENT)
            return READ_NONE;
        ls_error_set(err, LS_ERR_IO, "%s: %s", path, strerror(errno));
        return READ_FAILED;
    }
    if (!S_ISREG(st.st_mode)) {
        ls_error_set(err, LS_ERR_IO, "%s is not a regular file", path);
        return READ_FAILED;
    }
    if (st.st_size > PROGRESS_MAX) {
        ls_error_set(err, LS_ERR_IO, "%s is over 1 MiB, not a progress file", path);
        return READ_DAMAGED;
    }
    void *buf;
    size_t len;
    if (ls_read_file(path, PROGRESS_MAX, &buf, &len, err))
        return READ_FAILED;
    *root = cJSON_ParseWithLength(buf, len);
    free(buf);
    if (!*root || !cJSON_IsObject(*root)) {
        cJSON_Delete(*root);
        *root = NULL;
        ls_error_set(err, LS_ERR_IO, "%s is damaged (not a JSON object)", path);
        return READ_DAMAGED;
    }
    return READ_OK;
}

static const cJSON *lesson_entry(const cJSON *root, const char *id, bool *any)
{
    const cJSON *ls = cJSON_GetObjectItemCaseSensitive(root, "lessons");
    if (any)
        *any = cJSON_IsObject(ls) && ls->child;
    return id && cJSON_IsObject(ls) ? cJSON_GetObjectItemCaseSensitive(ls, id) : NULL;
}

int ls_progress_get(const char *path, const char *id, int *step, bool *done, bool *any, ls_error *err)
{
    *step = 0;
    *done = false;
    *any = false;
    cJSON *root;
    read_state rs = progress_read(path, &root, err);
    if (rs == READ_NONE)
        return LS_OK;  /* a first start */
    if (rs != READ_OK)
        return err && err->code ? err->code : LS_ERR_IO;
    const cJSON *e = lesson_entry(root, id, any);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "step");
    if (cJSON_IsNumber(s) && s->valuedouble >= 0 && s->valuedouble < 100000)
        *step = (int)s->valuedouble;
    *done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "done"));
    cJSON_Delete(root);
    return LS_OK;
}

int ls_progress_get_answers(const char *path, const char *id, unsigned char *res, int n, ls_error *err)
{
    memset(res, 0, (size_t)n);
    cJSON *root;
    read_state rs = progress_read(path, &root, err);
    if (rs == READ_NONE)
        return LS_OK;
    if (rs != READ_OK)
        return err && err->code ? err->code : LS_ERR_IO;
    const cJSON *an = cJSON_GetObjectItemCaseSensitive(lesson_entry(root, id, NULL), "answers");
    int i = 0;
    const cJSON *list = cJSON_IsArray(an) ? an : NULL, *v;
    cJSON_ArrayForEach(v, list)
    {
        if (i >= n)
            break;
        /* anything but 0..3 is a hand edit: counted as not answered */
        res[i++] = cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 3
                       ? (unsigned char)v->valuedouble
                       : 0;
    }
    cJSON_Delete(root);
    return LS_OK;
}

/* mkdir -p of the file's directory, on a copy of the path */
static int make_dirs(const char *path, ls_error *err)
{
    char *dir = strdup(path);
    if (!dir)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    int rc = LS_OK;
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; !rc; p++) {
            if (*p && *p != '/')
                continue;
            char keep = *p;
            *p = '\0';
            struct stat st;
            if (mkdir(dir, 0700) && errno != EEXIST)
                rc = ls_error_set(err, LS_ERR_IO, "%s: cannot create the directory: %s", dir, strerror(errno));
            else if (stat(dir, &st) || !S_ISDIR(st.st_mode))
                rc = ls_error_set(err, LS_ERR_IO, "%s is not a directory", dir);
            *p = keep;
            if (!keep)
                break;
        }
    }
    free(dir);
    return rc;
}

/* Moves a damaged file aside as PATH.bad-<time>; note says so. */
static int keep_damaged(const char *path, const char *what, char *note, size_t nn, ls_error *err)
{
    size_t n = strlen(path) + 32;
    char *bad = malloc(n);
    if (!bad)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    snprintf(bad, n, "%s.bad-%lld", path, (long long)time(NULL));
    int rc = LS_OK;
    if (rename(path, bad))
        rc = ls_error_set(err, LS_ERR_IO, "%s; it cannot be moved aside: %s", what, strerror(errno));
    else
        snprintf(note, nn, "%.300s; kept as %.600s, a new one started", what, bad);
    free(bad);
    return rc;
}

int ls_progress_set_answers(const char *path, const char *id, int step, bool done,
                            const unsigned char *res, int n, ls_error *err)
{
    int rc = make_dirs(path, err);
    if (rc)
        return rc;
    cJSON *root;
    ls_error rerr = {0};
    if (!err)
        return LS_ERR_ARG;
    read_state rs = progress_read(path, &root, &rerr);
    if (rs == READ_FAILED)
        return ls_error_set(err, rerr.code ? rerr.code : LS_ERR_IO, "%s", rerr.msg);
    char note[sizeof err->msg] = "";
    if (rs == READ_DAMAGED && (rc = keep_damaged(path, rerr.msg, note, sizeof note, err)))
        return rc;
    if (!root)
        root = cJSON_CreateObject();
    cJSON *ls = cJSON_GetObjectItemCaseSensitive(root, "lessons");
    if (!cJSON_IsObject(ls)) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, "lessons");
        ls = cJSON_AddObjectToObject(root, "lessons");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(ls, id);
    cJSON *e = cJSON_AddObjectToObject(ls, id);
    cJSON_AddNumberToObject(e, "step", step);
    cJSON_AddBoolToObject(e, "done", done);
    if (res && n > 0) {
        cJSON *an = cJSON_AddArrayToObject(e, "answers");
        for (int i = 0; an && i < n; i++)
            cJSON_AddItemToArray(an, cJSON_CreateNumber(res[i]));
    }
    cJSON_DeleteItemFromObjectCaseSensitive(root, "last");
    cJSON_AddStringToObject(root, "last", id);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    rc = ls_atomic_write_file(path, text, strlen(text), err);
    free(text);
    if (!rc && note[0] && err)
        snprintf(err->msg, sizeof err->msg, "%s", note);  /* saved, with a notice */
    return rc;
}

int ls_progress_set(const char *path, const char *id, int step, bool done, ls_error *err)
{
    /* keep the answers already recorded for this lesson */
    unsigned char res[256];
    ls_error ignore = {0};
    bool have = !ls_progress_get_answers(path, id, res, (int)sizeof res, &ignore);
    int n = 0;
    for (int i = 0; have && i < (int)sizeof res; i++)
        if (res[i])
            n = i + 1;
    return ls_progress_set_answers(path, id, step, done, n ? res : NULL, n, err);
}
