// cuda/tasnet.cu: Conv-TasNet inference on the GPU (include/circa/tasnet.h,
// section 6): the forward pass of models/tasnet/tasnet.c, layer for layer,
// with the pointwise (1x1) convolutions and the decoder's product as cuBLAS
// SGEMMs and everything else (encoder, norms, depthwise conv, PReLU, masks,
// overlap-add) as kernels here. Built only when CIRCA_HAVE_CUDA; reached
// through cuda/tasnet_host.c (the seam is cuda/tasnet.h).
//
// cuBLAS is loaded with dlopen on first use, not linked: the CUDA runtime is
// linked statically so that every circa binary starts on machines without
// a GPU or a driver (cmake/cuda.cmake), and a hard dependency on
// libcublas.so would undo that. Where it cannot be loaded, opening a session
// fails with CIRCA_E_DEVICE and says why. $CIRCA_CUBLAS names the library
// explicitly.
//
// Numbers: float products and sums as on the CPU, in a different order
// (cuBLAS's blocking, tree reductions), and the norms' statistics in double
// as on the CPU; the result matches circa_tasnet_forward to float rounding
// (tests/unit/test_tasnet.c checks 1e-4 relative). Like the other .cu files
// this one is compiled with -fno-threadsafe-statics: every launch happens
// under the file's launch lock (cuda_common.cuh). No C++ runtime.
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>

#include "cuda_common.cuh"
#include "tasnet.h"

#ifndef CIRCA_CUBLAS_SONAME
#define CIRCA_CUBLAS_SONAME "libcublas.so"
#endif

namespace {

typedef circa_cuda_tasnet_shape shape;

const unsigned threads = 256;   // per block, a power of two (the reductions)
const unsigned blocks_max = 4096;
// cLN's prefix sums: one block per item. Their kernels carry
// __launch_bounds__(scan_threads): without it ptxas gave cln_suffix_kernel 66
// registers a thread, more than a 1024-thread block may have (64K), and the
// launch failed.
const unsigned scan_threads = 1024;
const double norm_eps = 1e-8;    // CIRCA_NN_NORM_EPS

unsigned grid_for(size_t n)
{
    return blocks_for(n, threads, blocks_max);
}

// ---- cuBLAS, loaded at run time ---------------------------------------------

struct blas_api {
    decltype(&cublasCreate_v2) create;
    decltype(&cublasDestroy_v2) destroy;
    decltype(&cublasSgemmStridedBatched) gemm;
};

blas_api blas;
int blas_state; // 0 not tried, 1 loaded, -1 failed (under launch_lock)
const char *blas_why = "cuBLAS not loaded";

void *open_first(void)
{
    const char *env = getenv("CIRCA_CUBLAS");
    if (env && *env)
        return dlopen(env, RTLD_NOW | RTLD_LOCAL);
    const char *names[] = {
        CIRCA_CUBLAS_SONAME,
#ifdef CIRCA_CUDA_LIBDIR
        CIRCA_CUDA_LIBDIR "/" CIRCA_CUBLAS_SONAME,
#endif
        "/usr/local/cuda/lib64/" CIRCA_CUBLAS_SONAME,
        "libcublas.so",
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (h)
            return h;
    }
    return nullptr;
}

// Loads cuBLAS once per process (never unloaded); false with blas_why set.
bool load_blas(void)
{
    if (blas_state)
        return blas_state > 0;
    blas_state = -1;
    void *h = open_first();
    if (!h) {
        blas_why = "cannot load cuBLAS (" CIRCA_CUBLAS_SONAME "; set CIRCA_CUBLAS to its path)";
        return false;
    }
    blas.create = (decltype(blas.create))dlsym(h, "cublasCreate_v2");
    blas.destroy = (decltype(blas.destroy))dlsym(h, "cublasDestroy_v2");
    blas.gemm = (decltype(blas.gemm))dlsym(h, "cublasSgemmStridedBatched");
    if (!blas.create || !blas.destroy || !blas.gemm) {
        blas_why = "the loaded cuBLAS lacks cublasCreate_v2 or cublasSgemmStridedBatched";
        return false;
    }
    blas_state = 1;
    return true;
}

// ---- kernels ------------------------------------------------------------------
// Activations are [batch][channels][frames], as on the CPU. Grid-stride loops
// over all elements; blockIdx.y is the batch item where a kernel needs one.

// enc[b][n][f] = sum_j w[n][j] mix[b][f*S + j]  (conv 1 -> N, kernel L, stride S)
__global__ void encoder_kernel(int batch, int t, int k, int N, int L, int S,
                               const float *__restrict__ mix, const float *__restrict__ w,
                               float *__restrict__ enc)
{
    size_t n = (size_t)batch * N * k, stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        size_t f = i % k, ch = (i / k) % N, b = i / ((size_t)k * N);
        const float *x = mix + b * t + f * S, *wr = w + ch * L;
        float s = 0;
        for (int j = 0; j < L; j++)
            s += wr[j] * x[j];
        enc[i] = s;
    }
}

// Sums a double over the block into one value (threads a power of two).
__device__ double block_sum(double v, double *sh)
{
    sh[threadIdx.x] = v;
    __syncthreads();
    for (unsigned h = blockDim.x / 2; h > 0; h >>= 1) {
        if (threadIdx.x < h)
            sh[threadIdx.x] += sh[threadIdx.x + h];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();
    return r;
}

// gLN statistics of item blockIdx.y (n = C*k values): pass 0 adds the sum to
// acc[2b], pass 1 the squared deviations from that mean to acc[2b+1], as the
// CPU's two-pass moments().
__global__ void gln_stats_kernel(size_t n, const float *__restrict__ x, double *acc, int pass)
{
    __shared__ double sh[threads];
    size_t b = blockIdx.y;
    const float *xb = x + b * n;
    double mu = pass ? acc[2 * b] / (double)n : 0, s = 0;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)blockDim.x * gridDim.x) {
        double d = (double)xb[i] - mu;
        s += pass ? d * d : d;
    }
    s = block_sum(s, sh);
    if (threadIdx.x == 0)
        atomicAdd(&acc[2 * b + pass], s);
}

// y = a x + c per channel with a = gain inv, c = bias - gain inv mu (gln_forward_item).
__global__ void gln_apply_kernel(int batch, int C, int k, const float *x, const double *acc,
                                 const float *__restrict__ gain, const float *__restrict__ bias,
                                 float *y)
{
    size_t per = (size_t)C * k, n = per * batch, stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        size_t b = i / per, ch = (i % per) / k;
        double mu = acc[2 * b] / (double)per;
        double inv = 1.0 / sqrt(acc[2 * b + 1] / (double)per + norm_eps);
        float a = (float)(gain[ch] * inv), c = (float)(bias[ch] - gain[ch] * inv * mu);
        y[i] = a * x[i] + c;
    }
}

// cLN, step 1: each frame's sums over channels, sum[b][f] and sq[b][f].
__global__ void cln_cols_kernel(int batch, int C, int k, const float *__restrict__ x,
                                double *__restrict__ sum, double *__restrict__ sq)
{
    size_t n = (size_t)batch * k, stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        size_t b = i / k, f = i % k;
        const float *xb = x + b * (size_t)C * k + f;
        double s = 0, s2 = 0;
        for (int ch = 0; ch < C; ch++) {
            double v = xb[(size_t)ch * k];
            s += v;
            s2 += v * v;
        }
        sum[i] = s;
        sq[i] = s2;
    }
}

