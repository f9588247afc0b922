/* test_nn.c: the nn room: every op's forward and backward against PyTorch
 * fixtures and against finite differences, Adam and clipping, SI-SNR/PIT,
 * and weight-file validation. */
#include "nn_fixtures.h"

/* ---- conv1d ------------------------------------------------------------------------- */
typedef struct conv_t {
    circa_nn_conv1d c;
    int batch, tin;
    float *x, *w, *b;
} conv_t;

static void conv_fwd(const void *ctx, float *y) {
    const conv_t *k = ctx;
    cr_assert_eq(circa_nn_conv1d_forward(&k->c, k->batch, k->tin, k->x, k->w, k->b, y), CIRCA_OK);
}

Test(nn, conv1d_matches_torch) {
    circa_nn_weights *w = fixture_open("ops.cnn");
    double worst = 0;
    for (int i = 0; i < 5; i++) {
        char tag[32], nm[48];
        snprintf(tag, sizeof tag, "conv%d", i);
        snprintf(nm, sizeof nm, "%s.cfg", tag);
        const int32_t *g = fxi(w, nm);
        circa_nn_conv1d c = {g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], 1};
        int batch = g[8], tin = g[9], tout = circa_nn_conv1d_out_len(&c, tin);
        size_t nx = (size_t)batch * c.cin * tin, ny = (size_t)batch * c.cout * tout;
        size_t nw = (size_t)c.cout * (c.cin / c.groups) * c.k;
#define R(s) (snprintf(nm, sizeof nm, "%s." s, tag), fx(w, nm, NULL))
        const float *x = R("x"), *wt = R("w"), *b = R("b"), *dy = R("dy");
        float *y = zeros(ny), *dx = zeros(nx), *dw = zeros(nw), *db = zeros((size_t)c.cout);
        fprintf(stderr, "%s\n", tag);
        cr_assert_eq(circa_nn_conv1d_forward(&c, batch, tin, x, wt, b, y), CIRCA_OK);
        cr_assert_eq(circa_nn_conv1d_backward(&c, batch, tin, x, wt, dy, dx, dw, db), CIRCA_OK);
        snprintf(nm, sizeof nm, "%s.y", tag); worst = fmax(worst, check_rec(w, nm, y, ny));
        snprintf(nm, sizeof nm, "%s.dx", tag); worst = fmax(worst, check_rec(w, nm, dx, nx));
        snprintf(nm, sizeof nm, "%s.dw", tag); worst = fmax(worst, check_rec(w, nm, dw, nw));
        snprintf(nm, sizeof nm, "%s.db", tag); worst = fmax(worst, check_rec(w, nm, db, (size_t)c.cout));
#undef R
        free(y); free(dx); free(dw); free(db);
    }
    fprintf(stderr, "conv1d: max rel err %.3g\n", worst);
    circa_nn_weights_free(w);
}

Test(nn, conv1d_finite_differences) {
    static const circa_nn_conv1d cases[] = {
        {3, 4, 3, 1, 1, 1, 1, 1, 1}, {4, 4, 3, 1, 2, 4, 0, 4, 1},
        {4, 6, 5, 2, 2, 3, 2, 2, 1}, {2, 3, 1, 1, 1, 0, 0, 1, 1},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        conv_t k = {cases[ci], 2, 13, NULL, NULL, NULL};
        int tout = circa_nn_conv1d_out_len(&k.c, k.tin);
        cr_assert(tout > 0);
        size_t nx = (size_t)k.batch * k.c.cin * k.tin, ny = (size_t)k.batch * k.c.cout * tout;
        size_t nw = (size_t)k.c.cout * (k.c.cin / k.c.groups) * k.c.k;
        k.x = rand_vec(nx); k.w = rand_vec(nw); k.b = rand_vec((size_t)k.c.cout);
        float *dy = rand_vec(ny), *dx = zeros(nx), *dw = zeros(nw), *db = zeros((size_t)k.c.cout);
        cr_assert_eq(circa_nn_conv1d_backward(&k.c, k.batch, k.tin, k.x, k.w, dy, dx, dw, db), CIRCA_OK);
        fd_op op = {conv_fwd, &k, ny, dy};
        double ex = fd_check(&op, k.x, nx, dx, 1e-2f), ew = fd_check(&op, k.w, nw, dw, 1e-2f);
        double eb = fd_check(&op, k.b, (size_t)k.c.cout, db, 1e-2f);
        fprintf(stderr, "conv fd case %zu: dx %.3g dw %.3g db %.3g\n", ci, ex, ew, eb);
        cr_expect(ex < FD_TOL && ew < FD_TOL && eb < FD_TOL, "conv case %zu", ci);
        free(k.x); free(k.w); free(k.b); free(dy); free(dx); free(dw); free(db);
    }
}

