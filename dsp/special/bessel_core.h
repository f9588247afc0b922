/* bessel_core.h: log I_v(x) and log K_v(x) for real v >= 0, x > 0, written once for
 * both the CPU (dsp/special/bessel.c) and CUDA (cuda/bessel.cu). Private: not installed.
 *
 * The includer may define, before including this file:
 *   CIRCA_BESSEL_FN        function qualifiers (default "static inline"; CUDA: __device__ ...)
 *   CIRCA_BESSEL_TABLE     table qualifiers    (default "static const"; CUDA: __device__ ...)
 *   CIRCA_BESSEL_LGAMMA(y) log Gamma(y) for y >= 1/2 (default lgamma(y))
 * The code is the common subset of C11 and CUDA C++: no VLAs, no compound literals.
 * It needs IEEE doubles evaluated without contraction into fused multiply-adds
 * (-ffp-contract=off, nvcc --fmad=false): the double-double helpers rely on it.
 *
 * Regions, tried in this order (r = sqrt(v^2 + x^2); docs/bessel.md has the why):
 *   1. Hankel   x >= 21 and 4v^2 <= x: large-x expansion (DLMF 10.40.1, 10.40.2)
 *   2. Debye    r >= BESSEL_DEBYE_RMIN[20] (about 21.13): uniform large-order
 *               expansion (DLMF 10.41.3, 10.41.4) with 3..20 terms, chosen from r;
 *               v eta in double-double where it cancels (x near 0.66 v, large r)
 *   3. middle   r below that, so v < 21.13 and x < 21.13:
 *               I: the power series (DLMF 10.25.2), all terms positive;
 *               K: K_mu, K_{mu+1} at |mu| <= 1/2 from Temme's series (x <= 2) or,
 *               up to a factor, Steed's continued fraction CF2 (x > 2); the forward
 *               recurrence (DLMF 10.29.1) to K_v, K_{v+1}; after CF2 the scale from
 *               the Wronskian I_v K_{v+1} + I_{v+1} K_v = 1/x (DLMF 10.28.2) with I
 *               from the power series: every term positive.
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
#define BESSEL_LN2 0.69314718055994530942
#define BESSEL_LN_2PI 1.8378770664093454836   /* log(2 pi) */
#define BESSEL_LN_PI_2 0.45158270528945486473 /* log(pi / 2) */
#define BESSEL_PI 3.14159265358979323846
#define BESSEL_HANKEL_XMIN 21.0
#define BESSEL_TINY_X 1e-30
#define BESSEL_TEMME_XMAX 2.0

/* ---- double-double helpers (exact error terms: no FMA contraction allowed) ---- */

typedef struct bessel_dd {
    double hi, lo;
} bessel_dd;

CIRCA_BESSEL_FN bessel_dd bessel_two_sum(double a, double b)
{
    bessel_dd r;
    double s = a + b, bb = s - a;
    r.hi = s;
    r.lo = (a - (s - bb)) + (b - bb);
    return r;
}

CIRCA_BESSEL_FN bessel_dd bessel_fast_two_sum(double a, double b) /* |a| >= |b| */
{
    bessel_dd r;
    r.hi = a + b;
    r.lo = b - (r.hi - a);
    return r;
}

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

CIRCA_BESSEL_FN bessel_dd bessel_dd_add(bessel_dd a, bessel_dd b)
{
    bessel_dd s = bessel_two_sum(a.hi, b.hi);
    bessel_dd t = bessel_two_sum(a.lo, b.lo);
    s.lo += t.hi;
    s = bessel_fast_two_sum(s.hi, s.lo);
    s.lo += t.lo;
    return bessel_fast_two_sum(s.hi, s.lo);
}

CIRCA_BESSEL_FN bessel_dd bessel_dd_mul_d(bessel_dd a, double b)
{
    bessel_dd p = bessel_two_prod(a.hi, b);
    p.lo += a.lo * b;
    return bessel_fast_two_sum(p.hi, p.lo);
}

