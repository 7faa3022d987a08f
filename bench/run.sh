#!/usr/bin/env bash
# Builds and runs the whole benchmark suite.
#   bench/run.sh           full run (~10 min on 2 cores): 5 repetitions, every size, every peer
#   bench/run.sh --quick   smoke (< 3 min): 1 short repetition; checks that everything runs
#   bench/run.sh --deps    also installs the Debian packages the peers need (root)
# Results: bench/results/{harness.csv,micro.json,overload_*.csv,summary.md,*.png}
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILD_DIR:-$root/build-bench}
out=${OUT_DIR:-$here/results}
mode=full
deps=0
for a in "$@"; do
  case $a in
    --quick) mode=quick ;;
    --deps) deps=1 ;;
    *) echo "usage: $0 [--quick] [--deps]" >&2; exit 2 ;;
  esac
done

if [[ $deps == 1 ]]; then
  apt-get install -y --no-install-recommends cmake ninja-build g++ pkg-config libxxhash-dev libabsl-dev \
    libbenchmark-dev libboost-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
    iceoryx libiceoryx-posh-dev libiceoryx-hoofs-dev gnuplot-nox python3 linux-perf
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSHMRING_BENCH=ON -DSHMRING_TESTS=OFF >/dev/null
ninja -j2 -C "$build" shmring-bench shmring-micro shmctl

mkdir -p "$out"
rm -f "$out"/harness.csv "$out"/overload_*.csv "$out"/*.png
{
  echo "date: $(date -Is)"
  echo "host: $(uname -srm), $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p')"
  echo "uptime: $(uptime)"
  echo "mode: $mode"
} | tee "$out/run-info.txt"

if [[ $mode == quick ]]; then
  micro_args=(--benchmark_min_time=0.01 --benchmark_filter='BM_(ReserveCommit|PollVerify|ReserveBatch16)/size:(64|4096)/|BM_(XXH3|PingPong|Memcpy|BareRingSpsc/64|ShmringSpsc/size:64/)')
  harness_args=(--quick --sizes 64,4096,65536)
else
  micro_args=(--benchmark_min_time=0.2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true)
  harness_args=(--reps 5 --duration 0.5)
fi

"$build/bench/shmring-micro" "${micro_args[@]}" --benchmark_out="$out/micro.json" --benchmark_out_format=json \
  | tee "$out/micro.txt"
"$build/bench/shmring-bench" "${harness_args[@]}" --out "$out" | tee "$out/harness.txt"
if [[ $mode == full ]]; then
  # shmctl drain next to a plain read()/write() loop (results/drain.csv, median table)
  OUT_DIR="$out" bash "$here/drain_bench.sh" "$build/tools/shmctl/shmctl" 3 | tee "$out/drain.txt"
  # Where the 64 B time goes (results/profile.txt); skipped without linux-perf.
  OUT_DIR="$out" bash "$here/profile.sh" "$build" > /dev/null || echo "# profile.sh skipped (exit $?)"
fi
echo "uptime after: $(uptime)" | tee -a "$out/run-info.txt"

python3 "$here/summarize.py" "$out" > "$out/summary.md" || echo "summarize.py failed" >&2
if command -v gnuplot >/dev/null; then
  (cd "$out" && gnuplot "$here/plot.gp") || echo "gnuplot failed" >&2
else
  echo "# gnuplot not installed (apt-get install gnuplot-nox): no PNG plots"
fi
echo "results in $out (summary.md)"
