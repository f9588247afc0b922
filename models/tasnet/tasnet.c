/* tasnet.c: Conv-TasNet (encoder, TCN separator with gLN or cumulative LN,
 * sigmoid masks, overlap-add decoder): init, forward, backward, files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tasnet_internal.h"

#define MAX_SIZE 4096 /* any of N, B, H, Sc, L; keeps products far from overflow */
#define MAX_BLOCKS 256

/* ---- configuration -------------------------------------------------------------- */
circa_tasnet_config circa_tasnet_config_default(void) {
    return (circa_tasnet_config){128, 16, 64, 256, 64, 3, 8, 3, 2, 0, 1};
}

circa_status circa_tasnet_config_check(const circa_tasnet_config *c) {
    if (!c) return CIRCA_E_PARAM;
    int sizes[] = {c->N, c->L, c->B, c->H, c->Sc};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        if (sizes[i] <= 0 || sizes[i] > MAX_SIZE) return CIRCA_E_PARAM;
    /* R is bounded before X * R, which could overflow an int otherwise */
    if (c->L < 2 || c->L % 2 || c->P < 1 || c->P > 64 || c->X < 1 || c->X > 16 || c->R < 1 ||
        c->R > MAX_BLOCKS || c->X * c->R > MAX_BLOCKS || c->C < 1 || c->C > 4 || (c->causal != 0 && c->causal != 1))
        return CIRCA_E_PARAM;
    if (!c->causal && c->P % 2 == 0) return CIRCA_E_PARAM; /* centred padding needs odd P */
    return CIRCA_OK;
}

int circa_tasnet_frames(const circa_tasnet_config *cfg, int t) {
    if (!cfg || t < cfg->L || cfg->L < 2) return 0;
    int s = cfg->L / 2;
    return (t - cfg->L) % s ? 0 : (t - cfg->L) / s + 1;
}

/* ---- parameters and init ---------------------------------------------------------- */
static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void fill_uniform(circa_nn_param *p, double bound, uint64_t *rng) {
    for (size_t i = 0; i < p->size; i++) {
        double u = (double)(splitmix(rng) >> 11) * (1.0 / 9007199254740992.0);
        p->w[i] = (float)((2.0 * u - 1.0) * bound);
    }
}

static void fill_const(circa_nn_param *p, float v) {
    for (size_t i = 0; i < p->size; i++) p->w[i] = v;
}

/* Appends a parameter; NULL on failure (the caller frees the model). */
static circa_nn_param *add(circa_tasnet *net, const char *name, int ndim, size_t d0, size_t d1,
                           size_t d2) {
    size_t shape[3] = {d0, d1, d2};
    circa_nn_param *p = &net->ps[net->np];
    if (circa_nn_param_alloc(p, name, ndim, shape) != CIRCA_OK) return NULL;
    net->np++;
    return p;
}

/* Number of parameter tensors for a config: must match build_params. */
static size_t count_params(const circa_tasnet_config *c) {
    size_t j = (size_t)c->X * c->R;
    return 1 + 2 + 2 + j * 14 - 2 + 1 + 2 + 1;
}

/* Number of floats in all parameters of a config: must match build_params.
 * A weight file is checked against it before anything is allocated, so a
 * small file cannot claim a model of many gigabytes. */
static uint64_t count_floats(const circa_tasnet_config *c) {
    uint64_t N = (uint64_t)c->N, B = (uint64_t)c->B, H = (uint64_t)c->H, Sc = (uint64_t)c->Sc;
    uint64_t L = (uint64_t)c->L, P = (uint64_t)c->P, C = (uint64_t)c->C, j = (uint64_t)c->X * (uint64_t)c->R;
    uint64_t per_block = H * B + H + 1 + 2 * H + H * P + H + 1 + 2 * H + Sc * H + Sc;
    return N * L + 2 * N + B * N + B + j * per_block + (j - 1) * (B * H + B) + 1 + C * N * Sc + C * N + N * L;
}

