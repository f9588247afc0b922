#!/usr/bin/python3
"""check_mpmath.py: circa's log K_v(x) (and log I_v(x) for large x) against mpmath on random
points around the method switches of docs/bessel.md, section 3 (not in the fixture).

    /usr/bin/python3 dsp/special/check_mpmath.py BUILD/libcirca.so

Needs Debian's python3-mpmath; about 10 seconds. Prints the largest error (the measure of
docs/bessel.md, section 1) per set and exits non-zero if any exceeds 1e-13. The sets are
seeded, so a rerun checks the same points:
  hankel  1,800 points: x in [56, 72] (the log form of the sum from 64), [21, 64) and
          [64, 1e5], v up to sqrt(x)/2; log I and log K
  middle  1,820 points: around |sigma| = 1/2 in Temme's series (sigma = mu log(2/x)),
          x in [1e-6, 2] and x in (2, 18.5), inside the middle region
  near2   1,500 points: x in [1.2, 2], v <= 3, where Temme's series is longest
"""
import ctypes
import math
import random
import sys

import mpmath as mp

R_DEBYE = 18.51499647548361   # BESSEL_DEBYE_RMIN[20]: the middle region is r below this


def sets():
    rng = random.Random(11)
    hankel = []
    for _ in range(600):
        x = rng.uniform(56, 72)
        hankel.append((rng.uniform(0, math.sqrt(x) / 2), x))
    for _ in range(600):
        x = rng.uniform(21, 64)
        hankel.append((rng.uniform(0, math.sqrt(x) / 2), x))
    for _ in range(600):
        x = 10 ** rng.uniform(math.log10(64), 5)
        hankel.append((math.sqrt(x) / 2 * rng.random() ** 0.5, x))
    middle = []
    for _ in range(600):
        am, n, sg = rng.uniform(0.035, 0.5), rng.randint(0, 3), rng.choice((-1, 1))
        v = n + sg * am
        x = 2 * math.exp(-0.5 / am) * (1 + rng.uniform(-0.05, 0.05))
        if v >= 0 and 1e-6 <= x <= 2:
            middle.append((v, x))
    for _ in range(800):
        middle.append((rng.uniform(0, 18.4), 10 ** rng.uniform(-6, math.log10(2))))
    for _ in range(500):
        x = rng.uniform(2, 18.5)
        middle.append((rng.uniform(0, math.sqrt(max(0.0, 18.5 ** 2 - x * x))), x))
    rng = random.Random(5)
    near2 = [(rng.uniform(0, 3), rng.uniform(1.2, 2)) for _ in range(1500)]
    return [("hankel", hankel, True), ("middle", middle, False), ("near2", near2, False)]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    lib = ctypes.CDLL(sys.argv[1])
    for name in ("circa_log_bessel_i", "circa_log_bessel_k"):
        getattr(lib, name).restype = ctypes.c_double
        getattr(lib, name).argtypes = (ctypes.c_double, ctypes.c_double)
    mp.mp.dps = 34
    worst_all = 0.0
    for name, pts, with_i in sets():
        worst, at = 0.0, None
        for v, x in pts:
            funcs = [(lib.circa_log_bessel_k, mp.besselk)]
            if with_i:
                funcs.append((lib.circa_log_bessel_i, mp.besseli))
            for mine, ref in funcs:
                got = mine(v, x)
                want = mp.log(ref(mp.mpf(v), mp.mpf(x)))
                err = float(abs(got - want) / max(1, abs(want)))
                if not math.isfinite(got) or err > worst:
                    worst, at = (math.inf if not math.isfinite(got) else err), (v, x)
        print("%-7s %5d points: max error %.3g (v = %r, x = %r)" % (name, len(pts), worst, *at))
        worst_all = max(worst_all, worst)
    sys.exit(0 if worst_all <= 1e-13 else 1)


if __name__ == "__main__":
    main()
