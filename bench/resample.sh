#!/bin/sh
# bench/resample.sh: circa's resampler presets against `sox rate -v` and
# libsamplerate (SRC_SINC_BEST_QUALITY) on 60 s of stereo float audio, 44.1 ->
# 48 kHz and 48 -> 8 kHz: wall and CPU seconds (median of --repeat runs, each
# file to file) and SNR of a 1 kHz sine against the analytic sine at the
# output rate (0.5 s trimmed at each end); then `circa fir` against `sox fir`
# with a 2 s impulse response. Prints markdown tables.
#   sh bench/resample.sh [--circa PATH] [--repeat N] [--seconds S]
# Needs: sox, a C compiler, libsndfile-dev; libsamplerate0-dev for the SRC row.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CIRCA=$ROOT/build/cli/circa
REPEAT=3
SECS=60
while [ $# -gt 0 ]; do
    case $1 in
    --circa) CIRCA=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    *) echo "usage: sh bench/resample.sh [--circa PATH] [--repeat N] [--seconds S]" >&2; exit 1 ;;
    esac
done
[ -x "$CIRCA" ] || { echo "bench/resample.sh: no circa at $CIRCA (build first)" >&2; exit 1; }
command -v sox >/dev/null || { echo "bench/resample.sh: needs sox" >&2; exit 1; }
CC=${CC:-cc}

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
$CC -O2 -o "$T/tool" "$ROOT/bench/resample_tool.c" -lsndfile -lm
HAVE_SRC=0
if $CC -O2 -o "$T/src" "$ROOT/bench/resample_src.c" -lsamplerate -lsndfile 2>/dev/null; then HAVE_SRC=1; fi

# median of numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# timed NAME CMD...: runs CMD REPEAT times; sets WALL and CPU (medians, s).
timed() {
    : > "$T/wall"; : > "$T/cpu"
    for r in $(seq "$REPEAT"); do
        /usr/bin/env time -f "%e %U %S" -o "$T/time" "$@" 2>/dev/null >/dev/null \
            || { echo "bench/resample.sh: failed: $*" >&2; exit 2; }
        awk '{ print $1 }' "$T/time" >> "$T/wall"
        awk '{ print $2 + $3 }' "$T/time" >> "$T/cpu"
    done
    WALL=$(median < "$T/wall")
    CPU=$(median < "$T/cpu")
}

row() { # case converter out.wav
    set -- "$1" "$2" $("$T/tool" snr "$3" 1000 0.5 0.5)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$WALL" "$CPU" "$3" "$4"
}

echo "resampling ${SECS} s of stereo float32 (1 kHz sine, amplitude 0.5), median of $REPEAT; $(nproc) cores"
echo
echo "| conversion | converter | wall s | CPU s | SNR dB (aligned) | SNR dB (best fit) |"
echo "|---|---|---|---|---|---|"
for pair in 44100:48000 48000:8000; do
    in=${pair%:*} out=${pair#*:}
    name=$(echo "$in $out" | awk '{ printf "%g -> %g kHz", $1 / 1000, $2 / 1000 }')
    "$T/tool" gen "$T/in.wav" "$in" "$SECS" 1000 0.5 2
    for q in low medium high best; do
        timed "$CIRCA" resample -r "$out" -q $q "$T/in.wav" -o "$T/out.wav" -f
        row "$name" "circa -q $q" "$T/out.wav"
    done
    timed sox "$T/in.wav" -e floating-point -b 32 "$T/out.wav" rate -v "$out"
    row "$name" "sox rate -v" "$T/out.wav"
    if [ $HAVE_SRC = 1 ]; then
        timed "$T/src" "$T/in.wav" "$T/out.wav" "$out"
        row "$name" "libsamplerate best" "$T/out.wav"
    fi
done

# ---- fir: a 2 s decaying-noise IR, as sox coefficients and as a float WAV ----
"$T/tool" gen "$T/in.wav" 44100 "$SECS" 1000 0.5 2
awk 'BEGIN { srand(1); n = 88200; for (k = 0; k < n; k++) printf "%.9g\n", (2 * rand() - 1) * exp(-5 * k / n) * 0.02 }' > "$T/ir.txt"
awk 'BEGIN { print "; Sample Rate 44100"; print "; Channels 1" } { printf "%.10f %s\n", (NR - 1) / 44100, $1 }' "$T/ir.txt" > "$T/ir.dat"
sox "$T/ir.dat" -e floating-point -b 32 "$T/ir.wav"
echo
echo "convolution: ${SECS} s stereo 44.1 kHz float32 with a 2 s (88200-tap) IR, median of $REPEAT"
echo
echo "| converter | wall s | CPU s |"
echo "|---|---|---|"
timed "$CIRCA" fir "$T/ir.wav" "$T/in.wav" -o "$T/circa_fir.wav" -f
echo "| circa fir | $WALL | $CPU |"
timed sox "$T/in.wav" "$T/sox_fir.wav" fir "$T/ir.txt"
echo "| sox fir | $WALL | $CPU |"
echo
# sox fir removes (taps - 1) / 2 frames of delay and keeps the input length;
# circa fir keeps the whole convolution: compare with that shift.
echo "circa fir against sox fir (shifted by 44099 frames): $("$T/tool" cmp "$T/sox_fir.wav" "$T/circa_fir.wav" 44099) dB SNR"
