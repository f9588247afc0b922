/* tests/unit/test_special.c: the special room: log I_v(x) and log K_v(x) against
 * the mpmath fixture (tests/fixtures/bessel_log.tsv), closed forms, the Wronskian,
 * continuity where the method switches, edge values, the Kaiser window, and the
 * CUDA batches against the CPU (skipped without a device).
 *
 * The error measure throughout is err = |f - f_ref| / max(1, |f_ref|) for a
 * returned log f: relative error of the log where |log f| >= 1, absolute error of
 * the log (= relative error of f itself) where |log f| < 1, since log f is
 * ill-conditioned near 0 (docs/bessel.md). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "circa/cuda.h"
#include "circa/special.h"

#define FIXTURE CIRCA_SOURCE_DIR "/tests/fixtures/bessel_log.tsv"
#define TOL 1e-13

typedef struct row {
    double v, x;
    long double li, lk;
} row;

/* Reads the fixture; *n receives the row count. Fails the test on a bad file. */
static row *load_fixture(size_t *n)
{
    FILE *f = fopen(FIXTURE, "r");
    cr_assert_not_null(f, "cannot open %s", FIXTURE);
    size_t cap = 8192, len = 0;
    row *rows = malloc(cap * sizeof *rows);
    cr_assert_not_null(rows);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        if (len == cap) {
            cap *= 2;
            rows = realloc(rows, cap * sizeof *rows);
            cr_assert_not_null(rows);
        }
        char *end;
        row *r = &rows[len];
        r->v = strtod(line, &end);
        r->x = strtod(end, &end);
        r->li = strtold(end, &end);
        r->lk = strtold(end, &end);
        cr_assert(end != line && isfinite((double)r->li) && isfinite((double)r->lk),
                  "bad fixture line: %s", line);
        len++;
    }
    fclose(f);
    cr_assert_gt(len, 1000, "fixture too short: %zu rows", len);
    *n = len;
    return rows;
}

static double err_of(double got, long double ref)
{
    long double scale = fabsl(ref) > 1.0L ? fabsl(ref) : 1.0L;
    return (double)(fabsl((long double)got - ref) / scale);
}

/* Under CIRCA_TEST_QUICK (the sanitizer run) every 3rd row, else all. */
static size_t fixture_stride(void)
{
    const char *q = getenv("CIRCA_TEST_QUICK");
    return q && *q && strcmp(q, "0") ? 3 : 1;
}

/* BESSEL_DEBYE_RMIN[20] in dsp/special/bessel_coeffs.h: the Debye region's edge. */
#define R_DEBYE 18.51499647548361

/* The labels match the regions of dsp/special/bessel_core.h (for the log only). */
static const char *region_of(double v, double x)
{
    if (x >= 21.0 && 4.0 * v * v <= x)
        return "large x";
    if (hypot(v, x) >= R_DEBYE)
        return "Debye";
    return x <= 2.0 ? "middle x<=2" : "middle x>2";
}

Test(special, fixture_accuracy)
{
    size_t n;
    row *rows = load_fixture(&n);
    const char *names[4] = {"large x", "Debye", "middle x<=2", "middle x>2"};
    double worst_i[4] = {0}, worst_k[4] = {0};
    size_t bad = 0, stride = fixture_stride();
    for (size_t i = 0; i < n; i += stride) {
        const row *r = &rows[i];
        double gi = circa_log_bessel_i(r->v, r->x), gk = circa_log_bessel_k(r->v, r->x);
        double ei = err_of(gi, r->li), ek = err_of(gk, r->lk);
        int reg = 0;
        while (strcmp(names[reg], region_of(r->v, r->x)))
            reg++;
        worst_i[reg] = fmax(worst_i[reg], ei);
        worst_k[reg] = fmax(worst_k[reg], ek);
        if (!(ei <= TOL) || !(ek <= TOL)) {
            if (bad++ < 10)
                cr_log_error("v=%.17g x=%.17g: log I %.17g (err %.2g), log K %.17g (err %.2g)",
                             r->v, r->x, gi, ei, gk, ek);
        }
    }
    for (int j = 0; j < 4; j++)
        cr_log_info("%-12s max err: log I %.2e, log K %.2e", names[j], worst_i[j], worst_k[j]);
    free(rows);
    cr_assert_eq(bad, 0, "%zu fixture rows above %g", bad, TOL);
}

