/* npy.c - NumPy .npy files, read and written.
 *
 *   "\x93NUMPY" major minor  header_len      header (a Python dict literal)        data
 *   6 bytes     1     1      2 LE (v1.0)     "{'descr': '<f4', 'fortran_order':   C order,
 *                            4 LE (v2, v3)    False, 'shape': (2, 3), }    ...\n"  little endian
 *
 * The header is parsed by a small hand-written scanner, not eval'ed: it
 * accepts exactly the three keys numpy writes and rejects anything else
 * with a message.  A file is read in three bounded steps (preamble, header,
 * data) so nothing is allocated from a size the file claims until the
 * header has been checked against the real file size.
 */
#include "layerstep/npy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_internal.h"
#include "layerstep/atomic.h"

/* Real headers are ~128 bytes; the cap only stops a hostile v2 header from
 * asking for gigabytes before anything is checked. */
#define NPY_HEADER_MAX (1u << 20)
#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* numpy aligns the data to 64 bytes and leaves room for shape[0] to grow
 * to 21 digits so files can be appended to in place; copying that makes
 * our files byte-identical to np.save's. */
#define NPY_ALIGN 64
#define NPY_GROWTH_DIGITS 21

typedef struct npy_head {
    size_t data_off; /* preamble + header */
    ls_dtype dt;
    int ndim;
    int64_t shape[LS_MAX_DIMS];
    char descr[32];
} npy_head;

static char *fmt_shape(int ndim, const int64_t *shape, char *buf, size_t n)
{
    size_t k = 0;
    k += (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%" PRId64, d ? ", " : "", shape[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

/* Reads the magic, version and header length.  avail bytes of the file are
 * in b; file_size is the whole file. */
static int npy_preamble(const unsigned char *b, size_t avail, size_t file_size, const char *name,
                        size_t *prefix, size_t *header_len, ls_error *err)
{
    if (avail < NPY_MAGIC_LEN || memcmp(b, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
        char got[32] = "";
        for (size_t i = 0; i < avail && i < 6; i++)
            snprintf(got + 3 * i, sizeof got - 3 * i, "%02x ", b[i]);
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: not a .npy file: bad magic (first bytes %s, expected "
                            "93 4e 55 4d 50 59)",
                            name, avail ? got : "none");
    }
    if (avail < 10)
        return ls_error_set(err, LS_ERR_FORMAT, "%s: truncated .npy preamble (%zu bytes)", name,
                            avail);
    unsigned major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: unsupported .npy format version %u.%u (expected 1.0, 2.0 or 3.0)",
                            name, major, minor);
    if (major == 1) {
        *prefix = 10;
        *header_len = (size_t)b[8] | (size_t)b[9] << 8;
    } else {
        if (avail < 12)
            return ls_error_set(err, LS_ERR_FORMAT, "%s: truncated .npy preamble (%zu bytes)",
                                name, avail);
        *prefix = 12;
        *header_len = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 |
                      (size_t)b[11] << 24;
    }
    if (*header_len > NPY_HEADER_MAX)
        return ls_error_set(err, LS_ERR_LIMIT, "%s: .npy header length %zu is over the limit %u",
                            name, *header_len, NPY_HEADER_MAX);
    if (*header_len > file_size - *prefix)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: .npy header length %zu runs past the end of the file "
                            "(%zu bytes)",
                            name, *header_len, file_size);
    return LS_OK;
}

/* ---- the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } ---- */

typedef struct scan {
    const char *p, *end;
    const char *name;
    ls_error *err;
} scan;

static void sc_ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool sc_eat(scan *s, char c)
{
    sc_ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return true;
    }
    return false;
}

static int sc_fail(scan *s, const char *expected)
{
    char near[24];
    size_t n = (size_t)(s->end - s->p);
    if (n > sizeof near - 1)
        n = sizeof near - 1;
    memcpy(near, s->p, n);
    near[n] = '\0';
    char shown[32];
    return ls_error_set(s->err, LS_ERR_FORMAT, "%s: bad .npy header: expected %s, found '%s'",
                        s->name, expected, n ? ls_printable(near, shown, sizeof shown) : "end");
}

