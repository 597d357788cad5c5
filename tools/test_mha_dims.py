#!/usr/bin/env python3
"""nn.MultiheadAttention at other sizes against PyTorch: 3 to 12 heads, head
dims 1 to 20, bias on and off, batches of 1 to 4, Tq != Tk, key padding,
causal and random boolean attn_masks, self- and cross-attention; and the
switches layerstep does not build (add_bias_kv, add_zero_attn, kdim/vdim !=
embed_dim) are refused, not ignored.

    /usr/bin/python3 tools/test_mha_dims.py build/layerstep

For each configuration torch.nn.MultiheadAttention(batch_first=True) is
built with seeded random weights (biases made random too), written as a
layerstep model directory with one case per mask kind (config.json "cases",
inputs <case>.x or <case>.query/key/value plus <case>.key_padding_mask /
<case>.attn_mask, like tests/data/mha_small), and each case's output,
per-head weights (need_weights=True, average_attn_weights=False) and
scores_masked (what torch's softmax is given: its baddbmm with the -inf
float mask) are compared with `layerstep compare` (atol 1e-5 + rtol 1e-4 *
max|finite ref|; -inf and NaN must sit in the same cells).  One case masks
every key of one query: -inf scores and NaN weights on both sides.
Exits 77 (meson's skip) without python3-torch.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"python3-torch not installed ({e}): skip")
    sys.exit(77)

import safetensors_np  # noqa: E402

CONFIGS = [  # embed_dim, num_heads, bias, batch, Tq, Tk, seed
    (60, 3, True, 3, 5, 9, 1),
    (48, 6, False, 2, 7, 4, 2),
    (8, 8, True, 2, 6, 6, 3),
    (96, 12, True, 1, 11, 13, 4),
    (30, 5, True, 4, 3, 8, 5),
]


def write_model(mdir, mha, kwargs, cases):
    os.makedirs(os.path.join(mdir, "inputs"))
    safetensors_np.write(os.path.join(mdir, "weights.safetensors"),
                         {k: v.detach().numpy() for k, v in mha.state_dict().items()})
    with open(os.path.join(mdir, "config.json"), "w") as f:
        json.dump({"arch": "mha", "class": "torch.nn.MultiheadAttention", "kwargs": kwargs,
                   "cases": [{"name": n} for n in cases]}, f, indent=1)
    for n, c in cases.items():
        for k, t in c.items():
            np.save(os.path.join(mdir, "inputs", f"{n}.{k}.npy"), t.numpy())


def scores_masked(fn):
    """Runs fn() and returns what torch's multi_head_attention_forward gives
    its softmax: its first torch.baddbmm(float mask, q_scaled, k^T) (the
    boolean masks turned into one additive -inf mask), or torch.bmm when
    no mask is given; [B*H, Tq, Tk]."""
    got, orig = [], (torch.baddbmm, torch.bmm)

    def baddbmm(*a, **kw):
        out = orig[0](*a, **kw)
        got.append(out.clone())
        return out

    def bmm(*a, **kw):
        out = orig[1](*a, **kw)
        got.append(out.clone())
        return out

    torch.baddbmm, torch.bmm = baddbmm, bmm
    try:
        res = fn()
    finally:
        torch.baddbmm, torch.bmm = orig
    return res, got[0]


def check_config(exe, E, H, bias, B, Tq, Tk, seed):
    torch.manual_seed(seed)
    mha = torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=True)
    with torch.no_grad():
        for n, p in mha.named_parameters():
            if "bias" in n:
                p.normal_(0, 0.1)
    g = torch.Generator().manual_seed(seed + 100)
    klen = torch.randint(1, Tk + 1, (B,), generator=g)
    klen[0] = Tk
    slen = torch.randint(1, Tq + 1, (B,), generator=g)
    slen[0] = Tq
    kpm_k = torch.arange(Tk)[None] >= klen[:, None]
    kpm_s = torch.arange(Tq)[None] >= slen[:, None]
    causal = torch.triu(torch.ones(Tq, Tq, dtype=torch.bool), 1)
    cross = torch.rand(Tq, Tk, generator=g) > 0.7
    cross[:, 0] = False  # no fully masked row (torch gives NaN there)
    q, k, v = (torch.randn(B, t, E, generator=g) for t in (Tq, Tk, Tk))
    x = torch.randn(B, Tq, E, generator=g)
    empty = causal.clone()
    empty[Tq // 2, :] = True  # one query with every key masked: -inf everywhere, NaN weights
    cases = {"kpm": dict(query=q, key=k, value=v, key_padding_mask=kpm_k),
             "cross_am": dict(query=q, key=k, value=v, attn_mask=cross, key_padding_mask=kpm_k),
             "plain": dict(query=q, key=k, value=v),
             "causal": dict(x=x, attn_mask=causal),
             "causal_kpm": dict(x=x, attn_mask=causal, key_padding_mask=kpm_s),
             "self_kpm": dict(x=x, key_padding_mask=kpm_s),
             "empty_row": dict(x=x, attn_mask=empty)}
    what = f"embed {E} heads {H} bias {bias} batch {B} Tq {Tq} Tk {Tk} seed {seed}"
    with tempfile.TemporaryDirectory(prefix="ls_mha_dims.") as tmp:
        mdir, ref, ours = (os.path.join(tmp, n) for n in ("model", "torch", "ours"))
        write_model(mdir, mha, {"embed_dim": E, "num_heads": H, "dropout": 0.0, "bias": bias,
                                "batch_first": True}, cases)
        os.makedirs(ref)
        for n, c in cases.items():
            # dropout is 0: train mode computes the same, and keeps torch
            # 1.13 off its fused eval path, which crashes without bias
            mha.train(not bias)
            def run():
                return mha(c.get("x", c.get("query")), c.get("x", c.get("key")),
                           c.get("x", c.get("value")), key_padding_mask=c.get("key_padding_mask"),
                           attn_mask=c.get("attn_mask"), need_weights=True,
                           average_attn_weights=False)
            with torch.no_grad():
                o, w = run()
                # the scores from the Python path (train mode, dropout 0: the
                # same math; the fused eval path has no scores to catch)
                mha.train(True)
                _, sm = scores_masked(run)
            np.save(os.path.join(ref, n + ".npy"), o.numpy())
            np.save(os.path.join(ref, n + ".1.npy"), w.numpy())
            sm = sm.view(w.shape).numpy()
            np.save(os.path.join(ref, n + ".scores_masked.npy"), sm)
            if n == "empty_row":  # torch's own answer for the empty row
                assert np.isneginf(sm[:, :, Tq // 2]).all() and np.isnan(w[:, :, Tq // 2]).all()
        r = subprocess.run([exe, "dump", "--model", mdir, "--inputs",
                            os.path.join(mdir, "inputs"), "--out", ours],
                           capture_output=True, text=True)
        if r.returncode:
            print(f"FAIL {what}: layerstep dump: {r.stderr.strip()}")
            return False
        r = subprocess.run([exe, "compare", ours, ref], capture_output=True, text=True)
        lines = r.stdout.splitlines()
        passed = [ln for ln in lines if ln.endswith(" pass")]
        good = r.returncode == 0 and len(passed) == 3 * len(cases)
        errs = [float(ln.split()[-3]) for ln in passed]
        print(f"{'ok  ' if good else 'FAIL'} {what}: {len(passed)} of {3 * len(cases)} points "
              f"pass (worst max abs {max(errs, default=0):.3g})")
        if not good:
            print("\n".join(ln for ln in lines if " only in " not in ln)[:3000])
        return good


def check_refused(exe):
    """Switches that change torch's math must stop the load with a message."""
    fails = 0
    for kw, want in (({"add_bias_kv": True}, "add_bias_kv"),
                     ({"add_zero_attn": True}, "add_zero_attn"),
                     ({"kdim": 20, "vdim": 20}, "kdim"),
                     ({"kdim": 32, "vdim": 32}, None)):
        torch.manual_seed(0)
        mha = torch.nn.MultiheadAttention(32, 4, batch_first=True, **kw)
        with tempfile.TemporaryDirectory(prefix="ls_mha_kw.") as tmp:
            mdir = os.path.join(tmp, "model")
            write_model(mdir, mha, dict({"embed_dim": 32, "num_heads": 4, "batch_first": True},
                                        **kw), {"mha": {"x": torch.randn(2, 5, 32)}})
            r = subprocess.run([exe, "run", "--model", mdir, "--inputs",
                                os.path.join(mdir, "inputs")], capture_output=True, text=True)
            good = r.returncode == 0 if want is None else \
                r.returncode != 0 and want in r.stderr and "not supported" in r.stderr
            print(f"{'ok  ' if good else 'FAIL'} kwargs {kw}: "
                  f"{'runs' if r.returncode == 0 else r.stderr.strip()}")
            fails += not good
    return fails


def main():
    if len(sys.argv) != 2:
        print("usage: test_mha_dims.py path/to/layerstep", file=sys.stderr)
        return 2
    exe = os.path.abspath(sys.argv[1])
    torch.set_num_threads(1)
    fails = sum(not check_config(exe, *c) for c in CONFIGS)
    fails += check_refused(exe)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
