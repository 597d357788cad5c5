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
# frames at the CTC rate are labelled with their best unit: frame 1 of
# the 112 (10 ms apart) is in the leading silence, the blank; the 'h'
# tone starts at 40 ms
keys g
$T send-keys -t main -l "ctc.log_softmax"
keys Enter
expect "1:10ms ·" "a frame of ctc.log_softmax labelled with its best unit (the blank)"
keys g
$T send-keys -t main -l "output"
keys Enter
sleep 0.3
screen | grep -qE "[0-9]+:[0-9]+ms h" && ok "a frame of the encoder output labelled h" \
  || fail "no frame labelled h"
keys q
expect "EXIT=0" "quits cleanly"
[ "$FAILS" = 0 ] && echo "all ok" || echo "$FAILS failed"
[ "$FAILS" = 0 ]
