/* nn_conv.c: conv1d and transposed conv1d, forward and backward, with rows
 * split over pthreads. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "circa/nn.h"

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
        if (k->db) {
            float s = 0;
            for (int t = 0; t < k->tout; t++) s += dy[t];
            k->db[o] += s;
        }
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

circa_status circa_nn_conv1d_forward(const circa_nn_conv1d *c, int batch, int tin,
                                     const float *x, const float *w, const float *bias,
                                     float *y) {
    int tout = circa_nn_conv1d_out_len(c, tin);
    if (!tout || batch <= 0 || !x || !w || !y) return CIRCA_E_PARAM;
    conv_ctx k = {c, batch, tin, tout, x, w, bias, NULL, y, NULL, NULL, NULL};
    double cost = (double)batch * c->cout * (c->cin / c->groups) * c->k * tout;
    return parallel_rows(conv_fwd_row, &k, batch * c->cout, c->threads, cost);
}

circa_status circa_nn_conv1d_backward(const circa_nn_conv1d *c, int batch, int tin,
                                      const float *x, const float *w, const float *dy,
                                      float *dx, float *dw, float *db) {
    int tout = circa_nn_conv1d_out_len(c, tin);
    if (!tout || batch <= 0 || !dy || (dx && !w) || (dw && !x)) return CIRCA_E_PARAM;
    conv_ctx k = {c, batch, tin, tout, x, w, NULL, dy, NULL, dx, dw, db};
    double cost = (double)batch * c->cout * (c->cin / c->groups) * c->k * tout;
    circa_status st = CIRCA_OK;
    if (dx) st = parallel_rows(conv_bwd_x_row, &k, batch * c->cin, c->threads, cost);
    if (st == CIRCA_OK && (dw || db))
        st = parallel_rows(conv_bwd_w_row, &k, c->cout, c->threads, cost);
    return st;
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
            for (int o = 0; o < c->cout; o++) {
                const float *dy = k->dy + ((size_t)b * c->cout + o) * k->tout;
                float s = 0;
                for (int t = 0; t < k->tout; t++) s += dy[t];
                k->db[o] += s;
            }
        }
    }
}

circa_status circa_nn_tconv1d_forward(const circa_nn_tconv1d *c, int batch, int tin,
                                      const float *x, const float *w, const float *bias,
                                      float *y) {
    int tout = circa_nn_tconv1d_out_len(c, tin);
    if (!tout || batch <= 0 || !x || !w || !y) return CIRCA_E_PARAM;
    tconv_ctx k = {c, batch, tin, tout, x, w, bias, NULL, y, NULL, NULL, NULL};
    double cost = (double)batch * c->cout * c->cin * c->k * tin;
    return parallel_rows(tconv_fwd_row, &k, batch * c->cout, c->threads, cost);
}

circa_status circa_nn_tconv1d_backward(const circa_nn_tconv1d *c, int batch, int tin,
                                       const float *x, const float *w, const float *dy,
                                       float *dx, float *dw, float *db) {
    int tout = circa_nn_tconv1d_out_len(c, tin);
    if (!tout || batch <= 0 || !dy || (dx && !w) || (dw && !x)) return CIRCA_E_PARAM;
    tconv_ctx k = {c, batch, tin, tout, x, w, NULL, dy, NULL, dx, dw, db};
    double cost = (double)batch * c->cout * c->cin * c->k * tin;
    circa_status st = CIRCA_OK;
    if (dx) st = parallel_rows(tconv_bwd_x_row, &k, batch * c->cin, c->threads, cost);
    if (st == CIRCA_OK && (dw || db))
        st = parallel_rows(tconv_bwd_w_row, &k, c->cin, c->threads, cost);
    return st;
}
