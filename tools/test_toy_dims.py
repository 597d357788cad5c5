#!/usr/bin/env python3
"""The toy Transformer at other sizes against PyTorch: d_k != d_v, odd
d_model/d_ff, 3 heads, 1 to 6 layers, the article's 512 x 6 x 8 heads,
other seeds (random weights).

    /usr/bin/python3 tools/test_toy_dims.py build/layerstep

For each configuration the plain-torch reference model of
tools/train_toy_transformer.py (the walkthrough's module names) is built
with seeded random weights, written as a layerstep model directory, dumped
by tools/torch_dump.py and by `layerstep dump`, and compared point by point
(`layerstep compare`, float32 tolerances atol 1e-5 + rtol 1e-4 * max|ref|);
every attention's scores_masked against the tensor the reference's own
`scores.masked_fill(attn_mask, -1e9)` returns (the -1e9 cells exactly).
Exits 77 (meson's skip) without python3-torch.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import torch  # noqa: F401
    import numpy  # noqa: F401
except ImportError:
    print("python3-torch not installed: skip")
    sys.exit(77)

import train_toy_transformer as toy  # noqa: E402
from torch_dump import dump  # noqa: E402


def torch_scores_masked(model, inputs):
    """The reference's own `scores.masked_fill(attn_mask, -1e9)` result in
    every attention, by module path: Tensor.masked_fill is wrapped for one
    forward, and a pre-hook on each MultiHeadAttention says whose call it is."""
    paths = {m: p for p, m in model.named_modules() if isinstance(m, toy.MultiHeadAttention)}
    cur, got = [None], {}
    hooks = [m.register_forward_pre_hook(lambda m, _i: cur.__setitem__(0, paths[m]))
             for m in paths]
    orig = torch.Tensor.masked_fill

    def masked_fill(t, mask, value):
        out = orig(t, mask, value)
        if value == -1e9 and cur[0] is not None:
            got[cur[0] + ".scores_masked"] = out.detach().clone()
        return out

    torch.Tensor.masked_fill = masked_fill
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        torch.Tensor.masked_fill = orig
        for h in hooks:
            h.remove()
    return got


def check_scores_masked(ref, ours_dir):
    """ours == torch's masked_fill: the same cells hold exactly -1e9 (as
    float32), the others agree within atol 1e-5 + rtol 1e-4 * max|unmasked|
    (a plain `layerstep compare` would scale its tolerance by the 1e9)."""
    bad = []
    for name, t in sorted(ref.items()):
        path = os.path.join(ours_dir, name + ".npy")
        if not os.path.exists(path):
            bad.append(f"{name}: not in layerstep's dump")
            continue
        o, r = numpy.load(path), t.numpy()
        if o.shape != r.shape:
            bad.append(f"{name}: shape {o.shape} vs torch {r.shape}")
            continue
        fill = numpy.float32(-1e9)
        rm, om = r == fill, o == fill
        if not rm.any() or (rm != om).any():
            bad.append(f"{name}: -1e9 cells differ ({int((rm != om).sum())} of {r.size}; torch has {int(rm.sum())})")
            continue
        tol = 1e-5 + 1e-4 * float(numpy.abs(r[~rm]).max())
        err = float(numpy.abs(o[~rm] - r[~rm]).max())
        if err > tol:
            bad.append(f"{name}: max abs error {err:.3g} > {tol:.3g}")
    return bad

CONFIGS = [
    # d_model, d_ff, heads, d_k, d_v, layers, seed
    (48, 40, 3, 8, 20, 2, 11),
    (30, 17, 2, 5, 9, 1, 12),
    (64, 96, 4, 24, 12, 3, 13),
    (512, 2048, 8, 64, 64, 6, 14),  # the article's size
]


def main():
    if len(sys.argv) != 2:
        print("usage: test_toy_dims.py path/to/layerstep", file=sys.stderr)
        return 2
    exe = os.path.abspath(sys.argv[1])
    torch.set_num_threads(1)
    fails = 0
    for d_model, d_ff, heads, d_k, d_v, layers, seed in CONFIGS:
        g = {"sentences": toy.SENTENCES, "src_vocab": toy.SRC_VOCAB,
             "tgt_vocab": toy.TGT_VOCAB, "src_len": 5, "tgt_len": 6, "d_model": d_model,
             "d_ff": d_ff, "d_k": d_k, "d_v": d_v, "n_layers": layers, "n_heads": heads,
             "src_vocab_size": len(toy.SRC_VOCAB), "tgt_vocab_size": len(toy.TGT_VOCAB)}
        torch.manual_seed(seed)
        model = toy.Transformer(g)
        model.eval()
        what = f"d_model {d_model} d_ff {d_ff} heads {heads} d_k {d_k} d_v {d_v} " \
               f"layers {layers} seed {seed}"
        with tempfile.TemporaryDirectory(prefix="ls_toy_dims.") as tmp:
            mdir, ref, ours = (os.path.join(tmp, n) for n in ("model", "torch", "ours"))
            toy.write_model(mdir, model, g, {"seed": seed, "steps": 0})
            enc, dec, _ = toy.make_data(g["sentences"], g["src_vocab"], g["tgt_vocab"])
            with torch.no_grad():
                pts = dump(model, (enc, dec), ref)
            sm = torch_scores_masked(model, (enc, dec))
            r = subprocess.run([exe, "dump", "--model", mdir, "--inputs",
                                os.path.join(mdir, "inputs"), "--out", ours],
                               capture_output=True, text=True)
            if r.returncode:
                print(f"FAIL {what}: layerstep dump: {r.stderr.strip()}")
                fails += 1
                continue
            r = subprocess.run([exe, "compare", ours, ref], capture_output=True, text=True)
            lines = r.stdout.splitlines()
            passed = sum(1 for ln in lines if ln.endswith(" pass"))
            good = r.returncode == 0 and passed >= 40
            # the head split must really use d_k for q/k and d_v for v
            q = os.path.join(ours, "encoder.layers.0.enc_self_attn.q.npy")
            v = os.path.join(ours, "encoder.layers.0.enc_self_attn.v.npy")
            if os.path.exists(q) and os.path.exists(v):
                qs, vs = numpy.load(q).shape, numpy.load(v).shape
                good &= qs[-1] == d_k and vs[-1] == d_v and qs[1] == heads
            else:
                good = False
            # every attention's scores_masked against torch's masked_fill
            bad = check_scores_masked(sm, ours)
            good &= not bad and len(sm) == 3 * layers
            print(f"{'ok  ' if good else 'FAIL'} {what}: {len(pts)} torch points, "
                  f"{passed} compared pass; {len(sm) - len(bad)} of {len(sm)} scores_masked "
                  f"match torch's masked_fill(-1e9); {lines[-1] if lines else r.stderr.strip()}")
            if not good:
                print("\n".join(ln for ln in lines if not ln.endswith(" pass"))[:3000])
                print("\n".join(bad))
                fails += 1
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
