#!/usr/bin/env python3
"""bench/tasnet_infer_torch.py: PyTorch's side of `nn_speed --infer`: the same
Conv-TasNet (gLN, non-causal; the architecture of models/tasnet, built from
torch.nn) run forward on one signal of S seconds at 8 kHz, batch 1, under
torch.no_grad(), on the CPU or on CUDA device 0 (host-to-device copy, forward,
copy back and synchronisation timed together, as circa's GPU path does).
Prints the median over REPS runs after one warm-up, and the real-time factor.

    python3 bench/tasnet_infer_torch.py [--big] [--device cpu|cuda] [--threads T]
                                        [--seconds S] [--reps N]

The weights are random: speed does not depend on them."""
import argparse
import statistics
import time

import torch
import torch.nn as nn

EPS = 1e-8


class GLN(nn.Module):  # statistics over channels and frames of each item
    def __init__(self, c):
        super().__init__()
        self.g = nn.Parameter(torch.ones(c))
        self.b = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        mu = x.mean(dim=(1, 2), keepdim=True)
        var = ((x - mu) ** 2).mean(dim=(1, 2), keepdim=True)
        return self.g[None, :, None] * (x - mu) / torch.sqrt(var + EPS) + self.b[None, :, None]


class Block(nn.Module):
    def __init__(self, B, H, Sc, P, d, last):
        super().__init__()
        self.inp = nn.Conv1d(B, H, 1)
        self.prelu1, self.norm1 = nn.PReLU(1), GLN(H)
        self.dw = nn.Conv1d(H, H, P, dilation=d, groups=H, padding=(P - 1) * d // 2)
        self.prelu2, self.norm2 = nn.PReLU(1), GLN(H)
        self.res = None if last else nn.Conv1d(H, B, 1)
        self.skip = nn.Conv1d(H, Sc, 1)

    def forward(self, x):
        y = self.norm1(self.prelu1(self.inp(x)))
        y = self.norm2(self.prelu2(self.dw(y)))
        return (None if self.res is None else x + self.res(y)), self.skip(y)


class TasNet(nn.Module):
    def __init__(self, N, L, B, H, Sc, P, X, R, C=2):
        super().__init__()
        self.N, self.C = N, C
        self.enc = nn.Conv1d(1, N, L, stride=L // 2, bias=False)
        self.norm = GLN(N)
        self.inp = nn.Conv1d(N, B, 1)
        J = X * R
        self.blocks = nn.ModuleList(Block(B, H, Sc, P, 2 ** (j % X), j == J - 1) for j in range(J))
        self.prelu = nn.PReLU(1)
        self.mask = nn.Conv1d(Sc, C * N, 1)
        self.dec = nn.ConvTranspose1d(N, 1, L, stride=L // 2, bias=False)

    def forward(self, mix):
        w = self.enc(mix[:, None, :])
        r = self.inp(self.norm(w))
        skip = 0
        for blk in self.blocks:
            r, s = blk(r)
            skip = skip + s
        m = torch.sigmoid(self.mask(self.prelu(skip)))
        bsz, k = w.shape[0], w.shape[2]
        masked = m.view(bsz, self.C, self.N, k) * w[:, None]
        return self.dec(masked.reshape(bsz * self.C, self.N, k)).view(bsz, self.C, -1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    cfg = (128, 16, 64, 256, 64, 3, 8, 3) if a.big else (64, 16, 64, 128, 64, 3, 6, 2)
    L = cfg[1]
    t = int(a.seconds * 8000)
    t -= (t - L) % (L // 2)
    dev = torch.device(a.device)
    net = TasNet(*cfg).to(dev).eval()
    mix = torch.randn(1, t)
    times = []
    with torch.no_grad():
        for r in range(a.reps + 1):
            t0 = time.perf_counter()
            est = net(mix.to(dev)).cpu()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            if r:
                times.append(time.perf_counter() - t0)
    assert est.shape == (1, 2, t)
    med = statistics.median(times)
    what = "infer %s %.0f s %s" % ("1.27M" if a.big else "small", a.seconds,
                                   "GPU" if dev.type == "cuda" else "CPU")
    print("torch %s T=%d %-28s median_ms %9.3f min_ms %9.3f reps %d" % (
        torch.__version__, a.threads, what, 1e3 * med, 1e3 * min(times), a.reps))
    print("torch %s T=%d %-28s rtf %.5f" % (torch.__version__, a.threads, what, med / a.seconds))


if __name__ == "__main__":
    main()
