/* bessel_core.h: log I_v(x) and log K_v(x) for real v >= 0, x > 0, written once for
 * both the CPU (dsp/special/bessel.c) and CUDA (cuda/bessel.cu). Private: not installed.
 *
 * The includer may define, before including this file:
 *   CIRCA_BESSEL_FN        function qualifiers (default "static inline"; CUDA: __device__ ...)
 *   CIRCA_BESSEL_TABLE     table qualifiers    (default "static const"; CUDA: __device__ ...)
 *   CIRCA_BESSEL_LGAMMA(y) log Gamma(y) for y >= 1/2 (default lgamma(y))
 * The code is the common subset of C11 and CUDA C++: no VLAs, no compound literals.
 * It needs IEEE doubles evaluated without contraction into fused multiply-adds
 * (-ffp-contract=off, nvcc --fmad=false): the exact product in the Debye code
 * relies on it.
 *
 * Regions, tried in this order (r = sqrt(v^2 + x^2); docs/bessel.md has the why):
 *   1. Hankel   x >= 21 and 4v^2 <= x: large-x expansion (DLMF 10.40.1, 10.40.2); from
 *               x = 64 the log of its sum as a series in 1/x with polynomial coefficients
 *               in 4v^2/x (no log of the sum)
 *   2. Debye    r >= BESSEL_DEBYE_RMIN[20] (about 18.51): uniform large-order
 *               expansion (DLMF 10.41.3, 10.41.4) with 1..20 terms, chosen from r
 *               by a table; v eta by a series about eta's zero where r - v L cancels
 *               (x near 0.66 v, large r). For I, the power series instead where x is
 *               small against v (x <= 12, v x <= 300, v <= 60): cheaper there.
 *   3. middle   r below that, so v < 18.51 and x < 18.51:
 *               I: the power series (DLMF 10.25.2), all terms positive;
 *               K: K_mu, K_{mu+1} at |mu| <= 1/2 from Temme's series (x <= 2; K_mu alone
 *               where v = mu) or,
 *               up to a factor, Steed's continued fraction CF2 (x > 2); the forward
 *               recurrence (DLMF 10.29.1) to K_v, K_{v+1}. For 2 < x < 6 the scale
 *               from the Wronskian I_v K_{v+1} + I_{v+1} K_v = 1/x (DLMF 10.28.2) with
 *               I from the power series (every term positive); from x = 6 Steed's
 *               normalisation sum, carried in the same backward recurrence as CF2.
 *   x < 1e-30 in the middle: K has closed forms (leading terms of DLMF 10.31.1,
 *               Temme's f_0).
 * Everything is carried in logs or in scaled sums: nothing overflows for finite
 * positive inputs whose result is a finite double. */
#ifndef CIRCA_BESSEL_CORE_H
#define CIRCA_BESSEL_CORE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef CIRCA_BESSEL_FN
#define CIRCA_BESSEL_FN static inline
#endif
#ifndef CIRCA_BESSEL_TABLE
#define CIRCA_BESSEL_TABLE static const
#endif
#ifndef CIRCA_BESSEL_LGAMMA
#define CIRCA_BESSEL_LGAMMA(y) lgamma(y)
#endif

#include "bessel_coeffs.h"

#define BESSEL_EPS 1.1102230246251565e-16     /* 2^-53 */
/* Truncation tolerance of every series and recurrence here, relative to the result:
 * 2^-50 (8.9e-16) is a hundredth of the 1e-13 the tests assert and below the rounding
 * error of the rest (up to 8e-15 measured), so tighter stops buy nothing visible. */
#define BESSEL_TRUNC 8.8817841970012523e-16 /* 2^-50 */
#define BESSEL_LN2 0.69314718055994530942
#define BESSEL_PI 3.14159265358979323846
#define BESSEL_HANKEL_XMIN 21.0
#define BESSEL_TINY_X 1e-30
#define BESSEL_TEMME_XMAX 2.0
#define BESSEL_STEED_XMIN 6.0 /* middle-region K: CF2 normalised by Steed above this x */

/* ---- an exact product (its error term needs no FMA contraction elsewhere) ---- */

typedef struct bessel_dd {
    double hi, lo;
} bessel_dd;

/* a * b exactly as hi + lo: one fused multiply-add where that is an instruction
 * (CUDA, or a CPU target with FP_FAST_FMA), else Dekker's splitting (valid while
 * |a|, |b| < 2^996; fma() would be a slow software routine there). */
CIRCA_BESSEL_FN bessel_dd bessel_two_prod(double a, double b)
{
#if defined(__CUDA_ARCH__) || defined(FP_FAST_FMA)
    bessel_dd r;
    r.hi = a * b;
    r.lo = fma(a, b, -r.hi);
    return r;
#else
    const double split = 134217729.0; /* 2^27 + 1 */
    double ca = split * a, cb = split * b;
    double ah = ca - (ca - a), al = a - ah;
    double bh = cb - (cb - b), bl = b - bh;
    bessel_dd r;
    r.hi = a * b;
    r.lo = ((ah * bh - r.hi) + ah * bl + al * bh) + al * bl;
    return r;
#endif
}

/* log(y) for a positive normal y, inline and without errno: y = 2^k z with z in
 * [0.6875, 1.375), z in one of 128 pieces with centre c (BESSEL_LOG_TAB), log y =
 * k log 2 - log c + log1p(z/c - 1), |z/c - 1| < 2^-8.4, by five terms of log1p's
 * series (the rest is below 2e-18). Error at most 3.2 eps max(1, |log y|) (10^7
 * random y in [1e-300, 1e300]), against libm's 0.5 ulp, at 2.3 ns a call against
 * 6.3: fine for the prefactor below, whose log is added to the result, not
 * multiplied by v; not for log x or asinh, which are. */