/* a / b for a double-double a and b = bh + bl, to about 2^-104 relative. */
CIRCA_BESSEL_FN bessel_dd bessel_dd_div(bessel_dd a, bessel_dd b)
{
    double q = a.hi / b.hi;
    bessel_dd p = bessel_two_prod(q, b.hi);
    double rem = (((a.hi - p.hi) - p.lo) + a.lo) - q * b.lo;
    return bessel_fast_two_sum(q, rem / b.hi);
}

/* sqrt(a) for a double-double a > 0. */
CIRCA_BESSEL_FN bessel_dd bessel_dd_sqrt(bessel_dd a)
{
    double s = sqrt(a.hi);
    bessel_dd sq = bessel_two_prod(s, s);
    double corr = (((a.hi - sq.hi) - sq.lo) + a.lo) / (2.0 * s);
    return bessel_fast_two_sum(s, corr);
}

/* 2^e for an integer e in [-1022, 1023], built from its bits (no ldexp call). */
CIRCA_BESSEL_FN double bessel_pow2(int e)
{
    uint64_t bits = (uint64_t)(e + 1023) << 52;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* log(a) for a double-double a >= 1 (a.hi normal), to about 1e-19 absolute:
 * a = 2^k m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(t), t = (m - 1)/(m + 1),
 * |t| <= 0.172; the leading 2t is kept in double-double, the rest (below 0.0034,
 * ten terms of the atanh series) in double. */
CIRCA_BESSEL_FN bessel_dd bessel_dd_log(bessel_dd a)
{
    const double ln2_hi = 6.93147180559945286227e-01, ln2_lo = 2.31904681384629955842e-17;
    uint64_t bits;
    memcpy(&bits, &a.hi, sizeof bits);
    int k = (int)((bits >> 52) & 0x7ff) - 1023;
    double scale = bessel_pow2(-k), m = a.hi * scale; /* exact: m in [1, 2) */
    if (m > 1.4142135623730950488) {
        m *= 0.5;
        scale *= 0.5;
        k += 1;
    }
    double ml = a.lo * scale;
    bessel_dd num = bessel_fast_two_sum(m - 1.0, ml); /* m - 1 is exact (Sterbenz) */
    bessel_dd den = bessel_two_sum(m, 1.0);
    den.lo += ml;
    bessel_dd t = bessel_dd_div(num, den);
    double t2 = t.hi * t.hi;
    double s = 1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 * (1.0 / 9 + t2 * (1.0 / 11 +
               t2 * (1.0 / 13 + t2 * (1.0 / 15 + t2 * (1.0 / 17 + t2 * (1.0 / 19 +
               t2 * (1.0 / 21 + t2 * (1.0 / 23))))))))));
    bessel_dd lg;
    lg.hi = 2.0 * t.hi;
    lg.lo = 2.0 * t.lo + 2.0 * t.hi * t2 * s;
    lg = bessel_fast_two_sum(lg.hi, lg.lo);
    bessel_dd kl = bessel_two_prod((double)k, ln2_hi);
    kl.lo += (double)k * ln2_lo;
    return bessel_dd_add(kl, lg);
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
 * v L turns into the error that bessel_debye_needs_dd() accounts for). */
CIRCA_BESSEL_FN double bessel_debye_L(double v, double x, double r)
{
    double q = (v + r) / x; /* correctly rounded even for subnormal x, unless it overflows */
    if (q < 1e300)
        return log(q);
    return log(0.5 * v + 0.5 * r) + (BESSEL_LN2 - log(x));
}

/* v eta = r - v log((v + r)/x) in double-double, for the band near eta = 0 where
 * the two terms cancel (x near 0.66 v): there a 1-ulp error in either term is far
 * above the tolerance on a result of order log r. Needs r < 1e150. */
CIRCA_BESSEL_FN double bessel_veta_dd(double v, double x)
{
    bessel_dd r = bessel_dd_sqrt(bessel_dd_add(bessel_two_prod(v, v), bessel_two_prod(x, x)));
    bessel_dd s = bessel_two_sum(r.hi, v);
    s.lo += r.lo;
    bessel_dd q = bessel_dd_div(s, bessel_two_sum(x, 0.0));
    bessel_dd vl = bessel_dd_mul_d(bessel_dd_log(q), -v);
    bessel_dd e = bessel_dd_add(r, vl);
    return e.hi + e.lo;
}

