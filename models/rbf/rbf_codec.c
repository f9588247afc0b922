/* rbf_codec.c: the field as a lossy image codec: size the field for a bit
 * budget, fit it, train it against rounding noise, then pick the finest
 * quantisation step that fits. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rbf_internal.h"

/* Bits a stored number costs after quantisation and coding, for sizing the
 * field before it exists; the step search below makes the budget exact. */
#ifndef RBF_BITS_PER_NUMBER
#define RBF_BITS_PER_NUMBER 4.5
#endif
#ifndef RBF_CODEC_F
#define RBF_CODEC_F 32
#endif
#ifndef RBF_CODEC_H
#define RBF_CODEC_H 48
#endif
/* The L1 term on kernel weights while fitting (docs/rbf.md: 1e-6 gained
 * 0.16 dB on kodim23 and 0.47 on kodim05 at 0.5 bpp; 2e-6 and 1e-5 lost). */
#ifndef RBF_CODEC_L1
#define RBF_CODEC_L1 1e-6
#endif
/* The refinement's learning rates start at this times the fit's. */
#ifndef RBF_CODEC_REFINE_LR
#define RBF_CODEC_REFINE_LR 0.2
#endif
#ifndef RBF_CODEC_GRID_SHARE
#define RBF_CODEC_GRID_SHARE 0.25
#endif

/* A field shaped for coding: coarse geometry (whole-pixel centres; the
 * fine lattice cost about 37 bits a kernel, a fifth of the file; the
 * coarse one 18 to 20), 32 weights per kernel, a 48-wide MLP (16 lost
 * 1 dB against 32; 48 gained 0.12 dB on the 12 Kodak images' mean at 0.5
 * bpp, though kodim13 lost 0.56), and a fine grid sized to about a
 * quarter of the numbers. docs/rbf.md has the shapes compared. */
static void codec_shape(circa_rbf_config *c, uint64_t params) {
    c->kernels = 0;
    c->coarse_geometry = 1;
    c->l1_weights = RBF_CODEC_L1;
    c->params = params;
    /* Small budgets (small images, low rates) get a smaller MLP, which
     * would otherwise take most of the numbers. */
    c->features = params < 8000 ? 8 : RBF_CODEC_F;
    c->hidden = params < 4000 ? 8 : params < 16000 ? 16 : RBF_CODEC_H;
    double r = sqrt((double)params * RBF_CODEC_GRID_SHARE / 2) - 1;
    c->grid_base = 8;
    c->grid_fine = r < 16 ? 16 : r > 512 ? 512 : (unsigned)r;
}

/* Unless the caller chose a batch, a codec fit takes CIRCA_RBF_CODEC_BATCH_SPLIT
 * times the steps on as many times fewer pixels: the same pixel visits,
 * hence about the same time. Measured at 0.5 bpp and the compute of 3000
 * default steps (docs/rbf.md): kodim23 33.86 dB with batches of 65,536
 * pixels, 34.29 with 32,768, 34.53 with 16,384, 34.57 with 8,192; kodim05
 * 24.16 and 24.76 (16,384). Each kernel weight is seen by a few hundred
 * pixels, so smaller batches still estimate its gradient well, and the
 * field gets four times the updates. */
static void codec_batches(circa_rbf_config *c, size_t pixels) {
    if (c->batch != 0 || c->steps > UINT32_MAX / CIRCA_RBF_CODEC_BATCH_SPLIT) return;
    size_t b = circa_rbf__batch_size(pixels, c) / CIRCA_RBF_CODEC_BATCH_SPLIT;
    c->batch = b > 0 ? (unsigned)b : 1;
    c->steps *= CIRCA_RBF_CODEC_BATCH_SPLIT;
}

/* Mean squared error of the field over n sampled pixels. */
static double sample_mse(const circa_rbf *f, size_t n, const float *xy, const float *tg, float *scratch) {
    return circa_rbf__loss_grad(f, f->theta, n, xy, tg, scratch);
}

/* Step scales from each group's sensitivity: for uniform quantisation the
 * rate-distortion optimum gives every group the same slope, which makes a
 * group's step proportional to 1/sqrt(s), s = the error added per unit of
 * squared change of one of its numbers. s is measured by moving the whole
 * group by +-d (the same random signs both ways, so the first-order terms
 * cancel) on a sample of pixels. */
