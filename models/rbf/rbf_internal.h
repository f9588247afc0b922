/* rbf_internal.h: the RBF field's private layout, shared by the files of
 * models/rbf/ (field, init, train, file) and the unit tests. */
#ifndef CIRCA_RBF_INTERNAL_H
#define CIRCA_RBF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "circa/rbf.h"

#define RBF_NN 4                /* kernels per position */
#define RBF_LEVELS_MAX 2        /* grid levels */
#define RBF_GRID_FEATS 2        /* features per grid level */
#define RBF_CENTRE_Q 8          /* centres in 1/8 pixel */
#define RBF_LOGSIG_Q 16         /* log2(std) in 1/16 */
#define RBF_RHO_Q 1024          /* correlation in 1/1024 */
#define RBF_RHO_MAX 1022        /* |rho| <= 0.998 */
/* Coarse geometry (circa_rbf_config.coarse_geometry, the codec's): centres at
 * pixel centres, log2 deviations in halves, correlations in sixteenths. The
 * field keeps the fine units above; these are the coarse lattice's steps in
 * them (centres at RBF_COARSE_CENTRE/2 + k RBF_COARSE_CENTRE). */
#define RBF_COARSE_CENTRE 8     /* 1 px */
#define RBF_COARSE_LOGSIG 8     /* 1/2 */
#define RBF_COARSE_RHO 64       /* 1/16 */
#define RBF_COARSE_RHO_MAX 960  /* |rho| <= 0.9375 */

/* The per-pixel MLP loops, compiled twice (AVX2 and baseline) and picked at
 * load time: elementwise loops give the same floats either way, so files
 * do not depend on the CPU. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define RBF_HOT __attribute__((target_clones("avx2", "default")))
#else
#define RBF_HOT
#endif

/* A bucket grid over the kernel centres for nearest-kernel queries. */
typedef struct rbf_index {
    float cell;           /* cell side, pixels */
    int nx, ny;
    uint32_t *start;      /* nx*ny+1 offsets into items */
    uint32_t *items;      /* kernel indices, bucketed */
} rbf_index;

/* Offsets of the parameter groups inside theta. */
typedef struct rbf_layout {
    size_t lc, grid[RBF_LEVELS_MAX], lcb, w0, b0, w1, b1, w2, b2, total;
    size_t mlp_begin;     /* w0..b2 are contiguous from here to total */
} rbf_layout;

struct circa_rbf {
    uint32_t width, height;
    unsigned channels, depth;
    uint32_t K;
    unsigned F, H, G;     /* features per kernel, MLP width, grid features */
    unsigned levels, res[RBF_LEVELS_MAX];
    unsigned D;           /* MLP input: G + F */
    unsigned coarse;      /* geometry on the coarse lattice (RBF_COARSE_*) */
    int32_t *cq;          /* K x 2 centres, 1/RBF_CENTRE_Q pixel */
    int16_t *sq;          /* K x 3: log2 std x, log2 std y (1/RBF_LOGSIG_Q), rho (1/RBF_RHO_Q) */
    float *kc;            /* K x 2 centres in pixels (from cq) */
    float *ka;            /* K x 3 inverse covariance a00, a01, a11 (from sq) */
    rbf_index index;
    rbf_layout lay;
    float *theta;         /* lay.total trainable numbers */
    float qstep[10];      /* per-group steps of the last circa_rbf_quantise */
    float qscale[10];     /* per-group step scales (0: the group's RMS), set by the codec */
    double qbase;         /* its base step (0: not quantised) */
    float m_rbf[CIRCA_RBF_FEATURES_MAX];
    float m_h[CIRCA_RBF_HIDDEN_MAX];
};

/* One position's features before the MLP: its 4 kernels and normalised
 * kernel values, and its grid cells and weights. */
typedef struct rbf_point {
    uint32_t k[RBF_NN];
    float phi[RBF_NN];
    uint32_t gi[RBF_LEVELS_MAX][4];
    float gw[RBF_LEVELS_MAX][4];
} rbf_point;

/* One position's activations through the MLP (kept for the backward pass). */
#define RBF_D_MAX (RBF_LEVELS_MAX * RBF_GRID_FEATS + CIRCA_RBF_FEATURES_MAX)
typedef struct rbf_acts {
    float x0[RBF_D_MAX];
    float z1[CIRCA_RBF_HIDDEN_MAX], c1[CIRCA_RBF_HIDDEN_MAX], h1[CIRCA_RBF_HIDDEN_MAX];
    float z2[CIRCA_RBF_HIDDEN_MAX], h2[CIRCA_RBF_HIDDEN_MAX];
} rbf_acts;

