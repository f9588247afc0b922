/* resample.c: rational-ratio resampler: a sharp Kaiser lowpass by FFT (optionally 2x upsampling) followed by a short polyphase windowed-sinc interpolator. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "circa/special.h"
#include "spectral_internal.h"

/* Why two stages: the sharp filter a quality preset needs (a transition of a
 * few percent of Nyquist) is hundreds of taps per output in a direct
 * polyphase filter; run through FFT convolution it costs a few operations per
 * sample. After it, the signal is band-limited to s * fnl, so the polyphase
 * stage only needs a wide transition: ~ 10 to 25 taps per output.
 *
 *   stage 1: at U * in_rate (U = 2 unless out_rate <= in_rate / 2): lowpass,
 *            passband p * fnl, stopband s * fnl, fnl = min(in, out) / 2;
 *            when downsampling by 4 or more it also keeps only every D-th
 *            output (D <= in / (2 out), decimated in the frequency domain),
 *            so its output rate is r1 = U * in_rate / D;
 *   stage 2: r1 -> out_rate, kernel sinc(t) * kaiser(t / W), cutoff r1 / 2,
 *            transition from s * fnl to r1 - s * fnl, L2 phases, K2 taps.
 * Both are linear phase; their delays are compensated exactly, so output
 * frame k is the input's value at k / out_rate. */

static const circa_resample_preset presets[CIRCA_RESAMPLE_QUALITY_COUNT] = {
    {"low", 0.80, 1.00, 70},
    {"medium", 0.90, 1.00, 100},
    {"high", 0.95, 1.00, 130},
    {"best", 0.97, 1.00, 160},
};

#define MAX_RATE (1u << 24)
#define MAX_PHASES 65536u

const circa_resample_preset *circa_resample_preset_get(circa_resample_quality q) {
    return (unsigned)q < CIRCA_RESAMPLE_QUALITY_COUNT ? &presets[q] : NULL;
}

circa_status circa_resample_quality_parse(const char *name, circa_resample_quality *q) {
    for (unsigned i = 0; name && i < CIRCA_RESAMPLE_QUALITY_COUNT; i++)
        if (strcmp(name, presets[i].name) == 0) {
            *q = (circa_resample_quality)i;
            return CIRCA_OK;
        }
    return CIRCA_E_PARAM;
}

uint64_t circa_resampler_output_frames(uint32_t in_rate, uint32_t out_rate, uint64_t in_frames) {
    if (in_rate == 0) return 0;
    uint64_t g = spectral__gcd(in_rate, out_rate), l = out_rate / g, m = in_rate / g;
    uint64_t q = in_frames / m, r = in_frames % m;
    return q * l + (r * l + m - 1) / m; /* r * l < 2^48: no overflow */
}

typedef struct resampler {
    uint32_t channels, in_rate, out_rate;
    /* stage 1 */
    unsigned up;                  /* U */
    unsigned decim;               /* D */
    spectral__conv_kernel *k1;
    spectral__conv **c1;          /* per channel */
    size_t block;                 /* stage-1 input block B */
    size_t s1_len;                /* stage-1 outputs per block: U * B / D */
    double *s1_in;                /* [channels][B] */
    double *s1_out;               /* [U][B / D] scratch */
    size_t fill;
    size_t d1;                    /* stage-1 delay in r1 samples */
    /* stage 2 */
    uint32_t l2, m2;              /* out_rate / r1, reduced */
    size_t k2;                    /* taps per phase (even) */
    size_t k2p;                   /* k2 rounded up to 8: zero taps at the end, for dot() */
    double *coef;                 /* [l2][k2p] */
    double *hist;                 /* [channels][hcap]: stage-1 output, hist index = y1 index + k2/2 */
    size_t hcap, hlen;
    uint64_t hstart;              /* hist index of hist[c][0] */
    uint64_t q;                   /* floor(n * m2 / l2) for the next output n */
    uint32_t phase;               /* (n * m2) mod l2 */
    /* counts */
    uint64_t in_total, out_total;
} resampler;

