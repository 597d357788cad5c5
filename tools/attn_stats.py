#!/usr/bin/python3
"""How peaked is each layer's attention?  Mean row entropy and mean row max.

    /usr/bin/python3 tools/attn_stats.py MODEL_DIR WAV [MODEL_DIR WAV ...]

Runs `layerstep dump --only '*.attn'` (the softmax output of every
attention, [B, H, Tq, Tk]) and prints, per attention point, the mean over
heads and query rows of the row entropy (nats; a flat row over Tk keys has
log Tk) and of the row's largest weight (flat: 1/Tk).  A Markdown table,
for the README.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXE = os.environ.get("LAYERSTEP", os.path.join(ROOT, "build", "layerstep"))


def stats(model, wav):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "dump")
        subprocess.run([EXE, "dump", "--model", model, "--wav", wav, "--out", out,
                        "--only", "*.attn"], check=True, capture_output=True)
        with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
            man = json.load(f)
        names = [p["name"] for p in man["points"]] if isinstance(man, dict) else \
            [p["name"] for p in man]
        rows = []
        for n in names:
            a = np.load(os.path.join(out, n + ".npy")).astype(np.float64)
            a = a.reshape(-1, a.shape[-1])
            ent = -(np.where(a > 0, a * np.log(np.where(a > 0, a, 1)), 0)).sum(-1)
            rows.append((n, a.shape[-1], ent.mean(), a.max(-1).mean()))
        return rows


def main():
    args = sys.argv[1:]
    if not args or len(args) % 2:
        raise SystemExit(__doc__)
    print("| model | point | keys | mean row entropy (flat) | mean row max (flat) |")
    print("| --- | --- | --- | --- | --- |")
    for model, wav in zip(args[::2], args[1::2]):
        for n, tk, ent, mx in stats(model, wav):
            print(f"| {os.path.basename(model.rstrip('/'))} | `{n}` | {tk} | "
                  f"{ent:.2f} ({np.log(tk):.2f}) | {mx:.3f} ({1 / tk:.4f}) |")


if __name__ == "__main__":
    main()
