#!/usr/bin/env bash
# The real `layerstep tui` in a real terminal (tmux): send keys, read the
# screen with capture-pane, assert what a person would see.
#   tmux_test.sh LAYERSTEP_BINARY TESTS_DATA_DIR
set -u
BIN=$1
DATA=$2
MODEL=$DATA/transformer_small
. "$(dirname "$0")/lib.sh" tui

# start SIZE ARGS...: a fresh session running the tui in a shell that
# reports the exit status afterwards
start() {
    local w=$1 h=$2
    shift 2
    $T kill-session -t main 2>/dev/null
    printf '%q ' "$BIN" tui --model "$MODEL" --inputs "$MODEL/inputs" "$@" > "$TMP/cmd"
    $T new-session -d -s main -x "$w" -y "$h" \
        "env TERM=xterm-256color sh -c 'trap \"\" INT; echo before-tui; $(cat "$TMP/cmd"); echo EXIT=\$?; sleep 60'"
    [ -n "${NOWAIT:-}" ] || wait_for "Modules" 10 || fail "the tui did not start"
}

tui_pid() {
    local shell
    shell=$($T display-message -p -t main '#{pane_pid}')
    # the pane runs env -> sh -> layerstep
    local p
    for p in $(ps -o pid= --ppid "$shell") $(ps -o pid= --ppid "$(ps -o pid= --ppid "$shell" | head -1)" 2>/dev/null); do
        if ps -o args= -p "$p" | grep -q " tui "; then echo "$p"; return; fi
    done
}

# ---- stepping into the first encoder layer's attention ----
start 80 24 --break 'encoder.layers.0.enc_self_attn.scores'
expect "at (start" "starts before the first node"
# while it waits for a key it computes ahead, which must not show: after
# a second (the whole toy run is done by then) nothing is marked computed
sleep 1
expect "[0/287]" "computing ahead does not move the status line"
expect " . - (encoder): Encoder" "computing ahead leaves the encoder pending in the tree"
expect "   enc_self_attn_mask " "the mask row is there"
if screen | grep -qE '^ \*  +enc_self_attn_mask'; then fail "a point computed ahead shows as computed"; else
    ok "points computed ahead stay pending"; fi
keys c
expect "at encoder.layers.0.enc_self_attn.scores [2, 4, 5, 5]" "c stops at the first layer's scores"
expect "div_scalar" "the tensor pane names the op"
expect "| float32 [2, 4, 5, 5]  computed" "the tensor pane shows the shape"
expect "slice [b=0, h=0, :, :] 5x5" "a 2-D slice of batch 0, head 0"
expect "   ich " "rows are labelled with source tokens"

# the grid as shown now, to compare after a step forward and back
before=$(screen | sed -n '6,12p' | cut -c33-)
keys s
expect "at encoder.layers.0.enc_self_attn.scores_masked [2, 4, 5, 5]" "s steps to the filled scores"
expect "masked_fill" "the tensor pane names the fill"
expect "-1e+09" "the padded key's score is now the fill, -1e9"
keys s
expect "at encoder.layers.0.enc_self_attn.attn" "s steps to the softmax"
keys p
expect "at encoder.layers.0.enc_self_attn.scores_masked" "p steps back to the filled scores"
keys p
expect "at encoder.layers.0.enc_self_attn.scores [2, 4, 5, 5]" "p steps back to scores"
after=$(screen | sed -n '6,12p' | cut -c33-)
if [ "$before" = "$after" ] && [ -n "$before" ]; then ok "p shows the same numbers"; else
    fail "p shows different numbers"; echo "before:"; echo "$before"; echo "after:"; echo "$after"; fi

# ---- the mask: the padding column (source token P) is masked ----
keys v
expect "XX masked" "heatmap with a legend"
heat=$(screen | grep -E '\|\s*(ich|mochte|ein|bier|P) ')
rows=$(echo "$heat" | grep -c 'XX$')
if [ "$rows" = 5 ]; then ok "every query row has the P column masked"; else
    fail "expected 5 rows ending in a masked cell, got $rows"; echo "$heat"; fi
keys a
expect "Attention encoder.layers.0.enc_self_attn" "a opens the attention chain"
expect "mask" "the chain shows the mask"
expect "keys: 0=ich 1=mochte 2=ein 3=bier 4=P" "key tokens are listed"
expect " sum" "attn's rows have their sums"
masked=$(screen | grep -E '^ *(ich|mochte|ein|bier|P) ' | grep -c 'XX')
if [ "$masked" = 5 ]; then ok "the mask panel masks the padding key"; else fail "mask panel: $masked rows with XX"; fi
expect_not "-1e+09" "masked cells are never drawn as -1e9"
# batch item 1 is "ich mochte ein cola P": its own words on the axes
keys '}'
expect "batch 1/2" "} shows batch item 1"
expect "keys: 0=ich 1=mochte 2=ein 3=cola 4=P" "item 1's keys are its own words"
masked=$(screen | grep -E '^ *(ich|mochte|ein|cola|P) ' | grep -c 'XX')
if [ "$masked" = 5 ]; then ok "item 1's padding key is masked in every row"; else fail "item 1: $masked rows with XX"; fi
keys '{'
keys Escape
keys v v

