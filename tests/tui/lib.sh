# lib.sh - the tmux harness the tmux tests share.  Source it with a name
# for the socket:
#   . "$(dirname "$0")/lib.sh" tui
# It gives T (tmux on a private socket, the server kept up), TMP (removed
# at exit, with the server), FAILS, and fail/ok/screen/wait_for/expect/
# expect_not/keys on the session "main" (each test has its own start).
# Skips the test (exit 77) without tmux.
SOCK=ls_${1:-tui}_test_$$
TMP=$(mktemp -d)
T="tmux -L $SOCK -f /dev/null"
FAILS=0
# the debugger speaks the environment's language: tests read English
# unless they ask for another (LANG=... in their session's env)
export LANG=C.UTF-8
unset LC_ALL LC_MESSAGES

cleanup() { $T kill-server 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

command -v tmux >/dev/null || { echo "tmux not installed: skipping"; exit 77; }
# A session that lives for the whole test keeps the tmux server up: when
# the last session is killed the server exits, and a new-session racing
# with that shutdown fails with "server exited unexpectedly".
$T new-session -d -s keepalive "sleep 3600" || { echo "tmux cannot start"; exit 1; }

fail() { echo "FAIL: $*"; echo "---- screen ----"; screen; echo "----------------"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
screen() { $T capture-pane -p -t main 2>/dev/null; }

# wait_for TEXT [SECONDS]: until the screen shows TEXT (fixed string)
wait_for() {
    local i n=$(( ${2:-10} * 10 ))
    for ((i = 0; i < n; i++)); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.1
    done
    return 1
}
expect() { if wait_for "$1" "${3:-10}"; then ok "$2"; else fail "$2 (no '$1' on screen)"; fi; }
expect_not() { sleep 0.3; if screen | grep -qF -- "$1"; then fail "$2 ('$1' on screen)"; else ok "$2"; fi; }
keys() { $T send-keys -t main "$@"; sleep 0.15; }

# ---- lessons: the quiz as a student meets it ----
# lesson_start N ARGS...: `layerstep lesson N ARGS` in session main at
# ${QUIZ_SIZE:-80x24}, with $XDG_STATE_HOME; the shell prints EXIT=rc after.
lesson_start() {
    local size=${QUIZ_SIZE:-80x24}
    $T kill-session -t main 2>/dev/null
    printf '%q ' "$BIN" lesson "$@" > "$TMP/cmd"
    $T new-session -d -s main -x "${size%x*}" -y "${size#*x}" \
        "env TERM=xterm-256color LANG=C.UTF-8 XDG_STATE_HOME=$XDG_STATE_HOME sh -c '$(cat "$TMP/cmd"); echo EXIT=\$?; sleep 60'"
}

quiz_wrong_of() {  # a wrong answer of the right kind
    case "$1" in
        \[*) echo "[1, 2, 3]" ;;
        none) echo "0" ;;
        rises) echo "falls" ;;
        falls | same) echo "rises" ;;
        a) echo "b" ;;
        [b-f]) echo "a" ;;
        *) echo "none" ;;
    esac
}

# how often TEXT stands on the screen as a word of its own
quiz_count() { screen | grep -oF -- "$1" | wc -l; }

