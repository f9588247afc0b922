/* pc_em.c: likelihood and EM for HCLT circuits: batched forward/backward
 * passes in linear space with per-node max-scaling, float32 parameters,
 * threads over the records of a batch.
 *
 * Why linear space. Each inner node's M product values are divided by their
 * maximum (the log of the scale is added to the record's log-likelihood),
 * and so are its M sum values. That is the same computation as log-space
 * (log-sum-exp with the max factored out) but turns every sum layer into a
 * small matrix product without exp/log, which is what makes EM fast here.
 * Records are processed in chunks of CHUNK, node by node, so one node's
 * M x M weights and count block stay in L1 while the chunk streams past. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pc_internal.h"

#define CHUNK 64
#define MAX_THREADS 64
#define PARAM_FLOOR 1e-30f /* keeps every probability positive without a pseudocount */

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define PC_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define PC_KERNEL
#endif

/* Read-only view of the model shared by the workers. */
typedef struct em_model {
    const circa_pc *pc;
    const float *theta;  /* I x M x M, [j][k] */
    const float *thetat; /* transposed, [k][j] */
} em_model;

/* One worker's scratch and count accumulators. */
typedef struct em_worker {
    uint8_t *xs;     /* D x CHUNK, variable-major */
    float *P;        /* I x CHUNK x M: scaled products, then their flows */
    float *Dn;       /* I x CHUNK x M: scaled sums */
    float *S;        /* I x CHUNK: the sums' scales (root: its value) */
    double *tmp;     /* M */
    float *g;        /* M */
    double acc[CHUNK], lacc[CHUNK];
    float *G;        /* I x M x M: sum of g_j p_k (NULL: no counts) */
    float *cin;      /* D x K x M: input flows */
    double ll;       /* sum of log-likelihoods of the records seen */
    /* the job */
    const em_model *m;
    const uint8_t *rec;
    size_t lo, hi;
} em_worker;

/* ---- forward ---------------------------------------------------------- */
/* Scaled products of inner node v over the chunk: f_v(x_v) times every
 * child's value, divided by the max. Doubles keep a node with many small
 * factors from underflowing before the max is taken. */
PC_KERNEL static void forward_products(const circa_pc *pc, em_worker *w, uint32_t v, uint32_t nb) {
    uint32_t M = pc->M, K = pc->K, t = (uint32_t)pc->inner[v];
    const float *in_v = pc->inputs + (size_t)v * K * M;
    float *restrict P = w->P + (size_t)t * CHUNK * M;
    double *restrict tmp = w->tmp;
    for (uint32_t b = 0; b < nb; b++) {
        const float *f = in_v + (size_t)w->xs[(size_t)v * CHUNK + b] * M;
        for (uint32_t k = 0; k < M; k++) tmp[k] = f[k];
        for (uint32_t i = pc->child_start[v]; i < pc->child_start[v + 1]; i++) {
            uint32_t c = pc->child_list[i];
            const float *q = pc->inner[c] < 0
                                 ? pc->inputs + (size_t)c * K * M + (size_t)w->xs[(size_t)c * CHUNK + b] * M
                                 : w->Dn + ((size_t)pc->inner[c] * CHUNK + b) * M;
            for (uint32_t k = 0; k < M; k++) tmp[k] *= q[k];
        }
        double mx = 0;
        for (uint32_t k = 0; k < M; k++) mx = tmp[k] > mx ? tmp[k] : mx;
        double inv = mx > 0 ? 1.0 / mx : 0.0;
        for (uint32_t k = 0; k < M; k++) P[(size_t)b * M + k] = (float)(tmp[k] * inv);
        w->acc[b] *= mx;
    }
}

