/* rbf_field.c: the RBF field itself: allocation and parameter layout, the
 * fixed kernel geometry, the forward pass at one position, and rendering. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rbf_internal.h"

circa_rbf_config circa_rbf_config_default(void) {
    circa_rbf_config c;
    memset(&c, 0, sizeof c);
    c.params = 72000;
    c.features = 32;
    c.hidden = 64;
    c.grid_base = 16;
    c.steps = 8000; /* NeuRBF: 3500; 8000 gains about 1 dB and fits 256x256 in ~6 min on 2 cores */
    c.seed = 1;
    c.lr_mlp = 1e-2;
    c.lr_rest = 5e-3;
    c.progress_every = 100;
    return c;
}

/* Offsets of every group; grid levels are (R+1)^2 vertices x 2 features. */
void circa_rbf__layout(circa_rbf *f) {
    rbf_layout *L = &f->lay;
    size_t o = 0;
    L->lc = o, o += (size_t)f->K * f->F;
    for (unsigned l = 0; l < RBF_LEVELS_MAX; l++) {
        L->grid[l] = o;
        if (l < f->levels) o += (size_t)(f->res[l] + 1) * (f->res[l] + 1) * RBF_GRID_FEATS;
    }
    L->lcb = o, o += f->D;
    L->mlp_begin = o;
    L->w0 = o, o += (size_t)f->H * f->D;
    L->b0 = o, o += f->H;
    L->w1 = o, o += (size_t)f->H * f->H;
    L->b1 = o, o += f->H;
    L->w2 = o, o += (size_t)f->channels * f->H;
    L->b2 = o, o += f->channels;
    L->total = o;
}

circa_status circa_rbf__alloc(circa_rbf **out, uint32_t w, uint32_t h, unsigned channels,
                              unsigned depth, uint32_t K, unsigned F, unsigned H,
                              unsigned grid_base, unsigned grid_fine) {
    *out = NULL;
    if (w == 0 || h == 0 || channels < 1 || channels > 4 || (depth != 8 && depth != 16) ||
        K < RBF_NN || K > CIRCA_RBF_KERNELS_MAX || F < 1 || F > CIRCA_RBF_FEATURES_MAX ||
        H < 8 || H > CIRCA_RBF_HIDDEN_MAX || H % 8 || grid_base > CIRCA_RBF_GRID_MAX ||
        grid_fine > CIRCA_RBF_GRID_MAX || (grid_base == 0) != (grid_fine == 0))
        return CIRCA_E_PARAM;
    if ((uint64_t)w * h > CIRCA_IMAGE_MAX_PIXELS) return CIRCA_E_LIMIT;
    circa_rbf *f = calloc(1, sizeof *f);
    if (!f) return CIRCA_E_NOMEM;
    f->width = w, f->height = h, f->channels = channels, f->depth = depth;
    f->K = K, f->F = F, f->H = H;
    f->levels = grid_base ? 2 : 0;
    f->res[0] = grid_base, f->res[1] = grid_fine;
    f->G = f->levels * RBF_GRID_FEATS;
    f->D = f->G + F;
    circa_rbf__layout(f);
    f->cq = calloc((size_t)K * 2, sizeof *f->cq);
    f->sq = calloc((size_t)K * 3, sizeof *f->sq);
    f->kc = calloc((size_t)K * 2, sizeof *f->kc);
    f->ka = calloc((size_t)K * 3, sizeof *f->ka);
    f->theta = calloc(f->lay.total, sizeof *f->theta);
    if (!f->cq || !f->sq || !f->kc || !f->ka || !f->theta) {
        circa_rbf_free(f);
        return CIRCA_E_NOMEM;
    }
    /* Fixed frequencies: 2^linspace(-3, 12, F) for the kernel composition,
     * 10^linspace(1, 2, H) for the first layer's sine residual. */
    for (unsigned c = 0; c < F; c++)
        f->m_rbf[c] = (float)exp2(F > 1 ? -3.0 + 15.0 * c / (F - 1) : -3.0);
    for (unsigned j = 0; j < H; j++) f->m_h[j] = (float)pow(10.0, 1.0 + (double)j / (H - 1));
    *out = f;
    return CIRCA_OK;
}

void circa_rbf_free(circa_rbf *f) {
    if (!f) return;
    circa_rbf__index_free(&f->index);
    free(f->cq);
    free(f->sq);
    free(f->kc);
    free(f->ka);
    free(f->theta);
    free(f);
}

