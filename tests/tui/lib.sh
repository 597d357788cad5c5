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
