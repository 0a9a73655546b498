#!/usr/bin/env bash
# Builds the fuzz targets as libFuzzer binaries (clang, AddressSanitizer and
# UndefinedBehaviorSanitizer) and fuzzes each one for SECONDS_PER_TARGET seconds, starting from
# a copy of its seed corpus (tests/<folder>/fuzz_corpus/<target>/). Fails if any target finds a
# crash, a leak, a timeout or a sanitizer error; the input is left as
# <build>/fuzz-out/<target>/crash-* (or leak-*, timeout-*). Once fixed, copy it into the seed
# corpus: every ctest run replays the corpus (test <target>, label "fuzz").
#
# Usage: tools/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]   (default 30 s, every target)
# Environment: MGR_FUZZ_BUILD_DIR (build-fuzz), CXX (clang++-14), MGR_FUZZ_JOBS (build jobs,
# nproc), MGR_FUZZ_ARGS (more libFuzzer flags, e.g. -runs=1000000 with SECONDS_PER_TARGET 0).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-30}
[[ $# -gt 0 ]] && shift
BUILD_DIR=${MGR_FUZZ_BUILD_DIR:-build-fuzz}

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="${CXX:-clang++-14}" -DMGR_FUZZ=ON \
  -DMGR_TRAINER_TORCH=OFF -DMGR_BUILD_BENCH=OFF -DMGR_BUILD_TESTS=ON >/dev/null
cmake --build "$BUILD_DIR" -j "${MGR_FUZZ_JOBS:-$(nproc)}" --target mgr_fuzz_targets

# <build>/fuzz/<target>.txt: the binary, the seed corpus, the dictionary (may be empty).
if [[ $# -gt 0 ]]; then
  manifests=()
  for t in "$@"; do manifests+=("$BUILD_DIR/fuzz/$t.txt"); done
else
  manifests=("$BUILD_DIR"/fuzz/*.txt)
fi
failed=()
for manifest in "${manifests[@]}"; do
  target=$(basename "$manifest" .txt)
  { read -r binary; read -r corpus; read -r dict || true; } <"$manifest"
  out="$BUILD_DIR/fuzz-out/$target"
  rm -rf "$out"
  mkdir -p "$out/corpus"
  cp -r "$corpus/." "$out/corpus/"
  flags=(-max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=16384
         -print_final_stats=1 -artifact_prefix="$out/")
  [[ -n "${dict:-}" ]] && flags+=(-dict="$dict")
  echo "== $target: ${SECONDS_PER_TARGET}s ${MGR_FUZZ_ARGS:-}"
  start=$SECONDS
  # shellcheck disable=SC2086  # MGR_FUZZ_ARGS is a list of flags
  if "$binary" "${flags[@]}" ${MGR_FUZZ_ARGS:-} "$out/corpus" >"$out/log" 2>&1; then
    echo "   ok in $((SECONDS - start))s: $(grep -E '^stat::number_of_executed_units' "$out/log" |
      awk '{print $2}') runs, corpus $(ls "$out/corpus" | wc -l) inputs"
  else
    echo "   FAILED (log: $out/log)"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*_fuzz: )' "$out/log" | head -5 || true
    ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null || true
    failed+=("$target")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#manifests[@]} targets, no crash"
