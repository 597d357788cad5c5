/* fbank.c - log-mel filterbank, step for step as
 * torchaudio.compliance.kaldi.fbank (torchaudio 0.13) computes it.
 *
 * Per frame of len = 400 samples, every shift = 160 samples (snip_edges:
 * only frames that fit whole, so T = 1 + (n - len) / shift):
 *
 *   x -= mean(x)                           remove_dc_offset
 *   x[j] -= 0.97 * x[max(j-1, 0)]          preemphasis (x[0] against itself)
 *   x *= (0.5 - 0.5 cos(2 pi j/(len-1)))^0.85      povey window
 *   zero-pad to 512, |rfft|^2              bins 0..256
 *   mel[m] = sum_k W[m,k] power[k]         k < 256: bin 256 has weight 0
 *   out = ln(max(mel, FLT_EPSILON))
 *
 * W[m,k] is a triangle on the mel scale 1127 ln(1 + f/700): 80 triangles
 * whose edges split [mel(20 Hz), mel(8000 Hz)] into 81 equal steps,
 * W = max(0, min(up, down)) with up/down the rising/falling slopes at
 * mel(k * 16000/512), built in float32 exactly as torchaudio builds it.
 * The signal path runs in double: torchaudio's float32 FFT and matmul
 * carry rounding noise of ~1e-7 of a frame's peak energy, which shows up
 * as up to ~1e-3 in the log of mel bins 50-60 dB below the peak.  Against
 * torchaudio run in float64 we agree to ~1e-5.
 */
#include "layerstep/audio.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FFT_MAX 65536
#define MEL_BINS_MAX 1024

ls_fbank_opts ls_fbank_wenet_opts(void)
{
    return (ls_fbank_opts){
        .num_mel_bins = 80,
        .sample_rate = 16000.0,
        .frame_length_ms = 25.0,
        .frame_shift_ms = 10.0,
        .preemphasis = 0.97,
        .low_freq = 20.0,
        .high_freq = 0.0,
    };
}

/* Same expression order as torchaudio (sr * ms * 0.001, then int()), so a
 * length that is not exact in binary rounds the same way. */
static int64_t ms_to_samples(double sr, double ms) { return (int64_t)(sr * ms * 0.001); }

static int64_t next_pow2(int64_t x)
{
    int64_t p = 1;
    while (p < x)
        p <<= 1;
    return p;
}

int64_t ls_fbank_num_frames(int64_t n, const ls_fbank_opts *o)
{
    const int64_t len = ms_to_samples(o->sample_rate, o->frame_length_ms);
    const int64_t shift = ms_to_samples(o->sample_rate, o->frame_shift_ms);
    if (len < 1 || shift < 1 || n < len)
        return 0;
    return 1 + (n - len) / shift;
}

static double mel_scale(double f) { return 1127.0 * log(1.0 + f / 700.0); }

/* Radix-2 decimation in time, in place on (re, im)[n]. */
static void fft_complex(double *re, double *im, int n)
{
    for (int i = 1, j = 0; i < n; i++) {
        int bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j |= bit;
        if (i < j) {
            double t = re[i]; re[i] = re[j]; re[j] = t;
            t = im[i]; im[i] = im[j]; im[j] = t;
        }
    }
    for (int half = 1; half < n; half <<= 1) {
        const double step = -M_PI / half;
        for (int j = 0; j < half; j++) {
            /* Twiddles from cos/sin directly, not by recurrence, so the
             * error does not grow with n. */
            const double wr = cos(step * j), wi = sin(step * j);
            for (int i = j; i < n; i += 2 * half) {
                const int k = i + half;
                const double tr = wr * re[k] - wi * im[k];
                const double ti = wr * im[k] + wi * re[k];
                re[k] = re[i] - tr;
                im[k] = im[i] - ti;
                re[i] += tr;
                im[i] += ti;
            }
        }
    }
}

