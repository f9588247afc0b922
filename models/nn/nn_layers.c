/* nn_layers.c: gLN and cumulative LN, PReLU, sigmoid, ReLU, softmax and
 * dense layers, forward and backward. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "circa/nn.h"
#include "nn_hot.h"

/* The norm loops are memory-bound passes; where the CPU has them, AVX2 or
 * AVX-512 clones (NN_HOT, nn_hot.h) move more per instruction. */

/* ---- gLN ------------------------------------------------------------------- */
/* Sums run in double over eight fixed lanes (element i goes to lane i % 8,
 * lanes reduced pairwise at the end): gcc vectorises that, where one running
 * sum is a chain of dependent adds it may not reorder. The order is fixed,
 * so results do not depend on anything but the data. */
static inline double reduce8d(const double *s) {
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* Mean and 1/sqrt(var + eps) of n floats, summed in double so long
 * sequences do not lose the variance to cancellation. */
NN_HOT
static void moments(size_t n, const float *x, double *mean, double *inv) {
    double s[8] = {0}, s2[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) s[l] += x[i + l];
    for (; i < n; i++) s[i & 7] += x[i];
    double mu = reduce8d(s) / (double)n;
    for (i = 0; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) {
            double d = x[i + l] - mu;
            s2[l] += d * d;
        }
    for (; i < n; i++) {
        double d = x[i] - mu;
        s2[i & 7] += d * d;
    }
    *mean = mu;
    *inv = 1.0 / sqrt(reduce8d(s2) / (double)n + CIRCA_NN_NORM_EPS);
}

NN_HOT
static void gln_forward_item(int c, int t, const float *x, const float *gain,
                             const float *bias, float *y) {
    double mu, inv;
    moments((size_t)c * t, x, &mu, &inv);
    for (int ch = 0; ch < c; ch++) {
        float a = (float)(gain[ch] * inv), b = (float)(bias[ch] - gain[ch] * inv * mu);
        const float *restrict xr = x + (size_t)ch * t;
        float *restrict yr = y + (size_t)ch * t;
        for (int k = 0; k < t; k++) yr[k] = a * xr[k] + b;
    }
}

/* sum dy and sum dy * (x - mu_k) * inv_k over one row of t frames, in the
 * eight lanes; mu_k, inv_k are the scalars mu, inv when mean is NULL (gLN),
 * else mean[k], inv_k[k] (cLN). Written with two-double vectors (SSE2's
 * width; gcc does not vectorise the plain lane loop, float-to-double
 * conversions and all): the lanes and their arithmetic are those of the
 * scalar tail. */
typedef double v2d __attribute__((vector_size(16)));

NN_HOT
static void row_sums(int t, const float *restrict x, const float *restrict dy, double mu,
                     double inv, const double *mean, const double *invk, double *sdy,
                     double *sdyx) {
    v2d s[4] = {{0}}, sx[4] = {{0}};
    size_t n = (size_t)t, k = 0;
    for (; k + 8 <= n; k += 8)
        for (int h = 0; h < 4; h++) {
            size_t i = k + 2 * (size_t)h;
            v2d d = {dy[i], dy[i + 1]}, xv = {x[i], x[i + 1]}, m = {mu, mu}, v = {inv, inv};
            if (mean) memcpy(&m, mean + i, sizeof m), memcpy(&v, invk + i, sizeof v);
            s[h] += d;
            sx[h] += d * ((xv - m) * v);
        }
    double sl[8], sxl[8];
    memcpy(sl, s, sizeof sl);
    memcpy(sxl, sx, sizeof sxl);
    for (; k < n; k++) {
        double m = mean ? mean[k] : mu, v = mean ? invk[k] : inv;
        sl[k & 7] += dy[k];
        sxl[k & 7] += dy[k] * ((x[k] - m) * v);
    }
    *sdy = reduce8d(sl);
    *sdyx = reduce8d(sxl);
}

/* dx = inv * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gain. */
NN_HOT
static void gln_backward_item(int c, int t, const float *x, const float *gain, const float *dy,
                              float *dx, float *dgain, float *dbias) {
    size_t n = (size_t)c * t;
    double mu, inv, sg = 0, sgx = 0;
    moments(n, x, &mu, &inv);
    for (int ch = 0; ch < c; ch++) {
        double sdy, sdyx;
        row_sums(t, x + (size_t)ch * t, dy + (size_t)ch * t, mu, inv, NULL, NULL, &sdy, &sdyx);
        if (dgain) dgain[ch] += (float)sdyx;
        if (dbias) dbias[ch] += (float)sdy;
        sg += gain[ch] * sdy;
        sgx += gain[ch] * sdyx;
    }
    if (!dx) return;
    double mg = sg / (double)n, mgx = sgx / (double)n;
    for (int ch = 0; ch < c; ch++) {
        const float *restrict xr = x + (size_t)ch * t, *restrict dyr = dy + (size_t)ch * t;
        float *restrict dxr = dx + (size_t)ch * t;
        double gc = gain[ch];
        for (int k = 0; k < t; k++) {
            double xh = (xr[k] - mu) * inv;
            dxr[k] += (float)(inv * (dyr[k] * gc - mg - xh * mgx));
        }
    }
}

/* ---- cumulative LN ---------------------------------------------------------- */
/* Per-frame cumulative mean and 1/sqrt(var + eps) over channels and frames
 * <= k (var = E[x^2] - mean^2, as the paper's formula; in double). Each
 * frame's channel sums are formed first (channel by channel, vectorised
 * over frames), then accumulated over frames. */
NN_HOT
static void cln_stats(int c, int t, const float *x, double *restrict mean, double *restrict inv) {
    for (int k = 0; k < t; k++) mean[k] = inv[k] = 0;
    for (int ch = 0; ch < c; ch++) {
        const float *restrict xr = x + (size_t)ch * t;
        for (int k = 0; k < t; k++) {
            double v = xr[k];
            mean[k] += v;
            inv[k] += v * v;
        }
    }
    double s = 0, s2 = 0;
    for (int k = 0; k < t; k++) {
        s += mean[k];
        s2 += inv[k];
        double cnt = (double)c * (k + 1), mu = s / cnt, var = s2 / cnt - mu * mu;
        if (var < 0) var = 0;
        mean[k] = mu;
        inv[k] = 1.0 / sqrt(var + CIRCA_NN_NORM_EPS);
    }
}

NN_HOT
static void cln_forward_item(int c, int t, const float *x, const float *gain,
                             const float *bias, float *y, double *mean, double *inv) {
    cln_stats(c, t, x, mean, inv);
    for (int ch = 0; ch < c; ch++) {
        const float *restrict xr = x + (size_t)ch * t;
        float *restrict yr = y + (size_t)ch * t;
        double g = gain[ch], b = bias[ch];
        for (int k = 0; k < t; k++) yr[k] = (float)(g * (xr[k] - mean[k]) * inv[k] + b);
    }
}

/* With g = dy*gain, A_k = sum_c g, B_k = sum_c g (x - mu_k):
 * dL/dmu_k = -inv A + B inv^3 mu, dL/dpow_k = -B inv^3 / 2 (pow = E[x^2]);
 * both flow to every frame t <= k through the cumulative sums, divided by
 * the count C (k+1): a reverse cumulative sum. */
NN_HOT
static void cln_backward_item(int c, int t, const float *x, const float *gain, const float *dy,
                              float *dx, float *dgain, float *dbias, double *mean, double *inv,
                              double *restrict r1, double *restrict r2) {
    cln_stats(c, t, x, mean, inv);
    for (int ch = 0; ch < c; ch++) {
        double sdy, sdyx;
        row_sums(t, x + (size_t)ch * t, dy + (size_t)ch * t, 0, 0, mean, inv, &sdy, &sdyx);
        if (dgain) dgain[ch] += (float)sdyx;
        if (dbias) dbias[ch] += (float)sdy;
    }
    if (!dx) return;
    /* A_k and B_k into r1 and r2, channel by channel. */
    for (int k = 0; k < t; k++) r1[k] = r2[k] = 0;
    for (int ch = 0; ch < c; ch++) {
        const float *restrict xr = x + (size_t)ch * t, *restrict dyr = dy + (size_t)ch * t;
        double gc = gain[ch];
        for (int k = 0; k < t; k++) {
            double g = (double)dyr[k] * gc;
            r1[k] += g;
            r2[k] += g * (xr[k] - mean[k]);
        }
    }
    double acc1 = 0, acc2 = 0;
    for (int k = t - 1; k >= 0; k--) {
        double A = r1[k], B = r2[k];
        double i3 = inv[k] * inv[k] * inv[k], cnt = (double)c * (k + 1);
        acc1 += (-inv[k] * A + B * i3 * mean[k]) / cnt;
        acc2 += (-0.5 * B * i3) / cnt;
        r1[k] = acc1;
        r2[k] = acc2;
    }
    for (int ch = 0; ch < c; ch++) {
        const float *restrict xr = x + (size_t)ch * t, *restrict dyr = dy + (size_t)ch * t;
        float *restrict dxr = dx + (size_t)ch * t;
        double gc = gain[ch];
        for (int k = 0; k < t; k++)
            dxr[k] += (float)((double)dyr[k] * gc * inv[k] + r1[k] + 2.0 * xr[k] * r2[k]);
    }
}

circa_status circa_nn_norm_forward(circa_nn_norm_kind kind, int batch, int c, int t,
                                   const float *x, const float *gain, const float *bias,
                                   float *y) {
    if (batch <= 0 || c <= 0 || t <= 0 || !x || !gain || !bias || !y) return CIRCA_E_PARAM;
    if (kind != CIRCA_NN_GLN && kind != CIRCA_NN_CLN) return CIRCA_E_PARAM;
    size_t item = (size_t)c * t;
    if (kind == CIRCA_NN_GLN) {
        for (int b = 0; b < batch; b++) gln_forward_item(c, t, x + b * item, gain, bias, y + b * item);
        return CIRCA_OK;
    }
    double *st = malloc(2 * (size_t)t * sizeof *st);
    if (!st) return CIRCA_E_NOMEM;
    for (int b = 0; b < batch; b++)
        cln_forward_item(c, t, x + b * item, gain, bias, y + b * item, st, st + t);
    free(st);
    return CIRCA_OK;
}

circa_status circa_nn_norm_backward(circa_nn_norm_kind kind, int batch, int c, int t,
                                    const float *x, const float *gain, const float *dy,
                                    float *dx, float *dgain, float *dbias) {
    if (batch <= 0 || c <= 0 || t <= 0 || !x || !gain || !dy) return CIRCA_E_PARAM;
    if (kind != CIRCA_NN_GLN && kind != CIRCA_NN_CLN) return CIRCA_E_PARAM;
    size_t item = (size_t)c * t;
    if (kind == CIRCA_NN_GLN) {
        for (int b = 0; b < batch; b++)
            gln_backward_item(c, t, x + b * item, gain, dy + b * item, dx ? dx + b * item : NULL,
                              dgain, dbias);
        return CIRCA_OK;
    }
    double *st = malloc(4 * (size_t)t * sizeof *st);
    if (!st) return CIRCA_E_NOMEM;
    for (int b = 0; b < batch; b++)
        cln_backward_item(c, t, x + b * item, gain, dy + b * item, dx ? dx + b * item : NULL,
                          dgain, dbias, st, st + t, st + 2 * t, st + 3 * t);
    free(st);
    return CIRCA_OK;
}

/* ---- activations ------------------------------------------------------------ */
/* PReLU without branches. Written with gcc's vector extensions because gcc
 * turns `v > 0 ? v : a*v` into a conditional multiply (a multiply may trap,
 * so it will not compute it speculatively) and keeps the branch, which
 * mispredicts on every other sign change and is not vectorised; here both
 * candidates are computed and one selected by a mask. Bit-identical to the
 * scalar formula, which the tails use. */
typedef float v4f __attribute__((vector_size(16))); /* SSE2's width: compares stay vector */
typedef int32_t v4i __attribute__((vector_size(16)));

static inline __attribute__((always_inline)) v4f ldf(const float *p) {
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}
/* m ? a : b per lane; m from a vector comparison (all ones or zero). */
static inline __attribute__((always_inline)) v4f sel(v4i m, v4f a, v4f b) {
    return (v4f)(((v4i)a & m) | ((v4i)b & ~m));
}

void circa_nn_prelu_forward(size_t n, const float *x, float a, float *y) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4f v = ldf(x + i), r = sel(v > 0, v, a * v);
        memcpy(y + i, &r, sizeof r);
    }
    for (; i < n; i++) y[i] = x[i] > 0 ? x[i] : a * x[i];
}

