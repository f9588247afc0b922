/* test_audio.c: the audio room: write/read round trips of WAV, FLAC, AU and
 * raw in s16/s24/s32/f32 with 1, 2 and 6 channels (files and pipes, bit-exact
 * where the format holds the samples), WAV on a pipe with "unknown" sizes,
 * malformed headers refused without a crash, and the numerics of gain, mix,
 * stats, SNR and SI-SNR. CIRCA_TEST_QUICK=1 shortens signals. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "circa/audio.h"

#define PI 3.14159265358979323846

static int quick(void) {
    const char *q = getenv("CIRCA_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

static size_t test_frames(void) { return quick() ? 3000 : 20000; }

/* ---- signals and files ----------------------------------------------------- */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* A signal every sample of which the format holds exactly: integers of the
 * format's width (s32: multiples of 2^8, which float holds too) scaled to
 * [-1, 1); f32 also goes past full scale, which float files keep. */
static float *make_signal(circa_sample_format f, size_t samples) {
    float *x = malloc(sizeof *x * samples);
    for (size_t i = 0; i < samples; i++) {
        int32_t v = (int32_t)rnd32();
        switch (f) {
        case CIRCA_SAMPLE_S16: x[i] = (float)(v >> 16) / 32768.0f; break;
        case CIRCA_SAMPLE_S24: x[i] = (float)(v >> 8) / 8388608.0f; break;
        case CIRCA_SAMPLE_S32: x[i] = (float)(v & ~0xFF) / 2147483648.0f; break;
        default: x[i] = (float)v / 1073741824.0f; break; /* up to +-2.0 */
        }
    }
    x[0] = -1.0f; /* the most negative integer: no clipping there */
    return x;
}

static char tmpdir[64];
static void make_tmpdir(void) {
    strcpy(tmpdir, "/tmp/circa_audio_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}
static void remove_tmpdir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}
TestSuite(audio, .init = make_tmpdir, .fini = remove_tmpdir);

static const char *tmp_path(const char *name) {
    static char p[128];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static void write_all(int fd, const void *p, size_t n) {
    const char *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w <= 0) return;
        b += w;
        n -= (size_t)w;
    }
}

/* Writes the whole signal through the writer in uneven blocks. */
static void write_signal(circa_audio_writer *w, const float *x, size_t frames, uint32_t ch) {
    for (size_t at = 0, step = 1; at < frames; step = step * 3 + 1) {
        size_t n = frames - at < step ? frames - at : step;
        cr_assert_eq(circa_audio_write(w, x + at * ch, n), CIRCA_OK, "%s", circa_audio_writer_error(w));
        at += n;
    }
}

/* Reads everything (in uneven blocks) and checks it equals x exactly. */
static void expect_signal(circa_audio_reader *r, const float *x, size_t frames, uint32_t ch,
                          const char *what) {
    float *y = malloc(sizeof *y * (frames + 100) * ch);
    size_t have = 0, got, step = 5;
    do {
        circa_status st = circa_audio_read(r, y + have * ch, step, &got);
        cr_assert_eq(st, CIRCA_OK, "%s: read: %s", what, circa_audio_reader_error(r));
        have += got;
        cr_assert(have <= frames, "%s: more frames than written", what);
        if (got == step) step = step * 2 + 3 < frames + 100 - have ? step * 2 + 3 : frames + 100 - have;
    } while (got > 0 && step > 0);
    cr_assert_eq(have, frames, "%s: %zu frames read, %zu written", what, have, frames);
    for (size_t i = 0; i < frames * ch; i++)
        cr_assert(x[i] == y[i], "%s: sample %zu: wrote %.9g, read %.9g", what, i, x[i], y[i]);
    free(y);
}

static const circa_audio_container containers[] = {CIRCA_AUDIO_WAV, CIRCA_AUDIO_FLAC, CIRCA_AUDIO_AU,
                                                    CIRCA_AUDIO_RAW};
static const circa_sample_format formats[] = {CIRCA_SAMPLE_S16, CIRCA_SAMPLE_S24, CIRCA_SAMPLE_S32,
                                              CIRCA_SAMPLE_F32};
