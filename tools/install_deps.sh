#!/usr/bin/env bash
# Installs every Debian 12 package mgr-tune needs to build, test and benchmark.
# Idempotent; runs as root or through sudo. Skips apt entirely when all are present.
set -euo pipefail

PACKAGES=(
  # toolchain (clang and its runtimes: the libFuzzer targets, tools/fuzz.sh)
  g++ cmake ninja-build pkg-config ccache git clang-14 libclang-rt-14-dev
  # libraries
  libtorch-dev libavformat-dev libavcodec-dev libswresample-dev libavutil-dev
  libboost-dev libboost-filesystem-dev libboost-system-dev
  libsqlite3-dev sqlite3 nlohmann-json3-dev libeigen3-dev libcli11-dev
  # the PostgreSQL trial store (libpq) and its tests' scratch server and Optuna driver
  libpq-dev postgresql python3-psycopg2
  # the cluster test's scratch single-node Slurm (tools/slurm_test_cluster.sh)
  slurm-wlm munge
  libgtest-dev libgmock-dev googletest
  # references for tests and benchmarks only (never needed at run time)
  ffmpeg python3-optuna python3-torch python3-torchaudio python3-numpy
  # `mgr-tune report`: the chart library it embeds (build time); headless Chromium and
  # scikit-learn (Optuna's fANOVA) for its tests
  libjs-chart.js chromium python3-sklearn
  # the LibTorch 2.x build's virtual environment (tools/torch_pip.sh)
  python3-venv
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install_deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
