#!/usr/bin/env bash
# End-to-end test of the real shmctl binary against real rings in /dev/shm.
# Usage: shmctl_test.sh PATH/TO/shmctl     (exit 77: skipped, /dev/shm unusable)
set -euo pipefail

SHMCTL=${1:?usage: shmctl_test.sh PATH/TO/shmctl}
PFX="shmctl-test-$$"
WORK=$(mktemp -d)
DIR="/dev/shm/$PFX.d"

cleanup() {
  rm -f /dev/shm/"$PFX"-* 2>/dev/null || true
  rm -rf "$DIR" "$WORK"
}
trap cleanup EXIT

if ! { [ -d /dev/shm ] && [ -w /dev/shm ]; }; then
  echo "SKIP: /dev/shm is missing or not writable"
  exit 77
fi

FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
# expect RC CMD...: runs CMD, keeps stdout in $WORK/out and stderr in $WORK/err, checks the exit status.
expect() {
  local want=$1; shift
  local rc=0
  "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  if [ "$rc" -ne "$want" ]; then
    fail "'$*' exited $rc, expected $want; stderr: $(cat "$WORK/err")"
    return 1
  fi
}
contains() {  # contains FILE TEXT WHAT
  if grep -qF -- "$2" "$1"; then pass "$3"; else fail "$3: '$2' not in: $(cat "$1")"; fi
}
json() {  # json FILE PYTHON-EXPR-ON-d WHAT: asserts the expression is true
  if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; then
    pass "$3"
  else
    fail "$3: ($2) is false for $(cat "$1")"
  fi
}

R="$PFX-main"

# --- create, write from stdin, read back exactly ---------------------------------
expect 0 "$SHMCTL" create "$R" --capacity 64K --group agent --group audit && contains "$WORK/out" "groups agent,audit" "create names its groups"
[ -f "/dev/shm/$R" ] && pass "ring file exists" || fail "ring file /dev/shm/$R missing"

printf 'first line\nsecond line with  spaces\n\nfourth: {"json": true}\n' >"$WORK/input"
expect 0 "$SHMCTL" write "$R" <"$WORK/input" && contains "$WORK/err" "wrote 4 records (56 bytes)" "write reports records and bytes"
contains "$WORK/err" "dropped 0" "write reports no drops"

expect 0 "$SHMCTL" read "$R" --group agent
if cmp -s "$WORK/input" "$WORK/out"; then pass "read --group returns the lines exactly"; else fail "read output differs: $(diff "$WORK/input" "$WORK/out")"; fi
expect 0 "$SHMCTL" read "$R" --group agent
[ ! -s "$WORK/out" ] && pass "second read finds the group caught up" || fail "second read printed: $(cat "$WORK/out")"

# --- stat text ------------------------------------------------------------------------
expect 0 "$SHMCTL" stat "$R"
cp "$WORK/out" "$WORK/stat.txt"
contains "$WORK/stat.txt" "policy     block" "stat shows the policy"
contains "$WORK/stat.txt" "committed  4 records, 56 bytes" "stat shows committed totals"
# Group rows: SLOT NAME CURSOR LAG LAG_BYTES READER HEARTBEAT PID PIDNS EVICTED DELIVERED ...
agent_row=$(awk '$2 == "agent"' "$WORK/stat.txt")
audit_row=$(awk '$2 == "audit"' "$WORK/stat.txt")
[ "$(echo "$agent_row" | awk '{print $4, $11}')" = "0 4" ] && pass "stat: agent lag 0, delivered 4" || fail "stat agent row: $agent_row"
[ "$(echo "$audit_row" | awk '{print $4, $11}')" = "4 0" ] && pass "stat: audit lag 4, delivered 0" || fail "stat audit row: $audit_row"

# --- stat --json ------------------------------------------------------------------------
expect 0 "$SHMCTL" stat "$R" --json
cp "$WORK/out" "$WORK/stat.json"
json "$WORK/stat.json" 'd["schema"] == "shmring.stat/1" and d["ring"] == "'"$R"'"' "stat --json schema and ring"
json "$WORK/stat.json" 'd["totals"]["committed"] == 4 and d["totals"]["committed_bytes"] == 56 and d["totals"]["dropped"] == 0' "stat --json totals"
json "$WORK/stat.json" '[(g["name"], g["delivered"], g["lag_records"]) for g in d["groups"]] == [("agent", 4, 0), ("audit", 0, 4)]' "stat --json per-group delivered and lag"
json "$WORK/stat.json" 'd["used_records"] == 4 and d["used_bytes"] == d["tail"] - d["head"] > 0 and d["config"]["capacity"] == 65536' "stat --json depth and capacity"
json "$WORK/stat.json" 'len(d["producers"]) == 1 and d["producers"][0]["committed"] == 4 and d["producers"][0]["liveness"] == "none"' "stat --json producer slot"

