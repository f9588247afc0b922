/* test_pc.c: probabilistic circuits: cached conditionals against brute-force
 * marginals, EM monotonicity, exact coding round trips, model-file
 * validation, IDX headers, and learning + coding synthetic images. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "circa/pc.h"
#include "models/pc/pc_internal.h"

static int quick(void) {
    const char *q = getenv("CIRCA_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) { return circa_pc__rand(&rng_state); }

/* ---- conditionals ---------------------------------------------------------- */
Test(pc, conditionals_match_brute_force_marginals) {
    static const uint32_t Ks[] = {2, 3, 5, 16};
    int trials = quick() ? 40 : 200;
    for (int trial = 0; trial < trials; trial++) {
        uint32_t D = 1 + (uint32_t)(rnd() % 6), K = Ks[rnd() % 4], M = 1 + (uint32_t)(rnd() % 4);
        circa_pc *pc;
        cr_assert_eq(circa_pc__random(D, K, M, rnd(), &pc), CIRCA_OK);
        uint8_t rec[6], obs[6] = {0};
        for (uint32_t v = 0; v < D; v++) rec[v] = (uint8_t)(rnd() % K);
        double probs[6 * 16];
        cr_assert_eq(circa_pc__conditionals(pc, rec, probs), CIRCA_OK);
        const uint32_t *order = circa_pc_order(pc);
        for (uint32_t i = 0; i < D; i++) {
            uint32_t u = order[i];
            double before = circa_pc__marginal(pc, rec, obs), sum = 0;
            obs[u] = 1;
            uint8_t keep = rec[u];
            for (uint32_t x = 0; x < K; x++) {
                rec[u] = (uint8_t)x;
                double want = circa_pc__marginal(pc, rec, obs) / before;
                double got = probs[i * K + x];
                cr_assert(fabs(got - want) <= 1e-9 * (want > 1 ? want : 1),
                          "trial %d D=%u K=%u M=%u var %u x=%u: %.17g vs %.17g", trial, D, K, M, u,
                          x, got, want);
                sum += got;
            }
            rec[u] = keep;
            cr_assert(fabs(sum - 1) < 1e-12);
        }
        circa_pc_free(pc);
    }
}

/* ---- round trips ----------------------------------------------------------------- */
/* Encodes n records, decodes them, checks equality and the stream's end;
 * returns the coded length. */
static size_t round_trip(const circa_pc *pc, const uint8_t *rec, size_t n) {
    size_t D = circa_pc_num_vars(pc), cap = n * D * 2 + 64;
    uint8_t *dst = malloc(cap), *back = malloc(n * D + 1);
    circa_rc_enc enc;
    circa_rc_enc_init(&enc, dst, cap);
    cr_assert_eq(circa_pc_encode(pc, rec, n, &enc), CIRCA_OK);
    size_t len = circa_rc_enc_finish(&enc);
    cr_assert_gt(len, 0);
    circa_rc_dec dec;
    circa_rc_dec_init(&dec, dst, len);
    cr_assert_eq(circa_pc_decode(pc, &dec, back, n), CIRCA_OK);
    cr_assert_eq(circa_rc_dec_finish(&dec), 0);
    cr_assert_eq(memcmp(back, rec, n * D), 0);
    free(dst);
    free(back);
    return len;
}

Test(pc, round_trip_random_circuits) {
    static const uint32_t Ks[] = {2, 17, 256};
    int trials = quick() ? 15 : 60;
    for (int trial = 0; trial < trials; trial++) {
        uint32_t D = 1 + (uint32_t)(rnd() % 40), K = Ks[rnd() % 3], M = 1 + (uint32_t)(rnd() % 8);
        circa_pc *pc;
        cr_assert_eq(circa_pc__random(D, K, M, rnd(), &pc), CIRCA_OK);
        size_t n = 1 + rnd() % 20;
        uint8_t *rec = malloc(n * D);
        int skew = trial % 2; /* half the trials: mostly small values, some likely ones */
        for (size_t i = 0; i < n * D; i++) rec[i] = (uint8_t)(skew ? (rnd() % 4 ? 0 : rnd() % K) : rnd() % K);
        size_t len = round_trip(pc, rec, n);
        /* The coded size is the model's information content plus the coder's few bytes. */
        double bits = -circa_pc_loglik(pc, rec, n, 1) / log(2.0);
        cr_assert(len * 8.0 <= bits * 1.001 + 80 && len * 8.0 >= bits * 0.999 - 8,
                  "len %zu bytes vs %.1f bits", len, bits);
        free(rec);
        circa_pc_free(pc);
    }
}

