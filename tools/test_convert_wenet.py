#!/usr/bin/python3
"""Test of tools/convert_wenet.py (meson test 'convert_wenet', suite 'tools').

    /usr/bin/python3 tools/test_convert_wenet.py build/layerstep

1. A fake WeNet checkpoint made here from ConformerEncoder constructor
   arguments (output_size 64, 4 heads, 2 blocks, kernel 7, input_dim 40):
   random weights under the key names and shapes WeNet's ConformerEncoder
   has (the generator is checked against the golden conformer_small
   manifest's weight list), plus what a real final.pt also holds
   (embed.pos_enc.pe, num_batches_tracked, decoder.*, ctc.*).  It is
   converted and run by layerstep; the output shape, the dropped keys and
   the CMVN formula are checked.
2. A checkpoint made from the golden conformer_small weights ("encoder."
   prefix, CMVN turned back into stats, nested under "model", WeNet 3.x
   cmvn_conf style) is converted; `layerstep dump` of it must pass
   `layerstep compare` against tests/data/conformer_small/acts.
3. The small YAML reader agrees with PyYAML on both train.yaml files.
Exit 77 (meson's skip) when torch is not importable.
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError as e:  # pragma: no cover
    print(f"SKIP: {e} (install python3-torch python3-numpy)")
    sys.exit(77)

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
import convert_wenet  # noqa: E402
import safetensors_np  # noqa: E402

GOLDEN = os.path.join(ROOT, "tests", "data", "conformer_small")
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def conformer_shapes(input_size, output_size, attention_heads, linear_units, num_blocks,
                     cnn_module_kernel, **_):
    """state_dict key -> shape of WeNet's ConformerEncoder (conv2d subsampling,
    rel_pos, macaron, batch_norm conv module, biases on), as in the weight
    file (no pe, no num_batches_tracked)."""
    D, H, U, K = output_size, attention_heads, linear_units, cnn_module_kernel
    F = ((input_size - 1) // 2 - 1) // 2
    s = {"global_cmvn.mean": [input_size], "global_cmvn.istd": [input_size],
         "embed.conv.0.weight": [D, 1, 3, 3], "embed.conv.0.bias": [D],
         "embed.conv.2.weight": [D, D, 3, 3], "embed.conv.2.bias": [D],
         "embed.out.0.weight": [D, D * F], "embed.out.0.bias": [D],
         "after_norm.weight": [D], "after_norm.bias": [D]}
    for n in range(num_blocks):
        p = f"encoders.{n}."
        for lin in ("linear_q", "linear_k", "linear_v", "linear_out"):
            s[p + f"self_attn.{lin}.weight"] = [D, D]
            s[p + f"self_attn.{lin}.bias"] = [D]
        s[p + "self_attn.linear_pos.weight"] = [D, D]
        s[p + "self_attn.pos_bias_u"] = [H, D // H]
        s[p + "self_attn.pos_bias_v"] = [H, D // H]
        for ff in ("feed_forward", "feed_forward_macaron"):
            s[p + f"{ff}.w_1.weight"] = [U, D]
            s[p + f"{ff}.w_1.bias"] = [U]
            s[p + f"{ff}.w_2.weight"] = [D, U]
            s[p + f"{ff}.w_2.bias"] = [D]
        c = p + "conv_module."
        s[c + "pointwise_conv1.weight"] = [2 * D, D, 1]
        s[c + "pointwise_conv1.bias"] = [2 * D]
        s[c + "depthwise_conv.weight"] = [D, 1, K]
        s[c + "depthwise_conv.bias"] = [D]
        for b in ("weight", "bias", "running_mean", "running_var"):
            s[c + f"norm.{b}"] = [D]
        s[c + "pointwise_conv2.weight"] = [D, D, 1]
        s[c + "pointwise_conv2.bias"] = [D]
        for nm in ("norm_ff", "norm_mha", "norm_ff_macaron", "norm_conv", "norm_final"):
            s[p + f"{nm}.weight"] = [D]
            s[p + f"{nm}.bias"] = [D]
    return s


def fake_value(rng, key, shape):
    if key.endswith("running_var"):
        return rng.uniform(0.5, 1.5, shape)
    if key.endswith("running_mean"):
        return rng.normal(0, 0.1, shape)
    last = key.rsplit(".", 1)[-1]
    if len(shape) == 1 and last == "weight":  # norm scales
        return 1.0 + rng.normal(0, 0.1, shape)
    if len(shape) == 1:  # biases
        return rng.normal(0, 0.05, shape)
    fan_in = int(np.prod(shape[1:]))
    b = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-b, b, shape)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240, **kw)
    return r.returncode, r.stdout, r.stderr


def yaml_text_2x(conf, cmvn_rel):
    """A WeNet 1.x/2.x style train.yaml (top-level cmvn_file)."""
    ec = "\n".join(f"    {k}: {v if not isinstance(v, bool) else str(v).lower()}"
                   for k, v in conf.items())
    return f"""# fake WeNet train.yaml
