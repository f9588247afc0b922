/* nn_conv.c: conv1d and transposed conv1d, forward and backward, split over
 * pthreads. 1x1 convs, other convs with several inputs per group (through
 * im2col) and transposed convs run as register-blocked matrix products;
 * depthwise convs as fused row loops; the plain row loops remain for the
 * rest and as the fallback when scratch memory cannot be had. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "circa/nn.h"
#include "nn_hot.h"

/* ---- a tiny parallel-for -------------------------------------------------- */
typedef void (*row_fn)(const void *ctx, int row);

typedef struct job {
    row_fn fn;
    const void *ctx;
    int lo, hi;
} job;

static void *run_job(void *arg) {
    const job *j = arg;
    for (int r = j->lo; r < j->hi; r++) j->fn(j->ctx, r);
    return NULL;
}

/* Runs fn over rows [0, rows). Each row writes only its own outputs, so
 * the split is race-free and the result independent of `threads`. Threads
 * are only worth starting when the work (`cost` multiply-adds) is large. */
static circa_status parallel_rows(row_fn fn, const void *ctx, int rows, unsigned threads,
                                  double cost) {
    enum { MAX_T = 64 };
    unsigned nt = threads > MAX_T ? MAX_T : threads;
    if (nt > (unsigned)rows) nt = (unsigned)rows;
    if (cost < 2e5) nt = 1;
    if (nt <= 1) {
        for (int r = 0; r < rows; r++) fn(ctx, r);
        return CIRCA_OK;
    }
    pthread_t tid[MAX_T];
    job jobs[MAX_T];
    unsigned started = 0;
    for (unsigned i = 0; i < nt; i++) {
        jobs[i] = (job){fn, ctx, (int)((long)rows * i / nt), (int)((long)rows * (i + 1) / nt)};
        if (i == 0) continue; /* the caller's thread runs job 0 */
        if (pthread_create(&tid[i], NULL, run_job, &jobs[i]) != 0) break;
        started = i;
    }
    run_job(&jobs[0]);
    for (unsigned i = 1; i <= started; i++) pthread_join(tid[i], NULL);
    /* A thread that could not start: run its rows here instead of failing. */
    for (unsigned i = started + 1; i < nt; i++) run_job(&jobs[i]);
    return CIRCA_OK;
}

/* sum a[i*stride] * b[i]: eight running sums, so gcc can vectorise a
 * reduction it may not reorder itself (no -ffast-math); the order is fixed,
 * so results do not depend on threads. */
