/* test_rbf.c: RBF image fields: gradients of every parameter group against
 * finite differences, a small image fitted and rendered back above a PSNR
 * floor, determinism (same seed, any thread count: same file), exact and
 * quantised files round trip, corrupt and truncated files rejected, and a
 * 2x render close to a bicubic upscale of the original. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "circa/rbf.h"
#include "models/rbf/rbf_internal.h"
#include "rbf_fixtures.h"
#include "test_util.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static double unit(void) { return rbf_rand_unit(&rng); }

/* ---- gradients ---------------------------------------------------------------- */
/* Central differences in float need low curvature: the test scales the
 * sine-residual frequencies down (the code path is the same for any value)
 * and moves every number off its tiny initial value. */
Test(rbf, gradients_match_finite_differences) {
    circa_image *img = make_image(24, 20);
    circa_rbf *f;
    cr_assert_eq(circa_rbf_fit(img, &(circa_rbf_config){0}, &f), CIRCA_E_PARAM);
    circa_rbf_config cfg = small_config(1);
    cr_assert_eq(circa_rbf_fit(img, &cfg, &f), CIRCA_OK);
    for (unsigned j = 0; j < f->H; j++) f->m_h[j] = 0.5f + 0.05f * j;
    for (size_t i = 0; i < f->lay.total; i++) f->theta[i] = (float)(unit() - 0.5) * 0.6f;
    enum { N = 40 };
    float xy[2 * N], tg[3 * N];
    for (int i = 0; i < N; i++) {
        xy[2 * i] = (float)(unit() * 24), xy[2 * i + 1] = (float)(unit() * 20);
        for (int c = 0; c < 3; c++) tg[3 * i + c] = (float)unit();
    }
    size_t P = f->lay.total;
    float *g = calloc(P, sizeof *g);
    circa_rbf__loss_grad(f, f->theta, N, xy, tg, g);
    const char *names[] = {"lc", "grid0", "grid1", "lcb", "w0", "b0", "w1", "b1", "w2", "b2"};
    size_t lo[] = {f->lay.lc, f->lay.grid[0], f->lay.grid[1], f->lay.lcb, f->lay.w0,
                   f->lay.b0, f->lay.w1,      f->lay.b1,      f->lay.w2,  f->lay.b2, P};
    float *dummy = calloc(P, sizeof *dummy);
    for (int grp = 0; grp < 10; grp++) {
        double num = 0, den = 0;
        int checked = 0;
        for (size_t i = lo[grp]; i < lo[grp + 1] && checked < 24; i++) {
            if (fabsf(g[i]) < 1e-5f) continue; /* untouched grid cells, kernels no sample sees */
            float keep = f->theta[i], eps = 1e-3f;
            f->theta[i] = keep + eps;
            double up = circa_rbf__loss_grad(f, f->theta, N, xy, tg, dummy);
            f->theta[i] = keep - eps;
            double down = circa_rbf__loss_grad(f, f->theta, N, xy, tg, dummy);
            f->theta[i] = keep;
            double fd = (up - down) / (2.0 * eps);
            num += (fd - g[i]) * (fd - g[i]);
            den += (double)g[i] * g[i];
            checked++;
        }
        cr_assert_gt(checked, 0, "group %s: no gradient to check", names[grp]);
        double rel = sqrt(num / den);
        cr_expect_lt(rel, 2e-2, "group %s: finite differences differ by %.3g (relative)", names[grp], rel);
    }
    free(g);
    free(dummy);
    circa_rbf_free(f);
    circa_image_free(img);
}

/* ---- fitting and files ---------------------------------------------------------- */
static uint8_t *save(const circa_rbf *f, double q, size_t *n) {
    uint8_t *buf;
    cr_assert_eq(circa_rbf_save(f, q, &buf, n), CIRCA_OK);
    return buf;
}

Test(rbf, small_image_fits_and_renders_back) {
    circa_image *img = make_image(32, 32);
    circa_rbf_config cfg = small_config(400);
    cfg.kernels = 96;
    cfg.threads = 2;
    circa_rbf *f;
    cr_assert_eq(circa_rbf_fit(img, &cfg, &f), CIRCA_OK);
    double psnr = circa_rbf_psnr(f, img, 1);
    cr_expect_gt(psnr, 32.0, "fitted PSNR %.2f dB", psnr);
    /* The exact file renders the same pixels. */
    size_t n;
    uint8_t *buf = save(f, 0, &n);
    circa_rbf *g;
    cr_assert_eq(circa_rbf_load(buf, n, &g), CIRCA_OK);
    circa_image *a, *b;
    cr_assert_eq(circa_rbf_render(f, 32, 32, 1, &a), CIRCA_OK);
    cr_assert_eq(circa_rbf_render(g, 32, 32, 3, &b), CIRCA_OK);
    cr_expect_eq(memcmp(a->samples, b->samples, 32 * 32 * 3 * 2), 0);
    circa_image_free(a), circa_image_free(b);
    free(buf);
    circa_rbf_free(g);
    circa_rbf_free(f);
    circa_image_free(img);
}

