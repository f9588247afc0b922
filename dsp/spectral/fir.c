/* fir.c: Kaiser-window FIR design (lowpass, highpass, bandpass) and the delay-compensated filter operator. */
#include <math.h>
#include <stdlib.h>
#include "circa/special.h"
#include "spectral_internal.h"

#define FIR_MAX_TAPS ((size_t)1 << 22)
#define FIR_DEFAULT_ATTEN 80.0

/* The lowest cutoff, which bounds the default transition width. */
static double lowest_cutoff(const circa_fir_spec *s) {
    return s->type == CIRCA_FIR_BANDPASS && s->f2_hz < s->f1_hz ? s->f2_hz : s->f1_hz;
}

/* Checks the spec against the rate and fills defaults; CIRCA_E_PARAM when a
 * transition band does not fit strictly inside (0, rate/2). */
static circa_status resolve(const circa_fir_spec *in, double rate, circa_fir_spec *s) {
    *s = *in;
    if (!(rate > 0) || s->type > CIRCA_FIR_BANDPASS) return CIRCA_E_PARAM;
    if (s->atten_db == 0) s->atten_db = FIR_DEFAULT_ATTEN;
    if (s->width_hz == 0) s->width_hz = fmin(lowest_cutoff(s) / 4, rate / 40);
    if (!(s->atten_db >= 20 && s->atten_db <= 300) || !(s->width_hz > 0)) return CIRCA_E_PARAM;
    double nyq = rate / 2, h = s->width_hz / 2;
    if (!(s->f1_hz - h > 0 && s->f1_hz + h < nyq)) return CIRCA_E_PARAM;
    if (s->type == CIRCA_FIR_BANDPASS &&
        !(s->f2_hz - h > s->f1_hz + h && s->f2_hz + h < nyq))
        return CIRCA_E_PARAM;
    return CIRCA_OK;
}

/* Adds sign * ideal lowpass (cutoff fc, cycles per sample) centred on the middle tap. */
static void add_lowpass(double *h, size_t n, double fc, double sign) {
    double mid = (double)(n - 1) / 2;
    for (size_t k = 0; k < n; k++) h[k] += sign * 2 * fc * spectral__sinc(2 * fc * ((double)k - mid));
}

circa_status circa_fir_design(const circa_fir_spec *spec, double rate, double **taps, size_t *n) {
    circa_fir_spec s;
    *taps = NULL;
    *n = 0;
    circa_status st = spec ? resolve(spec, rate, &s) : CIRCA_E_PARAM;
    if (st) return st;
    /* Kaiser's formulas land within about 1 dB of the asked attenuation; a
     * bandpass sums two lowpasses' errors (up to 6 dB more): design with that
     * margin so the stated attenuation holds. */
    double atten = s.atten_db + (s.type == CIRCA_FIR_BANDPASS ? 7 : 1);
    double len = ceil(spectral__kaiser_taps(atten, s.width_hz / rate));
    if (len > (double)FIR_MAX_TAPS) return CIRCA_E_PARAM;
    size_t m = (size_t)len | 1; /* odd: type I, so highpass and bandpass are possible */
    double *h = calloc(m, sizeof *h), *w = malloc(m * sizeof *w);
    if (!h || !w) {
        free(h);
        free(w);
        return CIRCA_E_NOMEM;
    }
    double f1 = s.f1_hz / rate, f2 = s.f2_hz / rate;
    if (s.type == CIRCA_FIR_LOWPASS) add_lowpass(h, m, f1, 1);
    if (s.type == CIRCA_FIR_HIGHPASS) {
        h[m / 2] = 1; /* all-pass minus lowpass */
        add_lowpass(h, m, f1, -1);
    }
    if (s.type == CIRCA_FIR_BANDPASS) {
        add_lowpass(h, m, f2, 1);
        add_lowpass(h, m, f1, -1);
    }
    circa_kaiser_window(w, m, circa_kaiser_beta(atten));
    for (size_t k = 0; k < m; k++) h[k] *= w[k];
    free(w);
    *taps = h;
    *n = m;
    return CIRCA_OK;
}

circa_status circa_op_filter_create(const circa_fir_spec *spec, uint32_t rate, uint32_t channels,
                                    circa_op **out) {
    double *h;
    size_t n;
    *out = NULL;
    if (channels == 0) return CIRCA_E_PARAM;
    circa_status st = circa_fir_design(spec, rate, &h, &n);
    if (st) return st;
    static const char *const names[] = {"lowpass", "highpass", "bandpass"};
    st = spectral__conv_op_create(names[spec->type], h, n, 1, (n - 1) / 2, (n - 1) / 2, rate,
                                  channels, out);
    free(h);
    return st;
}
