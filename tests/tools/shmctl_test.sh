#!/usr/bin/env bash
# End-to-end test of the real shmctl binary against real rings in /dev/shm.
# Usage: shmctl_test.sh PATH/TO/shmctl [PATH/TO/shmctl_claim_and_die [PATH/TO/libshmring.so]]
#        (exit 77: skipped, /dev/shm unusable). The helper (claim_and_die.cc) makes a producer
#        die holding a claim, for the recover test; without it recover is tested on a clean ring.
#        The library is loaded by the Python binding (bindings/python) to check stat --json
#        against the library's own stats; without it that check fails.
set -euo pipefail

SHMCTL=${1:?usage: shmctl_test.sh PATH/TO/shmctl [PATH/TO/shmctl_claim_and_die]}
CLAIM_AND_DIE=${2:-}
LIBSHMRING=${3:-}
BINDINGS="$(cd "$(dirname "$0")/../../bindings/python" && pwd)"
BGPIDS=()
PFX="shmctl-test-$$"
WORK=$(mktemp -d)
DIR="/dev/shm/$PFX.d"

cleanup() {
  for p in "${BGPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
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

# --- stat --json against the library's own stats, with a live producer and reader ----------
# The writer reads its lines from a FIFO we hold open, so it stays attached (alive) and idle
# once the reader has caught up: both snapshots then see the same counters.
LV="$PFX-live"
expect 0 "$SHMCTL" create "$LV" --capacity 64K --group g --group idle --stale-after 600000
mkfifo "$WORK/lines"
"$SHMCTL" write "$LV" <"$WORK/lines" 2>"$WORK/live-writer.err" &
lwriter=$!
BGPIDS+=("$lwriter")
exec 3>"$WORK/lines"
"$SHMCTL" read "$LV" --group g --follow >"$WORK/live-reader.out" 2>&1 3>&- &  # not holding the FIFO open
lreader=$!
BGPIDS+=("$lreader")
for i in $(seq 25); do echo "live record $i" >&3; done
for _ in $(seq 200); do
  "$SHMCTL" stat "$LV" --json >"$WORK/live.json" 2>/dev/null && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["totals"]["committed"] == 25 and d["groups"][0]["lag_records"] == 0 and d["groups"][0]["reader"]["liveness"] == "alive" else 1)' "$WORK/live.json" && break
  sleep 0.05
done
# A sanitizer build's libshmring needs its runtime loaded first into python3 (and
# python's own allocations are not ours to leak-check).
PRELOAD=""
if [ -n "$LIBSHMRING" ]; then
  PRELOAD=$(ldd "$LIBSHMRING" | awk '/lib(asan|tsan)\.so/ {print $3; exit}')
fi
if [ -z "$LIBSHMRING" ]; then
  fail "stat --json vs the library: no libshmring given (third argument)"
elif LD_PRELOAD="$PRELOAD" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
  SHMRING_LIBRARY="$LIBSHMRING" PYTHONPATH="$BINDINGS" python3 - "/dev/shm/$LV" "$WORK/live.json" "$lwriter" "$lreader" >"$WORK/live.check" 2>&1 <<'PY'
import json, sys
import shmring
path, stat_json, writer, reader = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lib = shmring.Ring.open(path, read_only=True).stats()
d = json.load(open(stat_json))
t = d["totals"]
pairs = {"tail": d["tail"], "head": d["head"], "used_bytes": d["used_bytes"], "high_water": d["high_water_bytes"],
         "capacity": d["config"]["capacity"], "max_record": d["config"]["max_record"], "num_groups": len(d["groups"]),
         "committed": t["committed"], "committed_bytes": t["committed_bytes"], "dropped": t["dropped"],
         "aborted": t["aborted"], "abandoned": t["abandoned"], "unblocked": t["unblocked"], "unblocks": t["unblocks"],
         "evictions": t["evictions"], "reclaims": t["reclaims"],
         "delivered": sum(g["delivered"] for g in d["groups"]), "overwritten": sum(g["overwritten"] for g in d["groups"]),
         "corrupt": sum(g["corrupt"] for g in d["groups"])}
bad = [f"{k}: stat --json {v}, library {lib[k]}" for k, v in pairs.items() if lib[k] != v]
g, idle = d["groups"]
p = [p for p in d["producers"] if p["liveness"] != "none"]
if lib["committed"] != 25: bad.append(f"library committed {lib['committed']}, 25 written")
if (g["name"], g["reader"]["liveness"], g["reader"]["pid"], g["delivered"], g["lag_records"]) != ("g", "alive", reader, 25, 0):
    bad.append(f"group g: {g}")
if (idle["name"], idle["reader"]["liveness"], idle["lag_records"]) != ("idle", "none", 25):
    bad.append(f"group idle: {idle}")
if len(p) != 1 or (p[0]["liveness"], p[0]["pid"], p[0]["committed"]) != ("alive", writer, 25):
    bad.append(f"producers: {d['producers']}")
