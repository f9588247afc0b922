// cuda/rbf.cu: RBF image fields on the GPU (include/circa/rbf.h, section 6):
// the forward pass at a position and the per-pixel backward pass of
// models/rbf/ as device code, one thread per position, and Adam. Built only
// when CIRCA_HAVE_CUDA; reached through cuda/rbf_host.c (the seam is
// cuda/rbf.h).
//
// Mirrors, operation for operation: circa_rbf__point (normalised kernel
// values, bilinear grid corners; the 4 nearest kernels come from the CPU's
// bucket grid), circa_rbf__sincos (the same Cody-Waite reduction and Cephes
// polynomials, not sinf), circa_rbf__forward, pixel_grad (rbf_train.c) and
// adam_step. Device code is compiled with --fmad=false and IEEE division and
// square root (nvcc's defaults), so one position's forward pass gives the
// CPU's floats. Gradients are summed over positions with float atomics
// (after a sum across each warp where the address is the same for every
// lane), whose order varies from run to run: GPU gradients match the CPU's
// to rounding, and GPU fits are not bit-reproducible.
//
// Like saxpy.cu this file is compiled with -fno-threadsafe-statics, so the
// function-local statics in nvcc's launch stubs are unguarded: every launch
// happens under launch_lock. No C++ runtime (no new, no exceptions).
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include <cuda_runtime_api.h>

#include "circa/circa.h"

#include "cuda_common.cuh"
#include "rbf.h"

struct circa_cuda_rbf {
    int device;
    circa_cuda_rbf_shape s;
    float *kc, *ka;            // K x 2, K x 3
    float *theta, *grad, *m, *v; // total each
    double *se;                // one
    size_t npts;               // points for gradients
    float *xy, *targets;       // npts x 2, npts x channels
    uint32_t *knn;             // npts x 4
    uint32_t *batch;           // batch_cap
    size_t batch_cap;
};