// cLN, step 2 (one block per item): prefix sums over frames, replaced by the
// cumulative mean and 1/sqrt(var + eps), var = E[x^2] - mean^2 clamped at 0
// (cln_stats). Each thread takes a run of frames; the runs' totals are
// scanned in shared memory.
__global__ void __launch_bounds__(scan_threads) cln_scan_kernel(int C, int k, double *sum, double *sq)
{
    __shared__ double ts[scan_threads], tq[scan_threads];
    double *s = sum + (size_t)blockIdx.x * k, *q = sq + (size_t)blockIdx.x * k;
    int seg = (k + (int)blockDim.x - 1) / (int)blockDim.x;
    int lo = (int)threadIdx.x * seg, hi = lo + seg < k ? lo + seg : k;
    double a = 0, a2 = 0;
    for (int f = lo; f < hi; f++)
        a += s[f], a2 += q[f];
    ts[threadIdx.x] = a, tq[threadIdx.x] = a2;
    __syncthreads();
    for (unsigned h = 1; h < blockDim.x; h <<= 1) { // inclusive Hillis-Steele scan
        double u = threadIdx.x >= h ? ts[threadIdx.x - h] : 0;
        double u2 = threadIdx.x >= h ? tq[threadIdx.x - h] : 0;
        __syncthreads();
        ts[threadIdx.x] += u, tq[threadIdx.x] += u2;
        __syncthreads();
    }
    double run = ts[threadIdx.x] - a, run2 = tq[threadIdx.x] - a2;
    for (int f = lo; f < hi; f++) {
        run += s[f], run2 += q[f];
        double cnt = (double)C * (f + 1), mu = run / cnt, var = run2 / cnt - mu * mu;
        s[f] = mu;
        q[f] = 1.0 / sqrt((var < 0 ? 0 : var) + norm_eps);
    }
}

// cLN, step 3: y = gain (x - mean_f) inv_f + bias, in double (cln_forward_item).
__global__ void cln_apply_kernel(int batch, int C, int k, const float *x,
                                 const double *__restrict__ mean, const double *__restrict__ inv,
                                 const float *__restrict__ gain, const float *__restrict__ bias,
                                 float *y)
{
    size_t per = (size_t)C * k, n = per * batch, stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        size_t b = i / per, ch = (i % per) / k, f = i % k;
        double g = gain[ch], c = bias[ch];
        y[i] = (float)(g * (x[i] - mean[b * k + f]) * inv[b * k + f] + c);
    }
}

__device__ inline float prelu(float v, float a)
{
    return v > 0 ? v : a * v;
}

// y[b][ch][f] += bias[ch] (+ r[b][ch][f] when r); then PReLU with *slope when slope.
__global__ void bias_kernel(int batch, int C, int k, float *y, const float *__restrict__ bias,
                            const float *__restrict__ slope)
{
    size_t n = (size_t)batch * C * k, stride = (size_t)blockDim.x * gridDim.x;
    float a = slope ? *slope : 0;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        float v = y[i] + bias[(i / k) % C];
        y[i] = slope ? prelu(v, a) : v;
    }
}

// y[b][ch][f] = bias[ch] (the skip sum's summed biases).
__global__ void fill_bias_kernel(int batch, int C, int k, float *y, const float *__restrict__ bias)
{
    size_t n = (size_t)batch * C * k, stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = bias[(i / k) % C];
}

__global__ void prelu_kernel(size_t n, float *y, const float *__restrict__ slope)
{
    float a = *slope;
    size_t stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = prelu(y[i], a);
}

// Depthwise conv (kernel P, dilation dil, left padding pl, zeros outside),
// bias, then PReLU when slope is not NULL: y[b][h][f] = prelu(bias[h] + sum_j w[h][j] x[b][h][f + j dil - pl]).
__global__ void depthwise_kernel(int batch, int H, int k, int P, int dil, int pl,
                                 const float *__restrict__ x, const float *__restrict__ w,
                                 const float *__restrict__ bias, const float *__restrict__ slope,
                                 float *__restrict__ y)
{
    size_t n = (size_t)batch * H * k, stride = (size_t)blockDim.x * gridDim.x;
    float a = slope ? *slope : 0;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        size_t row = i / k, h = row % H;
        long f = (long)(i % k);
        const float *xr = x + row * k, *wr = w + h * P;
        float s = 0;
        for (int j = 0; j < P; j++) {
            long src = f + (long)j * dil - pl;
            if (src >= 0 && src < k)
                s += wr[j] * xr[src];
        }
        y[i] = slope ? prelu(s + bias[h], a) : s + bias[h];
    }
}

// masked[b][s][n][f] = sigmoid(m[b][s N + n][f] + bias[s N + n]) * enc[b][n][f], in place on m.
__global__ void mask_kernel(int batch, int C, int N, int k, float *m, const float *__restrict__ bias,
                            const float *__restrict__ enc)
{
    size_t per = (size_t)C * N * k, n = per * batch, stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        size_t b = i / per, row = (i % per) / k, f = i % k, ch = row % N;
        float v = m[i] + bias[row];
        float sg = 1.0f / (1.0f + expf(-v));
        m[i] = sg * enc[(b * N + ch) * k + f];
    }
}

// Overlap-add of the decoder's frames: g is, per item, a column-major k x L
// matrix (frame f, tap j at f + j k); est[item][u] = sum over f S + j = u.
__global__ void overlap_add_kernel(int items, int k, int L, int S, int t, const float *__restrict__ g,
                                   float *__restrict__ est)
{
    size_t n = (size_t)items * t, stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        size_t item = i / t;
        long u = (long)(i % t);
        const float *gi = g + item * (size_t)k * L;
        float s = 0;
        // frames f with 0 <= u - f S < L, in increasing f
        long fhi = u / S, flo = (u - L) / S + 1;
        if (u - L < 0)
            flo = 0;
        if (fhi > k - 1)
            fhi = k - 1;
        for (long f = flo; f <= fhi; f++)
            s += gi[f + (u - f * S) * (long)k];
        est[i] = s;
    }
}


// ---- training kernels (forward keeps activations; backward accumulates) -----

// y = prelu(x) (copy).
__global__ void prelu_copy_kernel(size_t n, const float *__restrict__ x, const float *__restrict__ slope,
                                  float *__restrict__ y)
{
    float a = *slope;
    size_t stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        y[i] = prelu(x[i], a);
}

// m = sigmoid(m + bias[row]) in place, masked[b][s][n][f] = m * enc[b][n][f].
__global__ void mask_train_kernel(int batch, int C, int N, int k, float *m, const float *__restrict__ bias,
                                  const float *__restrict__ enc, float *__restrict__ masked)
{
    size_t per = (size_t)C * N * k, n = per * batch, stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        size_t b = i / per, row = (i % per) / k, f = i % k, ch = row % N;
        float sg = 1.0f / (1.0f + expf(-(m[i] + bias[row])));
        m[i] = sg;
        masked[i] = sg * enc[(b * N + ch) * k + f];
    }
}

// dG (per item, column-major k x L) = dest gathered: dG(f, j) = dest[item][f S + j].
__global__ void gather_frames_kernel(int items, int k, int L, int S, int t, const float *__restrict__ dest,
                                     float *__restrict__ dg)
{
    size_t n = (size_t)items * k * L, stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        size_t item = i / ((size_t)k * L), j = (i / k) % L, f = i % k;
        dg[i] = dest[item * t + f * S + j];
    }
}

