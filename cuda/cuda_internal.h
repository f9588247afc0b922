/* cuda/cuda_internal.h: the seam between cuda_device.c (C, built always) and
 * saxpy.cu (CUDA, built only when CIRCA_HAVE_CUDA). Not installed. */
#ifndef CIRCA_CUDA_INTERNAL_H
#define CIRCA_CUDA_INTERNAL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CIRCA_CUDA_HIDDEN __attribute__((visibility("hidden")))
#else
#define CIRCA_CUDA_HIDDEN
#endif

/* y[i] = a * x[i] + y[i] for i < n, computed on `device` with a kernel; each
 * product and sum rounded separately (no FMA). Copies x and y to the device
 * and y back. Restores the caller's current device. Returns a cudaError_t
 * value: 0 (cudaSuccess) on success. */
CIRCA_CUDA_HIDDEN int circa_cuda__saxpy(int device, float a, const float *x, float *y,
                                        size_t n);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_CUDA_INTERNAL_H */
