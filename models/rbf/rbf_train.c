/* rbf_train.c: fitting a field to an image: backpropagation through the
 * MLP, the grid and the kernel weights, Adam with a cosine schedule over
 * stratified pixel batches, split over threads deterministically. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rbf_internal.h"

/* Batches are cut into this many fixed chunks, each with its own gradient
 * buffer, summed in chunk order: results do not depend on the thread count. */
#define RBF_CHUNKS 16

static inline void axpy(unsigned n, float a, const float *restrict x, float *restrict y) {
    for (unsigned i = 0; i < n; i++) y[i] += a * x[i];
}

/* ---- a tile of pixels --------------------------------------------------------
 * The MLP's products for RBF_TILE pixels at once, register-blocked: every
 * weight row loaded once per tile instead of once per pixel. Each output
 * element still adds its terms one at a time in ascending k, exactly as
 * one axpy per k would, so results equal the one-pixel formulation. */
#define RBF_TILE 4
typedef float v8f __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4))); /* unaligned loads */

/* Y[r][j] += sum_k X(r,k) W[k][j] for r < RBF_TILE, j < n, k < K in
 * ascending order; X(r,k) = X[r*xr + k*xk]. */
static inline void tile_gemm(unsigned n, unsigned K, const float *X, size_t xr, size_t xk,
                             const float *W, size_t ws, float *Y, size_t ys) {
    unsigned j = 0;
    for (; j + 16 <= n; j += 16) {
        v8f a[RBF_TILE][2];
        for (int r = 0; r < RBF_TILE; r++)
            a[r][0] = *(const v8u *)(Y + r * ys + j), a[r][1] = *(const v8u *)(Y + r * ys + j + 8);
        for (unsigned k = 0; k < K; k++) {
            v8f w0 = *(const v8u *)(W + k * ws + j), w1 = *(const v8u *)(W + k * ws + j + 8);
            for (int r = 0; r < RBF_TILE; r++) {
                float x = X[r * xr + k * xk];
                a[r][0] += x * w0;
                a[r][1] += x * w1;
            }
        }
        for (int r = 0; r < RBF_TILE; r++)
            *(v8u *)(Y + r * ys + j) = a[r][0], *(v8u *)(Y + r * ys + j + 8) = a[r][1];
    }
    for (; j + 8 <= n; j += 8) {
        v8f a[RBF_TILE];
        for (int r = 0; r < RBF_TILE; r++) a[r] = *(const v8u *)(Y + r * ys + j);
        for (unsigned k = 0; k < K; k++) {
            v8f w0 = *(const v8u *)(W + k * ws + j);
            for (int r = 0; r < RBF_TILE; r++) a[r] += X[r * xr + k * xk] * w0;
        }
        for (int r = 0; r < RBF_TILE; r++) *(v8u *)(Y + r * ys + j) = a[r];
    }
    for (; j < n; j++)
        for (int r = 0; r < RBF_TILE; r++) {
            float acc = Y[r * ys + j];
            for (unsigned k = 0; k < K; k++) acc += X[r * xr + k * xk] * W[k * ws + j];
            Y[r * ys + j] = acc;
        }
}

/* Activations and gradients of one tile; rows past the tile's pixel count
 * stay zero, so they add nothing. */
typedef struct rbf_tile {
    float x0[RBF_TILE][RBF_D_MAX], dx0[RBF_TILE][RBF_D_MAX];
    float z1[RBF_TILE][CIRCA_RBF_HIDDEN_MAX], c1[RBF_TILE][CIRCA_RBF_HIDDEN_MAX];
    float h1[RBF_TILE][CIRCA_RBF_HIDDEN_MAX], z2[RBF_TILE][CIRCA_RBF_HIDDEN_MAX];
    float dz2[RBF_TILE][CIRCA_RBF_HIDDEN_MAX], dh1[RBF_TILE][CIRCA_RBF_HIDDEN_MAX];
    float dz1[RBF_TILE][CIRCA_RBF_HIDDEN_MAX];
    float arg[RBF_TILE][CIRCA_RBF_HIDDEN_MAX], sin[RBF_TILE][CIRCA_RBF_HIDDEN_MAX];
} rbf_tile;

