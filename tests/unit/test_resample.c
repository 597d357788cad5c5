/* Resampling and channel mix-down (audio.h, resample.c, wav.c).
 *
 * The resampler against torchaudio.functional.resample's defaults on the
 * clips tools/make_resample_fixtures.py wrote (tests/data/resample, every
 * rate a WAV commonly has, the accepted range's ends and an awkward gcd), to
 * TOL_TORCH; the fast path against the reference loop on other rate pairs
 * (up, down, coprime) to TOL_REF; and WAV files at other rates / with more
 * channels coming out mono at 16 kHz.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/audio.h"
#include "layerstep/npy.h"

/* Two references per clip (see tools/make_resample_fixtures.py):
 *  - y64: torchaudio's float32 kernel applied by its own code in float64.
 *    We sum the same taps in double; left is rounding the result to
 *    float32, ~1e-7 measured.  TOL_KERNEL pins the kernel, the phases, the
 *    padding and the length: a wrong one shows as 1e-3 or more.
 *  - y: torchaudio.functional.resample itself, float32.  Its conv1d is off
 *    from the exact sum of its taps by up to 1.2e-5 (torch 1.13, 12345 Hz);
 *    TOL_TORCH bounds what a torchaudio user sees against us. */
#define TOL_KERNEL_ATOL 1e-6
#define TOL_KERNEL_RTOL 1e-6
#define TOL_TORCH_ATOL 2.5e-5
#define TOL_TORCH_RTOL 1e-6
/* The two paths share the taps and the summation order: equal in practice;
 * the bound leaves room for a compiler contracting the multiply-add. */
#define TOL_REF 1e-6

static const int RATES[] = {4000, 8000, 11025, 12345, 16000, 22050, 44100, 48000, 192000};

static const char *data_path(const char *rel, char *buf, size_t n)
{
    const char *d = getenv("LS_TEST_DATA");
    snprintf(buf, n, "%s/%s", d && *d ? d : "tests/data", rel);
    return buf;
}

/* Max |a - b| - rtol*|b| over n values, after checking both are finite;
 * fails the test with the index on NaN/Inf. */
static double excess(const float *a, const float *b, int64_t n, double rtol, double *maxd)
{
    double worst = -INFINITY;
    *maxd = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i]))
            fail_msg("sample %lld is not finite: %g vs %g", (long long)i, a[i], b[i]);
        double d = fabs((double)a[i] - b[i]);
        if (d > *maxd)
            *maxd = d;
        if (d - rtol * fabs(b[i]) > worst)
            worst = d - rtol * fabs(b[i]);
    }
    return worst;
}