CIRCA_BESSEL_FN double bessel_log_quick(double y)
{
    const double ln2 = 0.69314718055994530942;
    uint64_t ix, tmp;
    memcpy(&ix, &y, sizeof ix);
    tmp = ix - 0x3fe6000000000000ULL;
    uint64_t iz = ix - (tmp & (0xfffULL << 52));
    int i = (int)((tmp >> 45) & 127);
    double z, k = (double)((int64_t)tmp >> 52); /* arithmetic shift keeps the sign */
    memcpy(&z, &iz, sizeof z);
    double r = z * BESSEL_LOG_TAB[i][0] - 1.0, r2 = r * r;
    double p = -0.5 + r * (1.0 / 3.0) + r2 * (-0.25 + r * 0.2 + r2 * (-1.0 / 6.0));
    return (k * ln2 + BESSEL_LOG_TAB[i][1]) + (r + r2 * p);
}

/* e^s for |s| < 700, inline and without errno: s = k ln(2)/32 + r, |r| <= ln(2)/64
 * (ln(2)/32 in two parts, the first exact times k), e^s = 2^(k div 32) 2^((k mod 32)/32)
 * e^r with 2^(j/32) from a table and e^r by its Taylor polynomial of degree 6 (the rest
 * is below 4e-18). A few ulps (table, polynomial, two products) against libm's 0.5, at
 * about half the instructions: for Temme's (x/2)^-mu, a factor of the result. */
CIRCA_BESSEL_FN double bessel_exp_quick(double s)
{
    const double shift = 6755399441055744.0; /* 1.5 * 2^52: rounds to an integer */
    double kd = (s * BESSEL_INV_LN2_32 + shift) - shift;
    double r = (s - kd * BESSEL_LN2_32_HI) - kd * BESSEL_LN2_32_LO, r2 = r * r;
    int k = (int)kd, j = k & 31, m = (k - j) / 32;
    double p = (1.0 + r) + r2 * ((0.5 + r * (1.0 / 6.0)) +
                                 r2 * ((1.0 / 24.0 + r * (1.0 / 120.0)) + r2 * (1.0 / 720.0)));
    uint64_t sb = (uint64_t)(m + 1023) << 52;
    double scale;
    memcpy(&scale, &sb, sizeof scale);
    return BESSEL_EXP2_TAB[j] * p * scale;
}

/* log((1 + sum) c / sqrt(z)) with c = 1/sqrt(2 pi) for I (sign > 0) and sqrt(pi/2)
 * for K, given iz = 1/z: the common prefactor of the Hankel and Debye forms. Taken
 * as half the log of its square, one log and no sqrt (the square's rounding adds
 * under 2 eps absolute to a result of size z >= 18); z >= 1e300 splits the logs,
 * as 1/z would lose bits there. */
CIRCA_BESSEL_FN double bessel_log_prefactor(double sum, double z, double iz, double sign)
{
    if (z < 1e300) {
        double c2 = sign > 0 ? 0.15915494309189533577 : 1.5707963267948966192; /* c^2 */
        double s = 1.0 + sum;
        return 0.5 * bessel_log_quick(s * s * c2 * iz); /* normal: z < 1e300, s ~ 1 */
    }
    double c = sign > 0 ? 0.39894228040143267794 : 1.2533141373155002512;
    return log1p(sum) + log(c) - 0.5 * log(z);
}

/* ---- Debye: uniform expansion in 1/r, DLMF 10.41.3 and 10.41.4 ---- */

/* r = sqrt(v^2 + x^2); hypot() only where the squares could overflow (it is slower). */
CIRCA_BESSEL_FN double bessel_radius(double v, double x)
{
    if (v < 1e150 && x < 1e150 && x > 1e-150)
        return sqrt(v * v + x * x);
    return hypot(v, x);
}

/* L = asinh(v/x) = log((v + r)/x), one log of a ratio (at most 1 ulp off, which
 * v L turns into the error that bessel_debye_needs_rescue() accounts for). */
CIRCA_BESSEL_FN double bessel_debye_L(double v, double x, double r)
{
    double q = (v + r) / x; /* correctly rounded even for subnormal x, unless it overflows */
    if (q < 1e300)
        return log(q);
    return log(0.5 * v + 0.5 * r) + (BESSEL_LN2 - log(x));
}

/* v eta near the zero of eta, where r - v L cancels (x near 0.66 v): there a 1-ulp
 * error in either term is far above the tolerance on a result of order log r.
 * With z = x/v = z0 + d, |d| <= BESSEL_ETA_DMAX (z0 about 0.6627),
 * eta(z0 + d) = sum a_k d^k (bessel_coeffs.h), so v eta = m (a_1 + a_2 d + ...) with
 * m = v d = x - z0 v. With z0 in two parts and z0_hi v an exact product, x - z0_hi v
 * is exact (Sterbenz: x/v is within 31% of z0), so m, and v eta, carry a few eps of
 * *relative* error (measured 4e-16 over 3,000 points, v up to 1e7, against mpmath)
 * where r - v L had eps r of absolute error. It replaced a double-double evaluation
 * at a sixth of the cost, and is more accurate for large v. Needs v < 2^996 (Dekker). */