static circa_status build_params(circa_tasnet *net) {
    const circa_tasnet_config *c = &net->cfg;
    size_t N = c->N, B = c->B, H = c->H, Sc = c->Sc, L = c->L, P = c->P;
    char nm[CIRCA_NN_NAME_MAX];
#define ADD(dst, ndim, a, b2, c2)                                                            \
    do {                                                                                     \
        if (!((dst) = add(net, nm, ndim, a, b2, c2))) return CIRCA_E_NOMEM;                  \
    } while (0)
#define NAME(...) snprintf(nm, sizeof nm, __VA_ARGS__)
    NAME("enc.w"); ADD(net->enc_w, 3, N, 1, L);
    NAME("sep.norm.g"); ADD(net->nrm_g, 1, N, 0, 0);
    NAME("sep.norm.b"); ADD(net->nrm_b, 1, N, 0, 0);
    NAME("sep.in.w"); ADD(net->in_w, 3, B, N, 1);
    NAME("sep.in.b"); ADD(net->in_b, 1, B, 0, 0);
    for (int j = 0; j < net->nblocks; j++) {
        block *bk = &net->blocks[j];
        bk->dilation = 1 << (j % c->X);
        NAME("b%d.in.w", j); ADD(bk->in_w, 3, H, B, 1);
        NAME("b%d.in.b", j); ADD(bk->in_b, 1, H, 0, 0);
        NAME("b%d.prelu1", j); ADD(bk->a1, 1, 1, 0, 0);
        NAME("b%d.norm1.g", j); ADD(bk->n1g, 1, H, 0, 0);
        NAME("b%d.norm1.b", j); ADD(bk->n1b, 1, H, 0, 0);
        NAME("b%d.dw.w", j); ADD(bk->dw_w, 3, H, 1, P);
        NAME("b%d.dw.b", j); ADD(bk->dw_b, 1, H, 0, 0);
        NAME("b%d.prelu2", j); ADD(bk->a2, 1, 1, 0, 0);
        NAME("b%d.norm2.g", j); ADD(bk->n2g, 1, H, 0, 0);
        NAME("b%d.norm2.b", j); ADD(bk->n2b, 1, H, 0, 0);
        if (j + 1 < net->nblocks) {
            NAME("b%d.res.w", j); ADD(bk->res_w, 3, B, H, 1);
            NAME("b%d.res.b", j); ADD(bk->res_b, 1, B, 0, 0);
        }
        NAME("b%d.skip.w", j); ADD(bk->skip_w, 3, Sc, H, 1);
        NAME("b%d.skip.b", j); ADD(bk->skip_b, 1, Sc, 0, 0);
    }
    NAME("sep.prelu"); ADD(net->out_a, 1, 1, 0, 0);
    NAME("sep.mask.w"); ADD(net->mask_w, 3, (size_t)c->C * N, Sc, 1);
    NAME("sep.mask.b"); ADD(net->mask_b, 1, (size_t)c->C * N, 0, 0);
    NAME("dec.w"); ADD(net->dec_w, 3, N, 1, L);
#undef ADD
#undef NAME
    return CIRCA_OK;
}

/* PyTorch's defaults: kaiming-uniform(a = sqrt 5) gives +-1/sqrt(fan_in)
 * for weights and biases alike; fan_in of a transposed conv is out * k. */
static void init_params(circa_tasnet *net, uint64_t seed) {
    uint64_t rng = seed;
    for (size_t i = 0; i < net->np; i++) {
        circa_nn_param *p = &net->ps[i];
        const char *dot = strrchr(p->name, '.');
        if (strstr(p->name, "norm")) fill_const(p, dot && !strcmp(dot, ".g") ? 1.0f : 0.0f);
        else if (strstr(p->name, "prelu")) fill_const(p, 0.25f);
        else if (p->ndim == 3) fill_uniform(p, 1.0 / sqrt((double)(p->shape[1] * p->shape[2])), &rng);
        else { /* a conv bias: fan_in of the weight just before it */
            const circa_nn_param *w = p - 1;
            fill_uniform(p, 1.0 / sqrt((double)(w->shape[1] * w->shape[2])), &rng);
        }
    }
}

static void free_acts(acts *a) {
    free(a->blk);
    free(a->r);
    memset(a, 0, sizeof *a);
}

void circa_tasnet_free(circa_tasnet *net) {
    if (!net) return;
    circa_tasnet__cuda_release(net);
    for (size_t i = 0; i < net->np; i++) circa_nn_param_release(&net->ps[i]);
    free(net->ps);
    free(net->blocks);
    free_acts(&net->a);
    free(net);
}