/* I_{1/2}(x) = sqrt(2/(pi x)) sinh x and K_{1/2}(x) = sqrt(pi/(2x)) e^-x (DLMF 10.39.1). */
Test(special, half_order_closed_forms)
{
    const double pi = 3.14159265358979323846;
    for (double lx = -6.0; lx <= 5.0; lx += 0.0625) {
        double x = pow(10.0, lx);
        double lsinh = x > 1.0 ? x + log1p(-exp(-2.0 * x)) - log(2.0) : log(sinh(x));
        double li = 0.5 * log(2.0 / (pi * x)) + lsinh;
        double lk = 0.5 * log(pi / (2.0 * x)) - x;
        cr_assert_leq(err_of(circa_log_bessel_i(0.5, x), li), 1e-14, "I x=%g", x);
        cr_assert_leq(err_of(circa_log_bessel_k(0.5, x), lk), 1e-14, "K x=%g", x);
    }
}

/* x (I_v K_{v+1} + I_{v+1} K_v) = 1 (DLMF 10.28.2): both terms positive, so the
 * identity checks I and K together anywhere, also far outside the fixture. */
Test(special, wronskian)
{
    unsigned s = 12345;
    double worst = 0;
    for (int i = 0; i < 4000; i++) {
        s = s * 1103515245u + 12345u;
        double lv = -3.0 + 8.0 * ((s >> 8) & 0xffff) / 65535.0; /* v in [1e-3, 1e5] */
        s = s * 1103515245u + 12345u;
        double lx = -8.0 + 14.0 * ((s >> 8) & 0xffff) / 65535.0; /* x in [1e-8, 1e6] */
        double v = pow(10.0, lv), x = pow(10.0, lx);
        double a = circa_log_bessel_i(v, x) + circa_log_bessel_k(v + 1.0, x);
        double b = circa_log_bessel_i(v + 1.0, x) + circa_log_bessel_k(v, x);
        double m = fmax(a, b);
        double w = m + log1p(exp(-fabs(a - b))) + log(x);
        /* each log carries up to TOL * max(1, |log|) of error */
        double scale = fmax(1.0, fmax(fabs(circa_log_bessel_i(v, x)), fabs(circa_log_bessel_k(v, x))));
        worst = fmax(worst, fabs(w) / scale);
        cr_assert_leq(fabs(w), 2 * TOL * scale, "v=%.17g x=%.17g: log W = %g", v, x, w);
    }
    cr_log_info("Wronskian: worst |log W| / scale = %.2e", worst);
}

/* No method switch makes a jump: on both sides of each threshold the values
 * agree to the tolerance (the functions are smooth). */
