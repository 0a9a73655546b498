#!/usr/bin/env bash
# The one-shot GPU check (docs/gpu.md, "The GPU check"): on a GPU machine with PyTorch, CUDA,
# CMake and g++ but no package registry, builds mgr-tune against PyTorch's LibTorch and the
# bundle of tools/gpu_bundle.sh, runs the GPU tests, a small two-worker study on the one GPU
# and the benchmarks, and writes every figure to DIR/gpu-check.json (and DIR/gpu-check.log).
# Each step has its own time limit inside an overall budget; a failing step is recorded and
# the check goes on. Usage, from anywhere: bash tools/gpu_check.sh [--out DIR]
# (DIR defaults to $OUT when set, else out/gpu-check). Environment:
#   MGR_GPU_PYTHON     python with torch (python3)      MGR_GPU_BUNDLE  bundle (.gpu-bundle)
#   MGR_GPU_BUILD_DIR  build folder (build-gpu)          MGR_GPU_JOBS    build jobs (nproc)
#   MGR_GPU_CHECK_TARGETS  targets to build: "gpu" (mgr-tune, mgr-train, mgr-make-dataset, the
#                          trainer tests, pipeline_bench), "all", or a list of target names
#   MGR_GPU_CHECK_BUDGET   seconds for the whole check (540)
#   MGR_GPU_CHECK_SLOW     factor on every step's time limit (1; a slow machine's trial run)
# Exit status: 0 when the build and every step that ran passed (a GPU test skipped for lack
# of a GPU counts as passed), 1 otherwise; the JSON says which step failed.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT_DIR=${OUT:-$ROOT/out/gpu-check}
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT_DIR=${2:?--out needs a folder}; shift 2 ;;
    --out=*) OUT_DIR=${1#--out=}; shift ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "gpu_check: unknown argument '$1' (usage: gpu_check.sh [--out DIR])" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT_DIR" && OUT_DIR=$(cd "$OUT_DIR" && pwd)
BUNDLE=$(realpath -m "${MGR_GPU_BUNDLE:-$ROOT/.gpu-bundle}")
BUILD=$(realpath -m "${MGR_GPU_BUILD_DIR:-$ROOT/build-gpu}")
PY=$(command -v "${MGR_GPU_PYTHON:-python3}" || echo "${MGR_GPU_PYTHON:-python3}")
JOBS=${MGR_GPU_JOBS:-$(nproc)}
TARGETS=${MGR_GPU_CHECK_TARGETS:-gpu}
BUDGET=${MGR_GPU_CHECK_BUDGET:-540}
SLOW=${MGR_GPU_CHECK_SLOW:-1}
ARCH=x86_64-linux-gnu
LOG=$OUT_DIR/gpu-check.log
WORK=$(mktemp -d /tmp/gpu-check.XXXXXX)
FIG=$WORK/figures.tsv STEPS=$WORK/steps.tsv
: >"$LOG"
: >"$FIG"
: >"$STEPS"
T0=$SECONDS

log() { echo "gpu_check: $*" | tee -a "$LOG" >&2; }
# fig KEY VALUE: one figure for the JSON (numbers stay numbers).
fig() { printf '%s\t%s\n' "$1" "${2//$'\n'/ }" >>"$FIG"; }
# step NAME LIMIT CMD...: runs CMD under min(LIMIT, what is left of the budget), output to
# the log; records status (passed, failed, timeout, skipped), exit code and seconds.
step() {
  local name=$1 limit=$(($2 * SLOW)); shift 2
  local left=$((BUDGET - (SECONDS - T0)))
  [ "$limit" -gt "$left" ] && limit=$left
  if [ "$limit" -lt 5 ]; then
    log "step $name: skipped, the budget of ${BUDGET}s is spent"
    printf '%s\tskipped\t\t0\t0\tbudget spent\n' "$name" >>"$STEPS"
    return 124
  fi
  echo "=== step $name (limit ${limit}s): $*" >>"$LOG"
  local t=$SECONDS rc status
  # A shell function runs in a child bash (timeout runs programs only): exported below.
  if declare -F "$1" >/dev/null; then set -- bash -c '"$@"' bash "$@"; fi
  timeout -k 10 "$limit" "$@" >>"$LOG" 2>&1
  rc=$?
  case $rc in 0) status=passed ;; 124 | 137) status=timeout ;; *) status=failed ;; esac
  printf '%s\t%s\t%s\t%s\t%s\t\n' "$name" "$status" "$rc" "$((SECONDS - t))" "$limit" >>"$STEPS"
  log "step $name: $status (rc $rc, $((SECONDS - t)) s)"
  return $rc
}
# skip NAME REASON: a step that could not run.
skip() { printf '%s\tskipped\t\t0\t0\t%s\n' "$1" "$2" >>"$STEPS"; log "step $1: skipped ($2)"; }

