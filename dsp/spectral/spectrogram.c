/* spectrogram.c: streaming spectrogram: Hann-windowed float FFT frames pooled into a bounded set of columns, rendered as a PNG with axes and a dB colour bar. */
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include "spectral_internal.h"

struct circa_spectrogram {
    circa_spectrogram_config cfg;
    uint32_t rate, channels;
    size_t n, hop, bins;       /* bins = cfg.height */
    const circa_fft *fwd;
    float *win, *tbuf, *fbuf;  /* window; FFT input and output (aligned) */
    float *buf;                /* [channels][n]: samples [center - n/2, center + n/2) */
    size_t have;               /* valid samples in buf */
    uint64_t pushed, frames;   /* input frames; analysed FFT frames */
    float *cols;               /* [channels][2 * width][bins]: mean power per column */
    double *cur;               /* [channels][bins]: power summed for the open column */
    size_t cur_count, ncols, per; /* frames in the open column; closed columns; frames each */
    double norm;               /* power -> full-scale sine = 1 */
    int finished;
};

circa_spectrogram_config circa_spectrogram_default(void) {
    return (circa_spectrogram_config){800, 257, 120, NULL};
}

void circa_spectrogram_free(circa_spectrogram *sg) {
    if (!sg) return;
    free(sg->win);
    circa_fft_dealloc(sg->tbuf);
    circa_fft_dealloc(sg->fbuf);
    free(sg->buf);
    free(sg->cols);
    free(sg->cur);
    free(sg);
}

circa_status circa_spectrogram_create(const circa_spectrogram_config *cfg, uint32_t rate,
                                      uint32_t channels, int64_t total_frames,
                                      circa_spectrogram **out) {
    circa_spectrogram_config c = cfg ? *cfg : circa_spectrogram_default();
    *out = NULL;
    if (rate == 0 || channels == 0 || channels > 64 || c.width < 32 || c.width > 16384 ||
        c.height < 17 || c.height > 8193 || !(c.range_db >= 10 && c.range_db <= 300))
        return CIRCA_E_PARAM;
    circa_spectrogram *sg = calloc(1, sizeof *sg);
    if (!sg) return CIRCA_E_NOMEM;
    sg->cfg = c;
    sg->rate = rate;
    sg->channels = channels;
    sg->bins = c.height;
    sg->n = 2 * (sg->bins - 1);
    /* 75% overlap; a short known input gets a smaller hop so that it still
     * spans about `width` frames */
    sg->hop = sg->n / 4;
    if (total_frames >= 0 && (uint64_t)total_frames / c.width < sg->hop)
        sg->hop = (uint64_t)total_frames / c.width ? (size_t)((uint64_t)total_frames / c.width) : 1;
    sg->per = 1;
    sg->win = malloc(sg->n * sizeof *sg->win);
    sg->tbuf = circa_fft_alloc(sg->n * sizeof(float));
    sg->fbuf = circa_fft_alloc(2 * sg->bins * sizeof(float));
    sg->buf = calloc((size_t)channels * sg->n, sizeof *sg->buf);
    sg->cols = malloc((size_t)channels * 2 * c.width * sg->bins * sizeof *sg->cols);
    sg->cur = calloc((size_t)channels * sg->bins, sizeof *sg->cur);
    circa_status st = CIRCA_E_NOMEM;
    if (!sg->win || !sg->tbuf || !sg->fbuf || !sg->buf || !sg->cols || !sg->cur ||
        (st = circa_fft_get(sg->n, CIRCA_FFT_F32, CIRCA_FFT_FORWARD, &sg->fwd)) != CIRCA_OK) {
        circa_spectrogram_free(sg);
        return st;
    }
    double wsum = 0;
    for (size_t k = 0; k < sg->n; k++) {
        double s = sin(SPECTRAL_PI * (k + 0.5) / (double)sg->n);
        sg->win[k] = (float)(s * s);
        wsum += s * s;
    }
    sg->norm = 4 / (wsum * wsum);
    sg->have = sg->n / 2; /* the zeros before the signal */
    *out = sg;
    return CIRCA_OK;
}

/* Closes the open column; merges pairs when 2 * width are closed, so the
 * columns always cover the whole input with bounded memory. */
