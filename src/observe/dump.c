#include "layerstep/dump.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "layerstep/atomic.h"
#include "layerstep/config.h"
#include "layerstep/npy.h"
#include "layerstep/trace.h"

/* A marker written first, so a dump interrupted before its manifest is
 * still recognised as ours and may be overwritten.  Its first line says
 * whether the dump finished ("layerstep dump: complete") or not
 * ("layerstep dump: incomplete"); while a dump runs, the file of each
 * point is appended to it, one per line, so the next dump can remove
 * exactly what an interrupted one wrote and nothing else. */
#define MARKER ".layerstep-dump"
#define MARKER_RUNNING "layerstep dump: incomplete\n"
#define MARKER_DONE "layerstep dump: complete\n"

struct ls_dump {
    char *dir;
    char *only;
    ls_error err;
    int status;
    int count;
    int *order;     /* node ids written, in execution order */
    int n_order, cap_order;
};

static bool dir_is_empty_or_ours(const char *dir, bool *ours)
{
    *ours = false;
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool empty = true;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!strcmp(e->d_name, MARKER) || !strcmp(e->d_name, "manifest.json"))
            *ours = true;
        empty = false;
    }
    closedir(d);
    return empty;
}

/* A dump killed mid-write (SIGKILL, a power cut) leaves its temp files,
 * ".<name>.tmp.<pid>" (see atomic.c), and the manifest of the dump before
 * it.  Temps of a dead process are removed; the old manifest goes too, so
 * a half-new directory is never described as a complete old dump (without
 * one, compare reads every *.npy, each of them whole). */
/* A point file name from a manifest or the marker, safe to remove: a
 * plain name inside the folder, ending in .npy. */
static bool point_file_ok(const char *f)
{
    size_t n = strlen(f);
    return n > 4 && !strcmp(f + n - 4, ".npy") && !strchr(f, '/') && f[0] != '.';
}

