#!/usr/bin/env bash
# Installs the Debian 12 packages shmring needs (only what is missing).
#   scripts/deps.sh build   - to build the library, tools and demo
#   scripts/deps.sh test    - plus tests, sanitizers, fuzzing and checkers
#   scripts/deps.sh bench   - plus the benchmark peers (gRPC, Boost.Interprocess, iceoryx, gnuplot)
set -euo pipefail
want=(build-essential cmake ninja-build pkg-config liburing-dev libxxhash-dev libabsl-dev nlohmann-json3-dev libcpp-httplib-dev)
if [[ "${1:-build}" == test || "${1:-build}" == bench ]]; then
  want+=(libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev python3 clang-14 spin prometheus curl yamllint)
  # node + npm for deploy.schema (deploy/validate pins versions that run on Debian 12's node 18).
  # A nodejs that ships its own npm (NodeSource's) Conflicts with Debian's npm package: keep it.
  want+=(nodejs)
  command -v npm >/dev/null || want+=(npm)
fi
if [[ "${1:-build}" == bench ]]; then
  want+=(libboost-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler iceoryx
         libiceoryx-posh-dev libiceoryx-hoofs-dev gnuplot-nox)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  # --no-install-recommends keeps the prometheus package from pulling a whole stack;
  # policy-rc.d-less containers must not start its service: we only need promtool.
  $SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