/* Sum layer of non-root inner node v: d = theta * p, scaled by its max. */
PC_KERNEL static void forward_sums(const em_model *m, em_worker *w, uint32_t v, uint32_t nb) {
    const circa_pc *pc = m->pc;
    uint32_t M = pc->M, t = (uint32_t)pc->inner[v];
    const float *restrict P = w->P + (size_t)t * CHUNK * M;
    const float *restrict tt = m->thetat + (size_t)t * M * M;
    float *restrict Dn = w->Dn + (size_t)t * CHUNK * M;
    float *restrict S = w->S + (size_t)t * CHUNK;
    for (uint32_t b = 0; b < nb; b++) {
        float *restrict d = Dn + (size_t)b * M;
        const float *restrict p = P + (size_t)b * M;
        for (uint32_t j = 0; j < M; j++) d[j] = 0;
        for (uint32_t k = 0; k < M; k++) {
            float pk = p[k];
            const float *restrict row = tt + (size_t)k * M;
            for (uint32_t j = 0; j < M; j++) d[j] += pk * row[j];
        }
        float mx = 0;
        for (uint32_t j = 0; j < M; j++) mx = d[j] > mx ? d[j] : mx;
        float inv = mx > 0 ? 1.0f / mx : 0.0f;
        for (uint32_t j = 0; j < M; j++) d[j] *= inv;
        S[b] = mx;
        w->acc[b] *= mx;
    }
}

static void forward_root(const em_model *m, em_worker *w, uint32_t nb) {
    const circa_pc *pc = m->pc;
    uint32_t M = pc->M, t = (uint32_t)pc->inner[pc->root];
    const float *P = w->P + (size_t)t * CHUNK * M, *th = m->theta + (size_t)t * M * M;
    for (uint32_t b = 0; b < nb; b++) {
        double o = 0;
        for (uint32_t k = 0; k < M; k++) o += (double)th[k] * P[(size_t)b * M + k];
        w->S[(size_t)t * CHUNK + b] = (float)o;
        w->acc[b] *= o;
    }
}

/* Runs the forward pass over records [0, nb) of the chunk in w->xs and
 * adds their log-likelihoods to w->ll. The running product of scales is
 * flushed into a log only when it gets small: one log per ~20 nodes. */
static void forward(const em_model *m, em_worker *w, uint32_t nb) {
    const circa_pc *pc = m->pc;
    for (uint32_t b = 0; b < nb; b++) w->acc[b] = 1.0, w->lacc[b] = 0.0;
    for (uint32_t i = pc->D; i-- > 0;) {
        uint32_t v = pc->order[i];
        if (pc->inner[v] < 0) continue; /* a leaf: its parent reads its table */
        forward_products(pc, w, v, nb);
        if (v == pc->root) forward_root(m, w, nb);
        else forward_sums(m, w, v, nb);
        for (uint32_t b = 0; b < nb; b++)
            if (w->acc[b] < 1e-200) w->lacc[b] += log(w->acc[b]), w->acc[b] = 1.0;
    }
    for (uint32_t b = 0; b < nb; b++) w->ll += w->lacc[b] + log(w->acc[b]);
}

/* ---- backward ------------------------------------------------------------ */
/* Flows of non-root inner node v from its parent's product flows F: the
 * edge flow (j, k) is F_j * theta_jk * p_k / d_j; we accumulate g_j * p_k
 * with g_j = F_j / d_j (theta multiplies the sum once per batch), and leave
 * the product flows p_k * sum_j g_j theta_jk in place of p. */
