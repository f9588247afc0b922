// cuda/saxpy.cu: the one kernel in circa: single-precision y = a*x + y, used by
// circa_cuda_selftest() to prove the CUDA build end to end. Built only when
// CIRCA_HAVE_CUDA; whole-program compilation, no device link step.
//
// No C++ runtime: cuda/CMakeLists.txt compiles .cu files with -fno-exceptions
// and -fno-threadsafe-statics, so libcirca.a links into a plain C program
// with cc (no libstdc++). The second flag makes the function-local static in
// each nvcc-generated launch stub unguarded, so every kernel launch in this
// file happens under launch_lock. Keep it that way for any kernel added here.
#include <pthread.h>

#include <cuda_runtime_api.h>

#include "cuda_internal.h"

namespace {

// __fmul_rn / __fadd_rn are never contracted into an FMA, so the result is
// bit-identical to the CPU's a * x + y under -ffp-contract=off.
__global__ void saxpy_kernel(float a, const float *__restrict__ x, float *__restrict__ y,
                             size_t n)
{
    size_t stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = __fadd_rn(__fmul_rn(a, x[i]), y[i]);
}

pthread_mutex_t launch_lock = PTHREAD_MUTEX_INITIALIZER;

int saxpy_locked(int device, float a, const float *x, float *y, size_t n)
{
    int prev = 0;
    cudaError_t err = cudaGetDevice(&prev);
    if (err != cudaSuccess)
        return (int)err;
    err = cudaSetDevice(device);
    if (err != cudaSuccess)
        return (int)err;

    float *dx = nullptr, *dy = nullptr;
    size_t bytes = n * sizeof(float);
    if (n == 0)
        goto restore;
    if ((err = cudaMalloc((void **)&dx, bytes)) != cudaSuccess)
        goto done;
    if ((err = cudaMalloc((void **)&dy, bytes)) != cudaSuccess)
        goto done;
    if ((err = cudaMemcpy(dx, x, bytes, cudaMemcpyHostToDevice)) != cudaSuccess)
        goto done;
    if ((err = cudaMemcpy(dy, y, bytes, cudaMemcpyHostToDevice)) != cudaSuccess)
        goto done;
    {
        const unsigned threads = 256;
        size_t want = (n + threads - 1) / threads;
        unsigned blocks = want > 4096 ? 4096u : (unsigned)want;
        saxpy_kernel<<<blocks, threads>>>(a, dx, dy, n);
    }
    if ((err = cudaGetLastError()) != cudaSuccess)
        goto done;
    if ((err = cudaDeviceSynchronize()) != cudaSuccess)
        goto done;
    err = cudaMemcpy(y, dy, bytes, cudaMemcpyDeviceToHost);
done:
    cudaFree(dx);
    cudaFree(dy);
restore:
    cudaSetDevice(prev);
    return (int)err;
}

} // namespace

extern "C" int circa_cuda__saxpy(int device, float a, const float *x, float *y, size_t n)
{
    pthread_mutex_lock(&launch_lock);
    int err = saxpy_locked(device, a, x, y, n);
    pthread_mutex_unlock(&launch_lock);
    return err;
}
