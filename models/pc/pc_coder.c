/* pc_coder.c: exact arithmetic coding of records with a circuit: the
 * conditional of each variable in preorder from cached partial results,
 * quantised to an integer CDF of total 2^24, coded with circa's range coder.
 *
 * How the conditionals are cached. Variables are coded in preorder of the
 * hidden tree (the left-to-right leaf order of the vtree that chains each
 * node's products as x_v, child 1, child 2, ...). When variable u is next,
 * every subtree to its left is fully observed and every subtree to its
 * right is fully marginalised (value 1 everywhere). So the circuit output,
 * as a function of u's inputs, is sum_m c_m f_m(x_u) with
 *   alpha_u = beta_p (.) pr_p               (p = parent of u)
 *   beta_u  = theta_u^T alpha_u,  c = beta_u (inner u) or c = alpha_u (leaf u)
 * where pr_p is f_p(x_p) times the values of p's children completed so far.
 * beta is computed once per inner node when it is reached, and a node's
 * value theta_u pr_u once when its subtree is complete, so a record costs
 * about 2 I M^2 + D M (8 + 2) multiply-adds: the O(log D |p|) bound of the
 * paper's path-recomputation scheme, without the log D factor.
 *
 * Exactness. All of it is double arithmetic on tables derived once from
 * the model (pc_model.c), in a fixed order: sums run in ascending index,
 * scaling is by powers of two (exact), and the only other operations are
 * +, *, / and a conversion to integer; the build disables FMA contraction
 * (-ffp-contract=off), and vectorised element-wise loops do not reorder any
 * element's sum. Encoder and decoder therefore compute the same bits.
 *
 * Quantisation. With C(x) = sum_m c_m F_m(x) / sum_m c_m F_m(K) (F the
 * input's CDF), cum(x) = floor(C(x) (T - K)) + x for 0 < x < K, cum(0) = 0,
 * cum(K) = T: non-decreasing C makes cum strictly increasing, so every
 * symbol has frequency >= 1, and the encoder needs two evaluations of C,
 * the decoder a binary search of log2 K. T = 2^24, the coder's largest
 * total, costs at most K/T (1.5e-5 for K = 256) bits per symbol. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pc_internal.h"

#define TOTAL ((uint32_t)1 << CIRCA_PC_PREC_BITS)

/* The M x M loops run 4 doubles wide with AVX2 where the CPU has it. That is
 * safe for exactness: they are element-wise (each element's sum keeps its
 * order), and "avx2" does not include FMA (nor would -ffp-contract=off
 * allow contraction). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define PC_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define PC_KERNEL
#endif

/* Per-call scratch: beta and pr for every inner node, small vectors. */
typedef struct coder {
    const circa_pc *pc;
    double *beta, *pr;       /* I x M */
    double *alpha, *down;    /* M */
} coder;

static int coder_init(coder *c, const circa_pc *pc) {
    size_t IM = (size_t)pc->I * pc->M;
    c->pc = pc;
    c->beta = malloc(IM * sizeof *c->beta);
    c->pr = malloc(IM * sizeof *c->pr);
    c->alpha = malloc(pc->M * sizeof *c->alpha);
    c->down = malloc(pc->M * sizeof *c->down);
    if (c->beta && c->pr && c->alpha && c->down) return 0;
    free(c->beta), free(c->pr), free(c->alpha), free(c->down);
    return -1;
}

static void coder_free(coder *c) {
    free(c->beta), free(c->pr), free(c->alpha), free(c->down);
}

