#!/usr/bin/env python3
"""Test of data/toy_transformer_trained through build/layerstep (no torch).

    python3 tools/test_toy_transformer_trained.py build/layerstep [MODEL_DIR]

Python standard library only.  For every sentence pair in the model's
config.json (globals.sentences, the walkthrough's two first), greedy
decoding of the source (`layerstep run --src`) must print exactly the
target ("S i want a beer ."); teacher forcing on the bundled inputs must
predict every dec_outputs word with a small loss.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    if len(sys.argv) not in (2, 3):
        print("usage: test_toy_transformer_trained.py path/to/layerstep [MODEL_DIR]",
              file=sys.stderr)
        return 2
    exe = os.path.abspath(sys.argv[1])
    model = sys.argv[2] if len(sys.argv) == 3 else os.path.join(ROOT, "data",
                                                                "toy_transformer_trained")
    cfg = json.load(open(os.path.join(model, "config.json")))
    sentences = cfg["globals"]["sentences"]
    fails = 0
    walk = [["ich mochte ein bier P", "S i want a beer ."],
            ["ich mochte ein cola P", "S i want a coke ."]]
    if [s[:2] for s in sentences[:2]] != walk:
        print("FAIL the walkthrough's two pairs are not the first training sentences")
        fails += 1
    for src, tgt, _ in sentences:
        r = subprocess.run([exe, "run", "--model", model, "--src", src],
                           capture_output=True, text=True, timeout=120)
        got = [ln.split(": ", 1)[1] for ln in r.stdout.splitlines()
               if ln.startswith("greedy_decoder[0]: ")]
        ok = r.returncode == 0 and got == [tgt]
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {src!r} -> {got[0] if got else r.stderr.strip()!r}"
              f" (want {tgt!r})")
    # teacher forcing on the bundled batch
    r = subprocess.run([exe, "run", "--model", model, "--inputs", os.path.join(model, "inputs")],
                       capture_output=True, text=True, timeout=120)
    pred = {int(m.group(1)): m.group(2) for m in
            re.finditer(r"^teacher-forced argmax\[(\d+)\]: (.*)$", r.stdout, re.M)}
    want = {i: s[2] for i, s in enumerate(sentences)}
    ok = r.returncode == 0 and pred == want
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} teacher-forced argmax equals dec_outputs for all "
          f"{len(sentences)} pairs")
    m = re.search(r"^loss \(cross-entropy.*\): ([0-9.eE+-]+)$", r.stdout, re.M)
    loss = float(m.group(1)) if m else float("inf")
    ok = loss < 0.01
    fails += not ok
    print(f"{'ok  ' if ok else 'FAIL'} teacher-forcing loss {loss:.6f} < 0.01")
    print("all checks passed" if not fails else f"{fails} check(s) failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
