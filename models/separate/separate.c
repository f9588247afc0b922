/* separate.c: Conv-TasNet inference for two-speaker separation (whole signals, and a bounded-memory circa_op over chunks or causal frames), oracle masks and best-permutation scores. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "circa/separate.h"
#include "circa/spectral.h"

/* ---- whole signals --------------------------------------------------------------- */

/* The shortest length >= n the model takes: L + k * L/2. */
static size_t valid_len(const circa_tasnet_config *c, size_t n) {
    size_t L = (size_t)c->L, S = L / 2;
    if (n <= L) return L;
    return L + (n - L + S - 1) / S * S;
}

/* Mixture-consistent levels: SI-SNR training leaves each estimate's scale
 * free (the GPU-trained model's drifted by about 20 dB), so estimates are
 * scaled by gains a_s, the least-squares solution of sum_s a_s est_s = x.
 * Scores that ignore scale (SI-SNR) do not change; levels, and plain SNR,
 * become the mixture's. Whole signals use one gain per source; causal
 * streams a running one (levels_update below). */

/* Adds the normal equations of n samples to G: G[a][b] += <est_a, est_b>,
 * G[a][C] += <est_a, x>; est is [C][stride]. */
static void gram_add(int C, size_t n, const float *x, const float *est, size_t stride, double G[4][5]) {
    for (int a = 0; a < C; a++) {
        const float *ea = est + (size_t)a * stride;
        for (int b = a; b < C; b++) {
            const float *eb = est + (size_t)b * stride;
            double g = 0;
            for (size_t i = 0; i < n; i++) g += (double)ea[i] * eb[i];
            G[a][b] += g;
            if (b != a) G[b][a] += g;
        }
        double r = 0;
        for (size_t i = 0; i < n; i++) r += (double)ea[i] * x[i];
        G[a][C] += r;
    }
}

/* Solves G a = rhs (G's last column) by elimination with partial pivoting,
 * on a copy. 0 (a untouched) when singular or non-finite. */
static int solve_gains(int C, const double G0[4][5], double *gain) {
    double G[4][5], a[4], scale = 0;
    memcpy(G, G0, sizeof G);
    for (int i = 0; i < C; i++) scale = fmax(scale, G[i][i]);
    if (!(scale > 0)) return 0;
    for (int col = 0; col < C; col++) {
        int piv = col;
        for (int r = col + 1; r < C; r++)
            if (fabs(G[r][col]) > fabs(G[piv][col])) piv = r;
        if (!(fabs(G[piv][col]) > 1e-9 * scale)) return 0;
        for (int k = 0; k <= C; k++) {
            double t = G[col][k];
            G[col][k] = G[piv][k], G[piv][k] = t;
        }
        for (int r = col + 1; r < C; r++) {
            double f = G[r][col] / G[col][col];
            for (int k = col; k <= C; k++) G[r][k] -= f * G[col][k];
        }
    }
    for (int r = C - 1; r >= 0; r--) {
        double v = G[r][C];
        for (int k = r + 1; k < C; k++) v -= G[r][k] * a[k];
        a[r] = v / G[r][r];
        if (!isfinite(a[r])) return 0;
    }
    memcpy(gain, a, (size_t)C * sizeof *a);
    return 1;
}

static void apply_gains(int C, size_t n, const double *gain, float *est, size_t stride) {
    for (int c = 0; c < C; c++)
        for (size_t i = 0; i < n; i++) est[(size_t)c * stride + i] = (float)(gain[c] * est[(size_t)c * stride + i]);
}

static void consistent_scale(int C, size_t n, const float *x, float *est) {
    double G[4][5] = {{0}}, gain[4];
    gram_add(C, n, x, est, n, G);
    if (solve_gains(C, G, gain)) apply_gains(C, n, gain, est, n);
}

