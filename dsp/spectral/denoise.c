/* denoise.c: spectral-gating noise reduction as a streaming operator: a noise profile from the quietest frames of a leading segment, a per-bin gate smoothed over frequency and time, sqrt-Hann WOLA resynthesis. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "spectral_internal.h"

circa_denoise_config circa_denoise_default(void) {
    return (circa_denoise_config){2.0, 0.2, 6.0, 24.0, 150.0, 60.0};
}

typedef struct denoise {
    uint32_t rate, channels;
    size_t n, hop, bins, fwidth; /* frame, hop, bins, frequency smoothing half-width (bins) */
    double floor_gain, decay, quiet_fraction, threshold;
    circa_stft *st;
    double *spec, *mask, *smooth; /* [2 bins], [bins], [bins] scratch */
    double *noise;                /* [channels][bins] gate threshold (power) */
    double *gate;                 /* [channels][bins] time-smoothed mask */
    double *frame, *acc;          /* [channels][n] analysis input, synthesis sum */
    float *lead;                  /* leading segment, interleaved, until profiled */
    size_t lead_cap, lead_len, lead_pos;
    int profiled, done;
    size_t fill;                  /* samples in the newest hop of frame */
    float *outq;                  /* completed samples, interleaved */
    size_t outq_len, outq_pos;
    uint64_t in_total, fed;       /* input consumed; samples (and padding) pushed to frames */
} denoise;

static void denoise_free(void *p) {
    denoise *d = p;
    if (!d) return;
    circa_stft_free(d->st);
    free(d->spec);
    free(d->mask);
    free(d->smooth);
    free(d->noise);
    free(d->gate);
    free(d->frame);
    free(d->acc);
    free(d->lead);
    free(d->outq);
    free(d);
}

/* ---- noise profile -------------------------------------------------------- */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Power spectrum of the lead segment's frame at sample s of channel c. */
static void lead_power(denoise *d, uint32_t c, size_t s, double *power) {
    for (size_t k = 0; k < d->n; k++) {
        size_t i = s + k;
        d->frame[k] = i < d->lead_len ? d->lead[i * d->channels + c] : 0;
    }
    circa_stft_analyze_frame(d->st, d->frame, d->spec);
    for (size_t k = 0; k < d->bins; k++)
        power[k] = d->spec[2 * k] * d->spec[2 * k] + d->spec[2 * k + 1] * d->spec[2 * k + 1];
}

/* Noise per bin = mean power of the quietest frames (whole frames inside
 * the segment, at least one); the gate threshold is that times `threshold`.
 * Two passes (energies, then the chosen frames) keep memory to one frame. */
static circa_status make_profile(denoise *d) {
    size_t count = d->lead_len >= d->n ? (d->lead_len - d->n) / d->hop + 1 : 1;
    double *energy = malloc(count * sizeof *energy), *sorted = malloc(count * sizeof *sorted);
    if (!energy || !sorted) {
        free(energy);
        free(sorted);
        return CIRCA_E_NOMEM;
    }
    size_t keep = (size_t)ceil(d->quiet_fraction * (double)count);
    keep = keep < 1 ? 1 : keep > count ? count : keep;
    for (uint32_t c = 0; c < d->channels; c++) {
        double *noise = d->noise + c * d->bins;
        for (size_t t = 0; t < count; t++) {
            lead_power(d, c, t * d->hop, d->mask);
            energy[t] = 0;
            for (size_t k = 0; k < d->bins; k++) energy[t] += d->mask[k];
            sorted[t] = energy[t];
        }
        qsort(sorted, count, sizeof *sorted, cmp_double);
        double cut = sorted[keep - 1];
        size_t used = 0;
        memset(noise, 0, d->bins * sizeof *noise);
        for (size_t t = 0; t < count && used < keep; t++) {
            if (energy[t] > cut) continue;
            lead_power(d, c, t * d->hop, d->mask);
            for (size_t k = 0; k < d->bins; k++) noise[k] += d->mask[k];
            used++;
        }
        for (size_t k = 0; k < d->bins; k++) noise[k] *= d->threshold / (double)used;
    }
    free(energy);
    free(sorted);
    memset(d->frame, 0, d->channels * d->n * sizeof *d->frame);
    d->profiled = 1;
    return CIRCA_OK;
}

