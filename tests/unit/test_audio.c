/* Audio front end: WAV reader, FFT, Kaldi fbank, CMVN, model inputs.
 *
 * The fbank is checked against torchaudio.compliance.kaldi.fbank on three
 * clips: the conformer_small fixture (its xs input is that fbank of
 * inputs/fbank_waveform.npy) and two clips in tests/data/fbank whose
 * references tools/make_fbank_refs.py wrote.  Hostile WAV files are built
 * byte by byte here into a temp dir; nothing hostile is committed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layerstep/audio.h"
#include "layerstep/model.h"
#include "layerstep/npy.h"

#include "tmpdir.h"

/* ---- helpers ---- */

typedef struct fx {
    char dir[256];
    ls_arena *a;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f || test_tmpdir_make(f->dir, sizeof f->dir, "audio"))
        return -1;
    f->a = ls_arena_new(1 << 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    test_tmpdir_remove(f->dir);
    ls_arena_free(f->a);
    free(f);
    return 0;
}

static const char *data_path(const char *rel, char *buf, size_t n)
{
    const char *d = getenv("LS_TEST_DATA");
    snprintf(buf, n, "%s/%s", d && *d ? d : "tests/data", rel);
    return buf;
}

static const char *source_path(const char *rel, char *buf, size_t n)
{
    const char *d = getenv("LS_SOURCE_ROOT");
    snprintf(buf, n, "%s/%s", d && *d ? d : ".", rel);
    return buf;
}

/* Checks code and that the one-line message contains every fragment. */
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

/* ---- WAV byte builder ---- */

typedef struct wbuf {
    unsigned char b[8192];
    size_t n;
} wbuf;