static float dot(const float *restrict a, int stride, const float *restrict b, int n) {
    float acc[8] = {0};
    int i = 0;
    if (stride == 1)
        for (; i + 8 <= n; i += 8)
            for (int l = 0; l < 8; l++) acc[l] += a[i + l] * b[i + l];
    for (; i < n; i++) acc[i & 7] += a[(long)i * stride] * b[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* ---- blocked kernels ----------------------------------------------------------
 * A 1x1 conv is a matrix product per batch item: y_b [cout x T] = W [cout x cin]
 * x_b [cin x T] (+ bias); its input gradient is dx_b += W^T dy_b, and its weight
 * gradient dW += dy_b x_b^T. The kernels below hold a tile of outputs in
 * registers (4 rows x 8 frames for the products, 4 x 2 eight-lane dot products
 * for dW), so each loaded input feeds several multiply-adds; the inner loops
 * run over contiguous frames.
 *
 * Arithmetic order is fixed and is the plain loops' order (the vector lanes
 * are independent frames; no sum is reassociated): every output element is
 *   c = init; for each group of four k: c += (a0*b0 + a1*b1) + (a2*b2 + a3*b3);
 *   then c += a*b for the last K % 4,
 * which is axpy_rows' order, and every dW element is dot()'s eight running
 * sums over t = lane mod 8, reduced pairwise. Scalar tails use the same
 * expressions, so results do not depend on where a tile starts, on the
 * instruction set (target_clones: AVX-512, AVX2 or SSE2 code, chosen at run
 * time, all without FMA since the project builds with -ffp-contract=off) or
 * on the thread count. */
typedef float v8 __attribute__((vector_size(32)));
/* v8 values never cross a call boundary (the helpers are always inlined), so
 * gcc's note that their ABI differs with and without AVX does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"

static inline __attribute__((always_inline)) v8 ld8(const float *p) {
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}
/* Stores a v8 variable (a macro: a v8 passed by value draws ABI notes). */
#define st8(p, v) memcpy((p), &(v), sizeof(v8))

/* c[m][0..n) = init + sum_k a[m*lda + k] * b[k*ldb + 0..n) for m < mr (1..4),
 * in the order above; init is c[m][t] itself (a gradient so far) when `set`
 * is NULL, else set[m] (a bias, or 0). */
NN_HOT static void gemm_rows(int mr, int K, int n, const float *restrict a, size_t lda,
                             const float *restrict b, size_t ldb, float *restrict c,
                             size_t ldc, const float *set) {
#define INIT(m, t)                                                                          \
    (set ? (v8){set[m], set[m], set[m], set[m], set[m], set[m], set[m], set[m]}              \
         : ld8(c + (m) * ldc + (t)))
    int t = 0;
    if (mr == 4) {
        const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
        for (; t + 8 <= n; t += 8) {
            v8 c0 = INIT(0, t), c1 = INIT(1, t), c2 = INIT(2, t), c3 = INIT(3, t);
            const float *bp = b + t;
            int k = 0;
            for (; k + 4 <= K; k += 4, bp += 4 * ldb) {
                v8 x0 = ld8(bp), x1 = ld8(bp + ldb), x2 = ld8(bp + 2 * ldb), x3 = ld8(bp + 3 * ldb);
                c0 += (a0[k] * x0 + a0[k + 1] * x1) + (a0[k + 2] * x2 + a0[k + 3] * x3);
                c1 += (a1[k] * x0 + a1[k + 1] * x1) + (a1[k + 2] * x2 + a1[k + 3] * x3);
                c2 += (a2[k] * x0 + a2[k + 1] * x1) + (a2[k + 2] * x2 + a2[k + 3] * x3);
                c3 += (a3[k] * x0 + a3[k + 1] * x1) + (a3[k + 2] * x2 + a3[k + 3] * x3);
            }
            for (; k < K; k++, bp += ldb) {
                v8 x0 = ld8(bp);
                c0 += a0[k] * x0;
                c1 += a1[k] * x0;
                c2 += a2[k] * x0;
                c3 += a3[k] * x0;
            }
            st8(c + t, c0), st8(c + ldc + t, c1);
            st8(c + 2 * ldc + t, c2), st8(c + 3 * ldc + t, c3);
        }
    } else {
        for (; t + 8 <= n; t += 8)
            for (int m = 0; m < mr; m++) {
                const float *am = a + m * lda, *bp = b + t;
                v8 c0 = INIT(m, t);
                int k = 0;
                for (; k + 4 <= K; k += 4, bp += 4 * ldb)
                    c0 += (am[k] * ld8(bp) + am[k + 1] * ld8(bp + ldb)) +
                          (am[k + 2] * ld8(bp + 2 * ldb) + am[k + 3] * ld8(bp + 3 * ldb));
                for (; k < K; k++, bp += ldb) c0 += am[k] * ld8(bp);
                st8(c + m * ldc + t, c0);
            }
    }
    for (; t < n; t++) /* the last n % 8 frames, element by element */
        for (int m = 0; m < mr; m++) {
            const float *am = a + m * lda, *bp = b + t;
            float cv = set ? set[m] : c[m * ldc + t];
            int k = 0;
            for (; k + 4 <= K; k += 4, bp += 4 * ldb)
                cv += (am[k] * bp[0] + am[k + 1] * bp[ldb]) +
                      (am[k + 2] * bp[2 * ldb] + am[k + 3] * bp[3 * ldb]);
            for (; k < K; k++, bp += ldb) cv += am[k] * bp[0];
            c[m * ldc + t] = cv;
        }
}
#undef INIT

/* Eight-lane partial dot products for an mr x nr tile (mr 1..4, nr 1..2) over
 * n frames (a multiple of 8): lanes[m][i][l] += sum over t = l mod 8 of
 * p_m[t] q_i[t], p rows at p + m*ldp, q rows at q + i*ldq; lanes for (m, i)
 * at lanes + (m*lstride + i)*8. Called chunk after chunk, it accumulates
 * exactly as one pass over all frames would. */
NN_HOT static void gemm_abt(int mr, int nr, int n, const float *restrict p, size_t ldp,
                            const float *restrict q, size_t ldq, float *restrict lanes,
                            size_t lstride) {
#define LANES(m, i) (lanes + ((size_t)(m) * lstride + (i)) * 8)
    if (mr == 4 && nr == 2) {
        v8 s00 = ld8(LANES(0, 0)), s01 = ld8(LANES(0, 1)), s10 = ld8(LANES(1, 0)),
           s11 = ld8(LANES(1, 1)), s20 = ld8(LANES(2, 0)), s21 = ld8(LANES(2, 1)),
           s30 = ld8(LANES(3, 0)), s31 = ld8(LANES(3, 1));
        for (int t = 0; t < n; t += 8) {
            v8 q0 = ld8(q + t), q1 = ld8(q + ldq + t), pm;
            pm = ld8(p + t), s00 += pm * q0, s01 += pm * q1;
            pm = ld8(p + ldp + t), s10 += pm * q0, s11 += pm * q1;
            pm = ld8(p + 2 * ldp + t), s20 += pm * q0, s21 += pm * q1;
            pm = ld8(p + 3 * ldp + t), s30 += pm * q0, s31 += pm * q1;
        }
        st8(LANES(0, 0), s00), st8(LANES(0, 1), s01), st8(LANES(1, 0), s10), st8(LANES(1, 1), s11);
        st8(LANES(2, 0), s20), st8(LANES(2, 1), s21), st8(LANES(3, 0), s30), st8(LANES(3, 1), s31);
        return;
    }
    for (int m = 0; m < mr; m++)
        for (int i = 0; i < nr; i++) {
            v8 acc = ld8(LANES(m, i));
            for (int t = 0; t < n; t += 8) acc += ld8(p + m * ldp + t) * ld8(q + i * ldq + t);
            st8(LANES(m, i), acc);
        }
#undef LANES
}

static inline __attribute__((always_inline)) float reduce8(const float *acc) {
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* sum of n floats in dot()'s eight-lane order. */
static float sum8(const float *x, int n) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += x[i + l];
    for (; i < n; i++) acc[i & 7] += x[i];
    return reduce8(acc);
}

/* ---- conv1d ----------------------------------------------------------------- */
int circa_nn_conv1d_out_len(const circa_nn_conv1d *c, int tin) {
    if (!c || c->cin <= 0 || c->cout <= 0 || c->k <= 0 || c->stride <= 0 || c->dilation <= 0 ||
        c->pad_left < 0 || c->pad_right < 0 || c->groups <= 0 || c->cin % c->groups ||
        c->cout % c->groups || tin <= 0)
        return 0;
    long span = (long)c->dilation * (c->k - 1) + 1;
    long padded = (long)tin + c->pad_left + c->pad_right;
    if (padded < span) return 0;
    return (int)((padded - span) / c->stride + 1);
}

/* The output frames t in [*t0, *t1) whose input index t*s + off lies in [0, tin). */
static void valid_range(long off, int s, int tin, int tout, int *t0, int *t1) {
    long lo = off < 0 ? (-off + s - 1) / s : 0;
    long hi = (long)tin - 1 - off < 0 ? 0 : ((long)tin - 1 - off) / s + 1;
    if (hi > tout) hi = tout;
    if (lo > hi) lo = hi;
    *t0 = (int)lo;
    *t1 = (int)hi;
}

typedef struct conv_ctx {
    const circa_nn_conv1d *c;
    int batch, tin, tout;
    const float *x, *w, *bias, *dy;
    float *y, *dx, *dw, *db;
} conv_ctx;

/* y[0..n) += sum_{r<m} w[r*ws] * x_r[0..n), x_r = x + r*xs: four sources per
 * pass, so y is loaded and stored a quarter as often (the pointwise convs,
 * which are most of a TCN's work, are bound by that traffic). */
static void axpy_rows(float *restrict y, int n, const float *restrict x, size_t xs,
                      const float *w, size_t ws, int m) {
    int r = 0;
    for (; r + 4 <= m; r += 4) {
        const float *restrict x0 = x + r * xs, *restrict x1 = x0 + xs, *restrict x2 = x1 + xs,
                    *restrict x3 = x2 + xs;
        float w0 = w[r * ws], w1 = w[(r + 1) * ws], w2 = w[(r + 2) * ws], w3 = w[(r + 3) * ws];
        for (int t = 0; t < n; t++) y[t] += (w0 * x0[t] + w1 * x1[t]) + (w2 * x2[t] + w3 * x3[t]);
    }
    for (; r < m; r++) {
        const float *restrict xr = x + r * xs;
        float wr = w[r * ws];
        for (int t = 0; t < n; t++) y[t] += wr * xr[t];
    }
}

static int is_pointwise(const circa_nn_conv1d *c) {
    return c->k == 1 && c->stride == 1 && c->pad_left == 0 && c->pad_right == 0;
}

/* y[b][o][:] for row = b*cout + o. */
static void conv_fwd_row(const void *vctx, int row) {
    const conv_ctx *k = vctx;
    const circa_nn_conv1d *c = k->c;
    int b = row / c->cout, o = row % c->cout;
    int cig = c->cin / c->groups, cog = c->cout / c->groups, g = o / cog;
    float *restrict y = k->y + (size_t)row * k->tout;
    float b0 = k->bias ? k->bias[o] : 0.0f;
    for (int t = 0; t < k->tout; t++) y[t] = b0;
    if (is_pointwise(c)) {
        axpy_rows(y, k->tout, k->x + ((size_t)b * c->cin + (size_t)g * cig) * k->tin, (size_t)k->tin,
                  k->w + (size_t)o * cig, 1, cig);
        return;
    }
    for (int i = 0; i < cig; i++) {
        const float *restrict x = k->x + ((size_t)b * c->cin + (size_t)g * cig + i) * k->tin;
        const float *wr = k->w + ((size_t)o * cig + i) * c->k;
        for (int j = 0; j < c->k; j++) {
            long off = (long)j * c->dilation - c->pad_left;
            int t0, t1;
            valid_range(off, c->stride, k->tin, k->tout, &t0, &t1);
            float wv = wr[j];
            if (c->stride == 1) { /* the common case: a contiguous axpy gcc vectorises */
                const float *restrict xs = x + off;
                for (int t = t0; t < t1; t++) y[t] += wv * xs[t];
            } else {
                for (int t = t0; t < t1; t++) y[t] += wv * x[(long)t * c->stride + off];
            }
        }
    }
}

/* dx[b][i][:] for row = b*cin + i: gathers from every output of its group. */
static void conv_bwd_x_row(const void *vctx, int row) {
    const conv_ctx *k = vctx;
    const circa_nn_conv1d *c = k->c;
    int b = row / c->cin, i = row % c->cin;
    int cig = c->cin / c->groups, cog = c->cout / c->groups, g = i / cig, il = i % cig;
    float *restrict dx = k->dx + (size_t)row * k->tin;
    if (is_pointwise(c)) { /* dx_i += sum_o w[o][i] dy_o */
        axpy_rows(dx, k->tin, k->dy + ((size_t)b * c->cout + (size_t)g * cog) * k->tout,
                  (size_t)k->tout, k->w + (size_t)g * cog * cig + il, (size_t)cig, cog);
        return;
    }
    for (int ol = 0; ol < cog; ol++) {
        int o = g * cog + ol;
        const float *restrict dy = k->dy + ((size_t)b * c->cout + o) * k->tout;
        const float *wr = k->w + ((size_t)o * cig + il) * c->k;
        for (int j = 0; j < c->k; j++) {
            long off = (long)j * c->dilation - c->pad_left;
            int t0, t1;
            valid_range(off, c->stride, k->tin, k->tout, &t0, &t1);
            float wv = wr[j];
            if (c->stride == 1) {
                float *restrict dxs = dx + off;
                for (int t = t0; t < t1; t++) dxs[t] += wv * dy[t];
            } else {
                for (int t = t0; t < t1; t++) dx[(long)t * c->stride + off] += wv * dy[t];
            }
        }
    }
}

/* dw[o][:][:] and db[o] for row = o: sums over the batch. */
static void conv_bwd_w_row(const void *vctx, int o) {
    const conv_ctx *k = vctx;
    const circa_nn_conv1d *c = k->c;
    int cig = c->cin / c->groups, cog = c->cout / c->groups, g = o / cog;
    for (int b = 0; b < k->batch; b++) {
        const float *restrict dy = k->dy + ((size_t)b * c->cout + o) * k->tout;
        if (k->db) k->db[o] += sum8(dy, k->tout);
        if (!k->dw) continue;
        for (int i = 0; i < cig; i++) {
            const float *restrict x = k->x + ((size_t)b * c->cin + (size_t)g * cig + i) * k->tin;
            float *dwr = k->dw + ((size_t)o * cig + i) * c->k;
            for (int j = 0; j < c->k; j++) {
                long off = (long)j * c->dilation - c->pad_left;
                int t0, t1;
                valid_range(off, c->stride, k->tin, k->tout, &t0, &t1);
                if (t1 > t0) dwr[j] += dot(x + (long)t0 * c->stride + off, c->stride, dy + t0, t1 - t0);
            }
        }
    }
}

/* ---- depthwise convs (one input and one output channel per group) ----------------
 * Stride 1: one pass per row. Where every tap is inside the input (all but
 * a few frames at the ends) the taps are summed in one expression, in tap
 * order; the ends go element by element. Each element sees the same
 * operations in the same order as conv_fwd_row / conv_bwd_x_row (bias, then
 * tap 0, 1, ... where valid), so the numbers are theirs. */
static int is_depthwise(const circa_nn_conv1d *c) {
    return c->groups == c->cin && c->groups == c->cout && c->stride == 1;
}

static void dw_fwd_row(const void *vctx, int row) {
    const conv_ctx *k = vctx;
    const circa_nn_conv1d *c = k->c;
    int o = row % c->cout, K = c->k, tin = k->tin, tout = k->tout;
    const float *restrict x = k->x + (size_t)row * tin, *w = k->w + (size_t)o * K;
    float *restrict y = k->y + (size_t)row * tout;
    float b0 = k->bias ? k->bias[o] : 0.0f;
    long d = c->dilation, pl = c->pad_left;
    /* interior: t - pl >= 0 and t - pl + (K-1)d < tin */
    long lo = pl, hi = (long)tin - (K - 1) * d + pl;
    if (hi > tout) hi = tout;
    if (lo >= hi) lo = hi = tout; /* no interior: every frame the slow way */
    for (long t = 0; t < tout; t++) {
        if (t == lo) { /* the interior */
            const float *restrict x0 = x + lo - pl;
            long n = hi - lo;
            if (K == 3) {
                float w0 = w[0], w1 = w[1], w2 = w[2];
                const float *restrict x1 = x0 + d, *restrict x2 = x0 + 2 * d;
                for (long u = 0; u < n; u++)
                    y[lo + u] = ((b0 + w0 * x0[u]) + w1 * x1[u]) + w2 * x2[u];
            } else {
                for (long u = 0; u < n; u++) y[lo + u] = b0;
                for (int j = 0; j < K; j++) {
                    const float *restrict xj = x0 + j * d;
                    float wj = w[j];
                    for (long u = 0; u < n; u++) y[lo + u] += wj * xj[u];
                }
            }
            t = hi - 1;
            continue;
        }
        float acc = b0;
        for (int j = 0; j < K; j++) {
            long p = t + j * d - pl;
            if (p >= 0 && p < tin) acc += w[j] * x[p];
        }
        y[t] = acc;
    }
}

static void dw_dx_row(const void *vctx, int row) {
    const conv_ctx *k = vctx;
    const circa_nn_conv1d *c = k->c;
    int i = row % c->cin, K = c->k, tin = k->tin, tout = k->tout;
    const float *restrict dy = k->dy + (size_t)row * tout, *w = k->w + (size_t)i * K;
    float *restrict dx = k->dx + (size_t)row * tin;
    long d = c->dilation, pl = c->pad_left;
    /* dx[s] gets tap j from dy[s + pl - j*d]; interior: every tap in [0, tout) */
    long lo = (K - 1) * d - pl, hi = tout - pl;
    if (lo < 0) lo = 0;
    if (hi > tin) hi = tin;
    if (lo >= hi) lo = hi = tin;
    for (long s = 0; s < tin; s++) {
        if (s == lo) {
            const float *restrict d0 = dy + lo + pl;
            long n = hi - lo;
            if (K == 3) {
                float w0 = w[0], w1 = w[1], w2 = w[2];
                const float *restrict d1 = d0 - d, *restrict d2 = d0 - 2 * d;
                for (long u = 0; u < n; u++)
                    dx[lo + u] = ((dx[lo + u] + w0 * d0[u]) + w1 * d1[u]) + w2 * d2[u];
            } else {
                for (int j = 0; j < K; j++) {
                    const float *restrict dj = d0 - j * d;
                    float wj = w[j];
                    for (long u = 0; u < n; u++) dx[lo + u] += wj * dj[u];
                }
            }
            s = hi - 1;
            continue;
        }
        float acc = dx[s];
        for (int j = 0; j < K; j++) {
            long t = s + pl - j * d;
            if (t >= 0 && t < tout) acc += w[j] * dy[t];
        }
        dx[s] = acc;
    }
}

/* ---- convs as blocked matrix products ------------------------------------------
 * Per batch item and group, C [M x T] (=|+=) A [M x K] B [K x T] (mm_task), and
 * dW [M x N] += P [M x T] Q [N x T]^T (abt_task). A 1x1 conv is this directly
 * (B = x, or dy for dx). Other convs with several inputs per output (not
 * depthwise; use_products) run on B = im2col(x): [cin*k][tout], row i*k + j
 * holding x[i][t*stride + j*dilation - pad_left] or 0, whose weight
 * [cout][cin/groups][k] is already A; their dx keeps the row loops. A
 * transposed conv is one product into per-tap rows and an overlap-add (see
 * there). */
enum { MM_CHUNK = 256, MM_SUB = 64 };

typedef struct mm_ctx {
    int T, M, K, groups, nchunk; /* M, K: totals over groups */
    const float *a;              /* row m at a + m*lda, K/groups wide */
    size_t lda;
    const float *b; /* item bi: rows at b + bi*bstride + k*T */
    size_t bstride;
    float *c; /* item bi: rows at c + bi*cstride + m*T */
    size_t cstride;
    int init;           /* 1: C = bias (or 0) + AB; 0: C += AB */
    const float *bias;  /* may be NULL */
} mm_ctx;

/* One task: MM_CHUNK frames of one batch item, all rows; MM_SUB frames at a
 * time, so the B rows stay in L1 while every C row is formed. */
static void mm_task(const void *vctx, int row) {
    const mm_ctx *k = vctx;
    int T = k->T, bi = row / k->nchunk, t0 = (row % k->nchunk) * MM_CHUNK;
    int n = T - t0 < MM_CHUNK ? T - t0 : MM_CHUNK;
    int mg = k->M / k->groups, kg = k->K / k->groups;
    float *c = k->c + (size_t)bi * k->cstride + t0;
    const float *b = k->b + (size_t)bi * k->bstride + t0;
    float zero[4] = {0, 0, 0, 0};
    for (int s = 0; s < n; s += MM_SUB) {
        int ns = n - s < MM_SUB ? n - s : MM_SUB;
        for (int g = 0; g < k->groups; g++)
            for (int ml = 0; ml < mg; ml += 4) {
                int m = g * mg + ml, mr = mg - ml < 4 ? mg - ml : 4;
                gemm_rows(mr, kg, ns, k->a + (size_t)m * k->lda, k->lda,
                          b + (size_t)g * kg * T + s, (size_t)T, c + (size_t)m * T + s, (size_t)T,
                          !k->init ? NULL : k->bias ? k->bias + m : zero);
            }
    }
}

static circa_status mm_run(mm_ctx *k, int batch, unsigned threads, double cost) {
    k->nchunk = (k->T + MM_CHUNK - 1) / MM_CHUNK;
    return parallel_rows(mm_task, k, batch * k->nchunk, threads, cost);
}

typedef struct abt_ctx {
    int batch, T, M, N, groups;
    const float *p; /* item bi: rows at p + bi*pstride + m*T */
    size_t pstride;
    const float *q; /* item bi: rows at q + bi*qstride + n*T */
    size_t qstride;
    float *dw; /* row m (global), column n (within its group) */
    size_t ldw;
    float *db; /* may be NULL: db[m] += sum of P's row m */
} abt_ctx;

/* Four rows of dW in one group, row = g*ceil(M/groups/4) + block: sums over
 * the batch in order, one dot() per item (eight lanes over t = lane mod 8,
 * reduced pairwise), as conv_bwd_w_row does. The lanes of ABT_NB columns
 * at a time live in a small stack buffer, and the frames go through in
 * chunks of ABT_CHUNK (smaller chunks, to keep P in L1, measured no faster
 * here: the L2 keeps up). */
enum { ABT_CHUNK = 2048, ABT_NB = 64 };

static void abt_task(const void *vctx, int row) {
    const abt_ctx *k = vctx;
    int T = k->T, T8 = T & ~7, mg = k->M / k->groups, ng = k->N / k->groups;
    int nb = (mg + 3) / 4, g = row / nb, ml = (row % nb) * 4, m = g * mg + ml;
    int mr = mg - ml < 4 ? mg - ml : 4;
    float lanes[4 * ABT_NB * 8];
    for (int bi = 0; bi < k->batch; bi++) {
        const float *p = k->p + (size_t)bi * k->pstride + (size_t)m * T;
        if (k->db)
            for (int r = 0; r < mr; r++) k->db[m + r] += sum8(p + (size_t)r * T, T);
        if (!k->dw) continue;
        const float *q = k->q + (size_t)bi * k->qstride + (size_t)g * ng * T;
        for (int n0 = 0; n0 < ng; n0 += ABT_NB) {
            int nn = ng - n0 < ABT_NB ? ng - n0 : ABT_NB;
            memset(lanes, 0, sizeof lanes);
            for (int t0 = 0; t0 < T8; t0 += ABT_CHUNK) {
                int len = T8 - t0 < ABT_CHUNK ? T8 - t0 : ABT_CHUNK;
                for (int n = 0; n < nn; n += 2)
                    gemm_abt(mr, nn - n < 2 ? 1 : 2, len, p + t0, (size_t)T,
                             q + (size_t)(n0 + n) * T + t0, (size_t)T, lanes + (size_t)n * 8, ABT_NB);
            }
            for (int r = 0; r < mr; r++)
                for (int n = 0; n < nn; n++) {
                    float *l = lanes + ((size_t)r * ABT_NB + n) * 8;
                    const float *pr = p + (size_t)r * T, *qn = q + (size_t)(n0 + n) * T;
                    for (int u = T8; u < T; u++) l[u & 7] += pr[u] * qn[u];
                    k->dw[(size_t)(m + r) * k->ldw + n0 + n] += reduce8(l);
                }
        }
    }
}

static circa_status abt_run(abt_ctx *k, unsigned threads, double cost) {
    return parallel_rows(abt_task, k, k->groups * ((k->M / k->groups + 3) / 4), threads, cost);
}

/* Scratch of n floats: the caller's stack buffer of SCRATCH_STACK floats when
 * that is enough, else malloc (NULL when that fails). Small calls, such as
 * the streaming model's one-frame encoder and decoder, allocate nothing. */
enum { SCRATCH_STACK = 2048 };

static float *scratch_get(size_t n, float *stack) {
    return n <= SCRATCH_STACK ? stack : malloc(n * sizeof(float));
}

static void scratch_put(float *p, const float *stack) {
    if (p != stack) free(p);
}

/* im2col of x [batch][cin][tin] for conv c: [batch][cin*k][tout], in scratch
 * (see scratch_get); NULL when there is no memory (callers then use the row
 * loops). */
static float *im2col(const circa_nn_conv1d *c, int batch, int tin, int tout, const float *x,
                     float *stack) {
    size_t rows = (size_t)c->cin * c->k;
    float *col = scratch_get((size_t)batch * rows * tout, stack);
    if (!col) return NULL;
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < c->cin; i++) {
            const float *xr = x + ((size_t)b * c->cin + i) * tin;
            for (int j = 0; j < c->k; j++) {
                float *r = col + ((size_t)b * rows + (size_t)i * c->k + j) * tout;
                long off = (long)j * c->dilation - c->pad_left;
                int t0, t1;
                valid_range(off, c->stride, tin, tout, &t0, &t1);
                for (int t = 0; t < t0; t++) r[t] = 0;
                for (int t = t0; t < t1; t++) r[t] = xr[(long)t * c->stride + off];
                for (int t = t1; t < tout; t++) r[t] = 0;
            }
        }
    return col;
}