print("\n".join(bad) or "agree")
sys.exit(1 if bad else 0)
PY
then
  pass "stat --json agrees with the library's stats (Python binding) with a live producer and reader"
else
  fail "stat --json vs the library: $(cat "$WORK/live.check")"
fi
# health: the exec-probe form of /healthz, on the same live ring.
expect 0 "$SHMCTL" health "$LV" --group g --no-verify && contains "$WORK/out" "ok" "health: group g's reader is alive"
expect 0 "$SHMCTL" health "$LV" --group g && contains "$WORK/out" "ok" "health: alive, and the ring verifies"
expect 1 "$SHMCTL" health "$LV" && contains "$WORK/out" "group idle has no reader" "health: every group by default, naming the one without a reader"
expect 1 "$SHMCTL" health "$LV" --group g,nosuch --quiet && [ ! -s "$WORK/out" ] && pass "health --quiet prints nothing"
expect 1 "$SHMCTL" health "$LV" --group nosuch && contains "$WORK/out" "no group nosuch" "health: a missing group is a problem"
exec 3>&-  # end of the writer's input: it reports and exits
wait "$lwriter" || fail "live writer: $(cat "$WORK/live-writer.err")"
kill "$lreader"
wait "$lreader" 2>/dev/null || true
expect 1 "$SHMCTL" health "$LV" --group g --no-verify && contains "$WORK/out" "group g has no" "health: the reader gone, group g is unhealthy"

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

# --- message batches ----------------------------------------------------------------------
M="$PFX-batches"
expect 0 "$SHMCTL" create "$M" --capacity 64K --group g --batches
contains "$WORK/out" "message batches allowed" "create --batches"
expect 0 "$SHMCTL" write "$M" --count 100 --size 64 --batch 16
contains "$WORK/err" "wrote 100 records (6400 bytes, as messages of 7 batch records)" "write --batch packs 16 per record"
expect 0 "$SHMCTL" verify "$M"
contains "$WORK/out" "records    7 " "verify counts batch records" && contains "$WORK/out" "100 messages in batch records" "verify counts their messages"
expect 0 "$SHMCTL" stat "$M" --json
json "$WORK/out" "'message_batches' in d['layout']['features'] and d['totals']['committed'] == 7" "stat shows the feature; counters count records"
expect 0 "$SHMCTL" read "$M" --group g
[ "$(wc -l <"$WORK/out")" -eq 100 ] && [ "$(sed -n '100p' "$WORK/out" | cut -c1-11)" = "record 99 x" ] && pass "read gets one line per message, in order" || fail "batch read: $(wc -l <"$WORK/out") lines"
expect 1 "$SHMCTL" write "$C" --count 2 --size 8 --batch 2
contains "$WORK/err" "create it with shmctl create --batches" "write --batch on a ring without batches says how to fix it"

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
[ -n "$row" ] && echo "$row" | grep -q ' 1\.2 .*64 KiB' && pass "ls lists the ring with version and capacity" || fail "ls row for $R: '$row' in $(cat "$WORK/out")"
echo "$row" | grep -Eq 'no live participant for [0-9.]+(ms|s|m[0-9]+s)' && pass "ls says for how long a ring had no live participant" || fail "ls idle time for $R: '$row'"

mkdir "$DIR"
expect 0 "$SHMCTL" create "$DIR/good" --capacity 8K --group x
echo "not a ring" >"$DIR/junk.txt"
cp "$DIR/good" "$DIR/broken"
printf '\xff' | dd of="$DIR/broken" bs=1 seek=24 conv=notrunc status=none  # a superblock byte
expect 0 "$SHMCTL" ls "$DIR"
grep -q '^good .* 8 KiB' "$WORK/out" && pass "ls DIR lists a ring by path" || fail "ls DIR: $(cat "$WORK/out")"
grep -q 'junk' "$WORK/out" && fail "ls DIR shows a non-ring file" || pass "ls DIR skips non-rings"
grep -q '^broken .*error: ' "$WORK/out" && pass "ls DIR shows an invalid ring with its error" || fail "ls DIR broken: $(cat "$WORK/out")"
head -c 100 "$DIR/good" >"$DIR/truncated"              # has the magic, shorter than a superblock
head -c 8192 "$DIR/good" >"$DIR/truncated-more"        # a whole superblock, cut data area
expect 0 "$SHMCTL" ls "$DIR"
grep -q '^truncated .*error: .*file size' "$WORK/out" && pass "ls DIR lists a file with the magic cut short with its error" || fail "ls DIR truncated: $(cat "$WORK/out")"
grep -q '^truncated-more .*error: .*file size' "$WORK/out" && pass "ls DIR lists a truncated ring with its error" || fail "ls DIR truncated-more: $(cat "$WORK/out")"
expect 1 "$SHMCTL" stat "$DIR/broken" && contains "$WORK/err" "shmctl: ring $DIR/broken: superblock field" "stat names the corrupt field"

