#!/usr/bin/python3
"""bessel_scipy.py: circa's log I_v(x) and log K_v(x) against SciPy over the mpmath fixture.

    /usr/bin/python3 bench/bessel_scipy.py [--lib build/libcirca.so] [--fixture F] [--reps N]

SciPy: log I = log(scipy.special.ive(v, x)) + x, log K = log(scipy.special.kve(v, x)) - x
(the exponentially scaled functions, the best SciPy offers for logs). A SciPy value
fails when ive/kve return 0 (underflow), inf (overflow) or NaN; failures are counted
per region and speed is compared over the points where SciPy succeeds. Both sides are
timed as vectorised calls over the same arrays: SciPy's ufunc plus the numpy log, and
circa's batch circa_log_bessel_{i,k}_n through ctypes; ns per element, the median of
--reps runs. Rows have the layout of bench/bessel.c (bench/bessel.sh merges them).
Needs: python3-numpy, python3-scipy (Debian).
"""
import argparse
import ctypes
import math
import time
from decimal import Decimal

import numpy as np
import scipy
import scipy.special as sp

# The region labels of dsp/special/bessel_core.h: large x (x >= 21, 4 v^2 <= x),
# Debye (hypot(v, x) >= BESSEL_DEBYE_RMIN[20]), then the middle split at x = 2.
DEBYE_RMIN = 21.128208817571423
REGIONS = ["large x", "Debye", "middle x<=2", "middle x>2"]


def region_of(v, x):
    if x >= 21.0 and 4.0 * v * v <= x:
        return 0
    if math.hypot(v, x) >= DEBYE_RMIN:
        return 1
    return 2 if x <= 2.0 else 3


def load(path):
    v, x, li, lk = [], [], [], []
    with open(path) as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            a = line.split()
            v.append(float(a[0]))
            x.append(float(a[1]))
            li.append(Decimal(a[2]))
            lk.append(Decimal(a[3]))
    return np.array(v), np.array(x), li, lk


def errors(got, ref):
    """|f - f_ref| / max(1, |f_ref|), with the reference kept in Decimal."""
    out = np.empty(len(got))
    for i, (g, r) in enumerate(zip(got, ref)):
        out[i] = float(abs(Decimal(float(g)) - r) / max(Decimal(1), abs(r)))
    return out


def timed(fn, reps):
    runs = []
    for _ in range(reps):
        t0 = time.process_time()
        fn()
        runs.append(time.process_time() - t0)
    return float(np.median(runs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default="build/libcirca.so")
    ap.add_argument("--fixture", default="tests/fixtures/bessel_log.tsv")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()

    lib = ctypes.CDLL(args.lib)
    dp = ctypes.POINTER(ctypes.c_double)
    for name in ("circa_log_bessel_i_n", "circa_log_bessel_k_n"):
        getattr(lib, name).argtypes = [dp, dp, dp, ctypes.c_size_t]
        getattr(lib, name).restype = ctypes.c_int

    v, x, li, lk = load(args.fixture)
    reg = np.array([region_of(a, b) for a, b in zip(v, x)])

    def circa(name, vv, xx):
        out = np.empty_like(vv)
        getattr(lib, name)(vv.ctypes.data_as(dp), xx.ctypes.data_as(dp), out.ctypes.data_as(dp), len(vv))
        return out

    funcs = [
        ("log I", li, "circa_log_bessel_i_n", lambda vv, xx: np.log(sp.ive(vv, xx)) + xx),
        ("log K", lk, "circa_log_bessel_k_n", lambda vv, xx: np.log(sp.kve(vv, xx)) - xx),
    ]
    rows = []
    with np.errstate(all="ignore"):
        for fname, ref, cname, scipy_fn in funcs:
            for r in list(range(len(REGIONS))) + [-1]:
                sel = np.ones(len(v), bool) if r < 0 else reg == r
                vv, xx = np.ascontiguousarray(v[sel]), np.ascontiguousarray(x[sel])
                rr = [ref[i] for i in np.nonzero(sel)[0]]
                mine, theirs = circa(cname, vv, xx), scipy_fn(vv, xx)
                fail_m, fail_s = ~np.isfinite(mine), ~np.isfinite(theirs)
                em = errors(mine[~fail_m], [rr[i] for i in np.nonzero(~fail_m)[0]])
                es = errors(theirs[~fail_s], [rr[i] for i in np.nonzero(~fail_s)[0]])
                okv, okx = np.ascontiguousarray(vv[~fail_s]), np.ascontiguousarray(xx[~fail_s])
                n_ok = max(1, len(okv))
                # repeat the arrays so that each timed run lasts a few milliseconds
                k = max(1, 20000 // n_ok)
                tv, tx = np.tile(okv, k), np.tile(okx, k)
                t_m = timed(lambda: circa(cname, tv, tx), args.reps) / (len(tv) or 1) * 1e9
                t_s = timed(lambda: scipy_fn(tv, tx), args.reps) / (len(tv) or 1) * 1e9
                name = "all" if r < 0 else REGIONS[r]
                for lib_name, e, fails, t, spd in (("circa", em, fail_m, t_m, None),
                                                   ("SciPy", es, fail_s, t_s, t_s / t_m)):
                    rows.append("%-6s %-12s %-7s %6d %6d %10.2e %10.2e %9.0f %8s" % (
                        fname, name, lib_name, len(vv), int(fails.sum()),
                        e.max() if len(e) else float("nan"),
                        np.median(e) if len(e) else float("nan"), t,
                        "-" if spd is None else "%.1fx" % spd))
    print("# SciPy %s, numpy %s; circa timed through its batch API" % (scipy.__version__, np.__version__))
    for line in rows:
        print(line)
    with np.errstate(all="ignore"):
        for fname, raw in (("log I", sp.ive(v, x)), ("log K", sp.kve(v, x))):
            for cause, bad in (("0 (underflow)", raw == 0), ("inf (overflow)", np.isinf(raw)),
                               ("NaN", np.isnan(raw))):
                if bad.any():
                    print("# SciPy %s fails: %d x %s, v in [%.3g, %.3g], x in [%.3g, %.3g]" % (
                        fname, bad.sum(), cause, v[bad].min(), v[bad].max(), x[bad].min(), x[bad].max()))


if __name__ == "__main__":
    main()
