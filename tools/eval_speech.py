#!/usr/bin/python3
"""CER and WER of the trained speech models, layerstep against the reference.

    /usr/bin/python3 tools/eval_speech.py --corpus corpus --wenet /path/to/wenet \\
        --conformer-exp exp/conformer_ctc --w2v-exp exp/wav2vec2_ctc

For each model it transcribes the corpus's held-out split (default: test,
voices never heard in training) twice: with `layerstep transcribe` on the
converted model under data/ and with the reference (WeNet's
ASRModel.decode ctc_greedy_search on the experiment's final.pt; torchaudio's
wav2vec2_model with an argmax / unique_consecutive / drop-blank decode),
then prints CER and WER of both against the text, how many transcripts are
identical between the two, and the largest log-prob difference on the first
--logprob-check utterances (`layerstep dump` of the log_softmax point).
Exit 1 when a transcript differs or a log-prob is off by more than --atol.

With --write-refs DIR and WAVs after it, it writes instead what CI checks
layerstep against (it never runs the reference): for each model and WAV,
DIR/<model>/<wav name>/<log_softmax point>.npy ([1, T, V] float32) and
DIR/<model>/transcripts.tsv (WAV name, TAB, the reference's text).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
import train_conformer_ctc as tcc  # noqa: E402


def rates(hyps, refs):
    """(CER, WER) over the whole split: edit distance / reference length."""
    ce = sum(tcc.edit_distance(h, r) for h, r in zip(hyps, refs))
    cn = sum(len(r) for r in refs)
    we = sum(tcc.edit_distance(h.split(), r.split()) for h, r in zip(hyps, refs))
    wn = sum(len(r.split()) for r in refs)
    return ce / max(1, cn), we / max(1, wn)


def layerstep_transcribe(exe, model, paths, chunk=200):
    """{path: text} from `layerstep transcribe` (FILE<TAB>TEXT per line)."""
    out = {}
    for s in range(0, len(paths), chunk):
        p = subprocess.run([exe, "transcribe", "--model", model] + paths[s:s + chunk],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"layerstep transcribe failed ({p.returncode}): {p.stderr.strip()}")
        for line in p.stdout.splitlines():
            f, _, t = line.partition("\t")
            out[f] = t.strip()
    return out


def layerstep_log_probs(exe, model, wav):
    """The log_softmax point of `layerstep dump`, as [T, V]."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "dump")
        subprocess.run([exe, "dump", "--model", model, "--wav", wav, "--out", out,
                        "--only", "*log_softmax"], check=True, capture_output=True)
        names = [n for n in os.listdir(out) if n.endswith("log_softmax.npy")]
        if len(names) != 1:
            raise SystemExit(f"{model}: expected one log_softmax point, got {names}")
        return np.load(os.path.join(out, names[0]))[0]


class WenetReference:
    """WeNet's ASRModel from an experiment directory (final.pt, train.yaml)."""

    def __init__(self, wenet, exp):
        tcc.use_wenet(wenet)
        from wenet.utils.init_model import init_model
        import yaml
        with open(os.path.join(exp, "train.yaml"), encoding="utf-8") as f:
            cfg = yaml.safe_load(f)
        # WeNet's load_checkpoint passes torch.load(mmap=True), which needs
        # torch >= 2.1; Debian's 1.13 loads the same state_dict without it
        self.model, _ = init_model(argparse.Namespace(), cfg)
        self.model.load_state_dict(torch.load(os.path.join(exp, "final.pt"), map_location="cpu"))
        self.model.eval()

    def __call__(self, wav):
        # read as layerstep reads it (channels mixed, other rates resampled)
        from w2v_ctc_ref import read_wav
        x = tcc.fbank(torch.from_numpy(read_wav(wav))[None])[None]
        lens = torch.tensor([x.shape[1]], dtype=torch.int32)
        with torch.no_grad():
            res = self.model.decode(["ctc_greedy_search"], x, lens)
            enc, _ = self.model.encoder(x, lens)
            lp = self.model.ctc.log_softmax(enc)[0].numpy()
        return lp, tcc.ids_to_text(res["ctc_greedy_search"][0].tokens)


