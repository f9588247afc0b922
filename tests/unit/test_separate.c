/* test_separate.c: the separate room: mixer determinism, SNR range, distinct speakers and a disjoint
 * speaker split (on synthetic "speech" written to a temporary folder), oracle masks, the streaming
 * inference operator (channels, length, chunked against whole for gLN, frame by frame for causal
 * models) and refusal of corrupt model files. CIRCA_TEST_QUICK=1 shortens signals. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "circa/separate.h"

#define PI 3.14159265358979323846

static int quick(void) { return getenv("CIRCA_TEST_QUICK") != NULL; }

/* A "speaker": harmonics of a speaker-specific pitch with vibrato, gated
 * into syllables; written as 16 kHz WAV files in DIR/spkK/. */
static void write_speaker(const char *dir, int k, int files) {
    char path[512];
    snprintf(path, sizeof path, "%s/spk%d", dir, k);
    cr_assert_eq(mkdir(path, 0755), 0);
    size_t n = 16000 + 4000 * (size_t)k;
    float *x = malloc(n * sizeof *x);
    for (int f = 0; f < files; f++) {
        double f0 = 90 + 35 * k + 5 * f, ph = 0;
        for (size_t i = 0; i < n; i++) {
            double t = (double)i / 16000, inst = f0 * (1 + 0.05 * sin(2 * PI * 3 * t));
            ph += 2 * PI * inst / 16000;
            double s = 0;
            for (int h = 1; h <= 8; h++) s += sin(h * ph) / h;
            double gate = sin(2 * PI * (2 + 0.3 * k) * t) > -0.3 ? 1 : 0.05;
            x[i] = (float)(0.2 * s * gate);
        }
        snprintf(path, sizeof path, "%s/spk%d/u%d.wav", dir, k, f);
        circa_audio_info info = {16000, 1, CIRCA_SAMPLE_S16, CIRCA_AUDIO_WAV, (int64_t)n};
        circa_audio_writer *w;
        cr_assert_eq(circa_audio_open_write(path, &info, &w), CIRCA_OK);
        cr_assert_eq(circa_audio_write(w, x, n), CIRCA_OK);
        cr_assert_eq(circa_audio_close_write(w), CIRCA_OK);
    }
    free(x);
}

static char tmpdir[64];

