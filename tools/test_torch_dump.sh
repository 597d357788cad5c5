#!/usr/bin/env bash
# tools/torch_dump.py on a real PyTorch model (the trained toy Transformer
# in plain torch) against `layerstep dump` of the same weights: every point
# torch_dump writes must match, and `layerstep diff` must pass.
# Exits 77 (meson's skip) when Debian's python3-torch is not installed.
set -u
LS=$1
ROOT=$2
PY=/usr/bin/python3
"$PY" -c 'import torch, numpy' 2>/dev/null || { echo "python3-torch not installed: skip"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
M="$ROOT/data/toy_transformer_trained"
"$PY" "$ROOT/tools/torch_dump.py" "$ROOT/tools/train_toy_transformer.py" --inputs "$M/inputs" --out "$T/ref" || exit 1
"$LS" dump --model "$M" --inputs "$M/inputs" --out "$T/ours" >/dev/null || exit 1
"$LS" compare "$T/ours" "$T/ref" > "$T/cmp" || { cat "$T/cmp"; exit 1; }
grep -q " 0 failed" "$T/cmp" || { cat "$T/cmp"; exit 1; }
n=$(grep -c " pass$" "$T/cmp")
[ "$n" -ge 80 ] || { echo "only $n points compared"; exit 1; }
"$LS" diff --model "$M" --inputs "$M/inputs" "$T/ref" || exit 1
echo "torch_dump: $n points match layerstep"