/* A model with allocated (zero) parameters. */
static circa_status alloc_model(const circa_tasnet_config *cfg, circa_tasnet **out) {
    *out = NULL;
    circa_status st = circa_tasnet_config_check(cfg);
    if (st != CIRCA_OK) return st;
    circa_tasnet *net = calloc(1, sizeof *net);
    if (!net) return CIRCA_E_NOMEM;
    net->cfg = *cfg;
    net->nblocks = cfg->X * cfg->R;
    net->ps = calloc(count_params(cfg), sizeof *net->ps);
    net->blocks = calloc((size_t)net->nblocks, sizeof *net->blocks);
    st = net->ps && net->blocks ? build_params(net) : CIRCA_E_NOMEM;
    if (st != CIRCA_OK) {
        circa_tasnet_free(net);
        return st;
    }
    *out = net;
    return CIRCA_OK;
}

circa_status circa_tasnet_create(const circa_tasnet_config *cfg, uint64_t seed,
                                 circa_tasnet **out) {
    if (!out) return CIRCA_E_PARAM;
    circa_status st = alloc_model(cfg, out);
    if (st == CIRCA_OK) init_params(*out, seed);
    return st;
}

const circa_tasnet_config *circa_tasnet_get_config(const circa_tasnet *net) {
    return net ? &net->cfg : NULL;
}

circa_nn_param *circa_tasnet_params(circa_tasnet *net, size_t *n) {
    if (n) *n = net ? net->np : 0;
    return net ? net->ps : NULL;
}

/* ---- layer descriptors ----------------------------------------------------------- */
static circa_nn_conv1d pointwise(const circa_tasnet *net, int cin, int cout) {
    return (circa_nn_conv1d){cin, cout, 1, 1, 1, 0, 0, 1, net->cfg.threads};
}

static circa_nn_conv1d depthwise(const circa_tasnet *net, int dilation) {
    const circa_tasnet_config *c = &net->cfg;
    int span = (c->P - 1) * dilation;
    int left = c->causal ? span : span / 2, right = c->causal ? 0 : span / 2;
    return (circa_nn_conv1d){c->H, c->H, c->P, 1, dilation, left, right, c->H, c->threads};
}

static circa_nn_conv1d encoder(const circa_tasnet *net) {
    const circa_tasnet_config *c = &net->cfg;
    return (circa_nn_conv1d){1, c->N, c->L, c->L / 2, 1, 0, 0, 1, c->threads};
}

static circa_nn_tconv1d decoder(const circa_tasnet *net) {
    const circa_tasnet_config *c = &net->cfg;
    return (circa_nn_tconv1d){c->N, 1, c->L, c->L / 2, c->threads};
}

static circa_nn_norm_kind norm_kind(const circa_tasnet *net) {
    return net->cfg.causal ? CIRCA_NN_CLN : CIRCA_NN_GLN;
}

/* ---- activations ------------------------------------------------------------------ */
/* (Re)allocates the activation store for batch x t: one block, carved up.
 * keep = 0 (inference) stores two residual buffers and one block's inner
 * activations instead of every block's: for the default model about 13 MB
 * instead of 70 MB per second of audio. */
static circa_status ensure_acts(circa_tasnet *net, int batch, int t, int k, int keep) {
    acts *a = &net->a;
    if (a->blk && a->batch == batch && a->t == t && a->keep == keep) return CIRCA_OK;
    free_acts(a);
    const circa_tasnet_config *c = &net->cfg;
    int J = net->nblocks, stored_r = keep ? J : 2, stored_hd = keep ? J : 1;
    size_t bk = (size_t)batch * k;
    size_t n = (size_t)batch * t + bk * (2 * (size_t)c->N + 2 * (size_t)c->Sc + 2 * (size_t)c->C * c->N) +
               bk * ((size_t)stored_r * c->B + 2 * (size_t)stored_hd * c->H) + 4 * bk * (size_t)c->H;
    a->blk = malloc(n * sizeof(float));
    a->r = malloc(3 * (size_t)J * sizeof *a->r);
    if (!a->blk || !a->r) {
        free_acts(a);
        return CIRCA_E_NOMEM;
    }
    float *p = a->blk;
#define TAKE(len) (p += (len), p - (len))
    a->mix = TAKE((size_t)batch * t);
    a->enc = TAKE(bk * c->N);
    a->nrm0 = TAKE(bk * c->N);
    a->skip = TAKE(bk * c->Sc);
    a->ps = TAKE(bk * c->Sc);
    a->mask = TAKE(bk * c->C * c->N);
    a->masked = TAKE(bk * c->C * c->N);
    a->h1 = a->r + J;
    a->d = a->r + 2 * J;
    a->a1 = TAKE(bk * c->H);
    a->n1 = TAKE(bk * c->H);
    a->a2 = TAKE(bk * c->H);
    a->n2 = TAKE(bk * c->H);
    for (int j = 0; j < J; j++) {
        a->r[j] = j < stored_r ? TAKE(bk * c->B) : a->r[j % 2];
        a->h1[j] = j < stored_hd ? TAKE(bk * c->H) : a->h1[0];
        a->d[j] = j < stored_hd ? TAKE(bk * c->H) : a->d[0];
    }
#undef TAKE
    a->batch = batch;
    a->t = t;
    a->k = k;
    a->keep = keep;
    return CIRCA_OK;
}

