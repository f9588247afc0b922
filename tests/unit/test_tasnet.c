/* test_tasnet.c: Conv-TasNet: forward, PIT loss and every parameter
 * gradient against PyTorch (gLN and causal cLN), causality, files, finite
 * differences and a few training steps. */
/* ---- fixture helpers (the same block opens test_nn.c) ---------------------- */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "circa/nn.h"

/* Fixtures must match to this relative error (see rel_err). */
#define FIXTURE_TOL 1e-4
/* The floor keeps a tensor that is all (near) zero from dividing by ~0. */
#define REL_FLOOR 1e-6

static int quick(void) {
    const char *q = getenv("CIRCA_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

/* The metric: max_i |a_i - b_i| / max(max_i |b_i|, REL_FLOOR), b the reference. */
static double rel_err(const float *a, const float *b, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d)) d = e; /* NaN propagates as a failure */
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return d / (m > REL_FLOOR ? m : REL_FLOOR);
}

static circa_nn_weights *fixture_open(const char *file) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/torch/%s", CIRCA_SOURCE_DIR, file);
    circa_nn_weights *w = NULL;
    circa_status st = circa_nn_weights_load(path, &w);
    cr_assert_eq(st, CIRCA_OK, "loading %s: %s", path, circa_strerror(st));
    return w;
}

static size_t rec_elems(const circa_nn_record *r) {
    size_t n = 1;
    for (int d = 0; d < r->ndim; d++) n *= r->shape[d];
    return n;
}

/* A float record's data; fails the test when missing. *n (may be NULL)
 * receives its element count. */
static const float *fx(const circa_nn_weights *w, const char *name, size_t *n) {
    const circa_nn_record *r = circa_nn_weights_find(w, name);
    cr_assert(r != NULL, "fixture record %s missing", name);
    cr_assert_eq(r->dtype, CIRCA_NN_F32);
    if (n) *n = rec_elems(r);
    return r->data;
}

static __attribute__((unused)) const int32_t *fxi(const circa_nn_weights *w, const char *name) {
    const circa_nn_record *r = circa_nn_weights_find(w, name);
    cr_assert(r != NULL, "fixture record %s missing", name);
    cr_assert_eq(r->dtype, CIRCA_NN_I32);
    return r->data;
}

/* Compares a computed tensor against fixture record `name`, logs the error
 * and returns it. */
static double check_rec(const circa_nn_weights *w, const char *name, const float *got,
                               size_t n) {
    size_t rn;
    const float *ref = fx(w, name, &rn);
    cr_assert_eq(rn, n, "%s: %zu elements, fixture has %zu", name, n, rn);
    double e = rel_err(got, ref, n);
    fprintf(stderr, "  %-16s rel err %.3g\n", name, e);
    cr_expect(e <= FIXTURE_TOL, "%s: relative error %g > %g", name, e, FIXTURE_TOL);
    return e;
}


static uint64_t rng = 0x243F6A8885A308D3ull;
static float frand(void) { /* uniform in [-1, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 4503599627370496.0 - 1.0);
}
static float *rand_vec(size_t n) {
    float *v = malloc(n * sizeof *v);
    cr_assert(v);
    for (size_t i = 0; i < n; i++) v[i] = frand();
    return v;
}
static float *zeros(size_t n) {
    float *v = calloc(n ? n : 1, sizeof *v);
    cr_assert(v);
    return v;
}

/* ---- finite differences ----------------------------------------------------------- */
/* An op under test: fwd writes y (ny floats) from the current inputs. */
typedef struct fd_op {
    void (*fwd)(const void *ctx, float *y);
    const void *ctx;
    size_t ny;
    const float *dy;
} fd_op;

static double fd_loss(const fd_op *op, float *y) {
    op->fwd(op->ctx, y);
    double s = 0;
    for (size_t i = 0; i < op->ny; i++) s += (double)y[i] * op->dy[i];
    return s;
}

/* Central differences of sum(y*dy) wrt v[0..n) against `analytic`; returns
 * max |fd - an| / max(max |an|, 1e-3). Probes at most 40 entries. */
static double fd_check(const fd_op *op, float *v, size_t n, const float *analytic, float h) {
    float *y = zeros(op->ny);
    double d = 0, m = 0;
    size_t step = n > 40 ? n / 40 : 1;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(analytic[i]));
    for (size_t i = 0; i < n; i += step) {
        /* Two step sizes, keeping the better: a PReLU kink or a PIT
         * permutation switch inside [x-h, x+h] spoils one of them only. */
        double best = INFINITY;
        for (float hh = h; hh > h / 5; hh /= 4) {
            float keep = v[i];
            v[i] = keep + hh;
            double lp = fd_loss(op, y);
            v[i] = keep - hh;
            double lm = fd_loss(op, y);
            v[i] = keep;
            double fd = (lp - lm) / (2.0 * ((double)(keep + hh) - (double)keep));
            best = fmin(best, fabs(fd - analytic[i]));
        }
        d = fmax(d, best);
    }
    free(y);
    return d / fmax(m, 1e-3);
}
#define FD_TOL 2e-2


