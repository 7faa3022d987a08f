#!/usr/bin/env bash
# Where a 64 B record's time goes: perf profiles of the producer hot path, for the
# target discussion in bench/README.md. Sampling uses the cpu-clock software event
# (KVM guests here expose no PMU: `perf stat -e cycles` says "not supported"), so
# each sample lands on the instruction after the one that stalled (skid).
#   bench/profile.sh [BUILD_DIR]     (needs linux-perf; writes bench/results/profile.txt)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${BUILD_DIR:-$(dirname "$here")/build-bench}}
micro=$build/bench/shmring-micro
out=${OUT_DIR:-$here/results}/profile.txt
command -v perf >/dev/null || { echo "profile.sh: perf not installed (apt-get install linux-perf)" >&2; exit 77; }
[[ -x $micro ]] || { echo "profile.sh: $micro not built (bench/run.sh builds it)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

profile() {  # name filter
  local name=$1 filter=$2
  echo "## $name: shmring-micro --benchmark_filter='$filter' --benchmark_min_time=1"
  perf record -q -e cpu-clock -o "$tmp/$name.data" "$micro" --benchmark_filter="$filter" --benchmark_min_time=1 2>/dev/null |
    grep '^BM_' || true
  echo
  echo "Top symbols (share of all samples, both threads):"
  perf report -i "$tmp/$name.data" --no-children --sort sym --stdio 2>/dev/null | grep '%' | grep -v '^#' | head -14
  for f in shmring::Producer::Impl::Claim shmring::Producer::Impl::CommitOne; do
    echo
    echo "Hottest instructions of $f (share of its samples; the stalled instruction is the one before):"
    perf annotate -i "$tmp/$name.data" --stdio -s "$f" 2>/dev/null |
      awk '/^ +[0-9]+\.[0-9]+ :/ {print}' | sort -rn | head -3 |
      while read -r line; do
        addr=$(sed -E 's/^ *[0-9.]+ : +([0-9a-f]+):.*/\1/' <<<"$line")
        prev=$(perf annotate -i "$tmp/$name.data" --stdio -s "$f" 2>/dev/null | grep -B1 -E " ${addr}:" | head -1 |
          sed -E 's/^ *[0-9.]+ : +[0-9a-f]+: +//')
        echo "  $line    <- after: $prev"
      done
  done
  echo
}

{
  echo "# perf profiles of the 64 B hot path ($(date -Is), $(uname -r), $(lscpu | sed -n 's/^Model name: *//p'))"
  echo
  profile producer-alone 'BM_ReserveCommit/size:64/csum:1$'
  profile cross-thread 'BM_ShmringSpsc/size:64/csum:1/'
} | tee "$out"
