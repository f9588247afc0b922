/* dsp/special/kaiser.c: the Kaiser window and Kaiser's formula for its shape
 * parameter (circa/special.h), computed through log I_0 so no beta overflows. */
#include <math.h>

#include "circa/special.h"

void circa_kaiser_window(double *w, size_t n, double beta)
{
    if (n == 0 || !w)
        return;
    if (n == 1) {
        w[0] = 1.0;
        return;
    }
    beta = fabs(beta);
    double lnorm = circa_log_bessel_i(0.0, beta);
    double m = (double)(n - 1);
    for (size_t i = 0; i <= (n - 1) / 2; i++) {
        /* 1 - t^2 with t = 2i/m - 1 is 4 i (m - i) / m^2: no cancellation near the ends */
        double di = (double)i;
        double s = 2.0 * sqrt(di * (m - di)) / m;
        double val = exp(circa_log_bessel_i(0.0, beta * s) - lnorm);
        w[i] = val;
        w[n - 1 - i] = val; /* mirrored, so the window is exactly symmetric */
    }
}

double circa_kaiser_beta(double attenuation_db)
{
    double a = attenuation_db;
    if (a > 50.0)
        return 0.1102 * (a - 8.7);
    if (a >= 21.0)
        return 0.5842 * pow(a - 21.0, 0.4) + 0.07886 * (a - 21.0);
    return 0.0;
}