static void resampler_free(void *p) {
    resampler *r = p;
    if (!r) return;
    for (uint32_t c = 0; r->c1 && c < r->channels; c++) spectral__conv_free(r->c1[c]);
    free(r->c1);
    spectral__conv_kernel_free(r->k1);
    free(r->s1_in);
    free(r->s1_out);
    free(r->coef);
    free(r->hist);
    free(r);
}

/* Stage-1 prototype at r1, split into U polyphase branches of gain 1 each
 * (the DC gain of every branch is normalised to exactly 1, which keeps low
 * frequencies free of phase-dependent gain). */
static circa_status make_stage1(resampler *r, const circa_resample_preset *pr, double fnl) {
    double r0 = (double)r->up * r->in_rate; /* the rate the filter runs at */
    double fc = (pr->passband + pr->stopband) / 2 * fnl / r0;
    double width = (pr->stopband - pr->passband) * fnl / r0;
    /* odd, with a delay (n-1)/2 that is a whole number of decimated samples */
    size_t twice_d = 2 * (size_t)r->decim;
    size_t n = ((size_t)ceil(spectral__kaiser_taps(pr->atten_db, width)) + twice_d - 2) /
                   twice_d * twice_d + 1;
    size_t blen = (n + r->up - 1) / r->up;
    double *h = calloc(blen * r->up, sizeof *h), *w = malloc(n * sizeof *w);
    double *branches = malloc(blen * r->up * sizeof *branches);
    circa_status st = CIRCA_E_NOMEM;
    if (h && w && branches) {
        circa_kaiser_window(w, n, circa_kaiser_beta(pr->atten_db));
        double mid = (double)(n - 1) / 2;
        for (size_t k = 0; k < n; k++) h[k] = 2 * fc * spectral__sinc(2 * fc * (k - mid)) * w[k];
        for (unsigned f = 0; f < r->up; f++) {
            double sum = 0;
            for (size_t j = 0; j < blen; j++) sum += h[j * r->up + f];
            for (size_t j = 0; j < blen; j++) branches[f * blen + j] = h[j * r->up + f] / sum;
        }
        r->d1 = (n - 1) / 2 / r->decim;
        r->k1 = spectral__conv_kernel_new(branches, blen, r->up, r->decim);
        st = r->k1 ? CIRCA_OK : CIRCA_E_NOMEM;
    }
    free(h);
    free(w);
    free(branches);
    return st;
}

/* Stage-2 polyphase table: phase p, tap j is g(p / l2 + k2/2 - 1 - j), each
 * phase normalised to a sum of exactly 1. Every tap sits on the grid of
 * 1/l2 steps across the kernel's span, so one Kaiser window of k2*l2 + 1
 * points gives all the window values. */
static circa_status make_stage2(resampler *r, const circa_resample_preset *pr, double fnl) {
    double r1 = (double)r->up * r->in_rate / r->decim;
    double width = (r1 - 2 * pr->stopband * fnl) / r1;
    size_t k2 = (size_t)ceil(spectral__kaiser_taps(pr->atten_db, width));
    k2 += k2 & 1;
    r->k2 = k2;
    r->k2p = (k2 + 7) / 8 * 8;
    size_t span = k2 * r->l2; /* window index of tau: tau * l2 + span / 2 */
    double *w = malloc((span + 1) * sizeof *w);
    r->coef = calloc((size_t)r->l2 * r->k2p, sizeof *r->coef);
    if (!r->coef || !w) {
        free(w);
        return CIRCA_E_NOMEM;
    }
    circa_kaiser_window(w, span + 1, circa_kaiser_beta(pr->atten_db));
    for (uint32_t p = 0; p < r->l2; p++) {
        double *c = r->coef + (size_t)p * r->k2p, sum = 0;
        for (size_t j = 0; j < k2; j++) {
            /* tau * l2 = p + l2 * (k2/2 - 1 - j); shifted by span/2 it is >= 0 */
            size_t idx = p + (size_t)r->l2 * (k2 - 1 - j);
            double t = (double)p / r->l2 + (double)k2 / 2 - 1 - (double)j;
            c[j] = spectral__sinc(t) * w[idx];
            sum += c[j];
        }
        for (size_t j = 0; j < k2; j++) c[j] /= sum;
    }
    free(w);
    return CIRCA_OK;
}