int ls_fft_real(const double *x, int n, double *re, double *im, ls_error *err)
{
    if (n < 2 || n > FFT_MAX || (n & (n - 1)) != 0)
        return ls_error_set(err, LS_ERR_ARG, "fft: size %d, expected a power of two in [2, %d]",
                            n, FFT_MAX);
    /* re/im hold n values: the full complex transform runs in them and
     * bins above n/2 (the mirror image) are left as scratch. */
    memcpy(re, x, (size_t)n * sizeof *re);
    memset(im, 0, (size_t)n * sizeof *im);
    fft_complex(re, im, n);
    return LS_OK;
}

void ls_dft_real_ref(const double *x, int n, double *re, double *im)
{
    // X[k] = sum_j x[j] e^{-2 pi i jk/n}, k = 0..n/2
    for (int k = 0; k <= n / 2; k++) {
        double sr = 0, si = 0;
        for (int j = 0; j < n; j++) {
            /* jk mod n keeps the angle small, so sin/cos stay exact to
             * ~1 ulp however large n is. */
            const double ang = -2.0 * M_PI * (double)(((long long)j * k) % n) / n;
            sr += x[j] * cos(ang);
            si += x[j] * sin(ang);
        }
        re[k] = sr;
        im[k] = si;
    }
}

static int check_opts(const ls_fbank_opts *o, int64_t *len, int64_t *shift, int64_t *nfft,
                      double *high, ls_error *err)
{
    if (!(o->sample_rate > 0 && o->sample_rate <= 1e6))
        return ls_error_set(err, LS_ERR_ARG, "fbank: sample rate %g Hz, expected (0, 1e6]",
                            o->sample_rate);
    if (o->num_mel_bins <= 3 || o->num_mel_bins > MEL_BINS_MAX)
        return ls_error_set(err, LS_ERR_ARG, "fbank: %d mel bins, expected 4..%d",
                            o->num_mel_bins, MEL_BINS_MAX);
    if (!(o->frame_length_ms > 0 && o->frame_shift_ms > 0))
        return ls_error_set(err, LS_ERR_ARG,
                            "fbank: frame length %g ms and shift %g ms must be positive",
                            o->frame_length_ms, o->frame_shift_ms);
    *len = ms_to_samples(o->sample_rate, o->frame_length_ms);
    *shift = ms_to_samples(o->sample_rate, o->frame_shift_ms);
    if (*len < 2 || *len > FFT_MAX || *shift < 1)
        return ls_error_set(err, LS_ERR_ARG,
                            "fbank: frame of %lld samples every %lld, expected 2..%d every >= 1",
                            (long long)*len, (long long)*shift, FFT_MAX);
    *nfft = next_pow2(*len);
    if (!(o->preemphasis >= 0 && o->preemphasis <= 1))
        return ls_error_set(err, LS_ERR_ARG, "fbank: preemphasis %g, expected [0, 1]",
                            o->preemphasis);
    const double nyq = 0.5 * o->sample_rate;
    *high = o->high_freq <= 0 ? o->high_freq + nyq : o->high_freq;
    if (!(o->low_freq >= 0 && o->low_freq < nyq && *high > 0 && *high <= nyq &&
          o->low_freq < *high))
        return ls_error_set(err, LS_ERR_ARG,
                            "fbank: mel range %g..%g Hz, expected 0 <= low < high <= %g (Nyquist)",
                            o->low_freq, *high, nyq);
    return LS_OK;
}