# --- verify: a clean ring, then a corrupted copy ----------------------------------------
V="$PFX-verify"
expect 0 "$SHMCTL" create "$V" --capacity 64K --group g --group keep
expect 0 "$SHMCTL" write "$V" --count 10 --size 30
expect 0 "$SHMCTL" verify "$V" && contains "$WORK/out" "result     ok" "verify: clean ring exits 0"
contains "$WORK/out" "records    10 (300 payload bytes)" "verify counts the records and payload bytes walked"
contains "$WORK/out" "in flight  0" "verify reports in-flight records"
expect 0 "$SHMCTL" verify "$V" --json
json "$WORK/out" 'd["schema"] == "shmring.verify/1" and d["ok"] and d["problems"] == [] and d["records"] == 10 and d["bytes"] == 300 and d["to"] - d["from"] == d["walked_bytes"] == 640' "verify --json on a clean ring"
# Positions of the records, from the group that is read (group keep still holds them all).
expect 0 "$SHMCTL" read "$V" --group g --format hex
pos4=$(sed -n '4s/ .*//p' "$WORK/out")
pos7=$(sed -n '7s/ .*//p' "$WORK/out")
# corrupt FILE POS OFFSET BYTE: overwrite one byte of the record at POS (OFFSET from its header);
# the data area starts at the superblock's data_offset (u64 at byte 88), capacity is at 40.
corrupt() {
  python3 - "$@" <<'PY'
import struct, sys
path, pos, off, byte = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(path, "r+b") as f:
    sb = f.read(128)
    cap, = struct.unpack_from("<Q", sb, 40)
    data, = struct.unpack_from("<Q", sb, 88)
    at = data + pos % cap + off
    f.seek(at)
    old = f.read(1)[0]
    f.seek(at)
    f.write(bytes([old ^ 0xFF]) if byte == "flip" else bytes.fromhex(byte))
PY
}
VC="/dev/shm/$PFX-verify-copy"
cp "/dev/shm/$V" "$VC"
corrupt "$VC" "$pos4" 37 flip  # a payload byte (header is 32 bytes)
expect 1 "$SHMCTL" verify "$VC" && contains "$WORK/out" "position $pos4: checksum mismatch" "verify: a corrupted payload byte exits 1 naming the position and checksum"
[ "$(grep -c '^  position ' "$WORK/out")" -eq 1 ] && pass "verify reports exactly one problem" || fail "verify problems: $(cat "$WORK/out")"
contains "$WORK/err" "1 problem found" "verify says on stderr that it found a problem"
expect 1 "$SHMCTL" verify "$VC" --json
json "$WORK/out" 'not d["ok"] and len(d["problems"]) == 1 and d["problems"][0].startswith("position '"$pos4"': checksum mismatch")' "verify --json lists the problem"
corrupt "$VC" "$pos7" 19 ff  # the top byte of the record's len: an impossible length
expect 1 "$SHMCTL" verify "$VC" && contains "$WORK/out" "position $pos7: unreadable header" "verify: a corrupt header is reported at its position"
expect 0 "$SHMCTL" verify "$V" && pass "the original ring still verifies"

# --- read tells what it could not deliver: corrupt records, records overwritten ------------
L="$PFX-loss"
expect 0 "$SHMCTL" create "$L" --capacity 64K --group g --group j
expect 0 "$SHMCTL" write "$L" --count 5 --size 30
expect 0 "$SHMCTL" read "$L" --format hex  # a peek: positions, no cursor moved
pos3=$(sed -n '3s/ .*//p' "$WORK/out")
expect 0 "$SHMCTL" read "$L" && [ ! -s "$WORK/err" ] && pass "a peek of a clean ring says nothing on stderr" || fail "clean peek stderr: $(cat "$WORK/err")"
corrupt "/dev/shm/$L" "$pos3" 40 flip  # a payload byte of the third record
expect 0 "$SHMCTL" read "$L"
[ "$(wc -l <"$WORK/out")" -eq 4 ] && contains "$WORK/err" "the peek left out damaged records" "a peek says it left out a damaged record"
contains "$WORK/err" "position $pos3: checksum mismatch" "the peek names the damaged record"
expect 0 "$SHMCTL" read "$L" --group g
[ "$(wc -l <"$WORK/out")" -eq 4 ] && pass "read --group delivers the 4 intact records" || fail "read --group after corruption: $(cat "$WORK/out")"
contains "$WORK/err" "group 'g' lost records during this read: 1 skipped as corrupt, 0 overwritten" "read --group says it skipped a corrupt record"
expect 0 "$SHMCTL" read "$L" --group j --format json
[ "$(grep -c '"payload"' "$WORK/out")" -eq 4 ] && pass "read --format json: 4 records" || fail "json read: $(cat "$WORK/out")"
json_lines() {  # json_lines FILE PYTHON-EXPR-ON-ls WHAT: ls is the list of parsed lines
  if python3 -c "import json,sys; ls=[json.loads(l) for l in open(sys.argv[1])]; sys.exit(0 if ($2) else 1)" "$1"; then pass "$3"; else fail "$3: ($2) is false for $(cat "$1")"; fi
}
json_lines "$WORK/out" '[l for l in ls if "notice" in l] == [{"notice": "records_lost", "group": "j", "corrupt": 1, "overwritten": 0}]' "read --format json reports the loss as a notice object"
expect 0 "$SHMCTL" read "$L" --group g && [ ! -s "$WORK/err" ] && pass "a read that loses nothing says nothing" || fail "quiet read: $(cat "$WORK/err")"