Test(pc, encode_rejects_bytes_beyond_K) {
    circa_pc *pc;
    cr_assert_eq(circa_pc__random(4, 5, 2, 7, &pc), CIRCA_OK);
    uint8_t rec[4] = {1, 2, 5, 0}, dst[64];
    circa_rc_enc enc;
    circa_rc_enc_init(&enc, dst, sizeof dst);
    cr_assert_eq(circa_pc_encode(pc, rec, 1, &enc), CIRCA_E_PARAM);
    cr_assert(isnan(circa_pc_bpd(pc, rec, 1, 1)));
    circa_pc_free(pc);
}

typedef struct enc_job {
    const circa_pc *pc;
    const uint8_t *rec;
    size_t n, len;
    uint8_t out[1 << 14];
} enc_job;

static void *encode_job(void *arg) {
    enc_job *j = arg;
    circa_rc_enc enc;
    circa_rc_enc_init(&enc, j->out, sizeof j->out);
    if (circa_pc_encode(j->pc, j->rec, j->n, &enc) == CIRCA_OK) j->len = circa_rc_enc_finish(&enc);
    return NULL;
}

Test(pc, concurrent_encoders_on_one_model_agree) {
    circa_pc *pc;
    cr_assert_eq(circa_pc__random(30, 256, 6, 11, &pc), CIRCA_OK);
    uint8_t rec[30 * 16];
    for (size_t i = 0; i < sizeof rec; i++) rec[i] = (uint8_t)rnd();
    static enc_job jobs[4];
    pthread_t tid[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (enc_job){.pc = pc, .rec = rec, .n = 16};
        cr_assert_eq(pthread_create(&tid[t], NULL, encode_job, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++) pthread_join(tid[t], NULL);
    for (int t = 1; t < 4; t++) {
        cr_assert_eq(jobs[t].len, jobs[0].len);
        cr_assert_gt(jobs[t].len, 0);
        cr_assert_eq(memcmp(jobs[t].out, jobs[0].out, jobs[0].len), 0);
    }
    circa_pc_free(pc);
}

/* ---- EM ------------------------------------------------------------------------- */
/* Toy data with structure: a hidden class picks a prototype, bytes are the
 * prototype's with occasional noise; neighbours are correlated. */
static void toy_data(uint8_t *rec, size_t n, uint32_t D, uint32_t K, uint64_t seed) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint32_t cls = (uint32_t)(circa_pc__rand(&s) % 3);
        for (uint32_t v = 0; v < D; v++) {
            uint32_t base = (cls * 7 + v * (cls + 1)) % K;
            rec[i * D + v] = (uint8_t)(circa_pc__rand(&s) % 5 == 0 ? circa_pc__rand(&s) % K : base);
        }
    }
}

Test(pc, em_never_lowers_training_likelihood) {
    uint32_t D = 10, K = 6;
    size_t n = 400;
    uint8_t *rec = malloc(n * D);
    toy_data(rec, n, D, K, 5);
    circa_pc_learn_params p = circa_pc_learn_defaults();
    p.hidden = 4, p.categories = K, p.epochs = 0, p.full_epochs = 1, p.threads = 2;
    p.pseudocount = 0, p.input_pseudocount = 0; /* plain maximum likelihood EM */
    circa_pc *pc;
    cr_assert_eq(circa_pc_learn(rec, n, D, &p, &pc), CIRCA_OK);
    double prev = circa_pc_loglik(pc, rec, n, 1);
    for (int it = 0; it < 15; it++) {
        cr_assert_eq(circa_pc_em(pc, rec, n, &p), CIRCA_OK);
        double ll = circa_pc_loglik(pc, rec, n, 1);
        cr_assert(ll >= prev - 1e-4 * n, "iteration %d: %.6f < %.6f", it, ll, prev);
        prev = ll;
    }
    /* Against brute force: the float forward pass agrees with the double marginal. */
    uint8_t obs[10];
    memset(obs, 1, sizeof obs);
    double bf = 0;
    for (size_t i = 0; i < n; i++) bf += log(circa_pc__marginal(pc, rec + i * D, obs));
    cr_assert(fabs(bf - prev) < 1e-3 * fabs(bf), "%.6f vs %.6f", bf, prev);
    circa_pc_free(pc);
    free(rec);
}

