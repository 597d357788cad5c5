#!/usr/bin/python3
"""Convert a WeNet checkpoint's Conformer encoder into a layerstep model directory.

    /usr/bin/python3 tools/convert_wenet.py --checkpoint exp/final.pt \\
        --config exp/train.yaml [--cmvn exp/global_cmvn] --out models/my_conformer
    ./build/layerstep run --model models/my_conformer --inputs feats/

Reads
  final.pt     a torch state_dict of the ASR model (optionally nested under
               "model" or "state_dict", optionally with DDP's "module."
               prefix); the encoder's keys start with "encoder."
  train.yaml   encoder / encoder_conf, input_dim, and the CMVN file:
               cmvn_file + is_json_cmvn (WeNet 1.x/2.x) or
               cmvn: global_cmvn + cmvn_conf {cmvn_file, is_json_cmvn} (3.x)
  global_cmvn  {"mean_stat": [...], "var_stat": [...], "frame_num": N}
               (or Kaldi's text format when is_json_cmvn is false)
  units.txt    WeNet's symbol table ("<blank> 0", "a 1", ..., "<sos/eos> N"):
               --units, else units.txt next to train.yaml when there is one;
               copied into the model directory so ids become text
Writes, atomically (temp file, fsync, rename)
  config.json          arch "conformer", encoder_conf under WeNet's own names
                       with input_size = input_dim, global_cmvn.norm_var
  weights.safetensors  the encoder's state_dict keys without "encoder.", F32;
                       global_cmvn.mean / global_cmvn.istd from the stats the
                       way WeNet's load_cmvn computes them:
                         mean = mean_stat / N
                         var  = max(var_stat / N - mean^2, 1e-20)
                         istd = 1 / sqrt(var)
                       (float64, then float32).  The CTC head's
                       ctc.ctc_lo.weight / .bias are kept under their own
                       names (layerstep decodes with them; "output_dim" in
                       config.json = its units).  Left out: num_batches_tracked,
                       the sinusoid tables (*.pe), the decoder and other heads.

If the checkpoint itself holds encoder.global_cmvn.mean/istd (WeNet saves the
buffers) and they differ from the stats, the checkpoint's are used, since
WeNet's load_checkpoint overwrites the buffers built from the file; a warning
says so.  Without any CMVN source the model has no global_cmvn and layerstep
feeds xs to the subsampling unnormalised.

Needs only Debian's python3-torch (for torch.load) and python3-numpy; YAML is
read with python3-yaml when it is installed, else with the small reader here.
"""
import argparse
import hashlib
import json
import math
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402

WENET_REPO = "https://github.com/wenet-e2e/wenet"

# ConformerEncoder keyword arguments layerstep's conformer.c reads; anything
# else in encoder_conf is copied too, but these are coerced from strings
# (PyYAML reads "1e-5" without a dot as a string).
_NUMERIC = {"input_size", "output_size", "attention_heads", "linear_units", "num_blocks",
            "dropout_rate", "positional_dropout_rate", "attention_dropout_rate",
            "static_chunk_size", "positionwise_conv_kernel_size", "cnn_module_kernel",
            "norm_eps", "conv_norm_eps", "conv_inner_factor", "n_kv_head", "head_dim",
            "n_expert", "n_expert_activated"}


# ---------------------------------------------------------------------------
# a small YAML reader (block mappings/sequences, flow [..]/{..}, plain and
# quoted scalars, comments) -- enough for WeNet's train.yaml

class YamlError(ValueError):
    pass


_NUM_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _scalar(text):
    t = text.strip()
    if t == "" or t in ("~", "null", "Null", "NULL"):
        return None
    if t in ("true", "True", "TRUE", "yes", "Yes", "on", "On"):
        return True
    if t in ("false", "False", "FALSE", "no", "No", "off", "Off"):
        return False
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        body = t[1:-1]
        if t[0] == "'":
            return body.replace("''", "'")
        return json.loads('"' + body + '"') if "\\" in body else body
    if re.match(r"^[-+]?\d+$", t):
        return int(t)
    if _NUM_RE.match(t):
        return float(t)
    if t in (".inf", "+.inf"):
        return math.inf
    if t == "-.inf":
        return -math.inf
    return t


