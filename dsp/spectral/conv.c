/* conv.c: uniformly partitioned overlap-save convolution through FFTW, and the streaming convolution operator built on it (circa fir, filters). */
#include <stdlib.h>
#include <string.h>
#include "spectral_internal.h"

/* ---- kernel: the filters' partition spectra -------------------------------- */
/* Overlap-save: each run transforms the last fft input samples (fft - block
 * of history, block new) and keeps the last block outputs, which are exact
 * as long as a partition has at most fft - block + 1 taps. Partition p is
 * applied to the input spectrum of p runs ago, so with several partitions
 * the partition length must equal the block.
 *
 * Decimation by D happens in the frequency domain: every D-th sample of an
 * N-point inverse transform is the (N/D)-point inverse transform of the
 * spectrum folded onto N/D bins (the sum of its D aliases), exactly. So a
 * decimating filter pays a D times smaller inverse transform. D must divide
 * N and the block, and N/D must be even. */
struct spectral__conv_kernel {
    size_t block;   /* B: input samples per run (B / D outputs per filter) */
    size_t fft;     /* N: forward transform size */
    size_t decim;   /* D */
    size_t parts;   /* P: partitions */
    size_t plen;    /* taps per partition */
    size_t nfilt;   /* filters sharing one input */
    size_t cbins;   /* N/2 + 1 complex bins */
    double *spec;   /* [nfilt][parts][2 * cbins], scaled by 1/N */
    const circa_fft *fwd, *inv;
};

void spectral__conv_kernel_free(spectral__conv_kernel *k) {
    if (!k) return;
    circa_fft_dealloc(k->spec);
    free(k);
}

size_t spectral__conv_block(const spectral__conv_kernel *k) { return k->block; }

/* D * 2^k >= n, k >= 1 (so that N/D is even). */
static size_t multiple_of_pow2(size_t d, size_t n) {
    size_t p = 2;
    while (d * p < n) p *= 2;
    return d * p;
}

/* Sizes for a filter length. Up to 8192 taps: one partition and a transform
 * of about 4x the filter (>= 1024), so three quarters of each transform is
 * output: the fewest operations per sample. Longer filters (multi-second
 * IRs) use partitions of about 8192 taps, which bound the transform size and
 * memory whatever the length. */
static void pick_sizes(spectral__conv_kernel *k, size_t len, size_t d) {
    if (len <= 8192) {
        size_t p2 = 1;
        while (p2 < len) p2 *= 2;
        k->fft = multiple_of_pow2(d, 4 * p2 < 1024 ? 1024 : 4 * p2);
        k->plen = len;
        k->parts = 1;
        k->block = (k->fft - len + 1) / d * d;
        return;
    }
    k->block = multiple_of_pow2(d, 8192);
    k->plen = k->block;
    k->fft = 2 * k->block;
    k->parts = (len + k->block - 1) / k->block;
}

spectral__conv_kernel *spectral__conv_kernel_new(const double *filt, size_t len, size_t nfilt,
                                                 size_t decim) {
    if (len == 0 || nfilt == 0 || decim == 0) return NULL;
    spectral__conv_kernel *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    pick_sizes(k, len, decim);
    k->decim = decim;
    k->nfilt = nfilt;
    k->cbins = k->fft / 2 + 1;
    size_t n = k->fft, per = 2 * k->cbins;
    k->spec = circa_fft_alloc(nfilt * k->parts * per * sizeof(double));
    double *t = circa_fft_alloc(n * sizeof(double));
    if (!k->spec || !t || circa_fft_get(n, CIRCA_FFT_F64, CIRCA_FFT_FORWARD, &k->fwd) ||
        circa_fft_get(n / decim, CIRCA_FFT_F64, CIRCA_FFT_INVERSE, &k->inv)) {
        circa_fft_dealloc(t);
        spectral__conv_kernel_free(k);
        return NULL;
    }
    for (size_t f = 0; f < nfilt; f++)
        for (size_t p = 0; p < k->parts; p++) {
            size_t first = p * k->plen, m = len - first < k->plen ? len - first : k->plen;
            memset(t, 0, n * sizeof *t);
            for (size_t j = 0; j < m; j++) t[j] = filt[f * len + first + j] / (double)n;
            circa_fft_forward(k->fwd, t, k->spec + (f * k->parts + p) * per);
        }
    circa_fft_dealloc(t);
    return k;
}