PC_KERNEL static void backward_inner(const em_model *m, em_worker *w, uint32_t v, uint32_t nb) {
    const circa_pc *pc = m->pc;
    uint32_t M = pc->M, K = pc->K, t = (uint32_t)pc->inner[v];
    uint32_t tp = (uint32_t)pc->inner[pc->parent[v]];
    const float *restrict F = w->P + (size_t)tp * CHUNK * M;
    const float *restrict th = m->theta + (size_t)t * M * M;
    float *restrict P = w->P + (size_t)t * CHUNK * M;
    float *restrict G = w->G + (size_t)t * M * M;
    float *restrict g = w->g;
    const float *restrict Dn = w->Dn + (size_t)t * CHUNK * M;
    const float *restrict S = w->S + (size_t)t * CHUNK;
    float *restrict cin = w->cin + (size_t)v * K * M;
    for (uint32_t b = 0; b < nb; b++) {
        float *restrict p = P + (size_t)b * M;
        for (uint32_t j = 0; j < M; j++) g[j] = F[(size_t)b * M + j] / (Dn[(size_t)b * M + j] * S[b]);
        for (uint32_t j = 0; j < M; j++) {
            float gj = g[j];
            float *restrict Gr = G + (size_t)j * M;
            for (uint32_t k = 0; k < M; k++) Gr[k] += gj * p[k];
        }
        float h[PC_MAX_HIDDEN];
        for (uint32_t k = 0; k < M; k++) h[k] = 0;
        for (uint32_t j = 0; j < M; j++) {
            float gj = g[j];
            const float *restrict row = th + (size_t)j * M;
            for (uint32_t k = 0; k < M; k++) h[k] += gj * row[k];
        }
        float *restrict c = cin + (size_t)w->xs[(size_t)v * CHUNK + b] * M;
        for (uint32_t k = 0; k < M; k++) {
            p[k] *= h[k];
            c[k] += p[k];
        }
    }
}

static void backward_root(const em_model *m, em_worker *w, uint32_t nb) {
    const circa_pc *pc = m->pc;
    uint32_t M = pc->M, K = pc->K, v = pc->root, t = (uint32_t)pc->inner[v];
    const float *th = m->theta + (size_t)t * M * M;
    float *P = w->P + (size_t)t * CHUNK * M, *G = w->G + (size_t)t * M * M;
    for (uint32_t b = 0; b < nb; b++) {
        float inv = 1.0f / w->S[(size_t)t * CHUNK + b];
        float *p = P + (size_t)b * M;
        float *c = w->cin + ((size_t)v * K + w->xs[(size_t)v * CHUNK + b]) * M;
        for (uint32_t k = 0; k < M; k++) {
            p[k] = th[k] * p[k] * inv;
            G[k] += p[k];
            c[k] += p[k];
        }
    }
}

static void backward_leaf(const em_model *m, em_worker *w, uint32_t v, uint32_t nb) {
    const circa_pc *pc = m->pc;
    uint32_t M = pc->M, K = pc->K, tp = (uint32_t)pc->inner[pc->parent[v]];
    const float *F = w->P + (size_t)tp * CHUNK * M;
    for (uint32_t b = 0; b < nb; b++) {
        float *c = w->cin + ((size_t)v * K + w->xs[(size_t)v * CHUNK + b]) * M;
        for (uint32_t k = 0; k < M; k++) c[k] += F[(size_t)b * M + k];
    }
}

static void backward(const em_model *m, em_worker *w, uint32_t nb) {
    const circa_pc *pc = m->pc;
    for (uint32_t i = 0; i < pc->D; i++) {
        uint32_t v = pc->order[i];
        if (v == pc->root) backward_root(m, w, nb);
        else if (pc->inner[v] < 0) backward_leaf(m, w, v, nb);
        else backward_inner(m, w, v, nb);
    }
}

/* ---- workers --------------------------------------------------------------- */
static void *work(void *arg) {
    em_worker *w = arg;
    const circa_pc *pc = w->m->pc;
    uint32_t D = pc->D;
    for (size_t lo = w->lo; lo < w->hi; lo += CHUNK) {
        uint32_t nb = (uint32_t)(w->hi - lo < CHUNK ? w->hi - lo : CHUNK);
        const uint8_t *r = w->rec + lo * D;
        for (uint32_t b = 0; b < nb; b++)
            for (uint32_t v = 0; v < D; v++) w->xs[(size_t)v * CHUNK + b] = r[(size_t)b * D + v];
        forward(w->m, w, nb);
        if (w->G) backward(w->m, w, nb);
    }
    return NULL;
}

static void worker_free(em_worker *w) {
    free(w->xs), free(w->P), free(w->Dn), free(w->S), free(w->tmp), free(w->g);
    free(w->G), free(w->cin);
}

/* Allocates one worker's scratch (and count accumulators when counts);
 * -1 on allocation failure (everything it allocated is freed). */