/* Depthwise convs keep their fused row loops, and so do convs with fewer
 * than four inputs per output (cin/groups * k): a product would be all tail. */
static int use_products(const circa_nn_conv1d *c) {
    return is_pointwise(c) || (!is_depthwise(c) && (c->cin / c->groups) * c->k >= 4);
}

circa_status circa_nn_conv1d_forward(const circa_nn_conv1d *c, int batch, int tin,
                                     const float *x, const float *w, const float *bias,
                                     float *y) {
    int tout = circa_nn_conv1d_out_len(c, tin);
    if (!tout || batch <= 0 || !x || !w || !y) return CIRCA_E_PARAM;
    conv_ctx k = {c, batch, tin, tout, x, w, bias, NULL, y, NULL, NULL, NULL};
    double cost = (double)batch * c->cout * (c->cin / c->groups) * c->k * tout;
    if (use_products(c)) {
        size_t K = (size_t)c->cin * c->k;
        float stack[SCRATCH_STACK];
        float *col = is_pointwise(c) ? NULL : im2col(c, batch, tin, tout, x, stack);
        if (is_pointwise(c) || col) {
            mm_ctx m = {tout, c->cout, (int)K, c->groups, 0, w, K / c->groups,
                        col ? col : x, K * tout, y, (size_t)c->cout * tout, 1, bias};
            circa_status st = mm_run(&m, batch, c->threads, cost);
            if (col) scratch_put(col, stack);
            return st;
        }
    }
    return parallel_rows(is_depthwise(c) ? dw_fwd_row : conv_fwd_row, &k, batch * c->cout,
                         c->threads, cost);
}

