/* rbf_file.c: the field file (docs/rbf.md): a fixed header, one range-coded
 * payload (kernel geometry, then the trainable numbers as float32 or as
 * quantised integers) and a CRC-32. One walk over the fields serves both
 * directions, so writer and reader cannot disagree on the order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "circa/entropy.h"
#include "../../codecs/common/le_bytes.h"
#include "rbf_internal.h"

#define MAGIC "CIRCARBF"
#define HEADER_SIZE 36
#define GROUPS RBF_GROUPS /* lc, grid0, grid1, lcb, w0, b0, w1, b1, w2, b2 */

/* ---- adaptive binary coding, both directions ---------------------------- */
typedef struct coder {
    int dec, bad;
    circa_rc_enc e;
    circa_rc_dec d;
} coder;

typedef struct int_ctx {
    uint16_t zero, sign, len[32], m1[32];
} int_ctx;

static void ctx_init(int_ctx *c) {
    c->zero = c->sign = 32768;
    for (int i = 0; i < 32; i++) c->len[i] = c->m1[i] = 32768;
}

static int code_bit(coder *c, uint16_t *p, int bit) {
    if (c->dec) bit = circa_rc_decode_bit(&c->d, *p);
    else circa_rc_encode_bit(&c->e, bit, *p);
    if (bit) *p = (uint16_t)(*p + ((65536 - *p) >> 5));
    else *p = (uint16_t)(*p - (*p >> 5));
    if (*p < 64) *p = 64;
    if (*p > 65472) *p = 65472;
    return bit;
}

/* bits (<= 16) equiprobable bits of v. */
static uint32_t code_raw(coder *c, uint32_t v, unsigned bits) {
    if (c->dec) {
        v = circa_rc_decode_target_pow2(&c->d, bits);
        circa_rc_decode_update_pow2(&c->d, v, 1, bits);
        return v;
    }
    circa_rc_encode_pow2(&c->e, v & ((1u << bits) - 1), 1, bits);
    return v & ((1u << bits) - 1);
}

/* v in [0, total), total <= 2^24, uniform. */
static uint32_t code_uniform(coder *c, uint32_t v, uint32_t total) {
    if (c->dec) {
        v = circa_rc_decode_target(&c->d, total);
        circa_rc_decode_update(&c->d, v, 1, total);
        return v;
    }
    circa_rc_encode(&c->e, v, 1, total);
    return v;
}

/* Unsigned Exp-Golomb with adaptive length bits and first mantissa bit. */
static uint32_t code_unsigned(coder *c, int_ctx *x, uint32_t v) {
    uint32_t u = v + 1;
    int n = 0;
    if (!c->dec)
        while ((u >> (n + 1)) != 0) n++;
    int len = 0;
    for (;; len++) {
        if (len >= 30) {
            c->bad = 1;
            return 0;
        }
        if (!code_bit(c, &x->len[len], len < n)) break;
    }
    n = len;
    uint32_t r = 1;
    for (int i = n - 1; i >= 0; i--) {
        int b = (u >> i) & 1;
        b = i == n - 1 ? code_bit(c, &x->m1[n], b) : (int)code_raw(c, (uint32_t)b, 1);
        r = (r << 1) | (uint32_t)b;
    }
    return r - 1;
}

static int32_t code_signed(coder *c, int_ctx *x, int32_t v) {
    if (code_bit(c, &x->zero, v == 0)) return 0;
    int neg = code_bit(c, &x->sign, v < 0);
    uint32_t m = code_unsigned(c, x, (uint32_t)(v < 0 ? -(int64_t)v : v) - 1) + 1;
    if (m > (1u << 30)) c->bad = 1;
    return neg ? -(int32_t)m : (int32_t)m;
}

