#!/usr/bin/env bash
# Files written whole or not at all (issue 9, point 4): a dump of the
# largest bundled model is killed mid-way (SIGKILL, then SIGINT), and every
# *.npy left in the directory must load with the real loader (`layerstep
# compare DIR DIR` reads each one); leftovers are only hidden temp files,
# which no loader picks up, and the next dump into the directory removes.
# A non-empty directory that is not a dump is refused unless --force.
#   interrupt_test.sh LAYERSTEP TESTS_DATA_DIR REPO_DATA_DIR
set -u
LS=$1
DATA=$2
MODEL=$3/conformer_article
T=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

# interrupt SIGNAL DIR: start a dump into DIR, wait for a few points, send
# SIGNAL.  (A background job of a script starts with SIGINT ignored; env
# --default-signal gives the dump the default action back.)
interrupt() {
  env --default-signal=INT "$LS" dump --model "$MODEL" --out "$2" >"$T/out" 2>"$T/err" &
  pid=$!
  for _ in $(seq 1 1200); do # up to 120 s for the first points (ASan is slow)
    [ "$(find "$2" -maxdepth 1 -name '*.npy' 2>/dev/null | wc -l)" -ge 5 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  sleep 0.3
  if kill -0 "$pid" 2>/dev/null; then
    kill "-$1" "$pid"
    wait "$pid" 2>/dev/null
    local rc=$?
    [ "$rc" -gt 128 ] && ok "dump killed with SIG$1 mid-way (exit $rc, $(find "$2" -maxdepth 1 -name '*.npy' | wc -l) points written)" \
      || bad "dump did not die of SIG$1 (exit $rc)"
  else
    wait "$pid"
    bad "dump finished before it could be killed with SIG$1 (exit $?)"; sed 's/^/     /' "$T/err" | head -3
  fi
  pid=
}

# every_file_loads WHAT DIR: each *.npy loads; anything else is the
# marker, a manifest or a hidden temp file
every_file_loads() {
  local n=0 badf=0 dir=$2
  for f in "$dir"/*.npy; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    mkdir -p "$T/one" && rm -f "$T"/one/* && cp "$f" "$T/one/"
    if ! "$LS" compare "$T/one" "$T/one" >/dev/null 2>"$T/cerr"; then
      badf=$((badf + 1)); echo "     does not load: $(cat "$T/cerr")"
    fi
  done
  [ "$badf" = 0 ] && [ "$n" -gt 0 ] && ok "$1: all $n .npy files load" || bad "$1: $badf of $n .npy files do not load"
  local other
  other=$(cd "$dir" && ls -A | grep -v '\.npy$' | grep -v -x -e '.layerstep-dump' -e 'manifest.json' | grep -v '^\..*\.tmp\.[0-9]*$')
  [ -z "$other" ] && ok "$1: nothing else but the marker and hidden temp files" || bad "$1: unexpected files: $other"
  "$LS" compare "$dir" "$dir" >"$T/cout" 2>"$T/cerr" && ok "$1: compare DIR DIR reads the whole directory" || { bad "$1: compare DIR DIR: $(cat "$T/cerr")"; }
}

interrupt KILL "$T/d"
every_file_loads "after SIGKILL" "$T/d"
interrupt INT "$T/d2"
every_file_loads "after SIGINT" "$T/d2"
# what a kill in the middle of a write leaves: a hidden, half-written temp
# file of a dead process; no loader takes it for a point
head -c 100 "$DATA/mha_small/acts/$(ls "$DATA/mha_small/acts" | head -1)" >"$T/d/.embed.npy.tmp.4194303"
"$LS" compare "$T/d" "$T/d" >/dev/null 2>"$T/cerr" && ok "a half-written temp file is not read as a point" || bad "half-written temp file read: $(cat "$T/cerr")"

# a finished dump into the same directory: allowed (it is a previous
# dump) and leaves no temp file behind
"$LS" dump --model "$DATA/mha_small" --inputs "$DATA/mha_small/inputs" --out "$T/d" >/dev/null 2>"$T/err" \
  && ok "a new dump into an interrupted one is allowed" || bad "a new dump into an interrupted one: $(cat "$T/err")"
ls -A "$T/d" | grep -q '\.tmp\.' && bad "stale temp files removed" || ok "stale temp files removed"
[ -e "$T/d/manifest.json" ] && ok "the new dump has its manifest" || bad "the new dump has its manifest"

# refusing a directory that is not a dump
mkdir -p "$T/notes" && echo hello >"$T/notes/notes.txt"
"$LS" dump --model "$DATA/mha_small" --inputs "$DATA/mha_small/inputs" --out "$T/notes" >/dev/null 2>"$T/err"
rc=$?
[ "$rc" = 2 ] && grep -q "notes: directory is not empty and holds no previous dump (use --force" "$T/err" \
  && ok "non-empty non-dump directory refused" || bad "non-empty non-dump directory refused (exit $rc: $(cat "$T/err"))"
"$LS" dump --force --model "$DATA/mha_small" --inputs "$DATA/mha_small/inputs" --out "$T/notes" >/dev/null 2>"$T/err" \
  && [ -e "$T/notes/notes.txt" ] && ok "--force writes into it and keeps the other file" || bad "--force: $(cat "$T/err")"

if [ "$fails" = 0 ]; then echo "interrupt: all checks passed"; exit 0; fi
echo "interrupt: $fails checks failed"; exit 1