static const uint32_t channel_counts[] = {1, 2, 6};

static int flac_holds(circa_sample_format f) { return f == CIRCA_SAMPLE_S16 || f == CIRCA_SAMPLE_S24; }

/* ---- round trips through files ----------------------------------------------- */
Test(audio, file_round_trips) {
    size_t frames = test_frames();
    for (size_t c = 0; c < 4; c++)
        for (size_t f = 0; f < 4; f++)
            for (size_t k = 0; k < 3; k++) {
                uint32_t ch = channel_counts[k];
                circa_audio_info info = {44100 + (uint32_t)k, ch, formats[f], containers[c], -1};
                char what[64];
                snprintf(what, sizeof what, "%s %s %uch file", circa_audio_container_name(containers[c]),
                         circa_sample_format_name(formats[f]), ch);
                const char *path = tmp_path("rt");
                circa_audio_writer *w;
                circa_status st = circa_audio_open_write(path, &info, &w);
                if (containers[c] == CIRCA_AUDIO_FLAC && !flac_holds(formats[f])) {
                    cr_assert_eq(st, CIRCA_E_UNSUPPORTED, "%s", what);
                    cr_assert_null(w);
                    continue;
                }
                cr_assert_eq(st, CIRCA_OK, "%s: open: %s", what, circa_strerror(st));
                float *x = make_signal(formats[f], frames * ch);
                write_signal(w, x, frames, ch);
                cr_assert_eq(circa_audio_writer_clipped(w), 0, "%s", what);
                cr_assert_eq(circa_audio_close_write(w), CIRCA_OK, "%s", what);
                circa_audio_reader *r;
                st = circa_audio_open_read(path, containers[c] == CIRCA_AUDIO_RAW ? &info : NULL, &r);
                cr_assert_eq(st, CIRCA_OK, "%s: open for reading: %s", what, circa_strerror(st));
                const circa_audio_info *got = circa_audio_reader_info(r);
                cr_assert_eq(got->rate, info.rate, "%s", what);
                cr_assert_eq(got->channels, ch, "%s", what);
                cr_assert_eq(got->format, info.format, "%s", what);
                cr_assert_eq(got->container, info.container, "%s", what);
                cr_assert_eq(got->frames, (int64_t)frames, "%s", what);
                expect_signal(r, x, frames, ch, what);
                circa_audio_close_read(r);
                free(x);
            }
}

/* s32 keeps float's 24 significant bits: arbitrary 32-bit samples come back
 * within half a float ulp, and float -> s32 -> float is then exact. */