#include "circa/tasnet.h"

/* Runs the fixture model `tag` forward and backward (PIT SI-SNR loss on the
 * fixture references) and compares output, loss and every gradient. */
static void tasnet_case(const char *tag, unsigned threads) {
    char file[64];
    snprintf(file, sizeof file, "%s.cnn", tag);
    circa_nn_weights *mw = fixture_open(file);
    snprintf(file, sizeof file, "%s_io.cnn", tag);
    circa_nn_weights *io = fixture_open(file);
    circa_tasnet *net;
    cr_assert_eq(circa_tasnet_from_weights(mw, threads, &net), CIRCA_OK);
    const circa_tasnet_config *cfg = circa_tasnet_get_config(net);
    const circa_nn_record *mr = circa_nn_weights_find(io, "mix");
    cr_assert(mr && mr->ndim == 2);
    int batch = (int)mr->shape[0], t = (int)mr->shape[1];
    size_t ne = (size_t)batch * cfg->C * t;
    float *est = zeros(ne), *dest = zeros(ne), loss;
    fprintf(stderr, "%s (threads %u)\n", tag, threads);
    cr_assert_eq(circa_tasnet_forward(net, batch, t, mr->data, est), CIRCA_OK);
    double worst = check_rec(io, "est", est, ne);
    cr_assert_eq(circa_nn_pit_loss(batch, cfg->C, (size_t)t, est, fx(io, "ref", NULL), &loss, dest, NULL), CIRCA_OK);
    worst = fmax(worst, check_rec(io, "loss", &loss, 1));
    size_t np;
    circa_nn_param *ps = circa_tasnet_params(net, &np);
    circa_nn_params_zero_grad(ps, np);
    cr_assert_eq(circa_tasnet_backward(net, dest), CIRCA_OK);
    double gworst = 0;
    for (size_t i = 0; i < np; i++) {
        char nm[96];
        snprintf(nm, sizeof nm, "grad.%s", ps[i].name);
        gworst = fmax(gworst, check_rec(io, nm, ps[i].g, ps[i].size));
    }
    fprintf(stderr, "%s: est/loss max rel err %.3g, gradients (%zu tensors) max rel err %.3g\n",
            tag, worst, np, gworst);
    free(est);
    free(dest);
    circa_tasnet_free(net);
    circa_nn_weights_free(mw);
    circa_nn_weights_free(io);
}

Test(tasnet, gln_matches_torch) { tasnet_case("tasnet_gln", 1); }
Test(tasnet, cln_matches_torch) { tasnet_case("tasnet_cln", 1); }
Test(tasnet, gln_matches_torch_threaded) { tasnet_case("tasnet_gln", 3); }

/* Big enough that the convs really split over threads: the output and every
 * gradient must be bit-identical to one thread's. */