# Writes gpu-check.json from the figures, steps and test reports gathered so far.
write_json() {
  fig total_seconds "$((SECONDS - T0))"
  "$PY" - "$FIG" "$STEPS" "$WORK/tests" "$OUT_DIR/gpu-check.json" <<'EOF' || cp "$FIG" "$OUT_DIR/gpu-check.json"
import glob, json, os, sys
fig_path, steps_path, tests_dir, out = sys.argv[1:]
def typed(v):
    for t in (int, float):
        try: return t(v)
        except ValueError: pass
    return {"true": True, "false": False}.get(v, v)
figures = {}
for line in open(fig_path):
    k, _, v = line.rstrip("\n").partition("\t")
    figures[k] = typed(v)
steps = []
for line in open(steps_path):
    name, status, rc, sec, limit, note = (line.rstrip("\n").split("\t") + [""] * 6)[:6]
    steps.append({"name": name, "status": status, "rc": typed(rc) if rc else None,
                  "seconds": typed(sec), "limit_s": typed(limit), "note": note or None})
tests = []
for path in sorted(glob.glob(os.path.join(tests_dir, "*.json"))):
    binary = os.path.basename(path)[:-5]
    try:
        report = json.load(open(path))
    except (OSError, ValueError) as e:
        tests.append({"binary": binary, "name": None, "status": "no report: %s" % e}); continue
    for suite in report.get("testsuites", []):
        for t in suite.get("testsuite", []):
            status = "failed" if t.get("failures") else \
                     "skipped" if t.get("result") == "SKIPPED" else "passed"
            tests.append({"binary": binary, "name": suite["name"] + "." + t["name"],
                          "status": status, "time": t.get("time")})
bench = {}
for path in sorted(glob.glob(os.path.join(os.path.dirname(tests_dir), "bench", "*.json"))):
    try:
        bench[os.path.basename(path)[:-5]] = json.load(open(path))
    except (OSError, ValueError) as e:
        bench[os.path.basename(path)[:-5]] = "unreadable: %s" % e
result = {"figures": figures, "steps": steps, "gpu_tests": tests, "bench": bench,
          # Skipped steps (nothing to run, or already done) are listed with their reason.
          "passed": all(s["status"] in ("passed", "skipped") for s in steps)
                    and any(s["name"] == "build" and s["status"] == "passed" for s in steps)
                    and all(t["status"] in ("passed", "skipped") for t in tests)}
json.dump(result, open(out, "w"), indent=1)
EOF
  log "results: $OUT_DIR/gpu-check.json, log: $LOG"
}
finish() {
  write_json
  rm -rf "$WORK"
  "$PY" -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["passed"] else 1)' \
    "$OUT_DIR/gpu-check.json" 2>/dev/null
  exit $?
}

fig date "$(date -u +%FT%TZ)"
fig host "$(hostname)"
fig cpus "$(nproc)"
fig git_head "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"