Test(nn, conv1d_threads_give_identical_results) {
    circa_nn_conv1d c1 = {32, 32, 3, 1, 2, 2, 2, 1, 1}, c4 = c1;
    c4.threads = 4;
    int batch = 2, tin = 200, tout = circa_nn_conv1d_out_len(&c1, tin);
    size_t nx = (size_t)batch * 32 * tin, ny = (size_t)batch * 32 * tout, nw = 32 * 32 * 3;
    float *x = rand_vec(nx), *w = rand_vec(nw), *b = rand_vec(32), *dy = rand_vec(ny);
    float *y1 = zeros(ny), *y4 = zeros(ny), *dx1 = zeros(nx), *dx4 = zeros(nx);
    float *dw1 = zeros(nw), *dw4 = zeros(nw);
    cr_assert_eq(circa_nn_conv1d_forward(&c1, batch, tin, x, w, b, y1), CIRCA_OK);
    cr_assert_eq(circa_nn_conv1d_forward(&c4, batch, tin, x, w, b, y4), CIRCA_OK);
    cr_assert_eq(circa_nn_conv1d_backward(&c1, batch, tin, x, w, dy, dx1, dw1, NULL), CIRCA_OK);
    cr_assert_eq(circa_nn_conv1d_backward(&c4, batch, tin, x, w, dy, dx4, dw4, NULL), CIRCA_OK);
    cr_expect_arr_eq(y1, y4, ny * sizeof *y1);
    cr_expect_arr_eq(dx1, dx4, nx * sizeof *dx1);
    cr_expect_arr_eq(dw1, dw4, nw * sizeof *dw1);
    free(x); free(w); free(b); free(dy); free(y1); free(y4); free(dx1); free(dx4); free(dw1); free(dw4);
    /* The decoder's transposed conv too. */
    circa_nn_tconv1d t1 = {64, 2, 16, 8, 1}, t4 = {64, 2, 16, 8, 4};
    int kin = 300, kout = circa_nn_tconv1d_out_len(&t1, kin);
    size_t tx = (size_t)batch * 64 * kin, ty = (size_t)batch * 2 * kout, tw = 64 * 2 * 16;
    x = rand_vec(tx); w = rand_vec(tw); dy = rand_vec(ty);
    y1 = zeros(ty); y4 = zeros(ty); dx1 = zeros(tx); dx4 = zeros(tx); dw1 = zeros(tw); dw4 = zeros(tw);
    cr_assert_eq(circa_nn_tconv1d_forward(&t1, batch, kin, x, w, NULL, y1), CIRCA_OK);
    cr_assert_eq(circa_nn_tconv1d_forward(&t4, batch, kin, x, w, NULL, y4), CIRCA_OK);
    cr_assert_eq(circa_nn_tconv1d_backward(&t1, batch, kin, x, w, dy, dx1, dw1, NULL), CIRCA_OK);
    cr_assert_eq(circa_nn_tconv1d_backward(&t4, batch, kin, x, w, dy, dx4, dw4, NULL), CIRCA_OK);
    cr_expect_arr_eq(y1, y4, ty * sizeof *y1);
    cr_expect_arr_eq(dx1, dx4, tx * sizeof *dx1);
    cr_expect_arr_eq(dw1, dw4, tw * sizeof *dw1);
    free(x); free(w); free(dy); free(y1); free(y4); free(dx1); free(dx4); free(dw1); free(dw4);
}

Test(nn, conv1d_rejects_bad_descriptors) {
    circa_nn_conv1d bad_groups = {4, 6, 3, 1, 1, 0, 0, 4, 1}, too_short = {1, 1, 5, 1, 2, 0, 0, 1, 1};
    float x[16] = {0}, w[64] = {0}, y[64];
    cr_expect_eq(circa_nn_conv1d_out_len(&bad_groups, 8), 0);
    cr_expect_eq(circa_nn_conv1d_forward(&bad_groups, 1, 8, x, w, NULL, y), CIRCA_E_PARAM);
    cr_expect_eq(circa_nn_conv1d_out_len(&too_short, 8), 0); /* span 9 > 8 */
    circa_nn_tconv1d tz = {0, 1, 2, 1, 1};
    cr_expect_eq(circa_nn_tconv1d_forward(&tz, 1, 4, x, w, NULL, y), CIRCA_E_PARAM);
}

/* ---- fast paths against plain loops ------------------------------------------------------
 * The convs run as blocked matrix products (1x1 convs directly, other convs
 * with several inputs per group on an im2col copy, transposed convs as a
 * product and an overlap-add) or as row loops (depthwise). These plain
 * double-precision loops are the definition; every path must match them on
 * odd shapes (tails of the 8-frame vectors and of the 4-row tiles, several
 * 256-frame chunks), give the same bits at 1 and 3 threads, and accumulate
 * into dx, dw, db. */
#define FAST_TOL 1e-5

static void ref_conv(const circa_nn_conv1d *c, int batch, int tin, int tout, const float *x,
                     const float *w, const float *bias, const float *dy, double *y, double *dx,
                     double *dw, double *db) {
    int cig = c->cin / c->groups, cog = c->cout / c->groups;
    for (int b = 0; b < batch; b++)
        for (int o = 0; o < c->cout; o++)
            for (int t = 0; t < tout; t++) {
                size_t yi = ((size_t)b * c->cout + o) * tout + t;
                double acc = bias ? bias[o] : 0.0;
                for (int il = 0; il < cig; il++) {
                    int i = o / cog * cig + il;
                    for (int j = 0; j < c->k; j++) {
                        long p = (long)t * c->stride + (long)j * c->dilation - c->pad_left;
                        if (p < 0 || p >= tin) continue;
                        size_t xi = ((size_t)b * c->cin + i) * tin + p, wi = ((size_t)o * cig + il) * c->k + j;
                        acc += (double)w[wi] * x[xi];
                        dx[xi] += (double)w[wi] * dy[yi];
                        dw[wi] += (double)x[xi] * dy[yi];
                    }
                }
                y[yi] = acc;
                db[o] += dy[yi];
            }
}

static void ref_tconv(const circa_nn_tconv1d *c, int batch, int tin, int tout, const float *x,
                      const float *w, const float *bias, const float *dy, double *y, double *dx,
                      double *dw, double *db) {
    for (int b = 0; b < batch; b++) {
        for (int o = 0; o < c->cout; o++)
            for (int t = 0; t < tout; t++) {
                y[((size_t)b * c->cout + o) * tout + t] = bias[o];
                db[o] += dy[((size_t)b * c->cout + o) * tout + t];
            }
        for (int i = 0; i < c->cin; i++)
            for (int o = 0; o < c->cout; o++)
                for (int t = 0; t < tin; t++)
                    for (int j = 0; j < c->k; j++) {
                        size_t xi = ((size_t)b * c->cin + i) * tin + t, wi = ((size_t)i * c->cout + o) * c->k + j;
                        size_t yi = ((size_t)b * c->cout + o) * tout + (size_t)t * c->stride + j;
                        y[yi] += (double)w[wi] * x[xi];
                        dx[xi] += (double)w[wi] * dy[yi];
                        dw[wi] += (double)x[xi] * dy[yi];
                    }
    }
}

/* init + d (the reference gradient) as floats, to compare with rel_err. */
static float *plus(const float *init, const double *d, size_t n) {
    float *r = zeros(n);
    for (size_t i = 0; i < n; i++) r[i] = (float)((init ? init[i] : 0.0) + d[i]);
    return r;
}

static double *dzeros(size_t n) {
    double *v = calloc(n ? n : 1, sizeof *v);
    cr_assert(v);
    return v;
}

static float *copy_vec(const float *v, size_t n) {
    float *r = zeros(n);
    memcpy(r, v, n * sizeof *r);
    return r;
}

/* One layer's forward then backward pass (conv or transposed conv). */
typedef circa_status (*layer_pass)(const void *c, int batch, int tin, const float *const in[7], float *y,
                                   float *dx, float *dw, float *db);

