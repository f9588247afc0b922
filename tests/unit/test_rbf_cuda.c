/* test_rbf_cuda.c: RBF image fields on the GPU (include/circa/rbf.h, section
 * 6). Everywhere: without a device (or without CUDA support) the entry
 * points refuse with CIRCA_E_DEVICE (or CIRCA_E_UNSUPPORTED) and touch
 * nothing, and bad arguments are refused. With a device (skipped cleanly
 * otherwise, as tests/unit/test_cuda.c): renders within 1 LSB of
 * circa_rbf_render at several sizes, gradients within 1e-3 relative L2 of
 * circa_rbf__loss_grad (small and largest F and H, partial warps, many
 * blocks), and GPU fits of the same geometry and about the same PSNR as
 * the CPU's (GPU fits are not bit-reproducible: float atomics). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "circa/cuda.h"
#include "circa/rbf.h"
#include "models/rbf/rbf_internal.h"
#include "rbf_fixtures.h"

static uint64_t rng = 0x13198A2E03707344ull;
static double unit(void) { return rbf_rand_unit(&rng); }

static circa_rbf *fit_cpu(const circa_image *img, const circa_rbf_config *cfg) {
    circa_rbf *f;
    cr_assert_eq(circa_rbf_fit(img, cfg, &f), CIRCA_OK);
    return f;
}

/* What every entry point must return when it cannot run here. */
static circa_status refusal(void) {
    return circa_cuda_compiled() ? CIRCA_E_DEVICE : CIRCA_E_UNSUPPORTED;
}

/* ---- everywhere ---------------------------------------------------------------- */
Test(rbf_cuda, without_a_device_every_entry_refuses) {
    if (circa_cuda_available()) cr_skip_test("a CUDA device is present");
    circa_image *img = make_image(24, 20);
    circa_rbf_config cfg = small_config(1);
    circa_rbf *f = fit_cpu(img, &cfg);
    circa_image *out = (circa_image *)&out;
    circa_status st = circa_rbf_render_cuda(f, 24, 20, &out);
    cr_assert_eq(st, refusal(), "render: status %d", (int)st);
    cr_assert_null(out);
    size_t P = f->lay.total;
    float *grad = calloc(P, sizeof *grad);
    float xy[8] = {1, 1, 5.5f, 7.25f, 23, 19, 12, 10}, tg[12] = {0.5f};
    double mse = -1;
    st = circa_rbf_loss_grad_cuda(f, 4, xy, tg, grad, &mse);
    cr_assert_eq(st, refusal(), "loss_grad: status %d", (int)st);
    cr_assert_eq(mse, -1);
    for (size_t i = 0; i < P; i++) cr_assert_eq(grad[i], 0.0f);
    circa_rbf *g = (circa_rbf *)&g;
    st = circa_rbf_fit_cuda(img, &cfg, &g);
    cr_assert_eq(st, refusal(), "fit: status %d", (int)st);
    cr_assert_null(g);
    free(grad);
    circa_rbf_free(f);
    circa_image_free(img);
}

Test(rbf_cuda, bad_arguments_are_refused) {
    /* a CUDA build checks arguments before looking for a device */
    circa_status want = circa_cuda_compiled() ? CIRCA_E_PARAM : CIRCA_E_UNSUPPORTED;
    circa_image *out = (circa_image *)&out;
    cr_assert_eq(circa_rbf_render_cuda(NULL, 8, 8, &out), want);
    cr_assert_null(out);
    float xy[2] = {1, 1}, tg[3] = {0}, grad[4] = {0};
    cr_assert_eq(circa_rbf_loss_grad_cuda(NULL, 1, xy, tg, grad, NULL), want);
    circa_rbf *f = (circa_rbf *)&f;
    circa_rbf_config cfg = small_config(1);
    cr_assert_eq(circa_rbf_fit_cuda(NULL, &cfg, &f), want);
    cr_assert_null(f);
    circa_image *img = make_image(8, 8);
    cr_assert_eq(circa_rbf_fit_cuda(img, NULL, &f), want);
    cr_assert_eq(circa_rbf_fit_cuda(img, &cfg, NULL), want);
    circa_image_free(img);
}

