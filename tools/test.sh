#!/usr/bin/env bash
# Runs every test (docs/testing.md): installs dependencies, builds (Release with debug info,
# warnings as errors) and runs ctest, then the non-trainer tests again under ASan + UBSan,
# then every fuzz target for a bounded time.
# Usage: tools/test.sh [ctest args...]     e.g. tools/test.sh -R storage
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
BUILD_DIR=${MGR_BUILD_DIR:-build}
# Benchmarks are built by tools/bench.sh, not here: they are not tests and cost CI time.
# Warnings are errors here (MGR_WERROR), not in a developer's default build.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMGR_BUILD_BENCH=OFF \
  -DMGR_WERROR=ON ${MGR_CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)"
(cd "$BUILD_DIR" && ctest --output-on-failure -j "$(nproc)" "$@")

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer, without trainer/
# (libtorch and FFmpeg are not instrumented, and training under ASan is too slow). Not
# MGR_WERROR: the build above already holds the code to that, and GCC's instrumentation
# adds false-positive warnings. MGR_SKIP_SANITIZE=1 skips this stage.
if [[ "${MGR_SKIP_SANITIZE:-0}" != 1 ]]; then
  ASAN_BUILD_DIR=${MGR_ASAN_BUILD_DIR:-build-asan}
  cmake -S . -B "$ASAN_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMGR_BUILD_BENCH=OFF \
    -DMGR_BUILD_TRAINER=OFF -DMGR_SANITIZE=ON
  cmake --build "$ASAN_BUILD_DIR" -j "$(nproc)"
  (cd "$ASAN_BUILD_DIR" && UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j "$(nproc)" "$@")
fi

# Every fuzz target under libFuzzer (clang, ASan + UBSan) for a bounded time, from its seed
# corpus (tools/fuzz.sh; docs/testing.md). MGR_FUZZ_SECONDS per target (default 20; 0 skips).
if [[ "${MGR_FUZZ_SECONDS:-20}" != 0 ]]; then
  bash tools/fuzz.sh "${MGR_FUZZ_SECONDS:-20}"
fi
