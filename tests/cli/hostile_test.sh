#!/usr/bin/env bash
# Hostile inputs (issue 9, point 2): each case damages a copy of a small
# fixture (or writes a WAV) and asserts that `layerstep run` exits 2 with
# exactly ONE stderr line naming the file and the problem, never a crash
# or a hang.  NaN/Inf weights: a warning naming the tensor, and the run
# still succeeds.
#   hostile_test.sh LAYERSTEP TESTS_DATA_DIR [REPO_DATA_DIR]
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

# check NAME WANT_RC STDERR_REGEX -- layerstep args...
check() {
  local name=$1 want=$2 re=$3
  shift 4
  n=$((n + 1))
  timeout 120 "$LS" "$@" >"$T/out" 2>"$T/err"
  local got=$? lines
  lines=$(wc -l <"$T/err")
  if [ "$got" != "$want" ]; then
    bad "$name: exit $got, want $want"; sed 's/^/     /' "$T/err" | head -3; return
  fi
  if [ "$lines" != 1 ]; then
    bad "$name: $lines stderr lines, want 1"; sed 's/^/     /' "$T/err" | head -5; return
  fi
  if ! grep -Eq -- "$re" "$T/err"; then
    bad "$name: stderr does not match /$re/"; sed 's/^/     /' "$T/err"; return
  fi
  ok "$name: $(cat "$T/err")"
}

# model CASE FIXTURE: a damaged copy in $T/CASE
model() { $MK model "$DATA/$2" "$T/$1" "$1" || bad "making $1"; }

MHA_IN=(--inputs "$DATA/mha_small/inputs")
W2V_IN=(--inputs "$DATA/wav2vec2_small/inputs")

# --- safetensors: header and body ---
model st_header_past_eof mha_small
check "header length past the end of the file" 2 "st_header_past_eof/weights.safetensors: header length [0-9]+ runs past the end of the file" -- run --model "$T/st_header_past_eof" "${MHA_IN[@]}"
model st_truncated mha_small
check "data cut short" 2 "st_truncated/weights.safetensors: .*(past the end|truncated)" -- run --model "$T/st_truncated" "${MHA_IN[@]}"
model st_header_not_json mha_small
check "header not JSON" 2 "st_header_not_json/weights.safetensors: header is not valid JSON" -- run --model "$T/st_header_not_json" "${MHA_IN[@]}"
model st_offsets_outside mha_small
check "offsets outside the data" 2 "st_offsets_outside/weights.safetensors: tensor 'out_proj.weight': data_offsets \[12800, 20992\] past the end of the data" -- run --model "$T/st_offsets_outside" "${MHA_IN[@]}"
model st_offsets_overlap mha_small
check "overlapping offsets" 2 "st_offsets_overlap/weights.safetensors: tensor 'out_proj.bias': data_offsets .* overlap tensor 'in_proj_weight'" -- run --model "$T/st_offsets_overlap" "${MHA_IN[@]}"
model st_offsets_reversed mha_small
check "reversed offsets" 2 "st_offsets_reversed/weights.safetensors: tensor 'out_proj.bias': data_offsets \[12800, 12672\] are reversed" -- run --model "$T/st_offsets_reversed" "${MHA_IN[@]}"
model st_shape_overflow mha_small
check "element count overflows 64 bits" 2 "st_shape_overflow/weights.safetensors: tensor 'out_proj.bias': element count overflows" -- run --model "$T/st_shape_overflow" "${MHA_IN[@]}"
model st_negative_dim mha_small
check "negative dim" 2 "st_negative_dim/weights.safetensors: tensor 'out_proj.bias': shape\[0\] is -32" -- run --model "$T/st_negative_dim" "${MHA_IN[@]}"
model st_zero_dim mha_small
check "zero dim where the config wants 32" 2 "st_zero_dim/weights.safetensors: tensor 'out_proj.bias' has shape \[0\], expected \[32\]" -- run --model "$T/st_zero_dim" "${MHA_IN[@]}"
model st_unknown_dtype mha_small
check "unknown dtype" 2 "st_unknown_dtype/weights.safetensors: tensor 'out_proj.bias': unsupported dtype 'Q7'" -- run --model "$T/st_unknown_dtype" "${MHA_IN[@]}"
model st_missing_tensor mha_small
check "tensor missing" 2 "st_missing_tensor/weights.safetensors: missing tensor 'out_proj.bias'" -- run --model "$T/st_missing_tensor" "${MHA_IN[@]}"
model st_wrong_shape mha_small
check "tensor of the wrong shape" 2 "st_wrong_shape/weights.safetensors: tensor 'out_proj.weight' has shape \[16, 64\], expected \[32, 32\]" -- run --model "$T/st_wrong_shape" "${MHA_IN[@]}"
model no_weights mha_small
check "no weights file" 2 "no_weights: no weights.safetensors" -- run --model "$T/no_weights" "${MHA_IN[@]}"
model st_nan_inf mha_small
check "NaN/Inf in weights: warning naming the tensor, run goes on" 0 "warning: .*st_nan_inf/weights.safetensors: tensor 'in_proj_weight' has 1 NaN and 1 Inf values" -- run --model "$T/st_nan_inf" "${MHA_IN[@]}"

