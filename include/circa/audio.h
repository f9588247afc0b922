/* audio.h: circa's audio room: reading and writing audio files and pipes
 * through libsndfile, and the one streaming operator shape that every audio
 * filter (gain, mix, resample, fir, ...) shares.
 *
 * Contents
 *   1. stream description           circa_audio_info, limits, names
 *   2. reading (files, stdin)       circa_audio_open_read[_fd], circa_audio_read
 *   3. writing (files, stdout)      circa_audio_open_write[_fd], circa_audio_write,
 *                                   circa_audio_finish_write, circa_audio_close_write
 *   4. the operator shape           circa_op, circa_op_process, circa_op_free
 *   5. simple operators             gain, mix, stats, SNR and SI-SNR
 *
 * Samples cross the API as interleaved float32 frames (one frame = one
 * sample per channel), whatever the format on disk. Integer samples map to
 * [-1, 1) by 2^-(bits-1): s16 and s24 survive float and back bit-exactly;
 * s32 keeps float's 24 significant bits. Writing integers rounds to nearest
 * (ties to even) and clips; float samples are written as they are.
 *
 * A worked example (error handling elided): -6 dB from stdin to stdout.
 *
 *     circa_audio_reader *r;
 *     circa_audio_open_read("-", NULL, &r);
 *     circa_audio_info info = *circa_audio_reader_info(r);
 *     circa_audio_writer *w;
 *     circa_audio_open_write("-", &info, &w);
 *     circa_op *g;
 *     circa_op_gain_create(-6.0, info.rate, info.channels, &g);
 *     float buf[4096 * 2];          // for up to 2 channels
 *     size_t got, used, made;
 *     while (circa_audio_read(r, buf, 4096, &got) == CIRCA_OK && got > 0) {
 *         circa_op_process(g, buf, got, &used, buf, got, &made); // gain works in place
 *         circa_audio_write(w, buf, made);
 *     }
 *     circa_audio_close_write(w);
 *     circa_audio_close_read(r);
 *     circa_op_free(g);
 *
 * Pipes: input may be a non-seekable stream. PCM and float WAV are parsed
 * by circa (files too) and read to the end of the stream when the data size
 * says "unknown" (0xFFFFFFFF, sox's 0x7FFFF000, and 0 on a pipe); other
 * formats go to libsndfile, on a pipe through a remembered 1 MiB prefix
 * (FLAC, AU, AIFF, OGG work). Output to a pipe: WAV with a header whose
 * sizes are 0xFFFFFFFF, AU with size 0xFFFFFFFF (both headers written by
 * circa), raw, and FLAC whose
 * STREAMINFO leaves length and MD5 unset. The exact bytes are in
 * docs/audio.md.
 *
 * Threading: no global state; a reader, writer or operator is used by one
 * thread at a time. */
#ifndef CIRCA_AUDIO_H
#define CIRCA_AUDIO_H

#include <stddef.h>
#include <stdint.h>
#include "circa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- 1. stream description ---------------------------------------------- */
typedef enum circa_sample_format {
    CIRCA_SAMPLE_S16 = 0,
    CIRCA_SAMPLE_S24,
    CIRCA_SAMPLE_S32,
    CIRCA_SAMPLE_F32
} circa_sample_format;

typedef enum circa_audio_container {
    CIRCA_AUDIO_WAV = 0,
    CIRCA_AUDIO_FLAC,
    CIRCA_AUDIO_AU,
    CIRCA_AUDIO_RAW,   /* headerless little-endian PCM */
    CIRCA_AUDIO_OTHER  /* read only: another format libsndfile reads (AIFF, OGG, ...) */
} circa_audio_container;

typedef struct circa_audio_info {
    uint32_t rate;                   /* frames per second */
    uint32_t channels;
    circa_sample_format format;      /* reading: nearest circa format of the source
                                        (8-bit, u-law, ... read as S16; lossy as F32) */
    circa_audio_container container;
    int64_t frames;                  /* -1 when unknown (pipes) */
} circa_audio_info;

/* Limits: anything outside is refused as malformed (CIRCA_E_FORMAT). */
#define CIRCA_AUDIO_MAX_CHANNELS 1024u
#define CIRCA_AUDIO_MAX_RATE 10000000u

/* Short static names ("wav", "s16", ...); "?" for values out of range. */
CIRCA_API const char *circa_audio_container_name(circa_audio_container c);
CIRCA_API const char *circa_sample_format_name(circa_sample_format f);

/* ---- 2. reading ----------------------------------------------------------- */
typedef struct circa_audio_reader circa_audio_reader;

