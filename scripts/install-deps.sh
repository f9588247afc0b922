#!/bin/sh
# install-deps.sh: installs the Debian packages circa needs to build, test and benchmark.
# Runs apt-get when root (or through sudo when available); otherwise prints the command to run.
set -eu

# Build and test dependencies (required).
BUILD="cmake make gcc pkg-config zlib1g-dev libdeflate-dev libpng-dev libsndfile1-dev libfftw3-dev libcriterion-dev"
# Tools the tests and demo compare against or drive (optional for the library itself).
# sox, ffmpeg and flac: the audio pipe tests round-trip through them.
TOOLS="gzip xz-utils zstd brotli clang valgrind sox ffmpeg flac time"
# Benchmarks only (make bench, bench/*): reference implementations to compare against.
BENCH="libsamplerate0-dev libgsl-dev python3-scipy python3-mpmath webp libjxl-tools imagemagick libjpeg-turbo-progs gnuplot-nox dataset-fashion-mnist"

# `install-deps.sh --bench` also installs what the benchmarks compare against.
WANT="$BUILD $TOOLS"
[ "${1:-}" = "--bench" ] && WANT="$WANT $BENCH"
missing=""
for p in $WANT; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "circa: installing missing packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "circa: not root; please run: apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2 || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