Test(tasnet, threads_give_identical_results) {
    circa_tasnet_config cfg = {32, 8, 16, 64, 16, 3, 2, 1, 2, 0, 1};
    int t = 1604; /* 400 frames */
    float *mix = rand_vec((size_t)t), *dest = rand_vec(2 * (size_t)t);
    float *est[2] = {zeros(2 * (size_t)t), zeros(2 * (size_t)t)};
    circa_tasnet *net[2];
    for (int i = 0; i < 2; i++) {
        cfg.threads = i ? 3 : 1;
        cr_assert_eq(circa_tasnet_create(&cfg, 21, &net[i]), CIRCA_OK);
        size_t np;
        circa_nn_param *ps = circa_tasnet_params(net[i], &np);
        circa_nn_params_zero_grad(ps, np);
        cr_assert_eq(circa_tasnet_forward(net[i], 1, t, mix, est[i]), CIRCA_OK);
        cr_assert_eq(circa_tasnet_backward(net[i], dest), CIRCA_OK);
    }
    cr_expect_arr_eq(est[0], est[1], 2 * (size_t)t * sizeof(float));
    size_t np;
    circa_nn_param *p0 = circa_tasnet_params(net[0], &np), *p1 = circa_tasnet_params(net[1], NULL);
    for (size_t i = 0; i < np; i++)
        cr_expect_arr_eq(p0[i].g, p1[i].g, p0[i].size * sizeof(float), "%s", p0[i].name);
    for (int i = 0; i < 2; i++) {
        circa_tasnet_free(net[i]);
        free(est[i]);
    }
    free(mix);
    free(dest);
}

static circa_tasnet_config tiny(int causal) {
    circa_tasnet_config c = {8, 4, 4, 8, 6, 3, 2, 2, 2, causal, 1};
    return c;
}

Test(tasnet, causal_output_ignores_the_future) {
    circa_tasnet_config cfg = tiny(1);
    circa_tasnet *net;
    cr_assert_eq(circa_tasnet_create(&cfg, 5, &net), CIRCA_OK);
    int t = 82; /* 40 frames */
    float *mix = rand_vec((size_t)t), *e1 = zeros(2 * (size_t)t), *e2 = zeros(2 * (size_t)t);
    cr_assert_eq(circa_tasnet_forward(net, 1, t, mix, e1), CIRCA_OK);
    int p = 60;
    mix[p] += 1.0f;
    cr_assert_eq(circa_tasnet_forward(net, 1, t, mix, e2), CIRCA_OK);
    /* Sample s depends on input samples < floor(s/S)*S + L <= s + L. */
    for (int s = 0; s < 2; s++)
        for (int i = 0; i + cfg.L <= p; i++) cr_expect_eq(e1[s * t + i], e2[s * t + i], "src %d sample %d", s, i);
    int changed = 0;
    for (int i = p; i < t; i++) changed |= e1[i] != e2[i];
    cr_expect(changed);
    circa_tasnet_free(net);
    free(mix); free(e1); free(e2);
}

