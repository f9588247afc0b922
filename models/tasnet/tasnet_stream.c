/* tasnet_stream.c: frame-by-frame inference of a causal Conv-TasNet, with
 * the per-block state kept explicitly (the rnnoise / Opus way). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tasnet_internal.h"

struct circa_tasnet_stream {
    const circa_tasnet *net;
    int S, L, span_max;
    long hops, frames;
    float *win;   /* the last L input samples */
    double *sums; /* per cLN: running sum and sum of squares */
    float *hist;  /* per block: [H][span_j] ring of its depthwise input */
    size_t *hist_off;
    int *span;
    float *tail;  /* [C][L] decoder overlap-add accumulator */
    float *e, *n0, *r, *h, *u, *v, *dwo, *tb, *skip, *tsc, *ps, *m, *masked, *dec;
    void *blk;
    /* Input-major copies [in][out] of the pointwise weights, so a frame's
     * matrix-vector products are axpys over outputs that gcc vectorises. */
    float *wt_in, *wt_mask, **wt_b; /* wt_b: per block in, res (or NULL), skip */
    void *wblk;
};

void circa_tasnet_stream_free(circa_tasnet_stream *s) {
    if (!s) return;
    free(s->blk);
    free(s->wblk);
    free(s->wt_b);
    free(s->sums);
    free(s->hist_off);
    free(s->span);
    free(s);
}

static void stream_reset(circa_tasnet_stream *s) {
    const circa_tasnet_config *c = &s->net->cfg;
    int J = s->net->nblocks;
    s->hops = s->frames = 0;
    memset(s->win, 0, (size_t)s->L * sizeof *s->win);
    memset(s->sums, 0, 2 * (1 + 2 * (size_t)J) * sizeof *s->sums);
    memset(s->hist, 0, s->hist_off[J] * sizeof *s->hist);
    memset(s->tail, 0, (size_t)c->C * s->L * sizeof *s->tail);
}

/* dst[i][o] = w[o][i] for a [cout][cin][1] conv weight. */
static void transpose(const circa_nn_param *w, float *dst) {
    size_t cout = w->shape[0], cin = w->shape[1];
    for (size_t o = 0; o < cout; o++)
        for (size_t i = 0; i < cin; i++) dst[i * cout + o] = w->w[o * cin + i];
}

/* Makes the input-major weight copies; 0 when out of memory. */
static int copy_weights(circa_tasnet_stream *s) {
    const circa_tasnet *net = s->net;
    int J = net->nblocks;
    size_t n = net->in_w->size + net->mask_w->size;
    for (int j = 0; j < J; j++) {
        const block *bk = &net->blocks[j];
        n += bk->in_w->size + bk->skip_w->size + (bk->res_w ? bk->res_w->size : 0);
    }
    float *p = s->wblk = malloc(n * sizeof(float));
    s->wt_b = calloc(3 * (size_t)J, sizeof *s->wt_b);
    if (!p || !s->wt_b) return 0;
    s->wt_in = p;
    transpose(net->in_w, p);
    p += net->in_w->size;
    s->wt_mask = p;
    transpose(net->mask_w, p);
    p += net->mask_w->size;
    for (int j = 0; j < J; j++) {
        const block *bk = &net->blocks[j];
        const circa_nn_param *ws[3] = {bk->in_w, bk->res_w, bk->skip_w};
        for (int q = 0; q < 3; q++) {
            if (!ws[q]) continue;
            s->wt_b[3 * j + q] = p;
            transpose(ws[q], p);
            p += ws[q]->size;
        }
    }
    return 1;
}

/* y = b + W x from input-major W: the same per-output arithmetic as the
 * batch pointwise conv (four inputs per pass, grouped alike), so results
 * agree exactly, but vectorised over the outputs. */
static void pw_step(const float *wt, const float *b, int cin, int cout, const float *x,
                    float *restrict y) {
    for (int o = 0; o < cout; o++) y[o] = b[o];
    int r = 0;
    for (; r + 4 <= cin; r += 4) {
        const float *restrict w0 = wt + (size_t)r * cout, *restrict w1 = w0 + cout,
                    *restrict w2 = w1 + cout, *restrict w3 = w2 + cout;
        float x0 = x[r], x1 = x[r + 1], x2 = x[r + 2], x3 = x[r + 3];
        for (int o = 0; o < cout; o++) y[o] += (w0[o] * x0 + w1[o] * x1) + (w2[o] * x2 + w3[o] * x3);
    }
    for (; r < cin; r++) {
        const float *restrict w0 = wt + (size_t)r * cout;
        for (int o = 0; o < cout; o++) y[o] += w0[o] * x[r];
    }
}