static int worker_init(em_worker *w, const circa_pc *pc, int counts) {
    memset(w, 0, sizeof *w);
    size_t IM = (size_t)pc->I * pc->M;
    w->xs = malloc((size_t)pc->D * CHUNK);
    w->P = malloc(IM * CHUNK * sizeof *w->P);
    w->Dn = malloc(IM * CHUNK * sizeof *w->Dn);
    w->S = malloc((size_t)pc->I * CHUNK * sizeof *w->S);
    w->tmp = malloc(pc->M * sizeof *w->tmp);
    w->g = malloc(pc->M * sizeof *w->g);
    int ok = w->xs && w->P && w->Dn && w->S && w->tmp && w->g;
    if (ok && counts) {
        w->G = malloc(IM * pc->M * sizeof *w->G);
        w->cin = malloc((size_t)pc->D * pc->K * pc->M * sizeof *w->cin);
        ok = w->G && w->cin;
    }
    if (!ok) worker_free(w);
    return ok ? 0 : -1;
}

/* Runs the workers over records [0, n) split evenly, in parallel; the
 * calling thread takes the first share. Counts are zeroed first. Returns
 * the total log-likelihood. The split depends only on n and the thread
 * count, so results are reproducible for a given thread count. */
static double run_workers(const em_model *m, em_worker *ws, unsigned threads, const uint8_t *rec,
                          size_t n) {
    const circa_pc *pc = m->pc;
    pthread_t tid[MAX_THREADS];
    int created[MAX_THREADS] = {0};
    for (unsigned t = 0; t < threads; t++) {
        em_worker *w = &ws[t];
        w->m = m, w->rec = rec, w->ll = 0;
        w->lo = n * t / threads, w->hi = n * (t + 1) / threads;
        if (w->G) {
            memset(w->G, 0, (size_t)pc->I * pc->M * pc->M * sizeof *w->G);
            memset(w->cin, 0, (size_t)pc->D * pc->K * pc->M * sizeof *w->cin);
        }
        if (t > 0) created[t] = pthread_create(&tid[t], NULL, work, w) == 0;
    }
    work(&ws[0]);
    double ll = ws[0].ll;
    for (unsigned t = 1; t < threads; t++) {
        if (created[t]) pthread_join(tid[t], NULL);
        else work(&ws[t]); /* the thread could not start: run its share here */
        ll += ws[t].ll;
    }
    return ll;
}

static unsigned clamp_threads(unsigned threads, size_t n) {
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    size_t most = (n + CHUNK - 1) / CHUNK;
    if (most < 1) most = 1;
    return threads > most ? (unsigned)most : threads;
}

static int bytes_ok(const uint8_t *rec, size_t count, uint32_t K) {
    if (K >= 256) return 1;
    for (size_t i = 0; i < count; i++)
        if (rec[i] >= K) return 0;
    return 1;
}

static void transpose_theta(const circa_pc *pc, float *tt) {
    uint32_t M = pc->M;
    for (uint32_t t = 0; t < pc->I; t++)
        for (uint32_t j = 0; j < M; j++)
            for (uint32_t k = 0; k < M; k++)
                tt[(size_t)t * M * M + (size_t)k * M + j] = pc->theta[(size_t)t * M * M + (size_t)j * M + k];
}

double circa_pc_loglik(const circa_pc *pc, const uint8_t *records, size_t n, unsigned threads) {
    if (!bytes_ok(records, n * pc->D, pc->K)) return NAN;
    if (n == 0) return 0.0;
    threads = clamp_threads(threads, n);
    float *tt = malloc((size_t)pc->I * pc->M * pc->M * sizeof *tt);
    em_worker *ws = calloc(threads, sizeof *ws);
    unsigned ready = 0;
    double ll = NAN;
    if (tt && ws) {
        while (ready < threads && worker_init(&ws[ready], pc, 0) == 0) ready++;
        if (ready == threads) {
            transpose_theta(pc, tt);
            em_model m = {pc, pc->theta, tt};
            ll = run_workers(&m, ws, threads, records, n);
        }
    }
    for (unsigned t = 0; t < ready; t++) worker_free(&ws[t]);
    free(ws);
    free(tt);
    return ll;
}