void circa_nn_prelu_backward(size_t n, const float *x, float a, const float *dy, float *dx,
                             float *da) {
    if (dx) {
        size_t i = 0;
        for (; i + 4 <= n; i += 4) {
            v4f g = ldf(dy + i), r = ldf(dx + i) + sel(ldf(x + i) > 0, g, a * g);
            memcpy(dx + i, &r, sizeof r);
        }
        for (; i < n; i++) dx[i] += x[i] > 0 ? dy[i] : a * dy[i];
    }
    if (da) { /* dy*x where x <= 0, in eight running sums in double */
        double s[8] = {0};
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            float gf[8]; /* dy masked to 0 where x > 0 */
            for (int h = 0; h < 8; h += 4) {
                v4f g = sel(ldf(x + i + h) > 0, (v4f){0}, ldf(dy + i + h));
                memcpy(gf + h, &g, sizeof g);
            }
            for (int l = 0; l < 8; l++) s[l] += (double)gf[l] * x[i + l];
        }
        for (; i < n; i++) s[i & 7] += x[i] > 0 ? 0.0 : (double)dy[i] * x[i];
        *da += (float)(((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])));
    }
}

void circa_nn_sigmoid_forward(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

void circa_nn_sigmoid_backward(size_t n, const float *y, const float *dy, float *dx) {
    for (size_t i = 0; i < n; i++) dx[i] += dy[i] * y[i] * (1.0f - y[i]);
}

void circa_nn_relu_forward(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
}

void circa_nn_relu_backward(size_t n, const float *x, const float *dy, float *dx) {
    for (size_t i = 0; i < n; i++) dx[i] += x[i] > 0 ? dy[i] : 0.0f;
}

void circa_nn_softmax_forward(size_t rows, size_t n, const float *x, float *y) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        float mx = xr[0];
        for (size_t i = 1; i < n; i++) mx = xr[i] > mx ? xr[i] : mx; /* no overflow */
        double s = 0;
        for (size_t i = 0; i < n; i++) s += yr[i] = expf(xr[i] - mx);
        float inv = (float)(1.0 / s);
        for (size_t i = 0; i < n; i++) yr[i] *= inv;
    }
}