/* Opens a file, or stdin for "-" (non-seekable is fine). raw describes raw
 * input (container CIRCA_AUDIO_RAW: rate, channels, format) and must be NULL
 * otherwise. *out is NULL on failure: CIRCA_E_IO (cannot open or read),
 * CIRCA_E_FORMAT (not audio, or malformed: truncated header, zero or more
 * than 1024 channels, rate 0 or above 10 MHz), CIRCA_E_UNSUPPORTED (a
 * format that cannot be read from a pipe), CIRCA_E_PARAM, CIRCA_E_NOMEM. */
CIRCA_API circa_status circa_audio_open_read(const char *path, const circa_audio_info *raw,
                                             circa_audio_reader **out);
/* As circa_audio_open_read, from an open descriptor: the reader closes fd
 * at close when own_fd is nonzero (also when opening fails). On failure a
 * one-line reason is written to why[0..why_cap) when why is not NULL. */
CIRCA_API circa_status circa_audio_open_read_fd(int fd, int own_fd, const circa_audio_info *raw,
                                                char *why, size_t why_cap,
                                                circa_audio_reader **out);
CIRCA_API const circa_audio_info *circa_audio_reader_info(const circa_audio_reader *r);
/* Reads up to `frames` frames into buf (frames x channels floats); *got is
 * less than frames only at end of stream, 0 after it. A partial frame at
 * the end of a stream is dropped. On failure (CIRCA_E_IO, CIRCA_E_FORMAT
 * for corrupt data) *got frames were still read. */
CIRCA_API circa_status circa_audio_read(circa_audio_reader *r, float *buf, size_t frames,
                                        size_t *got);
/* The reason for the reader's last failure, "" if none; never NULL. */
CIRCA_API const char *circa_audio_reader_error(const circa_audio_reader *r);
/* Closes and frees; accepts NULL. */
CIRCA_API void circa_audio_close_read(circa_audio_reader *r);

/* ---- 3. writing ------------------------------------------------------------ */
typedef struct circa_audio_writer circa_audio_writer;

/* Creates a file, or writes stdout for "-". info gives rate, channels,
 * format and container (WAV, FLAC, AU or RAW). info->frames is a length
 * hint (-1: unknown): a WAV file whose hinted data is under 2 GiB gets the
 * plain header; otherwise it is written as RF64 and turned into WAV (JUNK
 * chunk, extensible fmt) at the end if it stayed under 4 GiB. FLAC holds
 * s16 and s24 only: other formats fail with CIRCA_E_UNSUPPORTED. On a pipe,
 * WAV is written with an up-front header whose sizes say "unknown" (as sox
 * and ffmpeg do). *out is NULL on failure (CIRCA_E_IO, CIRCA_E_PARAM,
 * CIRCA_E_FORMAT for rate or channels out of range, CIRCA_E_UNSUPPORTED,
 * CIRCA_E_NOMEM). */
CIRCA_API circa_status circa_audio_open_write(const char *path, const circa_audio_info *info,
                                              circa_audio_writer **out);
/* As circa_audio_open_write, to an open descriptor: a file positioned at
 * offset 0 (not in append mode) is written through libsndfile; anything
 * else (pipes, terminals, a file written further on) as a stream that
 * never seeks back. The writer closes fd when
 * own_fd is nonzero (also when opening fails); why as in reading. */
CIRCA_API circa_status circa_audio_open_write_fd(int fd, int own_fd, const circa_audio_info *info,
                                                 char *why, size_t why_cap,
                                                 circa_audio_writer **out);
/* Writes `frames` interleaved frames. Fails with CIRCA_E_IO (reason in
 * circa_audio_writer_error), after which the writer only accepts close. */
CIRCA_API circa_status circa_audio_write(circa_audio_writer *w, const float *buf, size_t frames);
/* Samples clipped to the integer range so far. */
CIRCA_API uint64_t circa_audio_writer_clipped(const circa_audio_writer *w);
/* Completes the stream (final headers, flush) and closes an owned fd, so a
 * caller can see the outcome before freeing: CIRCA_OK or CIRCA_E_IO. Calling
 * it again returns the same status. */
CIRCA_API circa_status circa_audio_finish_write(circa_audio_writer *w);
CIRCA_API const char *circa_audio_writer_error(const circa_audio_writer *w);
/* Finishes the stream (headers, flush) and frees the writer; accepts NULL. */
CIRCA_API circa_status circa_audio_close_write(circa_audio_writer *w);

/* ---- 4. the operator shape ------------------------------------------------- */
/* A streaming operator: consumes interleaved frames at one rate and channel
 * count, produces frames at another. Operators that work in blocks keep
 * their overlap inside; memory is bounded whatever the stream length.
 *
 * Driving one: call process with input until it is all consumed, giving
 * room for output each time (a call may consume nothing while its output
 * is full, and produce nothing while it gathers a block). At the end of the
 * input call it with in == NULL, in_frames == 0 until *produced == 0. A call
 * that consumes and produces nothing although input and room were given
 * is a bug in the operator (drivers report CIRCA_E_STATE). */