namespace {

typedef circa_cuda_rbf_shape shape;

const unsigned FULL = 0xffffffffu;
const unsigned threads_per_block = 128; // a multiple of 32: whole warps
const unsigned blocks_max = 2048;

// ---- the forward pass at one position -----------------------------------

// circa_rbf__sincos for one value (c may be NULL).
__device__ inline void sincos1(float x, float *s, float *c)
{
    float q = (x * 0.63661977236758134f + 12582912.0f) - 12582912.0f;
    float r = ((x - q * 1.5703125f) - q * 4.837512969970703125e-4f) - q * 7.54978995489188216e-8f;
    int qi = (int)q;
    float r2 = r * r;
    float sr = r + r * r2 * (-1.6666654611e-1f + r2 * (8.3321608736e-3f + r2 * -1.9515295891e-4f));
    float cr = 1.0f - 0.5f * r2 +
               r2 * r2 * (4.166664568298827e-2f + r2 * (-1.388731625493765e-3f + r2 * 2.443315711809948e-5f));
    float sv = (qi & 1) ? cr : sr, cv = (qi & 1) ? sr : cr;
    *s = (qi & 2) ? -sv : sv;
    if (c)
        *c = ((qi + 1) & 2) ? -cv : cv;
}

__device__ inline float sin1(float x)
{
    float s;
    sincos1(x, &s, nullptr);
    return s;
}

// rbf_point: kernels and normalised values, grid corners and weights.
struct point {
    uint32_t k[CIRCA_CUDA_RBF_NN];
    float phi[CIRCA_CUDA_RBF_NN];
    uint32_t gi[2][4];
    float gw[2][4];
};

// circa_rbf__point, given the 4 nearest kernels kk.
__device__ void make_point(const shape &s, const float *__restrict__ kc,
                           const float *__restrict__ ka, float x, float y,
                           const uint32_t *__restrict__ kk, point &pt)
{
    float sum = 0;
    for (int i = 0; i < CIRCA_CUDA_RBF_NN; i++) {
        uint32_t k = kk[i];
        pt.k[i] = k;
        float dx = x - kc[2 * k], dy = y - kc[2 * k + 1];
        const float *a = ka + 3 * (size_t)k;
        float q = a[0] * dx * dx + 2.0f * a[1] * dx * dy + a[2] * dy * dy;
        pt.phi[i] = 1.0f / (1.0f + q);
        sum += pt.phi[i];
    }
    for (int i = 0; i < CIRCA_CUDA_RBF_NN; i++)
        pt.phi[i] /= sum + 1e-8f;
    float u = x / (float)s.width, v = y / (float)s.height;
    for (unsigned l = 0; l < s.levels; l++) {
        unsigned R = s.res[l];
        float gx = u * (float)R, gy = v * (float)R;
        int ix = (int)floorf(gx), iy = (int)floorf(gy);
        ix = ix < 0 ? 0 : ix > (int)R - 1 ? (int)R - 1 : ix;
        iy = iy < 0 ? 0 : iy > (int)R - 1 ? (int)R - 1 : iy;
        float tx = gx - (float)ix, ty = gy - (float)iy;
        tx = tx < 0 ? 0 : tx > 1 ? 1 : tx;
        ty = ty < 0 ? 0 : ty > 1 ? 1 : ty;
        uint32_t v0 = (uint32_t)iy * (R + 1) + (uint32_t)ix;
        pt.gi[l][0] = v0, pt.gi[l][1] = v0 + 1;
        pt.gi[l][2] = v0 + R + 1, pt.gi[l][3] = v0 + R + 2;
        pt.gw[l][0] = (1 - tx) * (1 - ty), pt.gw[l][1] = tx * (1 - ty);
        pt.gw[l][2] = (1 - tx) * ty, pt.gw[l][3] = tx * ty;
    }
}

// rbf_acts.
struct acts {
    float x0[CIRCA_CUDA_RBF_D_MAX];
    float z1[CIRCA_CUDA_RBF_H_MAX], c1[CIRCA_CUDA_RBF_H_MAX], h1[CIRCA_CUDA_RBF_H_MAX];
    float z2[CIRCA_CUDA_RBF_H_MAX], h2[CIRCA_CUDA_RBF_H_MAX];
};

// circa_rbf__forward (with features()): the same sums in the same order.
// The sines sin(phi_k m_c) are computed where they are used.
__device__ void forward(const shape &s, const float *__restrict__ th, const point &pt, acts &a,
                        float *y)
{
    const unsigned H = s.H, D = s.D, F = s.F;
    for (unsigned l = 0; l < s.levels; l++)
        for (unsigned g = 0; g < 2; g++) {
            const float *grid = th + s.grid[l] + g;
            float v = 0;
            for (int c = 0; c < 4; c++)
                v += pt.gw[l][c] * grid[(size_t)pt.gi[l][c] * 2];
            a.x0[l * 2 + g] = v;
        }
    float *fr = a.x0 + s.G;
    for (unsigned c = 0; c < F; c++)
        fr[c] = 0;
    for (int k = 0; k < CIRCA_CUDA_RBF_NN; k++) {
        const float *w = th + s.lc + (size_t)pt.k[k] * F;
        for (unsigned c = 0; c < F; c++)
            fr[c] += w[c] * sin1(pt.phi[k] * s.m_rbf[c]);
    }
    for (unsigned d = 0; d < D; d++)
        a.x0[d] += th[s.lcb + d];
    const float *w0 = th + s.w0, *w1 = th + s.w1;
    for (unsigned j = 0; j < H; j++) {
        float z = th[s.b0 + j];
        const float *row = w0 + (size_t)j * D;
        for (unsigned i = 0; i < D; i++)
            z += a.x0[i] * row[i];
        a.z1[j] = z;
    }
    for (unsigned j = 0; j < H; j++) {
        float sv;
        sincos1(a.z1[j] * s.m_h[j], &sv, &a.c1[j]);
        a.h1[j] = a.z1[j] + sv;
    }
    for (unsigned j = 0; j < H; j++) {
        float z = th[s.b1 + j];
        const float *row = w1 + (size_t)j * H;
        for (unsigned i = 0; i < H; i++)
            z += a.h1[i] * row[i];
        a.z2[j] = z;
        a.h2[j] = z > 0 ? z : 0;
    }
    for (unsigned o = 0; o < s.channels; o++) {
        const float *w2 = th + s.w2 + (size_t)o * H;
        float v = th[s.b2 + o];
        for (unsigned j = 0; j < H; j++)
            v += w2[j] * a.h2[j];
        y[o] = v;
    }
}

// ---- rendering -------------------------------------------------------------

__global__ void render_kernel(shape s, const float *__restrict__ kc, const float *__restrict__ ka,
                              const float *__restrict__ th, size_t n, const float *__restrict__ xy,
                              const uint32_t *__restrict__ knn, float maxv,
                              uint16_t *__restrict__ out)
{
    size_t stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        point pt;
        acts a;
        float y[4];
        make_point(s, kc, ka, xy[2 * i], xy[2 * i + 1], knn + 4 * i, pt);
        forward(s, th, pt, a, y);
        for (unsigned ch = 0; ch < s.channels; ch++) {
            float v = y[ch] * maxv + 0.5f;
            out[i * s.channels + ch] = (uint16_t)(v <= 0 ? 0 : v >= maxv ? maxv : v);
        }
    }
}