circa_status circa_nn_conv1d_backward(const circa_nn_conv1d *c, int batch, int tin,
                                      const float *x, const float *w, const float *dy,
                                      float *dx, float *dw, float *db) {
    int tout = circa_nn_conv1d_out_len(c, tin);
    if (!tout || batch <= 0 || !dy || (dx && !w) || (dw && !x)) return CIRCA_E_PARAM;
    conv_ctx k = {c, batch, tin, tout, x, w, NULL, dy, NULL, dx, dw, db};
    double cost = (double)batch * c->cout * (c->cin / c->groups) * c->k * tout;
    int cig = c->cin / c->groups, cog = c->cout / c->groups;
    circa_status st = CIRCA_OK;
    float stack[SCRATCH_STACK], *wt = NULL;
    if (dx && is_pointwise(c) && (wt = scratch_get((size_t)c->cin * cog, stack))) {
        /* dx_b += W^T dy_b, with W^T per group [cin/groups][cout/groups] */
        for (int g = 0; g < c->groups; g++)
            for (int il = 0; il < cig; il++)
                for (int ol = 0; ol < cog; ol++)
                    wt[((size_t)g * cig + il) * cog + ol] = w[((size_t)g * cog + ol) * cig + il];
        mm_ctx m = {tout, c->cin, c->cout, c->groups, 0, wt, (size_t)cog,
                    dy, (size_t)c->cout * tout, dx, (size_t)c->cin * tin, 0, NULL};
        st = mm_run(&m, batch, c->threads, cost);
        scratch_put(wt, stack);
    } else if (dx) { /* other convs, or no memory: the row loops */
        st = parallel_rows(is_depthwise(c) ? dw_dx_row : conv_bwd_x_row, &k, batch * c->cin,
                           c->threads, cost);
    }
    if (st != CIRCA_OK || !(dw || db)) return st;
    if (use_products(c)) {
        size_t K = (size_t)c->cin * c->k;
        float *col = is_pointwise(c) || !dw ? NULL : im2col(c, batch, tin, tout, x, stack);
        if (is_pointwise(c) || !dw || col) {
            abt_ctx a = {batch, tout, c->cout, (int)K, c->groups, dy, (size_t)c->cout * tout,
                         col ? col : x, K * tout, dw, K / c->groups, db};
            st = abt_run(&a, c->threads, cost);
            if (col) scratch_put(col, stack);
            return st;
        }
    }
    return parallel_rows(conv_bwd_w_row, &k, c->cout, c->threads, cost);
}

