#!/bin/sh
# The build and install steps of deploy/docker/Dockerfile, as one script, so that the
# same steps run where no Docker engine does: the Dockerfile RUNs it, and so do
# tests/namespaces/image_test.sh (build + stage + the runtime-library check) and
# tests/namespaces/ns_test.sh (runtime packages + stage, then the containers run the
# staged binaries).
#
#   install.sh packages build|runtime   print the Debian 12 packages of that stage
#   install.sh deps build|runtime       apt-get install those not installed yet (root)
#   install.sh build SRC BUILD          Release build of shmctl and shmring-demo
#   install.sh stage BUILD DEST         strip them into DEST/bin (the image's /usr/local/bin)
#   install.sh check-libs DEST          every shared library DEST/bin/* loads comes from a
#                                       runtime package (ldd + dpkg -S); exit 1 naming it if not
set -eu

# The build stage: the packages of scripts/deps.sh build, with cpp-httplib for shmctl serve.
BUILD_PACKAGES="build-essential cmake ninja-build pkg-config liburing-dev libxxhash-dev libabsl-dev nlohmann-json3-dev libcpp-httplib-dev"
# The runtime stage: every package whose shared libraries shmctl and shmring-demo load,
# beyond libc6, libstdc++6 and libgcc-s1 (which debian:12 has). libshmring is linked in
# statically; cpp-httplib (shmctl serve) is built by Debian with OpenSSL, zlib and brotli.
RUNTIME_PACKAGES="libabsl20220623 libxxhash0 liburing2 libcpp-httplib0.11 libssl3 zlib1g libbrotli1"

die() { echo "install.sh: $*" >&2; exit 2; }

packages() {
  case ${1:-} in
    build) echo "$BUILD_PACKAGES" ;;
    runtime) echo "$RUNTIME_PACKAGES" ;;
    *) die "packages: expected 'build' or 'runtime', found '${1:-}'" ;;
  esac
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  packages)
    packages "${1:-}"
    ;;
  deps)
    missing=""
    for p in $(packages "${1:-}"); do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
      [ "$(id -u)" -eq 0 ] || die "deps $1: not root, cannot install:$missing"
      echo "== installing:$missing"
      apt-get update -q
      # shellcheck disable=SC2086 # one word per package
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
      rm -rf /var/lib/apt/lists/*
    fi
    ;;
  build)
    [ $# -eq 2 ] || die "build: expected SRC BUILD, found $# arguments"
    # Release, no tests: only what the image ships. -j2: these build machines have 2 cores.
    cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSHMRING_TESTS=OFF
    ninja -C "$2" -j2 shmctl shmring-demo
    ;;
  stage)
    [ $# -eq 2 ] || die "stage: expected BUILD DEST, found $# arguments"
    mkdir -p "$2/bin"
    for b in "$1/tools/shmctl/shmctl" "$1/tools/demo/shmring-demo"; do
      [ -x "$b" ] || die "stage: $b is missing (run 'install.sh build' first)"
      install -m 0755 -s "$b" "$2/bin/"
    done
    ;;
  check-libs)
    [ $# -eq 1 ] || die "check-libs: expected DEST, found $# arguments"
    want=" libc6 libgcc-s1 libstdc++6 $RUNTIME_PACKAGES "
    if ldd "$1"/bin/* | grep 'not found'; then
      echo "install.sh: check-libs: unresolved shared libraries in $1/bin (above)" >&2; exit 1
    fi
    for lib in $(ldd "$1"/bin/* | awk '/=> \//{print $3}' | sort -u); do
      pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null) || {
        echo "install.sh: check-libs: no Debian package owns $lib" >&2; exit 1; }
      pkg=${pkg%%:*}
      case $want in
        *" $pkg "*) ;;
        *) echo "install.sh: check-libs: $lib comes from $pkg, which RUNTIME_PACKAGES does not list (expected one of:$want)" >&2; exit 1 ;;
      esac
    done
    echo "ok: every shared library of $1/bin/* comes from: $want"
    ;;
  *)
    die "unknown step '$cmd' (expected packages, deps, build, stage or check-libs)"
    ;;
esac
