/* bench/bessel.c: circa's log I_v(x) and log K_v(x) against GSL over the mpmath
 * fixture: accuracy (max and median error, failures) and speed per region.
 * Built and run by bench/bessel.sh; not part of the normal build.
 *
 *   bessel [FIXTURE] [--reps N]
 *   bessel [FIXTURE] --count i|k circa|gsl REGION    (REGION 0..3, or -1 for all)
 *
 * GSL: log I = log(gsl_sf_bessel_Inu_scaled_e) + x, log K = gsl_sf_bessel_lnKnu_e.
 * A GSL call fails when it returns an error code or a non-finite (or, for I, a
 * non-positive) value; the failures are counted per region, and speed is
 * compared only over the points where GSL succeeds (circa timed on the same
 * points). Error: |f - f_ref| / max(1, |f_ref|) on the log (docs/bessel.md).
 * Times are CPU time per call, the median of --reps runs over each region.
 * --count makes one pass of one library over one region's points (those where
 * GSL succeeds) inside count_calls(), for valgrind --tool=callgrind
 * --toggle-collect='count_calls*' (the pattern also catches gcc's specialised
 * clone): instructions per call, repeatable where times on a shared machine are
 * not (bessel.sh --callgrind). */
#define _POSIX_C_SOURCE 200809L
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_bessel.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "circa/special.h"
/* For the region labels only (the timed calls go through the library). */
#include "../dsp/special/bessel_core.h"
#include "bench_time.h"

enum { REGIONS = 4, MAXROWS = 20000 };
static const char *region_name[REGIONS] = {"large x", "Debye", "middle x<=2", "middle x>2"};

typedef struct row {
    double v, x;
    long double ref[2]; /* log I, log K */
    int region;
} row;

typedef double (*log_fn)(double v, double x, int *failed);

static double circa_i(double v, double x, int *failed)
{
    double r = circa_log_bessel_i(v, x);
    *failed = !isfinite(r);
    return r;
}

static double circa_k(double v, double x, int *failed)
{
    double r = circa_log_bessel_k(v, x);
    *failed = !isfinite(r);
    return r;
}

static double gsl_i(double v, double x, int *failed)
{
    gsl_sf_result res;
    int st = gsl_sf_bessel_Inu_scaled_e(v, x, &res);
    *failed = st != GSL_SUCCESS || !(res.val > 0.0) || !isfinite(res.val);
    return log(res.val) + x;
}

static double gsl_k(double v, double x, int *failed)
{
    gsl_sf_result res;
    int st = gsl_sf_bessel_lnKnu_e(v, x, &res);
    *failed = st != GSL_SUCCESS || !isfinite(res.val);
    return res.val;
}

static int region_of(double v, double x)
{
    if (bessel_hankel_ok(v, x))
        return 0;
    if (bessel_debye_ok(bessel_radius(v, x)))
        return 1;
    return x <= 2.0 ? 2 : 3;
}

static size_t load(const char *path, row *rows)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    char line[512];
    size_t n = 0;
    while (n < MAXROWS && fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        char *end;
        row *r = &rows[n];
        r->v = strtod(line, &end);
        r->x = strtod(end, &end);
        r->ref[0] = strtold(end, &end);
        r->ref[1] = strtold(end, &end);
        r->region = region_of(r->v, r->x);
        n++;
    }
    fclose(f);
    return n;
}

static volatile double sink;

/* CPU ns per call of fn over the listed points, median of reps runs. */
static double time_calls(log_fn fn, const row *rows, const size_t *idx, size_t m, int reps)
{
    double runs[64];
    if (m == 0)
        return NAN;
    for (int r = 0; r < reps; r++) {
        double s = 0, t0 = cpu_now();
        int failed;
        for (size_t i = 0; i < m; i++)
            s += fn(rows[idx[i]].v, rows[idx[i]].x, &failed);
        runs[r] = (cpu_now() - t0) / (double)m * 1e9;
        sink = s;
    }
    return median(runs, (size_t)reps);
}

typedef struct stats {
    size_t points, fails;
    double max_err, med_err;
} stats;

/* Accuracy of fn over the region's points (all regions when region < 0); marks
 * in ok[] the points where fn succeeded. */
