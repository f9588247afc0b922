/* nn_train.c: parameters, the Adam optimiser, global-norm gradient
 * clipping, and the SI-SNR loss with permutation-invariant training. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "circa/nn.h"

/* ---- parameters ------------------------------------------------------------------ */
circa_status circa_nn_param_alloc(circa_nn_param *p, const char *name, int ndim,
                                  const size_t *shape) {
    if (!p) return CIRCA_E_PARAM;
    memset(p, 0, sizeof *p);
    if (!name || !*name || strlen(name) >= CIRCA_NN_NAME_MAX || ndim < 1 ||
        ndim > CIRCA_NN_MAX_DIMS || !shape)
        return CIRCA_E_PARAM;
    size_t size = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0 || shape[d] > ((size_t)1 << 30) / size) return CIRCA_E_PARAM;
        size *= shape[d];
        p->shape[d] = shape[d];
    }
    strcpy(p->name, name);
    p->ndim = ndim;
    p->size = size;
    /* One block for all four arrays: one allocation to fail or free. */
    float *blk = calloc(4 * size, sizeof *blk);
    if (!blk) {
        memset(p, 0, sizeof *p);
        return CIRCA_E_NOMEM;
    }
    p->w = blk;
    p->g = blk + size;
    p->m = blk + 2 * size;
    p->v = blk + 3 * size;
    return CIRCA_OK;
}

void circa_nn_param_release(circa_nn_param *p) {
    if (!p) return;
    free(p->w);
    memset(p, 0, sizeof *p);
}

void circa_nn_params_zero_grad(circa_nn_param *ps, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (ps[i].g) memset(ps[i].g, 0, ps[i].size * sizeof(float));
}

/* ---- Adam and clipping ------------------------------------------------------------- */
circa_nn_adam circa_nn_adam_default(void) {
    return (circa_nn_adam){1e-3f, 0.9f, 0.999f, 1e-8f, 0};
}

circa_status circa_nn_adam_step(circa_nn_adam *a, circa_nn_param *ps, size_t n) {
    if (!a || !(a->lr >= 0) || !(a->beta1 >= 0 && a->beta1 < 1) ||
        !(a->beta2 >= 0 && a->beta2 < 1) || !(a->eps >= 0) || (n && !ps))
        return CIRCA_E_PARAM;
    a->step++;
    float b1 = a->beta1, b2 = a->beta2;
    float c1 = (float)(1.0 - pow(b1, (double)a->step));
    float c2s = (float)sqrt(1.0 - pow(b2, (double)a->step));
    float step = a->lr / c1; /* torch: lr / c1 * m / (sqrt(v) / sqrt(c2) + eps) */
    for (size_t k = 0; k < n; k++) {
        circa_nn_param *p = &ps[k];
        float *restrict w = p->w, *restrict m = p->m, *restrict v = p->v;
        const float *restrict g = p->g;
        for (size_t i = 0; i < p->size; i++) {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            w[i] -= step * m[i] / (sqrtf(v[i]) / c2s + a->eps);
        }
    }
    return CIRCA_OK;
}

circa_status circa_nn_clip_grad_norm(circa_nn_param *ps, size_t n, float max_norm,
                                     float *norm) {
    double s = 0;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < ps[k].size; i++) s += (double)ps[k].g[i] * ps[k].g[i];
    double nrm = sqrt(s);
    if (norm) *norm = (float)nrm;
    if (!isfinite(nrm) || !(max_norm > 0)) return CIRCA_E_PARAM;
    if (nrm <= max_norm) return CIRCA_OK;
    float scale = (float)(max_norm / (nrm + 1e-6)); /* torch's clip_grad_norm_ */
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < ps[k].size; i++) ps[k].g[i] *= scale;
    return CIRCA_OK;
}