// The masks' backward: dmasked -> dlogit in place (through masked = m enc and
// m = sigmoid(logit)); denc[b][n][f] = sum over sources of dmasked m.
__global__ void mask_backward_kernel(int batch, int C, int N, int k, float *dm, const float *__restrict__ m,
                                     const float *__restrict__ enc, float *__restrict__ denc)
{
    size_t nk = (size_t)N * k, n = (size_t)batch * nk, stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        size_t b = i / nk, r = i % nk;
        float e = enc[i], de = 0;
        for (int s = 0; s < C; s++) {
            size_t o = (b * C + s) * nk + r;
            float g = dm[o], y = m[o];
            de += g * y;
            dm[o] = g * e * y * (1.0f - y);
        }
        denc[i] = de;
    }
}

// dx += (x > 0 ? dy : a dy); grad[slope] += sum of dy x where x <= 0.
__global__ void prelu_backward_kernel(size_t n, const float *__restrict__ x, const float *__restrict__ slope,
                                      const float *__restrict__ dy, float *__restrict__ dx, float *dslope)
{
    __shared__ double sh[threads];
    float a = *slope;
    double s = 0;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)blockDim.x * gridDim.x) {
        float v = x[i], g = dy[i];
        dx[i] += v > 0 ? g : a * g;
        if (!(v > 0))
            s += (double)g * v;
    }
    s = block_sum(s, sh);
    if (threadIdx.x == 0)
        atomicAdd(dslope, (float)s);
}

// grad[c] += sum over items and frames of dy[b][c][f]; one block per channel.
__global__ void rowsum_kernel(int batch, int C, int k, const float *__restrict__ dy, float *grad)
{
    __shared__ double sh[threads];
    size_t c = blockIdx.x;
    double s = 0;
    for (size_t i = threadIdx.x; i < (size_t)batch * k; i += blockDim.x) {
        size_t b = i / k, f = i % k;
        s += dy[(b * C + c) * k + f];
    }
    s = block_sum(s, sh);
    if (threadIdx.x == 0)
        grad[c] += (float)s;
}

// Depthwise backward, input side: dx[b][h][g] += sum_j w[h][j] dy[b][h][g - j dil + pl].
__global__ void depthwise_dx_kernel(int batch, int H, int k, int P, int dil, int pl, const float *__restrict__ w,
                                    const float *__restrict__ dy, float *__restrict__ dx)
{
    size_t n = (size_t)batch * H * k, stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        size_t row = i / k, h = row % H;
        long gf = (long)(i % k);
        const float *dr = dy + row * k, *wr = w + h * P;
        float s = 0;
        for (int j = 0; j < P; j++) {
            long f = gf - (long)j * dil + pl;
            if (f >= 0 && f < k)
                s += wr[j] * dr[f];
        }
        dx[i] += s;
    }
}

// Depthwise backward, weight side: one block per (h, j):
// grad[h P + j] += sum over b, f of dy[b][h][f] x[b][h][f + j dil - pl].
__global__ void depthwise_dw_kernel(int batch, int H, int k, int P, int dil, int pl, const float *__restrict__ x,
                                    const float *__restrict__ dy, float *grad)
{
    __shared__ double sh[threads];
    size_t h = blockIdx.x / P;
    int j = (int)(blockIdx.x % P);
    double s = 0;
    for (size_t i = threadIdx.x; i < (size_t)batch * k; i += blockDim.x) {
        size_t b = i / k;
        long f = (long)(i % k), src = f + (long)j * dil - pl;
        if (src >= 0 && src < k) {
            size_t row = (b * H + h) * k;
            s += (double)dy[row + f] * x[row + src];
        }
    }
    s = block_sum(s, sh);
    if (threadIdx.x == 0)
        grad[h * P + j] += (float)s;
}

// Encoder backward, weights only: one block per (n, j):
// grad[n L + j] += sum over b, f of denc[b][n][f] mix[b][f S + j].
__global__ void encoder_dw_kernel(int batch, int t, int k, int N, int L, int S, const float *__restrict__ mix,
                                  const float *__restrict__ denc, float *grad)
{
    __shared__ double sh[threads];
    size_t ch = blockIdx.x / L, j = blockIdx.x % L;
    double s = 0;
    for (size_t i = threadIdx.x; i < (size_t)batch * k; i += blockDim.x) {
        size_t b = i / k, f = i % k;
        s += (double)denc[(b * N + ch) * k + f] * mix[b * t + f * S + j];
    }
    s = block_sum(s, sh);
    if (threadIdx.x == 0)
        grad[ch * L + j] += (float)s;
}

// Norm backward, per (channel, item) block: sums of dy and of dy xhat over
// frames, xhat = (x - mu) inv with the item's (gLN: acc, 2 per item) or the
// frame's (cLN: mean, inv per frame) statistics.
__global__ void norm_sums_kernel(int C, int k, int causal, const float *__restrict__ x,
                                 const float *__restrict__ dy, const double *__restrict__ st1,
                                 const double *__restrict__ st2, double *__restrict__ s1,
                                 double *__restrict__ s2)
{
    __shared__ double sh[threads];
    size_t c = blockIdx.x, b = blockIdx.y, per = (size_t)C * k;
    const float *xr = x + b * per + c * k, *dr = dy + b * per + c * k;
    double mu = 0, inv = 0;
    if (!causal) {
        mu = st1[2 * b] / (double)per;
        inv = 1.0 / sqrt(st1[2 * b + 1] / (double)per + norm_eps);
    }
    double a = 0, ax = 0;
    for (int f = threadIdx.x; f < k; f += blockDim.x) {
        double m = causal ? st1[b * k + f] : mu, v = causal ? st2[b * k + f] : inv;
        double g = dr[f];
        a += g;
        ax += g * ((xr[f] - m) * v);
    }
    a = block_sum(a, sh);
    ax = block_sum(ax, sh);
    if (threadIdx.x == 0)
        s1[b * C + c] = a, s2[b * C + c] = ax;
}

// dgain[c] += sum_b s2[b][c], dbias[c] += sum_b s1[b][c]; and, for gLN, per
// item mg = sum_c gain s1 / n and mgx = sum_c gain s2 / n into red[2b], red[2b+1].
__global__ void norm_reduce_kernel(int batch, int C, int k, const float *__restrict__ gain,
                                   const double *__restrict__ s1, const double *__restrict__ s2,
                                   float *dgain, float *dbias, double *red)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (size_t)C) {
        double a = 0, ax = 0;
        for (int b = 0; b < batch; b++)
            a += s1[(size_t)b * C + i], ax += s2[(size_t)b * C + i];
        dgain[i] += (float)ax;
        dbias[i] += (float)a;
    }
    if (red && i < (size_t)batch) {
        double sg = 0, sgx = 0, n = (double)C * k;
        for (int c = 0; c < C; c++)
            sg += gain[c] * s1[i * C + c], sgx += gain[c] * s2[i * C + c];
        red[2 * i] = sg / n, red[2 * i + 1] = sgx / n;
    }
}

// gLN: dx += inv (dy gain - mg - xhat mgx).
__global__ void gln_dx_kernel(int batch, int C, int k, const float *__restrict__ x, const float *__restrict__ dy,
                              const float *__restrict__ gain, const double *__restrict__ acc,
                              const double *__restrict__ red, float *__restrict__ dx)
{
    size_t per = (size_t)C * k, n = per * batch, stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        size_t b = i / per, c = (i % per) / k;
        double mu = acc[2 * b] / (double)per, inv = 1.0 / sqrt(acc[2 * b + 1] / (double)per + norm_eps);
        double xh = (x[i] - mu) * inv;
        dx[i] += (float)(inv * (dy[i] * (double)gain[c] - red[2 * b] - xh * red[2 * b + 1]));
    }
}

