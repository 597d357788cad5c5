#!/usr/bin/python3
"""Optional cross-check of layerstep's Conformer against a real WeNet checkout
at sizes and seeds of your choice (never run by CI; WeNet is not a
dependency of layerstep and nothing of it is copied here).

    git clone https://github.com/wenet-e2e/wenet /path/to/wenet
    /usr/bin/python3 tools/compare_wenet_dims.py --wenet /path/to/wenet build/layerstep

For each configuration WeNet's own ConformerEncoder (wenet/models/transformer
or, in older checkouts, wenet/transformer) is built after torch.manual_seed
with random weights (norms, biases and BatchNorm statistics made random too)
and a GlobalCMVN with random statistics.  The encoder is saved as a fake
final.pt + train.yaml, converted by tools/convert_wenet.py, run by `layerstep
dump` on a padded batch of 1 to 3 random fbank inputs, and compared with
`layerstep compare` (atol 1e-5 + rtol 1e-4 * max|ref|) against WeNet's module
outputs (tools/torch_dump.py) plus these internals taken from WeNet's own
calls: q/k/v (forward_qkv), scores, mask and scores_masked (forward_attention), context
(linear_out's input), p (linear_pos), and the conv module's inputs.  The
valid frames of each item's output are also compared on their own scale.
Points of a module instance WeNet shares between several places (the one
SiLU of all FFN and conv modules) are left out: their calls cannot be told
apart.  Older checkouts (tried: v2.2.1, v3.0.1) skip the configurations
their constructor lacks arguments for, and return the attention cache as
one packed tensor, which is not compared.

Only WeNet's package __init__ (which pulls in the CLI, librosa, ...) is
bypassed, and `whisper.tokenizer` is stubbed when missing (wenet.utils.common
imports it for a table of language names); the model code runs as is.
Needs python3-torch and python3-numpy.  Exit 0: every configuration passed.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_np  # noqa: E402
from torch_dump import dump  # noqa: E402

BASE = dict(output_size=96, attention_heads=3, linear_units=200, num_blocks=2,
            dropout_rate=0.1, positional_dropout_rate=0.1, attention_dropout_rate=0.0,
            input_layer="conv2d", pos_enc_layer_type="rel_pos", normalize_before=True,
            macaron_style=True, selfattention_layer_type="rel_selfattn",
            activation_type="swish", use_cnn_module=True, cnn_module_kernel=7)

# (overrides of BASE, input_size, seed, valid frames per item)
CONFIGS = [
    ({}, 80, 31, (97, 61)),
    ({"num_blocks": 4, "cnn_module_kernel": 15}, 80, 32, (150, 150)),
    ({"output_size": 60, "attention_heads": 5, "linear_units": 77, "cnn_module_kernel": 15},
     80, 33, (64, 131)),
    ({"output_size": 48, "attention_heads": 2, "num_blocks": 1, "cnn_module_kernel": 3},
     40, 34, (45, 23)),
    # the other paths layerstep's conformer.c accepts
    ({"input_layer": "conv2d6", "activation_type": "relu", "cnn_module_norm": "layer_norm",
      "causal": True, "cnn_module_kernel": 8, "conv_inner_factor": 3}, 80, 36, (120, 77)),
    ({"input_layer": "conv2d8", "normalize_before": False, "macaron_style": False,
      "activation_type": "gelu", "output_size": 64, "attention_heads": 8}, 80, 37, (130, 90)),
    ({"input_layer": "linear", "use_cnn_module": False, "query_bias": False, "key_bias": False,
      "value_bias": False, "mlp_bias": False, "activation_type": "tanh", "norm_eps": 1e-6,
      "output_size": 32, "attention_heads": 4, "linear_units": 45}, 23, 38, (30, 17)),
    ({"conv_bias": False, "final_norm": False, "num_blocks": 3, "conv_norm_eps": 1e-3,
      "cnn_module_kernel": 31}, 80, 39, (160, 101)),
    ({"attention_heads": 6}, 80, 40, (50, 97, 33)),  # three items
    ({}, 80, 41, (70,)),  # one item, no padding
]
LARGE = [  # WeNet's aishell / librispeech u2++ conformer shapes
    ({"output_size": 256, "attention_heads": 4, "linear_units": 2048, "num_blocks": 12,
      "cnn_module_kernel": 15}, 80, 35, (400, 257)),
    # the Conformer article's size (data/conformer_article)
    ({"output_size": 512, "attention_heads": 8, "linear_units": 2048, "num_blocks": 12,
      "cnn_module_kernel": 15}, 80, 42, (363, 250)),
]


def import_wenet(root):
    pkg = types.ModuleType("wenet")  # skip wenet/__init__.py (CLI, librosa)
    pkg.__path__ = [os.path.join(root, "wenet")]
    sys.modules["wenet"] = pkg
    try:
        import whisper.tokenizer  # noqa: F401
    except ImportError:
        w, wt = types.ModuleType("whisper"), types.ModuleType("whisper.tokenizer")
        wt.LANGUAGES = {}
        w.tokenizer = wt
        sys.modules["whisper"], sys.modules["whisper.tokenizer"] = w, wt
    try:
        from wenet.models.transformer.encoder import ConformerEncoder
        from wenet.models.transformer.cmvn import GlobalCMVN
    except ImportError:  # WeNet before the models/ move
        from wenet.transformer.encoder import ConformerEncoder
        from wenet.transformer.cmvn import GlobalCMVN
    return ConformerEncoder, GlobalCMVN


def build(classes, conf, input_size, seed):
    ConformerEncoder, GlobalCMVN = classes
    torch.manual_seed(seed)
    mean = torch.randn(input_size) * 2 - 8
    istd = torch.rand(input_size) * 0.5 + 0.2
    enc = ConformerEncoder(input_size, global_cmvn=GlobalCMVN(mean, istd), **conf).eval()
    with torch.no_grad():
        for name, p in enc.named_parameters():
            if "norm" in name or name.endswith("bias") or "pos_bias" in name:
                p.copy_(torch.randn_like(p) * 0.1 + (1.0 if name.endswith("weight") else 0.0))
        for name, b in enc.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn_like(b) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand_like(b) + 0.5)
    return enc


def write_checkpoint(d, enc, conf, input_size):
    os.makedirs(d)
    sd = {"encoder." + k: v for k, v in enc.state_dict().items()}
    sd["ctc.ctc_lo.weight"] = torch.zeros(3, conf["output_size"])  # a non-encoder key
    torch.save({"model": sd}, os.path.join(d, "final.pt"))
    lines = ["encoder: conformer", f"input_dim: {input_size}", "encoder_conf:"]
    lines += [f"    {k}: {json.dumps(v) if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else v}"
              for k, v in conf.items()]
    with open(os.path.join(d, "train.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")


def dump_internals(enc, xs, xs_lens, ref):
    """WeNet's own intermediate tensors that no module returns, taken by
    wrapping its attention methods and by forward pre-hooks."""
    extra, hooks, undo = {}, [], []

    def pre(name, i=0):
        def f(_m, inp):
            extra[name] = inp[i]
        return f

    for n, layer in enumerate(enc.encoders):
        p = f"encoders.{n}"
        att = layer.self_attn

        def qkv(*a, _orig=att.forward_qkv, _p=p + ".self_attn"):
            q, k, v = _orig(*a)
            extra[_p + ".q"], extra[_p + ".k"], extra[_p + ".v"] = q, k, v
            return q, k, v

        def fatt(v, scores, mask, *a, _orig=att.forward_attention, _p=p + ".self_attn"):
            extra[_p + ".scores"] = scores
            # WeNet: True = valid; the dumps: True = masked out, [B,1,Tq,Tk]
            extra[_p + ".mask"] = (~mask.unsqueeze(1).bool()).expand(
                scores.shape[0], 1, scores.shape[2], scores.shape[3])
            # forward_attention: scores.masked_fill(mask.unsqueeze(1).eq(0), -inf)
            extra[_p + ".scores_masked"] = scores.masked_fill(
                mask.unsqueeze(1).eq(0)[:, :, :, :scores.size(-1)], -float("inf"))
            return _orig(v, scores, mask, *a)

        att.forward_qkv, att.forward_attention = qkv, fatt
        undo.append(att)
        hooks.append(att.linear_out.register_forward_pre_hook(pre(p + ".self_attn.context")))
        cm = layer.conv_module
        for sub in ("pointwise_conv1", "depthwise_conv", "pointwise_conv2") if cm else ():
            hooks.append(getattr(cm, sub).register_forward_pre_hook(
                pre(f"{p}.conv_module.{sub}.input.0")))

        def pos(_m, _inp, out, _p=p + ".self_attn", _att=att):
            extra[_p + ".p"] = out.view(out.shape[0], -1, _att.h, _att.d_k).transpose(1, 2)
        hooks.append(att.linear_pos.register_forward_hook(pos))
    hooks.append(enc.embed.register_forward_pre_hook(pre("embed.input.1", 1)))
    try:
        with torch.no_grad():
            enc(xs, xs_lens)
    finally:
        for h in hooks:
            h.remove()
        for att in undo:
            del att.forward_qkv, att.forward_attention
    with open(os.path.join(ref, "manifest.json")) as f:
        man = json.load(f)
    # WeNet shares one activation instance between every FFN and conv module,
    # so its hook's calls cannot be told apart: drop them (the golden fixture
    # leaves them out too)
    seen, shared = {}, set()
    for path, m in enc.named_modules(remove_duplicate=False):
        if id(m) in seen:
            shared.add(seen[id(m)])
        seen.setdefault(id(m), path)
    man["points"] = [p for p in man["points"] if p["module"] not in shared]
    for name, t in extra.items():
        arr = np.ascontiguousarray(t.detach().numpy())
        arr = arr if arr.dtype == np.bool_ else arr.astype(np.float32)
        safetensors_np.save_npy_atomic(os.path.join(ref, name + ".npy"), arr)
        man["points"].append({"name": name, "file": name + ".npy", "shape": list(arr.shape),
                              "dtype": "bool" if arr.dtype == np.bool_ else "float32",
                              "module": name.rsplit(".", 1)[0], "op": "wenet internal",
                              "order": len(man["points"])})
    with open(os.path.join(ref, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
    return len(extra)


def run_one(exe, classes, over, input_size, seed, lens, keep=None):
    import convert_wenet
    conf = dict(BASE, **over)
    try:
        enc = build(classes, conf, input_size, seed)
    except (TypeError, ValueError, KeyError, AssertionError) as e:  # an older WeNet
        print(f"skip {over}: this WeNet cannot build it ({type(e).__name__}: {e})")
        return True
    gen = torch.Generator().manual_seed(seed + 1000)
    xs = torch.zeros(len(lens), max(lens), input_size)
    for i, n in enumerate(lens):  # log-mel-like values around the CMVN mean
        xs[i, :n] = torch.randn(n, input_size, generator=gen) * 3 - 8
    xs_lens = torch.tensor(lens, dtype=torch.int64)
    what = ", ".join(f"{k}={v}" for k, v in over.items()) + \
        f" (base: {conf['output_size']}x{conf['attention_heads']} heads, {conf['num_blocks']} " \
        f"blocks, kernel {conf['cnn_module_kernel']}), input {input_size}, seed {seed}, frames {lens}"
    tmp = keep or tempfile.mkdtemp(prefix="ls_wenet_dims.")
    ck, mdir, ref, ours = (os.path.join(tmp, n) for n in ("ckpt", "model", "wenet", "ours"))
    write_checkpoint(ck, enc, conf, input_size)
    convert_wenet.convert(os.path.join(ck, "final.pt"), os.path.join(ck, "train.yaml"), mdir,
                          log=lambda *_: None)
    os.makedirs(os.path.join(mdir, "inputs"))
    np.save(os.path.join(mdir, "inputs", "xs.npy"), xs.numpy())
    np.save(os.path.join(mdir, "inputs", "xs_lens.npy"), xs_lens.numpy())
    pts = dump(enc, (xs, xs_lens), ref)
    n_extra = dump_internals(enc, xs, xs_lens, ref)
    r = subprocess.run([exe, "dump", "--model", mdir, "--inputs", os.path.join(mdir, "inputs"),
                        "--out", ours], capture_output=True, text=True)
    if r.returncode:
        print(f"FAIL {what}: layerstep dump: {r.stderr.strip()}")
        return False
    r = subprocess.run([exe, "compare", ours, ref], capture_output=True, text=True)
    lines = r.stdout.splitlines()
    passed = [ln for ln in lines if ln.endswith(" pass")]
    with open(os.path.join(ref, "manifest.json")) as f:
        names = [p["name"] for p in json.load(f)["points"]]
    have = {os.path.splitext(f)[0] for f in os.listdir(ours) if f.endswith(".npy")}
    missing = [n for n in names if n not in have]
    # WeNet before v3.1 returns the attention cache as one [B,H,T,2*d_k]
    # tensor (self_attn.1, layer .2); layerstep names master's (k, v) pair
    packed = [n for n in missing if re.match(r"^encoders\.\d+\.(self_attn\.1|2)$", n)]
    missing = [n for n in missing if n not in packed]
    groups = {}
    for ln in passed:
        f = ln.split()
        if f[-3] == "-":
            continue
        g = f[0].split(".")
        key = (".".join(g[2:]) or "layer") if g[0] == "encoders" else g[0]
        groups[key] = max(groups.get(key, 0.0), float(f[-3]))
    o, t = np.load(os.path.join(ours, "output.npy")), np.load(os.path.join(ref, "output.npy"))
    m = np.load(os.path.join(ref, "output.1.npy"))
    worst = 0.0
    good = r.returncode == 0 and not missing and len(passed) >= len(names) - len(packed)
    for b in range(len(lens)):
        f = int(m[b].sum())
        d = float(np.abs(o[b, :f] - t[b, :f]).max())
        tol = 1e-5 + 1e-4 * float(np.abs(t[b, :f]).max())
        worst = max(worst, d / tol)
        good &= d <= tol
    print(f"{'ok  ' if good else 'FAIL'} {what}: {len(names)} WeNet points ({n_extra} internals), "
          f"{len(passed)} compared pass, valid-frame output err/tol {worst:.3f}; "
          f"{lines[-1] if lines else r.stderr.strip()}")
    print("     max abs error per group: " + ", ".join(f"{k} {v:.2g}" for k, v in
                                                       sorted(groups.items(), key=lambda x: -x[1])))
    if packed:
        print(f"     not compared: {len(packed)} packed kv caches of an older WeNet "
              f"({', '.join(packed[:2])}, ...)")
    if missing:
        print("     WeNet points layerstep does not have: " + ", ".join(missing[:20]))
    if not good:
        print("\n".join(ln for ln in lines if not ln.endswith(" pass"))[:4000])
    if not keep:
        import shutil
        shutil.rmtree(tmp)
    return good


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("layerstep", help="path to the layerstep executable")
    ap.add_argument("--wenet", required=True, help="a WeNet checkout (the repository root)")
    ap.add_argument("--large", action="store_true", help="add 256 and 512 (article) x 12-block models")
    ap.add_argument("--keep", help="keep the files of the last configuration in this new dir")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    classes = import_wenet(os.path.abspath(a.wenet))
    configs = CONFIGS + (LARGE if a.large else [])
    fails = 0
    for i, (over, input_size, seed, lens) in enumerate(configs):
        keep = a.keep if a.keep and i == len(configs) - 1 else None
        fails += not run_one(os.path.abspath(a.layerstep), classes, over, input_size, seed, lens,
                             keep)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
