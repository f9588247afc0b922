/* stft.c: short-time Fourier transform and its weighted overlap-add inverse with perfect reconstruction for any hop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "spectral_internal.h"

struct circa_stft {
    size_t n, hop, bins;
    double *win;      /* analysis window */
    double *syn;      /* synthesis window divided by the overlapped window sum */
    double *tbuf;     /* n reals (aligned) */
    double *fbuf;     /* 2 * bins (aligned) */
    const circa_fft *fwd, *inv;
};

void circa_stft_free(circa_stft *st) {
    if (!st) return;
    free(st->win);
    free(st->syn);
    circa_fft_dealloc(st->tbuf);
    circa_fft_dealloc(st->fbuf);
    free(st);
}

/* Fills the windows. The synthesis window is divided by the sum over every
 * frame overlapping a sample of analysis x synthesis, a sum that depends only
 * on the sample's position mod hop; so overlap-add gives x back exactly,
 * whatever the hop. The inverse FFT's factor n is folded in too. */
static void make_windows(circa_stft *st, circa_window kind) {
    size_t n = st->n, hop = st->hop;
    for (size_t k = 0; k < n; k++) {
        double s = sin(SPECTRAL_PI * (k + 0.5) / (double)n);
        st->win[k] = kind == CIRCA_WINDOW_HANN ? s * s : s;
        st->syn[k] = kind == CIRCA_WINDOW_HANN ? 1 : s;
    }
    for (size_t r = 0; r < hop && r < n; r++) {
        double sum = 0;
        for (size_t k = r; k < n; k += hop) sum += st->win[k] * st->syn[k];
        for (size_t k = r; k < n; k += hop) st->syn[k] /= sum * (double)n;
    }
}

circa_status circa_stft_create(const circa_stft_config *cfg, circa_stft **out) {
    *out = NULL;
    if (!cfg || cfg->n_fft < 2 || cfg->hop < 1 || cfg->hop > cfg->n_fft ||
        (cfg->window != CIRCA_WINDOW_HANN && cfg->window != CIRCA_WINDOW_SQRT_HANN))
        return CIRCA_E_PARAM;
    circa_stft *st = calloc(1, sizeof *st);
    if (!st) return CIRCA_E_NOMEM;
    st->n = cfg->n_fft;
    st->hop = cfg->hop;
    st->bins = st->n / 2 + 1;
    st->win = malloc(st->n * sizeof *st->win);
    st->syn = malloc(st->n * sizeof *st->syn);
    st->tbuf = circa_fft_alloc(st->n * sizeof(double));
    st->fbuf = circa_fft_alloc(2 * st->bins * sizeof(double));
    circa_status s = CIRCA_E_NOMEM;
    if (st->win && st->syn && st->tbuf && st->fbuf &&
        (s = circa_fft_get(st->n, CIRCA_FFT_F64, CIRCA_FFT_FORWARD, &st->fwd)) == CIRCA_OK &&
        (s = circa_fft_get(st->n, CIRCA_FFT_F64, CIRCA_FFT_INVERSE, &st->inv)) == CIRCA_OK) {
        make_windows(st, cfg->window);
        *out = st;
        return CIRCA_OK;
    }
    circa_stft_free(st);
    return s;
}

size_t circa_stft_bins(const circa_stft *st) { return st->bins; }
const double *circa_stft_window(const circa_stft *st) { return st->win; }

size_t circa_stft_frames(const circa_stft *st, size_t len) {
    return (len + st->n - st->hop + st->hop - 1) / st->hop;
}

void circa_stft_analyze_frame(circa_stft *st, const double *x, double *spec) {
    for (size_t k = 0; k < st->n; k++) st->tbuf[k] = x[k] * st->win[k];
    circa_fft_forward(st->fwd, st->tbuf, spec);
}

void circa_stft_synthesize_frame(circa_stft *st, const double *spec, double *acc) {
    memcpy(st->fbuf, spec, 2 * st->bins * sizeof(double)); /* c2r destroys its input */
    circa_fft_inverse(st->inv, st->fbuf, st->tbuf);
    for (size_t k = 0; k < st->n; k++) acc[k] += st->tbuf[k] * st->syn[k];
}

/* Copies frame t's samples of x (zero outside [0, len)) into dst. */
static void gather_frame(const circa_stft *st, const double *x, size_t len, size_t t, double *dst) {
    /* frame start = t*hop - (n - hop), possibly negative */
    long long start = (long long)(t * st->hop) - (long long)(st->n - st->hop);
    for (size_t k = 0; k < st->n; k++) {
        long long i = start + (long long)k;
        dst[k] = i >= 0 && i < (long long)len ? x[i] : 0;
    }
}

circa_status circa_stft_forward(circa_stft *st, const double *x, size_t len, double *spec) {
    double *frame = malloc(st->n * sizeof *frame);
    if (!frame) return CIRCA_E_NOMEM;
    size_t frames = circa_stft_frames(st, len);
    for (size_t t = 0; t < frames; t++) {
        gather_frame(st, x, len, t, frame);
        circa_stft_analyze_frame(st, frame, spec + 2 * st->bins * t);
    }
    free(frame);
    return CIRCA_OK;
}

circa_status circa_stft_inverse(circa_stft *st, const double *spec, double *y, size_t len) {
    double *acc = calloc(st->n, sizeof *acc);
    if (!acc) return CIRCA_E_NOMEM;
    size_t frames = circa_stft_frames(st, len), hop = st->hop, lead = st->n - hop;
    /* acc holds samples [t*hop - lead, t*hop - lead + n) while frame t is added;
     * after it, the first hop of them are complete (sample i's last frame is
     * floor((i + lead) / hop) <= frames - 1). */
    for (size_t t = 0; t < frames; t++) {
        circa_stft_synthesize_frame(st, spec + 2 * st->bins * t, acc);
        long long first = (long long)(t * hop) - (long long)lead;
        for (size_t k = 0; k < hop; k++) {
            long long i = first + (long long)k;
            if (i >= 0 && i < (long long)len) y[i] = acc[k];
        }
        memmove(acc, acc + hop, (st->n - hop) * sizeof *acc);
        memset(acc + st->n - hop, 0, hop * sizeof *acc);
    }
    free(acc);
    return CIRCA_OK;
}