circa_status circa_tasnet_stream_create(const circa_tasnet *net, circa_tasnet_stream **out) {
    if (!out) return CIRCA_E_PARAM;
    *out = NULL;
    if (!net) return CIRCA_E_PARAM;
    const circa_tasnet_config *c = &net->cfg;
    if (!c->causal) return CIRCA_E_UNSUPPORTED; /* gLN needs the whole signal */
    int J = net->nblocks;
    circa_tasnet_stream *s = calloc(1, sizeof *s);
    if (!s) return CIRCA_E_NOMEM;
    s->net = net;
    s->S = c->L / 2;
    s->L = c->L;
    s->sums = calloc(2 * (1 + 2 * (size_t)J), sizeof *s->sums);
    s->hist_off = calloc((size_t)J + 1, sizeof *s->hist_off);
    s->span = calloc((size_t)J, sizeof *s->span);
    if (!s->sums || !s->hist_off || !s->span) {
        circa_tasnet_stream_free(s);
        return CIRCA_E_NOMEM;
    }
    for (int j = 0; j < J; j++) {
        s->span[j] = (c->P - 1) * net->blocks[j].dilation + 1;
        s->hist_off[j + 1] = s->hist_off[j] + (size_t)c->H * s->span[j];
    }
    size_t N = c->N, CN = (size_t)c->C * c->N, B = c->B, H = c->H, Sc = c->Sc, L = c->L;
    size_t n = L + s->hist_off[J] + (size_t)c->C * L + 2 * N + 2 * B + 4 * H + 3 * Sc + CN + N + L;
    float *p = s->blk = calloc(n, sizeof(float));
    if (!p) {
        circa_tasnet_stream_free(s);
        return CIRCA_E_NOMEM;
    }
#define TAKE(len) (p += (len), p - (len))
    s->win = TAKE(L);
    s->hist = TAKE(s->hist_off[J]);
    s->tail = TAKE((size_t)c->C * L);
    s->e = TAKE(N);
    s->n0 = TAKE(N);
    s->r = TAKE(B);
    s->tb = TAKE(B);
    s->h = TAKE(H);
    s->u = TAKE(H);
    s->v = TAKE(H);
    s->dwo = TAKE(H);
    s->skip = TAKE(Sc);
    s->tsc = TAKE(Sc);
    s->ps = TAKE(Sc);
    s->m = TAKE(CN);
    s->masked = TAKE(N);
    s->dec = TAKE(L);
#undef TAKE
    if (!copy_weights(s)) {
        circa_tasnet_stream_free(s);
        return CIRCA_E_NOMEM;
    }
    stream_reset(s);
    *out = s;
    return CIRCA_OK;
}

/* One frame of cumulative LN: the same arithmetic, in the same order, as
 * nn_layers.c's whole-signal version, so the results agree exactly. */
static void cln_step(double *sum, int c, long k, const float *x, const float *gain,
                     const float *bias, float *y) {
    for (int ch = 0; ch < c; ch++) {
        double v = x[ch];
        sum[0] += v;
        sum[1] += v * v;
    }
    double cnt = (double)c * (k + 1), mu = sum[0] / cnt, var = sum[1] / cnt - mu * mu;
    if (var < 0) var = 0;
    double inv = 1.0 / sqrt(var + CIRCA_NN_NORM_EPS);
    for (int ch = 0; ch < c; ch++) y[ch] = (float)(gain[ch] * (x[ch] - mu) * inv + bias[ch]);
}

/* The block's depthwise conv at frame k from its ring of past inputs;
 * frames before 0 are the causal zero padding, skipped as the batch conv
 * skips them. */
static void depthwise_step(const circa_tasnet_stream *s, int j, long k, float *y) {
    const circa_tasnet_config *c = &s->net->cfg;
    const block *bk = &s->net->blocks[j];
    int span = s->span[j], d = bk->dilation;
    const float *hist = s->hist + s->hist_off[j];
    for (int ch = 0; ch < c->H; ch++) {
        const float *w = bk->dw_w->w + (size_t)ch * c->P, *hr = hist + (size_t)ch * span;
        float acc = bk->dw_b->w[ch];
        for (int q = 0; q < c->P; q++) {
            long t = k - (long)(c->P - 1 - q) * d;
            if (t >= 0) acc += w[q] * hr[t % span];
        }
        y[ch] = acc;
    }
}