// cLN: per frame A = sum_c dy gain and B = sum_c dy gain (x - mean_f), into r1, r2.
__global__ void cln_ab_kernel(int batch, int C, int k, const float *__restrict__ x, const float *__restrict__ dy,
                              const float *__restrict__ gain, const double *__restrict__ mean,
                              double *__restrict__ r1, double *__restrict__ r2)
{
    size_t n = (size_t)batch * k, stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        size_t b = i / k, f = i % k;
        const float *xb = x + b * (size_t)C * k + f, *db = dy + b * (size_t)C * k + f;
        double a = 0, bb = 0, m = mean[i];
        for (int c = 0; c < C; c++) {
            double g = (double)db[(size_t)c * k] * gain[c];
            a += g;
            bb += g * (xb[(size_t)c * k] - m);
        }
        r1[i] = a, r2[i] = bb;
    }
}

// cLN, one block per item: r1[f], r2[f] become the suffix sums over frames
// >= f of (-inv A + B inv^3 mean) / (C (f+1)) and (-B inv^3 / 2) / (C (f+1))
// (cln_backward_item's reverse accumulation).
__global__ void __launch_bounds__(scan_threads) cln_suffix_kernel(int C, int k, const double *__restrict__ mean, const double *__restrict__ inv,
                                  double *r1, double *r2)
{
    __shared__ double ts[scan_threads], tq[scan_threads];
    size_t base = (size_t)blockIdx.x * k;
    int seg = (k + (int)blockDim.x - 1) / (int)blockDim.x;
    // thread i takes the i-th run counted from the end: frames [lo, hi)
    int hi = k - (int)threadIdx.x * seg, lo = hi - seg;
    if (lo < 0)
        lo = 0;
    double a = 0, a2 = 0;
    for (int f = lo; f < hi; f++) {
        size_t i = base + f;
        double iv = inv[i], i3 = iv * iv * iv, cnt = (double)C * (f + 1);
        double t1 = (-iv * r1[i] + r2[i] * i3 * mean[i]) / cnt, t2 = (-0.5 * r2[i] * i3) / cnt;
        r1[i] = t1, r2[i] = t2;
        a += t1, a2 += t2;
    }
    ts[threadIdx.x] = a, tq[threadIdx.x] = a2;
    __syncthreads();
    for (unsigned h = 1; h < blockDim.x; h <<= 1) {
        double u = threadIdx.x >= h ? ts[threadIdx.x - h] : 0;
        double u2 = threadIdx.x >= h ? tq[threadIdx.x - h] : 0;
        __syncthreads();
        ts[threadIdx.x] += u, tq[threadIdx.x] += u2;
        __syncthreads();
    }
    double run = ts[threadIdx.x] - a, run2 = tq[threadIdx.x] - a2; // later runs' totals
    for (int f = hi - 1; f >= lo; f--) {
        size_t i = base + f;
        run += r1[i], run2 += r2[i];
        r1[i] = run, r2[i] = run2;
    }
}

// cLN: dx += dy gain inv_f + r1_f + 2 x r2_f.
__global__ void cln_dx_kernel(int batch, int C, int k, const float *__restrict__ x, const float *__restrict__ dy,
                              const float *__restrict__ gain, const double *__restrict__ inv,
                              const double *__restrict__ r1, const double *__restrict__ r2, float *__restrict__ dx)
{
    size_t per = (size_t)C * k, n = per * batch, stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        size_t b = i / per, c = (i % per) / k, f = i % k, j = b * k + f;
        dx[i] += (float)((double)dy[i] * gain[c] * inv[j] + r1[j] + 2.0 * x[i] * r2[j]);
    }
}

} // namespace

// ---- the session ------------------------------------------------------------------

namespace {

struct block_at { // offsets into the packed parameters
    size_t in_w, in_b, a1, n1g, n1b, dw_w, dw_b, a2, n2g, n2b, res_w, res_b, skip_w, skip_b;
    int res, dilation;
};

} // namespace

struct circa_cuda_tasnet {
    int device;
    shape s;
    cublasHandle_t blas;
    float *p;                        // packed parameters
    float *skip_bias;                // Sc: the sum of every block's skip bias
    size_t enc_w, nrm_g, nrm_b, in_w, in_b, out_a, mask_w, mask_b, dec_w, count;
    block_at *blocks;
    int nblocks;
    // activations, grown to cap_t samples and cap_k frames (batch included)
    size_t cap_t, cap_k;
    float *mix, *enc, *x0, *r, *h, *d, *skip, *mask, *g, *est;
    double *st1, *st2;               // gLN: 2 per item in st1; cLN: per frame
    // training: the kept forward (batch, t, frames; batch 0: none) and backward
    int tb, tt, tk;
    size_t tcap, dcap;               // floats and doubles in the arenas
    float *arena;
    double *darena;
    float *gp;                       // the gradient, count floats
    float **rj, **h1j, **dj;         // per block: input, first conv's and depthwise's outputs
    float *t_mix, *t_enc, *t_nrm0, *t_skip, *t_ps, *t_mask, *t_masked, *t_g, *t_est;
    float *a1, *n1, *a2, *n2, *u, *v, *dest, *dmasked, *denc, *dps, *dskip, *dr, *dnrm0;
    double *q1, *q2, *q3, *q4, *bs1, *bs2;
};

namespace {

typedef circa_cuda_tasnet session;

// Walks the packed order of cuda/tasnet.h; returns the float count.
size_t layout(session *d)
{
    const shape &s = d->s;
    size_t o = 0;
#define AT(field, len) (field = o, o += (size_t)(len))
    AT(d->enc_w, s.N * s.L);
    AT(d->nrm_g, s.N);
    AT(d->nrm_b, s.N);
    AT(d->in_w, s.B * s.N);
    AT(d->in_b, s.B);
    for (int j = 0; j < d->nblocks; j++) {
        block_at *b = &d->blocks[j];
        b->dilation = 1 << (j % s.X);
        b->res = j + 1 < d->nblocks;
        AT(b->in_w, s.H * s.B);
        AT(b->in_b, s.H);
        AT(b->a1, 1);
        AT(b->n1g, s.H);
        AT(b->n1b, s.H);
        AT(b->dw_w, s.H * s.P);
        AT(b->dw_b, s.H);
        AT(b->a2, 1);
        AT(b->n2g, s.H);
        AT(b->n2b, s.H);
        if (b->res) {
            AT(b->res_w, s.B * s.H);
            AT(b->res_b, s.B);
        }
        AT(b->skip_w, s.Sc * s.H);
        AT(b->skip_b, s.Sc);
    }
    AT(d->out_a, 1);
    AT(d->mask_w, (size_t)s.C * s.N * s.Sc);
    AT(d->mask_b, (size_t)s.C * s.N);
    AT(d->dec_w, s.N * s.L);
#undef AT
    return o;
}

void free_acts(session *d)
{
    float *fs[] = {d->mix, d->enc, d->x0, d->r, d->h, d->d, d->skip, d->mask, d->g, d->est};
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++)
        cudaFree(fs[i]);
    cudaFree(d->st1);
    cudaFree(d->st2);
    d->mix = d->enc = d->x0 = d->r = d->h = d->d = d->skip = d->mask = d->g = d->est = nullptr;
    d->st1 = d->st2 = nullptr;
    d->cap_t = d->cap_k = 0;
}

