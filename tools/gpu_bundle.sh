#!/usr/bin/env bash
# Prepares .gpu-bundle/: what tools/gpu_check.sh needs on a GPU machine that has PyTorch,
# CUDA, CMake and g++ but no package registry and none of Debian's -dev packages
# (docs/gpu.md, "The GPU check"). Runs here, on Debian 12 with apt and PyPI reachable.
#   prefix/usr/   headers, CMake configs and libraries unpacked from Debian 12's packages
#                 (Boost: only the headers mgr-tune's sources include); .pc files relative
#   tools/        pkg-config (Debian's pkgconf, behind a wrapper that finds its library)
#   src/          FFmpeg's source tarball: gpu_check.sh builds a minimal FFmpeg there
#                 (the .so closure of Debian's FFmpeg is about 166 MB)
#   fallback/     libsqlite3.so.0, used only where the host has none
#   wheels/       Optuna 4 and the dependencies the GPU machine's Python 3.12 lacks
# Usage: bash tools/gpu_bundle.sh [DIR]   (default .gpu-bundle in the repository root)
# Fails when the bundle exceeds MGR_BUNDLE_MAX_MB (60).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUNDLE=$(realpath -m "${1:-$ROOT/.gpu-bundle}")
MAX_MB=${MGR_BUNDLE_MAX_MB:-60}
ARCH=x86_64-linux-gnu
# The GPU machine's image lacks these; it has numpy, packaging, tqdm, PyYAML, MarkupSafe,
# typing-extensions (docs/gpu.md), whose wheels are dropped after pip resolves.
OPTUNA_SPEC=${MGR_BUNDLE_OPTUNA:-optuna>=4,<5}
IMAGE_HAS_WHEELS='^(numpy|packaging|tqdm|pyyaml|markupsafe|typing_extensions)-'

# Unpacked whole into prefix/ (headers, CMake configs, static GoogleTest, Boost's .so).
DEBS=(
  nlohmann-json3-dev libeigen3-dev libcli11-dev libgtest-dev libgmock-dev
  libsqlite3-dev zlib1g-dev libmp3lame-dev libmp3lame0 libjs-chart.js
  libboost-filesystem1.74-dev libboost-filesystem1.74.0
  libboost-system1.74-dev libboost-system1.74.0
)

say() { echo "gpu_bundle: $*" >&2; }
die() { say "$*"; exit 1; }

command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "needs apt-get and dpkg (Debian 12)"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
rm -rf "$BUNDLE"
mkdir -p "$BUNDLE"/{prefix,tools,src,fallback/lib,wheels} "$WORK/debs"

say "downloading ${#DEBS[@]} Debian packages, pkgconf, libboost1.74-dev, libsqlite3-0"
(cd "$WORK/debs" && apt-get download -q "${DEBS[@]}" pkgconf pkgconf-bin libpkgconf3 \
  libboost1.74-dev libsqlite3-0 >&2) || die "apt-get download failed (run apt-get update?)"
for p in "${DEBS[@]}"; do
  dpkg -x "$WORK/debs/${p}_"*.deb "$BUNDLE/prefix"
done

# Boost: its CMake configs, and the headers that the sources including <boost/...> reach.
dpkg -x "$WORK"/debs/libboost1.74-dev_*.deb "$WORK/boost"
cp -a "$WORK/boost/usr/lib/$ARCH/cmake/." "$BUNDLE/prefix/usr/lib/$ARCH/cmake/"
mapfile -t boost_users < <(cd "$ROOT" && grep -rl --include='*.cc' --include='*.h' \
  '#include <boost/' storage samplers studies tuner trainer tests bench tools 2>/dev/null)
