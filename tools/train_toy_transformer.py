#!/usr/bin/python3
"""Train the toy translation Transformer and write a layerstep model directory.

    /usr/bin/python3 tools/train_toy_transformer.py [--out data/toy_transformer_trained]
    ./build/layerstep run --model data/toy_transformer_trained --src "ich mochte ein bier P"

The model is the toy "Attention is all you need" encoder-decoder of
wmathor/nlp-tutorial 5-1.Transformer/Transformer_Torch.py (the golden fixture
transformer_small), rewritten here in plain torch from the golden README's
"Toy Transformer" section, with the reference's module names:

  Embedding (no sqrt(d_model) scale) + sinusoid pe added in [T,B,D], dropout
  MultiHeadAttention: bias-free W_Q/W_K/W_V/fc, scores = Q K^T / np.sqrt(d_k),
      masked_fill(-1e9), softmax, post-norm with a fresh weight-free LayerNorm
  PoswiseFeedForwardNet: LayerNorm(W2(ReLU(W1 x)) + x), bias-free, fresh LN
  masks True = masked: key pad (id 0); decoder self: pad | triu(k=1);
      decoder-encoder: the source token is a pad
  projection: bias-free; output = logits.view(-1, tgt_vocab_size)

It is checked against the untrained fixture first (same str(model) as the
fixture's module_tree.txt, same output on its weights and inputs), then
trained with Adam on teacher forcing (CrossEntropyLoss(ignore_index=0)),
seeded, on CPU, until the loss is tiny and greedy decoding (the file's own
greedy_decoder) reproduces every target.  Writes, atomically:

  OUT/config.json            arch "transformer", "globals" as in the fixture
  OUT/weights.safetensors    the reference's state_dict keys (pe left out)
  OUT/inputs/{enc_inputs,dec_inputs,dec_outputs}.npy   every sentence pair

and, with --check LAYERSTEP, dumps every module output with
tools/torch_dump.py into a temp dir and compares it with `layerstep dump`.

Also usable as a tools/torch_dump.py model file:
    /usr/bin/python3 tools/torch_dump.py tools/train_toy_transformer.py \\
        --inputs data/toy_transformer_trained/inputs --out /tmp/ref
(build() loads the trained model from data/toy_transformer_trained).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
import safetensors_np  # noqa: E402

DEFAULT_OUT = os.path.join(ROOT, "data", "toy_transformer_trained")
FIXTURE = os.path.join(ROOT, "tests", "data", "transformer_small")

# The walkthrough's two pairs first (the fixture's config.json), then a few
# more in the same style: 5 source words (P = pad), "S" + 5 target words.
SENTENCES = [
    ["ich mochte ein bier P", "S i want a beer .", "i want a beer . E"],
    ["ich mochte ein cola P", "S i want a coke .", "i want a coke . E"],
    ["ich mochte ein wasser P", "S i want a water .", "i want a water . E"],
    ["du mochtest ein bier P", "S you want a beer .", "you want a beer . E"],
    ["du mochtest ein cola P", "S you want a coke .", "you want a coke . E"],
    ["ich trinke ein bier P", "S i drink a beer .", "i drink a beer . E"],
    ["ich trinke ein wasser P", "S i drink a water .", "i drink a water . E"],
    ["ich mochte kein bier P", "S i want no beer .", "i want no beer . E"],
]
# the fixture's ids first, new words after them
SRC_VOCAB = {"P": 0, "ich": 1, "mochte": 2, "ein": 3, "bier": 4, "cola": 5,
             "wasser": 6, "du": 7, "mochtest": 8, "trinke": 9, "kein": 10}
TGT_VOCAB = {"P": 0, "i": 1, "want": 2, "a": 3, "beer": 4, "coke": 5, "S": 6, "E": 7, ".": 8,
             "water": 9, "you": 10, "drink": 11, "no": 12}


# ---------------------------------------------------------------------------
# the model (module names and order as in the reference)

class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        pe = torch.zeros(max_len, d_model)
        pos = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe.unsqueeze(0).transpose(0, 1))  # [max_len,1,D]

    def forward(self, x):  # x: [T,B,D]
        return self.dropout(x + self.pe[:x.size(0), :])


def pad_mask(seq_q, seq_k):
    """[B,Tq,Tk] True where the key token is the pad (id 0)."""
    b, tq = seq_q.size()
    return seq_k.eq(0).unsqueeze(1).expand(b, tq, seq_k.size(1))


def subsequence_mask(seq):
    b, t = seq.size()
    return torch.triu(torch.ones(b, t, t, dtype=torch.uint8), diagonal=1)


class MultiHeadAttention(nn.Module):
    def __init__(self, g):
        super().__init__()
        self.g = g
        d, h = g["d_model"], g["n_heads"]
        self.W_Q = nn.Linear(d, g["d_k"] * h, bias=False)
        self.W_K = nn.Linear(d, g["d_k"] * h, bias=False)
        self.W_V = nn.Linear(d, g["d_v"] * h, bias=False)
        self.fc = nn.Linear(h * g["d_v"], d, bias=False)

    def forward(self, input_Q, input_K, input_V, attn_mask):
        g = self.g
        h, d_k, d_v = g["n_heads"], g["d_k"], g["d_v"]
        residual, b = input_Q, input_Q.size(0)
        Q = self.W_Q(input_Q).view(b, -1, h, d_k).transpose(1, 2)
        K = self.W_K(input_K).view(b, -1, h, d_k).transpose(1, 2)
        V = self.W_V(input_V).view(b, -1, h, d_v).transpose(1, 2)
        attn_mask = attn_mask.unsqueeze(1).repeat(1, h, 1, 1)
        # ScaledDotProductAttention (made inside forward: not a submodule)
        scores = torch.matmul(Q, K.transpose(-1, -2)) / np.sqrt(d_k)
        scores = scores.masked_fill(attn_mask, -1e9)
        attn = torch.softmax(scores, dim=-1)
        context = torch.matmul(attn, V)
        context = context.transpose(1, 2).reshape(b, -1, h * d_v)
        output = self.fc(context)
        # a freshly made LayerNorm: weight 1, bias 0, eps 1e-5, no parameters
        return nn.functional.layer_norm(output + residual, (g["d_model"],), eps=1e-5), attn


class PoswiseFeedForwardNet(nn.Module):
    def __init__(self, g):
        super().__init__()
        self.g = g
        self.fc = nn.Sequential(nn.Linear(g["d_model"], g["d_ff"], bias=False), nn.ReLU(),
                                nn.Linear(g["d_ff"], g["d_model"], bias=False))

    def forward(self, inputs):
        return nn.functional.layer_norm(self.fc(inputs) + inputs, (self.g["d_model"],), eps=1e-5)


class EncoderLayer(nn.Module):
    def __init__(self, g):
        super().__init__()
        self.enc_self_attn = MultiHeadAttention(g)
        self.pos_ffn = PoswiseFeedForwardNet(g)

    def forward(self, enc_inputs, enc_self_attn_mask):
        out, attn = self.enc_self_attn(enc_inputs, enc_inputs, enc_inputs, enc_self_attn_mask)
        return self.pos_ffn(out), attn


class DecoderLayer(nn.Module):
    def __init__(self, g):
        super().__init__()
        self.dec_self_attn = MultiHeadAttention(g)
        self.dec_enc_attn = MultiHeadAttention(g)
        self.pos_ffn = PoswiseFeedForwardNet(g)

    def forward(self, dec_inputs, enc_outputs, dec_self_attn_mask, dec_enc_attn_mask):
        out, self_attn = self.dec_self_attn(dec_inputs, dec_inputs, dec_inputs, dec_self_attn_mask)
        out, enc_attn = self.dec_enc_attn(out, enc_outputs, enc_outputs, dec_enc_attn_mask)
        return self.pos_ffn(out), self_attn, enc_attn


class Encoder(nn.Module):
    def __init__(self, g):
        super().__init__()
        self.src_emb = nn.Embedding(g["src_vocab_size"], g["d_model"])
        self.pos_emb = PositionalEncoding(g["d_model"])
        self.layers = nn.ModuleList([EncoderLayer(g) for _ in range(g["n_layers"])])

    def forward(self, enc_inputs):
        x = self.src_emb(enc_inputs)
        x = self.pos_emb(x.transpose(0, 1)).transpose(0, 1)
        mask = pad_mask(enc_inputs, enc_inputs)
        attns = []
        for layer in self.layers:
            x, a = layer(x, mask)
            attns.append(a)
        return x, attns


class Decoder(nn.Module):
    def __init__(self, g):
        super().__init__()
        self.tgt_emb = nn.Embedding(g["tgt_vocab_size"], g["d_model"])
        self.pos_emb = PositionalEncoding(g["d_model"])
        self.layers = nn.ModuleList([DecoderLayer(g) for _ in range(g["n_layers"])])

    def forward(self, dec_inputs, enc_inputs, enc_outputs):
        x = self.tgt_emb(dec_inputs)
        x = self.pos_emb(x.transpose(0, 1)).transpose(0, 1)
        self_mask = torch.gt(pad_mask(dec_inputs, dec_inputs).to(torch.uint8) +
                             subsequence_mask(dec_inputs), 0)
        enc_mask = pad_mask(dec_inputs, enc_inputs)
        self_attns, enc_attns = [], []
        for layer in self.layers:
            x, sa, ea = layer(x, enc_outputs, self_mask, enc_mask)
            self_attns.append(sa)
            enc_attns.append(ea)
        return x, self_attns, enc_attns


class Transformer(nn.Module):
    def __init__(self, g):
        super().__init__()
        self.encoder = Encoder(g)
        self.decoder = Decoder(g)
        self.projection = nn.Linear(g["d_model"], g["tgt_vocab_size"], bias=False)

    def forward(self, enc_inputs, dec_inputs):
        enc_outputs, enc_self_attns = self.encoder(enc_inputs)
        dec_outputs, dec_self_attns, dec_enc_attns = self.decoder(dec_inputs, enc_inputs,
                                                                  enc_outputs)
        logits = self.projection(dec_outputs)
        return logits.view(-1, logits.size(-1)), enc_self_attns, dec_self_attns, dec_enc_attns


def greedy_decoder(model, enc_input, start_symbol, tgt_len):
    """The reference file's greedy_decoder: the whole dec_input every step."""
    enc_outputs, _ = model.encoder(enc_input)
    dec_input = torch.zeros(1, tgt_len, dtype=enc_input.dtype)
    nxt = start_symbol
    for i in range(tgt_len):
        dec_input[0][i] = nxt
        dec_outputs, _, _ = model.decoder(dec_input, enc_input, enc_outputs)
        prob = model.projection(dec_outputs).squeeze(0).max(dim=-1)[1]
        nxt = prob[i].item()
    return dec_input


