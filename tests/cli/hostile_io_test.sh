#!/usr/bin/env bash
# Hostile input, second round (issue 20): numbers that do not fit, files
# that are not regular files, write failures, conflicting flags.  Each case
# asserts the exit status and that stderr has exactly one "layerstep" line
# (an option error may be followed by the usage text) matching a pattern.
# FIFOs, device nodes and symlinks are made inside a temporary folder; no
# case writes to a system path.  Cases that could hang run under timeout 5.
#   hostile_io_test.sh LAYERSTEP TESTS_DATA_DIR
set -u
LS=$1
DATA=$2
HERE=$(cd "$(dirname "$0")" && pwd)
MK="python3 $HERE/hostile_make.py"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0 n=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

# check NAME WANT_RC STDERR_REGEX -- layerstep args...   (TMO=seconds)
check() {
  local name=$1 want=$2 re=$3
  shift 4
  n=$((n + 1))
  timeout "${TMO:-120}" "$LS" "$@" >"$T/out" 2>"$T/err" </dev/null
  local got=$? lines
  lines=$(grep -c '^layerstep' "$T/err")
  if [ "$got" = 124 ]; then
    bad "$name: timed out (hang)"; return
  fi
  if [ "$got" != "$want" ]; then
    bad "$name: exit $got, want $want"; sed 's/^/     /' "$T/err" | head -3; return
  fi
  if [ "$lines" != 1 ] || ! head -1 "$T/err" | grep -q '^layerstep'; then
    bad "$name: $lines 'layerstep' stderr lines, want 1 first"; sed 's/^/     /' "$T/err" | head -5; return
  fi
  if ! head -1 "$T/err" | grep -Eq -- "$re"; then
    bad "$name: stderr does not match /$re/"; head -1 "$T/err" | sed 's/^/     /'; return
  fi
  ok "$name: $(head -1 "$T/err")"
}

MHA=(--model "$DATA/mha_small" --inputs "$DATA/mha_small/inputs")
TS=(--model "$DATA/transformer_small")

# --- numbers: range and NaN checked before converting ---
check "--threads 1e12 refused" 2 "run: --threads takes a whole number from 0 to [0-9]+, got '1e12'" -- run "${MHA[@]}" --threads 1e12
check "--threads 3e9 refused" 2 "got '3e9'" -- run "${MHA[@]}" --threads 3e9
check "--threads nan refused" 2 "got 'nan'" -- run "${MHA[@]}" --threads nan
check "--threads 99999999999999999999999 refused" 2 "got '99999999999999999999999'" -- run "${MHA[@]}" --threads 99999999999999999999999
check "--threads 1000 capped with a notice" 0 "run: --threads 1000 is more than the [0-9]+ online CPUs; using [0-9]+" -- run "${MHA[@]}" --threads 1000
check "--random-inputs 1e30 refused" 2 "--random-inputs takes a whole number .*got '1e30'" -- run --model "$DATA/mha_small" --module . --random-inputs 1e30
check "--atol inf refused" 2 "--atol takes a non-negative number, got 'inf'" -- compare "$T" "$T" --atol inf
check "lesson --delay 1e9 refused" 2 "lesson: --delay takes a whole number from 0 to 60000, got '1e9'" -- lesson 1 --delay 1e9
check "lesson 1abc refused" 2 "a lesson is named by its number .*got '1abc'" -- lesson 1abc
check "lesson 4.9 refused" 2 "got '4.9'" -- lesson 4.9

# --- files that are not regular files: refused in one line, never a hang ---
REPO_DATA=$DATA/../../data
mkfifo "$T/fifo"
mkdir -p "$T/adir"
if [ "$(id -u)" = 0 ] && mknod "$T/chardev" c 1 3 2>/dev/null; then have_dev=1; else have_dev=0; fi
cp -r "$DATA/mha_small" "$T/cfg_fifo" && rm "$T/cfg_fifo/config.json" && mkfifo "$T/cfg_fifo/config.json"
TMO=5 check "config.json is a FIFO" 2 "cfg_fifo/config.json: is a FIFO \(named pipe\), not a regular file" -- run --model "$T/cfg_fifo" --inputs "$DATA/mha_small/inputs"
for kind in fifo dangling dir; do
  cp -r "$REPO_DATA/mha_lesson" "$T/w_$kind"
  case $kind in
    fifo) mkfifo "$T/w_$kind/weights.safetensors"; want="is a FIFO \(named pipe\), not a regular file" ;;
    dangling) ln -s nowhere.safetensors "$T/w_$kind/weights.safetensors"; want="a symbolic link to a missing file" ;;
    dir) mkdir "$T/w_$kind/weights.safetensors"; want="is a directory, not a regular file" ;;
  esac
  TMO=5 check "seeded model, weights.safetensors $kind: the real cause, not random weights" 2 "w_$kind/weights.safetensors: $want" -- run --model "$T/w_$kind"