# --- config.json, every architecture ---
model cfg_not_json mha_small
check "config not JSON" 2 "cfg_not_json/config.json: JSON syntax error" -- run --model "$T/cfg_not_json" "${MHA_IN[@]}"
model cfg_unknown_arch mha_small
check "unknown arch" 2 "cfg_unknown_arch/config.json: unknown arch 'lstm'" -- run --model "$T/cfg_unknown_arch" "${MHA_IN[@]}"
model cfg_zero_heads mha_small
check "mha: zero heads" 2 "cfg_zero_heads/config.json: 'kwargs.num_heads' must be an integer in \[1, [0-9]+\], found 0" -- run --model "$T/cfg_zero_heads" "${MHA_IN[@]}"
model cfg_negative_dim mha_small
check "mha: negative embed_dim" 2 "cfg_negative_dim/config.json: 'kwargs.embed_dim' must be an integer in \[1, [0-9]+\], found -32" -- run --model "$T/cfg_negative_dim" "${MHA_IN[@]}"
model cfg_not_divisible mha_small
check "mha: d_model not divisible by heads" 2 "cfg_not_divisible/config.json: 'kwargs.embed_dim' \(32\) must be divisible by 'kwargs.num_heads' \(5\)" -- run --model "$T/cfg_not_divisible" "${MHA_IN[@]}"
model w2v_zero_heads wav2vec2_small
check "wav2vec2: zero heads" 2 "w2v_zero_heads/config.json: 'kwargs.encoder_num_heads' must be an integer in \[1, [0-9]+\], found 0" -- run --model "$T/w2v_zero_heads" "${W2V_IN[@]}"
model w2v_kernel_too_large wav2vec2_small
check "wav2vec2: kernel larger than the input" 2 "wav2vec2_small/inputs: waveforms of 960 samples are too short: conv layer 0 has kernel 100000" -- run --model "$T/w2v_kernel_too_large" "${W2V_IN[@]}"
model conf_not_divisible conformer_small
check "conformer: d_model not divisible by heads" 2 "conf_not_divisible/config.json: 'encoder_conf.output_size' = 64 is not divisible by 'encoder_conf.attention_heads' = 3" -- run --model "$T/conf_not_divisible" --inputs "$DATA/conformer_small/inputs"
mkdir -p "$T/hf_not_divisible"
python3 - "$HERE/../fuzz/corpus/config/hf_wav2vec2_tiny.json" "$T/hf_not_divisible/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c['num_attention_heads'] = 3; json.dump(c, open(sys.argv[2], 'w'))
PY
check "Hugging Face wav2vec2: hidden_size not divisible by heads" 2 "hf_not_divisible/config.json: 'hidden_size' \(16\) must be divisible by 'num_attention_heads' \(3\)" -- run --model "$T/hf_not_divisible"
mkdir -p "$T/absurd_sizes"
python3 - "$HERE/../../data/conformer_article/config.json" "$T/absurd_sizes/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c['encoder_conf'].update(output_size=65536, num_blocks=1024, linear_units=262144)
json.dump(c, open(sys.argv[2], 'w'))
PY
check "absurd config sizes refused before random weights are made" 2 "absurd_sizes/config.json: random weights for this config would take [0-9.]+ GiB, more than the memory limit" -- run --model "$T/absurd_sizes"

# --- memory limit ---
check "--max-memory: refused with the estimate and a hint" 2 "transformer_small: this run needs about [0-9.]+ KiB \(weights [0-9.]+ KiB( \+ weights packed for the GEMM [0-9.]+ KiB)? \+ traced tensors [0-9.]+ KiB\).*, more than --max-memory 100.0 KiB; try a shorter input, --only GLOB to keep only the points you need, --module" -- run --model "$DATA/transformer_small" --inputs "$DATA/transformer_small/inputs" --max-memory 100K
# --only keeps only the points it lists (the other buffers are reused), and
# the estimate counts only those: a run refused at 250K passes with --only
# at the same limit, and lists the same values as the full run
TS=(--model "$DATA/transformer_small" --inputs "$DATA/transformer_small/inputs")
# (the tui refuses a non-tty before loading: a pseudo-terminal from script)
if command -v script >/dev/null; then
  n=$((n + 1))
  TERM=xterm timeout 60 script -qec "$(printf '%q ' "$LS" tui "${TS[@]}" --max-memory 100K)" "$T/typescript" >/dev/null 2>&1
  rc=$?
  if [ "$rc" = 2 ] && [ "$(tr -d '\r' <"$T/typescript" | grep -c '^layerstep:')" = 1 ] &&
     grep -Eq "this run needs about [0-9.]+ KiB .* more than --max-memory 100.0 KiB" "$T/typescript"; then
    ok "tui --max-memory: refused before the terminal starts, one line"
  else
    bad "tui --max-memory: exit $rc: $(tr -d '\r' <"$T/typescript" | head -3)"
  fi