/* Number of Debye terms for r: the fewest whose truncation error is below the
 * table's tolerance; 0 when r is too small for 20 terms. */
CIRCA_BESSEL_FN int bessel_debye_terms(double r)
{
    if (!(r >= BESSEL_DEBYE_RMIN[BESSEL_DEBYE_KMAX]))
        return 0; /* the middle region: one test instead of twenty */
    int n = 1;
    while (n <= BESSEL_DEBYE_KMAX && r < BESSEL_DEBYE_RMIN[n])
        n++;
    return n <= BESSEL_DEBYE_KMAX ? n : 0;
}

/* Whether the plain double v eta needs the double-double rescue: its error was
 * measured below 2.9 eps (r + v L) (800,000 random points, r from 25 to 4e4);
 * allow a tenth of the final tolerance (1e-13 on |log| scaled by max(1, |log|)).
 * That sends about 4% of the Debye calls, those near eta = 0, to the slower path. */
CIRCA_BESSEL_FN int bessel_debye_needs_dd(double r, double v, double L, double result)
{
    double err = 3.0 * BESSEL_EPS * (r + v * L);
    double scale = fabs(result) > 1.0 ? fabs(result) : 1.0;
    return err > 1e-14 * scale && r < 1e150;
}

/* log I_v(x) (sign = +1) or log K_v(x) (sign = -1) by Debye with n terms:
 * I = e^(v eta) / sqrt(2 pi r) (1 + sum), K = e^(-v eta) sqrt(pi / (2 r)) (1 + sum). */
CIRCA_BESSEL_FN double bessel_debye(double v, double x, double r, int n, double sign)
{
    double ir = 1.0 / r, p = v * ir, L = bessel_debye_L(v, x, r);
    double veta = r - v * L;
    double tail = bessel_debye_sum(p * p, ir, n, sign);
    double c = sign > 0 ? 0.39894228040143267794 : 1.2533141373155002512; /* 1/sqrt(2pi), sqrt(pi/2) */
    double pre = r < 1e300 ? log((1.0 + tail) * c / sqrt(r)) : log1p(tail) + log(c) - 0.5 * log(r);
    double res = sign * veta + pre;
    if (bessel_debye_needs_dd(r, v, L, res))
        res = sign * bessel_veta_dd(v, x) + pre;
    return res;
}

/* ---- Hankel: large x, small v, DLMF 10.40.1 (I) and 10.40.2 (K) ---- */

CIRCA_BESSEL_FN int bessel_hankel_ok(double v, double x)
{
    return x >= BESSEL_HANKEL_XMIN && 4.0 * v * v <= x;
}

/* sum_{k>=1} s^k a_k(v) / x^k, a_k(v) = prod_{j<=k} (4v^2 - (2j-1)^2) / (k! 8^k);
 * s = -1 for I, +1 for K. Stops when a term drops below eps/8 (the sum is added
 * to 1), or when the terms start to grow (the asymptotic series' best place to
 * stop; with x >= 21 and 4v^2 <= x the terms reach eps/8 first). */
CIRCA_BESSEL_FN double bessel_hankel_sum(double v, double x, double s)
{
    double mu = 4.0 * v * v, term = 1.0, sum = 0.0, prev = HUGE_VAL;
    double step = s / (8.0 * x);
    for (int k = 1; k <= 60; k++) {
        double odd = 2.0 * k - 1.0;
        term *= (mu - odd * odd) * step / k;
        double at = fabs(term);
        if (at > prev)
            break;
        sum += term;
        if (at <= 0.125 * BESSEL_EPS)
            break;
        prev = at;
    }
    return sum;
}

/* I = e^x / sqrt(2 pi x) (1 + sum), K = e^-x sqrt(pi / (2x)) (1 + sum). */
CIRCA_BESSEL_FN double bessel_hankel(double v, double x, double sign)
{
    double sum = bessel_hankel_sum(v, x, -sign);
    double c = sign > 0 ? 0.39894228040143267794 : 1.2533141373155002512;
    double pre = x < 1e300 ? log((1.0 + sum) * c / sqrt(x)) : log1p(sum) + log(c) - 0.5 * log(x);
    return sign * x + pre;
}

/* ---- the middle region: v, x < 21.13 ---- */

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

