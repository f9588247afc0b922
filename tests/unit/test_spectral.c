/* test_spectral.c: the spectral room: FFT plan cache (reuse, alignment, two
 * threads on one plan), STFT/ISTFT reconstruction, FFT convolution against
 * direct convolution, Kaiser filter responses, resampler SNR per preset with
 * exact length and alignment, denoise, and spectrogram PNGs.
 * CIRCA_TEST_QUICK=1 shortens signals (for sanitizer builds). */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fdopen */
#include <criterion/criterion.h>
#include <math.h>
#include <png.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "circa/spectral.h"

#define PI 3.14159265358979323846

/* xorshift64*: deterministic test randomness. */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}
static double urand(void) { return (double)(rnd() >> 11) / 9007199254740992.0 * 2 - 1; }

static int quick(void) {
    const char *q = getenv("CIRCA_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

/* ---- operator driving -------------------------------------------------------- */
/* Runs a whole signal through an operator in uneven chunks with a small
 * output buffer (to exercise every buffering path), then drains it.
 * Returns the output (malloc) and its frame count in *out_frames. */
static float *run_op(circa_op *op, const float *in, size_t frames, size_t *out_frames) {
    uint32_t ic = op->in_channels, oc = op->out_channels;
    size_t cap = 1024, len = 0, pos = 0;
    float *out = malloc(cap * oc * sizeof *out);
    size_t chunk_sizes[] = {1, 7, 300, 4096, 33, 1000};
    float tmp[517 * 8];
    size_t tmp_cap = sizeof tmp / sizeof tmp[0] / oc, ci = 0;
    int draining = 0;
    for (;;) {
        size_t want = chunk_sizes[ci++ % 6];
        if (!draining && pos + want > frames) want = frames - pos;
        const float *src = draining ? NULL : in + pos * ic;
        size_t used = 0, made = 0;
        cr_assert_eq(circa_op_process(op, src, draining ? 0 : want, &used, tmp, tmp_cap, &made),
                     CIRCA_OK);
        if (len + made > cap) {
            while (len + made > cap) cap *= 2;
            out = realloc(out, cap * oc * sizeof *out);
        }
        memcpy(out + len * oc, tmp, made * oc * sizeof *out);
        len += made;
        pos += used;
        if (draining && made == 0) break;
        if (!draining && pos == frames) draining = 1;
    }
    *out_frames = len;
    return out;
}

static float *sine(size_t n, uint32_t channels, double freq, double rate, double amp) {
    float *x = malloc((n ? n : 1) * channels * sizeof *x);
    for (size_t k = 0; k < n; k++)
        for (uint32_t c = 0; c < channels; c++)
            x[k * channels + c] = (float)(amp * sin(2 * PI * freq * (double)k / rate + c));
    return x;
}

/* ---- FFT plan cache -------------------------------------------------------------- */
Test(fft, round_trip_both_precisions_and_reuse) {
    size_t sizes[] = {2, 3, 16, 100, 1024, 1155, 4096};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        const circa_fft *f, *b, *f2;
        cr_assert_eq(circa_fft_get(n, CIRCA_FFT_F64, CIRCA_FFT_FORWARD, &f), CIRCA_OK);
        cr_assert_eq(circa_fft_get(n, CIRCA_FFT_F64, CIRCA_FFT_INVERSE, &b), CIRCA_OK);
        size_t count = circa_fft_cache_count();
        cr_assert_eq(circa_fft_get(n, CIRCA_FFT_F64, CIRCA_FFT_FORWARD, &f2), CIRCA_OK);
        cr_assert_eq(f, f2, "a second get returns the cached plan");
        cr_assert_eq(circa_fft_cache_count(), count);
        double *x = circa_fft_alloc(n * sizeof *x), *y = circa_fft_alloc(n * sizeof *y);
        double *s = circa_fft_alloc((n + 2) * sizeof *s);
        for (size_t k = 0; k < n; k++) x[k] = urand();
        cr_assert_eq(circa_fft_forward(f, x, s), CIRCA_OK);
        if (n == 16) { /* DC bin is the sum */
            double sum = 0;
            for (size_t k = 0; k < n; k++) sum += x[k];
            cr_assert(fabs(s[0] - sum) < 1e-12);
        }
        cr_assert_eq(circa_fft_inverse(b, s, y), CIRCA_OK);
        for (size_t k = 0; k < n; k++) cr_assert(fabs(y[k] / (double)n - x[k]) < 1e-12);
        cr_assert_eq(circa_fft_inverse(f, s, y), CIRCA_E_PARAM, "direction is checked");
        cr_assert_eq(circa_fftf_forward(f, (float *)x, (float *)s), CIRCA_E_PARAM);
        circa_fft_dealloc(x);
        circa_fft_dealloc(y);
        circa_fft_dealloc(s);

        const circa_fft *ff, *fb;
        cr_assert_eq(circa_fft_get(n, CIRCA_FFT_F32, CIRCA_FFT_FORWARD, &ff), CIRCA_OK);
        cr_assert_eq(circa_fft_get(n, CIRCA_FFT_F32, CIRCA_FFT_INVERSE, &fb), CIRCA_OK);
        cr_assert_neq(ff, f, "float and double plans are distinct");
        float *xf = malloc((n + 1) * sizeof *xf), *yf = malloc((n + 1) * sizeof *yf);
        float *sf = malloc((n + 3) * sizeof *sf);
        for (size_t k = 0; k < n; k++) xf[k + 1] = (float)urand();
        /* deliberately misaligned buffers: the unaligned plan takes them */
        cr_assert_eq(circa_fftf_forward(ff, xf + 1, sf + 1), CIRCA_OK);
        cr_assert_eq(circa_fftf_inverse(fb, sf + 1, yf + 1), CIRCA_OK);
        for (size_t k = 0; k < n; k++) cr_assert(fabsf(yf[k + 1] / (float)n - xf[k + 1]) < 1e-5f);
        free(xf);
        free(yf);
        free(sf);
    }
    const circa_fft *bad;
    cr_assert_eq(circa_fft_get(1, CIRCA_FFT_F64, CIRCA_FFT_FORWARD, &bad), CIRCA_E_PARAM);
    cr_assert_null(bad);
    cr_assert_eq(circa_fft_good_size(1025), 1080);
    cr_assert_eq(circa_fft_good_size(4096), 4096);
}

/* Two threads execute the same cached plans at once, each on its own
 * buffers, and must match a single-threaded reference exactly. */
typedef struct fft_job {
    size_t n;
    const double *x, *want;
    int ok;
} fft_job;

static void *fft_worker(void *arg) {
    fft_job *j = arg;
    const circa_fft *f, *b;
    j->ok = circa_fft_get(j->n, CIRCA_FFT_F64, CIRCA_FFT_FORWARD, &f) == CIRCA_OK &&
            circa_fft_get(j->n, CIRCA_FFT_F64, CIRCA_FFT_INVERSE, &b) == CIRCA_OK;
    double *s = circa_fft_alloc((j->n + 2) * sizeof *s), *y = circa_fft_alloc(j->n * sizeof *y);
    for (int it = 0; j->ok && it < 200; it++) {
        circa_fft_forward(f, j->x, s);
        for (size_t k = 0; k < j->n + 2; k++) j->ok &= s[k] == j->want[k];
        circa_fft_inverse(b, s, y);
    }
    circa_fft_dealloc(s);
    circa_fft_dealloc(y);
    return NULL;
}

Test(fft, plans_shared_across_threads) {
    size_t n = 2048;
    const circa_fft *f;
    cr_assert_eq(circa_fft_get(n, CIRCA_FFT_F64, CIRCA_FFT_FORWARD, &f), CIRCA_OK);
    size_t count = circa_fft_cache_count();
    double *x = circa_fft_alloc(n * sizeof *x), *want = circa_fft_alloc((n + 2) * sizeof *want);
    for (size_t k = 0; k < n; k++) x[k] = urand();
    circa_fft_forward(f, x, want);
    fft_job jobs[2] = {{n, x, want, 0}, {n, x, want, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) cr_assert_eq(pthread_create(&t[i], NULL, fft_worker, &jobs[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    cr_assert(jobs[0].ok && jobs[1].ok, "both threads computed the reference spectrum");
    cr_assert_eq(circa_fft_cache_count(), count + 1, "only the inverse plan was added");
    circa_fft_dealloc(x);
    circa_fft_dealloc(want);
}

/* ---- STFT ------------------------------------------------------------------ */
Test(stft, perfect_reconstruction) {
    struct { size_t n, hop; circa_window w; } cases[] = {
        {512, 128, CIRCA_WINDOW_HANN},      {1024, 256, CIRCA_WINDOW_SQRT_HANN},
        {1024, 512, CIRCA_WINDOW_SQRT_HANN}, {500, 300, CIRCA_WINDOW_HANN},
        {256, 256, CIRCA_WINDOW_SQRT_HANN},  {64, 1, CIRCA_WINDOW_HANN}};
    size_t lens[] = {0, 1, 777, 10000};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t l = 0; l < 4; l++) {
            size_t len = lens[l];
            if (cases[c].hop == 1 && len > 1000) continue;
            circa_stft_config cfg = {cases[c].n, cases[c].hop, cases[c].w};
            circa_stft *st;
            cr_assert_eq(circa_stft_create(&cfg, &st), CIRCA_OK);
            cr_assert_eq(circa_stft_bins(st), cases[c].n / 2 + 1);
            size_t frames = circa_stft_frames(st, len);
            double *x = malloc((len + 1) * sizeof *x), *y = malloc((len + 1) * sizeof *y);
            double *spec = malloc((frames * circa_stft_bins(st) * 2 + 1) * sizeof *spec);
            for (size_t k = 0; k < len; k++) x[k] = urand();
            cr_assert_eq(circa_stft_forward(st, x, len, spec), CIRCA_OK);
            cr_assert_eq(circa_stft_inverse(st, spec, y, len), CIRCA_OK);
            double worst = 0;
            for (size_t k = 0; k < len; k++) worst = fmax(worst, fabs(y[k] - x[k]));
            cr_assert(worst <= 1e-6, "n %zu hop %zu len %zu: error %g", cases[c].n, cases[c].hop,
                      len, worst);
            free(x);
            free(y);
            free(spec);
            circa_stft_free(st);
        }
    circa_stft_free(NULL);
    circa_stft_config bad = {512, 513, CIRCA_WINDOW_HANN};
    circa_stft *st;
    cr_assert_eq(circa_stft_create(&bad, &st), CIRCA_E_PARAM);
}

Test(stft, sine_lands_in_its_bin) {
    circa_stft_config cfg = {1024, 256, CIRCA_WINDOW_HANN};
    circa_stft *st;
    cr_assert_eq(circa_stft_create(&cfg, &st), CIRCA_OK);
    double x[1024], spec[2 * 513], wsum = 0;
    for (int k = 0; k < 1024; k++) x[k] = 0.5 * cos(2 * PI * 100 * k / 1024.0);
    circa_stft_analyze_frame(st, x, spec);
    for (int k = 0; k < 1024; k++) wsum += circa_stft_window(st)[k];
    double mag = hypot(spec[200], spec[201]);
    cr_assert(fabs(2 * mag / wsum - 0.5) < 1e-3, "amplitude %g", 2 * mag / wsum);
    circa_stft_free(st);
}

/* ---- convolution ---------------------------------------------------------------- */
/* Relative L2 error of the fir operator against direct convolution in double. */
static double conv_error(size_t n, size_t taps, uint32_t channels, uint32_t ir_channels) {
    float *x = malloc(n * channels * sizeof *x), *ir = malloc(taps * ir_channels * sizeof *ir);
    for (size_t k = 0; k < n * channels; k++) x[k] = (float)urand();
    for (size_t k = 0; k < taps * ir_channels; k++)
        ir[k] = (float)(urand() * exp(-3.0 * (double)(k / ir_channels) / (double)taps));
    circa_op *op;
    cr_assert_eq(circa_op_fir_create(ir, taps, ir_channels, 48000, channels, &op), CIRCA_OK);
    size_t got;
    float *y = run_op(op, x, n, &got);
    cr_assert_eq(got, n + taps - 1, "full convolution length");
    double num = 0, den = 0;
    for (uint32_t c = 0; c < channels; c++) {
        uint32_t hc = ir_channels == 1 ? 0 : c;
        for (size_t m = 0; m < got; m++) {
            double want = 0;
            size_t lo = m >= taps - 1 ? m - (taps - 1) : 0, hi = m < n - 1 ? m : n - 1;
            for (size_t k = lo; k <= hi; k++)
                want += (double)x[k * channels + c] * ir[(m - k) * ir_channels + hc];
            double e = y[m * channels + c] - want;
            num += e * e;
            den += want * want;
        }
    }
    free(x);
    free(ir);
    free(y);
    circa_op_free(op);
    return sqrt(num / den);
}

Test(conv, equals_direct_convolution) {
    size_t big = quick() ? 9000 : 20000; /* above 8192 taps: several partitions */
    double e1 = conv_error(5000, 31, 2, 1);
    double e2 = conv_error(3000, 1000, 2, 2);
    double e3 = conv_error(quick() ? 6000 : 12000, big, 1, 1);
    double e4 = conv_error(10, 1, 1, 1);
    cr_assert(e1 < 1e-6 && e2 < 1e-6 && e3 < 1e-6 && e4 < 1e-6, "errors %g %g %g %g", e1, e2,
              e3, e4);
    circa_op *op;
    float ir[2] = {1, 1};
    cr_assert_eq(circa_op_fir_create(ir, 2, 3, 48000, 2, &op), CIRCA_E_PARAM);
    cr_assert_null(op);
    circa_op_free(NULL);
}

/* ---- FIR filters ------------------------------------------------------------------- */
/* |H(f)| in dB at f Hz, from a zero-padded FFT of the taps. */
typedef struct response {
    double *db;
    size_t bins;
    double hz_per_bin;
} response;

static response measure(const double *h, size_t n, double rate) {
    size_t m = 1 << 17;
    while (m < 4 * n) m *= 2;
    const circa_fft *f;
    cr_assert_eq(circa_fft_get(m, CIRCA_FFT_F64, CIRCA_FFT_FORWARD, &f), CIRCA_OK);
    double *t = circa_fft_alloc(m * sizeof *t), *s = circa_fft_alloc((m + 2) * sizeof *s);
    memset(t, 0, m * sizeof *t);
    memcpy(t, h, n * sizeof *t);
    circa_fft_forward(f, t, s);
    response r = {malloc((m / 2 + 1) * sizeof(double)), m / 2 + 1, rate / (double)m};
    for (size_t k = 0; k < r.bins; k++) r.db[k] = 20 * log10(hypot(s[2 * k], s[2 * k + 1]) + 1e-300);
    circa_fft_dealloc(t);
    circa_fft_dealloc(s);
    return r;
}

/* Worst |dB| over [lo, hi] Hz (ripple) or the highest dB there (stopband). */
static double band_max_abs(const response *r, double lo, double hi) {
    double worst = 0;
    for (size_t k = (size_t)ceil(lo / r->hz_per_bin); k < r->bins && k * r->hz_per_bin <= hi; k++)
        worst = fmax(worst, fabs(r->db[k]));
    return worst;
}
static double band_max(const response *r, double lo, double hi) {
    double worst = -1e9;
    for (size_t k = (size_t)ceil(lo / r->hz_per_bin); k < r->bins && k * r->hz_per_bin <= hi; k++)
        worst = fmax(worst, r->db[k]);
    return worst;
}

Test(filter, kaiser_responses_meet_the_spec) {
    double rate = 48000;
    struct { circa_fir_spec s; double pass_lo, pass_hi, stop1_lo, stop1_hi, stop2_lo, stop2_hi; } cases[] = {
        {{CIRCA_FIR_LOWPASS, 1000, 0, 200, 80}, 0, 900, 1100, 24000, 0, -1},
        {{CIRCA_FIR_HIGHPASS, 5000, 0, 1000, 60}, 5500, 23000, 0, 4500, 0, -1},
        {{CIRCA_FIR_BANDPASS, 300, 3400, 100, 100}, 350, 3350, 0, 250, 3450, 24000},
    };
    for (size_t i = 0; i < 3; i++) {
        double *h;
        size_t n;
        cr_assert_eq(circa_fir_design(&cases[i].s, rate, &h, &n), CIRCA_OK);
        cr_assert(n % 2 == 1);
        response r = measure(h, n, rate);
        double atten = cases[i].s.atten_db, delta = pow(10, -atten / 20);
        double ripple = band_max_abs(&r, cases[i].pass_lo, cases[i].pass_hi);
        double stop = fmax(band_max(&r, cases[i].stop1_lo, cases[i].stop1_hi),
                           band_max(&r, cases[i].stop2_lo, cases[i].stop2_hi));
        /* Kaiser: ripple ~ delta in both bands */
        cr_assert(ripple < 20 * log10(1 + 2 * delta), "case %zu ripple %g dB", i, ripple);
        cr_assert(stop < -atten, "case %zu stopband %g dB", i, stop);
        free(r.db);
        free(h);
    }
    double *h;
    size_t n;
    circa_fir_spec bad = {CIRCA_FIR_LOWPASS, 23900, 0, 400, 80};
    cr_assert_eq(circa_fir_design(&bad, rate, &h, &n), CIRCA_E_PARAM);
    circa_fir_spec bad2 = {CIRCA_FIR_BANDPASS, 3000, 1000, 100, 80};
    cr_assert_eq(circa_fir_design(&bad2, rate, &h, &n), CIRCA_E_PARAM);
}

Test(filter, operator_is_aligned_and_length_preserving) {
    size_t n = 20000;
    float *x = sine(n, 2, 500, 48000, 0.5);
    circa_fir_spec s = {CIRCA_FIR_LOWPASS, 2000, 0, 400, 90};
    circa_op *op;
    cr_assert_eq(circa_op_filter_create(&s, 48000, 2, &op), CIRCA_OK);
    size_t got;
    float *y = run_op(op, x, n, &got);
    cr_assert_eq(got, n);
    double worst = 0;
    for (size_t k = 2000; k < n - 2000; k++)
        for (int c = 0; c < 2; c++) worst = fmax(worst, fabs(y[2 * k + c] - x[2 * k + c]));
    cr_assert(worst < 1e-4, "passband sine changed by %g", worst);
    free(y);
    circa_op_free(op);
    s.type = CIRCA_FIR_HIGHPASS; /* the same sine is now in the stopband */
    cr_assert_eq(circa_op_filter_create(&s, 48000, 2, &op), CIRCA_OK);
    y = run_op(op, x, n, &got);
    worst = 0;
    for (size_t k = 2000; k < n - 2000; k++) worst = fmax(worst, fabs(y[2 * k]));
    cr_assert(worst < 0.5 * pow(10, -85 / 20.0), "stopband sine left %g", worst);
    free(y);
    free(x);
    circa_op_free(op);
}

/* ---- resampler --------------------------------------------------------------------- */
/* SNR (dB) of resampling a sine against the analytic sine at the output rate,
 * edges (50 ms) trimmed. */
static double resample_snr(uint32_t in_rate, uint32_t out_rate, circa_resample_quality q,
                           double freq, double seconds) {
    size_t n = (size_t)(seconds * in_rate);
    double amp = 0.5;
    float *x = sine(n, 1, freq, in_rate, amp);
    circa_op *op;
    cr_assert_eq(circa_resampler_create(in_rate, out_rate, 1, q, &op), CIRCA_OK);
    cr_assert_eq(op->out_rate, out_rate);
    size_t got;
    float *y = run_op(op, x, n, &got);
    cr_assert_eq(got, circa_resampler_output_frames(in_rate, out_rate, n));
    size_t trim = out_rate / 20;
    double sig = 0, err = 0;
    for (size_t k = trim; k + trim < got; k++) {
        double want = amp * sin(2 * PI * freq * (double)k / out_rate);
        sig += want * want;
        err += (y[k] - want) * (y[k] - want);
    }
    free(x);
    free(y);
    circa_op_free(op);
    return 10 * log10(sig / err);
}

Test(resample, sine_snr_per_preset, .timeout = 60) {
    /* float32 output caps the SNR near 140 dB; the floors are the presets'
     * attenuation less a margin, and `best` must reach 120 dB. */
    double floor_db[CIRCA_RESAMPLE_QUALITY_COUNT] = {65, 90, 115, 140};
    double seconds = quick() ? 0.3 : 1.0;
    for (int q = 0; q < CIRCA_RESAMPLE_QUALITY_COUNT; q++) {
        double up = resample_snr(44100, 48000, (circa_resample_quality)q, 1000, seconds);
        double down = resample_snr(48000, 8000, (circa_resample_quality)q, 1000, seconds);
        double odd = resample_snr(48000, 44100, (circa_resample_quality)q, 5000, seconds);
        double deep = resample_snr(96000, 8000, (circa_resample_quality)q, 1000, seconds);
        cr_log_info("resample %s: 44.1->48 %.1f dB, 48->8 %.1f dB, 48->44.1 (5 kHz) %.1f dB, "
                    "96->8 %.1f dB", circa_resample_preset_get(q)->name, up, down, odd, deep);
        cr_assert(up >= floor_db[q] && down >= floor_db[q] && odd >= floor_db[q] &&
                      deep >= floor_db[q],
                  "%s: %.1f %.1f %.1f %.1f dB", circa_resample_preset_get(q)->name, up, down, odd,
                  deep);
    }
}

Test(resample, exact_length) {
    uint32_t rates[][2] = {{44100, 48000}, {48000, 8000}, {8000, 44100}, {48000, 44100},
                           {22050, 16000}, {16000, 16000}, {96000, 32000}, {96000, 8000},
                           {44100, 8000}};
    size_t lens[] = {0, 1, 2, 147, 1000, 44101};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++)
        for (size_t l = 0; l < 6; l++) {
            float *x = sine(lens[l], 2, 440, rates[r][0], 0.3);
            circa_op *op;
            cr_assert_eq(circa_resampler_create(rates[r][0], rates[r][1], 2, CIRCA_RESAMPLE_LOW, &op),
                         CIRCA_OK);
            size_t got;
            float *y = run_op(op, x, lens[l], &got);
            uint64_t want = ((uint64_t)lens[l] * rates[r][1] + rates[r][0] - 1) / rates[r][0];
            cr_assert_eq(got, want, "%u -> %u, %zu frames: %zu, want %llu", rates[r][0],
                         rates[r][1], lens[l], got, (unsigned long long)want);
            cr_assert_eq(circa_resampler_output_frames(rates[r][0], rates[r][1], lens[l]), want);
            free(x);
            free(y);
            circa_op_free(op);
        }
    circa_op *op;
    cr_assert_eq(circa_resampler_create(0, 48000, 1, CIRCA_RESAMPLE_LOW, &op), CIRCA_E_PARAM);
    cr_assert_eq(circa_resampler_create(44100, 48000, 1, (circa_resample_quality)9, &op),
                 CIRCA_E_PARAM);
    circa_resample_quality q;
    cr_assert_eq(circa_resample_quality_parse("best", &q), CIRCA_OK);
    cr_assert_eq(q, CIRCA_RESAMPLE_BEST);
    cr_assert_eq(circa_resample_quality_parse("nope", &q), CIRCA_E_PARAM);
}

/* An impulse at input frame k0 peaks at output frame k0 * out / in and is
 * symmetric around it (linear phase, delay compensated: zero latency). */
Test(resample, zero_latency_impulse) {
    /* 48 -> 8 and 96 -> 8 kHz decimate inside stage 1 (by 3 and 6) */
    uint32_t rates[][3] = {{44100, 48000, 1470}, {48000, 8000, 600}, {8000, 44100, 160},
                           {96000, 8000, 1200}};
    for (size_t r = 0; r < 4; r++) {
        size_t n = 4000, k0 = rates[r][2];
        float *x = calloc(n, sizeof *x);
        x[k0] = 1;
        circa_op *op;
        cr_assert_eq(circa_resampler_create(rates[r][0], rates[r][1], 1, CIRCA_RESAMPLE_HIGH, &op),
                     CIRCA_OK);
        size_t got, peak = 0;
        float *y = run_op(op, x, n, &got);
        for (size_t k = 0; k < got; k++)
            if (fabsf(y[k]) > fabsf(y[peak])) peak = k;
        size_t want = k0 * rates[r][1] / rates[r][0];
        cr_assert_eq(peak, want, "%u -> %u: peak at %zu, want %zu", rates[r][0], rates[r][1], peak,
                     want);
        for (size_t j = 1; j < 20; j++)
            cr_assert(fabsf(y[peak - j] - y[peak + j]) < 1e-6, "symmetric around the peak");
        free(x);
        free(y);
        circa_op_free(op);
    }
}

/* ---- denoise ------------------------------------------------------------------------ */
static double rms(const float *x, size_t from, size_t to) {
    double s = 0;
    for (size_t k = from; k < to; k++) s += (double)x[k] * x[k];
    return sqrt(s / (double)(to - from));
}

/* Noise alone for 1 s, then noise plus a sine: the noise-only part drops by
 * most of the reduction, the sine keeps its level, and lengths match. */
Test(denoise, gates_noise_keeps_tone) {
    uint32_t rate = 16000;
    size_t n = 3 * rate;
    float *x = malloc(n * sizeof *x), *clean = malloc(n * sizeof *clean);
    for (size_t k = 0; k < n; k++) {
        clean[k] = k >= rate ? (float)(0.3 * sin(2 * PI * 1000 * (double)k / rate)) : 0;
        x[k] = clean[k] + (float)(0.01 * urand());
    }
    circa_op *op;
    cr_assert_eq(circa_op_denoise_create(NULL, rate, 1, &op), CIRCA_OK);
    size_t got;
    float *y = run_op(op, x, n, &got);
    cr_assert_eq(got, n, "length preserved");
    double before = rms(x, rate / 10, rate * 9 / 10), after = rms(y, rate / 10, rate * 9 / 10);
    double drop = 20 * log10(before / after);
    cr_assert(drop > 15, "noise-only part dropped by %.1f dB", drop);
    double tone = rms(y, rate * 12 / 10, rate * 28 / 10), want = rms(clean, rate * 12 / 10, rate * 28 / 10);
    cr_assert(fabs(20 * log10(tone / want)) < 0.5, "tone level changed by %.2f dB",
              20 * log10(tone / want));
    /* aligned: the error against the clean tone is far below the tone */
    double err = 0;
    for (size_t k = rate * 12 / 10; k < rate * 28 / 10; k++) err += (y[k] - clean[k]) * (y[k] - clean[k]);
    err = sqrt(err / (rate * 1.6));
    cr_assert(20 * log10(want / err) > 25, "tone SNR after denoise %.1f dB", 20 * log10(want / err));
    free(x);
    free(clean);
    free(y);
    circa_op_free(op);
    /* shorter than the profile segment, and empty */
    float short_in[100] = {0};
    cr_assert_eq(circa_op_denoise_create(NULL, rate, 1, &op), CIRCA_OK);
    y = run_op(op, short_in, 100, &got);
    cr_assert_eq(got, 100);
    free(y);
    circa_op_free(op);
    cr_assert_eq(circa_op_denoise_create(NULL, rate, 2, &op), CIRCA_OK);
    y = run_op(op, short_in, 0, &got);
    cr_assert_eq(got, 0);
    free(y);
    circa_op_free(op);
}

/* ---- spectrogram -------------------------------------------------------------------- */
/* Reads a PNG back as RGB; the caller frees *px. */
static void read_png(const char *path, png_image *img, unsigned char **px) {
    memset(img, 0, sizeof *img);
    img->version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_file(img, path), "readable PNG");
    img->format = PNG_FORMAT_RGB;
    *px = malloc(PNG_IMAGE_SIZE(*img));
    cr_assert(png_image_finish_read(img, NULL, *px, 0, NULL));
}

/* A 3 kHz tone at 8 kHz: its row is bright, a far row is dark; the image
 * has the layout's size whatever the input length. */
Test(spectrogram, tone_row_is_bright) {
    uint32_t rate = 8000;
    size_t lens[] = {100, 8000, (size_t)(quick() ? 60000 : 400000)};
    for (int i = 0; i < 3; i++) {
        size_t n = lens[i];
        float *x = sine(n, 2, 3000, rate, 0.5);
        circa_spectrogram_config cfg = circa_spectrogram_default();
        cfg.width = 200;
        cfg.height = 129;
        cfg.title = "test tone 3 kHz";
        circa_spectrogram *sg;
        cr_assert_eq(circa_spectrogram_create(&cfg, rate, 2, i == 2 ? -1 : (int64_t)n, &sg),
                     CIRCA_OK);
        for (size_t k = 0; k < n; k += 1000)
            cr_assert_eq(circa_spectrogram_push(sg, x + 2 * k, n - k < 1000 ? n - k : 1000),
                         CIRCA_OK);
        char path[] = "/tmp/circa-spectrogram-XXXXXX";
        int fd = mkstemp(path);
        FILE *fp = fdopen(fd, "wb");
        cr_assert_eq(circa_spectrogram_write_png(sg, fp), CIRCA_OK);
        fclose(fp);
        cr_assert_eq(circa_spectrogram_push(sg, x, 1), CIRCA_E_STATE);
        circa_spectrogram_free(sg);
        png_image img;
        unsigned char *px;
        read_png(path, &img, &px);
        unlink(path);
        /* layout: margins 60 + 72 around the plot, 24 + 36 and a 12 px gap */
        cr_assert_eq(img.width, 200 + 60 + 72);
        cr_assert_eq(img.height, 24 + 2 * 129 + 12 + 36);
        int x_mid = 60 + 100, y_tone = 24 + 128 - 96, y_far = 24 + 128 - 20; /* 3 kHz: bin 96 of 128 */
        unsigned char *t = px + 3 * ((size_t)y_tone * img.width + x_mid);
        unsigned char *f = px + 3 * ((size_t)y_far * img.width + x_mid);
        cr_assert(t[0] + t[1] + t[2] > 500, "tone pixel %d %d %d", t[0], t[1], t[2]);
        /* (100 samples are shorter than one DFT: the tone smears) */
        cr_assert(i == 0 || f[0] + f[1] + f[2] < 150, "far pixel %d %d %d", f[0], f[1], f[2]);
        free(px);
        free(x);
    }
    circa_spectrogram_free(NULL);
}
