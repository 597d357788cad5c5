#!/usr/bin/env bash
# layerstep transcribe and run --wav on the hand-set CTC model
# tests/data/ctc_hello (tools/make_ctc_hello.py): the expected text, one
# line per bad file with the others still transcribed, exit codes.
set -u
LS=$1
DATA=$2
M=$DATA/ctc_hello
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

expect 0 "transcribe hello.wav" -- "$LS" transcribe --model "$M" "$M/hello.wav"
[ "$(cat "$T/out")" = "$M/hello.wav	hello world" ] && ok "FILE<TAB>hello world" || { bad "transcript: $(cat "$T/out")"; }
[ ! -s "$T/err" ] && ok "nothing on stderr" || bad "stderr: $(cat "$T/err")"

# a bad file between two good ones: one line for it, the others printed, exit 2
printf 'RIFF\x04\x00\x00\x00WAVE' >"$T/broken.wav"
expect 2 "a bad file among good ones" -- "$LS" transcribe --model "$M" "$M/hello.wav" "$T/broken.wav" "$T/missing.wav" "$M/hello.wav"
[ "$(grep -c "	hello world$" "$T/out")" = 2 ] && ok "both good files transcribed" || bad "good files: $(cat "$T/out")"
[ "$(wc -l <"$T/err")" = 2 ] && ok "one stderr line per bad file" || bad "stderr lines: $(cat "$T/err")"
grep -q "broken.wav" "$T/err" && grep -q "missing.wav" "$T/err" && ok "each line names its file" || bad "names: $(cat "$T/err")"
head -1 "$T/out" | grep -q "^$M/hello.wav	" && ok "output in argument order" || bad "order"

# run --wav prints the transcript after the points
expect 0 "run --wav" -- "$LS" run --model "$M" --wav "$M/hello.wav"
tail -1 "$T/out" | grep -qx "transcript: hello world" && ok "run prints the transcript last" || bad "run: $(tail -2 "$T/out")"
grep -q "^ctc.log_softmax " "$T/out" && grep -q "^topk_index " "$T/out" && grep -q "^ctc_greedy_search " "$T/out" \
  && ok "the CTC points are listed" || bad "points"

# wav2vec2 with aux (no tokens.txt: ids as <N>), and seeded random
# weights with "output_dim" (a CTC head of that many units)
expect 0 "transcribe with wav2vec2's aux" -- "$LS" transcribe --model "$DATA/wav2vec2_small" "$M/hello.wav"
grep -qE "^$M/hello.wav	(<[0-9]+>)+$" "$T/out" && ok "wav2vec2: ids as <N>" || bad "wav2vec2: $(cat "$T/out")"
mkdir "$T/rw"
printf '{"arch": "conformer", "random_weights_seed": 3, "output_dim": 12, "encoder_conf": {"input_size": 80, "output_size": 32, "attention_heads": 2, "linear_units": 64, "num_blocks": 1, "cnn_module_kernel": 3}}' >"$T/rw/config.json"
expect 0 "random weights with output_dim" -- "$LS" run --model "$T/rw" --wav "$M/hello.wav"
grep -q "^ctc.ctc_lo .*\[1, 27, 12\]" "$T/out" && grep -q "^transcript: " "$T/out" \
  && ok "a random CTC head of 12 units and a transcript" || bad "random head: $(grep -E 'ctc|transcript' "$T/out")"

# a model without a CTC head: said once, exit 2
expect 2 "transcribe with a model without CTC" -- "$LS" transcribe --model "$DATA/conformer_small" "$M/hello.wav" "$M/hello.wav"
[ "$(wc -l <"$T/err")" = 1 ] && grep -q "no CTC head" "$T/err" && ok "one line: no CTC head" || bad "no-CTC message: $(cat "$T/err")"
expect 0 "run of a model without CTC prints no transcript" -- "$LS" run --model "$DATA/conformer_small" --inputs "$DATA/conformer_small/inputs"
grep -q "^transcript" "$T/out" && bad "a transcript without CTC" || ok "no transcript line"

# a malformed units file refuses the model in one line naming file and line
mkdir "$T/m"
cp "$M/config.json" "$M/weights.safetensors" "$T/m/"
printf '<blank> 0\nh 4\nbroken\n' >"$T/m/units.txt"
expect 2 "malformed units.txt" -- "$LS" transcribe --model "$T/m" "$M/hello.wav"
[ "$(wc -l <"$T/err")" = 1 ] && grep -q "units.txt:3:" "$T/err" && ok "one line naming units.txt:3" || bad "units message: $(cat "$T/err")"

# usage
expect 0 "transcribe --help" -- "$LS" transcribe --help
grep -q "FILE<TAB>TEXT" "$T/out" && ok "help says what it prints" || bad "help"
expect 2 "no files" -- "$LS" transcribe --model "$M"
expect 2 "no --model" -- "$LS" transcribe "$M/hello.wav"
expect 2 "an option transcribe does not take" -- "$LS" transcribe --model "$M" --inputs x "$M/hello.wav"
expect 2 "an unknown option" -- "$LS" transcribe --model "$M" --bogus "$M/hello.wav"
expect 0 "-- then a file" -- "$LS" transcribe --model "$M" -- "$M/hello.wav"
"$LS" --help | grep -q "transcribe" && ok "layerstep --help lists transcribe" || bad "--help"

[ "$fails" = 0 ] && echo "all ok" || echo "$fails failed"
[ "$fails" = 0 ]