// W is (num_mel_bins, nfft/2): bin nfft/2 (Nyquist) never contributes.
// first/last[m] bound the nonzero run of row m so the product skips zeros.
//
// torchaudio builds W in float32 tensors (only mel(low), mel(high) and the
// step are Python doubles), and the narrow low-frequency triangles are
// differences of nearby mel values, so float32 rounding moves their weights
// by ~1e-5 relative.  We repeat its float32 operations one by one to land
// on the same weights; a double W differs from torchaudio by ~1e-4 in the
// log domain.  (x86-64 and arm64 evaluate float in float: FLT_EVAL_METHOD 0.)
static void mel_banks(const ls_fbank_opts *o, int nfft, double high, double *W, int *first,
                      int *last)
{
    const int M = o->num_mel_bins, K = nfft / 2;
    const double mlo = mel_scale(o->low_freq), mhi = mel_scale(high);
    const float delta = (float)((mhi - mlo) / (M + 1)), flo = (float)mlo;
    const float bin_hz = (float)(o->sample_rate / nfft);
    for (int m = 0; m < M; m++) {
        const float left = (float)m * delta + flo;
        const float center = ((float)m + 1.0f) * delta + flo;
        const float right = ((float)m + 2.0f) * delta + flo;
        first[m] = K;
        last[m] = -1;
        for (int k = 0; k < K; k++) {
            const float mel = 1127.0f * logf(1.0f + (bin_hz * (float)k) / 700.0f);
            const float up = (mel - left) / (center - left);
            const float down = (right - mel) / (right - center);
            const float w = fmaxf(0.0f, fminf(up, down));
            W[(size_t)m * K + k] = w;
            if (w > 0) {
                if (first[m] == K)
                    first[m] = k;
                last[m] = k;
            }
        }
    }
}

int ls_fbank_compute(const float *samples, int64_t n, const ls_fbank_opts *o, ls_arena *a,
                     ls_tensor *out, ls_error *err)
{
    int64_t len = 0, shift = 0, nfft64 = 0;
    double high = 0;
    memset(out, 0, sizeof *out);
    int rc = check_opts(o, &len, &shift, &nfft64, &high, err);
    if (rc != LS_OK)
        return rc;
    if (n < len)
        return ls_error_set(err, LS_ERR_RANGE,
                            "fbank: %lld samples, fewer than one %g ms frame (%lld samples)",
                            (long long)n, o->frame_length_ms, (long long)len);
    const int nfft = (int)nfft64, M = o->num_mel_bins, K = nfft / 2, L = (int)len;
    const int64_t T = 1 + (n - len) / shift;
    if ((rc = ls_tensor_alloc(a, LS_F32, 2, (int64_t[]){T, M}, out, err)) != LS_OK)
        return rc;

    // scratch: window[L], frame[nfft], re[nfft], im[nfft], power[K+1], W[M*K]
    const size_t nd = (size_t)L + 3 * (size_t)nfft + (size_t)K + 1 + (size_t)M * K;
    double *buf = malloc(nd * sizeof *buf);
    int *range = malloc(2 * (size_t)M * sizeof *range);
    if (!buf || !range) {
        free(buf);
        free(range);
        return ls_error_set(err, LS_ERR_NOMEM, "fbank: out of memory for %d-point scratch",
                            nfft);
    }
    double *win = buf, *frame = win + L, *re = frame + nfft, *im = re + nfft,
           *power = im + nfft, *W = power + K + 1;
    int *first = range, *last = range + M;
    for (int j = 0; j < L; j++)
        win[j] = pow(0.5 - 0.5 * cos(2.0 * M_PI * j / (L - 1)), 0.85);
    mel_banks(o, nfft, high, W, first, last);

    float *y = out->data;
    for (int64_t t = 0; t < T; t++) {
        const float *s = samples + t * shift;
        double mean = 0;
        for (int j = 0; j < L; j++)
            mean += s[j];
        mean /= L;
        // Backwards so x[j-1] is still the un-emphasised value.
        for (int j = 0; j < L; j++)
            frame[j] = s[j] - mean;
        for (int j = L - 1; j > 0; j--)
            frame[j] -= o->preemphasis * frame[j - 1];
        frame[0] -= o->preemphasis * frame[0];
        for (int j = 0; j < L; j++)
            frame[j] *= win[j];
        for (int j = L; j < nfft; j++)
            frame[j] = 0;
        ls_fft_real(frame, nfft, re, im, NULL);
        for (int k = 0; k <= K; k++)
            power[k] = re[k] * re[k] + im[k] * im[k];
        for (int m = 0; m < M; m++) {
            double e = 0;
            for (int k = first[m]; k <= last[m]; k++)
                e += W[(size_t)m * K + k] * power[k];
            y[t * M + m] = (float)log(fmax(e, (double)FLT_EPSILON));
        }
    }
    free(buf);
    free(range);
    return LS_OK;
}
