#!/usr/bin/env bash
# Builds (Release) and runs every benchmark; each prints its figure and a ratio against a
# reference measured in the same run (python3-optuna, python3-torch, torchaudio, ffmpeg).
# Usage: tools/bench.sh [name...]   e.g. tools/bench.sh storage_bench tpe_speed_bench
# `race` is the end-to-end race of the demo study, mgr-tune against Optuna + PyTorch
# (bench/race.sh; a few minutes on 2 CPU cores; results in $B/race.json).
# `pruner_savings` (not run by default: 45 minutes on 2 loaded CPU cores) trains the demo
# study once per pruner and compares the epochs each trains with the median pruner's
# (bench/pruner_savings.sh; results in $B/pruner_savings.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
B=${MGR_BUILD_DIR:-build-bench}
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMGR_BUILD_TESTS=ON -DMGR_BUILD_BENCH=ON > /dev/null
ALL=(tpe_speed_bench gp_speed_bench sampler_quality_bench storage_bench orchestrator_bench decode_bench
     cache_bench features_bench train_step_bench loader_bench pipeline_bench report_bench race)
NAMES=("${@:-${ALL[@]}}")
TARGETS=()
for n in "${NAMES[@]}"; do
  case "$n" in
    race | pruner_savings) TARGETS+=(mgr-train mgr-make-dataset) ;;
    *) TARGETS+=("$n") ;;
  esac
done
cmake --build "$B" -j "$(nproc)" --target "${TARGETS[@]}" mgr-tune
# storage_bench and orchestrator_bench measure PostgreSQL too, on a scratch server.
PG_DIR="$PWD/$B/bench-postgres"
trap 'bash tools/postgres_test_server.sh stop "$PG_DIR" >/dev/null 2>&1 || true' EXIT
pg_url() {
  [ -s "$PG_DIR/url" ] || bash tools/postgres_test_server.sh start "$PG_DIR" >/dev/null
  cat "$PG_DIR/url"
}
for n in "${NAMES[@]}"; do
  echo "=== $n"
  case "$n" in
    race) bash bench/race.sh --build "$B" --work "$B/race" --out "$B/race.json" ;;
    pruner_savings)
      bash bench/pruner_savings.sh --build "$B" --work "$B/pruner_savings" \
        --out "$B/pruner_savings.json" ;;
    storage_bench) "$B/bench/$n" 300 10000 "$(pg_url)" ;;
    orchestrator_bench)
      "$B/bench/$n"
      echo "=== orchestrator_bench on PostgreSQL"
      "$B/bench/$n" 40 "$(pg_url)" ;;
    *) "$B/bench/$n" ;;
  esac
done
echo "=== cli_bench"
/usr/bin/python3 bench/cli_bench.py "$B/tuner/mgr-tune" || true
