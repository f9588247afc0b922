/* cuda/cuda_device.c: circa/cuda.h: build/run-time CUDA detection, the device
 * list and the self-test. Compiled in every build; the CUDA runtime is used
 * only when CIRCA_HAVE_CUDA (set by cmake/cuda.cmake). The runtime is linked
 * statically and loads the driver (libcuda.so.1) on first use, so a machine
 * without a driver or GPU gets "no CUDA driver" / "no device", never a crash. */
#include "circa/cuda.h"

#include <stdlib.h>
#include <string.h>

#ifdef CIRCA_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "cuda_internal.h"
#endif

int circa_cuda_compiled(void)
{
#ifdef CIRCA_HAVE_CUDA
    return 1;
#else
    return 0;
#endif
}

#ifdef CIRCA_HAVE_CUDA
/* Number of devices, or 0 with *why set. */
static int device_count(const char **why)
{
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    switch (err) {
    case cudaSuccess:
        if (n > 0) {
            *why = NULL;
            return n;
        }
        *why = "no device";
        return 0;
    case cudaErrorNoDevice:
        *why = "no device";
        return 0;
    case cudaErrorInsufficientDriver: /* libcuda.so.1 missing or too old */
    case cudaErrorStubLibrary:        /* the toolkit's stub libcuda.so was loaded */
        *why = "no CUDA driver";
        return 0;
    default: {
        const char *s = cudaGetErrorString(err);
        *why = s ? s : "CUDA error";
        return 0;
    }
    }
}
#endif

int circa_cuda_available(void)
{
#ifdef CIRCA_HAVE_CUDA
    const char *why;
    return device_count(&why) > 0;
#else
    return 0;
#endif
}

circa_status circa_cuda_devices(circa_cuda_device *out, int max, int *count,
                                const char **why_none)
{
    const char *dummy;
    if (!why_none)
        why_none = &dummy;
    if (count)
        *count = 0;
    if (!count || max < 0 || (max > 0 && !out))
        return CIRCA_E_PARAM;
#ifdef CIRCA_HAVE_CUDA
    int n = device_count(why_none);
    if (n == 0)
        return CIRCA_OK;
    if (max == 0) {
        *count = n;
        return CIRCA_OK;
    }
    for (int i = 0; i < n && i < max; i++) {
        struct cudaDeviceProp p;
        cudaError_t err = cudaGetDeviceProperties(&p, i);
        if (err != cudaSuccess) {
            if (*count == 0)
                *why_none = cudaGetErrorString(err);
            return CIRCA_E_DEVICE;
        }
        circa_cuda_device *d = &out[i];
        memset(d, 0, sizeof *d);
        d->index = i;
        const char *nul = memchr(p.name, '\0', sizeof p.name);
        size_t len = nul ? (size_t)(nul - p.name) : sizeof p.name;
        if (len >= sizeof d->name)
            len = sizeof d->name - 1;
        memcpy(d->name, p.name, len);
        d->name[len] = '\0';
        d->total_mem = p.totalGlobalMem;
        d->cc_major = p.major;
        d->cc_minor = p.minor;
        d->multiprocessors = p.multiProcessorCount;
        *count = i + 1;
    }
    return CIRCA_OK;
#else
    *why_none = "built without CUDA";
    return CIRCA_OK;
#endif
}

circa_status circa_cuda_selftest(void)
{
#ifdef CIRCA_HAVE_CUDA
    const char *why;
    if (device_count(&why) == 0)
        return CIRCA_E_DEVICE;

    /* An odd length (not a multiple of the block size) exercises the tail. */
    enum { N = 100003 };
    const float a = 1.75f;
    float *x = malloc(N * sizeof *x);
    float *y = malloc(N * sizeof *y);
    float *ref = malloc(N * sizeof *ref);
    circa_status st = CIRCA_E_NOMEM;
    if (!x || !y || !ref)
        goto out;
    for (int i = 0; i < N; i++) {
        /* values with full mantissas, so a fused multiply-add would differ */
        x[i] = (float)(i % 997) * 0.0123456789f - 3.0f;
        y[i] = (float)(i % 313) * 0.987654321f + 0.1f;
        float prod = a * x[i];
        ref[i] = prod + y[i];
    }
    if (circa_cuda__saxpy(0, a, x, y, N) != 0) {
        st = CIRCA_E_DEVICE;
        goto out;
    }
    st = memcmp(y, ref, N * sizeof *y) == 0 ? CIRCA_OK : CIRCA_E_CHECKSUM;
out:
    free(x);
    free(y);
    free(ref);
    return st;
#else
    return CIRCA_E_UNSUPPORTED;
#endif
}