// Room for bt = batch*t samples and bk = batch*k frames.
cudaError_t ensure(session *d, size_t bt, size_t bk)
{
    if (bt <= d->cap_t && bk <= d->cap_k)
        return cudaSuccess;
    free_acts(d);
    const shape &s = d->s;
    cudaError_t err;
    if ((err = dev_alloc(&d->mix, bt)) != cudaSuccess ||
        (err = dev_alloc(&d->enc, bk * s.N)) != cudaSuccess ||
        (err = dev_alloc(&d->x0, bk * s.N)) != cudaSuccess ||
        (err = dev_alloc(&d->r, bk * s.B)) != cudaSuccess ||
        (err = dev_alloc(&d->h, bk * s.H)) != cudaSuccess ||
        (err = dev_alloc(&d->d, bk * s.H)) != cudaSuccess ||
        (err = dev_alloc(&d->skip, bk * s.Sc)) != cudaSuccess ||
        (err = dev_alloc(&d->mask, bk * s.C * s.N)) != cudaSuccess ||
        (err = dev_alloc(&d->g, bk * s.C * s.L)) != cudaSuccess ||
        (err = dev_alloc(&d->est, bt * s.C)) != cudaSuccess ||
        (err = dev_alloc(&d->st1, 2 * bk)) != cudaSuccess || // gLN: 2 per item; cLN: 1 per frame
        (err = dev_alloc(&d->st2, bk)) != cudaSuccess) {
        free_acts(d);
        return err;
    }
    d->cap_t = bt, d->cap_k = bk;
    return cudaSuccess;
}

// y[b] (cout x k) = W (cout x cin) x[b] (cin x k) + beta y[b], all row-major:
// in cuBLAS's column-major terms y^T = x^T W^T.
cudaError_t pointwise(session *d, int batch, int cin, int cout, int k, size_t w, const float *x,
                      float *y, float beta)
{
    const float one = 1;
    cublasStatus_t bs = blas.gemm(d->blas, CUBLAS_OP_N, CUBLAS_OP_N, k, cout, cin, &one, x, k,
                                  (long long)cin * k, d->p + w, cin, 0, &beta, y, k,
                                  (long long)cout * k, batch);
    return bs == CUBLAS_STATUS_SUCCESS ? cudaGetLastError() : cudaErrorUnknown;
}

// gLN or cLN of x [batch][C][k] into y (may equal x).
// The norm's statistics of x into q1 (gLN: sum and squared deviations, 2 per
// item) or q1, q2 (cLN: mean and 1/sqrt(var + eps) per frame).
void norm_stats(session *d, int batch, int C, int k, const float *x, double *q1, double *q2)
{
    size_t per = (size_t)C * k;
    if (!d->s.causal) {
        cudaMemsetAsync(q1, 0, 2 * (size_t)batch * sizeof(double));
        dim3 grid(blocks_for(per, threads, 256), batch);
        gln_stats_kernel<<<grid, threads>>>(per, x, q1, 0);
        gln_stats_kernel<<<grid, threads>>>(per, x, q1, 1);
    } else {
        cln_cols_kernel<<<grid_for((size_t)batch * k), threads>>>(batch, C, k, x, q1, q2);
        cln_scan_kernel<<<batch, scan_threads>>>(C, k, q1, q2);
    }
}

// gLN or cLN of x [batch][C][k] into y (may equal x); q1, q2: scratch as norm_stats.
void norm(session *d, int batch, int C, int k, const float *x, size_t gain, size_t bias, float *y,
          double *q1, double *q2)
{
    size_t n = (size_t)C * k * batch;
    norm_stats(d, batch, C, k, x, q1, q2);
    if (!d->s.causal)
        gln_apply_kernel<<<grid_for(n), threads>>>(batch, C, k, x, q1, d->p + gain, d->p + bias, y);
    else
        cln_apply_kernel<<<grid_for(n), threads>>>(batch, C, k, x, q1, q2, d->p + gain, d->p + bias, y);
}

// One TCN block: r += res(block(r)) (except the last), skip += skip(block(r)).
cudaError_t block_forward(session *d, const block_at *b, int batch, int k)
{
    const shape &s = d->s;
    size_t nh = (size_t)batch * s.H * k;
    cudaError_t err = pointwise(d, batch, s.B, s.H, k, b->in_w, d->r, d->h, 0);
    if (err != cudaSuccess)
        return err;
    bias_kernel<<<grid_for(nh), threads>>>(batch, s.H, k, d->h, d->p + b->in_b, d->p + b->a1);
    norm(d, batch, s.H, k, d->h, b->n1g, b->n1b, d->h, d->st1, d->st2);
    int span = (s.P - 1) * b->dilation, pl = s.causal ? span : span / 2;
    depthwise_kernel<<<grid_for(nh), threads>>>(batch, s.H, k, s.P, b->dilation, pl, d->h,
                                                d->p + b->dw_w, d->p + b->dw_b, d->p + b->a2, d->d);
    norm(d, batch, s.H, k, d->d, b->n2g, b->n2b, d->d, d->st1, d->st2);
    if (b->res) {
        if ((err = pointwise(d, batch, s.H, s.B, k, b->res_w, d->d, d->r, 1)) != cudaSuccess)
            return err;
        bias_kernel<<<grid_for((size_t)batch * s.B * k), threads>>>(batch, s.B, k, d->r,
                                                                    d->p + b->res_b, nullptr);
    }
    return pointwise(d, batch, s.H, s.Sc, k, b->skip_w, d->d, d->skip, 1);
}

cudaError_t forward_locked(session *d, int batch, int t, int k, const float *mix, float *est)
{
    const shape &s = d->s;
    size_t bt = (size_t)batch * t, bk = (size_t)batch * k;
    cudaError_t err;
    if ((err = ensure(d, bt, bk)) != cudaSuccess || (err = upload(d->mix, mix, bt)) != cudaSuccess)
        return err;
    encoder_kernel<<<grid_for(bk * s.N), threads>>>(batch, t, k, s.N, s.L, s.L / 2, d->mix,
                                                    d->p + d->enc_w, d->enc);
    norm(d, batch, s.N, k, d->enc, d->nrm_g, d->nrm_b, d->x0, d->st1, d->st2);
    if ((err = pointwise(d, batch, s.N, s.B, k, d->in_w, d->x0, d->r, 0)) != cudaSuccess)
        return err;
    bias_kernel<<<grid_for(bk * s.B), threads>>>(batch, s.B, k, d->r, d->p + d->in_b, nullptr);
    fill_bias_kernel<<<grid_for(bk * s.Sc), threads>>>(batch, s.Sc, k, d->skip, d->skip_bias);
    for (int j = 0; j < d->nblocks; j++)
        if ((err = block_forward(d, &d->blocks[j], batch, k)) != cudaSuccess)
            return err;
    prelu_kernel<<<grid_for(bk * s.Sc), threads>>>(bk * s.Sc, d->skip, d->p + d->out_a);
    int cn = s.C * s.N;
    if ((err = pointwise(d, batch, s.Sc, cn, k, d->mask_w, d->skip, d->mask, 0)) != cudaSuccess)
        return err;
    mask_kernel<<<grid_for(bk * cn), threads>>>(batch, s.C, s.N, k, d->mask, d->p + d->mask_b, d->enc);
    // decoder: per item (batch*C of them) g (k x L) = masked (k x N) dec^T (N x L)
    const float one = 1, zero = 0;
    cublasStatus_t bs = blas.gemm(d->blas, CUBLAS_OP_N, CUBLAS_OP_T, k, s.L, s.N, &one, d->mask, k,
                                  (long long)s.N * k, d->p + d->dec_w, s.L, 0, &zero, d->g, k,
                                  (long long)k * s.L, batch * s.C);
    if (bs != CUBLAS_STATUS_SUCCESS)
        return cudaErrorUnknown;
    overlap_add_kernel<<<grid_for(bt * s.C), threads>>>(batch * s.C, k, s.L, s.L / 2, t, d->g, d->est);
    if ((err = finish()) != cudaSuccess)
        return err;
    return download(est, d->est, bt * s.C);
}


