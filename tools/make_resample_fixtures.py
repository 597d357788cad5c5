#!/usr/bin/python3
"""Reference resampler outputs for tests/unit/test_resample.c.

For each rate a WAV may have that the C test covers (the common ones, 8,
11.025, 16, 22.05, 44.1 and 48 kHz, the accepted range's ends, 4 and
192 kHz, and 12345 Hz, whose gcd with 16000 is only 5) it writes

  tests/data/resample/x_<rate>.npy  float32 [n]: a synthetic clip, n chosen
      so the output has about 300 samples and n is not a multiple of the
      reduced rate (the output length rounds up);
  tests/data/resample/y_<rate>.npy  float32 [m]:
      torchaudio.functional.resample(x, rate, 16000) with its defaults
      (lowpass_filter_width=6, rolloff=0.99, Hann-windowed sinc);
  tests/data/resample/y64_<rate>.npy  float32 [m]: the same kernel (torchaudio
      builds it in float64 and rounds it to float32) applied by torchaudio's
      own _apply_sinc_resample_kernel to the clip in float64.

Why two: torch's float32 conv1d (Debian's torch 1.13 here) is off from the
exact sum of its own taps by up to ~1.2e-5 on these clips (printed below),
while numpy's float32 dot of the same taps is off by ~2e-7.  layerstep sums
in double, so y64 pins the kernel, the padding and the length down to
float rounding (1e-6), and y shows how close it comes to what torchaudio
users actually get (2.5e-5).

The clip is deterministic: two tones inside the 16 kHz band, one just under
the new Nyquist (7.8 kHz, kept by the 0.99 roll-off) and, where the rate
allows, one at 0.45 of the old rate (above 8 kHz from 22.05 kHz up: the
filter must take it out), a step (the filter's ringing), a few exact zeros
at the start (the edge padding) and seeded noise.  About 30 KB in all.

Run with Debian's interpreter (python3-torch, python3-torchaudio):
    /usr/bin/python3 tools/make_resample_fixtures.py
"""
import math
import os
import sys

import numpy as np
import torch
import torchaudio.functional as F
from torchaudio.functional.functional import (_apply_sinc_resample_kernel,
                                              _get_sinc_resample_kernel)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "resample")
NEW = 16000
RATES = [4000, 8000, 11025, 12345, 16000, 22050, 44100, 48000, 192000]


def clip(rate):
    g = math.gcd(rate, NEW)
    n = math.ceil(300 * rate / NEW)
    if n % (rate // g) == 0:
        n += 1
    t = np.arange(n) / rate
    x = 0.4 * np.sin(2 * math.pi * 440 * t) + 0.2 * np.sin(2 * math.pi * 7800 * t + 0.3)
    if 0.45 * rate > NEW / 2:
        x += 0.2 * np.sin(2 * math.pi * 0.45 * rate * t)
    x[n // 2:] += 0.25
    x[:5] = 0
    x += 0.03 * np.random.RandomState(rate).standard_normal(n)
    return x.astype(np.float32)


def save(path, arr):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        np.save(f, arr)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    os.makedirs(OUT, exist_ok=True)
    for rate in RATES:
        x = clip(rate)
        y = F.resample(torch.from_numpy(x), rate, NEW).numpy().astype(np.float32)
        y64 = y
        if rate != NEW:
            g = math.gcd(rate, NEW)
            kernel, width = _get_sinc_resample_kernel(rate, NEW, g, 6, 0.99,
                                                      "sinc_interpolation")
            y64 = _apply_sinc_resample_kernel(torch.from_numpy(x.astype(np.float64)), rate,
                                              NEW, g, kernel.double(), width).numpy()
        want = math.ceil((NEW // math.gcd(rate, NEW)) * len(x) / (rate // math.gcd(rate, NEW)))
        if len(y) != want:
            sys.exit(f"{rate} Hz: torchaudio gave {len(y)} samples, expected {want}")
        save(os.path.join(OUT, f"x_{rate}.npy"), x)
        save(os.path.join(OUT, f"y_{rate}.npy"), y)
        save(os.path.join(OUT, f"y64_{rate}.npy"), y64.astype(np.float32))
        print(f"{rate:6d} Hz: {len(x)} -> {len(y)} samples, "
              f"|float32 - float64 sums| {np.abs(y - y64).max():.2e}")


if __name__ == "__main__":
    main()
