#!/usr/bin/env bash
# Installs optuna==VERSION (with the scipy and numpy pip resolves for it, and psycopg2) into the virtual
# environment VENV_DIR, once; a rerun that finds VERSION installed only checks it. Tests that
# compare mgr-tune with a given Optuna release call it (label python); keep VENV_DIR under
# the build directory. Needs Debian's python3-venv and PyPI (pip's cache makes a reinstall
# fast). Concurrent calls for one VENV_DIR install once (flock).
# With a third argument `torch`, also installs PyTorch (PyPI's wheel, several GB with its CUDA
# libraries), which Optuna's GPSampler needs (tests/samplers/gaussian_process_test.cc).
# Usage: tools/optuna_venv.sh VENV_DIR VERSION [torch]   e.g. build/optuna5-venv 5.1.0
set -euo pipefail
VENV=${1:?usage: optuna_venv.sh VENV_DIR VERSION [torch]}
VERSION=${2:?usage: optuna_venv.sh VENV_DIR VERSION [torch]}
WITH_TORCH=${3:-}
PY="$VENV/bin/python"
mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9
installed() {
  "$PY" - "$VERSION" <<'PYEOF' 2>/dev/null
import sys
import optuna, scipy.stats.qmc  # QMCSampler needs scipy
import psycopg2  # RDBStorage on PostgreSQL (the interop tests)
sys.exit(optuna.__version__ != sys.argv[1])
PYEOF
}
if ! installed; then
  echo "optuna_venv: installing optuna==$VERSION, scipy and psycopg2-binary into $VENV" >&2
  /usr/bin/python3 -m venv "$VENV" || {
    echo "optuna_venv: /usr/bin/python3 -m venv $VENV failed (install python3-venv)" >&2
    exit 1
  }
  if ! "$PY" -m pip install -q --disable-pip-version-check --retries 2 --timeout 30 \
      "optuna==$VERSION" scipy psycopg2-binary >&2; then
    echo "optuna_venv: pip could not install optuna==$VERSION and scipy from PyPI:" \
      "is PyPI reachable from this machine, and does that version exist?" >&2
    exit 1
  fi
  installed || {
    echo "optuna_venv: $VENV does not import optuna==$VERSION and scipy after pip install" >&2
    exit 1
  }
fi
if [ "$WITH_TORCH" = torch ] && ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "optuna_venv: installing torch into $VENV (Optuna's GPSampler needs it)" >&2
  # The GPU build's version (tools/torch_pip.sh); no pip cache: it would keep 3 GB of wheels.
  "$PY" -m pip install -q --no-cache-dir --disable-pip-version-check --retries 2 --timeout 60 \
    "torch==$(sed -n 's/^TORCH_VERSION=\([0-9.]*\).*/\1/p' "$(dirname "$0")/torch_pip.sh")" >&2 || {
    echo "optuna_venv: pip could not install torch from PyPI" >&2
    exit 1
  }
fi