/* Zeroes what a tile accumulates into, and the rows past its np pixels
 * (they go through the products but must add nothing). Packed rows of D
 * or H floats, as the products use them. */
static void tile_clear(rbf_tile *t, unsigned np, unsigned D, unsigned H) {
    memset(t->dz2, 0, sizeof(float) * RBF_TILE * H);
    memset(t->dh1, 0, sizeof(float) * RBF_TILE * H);
    memset(t->dx0, 0, sizeof(float) * RBF_TILE * D);
    if (np < RBF_TILE) {
        memset(&t->x0[0][0] + np * D, 0, sizeof(float) * (RBF_TILE - np) * D);
        memset(&t->h1[0][0] + np * H, 0, sizeof(float) * (RBF_TILE - np) * H);
        memset(&t->dz1[0][0] + np * H, 0, sizeof(float) * (RBF_TILE - np) * H);
    }
}

/* Forward through the MLP for np <= RBF_TILE pixels whose x0 rows are set;
 * y [RBF_TILE][4]. Rows use strides D and H (packed). */
static inline __attribute__((always_inline)) void tile_forward(const circa_rbf *f, const float *theta, const float *wt, rbf_tile *t,
                         unsigned np, float y[RBF_TILE][4]) {
    const rbf_layout *L = &f->lay;
    unsigned H = f->H, D = f->D;
    float *x0 = &t->x0[0][0], *z1 = &t->z1[0][0], *h1 = &t->h1[0][0], *z2 = &t->z2[0][0];
    for (int r = 0; r < RBF_TILE; r++) {
        memcpy(z1 + r * H, theta + L->b0, H * sizeof(float));
        memcpy(z2 + r * H, theta + L->b1, H * sizeof(float));
    }
    tile_gemm(H, D, x0, D, 1, wt, H, z1, H);
    for (unsigned r = 0; r < np; r++) {
        float *arg = t->arg[r], *s = t->sin[r];
        for (unsigned j = 0; j < H; j++) arg[j] = z1[r * H + j] * f->m_h[j];
        circa_rbf__sincos(H, arg, s, t->c1[r]);
        for (unsigned j = 0; j < H; j++) h1[r * H + j] = z1[r * H + j] + s[j];
    }
    tile_gemm(H, H, h1, H, 1, wt + (size_t)D * H, H, z2, H);
    for (unsigned r = 0; r < np; r++)
        for (unsigned o = 0; o < f->channels; o++) {
            const float *w2 = theta + L->w2 + (size_t)o * H;
            float v = theta[L->b2 + o];
            for (unsigned j = 0; j < H; j++) v += w2[j] * (z2[r * H + j] > 0 ? z2[r * H + j] : 0);
            y[r][o] = v;
        }
}

/* Forward, squared error and the gradient of scale * error into grad for
 * np <= RBF_TILE pixels; returns their summed squared error. */