/* ---- forward ----------------------------------------------------------------------- */
/* Chains statuses: the first failure wins and later steps are skipped. */
#define TRY(expr)                                                                            \
    do {                                                                                     \
        if (st == CIRCA_OK) st = (expr);                                                     \
    } while (0)

static circa_status block_forward(circa_tasnet *net, int j, int batch, int k) {
    const circa_tasnet_config *c = &net->cfg;
    acts *a = &net->a;
    const block *bk = &net->blocks[j];
    size_t nh = (size_t)batch * c->H * k;
    circa_nn_conv1d pin = pointwise(net, c->B, c->H), dw = depthwise(net, bk->dilation);
    circa_nn_conv1d res = pointwise(net, c->H, c->B), skp = pointwise(net, c->H, c->Sc);
    circa_status st = CIRCA_OK;
    TRY(circa_nn_conv1d_forward(&pin, batch, k, a->r[j], bk->in_w->w, bk->in_b->w, a->h1[j]));
    circa_nn_prelu_forward(nh, a->h1[j], bk->a1->w[0], a->a1);
    TRY(circa_nn_norm_forward(norm_kind(net), batch, c->H, k, a->a1, bk->n1g->w, bk->n1b->w, a->n1));
    TRY(circa_nn_conv1d_forward(&dw, batch, k, a->n1, bk->dw_w->w, bk->dw_b->w, a->d[j]));
    circa_nn_prelu_forward(nh, a->d[j], bk->a2->w[0], a->a2);
    TRY(circa_nn_norm_forward(norm_kind(net), batch, c->H, k, a->a2, bk->n2g->w, bk->n2b->w, a->n2));
    if (bk->res_w) {
        float *next = a->r[j + 1]; /* never a->r[j], even when inference reuses buffers */
        TRY(circa_nn_conv1d_forward(&res, batch, k, a->n2, bk->res_w->w, bk->res_b->w, next));
        size_t nb = (size_t)batch * c->B * k;
        for (size_t i = 0; i < nb; i++) next[i] += a->r[j][i];
    }
    /* The skip path sums over blocks: conv into scratch (ps, free until the
     * end of the separator), then add. */
    TRY(circa_nn_conv1d_forward(&skp, batch, k, a->n2, bk->skip_w->w, bk->skip_b->w, a->ps));
    size_t ns = (size_t)batch * c->Sc * k;
    for (size_t i = 0; i < ns && st == CIRCA_OK; i++) a->skip[i] += a->ps[i];
    return st;
}

