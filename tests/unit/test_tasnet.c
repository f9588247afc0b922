/* test_tasnet.c: Conv-TasNet: forward, PIT loss and every parameter
 * gradient against PyTorch (gLN and causal cLN), causality, files, finite
 * differences and a few training steps. */
#include "nn_fixtures.h"


#include "circa/cuda.h"
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

/* Inference keeps fewer activations but must give the same floats as the
 * training forward, for gLN and cLN, one and three blocks (one block: the
 * residual buffers are not reused); backward refuses after it. */
Test(tasnet, infer_equals_forward) {
    for (int v = 0; v < 4; v++) {
        circa_tasnet_config cfg = {32, 8, 16, 64, 16, 3, v < 2 ? 3 : 1, 1, 2, v % 2, 2};
        int t = 804;
        float *mix = rand_vec((size_t)t), *e1 = zeros(2 * (size_t)t), *e2 = zeros(2 * (size_t)t);
        circa_tasnet *net;
        cr_assert_eq(circa_tasnet_create(&cfg, 5, &net), CIRCA_OK);
        cr_assert_eq(circa_tasnet_forward(net, 1, t, mix, e1), CIRCA_OK);
        cr_assert_eq(circa_tasnet_infer(net, 1, t, mix, e2), CIRCA_OK);
        cr_expect_arr_eq(e1, e2, 2 * (size_t)t * sizeof(float), "variant %d", v);
        cr_expect_eq(circa_tasnet_backward(net, e2), CIRCA_E_STATE);
        cr_assert_eq(circa_tasnet_forward(net, 1, t, mix, e2), CIRCA_OK); /* back to keeping */
        cr_expect_arr_eq(e1, e2, 2 * (size_t)t * sizeof(float));
        cr_expect_eq(circa_tasnet_backward(net, e2), CIRCA_OK);
        circa_tasnet_free(net);
        free(mix), free(e1), free(e2);
    }
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

/* Parses net's parameters with config record cfgv as a weight file and
 * builds a model from it: the status of circa_tasnet_from_weights. */
static circa_status load_with_config(circa_tasnet *net, const int32_t cfgv[10]) {
    size_t np;
    circa_nn_param *ps = circa_tasnet_params(net, &np);
    circa_nn_record *recs = calloc(np + 1, sizeof *recs);
    cr_assert(recs);
    recs[0] = (circa_nn_record){"tasnet.config", CIRCA_NN_I32, 1, {10}, cfgv};
    for (size_t i = 0; i < np; i++) {
        recs[i + 1] = (circa_nn_record){ps[i].name, CIRCA_NN_F32, ps[i].ndim, {0}, ps[i].w};
        memcpy(recs[i + 1].shape, ps[i].shape, sizeof recs[i + 1].shape);
    }
    uint8_t *buf;
    size_t len;
    cr_assert_eq(circa_nn_weights_encode(recs, np + 1, &buf, &len), CIRCA_OK);
    circa_nn_weights *w;
    cr_assert_eq(circa_nn_weights_parse(buf, len, &w), CIRCA_OK);
    circa_tasnet *back = (circa_tasnet *)1;
    circa_status st = circa_tasnet_from_weights(w, 1, &back);
    if (st != CIRCA_OK) cr_expect_null(back);
    circa_tasnet_free(back);
    circa_nn_weights_free(w);
    free(buf);
    free(recs);
    return st;
}

/* A valid weight file whose config claims a far larger model (gigabytes of
 * parameters) is refused before allocating, and so is a non-finite weight. */
Test(tasnet, weight_files_that_lie_are_refused) {
    circa_tasnet_config cfg = tiny(0);
    circa_tasnet *net;
    cr_assert_eq(circa_tasnet_create(&cfg, 3, &net), CIRCA_OK);
    int32_t cfgv[10] = {cfg.N, cfg.L, cfg.B, cfg.H, cfg.Sc, cfg.P, cfg.X, cfg.R, cfg.C, cfg.causal};
    cr_expect_eq(load_with_config(net, cfgv), CIRCA_OK);
    int32_t huge[10] = {4096, 16, 4096, 4096, 4096, 63, 16, 16, 4, 0};
    cr_expect_eq(load_with_config(net, huge), CIRCA_E_FORMAT);
    int32_t wider[10] = {cfg.N, cfg.L, cfg.B, cfg.H + 1, cfg.Sc, cfg.P, cfg.X, cfg.R, cfg.C, cfg.causal};
    cr_expect_eq(load_with_config(net, wider), CIRCA_E_FORMAT);
    size_t np;
    circa_nn_param *ps = circa_tasnet_params(net, &np);
    ps[np / 2].w[0] = NAN;
    cr_expect_eq(load_with_config(net, cfgv), CIRCA_E_FORMAT);
    ps[np / 2].w[0] = INFINITY;
    cr_expect_eq(load_with_config(net, cfgv), CIRCA_E_FORMAT);
    circa_tasnet_free(net);
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
    cfg.R = 0x7fffffff; /* X * R would overflow (found by fuzz_nn_weights) */
    cr_expect_eq(circa_tasnet_config_check(&cfg), CIRCA_E_PARAM);
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

/* `steps` training steps (PIT loss, clipping at 5, Adam at lr) on one batch:
 * mix [batch][t] against ref [batch][2][t]; *first and *last get the loss
 * of the first and the last step. */
static void train_steps(circa_tasnet *net, int batch, int t, const float *mix, const float *ref, float lr,
                        int steps, float *first, float *last) {
    size_t ne = (size_t)batch * 2 * t, np;
    circa_nn_param *ps = circa_tasnet_params(net, &np);
    float *est = zeros(ne), *dest = zeros(ne), loss = 0;
    circa_nn_adam a = circa_nn_adam_default();
    a.lr = lr;
    for (int s = 0; s < steps; s++) {
        cr_assert_eq(circa_tasnet_forward(net, batch, t, mix, est), CIRCA_OK);
        memset(dest, 0, ne * sizeof *dest);
        cr_assert_eq(circa_nn_pit_loss(batch, 2, (size_t)t, est, ref, &loss, dest, NULL), CIRCA_OK);
        if (s == 0) *first = loss;
        circa_nn_params_zero_grad(ps, np);
        cr_assert_eq(circa_tasnet_backward(net, dest), CIRCA_OK);
        cr_assert_eq(circa_nn_clip_grad_norm(ps, np, 5.0f, NULL), CIRCA_OK);
        cr_assert_eq(circa_nn_adam_step(&a, ps, np), CIRCA_OK);
    }
    *last = loss;
    free(est), free(dest);
}

Test(tasnet, training_steps_decrease_loss) {
    circa_tasnet_config cfg = tiny(0);
    circa_tasnet *net;
    cr_assert_eq(circa_tasnet_create(&cfg, 11, &net), CIRCA_OK);
    int batch = 2, t = 66;
    size_t ne = (size_t)batch * 2 * t;
    float *ref = rand_vec(ne), *mix = zeros((size_t)batch * t);
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < t; i++) {
            ref[(b * 2 + 1) * t + i] = 0.5f * sinf(0.7f * i + b); /* one noise-like, one tonal */
            mix[b * t + i] = ref[(b * 2) * t + i] + ref[(b * 2 + 1) * t + i];
        }
    float first = 0, loss = 0;
    int steps = quick() ? 15 : 40;
    train_steps(net, batch, t, mix, ref, 5e-3f, steps, &first, &loss);
    fprintf(stderr, "tasnet training: loss %.3f -> %.3f in %d steps\n", first, loss, steps);
    cr_expect(loss < first - 1.0f, "loss %g -> %g", first, loss);
    circa_tasnet_free(net);
    free(ref); free(mix);
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

/* ---- GPU inference (section 6) ------------------------------------------------ */
/* Without a device (or a CUDA build) moving a model to the GPU is refused
 * with a reason, and the model keeps working on the CPU. */
Test(tasnet, gpu_refused_without_a_device) {
    if (circa_cuda_available()) cr_skip_test("a CUDA device is present");
    circa_tasnet_config cfg = tiny(0);
    circa_tasnet *net;
    cr_assert_eq(circa_tasnet_create(&cfg, 3, &net), CIRCA_OK);
    const char *why = NULL;
    circa_status st = circa_tasnet_use_cuda(net, CIRCA_TASNET_GPU, &why);
    cr_expect_eq(st, circa_cuda_compiled() ? CIRCA_E_DEVICE : CIRCA_E_UNSUPPORTED, "status %d", (int)st);
    cr_assert_not_null(why);
    cr_expect_gt(strlen(why), 0);
    cr_expect_eq(circa_tasnet_on_cuda(net), CIRCA_TASNET_CPU);
    cr_expect_eq(circa_tasnet_use_cuda(net, CIRCA_TASNET_GPU_TRAIN, NULL),
                 circa_cuda_compiled() ? CIRCA_E_DEVICE : CIRCA_E_UNSUPPORTED);
    cr_expect_eq(circa_tasnet_use_cuda(net, CIRCA_TASNET_CPU, NULL), CIRCA_OK);
    cr_expect_eq(circa_tasnet_use_cuda(net, (circa_tasnet_device)7, NULL), CIRCA_E_PARAM);
    cr_expect_eq(circa_tasnet_use_cuda(NULL, CIRCA_TASNET_GPU, NULL), CIRCA_E_PARAM);
    int t = 82;
    float *mix = rand_vec((size_t)t), *est = zeros(2 * (size_t)t);
    cr_expect_eq(circa_tasnet_forward(net, 1, t, mix, est), CIRCA_OK);
    circa_tasnet_free(net);
    free(mix); free(est);
}

/* One model, CPU then GPU then CPU again: the GPU's output within 1e-4 of
 * the CPU's (rel_err), backward refused while on the GPU, and the CPU's
 * output unchanged (bit for bit) after coming back. */
static void gpu_vs_cpu(const char *what, circa_tasnet *net, int batch, int t) {
    const circa_tasnet_config *cfg = circa_tasnet_get_config(net);
    size_t ne = (size_t)batch * cfg->C * t;
    float *mix = rand_vec((size_t)batch * t), *cpu = zeros(ne), *gpu = zeros(ne), *again = zeros(ne);
    cr_assert_eq(circa_tasnet_forward(net, batch, t, mix, cpu), CIRCA_OK);
    const char *why = NULL;
    cr_assert_eq(circa_tasnet_use_cuda(net, CIRCA_TASNET_GPU, &why), CIRCA_OK, "%s: %s", what, why ? why : "?");
    cr_assert_eq(circa_tasnet_on_cuda(net), CIRCA_TASNET_GPU);
    for (int rep = 0; rep < 2; rep++) { /* the second reuses the session's buffers */
        cr_assert_eq(circa_tasnet_forward(net, batch, t, mix, gpu), CIRCA_OK);
        double e = rel_err(gpu, cpu, ne);
        fprintf(stderr, "%s: GPU vs CPU rel err %.3g (batch %d, %d samples)\n", what, e, batch, t);
        cr_expect(e < FIXTURE_TOL, "%s: %g", what, e);
    }
    cr_expect_eq(circa_tasnet_backward(net, gpu), CIRCA_E_STATE);
    cr_assert_eq(circa_tasnet_use_cuda(net, CIRCA_TASNET_CPU, NULL), CIRCA_OK);
    cr_assert_eq(circa_tasnet_forward(net, batch, t, mix, again), CIRCA_OK);
    cr_expect_arr_eq(again, cpu, ne * sizeof *cpu, "%s: CPU result changed", what);
    free(mix); free(cpu); free(gpu); free(again);
}

Test(tasnet, gpu_matches_cpu, .timeout = 300) {
    if (!circa_cuda_available()) cr_skip_test("no CUDA device");
    for (int causal = 0; causal < 2; causal++) {
        /* the paper's default size; 2000 frames: cLN's scan spans many runs */
        circa_tasnet_config cfg = circa_tasnet_config_default();
        cfg.causal = causal;
        cfg.threads = 2;
        circa_tasnet *net;
        cr_assert_eq(circa_tasnet_create(&cfg, 31 + causal, &net), CIRCA_OK);
        gpu_vs_cpu(causal ? "default cLN" : "default gLN", net, 2, 16008);
        gpu_vs_cpu(causal ? "default cLN, short" : "default gLN, short", net, 1, 88);
        circa_tasnet_free(net);
        /* odd sizes, P 5, four sources */
        circa_tasnet_config odd = {24, 6, 10, 20, 12, 5, 3, 2, 4, causal, 1};
        cr_assert_eq(circa_tasnet_create(&odd, 7, &net), CIRCA_OK);
        gpu_vs_cpu(causal ? "odd cLN" : "odd gLN", net, 3, 903);
        circa_tasnet_free(net);
    }
    /* the shipped models */
    const char *models[] = {"separate-gln.cnn", "separate-gln-small.cnn", "separate-cln-small.cnn"};
    for (int i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/models/%s", CIRCA_SOURCE_DIR, models[i]);
        circa_tasnet *net;
        cr_assert_eq(circa_tasnet_load(path, 2, &net), CIRCA_OK, "%s", path);
        const circa_tasnet_config *c = circa_tasnet_get_config(net);
        gpu_vs_cpu(models[i], net, 1, (c->L / 2) * 4000 + c->L / 2);
        circa_tasnet_free(net);
    }
}

/* The GPU against PyTorch's own output on the fixture models. */
Test(tasnet, gpu_matches_torch) {
    if (!circa_cuda_available()) cr_skip_test("no CUDA device");
    const char *tags[] = {"tasnet_gln", "tasnet_cln"};
    for (int i = 0; i < 2; i++) {
        char file[64];
        snprintf(file, sizeof file, "%s.cnn", tags[i]);
        circa_nn_weights *mw = fixture_open(file);
        snprintf(file, sizeof file, "%s_io.cnn", tags[i]);
        circa_nn_weights *io = fixture_open(file);
        circa_tasnet *net;
        cr_assert_eq(circa_tasnet_from_weights(mw, 1, &net), CIRCA_OK);
        cr_assert_eq(circa_tasnet_use_cuda(net, CIRCA_TASNET_GPU, NULL), CIRCA_OK);
        const circa_nn_record *mr = circa_nn_weights_find(io, "mix");
        int batch = (int)mr->shape[0], t = (int)mr->shape[1];
        size_t ne = (size_t)batch * circa_tasnet_get_config(net)->C * t;
        float *est = zeros(ne);
        cr_assert_eq(circa_tasnet_forward(net, batch, t, mr->data, est), CIRCA_OK);
        fprintf(stderr, "%s on the GPU: ", tags[i]);
        check_rec(io, "est", est, ne);
        free(est);
        circa_tasnet_free(net); /* frees the GPU session too */
        circa_nn_weights_free(mw);
        circa_nn_weights_free(io);
    }
}

/* GPU training: the output and every parameter's gradient against the
 * CPU's on the same model, batch and dest. Per tensor (max abs difference
 * over the largest magnitude) within tol; and over all gradients together,
 * relative L2 within tol_l2.
 *
 * PReLU's derivative jumps at 0 (1 above, the slope below), so where an
 * activation lies within rounding of 0 the CPU and the GPU may put it on
 * different sides, and every gradient upstream of that layer moves by up to
 * a few percent per tensor. On the CPU alone, a rounding-sized change of the
 * input (2e-7 relative) does the same (bench/tasnet_kinks.c): of 20 random
 * 2-block default-width models, 4 moved their gradients by 4e-4 to 1.9e-3 in
 * L2 (one PReLU slope's by 10x), the others by 4e-7; with every slope set to
 * 1 (no kink) all stayed within 4.4e-7. So each model is compared twice: smooth (slopes 1), held tightly per
 * tensor, and as initialised (slopes 0.25), held to an L2 bound that allows
 * for such a flip. */
static void gpu_grads_vs_cpu(const char *what, circa_tasnet *net, int batch, int t, double tol, double tol_l2) {
    const circa_tasnet_config *cfg = circa_tasnet_get_config(net);
    size_t ne = (size_t)batch * cfg->C * t, np;
    circa_nn_param *ps = circa_tasnet_params(net, &np);
    float *mix = rand_vec((size_t)batch * t), *dest = rand_vec(ne), *cpu = zeros(ne), *gpu = zeros(ne);
    float **g = calloc(np, sizeof *g);
    cr_assert_eq(circa_tasnet_forward(net, batch, t, mix, cpu), CIRCA_OK);
    circa_nn_params_zero_grad(ps, np);
    cr_assert_eq(circa_tasnet_backward(net, dest), CIRCA_OK);
    for (size_t i = 0; i < np; i++) {
        g[i] = zeros(ps[i].size);
        memcpy(g[i], ps[i].g, ps[i].size * sizeof(float));
    }
    const char *why = NULL;
    cr_assert_eq(circa_tasnet_use_cuda(net, CIRCA_TASNET_GPU_TRAIN, &why), CIRCA_OK, "%s", why ? why : "?");
    cr_assert_eq(circa_tasnet_forward(net, batch, t, mix, gpu), CIRCA_OK);
    double e = rel_err(gpu, cpu, ne), worst = 0, num = 0, den = 0;
    cr_expect(e < FIXTURE_TOL, "%s: output %g", what, e);
    circa_nn_params_zero_grad(ps, np);
    cr_assert_eq(circa_tasnet_backward(net, dest), CIRCA_OK, "%s: GPU backward failed", what);
    const char *worst_name = "";
    for (size_t i = 0; i < np; i++) {
        double ge = rel_err(ps[i].g, g[i], ps[i].size);
        if (!(ge <= worst)) worst = ge, worst_name = ps[i].name;
        if (tol > 0) cr_expect(ge < tol, "%s: gradient of %s: %g", what, ps[i].name, ge);
        for (size_t j = 0; j < ps[i].size; j++) {
            double d = (double)ps[i].g[j] - g[i][j];
            num += d * d, den += (double)g[i][j] * g[i][j];
        }
        free(g[i]);
    }
    double l2 = sqrt(num / (den > 0 ? den : 1));
    fprintf(stderr, "%s: GPU training vs CPU: output %.3g, gradients L2 %.3g, worst tensor %.3g (%s), %zu tensors\n",
            what, e, l2, worst, worst_name, np);
    cr_expect(l2 < tol_l2, "%s: gradients' relative L2 %g", what, l2);
    cr_assert_eq(circa_tasnet_use_cuda(net, CIRCA_TASNET_CPU, NULL), CIRCA_OK);
    free(g), free(mix), free(dest), free(cpu), free(gpu);
}

/* Every PReLU slope set to 1: the model is smooth (see gpu_grads_vs_cpu). */
static void unkink(circa_tasnet *net) {
    size_t np;
    circa_nn_param *ps = circa_tasnet_params(net, &np);
    for (size_t i = 0; i < np; i++)
        if (strstr(ps[i].name, "prelu"))
            for (size_t j = 0; j < ps[i].size; j++) ps[i].w[j] = 1.0f;
}

/* One model both ways: as initialised (kinked), held to 1e-2 in L2 (a flip
 * moves it by about 2e-3); then smooth, held to 1e-3 per tensor and 1e-5 in
 * L2 (measured on an H200: at most 2.8e-4 per tensor, a PReLU slope's sum,
 * and 8.8e-7 in L2, over all six models). */
static void gpu_grads_both(const char *what, const circa_tasnet_config *cfg, uint64_t seed, int batch, int t) {
    circa_tasnet *net;
    char name[80];
    cr_assert_eq(circa_tasnet_create(cfg, seed, &net), CIRCA_OK);
    snprintf(name, sizeof name, "%s, kinked", what);
    gpu_grads_vs_cpu(name, net, batch, t, 0, 1e-2);
    unkink(net);
    snprintf(name, sizeof name, "%s, smooth", what);
    gpu_grads_vs_cpu(name, net, batch, t, 1e-3, 1e-5);
    circa_tasnet_free(net);
}

Test(tasnet, gpu_gradients_match_cpu, .timeout = 300) {
    if (!circa_cuda_available()) cr_skip_test("no CUDA device");
    for (int causal = 0; causal < 2; causal++) {
        const char *kind = causal ? "cLN" : "gLN";
        char what[64];
        /* odd sizes, P 5, four sources */
        circa_tasnet_config odd = {24, 6, 10, 20, 12, 5, 3, 2, 4, causal, 1};
        snprintf(what, sizeof what, "odd %s", kind);
        gpu_grads_both(what, &odd, 9, 3, 903);
        /* the default widths, two blocks; 2000 frames: cLN's scans span many runs */
        circa_tasnet_config cfg = circa_tasnet_config_default();
        cfg.X = 2, cfg.R = 1, cfg.causal = causal, cfg.threads = 2;
        snprintf(what, sizeof what, "wide %s", kind);
        gpu_grads_both(what, &cfg, 41 + causal, 2, 16008);
        /* the default model, 24 blocks */
        cfg = circa_tasnet_config_default();
        cfg.causal = causal, cfg.threads = 2;
        snprintf(what, sizeof what, "default %s", kind);
        gpu_grads_both(what, &cfg, 51 + causal, 2, 16008);
    }
}

/* Adam steps on the host between GPU passes: the loss falls, and the GPU
 * sees each step's weights (the forward after a backward re-uploads them). */
Test(tasnet, gpu_training_steps_use_new_weights, .timeout = 120) {
    if (!circa_cuda_available()) cr_skip_test("no CUDA device");
    circa_tasnet_config cfg = {32, 8, 16, 32, 16, 3, 3, 2, 2, 0, 1};
    circa_tasnet *net;
    cr_assert_eq(circa_tasnet_create(&cfg, 13, &net), CIRCA_OK);
    cr_assert_eq(circa_tasnet_use_cuda(net, CIRCA_TASNET_GPU_TRAIN, NULL), CIRCA_OK);
    int batch = 2, t = 2004;
    size_t ne = (size_t)batch * 2 * t;
    float *mix = rand_vec((size_t)batch * t), *ref = rand_vec(ne), *est = zeros(ne), *cpu = zeros(ne);
    for (size_t i = 0; i < (size_t)batch * t; i++) mix[i] = ref[i] + ref[(size_t)t + i];
    float first = 0, loss = 0;
    train_steps(net, batch, t, mix, ref, 1e-3f, 30, &first, &loss);
    fprintf(stderr, "GPU training: loss %.3f -> %.3f in 30 steps\n", first, loss);
    cr_expect_lt(loss, first - 1.0f, "loss %g -> %g", first, loss);
    cr_assert_eq(circa_tasnet_forward(net, batch, t, mix, est), CIRCA_OK); /* after the last step */
    cr_assert_eq(circa_tasnet_use_cuda(net, CIRCA_TASNET_CPU, NULL), CIRCA_OK);
    cr_assert_eq(circa_tasnet_forward(net, batch, t, mix, cpu), CIRCA_OK);
    double e = rel_err(est, cpu, ne);
    cr_expect(e < FIXTURE_TOL, "GPU used stale weights: %g", e);
    circa_tasnet_free(net);
    free(mix), free(ref), free(est), free(cpu);
}