// ---- training: forward keeping activations, backward into a gradient --------

void free_train(session *d)
{
    cudaFree(d->arena);
    cudaFree(d->darena);
    d->arena = nullptr, d->darena = nullptr;
    d->tcap = d->dcap = 0;
    d->tb = 0;
}

// Carves the arenas for batch x t (k frames), growing them when needed.
cudaError_t train_ensure(session *d, int batch, int t, int k)
{
    const shape &s = d->s;
    size_t J = (size_t)d->nblocks, bt = (size_t)batch * t, bk = (size_t)batch * k;
    size_t N = s.N, B = s.B, H = s.H, Sc = s.Sc, CN = (size_t)s.C * s.N;
    size_t need = bt + 2 * bk * N + J * bk * (B + 2 * H) + 2 * bk * Sc + 2 * bk * CN +
                  bk * s.C * s.L + bt * s.C + 6 * bk * H + bt * s.C + bk * CN + 2 * bk * N +
                  2 * bk * Sc + bk * B;
    size_t cmax = (size_t)(s.N > s.H ? s.N : s.H);
    cmax = cmax > (size_t)s.B ? cmax : (size_t)s.B;
    cmax = cmax > (size_t)s.Sc ? cmax : (size_t)s.Sc;
    size_t dneed = 4 * 2 * bk + 2 * (size_t)batch * cmax;
    cudaError_t err;
    if (need > d->tcap || dneed > d->dcap) {
        free_train(d);
        if ((err = dev_alloc(&d->arena, need)) != cudaSuccess ||
            (err = dev_alloc(&d->darena, dneed)) != cudaSuccess) {
            free_train(d);
            return err;
        }
        d->tcap = need, d->dcap = dneed;
    }
    float *p = d->arena;
#define TAKE(len) (p += (len), p - (len))
    d->t_mix = TAKE(bt);
    d->t_enc = TAKE(bk * N);
    d->t_nrm0 = TAKE(bk * N);
    for (size_t j = 0; j < J; j++) {
        d->rj[j] = TAKE(bk * B);
        d->h1j[j] = TAKE(bk * H);
        d->dj[j] = TAKE(bk * H);
    }
    d->t_skip = TAKE(bk * Sc);
    d->t_ps = TAKE(bk * Sc);
    d->t_mask = TAKE(bk * CN);
    d->t_masked = TAKE(bk * CN);
    d->t_g = TAKE(bk * s.C * s.L);
    d->t_est = TAKE(bt * s.C);
    d->a1 = TAKE(bk * H), d->n1 = TAKE(bk * H), d->a2 = TAKE(bk * H), d->n2 = TAKE(bk * H);
    d->u = TAKE(bk * H), d->v = TAKE(bk * H);
    d->dest = TAKE(bt * s.C);
    d->dmasked = TAKE(bk * CN);
    d->denc = TAKE(bk * N), d->dnrm0 = TAKE(bk * N);
    d->dps = TAKE(bk * Sc), d->dskip = TAKE(bk * Sc);
    d->dr = TAKE(bk * B);
#undef TAKE
    double *q = d->darena;
    d->q1 = q, d->q2 = q + 2 * bk, d->q3 = q + 4 * bk, d->q4 = q + 6 * bk;
    d->bs1 = q + 8 * bk, d->bs2 = d->bs1 + (size_t)batch * cmax;
    return cudaSuccess;
}

cudaError_t train_forward_locked(session *d, int batch, int t, int k, const float *mix, float *est)
{
    const shape &s = d->s;
    size_t bt = (size_t)batch * t, bk = (size_t)batch * k, nh = bk * s.H;
    d->tb = 0;
    cudaError_t err;
    if ((err = train_ensure(d, batch, t, k)) != cudaSuccess ||
        (err = upload(d->t_mix, mix, bt)) != cudaSuccess)
        return err;
    encoder_kernel<<<grid_for(bk * s.N), threads>>>(batch, t, k, s.N, s.L, s.L / 2, d->t_mix,
                                                    d->p + d->enc_w, d->t_enc);
    norm(d, batch, s.N, k, d->t_enc, d->nrm_g, d->nrm_b, d->t_nrm0, d->q1, d->q2);
    if ((err = pointwise(d, batch, s.N, s.B, k, d->in_w, d->t_nrm0, d->rj[0], 0)) != cudaSuccess)
        return err;
    bias_kernel<<<grid_for(bk * s.B), threads>>>(batch, s.B, k, d->rj[0], d->p + d->in_b, nullptr);
    fill_bias_kernel<<<grid_for(bk * s.Sc), threads>>>(batch, s.Sc, k, d->t_skip, d->skip_bias);
    for (int j = 0; j < d->nblocks; j++) {
        const block_at *b = &d->blocks[j];
        if ((err = pointwise(d, batch, s.B, s.H, k, b->in_w, d->rj[j], d->h1j[j], 0)) != cudaSuccess)
            return err;
        bias_kernel<<<grid_for(nh), threads>>>(batch, s.H, k, d->h1j[j], d->p + b->in_b, nullptr);
        prelu_copy_kernel<<<grid_for(nh), threads>>>(nh, d->h1j[j], d->p + b->a1, d->a1);
        norm(d, batch, s.H, k, d->a1, b->n1g, b->n1b, d->n1, d->q1, d->q2);
        int span = (s.P - 1) * b->dilation, pl = s.causal ? span : span / 2;
        depthwise_kernel<<<grid_for(nh), threads>>>(batch, s.H, k, s.P, b->dilation, pl, d->n1,
                                                    d->p + b->dw_w, d->p + b->dw_b, nullptr, d->dj[j]);
        prelu_copy_kernel<<<grid_for(nh), threads>>>(nh, d->dj[j], d->p + b->a2, d->a2);
        norm(d, batch, s.H, k, d->a2, b->n2g, b->n2b, d->n2, d->q1, d->q2);
        if (b->res) {
            float *next = d->rj[j + 1];
            if ((err = cudaMemcpy(next, d->rj[j], bk * s.B * sizeof(float), cudaMemcpyDeviceToDevice)) !=
                    cudaSuccess ||
                (err = pointwise(d, batch, s.H, s.B, k, b->res_w, d->n2, next, 1)) != cudaSuccess)
                return err;
            bias_kernel<<<grid_for(bk * s.B), threads>>>(batch, s.B, k, next, d->p + b->res_b, nullptr);
        }
        if ((err = pointwise(d, batch, s.H, s.Sc, k, b->skip_w, d->n2, d->t_skip, 1)) != cudaSuccess)
            return err;
    }
    prelu_copy_kernel<<<grid_for(bk * s.Sc), threads>>>(bk * s.Sc, d->t_skip, d->p + d->out_a, d->t_ps);
    int cn = s.C * s.N;
    if ((err = pointwise(d, batch, s.Sc, cn, k, d->mask_w, d->t_ps, d->t_mask, 0)) != cudaSuccess)
        return err;
    mask_train_kernel<<<grid_for(bk * cn), threads>>>(batch, s.C, s.N, k, d->t_mask, d->p + d->mask_b,
                                                      d->t_enc, d->t_masked);
    const float one = 1, zero = 0;
    if (blas.gemm(d->blas, CUBLAS_OP_N, CUBLAS_OP_T, k, s.L, s.N, &one, d->t_masked, k, (long long)s.N * k,
                  d->p + d->dec_w, s.L, 0, &zero, d->t_g, k, (long long)k * s.L, batch * s.C) !=
        CUBLAS_STATUS_SUCCESS)
        return cudaErrorUnknown;
    overlap_add_kernel<<<grid_for(bt * s.C), threads>>>(batch * s.C, k, s.L, s.L / 2, t, d->t_g, d->t_est);
    if ((err = finish()) != cudaSuccess || (err = download(est, d->t_est, bt * s.C)) != cudaSuccess)
        return err;
    d->tb = batch, d->tt = t, d->tk = k;
    return cudaSuccess;
}

