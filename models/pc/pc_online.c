/* pc_online.c: a circuit that learns while it codes. Encoder and decoder
 * start from the same deterministic parameters, code each record with the
 * current ones (pc_coder.c), then add the record's expected counts (the
 * E-step of EM for that one record) and, at fixed record counts, replace
 * the parameters by the smoothed normalised counts (the M-step). Nothing
 * about the parameters is stored in a stream: the decoder repeats exactly
 * the same steps on the records it has decoded.
 *
 * Exactness. The counts and the tables are doubles computed with +, -, *, /
 * in a fixed order, and powers-of-two scaling (frexp/ldexp, exact), with
 * -ffp-contract=off; no libm transcendental is used. Encoder and decoder
 * therefore hold bit-identical tables at every record.
 *
 * Smoothing. Early on most of a variable's K x M input counts are empty; a
 * state's table is its counts plus PRIOR_INPUT records' worth of the
 * variable's own marginal (itself smoothed towards uniform), so a state
 * that has seen little predicts like the column it belongs to. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pc_internal.h"

/* Chosen on three kinds of records (a synthetic latent-class table,
 * kppkn.gtb, Fashion-MNIST), measured together; see docs/pc.md. */
#define PRIOR_THETA 0.5  /* pseudo-records spread evenly over a transition row */
#define PRIOR_INPUT 1.0  /* pseudo-records of the column's marginal per input table */
#define PRIOR_MARGIN 0.5 /* pseudo-records spread evenly over a column's K values */
#define REFRESH 16       /* records between parameter updates, once past 16 */
#define DECAY 0.995      /* counts kept at each update: forgets the first,
                          * badly assigned records, and follows drift */
struct circa_pc_online {
    circa_pc *pc;
    double *theta_cnt; /* I x M x M expected transition counts (root: row 0) */
    double *input_cnt; /* D x K x M expected input counts, [v][x][m] */
    double *margin;    /* D x K observed values per column */
    double *up;        /* I x M: p_k at each inner node (scaled) */
    double *val;       /* D x M: each non-root node's message to its parent */
    double *out;       /* I x M: the outside message of each inner node */
    double *tmp;       /* 3 x M scratch */
    uint64_t records;  /* records learned from */
    uint64_t next_refresh;
};

/* f_{v,m}(x) for all m: the M probabilities value x selects in v's table. */
static void input_row(const circa_pc *pc, uint32_t v, uint32_t x, double *f) {
    const double *F = pc->cdf + ((size_t)v * (pc->K + 1) + x) * pc->M;
    for (uint32_t m = 0; m < pc->M; m++) f[m] = F[pc->M + m] - F[m];
}

/* Rebuilds the coder tables (pc->theta_d, theta_dt, cdf) from the counts. */
static void refresh(circa_pc_online *o) {
    circa_pc *pc = o->pc;
    uint32_t M = pc->M, K = pc->K;
    for (uint32_t t = 0; t < pc->I; t++) {
        uint32_t rows = pc->inner_var[t] == pc->root ? 1 : M;
        const double *c = o->theta_cnt + (size_t)t * M * M;
        double *d = pc->theta_d + (size_t)t * M * M, *dt = pc->theta_dt + (size_t)t * M * M;
        for (uint32_t j = 0; j < rows; j++) {
            double s = PRIOR_THETA;
            for (uint32_t k = 0; k < M; k++) s += c[j * M + k];
            for (uint32_t k = 0; k < M; k++) {
                d[j * M + k] = (c[j * M + k] + PRIOR_THETA / M) / s;
                dt[k * M + j] = d[j * M + k];
            }
        }
    }
    double *g = o->tmp, *col = o->tmp + M; /* col: per-state totals */
    for (uint32_t v = 0; v < pc->D; v++) {
        const double *mg = o->margin + (size_t)v * K, *ic = o->input_cnt + (size_t)v * K * M;
        double n = PRIOR_MARGIN;
        for (uint32_t x = 0; x < K; x++) n += mg[x];
        for (uint32_t m = 0; m < M; m++) col[m] = PRIOR_INPUT;
        for (uint32_t x = 0; x < K; x++)
            for (uint32_t m = 0; m < M; m++) col[m] += ic[x * M + m];
        double *F = pc->cdf + (size_t)v * (K + 1) * M;
        for (uint32_t m = 0; m < M; m++) F[m] = 0;
        for (uint32_t x = 0; x < K; x++) {
            double prior = PRIOR_INPUT * (mg[x] + PRIOR_MARGIN / K) / n;
            for (uint32_t m = 0; m < M; m++) g[m] = (ic[x * M + m] + prior) / col[m];
            for (uint32_t m = 0; m < M; m++) F[(x + 1) * M + m] = F[x * M + m] + g[m];
        }
    }
}

/* The starting point: transitions uniform x (1 + U/2), inputs uniform with
 * one pseudo-record of noise per state, so the hidden states are not all
 * alike (EM could never separate identical states). */
