#!/usr/bin/env bash
# Chinese that renders whatever the locale (issue 16): a zh lesson under
# LANG=C, and under LANG=zh_CN.UTF-8 where that locale is not installed,
# draws the lesson's own Chinese (read back from the lesson file) and the
# debugger's labels in Chinese, not mojibake; `tui` follows LANG; English
# under LANG=C stays English.  (No UTF-8 locale at all, the one-line
# refusal, is checked in tests/unit/test_tui_strings.c: C.UTF-8 cannot be
# taken away from a test.)
#   locale_tmux_test.sh LAYERSTEP_BINARY TESTS_DATA_DIR
set -u
BIN=$1
DATA=$2
LESSON=$(dirname "$0")/../../lessons/02_masks_teacher_forcing.json
. "$(dirname "$0")/lib.sh" locale
export XDG_STATE_HOME=$TMP/state

# run LANGVALUE ARGS...: layerstep ARGS in a fresh 80x24 session whose
# only locale variable is LANG=LANGVALUE
run() {
    local lang=$1
    shift
    $T kill-session -t main 2>/dev/null
    printf '%q ' "$BIN" "$@" > "$TMP/cmd"
    $T new-session -d -s main -x 80 -y 24 \
        "env -u LC_ALL -u LC_CTYPE -u LC_MESSAGES TERM=xterm-256color LANG=$lang XDG_STATE_HOME=$XDG_STATE_HOME sh -c '$(cat "$TMP/cmd"); echo EXIT=\$?; sleep 60'"
}

# what the lesson file says, in Chinese: the title, and the first words
# of step 1's narration (up to its first placeholder, before any wrap)
TITLE=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["title"]["zh"])' "$LESSON")
TEXT=$(/usr/bin/python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["steps"][0]["text"]["zh"]; print(t.split("{")[0][:12])' "$LESSON")
[ -n "$TITLE" ] && [ -n "$TEXT" ] || { echo "FAIL: cannot read $LESSON"; exit 1; }

zh_screen() {  # zh_screen WHAT: the checks of a zh lesson screen
    expect "$TITLE" "$1: the lesson title in Chinese"
    expect "$TEXT" "$1: the narration in Chinese"
    expect " 模块 (Tab: 张量)" "$1: the tree's title in Chinese"
    expect "? 帮助" "$1: the status hints in Chinese"
    # ncurses under an ASCII locale prints UTF-8 bytes as M-x / ~X escapes
    if screen | grep -qE 'M-[^ ]|~[A-Z@]'; then fail "$1: mojibake on screen"; else ok "$1: no mojibake"; fi
    keys '?'
    expect "步入：运行到下一个有名字的点" "$1: the ? screen in Chinese"
    # (no quitting here: at an open question the lesson owns the keys;
    # the next run replaces the session)
}

run C lesson 2 --lang zh
zh_screen "LANG=C"

if locale -a 2>/dev/null | grep -qi '^zh_CN\.utf-\?8$'; then
    echo "zh_CN.UTF-8 is installed here: the missing-locale case is not exercised"
fi
run zh_CN.UTF-8 lesson 2 --restart
zh_screen "LANG=zh_CN.UTF-8, no --lang"

# the plain debugger follows LANG
MODEL=$DATA/transformer_small
run zh_CN.UTF-8 tui --model "$MODEL" --inputs "$MODEL/inputs"
expect " 模块 (Tab: 张量)" "tui under LANG=zh_CN.UTF-8: Chinese labels"
expect "s 步入，n 步过" "tui under LANG=zh_CN.UTF-8: the first message in Chinese"
keys q
expect "EXIT=0" "tui quits cleanly"
run C tui --model "$MODEL" --inputs "$MODEL/inputs" --lang zh
expect " 模块 (Tab: 张量)" "tui --lang zh under LANG=C: Chinese labels"
keys q

# English without any UTF-8 need stays as it was
run C lesson 2 --lang en --restart
expect " Modules (Tab: tensor)" "LANG=C, English: the tree's title"
expect "? help" "LANG=C, English: the status hints"

[ "$FAILS" -eq 0 ] && echo "all locale tmux checks passed" || echo "$FAILS failures"
[ "$FAILS" -eq 0 ]
