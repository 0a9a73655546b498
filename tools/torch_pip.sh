#!/usr/bin/env bash
# The second, GPU users' build: LibTorch 2.x from PyPI's torch wheel (a CUDA build; its
# libraries also run on a machine without a GPU). Installs the pinned torch into a virtual
# environment inside the given build folder (once; a rerun reuses it) and prints the
# CMake arguments that build mgr-tune against it. Debian's libtorch 1.13 stays the default.
# Usage: tools/torch_pip.sh BUILD_DIR      e.g. cmake ... $(bash tools/torch_pip.sh build-pip)
# Needs Debian's python3-venv and, to build (Torch's CMake config looks for it), the CUDA
# toolkit (nvcc). Progress goes to stderr; stdout is only the CMake arguments.
set -euo pipefail
TORCH_VERSION=2.11.0  # the version of the GPU machines' PyTorch; docs/gpu.md

BUILD_DIR=${1:?usage: tools/torch_pip.sh BUILD_DIR}
VENV="$BUILD_DIR/torch-venv"
PY="$VENV/bin/python"
mkdir -p "$BUILD_DIR"
if ! "$PY" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" \
    2>/dev/null; then
  command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || {
    echo "torch_pip: LibTorch's CMake config needs the CUDA toolkit (nvcc), which is not" \
      "installed (on PATH or in /usr/local/cuda)" >&2
    exit 1
  }
  echo "torch_pip: installing torch==$TORCH_VERSION into $VENV (about 4.5 GB with its CUDA" \
    "libraries)" >&2
  /usr/bin/python3 -m venv "$VENV"
  # No pip cache: it would hold another 3 GB of wheels, and the venv is what gets reused.
  "$PY" -m pip install -q --no-cache-dir --disable-pip-version-check "torch==$TORCH_VERSION" >&2
fi
TORCH_ROOT=$("$PY" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)
# CMAKE_PREFIX_PATH first, so that libtorch.so is found in the wheel and not in /usr/lib.
echo "-DCMAKE_PREFIX_PATH=$TORCH_ROOT -DTorch_DIR=$TORCH_ROOT/share/cmake/Torch"