/* The largest D <= limit made of the factors 2, 3 and 5 (fast transform
 * sizes), at least 1. */
static unsigned smooth_below(uint64_t limit) {
    for (uint64_t d = limit > 1000 ? 1000 : limit; d > 1; d--) {
        uint64_t m = d;
        while (m % 2 == 0) m /= 2;
        while (m % 3 == 0) m /= 3;
        while (m % 5 == 0) m /= 5;
        if (m == 1) return (unsigned)d;
    }
    return 1;
}

/* Sets the stage sizes, tables and buffers. */
static circa_status resampler_init(resampler *r, const circa_resample_preset *pr) {
    double fnl = (r->in_rate < r->out_rate ? r->in_rate : r->out_rate) / 2.0;
    r->up = 2 * (uint64_t)r->out_rate <= r->in_rate ? 1 : 2;
    /* stage 2 needs r1 >= 2 out_rate to keep its transition wide */
    r->decim = r->up == 1 ? smooth_below(r->in_rate / (2 * (uint64_t)r->out_rate)) : 1;
    uint64_t num = (uint64_t)r->out_rate * r->decim, den = (uint64_t)r->up * r->in_rate;
    uint64_t g = spectral__gcd(num, den);
    if (num / g > MAX_PHASES) return CIRCA_E_UNSUPPORTED;
    r->l2 = (uint32_t)(num / g); /* out_rate / r1, reduced */
    r->m2 = (uint32_t)(den / g);
    circa_status st = make_stage1(r, pr, fnl);
    if (st || (st = make_stage2(r, pr, fnl))) return st;
    r->block = spectral__conv_block(r->k1);
    r->s1_len = r->up * (r->block / r->decim);
    r->hcap = r->k2p + r->s1_len;
    r->hlen = r->k2 / 2; /* zeros before the signal */
    r->c1 = calloc(r->channels, sizeof *r->c1);
    r->s1_in = malloc(r->channels * r->block * sizeof *r->s1_in);
    r->s1_out = malloc(r->s1_len * sizeof *r->s1_out);
    r->hist = calloc(r->channels * r->hcap, sizeof *r->hist);
    if (!r->c1 || !r->s1_in || !r->s1_out || !r->hist) return CIRCA_E_NOMEM;
    for (uint32_t c = 0; c < r->channels; c++)
        if (!(r->c1[c] = spectral__conv_new(r->k1))) return CIRCA_E_NOMEM;
    return CIRCA_OK;
}

/* The stage-2 inner product: n (a multiple of 8) taps, unaligned data.
 * GCC vector types keep it portable C; the avx2 clone, picked at load time,
 * runs it four doubles wide (no FMA: the build forbids contraction). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define DOT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DOT_CLONES
#endif
typedef double v4d __attribute__((vector_size(32)));

DOT_CLONES static double dot(const double *a, const double *b, size_t n) {
    v4d s0 = {0, 0, 0, 0}, s1 = {0, 0, 0, 0};
    for (size_t j = 0; j < n; j += 8) {
        v4d a0, a1, b0, b1;
        memcpy(&a0, a + j, sizeof a0);
        memcpy(&a1, a + j + 4, sizeof a1);
        memcpy(&b0, b + j, sizeof b0);
        memcpy(&b1, b + j + 4, sizeof b1);
        s0 += a0 * b0;
        s1 += a1 * b1;
    }
    v4d s = s0 + s1;
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* Produces stage-2 outputs while the history holds their taps; stops at
 * `limit` outputs in total or when out is full. */
static void stage2_run(resampler *r, float *out, size_t cap, size_t *produced, uint64_t limit) {
    while (*produced < cap && r->out_total < limit) {
        uint64_t start = r->q + r->d1 + 1; /* hist index of tap 0 */
        if (start + r->k2p > r->hstart + r->hlen) return;
        const double *c = r->coef + (size_t)r->phase * r->k2p;
        size_t off = (size_t)(start - r->hstart);
        float *o = out + *produced * r->channels;
        for (uint32_t ch = 0; ch < r->channels; ch++)
            o[ch] = (float)dot(r->hist + ch * r->hcap + off, c, r->k2p);
        ++*produced;
        r->out_total++;
        r->q += r->m2 / r->l2;
        r->phase += r->m2 % r->l2;
        if (r->phase >= r->l2) {
            r->phase -= r->l2;
            r->q++;
        }
    }
}