static void initialise(circa_pc_online *o, uint64_t seed) {
    circa_pc *pc = o->pc;
    uint32_t M = pc->M, K = pc->K;
    uint64_t s = seed;
    for (size_t i = 0; i < (size_t)pc->I * M * M; i++)
        o->theta_cnt[i] = 0.5 * circa_pc__uniform(&s);
    for (size_t i = 0; i < (size_t)pc->D * K * M; i++)
        o->input_cnt[i] = (1.0 / K) * circa_pc__uniform(&s);
    refresh(o);
}

circa_status circa_pc_online_new(uint32_t D, uint32_t K, uint32_t M, const uint32_t *parent,
                                 uint64_t seed, circa_pc_online **out) {
    *out = NULL;
    circa_pc_online *o = calloc(1, sizeof *o);
    if (!o) return CIRCA_E_NOMEM;
    circa_status st = circa_pc__create(D, K, M, parent, &o->pc);
    if (st != CIRCA_OK) {
        free(o);
        return st;
    }
    circa_pc *pc = o->pc;
    free(pc->theta), free(pc->inputs); /* the float parameters are not used here */
    pc->theta = NULL, pc->inputs = NULL;
    size_t tsz = (size_t)pc->I * M * M, isz = (size_t)D * K * M;
    pc->theta_d = malloc(tsz * sizeof(double));
    pc->theta_dt = malloc(tsz * sizeof(double));
    pc->cdf = malloc((size_t)D * (K + 1) * M * sizeof(double));
    o->theta_cnt = calloc(tsz, sizeof(double));
    o->input_cnt = calloc(isz, sizeof(double));
    o->margin = calloc((size_t)D * K, sizeof(double));
    o->up = malloc((size_t)pc->I * M * sizeof(double));
    o->val = malloc((size_t)D * M * sizeof(double));
    o->out = malloc((size_t)pc->I * M * sizeof(double));
    o->tmp = malloc(3 * (size_t)M * sizeof(double));
    if (!pc->theta_d || !pc->theta_dt || !pc->cdf || !o->theta_cnt || !o->input_cnt || !o->margin ||
        !o->up || !o->val || !o->out || !o->tmp) {
        circa_pc_online_free(o);
        return CIRCA_E_NOMEM;
    }
    initialise(o, seed);
    o->next_refresh = 1;
    *out = o;
    return CIRCA_OK;
}

void circa_pc_online_free(circa_pc_online *o) {
    if (!o) return;
    circa_pc_free(o->pc);
    free(o->theta_cnt), free(o->input_cnt), free(o->margin);
    free(o->up), free(o->val), free(o->out), free(o->tmp);
    free(o);
}

const circa_pc *circa_pc_online_model(const circa_pc_online *o) { return o->pc; }

/* Upward pass: p at every inner node and each node's message to its parent,
 * children before parents (reverse preorder). */
static void upward(circa_pc_online *o, const uint8_t *rec) {
    const circa_pc *pc = o->pc;
    uint32_t M = pc->M;
    for (uint32_t i = pc->D; i-- > 0;) {
        uint32_t v = pc->order[i];
        double *val = o->val + (size_t)v * M;
        if (pc->inner[v] < 0) { /* leaf: its table, read with the parent's state */
            input_row(pc, v, rec[v], val);
            continue;
        }
        uint32_t t = (uint32_t)pc->inner[v];
        double *p = o->up + (size_t)t * M;
        input_row(pc, v, rec[v], p);
        for (uint32_t c = pc->child_start[v]; c < pc->child_start[v + 1]; c++) {
            const double *cv = o->val + (size_t)pc->child_list[c] * M;
            for (uint32_t m = 0; m < M; m++) p[m] *= cv[m];
            circa_pc__rescale(p, M);
        }
        if (v == pc->root) continue;
        const double *th = pc->theta_d + (size_t)t * M * M;
        for (uint32_t j = 0; j < M; j++) {
            double s = 0;
            for (uint32_t k = 0; k < M; k++) s += th[j * M + k] * p[k];
            val[j] = s;
        }
        circa_pc__rescale(val, M);
    }
}

/* The outside message to child c of inner node v (with inner index t):
 * out_v . f_v(x_v) . the other children's messages, by explicit product
 * (no division, so a zero message cannot turn into NaN). */
static void outside_to_child(const circa_pc_online *o, const uint8_t *rec, uint32_t v, uint32_t c,
                             double *oc) {
    const circa_pc *pc = o->pc;
    uint32_t M = pc->M, t = (uint32_t)pc->inner[v];
    input_row(pc, v, rec[v], oc);
    const double *ov = o->out + (size_t)t * M;
    for (uint32_t m = 0; m < M; m++) oc[m] *= ov[m];
    circa_pc__rescale(oc, M);
    for (uint32_t i = pc->child_start[v]; i < pc->child_start[v + 1]; i++) {
        uint32_t u = pc->child_list[i];
        if (u == c) continue;
        const double *uv = o->val + (size_t)u * M;
        for (uint32_t m = 0; m < M; m++) oc[m] *= uv[m];
        circa_pc__rescale(oc, M);
    }
}

