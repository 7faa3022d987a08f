#!/bin/sh
# Installs the build tree into a temporary prefix, then builds and runs a tiny
# outside project against it: find_package(shmring) and pkg-config, C and C++,
# shared and static.
# usage: install_test.sh CMAKE_COMMAND BUILD_DIR CONSUMER_SOURCE_DIR
set -eu
cmake=$1 build=$2 src=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/shmring-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
ring=shmring-install-test-$$

echo "== cmake --install $build --prefix $prefix --component Runtime|Development"
for c in Runtime Development; do
  "$cmake" --install "$build" --prefix "$prefix" --component $c >>"$work/install.log"
done
for f in include/shmring/shmring.h include/shmring/ring.h; do test -f "$prefix/$f"; done
libdir=$(dirname "$(find "$prefix" -name libshmring.so.1 | head -n1)")
test -f "$libdir/libshmring.a" && test -L "$libdir/libshmring.so"
test -f "$libdir/cmake/shmring/shmringConfig.cmake" && test -f "$libdir/pkgconfig/shmring.pc"

echo "== find_package(shmring)"
gen=""
command -v ninja >/dev/null && gen="-GNinja"
"$cmake" -S "$src" -B "$work/cmake-build" $gen -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
"$cmake" --build "$work/cmake-build" -j2 >"$work/build.log" || { cat "$work/build.log"; exit 1; }
for exe in c_shmring c_shmring_static cxx_shmring cxx_shmring_static; do
  "$work/cmake-build/$exe" "$ring-$exe"
done
# The shared programs really use the installed libshmring.so.1 (found through the build RPATH).
ldd "$work/cmake-build/c_shmring" | grep -q "$libdir/libshmring.so.1"
if ldd "$work/cmake-build/c_shmring_static" | grep -q libshmring; then echo "static program uses libshmring.so"; exit 1; fi

echo "== find_package(shmring) from a C-only project"
"$cmake" -S "$src/../consumer_c" -B "$work/c-build" $gen -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  >"$work/c-configure.log" || { cat "$work/c-configure.log"; exit 1; }
"$cmake" --build "$work/c-build" -j2 >"$work/c-build.log" || { cat "$work/c-build.log"; exit 1; }
for exe in conly_shmring conly_shmring_static; do
  "$work/c-build/$exe" "$ring-$exe"
done
if ldd "$work/c-build/conly_shmring_static" | grep -q libshmring; then echo "static C program uses libshmring.so"; exit 1; fi

echo "== pkg-config --cflags --libs shmring"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pkg-config --cflags --libs shmring
cc=${CC:-cc} cxx=${CXX:-c++}
$cc -std=c99 -Wall -Werror "$src/main.c" -o "$work/c_pc" $(pkg-config --cflags --libs shmring)
$cxx -std=c++20 "$src/main.cc" -o "$work/cxx_pc" $(pkg-config --cflags --libs shmring)
# Static, as spec/C_API.md "Linking" says: name the archive (a plain -lshmring picks
# libshmring.so even with --static), then what --static lists without -lshmring;
# that includes -lstdc++, so the C driver links it.
$cc -std=c99 "$src/main.c" -o "$work/c_pc_static" $(pkg-config --cflags shmring) \
  "$(pkg-config --variable=libdir shmring)/libshmring.a" $(pkg-config --static --libs shmring | sed 's/-lshmring //')
$cxx -std=c++20 "$src/main.cc" -o "$work/cxx_pc_static" $(pkg-config --cflags shmring) \
  "$(pkg-config --variable=libdir shmring)/libshmring.a" $(pkg-config --static --libs shmring | sed 's/-lshmring //')
for exe in c_pc_static cxx_pc_static; do
  if ldd "$work/$exe" | grep -q libshmring; then echo "$exe uses libshmring.so"; exit 1; fi
done
LD_LIBRARY_PATH=$libdir "$work/c_pc" "$ring-c-pc"
LD_LIBRARY_PATH=$libdir "$work/cxx_pc" "$ring-cxx-pc"
"$work/c_pc_static" "$ring-c-pc-static"
"$work/cxx_pc_static" "$ring-cxx-pc-static"
echo "install test passed"
