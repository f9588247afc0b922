#!/usr/bin/env python3
"""bench/tasnet_infer_torch.py: PyTorch's side of `nn_speed --infer`: Conv-TasNet run
forward on one signal of S seconds at 8 kHz, batch 1, under torch.no_grad(), on the CPU or
on CUDA device 0 (host-to-device copy, forward, copy back and synchronisation timed
together, as circa's GPU path does). Prints the median over REPS runs after one warm-up,
and the real-time factor.

    python3 bench/tasnet_infer_torch.py [--model M.cnn | --big] [--device cpu|cuda]
                                        [--threads T] [--seconds S] [--reps N]

The network is the one the PyTorch fixtures are made with (tests/fixtures/
gen_tasnet_torch.py: one definition, built from torch.nn primitives), in float32.
--model loads a circa model file (nn weight file, docs/nn.md) into it: the same
architecture and weights as `nn_speed --infer --model M.cnn`. Without it the weights are
random (speed does not depend on them): the shipped small size, or with --big
tasnet.h's default (1.27M parameters); gLN."""
import argparse
import os
import statistics
import struct
import sys
import time
import zlib

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
import gen_tasnet_torch as ref  # noqa: E402  (sets float64 as the default dtype)

torch.set_default_dtype(torch.float32)


def read_weights(path):
    """A circa nn weight file as {name: (dtype, shape, values)}; checks magic, sizes, CRC."""
    blob = open(path, "rb").read()
    if len(blob) < 28 or blob[:8] != b"CIRCA-NN":
        raise ValueError("%s: not a circa nn weight file" % path)
    version, count, total = struct.unpack_from("<IIQ", blob, 8)
    if version != 1 or total != len(blob):
        raise ValueError("%s: version %d or size %d unexpected" % (path, version, total))
    if struct.unpack_from("<I", blob, len(blob) - 4)[0] != zlib.crc32(blob[:-4]) & 0xFFFFFFFF:
        raise ValueError("%s: checksum mismatch" % path)
    out, pos = {}, 24
    for _ in range(count):
        nlen, _, dtype, ndim = struct.unpack_from("<BBBB", blob, pos)
        name = blob[pos + 4:pos + 4 + nlen].decode()
        pos += 4 + nlen
        shape = struct.unpack_from("<%dI" % ndim, blob, pos)
        pos += 4 * ndim
        n = 1
        for d in shape:
            n *= d
        vals = struct.unpack_from("<%d%s" % (n, "i" if dtype else "f"), blob, pos)
        pos += 4 * n
        out[name] = (dtype, shape, vals)
    return out


def load_model(path):
    recs = read_weights(path)
    cfg = list(recs["tasnet.config"][2])  # N L B H Sc P X R C causal
    net = ref.TasNet(*cfg).float()
    for name, p in net.named_circa():
        p.data = torch.tensor(recs[name][2], dtype=torch.float32).reshape(p.shape)
    return net, cfg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    if a.model:
        net, cfg = load_model(a.model)
        label = os.path.basename(a.model)
    else:
        cfg = [128, 16, 64, 256, 64, 3, 8, 3, 2, 0] if a.big else [64, 16, 64, 128, 64, 3, 6, 2, 2, 0]
        net, label = ref.TasNet(*cfg).float(), "1.27M" if a.big else "small"
    L = cfg[1]
    t = int(a.seconds * 8000)
    t -= (t - L) % (L // 2)
    dev = torch.device(a.device)
    net = net.to(dev).eval()
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
    assert est.shape == (1, cfg[8], t)
    med = statistics.median(times)
    what = "infer %s %.0f s %s" % (label, a.seconds, "GPU" if dev.type == "cuda" else "CPU")
    print("torch %s T=%d %-28s median_ms %9.3f min_ms %9.3f reps %d" % (
        torch.__version__, a.threads, what, 1e3 * med, 1e3 * min(times), a.reps))
    print("torch %s T=%d %-28s rtf %.5f" % (torch.__version__, a.threads, what, med / a.seconds))


if __name__ == "__main__":
    main()
