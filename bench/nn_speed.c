/* nn_speed.c: speed of the nn room's heavy ops and of one Conv-TasNet
 * training step (forward, PIT SI-SNR loss, backward, clipping, Adam) at the
 * shipped model size (models/separate-recipe.sh: N 64, L 16, B 64, H 128,
 * Sc 64, P 3, X 6, R 2, C 2, gLN), batch 4 x 2 s of 8 kHz audio.
 *
 *   nn_speed [-T THREADS] [-n REPS] [--step-only] [--ops-only] [--causal]
 *            [--batch B] [--seconds S]
 *   nn_speed --infer [--gpu] [--big | --model M.cnn] [-T THREADS] [-n REPS] [--causal]
 *            [--seconds S]
 *
 * --infer times inference only (circa_tasnet_infer, batch 1, S seconds,
 * default 8): on the CPU, or with --gpu on CUDA device 0 (host-to-device
 * and back included), at the shipped size or, with --big, tasnet.h's
 * default (N 128, L 16, B 64, H 256, Sc 64, P 3, X 8, R 3: 1.27M
 * parameters), or the model file M.cnn. It prints the median and the
 * real-time factor; bench/tasnet_infer_torch.py is PyTorch's side.
 *
 * Prints one line per measurement: "circa T=<threads> <what> median_ms <m>
 * min_ms <m> reps <n>". Times are wall-clock medians over REPS runs (after
 * one warm-up run); the step is also given in process CPU time (all
 * threads), which a busy machine disturbs less. bench/nn-speed.sh runs it beside PyTorch. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "circa/nn.h"
#include "circa/tasnet.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the whole process (all threads): on a loaded machine, a
 * steadier measure of the work than wall time. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(unsigned threads, const char *what, double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, cmp_d);
    double med = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    printf("circa T=%u %-28s median_ms %9.3f min_ms %9.3f reps %d\n", threads, what, 1e3 * med,
           1e3 * t[0], n);
    fflush(stdout);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void) { /* uniform in [-1, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 40) / (double)(1ull << 23) - 1.0);
}
static float *rvec(size_t n) {
    float *v = malloc(n * sizeof *v);
    if (!v) exit(2);
    for (size_t i = 0; i < n; i++) v[i] = frand();
    return v;
}
static float *zvec(size_t n) {
    float *v = calloc(n, sizeof *v);
    if (!v) exit(2);
    return v;
}

#define CHECK(e)                                                                             \
    do {                                                                                     \
        circa_status s_ = (e);                                                               \
        if (s_ != CIRCA_OK) {                                                                \
            fprintf(stderr, "nn_speed: %s: %s\n", #e, circa_strerror(s_));                   \
            exit(2);                                                                         \
        }                                                                                    \
    } while (0)

/* One conv1d at a model shape: forward, and backward with dx, dw, db. */
static void bench_conv(const char *name, circa_nn_conv1d c, int batch, int tin, int reps,
                       int want_dx) {
    int tout = circa_nn_conv1d_out_len(&c, tin);
    size_t nx = (size_t)batch * c.cin * tin, ny = (size_t)batch * c.cout * tout;
    size_t nw = (size_t)c.cout * (c.cin / c.groups) * c.k;
    float *x = rvec(nx), *w = rvec(nw), *b = rvec((size_t)c.cout), *dy = rvec(ny);
    float *y = zvec(ny), *dx = zvec(nx), *dw = zvec(nw), *db = zvec((size_t)c.cout);
    double *tf = malloc((size_t)reps * sizeof *tf), *tb = malloc((size_t)reps * sizeof *tb);
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        CHECK(circa_nn_conv1d_forward(&c, batch, tin, x, w, b, y));
        double t1 = now();
        CHECK(circa_nn_conv1d_backward(&c, batch, tin, x, w, dy, want_dx ? dx : NULL, dw, db));
        double t2 = now();
        if (r >= 0) tf[r] = t1 - t0, tb[r] = t2 - t1;
    }
    char what[64];
    snprintf(what, sizeof what, "%s fwd", name);
    report(c.threads, what, tf, reps);
    snprintf(what, sizeof what, "%s bwd", name);
    report(c.threads, what, tb, reps);
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db), free(tf), free(tb);
}