static void make_corpus(void) {
    strcpy(tmpdir, "/tmp/circa-sep-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    for (int k = 0; k < 8; k++) write_speaker(tmpdir, k, 2);
}

static void remove_corpus(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

static circa_mixer *load(uint64_t split_seed, int augment) {
    circa_mixer_config c = circa_mixer_config_default();
    c.split_seed = split_seed;
    c.augment = augment;
    c.val_fraction = 0.25;
    circa_mixer *m;
    char why[256];
    circa_status st = circa_mixer_load(tmpdir, &c, &m, why, sizeof why);
    cr_assert_eq(st, CIRCA_OK, "%s", why);
    return m;
}

static double energy(const float *x, size_t n) {
    double e = 0;
    for (size_t i = 0; i < n; i++) e += (double)x[i] * x[i];
    return e;
}

Test(separate, mixer_deterministic_snr_and_speakers, .init = make_corpus, .fini = remove_corpus) {
    circa_mixer *m = load(1, 1);
    cr_assert_eq(circa_mixer_speakers(m, 0), 6);
    cr_assert_eq(circa_mixer_speakers(m, 1), 2);
    size_t t = 8000;
    float *a = malloc(3 * t * sizeof *a), *b = malloc(3 * t * sizeof *b);
    int n = quick() ? 20 : 60;
    for (int split = 0; split < 2; split++)
        for (int i = 0; i < n; i++) {
            circa_mixer_info ia, ib;
            cr_assert_eq(circa_mixer_make(m, split, (uint64_t)i, t, a, a + t, &ia), CIRCA_OK);
            cr_assert_eq(circa_mixer_make(m, split, (uint64_t)i, t, b, b + t, &ib), CIRCA_OK);
            cr_assert_eq(memcmp(a, b, 3 * t * sizeof *a), 0, "same seed, same mixture");
            cr_assert_neq(ia.spk[0], ia.spk[1], "two different speakers");
            cr_assert(ia.snr_db >= -5 && ia.snr_db <= 5);
            double snr = 10 * log10(energy(a + t, t) / energy(a + 2 * t, t));
            cr_assert(fabs(snr - ia.snr_db) < 0.01, "measured %g, wanted %g", snr, ia.snr_db);
            if (split == 1) /* no noise on validation mixtures: mix = s0 + s1 */
                for (size_t j = 0; j < t; j++) cr_assert_float_eq(a[j], a[t + j] + a[2 * t + j], 1e-6);
        }
    cr_assert_eq(circa_mixer_make(m, 0, 1, t, a, a + t, NULL), CIRCA_OK);
    cr_assert_eq(circa_mixer_make(m, 0, 2, t, b, b + t, NULL), CIRCA_OK);
    cr_assert_neq(memcmp(a, b, t * sizeof *a), 0, "different seeds differ");
    cr_assert_eq(circa_mixer_make(m, 2, 1, t, a, a + t, NULL), CIRCA_E_PARAM);
    free(a), free(b);
    circa_mixer_free(m);
}

Test(separate, split_disjoint_and_deterministic, .init = make_corpus, .fini = remove_corpus) {
    for (uint64_t seed = 1; seed <= 3; seed++) {
        circa_mixer *m = load(seed, 0), *m2 = load(seed, 0);
        size_t nt = circa_mixer_speakers(m, 0), nv = circa_mixer_speakers(m, 1);
        cr_assert_eq(nt + nv, 8);
        for (size_t i = 0; i < nv; i++) {
            const char *v = circa_mixer_speaker_name(m, 1, i);
            cr_assert_str_eq(v, circa_mixer_speaker_name(m2, 1, i));
            for (size_t j = 0; j < nt; j++) cr_assert_str_neq(v, circa_mixer_speaker_name(m, 0, j));
        }
        circa_mixer_free(m);
        circa_mixer_free(m2);
    }
    circa_mixer *m;
    cr_assert_eq(circa_mixer_load("/nonexistent-circa", NULL, &m, NULL, 0), CIRCA_E_IO);
    cr_assert_null(m);
}

Test(separate, oracle_masks_beat_the_mixture, .init = make_corpus, .fini = remove_corpus) {
    circa_mixer *m = load(1, 0);
    size_t t = 16000;
    float *x = malloc(3 * t * sizeof *x), *est = malloc(2 * t * sizeof *est);
    cr_assert_eq(circa_mixer_make(m, 1, 5, t, x, x + t, NULL), CIRCA_OK);
    double base, si, snr;
    float *ref = x + t;
    float *mm = malloc(2 * t * sizeof *mm);
    memcpy(mm, x, t * sizeof *mm), memcpy(mm + t, x, t * sizeof *mm);
    circa_separate_score(t, mm, ref, &base, NULL);
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(circa_separate_oracle((circa_oracle_mask)k, t, x, ref, est), CIRCA_OK);
        circa_separate_score(t, est, ref, &si, &snr);
        cr_log_info("oracle %d: SI-SNR %.2f dB (mixture %.2f)", k, si, base);
        cr_assert(si > base + 5, "oracle %d: %g vs mixture %g", k, si, base);
    }
    free(mm), free(x), free(est);
    circa_mixer_free(m);
}

/* A tiny random model. */
static circa_tasnet *tiny(int causal) {
    circa_tasnet_config c = {8, 16, 8, 16, 8, 3, 3, 1, 2, causal, 1};
    circa_tasnet *net;
    cr_assert_eq(circa_tasnet_create(&c, 7, &net), CIRCA_OK);
    return net;
}

/* Drives an op over the whole input, feeding odd-sized pieces. */
static float *run_op(circa_op *op, const float *x, size_t n, size_t *nout) {
    size_t cap = n + 4096, len = 0, pos = 0;
    float *y = malloc(cap * op->out_channels * sizeof *y);
    for (;;) {
        size_t used = 0, made = 0, piece = n - pos < 777 ? n - pos : 777;
        int drain = pos >= n;
        size_t room = cap - len < 1000 ? cap - len : 1000;
        cr_assert_eq(circa_op_process(op, drain ? NULL : x + pos, drain ? 0 : piece, &used,
                                      y + len * op->out_channels, room, &made), CIRCA_OK);
        pos += used, len += made;
        if (drain && made == 0) break;
        cr_assert(drain || used || made, "op stalled");
        cr_assert(len <= cap);
    }
    *nout = len;
    return y;
}

static float *signal(size_t n) {
    float *x = malloc(n * sizeof *x);
    uint32_t s = 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(0.1 * sin(0.05 * (double)i) + 0.05 * ((double)(s >> 8) / 16777216.0 - 0.5));
    }
    return x;
}

/* SNR in dB of interleaved stereo y against planar [2][n] ref. */
static double snr_vs(const float *y, const float *ref, size_t n) {
    double e = 0, d = 0;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 2; c++) {
            double r = ref[(size_t)c * n + i], v = y[i * 2 + (size_t)c];
            e += r * r, d += (v - r) * (v - r);
        }
    return 10 * log10(e / (d + 1e-30));
}

