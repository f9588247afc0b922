#!/usr/bin/python3
"""gen_coeffs.py: writes dsp/special/bessel_coeffs.h, the constants of the log-Bessel code:
the Debye sum as straight-line code, its term bounds and term-count table, the Taylor
coefficients of 1/Gamma and of eta about its zero, 1/k, the inline log's table, the Hankel
sum and the log of the Hankel sum as straight-line code with their term-count tables, and
the inline exp's table.

Run from anywhere with Debian's python3-mpmath:  /usr/bin/python3 dsp/special/gen_coeffs.py

1. Debye polynomials (DLMF 10.41.10):  U_0 = 1,
       U_{k+1}(p) = p^2 (1 - p^2) U_k'(p) / 2 + (1/8) int_0^p (1 - 5 t^2) U_k(t) dt,
   computed exactly with fractions. U_k(p) = p^k P_k(p^2) with P_k of degree k, and with
   p = v / r, r = sqrt(v^2 + x^2), the k-th Debye term is U_k(p) / v^k = P_k(p^2) / r^k:
   the tables hold P_k, so nothing divides by v (v = 0 works).
2. Term bounds: B_k = max over p in [0, 1] of |P_k(p^2)|, so that term k is at most B_k / r^k.
   DEBYE_RMIN[n] is the smallest r at which B_{n+1} / r^{n+1} <= DEBYE_TOL: there the
   first n terms leave a truncation error below DEBYE_TOL (relative, on I or K).
   DEBYE_TOL is 2^-50 (8.9e-16): a hundredth of the 1e-13 the tests assert, and below the
   rounding error of the rest of the evaluation (up to 8e-15 measured), so the few terms
   it saves against 2^-54 cost no accuracy that the tests can see.
   DEBYE_NTAB maps (q, r) to the term count without a search. The bound is taken
   separately over each quarter of q = p^2 in [0, 1] (B_k is largest near q = 0 and up
   to twice smaller near q = 1, so large-order points need fewer terms); then r's binary
   exponent and top three mantissa bits pick one of eight buckets per octave, and each
   bucket holds the count for its lowest r (the count only falls as r grows).
3. 1/Gamma(z) = sum_{k>=1} c_k z^k (DLMF 5.7.1), c_1 = 1, c_2 = Euler's gamma, for the
   Gamma_1, Gamma_2 functions of Temme's method (|mu| <= 1/2).
4. INV[k] = 1/k, k = 0..63 (INV[0] unused), so that the CF2 loop with Steed's sum
   multiplies instead of dividing.
5. The Taylor series of eta(z) = sqrt(1+z^2) - log((1 + sqrt(1+z^2))/z) about its zero z0
   (about 0.6627): eta(z0 + d) = sum_{k=1..ETA_TERMS} a_k d^k, from eta' = sqrt(1+z^2)/z,
   so a_k = g^(k-1)(z0) / k! with g(t) = sqrt(1+t^2)/t; z0 in two doubles. The nearest
   singularity is t = 0, so the radius is z0; 32 terms leave 4e-18 relative at |d| = 0.2.
6. The table of bessel_log_quick(), the inline log of the prefactors: z in [0.6875, 1.375) cut into 128
   pieces by the top bits of (bits of z) - (bits of 0.6875); LOG_TAB[i] = {1/c, -log(1/c)}
   with c the piece's midpoint and 1/c rounded, so that log z = LOG_TAB[i][1] +
   log1p(z LOG_TAB[i][0] - 1) with |z/c - 1| < 2^-8.4.
7. The Hankel sum (DLMF 10.40.1, 10.40.2) as straight-line code, and its term counts, for
   21 <= x < 64 (8. takes over from 64).
   sum_{k>=1} prod_{j<=k} t_j with t_j = (mu - (2j-1)^2) u / (8j), mu = 4v^2, u = -+1/x,
   taken two terms at a time from the inside: R_i = a + ab + ab R_{i+1} for the pair
   (a, b) = (t_{2i-1}, t_{2i}), one multiply-add on the dependency chain per pair.
   |t_j| <= max(rho, (2j-1)^2 / x) / (8j), rho = mu/x in [0, 1] (the region has 4v^2 <= x),
   so over x >= x_lo and rho <= rho_hi the k-th term is at most
   prod_{j<=k} max(rho_hi, (2j-1)^2 / x_lo) / (8j), which falls with x_lo. HANKEL_NTAB holds
   the number of pairs m such that term 2m+1 (the first left out) is below DEBYE_TOL, by
   x's binary exponent (HANKEL_EMIN..HANKEL_EMAX, larger x as the last) and top two
   mantissa bits, and by rho's binary exponent (rho in [2^-b-1, 2^-b), b = 0..15, the
   last also for smaller rho). The count is the bucket's worst case.
8. The log of Hankel's sum for x >= 64: log(1 + sum_k a_k(mu) w^k) = sum_k b_k(mu) w^k with
   k b_k = k a_k - sum_{j<k} j b_j a_{k-j} (from (1 + S) L' = S'), exact in fractions, b_k
   of degree k in mu. Regrouped by powers of w = 1/x with rho = mu w = 4v^2/x:
   sum_k b_k(mu) w^k = sum_i Q_i(rho) w^i, and Q_i turns out to be a polynomial of degree
   i + 1 (the top coefficients of the a_k, mu^k / (k! 8^k), sum to e^(rho/8) - 1, whose log
   is Q_0 = rho/8; the script asserts the degrees). So
   log K = -x - log(x)/2 + log(pi/2)/2 + sum_i Q_i(rho) w^i: no log of the sum, and the
   log of x does not wait for it. For I, x -> -x in the expansion: Q_i(-rho) (-w)^i.
   Bound on term i over rho in [-1, 1]: sum_j |q_ij| / x^i; HLOG_NTAB holds the number n
   of terms after Q_0 such that term n+1 is below DEBYE_TOL, by x's exponent (HLOG_EMIN..
   HLOG_EMAX, larger x as the last) and top two mantissa bits.
9. EXP2_TAB[j] = 2^(j/32), j = 0..31, and ln(2)/32 in two parts (the high one with 42
   significant bits, so that k ln(2)/32 is exact for |k| < 2^11), for bessel_exp_quick().
"""
from fractions import Fraction
import os
import struct