# ---- g reaches the filled scores of any attention ----
keys g
$T send-keys -t main -l "decoder.layers.1.dec_enc_attn.scores_masked"
keys Enter
expect "at decoder.layers.1.dec_enc_attn.scores_masked [2, 4, 6, 5]" "g goes to a cross-attention's scores_masked"

# ---- explain a shape ----
keys g
$T send-keys -t main -l "encoder.layers.0.enc_self_attn.q"
keys Enter
keys e
expect "[2,5,32] -linear-> [2,5,32] -view-> [2,5,4,8] -transpose(1,2)-> [2,4,5,8]" "e explains q's shape" 
keys e

# ---- resizing keeps a sane layout ----
$T resize-window -t main -x 200 -y 50
sleep 0.5
expect "Modules (Tab" "200x50: the tree pane"
s=$(screen)
title=$(echo "$s" | sed -n 1p)
status=$(echo "$s" | sed -n 49p)
case $title in *layerstep*) ok "200x50: title on the first row" ;; *) fail "200x50 title: $title" ;; esac
case $status in *" at encoder.layers.0.enc_self_attn.q"*) ok "200x50: status line at the bottom" ;; *) fail "200x50 status: $status" ;; esac
expect "s/n/o/c step  p back" "200x50: the long key hints"
$T resize-window -t main -x 50 -y 12
expect "terminal too small" "50x12: too small message"
$T resize-window -t main -x 80 -y 24
sleep 0.5
expect "Modules (Tab" "back to 80x24"
status=$(screen | sed -n 23p)
case $status in *" at encoder.layers.0.enc_self_attn.q"*) ok "80x24: status line on row 23" ;; *) fail "80x24 status: $status" ;; esac
expect_not "terminal too small" "80x24 is big enough"

# ---- quitting restores the terminal ----
keys q
expect "EXIT=0" "q exits 0"
expect "before-tui" "the shell's screen is back"
expect_not "Modules (Tab" "no debugger left on the screen"

# ---- --no-ahead: computes only on keys, same screen ----
start 80 24 --no-ahead
keys s
expect "at enc_inputs" "--no-ahead: s steps"
keys q
expect "EXIT=0" "--no-ahead: q exits 0"

# ---- signals restore the terminal too ----
start 80 24
keys C-c
expect "EXIT=130" "Ctrl-C exits 130"
expect_not "Modules (Tab" "Ctrl-C restores the screen"

start 80 24
pid=$(tui_pid)
if [ -n "$pid" ]; then
    kill -TERM "$pid"
    expect "EXIT=143" "SIGTERM exits 143"
    expect_not "Modules (Tab" "SIGTERM restores the screen"
else
    fail "could not find the tui's pid"
fi

start 80 24
pid=$(tui_pid)
if [ -n "$pid" ]; then
    kill -STOP "$pid" && kill -CONT "$pid"
    keys s
    expect "at enc_inputs" "keys still work after stop/continue"
    kill -HUP "$pid"
    expect "EXIT=129" "SIGHUP exits 129"
fi

# ---- record and replay ----
printf '# demo\nc\nv\nq\n' > "$TMP/demo.keys"
NOWAIT=1 start 80 24 --break '*.scores' --replay "$TMP/demo.keys" --delay 10 --record "$TMP/rec.keys"
expect "EXIT=0" "a replay ending in q exits 0"
if [ "$(tr '\n' ' ' < "$TMP/rec.keys")" = "c v q " ]; then ok "the session was recorded"; else
    fail "recorded: $(cat "$TMP/rec.keys")"; fi
# a live resize is recorded with the size it went to
start 80 24 --record "$TMP/rec2.keys"
keys s
$T resize-window -t main -x 120 -y 40
sleep 0.5
expect "Modules (Tab" "recording: redrawn at 120x40"
keys q
expect "EXIT=0" "recording: q exits 0"
if [ "$(tr '\n' ' ' < "$TMP/rec2.keys")" = "s <Resize:120x40> q " ]; then ok "the resize was recorded with its size"; else
    fail "recorded: $(cat "$TMP/rec2.keys")"; fi
printf 'c\n<Nope>\n' > "$TMP/bad.keys"
if "$BIN" tui --model "$MODEL" --replay "$TMP/bad.keys" 2>"$TMP/err" </dev/null; then fail "a bad key file is accepted"; else
    grep -q "<Nope>" "$TMP/err" && ok "a bad key file is refused by name" || fail "message: $(cat "$TMP/err")"; fi

# ---- --help comes from the key table ----
"$BIN" tui --help > "$TMP/help"
grep -q "step into" "$TMP/help" && grep -q ":svg PATH" "$TMP/help" && ok "--help lists the keys" || fail "--help"

if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS check(s) failed"
    exit 1
fi
echo "all tmux checks passed"