def make_data(sentences, src_vocab, tgt_vocab):
    e = [[src_vocab[w] for w in s[0].split()] for s in sentences]
    d = [[tgt_vocab[w] for w in s[1].split()] for s in sentences]
    o = [[tgt_vocab[w] for w in s[2].split()] for s in sentences]
    return (torch.tensor(e, dtype=torch.int64), torch.tensor(d, dtype=torch.int64),
            torch.tensor(o, dtype=torch.int64))


def state_dict_np(model):
    return {k: v.detach().cpu().float().contiguous().numpy()
            for k, v in model.state_dict().items() if not k.endswith(".pe")}


# ---------------------------------------------------------------------------

def module_tree_names(path):
    """Dotted module paths from a str(model) print (the fixture's module_tree.txt)."""
    names, stack = [""], []
    with open(path) as f:
        for line in f.read().splitlines()[1:]:
            s = line.strip()
            if not s.startswith("("):
                continue  # a closing ")"
            depth = (len(line) - len(line.lstrip())) // 2 - 1
            stack[depth:] = [s[1:s.index(")")]]
            names.append(".".join(stack))
    return names


def check_against_fixture(fixture, log):
    """Our plain-torch model == the reference on the untrained fixture."""
    cfg = json.load(open(os.path.join(fixture, "config.json")))
    g = cfg["globals"]
    model = Transformer(g)
    ok = True
    tree = open(os.path.join(fixture, "module_tree.txt")).read().rstrip("\n")
    same_tree = str(model) == tree
    names = [n for n, _ in model.named_modules()]
    same_names = names == module_tree_names(os.path.join(fixture, "module_tree.txt"))
    log(f"fixture check: str(model) == module_tree.txt: {same_tree}; "
        f"named_modules() == its names: {same_names} ({len(names)} modules)")
    ok &= same_tree and same_names
    w, _ = safetensors_np.read(os.path.join(fixture, "weights.safetensors"))
    missing = model.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()}, strict=False)
    ok &= not missing.unexpected_keys and all(k.endswith(".pe") for k in missing.missing_keys)
    model.eval()
    inp = {n: torch.from_numpy(np.load(os.path.join(fixture, "inputs", n + ".npy")))
           for n in ("enc_inputs", "dec_inputs")}
    with torch.no_grad():
        out = model(inp["enc_inputs"], inp["dec_inputs"])
    ref = np.load(os.path.join(fixture, "acts", "output.npy"))
    err = float(np.max(np.abs(out[0].numpy() - ref)))
    log(f"fixture check: output vs acts/output.npy max abs err {err:.2e}")
    ok &= err < 1e-4
    gd = np.load(os.path.join(fixture, "acts", "greedy_decoder.npy"))
    with torch.no_grad():
        mine = [greedy_decoder(model, inp["enc_inputs"][i:i + 1], g["tgt_vocab"]["S"],
                               g["tgt_len"])[0].tolist() for i in range(gd.shape[0])]
    log(f"fixture check: greedy_decoder matches acts/greedy_decoder.npy: {mine == gd.tolist()}")
    ok &= mine == gd.tolist()
    return ok