import mpmath as mp

KMAX = 20                 # Debye terms at most
DEBYE_TOL = 2.0 ** -50    # truncation error allowed, relative (about 8.9e-16)
NTAB_EMIN, NTAB_EMAX = 4, 27   # DEBYE_NTAB covers r in [2^4, 2^27); above, one term
NINV = 64                 # length of the 1/k table
NQB = 4                   # quarters of q = p^2 with their own term counts
ETA_TERMS = 32            # Taylor terms of eta about its zero (even)
HANKEL_EMIN, HANKEL_EMAX = 4, 5    # x's exponents with their own Hankel term counts
HANKEL_NRHO = 16          # buckets of rho = 4v^2/x by exponent
HANKEL_XMIN = 21.0        # the Hankel region's lower edge in x
HLOG_EMIN, HLOG_EMAX = 6, 20   # x's exponents of the log form of Hankel's sum (x >= 64)
HLOG_NMAX = 19            # Q_i kept: i = 0..HLOG_NMAX
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


def bound(poly, lo=Fraction(0), hi=Fraction(1), steps=4000):
    """max over q in [lo, hi] of |P(q)|, on a fine grid with a 1% safety factor."""
    best = 0.0
    for i in range(steps + 1):
        q = lo + (hi - lo) * Fraction(i, steps)
        val = sum(c * q ** j for j, c in enumerate(poly))
        best = max(best, abs(float(val)))
    return best * 1.01


def thresholds(bounds):
    """RMIN[n] = (B_{n+1} / DEBYE_TOL)^(1/(n+1)), made non-increasing in n."""
    rmin = [float("inf")]                              # n = 0 terms: never
    for n in range(1, KMAX + 1):
        rmin.append(min((bounds[n] / DEBYE_TOL) ** (1.0 / (n + 1)), rmin[n - 1]))
    return rmin

