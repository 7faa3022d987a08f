#!/bin/sh
# The shared library exports exactly the golden list (tests/capi/exports.golden):
# its SONAME, the C functions each in the version node of the release that added it,
# and the public C++ API (demangled) in SHMRING_CXX_1.0. A leaked internal, a missing
# function or one in the wrong node fails; after an intended API change, regenerate
# the list with: check_exports.sh LIB GOLDEN --print > GOLDEN (and review the diff).
# usage: check_exports.sh /path/to/libshmring.so.1 /path/to/exports.golden [--print]
set -eu
lib=$1 golden=$2
actual=$(mktemp "${TMPDIR:-/tmp}/shmring-exports.XXXXXX")
trap 'rm -f "$actual"' EXIT
{
  objdump -p "$lib" | awk '$1 == "SONAME" {print "SONAME " $2}'
  nm -D --defined-only "$lib" | awk '{print $3}' | c++filt | LC_ALL=C sort -u
} >"$actual"
if [ "${3:-}" = --print ]; then cat "$actual"; exit 0; fi
if ! diff -u "$golden" "$actual"; then
  echo "check_exports: $lib does not export what $golden says (- expected, + found)"
  exit 1
fi
echo "check_exports: $(wc -l <"$actual") lines, all as in $(basename "$golden")"
