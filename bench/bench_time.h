/* bench/bench_time.h: CPU time and medians for the benchmark programs built by
 * bench/bessel.sh and bench/bessel-floors.sh (not part of the library). */
#ifndef CIRCA_BENCH_TIME_H
#define CIRCA_BENCH_TIME_H
#include <math.h>
#include <stdlib.h>
#include <time.h>

/* CPU seconds of this process: not the wall clock, which other jobs move. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of a[0..n) (sorts a); NAN for n = 0. */
static double median(double *a, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(a, n, sizeof *a, cmp_double);
    return n % 2 ? a[n / 2] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}
#endif