CIRCA_BESSEL_FN bessel_order bessel_split_order(double v)
{
    bessel_order o;
    o.n = floor(v + 0.5);
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
    for (int k = 1; k < 200; k++) {
        double kk = (double)k;
        t *= q / (kk * (v + kk));
        a += t;
        b += kk * t;
        if (kk * t <= 0.125 * BESSEL_EPS * b)
            break; /* then also t <= eps/8 (1 + a): b <= k (1 + a) past the largest term */
    }
    *tsum = b;
    return a;
}

CIRCA_BESSEL_FN double bessel_middle_log_i(double v, double x)
{
    double t, s0m1 = bessel_series(v, x, &t);
    double lhalf = log(x) - BESSEL_LN2; /* not log(x/2): x/2 is inexact for subnormal x */
    return (v > 0.0 ? v * lhalf : 0.0) - CIRCA_BESSEL_LGAMMA(v + 1.0) + log1p(s0m1);
}

/* Temme's series (1975) for 0 < x <= 2, |mu| <= 1/2: K_mu = sum_k c_k f_k and
 * K_{mu+1} = (2/x) sum_k c_k (p_k - k f_k), c_k = (x^2/4)^k / k!, with
 * f_k = (k f_{k-1} + p_{k-1} + q_{k-1}) / (k^2 - mu^2), p_k = p_{k-1} / (k - mu),
 * q_k = q_{k-1} / (k + mu), p_0 = (x/2)^-mu Gamma(1+mu) / 2, q_0 = (x/2)^mu Gamma(1-mu) / 2,
 * f_0 = (mu pi / sin mu pi) (cosh(sigma) Gamma_1 + sinh(sigma)/sigma log(2/x) Gamma_2),
 * sigma = mu log(2/x). The products c_k f_k, c_k p_k, c_k q_k are carried directly,
 * so each step takes one division. Returns x K_mu and x K_{mu+1}. */
CIRCA_BESSEL_FN void bessel_temme(const bessel_order *o, double x, double lx, double *km,
                                  double *kp)
{
    double mu = o->mu, L = BESSEL_LN2 - lx, sigma = mu * L;
    /* e^sigma and e^sigma - 1, each without cancellation */
    double e, em;
    if (fabs(sigma) < 0.5) {
        em = expm1(sigma);
        e = 1.0 + em;
    } else {
        e = exp(sigma);
        em = e - 1.0;
    }
    double ie = 1.0 / e;
    double ch = 0.5 * (e + ie), sh_sigma = 0.5 * (em + em * ie); /* cosh, sinh of sigma */
    double mp = mu * BESSEL_PI, f;
    if (fabs(mp) >= 1e-4) { /* mu pi / sin(mu pi) (ch g1 + sinh(sigma)/sigma L g2), one division */
        f = (mp * ch * o->g1 + BESSEL_PI * sh_sigma * o->g2) / sin(mp);
    } else {
        double shs = fabs(sigma) < 1e-4 ? 1.0 + sigma * sigma / 6.0 : sh_sigma / sigma;
        f = (1.0 + mp * mp / 6.0) * (ch * o->g1 + shs * L * o->g2);
    }
    double rg_minus = o->g2 + mu * o->g1, d = 0.5 / (o->rg * rg_minus); /* 1/Gamma(1-mu) */
    double p = e * rg_minus * d, q = ie * o->rg * d;
    double q4 = 0.25 * x * x, sf = f, sh = p;
    for (int k = 1; k < 100; k++) {
        double kk = (double)k, inv = q4 / (kk * (kk - mu) * (kk + mu));
        f = (kk * f + p + q) * inv; /* c_k f_k, from the previous c p and c q */
        p *= (kk + mu) * inv;       /* c_k p_k */
        q *= (kk - mu) * inv;       /* c_k q_k */
        double h = p - kk * f;
        sf += f;
        sh += h;
        if (fabs(f) <= 0.125 * BESSEL_EPS * fabs(sf) && fabs(h) <= 0.125 * BESSEL_EPS * fabs(sh))
            break;
    }
    *km = x * sf;
    *kp = 2.0 * sh;
}

