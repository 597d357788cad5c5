/* File formats: .npy, .safetensors, config.json and atomic writes.
 *
 * Model files come from the internet, so most of this file feeds the
 * loaders broken input built byte by byte here (nothing hostile is
 * committed) and checks both the status code and the message text.
 * Real fixtures come from $LS_TEST_DATA (tests/data).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layerstep/atomic.h"
#include "layerstep/config.h"
#include "layerstep/npy.h"
#include "layerstep/safetensors.h"
#include "layerstep/tensor.h"
#include "layerstep/tmap.h"

#include "tmpdir.h"

/* ---- helpers ---- */

typedef struct fx {
    char dir[256];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f || test_tmpdir_make(f->dir, sizeof f->dir, "io"))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

static const char *tpath(void **state, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", ((fx *)*state)->dir, name);
    return buf;
}

static const char *data_path(const char *rel, char *buf, size_t n)
{
    const char *d = getenv("LS_TEST_DATA");
    snprintf(buf, n, "%s/%s", d && *d ? d : "tests/data", rel);
    return buf;
}

static void write_bytes(const char *path, const void *buf, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* noinline: gcc 12 -O3 mistakes the result for a pointer to the local */
static __attribute__((noinline)) unsigned char *read_bytes(const char *path, size_t *n)
{
    void *buf;
    ls_error err = {0};
    if (ls_read_file(path, (size_t)1 << 30, &buf, n, &err) != LS_OK)
        fail_msg("%s", err.msg);
    return buf;
}

/* Checks code and that the message contains every given fragment. */
static void expect_err(int rc, const ls_error *err, int code, const char *const *frags)
{
    if (rc != code)
        fail_msg("expected code %d, got %d: %s", code, rc, err->msg);
    if (err->code != code)
        fail_msg("err.code %d, expected %d", err->code, code);
    if (strchr(err->msg, '\n'))
        fail_msg("message is not one line: %s", err->msg);
    for (; *frags; frags++)
        if (!strstr(err->msg, *frags))
            fail_msg("message lacks \"%s\": %s", *frags, err->msg);
}
#define EXPECT_ERR(rc, err, code, ...) \
    expect_err((rc), (err), (code), (const char *const[]){__VA_ARGS__, NULL})

static ls_tensor fill_tensor(ls_arena *a, ls_dtype dt, int ndim, const int64_t *shape,
                             int seed)
{
    ls_tensor t;
    assert_int_equal(ls_tensor_alloc(a, dt, ndim, shape, &t, NULL), LS_OK);
    for (int64_t i = 0; i < ls_tensor_numel(&t); i++) {
        double v = dt == LS_F32  ? (double)(i * 0.25f - 3.5f + seed)
                   : dt == LS_I64 ? (double)(i * 7 - 11 + seed)
                                  : (double)((i * 3 + seed) % 2);
        ls_tensor_set_flat(&t, i, v);
    }
    return t;
}

static void assert_same_tensor(const ls_tensor *a, const ls_tensor *b)
{
    assert_int_equal(a->dtype, b->dtype);
    assert_int_equal(a->ndim, b->ndim);
    for (int d = 0; d < a->ndim; d++)
        assert_int_equal(a->shape[d], b->shape[d]);
    for (int64_t i = 0; i < ls_tensor_numel(a); i++)
        if (ls_tensor_get_flat(a, i) != ls_tensor_get_flat(b, i))
            fail_msg("element %lld: %g vs %g", (long long)i, ls_tensor_get_flat(a, i),
                     ls_tensor_get_flat(b, i));
}

/* A .npy image with the given header dict padded the way numpy pads it. */
static unsigned char *make_npy(int major, const char *dict, const void *data, size_t dlen,
                               size_t *len)
{
    size_t pre = major == 1 ? 10 : 12;
    size_t hl = strlen(dict) + 1;
    hl += (64 - (pre + hl) % 64) % 64;
    unsigned char *b = calloc(1, pre + hl + dlen + 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    for (size_t k = 0; k < pre - 8; k++)
        b[8 + k] = (unsigned char)(hl >> (8 * k));
    memset(b + pre, ' ', hl);
    memcpy(b + pre, dict, strlen(dict));
    b[pre + hl - 1] = '\n';
    if (dlen)
        memcpy(b + pre + hl, data, dlen);
    *len = pre + hl + dlen;
    return b;
}

/* A .safetensors image: 8-byte length, json, data. */
static unsigned char *make_st(const char *json, const void *data, size_t dlen, size_t *len)
{
    size_t n = strlen(json);
    unsigned char *b = calloc(1, 8 + n + dlen + 1);
    for (int k = 0; k < 8; k++)
        b[k] = (unsigned char)((uint64_t)n >> (8 * k));
    memcpy(b + 8, json, n);
    if (dlen)
        memcpy(b + 8 + n, data, dlen);
    *len = 8 + n + dlen;
    return b;
}

/* Runs a hostile safetensors image through both the memory parser and the
 * file loader; both must fail with the same code and text. */
static void st_expect(void **state, const char *json, size_t dlen, int code,
                      const char *const *frags)
{
    unsigned char *zeros = calloc(1, dlen + 1);
    size_t len;
    unsigned char *img = make_st(json, zeros, dlen, &len);
    ls_error err = {0};
    ls_tmap *m = (ls_tmap *)1;
    int rc = ls_safetensors_parse(img, len, "bad.safetensors", &m, &err);
    assert_null(m);
    expect_err(rc, &err, code, frags);
    assert_non_null(strstr(err.msg, "bad.safetensors: "));

    char p[512];
    tpath(state, "bad.safetensors", p, sizeof p);
    write_bytes(p, img, len);
    memset(&err, 0, sizeof err);
    m = (ls_tmap *)1;
    rc = ls_safetensors_load(p, &m, &err);
    assert_null(m);
    expect_err(rc, &err, code, frags);
    free(img);
    free(zeros);
}
#define ST_EXPECT(state, json, dlen, code, ...) \
    st_expect((state), (json), (dlen), (code), (const char *const[]){__VA_ARGS__, NULL})

/* ---- atomic ---- */

static int count_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static void test_atomic_write_commit_abort(void **state)
{
    char p[512];
    ls_error err = {0};
    tpath(state, "out.bin", p, sizeof p);
    assert_int_equal(ls_atomic_write_file(p, "hello", 5, &err), LS_OK);
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(b, "hello", 5);
    assert_int_equal(b[5], 0); /* trailing NUL not counted */
    free(b);

    /* An aborted rewrite leaves the old content and no temp file. */
    ls_atomic_file *f;
    assert_int_equal(ls_atomic_open(p, &f, &err), LS_OK);
    assert_int_equal(count_temp_files(((fx *)*state)->dir), 1);
    assert_int_equal(ls_atomic_write(f, "XXXXXXXX", 8, &err), LS_OK);
    ls_atomic_abort(f);
    b = read_bytes(p, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(b, "hello", 5);
    free(b);
    assert_int_equal(count_temp_files(((fx *)*state)->dir), 0);

    /* A committed rewrite replaces it whole. */
    assert_int_equal(ls_atomic_write_file(p, "bye", 3, &err), LS_OK);
    b = read_bytes(p, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(b, "bye", 3);
    free(b);
    assert_int_equal(count_temp_files(((fx *)*state)->dir), 0);

    tpath(state, "no/such/dir/x.bin", p, sizeof p);
    EXPECT_ERR(ls_atomic_write_file(p, "x", 1, &err), &err, LS_ERR_IO, "x.bin", "cannot create");
}

static void test_read_file_limits(void **state)
{
    char p[512];
    ls_error err = {0};
    void *buf;
    size_t n;
    tpath(state, "ten.bin", p, sizeof p);
    write_bytes(p, "0123456789", 10);
    EXPECT_ERR(ls_read_file(p, 9, &buf, &n, &err), &err, LS_ERR_LIMIT, "ten.bin", "10 bytes");
    assert_null(buf);
    assert_int_equal(ls_read_file(p, 10, &buf, &n, &err), LS_OK);
    assert_int_equal(n, 10);
    free(buf);
    tpath(state, "missing.bin", p, sizeof p);
    EXPECT_ERR(ls_read_file(p, 10, &buf, &n, &err), &err, LS_ERR_IO, "missing.bin",
               "cannot open");
    EXPECT_ERR(ls_read_file(((fx *)*state)->dir, 10, &buf, &n, &err), &err, LS_ERR_IO,
               "not a regular file");
}

/* ---- npy ---- */

static void test_npy_roundtrip(void **state)
{
    static const int64_t shapes[][LS_MAX_DIMS] = {
        {0}, {5}, {2, 3}, {2, 3, 4}, {1, 2, 3, 2}, {0}, {3, 0}, {1},
    };
    static const int ndims[] = {0, 1, 2, 3, 4, 1, 2, 1};
    ls_arena *a = ls_arena_new(1 << 16);
    ls_error err = {0};
    char p[512];
    tpath(state, "rt.npy", p, sizeof p);
    for (int dt = 0; dt < LS_DTYPE_COUNT; dt++)
        for (size_t s = 0; s < sizeof ndims / sizeof ndims[0]; s++) {
            ls_tensor t = fill_tensor(a, (ls_dtype)dt, ndims[s], shapes[s], (int)s);
            if (ls_npy_save(p, &t, &err) != LS_OK)
                fail_msg("%s", err.msg);
            size_t n;
            unsigned char *b = read_bytes(p, &n);
            /* numpy's layout: v1.0, data 64-byte aligned, header ends in \n */
            size_t hl = (size_t)b[8] | (size_t)b[9] << 8;
            assert_memory_equal(b, "\x93NUMPY\x01\x00", 8);
            assert_int_equal((10 + hl) % 64, 0);
            assert_int_equal(b[10 + hl - 1], '\n');
            assert_int_equal(n - 10 - hl, ls_tensor_nbytes(&t));
            free(b);
            ls_tensor u;
            if (ls_npy_load(p, a, &u, &err) != LS_OK)
                fail_msg("%s", err.msg);
            assert_same_tensor(&t, &u);
        }
    assert_int_equal(count_temp_files(((fx *)*state)->dir), 0);

    ls_arena_free(a);
}

static void test_npy_noncontiguous(void **state)
{
    ls_arena *a = ls_arena_new(1 << 16);
    ls_error err = {0};
    char p[512];
    tpath(state, "nc.npy", p, sizeof p);
    for (int dt = 0; dt < LS_DTYPE_COUNT; dt++) {
        ls_tensor x = fill_tensor(a, (ls_dtype)dt, 3, (int64_t[]){3, 4, 5}, 1);
        ls_tensor views[3];
        assert_int_equal(ls_tensor_transpose(&x, 0, 2, &views[0], &err), LS_OK);
        assert_int_equal(ls_tensor_slice(&x, 1, 1, 4, 2, &views[1], &err), LS_OK);
        ls_tensor col;
        assert_int_equal(ls_tensor_slice(&x, 2, 0, 1, 1, &col, &err), LS_OK);
        assert_int_equal(ls_tensor_expand(&col, 3, (int64_t[]){3, 4, 6}, &views[2], &err),
                         LS_OK);
        for (int v = 0; v < 3; v++) {
            assert_false(ls_tensor_is_contiguous(&views[v]));
            assert_int_equal(ls_npy_save(p, &views[v], &err), LS_OK);
            ls_tensor u;
            assert_int_equal(ls_npy_load(p, a, &u, &err), LS_OK);
            assert_true(ls_tensor_is_contiguous(&u));
            assert_same_tensor(&views[v], &u);
        }
    }
    ls_arena_free(a);
}

/* Our writer must produce numpy's exact bytes, header padding included. */
static void test_npy_golden_bytes_and_values(void **state)
{
    static const char *const files[] = {
        "mha_small/acts/kpm.attn.npy",
        "mha_small/inputs/kpm.key_padding_mask.npy",
        "transformer_small/inputs/enc_inputs.npy",
        "mha_small/inputs/kpm.query.npy",
    };
    ls_arena *a = ls_arena_new(1 << 16);
    ls_error err = {0};
    char src[512], dst[512];
    tpath(state, "copy.npy", dst, sizeof dst);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        ls_tensor t;
        if (ls_npy_load(data_path(files[i], src, sizeof src), a, &t, &err) != LS_OK)
            fail_msg("%s", err.msg);
        assert_int_equal(ls_npy_save(dst, &t, &err), LS_OK);
        size_t n1, n2;
        unsigned char *b1 = read_bytes(src, &n1), *b2 = read_bytes(dst, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(b1, b2, n1);
        free(b1);
        free(b2);
    }

    ls_tensor q;
    assert_int_equal(ls_npy_load(data_path(files[3], src, sizeof src), a, &q, &err), LS_OK);
    assert_int_equal(q.dtype, LS_F32);
    assert_int_equal(q.ndim, 3);
    assert_int_equal(q.shape[0], 2);
    assert_int_equal(q.shape[1], 5);
    assert_int_equal(q.shape[2], 32);
    assert_float_equal(((float *)q.data)[0], -0.4733302593231201, 1e-7);
    assert_float_equal(((float *)q.data)[3], 0.97303706407547, 1e-7);

    ls_tensor ids;
    assert_int_equal(ls_npy_load(data_path(files[2], src, sizeof src), a, &ids, &err), LS_OK);
    assert_int_equal(ids.dtype, LS_I64);
    assert_int_equal(ids.shape[0], 2);
    assert_int_equal(ids.shape[1], 5);
    const int64_t want[10] = {1, 2, 3, 4, 0, 1, 2, 3, 5, 0};
    assert_memory_equal(ids.data, want, sizeof want);

    ls_tensor mask;
    assert_int_equal(ls_npy_load(data_path(files[1], src, sizeof src), a, &mask, &err), LS_OK);
    assert_int_equal(mask.dtype, LS_BOOL);
    assert_int_equal(mask.shape[1], 7);
    ls_arena_free(a);
}

static void test_npy_load_dir(void **state)
{
    ls_error err = {0};
    ls_tmap *m;
    char p[512];
    if (ls_npy_load_dir(data_path("mha_small/inputs", p, sizeof p), &m, &err) != LS_OK)
        fail_msg("%s", err.msg);
    static const char *const names[] = {
        "causal.attn_mask", "causal.x", "causal_kpm.attn_mask", "causal_kpm.key_padding_mask",
        "causal_kpm.x", "kpm.key", "kpm.key_padding_mask", "kpm.query", "kpm.value",
    };
    assert_int_equal(ls_tmap_count(m), 9);
    for (int i = 0; i < 9; i++)
        assert_string_equal(ls_tmap_name(m, i), names[i]);
    const ls_tensor *kpm;
    assert_int_equal(ls_tmap_expect(m, "kpm.key_padding_mask", LS_BOOL, 2, (int64_t[]){2, 7},
                                    &kpm, &err),
                     LS_OK);
    ls_tmap_free(m);

    /* Only regular *.npy files that are not hidden count, sorted by name. */
    ls_arena *a = ls_arena_new(0);
    ls_tensor t = fill_tensor(a, LS_F32, 1, (int64_t[]){3}, 0);
    const char *dir = ((fx *)*state)->dir;
    assert_int_equal(ls_npy_save(tpath(state, "b.npy", p, sizeof p), &t, &err), LS_OK);
    assert_int_equal(ls_npy_save(tpath(state, "a.x.npy", p, sizeof p), &t, &err), LS_OK);
    assert_int_equal(ls_npy_save(tpath(state, ".hidden.npy", p, sizeof p), &t, &err), LS_OK);
    write_bytes(tpath(state, "notes.txt", p, sizeof p), "hi", 2);
    write_bytes(tpath(state, ".npy", p, sizeof p), "hi", 2);
    assert_int_equal(mkdir(tpath(state, "sub.npy", p, sizeof p), 0700), 0);
    assert_int_equal(ls_npy_load_dir(dir, &m, &err), LS_OK);
    assert_int_equal(ls_tmap_count(m), 2);
    assert_string_equal(ls_tmap_name(m, 0), "a.x");
    assert_string_equal(ls_tmap_name(m, 1), "b");
    assert_same_tensor(ls_tmap_at(m, 1), &t);
    ls_tmap_free(m);

    /* One bad file fails the whole folder, naming the file. */
    write_bytes(tpath(state, "c.npy", p, sizeof p), "garbage!", 8);
    m = (ls_tmap *)1;
    EXPECT_ERR(ls_npy_load_dir(dir, &m, &err), &err, LS_ERR_FORMAT, "c.npy", "bad magic");
    assert_null(m);
    EXPECT_ERR(ls_npy_load_dir(tpath(state, "nope", p, sizeof p), &m, &err), &err, LS_ERR_IO,
               "nope", "cannot open folder");
    ls_arena_free(a);
}

static void npy_expect(const char *dict, size_t dlen, int code, const char *const *frags)
{
    unsigned char *zeros = calloc(1, dlen + 1);
    size_t len;
    unsigned char *img = make_npy(1, dict, zeros, dlen, &len);
    ls_arena *a = ls_arena_new(0);
    ls_tensor t;
    ls_error err = {0};
    expect_err(ls_npy_parse(img, len, "bad.npy", a, &t, &err), &err, code, frags);
    assert_non_null(strstr(err.msg, "bad.npy: "));
    ls_arena_free(a);
    free(img);
    free(zeros);
}
#define NPY_EXPECT(dict, dlen, code, ...) \
    npy_expect((dict), (dlen), (code), (const char *const[]){__VA_ARGS__, NULL})

static void test_npy_hostile(void **state)
{
    const int F = LS_ERR_FORMAT;
    NPY_EXPECT("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24, F,
               "Fortran-order", "[2, 3]");
    NPY_EXPECT("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16, F,
               "unsupported .npy dtype '<f8'");
    NPY_EXPECT("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, F, "'>f4'");
    NPY_EXPECT("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, F,
               "structured");
    NPY_EXPECT("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20, F,
               "truncated", "data is 20 bytes, expected 24", "[2, 3]");
    NPY_EXPECT("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28, F,
               "trailing");
    NPY_EXPECT("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", 24, F,
               "negative");
    NPY_EXPECT("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1), }", 4, F,
               "at most 4");
    NPY_EXPECT("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
               4, F, "over 2^63");
    NPY_EXPECT("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4), "
               "}",
               4, LS_ERR_SHAPE, "bad.npy", "overflow");
    NPY_EXPECT("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296, "
               "4), }",
               0, LS_ERR_SHAPE, "bad.npy", "dimension 2 is 4294967296", "overflow");
    NPY_EXPECT("{'descr': '<f4', 'shape': (2,), }", 8, F, "lacks 'fortran_order'");
    NPY_EXPECT("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8, F,
               "unexpected key 'x'");
    NPY_EXPECT("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8,
               F, "twice");
    NPY_EXPECT("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", 8, F,
               "True or False");
    NPY_EXPECT("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", 8, F,
               "only padding");
    NPY_EXPECT("not a dict at all", 0, F, "expected '{'");
    NPY_EXPECT("{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }", 8, F, "bad .npy header");
    NPY_EXPECT("", 0, F, "expected '{'");

    ls_arena *a = ls_arena_new(0);
    ls_tensor t;
    ls_error err = {0};
    EXPECT_ERR(ls_npy_parse("PK\x03\x04 this is a zip", 20, "x.npy", a, &t, &err), &err, F,
               "x.npy", "bad magic", "50 4b 03 04");
    EXPECT_ERR(ls_npy_parse("\x93NUMPY\x04\x00\x10\x00", 10, "x.npy", a, &t, &err), &err, F,
               "version 4.0");
    EXPECT_ERR(ls_npy_parse("\x93NUMPY\x01\x00\xff\x7f{}", 12, "x.npy", a, &t, &err), &err, F,
               "header length 32767 runs past the end");
    EXPECT_ERR(ls_npy_parse("\x93NUMPY\x01", 7, "x.npy", a, &t, &err), &err, F, "truncated");
    EXPECT_ERR(ls_npy_parse("\x93NUMPY\x02\x00\x00\x00\x00\x40", 12, "x.npy", a, &t, &err),
               &err, LS_ERR_LIMIT, "over the limit");

    /* The file loader reads in steps; check the same failures there. */
    char p[512];
    tpath(state, "bad.npy", p, sizeof p);
    write_bytes(p, "\x93NUMPY\x01\x00\xff\x7f{}", 12);
    EXPECT_ERR(ls_npy_load(p, a, &t, &err), &err, F, "bad.npy", "runs past the end");
    write_bytes(p, "\x93NU", 4);
    EXPECT_ERR(ls_npy_load(p, a, &t, &err), &err, F, "bad.npy", "bad magic");
    size_t len;
    float vals[6] = {1, 2, 3, 4, 5, 6};
    unsigned char *img = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                                  vals, sizeof vals, &len);
    write_bytes(p, img, len - 1);
    EXPECT_ERR(ls_npy_load(p, a, &t, &err), &err, F, "bad.npy", "truncated",
               "data is 23 bytes, expected 24");
    write_bytes(p, img, len);
    assert_int_equal(ls_npy_load(p, a, &t, &err), LS_OK);
    assert_float_equal(((float *)t.data)[5], 6.0, 0);

    /* Every truncation of a valid image fails cleanly, and random byte
     * damage never crashes (it may still parse). */
    for (size_t cut = 0; cut < len; cut++) {
        memset(&err, 0, sizeof err);
        int rc = ls_npy_parse(img, cut, "cut.npy", a, &t, &err);
        assert_int_not_equal(rc, LS_OK);
        assert_true(err.msg[0] != '\0');
    }
    unsigned char *dam = malloc(len);
    static const unsigned char junk[] = {0, '\'', '(', ')', ',', ':', '{', '}', '9', '-',
                                         ' ', 0xff, '\n', 'L', 'T'};
    for (size_t i = 0; i < len - sizeof vals; i++)
        for (size_t j = 0; j < sizeof junk; j++) {
            memcpy(dam, img, len);
            dam[i] = junk[j];
            ls_arena_reset(a);
            (void)ls_npy_parse(dam, len, "dam.npy", a, &t, &err);
        }
    free(dam);
    free(img);
    ls_arena_free(a);
}

static void test_npy_variants(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(0);
    ls_error err = {0};
    ls_tensor t;
    size_t len;
    /* u1 is read as bool; nonzero bytes become 1 */
    unsigned char u1[4] = {0, 7, 1, 255};
    unsigned char *img =
        make_npy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", u1, 4, &len);
    assert_int_equal(ls_npy_parse(img, len, "u1.npy", a, &t, &err), LS_OK);
    assert_int_equal(t.dtype, LS_BOOL);
    assert_memory_equal(t.data, "\x00\x01\x01\x01", 4);
    free(img);
    /* v2.0 and v3.0 headers, double quotes, Python 2 longs, no trailing comma */
    int64_t v[3] = {-1, 0, INT64_MAX};
    img = make_npy(2, "{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": (3L,)}", v,
                   sizeof v, &len);
    assert_int_equal(ls_npy_parse(img, len, "v2.npy", a, &t, &err), LS_OK);
    assert_memory_equal(t.data, v, sizeof v);
    free(img);
    img = make_npy(3, "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 3)}", v,
                   sizeof v, &len);
    assert_int_equal(ls_npy_parse(img, len, "v3.npy", a, &t, &err), LS_OK);
    assert_int_equal(t.ndim, 2);
    free(img);
    /* Fortran order is the same layout when only one dim exceeds 1. */
    float f[3] = {1, 2, 3};
    img = make_npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 3, 1), }", f,
                   sizeof f, &len);
    assert_int_equal(ls_npy_parse(img, len, "f.npy", a, &t, &err), LS_OK);
    assert_float_equal(((float *)t.data)[2], 3.0, 0);
    free(img);
    /* 0-dim scalar */
    img = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f, 4, &len);
    assert_int_equal(ls_npy_parse(img, len, "s.npy", a, &t, &err), LS_OK);
    assert_int_equal(t.ndim, 0);
    assert_int_equal(ls_tensor_numel(&t), 1);
    free(img);
    ls_arena_free(a);
}

