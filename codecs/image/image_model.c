/* image_model.c: the pixel model of circa's image codec: a reversible colour
 * transform (YCoCg-R), a blend of nine sub-predictors weighted by their local
 * errors with context bias correction, and residuals coded bit by bit, the
 * important bits by a logistic mix of four adaptive contexts and a
 * probabilistic circuit (an HCLT learned online by EM, models/pc), over
 * circa's range coder. Encoder and decoder run the same code: integer
 * arithmetic, and for the circuit IEEE double/float +, -, x, / in a fixed
 * order (no libm, no FMA), so they agree bit for bit on every platform.
 * Design notes: docs/image.md. */
#include <stdlib.h>
#include <string.h>

#include "circa/entropy.h"
#include "image_internal.h"
#include "../../models/pc/pc_internal.h"

#define NPRED 9   /* sub-predictors blended */
#define NACT 16   /* activity buckets */
#define NCROSS 4  /* buckets of the earlier planes' residuals at this pixel */
#define NCTX (NACT * NCROSS)
#define NBIAS 2048 /* bias contexts: 8 activity levels x 256 texture patterns */
#define MAXK 20   /* residual magnitudes have at most 18 bits */
#define PCM 8     /* hidden states per node of the probabilistic circuit (below); a multiple of 4 */
_Static_assert(PCM % 4 == 0, "dot_m sums in four interleaved partial sums");

/* An adaptive bit: two estimates of P(1) in 1/65536 units, a fast and a slow
 * one; their mean tracks both sudden and gradual changes. */
typedef struct abit {
    uint16_t fast, slow;
    uint16_t n; /* updates so far (capped): the slow rate starts at 1/2 and falls to 1/256 */
} abit;

#define MIX_RATE 4 /* mixer learning rate */
#define NIN 7     /* mixer inputs: 2 rates of context A, contexts B, C and D, the PC, a bias */
#define PC_IN 5   /* the PC's input slot */
#define PC_W0 12000 /* its starting weight (the others start at 18000) */
#define NMIXSET (2 * (PCM + 1)) /* mixer weight sets per unary position: coarse activity x the PC's likeliest root state */
#define NCCTX 64  /* context C: the residuals just left and above, 8 levels each */

typedef struct coder {
    int decoding;
    circa_rc_enc e;
    circa_rc_dec d;
    int16_t stretch[4096]; /* logit of a 12-bit probability, x256 (inverse of squash) */
    uint32_t weight[4096]; /* a sub-predictor's blend weight for its recent error s: 2^31 / (256 + s^2) */
} coder;

typedef struct plane_model {
    abit kbit[NCTX][MAXK];      /* unary code of the residual's bit length: context A, */
    abit kbit_b[NBIAS][MAXK];   /* B (texture pattern), */
    abit kbit_c[NCCTX][MAXK];   /* C (the two nearest residuals), */
    abit kbit_d[NACT * 4][MAXK]; /* D (the best sub-predictor's recent error), mixed by mix */
    abit sign[NBIAS];
    abit top[NCTX][MAXK];       /* first bit below the leading one, mixed as kbit */
    abit top_b[NBIAS][MAXK];
    abit top_c[NCCTX][MAXK];
    abit top_d[NACT * 4][MAXK];
    abit second[NCTX][MAXK][2]; /* the next, given the first */
    abit low[MAXK][MAXK];       /* the rest, by length and position */
    int32_t mix[NMIXSET][MAXK][NIN]; /* (the abits come first: model_init) */
    int32_t mix_top[PCM + 1][MAXK][NIN]; /* by the PC's root state */
    int32_t bias_sum[NBIAS];
    int32_t bias_count[NBIAS];
} plane_model;

/* ---- the probabilistic circuit ----------------------------------------------
 * Per plane, a hidden Chow-Liu tree over a record of PCV discrete variables:
 * the target, the residual's bit length k (capped at PC_KCAP), is the root,
 * and the context variables hang below it. The tree is fixed here (not
 * learned: structure learning takes logs, which need not round alike on
 * every platform). Its parameters are learned by EM (models/pc) on the
 * records coded so far, at checkpoints, identically in encoder and decoder.
 * After each checkpoint the exact conditional P(k | context) is tabulated as
 * one message table per child of the root, and per sample
 * P(k > i | k >= i, context) enters the mixer. Design: docs/image.md. */
#define PCV CIRCA_IMAGE__PC_VARS /* variables per record */
#define PCK 16       /* categories per variable */
#define PC_KCAP CIRCA_IMAGE__PC_KCAP /* the target: min(k, PC_KCAP); decisions i < PC_KCAP get a PC input */
#define PC_NREC 2048 /* records kept for EM: between PC_NREC / 2 and PC_NREC once full */
#define PC_MINREC 256 /* fewer records than this: no model yet */
#define PC_NCKPT 5   /* checkpoints: after 1/32, 1/16, 1/8, 1/4, 1/2 of the pixels */

enum { V_K, V_ACT, V_BEST, V_CROSS, V_SPREAD, V_GRAD, V_LUM, V_W, V_WW, V_N, V_NW, V_NE };
#define NLEAF 6 /* V_ACT .. V_LUM: 16-level leaves of the root */
/* k is the root; W carries WW, and N carries NW and NE, below their own
 * hidden variables; the other context variables are leaves of the root. */