#define BESSEL_ETA_DMAX 0.2 /* 32 terms: truncation below 4e-18 relative */

CIRCA_BESSEL_FN double bessel_veta_near_zero(double m, double d)
{
    const double *a = BESSEL_ETA_TAYLOR;
    double d2 = d * d, odd = a[BESSEL_ETA_TERMS - 2], even = a[BESSEL_ETA_TERMS - 1];
    for (int k = BESSEL_ETA_TERMS - 4; k >= 0; k -= 2) { /* two Horner chains in d^2 */
        odd = odd * d2 + a[k];
        even = even * d2 + a[k + 1];
    }
    return m * (odd + d * even);
}

/* m = x - z0 v and d = m / v for bessel_veta_near_zero(). */
CIRCA_BESSEL_FN double bessel_eta_offset(double v, double x, double *d)
{
    bessel_dd p = bessel_two_prod(BESSEL_ETA_Z0_HI, v);
    double m = ((x - p.hi) - p.lo) - BESSEL_ETA_Z0_LO * v;
    *d = m / v;
    return m;
}

/* Whether r is in the Debye region: KMAX terms reach the tolerance at any q. */
CIRCA_BESSEL_FN int bessel_debye_ok(double r)
{
    return r >= BESSEL_DEBYE_RMIN[BESSEL_DEBYE_KMAX];
}

/* Number of Debye terms for r (in the region) and q = (v/r)^2: the fewest whose
 * truncation bound over q's quarter of [0, 1] is below the table's tolerance (up to
 * one more, from the bucket's lower edge). A table lookup on the quarter and on r's
 * exponent and top mantissa bits, not a search: a search over r alone cost as much
 * as the sum for large r, and the quarters save up to 6 of 20 terms for v > x. */
CIRCA_BESSEL_FN int bessel_debye_terms(double r, double q)
{
    if (r >= (double)(1 << BESSEL_DEBYE_NTAB_EMAX))
        return 1;
    uint64_t bits;
    memcpy(&bits, &r, sizeof bits);
    int e = (int)(bits >> 52) - 1023, top = (int)(bits >> 49) & 7;
    int quarter = q < 1.0 ? (int)(4.0 * q) : 3;
    return BESSEL_DEBYE_NTAB[quarter][8 * (e - BESSEL_DEBYE_NTAB_EMIN) + top];
}

/* Whether the plain double v eta needs the rescue: its error was measured below
 * 2.9 eps (r + v L) (800,000 random points, r from 25 to 4e4); allow a tenth of the
 * final tolerance (1e-13 on |log| scaled by max(1, |log|)). That sends about 4% of
 * the Debye calls, those near eta = 0, to the series about the zero: |d| was at most
 * 0.1402 there (4e6 random points with r from 18.5 to 60; less for larger r). Beyond
 * BESSEL_ETA_DMAX the plain value stays: only small r could get there, where its
 * error bound, 2.9 eps (r + v L) < 4e-14, is inside the tolerance anyway. */
CIRCA_BESSEL_FN int bessel_debye_needs_rescue(double r, double v, double L, double result)
{
    double err = 3.0 * BESSEL_EPS * (r + v * L);
    double scale = fabs(result) > 1.0 ? fabs(result) : 1.0;
    return err > 1e-14 * scale && r < 1e150;
}

/* log I_v(x) (sign = +1) or log K_v(x) (sign = -1) by Debye:
 * I = e^(v eta) / sqrt(2 pi r) (1 + sum), K = e^(-v eta) sqrt(pi / (2 r)) (1 + sum). */
CIRCA_BESSEL_FN double bessel_debye(double v, double x, double r, double sign)
{
    double ir = 1.0 / r, p = v * ir, q = p * p, L = bessel_debye_L(v, x, r);
    double veta = r - v * L;
    double tail = bessel_debye_sum(q, ir, bessel_debye_terms(r, q), sign);
    double pre = bessel_log_prefactor(tail, r, ir, sign);
    double res = sign * veta + pre;
    if (bessel_debye_needs_rescue(r, v, L, res)) {
        double d, m = bessel_eta_offset(v, x, &d);
        if (fabs(d) <= BESSEL_ETA_DMAX)
            res = sign * bessel_veta_near_zero(m, d) + pre;
    }
    return res;
}

/* ---- Hankel: large x, small v, DLMF 10.40.1 (I) and 10.40.2 (K) ---- */

CIRCA_BESSEL_FN int bessel_hankel_ok(double v, double x)
{
    return x >= BESSEL_HANKEL_XMIN && 4.0 * v * v <= x;
}

/* Hankel's sum, sum_{k>=1} a_k(v) (s/x)^k with a_k(v) = prod_{j<=k} (4v^2 - (2j-1)^2) / (8j),
 * s = -1 for I, +1 for K (bessel_hankel_series(), straight-line code in bessel_coeffs.h).
 * The number of terms comes from a table (gen_coeffs.py) indexed by x's exponent and top
 * two mantissa bits and by the exponent of rho = 4v^2/x in [0, 1]: the bucket's bound on
 * the first term left out is below BESSEL_TRUNC (for K the remainder is below that term,
 * DLMF 10.40(ii)). Used for 21 <= x < 64 (bessel_hankel() takes the log form above);
 * version 2 tested each pair of terms against the tolerance in a loop (29 instructions a
 * pair, against 10 here); the bound needs at most 11 pairs (x near 21, v near sqrt(x)/2)
 * and 5 to 8 for 32 <= x < 64. With x >= 21 and 4v^2 <= x the term ratio
 * |4v^2 - (2k-1)^2| / (8kx) is below 1 until k = 2x, beyond the last pair the table asks
 * for: the series' growing tail is never reached. */
