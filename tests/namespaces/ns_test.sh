#!/usr/bin/env bash
# The Kubernetes Pod model of deploy/k8s, on one machine, in real Linux namespaces.
#
#   ns_test.sh SHMCTL SHMRING_DEMO CLAIM_AND_DIE   (as root; exits 77 = skipped when it cannot run)
#
# SHMCTL and SHMRING_DEMO must be BUILD/tools/shmctl/shmctl and BUILD/tools/demo/shmring-demo
# of one build tree: deploy/docker/install.sh stages them into the "image" as the
# Dockerfile does. Under CI (CI=true, as root, after scripts/deps.sh test) every check must
# run: a check that cannot run there fails instead of skipping.
#
# A Pod's containers share a memory-backed emptyDir mounted at /dev/shm, and
# nothing else: each has its own mount, PID and UTS namespace (and, under a
# user-namespaced runtime, its own user namespace) and may run as its own uid.
# Here a "container" is `unshare --mount --uts --pid --fork --mount-proc`
# (plus --user --map-root-user when the kernel allows it) whose /dev/shm is a
# bind mount of one shared tmpfs directory; rings are addressed by the path
# /dev/shm/NAME (a PATH containing '/'). The test shows, each step a numbered check:
#   1. deploy/docker/install.sh (the Dockerfile's steps) installs the runtime packages and
#      stages the binaries, which need only the shared libraries of those packages;
#   2. records flow from a producer container to a consumer container, byte for byte;
#      the two have different PID namespaces, and `shmctl stat --json` records which;
#   3. SIGKILL of the producer container's init mid-stream: stat shows the producer
#      dead (the OS-released lock, not its pid, tells), the consumer is not wedged and
#      delivers every committed record in order (claims, if any, reclaimed and counted);
#      and a producer container that dies holding a claim (CLAIM_AND_DIE) has that claim
#      reclaimed by the consumer in another PID namespace, counted as abandoned;
#   4. SIGKILL of the consumer container: producers that need room evict its group, but
#      not before --evict-after (a 10-minute --evict-after is not evicted by a writer that
#      gives up after 1 s, and the 300 ms group is evicted with a heartbeat >= 300 ms old);
#      a new consumer container resumes from the group's cursor and is
#      told how many records it lost (stat's overwritten counter says the same);
#   5. a container running as another uid without the ring's group cannot attach
#      (exit 1, "permission denied (EACCES)"); one with the group (fsGroup) can;
#   6. a too-small tmpfs (a forgotten sizeLimit) makes `create` fail with ENOSPC and the
#      64 MiB advice, exit 1, no SIGBUS, no file left behind;
#   7. shmring-demo (forking producers and a consumer) runs inside a container;
#   8. (run before 7) a drain idling on its eventfd doorbell is woken across PID namespaces;
#   9. the Pod's uid model: producer uid 10001 and consumer uid 10002, each with its own
#      primary group, sharing only supplementary group 2000; ring 0660. (a) In a setgid
#      tmpfs directory of group 2000 (what fsGroup makes) and (b) in a sticky 1777 one
#      without setgid (compose's tmpfs volume): records flow, the consumer's doorbell is
#      rung across the uids (bell_failures 0), and a third uid with group 2000 runs
#      `shmctl stat` and `shmctl serve` (/healthz 200) from a read-only mount of the dir.
# Every wait polls for a condition with a generous deadline; no sleep is an assertion.
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[[ $# -eq 3 ]] || { echo "usage: $0 SHMCTL SHMRING_DEMO CLAIM_AND_DIE" >&2; exit 2; }
SHMCTL_IN=$(readlink -f "$1")
DEMO_IN=$(readlink -f "$2")
CLAIM_IN=$(readlink -f "$3")
SELF=$(readlink -f "$0")
INSTALL_SH=$(dirname "$SELF")/../../deploy/docker/install.sh
BUILD_IN=${SHMCTL_IN%/tools/shmctl/shmctl}
[[ -x $SHMCTL_IN && -x $DEMO_IN && -x $CLAIM_IN ]] ||
  { echo "not executable: $SHMCTL_IN, $DEMO_IN or $CLAIM_IN" >&2; exit 2; }
[[ $DEMO_IN == "$BUILD_IN/tools/demo/shmring-demo" ]] ||
  { echo "expected BUILD/tools/shmctl/shmctl and BUILD/tools/demo/shmring-demo, found $SHMCTL_IN and $DEMO_IN" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || skip "needs root (unshare --pid/--mount, mount -t tmpfs, setpriv)"
for tool in unshare setpriv mount python3 ldd; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done

# Run the whole test in a private mount namespace: the tmpfs mounts below vanish with
# it, whatever happens to this script.
if [[ -z ${SHMRING_NS_TEST_INNER:-} ]]; then
  unshare --mount --propagation private true 2>/dev/null || skip "unshare --mount does not work here"
  unshare --mount --uts --pid --fork --mount-proc --propagation private true 2>/dev/null ||
    skip "unshare --pid --fork --mount-proc does not work here (no CAP_SYS_ADMIN, or seccomp)"
  export SHMRING_NS_TEST_INNER=1
  exec unshare --mount --propagation private bash "$SELF" "$@"
fi

WORK=$(mktemp -d /tmp/shmring-ns.XXXXXX)
chmod 0755 "$WORK"
SHM=$WORK/shm             # the Pod's emptyDir {medium: Memory}: what containers share
BIN=$WORK/bin             # the "image": binaries any uid may run
mkdir -p "$SHM" "$BIN" "$WORK/log"
declare -a CONTAINERS=()  # host pids of the unshare processes started in the background

cleanup() {
  local rc=$?
  local init
  for p in "${CONTAINERS[@]}"; do
    init=$(init_of "$p" 2>/dev/null) && kill -KILL "$init" 2>/dev/null
    kill -KILL "$p" 2>/dev/null || true
  done
  for p in "${CONTAINERS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ $rc -ne 0 && $rc -ne 77 ]]; then
    echo "--- logs of the failed run ($WORK/log):"
    for f in "$WORK"/log/*; do [[ -s $f ]] && { echo "== $f"; tail -n 20 "$f"; }; done
  fi
  umount "$SHM" "$WORK"/pod-* 2>/dev/null || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
# cannot_run CHECK REASON: a check that must run under CI (CI=true: root, scripts/deps.sh
# test installed everything) fails there; elsewhere it is skipped, loudly.
cannot_run() {
  [[ ${CI:-} != true ]] || fail "$1 cannot run under CI, where it must: $2"
  echo "SKIP $1: $2" | tee /dev/stderr
}

# wait_for DESCRIPTION SECONDS COMMAND...: poll COMMAND every 50 ms until it succeeds.
wait_for() {
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < deadline)) || fail "timed out after ${secs}s waiting for: $what"
    sleep 0.05
  done
}

mount -t tmpfs -o size=64m,mode=1777 shmring-ns-test "$SHM"
# The image's install steps (deploy/docker/install.sh, which the Dockerfile RUNs): its
# runtime packages (installed if missing), and shmctl + shmring-demo staged into $BIN.
sh "$INSTALL_SH" deps runtime || fail "install.sh deps runtime failed"
sh "$INSTALL_SH" stage "$BUILD_IN" "$WORK" || fail "install.sh stage $BUILD_IN failed"
install -m 0755 "$CLAIM_IN" "$BIN/claim-and-die"
SHMCTL=$BIN/shmctl

# User namespaces: used for the root containers when the kernel allows it.
USERNS=()
if unshare --user --map-root-user --mount --pid --fork --mount-proc --propagation private \
  sh -c 'mount --bind "$0" /dev/shm' "$SHM" 2>/dev/null; then
  USERNS=(--user --map-root-user)
  echo "containers get their own user namespace too (uid 0 inside maps to uid 0 outside)"
else
  echo "note: user namespaces are not available here; containers share the user namespace"
fi

# The command line of a container: its own mount, UTS and PID namespaces (and user, if
# $1 is 'userns'), hostname $2, the shared tmpfs bind-mounted at /dev/shm, cwd /.
# SHM_SRC (default $SHM) is the directory to mount there, read-only if SHM_RO=ro.
container_cmd() {
  local userns=$1 name=$2
  # --pdeathsig: the container's unshare gets SIGKILL if this script dies, however it dies.
  CMD=(setpriv --pdeathsig KILL unshare)
  [[ $userns == userns ]] && CMD+=("${USERNS[@]}")
  # --kill-child: if the unshare process dies, its child (the container's init) gets
  # SIGKILL, and with it the whole PID namespace: no container outlives the test.
  CMD+=(--mount --uts --pid --fork --kill-child --mount-proc --propagation private
        sh -c 'mount --bind "$0" /dev/shm && { [ "$2" != ro ] || mount -o remount,bind,ro /dev/shm; } &&
               hostname "$1" && cd / && shift 2 && exec "$@"' "${SHM_SRC:-$SHM}" "$name" "${SHM_RO:-rw}")
}

# start_container VAR userns|host NAME STDIN COMMAND...: runs in the background; VAR gets
# the host pid of the unshare process; the container's init (pid 1 inside) is its child.
start_container() {
  local var=$1 userns=$2 name=$3 in=$4; shift 4
  container_cmd "$userns" "$name"
  "${CMD[@]}" "$@" <"$in" >"$WORK/log/$name.out" 2>"$WORK/log/$name.err" &
  local pid=$!
  CONTAINERS+=("$pid")
  printf -v "$var" '%s' "$pid"
}

# run_container userns|host NAME COMMAND...: in the foreground; returns its exit status.
run_container() {
  local userns=$1 name=$2; shift 2
  container_cmd "$userns" "$name"
  local rc=0
  "${CMD[@]}" "$@" </dev/null >"$WORK/log/$name.out" 2>"$WORK/log/$name.err" || rc=$?
  return "$rc"
}

init_of() {  # host pid of the init (pid 1) of the container started as unshare pid $1
  local kids
  kids=$(cat "/proc/$1/task/$1/children" 2>/dev/null) || return 1
  [[ -n $kids ]] || return 1
  echo "${kids%% *}"
}
has_init() { init_of "$1" >/dev/null; }
pidns_of() { local l; l=$(readlink "/proc/$1/ns/pid") || return 1; l=${l#pid:[}; echo "${l%]}"; }

# Kills a container as the kubelet's SIGKILL does: its init dies, and the kernel kills
# every other process of the PID namespace with it.
kill_container() {
  local upid=$1 init
  init=$(init_of "$upid") || fail "container $upid has no init"
  kill -KILL "$init"
  local rc=0
  wait "$upid" || rc=$?
  [[ $rc -ne 0 ]] || fail "container $upid exited 0 after SIGKILL"
  local keep=() p
  for p in "${CONTAINERS[@]}"; do [[ $p == "$upid" ]] || keep+=("$p"); done
  CONTAINERS=("${keep[@]}")
}

# stat_ok RING PYTHON-EXPR: true if EXPR holds on `shmctl stat RING --json` (as d).
stat_ok() {
  "$SHMCTL" stat "$1" --json >"$WORK/stat.json" 2>"$WORK/log/stat.err" || return 1
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' \
    "$WORK/stat.json" "$2" 2>>"$WORK/log/stat.err"
}
# stat_get RING PYTHON-EXPR: prints EXPR evaluated on the stat JSON.
stat_get() {
  "$SHMCTL" stat "$1" --json >"$WORK/stat.json" || fail "shmctl stat $1 failed"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("(" + sys.argv[2] + ")"))' "$WORK/stat.json" "$2"
}
lines() { if [[ -f $1 ]]; then wc -l <"$1"; else echo 0; fi; }
at_least_lines() { (($(lines "$1") >= $2)); }
exited() { ! kill -0 "$1" 2>/dev/null; }

# --- 1. the image's shared libraries --------------------------------------------------
# (ldd's output captured first: under pipefail, grep -q exiting early could fail the pipe)
shmctl_libs=$(ldd "$SHMCTL")
if grep -Eq 'lib(a|t|ub)san' <<<"$shmctl_libs"; then
  # Not a missing tool: a sanitizer build loads its runtime, which no image ships.
  echo "SKIP 1: sanitizer build (its runtime library is no image's); the release build's run checks it" | tee /dev/stderr
elif ! command -v dpkg >/dev/null; then
  cannot_run 1 "no dpkg to tell which package owns each shared library"
else
  sh "$INSTALL_SH" check-libs "$WORK" >"$WORK/log/check-libs.out" 2>&1 ||
    fail "install.sh check-libs: $(cat "$WORK/log/check-libs.out")"
  pass "1. deploy/docker/install.sh staged shmctl and shmring-demo; $(cat "$WORK/log/check-libs.out")"
fi

# --- 2. records flow between containers with different PID namespaces -----------------
"$SHMCTL" create "$SHM/flow" --capacity 64K --group agent >/dev/null
python3 -c 'import sys
for i in range(2000): print("event %d %s" % (i, "abcdefghij" * (i % 7)))' >"$WORK/input"
start_container cons userns consumer /dev/null "$SHMCTL" read /dev/shm/flow --group agent --follow
# The producer keeps its stdin open after the input so that it stays attached.
start_container prod userns producer /dev/null sh -c '(cat "$0"; exec sleep 1000000) | exec "$1" write /dev/shm/flow' \
  "$WORK/input" "$SHMCTL"
wait_for "the consumer to print all 2000 records" 60 at_least_lines "$WORK/log/consumer.out" 2000
wait_for "both containers to start" 10 has_init "$cons"
wait_for "both containers to start" 10 has_init "$prod"
cmp "$WORK/input" "$WORK/log/consumer.out" || fail "consumer output differs from producer input"
pass "2a. 2000 records went from the producer container to the consumer container unchanged"

host_ns=$(pidns_of $$)
cons_ns=$(pidns_of "$(init_of "$cons")")
prod_ns=$(pidns_of "$(init_of "$prod")")
[[ $cons_ns != "$prod_ns" && $cons_ns != "$host_ns" && $prod_ns != "$host_ns" ]] ||
  fail "pid namespaces not distinct: host $host_ns producer $prod_ns consumer $cons_ns"
wait_for "stat to show the reader's and the producer's pid namespaces" 10 stat_ok "$SHM/flow" \
  "d['groups'][0]['reader']['pidns'] == $cons_ns and d['groups'][0]['reader']['liveness'] in ('alive', 'stale')
   and any(p['pidns'] == $prod_ns and p['liveness'] in ('alive', 'stale') for p in d['producers'])"
rpid=$(stat_get "$SHM/flow" "d['groups'][0]['reader']['pid']")
ppid=$(stat_get "$SHM/flow" "[p['pid'] for p in d['producers'] if p['pidns'] == $prod_ns][0]")
pass "2b. different PID namespaces: producer pidns $prod_ns (pid $ppid inside), consumer pidns $cons_ns (pid $rpid inside), test $host_ns; stat --json shows both"
# check_serve userns|host NAME RING [COMMAND-PREFIX...]: `shmctl serve RING` in container
# NAME (run by the prefix, e.g. setpriv); /healthz must answer 200 "ok" and /metrics the
# ring's metrics.
check_serve() {
  local userns=$1 name=$2 ring=$3 srv addr; shift 3
  start_container srv "$userns" "$name" /dev/null "$@" "$SHMCTL" serve --listen 127.0.0.1:0 "$ring"
  wait_for "shmctl serve to listen" 20 grep -q 'listening on' "$WORK/log/$name.out"
  addr=$(grep -o 'listening on [^ ]*' "$WORK/log/$name.out" | head -n1 | cut -d' ' -f3)
  python3 - "$addr" <<'EOF2' || fail "shmctl serve in $name: unexpected /healthz or /metrics"
import sys, urllib.request
base = "http://" + sys.argv[1]
with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
    body = r.read().decode()
    assert r.status == 200 and body.strip() == "ok", (r.status, body)
with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
    body = r.read().decode()
    assert r.status == 200 and "shmring_" in body, body[:200]
EOF2
  kill_container "$srv"
}
# The metrics container of deploy/k8s: `shmctl serve` in a third container.
if "$SHMCTL" help serve >/dev/null 2>&1; then
  check_serve userns metrics /dev/shm/flow
  pass "2c. shmctl serve in a third container: /healthz 200 ok (the consumer's group has a live reader), /metrics served"
else
  cannot_run 2c "this shmctl has no serve command (built without cpp-httplib?)"
fi
kill_container "$prod"
kill_container "$cons"

# --- 3. the producer container is killed mid-stream -----------------------------------
"$SHMCTL" create "$SHM/crash" --capacity 64K --group agent >/dev/null
start_container cons userns consumer2 /dev/null "$SHMCTL" read /dev/shm/crash --group agent --follow
start_container prod userns producer2 /dev/null "$SHMCTL" write /dev/shm/crash --count 1000000000 --size 64 --rate 20000/s
wait_for "the consumer to receive 3000 records" 60 at_least_lines "$WORK/log/consumer2.out" 3000
wait_for "the producer container's init" 10 has_init "$prod"
prod_ns=$(pidns_of "$(init_of "$prod")")
kill_container "$prod"
wait_for "stat to show the killed producer as dead" 10 stat_ok "$SHM/crash" \
  "any(p['pidns'] == $prod_ns and p['liveness'] == 'dead' for p in d['producers'])"
pass "3a. SIGKILL of the producer container (pidns $prod_ns) mid-stream: stat shows its slot dead"
# Not wedged: the consumer catches up with everything committed (minus abandoned claims).
wait_for "the consumer to deliver every committed record" 30 stat_ok "$SHM/crash" \
  "d['groups'][0]['lag_records'] == 0 and
   d['groups'][0]['delivered'] + d['groups'][0]['abandoned'] == d['totals']['committed']"
delivered=$(stat_get "$SHM/crash" "d['groups'][0]['delivered']")
wait_for "the consumer's stdout to hold all $delivered records" 10 at_least_lines "$WORK/log/consumer2.out" "$delivered"
python3 - "$WORK/log/consumer2.out" "$delivered" <<'EOF' || fail "consumer output is not records 0 .. delivered-1 in order"
import sys
rows = open(sys.argv[1]).read().splitlines()
assert len(rows) == int(sys.argv[2]), (len(rows), sys.argv[2])
for i, r in enumerate(rows):
    assert r == ("record %d " % i).ljust(64, "x"), (i, r)
EOF
reclaims=$(stat_get "$SHM/crash" "d['totals']['reclaims']")
abandoned=$(stat_get "$SHM/crash" "d['totals']['abandoned']")
pass "3b. the consumer was not wedged: it delivered all $delivered committed records, in order, intact (claims reclaimed: $reclaims, abandoned: $abandoned)"
# A new producer container writes to the same ring; the same consumer gets it.
run_container userns producer3 sh -c 'echo after-the-crash | exec "$0" write /dev/shm/crash' "$SHMCTL" ||
  fail "a new producer could not write after the crash"
wait_for "the consumer to receive the new producer's record" 10 grep -qx after-the-crash "$WORK/log/consumer2.out"
pass "3c. a new producer container writes to the ring and the same consumer receives it"
{
  reclaims=$(stat_get "$SHM/crash" "d['totals']['reclaims']")
  abandoned=$(stat_get "$SHM/crash" "d['totals']['abandoned']")
  # This producer claims a record, half-writes it and dies with SIGKILL: the claim is
  # neither committed nor aborted, and the consumer (another PID namespace) is stuck on it.
  # (Not as the container's init: init ignores signals it sends itself, SIGKILL included.)
  rc=0
  run_container userns dier sh -c '"$0" /dev/shm/crash 40; exit $?' "$BIN/claim-and-die" || rc=$?
  [[ $rc -eq 137 ]] || fail "claim-and-die did not die by SIGKILL (exit $rc): $(cat "$WORK/log/dier.err")"
  run_container userns producer4 sh -c 'echo after-the-claim | exec "$0" write /dev/shm/crash' "$SHMCTL" ||
    fail "a producer could not write behind the dead claim"
  wait_for "the consumer to reclaim the dead claim and receive the record behind it" 15 \
    grep -qx after-the-claim "$WORK/log/consumer2.out"
  stat_ok "$SHM/crash" "d['totals']['reclaims'] == $reclaims + 1 and d['totals']['abandoned'] == $abandoned + 1" ||
    fail "reclaims/abandoned did not grow by exactly one (before: $reclaims/$abandoned, now: $(stat_get "$SHM/crash" "(d['totals']['reclaims'], d['totals']['abandoned'])"))"
  pass "3d. a producer container died holding a claim: the consumer reclaimed it (reclaims $((reclaims + 1)), abandoned $((abandoned + 1))) and received the record behind it"
}
kill_container "$cons"

# --- 4. the consumer container is killed; its group is evicted, a new one resumes ------
"$SHMCTL" create "$SHM/evict" --capacity 64K --group agent --evict-after 300 >/dev/null
start_container cons userns consumer4 /dev/null "$SHMCTL" read /dev/shm/evict --group agent --follow
python3 -c 'import sys
for i in range(100): print("early %d" % i)' >"$WORK/early"
run_container userns producer4 sh -c 'exec "$0" write /dev/shm/evict < "$1"' "$SHMCTL" "$WORK/early" ||
  fail "producer4 failed"
wait_for "the consumer to commit the first 100 records" 30 stat_ok "$SHM/evict" \
  "d['groups'][0]['delivered'] == 100 and d['groups'][0]['lag_records'] == 0"
cmp "$WORK/early" "$WORK/log/consumer4.out" || fail "consumer4 output differs from its input"
kill_container "$cons"
wait_for "stat to show the killed reader as dead" 10 stat_ok "$SHM/evict" "d['groups'][0]['reader']['liveness'] == 'dead'"
# 3000 records of 100 bytes (136 bytes each in the ring) need 6 times the capacity: the
# writer blocks until the dead group has had no reader for 300 ms, then evicts it.
run_container userns producer5 "$SHMCTL" write /dev/shm/evict --count 3000 --size 100 --timeout 20 ||
  fail "the writer could not get past the dead consumer's group: $(cat "$WORK/log/producer5.err")"
wait_for "stat to show the group evicted" 10 stat_ok "$SHM/evict" \
  "d['groups'][0]['evicted'] and d['groups'][0]['evictions'] >= 1 and d['totals']['dropped'] == 0"
# Eviction needs the group's heartbeat older than --evict-after, and the heartbeat of a
# dead reader only ages: it must be at least 300 ms old now. (4c shows the other side.)
age=$(stat_get "$SHM/evict" "d['groups'][0]['reader']['heartbeat_age_ns']")
((age >= 300000000)) || fail "group evicted although its heartbeat is only $age ns old (--evict-after 300 ms)"
pass "4a. the dead consumer's group was evicted after --evict-after 300 ms (its heartbeat is $((age / 1000000)) ms old); the writer wrote 3000 records, none dropped"
run_container userns consumer5 "$SHMCTL" read /dev/shm/evict --group agent || fail "the new consumer failed"
lost=$(stat_get "$SHM/evict" "d['groups'][0]['overwritten']")
got=$(lines "$WORK/log/consumer5.out")
((lost > 0 && got > 0 && lost + got == 3000)) || fail "new consumer: got $got + lost $lost != 3000"
grep -q "note: $lost records were overwritten while group 'agent' had no reader" "$WORK/log/consumer5.err" ||
  fail "the new consumer was not told it lost $lost records: $(cat "$WORK/log/consumer5.err")"
python3 - "$WORK/log/consumer5.out" "$lost" <<'EOF' || fail "the new consumer did not resume right after the lost records"
import sys
rows, lost = open(sys.argv[1]).read().splitlines(), int(sys.argv[2])
for k, r in enumerate(rows):
    assert r == ("record %d " % (lost + k)).ljust(100, "x"), (k, r)
EOF
stat_ok "$SHM/evict" "not d['groups'][0]['evicted'] and d['groups'][0]['lag_records'] == 0 and
  d['groups'][0]['delivered'] + d['groups'][0]['overwritten'] == d['totals']['committed'] == 3100" ||
  fail "after the new consumer: $(cat "$WORK/stat.json")"
pass "4b. a new consumer container resumed from the cursor: records $lost..2999 ($got), told it lost $lost (stat: overwritten $lost; delivered + overwritten = committed = 3100)"
# Not before --evict-after: with 10 minutes, a writer that waits 1 s for room per record
# gives up and drops (exit 1); the dead consumer's group is not evicted and keeps its records.
# 485 records of 100 bytes (136 in the ring): 481 fit in 64 KiB, each of the other 4 waits 1 s.
"$SHMCTL" create "$SHM/noevict" --capacity 64K --group agent --evict-after 600000 >/dev/null
start_container cons userns consumer6 /dev/null "$SHMCTL" read /dev/shm/noevict --group agent --follow
wait_for "consumer6 to attach" 10 stat_ok "$SHM/noevict" "d['groups'][0]['reader']['liveness'] == 'alive'"
kill_container "$cons"
wait_for "stat to show consumer6 dead" 10 stat_ok "$SHM/noevict" "d['groups'][0]['reader']['liveness'] == 'dead'"
rc=0
run_container userns producer6 "$SHMCTL" write /dev/shm/noevict --count 485 --size 100 --timeout 1 || rc=$?
[[ $rc -eq 1 ]] || fail "a writer past a dead group with --evict-after 600000: expected exit 1 (dropped), got $rc"
stat_ok "$SHM/noevict" "not d['groups'][0]['evicted'] and d['groups'][0]['evictions'] == 0 and d['totals']['dropped'] > 0
  and d['groups'][0]['overwritten'] == 0" ||
  fail "the group was evicted before --evict-after 600000 ms: $(cat "$WORK/stat.json")"
pass "4c. with --evict-after 600000 the dead consumer's group was not evicted: the writer dropped $(stat_get "$SHM/noevict" "d['totals']['dropped']") records after its 1 s timeout, exit 1"

# --- 5. permissions: another uid without the ring's group cannot attach; with it, can --
GID=4242  # the Pod's fsGroup
"$SHMCTL" create "$SHM/perm" --capacity 64K --group agent --mode 0660 >/dev/null
chgrp "$GID" "$SHM/perm"
echo hello-group | "$SHMCTL" write "$SHM/perm" 2>/dev/null
rc=0
run_container host nogroup setpriv --reuid=65534 --regid=65534 --clear-groups \
  "$SHMCTL" read /dev/shm/perm --group agent || rc=$?
[[ $rc -eq 1 ]] || fail "uid 65534 without group $GID: expected exit 1, got $rc"
grep -q 'permission denied (EACCES)' "$WORK/log/nogroup.err" ||
  fail "no clear EACCES message: $(cat "$WORK/log/nogroup.err")"
pass "5a. uid 65534 without group $GID cannot attach to the 0660 ring: exit 1, \"$(head -c 160 "$WORK/log/nogroup.err")\""
run_container host withgroup setpriv --reuid=65534 --regid=65534 --groups="$GID" \
  "$SHMCTL" read /dev/shm/perm --group agent || fail "uid 65534 with group $GID failed: $(cat "$WORK/log/withgroup.err")"
[[ $(cat "$WORK/log/withgroup.out") == hello-group ]] || fail "uid 65534 with group $GID read the wrong records"
pass "5b. uid 65534 with supplementary group $GID (an fsGroup) attaches and reads"

# --- 6. a too-small tmpfs: ENOSPC at create, never SIGBUS -----------------------------
mkdir "$WORK/small"
rc=0
unshare --mount --propagation private sh -c \
  'mount -t tmpfs -o size=1m tmpfs "$0" && { "$1" create "$0/r" --capacity 4M --group agent; rc=$?; ls -A "$0"; exit $rc; }' \
  "$WORK/small" "$SHMCTL" >"$WORK/log/small.out" 2>"$WORK/log/small.err" || rc=$?
[[ $rc -eq 1 ]] || fail "create on a 1 MiB tmpfs: expected exit 1, got $rc (135 = SIGBUS)"
grep -q ENOSPC "$WORK/log/small.err" && grep -q '64 MiB' "$WORK/log/small.err" ||
  fail "create on a 1 MiB tmpfs: unclear message: $(cat "$WORK/log/small.err")"
[[ ! -s $WORK/log/small.out ]] || fail "create on a full tmpfs left files behind: $(cat "$WORK/log/small.out")"
pass "6. a 4 MiB ring on a 1 MiB tmpfs: exit 1, nothing left behind, \"$(head -c 200 "$WORK/log/small.err")\""

# --- 8. eventfd doorbell across PID namespaces ------------------------------------------
# The consumer container drains with io_uring, idling on its doorbell (an eventfd it hands to
# producers over the socket next to the ring); producers in another PID namespace ring it.
"$SHMCTL" create "$SHM/bell" --capacity 64K --group agent >/dev/null
start_container drain userns drainer /dev/null "$SHMCTL" drain /dev/shm/bell --group agent --to - --format lines --max 3
wait_for "the drain's doorbell socket" 10 test -S "$SHM/bell.agent.bell"
for i in 1 2 3; do
  run_container userns bellprod sh -c 'echo "bell $1" | exec "$0" write /dev/shm/bell' "$SHMCTL" "$i" ||
    fail "producer container could not write"
  wait_for "the drain to deliver record $i" 10 at_least_lines "$WORK/log/drainer.out" "$i"
done
[[ $(cat "$WORK/log/drainer.out") == "$(printf 'bell 1\nbell 2\nbell 3')" ]] || fail "drain output: $(cat "$WORK/log/drainer.out")"
stat_ok "$SHM/bell" "d['totals']['wakeups'] >= 1 and d['totals']['bell_failures'] == 0" ||
  fail "no doorbell ring recorded: $(stat_get "$SHM/bell" "d['totals']")"
pass "8. a drain in one PID namespace was woken through its eventfd doorbell by producers in others ($(stat_get "$SHM/bell" "d['totals']['wakeups']") rings, 0 failures)"

# --- 9. the Pod's uid model: distinct non-root uids sharing only group 2000 --------------
# As root the test starts each container, and setpriv drops to the container's uid: the
# kubelet's runAsUser. Each uid keeps its own primary group; 2000 is supplementary only
# (fsGroup's), so what the reader creates gets group 2000 only if shmring gives it.
# as_uid UID GID: the setpriv prefix running as UID, primary group GID, supplementary 2000.
as_uid() { echo setpriv --reuid="$1" --regid="$2" --groups=2000 --inh-caps=-all --bounding-set=-all; }
# uid_model CHECK DIR-MODE PRODUCER-GID WHAT: the consumer is always 10002:10002 (+2000).
uid_model() {
  local check=$1 mode=$2 pgid=$3 what=$4 dir="$WORK/pod-$1" drain
  mkdir "$dir"
  mount -t tmpfs -o "size=4m,mode=$mode,gid=2000" "shmring-ns-$check" "$dir"
  SHM_SRC=$dir run_container host "app-$check" $(as_uid 10001 "$pgid") sh -c \
    '"$0" create /dev/shm/app --capacity 64K --group agent --mode 0660 && echo first | exec "$0" write /dev/shm/app' \
    "$SHMCTL" || fail "$check: uid 10001 could not create and write the ring: $(cat "$WORK/log/app-$check.err")"
  [[ $(stat -c '%u:%g %a' "$dir/app") == "10001:2000 660" ]] || fail "$check: ring is $(stat -c '%u:%g %a' "$dir/app")"
  SHM_SRC=$dir start_container drain host "agent-$check" /dev/null $(as_uid 10002 10002) \
    "$SHMCTL" drain /dev/shm/app --group agent --to - --format lines
  wait_for "$check: the drain's doorbell socket" 10 test -S "$dir/app.agent.bell"
  wait_for "$check: the drain to deliver the first record" 10 at_least_lines "$WORK/log/agent-$check.out" 1
  [[ $(stat -c '%u:%g %a' "$dir/app.agent.bell") == "10002:2000 660" ]] ||
    fail "$check: the doorbell socket is $(stat -c '%u:%g %a' "$dir/app.agent.bell"), expected 10002:2000 660 (the ring's group and mode)"
  for i in 1 2 3; do  # each record after the drain went idle: its doorbell must wake it
    SHM_SRC=$dir run_container host "app-$check" $(as_uid 10001 "$pgid") sh -c 'echo "bell $1" | exec "$0" write /dev/shm/app' \
      "$SHMCTL" "$i" || fail "$check: uid 10001 could not write"
    wait_for "$check: the drain to deliver record $i" 10 at_least_lines "$WORK/log/agent-$check.out" $((i + 1))
  done
  [[ $(cat "$WORK/log/agent-$check.out") == "$(printf 'first\nbell 1\nbell 2\nbell 3')" ]] ||
    fail "$check: drain output: $(cat "$WORK/log/agent-$check.out")"
  stat_ok "$dir/app" "d['totals']['wakeups'] >= 1 and d['totals']['bell_failures'] == 0" ||
    fail "$check: the producer (uid 10001) could not ring the drain's (uid 10002) doorbell: $(stat_get "$dir/app" "d['totals']")"
  # The metrics container: a third uid, the directory mounted read-only.
  SHM_SRC=$dir SHM_RO=ro run_container host "stat-$check" $(as_uid 10003 10003) sh -c \
    '! touch /dev/shm/x 2>/dev/null && exec "$0" stat /dev/shm/app' "$SHMCTL" ||
    fail "$check: shmctl stat from a read-only mount failed: $(cat "$WORK/log/stat-$check.err")"
  SHM_SRC=$dir SHM_RO=ro check_serve host "metrics-$check" /dev/shm/app $(as_uid 10003 10003)
  # The sidecar's own liveness probe of pod.yaml, run as the sidecar's uid.
  SHM_SRC=$dir run_container host "probe-$check" $(as_uid 10002 10002) \
    "$SHMCTL" health /dev/shm/app --group agent --no-verify ||
    fail "$check: the sidecar's liveness probe (shmctl health) failed: $(cat "$WORK/log/probe-$check.out" "$WORK/log/probe-$check.err" 2>/dev/null)"
  pass "$check. $what: uid 10001:$pgid -> uid 10002:10002 (only group 2000 shared), 4 records, doorbell socket 10002:2000 0660, $(stat_get "$dir/app" "d['totals']['wakeups']") rings, 0 bell failures; uid 10003 ran stat and serve (/healthz 200) from a read-only mount; the sidecar's liveness probe passed"
  kill_container "$drain"
}
# (a) The Pod: the kubelet makes the emptyDir group 2000 with the setgid bit (fsGroup), so
# the ring gets group 2000 whatever the creator's primary group.
uid_model 9a 2770 10001 "setgid directory of group 2000 (fsGroup)"
# (b) compose: a 1777 tmpfs volume, no setgid; the producer's primary group (2000) makes
# the ring's, and the socket of a reader whose primary group is 10002 gets 2000 only
# because shmring gives it the ring's group (PROTOCOL §7.2).
uid_model 9b 1777 2000 "sticky 1777 directory without setgid (compose's tmpfs volume)"

# --- 7. the demo (forking producers and a consumer) inside a container ----------------
run_container userns demo "$BIN/shmring-demo" --ring /dev/shm/demo --producers 2 --records 20000 ||
  fail "shmring-demo failed in a container: $(cat "$WORK/log/demo.err")"
grep -q "committed 40000, delivered 40000, dropped 0, corrupt 0" "$WORK/log/demo.out" || fail "demo: $(cat "$WORK/log/demo.out")"
pass "7. shmring-demo in a container: 2 producer processes -> 1 consumer process, 40000 records intact"

echo "all namespace checks passed"