/* ---- with a device --------------------------------------------------------------- */
static void compare_render(const circa_rbf *f, uint32_t w, uint32_t h) {
    circa_image *cpu, *gpu;
    cr_assert_eq(circa_rbf_render(f, w, h, 2, &cpu), CIRCA_OK);
    circa_status st = circa_rbf_render_cuda(f, w, h, &gpu);
    cr_assert_eq(st, CIRCA_OK, "render_cuda %ux%u: status %d", w, h, (int)st);
    cr_assert_eq(gpu->width, w);
    cr_assert_eq(gpu->height, h);
    cr_assert_eq(gpu->channels, cpu->channels);
    cr_assert_eq(gpu->depth, cpu->depth);
    size_t n = (size_t)w * h * cpu->channels, exact = 0;
    for (size_t i = 0; i < n; i++) {
        int d = (int)gpu->samples[i] - (int)cpu->samples[i];
        cr_assert(d >= -1 && d <= 1, "%ux%u sample %zu: GPU %u, CPU %u", w, h, i,
                  gpu->samples[i], cpu->samples[i]);
        exact += d == 0;
    }
    cr_log_info("render %ux%u: %zu of %zu samples identical", w, h, exact, n);
    circa_image_free(cpu);
    circa_image_free(gpu);
}

Test(rbf_cuda, render_matches_cpu) {
    if (!circa_cuda_available()) cr_skip_test("no CUDA device");
    circa_image *img = make_image(32, 28);
    circa_rbf_config cfg = small_config(120);
    circa_rbf *f = fit_cpu(img, &cfg);
    compare_render(f, 32, 28);  /* the fitted size */
    compare_render(f, 57, 41);  /* stretched */
    compare_render(f, 13, 9);   /* shrunk */
    compare_render(f, 700, 3);  /* more positions than one block's worth per row */
    circa_rbf_free(f);
    circa_image_free(img);
}

/* GPU against CPU gradient of n random points; grad starts non-zero in both
 * so that accumulation is checked too. */
static void compare_gradient(const circa_rbf *f, size_t n) {
    size_t P = f->lay.total;
    unsigned C = f->channels;
    float *xy = malloc(n * 2 * sizeof *xy), *tg = malloc(n * C * sizeof *tg);
    float *g0 = malloc(P * sizeof *g0), *gc = malloc(P * sizeof *gc), *gg = malloc(P * sizeof *gg);
    cr_assert(xy && tg && g0 && gc && gg);
    for (size_t i = 0; i < n; i++) {
        xy[2 * i] = (float)(unit() * f->width), xy[2 * i + 1] = (float)(unit() * f->height);
        for (unsigned c = 0; c < C; c++) tg[i * C + c] = (float)unit();
    }
    for (size_t i = 0; i < P; i++) g0[i] = (float)(unit() - 0.5) * 1e-3f;
    memcpy(gc, g0, P * sizeof *gc);
    memcpy(gg, g0, P * sizeof *gg);
    double mse_cpu = circa_rbf__loss_grad(f, f->theta, n, xy, tg, gc), mse_gpu = -1;
    circa_status st = circa_rbf_loss_grad_cuda(f, n, xy, tg, gg, &mse_gpu);
    cr_assert_eq(st, CIRCA_OK, "loss_grad_cuda: status %d", (int)st);
    cr_assert(fabs(mse_gpu - mse_cpu) <= 1e-6 * mse_cpu, "mse GPU %.9g CPU %.9g", mse_gpu, mse_cpu);
    double num = 0, den = 0;
    for (size_t i = 0; i < P; i++) {
        double dc = (double)gc[i] - g0[i], dg = (double)gg[i] - g0[i];
        num += (dg - dc) * (dg - dc);
        den += dc * dc;
    }
    cr_assert_gt(den, 0);
    double rel = sqrt(num / den);
    cr_log_info("gradient F=%u H=%u n=%zu: relative L2 error %.3g", f->F, f->H, n, rel);
    cr_assert_lt(rel, 1e-3, "F=%u H=%u n=%zu: relative L2 error %g", f->F, f->H, n, rel);
    free(xy), free(tg), free(g0), free(gc), free(gg);
}

Test(rbf_cuda, gradient_matches_cpu) {
    if (!circa_cuda_available()) cr_skip_test("no CUDA device");
    circa_image *img = make_image(32, 28);
    circa_rbf_config cfg = small_config(120);
    circa_rbf *f = fit_cpu(img, &cfg);
    compare_gradient(f, 1);     /* one live lane */
    compare_gradient(f, 1003);  /* a partial last warp */
    compare_gradient(f, 20011); /* many blocks, grid-stride loop */
    circa_rbf_free(f);
    circa_image_free(img);
}

