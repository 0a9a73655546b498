#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs dependencies, builds (Release),
# generates the demo FMA-shaped dataset and runs the demo study (examples/demo.json).
# Rerunning resumes the study where it stopped; MGR_DEMO_FRESH=1 starts over.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
case "${MGR_TORCH:-debian}" in
  debian | pip) ;;
  *) echo "$0: MGR_TORCH must be debian (Debian's LibTorch 1.13, the default) or pip" \
    "(LibTorch 2.x from PyPI's torch wheel), got \"$MGR_TORCH\"" >&2; exit 2 ;;
esac
# MGR_TORCH=pip: against LibTorch 2.x from PyPI's torch wheel (the GPU build; docs/gpu.md).
TORCH_ARGS=""
if [[ "${MGR_TORCH:-debian}" == pip ]]; then
  BUILD_DIR=${MGR_BUILD_DIR:-build-release-pip}
  TORCH_ARGS=$(bash tools/torch_pip.sh "$BUILD_DIR")
else
  BUILD_DIR=${MGR_BUILD_DIR:-build-release}
fi
# shellcheck disable=SC2086  # TORCH_ARGS is a list of words
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMGR_BUILD_TESTS=OFF \
  -DMGR_BUILD_BENCH=OFF $TORCH_ARGS
cmake --build "$BUILD_DIR" -j "$(nproc)" --target mgr-tune mgr-train mgr-make-dataset
export PATH="$PWD/$BUILD_DIR/tuner:$PWD/$BUILD_DIR/trainer:$PWD/$BUILD_DIR/tools:$PATH"
if [ "${MGR_DEMO_FRESH:-0}" = 1 ]; then rm -rf demo; fi
if [ ! -f demo/data/fma_metadata/tracks.csv ]; then
  mgr-make-dataset --size demo --out demo/data --seed 0
fi
mgr-tune examples/demo.json "$@"