# An overwrite ring laps a paused reader: what it lost is reported, and adds up.
O="$PFX-lapped"
expect 0 "$SHMCTL" create "$O" --capacity 4K --policy overwrite --group g
"$SHMCTL" read "$O" --group g --follow --format json >"$WORK/lapped.out" 2>"$WORK/lapped.err" &
lr=$!
BGPIDS+=("$lr")
# group_field RING EXPR: waits (up to 10 s) until EXPR holds for stat's group 0, as g.
group_field() {
  for _ in $(seq 200); do
    "$SHMCTL" stat "$1" --json >"$WORK/gf.json" 2>/dev/null &&
      python3 -c 'import json,sys; g=json.load(open(sys.argv[1]))["groups"][0]; sys.exit(0 if ('"$2"') else 1)' "$WORK/gf.json" && return 0
    sleep 0.05
  done
  return 1
}
group_field "$O" 'g["reader"]["liveness"] == "alive"' || fail "the lapped reader never showed as alive"
kill -STOP "$lr"
expect 0 "$SHMCTL" write "$O" --count 500 --size 50
kill -CONT "$lr"
group_field "$O" 'g["lag_records"] == 0' || fail "the lapped reader never caught up"
kill -TERM "$lr"
wait "$lr" || fail "lapped reader exited non-zero: $(cat "$WORK/lapped.err")"
json_lines "$WORK/lapped.out" 'sum(1 for l in ls if "payload" in l) + sum(l.get("overwritten", 0) for l in ls if "notice" in l) == 500 and any("notice" in l for l in ls)' "a lapped reader's records plus its reported overwrites are the 500 written"
contains "$WORK/lapped.err" "overwritten before they were read" "a lapped reader says on stderr that it lost records"

# --- recover: a producer killed while holding a claim ------------------------------------
K="$PFX-recover"
expect 0 "$SHMCTL" create "$K" --capacity 64K --group g
expect 0 "$SHMCTL" write "$K" --count 3 --size 30
if [ -n "$CLAIM_AND_DIE" ]; then
  claimed=$("$CLAIM_AND_DIE" "/dev/shm/$K" 100 2>"$WORK/claim.err" || true)
  [ "$claimed" = 192 ] && pass "a producer died holding a claim at position 192" || fail "claim_and_die printed '$claimed': $(cat "$WORK/claim.err")"
  expect 0 "$SHMCTL" verify "$K" --json
  json "$WORK/out" 'd["ok"] and d["in_flight"] == 1 and d["records"] == 3' "verify sees the dead producer's claim in flight"
  expect 0 "$SHMCTL" stat "$K" --json
  json "$WORK/out" '[p["liveness"] for p in d["producers"]] == ["dead"] and d["producers"][0]["pid"] > 0' "stat shows the dead producer"
  expect 0 "$SHMCTL" recover "$K" && contains "$WORK/out" "settled 1 claim of dead producers, 1 record marked abandoned" "recover settles the dead producer's claim"
  contains "$WORK/out" "abandoned  1" "recover's verify counts the abandoned record"
  contains "$WORK/out" "in flight  0" "recover leaves nothing in flight"
  contains "$WORK/out" "result     ok" "the ring verifies after recover"
  expect 0 "$SHMCTL" recover "$K" --json
  json "$WORK/out" 'd["schema"] == "shmring.recover/1" and d["claims_settled"] == 0 and d["verify"]["ok"] and d["verify"]["abandoned"] == 1' "a second recover has nothing to do (--json)"
  expect 0 "$SHMCTL" read "$K" --group g
  [ "$(wc -l <"$WORK/out")" -eq 3 ] && pass "readers step over the abandoned record" || fail "read after recover: $(cat "$WORK/out")"
  expect 0 "$SHMCTL" stat "$K" --json
  json "$WORK/out" 'd["totals"]["recoveries"] == 1 and d["groups"][0]["abandoned"] == 1' "stat counts the recovery and the abandoned record"
else
  echo "skipped: recover of a dead producer's claim (no claim_and_die helper given)"
  expect 0 "$SHMCTL" recover "$K" && contains "$WORK/out" "nothing to do" "recover on a clean ring"