# quiz_walk N LANG: lesson N from its first step to its end.  At every
# question: the answer's text (the shape, the masked columns, the chosen
# value) is nowhere on screen (a choice's value only in the question
# itself); b, c, o and s go to the answer line, not to the debugger; a
# wrong answer gets a reason without the answer; then the right one
# (a letter alone answers a choice, without Enter) shows it.  A function
# check_N_S, if defined, runs at step S; after_N_S after its answer.  LESSONS must name lessons/.
quiz_walk() {
    local n=$1 lang=$2 file steps head wrong right end lead at
    file=$(ls "$LESSONS"/0"$n"_*.json)
    steps=$(( $(grep -c '"point"' "$file") - $(grep -c '"kind": "edit"' "$file") ))
    "$BIN" lesson "$n" --answers --lang "$lang" > "$TMP/answers$n$lang" || { fail "lesson $n --answers"; return; }
    # the answer line's prompt and the status line speak the lesson's language
    if [ "$lang" = zh ]; then head="第 0$n 课  第 %d/%d 步"; wrong="不对"; right="答对了"; end="本课结束"
        lead="作答>"; at='^ 位于 '
    else head="Lesson 0$n  step %d/%d"; wrong="Not quite"; right="Right:"; end="lesson finished"
        lead="answer>"; at='^ at '; fi
    lesson_start "$n" --lang "$lang" --restart
    local s
    for ((s = 1; s <= steps; s++)); do
        # a step with a "run" opens another model: give a loaded machine time
        if ! wait_for "$(printf "$head" "$s" "$steps")" 60; then fail "lesson $n $lang: did not reach step $s"; return; fi
        local fn="check_${n}_${s}"
        declare -F "$fn" >/dev/null && "$fn" "$lang"
        local line ans prompt told
        line=$(awk -F'\t' -v s="step $s" '$1 == s' "$TMP/answers$n$lang")
        if [ -z "$line" ]; then keys Enter; continue; fi
        ans=$(cut -f2 <<< "$line"); prompt=$(cut -f3 <<< "$line"); told=$(cut -f4 <<< "$line")
        # a choice's letter answers without Enter; a one-letter unit (a
        # text question, lesson 06) is typed and entered
        local choice=0
        [[ "$ans" =~ ^[a-f]$ ]] && [[ "$prompt" == *"$ans)"* ]] && choice=1
        wait_for "$lead" 10 || fail "lesson $n $lang step $s: the question does not open the answer line"
        sleep 0.3
        # the answer nowhere on screen
        if [ ${#told} -le 1 ]; then
            echo "note: lesson $n step $s: the answer '$told' is one character, not checked as text"
        else
            local on=$(quiz_count "$told") inq=$(grep -oF -- "$told" <<< "$prompt" | wc -l)
            # only where the question itself names it ("a) 8 b) 64", "(rises / falls)")
            if [ "$on" -le "$inq" ]; then
                ok "lesson $n $lang step $s: '$told' is not on screen before the answer"
            else fail "lesson $n $lang step $s: '$told' is on screen before the answer ($on times, $inq in the question)"; fi
        fi
        # debugger keys at an open question move nothing
        local before after
        keys C-u  # clears the message line too, so the status line shows
        sleep 0.2
        before=$(screen | grep -- "$at" | tail -1)
        if [ "$choice" = 1 ]; then keys o; keys s; else keys b; keys c; keys o; keys s; fi
        sleep 0.3
        after=$(screen | grep -- "$at" | tail -1)
        if [ "$before" = "$after" ] && screen | grep -qF -- "$lead"; then ok "lesson $n $lang step $s: b/c/o/s do not move the debugger"
        else fail "lesson $n $lang step $s: debugger keys moved it: '$before' -> '$after'"; fi
        keys C-u
        # wrong once: a reason, and (but for a rise/fall) one more try
        keys -l "$(quiz_wrong_of "$ans")"
        [ "$choice" = 1 ] || keys Enter
        if wait_for "$wrong" 30; then ok "lesson $n $lang step $s: a wrong answer gets a reason"; else fail "lesson $n $lang step $s: no reason"; fi
        if [ "$ans" != rises ] && [ "$ans" != falls ] && [ "$ans" != same ]; then
            if [ ${#told} -gt 1 ] && [ "$(quiz_count "$told")" -gt "$(grep -oF -- "$told" <<< "$prompt" | wc -l)" ]; then
                fail "lesson $n $lang step $s: the reason for a wrong answer gives '$told' away"; fi
            keys -l "$ans"
            [ "$choice" = 1 ] || keys Enter
            if wait_for "$right" 30; then ok "lesson $n $lang step $s: '$ans' is right"; else fail "lesson $n $lang step $s: '$ans' refused"; fi
        fi
        if [ "$lang" = zh ]; then  # the reveal says it in the lesson's language
            case "$told" in rises) told="上升" ;; falls) told="下降" ;; same) told="不变" ;; esac
        fi
        if [ ${#told} -gt 1 ]; then
            # the reason may wrap: read the screen as one line
            if screen | tr '\n' ' ' | tr -s ' ' | grep -qF -- "$told"; then ok "lesson $n $lang step $s: '$told' shows after the answer"
            else fail "lesson $n $lang step $s: '$told' not on screen after the answer"; fi
        fi
        fn="after_${n}_${s}"  # a check that needs the question answered
        declare -F "$fn" >/dev/null && "$fn" "$lang"
        keys Enter
    done
    expect "$end" "lesson $n $lang ends with its score" 30
    keys q
    expect "EXIT=0" "lesson $n $lang quits cleanly"
}