fi
check "--max-memory 400K: the full run is refused" 2 "this run needs about [0-9.]+ KiB \(weights [0-9.]+ KiB( \+ weights packed for the GEMM [0-9.]+ KiB) \+ traced tensors [0-9.]+ KiB\).*, more than --max-memory 400.0 KiB" -- run "${TS[@]}" --max-memory 400K
check "--max-memory 100K with --only: still too big, hint to narrow --only" 2 "working and kept tensors [0-9.]+ KiB\).*, more than --max-memory 100.0 KiB; try a shorter input, a narrower --only GLOB" -- run "${TS[@]}" --only '*.attn' --max-memory 100K
n=$((n + 1))
if "$LS" run "${TS[@]}" --reference --max-memory 400K >/dev/null 2>"$T/err"; then
  ok "--reference --max-memory 400K: no packed weight copies, so the full run fits"
else
  bad "--reference --max-memory 400K refused: $(head -1 "$T/err")"
fi
n=$((n + 1))
if "$LS" run "${TS[@]}" --only '*.attn' --stats --max-memory 400K >"$T/only" 2>"$T/err" &&
   "$LS" run "${TS[@]}" --stats >"$T/full" 2>/dev/null &&
   [ "$(grep -c '\.attn ' "$T/only")" -ge 4 ] && grep -q '^teacher-forced' "$T/only" &&
   diff <(grep '\.attn ' "$T/full") <(grep '\.attn ' "$T/only") >/dev/null &&
   diff <(grep '^teacher-forced\|^greedy_decoder\[\|^loss (' "$T/full") <(grep '^teacher-forced\|^greedy_decoder\[\|^loss (' "$T/only") >/dev/null; then
  ok "--max-memory 400K with --only '*.attn': runs, same values as the full run ($(grep -c '\.attn ' "$T/only") points)"
else
  bad "--max-memory 400K with --only '*.attn' did not pass with the full run's values"; sed 's/^/     /' "$T/err" | head -3
fi

# --- audio ---
w() { $MK wav "$T/$1.wav" "${2:-$1}" ${3:-} || bad "making $1.wav"; }  # w NAME [KIND [SAMPLES]]
for kind in rate2k rate200k u8 truncated notwav float_nan; do w $kind; done
w short5 ok 5
w short1000 ok 1000
w short100 ok 100
for m in wav2vec2_small conformer_small; do
  # 4-192 kHz and stereo are converted (wav_rates_test.sh); beyond, refused
  check "$m: WAV at 2 kHz" 2 "rate2k.wav: sample rate 2000 Hz, expected 4000 to 192000 Hz" -- run --model "$DATA/$m" --wav "$T/rate2k.wav"
  check "$m: stereo WAV at 200 kHz" 2 "rate200k.wav: sample rate 200000 Hz, expected 4000 to 192000 Hz" -- run --model "$DATA/$m" --wav "$T/rate200k.wav"
  check "$m: 8-bit WAV" 2 "u8.wav: 8-bit PCM, expected 16-bit PCM or 32-bit float" -- run --model "$DATA/$m" --wav "$T/u8.wav"
  check "$m: truncated WAV" 2 "truncated.wav: 'data' chunk at byte [0-9]+ says 32000 bytes, only [0-9]+ remain" -- run --model "$DATA/$m" --wav "$T/truncated.wav"
  check "$m: not a WAV" 2 "notwav.wav: starts with 'ID3.', expected 'RIFF'" -- run --model "$DATA/$m" --wav "$T/notwav.wav"
  check "$m: NaN sample" 2 "float_nan.wav: sample 3 is NaN" -- run --model "$DATA/$m" --wav "$T/float_nan.wav"
done
check "wav2vec2: input too short to survive the conv stack" 2 "short5.wav: waveforms of 5 samples are too short: conv layer 0 has kernel 10" -- run --model "$DATA/wav2vec2_small" --wav "$T/short5.wav"
check "conformer: input too short for one fbank frame" 2 "short100.wav: .*100 samples, fewer than one 25 ms frame" -- run --model "$DATA/conformer_small" --wav "$T/short100.wav"
check "conformer: input too short to survive subsampling" 2 "short1000.wav: 'xs' has 4 frames, too short for Conv2dSubsampling4" -- run --model "$DATA/conformer_small" --wav "$T/short1000.wav"
check "mha takes no audio" 2 "short1000.wav: arch 'mha' takes no audio input" -- run --model "$DATA/mha_small" --wav "$T/short1000.wav"

echo "hostile: $n cases, $fails failed"
[ "$fails" = 0 ]