/* The coefficient vector of variable u's input tables (see the top). */
PC_KERNEL static const double *coefficients(coder *c, uint32_t u) {
    const circa_pc *pc = c->pc;
    uint32_t M = pc->M;
    if (u == pc->root) {
        double *b = c->beta + (size_t)pc->inner[u] * M;
        memcpy(b, pc->theta_d + (size_t)pc->inner[u] * M * M, M * sizeof *b);
        return b;
    }
    uint32_t tp = (uint32_t)pc->inner[pc->parent[u]];
    const double *bp = c->beta + (size_t)tp * M, *pp = c->pr + (size_t)tp * M;
    double *a = c->alpha;
    for (uint32_t m = 0; m < M; m++) a[m] = bp[m] * pp[m];
    circa_pc__rescale(a, M);
    if (pc->inner[u] < 0) return a;
    uint32_t t = (uint32_t)pc->inner[u];
    double *b = c->beta + (size_t)t * M;
    const double *th = pc->theta_d + (size_t)t * M * M;
    for (uint32_t k = 0; k < M; k++) b[k] = 0;
    for (uint32_t j = 0; j < M; j++) {
        double aj = a[j];
        const double *row = th + (size_t)j * M;
        for (uint32_t k = 0; k < M; k++) b[k] += aj * row[k];
    }
    return b;
}

/* sum_m coef_m F_m(x) in ascending m: the unnormalised CDF at x. */
static double mix_cdf(const double *coef, const double *F, uint32_t M) {
    double s = 0;
    for (uint32_t m = 0; m < M; m++) s += coef[m] * F[m];
    return s;
}

/* The quantised CDF at x (0 <= x <= K) for coefficients coef over table F. */
static uint32_t quant_cdf(const double *coef, const double *F, uint32_t M, uint32_t K, uint32_t x,
                          double den) {
    if (x == 0) return 0;
    if (x >= K) return TOTAL;
    double q = mix_cdf(coef, F + (size_t)x * M, M) / den * (double)(TOTAL - K);
    uint32_t f = q >= (double)(TOTAL - K) ? TOTAL - K : (uint32_t)q;
    return f + x;
}

/* After x_u is known: fold u's value into its ancestors' running products,
 * completing every ancestor whose last child u's subtree was. */
PC_KERNEL static void observe(coder *c, uint32_t u, uint8_t x) {
    const circa_pc *pc = c->pc;
    uint32_t M = pc->M, K = pc->K;
    const double *F = pc->cdf + ((size_t)u * (K + 1) + x) * M;
    double *down = c->down;
    if (pc->inner[u] >= 0) { /* its subtree starts now: pr = f_u(x) */
        double *pr = c->pr + (size_t)pc->inner[u] * M;
        for (uint32_t m = 0; m < M; m++) pr[m] = F[M + m] - F[m];
        return; /* its children come next (or, for a childless root, nothing) */
    }
    for (uint32_t m = 0; m < M; m++) down[m] = F[M + m] - F[m];
    for (;;) {
        uint32_t p = pc->parent[u], tp = (uint32_t)pc->inner[p];
        double *pr = c->pr + (size_t)tp * M;
        for (uint32_t m = 0; m < M; m++) pr[m] *= down[m];
        circa_pc__rescale(pr, M);
        if (pc->child_list[pc->child_start[p + 1] - 1] != u || p == pc->root) return;
        const double *tt = pc->theta_dt + (size_t)tp * M * M; /* p complete: down = theta pr */
        for (uint32_t j = 0; j < M; j++) down[j] = 0;
        for (uint32_t k = 0; k < M; k++) {
            double pk = pr[k];
            const double *row = tt + (size_t)k * M;
            for (uint32_t j = 0; j < M; j++) down[j] += pk * row[j];
        }
        circa_pc__rescale(down, M);
        u = p;
    }
}

/* Asks for the two CDF rows a variable will most likely read (x and x+1)
 * while the M x M work of observe() runs: the table is too big for cache. */
static void prefetch_rows(const circa_pc *pc, uint32_t u, uint32_t x) {
#if defined(__GNUC__)
    const char *p = (const char *)(pc->cdf + ((size_t)u * (pc->K + 1) + x) * pc->M);
    for (size_t off = 0; off < 2 * pc->M * sizeof(double); off += 64) __builtin_prefetch(p + off);
#else
    (void)pc, (void)u, (void)x;
#endif
}

