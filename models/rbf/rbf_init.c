/* rbf_init.c: where the kernels go and what shape they take (NeuRBF's
 * initialisation): Sobel-weighted k-means for the centres, the weighted
 * covariance of each cluster for the shapes; and the trainable numbers'
 * starting values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rbf_internal.h"

/* Sobel gradient magnitude summed over channels, plus a floor of 2% of the
 * mean so flat regions still get a few kernels (the grid covers them too). */
static double *sobel_weights(const circa_image *img) {
    uint32_t w = img->width, h = img->height;
    unsigned C = img->channels;
    double scale = 1.0 / ((1u << img->depth) - 1);
    double *out = calloc((size_t)w * h, sizeof *out);
    if (!out) return NULL;
    double sum = 0;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint32_t xm = x ? x - 1 : 0, xp = x + 1 < w ? x + 1 : x;
            uint32_t ym = y ? y - 1 : 0, yp = y + 1 < h ? y + 1 : y;
            double mag = 0;
            for (unsigned c = 0; c < C; c++) {
#define S(xx, yy) ((double)img->samples[((size_t)(yy) * w + (xx)) * C + c])
                double gx = (S(xp, ym) + 2 * S(xp, y) + S(xp, yp)) - (S(xm, ym) + 2 * S(xm, y) + S(xm, yp));
                double gy = (S(xm, yp) + 2 * S(x, yp) + S(xp, yp)) - (S(xm, ym) + 2 * S(x, ym) + S(xp, ym));
#undef S
                mag += sqrt(gx * gx + gy * gy) * scale;
            }
            out[(size_t)y * w + x] = mag;
            sum += mag;
        }
    double floor_w = 0.02 * sum / ((double)w * h) + 1e-12;
    for (size_t i = 0; i < (size_t)w * h; i++) out[i] += floor_w;
    return out;
}

/* K distinct pixels drawn with probability proportional to weight. */
static int draw_seeds(const double *wt, size_t n, uint32_t K, uint64_t *rng, float *kc,
                      uint32_t width) {
    double *cum = malloc(n * sizeof *cum);
    uint8_t *taken = calloc(n, 1);
    if (!cum || !taken) {
        free(cum);
        free(taken);
        return 0;
    }
    double acc = 0;
    for (size_t i = 0; i < n; i++) cum[i] = acc += wt[i];
    uint32_t got = 0;
    for (uint64_t tries = 0; got < K && tries < (uint64_t)K * 64; tries++) {
        double t = rbf_rand_unit(rng) * acc;
        size_t lo = 0, hi = n - 1;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (cum[mid] <= t) lo = mid + 1;
            else hi = mid;
        }
        if (taken[lo]) continue;
        taken[lo] = 1;
        kc[2 * got] = (float)(lo % width) + 0.5f, kc[2 * got + 1] = (float)(lo / width) + 0.5f;
        got++;
    }
    for (size_t i = 0; got < K && i < n; i++) /* heavy repeats: fill in raster order */
        if (!taken[i]) {
            kc[2 * got] = (float)(i % width) + 0.5f, kc[2 * got + 1] = (float)(i / width) + 0.5f;
            got++;
        }
    free(cum);
    free(taken);
    return 1;
}

/* Each pixel's nearest centre. */
static circa_status assign(const float *kc, uint32_t K, uint32_t w, uint32_t h, uint32_t *label) {
    rbf_index ix;
    circa_status st = circa_rbf__index_build(&ix, kc, K, w, h);
    if (st != CIRCA_OK) return st;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            circa_rbf__index_query(&ix, kc, x + 0.5f, y + 0.5f, 1, &label[(size_t)y * w + x]);
    circa_rbf__index_free(&ix);
    return CIRCA_OK;
}

/* Per cluster: weight, weighted sums of x, y, xx, xy, yy. */
static void moments(const double *wt, const uint32_t *label, uint32_t w, uint32_t h, uint32_t K,
                    double *m) {
    memset(m, 0, (size_t)K * 6 * sizeof *m);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            double *c = m + (size_t)label[i] * 6, px = x + 0.5, py = y + 0.5, v = wt[i];
            c[0] += v, c[1] += v * px, c[2] += v * py;
            c[3] += v * px * px, c[4] += v * px * py, c[5] += v * py * py;
        }
}

static int cmp_centre(const void *a, const void *b) {
    const int32_t *p = a, *q = b;
    if (p[1] != q[1]) return p[1] < q[1] ? -1 : 1;
    if (p[0] != q[0]) return p[0] < q[0] ? -1 : 1;
    return 0;
}

/* log2 of the deviation, clipped, in 1/RBF_LOGSIG_Q, a multiple of step. */
static int16_t quant_logsig(double var, double lo, double hi, int step) {
    double s = sqrt(var);
    s = s < lo ? lo : s > hi ? hi : s;
    return (int16_t)(step * lrint(log2(s) * RBF_LOGSIG_Q / step));
}

/* A centre coordinate in 1/RBF_CENTRE_Q px, clamped to [0, side]; on the
 * coarse lattice, the centre of the pixel holding it. */
static int32_t quant_centre(double c, uint32_t side, int coarse) {
    long q, top = (long)side * RBF_CENTRE_Q;
    if (coarse) {
        long px = (long)floor(c);
        px = px < 0 ? 0 : px >= (long)side ? (long)side - 1 : px;
        return (int32_t)(px * RBF_COARSE_CENTRE + RBF_COARSE_CENTRE / 2);
    }
    q = lrint(c * RBF_CENTRE_Q);
    return (int32_t)(q < 0 ? 0 : q > top ? top : q);
}