Test(rbf_cuda, gradient_matches_cpu_default_and_largest_sizes) {
    if (!circa_cuda_available()) cr_skip_test("no CUDA device");
    circa_image *img = make_image(40, 36);
    unsigned sizes[2][2] = {{32, 64}, {CIRCA_RBF_FEATURES_MAX, CIRCA_RBF_HIDDEN_MAX}};
    for (int t = 0; t < 2; t++) {
        circa_rbf_config cfg = small_config(1);
        cfg.kernels = 120;
        cfg.features = sizes[t][0];
        cfg.hidden = sizes[t][1];
        cfg.grid_base = 16;
        cfg.grid_fine = 20;
        circa_rbf *f = fit_cpu(img, &cfg);
        /* numbers off their tiny initial values, so that every path carries weight */
        for (size_t i = 0; i < f->lay.total; i++) f->theta[i] = (float)(unit() - 0.5) * 0.2f;
        compare_gradient(f, 777);
        circa_rbf_free(f);
    }
    circa_image_free(img);
}

typedef struct progress_log {
    unsigned calls, last_step;
    double last_psnr;
} progress_log;

static void on_progress(void *ctx, unsigned step, double psnr, double seconds) {
    (void)seconds;
    progress_log *p = ctx;
    p->calls++, p->last_step = step, p->last_psnr = psnr;
}

Test(rbf_cuda, fit_matches_cpu_quality) {
    if (!circa_cuda_available()) cr_skip_test("no CUDA device");
    circa_image *img = make_image(32, 28);
    for (int t = 0; t < 2; t++) {
        circa_rbf_config cfg = small_config(200);
        cfg.batch = t == 0 ? 0 : 300; /* the whole image, then stratified batches */
        cfg.l1_weights = t == 0 ? 0 : 1e-4; /* and the L1 term on the kernel weights */
        cfg.progress_every = 50;
        progress_log pc = {0}, pg = {0};
        cfg.progress = on_progress, cfg.progress_ctx = &pc;
        circa_rbf *fc = fit_cpu(img, &cfg);
        cfg.progress_ctx = &pg;
        circa_rbf *fg;
        circa_status st = circa_rbf_fit_cuda(img, &cfg, &fg);
        cr_assert_eq(st, CIRCA_OK, "fit_cuda: status %d", (int)st);
        /* the same initialisation: identical geometry and sizes */
        circa_rbf_info ic, ig;
        circa_rbf_get_info(fc, &ic);
        circa_rbf_get_info(fg, &ig);
        cr_assert_eq(memcmp(&ic, &ig, sizeof ic), 0);
        cr_assert_eq(memcmp(fc->cq, fg->cq, (size_t)fc->K * 2 * sizeof *fc->cq), 0);
        cr_assert_eq(memcmp(fc->sq, fg->sq, (size_t)fc->K * 3 * sizeof *fc->sq), 0);
        cr_assert_eq(pg.calls, pc.calls);
        cr_assert_eq(pg.last_step, 200);
        double psnr_c = circa_rbf_psnr(fc, img, 2), psnr_g = circa_rbf_psnr(fg, img, 2);
        cr_log_info("fit batch %u: PSNR CPU %.2f dB, GPU %.2f dB (batch PSNR %.2f / %.2f)",
                    cfg.batch, psnr_c, psnr_g, pc.last_psnr, pg.last_psnr);
        cr_assert_gt(psnr_c, 20);
        cr_assert(fabs(psnr_g - psnr_c) < 1.0, "PSNR GPU %.2f, CPU %.2f", psnr_g, psnr_c);
        double wc = mean_abs_weight(fc), wg = mean_abs_weight(fg);
        cr_log_info("mean |kernel weight|: CPU %.4g, GPU %.4g", wc, wg);
        cr_expect(fabs(wg - wc) < 0.1 * wc, "mean |kernel weight| GPU %g, CPU %g", wg, wc);
        /* the fitted field renders the same on either side */
        compare_render(fg, 32, 28);
        circa_rbf_free(fc);
        circa_rbf_free(fg);
    }
    circa_image_free(img);
}