static void encode_record(coder *c, const uint8_t *rec, circa_rc_enc *enc) {
    const circa_pc *pc = c->pc;
    uint32_t M = pc->M, K = pc->K;
    for (uint32_t i = 0; i < pc->D; i++) {
        uint32_t u = pc->order[i];
        uint8_t x = rec[u];
        const double *coef = coefficients(c, u);
        const double *F = pc->cdf + (size_t)u * (K + 1) * M;
        double den = mix_cdf(coef, F + (size_t)K * M, M);
        uint32_t lo = quant_cdf(coef, F, M, K, x, den), hi = quant_cdf(coef, F, M, K, x + 1u, den);
        circa_rc_encode_pow2(enc, lo, hi - lo, CIRCA_PC_PREC_BITS);
        if (i + 1 < pc->D) prefetch_rows(pc, pc->order[i + 1], rec[pc->order[i + 1]]);
        observe(c, u, x);
    }
}

/* Brackets the symbol whose interval holds target, starting at a guess and
 * doubling the step outward (neighbouring bytes are usually close, and the
 * parent's byte is a good guess). On return cum(lo) = clo <= target <
 * chi = cum(hi). Any search path finds the same symbol: cum is a fixed,
 * strictly increasing function. */
static void find_symbol(const double *coef, const double *F, uint32_t M, uint32_t K, double den,
                        uint32_t target, uint32_t g, uint32_t *lo, uint32_t *hi, uint32_t *clo,
                        uint32_t *chi) {
    uint32_t cg = quant_cdf(coef, F, M, K, g, den), step = 1;
    if (cg <= target) { /* gallop up from g */
        uint32_t l = g, cl = cg, h = g + 1, ch = quant_cdf(coef, F, M, K, h, den);
        while (ch <= target) {
            l = h, cl = ch;
            h = K - l > step ? l + step : K;
            ch = quant_cdf(coef, F, M, K, h, den);
            step *= 2;
        }
        *lo = l, *clo = cl, *hi = h, *chi = ch;
    } else { /* gallop down from g */
        uint32_t h = g, ch = cg, l = g - 1, cl = quant_cdf(coef, F, M, K, l, den);
        while (cl > target) {
            h = l, ch = cl;
            l = l > step ? l - step : 0;
            cl = quant_cdf(coef, F, M, K, l, den);
            step *= 2;
        }
        *lo = l, *clo = cl, *hi = h, *chi = ch;
    }
}

static void decode_record(coder *c, circa_rc_dec *dec, uint8_t *rec) {
    const circa_pc *pc = c->pc;
    uint32_t M = pc->M, K = pc->K;
    for (uint32_t i = 0; i < pc->D; i++) {
        uint32_t u = pc->order[i];
        const double *coef = coefficients(c, u);
        const double *F = pc->cdf + (size_t)u * (K + 1) * M;
        double den = mix_cdf(coef, F + (size_t)K * M, M);
        uint32_t target = circa_rc_decode_target_pow2(dec, CIRCA_PC_PREC_BITS);
        uint32_t guess = u == pc->root ? 0 : rec[pc->parent[u]];
        uint32_t lo, hi, clo, chi;
        find_symbol(coef, F, M, K, den, target, guess < K ? guess : K - 1, &lo, &hi, &clo, &chi);
        while (hi - lo > 1) { /* cum(lo) <= target < cum(hi) */
            uint32_t mid = lo + (hi - lo) / 2, cm = quant_cdf(coef, F, M, K, mid, den);
            if (cm <= target) lo = mid, clo = cm;
            else hi = mid, chi = cm;
        }
        circa_rc_decode_update_pow2(dec, clo, chi - clo, CIRCA_PC_PREC_BITS);
        rec[u] = (uint8_t)lo;
        if (i + 1 < pc->D) { /* the next variable's parent is decoded: prefetch its guess */
            uint32_t nu = pc->order[i + 1];
            prefetch_rows(pc, nu, nu == pc->root ? 0 : rec[pc->parent[nu]]);
        }
        observe(c, u, (uint8_t)lo);
    }
}