def evaluate(name, exe, model_dir, ref, utts, check, atol):
    paths = [p for _, p, _ in utts]
    refs = [t.strip().lower() for _, _, t in utts]
    ls = layerstep_transcribe(exe, model_dir, paths)
    # spaces as layerstep prints them: one between words (two ▁ in a row
    # are one gap)
    ls_h = [" ".join(ls.get(p, "").split()) for p in paths]
    ref_out = [ref(p) for p in paths]
    ref_h = [" ".join(t.split()) for _, t in ref_out]
    same = sum(a == b for a, b in zip(ls_h, ref_h))
    worst = 0.0
    for p, (lp, _) in list(zip(paths, ref_out))[:check]:
        mine = layerstep_log_probs(exe, model_dir, p)
        if mine.shape != lp.shape:
            raise SystemExit(f"{p}: layerstep log-probs {mine.shape}, reference {lp.shape}")
        worst = max(worst, float(np.abs(mine - lp).max()))
    c_ls, w_ls = rates(ls_h, refs)
    c_ref, w_ref = rates(ref_h, refs)
    print(f"{name}: {len(utts)} utterances; layerstep CER {100 * c_ls:.2f} % WER "
          f"{100 * w_ls:.2f} %; reference CER {100 * c_ref:.2f} % WER {100 * w_ref:.2f} %; "
          f"identical transcripts {same}/{len(utts)}; max |log-prob diff| {worst:.2e} "
          f"over {min(check, len(utts))} utterances", flush=True)
    for p, a, b, r in zip(paths, ls_h, ref_h, refs):
        if a != b:
            print(f"  differs: {os.path.basename(p)}: layerstep '{a}' reference '{b}' (said '{r}')")
    return same == len(utts) and worst <= atol


def write_refs(a):
    models = []
    if a.conformer_exp:
        models.append(("conformer_ctc", "ctc.log_softmax", WenetReference(a.wenet, a.conformer_exp)))
    if a.w2v_exp:
        from w2v_ctc_ref import load_reference
        models.append(("wav2vec2_ctc", "log_softmax", load_reference(a.w2v_exp)))
    for name, point, ref in models:
        d = os.path.join(a.write_refs, name)
        lines = []
        for wav in a.wavs:
            lp, text = ref(wav)
            base = os.path.basename(wav)
            os.makedirs(os.path.join(d, base), exist_ok=True)
            np.save(os.path.join(d, base, point + ".npy"), lp[None].astype(np.float32))
            lines.append(f"{base}\t{text}\n")
            print(f"{name}: {base}: {text}")
        with open(os.path.join(d, "transcripts.tsv"), "w", encoding="utf-8") as f:
            f.writelines(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--corpus")
    ap.add_argument("--split", default="test")
    ap.add_argument("--layerstep", default=os.path.join(ROOT, "build", "layerstep"))
    ap.add_argument("--wenet", help="WeNet checkout (for the Conformer reference)")
    ap.add_argument("--conformer-exp", help="WeNet experiment dir of the Conformer")
    ap.add_argument("--conformer", default=os.path.join(ROOT, "data", "conformer_ctc"))
    ap.add_argument("--w2v-exp", help="experiment dir of the wav2vec2 (train_wav2vec2_ctc.py)")
    ap.add_argument("--w2v", default=os.path.join(ROOT, "data", "wav2vec2_ctc"))
    ap.add_argument("--limit", type=int, default=0, help="only the first N utterances")
    ap.add_argument("--logprob-check", type=int, default=20)
    ap.add_argument("--write-refs", metavar="DIR", help="write reference outputs for the WAVs")
    ap.add_argument("wavs", nargs="*", help="WAVs for --write-refs")
    ap.add_argument("--atol", type=float, default=1e-3,
                    help="largest log-prob difference allowed (default 1e-3)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.write_refs:
        return write_refs(a)
    if not a.corpus:
        raise SystemExit("--corpus is needed (or --write-refs DIR WAV...)")
    utts = tcc.read_split(a.corpus, a.split)
    if a.limit:
        utts = utts[:a.limit]
    ok = True
    if a.conformer_exp:
        if not a.wenet:
            raise SystemExit("--conformer-exp needs --wenet")
        ok &= evaluate("conformer_ctc", a.layerstep, a.conformer,
                       WenetReference(a.wenet, a.conformer_exp), utts, a.logprob_check, a.atol)
    if a.w2v_exp:
        from w2v_ctc_ref import load_reference
        ok &= evaluate("wav2vec2_ctc", a.layerstep, a.w2v, load_reference(a.w2v_exp), utts,
                       a.logprob_check, a.atol)
    if not (a.conformer_exp or a.w2v_exp):
        raise SystemExit("nothing to evaluate: give --conformer-exp and/or --w2v-exp")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