static circa_status conv_pass(const void *c, int batch, int tin, const float *const in[7], float *y, float *dx,
                              float *dw, float *db) {
    circa_status st = circa_nn_conv1d_forward(c, batch, tin, in[0], in[1], in[2], y);
    return st != CIRCA_OK ? st : circa_nn_conv1d_backward(c, batch, tin, in[0], in[1], in[3], dx, dw, db);
}

static circa_status tconv_pass(const void *c, int batch, int tin, const float *const in[7], float *y, float *dx,
                               float *dw, float *db) {
    circa_status st = circa_nn_tconv1d_forward(c, batch, tin, in[0], in[1], in[2], y);
    return st != CIRCA_OK ? st : circa_nn_tconv1d_backward(c, batch, tin, in[0], in[1], in[3], dx, dw, db);
}

/* Runs a layer at 1 and 3 threads (in: x, w, b, dy, then the dx, dw, db the
 * gradients accumulate into), checks y, dx, dw, db (sizes[]) against the
 * plain-loop reference want[] and the two runs against each other bit for
 * bit; keep[] receives the 1-thread results (the caller frees them).
 * Returns the largest relative error. */
static double check_threads(const char *kind, size_t ci, layer_pass pass, const void *c, unsigned *threads,
                            int batch, int tin, const float *const in[7], const float *const want[4],
                            const size_t sizes[4], float *keep[4]) {
    double worst = 0;
    for (unsigned th = 1; th <= 3; th += 2) {
        *threads = th;
        float *out[4] = {zeros(sizes[0]), copy_vec(in[4], sizes[1]), copy_vec(in[5], sizes[2]),
                         copy_vec(in[6], sizes[3])};
        cr_assert_eq(pass(c, batch, tin, in, out[0], out[1], out[2], out[3]), CIRCA_OK);
        for (int q = 0; q < 4; q++) {
            double e = rel_err(out[q], want[q], sizes[q]);
            cr_expect(e < FAST_TOL, "%s case %zu threads %u tensor %d: %g", kind, ci, th, q, e);
            worst = fmax(worst, e);
        }
        for (int q = 0; q < 4; q++) {
            if (th == 1) {
                keep[q] = out[q];
                continue;
            }
            cr_expect_arr_eq(out[q], keep[q], sizes[q] * sizeof *out[q], "%s case %zu: tensor %d differs with threads",
                             kind, ci, q);
            free(out[q]);
        }
    }
    return worst;
}

Test(nn, conv1d_fast_paths_match_plain_loops) {
    typedef struct { circa_nn_conv1d c; int batch, tin; } shape;
    static const shape cases[] = {
        {{5, 7, 1, 1, 1, 0, 0, 1, 0}, 2, 301},     /* 1x1, odd sizes, two chunks */
        {{64, 128, 1, 1, 1, 0, 0, 1, 0}, 1, 523},  /* 1x1, the model's size */
        {{67, 9, 1, 1, 1, 0, 0, 1, 0}, 3, 259},    /* 1x1, K % 4 = 3, M % 4 = 1 */
        {{6, 9, 1, 1, 1, 0, 0, 3, 0}, 3, 777},     /* 1x1 in 3 groups */
        {{3, 1, 1, 1, 1, 0, 0, 1, 0}, 2, 13},      /* 1x1, one output, short */
        {{8, 5, 1, 1, 1, 2, 1, 1, 0}, 2, 50},      /* k = 1 with padding: im2col */
        {{1, 16, 16, 8, 1, 0, 0, 1, 0}, 2, 8008},  /* the encoder: stride 8 */
        {{1, 13, 16, 8, 1, 0, 0, 1, 0}, 3, 600},   /* encoder-like, odd out */
        {{16, 24, 5, 3, 2, 3, 2, 2, 0}, 2, 2001},  /* stride 3, dilation 2, groups 2, pads */
        {{32, 32, 3, 1, 2, 2, 2, 1, 0}, 2, 517},   /* dilated, centred */
        {{64, 64, 3, 1, 4, 8, 0, 64, 0}, 2, 1203}, /* depthwise causal, dilation 4 */
        {{9, 9, 3, 1, 2, 2, 2, 9, 0}, 2, 301},     /* depthwise centred */
        {{6, 6, 4, 2, 1, 1, 2, 6, 0}, 2, 99},      /* depthwise, stride 2 */
        {{4, 4, 3, 1, 3, 2, 4, 4, 0}, 2, 6},       /* depthwise, no frame sees every tap */
        {{4, 4, 3, 1, 4, 9, 9, 4, 0}, 2, 7},       /* depthwise, padding wider than the input */
        {{5, 5, 5, 1, 2, 8, 0, 5, 0}, 2, 40},      /* depthwise k = 5 causal */
        {{4, 8, 3, 1, 1, 1, 1, 4, 0}, 3, 71},      /* 1 input, 2 outputs per group */
        {{1, 5, 2, 1, 1, 0, 0, 1, 0}, 2, 40},      /* cin*k < 4: row loops */
    };
    double worst = 0;
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        circa_nn_conv1d c = cases[ci].c;
        int batch = cases[ci].batch, tin = cases[ci].tin, tout = circa_nn_conv1d_out_len(&c, tin);
        cr_assert(tout > 0, "case %zu", ci);
        size_t nx = (size_t)batch * c.cin * tin, ny = (size_t)batch * c.cout * tout;
        size_t nw = (size_t)c.cout * (c.cin / c.groups) * c.k, nb = (size_t)c.cout;
        float *x = rand_vec(nx), *w = rand_vec(nw), *b = rand_vec(nb), *dy = rand_vec(ny);
        float *dx0 = rand_vec(nx), *dw0 = rand_vec(nw), *db0 = rand_vec(nb); /* accumulated into */
        double *ry = dzeros(ny), *rdx = dzeros(nx), *rdw = dzeros(nw), *rdb = dzeros(nb);
        ref_conv(&c, batch, tin, tout, x, w, b, dy, ry, rdx, rdw, rdb);
        float *ey = plus(NULL, ry, ny), *edx = plus(dx0, rdx, nx), *edw = plus(dw0, rdw, nw);
        float *edb = plus(db0, rdb, nb);
        float *keep[4];
        const float *in[7] = {x, w, b, dy, dx0, dw0, db0}, *want[4] = {ey, edx, edw, edb};
        size_t sizes[4] = {ny, nx, nw, nb};
        worst = fmax(worst, check_threads("conv", ci, conv_pass, &c, &c.threads, batch, tin, in, want, sizes, keep));
        /* Gradients requested one at a time give the same bits. */
        float *dw2 = copy_vec(dw0, nw), *db2 = copy_vec(db0, nb), *dx2 = copy_vec(dx0, nx);
        cr_assert_eq(circa_nn_conv1d_backward(&c, batch, tin, x, w, dy, NULL, dw2, NULL), CIRCA_OK);
        cr_assert_eq(circa_nn_conv1d_backward(&c, batch, tin, NULL, w, dy, NULL, NULL, db2), CIRCA_OK);
        cr_assert_eq(circa_nn_conv1d_backward(&c, batch, tin, NULL, w, dy, dx2, NULL, NULL), CIRCA_OK);
        cr_expect_arr_eq(dw2, keep[2], nw * sizeof *dw2, "conv case %zu: dw alone", ci);
        cr_expect_arr_eq(db2, keep[3], nb * sizeof *db2, "conv case %zu: db alone", ci);
        cr_expect_arr_eq(dx2, keep[1], nx * sizeof *dx2, "conv case %zu: dx alone", ci);
        for (int q = 0; q < 4; q++) free(keep[q]);
        free(dw2); free(db2); free(dx2);
        free(x); free(w); free(b); free(dy); free(dx0); free(dw0); free(db0);
        free(ry); free(rdx); free(rdw); free(rdb); free(ey); free(edx); free(edw); free(edb);
    }
    fprintf(stderr, "conv1d fast paths vs plain loops: max rel err %.3g\n", worst);
}

