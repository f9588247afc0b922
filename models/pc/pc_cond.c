/* pc_cond.c: exact conditionals of a circuit's root variable through
 * subtree messages, for callers that tabulate them (the image codec), and a
 * deterministic parameter initialisation for circuits whose tree is fixed
 * by design rather than learned.
 *
 * P(X_root = x | all other variables) is proportional to
 *     sum_m theta_root[m] f_root(x | m) prod_{children c} msg_c[m],
 * where msg_c[m] = P(observed subtree(c) | Z_root = m) depends only on the
 * values in subtree(c). A caller can therefore tabulate each child's message
 * over its subtree's (small) value domain once, and combine the tables per
 * query with M multiplications each. Everything here is double +, x, / in a
 * fixed order over the coder tables (theta_d, cdf) built by
 * circa_pc__finish: no libm, so the results are the same bits everywhere
 * (the build has -ffp-contract=off). */
#include <string.h>
#include "pc_internal.h"

/* prod[m] = f_v(x_v | m) times the messages of v's children. */
static void subtree_products(const circa_pc *pc, uint32_t v, const uint8_t *record, double *prod) {
    uint32_t M = pc->M, K = pc->K;
    const double *F = pc->cdf + ((size_t)v * (K + 1) + record[v]) * M;
    for (uint32_t m = 0; m < M; m++) prod[m] = F[M + m] - F[m];
    double msg[PC_MAX_HIDDEN];
    for (uint32_t i = pc->child_start[v]; i < pc->child_start[v + 1]; i++) {
        circa_pc__message(pc, pc->child_list[i], record, msg);
        for (uint32_t m = 0; m < M; m++) prod[m] *= msg[m];
    }
}

void circa_pc__message(const circa_pc *pc, uint32_t c, const uint8_t *record, double *msg) {
    uint32_t M = pc->M;
    if (pc->inner[c] < 0) { /* a leaf: its input, indexed by the parent's state */
        subtree_products(pc, c, record, msg);
        return;
    }
    double prod[PC_MAX_HIDDEN];
    subtree_products(pc, c, record, prod);
    const double *th = pc->theta_d + (size_t)pc->inner[c] * M * M;
    for (uint32_t j = 0; j < M; j++) {
        double s = 0;
        for (uint32_t k = 0; k < M; k++) s += th[j * M + k] * prod[k];
        msg[j] = s;
    }
}

void circa_pc__root_tail(const circa_pc *pc, uint32_t x, double *tail) {
    uint32_t M = pc->M, K = pc->K;
    const double *F = pc->cdf + (size_t)pc->root * (K + 1) * M;
    const double *th = pc->theta_d + (size_t)pc->inner[pc->root] * M * M;
    for (uint32_t m = 0; m < M; m++) tail[m] = th[m] * (F[(size_t)K * M + m] - F[(size_t)x * M + m]);
}

/* Transitions uniform x (1 + U/2); each state's input table the variable's
 * smoothed marginal over the records x (1/2 + U), normalised: the states
 * start apart so EM can separate them (as circa_pc_learn does). */
void circa_pc__init_params(circa_pc *pc, const uint8_t *records, size_t n, uint64_t seed) {
    uint32_t M = pc->M, K = pc->K, D = pc->D;
    uint64_t rng = seed;
    for (uint32_t t = 0; t < pc->I; t++)
        for (uint32_t j = 0; j < M; j++) {
            float *row = pc->theta + (size_t)t * M * M + (size_t)j * M;
            double s = 0;
            for (uint32_t k = 0; k < M; k++) s += row[k] = (float)(1.0 + 0.5 * circa_pc__uniform(&rng));
            for (uint32_t k = 0; k < M; k++) row[k] = (float)(row[k] / s);
        }
    double marg[256];
    for (uint32_t v = 0; v < D; v++) {
        for (uint32_t x = 0; x < K; x++) marg[x] = 1.0;
        for (size_t i = 0; i < n; i++) marg[records[i * D + v]] += 1.0;
        float *in = pc->inputs + (size_t)v * K * M;
        for (uint32_t m = 0; m < M; m++) {
            double s = 0;
            for (uint32_t x = 0; x < K; x++) {
                float w = (float)(marg[x] * (0.5 + circa_pc__uniform(&rng)));
                in[(size_t)x * M + m] = w;
                s += w;
            }
            for (uint32_t x = 0; x < K; x++) in[(size_t)x * M + m] = (float)(in[(size_t)x * M + m] / s);
        }
    }
}