Test(rbf, same_seed_same_file_any_thread_count) {
    circa_image *img = make_image(20, 16);
    circa_rbf_config cfg = small_config(30);
    cfg.kernels = 32;
    uint8_t *first = NULL;
    size_t first_n = 0;
    unsigned threads[] = {1, 2, 3};
    for (int t = 0; t < 3; t++) {
        cfg.threads = threads[t];
        circa_rbf *f;
        cr_assert_eq(circa_rbf_fit(img, &cfg, &f), CIRCA_OK);
        size_t n;
        uint8_t *buf = save(f, 0, &n);
        if (!first) first = buf, first_n = n;
        else {
            cr_expect_eq(n, first_n);
            cr_expect_eq(memcmp(buf, first, n), 0, "%u threads gave a different file", threads[t]);
            free(buf);
        }
        circa_rbf_free(f);
    }
    cfg.seed = 8, cfg.threads = 1;
    circa_rbf *f;
    cr_assert_eq(circa_rbf_fit(img, &cfg, &f), CIRCA_OK);
    size_t n;
    uint8_t *other = save(f, 0, &n);
    cr_expect(n != first_n || memcmp(other, first, n) != 0, "another seed gave the same file");
    free(other);
    free(first);
    circa_rbf_free(f);
    circa_image_free(img);
}

Test(rbf, quantised_file_renders_what_quantise_predicts) {
    circa_image *img = make_image(24, 24);
    circa_rbf_config cfg = small_config(150);
    circa_rbf *f;
    cr_assert_eq(circa_rbf_fit(img, &cfg, &f), CIRCA_OK);
    size_t exact_n, n;
    uint8_t *exact = save(f, 0, &exact_n);
    uint8_t *buf = save(f, 0.02, &n);
    cr_expect_lt(n * 3, exact_n, "quantised %zu bytes vs exact %zu", n, exact_n);
    circa_rbf *g;
    cr_assert_eq(circa_rbf_load(buf, n, &g), CIRCA_OK);
    double before = circa_rbf_psnr(f, img, 1);
    cr_assert_eq(circa_rbf_quantise(f, 0.02), CIRCA_OK);
    cr_expect_eq(memcmp(f->theta, g->theta, f->lay.total * sizeof(float)), 0);
    double after = circa_rbf_psnr(g, img, 1);
    cr_expect_gt(after, before - 1.5, "quantisation cost %.2f dB", before - after);
    /* Saving the quantised field again gives the same bytes. */
    size_t n2;
    uint8_t *again = save(f, 0.02, &n2);
    cr_expect(n2 == n && memcmp(again, buf, n) == 0);
    free(again), free(buf), free(exact);
    circa_rbf_free(g), circa_rbf_free(f);
    circa_image_free(img);
}

Test(rbf, corrupt_and_truncated_files_are_rejected) {
    circa_image *img = make_image(16, 16);
    circa_rbf_config cfg = small_config(5);
    cfg.kernels = 16;
    circa_rbf *f;
    cr_assert_eq(circa_rbf_fit(img, &cfg, &f), CIRCA_OK);
    for (int q = 0; q < 2; q++) {
        size_t n;
        uint8_t *buf = save(f, q ? 0.1 : 0, &n);
        circa_rbf *g = (circa_rbf *)1;
        for (size_t cut = 0; cut < n; cut++) {
            cr_assert_neq(circa_rbf_load(buf, cut, &g), CIRCA_OK, "truncated at %zu accepted", cut);
            cr_assert_null(g);
        }
        for (size_t i = 0; i < n; i++)
            for (int bit = 0; bit < 8; bit += 3) {
                buf[i] ^= (uint8_t)(1 << bit);
                cr_assert_neq(circa_rbf_load(buf, n, &g), CIRCA_OK, "flip at %zu.%d accepted", i, bit);
                buf[i] ^= (uint8_t)(1 << bit);
            }
        uint8_t *longer = malloc(n + 1);
        memcpy(longer, buf, n);
        longer[n] = 0;
        cr_expect_eq(circa_rbf_load(longer, n + 1, &g), CIRCA_E_FORMAT);
        buf[8] = 99;
        cr_expect_eq(circa_rbf_load(buf, n, &g), CIRCA_E_VERSION);
        cr_expect_eq(circa_rbf_load("PNG", 3, &g), CIRCA_E_FORMAT);
        free(longer);
        free(buf);
    }
    circa_rbf_free(f);
    circa_image_free(img);
}

