#!/bin/sh
# bench/bessel.sh: circa's log I_v(x), log K_v(x) against GSL and SciPy over the
# mpmath fixture: accuracy and speed per region, one table (docs/bessel.md).
#
#   sh bench/bessel.sh [BUILD_DIR]      (default: build; needs libcirca.a and .so there)
#   sh bench/bessel.sh --callgrind [BUILD_DIR]
#                                       instructions per call per region, circa and GSL,
#                                       under valgrind: repeatable, unlike times on a
#                                       shared machine (needs valgrind)
#
# Needs the Debian packages libgsl-dev (GSL), python3-numpy and python3-scipy.
# Builds bench/bessel.c against BUILD_DIR/libcirca.a with cc. Keep the machine
# quiet while it runs: times are CPU time, medians of 5 runs.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
callgrind=0
if [ "${1:-}" = --callgrind ]; then
    callgrind=1
    shift
fi
build=${1:-$here/build}
fixture=$here/tests/fixtures/bessel_log.tsv
py=/usr/bin/python3
[ -x "$py" ] || py=python3

if [ ! -f "$build/libcirca.a" ]; then
    echo "bessel.sh: $build/libcirca.a not found: build first (make build, or cmake --build)" >&2
    exit 2
fi
# The static library's private link flags (the CUDA runtime in a CUDA build).
libs_private=$(sed -n 's/^Libs.private: //p' "$build/circa.pc" 2>/dev/null || true)
bin=$build/bench_bessel
cc -O2 -std=c11 -ffp-contract=off -Wall -Wextra -I "$here/include" \
    "$here/bench/bessel.c" "$build/libcirca.a" $libs_private -lgsl -lgslcblas -lm -o "$bin"

# Instructions inside count_calls() per call, for one library and region.
instructions() {
    out=$build/bench_bessel_cg.out
    m=$(valgrind --tool=callgrind --toggle-collect='count_calls*' --callgrind-out-file="$out" \
        "$bin" "$fixture" --count "$1" "$2" "$3" 2>/dev/null | sed -n 's/^points //p')
    ir=$(callgrind_annotate "$out" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
    rm -f "$out"
    echo "$m $((ir / m))"
}

if [ "$callgrind" = 1 ]; then
    printf '%-6s %-12s %6s %12s %12s %8s\n' func region points circa_instr gsl_instr ratio
    for f in i k; do
        r=0
        for name in "large x" "Debye" "middle x<=2" "middle x>2" "all"; do
            [ "$name" = all ] && r=-1
            set -- $(instructions "$f" circa "$r")
            m=$1 mine=$2
            set -- $(instructions "$f" gsl "$r")
            awk -v f="log $(echo $f | tr ik IK)" -v n="$name" -v m="$m" -v a="$mine" -v b="$2" \
                'BEGIN { printf "%-6s %-12s %6s %12s %12s %7.1fx\n", f, n, m, a, b, b / a }'
            r=$((r + 1))
        done
    done
    exit 0
fi

printf '%-6s %-12s %-7s %6s %6s %10s %10s %9s %8s\n' \
    func region library points fails max_err med_err ns/call speedup
"$bin" "$fixture" > "$build/bench_bessel_gsl.txt"
"$py" "$here/bench/bessel_scipy.py" --lib "$build/libcirca.so" --fixture "$fixture" \
    > "$build/bench_bessel_scipy.txt"
# Group the rows by function and region: circa, GSL, then circa (batch), SciPy.
for f in "log I" "log K"; do
    for r in "large x" "Debye" "middle x<=2" "middle x>2" "all"; do
        grep -h "^$f  *$r " "$build/bench_bessel_gsl.txt"
        grep -h "^$f  *$r " "$build/bench_bessel_scipy.txt" | sed 's/ circa  / circa* /'
    done
done
grep -h '^#' "$build/bench_bessel_gsl.txt" "$build/bench_bessel_scipy.txt"
echo "# circa*: the batch API timed vectorised, as SciPy's ufuncs are"
