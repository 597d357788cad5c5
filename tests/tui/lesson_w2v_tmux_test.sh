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

start() {
    $T kill-session -t main 2>/dev/null
    printf '%q ' "$BIN" lesson "$@" > "$TMP/cmd"
    $T new-session -d -s main -x 80 -y 24 \
        "env TERM=xterm-256color LANG=C.UTF-8 XDG_STATE_HOME=$XDG_STATE_HOME sh -c '$(cat "$TMP/cmd"); echo EXIT=\$?; sleep 60'"
}

wrong_of() {
    case "$1" in
        \[*) echo "[1, 2, 3]" ;;
        rises) echo "falls" ;;
        falls | same) echo "rises" ;;
        a) echo "b" ;;
        [b-f]) echo "a" ;;
        *) echo "none" ;;
    esac
}

# walk N LANG HEAD WRONG RIGHT END: every step; $check_at_<step> runs a check there
walk() {
    local n=$1 lang=$2 head=$3 wrong=$4 right=$5 end=$6
    "$BIN" lesson "$n" --answers --lang "$lang" > "$TMP/answers$n" || { fail "lesson $n --answers"; return; }
    local file steps
    file=$(ls "$LESSONS"/0"$n"_*.json)
    # every step has a "point"; so has an edit action, which is no step
    steps=$(( $(grep -c '"point"' "$file") - $(grep -c '"kind": "edit"' "$file") ))
    start "$n" --lang "$lang" --restart
    for ((s = 1; s <= steps; s++)); do
        # a step with a "run" opens another model: give a loaded machine time
        if ! wait_for "$(printf "$head" "$s" "$steps")" 60; then fail "lesson $n: did not reach step $s"; return; fi
        local fn="check_${n}_${s}"
        declare -F "$fn" >/dev/null && "$fn"
        local ans
        ans=$(awk -F'\t' -v s="step $s" '$1 == s {print $2}' "$TMP/answers$n")
        if [ -n "$ans" ]; then
            keys Enter
            wait_for "answer>" 10 || fail "lesson $n step $s: no answer prompt"
            keys -l "$(wrong_of "$ans")"
            keys Enter
            if wait_for "$wrong" 30; then ok "lesson $n step $s: a wrong answer gets a reason"; else fail "lesson $n step $s: no reason"; fi
            keys Enter
            wait_for "answer>" 10 || fail "lesson $n step $s: no second answer prompt"
            keys -l "$ans"
            keys Enter
            if wait_for "$right" 30; then ok "lesson $n step $s: '$ans' is right"; else fail "lesson $n step $s: '$ans' refused"; fi
        fi
        keys Enter
    done
    expect "$end" "lesson $n ends" 30
    keys q
    expect "EXIT=0" "lesson $n quits cleanly"
}

# lesson 03: block 0's norm is a GroupNorm in the base model, a LayerNorm
# after the switch to data/wav2vec2_base_ln
check_3_6() { expect "(layer_norm): GroupNo" "lesson 03: group_norm model shows block 0's GroupNorm"; }
check_3_9() {
    expect "(layer_norm): LayerNo" "lesson 03: after the run switch block 0 has a LayerNorm"
    # lesson 03 is walked in zh: the debugger's own words are Chinese too
    expect "[运行：wav2vec2_base_ln]" "lesson 03: the title names the switched run (its directory, before the title)"
}
# lesson 05: the padded batch's second item masks its last key frames
check_5_13() {
    keys '}'
    expect "batch 1/2" "lesson 05: } shows item 1 of the padded batch"
    expect "XXXXXX" "lesson 05: item 1's padded key columns are masked"
}

walk 3 zh "第 03 课  第 %d/%d 步" "不对：" "答对了" "本课结束"
walk 5 en "Lesson 05  step %d/%d" "Not quite:" "Right." "lesson finished"

[ "$FAILS" -eq 0 ] || { echo "$FAILS failure(s)"; exit 1; }
echo "all lesson 03/05 tmux checks passed"