def hankel_pairs(xlo, rhohi):
    """Pairs of Hankel terms whose first omitted term is below DEBYE_TOL (bound above)."""
    prod = mp.mpf(1)
    for k in range(1, 200):
        prod *= max(mp.mpf(rhohi), mp.mpf(2 * k - 1) ** 2 / xlo) / (8 * k)
        if prod <= DEBYE_TOL:
            return (k - 1 + 1) // 2      # terms 1..k-1 needed, rounded up to pairs
    raise ValueError("Hankel series does not reach the tolerance")


def write_hankel(w):
    rows = []
    for e in range(HANKEL_EMIN, HANKEL_EMAX + 1):
        for j in range(4):
            xlo = max(mp.mpf(2) ** e * (1 + mp.mpf(j) / 4), mp.mpf(HANKEL_XMIN))
            rows.append([hankel_pairs(xlo, mp.mpf(2) ** -b) for b in range(HANKEL_NRHO)])
    mmax = max(max(r) for r in rows)
    w("/* Hankel's sum (DLMF 10.40.1, 10.40.2) for x >= 21, mu = 4v^2 <= x: given u = -1/x (I)\n"
      " * or +1/x (K) and the number m of term pairs, sum_{k=1..2m} prod_{j<=k} t_j with\n"
      " * t_j = (mu - (2j-1)^2) u / (8j). Straight-line code from the innermost pair out:\n"
      " * R = a + ab + ab R for each pair (a, b), one multiply-add on the dependency chain\n"
      " * per pair, the t_j off it. */\n")
    w("#define BESSEL_HANKEL_MMAX %d\n" % mmax)
    w("CIRCA_BESSEL_FN double bessel_hankel_series(double mu, double u, int m)\n{\n")
    w("    double r = 0.0, a, b, ab;\n    switch (m) {\n")
    for i in range(mmax, 0, -1):
        ka, kb = 2 * i - 1, 2 * i
        w("    case %d:\n" % i)
        w("        a = (mu - %.1f) * (u * %.17g);\n" % ((2 * ka - 1) ** 2, 1.0 / (8 * ka)))
        w("        b = (mu - %.1f) * (u * %.17g);\n" % ((2 * kb - 1) ** 2, 1.0 / (8 * kb)))
        w("        ab = a * b;\n        r = (a + ab) + ab * r;\n")
        if i > 1:
            w("        /* fall through */\n")
    w("    default:\n        break;\n    }\n    return r;\n}\n\n")
    w("/* Pairs of Hankel terms for x = 2^e (1 + f) >= 21 and rho = mu/x in [2^-b-1, 2^-b):\n"
      " * [4 (min(e, EMAX) - EMIN) + (top two bits of f)][min(b, NRHO - 1)]; each entry\n"
      " * bounds its bucket's first omitted term below %.3g. */\n" % DEBYE_TOL)
    w("#define BESSEL_HANKEL_EMIN %d\n#define BESSEL_HANKEL_EMAX %d\n#define BESSEL_HANKEL_NRHO %d\n"
      % (HANKEL_EMIN, HANKEL_EMAX, HANKEL_NRHO))
    w("CIRCA_BESSEL_TABLE unsigned char BESSEL_HANKEL_NTAB[%d][%d] = {\n"
      % (len(rows), HANKEL_NRHO))
    for r in rows:
        w("    {" + ", ".join("%d" % n for n in r) + "},\n")
    w("};\n\n")


def hankel_log_polys(nmax):
    """Q_0 .. Q_nmax as lists of Fractions (coefficient of rho^j)."""
    kmax = 2 * nmax + 2
    a = [None]
    cur = [Fraction(1)]
    for k in range(1, kmax + 1):                    # a_k(mu) = prod (mu - (2j-1)^2) / (8j)
        nxt = [Fraction(0)] * (len(cur) + 1)
        for j, c in enumerate(cur):
            nxt[j] -= c * (2 * k - 1) ** 2
            nxt[j + 1] += c
        cur = [c / (8 * k) for c in nxt]
        a.append(cur)
    b = [None]
    for k in range(1, kmax + 1):
        acc = [c * k for c in a[k]]
        for j in range(1, k):
            for p, cj in enumerate(b[j]):
                for q, ck in enumerate(a[k - j]):
                    acc[p + q] -= j * cj * ck
        b.append([c / k for c in acc])
    polys = []
    for i in range(nmax + 1):
        q = [b[i + j][j] if i + j > 0 else Fraction(0) for j in range(i + 2)]
        # the degree: beta_{i+j, j} vanishes for j > i + 1
        assert all(b[i + j][j] == 0 for j in range(i + 2, kmax - i + 1)), i
        polys.append(q)
    assert polys[0] == [0, Fraction(1, 8)]
    return polys