/* ---- gating ---------------------------------------------------------------- */
/* Gates one channel's current frame and overlap-adds it into acc. */
static void gate_frame(denoise *d, uint32_t c) {
    double *frame = d->frame + c * d->n, *noise = d->noise + c * d->bins;
    double *gate = d->gate + c * d->bins, w = (double)d->fwidth + 1;
    circa_stft_analyze_frame(d->st, frame, d->spec);
    for (size_t k = 0; k < d->bins; k++) {
        double p = d->spec[2 * k] * d->spec[2 * k] + d->spec[2 * k + 1] * d->spec[2 * k + 1];
        d->mask[k] = p > noise[k] ? 1 : 0;
    }
    /* triangular smoothing across frequency, renormalised at the edges */
    for (size_t k = 0; k < d->bins; k++) {
        double sum = 0, wsum = 0;
        size_t lo = k > d->fwidth ? k - d->fwidth : 0, hi = k + d->fwidth;
        for (size_t j = lo; j <= hi && j < d->bins; j++) {
            double wt = w - fabs((double)j - (double)k);
            sum += wt * d->mask[j];
            wsum += wt;
        }
        d->smooth[k] = sum / wsum;
    }
    /* opens at once, closes with the release time constant */
    for (size_t k = 0; k < d->bins; k++) {
        double g = gate[k] * d->decay;
        gate[k] = d->smooth[k] > g ? d->smooth[k] : g;
        double gain = d->floor_gain + (1 - d->floor_gain) * gate[k];
        d->spec[2 * k] *= gain;
        d->spec[2 * k + 1] *= gain;
    }
    circa_stft_synthesize_frame(d->st, d->spec, d->acc + c * d->n);
}

/* Runs a full hop: every channel's frame, then queues the completed samples
 * (index fed - n .. fed - n + hop, those in [0, in_total) when draining). */
static void run_hop(denoise *d, int draining) {
    size_t n = d->n, hop = d->hop;
    d->fed += hop;
    for (uint32_t c = 0; c < d->channels; c++) gate_frame(d, c);
    d->outq_len = d->outq_pos = 0;
    for (size_t k = 0; k < hop; k++) {
        int64_t idx = (int64_t)d->fed - (int64_t)n + (int64_t)k;
        if (idx < 0 || (draining && (uint64_t)idx >= d->in_total)) continue;
        for (uint32_t c = 0; c < d->channels; c++)
            d->outq[d->outq_len * d->channels + c] = (float)d->acc[c * n + k];
        d->outq_len++;
    }
    for (uint32_t c = 0; c < d->channels; c++) {
        double *acc = d->acc + c * n, *frame = d->frame + c * n;
        memmove(acc, acc + hop, (n - hop) * sizeof *acc);
        memset(acc + n - hop, 0, hop * sizeof *acc);
        memmove(frame, frame + hop, (n - hop) * sizeof *frame);
    }
    d->fill = 0;
}

/* Appends one input frame (NULL: silence) to the newest hop; runs the hop
 * when it is full. Returns 1 when a hop ran. */
static int push(denoise *d, const float *x, int draining) {
    for (uint32_t c = 0; c < d->channels; c++)
        d->frame[c * d->n + d->n - d->hop + d->fill] = x ? x[c] : 0;
    if (++d->fill < d->hop) return 0;
    run_hop(d, draining);
    return 1;
}

static void emit(denoise *d, float *out, size_t cap, size_t *produced) {
    size_t n = d->outq_len - d->outq_pos;
    if (n > cap - *produced) n = cap - *produced;
    memcpy(out + *produced * d->channels, d->outq + d->outq_pos * d->channels,
           n * d->channels * sizeof *out);
    d->outq_pos += n;
    *produced += n;
}