/* ---- transposed conv1d ------------------------------------------------------ */
int circa_nn_tconv1d_out_len(const circa_nn_tconv1d *c, int tin) {
    if (!c || c->cin <= 0 || c->cout <= 0 || c->k <= 0 || c->stride <= 0 || tin <= 0) return 0;
    long n = (long)(tin - 1) * c->stride + c->k;
    return n > 0x7fffffffL ? 0 : (int)n;
}

typedef struct tconv_ctx {
    const circa_nn_tconv1d *c;
    int batch, tin, tout;
    const float *x, *w, *bias, *dy;
    float *y, *dx, *dw, *db;
} tconv_ctx;

/* y[b][o][:] for row = b*cout + o: overlap-adds every input channel. */
static void tconv_fwd_row(const void *vctx, int row) {
    const tconv_ctx *k = vctx;
    const circa_nn_tconv1d *c = k->c;
    int b = row / c->cout, o = row % c->cout;
    float *restrict y = k->y + (size_t)row * k->tout;
    float b0 = k->bias ? k->bias[o] : 0.0f;
    for (int t = 0; t < k->tout; t++) y[t] = b0;
    for (int i = 0; i < c->cin; i++) {
        const float *restrict x = k->x + ((size_t)b * c->cin + i) * k->tin;
        const float *wr = k->w + ((size_t)i * c->cout + o) * c->k;
        for (int t = 0; t < k->tin; t++) {
            float xv = x[t];
            float *restrict ys = y + (size_t)t * c->stride;
            for (int j = 0; j < c->k; j++) ys[j] += wr[j] * xv;
        }
    }
}