/* ---- versions and geometry ------------------------------------------------ */
/* FNV-1a over a rendered image's samples. */
static uint64_t render_hash(const circa_rbf *f) {
    circa_image *img;
    cr_assert_eq(circa_rbf_render(f, f->width, f->height, 1, &img), CIRCA_OK);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < (size_t)img->width * img->height * img->channels; i++)
        h = (h ^ img->samples[i]) * 1099511628211ull;
    circa_image_free(img);
    return h;
}

/* Version 1 files (tests/golden/rbf) still load and render what they did:
 * the hashes are of the renders of version 1's own `circa rbf render`
 * (byte-identical PNGs from the version 1 and version 2 builds). */
#define V1_FLOAT_HASH 0xe4bc72a365019f8bull
#define V1_QUANT_HASH 0x7407434866f14ff8ull
Test(rbf, version_1_files_still_load) {
    const char *names[2] = {"v1-float.rbf", "v1-quantised.rbf"};
    const uint64_t want[2] = {V1_FLOAT_HASH, V1_QUANT_HASH};
    for (int i = 0; i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/tests/golden/rbf/%s", CIRCA_SOURCE_DIR, names[i]);
        size_t n;
        uint8_t *b = slurp(path, &n);
        circa_rbf *f;
        cr_assert_eq(circa_rbf_load(b, n, &f), CIRCA_OK, "%s", names[i]);
        circa_rbf_info info;
        circa_rbf_get_info(f, &info);
        cr_expect(info.width == 16 && info.kernels == 8 && !info.coarse_geometry);
        cr_expect_eq(render_hash(f), want[i], "%s renders %016llx", names[i], (unsigned long long)render_hash(f));
        b[9] |= 2; /* version 1 has no coarse-geometry bit */
        circa_rbf *g = NULL;
        cr_expect_eq(circa_rbf_load(b, n, &g), CIRCA_E_FORMAT);
        circa_rbf_free(f);
        free(b);
    }
}

/* Coarse geometry: centres at pixel centres, shapes on their lattice; the
 * file round-trips it exactly and costs fewer bytes than fine geometry. */
Test(rbf, coarse_geometry_is_on_its_lattice_and_round_trips) {
    circa_image *img = make_image(24, 20);
    circa_rbf_config cfg = small_config(20);
    circa_rbf *fine, *f;
    cr_assert_eq(circa_rbf_fit(img, &cfg, &fine), CIRCA_OK);
    cfg.coarse_geometry = 1;
    cr_assert_eq(circa_rbf_fit(img, &cfg, &f), CIRCA_OK);
    for (uint32_t k = 0; k < f->K; k++) {
        cr_expect_eq(f->cq[2 * k] % RBF_COARSE_CENTRE, RBF_COARSE_CENTRE / 2);
        cr_expect_eq(f->cq[2 * k + 1] % RBF_COARSE_CENTRE, RBF_COARSE_CENTRE / 2);
        cr_expect(f->sq[3 * k] % RBF_COARSE_LOGSIG == 0 && f->sq[3 * k + 1] % RBF_COARSE_LOGSIG == 0);
        cr_expect(f->sq[3 * k + 2] % RBF_COARSE_RHO == 0 && abs(f->sq[3 * k + 2]) <= RBF_COARSE_RHO_MAX);
    }
    for (int q = 0; q < 2; q++) {
        size_t n, nf;
        uint8_t *b = save(f, q ? 0.05 : 0, &n), *bf = save(fine, q ? 0.05 : 0, &nf);
        circa_rbf *g;
        cr_assert_eq(circa_rbf_load(b, n, &g), CIRCA_OK);
        circa_rbf_info info;
        circa_rbf_get_info(g, &info);
        cr_expect(info.coarse_geometry);
        cr_expect_arr_eq(g->cq, f->cq, (size_t)f->K * 2 * sizeof *f->cq);
        cr_expect_arr_eq(g->sq, f->sq, (size_t)f->K * 3 * sizeof *f->sq);
        if (!q) cr_expect_arr_eq(g->theta, f->theta, f->lay.total * sizeof *f->theta);
        /* geometry alone: fine costs more (the numbers differ a little) */
        if (!q) cr_expect_lt(n, nf, "coarse %zu bytes, fine %zu", n, nf);
        free(b), free(bf);
        circa_rbf_free(g);
    }
    circa_rbf_free(f), circa_rbf_free(fine);
    circa_image_free(img);
}

