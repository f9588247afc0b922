/* resample_tool.c: bench helper: writes test sines as float WAV and measures a converter's SNR against the analytic sine.
 *   resample_tool gen OUT RATE SECONDS FREQ AMP CHANNELS   float32 WAV of AMP*sin(2 pi FREQ t)
 *   resample_tool snr IN FREQ AMP TRIM_S
 * snr prints two numbers (dB, channel 1, TRIM_S trimmed at both ends):
 *   aligned: against AMP*sin(2 pi FREQ k / rate) itself (delay and gain errors count);
 *   fit:     against the best-fitting sinusoid at FREQ (noise and distortion only).
 *   resample_tool cmp A B [SHIFT]   SNR (dB) of B[k + SHIFT] against A[k] where both exist,
 *                                   all channels (SHIFT: B's extra leading frames, default 0) */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>

#define PI 3.14159265358979323846

static int gen(char **argv) {
    int rate = atoi(argv[2]), ch = atoi(argv[6]);
    double seconds = atof(argv[3]), f = atof(argv[4]), amp = atof(argv[5]);
    SF_INFO info = {.samplerate = rate, .channels = ch, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *out = sf_open(argv[1], SFM_WRITE, &info);
    if (!out) return 2;
    long n = (long)(seconds * rate);
    float *buf = malloc(sizeof(float) * 4096 * ch);
    for (long k = 0; k < n; k += 4096) {
        long m = n - k < 4096 ? n - k : 4096;
        for (long j = 0; j < m; j++)
            for (int c = 0; c < ch; c++) buf[j * ch + c] = (float)(amp * sin(2 * PI * f * (double)(k + j) / rate));
        sf_writef_float(out, buf, m);
    }
    free(buf);
    sf_close(out);
    return 0;
}

static int snr(char **argv) {
    SF_INFO info = {0};
    SNDFILE *in = sf_open(argv[1], SFM_READ, &info);
    if (!in) return 2;
    double f = atof(argv[2]), amp = atof(argv[3]), trim = atof(argv[4]);
    long n = (long)info.frames, ch = info.channels, t0 = (long)(trim * info.samplerate);
    double *x = malloc(sizeof(double) * n * ch);
    sf_readf_double(in, x, n);
    sf_close(in);
    double w = 2 * PI * f / info.samplerate, sig = 0, err = 0;
    /* least squares on sin and cos for the fit */
    double ss = 0, sc = 0, cc = 0, xs = 0, xc = 0;
    for (long k = t0; k < n - t0; k++) {
        double s = sin(w * k), c = cos(w * k), v = x[k * ch];
        sig += amp * s * amp * s;
        err += (v - amp * s) * (v - amp * s);
        ss += s * s, sc += s * c, cc += c * c, xs += v * s, xc += v * c;
    }
    double det = ss * cc - sc * sc, a = (xs * cc - xc * sc) / det, b = (xc * ss - xs * sc) / det;
    double fit_sig = 0, fit_err = 0;
    for (long k = t0; k < n - t0; k++) {
        double m = a * sin(w * k) + b * cos(w * k), v = x[k * ch];
        fit_sig += m * m;
        fit_err += (v - m) * (v - m);
    }
    printf("%.1f %.1f %ld\n", 10 * log10(sig / err), 10 * log10(fit_sig / fit_err), n);
    free(x);
    return 0;
}

static double *read_all(const char *path, SF_INFO *info) {
    SNDFILE *f = sf_open(path, SFM_READ, info);
    if (!f) return NULL;
    double *x = malloc(sizeof(double) * (size_t)info->frames * info->channels + 1);
    info->frames = sf_readf_double(f, x, info->frames);
    sf_close(f);
    return x;
}

static int cmp(char **argv) {
    SF_INFO ia = {0}, ib = {0};
    double *a = read_all(argv[1], &ia), *b = read_all(argv[2], &ib);
    long shift = argv[3] ? atol(argv[3]) : 0, ch = ia.channels;
    if (!a || !b || ia.channels != ib.channels || shift < 0 || shift > ib.frames) return 2;
    long fa = (long)ia.frames, fb = (long)ib.frames - shift, n = (fa < fb ? fa : fb) * ch;
    double sig = 0, err = 0, *bs = b + shift * ch;
    for (long k = 0; k < n; k++) sig += a[k] * a[k], err += (bs[k] - a[k]) * (bs[k] - a[k]);
    printf("%.1f\n", 10 * log10(sig / err));
    free(a);
    free(b);
    return 0;
}

int main(int argc, char **argv) {
    if ((argc == 4 || argc == 5) && argv[1][0] == 'c') return cmp(argv + 1);
    if (argc == 8 && argv[1][0] == 'g') return gen(argv + 1);
    if (argc == 6 && argv[1][0] == 's') return snr(argv + 1);
    fprintf(stderr, "usage: resample_tool gen OUT RATE SECONDS FREQ AMP CHANNELS | snr IN FREQ AMP TRIM_S | cmp A B [SHIFT]\n");
    return 1;
}
