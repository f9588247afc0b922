#!/bin/sh
# bench/bessel-floors.sh [BUILD_DIR]: times cut-down and changed copies of circa's
# log K_v(x) beside GSL and the library (bench/bessel_floors.c), the measurements
# behind docs/bessel.md 4.5 ("Where this leaves the goal"). Generates the prototype
# tables first (bench/bessel_floors_tables.py: python3-mpmath and python3-numpy,
# about a minute), then builds against BUILD_DIR/libcirca.a and GSL (libgsl-dev).
# Keep the machine quiet: the table is a set of times.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
if [ ! -f "$build/libcirca.a" ]; then
    echo "bessel-floors.sh: $build/libcirca.a not found: build first" >&2
    exit 2
fi
tables=$build/bessel_floors_tables.h
[ -f "$tables" ] || "$py" "$here/bench/bessel_floors_tables.py" "$tables"
libs_private=$(sed -n 's/^Libs.private: //p' "$build/circa.pc" 2>/dev/null || true)
cc -O3 -std=c11 -ffp-contract=off -Wall -Wextra -I "$here/include" -I "$build" \
    "$here/bench/bessel_floors.c" "$build/libcirca.a" $libs_private -lgsl -lgslcblas -lm \
    -o "$build/bench_bessel_floors"
"$build/bench_bessel_floors" "$here/tests/fixtures/bessel_log.tsv" 3