/* ---- one channel ------------------------------------------------------------ */
struct spectral__conv {
    const spectral__conv_kernel *k;
    double *x;      /* N: history, then the current block */
    double *fdl;    /* frequency-domain delay line: parts spectra of the input */
    double *acc;    /* one accumulated output spectrum */
    double *z;      /* the spectrum folded for decimation (D > 1) */
    double *y;      /* N / D: time-domain output of the inverse FFT */
    size_t head;    /* slot of the newest input spectrum in fdl */
};

void spectral__conv_free(spectral__conv *c) {
    if (!c) return;
    circa_fft_dealloc(c->x);
    circa_fft_dealloc(c->fdl);
    circa_fft_dealloc(c->acc);
    circa_fft_dealloc(c->z);
    circa_fft_dealloc(c->y);
    free(c);
}

spectral__conv *spectral__conv_new(const spectral__conv_kernel *k) {
    spectral__conv *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    size_t per = 2 * k->cbins;
    c->k = k;
    c->x = circa_fft_alloc(k->fft * sizeof(double));
    c->fdl = circa_fft_alloc(k->parts * per * sizeof(double));
    c->acc = circa_fft_alloc(per * sizeof(double));
    c->z = circa_fft_alloc((k->fft / k->decim + 2) * sizeof(double));
    c->y = circa_fft_alloc(k->fft / k->decim * sizeof(double));
    if (!c->x || !c->fdl || !c->acc || !c->z || !c->y) {
        spectral__conv_free(c);
        return NULL;
    }
    memset(c->x, 0, k->fft * sizeof(double));
    memset(c->fdl, 0, k->parts * per * sizeof(double));
    return c;
}

/* acc += a * b over n complex numbers (interleaved re, im): the hot loop of
 * partitioned convolution. With GCC, two complex products per 4-wide vector
 * (re/im duplicated by shuffles), and an avx2 clone picked at load time. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4i __attribute__((vector_size(32)));

__attribute__((target_clones("avx2", "default"))) static void cmac(double *restrict acc,
                                                                   const double *restrict a,
                                                                   const double *restrict b,
                                                                   size_t n) {
    const v4i dup_re = {0, 0, 2, 2}, dup_im = {1, 1, 3, 3}, swap = {1, 0, 3, 2};
    const v4d sign = {-1, 1, -1, 1};
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        v4d va, vb, vc;
        memcpy(&va, a + 2 * i, sizeof va);
        memcpy(&vb, b + 2 * i, sizeof vb);
        memcpy(&vc, acc + 2 * i, sizeof vc);
        v4d re = __builtin_shuffle(va, dup_re), im = __builtin_shuffle(va, dup_im);
        vc += re * vb + im * __builtin_shuffle(vb, swap) * sign;
        memcpy(acc + 2 * i, &vc, sizeof vc);
    }
    for (; i < n; i++) {
        double ar = a[2 * i], ai = a[2 * i + 1], br = b[2 * i], bi = b[2 * i + 1];
        acc[2 * i] += ar * br - ai * bi;
        acc[2 * i + 1] += ar * bi + ai * br;
    }
}
#else
static void cmac(double *restrict acc, const double *restrict a, const double *restrict b,
                 size_t n) {
    for (size_t i = 0; i < n; i++) {
        double ar = a[2 * i], ai = a[2 * i + 1], br = b[2 * i], bi = b[2 * i + 1];
        acc[2 * i] += ar * br - ai * bi;
        acc[2 * i + 1] += ar * bi + ai * br;
    }
}
#endif

/* Folds an N-point half spectrum onto N/D points: z[k] = sum over r of
 * Y[k + r N/D], k = 0 .. N/(2D), where Y[j] for j > N/2 is conj(Y[N - j]). */