/* ---- the payload ----------------------------------------------------------- */
void circa_rbf__group_span(const circa_rbf *f, int g, size_t *off, size_t *n) {
    const rbf_layout *L = &f->lay;
    size_t b[GROUPS + 1] = {L->lc, L->grid[0], L->grid[1], L->lcb, L->w0, L->b0,
                            L->w1, L->b1,      L->w2,      L->b2,  L->total};
    if (f->levels == 0) b[1] = b[2] = L->lcb; /* no grid: empty groups */
    *off = b[g], *n = b[g + 1] - b[g];
}

/* The geometry's lattice in the field's fine units: a coded value v stands
 * for off + v * step. */
typedef struct lattice {
    int32_t c_off, c_step, s_step, r_step, r_max;
} lattice;

static lattice lattice_of(const circa_rbf *f) {
    if (f->coarse)
        return (lattice){RBF_COARSE_CENTRE / 2, RBF_COARSE_CENTRE, RBF_COARSE_LOGSIG, RBF_COARSE_RHO,
                         RBF_COARSE_RHO_MAX};
    return (lattice){0, 1, 1, 1, RBF_RHO_MAX};
}

/* v on the lattice (off + k step) as k; a value off it is the writer's bug. */
static int32_t to_lattice(coder *c, int32_t v, int32_t off, int32_t step) {
    if (!c->dec && (v - off) % step) c->bad = 1;
    return (v - off) / step;
}

/* Centres row by row (steps in y, x uniform), shapes as steps from the
 * previous kernel's, all in lattice units. Returns 0 on a decoded value out
 * of range. */
static int code_geometry(coder *c, circa_rbf *f) {
    int_ctx dy, sx, sy, rho;
    ctx_init(&dy), ctx_init(&sx), ctx_init(&sy), ctx_init(&rho);
    lattice L = lattice_of(f);
    /* the largest centre in lattice units: side * RBF_CENTRE_Q = off + max step */
    int32_t xmax = ((int32_t)f->width * RBF_CENTRE_Q - L.c_off) / L.c_step;
    int32_t ymax = ((int32_t)f->height * RBF_CENTRE_Q - L.c_off) / L.c_step;
    int32_t py = 0, psx = 0, psy = 0;
    for (uint32_t k = 0; k < f->K; k++) {
        int32_t *cq = f->cq + 2 * k;
        int16_t *sq = f->sq + 3 * k;
        int32_t y = to_lattice(c, cq[1], L.c_off, L.c_step), x = to_lattice(c, cq[0], L.c_off, L.c_step);
        int32_t a = to_lattice(c, sq[0], 0, L.s_step), b = to_lattice(c, sq[1], 0, L.s_step);
        int32_t r = to_lattice(c, sq[2], 0, L.r_step);
        uint32_t step = code_unsigned(c, &dy, (uint32_t)(y - py));
        y = py + (int32_t)step;
        x = (int32_t)code_uniform(c, (uint32_t)x, (uint32_t)xmax + 1);
        a = psx + code_signed(c, &sx, a - psx);
        b = psy + code_signed(c, &sy, b - psy);
        r = code_signed(c, &rho, r);
        if (c->bad || step > (uint32_t)ymax || y > ymax)
            return 0;
        /* the field's ranges (log2 deviation in [-8, 24], |rho| <= r_max), in lattice units */
        int32_t slo = -8 * RBF_LOGSIG_Q / L.s_step, shi = 24 * RBF_LOGSIG_Q / L.s_step, rmax = L.r_max / L.r_step;
        if (a < slo || a > shi || b < slo || b > shi || r < -rmax || r > rmax)
            return 0;
        py = y, psx = a, psy = b;
        cq[0] = L.c_off + x * L.c_step, cq[1] = L.c_off + y * L.c_step;
        sq[0] = (int16_t)(a * L.s_step), sq[1] = (int16_t)(b * L.s_step), sq[2] = (int16_t)(r * L.r_step);
    }
    return 1;
}

