/* ops.c: the operator shape's entry points and the simple operators: gain,
 * mixing several inputs, level statistics, and SNR / SI-SNR against a
 * reference. */
#include <math.h>
#include <stdlib.h>
#include "audio_internal.h"

/* ---- the operator shape -------------------------------------------------- */
circa_status circa_op_process(circa_op *op, const float *in, size_t in_frames, size_t *consumed,
                              float *out, size_t out_cap, size_t *produced) {
    if (consumed) *consumed = 0;
    if (produced) *produced = 0;
    if (!op || !op->process || !consumed || !produced || (!in && in_frames) || (!out && out_cap))
        return CIRCA_E_PARAM;
    return op->process(op, in, in_frames, consumed, out, out_cap, produced);
}

void circa_op_free(circa_op *op) {
    if (op && op->destroy) op->destroy(op);
}

/* ---- gain ---------------------------------------------------------------- */
double circa_db_to_gain(double db) { return pow(10.0, db / 20.0); }

typedef struct gain_op {
    circa_op op; /* first: the circa_op handed out is the gain_op */
    double factor;
} gain_op;

static circa_status gain_process(circa_op *op, const float *in, size_t in_frames, size_t *consumed,
                                 float *out, size_t out_cap, size_t *produced) {
    const gain_op *g = (const gain_op *)op;
    size_t n = in_frames < out_cap ? in_frames : out_cap;
    size_t samples = n * op->in_channels;
    /* One rounding, from the double product: 0 dB gives the input back. */
    for (size_t i = 0; i < samples; i++) out[i] = (float)((double)in[i] * g->factor);
    *consumed = n;
    *produced = n;
    return CIRCA_OK;
}

static void gain_destroy(circa_op *op) { free(op); }

circa_status circa_op_gain_create(double db, uint32_t rate, uint32_t channels, circa_op **out) {
    if (!out) return CIRCA_E_PARAM;
    *out = NULL;
    if (!isfinite(db) || circa__audio_check(rate, channels, NULL, 0) != CIRCA_OK) return CIRCA_E_PARAM;
    gain_op *g = calloc(1, sizeof *g);
    if (!g) return CIRCA_E_NOMEM;
    g->op.name = "gain";
    g->op.in_rate = g->op.out_rate = rate;
    g->op.in_channels = g->op.out_channels = channels;
    g->op.process = gain_process;
    g->op.destroy = gain_destroy;
    g->op.state = g;
    g->factor = circa_db_to_gain(db);
    *out = &g->op;
    return CIRCA_OK;
}

/* ---- mix ----------------------------------------------------------------- */
circa_status circa_mix(float *out, size_t frames, uint32_t channels, const float *const *in,
                       const size_t *in_frames, const double *gains_db, size_t n_inputs) {
    if ((!out && frames) || channels == 0 || (n_inputs && (!in || !in_frames))) return CIRCA_E_PARAM;
    for (size_t k = 0; k < n_inputs; k++)
        if (!in[k] && in_frames[k]) return CIRCA_E_PARAM;
    size_t samples = frames * channels;
    double acc[1024]; /* accumulate in double, a chunk at a time */
    for (size_t at = 0; at < samples; at += 1024) {
        size_t len = samples - at < 1024 ? samples - at : 1024;
        for (size_t i = 0; i < len; i++) acc[i] = 0.0;
        for (size_t k = 0; k < n_inputs; k++) {
            size_t have = in_frames[k] * channels; /* silent past its end */
            if (have <= at) continue;
            size_t m = have - at < len ? have - at : len;
            double g = gains_db ? circa_db_to_gain(gains_db[k]) : 1.0;
            for (size_t i = 0; i < m; i++) acc[i] += g * (double)in[k][at + i];
        }
        for (size_t i = 0; i < len; i++) out[at + i] = (float)acc[i];
    }
    return CIRCA_OK;
}

/* ---- level statistics ---------------------------------------------------- */
void circa_audio_stats_init(circa_audio_stats *s, uint32_t rate, uint32_t channels) {
    if (!s) return;
    s->rate = rate;
    s->channels = channels;
    s->frames = 0;
    s->peak = 0.0;
    s->sum_sq = 0.0;
}

