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
const unsigned scan_threads = 1024; // cLN's prefix sums: one block per item
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
__global__ void cln_scan_kernel(int C, int k, double *sum, double *sq)
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
// bias, then PReLU: y[b][h][f] = prelu(bias[h] + sum_j w[h][j] x[b][h][f + j dil - pl]).
__global__ void depthwise_kernel(int batch, int H, int k, int P, int dil, int pl,
                                 const float *__restrict__ x, const float *__restrict__ w,
                                 const float *__restrict__ bias, const float *__restrict__ slope,
                                 float *__restrict__ y)
{
    size_t n = (size_t)batch * H * k, stride = (size_t)blockDim.x * gridDim.x;
    float a = *slope;
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
        y[i] = prelu(s + bias[h], a);
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
    size_t wide = (size_t)(s.H > s.N ? s.H : s.N);
    cudaError_t err;
    if ((err = dev_alloc(&d->mix, bt)) != cudaSuccess ||
        (err = dev_alloc(&d->enc, bk * s.N)) != cudaSuccess ||
        (err = dev_alloc(&d->x0, bk * s.N)) != cudaSuccess ||
        (err = dev_alloc(&d->r, bk * s.B)) != cudaSuccess ||
        (err = dev_alloc(&d->h, bk * wide)) != cudaSuccess ||
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
void norm(session *d, int batch, int C, int k, const float *x, size_t gain, size_t bias, float *y)
{
    size_t per = (size_t)C * k;
    if (!d->s.causal) {
        cudaMemsetAsync(d->st1, 0, 2 * (size_t)batch * sizeof(double));
        dim3 grid(blocks_for(per, threads, 256), batch);
        gln_stats_kernel<<<grid, threads>>>(per, x, d->st1, 0);
        gln_stats_kernel<<<grid, threads>>>(per, x, d->st1, 1);
        gln_apply_kernel<<<grid_for(per * batch), threads>>>(batch, C, k, x, d->st1, d->p + gain,
                                                              d->p + bias, y);
    } else {
        cln_cols_kernel<<<grid_for((size_t)batch * k), threads>>>(batch, C, k, x, d->st1, d->st2);
        cln_scan_kernel<<<batch, scan_threads>>>(C, k, d->st1, d->st2);
        cln_apply_kernel<<<grid_for(per * batch), threads>>>(batch, C, k, x, d->st1, d->st2,
                                                              d->p + gain, d->p + bias, y);
    }
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
    norm(d, batch, s.H, k, d->h, b->n1g, b->n1b, d->h);
    int span = (s.P - 1) * b->dilation, pl = s.causal ? span : span / 2;
    depthwise_kernel<<<grid_for(nh), threads>>>(batch, s.H, k, s.P, b->dilation, pl, d->h,
                                                d->p + b->dw_w, d->p + b->dw_b, d->p + b->a2, d->d);
    norm(d, batch, s.H, k, d->d, b->n2g, b->n2b, d->d);
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
    norm(d, batch, s.N, k, d->enc, d->nrm_g, d->nrm_b, d->x0);
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

void close_locked(session *d)
{
    free_acts(d);
    cudaFree(d->p);
    cudaFree(d->skip_bias);
    if (d->blas)
        blas.destroy(d->blas);
}

cudaError_t open_locked(session *d, const float *params)
{
    cudaError_t err;
    const shape &s = d->s;
    if ((err = dev_alloc(&d->p, d->count)) != cudaSuccess ||
        (err = upload(d->p, params, d->count)) != cudaSuccess ||
        (err = dev_alloc(&d->skip_bias, (size_t)s.Sc)) != cudaSuccess)
        return err;
    float *sum = (float *)calloc((size_t)s.Sc, sizeof *sum);
    if (!sum)
        return cudaErrorMemoryAllocation;
    for (int j = 0; j < d->nblocks; j++)
        for (int c = 0; c < s.Sc; c++)
            sum[c] += params[d->blocks[j].skip_b + c];
    err = upload(d->skip_bias, sum, (size_t)s.Sc);
    free(sum);
    if (err != cudaSuccess)
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
    if (d)
        d->blocks = (block_at *)calloc((size_t)s->X * s->R, sizeof *d->blocks);
    if (!d || !d->blocks) {
        free(d);
        return CIRCA_E_NOMEM;
    }
    d->device = device;
    d->s = *s;
    d->nblocks = s->X * s->R;
    d->count = layout(d);
    if (d->count != count) { // the host packed a different model: a bug
        free(d->blocks);
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
        free(d->blocks);
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
    free(d->blocks);
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