/* Float32 as two 16-bit halves. */
static void code_floats(coder *c, float *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        uint32_t hi = code_raw(c, u >> 16, 16), lo = code_raw(c, u & 0xFFFF, 16);
        u = hi << 16 | lo;
        memcpy(&v[i], &u, 4);
    }
}

/* Version 2's contexts: numbers coded after near neighbours use one of
 * CTX_BUCKETS contexts by the neighbours' summed magnitude, since large
 * values cluster (in a kernel's adjacent frequencies, in neighbouring
 * kernels, in a grid's neighbouring vertices). */
#define CTX_BUCKETS 4

static unsigned bucket(int32_t sum) {
    return sum == 0 ? 0 : sum <= 2 ? 1 : sum <= 6 ? 2 : 3;
}

/* |v|, capped: the buckets need no more, and a hostile file's sums of
 * two values up to 2^30 must not overflow. */
static int32_t iabs(int32_t v) {
    v = v < 0 ? -v : v;
    return v > 255 ? 255 : v;
}

/* The context sum of number i of group g (its magnitudes known to both
 * sides in q, the group's integers so far): kernel weights [K][F] look at
 * the previous feature and the previous kernel's same feature; a grid
 * [(R+1)^2][2] at the same feature of the left and upper vertices. */
static int32_t neighbours(const circa_rbf *f, int g, size_t i, const int32_t *q) {
    if (g == 0) {
        size_t F = f->F;
        return (i % F ? iabs(q[i - 1]) : 0) + (i >= F ? iabs(q[i - F]) : 0);
    }
    size_t side = (size_t)f->res[g - 1] + 1, v = i / RBF_GRID_FEATS, x = v % side;
    return (x ? iabs(q[i - RBF_GRID_FEATS]) : 0) + (v >= side ? iabs(q[i - side * RBF_GRID_FEATS]) : 0);
}

/* Quantised numbers q = round(v / step) as signed Exp-Golomb with adaptive
 * bits: version 1 with one context per group, and per feature for the
 * kernel weights (their scales differ by frequency); version 2 also by
 * neighbours' magnitude (neighbours above) for the kernel weights and the
 * grids. */
static int code_quantised(coder *c, circa_rbf *f, const float *steps, int version) {
    int_ctx *lc = malloc((size_t)f->F * CTX_BUCKETS * sizeof *lc), ctx[CTX_BUCKETS];
    size_t most = 0;
    for (int g = 0; g < GROUPS; g++) {
        size_t off, n;
        circa_rbf__group_span(f, g, &off, &n);
        most = n > most ? n : most;
    }
    int32_t *q = malloc((most ? most : 1) * sizeof *q);
    int ok = lc && q;
    for (unsigned i = 0; ok && i < f->F * CTX_BUCKETS; i++) ctx_init(&lc[i]);
    for (int g = 0; ok && g < GROUPS; g++) {
        size_t off, n;
        circa_rbf__group_span(f, g, &off, &n);
        for (int b = 0; b < CTX_BUCKETS; b++) ctx_init(&ctx[b]);
        int by_neighbours = version >= 2 && g <= 2;
        for (size_t i = 0; i < n; i++) {
            float *v = f->theta + off + i;
            unsigned b = by_neighbours ? bucket(neighbours(f, g, i, q)) : 0;
            int_ctx *x = g == 0 ? &lc[(i % f->F) * CTX_BUCKETS + b] : &ctx[b];
            q[i] = code_signed(c, x, c->dec ? 0 : (int32_t)lrintf(*v / steps[g]));
            if (c->bad) {
                ok = 0;
                break;
            }
            *v = (float)q[i] * steps[g];
        }
    }
    free(lc), free(q);
    return ok;
}

/* ---- header ---------------------------------------------------------------- */

/* Per-group steps: base times the group's scale, which is the codec's
 * sensitivity-based choice (rbf_codec.c) or else the group's RMS (a group
 * of larger numbers tolerates proportionally larger errors); kept in the
 * field so saving an already-quantised field reproduces it exactly. */