RBF_HOT static double tile_grad(const circa_rbf *f, const float *theta, const float *wt,
                                const rbf_point *const *pts, const float *const *sines,
                                const float *const *targets, unsigned np, float scale,
                                float *grad) {
    const rbf_layout *L = &f->lay;
    unsigned H = f->H, D = f->D, C = f->channels;
    rbf_tile t;
    tile_clear(&t, np, D, H);
    float *x0 = &t.x0[0][0], *dx0 = &t.dx0[0][0], *h1 = &t.h1[0][0], *z2 = &t.z2[0][0];
    float *dz2 = &t.dz2[0][0], *dh1 = &t.dh1[0][0], *dz1 = &t.dz1[0][0];
    for (unsigned r = 0; r < np; r++) circa_rbf__features(f, theta, pts[r], sines[r], x0 + r * D);
    float y[RBF_TILE][4];
    tile_forward(f, theta, wt, &t, np, y);
    double se = 0;
    for (unsigned r = 0; r < np; r++) {
        float h2[CIRCA_RBF_HIDDEN_MAX], dy[4];
        for (unsigned j = 0; j < H; j++) h2[j] = z2[r * H + j] > 0 ? z2[r * H + j] : 0;
        for (unsigned o = 0; o < C; o++) {
            float e = y[r][o] - targets[r][o];
            se += (double)e * e;
            dy[o] = 2.0f * scale * e;
            axpy(H, dy[o], h2, grad + L->w2 + (size_t)o * H);
            grad[L->b2 + o] += dy[o];
            axpy(H, dy[o], theta + L->w2 + (size_t)o * H, dz2 + r * H);
        }
        for (unsigned j = 0; j < H; j++) dz2[r * H + j] = z2[r * H + j] > 0 ? dz2[r * H + j] : 0;
    }
    for (unsigned o = 0; o < H; o += RBF_TILE) /* dW1[o][j] += sum_r dz2[r][o] h1[r][j] */
        tile_gemm(H, np, dz2 + o, 1, H, h1, H, grad + L->w1 + (size_t)o * H, H);
    tile_gemm(H, H, dz2, H, 1, theta + L->w1, H, dh1, H);
    for (unsigned r = 0; r < np; r++) {
        axpy(H, 1.0f, dz2 + r * H, grad + L->b1);
        for (unsigned j = 0; j < H; j++)
            dz1[r * H + j] = dh1[r * H + j] * (1.0f + f->m_h[j] * t.c1[r][j]);
    }
    for (unsigned o = 0; o < H; o += RBF_TILE) /* dW0[o][i] += sum_r dz1[r][o] x0[r][i] */
        tile_gemm(D, np, dz1 + o, 1, H, x0, D, grad + L->w0 + (size_t)o * D, D);
    tile_gemm(D, H, dz1, H, 1, theta + L->w0, D, dx0, D);
    for (unsigned r = 0; r < np; r++) {
        const float *d = dx0 + r * D;
        axpy(H, 1.0f, dz1 + r * H, grad + L->b0);
        axpy(D, 1.0f, d, grad + L->lcb);
        for (unsigned l = 0; l < f->levels; l++)
            for (int c = 0; c < 4; c++) {
                float *g = grad + L->grid[l] + (size_t)pts[r]->gi[l][c] * RBF_GRID_FEATS;
                for (unsigned k = 0; k < RBF_GRID_FEATS; k++) g[k] += pts[r]->gw[l][c] * d[l * RBF_GRID_FEATS + k];
            }
        for (int k = 0; k < RBF_NN; k++) {
            float *g = grad + L->lc + (size_t)pts[r]->k[k] * f->F;
            const float *sn = sines[r] + k * f->F;
            for (unsigned c = 0; c < f->F; c++) g[c] += d[f->G + c] * sn[c];
        }
    }
    return se;
}

double circa_rbf__loss_grad(const circa_rbf *f, const float *theta, size_t n, const float *xy,
                            const float *targets, float *grad) {
    float *wt = malloc(((size_t)f->D * f->H + (size_t)f->H * f->H) * sizeof *wt);
    if (!wt) return -1;
    circa_rbf__transpose(f, theta, wt);
    float scale = 1.0f / (float)(n * f->channels), sines[RBF_NN * CIRCA_RBF_FEATURES_MAX];
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        rbf_point pt;
        circa_rbf__point(f, xy[2 * i], xy[2 * i + 1], &pt);
        circa_rbf__sines(f, &pt, sines);
        const rbf_point *pp = &pt;
        const float *sp = sines, *tp = targets + i * f->channels;
        se += tile_grad(f, theta, wt, &pp, &sp, &tp, 1, scale, grad);
    }
    free(wt);
    return se / (double)(n * f->channels);
}

/* ---- fitting ---------------------------------------------------------------- */
/* Everything the steps share: per-pixel geometry and sines computed once
 * (centres and shapes never move), targets, Adam moments, chunk gradients. */
typedef struct trainer {
    circa_rbf *f;
    size_t n;               /* pixels */
    rbf_point *pts;
    float *sines;           /* n x RBF_NN x F */
    float *targets;         /* n x channels, in [0,1] */
    float *wt;              /* transposed W0, W1 */
    float *m, *v, *grad;
    float *chunk_grad;      /* RBF_CHUNKS x P */
    double chunk_se[RBF_CHUNKS];
    uint32_t *batch;
    size_t bsize;
    unsigned threads;
} trainer;

typedef struct step_job {
    trainer *t;
    unsigned id;
} step_job;