/* ---- upscaling ---------------------------------------------------------------- */
/* Catmull-Rom bicubic of channel c at source position (x, y), pixel centres at +0.5. */
static double cubic(double p0, double p1, double p2, double p3, double t) {
    return p1 + 0.5 * t * (p2 - p0 + t * (2 * p0 - 5 * p1 + 4 * p2 - p3 + t * (3 * (p1 - p2) + p3 - p0)));
}

static double bicubic(const circa_image *img, double x, double y, unsigned c) {
    double fx = x - 0.5, fy = y - 0.5;
    int ix = (int)floor(fx), iy = (int)floor(fy);
    double row[4];
    for (int j = 0; j < 4; j++) {
        int yy = iy - 1 + j;
        yy = yy < 0 ? 0 : yy >= (int)img->height ? (int)img->height - 1 : yy;
        double p[4];
        for (int i = 0; i < 4; i++) {
            int xx = ix - 1 + i;
            xx = xx < 0 ? 0 : xx >= (int)img->width ? (int)img->width - 1 : xx;
            p[i] = img->samples[((size_t)yy * img->width + xx) * img->channels + c];
        }
        row[j] = cubic(p[0], p[1], p[2], p[3], fx - ix);
    }
    return cubic(row[0], row[1], row[2], row[3], fy - iy);
}

Test(rbf, render_at_2x_is_a_sensible_upscale) {
    circa_image *img = make_image(32, 32);
    circa_rbf_config cfg = small_config(300);
    cfg.kernels = 96;
    circa_rbf *f;
    cr_assert_eq(circa_rbf_fit(img, &cfg, &f), CIRCA_OK);
    circa_image *big;
    cr_assert_eq(circa_rbf_render(f, 64, 64, 2, &big), CIRCA_OK);
    double se = 0, mean = 0, var = 0;
    size_t n = 64 * 64 * 3;
    for (uint32_t y = 0; y < 64; y++)
        for (uint32_t x = 0; x < 64; x++)
            for (unsigned c = 0; c < 3; c++) {
                double v = big->samples[((size_t)y * 64 + x) * 3 + c];
                double ref = bicubic(img, (x + 0.5) / 2, (y + 0.5) / 2, c);
                se += (v - ref) * (v - ref);
                mean += v;
                var += v * v;
            }
    mean /= n;
    var = var / n - mean * mean;
    double psnr = 10 * log10(255.0 * 255.0 * n / se);
    cr_expect_gt(sqrt(var), 10.0, "the upscale is flat (std %.2f)", sqrt(var));
    cr_expect_gt(psnr, 28.0, "2x render vs bicubic: %.2f dB", psnr);
    circa_image_free(big);
    circa_rbf_free(f);
    circa_image_free(img);
}

/* The L1 term shrinks the kernel weights and leaves the rest of the fit
 * working; a negative or huge weight of it is refused. */
Test(rbf, l1_term_shrinks_kernel_weights) {
    circa_image *img = make_image(24, 20);
    double mean[2], psnr[2];
    for (int k = 0; k < 2; k++) {
        circa_rbf_config cfg = small_config(150);
        cfg.l1_weights = k ? 1e-3 : 0;
        circa_rbf *f;
        cr_assert_eq(circa_rbf_fit(img, &cfg, &f), CIRCA_OK);
        mean[k] = mean_abs_weight(f), psnr[k] = circa_rbf_psnr(f, img, 1);
        circa_rbf_free(f);
    }
    cr_expect_lt(mean[1], 0.7 * mean[0], "mean |w| %g with L1, %g without", mean[1], mean[0]);
    cr_expect_gt(psnr[1], 25.0, "PSNR %.2f dB with L1 (%.2f without)", psnr[1], psnr[0]);
    circa_rbf_config bad = small_config(5);
    circa_rbf *f = NULL;
    bad.l1_weights = -1e-6;
    cr_expect_eq(circa_rbf_fit(img, &bad, &f), CIRCA_E_PARAM);
    bad.l1_weights = 1;
    cr_expect_eq(circa_rbf_fit(img, &bad, &f), CIRCA_E_PARAM);
    circa_image_free(img);
}