fi
# --- recover: a reader killed -------------------------------------------------------------
# Its group is evicted by recover only once its heartbeat is older than evict-after, and a
# live reader's group never is. Deterministic: "before" uses an evict-after of an hour.
# start_reader RING: a --follow reader of group g in the background; waits until stat shows it alive.
start_reader() {
  "$SHMCTL" read "$1" --group g --follow >/dev/null 2>&1 &
  rdr=$!
  BGPIDS+=("$rdr")
  for _ in $(seq 100); do
    "$SHMCTL" stat "$1" --json >"$WORK/alive.json" 2>/dev/null &&
      python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["groups"][0]["reader"]["liveness"] == "alive" else 1)' "$WORK/alive.json" && return 0
    sleep 0.05
  done
  fail "reader of $1 never showed as alive"
}
for ev in 3600000 1; do
  E="$PFX-evict-$ev"
  expect 0 "$SHMCTL" create "$E" --capacity 16K --group g --evict-after "$ev"
  start_reader "$E"
  sleep 0.05  # past an evict-after of 1 ms: only the reader lock keeps the group
  expect 0 "$SHMCTL" recover "$E" --json
  json "$WORK/out" 'd["groups_evicted"] == 0' "recover leaves a live reader's group alone (evict-after $ev ms)"
  kill -KILL "$rdr"
  wait "$rdr" 2>/dev/null || true
  sleep 0.05
  expect 0 "$SHMCTL" recover "$E" --json
  if [ "$ev" = 1 ]; then
    json "$WORK/out" 'd["groups_evicted"] == 1 and "evicted" in d["state"]' "recover evicts a killed reader's group after evict-after"
    expect 0 "$SHMCTL" stat "$E" --json
    json "$WORK/out" 'd["groups"][0]["evicted"] and d["groups"][0]["evictions"] == 1 and d["totals"]["evictions"] == 1' "stat counts the eviction"
    expect 0 "$SHMCTL" recover "$E"
    contains "$WORK/out" "nothing to do" "a second recover has no group left to evict"
  else
    json "$WORK/out" 'd["groups_evicted"] == 0' "recover does not evict a killed reader's group before evict-after"
  fi
done
E="$PFX-evict-text"
expect 0 "$SHMCTL" create "$E" --capacity 16K --group g --evict-after 1
sleep 0.05
expect 0 "$SHMCTL" recover "$E" && contains "$WORK/out" "0 slots freed, 1 group evicted" "recover's text says how many groups it evicted"
expect 0 "$SHMCTL" create "$E-ow" --capacity 16K --group g --evict-after 1 --policy overwrite
sleep 0.05
expect 0 "$SHMCTL" recover "$E-ow" --json
json "$WORK/out" 'd["groups_evicted"] == 0' "recover never evicts on an overwrite ring"

expect 1 "$SHMCTL" recover "$PFX-nonexistent" && contains "$WORK/err" "$PFX-nonexistent" "recover of a missing ring: exit 1"

# --- watch: frames with rates, then in a pseudo-terminal -------------------------------
W="$PFX-watch"
expect 0 "$SHMCTL" create "$W" --capacity 256K --group g
"$SHMCTL" write "$W" --count 3000 --size 50 --rate 1000/s >/dev/null 2>&1 &
writer=$!
BGPIDS+=("$writer")
"$SHMCTL" read "$W" --group g --follow --timeout 5 >/dev/null 2>&1 &
wreader=$!
BGPIDS+=("$wreader")
sleep 0.3
expect 0 "$SHMCTL" watch "$W" --count 2 -i 0.2
cp "$WORK/out" "$WORK/watch.out"
[ "$(grep -c '^shmctl watch ' "$WORK/watch.out")" -eq 2 ] && pass "watch --count 2 prints two frames" || fail "watch frames: $(cat "$WORK/watch.out")"
[ "$(awk '$1 == "committed" && NF == 4 && $2 > 100' "$WORK/watch.out" | wc -l)" -eq 2 ] && pass "watch shows a committed rate in each frame" || fail "watch committed rates: $(grep committed "$WORK/watch.out")"
[ "$(awk '$1 == "g" && NF == 9 && $2 > 100' "$WORK/watch.out" | wc -l)" -eq 2 ] && pass "watch shows the group's delivered rate" || fail "watch group rates: $(awk '$1 == "g"' "$WORK/watch.out")"
grep -q $'\e' "$WORK/watch.out" && fail "watch wrote escape codes to a non-terminal" || pass "watch output to a pipe is plain text"
if command -v script >/dev/null 2>&1; then
  # In a pseudo-terminal: redrawn in place, 'q' quits, and the terminal is restored.
  rc=0
  (sleep 1; printf q) | SHELL=/bin/bash timeout 20 script -qfec "'$SHMCTL' watch '$W' -i 0.2; echo watch-rc=\$?; stty -a" /dev/null >"$WORK/pty.out" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] && grep -aq 'watch-rc=0' "$WORK/pty.out" && pass "watch in a terminal quits on q" || fail "watch in a pty (rc $rc): $(tr -d '\033' <"$WORK/pty.out" | tail -5)"
  [ "$(grep -ao $'\e\\[H\e\\[2J' "$WORK/pty.out" | wc -l)" -ge 2 ] && pass "watch redraws in place on a terminal" || fail "watch pty: no cursor-home/clear sequences"
  grep -aq 'q or Ctrl-C quits' "$WORK/pty.out" && pass "watch says how to quit" || fail "watch pty: no quit hint"
  if grep -aq -- '-icanon' "$WORK/pty.out" || grep -aq -- '-echo ' "$WORK/pty.out" || ! grep -aq ' icanon' "$WORK/pty.out"; then
    fail "watch left the terminal in raw mode: $(grep -a icanon "$WORK/pty.out")"
  else
    pass "watch restores the terminal"
  fi
  rates=$(tr -d '\r' <"$WORK/pty.out" | awk '$1 == "committed" && NF == 4 {print $2}' | sort -u | wc -l)
  [ "$rates" -ge 2 ] && pass "watch in a terminal shows changing rates" || fail "watch pty rates did not change: $(grep -a committed "$WORK/pty.out")"
  rc=0
  (sleep 1; printf '\003') | SHELL=/bin/bash timeout 20 script -qfec "'$SHMCTL' watch '$W' -i 0.2; echo watch-rc=\$?" /dev/null >"$WORK/pty.out" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] && grep -aq 'watch-rc=0' "$WORK/pty.out" && pass "watch in a terminal quits on Ctrl-C" || fail "watch Ctrl-C (rc $rc): $(tr -d '\033' <"$WORK/pty.out" | tail -5)"