CIRCA_BESSEL_FN double bessel_hankel_sum(double v, double x, double ix, double sign)
{
    double mu = 4.0 * v * v, rho = mu * ix;
    uint64_t bx, br;
    memcpy(&bx, &x, sizeof bx);
    memcpy(&br, &rho, sizeof br);
    int e = (int)(bx >> 52) - 1023, b = 1022 - (int)(br >> 52); /* rho in [2^-b-1, 2^-b) */
    e = e < BESSEL_HANKEL_EMAX ? e : BESSEL_HANKEL_EMAX;
    b = b < 0 ? 0 : b < BESSEL_HANKEL_NRHO ? b : BESSEL_HANKEL_NRHO - 1;
    int m = BESSEL_HANKEL_NTAB[4 * (e - BESSEL_HANKEL_EMIN) + (int)((bx >> 50) & 3)][b];
    return bessel_hankel_series(mu, -sign * ix, m);
}

#define BESSEL_HLOG_XMIN 64.0 /* the log form of the sum from here */

/* I = e^x / sqrt(2 pi x) (1 + sum), K = e^-x sqrt(pi / (2x)) (1 + sum).
 * x >= 64: log(1 + sum) = sum_i Q_i(rho) (-+1/x)^i, Q_i a polynomial of degree i + 1 in
 * rho = 4v^2/x (+-rho for K / I; bessel_coeffs.h, gen_coeffs.py 8.), 2 to 10 terms by a
 * table on x, so log K = -x - log(x)/2 + log(pi/2)/2 + rho/8 + ...: the log of x (the
 * quick one: its error, 3.2 eps of log x, is added to a result of size x) starts at once
 * instead of waiting for the sum, and the sum needs fewer terms than 1 + sum (2 to 5
 * against 4 to 10 for x >= 1024: the leading parts of the a_k, (rho/8)^k / k!, add up to
 * e^(rho/8), whose log is the single term rho/8). Below 64 it needs up to 19 terms of
 * growing degree: there 1 + sum and its log, as in version 2. */
CIRCA_BESSEL_FN double bessel_hankel(double v, double x, double sign)
{
    double ix = 1.0 / x;
    if (x >= BESSEL_HLOG_XMIN) {
        uint64_t bx;
        memcpy(&bx, &x, sizeof bx);
        int e = (int)(bx >> 52) - 1023;
        e = e < BESSEL_HLOG_EMAX ? e : BESSEL_HLOG_EMAX;
        int n = BESSEL_HLOG_NTAB[4 * (e - BESSEL_HLOG_EMIN) + (int)((bx >> 50) & 3)];
        double r = -sign * (4.0 * v * v * ix), t = -sign * ix;
        double c = sign > 0 ? -0.91893853320467274178 : 0.22579135264472743236; /* log c */
        double s = 0.125 * r + bessel_hankel_log_series(r, t, n);
        return (sign * x + (c - 0.5 * bessel_log_quick(x))) + s;
    }
    double sum = bessel_hankel_sum(v, x, ix, sign);
    return sign * x + bessel_log_prefactor(sum, x, ix, sign);
}

/* ---- the middle region: v, x < 18.51 (and log I where bessel_series_cheaper()) ---- */

/* a_0 + a_1 y + ... + a_10 y^10 by Estrin's scheme (depth 4 instead of 10). */
CIRCA_BESSEL_FN double bessel_poly10(const double *a, double y)
{
    double y2 = y * y, y4 = y2 * y2, y8 = y4 * y4;
    double b0 = a[0] + a[1] * y, b1 = a[2] + a[3] * y, b2 = a[4] + a[5] * y;
    double b3 = a[6] + a[7] * y, b4 = a[8] + a[9] * y;
    double c0 = b0 + b1 * y2, c1 = b2 + b3 * y2, c2 = b4 + a[10] * y2;
    return (c0 + c1 * y4) + c2 * y8;
}

/* Gamma_1(mu) = (1/Gamma(1-mu) - 1/Gamma(1+mu)) / (2 mu) and
 * Gamma_2(mu) = (1/Gamma(1-mu) + 1/Gamma(1+mu)) / 2 from the Taylor series of
 * 1/Gamma (its even and odd parts), |mu| <= 1/2. 1/Gamma(1+mu) = Gamma_2 - mu Gamma_1. */
CIRCA_BESSEL_FN void bessel_temme_gammas(double mu, double *g1, double *g2)
{
    double m2 = mu * mu;
    *g1 = -bessel_poly10(BESSEL_RGAMMA_EVEN, m2); /* c_2 + c_4 mu^2 + ... */
    *g2 = bessel_poly10(BESSEL_RGAMMA_ODD, m2);   /* c_1 + c_3 mu^2 + ... */
}

/* The order split v = mu + n, |mu| <= 1/2, with Gamma_1(mu), Gamma_2(mu) and
 * rg = 1/Gamma(1+mu). */
typedef struct bessel_order {
    double mu, n, g1, g2, rg;
} bessel_order;

CIRCA_BESSEL_FN bessel_order bessel_split_order(double v) /* v below the Debye edge */
{
    bessel_order o;
    o.n = (double)(int)(v + 0.5); /* floor: v >= 0 is small; floor() is a call on x86-64 */
    o.mu = v - o.n;
    bessel_temme_gammas(o.mu, &o.g1, &o.g2);
    o.rg = o.g2 - o.mu * o.g1;
    return o;
}