static void put(wbuf *w, const void *p, size_t n)
{
    assert_true(w->n + n <= sizeof w->b);
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
static void put16(wbuf *w, unsigned v) { put(w, (unsigned char[]){v & 255, v >> 8 & 255}, 2); }
static void put32(wbuf *w, uint32_t v)
{
    put(w, (unsigned char[]){v & 255, v >> 8 & 255, v >> 16 & 255, v >> 24 & 255}, 4);
}
static void set32(wbuf *w, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w->b[at + i] = (unsigned char)(v >> (8 * i));
}

typedef struct wav_spec {
    unsigned tag, channels, bits;
    uint32_t rate;
    int extensible;      /* wrap tag in WAVE_FORMAT_EXTENSIBLE */
    int list_before;     /* an odd-sized LIST chunk (padded) before data */
    int no_fmt;
    int data_first;
} wav_spec;

static wav_spec spec_pcm16(void) { return (wav_spec){1, 1, 16, 16000, 0, 0, 0, 0}; }

/* RIFF header, fmt chunk (unless no_fmt), optional LIST, data header.
 * Returns the offset of the data chunk's size field. */
static size_t wav_head(wbuf *w, const wav_spec *s, uint32_t data_bytes)
{
    w->n = 0;
    put(w, "RIFF", 4);
    put32(w, 0); /* patched by wav_end */
    put(w, "WAVE", 4);
    size_t data_at = 0;
    if (s->data_first) {
        put(w, "data", 4);
        data_at = w->n;
        put32(w, data_bytes);
    }
    if (!s->no_fmt) {
        put(w, "fmt ", 4);
        unsigned align = s->channels * s->bits / 8;
        put32(w, s->extensible ? 40 : 16);
        put16(w, s->extensible ? 0xFFFE : s->tag);
        put16(w, s->channels);
        put32(w, s->rate);
        put32(w, s->rate * align);
        put16(w, align);
        put16(w, s->bits);
        if (s->extensible) {
            put16(w, 22);
            put16(w, s->bits);
            put32(w, 4); /* front centre */
            put16(w, s->tag);
            put(w, "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71", 14);
        }
    }
    if (s->list_before) {
        put(w, "LIST", 4);
        put32(w, 5);
        put(w, "INFO\x01", 5);
        put(w, "\0", 1); /* pad byte */
    }
    if (!s->data_first) {
        put(w, "data", 4);
        data_at = w->n;
        put32(w, data_bytes);
    }
    return data_at;
}

static void wav_end(wbuf *w) { set32(w, 4, (uint32_t)(w->n - 8)); }

static const char *write_tmp(void **state, const char *name, const wbuf *w, char *buf,
                             size_t n)
{
    snprintf(buf, n, "%s/%s", ((fx *)*state)->dir, name);
    FILE *fp = fopen(buf, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(w->b, 1, w->n, fp), w->n);
    assert_int_equal(fclose(fp), 0);
    return buf;
}

static const int16_t PCM[6] = {0, 1, -1, 32767, -32768, 1000};

/* ---- WAV: good files ---- */

static void test_wav_pcm16(void **state)
{
    fx *f = *state;
    for (int variant = 0; variant < 3; variant++) {
        wav_spec s = spec_pcm16();
        s.extensible = variant == 1;
        s.list_before = variant == 2;
        wbuf w;
        wav_head(&w, &s, sizeof PCM);
        for (int i = 0; i < 6; i++)
            put16(&w, (uint16_t)PCM[i]);
        wav_end(&w);
        char path[512];
        write_tmp(state, "good.wav", &w, path, sizeof path);
        for (int sc = 0; sc < 2; sc++) {
            ls_tensor t;
            ls_wav_info info;
            ls_error err = {0};
            int rc = ls_wav_load(path, sc ? LS_WAV_INT16_SCALE : LS_WAV_NORMALIZED, f->a, &t,
                                 &info, &err);
            if (rc != LS_OK)
                fail_msg("variant %d: %s", variant, err.msg);
            assert_int_equal(t.dtype, LS_F32);
            assert_int_equal(t.ndim, 1);
            assert_int_equal(t.shape[0], 6);
            assert_int_equal(info.format, 1);
            assert_int_equal(info.extensible, variant == 1);
            assert_int_equal(info.sample_rate, 16000);
            assert_int_equal(info.samples, 6);
            const float *x = t.data;
            for (int i = 0; i < 6; i++)
                assert_true(x[i] == (sc ? (float)PCM[i] : (float)PCM[i] / 32768.0f));
        }
    }
}

static void test_wav_float32(void **state)
{
    fx *f = *state;
    const float v[4] = {0.0f, 0.5f, -1.0f, 0.25f};
    for (int ext = 0; ext < 2; ext++) {
        wav_spec s = {3, 1, 32, 16000, ext, 0, 0, 0};
        wbuf w;
        wav_head(&w, &s, sizeof v);
        for (int i = 0; i < 4; i++) {
            uint32_t u;
            memcpy(&u, &v[i], 4);
            put32(&w, u);
        }
        wav_end(&w);
        for (int sc = 0; sc < 2; sc++) {
            ls_tensor t;
            ls_wav_info info;
            ls_error err = {0};
            int rc = ls_wav_parse(w.b, w.n, "f.wav", sc ? LS_WAV_INT16_SCALE : LS_WAV_NORMALIZED,
                                  f->a, &t, &info, &err);
            if (rc != LS_OK)
                fail_msg("%s", err.msg);
            assert_int_equal(info.format, 3);
            assert_int_equal(info.bits, 32);
            const float *x = t.data;
            for (int i = 0; i < 4; i++)
                assert_true(x[i] == (sc ? v[i] * 32768.0f : v[i]));
        }
    }
}

/* The bundled clips are what the Conformer walkthrough and wav2vec2 take. */
static void test_wav_bundled(void **state)
{
    fx *f = *state;
    char p[512];
    ls_tensor t;
    ls_wav_info info;
    ls_error err = {0};
    if (ls_wav_load(source_path("data/speech_3_6s.wav", p, sizeof p), LS_WAV_INT16_SCALE, f->a,
                    &t, &info, &err) != LS_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(t.shape[0], 58320);
    ls_fbank_opts o = ls_fbank_wenet_opts();
    assert_int_equal(ls_fbank_num_frames(t.shape[0], &o), 363);
    ls_tensor fb;
    assert_int_equal(ls_fbank_compute(t.data, t.shape[0], &o, f->a, &fb, &err), LS_OK);
    assert_int_equal(fb.shape[0], 363);
    assert_int_equal(fb.shape[1], 80);
    /* Conv2dSubsampling4: ((363-1)/2 - 1)/2 = 90 frames, the walkthrough's. */
    assert_int_equal(((fb.shape[0] - 1) / 2 - 1) / 2, 90);
    if (ls_wav_load(source_path("data/speech_1s.wav", p, sizeof p), LS_WAV_NORMALIZED, f->a, &t,
                    &info, &err) != LS_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(t.shape[0], 16000);
}

/* ---- WAV: hostile files, each a clear one-line message ---- */

static int load_tmp(void **state, const char *name, const wbuf *w, ls_error *err)
{
    char path[512];
    ls_tensor t;
    write_tmp(state, name, w, path, sizeof path);
    return ls_wav_load(path, LS_WAV_INT16_SCALE, ((fx *)*state)->a, &t, NULL, err);
}

static void test_wav_hostile(void **state)
{
    wbuf w;
    ls_error err;
    wav_spec s;
    int rc;

#define CASE(name, code, ...)                                   \
    do {                                                        \
        memset(&err, 0, sizeof err);                            \
        rc = load_tmp(state, name, &w, &err);                   \
        EXPECT_ERR(rc, &err, code, name ": ", __VA_ARGS__);     \
    } while (0)

    /* stereo */
    s = spec_pcm16();
    s.channels = 2;
    wav_head(&w, &s, 8);
    put(&w, "\0\0\0\0\0\0\0\0", 8);
    wav_end(&w);
    CASE("stereo.wav", LS_ERR_FORMAT, "2 channels, expected mono");

    /* 8 kHz */
    s = spec_pcm16();
    s.rate = 8000;
    wav_head(&w, &s, 4);
    put(&w, "\0\0\0\0", 4);
    wav_end(&w);
    CASE("rate8k.wav", LS_ERR_FORMAT, "sample rate 8000 Hz, expected 16000 Hz");

    /* 24-bit PCM, plain and extensible */
    for (int ext = 0; ext < 2; ext++) {
        s = spec_pcm16();
        s.bits = 24;
        s.extensible = ext;
        wav_head(&w, &s, 6);
        put(&w, "\0\0\0\0\0\0", 6);
        wav_end(&w);
        CASE("pcm24.wav", LS_ERR_FORMAT, "24-bit PCM, expected 16-bit PCM or 32-bit float");
    }

    /* a-law */
    s = spec_pcm16();
    s.tag = 6;
    s.bits = 8;
    wav_head(&w, &s, 2);
    put(&w, "\0\0", 2);
    wav_end(&w);
    CASE("alaw.wav", LS_ERR_FORMAT, "sample format 6 (A-law), expected PCM (1) or IEEE float (3)");

    /* 64-bit float */
    s = (wav_spec){3, 1, 64, 16000, 0, 0, 0, 0};
    wav_head(&w, &s, 8);
    put(&w, "\0\0\0\0\0\0\0\0", 8);
    wav_end(&w);
    CASE("f64.wav", LS_ERR_FORMAT, "64-bit float, expected 32-bit float");

    /* data chunk says 32000 bytes, 10 are there */
    s = spec_pcm16();
    wav_head(&w, &s, 32000);
    put(&w, "\1\0\2\0\3\0\4\0\5\0", 10);
    wav_end(&w);
    CASE("truncated.wav", LS_ERR_FORMAT, "'data' chunk at byte 36 says 32000 bytes",
         "only 10 remain");

    /* a chunk before data whose size runs past the end of the file */
    s = spec_pcm16();
    wav_head(&w, &s, 0);
    w.n -= 8; /* drop the data header: put a bogus chunk there instead */
    put(&w, "junk", 4);
    put32(&w, 0x7fffffff);
    put(&w, "abcd", 4);
    wav_end(&w);
    CASE("pastend.wav", LS_ERR_FORMAT, "'junk' chunk at byte 36 says 2147483647 bytes",
         "only 4 remain");

    /* data size 0xFFFFFFFF (a streaming writer's "unknown"): the samples
     * run to the end of the file, never a 4 GiB allocation */
    s = spec_pcm16();
    wav_head(&w, &s, 0xFFFFFFFFu);
    put(&w, "\0\0\0\0\0", 5); /* 2 samples and a stray byte */
    wav_end(&w);
    {
        char path[512];
        ls_tensor t;
        write_tmp(state, "huge.wav", &w, path, sizeof path);
        memset(&err, 0, sizeof err);
        assert_int_equal(ls_wav_load(path, LS_WAV_INT16_SCALE, ((fx *)*state)->a, &t, NULL, &err),
                         LS_OK);
        assert_int_equal(ls_tensor_numel(&t), 2);
    }

    /* odd data size for 16-bit samples */
    s = spec_pcm16();
    wav_head(&w, &s, 5);
    put(&w, "\0\0\0\0\0\0", 6);
    wav_end(&w);
    CASE("odd.wav", LS_ERR_FORMAT, "'data' chunk is 5 bytes, not a multiple of the 2-byte sample");

    /* no fmt chunk at all / data before fmt */
    s = spec_pcm16();
    s.no_fmt = 1;
    s.list_before = 1;
    wav_head(&w, &s, 4);
    w.n -= 8; /* no data either: just RIFF, LIST */
    wav_end(&w);
    CASE("nofmt.wav", LS_ERR_FORMAT, "no 'fmt ' chunk");
    s = spec_pcm16();
    s.data_first = 1;
    wav_head(&w, &s, 4);
    put(&w, "\0\0\0\0", 4);
    wav_end(&w);
    CASE("datafirst.wav", LS_ERR_FORMAT, "'data' chunk at byte 12 comes before any 'fmt ' chunk");

    /* fmt but no data */
    s = spec_pcm16();
    wav_head(&w, &s, 0);
    w.n -= 8;
    wav_end(&w);
    CASE("nodata.wav", LS_ERR_FORMAT, "no 'data' chunk");

    /* empty data */
    s = spec_pcm16();
    wav_head(&w, &s, 0);
    wav_end(&w);
    CASE("empty.wav", LS_ERR_FORMAT, "'data' chunk holds no samples");

    /* short fmt chunk */
    w.n = 0;
    put(&w, "RIFF\0\0\0\0WAVEfmt \x08\0\0\0", 20);
    put(&w, "\1\0\1\0\x80\x3e\0\0", 8);
    wav_end(&w);
    CASE("shortfmt.wav", LS_ERR_FORMAT, "'fmt ' chunk is 8 bytes, expected at least 16");

    /* not a WAV file, too short, RIFF of another form */
    w.n = 0;
    put(&w, "\x93NUMPY\x01\x00\x76\x00{'descr'", 18);
    CASE("notwav.wav", LS_ERR_FORMAT, "starts with '?NUM', expected 'RIFF'");
    w.n = 0;
    put(&w, "RIFF", 4);
    CASE("short.wav", LS_ERR_FORMAT, "file is 4 bytes, too short for a RIFF/WAVE header");
    w.n = 0;
    put(&w, "RIFF\4\0\0\0AVI ", 12);
    CASE("avi.wav", LS_ERR_FORMAT, "RIFF form type 'AVI ', expected 'WAVE'");

    /* a NaN float sample */
    s = (wav_spec){3, 1, 32, 16000, 0, 0, 0, 0};
    wav_head(&w, &s, 8);
    put32(&w, 0);
    put32(&w, 0x7fc00000u);
    wav_end(&w);
    CASE("nan.wav", LS_ERR_FORMAT, "sample 1 is NaN");
#undef CASE

    /* a missing file is an I/O error naming it */
    memset(&err, 0, sizeof err);
    ls_tensor t;
    rc = ls_wav_load("/nonexistent/clip.wav", LS_WAV_NORMALIZED, ((fx *)*state)->a, &t, NULL,
                     &err);
    EXPECT_ERR(rc, &err, LS_ERR_IO, "/nonexistent/clip.wav");
}

/* Every prefix of a good file fails cleanly (or, past the samples, loads). */
static void test_wav_prefixes(void **state)
{
    fx *f = *state;
    wav_spec s = spec_pcm16();
    s.extensible = 1;
    s.list_before = 1;
    wbuf w;
    wav_head(&w, &s, sizeof PCM);
    for (int i = 0; i < 6; i++)
        put16(&w, (uint16_t)PCM[i]);
    wav_end(&w);
    for (size_t n = 0; n < w.n; n++) {
        ls_tensor t;
        ls_error err = {0};
        int rc = ls_wav_parse(w.b, n, "cut.wav", LS_WAV_NORMALIZED, f->a, &t, NULL, &err);
        assert_int_equal(rc, LS_ERR_FORMAT);
        assert_non_null(strstr(err.msg, "cut.wav: "));
    }
}

/* ---- FFT ---- */

static void test_fft_vs_dft(void **state)
{
    (void)state;
    double x[1024], re[1024], im[1024], rr[513], ri[513];
    uint64_t r = 42;
    for (int n = 2; n <= 1024; n *= 2) {
        for (int i = 0; i < n; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            x[i] = (double)(r >> 11) / 9007199254740992.0 * 2 - 1 + (i % 7 == 0 ? 3.0 : 0.0);
        }
        ls_error err = {0};
        assert_int_equal(ls_fft_real(x, n, re, im, &err), LS_OK);
        ls_dft_real_ref(x, n, rr, ri);
        double scale = 0, maxd = 0;
        for (int i = 0; i < n; i++)
            scale += fabs(x[i]);
        for (int k = 0; k <= n / 2; k++) {
            assert_true(isfinite(re[k]) && isfinite(im[k]));
            maxd = fmax(maxd, fmax(fabs(re[k] - rr[k]), fabs(im[k] - ri[k])));
        }
        if (maxd > 1e-12 * scale)
            fail_msg("n=%d: fft vs dft max diff %g (scale %g)", n, maxd, scale);
    }
    /* A pure cosine lands in one bin with amplitude n/2. */
    for (int i = 0; i < 64; i++)
        x[i] = cos(2 * M_PI * 5 * i / 64);
    assert_int_equal(ls_fft_real(x, 64, re, im, NULL), LS_OK);
    for (int k = 0; k <= 32; k++)
        assert_true(fabs(hypot(re[k], im[k]) - (k == 5 ? 32.0 : 0.0)) < 1e-9);
    ls_error err = {0};
    EXPECT_ERR(ls_fft_real(x, 400, re, im, &err), &err, LS_ERR_ARG, "size 400",
               "power of two");
}

/* ---- fbank vs torchaudio ---- */

static double max_abs_diff(const float *a, const float *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i]))
            return INFINITY;
        m = fmax(m, fabs((double)a[i] - (double)b[i]));
    }
    return m;
}