else
  echo "skipped: watch in a pseudo-terminal (script(1) not installed; Debian package bsdutils)"
fi
wait "$writer" || true
wait "$wreader" || true
# A ring removed while watched: the frames say so.
WR="$PFX-watch-rm"
expect 0 "$SHMCTL" create "$WR" --capacity 16K --group g
"$SHMCTL" watch "$WR" -i 0.1 >"$WORK/watch-rm.out" 2>&1 &
wrm=$!
BGPIDS+=("$wrm")
for _ in $(seq 200); do grep -q '^shmctl watch ' "$WORK/watch-rm.out" && break; sleep 0.05; done
grep -q "was removed" "$WORK/watch-rm.out" && fail "watch says removed before rm"
expect 0 "$SHMCTL" rm "$WR"
for _ in $(seq 200); do grep -q "NOTE: /dev/shm/$WR was removed (shmctl rm)" "$WORK/watch-rm.out" && break; sleep 0.05; done
contains "$WORK/watch-rm.out" "NOTE: /dev/shm/$WR was removed (shmctl rm)" "watch says when its ring was removed"
kill -TERM "$wrm"
wait "$wrm" || fail "watch exited non-zero after SIGTERM"
expect 2 "$SHMCTL" watch "$W" -i 0 && contains "$WORK/err" "--interval" "watch rejects a zero interval"

# --- serve: /metrics and /healthz over loopback -----------------------------------------
S1="$PFX-serve1"
S2="$PFX-serve2"
expect 0 "$SHMCTL" create "$S1" --capacity 16K --group a --group b
expect 0 "$SHMCTL" create "$S2" --capacity 16K --group c
expect 0 "$SHMCTL" write "$S1" --count 5 --size 20
expect 2 "$SHMCTL" serve "$S1" && contains "$WORK/err" "missing --listen" "serve without --listen: exit 2"
# http PATH: GET over loopback; the status in $WORK/code, the body in $WORK/body, headers in $WORK/hdr.
http() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}' "http://127.0.0.1:$port$1" >"$WORK/code" || echo 000 >"$WORK/code"
  else
    python3 - "http://127.0.0.1:$port$1" "$WORK" <<'PY'
import sys, urllib.request, urllib.error
url, work = sys.argv[1], sys.argv[2]
try:
    r = urllib.request.urlopen(url, timeout=10); code, body, hdr = r.status, r.read(), r.headers
except urllib.error.HTTPError as e:
    code, body, hdr = e.code, e.read(), e.headers
open(work + "/code", "w").write(str(code)); open(work + "/body", "wb").write(body)
open(work + "/hdr", "w").write("".join(f"{k}: {v}\r\n" for k, v in hdr.items()))
PY
  fi
}
# serve_start RING...: starts serve on port 0 in the background, sets $server and $port.
serve_start() {
  port=""
  "$SHMCTL" serve --listen 127.0.0.1:0 "$@" >"$WORK/serve.out" 2>"$WORK/serve.err" &
  server=$!
  BGPIDS+=("$server")
  for _ in $(seq 50); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$WORK/serve.out")
    [ -n "$port" ] && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}
# cpp-httplib is required to build shmctl, so serve is always there and always tested.
if ! serve_start "$S1" "$S2"; then
  fail "serve did not print 'listening on 127.0.0.1:PORT': $(cat "$WORK/serve.out" "$WORK/serve.err")"
