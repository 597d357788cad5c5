#!/usr/bin/python3
"""Minimal safetensors reader/writer on numpy (no `safetensors` package).

Layout (the one layerstep and the golden fixtures use): 8-byte little-endian
header length N, then N bytes of JSON
  {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
   "__metadata__": {str: str}}
padded with spaces to a multiple of 8, then the raw little-endian data.
Tensors are written sorted by name, C-contiguous, with no gaps; offsets are
relative to the start of the data.  Writing is atomic: a temporary file in
the target directory, fsync, rename.
"""
import json
import os
import struct
import tempfile

import numpy as np

_TO_NP = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}


def _dtype_name(dt):
    dt = np.dtype(dt)
    if dt.byteorder == ">":
        raise ValueError(f"big-endian dtype {dt} (convert first)")
    for k, v in _TO_NP.items():
        if np.dtype(v).kind == dt.kind and np.dtype(v).itemsize == dt.itemsize:
            return k
    raise ValueError(f"dtype {dt} has no safetensors name")


def read(path):
    """Returns (dict name -> numpy array, metadata dict)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = memoryview(blob)[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, e in header.items():
        dt = np.dtype(_TO_NP[e["dtype"]])
        b, end = e["data_offsets"]
        shape = tuple(int(s) for s in e["shape"])
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not 0 <= b <= end <= len(data) or end - b != count * dt.itemsize:
            raise ValueError(f"{path}: '{name}' has bad data_offsets {b}..{end}")
        out[name] = np.frombuffer(data[b:end], dtype=dt).reshape(shape).copy()
    return out, meta


def _public(fd):
    """mkstemp makes 0600 files; give them the usual umask-based mode."""
    mask = os.umask(0)
    os.umask(mask)
    os.fchmod(fd, 0o666 & ~mask)


def write(path, tensors, metadata=None):
    """Writes dict name -> array (any numpy-convertible) atomically."""
    names = sorted(tensors)
    header, chunks, off = {}, [], 0
    for name in names:
        a = np.ascontiguousarray(np.asarray(tensors[name]))
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        raw = a.tobytes(order="C")
        header[name] = {"dtype": _dtype_name(a.dtype), "shape": list(a.shape),
                        "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp.", suffix=".safetensors", dir=d)
    try:
        _public(fd)
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path, data):
    """Writes bytes (or str) to path via temp + fsync + rename."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp.", dir=d)
    try:
        _public(fd)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_npy_atomic(path, arr):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp.", suffix=".npy", dir=d)
    try:
        _public(fd)
        with os.fdopen(fd, "wb") as f:
            np.save(f, np.ascontiguousarray(arr))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
