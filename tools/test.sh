#!/usr/bin/env bash
# Runs every test (docs/testing.md): installs dependencies, builds (Release with debug info,
# warnings as errors) and runs ctest, then the trainer tests again against LibTorch 2.x
# (PyPI's CUDA torch wheel, on the CPU), then the non-trainer tests under ASan + UBSan, then
# every fuzz target for a bounded time.
# Usage: tools/test.sh [ctest args...]     e.g. tools/test.sh -R storage
# MGR_TORCH=pip builds the main stage against LibTorch 2.x instead of Debian's 1.13.
# MGR_DROP_BUILDS=1 (set by .ci/run) removes each stage's build folder once its tests pass:
# the stages together need about 20 GB of disk, one at a time about 13 GB.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh

# report_disk STAGE: free space before a stage, so a full disk is seen for what it is.
report_disk() {
  local free_gb
  free_gb=$(df -Pk . | awk 'NR == 2 { printf "%d", $4 / 1048576 }')
  echo "=== $1: ${free_gb} GB free on $(df -P . | awk 'NR == 2 { print $6 }')"
  if ((free_gb < 8)); then
    echo "test.sh: warning: under 8 GB free; a build stage needs up to 8 GB (LibTorch 2.x's" \
      "venv alone is 4.6 GB); MGR_DROP_BUILDS=1 frees each stage's folder when it passes" >&2
  fi
}

# drop_build DIR: with MGR_DROP_BUILDS=1, the passed stage's folder goes.
drop_build() {
  if [[ "${MGR_DROP_BUILDS:-0}" == 1 ]]; then rm -rf "$1"; fi
}
case "${MGR_TORCH:-debian}" in
  debian | pip) ;;
  *) echo "$0: MGR_TORCH must be debian (Debian's LibTorch 1.13, the default) or pip" \
    "(LibTorch 2.x from PyPI's torch wheel), got \"$MGR_TORCH\"" >&2; exit 2 ;;
esac

# configure_and_test BUILD_DIR CMAKE_ARGS CTEST_ARGS...: one -Werror build and its tests.
# Benchmarks are built by tools/bench.sh, not here: they are not tests and cost CI time.
# Warnings are errors here (MGR_WERROR), not in a developer's default build.
configure_and_test() {
  local dir=$1 args=$2
  shift 2
  report_disk "$dir"
  # shellcheck disable=SC2086  # args is a list of words
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMGR_BUILD_BENCH=OFF \
    -DMGR_WERROR=ON $args ${MGR_CMAKE_ARGS:-}
  cmake --build "$dir" -j "$(nproc)"
  (cd "$dir" && ctest --output-on-failure -j "$(nproc)" "$@")
  drop_build "$dir"
}

if [[ "${MGR_TORCH:-debian}" == pip ]]; then
  BUILD_DIR=${MGR_BUILD_DIR:-build-pip}
  configure_and_test "$BUILD_DIR" "$(bash tools/torch_pip.sh "$BUILD_DIR")" "$@"
else
  configure_and_test "${MGR_BUILD_DIR:-build}" "" "$@"
  # The trainer tests against LibTorch 2.x as well: one code base for both (docs/gpu.md).
  # MGR_SKIP_TORCH2=1 skips this stage.
  if [[ "${MGR_SKIP_TORCH2:-0}" != 1 ]]; then
    echo "=== the trainer tests against LibTorch 2.x (PyPI's torch wheel)"
    report_disk "LibTorch 2.x's venv"
    configure_and_test build-torch2 "$(bash tools/torch_pip.sh build-torch2)" -L trainer "$@"
  fi
fi

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer, without trainer/
# (libtorch and FFmpeg are not instrumented, and training under ASan is too slow). Not
# MGR_WERROR: the build above already holds the code to that, and GCC's instrumentation
# adds false-positive warnings. MGR_SKIP_SANITIZE=1 skips this stage.
if [[ "${MGR_SKIP_SANITIZE:-0}" != 1 ]]; then
  ASAN_BUILD_DIR=${MGR_ASAN_BUILD_DIR:-build-asan}
  report_disk "$ASAN_BUILD_DIR"
  cmake -S . -B "$ASAN_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMGR_BUILD_BENCH=OFF \
    -DMGR_BUILD_TRAINER=OFF -DMGR_SANITIZE=ON
  cmake --build "$ASAN_BUILD_DIR" -j "$(nproc)"
  # Not OptunaGpTest nor QLogEITest.MatchesOptuna: Optuna's GP needs PyTorch (4.5 GB from
  # PyPI) in the build's venv, and the first stage has compared the same code with it already.
  (cd "$ASAN_BUILD_DIR" && UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j "$(nproc)" -E '^(OptunaGpTest\.|QLogEITest\.MatchesOptuna$)' "$@")
  drop_build "$ASAN_BUILD_DIR"
fi

# Every fuzz target under libFuzzer (clang, ASan + UBSan) for a bounded time, from its seed
# corpus (tools/fuzz.sh; docs/testing.md). MGR_FUZZ_SECONDS per target (default 20; 0 skips).
if [[ "${MGR_FUZZ_SECONDS:-20}" != 0 ]]; then
  bash tools/fuzz.sh "${MGR_FUZZ_SECONDS:-20}"
fi