/* The power series (DLMF 10.25.2) I_v(x) = (x/2)^v S0 / Gamma(v+1) with
 * S0 = sum_k t_k, t_k = q^k / (k! (v+1)_k), q = x^2/4: all terms positive. Returns
 * S0 - 1 (so that log1p keeps tiny x exact) and T = sum_k k t_k, for
 * I_{v+1}(x) = (x/2)^(v+1) S1 / Gamma(v+2) where (x/2) S1 / (v+1) = (2/x) T:
 * one division per term serves both. */
CIRCA_BESSEL_FN double bessel_series(double v, double x, double *tsum)
{
    double q = 0.25 * x * x, t = 1.0, a = 0.0, b = 0.0;
    for (int k = 1; k < 200; k += 2) { /* two terms per step, one division for both */
        double k1 = (double)k, k2 = k1 + 1.0;
        double d1 = k1 * (v + k1), d2 = k2 * (v + k2), g = q / (d1 * d2);
        /* t q/d1 and t q^2/(d1 d2), both from t: one multiplication per pair on the
         * dependency chain through t, which bounds the loop's speed */
        double t1 = t * (g * d2), t2 = t * (g * q);
        a += t1 + t2;
        b += k1 * t1 + k2 * t2;
        t = t2;
        if (k2 * t2 <= BESSEL_TRUNC * b)
            break; /* then also t <= TRUNC (1 + a): b <= k (1 + a) past the largest term */
    }
    *tsum = b;
    return a;
}

/* Gamma(v+1) = Gamma(1+mu) prod_{j=1..n} (mu+j) = prod / rg (v below 19 here, so the
 * product stays below 1e17), for the Wronskian, which has rg at hand. */
CIRCA_BESSEL_FN double bessel_gamma_prod(const bessel_order *o)
{
    double prod = 1.0;
    for (double j = 1.0; j <= o->n; j += 1.0)
        prod *= o->mu + j;
    return prod;
}

/* S0 - 1 alone, for log I (the terms of bessel_series() without T): stops at a term
 * below BESSEL_TRUNC (1 + a) once the ratio q/(k(v+k)) of the next one is below 1/2,
 * so that the rest is below that term. */
CIRCA_BESSEL_FN double bessel_series_s0(double v, double x)
{
    double q = 0.25 * x * x, t = 1.0, a = 0.0;
    for (int k = 1; k < 200; k += 2) {
        double k1 = (double)k, k2 = k1 + 1.0;
        double d1 = k1 * (v + k1), d2 = k2 * (v + k2), g = q / (d1 * d2);
        double t1 = t * (g * d2), t2 = t * (g * q);
        a += t1 + t2;
        t = t2;
        if (t2 <= BESSEL_TRUNC * (1.0 + a) && 2.0 * q <= d2)
            break;
    }
    return a;
}

/* log Gamma(z) for z >= 15 by Stirling's series (DLMF 5.11.1) with six terms (the
 * seventh is below 5e-18): half the cost of lgamma(), which it matches to about an
 * ulp of the result. */
CIRCA_BESSEL_FN double bessel_lgamma_large(double z)
{
    const double half_log_2pi = 0.91893853320467274178;
    double iz = 1.0 / z, iz2 = iz * iz;
    double s = 1.0 / 1188 + iz2 * (-691.0 / 360360);
    s = 1.0 / 12 + iz2 * (-1.0 / 360 + iz2 * (1.0 / 1260 + iz2 * (-1.0 / 1680 + iz2 * s)));
    return (z - 0.5) * log(z) - z + half_log_2pi + iz * s;
}

/* log I_v by the power series: in the middle region, and in the Debye region where
 * x is small against v (bessel_series_cheaper()). */
CIRCA_BESSEL_FN double bessel_series_log_i(double v, double x)
{
    double s0m1 = bessel_series_s0(v, x);
    double lhalf = log(x) - BESSEL_LN2; /* not log(x/2): x/2 is inexact for subnormal x */
    /* log1p keeps log I_0(x) ~ x^2/4 exact for tiny x; log is cheaper and as good when
     * the sum is not near 1 */
    double ls = s0m1 < 0.5 ? log1p(s0m1) : log(1.0 + s0m1);
    double lg = v >= 14.0 ? bessel_lgamma_large(v + 1.0) : CIRCA_BESSEL_LGAMMA(v + 1.0);
    return (v > 0.0 ? v * lhalf : 0.0) - lg + ls;
}

/* Whether the power series for I is faster than Debye's expansion at a Debye-region
 * point: where x is small against v its terms fall fast (ratio x^2 / (4k(v+k))) while
 * Debye still needs 10-20 terms. Measured: series/Debye time below 1 for x <= 12 and
 * v x <= 300 (0.3 to 0.95 for v in [18, 60]); v <= 60 also keeps lgamma(v+1) and
 * v log(x/2) far from overflow. Its terms are all positive, so it is as accurate
 * there as in the middle region. */
CIRCA_BESSEL_FN int bessel_series_cheaper(double v, double x)
{
    return x <= 12.0 && v <= 60.0 && v * x <= 300.0;
}

/* The first terms f_0, p_0, q_0 of Temme's series (bessel_temme() below), |mu| <= 1/2,
 * lx = log x. */