/* ---- SI-SNR --------------------------------------------------------------------------- */
double circa_nn_sisnr(size_t t, const float *est, const float *ref, float *dest) {
    const double eps = CIRCA_NN_SISNR_EPS;
    double me = 0, mr = 0;
    for (size_t i = 0; i < t; i++) {
        me += est[i];
        mr += ref[i];
    }
    me /= (double)t;
    mr /= (double)t;
    double dot = 0, rr = 0;
    for (size_t i = 0; i < t; i++) {
        double e = est[i] - me, r = ref[i] - mr;
        dot += e * r;
        rr += r * r;
    }
    double a = dot / (rr + eps), P = a * a * rr, Q = 0, en = 0;
    for (size_t i = 0; i < t; i++) {
        double e = est[i] - me, r = ref[i] - mr, nz = e - a * r;
        Q += nz * nz;
        en += nz * r;
    }
    double R = P / (Q + eps), val = 10.0 * log10(R + eps);
    if (!dest) return val;
    /* dval/dR, then R through P (via a) and Q (directly and via a); the
     * gradient wrt the zero-mean estimate is projected back by removing its
     * mean, which is what differentiating the mean subtraction does. */
    double dR = 10.0 / (log(10.0) * (R + eps)), dP = dR / (Q + eps), dQ = -dR * P / ((Q + eps) * (Q + eps));
    double ca = (dP * 2.0 * a * rr - dQ * 2.0 * en) / (rr + eps); /* coefficient of r */
    double sum = 0;
    for (size_t i = 0; i < t; i++) {
        double e = est[i] - me, r = ref[i] - mr, nz = e - a * r;
        sum += dQ * 2.0 * nz + ca * r;
    }
    double mean = sum / (double)t;
    for (size_t i = 0; i < t; i++) {
        double e = est[i] - me, r = ref[i] - mr, nz = e - a * r;
        dest[i] += (float)(dQ * 2.0 * nz + ca * r - mean);
    }
    return val;
}

/* Permutation number `idx` of c items (lexicographic), into p. */
static void nth_perm(int c, int idx, int *p) {
    int pool[4] = {0, 1, 2, 3}, n = c, f = 1;
    for (int i = 2; i < c; i++) f *= i;
    for (int i = 0; i < c; i++) {
        int q = idx / f;
        idx %= f;
        p[i] = pool[q];
        for (int j = q; j < n - 1; j++) pool[j] = pool[j + 1];
        n--;
        if (n > 1) f /= n;
    }
}

circa_status circa_nn_pit_loss(int batch, int c, size_t t, const float *est, const float *ref,
                               float *loss, float *dest, int *perm) {
    if (batch <= 0 || c < 1 || c > 4 || t < 2 || !est || !ref || !loss) return CIRCA_E_PARAM;
    int nperm = 1;
    for (int i = 2; i <= c; i++) nperm *= i;
    double total = 0;
    for (int b = 0; b < batch; b++) {
        const float *eb = est + (size_t)b * c * t, *rb = ref + (size_t)b * c * t;
        /* All pairwise SI-SNRs once, then the best assignment. */
        double m[16];
        for (int i = 0; i < c; i++)
            for (int j = 0; j < c; j++) m[i * c + j] = circa_nn_sisnr(t, eb + i * t, rb + j * t, NULL);
        int best[4], p[4];
        double bestv = -INFINITY;
        for (int k = 0; k < nperm; k++) {
            nth_perm(c, k, p);
            double v = 0;
            for (int s = 0; s < c; s++) v += m[p[s] * c + s];
            if (v > bestv) {
                bestv = v;
                memcpy(best, p, sizeof best);
            }
        }
        total += bestv / c;
        if (perm) memcpy(perm + (size_t)b * c, best, (size_t)c * sizeof *perm);
        if (!dest) continue;
        /* loss = -(1/batch)(1/c) sum_s sisnr(est[best[s]], ref[s]). */
        float *tmp = calloc(t, sizeof *tmp);
        if (!tmp) return CIRCA_E_NOMEM;
        float scale = (float)(-1.0 / ((double)batch * c));
        for (int s = 0; s < c; s++) {
            memset(tmp, 0, t * sizeof *tmp);
            circa_nn_sisnr(t, eb + best[s] * t, rb + s * t, tmp);
            float *d = dest + ((size_t)b * c + best[s]) * t;
            for (size_t i = 0; i < t; i++) d[i] += scale * tmp[i];
        }
        free(tmp);
    }
    *loss = (float)(-total / batch);
    return CIRCA_OK;
}
