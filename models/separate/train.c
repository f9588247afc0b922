/* train.c: the Conv-TasNet training loop for two-speaker separation: PIT SI-SNR loss, Adam with clipping, validation SI-SNRi on held-out speakers, LR halving on plateaus, early stop, checkpoints and resume. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "circa/separate.h"

circa_separate_train_config circa_separate_train_config_default(void) {
    circa_separate_train_config c = {0, 4.0, 4, 1e-3f, 1, 100, 16, 100, 3, 3, NULL, NULL, 0, 1};
    return c;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Counters saved in the checkpoint next to Adam's moments. */
typedef struct train_state {
    int32_t step, epoch, bad, halvings;
    float lr, best;
    int32_t adam_step;
} train_state;

/* ---- checkpoints: MODEL.ckpt (the model file) + MODEL.ckpt.opt (moments, counters) ---- */

static circa_status save_opt(const char *path, circa_nn_param *ps, size_t np, const train_state *s) {
    circa_nn_record *r = calloc(2 * np + 2, sizeof *r);
    char (*names)[CIRCA_NN_NAME_MAX + 4] = calloc(2 * np, sizeof *names);
    circa_status st = r && names ? CIRCA_OK : CIRCA_E_NOMEM;
    int32_t iv[5] = {s->step, s->epoch, s->bad, s->halvings, s->adam_step};
    float fv[2] = {s->lr, s->best};
    for (size_t i = 0; st == CIRCA_OK && i < np; i++)
        for (int k = 0; k < 2; k++) {
            char *n = names[2 * i + (size_t)k];
            snprintf(n, CIRCA_NN_NAME_MAX + 4, "%s%s", k ? "v:" : "m:", ps[i].name);
            r[2 * i + (size_t)k] = (circa_nn_record){n, CIRCA_NN_F32, ps[i].ndim, {0}, k ? ps[i].v : ps[i].m};
            memcpy(r[2 * i + (size_t)k].shape, ps[i].shape, sizeof ps[i].shape);
        }
    if (st == CIRCA_OK) {
        r[2 * np] = (circa_nn_record){"train.counters", CIRCA_NN_I32, 1, {5}, iv};
        r[2 * np + 1] = (circa_nn_record){"train.rates", CIRCA_NN_F32, 1, {2}, fv};
        st = circa_nn_weights_write(path, r, 2 * np + 2);
    }
    free(r);
    free(names);
    return st;
}

static circa_status copy_rec(const circa_nn_weights *w, const char *name, float *dst, size_t n) {
    const circa_nn_record *r = circa_nn_weights_find(w, name);
    if (!r) return CIRCA_E_MODEL;
    size_t sz = 1;
    for (int d = 0; d < r->ndim; d++) sz *= r->shape[d];
    if (r->dtype != CIRCA_NN_F32 || sz != n) return CIRCA_E_FORMAT;
    memcpy(dst, r->data, n * sizeof *dst);
    return CIRCA_OK;
}

static circa_status load_ckpt(const char *path, circa_nn_param *ps, size_t np, train_state *s) {
    circa_nn_weights *w = NULL;
    circa_status st = circa_nn_weights_load(path, &w);
    for (size_t i = 0; st == CIRCA_OK && i < np; i++) st = copy_rec(w, ps[i].name, ps[i].w, ps[i].size);
    circa_nn_weights_free(w);
    if (st != CIRCA_OK) return st;
    char opt[4096];
    snprintf(opt, sizeof opt, "%s.opt", path);
    st = circa_nn_weights_load(opt, &w);
    char n[CIRCA_NN_NAME_MAX + 4];
    for (size_t i = 0; st == CIRCA_OK && i < np; i++) {
        snprintf(n, sizeof n, "m:%s", ps[i].name);
        st = copy_rec(w, n, ps[i].m, ps[i].size);
        snprintf(n, sizeof n, "v:%s", ps[i].name);
        if (st == CIRCA_OK) st = copy_rec(w, n, ps[i].v, ps[i].size);
    }
    const circa_nn_record *c = st == CIRCA_OK ? circa_nn_weights_find(w, "train.counters") : NULL;
    const circa_nn_record *f = st == CIRCA_OK ? circa_nn_weights_find(w, "train.rates") : NULL;
    if (st == CIRCA_OK && (!c || !f || c->dtype != CIRCA_NN_I32 || c->shape[0] != 5 ||
                           f->dtype != CIRCA_NN_F32 || f->shape[0] != 2))
        st = CIRCA_E_MODEL;
    if (st == CIRCA_OK) {
        const int32_t *iv = c->data;
        const float *fv = f->data;
        s->step = iv[0], s->epoch = iv[1], s->bad = iv[2], s->halvings = iv[3], s->adam_step = iv[4];
        s->lr = fv[0], s->best = fv[1];
    }
    circa_nn_weights_free(w);
    return st;
}

