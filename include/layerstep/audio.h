/* audio.h - WAV files in, model inputs out: a checked WAV reader, a
 * Kaldi-compatible log-mel filterbank, global CMVN.
 *
 *   ls_tensor wav, feats;                                  // both in arena a
 *   ls_wav_load("clip.wav", LS_WAV_INT16_SCALE, a, &wav, NULL, &err);  // [N]
 *   ls_fbank_opts o = ls_fbank_wenet_opts();               // 80 bins, 25/10 ms
 *   ls_fbank_compute(wav.data, wav.shape[0], &o, a, &feats, &err); // [T, 80]
 *   ls_audio_model_inputs(model, "clip.wav", inputs, &err);  // xs/xs_lens or waveforms/lengths
 *
 * Who wants which sample scale:
 *   - LS_WAV_NORMALIZED: int16 / 32768, in [-1, 1).  What torchaudio.load
 *     returns; wav2vec2 is trained on it.
 *   - LS_WAV_INT16_SCALE: the int16 values themselves, as float.  WeNet
 *     multiplies torchaudio.load's output by 2^15 before kaldi.fbank, so the
 *     Conformer's fbank (and its global_cmvn statistics) live on this scale.
 * float32 WAV files are taken as torchaudio takes them (already normalised);
 * LS_WAV_INT16_SCALE multiplies them by 32768.
 *
 * Everything returned lives in the caller's arena; nothing here needs a
 * free of its own.
 */
#ifndef LAYERSTEP_AUDIO_H
#define LAYERSTEP_AUDIO_H

#include <stdint.h>

#include "layerstep/model.h"
#include "layerstep/tensor.h"
#include "layerstep/tmap.h"

/* ---- WAV ---- */

#define LS_WAV_RATE 16000
/* Rates a WAV may have; anything else is more likely a damaged header than
 * a recording.  Other rates are resampled to LS_WAV_RATE. */
#define LS_WAV_RATE_MIN 4000
#define LS_WAV_RATE_MAX 192000

typedef enum ls_wav_scale {
    LS_WAV_NORMALIZED = 0,  /* [-1, 1): torchaudio.load, wav2vec2 */
    LS_WAV_INT16_SCALE      /* [-32768, 32768): WeNet / Kaldi fbank */
} ls_wav_scale;

/* What the header said, for messages and `info` output.  channels and
 * sample_rate are the file's: the samples returned are mono at LS_WAV_RATE
 * whatever they say, so a front end can tell the user what was converted. */
typedef struct ls_wav_info {
    int format;          /* 1 = PCM, 3 = IEEE float (after unwrapping EXTENSIBLE) */
    int extensible;      /* 1 when the fmt chunk was WAVE_FORMAT_EXTENSIBLE */
    int channels;        /* in the file; > 1 was mixed down to their mean */
    int bits;            /* 16 for PCM, 32 for float */
    int sample_rate;     /* in the file; != LS_WAV_RATE was resampled */
    int64_t samples;     /* returned, at LS_WAV_RATE */
} ls_wav_info;

/* Accepts RIFF/WAVE, PCM 16-bit or float32, plain or WAVE_FORMAT_EXTENSIBLE,
 * any channel count (mixed down to their mean, as x.mean(0) of
 * torchaudio.load's [C, N]) and any rate LS_WAV_RATE_MIN..LS_WAV_RATE_MAX
 * (then resampled to LS_WAV_RATE as torchaudio.functional.resample does).
 * Anything else is one error line naming the file and what was found vs
 * expected.  out is a 1-D float32 [N] tensor in a; info may be NULL.  Files
 * are read whole (at most 1 GiB). */
int ls_wav_load(const char *path, ls_wav_scale scale, ls_arena *a, ls_tensor *out,
                ls_wav_info *info, ls_error *err);
/* The same from bytes in memory (fuzzing, tests); name is used in messages. */
int ls_wav_parse(const void *buf, size_t len, const char *name, ls_wav_scale scale,
                 ls_arena *a, ls_tensor *out, ls_wav_info *info, ls_error *err);

/* ---- resampling (torchaudio.functional.resample with its defaults) ----
 *
 * Band-limited: a Hann-windowed sinc (lowpass_filter_width 6, rolloff 0.99)
 * on the gcd-reduced rates, the very kernel torchaudio builds, so the
 * output matches it to float rounding (~1e-6 on [-1, 1] signals; the tests
 * hold it to 2e-6).  y has ls_resample_len(n, from, to) values:
 * ceil(to' * n / from') with to'/from' the reduced ratio.  Samples past
 * either end count as zero, as torchaudio's padding does.
 *
 *   float *y = malloc(ls_resample_len(n, 44100, 16000) * sizeof *y);
 *   ls_resample(x, n, 44100, 16000, y, &err);
 */
#define LS_RESAMPLE_RATE_MAX 1000000