static circa_status forward(circa_tasnet *net, int batch, int t, const float *mix, float *est, int keep) {
    if (!net || !mix || !est || batch <= 0) return CIRCA_E_PARAM;
    const circa_tasnet_config *c = &net->cfg;
    int k = circa_tasnet_frames(c, t);
    if (!k) return CIRCA_E_PARAM;
    net->have_acts = 0;
    if (net->gpu) return circa_tasnet__forward_cuda(net, batch, t, k, mix, est);
    circa_status st = ensure_acts(net, batch, t, k, keep);
    if (st != CIRCA_OK) return st;
    acts *a = &net->a;
    size_t bk = (size_t)batch * k, nm = bk * c->C * c->N;
    memcpy(a->mix, mix, (size_t)batch * t * sizeof *mix);
    circa_nn_conv1d enc = encoder(net), pin = pointwise(net, c->N, c->B);
    circa_nn_conv1d msk = pointwise(net, c->Sc, c->C * c->N);
    circa_nn_tconv1d dec = decoder(net);
    TRY(circa_nn_conv1d_forward(&enc, batch, t, a->mix, net->enc_w->w, NULL, a->enc));
    TRY(circa_nn_norm_forward(norm_kind(net), batch, c->N, k, a->enc, net->nrm_g->w, net->nrm_b->w, a->nrm0));
    TRY(circa_nn_conv1d_forward(&pin, batch, k, a->nrm0, net->in_w->w, net->in_b->w, a->r[0]));
    memset(a->skip, 0, bk * c->Sc * sizeof(float));
    for (int j = 0; j < net->nblocks && st == CIRCA_OK; j++) st = block_forward(net, j, batch, k);
    if (st != CIRCA_OK) return st;
    circa_nn_prelu_forward(bk * c->Sc, a->skip, net->out_a->w[0], a->ps);
    TRY(circa_nn_conv1d_forward(&msk, batch, k, a->ps, net->mask_w->w, net->mask_b->w, a->mask));
    circa_nn_sigmoid_forward(nm, a->mask, a->mask);
    /* masked[b][s][n][:] = mask[b][s*N+n][:] * enc[b][n][:] */
    for (int b = 0; b < batch; b++)
        for (int s = 0; s < c->C; s++) {
            size_t off = ((size_t)b * c->C + s) * c->N * k;
            const float *e = a->enc + (size_t)b * c->N * k;
            for (size_t i = 0; i < (size_t)c->N * k; i++) a->masked[off + i] = a->mask[off + i] * e[i];
        }
    /* The decoder sees batch*C items of N channels: est is [batch][C][t]. */
    TRY(circa_nn_tconv1d_forward(&dec, batch * c->C, k, a->masked, net->dec_w->w, NULL, est));
    net->have_acts = st == CIRCA_OK && keep;
    return st;
}

circa_status circa_tasnet_forward(circa_tasnet *net, int batch, int t, const float *mix, float *est) {
    return forward(net, batch, t, mix, est, 1);
}

circa_status circa_tasnet_infer(circa_tasnet *net, int batch, int t, const float *mix, float *est) {
    return forward(net, batch, t, mix, est, 0);
}

/* ---- backward ---------------------------------------------------------------------- */
typedef struct grads {
    float *dmasked, *denc, *dmask, *dps, *dskip, *dr, *dnrm0, *dh[2];
} grads;

/* Through block j: dskip and dr (gradient of its output r[j+1]) in, dr now
 * the gradient of its input r[j]. */
static circa_status block_backward(circa_tasnet *net, int j, int batch, int k, grads *g) {
    const circa_tasnet_config *c = &net->cfg;
    acts *a = &net->a;
    const block *bk = &net->blocks[j];
    size_t nh = (size_t)batch * c->H * k;
    circa_nn_conv1d pin = pointwise(net, c->B, c->H), dw = depthwise(net, bk->dilation);
    circa_nn_conv1d res = pointwise(net, c->H, c->B), skp = pointwise(net, c->H, c->Sc);
    float *u = g->dh[0], *v = g->dh[1];
    circa_status st = CIRCA_OK;
    /* Recompute the block's PReLU and norm outputs from its conv outputs. */
    circa_nn_prelu_forward(nh, a->h1[j], bk->a1->w[0], a->a1);
    TRY(circa_nn_norm_forward(norm_kind(net), batch, c->H, k, a->a1, bk->n1g->w, bk->n1b->w, a->n1));
    circa_nn_prelu_forward(nh, a->d[j], bk->a2->w[0], a->a2);
    TRY(circa_nn_norm_forward(norm_kind(net), batch, c->H, k, a->a2, bk->n2g->w, bk->n2b->w, a->n2));
    memset(u, 0, nh * sizeof *u);
    TRY(circa_nn_conv1d_backward(&skp, batch, k, a->n2, bk->skip_w->w, g->dskip, u, bk->skip_w->g, bk->skip_b->g));
    if (bk->res_w)
        TRY(circa_nn_conv1d_backward(&res, batch, k, a->n2, bk->res_w->w, g->dr, u, bk->res_w->g, bk->res_b->g));
    memset(v, 0, nh * sizeof *v);
    TRY(circa_nn_norm_backward(norm_kind(net), batch, c->H, k, a->a2, bk->n2g->w, u, v, bk->n2g->g, bk->n2b->g));
    memset(u, 0, nh * sizeof *u);
    circa_nn_prelu_backward(nh, a->d[j], bk->a2->w[0], v, u, bk->a2->g);
    memset(v, 0, nh * sizeof *v);
    TRY(circa_nn_conv1d_backward(&dw, batch, k, a->n1, bk->dw_w->w, u, v, bk->dw_w->g, bk->dw_b->g));
    memset(u, 0, nh * sizeof *u);
    TRY(circa_nn_norm_backward(norm_kind(net), batch, c->H, k, a->a1, bk->n1g->w, v, u, bk->n1g->g, bk->n1b->g));
    memset(v, 0, nh * sizeof *v);
    circa_nn_prelu_backward(nh, a->h1[j], bk->a1->w[0], u, v, bk->a1->g);
    /* r[j+1] = r[j] + res(...): dr already holds the identity path. */
    TRY(circa_nn_conv1d_backward(&pin, batch, k, a->r[j], bk->in_w->w, v, g->dr, bk->in_w->g, bk->in_b->g));
    return st;
}

