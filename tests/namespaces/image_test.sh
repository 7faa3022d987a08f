#!/usr/bin/env bash
# deploy/docker/Dockerfile's steps where no Docker engine runs: the build context is what
# the Dockerfile COPYs (each source must be let in by Dockerfile.dockerignore), and every
# RUN step is a step of deploy/docker/install.sh, run here in the same order: build
# packages, Release build of shmctl and shmring-demo from that context alone, stage
# (strip) them, runtime packages, check-libs (every shared library they load comes from a
# runtime package). Then the staged shmctl runs (ns_test.sh runs the staged demo).
# What this cannot show: that debian:12 pulls, and the Dockerfile's own syntax (deploy/README.md).
#   image_test.sh SOURCE_DIR WORK_DIR   (exits 77 = skipped, saying why; never under CI=true)
set -euo pipefail
src=$1 work=$2
docker_dir=$src/deploy/docker
install=$docker_dir/install.sh
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() {
  [[ ${CI:-} != true ]] || fail "$* (under CI, as root after scripts/deps.sh, this check must run)"
  echo "SKIP: $*"; exit 77
}
command -v dpkg-query >/dev/null || skip "no dpkg: install.sh's package steps need Debian"
for step in build runtime; do
  for p in $(sh "$install" packages "$step"); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      [[ $(id -u) -eq 0 ]] || skip "package $p ($step stage) is missing and only root may install it"
  done
done

rm -rf "$work"
mkdir -p "$work/context"
# The build context: the COPY sources of the Dockerfile (not --from), which the
# dockerignore must let in ("!PATH" or "!PATH/**").
for p in $(sed -n 's/^COPY \([^-][^ ]*\) .*/\1/p' "$docker_dir/Dockerfile" | sort -u); do
  p=${p%/}
  grep -qxF -e "!$p" -e "!$p/**" "$docker_dir/Dockerfile.dockerignore" ||
    fail "Dockerfile COPYs $p, which Dockerfile.dockerignore keeps out of the build context"
  mkdir -p "$work/context/$(dirname "$p")"
  cp -a "$src/$p" "$work/context/$p"
done

sh "$install" deps build
sh "$install" build "$work/context" "$work/build" >"$work/build.log" 2>&1 ||
  fail "install.sh build failed: $(tail -n 30 "$work/build.log")"
sh "$install" stage "$work/build" "$work/image"
sh "$install" deps runtime
sh "$install" check-libs "$work/image"
"$work/image/bin/shmctl" --version >/dev/null || fail "the staged shmctl does not run"
[[ -x $work/image/bin/shmring-demo ]] || fail "install.sh stage did not install shmring-demo"
echo "ok: the Dockerfile's steps (deploy/docker/install.sh) built, staged and checked shmctl and shmring-demo from the COPY context alone"