Test(nn, tconv1d_fast_paths_match_plain_loops) {
    typedef struct { circa_nn_tconv1d c; int batch, tin; } shape;
    static const shape cases[] = {
        {{64, 2, 16, 8, 0}, 3, 301}, /* the decoder's shape, batch*C items */
        {{64, 1, 16, 8, 0}, 2, 1999},
        {{5, 3, 4, 1, 0}, 2, 257},   /* stride 1: heavy overlap */
        {{7, 1, 3, 5, 0}, 2, 90},    /* stride > k: gaps */
        {{3, 4, 1, 2, 0}, 1, 33},
    };
    double worst = 0;
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        circa_nn_tconv1d c = cases[ci].c;
        int batch = cases[ci].batch, tin = cases[ci].tin, tout = circa_nn_tconv1d_out_len(&c, tin);
        size_t nx = (size_t)batch * c.cin * tin, ny = (size_t)batch * c.cout * tout;
        size_t nw = (size_t)c.cin * c.cout * c.k, nb = (size_t)c.cout;
        float *x = rand_vec(nx), *w = rand_vec(nw), *b = rand_vec(nb), *dy = rand_vec(ny);
        float *dx0 = rand_vec(nx), *dw0 = rand_vec(nw), *db0 = rand_vec(nb);
        double *ry = dzeros(ny), *rdx = dzeros(nx), *rdw = dzeros(nw), *rdb = dzeros(nb);
        ref_tconv(&c, batch, tin, tout, x, w, b, dy, ry, rdx, rdw, rdb);
        float *ey = plus(NULL, ry, ny), *edx = plus(dx0, rdx, nx), *edw = plus(dw0, rdw, nw);
        float *edb = plus(db0, rdb, nb);
        float *keep[4];
        const float *in[7] = {x, w, b, dy, dx0, dw0, db0}, *want[4] = {ey, edx, edw, edb};
        size_t sizes[4] = {ny, nx, nw, nb};
        worst = fmax(worst, check_threads("tconv", ci, tconv_pass, &c, &c.threads, batch, tin, in, want, sizes, keep));
        for (int q = 0; q < 4; q++) free(keep[q]);
        free(x); free(w); free(b); free(dy); free(dx0); free(dw0); free(db0);
        free(ry); free(rdx); free(rdw); free(rdb); free(ey); free(edx); free(edw); free(edb);
    }
    fprintf(stderr, "tconv1d fast paths vs plain loops: max rel err %.3g\n", worst);
}

/* ---- transposed conv ---------------------------------------------------------------- */
typedef struct tconv_t {
    circa_nn_tconv1d c;
    int batch, tin;
    float *x, *w, *b;
} tconv_t;

static void tconv_fwd(const void *ctx, float *y) {
    const tconv_t *k = ctx;
    cr_assert_eq(circa_nn_tconv1d_forward(&k->c, k->batch, k->tin, k->x, k->w, k->b, y), CIRCA_OK);
}

Test(nn, tconv1d_matches_torch_and_finite_differences) {
    circa_nn_weights *w = fixture_open("ops.cnn");
    double worst = 0;
    for (int i = 0; i < 2; i++) {
        char tag[32], nm[48];
        snprintf(tag, sizeof tag, "tconv%d", i);
        snprintf(nm, sizeof nm, "%s.cfg", tag);
        const int32_t *g = fxi(w, nm);
        tconv_t k = {{g[0], g[1], g[2], g[3], 1}, g[4], g[5], NULL, NULL, NULL};
        int tout = circa_nn_tconv1d_out_len(&k.c, k.tin);
        size_t nx = (size_t)k.batch * k.c.cin * k.tin, ny = (size_t)k.batch * k.c.cout * tout;
        size_t nw = (size_t)k.c.cin * k.c.cout * k.c.k;
#define R(s) (snprintf(nm, sizeof nm, "%s." s, tag), fx(w, nm, NULL))
        k.x = malloc(nx * 4); k.w = malloc(nw * 4); k.b = malloc((size_t)k.c.cout * 4);
        memcpy(k.x, R("x"), nx * 4); memcpy(k.w, R("w"), nw * 4); memcpy(k.b, R("b"), (size_t)k.c.cout * 4);
        const float *dy = R("dy");
#undef R
        float *y = zeros(ny), *dx = zeros(nx), *dw = zeros(nw), *db = zeros((size_t)k.c.cout);
        fprintf(stderr, "%s\n", tag);
        cr_assert_eq(circa_nn_tconv1d_forward(&k.c, k.batch, k.tin, k.x, k.w, k.b, y), CIRCA_OK);
        cr_assert_eq(circa_nn_tconv1d_backward(&k.c, k.batch, k.tin, k.x, k.w, dy, dx, dw, db), CIRCA_OK);
        snprintf(nm, sizeof nm, "%s.y", tag); worst = fmax(worst, check_rec(w, nm, y, ny));
        snprintf(nm, sizeof nm, "%s.dx", tag); worst = fmax(worst, check_rec(w, nm, dx, nx));
        snprintf(nm, sizeof nm, "%s.dw", tag); worst = fmax(worst, check_rec(w, nm, dw, nw));
        snprintf(nm, sizeof nm, "%s.db", tag); worst = fmax(worst, check_rec(w, nm, db, (size_t)k.c.cout));
        fd_op op = {tconv_fwd, &k, ny, dy};
        double ex = fd_check(&op, k.x, nx, dx, 1e-2f), ew = fd_check(&op, k.w, nw, dw, 1e-2f);
        fprintf(stderr, "  fd: dx %.3g dw %.3g\n", ex, ew);
        cr_expect(ex < FD_TOL && ew < FD_TOL);
        free(k.x); free(k.w); free(k.b); free(y); free(dx); free(dw); free(db);
    }
    fprintf(stderr, "tconv1d: max rel err %.3g\n", worst);
    circa_nn_weights_free(w);
}