Test(rbf, codec_meets_its_bit_budget) {
    circa_image *img = make_image(48, 40);
    circa_rbf_config cfg = circa_rbf_config_default();
    cfg.steps = 200;
    cfg.threads = 2;
    circa_rbf *f;
    double q = 0, bpp = 8;
    cr_assert_eq(circa_rbf_fit_rate(img, &cfg, bpp, &f, &q), CIRCA_OK);
    cr_assert_gt(q, 0);
    size_t n;
    uint8_t *buf = save(f, q, &n);
    cr_expect_leq(n, (size_t)(bpp * 48 * 40 / 8), "%zu bytes for a %.0f-byte budget", n, bpp * 48 * 40 / 8);
    circa_rbf *g;
    cr_assert_eq(circa_rbf_load(buf, n, &g), CIRCA_OK);
    double psnr = circa_rbf_psnr(g, img, 1);
    cr_expect_gt(psnr, 25.0, "codec PSNR %.2f dB at %.2f bpp", psnr, 8.0 * n / (48 * 40));
    free(buf);
    circa_rbf_free(g);
    circa_rbf_free(f);
    circa_image_free(img);
}

static void last_step(void *ctx, unsigned step, double psnr, double seconds) {
    (void)psnr, (void)seconds;
    *(unsigned *)ctx = step;
}

/* A codec fit without a chosen batch runs 4x the steps on a quarter of the
 * pixels (the same pixel visits); a chosen batch is kept as given. Either
 * way the refinement against rounding follows. */
Test(rbf, codec_splits_the_default_batch) {
    circa_image *img = make_image(48, 40);
    for (int chosen = 0; chosen < 2; chosen++) {
        circa_rbf_config cfg = circa_rbf_config_default();
        cfg.steps = 30;
        cfg.batch = chosen ? 480 : 0;
        cfg.progress = last_step;
        unsigned last = 0;
        cfg.progress_ctx = &last;
        circa_rbf *f;
        double q;
        cr_assert_eq(circa_rbf_fit_rate(img, &cfg, 8, &f, &q), CIRCA_OK);
        /* ...then a tenth as many again against rounding noise. */
        unsigned fit = chosen ? 30u : 30u * CIRCA_RBF_CODEC_BATCH_SPLIT;
        cr_expect_eq(last, fit + fit / CIRCA_RBF_CODEC_REFINE_DIV, "batch %u: %u steps", cfg.batch, last);
        circa_rbf_free(f);
    }
    circa_image_free(img);
}

/* PSNR of f's numbers rounded at base step q (f is left as it was). */
static double rounded_psnr(const circa_rbf *f, const circa_image *img, double q) {
    size_t n;
    uint8_t *buf = save(f, q, &n);
    circa_rbf *g;
    cr_assert_eq(circa_rbf_load(buf, n, &g), CIRCA_OK);
    double psnr = circa_rbf_psnr(g, img, 1);
    circa_rbf_free(g);
    free(buf);
    return psnr;
}

/* Training against rounding noise of a coarse step leaves numbers whose
 * rounding at that step costs less than the plain fit's. */
Test(rbf, noisy_refinement_makes_rounding_cheaper) {
    circa_image *img = make_image(32, 32);
    circa_rbf_config cfg = small_config(400);
    cfg.kernels = 64;
    circa_rbf *f;
    cr_assert_eq(circa_rbf_fit(img, &cfg, &f), CIRCA_OK);
    const double q = 0.1;
    double plain = rounded_psnr(f, img, q), exact = circa_rbf_psnr(f, img, 1);
    float steps[RBF_GROUPS];
    circa_rbf__group_steps(f, q, steps);
    cr_assert_eq(circa_rbf__refine_noisy(f, img, &cfg, steps, 200, 0.2), CIRCA_OK);
    double refined = rounded_psnr(f, img, q);
    cr_expect_gt(refined, plain + 3, "rounded: %.2f dB refined, %.2f plain (%.2f exact)", refined, plain, exact);
    cr_expect_eq(circa_rbf__refine_noisy(f, img, &cfg, steps, 10, 0), CIRCA_E_PARAM);
    circa_rbf_free(f);
    circa_image_free(img);
}

Test(rbf, bad_sizes_are_refused) {
    circa_image *img = make_image(8, 8);
    circa_rbf_config cfg = small_config(1);
    cfg.kernels = 0, cfg.params = 10; /* too small for 4 kernels */
    circa_rbf *f = (circa_rbf *)1;
    cr_expect_eq(circa_rbf_fit(img, &cfg, &f), CIRCA_E_PARAM);
    cr_expect_null(f);
    cfg = small_config(1);
    cfg.hidden = 12; /* not a multiple of 8 */
    cr_expect_eq(circa_rbf_fit(img, &cfg, &f), CIRCA_E_PARAM);
    circa_image_free(img);
}
