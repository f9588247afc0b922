#!/usr/bin/python3
"""gen_coeffs.py: writes dsp/special/bessel_coeffs.h, the constants of the log-Bessel code:
the Debye sum as straight-line code, its term bounds, and the Taylor coefficients of 1/Gamma.

Run from anywhere with Debian's python3-mpmath:  /usr/bin/python3 dsp/special/gen_coeffs.py

1. Debye polynomials (DLMF 10.41.10):  U_0 = 1,
       U_{k+1}(p) = p^2 (1 - p^2) U_k'(p) / 2 + (1/8) int_0^p (1 - 5 t^2) U_k(t) dt,
   computed exactly with fractions. U_k(p) = p^k P_k(p^2) with P_k of degree k, and with
   p = v / r, r = sqrt(v^2 + x^2), the k-th Debye term is U_k(p) / v^k = P_k(p^2) / r^k:
   the tables hold P_k, so nothing divides by v (v = 0 works).
2. Term bounds: B_k = max over p in [0, 1] of |P_k(p^2)|, so that term k is at most B_k / r^k.
   DEBYE_RMIN[n] is the smallest r at which B_{n+1} / r^{n+1} <= DEBYE_TOL: there the
   first n terms leave a truncation error below DEBYE_TOL (relative, on I or K).
3. 1/Gamma(z) = sum_{k>=1} c_k z^k (DLMF 5.7.1), c_1 = 1, c_2 = Euler's gamma, for the
   Gamma_1, Gamma_2 functions of Temme's method (|mu| <= 1/2).
"""
from fractions import Fraction
import os

import mpmath as mp

KMAX = 20                 # Debye terms at most
DEBYE_TOL = 2.0 ** -54    # truncation error allowed, relative (about 5.6e-17)
NRGAM = 22                # Taylor coefficients of 1/Gamma kept (c_23 (1/2)^22 < 1e-20)


def debye_polys(kmax):
    """P_k as lists of Fractions (coefficient of q^j, q = p^2), k = 0..kmax."""
    u = {0: Fraction(1)}                    # U_k as {power of p: coefficient}
    out = [[Fraction(1)]]
    for k in range(kmax):
        n = {}
        for d, c in u.items():
            if d:
                n[d + 1] = n.get(d + 1, 0) + c * d / 2
                n[d + 3] = n.get(d + 3, 0) - c * d / 2
            n[d + 1] = n.get(d + 1, 0) + c / 8 / (d + 1)
            n[d + 3] = n.get(d + 3, 0) - 5 * c / 8 / (d + 3)
        u = n
        kk = k + 1
        # U_kk has powers kk, kk+2, ..., 3kk: P_kk coefficient j is that of p^(kk+2j)
        out.append([u.get(kk + 2 * j, Fraction(0)) for j in range(kk + 1)])
    return out


def bound(poly):
    """max over q in [0, 1] of |P(q)|, on a fine grid with a 1% safety factor."""
    best = 0.0
    for i in range(4001):
        q = Fraction(i, 4000)
        val = sum(c * q ** j for j, c in enumerate(poly))
        best = max(best, abs(float(val)))
    return best * 1.01


def main():
    mp.mp.dps = 40
    polys = debye_polys(KMAX + 1)
    bounds = [bound(p) for p in polys[1:]]             # B_1 .. B_{KMAX+1}
    rmin = [float("inf")]                              # n = 0 terms: never
    for n in range(1, KMAX + 1):
        rmin.append((bounds[n] / DEBYE_TOL) ** (1.0 / (n + 1)))   # B_{n+1}
    # Keep the thresholds non-increasing, so "the first n with r >= RMIN[n]" is simple.
    for n in range(1, KMAX + 1):
        rmin[n] = min(rmin[n], rmin[n - 1])
    taylor = mp.taylor(mp.rgamma, 0, NRGAM)            # c_0 = 0, c_1 = 1, ...

    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "bessel_coeffs.h"), "w") as fh:
        w = fh.write
        w("/* bessel_coeffs.h: constant tables and the Debye sum for the log-Bessel code, written\n"
          " * by gen_coeffs.py (do not edit; see that script for the mathematics). Included by\n"
          " * bessel_core.h,"
          " which defines CIRCA_BESSEL_TABLE (static const in C, device memory in\n"
          " * CUDA) and CIRCA_BESSEL_FN. */\n")
        w("#ifndef CIRCA_BESSEL_COEFFS_H\n#define CIRCA_BESSEL_COEFFS_H\n\n")
        w("#define BESSEL_DEBYE_KMAX %d\n\n" % KMAX)
        w("/* sum_{k=1..n} s^k P_k(q) / r^k, given ir = 1/r, for 1 <= n <= KMAX, where P_k(q)\n"
          " * is the Debye polynomial with U_k(p) = p^k P_k(p^2). Straight-line code: the\n"
          " * switch jumps to term n and falls through to term 1, accumulating in 1/r by\n"
          " * Horner; each P_k is a Horner form in q with its exact coefficients rounded. */\n")
        w("CIRCA_BESSEL_FN double bessel_debye_sum(double q, double ir, int n, double s)\n{\n")
        w("    double acc = 0.0, t = s * ir, p;\n    switch (n) {\n")
        for k in range(KMAX, 0, -1):
            poly = [float(c) for c in polys[k]]
            w("    case %d:\n        p = %.17g;\n" % (k, poly[-1]))
            for c in reversed(poly[:-1]):
                w("        p = p * q %s %.17g;\n" % ("-" if c < 0 else "+", abs(c)))
            w("        acc = t * (p + acc);\n")
            if k > 1:
                w("        /* fall through */\n")
        w("    default:\n        break;\n    }\n    return acc;\n}\n\n")
        w("/* With r >= BESSEL_DEBYE_RMIN[n], n Debye terms (k = 1..n) leave a truncation error\n"
          " * below %.3g relative; [0] is never met. Non-increasing in n. */\n" % DEBYE_TOL)
        w("CIRCA_BESSEL_TABLE double BESSEL_DEBYE_RMIN[%d] = {\n    HUGE_VAL,\n" % (KMAX + 1))
        for n in range(1, KMAX + 1):
            w("    %.17g,\n" % rmin[n])
        w("};\n\n")
        w("/* 1/Gamma(z) = sum c_k z^k (DLMF 5.7.1), split for Temme's Gamma_1, Gamma_2:\n"
          " * ODD[i] = c_(2i+1), EVEN[i] = c_(2i+2), i = 0..10. */\n")
        for name, first in (("ODD", 1), ("EVEN", 2)):
            w("CIRCA_BESSEL_TABLE double BESSEL_RGAMMA_%s[%d] = {\n" % (name, NRGAM // 2))
            for k in range(first, NRGAM + 1, 2):
                w("    %s,\n" % mp.nstr(taylor[k], 20, min_fixed=-1, max_fixed=-1))
            w("};\n")
        w("\n#endif /* CIRCA_BESSEL_COEFFS_H */\n")
    print("Debye RMIN:", ["%.1f" % r for r in rmin[1:]])


if __name__ == "__main__":
    main()
