#!/usr/bin/env bash
# Lessons 03 (wav2vec2 feature extractor, in Chinese) and 05 (wav2vec2
# encoder, in English) in a real terminal (tmux, 80x24), start to end:
# every question answered wrong once (the reason must show), then right,
# with the answers from `layerstep lesson N --answers` (the live models).
# Both lessons switch models midway with a step "run"; the screen must show
# the switched model (its module tree, the padded batch's mask).
#   lesson_w2v_tmux_test.sh LAYERSTEP_BINARY
set -u
BIN=$1
. "$(dirname "$0")/lib.sh" lesson_w2v
export XDG_STATE_HOME=$TMP/state
LESSONS=$(dirname "$0")/../../lessons
# both lessons end on the trained wav2vec2-CTC, committed apart from the code
if [ ! -f "$(dirname "$0")/../../data/wav2vec2_ctc/config.json" ]; then
    echo "SKIP: data/wav2vec2_ctc is absent"; exit 77; fi

# lesson 03: block 0's norm is a GroupNorm in the base model, a LayerNorm
# after the switch to data/wav2vec2_base_ln
check_3_6() { expect "(layer_norm): GroupNo" "lesson 03: group_norm model shows block 0's GroupNorm"; }
check_3_9() {
    expect "(layer_norm): LayerNo" "lesson 03: after the run switch block 0 has a LayerNorm"
    # lesson 03 is walked in zh: the debugger's own words are Chinese too
    expect "[运行：wav2vec2_base_ln]" "lesson 03: the title names the switched run (its directory, before the title)"
}
# lesson 03 ends on the trained model, on a clip of 120 frames
check_3_12() { expect "[运行：wav2vec2_ctc]" "lesson 03: the last step switches to the trained wav2vec2_ctc"; }
# lesson 05: the trained model's positional conv, then its attention
check_5_15() { expect "[run: wav2vec2_ctc]" "lesson 05: the switch to the trained wav2vec2_ctc is on screen"; }
after_5_16() {  # the edit at frame 60 was made by answering: it is in the trained run
    expect "edited 1 cell of encoder.transformer.input.0" "lesson 05: the reach experiment edits the conv's input"
}
# lesson 05: the padded batch's second item masks its last key frames
after_5_13() {  # the question asked which frames are masked: answered now
    keys '}'
    expect "batch 1/2" "lesson 05: } shows item 1 of the padded batch"
    expect "XXXXXX" "lesson 05: item 1's padded key columns are masked"
}

quiz_walk 3 zh
quiz_walk 5 en

[ "$FAILS" -eq 0 ] || { echo "$FAILS failure(s)"; exit 1; }
echo "all lesson 03/05 tmux checks passed"