double circa_pc_bpd(const circa_pc *pc, const uint8_t *records, size_t n, unsigned threads) {
    double ll = circa_pc_loglik(pc, records, n, threads);
    return -ll / ((double)n * pc->D * log(2.0));
}

/* ---- EM ------------------------------------------------------------------------ */
/* Adds every worker's counts into worker 0's. */
static void reduce_counts(const circa_pc *pc, em_worker *ws, unsigned threads) {
    size_t ng = (size_t)pc->I * pc->M * pc->M, nc = (size_t)pc->D * pc->K * pc->M;
    for (unsigned t = 1; t < threads; t++) {
        for (size_t i = 0; i < ng; i++) ws[0].G[i] += ws[t].G[i];
        for (size_t i = 0; i < nc; i++) ws[0].cin[i] += ws[t].cin[i];
    }
}

/* theta <- a * theta + (1 - a) * (counts + pc/len) / (sum + pc), row by row
 * over `len` entries spaced `stride` apart; floors keep entries positive. */
static void update_row(float *theta, const float *counts, size_t len, size_t stride, double pseudo,
                       double a) {
    double s = 0;
    for (size_t i = 0; i < len; i++) s += counts[i * stride];
    double den = s + pseudo, add = pseudo / (double)len;
    for (size_t i = 0; i < len; i++) {
        double nw = den > 0 ? (counts[i * stride] + add) / den : 1.0 / (double)len;
        float v = (float)(a * theta[i * stride] + (1.0 - a) * nw);
        theta[i * stride] = v > PARAM_FLOOR ? v : PARAM_FLOOR;
    }
}

/* The M step from worker 0's counts. Edge counts are theta_jk * G_jk (the
 * factor left out of the per-record accumulation). */
static void m_step(circa_pc *pc, em_worker *w, const circa_pc_learn_params *p, double a) {
    uint32_t M = pc->M, K = pc->K;
    float row[PC_MAX_HIDDEN];
    for (uint32_t t = 0; t < pc->I; t++) {
        float *th = pc->theta + (size_t)t * M * M, *G = w->G + (size_t)t * M * M;
        uint32_t rows = pc->inner_var[t] == pc->root ? 1 : M;
        for (uint32_t j = 0; j < rows; j++) {
            for (uint32_t k = 0; k < M; k++)
                row[k] = pc->inner_var[t] == pc->root ? G[k] : th[j * M + k] * G[j * M + k];
            update_row(th + (size_t)j * M, row, M, 1, p->pseudocount, a);
        }
    }
    for (uint32_t v = 0; v < pc->D; v++)
        for (uint32_t m = 0; m < M; m++)
            update_row(pc->inputs + (size_t)v * K * M + m, w->cin + (size_t)v * K * M + m, K, M,
                       p->input_pseudocount, a);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* EM state for one run. */
typedef struct em_run {
    circa_pc *pc;
    const circa_pc_learn_params *p;
    em_worker *ws;
    unsigned threads;
    float *tt;
    uint8_t *batch;
    size_t *perm;
} em_run;

static void run_free(em_run *r, unsigned ready) {
    for (unsigned t = 0; t < ready; t++) worker_free(&r->ws[t]);
    free(r->ws), free(r->tt), free(r->batch), free(r->perm);
}

/* One E step over rec[0, n) and an M step with inertia a; returns the LL. */
static double em_step(em_run *r, const uint8_t *rec, size_t n, double a) {
    transpose_theta(r->pc, r->tt);
    em_model m = {r->pc, r->pc->theta, r->tt};
    unsigned threads = clamp_threads(r->threads, n);
    double ll = run_workers(&m, r->ws, threads, rec, n);
    reduce_counts(r->pc, r->ws, threads);
    m_step(r->pc, &r->ws[0], r->p, a);
    return ll;
}

/* Mini-batch epochs over a fresh random order each, then full-batch ones. */
static void em_loop(em_run *r, const uint8_t *rec, size_t n, uint64_t *rng, double t0) {
    const circa_pc_learn_params *p = r->p;
    uint32_t D = r->pc->D;
    size_t B = p->batch < n ? p->batch : n, steps_per = (n + B - 1) / B;
    size_t total = (size_t)p->epochs * steps_per, step = 0;
    double ln2 = log(2.0);
    for (unsigned e = 0; e < p->epochs; e++) {
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)(circa_pc__rand(rng) % i), t = r->perm[i - 1];
            r->perm[i - 1] = r->perm[j], r->perm[j] = t;
        }
        double ll = 0;
        for (size_t lo = 0; lo < n; lo += B, step++) {
            size_t nb = n - lo < B ? n - lo : B;
            for (size_t b = 0; b < nb; b++) memcpy(r->batch + b * D, rec + r->perm[lo + b] * D, D);
            double a = total > 1 ? p->inertia_start + (p->inertia_end - p->inertia_start) *
                                                          (double)step / (double)(total - 1)
                                 : p->inertia_start;
            ll += em_step(r, r->batch, nb, a);
        }
        if (p->progress) p->progress(p->ctx, e + 1, -ll / ((double)n * D * ln2), now() - t0);
    }
    for (unsigned e = 0; e < p->full_epochs; e++) {
        double ll = em_step(r, rec, n, 0.0);
        if (p->progress) p->progress(p->ctx, p->epochs + e + 1, -ll / ((double)n * D * ln2), now() - t0);
    }
}

