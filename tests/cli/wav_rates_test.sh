#!/usr/bin/env bash
# WAV files at other rates and with more channels (issue 17, point 5): the
# speech models run on them (exit 0), stderr says once per conversion what
# was done, and nothing else; a rate outside 4-192 kHz is one line naming
# the file.  The WAVs are made here with sox; skips (77) without it.
#   wav_rates_test.sh LAYERSTEP TESTS_DATA_DIR
set -u
LS=$1
DATA=$2
command -v sox >/dev/null || { echo "sox not installed: skipped"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

# mk NAME RATE CHANNELS: 1.2 s of two tones (a different one per channel)
mk() {
  sox -n -r "$2" -c "$3" -b 16 "$T/$1.wav" synth 1.2 sine 440 sine 1200 vol 0.5 ||
    bad "sox could not make $1.wav"
}
mk st44 44100 2
mk m22 22050 1
mk m8 8000 1
mk m11 11025 1
mk st48 48000 2
mk m16 16000 1
mk q4 48000 4
mk m2k 2000 1

# runs NAME MODEL WAV STDERR_LINES...: exit 0, stderr exactly these lines
runs() {
  local name=$1 model=$2 wav=$3
  shift 3
  timeout 120 "$LS" run --model "$DATA/$model" --wav "$T/$wav" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ "$rc" != 0 ]; then
    bad "$name: exit $rc"; sed 's/^/     /' "$T/err" | head -3; return
  fi
  if [ $# = 0 ]; then : >"$T/want"; else printf '%s\n' "$@" >"$T/want"; fi
  if ! diff "$T/want" "$T/err" >"$T/diff"; then
    bad "$name: stderr is not the notices"; sed 's/^/     /' "$T/diff"; return
  fi
  ok "$name${1:+: $*}"
}

for m in wav2vec2_small conformer_small; do
  runs "$m: 44.1 kHz stereo" $m st44.wav \
    "layerstep: $T/st44.wav: 2 channels mixed down to mono" \
    "layerstep: $T/st44.wav: 44100 Hz resampled to 16000 Hz"
  runs "$m: 22.05 kHz mono" $m m22.wav "layerstep: $T/m22.wav: 22050 Hz resampled to 16000 Hz"
  runs "$m: 16 kHz mono, nothing to say" $m m16.wav
done
runs "8 kHz mono" wav2vec2_small m8.wav "layerstep: $T/m8.wav: 8000 Hz resampled to 16000 Hz"
runs "11.025 kHz mono" wav2vec2_small m11.wav "layerstep: $T/m11.wav: 11025 Hz resampled to 16000 Hz"
runs "48 kHz stereo" wav2vec2_small st48.wav \
  "layerstep: $T/st48.wav: 2 channels mixed down to mono" \
  "layerstep: $T/st48.wav: 48000 Hz resampled to 16000 Hz"
runs "48 kHz, 4 channels" wav2vec2_small q4.wav \
  "layerstep: $T/q4.wav: 4 channels mixed down to mono" \
  "layerstep: $T/q4.wav: 48000 Hz resampled to 16000 Hz"

# 1.2 s at any rate is 19200 samples at 16 kHz: the model sees the same length
"$LS" run --model "$DATA/wav2vec2_small" --wav "$T/st44.wav" --only waveforms 2>/dev/null |
  grep -q 'waveforms .*\[1, 19200\]' && ok "44.1 kHz: waveforms [1, 19200]" ||
  bad "44.1 kHz: waveforms is not [1, 19200]: $("$LS" run --model "$DATA/wav2vec2_small" --wav "$T/st44.wav" --only waveforms 2>&1 | head -3)"

# refused: one line naming the file
timeout 60 "$LS" run --model "$DATA/wav2vec2_small" --wav "$T/m2k.wav" >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] &&
   grep -q "^layerstep: $T/m2k.wav: sample rate 2000 Hz, expected 4000 to 192000 Hz$" "$T/err"; then
  ok "2 kHz refused: $(cat "$T/err")"
else
  bad "2 kHz: exit $rc, stderr: $(cat "$T/err")"
fi

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all passed"
