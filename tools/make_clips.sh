#!/bin/sh
# Regenerates the bundled speech clips: English sentences from espeak-ng,
# resampled by sox to what the speech models take (16 kHz, mono, 16-bit
# PCM) and cut or zero-padded to an exact sample count.
#
#   data/speech_3_6s.wav      58320 samples (3.645 s): 1 + (58320-400)/160 =
#                             363 fbank frames -> Conv2dSubsampling4 -> 90
#                             frames, the (1, 90, 512) of the walkthrough.
#   data/speech_1s.wav        16000 samples, for wav2vec2.
#   tests/data/fbank/speech_1_5s.wav
#                             24000 samples, a fbank test clip (its reference
#                             comes from tools/make_fbank_refs.py).
#
# Needs Debian's espeak-ng and sox (apt-get install -y espeak-ng sox); the
# output is byte-identical for the same espeak-ng/sox versions (made with
# espeak-ng 1.51, sox 14.4.2).  Run from anywhere: paths are repo-relative.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# clip OUT SAMPLES SPEED TEXT
clip() {
    espeak-ng -v en-us -s "$3" -w "$tmp/raw.wav" "$4"
    # -D: no dither, so the result does not depend on a random seed.
    # pad first so short speech still reaches SAMPLES, then cut exactly.
    sox -V1 -D "$tmp/raw.wav" -r 16000 -c 1 -b 16 -e signed-integer "$1" \
        rate -v pad 0 4 trim 0 "$2"s
    n=$(soxi -s "$1")
    [ "$n" -eq "$2" ] || { echo "$1: $n samples, expected $2" >&2; exit 1; }
    echo "$1: $n samples"
}

mkdir -p "$root/data" "$root/tests/data/fbank"
clip "$root/data/speech_3_6s.wav" 58320 160 \
    "The quick brown fox jumps over the lazy dog by the river."
clip "$root/data/speech_1s.wav" 16000 175 "Good morning"
clip "$root/tests/data/fbank/speech_1_5s.wav" 24000 200 \
    "Open the door, please, and close the window."

# Digits for the trained speech models (issue 17), by voices the corpus
# puts in its test split (tools/make_speech_corpus.py --seed 1), so no
# model heard them in training: one at the models' 16 kHz mono, one at
# 44.1 kHz stereo (layerstep resamples and mixes it down).
mkdir -p "$root/tests/data/speech_test"
espeak-ng -v en-us+Linda -s 150 -w "$tmp/raw.wav" "three one four one five nine"
sox -V1 -D "$tmp/raw.wav" -r 16000 -c 1 -b 16 -e signed-integer \
    "$root/tests/data/speech_test/digits_16k.wav"
# -g 4: 40 ms between words (the corpus uses 0-4); without it "one eight"
# runs together and the Conformer writes "oneight"
espeak-ng -v en+m5 -s 160 -g 4 -w "$tmp/raw.wav" "two seven one eight"
sox -V1 -D "$tmp/raw.wav" -r 44100 -c 2 -b 16 -e signed-integer \
    "$root/tests/data/speech_test/digits_44k_stereo.wav"
# the words each clip says, for the tests
printf '%s\t%s\n' digits_16k.wav "three one four one five nine" \
    digits_44k_stereo.wav "two seven one eight" > "$root/tests/data/speech_test/expected.tsv"
echo "tests/data/speech_test: $(ls "$root/tests/data/speech_test" | tr '\n' ' ')"
