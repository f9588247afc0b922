/* bench/bessel_floors.c: why log K_v(x) is not 5x faster than GSL in three regions
 * (docs/bessel.md 4.5). Times cut-down or changed copies of circa's code beside GSL
 * and the library, in one run, over the fixture's points of one region:
 *
 *   large-floor   large x: entry checks, 1/x, the inline log and rho/8, no sum at all
 *   large-3       x >= 1024: the log form's sum with 3 terms, straight-line
 *   large-lean    large x: every sum straight-line with fixed term counts (large_lean())
 *   temme-f0      x <= 2: Temme's f_0 and its log, no series term, no recurrence
 *   table         2 < x < 18.5: per-cell polynomial tables (bessel_floors_tables.py)
 *                 in place of CF2 and Steed's sum, then the forward recurrence
 *   table-norec   the same without the recurrence
 *
 * The cut-down copies return wrong values by design (a floor, not a method); the
 * table rows' errors are printed. Built and run by bench/bessel-floors.sh. */
#define _POSIX_C_SOURCE 200809L
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_bessel.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "circa/special.h"
#include "../dsp/special/bessel_core.h"
#include "bench_time.h"
#include "bessel_floors_tables.h" /* generated into the build directory */

typedef double (*log_fn)(double v, double x);

static double gsl_k(double v, double x)
{
    gsl_sf_result r;
    return gsl_sf_bessel_lnKnu_e(v, x, &r) == GSL_SUCCESS && isfinite(r.val) ? r.val : NAN;
}

static double lib_k(double v, double x) { return circa_log_bessel_k(v, x); }

/* The entry checks of bessel_log_k(); 1 where the caller goes on. */
static int entry_ok(double v, double x)
{
    return v >= 0.0 && x > 0.0 && !isinf(x) && !isinf(v);
}

static double large_floor(double v, double x)
{
    if (!entry_ok(v, x) || !bessel_hankel_ok(v, x))
        return NAN;
    double ix = 1.0 / x, r = 4.0 * v * v * ix;
    return (-x + (0.22579135264472743236 - 0.5 * bessel_log_quick(x))) + 0.125 * r;
}

static double large_3(double v, double x)
{
    if (!entry_ok(v, x) || !bessel_hankel_ok(v, x) || !(x >= 1024.0))
        return NAN;
    double ix = 1.0 / x, r = 4.0 * v * v * ix;
    double s = 0.125 * r + bessel_hankel_log_series(r, ix, 3);
    return (-x + (0.22579135264472743236 - 0.5 * bessel_log_quick(x))) + s;
}

/* Hankel's sum by four terms a step (one multiply-add on the chain per four), nq steps. */
static double hankel_quads(double mu, double u, int nq)
{
    double r = 0.0;
    for (int q = nq - 1; q >= 0; q--) {
        double k = 4.0 * q + 1.0;
        double a = (mu - (2 * k - 1) * (2 * k - 1)) * (u * (1.0 / (8 * k)));
        double b = (mu - (2 * k + 1) * (2 * k + 1)) * (u * (1.0 / (8 * k + 8)));
        double c = (mu - (2 * k + 3) * (2 * k + 3)) * (u * (1.0 / (8 * k + 16)));
        double d = (mu - (2 * k + 5) * (2 * k + 5)) * (u * (1.0 / (8 * k + 24)));
        double ab = a * b, cd = c * d, abc = ab * c, abcd = ab * cd;
        r = ((a + ab) + (abc + abcd)) + abcd * r;
    }
    return r;
}

/* The whole large-x region with no table and no switch: term counts fixed per range of
 * x, from a truncation of 2^-50 of the result (|log K| >= x here) instead of 2^-50
 * absolute: the log form with 3, 5 or 8 terms from x = 1024, 256, 64; below 64
 * Hankel's sum by four terms a step, 20 terms below x = 32 and 16 above. */
static double large_lean(double v, double x)
{
    if (!entry_ok(v, x) || !bessel_hankel_ok(v, x))
        return NAN;
    double ix = 1.0 / x, mu = 4.0 * v * v;
    if (x >= 64.0) {
        double r = mu * ix, s = 0.125 * r;
        if (x >= 1024.0)
            s += bessel_hankel_log_series(r, ix, 3);
        else if (x >= 256.0)
            s += bessel_hankel_log_series(r, ix, 5);
        else
            s += bessel_hankel_log_series(r, ix, 8);
        return (-x + (0.22579135264472743236 - 0.5 * bessel_log_quick(x))) + s;
    }
    double sum = x < 32.0 ? hankel_quads(mu, ix, 5) : hankel_quads(mu, ix, 4);
    return -x + bessel_log_prefactor(sum, x, ix, -1.0);
}

/* bessel_temme() up to f_0, the first term of its sum. */
static double temme_f0(double v, double x)
{
    if (!entry_ok(v, x) || bessel_hankel_ok(v, x) || bessel_debye_ok(bessel_radius(v, x)) ||
        x < BESSEL_TINY_X || x > BESSEL_TEMME_XMAX)
        return NAN;
    bessel_order o = bessel_split_order(v);
    double f, p, q;
    bessel_temme_start(&o, bessel_log_quick(x), &f, &p, &q);
    (void)p;
    (void)q;
    return bessel_log_quick(f);
}