Test(tasnet, save_load_round_trip_and_validation) {
    circa_tasnet_config cfg = tiny(0);
    circa_tasnet *net, *back;
    cr_assert_eq(circa_tasnet_create(&cfg, 9, &net), CIRCA_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s/test_tasnet_model.cnn", CIRCA_BINARY_DIR);
    cr_assert_eq(circa_tasnet_save(net, path), CIRCA_OK);
    cr_assert_eq(circa_tasnet_load(path, 1, &back), CIRCA_OK);
    int t = 34;
    float *mix = rand_vec((size_t)t), *e1 = zeros(2 * (size_t)t), *e2 = zeros(2 * (size_t)t);
    cr_assert_eq(circa_tasnet_forward(net, 1, t, mix, e1), CIRCA_OK);
    cr_assert_eq(circa_tasnet_forward(back, 1, t, mix, e2), CIRCA_OK);
    cr_expect_arr_eq(e1, e2, 2 * (size_t)t * sizeof *e1);
    circa_tasnet_free(back);
    /* A corrupted file is refused with the weight file's status. */
    FILE *f = fopen(path, "r+b");
    cr_assert(f);
    fseek(f, 100, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    circa_tasnet *bad = (circa_tasnet *)1;
    cr_expect_eq(circa_tasnet_load(path, 1, &bad), CIRCA_E_CHECKSUM);
    cr_expect_null(bad);
    /* The ops fixture file is a valid weight file but not a model. */
    circa_nn_weights *ops = fixture_open("ops.cnn");
    cr_expect_eq(circa_tasnet_from_weights(ops, 1, &bad), CIRCA_E_MODEL);
    circa_nn_weights_free(ops);
    remove(path);
    circa_tasnet_free(net);
    circa_tasnet_free(NULL);
    free(mix); free(e1); free(e2);
}

Test(tasnet, rejects_bad_configs_and_lengths) {
    circa_tasnet_config cfg = tiny(0);
    circa_tasnet *net;
    cfg.P = 4; /* even kernel cannot be centred */
    cr_expect_eq(circa_tasnet_create(&cfg, 1, &net), CIRCA_E_PARAM);
    cr_expect_null(net);
    cfg = tiny(0);
    cfg.L = 5;
    cr_expect_eq(circa_tasnet_create(&cfg, 1, &net), CIRCA_E_PARAM);
    cfg = tiny(0);
    cr_assert_eq(circa_tasnet_create(&cfg, 1, &net), CIRCA_OK);
    float mix[40] = {0}, est[80];
    cr_expect_eq(circa_tasnet_backward(net, est), CIRCA_E_STATE); /* no forward yet */
    cr_expect_eq(circa_tasnet_forward(net, 1, 35, mix, est), CIRCA_E_PARAM); /* 35-4 odd */
    cr_expect_eq(circa_tasnet_forward(net, 1, 3, mix, est), CIRCA_E_PARAM);
    cr_expect_eq(circa_tasnet_frames(&cfg, 36), 17);
    cfg = circa_tasnet_config_default();
    cr_expect_eq(circa_tasnet_config_check(&cfg), CIRCA_OK);
    circa_tasnet_free(net);
}

/* A few finite differences through the whole model: the torch comparison
 * covers correctness, this covers configs torch was not run on (P 5, C 3). */
typedef struct tn_t {
    circa_tasnet *net;
    int t;
    float *mix, *ref;
} tn_t;

static void tn_fwd(const void *ctx, float *y) {
    const tn_t *k = ctx;
    const circa_tasnet_config *c = circa_tasnet_get_config(k->net);
    float *est = zeros((size_t)c->C * k->t);
    cr_assert_eq(circa_tasnet_forward(k->net, 1, k->t, k->mix, est), CIRCA_OK);
    cr_assert_eq(circa_nn_pit_loss(1, c->C, (size_t)k->t, est, k->ref, y, NULL, NULL), CIRCA_OK);
    free(est);
}

Test(tasnet, finite_differences_c3_p5_causal) {
    circa_tasnet_config cfg = {6, 4, 4, 6, 4, 5, 2, 1, 3, 1, 1};
    circa_tasnet *net;
    cr_assert_eq(circa_tasnet_create(&cfg, 3, &net), CIRCA_OK);
    tn_t k = {net, 30, rand_vec(30), rand_vec(90)};
    float *est = zeros(90), *dest = zeros(90), loss, one = 1;
    size_t np;
    circa_nn_param *ps = circa_tasnet_params(net, &np);
    cr_assert_eq(circa_tasnet_forward(net, 1, k.t, k.mix, est), CIRCA_OK);
    cr_assert_eq(circa_nn_pit_loss(1, 3, (size_t)k.t, est, k.ref, &loss, dest, NULL), CIRCA_OK);
    circa_nn_params_zero_grad(ps, np);
    cr_assert_eq(circa_tasnet_backward(net, dest), CIRCA_OK);
    fd_op op = {tn_fwd, &k, 1, &one};
    double worst = 0;
    for (size_t i = 0; i < np; i += quick() ? 4 : 1) {
        float *g = malloc(ps[i].size * sizeof *g);
        memcpy(g, ps[i].g, ps[i].size * sizeof *g);
        double e = fd_check(&op, ps[i].w, ps[i].size, g, 2e-3f);
        if (e > worst) fprintf(stderr, "  fd %s: %.3g\n", ps[i].name, e);
        worst = fmax(worst, e);
        free(g);
    }
    fprintf(stderr, "tasnet fd: max %.3g over %zu tensors\n", worst, np);
    cr_expect(worst < 5e-2);
    circa_tasnet_free(net);
    free(k.mix); free(k.ref); free(est); free(dest);
}

Test(tasnet, training_steps_decrease_loss) {
    circa_tasnet_config cfg = tiny(0);
    circa_tasnet *net;
    cr_assert_eq(circa_tasnet_create(&cfg, 11, &net), CIRCA_OK);
    int batch = 2, t = 66;
    size_t ne = (size_t)batch * 2 * t;
    float *ref = rand_vec(ne), *mix = zeros((size_t)batch * t), *est = zeros(ne), *dest = zeros(ne);
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < t; i++) {
            ref[(b * 2 + 1) * t + i] = 0.5f * sinf(0.7f * i + b); /* one noise-like, one tonal */
            mix[b * t + i] = ref[(b * 2) * t + i] + ref[(b * 2 + 1) * t + i];
        }
    size_t np;
    circa_nn_param *ps = circa_tasnet_params(net, &np);
    circa_nn_adam a = circa_nn_adam_default();
    a.lr = 5e-3f;
    float first = 0, loss = 0;
    int steps = quick() ? 15 : 40;
    for (int s = 0; s < steps; s++) {
        cr_assert_eq(circa_tasnet_forward(net, batch, t, mix, est), CIRCA_OK);
        memset(dest, 0, ne * sizeof *dest);
        cr_assert_eq(circa_nn_pit_loss(batch, 2, (size_t)t, est, ref, &loss, dest, NULL), CIRCA_OK);
        if (s == 0) first = loss;
        circa_nn_params_zero_grad(ps, np);
        cr_assert_eq(circa_tasnet_backward(net, dest), CIRCA_OK);
        cr_assert_eq(circa_nn_clip_grad_norm(ps, np, 5.0f, NULL), CIRCA_OK);
        cr_assert_eq(circa_nn_adam_step(&a, ps, np), CIRCA_OK);
    }
    fprintf(stderr, "tasnet training: loss %.3f -> %.3f in %d steps\n", first, loss, steps);
    cr_expect(loss < first - 1.0f, "loss %g -> %g", first, loss);
    circa_tasnet_free(net);
    free(ref); free(mix); free(est); free(dest);
}

/* Streaming a causal model hop by hop gives the batch forward's output
 * (up to the decoder's summation order), twice in a row after a flush. */
Test(tasnet, streaming_matches_batch_forward) {
    circa_tasnet_config cfg = {8, 4, 4, 8, 6, 3, 3, 2, 2, 1, 1};
    circa_tasnet *net;
    cr_assert_eq(circa_tasnet_create(&cfg, 17, &net), CIRCA_OK);
    int S = cfg.L / 2, t = 202; /* 100 frames */
    float *mix = rand_vec((size_t)t), *est = zeros(2 * (size_t)t), *got = zeros(2 * (size_t)t);
    cr_assert_eq(circa_tasnet_forward(net, 1, t, mix, est), CIRCA_OK);
    circa_tasnet_stream *st;
    cr_assert_eq(circa_tasnet_stream_create(net, &st), CIRCA_OK);
    for (int pass = 0; pass < 2; pass++) {
        int pos = 0, n;
        float hop[2 * 8];
        for (int i = 0; i < t; i += S) {
            cr_assert_eq(circa_tasnet_stream_push(st, mix + i, hop, &n), CIRCA_OK);
            cr_assert_eq(n, i == 0 ? 0 : S);
            for (int s = 0; s < 2; s++) memcpy(got + (size_t)s * t + pos, hop + s * n, (size_t)n * sizeof *hop);
            pos += n;
        }
        cr_assert_eq(circa_tasnet_stream_flush(st, hop, &n), CIRCA_OK);
        cr_assert_eq(n, S);
        for (int s = 0; s < 2; s++) memcpy(got + (size_t)s * t + pos, hop + s * n, (size_t)n * sizeof *hop);
        pos += n;
        cr_assert_eq(pos, t);
        double e = rel_err(got, est, 2 * (size_t)t);
        fprintf(stderr, "streaming pass %d: rel err vs batch %.3g\n", pass, e);
        cr_expect(e < 1e-5, "pass %d: %g", pass, e);
    }
    circa_tasnet_stream_free(st);
    circa_tasnet_stream_free(NULL);
    circa_tasnet_free(net);
    cfg.causal = 0;
    cr_assert_eq(circa_tasnet_create(&cfg, 17, &net), CIRCA_OK);
    cr_expect_eq(circa_tasnet_stream_create(net, &st), CIRCA_E_UNSUPPORTED);
    cr_expect_null(st);
    circa_tasnet_free(net);
    free(mix); free(est); free(got);
}