/* Phase 1: this thread's chunks, each into its own gradient buffer. */
static void *run_chunks(void *arg) {
    step_job *j = arg;
    trainer *t = j->t;
    circa_rbf *f = t->f;
    size_t P = f->lay.total, FS = (size_t)RBF_NN * f->F;
    float scale = 1.0f / (float)(t->bsize * f->channels);
    for (unsigned c = j->id; c < RBF_CHUNKS; c += t->threads) {
        float *g = t->chunk_grad + c * P;
        memset(g, 0, P * sizeof *g);
        double se = 0;
        size_t lo = t->bsize * c / RBF_CHUNKS, hi = t->bsize * (c + 1) / RBF_CHUNKS;
        for (size_t i = lo; i < hi; i += RBF_TILE) {
            const rbf_point *pp[RBF_TILE];
            const float *sp[RBF_TILE], *tp[RBF_TILE];
            unsigned np = hi - i < RBF_TILE ? (unsigned)(hi - i) : RBF_TILE;
            for (unsigned r = 0; r < np; r++) {
                size_t p = t->batch[i + r];
                pp[r] = &t->pts[p], sp[r] = t->sines + p * FS, tp[r] = t->targets + p * f->channels;
            }
            se += tile_grad(f, f->theta, t->wt, pp, sp, tp, np, scale, g);
        }
        t->chunk_se[c] = se;
    }
    return NULL;
}

/* Phase 2: this thread's slice of the parameters, summed in chunk order. */
static void *run_reduce(void *arg) {
    step_job *j = arg;
    trainer *t = j->t;
    size_t P = t->f->lay.total;
    size_t lo = P * j->id / t->threads, hi = P * (j->id + 1) / t->threads;
    for (size_t i = lo; i < hi; i++) {
        float s = 0;
        for (unsigned c = 0; c < RBF_CHUNKS; c++) s += t->chunk_grad[c * P + i];
        t->grad[i] = s;
    }
    return NULL;
}

/* Runs fn(job k) for k < threads, on threads; one that cannot start runs here. */
static void run_parallel(trainer *t, void *(*fn)(void *)) {
    pthread_t tid[CIRCA_THREADS_MAX];
    step_job jobs[CIRCA_THREADS_MAX];
    int ok[CIRCA_THREADS_MAX] = {0};
    for (unsigned k = 0; k < t->threads; k++) jobs[k] = (step_job){t, k};
    for (unsigned k = 1; k < t->threads; k++) ok[k] = pthread_create(&tid[k], NULL, fn, &jobs[k]) == 0;
    fn(&jobs[0]);
    for (unsigned k = 1; k < t->threads; k++) {
        if (ok[k]) pthread_join(tid[k], NULL);
        else fn(&jobs[k]);
    }
}

/* The batch gradient into t->grad; returns the batch MSE. */
static double step_gradient(trainer *t) {
    circa_rbf__transpose(t->f, t->f->theta, t->wt);
    run_parallel(t, run_chunks);
    run_parallel(t, run_reduce);
    double se = 0;
    for (unsigned c = 0; c < RBF_CHUNKS; c++) se += t->chunk_se[c];
    return se / (double)(t->bsize * t->f->channels);
}

/* Batch for one step: all pixels when the batch covers the image, else one
 * pixel drawn from each of bsize equal runs of the raster (stratified, so
 * every step sees the whole image evenly). */
static void pick_batch(trainer *t, uint64_t seed, unsigned step) {
    if (t->bsize == t->n) {
        for (size_t i = 0; i < t->n; i++) t->batch[i] = (uint32_t)i;
        return;
    }
    uint64_t rng = seed ^ ((uint64_t)step * 0x9E3779B97F4A7C15ull) ^ 0x42415443ull;
    for (size_t i = 0; i < t->bsize; i++) {
        size_t lo = t->n * i / t->bsize, hi = t->n * (i + 1) / t->bsize;
        t->batch[i] = (uint32_t)(lo + rbf_rand(&rng) % (hi - lo));
    }
}

/* Adam (betas 0.9 / 0.99, eps 1e-15 as NeuRBF) with per-group rates, and
 * the L1 term l1 * sign(w) on the kernel weights (theta[0, l1_end)). */