static const uint32_t pc_parent[PCV] = {PC_NONE, V_K, V_K, V_K, V_K, V_K, V_K, V_K, V_W, V_K, V_N, V_N};
const uint8_t circa_image__pc_levels[CIRCA_IMAGE__PC_VARS] = {PC_KCAP + 1, 16, 16, 16, 16, 16, 16,
                                                             16, 8, 16, 8, 8};

/* The message tables, one block of rows of M doubles: the leaves' messages
 * multiplied in pairs (ACT x BEST, CROSS x SPREAD, GRAD x LUM: row
 * 256 l + 16 a + b), W's and N's subtrees by their values, the root's tails. */
#define T_PAIR 0
#define T_W (256 * NLEAF / 2) /* W x WW: 16 x 8 */
#define T_N (T_W + 128)      /* N x NW x NE: 16 x 8 x 8 */
#define T_TAIL (T_N + 1024)  /* tail[x] for x = 0 .. PC_KCAP */
#define T_ROWS (T_TAIL + PC_KCAP + 1)

typedef struct plane_pc {
    circa_pc *pc;        /* NULL until the first checkpoint with enough records */
    uint8_t *rec;        /* PC_NREC records of PCV bytes: every stride-th sample */
    uint32_t n, stride, seen;
    double *tab;         /* T_ROWS x PCM */
    int ready;           /* tab holds the tables of the current parameters */
    uint64_t uses;       /* samples coded with a PC input (for tests) */
} plane_pc;

/* Per-plane state: the model, the plane's range, and two rows of residual
 * magnitudes and sub-predictor errors (index x + 1; x = -1 and x = width
 * are zero padding). */
typedef struct plane_state {
    plane_model *m;
    int32_t lo, hi;
    unsigned kmax;
    int cross; /* uses the residuals of the planes before it */
    uint32_t *res[2];
    int32_t *te[2]; /* signed error of the final prediction, x8 */
    uint32_t *perr[2][NPRED];
    plane_pc pc;
} plane_state;

static inline void adapt(abit *s, int bit);

static inline int code_bit(coder *c, abit *s, int bit) {
    uint32_t p = ((uint32_t)s->fast + s->slow) >> 1;
    if (p < 48) p = 48;
    if (p > 65536 - 48) p = 65536 - 48;
    if (c->decoding)
        bit = circa_rc_decode_bit(&c->d, p);
    else
        circa_rc_encode_bit(&c->e, bit, p);
    adapt(s, bit);
    return bit;
}

/* The logistic function on d (a logit x256, clamped to +-2047) as a 12-bit
 * probability, by interpolation in a table: integer only, so exact everywhere. */
static void build_stretch(int16_t *t);

static int squash(int d) {
    static const int t[33] = {1,    2,    3,    6,    10,   16,   27,   45,   73,   120,  194,
                              310,  488,  747,  1101, 1546, 2047, 2549, 2994, 3348, 3607, 3785,
                              3901, 3975, 4024, 4050, 4068, 4079, 4085, 4089, 4092, 4093, 4094};
    if (d > 2047) return 4095;
    if (d < -2047) return 1;
    int w = d & 127;
    int i = (d >> 7) + 16;
    return (t[i] * (128 - w) + t[i + 1] * w + 64) >> 7;
}

static void build_tables(coder *c) {
    for (uint32_t s = 0; s < 4096; s++) c->weight[s] = ((uint32_t)1 << 31) / (256 + s * s);
    build_stretch(c->stretch);
}

static void build_stretch(int16_t *t) {
    int pi = 0;
    for (int x = -2047; x <= 2047; x++) {
        int v = squash(x);
        for (int i = pi; i <= v; i++) t[i] = (int16_t)x;
        pi = v + 1;
    }
    for (int i = pi; i < 4096; i++) t[i] = 2047;
}


/* The slow rate's shift for each update count n = 0 .. 248: 1, 2 (n = 1-3),
 * 3 (4-11), 4 (12-23), 5 (24-55), 6 (56-119), 7 (120-247), 8 (248): one
 * lookup on the hottest path. */
static const uint8_t rate_shift[249] = {
    1, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8,
};

static inline void adapt(abit *s, int bit) {
    /* The slow estimate's rate: 1/2, 1/4, ... as updates accumulate (about
     * 2 / (n + 3), a running mean at first), down to 1/256. */
    unsigned sh = rate_shift[s->n]; /* n <= 248 */
    if (s->n < 248) s->n++;
    if (bit) {
        s->slow = (uint16_t)(s->slow + ((65535 - s->slow) >> sh));
        s->fast = (uint16_t)(s->fast + ((65535 - s->fast) >> 5));
    } else {
        s->slow = (uint16_t)(s->slow - (s->slow >> sh));
        s->fast = (uint16_t)(s->fast - (s->fast >> 5));
    }
}

/* Codes a bit with the logistic mix of four contexts' estimates and the
 * PC's (spc, a stretched probability; 0 when there is none), then
 * trains the mixer weights w (16.16 fixed point) and the contexts. */
