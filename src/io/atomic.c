/* atomic.c - whole-file writes (temp, fsync, rename, fsync dir) and
 * bounded whole-file reads.
 *
 * The temp file lives in the target's own directory because rename() is
 * only atomic within one file system.  The directory is fsync'ed after the
 * rename so the new name itself survives a power cut, not just the bytes.
 */
#include "layerstep/atomic.h"

#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ls_atomic_file {
    int fd;
    char *path; /* final name */
    char *tmp;  /* hidden temp name in the same directory */
    char *dir;  /* directory to fsync after the rename */
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO (named pipe)";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

static void atomic_free(ls_atomic_file *f)
{
    if (!f)
        return;
    free(f->path);
    free(f->tmp);
    free(f->dir);
    free(f);
}

static int atomic_open_regular(const char *path, ls_atomic_file **out, ls_error *err);

/* rename() replaces whatever has the name: a device node (":dump
 * /dev/null" as root made /dev/null a regular file), a FIFO, a symlink.
 * Only a regular file is replaced; a symlink to a regular file is
 * followed and its target replaced (the link stays, as an editor saving
 * through it would leave it): *resolved is then the target (malloc'ed). */
static int resolve_target(const char *path, char **resolved, ls_error *err)
{
    struct stat st;
    *resolved = NULL;
    if (lstat(path, &st) != 0)
        return LS_OK;
    if (S_ISLNK(st.st_mode)) {
        char *r = realpath(path, NULL);
        if (!r)
            return ls_error_set(err, LS_ERR_IO, "%s: a symbolic link to a missing file (%s); "
                                "not replaced", path, strerror(errno));
        if (stat(r, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(r);
            return ls_error_set(err, LS_ERR_IO, "%s: a symbolic link to %s, not to a regular "
                                "file; not replaced", path, file_kind(st.st_mode));
        }
        *resolved = r;
    } else if (!S_ISREG(st.st_mode)) {
        return ls_error_set(err, LS_ERR_IO, "%s: is %s, not a regular file; not replaced", path,
                            file_kind(st.st_mode));
    }
    return LS_OK;
}

int ls_atomic_check(const char *path, ls_error *err)
{
    if (!path || !*path)
        return ls_error_set(err, LS_ERR_ARG, "atomic write: empty file name");
    char *resolved = NULL;
    int rc = resolve_target(path, &resolved, err);
    if (rc)
        return rc;
    const char *p = resolved ? resolved : path;
    const char *slash = strrchr(p, '/');
    if (slash && !slash[1]) {
        free(resolved);
        return ls_error_set(err, LS_ERR_ARG, "%s: is a directory name, not a file name", path);
    }
    char *dir = slash ? malloc((size_t)(slash - p) + 2) : NULL;
    if (slash && !dir) {
        free(resolved);
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", path);
    }
    if (dir) {
        size_t dl = slash == p ? 1 : (size_t)(slash - p);
        memcpy(dir, p, dl);
        dir[dl] = '\0';
    }
    struct stat st;
    const char *d = dir ? dir : ".";
    if (stat(d, &st) != 0)
        rc = ls_error_set(err, LS_ERR_IO, "%s: folder %s: %s", path, d, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        rc = ls_error_set(err, LS_ERR_IO, "%s: %s is not a folder", path, d);
    else if (access(d, W_OK | X_OK) != 0)
        rc = ls_error_set(err, LS_ERR_IO, "%s: cannot write in folder %s: %s", path, d,
                          strerror(errno));
    free(dir);
    free(resolved);
    return rc;
}

int ls_atomic_open(const char *path, ls_atomic_file **out, ls_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return ls_error_set(err, LS_ERR_ARG, "atomic write: empty file name");
    char *resolved = NULL;
    int rc = resolve_target(path, &resolved, err);
    if (rc)
        return rc;
    rc = atomic_open_regular(resolved ? resolved : path, out, err);
    free(resolved);
    return rc;
}

static int atomic_open_regular(const char *path, ls_atomic_file **out, ls_error *err)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base)
        return ls_error_set(err, LS_ERR_ARG, "%s: is a directory name, not a file name", path);

    ls_atomic_file *f = calloc(1, sizeof *f);
    if (!f)
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", path);
    f->fd = -1;
    f->path = dup_str(path);
    if (slash == path) {
        f->dir = dup_str("/");
    } else if (slash) {
        size_t dl = (size_t)(slash - path);
        f->dir = malloc(dl + 1);
        if (f->dir) {
            memcpy(f->dir, path, dl);
            f->dir[dl] = '\0';
        }
    } else {
        f->dir = dup_str(".");
    }
    size_t tl = strlen(path) + 48;
    f->tmp = malloc(tl);
    if (!f->path || !f->dir || !f->tmp) {
        atomic_free(f);
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(f->tmp, tl, "%.*s.%s.tmp.%ld", (int)(base - path), path, base, (long)getpid());

    /* a stale temp file of an earlier process with our pid is ours to
     * remove; O_EXCL|O_NOFOLLOW then never writes through a planted link */
    unlink(f->tmp);
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (f->fd < 0) {
        int e = errno;
        atomic_free(f);
        return ls_error_set(err, LS_ERR_IO, "%s: cannot create temporary file: %s", path,
                            strerror(e));
    }
    *out = f;
    return LS_OK;
}

int ls_atomic_write(ls_atomic_file *f, const void *buf, size_t n, ls_error *err)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return ls_error_set(err, LS_ERR_IO, "%s: write failed: %s", f->path, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    return LS_OK;
}

int ls_atomic_commit(ls_atomic_file *f, ls_error *err)
{
    /* The message is set before ls_atomic_abort frees f (and f->path). */
    int rc = LS_OK;
    if (fsync(f->fd) != 0) {
        rc = ls_error_set(err, LS_ERR_IO, "%s: fsync failed: %s", f->path, strerror(errno));
        ls_atomic_abort(f);
        return rc;
    }
    /* close() can report a deferred write error (NFS), so it is checked. */
    rc = close(f->fd);
    f->fd = -1;
    if (rc != 0) {
        rc = ls_error_set(err, LS_ERR_IO, "%s: close failed: %s", f->path, strerror(errno));
        ls_atomic_abort(f);
        return rc;
    }
    if (rename(f->tmp, f->path) != 0) {
        rc = ls_error_set(err, LS_ERR_IO, "%s: rename from temporary file failed: %s", f->path,
                          strerror(errno));
        ls_atomic_abort(f);
        return rc;
    }
    /* The data is in place; a directory that cannot be opened or synced
     * (some file systems refuse) only weakens durability, so it is not an
     * error. */
    int dfd = open(f->dir, O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    atomic_free(f);
    return LS_OK;
}

void ls_atomic_abort(ls_atomic_file *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    unlink(f->tmp);
    atomic_free(f);
}

int ls_atomic_write_file(const char *path, const void *buf, size_t n, ls_error *err)
{
    ls_atomic_file *f;
    int rc = ls_atomic_open(path, &f, err);
    if (rc != LS_OK)
        return rc;
    rc = ls_atomic_write(f, buf, n, err);
    if (rc != LS_OK) {
        ls_atomic_abort(f);
        return rc;
    }
    return ls_atomic_commit(f, err);
}

/* O_NONBLOCK: open() of a FIFO with no writer otherwise blocks forever
 * before fstat could say what it is.  The flag is cleared again once the
 * file is known to be regular (it means nothing there, but later reads
 * should not have to think about it). */
int ls_open_regular(const char *path, struct stat *st, ls_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        struct stat lst;
        if (e == ENOENT && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
            return ls_error_set(err, LS_ERR_IO, "%s: a symbolic link to a missing file", path);
        return ls_error_set(err, LS_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    if (fstat(fd, st) != 0) {
        int e = errno;
        close(fd);
        return ls_error_set(err, LS_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return ls_error_set(err, LS_ERR_IO, "%s: is %s, not a regular file", path,
                            file_kind(st->st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        int e = errno;
        close(fd);
        return ls_error_set(err, LS_ERR_IO, "%s: cannot set blocking mode: %s", path, strerror(e));
    }
    return fd;
}

int ls_read_file(const char *path, size_t max_bytes, void **buf, size_t *len, ls_error *err)
{
    *buf = NULL;
    *len = 0;
    struct stat st;
    int fd = ls_open_regular(path, &st, err);
    if (fd < 0)
        return fd;
    if (st.st_size < 0 || (uintmax_t)st.st_size > (uintmax_t)max_bytes ||
        (uintmax_t)st.st_size >= (uintmax_t)SIZE_MAX) {
        close(fd);
        return ls_error_set(err, LS_ERR_LIMIT, "%s: file is %jd bytes, more than the limit of %zu",
                            path, (intmax_t)st.st_size, max_bytes);
    }
    size_t size = (size_t)st.st_size;
    unsigned char *p = malloc(size + 1);
    if (!p) {
        close(fd);
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    /* The file may change under us; read what fstat promised and no more,
     * and report a shrink as an I/O error rather than return junk. */
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, p + got, size - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(p);
            close(fd);
            return ls_error_set(err, LS_ERR_IO, "%s: read failed: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != size) {
        free(p);
        return ls_error_set(err, LS_ERR_IO, "%s: file shrank while reading (%zu of %zu bytes)",
                            path, got, size);
    }
    p[size] = '\0';
    *buf = p;
    *len = size;
    return LS_OK;
}

/* ---- helpers shared by npy.c and safetensors.c (io_internal.h) ---- */

int ls_io_read_full(int fd, void *buf, size_t n, const char *path, const char *what,
                    ls_error *err)
{
    unsigned char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return ls_error_set(err, LS_ERR_IO, "%s: reading %s failed: %s", path, what,
                                strerror(errno));
        }
        if (r == 0)
            return ls_error_set(err, LS_ERR_FORMAT,
                                "%s: file ends while reading %s (%zu of %zu bytes)", path, what,
                                got, n);
        got += (size_t)r;
    }
    return LS_OK;
}

bool ls_io_strides_fit(int ndim, const int64_t *shape)
{
    const int64_t limit = INT64_MAX / 16;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] <= 1)
            continue;
        if (n > limit / shape[d])
            return false;
        n *= shape[d];
    }
    return true;
}

/* Writes `count` elements starting at p, `step` elements apart. */
static int put_run(ls_atomic_file *f, unsigned char *stage, size_t cap, size_t *fill,
                   const unsigned char *p, int64_t count, int64_t step, size_t es, bool is_bool,
                   ls_error *err)
{
    for (int64_t i = 0; i < count; i++) {
        if (*fill + es > cap) {
            int rc = ls_atomic_write(f, stage, *fill, err);
            if (rc != LS_OK)
                return rc;
            *fill = 0;
        }
        const unsigned char *e = p + i * step * (int64_t)es;
        unsigned char *dst = stage + *fill;
        if (is_bool)
            dst[0] = *e != 0;
        else
            for (size_t b = 0; b < es; b++)
                dst[b] = e[b];
        *fill += es;
    }
    return LS_OK;
}

int ls_io_write_tensor(ls_atomic_file *f, const ls_tensor *t, const char *path, ls_error *err)
{
    if ((unsigned)t->dtype >= LS_DTYPE_COUNT || t->ndim < 0 || t->ndim > LS_MAX_DIMS)
        return ls_error_set(err, LS_ERR_ARG, "%s: tensor has an invalid dtype or rank", path);
    int64_t numel = ls_tensor_numel(t);
    if (numel == 0)
        return LS_OK;
    if (!t->data)
        return ls_error_set(err, LS_ERR_ARG, "%s: tensor has no data (shape-only)", path);
    size_t es = ls_dtype_size(t->dtype);
    bool is_bool = t->dtype == LS_BOOL;
    if (!is_bool && ls_tensor_is_contiguous(t))
        return ls_atomic_write(f, t->data, (size_t)numel * es, err);

    enum { STAGE = 1 << 16 };
    unsigned char *stage = malloc(STAGE);
    if (!stage)
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", path);
    size_t fill = 0;
    int rc = LS_OK;
    if (t->ndim == 0) {
        rc = put_run(f, stage, STAGE, &fill, t->data, 1, 1, es, is_bool, err);
    } else {
        /* Walk every index of the outer dims like an odometer; the last dim
         * is one strided run. */
        int last = t->ndim - 1;
        int64_t idx[LS_MAX_DIMS] = {0};
        for (;;) {
            int64_t off = 0;
            for (int d = 0; d < last; d++)
                off += idx[d] * t->stride[d];
            const unsigned char *p = (const unsigned char *)t->data + off * (int64_t)es;
            rc = put_run(f, stage, STAGE, &fill, p, t->shape[last], t->stride[last], es,
                         is_bool, err);
            if (rc != LS_OK)
                break;
            int d = last - 1;
            while (d >= 0 && ++idx[d] == t->shape[d])
                idx[d--] = 0;
            if (d < 0)
                break;
        }
    }
    if (rc == LS_OK && fill > 0)
        rc = ls_atomic_write(f, stage, fill, err);
    free(stage);
    return rc;
}