def estrin(coef, powers):
    """C expression for sum_j coef[j] r^j by Estrin's scheme; powers = names of r, r^2, r^4..."""
    terms = ["%.17g" % float(c) for c in coef]
    level = 0
    while len(terms) > 1:
        nxt = []
        for j in range(0, len(terms), 2):
            if j + 1 < len(terms):
                nxt.append("(%s + %s * %s)" % (terms[j], terms[j + 1], powers[level]))
            else:
                nxt.append(terms[j])
        terms = nxt
        level += 1
    return terms[0]


def write_hankel_log(w):
    polys = hankel_log_polys(HLOG_NMAX)
    bounds = [sum(abs(float(c)) for c in q) for q in polys]
    rows = []
    for e in range(HLOG_EMIN, HLOG_EMAX + 1):
        for j in range(4):
            xlo = 2.0 ** e * (1 + j / 4.0)
            rows.append(next(n for n in range(1, HLOG_NMAX) if bounds[n + 1] / xlo ** (n + 1)
                             <= DEBYE_TOL))
    nmax = max(rows)
    w("/* The log of Hankel's sum (gen_coeffs.py, 8.) for x >= 64: sum_{i=1..n} Q_i(r) t^i, Q_i of\n"
      " * degree i + 1, with r = rho = 4v^2/x and t = 1/x for K, r = -rho and t = -1/x for I;\n"
      " * the caller adds Q_0 = r/8. Straight-line code: each Q_i by Estrin's scheme in r\n"
      " * (independent of each other; Horner's chain of i + 1 multiply-adds was the longest\n"
      " * path), the sum as two chains in t^2 (even and odd i) as in the Debye sum. */\n")
    w("#define BESSEL_HLOG_NMAX %d\n" % nmax)
    w("CIRCA_BESSEL_FN double bessel_hankel_log_series(double r, double t, int n)\n{\n")
    w("    double tt = t * t, r2 = r * r, r4 = r2 * r2, r8 = r4 * r4, ev = 0.0, od = 0.0, q;\n"
      "    (void)r8;\n    switch (n) {\n")
    for i in range(nmax, 0, -1):
        q = [float(c) for c in polys[i]]
        w("    case %d:\n" % i)
        w("        q = %s;\n" % estrin(q, ["r", "r2", "r4", "r8"]))
        if i % 2 == 0:
            w("        ev = tt * (q + ev);\n")
        else:
            w("        od = q + tt * od;\n")
        if i > 1:
            w("        /* fall through */\n")
    w("    default:\n        break;\n    }\n    return ev + t * od;\n}\n\n")
    w("/* Terms of bessel_hankel_log_series() for x = 2^e (1 + f) >= 64:\n"
      " * [4 (min(e, EMAX) - EMIN) + (top two bits of f)]; the first term left out is below\n"
      " * %.3g for every rho in [0, 1]. */\n" % DEBYE_TOL)
    w("#define BESSEL_HLOG_EMIN %d\n#define BESSEL_HLOG_EMAX %d\n" % (HLOG_EMIN, HLOG_EMAX))
    w("CIRCA_BESSEL_TABLE unsigned char BESSEL_HLOG_NTAB[%d] = {\n" % len(rows))
    for i in range(0, len(rows), 16):
        w("    " + ", ".join("%d" % n for n in rows[i:i + 16]) + ",\n")
    w("};\n\n")


