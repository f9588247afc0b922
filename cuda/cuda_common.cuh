// cuda/cuda_common.cuh: host-side helpers shared by the .cu files of the cuda
// room (rbf.cu, tasnet.cu): the launch lock, device switching, status
// mapping, typed allocation and copies, and the grid size of a grid-stride
// loop. Included by .cu files only; each gets its own copies (anonymous
// namespace), including its own launch_lock, which is what the lock is for:
// the function-local statics in that file's nvcc launch stubs are unguarded
// (-fno-threadsafe-statics, see saxpy.cu), so its launches are serialised.
#ifndef CIRCA_CUDA_COMMON_CUH
#define CIRCA_CUDA_COMMON_CUH

#include <pthread.h>
#include <stddef.h>

#include <cuda_runtime_api.h>

#include "circa/circa.h"

namespace {

pthread_mutex_t launch_lock = PTHREAD_MUTEX_INITIALIZER;

// CIRCA_OK, CIRCA_E_NOMEM for a failed device allocation, else CIRCA_E_DEVICE.
inline int status_of(cudaError_t err)
{
    if (err == cudaSuccess)
        return CIRCA_OK;
    return err == cudaErrorMemoryAllocation ? CIRCA_E_NOMEM : CIRCA_E_DEVICE;
}

// Blocks for a grid-stride loop over n items: at least 1, at most cap.
inline unsigned blocks_for(size_t n, unsigned threads, unsigned cap)
{
    size_t want = (n + threads - 1) / threads;
    return want > cap ? cap : want < 1 ? 1u : (unsigned)want;
}

// Takes the lock and makes `device` current; *prev receives the caller's.
inline cudaError_t enter(int device, int *prev)
{
    pthread_mutex_lock(&launch_lock);
    *prev = 0;
    cudaError_t err = cudaGetDevice(prev);
    if (err == cudaSuccess)
        err = cudaSetDevice(device);
    return err;
}

// Restores the caller's device, releases the lock; returns err's status.
inline int leave(int prev, cudaError_t err)
{
    cudaSetDevice(prev);
    pthread_mutex_unlock(&launch_lock);
    return status_of(err);
}

template <typename T> cudaError_t dev_alloc(T **p, size_t count)
{
    *p = nullptr;
    return cudaMalloc((void **)p, (count ? count : 1) * sizeof(T));
}

template <typename T> cudaError_t upload(T *dst, const T *src, size_t count)
{
    return count ? cudaMemcpy(dst, src, count * sizeof(T), cudaMemcpyHostToDevice) : cudaSuccess;
}

template <typename T> cudaError_t download(T *dst, const T *src, size_t count)
{
    return count ? cudaMemcpy(dst, src, count * sizeof(T), cudaMemcpyDeviceToHost) : cudaSuccess;
}

// Launch status, then completion.
inline cudaError_t finish(void)
{
    cudaError_t err = cudaGetLastError();
    return err != cudaSuccess ? err : cudaDeviceSynchronize();
}

} // namespace

#endif // CIRCA_CUDA_COMMON_CUH
