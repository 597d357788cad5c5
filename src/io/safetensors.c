/* safetensors.c - .safetensors read and write.
 *
 *   +----------+---------------------------------+---------------------------+
 *   | N (u64le)| N bytes of JSON, space padded   | data: tensors at          |
 *   |          | {"name": {"dtype", "shape",     | [begin, end) offsets      |
 *   |          |   "data_offsets"}, ...}         | relative to this point    |
 *   +----------+---------------------------------+---------------------------+
 *
 * Loading is two phases.  First the whole header is checked against the
 * real data size (dtype, shape overflow, offsets in range, sizes matching,
 * no overlap, no duplicate names) while nothing but the header itself has
 * been allocated.  Only then are the data read and the map built, so a
 * hostile file costs at most its header.  From a path, the file is mapped
 * (read into a malloc'ed block where mmap fails) and the map adopts it:
 * aligned F32/I64/BOOL tensors point into it, F16 and BF16 are widened to
 * F32 in the map's arena, misaligned ones copied there.
 *
 * The mapping is MAP_PRIVATE and writable: the pages come from the page
 * cache, untouched ones cost nothing, and the one in-place fix-up (BOOL
 * bytes made 0/1) copies only its page.  Nothing else writes to weights
 * (the executor copies a weight on its first edit).  A file replaced by
 * rename (ls_atomic_write_file) keeps the old inode mapped; a file
 * truncated in place while a model is loaded would fault on access, as
 * with any mmap'ed loader.
 */
#include "layerstep/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "io_internal.h"
#include "layerstep/atomic.h"

/* The reference implementation refuses headers over 100 MB too. */
#define ST_HEADER_MAX ((uint64_t)100 << 20)
/* Real models have a few thousand tensors; the cap keeps a hostile header
 * from making name lookups quadratic in millions of entries. */
#define ST_MAX_TENSORS 65536

typedef enum st_dtype { ST_F32, ST_F16, ST_BF16, ST_I64, ST_BOOL } st_dtype;

static const struct {
    const char *name;
    st_dtype st;
    ls_dtype dt;
    size_t size; /* bytes per element in the file */
} st_dtypes[] = {
    {"F32", ST_F32, LS_F32, 4}, {"F16", ST_F16, LS_F32, 2}, {"BF16", ST_BF16, LS_F32, 2},
    {"I64", ST_I64, LS_I64, 8}, {"BOOL", ST_BOOL, LS_BOOL, 1},
};

typedef struct st_entry {
    const char *name; /* points into the cJSON tree */
    int kind;         /* index into st_dtypes */
    int ndim;
    int64_t shape[LS_MAX_DIMS];
    uint64_t begin, end;
} st_entry;

typedef struct st_header {
    cJSON *root;
    st_entry *e;
    int n;
    uint64_t max_end; /* bytes of data the tensors use */
} st_header;

static void header_free(st_header *h)
{
    cJSON_Delete(h->root);
    free(h->e);
    memset(h, 0, sizeof *h);
}

