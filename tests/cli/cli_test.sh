#!/usr/bin/env bash
# The layerstep program end to end on the small fixtures: print, run,
# dump + compare (exit codes 0 / 1 / 2), diff, module runs.
set -u
LS=$1
DATA=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
expect() { # expect CODE DESCRIPTION -- command...
  local want=$1 what=$2; shift 3
  "$@" >"$T/out" 2>"$T/err"; local got=$?
  if [ "$got" = "$want" ]; then ok "$what"; else bad "$what (exit $got, want $want)"; sed 's/^/     /' "$T/err" | head -5; fi
}

for fx in transformer_small mha_small wav2vec2_small conformer_small; do
  expect 0 "dump $fx" -- "$LS" dump --model "$DATA/$fx" --inputs "$DATA/$fx/inputs" --out "$T/$fx"
  expect 0 "compare $fx with its fixture" -- "$LS" compare "$T/$fx" "$DATA/$fx/acts"
  grep -q " 0 failed" "$T/out" && ok "$fx: 0 failed" || bad "$fx: summary"
done

# a tampered reference: one value of one tensor changed
mkdir -p "$T/tampered"
cp "$DATA"/transformer_small/acts/*.npy "$T/tampered/"
python3 - "$T/tampered/encoder.layers.1.enc_self_attn.scores.npy" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[-4:] = bytes([0, 0, 0x80, 0x3f])   # last float32 = 1.0
open(p, 'wb').write(bytes(b))
PY
expect 1 "compare finds a tampered tensor" -- "$LS" compare "$T/transformer_small" "$T/tampered"
grep -q "first failing point: encoder.layers.1.enc_self_attn.scores" "$T/out" && ok "first failing point named" || bad "first failing point named"
expect 1 "compare --strict fails on names missing on one side" -- "$LS" compare --strict "$T/transformer_small" "$DATA/transformer_small/acts"
expect 2 "compare of a missing directory" -- "$LS" compare "$T/nope" "$T/transformer_small"
grep -q "nope" "$T/err" && ok "error names the directory" || bad "error names the directory"

# diff: the same tampered reference -> that op is LOCAL
expect 1 "diff finds the tampered op" -- "$LS" diff --model "$DATA/transformer_small" --inputs "$DATA/transformer_small/inputs" "$T/tampered"
grep -q "first local fault: encoder.layers.1.enc_self_attn.scores" "$T/out" && ok "diff names the local op" || bad "diff names the local op"
expect 0 "diff against the fixture passes" -- "$LS" diff --model "$DATA/transformer_small" --inputs "$DATA/transformer_small/inputs" "$DATA/transformer_small/acts"
expect 0 "diff --json" -- "$LS" diff --json --model "$DATA/transformer_small" --inputs "$DATA/transformer_small/inputs" "$DATA/transformer_small/acts"
grep -q '"first_local":' "$T/out" && ok "diff json has first_local" || bad "diff json"

# run: the shape trace, --only, greedy words
expect 0 "run --only" -- "$LS" run --model "$DATA/transformer_small" --inputs "$DATA/transformer_small/inputs" --only 'encoder.layers.0.enc_self_attn.scores'
grep -q "encoder.layers.0.enc_self_attn.scores .*\[2, 4, 5, 5\]" "$T/out" && ok "scores shape [2, 4, 5, 5]" || bad "scores shape"
[ "$(grep -c '^encoder\|^decoder' "$T/out")" = 1 ] && ok "--only filters" || bad "--only filters"
expect 0 "greedy from text" -- "$LS" run --model "$DATA/transformer_small" --src "ich mochte ein bier P" --only greedy_decoder
grep -q "greedy_decoder\[0\]: S " "$T/out" && ok "greedy words printed" || bad "greedy words"
expect 2 "unknown word" -- "$LS" run --model "$DATA/transformer_small" --src "ich mochte ein wein"
grep -q "'wein' is not in the source vocabulary" "$T/err" && ok "unknown word named" || bad "unknown word named"

# print: tree with folded layers and parameter shapes
expect 0 "print" -- "$LS" print --model "$DATA/transformer_small"
grep -q "(0-1): 2 x EncoderLayer(" "$T/out" && ok "layers folded" || bad "layers folded"
grep -q "(W_Q): Linear(in_features=32, out_features=32, bias=False)  # weight \[32, 32\]" "$T/out" && ok "parameter shapes" || bad "parameter shapes"

# one module with the user's data
expect 0 "module run, random inputs" -- "$LS" run --model "$DATA/conformer_small" --inputs "$DATA/conformer_small/inputs" --module encoders.0.self_attn --random-inputs 1
grep -q "^encoders.0.self_attn.matrix_bd" "$T/out" && ok "module run reaches matrix_bd" || bad "module run"
expect 2 "module run without inputs says what is needed" -- "$LS" run --model "$DATA/conformer_small" --inputs "$DATA/conformer_small/inputs" --module encoders.0.self_attn
grep -q "needs input 'query'" "$T/err" && ok "names the missing argument" || bad "names the missing argument"
expect 2 "unknown module" -- "$LS" run --model "$DATA/transformer_small" --module encoder.nope
grep -q "no module 'encoder.nope'" "$T/err" && ok "unknown module named" || bad "unknown module named"

# help everywhere
for c in print run dump compare diff; do expect 0 "$c --help" -- "$LS" "$c" --help; done
expect 2 "unknown command" -- "$LS" frobnicate

# the manual page's KEYS come from the key table: every key line of
# `tui --help` is in the generated page
SRC=$(cd "$(dirname "$0")/../.." && pwd)
expect 0 "man page generated" -- "$LS" man "$SRC/layerstep.1.in"
cp "$T/out" "$T/page.1"
"$LS" tui --help | sed -n '/^Stepping/,$p' | grep '^  ' | sed 's/^ *//' > "$T/keylines"
missing=0
while IFS= read -r line; do
  # roff escapes '-' as '\-'
  esc=$(printf '%s' "$line" | sed 's/-/\\-/g')
  grep -qF -- "$esc" "$T/page.1" || { missing=$((missing + 1)); echo "     not in the page: $line"; }