typedef struct circa_op circa_op;
struct circa_op {
    const char *name;
    uint32_t in_rate, out_rate;
    uint32_t in_channels, out_channels;
    /* Consumes up to in_frames frames (in == NULL and in_frames == 0 means
     * end of input: drain what is held), produces up to out_cap frames. */
    circa_status (*process)(circa_op *op, const float *in, size_t in_frames, size_t *consumed,
                            float *out, size_t out_cap, size_t *produced);
    /* Frees state and the circa_op itself. */
    void (*destroy)(circa_op *op);
    void *state;
};

/* Calls op->process after checking arguments (CIRCA_E_PARAM when op, a
 * needed pointer, or the output buffer is NULL). On an operator's failure
 * the operator must be freed. */
CIRCA_API circa_status circa_op_process(circa_op *op, const float *in, size_t in_frames,
                                        size_t *consumed, float *out, size_t out_cap,
                                        size_t *produced);
/* Frees an operator; accepts NULL. */
CIRCA_API void circa_op_free(circa_op *op);

/* ---- 5. simple operators ----------------------------------------------------- */
/* 10^(db/20): the linear factor of a level change in decibels. */
CIRCA_API double circa_db_to_gain(double db);

/* Gain: multiplies every sample by 10^(db/20) (0 dB is bit-exact). Works in
 * place (out == in). Fails with CIRCA_E_PARAM for a non-finite db, rate or
 * channels out of range; CIRCA_E_NOMEM. */
CIRCA_API circa_status circa_op_gain_create(double db, uint32_t rate, uint32_t channels,
                                            circa_op **out);

/* Mix: out[f*channels+c] = sum over k of gain(gains_db[k]) x in[k][...],
 * accumulated in double, where input k holds in_frames[k] frames and is
 * silent past them (so inputs of different lengths mix to the longest).
 * gains_db may be NULL (all 0 dB). out may alias no input. Fails with
 * CIRCA_E_PARAM for NULL pointers (an input may be NULL when its
 * in_frames is 0) or channels == 0. */
CIRCA_API circa_status circa_mix(float *out, size_t frames, uint32_t channels,
                                 const float *const *in, const size_t *in_frames,
                                 const double *gains_db, size_t n_inputs);

/* Level statistics, accumulated block by block over interleaved frames. */
typedef struct circa_audio_stats {
    uint32_t rate, channels;
    uint64_t frames;
    double peak;    /* largest |sample| */
    double sum_sq;  /* sum of squares of every sample */
} circa_audio_stats;

CIRCA_API void circa_audio_stats_init(circa_audio_stats *s, uint32_t rate, uint32_t channels);
CIRCA_API void circa_audio_stats_update(circa_audio_stats *s, const float *buf, size_t frames);
/* 20 log10(peak): -INFINITY for silence or no samples. */
CIRCA_API double circa_audio_stats_peak_db(const circa_audio_stats *s);
/* 20 log10(RMS over all samples): a full-scale sine reads -3.01 dBFS;
 * -INFINITY for silence or no samples. */
CIRCA_API double circa_audio_stats_rms_db(const circa_audio_stats *s);
/* frames / rate in seconds (0 when rate is 0). */
CIRCA_API double circa_audio_stats_duration(const circa_audio_stats *s);

/* SNR of est against ref over n samples, in dB, double accumulation:
 * 10 log10(sum ref^2 / sum (est - ref)^2). +INFINITY when they are
 * identical, NAN when n == 0 or both are silent. */
CIRCA_API double circa_audio_snr(const float *ref, const float *est, size_t n);
/* Scale-invariant SNR: both signals made zero-mean, est projected on ref:
 * t = (<est,ref>/<ref,ref>) ref, 10 log10(|t|^2 / |est - t|^2). +INFINITY
 * when est is an exact scaled ref; NAN when n == 0 or ref is constant. */
CIRCA_API double circa_audio_si_snr(const float *ref, const float *est, size_t n);

/* The same two measures accumulated over a stream block by block (sums of
 * r, e, r^2, e^2, r*e, (e-r)^2), e.g. two readers in step. */
typedef struct circa_audio_compare {
    uint64_t n;
    double sr, se, srr, see, sre, sdd;
} circa_audio_compare;

CIRCA_API void circa_audio_compare_init(circa_audio_compare *c);
CIRCA_API void circa_audio_compare_update(circa_audio_compare *c, const float *ref,
                                          const float *est, size_t n);
CIRCA_API double circa_audio_compare_snr(const circa_audio_compare *c);
CIRCA_API double circa_audio_compare_si_snr(const circa_audio_compare *c);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_AUDIO_H */