static inline int code_mixed(coder *c, abit *a, abit *b, abit *cc, abit *dd, int spc, int32_t *w,
                             int bit) {
    int st[NIN];
    st[0] = c->stretch[a->fast >> 4];
    st[1] = c->stretch[a->slow >> 4];
    st[2] = c->stretch[((uint32_t)b->fast + b->slow) >> 5];
    st[3] = c->stretch[((uint32_t)cc->fast + cc->slow) >> 5];
    st[4] = c->stretch[((uint32_t)dd->fast + dd->slow) >> 5];
    st[PC_IN] = spc;
    st[6] = 256;
    int64_t dot = 0;
    for (int i = 0; i < NIN; i++) dot += (int64_t)w[i] * st[i];
    int64_t d = dot >> 16;
    int p12 = squash(d > 2047 ? 2047 : d < -2047 ? -2047 : (int)d);
    uint32_t p = (uint32_t)p12 * 16 + 8;
    if (p < 48) p = 48;
    if (p > 65536 - 48) p = 65536 - 48;
    if (c->decoding)
        bit = circa_rc_decode_bit(&c->d, p);
    else
        circa_rc_encode_bit(&c->e, bit, p);
    int err = ((bit << 12) - p12)  * MIX_RATE;
    for (int i = 0; i < NIN; i++) {
        int32_t nw = w[i] + ((st[i] * err) >> 14);
        w[i] = nw > (1 << 24) ? (1 << 24) : nw < -(1 << 24) ? -(1 << 24) : nw; /* no overflow, ever */
    }
    adapt(a, bit);
    adapt(b, bit);
    adapt(cc, bit);
    adapt(dd, bit);
    return bit;
}

static inline unsigned bit_length(uint32_t v) {
#if defined(__GNUC__)
    return v ? 32u - (unsigned)__builtin_clz(v) : 0;
#else
    unsigned k = 0;
    while (v) k++, v >>= 1;
    return k;
#endif
}

/* Floor division, so negative values round the same way as positive ones. */
static inline int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Activity levels, edges 0, 2, 4, 7, 10, 14, 19, 26, 36, 50, 70, 100, 140,
 * 200, 300 (a level is the number of edges below a), as a table to 300. */
static const uint8_t activity_level[301] = {
    0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 8, 8, 8,
    8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10,
    10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
    11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 13,
    13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
    13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 14,
    14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14,
    14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14,
    14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14,
    14,
};

static unsigned activity_bucket(uint32_t a) {
    return a <= 300 ? activity_level[a] : NACT - 1;
}

/* 8 levels: 0, 1, 2, 3-4, 5-8, 9-16, 17-32, more (a table: no branches
 * to mispredict on noisy residuals). */
static inline unsigned level8(uint32_t r) {
    static const uint8_t t[33] = {0, 1, 2, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5,
                                  6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6};
    return r <= 32 ? t[r] : 7;
}

static unsigned cross_bucket(uint32_t r) {
    return r == 0 ? 0 : r <= 2 ? 1 : r <= 8 ? 2 : 3;
}

/* 16 levels: 0..5 exactly, then one per octave. */
static inline unsigned level16(uint32_t r) {
    unsigned q = bit_length(r | 4) + 3; /* r < 8: 6, a value the blend below replaces */
    q = q > 15 ? 15 : q;
    return r < 6 ? r : q;
}

/* ---- the probabilistic circuit: records, learning, tables, queries -------- */
/* Keeps every stride-th record; when the buffer is full, drops every other
 * record and doubles the stride, so the records stay spread evenly over all
 * samples seen, in bounded memory. */
static void pc_add(plane_pc *p, const uint8_t *r) {
    if (p->seen++ & (p->stride - 1)) return; /* stride: a power of 2 */
    if (p->n == PC_NREC) {
        for (uint32_t j = 1; j < PC_NREC / 2; j++) memcpy(p->rec + j * PCV, p->rec + 2 * j * PCV, PCV);
        p->n = PC_NREC / 2;
        p->stride *= 2; /* the current sample's index is a multiple of the new stride */
    }
    memcpy(p->rec + (size_t)p->n++ * PCV, r, PCV);
}

/* Tabulates each root child's message over its subtree's values, and the
 * root's tails (models/pc/pc_cond.c; exact, platform-independent doubles). */
static void pc_tables(plane_pc *p) {
    uint8_t r[PCV] = {0};
    double *t = p->tab, leaf[NLEAF][16][PCM];
    for (unsigned l = 0; l < NLEAF; l++)
        for (unsigned x = 0; x < 16; x++) {
            r[V_ACT + l] = (uint8_t)x;
            circa_pc__message(p->pc, V_ACT + l, r, leaf[l][x]);
        }
    for (unsigned l = 0; l < NLEAF; l += 2)
        for (unsigned x = 0; x < 256; x++)
            for (unsigned m = 0; m < PCM; m++)
                t[(T_PAIR + 128 * l + x) * PCM + m] = leaf[l][x >> 4][m] * leaf[l + 1][x & 15][m];
    for (unsigned x = 0; x < 16 * 8; x++) {
        r[V_W] = (uint8_t)(x >> 3), r[V_WW] = x & 7;
        circa_pc__message(p->pc, V_W, r, t + (T_W + x) * PCM);
    }
    for (unsigned x = 0; x < 16 * 64; x++) {
        r[V_N] = (uint8_t)(x >> 6), r[V_NW] = (x >> 3) & 7, r[V_NE] = x & 7;
        circa_pc__message(p->pc, V_N, r, t + (T_N + x) * PCM);
    }
    for (unsigned x = 0; x <= PC_KCAP; x++) circa_pc__root_tail(p->pc, x, t + (T_TAIL + x) * PCM);
}

