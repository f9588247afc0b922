/* cuda/rbf_host.c: RBF image fields on the GPU (include/circa/rbf.h, section
 * 6): checks, the 4 nearest kernels of each position (the CPU's bucket
 * grid, circa_rbf__index_query, as circa_rbf__point does), and the fitting
 * loop of circa_rbf_fit with the gradient and Adam on the device
 * (cuda/rbf.cu). Built only when CIRCA_HAVE_CUDA; cuda/rbf_fallback.c
 * stands in otherwise. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "circa/cuda.h"
#include "circa/rbf.h"
#include "../models/rbf/rbf_internal.h"
#include "rbf.h"

/* The device used (the one circa_cuda_selftest uses). */
#define RBF_CUDA_DEVICE 0
/* Positions per render call: bounds host and device buffers. */
#define RBF_CUDA_CHUNK ((size_t)1 << 18)

_Static_assert(RBF_NN == CIRCA_CUDA_RBF_NN, "kernels per position");
_Static_assert(CIRCA_RBF_FEATURES_MAX == CIRCA_CUDA_RBF_F_MAX, "F");
_Static_assert(CIRCA_RBF_HIDDEN_MAX == CIRCA_CUDA_RBF_H_MAX, "H");
_Static_assert(RBF_D_MAX == CIRCA_CUDA_RBF_D_MAX, "D");
_Static_assert(RBF_LEVELS_MAX == 2 && RBF_GRID_FEATS == 2, "grid levels and features");

static void shape_of(const circa_rbf *f, circa_cuda_rbf_shape *s) {
    memset(s, 0, sizeof *s);
    s->width = f->width, s->height = f->height;
    s->channels = f->channels, s->K = f->K, s->F = f->F, s->H = f->H, s->G = f->G, s->D = f->D;
    s->levels = f->levels, s->res[0] = f->res[0], s->res[1] = f->res[1];
    const rbf_layout *L = &f->lay;
    s->lc = L->lc, s->grid[0] = L->grid[0], s->grid[1] = L->grid[1], s->lcb = L->lcb;
    s->w0 = L->w0, s->b0 = L->b0, s->w1 = L->w1, s->b1 = L->b1, s->w2 = L->w2, s->b2 = L->b2;
    s->total = L->total, s->mlp_begin = L->mlp_begin;
    memcpy(s->m_rbf, f->m_rbf, sizeof s->m_rbf);
    memcpy(s->m_h, f->m_h, sizeof s->m_h);
}

static circa_status open_field(const circa_rbf *f, circa_cuda_rbf **d) {
    *d = NULL;
    if (!circa_cuda_available()) return CIRCA_E_DEVICE;
    circa_cuda_rbf_shape s;
    shape_of(f, &s);
    return (circa_status)circa_cuda__rbf_open(RBF_CUDA_DEVICE, &s, f->kc, f->ka, f->theta, d);
}

/* The 4 nearest kernels of n positions, as circa_rbf__point finds them. */
static void nearest(const circa_rbf *f, size_t n, const float *xy, uint32_t *knn) {
    for (size_t i = 0; i < n; i++)
        circa_rbf__index_query(&f->index, f->kc, xy[2 * i], xy[2 * i + 1], RBF_NN, knn + RBF_NN * i);
}

circa_status circa_rbf_render_cuda(const circa_rbf *f, uint32_t width, uint32_t height,
                                   circa_image **out) {
    if (out) *out = NULL;
    if (!f || !out || width == 0 || height == 0) return CIRCA_E_PARAM;
    if (!circa_cuda_available()) return CIRCA_E_DEVICE;
    circa_image *img;
    circa_status st = circa_image_create(width, height, f->channels, f->depth, &img);
    if (st != CIRCA_OK) return st;
    size_t n = (size_t)width * height, cap = n < RBF_CUDA_CHUNK ? n : RBF_CUDA_CHUNK;
    float *xy = malloc(cap * 2 * sizeof *xy);
    uint32_t *knn = malloc(cap * RBF_NN * sizeof *knn);
    circa_cuda_rbf *d = NULL;
    if (!xy || !knn) st = CIRCA_E_NOMEM;
    else st = open_field(f, &d);
    /* Positions exactly as render_rows (rbf_field.c) computes them. */
    double sx = (double)f->width / width, sy = (double)f->height / height;
    for (size_t lo = 0; lo < n && st == CIRCA_OK; lo += cap) {
        size_t m = n - lo < cap ? n - lo : cap;
        for (size_t i = 0; i < m; i++) {
            uint32_t r = (uint32_t)((lo + i) / width), c = (uint32_t)((lo + i) % width);
            xy[2 * i] = (float)((c + 0.5) * sx);
            xy[2 * i + 1] = (float)((r + 0.5) * sy);
        }
        nearest(f, m, xy, knn);
        st = (circa_status)circa_cuda__rbf_render(d, m, xy, knn, f->depth,
                                                  img->samples + lo * f->channels);
    }
    circa_cuda__rbf_close(d);
    free(xy);
    free(knn);
    if (st != CIRCA_OK) {
        circa_image_free(img);
        return st;
    }
    *out = img;
    return CIRCA_OK;
}

