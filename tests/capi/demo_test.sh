#!/bin/sh
# The C demo's consumer and producer exchange records across processes.
# usage: demo_test.sh /path/to/shmring_c_demo
set -eu
demo=$1
ring=shmring-c-demo-test-$$
out=$(mktemp)
trap '"$demo" remove "$ring" 2>/dev/null || true; rm -f "$out"' EXIT
"$demo" create "$ring" logs
"$demo" consume "$ring" logs 1000 >"$out" &
consumer=$!
"$demo" produce "$ring" 1000
wait "$consumer"
test "$(wc -l <"$out")" -eq 1000
test "$(head -n1 "$out")" = "1 record 0"
test "$(tail -n1 "$out")" = "1 record 999"
echo "demo_test: 1000 records exchanged"