Test(special, continuity_at_switches)
{
    for (int i = 1; i <= 200; i++) {
        double th = 1.5707963267948966 * i / 200.0;
        double v = R_DEBYE * cos(th), x = R_DEBYE * sin(th);
        /* (v, x) at or just outside r = R_DEBYE, (v2, x2) one ulp step inside */
        while (sqrt(v * v + x * x) < R_DEBYE) {
            v = nextafter(v, HUGE_VAL);
            x = nextafter(x, HUGE_VAL);
        }
        double v2 = v, x2 = x;
        while (sqrt(v2 * v2 + x2 * x2) >= R_DEBYE) {
            v = v2;
            x = x2;
            v2 = nextafter(v2, 0.0);
            x2 = nextafter(x2, 0.0);
        }
        double a = circa_log_bessel_i(v, x), b = circa_log_bessel_i(v2, x2);
        double c = circa_log_bessel_k(v, x), d = circa_log_bessel_k(v2, x2);
        cr_assert_leq(fabs(a - b) / fmax(1.0, fabs(a)), 2 * TOL, "I at v=%g x=%g", v, x);
        cr_assert_leq(fabs(c - d) / fmax(1.0, fabs(c)), 2 * TOL, "K at v=%g x=%g", v, x);
    }
    for (double v = 0.0; v <= 2.3; v += 0.01) { /* large-x boundary x = max(21, 4v^2) */
        double x = fmax(21.0, 4.0 * v * v), x2 = nextafter(x, 0.0);
        cr_assert_leq(fabs(circa_log_bessel_i(v, x) - circa_log_bessel_i(v, x2)) / x, 2 * TOL);
        cr_assert_leq(fabs(circa_log_bessel_k(v, x) - circa_log_bessel_k(v, x2)) / x, 2 * TOL);
    }
    /* Hankel: 1 + sum below x = 64, the log form (sum of Q_i(rho) / x^i) from 64, and the
     * term counts of both, which change at x = 2^e (1 + j/4) and with rho = 4v^2/x */
    for (double v = 0.0; v <= 4.0; v += 0.03125) {
        double x = 64.0, x2 = nextafter(x, 0.0);
        double a = circa_log_bessel_i(v, x), b = circa_log_bessel_i(v, x2);
        cr_assert_leq(fabs(a - b) / fabs(a), 2 * TOL, "I at v=%g x=64", v);
        a = circa_log_bessel_k(v, x), b = circa_log_bessel_k(v, x2);
        cr_assert_leq(fabs(a - b) / fabs(a), 2 * TOL, "K at v=%g x=64", v);
    }
    for (int e = 4; e <= 22; e++)
        for (int j = 0; j < 4; j++) {
            double x = ldexp(1.0 + j / 4.0, e), x2 = nextafter(x, 0.0);
            if (x2 < 21.0)
                continue;
            for (double f = 0.0; f <= 1.0; f += 1.0 / 64) {
                double v = 0.5 * sqrt(x2) * f;
                double a = circa_log_bessel_i(v, x), b = circa_log_bessel_i(v, x2);
                cr_assert_leq(fabs(a - b) / fabs(a), 2 * TOL, "I at v=%g x=%g", v, x);
                a = circa_log_bessel_k(v, x), b = circa_log_bessel_k(v, x2);
                cr_assert_leq(fabs(a - b) / fabs(a), 2 * TOL, "K at v=%g x=%g", v, x);
            }
        }
    /* K, Temme's series: sinh(sigma)/sigma by its Taylor series for |sigma| < 1/2 and from
     * e^sigma beyond, sigma = mu log(2/x), mu = v - round(v): around x = 2 e^(-1/(2|mu|)),
     * nine points within 1e-14 relative of it agree */
    for (double am = 0.036; am <= 0.5; am += 0.0173) {
        double x0 = 2.0 * exp(-0.5 / am);
        for (int n = 0; n <= 2; n++)
            for (int sg = -1; sg <= 1; sg += 2) {
                double v = n + sg * am;
                if (v < 0.0)
                    continue;
                double lo = HUGE_VAL, hi = -HUGE_VAL;
                for (int k = -4; k <= 4; k++) {
                    double y = circa_log_bessel_k(v, x0 * (1.0 + 2.5e-15 * k));
                    lo = fmin(lo, y);
                    hi = fmax(hi, y);
                }
                cr_assert_leq((hi - lo) / fmax(1.0, fabs(hi)), 2 * TOL, "K at v=%g x=%g", v, x0);
            }
    }
    for (double v = 0.0; v < 21.0; v += 0.37) { /* K: Temme / CF2 at x = 2, CF2 / Steed at 6 */
        double a = circa_log_bessel_k(v, 2.0), b = circa_log_bessel_k(v, nextafter(2.0, 3.0));
        cr_assert_leq(fabs(a - b) / fmax(1.0, fabs(a)), 2 * TOL, "K at v=%g x=2", v);
        a = circa_log_bessel_k(v, 6.0), b = circa_log_bessel_k(v, nextafter(6.0, 0.0));
        cr_assert_leq(fabs(a - b) / fmax(1.0, fabs(a)), 2 * TOL, "K at v=%g x=6", v);
    }
    /* I: power series / Debye inside the Debye region, at x = 12, v x = 300, v = 60 */
    for (double v = 17.0; v <= 25.0; v += 0.125) {
        double a = circa_log_bessel_i(v, 12.0), b = circa_log_bessel_i(v, nextafter(12.0, 13.0));
        cr_assert_leq(fabs(a - b) / fmax(1.0, fabs(a)), 2 * TOL, "I at v=%g x=12", v);
    }
    for (double x = 5.0; x <= 12.0; x += 0.0625) {
        double v = 300.0 / x, v2 = nextafter(v, HUGE_VAL);
        double a = circa_log_bessel_i(v, x), b = circa_log_bessel_i(v2, x);
        cr_assert_leq(fabs(a - b) / fmax(1.0, fabs(a)), 2 * TOL, "I at v=%g x=%g", v, x);
    }
    for (double x = 1e-6; x <= 5.0; x *= 1.5) {
        double a = circa_log_bessel_i(60.0, x), b = circa_log_bessel_i(nextafter(60.0, 61.0), x);
        cr_assert_leq(fabs(a - b) / fmax(1.0, fabs(a)), 2 * TOL, "I at v=60 x=%g", x);
    }
}