static circa_status set_sensitivity_scales(circa_rbf *f, const circa_image *img) {
    enum { N = 8192 };
    size_t P = f->lay.total;
    float *xy = malloc(2 * N * sizeof *xy), *tg = malloc((size_t)N * f->channels * sizeof *tg);
    float *scratch = malloc(P * sizeof *scratch), *keep = malloc(P * sizeof *keep);
    if (!xy || !tg || !scratch || !keep) {
        free(xy), free(tg), free(scratch), free(keep);
        return CIRCA_E_NOMEM;
    }
    uint64_t rng = 0x53454E53ull; /* fixed: the file must not depend on anything else */
    float scale = 1.0f / (float)((1u << img->depth) - 1);
    for (size_t i = 0; i < N; i++) {
        uint32_t x = (uint32_t)(rbf_rand(&rng) % img->width), y = (uint32_t)(rbf_rand(&rng) % img->height);
        xy[2 * i] = x + 0.5f, xy[2 * i + 1] = y + 0.5f;
        for (unsigned c = 0; c < f->channels; c++)
            tg[i * f->channels + c] = img->samples[((size_t)y * img->width + x) * f->channels + c] * scale;
    }
    memcpy(keep, f->theta, P * sizeof *keep);
    double base = sample_mse(f, N, xy, tg, scratch);
    for (int g = 0; g < RBF_GROUPS; g++) {
        size_t off, n;
        circa_rbf__group_span(f, g, &off, &n);
        f->qscale[g] = 0;
        if (n == 0) continue;
        double ss = 0;
        for (size_t i = 0; i < n; i++) ss += (double)keep[off + i] * keep[off + i];
        double d = 0.02 * (sqrt(ss / n) + 1e-6), both = 0;
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            uint64_t r = 0x5349474Eull + (uint64_t)g;
            for (size_t i = 0; i < n; i++) f->theta[off + i] = keep[off + i] + (float)(sgn * ((rbf_rand(&r) & 1) ? d : -d));
            both += sample_mse(f, N, xy, tg, scratch) - base;
            memcpy(f->theta + off, keep + off, n * sizeof *keep);
        }
        double s = both / 2 / ((double)n * d * d); /* per number, per unit^2 */
        f->qscale[g] = (float)(1.0 / sqrt(s > 1e-12 ? s : 1e-12));
    }
    /* Only ratios matter (the base step is searched): normalise to group 0. */
    float ref = f->qscale[0] > 0 ? f->qscale[0] : 1;
    for (int g = 0; g < RBF_GROUPS; g++) f->qscale[g] /= ref;
    free(xy), free(tg), free(scratch), free(keep);
    return CIRCA_OK;
}

/* Coded size at step q, or 0 on failure. */
static size_t coded_size(const circa_rbf *f, double q) {
    uint8_t *buf;
    size_t n;
    if (circa_rbf_save(f, q, &buf, &n) != CIRCA_OK) return 0;
    free(buf);
    return n;
}

/* The finest base step whose coded field fits budget bytes, found on the
 * float numbers (size falls as the step grows: bisect log(step)). */
static circa_status finest_step(const circa_rbf *f, double budget, double *q) {
    double lo = log(1e-6), hi = log(10.0);
    size_t n = coded_size(f, exp(hi));
    if (n == 0 || n > budget) return n == 0 ? CIRCA_E_NOMEM : CIRCA_E_LIMIT;
    for (int it = 0; it < 30; it++) {
        double mid = 0.5 * (lo + hi);
        size_t m = coded_size(f, exp(mid));
        if (m == 0) return CIRCA_E_NOMEM;
        if (m <= budget) hi = mid;
        else lo = mid;
    }
    *q = exp(hi);
    return CIRCA_OK;
}

/* The PSNR f renders with its numbers rounded at base step q (f is left as
 * it was); negative when out of memory. */
static double rounded_psnr(circa_rbf *f, const circa_image *img, double q, unsigned threads) {
    size_t P = f->lay.total;
    float *keep = malloc(P * sizeof *keep), qstep[RBF_GROUPS];
    if (!keep) return -1;
    double qbase = f->qbase;
    memcpy(keep, f->theta, P * sizeof *keep);
    memcpy(qstep, f->qstep, sizeof qstep);
    circa_rbf_quantise(f, q);
    double psnr = circa_rbf_psnr(f, img, threads);
    memcpy(f->theta, keep, P * sizeof *keep);
    memcpy(f->qstep, qstep, sizeof qstep);
    f->qbase = qbase;
    free(keep);
    return psnr;
}