// ---- gradients -------------------------------------------------------------

// *p += the sum of v over the warp; every lane must call it with the same p.
__device__ inline void warp_add(float *p, float v)
{
    for (int off = 16; off > 0; off >>= 1)
        v += __shfl_xor_sync(FULL, v, off);
    if ((threadIdx.x & 31) == 0 && v != 0.0f)
        atomicAdd(p, v);
}

// Whether p is the same for every live lane. Live lanes are a prefix of the
// warp (positions base + lane < n), so lane 0 is live when any lane is.
__device__ inline bool warp_same(const void *p, bool live)
{
    unsigned long long a = (unsigned long long)p;
    unsigned long long first = __shfl_sync(FULL, a, 0);
    return __all_sync(FULL, !live || a == first);
}

// *p += v for a live lane: summed over the warp into p0 (lane 0's p) when
// `same` (dead lanes add 0), else one atomic per live lane.
__device__ inline void lane_add(float *p, float v, bool live, bool same, float *p0)
{
    if (same)
        warp_add(p0, live ? v : 0.0f);
    else if (live && v != 0.0f)
        atomicAdd(p, v);
}

// pixel_grad for the positions of a batch, one per thread. The loop runs
// the same count on every lane of a warp (positions past n are dead: they
// compute, with zero error weight, and add nothing), so the warp-wide sums
// see whole warps.
__global__ void __launch_bounds__(threads_per_block)
grad_kernel(shape s, const float *__restrict__ kc, const float *__restrict__ ka,
            const float *__restrict__ th, size_t n, const uint32_t *__restrict__ batch,
            const float *__restrict__ xy, const uint32_t *__restrict__ knn,
            const float *__restrict__ targets, float scale, float *__restrict__ grad,
            double *__restrict__ se_out)
{
    const unsigned H = s.H, D = s.D, C = s.channels, F = s.F;
    size_t stride = (size_t)blockDim.x * gridDim.x;
    for (size_t base = (size_t)blockIdx.x * blockDim.x; base < n; base += stride) {
        size_t i = base + threadIdx.x;
        bool live = i < n;
        size_t j = live ? i : 0;
        size_t p = batch ? batch[j] : j;
        point pt;
        acts a;
        float y[4], dy[4];
        make_point(s, kc, ka, xy[2 * p], xy[2 * p + 1], knn + 4 * p, pt);
        forward(s, th, pt, a, y);
        double se = 0;
        for (unsigned o = 0; o < C; o++) {
            float e = y[o] - targets[p * C + o];
            se += (double)e * e;
            dy[o] = live ? 2.0f * scale * e : 0.0f;
        }
        if (!live)
            se = 0;
        for (int off = 16; off > 0; off >>= 1)
            se += __shfl_xor_sync(FULL, se, off);
        if ((threadIdx.x & 31) == 0 && se != 0)
            atomicAdd(se_out, se);

        float dz2[CIRCA_CUDA_RBF_H_MAX], dh[CIRCA_CUDA_RBF_H_MAX], dx0[CIRCA_CUDA_RBF_D_MAX];
        // output layer
        for (unsigned o = 0; o < C; o++) {
            float *g = grad + s.w2 + (size_t)o * H;
            for (unsigned k = 0; k < H; k++)
                warp_add(g + k, dy[o] * a.h2[k]);
            warp_add(grad + s.b2 + o, dy[o]);
        }
        for (unsigned k = 0; k < H; k++) {
            float v = 0;
            for (unsigned o = 0; o < C; o++)
                v += dy[o] * th[s.w2 + (size_t)o * H + k];
            dz2[k] = a.z2[k] > 0 ? v : 0;
        }
        // second layer (ReLU-dead units contribute nothing)
        for (unsigned o = 0; o < H; o++) {
            if (!__any_sync(FULL, dz2[o] != 0))
                continue;
            float *g = grad + s.w1 + (size_t)o * H;
            for (unsigned k = 0; k < H; k++)
                warp_add(g + k, dz2[o] * a.h1[k]);
        }
        for (unsigned k = 0; k < H; k++)
            warp_add(grad + s.b1 + k, dz2[k]);
        for (unsigned k = 0; k < H; k++) { // dh1, then dz1 in place
            float v = 0;
            for (unsigned o = 0; o < H; o++)
                if (dz2[o] != 0)
                    v += dz2[o] * th[s.w1 + (size_t)o * H + k];
            dh[k] = v * (1.0f + s.m_h[k] * a.c1[k]);
        }
        // first layer and input bias
        for (unsigned o = 0; o < H; o++) {
            float *g = grad + s.w0 + (size_t)o * D;
            for (unsigned k = 0; k < D; k++)
                warp_add(g + k, dh[o] * a.x0[k]);
        }
        for (unsigned k = 0; k < H; k++)
            warp_add(grad + s.b0 + k, dh[k]);
        for (unsigned k = 0; k < D; k++) {
            float v = 0;
            for (unsigned o = 0; o < H; o++)
                v += dh[o] * th[s.w0 + (size_t)o * D + k];
            dx0[k] = v;
            warp_add(grad + s.lcb + k, v);
        }
        // grid vertices and kernel weights: addresses differ between lanes
        // unless neighbours share a cell or a kernel
        for (unsigned l = 0; l < s.levels; l++)
            for (int c = 0; c < 4; c++) {
                float *g = grad + s.grid[l] + (size_t)pt.gi[l][c] * 2;
                bool same = warp_same(g, live);
                float *g0 = (float *)__shfl_sync(FULL, (unsigned long long)g, 0);
                for (unsigned k = 0; k < 2; k++)
                    lane_add(g + k, pt.gw[l][c] * dx0[l * 2 + k], live, same, g0 + k);
            }
        const float *dfr = dx0 + s.G;
        for (int k = 0; k < CIRCA_CUDA_RBF_NN; k++) {
            float *g = grad + s.lc + (size_t)pt.k[k] * F;
            bool same = warp_same(g, live);
            float *g0 = (float *)__shfl_sync(FULL, (unsigned long long)g, 0);
            for (unsigned c = 0; c < F; c++)
                lane_add(g + c, dfr[c] * sin1(pt.phi[k] * s.m_rbf[c]), live, same, g0 + c);
        }
    }
}