/* A checkpoint: EM (one thread, seeded, so deterministic) on the records so
 * far, then new tables. The first one starts from circa_pc__init_params and
 * runs 2 mini-batch epochs and a full-batch one; later ones continue from
 * the last parameters with one full-batch epoch (as good, and cheaper).
 * CIRCA_E_NOMEM (then the coding stops). */
static circa_status pc_learn(plane_pc *p) {
    if (p->n < PC_MINREC) return CIRCA_OK;
    circa_pc_learn_params lp = circa_pc_learn_defaults();
    lp.threads = 1, lp.epochs = 0, lp.full_epochs = 1, lp.batch = 512;
    if (!p->pc) {
        circa_status st = circa_pc__create(PCV, PCK, PCM, pc_parent, &p->pc);
        if (st != CIRCA_OK) return st;
        circa_pc__init_params(p->pc, p->rec, p->n, 1);
        lp.epochs = 2;
    }
    p->ready = 0;
    circa_status st = circa_pc_em(p->pc, p->rec, p->n, &lp);
    if (st != CIRCA_OK) return st;
    pc_tables(p);
    p->ready = 1;
    return CIRCA_OK;
}

/* One sample's query: s[i] = P(k >= i, context) up to a common factor,
 * i = 0 .. PC_KCAP, and the likeliest root state (which picks the mixer
 * weight sets: a learned clustering of the contexts). */
typedef struct pc_query {
    int on;           /* 0: no model yet */
    unsigned cluster; /* argmax_m of the root state's posterior; PCM without a model */
    unsigned have;    /* s[0 .. have) computed: most samples stop at a small k */
    const double *tail;
    double w[PCM];
    double s[PC_KCAP + 1];
} pc_query;

/* sum_m a[m] b[m] over PCM terms in four interleaved partial sums: a fixed
 * order, so the same bits everywhere, at a quarter of one chain's latency. */
