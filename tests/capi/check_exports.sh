#!/bin/sh
# The shared library exports only the C API (shmring_*, versions SHMRING_1.0 and 1.1)
# and the C++ API (shmring::*, version SHMRING_CXX_1.0), and has SONAME libshmring.so.1.
# usage: check_exports.sh /path/to/libshmring.so.1
set -eu
lib=$1
objdump -p "$lib" | grep -q 'SONAME *libshmring\.so\.1$' || { echo "bad SONAME"; exit 1; }
syms=$(nm -D --defined-only "$lib" | awk '{print $3}')
bad=$(echo "$syms" | grep -v '^shmring_[a-z_]*@@SHMRING_1\.[01]$' | grep -v '@@SHMRING_CXX_1\.0$' |
      grep -v '^SHMRING_1\.[01]$' | grep -v '^SHMRING_CXX_1\.0$' || true)
if [ -n "$bad" ]; then echo "unexpected exports:"; echo "$bad" | c++filt; exit 1; fi
cxx=$(echo "$syms" | grep '@@SHMRING_CXX_1\.0$' | sed 's/@@.*//' | c++filt | grep -v -e '^shmring::' \
      -e '^typeinfo for shmring::' -e '^typeinfo name for shmring::' -e '^vtable for shmring::' || true)
if [ -n "$cxx" ]; then echo "non-shmring C++ exports:"; echo "$cxx"; exit 1; fi
for f in shmring_ring_open shmring_producer_write shmring_reader_poll shmring_last_error; do
  echo "$syms" | grep -q "^$f@@SHMRING_1\.0$" || { echo "missing $f"; exit 1; }
done
# Functions added in 1.1 live in their own node (spec/C_API.md, "Stability promise").
echo "$syms" | grep -q "^shmring_producer_write_messages@@SHMRING_1\.1$" || { echo "missing write_messages@SHMRING_1.1"; exit 1; }
echo "check_exports: $(echo "$syms" | wc -l) symbols, all intended"
