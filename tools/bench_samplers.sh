#!/usr/bin/env bash
# Builds and runs the sampler benchmarks (TPE speed, GP speed, sampler quality), each against
# Optuna 5.1's TPE and GPSampler from PyPI (BUILD/optuna5-venv with torch,
# tools/optuna_venv.sh) measured in the same run. MGR_BENCH_OPTUNA=3.1 uses Debian's
# python3-optuna instead (no GPSampler, no torch: the GP references are then skipped).
# Usage: tools/bench_samplers.sh [build dir] [--python-seeds N] [--python-jobs J]
# Takes about 12 minutes on 2 idle cores (almost all of it Optuna's TPE in Python, both
# modes, 20 seeds in 2 processes by default), plus Optuna's GPSampler (3 problems x 10
# seeds x 100 trials: several minutes more).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-${MGR_BUILD_DIR:-build}}
if [ ! -f "$BUILD_DIR/build.ninja" ] && [ ! -f "$BUILD_DIR/Makefile" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMGR_BUILD_TRAINER=OFF
fi
cmake --build "$BUILD_DIR" --target tpe_speed_bench gp_speed_bench sampler_quality_bench -j 2
if [ "${MGR_BENCH_OPTUNA:-5.1}" = 3.1 ]; then
  python=/usr/bin/python3
else
  bash tools/optuna_venv.sh "$BUILD_DIR/optuna5-venv" 5.1.0 torch
  python=$BUILD_DIR/optuna5-venv/bin/python
fi
echo "== TPE speed =="
"$BUILD_DIR/bench/tpe_speed_bench" --python "$python"
echo
echo "== GP speed =="
"$BUILD_DIR/bench/gp_speed_bench" --python "$python"
echo
echo "== Sampler quality =="
"$BUILD_DIR/bench/sampler_quality_bench" --python "$python" "${@:2}"