/* Centres in pixels and A = Sigma^-1 from the quantised geometry, then the
 * neighbour index over the centres. */
circa_status circa_rbf__derive(circa_rbf *f) {
    for (uint32_t k = 0; k < f->K; k++) {
        f->kc[2 * k] = (float)f->cq[2 * k] / RBF_CENTRE_Q;
        f->kc[2 * k + 1] = (float)f->cq[2 * k + 1] / RBF_CENTRE_Q;
        double sx = exp2((double)f->sq[3 * k] / RBF_LOGSIG_Q);
        double sy = exp2((double)f->sq[3 * k + 1] / RBF_LOGSIG_Q);
        double rho = (double)f->sq[3 * k + 2] / RBF_RHO_Q;
        double one_r2 = 1.0 - rho * rho;
        f->ka[3 * k] = (float)(1.0 / (sx * sx * one_r2));
        f->ka[3 * k + 1] = (float)(-rho / (sx * sy * one_r2));
        f->ka[3 * k + 2] = (float)(1.0 / (sy * sy * one_r2));
    }
    circa_rbf__index_free(&f->index);
    return circa_rbf__index_build(&f->index, f->kc, f->K, f->width, f->height);
}

/* Kernels, normalised kernel values and grid corners at (x, y) in pixels. */
void circa_rbf__point(const circa_rbf *f, float x, float y, rbf_point *pt) {
    circa_rbf__index_query(&f->index, f->kc, x, y, RBF_NN, pt->k);
    float sum = 0;
    for (int i = 0; i < RBF_NN; i++) {
        uint32_t k = pt->k[i];
        float dx = x - f->kc[2 * k], dy = y - f->kc[2 * k + 1];
        const float *a = f->ka + 3 * k;
        float q = a[0] * dx * dx + 2.0f * a[1] * dx * dy + a[2] * dy * dy;
        pt->phi[i] = 1.0f / (1.0f + q);
        sum += pt->phi[i];
    }
    for (int i = 0; i < RBF_NN; i++) pt->phi[i] /= sum + 1e-8f;
    float u = x / (float)f->width, v = y / (float)f->height;
    for (unsigned l = 0; l < f->levels; l++) {
        unsigned R = f->res[l];
        float gx = u * (float)R, gy = v * (float)R;
        int ix = (int)floorf(gx), iy = (int)floorf(gy);
        ix = ix < 0 ? 0 : ix > (int)R - 1 ? (int)R - 1 : ix;
        iy = iy < 0 ? 0 : iy > (int)R - 1 ? (int)R - 1 : iy;
        float tx = gx - (float)ix, ty = gy - (float)iy;
        tx = tx < 0 ? 0 : tx > 1 ? 1 : tx;
        ty = ty < 0 ? 0 : ty > 1 ? 1 : ty;
        uint32_t v0 = (uint32_t)iy * (R + 1) + (uint32_t)ix;
        pt->gi[l][0] = v0, pt->gi[l][1] = v0 + 1;
        pt->gi[l][2] = v0 + R + 1, pt->gi[l][3] = v0 + R + 2;
        pt->gw[l][0] = (1 - tx) * (1 - ty), pt->gw[l][1] = tx * (1 - ty);
        pt->gw[l][2] = (1 - tx) * ty, pt->gw[l][3] = tx * ty;
    }
}

/* sin and cos by reduction modulo pi/2 (Cody-Waite, three parts) and the
 * Cephes single-precision polynomials on [-pi/4, pi/4]; absolute error
 * about 1e-7 for |x| up to a few thousand, enough for float training. */
RBF_HOT void circa_rbf__sincos(size_t n, const float *x, float *s, float *c) {
    for (size_t i = 0; i < n; i++) {
        float q = (x[i] * 0.63661977236758134f + 12582912.0f) - 12582912.0f;
        float r = ((x[i] - q * 1.5703125f) - q * 4.837512969970703125e-4f) - q * 7.54978995489188216e-8f;
        int qi = (int)q;
        float r2 = r * r;
        float sr = r + r * r2 * (-1.6666654611e-1f + r2 * (8.3321608736e-3f + r2 * -1.9515295891e-4f));
        float cr = 1.0f - 0.5f * r2 +
                   r2 * r2 * (4.166664568298827e-2f + r2 * (-1.388731625493765e-3f + r2 * 2.443315711809948e-5f));
        float sv = (qi & 1) ? cr : sr, cv = (qi & 1) ? sr : cr;
        s[i] = (qi & 2) ? -sv : sv;
        if (c) c[i] = ((qi + 1) & 2) ? -cv : cv;
    }
}

