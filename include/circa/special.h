/* circa/special.h: special functions: the logarithms of the modified Bessel
 * functions I_v(x) and K_v(x) for real order v >= 0, on the CPU and in CUDA, and
 * the Kaiser window built on log I_0.
 *
 * Contents
 *   1. log I_v(x), log K_v(x)           circa_log_bessel_i, circa_log_bessel_k
 *   2. batches, CPU and CUDA            circa_log_bessel_{i,k}_n, circa_log_bessel_{i,k}_cuda
 *   3. Kaiser window                    circa_kaiser_window, circa_kaiser_beta
 *
 * Example: the log normaliser of a von Mises-Fisher density on the sphere S^(d-1),
 * log C_d(kappa) = (d/2 - 1) log kappa - (d/2) log(2 pi) - log I_{d/2-1}(kappa),
 * stays finite for d = 10000 and kappa = 1e5, where I itself overflows:
 *
 *     double lc = (d / 2.0 - 1) * log(kappa) - d / 2.0 * log(2 * 3.141592653589793)
 *                 - circa_log_bessel_i(d / 2.0 - 1, kappa);
 *
 * Accuracy (docs/bessel.md): over v in [0, 1e4], x in [1e-6, 1e5] the error
 * |f - f_ref| / max(1, |f_ref|) of the returned log f is below 1e-13 against
 * mpmath: relative error of the log where |log f| >= 1, and where |log f| < 1
 * (log f is ill-conditioned near 0) absolute error of the log, which is the
 * relative error of f itself. Results are finite for all finite v >= 0, x > 0
 * whose log is a finite double (that is, up to about 1e300 in v or x).
 *
 * Threading: no state; every function may be called from any thread. The CUDA
 * batches serialise their launches on a process-wide lock. */
#ifndef CIRCA_SPECIAL_H
#define CIRCA_SPECIAL_H

#include <stddef.h>

#include "circa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- 1. log I_v(x), log K_v(x) ------------------------------------------- */

/* log I_v(x), the modified Bessel function of the first kind, for v >= 0, x >= 0.
 * x == 0 gives 0 for v == 0 (I_0(0) = 1) and -HUGE_VAL for v > 0; x == +inf
 * gives +HUGE_VAL; v == +inf gives -HUGE_VAL. Negative or NaN v or x give NaN. */
CIRCA_API double circa_log_bessel_i(double v, double x);

/* log K_v(x), the modified Bessel function of the second kind, for v >= 0, x >= 0
 * (K_{-v} = K_v, so pass |v|). x == 0 or v == +inf give +HUGE_VAL; x == +inf gives
 * -HUGE_VAL. Negative or NaN v or x give NaN. */
CIRCA_API double circa_log_bessel_k(double v, double x);

/* ---- 2. batches ----------------------------------------------------------- */

/* out[i] = log I_{v[i]}(x[i]) (resp. log K) for i < n, on the CPU. out may alias
 * v or x. Returns CIRCA_OK, or CIRCA_E_PARAM when n > 0 and a pointer is NULL. */
CIRCA_API circa_status circa_log_bessel_i_n(const double *v, const double *x, double *out,
                                            size_t n);
CIRCA_API circa_status circa_log_bessel_k_n(const double *v, const double *x, double *out,
                                            size_t n);

/* The same on CUDA device 0, with the same code compiled for the device (results
 * agree with the CPU to about 1e-15 relative: the device's log, exp, lgamma differ
 * in the last bits). Copies the arrays to and from the device; restores the
 * calling thread's current device. out may alias v or x.
 * Returns, checked in this order: CIRCA_E_PARAM when n > 0 and a pointer is NULL;
 * CIRCA_E_UNSUPPORTED in a build without CUDA or when no device is usable (see
 * circa/cuda.h), whatever n, so n == 0 probes for support; CIRCA_OK for n == 0;
 * then CIRCA_OK, or CIRCA_E_NOMEM when device memory runs out, or CIRCA_E_DEVICE
 * when another CUDA call fails (out is then unspecified). */
CIRCA_API circa_status circa_log_bessel_i_cuda(const double *v, const double *x, double *out,
                                               size_t n);
CIRCA_API circa_status circa_log_bessel_k_cuda(const double *v, const double *x, double *out,
                                               size_t n);

/* ---- 3. Kaiser window ---------------------------------------------------- */

/* Fills w[0..n) with the symmetric Kaiser window of shape beta:
 * w[i] = I_0(beta sqrt(1 - t^2)) / I_0(beta), t = 2i/(n-1) - 1, computed as
 * exp(log I_0(.) - log I_0(beta)), so any beta works (beta = 1e5 included).
 * beta < 0 is taken as |beta|; beta == 0 gives the rectangular window; n == 1
 * gives w[0] = 1; n == 0 writes nothing. w[i] == w[n-1-i] exactly. */
CIRCA_API void circa_kaiser_window(double *w, size_t n, double beta);

/* Kaiser's formula for beta from the stopband attenuation in dB (a > 0):
 * 0.1102 (a - 8.7) for a > 50, 0.5842 (a - 21)^0.4 + 0.07886 (a - 21) for
 * 21 <= a <= 50, and 0 below 21. */
CIRCA_API double circa_kaiser_beta(double attenuation_db);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_SPECIAL_H */