static void block_step(circa_tasnet_stream *s, int j, long k) {
    const circa_tasnet *net = s->net;
    const circa_tasnet_config *c = &net->cfg;
    const block *bk = &net->blocks[j];
    float *const *wt = s->wt_b + 3 * (size_t)j;
    double *sums = s->sums + 2 * (1 + 2 * (size_t)j);
    pw_step(wt[0], bk->in_b->w, c->B, c->H, s->r, s->h);
    circa_nn_prelu_forward((size_t)c->H, s->h, bk->a1->w[0], s->u);
    cln_step(sums, c->H, k, s->u, bk->n1g->w, bk->n1b->w, s->v);
    float *hist = s->hist + s->hist_off[j];
    int span = s->span[j];
    for (int ch = 0; ch < c->H; ch++) hist[(size_t)ch * span + k % span] = s->v[ch];
    depthwise_step(s, j, k, s->dwo);
    circa_nn_prelu_forward((size_t)c->H, s->dwo, bk->a2->w[0], s->u);
    cln_step(sums + 2, c->H, k, s->u, bk->n2g->w, bk->n2b->w, s->v);
    if (bk->res_w) {
        pw_step(wt[1], bk->res_b->w, c->H, c->B, s->v, s->tb);
        for (int i = 0; i < c->B; i++) s->r[i] = s->tb[i] + s->r[i];
    }
    pw_step(wt[2], bk->skip_b->w, c->H, c->Sc, s->v, s->tsc);
    for (int i = 0; i < c->Sc; i++) s->skip[i] += s->tsc[i];
}

/* Frame s->frames from the window: separator, masks, and the decoder's
 * overlap-add into the tail. */
static circa_status frame_step(circa_tasnet_stream *s) {
    const circa_tasnet *net = s->net;
    const circa_tasnet_config *c = &net->cfg;
    long k = s->frames;
    circa_nn_conv1d enc = {1, c->N, c->L, s->S, 1, 0, 0, 1, 1};
    circa_nn_tconv1d dec = {c->N, 1, c->L, s->S, 1};
    circa_status st = circa_nn_conv1d_forward(&enc, 1, c->L, s->win, net->enc_w->w, NULL, s->e);
    if (st != CIRCA_OK) return st;
    cln_step(s->sums, c->N, k, s->e, net->nrm_g->w, net->nrm_b->w, s->n0);
    pw_step(s->wt_in, net->in_b->w, c->N, c->B, s->n0, s->r);
    memset(s->skip, 0, (size_t)c->Sc * sizeof *s->skip);
    for (int j = 0; j < net->nblocks; j++) block_step(s, j, k);
    circa_nn_prelu_forward((size_t)c->Sc, s->skip, net->out_a->w[0], s->ps);
    pw_step(s->wt_mask, net->mask_b->w, c->Sc, c->C * c->N, s->ps, s->m);
    circa_nn_sigmoid_forward((size_t)c->C * c->N, s->m, s->m);
    for (int src = 0; src < c->C && st == CIRCA_OK; src++) {
        for (int n = 0; n < c->N; n++) s->masked[n] = s->m[src * c->N + n] * s->e[n];
        st = circa_nn_tconv1d_forward(&dec, 1, 1, s->masked, net->dec_w->w, NULL, s->dec);
        float *tail = s->tail + (size_t)src * s->L;
        for (int i = 0; i < s->L; i++) tail[i] += s->dec[i];
    }
    s->frames++;
    return st;
}

/* Moves the first S tail samples of each source to out and shifts. */
static void emit(circa_tasnet_stream *s, float *out) {
    const circa_tasnet_config *c = &s->net->cfg;
    for (int src = 0; src < c->C; src++) {
        float *tail = s->tail + (size_t)src * s->L;
        memcpy(out + (size_t)src * s->S, tail, (size_t)s->S * sizeof *tail);
        memmove(tail, tail + s->S, (size_t)(s->L - s->S) * sizeof *tail);
        memset(tail + s->L - s->S, 0, (size_t)s->S * sizeof *tail);
    }
}

circa_status circa_tasnet_stream_push(circa_tasnet_stream *s, const float *in, float *out,
                                      int *nout) {
    if (!s || !in || !out || !nout) return CIRCA_E_PARAM;
    *nout = 0;
    memmove(s->win, s->win + s->S, (size_t)(s->L - s->S) * sizeof *s->win);
    memcpy(s->win + s->L - s->S, in, (size_t)s->S * sizeof *in);
    s->hops++;
    if (s->hops * s->S < s->L) return CIRCA_OK; /* the first window is not full yet */
    circa_status st = frame_step(s);
    if (st != CIRCA_OK) return st;
    emit(s, out);
    *nout = s->S;
    return CIRCA_OK;
}

circa_status circa_tasnet_stream_flush(circa_tasnet_stream *s, float *out, int *nout) {
    if (!s || !out || !nout) return CIRCA_E_PARAM;
    *nout = 0;
    if (s->frames > 0) {
        emit(s, out);
        *nout = s->S;
    }
    stream_reset(s);
    return CIRCA_OK;
}