def _strip_comment(line):
    """Removes a '# comment' that is not inside quotes."""
    q = None
    for i, ch in enumerate(line):
        if q:
            if ch == q:
                q = None
        elif ch in "'\"":
            q = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _split_flow(body):
    parts, depth, q, cur = [], 0, None, ""
    for ch in body:
        if q:
            cur += ch
            if ch == q:
                q = None
            continue
        if ch in "'\"":
            q = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def _value(text):
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        return [_value(p) for p in _split_flow(t[1:-1])]
    if t.startswith("{") and t.endswith("}"):
        out = {}
        for p in _split_flow(t[1:-1]):
            k, _, v = p.partition(":")
            out[str(_scalar(k))] = _value(v)
        return out
    return _scalar(t)


def _key_split(s):
    """'key: value' -> (key, value text) or None when s is not a mapping entry."""
    q = None
    for i, ch in enumerate(s):
        if q:
            if ch == q:
                q = None
        elif ch in "'\"" and i == 0:
            q = ch
        elif ch == ":" and (i + 1 == len(s) or s[i + 1] in " \t"):
            k = _scalar(s[:i])
            return ("" if k is None else str(k)), s[i + 1:]
    return None


def yaml_load_minimal(text):
    lines = []
    for raw in text.splitlines():
        if raw.strip() in ("---", "...") or raw.lstrip().startswith("%"):
            continue
        s = _strip_comment(raw).rstrip()
        if s.strip():
            if "\t" in s[:len(s) - len(s.lstrip())]:
                raise YamlError(f"tab in indentation: {raw!r}")
            lines.append((len(s) - len(s.lstrip(" ")), s.strip()))
    pos = [0]

    def block(indent):
        if pos[0] >= len(lines):
            return None
        ind, s = lines[pos[0]]
        if s.startswith("- ") or s == "-":
            return seq(ind)
        return mapping(ind)

    def seq(ind):
        out = []
        while pos[0] < len(lines):
            i, s = lines[pos[0]]
            if i != ind or not (s.startswith("- ") or s == "-"):
                break
            rest = s[1:].strip()
            pos[0] += 1
            if not rest:
                out.append(block(ind + 1) if pos[0] < len(lines) and lines[pos[0]][0] > ind else None)
            elif _key_split(rest) and not rest.startswith(("[", "{", "'", '"')):
                # "- key: v" starts a mapping whose indent is the item's text
                lines.insert(pos[0], (ind + 2, rest))
                out.append(mapping(ind + 2))
            else:
                out.append(_value(rest))
        return out

    def mapping(ind):
        out = {}
        while pos[0] < len(lines):
            i, s = lines[pos[0]]
            if i < ind:
                break
            if i > ind:
                raise YamlError(f"unexpected indentation at {s!r}")
            kv = _key_split(s)
            if kv is None:
                raise YamlError(f"expected 'key: value', got {s!r}")
            k, v = kv
            pos[0] += 1
            if v.strip() in ("|", ">", "|-", ">-"):
                raise YamlError(f"block scalars are not supported ({k})")
            if v.strip():
                out[k] = _value(v)
            elif pos[0] < len(lines) and (lines[pos[0]][0] > ind or
                                          (lines[pos[0]][0] == ind and
                                           lines[pos[0]][1].startswith("-"))):
                out[k] = block(lines[pos[0]][0])
            else:
                out[k] = None
        return out

    res = block(0)
    if pos[0] != len(lines):
        raise YamlError(f"could not parse from {lines[pos[0]][1]!r}")
    return {} if res is None else res


def yaml_load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        import yaml  # Debian's python3-yaml, when present
    except ImportError:
        return yaml_load_minimal(text)
    return yaml.safe_load(text) or {}


# ---------------------------------------------------------------------------
# CMVN