circa_status circa_separate_whole(circa_tasnet *net, const float *x, size_t n, float *est) {
    if (!net || !x || !est || n == 0 || n > (size_t)1 << 30) return CIRCA_E_PARAM;
    const circa_tasnet_config *c = circa_tasnet_get_config(net);
    size_t tp = valid_len(c, n);
    float *xp = calloc(tp, sizeof *xp), *ep = malloc(tp * (size_t)c->C * sizeof *ep);
    circa_status st = xp && ep ? CIRCA_OK : CIRCA_E_NOMEM;
    if (st == CIRCA_OK) {
        memcpy(xp, x, n * sizeof *x);
        st = circa_tasnet_infer(net, 1, (int)tp, xp, ep);
    }
    for (int s = 0; st == CIRCA_OK && s < c->C; s++)
        memcpy(est + (size_t)s * n, ep + (size_t)s * tp, n * sizeof *est);
    if (st == CIRCA_OK) consistent_scale(c->C, n, x, est);
    free(xp);
    free(ep);
    return st;
}

int circa_separate_latency(const circa_tasnet_config *cfg) { return cfg ? cfg->L : 0; }

/* ---- the streaming operator --------------------------------------------------------- */

typedef struct sep_op {
    circa_tasnet *net;
    circa_tasnet_stream *stream; /* causal models */
    int C;
    size_t chunk, ov;            /* gLN: samples per chunk, overlap */
    float *in;                   /* gLN: chunk samples; causal: one hop */
    size_t in_len;
    float *est;                  /* [C][chunk] (causal: [C][hop]) */
    float *prev;                 /* gLN: [C][ov] held tail of the previous chunk */
    int have_prev, finished;
    float *q;                    /* interleaved output queue */
    size_t q_len, q_pos, q_cap;
    uint64_t n_in, n_out;        /* causal: samples taken and queued */
    /* causal: running levels. x_prev is the input of the last hop pushed
     * (the next hop's output belongs to it); lv the decayed normal
     * equations; gain the current gains (1 until the first solution). */
    float *x_prev;
    double lv[4][5], gain[4];
} sep_op;

/* Causal streams: the gains from the normal equations of the last
 * LEVELS_TAU_S seconds or so (exponentially weighted). */
#define LEVELS_TAU_S 4.0

static circa_status queue_room(sep_op *s, size_t frames) {
    if (s->q_pos == s->q_len) s->q_pos = s->q_len = 0;
    if (s->q_len + frames <= s->q_cap) return CIRCA_OK;
    size_t nc = s->q_cap * 2 > s->q_len + frames ? s->q_cap * 2 : s->q_len + frames;
    float *q = realloc(s->q, nc * (size_t)s->C * sizeof *q);
    if (!q) return CIRCA_E_NOMEM;
    s->q = q;
    s->q_cap = nc;
    return CIRCA_OK;
}

/* Appends n frames of planar src [C][stride] starting at off. */
static circa_status queue_planar(sep_op *s, const float *src, size_t stride, size_t off, size_t n) {
    circa_status st = queue_room(s, n);
    if (st != CIRCA_OK) return st;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < s->C; c++)
            s->q[(s->q_len + i) * (size_t)s->C + (size_t)c] = src ? src[(size_t)c * stride + off + i] : 0;
    s->q_len += n;
    return CIRCA_OK;
}

/* The permutation of the new chunk's sources that best matches the held
 * tail (largest summed correlation): gLN chunks may swap speakers. */
static void best_perm(const sep_op *s, const float *cur, size_t stride, int *perm) {
    int C = s->C, p[4], best = -1;
    double best_score = -INFINITY;
    int total = 1;
    for (int i = 0; i < C; i++) total *= C;
    for (int code = 0; code < total; code++) {
        int used = 0, ok = 1, k = code;
        for (int i = 0; i < C; i++, k /= C) {
            p[i] = k % C;
            if (used & (1 << p[i])) ok = 0;
            used |= 1 << p[i];
        }
        if (!ok) continue;
        double score = 0;
        for (int i = 0; i < C; i++)
            for (size_t j = 0; j < s->ov; j++)
                score += (double)s->prev[(size_t)i * s->ov + j] * cur[(size_t)p[i] * stride + j];
        if (score > best_score) best_score = score, best = code;
    }
    for (int i = 0, k = best; i < C; i++, k /= C) perm[i] = k % C;
}