/* As snr_vs, after scaling each source of y by its least-squares gain onto
 * ref: circa_separate_whole sets mixture-consistent levels over the whole
 * signal, which a causal stream cannot know; the shape must still match. */
static double snr_vs_scaled(const float *y, const float *ref, size_t n) {
    double e = 0, d = 0;
    for (int c = 0; c < 2; c++) {
        double yy = 0, yr = 0;
        for (size_t i = 0; i < n; i++) {
            double v = y[i * 2 + (size_t)c];
            yy += v * v, yr += v * ref[(size_t)c * n + i];
        }
        double a = yy > 0 ? yr / yy : 1;
        for (size_t i = 0; i < n; i++) {
            double r = ref[(size_t)c * n + i], v = a * y[i * 2 + (size_t)c];
            e += r * r, d += (v - r) * (v - r);
        }
    }
    return 10 * log10(e / (d + 1e-30));
}

Test(separate, chunked_gln_matches_whole) {
    circa_tasnet *net = tiny(0);
    size_t n = quick() ? 40000 : 80000, nout;
    float *x = signal(n), *whole = malloc(2 * n * sizeof *whole);
    cr_assert_eq(circa_separate_whole(net, x, n, whole), CIRCA_OK);
    circa_op *op;
    cr_assert_eq(circa_op_separate_create(net, 1.0, 0.6, &op), CIRCA_E_PARAM);
    cr_assert_eq(circa_op_separate_create(net, 2.0, 0.5, &op), CIRCA_OK);
    cr_assert_eq(op->out_channels, 2);
    float *y = run_op(op, x, n, &nout);
    cr_assert_eq(nout, n, "length %zu, wanted %zu", nout, n);
    double snr = snr_vs(y, whole, n);
    cr_log_info("chunked vs whole: %.1f dB", snr);
    cr_assert(snr > 20, "chunked vs whole: %g dB", snr);
    circa_op_free(op);
    free(x), free(whole), free(y);
    circa_tasnet_free(net);
}

/* The raw stream of a causal model over x (n samples, (n - L) % S == 0):
 * out [2][n], the network's own scale. */
static void raw_stream(circa_tasnet *net, const float *x, size_t n, float *out) {
    circa_tasnet_stream *st;
    cr_assert_eq(circa_tasnet_stream_create(net, &st), CIRCA_OK);
    size_t S = (size_t)circa_tasnet_get_config(net)->L / 2, pos = 0;
    float hop[2 * 64];
    int m;
    for (size_t i = 0; i < n; i += S) {
        cr_assert_eq(circa_tasnet_stream_push(st, x + i, hop, &m), CIRCA_OK);
        for (int c = 0; c < 2; c++) memcpy(out + (size_t)c * n + pos, hop + (size_t)c * m, (size_t)m * sizeof *hop);
        pos += (size_t)m;
    }
    cr_assert_eq(circa_tasnet_stream_flush(st, hop, &m), CIRCA_OK);
    for (int c = 0; c < 2; c++) memcpy(out + (size_t)c * n + pos, hop + (size_t)c * m, (size_t)m * sizeof *hop);
    cr_assert_eq(pos + (size_t)m, n);
    circa_tasnet_stream_free(st);
}

/* A causal op emits the raw stream times slowly moving gains (running
 * mixture-consistent levels, time constant 4 s): per source, one gain fits
 * the last second to within 40 dB. Latency: one encoder window. */
Test(separate, causal_stream_is_the_raw_stream_with_levels) {
    circa_tasnet *net = tiny(1);
    size_t n = 40008, nout, tail = 8000;
    float *x = signal(n), *raw = malloc(2 * n * sizeof *raw);
    raw_stream(net, x, n, raw);
    circa_op *op;
    cr_assert_eq(circa_op_separate_create(net, 0, 0, &op), CIRCA_OK);
    float *y = run_op(op, x, n, &nout);
    cr_assert_eq(nout, n);
    /* the last second: op output vs raw, one least-squares gain per source */
    float *yt = malloc(2 * tail * sizeof *yt), *rt = malloc(2 * tail * sizeof *rt);
    for (size_t i = 0; i < tail; i++)
        for (int c = 0; c < 2; c++) {
            yt[i * 2 + (size_t)c] = y[(n - tail + i) * 2 + (size_t)c];
            rt[(size_t)c * tail + i] = raw[(size_t)c * n + n - tail + i];
        }
    double snr = snr_vs_scaled(yt, rt, tail);
    cr_log_info("causal op vs raw stream, last second, one gain a source: %.1f dB", snr);
    cr_assert(snr > 40, "op vs raw stream: %g dB", snr);
    cr_assert_eq(circa_separate_latency(circa_tasnet_get_config(net)), 16);
    circa_op_free(op);
    free(x), free(raw), free(y), free(yt), free(rt);
    circa_tasnet_free(net);
}

