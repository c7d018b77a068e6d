#!/bin/sh
# Configures (once) and builds mqota into build/: the host tree, the Cortex-M4
# cross build (build/cortex-m4) and the fuzzers (build/fuzz).
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build build -j "$(nproc)"