static void test_vs_torchaudio(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(1 << 20);
    for (size_t r = 0; r < sizeof RATES / sizeof *RATES; r++) {
        char p[512], name[64];
        ls_tensor x, y, y64;
        ls_error err = {0};
        snprintf(name, sizeof name, "resample/x_%d.npy", RATES[r]);
        if (ls_npy_load(data_path(name, p, sizeof p), a, &x, &err))
            fail_msg("%s", err.msg);
        snprintf(name, sizeof name, "resample/y_%d.npy", RATES[r]);
        if (ls_npy_load(data_path(name, p, sizeof p), a, &y, &err))
            fail_msg("%s", err.msg);
        snprintf(name, sizeof name, "resample/y64_%d.npy", RATES[r]);
        if (ls_npy_load(data_path(name, p, sizeof p), a, &y64, &err))
            fail_msg("%s", err.msg);
        assert_int_equal(y64.shape[0], y.shape[0]);
        const int64_t n = x.shape[0], m = ls_resample_len(n, RATES[r], 16000);
        if (m != y.shape[0])
            fail_msg("%d Hz: %lld samples in, %lld out, torchaudio gave %lld", RATES[r],
                     (long long)n, (long long)m, (long long)y.shape[0]);
        float *fast = malloc((size_t)m * sizeof *fast), *ref = malloc((size_t)m * sizeof *ref);
        assert_non_null(fast);
        assert_non_null(ref);
        if (ls_resample(x.data, n, RATES[r], 16000, fast, &err))
            fail_msg("%d Hz: %s", RATES[r], err.msg);
        ls_resample_ref(x.data, n, RATES[r], 16000, ref);
        double d_fast, d_ref, d64_fast, d64_ref;
        double e_fast = excess(fast, y.data, m, TOL_TORCH_RTOL, &d_fast);
        double e_ref = excess(ref, y.data, m, TOL_TORCH_RTOL, &d_ref);
        double e64_fast = excess(fast, y64.data, m, TOL_KERNEL_RTOL, &d64_fast);
        double e64_ref = excess(ref, y64.data, m, TOL_KERNEL_RTOL, &d64_ref);
        print_message("  %6d Hz -> 16000 Hz: %4lld -> %lld samples, max |fast - torchaudio| "
                      "%.2e (float64 sum %.2e), |ref - torchaudio| %.2e (%.2e)\n",
                      RATES[r], (long long)n, (long long)m, d_fast, d64_fast, d_ref, d64_ref);
        if (e64_fast > TOL_KERNEL_ATOL || e64_ref > TOL_KERNEL_ATOL)
            fail_msg("%d Hz: max difference from torchaudio's kernel summed in float64 %.3e "
                     "(fast) / %.3e (ref), tolerance %.0e + %.0e*|ref|",
                     RATES[r], d64_fast, d64_ref, TOL_KERNEL_ATOL, TOL_KERNEL_RTOL);
        if (e_fast > TOL_TORCH_ATOL || e_ref > TOL_TORCH_ATOL)
            fail_msg("%d Hz: max difference from torchaudio %.3e (fast) / %.3e (ref), "
                     "tolerance %.0e + %.0e*|ref|",
                     RATES[r], d_fast, d_ref, TOL_TORCH_ATOL, TOL_TORCH_RTOL);
        free(fast);
        free(ref);
    }
    ls_arena_free(a);
}

/* Pairs the fixtures do not cover: upsampling, coprime rates whose
 * torchaudio kernel would be gigabytes, tiny and odd lengths. */
static void test_fast_vs_ref(void **state)
{
    (void)state;
    static const struct { int from, to; int64_t n; } P[] = {
        {16000, 44100, 97},  {16000, 8000, 333}, {44101, 16000, 150}, {7, 3, 50},
        {3, 7, 31},          {8000, 16000, 1},   {48000, 16000, 2},   {22050, 16000, 999},
        {16000, 16000, 10},  {191999, 16000, 400},
    };
    uint64_t s = 7;
    for (size_t t = 0; t < sizeof P / sizeof *P; t++) {
        const int64_t n = P[t].n, m = ls_resample_len(n, P[t].from, P[t].to);
        assert_true(m >= 1);
        float *x = malloc((size_t)n * sizeof *x), *fast = malloc((size_t)m * sizeof *fast),
              *ref = malloc((size_t)m * sizeof *ref);
        assert_non_null(x);
        assert_non_null(fast);
        assert_non_null(ref);
        for (int64_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            x[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2 - 1);
        }
        ls_error err = {0};
        if (ls_resample(x, n, P[t].from, P[t].to, fast, &err))
            fail_msg("%s", err.msg);
        ls_resample_ref(x, n, P[t].from, P[t].to, ref);
        double d, e = excess(fast, ref, m, 0, &d);
        if (e > TOL_REF)
            fail_msg("%d -> %d Hz, %lld samples: fast and reference differ by %.3e", P[t].from,
                     P[t].to, (long long)n, d);
        free(x);
        free(fast);
        free(ref);
    }
}

/* The output length and the band: a tone below the new Nyquist survives
 * at its amplitude, one above it (aliasing if left) is gone. */