static circa_status denoise_process(circa_op *op, const float *in, size_t in_frames,
                                    size_t *consumed, float *out, size_t out_cap,
                                    size_t *produced) {
    denoise *d = op->state;
    int draining = in == NULL && in_frames == 0;
    *consumed = *produced = 0;
    for (;;) {
        emit(d, out, out_cap, produced);
        if (d->outq_pos < d->outq_len || d->done) return CIRCA_OK;
        if (!d->profiled) {
            size_t take = d->lead_cap - d->lead_len;
            if (take > in_frames - *consumed) take = in_frames - *consumed;
            if (take)
                memcpy(d->lead + d->lead_len * d->channels, in + *consumed * d->channels,
                       take * d->channels * sizeof *in);
            d->lead_len += take;
            *consumed += take;
            d->in_total += take;
            if (d->lead_len < d->lead_cap && !draining) return CIRCA_OK;
            circa_status st = make_profile(d);
            if (st) return st;
        }
        int ran = 0;
        while (!ran && d->lead_pos < d->lead_len)
            ran = push(d, d->lead + d->lead_pos++ * d->channels, draining);
        while (!ran && !draining && *consumed < in_frames) {
            ran = push(d, in + (*consumed)++ * d->channels, 0);
            d->in_total++;
        }
        if (ran) continue;
        if (!draining) return CIRCA_OK;
        if (d->fed + d->hop >= d->in_total + d->n) d->done = 1; /* every sample was emitted */
        while (!d->done && !ran) ran = push(d, NULL, 1);
    }
}

circa_status circa_op_denoise_create(const circa_denoise_config *cfg, uint32_t rate,
                                     uint32_t channels, circa_op **out) {
    circa_denoise_config c = cfg ? *cfg : circa_denoise_default();
    *out = NULL;
    if (rate < 1000 || channels == 0 || !(c.profile_s > 0 && c.profile_s <= 600) ||
        !(c.quiet_fraction > 0 && c.quiet_fraction <= 1) || !(c.reduction_db >= 0) ||
        !(c.freq_smooth_hz >= 0) || !(c.release_ms >= 0) || !isfinite(c.threshold_db))
        return CIRCA_E_PARAM;
    denoise *d = calloc(1, sizeof *d);
    if (!d) return CIRCA_E_NOMEM;
    d->rate = rate;
    d->channels = channels;
    for (d->n = 256; (double)d->n < 0.046 * rate; d->n *= 2) {}
    d->hop = d->n / 4;
    d->bins = d->n / 2 + 1;
    d->fwidth = (size_t)floor(c.freq_smooth_hz / ((double)rate / (double)d->n) + 0.5);
    d->floor_gain = pow(10, -c.reduction_db / 20);
    d->decay = c.release_ms > 0 ? exp(-(double)d->hop / (c.release_ms / 1000 * rate)) : 0;
    d->quiet_fraction = c.quiet_fraction;
    d->threshold = pow(10, c.threshold_db / 10);
    d->lead_cap = (size_t)ceil(c.profile_s * rate);
    circa_stft_config sc = {d->n, d->hop, CIRCA_WINDOW_SQRT_HANN};
    circa_status st = circa_stft_create(&sc, &d->st);
    d->spec = malloc(2 * d->bins * sizeof *d->spec);
    d->mask = malloc(d->bins * sizeof *d->mask);
    d->smooth = malloc(d->bins * sizeof *d->smooth);
    d->noise = malloc(channels * d->bins * sizeof *d->noise);
    d->gate = calloc(channels * d->bins, sizeof *d->gate);
    d->frame = calloc(channels * d->n, sizeof *d->frame);
    d->acc = calloc(channels * d->n, sizeof *d->acc);
    d->lead = malloc(d->lead_cap * channels * sizeof *d->lead);
    d->outq = malloc(d->hop * channels * sizeof *d->outq);
    if (st || !d->spec || !d->mask || !d->smooth || !d->noise || !d->gate || !d->frame ||
        !d->acc || !d->lead || !d->outq) {
        denoise_free(d);
        return st ? st : CIRCA_E_NOMEM;
    }
    return spectral__op_new("denoise", rate, rate, channels, denoise_process, denoise_free, d,
                            out);
}
