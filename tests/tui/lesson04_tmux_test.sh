#!/usr/bin/env bash
# Lesson 04 (the Conformer) in a real terminal: walked to its end with the
# answers `layerstep lesson 4 --answers` works out from the live model;
# the step-level "run" switch must put encoders.0.self_attn alone on
# random inputs on screen (title, tree, its own points), the hand-made
# mask edit must land in that run, and a lesson resumed inside the switched
# stretch must open that run again.
#   lesson04_tmux_test.sh LAYERSTEP_BINARY
set -u
BIN=$1
. "$(dirname "$0")/lib.sh" lesson04
export XDG_STATE_HOME=$TMP/state
LESSON="$(dirname "$0")/../../lessons/04_conformer.json"
# the lesson ends on the trained Conformer-CTC, committed apart from the code
if [ ! -f "$(dirname "$0")/../../data/conformer_ctc/config.json" ]; then
    echo "SKIP: data/conformer_ctc is absent"; exit 77; fi
# the step that switches to it (the last step with "run")
TRAINED=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["steps"]; print([i+1 for i,x in enumerate(s) if "conformer_ctc" in json.dumps(x.get("run", {}))][0])' "$LESSON")

start() {
    $T kill-session -t main 2>/dev/null
    printf '%q ' "$BIN" lesson "$@" > "$TMP/cmd"
    $T new-session -d -s main -x 200 -y 50 \
        "env TERM=xterm-256color LANG=C.UTF-8 XDG_STATE_HOME=$XDG_STATE_HOME sh -c '$(cat "$TMP/cmd"); echo EXIT=\$?; sleep 60'"
}

"$BIN" lesson 4 --answers --lang en > "$TMP/answers" || { echo "FAIL: --answers"; exit 1; }
STEPS=$(grep -o '"point"' "$LESSON" | wc -l)
STEPS=$((STEPS - $(grep -c '"kind": "edit"' "$LESSON")))
# the first step of the module run: the step that carries "run"
SWITCH=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["steps"]; print([i+1 for i,x in enumerate(s) if "run" in x][0])' "$LESSON" 2>/dev/null ||
         awk '/"point"/{n++} /"run":/{print n; exit}' "$LESSON")
[ "$SWITCH" -gt 1 ] && ok "the run switch is at step $SWITCH of $STEPS" || fail "no run switch found"

start 4 --lang en
expect "Lesson 04  step 1/$STEPS" "lesson 04 opens at step 1" 30
expect "(embed): Conv2dSubsampling4" "the module tree shows the subsampling"
for ((s = 1; s <= STEPS; s++)); do
    if ! wait_for "step $s/$STEPS" 30; then fail "did not reach step $s"; break; fi
    if [ "$s" -lt "$SWITCH" ] && screen | grep -qF "[module run:"; then fail "step $s: a module run before the switch"; fi
    if [ "$s" -eq "$SWITCH" ]; then
        expect "[module run: encoders.0.self_attn, random inputs, seed 1]" "the switch runs encoders.0.self_attn alone on random inputs" 30
        expect "pos_emb" "its arguments are inputs in the tree"
        expect "at query [1, 90, 512]" "the step's point is the module's own input"
    fi
    ans=$(awk -F'\t' -v s="step $s" '$1 == s {print $2}' "$TMP/answers")
    if [ -n "$ans" ]; then
        wait_for "answer>" 10 || fail "step $s: the question does not open the answer line"
        keys -l "$ans"
        [[ "$ans" =~ ^[a-f]$ ]] || keys Enter
        if wait_for "Right:" 30; then ok "step $s: '$ans' is right"; else fail "step $s: '$ans' refused"; fi
        if [ "$ans" = rises ]; then expect "edited 1 cell of mask" "the hand-made mask is set in the module run"; fi
    fi
    # leave at the step after the switch, to come back there
    if [ "$s" -eq $((SWITCH + 1)) ]; then keys q; break; fi
    keys Enter
done
expect "EXIT=0" "quits cleanly inside the module run"

start 4 --lang zh
expect "第 04 课  第 $((SWITCH + 1))/$STEPS 步" "progress resumes inside the switched stretch" 30
# in zh the debugger's own words are Chinese too
expect "[单独运行模块：encoders.0.self_attn，随机输入，种子 1]" "the resumed step opens the module run again" 30
for ((s = SWITCH + 1; s <= STEPS; s++)); do
    if ! wait_for "第 $s/$STEPS 步" 30; then fail "did not reach step $s"; break; fi
    if [ "$s" -eq "$TRAINED" ]; then
        expect "[运行：conformer_ctc]" "step $s opens the trained Conformer (zh title)" 60
    fi
    ans=$(awk -F'\t' -v s="step $s" '$1 == s {print $2}' "$TMP/answers")
    if [ -n "$ans" ]; then
        wait_for "作答>" 10 || fail "step $s: the question does not open the answer line"
        keys -l "$ans"
        [[ "$ans" =~ ^[a-f]$ ]] || keys Enter
        if wait_for "答对了" 30; then ok "step $s: '$ans' is right (zh)"; else fail "step $s: '$ans' refused (zh)"; fi
        if [ "$ans" = rises ]; then expect "已修改 1 个单元（mask" "the hand-made mask is set in the module run (zh)"; fi
    fi
    keys Enter
done
expect "本课结束" "the lesson ends"
keys q
expect "EXIT=0" "quits cleanly"
[ "$FAILS" -eq 0 ] || { echo "$FAILS failures"; exit 1; }
echo "all ok"