def main():
    mp.mp.dps = 40
    polys = debye_polys(KMAX + 1)
    rmin = thresholds([bound(p) for p in polys[1:]])   # from B_1 .. B_{KMAX+1}
    rmin_q = [thresholds([bound(p, Fraction(b, NQB), Fraction(b + 1, NQB), 1000)
                          for p in polys[1:]]) for b in range(NQB)]
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
          " * switch jumps to term n and falls through to term 1. The latency of the old\n"
          " * form (Horner in q for each P_k, then Horner in 1/r) was 2n multiply-adds on\n"
          " * one dependency chain, the bulk of a Debye call; here each P_k is two Horner\n"
          " * chains in q^2 (even and odd powers) and the sum two chains in t^2 (even and\n"
          " * odd k), t = s/r, which halves it: even k: E = T (P_k + E), odd k:\n"
          " * O = P_k + T O, sum = E + t O, T = t^2. Coefficients: the exact ones, rounded. */\n")
        w("CIRCA_BESSEL_FN double bessel_debye_sum(double q, double ir, int n, double s)\n{\n")
        w("    double t = s * ir, tt = t * t, q2 = q * q, ev = 0.0, od = 0.0, pe, po;\n"
          "    switch (n) {\n")
        for k in range(KMAX, 0, -1):
            poly = [float(c) for c in polys[k]]
            w("    case %d:\n" % k)
            for name, part in (("pe", poly[0::2]), ("po", poly[1::2])):
                w("        %s = %.17g;\n" % (name, part[-1]))
                for c in reversed(part[:-1]):
                    w("        %s = %s * q2 %s %.17g;\n" % (name, name, "-" if c < 0 else "+", abs(c)))
            if k % 2 == 0:
                w("        ev = tt * ((pe + q * po) + ev);\n")
            else:
                w("        od = (pe + q * po) + tt * od;\n")
            if k > 1:
                w("        /* fall through */\n")
        w("    default:\n        break;\n    }\n    return ev + t * od;\n}\n\n")
        w("/* With r >= BESSEL_DEBYE_RMIN[n], n Debye terms (k = 1..n) leave a truncation error\n"
          " * below %.3g relative; [0] is never met. Non-increasing in n. */\n" % DEBYE_TOL)
        w("CIRCA_BESSEL_TABLE double BESSEL_DEBYE_RMIN[%d] = {\n    HUGE_VAL,\n" % (KMAX + 1))
        for n in range(1, KMAX + 1):
            w("    %.17g,\n" % rmin[n])
        w("};\n\n")
        assert max(r[1] for r in rmin_q) < 2.0 ** NTAB_EMAX and rmin[KMAX] >= 2.0 ** NTAB_EMIN
        nbuckets = 8 * (NTAB_EMAX - NTAB_EMIN)
        w("/* Debye term count for r >= BESSEL_DEBYE_RMIN[KMAX], r < 2^%d, by quarter of\n"
          " * q = (v/r)^2 (index floor(4q), 3 for q = 1) and by r: index 8 (e - %d) + (top\n"
          " * three mantissa bits) for r = 2^e (1 + m); the count valid at the bucket's\n"
          " * lowest r. Beyond 2^%d one term suffices. */\n"
          % (NTAB_EMAX, NTAB_EMIN, NTAB_EMAX))
        w("#define BESSEL_DEBYE_NTAB_EMIN %d\n#define BESSEL_DEBYE_NTAB_EMAX %d\n"
          % (NTAB_EMIN, NTAB_EMAX))
        w("CIRCA_BESSEL_TABLE unsigned char BESSEL_DEBYE_NTAB[%d][%d] = {\n" % (NQB, nbuckets))
        for b in range(NQB):
            ntab = []
            for e in range(NTAB_EMIN, NTAB_EMAX):
                for j in range(8):
                    lo = max(2.0 ** e * (1 + j / 8.0), rmin[KMAX])
                    ntab.append(next(n for n in range(1, KMAX + 1) if lo >= rmin_q[b][n]))
            w("    {\n")
            for i in range(0, len(ntab), 16):
                w("        " + ", ".join("%d" % n for n in ntab[i:i + 16]) + ",\n")
            w("    },\n")
        w("};\n\n")
        w("/* 1/k for the CF2 loop with Steed's sum; [0] is unused. */\n")
        w("CIRCA_BESSEL_TABLE double BESSEL_INV[%d] = {\n    0.0,\n" % NINV)
        for k in range(1, NINV):
            w("    %.17g,\n" % (1.0 / k))
        w("};\n\n")
        eta = lambda z: mp.sqrt(1 + z * z) - mp.log((1 + mp.sqrt(1 + z * z)) / z)
        z0 = mp.findroot(eta, mp.mpf("0.6627"))
        z0_hi = float(z0)
        z0_lo = float(z0 - mp.mpf(z0_hi))
        tc = mp.taylor(lambda t: mp.sqrt(1 + t * t) / t, z0, ETA_TERMS - 1)
        w("/* eta(z) = sqrt(1+z^2) - log((1 + sqrt(1+z^2))/z) about its zero ETA_Z0 = HI + LO:\n"
          " * eta(z0 + d) = sum_{k=1..%d} BESSEL_ETA_TAYLOR[k-1] d^k. */\n" % ETA_TERMS)
        w("#define BESSEL_ETA_Z0_HI %.17g\n#define BESSEL_ETA_Z0_LO %.17g\n" % (z0_hi, z0_lo))
        w("#define BESSEL_ETA_TERMS %d\n" % ETA_TERMS)
        w("CIRCA_BESSEL_TABLE double BESSEL_ETA_TAYLOR[%d] = {\n" % ETA_TERMS)
        for k in range(1, ETA_TERMS + 1):
            w("    %s,\n" % mp.nstr(tc[k - 1] / k, 20, min_fixed=-1, max_fixed=-1))
        w("};\n\n")
        off = 0x3fe6000000000000
        asd = lambda b: struct.unpack("<d", struct.pack("<Q", b))[0]
        w("/* {1/c, -log(1/c)} for the 128 pieces of [0.6875, 1.375) (bessel_log_prefactor). */\n")
        w("CIRCA_BESSEL_TABLE double BESSEL_LOG_TAB[128][2] = {\n")
        for i in range(128):
            lo, hi = asd(off + (i << 45)), asd(off + ((i + 1) << 45))
            invc = float(1 / ((mp.mpf(lo) + mp.mpf(hi)) / 2))
            w("    {%.17g, %.17g},\n" % (invc, float(-mp.log(mp.mpf(invc)))))
        w("};\n\n")
        w("/* 1/Gamma(z) = sum c_k z^k (DLMF 5.7.1), split for Temme's Gamma_1, Gamma_2:\n"
          " * ODD[i] = c_(2i+1), EVEN[i] = c_(2i+2), i = 0..10. */\n")
        for name, first in (("ODD", 1), ("EVEN", 2)):
            w("CIRCA_BESSEL_TABLE double BESSEL_RGAMMA_%s[%d] = {\n" % (name, NRGAM // 2))
            for k in range(first, NRGAM + 1, 2):
                w("    %s,\n" % mp.nstr(taylor[k], 20, min_fixed=-1, max_fixed=-1))
            w("};\n")
        w("\n")
        write_hankel(w)
        write_hankel_log(w)
        l2 = mp.log(2) / 32
        hi = float(mp.floor(l2 * 2 ** 47) / 2 ** 47)       # 42 significant bits
        w("/* 2^(j/32) and ln(2)/32 = HI + LO for bessel_exp_quick(). */\n")
        w("#define BESSEL_LN2_32_HI %.17g\n#define BESSEL_LN2_32_LO %.17g\n"
          % (hi, float(l2 - mp.mpf(hi))))
        w("#define BESSEL_INV_LN2_32 %.17g\n" % float(32 / mp.log(2)))
        w("CIRCA_BESSEL_TABLE double BESSEL_EXP2_TAB[32] = {\n")
        for j in range(32):
            w("    %.17g,\n" % float(mp.mpf(2) ** (mp.mpf(j) / 32)))
        w("};\n\n")
        w("#endif /* CIRCA_BESSEL_COEFFS_H */\n")
    print("Debye RMIN:", ["%.1f" % r for r in rmin[1:]])


if __name__ == "__main__":
    main()
