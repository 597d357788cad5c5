#!/usr/bin/env python3
"""Extra wav2vec2 references from torchaudio for sizes the bundled fixtures
do not cover (odd positional kernels, conv bias with group_norm, other head
counts and paddings).  Writes a fixture-like folder: config.json,
weights.safetensors, inputs/*.npy and acts/*.npy with every module output
(tuple element i as <path>.i); no attention internals.

    /usr/bin/python3 tools/wav2vec2_refs.py OUT_DIR [--seed 3] [--kwargs '{"encoder_num_heads": 3}']
    layerstep's golden check (or tests/golden) then compares against OUT_DIR.

Needs torch and torchaudio (Debian python3-torchaudio); the tests never do.
"""
import argparse
import json
import os
import struct

import numpy as np
import torch
import torchaudio

BASE = {
    "extractor_mode": "group_norm",
    "extractor_conv_layer_config": [[24, 7, 3], [24, 3, 2], [24, 3, 1]],
    "extractor_conv_bias": True,
    "encoder_embed_dim": 36,
    "encoder_projection_dropout": 0.1,
    "encoder_pos_conv_kernel": 7,
    "encoder_pos_conv_groups": 3,
    "encoder_num_layers": 2,
    "encoder_num_heads": 3,
    "encoder_attention_dropout": 0.1,
    "encoder_ff_interm_features": 40,
    "encoder_ff_interm_dropout": 0.0,
    "encoder_dropout": 0.1,
    "encoder_layer_norm_first": False,
    "encoder_layer_drop": 0.0,
    "aux_num_out": 11,
}


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].detach().numpy().astype("<f4"))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--kwargs", default="{}", help="JSON overriding the default kwargs")
    ap.add_argument("--samples", default="700,523", help="valid samples per item")
    a = ap.parse_args()
    kw = dict(BASE, **json.loads(a.kwargs))
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    model = torchaudio.models.wav2vec2_model(**kw).eval()
    with torch.no_grad():  # norms start constant: make them random so mistakes show
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(torch.randn_like(p) * 0.1 + (1.0 if name.endswith("weight") else 0.0))
    lens = [int(x) for x in a.samples.split(",")]
    wav = torch.zeros(len(lens), max(lens))
    for i, n in enumerate(lens):
        wav[i, :n] = torch.randn(n) * 0.3
    lengths = torch.tensor(lens, dtype=torch.int64)

    acts = {}

    def hook(path):
        def f(mod, inp, out):
            if isinstance(out, tuple):
                for i, o in enumerate(out):
                    if isinstance(o, torch.Tensor):
                        acts[path if i == 0 else f"{path}.{i}"] = o.detach().clone()
            else:
                acts[path] = out.detach().clone()
        return f

    for path, mod in model.named_modules():
        if path:
            mod.register_forward_hook(hook(path))
    with torch.no_grad():
        out, out_len = model(wav, lengths)
    acts["output"], acts["output.1"] = out, out_len

    os.makedirs(os.path.join(a.out, "inputs"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "acts"), exist_ok=True)
    sd = {k: v for k, v in model.state_dict().items()}
    save_safetensors(os.path.join(a.out, "weights.safetensors"), sd)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump({"arch": "wav2vec2", "kwargs": kw,
                   "reference": {"package": "torchaudio", "version": torchaudio.__version__}},
                  f, indent=1)
    np.save(os.path.join(a.out, "inputs", "waveforms.npy"), wav.numpy())
    np.save(os.path.join(a.out, "inputs", "lengths.npy"), lengths.numpy())
    for k, v in acts.items():
        np.save(os.path.join(a.out, "acts", k + ".npy"), v.numpy())
    print(f"{a.out}: {len(acts)} activations")


if __name__ == "__main__":
    main()