/* torchaudio's float32 noise reaches ~2e-4 on these clips (see
 * tools/make_fbank_refs.py); against its float64 run we agree to ~1e-5. */
#define FBANK_ATOL 1e-3
#define FBANK64_ATOL 5e-5

static void test_fbank_fixture(void **state)
{
    fx *f = *state;
    char p[512];
    ls_tensor wav, xs, lens;
    ls_error err = {0};
    if (ls_npy_load(data_path("conformer_small/inputs/fbank_waveform.npy", p, sizeof p), f->a,
                    &wav, &err) ||
        ls_npy_load(data_path("conformer_small/inputs/xs.npy", p, sizeof p), f->a, &xs, &err) ||
        ls_npy_load(data_path("conformer_small/inputs/xs_lens.npy", p, sizeof p), f->a, &lens,
                    &err))
        fail_msg("%s", err.msg);
    assert_int_equal(wav.ndim, 2);
    assert_int_equal(xs.shape[2], 80);
    const ls_fbank_opts o = ls_fbank_wenet_opts();
    for (int64_t b = 0; b < wav.shape[0]; b++) {
        const int64_t T = ((const int64_t *)lens.data)[b];
        /* The fixture is float in [-1,1]; WeNet scales by 2^15 first.  Only
         * the samples the T valid frames cover matter. */
        const int64_t n = 400 + 160 * (T - 1);
        float *s = malloc((size_t)n * sizeof *s);
        for (int64_t i = 0; i < n; i++)
            s[i] = ((const float *)wav.data)[b * wav.shape[1] + i] * 32768.0f;
        ls_tensor fb;
        if (ls_fbank_compute(s, n, &o, f->a, &fb, &err) != LS_OK)
            fail_msg("%s", err.msg);
        free(s);
        assert_int_equal(fb.shape[0], T);
        double d = max_abs_diff(fb.data, (const float *)xs.data + b * xs.shape[1] * 80, T * 80);
        printf("fbank fixture row %lld: %lld frames, max abs err %.3g\n", (long long)b,
               (long long)T, d);
        if (!(d <= FBANK_ATOL))
            fail_msg("fixture row %lld: max abs err %g > %g", (long long)b, d, FBANK_ATOL);
    }
}

