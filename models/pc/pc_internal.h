/* pc_internal.h: the probabilistic-circuit room's private layout and the
 * helpers its files share (and the unit tests reach into).
 *
 * Layout of a circuit with D variables, K categories, M hidden states:
 *   - a rooted tree over the variables: parent[], children in CSR form
 *     (ascending variable index), `order` = preorder = the coding order;
 *   - an inner node is the root or a variable with children: it owns a hidden
 *     variable; inner[v] numbers inner nodes 0..I-1 in preorder (-1: leaf);
 *   - theta: for each inner node t, an M x M block (row j = parent's state,
 *     column k = own state); the root's block holds its one row of M
 *     weights in row 0 (other rows unused, kept at 1/M);
 *   - inputs: for each variable, K x M floats, [v][x][m] = P(X_v = x | m):
 *     the M values a byte selects are contiguous, which is what both the EM
 *     kernels and the coder read.
 * Learning uses the floats; the coder uses double tables derived from them
 * once (cdf, theta_d), so encoder and decoder agree bit for bit. */
#ifndef CIRCA_PC_INTERNAL_H
#define CIRCA_PC_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "circa/pc.h"

#define PC_NONE 0xFFFFFFFFu
#define PC_MAX_VARS (1u << 20)
#define PC_MAX_HIDDEN 256u

struct circa_pc {
    uint32_t D, K, M, root, I;
    uint32_t *parent;      /* D; root: PC_NONE */
    uint32_t *order;       /* D, preorder */
    uint32_t *child_start; /* D+1 */
    uint32_t *child_list;  /* D-1 */
    int32_t *inner;        /* D: inner index, or -1 for a leaf */
    uint32_t *inner_var;   /* I: the variable of each inner node */
    float *theta;          /* I * M * M */
    float *inputs;         /* D * K * M */
    /* coder tables (built by circa_pc__finish) */
    double *theta_d;       /* I * M * M, rows normalised in double */
    double *theta_dt;      /* the same transposed: [k][j] */
    double *cdf;           /* D * (K+1) * M: cdf[v][x][m] = P(X_v < x | m) */
    uint32_t depth;
    uint32_t id;
    char *recipe;
};

/* Allocates a circuit for the tree given by parent[] (copied) with
 * uninitialised parameters; builds order, children, inner numbering.
 * CIRCA_E_FORMAT when parent[] is not a tree, CIRCA_E_NOMEM. */
circa_status circa_pc__create(uint32_t D, uint32_t K, uint32_t M, const uint32_t *parent,
                              circa_pc **out);
/* Builds the coder tables from the float parameters and computes the id.
 * CIRCA_E_NOMEM on failure (the model keeps its old tables). */
circa_status circa_pc__finish(circa_pc *pc);
/* Replaces the recipe line (copied); CIRCA_E_NOMEM. */
circa_status circa_pc__set_recipe(circa_pc *pc, const char *text);

/* A random tree with D nodes and random positive parameters (for tests). */
circa_status circa_pc__random(uint32_t D, uint32_t K, uint32_t M, uint64_t seed, circa_pc **out);

/* The coder's conditionals for one record (natural byte order): probs[i*K+x]
 * = P(X_order[i] = x | earlier variables in the order), as real numbers from
 * the same arithmetic the coder quantises. CIRCA_E_NOMEM / CIRCA_E_PARAM. */
circa_status circa_pc__conditionals(const circa_pc *pc, const uint8_t *record, double *probs);
/* Brute-force marginal in double: P(X_v = record[v] for every v with
 * observed[v] != 0, others summed out), by a plain recursive evaluation. */
double circa_pc__marginal(const circa_pc *pc, const uint8_t *record, const uint8_t *observed);

/* Shape checks shared by the loaders and learners. */
int circa_pc__shape_ok(uint64_t D, uint64_t K, uint64_t M);

/* Scales v by the power of two that brings its maximum into [0.5, 1):
 * exact, and keeps long products away from underflow (the coder and the
 * online learner both rely on it being exact). */
static inline void circa_pc__rescale(double *v, uint32_t M) {
    double mx = 0;
    for (uint32_t m = 0; m < M; m++) mx = v[m] > mx ? v[m] : mx;
    if (!(mx > 0) || !isfinite(mx)) return;
    int e;
    frexp(mx, &e);
    double s = ldexp(1.0, -e);
    for (uint32_t m = 0; m < M; m++) v[m] *= s;
}

/* splitmix64: deterministic randomness for initialisation. */
static inline uint64_t circa_pc__rand(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline double circa_pc__uniform(uint64_t *s) {
    return (double)(circa_pc__rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Learns the HCLT tree (parent[] of D entries) from n records of D bytes:
 * mutual information on values coarsened to `levels` levels over the first
 * `samples` records, maximum spanning tree, rooted at its centre.
 * CIRCA_E_NOMEM. */
circa_status circa_pc__learn_tree(const uint8_t *records, size_t n, uint32_t D, uint32_t K,
                                  unsigned samples, unsigned levels, unsigned threads,
                                  uint32_t *parent);

/* pc_cond.c. msg[j] = P(observed subtree(c) | Z_parent(c) = j) for the
 * values in record (only subtree(c)'s entries are read), from the coder
 * tables in a fixed order: the same bits on every platform. */
void circa_pc__message(const circa_pc *pc, uint32_t c, const uint8_t *record, double *msg);
/* tail[m] = theta_root[m] * P(X_root >= x | Z_root = m), so that
 * P(X_root >= x | rest) is proportional to sum_m tail[m] * prod_c msg_c[m]. */
void circa_pc__root_tail(const circa_pc *pc, uint32_t x, double *tail);
/* Deterministic starting parameters for EM on a tree fixed by the caller
 * (circa_pc__create): perturbed uniform transitions, perturbed marginals of
 * the n records as inputs. Call circa_pc_em next. */
void circa_pc__init_params(circa_pc *pc, const uint8_t *records, size_t n, uint64_t seed);

#endif