def cmvn_from_stats(mean_stat, var_stat, frame_num):
    """WeNet's load_cmvn: per dimension in float64, then float32."""
    mean_stat = np.asarray(mean_stat, dtype=np.float64)
    var_stat = np.asarray(var_stat, dtype=np.float64)
    if mean_stat.shape != var_stat.shape or mean_stat.ndim != 1:
        raise ValueError(f"mean_stat {mean_stat.shape} and var_stat {var_stat.shape} differ")
    n = float(frame_num)
    if not n > 0:
        raise ValueError(f"frame_num must be positive, got {frame_num!r}")
    mean = mean_stat / n
    var = var_stat / n - mean * mean
    var = np.where(var < 1.0e-20, 1.0e-20, var)
    istd = 1.0 / np.sqrt(var)
    return mean.astype(np.float32), istd.astype(np.float32)


def read_cmvn_stats(path, is_json=True):
    """Returns (mean_stat, var_stat, frame_num) from a WeNet JSON or Kaldi text file."""
    if is_json:
        with open(path, encoding="utf-8") as f:
            s = json.load(f)
        for k in ("mean_stat", "var_stat", "frame_num"):
            if k not in s:
                raise ValueError(f"{path}: no '{k}'")
        return s["mean_stat"], s["var_stat"], s["frame_num"]
    with open(path, "rb") as f:
        if f.read(2) == b"\0B":
            raise ValueError(f"{path}: binary Kaldi CMVN is not supported; recompute it "
                             "with compute-cmvn-stats --binary=false")
    with open(path, encoding="utf-8") as f:
        tok = f.read().split()
    if tok[0] != "[" or tok[-1] != "]":
        raise ValueError(f"{path}: not a Kaldi text matrix")
    vals = [float(t) for t in tok[1:-1]]
    dim = (len(vals) - 2) // 2
    return vals[:dim], vals[dim + 1:2 * dim + 1], vals[dim]


def cmvn_source(conf, yaml_dir, override=None):
    """(path or None, is_json) from train.yaml, resolving relative paths."""
    cc = conf.get("cmvn_conf") or {}
    path = override or cc.get("cmvn_file") or conf.get("cmvn_file")
    is_json = cc.get("is_json_cmvn", conf.get("is_json_cmvn", True))
    if override is not None:
        is_json = _looks_json(override)
    if not path:
        return None, is_json
    # as written (absolute, or relative to train.yaml or the cwd), else the
    # file of that name next to train.yaml (an exp/ dir copied elsewhere)
    cands = [path] if os.path.isabs(path) else [os.path.join(yaml_dir, path), path]
    if override is None:
        cands.append(os.path.join(yaml_dir, os.path.basename(path)))
    for c in cands:
        if os.path.isfile(c):
            return c, is_json
    raise FileNotFoundError(f"CMVN file '{path}' named by train.yaml not found (tried "
                            f"{', '.join(cands)}); pass --cmvn PATH or --no-cmvn")


def _looks_json(path):
    with open(path, "rb") as f:
        return f.read(64).lstrip().startswith(b"{")


# ---------------------------------------------------------------------------
# checkpoint

def load_state_dict(path):
    import torch
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch without weights_only
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # pickles holding more than tensors
        if "weights_only" not in str(e) and "Unsupported" not in str(e):
            raise
        obj = torch.load(path, map_location="cpu")
    for k in ("model", "state_dict"):
        if isinstance(obj, dict) and k in obj and isinstance(obj[k], dict):
            obj = obj[k]
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: not a state_dict (got {type(obj).__name__})")
    sd = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd


CTC_KEYS = ("ctc.ctc_lo.weight", "ctc.ctc_lo.bias")


def encoder_weights(sd):
    """state_dict -> (encoder tensors as float32 numpy without 'encoder.', plus the CTC
    head's ctc.ctc_lo.* when both are there; dropped keys)."""
    has_prefix = any(k.startswith("encoder.") for k in sd)
    keep_ctc = all(k in sd and sd[k].is_floating_point() for k in CTC_KEYS)
    out, dropped = {}, []
    for k, v in sd.items():
        if keep_ctc and k in CTC_KEYS:
            out[k] = v.detach().to("cpu").float().contiguous().numpy()
            continue
        if has_prefix:
            if not k.startswith("encoder."):
                dropped.append(k)
                continue
            k2 = k[len("encoder."):]
        else:  # a bare encoder state_dict
            k2 = k
        if k2.endswith("num_batches_tracked") or k2 == "pe" or k2.endswith(".pe"):
            dropped.append(k)
            continue
        if not v.is_floating_point():
            raise ValueError(f"'{k}' is {v.dtype}, expected a floating-point tensor")
        out[k2] = v.detach().to("cpu").float().contiguous().numpy()
    if not any(k.startswith("embed.") for k in out) or not any(k.startswith("encoders.") for k in out):
        raise ValueError("no Conformer encoder keys (embed.*, encoders.N.*) in the checkpoint")
    return out, dropped