static void test_fbank_clips(void **state)
{
    fx *f = *state;
    static const char *const clips[] = {"tones_0_75s", "speech_1_5s"};
    for (size_t c = 0; c < sizeof clips / sizeof *clips; c++) {
        char p[512], rel[128];
        ls_tensor wav, ref, fb;
        ls_error err = {0};
        snprintf(rel, sizeof rel, "fbank/%s.wav", clips[c]);
        if (ls_wav_load(data_path(rel, p, sizeof p), LS_WAV_INT16_SCALE, f->a, &wav, NULL, &err))
            fail_msg("%s", err.msg);
        snprintf(rel, sizeof rel, "fbank/%s.fbank.npy", clips[c]);
        if (ls_npy_load(data_path(rel, p, sizeof p), f->a, &ref, &err))
            fail_msg("%s", err.msg);
        const ls_fbank_opts o = ls_fbank_wenet_opts();
        if (ls_fbank_compute(wav.data, wav.shape[0], &o, f->a, &fb, &err) != LS_OK)
            fail_msg("%s", err.msg);
        assert_int_equal(ref.ndim, 2);
        assert_int_equal(fb.shape[0], ref.shape[0]);
        assert_int_equal(fb.shape[1], ref.shape[1]);
        assert_int_equal(fb.shape[0], ls_fbank_num_frames(wav.shape[0], &o));
        double d = max_abs_diff(fb.data, ref.data, ls_tensor_numel(&ref));
        printf("fbank %s: %lld samples, %lld frames, max abs err %.3g\n", clips[c],
               (long long)wav.shape[0], (long long)fb.shape[0], d);
        if (!(d <= FBANK_ATOL))
            fail_msg("%s: max abs err %g > %g", clips[c], d, FBANK_ATOL);
        /* torchaudio in float64 (where its own rounding noise is gone):
         * agreement here is the algorithm, not luck within 1e-3. */
        snprintf(rel, sizeof rel, "fbank/%s.fbank64.npy", clips[c]);
        if (ls_npy_load(data_path(rel, p, sizeof p), f->a, &ref, &err) != LS_OK)
            continue;
        assert_int_equal(ls_tensor_numel(&ref), ls_tensor_numel(&fb));
        d = max_abs_diff(fb.data, ref.data, ls_tensor_numel(&ref));
        printf("fbank %s vs float64 torchaudio: max abs err %.3g\n", clips[c], d);
        if (!(d <= FBANK64_ATOL))
            fail_msg("%s: max abs err %g vs float64 > %g", clips[c], d, FBANK64_ATOL);
    }
}

