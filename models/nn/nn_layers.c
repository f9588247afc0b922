/* nn_layers.c: gLN and cumulative LN, PReLU, sigmoid, ReLU, softmax and
 * dense layers, forward and backward. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "circa/nn.h"

/* ---- gLN ------------------------------------------------------------------- */
/* Mean and 1/sqrt(var + eps) of n floats, summed in double so long
 * sequences do not lose the variance to cancellation. */
static void moments(size_t n, const float *x, double *mean, double *inv) {
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    double mu = s / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - mu;
        s2 += d * d;
    }
    *mean = mu;
    *inv = 1.0 / sqrt(s2 / (double)n + CIRCA_NN_NORM_EPS);
}

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

/* dx = inv * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gain. */
static void gln_backward_item(int c, int t, const float *x, const float *gain, const float *dy,
                              float *dx, float *dgain, float *dbias) {
    size_t n = (size_t)c * t;
    double mu, inv, sg = 0, sgx = 0;
    moments(n, x, &mu, &inv);
    for (int ch = 0; ch < c; ch++) {
        double sdy = 0, sdyx = 0;
        for (int k = 0; k < t; k++) {
            size_t i = (size_t)ch * t + k;
            double xh = (x[i] - mu) * inv;
            sdy += dy[i];
            sdyx += dy[i] * xh;
        }
        if (dgain) dgain[ch] += (float)sdyx;
        if (dbias) dbias[ch] += (float)sdy;
        sg += gain[ch] * sdy;
        sgx += gain[ch] * sdyx;
    }
    if (!dx) return;
    double mg = sg / (double)n, mgx = sgx / (double)n;
    for (int ch = 0; ch < c; ch++)
        for (int k = 0; k < t; k++) {
            size_t i = (size_t)ch * t + k;
            double xh = (x[i] - mu) * inv;
            dx[i] += (float)(inv * (dy[i] * gain[ch] - mg - xh * mgx));
        }
}

/* ---- cumulative LN ---------------------------------------------------------- */
/* Per-frame cumulative mean and 1/sqrt(var + eps) over channels and frames
 * <= k (var = E[x^2] - mean^2, as the paper's formula; in double). */
static void cln_stats(int c, int t, const float *x, double *mean, double *inv) {
    double s = 0, s2 = 0;
    for (int k = 0; k < t; k++) {
        for (int ch = 0; ch < c; ch++) {
            double v = x[(size_t)ch * t + k];
            s += v;
            s2 += v * v;
        }
        double cnt = (double)c * (k + 1), mu = s / cnt, var = s2 / cnt - mu * mu;
        if (var < 0) var = 0;
        mean[k] = mu;
        inv[k] = 1.0 / sqrt(var + CIRCA_NN_NORM_EPS);
    }
}

static void cln_forward_item(int c, int t, const float *x, const float *gain,
                             const float *bias, float *y, double *mean, double *inv) {
    cln_stats(c, t, x, mean, inv);
    for (int ch = 0; ch < c; ch++)
        for (int k = 0; k < t; k++) {
            size_t i = (size_t)ch * t + k;
            y[i] = (float)(gain[ch] * (x[i] - mean[k]) * inv[k] + bias[ch]);
        }
}

/* With g = dy*gain, A_k = sum_c g, B_k = sum_c g (x - mu_k):
 * dL/dmu_k = -inv A + B inv^3 mu, dL/dpow_k = -B inv^3 / 2 (pow = E[x^2]);
 * both flow to every frame t <= k through the cumulative sums, divided by
 * the count C (k+1): a reverse cumulative sum. */
static void cln_backward_item(int c, int t, const float *x, const float *gain, const float *dy,
                              float *dx, float *dgain, float *dbias, double *mean, double *inv,
                              double *r1, double *r2) {
    cln_stats(c, t, x, mean, inv);
    for (int ch = 0; ch < c; ch++) {
        double sdy = 0, sdyx = 0;
        for (int k = 0; k < t; k++) {
            size_t i = (size_t)ch * t + k;
            sdy += dy[i];
            sdyx += dy[i] * (x[i] - mean[k]) * inv[k];
        }
        if (dgain) dgain[ch] += (float)sdyx;
        if (dbias) dbias[ch] += (float)sdy;
    }
    if (!dx) return;
    double acc1 = 0, acc2 = 0;
    for (int k = t - 1; k >= 0; k--) {
        double A = 0, B = 0;
        for (int ch = 0; ch < c; ch++) {
            size_t i = (size_t)ch * t + k;
            double g = (double)dy[i] * gain[ch];
            A += g;
            B += g * (x[i] - mean[k]);
        }
        double i3 = inv[k] * inv[k] * inv[k], cnt = (double)c * (k + 1);
        acc1 += (-inv[k] * A + B * i3 * mean[k]) / cnt;
        acc2 += (-0.5 * B * i3) / cnt;
        r1[k] = acc1;
        r2[k] = acc2;
    }
    for (int ch = 0; ch < c; ch++)
        for (int k = 0; k < t; k++) {
            size_t i = (size_t)ch * t + k;
            dx[i] += (float)((double)dy[i] * gain[ch] * inv[k] + r1[k] + 2.0 * x[i] * r2[k]);
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
void circa_nn_prelu_forward(size_t n, const float *x, float a, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : a * x[i];
}

void circa_nn_prelu_backward(size_t n, const float *x, float a, const float *dy, float *dx,
                             float *da) {
    if (dx)
        for (size_t i = 0; i < n; i++) dx[i] += x[i] > 0 ? dy[i] : a * dy[i];
    if (da) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            if (!(x[i] > 0)) s += (double)dy[i] * x[i];
        *da += (float)s;
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