/* Adds w * (a / sum a) to dst. */
static void add_normalised(double *dst, const double *a, uint32_t M) {
    double s = 0;
    for (uint32_t m = 0; m < M; m++) s += a[m];
    if (!(s > 0)) return;
    for (uint32_t m = 0; m < M; m++) dst[m] += a[m] / s;
}

/* Downward pass: the posterior of every hidden variable and every edge,
 * added to the counts (parents before children: preorder). */
static void downward(circa_pc_online *o, const uint8_t *rec) {
    circa_pc *pc = o->pc;
    uint32_t M = pc->M, K = pc->K;
    double *q = o->tmp, *oc = o->tmp + M, *xi_row = o->tmp + 2 * M;
    for (uint32_t i = 0; i < pc->D; i++) {
        uint32_t v = pc->order[i];
        o->margin[(size_t)v * K + rec[v]] += 1;
        if (pc->inner[v] < 0) continue; /* leaves are counted from their parent */
        uint32_t t = (uint32_t)pc->inner[v];
        double *ov = o->out + (size_t)t * M;
        const double *p = o->up + (size_t)t * M;
        if (v == pc->root) {
            for (uint32_t k = 0; k < M; k++) ov[k] = pc->theta_d[(size_t)t * M * M + k];
            for (uint32_t k = 0; k < M; k++) q[k] = ov[k] * p[k];
            add_normalised(o->theta_cnt + (size_t)t * M * M, q, M);
        }
        for (uint32_t k = 0; k < M; k++) q[k] = ov[k] * p[k]; /* posterior of Z_v */
        add_normalised(o->input_cnt + ((size_t)v * K + rec[v]) * M, q, M);
        for (uint32_t ci = pc->child_start[v]; ci < pc->child_start[v + 1]; ci++) {
            uint32_t c = pc->child_list[ci];
            if (pc->inner[c] < 0) { /* a leaf's table is indexed by Z_v */
                add_normalised(o->input_cnt + ((size_t)c * K + rec[c]) * M, q, M);
                continue;
            }
            outside_to_child(o, rec, v, c, oc);
            uint32_t tc = (uint32_t)pc->inner[c];
            const double *th = pc->theta_d + (size_t)tc * M * M, *pcv = o->up + (size_t)tc * M;
            double *cnt = o->theta_cnt + (size_t)tc * M * M, *outc = o->out + (size_t)tc * M;
            double z = 0;
            for (uint32_t k = 0; k < M; k++) outc[k] = 0;
            for (uint32_t j = 0; j < M; j++)
                for (uint32_t k = 0; k < M; k++) {
                    double a = oc[j] * th[j * M + k];
                    outc[k] += a;
                    z += a * pcv[k];
                }
            if (z > 0)
                for (uint32_t j = 0; j < M; j++) {
                    for (uint32_t k = 0; k < M; k++) xi_row[k] = oc[j] * th[j * M + k] * pcv[k] / z;
                    for (uint32_t k = 0; k < M; k++) cnt[j * M + k] += xi_row[k];
                }
            circa_pc__rescale(outc, M);
        }
    }
}

static void decay(circa_pc_online *o) {
    const circa_pc *pc = o->pc;
    for (size_t i = 0; i < (size_t)pc->I * pc->M * pc->M; i++) o->theta_cnt[i] *= DECAY;
    for (size_t i = 0; i < (size_t)pc->D * pc->K * pc->M; i++) o->input_cnt[i] *= DECAY;
    for (size_t i = 0; i < (size_t)pc->D * pc->K; i++) o->margin[i] *= DECAY;
}

/* Learns from one record; at records 1, 2, 4, 8, 16 and then every 16 the
 * counts decay and become the new tables (a fixed schedule: the decoder
 * follows it). */
static void learn(circa_pc_online *o, const uint8_t *rec) {
    upward(o, rec);
    downward(o, rec);
    if (++o->records == o->next_refresh) {
        decay(o);
        refresh(o);
        o->next_refresh = o->records < REFRESH ? o->records * 2 : o->records + REFRESH;
    }
}

circa_status circa_pc_online_encode(circa_pc_online *o, const uint8_t *records, size_t n,
                                    circa_rc_enc *enc) {
    size_t D = o->pc->D;
    if (o->pc->K < 256)
        for (size_t i = 0; i < n * D; i++)
            if (records[i] >= o->pc->K) return CIRCA_E_PARAM;
    for (size_t r = 0; r < n; r++) {
        circa_status st = circa_pc_encode(o->pc, records + r * D, 1, enc);
        if (st != CIRCA_OK) return st;
        learn(o, records + r * D);
    }
    return CIRCA_OK;
}

circa_status circa_pc_online_decode(circa_pc_online *o, circa_rc_dec *dec, uint8_t *records,
                                    size_t n) {
    size_t D = o->pc->D;
    for (size_t r = 0; r < n; r++) {
        circa_status st = circa_pc_decode(o->pc, dec, records + r * D, 1);
        if (st != CIRCA_OK) return st;
        learn(o, records + r * D);
    }
    return CIRCA_OK;
}
