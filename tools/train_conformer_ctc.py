#!/usr/bin/python3
"""Train a small Conformer-CTC with WeNet's own code (issue 17, point 2).

    /usr/bin/python3 tools/make_speech_corpus.py --out corpus --n 14000 --seed 1
    /usr/bin/python3 tools/train_conformer_ctc.py --wenet /path/to/wenet \\
        --corpus corpus --exp exp/conformer_ctc --minutes 75 --out data/conformer_ctc
    # stopped?  the same command with --resume goes on from exp/.../latest.pt

The model is WeNet's ASRModel built by WeNet's init_model from the config
below (ConformerEncoder: Conv2dSubsampling4, rel_pos, macaron, conv module
kernel 15; a TransformerDecoder; CTC), trained with WeNet's hybrid loss
(ctc_weight 0.3, label smoothing 0.1), WeNet's WarmupLR and Adam.  Features
are WeNet's compute_fbank (torchaudio's Kaldi fbank of the waveform scaled
to int16 range: 80 bins, 25/10 ms, energy_floor 0), speed perturbation 0.9
/ 1.0 / 1.1 and spec_aug (2 time masks up to 50 frames, 2 frequency masks
up to 10 bins) as WeNet's recipes set them; global CMVN over the training
features.  Units are characters, as WeNet's char recipes write units.txt.

Debian's python3-torch calls the netlib reference BLAS, which makes training
about 15x slower than with OpenBLAS: `apt-get install libopenblas0-serial`
(or extract that package and put its openblas-serial directory on
LD_LIBRARY_PATH, as the measured run did).

The experiment directory is what WeNet's own training leaves:
final.pt (the model's state_dict), train.yaml, global_cmvn (WeNet's JSON
stats), units.txt; then tools/convert_wenet.py converts it to --out.
The training loop is ours (WeNet's executor wants torch.distributed and
its data pipeline wants librosa); the model, loss, scheduler and
checkpoint writer are WeNet's.  Nothing here is used by the C program.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time
import wave

import numpy as np
import torch
import torchaudio

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
from wenet_import import WENET_COMMIT, use_wenet  # noqa: E402

# <blank> first, then <unk>, the apostrophe, the space (WeNet writes it ▁),
# the letters, and <sos/eos> last: ASRModel takes vocab_size - 1 as sos/eos.
UNITS = ["<blank>", "<unk>", "'", "\u2581"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] \
    + ["<sos/eos>"]
UNIT_ID = {u: i for i, u in enumerate(UNITS)}


def config(output_dim):
    """WeNet train.yaml content (a small version of its conformer recipes)."""
    return {
        "input_dim": 80,
        "output_dim": output_dim,
        "model": "asr_model",
        "encoder": "conformer",
        "encoder_conf": {
            "output_size": 144, "attention_heads": 4, "linear_units": 576, "num_blocks": 4,
            "dropout_rate": 0.1, "positional_dropout_rate": 0.1,
            "attention_dropout_rate": 0.0, "input_layer": "conv2d",
            "normalize_before": True, "pos_enc_layer_type": "rel_pos",
            "selfattention_layer_type": "rel_selfattn", "activation_type": "swish",
            "macaron_style": True, "use_cnn_module": True, "cnn_module_kernel": 15,
            "cnn_module_norm": "batch_norm",
        },
        "decoder": "transformer",
        "decoder_conf": {
            "attention_heads": 4, "linear_units": 576, "num_blocks": 2, "dropout_rate": 0.1,
            "positional_dropout_rate": 0.1, "self_attention_dropout_rate": 0.0,
            "src_attention_dropout_rate": 0.0,
        },
        "ctc": "ctc",
        "ctc_conf": {"ctc_blank_id": 0},
        "model_conf": {"ctc_weight": 0.3, "lsm_weight": 0.1,
                       "length_normalized_loss": False},
        "cmvn": "global_cmvn",
        "cmvn_conf": {"cmvn_file": "global_cmvn", "is_json_cmvn": True},
        "tokenizer": "char",
        "tokenizer_conf": {"symbol_table_path": "units.txt", "split_with_space": False},
        "dataset_conf": {
            "fbank_conf": {"num_mel_bins": 80, "frame_length": 25, "frame_shift": 10,
                           "dither": 0.0},
            "speed_perturb": True,
            "spec_aug": True,
            "spec_aug_conf": {"num_t_mask": 2, "num_f_mask": 2, "max_t": 50, "max_f": 10},
        },
        "optim": "adam",
        "optim_conf": {"lr": 0.0015},
        "scheduler": "warmuplr",
        "scheduler_conf": {"warmup_steps": 500},
        "grad_clip": 5,
    }


def text_to_ids(text):
    """WeNet's CharTokenizer without split_with_space: each character is a
    unit, the space is ▁; unknown characters map to <unk>."""
    ids = []
    for ch in text.strip().lower():
        ch = "\u2581" if ch == " " else ch
        ids.append(UNIT_ID.get(ch, UNIT_ID["<unk>"]))
    return ids


def ids_to_text(ids):
    return "".join(UNITS[i] for i in ids).replace("\u2581", " ").strip()


def read_split(corpus, split):
    """[(key, wav_path, text)] from WeNet's wav.scp and text."""
    d = os.path.join(corpus, split)
    wavs, texts = {}, {}
    with open(os.path.join(d, "wav.scp"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                k, p = line.split(maxsplit=1)
                p = p.strip()
                wavs[k] = p if os.path.isabs(p) else os.path.join(corpus, p)
    with open(os.path.join(d, "text"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                k, *w = line.split(maxsplit=1)
                texts[k] = w[0].strip() if w else ""
    return [(k, wavs[k], texts[k]) for k in sorted(wavs) if k in texts]


def load_wav(path):
    """16 kHz mono int16 WAV -> float tensor [1, n] in [-1, 1)."""
    with wave.open(path, "rb") as w:
        if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise SystemExit(f"{path}: expected 16 kHz mono 16-bit")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return torch.from_numpy(data.astype(np.float32) / 32768.0)[None]


def fbank(waveform):
    """WeNet's compute_fbank (wenet/dataset/processor.py) at our settings."""
    import torchaudio.compliance.kaldi as kaldi
    return kaldi.fbank(waveform * (1 << 15), num_mel_bins=80, frame_length=25,
                       frame_shift=10, dither=0.0, energy_floor=0.0, sample_frequency=16000)


def speed(waveform, factor):
    """sox 'speed' as WeNet's speed_perturb does it: the samples played at
    factor x 16 kHz, resampled back to 16 kHz (shorter and higher)."""
    if factor == 1.0:
        return waveform
    return torchaudio.functional.resample(waveform, int(16000 * factor), 16000)


def features(utts, speeds, log):
    """{speed: [fbank tensor float16]} for every utterance."""
    out = {s: [] for s in speeds}
    t0 = time.time()
    for i, (_, path, _) in enumerate(utts):
        w = load_wav(path)
        for s in speeds:
            out[s].append(fbank(speed(w, s)).half())
        if (i + 1) % 2000 == 0:
            log(f"  features {i + 1}/{len(utts)} ({time.time() - t0:.0f} s)")
    return out


def cmvn_stats(feats):
    """WeNet's JSON global_cmvn: per-bin sums, sums of squares, frame count
    (what tools/compute_cmvn_stats.py writes)."""
    mean = torch.zeros(80, dtype=torch.float64)
    var = torch.zeros(80, dtype=torch.float64)
    n = 0
    for f in feats:
        f = f.double()
        mean += f.sum(0)
        var += (f * f).sum(0)
        n += f.shape[0]
    return {"mean_stat": mean.tolist(), "var_stat": var.tolist(), "frame_num": n}


def spec_aug(x, rng, num_t_mask=2, num_f_mask=2, max_t=50, max_f=10):
    """WeNet's spec_aug (wenet/dataset/processor.py): zero random time and
    frequency bands of one utterance's features."""
    y = x.clone()
    T, F = y.shape
    for _ in range(num_t_mask):
        start = rng.randint(0, T - 1)
        length = rng.randint(1, max_t)
        y[start:min(T, start + length), :] = 0
    for _ in range(num_f_mask):
        start = rng.randint(0, F - 1)
        length = rng.randint(1, max_f)
        y[:, start:min(F, start + length)] = 0
    return y


def batches(lengths, max_frames, rng):
    """Index lists of similar length with at most max_frames padded frames
    each (WeNet's dynamic batching after sorting), in random order."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    out, cur, longest = [], [], 0
    for i in order:
        longest2 = max(longest, lengths[i])
        if cur and longest2 * (len(cur) + 1) > max_frames:
            out.append(cur)
            cur, longest2 = [], lengths[i]
        cur.append(i)
        longest = longest2
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def pad_batch(xs, ids):
    lens = torch.tensor([x.shape[0] for x in xs], dtype=torch.int32)
    feats = torch.zeros(len(xs), int(lens.max()), 80)
    for i, x in enumerate(xs):
        feats[i, :x.shape[0]] = x.float()
    tl = torch.tensor([len(t) for t in ids], dtype=torch.int32)
    target = torch.full((len(ids), int(tl.max())), -1, dtype=torch.long)
    for i, t in enumerate(ids):
        target[i, :len(t)] = torch.tensor(t)
    return {"feats": feats, "feats_lengths": lens, "target": target, "target_lengths": tl,
            "langs": ["en"] * len(xs), "tasks": ["transcribe"] * len(xs)}


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = d[j]
            d[j] = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev = cur
    return d[len(b)]


def greedy_texts(model, feats_list, batch=32):
    """CTC greedy decode with WeNet's ASRModel.decode (ctc_greedy_search)."""
    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(feats_list), batch):
            b = pad_batch(feats_list[s:s + batch], [[1]] * len(feats_list[s:s + batch]))
            res = model.decode(["ctc_greedy_search"], b["feats"], b["feats_lengths"])
            out += [ids_to_text(r.tokens) for r in res["ctc_greedy_search"]]
    model.train()
    return out


def cer(hyps, refs):
    e = sum(edit_distance(h, r) for h, r in zip(hyps, refs))
    return e / max(1, sum(len(r) for r in refs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--wenet", required=True, help=f"WeNet checkout (at {WENET_COMMIT[:8]})")
    ap.add_argument("--corpus", required=True, help="make_speech_corpus.py output")
    ap.add_argument("--exp", required=True, help="experiment directory (WeNet's layout)")
    ap.add_argument("--out", help="convert the result into this layerstep model dir")
    ap.add_argument("--minutes", type=float, default=60, help="training time budget")
    ap.add_argument("--max-epochs", type=int, default=100)
    ap.add_argument("--max-frames", type=int, default=6000, help="padded fbank frames per batch")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resume", action="store_true", help="go on from EXP/latest.pt")
    ap.add_argument("--average", type=int, default=3,
                    help="final.pt = mean of the last N epochs' weights (WeNet's average_model)")
    a = ap.parse_args()

    commit = use_wenet(a.wenet)
    from wenet.utils.init_model import init_model
    from wenet.utils.scheduler import WarmupLR
    from wenet.utils.checkpoint import save_checkpoint
    import yaml

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    os.makedirs(a.exp, exist_ok=True)
    logf = open(os.path.join(a.exp, "train.log"), "a", encoding="utf-8")

    def log(msg):
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    train = read_split(a.corpus, "train")
    dev = read_split(a.corpus, "dev")
    log(f"WeNet {commit or 'checkout (not git)'}; {len(train)} train, {len(dev)} dev utterances")

    cfg = config(len(UNITS))
    units_path = os.path.join(a.exp, "units.txt")
    with open(units_path, "w", encoding="utf-8") as f:
        f.writelines(f"{u} {i}\n" for i, u in enumerate(UNITS))

    t0 = time.time()
    speeds = (0.9, 1.0, 1.1)
    cache = os.path.join(a.exp, "feats.pt")
    keys = [k for k, _, _ in train] + [k for k, _, _ in dev]
    cached = torch.load(cache) if os.path.isfile(cache) else None
    if cached is not None and cached["keys"] == keys:
        tr_feats, dev_feats = cached["train"], cached["dev"]
        log(f"features from {cache}")
    else:
        tr_feats = features(train, speeds, log)
        dev_feats = features(dev, (1.0,), log)[1.0]
        torch.save({"keys": keys, "train": tr_feats, "dev": dev_feats}, cache + ".tmp")
        os.replace(cache + ".tmp", cache)
        log(f"features in {time.time() - t0:.0f} s")
    cmvn_path = os.path.join(a.exp, "global_cmvn")
    with open(cmvn_path, "w", encoding="utf-8") as f:
        json.dump(cmvn_stats(tr_feats[1.0]), f)
    cfg["cmvn_conf"]["cmvn_file"] = cmvn_path
    cfg["tokenizer_conf"]["symbol_table_path"] = units_path
    with open(os.path.join(a.exp, "train.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)

    model, _ = init_model(argparse.Namespace(), json.loads(json.dumps(cfg)))
    nparams = sum(p.numel() for p in model.parameters())
    log(f"ASRModel: {nparams / 1e6:.2f} M parameters")
    opt = torch.optim.Adam(model.parameters(), **cfg["optim_conf"])
    sched = WarmupLR(opt, **cfg["scheduler_conf"])
    tr_ids = [text_to_ids(t) for _, _, t in train]
    dev_refs = [t.strip().lower() for _, _, t in dev]

    state = {"epoch": 0, "step": 0, "seconds": 0.0, "history": []}
    latest = os.path.join(a.exp, "latest.pt")
    if a.resume:
        if not os.path.isfile(latest):
            raise SystemExit(f"{latest}: nothing to resume")
        ck = torch.load(latest)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        state = ck["state"]
        rng.setstate(ck["rng"])
        torch.set_rng_state(ck["torch_rng"])
        log(f"resumed at epoch {state['epoch']}, step {state['step']}, "
            f"{state['seconds'] / 60:.1f} min trained")

    budget = a.minutes * 60
    model.train()
    while state["epoch"] < a.max_epochs and state["seconds"] < budget:
        ep_start = time.time()
        # each utterance at a random speed, as speed_perturb draws per utterance
        pick = [rng.choice(speeds) for _ in train]
        lens = [tr_feats[p][i].shape[0] for i, p in enumerate(pick)]
        tot, n = 0.0, 0
        for b in batches(lens, a.max_frames, rng):
            xs = [spec_aug(tr_feats[pick[i]][i].float(), rng) for i in b]
            batch = pad_batch(xs, [tr_ids[i] for i in b])
            out = model(batch, torch.device("cpu"))
            opt.zero_grad()
            out["loss"].backward()
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
            if torch.isfinite(gn):
                opt.step()
            sched.step()
            state["step"] += 1
            tot += float(out["loss"]) * len(b)
            n += len(b)
            if state["step"] % 100 == 0:
                log(f"  step {state['step']}: loss {tot / n:.3f} "
                    f"(ctc {float(out['loss_ctc']):.2f}, att {float(out['loss_att']):.2f}), "
                    f"{(state['seconds'] + time.time() - ep_start) / 60:.1f} min")
            if state["seconds"] + time.time() - ep_start > budget:
                break
        state["seconds"] += time.time() - ep_start
        state["epoch"] += 1
        hyps = greedy_texts(model, dev_feats)
        dcer = cer(hyps, dev_refs)
        state["history"].append({"epoch": state["epoch"], "loss": tot / max(1, n),
                                 "dev_cer": dcer, "minutes": state["seconds"] / 60})
        torch.save(model.state_dict(), os.path.join(a.exp, f"epoch_{state['epoch']}.pt"))
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                    "sched": sched.state_dict(), "state": state, "rng": rng.getstate(),
                    "torch_rng": torch.get_rng_state()}, latest + ".tmp")
        os.replace(latest + ".tmp", latest)
        log(f"epoch {state['epoch']}: loss {tot / max(1, n):.3f}, dev CER {100 * dcer:.2f} %, "
            f"{state['seconds'] / 60:.1f} min, step {state['step']}, "
            f"lr {opt.param_groups[0]['lr']:.2e}")

    # WeNet's average_model: the mean of the last N epochs' weights.  WeNet
    # picks N by validation loss; here the last epoch alone and the means of
    # its last 2..--average epochs are decoded on dev and the lowest CER wins
    # (an early epoch of a short run can pull the mean down).
    def averaged(epochs):
        avg = None
        for e in epochs:
            sd = torch.load(os.path.join(a.exp, f"epoch_{e}.pt"))
            if avg is None:
                avg = {k: v.clone().double() if v.is_floating_point() else v.clone()
                       for k, v in sd.items()}
            else:
                for k, v in sd.items():
                    if v.is_floating_point():
                        avg[k] += v.double()
        return {k: (v / len(epochs)).float() if v.is_floating_point() else v
                for k, v in avg.items()}

    last_epoch = state["epoch"]
    best = None
    for n_avg in range(1, max(1, min(a.average, last_epoch)) + 1):
        epochs = list(range(last_epoch - n_avg + 1, last_epoch + 1))
        model.load_state_dict(averaged(epochs))
        c = cer(greedy_texts(model, dev_feats), dev_refs)
        log(f"epochs {epochs}: dev CER {100 * c:.2f} %")
        if best is None or c < best[0]:
            best = (c, epochs)
    dcer, epochs = best
    model.load_state_dict(averaged(epochs))
    log(f"final.pt = mean of epochs {epochs}: dev CER {100 * dcer:.2f} %")
    save_checkpoint(model, os.path.join(a.exp, "final.pt"),
                    {"epoch": state["epoch"], "averaged": epochs, "dev_cer": dcer,
                     "wenet_commit": commit,
                     "seed": a.seed, "minutes": state["seconds"] / 60,
                     "history": state["history"]})
    log(f"wrote {a.exp}/final.pt ({state['seconds'] / 60:.1f} min of training)")
    if a.out:
        subprocess.run([sys.executable, os.path.join(TOOLS, "convert_wenet.py"),
                        "--checkpoint", os.path.join(a.exp, "final.pt"),
                        "--config", os.path.join(a.exp, "train.yaml"), "--out", a.out],
                       check=True)


if __name__ == "__main__":
    main()