# ---------------------------------------------------------------------------

def _coerce(conf):
    out = {}
    for k, v in conf.items():
        if k in _NUMERIC and isinstance(v, str) and _NUM_RE.match(v.strip()):
            v = float(v) if re.search(r"[.eE]", v) else int(v)
        out[k] = v
    return out


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_units(path):
    """Checks a WeNet units.txt ('TOKEN ID' per line, each id once); returns its bytes."""
    with open(path, "rb") as f:
        data = f.read()
    seen = set()
    for n, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise ValueError(f"{path}:{n}: expected 'TOKEN ID', got {line[:60]!r}")
        if int(parts[1]) in seen:
            raise ValueError(f"{path}:{n}: id {parts[1]} given twice")
        seen.add(int(parts[1]))
    if not seen:
        raise ValueError(f"{path}: no units")
    return data


def convert(checkpoint, config, out_dir, cmvn=None, no_cmvn=False, name=None, log=print,
            units=None):
    conf = yaml_load(config)
    if not isinstance(conf, dict):
        raise ValueError(f"{config}: not a YAML mapping")
    enc = conf.get("encoder", "conformer")
    if enc != "conformer":
        raise ValueError(f"{config}: encoder is '{enc}', only 'conformer' is supported")
    ec = conf.get("encoder_conf")
    if not isinstance(ec, dict):
        raise ValueError(f"{config}: no encoder_conf mapping")
    input_dim = conf.get("input_dim", ec.get("input_size"))
    if input_dim is None:
        fb = ((conf.get("dataset_conf") or {}).get("fbank_conf") or {})
        input_dim = fb.get("num_mel_bins")
    if input_dim is None:
        raise ValueError(f"{config}: no input_dim (the fbank size)")
    encoder_conf = {"input_size": int(input_dim)}
    encoder_conf.update({k: v for k, v in _coerce(ec).items() if k != "input_size"})

    sd = load_state_dict(checkpoint)
    weights, dropped = encoder_weights(sd)

    # CMVN: stats file -> mean/istd; the checkpoint's buffers win on mismatch
    cmvn_note = None
    ck_mean, ck_istd = weights.pop("global_cmvn.mean", None), weights.pop("global_cmvn.istd", None)
    path, is_json = (None, True) if no_cmvn else cmvn_source(conf, os.path.dirname(
        os.path.abspath(config)), cmvn)
    mean = istd = None
    if path:
        mean, istd = cmvn_from_stats(*read_cmvn_stats(path, is_json))
        if mean.shape[0] != encoder_conf["input_size"]:
            raise ValueError(f"{path}: {mean.shape[0]} CMVN dimensions, input_dim is "
                             f"{encoder_conf['input_size']}")
        cmvn_note = f"from {os.path.basename(path)} stats (WeNet load_cmvn)"
        if ck_mean is not None and ck_istd is not None:
            same = (ck_mean.shape == mean.shape and
                    np.allclose(ck_mean, mean, rtol=1e-5, atol=1e-6) and
                    np.allclose(ck_istd, istd, rtol=1e-5, atol=1e-6))
            if not same:
                log(f"warning: {path} disagrees with the checkpoint's global_cmvn buffers; "
                    "using the checkpoint's (what WeNet runs after load_checkpoint)")
                mean, istd = ck_mean, ck_istd
                cmvn_note = "from the checkpoint's buffers (the stats file disagreed)"
    elif ck_mean is not None and ck_istd is not None and not no_cmvn:
        mean, istd = ck_mean, ck_istd
        cmvn_note = "from the checkpoint's buffers (no stats file in train.yaml)"
    if mean is not None:
        weights["global_cmvn.mean"] = mean.astype(np.float32)
        weights["global_cmvn.istd"] = istd.astype(np.float32)

    if units is None:
        nxt = os.path.join(os.path.dirname(os.path.abspath(config)), "units.txt")
        units = nxt if os.path.isfile(nxt) else None
    units_bytes = read_units(units) if units else None

    os.makedirs(out_dir, exist_ok=True)
    model_name = name or os.path.basename(os.path.normpath(out_dir))
    cfg = {
        "arch": "conformer",
        "name": model_name,
        "reference": {"repo": WENET_REPO,
                      "files": ["wenet/transformer/encoder.py (ConformerEncoder)"],
                      "note": "converted from a WeNet checkpoint by tools/convert_wenet.py"},
        "class": "wenet.transformer.encoder.ConformerEncoder",
        "encoder_conf": encoder_conf,
        "forward": {"call": "encoder(xs, xs_lens)",
                    "returns": "(xs [B,T',D], masks [B,1,T'] bool, True=valid)"},
        "converted_from": {
            "checkpoint": os.path.basename(checkpoint),
            "checkpoint_sha256": _sha256(checkpoint),
            "train_yaml": os.path.basename(config),
            "cmvn_file": os.path.basename(path) if path else None,
            "dropped_keys": len(dropped),
        },
    }
    if "ctc.ctc_lo.weight" in weights:
        cfg["output_dim"] = int(weights["ctc.ctc_lo.weight"].shape[0])
        cfg["ctc_blank"] = int((conf.get("ctc_conf") or {}).get("ctc_blank_id", 0))
        cfg["ctc"] = {"class": "wenet.transformer.ctc.CTC",
                      "points": "ctc.ctc_lo, ctc.log_softmax, then topk_index and "
                                "ctc_greedy_search (WeNet's ctc_greedy_search)"}
    if mean is not None:
        cfg["global_cmvn"] = {"class": "wenet.transformer.cmvn.GlobalCMVN", "norm_var": True,
                              "buffers": ["global_cmvn.mean", "global_cmvn.istd"],
                              "formula": "(x - mean) * istd", "source": cmvn_note}
    fb = ((conf.get("dataset_conf") or {}).get("fbank_conf") or {})
    if fb:
        cfg["fbank"] = {k: v for k, v in fb.items() if isinstance(v, (int, float, str, bool))}
    safetensors_np.write(os.path.join(out_dir, "weights.safetensors"), weights,
                         {"arch": "conformer", "name": model_name,
                          "format": "pt state_dict, reference key names",
                          "converted_by": "tools/convert_wenet.py"})
    safetensors_np.write_bytes_atomic(os.path.join(out_dir, "config.json"),
                                      json.dumps(cfg, indent=1) + "\n")
    if units_bytes is not None:
        safetensors_np.write_bytes_atomic(os.path.join(out_dir, "units.txt"), units_bytes)
    log(f"wrote {out_dir}/: {len(weights)} tensors "
        f"({sum(int(a.size) for a in weights.values())} values), dropped {len(dropped)} keys"
        + (f"; global_cmvn {cmvn_note}" if cmvn_note else "; no global_cmvn")
        + ("; CTC head kept" if "ctc.ctc_lo.weight" in weights else "")
        + (f"; units from {units}" if units else ""))
    return cfg, weights, dropped


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--checkpoint", required=True, help="WeNet final.pt (a state_dict)")
    ap.add_argument("--config", required=True, help="WeNet train.yaml")
    ap.add_argument("--out", required=True, help="layerstep model directory to write")
    ap.add_argument("--cmvn", help="CMVN stats file (default: the one train.yaml names)")
    ap.add_argument("--no-cmvn", action="store_true", help="leave global_cmvn out")
    ap.add_argument("--name", help="model name in config.json (default: the out dir's name)")
    ap.add_argument("--units", help="WeNet units.txt (default: units.txt next to train.yaml)")
    a = ap.parse_args(argv)
    try:
        convert(a.checkpoint, a.config, a.out, a.cmvn, a.no_cmvn, a.name, units=a.units)
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as e:
        print(f"convert_wenet: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