Test(audio, s32_through_float) {
    size_t n = 4096;
    circa_audio_info info = {48000, 1, CIRCA_SAMPLE_S32, CIRCA_AUDIO_RAW, -1};
    int32_t *ints = malloc(sizeof *ints * n);
    for (size_t i = 0; i < n; i++) ints[i] = (int32_t)rnd32();
    int fd = open(tmp_path("s32.raw"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    write_all(fd, ints, sizeof *ints * n); /* little-endian host */
    close(fd);
    circa_audio_reader *r;
    cr_assert_eq(circa_audio_open_read(tmp_path("s32.raw"), &info, &r), CIRCA_OK);
    float *y = malloc(sizeof *y * n);
    size_t got;
    cr_assert_eq(circa_audio_read(r, y, n, &got), CIRCA_OK);
    cr_assert_eq(got, n);
    circa_audio_close_read(r);
    for (size_t i = 0; i < n; i++) {
        double exact = ints[i] / 2147483648.0, err = fabs(y[i] - exact);
        cr_assert(err <= ldexp(fabs(exact), -24) + 1e-300, "sample %zu", i);
    }
    circa_audio_writer *w;
    cr_assert_eq(circa_audio_open_write(tmp_path("s32b.raw"), &info, &w), CIRCA_OK);
    cr_assert_eq(circa_audio_write(w, y, n), CIRCA_OK);
    cr_assert_eq(circa_audio_close_write(w), CIRCA_OK);
    cr_assert_eq(circa_audio_open_read(tmp_path("s32b.raw"), &info, &r), CIRCA_OK);
    expect_signal(r, y, n, 1, "s32 again");
    circa_audio_close_read(r);
    free(ints);
    free(y);
}

/* Integer writes round to nearest and clip; the count is reported. */
Test(audio, clipping_and_rounding) {
    circa_audio_info info = {8000, 1, CIRCA_SAMPLE_S16, CIRCA_AUDIO_RAW, -1};
    float x[6] = {1.5f, -1.5f, 1.0f, 0.4f / 32768, 0.6f / 32768, NAN};
    float want[6] = {32767 / 32768.0f, -1.0f, 32767 / 32768.0f, 0.0f, 1 / 32768.0f, 0.0f};
    circa_audio_writer *w;
    cr_assert_eq(circa_audio_open_write(tmp_path("clip.raw"), &info, &w), CIRCA_OK);
    cr_assert_eq(circa_audio_write(w, x, 6), CIRCA_OK);
    cr_assert_eq(circa_audio_writer_clipped(w), 3); /* 1.5, -1.5 and 1.0 */
    cr_assert_eq(circa_audio_close_write(w), CIRCA_OK);
    circa_audio_reader *r;
    cr_assert_eq(circa_audio_open_read(tmp_path("clip.raw"), &info, &r), CIRCA_OK);
    expect_signal(r, want, 6, 1, "clipped s16");
    circa_audio_close_read(r);
}

/* ---- pipes --------------------------------------------------------------------- */
typedef struct pipe_job {
    int fd;
    circa_audio_info info;
    const float *x;
    size_t frames;
    const void *bytes; /* instead of x: raw bytes to send */
    size_t n_bytes;
    circa_status st;
} pipe_job;

/* The writer end: circa's pipe writer, or plain bytes; closes the fd. */
static void *pipe_writer(void *arg) {
    pipe_job *j = arg;
    if (j->bytes) {
        write_all(j->fd, j->bytes, j->n_bytes);
        close(j->fd);
        return NULL;
    }
    circa_audio_writer *w;
    j->st = circa_audio_open_write_fd(j->fd, 1, &j->info, NULL, 0, &w);
    if (j->st != CIRCA_OK) return NULL;
    for (size_t at = 0; at < j->frames && j->st == CIRCA_OK; at += 1000) {
        size_t n = j->frames - at < 1000 ? j->frames - at : 1000;
        j->st = circa_audio_write(w, j->x + at * j->info.channels, n);
    }
    circa_status st = circa_audio_close_write(w);
    if (j->st == CIRCA_OK) j->st = st;
    return NULL;
}

/* Starts a writer thread on a new pipe; returns the read end. */
static int start_pipe(pipe_job *j, pthread_t *t) {
    int p[2];
    cr_assert_eq(pipe(p), 0);
    j->fd = p[1];
    cr_assert_eq(pthread_create(t, NULL, pipe_writer, j), 0);
    return p[0];
}

Test(audio, pipe_round_trips) {
    signal(SIGPIPE, SIG_IGN); /* a failing reader must not kill the writer thread */
    size_t frames = test_frames();
    for (size_t c = 0; c < 4; c++)
        for (size_t f = 0; f < 4; f++)
            for (size_t k = 0; k < 3; k++) {
                uint32_t ch = channel_counts[k];
                if (containers[c] == CIRCA_AUDIO_FLAC && !flac_holds(formats[f])) continue;
                char what[64];
                snprintf(what, sizeof what, "%s %s %uch pipe", circa_audio_container_name(containers[c]),
                         circa_sample_format_name(formats[f]), ch);
                float *x = make_signal(formats[f], frames * ch);
                pipe_job j = {0, {16000, ch, formats[f], containers[c], -1}, x, frames, NULL, 0, CIRCA_OK};
                pthread_t t;
                int rfd = start_pipe(&j, &t);
                circa_audio_reader *r;
                circa_status st = circa_audio_open_read_fd(rfd, 1, j.info.container == CIRCA_AUDIO_RAW
                                                                   ? &j.info : NULL, NULL, 0, &r);
                cr_assert_eq(st, CIRCA_OK, "%s: open for reading: %s", what, circa_strerror(st));
                const circa_audio_info *got = circa_audio_reader_info(r);
                cr_assert_eq(got->frames, -1, "%s: a pipe's length is unknown", what);
                cr_assert_eq(got->format, formats[f], "%s", what);
                cr_assert_eq(got->container, containers[c], "%s", what);
                expect_signal(r, x, frames, ch, what);
                circa_audio_close_read(r);
                pthread_join(t, NULL);
                cr_assert_eq(j.st, CIRCA_OK, "%s: writer: %s", what, circa_strerror(j.st));
                free(x);
            }
}

static void put32(unsigned char *p, uint32_t v) {
    for (int k = 0; k < 4; k++) p[k] = (unsigned char)(v >> (8 * k));
}
static void put16(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

/* A 44-byte PCM WAV header followed by n_data bytes of s16 ramp, then an
 * optional trailing LIST chunk. Returns the byte count. */
static size_t make_wav(unsigned char *b, unsigned ch, uint32_t rate, unsigned bits,
                       uint32_t data_size, size_t n_data, int trailer) {
    memcpy(b, "RIFF", 4);
    put32(b + 4, 0xFFFFFFFFu);
    memcpy(b + 8, "WAVEfmt ", 8);
    put32(b + 16, 16);
    put16(b + 20, 1);
    put16(b + 22, ch);
    put32(b + 24, rate);
    put32(b + 28, rate * ch * bits / 8);
    put16(b + 32, ch * bits / 8);
    put16(b + 34, bits);
    memcpy(b + 36, "data", 4);
    put32(b + 40, data_size);
    for (size_t i = 0; i < n_data; i++) b[44 + i] = (unsigned char)(i * 7);
    size_t n = 44 + n_data;
    if (trailer) {
        memcpy(b + n, "LIST\x04\0\0\0abcd", 12);
        n += 12;
    }
    return n;
}

/* Reads a byte stream through a pipe; returns frames read, or -1 and *st. */
static long read_piped(const void *bytes, size_t n, circa_status *st, char *why, size_t cap) {
    pipe_job j = {0};
    j.bytes = bytes;
    j.n_bytes = n;
    pthread_t t;
    int rfd = start_pipe(&j, &t);
    circa_audio_reader *r;
    *st = circa_audio_open_read_fd(rfd, 1, NULL, why, cap, &r);
    long frames = -1;
    if (*st == CIRCA_OK) {
        float buf[4096];
        size_t got;
        frames = 0;
        do {
            *st = circa_audio_read(r, buf, 4096 / circa_audio_reader_info(r)->channels, &got);
            frames += (long)got;
        } while (*st == CIRCA_OK && got > 0);
        if (*st != CIRCA_OK) frames = -1;
    }
    circa_audio_close_read(r);
    pthread_join(t, NULL);
    return frames;
}

/* Sizes that mean "unknown" read to the end; a real size is obeyed. */
Test(audio, wav_pipe_sizes) {
    signal(SIGPIPE, SIG_IGN);
    static unsigned char b[44 + 40000 + 12];
    circa_status st;
    uint32_t unknown[] = {0xFFFFFFFFu, 0x7FFFF000u, 0};
    for (size_t i = 0; i < 3; i++) {
        size_t n = make_wav(b, 2, 8000, 16, unknown[i], 40000, 0);
        cr_assert_eq(read_piped(b, n, &st, NULL, 0), 10000, "data size %#x", unknown[i]);
    }
    size_t n = make_wav(b, 2, 8000, 16, 4000, 40000, 0);
    cr_assert_eq(read_piped(b, n, &st, NULL, 0), 1000, "a real size is obeyed");
    n = make_wav(b, 1, 8000, 16, 40000, 40000, 1);
    cr_assert_eq(read_piped(b, n, &st, NULL, 0), 20000, "a trailing chunk is not audio");
    n = make_wav(b, 2, 8000, 16, 0xFFFFFFFFu, 40001, 0);
    cr_assert_eq(read_piped(b, n, &st, NULL, 0), 10000, "a partial last frame is dropped");
}

/* The same header rules in a file, where 0 means empty. */
static int64_t file_frames(const void *bytes, size_t n) {
    int fd = open(tmp_path("sizes.wav"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    write_all(fd, bytes, n);
    close(fd);
    circa_audio_reader *r;
    cr_assert_eq(circa_audio_open_read(tmp_path("sizes.wav"), NULL, &r), CIRCA_OK);
    int64_t announced = circa_audio_reader_info(r)->frames, got_all = 0;
    float buf[4096];
    size_t got;
    do {
        cr_assert_eq(circa_audio_read(r, buf, 2048, &got), CIRCA_OK);
        got_all += (int64_t)got;
    } while (got > 0);
    circa_audio_close_read(r);
    cr_assert_eq(announced, got_all, "info.frames matches what is read");
    return got_all;
}

Test(audio, wav_file_sizes) {
    static unsigned char b[44 + 40000 + 12];
    size_t n = make_wav(b, 2, 8000, 16, 0x7FFFF000u, 40000, 0);
    cr_assert_eq(file_frames(b, n), 10000, "sox's unknown size reads to the end");
    n = make_wav(b, 2, 8000, 16, 0xFFFFFFFFu, 40000, 0);
    cr_assert_eq(file_frames(b, n), 10000, "0xFFFFFFFF reads to the end");
    n = make_wav(b, 1, 8000, 16, 0, 0, 1);
    cr_assert_eq(file_frames(b, n), 0, "a file's 0 is empty, the trailer is not audio");
    n = make_wav(b, 1, 8000, 16, 80000, 40000, 0);
    cr_assert_eq(file_frames(b, n), 20000, "a file cut short reads what is there");
}

/* ---- malformed input ------------------------------------------------------------- */
/* Opens bytes both from a file and from a pipe; both must fail cleanly. */
static void expect_refused(const void *bytes, size_t n, const char *what, const char *phrase) {
    int fd = open(tmp_path("bad"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    write_all(fd, bytes, n);
    close(fd);
    char why[256];
    circa_audio_reader *r = (circa_audio_reader *)1;
    circa_status st = circa_audio_open_read_fd(open(tmp_path("bad"), O_RDONLY), 1, NULL, why,
                                               sizeof why, &r);
    cr_assert_neq(st, CIRCA_OK, "%s (file) was accepted", what);
    cr_assert_null(r);
    cr_assert(why[0], "%s (file): no reason given", what);
    if (phrase) cr_assert(strstr(why, phrase), "%s (file): reason '%s'", what, why);
    why[0] = 0;
    cr_assert_eq(read_piped(bytes, n, &st, why, sizeof why), -1, "%s (pipe) was accepted", what);
    cr_assert(why[0], "%s (pipe): no reason given", what);
    if (phrase) cr_assert(strstr(why, phrase), "%s (pipe): reason '%s'", what, why);
}

Test(audio, malformed_inputs) {
    signal(SIGPIPE, SIG_IGN);
    unsigned char b[44 + 64];
    make_wav(b, 1, 8000, 16, 64, 64, 0);
    for (size_t cut = 0; cut < 44; cut += 3) expect_refused(b, cut, "truncated header", NULL);
    make_wav(b, 0, 8000, 16, 64, 64, 0);
    expect_refused(b, sizeof b, "zero channels", NULL);
    make_wav(b, 1, 0, 16, 64, 64, 0);
    expect_refused(b, sizeof b, "rate 0", NULL);
    make_wav(b, 1, 20000000, 16, 64, 64, 0);
    expect_refused(b, sizeof b, "rate 20 MHz", "rate");
    make_wav(b, 2000, 8000, 16, 64, 64, 0);
    expect_refused(b, sizeof b, "2000 channels", NULL);
    expect_refused("just some text, not audio", 25, "text", NULL);
    /* raw with impossible parameters is the caller's error */
    circa_audio_info raw = {0, 1, CIRCA_SAMPLE_S16, CIRCA_AUDIO_RAW, -1};
    circa_audio_reader *r;
    cr_assert_eq(circa_audio_open_read_fd(open("/dev/null", O_RDONLY), 1, &raw, NULL, 0, &r),
                 CIRCA_E_PARAM);
    raw.rate = 8000;
    raw.channels = 5000;
    cr_assert_eq(circa_audio_open_read_fd(open("/dev/null", O_RDONLY), 1, &raw, NULL, 0, &r),
                 CIRCA_E_PARAM);
    /* and writers refuse what they cannot write */
    circa_audio_info bad = {0, 1, CIRCA_SAMPLE_S16, CIRCA_AUDIO_WAV, -1};
    circa_audio_writer *w;
    cr_assert_eq(circa_audio_open_write(tmp_path("x.wav"), &bad, &w), CIRCA_E_FORMAT);
    bad.rate = 8000;
    bad.container = CIRCA_AUDIO_OTHER;
    cr_assert_eq(circa_audio_open_write(tmp_path("x.wav"), &bad, &w), CIRCA_E_PARAM);
    cr_assert_eq(circa_audio_open_read("/no/such/file.wav", NULL, &r), CIRCA_E_IO);
    circa_audio_close_read(NULL);
    cr_assert_eq(circa_audio_close_write(NULL), CIRCA_OK);
}

/* ---- operators ----------------------------------------------------------------- */
Test(audio, gain) {
    float x[8] = {0.5f, -0.25f, 1e-3f, -1.0f, 0.125f, 0.0f, 0.75f, -0.5f}, y[8];
    circa_op *g;
    size_t used, made;
    cr_assert_eq(circa_op_gain_create(0.0, 8000, 2, &g), CIRCA_OK);
    cr_assert_eq(circa_op_process(g, x, 4, &used, y, 4, &made), CIRCA_OK);
    cr_assert(used == 4 && made == 4);
    cr_assert_eq(memcmp(x, y, sizeof x), 0, "0 dB is bit-exact");
    circa_op_free(g);
    cr_assert_eq(circa_op_gain_create(-20.0 * log10(2.0), 8000, 2, &g), CIRCA_OK);
    cr_assert_eq(circa_op_process(g, x, 4, &used, y, 3, &made), CIRCA_OK);
    cr_assert(used == 3 && made == 3, "limited by the output room");
    for (size_t i = 0; i < 6; i++) cr_assert_float_eq(y[i], x[i] / 2, 1e-7);
    cr_assert_eq(circa_op_process(g, NULL, 0, &used, y, 4, &made), CIRCA_OK);
    cr_assert_eq(made, 0, "gain holds nothing to drain");
    memcpy(y, x, sizeof x);
    cr_assert_eq(circa_op_process(g, y, 4, &used, y, 4, &made), CIRCA_OK);
    cr_assert_float_eq(y[7], x[7] / 2, 1e-7, "in place");
    circa_op_free(g);
    cr_assert_eq(circa_op_gain_create(20.0, 8000, 1, &g), CIRCA_OK);
    cr_assert_eq(circa_op_process(g, x, 8, &used, y, 8, &made), CIRCA_OK);
    for (size_t i = 0; i < 8; i++) cr_assert_float_eq(y[i], x[i] * 10, 1e-6);
    cr_assert_eq(circa_op_process(g, NULL, 3, &used, y, 8, &made), CIRCA_E_PARAM);
    circa_op_free(g);
    cr_assert_eq(circa_op_gain_create(NAN, 8000, 1, &g), CIRCA_E_PARAM);
    cr_assert_null(g);
    cr_assert_eq(circa_op_gain_create(0, 8000, 0, &g), CIRCA_E_PARAM);
    circa_op_free(NULL);
}

Test(audio, mix) {
    float a[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, b[2] = {1.0f, -1.0f}, out[6];
    const float *in[2] = {a, b};
    size_t frames[2] = {3, 1};
    double gains[2] = {0.0, -20.0 * log10(2.0)};
    cr_assert_eq(circa_mix(out, 3, 2, in, frames, gains, 2), CIRCA_OK);
    float want[6] = {0.6f, -0.3f, 0.3f, 0.4f, 0.5f, 0.6f}; /* b is silent past its one frame */
    for (size_t i = 0; i < 6; i++) cr_assert_float_eq(out[i], want[i], 1e-7, "sample %zu", i);
    cr_assert_eq(circa_mix(out, 3, 2, in, frames, NULL, 2), CIRCA_OK);
    cr_assert_float_eq(out[0], 1.1f, 1e-7);
    cr_assert_eq(circa_mix(out, 3, 0, in, frames, NULL, 2), CIRCA_E_PARAM);
}

Test(audio, stats) {
    size_t n = 48000;
    float *x = malloc(sizeof *x * n);
    for (size_t i = 0; i < n; i++) x[i] = (float)sin(2 * PI * 1000.0 * (double)i / 48000.0);
    circa_audio_stats s;
    circa_audio_stats_init(&s, 48000, 1);
    circa_audio_stats_update(&s, x, n / 2);
    circa_audio_stats_update(&s, x + n / 2, n - n / 2);
    cr_assert_float_eq(circa_audio_stats_rms_db(&s), -3.0103, 1e-3, "full-scale sine RMS");
    cr_assert_float_eq(circa_audio_stats_peak_db(&s), 0.0, 1e-3);
    cr_assert_float_eq(circa_audio_stats_duration(&s), 1.0, 1e-12);
    circa_audio_stats_init(&s, 48000, 2);
    cr_assert(isinf(circa_audio_stats_rms_db(&s)) && circa_audio_stats_rms_db(&s) < 0, "no samples");
    free(x);
}

Test(audio, snr_and_si_snr) {
    size_t n = 48000;
    float *r = malloc(sizeof *r * n), *e = malloc(sizeof *e * n);
    for (size_t i = 0; i < n; i++) r[i] = (float)sin(2 * PI * 100.0 * (double)i / 48000.0);
    cr_assert(isinf(circa_audio_snr(r, r, n)) && circa_audio_snr(r, r, n) > 0);
    cr_assert(isinf(circa_audio_si_snr(r, r, n)));
    /* est = ref + 0.1 cos (orthogonal over whole periods): both are 20 dB */
    for (size_t i = 0; i < n; i++) e[i] = r[i] + 0.1f * (float)cos(2 * PI * 100.0 * (double)i / 48000.0);
    cr_assert_float_eq(circa_audio_snr(r, e, n), 20.0, 1e-3);
    cr_assert_float_eq(circa_audio_si_snr(r, e, n), 20.0, 1e-3);
    /* SI-SNR ignores scale and offset; SNR does not */
    for (size_t i = 0; i < n; i++) e[i] = 3.0f * r[i] + 0.25f;
    cr_assert_gt(circa_audio_si_snr(r, e, n), 100.0);
    cr_assert_lt(circa_audio_snr(r, e, n), 0.0);
    /* known noise energy: 0.5 x ref -> SNR = 20 log10(1/0.5) */
    for (size_t i = 0; i < n; i++) e[i] = 0.5f * r[i];
    cr_assert_float_eq(circa_audio_snr(r, e, n), 20.0 * log10(2.0), 1e-9);
    /* the streaming comparison agrees with the array functions */
    for (size_t i = 0; i < n; i++) e[i] = r[i] + 0.05f * (float)((int32_t)rnd32()) / 2147483648.0f;
    circa_audio_compare c;
    circa_audio_compare_init(&c);
    circa_audio_compare_update(&c, r, e, 1000);
    circa_audio_compare_update(&c, r + 1000, e + 1000, n - 1000);
    cr_assert_float_eq(circa_audio_compare_snr(&c), circa_audio_snr(r, e, n), 1e-9);
    cr_assert_float_eq(circa_audio_compare_si_snr(&c), circa_audio_si_snr(r, e, n), 1e-6);
    cr_assert(isnan(circa_audio_snr(r, e, 0)));
    for (size_t i = 0; i < n; i++) r[i] = 0.5f;
    cr_assert(isnan(circa_audio_si_snr(r, e, n)), "a constant reference has no SI-SNR");
    free(r);
    free(e);
}
