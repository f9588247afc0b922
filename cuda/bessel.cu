// cuda/bessel.cu: batch kernels for log I_v(x) and log K_v(x): the CPU's algorithm
// (dsp/special/bessel_core.h) compiled as device code, one thread per element.
// Built only when CIRCA_HAVE_CUDA; reached through circa_log_bessel_{i,k}_cuda().
//
// Like saxpy.cu this file is compiled with -fno-threadsafe-statics, so the
// function-local statics in nvcc's launch stubs are unguarded: every launch
// happens under launch_lock. Device code gets --fmad=false, which the core's
// exact product (the Debye code near eta = 0) needs. The core's tables (term
// counts, 1/k, Taylor coefficients, the inline log's) become __device__ constants
// through CIRCA_BESSEL_TABLE, so every region choice is the CPU's.
#include <pthread.h>

#include <cuda_runtime_api.h>

#include "circa/circa.h"

#define CIRCA_BESSEL_FN __device__ static inline
#define CIRCA_BESSEL_TABLE __device__ static const
#define CIRCA_BESSEL_LGAMMA(y) lgamma(y)
#include "../dsp/special/bessel_core.h"

#include "bessel.h"

namespace {

// Elements per chunk: three arrays of 2^21 doubles are 48 MiB of device memory.
const size_t chunk_max = (size_t)1 << 21;

__global__ void log_bessel_kernel(int kind, const double *__restrict__ v,
                                  const double *__restrict__ x, double *__restrict__ out,
                                  size_t n)
{
    size_t stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        out[i] = kind ? bessel_log_k(v[i], x[i]) : bessel_log_i(v[i], x[i]);
}

pthread_mutex_t launch_lock = PTHREAD_MUTEX_INITIALIZER;

int status_of(cudaError_t err)
{
    if (err == cudaSuccess)
        return CIRCA_OK;
    return err == cudaErrorMemoryAllocation ? CIRCA_E_NOMEM : CIRCA_E_DEVICE;
}

// One chunk of m <= chunk_max elements through the device buffers dv, dx, dout.
cudaError_t run_chunk(int kind, const double *v, const double *x, double *out, size_t m,
                      double *dv, double *dx, double *dout)
{
    size_t bytes = m * sizeof(double);
    cudaError_t err;
    if ((err = cudaMemcpy(dv, v, bytes, cudaMemcpyHostToDevice)) != cudaSuccess)
        return err;
    if ((err = cudaMemcpy(dx, x, bytes, cudaMemcpyHostToDevice)) != cudaSuccess)
        return err;
    const unsigned threads = 128;
    size_t want = (m + threads - 1) / threads;
    unsigned blocks = want > 4096 ? 4096u : (unsigned)want;
    log_bessel_kernel<<<blocks, threads>>>(kind, dv, dx, dout, m);
    if ((err = cudaGetLastError()) != cudaSuccess)
        return err;
    if ((err = cudaDeviceSynchronize()) != cudaSuccess)
        return err;
    return cudaMemcpy(out, dout, bytes, cudaMemcpyDeviceToHost);
}

cudaError_t log_bessel_locked(int device, int kind, const double *v, const double *x,
                              double *out, size_t n)
{
    int prev = 0;
    cudaError_t err = cudaGetDevice(&prev);
    if (err != cudaSuccess)
        return err;
    if ((err = cudaSetDevice(device)) != cudaSuccess)
        return err;
    size_t cap = n < chunk_max ? n : chunk_max;
    double *dv = nullptr, *dx = nullptr, *dout = nullptr;
    if ((err = cudaMalloc((void **)&dv, cap * sizeof(double))) == cudaSuccess &&
        (err = cudaMalloc((void **)&dx, cap * sizeof(double))) == cudaSuccess &&
        (err = cudaMalloc((void **)&dout, cap * sizeof(double))) == cudaSuccess) {
        for (size_t done = 0; done < n && err == cudaSuccess; done += cap) {
            size_t m = n - done < cap ? n - done : cap;
            err = run_chunk(kind, v + done, x + done, out + done, m, dv, dx, dout);
        }
    }
    cudaFree(dv);
    cudaFree(dx);
    cudaFree(dout);
    cudaSetDevice(prev);
    return err;
}

} // namespace

extern "C" int circa_cuda__log_bessel(int device, int kind, const double *v, const double *x,
                                      double *out, size_t n)
{
    pthread_mutex_lock(&launch_lock);
    cudaError_t err = log_bessel_locked(device, kind, v, x, out, n);
    pthread_mutex_unlock(&launch_lock);
    return status_of(err);
}