/* rbf_field.c */
circa_status circa_rbf__alloc(circa_rbf **out, uint32_t w, uint32_t h, unsigned channels,
                              unsigned depth, uint32_t K, unsigned F, unsigned H,
                              unsigned grid_base, unsigned grid_fine);
void circa_rbf__layout(circa_rbf *f);
circa_status circa_rbf__derive(circa_rbf *f); /* kc, ka, index from cq, sq */
void circa_rbf__point(const circa_rbf *f, float x, float y, rbf_point *pt);
/* Sine of each x[i] (|x| < 2^20), branch-free so loops vectorise; the same
 * float operations on every build, so training and rendering agree. */
void circa_rbf__sin(size_t n, const float *x, float *s);
void circa_rbf__sincos(size_t n, const float *x, float *s, float *c);
/* The MLP input x0 [D] at a point: grid features, composition, bias. */
void circa_rbf__features(const circa_rbf *f, const float *theta, const rbf_point *pt,
                         const float *sines, float *x0);
/* W0^T [D][H] then W1^T [H][H] into wt, for the forward pass. */
void circa_rbf__transpose(const circa_rbf *f, const float *theta, float *wt);
/* Forward pass at one point: activations into *a, outputs y [channels].
 * sines: RBF_NN x F values sin(phi_k m_c) (circa_rbf__sines). */
void circa_rbf__forward(const circa_rbf *f, const float *theta, const float *wt,
                        const rbf_point *pt, const float *sines, rbf_acts *a, float *y);
void circa_rbf__sines(const circa_rbf *f, const rbf_point *pt, float *sines);

/* rbf_index: nearest kernels */
circa_status circa_rbf__index_build(rbf_index *ix, const float *kc, uint32_t K, uint32_t w,
                                    uint32_t h);
void circa_rbf__index_free(rbf_index *ix);
/* The n (1..4) nearest kernels to (x, y), nearest first, ties by index. */
void circa_rbf__index_query(const rbf_index *ix, const float *kc, float x, float y, unsigned n,
                            uint32_t *out);

/* rbf_file.c: parameter group g (0..RBF_GROUPS-1) is theta[off, off+n). */
#define RBF_GROUPS 10
void circa_rbf__group_span(const circa_rbf *f, int g, size_t *off, size_t *n);
/* The steps circa_rbf_quantise(f, base) uses, one per group. */
void circa_rbf__group_steps(const circa_rbf *f, double base, float *steps);


/* rbf_init.c: centres and shapes from the image (fills cq, sq). */
circa_status circa_rbf__init_kernels(circa_rbf *f, const circa_image *img, uint64_t seed);
void circa_rbf__init_params(circa_rbf *f, uint64_t seed);

/* rbf_train.c: loss (mean squared error over n points x channels) and its
 * gradient, accumulated into grad (lay.total floats). targets in [0,1]. */
double circa_rbf__loss_grad(const circa_rbf *f, const float *theta, size_t n, const float *xy,
                            const float *targets, float *grad);
/* The fit's pieces for another gradient (cuda/rbf_host.c): circa_rbf_fit
 * up to the first step (checks, kernel count, initial field), the batch size
 * and each step's batch, and the cosine factor of the learning rates. */
circa_status circa_rbf__fit_begin(const circa_image *img, const circa_rbf_config *cfg,
                                  circa_rbf **out);
size_t circa_rbf__batch_size(size_t n, const circa_rbf_config *cfg);
void circa_rbf__pick_batch(size_t n, size_t bsize, uint64_t seed, unsigned step, uint32_t *batch);
double circa_rbf__lr_factor(unsigned s, unsigned steps);
/* adam_step's L1 term covers theta[0, circa_rbf__l1_end(f)): the kernel
 * weights (lay.lc is 0). */
size_t circa_rbf__l1_end(const circa_rbf *f);
/* Training robust to rounding, after a fit (rbf_train.c; rbf_codec.c). */
circa_status circa_rbf__refine_noisy(circa_rbf *f, const circa_image *img, const circa_rbf_config *cfg,
                                     const float *steps, unsigned nsteps, double lr_scale);

/* A small deterministic generator (splitmix64). */
static inline uint64_t rbf_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline double rbf_rand_unit(uint64_t *s) { return (double)(rbf_rand(s) >> 11) * 0x1p-53; }

#endif