CIRCA_BESSEL_FN void bessel_temme_start(const bessel_order *o, double lx, double *f0, double *p0,
                                        double *q0)
{
    double mu = o->mu, L = BESSEL_LN2 - lx, sigma = mu * L;
    /* e^sigma inline (|sigma| < 36 for x >= 1e-30); sinh(sigma)/sigma by its Taylor series
     * where |sigma| < 1/2 (through sigma^14/15!, the rest below 5e-17), where (e - 1/e)/2
     * would cancel: no libm call (version 2 called expm1 or exp) */
    double e = bessel_exp_quick(sigma), ie = 1.0 / e, s2 = sigma * sigma, shc; /* sinh/sigma */
    if (s2 < 0.25) {
        double s4 = s2 * s2;
        double lo = 1.0 + s2 * (1.0 / 6.0) + s4 * (1.0 / 120.0 + s2 * (1.0 / 5040.0));
        double hi = 1.0 / 362880.0 + s2 * (1.0 / 39916800.0) +
                    s4 * (1.0 / 6227020800.0 + s2 * (1.0 / 1307674368000.0));
        shc = lo + (s4 * s4) * hi;
    } else {
        shc = 0.5 * (e - ie) / sigma;
    }
    double ch = 0.5 * (e + ie); /* cosh(sigma) */
    /* mu pi / sin(mu pi) = Gamma(1+mu) Gamma(1-mu) = 2d (reflection, DLMF 5.5.3): no sin */
    double rg_minus = o->g2 + mu * o->g1, d = 0.5 / (o->rg * rg_minus); /* 1/Gamma(1-mu) */
    *f0 = 2.0 * d * (ch * o->g1 + shc * L * o->g2);
    *p0 = e * rg_minus * d;
    *q0 = ie * o->rg * d;
}

/* Temme's series (1975) for 0 < x <= 2, |mu| <= 1/2: K_mu = sum_k c_k f_k and
 * K_{mu+1} = (2/x) sum_k c_k (p_k - k f_k), c_k = (x^2/4)^k / k!, with
 * f_k = (k f_{k-1} + p_{k-1} + q_{k-1}) / (k^2 - mu^2), p_k = p_{k-1} / (k - mu),
 * q_k = q_{k-1} / (k + mu), p_0 = (x/2)^-mu Gamma(1+mu) / 2, q_0 = (x/2)^mu Gamma(1-mu) / 2,
 * f_0 = (mu pi / sin mu pi) (cosh(sigma) Gamma_1 + sinh(sigma)/sigma log(2/x) Gamma_2),
 * sigma = mu log(2/x). The products c_k f_k, c_k p_k, c_k q_k are carried directly,
 * two terms per step sharing one division. lx = log x need not be correctly rounded
 * (bessel_log_quick): its error enters only through sigma and log(2/x), not times v.
 * Returns K_mu and, if with_kp, K_{mu+1} (else kp is meaningless). */
CIRCA_BESSEL_FN void bessel_temme(const bessel_order *o, double x, double lx, int with_kp,
                                  double *km, double *kp)
{
    double mu = o->mu, f, p, q;
    bessel_temme_start(o, lx, &f, &p, &q);
    double q4 = 0.25 * x * x, sf = f, sh = p;
    /* Two terms per step: with D_k = k (k - mu) (k + mu), the factors q4/D_k and
     * q4/D_{k+1} are D_{k+1} g and D_k g, g = q4 / (D_k D_{k+1}): one division. */
    for (int k = 1; k < 100; k += 2) {
        double k1 = (double)k, k2 = k1 + 1.0;
        double D1 = k1 * ((k1 - mu) * (k1 + mu)), D2 = k2 * ((k2 - mu) * (k2 + mu));
        double g = q4 / (D1 * D2), i1 = g * D2, i2 = g * D1;
        double f1 = (k1 * i1) * f + (p + q) * i1; /* c_k f_k from the previous c f, c p,
                                                   * c q: one multiply-add on f's chain */
        double p1 = p * ((k1 + mu) * i1), q1 = q * ((k1 - mu) * i1); /* c_k p_k, c_k q_k */
        f = (k2 * i2) * f1 + (p1 + q1) * i2;
        p = p1 * ((k2 + mu) * i2);
        q = q1 * ((k2 - mu) * i2);
        sf += f1 + f;
        if (!with_kp) { /* v = mu: K_{mu+1} is not needed */
            if (fabs(f) <= BESSEL_TRUNC * fabs(sf))
                break;
            continue;
        }
        double h1 = p1 - k1 * f1, h2 = p - k2 * f;
        sh += h1 + h2;
        if (fabs(f) <= BESSEL_TRUNC * fabs(sf) && fabs(h2) <= BESSEL_TRUNC * fabs(sh))
            break;
    }
    *km = sf;
    *kp = 2.0 / x * sh;
}

/* Steed's CF2 for x > 2, |mu| <= 1/2: with z_k = U(mu + 1/2 + k, 2 mu + 1, 2x)
 * (DLMF 10.39.6 writes K through U), DLMF 13.3.7 gives the recurrence
 * z_{k-1} - 2(k + x) z_k + ((k + 1/2)^2 - mu^2) z_{k+1} = 0, whose minimal solution
 * yields z_1/z_0 as a continued fraction, and K_{mu+1}/K_mu =
 * (mu + 1/2 + x + (mu^2 - 1/4) z_1/z_0) / x. The fraction is evaluated backwards
 * as a ratio of two recurrences (no division in the loop; the values stay below
 * 1e90) from depth 6 + 40/x, at least one more than the depth that gives this ratio
 * to BESSEL_TRUNC (computed in 40 digits at six x in (2, 6] and eleven mu; the
 * Steed form takes over at 6).
 * Returns K_mu and K_{mu+1} up to a common factor. */
