/* nn_fixtures.h: helpers shared by the nn and tasnet suites: the fixture
 * metric, fixture loading, deterministic random tensors and a
 * finite-difference checker. Functions are static and may go unused. */
#ifndef CIRCA_TEST_NN_FIXTURES_H
#define CIRCA_TEST_NN_FIXTURES_H
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

static __attribute__((unused)) int quick(void) {
    const char *q = getenv("CIRCA_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

/* The metric: max_i |a_i - b_i| / max(max_i |b_i|, REL_FLOOR), b the reference. */
static __attribute__((unused)) double rel_err(const float *a, const float *b, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d)) d = e; /* NaN propagates as a failure */
        if (fabs(b[i]) > m) m = fabs(b[i]);
    }
    return d / (m > REL_FLOOR ? m : REL_FLOOR);
}

static __attribute__((unused)) circa_nn_weights *fixture_open(const char *file) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/torch/%s", CIRCA_SOURCE_DIR, file);
    circa_nn_weights *w = NULL;
    circa_status st = circa_nn_weights_load(path, &w);
    cr_assert_eq(st, CIRCA_OK, "loading %s: %s", path, circa_strerror(st));
    return w;
}

static __attribute__((unused)) size_t rec_elems(const circa_nn_record *r) {
    size_t n = 1;
    for (int d = 0; d < r->ndim; d++) n *= r->shape[d];
    return n;
}

/* A float record's data; fails the test when missing. *n (may be NULL)
 * receives its element count. */
static __attribute__((unused)) const float *fx(const circa_nn_weights *w, const char *name, size_t *n) {
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
static __attribute__((unused)) double check_rec(const circa_nn_weights *w, const char *name, const float *got,
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
static __attribute__((unused)) float frand(void) { /* uniform in [-1, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 4503599627370496.0 - 1.0);
}
static __attribute__((unused)) float *rand_vec(size_t n) {
    float *v = malloc(n * sizeof *v);
    cr_assert(v);
    for (size_t i = 0; i < n; i++) v[i] = frand();
    return v;
}
static __attribute__((unused)) float *zeros(size_t n) {
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

static __attribute__((unused)) double fd_loss(const fd_op *op, float *y) {
    op->fwd(op->ctx, y);
    double s = 0;
    for (size_t i = 0; i < op->ny; i++) s += (double)y[i] * op->dy[i];
    return s;
}

/* Central differences of sum(y*dy) wrt v[0..n) against `analytic`; returns
 * max |fd - an| / max(max |an|, 1e-3). Probes at most 40 entries. */
static __attribute__((unused)) double fd_check(const fd_op *op, float *v, size_t n, const float *analytic, float h) {
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
#endif