static inline double dot_m(const double *a, const double *b) {
    double s[4] = {0, 0, 0, 0};
    for (unsigned m = 0; m < PCM; m += 4)
        for (unsigned j = 0; j < 4; j++) s[j] += a[m + j] * b[m + j];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* w[m] = the product of the root children's messages, from five table
 * rows, and the likeliest root state; the tail sums s[i] follow on demand
 * (pc_tail), as the unary decisions reach them. */
static void pc_begin(const plane_pc *p, const uint8_t *r, pc_query *q) {
    q->on = p->ready, q->cluster = PCM;
    if (!p->ready) return;
    const double *t = p->tab;
    const double *a = t + (T_PAIR + 16u * r[V_ACT] + r[V_BEST]) * PCM;
    const double *b = t + (T_PAIR + 256 + 16u * r[V_CROSS] + r[V_SPREAD]) * PCM;
    const double *c = t + (T_PAIR + 512 + 16u * r[V_GRAD] + r[V_LUM]) * PCM;
    const double *wv = t + (T_W + r[V_W] * 8u + r[V_WW]) * PCM;
    const double *nv = t + (T_N + (r[V_N] * 8u + r[V_NW]) * 8u + r[V_NE]) * PCM;
    const double *tail = t + T_TAIL * PCM;
    double *w = q->w, best = -1;
    unsigned cl = 0;
    for (unsigned m = 0; m < PCM; m++) w[m] = a[m] * b[m] * c[m] * wv[m] * nv[m];
    for (unsigned m = 0; m < PCM; m++) { /* branchless: the winner is unpredictable */
        double v = w[m] * tail[m];
        int gt = v > best;
        cl = gt ? m : cl;
        best = gt ? v : best;
    }
    q->cluster = cl;
    q->tail = tail, q->have = 0;
}

/* s[i] = P(k >= i, context) up to the common factor (i <= PC_KCAP). */
static inline double pc_tail(pc_query *q, unsigned i) {
    while (q->have <= i) {
        q->s[q->have] = dot_m(q->w, q->tail + q->have * PCM);
        q->have++;
    }
    return q->s[i];
}

/* The mixer input for unary decision i: stretch of the PC's
 * P(k > i | k >= i, context) at 12 bits; 0 (no opinion) without a model or
 * past the cap. */
static inline int pc_stretch(const coder *c, pc_query *q, unsigned i) {
    if (!q->on || i >= PC_KCAP) return 0;
    double si = pc_tail(q, i), next = pc_tail(q, i + 1);
    if (!(si > 0)) return 0;
    int p12 = (int)(next / si * 4096.0 + 0.5);
    return c->stretch[p12 < 1 ? 1 : p12 > 4095 ? 4095 : p12];
}

static void model_init(plane_model *m) {
    abit *b = (abit *)m;
    size_t nbits = offsetof(plane_model, mix) / sizeof(abit);
    for (size_t i = 0; i < nbits; i++) b[i].fast = b[i].slow = 32768, b[i].n = 0;
    for (int s2 = 0; s2 < NMIXSET; s2++)
        for (int k = 0; k < MAXK; k++)
            for (int i = 0; i < NIN; i++) m->mix[s2][k][i] = i == PC_IN ? PC_W0 : i < NIN - 1 ? 18000 : 0;
    for (int k = 0; k < MAXK; k++)
        for (int i = 0; i < NIN; i++)
            for (int s2 = 0; s2 <= PCM; s2++) m->mix_top[s2][k][i] = i == PC_IN ? PC_W0 : i < NIN - 1 ? 18000 : 0;
    memset(m->bias_sum, 0, sizeof m->bias_sum);
    memset(m->bias_count, 0, sizeof m->bias_count);
}

/* Codes the residual e (|e| <= 2^kmax - 1) in contexts ctx and bctx;
 * returns it (decoded when decoding). */
static int32_t code_residual(coder *c, plane_model *m, unsigned kmax, unsigned ctx, unsigned bctx,
                             unsigned cctx, unsigned dctx, unsigned mixset, pc_query *q, int32_t e) {
    uint32_t mag = (uint32_t)(e < 0 ? -e : e);
    unsigned k = bit_length(mag), i = 0;
    while (i < kmax && code_mixed(c, &m->kbit[ctx][i], &m->kbit_b[bctx][i], &m->kbit_c[cctx][i],
                                  &m->kbit_d[dctx][i], pc_stretch(c, q, i),
                                  m->mix[mixset][i], k > i))
        i++;
    k = i;
    if (k == 0) return 0;
    int neg = code_bit(c, &m->sign[bctx], e < 0);
    uint32_t v = 1;
    if (k >= 2) {
        int b1 = code_mixed(c, &m->top[ctx][k], &m->top_b[bctx][k], &m->top_c[cctx][k], &m->top_d[dctx][k],
                            0, m->mix_top[q->cluster][k], (mag >> (k - 2)) & 1);
        v = (v << 1) | (uint32_t)b1;
        if (k >= 3) {
            v = (v << 1) | (uint32_t)code_bit(c, &m->second[ctx][k][b1], (mag >> (k - 3)) & 1);
            for (int pos = (int)k - 4; pos >= 0; pos--)
                v = (v << 1) | (uint32_t)code_bit(c, &m->low[k][pos], (mag >> pos) & 1);
        }
    }
    return neg ? -(int32_t)v : (int32_t)v;
}

/* The neighbours of (x, y), replicated at the borders. */
typedef struct hood {
    int32_t n, w, nw, ne, nn, ww;
} hood;

static hood neighbours(const int32_t *p, uint32_t w, uint32_t x, uint32_t y) {
    hood h;
    const int32_t *row = p + (size_t)y * w;
    const int32_t *up = y ? row - w : NULL;
    h.w = x ? row[x - 1] : (up ? up[x] : 0);
    h.ww = x > 1 ? row[x - 2] : h.w;
    h.n = up ? up[x] : h.w;
    h.nw = up && x ? up[x - 1] : h.n;
    h.ne = up && x + 1 < w ? up[x + 1] : h.n;
    h.nn = y > 1 ? (up - w)[x] : h.n; /* the row above up, without unsigned wrap-around */
    return h;
}

static int32_t med(int32_t n, int32_t w, int32_t nw) {
    int32_t mx = n > w ? n : w, mn = n > w ? w : n;
    if (nw >= mx) return mn;
    if (nw <= mn) return mx;
    return n + w - nw;
}

/* Codes one sample of one plane: predicts, codes the residual, updates the
 * model. Returns the sample (decoded when decoding), or INT32_MIN when a
 * decoded value falls outside the plane's range (corrupt stream). */
static int32_t code_sample(coder *c, plane_state *ps, int32_t *plane, uint32_t w, uint32_t x,
                           uint32_t y, uint32_t cross_res, int shift) {
    hood h = neighbours(plane, w, x, y);
    uint32_t *rc = ps->res[y & 1], *ru = ps->res[(y & 1) ^ 1];
    size_t i = x + 1;
    int have_up = y > 0;
    int32_t *tc = ps->te[y & 1], *tu = ps->te[(y & 1) ^ 1];
    int64_t te_n = have_up ? tu[i] : 0, te_ne = have_up ? tu[i + 1] : 0, te_nw = have_up ? tu[i - 1] : 0;
    int64_t te_w = tc[i - 1];
    /* Sub-predictors, x8: gradients, neighbours, and two that correct N and W
     * by the errors the final prediction just made around here. */
    int64_t sub[NPRED] = {8 * (int64_t)med(h.n, h.w, h.nw), 8 * ((int64_t)h.w + h.ne - h.n),
                          8 * ((int64_t)h.n + h.w - h.nw), 8 * (int64_t)h.n, 8 * (int64_t)h.w,
                          8 * (int64_t)h.ne, 4 * ((int64_t)h.w + h.ne),
                          8 * (int64_t)h.n - floor_div((te_w + te_n + te_ne) * 16, 32),
                          8 * (int64_t)h.w - floor_div((te_w + te_n + te_nw) * 10, 32)};
    /* Blend: each sub-predictor weighted by 1 / (1 + its recent error)^2. */
    uint64_t wsum = 0, smin = UINT64_MAX;
    int64_t psum = 0, smax = sub[0], smin8 = sub[0]; /* and the sub-predictions' spread */
    for (int k = 0; k < NPRED; k++) {
        smax = sub[k] > smax ? sub[k] : smax;
        smin8 = sub[k] < smin8 ? sub[k] : smin8;
        uint32_t *ec = ps->perr[y & 1][k], *eu = ps->perr[(y & 1) ^ 1][k];
        uint64_t s = ec[i - 1] + (have_up ? (uint64_t)eu[i] + eu[i - 1] + eu[i + 1] : 0);
        s >>= shift;
        if (s < smin) smin = s;
        uint64_t wt = c->weight[s > 4095 ? 4095 : s];
        wsum += wt;
        psum += (int64_t)wt * sub[k];
    }
    int64_t p8 = wsum ? floor_div(psum + (int64_t)(wsum / 2), (int64_t)wsum) : sub[0];
    /* Contexts from the residuals around (and, across planes, at) this pixel. */
    uint32_t act = 2 * rc[i - 1] + (have_up ? 2 * ru[i] + ru[i - 1] + ru[i + 1] : 2 * rc[i - 1]);
    act += (x > 1 ? rc[i - 2] : rc[i - 1]) + (have_up ? ru[i] : 0);
    act >>= shift;
    unsigned cb = ps->cross ? cross_bucket(cross_res >> shift) : 0;
    if (ps->cross) act += 2 * (cross_res >> shift);
    unsigned ab = activity_bucket(act);
    unsigned ctx = ab * NCROSS + cb;
    int32_t praw = (int32_t)floor_div(p8 + 4, 8);
    unsigned pattern = (h.n > praw) | (h.w > praw) << 1 | (h.ne > praw) << 2 | (h.nw > praw) << 3 |
                       (h.nn > praw) << 4 | (h.ww > praw) << 5 | (2 * h.n - h.nn > praw) << 6 |
                       (2 * h.w - h.ww > praw) << 7;
    unsigned bctx = (ab >> 1) * 256 + pattern;
    plane_model *m = ps->m;
    int64_t pc8 = p8 + (m->bias_count[bctx] ? m->bias_sum[bctx] / m->bias_count[bctx] : 0);
    int32_t pred = (int32_t)floor_div(pc8 + 4, 8);
    if (pred < ps->lo) pred = ps->lo;
    if (pred > ps->hi) pred = ps->hi;
    int32_t *px = plane + (size_t)y * w + x;
    int32_t e = c->decoding ? 0 : *px - pred;
    unsigned cctx = level8(rc[i - 1] >> shift) * 8 + level8((have_up ? ru[i] : rc[i - 1]) >> shift);
    uint32_t best = (uint32_t)((smin >> 2) > 4000 ? 4000 : (smin >> 2));
    unsigned bb = activity_bucket(best);
    unsigned dctx = bb * 4 + (ps->cross ? (cb > 2 ? 3 : cb) : 0);
    uint8_t r[PCV]; /* the PC's record: the context now, k after coding */
    uint32_t rw = rc[i - 1] >> shift;
    r[V_ACT] = (uint8_t)ab, r[V_BEST] = (uint8_t)bb;
    r[V_CROSS] = (uint8_t)(ps->cross ? level16(cross_res >> shift) : 0);
    r[V_LUM] = (uint8_t)((uint32_t)(pred - ps->lo) >> (ps->kmax > 4 ? ps->kmax - 4 : 0));
    r[V_SPREAD] = (uint8_t)level16((uint32_t)((smax - smin8) >> 3) >> shift);
    r[V_GRAD] = (uint8_t)level16((uint32_t)(labs(h.n - h.nw) + labs(h.w - h.nw) + labs(h.ne - h.n)) >> shift);
    r[V_W] = (uint8_t)level16(rw), r[V_WW] = (uint8_t)level8((x > 1 ? rc[i - 2] >> shift : rw));
    r[V_N] = (uint8_t)level16(have_up ? ru[i] >> shift : rw);
    r[V_NW] = (uint8_t)level8(have_up ? ru[i - 1] >> shift : rw);
    r[V_NE] = (uint8_t)level8(have_up ? ru[i + 1] >> shift : rw);
    pc_query q;
    pc_begin(&ps->pc, r, &q);
    ps->pc.uses += (uint64_t)q.on;
    e = code_residual(c, m, ps->kmax, ctx, bctx, cctx, dctx, (ab >> 3) * (PCM + 1) + q.cluster, &q, e);
    int32_t v = pred + e;
    if (v < ps->lo || v > ps->hi) return INT32_MIN;
    *px = v;
    unsigned kb = bit_length((uint32_t)(e < 0 ? -e : e));
    r[V_K] = (uint8_t)(kb < PC_KCAP ? kb : PC_KCAP);
    pc_add(&ps->pc, r);
    /* Updates: bias (mean raw error, halved now and then to stay adaptive),
     * residual magnitudes, sub-predictor errors. */
    int64_t err8 = (int64_t)v * 8 - p8;
    if (err8 > (1 << 20)) err8 = 1 << 20;
    if (err8 < -(1 << 20)) err8 = -(1 << 20);
    m->bias_sum[bctx] += (int32_t)err8;
    if (++m->bias_count[bctx] >= 64) {
        m->bias_sum[bctx] /= 2;
        m->bias_count[bctx] /= 2;
    }
    rc[i] = (uint32_t)(e < 0 ? -e : e);
    for (int k = 0; k < NPRED; k++) {
        int64_t d = (int64_t)v * 8 - sub[k];
        ps->perr[y & 1][k][i] = (uint32_t)(d < 0 ? -d : d);
    }
    int64_t t = pc8 - (int64_t)v * 8;
    tc[i] = (int32_t)(t > (1 << 24) ? (1 << 24) : t < -(1 << 24) ? -(1 << 24) : t);
    return v;
}

/* ---- colour transform ------------------------------------------------------ */
/* YCoCg-R: exactly reversible in integers; Co and Cg take one more bit. */
static void to_ycocg(int32_t *r, int32_t *g, int32_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int32_t co = r[i] - b[i];
        int32_t t = b[i] + (int32_t)floor_div(co, 2);
        int32_t cg = g[i] - t;
        r[i] = t + (int32_t)floor_div(cg, 2); /* Y */
        g[i] = co;
        b[i] = cg;
    }
}

