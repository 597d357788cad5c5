#!/usr/bin/python3
"""Train lesson 01's model: one nn.MultiheadAttention that reverses a sequence.

    /usr/bin/python3 tools/train_mha_lesson.py [--out data/mha_trained] [--seed 1]
    ./build/layerstep run --model data/mha_trained

The model (module names are the point names layerstep gives its outputs):

    embed    nn.Embedding(27, 512)              token ids [B, 32] -> [B, 32, 512]
    pos_enc  + the sinusoid table of 'Attention is all you need' (a buffer,
             pe[pos, 2i] = sin(pos / 10000^(2i/512)), pe[pos, 2i+1] = cos(...);
             no sqrt(d_model) scale on the embedding, no dropout)
    mha      nn.MultiheadAttention(512, 8, batch_first=True), self-attention
             with key_padding_mask, need_weights=True,
             average_attn_weights=False (mha.1 = the per-head weights)
    out      nn.Linear(512, 27): logits over the vocabulary
    (predicted = logits.argmax(-1), not a module)

The vocabulary is "_" (id 0, the padding token) and the letters a-z (1-26).
The task: 28 random letters, then 4 padding positions (key_padding_mask True);
the output at position i (i < 28) must be the letter at position 27 - i.
There is no residual connection around the attention, so the only way a
position can learn the letter it must print is to attend to its mirror
position: the heads can be named.  One layer cannot know a sequence's length,
so every sequence has 28 letters (the padding is still real: without the mask
the 4 padded keys would take part in every softmax).

Trained with Adam (cosine decay over --max-steps) on fresh random batches,
seeded, on one CPU thread, until 256 held-out sequences are reversed exactly
(or the steps or --cpu-minutes run out); the accuracy recorded is on 2048
other sequences.  Writes, atomically:

    OUT/config.json          arch "mha" with the embedding, pos_enc, out and vocab
    OUT/weights.safetensors  the state_dict (pe left out: layerstep computes it)
    OUT/inputs/{tokens,key_padding_mask}.npy    the lesson's example sequence
    OUT/acts/*.npy           torch's activations on it (tools/torch_dump.py
                             layout, + predicted and mha.scores_masked...):
                             the golden the engine is checked against

--check LAYERSTEP (no training; meson's mha_trained_torch test): torch's
activations of OUT's weights on OUT's example, made afresh, against
`layerstep dump` (`layerstep compare`: atol 1e-5 + rtol 1e-4), against the
committed OUT/acts, and the held-out accuracy through torch.  Exits 77
without torch.

Also usable as a tools/torch_dump.py model file:
    /usr/bin/python3 tools/torch_dump.py tools/train_mha_lesson.py \\
        --inputs data/mha_trained/inputs --out /tmp/ref
"""
import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time

import subprocess

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as e:  # meson's skip
    print(f"python3-torch not installed ({e}): skip")
    sys.exit(77)

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
import safetensors_np  # noqa: E402

DEFAULT_OUT = os.path.join(ROOT, "data", "mha_trained")
VOCAB = ["_"] + [chr(ord("a") + i) for i in range(26)]
D_MODEL, HEADS, T, LENGTH = 512, 8, 32, 28
# the lesson's example: 28 letters, then 4 padding tokens
EXAMPLE = "attentionisallyouneedreverse"
assert len(EXAMPLE) == LENGTH


class PositionalEncoding(nn.Module):
    """x + pe[:T]: the sinusoid table of 'Attention is all you need'."""

    def __init__(self, d_model, max_len=T):
        super().__init__()
        pe = torch.zeros(max_len, d_model)
        pos = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe)

    def forward(self, x):  # [B, T, D]
        return x + self.pe[:x.size(1)]


class Reverser(nn.Module):
    def __init__(self, vocab=len(VOCAB), d_model=D_MODEL, heads=HEADS):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.pos_enc = PositionalEncoding(d_model)
        self.mha = nn.MultiheadAttention(d_model, heads, dropout=0.0, batch_first=True)
        self.out = nn.Linear(d_model, vocab)

    def forward(self, tokens, key_padding_mask, need_weights=True):
        x = self.pos_enc(self.embed(tokens))
        y, _ = self.mha(x, x, x, key_padding_mask=key_padding_mask, need_weights=need_weights,
                        average_attn_weights=False)
        return self.out(y)


def batch(n, gen):
    """n sequences of LENGTH random letters + padding; targets reversed."""
    letters = torch.randint(1, len(VOCAB), (n, LENGTH), generator=gen)
    tokens = torch.zeros(n, T, dtype=torch.int64)
    tokens[:, :LENGTH] = letters
    target = letters.flip(1)
    kpm = torch.arange(T)[None].expand(n, T) >= LENGTH
    return tokens, kpm, target