static void tconv_bwd_x_row(const void *vctx, int row) {
    const tconv_ctx *k = vctx;
    const circa_nn_tconv1d *c = k->c;
    int b = row / c->cin, i = row % c->cin;
    float *restrict dx = k->dx + (size_t)row * k->tin;
    for (int o = 0; o < c->cout; o++) {
        const float *restrict dy = k->dy + ((size_t)b * c->cout + o) * k->tout;
        const float *wr = k->w + ((size_t)i * c->cout + o) * c->k;
        for (int t = 0; t < k->tin; t++) {
            const float *restrict ds = dy + (size_t)t * c->stride;
            float s = 0;
            for (int j = 0; j < c->k; j++) s += wr[j] * ds[j];
            dx[t] += s;
        }
    }
}

/* dw[i][:][:] for row = i; db is done by row 0 (cheap). */
static void tconv_bwd_w_row(const void *vctx, int i) {
    const tconv_ctx *k = vctx;
    const circa_nn_tconv1d *c = k->c;
    for (int b = 0; b < k->batch; b++) {
        const float *restrict x = k->x + ((size_t)b * c->cin + i) * k->tin;
        for (int o = 0; o < c->cout && k->dw; o++) {
            const float *restrict dy = k->dy + ((size_t)b * c->cout + o) * k->tout;
            float *restrict dwr = k->dw + ((size_t)i * c->cout + o) * c->k;
            for (int t = 0; t < k->tin; t++) {
                float xv = x[t];
                const float *restrict ds = dy + (size_t)t * c->stride;
                for (int j = 0; j < c->k; j++) dwr[j] += xv * ds[j];
            }
        }
        if (i == 0 && k->db) {
            for (int o = 0; o < c->cout; o++) k->db[o] += sum8(k->dy + ((size_t)b * c->cout + o) * k->tout, k->tout);
        }
    }
}