/* -1 when a rate is outside 1..LS_RESAMPLE_RATE_MAX. */
int64_t ls_resample_len(int64_t n, int from, int to);
/* The fast path: a per-phase table of the nonzero taps (at most a few MB
 * for rates up to 192 kHz), then multiply-adds.  LS_ERR_ARG for a rate out
 * of range, LS_ERR_NOMEM if the table cannot be had.  from == to copies. */
int ls_resample(const float *x, int64_t n, int from, int to, float *y, ls_error *err);
/* The reference it is tested against: every tap of torchaudio's kernel
 * recomputed for every output sample.  Slow (seconds per second of
 * 44.1 kHz audio); tests only.  Rates must be in range. */
void ls_resample_ref(const float *x, int64_t n, int from, int to, float *y);

/* ---- log-mel filterbank (torchaudio.compliance.kaldi.fbank) ----
 *
 * Fixed, as in torchaudio's defaults: dither 0, povey window, DC offset
 * removed per frame, FFT size rounded up to a power of two, snip_edges,
 * power spectrum, natural log floored at FLT_EPSILON, no energy column
 * (so energy_floor, which only touches that column, has no effect). */
typedef struct ls_fbank_opts {
    int num_mel_bins;        /* 80 */
    double sample_rate;      /* 16000 */
    double frame_length_ms;  /* 25 */
    double frame_shift_ms;   /* 10 */
    double preemphasis;      /* 0.97 */
    double low_freq;         /* 20 Hz */
    double high_freq;        /* 0: Nyquist; < 0: offset from Nyquist */
} ls_fbank_opts;

/* What WeNet's compute_fbank passes (num_mel_bins 80, 25/10 ms, dither 0,
 * energy_floor 0) over torchaudio's defaults. */
ls_fbank_opts ls_fbank_wenet_opts(void);

/* Frames for n samples under snip_edges: 1 + (n - len) / shift, 0 when
 * n < len (58320 samples -> 363 frames with the defaults). */
int64_t ls_fbank_num_frames(int64_t n, const ls_fbank_opts *o);

/* samples: n values on the scale the model expects (WeNet: int16 scale).
 * out: float32 [T, num_mel_bins] in a.  Fewer samples than one frame is
 * LS_ERR_RANGE. */
int ls_fbank_compute(const float *samples, int64_t n, const ls_fbank_opts *o, ls_arena *a,
                     ls_tensor *out, ls_error *err);

/* Radix-2 FFT of a real sequence x[n] (n a power of two, 2..65536).
 * re and im must hold n values (the transform runs in them); bins
 * 0..n/2 are the result.  ls_dft_real_ref is the O(n^2) sum it is tested
 * against (any n >= 1; re/im need only n/2 + 1 values). */
int ls_fft_real(const double *x, int n, double *re, double *im, ls_error *err);
void ls_dft_real_ref(const double *x, int n, double *re, double *im);

/* ---- global CMVN ---- */

typedef struct ls_cmvn {
    ls_tensor mean;  /* float32 [D] */
    ls_tensor istd;  /* float32 [D] */
} ls_cmvn;

/* WeNet's global_cmvn JSON: {"mean_stat": [D], "var_stat": [D],
 * "frame_num": N}.  mean = mean_stat/N, var = var_stat/N - mean^2 floored
 * at 1e-20, istd = 1/sqrt(var), all in double as WeNet's Python does, then
 * stored as float32 as its GlobalCMVN buffers are. */
int ls_cmvn_load_json(const char *path, ls_arena *a, ls_cmvn *out, ls_error *err);
int ls_cmvn_parse_json(const char *text, size_t len, const char *name, ls_arena *a,
                       ls_cmvn *out, ls_error *err);
/* In place: x[..., d] = (x[..., d] - mean[d]) * istd[d]; x is float32 with
 * last dim D (any strides). */
int ls_cmvn_apply(const ls_cmvn *c, ls_tensor *x, ls_error *err);

/* ---- model inputs from a WAV ----
 * arch "conformer": xs float32 [1,T,F] = fbank of the int16-scaled samples
 *   (F = encoder_conf.input_size, 80 by default) and xs_lens int64 [1] = T;
 *   no CMVN here, the graph's global_cmvn applies it.
 * arch "wav2vec2": waveforms float32 [1,N] normalised to [-1,1) and
 *   lengths int64 [1] = N.
 * Other archs are LS_ERR_ARG.  The tensors are copied into `inputs`. */
int ls_audio_model_inputs(const ls_model *m, const char *wav_path, ls_tmap *inputs,
                          ls_error *err);
/* The same, also filling info (may be NULL) with what the file held, so a
 * front end can say what was mixed down or resampled. */
int ls_audio_model_inputs_info(const ls_model *m, const char *wav_path, ls_tmap *inputs,
                               ls_wav_info *info, ls_error *err);

#endif