# --- the machine: GPU, compilers, PyTorch --------------------------------------------------
GPU=false
if command -v nvidia-smi >/dev/null && nvidia-smi >>"$LOG" 2>&1; then
  q=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader,nounits | head -1)
  fig gpu_name "$(cut -d, -f1 <<<"$q")"
  fig gpu_driver "$(cut -d, -f2 <<<"$q" | tr -d ' ')"
  fig gpu_memory_mib "$(cut -d, -f3 <<<"$q" | tr -d ' ')"
  fig gpu_count "$(nvidia-smi -L | wc -l)"
else
  fig gpu_name "no GPU (nvidia-smi missing or failing)"
fi
for tool in g++ cmake ninja nvcc; do
  p=$(command -v $tool || true)
  [ -z "$p" ] && [ $tool = nvcc ] && [ -x /usr/local/cuda/bin/nvcc ] && p=/usr/local/cuda/bin/nvcc &&
    export PATH="/usr/local/cuda/bin:$PATH"
  if [ -n "$p" ]; then
    fig "${tool//+/x}_version" "$("$p" --version 2>&1 | grep -m1 -E '[0-9]+\.[0-9]+')"
  else
    fig "${tool//+/x}_version" missing
  fi
done
if ! command -v g++ >/dev/null; then
  log "no g++: the build (and nvcc, which LibTorch's CMake config calls) needs one"
  skip build "no g++ on this machine (nvcc needs one too)"
  finish
fi
TORCH_INFO=$("$PY" - 2>>"$LOG" <<'EOF'
import torch
cuda = torch.cuda.is_available()
print(torch.__version__)
print(torch.version.cuda)
print(str(cuda).lower())
print(torch.cuda.get_device_name(0) if cuda else "none")
print(torch.utils.cmake_prefix_path)
EOF
) || TORCH_INFO=""
if [ -z "$TORCH_INFO" ]; then
  log "$PY cannot import torch"
  skip build "no PyTorch in $PY"
  finish
fi
{ read -r v; read -r cu; read -r avail; read -r dev; read -r TORCH_CMAKE; } <<<"$TORCH_INFO"
fig torch_version "$v"
fig torch_cuda "$cu"
fig torch_cuda_available "$avail"
fig torch_device "$dev"
fig torch_cmake_prefix_path "$TORCH_CMAKE"
[ "$avail" = true ] && GPU=true
fig gpu "$GPU"
$GPU || log "no GPU: the GPU tests skip themselves; the study and benchmarks run on the CPU"

# --- the bundle: Python wheels, FFmpeg ------------------------------------------------------
if [ ! -f "$BUNDLE/MANIFEST.txt" ]; then
  log "no bundle at $BUNDLE: run tools/gpu_bundle.sh where apt and PyPI are reachable"
  skip build "no bundle at $BUNDLE"
  finish