// adam_step (rbf_train.c), one thread per number, the same float and double
// operations.
__global__ void adam_kernel(size_t total, size_t split, float *__restrict__ th,
                            float *__restrict__ m, float *__restrict__ v,
                            const float *__restrict__ grad, float fb1, float f1b1, float fb2,
                            float f1b2, double c1, double c2, double lr_rest, double lr_mlp,
                            size_t l1_end, float l1)
{
    size_t stride = (size_t)blockDim.x * gridDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        float g = grad[i];
        if (i < l1_end)
            g += th[i] > 0 ? l1 : th[i] < 0 ? -l1 : 0.0f;
        m[i] = fb1 * m[i] + f1b1 * g;
        v[i] = fb2 * v[i] + f1b2 * g * g;
        double lr = i < split ? lr_rest : lr_mlp;
        double mh = m[i] / c1, vh = v[i] / c2;
        th[i] -= (float)(lr * mh / (sqrt(vh) + 1e-15));
    }
}

// ---- host side -------------------------------------------------------------

unsigned blocks_for(size_t n)
{
    return blocks_for(n, threads_per_block, blocks_max);
}

void free_points(circa_cuda_rbf *d)
{
    cudaFree(d->xy);
    cudaFree(d->knn);
    cudaFree(d->targets);
    d->xy = d->targets = nullptr;
    d->knn = nullptr;
    d->npts = 0;
}

void free_all(circa_cuda_rbf *d)
{
    free_points(d);
    cudaFree(d->batch);
    cudaFree(d->kc);
    cudaFree(d->ka);
    cudaFree(d->theta);
    cudaFree(d->grad);
    cudaFree(d->m);
    cudaFree(d->v);
    cudaFree(d->se);
}