def accuracy(model, tokens, kpm, target):
    model.eval()
    with torch.no_grad():
        pred = model(tokens, kpm, need_weights=False)[:, :LENGTH].argmax(-1)
    tok = float((pred == target).float().mean())
    seq = float((pred == target).all(1).float().mean())
    return tok, seq


def train(seed, max_steps, lr, bs, log, cpu_budget=float("inf")):
    torch.manual_seed(seed)
    model = Reverser()
    gen = torch.Generator().manual_seed(seed + 1000)
    # a small held-out set while training (a forward on 2048 sequences costs
    # as much as 30 steps on this machine's one thread), the full one after
    held = batch(256, torch.Generator().manual_seed(seed + 2000))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    # cosine decay to lr/100 over max_steps: at a constant rate the last
    # few letters in a thousand stay wrong
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(s, max_steps) / max_steps)))
    crit = nn.CrossEntropyLoss()
    t0 = time.process_time()
    step, tok, seq = 0, 0.0, 0.0
    for step in range(1, max_steps + 1):
        model.train()
        tokens, kpm, target = batch(bs, gen)
        logits = model(tokens, kpm, need_weights=False)[:, :LENGTH]
        loss = crit(logits.reshape(-1, len(VOCAB)), target.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0:
            tok, seq = accuracy(model, *held)
            log(f"step {step:5d}  loss {float(loss):.5f}  held-out token acc {tok:.4f}  "
                f"sequence acc {seq:.4f}  cpu {time.process_time() - t0:.0f}s")
            if seq == 1.0 and float(loss) < 0.01:
                break
            if time.process_time() - t0 > cpu_budget:
                log(f"stopped at the CPU budget ({cpu_budget:.0f} s)")
                break
    secs = time.process_time() - t0
    tok, seq = accuracy(model, *batch(2048, torch.Generator().manual_seed(seed + 3000)))
    return model, step, tok, seq, secs


def example_inputs():
    tokens = torch.zeros(1, T, dtype=torch.int64)
    tokens[0, :LENGTH] = torch.tensor([VOCAB.index(c) for c in EXAMPLE])
    kpm = torch.arange(T)[None] >= LENGTH
    return tokens, kpm


def head_report(model, log, n=256):
    """Per head: the mean share of each query's weight on its mirror key."""
    tokens, kpm, _ = batch(n, torch.Generator().manual_seed(99))
    model.eval()
    with torch.no_grad():
        x = model.pos_enc(model.embed(tokens))
        _, w = model.mha(x, x, x, key_padding_mask=kpm, need_weights=True,
                         average_attn_weights=False)  # [B, H, T, T]
    i = torch.arange(LENGTH)
    mirror = w[:, :, i, LENGTH - 1 - i]  # [B, H, 28]
    top = w[:, :, :LENGTH].argmax(-1)  # [B, H, 28]
    shares = []
    for h in range(w.size(1)):
        share = float(mirror[:, h].mean())
        hit = float((top[:, h] == LENGTH - 1 - i).float().mean())
        shares.append({"head": h, "mirror_weight": round(share, 4), "argmax_is_mirror": round(hit, 4)})
        log(f"head {h}: mean weight on the mirror key {share:.3f}; "
            f"the mirror key is the row's largest in {hit:.1%} of rows")
    return shares


def config(seed, steps, tok, seq, secs, shares, lr, bs, eval_n=2048):
    return {
        "arch": "mha",
        "name": "mha_trained",
        "note": "Lesson 01's model: Embedding(27, 512) + the sinusoid positional encoding + "
                "one nn.MultiheadAttention(512, 8, batch_first=True) + Linear(512, 27), trained "
                "by tools/train_mha_lesson.py to reverse 28 letters (then 4 padding positions, "
                "key_padding_mask True): the output at position i is the letter at 27 - i.",
        "class": "torch.nn.MultiheadAttention",
        "root_class": "Reverser",
        "kwargs": {"embed_dim": D_MODEL, "num_heads": HEADS, "dropout": 0.0, "bias": True,
                   "batch_first": True},
        "embedding": {"name": "embed", "num_embeddings": len(VOCAB)},
        "positional_encoding": {"name": "pos_enc", "kind": "sinusoid"},
        "output": {"name": "out", "out_features": len(VOCAB)},
        "vocab": VOCAB,
        "example_inputs": {"batch": 1, "length": T, "tokens": EXAMPLE, "causal": False,
                           "key_lengths": [LENGTH]},
        "training": {"tool": "tools/train_mha_lesson.py", "seed": seed, "steps": steps,
                     "batch": bs, "lr": lr, "optimizer": "Adam", "schedule": "cosine to lr/100",
                     "cpu_seconds": round(secs, 1), "threads": 1,
                     "torch": torch.__version__,
                     "held_out_token_accuracy": tok, "held_out_sequence_accuracy": seq,
                     "held_out_sequences": eval_n, "heads": shares},
        "forward": {"call": "out(mha(pos_enc(embed(tokens)), ..., key_padding_mask, "
                            "need_weights=True, average_attn_weights=False)[0])"},
    }


def write_acts(model, tokens, kpm, acts_dir):
    """torch's activations on the example: every module output (torch_dump),
    the per-head scores layerstep names, and the argmax."""
    from torch_dump import dump
    dump(model, (tokens, kpm), acts_dir)
    model.eval()
    E, H, hd = D_MODEL, HEADS, D_MODEL // HEADS
    with torch.no_grad():
        x = model.pos_enc(model.embed(tokens))
        m = model.mha
        qkv = nn.functional.linear(x, m.in_proj_weight, m.in_proj_bias)
        q, k, v = (qkv[..., i * E:(i + 1) * E].reshape(1, T, H, hd).transpose(1, 2)
                   for i in range(3))
        scores = (q / math.sqrt(hd)) @ k.transpose(-1, -2)
        mask = kpm[:, None, None, :].expand(1, H, T, T)
        mask_add = torch.zeros(1, H, T, T).masked_fill(mask, float("-inf"))
        attn = torch.softmax(scores + mask_add, dim=-1)
        context = (attn @ v).transpose(1, 2).reshape(1, T, E)
        extra = {"mha.q": q, "mha.k": k, "mha.v": v, "mha.scores": scores, "mha.mask": mask,
                 "mha.mask_add": mask_add, "mha.scores_masked": scores + mask_add,
                 "mha.attn": attn, "mha.context": context,
                 "mha.out_proj": nn.functional.linear(context, m.out_proj.weight, m.out_proj.bias),
                 "predicted": model(tokens, kpm).argmax(-1)}
    for n, t in extra.items():
        np.save(os.path.join(acts_dir, n + ".npy"), t.contiguous().numpy())
    # the root's output is "output" in torch_dump's layout; layerstep's is
    # the out layer itself (the same tensor)
    os.remove(os.path.join(acts_dir, "output.npy"))
    os.remove(os.path.join(acts_dir, "manifest.json"))


def load_trained(d):
    model = Reverser()
    w, _ = safetensors_np.read(os.path.join(d, "weights.safetensors"))
    missing = model.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()}, strict=False)
    assert not missing.unexpected_keys and missing.missing_keys == ["pos_enc.pe"], missing
    return model