circa_status circa_rbf_loss_grad_cuda(const circa_rbf *f, size_t n, const float *xy,
                                      const float *targets, float *grad, double *mse) {
    if (!f || !grad || n == 0 || !xy || !targets) return CIRCA_E_PARAM;
    if (n > CIRCA_IMAGE_MAX_PIXELS) return CIRCA_E_LIMIT;
    if (!circa_cuda_available()) return CIRCA_E_DEVICE;
    uint32_t *knn = malloc(n * RBF_NN * sizeof *knn);
    if (!knn) return CIRCA_E_NOMEM;
    nearest(f, n, xy, knn);
    circa_cuda_rbf *d;
    circa_status st = open_field(f, &d);
    double se = 0;
    if (st == CIRCA_OK) st = (circa_status)circa_cuda__rbf_points(d, n, xy, knn, targets);
    if (st == CIRCA_OK) {
        float scale = 1.0f / (float)(n * f->channels); /* as circa_rbf__loss_grad */
        st = (circa_status)circa_cuda__rbf_grad(d, n, NULL, scale, grad, &se);
    }
    circa_cuda__rbf_close(d);
    free(knn);
    if (st == CIRCA_OK && mse) *mse = se / (double)(n * f->channels);
    return st;
}

static double seconds_since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

/* train() of rbf_train.c with the batch gradient and Adam on the device. */
static circa_status train_cuda(circa_cuda_rbf *d, const circa_rbf *f, size_t n,
                               const circa_rbf_config *cfg) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t bsize = circa_rbf__batch_size(n, cfg);
    uint32_t *batch = bsize == n ? NULL : malloc(bsize * sizeof *batch);
    if (bsize != n && !batch) return CIRCA_E_NOMEM;
    float scale = 1.0f / (float)(bsize * f->channels);
    unsigned every = cfg->progress_every ? cfg->progress_every : 100;
    circa_status st = CIRCA_OK;
    for (unsigned s = 0; s < cfg->steps; s++) {
        /* a batch of the whole image is every pixel in order: no indices */
        if (batch) circa_rbf__pick_batch(n, bsize, cfg->seed, s, batch);
        double se;
        st = (circa_status)circa_cuda__rbf_grad(d, bsize, batch, scale, NULL, &se);
        if (st != CIRCA_OK) break;
        double mse = se / (double)(bsize * f->channels);
        if (!isfinite(mse)) {
            st = CIRCA_E_PARAM; /* diverged: a learning rate too high */
            break;
        }
        double k = circa_rbf__lr_factor(s, cfg->steps);
        st = (circa_status)circa_cuda__rbf_adam(d, s, cfg->lr_rest * k, cfg->lr_mlp * k,
                                                circa_rbf__l1_end(f), (float)cfg->l1_weights);
        if (st != CIRCA_OK) break;
        double psnr = mse > 0 ? -10 * log10(mse) : 99;
        int last = s + 1 == cfg->steps, hit = cfg->target_psnr > 0 && psnr >= cfg->target_psnr;
        if (cfg->progress && ((s + 1) % every == 0 || last || hit))
            cfg->progress(cfg->progress_ctx, s + 1, psnr, seconds_since(&t0));
        if (hit) break;
    }
    free(batch);
    return st;
}

circa_status circa_rbf_fit_cuda(const circa_image *img, const circa_rbf_config *cfg,
                                circa_rbf **out) {
    if (out) *out = NULL;
    if (!img || !cfg || !out) return CIRCA_E_PARAM;
    if (!circa_cuda_available()) return CIRCA_E_DEVICE;
    circa_rbf *f;
    circa_status st = circa_rbf__fit_begin(img, cfg, &f);
    if (st != CIRCA_OK) return st;
    /* Every pixel's position, nearest kernels and target (trainer_init). */
    size_t n = (size_t)img->width * img->height, C = f->channels;
    float *xy = malloc(n * 2 * sizeof *xy);
    uint32_t *knn = malloc(n * RBF_NN * sizeof *knn);
    float *targets = malloc(n * C * sizeof *targets);
    circa_cuda_rbf *d = NULL;
    if (!xy || !knn || !targets) st = CIRCA_E_NOMEM;
    if (st == CIRCA_OK) {
        float scale = 1.0f / (float)((1u << img->depth) - 1);
        for (size_t p = 0; p < n; p++) {
            xy[2 * p] = (float)(p % img->width) + 0.5f;
            xy[2 * p + 1] = (float)(p / img->width) + 0.5f;
            for (unsigned c = 0; c < C; c++) targets[p * C + c] = img->samples[p * C + c] * scale;
        }
        nearest(f, n, xy, knn);
        st = open_field(f, &d);
    }
    if (st == CIRCA_OK) st = (circa_status)circa_cuda__rbf_points(d, n, xy, knn, targets);
    free(xy);
    free(knn);
    free(targets);
    if (st == CIRCA_OK) st = train_cuda(d, f, n, cfg);
    if (st == CIRCA_OK) st = (circa_status)circa_cuda__rbf_theta(d, f->theta);
    circa_cuda__rbf_close(d);
    if (st != CIRCA_OK) {
        circa_rbf_free(f);
        return st;
    }
    *out = f;
    return CIRCA_OK;
}
