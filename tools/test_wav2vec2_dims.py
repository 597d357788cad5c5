#!/usr/bin/env python3
"""wav2vec2 at other sizes against torchaudio: both extractor modes, conv
bias on and off, pre- and post-norm encoders, odd widths and head counts,
odd conv stacks, even and odd positional kernels, other seeds, a padded
batch of two items with different lengths.

    /usr/bin/python3 tools/test_wav2vec2_dims.py build/layerstep [--large]

For each configuration torchaudio.models.wav2vec2_model(**kwargs) is built
with seeded random weights (the norms, which start constant, made random
too), written as a layerstep model directory (torchaudio's own state_dict
names, config.json with "kwargs" like tests/data/wav2vec2_small), dumped by
tools/torch_dump.py and by `layerstep dump`, and compared point by point
(`layerstep compare`, float32 tolerances atol 1e-5 + rtol 1e-4 * max|ref|).
The padded item's valid frames of the logits are also compared on their
own (against their own scale), so that a large error there cannot hide
behind the scale of the whole tensor.
--large adds the base and large (lv60k) shapes, 12 and 24 layers.
Exits 77 (meson's skip) without python3-torch / python3-torchaudio.
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
    import torchaudio
except ImportError as e:
    print(f"python3-torch / python3-torchaudio not installed ({e}): skip")
    sys.exit(77)

import safetensors_np  # noqa: E402
from torch_dump import dump  # noqa: E402

BASE = {
    "extractor_mode": "group_norm",
    "extractor_conv_layer_config": [[32, 10, 5], [32, 3, 2], [32, 2, 2]],
    "extractor_conv_bias": False,
    "encoder_embed_dim": 48,
    "encoder_projection_dropout": 0.1,
    "encoder_pos_conv_kernel": 16,
    "encoder_pos_conv_groups": 4,
    "encoder_num_layers": 2,
    "encoder_num_heads": 4,
    "encoder_attention_dropout": 0.1,
    "encoder_ff_interm_features": 96,
    "encoder_ff_interm_dropout": 0.1,
    "encoder_dropout": 0.1,
    "encoder_layer_norm_first": False,
    "encoder_layer_drop": 0.1,
    "aux_num_out": 32,
}

CONFIGS = [
    # (overrides of BASE, seed, valid samples per item[, False: forward
    # without lengths, every item full length])
    ({"encoder_embed_dim": 60, "encoder_num_heads": 3, "encoder_pos_conv_kernel": 7,
      "encoder_pos_conv_groups": 3, "encoder_ff_interm_features": 50, "aux_num_out": 7},
     21, (1200, 851)),
    ({"extractor_mode": "layer_norm", "extractor_conv_bias": True,
      "encoder_layer_norm_first": True, "encoder_num_layers": 3, "encoder_embed_dim": 40,
      "encoder_num_heads": 5, "encoder_pos_conv_kernel": 12, "encoder_pos_conv_groups": 2},
     22, (977, 1400)),
    ({"extractor_conv_bias": True, "encoder_layer_norm_first": True,
      "extractor_conv_layer_config": [[20, 5, 3], [24, 3, 2], [28, 3, 1], [28, 2, 2]],
      "encoder_embed_dim": 36, "encoder_num_heads": 2, "encoder_pos_conv_kernel": 5,
      "encoder_pos_conv_groups": 1, "encoder_ff_interm_features": 37, "aux_num_out": None},
     23, (640, 333)),
    ({"extractor_mode": "layer_norm", "extractor_conv_layer_config": [[16, 4, 2], [24, 3, 3]],
      "encoder_embed_dim": 33, "encoder_num_heads": 11, "encoder_pos_conv_kernel": 3,
      "encoder_pos_conv_groups": 11, "encoder_num_layers": 1, "aux_num_out": 5},
     24, (500, 500)),
    # the base fixture's shape with another seed and a longer padded batch
    ({}, 25, (3000, 1777)),
    # no lengths: torchaudio masks nothing and returns no lengths
    ({"encoder_layer_norm_first": True, "encoder_num_heads": 6}, 28, (900, 900), False),
    ({"extractor_mode": "layer_norm", "encoder_num_heads": 1}, 29, (777,), False),
]

# also checked in the transformers layout: a CTC model (group_norm, post-norm)
# with layer_norm extractor and pre-norm, and a bare Wav2Vec2Model (no lm_head;
# conv bias, pre-norm, 4 conv layers)
HF_SEEDS = (21, 22, 23)

# torchaudio's wav2vec2_base / wav2vec2_large_lv60k shapes (95M / 315M
# parameters): with --large only, too heavy for every test run
LARGE = [
    (dict(extractor_conv_layer_config=[[512, 10, 5]] + [[512, 3, 2]] * 4 + [[512, 2, 2]] * 2,
          encoder_embed_dim=768, encoder_pos_conv_kernel=128, encoder_pos_conv_groups=16,
          encoder_num_layers=12, encoder_num_heads=12, encoder_ff_interm_features=3072,
          aux_num_out=32), 26, (8000, 5600)),
    (dict(extractor_mode="layer_norm", extractor_conv_bias=True,
          extractor_conv_layer_config=[[512, 10, 5]] + [[512, 3, 2]] * 4 + [[512, 2, 2]] * 2,
          encoder_embed_dim=1024, encoder_pos_conv_kernel=128, encoder_pos_conv_groups=16,
          encoder_num_layers=24, encoder_num_heads=16, encoder_ff_interm_features=4096,
          encoder_layer_norm_first=True, aux_num_out=32), 27, (6400, 4000)),
]


def build(kw, seed):
    torch.manual_seed(seed)
    model = torchaudio.models.wav2vec2_model(**kw).eval()
    with torch.no_grad():
        # norms and zero-initialised biases start constant: a wrong
        # implementation could pass on them by accident
        for name, p in model.named_parameters():
            if "norm" in name or name.endswith("bias"):
                p.copy_(torch.randn_like(p) * 0.1 + (1.0 if name.endswith("weight") else 0.0))
    return model


def write_model(mdir, model, kw, seed, wav, lengths):
    os.makedirs(os.path.join(mdir, "inputs"))
    safetensors_np.write(os.path.join(mdir, "weights.safetensors"),
                        {k: v.detach().numpy().astype(np.float32)
                         for k, v in model.state_dict().items()})
    with open(os.path.join(mdir, "config.json"), "w") as f:
        json.dump({"arch": "wav2vec2", "name": "wav2vec2_dims", "seed": seed,
                   "reference": {"package": "torchaudio", "version": torchaudio.__version__,
                                 "function": "torchaudio.models.wav2vec2_model"},
                   "function": "torchaudio.models.wav2vec2_model", "kwargs": kw}, f, indent=1)
    np.save(os.path.join(mdir, "inputs", "waveforms.npy"), wav.numpy())
    if lengths is not None:
        np.save(os.path.join(mdir, "inputs", "lengths.npy"), lengths.numpy())


def dump_internals(model, wav, lengths, ref):
    """Adds the attention internals and the inputs layerstep names
    (.input.0) to torch_dump's dump: forward inputs taken by pre-hooks, and
    q/k/v/scores/mask/mask_add/scores_masked by torchaudio's own ops on its own tensors
    (SelfAttention.forward: view + transpose, (scaling * q) @ k)."""
    extra = {}

    def pre(name):
        def f(_m, inp):
            extra[name] = inp[0]
        return f

    def attention(path, att):
        def f(_m, inp):
            x, mask = inp[0], inp[1] if len(inp) > 1 else None
            b, t, _ = x.shape
            shape = (b, t, att.num_heads, att.head_dim)
            q = att.q_proj(x).view(*shape).transpose(2, 1)
            k = att.k_proj(x).view(*shape).permute(0, 2, 3, 1)
            v = att.v_proj(x).view(*shape).transpose(2, 1)
            extra[path + ".q"], extra[path + ".k"] = q, k.transpose(2, 3)
            extra[path + ".v"], extra[path + ".scores"] = v, (att.scaling * q) @ k
            # weights += attention_mask: what the softmax is given
            extra[path + ".scores_masked"] = extra[path + ".scores"] + (0 if mask is None else mask)
            if mask is not None:
                extra[path + ".mask_add"], extra[path + ".mask"] = mask, mask != 0
        return f

    hooks = [model.encoder.transformer.register_forward_pre_hook(pre("encoder.transformer.input.0"))]
    for i, layer in enumerate(model.encoder.transformer.layers):
        p = f"encoder.transformer.layers.{i}"
        hooks.append(layer.attention.register_forward_pre_hook(attention(p + ".attention", layer.attention)))
        hooks.append(layer.attention.out_proj.register_forward_pre_hook(pre(p + ".attention.context")))
        hooks.append(layer.feed_forward.output_dense.register_forward_pre_hook(
            pre(p + ".feed_forward.output_dense.input.0")))
    try:
        with torch.no_grad():
            model(wav, lengths)
    finally:
        for h in hooks:
            h.remove()
    with open(os.path.join(ref, "manifest.json")) as f:
        man = json.load(f)
    for name, t in extra.items():
        arr = np.ascontiguousarray(t.detach().numpy())
        arr = arr.astype(np.bool_ if arr.dtype == np.bool_ else np.float32)
        safetensors_np.save_npy_atomic(os.path.join(ref, name + ".npy"), arr)
        man["points"].append({"name": name, "file": name + ".npy", "shape": list(arr.shape),
                              "dtype": "bool" if arr.dtype == np.bool_ else "float32",
                              "module": name.rsplit(".", 1)[0], "op": "derived",
                              "order": len(man["points"])})
    with open(os.path.join(ref, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
    return len(extra)


def write_hf_model(hdir, model, kw, parametrized, **extra):
    """The same model as a Hugging Face transformers directory: config.json
    with model_type and Wav2Vec2Config names (the inverse of torchaudio's
    import_huggingface _get_config), model.safetensors with transformers'
    names (the submodules' own names under wav2vec2. / lm_head., or bare for
    a Wav2Vec2Model without a CTC head); the positional conv's weight norm
    as weight_g/weight_v or, with parametrized, torch's parametrizations."""
    os.makedirs(hdir)
    ctc = kw["aux_num_out"] is not None
    pre = "wav2vec2." if ctc else ""
    sd = {}
    for k, v in model.state_dict().items():
        if parametrized:
            k = k.replace("pos_conv_embed.conv.weight_g",
                          "pos_conv_embed.conv.parametrizations.weight.original0")
            k = k.replace("pos_conv_embed.conv.weight_v",
                          "pos_conv_embed.conv.parametrizations.weight.original1")
        for a, b in (("feature_extractor.", pre + "feature_extractor."),
                     ("encoder.feature_projection.", pre + "feature_projection."),
                     ("encoder.transformer.", pre + "encoder."), ("aux.", "lm_head.")):
            if k.startswith(a):
                k = b + k[len(a):]
                break
        sd[k] = v.detach().numpy().astype(np.float32)
    sd[pre + "masked_spec_embed"] = np.ones(kw["encoder_embed_dim"], np.float32)
    convs = kw["extractor_conv_layer_config"]
    cfg = {"model_type": "wav2vec2",
           "architectures": ["Wav2Vec2ForCTC" if ctc else "Wav2Vec2Model"],
           "feat_extract_norm": kw["extractor_mode"].replace("_norm", ""),
           "conv_dim": [c[0] for c in convs], "conv_kernel": [c[1] for c in convs],
           "conv_stride": [c[2] for c in convs], "num_feat_extract_layers": len(convs),
           "conv_bias": kw["extractor_conv_bias"], "hidden_size": kw["encoder_embed_dim"],
           "num_conv_pos_embeddings": kw["encoder_pos_conv_kernel"],
           "num_conv_pos_embedding_groups": kw["encoder_pos_conv_groups"],
           "num_hidden_layers": kw["encoder_num_layers"],
           "num_attention_heads": kw["encoder_num_heads"],
           "intermediate_size": kw["encoder_ff_interm_features"],
           "do_stable_layer_norm": kw["encoder_layer_norm_first"], "layer_norm_eps": 1e-5,
           "hidden_act": "gelu", "feat_extract_activation": "gelu",
           "vocab_size": kw["aux_num_out"] or 32}
    cfg.update(extra)
    safetensors_np.write(os.path.join(hdir, "model.safetensors"), sd)
    with open(os.path.join(hdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)


def check_hf(exe, tmp, model, kw, ref, inputs, ours):
    """The transformers layout of the model must give the same points as the
    torchaudio one, and the switches torchaudio's importer ignores must be
    refused.  Returns the number of failures."""
    fails = 0
    for parametrized in (False, True):
        hdir = os.path.join(tmp, f"hf{int(parametrized)}")
        write_hf_model(hdir, model, kw, parametrized)
        out = os.path.join(tmp, f"hf{int(parametrized)}_dump")
        r = subprocess.run([exe, "dump", "--model", hdir, "--inputs", inputs, "--out", out],
                           capture_output=True, text=True)
        if r.returncode == 0:
            r = subprocess.run([exe, "compare", out, ref], capture_output=True, text=True)
        lines = r.stdout.splitlines()
        # every point of the torchaudio-layout run must exist and match here
        have = {os.path.splitext(f)[0] for f in os.listdir(out)} if os.path.isdir(out) else set()
        want = {os.path.splitext(f)[0] for f in os.listdir(ours) if f.endswith(".npy")}
        good = r.returncode == 0 and want <= have
        print(f"  {'ok  ' if good else 'FAIL'} transformers layout "
              f"({'parametrizations' if parametrized else 'weight_g/v'}): "
              f"{lines[-1] if lines else r.stderr.strip()}")
        fails += not good
    for extra, needle in (({"hidden_act": "relu"}, "hidden_act"),
                          ({"feat_extract_activation": "gelu_new"}, "feat_extract_activation"),
                          ({"add_adapter": True}, "add_adapter")):
        hdir = os.path.join(tmp, "hf_" + needle)
        write_hf_model(hdir, model, kw, False, **extra)
        r = subprocess.run([exe, "run", "--model", hdir, "--inputs", inputs],
                           capture_output=True, text=True)
        good = r.returncode != 0 and needle in r.stderr and "not supported" in r.stderr
        print(f"  {'ok  ' if good else 'FAIL'} transformers {extra} refused: "
              f"{r.stderr.strip() or 'ran'}")
        fails += not good
    return fails


def out_lengths(kw, n):
    for _, k, s in kw["extractor_conv_layer_config"]:
        n = (n - k) // s + 1
    return n


def main():
    args = [a for a in sys.argv[1:] if a != "--large"]
    if len(args) != 1:
        print("usage: test_wav2vec2_dims.py path/to/layerstep [--large]", file=sys.stderr)
        return 2
    exe = os.path.abspath(args[0])
    configs = CONFIGS + (LARGE if "--large" in sys.argv else [])
    torch.set_num_threads(1)
    fails = 0
    for over, seed, lens, *with_lengths in configs:
        with_lengths = not with_lengths or with_lengths[0]
        kw = dict(BASE, **over)
        model = build(kw, seed)
        gen = torch.Generator().manual_seed(seed + 1000)
        wav = torch.zeros(len(lens), max(lens))
        for i, n in enumerate(lens):
            wav[i, :n] = torch.randn(n, generator=gen) * 0.3
        lengths = torch.tensor(lens, dtype=torch.int64) if with_lengths else None
        what = ", ".join(f"{k.replace('encoder_', '').replace('extractor_', 'x_')}={v}"
                         for k, v in over.items()) + f", seed {seed}, samples {lens}" + ("" if with_lengths else ", no lengths")
        with tempfile.TemporaryDirectory(prefix="ls_w2v_dims.") as tmp:
            mdir, ref, ours = (os.path.join(tmp, n) for n in ("model", "torch", "ours"))
            write_model(mdir, model, kw, seed, wav, lengths)
            pts = dump(model, (wav, lengths), ref)
            n_extra = dump_internals(model, wav, lengths, ref)
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
            # every module output of torchaudio must have been compared:
            # names that do not line up would silently shrink the check
            ours_names = {os.path.splitext(f)[0] for f in os.listdir(ours) if f.endswith(".npy")}
            with open(os.path.join(ref, "manifest.json")) as f:
                pts = json.load(f)["points"]
            missing = sorted(p["name"] for p in pts if p["name"] not in ours_names)
            n_layers = kw["encoder_num_layers"]
            good = r.returncode == 0 and not missing and passed >= len(pts) and \
                passed >= (20 + 22 * n_layers if with_lengths else 15 + 20 * n_layers) and n_extra >= (9 if with_lengths else 7) * n_layers
            if not with_lengths:  # torchaudio adds no mask: any of ours must be empty
                mk = os.path.join(ours, "encoder.transformer.layers.0.attention.mask.npy")
                good &= not os.path.exists(mk) or not np.load(mk).any()
            # the padded item's valid frames on their own scale
            o, t = np.load(os.path.join(ours, "output.npy")), np.load(os.path.join(ref, "output.npy"))
            worst = 0.0
            for b, n in enumerate(lens):
                f = out_lengths(kw, n)
                d = float(np.abs(o[b, :f] - t[b, :f]).max())
                tol = 1e-5 + 1e-4 * float(np.abs(t[b, :f]).max())
                worst = max(worst, d / tol)
                good &= d <= tol
            if with_lengths:
                ol = np.load(os.path.join(ours, "output.1.npy"))
                good &= ol.tolist() == [out_lengths(kw, n) for n in lens]
            errs = [float(ln.split()[-3]) for ln in lines if ln.endswith(" pass")
                    and ln.split()[-3] != "-"]
            print(f"{'ok  ' if good else 'FAIL'} {what}: {len(pts)} torch points, "
                  f"{passed} compared pass (worst max abs {max(errs, default=0):.3g}), "
                  f"valid-frame logits err/tol {worst:.3f}; "
                  f"{lines[-1] if lines else r.stderr.strip()}")
            if missing:
                print("  torch points layerstep does not have: " + ", ".join(missing[:20]))
            if not good:
                print("\n".join(ln for ln in lines if not ln.endswith(" pass"))[:3000])
                fails += 1
            if (seed in HF_SEEDS):
                fails += check_hf(exe, tmp, model, kw, ref, os.path.join(mdir, "inputs"), ours)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