/* ---- validation -------------------------------------------------------------------- */

/* Mean SI-SNR improvement over n fixed validation mixtures (seeds 1..n). */
static circa_status validate(circa_tasnet *net, const circa_mixer *m, int n, size_t t, double *db) {
    float *mix = malloc(t * sizeof *mix), *src = malloc(2 * t * sizeof *src), *est = malloc(2 * t * sizeof *est);
    circa_status st = mix && src && est ? CIRCA_OK : CIRCA_E_NOMEM;
    double sum = 0;
    for (int i = 0; st == CIRCA_OK && i < n; i++) {
        st = circa_mixer_make(m, CIRCA_MIXER_VAL, (uint64_t)i + 1, t, mix, src, NULL);
        if (st == CIRCA_OK) st = circa_separate_whole(net, mix, t, est);
        if (st != CIRCA_OK) break;
        double si, base = (circa_audio_si_snr(src, mix, t) + circa_audio_si_snr(src + t, mix, t)) / 2;
        circa_separate_score(t, est, src, &si, NULL);
        sum += si - base;
    }
    free(mix), free(src), free(est);
    *db = n > 0 ? sum / n : 0;
    return st;
}

/* ---- the loop ------------------------------------------------------------------------ */

typedef struct bufs {
    float *mix, *src, *est, *dest;
} bufs;

/* A batch's mixtures, item i from seed base + i: the same whatever the
 * thread count (each item is a pure function of its seed). */
typedef struct mix_job {
    const circa_mixer *m;
    uint64_t base;
    size_t t;
    bufs *b;
    int from, to;
    circa_status st;
} mix_job;

static void *mix_items(void *p) {
    mix_job *j = p;
    for (int i = j->from; i < j->to && j->st == CIRCA_OK; i++)
        j->st = circa_mixer_make(j->m, CIRCA_MIXER_TRAIN, j->base + (uint64_t)i, j->t, j->b->mix + (size_t)i * j->t,
                                 j->b->src + (size_t)i * 2 * j->t, NULL);
    return NULL;
}

