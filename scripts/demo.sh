#!/usr/bin/env bash
# The README's main job: build, then producers -> ring -> consumer, then shmctl stat.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh build
cmake -S . -B build/demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DSHMRING_TESTS=OFF >/dev/null
ninja -C build/demo shmctl shmring-demo >/dev/null
echo
./build/demo/tools/demo/shmring-demo --ring shmring-demo --producers 2 --records 1000000 --keep
echo
echo "== shmctl stat shmring-demo"
./build/demo/tools/shmctl/shmctl stat shmring-demo
./build/demo/tools/shmctl/shmctl rm shmring-demo