static char *fmt_shape(int ndim, const int64_t *shape, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%" PRId64, d ? ", " : "", shape[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

/* "file: tensor 'name': <message>" with the name made printable. */
static int tensor_err(ls_error *err, int code, const char *file, const char *tensor,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int tensor_err(ls_error *err, int code, const char *file, const char *tensor,
                      const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char shown[160];
    return ls_error_set(err, code, "%s: tensor '%s': %s", file,
                        ls_printable(tensor, shown, sizeof shown), what);
}

/* JSON numbers are doubles: accept only exact non-negative integers below
 * 2^63 (larger offsets or dims are caught by the range checks anyway). */
static bool json_uint(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!(d >= 0.0) || d >= 9223372036854775808.0 || d != floor(d))
        return false;
    *out = (uint64_t)d;
    return true;
}

static void json_show(const cJSON *v, char *buf, size_t n)
{
    char *s = cJSON_PrintUnformatted(v);
    ls_printable(s ? s : "?", buf, n);
    free(s);
}

static int check_entry(const cJSON *item, const char *file, uint64_t data_len, st_entry *e,
                       ls_error *err)
{
    const char *name = item->string;
    e->name = name;
    if (!cJSON_IsObject(item))
        return tensor_err(err, LS_ERR_FORMAT, file, name, "entry is not a JSON object");

    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    if (!dt)
        return tensor_err(err, LS_ERR_FORMAT, file, name, "missing 'dtype'");
    if (!cJSON_IsString(dt)) {
        char got[48];
        json_show(dt, got, sizeof got);
        return tensor_err(err, LS_ERR_FORMAT, file, name, "'dtype' is %s, expected a string",
                          got);
    }
    e->kind = -1;
    for (int i = 0; i < (int)(sizeof st_dtypes / sizeof st_dtypes[0]); i++)
        if (strcmp(dt->valuestring, st_dtypes[i].name) == 0)
            e->kind = i;
    if (e->kind < 0) {
        char got[48];
        return tensor_err(err, LS_ERR_FORMAT, file, name,
                          "unsupported dtype '%s' (supported: F32, F16, BF16, I64, BOOL)",
                          ls_printable(dt->valuestring, got, sizeof got));
    }

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    if (!shape)
        return tensor_err(err, LS_ERR_FORMAT, file, name, "missing 'shape'");
    if (!cJSON_IsArray(shape))
        return tensor_err(err, LS_ERR_FORMAT, file, name, "'shape' is not a list");
    int nd = cJSON_GetArraySize(shape);
    if (nd > LS_MAX_DIMS)
        return tensor_err(err, LS_ERR_FORMAT, file, name, "shape has %d dims, at most %d supported",
                          nd, LS_MAX_DIMS);
    e->ndim = 0;
    for (const cJSON *d = shape->child; d; d = d->next) {
        uint64_t v;
        if (!json_uint(d, &v)) {
            char got[48];
            json_show(d, got, sizeof got);
            return tensor_err(err, LS_ERR_FORMAT, file, name,
                              "shape[%d] is %s, expected a non-negative integer", e->ndim, got);
        }
        e->shape[e->ndim++] = (int64_t)v;
    }
    ls_dtype ldt = st_dtypes[e->kind].dt;
    int rc = ls_shape_check(e->ndim, e->shape, ldt, true, err);
    if (rc != LS_OK) {
        char shown[160];
        return ls_error_prefix(err, "%s: tensor '%s'", file,
                               ls_printable(name, shown, sizeof shown));
    }
    if (!ls_io_strides_fit(e->ndim, e->shape)) {
        char sh[128];
        return tensor_err(err, LS_ERR_SHAPE, file, name,
                          "shape %s is too large (its dims multiply past 2^59)",
                          fmt_shape(e->ndim, e->shape, sh, sizeof sh));
    }

    const cJSON *off = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!off)
        return tensor_err(err, LS_ERR_FORMAT, file, name, "missing 'data_offsets'");
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_uint(off->child, &e->begin) ||
        !json_uint(off->child->next, &e->end)) {
        char got[64];
        json_show(off, got, sizeof got);
        return tensor_err(err, LS_ERR_FORMAT, file, name,
                          "data_offsets is %s, expected [begin, end] non-negative integers", got);
    }
    if (e->begin > e->end)
        return tensor_err(err, LS_ERR_FORMAT, file, name,
                          "data_offsets [%" PRIu64 ", %" PRIu64 "] are reversed (begin > end)",
                          e->begin, e->end);
    if (e->end > data_len)
        return tensor_err(err, LS_ERR_FORMAT, file, name,
                          "data_offsets [%" PRIu64 ", %" PRIu64
                          "] past the end of the data (%" PRIu64 " bytes)",
                          e->begin, e->end, data_len);
    /* ls_shape_check bounds numel * 8, so this product cannot overflow. */
    ls_tensor desc = ls_tensor_make(ldt, e->ndim, e->shape, NULL);
    uint64_t need = (uint64_t)ls_tensor_numel(&desc) * st_dtypes[e->kind].size;
    if (e->end - e->begin != need) {
        char sh[96];
        return tensor_err(err, LS_ERR_FORMAT, file, name,
                          "data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                          " bytes, expected %" PRIu64 " for %s shape %s",
                          e->begin, e->end, e->end - e->begin, need, st_dtypes[e->kind].name,
                          fmt_shape(e->ndim, e->shape, sh, sizeof sh));
    }
    return LS_OK;
}