def build(inputs=None):
    """tools/torch_dump.py entry: the trained model from data/mha_trained."""
    model = load_trained(DEFAULT_OUT)
    if inputs is None:
        return model, example_inputs()
    return model, (inputs["tokens"], inputs["key_padding_mask"])


def check(exe, d):
    """torch afresh vs layerstep dump, vs the committed acts; accuracy."""
    model = load_trained(d)
    tokens = torch.from_numpy(np.load(os.path.join(d, "inputs", "tokens.npy")))
    kpm = torch.from_numpy(np.load(os.path.join(d, "inputs", "key_padding_mask.npy")))
    fails = 0
    with tempfile.TemporaryDirectory(prefix="ls_mha_trained.") as tmp:
        ref, ours = os.path.join(tmp, "torch"), os.path.join(tmp, "ours")
        os.makedirs(ref)
        write_acts(model, tokens, kpm, ref)
        r = subprocess.run([exe, "dump", "--model", d, "--inputs", os.path.join(d, "inputs"),
                            "--out", ours], capture_output=True, text=True)
        if r.returncode:
            print(f"FAIL layerstep dump: {r.stderr.strip()}")
            return 1
        r = subprocess.run([exe, "compare", ours, ref], capture_output=True, text=True)
        passed = [ln for ln in r.stdout.splitlines() if ln.endswith(" pass")]
        n_ref = len([f for f in os.listdir(ref) if f.endswith(".npy")])
        ok = r.returncode == 0 and len(passed) == n_ref
        worst = max((float(ln.split()[-3]) for ln in passed), default=0.0)
        print(f"{'ok  ' if ok else 'FAIL'} layerstep dump vs torch: {len(passed)} of {n_ref} points "
              f"pass (atol 1e-5 + rtol 1e-4; worst max abs {worst:.3g})")
        if not ok:
            print("\n".join(ln for ln in r.stdout.splitlines() if " only in " not in ln)[:3000])
        fails += not ok
        worst = 0.0
        for f in sorted(os.listdir(ref)):
            a, b = np.load(os.path.join(ref, f)), np.load(os.path.join(d, "acts", f))
            fin = np.isfinite(a)
            same = a.shape == b.shape and (fin == np.isfinite(b)).all() and \
                (a[~fin] == b[~fin]).all()
            err = float(np.max(np.abs(a[fin].astype(np.float64) - b[fin]), initial=0)) if same else 1e9
            worst = max(worst, err)
        ok = worst <= 1e-5
        print(f"{'ok  ' if ok else 'FAIL'} the committed acts/ are torch's: worst max abs {worst:.3g}")
        fails += not ok
    # the committed weights stopped early (config.json "training"): 98.9%
    # of the letters right on its held-out set
    tok, seq = accuracy(model, *batch(256, torch.Generator().manual_seed(4242)))
    ok = tok >= 0.98
    print(f"{'ok  ' if ok else 'FAIL'} torch reverses 256 new sequences: token accuracy {tok:.4f} "
          f"(>= 0.98), sequence accuracy {seq:.4f}")
    fails += not ok
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=500,
                    help="the length of the cosine schedule, and the most steps")
    ap.add_argument("--cpu-minutes", type=float, default=30,
                    help="stop (and write the model as it is) after this much CPU time")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rewrite", action="store_true",
                    help="no training: rewrite OUT's config, inputs and acts from its weights "
                         "(keeping the training record of its config.json)")
    ap.add_argument("--eval-n", type=int, default=2048,
                    help="with --rewrite: held-out sequences to measure the accuracy on")
    ap.add_argument("--check", metavar="LAYERSTEP",
                    help="no training: compare OUT with torch through this layerstep binary")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.check:
        return check(os.path.abspath(a.check), a.out)

    def log(s):
        print(s, flush=True)

    tr = {}
    if a.rewrite:
        model = load_trained(a.out)
        tr = json.load(open(os.path.join(a.out, "config.json")))["training"]
        a.seed, a.lr, a.batch = tr["seed"], tr["lr"], tr["batch"]
        steps, secs = tr["steps"], tr["cpu_seconds"]
        # measured again, on the same 2048 sequences train() ends with
        tok, seq = accuracy(model, *batch(a.eval_n, torch.Generator().manual_seed(a.seed + 3000)))
    else:
        model, steps, tok, seq, secs = train(a.seed, a.max_steps, a.lr, a.batch, log,
                                             a.cpu_minutes * 60)
    log(f"trained {steps} steps in {secs:.0f} s of CPU (1 thread): held-out token accuracy "
        f"{tok:.4f}, sequence accuracy {seq:.4f}")
    shares = head_report(model, log, 64 if a.rewrite and a.eval_n < 2048 else 256)
    tokens, kpm = example_inputs()
    model.eval()
    with torch.no_grad():
        pred = model(tokens, kpm)[0, :LENGTH].argmax(-1).tolist()
    log(f"example {EXAMPLE!r} -> {''.join(VOCAB[i] for i in pred)!r}")

    parent = os.path.dirname(os.path.abspath(a.out))
    tmp = tempfile.mkdtemp(prefix=".mha_trained.", dir=parent)
    try:
        os.makedirs(os.path.join(tmp, "inputs"))
        os.makedirs(os.path.join(tmp, "acts"))
        sd = {k: v.detach().float().contiguous().numpy() for k, v in model.state_dict().items()
              if k != "pos_enc.pe"}
        safetensors_np.write(os.path.join(tmp, "weights.safetensors"), sd)
        with open(os.path.join(tmp, "config.json"), "w") as f:
            cfg = config(a.seed, steps, tok, seq, secs, shares, a.lr, a.batch,
                         a.eval_n if a.rewrite else 2048)
            if a.rewrite and "note" in tr:
                cfg["training"]["note"] = tr["note"]
            json.dump(cfg, f, indent=1)
            f.write("\n")
        np.save(os.path.join(tmp, "inputs", "tokens.npy"), tokens.numpy())
        np.save(os.path.join(tmp, "inputs", "key_padding_mask.npy"), kpm.numpy())
        write_acts(model, tokens, kpm, os.path.join(tmp, "acts"))
        if os.path.exists(a.out):
            shutil.rmtree(a.out)
        os.replace(tmp, a.out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