cudaError_t open_locked(circa_cuda_rbf *d, const float *kc, const float *ka, const float *theta)
{
    const shape &s = d->s;
    cudaError_t err;
    size_t P = s.total;
    if ((err = dev_alloc(&d->kc, (size_t)s.K * 2)) != cudaSuccess ||
        (err = dev_alloc(&d->ka, (size_t)s.K * 3)) != cudaSuccess ||
        (err = dev_alloc(&d->theta, P)) != cudaSuccess ||
        (err = dev_alloc(&d->grad, P)) != cudaSuccess ||
        (err = dev_alloc(&d->m, P)) != cudaSuccess ||
        (err = dev_alloc(&d->v, P)) != cudaSuccess ||
        (err = dev_alloc(&d->se, 1)) != cudaSuccess)
        return err;
    if ((err = upload(d->kc, kc, (size_t)s.K * 2)) != cudaSuccess ||
        (err = upload(d->ka, ka, (size_t)s.K * 3)) != cudaSuccess ||
        (err = upload(d->theta, theta, P)) != cudaSuccess ||
        (err = cudaMemset(d->grad, 0, P * sizeof(float))) != cudaSuccess ||
        (err = cudaMemset(d->m, 0, P * sizeof(float))) != cudaSuccess ||
        (err = cudaMemset(d->v, 0, P * sizeof(float))) != cudaSuccess)
        return err;
    return cudaSuccess;
}

cudaError_t render_locked(circa_cuda_rbf *d, size_t n, const float *xy, const uint32_t *knn,
                          unsigned depth, uint16_t *out)
{
    const shape &s = d->s;
    float *dxy = nullptr;
    uint32_t *dknn = nullptr;
    uint16_t *dout = nullptr;
    cudaError_t err;
    if ((err = dev_alloc(&dxy, n * 2)) == cudaSuccess &&
        (err = dev_alloc(&dknn, n * 4)) == cudaSuccess &&
        (err = dev_alloc(&dout, n * s.channels)) == cudaSuccess &&
        (err = upload(dxy, xy, n * 2)) == cudaSuccess &&
        (err = upload(dknn, knn, n * 4)) == cudaSuccess) {
        float maxv = (float)((1u << depth) - 1);
        render_kernel<<<blocks_for(n), threads_per_block>>>(s, d->kc, d->ka, d->theta, n, dxy,
                                                            dknn, maxv, dout);
        if ((err = finish()) == cudaSuccess)
            err = download(out, dout, n * s.channels);
    }
    cudaFree(dxy);
    cudaFree(dknn);
    cudaFree(dout);
    return err;
}

cudaError_t points_locked(circa_cuda_rbf *d, size_t n, const float *xy, const uint32_t *knn,
                          const float *targets)
{
    free_points(d);
    cudaError_t err;
    size_t C = d->s.channels;
    if ((err = dev_alloc(&d->xy, n * 2)) != cudaSuccess ||
        (err = dev_alloc(&d->knn, n * 4)) != cudaSuccess ||
        (err = dev_alloc(&d->targets, n * C)) != cudaSuccess ||
        (err = upload(d->xy, xy, n * 2)) != cudaSuccess ||
        (err = upload(d->knn, knn, n * 4)) != cudaSuccess ||
        (err = upload(d->targets, targets, n * C)) != cudaSuccess) {
        free_points(d);
        return err;
    }
    d->npts = n;
    return cudaSuccess;
}

cudaError_t grad_locked(circa_cuda_rbf *d, size_t n, const uint32_t *batch, float scale,
                        float *grad_io, double *se)
{
    const shape &s = d->s;
    size_t P = s.total;
    cudaError_t err;
    *se = 0;
    if (batch && n > d->batch_cap) {
        cudaFree(d->batch);
        d->batch = nullptr;
        d->batch_cap = 0;
        if ((err = dev_alloc(&d->batch, n)) != cudaSuccess)
            return err;
        d->batch_cap = n;
    }
    if (batch && (err = upload(d->batch, batch, n)) != cudaSuccess)
        return err;
    if (grad_io)
        err = upload(d->grad, grad_io, P);
    else
        err = cudaMemset(d->grad, 0, P * sizeof(float));
    if (err != cudaSuccess || (err = cudaMemset(d->se, 0, sizeof(double))) != cudaSuccess)
        return err;
    if (n > 0) {
        grad_kernel<<<blocks_for(n), threads_per_block>>>(s, d->kc, d->ka, d->theta, n,
                                                          batch ? d->batch : nullptr, d->xy,
                                                          d->knn, d->targets, scale, d->grad,
                                                          d->se);
        if ((err = finish()) != cudaSuccess)
            return err;
    }
    if ((err = download(se, d->se, 1)) != cudaSuccess)
        return err;
    return grad_io ? download(grad_io, d->grad, P) : cudaSuccess;
}