/* Runs stage 1 on the buffered block (zero-padded) and appends its U * B / D
 * outputs per channel to the history, dropping what no output needs. */
static void stage1_run(resampler *r) {
    uint64_t need = r->q + r->d1 + 1, drop = need > r->hstart ? need - r->hstart : 0;
    if (drop > r->hlen) drop = r->hlen;
    size_t b = r->block, up = r->up, per = r->s1_len / up;
    for (uint32_t ch = 0; ch < r->channels; ch++) {
        double *h = r->hist + ch * r->hcap, *in = r->s1_in + ch * b;
        memmove(h, h + drop, (r->hlen - drop) * sizeof *h);
        memset(in + r->fill, 0, (b - r->fill) * sizeof *in);
        spectral__conv_run(r->c1[ch], in, r->s1_out);
        double *dst = h + r->hlen - drop;
        for (size_t j = 0; j < per; j++)
            for (unsigned f = 0; f < up; f++) dst[j * up + f] = r->s1_out[f * per + j];
    }
    r->hstart += drop;
    r->hlen += r->s1_len - drop;
    r->fill = 0;
}

static circa_status resample_process(circa_op *op, const float *in, size_t in_frames,
                                     size_t *consumed, float *out, size_t out_cap,
                                     size_t *produced) {
    resampler *r = op->state;
    int draining = in == NULL && in_frames == 0;
    uint64_t limit = draining ? circa_resampler_output_frames(r->in_rate, r->out_rate, r->in_total)
                              : UINT64_MAX;
    *consumed = *produced = 0;
    for (;;) {
        stage2_run(r, out, out_cap, produced, limit);
        if (*produced == out_cap || r->out_total >= limit) return CIRCA_OK;
        size_t take = r->block - r->fill;
        if (!draining && take > in_frames - *consumed) take = in_frames - *consumed;
        for (size_t k = 0; !draining && k < take; k++) {
            const float *f = in + (*consumed + k) * r->channels;
            for (uint32_t ch = 0; ch < r->channels; ch++)
                r->s1_in[ch * r->block + r->fill + k] = f[ch];
        }
        if (!draining) {
            r->fill += take;
            *consumed += take;
            r->in_total += take;
            if (r->fill < r->block) return CIRCA_OK;
        }
        stage1_run(r);
    }
}

static circa_status copy_process(circa_op *op, const float *in, size_t in_frames,
                                 size_t *consumed, float *out, size_t out_cap, size_t *produced) {
    size_t n = in_frames < out_cap ? in_frames : out_cap;
    if (n) memcpy(out, in, n * op->in_channels * sizeof *out);
    *consumed = *produced = n;
    return CIRCA_OK;
}

static void no_state(void *p) { (void)p; }

circa_status circa_resampler_create(uint32_t in_rate, uint32_t out_rate, uint32_t channels,
                                    circa_resample_quality q, circa_op **out) {
    const circa_resample_preset *pr = circa_resample_preset_get(q);
    *out = NULL;
    if (!pr || in_rate == 0 || out_rate == 0 || in_rate > MAX_RATE || out_rate > MAX_RATE ||
        channels == 0)
        return CIRCA_E_PARAM;
    if (in_rate == out_rate)
        return spectral__op_new("resample", in_rate, out_rate, channels, copy_process, no_state,
                                NULL, out);
    resampler *r = calloc(1, sizeof *r);
    if (!r) return CIRCA_E_NOMEM;
    r->channels = channels;
    r->in_rate = in_rate;
    r->out_rate = out_rate;
    circa_status st = resampler_init(r, pr);
    if (st) {
        resampler_free(r);
        return st;
    }
    return spectral__op_new("resample", in_rate, out_rate, channels, resample_process,
                            resampler_free, r, out);
}
