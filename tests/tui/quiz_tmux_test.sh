#!/usr/bin/env bash
# The quiz as a student meets it, at 80x24: lessons walked start to end
# (see quiz_walk in lib.sh), the answer never on screen while asked.
#   quiz_tmux_test.sh LAYERSTEP_BINARY N:LANG...
set -u
BIN=$1
shift
. "$(dirname "$0")/lib.sh" quiz
export XDG_STATE_HOME=$TMP/state
LESSONS=$(dirname "$0")/../../lessons
for nl in "$@"; do
    quiz_walk "${nl%:*}" "${nl#*:}"
done
[ "$FAILS" -eq 0 ] && echo "all quiz checks passed" || echo "$FAILS failures"
[ "$FAILS" -eq 0 ]