/* Separates the gathered chunk, cross-fades its head into the held tail,
 * queues what is final and holds the new tail (unless this is the end). */
static circa_status run_chunk(sep_op *s, int final) {
    size_t n = s->in_len, ov = s->have_prev ? (s->ov < n ? s->ov : n) : 0;
    circa_status st = circa_separate_whole(s->net, s->in, n, s->est);
    if (st != CIRCA_OK) return st;
    int perm[4] = {0, 1, 2, 3};
    if (s->have_prev) best_perm(s, s->est, n, perm);
    float *tmp = malloc(n * (size_t)s->C * sizeof *tmp); /* reordered, faded */
    if (!tmp) return CIRCA_E_NOMEM;
    for (int c = 0; c < s->C; c++) {
        float *d = tmp + (size_t)c * n;
        memcpy(d, s->est + (size_t)perm[c] * n, n * sizeof *d);
        for (size_t j = 0; j < ov; j++) {
            float w = (float)((j + 0.5) / (double)s->ov);
            d[j] = (1 - w) * s->prev[(size_t)c * s->ov + j] + w * d[j];
        }
    }
    size_t emit = final ? n : n - s->ov;
    st = queue_planar(s, tmp, n, 0, emit);
    if (!final) {
        for (int c = 0; c < s->C; c++)
            memcpy(s->prev + (size_t)c * s->ov, tmp + (size_t)c * n + emit, s->ov * sizeof *tmp);
        memmove(s->in, s->in + emit, s->ov * sizeof *s->in);
        s->in_len = s->ov;
        s->have_prev = 1;
    }
    free(tmp);
    return st;
}

/* Causal: decays the running normal equations, adds the hop just made
 * (s->est, [C][stride], n samples a source, from the input in s->x_prev), solves for the
 * gains and applies them to s->est. */
static void levels_update(sep_op *s, size_t n, size_t stride) {
    double rho = exp(-(double)n / (LEVELS_TAU_S * CIRCA_SEPARATE_RATE));
    for (int a = 0; a < s->C; a++)
        for (int b = 0; b <= s->C; b++) s->lv[a][b] *= rho;
    gram_add(s->C, n, s->x_prev, s->est, stride, s->lv);
    solve_gains(s->C, s->lv, s->gain);
    apply_gains(s->C, n, s->gain, s->est, stride);
}

/* Causal: one hop through the stream; at the end, pads the last hop,
 * flushes, and trims (or pads) to the input's length. */
static circa_status run_hop(sep_op *s, int final) {
    size_t S = (size_t)circa_tasnet_get_config(s->net)->L / 2;
    int nout = 0;
    circa_status st = CIRCA_OK;
    if (s->in_len > 0) {
        memset(s->in + s->in_len, 0, (S - s->in_len) * sizeof *s->in);
        st = circa_tasnet_stream_push(s->stream, s->in, s->est, &nout);
        s->in_len = 0;
        if (st == CIRCA_OK && nout > 0) levels_update(s, (size_t)nout, S);
        if (st == CIRCA_OK && nout > 0) st = queue_planar(s, s->est, S, 0, (size_t)nout);
        if (st == CIRCA_OK) s->n_out += (uint64_t)nout;
        memcpy(s->x_prev, s->in, S * sizeof *s->in);
    }
    if (st != CIRCA_OK || !final) return st;
    st = circa_tasnet_stream_flush(s->stream, s->est, &nout);
    if (st == CIRCA_OK && nout > 0) levels_update(s, (size_t)nout, S);
    if (st == CIRCA_OK && nout > 0) st = queue_planar(s, s->est, S, 0, (size_t)nout), s->n_out += (uint64_t)nout;
    if (st == CIRCA_OK && s->n_out < s->n_in) st = queue_planar(s, NULL, 0, 0, (size_t)(s->n_in - s->n_out));
    else if (st == CIRCA_OK && s->n_out > s->n_in) s->q_len -= (size_t)(s->n_out - s->n_in);
    s->n_out = s->n_in;
    return st;
}