static int params_ok(const circa_pc_learn_params *p) {
    return p->batch >= 1 && p->inertia_start >= 0 && p->inertia_start < 1 && p->inertia_end >= 0 &&
           p->inertia_end < 1 && p->pseudocount >= 0 && p->input_pseudocount >= 0 &&
           isfinite(p->pseudocount) && isfinite(p->input_pseudocount);
}

/* Runs EM on pc in place; all memory is taken before the first update, so a
 * failure leaves the model unchanged. */
static circa_status em_train(circa_pc *pc, const uint8_t *rec, size_t n,
                             const circa_pc_learn_params *p, uint64_t *rng, double t0) {
    em_run r = {pc, p, NULL, clamp_threads(p->threads, n), NULL, NULL, NULL};
    size_t B = p->batch < n ? p->batch : n;
    r.ws = calloc(r.threads, sizeof *r.ws);
    r.tt = malloc((size_t)pc->I * pc->M * pc->M * sizeof *r.tt);
    r.batch = malloc(B * pc->D);
    r.perm = malloc(n * sizeof *r.perm);
    unsigned ready = 0;
    if (r.ws && r.tt && r.batch && r.perm)
        while (ready < r.threads && worker_init(&r.ws[ready], pc, 1) == 0) ready++;
    if (ready < r.threads || !r.ws) {
        run_free(&r, ready);
        return CIRCA_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) r.perm[i] = i;
    em_loop(&r, rec, n, rng, t0);
    run_free(&r, ready);
    return circa_pc__finish(pc);
}

circa_status circa_pc_em(circa_pc *pc, const uint8_t *records, size_t n,
                         const circa_pc_learn_params *p) {
    if (!pc || !p || n == 0 || !params_ok(p)) return CIRCA_E_PARAM;
    if (!bytes_ok(records, n * pc->D, pc->K)) return CIRCA_E_PARAM;
    uint64_t rng = p->seed ^ 0x5DEECE66Dull;
    return em_train(pc, records, n, p, &rng, now());
}

circa_pc_learn_params circa_pc_learn_defaults(void) {
    circa_pc_learn_params p;
    memset(&p, 0, sizeof p);
    p.hidden = 32, p.epochs = 5, p.batch = 512, p.threads = 1, p.seed = 1, p.full_epochs = 1;
    p.inertia_start = 0.1, p.inertia_end = 0.9, p.pseudocount = 0.1, p.input_pseudocount = 1.0;
    p.categories = 0, p.mi_samples = 5000, p.mi_levels = 16;
    return p;
}