void circa_nn_softmax_backward(size_t rows, size_t n, const float *y, const float *dy,
                               float *dx) {
    for (size_t r = 0; r < rows; r++) {
        const float *yr = y + r * n, *dr = dy + r * n;
        double s = 0;
        for (size_t i = 0; i < n; i++) s += (double)dr[i] * yr[i];
        for (size_t i = 0; i < n; i++) dx[r * n + i] += yr[i] * (dr[i] - (float)s);
    }
}

/* ---- dense -------------------------------------------------------------------- */
void circa_nn_dense_forward(int batch, int in, int out, const float *x, const float *w,
                            const float *bias, float *y) {
    for (int b = 0; b < batch; b++)
        for (int o = 0; o < out; o++) {
            const float *restrict wr = w + (size_t)o * in, *restrict xr = x + (size_t)b * in;
            float s = bias ? bias[o] : 0.0f;
            for (int i = 0; i < in; i++) s += wr[i] * xr[i];
            y[(size_t)b * out + o] = s;
        }
}

void circa_nn_dense_backward(int batch, int in, int out, const float *x, const float *w,
                             const float *dy, float *dx, float *dw, float *db) {
    for (int b = 0; b < batch; b++)
        for (int o = 0; o < out; o++) {
            float g = dy[(size_t)b * out + o];
            const float *restrict xr = x + (size_t)b * in;
            if (db) db[o] += g;
            if (dw) {
                float *restrict wr = dw + (size_t)o * in;
                for (int i = 0; i < in; i++) wr[i] += g * xr[i];
            }
            if (dx) {
                const float *restrict wr = w + (size_t)o * in;
                float *restrict dr = dx + (size_t)b * in;
                for (int i = 0; i < in; i++) dr[i] += g * wr[i];
            }
        }
}
