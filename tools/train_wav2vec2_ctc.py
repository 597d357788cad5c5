#!/usr/bin/python3
"""Trains a small wav2vec2-CTC from scratch with torchaudio (issue 17.3) and
converts it into layerstep's model dir data/wav2vec2_ctc/.

The model is torchaudio.models.wav2vec2_model (KWARGS below: a 7-block
layer_norm extractor of 64..256 channels with wav2vec2's strides, 20 ms
frames; a 4-layer pre-norm encoder, embed 256, 4 heads, ff 768; aux head
= the 31 character units of UNITS, the ones the Conformer uses), trained
with CTC (blank 0) on the synthetic corpus of tools/make_speech_corpus.py.
Training sees: speed perturbation 0.9/1.0/1.1 (torchaudio resample), white
noise at 10-40 dB SNR on half the utterances, fresh each epoch, and time
masks on the extractor output (about 10 % of frames, after the first 500
steps).  AdamW, peak lr 1e-3 after 500 warm-up steps, cosine decay over the
--minutes budget measured as training time (so the data order, the
initialisation and the augmentation follow --seed, but where the schedule
ends depends on the machine's speed), gradient clip 5.  Batches hold up to
--batch-seconds of padded audio from length-sorted buckets, shuffled.

    # corpus from: tools/make_speech_corpus.py --out /work/corpus --n 14000 --seed 1
    /usr/bin/python3 tools/train_wav2vec2_ctc.py --corpus /work/corpus \
        --exp /work/exp-w2v --minutes 65            # trains, then converts
    /usr/bin/python3 tools/train_wav2vec2_ctc.py ... --resume   # continue after a stop
    /usr/bin/python3 tools/train_wav2vec2_ctc.py --exp /work/exp-w2v --convert-only
    /usr/bin/python3 tools/train_wav2vec2_ctc.py --eval data/wav2vec2_ctc --corpus /work/corpus

The exp dir holds ckpt.pt (every --ckpt-minutes), train.log (loss per 50
steps, dev CER on --dev-n utterances per checkpoint, full dev at the end)
and final.pt.  The conversion writes OUT/config.json, weights.safetensors
(state_dict, F32), tokens.txt.  --eval reports CER / WER of torchaudio's
greedy decode (tools/w2v_ctc_ref.py) on a split.

One torch thread (the machine is shared).  On Debian's torch, whose BLAS is
the netlib reference one, matrix products are ~5x faster with OpenBLAS:
`apt-get download libopenblas0-serial`, `dpkg-deb -x` it somewhere and run
with LD_LIBRARY_PATH=<there>/usr/lib/x86_64-linux-gnu/openblas-serial.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import safetensors_np  # noqa: E402
import w2v_ctc_ref  # noqa: E402

# the Conformer's units: blank 0, unk 1, apostrophe 2, space (WeNet's ▁) 3, a-z 4..29, sos/eos 30
UNITS = ["<blank>", "<unk>", "'", "\u2581"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] \
    + ["<sos/eos>"]
BLANK = 0

KWARGS = {
    "extractor_mode": "layer_norm",
    "extractor_conv_layer_config": [[64, 10, 5], [96, 3, 2], [128, 3, 2], [160, 3, 2],
                                    [192, 3, 2], [256, 2, 2], [256, 2, 2]],
    "extractor_conv_bias": False,
    "encoder_embed_dim": 256,
    "encoder_projection_dropout": 0.1,
    "encoder_pos_conv_kernel": 64,
    "encoder_pos_conv_groups": 16,
    "encoder_num_layers": 4,
    "encoder_num_heads": 4,
    "encoder_attention_dropout": 0.1,
    "encoder_ff_interm_features": 768,
    "encoder_ff_interm_dropout": 0.0,
    "encoder_dropout": 0.1,
    "encoder_layer_norm_first": True,
    "encoder_layer_drop": 0.0,
    "aux_num_out": len(UNITS),
}


def text_to_ids(text):
    ids = []
    for ch in text.lower():
        if ch == " ":
            ids.append(3)
        elif ch == "'":
            ids.append(2)
        elif "a" <= ch <= "z":
            ids.append(4 + ord(ch) - ord("a"))
        else:
            ids.append(1)
    return ids


def read_split(corpus, split, limit=None):
    """[(key, wav path, text)] sorted by key."""
    d = os.path.join(corpus, split)
    paths = dict(ln.split(None, 1) for ln in open(os.path.join(d, "wav.scp")) if ln.strip())
    texts = dict(ln.rstrip("\n").split(" ", 1) for ln in open(os.path.join(d, "text"))
                 if ln.strip())
    out = []
    for k in sorted(paths):
        p = paths[k].strip()
        if not os.path.isabs(p):
            p = os.path.join(corpus, p) if os.path.exists(os.path.join(corpus, p)) \
                else os.path.join(d, p)
        out.append((k, p, texts[k].strip().lower()))
    return out[:limit] if limit else out


def load_audio(items):
    import wave
    out = []
    for _, p, _ in items:
        with wave.open(p, "rb") as w:
            out.append(np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy())
    return out


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def error_rates(pairs):
    """pairs of (ref text, hyp text) -> (CER %, WER %); CER counts spaces."""
    ce = cn = we = wn = 0
    for ref, hyp in pairs:
        ce += edit_distance(ref, hyp)
        cn += len(ref)
        we += edit_distance(ref.split(), hyp.split())
        wn += len(ref.split())
    return 100.0 * ce / max(cn, 1), 100.0 * we / max(wn, 1)


def build_model(seed):
    torch.manual_seed(seed)
    return torchaudio.models.wav2vec2_model(**KWARGS)


def forward(model, wav, lengths, mask_rng=None):
    """Wav2Vec2Model.forward with optional time masks on the extractor output."""
    x, out_len = model.feature_extractor(wav, lengths)
    if mask_rng is not None:
        keep = torch.ones(x.shape[0], x.shape[1], 1)
        for b in range(x.shape[0]):
            t = int(out_len[b])
            for _ in range(max(1, t // 40)):
                w = int(mask_rng.integers(0, 9))
                s = int(mask_rng.integers(0, max(1, t - w)))
                keep[b, s:s + w] = 0
        x = x * keep
    x = model.encoder(x, out_len)
    return model.aux(x), out_len


def augment(x, rng):
    """int16 numpy -> float tensor: speed 0.9/1.0/1.1 and white noise (p 0.5)."""
    w = torch.from_numpy(x.astype(np.float32) / 32768.0)
    sp = rng.choice([0.9, 1.0, 1.1])
    if sp != 1.0:  # speed 1.1: 11 samples -> 10
        o, n = (11, 10) if sp > 1 else (9, 10)
        w = torchaudio.functional.resample(w, o, n)
    if rng.random() < 0.5:
        p = float(w.pow(2).mean()) + 1e-10
        snr = rng.uniform(10, 40)
        g = torch.Generator().manual_seed(int(rng.integers(0, 2 ** 31)))
        w = w + torch.randn(w.shape, generator=g) * math.sqrt(p / 10 ** (snr / 10))
    return w


def make_batches(lengths, max_samples, rng):
    """Length-sorted buckets of at most max_samples padded samples, shuffled."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches, cur = [], []
    for i in order:
        n = int(lengths[i] * 1.12) + 1  # room for speed 0.9
        if cur and n * (len(cur) + 1) > max_samples:
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def pad(ws):
    lens = torch.tensor([len(w) for w in ws], dtype=torch.int64)
    out = torch.zeros(len(ws), int(lens.max()))
    for i, w in enumerate(ws):
        out[i, :len(w)] = w
    return out, lens