static size_t take_input(sep_op *s, const float *in, size_t n) {
    size_t cap = s->stream ? (size_t)circa_tasnet_get_config(s->net)->L / 2 : s->chunk;
    size_t k = cap - s->in_len < n ? cap - s->in_len : n;
    memcpy(s->in + s->in_len, in, k * sizeof *in);
    s->in_len += k;
    s->n_in += k;
    return k;
}

static size_t drain_queue(sep_op *s, float *out, size_t cap) {
    size_t k = s->q_len - s->q_pos < cap ? s->q_len - s->q_pos : cap;
    if (k == 0) return 0; /* the queue may not exist yet */
    memcpy(out, s->q + s->q_pos * (size_t)s->C, k * (size_t)s->C * sizeof *out);
    s->q_pos += k;
    return k;
}

static circa_status sep_process(circa_op *op, const float *in, size_t in_frames, size_t *consumed,
                                float *out, size_t out_cap, size_t *produced) {
    sep_op *s = op->state;
    size_t used = 0, made = drain_queue(s, out, out_cap);
    size_t cap = s->stream ? (size_t)circa_tasnet_get_config(s->net)->L / 2 : s->chunk;
    circa_status st = CIRCA_OK;
    /* Take input only while the queue is empty, so it stays bounded. */
    while (st == CIRCA_OK && s->q_pos == s->q_len && in && used < in_frames) {
        used += take_input(s, in + used, in_frames - used);
        if (s->in_len == cap) st = s->stream ? run_hop(s, 0) : run_chunk(s, 0);
        made += drain_queue(s, out + made * (size_t)s->C, out_cap - made);
    }
    if (st == CIRCA_OK && !in && !s->finished && s->q_pos == s->q_len) {
        s->finished = 1;
        if (s->stream) st = run_hop(s, 1);
        else if (s->in_len > 0) st = run_chunk(s, 1);
        made += drain_queue(s, out + made * (size_t)s->C, out_cap - made);
    }
    *consumed = used;
    *produced = made;
    return st;
}

static void sep_destroy(circa_op *op) {
    sep_op *s = op->state;
    if (s) {
        circa_tasnet_stream_free(s->stream);
        free(s->in);
        free(s->est);
        free(s->prev);
        free(s->x_prev);
        free(s->q);
        free(s);
    }
    free(op);
}

circa_status circa_op_separate_create(circa_tasnet *net, double chunk_s, double overlap_s,
                                      circa_op **out) {
    *out = NULL;
    if (!net) return CIRCA_E_PARAM;
    const circa_tasnet_config *c = circa_tasnet_get_config(net);
    sep_op *s = calloc(1, sizeof *s);
    circa_op *op = calloc(1, sizeof *op);
    if (!s || !op) { free(s); free(op); return CIRCA_E_NOMEM; }
    op->state = s;
    op->destroy = sep_destroy;
    s->net = net;
    s->C = c->C;
    circa_status st = CIRCA_OK;
    if (c->causal) {
        size_t S = (size_t)c->L / 2;
        st = circa_tasnet_stream_create(net, &s->stream);
        s->in = malloc(S * sizeof *s->in);
        s->est = malloc(S * (size_t)c->C * sizeof *s->est);
        s->x_prev = calloc(S, sizeof *s->x_prev);
        for (int k = 0; k < 4; k++) s->gain[k] = 1;
        if (!s->x_prev) st = CIRCA_E_NOMEM;
    } else {
        s->chunk = (size_t)(chunk_s * CIRCA_SEPARATE_RATE);
        s->ov = (size_t)(overlap_s * CIRCA_SEPARATE_RATE);
        if (s->chunk < (size_t)c->L || s->ov == 0 || 2 * s->ov >= s->chunk || s->chunk > 1u << 26) {
            sep_destroy(op);
            return CIRCA_E_PARAM;
        }
        s->in = malloc(s->chunk * sizeof *s->in);
        s->est = malloc(valid_len(c, s->chunk) * (size_t)c->C * sizeof *s->est);
        s->prev = malloc(s->ov * (size_t)c->C * sizeof *s->prev);
        if (!s->prev) st = CIRCA_E_NOMEM;
    }
    if (st == CIRCA_OK && (!s->in || !s->est)) st = CIRCA_E_NOMEM;
    if (st != CIRCA_OK) { sep_destroy(op); return st; }
    op->name = "separate";
    op->in_rate = op->out_rate = CIRCA_SEPARATE_RATE;
    op->in_channels = 1;
    op->out_channels = (uint32_t)c->C;
    op->process = sep_process;
    *out = op;
    return CIRCA_OK;
}

