/* audio.h: circa's audio room: reading and writing audio files and pipes
 * through libsndfile, and the one streaming operator shape that every audio
 * filter (gain, mix, resample, fir, ...) shares.
 *
 * Contents
 *   1. stream description           circa_audio_info
 *   2. reading (files, stdin)       circa_audio_open_read, circa_audio_read
 *   3. writing (files, stdout)      circa_audio_open_write, circa_audio_write, circa_audio_close_write
 *   4. the operator shape           circa_op, circa_op_process, circa_op_free
 *   5. simple operators             gain, mix, stats
 *
 * Samples cross the API as interleaved float32 frames (one frame = one
 * sample per channel), whatever the format on disk. */
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
    CIRCA_AUDIO_RAW
} circa_audio_container;

typedef struct circa_audio_info {
    uint32_t rate;                   /* frames per second */
    uint32_t channels;
    circa_sample_format format;
    circa_audio_container container;
    int64_t frames;                  /* -1 when unknown (pipes) */
} circa_audio_info;

/* ---- 2. reading ----------------------------------------------------------- */
typedef struct circa_audio_reader circa_audio_reader;

/* Opens a file, or stdin for "-" (non-seekable is fine). raw describes raw
 * input (container CIRCA_AUDIO_RAW) and must be NULL otherwise. */
CIRCA_API circa_status circa_audio_open_read(const char *path, const circa_audio_info *raw,
                                             circa_audio_reader **out);
CIRCA_API const circa_audio_info *circa_audio_reader_info(const circa_audio_reader *r);
/* Reads up to `frames` frames; *got == 0 at end of stream. */
CIRCA_API circa_status circa_audio_read(circa_audio_reader *r, float *buf, size_t frames,
                                        size_t *got);
CIRCA_API void circa_audio_close_read(circa_audio_reader *r);

/* ---- 3. writing ------------------------------------------------------------ */
typedef struct circa_audio_writer circa_audio_writer;

/* Creates a file, or writes stdout for "-". On a pipe, WAV is written with
 * an up-front header whose sizes say "unknown" (as sox and ffmpeg do). */
CIRCA_API circa_status circa_audio_open_write(const char *path, const circa_audio_info *info,
                                              circa_audio_writer **out);
CIRCA_API circa_status circa_audio_write(circa_audio_writer *w, const float *buf, size_t frames);
/* Finishes the stream (headers, flush) and frees the writer; accepts NULL. */
CIRCA_API circa_status circa_audio_close_write(circa_audio_writer *w);

/* ---- 4. the operator shape ------------------------------------------------- */
/* A streaming operator: consumes interleaved frames at one rate and channel
 * count, produces frames at another. Operators that work in blocks keep
 * their overlap inside; memory is bounded whatever the stream length. */
typedef struct circa_op circa_op;
struct circa_op {
    const char *name;
    uint32_t in_rate, out_rate;
    uint32_t in_channels, out_channels;
    /* Consumes up to in_frames frames (in == NULL and in_frames == 0 means
     * end of input: drain what is held), produces up to out_cap frames. */
    circa_status (*process)(circa_op *op, const float *in, size_t in_frames, size_t *consumed,
                            float *out, size_t out_cap, size_t *produced);
    void (*destroy)(circa_op *op);
    void *state;
};

CIRCA_API circa_status circa_op_process(circa_op *op, const float *in, size_t in_frames,
                                        size_t *consumed, float *out, size_t out_cap,
                                        size_t *produced);
/* Frees an operator; accepts NULL. */
CIRCA_API void circa_op_free(circa_op *op);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_AUDIO_H */
