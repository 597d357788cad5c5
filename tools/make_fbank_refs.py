#!/usr/bin/python3
"""Reference log-mel fbanks for tests/unit/test_audio.c.

Computes torchaudio.compliance.kaldi.fbank with the options WeNet's
compute_fbank passes (num_mel_bins=80, frame_length=25, frame_shift=10,
dither=0.0, energy_floor=0.0, sample_frequency=16000) on the WeNet path:
torchaudio.load (int16 -> [-1, 1)) then * 2**15.

  (a) the conformer_small fixture's inputs/fbank_waveform.npy: its xs input
      *is* this fbank (scaled by 2**15, each row cut to its valid length),
      so nothing is written; the script only checks that xs still matches.
  (b) tests/data/fbank/tones_0_75s.wav: written here, a deterministic
      synthetic clip (chirp, harmonics, noise, exact silence, DC stretch).
  (c) tests/data/fbank/speech_1_5s.wav: espeak-ng speech made by
      tools/make_clips.sh.
For every tests/data/fbank/*.wav it writes <stem>.fbank.npy, float32 [T, 80],
torchaudio run in float32 as WeNet runs it.  Its float32 FFT carries
rounding noise of ~1e-7 of a frame's peak energy, so mel bins far below the
peak wobble (printed below as |f32 - f64|; a clip with 60 dB of spectral
range reaches 3e-3).  To pin the algorithm itself down, the synthetic clip
also gets <stem>.fbank64.npy: the same fbank computed in float64 (the mel
bank is float32 in both: torchaudio builds it in the default dtype).

Run with Debian's interpreter (python3-torch, python3-torchaudio):
    /usr/bin/python3 tools/make_fbank_refs.py
"""
import math
import os
import sys
import wave

import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "fbank")
FIXTURE = os.path.join(ROOT, "tests", "data", "conformer_small", "inputs")
F64_CLIPS = {"tones_0_75s.wav"}


def wenet_fbank(wav_1xn):
    """wav_1xn: float tensor [1, N] in [-1, 1), as torchaudio.load gives."""
    return kaldi.fbank(wav_1xn * (1 << 15), num_mel_bins=80, frame_length=25,
                       frame_shift=10, dither=0.0, energy_floor=0.0,
                       sample_frequency=16000)


def tones(n=12077, sr=16000):
    """An odd length (the last partial frame is dropped), a stretch of exact
    zeros longer than a frame (log floors at FLT_EPSILON), a constant stretch
    (zero after DC removal) and a chirp across the whole mel range."""
    t = np.arange(n) / sr
    f0, f1 = 60.0, 7900.0
    phase = 2 * math.pi * (f0 * t + (f1 - f0) * t * t / (2 * t[-1]))
    x = 0.3 * np.sin(phase) + 0.15 * np.sin(2 * math.pi * 150 * t) \
        + 0.1 * np.sin(2 * math.pi * 440 * t) + 0.05 * np.sin(2 * math.pi * 3000 * t + 0.3)
    # Deterministic noise without numpy's generator versions in the way.
    state, noise = 12345, np.empty(n)
    for i in range(n):
        state = (1103515245 * state + 12345) % (1 << 31)
        noise[i] = state / (1 << 31) - 0.5
    x += 0.08 * noise
    q = np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
    q[4000:4600] = 0
    q[8000:8600] = 1234
    return q


def write_wav(path, q):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(q.astype("<i2").tobytes())


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)

    # (a) fixture
    wav = np.load(os.path.join(FIXTURE, "fbank_waveform.npy"))
    xs = np.load(os.path.join(FIXTURE, "xs.npy"))
    lens = np.load(os.path.join(FIXTURE, "xs_lens.npy"))
    for b in range(wav.shape[0]):
        # The padded tail may hold up to 159 more valid samples; the fixture
        # used the unpadded length, which is the last nonzero sample + 1.
        n = int(np.nonzero(wav[b])[0].max()) + 1
        assert 1 + (n - 400) // 160 == lens[b], (n, lens[b], valid)
        f = wenet_fbank(torch.from_numpy(wav[b:b + 1, :n])).numpy()
        d = np.abs(f - xs[b, :f.shape[0]]).max()
        print(f"fixture row {b}: {n} samples, {f.shape[0]} frames, max |torchaudio - xs| = {d:.3g}")
        if d > 1e-4:
            sys.exit("fixture xs no longer matches torchaudio's fbank")

    # (b) synthetic clip
    write_wav(os.path.join(OUT, "tones_0_75s.wav"), tones())

    # (b), (c): every clip in the folder
    for name in sorted(os.listdir(OUT)):
        if not name.endswith(".wav"):
            continue
        path = os.path.join(OUT, name)
        w, sr = torchaudio.load(path)
        assert sr == 16000 and w.shape[0] == 1, (path, sr, w.shape)
        f = wenet_fbank(w).numpy().astype(np.float32)
        f64 = wenet_fbank(w.double()).numpy()
        ref = os.path.join(OUT, name[:-4] + ".fbank.npy")
        np.save(ref, f)
        print(f"{os.path.relpath(ref, ROOT)}: {w.shape[1]} samples -> {list(f.shape)}, "
              f"min {f.min():.3f} max {f.max():.3f}, |f32 - f64| {np.abs(f - f64).max():.3g}")
        if name in F64_CLIPS:
            np.save(os.path.join(OUT, name[:-4] + ".fbank64.npy"), f64.astype(np.float32))


if __name__ == "__main__":
    main()