static void from_ycocg(int32_t *y, int32_t *co, int32_t *cg, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int32_t t = y[i] - (int32_t)floor_div(cg[i], 2);
        int32_t g = cg[i] + t;
        int32_t b = t - (int32_t)floor_div(co[i], 2);
        y[i] = b + co[i]; /* R */
        co[i] = g;
        cg[i] = b;
    }
}

/* ---- planes ----------------------------------------------------------------- */
typedef struct planes {
    unsigned count;
    uint32_t w, h;
    int32_t *p[4];
    plane_state st[4];
} planes;

static void planes_free(planes *pl) {
    for (unsigned c = 0; c < 4; c++) {
        free(pl->p[c]);
        free(pl->st[c].m);
        free(pl->st[c].res[0]);
        free(pl->st[c].te[0]);
        for (int k = 0; k < NPRED; k++) free(pl->st[c].perr[0][k]);
        circa_pc_free(pl->st[c].pc.pc);
        free(pl->st[c].pc.rec);
        free(pl->st[c].pc.tab);
    }
}

/* Allocates the planes and states; CIRCA_E_NOMEM on failure (pl is then
 * still safe to planes_free). */
static circa_status planes_alloc(planes *pl, uint32_t w, uint32_t h, unsigned channels, unsigned depth,
                                 int ycocg) {
    memset(pl, 0, sizeof *pl);
    pl->count = channels, pl->w = w, pl->h = h;
    size_t n = (size_t)w * h, row = (size_t)w + 2;
    int32_t maxv = (int32_t)((1u << depth) - 1);
    for (unsigned c = 0; c < channels; c++) {
        plane_state *ps = &pl->st[c];
        pl->p[c] = malloc(n * sizeof(int32_t));
        ps->m = malloc(sizeof(plane_model));
        ps->res[0] = calloc(2 * row, sizeof(uint32_t));
        ps->te[0] = calloc(2 * row, sizeof(int32_t));
        for (int k = 0; k < NPRED; k++) ps->perr[0][k] = calloc(2 * row, sizeof(uint32_t));
        ps->pc.rec = malloc((size_t)PC_NREC * PCV);
        ps->pc.tab = malloc((size_t)T_ROWS * PCM * sizeof(double));
        ps->pc.stride = 1;
        if (!pl->p[c] || !ps->m || !ps->res[0] || !ps->te[0] || !ps->pc.rec || !ps->pc.tab)
            return CIRCA_E_NOMEM;
        for (int k = 0; k < NPRED; k++) {
            if (!ps->perr[0][k]) return CIRCA_E_NOMEM;
            ps->perr[1][k] = ps->perr[0][k] + row;
        }
        ps->res[1] = ps->res[0] + row;
        ps->te[1] = ps->te[0] + row;
        model_init(ps->m);
        int chroma = ycocg && (c == 1 || c == 2);
        ps->lo = chroma ? -maxv : 0;
        ps->hi = maxv;
        ps->kmax = bit_length((uint32_t)(ps->hi - ps->lo));
        ps->cross = (channels >= 3 && c > 0 && c < 3);
    }
    return CIRCA_OK;
}