/* Masks and decoder: dest -> dmasked -> (dmask, denc). */
static circa_status head_backward(circa_tasnet *net, const float *dest, grads *g) {
    const circa_tasnet_config *c = &net->cfg;
    acts *a = &net->a;
    int batch = a->batch, k = a->k;
    size_t nk = (size_t)c->N * k;
    circa_nn_tconv1d dec = decoder(net);
    circa_status st = circa_nn_tconv1d_backward(&dec, batch * c->C, k, a->masked, net->dec_w->w,
                                                dest, g->dmasked, net->dec_w->g, NULL);
    for (int b = 0; b < batch && st == CIRCA_OK; b++)
        for (int s = 0; s < c->C; s++) {
            size_t off = ((size_t)b * c->C + s) * nk;
            const float *e = a->enc + (size_t)b * nk;
            float *de = g->denc + (size_t)b * nk;
            for (size_t i = 0; i < nk; i++) {
                g->dmask[off + i] = g->dmasked[off + i] * e[i];
                de[i] += g->dmasked[off + i] * a->mask[off + i];
            }
        }
    return st;
}

circa_status circa_tasnet_backward(circa_tasnet *net, const float *dest) {
    if (!net || !dest) return CIRCA_E_PARAM;
    if (net->gpu) return circa_tasnet__backward_cuda(net, dest);
    if (!net->have_acts) return CIRCA_E_STATE;
    const circa_tasnet_config *c = &net->cfg;
    acts *a = &net->a;
    int batch = a->batch, k = a->k;
    size_t bk = (size_t)batch * k, nm = bk * c->C * c->N;
    size_t nn = bk * c->N, ns = bk * c->Sc, nb = bk * c->B, nh = bk * c->H;
    float *blk = calloc(2 * nm + 2 * nn + 2 * ns + nb + 2 * nh, sizeof(float));
    if (!blk) return CIRCA_E_NOMEM;
    grads g = {blk, blk + nm, blk + nm + nn, blk + 2 * nm + nn, blk + 2 * nm + nn + ns,
               blk + 2 * nm + nn + 2 * ns, blk + 2 * nm + nn + 2 * ns + nb,
               {blk + 2 * nm + 2 * nn + 2 * ns + nb, blk + 2 * nm + 2 * nn + 2 * ns + nb + nh}};
    circa_nn_conv1d enc = encoder(net), pin = pointwise(net, c->N, c->B);
    circa_nn_conv1d msk = pointwise(net, c->Sc, c->C * c->N);
    circa_status st = head_backward(net, dest, &g);
    /* sigmoid in place: dmask becomes the gradient of the logits */
    float *dlogit = g.dmasked; /* dmasked is no longer needed */
    memset(dlogit, 0, nm * sizeof *dlogit);
    circa_nn_sigmoid_backward(nm, a->mask, g.dmask, dlogit);
    TRY(circa_nn_conv1d_backward(&msk, batch, k, a->ps, net->mask_w->w, dlogit, g.dps, net->mask_w->g, net->mask_b->g));
    /* a->ps served as skip scratch during forward but ends as PReLU(skip). */
    circa_nn_prelu_backward(ns, a->skip, net->out_a->w[0], g.dps, g.dskip, net->out_a->g);
    for (int j = net->nblocks - 1; j >= 0 && st == CIRCA_OK; j--) st = block_backward(net, j, batch, k, &g);
    TRY(circa_nn_conv1d_backward(&pin, batch, k, a->nrm0, net->in_w->w, g.dr, g.dnrm0, net->in_w->g, net->in_b->g));
    TRY(circa_nn_norm_backward(norm_kind(net), batch, c->N, k, a->enc, net->nrm_g->w, g.dnrm0, g.denc, net->nrm_g->g, net->nrm_b->g));
    TRY(circa_nn_conv1d_backward(&enc, batch, a->t, a->mix, net->enc_w->w, g.denc, NULL, net->enc_w->g, NULL));
    free(blk);
    return st;
}

