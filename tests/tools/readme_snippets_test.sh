#!/usr/bin/env bash
# Builds and runs the C and Python examples of README.md against the built library,
# so the README cannot drift from the API.
#   readme_snippets_test.sh README INCLUDE_DIR LIBSHMRING_SO PYTHON_PACKAGE_DIR
set -euo pipefail
readme=$1 include=$2 lib=$3 pydir=$4
work=$(mktemp -d)
trap 'rm -rf "$work"; rm -f /dev/shm/readme-c /dev/shm/readme-py' EXIT
extract() {  # extract LANG: the first fenced block of that language
  awk -v lang="$1" '$0 == "```" lang {on=1; next} on && $0 == "```" {exit} on {print}' "$readme"
}
extract c > "$work/example.c"
extract python > "$work/example.py"
[[ -s $work/example.c && -s $work/example.py ]] || { echo "README has no C or Python example"; exit 1; }
libdir=$(dirname "$lib")
cc -std=c99 -Wall -Werror -I"$include" "$work/example.c" -L"$libdir" -l:"$(basename "$lib")" -o "$work/example"
out=$(LD_LIBRARY_PATH=$libdir "$work/example")
[[ $out == "hello from C" ]] || { echo "C example printed: $out"; exit 1; }
out=$(SHMRING_LIBRARY=$lib PYTHONPATH=$pydir python3 "$work/example.py")
[[ $out == *"b'hello from Python'"* ]] || { echo "Python example printed: $out"; exit 1; }
echo "README C and Python examples ran"
