/* resample.c - band-limited resampling, the kernel of
 * torchaudio.functional.resample(x, from, to) with its defaults
 * (lowpass_filter_width 6, rolloff 0.99, Hann window), so that a 44.1 kHz
 * clip reaches the models as torchaudio would hand it to them.
 *
 * With the rates reduced by their gcd (44100 -> 16000 is 441 -> 160), output
 * sample o = j*to + k (block j, phase k) is
 *
 *   y[o] = sum_m  w(k, m) * x[j*from + m - width],   m = 0 .. 2*width + from - 1
 *
 *   w(k, m) = float( sinc(pi*t) * cos^2(pi*t/12) * base/from ),
 *   t = clamp((m - width)/from - k/to, +-6/base) * base,
 *   base = 0.99 * min(from, to),  width = ceil(6 * from / base)
 *
 * i.e. a sinc low-passed at 0.99 of the lower Nyquist, cut after 6 zero
 * crossings each side.  x outside [0, n) is zero (torchaudio pads), and the
 * output stops at ceil(to * n / from).
 *
 * torchaudio convolves with all 2*width + from taps; past |t| = 6 every one
 * is exactly 0 in float32 (the clamped window is cos(pi/2)^2 ~ 4e-33), so
 * the fast path keeps, per phase, only the ~12*from/base + 3 taps that can be
 * nonzero: 36 for 44.1 kHz instead of 475.  Sums run in double in both
 * paths, over the taps in the same order, so they agree bit for bit; against
 * torchaudio (float32 sums in its conv1d) the difference is float rounding.
 */
#include "layerstep/audio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOWPASS_WIDTH 6
#define ROLLOFF 0.99
/* 64 MB of taps; rates up to 192 kHz to 16 kHz need under 10 MB. */
#define TABLE_MAX ((int64_t)1 << 24)

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* The reduced ratio and the filter's constants, as torchaudio derives them. */
typedef struct plan {
    int from, to;     /* reduced by their gcd */
    double base;      /* 0.99 * min(from, to) */
    int64_t width;    /* taps each side beyond one block */
} plan;

static plan make_plan(int from, int to)
{
    int64_t g = gcd64(from, to);
    plan p = {(int)(from / g), (int)(to / g), 0, 0};
    p.base = (p.from < p.to ? p.from : p.to) * ROLLOFF;
    p.width = (int64_t)ceil(LOWPASS_WIDTH * (double)p.from / p.base);
    return p;
}

/* w(k, m), with torchaudio's operations in its order and precision: the
 * phase offset k/to is a float32 division (torch.arange(...) / new_freq),
 * the rest float64, the result rounded to float32. */
static float tap(const plan *p, int k, int64_t m)
{
    double t = (double)((float)-k / (float)p->to) + (double)(m - p->width) / p->from;
    t *= p->base;
    if (t < -LOWPASS_WIDTH)
        t = -LOWPASS_WIDTH;
    if (t > LOWPASS_WIDTH)
        t = LOWPASS_WIDTH;
    double win = cos(t * M_PI / LOWPASS_WIDTH / 2);
    win *= win;
    t *= M_PI;
    double s = t == 0 ? 1.0 : sin(t) / t;
    return (float)(s * (win * (p->base / p->from)));
}

int64_t ls_resample_len(int64_t n, int from, int to)
{
    if (from < 1 || to < 1 || from > LS_RESAMPLE_RATE_MAX || to > LS_RESAMPLE_RATE_MAX || n < 0)
        return -1;
    plan p = make_plan(from, to);
    /* n <= 2^62 / 10^6 in any file we can hold, so this cannot overflow. */
    return ((int64_t)p.to * n + p.from - 1) / p.from;
}

void ls_resample_ref(const float *x, int64_t n, int from, int to, float *y)
{
    // x is (n,), y is (ceil(to' * n / from'),)
    plan p = make_plan(from, to);
    const int64_t out = ls_resample_len(n, from, to), taps = 2 * p.width + p.from;
    if (from == to) {
        memcpy(y, x, (size_t)n * sizeof *x);
        return;
    }
    for (int64_t o = 0; o < out; o++) {
        const int64_t j = o / p.to;
        const int k = (int)(o % p.to);
        double acc = 0;
        for (int64_t m = 0; m < taps; m++) {
            const int64_t i = j * p.from + m - p.width;
            if (i >= 0 && i < n)
                acc += (double)tap(&p, k, m) * x[i];
        }
        y[o] = (float)acc;
    }
}

int ls_resample(const float *x, int64_t n, int from, int to, float *y, ls_error *err)
{
    const int64_t out = ls_resample_len(n, from, to);
    if (out < 0)
        return ls_error_set(err, LS_ERR_ARG, "resample %d Hz to %d Hz: rates must be 1..%d Hz",
                            from, to, LS_RESAMPLE_RATE_MAX);
    if (from == to) {
        memcpy(y, x, (size_t)n * sizeof *x);
        return LS_OK;
    }
    const plan p = make_plan(from, to);
    const int64_t taps = 2 * p.width + p.from;
    /* Phase k's nonzero taps have |(m - width)/from - k/to| < 6/base; one
     * tap of margin each side absorbs rounding (extra taps are 0 or tiny,
     * and the reference sums them too). */
    const double reach = LOWPASS_WIDTH * (double)p.from / p.base;
    const int64_t span = (int64_t)ceil(2 * reach) + 6;
    if ((int64_t)p.to * span > TABLE_MAX)
        return ls_error_set(err, LS_ERR_LIMIT,
                            "resample %d Hz to %d Hz: the filter needs %lld taps, more than %lld",
                            from, to, (long long)p.to * span, (long long)TABLE_MAX);
    float *w = malloc((size_t)(p.to * span) * sizeof *w);
    int64_t *lo = malloc((size_t)p.to * sizeof *lo), *cnt = malloc((size_t)p.to * sizeof *cnt);
    if (!w || !lo || !cnt) {
        free(w);
        free(lo);
        free(cnt);
        return ls_error_set(err, LS_ERR_NOMEM, "resample %d Hz to %d Hz: out of memory", from,
                            to);
    }
    for (int k = 0; k < p.to; k++) {
        const double centre = p.width + (double)p.from * k / p.to;
        int64_t a = (int64_t)floor(centre - reach) - 1, b = (int64_t)ceil(centre + reach) + 1;
        a = a < 0 ? 0 : a;
        b = b > taps - 1 ? taps - 1 : b;
        lo[k] = a;
        cnt[k] = b >= a ? b - a + 1 : 0;
        for (int64_t c = 0; c < cnt[k]; c++)
            w[k * span + c] = tap(&p, k, a + c);
    }
    for (int64_t o = 0; o < out; o++) {
        const int64_t j = o / p.to;
        const int k = (int)(o % p.to);
        const int64_t i0 = j * p.from + lo[k] - p.width;
        /* only the taps that land inside x */
        int64_t c0 = i0 < 0 ? -i0 : 0, c1 = n - i0 < cnt[k] ? n - i0 : cnt[k];
        const float *wk = w + k * span;
        double acc = 0;
        for (int64_t c = c0; c < c1; c++)
            acc += (double)wk[c] * x[i0 + c];
        y[o] = (float)acc;
    }
    free(w);
    free(lo);
    free(cnt);
    return LS_OK;
}
