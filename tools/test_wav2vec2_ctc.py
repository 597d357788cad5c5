#!/usr/bin/python3
"""CI check of data/wav2vec2_ctc (the wav2vec2-CTC of tools/train_wav2vec2_ctc.py)
against committed torchaudio outputs; never trains, never needs torch.

    /usr/bin/python3 tools/test_wav2vec2_ctc.py build/layerstep [MODEL_DIR]
    /usr/bin/python3 tools/test_wav2vec2_ctc.py --write-refs [MODEL_DIR]   # needs torch

tests/data/wav2vec2_ctc/ holds two test-split clips (voices never heard in
training) and, in the layout of tools/eval_speech.py --write-refs,
refs/wav2vec2_ctc/<clip>/log_softmax.npy ([1, T, 31] float32: torchaudio's
F.log_softmax of the model's logits, tools/w2v_ctc_ref.py) and
refs/wav2vec2_ctc/transcripts.tsv (clip, TAB, torchaudio's greedy transcript).
clips.tsv says what each clip says.

Checked, per clip: `layerstep dump --wav CLIP --only log_softmax` has the
reference's shape and |layerstep - torchaudio| <= ATOL everywhere;
`layerstep transcribe` prints the reference's transcript, which is also
what the clip says; plus the model dir's tokens.txt / ctc_blank are the
shared units.  ATOL 2e-4: the largest difference measured was 3.1e-5
(100 test utterances, an earlier checkpoint of the same model) and 2.3e-5
on these two clips.
Exits 77 (meson's skip) without numpy.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(ROOT, "tests", "data", "wav2vec2_ctc")
REFS = os.path.join(DATA, "refs", "wav2vec2_ctc")
ATOL = 2e-4
UNITS = ["<blank>", "<unk>", "'", "\u2581"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] \
    + ["<sos/eos>"]


def read_tsv(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                k, _, v = line.rstrip("\n").partition("\t")
                out.append((k, v))
    return out


def write_refs(model):
    import numpy as np
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, HERE)
    from w2v_ctc_ref import load_reference
    ref = load_reference(model)
    lines = []
    for clip, _ in read_tsv(os.path.join(DATA, "clips.tsv")):
        lp, text = ref(os.path.join(DATA, clip))
        os.makedirs(os.path.join(REFS, clip), exist_ok=True)
        np.save(os.path.join(REFS, clip, "log_softmax.npy"), lp[None].astype(np.float32))
        lines.append(f"{clip}\t{text}\n")
        print(f"{clip}: {text} ({lp.shape[0]} frames)")
    with open(os.path.join(REFS, "transcripts.tsv"), "w", encoding="utf-8") as f:
        f.writelines(lines)
    return 0


def main():
    args = sys.argv[1:]
    if args and args[0] == "--write-refs":
        return write_refs(args[1] if len(args) > 1 else os.path.join(ROOT, "data",
                                                                      "wav2vec2_ctc"))
    if len(args) not in (1, 2):
        print("usage: test_wav2vec2_ctc.py path/to/layerstep [MODEL_DIR]", file=sys.stderr)
        return 2
    try:
        import numpy as np
    except ImportError:
        print("numpy not installed: skip")
        return 77
    exe = os.path.abspath(args[0])
    model = args[1] if len(args) == 2 else os.path.join(ROOT, "data", "wav2vec2_ctc")
    fails = []

    def check(ok, msg):
        print(("ok   " if ok else "FAIL ") + msg)
        if not ok:
            fails.append(msg)

    import json
    cfg = json.load(open(os.path.join(model, "config.json")))
    toks = [ln.split() for ln in open(os.path.join(model, "tokens.txt"), encoding="utf-8")
            if ln.strip()]
    check(toks == [[u, str(i)] for i, u in enumerate(UNITS)] and cfg.get("ctc_blank") == 0
          and cfg["kwargs"]["aux_num_out"] == len(UNITS),
          "tokens.txt is the shared 31 units, ctc_blank 0, aux_num_out 31")

    said = dict(read_tsv(os.path.join(DATA, "clips.tsv")))
    want = read_tsv(os.path.join(REFS, "transcripts.tsv"))
    check(sorted(c for c, _ in want) == sorted(said), "references cover clips.tsv")
    paths = [os.path.join(DATA, c) for c, _ in want]
    r = subprocess.run([exe, "transcribe", "--model", model] + paths, capture_output=True,
                       text=True, timeout=300)
    got = {os.path.basename(ln.split("\t")[0]): ln.split("\t", 1)[1]
           for ln in r.stdout.splitlines() if "\t" in ln}
    check(r.returncode == 0, f"layerstep transcribe exits 0 ({r.stderr.strip()[:200]})")
    with tempfile.TemporaryDirectory() as tmp:
        for clip, text in want:
            check(got.get(clip) == text,
                  f"{clip}: layerstep '{got.get(clip)}', torchaudio '{text}'")
            check(text == said[clip], f"{clip}: torchaudio '{text}', the clip says "
                                      f"'{said[clip]}'")
            out = os.path.join(tmp, clip)
            r = subprocess.run([exe, "dump", "--model", model, "--wav", os.path.join(DATA, clip),
                                "--out", out, "--only", "log_softmax"],
                               capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                check(False, f"{clip}: layerstep dump: {r.stderr.strip()[:200]}")
                continue
            mine = np.load(os.path.join(out, "log_softmax.npy"))
            ref = np.load(os.path.join(REFS, clip, "log_softmax.npy"))
            if mine.shape != ref.shape:
                check(False, f"{clip}: log_softmax {mine.shape}, reference {ref.shape}")
                continue
            d = float(np.abs(mine.astype(np.float64) - ref).max())
            check(d <= ATOL, f"{clip}: log-probs {ref.shape}, max |layerstep - torchaudio| "
                             f"{d:.2e} <= {ATOL:g}")
    print("all checks passed" if not fails else f"{len(fails)} check(s) failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