/* The products: per tap rows ycol [batch][cout*k][tin] = W' x with W'[(o,j)][i]
 * = w[i][o][j], then y[o][t*stride + j] = bias[o] + the ycol[(o,j)][t], in
 * order of j, then t (overlap-add). Backward gathers dycol[(o,j)][t] =
 * dy[o][t*stride + j]: dx = w dycol (w is [cin][cout*k] as it lies) and
 * dw += x dycol^T. */
typedef struct ola_ctx {
    const circa_nn_tconv1d *c;
    int tin, tout;
    const float *ycol, *bias;
    float *y;
} ola_ctx;

static void tconv_ola_row(const void *vctx, int row) {
    const ola_ctx *k = vctx;
    const circa_nn_tconv1d *c = k->c;
    int o = row % c->cout;
    float *restrict y = k->y + (size_t)row * k->tout;
    float b0 = k->bias ? k->bias[o] : 0.0f;
    for (int t = 0; t < k->tout; t++) y[t] = b0;
    for (int j = 0; j < c->k; j++) {
        const float *restrict r = k->ycol + ((size_t)row * c->k + j) * k->tin;
        float *restrict ys = y + j;
        for (int t = 0; t < k->tin; t++) ys[(size_t)t * c->stride] += r[t];
    }
}

/* dycol for conv c: [batch][cout*k][tin] in scratch, or NULL without memory. */
static float *tconv_gather(const circa_nn_tconv1d *c, int batch, int tin, int tout,
                           const float *dy, float *stack) {
    size_t rows = (size_t)c->cout * c->k;
    float *col = scratch_get((size_t)batch * rows * tin, stack);
    if (!col) return NULL;
    for (int b = 0; b < batch; b++)
        for (int o = 0; o < c->cout; o++) {
            const float *d = dy + ((size_t)b * c->cout + o) * tout;
            for (int j = 0; j < c->k; j++) {
                float *r = col + ((size_t)b * rows + (size_t)o * c->k + j) * tin;
                for (int t = 0; t < tin; t++) r[t] = d[(size_t)t * c->stride + j];
            }
        }
    return col;
}

