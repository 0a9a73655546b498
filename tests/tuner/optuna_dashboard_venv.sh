#!/usr/bin/env bash
# Installs the pinned optuna-dashboard and Optuna (>= 3.2: they read the v3.2.0.a schema
# mgr-tune writes) into a virtual environment, once; a rerun with the pins installed only
# checks them. Used by optuna_dashboard_test (label python). Needs Debian's python3-venv and
# PyPI (pip's cache makes a reinstall fast).
# Usage: tests/tuner/optuna_dashboard_venv.sh VENV_DIR
set -euo pipefail
OPTUNA_VERSION=4.5.0
DASHBOARD_VERSION=0.19.0

VENV=${1:?usage: optuna_dashboard_venv.sh VENV_DIR}
PY="$VENV/bin/python"
mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9  # two tests at once install once
installed() {
  "$PY" - "$OPTUNA_VERSION" "$DASHBOARD_VERSION" <<'PYEOF' 2>/dev/null
import sys
import optuna, optuna_dashboard
sys.exit(not (optuna.__version__ == sys.argv[1] and optuna_dashboard.__version__ == sys.argv[2]))
PYEOF
}
if ! installed; then
  echo "optuna_dashboard_venv: installing optuna==$OPTUNA_VERSION" \
    "optuna-dashboard==$DASHBOARD_VERSION into $VENV" >&2
  /usr/bin/python3 -m venv "$VENV" || {
    echo "optuna_dashboard_venv: /usr/bin/python3 -m venv failed (install python3-venv)" >&2
    exit 1
  }
  if ! "$PY" -m pip install -q --disable-pip-version-check --retries 2 --timeout 30 \
      "optuna==$OPTUNA_VERSION" "optuna-dashboard==$DASHBOARD_VERSION" >&2; then
    echo "optuna_dashboard_venv: pip could not install optuna==$OPTUNA_VERSION and" \
      "optuna-dashboard==$DASHBOARD_VERSION from PyPI: is PyPI reachable from this machine?" >&2
    exit 1
  fi
  installed || {
    echo "optuna_dashboard_venv: $VENV does not import the pinned versions after pip install" >&2
    exit 1
  }
fi