void circa_audio_stats_update(circa_audio_stats *s, const float *buf, size_t frames) {
    if (!s || !buf) return;
    size_t n = frames * s->channels;
    for (size_t i = 0; i < n; i++) {
        double v = buf[i], a = fabs(v);
        if (a > s->peak) s->peak = a;
        s->sum_sq += v * v;
    }
    s->frames += frames;
}

static double to_db(double amplitude) { return amplitude > 0.0 ? 20.0 * log10(amplitude) : -INFINITY; }

double circa_audio_stats_peak_db(const circa_audio_stats *s) { return s ? to_db(s->peak) : NAN; }

double circa_audio_stats_rms_db(const circa_audio_stats *s) {
    if (!s) return NAN;
    double n = (double)s->frames * s->channels;
    return n > 0 ? to_db(sqrt(s->sum_sq / n)) : -INFINITY;
}

double circa_audio_stats_duration(const circa_audio_stats *s) {
    return s && s->rate ? (double)s->frames / s->rate : 0.0;
}

/* ---- SNR and SI-SNR ------------------------------------------------------ */
/* 10 log10(signal / noise) with the edge cases the header promises. */
static double ratio_db(double signal, double noise) {
    if (noise > 0.0) return signal > 0.0 ? 10.0 * log10(signal / noise) : -INFINITY;
    return signal > 0.0 ? INFINITY : NAN;
}

double circa_audio_snr(const float *ref, const float *est, size_t n) {
    if (!ref || !est || n == 0) return NAN;
    double s = 0.0, e = 0.0;
    for (size_t i = 0; i < n; i++) {
        double r = ref[i], d = (double)est[i] - r;
        s += r * r;
        e += d * d;
    }
    return ratio_db(s, e);
}

double circa_audio_si_snr(const float *ref, const float *est, size_t n) {
    if (!ref || !est || n == 0) return NAN;
    double mr = 0.0, me = 0.0;
    for (size_t i = 0; i < n; i++) {
        mr += ref[i];
        me += est[i];
    }
    mr /= (double)n;
    me /= (double)n;
    double rr = 0.0, re = 0.0;
    for (size_t i = 0; i < n; i++) {
        double r = ref[i] - mr, e = est[i] - me;
        rr += r * r;
        re += r * e;
    }
    if (rr <= 0.0) return NAN;
    double alpha = re / rr, t = 0.0, noise = 0.0;
    for (size_t i = 0; i < n; i++) { /* second pass: the residual exactly, not by cancellation */
        double target = alpha * (ref[i] - mr), d = (est[i] - me) - target;
        t += target * target;
        noise += d * d;
    }
    return ratio_db(t, noise);
}

void circa_audio_compare_init(circa_audio_compare *c) {
    if (c) *c = (circa_audio_compare){0};
}

void circa_audio_compare_update(circa_audio_compare *c, const float *ref, const float *est,
                                size_t n) {
    if (!c || !ref || !est) return;
    for (size_t i = 0; i < n; i++) {
        double r = ref[i], e = est[i], d = e - r;
        c->sr += r;
        c->se += e;
        c->srr += r * r;
        c->see += e * e;
        c->sre += r * e;
        c->sdd += d * d;
    }
    c->n += n;
}

double circa_audio_compare_snr(const circa_audio_compare *c) {
    return c && c->n ? ratio_db(c->srr, c->sdd) : NAN;
}

/* From the sums: zero-mean energies and cross term, then |t|^2 = re^2/rr
 * and |e - t|^2 = ee - re^2/rr. Cancellation limits this to about 150 dB,
 * so an exact match reports +INFINITY through the sdd == 0 test. */
double circa_audio_compare_si_snr(const circa_audio_compare *c) {
    if (!c || c->n == 0) return NAN;
    double n = (double)c->n;
    double rr = c->srr - c->sr * c->sr / n, ee = c->see - c->se * c->se / n;
    double re = c->sre - c->sr * c->se / n;
    if (rr <= 0.0) return NAN;
    if (c->sdd == 0.0) return INFINITY;
    double t = re * re / rr, noise = ee - t;
    if (noise < 0.0) noise = 0.0;
    return ratio_db(t, noise);
}