static void remove_point(const char *dir, const char *file)
{
    char path[4400];
    if (!point_file_ok(file) || snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
        return;
    struct stat st;
    /* only regular files (or links) a dump wrote: a FIFO or folder of
     * that name is the user's */
    if (lstat(path, &st) == 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
        unlink(path);
}

/* The points of the dump before: every file its manifest lists and every
 * file an interrupted dump noted in the marker.  Nothing else in the
 * folder is touched (it may be the user's, with --force). */
static void remove_previous_points(const char *dir)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    cJSON *root = NULL;
    if (ls_json_load(path, &root, NULL) == LS_OK) {
        const cJSON *p, *pts = cJSON_GetObjectItemCaseSensitive(root, "points");
        cJSON_ArrayForEach(p, pts)
        {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(p, "file");
            if (cJSON_IsString(f))
                remove_point(dir, f->valuestring);
        }
        cJSON_Delete(root);
    }
    snprintf(path, sizeof path, "%s/%s", dir, MARKER);
    void *buf;
    size_t len;
    if (ls_read_file(path, (size_t)64 << 20, &buf, &len, NULL) == LS_OK) {
        char *save = NULL;
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            remove_point(dir, line);
        free(buf);
    }
}

static void clean_previous(const char *dir)
{
    remove_previous_points(dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4400];
    while ((e = readdir(d))) {
        const char *t = e->d_name[0] == '.' ? strstr(e->d_name, ".tmp.") : NULL;
        if (!t)
            continue;
        char *end;
        long pid = strtol(t + 5, &end, 10);
        if (*end || pid <= 0)
            continue;
        if (pid != (long)getpid() && !(kill((pid_t)pid, 0) != 0 && errno == ESRCH))
            continue; /* a live process's: not ours to remove */
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    unlink(path);
}

/* mkdir -p: `dump --out runs/today/a` makes the folders on the way */
static int make_dirs(const char *dir, ls_error *err)
{
    size_t n = strlen(dir);
    char *p = malloc(n + 1);
    if (!p)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    memcpy(p, dir, n + 1);
    int rc = LS_OK;
    for (size_t i = 1; i <= n && !rc; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        struct stat st;
        if (stat(p, &st) != 0) {
            if (mkdir(p, 0777) != 0 && errno != EEXIST)
                rc = ls_error_set(err, LS_ERR_IO, "%s: cannot create directory %s: %s", dir, p,
                                  strerror(errno));
        } else if (!S_ISDIR(st.st_mode)) {
            rc = ls_error_set(err, LS_ERR_IO, "%s: %s exists and is not a directory", dir, p);
        }
        p[i] = c;
    }
    free(p);
    return rc;
}

int ls_dump_open(const char *dir, const char *only, bool force, ls_dump **out, ls_error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(dir, &st) != 0) {
        int rc = make_dirs(dir, err);
        if (rc)
            return rc;
    } else if (!S_ISDIR(st.st_mode)) {
        return ls_error_set(err, LS_ERR_IO, "%s: exists and is not a directory", dir);
    } else {
        bool ours = false;
        bool empty = dir_is_empty_or_ours(dir, &ours);
        if (!empty && !ours && !force)
            return ls_error_set(err, LS_ERR_ARG,
                                "%s: directory is not empty and holds no previous dump "
                                "(use --force to write into it anyway)", dir);
        if (ours)
            clean_previous(dir);
    }
    char mpath[4200];
    snprintf(mpath, sizeof mpath, "%s/%s", dir, MARKER);
    int rc = ls_atomic_write_file(mpath, MARKER_RUNNING, strlen(MARKER_RUNNING), err);
    if (rc)
        return rc;
    ls_dump *d = calloc(1, sizeof *d);
    if (!d || !(d->dir = strdup(dir)) || (only && !(d->only = strdup(only)))) {
        if (d)
            free(d->dir);
        free(d);
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    }
    *out = d;
    return LS_OK;
}

/* Appends "<name>.npy" to the marker (see MARKER). */
static int note_point(ls_dump *d, const char *name)
{
    char mpath[4200];
    snprintf(mpath, sizeof mpath, "%s/%s", d->dir, MARKER);
    FILE *f = fopen(mpath, "a");
    if (!f)
        return ls_error_set(&d->err, LS_ERR_IO, "%s: cannot open: %s", mpath, strerror(errno));
    int bad = fprintf(f, "%s.npy\n", name) < 0;
    bad |= fclose(f) != 0;
    if (bad)
        return ls_error_set(&d->err, LS_ERR_IO, "%s: write failed: %s", mpath, strerror(errno));
    return LS_OK;
}

static int dump_after(void *ud, const ls_exec *ex, int node, const ls_tensor *out)
{
    ls_dump *d = ud;
    const ls_node *nd = ls_graph_node(ls_exec_graph(ex), node);
    if (!ls_node_is_point(nd) || (d->only && !ls_glob_match(d->only, nd->name)))
        return LS_HOOK_CONTINUE;
    char path[4600];
    snprintf(path, sizeof path, "%s/%s.npy", d->dir, nd->name);
    /* noted before the file exists: an interrupted dump then never
     * leaves a point the next one does not know to remove */
    int rc = note_point(d, nd->name);
    if (!rc)
        rc = ls_npy_save(path, out, &d->err);
    if (rc) {
        d->status = rc;
        return rc;
    }
    if (d->n_order == d->cap_order) {
        int cap = d->cap_order ? d->cap_order * 2 : 256;
        int *o = realloc(d->order, (size_t)cap * sizeof *o);
        if (!o) {
            d->status = ls_error_set(&d->err, LS_ERR_NOMEM, "out of memory");
            return d->status;
        }
        d->order = o;
        d->cap_order = cap;
    }
    d->order[d->n_order++] = node;
    d->count++;
    return LS_HOOK_CONTINUE;
}

ls_hook ls_dump_hook(ls_dump *d) { return (ls_hook){dump_after, d}; }

int ls_dump_status(const ls_dump *d, ls_error *err)
{
    if (d->status && err)
        *err = d->err;
    return d->status;
}

int ls_dump_count(const ls_dump *d) { return d->count; }

int ls_dump_close(ls_dump *d, const ls_exec *ex, ls_error *err)
{
    if (!d)
        return LS_OK;
    int rc = d->status;
    if (rc && err)
        *err = d->err;
    if (!rc) {
        const ls_graph *g = ls_exec_graph(ex);
        cJSON *root = cJSON_CreateObject();
        cJSON *pts = cJSON_AddArrayToObject(root, "points");
        cJSON_AddStringToObject(root, "generated_by", "layerstep dump");
        for (int i = 0; i < d->n_order; i++) {
            const ls_node *nd = ls_graph_node(g, d->order[i]);
            cJSON *p = cJSON_CreateObject();
            cJSON_AddStringToObject(p, "name", nd->name);
            char file[4200];
            snprintf(file, sizeof file, "%s.npy", nd->name);
            cJSON_AddStringToObject(p, "file", file);
            cJSON *shape = cJSON_AddArrayToObject(p, "shape");
            for (int k = 0; k < nd->out.ndim; k++)
                cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)nd->out.shape[k]));
            cJSON_AddStringToObject(p, "dtype", ls_dtype_name(nd->out.dtype));
            cJSON_AddStringToObject(p, "module", nd->path);
            cJSON_AddStringToObject(p, "point", nd->point);
            cJSON_AddStringToObject(p, "op", ls_op_name(nd->op));
            cJSON_AddNumberToObject(p, "order", i);
            cJSON_AddNumberToObject(p, "node", d->order[i]);
            cJSON_AddItemToArray(pts, p);
        }
        char *text = cJSON_Print(root);
        cJSON_Delete(root);
        if (!text) {
            rc = ls_error_set(err, LS_ERR_NOMEM, "out of memory writing the manifest");
        } else {
            char path[4200];
            snprintf(path, sizeof path, "%s/manifest.json", d->dir);
            rc = ls_atomic_write_file(path, text, strlen(text), err);
            free(text);
            /* the manifest now lists every point: the marker only says
             * the dump is whole */
            snprintf(path, sizeof path, "%s/%s", d->dir, MARKER);
            if (!rc)
                rc = ls_atomic_write_file(path, MARKER_DONE, strlen(MARKER_DONE), err);
        }
    }
    free(d->order);
    free(d->only);
    free(d->dir);
    free(d);
    return rc;
}

