#!/usr/bin/python3
"""Writes tests/data/ctc_hello: a Conformer-CTC whose weights are set by
hand so that `layerstep transcribe` spells "hello world" from a WAV of
tones, and that WAV.  A test of the CTC path end to end (fbank, encoder,
ctc.ctc_lo, log_softmax, greedy decoding, units.txt), not a trained model.

    /usr/bin/python3 tools/make_ctc_hello.py [OUT_DIR]

How it spells:
  - the model: input_layer "linear" (LinearNoSubsampling), no encoder
    blocks, D = V = 10, so output = LN(LN(x W^T + b) * sqrt(D)) and
    ctc.ctc_lo is the identity.  LayerNorm (weight 1, bias 0) and the
    scale keep the order of a frame's values, so the best unit of a frame
    is the largest of x W^T + b.
  - unit k (1..8) reads one mel bin, 8k+4, of the log-mel fbank; the blank
    (unit 0) is a constant 0 (its bias); <sos/eos> (9) is -100, never best.
  - the WAV: for each letter a 60 ms tone at the centre frequency of its
    mel bin (Kaldi's mel scale, 80 bins over 20..8000 Hz), then 40 ms of
    digital silence, whose log-mel is log(FLT_EPSILON) = -15.9 < 0 in every
    bin, so silent frames are blank and a doubled letter stays doubled.
Deterministic: no randomness; rerunning writes the same bytes.
"""
import json
import math
import os
import sys
import wave

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402

UNITS = ["<blank>", "\u2581", "d", "e", "h", "l", "o", "r", "w", "<sos/eos>"]
TEXT = "hello world"
RATE, BINS, LOW, HIGH = 16000, 80, 20.0, 8000.0


def mel(f):
    return 1127.0 * math.log(1.0 + f / 700.0)


def bin_centre_hz(b):
    lo, hi = mel(LOW), mel(HIGH)
    m = lo + (b + 1) * (hi - lo) / (BINS + 1)
    return 700.0 * (math.exp(m / 1127.0) - 1.0)


def unit_bin(k):
    return 8 * k + 4


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data", "ctc_hello")
    os.makedirs(out, exist_ok=True)
    V = D = len(UNITS)
    w = np.zeros((D, BINS), np.float32)
    b = np.zeros(D, np.float32)
    for k in range(1, 9):
        w[k, unit_bin(k)] = 1.0
    b[9] = -100.0
    tensors = {
        "embed.out.0.weight": w, "embed.out.0.bias": b,
        "embed.out.1.weight": np.ones(D, np.float32), "embed.out.1.bias": np.zeros(D, np.float32),
        "after_norm.weight": np.ones(D, np.float32), "after_norm.bias": np.zeros(D, np.float32),
        "ctc.ctc_lo.weight": np.eye(V, D, dtype=np.float32),
        "ctc.ctc_lo.bias": np.zeros(V, np.float32),
    }
    safetensors_np.write(os.path.join(out, "weights.safetensors"), tensors)
    cfg = {
        "arch": "conformer",
        "name": "ctc_hello",
        "note": "hand-set weights from tools/make_ctc_hello.py: spells 'hello world' from hello.wav",
        "encoder_conf": {"input_size": BINS, "output_size": D, "attention_heads": 1,
                         "linear_units": 4, "num_blocks": 0, "input_layer": "linear"},
        "output_dim": V,
        "ctc_blank": 0,
    }
    data = (json.dumps(cfg, indent=1) + "\n").encode()
    safetensors_np.write_bytes_atomic(os.path.join(out, "config.json"), data)
    units = "".join(f"{u} {i}\n" for i, u in enumerate(UNITS)).encode()
    safetensors_np.write_bytes_atomic(os.path.join(out, "units.txt"), units)

    tone, gap = int(0.06 * RATE), int(0.04 * RATE)
    parts = [np.zeros(gap)]
    t = np.arange(tone) / RATE
    for ch in TEXT:
        k = UNITS.index("\u2581" if ch == " " else ch)
        parts.append(8000.0 * np.sin(2 * math.pi * bin_centre_hz(unit_bin(k)) * t))
        parts.append(np.zeros(gap))
    pcm = np.round(np.concatenate(parts)).astype("<i2")
    tmp = os.path.join(out, "hello.wav.tmp")
    with wave.open(tmp, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(RATE)
        f.writeframes(pcm.tobytes())
    os.replace(tmp, os.path.join(out, "hello.wav"))
    print(f"wrote {out}: config.json, weights.safetensors, units.txt, hello.wav "
          f"({len(pcm)} samples)")


if __name__ == "__main__":
    main()
