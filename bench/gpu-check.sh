#!/bin/sh
# bench/gpu-check.sh: the GPU checks and timings, in one run, on a machine
# with a CUDA device (the committed form of the scripts run on the
# workplace's device machine; docs/nn.md, docs/rbf.md, docs/separate.md).
#
#   sh bench/gpu-check.sh [BUILD_DIR]      (default: build)
#
# 1. every test that needs a GPU: the device query and self-test, the
#    log-Bessel batch, RBF renders, gradients and fits, Conv-TasNet inference
#    (against the CPU and the PyTorch fixtures) and training (gradients
#    against the CPU, Adam steps between GPU passes);
# 2. RBF fits of Kodak 256x256 centre crops on the GPU (needs ImageMagick's
#    convert for the crops; skipped without it);
# 3. Conv-TasNet inference, 8 s of 8 kHz audio, batch 1: circa on the GPU and
#    on 1 and 2 CPU threads, beside PyTorch on the same GPU and CPU
#    (bench/tasnet_infer_torch.py; skipped where python3 has no torch), for
#    the shipped size and the 1.27M default; and 600 s on the GPU.
# Needs BUILD_DIR/bench/nn_speed (cmake --build BUILD_DIR --target nn_speed).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
circa=$build/cli/circa
command -v nvidia-smi >/dev/null && nvidia-smi -L
"$circa" -v --version | grep CUDA
"$circa" -v --version | grep -q "^CUDA device 0" || { echo "gpu-check: circa sees no CUDA device" >&2; exit 2; }
status=0
echo "== tests"
for t in "test_cuda" "test_special --filter special/cuda*" "test_rbf_cuda" "test_tasnet --filter tasnet/gpu*"; do
    set -- $t
    "$build/tests/$1" ${2:+"$2"} ${3:+"$3"} --verbose -j4 2>&1 | grep -E "GPU|CUDA|Synthesis|FAIL" || true
    "$build/tests/$1" ${2:+"$2"} ${3:+"$3"} -j4 >/dev/null 2>&1 || status=1
done
echo "== RBF fits of Kodak crops on the GPU (8000 steps)"
if command -v convert >/dev/null; then
    tmp=$(mktemp -d)
    for k in 01 05 23; do
        convert "$here/corpora/kodak/kodim$k.png" -gravity center -crop 256x256+0+0 +repage "$tmp/k$k.png"
        s=$(date +%s.%N)
        "$circa" rbf fit --gpu -q -f "$tmp/k$k.png" -o "$tmp/k$k.rbf" || status=1
        e=$(date +%s.%N)
        printf 'kodim%s: %s s, ' "$k" "$(echo "$e - $s" | bc)"
        "$circa" rbf render --gpu -f "$tmp/k$k.rbf" -o "$tmp/r.png" && compare -metric PSNR "$tmp/k$k.png" "$tmp/r.png" null: 2>&1 | sed 's/$/ dB/'
    done
    rm -rf "$tmp"
else
    echo "no ImageMagick: skipped"
fi
echo "== Conv-TasNet inference, 8 s at 8 kHz, batch 1"
py=python3
$py -c 'import torch' 2>/dev/null || py=
for big in "" --big; do
    "$build/bench/nn_speed" --infer $big --gpu -n 21
    for T in 1 2; do "$build/bench/nn_speed" --infer $big -T $T -n 5; done
    if [ -n "$py" ]; then
        $py "$here/bench/tasnet_infer_torch.py" $big --device cuda --reps 21
        for T in 1 2; do $py "$here/bench/tasnet_infer_torch.py" $big --threads $T --reps 5; done
    fi
done
"$build/bench/nn_speed" --infer --big --gpu --seconds 600 -n 3
[ -n "$py" ] && $py "$here/bench/tasnet_infer_torch.py" --big --device cuda --seconds 600 --reps 3
exit $status