fi
fig bundle "$(head -1 "$BUNDLE/MANIFEST.txt")"
PREFIX=$BUNDLE/prefix/usr
if ls "$BUNDLE"/wheels/*.whl >/dev/null 2>&1; then
  if step wheels 60 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --disable-pip-version-check --target "$WORK/site" "$BUNDLE"/wheels/*.whl; then
    export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
  fi
fi
fig optuna_version "$("$PY" -c 'import optuna; print(optuna.__version__)' 2>/dev/null || echo missing)"

# pkg-config: the bundle's (the GPU machine has none; the same one everywhere).
PKGCONF=$BUNDLE/tools/pkg-config
fig pkg_config "$PKGCONF"
# FFmpeg: built once from the bundle's source into the bundle (a rerun reuses it).
FF=$BUNDLE/ffmpeg
build_ffmpeg() {
  set -e
  local src
  src=$(ls "$BUNDLE"/src/ffmpeg_*.orig.tar.xz | head -1)
  rm -rf "$WORK/ffsrc" "$FF" && mkdir -p "$WORK/ffsrc"
  tar -xJf "$src" -C "$WORK/ffsrc" --strip-components=1
  cd "$WORK/ffsrc"
  # Decoding of FMA's MP3s and common audio, MP3 encoding for mgr-make-dataset, and the
  # ffmpeg/ffprobe programs with the few audio filters they need: the race's Python side
  # decodes with the ffmpeg CLI there (torchaudio 2.9+ no longer decodes by itself).
  ./configure --prefix="$FF" --enable-shared --disable-static --disable-ffplay --disable-doc \
    --disable-x86asm --disable-autodetect --disable-network --disable-everything \
    --disable-avdevice --disable-swscale --disable-postproc \
    --enable-swresample --enable-libmp3lame --enable-avfilter \
    --enable-filter=aresample,aformat,anull,atrim,format,null,trim,abuffer,abuffersink \
    --enable-protocol=file,pipe \
    --enable-demuxer=mp3,wav,flac,ogg,aac,mov,matroska,aiff \
    --enable-muxer=mp3,wav,pcm_f32le \
    --enable-parser=mpegaudio,flac,aac,vorbis \
    --enable-decoder=mp3,mp3float,flac,vorbis,aac,aac_latm,pcm_s16le,pcm_s16be,pcm_s24le,pcm_s32le,pcm_f32le,pcm_f64le,pcm_u8 \
    --enable-encoder=libmp3lame,pcm_s16le,pcm_f32le \
    --extra-cflags="-I$PREFIX/include" --extra-ldflags="-L$PREFIX/lib/$ARCH"
  make -j"$JOBS" >/dev/null
  make install >/dev/null
  # Relative .pc files, so that a bundle built here works in another folder too.
  for pc in "$FF"/lib/pkgconfig/*.pc; do
    sed -i -e 's|^prefix=.*|prefix=${pcfiledir}/../..|' -e "s|=$FF/|=\${prefix}/|" "$pc"
  done
}
export BUNDLE PREFIX FF WORK ARCH JOBS FIG BUILD LOG
export -f fig log build_ffmpeg
if [ -f "$FF/lib/pkgconfig/libavcodec.pc" ] && [ -x "$FF/bin/ffmpeg" ]; then
  skip ffmpeg "already built in $FF"
else
  step ffmpeg 240 build_ffmpeg
fi
export PKG_CONFIG_PATH="$FF/lib/pkgconfig:$PREFIX/lib/$ARCH/pkgconfig:$PREFIX/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$FF/lib:$PREFIX/lib/$ARCH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$FF/bin:$PATH"  # ffmpeg and ffprobe for the race's Python side

# --- configure and build ---------------------------------------------------------------------
# The host's libz and libsqlite3 (its Python needs both); headers from the bundle.
host_lib() { ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n && /x86-64/ {print $NF; exit}'; }
ZLIB=$(host_lib libz.so.1)
SQLITE=$(host_lib libsqlite3.so.0)
[ -n "$SQLITE" ] || SQLITE=$(ls "$BUNDLE"/fallback/lib/libsqlite3.so.0 2>/dev/null)
fig zlib_library "${ZLIB:-missing}"
fig sqlite_library "${SQLITE:-missing}"
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}  # no GPU probing at configure time
CMAKE_ARGS=(
  -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
  -DMGR_BUILD_TESTS=ON -DMGR_BUILD_BENCH=ON -DMGR_POSTGRES=OFF
  # torch/ itself, so that libtorch.so is found in PyTorch and not in a system folder.
  "-DCMAKE_PREFIX_PATH=$PREFIX;$FF;${TORCH_CMAKE%/share/cmake};$TORCH_CMAKE"
  -DTorch_DIR="$TORCH_CMAKE/Torch"
  -DPKG_CONFIG_EXECUTABLE="$PKGCONF"
  -DZLIB_INCLUDE_DIR="$PREFIX/include" -DZLIB_LIBRARY="$ZLIB"
  -DSQLite3_INCLUDE_DIR="$PREFIX/include" -DSQLite3_LIBRARY="$SQLITE"
  -DMGR_CHARTJS="$PREFIX/share/javascript/chart.js/chart.min.js"
  -DMGR_PYTHON="$PY"
)
if ! step configure 150 cmake "${CMAKE_ARGS[@]}"; then
  skip build "configure failed"
  finish
fi
# "gpu" (the default): what the steps below run, not the whole test suite; "all": everything.
if [ "$TARGETS" = gpu ]; then
  TARGETS=$(ninja -C "$BUILD" -t targets all 2>/dev/null | sed -n 's/^\([A-Za-z0-9_-]*\): phony$/\1/p' |
    grep -xE 'mgr-tune|mgr-train|mgr-make-dataset|trainer_[a-z_]*_tests|pipeline_bench' | tr '\n' ' ')
  TARGETS=${TARGETS% }
fi
read -r -a targets <<<"$TARGETS"
[ "$TARGETS" = all ] && targets=()
step build 420 cmake --build "$BUILD" -j "$JOBS" ${targets[@]:+--target "${targets[@]}"}
fig build_targets "$TARGETS"

# Where each dependency resolved: CMake's cache and the binaries' libraries. Anything outside
# the bundle, PyTorch/CUDA and the C/C++ runtime is listed in foreign_libraries.
deps_report() {
  grep -E '^([A-Za-z0-9_]+_(DIR|LIBRARY|LIBRARY_RELEASE|INCLUDE_DIR|EXECUTABLE)|FFMPEG_(INCLUDE|LIBRARY)_DIRS|pkgcfg_lib_[A-Za-z_]+):' \
    "$BUILD/CMakeCache.txt" | grep -vE -- '-ADVANCED|NOTFOUND|^(CUDA|CMAKE|mgr_tune)_' | sort
  local foreign="" b lib path
  for b in "$BUILD"/tuner/mgr-tune "$BUILD"/trainer/mgr-train "$BUILD"/tools/mgr-make-dataset \
    "$BUILD"/tests/trainer/trainer_*_tests; do
    [ -x "$b" ] || continue
    echo "--- ldd $b"
    while read -r lib path; do
      echo "$lib $path"
      case "$path" in
        "$BUNDLE"/* | */torch/lib/* | */nvidia/* | */cuda*/*) ;;
        */libc.so.* | */libm.so.* | */libstdc++.so.* | */libgcc_s.so.* | */ld-linux* | \
          */libpthread.so.* | */libdl.so.* | */librt.so.* | */libutil.so.* | "$ZLIB" | "$SQLITE") ;;
        *) foreign="$foreign $(basename "$b"):$lib=$path" ;;
      esac
    done < <(ldd "$b" | awk '$2 == "=>" {print $1, $3}')
  done
  echo "foreign: ${foreign:-none}"
  fig foreign_libraries "${foreign:-none}"
  # Headers of the bundled packages read from the system instead (ninja's dependency log).
  local headers
  headers=$(ninja -C "$BUILD" -t deps 2>/dev/null | grep -oE '^ +/usr/include/(boost|eigen3|nlohmann|CLI|gtest|gmock|sqlite3|zlib|zconf|libav[a-z]*|libswresample|lame)[^ ]*' |
    sort -u | head -20 | tr -d ' ' | tr '\n' ' ')
  echo "system headers of bundled packages: ${headers:-none}"
  fig foreign_headers "${headers:-none}"
  [ -z "$foreign" ] && [ -z "$headers" ]
}
export ZLIB SQLITE
export -f deps_report
step deps 30 deps_report