static void test_fbank_edges(void **state)
{
    fx *f = *state;
    ls_fbank_opts o = ls_fbank_wenet_opts();
    assert_int_equal(ls_fbank_num_frames(399, &o), 0);
    assert_int_equal(ls_fbank_num_frames(400, &o), 1);
    assert_int_equal(ls_fbank_num_frames(559, &o), 1);
    assert_int_equal(ls_fbank_num_frames(560, &o), 2);
    assert_int_equal(ls_fbank_num_frames(58320, &o), 363);

    float z[400] = {0};
    ls_tensor fb;
    ls_error err = {0};
    EXPECT_ERR(ls_fbank_compute(z, 399, &o, f->a, &fb, &err), &err, LS_ERR_RANGE,
               "399 samples", "400 samples");
    /* Silence (and a constant, which the DC removal zeroes) hits the floor. */
    assert_int_equal(ls_fbank_compute(z, 400, &o, f->a, &fb, &err), LS_OK);
    for (int m = 0; m < 80; m++)
        assert_true(((float *)fb.data)[m] == (float)log(FLT_EPSILON));
    for (int i = 0; i < 400; i++)
        z[i] = 1234.0f;
    assert_int_equal(ls_fbank_compute(z, 400, &o, f->a, &fb, &err), LS_OK);
    assert_true(((float *)fb.data)[40] == (float)log(FLT_EPSILON));

    o.num_mel_bins = 2;
    EXPECT_ERR(ls_fbank_compute(z, 400, &o, f->a, &fb, &err), &err, LS_ERR_ARG, "2 mel bins");
    o = ls_fbank_wenet_opts();
    o.low_freq = 9000;
    EXPECT_ERR(ls_fbank_compute(z, 400, &o, f->a, &fb, &err), &err, LS_ERR_ARG, "9000",
               "Nyquist");
}