// A 1x1 conv's backward: dx += W^T dy (dx may be NULL); grad[w] += sum_b dy x^T;
// grad[bias] += sum of dy per output channel.
cudaError_t pointwise_backward(session *d, int batch, int cin, int cout, int k, size_t w, size_t bias,
                               const float *x, const float *dy, float *dx)
{
    const float one = 1;
    if (dx && blas.gemm(d->blas, CUBLAS_OP_N, CUBLAS_OP_T, k, cin, cout, &one, dy, k, (long long)cout * k,
                        d->p + w, cin, 0, &one, dx, k, (long long)cin * k, batch) != CUBLAS_STATUS_SUCCESS)
        return cudaErrorUnknown;
    for (int b = 0; b < batch; b++)
        if (blas.gemm(d->blas, CUBLAS_OP_T, CUBLAS_OP_N, cin, cout, k, &one, x + (size_t)b * cin * k, k, 0,
                      dy + (size_t)b * cout * k, k, 0, &one, d->gp + w, cin, 0, 1) != CUBLAS_STATUS_SUCCESS)
            return cudaErrorUnknown;
    rowsum_kernel<<<cout, threads>>>(batch, cout, k, dy, d->gp + bias);
    return cudaGetLastError();
}

// A norm's backward: dx += d norm(x) / dx applied to dy; grad[gain], grad[bias] accumulate.
void norm_backward(session *d, int batch, int C, int k, const float *x, size_t gain, size_t bias,
                   const float *dy, float *dx)
{
    size_t n = (size_t)C * k * batch;
    int causal = d->s.causal;
    norm_stats(d, batch, C, k, x, d->q1, d->q2);
    norm_sums_kernel<<<dim3(C, batch), threads>>>(C, k, causal, x, dy, d->q1, d->q2, d->bs1, d->bs2);
    unsigned span = (unsigned)(C > batch ? C : batch);
    norm_reduce_kernel<<<(span + threads - 1) / threads, threads>>>(batch, C, k, d->p + gain, d->bs1, d->bs2,
                                                                    d->gp + gain, d->gp + bias,
                                                                    causal ? nullptr : d->q3);
    if (!causal) {
        gln_dx_kernel<<<grid_for(n), threads>>>(batch, C, k, x, dy, d->p + gain, d->q1, d->q3, dx);
    } else {
        cln_ab_kernel<<<grid_for((size_t)batch * k), threads>>>(batch, C, k, x, dy, d->p + gain, d->q1, d->q3,
                                                                d->q4);
        cln_suffix_kernel<<<batch, scan_threads>>>(C, k, d->q1, d->q2, d->q3, d->q4);
        cln_dx_kernel<<<grid_for(n), threads>>>(batch, C, k, x, dy, d->p + gain, d->q2, d->q3, d->q4, dx);
    }
}

cudaError_t zero(float *p, size_t n)
{
    return cudaMemsetAsync(p, 0, n * sizeof(float));
}

// Block j's backward: dskip and dr (the gradient of r[j+1]) in; dr becomes r[j]'s.
cudaError_t block_backward(session *d, int j, int batch, int k)
{
    const shape &s = d->s;
    const block_at *b = &d->blocks[j];
    size_t nh = (size_t)batch * s.H * k;
    int span = (s.P - 1) * b->dilation, pl = s.causal ? span : span / 2;
    cudaError_t err;
    // recompute the block's PReLU and norm outputs
    prelu_copy_kernel<<<grid_for(nh), threads>>>(nh, d->h1j[j], d->p + b->a1, d->a1);
    norm(d, batch, s.H, k, d->a1, b->n1g, b->n1b, d->n1, d->q1, d->q2);
    prelu_copy_kernel<<<grid_for(nh), threads>>>(nh, d->dj[j], d->p + b->a2, d->a2);
    norm(d, batch, s.H, k, d->a2, b->n2g, b->n2b, d->n2, d->q1, d->q2);
    if ((err = zero(d->u, nh)) != cudaSuccess ||
        (err = pointwise_backward(d, batch, s.H, s.Sc, k, b->skip_w, b->skip_b, d->n2, d->dskip, d->u)) !=
            cudaSuccess)
        return err;
    if (b->res && (err = pointwise_backward(d, batch, s.H, s.B, k, b->res_w, b->res_b, d->n2, d->dr, d->u)) !=
                      cudaSuccess)
        return err;
    if ((err = zero(d->v, nh)) != cudaSuccess)
        return err;
    norm_backward(d, batch, s.H, k, d->a2, b->n2g, b->n2b, d->u, d->v);
    if ((err = zero(d->u, nh)) != cudaSuccess)
        return err;
    prelu_backward_kernel<<<grid_for(nh), threads>>>(nh, d->dj[j], d->p + b->a2, d->v, d->u, d->gp + b->a2);
    if ((err = zero(d->v, nh)) != cudaSuccess)
        return err;
    depthwise_dx_kernel<<<grid_for(nh), threads>>>(batch, s.H, k, s.P, b->dilation, pl, d->p + b->dw_w, d->u,
                                                   d->v);
    depthwise_dw_kernel<<<s.H * s.P, threads>>>(batch, s.H, k, s.P, b->dilation, pl, d->n1, d->u,
                                                d->gp + b->dw_w);
    rowsum_kernel<<<s.H, threads>>>(batch, s.H, k, d->u, d->gp + b->dw_b);
    if ((err = zero(d->u, nh)) != cudaSuccess)
        return err;
    norm_backward(d, batch, s.H, k, d->a1, b->n1g, b->n1b, d->v, d->u);
    if ((err = zero(d->v, nh)) != cudaSuccess)
        return err;
    prelu_backward_kernel<<<grid_for(nh), threads>>>(nh, d->h1j[j], d->p + b->a1, d->u, d->v, d->gp + b->a1);
    // r[j+1] = r[j] + res(...): dr already holds the identity path
    return pointwise_backward(d, batch, s.B, s.H, k, b->in_w, b->in_b, d->rj[j], d->v, d->dr);
}

