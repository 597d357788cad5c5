#!/usr/bin/python3
"""CTC in layerstep against live PyTorch references, and its greedy
decoding against a Python greedy CTC decode.

    /usr/bin/python3 tools/test_ctc_ref.py build/layerstep

1. Conformer + WeNet's CTC head.  tests/data/conformer_small (its weights
   golden-tested against WeNet's ConformerEncoder at 01546996) gets a
   ctc.ctc_lo Linear(64, 30) made by torch.nn.Linear after a seed, in a
   temporary copy; `layerstep dump` runs it on the committed padded batch
   (2 utterances, 47 and 38 fbank frames).  The reference is CTC.log_softmax
   = F.log_softmax(self.ctc_lo(hs_pad), dim=2) applied to WeNet's own
   encoder output (the fixture's acts/output.npy):
     - with LS_WENET_GIT=<a git dir of github.com/wenet-e2e/wenet> (or
       LS_WENET=<a checkout>), WeNet's own wenet/models/transformer/ctc.py
       and wenet/utils/ctc_utils.py are taken at commit 01546996 (git show)
       and used: CTC(odim, encoder_output_size) with the same weights, and
       remove_duplicates_and_blank for the decode;
     - without, a plain-torch copy of those two functions (below, line by
       line) is used, and the output says so.
   The greedy decode follows ctc_greedy_search (search.py at 01546996):
   topk(1), padded frames set to the blank, remove_duplicates_and_blank.
2. wav2vec2 + aux.  tests/data/wav2vec2_small (aux_num_out 32, a padded
   batch of 960 and 701 samples) is run by torchaudio live
   (wav2vec2_model(**kwargs), its state_dict from the model's safetensors),
   then F.log_softmax(logits, -1); greedy decode as torchaudio's tutorial
   decoder does (argmax, unique_consecutive, drop the blank) on the valid
   frames.
Compared: the logits and log-probs (atol 1e-5 + rtol 1e-4 * max|ref|, the
golden tolerance), topk_index and ctc_greedy_search exactly, both against a
decode of the reference's log-probs and of layerstep's own.
Exits 77 (meson's skip) without python3-torch / python3-torchaudio.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    import torchaudio
except ImportError as e:
    print(f"python3-torch / python3-torchaudio not installed ({e}): skip")
    sys.exit(77)

import safetensors_np  # noqa: E402

WENET_COMMIT = "015469960db73eb19c49a48c020d5ac9db69bae5"
DATA = os.path.join(ROOT, "tests", "data")
FAILS = []


# ---- plain-torch copies of WeNet's code (used without a WeNet checkout) ----

class PlainCTC(torch.nn.Module):
    """wenet/models/transformer/ctc.py CTC, the inference half."""

    def __init__(self, odim, encoder_output_size):
        super().__init__()
        self.ctc_lo = torch.nn.Linear(encoder_output_size, odim)

    def log_softmax(self, hs_pad):
        return F.log_softmax(self.ctc_lo(hs_pad), dim=2)


def plain_remove_duplicates_and_blank(hyp, blank_id=0):
    """wenet/utils/ctc_utils.py remove_duplicates_and_blank."""
    new_hyp = []
    cur = 0
    while cur < len(hyp):
        if hyp[cur] != blank_id:
            new_hyp.append(hyp[cur])
        prev = cur
        while cur < len(hyp) and hyp[cur] == hyp[prev]:
            cur += 1
    return new_hyp


def wenet_sources():
    """(CTC class, remove_duplicates_and_blank, where from)."""
    git = os.environ.get("LS_WENET_GIT")
    co = os.environ.get("LS_WENET")
    if not git and co:
        git = os.path.join(co, ".git")
    if not git:
        return PlainCTC, plain_remove_duplicates_and_blank, \
            "a plain-torch copy of WeNet's CTC.log_softmax and remove_duplicates_and_blank " \
            "(set LS_WENET_GIT to use WeNet's own)"
    tmp = tempfile.mkdtemp(prefix="ls_wenet_ctc.")
    mods = {}
    for rel, name in (("wenet/models/transformer/ctc.py", "wenet_ctc"),
                      ("wenet/utils/ctc_utils.py", "wenet_ctc_utils")):
        src = subprocess.run(["git", "--git-dir", git, "show", f"{WENET_COMMIT}:{rel}"],
                             check=True, capture_output=True).stdout
        path = os.path.join(tmp, name + ".py")
        with open(path, "wb") as f:
            f.write(src)
        spec = importlib.util.spec_from_file_location(name, path)
        mods[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mods[name])
    shutil.rmtree(tmp)
    return mods["wenet_ctc"].CTC, mods["wenet_ctc_utils"].remove_duplicates_and_blank, \
        f"WeNet's own ctc.py and ctc_utils.py at {WENET_COMMIT[:8]} from {git}"


# ---- helpers ----

def check_close(what, got, ref):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    if got.shape != ref.shape:
        FAILS.append(f"{what}: shape {got.shape}, reference {ref.shape}")
        return
    if not np.array_equal(np.isfinite(got), np.isfinite(ref)):
        FAILS.append(f"{what}: NaN/Inf in different places")
        return
    tol = 1e-5 + 1e-4 * float(np.max(np.abs(ref)))
    err = float(np.max(np.abs(got - ref)))
    print(f"  {what:28s} max |diff| {err:.3g} (tolerance {tol:.3g})")
    if err > tol:
        FAILS.append(f"{what}: max |diff| {err:.3g} > {tol:.3g}")


def check_equal(what, got, ref):
    if list(got) != list(ref):
        FAILS.append(f"{what}: got {list(got)}, reference {list(ref)}")
    else:
        print(f"  {what:28s} equal ({len(ref)} ids)")


def hyps_of(collapsed):
    """ctc_greedy_search rows without the -1 padding."""
    return [[int(v) for v in row if v >= 0] for row in collapsed]


def dump(exe, mdir, inputs, out):
    subprocess.run([exe, "dump", "--model", mdir, "--inputs", inputs, "--out", out],
                   check=True, stdout=subprocess.DEVNULL)
    return lambda n: np.load(os.path.join(out, n + ".npy"))


# ---- 1. Conformer + CTC ----

def conformer(exe, tmp):
    CTC, rdb, where = wenet_sources()
    print(f"conformer_small + ctc: reference {where}")
    src = os.path.join(DATA, "conformer_small")
    mdir = os.path.join(tmp, "conformer_ctc")
    os.makedirs(mdir)
    shutil.copy(os.path.join(src, "config.json"), mdir)
    weights, _ = safetensors_np.read(os.path.join(src, "weights.safetensors"))
    D, V = 64, 30
    torch.manual_seed(17)
    ctc = CTC(V, D).eval()
    with torch.no_grad():
        ctc.ctc_lo.weight.mul_(8.0)  # sharper than init, so the best unit varies
    weights["ctc.ctc_lo.weight"] = ctc.ctc_lo.weight.detach().numpy().copy()
    weights["ctc.ctc_lo.bias"] = ctc.ctc_lo.bias.detach().numpy().copy()
    safetensors_np.write(os.path.join(mdir, "weights.safetensors"), weights)
    got = dump(exe, mdir, os.path.join(src, "inputs"), os.path.join(tmp, "conformer_dump"))

    enc = torch.from_numpy(np.load(os.path.join(src, "acts", "output.npy")))
    valid = np.load(os.path.join(src, "acts", "output.1.npy"))[:, 0, :]  # [B,T'] True = valid
    with torch.no_grad():
        ref_lo = ctc.ctc_lo(enc).numpy()
        ref_lp = ctc.log_softmax(enc)
    check_close("ctc.ctc_lo", got("ctc.ctc_lo"), ref_lo)
    check_close("ctc.log_softmax", got("ctc.log_softmax"), ref_lp.numpy())

    def greedy(lp):
        # ctc_greedy_search: topk(1), padded frames -> blank, collapse
        lp = torch.as_tensor(lp)
        B, T = lp.shape[0], lp.shape[1]
        _, top = lp.topk(1, dim=2)
        top = top.view(B, T).masked_fill_(torch.from_numpy(~valid), 0)
        return top.numpy(), [rdb(h.tolist(), 0) for h in top]

    ours_top, ours_hyps = got("topk_index"), hyps_of(got("ctc_greedy_search"))
    for name, lp in (("reference log-probs", ref_lp), ("layerstep's log-probs",
                                                        got("ctc.log_softmax"))):
        top, hyps = greedy(lp)
        check_equal(f"topk_index ({name})", ours_top.ravel(), top.ravel())
        for b in range(len(hyps)):
            check_equal(f"hyp {b} ({name})", ours_hyps[b], hyps[b])
    print(f"  hyps: {ours_hyps}")
    if all(len(h) < 3 for h in ours_hyps):
        FAILS.append("conformer: decodes too short to test the collapse")


# ---- 2. wav2vec2 + aux ----

def wav2vec2(exe, tmp):
    print("wav2vec2_small + aux: reference torchaudio " + torchaudio.__version__ + " live")
    src = os.path.join(DATA, "wav2vec2_small")
    with open(os.path.join(src, "config.json")) as f:
        kw = json.load(f)["kwargs"]
    model = torchaudio.models.wav2vec2_model(**kw).eval()
    sd = {k: torch.from_numpy(v) for k, v in
          safetensors_np.read(os.path.join(src, "weights.safetensors"))[0].items()}
    model.load_state_dict(sd)
    wav = torch.from_numpy(np.load(os.path.join(src, "inputs", "waveforms.npy")))
    lens = torch.from_numpy(np.load(os.path.join(src, "inputs", "lengths.npy")))
    with torch.no_grad():
        logits, out_lens = model(wav, lens)
        ref_lp = F.log_softmax(logits, dim=-1)
    got = dump(exe, src, os.path.join(src, "inputs"), os.path.join(tmp, "w2v_dump"))
    check_close("aux (output)", got("output"), logits.numpy())
    check_close("log_softmax", got("log_softmax"), ref_lp.numpy())

    def greedy(lp):
        # torchaudio tutorial GreedyCTCDecoder, on each item's valid frames
        lp = torch.as_tensor(lp)
        hyps = []
        for b in range(lp.shape[0]):
            idx = torch.argmax(lp[b, :int(out_lens[b])], dim=-1)
            idx = torch.unique_consecutive(idx, dim=-1)
            hyps.append([int(i) for i in idx if i != 0])
        return hyps

    ours = hyps_of(got("ctc_greedy_search"))
    for name, lp in (("reference log-probs", ref_lp), ("layerstep's log-probs",
                                                        got("log_softmax"))):
        hyps = greedy(lp)
        for b in range(len(hyps)):
            check_equal(f"hyp {b} ({name})", ours[b], hyps[b])
    print(f"  hyp lengths: {[len(h) for h in ours]}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    exe = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="ls_ctc_ref.")
    try:
        conformer(exe, tmp)
        wav2vec2(exe, tmp)
    finally:
        shutil.rmtree(tmp)
    if FAILS:
        print("FAILED:\n  " + "\n  ".join(FAILS))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