else
  pass "serve on port 0 printed its port ($port)"
  http /metrics
  [ "$(cat "$WORK/code")" = 200 ] && pass "GET /metrics: 200" || fail "GET /metrics: $(cat "$WORK/code")"
  grep -qi '^content-type: text/plain; version=0.0.4' "$WORK/hdr" && pass "GET /metrics: Prometheus content type" || fail "GET /metrics headers: $(cat "$WORK/hdr")"
  "$SHMCTL" metrics "$S1" "$S2" >"$WORK/metrics.cli"
  cmp -s "$WORK/body" "$WORK/metrics.cli" && pass "GET /metrics is the text of shmctl metrics" || fail "GET /metrics differs: $(diff "$WORK/metrics.cli" "$WORK/body" | head)"
  contains "$WORK/body" "shmring_committed_records_total{ring=\"$S1\"} 5" "GET /metrics has the ring's counters"
  if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <"$WORK/body" >"$WORK/promtool.out" 2>&1 && pass "promtool check metrics on GET /metrics" || fail "promtool on /metrics: $(cat "$WORK/promtool.out")"
  fi
  http /healthz
  [ "$(cat "$WORK/code")" = 503 ] && pass "GET /healthz without readers: 503" || fail "GET /healthz without readers: $(cat "$WORK/code") $(cat "$WORK/body")"
  contains "$WORK/body" "ring $S1: group a has no reader" "/healthz names each group without a reader"
  [ "$(wc -l <"$WORK/body")" -eq 3 ] && pass "/healthz: one line per reason" || fail "/healthz body: $(cat "$WORK/body")"
  readers=()
  for rg in "$S1:a" "$S1:b" "$S2:c"; do
    "$SHMCTL" read "${rg%%:*}" --group "${rg##*:}" --follow >/dev/null 2>&1 &
    readers+=($!)
    BGPIDS+=($!)
  done
  for _ in $(seq 50); do
    http /healthz
    [ "$(cat "$WORK/code")" = 200 ] && break
    sleep 0.1
  done
  [ "$(cat "$WORK/code")" = 200 ] && [ "$(cat "$WORK/body")" = ok ] && pass "GET /healthz with a live reader in every group: 200 ok" || fail "GET /healthz with readers: $(cat "$WORK/code") $(cat "$WORK/body")"
  kill "${readers[1]}"
  wait "${readers[1]}" || true
  http /healthz
  [ "$(cat "$WORK/code")" = 503 ] && grep -qx "ring $S1: group b has no reader" "$WORK/body" && pass "/healthz: 503 once a group loses its reader" || fail "/healthz after a reader left: $(cat "$WORK/code") $(cat "$WORK/body")"
  kill "${readers[0]}" "${readers[2]}"
  wait "${readers[0]}" "${readers[2]}" || true
  kill -TERM "$server"
  rc=0
  wait "$server" || rc=$?
  [ "$rc" -eq 0 ] && pass "serve stops on SIGTERM with exit 0" || fail "serve exit status after SIGTERM: $rc; $(cat "$WORK/serve.err")"
  # A ring that fails verify is unhealthy, and each problem is a line.
  if serve_start "$VC"; then
    http /healthz
    [ "$(cat "$WORK/code")" = 503 ] && grep -q "verify: position $pos4: checksum mismatch" "$WORK/body" && pass "/healthz: 503 naming the verify problem" || fail "/healthz on a corrupt ring: $(cat "$WORK/code") $(cat "$WORK/body")"
    kill -INT "$server"
    rc=0
    wait "$server" || rc=$?
    [ "$rc" -eq 0 ] && pass "serve stops on SIGINT with exit 0" || fail "serve exit status after SIGINT: $rc"
  else
    fail "serve on the corrupt copy did not start: $(cat "$WORK/serve.err")"
  fi
fi
expect 1 "$SHMCTL" serve --listen 127.0.0.1:0 "$PFX-nonexistent" && contains "$WORK/err" "$PFX-nonexistent" "serve of a missing ring: exit 1"

# --- errors and usage ---------------------------------------------------------------------
expect 1 "$SHMCTL" stat "$PFX-nonexistent" && contains "$WORK/err" "shmctl: open ring /dev/shm/$PFX-nonexistent" "nonexistent ring: exit 1 naming it"
expect 1 "$SHMCTL" create "$PFX-bad" --capacity 1000 && contains "$WORK/err" "capacity 1000" "bad capacity: exit 1 naming it"
[ ! -e "/dev/shm/$PFX-bad" ] && pass "failed create leaves no file" || fail "failed create left a file"
# Rings of 32 GiB .. 1 TiB pass validation (the default max_record used to overflow its u32
# field). On a 1 MiB tmpfs of its own (a user and mount namespace) tmpfs refuses the
# allocation up front with ENOSPC, so nothing large is ever allocated.
if unshare -rm true 2>/dev/null; then
  for cap in 32G 1T; do
    rc=0
    unshare -rm sh -c 'mount -t tmpfs -o size=1m shmctl-test "$1" && exec "$2" create "$1/big" --capacity "$3"' sh "$WORK" "$SHMCTL" "$cap" >"$WORK/out" 2>"$WORK/err" || rc=$?
    [ "$rc" -eq 1 ] && grep -q "no space for" "$WORK/err" && ! grep -q max_record "$WORK/err" &&
      pass "create --capacity $cap passes validation (refused only for space)" || fail "create --capacity $cap (rc $rc): $(cat "$WORK/err")"
  done
