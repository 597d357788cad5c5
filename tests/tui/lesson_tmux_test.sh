#!/usr/bin/env bash
# Lesson 02 in a real terminal (tmux), start to end: every question is
# answered wrong once (the reason must show) and then right; the answers
# come from `layerstep lesson 2 --answers`, i.e. from the live model.
# Then: progress saved, Chinese narration, classroom mode.
#   lesson_tmux_test.sh LAYERSTEP_BINARY
set -u
BIN=$1
. "$(dirname "$0")/lib.sh" lesson
export XDG_STATE_HOME=$TMP/state

start() { lesson_start "$@"; }
LESSONS=$(dirname "$0")/../../lessons

"$BIN" lesson 2 --answers --lang en > "$TMP/answers" || { echo "FAIL: --answers"; exit 1; }
N=$(grep -c . "$TMP/answers")
[ "$N" -ge 5 ] && ok "lesson 02 has $N questions" || fail "too few questions"
STEPS=$(grep -o '"point"' "$(dirname "$0")/../../lessons/02_masks_teacher_forcing.json" | wc -l)
# the action edit's "point" is not a step
STEPS=$((STEPS - $(grep -c '"kind": "edit"' "$(dirname "$0")/../../lessons/02_masks_teacher_forcing.json")))

# start to end at 80x24: the answer nowhere on screen while asked, debugger
# keys typed into the answer line, wrong once then right (lib.sh)
quiz_walk 2 en
P=$XDG_STATE_HOME/layerstep/progress.json
if grep -q '"done":[[:space:]]*true' "$P" 2>/dev/null; then ok "progress saved as done"; else fail "no progress file at $P"; fi

# resume: stop at step 3, come back to step 3
start 2 --lang en --restart
expect "step 1/$STEPS" "restart opens step 1"
keys -l c  # a choice's letter answers it, no Enter
expect "Right:" "c answers step 1 at once"
keys Enter
expect "step 2/$STEPS" "step 2"
keys -l q  # an open question takes every letter: q is typed, not quit
expect "answer> q" "q goes to the answer line"
keys Escape
keys q
sleep 0.5
start 2 --lang en
expect "step 2/$STEPS" "progress resumed at step 2"
# in a lesson n is "next step": the status line says so, and N steps over
expect "n next" "the status line names n as next lesson step"
status_at() { screen | grep '^ at ' | tail -1 | awk '{print $2}'; }
keys Escape  # step 2 asks a question: Esc gives the keys back to the debugger
expect "n or Enter reopens it" "Esc closes the answer line and says how to come back"
before=$(status_at)
keys N
sleep 0.3
after=$(status_at)
if [ "$before" != "$after" ] && screen | grep -qF "step 2/$STEPS"; then ok "N steps over, the lesson stays at step 2"; else
    fail "N: before '$before' after '$after'"; fi
keys '?'
expect "step over is N" "the help screen says what n means in a lesson"
keys q

# Chinese narration with correct columns
start 2 --lang zh --restart
expect "第 02 课" "Chinese heading"
expect "解码器" "Chinese narration shows"
# the debugger's own words follow the lesson: pane titles, hints, prompt
expect "作答>" "the answer line's prompt is Chinese"
expect " 模块 (Tab: 张量)" "the tree's title is Chinese"
expect " 张量  视图：网格（v 切换）" "the tensor pane's title is Chinese"
expect "[按字母或输入数值作答；空行 Enter 显示答案；Esc 调试键]" "the lesson pane's hint is Chinese"
keys Escape
keys q

# classroom: narration first, the tensor after Enter
start 2 --lang en --classroom --restart
expect "[Enter shows the tensor]" "classroom pauses on the narration"
keys Enter
expect "Modules" "Enter shows the debugger"
keys Escape
keys q

# the default experience: bare `layerstep` opens lesson 01 on a first
# start; leaving it shows the lesson list (a screen), where a digit picks
# a lesson, q in a lesson comes back to the list, q in the list quits
bare() {
    $T kill-session -t main 2>/dev/null
    $T new-session -d -s main -x 80 -y 24 \
        "env TERM=xterm-256color LANG=C.UTF-8 XDG_STATE_HOME=$1 $(printf '%q' "$BIN"); echo EXIT=\$?; sleep 60"
}
bare "$TMP/fresh"
expect "Lesson 01  step 1/" "first start: bare layerstep opens lesson 01"
keys q
expect "Up/Down choose" "leaving lesson 01 shows the lesson list"
expect "02  Masks" "the list names lesson 02"
keys 2
keys Enter
expect "Lesson 02  step 1/" "2 + Enter opens lesson 02"
keys Escape  # its first step asks a question
keys q
expect "Up/Down choose" "q in a lesson comes back to the list"
keys q
expect "EXIT=0" "q in the list quits with 0"
bare "$TMP/fresh"
expect "Up/Down choose" "second start: the list first"
keys q
expect "EXIT=0" "and q quits"
# without a terminal the list is printed
if "$BIN" </dev/null >"$TMP/list" 2>&1 && grep -q "02 " "$TMP/list"; then ok "no terminal: the list is printed"; else
    fail "no terminal: $(cat "$TMP/list")"; fi

[ "$FAILS" -eq 0 ] && echo "all lesson tmux checks passed" || echo "$FAILS failures"
[ "$FAILS" -eq 0 ]