static stats accuracy(log_fn fn, int which, const row *rows, size_t n, int region,
                      unsigned char *ok, double *scratch)
{
    stats st = {0, 0, 0, 0};
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (region >= 0 && rows[i].region != region)
            continue;
        int failed;
        double got = fn(rows[i].v, rows[i].x, &failed);
        st.points++;
        ok[i] = !failed;
        if (failed) {
            st.fails++;
            continue;
        }
        long double ref = rows[i].ref[which], scale = fabsl(ref) > 1 ? fabsl(ref) : 1;
        double e = (double)(fabsl((long double)got - ref) / scale);
        scratch[m++] = e;
        if (e > st.max_err)
            st.max_err = e;
    }
    st.med_err = median(scratch, m);
    return st;
}

static void print_row(const char *fn, const char *region, const char *lib, const stats *st,
                      double ns, double speedup)
{
    char sp[32] = "-";
    if (speedup > 0)
        snprintf(sp, sizeof sp, "%.1fx", speedup);
    printf("%-6s %-12s %-7s %6zu %6zu %10.2e %10.2e %9.0f %8s\n", fn, region, lib, st->points,
           st->fails, st->max_err, st->med_err, ns, sp);
}

/* One function (which = 0: I, 1: K): per region and overall, circa then GSL. */
static void bench_function(int which, const row *rows, size_t n, int reps)
{
    const char *fname = which ? "log K" : "log I";
    log_fn mine = which ? circa_k : circa_i, theirs = which ? gsl_k : gsl_i;
    unsigned char *ok_mine = calloc(n, 1), *ok_gsl = calloc(n, 1);
    double *scratch = malloc(n * sizeof *scratch);
    size_t *idx = malloc(n * sizeof *idx);
    if (!ok_mine || !ok_gsl || !scratch || !idx)
        exit(2);
    double total_mine = 0, total_gsl = 0;
    for (int reg = -1; reg < REGIONS; reg++) {
        stats a = accuracy(mine, which, rows, n, reg, ok_mine, scratch);
        stats b = accuracy(theirs, which, rows, n, reg, ok_gsl, scratch);
        size_t m = 0; /* the region's points where GSL succeeds */
        for (size_t i = 0; i < n; i++)
            if ((reg < 0 || rows[i].region == reg) && ok_gsl[i])
                idx[m++] = i;
        double t_mine = time_calls(mine, rows, idx, m, reps);
        double t_gsl = time_calls(theirs, rows, idx, m, reps);
        if (reg < 0) {
            total_mine = t_mine;
            total_gsl = t_gsl;
            continue; /* printed last */
        }
        print_row(fname, region_name[reg], "circa", &a, t_mine, 0);
        print_row(fname, region_name[reg], "GSL", &b, t_gsl, t_gsl / t_mine);
    }
    stats a = accuracy(mine, which, rows, n, -1, ok_mine, scratch);
    stats b = accuracy(theirs, which, rows, n, -1, ok_gsl, scratch);
    print_row(fname, "all", "circa", &a, total_mine, 0);
    print_row(fname, "all", "GSL", &b, total_gsl, total_gsl / total_mine);
    free(ok_mine);
    free(ok_gsl);
    free(scratch);
    free(idx);
}

static double wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Median over points (where GSL succeeds) of the per-point time ratio GSL/circa,
 * each point timed as 32 calls, best of 3 (wall clock: the CPU-time clock is a
 * system call, too slow to read around a few calls). */
static double median_pointwise_speedup(int which, const row *rows, size_t n)
{
    log_fn mine = which ? circa_k : circa_i, theirs = which ? gsl_k : gsl_i;
    double *ratio = malloc(n * sizeof *ratio);
    size_t m = 0;
    if (!ratio)
        exit(2);
    for (size_t i = 0; i < n; i++) {
        int failed;
        theirs(rows[i].v, rows[i].x, &failed);
        if (failed)
            continue;
        double best[2] = {HUGE_VAL, HUGE_VAL};
        for (int rep = 0; rep < 3; rep++)
            for (int lib = 0; lib < 2; lib++) {
                log_fn fn = lib ? theirs : mine;
                double s = 0, t0 = wall_now();
                for (int k = 0; k < 32; k++)
                    s += fn(rows[i].v, rows[i].x, &failed);
                double t = wall_now() - t0;
                sink = s;
                if (t < best[lib])
                    best[lib] = t;
            }
        ratio[m++] = best[1] / best[0];
    }
    double med = median(ratio, m);
    free(ratio);
    return med;
}