else
  echo "skipped: create of a 32G/1T ring on a small private tmpfs (unshare -rm not permitted here)"
fi
expect 2 "$SHMCTL" create "$PFX-bad" --capacity lots && contains "$WORK/err" "--capacity 'lots'" "unparsable size: exit 2"
expect 2 "$SHMCTL" stat "$R" --bogus && contains "$WORK/err" "unknown option '--bogus'" "unknown option: exit 2 naming it"
contains "$WORK/err" "usage: shmctl stat" "usage hint on a usage error"
expect 2 "$SHMCTL" frobnicate && contains "$WORK/err" "unknown command 'frobnicate'" "unknown command: exit 2"
expect 2 "$SHMCTL" read "$R" --follow && contains "$WORK/err" "--follow needs --group" "peek with --follow: exit 2"
# A peek copies records and moves no cursor: the group still gets them afterwards.
P="$PFX-peek"
"$SHMCTL" create "$P" --capacity 64K --group g >/dev/null
printf 'p1\np2\np3\n' | "$SHMCTL" write "$P" 2>/dev/null
expect 0 "$SHMCTL" read "$P" --max 2
[ "$(cat "$WORK/out")" = "$(printf 'p1\np2')" ] && pass "read without --group peeks the oldest records" || fail "peek printed: $(cat "$WORK/out")"
expect 0 "$SHMCTL" read "$P" --group g
[ "$(cat "$WORK/out")" = "$(printf 'p1\np2\np3')" ] && pass "a peek moved no cursor: the group reads every record after it" ||
  fail "group read after a peek: $(cat "$WORK/out")"
"$SHMCTL" rm "$P" >/dev/null
expect 2 "$SHMCTL" create && contains "$WORK/err" "missing RING" "missing argument: exit 2"
expect 1 "$SHMCTL" create "$R" --capacity 64K && contains "$WORK/err" "exists" "create over an existing ring: exit 1"

# --- help -------------------------------------------------------------------------------
for cmd in create write read ls stat metrics rm group verify recover watch serve; do
  expect 0 "$SHMCTL" help "$cmd"
  for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES; do
    grep -q "^$section\$" "$WORK/out" || fail "help $cmd lacks $section"
  done
done
pass "help pages have every section"
expect 0 "$SHMCTL" write --help && contains "$WORK/out" "shmctl write RING" "COMMAND --help"
expect 0 "$SHMCTL" help
for cmd in verify recover watch serve; do grep -q "^    $cmd " "$WORK/out" || fail "help overview lacks $cmd"; done
expect 2 "$SHMCTL" help frobnicate

# --- rm -----------------------------------------------------------------------------------
expect 0 "$SHMCTL" rm "$R" "$C" "$J"
[ ! -e "/dev/shm/$R" ] && pass "rm removes the ring" || fail "rm left /dev/shm/$R"
expect 1 "$SHMCTL" rm "$R" && contains "$WORK/err" "no such ring" "rm of a missing ring: exit 1"
# rm removes only rings: other files are refused and kept; a broken ring needs --force.
echo "precious" >"$DIR/notaring.txt"
expect 1 "$SHMCTL" rm "$DIR/notaring.txt" && contains "$WORK/err" "rm $DIR/notaring.txt: not a shmring ring" "rm refuses a file that is not a ring"
[ "$(cat "$DIR/notaring.txt")" = precious ] && pass "rm kept the non-ring file" || fail "rm removed or changed $DIR/notaring.txt"
ln -s "$DIR/good" "$DIR/link"
expect 1 "$SHMCTL" rm "$DIR/link" && contains "$WORK/err" "not a shmring ring" "rm refuses a symlink to a ring"
[ -L "$DIR/link" ] && [ -f "$DIR/good" ] && pass "rm kept the symlink and its ring" || fail "rm through a symlink removed something"
expect 1 "$SHMCTL" rm "$DIR/truncated" && contains "$WORK/err" "has the ring magic but fails validation" "rm refuses a broken ring without --force"
contains "$WORK/err" "use rm --force" "rm says how to remove a broken ring"
[ -f "$DIR/truncated" ] && pass "rm kept the broken ring" || fail "rm removed $DIR/truncated without --force"
expect 1 "$SHMCTL" rm --force "$DIR/notaring.txt" && [ -f "$DIR/notaring.txt" ] && pass "rm --force still refuses a non-ring" || fail "rm --force removed a non-ring"
expect 0 "$SHMCTL" rm --force "$DIR/truncated" "$DIR/broken"
[ ! -e "$DIR/truncated" ] && [ ! -e "$DIR/broken" ] && pass "rm --force removes broken rings" || fail "rm --force left a broken ring"

if [ "$FAILS" -ne 0 ]; then
  echo "$FAILS check(s) failed" >&2
  exit 1
fi
echo "all shmctl checks passed"
