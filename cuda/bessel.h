/* cuda/bessel.h: the seam between dsp/special/bessel.c (C, built always) and
 * cuda/bessel.cu (built only when CIRCA_HAVE_CUDA). Not installed. */
#ifndef CIRCA_CUDA_BESSEL_H
#define CIRCA_CUDA_BESSEL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CIRCA_CUDA_BESSEL_HIDDEN __attribute__((visibility("hidden")))
#else
#define CIRCA_CUDA_BESSEL_HIDDEN
#endif

/* out[i] = log I_{v[i]}(x[i]) (kind 0) or log K_{v[i]}(x[i]) (kind 1) for i < n,
 * n > 0, computed on `device` in chunks; out may alias v or x. Restores the
 * caller's current device. Returns a circa_status value: CIRCA_OK, CIRCA_E_NOMEM
 * (device memory), or CIRCA_E_DEVICE (any other CUDA error). */
CIRCA_CUDA_BESSEL_HIDDEN int circa_cuda__log_bessel(int device, int kind, const double *v,
                                                    const double *x, double *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_CUDA_BESSEL_H */