[ ${#boost_users[@]} -gt 0 ] || die "no source includes <boost/...>: nothing to collect"
for src in "${boost_users[@]}" boost/version.hpp; do
  if [ "$src" = boost/version.hpp ]; then echo "#include <boost/version.hpp>" >"$WORK/v.cc"; src="$WORK/v.cc"; fi
  (cd "$ROOT" && g++ -std=c++17 -M -MG -I"$WORK/boost/usr/include" -I. "$src") |
    tr ' \\' '\n\n' | grep "^$WORK/boost/usr/include/boost/" || true
done | sort -u >"$WORK/boost-headers"
say "Boost: $(wc -l <"$WORK/boost-headers") headers reached from ${#boost_users[@]} sources"
while read -r h; do
  rel=${h#"$WORK/boost/"}
  mkdir -p "$BUNDLE/prefix/$(dirname "$rel")"
  cp "$h" "$BUNDLE/prefix/$rel"
done <"$WORK/boost-headers"

# The hosts' own libz.so.1 serves at link and run time (gpu_check.sh points CMake at it).
rm -f "$BUNDLE/prefix/usr/lib/$ARCH/libz.so" "$BUNDLE/prefix/usr/lib/$ARCH/libz.a"
# libsqlite3: the host's when it has one (Python needs it), else this copy.
dpkg -x "$WORK"/debs/libsqlite3-0_*.deb "$WORK/sqlite"
cp -a "$WORK/sqlite/usr/lib/$ARCH/"libsqlite3.so.0* "$BUNDLE/fallback/lib/"
rm -f "$BUNDLE/prefix/usr/lib/$ARCH/libsqlite3.so" "$BUNDLE/prefix/usr/lib/$ARCH/libsqlite3.a"
# Static archives other than GoogleTest's are never linked; documentation is never read.
find "$BUNDLE/prefix" -name '*.a' ! -name 'libg*test*.a' ! -name 'libgmock*.a' -delete
rm -rf "$BUNDLE/prefix/usr/share/doc" "$BUNDLE/prefix/usr/share/lintian" \
  "$BUNDLE/prefix/usr/share/man" "$BUNDLE/prefix/usr/src"
# .pc files relative to where they lie, so pkg-config works wherever the bundle travels.
find "$BUNDLE/prefix" -name '*.pc' -print0 | while IFS= read -r -d '' pc; do
  dir=$(dirname "${pc#"$BUNDLE/prefix/usr/"}")  # e.g. lib/x86_64-linux-gnu/pkgconfig
  up=$(echo "$dir" | sed 's|[^/][^/]*|..|g')
  sed -i -e "s|^prefix=.*|prefix=\${pcfiledir}/$up|" \
    -e 's|^\([a-z_]*dir\)=/usr/|\1=${prefix}/|' "$pc"
done

# pkg-config: Debian's pkgconf and its library, behind a wrapper.
for p in pkgconf-bin libpkgconf3; do dpkg -x "$WORK/debs/${p}_"*.deb "$WORK/pkgconf"; done
cp "$WORK/pkgconf/usr/bin/pkgconf" "$BUNDLE/tools/"
cp -a "$WORK/pkgconf/usr/lib/$ARCH/"libpkgconf.so.3* "$BUNDLE/tools/"
cat >"$BUNDLE/tools/pkg-config" <<'EOF'
#!/bin/sh
# Debian 12's pkgconf with its own library (tools/gpu_bundle.sh).
d=$(dirname "$(readlink -f "$0")")
LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$d/pkgconf" "$@"
EOF
chmod +x "$BUNDLE/tools/pkg-config"

# FFmpeg's source: the version of Debian 12's FFmpeg, from Debian's pool.
FFV=$(apt-cache policy ffmpeg | sed -n 's/^ *Candidate: *[0-9]*:\([0-9.]*\).*/\1/p')
[ -n "$FFV" ] || die "apt-cache knows no ffmpeg candidate"
tarball="ffmpeg_$FFV.orig.tar.xz"
for base in https://deb.debian.org/debian https://deb.debian.org/debian-security; do
  curl -fsSL -o "$BUNDLE/src/$tarball" "$base/pool/main/f/ffmpeg/$tarball" && break
  rm -f "$BUNDLE/src/$tarball"
done
[ -s "$BUNDLE/src/$tarball" ] || die "could not fetch $tarball from deb.debian.org's pool"
say "FFmpeg $FFV source: $(du -h "$BUNDLE/src/$tarball" | cut -f1)"

# Wheels for Python 3.12 on x86-64 (the GPU machine's python3).
PIP=()
for py in python3 /tmp/tv/bin/python; do
  if "$py" -m pip --version >/dev/null 2>&1; then PIP=("$py" -m pip); break; fi
done
if [ ${#PIP[@]} -eq 0 ]; then
  python3 -m venv "$WORK/venv" >&2 || die "no pip and no python3-venv to make one"
  PIP=("$WORK/venv/bin/python" -m pip)
fi
platforms=()
for n in 2_28 2_27 2_17 2014 1; do
  case $n in 2014) platforms+=(--platform manylinux2014_x86_64) ;;
    1) platforms+=(--platform manylinux1_x86_64) ;;
    *) platforms+=(--platform "manylinux_${n}_x86_64") ;; esac
done
"${PIP[@]}" download -q --disable-pip-version-check --only-binary=:all: --python-version 3.12 \
  --implementation cp "${platforms[@]}" --platform any -d "$BUNDLE/wheels" "$OPTUNA_SPEC" >&2 ||
  die "pip download of $OPTUNA_SPEC failed"
for w in "$BUNDLE"/wheels/*.whl; do
  if basename "$w" | tr 'A-Z' 'a-z' | grep -qE "$IMAGE_HAS_WHEELS"; then rm "$w"; fi
done

{
  echo "# tools/gpu_bundle.sh, $(date -u +%FT%TZ)"
  echo "debian_packages: ${DEBS[*]} pkgconf libboost1.74-dev(headers: $(wc -l <"$WORK/boost-headers")) libsqlite3-0"
  echo "ffmpeg_source: src/$tarball"
  echo "wheels: $(cd "$BUNDLE/wheels" && ls | tr '\n' ' ')"
} >"$BUNDLE/MANIFEST.txt"

size_kb=$(du -sk "$BUNDLE" | cut -f1)
echo "gpu_bundle: $BUNDLE: $((size_kb / 1024)) MB ($(find "$BUNDLE" -type f | wc -l) files);" \
  "wheels: $(cd "$BUNDLE/wheels" && ls | tr '\n' ' ')"
if [ "$size_kb" -gt $((MAX_MB * 1024)) ]; then
  die "$BUNDLE is $((size_kb / 1024)) MB, over the limit of $MAX_MB MB"
fi