/* And those gains are the point: over the last half, the op's sources add
 * up to the mixture better than the raw stream's (least squares). */
Test(separate, causal_levels_follow_the_mixture) {
    circa_tasnet *net = tiny(1);
    size_t n = 40008, nout;
    float *x = signal(n), *raw = malloc(2 * n * sizeof *raw);
    raw_stream(net, x, n, raw);
    circa_op *op;
    cr_assert_eq(circa_op_separate_create(net, 0, 0, &op), CIRCA_OK);
    float *y = run_op(op, x, n, &nout);
    double e_op = 0, e_raw = 0, ex = 0;
    for (size_t i = n / 2; i < n; i++) {
        double r1 = x[i] - (double)y[2 * i] - y[2 * i + 1], r2 = x[i] - (double)raw[i] - raw[n + i];
        e_op += r1 * r1, e_raw += r2 * r2, ex += (double)x[i] * x[i];
    }
    cr_log_info("residual energy / mixture energy: op %.3g, raw %.3g", e_op / ex, e_raw / ex);
    cr_assert(e_op < e_raw, "op %g, raw %g", e_op, e_raw);
    cr_assert(e_op < ex, "op residual %g above the mixture's energy %g", e_op, ex);
    circa_op_free(op);
    free(x), free(raw), free(y);
    circa_tasnet_free(net);
}

Test(separate, short_inputs) {
    for (int causal = 0; causal < 2; causal++)
        for (size_t n = 1; n < 40; n += 7) {
            circa_tasnet *net = tiny(causal);
            circa_op *op;
            cr_assert_eq(circa_op_separate_create(net, 2.0, 0.5, &op), CIRCA_OK);
            size_t nout;
            float *x = signal(n), *y = run_op(op, x, n, &nout);
            cr_assert_eq(nout, n, "causal %d: %zu -> %zu", causal, n, nout);
            free(x), free(y);
            circa_op_free(op);
            circa_tasnet_free(net);
        }
}

Test(separate, corrupt_model_rejected) {
    char path[] = "/tmp/circa-sep-model-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    circa_tasnet *net = tiny(0), *back;
    cr_assert_eq(circa_tasnet_save(net, path), CIRCA_OK);
    cr_assert_eq(circa_tasnet_load(path, 1, &back), CIRCA_OK);
    circa_tasnet_free(back);
    FILE *f = fopen(path, "r+b");
    fseek(f, 200, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 200, SEEK_SET);
    fputc(c ^ 0x55, f);
    fclose(f);
    cr_assert_neq(circa_tasnet_load(path, 1, &back), CIRCA_OK);
    cr_assert_null(back);
    cr_assert_eq(truncate(path, 100), 0);
    cr_assert_neq(circa_tasnet_load(path, 1, &back), CIRCA_OK);
    unlink(path);
    circa_tasnet_free(net);
}

/* circa_separate_whole's levels: the residual x - sum_s est_s is orthogonal
 * to every estimate (the least-squares normal equations), whatever scale
 * the raw network output has. */
Test(separate, whole_levels_are_mixture_consistent) {
    for (int causal = 0; causal < 2; causal++) {
        circa_tasnet *net = tiny(causal);
        size_t n = 9000;
        float *x = signal(n), *est = malloc(2 * n * sizeof *est);
        cr_assert_eq(circa_separate_whole(net, x, n, est), CIRCA_OK);
        double ee[2] = {0, 0}, re[2] = {0, 0};
        for (size_t i = 0; i < n; i++) {
            double r = (double)x[i] - est[i] - est[n + i];
            for (int s = 0; s < 2; s++) {
                double e = est[(size_t)s * n + i];
                ee[s] += e * e, re[s] += r * e;
            }
        }
        for (int s = 0; s < 2; s++) {
            cr_assert_gt(ee[s], 0);
            cr_expect(fabs(re[s]) < 1e-4 * ee[s] + 1e-9, "causal %d source %d: <r,e> %g, |e|^2 %g", causal, s,
                      re[s], ee[s]);
        }
        free(x), free(est);
        circa_tasnet_free(net);
    }
}