cudaError_t backward_locked(session *d, const float *dest, float *grad)
{
    const shape &s = d->s;
    int batch = d->tb, t = d->tt, k = d->tk, items = batch * s.C;
    size_t bt = (size_t)batch * t, bk = (size_t)batch * k, cn = (size_t)s.C * s.N;
    cudaError_t err;
    if ((err = upload(d->dest, dest, bt * s.C)) != cudaSuccess || (err = zero(d->gp, d->count)) != cudaSuccess)
        return err;
    // decoder: dG (frames x taps per item, into t_g) from dest; its weight and input gradients
    gather_frames_kernel<<<grid_for(bk * s.C * s.L), threads>>>(items, k, s.L, s.L / 2, t, d->dest, d->t_g);
    const float one = 1, zero_f = 0;
    for (int i = 0; i < items; i++)
        if (blas.gemm(d->blas, CUBLAS_OP_T, CUBLAS_OP_N, s.L, s.N, k, &one, d->t_g + (size_t)i * k * s.L, k, 0,
                      d->t_masked + (size_t)i * s.N * k, k, 0, &one, d->gp + d->dec_w, s.L, 0, 1) !=
            CUBLAS_STATUS_SUCCESS)
            return cudaErrorUnknown;
    if (blas.gemm(d->blas, CUBLAS_OP_N, CUBLAS_OP_N, k, s.N, s.L, &one, d->t_g, k, (long long)k * s.L,
                  d->p + d->dec_w, s.L, 0, &zero_f, d->dmasked, k, (long long)s.N * k, items) !=
        CUBLAS_STATUS_SUCCESS)
        return cudaErrorUnknown;
    mask_backward_kernel<<<grid_for(bk * s.N), threads>>>(batch, s.C, s.N, k, d->dmasked, d->t_mask, d->t_enc,
                                                          d->denc);
    if ((err = zero(d->dps, bk * s.Sc)) != cudaSuccess ||
        (err = pointwise_backward(d, batch, s.Sc, (int)cn, k, d->mask_w, d->mask_b, d->t_ps, d->dmasked,
                                  d->dps)) != cudaSuccess ||
        (err = zero(d->dskip, bk * s.Sc)) != cudaSuccess)
        return err;
    prelu_backward_kernel<<<grid_for(bk * s.Sc), threads>>>(bk * s.Sc, d->t_skip, d->p + d->out_a, d->dps,
                                                            d->dskip, d->gp + d->out_a);
    if ((err = zero(d->dr, bk * s.B)) != cudaSuccess)
        return err;
    for (int j = d->nblocks - 1; j >= 0; j--)
        if ((err = block_backward(d, j, batch, k)) != cudaSuccess)
            return err;
    if ((err = zero(d->dnrm0, bk * s.N)) != cudaSuccess ||
        (err = pointwise_backward(d, batch, s.N, s.B, k, d->in_w, d->in_b, d->t_nrm0, d->dr, d->dnrm0)) !=
            cudaSuccess)
        return err;
    norm_backward(d, batch, s.N, k, d->t_enc, d->nrm_g, d->nrm_b, d->dnrm0, d->denc);
    encoder_dw_kernel<<<s.N * s.L, threads>>>(batch, t, k, s.N, s.L, s.L / 2, d->t_mix, d->denc,
                                              d->gp + d->enc_w);
    if ((err = finish()) != cudaSuccess)
        return err;
    return download(grad, d->gp, d->count);
}

void close_locked(session *d)
{
    free_acts(d);
    free_train(d);
    cudaFree(d->gp);
    cudaFree(d->p);
    cudaFree(d->skip_bias);
    if (d->blas)
        blas.destroy(d->blas);
}

// Copies the parameters to the device, with the summed skip biases.
cudaError_t upload_params(session *d, const float *params)
{
    const shape &s = d->s;
    cudaError_t err = upload(d->p, params, d->count);
    if (err != cudaSuccess)
        return err;
    float *sum = (float *)calloc((size_t)s.Sc, sizeof *sum);
    if (!sum)
        return cudaErrorMemoryAllocation;
    for (int j = 0; j < d->nblocks; j++)
        for (int c = 0; c < s.Sc; c++)
            sum[c] += params[d->blocks[j].skip_b + c];
    err = upload(d->skip_bias, sum, (size_t)s.Sc);
    free(sum);
    return err;
}

cudaError_t open_locked(session *d, const float *params)
{
    cudaError_t err;
    if ((err = dev_alloc(&d->p, d->count)) != cudaSuccess ||
        (err = dev_alloc(&d->gp, d->count)) != cudaSuccess ||
        (err = dev_alloc(&d->skip_bias, (size_t)d->s.Sc)) != cudaSuccess ||
        (err = upload_params(d, params)) != cudaSuccess)
        return err;
    return blas.create(&d->blas) == CUBLAS_STATUS_SUCCESS ? cudaSuccess : cudaErrorUnknown;
}

} // namespace

extern "C" int circa_cuda__tasnet_open(int device, const circa_cuda_tasnet_shape *s,
                                       const float *params, size_t count, circa_cuda_tasnet **out,
                                       const char **why)
{
    *out = nullptr;
    if (why)
        *why = nullptr;
    session *d = (session *)calloc(1, sizeof *d);
    size_t J = (size_t)s->X * s->R;
    if (d) {
        d->blocks = (block_at *)calloc(J, sizeof *d->blocks);
        d->rj = (float **)calloc(3 * J, sizeof *d->rj);
    }
    if (!d || !d->blocks || !d->rj) {
        if (d)
            free(d->blocks), free(d->rj);
        free(d);
        return CIRCA_E_NOMEM;
    }
    d->h1j = d->rj + J, d->dj = d->rj + 2 * J;
    d->device = device;
    d->s = *s;
    d->nblocks = s->X * s->R;
    d->count = layout(d);
    if (d->count != count) { // the host packed a different model: a bug
        free(d->blocks), free(d->rj);
        free(d);
        return CIRCA_E_PARAM;
    }
    int prev;
    cudaError_t err = enter(device, &prev);
    int st = CIRCA_OK;
    if (err == cudaSuccess && !load_blas()) {
        st = CIRCA_E_DEVICE;
        if (why)
            *why = blas_why;
    } else if (err == cudaSuccess) {
        err = open_locked(d, params);
    }
    if (err != cudaSuccess || st != CIRCA_OK)
        close_locked(d);
    int lst = leave(prev, err);
    if (st == CIRCA_OK)
        st = lst;
    if (st != CIRCA_OK) {
        free(d->blocks), free(d->rj);
        free(d);
        return st;
    }
    *out = d;
    return CIRCA_OK;
}

extern "C" void circa_cuda__tasnet_close(circa_cuda_tasnet *d)
{
    if (!d)
        return;
    int prev;
    enter(d->device, &prev);
    close_locked(d);
    leave(prev, cudaSuccess);
    free(d->blocks), free(d->rj);
    free(d);
}

extern "C" int circa_cuda__tasnet_forward(circa_cuda_tasnet *d, int batch, int t, int frames,
                                          const float *mix, float *est)
{
    int prev;
    cudaError_t err = enter(d->device, &prev);
    if (err == cudaSuccess)
        err = forward_locked(d, batch, t, frames, mix, est);
    return leave(prev, err);
}

extern "C" int circa_cuda__tasnet_upload(circa_cuda_tasnet *d, const float *params)
{
    int prev;
    cudaError_t err = enter(d->device, &prev);
    if (err == cudaSuccess)
        err = upload_params(d, params);
    return leave(prev, err);
}

extern "C" int circa_cuda__tasnet_train_forward(circa_cuda_tasnet *d, int batch, int t, int frames,
                                                const float *mix, float *est)
{
    int prev;
    cudaError_t err = enter(d->device, &prev);
    if (err == cudaSuccess)
        err = train_forward_locked(d, batch, t, frames, mix, est);
    return leave(prev, err);
}

extern "C" int circa_cuda__tasnet_backward(circa_cuda_tasnet *d, const float *dest, float *grad)
{
    if (!d->tb)
        return CIRCA_E_STATE;
    int prev;
    cudaError_t err = enter(d->device, &prev);
    if (err == cudaSuccess)
        err = backward_locked(d, dest, grad);
    return leave(prev, err);
}
