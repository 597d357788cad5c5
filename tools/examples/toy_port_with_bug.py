"""A "port" of the trained toy Transformer with one planted bug, for the
README's porting walkthrough: the decoder's first cross-attention forgets
to mask the source padding (the bug a porter makes when they build the
cross-attention mask from the decoder's tokens instead of the source's).

    /usr/bin/python3 tools/torch_dump.py tools/examples/toy_port_with_bug.py \
        --inputs data/toy_transformer_trained/inputs --out /tmp/ref_bug
    ./build/layerstep diff --model data/toy_transformer_trained \
        --inputs data/toy_transformer_trained/inputs /tmp/ref_bug
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import train_toy_transformer as toy  # noqa: E402


def build(inputs=None):
    model, args = toy.build(inputs)
    attn = model.decoder.layers[0].dec_enc_attn
    forward = attn.forward

    def unmasked(input_Q, input_K, input_V, attn_mask):
        return forward(input_Q, input_K, input_V, torch.zeros_like(attn_mask))

    attn.forward = unmasked
    return model, args