circa_status circa_nn_tconv1d_forward(const circa_nn_tconv1d *c, int batch, int tin,
                                      const float *x, const float *w, const float *bias,
                                      float *y) {
    int tout = circa_nn_tconv1d_out_len(c, tin);
    if (!tout || batch <= 0 || !x || !w || !y) return CIRCA_E_PARAM;
    tconv_ctx k = {c, batch, tin, tout, x, w, bias, NULL, y, NULL, NULL, NULL};
    double cost = (double)batch * c->cout * c->cin * c->k * tin;
    size_t M = (size_t)c->cout * c->k;
    float stack_w[SCRATCH_STACK], stack_y[SCRATCH_STACK];
    float *wt = scratch_get(M * c->cin, stack_w), *ycol = scratch_get((size_t)batch * M * tin, stack_y);
    circa_status st;
    if (wt && ycol) {
        for (int i = 0; i < c->cin; i++)
            for (size_t oj = 0; oj < M; oj++) wt[oj * c->cin + i] = w[(size_t)i * M + oj];
        mm_ctx m = {tin, (int)M, c->cin, 1, 0, wt, (size_t)c->cin, x, (size_t)c->cin * tin,
                    ycol, M * tin, 1, NULL};
        st = mm_run(&m, batch, c->threads, cost);
        ola_ctx o = {c, tin, tout, ycol, bias, y};
        if (st == CIRCA_OK)
            st = parallel_rows(tconv_ola_row, &o, batch * c->cout, c->threads, (double)batch * M * tin);
    } else { /* no memory: the row loops */
        st = parallel_rows(tconv_fwd_row, &k, batch * c->cout, c->threads, cost);
    }
    if (wt) scratch_put(wt, stack_w);
    if (ycol) scratch_put(ycol, stack_y);
    return st;
}

circa_status circa_nn_tconv1d_backward(const circa_nn_tconv1d *c, int batch, int tin,
                                       const float *x, const float *w, const float *dy,
                                       float *dx, float *dw, float *db) {
    int tout = circa_nn_tconv1d_out_len(c, tin);
    if (!tout || batch <= 0 || !dy || (dx && !w) || (dw && !x)) return CIRCA_E_PARAM;
    tconv_ctx k = {c, batch, tin, tout, x, w, NULL, dy, NULL, dx, dw, db};
    double cost = (double)batch * c->cout * c->cin * c->k * tin;
    circa_status st = CIRCA_OK;
    float stack[SCRATCH_STACK];
    float *col = dx || dw ? tconv_gather(c, batch, tin, tout, dy, stack) : NULL;
    if (col) {
        size_t M = (size_t)c->cout * c->k;
        if (dx) {
            mm_ctx m = {tin, c->cin, (int)M, 1, 0, w, M, col, M * tin, dx, (size_t)c->cin * tin, 0, NULL};
            st = mm_run(&m, batch, c->threads, cost);
        }
        if (dw && st == CIRCA_OK) {
            abt_ctx a = {batch, tin, c->cin, (int)M, 1, x, (size_t)c->cin * tin, col, M * tin, dw, M, NULL};
            st = abt_run(&a, c->threads, cost);
        }
        scratch_put(col, stack);
        for (int b = 0; b < batch && db && st == CIRCA_OK; b++)
            for (int o = 0; o < c->cout; o++) db[o] += sum8(dy + ((size_t)b * c->cout + o) * tout, tout);
        return st;
    }
    if (dx) st = parallel_rows(tconv_bwd_x_row, &k, batch * c->cin, c->threads, cost);
    if (st == CIRCA_OK && (dw || db))
        st = parallel_rows(tconv_bwd_w_row, &k, c->cin, c->threads, cost);
    return st;
}
