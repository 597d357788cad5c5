#!/usr/bin/python3
"""PyTorch times for the models `layerstep bench` runs, as JSON for
`layerstep bench --compare FILE`.

Same sizes, same inputs' shapes, random weights (speed does not depend on
the values): the article-size Conformer written in plain torch from
/work/shared/golden/README.md's math (12 x 512, 8 heads, d_ff 2048, conv
kernel 15, Conv2dSubsampling4 on 1 x 363 x 80 -> 90 frames),
torchaudio's wav2vec2_model with the base config on 1 s at 16 kHz, and the
toy Transformer (nlp-tutorial) at d_model 512, 6+6 layers, 8 heads, d_ff
2048 on its two example sentences.

Median forward under torch.no_grad() in eval(), model already in memory,
after warm-up, on 1 thread and on every core (torch.set_num_threads).
Run with Debian's torch:  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 tools/bench_torch.py out.json
"""
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- Conformer (WeNet ConformerEncoder, normalize_before, macaron, rel_pos, no rel_shift) ----

class FFN(nn.Module):
    def __init__(s, d, ff):
        super().__init__()
        s.w_1, s.w_2 = nn.Linear(d, ff), nn.Linear(ff, d)

    def forward(s, x):
        return s.w_2(F.silu(s.w_1(x)))


class RelMHA(nn.Module):
    def __init__(s, d, h):
        super().__init__()
        s.h, s.dk = h, d // h
        s.linear_q, s.linear_k, s.linear_v, s.linear_out = (nn.Linear(d, d) for _ in range(4))
        s.linear_pos = nn.Linear(d, d, bias=False)
        s.pos_bias_u = nn.Parameter(torch.randn(h, s.dk) * 0.02)
        s.pos_bias_v = nn.Parameter(torch.randn(h, s.dk) * 0.02)

    def forward(s, x, pos_emb, mask):
        B, T, D = x.shape
        q = s.linear_q(x).view(B, T, s.h, s.dk)
        k = s.linear_k(x).view(B, T, s.h, s.dk).transpose(1, 2)
        v = s.linear_v(x).view(B, T, s.h, s.dk).transpose(1, 2)
        p = s.linear_pos(pos_emb).view(1, -1, s.h, s.dk).transpose(1, 2)
        q_u = (q + s.pos_bias_u).transpose(1, 2)
        q_v = (q + s.pos_bias_v).transpose(1, 2)
        ac = q_u @ k.transpose(-2, -1)
        bd = q_v @ p.transpose(-2, -1)
        scores = (ac + bd) / math.sqrt(s.dk)
        m = mask.unsqueeze(1).eq(0)
        attn = torch.softmax(scores.masked_fill(m, -float("inf")), dim=-1).masked_fill(m, 0.0)
        return s.linear_out((attn @ v).transpose(1, 2).reshape(B, T, D))