/* ---- CMVN ---- */

static void test_cmvn(void **state)
{
    fx *f = *state;
    /* Two frames per dim: {1,3}, {10,10}, {-2,4}. */
    const char *js = "{\"mean_stat\": [4, 20, 2], \"var_stat\": [10, 200, 20], "
                     "\"frame_num\": 2}";
    ls_cmvn c;
    ls_error err = {0};
    if (ls_cmvn_parse_json(js, strlen(js), "cmvn.json", f->a, &c, &err) != LS_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(c.mean.shape[0], 3);
    const float *m = c.mean.data, *is = c.istd.data;
    assert_true(m[0] == 2.0f && m[1] == 10.0f && m[2] == 1.0f);
    assert_true(is[0] == 1.0f);
    assert_true(is[1] == (float)(1.0 / sqrt(1e-20))); /* zero variance floors at 1e-20 */
    assert_true(is[2] == (float)(1.0 / 3.0));

    int64_t sh[3] = {1, 2, 3};
    ls_tensor x;
    assert_int_equal(ls_tensor_alloc(f->a, LS_F32, 3, sh, &x, NULL), LS_OK);
    float *px = x.data;
    const float in[6] = {1, 10, -2, 3, 10, 4};
    memcpy(px, in, sizeof in);
    assert_int_equal(ls_cmvn_apply(&c, &x, &err), LS_OK);
    assert_true(px[0] == -1.0f && px[3] == 1.0f && px[1] == 0.0f && px[4] == 0.0f);
    assert_true(fabsf(px[2] + 1.0f) < 1e-6f && fabsf(px[5] - 1.0f) < 1e-6f);

    /* Strided input: transpose of a [3,2] buffer gives the same result. */
    ls_tensor y, yt;
    assert_int_equal(ls_tensor_alloc(f->a, LS_F32, 2, (int64_t[]){3, 2}, &y, NULL), LS_OK);
    const float tin[6] = {1, 3, 10, 10, -2, 4};
    memcpy(y.data, tin, sizeof tin);
    assert_int_equal(ls_tensor_transpose(&y, 0, 1, &yt, NULL), LS_OK);
    assert_int_equal(ls_cmvn_apply(&c, &yt, &err), LS_OK);
    assert_true(((float *)y.data)[0] == -1.0f && ((float *)y.data)[1] == 1.0f);

    ls_tensor bad;
    assert_int_equal(ls_tensor_alloc(f->a, LS_F32, 2, (int64_t[]){2, 4}, &bad, NULL), LS_OK);
    EXPECT_ERR(ls_cmvn_apply(&c, &bad, &err), &err, LS_ERR_SHAPE, "[2, 4]", "[..., 3]");

    /* A file on disk. */
    char p[512];
    snprintf(p, sizeof p, "%s/global_cmvn", f->dir);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(js, fp);
    fclose(fp);
    assert_int_equal(ls_cmvn_load_json(p, f->a, &c, &err), LS_OK);
    assert_true(((float *)c.mean.data)[1] == 10.0f);

#define BAD(text, code, ...)                                                       \
    do {                                                                           \
        memset(&err, 0, sizeof err);                                               \
        int rc_ = ls_cmvn_parse_json(text, strlen(text), "cmvn.json", f->a, &c, &err); \
        EXPECT_ERR(rc_, &err, code, "cmvn.json", __VA_ARGS__);                     \
    } while (0)
    BAD("{\"mean_stat\": [1, 2], \"frame_num\": 2}", LS_ERR_MISSING, "no 'var_stat' key");
    BAD("{\"mean_stat\": [1, 2], \"var_stat\": [1], \"frame_num\": 2}", LS_ERR_SHAPE,
        "'mean_stat' has 2 values but 'var_stat' has 1");
    BAD("{\"mean_stat\": [1, \"x\"], \"var_stat\": [1, 2], \"frame_num\": 2}", LS_ERR_FORMAT,
        "'mean_stat'[1] must be a finite number, found a string");
    BAD("{\"mean_stat\": [], \"var_stat\": [], \"frame_num\": 2}", LS_ERR_FORMAT,
        "'mean_stat' has 0 values");
    BAD("{\"mean_stat\": 3, \"var_stat\": [1], \"frame_num\": 2}", LS_ERR_FORMAT,
        "'mean_stat' must be an array of numbers, found a number");
    BAD("{\"mean_stat\": [1], \"var_stat\": [1], \"frame_num\": 0}", LS_ERR_RANGE,
        "frame_num");
    BAD("{\"mean_stat\": [1], \"var_stat\": [1]}", LS_ERR_MISSING, "frame_num");
    BAD("[1, 2]", LS_ERR_FORMAT, "top level must be an object, found an array");
    BAD("{\"mean_stat\": [1,", LS_ERR_FORMAT, "line 1");
#undef BAD
}

/* ---- model inputs ---- */

static void test_model_inputs(void **state)
{
    fx *f = *state;
    char p[512], wavp[512];
    ls_error err = {0};
    ls_model *m;

    if (ls_model_load(data_path("conformer_small", p, sizeof p), &m, &err) != LS_OK)
        fail_msg("%s", err.msg);
    ls_tmap *in = ls_tmap_new("inputs");
    if (ls_audio_model_inputs(m, source_path("data/speech_3_6s.wav", wavp, sizeof wavp), in,
                              &err) != LS_OK)
        fail_msg("%s", err.msg);
    const ls_tensor *xs = ls_tmap_get(in, "xs"), *xl = ls_tmap_get(in, "xs_lens");
    assert_non_null(xs);
    assert_non_null(xl);
    assert_int_equal(xs->dtype, LS_F32);
    assert_int_equal(xs->ndim, 3);
    assert_int_equal(xs->shape[0], 1);
    assert_int_equal(xs->shape[1], 363);
    assert_int_equal(xs->shape[2], 80);
    assert_int_equal(xl->dtype, LS_I64);
    assert_int_equal(xl->shape[0], 1);
    assert_int_equal(*(const int64_t *)xl->data, 363);
    /* Same numbers as the plain fbank of the int16-scaled samples. */
    ls_tensor wav, fb;
    assert_int_equal(ls_wav_load(wavp, LS_WAV_INT16_SCALE, f->a, &wav, NULL, &err), LS_OK);
    ls_fbank_opts o = ls_fbank_wenet_opts();
    assert_int_equal(ls_fbank_compute(wav.data, wav.shape[0], &o, f->a, &fb, &err), LS_OK);
    assert_true(max_abs_diff(fb.data, xs->data, 363 * 80) == 0.0);
    ls_tmap_free(in);
    /* A WAV the reader refuses keeps its message. */
    in = ls_tmap_new("inputs");
    EXPECT_ERR(ls_audio_model_inputs(m, "/nonexistent/x.wav", in, &err), &err, LS_ERR_IO,
               "/nonexistent/x.wav");
    ls_tmap_free(in);
    ls_model_free(m);

    if (ls_model_load(data_path("wav2vec2_small", p, sizeof p), &m, &err) != LS_OK)
        fail_msg("%s", err.msg);
    in = ls_tmap_new("inputs");
    if (ls_audio_model_inputs(m, source_path("data/speech_1s.wav", wavp, sizeof wavp), in,
                              &err) != LS_OK)
        fail_msg("%s", err.msg);
    const ls_tensor *w = ls_tmap_get(in, "waveforms"), *l = ls_tmap_get(in, "lengths");
    assert_non_null(w);
    assert_non_null(l);
    assert_int_equal(w->ndim, 2);
    assert_int_equal(w->shape[0], 1);
    assert_int_equal(w->shape[1], 16000);
    assert_int_equal(*(const int64_t *)l->data, 16000);
    ls_stats st;
    ls_tensor_stats(w, &st);
    assert_true(st.min >= -1.0 && st.max < 1.0 && st.max > 0.1);
    ls_tmap_free(in);
    ls_model_free(m);

    if (ls_model_load(data_path("transformer_small", p, sizeof p), &m, &err) != LS_OK)
        fail_msg("%s", err.msg);
    in = ls_tmap_new("inputs");
    EXPECT_ERR(ls_audio_model_inputs(m, wavp, in, &err), &err, LS_ERR_ARG,
               "arch 'transformer' takes no audio input");
    assert_int_equal(ls_tmap_count(in), 0);
    ls_tmap_free(in);
    ls_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wav_pcm16, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wav_float32, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wav_bundled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wav_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wav_prefixes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fft_vs_dft, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fbank_fixture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fbank_clips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fbank_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cmvn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_inputs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