Test(special, known_values)
{
    /* I_0(1), K_0(1), I_1(1), K_1(1) from mpmath at 25 digits */
    cr_assert_leq(err_of(circa_log_bessel_i(0, 1), logl(1.266065877752008335598L)), 1e-15);
    cr_assert_leq(err_of(circa_log_bessel_k(0, 1), logl(0.4210244382407083333357L)), 1e-15);
    cr_assert_leq(err_of(circa_log_bessel_i(1, 1), logl(0.5651591039924850272077L)), 1e-15);
    cr_assert_leq(err_of(circa_log_bessel_k(1, 1), logl(0.6019072301972345747375L)), 1e-15);
}

Test(special, edge_values)
{
    cr_assert_eq(circa_log_bessel_i(0, 0), 0.0);
    cr_assert(isinf(circa_log_bessel_i(1.5, 0)) && circa_log_bessel_i(1.5, 0) < 0);
    cr_assert(isinf(circa_log_bessel_k(0, 0)) && circa_log_bessel_k(0, 0) > 0);
    cr_assert(isnan(circa_log_bessel_i(-1, 1)) && isnan(circa_log_bessel_k(1, -1)));
    cr_assert(isnan(circa_log_bessel_i(NAN, 1)) && isnan(circa_log_bessel_k(1, NAN)));
    cr_assert(circa_log_bessel_i(1, INFINITY) == HUGE_VAL);
    cr_assert(circa_log_bessel_k(1, INFINITY) == -HUGE_VAL);
    cr_assert(circa_log_bessel_i(INFINITY, 1) == -HUGE_VAL);
    cr_assert(circa_log_bessel_k(INFINITY, 1) == HUGE_VAL);
    /* I_0(x) = 1 + x^2/4 + ...: log I_0(1e-10) = 2.5e-21 to full relative precision */
    cr_assert_float_eq(circa_log_bessel_i(0, 1e-10), 2.5e-21, 1e-35);
}

/* Finite, never NaN, over an extreme sweep of finite positive inputs, including
 * subnormal x and orders and arguments far outside the fixture. */