/* ---- norms --------------------------------------------------------------------------- */
typedef struct norm_t {
    circa_nn_norm_kind kind;
    int batch, c, t;
    float *x, *g, *b;
} norm_t;

static void norm_fwd(const void *ctx, float *y) {
    const norm_t *k = ctx;
    cr_assert_eq(circa_nn_norm_forward(k->kind, k->batch, k->c, k->t, k->x, k->g, k->b, y), CIRCA_OK);
}

static void norm_case(const char *tag, circa_nn_norm_kind kind) {
    circa_nn_weights *w = fixture_open("ops.cnn");
    char nm[48];
    snprintf(nm, sizeof nm, "%s.cfg", tag);
    const int32_t *cfg = fxi(w, nm);
    norm_t k = {kind, cfg[0], cfg[1], cfg[2], NULL, NULL, NULL};
    size_t n = (size_t)k.batch * k.c * k.t, c = (size_t)k.c;
#define R(s) (snprintf(nm, sizeof nm, "%s." s, tag), fx(w, nm, NULL))
    k.x = malloc(n * 4); k.g = malloc(c * 4); k.b = malloc(c * 4);
    memcpy(k.x, R("x"), n * 4); memcpy(k.g, R("g"), c * 4); memcpy(k.b, R("b"), c * 4);
    const float *dy = R("dy");
#undef R
    float *y = zeros(n), *dx = zeros(n), *dg = zeros(c), *db = zeros(c);
    fprintf(stderr, "%s\n", tag);
    cr_assert_eq(circa_nn_norm_forward(kind, k.batch, k.c, k.t, k.x, k.g, k.b, y), CIRCA_OK);
    cr_assert_eq(circa_nn_norm_backward(kind, k.batch, k.c, k.t, k.x, k.g, dy, dx, dg, db), CIRCA_OK);
    snprintf(nm, sizeof nm, "%s.y", tag); check_rec(w, nm, y, n);
    snprintf(nm, sizeof nm, "%s.dx", tag); check_rec(w, nm, dx, n);
    snprintf(nm, sizeof nm, "%s.dg", tag); check_rec(w, nm, dg, c);
    snprintf(nm, sizeof nm, "%s.db", tag); check_rec(w, nm, db, c);
    fd_op op = {norm_fwd, &k, n, dy};
    double ex = fd_check(&op, k.x, n, dx, 1e-2f), eg = fd_check(&op, k.g, c, dg, 1e-2f);
    double eb = fd_check(&op, k.b, c, db, 1e-2f);
    fprintf(stderr, "  fd: dx %.3g dg %.3g db %.3g\n", ex, eg, eb);
    cr_expect(ex < FD_TOL && eg < FD_TOL && eb < FD_TOL);
    free(k.x); free(k.g); free(k.b); free(y); free(dx); free(dg); free(db);
    circa_nn_weights_free(w);
}

Test(nn, gln_matches_torch_and_finite_differences) { norm_case("gln", CIRCA_NN_GLN); }
Test(nn, cln_matches_torch_and_finite_differences) { norm_case("cln", CIRCA_NN_CLN); }

Test(nn, cln_is_causal) {
    int c = 3, t = 20;
    float *x = rand_vec((size_t)c * t), g[3] = {1, 2, 0.5f}, b[3] = {0, 1, -1};
    float *y1 = zeros((size_t)c * t), *y2 = zeros((size_t)c * t);
    cr_assert_eq(circa_nn_norm_forward(CIRCA_NN_CLN, 1, c, t, x, g, b, y1), CIRCA_OK);
    for (int ch = 0; ch < c; ch++) x[ch * t + 15] += 3.0f; /* change frame 15 */
    cr_assert_eq(circa_nn_norm_forward(CIRCA_NN_CLN, 1, c, t, x, g, b, y2), CIRCA_OK);
    for (int ch = 0; ch < c; ch++)
        for (int k = 0; k < 15; k++) cr_expect_eq(y1[ch * t + k], y2[ch * t + k]);
    cr_expect(y1[15] != y2[15]);
    free(x); free(y1); free(y2);
}

/* ---- activations and dense --------------------------------------------------------------- */
Test(nn, prelu_matches_torch) {
    circa_nn_weights *w = fixture_open("ops.cnn");
    size_t n;
    const float *x = fx(w, "prelu.x", &n), *a = fx(w, "prelu.a", NULL), *dy = fx(w, "prelu.dy", NULL);
    float *y = zeros(n), *dx = zeros(n), da = 0;
    circa_nn_prelu_forward(n, x, a[0], y);
    circa_nn_prelu_backward(n, x, a[0], dy, dx, &da);
    check_rec(w, "prelu.y", y, n);
    check_rec(w, "prelu.dx", dx, n);
    check_rec(w, "prelu.da", &da, 1);
    free(y); free(dx);
    circa_nn_weights_free(w);
}

/* The vector PReLU is the scalar formula, bit for bit, at every length
 * (vector body and tails), and its slope gradient matches a double sum. */
