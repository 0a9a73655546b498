#!/usr/bin/env bash
# Builds and runs the sampler benchmarks (TPE speed, sampler quality), each against
# python3-optuna 3.1 measured in the same run.
# Usage: tools/bench_samplers.sh [build dir] [--python-seeds N] [--python-jobs J]
# Takes about 4 minutes on 2 shared cores (almost all of it Optuna's TPE in Python, 20 seeds
# in 2 processes by default).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-${MGR_BUILD_DIR:-build}}
if [ ! -f "$BUILD_DIR/build.ninja" ] && [ ! -f "$BUILD_DIR/Makefile" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMGR_BUILD_TRAINER=OFF
fi
cmake --build "$BUILD_DIR" --target tpe_speed_bench sampler_quality_bench -j 2
echo "== TPE speed =="
"$BUILD_DIR/bench/tpe_speed_bench"
echo
echo "== Sampler quality =="
"$BUILD_DIR/bench/sampler_quality_bench" "${@:2}"