bool ls_dump_is_incomplete(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, MARKER);
    void *buf;
    size_t len;
    if (ls_read_file(path, (size_t)64 << 20, &buf, &len, NULL) != LS_OK)
        return false;
    bool running = !strncmp(buf, MARKER_RUNNING, strlen(MARKER_RUNNING));
    free(buf);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    struct stat st;
    return running || stat(path, &st) != 0;
}

int ls_dump_load(const char *dir, ls_tmap **out, ls_error *err)
{
    *out = NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return ls_error_set(err, LS_ERR_IO, "%s: not a directory", dir);
    if (stat(path, &st) != 0)
        return ls_npy_load_dir(dir, out, err);
    cJSON *root;
    int rc = ls_json_load(path, &root, err);
    if (rc)
        return rc;
    /* our manifest has "points"; a golden fixture's has "files" */
    const cJSON *pts = cJSON_GetObjectItemCaseSensitive(root, "points");
    bool fixture = false;
    if (!cJSON_IsArray(pts)) {
        pts = cJSON_GetObjectItemCaseSensitive(root, "files");
        fixture = true;
    }
    if (!cJSON_IsArray(pts)) {
        cJSON_Delete(root);
        return ls_npy_load_dir(dir, out, err);
    }
    ls_tmap *m = ls_tmap_new(dir);
    if (!m) {
        cJSON_Delete(root);
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    }
    const cJSON *p;
    cJSON_ArrayForEach(p, pts)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
        const cJSON *file = cJSON_GetObjectItemCaseSensitive(p, "file");
        if (!cJSON_IsString(name) || !cJSON_IsString(file))
            continue;
        if (fixture) {
            const cJSON *kind = cJSON_GetObjectItemCaseSensitive(p, "kind");
            if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "act") != 0)
                continue;
        }
        if (strstr(file->valuestring, "..") || file->valuestring[0] == '/') {
            rc = ls_error_set(err, LS_ERR_FORMAT, "%s: file '%s' points outside the dump", path,
                              file->valuestring);
            break;
        }
        char fp[4600];
        snprintf(fp, sizeof fp, "%s/%s", dir, file->valuestring);
        ls_tensor t;
        rc = ls_npy_load(fp, ls_tmap_arena(m), &t, err);
        if (rc)
            break;
        rc = ls_tmap_put_ref(m, name->valuestring, &t, err);
        if (rc)
            break;
    }
    cJSON_Delete(root);
    if (rc) {
        ls_tmap_free(m);
        return rc;
    }
    *out = m;
    return LS_OK;
}