static void bench_tconv(const char *name, circa_nn_tconv1d c, int batch, int tin, int reps) {
    int tout = circa_nn_tconv1d_out_len(&c, tin);
    size_t nx = (size_t)batch * c.cin * tin, ny = (size_t)batch * c.cout * tout;
    size_t nw = (size_t)c.cin * c.cout * c.k;
    float *x = rvec(nx), *w = rvec(nw), *dy = rvec(ny);
    float *y = zvec(ny), *dx = zvec(nx), *dw = zvec(nw);
    double *tf = malloc((size_t)reps * sizeof *tf), *tb = malloc((size_t)reps * sizeof *tb);
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        CHECK(circa_nn_tconv1d_forward(&c, batch, tin, x, w, NULL, y));
        double t1 = now();
        CHECK(circa_nn_tconv1d_backward(&c, batch, tin, x, w, dy, dx, dw, NULL));
        double t2 = now();
        if (r >= 0) tf[r] = t1 - t0, tb[r] = t2 - t1;
    }
    char what[64];
    snprintf(what, sizeof what, "%s fwd", name);
    report(c.threads, what, tf, reps);
    snprintf(what, sizeof what, "%s bwd", name);
    report(c.threads, what, tb, reps);
    free(x), free(w), free(dy), free(y), free(dx), free(dw), free(tf), free(tb);
}

/* Inference of one batch-1 signal of t samples: median ms and RTF; the
 * model from `model` (a file) when not NULL, else random weights of cfg. */
static int bench_infer(circa_tasnet_config cfg, const char *model, int gpu, double seconds, int reps) {
    circa_tasnet *net;
    if (model) {
        CHECK(circa_tasnet_load(model, cfg.threads, &net));
        cfg = *circa_tasnet_get_config(net);
    } else {
        CHECK(circa_tasnet_create(&cfg, 1, &net));
    }
    int t = (int)(seconds * 8000);
    t -= (t - cfg.L) % (cfg.L / 2);
    if (gpu) {
        const char *why = NULL;
        if (circa_tasnet_use_cuda(net, CIRCA_TASNET_GPU, &why) != CIRCA_OK) {
            fprintf(stderr, "nn_speed: no GPU inference: %s\n", why ? why : "?");
            circa_tasnet_free(net);
            return 2;
        }
    }
    float *mix = rvec((size_t)t), *est = zvec((size_t)cfg.C * t);
    double *tf = malloc((size_t)reps * sizeof *tf);
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        CHECK(circa_tasnet_infer(net, 1, t, mix, est));
        if (r >= 0) tf[r] = now() - t0;
    }
    char what[96];
    const char *label = cfg.H == 256 ? "1.27M" : "small";
    if (model) label = strrchr(model, '/') ? strrchr(model, '/') + 1 : model;
    snprintf(what, sizeof what, "infer %s %.0f s %s", label, seconds, gpu ? "GPU" : "CPU");
    report(cfg.threads, what, tf, reps);
    printf("circa T=%u %-28s rtf %.5f\n", cfg.threads, what, tf[reps / 2] / seconds);
    free(mix), free(est), free(tf);
    circa_tasnet_free(net);
    return 0;
}