cudaError_t adam_locked(circa_cuda_rbf *d, unsigned step, double lr_rest, double lr_mlp,
                        size_t l1_end, float l1)
{
    const double b1 = 0.9, b2 = 0.99;
    double c1 = 1 - pow(b1, step + 1), c2 = 1 - pow(b2, step + 1);
    size_t P = d->s.total;
    adam_kernel<<<blocks_for(P), threads_per_block>>>(P, d->s.mlp_begin, d->theta, d->m, d->v,
                                                      d->grad, (float)b1, (float)(1 - b1),
                                                      (float)b2, (float)(1 - b2), c1, c2,
                                                      lr_rest, lr_mlp, l1_end, l1);
    return finish();
}

} // namespace

extern "C" int circa_cuda__rbf_open(int device, const circa_cuda_rbf_shape *s, const float *kc,
                                    const float *ka, const float *theta, circa_cuda_rbf **out)
{
    *out = nullptr;
    circa_cuda_rbf *d = (circa_cuda_rbf *)calloc(1, sizeof *d);
    if (!d)
        return CIRCA_E_NOMEM;
    d->device = device;
    d->s = *s;
    int prev;
    cudaError_t err = enter(device, &prev);
    if (err == cudaSuccess)
        err = open_locked(d, kc, ka, theta);
    if (err != cudaSuccess)
        free_all(d);
    int st = leave(prev, err);
    if (st != CIRCA_OK) {
        free(d);
        return st;
    }
    *out = d;
    return CIRCA_OK;
}

extern "C" void circa_cuda__rbf_close(circa_cuda_rbf *d)
{
    if (!d)
        return;
    int prev;
    enter(d->device, &prev);
    free_all(d);
    leave(prev, cudaSuccess);
    free(d);
}

extern "C" int circa_cuda__rbf_render(circa_cuda_rbf *d, size_t n, const float *xy,
                                      const uint32_t *knn, unsigned depth, uint16_t *out)
{
    int prev;
    cudaError_t err = enter(d->device, &prev);
    if (err == cudaSuccess && n > 0)
        err = render_locked(d, n, xy, knn, depth, out);
    return leave(prev, err);
}

extern "C" int circa_cuda__rbf_points(circa_cuda_rbf *d, size_t n, const float *xy,
                                      const uint32_t *knn, const float *targets)
{
    int prev;
    cudaError_t err = enter(d->device, &prev);
    if (err == cudaSuccess)
        err = points_locked(d, n, xy, knn, targets);
    return leave(prev, err);
}

extern "C" int circa_cuda__rbf_grad(circa_cuda_rbf *d, size_t n, const uint32_t *batch,
                                    float scale, float *grad_io, double *se)
{
    if (!batch && n > d->npts)
        return CIRCA_E_PARAM;
    int prev;
    cudaError_t err = enter(d->device, &prev);
    if (err == cudaSuccess)
        err = grad_locked(d, n, batch, scale, grad_io, se);
    return leave(prev, err);
}

extern "C" int circa_cuda__rbf_adam(circa_cuda_rbf *d, unsigned step, double lr_rest,
                                    double lr_mlp, size_t l1_end, float l1)
{
    int prev;
    cudaError_t err = enter(d->device, &prev);
    if (err == cudaSuccess)
        err = adam_locked(d, step, lr_rest, lr_mlp, l1_end, l1);
    return leave(prev, err);
}

extern "C" int circa_cuda__rbf_theta(circa_cuda_rbf *d, float *theta)
{
    int prev;
    cudaError_t err = enter(d->device, &prev);
    if (err == cudaSuccess)
        err = download(theta, d->theta, (size_t)d->s.total);
    return leave(prev, err);
}