CIRCA_BESSEL_FN void bessel_cf2(double mu, double x, double *km, double *kp)
{
    int depth = 6 + (int)(40.0 / x);
    double m2 = mu * mu, num = 0.0, den = 1.0;
    for (double kd = depth; kd >= 1.0; kd -= 1.0) { /* t = num/den -> 1/(b_k - a_k t) */
        double kh = kd + 0.5, nd = (kd + x) * 2.0 * den - (kh * kh - m2) * num;
        num = den;
        den = nd;
    }
    *km = x * den;
    *kp = (mu + 0.5 + x) * den + (m2 - 0.25) * num;
}

/* Steed's normalisation of CF2 for x >= BESSEL_STEED_XMIN, |mu| <= 1/2: with z_k as in
 * bessel_cf2(), sum_k C_k z_k = (2x)^(-mu-1/2) (NR 6.7.48), C_0 = 1, C_k = C_{k-1}
 * ((k - 1/2)^2 - mu^2) / k > 0, so K_mu = sqrt(pi/(2x)) e^-x z_0 / sum_k C_k (z_k/z_0)
 * (DLMF 10.39.6): no power series and no Wronskian. The backward recurrence that
 * gives z_1/z_0 also carries the sum, nested as z_0 + r_1 (z_1 + r_2 (z_2 + ...)),
 * r_k = C_k / C_{k-1}, with 1/k from a table. The sum converges more slowly than the
 * ratio: depth 9 + 140/x is at least one more than the depth at which the sum has
 * converged to 2^-50, the Debye tolerance (computed in 40 digits at 11 x in
 * [3, 18.6] and eleven mu).
 * Returns the sum; km = x z_0, kp as in bessel_cf2(), so K_mu = C km / sum with
 * C = sqrt(pi/(2x)) e^-x / x. */
CIRCA_BESSEL_FN double bessel_cf2_steed(double mu, double x, double *km, double *kp)
{
    int depth = 9 + (int)(140.0 / x);
    depth += depth & 1; /* two steps at a time */
    double m2 = mu * mu, z1 = 0.0, z0 = 1.0, sum = 1.0, kd = depth;
    double a = (kd + 0.5) * (kd + 0.5) - m2; /* a_k = (k + 1/2)^2 - mu^2 */
    for (int k = depth; k >= 2; k -= 2, kd -= 2.0) {
        /* z_{k-1} = A_k z_k - a_k z_{k+1}, A_k = 2(k + x); z_{k-2} straight from z_k,
         * z_{k+1} as (A_{k-1} A_k - a_{k-1}) z_k - A_{k-1} a_k z_{k+1}: the chain
         * through z takes one multiply-add per two steps */
        double ak1 = (kd - 0.5) * (kd - 0.5) - m2, ak2 = (kd - 1.5) * (kd - 1.5) - m2;
        double Ak = (kd + x) * 2.0, Ak1 = Ak - 2.0;
        double zm1 = Ak * z0 - a * z1, zm2 = (Ak1 * Ak - ak1) * z0 - (Ak1 * a) * z1;
        /* the sum: S_{k-2} = z_{k-2} + r_{k-1} z_{k-1} + r_{k-1} r_k S_k, r_k = a_{k-1}/k */
        double rk = ak1 * BESSEL_INV[k], rk1 = ak2 * BESSEL_INV[k - 1];
        sum = (zm2 + rk1 * zm1) + (rk1 * rk) * sum;
        z1 = zm1;
        z0 = zm2;
        a = ak2;
    }
    *km = x * z0;
    *kp = (mu + 0.5 + x) * z0 + (m2 - 0.25) * z1;
    return sum;
}

/* The forward recurrence K_{nu+1} = K_{nu-1} + (2 nu / x) K_nu (DLMF 10.29.1, stable
 * upwards for K) from (km, kp) at orders (mu, mu+1) to (mu+n, mu+n+1), two steps at a
 * time: with c_nu = 2 nu / x, (K_{nu-1}, K_nu) = (a, b) goes to
 * (a + c_nu b, c_{nu+1} a + (1 + c_nu c_{nu+1}) b), every coefficient positive, so the
 * dependency chain takes one multiply and one add per two orders (version 2: per order).
 * Rescaled by 1e-200 when large (K grows like (2/x)^n n!; a double step multiplies by at
 * most 1 + c_nu c_{nu+1} < 1e63 for x >= 1e-30, v < 19). Returns the log of the scale
 * dropped. */
CIRCA_BESSEL_FN double bessel_k_recur(double mu, int n, double x, double *km, double *kp)
{
    const double ln_1e200 = 460.51701859880914; /* 200 log 10 */
    double two_x = 2.0 / x, a = *km, b = *kp, rescaled = 0.0, nu = mu + 1.0;
    if (n & 1) { /* one single step, then pairs */
        double next = a + nu * two_x * b;
        a = b;
        b = next;
        nu += 1.0;
    }
    for (int i = n >> 1; i > 0; i--, nu += 2.0) {
        double c1 = nu * two_x, c2 = (nu + 1.0) * two_x;
        double a2 = a + c1 * b, b2 = c2 * a + (1.0 + c1 * c2) * b;
        a = a2;
        b = b2;
        if (b > 1e200) {
            a *= 1e-200;
            b *= 1e-200;
            rescaled += ln_1e200;
        }
    }
    *km = a;
    *kp = b;
    return rescaled;
}