def train(g, seed, max_steps, lr, log):
    torch.manual_seed(seed)
    model = Transformer(g)
    enc, dec, tgt = make_data(g["sentences"], g["src_vocab"], g["tgt_vocab"])
    crit = nn.CrossEntropyLoss(ignore_index=0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    step, eval_loss = 0, float("inf")
    for step in range(1, max_steps + 1):
        model.train()
        logits, _, _, _ = model(enc, dec)
        loss = crit(logits, tgt.view(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == max_steps:
            model.eval()
            with torch.no_grad():
                eval_loss = float(crit(model(enc, dec)[0], tgt.view(-1)))
            log(f"step {step:4d}  train loss {float(loss):.6f}  eval loss {eval_loss:.6f}")
            if eval_loss < 1e-3 and step >= 200:
                break
    return model, step, eval_loss


def decode_all(model, g):
    enc, _, _ = make_data(g["sentences"], g["src_vocab"], g["tgt_vocab"])
    inv = {i: w for w, i in g["tgt_vocab"].items()}
    out = []
    model.eval()
    with torch.no_grad():
        for i in range(enc.size(0)):
            ids = greedy_decoder(model, enc[i:i + 1], g["tgt_vocab"]["S"], g["tgt_len"])[0]
            out.append(" ".join(inv[int(t)] for t in ids))
    return out


def write_model(out_dir, model, g, meta):
    os.makedirs(os.path.join(out_dir, "inputs"), exist_ok=True)
    enc, dec, tgt = make_data(g["sentences"], g["src_vocab"], g["tgt_vocab"])
    safetensors_np.write(os.path.join(out_dir, "weights.safetensors"), state_dict_np(model),
                         {"arch": "transformer", "name": "toy_transformer_trained",
                          "seed": str(meta["seed"]),
                          "format": "pt state_dict, reference key names"})
    for n, t in (("enc_inputs", enc), ("dec_inputs", dec), ("dec_outputs", tgt)):
        safetensors_np.save_npy_atomic(os.path.join(out_dir, "inputs", n + ".npy"),
                                       t.numpy().astype(np.int64))
    fx = json.load(open(os.path.join(FIXTURE, "config.json"))) if os.path.isfile(
        os.path.join(FIXTURE, "config.json")) else {}
    cfg = {
        "arch": "transformer",
        "name": "toy_transformer_trained",
        "seed": meta["seed"],
        "reference": fx.get("reference", {"repo": "https://github.com/wmathor/nlp-tutorial",
                                          "files": ["5-1.Transformer/Transformer_Torch.py"]}),
        "globals": g,
        "forward": {"call": "model(enc_inputs, dec_inputs)",
                    "returns": "(dec_logits.view(-1, tgt_vocab_size), enc_self_attns, "
                               "dec_self_attns, dec_enc_attns)"},
        "training": meta,
        "notes": [
            "trained by tools/train_toy_transformer.py (plain torch, the reference's module "
            "names); weights are the reference's state_dict keys without the pe tables",
            "nn.LayerNorm(d_model) is created fresh inside MultiHeadAttention.forward and "
            "PoswiseFeedForwardNet.forward: weight 1, bias 0, eps 1e-5, not in the state_dict",
            "PositionalEncoding works on [T,B,D] (the caller transposes)",
        ],
    }
    safetensors_np.write_bytes_atomic(os.path.join(out_dir, "config.json"),
                                      json.dumps(cfg, indent=1) + "\n")


def load_trained(model_dir=DEFAULT_OUT):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    model = Transformer(cfg["globals"])
    w, _ = safetensors_np.read(os.path.join(model_dir, "weights.safetensors"))
    r = model.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()}, strict=False)
    if r.unexpected_keys or not all(k.endswith(".pe") for k in r.missing_keys):
        raise ValueError(f"{model_dir}: weights do not fit the model: {r}")
    model.eval()
    return model, cfg


def build(inputs=None):
    """tools/torch_dump.py entry point: (model, (enc_inputs, dec_inputs))."""
    model, cfg = load_trained(os.environ.get("LS_TOY_MODEL", DEFAULT_OUT))
    if inputs is None:
        g = cfg["globals"]
        enc, dec, _ = make_data(g["sentences"], g["src_vocab"], g["tgt_vocab"])
    else:
        enc, dec = inputs["enc_inputs"], inputs["dec_inputs"]
    return model, (enc, dec)


def check_with_layerstep(exe, out_dir, model, g, log):
    """torch_dump vs layerstep dump, greedy text, and the bier->beer attention."""
    from torch_dump import dump
    ok = True
    enc, dec, _ = make_data(g["sentences"], g["src_vocab"], g["tgt_vocab"])
    with tempfile.TemporaryDirectory(prefix="ls_toy_trained.") as tmp:
        ref, ours = os.path.join(tmp, "torch"), os.path.join(tmp, "layerstep")
        pts = dump(model, (enc, dec), ref)
        log(f"torch_dump: {len(pts)} points")
        r = subprocess.run([exe, "dump", "--model", out_dir, "--inputs",
                            os.path.join(out_dir, "inputs"), "--out", ours],
                           capture_output=True, text=True)
        ok &= r.returncode == 0
        r = subprocess.run([exe, "compare", ours, ref], capture_output=True, text=True)
        lines = r.stdout.splitlines()
        log("layerstep compare (layerstep dump vs torch_dump): " +
            (lines[-1] if lines else r.stderr.strip()) + f"  [exit {r.returncode}]")
        ok &= r.returncode == 0
        # tools/torch_dump.py names element 0 of a nested list "P.i" where
        # layerstep and the fixtures say "P.i.0": compare those by hand
        extra = 0
        for p in pts:
            n = p["name"]
            alt = os.path.join(ours, n + ".0.npy")
            if not os.path.exists(os.path.join(ours, n + ".npy")) and os.path.exists(alt):
                a, b = np.load(alt), np.load(os.path.join(ref, p["file"]))
                good = a.shape == b.shape and float(np.max(np.abs(a - b))) <= \
                    1e-5 + 1e-4 * float(np.max(np.abs(b)))
                ok &= good
                extra += 1
                if not good:
                    log(f"  {n} (torch_dump) vs {n}.0 (layerstep): MISMATCH")
        if extra:
            log(f"  + {extra} nested-list points (torch_dump's P.i = layerstep's P.i.0) "
                f"compared by hand: {'all pass' if ok else 'FAIL'}")
    for s in g["sentences"]:
        r = subprocess.run([exe, "run", "--model", out_dir, "--src", s[0]],
                           capture_output=True, text=True)
        got = [ln.split(": ", 1)[1] for ln in r.stdout.splitlines()
               if ln.startswith("greedy_decoder[0]: ")]
        good = r.returncode == 0 and got == [s[1]]
        ok &= good
        log(f"layerstep --src {s[0]!r:28} -> {got[0] if got else r.stderr.strip()!r} "
            f"{'ok' if good else 'WRONG'}")
    return ok


def attention_report(model, g, log):
    """Last decoder layer's cross-attention for 'ich mochte ein bier P' / 'S i want a beer .'."""
    enc, dec, _ = make_data(g["sentences"][:1], g["src_vocab"], g["tgt_vocab"])
    with torch.no_grad():
        _, _, _, enc_attns = model(enc, dec)
    a = enc_attns[-1][0]  # [H,Tq,Tk]
    src, tgt = g["sentences"][0][0].split(), g["sentences"][0][1].split()
    log(f"decoder.layers.{g['n_layers'] - 1}.dec_enc_attn.attn, head mean "
        f"(rows: decoder input token, cols: {' '.join(src)})")
    mean = a.mean(0)
    for i, w in enumerate(tgt):
        log(f"  {w:>5}: " + " ".join(f"{float(x):.3f}" for x in mean[i]))
    qi, kj = tgt.index("beer"), src.index("bier")
    qa = tgt.index("a")
    log(f"  per head, row 'beer' -> 'bier': " + " ".join(f"{float(a[h, qi, kj]):.3f}"
                                                       for h in range(a.size(0))))
    log(f"  per head, row 'a' (which emits 'beer') -> 'bier': " +
        " ".join(f"{float(a[h, qa, kj]):.3f}" for h in range(a.size(0))))
    return float(mean[qi, kj]), float(mean[qa, kj])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--d-ff", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--check", metavar="LAYERSTEP", help="build/layerstep: compare with its dump")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    log = print
    if os.path.isdir(FIXTURE) and not check_against_fixture(FIXTURE, log):
        log("error: the plain-torch model does not reproduce the transformer_small fixture")
        return 1
    g = {"sentences": SENTENCES, "src_vocab": SRC_VOCAB, "tgt_vocab": TGT_VOCAB,
         "src_len": 5, "tgt_len": 6, "d_model": a.d_model, "d_ff": a.d_ff,
         "d_k": a.d_model // a.heads, "d_v": a.d_model // a.heads, "n_layers": a.layers,
         "n_heads": a.heads, "src_vocab_size": len(SRC_VOCAB),
         "tgt_vocab_size": len(TGT_VOCAB)}
    model, steps, loss = train(g, a.seed, a.steps, a.lr, log)
    outs = decode_all(model, g)
    for s, o in zip(g["sentences"], outs):
        log(f"greedy {s[0]!r:28} -> {o!r} {'ok' if o == s[1] else 'WRONG'}")
    if loss > 1e-2 or any(o != s[1] for s, o in zip(g["sentences"], outs)):
        log("error: training did not converge (try more --steps or another --seed)")
        return 1
    beer, a_row = attention_report(model, g, log)
    meta = {"script": "tools/train_toy_transformer.py", "seed": a.seed, "steps": steps,
            "optimizer": f"Adam(lr={a.lr})", "loss": "CrossEntropyLoss(ignore_index=0), "
            "teacher forcing, full batch, dropout 0.1 while training",
            "final_eval_loss": round(loss, 8), "torch": torch.__version__,
            "greedy_outputs": outs}
    write_model(a.out, model, g, meta)
    log(f"wrote {a.out}/ (eval loss {loss:.6f} after {steps} steps)")
    if a.check:
        if not check_with_layerstep(os.path.abspath(a.check), a.out, load_trained(a.out)[0], g,
                                    log):
            log("error: layerstep disagrees with torch")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