static void close_column(circa_spectrogram *sg) {
    size_t w2 = 2 * sg->cfg.width, b = sg->bins;
    for (uint32_t c = 0; c < sg->channels; c++) {
        float *col = sg->cols + ((size_t)c * w2 + sg->ncols) * b;
        double *cur = sg->cur + (size_t)c * b;
        for (size_t k = 0; k < b; k++) {
            col[k] = (float)(cur[k] / (double)sg->cur_count);
            cur[k] = 0;
        }
    }
    sg->ncols++;
    sg->cur_count = 0;
    if (sg->ncols < w2) return;
    for (uint32_t c = 0; c < sg->channels; c++) {
        float *base = sg->cols + (size_t)c * w2 * b;
        for (size_t i = 0; i < w2 / 2; i++)
            for (size_t k = 0; k < b; k++)
                base[i * b + k] = (base[2 * i * b + k] + base[(2 * i + 1) * b + k]) / 2;
    }
    sg->ncols = w2 / 2;
    sg->per *= 2;
}

/* Analyses the frame in buf for every channel, then slides buf by hop. */
static void analyse(circa_spectrogram *sg) {
    for (uint32_t c = 0; c < sg->channels; c++) {
        float *x = sg->buf + (size_t)c * sg->n;
        double *cur = sg->cur + (size_t)c * sg->bins;
        for (size_t k = 0; k < sg->n; k++) sg->tbuf[k] = x[k] * sg->win[k];
        circa_fftf_forward(sg->fwd, sg->tbuf, sg->fbuf);
        for (size_t k = 0; k < sg->bins; k++)
            cur[k] += (double)sg->fbuf[2 * k] * sg->fbuf[2 * k] +
                      (double)sg->fbuf[2 * k + 1] * sg->fbuf[2 * k + 1];
        memmove(x, x + sg->hop, (sg->n - sg->hop) * sizeof *x);
    }
    sg->have -= sg->hop;
    sg->frames++;
    if (++sg->cur_count == sg->per) close_column(sg);
}

circa_status circa_spectrogram_push(circa_spectrogram *sg, const float *in, size_t frames) {
    if (sg->finished) return CIRCA_E_STATE;
    for (size_t i = 0; i < frames; i++) {
        for (uint32_t c = 0; c < sg->channels; c++)
            sg->buf[(size_t)c * sg->n + sg->have] = in[i * sg->channels + c];
        sg->pushed++;
        if (++sg->have == sg->n) analyse(sg);
    }
    return CIRCA_OK;
}

/* Analyses the frames whose centres lie before the end (padding zeros). */
static void finish(circa_spectrogram *sg) {
    while (sg->frames * sg->hop < sg->pushed) {
        while (sg->have < sg->n) {
            for (uint32_t c = 0; c < sg->channels; c++) sg->buf[(size_t)c * sg->n + sg->have] = 0;
            sg->have++;
        }
        analyse(sg);
    }
    if (sg->cur_count) close_column(sg); /* a partial last column */
    sg->finished = 1;
}

/* ---- rendering ------------------------------------------------------------------- */
enum { MARGIN_L = 60, MARGIN_T = 24, MARGIN_B = 36, MARGIN_R = 72, PANEL_GAP = 12 };
static const unsigned char ink[3] = {220, 220, 220}, dim[3] = {120, 120, 120};

/* Mean power of channel c over [a, b) in column units (area weighted). */
static double pooled(const circa_spectrogram *sg, uint32_t c, size_t k, double a, double b) {
    const float *base = sg->cols + (size_t)c * 2 * sg->cfg.width * sg->bins;
    double sum = 0, wsum = 0;
    for (size_t i = (size_t)a; (double)i < b && i < sg->ncols; i++) {
        double w = fmin(b, (double)i + 1) - fmax(a, (double)i);
        if (w <= 0) continue;
        sum += w * base[i * sg->bins + k];
        wsum += w;
    }
    return wsum > 0 ? sum / wsum : 0;
}

static void draw_panel(const circa_spectrogram *sg, spectral__canvas *cv, uint32_t c, int top) {
    uint32_t w = sg->cfg.width, h = sg->cfg.height;
    double span = (double)sg->frames / (double)sg->per; /* in column units */
    for (uint32_t x = 0; x < w; x++) {
        double a = span * x / w, b = span * (x + 1) / w;
        for (uint32_t y = 0; y < h; y++) {
            double p = pooled(sg, c, h - 1 - y, a, b) * sg->norm;
            double db = 10 * log10(p + 1e-300);
            unsigned char rgb[3];
            spectral__magma(1 + db / sg->cfg.range_db, rgb);
            spectral__pixel(cv, MARGIN_L + (int)x, top + (int)y, rgb);
        }
    }
    /* frame, frequency ticks and labels (kHz) */
    spectral__fill(cv, MARGIN_L - 1, top - 1, (int)w + 2, 1, dim);
    spectral__fill(cv, MARGIN_L - 1, top + (int)h, (int)w + 2, 1, dim);
    spectral__fill(cv, MARGIN_L - 1, top, 1, (int)h, dim);
    spectral__fill(cv, MARGIN_L + (int)w, top, 1, (int)h, dim);
    double nyq = sg->rate / 2000.0, step = spectral__tick_step(nyq, (int)h / 40 + 2);
    for (double f = 0; f <= nyq * (1 + 1e-9); f += step) {
        int y = top + (int)h - 1 - (int)lround(f / nyq * (h - 1));
        char label[32];
        spectral__tick_label(label, sizeof label, f, step);
        spectral__fill(cv, MARGIN_L - 5, y, 4, 1, ink);
        spectral__text(cv, MARGIN_L - 7 - spectral__text_width(label), y - 3, label, ink);
    }
    if (sg->channels > 1) {
        char label[16];
        snprintf(label, sizeof label, "ch %u", (unsigned)c + 1);
        spectral__text(cv, MARGIN_L + 4, top + 3, label, ink);
    }
}