Test(pc, learn_rejects_bad_parameters) {
    uint8_t rec[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    circa_pc_learn_params p = circa_pc_learn_defaults();
    circa_pc *pc = (circa_pc *)rec;
    p.hidden = 0;
    cr_assert_eq(circa_pc_learn(rec, 2, 4, &p, &pc), CIRCA_E_PARAM);
    cr_assert_null(pc);
    p = circa_pc_learn_defaults();
    p.categories = 4; /* bytes up to 7 */
    cr_assert_eq(circa_pc_learn(rec, 2, 4, &p, &pc), CIRCA_E_PARAM);
    p = circa_pc_learn_defaults();
    p.inertia_end = 1.0;
    cr_assert_eq(circa_pc_learn(rec, 2, 4, &p, &pc), CIRCA_E_PARAM);
}

/* ---- model file ------------------------------------------------------------------------ */
static circa_pc *small_model(uint8_t **file, size_t *n) {
    circa_pc *pc;
    cr_assert_eq(circa_pc__random(5, 4, 2, 3, &pc), CIRCA_OK);
    cr_assert_eq(circa_pc__set_recipe(pc, "test model"), CIRCA_OK);
    cr_assert_eq(circa_pc__finish(pc), CIRCA_OK);
    cr_assert_eq(circa_pc_save(pc, file, n), CIRCA_OK);
    return pc;
}

Test(pc, model_file_round_trip_and_id) {
    uint8_t *file;
    size_t n;
    circa_pc *pc = small_model(&file, &n), *back;
    cr_assert_eq(circa_pc_load(file, n, &back), CIRCA_OK);
    cr_assert_eq(circa_pc_id(back), circa_pc_id(pc));
    uint32_t crc = (uint32_t)file[n - 4] | (uint32_t)file[n - 3] << 8 | (uint32_t)file[n - 2] << 16 |
                   (uint32_t)file[n - 1] << 24;
    cr_assert_eq(circa_pc_id(pc), crc);
    cr_assert_str_eq(circa_pc_recipe(back), "test model");
    uint8_t rec[5 * 8];
    for (size_t i = 0; i < sizeof rec; i++) rec[i] = (uint8_t)(rnd() % 4);
    cr_assert_eq(round_trip(back, rec, 8), round_trip(pc, rec, 8));
    char path[512];
    snprintf(path, sizeof path, "%s/test_pc_model.pc", CIRCA_BINARY_DIR);
    cr_assert_eq(circa_pc_save_file(pc, path), CIRCA_OK);
    circa_pc *disk;
    cr_assert_eq(circa_pc_load_file(path, &disk), CIRCA_OK);
    cr_assert_eq(circa_pc_id(disk), circa_pc_id(pc));
    circa_pc_free(disk);
    remove(path);
    cr_assert_eq(circa_pc_load_file(path, &disk), CIRCA_E_IO);
    cr_assert_null(disk);
    circa_pc_free(back);
    circa_pc_free(pc);
    circa_pc_free(NULL);
    free(file);
}

Test(pc, model_file_truncation_and_corruption_rejected) {
    uint8_t *file;
    size_t n;
    circa_pc *pc = small_model(&file, &n), *back;
    for (size_t len = 0; len < n; len++) {
        circa_status st = circa_pc_load(file, len, &back);
        cr_assert(st == CIRCA_E_TRUNCATED || (len >= 4 && st == CIRCA_E_FORMAT), "length %zu: %d", len, st);
        cr_assert_null(back);
    }
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, file, n);
    longer[n] = 0;
    cr_assert_eq(circa_pc_load(longer, n + 1, &back), CIRCA_E_FORMAT);
    free(longer);
    for (size_t bit = 0; bit < n * 8; bit++) {
        file[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        circa_status st = circa_pc_load(file, n, &back);
        cr_assert_neq(st, CIRCA_OK, "bit %zu flipped was accepted", bit);
        cr_assert_null(back);
        if (bit / 8 >= 28 && bit / 8 < n - 4 && bit / 8 >= 28 + 10) /* past header and recipe */
            cr_assert(st == CIRCA_E_CHECKSUM || st == CIRCA_E_FORMAT || st == CIRCA_E_TRUNCATED);
        file[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    file[4] = 2;
    cr_assert_eq(circa_pc_load(file, n, &back), CIRCA_E_VERSION);
    file[4] = 1;
    memcpy(file, "XIPC", 4);
    cr_assert_eq(circa_pc_load(file, n, &back), CIRCA_E_FORMAT);
    circa_pc_free(pc);
    free(file);
}

/* ---- IDX ------------------------------------------------------------------------------- */
Test(pc, idx_headers) {
    uint8_t f[4 + 12 + 2 * 3 * 2] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 2};
    circa_idx_info info;
    cr_assert_eq(circa_idx_parse(f, sizeof f, &info), CIRCA_OK);
    cr_assert_eq(info.count, 2);
    cr_assert_eq(info.record_size, 6);
    cr_assert_eq(info.header_size, 16);
    cr_assert_eq(info.dims[1], 3);
    cr_assert_eq(circa_idx_parse(f, sizeof f - 1, &info), CIRCA_E_TRUNCATED);
    cr_assert_eq(circa_idx_parse(f, 10, &info), CIRCA_E_TRUNCATED);
    cr_assert_eq(circa_idx_parse(f, 3, &info), CIRCA_E_TRUNCATED);
    uint8_t g[sizeof f + 1] = {0};
    memcpy(g, f, sizeof f);
    cr_assert_eq(circa_idx_parse(g, sizeof g, &info), CIRCA_E_FORMAT);
    f[2] = 0x0A;
    cr_assert_eq(circa_idx_parse(f, sizeof f, &info), CIRCA_E_FORMAT);
    f[2] = 0x08, f[3] = 0;
    cr_assert_eq(circa_idx_parse(f, sizeof f, &info), CIRCA_E_FORMAT);
    f[3] = 3, f[0] = 1;
    cr_assert_eq(circa_idx_parse(f, sizeof f, &info), CIRCA_E_FORMAT);
}

/* ---- synthetic images ------------------------------------------------------------------- */
/* Fashion-MNIST-like W x W images: a garment-ish blob (an ellipse or a
 * rectangle with sleeves) of a per-image intensity with shading and noise on
 * a zero background. Train and test come from disjoint seeds. */
static void synth_images(uint8_t *img, size_t n, uint32_t W, uint64_t seed) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = img + i * W * W;
        int kind = (int)(circa_pc__rand(&s) % 2);
        double cx = W / 2.0 + (circa_pc__uniform(&s) - 0.5), cy = W / 2.0 + (circa_pc__uniform(&s) - 0.5);
        double rx = W * (0.2 + 0.2 * circa_pc__uniform(&s)), ry = W * (0.3 + 0.15 * circa_pc__uniform(&s));
        double level = 80 + 150 * circa_pc__uniform(&s);
        for (uint32_t y = 0; y < W; y++)
            for (uint32_t x = 0; x < W; x++) {
                double dx = (x + 0.5 - cx) / rx, dy = (y + 0.5 - cy) / ry;
                int in = kind ? dx * dx + dy * dy < 1
                              : (fabs(dx) < 1 && fabs(dy) < 1) || (fabs(dy + 0.7) < 0.3 && fabs(dx) < 1.6);
                double v = in ? level * (0.8 + 0.2 * (double)y / W) + 20 * (circa_pc__uniform(&s) - 0.5) : 0;
                p[y * W + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    }
}

Test(pc, learn_and_code_synthetic_images) {
    uint32_t W = quick() ? 8 : 12, D = W * W;
    size_t ntrain = quick() ? 300 : 1200, ntest = quick() ? 50 : 200;
    uint8_t *train = malloc(ntrain * D), *test = malloc(ntest * D);
    synth_images(train, ntrain, W, 1);
    synth_images(test, ntest, W, 0xC0FFEE); /* a different stream: no overlap with training */
    circa_pc_learn_params p = circa_pc_learn_defaults();
    p.hidden = quick() ? 4 : 8, p.epochs = 3, p.full_epochs = 1, p.batch = 128, p.threads = 2;
    circa_pc *pc;
    cr_assert_eq(circa_pc_learn(train, ntrain, D, &p, &pc), CIRCA_OK);
    double bpd = circa_pc_bpd(pc, test, ntest, 2);
    cr_assert(bpd > 0 && bpd < 5.5, "test bpd %.3f: the model learned too little", bpd);
    size_t len = round_trip(pc, test, ntest);
    double coded = len * 8.0 / ((double)ntest * D);
    cr_assert(coded <= bpd * 1.01 + 64.0 / ((double)ntest * D), "coded %.4f vs model %.4f", coded, bpd);
    /* The same seed and thread count give the same model. */
    circa_pc *again;
    cr_assert_eq(circa_pc_learn(train, ntrain, D, &p, &again), CIRCA_OK);
    cr_assert_eq(circa_pc_id(again), circa_pc_id(pc));
    circa_pc_free(again);
    circa_pc_free(pc);
    free(train);
    free(test);
}

/* ---- adaptive coding (circa_pc_online) ------------------------------------------------ */
static size_t online_encode(uint32_t D, uint32_t K, uint32_t M, const uint32_t *parent,
                            const uint8_t *rec, size_t n, uint8_t *dst, size_t cap) {
    circa_pc_online *o;
    cr_assert_eq(circa_pc_online_new(D, K, M, parent, 5, &o), CIRCA_OK);
    circa_rc_enc e;
    circa_rc_enc_init(&e, dst, cap);
    cr_assert_eq(circa_pc_online_encode(o, rec, n, &e), CIRCA_OK);
    circa_pc_online_free(o);
    size_t len = circa_rc_enc_finish(&e);
    cr_assert(len > 0);
    return len;
}

/* The decoder, learning from what it decodes, follows the encoder exactly;
 * a second encoder made alike writes the same bytes; bytes >= K are refused. */
Test(pc, online_round_trip_and_determinism) {
    uint32_t D = 9, K = 7, M = 4, parent[9] = {PC_NONE, 0, 0, 1, 1, 2, 5, 5, 0};
    size_t n = 700, cap = n * D + 64;
    uint8_t *rec = malloc(n * D), *a = malloc(cap), *b = malloc(cap), *back = malloc(n * D);
    toy_data(rec, n, D, K, 3);
    size_t la = online_encode(D, K, M, parent, rec, n, a, cap);
    size_t lb = online_encode(D, K, M, parent, rec, n, b, cap);
    cr_assert(la == lb && memcmp(a, b, la) == 0);
    circa_pc_online *o;
    cr_assert_eq(circa_pc_online_new(D, K, M, parent, 5, &o), CIRCA_OK);
    circa_rc_dec d;
    circa_rc_dec_init(&d, a, la);
    cr_assert_eq(circa_pc_online_decode(o, &d, back, n), CIRCA_OK);
    cr_assert_eq(circa_rc_dec_finish(&d), 0);
    cr_assert(memcmp(rec, back, n * D) == 0);
    circa_pc_online_free(o);
    rec[17] = (uint8_t)K;
    cr_assert_eq(circa_pc_online_new(D, K, M, parent, 5, &o), CIRCA_OK);
    circa_rc_enc e;
    circa_rc_enc_init(&e, a, cap);
    cr_assert_eq(circa_pc_online_encode(o, rec, n, &e), CIRCA_E_PARAM);
    circa_pc_online_free(o);
    uint32_t cycle[3] = {1, 2, 0}; /* no root: not a tree */
    cr_assert_eq(circa_pc_online_new(3, K, M, cycle, 5, &o), CIRCA_E_FORMAT);
    cr_assert_null(o);
    free(rec), free(a), free(b), free(back);
}

/* It learns: on records with hidden classes, the second half costs far
 * less than the first, and comes within 10% of a circuit trained offline by
 * EM on all the records (which also pays nothing for its parameters). */
Test(pc, online_learns_the_source, .timeout = 60) {
    uint32_t D = 12, K = 16, M = 4;
    size_t n = 4000, cap = n * D + 64;
    uint8_t *rec = malloc(n * D), *buf = malloc(cap);
    toy_data(rec, n, D, K, 99);
    circa_pc_learn_params p = circa_pc_learn_defaults();
    p.hidden = M, p.categories = K, p.epochs = 10, p.full_epochs = 3;
    circa_pc *offline;
    cr_assert_eq(circa_pc_learn(rec, n, D, &p, &offline), CIRCA_OK);
    double offline_bits = -circa_pc_loglik(offline, rec + (n / 2) * D, n - n / 2, 1) / log(2.0);
    size_t first = online_encode(D, K, M, offline->parent, rec, n / 2, buf, cap);
    size_t all = online_encode(D, K, M, offline->parent, rec, n, buf, cap);
    double second_bits = (double)(all - first) * 8;
    cr_assert(second_bits < first * 8 * 0.95, "no learning: %zu then %.0f bytes", first, second_bits / 8);
    cr_assert(second_bits < offline_bits * 1.10, "second half %.0f bits, offline EM %.0f",
              second_bits, offline_bits);
    circa_pc_free(offline);
    free(rec), free(buf);
}