/* Steed's CF2 for x > 2, |mu| <= 1/2: with z_k = U(mu + 1/2 + k, 2 mu + 1, 2x)
 * (DLMF 10.39.6 writes K through U), DLMF 13.3.7 gives the recurrence
 * z_{k-1} - 2(k + x) z_k + ((k + 1/2)^2 - mu^2) z_{k+1} = 0, whose minimal solution
 * yields z_1/z_0 as a continued fraction, and K_{mu+1}/K_mu =
 * (mu + 1/2 + x + (mu^2 - 1/4) z_1/z_0) / x. The fraction is evaluated backwards
 * as a ratio of two recurrences (no division in the loop; the values stay below
 * 1e90) from depth 6 + 58/x, one more than the depth that gives this ratio to 2^-56
 * at 200 x in (2, 21.2] and seven mu in [-1/2, 1/2].
 * Returns K_mu and K_{mu+1} up to a common factor. */
CIRCA_BESSEL_FN void bessel_cf2(double mu, double x, double *km, double *kp)
{
    int depth = 6 + (int)(58.0 / x);
    double m2 = mu * mu, num = 0.0, den = 1.0;
    for (int k = depth; k >= 1; k--) { /* t = num/den -> 1/(b_k - a_k t) */
        double kh = k + 0.5, nd = 2.0 * (k + x) * den - (kh * kh - m2) * num;
        num = den;
        den = nd;
    }
    *km = x * den;
    *kp = (mu + 0.5 + x) * den + (m2 - 0.25) * num;
}

/* log K_v(x) in the middle region (x >= BESSEL_TINY_X): K_mu, K_{mu+1} (Temme: the
 * values times x; CF2: up to an unknown factor), then the forward recurrence
 * K_{nu+1} = K_{nu-1} + (2 nu / x) K_nu (DLMF 10.29.1, stable upwards for K) to
 * K_v, K_{v+1}, rescaled by 1e-250 when large. Temme's values give log K_v
 * directly. After CF2 the scale comes from the Wronskian 1/K_v = x (I_v R + I_{v+1}),
 * R = K_{v+1}/K_v (DLMF 10.28.2), with I from the power series: every term positive. */
CIRCA_BESSEL_FN double bessel_middle_log_k(double v, double x)
{
    const double ln_1e250 = 575.64627324851142; /* 250 log 10 */
    bessel_order o = bessel_split_order(v);
    double lx = log(x), km, kp, rescaled = 0.0;
    int temme = x <= BESSEL_TEMME_XMAX;
    if (temme)
        bessel_temme(&o, x, lx, &km, &kp);
    else
        bessel_cf2(o.mu, x, &km, &kp);
    double two_x = 2.0 / x;
    for (double nu = o.mu + 1.0; nu < v + 0.75; nu += 1.0) {
        double next = km + nu * two_x * kp;
        km = kp;
        kp = next;
        if (kp > 1e250) { /* K grows like (2/x)^n n!: keep the pair in range */
            km *= 1e-250;
            kp *= 1e-250;
            rescaled += ln_1e250;
        }
    }
    if (temme) /* km = x K_v e^-rescaled */
        return log(km) - lx + rescaled;
    double prod = 1.0; /* Gamma(v+1) = Gamma(1+mu) prod_{j=1..n} (mu+j) = prod / rg */
    for (double j = 1.0; j <= o.n; j += 1.0)
        prod *= o.mu + j;
    double t, s0 = 1.0 + bessel_series(v, x, &t);
    /* 1/K_v = x (x/2)^v / Gamma(v+1) (S0 R + (2/x) T), R = kp / km */
    double w = s0 * kp + two_x * t * km;
    return -lx - (v > 0.0 ? v * (lx - BESSEL_LN2) : 0.0) + log(prod * km / (o.rg * w));
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
    int n = bessel_debye_terms(r);
    if (n)
        return bessel_debye(v, x, r, n, 1.0);
    return bessel_middle_log_i(v, x);
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
    int n = bessel_debye_terms(r);
    if (n)
        return bessel_debye(v, x, r, n, -1.0);
    if (x < BESSEL_TINY_X)
        return bessel_tiny_log_k(v, x);
    return bessel_middle_log_k(v, x);
}

#endif /* CIRCA_BESSEL_CORE_H */
