#!/usr/bin/env bash
# The transcript on the TUI's title line (issue 17): hidden until the user
# has stepped past the CTC decoding, then what the hand-set ctc_hello
# model heard.
#   ctc_tmux_test.sh LAYERSTEP_BINARY TESTS_DATA_DIR
set -u
BIN=$1
DATA=$2
M=$DATA/ctc_hello
. "$(dirname "$0")/lib.sh" ctc

printf '%q ' "$BIN" tui --model "$M" --wav "$M/hello.wav" > "$TMP/cmd"
$T new-session -d -s main -x 100 -y 30 \
    "env TERM=xterm-256color sh -c '$(cat "$TMP/cmd"); echo EXIT=\$?; sleep 60'"
wait_for "Modules" 10 || fail "the tui did not start"
sleep 1  # time to compute ahead (the small model is done); a step redraws,
keys s   # and the title must still not tell
expect_not 'heard:' "no transcript before the decoding is reached"
keys c
expect 'heard: "hello world"' "the title line says what was heard"
screen | head -1 | grep -qF 'heard: "hello world"' && ok "on the first line" || fail "not on the title line"
keys q
expect "EXIT=0" "quits cleanly"
[ "$FAILS" = 0 ] && echo "all ok" || echo "$FAILS failed"
[ "$FAILS" = 0 ]
