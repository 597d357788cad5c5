#!/usr/bin/env bash
# Hostile input, second round (issue 20): numbers that do not fit, files
# that are not regular files, write failures, conflicting flags.  Each case
# asserts the exit status and that stderr has exactly one "layerstep" line
# (an option error may be followed by the usage text) matching a pattern.
# FIFOs, device nodes and symlinks are made inside a temporary folder; no
# case writes to a system path.  Cases that could hang run under timeout 5.
#   hostile_io_test.sh LAYERSTEP TESTS_DATA_DIR
set -u
LS=$1
DATA=$2
HERE=$(cd "$(dirname "$0")" && pwd)
MK="python3 $HERE/hostile_make.py"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0 n=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

# check NAME WANT_RC STDERR_REGEX -- layerstep args...   (TMO=seconds)
check() {
  local name=$1 want=$2 re=$3
  shift 4
  n=$((n + 1))
  timeout "${TMO:-120}" "$LS" "$@" >"$T/out" 2>"$T/err" </dev/null
  local got=$? lines
  lines=$(grep -c '^layerstep' "$T/err")
  if [ "$got" = 124 ]; then
    bad "$name: timed out (hang)"; return
  fi
  if [ "$got" != "$want" ]; then
    bad "$name: exit $got, want $want"; sed 's/^/     /' "$T/err" | head -3; return
  fi
  if [ "$lines" != 1 ] || ! head -1 "$T/err" | grep -q '^layerstep'; then
    bad "$name: $lines 'layerstep' stderr lines, want 1 first"; sed 's/^/     /' "$T/err" | head -5; return
  fi
  if ! head -1 "$T/err" | grep -Eq -- "$re"; then
    bad "$name: stderr does not match /$re/"; head -1 "$T/err" | sed 's/^/     /'; return
  fi
  ok "$name: $(head -1 "$T/err")"
}

MHA=(--model "$DATA/mha_small" --inputs "$DATA/mha_small/inputs")
TS=(--model "$DATA/transformer_small")

# --- numbers: range and NaN checked before converting ---
check "--threads 1e12 refused" 2 "run: --threads takes a whole number from 0 to [0-9]+, got '1e12'" -- run "${MHA[@]}" --threads 1e12
check "--threads 3e9 refused" 2 "got '3e9'" -- run "${MHA[@]}" --threads 3e9
check "--threads nan refused" 2 "got 'nan'" -- run "${MHA[@]}" --threads nan
check "--threads 99999999999999999999999 refused" 2 "got '99999999999999999999999'" -- run "${MHA[@]}" --threads 99999999999999999999999
check "--threads 1000 capped with a notice" 0 "run: --threads 1000 is more than the [0-9]+ online CPUs; using [0-9]+" -- run "${MHA[@]}" --threads 1000
check "--random-inputs 1e30 refused" 2 "--random-inputs takes a whole number .*got '1e30'" -- run --model "$DATA/mha_small" --module . --random-inputs 1e30
check "--atol inf refused" 2 "--atol takes a non-negative number, got 'inf'" -- compare "$T" "$T" --atol inf
check "lesson --delay 1e9 refused" 2 "lesson: --delay takes a whole number from 0 to 60000, got '1e9'" -- lesson 1 --delay 1e9
check "lesson 1abc refused" 2 "a lesson is named by its number .*got '1abc'" -- lesson 1abc
check "lesson 4.9 refused" 2 "got '4.9'" -- lesson 4.9
