#!/usr/bin/env bash
# The README's test command: every test, in a release build and under sanitizers.
#   1. release build: all tests (unit, property, stress, tools, install, bindings)
#   2. ASan+UBSan build: all tests except install and bindings (which test packaging)
#   3. TSan build: unit, property and stress tests
#   4. fuzz smoke: each libFuzzer target for a bounded time (fuzz/run.sh), if present
#   5. model check of the protocol with Spin (spec/check-model.sh), if present
#   6. benchmark smoke (bench/run.sh --quick): every benchmark and peer runs (not how fast)
# Env: SHMRING_STRESS_SCALE (default 2), RC_PARAMS (rapidcheck), FUZZ_SECONDS (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh bench
export SHMRING_STRESS_SCALE="${SHMRING_STRESS_SCALE:-2}"
export RC_PARAMS="${RC_PARAMS:-max_success=300}"
jobs=$(nproc)
step() { echo; echo "== $* ($(date +%T))"; }

# run_ctest ALLOWED_SKIPS COMMAND...: runs a ctest command line, and (as root, where deps.sh installed
# everything every test needs) a test that skipped itself fails the run unless its name
# matches ALLOWED_SKIPS (an extended regex; '^$' allows none): a skipped check is not a pass.
run_ctest() {
  local allowed=$1; shift
  local log; log=$(mktemp)
  local rc=0
  "$@" 2>&1 | tee "$log" || rc=$?
  [[ $rc == 0 ]] || { rm -f "$log"; return "$rc"; }
  local skipped
  skipped=$(sed -nE 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: ([^ ]+) .*\*\*\*Skipped.*/\1/p' "$log" | grep -Ev "$allowed" || true)
  rm -f "$log"
  if [[ -n $skipped && $EUID == 0 ]]; then
    echo "these tests skipped themselves, though everything they need is installed here:"
    echo "$skipped" | sed 's/^/  /'
    return 1
  fi
  [[ -z $skipped ]] || echo "note: skipped (not root, so not an error): $(echo $skipped)"
}

build() {  # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  ninja -C "$dir" -j"$jobs"
}

step "release build and all tests"
build build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMRING_TESTS=ON -DSHMRING_TOOLS=ON
# Includes Torture.KillNine: 1,000 kill -9s (fault points and random times) plus SIGSTOPs
# against 3 producer and 2 consumer processes, then exact accounting (about 70 s).
run_ctest '^$' ctest --test-dir build/release -j"$jobs" --no-tests=error --output-on-failure --timeout 900

step "ASan+UBSan build and tests"
build build/asan -DCMAKE_BUILD_TYPE=Debug -DSHMRING_SANITIZE=address -DSHMRING_TESTS=ON -DSHMRING_TOOLS=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_ctest '^$' ctest --test-dir build/asan -j"$jobs" --no-tests=error --output-on-failure --timeout 900 -LE 'install|bindings' -E '^Torture\.KillNine$'
# The torture test under ASan+UBSan too (alone: its 5 worker processes need both CPUs).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_ctest '^$' ctest --test-dir build/asan --no-tests=error --output-on-failure --timeout 900 -R '^Torture\.KillNine$'

step "TSan build and threaded/multi-process tests"
build build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHMRING_SANITIZE=thread -DSHMRING_TESTS=ON -DSHMRING_TOOLS=OFF
# TSan's shadow memory needs a fixed layout: disable ASLR for the run. Two tests skip
# themselves under TSan, each saying why: the hostile writer races on purpose, and TSan's
# runtime makes system calls on the thread the seccomp test watches.
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  run_ctest '^(HostileWriter\.|Wakeups\.AProducerMakesNoSystemCallWhileNoReaderIsParked$)' setarch "$(uname -m)" -R ctest --test-dir build/tsan -j"$jobs" --no-tests=error --output-on-failure --timeout 900 -L 'unit|property|stress'

if [[ -x fuzz/run.sh ]]; then
  step "fuzz smoke"
  bash fuzz/run.sh "${FUZZ_SECONDS:-30}"
fi
if [[ -x spec/check-model.sh ]]; then
  step "model check"
  bash spec/check-model.sh
fi
if [[ -x bench/run.sh ]]; then
  step "benchmark smoke"
  BUILD_DIR=build/bench OUT_DIR=build/bench-smoke bash bench/run.sh --quick >build/bench-smoke.log 2>&1 ||
    { tail -40 build/bench-smoke.log; echo "benchmark smoke failed (log: build/bench-smoke.log)"; exit 1; }
  # Every peer's package was installed above (deps.sh bench): a skipped peer is a failure.
  if grep -E "^# skipped peer" build/bench-smoke.log; then echo "benchmark smoke: a peer did not run"; exit 1; fi
  grep -E "results in" build/bench-smoke.log
fi
step "all tests passed"
