#!/bin/sh
# bench/nn-speed.sh: one Conv-TasNet training step (forward, PIT SI-SNR loss,
# backward, gradient clipping, Adam) and the heavy conv ops, circa beside
# PyTorch, at the shipped model size (models/separate-recipe.sh: N 64, L 16,
# B 64, H 128, Sc 64, P 3, X 6, R 2, C 2, gLN), batch 4 x 2 s of 8 kHz audio,
# at 1 and 2 threads. Medians of REPS runs after one warm-up (docs/nn.md).
#
#   sh bench/nn-speed.sh [BUILD_DIR] [REPS]   (default: build, 5)
#
# Needs BUILD_DIR/bench/nn_speed (cmake --build BUILD_DIR --target nn_speed)
# and, for the PyTorch side, Debian's python3-torch (/usr/bin/python3; the
# side is skipped when torch is missing). NN_SPEED_BIN overrides the binary;
# NN_SPEED_BEFORE=PATH also runs another nn_speed build (say, one linked
# against an older nn room) before it, its lines labelled "before". Keep the
# machine quiet while it runs.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
reps=${2:-5}
bin=${NN_SPEED_BIN:-$build/bench/nn_speed}
if [ ! -x "$bin" ]; then
    echo "nn-speed.sh: $bin not found: cmake --build $build --target nn_speed" >&2
    exit 2
fi
for t in 1 2; do
    if [ -n "${NN_SPEED_BEFORE:-}" ]; then
        "$NN_SPEED_BEFORE" -T "$t" -n "$reps" | sed 's/^circa /before /'
    fi
    "$bin" -T "$t" -n "$reps"
done

py=/usr/bin/python3
if ! "$py" -c 'import torch' 2>/dev/null; then
    echo "# torch: /usr/bin/python3 has no torch (apt-get install python3-torch): skipped"
    exit 0
fi
for t in 1 2; do
    "$py" - "$t" "$reps" "$here/bench" <<'EOF'
import sys, time, itertools
import torch
import torch.nn as nn
import torch.nn.functional as F

threads, reps, BENCH = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(threads)
torch.manual_seed(1)
EPS = 1e-8
N, L, B, H, Sc, P, X, R, C = 64, 16, 64, 128, 64, 3, 6, 2, 2
batch, T = 4, 16000


# The fixtures' Conv-TasNet (tests/fixtures/gen_tasnet_torch.py, through
# bench/tasnet_infer_torch.py, which also sets float32 back as the default).
sys.path.insert(0, BENCH)
from tasnet_infer_torch import ref  # noqa: E402


def sisnr(est, ref):
    est = est - est.mean(-1, keepdim=True)
    ref = ref - ref.mean(-1, keepdim=True)
    a = (est * ref).sum(-1, keepdim=True) / ((ref * ref).sum(-1, keepdim=True) + EPS)
    s = a * ref
    n = est - s
    return 10 * torch.log10((s * s).sum(-1) / ((n * n).sum(-1) + EPS) + EPS)


def pit_loss(est, ref):
    per = [torch.stack([sisnr(est[:, p[s]], ref[:, s]) for s in range(C)], 1).mean(1)
           for p in itertools.permutations(range(C))]
    return -torch.stack(per, 1).max(1).values.mean()


def report(what, ts):
    ts = sorted(ts)
    n = len(ts)
    med = ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])
    print("torch T=%d %-28s median_ms %9.3f min_ms %9.3f reps %d" % (threads, what, 1e3 * med, 1e3 * ts[0], n),
          flush=True)


def bench_op(name, mod, x, grad_x):
    x = x.clone().requires_grad_(grad_x)
    tf, tb = [], []
    for r in range(reps + 1):
        mod.zero_grad()
        t0 = time.perf_counter()
        y = mod(x)
        t1 = time.perf_counter()
        y.backward(torch.ones_like(y))
        t2 = time.perf_counter()
        if r:
            tf.append(t1 - t0)
            tb.append(t2 - t1)
    report(name + " fwd", tf)
    report(name + " bwd", tb)


K = (T - L) // (L // 2) + 1
print("# torch %s, %d threads; batch %d x %d samples (%d frames)" % (torch.__version__, threads, batch, T, K))
bench_op("encoder 1->64 k16 s8", nn.Conv1d(1, N, L, stride=L // 2, bias=False), torch.randn(batch, 1, T), False)
bench_op("1x1 64->128", nn.Conv1d(B, H, 1), torch.randn(batch, B, K), True)
bench_op("1x1 128->64", nn.Conv1d(H, B, 1), torch.randn(batch, H, K), True)
bench_op("depthwise 128 k3 d4", nn.Conv1d(H, H, P, dilation=4, groups=H, padding=4), torch.randn(batch, H, K), True)
bench_op("decoder 64->1 k16 s8", nn.ConvTranspose1d(N, 1, L, stride=L // 2, bias=False),
         torch.randn(batch * C, N, K), True)

net = ref.TasNet(N, L, B, H, Sc, P, X, R, C, 0).float()
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
mix, src = torch.randn(batch, T), torch.randn(batch, C, T)
tf, tb, ts = [], [], []
for r in range(reps + 1):
    t0 = time.perf_counter()
    loss = pit_loss(net(mix), src)
    t1 = time.perf_counter()
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
    opt.step()
    t2 = time.perf_counter()
    if r:
        tf.append(t1 - t0)
        tb.append(t2 - t1)
        ts.append(t2 - t0)
report("step forward+loss", tf)
report("step backward+adam", tb)
report("training step", ts)
EOF
done
