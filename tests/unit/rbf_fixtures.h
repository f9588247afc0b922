/* rbf_fixtures.h: the test image and small field shape shared by the RBF
 * suites (test_rbf.c, test_rbf_cuda.c). */
#ifndef CIRCA_TEST_RBF_FIXTURES_H
#define CIRCA_TEST_RBF_FIXTURES_H

#include <criterion/criterion.h>
#include <math.h>

#include "circa/image.h"
#include "circa/rbf.h"
#include "models/rbf/rbf_internal.h"

/* A smooth colour image with a soft-edged disc and a thin line: edges for
 * the kernels, smooth parts for the grid (coordinates in [0, 32)). */
static inline double rbf_test_pattern(double x, double y, unsigned c) {
    double cx = x - 20, cy = y - 14;
    double disc = 1 / (1 + exp((sqrt(cx * cx + cy * cy) - 8) * 1.5));
    double line = exp(-(x - y * 0.5 - 4) * (x - y * 0.5 - 4) / 2.0);
    return 0.2 + 0.3 * (x / 32) * (c == 0) + 0.3 * (y / 32) * (c == 1) + 0.35 * disc * (c != 1) + 0.2 * line;
}

static inline circa_image *make_image(uint32_t w, uint32_t h) {
    circa_image *img;
    cr_assert_eq(circa_image_create(w, h, 3, 8, &img), CIRCA_OK);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (unsigned c = 0; c < 3; c++) {
                double v = rbf_test_pattern((x + 0.5) * 32.0 / w, (y + 0.5) * 32.0 / h, c);
                img->samples[((size_t)y * w + x) * 3 + c] = (uint16_t)lrint(255 * (v < 0 ? 0 : v > 1 ? 1 : v));
            }
    return img;
}

/* A small field: 48 kernels of 8 weights, a 16-wide MLP, grids 4 and 8. */
static inline circa_rbf_config small_config(unsigned steps) {
    circa_rbf_config c = circa_rbf_config_default();
    c.kernels = 48;
    c.features = 8;
    c.hidden = 16;
    c.grid_base = 4;
    c.grid_fine = 8;
    c.steps = steps;
    c.seed = 7;
    return c;
}

/* Mean magnitude of a field's kernel weights (what the L1 term shrinks). */
static inline double mean_abs_weight(const circa_rbf *f) {
    size_t n = (size_t)f->K * f->F;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += fabs(f->theta[f->lay.lc + i]);
    return s / (double)n;
}

#endif