class ConvModule(nn.Module):
    def __init__(s, d, k):
        super().__init__()
        s.pointwise_conv1 = nn.Conv1d(d, 2 * d, 1)
        s.depthwise_conv = nn.Conv1d(d, d, k, padding=(k - 1) // 2, groups=d)
        s.norm = nn.BatchNorm1d(d)
        s.pointwise_conv2 = nn.Conv1d(d, d, 1)

    def forward(s, x, pad):
        x = x.transpose(1, 2).masked_fill(~pad, 0.0)
        x = F.glu(s.pointwise_conv1(x), dim=1)
        x = s.pointwise_conv2(F.silu(s.norm(s.depthwise_conv(x))))
        return x.masked_fill(~pad, 0.0).transpose(1, 2)


class Layer(nn.Module):
    def __init__(s, d, h, ff, k):
        super().__init__()
        s.ff_mac, s.mha, s.conv, s.ff = FFN(d, ff), RelMHA(d, h), ConvModule(d, k), FFN(d, ff)
        s.n_mac, s.n_mha, s.n_conv, s.n_ff, s.n_final = (nn.LayerNorm(d, eps=1e-5) for _ in range(5))

    def forward(s, x, pos, mask):
        x = x + 0.5 * s.ff_mac(s.n_mac(x))
        x = x + s.mha(s.n_mha(x), pos, mask)
        x = x + s.conv(s.n_conv(x), mask)
        x = x + 0.5 * s.ff(s.n_ff(x))
        return s.n_final(x)


class Conformer(nn.Module):
    def __init__(s, idim=80, d=512, h=8, ff=2048, blocks=12, k=15):
        super().__init__()
        s.d = d
        s.mean = nn.Parameter(torch.zeros(idim), requires_grad=False)
        s.istd = nn.Parameter(torch.ones(idim), requires_grad=False)
        s.conv1, s.conv2 = nn.Conv2d(1, d, 3, 2), nn.Conv2d(d, d, 3, 2)
        s.out = nn.Linear(d * (((idim - 1) // 2 - 1) // 2), d)
        s.layers = nn.ModuleList(Layer(d, h, ff, k) for _ in range(blocks))
        s.after_norm = nn.LayerNorm(d, eps=1e-5)

    def pe(s, T):
        div = torch.exp(torch.arange(0, s.d, 2, dtype=torch.float32) * -(math.log(10000.0) / s.d))
        pos = torch.arange(T, dtype=torch.float32).unsqueeze(1)
        pe = torch.zeros(T, s.d)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
        return pe.unsqueeze(0)

    def forward(s, xs, xs_lens):
        T = xs.shape[1]
        mask = (torch.arange(T).unsqueeze(0) < xs_lens.unsqueeze(1)).unsqueeze(1)
        x = (xs - s.mean) * s.istd
        x = F.relu(s.conv2(F.relu(s.conv1(x.unsqueeze(1)))))
        B, C, T2, F2 = x.shape
        x = s.out(x.transpose(1, 2).reshape(B, T2, C * F2)) * math.sqrt(s.d)
        mask = mask[:, :, 2::2][:, :, 2::2]
        pos = s.pe(T2)
        for layer in s.layers:
            x = layer(x, pos, mask)
        return s.after_norm(x), mask


# ---- the toy Transformer (wmathor/nlp-tutorial Transformer_Torch.py), base size ----

D, DFF, DK, H, L = 512, 2048, 64, 8, 6


def pe_table(T, d):
    pos = torch.arange(T, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, d, 2).float() * (-math.log(10000.0) / d))
    pe = torch.zeros(T, d)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
    return pe


class TMHA(nn.Module):
    def __init__(s):
        super().__init__()
        s.W_Q, s.W_K, s.W_V = (nn.Linear(D, DK * H, bias=False) for _ in range(3))
        s.fc = nn.Linear(H * DK, D, bias=False)

    def forward(s, q_in, k_in, v_in, mask):
        B = q_in.size(0)
        Q = s.W_Q(q_in).view(B, -1, H, DK).transpose(1, 2)
        K = s.W_K(k_in).view(B, -1, H, DK).transpose(1, 2)
        V = s.W_V(v_in).view(B, -1, H, DK).transpose(1, 2)
        mask = mask.unsqueeze(1).repeat(1, H, 1, 1)
        scores = (Q @ K.transpose(-1, -2) / math.sqrt(DK)).masked_fill(mask, -1e9)
        ctx = (torch.softmax(scores, -1) @ V).transpose(1, 2).reshape(B, -1, H * DK)
        return F.layer_norm(s.fc(ctx) + q_in, (D,))


class TFFN(nn.Module):
    def __init__(s):
        super().__init__()
        s.fc = nn.Sequential(nn.Linear(D, DFF, bias=False), nn.ReLU(), nn.Linear(DFF, D, bias=False))

    def forward(s, x):
        return F.layer_norm(s.fc(x) + x, (D,))


class Toy(nn.Module):
    def __init__(s, src_vocab=6, tgt_vocab=9):
        super().__init__()
        s.src_emb, s.tgt_emb = nn.Embedding(src_vocab, D), nn.Embedding(tgt_vocab, D)
        s.enc = nn.ModuleList(nn.ModuleList([TMHA(), TFFN()]) for _ in range(L))
        s.dec = nn.ModuleList(nn.ModuleList([TMHA(), TMHA(), TFFN()]) for _ in range(L))
        s.projection = nn.Linear(D, tgt_vocab, bias=False)

    def forward(s, enc_in, dec_in):
        B, S = enc_in.shape
        T = dec_in.shape[1]
        x = s.src_emb(enc_in) + pe_table(S, D)
        m = enc_in.eq(0).unsqueeze(1).expand(B, S, S)
        for a, f in s.enc:
            x = f(a(x, x, x, m))
        y = s.tgt_emb(dec_in) + pe_table(T, D)
        sm = dec_in.eq(0).unsqueeze(1).expand(B, T, T) | torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
        em = enc_in.eq(0).unsqueeze(1).expand(B, T, S)
        for a, c, f in s.dec:
            y = f(c(a(y, y, y, sm), x, x, em))
        return s.projection(y).view(-1, 9)


def median_ms(fn, runs):
    with torch.no_grad():
        for _ in range(2):
            fn()
        t = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            t.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(t)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench_torch.json"
    runs = int(os.environ.get("RUNS", "7"))
    torch.manual_seed(0)
    import torchaudio
    conf = Conformer().eval()
    xs, xl = torch.randn(1, 363, 80), torch.tensor([363])
    w2v = torchaudio.models.wav2vec2_model(
        extractor_mode="group_norm",
        extractor_conv_layer_config=[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2,
        extractor_conv_bias=False, encoder_embed_dim=768, encoder_projection_dropout=0.1,
        encoder_pos_conv_kernel=128, encoder_pos_conv_groups=16, encoder_num_layers=12,
        encoder_num_heads=12, encoder_attention_dropout=0.1, encoder_ff_interm_features=3072,
        encoder_ff_interm_dropout=0.0, encoder_dropout=0.1, encoder_layer_norm_first=False,
        encoder_layer_drop=0.1, aux_num_out=None).eval()
    wav, wl = torch.randn(1, 16000), torch.tensor([16000])
    toy = Toy().eval()
    enc_in = torch.tensor([[1, 2, 3, 4, 0], [1, 2, 3, 5, 0]])
    dec_in = torch.tensor([[6, 1, 2, 3, 4, 8], [6, 1, 2, 3, 5, 8]])
    models = {
        "conformer_article": lambda: conf(xs, xl),
        "wav2vec2_base": lambda: w2v(wav, wl),
        "transformer_base": lambda: toy(enc_in, dec_in),
    }
    cores = os.cpu_count() or 1
    # Debian's torch calls whatever libblas.so.3 the alternatives system
    # points at: the netlib reference BLAS makes torch ~15x slower than with
    # OpenBLAS (apt-get install libopenblas0-pthread), which would flatter
    # any ratio; so say which one ran and how fast its sgemm is
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    torch.set_num_threads(1)
    a, b = torch.randn(90, 512), torch.randn(512, 2048)
    sg = 2 * 90 * 512 * 2048 / (median_ms(lambda: a @ b, 50) / 1e3) / 1e9
    print(f"torch {torch.__version__}, BLAS {blas}, sgemm 90x512x2048 on 1 thread: {sg:.1f} GFLOP/s",
          flush=True)
    if "netlib" in blas or "/blas/" in blas:
        print("warning: the reference BLAS: PyTorch times are far from what it does with "
              "OpenBLAS (apt-get install libopenblas0-pthread)", file=sys.stderr, flush=True)
    res = {"torch_version": torch.__version__, "runs": runs, "blas": blas,
           "sgemm_gflops_1_thread": round(sg, 1),
           "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""), "models": {}}
    for name, fn in models.items():
        res["models"][name] = {}
        for th in sorted({1, cores}):
            torch.set_num_threads(th)
            ms = median_ms(fn, runs)
            res["models"][name][str(th)] = round(ms, 2)
            print(f"{name:20s} {th} thread(s): {ms:8.1f} ms", flush=True)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