/* G = K_mu e^x sqrt(x) and W = z_1/z_0 from the cell's polynomials; returns log K_v
 * (with_recurrence) or only its K_mu part (a floor). */
static double table_k(double v, double x, int with_recurrence)
{
    if (!entry_ok(v, x) || bessel_hankel_ok(v, x) || bessel_debye_ok(bessel_radius(v, x)) ||
        !(x > BESSEL_TEMME_XMAX))
        return NAN;
    int n = (int)(v + 0.5);
    double mu = v - (double)n, s = mu * mu;
    uint64_t bx;
    memcpy(&bx, &x, sizeof bx);
    int c = 16 * ((int)(bx >> 52) - 1024) + (int)((bx >> 48) & 15);
    double u = (x - KT_AB[c][0]) * KT_AB[c][1] - 1.0, w = 8.0 * s - 1.0;
    double w2 = w * w, w4 = w2 * w2, u2 = u * u, u4 = u2 * u2, u8 = u4 * u4;
    const double(*g)[8] = KT_G[c];
    double r[9];
    for (int i = 0; i < 9; i++)
        r[i] = ((g[i][0] + g[i][1] * w) + (g[i][2] + g[i][3] * w) * w2) +
               ((g[i][4] + g[i][5] * w) + (g[i][6] + g[i][7] * w) * w2) * w4;
    double G = (((r[0] + r[1] * u) + (r[2] + r[3] * u) * u2) + ((r[4] + r[5] * u) + (r[6] + r[7] * u) * u2) * u4) +
               r[8] * u8;
    const double(*q)[5] = KT_W[c];
    double t[8];
    for (int i = 0; i < 8; i++)
        t[i] = ((q[i][0] + q[i][1] * w) + (q[i][2] + q[i][3] * w) * w2) + q[i][4] * w4;
    double W = ((t[0] + t[1] * u) + (t[2] + t[3] * u) * u2) + ((t[4] + t[5] * u) + (t[6] + t[7] * u) * u2) * u4;
    double km = x, kp = mu + 0.5 + x + (s - 0.25) * W, rescaled = 0.0; /* x K_mu, x K_mu+1 */
    if (with_recurrence)
        rescaled = bessel_k_recur(mu, n, x, &km, &kp);
    return -x + bessel_log_quick(G * km / (x * sqrt(x))) + rescaled;
}

static double table_rec(double v, double x) { return table_k(v, x, 1); }
static double table_norec(double v, double x) { return table_k(v, x, 0); }

typedef struct {
    double v, x, ref;
} point;

static volatile double sink;

/* ns per call over the points, the median of 9 passes of about 2e6 calls. */
static double time_calls(log_fn fn, const point *p, int m)
{
    double t[9];
    int reps = 2000000 / m + 1;
    for (int k = 0; k < 9; k++) {
        double s = 0.0, t0 = cpu_now();
        for (int r = 0; r < reps; r++)
            for (int i = 0; i < m; i++)
                s += fn(p[i].v, p[i].x);
        t[k] = (cpu_now() - t0) / ((double)reps * m) * 1e9;
        sink = s;
    }
    return median(t, 9);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bessel_floors FIXTURE [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    struct {
        const char *name;
        log_fn copy;
        int checked; /* the copy is a method: print its error */
    } rows[] = {{"large-floor", large_floor, 0}, {"large-3", large_3, 1}, {"large-lean", large_lean, 1},
                {"temme-f0", temme_f0, 0},
                {"table", table_rec, 1},          {"table-norec", table_norec, 0}};
    static point all[20000], pts[20000];
    int n = 0;
    char line[512];
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    while (n < 20000 && fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        char *e;
        all[n].v = strtod(line, &e);
        all[n].x = strtod(e, &e);
        strtod(e, &e);
        all[n].ref = strtod(e, &e); /* log K */
        n++;
    }
    fclose(f);
    printf("%-12s %6s %8s %8s %8s %8s %10s\n", "copy", "points", "GSL", "library", "copy", "GSL/copy",
           "copy error");
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        int m = 0;
        double worst = 0.0;
        for (int i = 0; i < n; i++) { /* the copy's points where GSL succeeds */
            if (isnan(rows[k].copy(all[i].v, all[i].x)) || isnan(gsl_k(all[i].v, all[i].x)))
                continue;
            double err = fabs(rows[k].copy(all[i].v, all[i].x) - all[i].ref) / fmax(1.0, fabs(all[i].ref));
            worst = fmax(worst, err);
            pts[m++] = all[i];
        }
        double tg[16], tl[16], tc[16];
        for (int r = 0; r < runs && r < 16; r++) {
            tg[r] = time_calls(gsl_k, pts, m);
            tl[r] = time_calls(lib_k, pts, m);
            tc[r] = time_calls(rows[k].copy, pts, m);
        }
        double g = median(tg, (size_t)runs), l = median(tl, (size_t)runs), c = median(tc, (size_t)runs);
        printf("%-12s %6d %8.1f %8.1f %8.1f %7.1fx", rows[k].name, m, g, l, c, g / c);
        if (rows[k].checked)
            printf(" %10.1e", worst);
        printf("\n");
    }
    printf("# ns per call, medians of %d runs (each the median of 9 passes); library = circa_log_bessel_k\n",
           runs);
    return 0;
}