def decode_batch(model, items, audio, tokens):
    model.eval()
    hyps = []
    with torch.no_grad():
        for i in range(len(items)):
            x = torch.from_numpy(audio[i].astype(np.float32) / 32768.0)[None]
            logits, _ = model(x)
            ids = w2v_ctc_ref.greedy_ids(F.log_softmax(logits[0], -1), BLANK)
            hyps.append((items[i][2], w2v_ctc_ref.ids_to_text(ids, tokens)))
    model.train()
    return error_rates(hyps)


def log(exp, msg):
    line = time.strftime("%H:%M:%S ") + msg
    print(line, flush=True)
    with open(os.path.join(exp, "train.log"), "a") as f:
        f.write(line + "\n")


def train(a):
    os.makedirs(a.exp, exist_ok=True)
    ck = os.path.join(a.exp, "ckpt.pt")
    train_items = read_split(a.corpus, "train")
    dev_items = read_split(a.corpus, "dev")
    dev_sub = dev_items[:a.dev_n]
    log(a.exp, f"loading {len(train_items)} train, {len(dev_items)} dev utterances")
    audio = load_audio(train_items)
    dev_audio = load_audio(dev_items)
    targets = [torch.tensor(text_to_ids(t), dtype=torch.int64) for _, _, t in train_items]
    lengths = [len(x) for x in audio]
    log(a.exp, f"train audio {sum(lengths) / 16000 / 3600:.2f} h")

    model = build_model(a.seed)
    nparam = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.98), weight_decay=0.01)
    state = {"step": 0, "epoch": 0, "batch": 0, "elapsed": 0.0, "aug_rng": None}
    if a.resume and os.path.exists(ck):
        c = torch.load(ck)
        model.load_state_dict(c["model"])
        opt.load_state_dict(c["opt"])
        state = c["state"]
        torch.set_rng_state(c["torch_rng"])
        log(a.exp, f"resumed at step {state['step']} epoch {state['epoch']} "
                   f"batch {state['batch']} ({state['elapsed'] / 60:.1f} min)")
    else:
        with open(os.path.join(a.exp, "train.log"), "w"):
            pass
        log(a.exp, f"new run: seed {a.seed}, {nparam} parameters, kwargs {json.dumps(KWARGS)}")
    aug_rng = np.random.default_rng(a.seed + 17)
    if state["aug_rng"] is not None:
        aug_rng.bit_generator.state = state["aug_rng"]
    budget = a.minutes * 60.0

    def save(path):
        state["aug_rng"] = aug_rng.bit_generator.state
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": state,
                    "torch_rng": torch.get_rng_state(), "kwargs": KWARGS, "seed": a.seed,
                    "nparam": nparam}, path + ".tmp")
        os.replace(path + ".tmp", path)

    model.train()
    t_start = time.time() - state["elapsed"]
    last_ck = time.time()
    run_loss, run_n = 0.0, 0
    done = False
    while not done:
        batches = make_batches(lengths, int(a.batch_seconds * 16000),
                               random.Random(a.seed * 1000 + state["epoch"]))
        while state["batch"] < len(batches):
            idx = batches[state["batch"]]
            ws, lens = pad([augment(audio[i], aug_rng) for i in idx])
            tg = [targets[i] for i in idx]
            step = state["step"]
            frac = min(1.0, (time.time() - t_start) / budget)
            lr = a.lr * min(1.0, (step + 1) / a.warmup) * 0.5 * (1 + math.cos(math.pi * frac))
            for g in opt.param_groups:
                g["lr"] = lr
            mrng = aug_rng if step >= a.warmup else None
            logits, out_len = forward(model, ws, lens, mrng)
            lp = F.log_softmax(logits, -1).transpose(0, 1)
            loss = F.ctc_loss(lp, torch.cat(tg), out_len, torch.tensor([len(t) for t in tg]),
                              blank=BLANK, reduction="mean", zero_infinity=True)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            state["step"] += 1
            state["batch"] += 1
            state["elapsed"] = time.time() - t_start
            run_loss += float(loss)
            run_n += 1
            if state["step"] % 50 == 0:
                log(a.exp, f"step {state['step']} epoch {state['epoch']} "
                           f"batch {state['batch']}/{len(batches)} loss {run_loss / run_n:.4f} "
                           f"lr {lr:.2e} {state['elapsed'] / 60:.1f} min")
                run_loss, run_n = 0.0, 0
            if state["elapsed"] >= budget:
                done = True
                break
            if time.time() - last_ck > a.ckpt_minutes * 60:
                t0 = time.time()
                cer, wer = decode_batch(model, dev_sub, dev_audio, UNITS)
                save(ck)
                log(a.exp, f"checkpoint step {state['step']}: dev[{len(dev_sub)}] "
                           f"CER {cer:.2f} % WER {wer:.2f} %")
                last_ck = time.time()
                t_start += last_ck - t0  # evaluation is not training time
        if not done:
            t0 = time.time()
            cer, wer = decode_batch(model, dev_sub, dev_audio, UNITS)
            t_start += time.time() - t0
            log(a.exp, f"end of epoch {state['epoch']}: dev[{len(dev_sub)}] "
                       f"CER {cer:.2f} % WER {wer:.2f} %")
            state["epoch"] += 1
            state["batch"] = 0
    save(ck)
    save(os.path.join(a.exp, "final.pt"))
    cer, wer = decode_batch(model, dev_items, dev_audio, UNITS)
    log(a.exp, f"final step {state['step']} ({state['elapsed'] / 60:.1f} min training): "
               f"dev[{len(dev_items)}] CER {cer:.2f} % WER {wer:.2f} %")