int main(int argc, char **argv) {
    unsigned threads = 1;
    int reps = 5, step = 1, ops = 1, causal = 0, batch = 4, infer = 0, gpu = 0, big = 0;
    const char *model = NULL;
    double seconds = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-T") && i + 1 < argc) threads = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--step-only")) ops = 0;
        else if (!strcmp(argv[i], "--ops-only")) step = 0;
        else if (!strcmp(argv[i], "--causal")) causal = 1;
        else if (!strcmp(argv[i], "--infer")) infer = 1;
        else if (!strcmp(argv[i], "--gpu")) gpu = 1;
        else if (!strcmp(argv[i], "--big")) big = 1;
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else {
            fprintf(stderr, "usage: nn_speed [-T THREADS] [-n REPS] [--step-only] [--ops-only] "
                            "[--causal] [--batch B] [--seconds S]\n"
                            "       nn_speed --infer [--gpu] [--big | --model M.cnn] [-T THREADS] [-n REPS] "
                            "[--causal] [--seconds S]\n");
            return 1;
        }
    }
    if (seconds == 0) seconds = infer ? 8.0 : 2.0;
    if (reps < 1 || batch < 1 || seconds <= 0) return 1;
    /* The shipped small models' config (models/separate-recipe.sh). */
    circa_tasnet_config cfg = {64, 16, 64, 128, 64, 3, 6, 2, 2, causal, threads};
    if (infer) {
        if (big) {
            cfg = circa_tasnet_config_default();
            cfg.causal = causal, cfg.threads = threads;
        }
        return bench_infer(cfg, model, gpu, seconds, reps);
    }
    int t = (int)(seconds * 8000);
    t -= (t - cfg.L) % (cfg.L / 2);
    int k = circa_tasnet_frames(&cfg, t);
    if (!k) return 1;
    printf("# config N %d L %d B %d H %d Sc %d P %d X %d R %d C %d %s; batch %d x %d samples (%d frames)\n",
           cfg.N, cfg.L, cfg.B, cfg.H, cfg.Sc, cfg.P, cfg.X, cfg.R, cfg.C, causal ? "cLN" : "gLN",
           batch, t, k);
    if (ops) {
        circa_nn_conv1d enc = {1, cfg.N, cfg.L, cfg.L / 2, 1, 0, 0, 1, threads};
        circa_nn_conv1d pin = {cfg.B, cfg.H, 1, 1, 1, 0, 0, 1, threads};
        circa_nn_conv1d pout = {cfg.H, cfg.B, 1, 1, 1, 0, 0, 1, threads};
        circa_nn_conv1d dw = {cfg.H, cfg.H, cfg.P, 1, 4, 4, 4, cfg.H, threads};
        circa_nn_tconv1d dec = {cfg.N, 1, cfg.L, cfg.L / 2, threads};
        bench_conv("encoder 1->64 k16 s8", enc, batch, t, reps, 0);
        bench_conv("1x1 64->128", pin, batch, k, reps, 1);
        bench_conv("1x1 128->64", pout, batch, k, reps, 1);
        bench_conv("1x1 128->64 (dw db only)", pout, batch, k, reps, 0);
        bench_conv("depthwise 128 k3 d4", dw, batch, k, reps, 1);
        bench_tconv("decoder 64->1 k16 s8", dec, batch * cfg.C, k, reps);
    }
    if (step) {
        circa_tasnet *net;
        CHECK(circa_tasnet_create(&cfg, 1, &net));
        size_t np;
        circa_nn_param *ps = circa_tasnet_params(net, &np);
        float *mix = rvec((size_t)batch * t), *src = rvec((size_t)batch * cfg.C * t);
        float *est = zvec((size_t)batch * cfg.C * t), *dest = zvec((size_t)batch * cfg.C * t);
        circa_nn_adam adam = circa_nn_adam_default();
        double *tf = malloc((size_t)reps * sizeof *tf), *tb = malloc((size_t)reps * sizeof *tb);
        double *ts = malloc((size_t)reps * sizeof *ts), *tc = malloc((size_t)reps * sizeof *tc);
        for (int r = -1; r < reps; r++) {
            double c0 = cpu_now(), t0 = now();
            CHECK(circa_tasnet_forward(net, batch, t, mix, est));
            float loss;
            memset(dest, 0, (size_t)batch * cfg.C * t * sizeof *dest);
            CHECK(circa_nn_pit_loss(batch, cfg.C, (size_t)t, est, src, &loss, dest, NULL));
            double t1 = now();
            circa_nn_params_zero_grad(ps, np);
            CHECK(circa_tasnet_backward(net, dest));
            float norm;
            if (circa_nn_clip_grad_norm(ps, np, 5.0f, &norm) == CIRCA_OK)
                CHECK(circa_nn_adam_step(&adam, ps, np));
            double t2 = now(), c2 = cpu_now();
            if (r >= 0) tf[r] = t1 - t0, tb[r] = t2 - t1, ts[r] = t2 - t0, tc[r] = c2 - c0;
        }
        report(threads, "step forward+loss", tf, reps);
        report(threads, "step backward+adam", tb, reps);
        report(threads, "training step", ts, reps);
        report(threads, "training step (CPU time)", tc, reps);
        free(mix), free(src), free(est), free(dest), free(tf), free(tb), free(ts), free(tc);
        circa_tasnet_free(net);
    }
    return 0;
}