void circa_rbf__sin(size_t n, const float *x, float *s) { circa_rbf__sincos(n, x, s, NULL); }

/* sin(phi_k m_c) for the 4 kernels of a point: RBF_NN x F floats. */
void circa_rbf__sines(const circa_rbf *f, const rbf_point *pt, float *sines) {
    float arg[RBF_NN * CIRCA_RBF_FEATURES_MAX];
    for (int k = 0; k < RBF_NN; k++)
        for (unsigned c = 0; c < f->F; c++) arg[k * f->F + c] = pt->phi[k] * f->m_rbf[c];
    circa_rbf__sin((size_t)RBF_NN * f->F, arg, sines);
}

/* y += a * x over n floats: the one inner loop of the MLP (vectorises, no
 * reassociation). */
static inline void axpy(unsigned n, float a, const float *restrict x, float *restrict y) {
    for (unsigned i = 0; i < n; i++) y[i] += a * x[i];
}

/* The MLP input at a point: grid features, kernel composition, bias. */
void circa_rbf__features(const circa_rbf *f, const float *theta, const rbf_point *pt,
                     const float *sines, float *x0) {
    const rbf_layout *L = &f->lay;
    for (unsigned l = 0; l < f->levels; l++)
        for (unsigned g = 0; g < RBF_GRID_FEATS; g++) {
            const float *grid = theta + L->grid[l] + g;
            float v = 0;
            for (int c = 0; c < 4; c++) v += pt->gw[l][c] * grid[(size_t)pt->gi[l][c] * RBF_GRID_FEATS];
            x0[l * RBF_GRID_FEATS + g] = v;
        }
    float *fr = x0 + f->G;
    memset(fr, 0, f->F * sizeof *fr);
    for (int k = 0; k < RBF_NN; k++) {
        const float *w = theta + L->lc + (size_t)pt->k[k] * f->F, *s = sines + k * f->F;
        for (unsigned c = 0; c < f->F; c++) fr[c] += w[c] * s[c];
    }
    for (unsigned d = 0; d < f->D; d++) x0[d] += theta[L->lcb + d];
}

/* wt holds W0^T [D][H] then W1^T [H][H] (circa_rbf__transpose), so that the
 * forward products are axpys over contiguous rows. */
void circa_rbf__transpose(const circa_rbf *f, const float *theta, float *wt) {
    const float *w0 = theta + f->lay.w0, *w1 = theta + f->lay.w1;
    for (unsigned o = 0; o < f->H; o++)
        for (unsigned i = 0; i < f->D; i++) wt[(size_t)i * f->H + o] = w0[(size_t)o * f->D + i];
    float *w1t = wt + (size_t)f->D * f->H;
    for (unsigned o = 0; o < f->H; o++)
        for (unsigned i = 0; i < f->H; i++) w1t[(size_t)i * f->H + o] = w1[(size_t)o * f->H + i];
}

RBF_HOT void circa_rbf__forward(const circa_rbf *f, const float *theta, const float *wt,
                                const rbf_point *pt, const float *sines, rbf_acts *a, float *y) {
    const rbf_layout *L = &f->lay;
    unsigned H = f->H, D = f->D;
    circa_rbf__features(f, theta, pt, sines, a->x0);
    memcpy(a->z1, theta + L->b0, H * sizeof(float));
    for (unsigned i = 0; i < D; i++) axpy(H, a->x0[i], wt + (size_t)i * H, a->z1);
    float arg[CIRCA_RBF_HIDDEN_MAX] = {0}, s[CIRCA_RBF_HIDDEN_MAX];
    for (unsigned j = 0; j < H; j++) arg[j] = a->z1[j] * f->m_h[j];
    circa_rbf__sincos(H, arg, s, a->c1);
    for (unsigned j = 0; j < H; j++) a->h1[j] = a->z1[j] + s[j];
    memcpy(a->z2, theta + L->b1, H * sizeof(float));
    const float *w1t = wt + (size_t)D * H;
    for (unsigned i = 0; i < H; i++) axpy(H, a->h1[i], w1t + (size_t)i * H, a->z2);
    for (unsigned j = 0; j < H; j++) a->h2[j] = a->z2[j] > 0 ? a->z2[j] : 0;
    for (unsigned o = 0; o < f->channels; o++) {
        const float *w2 = theta + L->w2 + (size_t)o * H;
        float v = theta[L->b2 + o];
        for (unsigned j = 0; j < H; j++) v += w2[j] * a->h2[j];
        y[o] = v;
    }
}