done
W2V=(--model "$DATA/wav2vec2_small")
TMO=5 check "--wav FIFO" 2 "/fifo: is a FIFO \(named pipe\), not a regular file" -- run "${W2V[@]}" --wav "$T/fifo"
TMO=5 check "--wav directory" 2 "/adir: is a directory, not a regular file" -- run "${W2V[@]}" --wav "$T/adir"
if [ "$have_dev" = 1 ]; then
  TMO=5 check "--wav device node" 2 "/chardev: is a character device, not a regular file" -- run "${W2V[@]}" --wav "$T/chardev"
else
  echo "skip --wav device node (mknod needs root)"
fi
TMO=5 check "--input x=FIFO" 2 "/fifo: is a FIFO" -- run --model "$DATA/mha_small" --input x="$T/fifo"
cp -r "$DATA/mha_small/inputs" "$T/in_fifo" && rm "$T/in_fifo/kpm.key.npy" && mkfifo "$T/in_fifo/kpm.key.npy"
TMO=5 check "--inputs DIR with a FIFO .npy" 2 "in_fifo/kpm.key.npy: is a FIFO" -- run --model "$DATA/mha_small" --inputs "$T/in_fifo"
TMO=5 check "tui --replay FIFO" 2 "/fifo: is a FIFO" -- tui "${MHA[@]}" --replay "$T/fifo"
TMO=5 check "lesson --replay FIFO" 2 "/fifo: is a FIFO" -- lesson 1 --replay "$T/fifo"
mkdir -p "$T/lessons" && mkfifo "$T/lessons/01_pipe.json"
TMO=5 LAYERSTEP_LESSONS=$T/lessons check "lesson file is a FIFO" 2 "01_pipe.json: is a FIFO" -- lessons
"$LS" dump "${MHA[@]}" --out "$T/dump_fifo" >/dev/null 2>&1
victim=$(ls "$T/dump_fifo" | grep '\.npy$' | head -1)
rm "$T/dump_fifo/$victim" && mkfifo "$T/dump_fifo/$victim"
TMO=5 check "a file the dump's manifest lists is a FIFO" 2 "dump_fifo/$victim: is a FIFO" -- compare "$T/dump_fifo" "$T/dump_fifo"

# --- writes: only a regular file is replaced; every write error is said ---
mkdir -p "$T/dd_fifo" && mkfifo "$T/dd_fifo/kpm.attn.npy"
TMO=5 check "dump onto a FIFO point file: refused, the FIFO kept" 2 "dd_fifo/kpm.attn.npy: is a FIFO \(named pipe\), not a regular file; not replaced" -- dump "${MHA[@]}" --force --out "$T/dd_fifo"
n=$((n + 1)); [ -p "$T/dd_fifo/kpm.attn.npy" ] && ok "the FIFO is still a FIFO" || bad "the FIFO was replaced"
if [ "$have_dev" = 1 ]; then
  mkdir -p "$T/dd_dev" && mknod "$T/dd_dev/kpm.attn.npy" c 1 3
  check "dump onto a device node: refused" 2 "dd_dev/kpm.attn.npy: is a character device, not a regular file; not replaced" -- dump "${MHA[@]}" --force --out "$T/dd_dev"
  n=$((n + 1)); [ -c "$T/dd_dev/kpm.attn.npy" ] && ok "the device node is still a device node" || bad "the device node was replaced"
fi
mkdir -p "$T/dd_dangling" && ln -s "$T/nowhere/x.npy" "$T/dd_dangling/kpm.attn.npy"
check "dump onto a dangling symlink: refused" 2 "dd_dangling/kpm.attn.npy: a symbolic link to a missing file" -- dump "${MHA[@]}" --force --out "$T/dd_dangling"
mkdir -p "$T/dd_link" && echo old >"$T/link_target.npy" && ln -s "$T/link_target.npy" "$T/dd_link/kpm.attn.npy"
n=$((n + 1))
if "$LS" dump "${MHA[@]}" --force --out "$T/dd_link" >/dev/null 2>"$T/err" && [ -L "$T/dd_link/kpm.attn.npy" ] &&
   head -c 6 "$T/link_target.npy" | grep -q NUMPY; then
  ok "dump through a symlink to a regular file: the link stays, its target is the new point"
else
  bad "dump through a symlink to a regular file: $(cat "$T/err")"