# --- metrics --------------------------------------------------------------------------
expect 0 "$SHMCTL" metrics "$R"
cp "$WORK/out" "$WORK/metrics.prom"
contains "$WORK/metrics.prom" "shmring_committed_records_total{ring=\"$R\"} 4" "metrics: ring committed counter"
contains "$WORK/metrics.prom" "shmring_capacity_bytes{ring=\"$R\"} 65536" "metrics: capacity gauge"
contains "$WORK/metrics.prom" "shmring_group_delivered_records_total{ring=\"$R\",group=\"agent\"} 4" "metrics: group delivered"
contains "$WORK/metrics.prom" "shmring_group_lag_records{ring=\"$R\",group=\"audit\"} 4" "metrics: group lag"
contains "$WORK/metrics.prom" "shmring_producer_committed_records_total{ring=\"$R\",slot=\"0\"} 4" "metrics: producer slot"
contains "$WORK/metrics.prom" "# TYPE shmring_dropped_records_total counter" "metrics: TYPE line"
contains "$WORK/metrics.prom" "# HELP shmring_used_bytes " "metrics: HELP line"
if command -v promtool >/dev/null 2>&1; then
  if promtool check metrics <"$WORK/metrics.prom" >"$WORK/promtool.out" 2>&1; then
    pass "promtool check metrics"
  else
    fail "promtool check metrics: $(cat "$WORK/promtool.out")"
  fi
else
  echo "skipped: promtool check metrics (promtool not installed; Debian package 'prometheus')"
fi

# --- read formats, --max, groups ---------------------------------------------------------
expect 0 "$SHMCTL" read "$R" --group audit --max 1 --format json
json "$WORK/out" 'd["payload"] == "first line" and d["len"] == 10 and d["type"] == 0' "read --format json, --max 1"
expect 0 "$SHMCTL" read "$R" --group audit --max 1 --format hex
contains "$WORK/out" "len=24 7365636f6e64206c696e65" "read --format hex"
expect 0 "$SHMCTL" read "$R" --group audit
[ "$(wc -l <"$WORK/out")" -eq 2 ] && pass "read resumes after --max" || fail "expected 2 remaining records, got: $(cat "$WORK/out")"

expect 0 "$SHMCTL" group add "$R" late
echo "after late" | "$SHMCTL" write "$R" 2>/dev/null
expect 0 "$SHMCTL" read "$R" --group late
[ "$(cat "$WORK/out")" = "after late" ] && pass "group add starts at the tail" || fail "late group read: $(cat "$WORK/out")"
expect 0 "$SHMCTL" group rm "$R" late
expect 1 "$SHMCTL" read "$R" --group late && contains "$WORK/err" "group 'late' not found" "group rm removes the group"

# --- a concurrent producer and consumer --------------------------------------------------
C="$PFX-conc"
expect 0 "$SHMCTL" create "$C" --capacity 16K --group g
"$SHMCTL" read "$C" --group g --follow --timeout 3 >"$WORK/conc.out" 2>"$WORK/conc.err" &
reader=$!
sleep 0.3
expect 0 "$SHMCTL" write "$C" --count 2000 --size 64 && contains "$WORK/err" "wrote 2000 records (128000 bytes)" "concurrent write of 2000 records"
wait "$reader" || fail "follow reader exited non-zero: $(cat "$WORK/conc.err")"
[ "$(wc -l <"$WORK/conc.out")" -eq 2000 ] && pass "follow reader got all 2000 records" || fail "follow reader got $(wc -l <"$WORK/conc.out") lines"
[ "$(sed -n '1p;2000p' "$WORK/conc.out" | cut -c1-12 | tr '\n' '|')" = "record 0 xxx|record 1999 |" ] && pass "records arrive in order" || fail "first/last: $(sed -n '1p;2000p' "$WORK/conc.out")"