static int check_metadata(const cJSON *meta, const char *file, ls_error *err)
{
    if (!cJSON_IsObject(meta))
        return ls_error_set(err, LS_ERR_FORMAT, "%s: __metadata__ is not a JSON object", file);
    for (const cJSON *kv = meta->child; kv; kv = kv->next)
        if (!cJSON_IsString(kv)) {
            char shown[64];
            return ls_error_set(err, LS_ERR_FORMAT,
                                "%s: __metadata__ value for '%s' is not a string", file,
                                ls_printable(kv->string, shown, sizeof shown));
        }
    return LS_OK;
}

static int cmp_begin(const void *a, const void *b)
{
    const st_entry *x = *(const st_entry *const *)a, *y = *(const st_entry *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const st_entry *const *)a)->name, (*(const st_entry *const *)b)->name);
}

/* Overlap and duplicate checks need the entries in two other orders. */
static int check_layout(st_header *h, const char *file, ls_error *err)
{
    if (h->n == 0)
        return LS_OK;
    const st_entry **v = malloc((size_t)h->n * sizeof *v);
    if (!v)
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", file);
    for (int i = 0; i < h->n; i++)
        v[i] = &h->e[i];
    int rc = LS_OK;

    qsort(v, (size_t)h->n, sizeof *v, cmp_name);
    for (int i = 1; i < h->n && rc == LS_OK; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0)
            rc = tensor_err(err, LS_ERR_FORMAT, file, v[i]->name, "appears twice in the header");

    /* Empty tensors own no bytes, so they cannot overlap anything; among
     * the others, sorted by begin, each must start at or after the furthest
     * end seen so far. */
    qsort(v, (size_t)h->n, sizeof *v, cmp_begin);
    const st_entry *far = NULL;
    for (int i = 0; i < h->n && rc == LS_OK; i++) {
        if (v[i]->begin == v[i]->end)
            continue;
        if (far && v[i]->begin < far->end) {
            char a[160], b[160];
            rc = ls_error_set(err, LS_ERR_FORMAT,
                              "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                              "] overlap tensor '%s' at [%" PRIu64 ", %" PRIu64 "]",
                              file, ls_printable(v[i]->name, a, sizeof a), v[i]->begin,
                              v[i]->end, ls_printable(far->name, b, sizeof b), far->begin,
                              far->end);
        }
        if (!far || v[i]->end > far->end)
            far = v[i];
    }
    if (far)
        h->max_end = far->end;
    free(v);
    return rc;
}

/* Parses and checks the JSON header; data_len is the bytes after it. */
static int parse_header(const char *text, size_t len, uint64_t data_len, const char *file,
                        st_header *h, ls_error *err)
{
    memset(h, 0, sizeof *h);
    /* ParseWithLengthOpts reports the failure position through its out
     * argument, so nothing depends on cJSON's global error pointer. */
    const char *end = NULL;
    h->root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!h->root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: header is not valid JSON (syntax error at byte %zu of %zu)", file,
                            at, len);
    }
    for (const char *p = end; p && p < text + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            header_free(h);
            return ls_error_set(err, LS_ERR_FORMAT,
                                "%s: header has unexpected bytes after the JSON object (at byte "
                                "%zu of %zu)",
                                file, (size_t)(p - text), len);
        }
    if (!cJSON_IsObject(h->root)) {
        char got[48];
        json_show(h->root, got, sizeof got);
        header_free(h);
        return ls_error_set(err, LS_ERR_FORMAT, "%s: header is %s, expected a JSON object", file,
                            got);
    }
    int count = 0;
    for (const cJSON *c = h->root->child; c; c = c->next)
        if (++count > ST_MAX_TENSORS) {
            header_free(h);
            return ls_error_set(err, LS_ERR_LIMIT, "%s: header lists more than %d tensors", file,
                                ST_MAX_TENSORS);
        }
    h->e = calloc((size_t)count + 1, sizeof *h->e);
    if (!h->e) {
        header_free(h);
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", file);
    }
    int rc = LS_OK;
    for (const cJSON *c = h->root->child; c && rc == LS_OK; c = c->next) {
        if (strcmp(c->string, "__metadata__") == 0)
            rc = check_metadata(c, file, err);
        else
            rc = check_entry(c, file, data_len, &h->e[h->n++], err);
    }
    if (rc == LS_OK)
        rc = check_layout(h, file, err);
    if (rc != LS_OK)
        header_free(h);
    return rc;
}