fi
TMO=5 check "tui --record into a missing folder: refused at start" 2 "nodir/keys.txt: folder .*nodir: No such file or directory" -- tui --model "$DATA/../../data/wav2vec2_base" --record "$T/nodir/keys.txt"
TMO=5 check "tui --record onto a FIFO: refused at start" 2 "/fifo: is a FIFO \(named pipe\), not a regular file; not replaced" -- tui "${MHA[@]}" --record "$T/fifo"
TMO=5 check "tui without a terminal: refused before loading" 2 "tui needs a terminal" -- tui --model "$DATA/../../data/wav2vec2_base"
TMO=5 check "lesson without a terminal: refused before loading" 2 "tui needs a terminal" -- lesson 5
if command -v script >/dev/null; then
  n=$((n + 1))
  TERM=dumb timeout 10 script -qec "$(printf '%q ' "$LS" tui "${MHA[@]}")" "$T/typescript" >/dev/null 2>&1
  rc=$?
  if [ "$rc" = 2 ] && grep -q "TERM=dumb cannot move the cursor" "$T/typescript"; then ok "TERM=dumb: refused in one line (exit 2)"; else bad "TERM=dumb: exit $rc: $(tr -d '\r' <"$T/typescript" | head -3)"; fi
fi
if [ "$have_dev" = 1 ] && mknod "$T/full" c 1 7 2>/dev/null; then
  for c in "run ${MHA[*]}" "print --model $DATA/mha_small" "compare $DATA/mha_small/acts $DATA/mha_small/acts" lessons \
           "diff ${MHA[*]} $DATA/mha_small/acts --json"; do
    n=$((n + 1))
    # shellcheck disable=SC2086
    "$LS" $c >"$T/full" 2>"$T/err"
    rc=$?
    if [ "$rc" = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "writing standard output failed" "$T/err"; then
      ok "${c%% *} > a full device: exit 1, one line"
    else
      bad "${c%% *} > a full device: exit $rc: $(head -2 "$T/err")"
    fi
  done
else
  echo "skip: stdout to a full device (mknod needs root)"
fi

# --- WAVs from a streaming writer: data size 0xFFFFFFFF or 0 = to the end ---
$MK wav "$T/stream_ok.wav" ok 16000
for sz in ffffffff 00000000; do
  python3 - "$T/stream_ok.wav" "$T/stream_$sz.wav" "$sz" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
i = b.index(b'data')
b[i + 4:i + 8] = bytes.fromhex(sys.argv[3])
b[4:8] = bytes.fromhex('ffffffff')  # the RIFF size is unknown too
open(sys.argv[2], 'wb').write(b)
PY
  n=$((n + 1))
  "$LS" run --model "$DATA/wav2vec2_small" --wav "$T/stream_ok.wav" --stats >"$T/want" 2>/dev/null
  if "$LS" run --model "$DATA/wav2vec2_small" --wav "$T/stream_$sz.wav" --stats >"$T/got" 2>"$T/err" &&
     diff <(sed 1d "$T/want") <(sed 1d "$T/got") >/dev/null; then
    ok "WAV data size 0x$sz: read to the end of the file, same run as the plain WAV"
  else
    bad "WAV data size 0x$sz: $(head -1 "$T/err")"
  fi
done

# --- conflicting or ignored flags are refused ---
TSI=(--model "$DATA/transformer_small" --inputs "$DATA/transformer_small/inputs")
check "--inputs with --src" 2 "run: --inputs and --src both give the inputs; use one" -- run "${TSI[@]}" --src "ich mochte ein bier P"
check "--inputs with --wav" 2 "run: --inputs and --wav both give the inputs; use one" -- run --model "$DATA/wav2vec2_small" --inputs "$DATA/wav2vec2_small/inputs" --wav "$T/stream_ok.wav"
check "--tgt without --src" 2 "run: --tgt needs --src" -- run "${TS[@]}" --tgt "i want a beer E"
check "--src empty" 2 "run: --src is empty; give a sentence" -- run "${TS[@]}" --src ""
check "run --out" 2 "run: --out is not a run option" -- run "${TSI[@]}" --out "$T/run_out"
check "tui --only" 2 "tui: --only is not a tui option" -- tui "${TSI[@]}" --only '*'

# --- messages that say the real cause ---
n=$((n + 1))
M=$DATA/transformer_small
"$LS" dump --model "$M" --inputs "$M/inputs" --out "$T/ts_ref" >/dev/null 2>&1
mkdir -p "$T/ts_in" && cp "$M"/inputs/*.npy "$T/ts_in/"
if /usr/bin/python3 -c "
import numpy as np, sys; a = np.load(sys.argv[1]); a[0, 1] = (a[0, 1] + 1) % 5; np.save(sys.argv[1], a)" "$T/ts_in/enc_inputs.npy" 2>/dev/null; then
  "$LS" diff --model "$M" --inputs "$T/ts_in" "$T/ts_ref" >"$T/out" 2>&1
  if grep -q "0 local faults" "$T/out" && ! grep -q "first local fault" "$T/out" &&
     grep -q "first difference not inherited (an input, weight or shape; no op to rerun): enc_inputs" "$T/out"; then
    ok "diff with a different input: no 'first local fault' after '0 local faults'"
  else
    bad "diff with a different input: $(grep -i 'fault\|first' "$T/out" | head -3)"
  fi
else
  echo "skip: diff input case needs /usr/bin/python3 with numpy"
fi
cp "$M"/inputs/*.npy "$T/ts_in/"
/usr/bin/python3 -c "
import numpy as np, sys; np.save(sys.argv[1], np.zeros((1, 3), dtype=np.int64))" "$T/ts_in/dec_outputs.npy" 2>/dev/null &&
  check "dec_outputs of the wrong shape: says shape, not dtype" 2 "input 'dec_outputs' must have the shape of dec_inputs" -- run --model "$M" --inputs "$T/ts_in"

# --- control characters from files are escaped when printed ---
mkdir -p "$T/esc_lessons"
python3 - "$HERE/../../lessons/01_self_attention.json" "$T/esc_lessons/01_esc.json" <<'PY'
import json, sys
L = json.load(open(sys.argv[1]))
L['title'] = {'en': '\u001b]0;pwned\u0007\u001b[31mRed \u009b2J title', 'zh': '\u001b[31m红'}
json.dump(L, open(sys.argv[2], 'w'))
PY
n=$((n + 1))
LAYERSTEP_LESSONS=$T/esc_lessons "$LS" lessons >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" = 0 ] && grep -q "Red ?2J title" "$T/out" && ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]\|\xc2[\x80-\x9f]' "$T/out"; then
  ok "a lesson title's escape sequences are printed as '?'"
else
  bad "lesson title escapes reach the terminal (exit $rc): $(cat -v "$T/out" | grep -i red)"
fi
mkdir -p "$T/esc_dump"
cp "$DATA/mha_small/acts/kpm.npy" "$T/esc_dump/"$'\e[2Jkpm.npy'
n=$((n + 1))
"$LS" compare "$T/esc_dump" "$T/esc_dump" >"$T/out" 2>"$T/err"
if grep -q '?\[2Jkpm' "$T/out" && ! LC_ALL=C grep -q $'\x1b' "$T/out"; then
  ok "a point name's escape sequence is printed as '?'"
else
  bad "point name escapes reach the terminal: $(cat -v "$T/out" | head -3)"
fi
# a long clip: the memory refusal names attention working memory, not "kept tensors"
$MK wav "$T/clip60.wav" ok 960000
check "memory refusal of a 60 s wav2vec2 run names attention working memory" 2 "working and kept tensors .*; the largest, 'encoder.transformer.layers.0.attention.scores' \[1, 12, 2999, 2999\] and others like it, take .* each \(attention working memory: it grows with the square of the input length\), more than --max-memory 2.00 GiB" -- run --model "$DATA/../../data/wav2vec2_base" --wav "$T/clip60.wav" --only nothing --max-memory 2G
mkdir -p "$T/bad_lesson"
python3 - "$HERE/../../lessons/01_self_attention.json" "$T/bad_lesson/01_bad.json" <<'PY'
import json, sys
L = json.load(open(sys.argv[1])); L['steps'][1]['point'] = 'mha.nonexistent'; json.dump(L, open(sys.argv[2], 'w'))
PY
LAYERSTEP_LESSONS=$T/bad_lesson check "lesson --answers validates the lesson like a session" 2 "01_bad.json: step 2: no point 'mha.nonexistent' in the model" -- lesson 1 --answers
cp "$DATA"/transformer_small/inputs/*.npy "$T/ts_in/"
/usr/bin/python3 -c "
import numpy as np, sys; np.save(sys.argv[1], np.load(sys.argv[1]).astype(np.uint8))" "$T/ts_in/enc_inputs.npy" 2>/dev/null &&
  check "uint8 token ids: says a uint8 .npy is read as a mask" 2 "input 'enc_inputs' must be int64 token ids \[B,T\], got bool 2D \(bool: a '\|b1' or uint8 '\|u1' .npy is read as a mask\)" -- run --model "$DATA/transformer_small" --inputs "$T/ts_in"

echo "hostile_io: $n cases, $fails failed"
[ "$fails" = 0 ]