Test(nn, prelu_vector_path_is_the_scalar_formula) {
    for (size_t n = 1; n < 40; n += 3) {
        float *x = rand_vec(n), *dy = rand_vec(n), *y = zeros(n), *dx = rand_vec(n), *dx0 = copy_vec(dx, n);
        x[0] = 0.0f;
        if (n > 2) x[1] = -0.0f;
        float a = 0.3f, da = 0.5f;
        circa_nn_prelu_forward(n, x, a, y);
        circa_nn_prelu_backward(n, x, a, dy, dx, &da);
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            float ey = x[i] > 0 ? x[i] : a * x[i], edx = dx0[i] + (x[i] > 0 ? dy[i] : a * dy[i]);
            cr_expect(memcmp(&y[i], &ey, sizeof ey) == 0, "n %zu i %zu: y %g, want %g", n, i, y[i], ey);
            cr_expect(memcmp(&dx[i], &edx, sizeof edx) == 0, "n %zu i %zu: dx", n, i);
            if (!(x[i] > 0)) s += (double)dy[i] * x[i];
        }
        cr_expect(fabs(da - (0.5 + s)) <= 1e-6 * (1 + fabs(s)), "n %zu: da %g, want %g", n, da, 0.5 + s);
        circa_nn_prelu_forward(n, x, a, x); /* in place */
        cr_expect_arr_eq(x, y, n * sizeof *x);
        free(x); free(dy); free(y); free(dx); free(dx0);
    }
}

/* gLN and cLN sum in eight double lanes: against a plain double loop on a
 * shape with vector tails. */
Test(nn, norms_match_plain_loops) {
    int batch = 2, c = 7, t = 203;
    size_t n = (size_t)batch * c * t;
    float *x = rand_vec(n), *g = rand_vec((size_t)c), *b = rand_vec((size_t)c), *y = zeros(n), *e = zeros(n);
    for (int kind = 0; kind < 2; kind++) {
        cr_assert_eq(circa_nn_norm_forward((circa_nn_norm_kind)kind, batch, c, t, x, g, b, y), CIRCA_OK);
        for (int bi = 0; bi < batch; bi++) {
            const float *xb = x + (size_t)bi * c * t;
            double s = 0, s2 = 0;
            for (int k = 0; k < t; k++) {
                double cnt = 0, mu, var;
                if (kind == CIRCA_NN_CLN) {
                    for (int ch = 0; ch < c; ch++) s += xb[ch * t + k], s2 += (double)xb[ch * t + k] * xb[ch * t + k];
                    cnt = (double)c * (k + 1);
                    mu = s / cnt, var = fmax(s2 / cnt - mu * mu, 0);
                } else {
                    double m = 0, v = 0;
                    for (int i = 0; i < c * t; i++) m += xb[i];
                    m /= c * t;
                    for (int i = 0; i < c * t; i++) v += (xb[i] - m) * (xb[i] - m);
                    mu = m, var = v / (c * t);
                }
                for (int ch = 0; ch < c; ch++)
                    e[(size_t)bi * c * t + ch * t + k] =
                        (float)(g[ch] * (xb[ch * t + k] - mu) / sqrt(var + CIRCA_NN_NORM_EPS) + b[ch]);
            }
        }
        double err = rel_err(y, e, n);
        fprintf(stderr, "%s forward vs plain loop: rel err %.3g\n", kind ? "cLN" : "gLN", err);
        cr_expect(err < FAST_TOL, "kind %d: %g", kind, err);
    }
    free(x); free(g); free(b); free(y); free(e);
}

typedef struct act_t {
    int which; /* 0 prelu, 1 sigmoid, 2 relu, 3 softmax, 4 dense */
    size_t n;
    float *x, *a, *w, *b;
} act_t;

static void act_fwd(const void *ctx, float *y) {
    const act_t *k = ctx;
    switch (k->which) {
    case 0: circa_nn_prelu_forward(k->n, k->x, k->a[0], y); break;
    case 1: circa_nn_sigmoid_forward(k->n, k->x, y); break;
    case 2: circa_nn_relu_forward(k->n, k->x, y); break;
    case 3: circa_nn_softmax_forward(k->n / 6, 6, k->x, y); break;
    default: circa_nn_dense_forward(3, 5, 4, k->x, k->w, k->b, y); break;
    }
}

Test(nn, activations_and_dense_finite_differences) {
    size_t n = 60;
    for (int which = 0; which < 5; which++) {
        act_t k = {which, which == 4 ? 15 : n, rand_vec(n), rand_vec(1), rand_vec(20), rand_vec(4)};
        /* Keep x away from the kinks at 0 where a difference straddles them. */
        for (size_t i = 0; i < n; i++) k.x[i] += k.x[i] >= 0 ? 0.05f : -0.05f;
        size_t ny = which == 4 ? 12 : n;
        float *dy = rand_vec(ny), *y = zeros(ny), *dx = zeros(n), da = 0;
        float *dw = zeros(20), *db = zeros(4);
        act_fwd(&k, y);
        switch (which) {
        case 0: circa_nn_prelu_backward(n, k.x, k.a[0], dy, dx, &da); break;
        case 1: circa_nn_sigmoid_backward(n, y, dy, dx); break;
        case 2: circa_nn_relu_backward(n, k.x, dy, dx); break;
        case 3: circa_nn_softmax_backward(n / 6, 6, y, dy, dx); break;
        default: circa_nn_dense_backward(3, 5, 4, k.x, k.w, dy, dx, dw, db); break;
        }
        fd_op op = {act_fwd, &k, ny, dy};
        double ex = fd_check(&op, k.x, k.n, dx, 1e-2f), ep = 0;
        if (which == 0) ep = fd_check(&op, k.a, 1, &da, 1e-2f);
        if (which == 4) ep = fmax(fd_check(&op, k.w, 20, dw, 1e-2f), fd_check(&op, k.b, 4, db, 1e-2f));
        fprintf(stderr, "activation %d fd: dx %.3g params %.3g\n", which, ex, ep);
        cr_expect(ex < FD_TOL && ep < FD_TOL, "activation %d", which);
        free(k.x); free(k.a); free(k.w); free(k.b); free(dy); free(y); free(dx); free(dw); free(db);
    }
}

