#!/usr/bin/env bash
# Validates every object of deploy/k8s/*.yaml against the Kubernetes and Prometheus Operator
# schemas with npm's kubernetes-models (deploy/validate, versions pinned by package-lock.json,
# fetched from the npm registry, as issue 8 asks), strictly: unknown keys fail. Then proves
# the validator can fail: each mutated copy of a manifest below (a misspelled key, a bad
# enum value, a wrong type, a bad quantity) must be rejected, naming the offending key or
# value. Without node/npm, or when the registry cannot be reached, it is skipped (exit 77,
# saying why), except under CI (CI=true: scripts/deps.sh test installed node and npm, and
# the runner has the network), where it fails.
#   schema_test.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1 work=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() {
  [[ ${CI:-} != true ]] || fail "$* (under CI this check must run: scripts/deps.sh test installs nodejs and npm)"
  echo "SKIP: $*"; exit 77
}
command -v node >/dev/null && command -v npm >/dev/null || skip "node/npm are not installed: schemas not checked"
major=$(node -p 'process.versions.node.split(".")[0]')
((major >= 18)) || skip "node $(node --version) is older than 18, which deploy/validate/package.json needs"
mkdir -p "$work"
cp "$src/deploy/validate/package.json" "$src/deploy/validate/package-lock.json" "$src/deploy/validate/validate.mjs" "$work/"
if ! cmp -s "$work/package-lock.json" "$work/node_modules/.package-lock.json.ci" 2>/dev/null; then
  rm -rf "$work/node_modules"
  # Bounded: one retry, 20 s per request, 120 s in all, so an offline runner gives up in
  # well under ctest's timeout with npm's own error above this line.
  if ! (cd "$work" && timeout 120 npm ci --no-audit --no-fund --loglevel=error \
        --fetch-retries=1 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=5000 --fetch-timeout=20000); then
    skip "npm ci of deploy/validate failed or took over 120 s (is the npm registry reachable?)"
  fi
  cp "$work/package-lock.json" "$work/node_modules/.package-lock.json.ci"
fi

node "$work/validate.mjs" "$src"/deploy/k8s/*.yaml || fail "the manifests of deploy/k8s do not validate (above)"

# mutate NAME FILE SED-EXPR EXPECTED: a copy of deploy/k8s/FILE changed by SED-EXPR must fail
# validation with EXPECTED in the message.
mutants=0
mutate() {
  local name=$1 file=$2 expr=$3 expected=$4 copy="$work/mutant-$1.yaml" rc=0
  sed "$expr" "$src/deploy/k8s/$file" >"$copy"
  ! cmp -s "$copy" "$src/deploy/k8s/$file" || fail "mutation $name ($expr) did not change $file"
  node "$work/validate.mjs" "$copy" >"$work/mutant.out" 2>&1 || rc=$?
  [[ $rc -eq 1 ]] || fail "mutation $name of $file ($expr) was accepted (exit $rc): $(cat "$work/mutant.out")"
  grep -q -- "$expected" "$work/mutant.out" || fail "mutation $name: the error does not name $expected: $(cat "$work/mutant.out")"
  echo "ok: $name rejected: $(grep -m1 FAIL "$work/mutant.out")"
  mutants=$((mutants + 1))
}
mutate sizeLimt pod.yaml 's/sizeLimit:/sizeLimt:/' 'unknown field "sizeLimt"'
mutate sizeLimt-deployment deployment.yaml 's/sizeLimit:/sizeLimt:/' 'spec.template.spec.volumes\[0\].emptyDir.sizeLimt: unknown field'
mutate periodSecond pod.yaml '0,/periodSeconds:/s//periodSecond:/' 'unknown field "periodSecond"'
mutate runAsUsr pod.yaml '0,/runAsUser:/s//runAsUsr:/' 'unknown field "runAsUsr"'
mutate honorLabel servicemonitor.yaml 's/honorLabels:/honorLabel:/' 'unknown field "honorLabel"'
mutate medium-Memry pod.yaml 's/medium: Memory/medium: Memry/' 'bad value "Memry"'
mutate wrong-type pod.yaml 's/runAsNonRoot: true/runAsNonRoot: "yes"/' 'runAsNonRoot: must be boolean'
mutate bad-quantity pod.yaml 's/sizeLimit: 256Mi/sizeLimit: 256MB/' 'sizeLimit: must match format "quantity"'
echo "ok: the manifests validate strictly, and all $mutants mutated copies were rejected"