static float f16_to_f32(uint16_t v)
{
    uint32_t sign = (uint32_t)(v >> 15) << 31;
    uint32_t exp = (v >> 10) & 0x1f, man = v & 0x3ff, bits;
    if (exp == 0 && man == 0) {
        bits = sign;
    } else if (exp == 0) {
        /* Subnormal half: shift the mantissa up until its leading one
         * becomes the implicit bit; each shift lowers the exponent. */
        int shifts = 0;
        while (!(man & 0x400)) {
            man <<= 1;
            shifts++;
        }
        bits = sign | (uint32_t)(127 - 15 + 1 - shifts) << 23 | (man & 0x3ff) << 13;
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13; /* inf / nan keep their payload */
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float bf16_to_f32(uint16_t v)
{
    uint32_t bits = (uint32_t)v << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Where the data block came from: the caller's buffer (copied), a
 * malloc'ed block, or a file mapping of map_len bytes at map. */
typedef struct st_block {
    unsigned char *data;
    bool owned;
    void *map;
    size_t map_len;
} st_block;

static void block_release(const st_block *b)
{
    if (b->map)
        munmap(b->map, b->map_len);
    else if (b->owned)
        free(b->data);
}

/* Builds the map from checked entries.  An owned block (malloc'ed or
 * mapped) may be pointed into; it is adopted if any tensor does. */
static int build_map(const st_header *h, const st_block *blk, const char *file, ls_tmap **out,
                     ls_error *err)
{
    unsigned char *data = blk->data;
    const bool owned = blk->owned;
    ls_tmap *m = ls_tmap_new(file);
    if (!m) {
        block_release(blk);
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", file);
    }
    bool used = false;
    int rc = LS_OK;
    for (int i = 0; i < h->n && rc == LS_OK; i++) {
        const st_entry *e = &h->e[i];
        st_dtype st = st_dtypes[e->kind].st;
        ls_dtype dt = st_dtypes[e->kind].dt;
        unsigned char *src = data + e->begin;
        size_t bytes = (size_t)(e->end - e->begin);
        ls_tensor t;
        bool direct = owned && st != ST_F16 && st != ST_BF16 &&
                      (uintptr_t)src % st_dtypes[e->kind].size == 0;
        if (direct) {
            t = ls_tensor_make(dt, e->ndim, e->shape, src);
            used = true;
        } else {
            rc = ls_tensor_alloc(ls_tmap_arena(m), dt, e->ndim, e->shape, &t, err);
            if (rc != LS_OK) {
                char shown[160];
                rc = ls_error_prefix(err, "%s: tensor '%s'", file,
                                     ls_printable(e->name, shown, sizeof shown));
                break;
            }
            float *f = t.data;
            size_t n = bytes / 2;
            if (st == ST_F16)
                for (size_t k = 0; k < n; k++)
                    f[k] = f16_to_f32((uint16_t)(src[2 * k] | src[2 * k + 1] << 8));
            else if (st == ST_BF16)
                for (size_t k = 0; k < n; k++)
                    f[k] = bf16_to_f32((uint16_t)(src[2 * k] | src[2 * k + 1] << 8));
            else if (bytes)
                memcpy(t.data, src, bytes);
        }
        /* Bytes other than 0/1 would make C's _Bool misbehave. */
        if (dt == LS_BOOL)
            for (size_t k = 0; k < bytes; k++)
                ((unsigned char *)t.data)[k] = ((unsigned char *)t.data)[k] != 0;
        rc = ls_tmap_put_ref(m, e->name, &t, err);
    }
    if (owned) {
        if (used && blk->map)
            ls_tmap_adopt_map(m, blk->map, blk->map_len);
        else if (used)
            ls_tmap_adopt(m, data);
        else
            block_release(blk);
    }
    if (rc != LS_OK) {
        ls_tmap_free(m);
        return rc;
    }
    *out = m;
    return LS_OK;
}

static uint64_t read_u64le(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

/* Checks the 8-byte header length against what the file really holds. */
static int check_header_len(uint64_t n, uint64_t file_size, const char *file, ls_error *err)
{
    if (n > file_size - 8)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: header length %" PRIu64 " runs past the end of the file (%" PRIu64
                            " bytes)",
                            file, n, file_size);
    if (n > ST_HEADER_MAX)
        return ls_error_set(err, LS_ERR_LIMIT,
                            "%s: header length %" PRIu64 " is over the limit of %" PRIu64 " bytes",
                            file, n, ST_HEADER_MAX);
    if (n < 2)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: header length %" PRIu64 " is too short for a JSON object", file,
                            n);
    return LS_OK;
}

int ls_safetensors_parse(const void *buf, size_t len, const char *name, ls_tmap **out,
                         ls_error *err)
{
    *out = NULL;
    if (!name)
        name = "(buffer)";
    const unsigned char *b = buf;
    if (len < 8)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: file is %zu bytes, too short for the 8-byte header length", name,
                            len);
    uint64_t n = read_u64le(b);
    int rc = check_header_len(n, len, name, err);
    if (rc != LS_OK)
        return rc;
    st_header h;
    rc = parse_header((const char *)b + 8, (size_t)n, len - 8 - n, name, &h, err);
    if (rc != LS_OK)
        return rc;
    /* The caller keeps its buffer, so every tensor is copied (owned=false). */
    st_block blk = {(unsigned char *)(uintptr_t)(b + 8 + n), false, NULL, 0};
    rc = build_map(&h, &blk, name, out, err);
    header_free(&h);
    return rc;
}

static int load_fd(int fd, const char *path, ls_tmap **out, ls_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return ls_error_set(err, LS_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return ls_error_set(err, LS_ERR_IO, "%s: not a regular file", path);
    uint64_t size = (uint64_t)st.st_size;
    if (size < 8)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: file is %" PRIu64
                            " bytes, too short for the 8-byte header length",
                            path, size);
    unsigned char lenbuf[8];
    int rc = ls_io_read_full(fd, lenbuf, 8, path, "the header length", err);
    if (rc != LS_OK)
        return rc;
    uint64_t n = read_u64le(lenbuf);
    if ((rc = check_header_len(n, size, path, err)) != LS_OK)
        return rc;

    char *text = malloc((size_t)n + 1);
    if (!text)
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory for a %" PRIu64 "-byte header",
                            path, n);
    st_header h;
    rc = ls_io_read_full(fd, text, (size_t)n, path, "the header", err);
    text[n] = '\0';
    if (rc == LS_OK)
        rc = parse_header(text, (size_t)n, size - 8 - n, path, &h, err);
    free(text);
    if (rc != LS_OK)
        return rc;

    /* Only the bytes some tensor uses are read; they were all checked to lie
     * inside the file. */
    if (h.max_end > SIZE_MAX - 1) {
        header_free(&h);
        return ls_error_set(err, LS_ERR_LIMIT, "%s: data too large for this machine", path);
    }
    /* the whole file up to the last tensor byte, mapped */
    if (h.max_end > 0 && h.max_end <= SIZE_MAX - 8 - n) {
        size_t map_len = (size_t)(8 + n + h.max_end);
        void *map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        if (map != MAP_FAILED) {
            st_block blk = {(unsigned char *)map + 8 + n, true, map, map_len};
            rc = build_map(&h, &blk, path, out, err);
            header_free(&h);
            return rc;
        }
    }
    unsigned char *data = malloc(h.max_end ? (size_t)h.max_end : 1);
    if (!data) {
        header_free(&h);
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory for %" PRIu64 " bytes of data",
                            path, h.max_end);
    }
    rc = ls_io_read_full(fd, data, (size_t)h.max_end, path, "the tensor data", err);
    if (rc != LS_OK) {
        free(data);
        header_free(&h);
        return rc;
    }
    st_block blk = {data, true, NULL, 0};
    rc = build_map(&h, &blk, path, out, err);
    header_free(&h);
    return rc;
}

