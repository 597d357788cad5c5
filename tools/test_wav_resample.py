#!/usr/bin/env python3
"""layerstep's WAV conversion against torchaudio, live: the waveform a
speech model receives from a 44.1 kHz stereo WAV and from an 8 kHz mono WAV
(plus 22.05 kHz float32 and 48 kHz stereo), as `layerstep dump --wav`
writes the `waveforms` input point of tests/data/wav2vec2_small, against

    x, sr = torchaudio.load(path)            # [C, N], int16 / 32768
    torchaudio.functional.resample(x.mean(0), sr, 16000)   # defaults

    /usr/bin/python3 tools/test_wav_resample.py build/layerstep

Same length, and max |layerstep - torchaudio| <= 2.5e-5 on clips peaking
near 0.9.  Why not 1e-6: torch's float32 conv1d (which resample runs) is
itself off from the exact sum of its own taps by up to ~1.2e-5; layerstep
sums those taps in double.  Against torchaudio's kernel applied in float64
(its private _apply_sinc_resample_kernel, same taps) the bound is 1e-6, and
that is checked too, when the private function is there.
The clips are made here (stdlib wave), seeded; nothing is committed.
Exits 77 (meson's skip) without python3-torch / python3-torchaudio.
"""
import math
import os
import struct
import subprocess
import sys
import tempfile
import wave

try:
    import numpy as np
    import torch
    import torchaudio
    import torchaudio.functional as F
except ImportError as e:
    print(f"python3-torch / python3-torchaudio not installed ({e}): skip")
    sys.exit(77)
try:
    from torchaudio.functional.functional import (_apply_sinc_resample_kernel,
                                                  _get_sinc_resample_kernel)
except ImportError:
    _get_sinc_resample_kernel = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "tests", "data", "wav2vec2_small")
TOL_TORCH = 2.5e-5
TOL_KERNEL = 1e-6


def clip(rate, channels, seconds, seed):
    """Speech-like: a gliding harmonic tone, bursts of noise, silence at
    the start (the edge padding) and a tone near the new Nyquist; each
    channel different so the mix-down matters."""
    rng = np.random.RandomState(seed)
    n = int(rate * seconds) + 7
    t = np.arange(n) / rate
    out = []
    for c in range(channels):
        f0 = 120 + 40 * c + 60 * np.sin(2 * math.pi * 0.7 * t)
        ph = 2 * math.pi * np.cumsum(f0) / rate
        x = sum(0.25 / k * np.sin(k * ph) for k in range(1, 8))
        x += 0.1 * np.sin(2 * math.pi * min(7700, 0.45 * rate) * t)
        x += 0.15 * rng.standard_normal(n) * (np.sin(2 * math.pi * 3 * t) > 0.6)
        x[: n // 20] = 0
        out.append(np.clip(x, -0.95, 0.95))
    return np.stack(out, axis=1)  # [N, C]


def write_wav(path, x, rate, fmt):
    n, ch = x.shape
    if fmt == "pcm16":
        with wave.open(path, "wb") as w:
            w.setnchannels(ch)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(np.round(x * 32767).astype("<i2").tobytes())
        return
    data = x.astype("<f4").tobytes()  # IEEE float, WAVE_FORMAT 3
    fmt_chunk = struct.pack("<HHIIHH", 3, ch, rate, rate * 4 * ch, 4 * ch, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk
    body += b"data" + struct.pack("<I", len(data)) + data
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: test_wav_resample.py LAYERSTEP")
    exe = sys.argv[1]
    cases = [  # name, rate, channels, format, seconds
        ("st44k.wav", 44100, 2, "pcm16", 1.5),
        ("mono8k.wav", 8000, 1, "pcm16", 1.5),
        ("f22k.wav", 22050, 1, "float", 0.7),
        ("st48k.wav", 48000, 2, "pcm16", 0.7),
    ]
    fails = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, rate, ch, fmt, secs) in enumerate(cases):
            path = os.path.join(tmp, name)
            write_wav(path, clip(rate, ch, secs, 100 + i), rate, fmt)
            out = os.path.join(tmp, name + ".dump")
            r = subprocess.run([exe, "dump", "--model", MODEL, "--wav", path, "--out", out,
                                "--only", "waveforms"], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"FAIL {name}: layerstep dump exit {r.returncode}: {r.stderr.strip()}")
                fails += 1
                continue
            ours = np.load(os.path.join(out, "waveforms.npy"))[0]
            x, sr = torchaudio.load(path)
            assert sr == rate, (sr, rate)
            mono = x.mean(0)
            ref = F.resample(mono, sr, 16000).numpy()
            if ours.shape != ref.shape:
                print(f"FAIL {name}: layerstep gives {ours.shape[0]} samples, "
                      f"torchaudio {ref.shape[0]}")
                fails += 1
                continue
            if not np.isfinite(ours).all():
                print(f"FAIL {name}: non-finite samples")
                fails += 1
                continue
            d = float(np.abs(ours.astype(np.float64) - ref).max())
            msg = f"{name} ({rate} Hz, {ch} ch, {fmt}): {ref.shape[0]} samples, " \
                  f"max |layerstep - torchaudio.resample| {d:.2e} (tol {TOL_TORCH:.1e})"
            bad = d > TOL_TORCH
            if _get_sinc_resample_kernel is not None:
                g = math.gcd(sr, 16000)
                k, width = _get_sinc_resample_kernel(sr, 16000, g, 6, 0.99,
                                                     "sinc_interpolation")
                ref64 = _apply_sinc_resample_kernel(mono.double(), sr, 16000, g, k.double(),
                                                    width).numpy()
                d64 = float(np.abs(ours.astype(np.float64) - ref64).max())
                msg += f", vs its kernel in float64 {d64:.2e} (tol {TOL_KERNEL:.0e})"
                bad = bad or d64 > TOL_KERNEL
            notices = [ln for ln in r.stderr.splitlines() if ln.startswith("layerstep: ")]
            want = (1 if ch > 1 else 0) + 1
            if len(notices) != want:
                msg += f"; {len(notices)} notice lines on stderr, expected {want}"
                bad = True
            print(("FAIL " if bad else "ok   ") + msg)
            fails += bad
    if fails:
        sys.exit(f"{fails} failure(s)")
    print("all passed")


if __name__ == "__main__":
    main()
