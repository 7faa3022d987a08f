#!/usr/bin/env bash
# Exhaustive check of spec/recovery.pml (RECOVERY.md §8) with Spin.
#   spec/check-model.sh              the CI configurations (safety + liveness, run in parallel)
#   spec/check-model.sh -DBUG_UNCONFIRMED   ... extra spin -D flags apply to every configuration
#   MODEL_ONLY=safety|liveness spec/check-model.sh   one configuration only
# Exits non-zero if any run reports errors (assertion, invalid end state, acceptance cycle),
# "max search depth too small", or does not finish. Prints the states explored.
# Needs: spin, gcc (apt-get install -y spin gcc). About 2 minutes and 3 GB on 2 cores.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v spin >/dev/null || { echo "check-model: spin not installed (apt-get install -y spin)" >&2; exit 2; }
command -v gcc >/dev/null || { echo "check-model: gcc not installed" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
extra=("$@")

# name | spin -D flags | gcc flags | pan flags   (RECOVERY.md §8.4; longest first, 2 at a time)
configs=(
  "liveness|-DEVICT -DLIVENESS -DCAP=2 -DMAXT=3 -DMAXPC=1 -DMAXRC=0 -DMAXABORT=0|-DNFAIR=3 -DCOLLAPSE|-a -f -m2000000 -w26"
  "safety|-DEVICT -DCAP=2 -DMAXT=3 -DMAXPC=1 -DMAXRC=1 -DMAXABORT=0|-DSAFETY -DCOLLAPSE|-m2000000 -w27"
  "safety-abort-p|-DEVICT -DCAP=2 -DMAXT=3 -DMAXPC=1 -DMAXRC=0 -DMAXABORT=1|-DSAFETY -DCOLLAPSE|-m2000000 -w26"
  "safety-abort-r|-DEVICT -DCAP=2 -DMAXT=3 -DMAXPC=0 -DMAXRC=1 -DMAXABORT=1|-DSAFETY -DCOLLAPSE|-m2000000 -w26"
  "safety-cap4|-DEVICT -DCAP=4 -DMAXT=5 -DMAXPC=0 -DMAXRC=0 -DMAXABORT=1|-DSAFETY -DCOLLAPSE|-m2000000 -w26"
)

run() {  # run NAME SPINFLAGS GCCFLAGS PANFLAGS
  local name=$1 sflags=$2 cflags=$3 pflags=$4 dir="$work/$1"
  mkdir -p "$dir" && cp "$here/recovery.pml" "$dir/"
  (
    cd "$dir"
    # shellcheck disable=SC2086
    spin $sflags "${extra[@]}" -a recovery.pml >spin.log 2>&1 || { cat spin.log; exit 1; }
    # shellcheck disable=SC2086
    gcc -w -O2 $cflags -o pan pan.c >gcc.log 2>&1 || { cat gcc.log; exit 1; }
    local t0=$SECONDS
    # shellcheck disable=SC2086
    ./pan $pflags >pan.log 2>&1 || true
    echo "$((SECONDS - t0))" >secs
  ) || return 1
}

pids=()
for c in "${configs[@]}"; do
  IFS='|' read -r name sflags cflags pflags <<<"$c"
  [[ -n "${MODEL_ONLY:-}" && "$MODEL_ONLY" != "$name" ]] && continue
  while (( $(jobs -rp | wc -l) >= ${MODEL_JOBS:-2} )); do wait -n || true; done
  run "$name" "$sflags" "$cflags" "$pflags" &
  pids+=("$!:$name")
done

fail=0
for entry in "${pids[@]}"; do
  pid=${entry%%:*}; name=${entry#*:}
  if ! wait "$pid"; then echo "check-model: $name: spin/gcc failed"; fail=1; continue; fi
  log="$work/$name/pan.log"
  errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$log" | tail -1)
  states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$log" | tail -1)
  echo "check-model: $name: errors=${errors:-?} states=${states:-?} time=$(cat "$work/$name/secs")s"
  if [[ -z "$errors" || "$errors" != 0 ]] || grep -q "max search depth too small" "$log" ||
     ! grep -q "states, stored" "$log"; then
    fail=1
    grep -E "assertion violated|invalid end state|acceptance cycle|max search depth|error" "$log" | head -5 || true
    if [[ -f "$work/$name/recovery.pml.trail" ]]; then
      mkdir -p "$here/../build" && cp "$work/$name/recovery.pml.trail" "$here/../build/recovery-$name.pml.trail"
      echo "check-model: trail kept in build/recovery-$name.pml.trail (replay: cd spec && cp ../build/recovery-$name.pml.trail recovery.pml.trail && spin <same -D flags> -t -p recovery.pml)"
    fi
  fi
done
exit $fail