void circa_rbf__group_steps(const circa_rbf *f, double base, float *steps) {
    for (int g = 0; g < GROUPS; g++) {
        size_t off, n;
        circa_rbf__group_span(f, g, &off, &n);
        double ss = 0;
        for (size_t i = 0; i < n; i++) ss += (double)f->theta[off + i] * f->theta[off + i];
        double rms = n ? sqrt(ss / n) : 1;
        double scale = f->qscale[g] > 0 ? f->qscale[g] : rms;
        steps[g] = (float)(base * (scale > 1e-8 ? scale : 1e-8));
    }
}

circa_status circa_rbf_quantise(circa_rbf *f, double quant_step) {
    if (!f || !(quant_step > 0) || quant_step > 1e3) return CIRCA_E_PARAM;
    float steps[GROUPS];
    circa_rbf__group_steps(f, quant_step, steps);
    for (int g = 0; g < GROUPS; g++) {
        size_t off, n;
        circa_rbf__group_span(f, g, &off, &n);
        for (size_t i = 0; i < n; i++) f->theta[off + i] = (float)lrintf(f->theta[off + i] / steps[g]) * steps[g];
        f->qstep[g] = steps[g];
    }
    f->qbase = quant_step;
    return CIRCA_OK;
}

circa_status circa_rbf_save(const circa_rbf *fc, double quant_step, uint8_t **buf, size_t *len) {
    *buf = NULL, *len = 0;
    if (!fc || quant_step < 0 || quant_step > 1e3) return CIRCA_E_PARAM;
    circa_rbf *f = (circa_rbf *)fc; /* coding in the write direction only reads it... */
    float *saved = malloc(f->lay.total * sizeof *saved); /* ...except quantisation: restore after */
    int32_t *cq = malloc((size_t)f->K * 2 * sizeof *cq);
    int16_t *sq = malloc((size_t)f->K * 3 * sizeof *sq);
    float steps[GROUPS] = {0};
    int quant = quant_step > 0;
    if (quant) {
        if (f->qbase == quant_step) memcpy(steps, f->qstep, sizeof steps);
        else circa_rbf__group_steps(f, quant_step, steps);
    }
    size_t cap = 64 + (size_t)f->K * 32 + f->lay.total * 8 + HEADER_SIZE + GROUPS * 4 + 4;
    uint8_t *b = malloc(cap);
    if (!saved || !cq || !sq || !b) {
        free(saved), free(cq), free(sq), free(b);
        return CIRCA_E_NOMEM;
    }
    memcpy(saved, f->theta, f->lay.total * sizeof *saved);
    memcpy(cq, f->cq, (size_t)f->K * 2 * sizeof *cq);
    memcpy(sq, f->sq, (size_t)f->K * 3 * sizeof *sq);
    memcpy(b, MAGIC, 8);
    b[8] = CIRCA_RBF_VERSION, b[9] = (uint8_t)(quant | f->coarse << 1), b[10] = (uint8_t)f->channels, b[11] = (uint8_t)f->depth;
    circa__put32(b + 12, f->width), circa__put32(b + 16, f->height), circa__put32(b + 20, f->K);
    circa__put16(b + 24, f->F), circa__put16(b + 26, f->H), circa__put16(b + 28, f->res[0]);
    circa__put16(b + 30, f->levels > 1 ? f->res[1] : 0);
    size_t pos = HEADER_SIZE;
    if (quant)
        for (int g = 0; g < GROUPS; g++, pos += 4) circa__put_f32(b + pos, steps[g]);
    coder c = {0};
    circa_rc_enc_init(&c.e, b + pos, cap - pos - 4);
    /* writing fails only on no memory (or geometry off its lattice: a bug) */
    int coded = code_geometry(&c, f);
    if (coded && quant) coded = code_quantised(&c, f, steps, CIRCA_RBF_VERSION);
    else if (coded) code_floats(&c, f->theta, f->lay.total);
    size_t n = coded && !c.bad ? circa_rc_enc_finish(&c.e) : 0;
    memcpy(f->theta, saved, f->lay.total * sizeof *saved);
    memcpy(f->cq, cq, (size_t)f->K * 2 * sizeof *cq);
    memcpy(f->sq, sq, (size_t)f->K * 3 * sizeof *sq);
    free(saved), free(cq), free(sq);
    if (n == 0) {
        free(b);
        return CIRCA_E_NOMEM;
    }
    circa__put32(b + 32, (uint32_t)n);
    pos += n;
    circa__put32(b + pos, (uint32_t)crc32(0L, b, (uInt)pos));
    *buf = b, *len = pos + 4;
    return CIRCA_OK;
}