accum_grad: 4
cmvn_file: {cmvn_rel}
dataset_conf:
    batch_conf:
        batch_size: 16
        batch_type: 'static'
    fbank_conf:
        dither: 0.1
        frame_length: 25
        frame_shift: 10
        num_mel_bins: 40
    filter_conf:
        max_length: 40960
        min_length: 0
    shuffle: true
decoder: transformer
decoder_conf:
    attention_heads: 4
    dropout_rate: 0.1
    linear_units: 256
    num_blocks: 1
encoder: conformer
encoder_conf:
{ec}
grad_clip: 5
input_dim: 40
is_json_cmvn: true
model_conf:
    ctc_weight: 0.3
    length_normalized_loss: false
    lsm_weight: 0.1
optim: adam
optim_conf:
    lr: 0.002
scheduler_conf:
    warmup_steps: 25000
output_dim: 11
"""


def yaml_text_3x(conf, input_dim, cmvn_rel):
    """A WeNet 3.x style train.yaml (cmvn + cmvn_conf, lists, flow maps)."""
    lines = ["cmvn: global_cmvn", "cmvn_conf:", f"  cmvn_file: {cmvn_rel}",
             "  is_json_cmvn: true", "ctc: ctc", "ctc_conf: {ctc_blank_id: 0}",
             "encoder: conformer", "encoder_conf:"]
    for k, v in conf.items():
        if isinstance(v, bool):
            v = str(v).lower()
        elif isinstance(v, str):
            v = f"'{v}'" if k == "input_layer" else v
        lines.append(f"  {k}: {v}   # {k}")
    lines += [f"input_dim: {input_dim}", "model: asr_model", "tokenizer_conf:",
              "  special_tokens:", "    <blank>: 0", "    <unk>: 1",
              "  symbol_table_path: data/dict/lang_char.txt", "train_engine: torch_ddp",
              "use_amp: false", "vocab_size: 11", "dtypes:", "  - fp32", "  - fp16", ""]
    return "\n".join(lines)


def write_inputs(d, B, T, F, lens, seed):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(seed)
    # a natural-log fbank is around 5..15; CMVN brings it to ~N(0,1)
    xs = (10.0 + 2.0 * rng.standard_normal((B, T, F))).astype(np.float32)
    for b, n in enumerate(lens):
        xs[b, n:] = 0.0
    np.save(os.path.join(d, "xs.npy"), xs)
    np.save(os.path.join(d, "xs_lens.npy"), np.asarray(lens, dtype=np.int64))


def test_fake(exe, tmp):
    print("== 1. fake WeNet checkpoint from constructor arguments")
    golden_cfg = json.load(open(os.path.join(GOLDEN, "config.json")))["encoder_conf"]
    golden_shapes = json.load(open(os.path.join(GOLDEN, "manifest.json")))["weights"]["tensors"]
    check(conformer_shapes(**golden_cfg) == golden_shapes,
          "the key/shape generator reproduces the golden manifest's weight list "
          f"({len(golden_shapes)} tensors)")

    conf = {"output_size": 64, "attention_heads": 4, "linear_units": 256, "num_blocks": 2,
            "dropout_rate": 0.1, "positional_dropout_rate": 0.1,
            "attention_dropout_rate": 0.0, "input_layer": "conv2d",
            "normalize_before": True, "cnn_module_kernel": 7, "use_cnn_module": True,
            "activation_type": "swish", "pos_enc_layer_type": "rel_pos",
            "selfattention_layer_type": "rel_selfattn", "macaron_style": True,
            "causal": False, "cnn_module_norm": "batch_norm"}
    input_dim = 40
    shapes = conformer_shapes(input_size=input_dim, **conf)
    rng = np.random.default_rng(1234)
    sd = {}
    for k, shp in shapes.items():
        if k.startswith("global_cmvn."):
            continue  # this one comes only from the stats file
        sd["encoder." + k] = torch.from_numpy(fake_value(rng, k, shp).astype(np.float32))
    for n in range(conf["num_blocks"]):
        sd[f"encoder.encoders.{n}.conv_module.norm.num_batches_tracked"] = torch.tensor(7)
    sd["encoder.embed.pos_enc.pe"] = torch.zeros(1, 5000, 64)
    sd["decoder.embed.0.weight"] = torch.randn(11, 64)
    sd["decoder.output_layer.weight"] = torch.randn(11, 64)
    sd["ctc.ctc_lo.weight"] = torch.randn(11, 64)
    sd["ctc.ctc_lo.bias"] = torch.randn(11)
    d = os.path.join(tmp, "fake_exp")
    os.makedirs(os.path.join(d, "data", "train"))
    torch.save(sd, os.path.join(d, "final.pt"))
    frames = 12345
    feats = 10.0 + 2.0 * rng.standard_normal((frames, input_dim))
    stats = {"mean_stat": feats.sum(0).tolist(), "var_stat": (feats ** 2).sum(0).tolist(),
             "frame_num": frames}
    stats["var_stat"][3] = stats["mean_stat"][3] ** 2 / frames - 1.0  # negative var -> floor
    with open(os.path.join(d, "data", "train", "global_cmvn"), "w") as f:
        json.dump(stats, f)
    ypath = os.path.join(d, "train.yaml")
    with open(ypath, "w") as f:
        f.write(yaml_text_2x(conf, "data/train/global_cmvn"))
    units = "".join(f"{u} {i}\n" for i, u in enumerate(
        ["<blank>", "\u2581", "a", "b", "c", "d", "e", "f", "g", "h", "<sos/eos>"]))
    with open(os.path.join(d, "units.txt"), "w", encoding="utf-8") as f:
        f.write(units)

    out = os.path.join(tmp, "fake_model")
    rc, so, se = run([sys.executable, os.path.join(TOOLS, "convert_wenet.py"), "--checkpoint",
                      os.path.join(d, "final.pt"), "--config", ypath, "--out", out])
    print(so + se, end="")
    check(rc == 0, "convert_wenet.py exits 0 on the fake checkpoint")
    if rc:
        return
    cfg = json.load(open(os.path.join(out, "config.json")))
    w, _ = safetensors_np.read(os.path.join(out, "weights.safetensors"))
    check(cfg["arch"] == "conformer", "config.json arch is conformer")
    want_conf = dict(input_size=input_dim, **conf)
    check(all(cfg["encoder_conf"].get(k) == v for k, v in want_conf.items())
          and list(cfg["encoder_conf"])[0] == "input_size",
          "encoder_conf keeps WeNet's names and values, input_size = input_dim")
    ctc_w = {k: w.pop(k) for k in ("ctc.ctc_lo.weight", "ctc.ctc_lo.bias") if k in w}
    check({k: list(v.shape) for k, v in w.items()} == shapes,
          "weights: exactly ConformerEncoder's keys and shapes, no 'encoder.' prefix")
    check(not any(k.endswith(("num_batches_tracked", ".pe")) or k.startswith(("decoder", "ctc"))
                  for k in w), "num_batches_tracked, pe and decoder keys are dropped")
    check(len(ctc_w) == 2 and all(np.array_equal(ctc_w[k], sd[k].numpy()) for k in ctc_w)
          and cfg.get("output_dim") == 11 and cfg.get("ctc_blank") == 0,
          "the CTC head ctc.ctc_lo.* is kept bit-exactly, output_dim = 11, ctc_blank 0")
    check(all(v.dtype == np.float32 for v in w.values()), "all tensors are F32")
    check(all(np.array_equal(w[k[len("encoder."):]], sd[k].numpy()) for k in sd
              if k[len("encoder."):] in w), "tensor data copied bit-exactly")
    # WeNet load_cmvn, written out independently here in float64
    ms = np.array(stats["mean_stat"]) / frames
    vs = np.array(stats["var_stat"]) / frames - ms ** 2
    vs[vs < 1e-20] = 1e-20
    check(np.array_equal(w["global_cmvn.mean"], ms.astype(np.float32)) and
          np.array_equal(w["global_cmvn.istd"], (1 / np.sqrt(vs)).astype(np.float32)),
          "global_cmvn.mean/istd = mean_stat/N, 1/sqrt(max(var_stat/N - mean^2, 1e-20))")
    check(float(w["global_cmvn.istd"][3]) == np.float32(1e10), "variance floored at 1e-20")

    inp = os.path.join(tmp, "fake_inputs")
    write_inputs(inp, 2, 100, input_dim, [100, 61], 5)
    rc, so, se = run([exe, "run", "--model", out, "--inputs", inp])
    last = [ln for ln in so.splitlines() if ln.startswith("encoder output")]
    print(last[0] if last else se.strip())
    check(rc == 0, "layerstep run --model OUT --inputs xs,xs_lens exits 0")
    with open(os.path.join(out, "units.txt"), encoding="utf-8") as f:
        check(f.read() == units, "units.txt next to train.yaml copied into the model")
    tr = [ln for ln in so.splitlines() if ln.startswith("transcript")]
    check(len(tr) == 2 and all(set(ln.split(": ", 1)[1]) <= set("abcdefgh <>0123456789")
                               for ln in tr),
          "run prints a transcript per item in the units' letters")
    # T' = ((100-1)//2 - 1)//2 = 24; valid frames of the 61-frame item: 14
    check(bool(last) and last[0].startswith("encoder output [2, 24, 64]"),
          "output shape [2, 24, 64] (T' = ((T-1)//2-1)//2)")
    dump = os.path.join(tmp, "fake_dump")
    rc, so, se = run([exe, "dump", "--model", out, "--inputs", inp, "--out", dump])
    check(rc == 0, "layerstep dump of the converted model exits 0")
    if rc == 0:
        y = np.load(os.path.join(dump, "output.npy"))
        m = np.load(os.path.join(dump, "output.1.npy"))
        check(y.shape == (2, 24, 64) and np.isfinite(y).all(), "output.npy finite [2,24,64]")
        check(m.shape == (2, 1, 24) and m.sum(axis=-1).ravel().tolist() == [24, 14],
              "output.1 mask: 24 and 14 valid frames")
        cm = np.load(os.path.join(dump, "global_cmvn.npy"))
        xs = np.load(os.path.join(inp, "xs.npy"))
        ref = (xs - w["global_cmvn.mean"]) * w["global_cmvn.istd"]
        check(np.allclose(cm, ref, rtol=1e-6, atol=1e-3), "global_cmvn node = (x - mean) * istd")
    with open(ypath) as f:
        text = f.read()
    import_yaml_compare(text, "train.yaml (2.x style)")


def import_yaml_compare(text, label):
    mini = convert_wenet.yaml_load_minimal(text)
    try:
        import yaml
    except ImportError:
        print(f"note: python3-yaml not installed; minimal reader only for {label}")
        check(isinstance(mini.get("encoder_conf"), dict), f"minimal YAML reader parses {label}")
        return
    check(mini == yaml.safe_load(text), f"minimal YAML reader == PyYAML on {label}")


def test_golden(exe, tmp):
    print("== 2. checkpoint made from the golden conformer_small weights")
    gw, _ = safetensors_np.read(os.path.join(GOLDEN, "weights.safetensors"))
    gcfg = json.load(open(os.path.join(GOLDEN, "config.json")))
    ec = dict(gcfg["encoder_conf"])
    input_dim = ec.pop("input_size")
    mean = gw["global_cmvn.mean"].astype(np.float64)
    istd = gw["global_cmvn.istd"].astype(np.float64)
    N = 360000
    var = 1.0 / istd ** 2
    stats = {"mean_stat": (mean * N).tolist(), "var_stat": ((var + mean ** 2) * N).tolist(),
             "frame_num": N}
    sd = {"encoder." + k: torch.from_numpy(v.copy()) for k, v in gw.items()}
    sd["encoder.encoders.0.conv_module.norm.num_batches_tracked"] = torch.tensor(100)
    sd["encoder.encoders.1.conv_module.norm.num_batches_tracked"] = torch.tensor(100)
    sd["decoder.embed.0.weight"] = torch.randn(11, 64)
    sd["ctc.ctc_lo.weight"] = torch.randn(11, 64)
    d = os.path.join(tmp, "golden_exp")
    os.makedirs(d)
    torch.save({"model": sd, "step": 1000}, os.path.join(d, "final.pt"))
    with open(os.path.join(d, "global_cmvn"), "w") as f:
        json.dump(stats, f)
    ypath = os.path.join(d, "train.yaml")
    with open(ypath, "w") as f:
        f.write(yaml_text_3x(ec, input_dim, "/nonexistent/exp/global_cmvn"))
    out = os.path.join(tmp, "golden_model")
    rc, so, se = run([sys.executable, os.path.join(TOOLS, "convert_wenet.py"), "--checkpoint",
                      os.path.join(d, "final.pt"), "--config", ypath, "--out", out])
    print(so + se, end="")
    check(rc == 0, "convert_wenet.py exits 0 (cmvn_conf path found next to train.yaml)")
    if rc:
        return
    cfg = json.load(open(os.path.join(out, "config.json")))
    check(cfg["encoder_conf"] == gcfg["encoder_conf"],
          "encoder_conf equals the golden fixture's config.json encoder_conf")
    w, _ = safetensors_np.read(os.path.join(out, "weights.safetensors"))
    check(sorted(w) == sorted(gw), "same 88 keys as the golden weights")
    check(all(np.array_equal(w[k], gw[k]) for k in gw if not k.startswith("global_cmvn")),
          "encoder tensors identical to the golden weights")
    cm_err = max(float(np.max(np.abs(w[k] - gw[k]) / np.abs(gw[k]))) for k in
                 ("global_cmvn.mean", "global_cmvn.istd"))
    check(cm_err < 1e-6, f"CMVN from stats round-trips (max rel err {cm_err:.2e})")
    dump = os.path.join(tmp, "golden_dump")
    rc, so, se = run([exe, "dump", "--model", out, "--inputs", os.path.join(GOLDEN, "inputs"),
                      "--out", dump])
    check(rc == 0, "layerstep dump of the converted golden model exits 0")
    rc, so, se = run([exe, "compare", dump, os.path.join(GOLDEN, "acts")])
    summary = [ln for ln in so.splitlines() if "passed" in ln]
    print(summary[-1] if summary else (so + se)[-2000:])
    check(rc == 0, "layerstep compare converted-dump vs conformer_small/acts passes")
    import_yaml_compare(open(ypath).read(), "train.yaml (3.x style)")


def test_cmvn_formats(tmp):
    print("== 3. Kaldi text CMVN == JSON CMVN")
    p = os.path.join(tmp, "kaldi_cmvn")
    ms, vs, n = [10.0, 20.0, 30.0], [120.0, 410.0, 85.0], 10.0
    with open(p, "w") as f:
        f.write(" [\n  " + " ".join(map(str, ms)) + f" {n}\n  " + " ".join(map(str, vs)) +
                " 0 ]\n")
    got = convert_wenet.read_cmvn_stats(p, is_json=False)
    check(got[0] == ms and got[1] == vs and got[2] == n, "Kaldi text stats parsed")
    m, i = convert_wenet.cmvn_from_stats(*got)
    check(np.allclose(m, [1, 2, 3]) and np.allclose(i, [1 / np.sqrt(11), 1 / np.sqrt(37),
                                                        1e10]), "mean/istd from Kaldi stats")


def main():
    if len(sys.argv) != 2:
        print("usage: test_convert_wenet.py path/to/layerstep", file=sys.stderr)
        return 2
    exe = os.path.abspath(sys.argv[1])
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="ls_convert_wenet.") as tmp:
        test_fake(exe, tmp)
        test_golden(exe, tmp)
        test_cmvn_formats(tmp)
    if FAILS:
        print(f"{len(FAILS)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