circa_status circa_pc_encode(const circa_pc *pc, const uint8_t *records, size_t n,
                             circa_rc_enc *enc) {
    if (!pc || !enc || (n && !records)) return CIRCA_E_PARAM;
    if (pc->K < 256)
        for (size_t i = 0; i < n * pc->D; i++)
            if (records[i] >= pc->K) return CIRCA_E_PARAM; /* checked before coding anything */
    coder c;
    if (coder_init(&c, pc) != 0) return CIRCA_E_NOMEM;
    for (size_t r = 0; r < n; r++) encode_record(&c, records + r * pc->D, enc);
    coder_free(&c);
    return CIRCA_OK;
}

circa_status circa_pc_decode(const circa_pc *pc, circa_rc_dec *dec, uint8_t *records, size_t n) {
    if (!pc || !dec || (n && !records)) return CIRCA_E_PARAM;
    coder c;
    if (coder_init(&c, pc) != 0) return CIRCA_E_NOMEM;
    for (size_t r = 0; r < n; r++) decode_record(&c, dec, records + r * pc->D);
    coder_free(&c);
    return CIRCA_OK;
}

circa_status circa_pc__conditionals(const circa_pc *pc, const uint8_t *record, double *probs) {
    uint32_t M = pc->M, K = pc->K;
    for (uint32_t v = 0; v < pc->D; v++)
        if (record[v] >= K) return CIRCA_E_PARAM;
    coder c;
    if (coder_init(&c, pc) != 0) return CIRCA_E_NOMEM;
    for (uint32_t i = 0; i < pc->D; i++) {
        uint32_t u = pc->order[i];
        const double *coef = coefficients(&c, u);
        const double *F = pc->cdf + (size_t)u * (K + 1) * M;
        double den = mix_cdf(coef, F + (size_t)K * M, M);
        for (uint32_t x = 0; x < K; x++)
            probs[(size_t)i * K + x] =
                (mix_cdf(coef, F + (size_t)(x + 1) * M, M) - mix_cdf(coef, F + (size_t)x * M, M)) / den;
        observe(&c, u, record[u]);
    }
    coder_free(&c);
    return CIRCA_OK;
}

/* ---- brute force, for tests -------------------------------------------- */
/* P(observed part of subtree(v) | the state of v's hidden variable), for
 * each of the M states, by plain recursion (no caching, no scaling). */
static void subtree_value(const circa_pc *pc, uint32_t v, const uint8_t *rec, const uint8_t *obs,
                          double *prod) {
    uint32_t M = pc->M, K = pc->K;
    const double *F = pc->cdf + ((size_t)v * (K + 1) + rec[v]) * M;
    for (uint32_t m = 0; m < M; m++) prod[m] = obs[v] ? F[M + m] - F[m] : 1.0;
    if (pc->inner[v] < 0) return;
    double *child = malloc(2 * M * sizeof *child);
    if (!child) abort(); /* test helper */
    for (uint32_t i = pc->child_start[v]; i < pc->child_start[v + 1]; i++) {
        uint32_t u = pc->child_list[i];
        subtree_value(pc, u, rec, obs, child);
        if (pc->inner[u] >= 0) { /* sum layer of u: value given v's state */
            const double *th = pc->theta_d + (size_t)pc->inner[u] * M * M;
            for (uint32_t j = 0; j < M; j++) {
                double s = 0;
                for (uint32_t k = 0; k < M; k++) s += th[j * M + k] * child[k];
                child[M + j] = s;
            }
            memcpy(child, child + M, M * sizeof *child);
        }
        for (uint32_t m = 0; m < M; m++) prod[m] *= child[m];
    }
    free(child);
}

double circa_pc__marginal(const circa_pc *pc, const uint8_t *record, const uint8_t *observed) {
    uint32_t M = pc->M;
    double *prod = malloc(M * sizeof *prod);
    if (!prod) return NAN;
    subtree_value(pc, pc->root, record, observed, prod);
    const double *th = pc->theta_d + (size_t)pc->inner[pc->root] * M * M;
    double s = 0;
    for (uint32_t k = 0; k < M; k++) s += th[k] * prod[k];
    free(prod);
    return s;
}
