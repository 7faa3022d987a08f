#!/usr/bin/env bash
# Lints deploy/ with yamllint (Debian package).
#   manifests_test.sh SOURCE_DIR WORK_DIR      (exits 77 = skipped when a tool is missing)
set -euo pipefail
src=$1 work=$2
skip() { echo "SKIP: $*"; exit 77; }
command -v yamllint >/dev/null || skip "yamllint is not installed (apt-get install yamllint)"
yamllint -s -c "$src/deploy/.yamllint" "$src/deploy/"
echo "ok: yamllint -s deploy/"
# Schema validation is deploy.schema (schema_test.sh).