/* ---- SI-SNR and PIT ---------------------------------------------------------------------- */
Test(nn, pit_loss_matches_torch) {
    circa_nn_weights *w = fixture_open("ops.cnn");
    for (int c = 2; c <= 3; c++) {
        char nm[32];
        snprintf(nm, sizeof nm, "pit%d.cfg", c);
        const int32_t *cfg = fxi(w, nm);
        size_t n = (size_t)cfg[0] * cfg[1] * cfg[2];
        snprintf(nm, sizeof nm, "pit%d.est", c);
        const float *est = fx(w, nm, NULL);
        snprintf(nm, sizeof nm, "pit%d.ref", c);
        const float *ref = fx(w, nm, NULL);
        float loss, *dest = zeros(n);
        int perm[2 * 3];
        cr_assert_eq(circa_nn_pit_loss(cfg[0], cfg[1], (size_t)cfg[2], est, ref, &loss, dest, perm), CIRCA_OK);
        fprintf(stderr, "pit C=%d\n", c);
        snprintf(nm, sizeof nm, "pit%d.loss", c); check_rec(w, nm, &loss, 1);
        snprintf(nm, sizeof nm, "pit%d.dest", c); check_rec(w, nm, dest, n);
        for (int s = 0; s < c; s++) cr_expect_eq(perm[s], c - 1 - s); /* the fixture reversed them */
        free(dest);
    }
    circa_nn_weights_free(w);
}

typedef struct pit_t {
    int batch, c;
    size_t t;
    float *est, *ref;
} pit_t;

static void pit_fwd(const void *ctx, float *y) {
    const pit_t *k = ctx;
    cr_assert_eq(circa_nn_pit_loss(k->batch, k->c, k->t, k->est, k->ref, y, NULL, NULL), CIRCA_OK);
}

Test(nn, pit_loss_finite_differences) {
    pit_t k = {2, 2, 40, rand_vec(160), rand_vec(160)};
    float one = 1, loss, *dest = zeros(160);
    cr_assert_eq(circa_nn_pit_loss(2, 2, 40, k.est, k.ref, &loss, dest, NULL), CIRCA_OK);
    fd_op op = {pit_fwd, &k, 1, &one};
    double e = fd_check(&op, k.est, 160, dest, 1e-3f);
    fprintf(stderr, "pit fd: %.3g\n", e);
    cr_expect(e < FD_TOL);
    /* A perfect, scaled estimate scores high whatever its gain. */
    for (int i = 0; i < 40; i++) k.est[i] = 3.0f * k.ref[i];
    cr_expect(circa_nn_sisnr(40, k.est, k.ref, NULL) > 60.0);
    free(k.est); free(k.ref); free(dest);
}

/* ---- optimisation ------------------------------------------------------------------------ */
Test(nn, adam_matches_torch) {
    circa_nn_weights *w = fixture_open("ops.cnn");
    circa_nn_param p;
    cr_assert_eq(circa_nn_param_alloc(&p, "adam", 1, (size_t[]){10}), CIRCA_OK);
    memcpy(p.w, fx(w, "adam.w0", NULL), 40);
    circa_nn_adam a = circa_nn_adam_default();
    a.lr = 0.01f;
    for (int s = 0; s < 3; s++) {
        char nm[16];
        snprintf(nm, sizeof nm, "adam.g%d", s);
        memcpy(p.g, fx(w, nm, NULL), 40);
        cr_assert_eq(circa_nn_adam_step(&a, &p, 1), CIRCA_OK);
    }
    check_rec(w, "adam.w3", p.w, 10);
    circa_nn_param_release(&p);
    circa_nn_param_release(&p); /* releasing twice is harmless */
    circa_nn_param_release(NULL);
    circa_nn_weights_free(w);
}

Test(nn, adam_decreases_loss_on_a_dense_fit) {
    /* Fit y = W* x with a dense layer: 8 samples, 4 -> 2. */
    float x[32], wt[8], tgt[16];
    for (int i = 0; i < 32; i++) x[i] = frand();
    for (int i = 0; i < 8; i++) wt[i] = frand();
    circa_nn_dense_forward(8, 4, 2, x, wt, NULL, tgt);
    circa_nn_param ps[2];
    cr_assert_eq(circa_nn_param_alloc(&ps[0], "w", 2, (size_t[]){2, 4}), CIRCA_OK);
    cr_assert_eq(circa_nn_param_alloc(&ps[1], "b", 1, (size_t[]){2}), CIRCA_OK);
    circa_nn_adam a = circa_nn_adam_default();
    a.lr = 0.05f;
    double first = 0, last = 0;
    for (int step = 0; step < 200; step++) {
        float y[16], dy[16];
        circa_nn_dense_forward(8, 4, 2, x, ps[0].w, ps[1].w, y);
        double loss = 0;
        for (int i = 0; i < 16; i++) {
            dy[i] = 2.0f * (y[i] - tgt[i]) / 16;
            loss += (double)(y[i] - tgt[i]) * (y[i] - tgt[i]) / 16;
        }
        if (step == 0) first = loss;
        last = loss;
        circa_nn_params_zero_grad(ps, 2);
        circa_nn_dense_backward(8, 4, 2, x, ps[0].w, dy, NULL, ps[0].g, ps[1].g);
        cr_assert_eq(circa_nn_clip_grad_norm(ps, 2, 5.0f, NULL), CIRCA_OK);
        cr_assert_eq(circa_nn_adam_step(&a, ps, 2), CIRCA_OK);
    }
    fprintf(stderr, "adam dense fit: loss %.4g -> %.4g\n", first, last);
    cr_expect(last < first * 0.01, "loss %g -> %g", first, last);
    circa_nn_param_release(&ps[0]);
    circa_nn_param_release(&ps[1]);
}

Test(nn, clip_grad_norm_scales_to_max) {
    circa_nn_param ps[2];
    cr_assert_eq(circa_nn_param_alloc(&ps[0], "a", 1, (size_t[]){2}), CIRCA_OK);
    cr_assert_eq(circa_nn_param_alloc(&ps[1], "b", 1, (size_t[]){1}), CIRCA_OK);
    ps[0].g[0] = 3; ps[0].g[1] = 4; ps[1].g[0] = 12; /* norm 13 */
    float norm;
    cr_assert_eq(circa_nn_clip_grad_norm(ps, 2, 1.0f, &norm), CIRCA_OK);
    cr_expect_float_eq(norm, 13.0f, 1e-5);
    double s = (double)ps[0].g[0] * ps[0].g[0] + (double)ps[0].g[1] * ps[0].g[1] + (double)ps[1].g[0] * ps[1].g[0];
    cr_expect(fabs(sqrt(s) - 1.0) < 1e-5);
    cr_assert_eq(circa_nn_clip_grad_norm(ps, 2, 5.0f, &norm), CIRCA_OK); /* below max: unchanged */
    cr_expect(fabs(norm - 1.0) < 1e-5);
    ps[0].g[0] = NAN;
    cr_expect_eq(circa_nn_clip_grad_norm(ps, 2, 5.0f, NULL), CIRCA_E_PARAM);
    circa_nn_param_release(&ps[0]);
    circa_nn_param_release(&ps[1]);
}