static void draw_time_axis(const circa_spectrogram *sg, spectral__canvas *cv, int y) {
    uint32_t w = sg->cfg.width;
    double seconds = (double)sg->frames * sg->hop / sg->rate;
    double step = spectral__tick_step(seconds, (int)w / 80 + 1);
    for (double t = 0; seconds > 0 && t <= seconds * (1 + 1e-9); t += step) {
        int x = MARGIN_L + (int)lround(t / seconds * (w - 1));
        char label[32];
        spectral__tick_label(label, sizeof label, t, step);
        spectral__fill(cv, x, y, 1, 4, ink);
        spectral__text(cv, x - spectral__text_width(label) / 2, y + 6, label, ink);
    }
    const char *unit = "time (s)";
    spectral__text(cv, MARGIN_L + (int)w / 2 - spectral__text_width(unit) / 2, y + 18, unit, ink);
}

static void draw_colour_bar(const circa_spectrogram *sg, spectral__canvas *cv, int top, int h) {
    int x = MARGIN_L + (int)sg->cfg.width + 14;
    double range = sg->cfg.range_db;
    for (int y = 0; y < h; y++) {
        unsigned char rgb[3];
        spectral__magma(1 - (double)y / (h - 1), rgb);
        spectral__fill(cv, x, top + y, 12, 1, rgb);
    }
    double step = spectral__tick_step(range, 6);
    for (double d = 0; d <= range * (1 + 1e-9); d += step) {
        int y = top + (int)lround(d / range * (h - 1));
        char label[32];
        spectral__tick_label(label, sizeof label, -d, step);
        spectral__fill(cv, x + 12, y, 3, 1, ink);
        spectral__text(cv, x + 17, y - 3, label, ink);
    }
    spectral__text(cv, x - 4, top - 14, "dBFS", ink);
}

static void render(const circa_spectrogram *sg, spectral__canvas *cv) {
    int h = (int)sg->cfg.height, panels = (int)sg->channels * (h + PANEL_GAP) - PANEL_GAP;
    memset(cv->px, 0, (size_t)cv->w * cv->h * 3);
    if (sg->cfg.title) spectral__text(cv, MARGIN_L, 6, sg->cfg.title, ink);
    spectral__text(cv, MARGIN_L - 7 - spectral__text_width("kHz"), 6, "kHz", ink);
    for (uint32_t c = 0; c < sg->channels; c++)
        draw_panel(sg, cv, c, MARGIN_T + (int)c * (h + PANEL_GAP));
    draw_time_axis(sg, cv, MARGIN_T + panels + 1);
    draw_colour_bar(sg, cv, MARGIN_T, panels);
}

circa_status circa_spectrogram_write_png(circa_spectrogram *sg, FILE *fp) {
    if (!sg->finished) finish(sg);
    int h = (int)sg->cfg.height;
    spectral__canvas cv = {NULL, MARGIN_L + sg->cfg.width + MARGIN_R,
                           (uint32_t)(MARGIN_T + (int)sg->channels * (h + PANEL_GAP) -
                                      PANEL_GAP + MARGIN_B)};
    cv.px = malloc((size_t)cv.w * cv.h * 3);
    if (!cv.px) return CIRCA_E_NOMEM;
    render(sg, &cv);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = cv.w;
    img.height = cv.h;
    img.format = PNG_FORMAT_RGB;
    int ok = png_image_write_to_stdio(&img, fp, 0, cv.px, 0, NULL);
    png_image_free(&img);
    free(cv.px);
    return ok && fflush(fp) == 0 && !ferror(fp) ? CIRCA_OK : CIRCA_E_IO;
}