/* ---- oracle masks and scores ---------------------------------------------------------- */

circa_status circa_separate_oracle(circa_oracle_mask kind, size_t t, const float *mix,
                                   const float *src, float *est) {
    if (!mix || !src || !est || t == 0 || kind > CIRCA_ORACLE_WFM) return CIRCA_E_PARAM;
    circa_stft_config sc = {256, 64, CIRCA_WINDOW_HANN}; /* 32 ms, 8 ms hop at 8 kHz */
    circa_stft *st = NULL;
    circa_status rc = circa_stft_create(&sc, &st);
    if (rc != CIRCA_OK) return rc;
    size_t bins = circa_stft_bins(st), fr = circa_stft_frames(st, t), sz = 2 * bins * fr;
    double *x = malloc(t * sizeof *x), *y = malloc(t * sizeof *y);
    double *M = malloc(sz * sizeof *M), *S = malloc(2 * sz * sizeof *S), *O = malloc(sz * sizeof *O);
    if (!x || !y || !M || !S || !O) rc = CIRCA_E_NOMEM;
    for (int k = 0; rc == CIRCA_OK && k < 3; k++) {
        const float *a = k == 0 ? mix : src + (size_t)(k - 1) * t;
        for (size_t i = 0; i < t; i++) x[i] = a[i];
        rc = circa_stft_forward(st, x, t, k == 0 ? M : S + (size_t)(k - 1) * sz);
    }
    for (int k = 0; rc == CIRCA_OK && k < 2; k++) {
        const double *A = S + (size_t)k * sz, *B = S + (size_t)(1 - k) * sz;
        for (size_t i = 0; i < sz; i += 2) {
            double pa = A[i] * A[i] + A[i + 1] * A[i + 1], pb = B[i] * B[i] + B[i + 1] * B[i + 1];
            double g = kind == CIRCA_ORACLE_IBM ? (pa > pb ? 1.0 : 0.0)
                     : kind == CIRCA_ORACLE_IRM ? sqrt(pa) / (sqrt(pa) + sqrt(pb) + 1e-20)
                                                : pa / (pa + pb + 1e-20);
            O[i] = g * M[i];
            O[i + 1] = g * M[i + 1];
        }
        rc = circa_stft_inverse(st, O, y, t);
        for (size_t i = 0; rc == CIRCA_OK && i < t; i++) est[(size_t)k * t + i] = (float)y[i];
    }
    free(x), free(y), free(M), free(S), free(O);
    circa_stft_free(st);
    return rc;
}

void circa_separate_score(size_t t, const float *est, const float *ref, double *sisnr, double *snr) {
    double si[2], sn[2];
    for (int p = 0; p < 2; p++) { /* p = 1: swapped */
        si[p] = sn[p] = 0;
        for (int s = 0; s < 2; s++) {
            const float *e = est + (size_t)(s ^ p) * t, *r = ref + (size_t)s * t;
            si[p] += circa_audio_si_snr(r, e, t) / 2;
            sn[p] += circa_audio_snr(r, e, t) / 2;
        }
    }
    int b = si[1] > si[0];
    if (sisnr) *sisnr = si[b];
    if (snr) *snr = sn[b];
}
