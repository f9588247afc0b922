#!/bin/sh
# bench/separate-speed.sh: inference speed of the shipped separation models, circa beside
# PyTorch on the same architecture and weights (bench/tasnet_infer_torch.py loads the model
# file), one signal of SECONDS at 8 kHz, batch 1, at 1 and 2 threads, in one run. Medians of
# REPS runs after one warm-up; RTF = time / audio time. Keep the machine quiet.
#
#   sh bench/separate-speed.sh [BUILD_DIR] [REPS] [SECONDS]   (default: build, 5, 8)
#
# Needs BUILD_DIR/bench/nn_speed and, for the PyTorch side, /usr/bin/python3 with torch
# (Debian's python3-torch; skipped without it).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
reps=${2:-5}
secs=${3:-8}
py=/usr/bin/python3
"$py" -c 'import torch' 2>/dev/null || py=
for m in "$here"/models/*.cnn; do
    for t in 1 2; do
        "$build/bench/nn_speed" --infer --model "$m" -T "$t" -n "$reps" --seconds "$secs"
        [ -z "$py" ] || "$py" "$here/bench/tasnet_infer_torch.py" --model "$m" --threads "$t" --reps "$reps" --seconds "$secs"
    done
done