/* log K_v(x) in the middle region (x >= BESSEL_TINY_X), by one of three starts at
 * order mu (all followed by bessel_k_recur):
 *   x <= 2:  Temme's series gives x K_mu, x K_{mu+1}: log K_v directly.
 *   x < BESSEL_STEED_XMIN: CF2 gives them up to a factor; the scale comes from the
 *            Wronskian 1/K_v = x (I_v R + I_{v+1}), R = K_{v+1}/K_v (DLMF 10.28.2), with
 *            I from the power series: every term positive.
 *   above:   CF2 with Steed's normalisation: no power series (which needs ~2x terms
 *            there), no log(x). The switch is where the two cost the same. */
CIRCA_BESSEL_FN double bessel_middle_log_k(double v, double x)
{
    double km, kp;
    if (x >= BESSEL_STEED_XMIN) { /* needs mu only, not the Gamma functions */
        int n = (int)(v + 0.5);
        double mu = v - (double)n;
        double sum = bessel_cf2_steed(mu, x, &km, &kp);
        double rescaled = bessel_k_recur(mu, n, x, &km, &kp);
        /* the quick log: its error (3.2 eps of a log below 60 here) is added, not scaled */
        return -x + bessel_log_quick(km / sum * (1.2533141373155002512 / (x * sqrt(x)))) +
               rescaled;
    }
    bessel_order o = bessel_split_order(v);
    if (x <= BESSEL_TEMME_XMAX) {
        /* the quick log for log x (not multiplied by v here, see bessel_temme) and for the
         * final log, whose error is added to the result */
        double lx = bessel_log_quick(x);
        bessel_temme(&o, x, lx, o.n > 0.0, &km, &kp);
        if (o.n == 0.0) /* v = mu <= 1/2: no recurrence, no K_{mu+1} */
            return bessel_log_quick(km);
        double rescaled = bessel_k_recur(o.mu, (int)o.n, x, &km, &kp); /* K_v e^-rescaled */
        return bessel_log_quick(km) + rescaled;
    }
    double lx = log(x); /* multiplied by v below: libm's */
    bessel_cf2(o.mu, x, &km, &kp);
    bessel_k_recur(o.mu, (int)o.n, x, &km, &kp); /* below 1e200 for x > 2, v < 19 */
    double prod = bessel_gamma_prod(&o); /* Gamma(v+1) = prod / rg */
    double t, s0 = 1.0 + bessel_series(v, x, &t);
    /* 1/K_v = x (x/2)^v / Gamma(v+1) (S0 R + (2/x) T), R = kp / km */
    double w = s0 * kp + 2.0 / x * t * km;
    return -lx - (v > 0.0 ? v * (lx - BESSEL_LN2) : 0.0) + bessel_log_quick(prod * km / (o.rg * w));
}

/* log K_v(x) for x < BESSEL_TINY_X and v in the middle region: for v >= 1/2 the
 * leading term Gamma(v) (2/x)^v / 2 (the rest is below 1e-30 relative); below 1/2
 * Temme's f_0, which is K_v(x) up to O(x^2) and holds both (2/x)^+-v terms. */
CIRCA_BESSEL_FN double bessel_tiny_log_k(double v, double x)
{
    double L = BESSEL_LN2 - log(x);
    if (v >= 0.5)
        return CIRCA_BESSEL_LGAMMA(v) + v * L - BESSEL_LN2;
    double g1, g2, sigma = v * L;
    bessel_temme_gammas(v, &g1, &g2);
    double shs = sigma == 0.0 ? 1.0 : sinh(sigma) / sigma;
    double mp = v * BESSEL_PI;
    double fac = fabs(mp) < 1e-4 ? 1.0 + mp * mp / 6.0 : mp / sin(mp);
    return log(fac * (cosh(sigma) * g1 + shs * L * g2));
}

/* ---- entry points ---- */

/* log I_v(x); see circa_log_bessel_i() in circa/special.h for the domain. */
CIRCA_BESSEL_FN double bessel_log_i(double v, double x)
{
    if (!(v >= 0.0) || !(x >= 0.0))
        return NAN; /* negative or NaN */
    if (x == 0.0)
        return v == 0.0 ? 0.0 : -HUGE_VAL;
    if (isinf(x))
        return HUGE_VAL;
    if (isinf(v))
        return -HUGE_VAL;
    if (bessel_hankel_ok(v, x))
        return bessel_hankel(v, x, 1.0);
    double r = bessel_radius(v, x);
    if (bessel_debye_ok(r) && !bessel_series_cheaper(v, x))
        return bessel_debye(v, x, r, 1.0);
    return bessel_series_log_i(v, x);
}

/* log K_v(x); see circa_log_bessel_k() in circa/special.h for the domain. */
CIRCA_BESSEL_FN double bessel_log_k(double v, double x)
{
    if (!(v >= 0.0) || !(x >= 0.0))
        return NAN;
    if (x == 0.0)
        return HUGE_VAL;
    if (isinf(x))
        return -HUGE_VAL;
    if (isinf(v))
        return HUGE_VAL;
    if (bessel_hankel_ok(v, x))
        return bessel_hankel(v, x, -1.0);
    double r = bessel_radius(v, x);
    if (bessel_debye_ok(r))
        return bessel_debye(v, x, r, -1.0);
    if (x < BESSEL_TINY_X)
        return bessel_tiny_log_k(v, x);
    return bessel_middle_log_k(v, x);
}

#endif /* CIRCA_BESSEL_CORE_H */