/* Initial parameters: transitions uniform with random perturbation; each
 * state's input table the variable's smoothed marginal, perturbed per entry,
 * so the states start apart and EM can separate them. */
static void init_params(circa_pc *pc, const uint8_t *rec, size_t n, uint64_t *rng) {
    uint32_t M = pc->M, K = pc->K;
    for (uint32_t t = 0; t < pc->I; t++)
        for (uint32_t j = 0; j < M; j++) {
            float *row = pc->theta + (size_t)t * M * M + (size_t)j * M;
            double s = 0;
            for (uint32_t k = 0; k < M; k++) s += row[k] = (float)(1.0 + 0.5 * circa_pc__uniform(rng));
            for (uint32_t k = 0; k < M; k++) row[k] = (float)(row[k] / s);
        }
    double *marg = malloc(K * sizeof *marg);
    size_t ns = n < 10000 ? n : 10000;
    for (uint32_t v = 0; v < pc->D; v++) {
        if (marg) {
            for (uint32_t x = 0; x < K; x++) marg[x] = 1.0;
            for (size_t i = 0; i < ns; i++) marg[rec[i * pc->D + v]] += 1.0;
        }
        float *in = pc->inputs + (size_t)v * K * M;
        for (uint32_t m = 0; m < M; m++) {
            double s = 0;
            for (uint32_t x = 0; x < K; x++) {
                double w = (marg ? marg[x] : 1.0) * (0.5 + circa_pc__uniform(rng));
                in[(size_t)x * M + m] = (float)w;
                s += (float)w;
            }
            for (uint32_t x = 0; x < K; x++) in[(size_t)x * M + m] = (float)(in[(size_t)x * M + m] / s);
        }
    }
    free(marg);
}

circa_status circa_pc_learn(const uint8_t *records, size_t n, size_t d,
                            const circa_pc_learn_params *p, circa_pc **out) {
    *out = NULL;
    uint32_t K = p && p->categories ? p->categories : 256;
    if (!p || !records || n == 0 || !circa_pc__shape_ok(d, K, p->hidden) || !params_ok(p))
        return CIRCA_E_PARAM;
    if (!bytes_ok(records, n * d, K)) return CIRCA_E_PARAM;
    double t0 = now();
    uint32_t *parent = malloc(d * sizeof *parent);
    if (!parent) return CIRCA_E_NOMEM;
    circa_status st = circa_pc__learn_tree(records, n, (uint32_t)d, K, p->mi_samples, p->mi_levels,
                                           p->threads, parent);
    circa_pc *pc = NULL;
    if (st == CIRCA_OK) st = circa_pc__create((uint32_t)d, K, p->hidden, parent, &pc);
    free(parent);
    if (st != CIRCA_OK) return st;
    uint64_t rng = p->seed;
    init_params(pc, records, n, &rng);
    st = em_train(pc, records, n, p, &rng, t0);
    if (st == CIRCA_OK) {
        char recipe[512];
        snprintf(recipe, sizeof recipe,
                 "circa_pc_learn: HCLT M=%u K=%u; MI on %u levels, %u records; EM %u mini-batch "
                 "epochs (batch %u, inertia %.2f->%.2f) + %u full-batch; pseudocounts %.3g/%.3g; "
                 "seed %llu; %u threads; %zu training records",
                 p->hidden, K, p->mi_levels, p->mi_samples, p->epochs, p->batch, p->inertia_start,
                 p->inertia_end, p->full_epochs, p->pseudocount, p->input_pseudocount,
                 (unsigned long long)p->seed, clamp_threads(p->threads, n), n);
        st = circa_pc__set_recipe(pc, recipe);
        if (st == CIRCA_OK) st = circa_pc__finish(pc);
    }
    if (st != CIRCA_OK) {
        circa_pc_free(pc);
        return st;
    }
    *out = pc;
    return CIRCA_OK;
}