# --- the GPU tests ---------------------------------------------------------------------------
mkdir -p "$WORK/tests"
ntest=0
for t in "$BUILD"/tests/trainer/trainer_*_tests "$BUILD"/tests/trainer/*/trainer_*_tests; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  # Only binaries that have GPU tests (the filter matching nothing is no result).
  "$t" --gtest_list_tests --gtest_filter='*Gpu*' 2>/dev/null | grep -q '^  ' || continue
  ntest=$((ntest + 1))
  step "gpu_tests:$name" 150 "$t" --gtest_filter='*Gpu*' --gtest_output="json:$WORK/tests/$name.json"
done
fig gpu_test_binaries "$ntest"
[ "$ntest" -gt 0 ] || skip gpu_tests "no built test binary has a test matching *Gpu*"

# --- a study: two workers sharing the one GPU --------------------------------------------------
STUDY_DIR=$WORK/study
mkdir -p "$STUDY_DIR"
MGR_TRAIN=$(find "$BUILD/trainer" -name mgr-train -type f -perm -u+x 2>/dev/null | head -1)
if [ -x "$BUILD/tools/mgr-make-dataset" ] && [ -x "$BUILD/tuner/mgr-tune" ] && [ -n "$MGR_TRAIN" ]; then
  if step dataset 90 "$BUILD/tools/mgr-make-dataset" --size demo --out "$STUDY_DIR/data" --seed 0; then
    # examples/gpu_check.json with this run's dataset paths (relative to the study file).
    sed -e 's|"\.\./demo/|"./|g' "$ROOT/examples/gpu_check.json" >"$STUDY_DIR/gpu_check.json"
    # Samples GPU memory, utilisation and how many processes use the GPU while the study runs.
    if $GPU; then
      (while sleep 1; do
        echo "$(nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader,nounits | head -1)," \
          "$(nvidia-smi --query-compute-apps=pid --format=csv,noheader | wc -l)"
      done) >"$WORK/gpu-samples.csv" 2>/dev/null &
      SAMPLER=$!
    fi
    t=$SECONDS
    (cd "$STUDY_DIR" && step study 180 "$BUILD/tuner/mgr-tune" run gpu_check.json --plain \
      --worker "$MGR_TRAIN")
    fig study_wall_seconds "$((SECONDS - t))"
    [ -n "${SAMPLER:-}" ] && kill "$SAMPLER" 2>/dev/null
    while read -r state count; do fig "study_trials_$state" "$count"; done < <("$PY" - \
      "$STUDY_DIR/gpu_check.db" <<'EOF' 2>>"$LOG"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for state, n in db.execute("SELECT state, COUNT(*) FROM trials GROUP BY state"):
    print(str(state).lower(), n)
EOF
    )
    if [ -s "$WORK/gpu-samples.csv" ]; then
      fig study_gpu_max "$(awk -F', *' '{if ($1 > m) m = $1; if ($2 > u) u = $2; if ($3 > p) p = $3}
        END {printf "memory %d MiB, utilisation %d %%, %d processes", m, u, p}' "$WORK/gpu-samples.csv")"
    fi
    cp "$STUDY_DIR/gpu_check.json" "$WORK/study.json"
  fi
else
  skip study "mgr-tune, mgr-train or mgr-make-dataset not built"
fi

# --- benchmarks ------------------------------------------------------------------------------
export MGR_BUILD_DIR=$BUILD MGR_PYTHON=$PY
DEVICE=cpu
$GPU && DEVICE=cuda
fig bench_device "$DEVICE"
# bench_tail NAME: the last lines of a benchmark's output, as a figure.
bench_tail() { fig "bench_$1" "$(sed -n "/^=== step bench_$1 /,\$p" "$LOG" | tail -n 15 | tr '\n' '|')"; }
mkdir -p "$WORK/bench"
if [ -f "$ROOT/bench/race.sh" ] && [ -n "$MGR_TRAIN" ]; then
  # Writes its own figures as JSON: gpu-check.json holds them under "bench".
  step bench_race 200 bash "$ROOT/bench/race.sh" --build "$BUILD" --mgr-train "$MGR_TRAIN" \
    --device "$DEVICE" --python "$PY" --workers 2 --work "$WORK/race" --out "$WORK/bench/race.json"
  bench_tail race
else
  skip bench_race "bench/race.sh does not exist or mgr-train is not built"
fi
if [ -x "$BUILD/bench/pipeline_bench" ]; then
  threads=2
  $GPU && threads=8  # the GPU machine's 16 cores: the loader should keep up with the GPU
  step bench_pipeline 120 "$BUILD/bench/pipeline_bench" --device "$DEVICE" --threads "$threads" \
    --dataset "$WORK/pipeline"
  bench_tail pipeline
else
  skip bench_pipeline "bench/pipeline_bench not built"
fi

finish