static void adam_step(trainer *t, float *theta, unsigned step, double lr_rest, double lr_mlp, float l1) {
    circa_rbf *f = t->f;
    const double b1 = 0.9, b2 = 0.99;
    double c1 = 1 - pow(b1, step + 1), c2 = 1 - pow(b2, step + 1);
    size_t P = f->lay.total, split = f->lay.mlp_begin, l1_end = circa_rbf__l1_end(f);
    for (size_t i = 0; i < P; i++) {
        float g = t->grad[i];
        if (i < l1_end) g += theta[i] > 0 ? l1 : theta[i] < 0 ? -l1 : 0.0f;
        t->m[i] = (float)b1 * t->m[i] + (float)(1 - b1) * g;
        t->v[i] = (float)b2 * t->v[i] + (float)(1 - b2) * g * g;
        double lr = i < split ? lr_rest : lr_mlp;
        double mh = t->m[i] / c1, vh = t->v[i] / c2;
        theta[i] -= (float)(lr * mh / (sqrt(vh) + 1e-15));
    }
}

static void trainer_free(trainer *t) {
    free(t->pts);
    free(t->sines);
    free(t->targets);
    free(t->wt);
    free(t->m);
    free(t->v);
    free(t->grad);
    free(t->chunk_grad);
    free(t->batch);
}

/* Geometry, sines and targets of every pixel, computed once. */
static circa_status trainer_init(trainer *t, circa_rbf *f, const circa_image *img,
                                 const circa_rbf_config *cfg) {
    memset(t, 0, sizeof *t);
    t->f = f;
    t->n = (size_t)img->width * img->height;
    t->bsize = cfg->batch == 0 || cfg->batch >= t->n ? (t->n < 65536 ? t->n : 65536) : cfg->batch;
    t->threads = cfg->threads < 1 ? 1 : cfg->threads > CIRCA_THREADS_MAX ? CIRCA_THREADS_MAX : cfg->threads;
    size_t P = f->lay.total, FS = (size_t)RBF_NN * f->F;
    t->pts = malloc(t->n * sizeof *t->pts);
    t->sines = malloc(t->n * FS * sizeof *t->sines);
    t->targets = malloc(t->n * f->channels * sizeof *t->targets);
    t->wt = malloc(((size_t)f->D * f->H + (size_t)f->H * f->H) * sizeof *t->wt);
    t->m = calloc(P, sizeof *t->m);
    t->v = calloc(P, sizeof *t->v);
    t->grad = calloc(P, sizeof *t->grad);
    t->chunk_grad = malloc(RBF_CHUNKS * P * sizeof *t->chunk_grad);
    t->batch = malloc(t->bsize * sizeof *t->batch);
    if (!t->pts || !t->sines || !t->targets || !t->wt || !t->m || !t->v || !t->grad ||
        !t->chunk_grad || !t->batch) {
        trainer_free(t);
        return CIRCA_E_NOMEM;
    }
    float scale = 1.0f / (float)((1u << img->depth) - 1);
    for (size_t p = 0; p < t->n; p++) {
        float x = (float)(p % img->width) + 0.5f, y = (float)(p / img->width) + 0.5f;
        circa_rbf__point(f, x, y, &t->pts[p]);
        circa_rbf__sines(f, &t->pts[p], t->sines + p * FS);
        for (unsigned c = 0; c < f->channels; c++)
            t->targets[p * f->channels + c] = img->samples[p * f->channels + c] * scale;
    }
    return CIRCA_OK;
}

/* Kernels the budget allows: what is left after grid, bias and MLP, at F
 * weights plus 5 fixed numbers (centre, shape) per kernel; at most one
 * kernel per 4 pixels. 0 when the budget is too small. */
static uint32_t kernels_for_budget(const circa_rbf_config *cfg, uint32_t w, uint32_t h,
                                   unsigned C, unsigned grid_fine) {
    uint64_t n = (uint64_t)w * h, F = cfg->features, H = cfg->hidden, D = F;
    uint64_t fixed = 0;
    if (cfg->grid_base) {
        D += RBF_LEVELS_MAX * RBF_GRID_FEATS;
        fixed += (uint64_t)(cfg->grid_base + 1) * (cfg->grid_base + 1) * RBF_GRID_FEATS;
        fixed += (uint64_t)(grid_fine + 1) * (grid_fine + 1) * RBF_GRID_FEATS;
    }
    fixed += D + H * D + H + H * H + H + C * H + C;
    uint64_t K = cfg->kernels;
    if (K == 0) K = cfg->params > fixed ? (cfg->params - fixed) / (F + 5) : 0;
    if (K > n / 4) K = n / 4;
    return K < RBF_NN ? 0 : (uint32_t)K;
}