static void fold(const double *y, size_t n, size_t d, double *z) {
    size_t m = n / d;
    for (size_t k = 0; k <= m / 2; k++) {
        double re = 0, im = 0;
        for (size_t j = k; j < n; j += m) {
            if (j <= n / 2) {
                re += y[2 * j];
                im += y[2 * j + 1];
            } else {
                re += y[2 * (n - j)];
                im -= y[2 * (n - j) + 1];
            }
        }
        z[2 * k] = re;
        z[2 * k + 1] = im;
    }
}

void spectral__conv_run(spectral__conv *c, const double *in, double *out) {
    const spectral__conv_kernel *k = c->k;
    size_t b = k->block, keep = k->fft - b, per = 2 * k->cbins, d = k->decim;
    memmove(c->x, c->x + b, keep * sizeof(double));
    memcpy(c->x + keep, in, b * sizeof(double));
    c->head = c->head + 1 == k->parts ? 0 : c->head + 1;
    circa_fft_forward(k->fwd, c->x, c->fdl + c->head * per);
    for (size_t f = 0; f < k->nfilt; f++) {
        memset(c->acc, 0, per * sizeof(double));
        size_t slot = c->head;
        for (size_t p = 0; p < k->parts; p++) {
            cmac(c->acc, c->fdl + slot * per, k->spec + (f * k->parts + p) * per, k->cbins);
            slot = slot == 0 ? k->parts - 1 : slot - 1;
        }
        if (d > 1) fold(c->acc, k->fft, d, c->z);
        circa_fft_inverse(k->inv, d > 1 ? c->z : c->acc, c->y);
        /* overlap-save: the last block outputs are the linear convolution */
        memcpy(out + f * (b / d), c->y + keep / d, b / d * sizeof(double));
    }
}

/* ---- the streaming operator ------------------------------------------------------ */
/* Output sample m of the full convolution (length in + taps - 1) is
 * emitted when lead <= m < in + taps - 1 - tail: lead = tail = (taps-1)/2
 * makes a linear-phase filter time-aligned and length-preserving. */
typedef struct conv_op {
    uint32_t channels;
    size_t block, taps, lead, tail;
    spectral__conv_kernel **kernels; /* one, or one per channel */
    size_t nkernels;
    spectral__conv **chan;
    double *in;        /* [channels][block] deinterleaved input */
    double *out;       /* [channels][block] last computed block */
    size_t fill;       /* input frames in `in` */
    size_t out_pos;    /* next frame of `out` to emit */
    uint64_t in_total; /* frames consumed */
    uint64_t out_base; /* convolution index of out[0]; UINT64_MAX before the first block */
    int done;
} conv_op;

static void conv_op_free(void *p) {
    conv_op *s = p;
    if (!s) return;
    for (uint32_t c = 0; s->chan && c < s->channels; c++) spectral__conv_free(s->chan[c]);
    for (size_t i = 0; s->kernels && i < s->nkernels; i++)
        spectral__conv_kernel_free(s->kernels[i]);
    free(s->chan);
    free(s->kernels);
    free(s->in);
    free(s->out);
    free(s);
}

/* Emits computed frames; returns 1 when the caller's buffer is full. */
static int conv_emit(conv_op *s, int draining, float *out, size_t cap, size_t *produced) {
    uint64_t end = s->in_total + s->taps - 1 - s->tail;
    while (s->out_pos < s->block) {
        uint64_t m = s->out_base + s->out_pos;
        if (draining && m >= end) {
            s->done = 1;
            return 0;
        }
        if (m >= s->lead) {
            if (*produced == cap) return 1;
            float *o = out + *produced * s->channels;
            for (uint32_t c = 0; c < s->channels; c++)
                o[c] = (float)s->out[c * s->block + s->out_pos];
            ++*produced;
        }
        s->out_pos++;
    }
    return 0;
}

