#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 into build/fuzz and runs each one for
# SECONDS (default 30) on a copy of its seed corpus. Exits non-zero on any finding
# (crash, sanitizer report, timeout, OOM); the input that triggered it is left in
# build/fuzz/findings/<target>/.
#   fuzz/run.sh [SECONDS] [TARGET...]
# Env: SHMRING_FUZZ_BUILD (build dir, default build/fuzz), SHMRING_FUZZ_JOBS (ninja -j, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(attach drain stats_verify recover ops)
build=${SHMRING_FUZZ_BUILD:-build/fuzz}
jobs=${SHMRING_FUZZ_JOBS:-2}

command -v clang++-14 >/dev/null || { echo "fuzz/run.sh: clang++-14 not found (apt-get install clang-14)" >&2; exit 1; }
start=$(date +%s)
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSHMRING_FUZZ=ON -DSHMRING_TESTS=OFF -DSHMRING_TOOLS=OFF >/dev/null
ninja -C "$build" -j"$jobs" $(printf 'fuzz/fuzz_%s ' "${targets[@]}")
echo "fuzz/run.sh: built in $(( $(date +%s) - start ))s"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in "${targets[@]}"; do
  work="$build/fuzz/work/$t"
  findings="$build/findings/$t"
  rm -rf "$work"
  mkdir -p "$work" "$findings"
  cp fuzz/corpus/"$t"/* "$work"/
  extra=()
  [[ $t == ops ]] && extra+=(-max_len=2048)
  [[ $t == attach ]] && extra+=(-max_len=24576)
  [[ $t == drain || $t == stats_verify || $t == recover ]] && extra+=(-max_len=6144)
  # Regression inputs first: they must pass before any new fuzzing counts.
  if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
    if ! "$build/fuzz/fuzz_$t" -runs=0 fuzz/regressions/"$t"/* >"$findings/regressions.log" 2>&1; then
      echo "fuzz/run.sh: $t: a regression input in fuzz/regressions/$t fails (log: $findings/regressions.log)" >&2
      tail -30 "$findings/regressions.log" >&2
      status=1
      continue
    fi
  fi
  log="$findings/fuzz.log"
  echo "== fuzz $t for ${seconds}s"
  if "$build/fuzz/fuzz_$t" "$work" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$findings/" "${extra[@]}" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec' "$log" | tr '\n' ' '
    echo
  else
    echo "fuzz/run.sh: $t: FINDING (log: $log, inputs: $findings/)" >&2
    grep -E 'ERROR|runtime error|finding|SUMMARY|Test unit written' "$log" | head -20 >&2
    status=1
  fi
done
echo "fuzz/run.sh: done in $(( $(date +%s) - start ))s, status $status"
exit $status