circa_status circa_rbf_load(const void *buf, size_t len, circa_rbf **out) {
    *out = NULL;
    const uint8_t *b = buf;
    if (len < 8 || memcmp(b, MAGIC, 8)) return len < 8 && !memcmp(b, MAGIC, len) ? CIRCA_E_TRUNCATED : CIRCA_E_FORMAT;
    if (len < HEADER_SIZE + 4) return CIRCA_E_TRUNCATED;
    if (b[8] != CIRCA_RBF_VERSION && b[8] != 1) return CIRCA_E_VERSION;
    /* version 1: coding 0 or 1; version 2 adds the coarse-geometry bit */
    if (b[9] > (b[8] == 1 ? 1 : 3)) return CIRCA_E_FORMAT;
    int quant = b[9] & 1, coarse = b[9] >> 1;
    size_t payload = circa__get32(b + 32), head = HEADER_SIZE + (quant ? GROUPS * 4 : 0);
    if (len < head + payload + 4) return CIRCA_E_TRUNCATED;
    if (len > head + payload + 4) return CIRCA_E_FORMAT;
    if ((uint32_t)crc32(0L, b, (uInt)(head + payload)) != circa__get32(b + head + payload)) return CIRCA_E_CHECKSUM;
    uint32_t w = circa__get32(b + 12), h = circa__get32(b + 16), K = circa__get32(b + 20);
    if ((uint64_t)w * h > CIRCA_IMAGE_MAX_PIXELS / 4 || K > (uint64_t)w * h / 4 + RBF_NN) return CIRCA_E_LIMIT;
    circa_rbf *f;
    circa_status st = circa_rbf__alloc(&f, w, h, b[10], b[11], K, circa__get16(b + 24), circa__get16(b + 26),
                                       circa__get16(b + 28), circa__get16(b + 30));
    if (st != CIRCA_OK) return st == CIRCA_E_PARAM ? CIRCA_E_FORMAT : st;
    f->coarse = (unsigned)coarse;
    float steps[GROUPS];
    for (int g = 0; quant && g < GROUPS; g++) {
        steps[g] = circa__get_f32(b + HEADER_SIZE + 4 * g);
        if (!(steps[g] > 0) || !isfinite(steps[g])) {
            circa_rbf_free(f);
            return CIRCA_E_FORMAT;
        }
    }
    coder c = {.dec = 1};
    circa_rc_dec_init(&c.d, b + head, payload);
    int ok = code_geometry(&c, f);
    if (ok && quant) ok = code_quantised(&c, f, steps, b[8]);
    else if (ok) code_floats(&c, f->theta, f->lay.total);
    for (size_t i = 0; ok && i < f->lay.total; i++) ok = isfinite(f->theta[i]);
    if (!ok || c.bad || circa_rc_dec_finish(&c.d)) {
        circa_rbf_free(f);
        return CIRCA_E_FORMAT;
    }
    if ((st = circa_rbf__derive(f)) != CIRCA_OK) {
        circa_rbf_free(f);
        return st;
    }
    if (quant) {
        memcpy(f->qstep, steps, sizeof steps);
        f->qbase = -1; /* the base is not stored; steps are */
    }
    *out = f;
    return CIRCA_OK;
}