int ls_safetensors_load(const char *path, ls_tmap **out, ls_error *err)
{
    *out = NULL;
    struct stat st;
    int fd = ls_open_regular(path, &st, err);
    if (fd < 0)
        return fd;
    int rc = load_fd(fd, path, out, err);
    close(fd);
    return rc;
}

/* ---- writing ---- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void sb_json_str(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sb_put(b, esc, 2);
        } else if (c < 0x20) {
            sb_printf(b, "\\u%04x", c);
        } else {
            sb_put(b, s, 1);
        }
    }
    sb_put(b, "\"", 1);
}

typedef struct named {
    const char *name;
    int index;
} named;

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

int ls_safetensors_save(const char *path, const ls_tmap *m, const char *const *metadata,
                        ls_error *err)
{
    static const char *const names[LS_DTYPE_COUNT] = {[LS_F32] = "F32", [LS_I64] = "I64",
                                                      [LS_BOOL] = "BOOL"};
    int n = ls_tmap_count(m);
    named *ix = malloc((size_t)(n ? n : 1) * sizeof *ix);
    if (!ix)
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < n; i++)
        ix[i] = (named){ls_tmap_name(m, i), i};
    qsort(ix, (size_t)n, sizeof *ix, cmp_named);

    sbuf b = {0};
    int rc = LS_OK;
    sb_put(&b, "{", 1);
    bool first = true;
    if (metadata && metadata[0]) {
        sb_put(&b, "\"__metadata__\":{", 16);
        for (int k = 0; metadata[k]; k += 2) {
            if (!metadata[k + 1]) {
                rc = ls_error_set(err, LS_ERR_ARG, "%s: metadata key '%s' has no value", path,
                                  metadata[k]);
                break;
            }
            if (k)
                sb_put(&b, ",", 1);
            sb_json_str(&b, metadata[k]);
            sb_put(&b, ":", 1);
            sb_json_str(&b, metadata[k + 1]);
        }
        sb_put(&b, "}", 1);
        first = false;
    }
    uint64_t off = 0;
    for (int i = 0; i < n && rc == LS_OK; i++) {
        const char *name = ix[i].name;
        const ls_tensor *t = ls_tmap_at(m, ix[i].index);
        if ((unsigned)t->dtype >= LS_DTYPE_COUNT || t->ndim < 0 || t->ndim > LS_MAX_DIMS) {
            rc = tensor_err(err, LS_ERR_ARG, path, name, "invalid dtype or rank");
            break;
        }
        if (strcmp(name, "__metadata__") == 0) {
            rc = tensor_err(err, LS_ERR_ARG, path, name, "name is reserved");
            break;
        }
        uint64_t bytes = (uint64_t)ls_tensor_nbytes(t);
        if (bytes && !t->data) {
            rc = tensor_err(err, LS_ERR_ARG, path, name, "has no data (a shape-only tensor)");
            break;
        }
        if (!first)
            sb_put(&b, ",", 1);
        first = false;
        sb_json_str(&b, name);
        sb_printf(&b, ":{\"dtype\":\"%s\",\"shape\":[", names[t->dtype]);
        for (int d = 0; d < t->ndim; d++)
            sb_printf(&b, "%s%" PRId64, d ? "," : "", t->shape[d]);
        sb_printf(&b, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, off + bytes);
        off += bytes;
    }
    sb_put(&b, "}", 1);
    /* Pad so the data starts 8-byte aligned (8 + N is a multiple of 8),
     * which lets readers point F32/I64 tensors straight into the file. */
    while (!b.oom && b.n % 8)
        sb_put(&b, " ", 1);
    if (rc == LS_OK && b.oom)
        rc = ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", path);

    ls_atomic_file *f = NULL;
    if (rc == LS_OK)
        rc = ls_atomic_open(path, &f, err);
    if (rc == LS_OK) {
        unsigned char lenbuf[8];
        for (int k = 0; k < 8; k++)
            lenbuf[k] = (unsigned char)((uint64_t)b.n >> (8 * k));
        rc = ls_atomic_write(f, lenbuf, 8, err);
        if (rc == LS_OK)
            rc = ls_atomic_write(f, b.p, b.n, err);
        for (int i = 0; i < n && rc == LS_OK; i++)
            rc = ls_io_write_tensor(f, ls_tmap_at(m, ix[i].index), path, err);
        if (rc == LS_OK)
            rc = ls_atomic_commit(f, err);
        else
            ls_atomic_abort(f);
    }
    free(b.p);
    free(ix);
    return rc;
}