/* After a row: when `done` of the `total` pixels passes the next
 * checkpoint, every plane's PC learns from its records so far. */
static circa_status pc_checkpoint(planes *pl, uint64_t done, uint64_t total, unsigned *ckpt) {
    if (done >= total || *ckpt >= PC_NCKPT || done < total >> (PC_NCKPT - *ckpt)) return CIRCA_OK;
    while (*ckpt < PC_NCKPT && done >= total >> (PC_NCKPT - *ckpt)) ++*ckpt;
    for (unsigned ch = 0; ch < pl->count; ch++) {
        circa_status st = pc_learn(&pl->st[ch].pc);
        if (st != CIRCA_OK) return st;
    }
    return CIRCA_OK;
}

/* Codes all planes, pixel by pixel (planes interleaved, so a later plane
 * sees the earlier planes' residuals at the same pixel). Returns CIRCA_OK,
 * or CIRCA_E_FORMAT when decoding meets an out-of-range value. */
static circa_status code_planes(coder *c, planes *pl, unsigned depth) {
    int shift = depth > 8 ? (int)depth - 8 : 0;
    uint64_t total = (uint64_t)pl->w * pl->h;
    unsigned ckpt = 0;
    for (uint32_t y = 0; y < pl->h; y++) {
        for (uint32_t x = 0; x < pl->w; x++) {
            uint32_t cross = 0;
            for (unsigned ch = 0; ch < pl->count; ch++) {
                plane_state *ps = &pl->st[ch];
                int32_t v = code_sample(c, ps, pl->p[ch], pl->w, x, y, cross, shift);
                if (v == INT32_MIN) return CIRCA_E_FORMAT;
                cross += ps->res[y & 1][x + 1];
            }
        }
        /* A stream read far past its end is corrupt: stop early. */
        if (c->decoding && c->d.overrun > 16) return CIRCA_E_TRUNCATED;
        circa_status st = pc_checkpoint(pl, (uint64_t)(y + 1) * pl->w, total, &ckpt);
        if (st != CIRCA_OK) return st;
    }
    return CIRCA_OK;
}