/* ---- safetensors ---- */

static void test_st_golden(void **state)
{
    (void)state;
    ls_error err = {0};
    ls_tmap *m;
    char p[512];
    data_path("mha_small/weights.safetensors", p, sizeof p);
    if (ls_safetensors_load(p, &m, &err) != LS_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(ls_tmap_count(m), 4);
    assert_string_equal(ls_tmap_name(m, 0), "in_proj_bias"); /* file order */
    const ls_tensor *w;
    assert_int_equal(
        ls_tmap_expect(m, "in_proj_weight", LS_F32, 2, (int64_t[]){96, 32}, &w, &err), LS_OK);
    assert_int_equal((uintptr_t)w->data % 4, 0);
    /* Compare against the raw bytes: data starts at 8 + N, tensor at 384. */
    size_t n;
    unsigned char *raw = read_bytes(p, &n);
    size_t hl = 0;
    for (int k = 7; k >= 0; k--)
        hl = hl << 8 | raw[k];
    assert_memory_equal(w->data, raw + 8 + hl + 384, 96 * 32 * 4);
    const ls_tensor *ob;
    assert_int_equal(ls_tmap_expect(m, "out_proj.bias", LS_F32, 1, (int64_t[]){32}, &ob, &err),
                     LS_OK);
    assert_memory_equal(ob->data, raw + 8 + hl + 12672, 128);

    /* The memory parser gives the same tensors. */
    ls_tmap *m2;
    assert_int_equal(ls_safetensors_parse(raw, n, "mem", &m2, &err), LS_OK);
    assert_int_equal(ls_tmap_count(m2), 4);
    for (int i = 0; i < 4; i++)
        assert_same_tensor(ls_tmap_at(m, i), ls_tmap_get(m2, ls_tmap_name(m, i)));
    ls_tmap_free(m2);
    free(raw);
    ls_tmap_free(m);

    data_path("transformer_small/weights.safetensors", p, sizeof p);
    if (ls_safetensors_load(p, &m, &err) != LS_OK)
        fail_msg("%s", err.msg);
    assert_true(ls_tmap_count(m) > 10);
    assert_int_equal(ls_tmap_expect(m, "decoder.layers.0.dec_enc_attn.W_K.weight", LS_F32, 2,
                                    (int64_t[]){32, 32}, NULL, &err),
                     LS_OK);
    ls_tmap_free(m);
}

static void test_st_roundtrip(void **state)
{
    ls_error err = {0};
    ls_arena *a = ls_arena_new(0);
    ls_tmap *m = ls_tmap_new("mine");
    ls_tensor x = fill_tensor(a, LS_F32, 2, (int64_t[]){2, 3}, 0);
    ls_tensor xt;
    assert_int_equal(ls_tensor_transpose(&x, 0, 1, &xt, &err), LS_OK);
    ls_tensor tensors[] = {
        fill_tensor(a, LS_F32, 2, (int64_t[]){2, 3}, 1),
        fill_tensor(a, LS_I64, 1, (int64_t[]){5}, 2),
        fill_tensor(a, LS_BOOL, 2, (int64_t[]){3, 3}, 3),
        fill_tensor(a, LS_F32, 0, NULL, 4),
        fill_tensor(a, LS_F32, 2, (int64_t[]){0, 4}, 5),
        fill_tensor(a, LS_BOOL, 1, (int64_t[]){1}, 6),
        xt,
    };
    /* Put out of name order; the file must come out sorted. */
    static const char *const names[] = {"z.w", "b.i\"dx", "m.mask", "a.scalar", "e.empty",
                                        "c.b1", "x.t"};
    for (int i = 0; i < 7; i++) {
        if (i == 6)
            assert_int_equal(ls_tmap_put_ref(m, names[i], &tensors[i], &err), LS_OK);
        else
            assert_int_equal(ls_tmap_put(m, names[i], &tensors[i], &err), LS_OK);
    }
    char p[512];
    tpath(state, "rt.safetensors", p, sizeof p);
    const char *const meta[] = {"format", "pt", "note", "tab\there \"quoted\"", NULL};
    if (ls_safetensors_save(p, m, meta, &err) != LS_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(count_temp_files(((fx *)*state)->dir), 0);

    size_t n;
    unsigned char *raw = read_bytes(p, &n);
    size_t hl = 0;
    for (int k = 7; k >= 0; k--)
        hl = hl << 8 | raw[k];
    assert_int_equal(hl % 8, 0);
    assert_true(8 + hl <= n);
    assert_int_equal(raw[8 + hl - 1] == ' ' || raw[8 + hl - 1] == '}', 1);
    /* names sorted in the header */
    char *h = (char *)raw + 8;
    char *pa = strstr(h, "\"a.scalar\""), *pb = strstr(h, "\"b.i\\\"dx\""),
         *pz = strstr(h, "\"z.w\"");
    assert_non_null(pa);
    assert_non_null(pb);
    assert_non_null(pz);
    assert_true(pa < pb && pb < pz);
    assert_non_null(strstr(h, "\"tab\\u0009here \\\"quoted\\\"\""));
    free(raw);

    ls_tmap *back;
    if (ls_safetensors_load(p, &back, &err) != LS_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(ls_tmap_count(back), 7);
    assert_string_equal(ls_tmap_name(back, 0), "a.scalar");
    for (int i = 0; i < 7; i++) {
        const ls_tensor *t = ls_tmap_get(back, names[i]);
        assert_non_null(t);
        assert_same_tensor(&tensors[i], t);
    }
    ls_tmap_free(back);

    /* A shape-only tensor cannot be saved, and the target is left alone. */
    ls_tensor ghost = ls_tensor_make(LS_F32, 1, (int64_t[]){4}, NULL);
    assert_int_equal(ls_tmap_put_ref(m, "ghost", &ghost, &err), LS_OK);
    EXPECT_ERR(ls_safetensors_save(p, m, NULL, &err), &err, LS_ERR_ARG, "tensor 'ghost'",
               "no data");
    assert_int_equal(ls_safetensors_load(p, &back, &err), LS_OK);
    assert_int_equal(ls_tmap_count(back), 7);
    ls_tmap_free(back);
    assert_int_equal(count_temp_files(((fx *)*state)->dir), 0);
    ls_tmap_free(m);
    ls_arena_free(a);
}

static void put_u16(unsigned char *b, uint16_t v)
{
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
}

static void test_st_f16_bf16(void **state)
{
    /* F16 then BF16, then an F32 at offset 38 (not 4-aligned: must be
     * copied), then an I64 at 42 (not 8-aligned). */
    static const uint16_t h16[] = {0x3c00, 0xc000, 0x3555, 0x0001, 0x03ff, 0x0400,
                                   0x7bff, 0x8000, 0x7c00, 0xfc00, 0x7e00};
    static const float h32[] = {1.0f, -2.0f, 0.333251953125f, 5.9604644775390625e-08f,
                                6.0975551605224609e-05f, 6.103515625e-05f, 65504.0f, -0.0f,
                                INFINITY, -INFINITY, NAN};
    static const uint16_t b16[] = {0x3f80, 0xc040, 0x4049, 0x7f80, 0x0001, 0x8000};
    static const float b32[] = {1.0f, -3.0f, 3.140625f, INFINITY, 9.183549615799121e-41f, -0.0f};
    unsigned char data[64] = {0};
    for (int i = 0; i < 11; i++)
        put_u16(data + 2 * i, h16[i]);
    for (int i = 0; i < 6; i++)
        put_u16(data + 22 + 2 * i, b16[i]);
    float pi = 3.25f;
    memcpy(data + 34, &pi, 4);
    int64_t big = -5000000000;
    memcpy(data + 38, &big, 8);
    const char *json = "{\"h\":{\"dtype\":\"F16\",\"shape\":[11],\"data_offsets\":[0,22]},"
                       "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[22,34]},"
                       "\"f\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[34,38]},"
                       "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[38,46]},"
                       "\"__metadata__\":{\"k\":\"v\"}}";
    /* 8 + strlen(json) decides the alignment in the file; pad the JSON so
     * the data starts 8-aligned and offset 34 really is misaligned. */
    char padded[1024];
    size_t jl = strlen(json);
    memcpy(padded, json, jl);
    while ((8 + jl) % 8)
        padded[jl++] = ' ';
    padded[jl] = '\0';
    size_t len;
    unsigned char *img = make_st(padded, data, 46, &len);
    char p[512];
    tpath(state, "half.safetensors", p, sizeof p);
    write_bytes(p, img, len);

    for (int pass = 0; pass < 2; pass++) {
        ls_error err = {0};
        ls_tmap *m;
        int rc = pass ? ls_safetensors_load(p, &m, &err)
                      : ls_safetensors_parse(img, len, "half", &m, &err);
        if (rc != LS_OK)
            fail_msg("%s", err.msg);
        const ls_tensor *h, *b, *f, *i;
        assert_int_equal(ls_tmap_expect(m, "h", LS_F32, 1, (int64_t[]){11}, &h, &err), LS_OK);
        assert_int_equal(ls_tmap_expect(m, "b", LS_F32, 2, (int64_t[]){2, 3}, &b, &err), LS_OK);
        assert_int_equal(ls_tmap_expect(m, "f", LS_F32, 0, NULL, &f, &err), LS_OK);
        assert_int_equal(ls_tmap_expect(m, "i", LS_I64, 1, (int64_t[]){1}, &i, &err), LS_OK);
        const float *hv = h->data, *bv = b->data;
        for (int k = 0; k < 10; k++) {
            if (memcmp(&hv[k], &h32[k], 4) != 0)
                fail_msg("F16 %04x -> %.10g, expected %.10g", h16[k], hv[k], h32[k]);
        }
        assert_true(isnan(hv[10]));
        assert_true(signbit(hv[7]));
        for (int k = 0; k < 6; k++)
            if (memcmp(&bv[k], &b32[k], 4) != 0)
                fail_msg("BF16 %04x -> %.10g, expected %.10g", b16[k], bv[k], b32[k]);
        assert_int_equal((uintptr_t)f->data % 4, 0);
        assert_int_equal((uintptr_t)i->data % 8, 0);
        assert_float_equal(*(const float *)f->data, 3.25, 0);
        assert_int_equal(*(const int64_t *)i->data, big);
        ls_tmap_free(m);
    }
    free(img);
}

/* Is p inside a mapping of a file whose path ends with `name`? */
static bool in_file_mapping(const void *p, const char *name)
{
    FILE *fp = fopen("/proc/self/maps", "r");
    if (!fp)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, fp)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
            continue;
        line[strcspn(line, "\n")] = '\0';
        size_t ll = strlen(line), nl = strlen(name);
        found = (uintptr_t)p >= lo && (uintptr_t)p < hi && ll >= nl &&
                !strcmp(line + ll - nl, name);
    }
    fclose(fp);
    return found;
}

static void test_st_mapped(void **state)
{
    /* An aligned F32 (offset 0) is used in place from the file mapping; a
     * misaligned F32 (offset 18) is copied; a BOOL with a byte of 2 is
     * made 1 in the process's private copy of its page, the file keeps
     * its 2. */
    unsigned char data[32] = {0};
    const float w[4] = {1.5f, -2.0f, 0.25f, 8.0f};
    memcpy(data, w, sizeof w);
    data[16] = 1;
    data[17] = 2;
    memcpy(data + 18, &w[3], 4);
    const char *json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                       "\"m\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[16,18]},"
                       "\"f\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18,22]}}";
    char padded[512];
    size_t jl = strlen(json);
    memcpy(padded, json, jl);
    while ((8 + jl) % 8)
        padded[jl++] = ' ';
    padded[jl] = '\0';
    size_t len;
    unsigned char *img = make_st(padded, data, 22, &len);
    char p[512];
    tpath(state, "mapped.safetensors", p, sizeof p);
    write_bytes(p, img, len);
    ls_error err = {0};
    ls_tmap *m;
    if (ls_safetensors_load(p, &m, &err) != LS_OK)
        fail_msg("%s", err.msg);
    const ls_tensor *tw = ls_tmap_get(m, "w"), *tm = ls_tmap_get(m, "m"), *tf = ls_tmap_get(m, "f");
    assert_non_null(tw);
    assert_non_null(tm);
    assert_non_null(tf);
    assert_true(in_file_mapping(tw->data, "/mapped.safetensors"));
    assert_false(in_file_mapping(tf->data, "/mapped.safetensors"));
    assert_memory_equal(tw->data, w, sizeof w);
    assert_float_equal(*(const float *)tf->data, 8.0, 0);
    assert_int_equal(((const unsigned char *)tm->data)[1], 1);
    /* the file itself is unchanged */
    FILE *fp = fopen(p, "rb");
    assert_non_null(fp);
    unsigned char back[512];
    assert_int_equal(fread(back, 1, len, fp), len);
    fclose(fp);
    assert_memory_equal(back, img, len);
    const void *addr = tw->data;
    ls_tmap_free(m); /* unmaps */
    assert_false(in_file_mapping(addr, "/mapped.safetensors"));
    free(img);
}

static void test_st_hostile(void **state)
{
    const int F = LS_ERR_FORMAT;
    ST_EXPECT(state, "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[32,32],"
                     "\"data_offsets\":[0,4096]}}",
              2048, F,
              "bad.safetensors: tensor 'fc.weight': data_offsets [0, 4096] past the end of the "
              "data (2048 bytes)");
    ST_EXPECT(state, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                     "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
              24, F, "tensor 'b'", "overlap tensor 'a' at [0, 16]");
    /* overlap hidden behind an empty tensor and a contained one */
    ST_EXPECT(state, "{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]},"
                     "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                     "\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
              32, F, "tensor 'c'", "overlap tensor 'a'");
    ST_EXPECT(state, "{\"r\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[16,8]}}", 16, F,
              "tensor 'r'", "[16, 8] are reversed");
    ST_EXPECT(state,
              "{\"big\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],"
              "\"data_offsets\":[0,16]}}",
              16, LS_ERR_SHAPE, "bad.safetensors: tensor 'big'", "overflow");
    ST_EXPECT(state,
              "{\"z\":{\"dtype\":\"F32\",\"shape\":[0,4294967296,4294967296,4],"
              "\"data_offsets\":[0,0]}}",
              0, LS_ERR_SHAPE, "tensor 'z'", "overflow");
    ST_EXPECT(state, "{\"n\":{\"dtype\":\"F32\",\"shape\":[-3,2],\"data_offsets\":[0,24]}}", 24,
              F, "tensor 'n'", "shape[0] is -3");
    ST_EXPECT(state, "{\"n\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, F,
              "shape[0] is 2.5");
    ST_EXPECT(state, "{\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, F,
              "tensor 'd'", "unsupported dtype 'F64'");
    ST_EXPECT(state, "{\"d\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, F, "tensor 'd'",
              "missing 'dtype'");
    ST_EXPECT(state, "{\"d\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, F,
              "'dtype' is 7");
    ST_EXPECT(state, "{\"d\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, F,
              "missing 'shape'");
    ST_EXPECT(state, "{\"d\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, F,
              "missing 'data_offsets'");
    ST_EXPECT(state, "{\"d\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, F,
              "data_offsets is [0]");
    ST_EXPECT(state, "{\"d\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":\"x\"}}", 4, F,
              "data_offsets is \"x\"");
    ST_EXPECT(state, "{\"d\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,8]}}", 8, F,
              "hold 8 bytes, expected 24 for F32 shape [2, 3]");
    ST_EXPECT(state, "{\"d\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}",
              4, F, "5 dims, at most 4");
    ST_EXPECT(state, "{\"d\":[1,2]}", 0, F, "tensor 'd': entry is not a JSON object");
    ST_EXPECT(state,
              "{\"d\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"d\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
              8, F, "tensor 'd': appears twice");
    ST_EXPECT(state, "{\"__metadata__\":[1]}", 0, F, "__metadata__ is not a JSON object");
    ST_EXPECT(state, "{\"__metadata__\":{\"seed\":1}}", 0, F, "'seed' is not a string");
    ST_EXPECT(state, "[1,2,3]", 0, F, "header is [1,2,3], expected a JSON object");
    ST_EXPECT(state, "{\"a\": nope}", 0, F, "header is not valid JSON");
    ST_EXPECT(state, "{} {}", 0, F, "unexpected bytes after the JSON object");
    ST_EXPECT(state, "{\"\x1b[2Jevil\":{}}", 0, F, "tensor '?[2Jevil'");

    /* Truncated file and a header length past the end of the file. */
    ls_error err = {0};
    ls_tmap *m;
    EXPECT_ERR(ls_safetensors_parse("\x10\0\0", 3, "t.safetensors", &m, &err), &err, F,
               "t.safetensors: file is 3 bytes, too short");
    unsigned char hdr[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    EXPECT_ERR(ls_safetensors_parse(hdr, 10, "t.safetensors", &m, &err), &err, F,
               "header length 9223372036854775807 runs past the end of the file (10 bytes)");
    char p[512];
    tpath(state, "t.safetensors", p, sizeof p);
    write_bytes(p, hdr, 10);
    EXPECT_ERR(ls_safetensors_load(p, &m, &err), &err, F, "t.safetensors", "runs past the end");
    write_bytes(p, hdr, 5);
    EXPECT_ERR(ls_safetensors_load(p, &m, &err), &err, F, "t.safetensors", "too short");
    EXPECT_ERR(ls_safetensors_load(tpath(state, "none", p, sizeof p), &m, &err), &err, LS_ERR_IO,
               "none", "cannot open");

    /* A real file cut anywhere fails cleanly; damage in the header never
     * crashes. */
    size_t n;
    unsigned char *raw =
        read_bytes(data_path("mha_small/weights.safetensors", p, sizeof p), &n);
    for (size_t cut = 0; cut < n; cut += cut < 600 ? 1 : 997) {
        memset(&err, 0, sizeof err);
        m = NULL;
        int rc = ls_safetensors_parse(raw, cut, "cut", &m, &err);
        assert_int_not_equal(rc, LS_OK);
        assert_null(m);
        assert_true(err.msg[0] != '\0');
    }
    /* Headers cut short but with a consistent length, in exact-size
     * buffers so an over-read shows under ASan. */
    size_t hl = 0;
    for (int k = 7; k >= 0; k--)
        hl = hl << 8 | raw[k];
    for (size_t cut = 0; cut < hl; cut++) {
        unsigned char *img = malloc(8 + cut);
        memcpy(img, raw, 8 + cut);
        for (int k = 0; k < 8; k++)
            img[k] = (unsigned char)(cut >> (8 * k));
        m = NULL;
        int rc = ls_safetensors_parse(img, 8 + cut, "short", &m, &err);
        assert_int_not_equal(rc, LS_OK);
        assert_null(m);
        free(img);
    }
    static const unsigned char junk[] = {0, '"', '[', ']', '{', '}', ',', '-', '9', 'e', 0xff};
    unsigned char *dam = malloc(n);
    for (size_t i = 0; i < 520; i++)
        for (size_t j = 0; j < sizeof junk; j++) {
            memcpy(dam, raw, n);
            dam[i] = junk[j];
            m = NULL;
            if (ls_safetensors_parse(dam, n, "dam", &m, &err) == LS_OK)
                ls_tmap_free(m);
        }
    free(dam);
    free(raw);
}

/* ---- config.json ---- */

static void test_config_golden(void **state)
{
    (void)state;
    ls_error err = {0};
    cJSON *root;
    char p[512];
    if (ls_json_load(data_path("transformer_small/config.json", p, sizeof p), &root, &err) !=
        LS_OK)
        fail_msg("%s", err.msg);
    int64_t v;
    assert_int_equal(ls_json_int(root, "globals.d_model", p, 1, 65536, &v, &err), LS_OK);
    assert_int_equal(v, 32);
    assert_int_equal(ls_json_int(root, "globals.n_heads", p, 1, 1024, &v, &err), LS_OK);
    assert_int_equal(v, 4);
    assert_int_equal(ls_json_int(root, "globals.tgt_vocab.E", p, 0, 100, &v, &err), LS_OK);
    assert_int_equal(v, 7);
    char s[64];
    assert_int_equal(ls_json_str(root, "arch", p, s, sizeof s, &err), LS_OK);
    assert_string_equal(s, "transformer");
    assert_int_equal(ls_json_str(root, "globals.sentences.1.1", p, s, sizeof s, &err), LS_OK);
    assert_string_equal(s, "S i want a coke .");
    assert_null(ls_json_at(root, "globals.sentences.9"));
    assert_null(ls_json_at(root, "globals..d_model"));
    cJSON_Delete(root);

    assert_int_equal(ls_json_load(data_path("mha_small/config.json", p, sizeof p), &root, &err),
                     LS_OK);
    double d;
    bool b;
    assert_int_equal(ls_json_num(root, "kwargs.dropout", p, 0, 1, &d, &err), LS_OK);
    assert_true(d == 0.0);
    assert_int_equal(ls_json_bool(root, "kwargs.batch_first", p, &b, &err), LS_OK);
    assert_true(b);
    /* null means "default" for optional getters */
    assert_int_equal(ls_json_int_opt(root, "kwargs_all.kdim", p, 1, 4096, 32, &v, &err), LS_OK);
    assert_int_equal(v, 32);
    assert_int_equal(ls_json_bool_opt(root, "kwargs.absent", p, true, &b, &err), LS_OK);
    assert_true(b);
    assert_int_equal(ls_json_num_opt(root, "kwargs.absent", p, 0, 1, 0.5, &d, &err), LS_OK);
    assert_true(d == 0.5);
    assert_int_equal(ls_json_str_opt(root, "kwargs.absent", p, "dflt", s, sizeof s, &err),
                     LS_OK);
    assert_string_equal(s, "dflt");
    assert_int_equal(ls_json_int_opt(root, "kwargs.num_heads", p, 1, 64, 1, &v, &err), LS_OK);
    assert_int_equal(v, 4);
    cJSON_Delete(root);
}

static void test_config_errors(void **state)
{
    ls_error err = {0};
    cJSON *root;
    const char *bad = "{\n  \"a\": 1,\n  \"b\": ]\n}";
    root = (cJSON *)1;
    EXPECT_ERR(ls_json_parse(bad, strlen(bad), "config.json", &root, &err), &err, LS_ERR_FORMAT,
               "config.json: JSON syntax error at line 3, column 8", "near ']'");
    assert_null(root);
    const char *bad2 = "{\"a\": 1,\n\"b\": [1, 2,\n";
    EXPECT_ERR(ls_json_parse(bad2, strlen(bad2), "c.json", &root, &err), &err, LS_ERR_FORMAT,
               "c.json: JSON syntax error at line 2");
    EXPECT_ERR(ls_json_parse("", 0, "c.json", &root, &err), &err, LS_ERR_FORMAT,
               "line 1, column 1");
    EXPECT_ERR(ls_json_parse("{} x", 4, "c.json", &root, &err), &err, LS_ERR_FORMAT,
               "unexpected text after the JSON value at line 1, column 4");
    /* a byte order mark is fine */
    assert_int_equal(ls_json_parse("\xef\xbb\xbf{\"k\":1}", 10, "bom.json", &root, &err), LS_OK);
    cJSON_Delete(root);

    char p[512];
    tpath(state, "config.json", p, sizeof p);
    write_bytes(p, bad, strlen(bad));
    EXPECT_ERR(ls_json_load(p, &root, &err), &err, LS_ERR_FORMAT, "config.json: JSON syntax",
               "line 3, column 8");
    EXPECT_ERR(ls_json_load(tpath(state, "nope.json", p, sizeof p), &root, &err), &err,
               LS_ERR_IO, "nope.json");

    const char *good = "{\"globals\": {\"n_heads\": 0, \"d\": 2.5, \"s\": \"abcdef\", "
                       "\"big\": 1e30, \"flag\": 1, \"name\": 3, \"x\": null}}";
    assert_int_equal(ls_json_parse(good, strlen(good), "config.json", &root, &err), LS_OK);
    int64_t v = 99;
    EXPECT_ERR(ls_json_int(root, "globals.n_heads", "config.json", 1, 1024, &v, &err), &err,
               LS_ERR_RANGE,
               "config.json: 'globals.n_heads' must be an integer in [1, 1024], found 0");
    assert_int_equal(v, 99);
    EXPECT_ERR(ls_json_int(root, "globals.missing", "config.json", 1, 2, &v, &err), &err,
               LS_ERR_MISSING, "config.json: missing key 'globals.missing'");
    EXPECT_ERR(ls_json_int(root, "globals.d", "config.json", 0, 10, &v, &err), &err,
               LS_ERR_FORMAT, "'globals.d' must be an integer in [0, 10], found 2.5");
    EXPECT_ERR(ls_json_int(root, "globals.s", "config.json", 0, 10, &v, &err), &err,
               LS_ERR_FORMAT, "found \"abcdef\"");
    EXPECT_ERR(ls_json_int(root, "globals.big", "config.json", 0, INT64_MAX, &v, &err), &err,
               LS_ERR_RANGE, "'globals.big'");
    EXPECT_ERR(ls_json_int(root, "globals.x", "config.json", 0, 10, &v, &err), &err,
               LS_ERR_FORMAT, "found null");
    double d;
    EXPECT_ERR(ls_json_num(root, "globals.d", "config.json", 0, 1, &d, &err), &err,
               LS_ERR_RANGE, "'globals.d' must be a number in [0, 1], found 2.5");
    EXPECT_ERR(ls_json_num_opt(root, "globals.d", "config.json", 0, 1, 0.5, &d, &err), &err,
               LS_ERR_RANGE, "found 2.5");
    bool b;
    EXPECT_ERR(ls_json_bool(root, "globals.flag", "config.json", &b, &err), &err, LS_ERR_FORMAT,
               "'globals.flag' must be true or false, found 1");
    char s[4];
    EXPECT_ERR(ls_json_str(root, "globals.s", "config.json", s, sizeof s, &err), &err,
               LS_ERR_RANGE, "'globals.s' is 6 characters long, at most 3");
    EXPECT_ERR(ls_json_str(root, "globals.name", "config.json", s, sizeof s, &err), &err,
               LS_ERR_FORMAT, "'globals.name' must be a string, found 3");
    EXPECT_ERR(ls_json_str(root, "globals.n_heads.deeper", "config.json", s, sizeof s, &err),
               &err, LS_ERR_MISSING, "missing key 'globals.n_heads.deeper'");
    cJSON_Delete(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_atomic_write_commit_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_file_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_npy_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_npy_noncontiguous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_npy_golden_bytes_and_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_npy_load_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_npy_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_npy_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_st_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_st_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_st_f16_bf16, setup, teardown),
        cmocka_unit_test_setup_teardown(test_st_mapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_st_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