# --- a small reject ring drops and reports ----------------------------------------------
J="$PFX-reject"
expect 0 "$SHMCTL" create "$J" --capacity 4K --policy reject --group slow
expect 1 "$SHMCTL" write "$J" --count 100 --size 100
dropped=$(sed -n 's/.*, dropped \([0-9]*\)$/\1/p' "$WORK/err")
written=$(sed -n 's/.*wrote \([0-9]*\) records.*/\1/p' "$WORK/err")
[ -n "$dropped" ] && [ "$dropped" -gt 0 ] && [ $((dropped + written)) -eq 100 ] && pass "reject ring: wrote $written, dropped $dropped" || fail "reject write report: $(cat "$WORK/err")"
contains "$WORK/err" "rejected" "write names why records were dropped"
expect 0 "$SHMCTL" stat "$J" --json
json "$WORK/out" "d['totals']['dropped'] == $dropped and d['totals']['committed'] == $written and d['config']['policy'] == 'reject'" "stat agrees with the write report"

# --- ls -------------------------------------------------------------------------------
expect 0 "$SHMCTL" ls
contains "$WORK/out" "NAME" "ls prints a header"
row=$(awk -v r="$R" '$1 == r' "$WORK/out")
[ -n "$row" ] && echo "$row" | grep -q ' 1\.0 .*64 KiB' && pass "ls lists the ring with version and capacity" || fail "ls row for $R: '$row' in $(cat "$WORK/out")"

mkdir "$DIR"
expect 0 "$SHMCTL" create "$DIR/good" --capacity 8K --group x
echo "not a ring" >"$DIR/junk.txt"
cp "$DIR/good" "$DIR/broken"
printf '\xff' | dd of="$DIR/broken" bs=1 seek=24 conv=notrunc status=none  # a superblock byte
expect 0 "$SHMCTL" ls "$DIR"
grep -q '^good .* 8 KiB' "$WORK/out" && pass "ls DIR lists a ring by path" || fail "ls DIR: $(cat "$WORK/out")"
grep -q 'junk' "$WORK/out" && fail "ls DIR shows a non-ring file" || pass "ls DIR skips non-rings"
grep -q '^broken .*error: ' "$WORK/out" && pass "ls DIR shows an invalid ring with its error" || fail "ls DIR broken: $(cat "$WORK/out")"
expect 1 "$SHMCTL" stat "$DIR/broken" && contains "$WORK/err" "shmctl: ring $DIR/broken: superblock field" "stat names the corrupt field"

# --- errors and usage ---------------------------------------------------------------------
expect 1 "$SHMCTL" stat "$PFX-nonexistent" && contains "$WORK/err" "shmctl: open ring /dev/shm/$PFX-nonexistent" "nonexistent ring: exit 1 naming it"
expect 1 "$SHMCTL" create "$PFX-bad" --capacity 1000 && contains "$WORK/err" "capacity 1000" "bad capacity: exit 1 naming it"
[ ! -e "/dev/shm/$PFX-bad" ] && pass "failed create leaves no file" || fail "failed create left a file"
expect 2 "$SHMCTL" create "$PFX-bad" --capacity lots && contains "$WORK/err" "--capacity 'lots'" "unparsable size: exit 2"
expect 2 "$SHMCTL" stat "$R" --bogus && contains "$WORK/err" "unknown option '--bogus'" "unknown option: exit 2 naming it"
contains "$WORK/err" "usage: shmctl stat" "usage hint on a usage error"
expect 2 "$SHMCTL" frobnicate && contains "$WORK/err" "unknown command 'frobnicate'" "unknown command: exit 2"
expect 2 "$SHMCTL" read "$R" && contains "$WORK/err" "peek" "read without --group: exit 2"
expect 2 "$SHMCTL" create && contains "$WORK/err" "missing RING" "missing argument: exit 2"
expect 1 "$SHMCTL" create "$R" --capacity 64K && contains "$WORK/err" "exists" "create over an existing ring: exit 1"

# --- help -------------------------------------------------------------------------------
for cmd in create write read ls stat metrics rm group; do
  expect 0 "$SHMCTL" help "$cmd"
  for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES; do
    grep -q "^$section\$" "$WORK/out" || fail "help $cmd lacks $section"
  done
done
pass "help pages have every section"
expect 0 "$SHMCTL" write --help && contains "$WORK/out" "shmctl write RING" "COMMAND --help"
expect 2 "$SHMCTL" help frobnicate

# --- rm -----------------------------------------------------------------------------------
expect 0 "$SHMCTL" rm "$R" "$C" "$J"
[ ! -e "/dev/shm/$R" ] && pass "rm removes the ring" || fail "rm left /dev/shm/$R"
expect 1 "$SHMCTL" rm "$R" && contains "$WORK/err" "no such ring" "rm of a missing ring: exit 1"

if [ "$FAILS" -ne 0 ]; then
  echo "$FAILS check(s) failed" >&2
  exit 1
fi
echo "all shmctl checks passed"