void circa_rbf_get_info(const circa_rbf *f, circa_rbf_info *info) {
    memset(info, 0, sizeof *info);
    info->width = f->width, info->height = f->height;
    info->channels = f->channels, info->depth = f->depth;
    info->kernels = f->K, info->features = f->F, info->hidden = f->H;
    info->grid_base = f->res[0], info->grid_fine = f->levels > 1 ? f->res[1] : 0;
    info->trainable = f->lay.total;
    info->stored = f->lay.total + 5ull * f->K;
    info->coarse_geometry = (int)f->coarse;
}

/* ---- rendering ------------------------------------------------------------ */
typedef struct render_job {
    const circa_rbf *f;
    const float *wt;
    circa_image *img;
    unsigned threads, id;
} render_job;

static void *render_rows(void *arg) {
    render_job *j = arg;
    const circa_rbf *f = j->f;
    circa_image *img = j->img;
    float sines[RBF_NN * CIRCA_RBF_FEATURES_MAX], y[4];
    rbf_acts a;
    float maxv = (float)((1u << f->depth) - 1);
    double sx = (double)f->width / img->width, sy = (double)f->height / img->height;
    for (uint32_t r = j->id; r < img->height; r += j->threads) {
        for (uint32_t c = 0; c < img->width; c++) {
            rbf_point pt;
            circa_rbf__point(f, (float)((c + 0.5) * sx), (float)((r + 0.5) * sy), &pt);
            circa_rbf__sines(f, &pt, sines);
            circa_rbf__forward(f, f->theta, j->wt, &pt, sines, &a, y);
            uint16_t *out = img->samples + ((size_t)r * img->width + c) * f->channels;
            for (unsigned ch = 0; ch < f->channels; ch++) {
                float v = y[ch] * maxv + 0.5f;
                out[ch] = (uint16_t)(v <= 0 ? 0 : v >= maxv ? maxv : v);
            }
        }
    }
    return NULL;
}

circa_status circa_rbf_render(const circa_rbf *f, uint32_t width, uint32_t height,
                              unsigned threads, circa_image **out) {
    *out = NULL;
    if (!f || width == 0 || height == 0) return CIRCA_E_PARAM;
    circa_image *img;
    circa_status st = circa_image_create(width, height, f->channels, f->depth, &img);
    if (st != CIRCA_OK) return st;
    float *wt = malloc(((size_t)f->D * f->H + (size_t)f->H * f->H) * sizeof *wt);
    if (!wt) {
        circa_image_free(img);
        return CIRCA_E_NOMEM;
    }
    circa_rbf__transpose(f, f->theta, wt);
    if (threads < 1) threads = 1;
    if (threads > CIRCA_THREADS_MAX) threads = CIRCA_THREADS_MAX;
    render_job jobs[CIRCA_THREADS_MAX];
    pthread_t tid[CIRCA_THREADS_MAX];
    int started[CIRCA_THREADS_MAX] = {0};
    for (unsigned t = 0; t < threads; t++) {
        jobs[t] = (render_job){f, wt, img, threads, t};
        if (t > 0) started[t] = pthread_create(&tid[t], NULL, render_rows, &jobs[t]) == 0;
    }
    render_rows(&jobs[0]);
    for (unsigned t = 1; t < threads; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else render_rows(&jobs[t]); /* a thread that could not start: do its rows here */
    }
    free(wt);
    *out = img;
    return CIRCA_OK;
}

double circa_rbf_psnr(const circa_rbf *f, const circa_image *img, unsigned threads) {
    if (!f || !img || img->width != f->width || img->height != f->height ||
        img->channels != f->channels)
        return -1;
    circa_image *r;
    if (circa_rbf_render(f, img->width, img->height, threads, &r) != CIRCA_OK) return -1;
    size_t n = (size_t)img->width * img->height * img->channels;
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)r->samples[i] - img->samples[i];
        se += d * d;
    }
    circa_image_free(r);
    double maxv = (double)((1u << f->depth) - 1);
    return se == 0 ? 99.0 : 10.0 * log10(maxv * maxv * n / se);
}
