#!/usr/bin/python3
"""Dump every module output of a PyTorch model in layerstep's dump layout.

    from torch_dump import dump
    dump(model, (x, mask), "ref_dump")          # then: layerstep compare ours/ ref_dump/

or from the shell, with a Python file that defines build() -> (model, inputs):

    /usr/bin/python3 tools/torch_dump.py my_model.py --out ref_dump [--inputs DIR]

With --inputs DIR, build(inputs) receives a dict name -> torch tensor loaded
from DIR/*.npy (the same files `layerstep run --inputs DIR` reads).

Layout (the same as `layerstep dump` and the golden fixtures' acts/):
  <module path>.npy        a module's forward output (the root is "output")
  <path>.<i>.npy           tuple/list element i > 0 (nested: <path>.<i>.<j>)
  <path>.call<n>.npy       the n-th extra call of a module used more than once
  manifest.json            {"points": [{name, file, shape, dtype, module, op, order}]}
Every file is written to a temporary name, fsynced and renamed, so an
interrupted dump leaves only complete files.  Needs only Debian's
python3-torch and python3-numpy.
"""
import argparse
import importlib.util
import json
import os
import sys
import tempfile

import numpy as np
import torch

_DTYPES = {torch.float32: np.float32, torch.float64: np.float32, torch.float16: np.float32,
           torch.bfloat16: np.float32, torch.int64: np.int64, torch.int32: np.int64,
           torch.bool: np.bool_, torch.uint8: np.bool_}


def _atomic_save(path, arr):
    d = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp.", suffix=".npy", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, arr)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _flatten(value, name, top=True):
    """Yields (name, tensor) for a module output: element 0 of the output
    tuple keeps the name; nested elements are always numbered (P.1.0)."""
    if isinstance(value, torch.Tensor):
        if value.numel() > 0:
            yield name, value
    elif isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            yield from _flatten(v, name if (top and i == 0) else f"{name}.{i}", False)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(v, f"{name}.{k}", False)


def dump(model, inputs, out_dir, only=None):
    """Runs model(*inputs) in eval/no_grad and writes every module output."""
    os.makedirs(out_dir, exist_ok=True)
    points, calls, hooks = [], {}, []

    def record(path, klass):
        def hook(_module, _inp, out):
            base = path or "output"
            n = calls.get(base, 0)
            calls[base] = n + 1
            name = base if n == 0 else f"{base}.call{n}"
            for pname, t in _flatten(out, name):
                if only and not __import__("fnmatch").fnmatchcase(pname, only):
                    continue
                arr = t.detach().cpu()
                arr = arr.to(torch.float32) if arr.is_floating_point() else arr
                arr = arr.numpy().astype(_DTYPES.get(t.dtype, np.float32), copy=False)
                _atomic_save(os.path.join(out_dir, pname + ".npy"), np.ascontiguousarray(arr))
                points.append({"name": pname, "file": pname + ".npy", "shape": list(arr.shape),
                               "dtype": {np.dtype(np.float32): "float32", np.dtype(np.int64): "int64",
                                         np.dtype(np.bool_): "bool"}[arr.dtype],
                               "module": path, "op": klass, "order": len(points)})
        return hook

    for path, module in model.named_modules():
        hooks.append(module.register_forward_hook(record(path, type(module).__name__)))
    try:
        model.eval()
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in hooks:
            h.remove()
    manifest = {"generated_by": "tools/torch_dump.py", "torch": torch.__version__, "points": points}
    text = json.dumps(manifest, indent=1).encode()
    fd, tmp = tempfile.mkstemp(prefix=".tmp.", dir=out_dir)
    with os.fdopen(fd, "wb") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(out_dir, "manifest.json"))
    return points


def _load_inputs(d):
    out = {}
    for f in sorted(os.listdir(d)):
        if f.endswith(".npy"):
            out[f[:-4]] = torch.from_numpy(np.load(os.path.join(d, f)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_file", help="Python file defining build([inputs]) -> (model, inputs tuple)")
    ap.add_argument("--out", required=True, help="dump directory")
    ap.add_argument("--inputs", help="directory of .npy inputs passed to build()")
    ap.add_argument("--only", help="glob on point names")
    a = ap.parse_args(argv)
    spec = importlib.util.spec_from_file_location("user_model", a.model_file)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model, inputs = mod.build(_load_inputs(a.inputs)) if a.inputs else mod.build()
    pts = dump(model, inputs, a.out, a.only)
    print(f"wrote {len(pts)} points to {a.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
