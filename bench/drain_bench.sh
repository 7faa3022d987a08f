#!/usr/bin/env bash
# Throughput of `shmctl drain` (the sidecar) next to a plain read()/write() copy loop.
#   bench/drain_bench.sh [PATH/TO/shmctl] [REPS]     default: build-bench/tools/shmctl/shmctl, 3
# For 64 B and 1 KiB records: fill a ring with N records (not timed), then time
#   drain --format lines --to /dev/null        and   --to a file in /dev/shm (tmpfs)
#   dd bs=64K of the same bytes (payload + newline per record) to /dev/null and to tmpfs:
#   the cat-style loop (one read() and one write() per 64 KiB), the reference.
# Prints one CSV line per run (bench/results/drain.csv) and a median table (stdout).
# Wall time from `date +%s%N` around each command; the machine is not idle-checked: read the
# load average printed first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
SHMCTL=${1:-$root/build-bench/tools/shmctl/shmctl}
REPS=${2:-3}
out=${OUT_DIR:-$here/results}
[[ -x $SHMCTL ]] || { echo "drain_bench: no shmctl at $SHMCTL (build with -DSHMRING_TOOLS=ON)" >&2; exit 2; }
mkdir -p "$out"
ring="drain-bench-$$"
tmp=$(mktemp -d /dev/shm/drain-bench-XXXXXX)
trap '"$SHMCTL" rm "$ring" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

echo "date: $(date -Is); $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
csv="$out/drain.csv"
echo "size,records,target,tool,rep,seconds,records_per_s,mb_per_s" >"$csv"

now() { date +%s%N; }
run() {  # run SIZE N TARGET TOOL REP CMD...: times CMD, appends a CSV line
  local size=$1 n=$2 target=$3 tool=$4 rep=$5; shift 5
  local t0 t1 bytes
  t0=$(now); "$@"; t1=$(now)
  bytes=$((n * (size + 1)))
  python3 - "$size" "$n" "$target" "$tool" "$rep" "$t0" "$t1" "$bytes" >>"$csv" <<'EOF'
import sys
size, n, target, tool, rep, t0, t1, nbytes = sys.argv[1:]
s = (int(t1) - int(t0)) / 1e9
print("%s,%s,%s,%s,%s,%.4f,%.0f,%.1f" % (size, n, target, tool, rep, s, int(n) / s, int(nbytes) / s / 1e6))
EOF
}

for spec in 64:1000000 1024:100000; do
  size=${spec%%:*}; n=${spec#*:}
  for ((rep = 1; rep <= REPS; rep++)); do
    for target in null tmpfs; do
      dest=/dev/null; [[ $target == tmpfs ]] && dest="$tmp/out"
      rm -f "$tmp/out"
      "$SHMCTL" rm "$ring" >/dev/null 2>&1 || true
      "$SHMCTL" create "$ring" --capacity 256M --max-record 4K --group g >/dev/null
      "$SHMCTL" write "$ring" --count "$n" --size "$size" 2>/dev/null
      run "$size" "$n" "$target" drain "$rep" \
        "$SHMCTL" drain "$ring" --group g --to "$dest" --format lines --idle-exit 0 2>/dev/null
      # The reference copies the same bytes: what the drain wrote (regenerated for /dev/null).
      if [[ $target == null ]]; then
        "$SHMCTL" rm "$ring" >/dev/null
        "$SHMCTL" create "$ring" --capacity 256M --max-record 4K --group g >/dev/null
        "$SHMCTL" write "$ring" --count "$n" --size "$size" 2>/dev/null
        "$SHMCTL" drain "$ring" --group g --to "$tmp/src" --format lines --idle-exit 0 2>/dev/null
      else
        mv "$tmp/out" "$tmp/src"
      fi
      [[ $(stat -c %s "$tmp/src") == $((n * (size + 1))) ]] || { echo "drain_bench: short output" >&2; exit 1; }
      run "$size" "$n" "$target" dd-64K "$rep" dd if="$tmp/src" of="$dest" bs=64K status=none
      rm -f "$tmp/src" "$tmp/out"
    done
  done
done
"$SHMCTL" rm "$ring" >/dev/null 2>&1 || true

python3 - "$csv" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
keys = sorted({(int(r["size"]), r["target"], r["tool"]) for r in rows})
print("| record | to | tool | records/s (median) | MB/s (median) | runs |")
print("|---|---|---|---|---|---|")
for size, target, tool in keys:
    rs = [r for r in rows if (int(r["size"]), r["target"], r["tool"]) == (size, target, tool)]
    rps = statistics.median(float(r["records_per_s"]) for r in rs)
    mbs = statistics.median(float(r["mb_per_s"]) for r in rs)
    print("| %d B | %s | %s | %.2f M | %.0f | %d |" % (size, target, tool, rps / 1e6, mbs, len(rs)))
EOF