/* Tallies GSL's failures by cause (its error string, or the non-finite value)
 * with the v and x ranges where each occurs. */
static void report_gsl_failures(int which, const row *rows, size_t n)
{
    enum { CAUSES = 8 };
    const char *cause[CAUSES];
    size_t count[CAUSES];
    double vlo[CAUSES], vhi[CAUSES], xlo[CAUSES], xhi[CAUSES];
    int nc = 0;
    for (size_t i = 0; i < n; i++) {
        gsl_sf_result res;
        double v = rows[i].v, x = rows[i].x;
        int st = which ? gsl_sf_bessel_lnKnu_e(v, x, &res) : gsl_sf_bessel_Inu_scaled_e(v, x, &res);
        const char *c = NULL;
        if (st != GSL_SUCCESS)
            c = gsl_strerror(st);
        else if (!isfinite(res.val))
            c = "non-finite value";
        else if (!which && !(res.val > 0.0))
            c = "zero (log is -inf)";
        if (!c)
            continue;
        int j = 0;
        while (j < nc && strcmp(cause[j], c))
            j++;
        if (j == nc) {
            if (nc == CAUSES)
                continue;
            cause[j] = c;
            count[j] = 0;
            vlo[j] = xlo[j] = HUGE_VAL;
            vhi[j] = xhi[j] = 0;
            nc++;
        }
        count[j]++;
        vlo[j] = fmin(vlo[j], v);
        vhi[j] = fmax(vhi[j], v);
        xlo[j] = fmin(xlo[j], x);
        xhi[j] = fmax(xhi[j], x);
    }
    for (int j = 0; j < nc; j++)
        printf("# GSL %s fails: %zu x \"%s\", v in [%.3g, %.3g], x in [%.3g, %.3g]\n",
               which ? "log K" : "log I", count[j], cause[j], vlo[j], vhi[j], xlo[j], xhi[j]);
}

/* One pass of fn over the listed points: the function callgrind counts. */
__attribute__((noinline)) static double count_calls(log_fn fn, const row *rows, const size_t *idx,
                                                    size_t m)
{
    double s = 0;
    int failed;
    for (size_t i = 0; i < m; i++)
        s += fn(rows[idx[i]].v, rows[idx[i]].x, &failed);
    return s;
}

/* --count: prints the number of points that count_calls() went over. */
static int count_mode(const row *rows, size_t n, const char *func, const char *lib, int region)
{
    int which = !strcmp(func, "k");
    log_fn theirs = which ? gsl_k : gsl_i;
    log_fn fn = !strcmp(lib, "gsl") ? theirs : which ? circa_k : circa_i;
    size_t *idx = malloc(n * sizeof *idx), m = 0;
    if (!idx)
        return 2;
    for (size_t i = 0; i < n; i++) {
        int failed;
        if (region >= 0 && rows[i].region != region)
            continue;
        theirs(rows[i].v, rows[i].x, &failed);
        if (!failed)
            idx[m++] = i;
    }
    sink = count_calls(fn, rows, idx, m);
    printf("points %zu\n", m);
    free(idx);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = "tests/fixtures/bessel_log.tsv", *cfunc = NULL, *clib = NULL;
    int reps = 5, cregion = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--count") && i + 3 < argc) {
            cfunc = argv[++i];
            clib = argv[++i];
            cregion = atoi(argv[++i]);
        } else
            path = argv[i];
    }
    if (reps < 1 || reps > 64)
        reps = 5;
    gsl_set_error_handler_off();
    static row rows[MAXROWS];
    size_t n = load(path, rows);
    if (cfunc)
        return count_mode(rows, n, cfunc, clib, cregion);
    for (int which = 0; which < 2; which++)
        bench_function(which, rows, n, reps);
    for (int which = 0; which < 2; which++)
        report_gsl_failures(which, rows, n);
    for (int which = 0; which < 2; which++)
        printf("# %s: median per-point speedup over GSL (where GSL succeeds): %.1fx\n",
               which ? "log K" : "log I", median_pointwise_speedup(which, rows, n));
    return 0;
}
