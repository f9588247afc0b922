/* rbf_codec.c: the field as a lossy image codec: size the field for a bit
 * budget, fit it, then pick the finest quantisation step that fits. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
#define RBF_CODEC_H 32
#endif
/* The L1 term on kernel weights while fitting (docs/rbf.md: 1e-6 gained
 * 0.16 dB on kodim23 and 0.47 on kodim05 at 0.5 bpp; 2e-6 and 1e-5 lost). */
#ifndef RBF_CODEC_L1
#define RBF_CODEC_L1 1e-6
#endif
#ifndef RBF_CODEC_GRID_SHARE
#define RBF_CODEC_GRID_SHARE 0.25
#endif

/* A field shaped for coding: coarse geometry (whole-pixel centres; the
 * fine lattice cost about 37 bits a kernel, a fifth of the file; the
 * coarse one 18 to 20), 32 weights per kernel, a 32-wide MLP (16 lost
 * 1 dB; 48 and 64 gained 0.05 to 0.2 dB in a first test, not yet taken),
 * and a fine grid sized to about a quarter of the numbers. docs/rbf.md has
 * the shapes compared. */
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

typedef circa_status (*fit_fn)(const circa_image *, const circa_rbf_config *, circa_rbf **);

static circa_status fit_rate(const circa_image *img, const circa_rbf_config *cfg, double bpp, fit_fn fit,
                             circa_rbf **out, double *quant_step) {
    if (out) *out = NULL;
    if (!img || !cfg || !out || !quant_step || !(bpp > 0)) return CIRCA_E_PARAM;
    double pixels = (double)img->width * img->height, budget = bpp * pixels / 8;
    circa_rbf_config c = *cfg;
    codec_shape(&c, (uint64_t)(bpp * pixels / RBF_BITS_PER_NUMBER));
    codec_batches(&c, (size_t)img->width * img->height);
    circa_rbf *f;
    circa_status st = fit(img, &c, &f);
    if (st != CIRCA_OK) return st;
    if ((st = set_sensitivity_scales(f, img)) != CIRCA_OK) {
        circa_rbf_free(f);
        return st;
    }
    /* Size falls as the step grows: bisect log(step) for the finest fit. */
    double lo = log(1e-6), hi = log(10.0);
    size_t n = coded_size(f, exp(hi));
    if (n == 0 || n > budget) {
        circa_rbf_free(f);
        return n == 0 ? CIRCA_E_NOMEM : CIRCA_E_LIMIT;
    }
    for (int it = 0; it < 30; it++) {
        double mid = 0.5 * (lo + hi);
        size_t m = coded_size(f, exp(mid));
        if (m == 0) {
            circa_rbf_free(f);
            return CIRCA_E_NOMEM;
        }
        if (m <= budget) hi = mid;
        else lo = mid;
    }
    /* The step search ran on the float numbers; quantise them, and make
     * sure of the budget (bisection leaves the size at most the budget). */
    double q = exp(hi);
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