def convert(exp, out, f16=False):
    c = torch.load(os.path.join(exp, "final.pt"))
    os.makedirs(out, exist_ok=True)
    dt = np.float16 if f16 else np.float32
    sd = {k: v.detach().numpy().astype(dt) for k, v in c["model"].items()}
    safetensors_np.write(os.path.join(out, "weights.safetensors"), sd)
    cfg = {
        "arch": "wav2vec2",
        "name": "wav2vec2_ctc",
        "description": "A small wav2vec2 (torchaudio wav2vec2_model: 7-block layer_norm "
                       "extractor, 4-layer pre-norm encoder of 256) with a character CTC "
                       "head, trained from scratch on layerstep's synthetic espeak-ng corpus "
                       "by tools/train_wav2vec2_ctc.py. Input: 16 kHz waveform / 32768.",
        "reference": {"package": "torchaudio", "version": torchaudio.__version__,
                      "function": "torchaudio.models.wav2vec2_model"},
        "seed": c["seed"],
        "parameters": c["nparam"],
        "training": {"steps": c["state"]["step"], "epochs": c["state"]["epoch"],
                     "minutes": round(c["state"]["elapsed"] / 60, 1),
                     "corpus": "tools/make_speech_corpus.py --n 14000 --seed 1",
                     "loss": "CTC, blank 0"},
        "kwargs": c["kwargs"],
        "ctc_blank": BLANK,
        "forward": {"call": "model(waveforms, lengths)",
                    "returns": "(logits [B,T',31], lengths [B]); log_softmax gives the "
                               "CTC log-probs"},
    }
    safetensors_np.write_bytes_atomic(os.path.join(out, "config.json"),
                                      json.dumps(cfg, indent=1, ensure_ascii=False) + "\n")
    safetensors_np.write_bytes_atomic(os.path.join(out, "tokens.txt"),
                                      "".join(f"{u} {i}\n" for i, u in enumerate(UNITS)))
    print(f"{out}: {c['nparam']} parameters, step {c['state']['step']}")


def evaluate(model_dir, corpus, split, limit):
    ref = w2v_ctc_ref.load_reference(model_dir)
    items = read_split(corpus, split, limit)
    pairs = [(t, ref(p)[1]) for _, p, t in items]
    cer, wer = error_rates(pairs)
    print(f"{model_dir} on {split} ({len(items)} utterances, torchaudio greedy): "
          f"CER {cer:.2f} % WER {wer:.2f} %")
    return cer, wer


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="/work/corpus")
    ap.add_argument("--exp", default="/work/exp-w2v")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "data", "wav2vec2_ctc"))
    ap.add_argument("--minutes", type=float, default=65)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--batch-seconds", type=float, default=12.0)
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--dev-n", type=int, default=300)
    ap.add_argument("--convert-only", action="store_true")
    ap.add_argument("--f16", action="store_true", help="write F16 weights")
    ap.add_argument("--eval", metavar="MODEL_DIR")
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.eval:
        evaluate(a.eval, a.corpus, a.split, a.limit)
        return
    if not a.convert_only:
        train(a)
    convert(a.exp, a.out, a.f16)


if __name__ == "__main__":
    main()
