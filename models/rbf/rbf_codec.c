/* rbf_codec.c: the field as a lossy image codec: size the field for a bit
 * budget, fit it, then pick the finest quantisation step that fits. */
#include <math.h>
#include <stdlib.h>

#include "rbf_internal.h"

/* Bits a stored number costs after quantisation and coding, for sizing the
 * field before it exists; the step search below makes the budget exact. */
#define RBF_BITS_PER_NUMBER 6.0

/* A field shaped for coding: 16 weights per kernel and a 32-wide MLP (the
 * 32 x 64 of the fitting default cost more numbers than they return at
 * these rates), and a fine grid sized to about a quarter of the budget. */
static void codec_shape(circa_rbf_config *c, uint64_t params) {
    c->kernels = 0;
    c->params = params;
    c->features = 16;
    c->hidden = 32;
    double r = sqrt((double)params / 8) - 1;
    c->grid_base = 8;
    c->grid_fine = r < 16 ? 16 : r > 512 ? 512 : (unsigned)r;
}

/* Coded size at step q, or 0 on failure. */
static size_t coded_size(const circa_rbf *f, double q) {
    uint8_t *buf;
    size_t n;
    if (circa_rbf_save(f, q, &buf, &n) != CIRCA_OK) return 0;
    free(buf);
    return n;
}

circa_status circa_rbf_fit_rate(const circa_image *img, const circa_rbf_config *cfg,
                                double bpp, circa_rbf **out, double *quant_step) {
    if (out) *out = NULL;
    if (!img || !cfg || !out || !quant_step || !(bpp > 0)) return CIRCA_E_PARAM;
    double pixels = (double)img->width * img->height, budget = bpp * pixels / 8;
    circa_rbf_config c = *cfg;
    codec_shape(&c, (uint64_t)(bpp * pixels / RBF_BITS_PER_NUMBER));
    circa_rbf *f;
    circa_status st = circa_rbf_fit(img, &c, &f);
    if (st != CIRCA_OK) return st;
    /* Size falls as the step grows: bisect log(step) for the finest fit. */
    double lo = log(1e-3), hi = log(8.0);
    size_t n = coded_size(f, exp(hi));
    if (n == 0 || n > budget) {
        circa_rbf_free(f);
        return n == 0 ? CIRCA_E_NOMEM : CIRCA_E_LIMIT;
    }
    for (int it = 0; it < 20; it++) {
        double mid = 0.5 * (lo + hi);
        size_t m = coded_size(f, exp(mid));
        if (m == 0) {
            circa_rbf_free(f);
            return CIRCA_E_NOMEM;
        }
        if (m <= budget) hi = mid;
        else lo = mid;
    }
    *quant_step = exp(hi);
    *out = f;
    return CIRCA_OK;
}