Test(special, finite_everywhere)
{
    static const double vs[] = {0, 1e-300, 1e-20, 1e-8, 0.25, 0.5, 1, 2.5, 18.5, 18.6, 20, 60,
                                61, 100, 1e4, 1e6, 1e10, 1e50, 1e150, 1e200, 1e250};
    static const double xs[] = {5e-324, 1e-310, 1e-300, 1e-100, 1e-31, 1e-29, 1e-6, 0.5, 1.999,
                                2.001, 5.999, 6.001, 12, 12.001, 20, 21.5, 700, 1e5, 1e8,
                                1e50, 1e150, 1e200, 1e250};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
        for (size_t j = 0; j < sizeof xs / sizeof xs[0]; j++) {
            double li = circa_log_bessel_i(vs[i], xs[j]), lk = circa_log_bessel_k(vs[i], xs[j]);
            cr_assert(isfinite(li), "log I v=%g x=%g = %g", vs[i], xs[j], li);
            cr_assert(isfinite(lk), "log K v=%g x=%g = %g", vs[i], xs[j], lk);
            if (xs[j] >= 1.0) /* K_v >= K_0 > e^-x sqrt(pi/(2x)) / 2 there */
                cr_assert_geq(lk, -xs[j] - 0.5 * log(xs[j]) - 1.0, "log K v=%g x=%g", vs[i], xs[j]);
        }
}

/* I decreases in v; K increases in v. */
Test(special, monotone_in_order)
{
    for (double lx = -6.0; lx <= 5.0; lx += 0.25) {
        double x = pow(10.0, lx);
        for (double v = 0.0; v < 30.0; v += 0.5) {
            cr_assert_geq(circa_log_bessel_i(v, x), circa_log_bessel_i(v + 0.5, x), "I v=%g x=%g", v, x);
            cr_assert_leq(circa_log_bessel_k(v, x), circa_log_bessel_k(v + 0.5, x), "K v=%g x=%g", v, x);
        }
    }
}

Test(special, batches)
{
    double v[5] = {0, 0.5, 3, 50, 1e4}, x[5] = {1e-3, 1, 30, 40, 1e5}, out[5];
    cr_assert_eq(circa_log_bessel_i_n(v, x, out, 5), CIRCA_OK);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(out[i], circa_log_bessel_i(v[i], x[i]));
    cr_assert_eq(circa_log_bessel_k_n(v, x, out, 5), CIRCA_OK);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(out[i], circa_log_bessel_k(v[i], x[i]));
    cr_assert_eq(circa_log_bessel_i_n(NULL, x, out, 5), CIRCA_E_PARAM);
    cr_assert_eq(circa_log_bessel_k_n(v, x, NULL, 5), CIRCA_E_PARAM);
    cr_assert_eq(circa_log_bessel_k_n(NULL, NULL, NULL, 0), CIRCA_OK);
    double w[2] = {2, 3};
    cr_assert_eq(circa_log_bessel_i_n(w, x, w, 2), CIRCA_OK); /* out aliasing v */
    cr_assert_eq(w[1], circa_log_bessel_i(3, 1));
}

/* The CUDA batches agree with the CPU on every fixture point (the device's own
 * log, exp and lgamma differ in the last bits; the algorithm is the same). */