static void test_lengths_and_band(void **state)
{
    (void)state;
    assert_int_equal(ls_resample_len(44100, 44100, 16000), 16000);
    assert_int_equal(ls_resample_len(827, 44100, 16000), 301); /* ceil(160*827/441) */
    assert_int_equal(ls_resample_len(1, 48000, 16000), 1);
    assert_int_equal(ls_resample_len(0, 48000, 16000), 0);
    assert_int_equal(ls_resample_len(10, 0, 16000), -1);
    assert_int_equal(ls_resample_len(10, 16000, LS_RESAMPLE_RATE_MAX + 1), -1);
    ls_error err = {0};
    float dummy = 0;
    assert_int_equal(ls_resample(&dummy, 1, -5, 16000, &dummy, &err), LS_ERR_ARG);
    assert_non_null(strstr(err.msg, "-5 Hz"));

    const int64_t n = 44100 / 2, m = ls_resample_len(n, 44100, 16000);
    float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)m * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (int f = 0; f < 2; f++) {
        const double hz = f ? 12000 : 1000;
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)(0.5 * sin(2 * M_PI * hz * (double)i / 44100));
        assert_int_equal(ls_resample(x, n, 44100, 16000, y, &err), LS_OK);
        double peak = 0; /* away from the edges */
        for (int64_t i = 100; i < m - 100; i++)
            peak = fmax(peak, fabs(y[i]));
        if (f == 0 && fabs(peak - 0.5) > 0.005)
            fail_msg("1 kHz tone: peak %.4f after resampling, expected 0.5", peak);
        if (f == 1 && peak > 0.005)
            fail_msg("12 kHz tone: peak %.4f after resampling to 16 kHz, expected ~0", peak);
    }
    free(x);
    free(y);
}

/* ---- WAV files at other rates and channel counts ---- */

/* A PCM16 WAV of n frames of ch channels in buf; returns its length. */
static size_t make_wav(unsigned char *buf, unsigned rate, unsigned ch, const int16_t *pcm,
                       size_t n)
{
    const unsigned align = 2 * ch;
    const uint32_t data = (uint32_t)(n * align);
    unsigned char *p = buf;
#define P32(v) (p[0] = (v) & 255, p[1] = (v) >> 8 & 255, p[2] = (v) >> 16 & 255, p[3] = (v) >> 24 & 255, p += 4)
#define P16(v) (p[0] = (v) & 255, p[1] = (v) >> 8 & 255, p += 2)
    memcpy(p, "RIFF", 4), p += 4;
    P32(36 + data);
    memcpy(p, "WAVEfmt ", 8), p += 8;
    P32(16u);
    P16(1u);
    P16(ch);
    P32(rate);
    P32(rate * align);
    P16(align);
    P16(16u);
    memcpy(p, "data", 4), p += 4;
    P32(data);
    for (size_t i = 0; i < n * ch; i++)
        P16((uint16_t)pcm[i]);
#undef P32
#undef P16
    return (size_t)(p - buf);
}

