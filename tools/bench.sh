#!/usr/bin/env bash
# Builds (Release) and runs every benchmark; each prints its figure and a ratio against a
# reference measured in the same run (python3-optuna, python3-torch, torchaudio, ffmpeg).
# Usage: tools/bench.sh [name...]   e.g. tools/bench.sh storage_bench tpe_speed_bench
# `race` is the end-to-end race of the demo study, mgr-tune against Optuna + PyTorch
# (bench/race.sh; a few minutes on 2 CPU cores; results in $B/race.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
B=${MGR_BUILD_DIR:-build-bench}
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMGR_BUILD_TESTS=ON -DMGR_BUILD_BENCH=ON > /dev/null
ALL=(tpe_speed_bench sampler_quality_bench storage_bench orchestrator_bench decode_bench
     cache_bench features_bench train_step_bench loader_bench pipeline_bench report_bench race)
NAMES=("${@:-${ALL[@]}}")
TARGETS=()
for n in "${NAMES[@]}"; do
  if [ "$n" = race ]; then TARGETS+=(mgr-train mgr-make-dataset); else TARGETS+=("$n"); fi
done
cmake --build "$B" -j "$(nproc)" --target "${TARGETS[@]}" mgr-tune
for n in "${NAMES[@]}"; do
  echo "=== $n"
  if [ "$n" = race ]; then
    bash bench/race.sh --build "$B" --work "$B/race" --out "$B/race.json"
  else
    "$B/bench/$n"
  fi
done
echo "=== cli_bench"
/usr/bin/python3 bench/cli_bench.py "$B/tuner/mgr-tune" || true
