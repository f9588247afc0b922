/* circa/cuda.h: optional CUDA support: build-time and run-time detection,
 * the list of usable devices, and an end-to-end self-test kernel.
 *
 * Every function here exists in every build. A build without CUDA (configured
 * with -DCIRCA_CUDA=OFF, or AUTO with no nvcc) reports no devices with the
 * reason "built without CUDA". A CUDA build run on a machine without an
 * NVIDIA driver or GPU reports no devices with the reason "no CUDA driver" or
 * "no device"; nothing here crashes or aborts for want of a GPU.
 *
 * Threading: the functions may be called from any thread. The self-test
 * restores the calling thread's current CUDA device before it returns. */
#ifndef CIRCA_CUDA_H
#define CIRCA_CUDA_H

#include <stddef.h>

#include "circa.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct circa_cuda_device {
    int index;           /* CUDA device ordinal, as for cudaSetDevice() */
    char name[256];      /* NUL-terminated */
    size_t total_mem;    /* global memory, bytes */
    int cc_major, cc_minor; /* compute capability, e.g. 9.0 */
    int multiprocessors; /* streaming multiprocessor count */
} circa_cuda_device;

/* 1 if this build has CUDA support, else 0. */
CIRCA_API int circa_cuda_compiled(void);

/* 1 if this build has CUDA support and at least one device is usable now. */
CIRCA_API int circa_cuda_available(void);

/* Lists the usable devices.
 *   out, max   up to max entries are written to out[0..max)
 *   count      required: receives the number of entries written (<= max); when
 *              max is 0 (out may then be NULL) it receives the number of
 *              devices, so a caller can size its array first
 *   why_none   optional: when there are no devices, a static string saying why
 *              ("built without CUDA", "no CUDA driver", "no device", or the CUDA
 *              runtime's own message); NULL when there are devices
 * Returns CIRCA_OK when the query was answered, including "no devices";
 * CIRCA_E_PARAM for a NULL count, a negative max, or a NULL out with max > 0;
 * CIRCA_E_DEVICE when a device was counted but its properties could not be read
 * (the entries before it are kept in out and *count). */
CIRCA_API circa_status circa_cuda_devices(circa_cuda_device *out, int max, int *count,
                                          const char **why_none);

/* Runs a small kernel (single-precision y = a*x + y, no fused multiply-add, so
 * the result is bit-exact) on device 0 and compares it with the CPU.
 * Returns CIRCA_OK when they match; CIRCA_E_UNSUPPORTED in a build without
 * CUDA; CIRCA_E_DEVICE when there is no usable device or a CUDA call fails;
 * CIRCA_E_NOMEM when host memory runs out; CIRCA_E_CHECKSUM when the GPU
 * result differs from the CPU's. */
CIRCA_API circa_status circa_cuda_selftest(void);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_CUDA_H */