static circa_status make_batch(const circa_mixer *m, int B, uint64_t base, size_t t, bufs *b, unsigned threads) {
    enum { MAX_THREADS = 64 };
    unsigned n = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    if (n > (unsigned)B) n = (unsigned)B;
    mix_job jobs[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (unsigned k = 0; k < n; k++) {
        jobs[k] = (mix_job){m, base, t, b, (int)((size_t)B * k / n), (int)((size_t)B * (k + 1) / n), CIRCA_OK};
        started[k] = k > 0 && pthread_create(&tid[k], NULL, mix_items, &jobs[k]) == 0;
    }
    for (unsigned k = 0; k < n; k++) /* the calling thread takes job 0 and any that did not start */
        if (!started[k]) mix_items(&jobs[k]);
    circa_status st = CIRCA_OK;
    for (unsigned k = 0; k < n; k++) {
        if (started[k]) pthread_join(tid[k], NULL);
        if (st == CIRCA_OK) st = jobs[k].st;
    }
    return st;
}

/* One step on a fresh batch; *sisnr receives the batch's mean PIT SI-SNR. */
static circa_status train_step(circa_tasnet *net, const circa_mixer *m, const circa_separate_train_config *cfg,
                               circa_nn_adam *adam, circa_nn_param *ps, size_t np, size_t t, long step,
                               bufs *b, double *sisnr) {
    int B = cfg->batch;
    circa_status st = make_batch(m, B, cfg->seed * 1000003u + (uint64_t)step * (uint64_t)B, t, b, cfg->mix_threads);
    if (st == CIRCA_OK) st = circa_tasnet_forward(net, B, (int)t, b->mix, b->est);
    float loss = 0;
    memset(b->dest, 0, (size_t)B * 2 * t * sizeof *b->dest);
    if (st == CIRCA_OK) st = circa_nn_pit_loss(B, 2, t, b->est, b->src, &loss, b->dest, NULL);
    if (st != CIRCA_OK) return st;
    circa_nn_params_zero_grad(ps, np);
    st = circa_tasnet_backward(net, b->dest);
    float norm;
    /* A non-finite gradient is skipped rather than applied. */
    if (st == CIRCA_OK && circa_nn_clip_grad_norm(ps, np, 5.0f, &norm) == CIRCA_OK)
        st = circa_nn_adam_step(adam, ps, np);
    *sisnr = -loss;
    return st;
}

/* End of an epoch: validate, keep the best model, adjust the rate, checkpoint.
 * Returns 1 in *stop when training should end early. */
static circa_status end_epoch(circa_tasnet *net, const circa_mixer *m, const circa_separate_train_config *cfg,
                              circa_nn_adam *adam, circa_nn_param *ps, size_t np, train_state *s,
                              double train_si, double t0, FILE *log, int *stop) {
    double v;
    size_t t = (size_t)(cfg->segment_s * CIRCA_SEPARATE_RATE);
    circa_status st = validate(net, m, cfg->val_mixtures, t, &v);
    if (st != CIRCA_OK) return st;
    s->epoch++;
    int improved = v > s->best;
    if (improved) {
        s->best = (float)v, s->bad = 0, s->halvings = 0;
        st = circa_tasnet_save(net, cfg->out);
    } else if (++s->bad >= cfg->patience) {
        adam->lr *= 0.5f, s->bad = 0, s->halvings++;
    }
    s->lr = adam->lr;
    s->adam_step = (int32_t)adam->step;
    if (log)
        fprintf(log, "epoch %d step %d lr %.2g train SI-SNR %.2f dB val SI-SNRi %.2f dB (best %.2f)%s %.0f s\n",
                s->epoch, s->step, adam->lr, train_si, v, s->best, improved ? " saved" : "", now_s() - t0),
            fflush(log);
    char ck[4096], opt[4100];
    snprintf(ck, sizeof ck, "%s.ckpt", cfg->out);
    snprintf(opt, sizeof opt, "%s.opt", ck);
    if (st == CIRCA_OK) st = circa_tasnet_save(net, ck);
    if (st == CIRCA_OK) st = save_opt(opt, ps, np, s);
    *stop = s->halvings > cfg->stop_after || s->epoch >= cfg->max_epochs;
    return st;
}

circa_status circa_separate_train(circa_tasnet *net, const circa_mixer *m,
                                  const circa_separate_train_config *cfg, FILE *log, double *best_db) {
    if (!net || !m || !cfg || !cfg->out || cfg->batch <= 0 || cfg->epoch_steps <= 0) return CIRCA_E_PARAM;
    size_t np;
    circa_nn_param *ps = circa_tasnet_params(net, &np);
    const circa_tasnet_config *c = circa_tasnet_get_config(net);
    size_t t = (size_t)(cfg->segment_s * CIRCA_SEPARATE_RATE), S = (size_t)c->L / 2;
    if (t < (size_t)c->L || c->C != 2) return CIRCA_E_PARAM;
    t = c->L + (t - c->L) / S * S; /* a length the model takes */
    circa_separate_train_config cf = *cfg;
    cf.segment_s = (double)t / CIRCA_SEPARATE_RATE;
    train_state s = {0, 0, 0, 0, cfg->lr, -INFINITY, 0};
    circa_nn_adam adam = circa_nn_adam_default();
    adam.lr = cfg->lr;
    circa_status st = CIRCA_OK;
    if (cfg->resume) {
        st = load_ckpt(cfg->resume, ps, np, &s);
        if (st != CIRCA_OK) return st;
        adam.lr = s.lr, adam.step = s.adam_step;
        circa_tasnet_device on = circa_tasnet_on_cuda(net);
        if (on != CIRCA_TASNET_CPU && (st = circa_tasnet_use_cuda(net, on, NULL)) != CIRCA_OK)
            return st; /* the checkpoint's weights to the device */
        if (log) fprintf(log, "resumed at epoch %d step %d, lr %.2g, best %.2f dB\n", s.epoch, s.step, s.lr, s.best);
        if (cfg->restart) { /* a new stage: the plateau rule starts over */
            adam.lr = s.lr = cfg->lr, s.bad = s.halvings = 0, s.best = -INFINITY;
            if (log) fprintf(log, "new stage: lr %.2g, plateau counters and best cleared\n", adam.lr);
        }
    }
    size_t B = (size_t)cfg->batch;
    bufs b = {malloc(B * t * sizeof(float)), malloc(B * 2 * t * sizeof(float)),
              malloc(B * 2 * t * sizeof(float)), malloc(B * 2 * t * sizeof(float))};
    if (!b.mix || !b.src || !b.est || !b.dest) st = CIRCA_E_NOMEM;
    double t0 = now_s(), acc = 0;
    int n_acc = 0, stop = 0;
    while (st == CIRCA_OK && !stop) {
        double si;
        st = train_step(net, m, &cf, &adam, ps, np, t, s.step, &b, &si);
        if (st != CIRCA_OK) break;
        s.step++, acc += si, n_acc++;
        int out_of_time = cfg->seconds > 0 && now_s() - t0 >= cfg->seconds;
        if (log && s.step % 10 == 0)
            fprintf(log, "  step %d train SI-SNR %.2f dB %.1f s\n", s.step, acc / n_acc, now_s() - t0), fflush(log);
        if (s.step % cfg->epoch_steps == 0 || out_of_time) {
            st = end_epoch(net, m, &cf, &adam, ps, np, &s, acc / n_acc, t0, log, &stop);
            acc = 0, n_acc = 0;
        }
        if (out_of_time) stop = 1;
    }
    free(b.mix), free(b.src), free(b.est), free(b.dest);
    if (best_db) *best_db = s.best;
    return st;
}
