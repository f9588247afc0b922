/* dsp/special/bessel.c: circa/special.h's log I_v(x) and log K_v(x) on the CPU (the
 * algorithm is in bessel_core.h, shared with CUDA), the CPU batches, and the CUDA
 * batches' front door, which answers CIRCA_E_UNSUPPORTED in a build without CUDA. */
#define _DEFAULT_SOURCE 1 /* lgamma_r in glibc: lgamma() itself writes the global signgam */

#include <math.h>

#include "circa/special.h"

#ifdef CIRCA_HAVE_CUDA
#include "circa/cuda.h"

#include "../../cuda/bessel.h"
#endif

#if defined(__GLIBC__)
/* Thread-safe log Gamma: the sign is not needed (arguments are >= 1/2). */
static double bessel_lgamma(double y)
{
    int sign;
    return lgamma_r(y, &sign);
}
#else
static double bessel_lgamma(double y)
{
    return lgamma(y);
}
#endif

#define CIRCA_BESSEL_LGAMMA(y) bessel_lgamma(y)
#include "bessel_core.h"

double circa_log_bessel_i(double v, double x)
{
    return bessel_log_i(v, x);
}

double circa_log_bessel_k(double v, double x)
{
    return bessel_log_k(v, x);
}

circa_status circa_log_bessel_i_n(const double *v, const double *x, double *out, size_t n)
{
    if (n && (!v || !x || !out))
        return CIRCA_E_PARAM;
    for (size_t i = 0; i < n; i++)
        out[i] = bessel_log_i(v[i], x[i]);
    return CIRCA_OK;
}

circa_status circa_log_bessel_k_n(const double *v, const double *x, double *out, size_t n)
{
    if (n && (!v || !x || !out))
        return CIRCA_E_PARAM;
    for (size_t i = 0; i < n; i++)
        out[i] = bessel_log_k(v[i], x[i]);
    return CIRCA_OK;
}

/* The CUDA batch for kind 0 (I) or 1 (K), with the checks in the order that
 * circa/special.h promises. */
static circa_status cuda_batch(int kind, const double *v, const double *x, double *out,
                               size_t n)
{
    if (n && (!v || !x || !out))
        return CIRCA_E_PARAM;
#ifdef CIRCA_HAVE_CUDA
    if (!circa_cuda_available())
        return CIRCA_E_UNSUPPORTED;
    if (n == 0)
        return CIRCA_OK;
    return (circa_status)circa_cuda__log_bessel(0, kind, v, x, out, n);
#else
    (void)kind;
    return CIRCA_E_UNSUPPORTED;
#endif
}

circa_status circa_log_bessel_i_cuda(const double *v, const double *x, double *out, size_t n)
{
    return cuda_batch(0, v, x, out, n);
}

circa_status circa_log_bessel_k_cuda(const double *v, const double *x, double *out, size_t n)
{
    return cuda_batch(1, v, x, out, n);
}