static double seconds_since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

static circa_status train(trainer *t, const circa_rbf_config *cfg) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned every = cfg->progress_every ? cfg->progress_every : 100;
    for (unsigned s = 0; s < cfg->steps; s++) {
        pick_batch(t, cfg->seed, s);
        double mse = step_gradient(t);
        if (!isfinite(mse)) return CIRCA_E_PARAM; /* diverged: a learning rate too high */
        /* Cosine decay from lr to lr/100 (NeuRBF's gamma 100). */
        double k = 0.01 + 0.99 * 0.5 * (1 + cos(3.14159265358979323846 * s / cfg->steps));
        adam_step(t, t->f->theta, s, cfg->lr_rest * k, cfg->lr_mlp * k, (float)cfg->l1_weights);
        double psnr = mse > 0 ? -10 * log10(mse) : 99;
        int last = s + 1 == cfg->steps, hit = cfg->target_psnr > 0 && psnr >= cfg->target_psnr;
        if (cfg->progress && ((s + 1) % every == 0 || last || hit))
            cfg->progress(cfg->progress_ctx, s + 1, psnr, seconds_since(&t0));
        if (hit) break;
    }
    return CIRCA_OK;
}

static int config_ok(const circa_rbf_config *c) {
    return c->features >= 1 && c->features <= CIRCA_RBF_FEATURES_MAX && c->hidden >= 8 &&
           c->hidden <= CIRCA_RBF_HIDDEN_MAX && c->hidden % 8 == 0 &&
           c->grid_base <= CIRCA_RBF_GRID_MAX && c->grid_fine <= CIRCA_RBF_GRID_MAX &&
           c->lr_mlp > 0 && c->lr_rest > 0 && c->lr_mlp < 1 && c->lr_rest < 1 &&
           c->threads <= CIRCA_THREADS_MAX && c->target_psnr >= 0 && c->target_psnr < 200 &&
           c->l1_weights >= 0 && c->l1_weights < 1;
}

circa_status circa_rbf_fit(const circa_image *img, const circa_rbf_config *cfg, circa_rbf **out) {
    if (!out) return CIRCA_E_PARAM;
    *out = NULL;
    circa_rbf *f;
    circa_status st = circa_rbf__fit_begin(img, cfg, &f);
    if (st != CIRCA_OK) return st;
    trainer t;
    if ((st = trainer_init(&t, f, img, cfg)) == CIRCA_OK) {
        st = train(&t, cfg);
        trainer_free(&t);
    }
    if (st != CIRCA_OK) {
        circa_rbf_free(f);
        return st;
    }
    *out = f;
    return CIRCA_OK;
}

/* ---- pieces of the fit shared with other implementations (cuda/rbf_host.c) */
/* circa_rbf_fit and the GPU fit both start here and use the same batches
 * and schedule, so both run the same algorithm. */

/* circa_rbf_fit up to the first step: the checks, the kernel count, the
 * field with its initial geometry and parameters. */
circa_status circa_rbf__fit_begin(const circa_image *img, const circa_rbf_config *cfg,
                                  circa_rbf **out) {
    if (out) *out = NULL;
    if (!img || !cfg || !out || !config_ok(cfg) || !img->samples || img->channels < 1 ||
        img->channels > 4 || (img->depth != 8 && img->depth != 16))
        return CIRCA_E_PARAM;
    if ((uint64_t)img->width * img->height > CIRCA_IMAGE_MAX_PIXELS / 4) return CIRCA_E_LIMIT;
    uint32_t side = img->width > img->height ? img->width : img->height;
    unsigned fine = cfg->grid_base == 0 ? 0 : cfg->grid_fine ? cfg->grid_fine : (side / 2 > 1 ? side / 2 : 1);
    if (fine > CIRCA_RBF_GRID_MAX) fine = CIRCA_RBF_GRID_MAX;
    uint32_t K = kernels_for_budget(cfg, img->width, img->height, img->channels, fine);
    if (K == 0) return CIRCA_E_PARAM;
    circa_rbf *f;
    circa_status st = circa_rbf__alloc(&f, img->width, img->height, img->channels, img->depth, K,
                                       cfg->features, cfg->hidden, cfg->grid_base, fine);
    if (st != CIRCA_OK) return st;
    f->coarse = cfg->coarse_geometry != 0;
    st = circa_rbf__init_kernels(f, img, cfg->seed);
    if (st != CIRCA_OK) {
        circa_rbf_free(f);
        return st;
    }
    circa_rbf__init_params(f, cfg->seed);
    *out = f;
    return CIRCA_OK;
}