static int use_ycocg(const circa_image *img) {
    return img->channels >= 3;
}

/* A test's view of one plane's circuit after encoding (NULL: none wanted). */
typedef struct pc_probe {
    unsigned plane;
    circa_pc *pc;  /* a copy, or NULL when the plane's circuit never learned */
    uint64_t uses;
} pc_probe;

/* Copies plane pr->plane's circuit (through its file form) and use count. */
static circa_status probe_take(const planes *pl, pc_probe *pr) {
    if (!pr || pr->plane >= pl->count) return CIRCA_OK;
    const plane_pc *p = &pl->st[pr->plane].pc;
    pr->uses = p->uses;
    if (!p->pc) return CIRCA_OK;
    uint8_t *file = NULL;
    size_t n = 0;
    circa_status st = circa_pc_save(p->pc, &file, &n);
    if (st == CIRCA_OK) st = circa_pc_load(file, n, &pr->pc);
    free(file);
    return st;
}

static circa_status encode_planes(const circa_image *img, uint8_t **out, size_t *out_size, pc_probe *pr);

circa_status circa_image__code_encode(const circa_image *img, uint8_t **out, size_t *out_size) {
    return encode_planes(img, out, out_size, NULL);
}

circa_status circa_image__pc_probe(const circa_image *img, unsigned plane, circa_pc **pc, uint64_t *uses) {
    pc_probe pr = {plane, NULL, 0};
    uint8_t *buf = NULL;
    size_t n = 0;
    circa_status st = encode_planes(img, &buf, &n, &pr);
    free(buf);
    *pc = pr.pc;
    *uses = pr.uses;
    return st;
}

double circa_image__pc_prob(const circa_pc *pc, const uint8_t *rec, unsigned i) {
    plane_pc p = {(circa_pc *)pc, NULL, 0, 1, 0, malloc((size_t)T_ROWS * PCM * sizeof(double)), 1, 0};
    if (!p.tab || i >= PC_KCAP) {
        free(p.tab);
        return -1;
    }
    pc_tables(&p); /* reads the circuit only */
    pc_query q;
    pc_begin(&p, rec, &q);
    double r = pc_tail(&q, i + 1) / pc_tail(&q, i);
    free(p.tab);
    return r;
}

static circa_status encode_planes(const circa_image *img, uint8_t **out, size_t *out_size, pc_probe *pr) {
    *out = NULL;
    *out_size = 0;
    planes pl;
    size_t n = (size_t)img->width * img->height;
    int ycocg = use_ycocg(img);
    circa_status st = planes_alloc(&pl, img->width, img->height, img->channels, img->depth, ycocg);
    if (st != CIRCA_OK) {
        planes_free(&pl);
        return st;
    }
    for (size_t i = 0; i < n; i++)
        for (unsigned ch = 0; ch < img->channels; ch++)
            pl.p[ch][i] = img->samples[i * img->channels + ch];
    if (ycocg) to_ycocg(pl.p[0], pl.p[1], pl.p[2], n);
    /* Worst case: about 2 + kmax bits per sample; this is ample. */
    size_t cap = n * img->channels * 4 + 1024;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        planes_free(&pl);
        return CIRCA_E_NOMEM;
    }
    coder *c = malloc(sizeof *c);
    if (!c) {
        free(buf);
        planes_free(&pl);
        return CIRCA_E_NOMEM;
    }
    c->decoding = 0;
    build_tables(c);
    circa_rc_enc_init(&c->e, buf, cap);
    st = code_planes(c, &pl, img->depth);
    size_t len = circa_rc_enc_finish(&c->e);
    if (st == CIRCA_OK) st = probe_take(&pl, pr);
    free(c);
    planes_free(&pl);
    if (st == CIRCA_OK && len == 0) st = CIRCA_E_DST_SIZE;
    if (st != CIRCA_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *out_size = len;
    return CIRCA_OK;
}

circa_status circa_image__code_decode(const uint8_t *src, size_t size, circa_image *img) {
    planes pl;
    size_t n = (size_t)img->width * img->height;
    int ycocg = use_ycocg(img);
    circa_status st = planes_alloc(&pl, img->width, img->height, img->channels, img->depth, ycocg);
    coder *c = st == CIRCA_OK ? malloc(sizeof *c) : NULL;
    if (st == CIRCA_OK && !c) st = CIRCA_E_NOMEM;
    if (st == CIRCA_OK) {
        c->decoding = 1;
        build_tables(c);
        circa_rc_dec_init(&c->d, src, size);
        st = code_planes(c, &pl, img->depth);
        if (st == CIRCA_OK && circa_rc_dec_finish(&c->d)) st = CIRCA_E_FORMAT;
    }
    free(c);
    if (st == CIRCA_OK) {
        if (ycocg) from_ycocg(pl.p[0], pl.p[1], pl.p[2], n);
        int32_t maxv = (int32_t)((1u << img->depth) - 1);
        for (size_t i = 0; i < n && st == CIRCA_OK; i++)
            for (unsigned ch = 0; ch < img->channels; ch++) {
                int32_t v = pl.p[ch][i];
                if (v < 0 || v > maxv) {
                    st = CIRCA_E_FORMAT;
                    break;
                }
                img->samples[i * img->channels + ch] = (uint16_t)v;
            }
    }
    planes_free(&pl);
    return st;
}
