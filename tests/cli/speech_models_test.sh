#!/usr/bin/env bash
# The trained speech models under data/ (issue 17) against what their
# references said on the committed test clips, which are spoken by voices
# that were not in training (tools/make_clips.sh):
#   - `layerstep transcribe` reads the digits right, at 16 kHz mono and at
#     44.1 kHz stereo (resampled and mixed down, with a notice each);
#   - the log-probs match the reference's (WeNet / torchaudio, written by
#     tools/eval_speech.py --write-refs) within ATOL, and the transcripts
#     are the reference's.
# usage: speech_models_test.sh LAYERSTEP ROOT ATOL MODEL...
set -u
LS=$1
ROOT=$2
ATOL=$3
shift 3
CLIPS=$ROOT/tests/data/speech_test
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

for model in "$@"; do
  M=$ROOT/data/$model
  REF=$CLIPS/ref/$model
  if [ ! -f "$M/config.json" ]; then bad "$model: no $M/config.json"; continue; fi
  # the words said, and the reference's transcript, per clip
  while IFS=$'\t' read -r clip said; do
    wav=$CLIPS/$clip
    "$LS" transcribe --model "$M" "$wav" >"$T/out" 2>"$T/err"
    rc=$?
    got=$(cut -f2- "$T/out")
    if [ $rc = 0 ] && [ "$got" = "$said" ]; then
      ok "$model: $clip reads '$said'"
    else
      bad "$model: $clip: exit $rc, read '$got', said '$said'"; sed 's/^/     /' "$T/err" | head -3
    fi
    case $clip in
      *44k_stereo*)
        grep -q "44100 Hz" "$T/err" && grep -qi "stereo\|channels" "$T/err" \
          && ok "$model: $clip: one notice each for the rate and the channels" \
          || bad "$model: $clip: notices: $(cat "$T/err")" ;;
      *) [ ! -s "$T/err" ] && ok "$model: $clip: nothing on stderr" || bad "$model: $clip: stderr: $(cat "$T/err")" ;;
    esac
    want=$(awk -F'\t' -v c="$clip" '$1 == c { print $2 }' "$REF/transcripts.tsv")
    [ "$got" = "$want" ] && ok "$model: $clip: the reference's transcript" \
      || bad "$model: $clip: layerstep '$got', reference '$want'"
    rm -rf "$T/dump"
    if "$LS" dump --model "$M" --wav "$wav" --only '*log_softmax' --out "$T/dump" >/dev/null 2>"$T/err" &&
       "$LS" compare "$T/dump" "$REF/$clip" --atol "$ATOL" --rtol 0 >"$T/cmp" 2>&1 &&
       grep -q "log_softmax .* pass$" "$T/cmp"; then
      ok "$model: $clip: log-probs within $ATOL of the reference ($(grep "log_softmax" "$T/cmp" | awk '{print $(NF-2)}') max abs)"
    else
      bad "$model: $clip: log-probs"; sed 's/^/     /' "$T/err" "$T/cmp" | head -8
    fi
  done <"$CLIPS/expected.tsv"
done
echo "$fails failure(s)"
[ "$fails" = 0 ]