/* ---- files ------------------------------------------------------------------------- */
circa_status circa_tasnet_save(const circa_tasnet *net, const char *path) {
    if (!net || !path) return CIRCA_E_PARAM;
    const circa_tasnet_config *c = &net->cfg;
    int32_t cfgv[10] = {c->N, c->L, c->B, c->H, c->Sc, c->P, c->X, c->R, c->C, c->causal};
    circa_nn_record *recs = calloc(net->np + 1, sizeof *recs);
    if (!recs) return CIRCA_E_NOMEM;
    recs[0] = (circa_nn_record){"tasnet.config", CIRCA_NN_I32, 1, {10}, cfgv};
    for (size_t i = 0; i < net->np; i++) {
        const circa_nn_param *p = &net->ps[i];
        circa_nn_record *r = &recs[i + 1];
        r->name = p->name;
        r->dtype = CIRCA_NN_F32;
        r->ndim = p->ndim;
        memcpy(r->shape, p->shape, sizeof r->shape);
        r->data = p->w;
    }
    circa_status st = circa_nn_weights_write(path, recs, net->np + 1);
    free(recs);
    return st;
}

/* Floats in every float record of a weight file. */
static uint64_t file_floats(const circa_nn_weights *w) {
    uint64_t total = 0;
    for (size_t i = 0; i < circa_nn_weights_count(w); i++) {
        const circa_nn_record *r = circa_nn_weights_record(w, i);
        if (r->dtype != CIRCA_NN_F32) continue;
        uint64_t n = 1;
        for (int d = 0; d < r->ndim; d++) n *= r->shape[d];
        total += n;
    }
    return total;
}

/* A NaN or infinite weight would turn every output into NaN: refused at load. */
static int all_finite(const circa_nn_param *p) {
    for (size_t i = 0; i < p->size; i++)
        if (!isfinite(p->w[i])) return 0;
    return 1;
}

circa_status circa_tasnet_from_weights(const circa_nn_weights *w, unsigned threads,
                                       circa_tasnet **out) {
    if (!out) return CIRCA_E_PARAM;
    *out = NULL;
    if (!w) return CIRCA_E_PARAM;
    const circa_nn_record *r = circa_nn_weights_find(w, "tasnet.config");
    if (!r) return CIRCA_E_MODEL;
    if (r->dtype != CIRCA_NN_I32 || r->ndim != 1 || r->shape[0] != 10) return CIRCA_E_FORMAT;
    const int32_t *v = r->data;
    circa_tasnet_config cfg = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], threads};
    circa_status st = circa_tasnet_config_check(&cfg);
    if (st != CIRCA_OK) return st;
    if (file_floats(w) != count_floats(&cfg)) return CIRCA_E_FORMAT;
    circa_tasnet *net;
    st = alloc_model(&cfg, &net);
    if (st != CIRCA_OK) return st;
    for (size_t i = 0; i < net->np && st == CIRCA_OK; i++) {
        st = circa_nn_weights_get_param(w, &net->ps[i]);
        if (st == CIRCA_OK && !all_finite(&net->ps[i])) st = CIRCA_E_FORMAT;
    }
    /* Every record must be ours: a file with extra tensors is another model. */
    if (st == CIRCA_OK && circa_nn_weights_count(w) != net->np + 1) st = CIRCA_E_FORMAT;
    if (st != CIRCA_OK) {
        circa_tasnet_free(net);
        return st;
    }
    *out = net;
    return CIRCA_OK;
}

circa_status circa_tasnet_load(const char *path, unsigned threads, circa_tasnet **out) {
    if (!out) return CIRCA_E_PARAM;
    *out = NULL;
    circa_nn_weights *w;
    circa_status st = circa_nn_weights_load(path, &w);
    if (st != CIRCA_OK) return st;
    st = circa_tasnet_from_weights(w, threads, out);
    circa_nn_weights_free(w);
    return st;
}