/* Shapes from cluster moments: covariance plus the pixel's own footprint
 * (1/12), divided by NeuRBF's alpha 0.5, std clipped to [0.5 px, extent/10],
 * |rho| <= 0.998. Sorted by centre (rows, then columns) so files code the
 * centres as small steps. */
static circa_status set_geometry(circa_rbf *f, const double *m) {
    double ext = f->width > f->height ? f->width : f->height;
    double hi = ext / 10 > 0.5 ? ext / 10 : 0.5;
    int32_t (*rec)[5] = malloc((size_t)f->K * sizeof *rec);
    if (!rec) return CIRCA_E_NOMEM;
    for (uint32_t k = 0; k < f->K; k++) {
        const double *c = m + (size_t)k * 6;
        double cx = f->kc[2 * k], cy = f->kc[2 * k + 1], vx = 0, vy = 0, cxy = 0;
        if (c[0] > 0) {
            vx = c[3] / c[0] - (c[1] / c[0]) * (c[1] / c[0]);
            vy = c[5] / c[0] - (c[2] / c[0]) * (c[2] / c[0]);
            cxy = c[4] / c[0] - (c[1] / c[0]) * (c[2] / c[0]);
        }
        vx = (vx > 0 ? vx : 0) + 1.0 / 12, vy = (vy > 0 ? vy : 0) + 1.0 / 12;
        vx /= 0.5, vy /= 0.5, cxy /= 0.5;
        double rho = cxy / sqrt(vx * vy);
        int rs = f->coarse ? RBF_COARSE_RHO : 1, rmax = f->coarse ? RBF_COARSE_RHO_MAX : RBF_RHO_MAX;
        int ls = f->coarse ? RBF_COARSE_LOGSIG : 1;
        long rq = rs * lrint(rho * RBF_RHO_Q / rs);
        rq = rq > rmax ? rmax : rq < -rmax ? -rmax : rq;
        rec[k][0] = quant_centre(cx, f->width, (int)f->coarse);
        rec[k][1] = quant_centre(cy, f->height, (int)f->coarse);
        rec[k][2] = quant_logsig(vx, 0.5, hi, ls);
        rec[k][3] = quant_logsig(vy, 0.5, hi, ls);
        rec[k][4] = (int32_t)rq;
    }
    qsort(rec, f->K, sizeof *rec, cmp_centre);
    for (uint32_t k = 0; k < f->K; k++) {
        f->cq[2 * k] = rec[k][0], f->cq[2 * k + 1] = rec[k][1];
        for (int i = 0; i < 3; i++) f->sq[3 * k + i] = (int16_t)rec[k][2 + i];
    }
    free(rec);
    return CIRCA_OK;
}

circa_status circa_rbf__init_kernels(circa_rbf *f, const circa_image *img, uint64_t seed) {
    uint32_t w = img->width, h = img->height;
    size_t n = (size_t)w * h;
    uint64_t rng = seed ^ 0x5242462D4B4D4541ull; /* "RBF-KMEA" */
    double *wt = sobel_weights(img);
    uint32_t *label = malloc(n * sizeof *label);
    double *m = malloc((size_t)f->K * 6 * sizeof *m);
    circa_status st = CIRCA_E_NOMEM;
    if (!wt || !label || !m || !draw_seeds(wt, n, f->K, &rng, f->kc, w)) goto done;
    for (int it = 0; it < 10; it++) { /* Lloyd iterations */
        if ((st = assign(f->kc, f->K, w, h, label)) != CIRCA_OK) goto done;
        moments(wt, label, w, h, f->K, m);
        for (uint32_t k = 0; k < f->K; k++)
            if (m[6 * k] > 0) /* an empty cluster keeps its centre */
                f->kc[2 * k] = (float)(m[6 * k + 1] / m[6 * k]),
                f->kc[2 * k + 1] = (float)(m[6 * k + 2] / m[6 * k]);
    }
    if ((st = assign(f->kc, f->K, w, h, label)) != CIRCA_OK) goto done;
    moments(wt, label, w, h, f->K, m);
    if ((st = set_geometry(f, m)) == CIRCA_OK) st = circa_rbf__derive(f);
done:
    free(wt);
    free(label);
    free(m);
    return st;
}

static void uniform(float *p, size_t n, float a, uint64_t *rng) {
    for (size_t i = 0; i < n; i++) p[i] = (float)((2 * rbf_rand_unit(rng) - 1) * a);
}

/* NeuRBF's starting values: kernel weights, grid and input bias uniform in
 * +-1e-4; linear layers as PyTorch's nn.Linear, uniform in +-1/sqrt(fan_in). */
void circa_rbf__init_params(circa_rbf *f, uint64_t seed) {
    uint64_t rng = seed ^ 0x5242462D50415241ull; /* "RBF-PARA" */
    const rbf_layout *L = &f->lay;
    uniform(f->theta, L->mlp_begin, 1e-4f, &rng);
    float a0 = 1.0f / sqrtf((float)f->D), a1 = 1.0f / sqrtf((float)f->H);
    uniform(f->theta + L->w0, (size_t)f->H * f->D, a0, &rng);
    uniform(f->theta + L->b0, f->H, a0, &rng);
    uniform(f->theta + L->w1, (size_t)f->H * f->H, a1, &rng);
    uniform(f->theta + L->b1, f->H, a1, &rng);
    uniform(f->theta + L->w2, (size_t)f->channels * f->H, a1, &rng);
    uniform(f->theta + L->b2, f->channels, a1, &rng);
}