/* A Python str literal without escapes (numpy never writes any). */
static int sc_str(scan *s, char *out, size_t n, const char *what)
{
    sc_ws(s);
    if (s->p >= s->end || (*s->p != '\'' && *s->p != '"'))
        return sc_fail(s, what);
    char q = *s->p++;
    size_t k = 0;
    while (s->p < s->end && *s->p != q) {
        if (*s->p == '\\' || *s->p == '\n' || k + 1 >= n)
            return sc_fail(s, what);
        out[k++] = *s->p++;
    }
    if (s->p >= s->end)
        return sc_fail(s, "a closing quote");
    s->p++;
    out[k] = '\0';
    return LS_OK;
}

static int sc_shape(scan *s, npy_head *h)
{
    if (!sc_eat(s, '('))
        return sc_fail(s, "a shape tuple '(...)'");
    h->ndim = 0;
    for (;;) {
        if (sc_eat(s, ')'))
            return LS_OK;
        sc_ws(s);
        if (s->p < s->end && *s->p == '-')
            return ls_error_set(s->err, LS_ERR_FORMAT, "%s: .npy shape has a negative dimension",
                                s->name);
        if (s->p >= s->end || *s->p < '0' || *s->p > '9')
            return sc_fail(s, "a dimension");
        int64_t v = 0;
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
            int dig = *s->p++ - '0';
            if (v > (INT64_MAX - dig) / 10)
                return ls_error_set(s->err, LS_ERR_FORMAT,
                                    "%s: .npy shape has a dimension over 2^63", s->name);
            v = v * 10 + dig;
        }
        if (s->p < s->end && *s->p == 'L') /* Python 2 longs */
            s->p++;
        if (h->ndim == LS_MAX_DIMS)
            return ls_error_set(s->err, LS_ERR_FORMAT,
                                "%s: .npy shape has more than %d dims, at most %d supported",
                                s->name, LS_MAX_DIMS, LS_MAX_DIMS);
        h->shape[h->ndim++] = v;
        if (sc_eat(s, ','))
            continue;
        if (sc_eat(s, ')'))
            return LS_OK;
        return sc_fail(s, "',' or ')' in the shape");
    }
}