static void test_wav_mixdown_and_rate(void **state)
{
    (void)state;
    ls_arena *a = ls_arena_new(1 << 20);
    enum { N = 300 };
    static int16_t pcm[N * 3];
    static unsigned char buf[44 + sizeof pcm];
    /* three channels: mean is exact in float */
    for (int i = 0; i < N; i++) {
        pcm[3 * i] = (int16_t)(i * 97 % 2000 - 1000);
        pcm[3 * i + 1] = (int16_t)(-i * 31 % 3000);
        pcm[3 * i + 2] = (int16_t)(i % 2 ? 3000 : -3000);
    }
    ls_tensor t;
    ls_wav_info info;
    ls_error err = {0};
    size_t len = make_wav(buf, 16000, 3, pcm, N);
    for (int sc = 0; sc < 2; sc++) {
        if (ls_wav_parse(buf, len, "three.wav", sc ? LS_WAV_INT16_SCALE : LS_WAV_NORMALIZED, a,
                         &t, &info, &err))
            fail_msg("%s", err.msg);
        assert_int_equal(info.channels, 3);
        assert_int_equal(info.sample_rate, 16000);
        assert_int_equal(t.shape[0], N);
        const float *x = t.data;
        for (int i = 0; i < N; i++) {
            double want = ((double)pcm[3 * i] + pcm[3 * i + 1] + pcm[3 * i + 2]) / 3;
            want = (float)want * (sc ? 1.0f : 1.0f / 32768.0f);
            if (fabs(x[i] - want) > 1e-6 * fabs(want) + 1e-9)
                fail_msg("frame %d: %g, expected the mean %g", i, x[i], want);
        }
    }

    /* stereo 44.1 kHz: the mono mix resampled, i.e. ls_resample of the mean */
    len = make_wav(buf, 44100, 2, pcm, N);
    if (ls_wav_parse(buf, len, "st.wav", LS_WAV_NORMALIZED, a, &t, &info, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(info.channels, 2);
    assert_int_equal(info.sample_rate, 44100);
    const int64_t m = ls_resample_len(N, 44100, 16000);
    assert_int_equal(t.shape[0], m);
    assert_int_equal(info.samples, m);
    float mono[N], want[N];
    for (int i = 0; i < N; i++)
        mono[i] = (float)(((double)pcm[2 * i] + pcm[2 * i + 1]) / 2) / 32768.0f;
    assert_int_equal(ls_resample(mono, N, 44100, 16000, want, &err), LS_OK);
    double d;
    if (excess(t.data, want, m, 0, &d) > 0)
        fail_msg("st.wav: differs from resampling the channel mean by %.3e", d);

    /* the range's ends load; one Hz beyond either is one line naming the file */
    for (int r = 0; r < 4; r++) {
        static const unsigned R[4] = {LS_WAV_RATE_MIN, LS_WAV_RATE_MAX, LS_WAV_RATE_MIN - 1,
                                      LS_WAV_RATE_MAX + 1};
        len = make_wav(buf, R[r], 1, pcm, N);
        memset(&err, 0, sizeof err);
        int rc = ls_wav_parse(buf, len, "odd.wav", LS_WAV_NORMALIZED, a, &t, &info, &err);
        if (r < 2) {
            if (rc != LS_OK)
                fail_msg("%u Hz refused: %s", R[r], err.msg);
            assert_int_equal(t.shape[0], ls_resample_len(N, (int)R[r], 16000));
        } else {
            assert_int_equal(rc, LS_ERR_FORMAT);
            char want_msg[128];
            snprintf(want_msg, sizeof want_msg,
                     "odd.wav: sample rate %u Hz, expected 4000 to 192000 Hz", R[r]);
            if (!strstr(err.msg, want_msg) || strchr(err.msg, '\n'))
                fail_msg("message: %s", err.msg);
        }
    }

    /* 2^26 + 1 frames at 4 kHz would be 2^28 + 4 samples at 16 kHz: refused
     * before anything is allocated (calloc'd pages never touched) */
    const size_t frames = ((size_t)1 << 26) + 1;
    unsigned char *big = calloc(44 + 2 * frames, 1);
    assert_non_null(big);
    make_wav(big, 4000, 1, pcm, 0);
    const uint32_t bytes = (uint32_t)(2 * frames);
    memcpy(big + 40, (unsigned char[]){bytes & 255, bytes >> 8 & 255, bytes >> 16 & 255,
                                       bytes >> 24 & 255}, 4);
    memset(&err, 0, sizeof err);
    assert_int_equal(ls_wav_parse(big, 44 + 2 * frames, "long.wav", LS_WAV_NORMALIZED, a, &t,
                                  &info, &err),
                     LS_ERR_LIMIT);
    if (!strstr(err.msg, "long.wav: 268435460 samples at 16000 Hz, more than 268435456"))
        fail_msg("message: %s", err.msg);
    free(big);
    ls_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vs_torchaudio),
        cmocka_unit_test(test_fast_vs_ref),
        cmocka_unit_test(test_lengths_and_band),
        cmocka_unit_test(test_wav_mixdown_and_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
