#!/usr/bin/env bash
# Validates every object of deploy/k8s/*.yaml against the Kubernetes and Prometheus Operator
# schemas with npm's kubernetes-models (deploy/validate, versions pinned by package-lock.json,
# fetched from the npm registry, as issue 8 asks). Skipped (exit 77) without node/npm or when
# the registry cannot be reached; the skip says so.
#   schema_test.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1 work=$2
skip() { echo "SKIP: $*"; exit 77; }
command -v node >/dev/null && command -v npm >/dev/null || skip "node/npm are not installed: schemas not checked"
mkdir -p "$work"
cp "$src/deploy/validate/package.json" "$src/deploy/validate/package-lock.json" "$src/deploy/validate/validate.mjs" "$work/"
if [[ ! -d $work/node_modules ]]; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error) || skip "npm ci failed (registry unreachable?)"
fi
node "$work/validate.mjs" "$src"/deploy/k8s/*.yaml