/* Pixels per step for an image of n pixels (as trainer_init). */
size_t circa_rbf__batch_size(size_t n, const circa_rbf_config *cfg) {
    return cfg->batch == 0 || cfg->batch >= n ? (n < 65536 ? n : 65536) : cfg->batch;
}

/* The batch of one step (pick_batch): bsize pixel indices into batch. */
void circa_rbf__pick_batch(size_t n, size_t bsize, uint64_t seed, unsigned step, uint32_t *batch) {
    trainer t;
    memset(&t, 0, sizeof t);
    t.n = n, t.bsize = bsize, t.batch = batch;
    pick_batch(&t, seed, step);
}

/* The cosine factor of the learning rates at step s of steps (train). */
double circa_rbf__lr_factor(unsigned s, unsigned steps) {
    return 0.01 + 0.99 * 0.5 * (1 + cos(3.14159265358979323846 * s / steps));
}


/* The end of the numbers the L1 term applies to: the kernel weights, which
 * come first in theta. */
size_t circa_rbf__l1_end(const circa_rbf *f) {
    return f->lay.lc + (size_t)f->K * f->F;
}

/* Training robust to rounding (rbf_codec.c): nsteps more steps, each at
 * the numbers jittered by fresh uniform noise of +-steps[g]/2 in group g
 * (the error rounding to that step makes), its gradient applied to the
 * unjittered numbers. The rates decay (cosine) from lr_scale times cfg's
 * to cfg's / 100. Progress continues from cfg->steps. */
circa_status circa_rbf__refine_noisy(circa_rbf *f, const circa_image *img, const circa_rbf_config *cfg,
                                     const float *steps, unsigned nsteps, double lr_scale) {
    if (!f || !img || !cfg || !steps || !(lr_scale > 0)) return CIRCA_E_PARAM;
    size_t P = f->lay.total;
    float *clean = malloc(P * sizeof *clean);
    if (!clean) return CIRCA_E_NOMEM;
    memcpy(clean, f->theta, P * sizeof *clean);
    trainer t;
    circa_status st = trainer_init(&t, f, img, cfg);
    if (st != CIRCA_OK) {
        free(clean);
        return st;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned every = cfg->progress_every ? cfg->progress_every : 100;
    uint64_t rng = cfg->seed ^ 0x4E4F495345ull;
    for (unsigned s = 0; s < nsteps && st == CIRCA_OK; s++) {
        for (int g = 0; g < RBF_GROUPS; g++) {
            size_t off, n;
            circa_rbf__group_span(f, g, &off, &n);
            for (size_t i = off; i < off + n; i++)
                f->theta[i] = clean[i] + steps[g] * (float)(rbf_rand_unit(&rng) - 0.5);
        }
        /* Batches the fit did not draw (its steps stay below 2^31). */
        pick_batch(&t, cfg->seed, 0x80000000u + s);
        double mse = step_gradient(&t);
        if (!isfinite(mse)) st = CIRCA_E_PARAM;
        double k = 0.01 + (lr_scale - 0.01) * 0.5 * (1 + cos(3.14159265358979323846 * s / nsteps));
        adam_step(&t, clean, s, cfg->lr_rest * k, cfg->lr_mlp * k, (float)cfg->l1_weights);
        if (cfg->progress && ((s + 1) % every == 0 || s + 1 == nsteps))
            cfg->progress(cfg->progress_ctx, cfg->steps + s + 1, mse > 0 ? -10 * log10(mse) : 99, seconds_since(&t0));
    }
    memcpy(f->theta, clean, P * sizeof *clean);
    trainer_free(&t);
    free(clean);
    return st;
}