/* ---- weight files -------------------------------------------------------------------------- */
static uint8_t *sample_file(size_t *len) {
    static const float a[6] = {1, -2, 3.5f, 0, 1e-7f, -1e7f};
    static const int32_t b[3] = {7, -1, 1 << 30};
    circa_nn_record recs[2] = {
        {"layer.w", CIRCA_NN_F32, 2, {2, 3}, a},
        {"cfg", CIRCA_NN_I32, 1, {3}, b},
    };
    uint8_t *buf;
    cr_assert_eq(circa_nn_weights_encode(recs, 2, &buf, len), CIRCA_OK);
    return buf;
}

Test(nn, weights_round_trip) {
    size_t len;
    uint8_t *buf = sample_file(&len);
    circa_nn_weights *w;
    cr_assert_eq(circa_nn_weights_parse(buf, len, &w), CIRCA_OK);
    cr_assert_eq(circa_nn_weights_count(w), 2);
    const circa_nn_record *r = circa_nn_weights_find(w, "layer.w");
    cr_assert(r);
    cr_expect_eq(r->ndim, 2);
    cr_expect_eq(r->shape[1], 3);
    cr_expect_eq(((const float *)r->data)[5], -1e7f);
    cr_expect_eq(fxi(w, "cfg")[2], 1 << 30);
    cr_expect_null(circa_nn_weights_find(w, "nope"));
    cr_expect_null(circa_nn_weights_record(w, 2));
    circa_nn_param p;
    cr_assert_eq(circa_nn_param_alloc(&p, "layer.w", 2, (size_t[]){2, 3}), CIRCA_OK);
    cr_expect_eq(circa_nn_weights_get_param(w, &p), CIRCA_OK);
    cr_expect_eq(p.w[2], 3.5f);
    circa_nn_param_release(&p);
    cr_assert_eq(circa_nn_param_alloc(&p, "layer.w", 2, (size_t[]){3, 2}), CIRCA_OK);
    cr_expect_eq(circa_nn_weights_get_param(w, &p), CIRCA_E_FORMAT); /* shape differs */
    circa_nn_param_release(&p);
    cr_assert_eq(circa_nn_param_alloc(&p, "other", 1, (size_t[]){1}), CIRCA_OK);
    cr_expect_eq(circa_nn_weights_get_param(w, &p), CIRCA_E_MODEL);
    circa_nn_param_release(&p);
    circa_nn_weights_free(w);
    circa_nn_weights_free(NULL);
    free(buf);
}

Test(nn, weights_corruption_is_rejected) {
    size_t len;
    uint8_t *buf = sample_file(&len), *c = malloc(len + 1);
    circa_nn_weights *w = (circa_nn_weights *)1;
    /* Every truncation. */
    for (size_t n = 0; n < len; n++) {
        circa_status st = circa_nn_weights_parse(buf, n, &w);
        cr_expect(st == CIRCA_E_TRUNCATED || (n < 8 && st == CIRCA_E_FORMAT), "len %zu: %d", n, st);
        cr_expect_null(w);
    }
    /* Every single-bit flip: never accepted. */
    for (size_t i = 0; i < len; i += quick() ? 3 : 1)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(c, buf, len);
            c[i] ^= (uint8_t)(1u << bit);
            circa_status st = circa_nn_weights_parse(c, len, &w);
            cr_expect_neq(st, CIRCA_OK, "flip byte %zu bit %d accepted", i, bit);
            circa_nn_weights_free(w);
        }
    memcpy(c, buf, len);
    c[40] ^= 0x01; /* a data byte: only the CRC can catch it */
    cr_expect_eq(circa_nn_weights_parse(c, len, &w), CIRCA_E_CHECKSUM);
    memcpy(c, buf, len);
    c[0] = 'X';
    cr_expect_eq(circa_nn_weights_parse(c, len, &w), CIRCA_E_FORMAT);
    memcpy(c, buf, len);
    c[8] = 2;
    cr_expect_eq(circa_nn_weights_parse(c, len, &w), CIRCA_E_VERSION);
    memcpy(c, buf, len);
    c[len] = 0;
    cr_expect_eq(circa_nn_weights_parse(c, len + 1, &w), CIRCA_E_FORMAT); /* trailing byte */
    cr_expect_eq(circa_nn_weights_load("/nonexistent/x.cnn", &w), CIRCA_E_IO);
    /* Encoder refuses what the parser would. */
    static const float one = 1;
    circa_nn_record dup[2] = {{"a", CIRCA_NN_F32, 1, {1}, &one}, {"a", CIRCA_NN_F32, 1, {1}, &one}};
    uint8_t *out;
    size_t ol;
    cr_expect_eq(circa_nn_weights_encode(dup, 2, &out, &ol), CIRCA_E_PARAM);
    dup[1].name = "has space";
    cr_expect_eq(circa_nn_weights_encode(dup, 2, &out, &ol), CIRCA_E_PARAM);
    dup[1].name = "b";
    dup[1].shape[0] = 0;
    cr_expect_eq(circa_nn_weights_encode(dup, 2, &out, &ol), CIRCA_E_PARAM);
    free(buf);
    free(c);
}

Test(nn, weights_file_round_trip) {
    char path[1024];
    snprintf(path, sizeof path, "%s/test_nn_weights.cnn", CIRCA_BINARY_DIR);
    static const float v[4] = {1, 2, 3, 4};
    circa_nn_record r = {"v", CIRCA_NN_F32, 2, {2, 2}, v};
    cr_assert_eq(circa_nn_weights_write(path, &r, 1), CIRCA_OK);
    circa_nn_weights *w;
    cr_assert_eq(circa_nn_weights_load(path, &w), CIRCA_OK);
    cr_expect_arr_eq(circa_nn_weights_record(w, 0)->data, v, sizeof v);
    circa_nn_weights_free(w);
    remove(path);
}
