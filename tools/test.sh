#!/usr/bin/env bash
# Runs every test: installs dependencies, builds (Release with debug info) and runs ctest.
# Usage: tools/test.sh [ctest args...]     e.g. tools/test.sh -R storage
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
BUILD_DIR=${MGR_BUILD_DIR:-build}
# Benchmarks are built by tools/bench.sh, not here: they are not tests and cost CI time.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMGR_BUILD_BENCH=OFF ${MGR_CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" "$@"