static int npy_parse_dict(const char *text, size_t len, const char *name, npy_head *h,
                          ls_error *err)
{
    scan s = {text, text + len, name, err};
    bool have_descr = false, have_fortran = false, have_shape = false, fortran = false;
    int rc;
    if (!sc_eat(&s, '{'))
        return sc_fail(&s, "'{'");
    for (;;) {
        if (sc_eat(&s, '}'))
            break;
        char key[32];
        if ((rc = sc_str(&s, key, sizeof key, "a quoted key")) != LS_OK)
            return rc;
        if (!sc_eat(&s, ':'))
            return sc_fail(&s, "':'");
        bool *seen;
        if (strcmp(key, "descr") == 0) {
            seen = &have_descr;
            sc_ws(&s);
            if (s.p < s.end && (*s.p == '[' || *s.p == '{'))
                return ls_error_set(err, LS_ERR_FORMAT,
                                    "%s: structured .npy dtypes are not supported (need '<f4', "
                                    "'<i8', '|b1' or '|u1')",
                                    name);
            if ((rc = sc_str(&s, h->descr, sizeof h->descr, "a quoted descr")) != LS_OK)
                return rc;
        } else if (strcmp(key, "fortran_order") == 0) {
            seen = &have_fortran;
            sc_ws(&s);
            if ((size_t)(s.end - s.p) >= 4 && memcmp(s.p, "True", 4) == 0) {
                fortran = true;
                s.p += 4;
            } else if ((size_t)(s.end - s.p) >= 5 && memcmp(s.p, "False", 5) == 0) {
                fortran = false;
                s.p += 5;
            } else {
                return sc_fail(&s, "True or False for 'fortran_order'");
            }
        } else if (strcmp(key, "shape") == 0) {
            seen = &have_shape;
            if ((rc = sc_shape(&s, h)) != LS_OK)
                return rc;
        } else {
            char shown[40];
            return ls_error_set(err, LS_ERR_FORMAT, "%s: unexpected key '%s' in the .npy header",
                                name, ls_printable(key, shown, sizeof shown));
        }
        if (*seen)
            return ls_error_set(err, LS_ERR_FORMAT, "%s: key '%s' twice in the .npy header", name,
                                key);
        *seen = true;
        if (sc_eat(&s, ','))
            continue;
        if (sc_eat(&s, '}'))
            break;
        return sc_fail(&s, "',' or '}'");
    }
    sc_ws(&s);
    if (s.p != s.end)
        return sc_fail(&s, "only padding after the header dict");
    if (!have_descr || !have_fortran || !have_shape)
        return ls_error_set(err, LS_ERR_FORMAT, "%s: .npy header lacks '%s'", name,
                            !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");

    if (strcmp(h->descr, "<f4") == 0) {
        h->dt = LS_F32;
    } else if (strcmp(h->descr, "<i8") == 0) {
        h->dt = LS_I64;
    } else if (strcmp(h->descr, "|b1") == 0 || strcmp(h->descr, "|u1") == 0) {
        h->dt = LS_BOOL; /* u1 masks are read as bool: any nonzero byte is true */
    } else {
        char shown[40];
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: unsupported .npy dtype '%s' (supported: '<f4', '<i8', '|b1', "
                            "'|u1')",
                            name, ls_printable(h->descr, shown, sizeof shown));
    }
    if (fortran) {
        /* Fortran and C order lay out the same bytes when at most one dim is
         * longer than 1, so only refuse when they really differ. */
        int long_dims = 0;
        for (int d = 0; d < h->ndim; d++)
            long_dims += h->shape[d] > 1;
        if (long_dims > 1) {
            char sh[96];
            return ls_error_set(err, LS_ERR_FORMAT,
                                "%s: Fortran-order array of shape %s is not supported (save it "
                                "with np.ascontiguousarray)",
                                name, fmt_shape(h->ndim, h->shape, sh, sizeof sh));
        }
    }
    rc = ls_shape_check(h->ndim, h->shape, h->dt, true, err);
    if (rc != LS_OK)
        return ls_error_prefix(err, "%s", name);
    if (!ls_io_strides_fit(h->ndim, h->shape)) {
        char sh[128];
        return ls_error_set(err, LS_ERR_SHAPE, "%s: shape %s is too large (its dims multiply "
                                               "past 2^59)",
                            name, fmt_shape(h->ndim, h->shape, sh, sizeof sh));
    }
    return LS_OK;
}

/* Checks the data size against the header; *nbytes is what to read. */
static int npy_data_size(const npy_head *h, size_t avail, const char *name, size_t *nbytes,
                         ls_error *err)
{
    ls_tensor d = ls_tensor_make(h->dt, h->ndim, h->shape, NULL);
    size_t need = ls_tensor_nbytes(&d);
    if (avail != need) {
        char sh[96];
        return ls_error_set(err, LS_ERR_FORMAT,
                            avail < need ? "%s: truncated: data is %zu bytes, expected %zu for "
                                           "shape %s of '%s'"
                                         : "%s: data is %zu bytes, expected %zu for shape %s of "
                                           "'%s' (trailing bytes)",
                            name, avail, need, fmt_shape(h->ndim, h->shape, sh, sizeof sh),
                            h->descr);
    }
    *nbytes = need;
    return LS_OK;
}

static int npy_alloc(const npy_head *h, ls_arena *a, const char *name, ls_tensor *out,
                     ls_error *err)
{
    int rc = ls_tensor_alloc(a, h->dt, h->ndim, h->shape, out, err);
    if (rc != LS_OK)
        return ls_error_prefix(err, "%s", name);
    return LS_OK;
}

/* Bytes other than 0/1 in a bool would make C's _Bool misbehave. */
static void normalize_bool(ls_tensor *t, size_t nbytes)
{
    if (t->dtype != LS_BOOL)
        return;
    unsigned char *p = t->data;
    for (size_t i = 0; i < nbytes; i++)
        p[i] = p[i] != 0;
}

int ls_npy_parse(const void *buf, size_t len, const char *name, ls_arena *a, ls_tensor *out,
                 ls_error *err)
{
    if (!name)
        name = "(buffer)";
    const unsigned char *b = buf;
    size_t prefix, hlen, nbytes = 0;
    npy_head h = {0};
    int rc = npy_preamble(b, len, len, name, &prefix, &hlen, err);
    if (rc == LS_OK)
        rc = npy_parse_dict((const char *)b + prefix, hlen, name, &h, err);
    if (rc == LS_OK)
        rc = npy_data_size(&h, len - prefix - hlen, name, &nbytes, err);
    if (rc == LS_OK)
        rc = npy_alloc(&h, a, name, out, err);
    if (rc != LS_OK)
        return rc;
    if (nbytes)
        memcpy(out->data, b + prefix + hlen, nbytes);
    normalize_bool(out, nbytes);
    return LS_OK;
}

static int npy_load_fd(int fd, const char *path, ls_arena *a, ls_tensor *out, ls_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return ls_error_set(err, LS_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return ls_error_set(err, LS_ERR_IO, "%s: not a regular file", path);
    if ((uintmax_t)st.st_size >= (uintmax_t)SIZE_MAX)
        return ls_error_set(err, LS_ERR_LIMIT, "%s: file too large", path);
    size_t size = (size_t)st.st_size;

    /* Read exactly the preamble (10 bytes, 12 from v2.0 on) so the header
     * and data reads that follow start where they should. */
    unsigned char pre[12];
    size_t avail = size < 10 ? size : 10;
    int rc = ls_io_read_full(fd, pre, avail, path, "the preamble", err);
    if (rc != LS_OK)
        return rc;
    if (avail == 10 && size >= 12 && pre[6] >= 2 && pre[6] <= 3 &&
        memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) == 0) {
        if ((rc = ls_io_read_full(fd, pre + 10, 2, path, "the preamble", err)) != LS_OK)
            return rc;
        avail = 12;
    }
    size_t prefix, hlen, nbytes = 0;
    if ((rc = npy_preamble(pre, avail, size, path, &prefix, &hlen, err)) != LS_OK)
        return rc;

    npy_head h = {0};
    char *text = malloc(hlen + 1);
    if (!text)
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", path);
    rc = ls_io_read_full(fd, text, hlen, path, "the header", err);
    if (rc == LS_OK)
        rc = npy_parse_dict(text, hlen, path, &h, err);
    free(text);
    if (rc == LS_OK)
        rc = npy_data_size(&h, size - prefix - hlen, path, &nbytes, err);
    if (rc == LS_OK)
        rc = npy_alloc(&h, a, path, out, err);
    if (rc == LS_OK && nbytes)
        rc = ls_io_read_full(fd, out->data, nbytes, path, "the data", err);
    if (rc == LS_OK)
        normalize_bool(out, nbytes);
    return rc;
}

int ls_npy_load(const char *path, ls_arena *a, ls_tensor *out, ls_error *err)
{
    struct stat st;
    int fd = ls_open_regular(path, &st, err);
    if (fd < 0)
        return fd;
    int rc = npy_load_fd(fd, path, a, out, err);
    close(fd);
    return rc;
}

int ls_npy_save(const char *path, const ls_tensor *t, ls_error *err)
{
    const char *descr;
    switch (t->dtype) {
    case LS_F32: descr = "<f4"; break;
    case LS_I64: descr = "<i8"; break;
    case LS_BOOL: descr = "|b1"; break;
    default: return ls_error_set(err, LS_ERR_ARG, "%s: cannot save dtype %d", path, t->dtype);
    }
    if (t->ndim < 0 || t->ndim > LS_MAX_DIMS)
        return ls_error_set(err, LS_ERR_ARG, "%s: cannot save a tensor of %d dims", path, t->ndim);

    /* Python's repr of the shape tuple: (), (5,), (2, 3). */
    char tuple[128];
    size_t k = (size_t)snprintf(tuple, sizeof tuple, "(");
    for (int d = 0; d < t->ndim; d++)
        k += (size_t)snprintf(tuple + k, sizeof tuple - k, "%s%" PRId64, d ? ", " : "",
                              t->shape[d]);
    snprintf(tuple + k, sizeof tuple - k, "%s)", t->ndim == 1 ? "," : "");

    char hdr[256];
    /* magic, version 1.0, two length bytes filled in below */
    int n = snprintf(hdr, sizeof hdr, "%s\x01%c%c%c{'descr': '%s', 'fortran_order': False, "
                                      "'shape': %s, }",
                     NPY_MAGIC, 0, 0, 0, descr, tuple);
    size_t len = (size_t)n;
    if (t->ndim > 0) {
        char d0[24];
        int digits = snprintf(d0, sizeof d0, "%" PRId64, t->shape[0]);
        for (int i = digits; i < NPY_GROWTH_DIGITS; i++)
            hdr[len++] = ' ';
    }
    /* +1 for the final newline; numpy pads a full block when already
     * aligned, and so do we. */
    size_t pad = NPY_ALIGN - (len + 1) % NPY_ALIGN;
    memset(hdr + len, ' ', pad);
    len += pad;
    hdr[len++] = '\n';
    size_t hlen = len - 10;
    hdr[8] = (char)(hlen & 0xff);
    hdr[9] = (char)(hlen >> 8);

    ls_atomic_file *f;
    int rc = ls_atomic_open(path, &f, err);
    if (rc != LS_OK)
        return rc;
    rc = ls_atomic_write(f, hdr, len, err);
    if (rc == LS_OK)
        rc = ls_io_write_tensor(f, t, path, err);
    if (rc != LS_OK) {
        ls_atomic_abort(f);
        return rc;
    }
    return ls_atomic_commit(f, err);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ls_npy_load_dir(const char *dir, ls_tmap **out, ls_error *err)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return ls_error_set(err, LS_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    char **names = NULL;
    size_t count = 0, cap = 0;
    int rc = LS_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name);
        /* Dot files are skipped like a shell glob would, which also skips
         * ls_atomic temp files left by a crash. */
        if (e->d_name[0] == '.' || nl <= 4 || strcmp(e->d_name + nl - 4, ".npy") != 0)
            continue;
        if (count == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nn = realloc(names, nc * sizeof *nn);
            if (!nn) {
                rc = ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", dir);
                break;
            }
            names = nn;
            cap = nc;
        }
        size_t pl = strlen(dir) + 1 + nl + 1;
        names[count] = malloc(pl);
        if (!names[count]) {
            rc = ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        /* a folder named *.npy is not an input and is skipped; a FIFO,
         * device or dangling link of that name is not: the loader below
         * says what it is (skipped, it would only turn up later as a
         * "missing input") */
        snprintf(names[count], pl, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(names[count], &st) == 0 && S_ISDIR(st.st_mode)) {
            free(names[count]);
            continue;
        }
        count++;
    }
    closedir(d);

    ls_tmap *m = NULL;
    if (rc == LS_OK) {
        qsort(names, count, sizeof *names, cmp_str);
        m = ls_tmap_new(dir);
        if (!m)
            rc = ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", dir);
    }
    size_t dl = strlen(dir) + 1;
    for (size_t i = 0; rc == LS_OK && i < count; i++) {
        ls_tensor t;
        rc = ls_npy_load(names[i], ls_tmap_arena(m), &t, err);
        if (rc != LS_OK)
            break;
        char *stem = names[i] + dl;
        stem[strlen(stem) - 4] = '\0';
        rc = ls_tmap_put_ref(m, stem, &t, err);
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    if (rc != LS_OK) {
        ls_tmap_free(m);
        return rc;
    }
    *out = m;
    return LS_OK;
}