/* After the fit, training goes on for a tenth of its steps with each
 * number jittered by uniform noise of its quantisation step, so the field
 * settles where rounding costs little. At 0.5 bpp (docs/rbf.md) rounding
 * cost kodim13 1.75 dB (24.35 in floats, 22.62 coded); refined, 23.24.
 * The encoder keeps the refined numbers only if they render better once
 * rounded for the budget (kodim15's lost 0.03 dB). *q: the finest step
 * that fits, for the numbers kept. */
static circa_status refine_for_rounding(circa_rbf *f, const circa_image *img, const circa_rbf_config *c,
                                        double budget, double *q) {
    unsigned n = c->steps / CIRCA_RBF_CODEC_REFINE_DIV;
    circa_status st = finest_step(f, budget, q);
    if (st != CIRCA_OK || n == 0) return st;
    size_t P = f->lay.total;
    float *plain = malloc(P * sizeof *plain), steps[RBF_GROUPS];
    double plain_q = *q, plain_psnr = rounded_psnr(f, img, plain_q, c->threads);
    if (!plain || plain_psnr < 0) {
        free(plain);
        return CIRCA_E_NOMEM;
    }
    memcpy(plain, f->theta, P * sizeof *plain);
    circa_rbf__group_steps(f, plain_q, steps);
    st = circa_rbf__refine_noisy(f, img, c, steps, n, RBF_CODEC_REFINE_LR);
    if (st == CIRCA_OK) st = finest_step(f, budget, q);
    if (st == CIRCA_OK && rounded_psnr(f, img, *q, c->threads) < plain_psnr) {
        memcpy(f->theta, plain, P * sizeof *plain);
        *q = plain_q;
    }
    free(plain);
    return st;
}

typedef circa_status (*fit_fn)(const circa_image *, const circa_rbf_config *, circa_rbf **);

/* The caller's progress, with the seconds counted from the codec's start
 * (the fit and the refinement each count their own). */
typedef struct codec_progress {
    circa_rbf_progress fn;
    void *ctx;
    struct timespec t0;
} codec_progress;

static void report_progress(void *ctx, unsigned step, double psnr, double seconds) {
    codec_progress *p = ctx;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    (void)seconds;
    p->fn(p->ctx, step, psnr, (double)(t.tv_sec - p->t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - p->t0.tv_nsec));
}

static circa_status fit_rate(const circa_image *img, const circa_rbf_config *cfg, double bpp, fit_fn fit,
                             circa_rbf **out, double *quant_step) {
    if (out) *out = NULL;
    if (!img || !cfg || !out || !quant_step || !(bpp > 0)) return CIRCA_E_PARAM;
    double pixels = (double)img->width * img->height, budget = bpp * pixels / 8;
    circa_rbf_config c = *cfg;
    codec_progress prog = {cfg->progress, cfg->progress_ctx, {0, 0}};
    clock_gettime(CLOCK_MONOTONIC, &prog.t0);
    if (cfg->progress) c.progress = report_progress, c.progress_ctx = &prog;
    codec_shape(&c, (uint64_t)(bpp * pixels / RBF_BITS_PER_NUMBER));
    codec_batches(&c, (size_t)img->width * img->height);
    circa_rbf *f;
    circa_status st = fit(img, &c, &f);
    if (st != CIRCA_OK) return st;
    double q;
    if ((st = set_sensitivity_scales(f, img)) != CIRCA_OK || (st = refine_for_rounding(f, img, &c, budget, &q)) != CIRCA_OK) {
        circa_rbf_free(f);
        return st;
    }
    /* Quantise, and make sure of the budget (the search ran on the float
     * numbers; bisection leaves the size at most the budget). */
    circa_rbf_quantise(f, q);
    for (int it = 0;; it++) {
        size_t m = coded_size(f, q);
        if (m == 0 || it == 400) {
            circa_rbf_free(f);
            return m == 0 ? CIRCA_E_NOMEM : CIRCA_E_LIMIT;
        }
        if (m <= budget) break;
        q *= 1.02;
        circa_rbf_quantise(f, q);
    }
    *quant_step = q;
    *out = f;
    return CIRCA_OK;
}

circa_status circa_rbf_fit_rate(const circa_image *img, const circa_rbf_config *cfg, double bpp,
                                circa_rbf **out, double *quant_step) {
    return fit_rate(img, cfg, bpp, circa_rbf_fit, out, quant_step);
}

circa_status circa_rbf_fit_rate_cuda(const circa_image *img, const circa_rbf_config *cfg, double bpp,
                                     circa_rbf **out, double *quant_step) {
    return fit_rate(img, cfg, bpp, circa_rbf_fit_cuda, out, quant_step);
}
