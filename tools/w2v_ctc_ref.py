#!/usr/bin/python3
"""Reference decode of a wav2vec2-CTC model dir with torchaudio (issue 17.3).

Importable by other tools (tools/eval_speech.py, tools/train_wav2vec2_ctc.py,
tools/test_wav2vec2_ctc.py):

    from w2v_ctc_ref import load_reference
    ref = load_reference("data/wav2vec2_ctc")      # a layerstep model dir,
                                                    # or the training exp dir
    log_probs, text = ref("some.wav")               # numpy [T, V], str

The model dir is layerstep's: config.json (arch "wav2vec2", torchaudio
kwargs under "kwargs", "ctc_blank"), weights.safetensors (the torchaudio
state_dict, F32 or F16) and tokens.txt ("TOKEN ID" per line).  The model is
torchaudio.models.wav2vec2_model(**kwargs) in eval mode, the log-probs are
F.log_softmax(logits, -1) in float32, and the transcript is torchaudio's
tutorial greedy decode: argmax per frame, unique_consecutive, drop the
blank, tokens joined, "▁" read as a space, then spaces normalised the way
layerstep prints a transcript (none leading or trailing, one between words).

The WAV (16-bit PCM) is read like layerstep's LS_WAV_NORMALIZED: the mean
of the channels / 32768, other rates resampled to 16 kHz by torchaudio.
Needs torch, torchaudio and numpy; nothing here runs in the C program.
"""
import json
import os
import sys
import wave

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402

SPACE = "\u2581"


def read_wav(path):
    """16-bit PCM WAV -> float32 numpy at 16 kHz, as layerstep reads it
    (LS_WAV_NORMALIZED): the channels' mean / 32768, other rates brought to
    16 kHz by torchaudio.functional.resample with its defaults."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: want 16-bit PCM, found {8 * w.getsampwidth()}-bit")
        ch, rate = w.getnchannels(), w.getframerate()
        data = w.readframes(w.getnframes())
    x = np.frombuffer(data, dtype="<i2").reshape(-1, ch).astype(np.float64)
    x = (x.sum(1) / ch).astype(np.float32) * np.float32(1.0 / 32768.0)
    if rate != 16000:
        x = torchaudio.functional.resample(torch.from_numpy(x), rate, 16000).numpy()
    return x


def read_tokens(path):
    """tokens.txt -> list of tokens indexed by id."""
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                tok, i = line.split()
                pairs.append((int(i), tok))
    out = [None] * (max(i for i, _ in pairs) + 1)
    for i, tok in pairs:
        out[i] = tok
    return out


def greedy_ids(log_probs, blank):
    """argmax, unique_consecutive, drop the blank (torchaudio's tutorial decoder)."""
    idx = torch.as_tensor(log_probs).argmax(-1)
    idx = torch.unique_consecutive(idx)
    return [int(i) for i in idx if int(i) != blank]


def ids_to_text(ids, tokens):
    s = "".join(tokens[i] if 0 <= i < len(tokens) and tokens[i] else "<unk>" for i in ids)
    return " ".join(s.replace(SPACE, " ").split())


def load_model(path):
    """(torchaudio model in eval mode, config dict, tokens list) from a
    layerstep model dir, or from train_wav2vec2_ctc.py's exp dir (its
    final.pt: kwargs + state_dict, the units of that script)."""
    ckpt = os.path.join(path, "final.pt")
    if not os.path.exists(os.path.join(path, "config.json")) and os.path.exists(ckpt):
        import train_wav2vec2_ctc as tw
        c = torch.load(ckpt)
        model = torchaudio.models.wav2vec2_model(**c["kwargs"]).eval()
        model.load_state_dict(c["model"])
        return model, {"kwargs": c["kwargs"], "ctc_blank": tw.BLANK}, list(tw.UNITS)
    cfg = json.load(open(os.path.join(path, "config.json")))
    model = torchaudio.models.wav2vec2_model(**cfg["kwargs"]).eval()
    sd, _ = safetensors_np.read(os.path.join(path, "weights.safetensors"))
    model.load_state_dict({k: torch.from_numpy(np.asarray(v, dtype=np.float32))
                           for k, v in sd.items()})
    return model, cfg, read_tokens(os.path.join(path, "tokens.txt"))


def load_reference(exp_or_model_dir):
    """A callable wav_path -> (log_probs numpy float32 [T, V], transcript str).
    The argument: a layerstep model dir (config.json, weights.safetensors,
    tokens.txt) or the training exp dir (final.pt)."""
    model, cfg, tokens = load_model(exp_or_model_dir)
    blank = int(cfg.get("ctc_blank", 0))

    def run(wav_path):
        x = torch.from_numpy(read_wav(wav_path))[None]
        with torch.no_grad():
            logits, _ = model(x)
            lp = F.log_softmax(logits[0], dim=-1)
        return lp.numpy(), ids_to_text(greedy_ids(lp, blank), tokens)

    return run


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print("usage: w2v_ctc_ref.py MODEL_DIR WAV...", file=sys.stderr)
        sys.exit(2)
    torch.set_num_threads(1)
    ref = load_reference(sys.argv[1])
    for p in sys.argv[2:]:
        lp, text = ref(p)
        print(f"{p}: {text}  ({lp.shape[0]} frames)")