done < "$T/keylines"
[ "$(wc -l < "$T/keylines")" -gt 30 ] && [ "$missing" = 0 ] && ok "every key line is in the man page" || bad "man page keys ($missing missing)"
grep -q '^\.TH LAYERSTEP' "$T/page.1" && ! grep -q '@KEYS@' "$T/page.1" && ok "page is whole, marker replaced" || bad "man page shape"
# the page as a reader sees it: words of one sentence must not run
# together (".BR tui .  Progress is kept in" once printed
# "tui.Progressiskeptin"); lines joined, hyphenation at line ends undone
if command -v man >/dev/null; then
  MANWIDTH=80 LC_ALL=C.UTF-8 man -l "$T/page.1" 2>/dev/null | col -bx | tr '\n' ' ' | sed 's/\xe2\x80\x90 *//g; s/- \+//g; s/  */ /g' > "$T/page.txt"
  grep -qF "as for tui. Progress is kept in \$XDG_STATE_HOME/layerstep/progress.json" "$T/page.txt" \
    && ok "man page: the progress sentence reads" || bad "man page: the progress sentence runs together"
  grep -qF -- "--classroom is for teaching from a projector: the narration takes at least half the screen" "$T/page.txt" \
    && ok "man page: --classroom documented" || bad "man page: --classroom not documented"
else
  echo "skip man page rendering (no man)"
fi
printf '.TH X 1\nno marker\n' > "$T/nomarker.in"
expect 2 "a template without the KEYS marker is refused" -- "$LS" man "$T/nomarker.in"
grep -q "nomarker.in" "$T/err" && ok "the refusal names the file" || bad "man refusal message"

if [ "$fails" = 0 ]; then echo "cli: all checks passed"; exit 0; fi
echo "cli: $fails checks failed"; exit 1