/* Convolves the buffered input block (zero-padded when short). */
static void conv_step(conv_op *s) {
    for (uint32_t c = 0; c < s->channels; c++) {
        double *in = s->in + c * s->block;
        memset(in + s->fill, 0, (s->block - s->fill) * sizeof *in);
        spectral__conv_run(s->chan[c], in, s->out + c * s->block);
    }
    s->out_base = s->out_base == UINT64_MAX ? 0 : s->out_base + s->block;
    s->out_pos = 0;
    s->fill = 0;
}

static circa_status conv_process(circa_op *op, const float *in, size_t in_frames,
                                 size_t *consumed, float *out, size_t out_cap, size_t *produced) {
    conv_op *s = op->state;
    int draining = in == NULL && in_frames == 0;
    *consumed = *produced = 0;
    for (;;) {
        if (s->done || conv_emit(s, draining, out, out_cap, produced) || s->done) return CIRCA_OK;
        while (!draining && s->fill < s->block && *consumed < in_frames) {
            const float *f = in + *consumed * s->channels;
            for (uint32_t c = 0; c < s->channels; c++) s->in[c * s->block + s->fill] = f[c];
            s->fill++;
            ++*consumed;
            s->in_total++;
        }
        if (s->fill < s->block && !draining) return CIRCA_OK;
        conv_step(s);
    }
}

circa_status spectral__conv_op_create(const char *name, const double *filt, size_t taps,
                                      size_t nfilt, size_t lead, size_t tail, uint32_t rate,
                                      uint32_t channels, circa_op **out) {
    *out = NULL;
    if (taps == 0 || channels == 0 || (nfilt != 1 && nfilt != channels) || lead + tail > taps - 1)
        return CIRCA_E_PARAM;
    conv_op *s = calloc(1, sizeof *s);
    if (!s) return CIRCA_E_NOMEM;
    s->channels = channels;
    s->taps = taps;
    s->lead = lead;
    s->tail = tail;
    s->nkernels = nfilt;
    s->out_base = UINT64_MAX;
    s->out_pos = 0;
    s->kernels = calloc(nfilt, sizeof *s->kernels);
    s->chan = calloc(channels, sizeof *s->chan);
    int ok = s->kernels && s->chan;
    for (size_t i = 0; ok && i < nfilt; i++)
        ok = (s->kernels[i] = spectral__conv_kernel_new(filt + i * taps, taps, 1, 1)) != NULL;
    if (ok) {
        s->block = spectral__conv_block(s->kernels[0]);
        s->out_pos = s->block; /* nothing computed yet */
        s->in = malloc(channels * s->block * sizeof *s->in);
        s->out = malloc(channels * s->block * sizeof *s->out);
        ok = s->in && s->out;
    }
    for (uint32_t c = 0; ok && c < channels; c++)
        ok = (s->chan[c] = spectral__conv_new(s->kernels[nfilt == 1 ? 0 : c])) != NULL;
    if (!ok) {
        conv_op_free(s);
        return CIRCA_E_NOMEM;
    }
    return spectral__op_new(name, rate, rate, channels, conv_process, conv_op_free, s, out);
}

circa_status circa_op_fir_create(const float *ir, size_t ir_frames, uint32_t ir_channels,
                                 uint32_t rate, uint32_t channels, circa_op **out) {
    *out = NULL;
    if (!ir || ir_frames == 0 || channels == 0 || rate == 0 ||
        (ir_channels != 1 && ir_channels != channels))
        return CIRCA_E_PARAM;
    double *filt = malloc((size_t)ir_channels * ir_frames * sizeof *filt);
    if (!filt) return CIRCA_E_NOMEM;
    for (uint32_t c = 0; c < ir_channels; c++) /* deinterleave */
        for (size_t j = 0; j < ir_frames; j++) filt[c * ir_frames + j] = ir[j * ir_channels + c];
    circa_status st =
        spectral__conv_op_create("fir", filt, ir_frames, ir_channels, 0, 0, rate, channels, out);
    free(filt);
    return st;
}