Test(special, cuda_matches_cpu)
{
    double one = 1;
    cr_assert_eq(circa_log_bessel_i_cuda(NULL, &one, &one, 1), CIRCA_E_PARAM);
    if (!circa_cuda_available()) {
        cr_assert_eq(circa_log_bessel_i_cuda(&one, &one, &one, 1), CIRCA_E_UNSUPPORTED);
        cr_assert_eq(circa_log_bessel_k_cuda(NULL, NULL, NULL, 0), CIRCA_E_UNSUPPORTED);
        cr_skip_test("no CUDA device (%s)", circa_cuda_compiled() ? "none usable" : "built without CUDA");
    }
    size_t n;
    row *rows = load_fixture(&n);
    double *v = malloc(n * sizeof *v), *x = malloc(n * sizeof *x);
    double *gi = malloc(n * sizeof *gi), *gk = malloc(n * sizeof *gk);
    cr_assert(v && x && gi && gk);
    for (size_t i = 0; i < n; i++) {
        v[i] = rows[i].v;
        x[i] = rows[i].x;
    }
    cr_assert_eq(circa_log_bessel_i_cuda(v, x, gi, n), CIRCA_OK);
    cr_assert_eq(circa_log_bessel_k_cuda(v, x, gk, n), CIRCA_OK);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double ci = circa_log_bessel_i(v[i], x[i]), ck = circa_log_bessel_k(v[i], x[i]);
        double e = fmax(err_of(gi[i], ci), err_of(gk[i], ck));
        worst = fmax(worst, e);
        cr_assert_leq(e, 1e-14, "v=%.17g x=%.17g: GPU %.17g %.17g CPU %.17g %.17g", v[i], x[i],
                      gi[i], gk[i], ci, ck);
        cr_assert_leq(err_of(gi[i], rows[i].li), TOL, "GPU log I v=%g x=%g", v[i], x[i]);
        cr_assert_leq(err_of(gk[i], rows[i].lk), TOL, "GPU log K v=%g x=%g", v[i], x[i]);
    }
    cr_log_info("CUDA vs CPU: worst difference %.2e over %zu points", worst, n);
    free(v);
    free(x);
    free(gi);
    free(gk);
    free(rows);
}

/* The window against I_0 summed directly in long double (small beta), its
 * symmetry, its peak, and large beta. */
Test(special, kaiser_window)
{
    enum { N = 51 };
    double w[N];
    double beta = 8.6;
    circa_kaiser_window(w, N, beta);
    long double i0b = 0, t = 1;
    for (int k = 0; k < 80; k++) {
        i0b += t;
        t *= (long double)beta * beta / 4 / ((k + 1.0L) * (k + 1.0L));
    }
    for (int i = 0; i < N; i++) {
        cr_assert_eq(w[i], w[N - 1 - i], "not symmetric at %d", i);
        long double tt = 2.0L * i / (N - 1) - 1, arg = beta * sqrtl(1 - tt * tt), s = 0, u = 1;
        for (int k = 0; k < 80; k++) {
            s += u;
            u *= arg * arg / 4 / ((k + 1.0L) * (k + 1.0L));
        }
        cr_assert_leq(fabsl(w[i] - s / i0b), 1e-14L, "w[%d] = %.17g", i, w[i]);
    }
    cr_assert_eq(w[N / 2], 1.0);
    circa_kaiser_window(w, N, 0.0);
    for (int i = 0; i < N; i++)
        cr_assert_eq(w[i], 1.0);
    circa_kaiser_window(w, N, -1e5); /* |beta|; e^1e5 would overflow without logs */
    for (int i = 1; i < N; i++) {
        cr_assert(isfinite(w[i]) && w[i] >= 0.0 && w[i] <= 1.0);
        if (i <= N / 2)
            cr_assert_geq(w[i], w[i - 1]);
    }
    circa_kaiser_window(w, 1, 5.0);
    cr_assert_eq(w[0], 1.0);
    circa_kaiser_window(NULL, 0, 5.0);
}

Test(special, kaiser_beta)
{
    cr_assert_float_eq(circa_kaiser_beta(60.0), 0.1102 * 51.3, 1e-12);
    cr_assert_float_eq(circa_kaiser_beta(40.0), 0.5842 * pow(19.0, 0.4) + 0.07886 * 19.0, 1e-12);
    cr_assert_eq(circa_kaiser_beta(10.0), 0.0);
    cr_assert_eq(circa_kaiser_beta(21.0), 0.0);
}
