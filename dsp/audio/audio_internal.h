/* audio_internal.h: helpers shared by the files of dsp/audio (private to the
 * room): sample conversion between float and packed PCM bytes, the
 * rewindable byte stream that lets libsndfile read pipes, and message
 * formatting.
 *
 * Contents
 *   1. PCM layouts and conversion     circa__pcm_layout, circa__pcm_decode, circa__pcm_encode, circa__quantize
 *   2. byte streams (pipes, raw)      circa__bstream_*
 *   3. messages                       circa__say
 *   4. limits                         circa__audio_check */
#ifndef CIRCA_DSP_AUDIO_INTERNAL_H
#define CIRCA_DSP_AUDIO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "circa/audio.h"

/* ---- 1. PCM layouts ------------------------------------------------------ */
/* How one sample is packed in bytes. */
typedef struct circa__pcm_layout {
    unsigned bytes;  /* 1, 2, 3, 4 or 8 */
    int is_float;    /* IEEE float (4 or 8 bytes) */
    int is_unsigned; /* 8-bit WAV: offset binary */
    int big_endian;
} circa__pcm_layout;

/* The layout circa writes for a sample format (little-endian unless big). */
circa__pcm_layout circa__pcm_layout_of(circa_sample_format f, int big_endian);

/* Decodes n samples to float. Integers are scaled by 2^-(bits-1), so s8,
 * s16 and s24 convert exactly; s32 rounds to float's 24-bit mantissa. */
void circa__pcm_decode(const circa__pcm_layout *l, const unsigned char *src, float *dst, size_t n);

/* Encodes n samples; returns how many were clipped to the integer range. */
uint64_t circa__pcm_encode(const circa__pcm_layout *l, const float *src, unsigned char *dst, size_t n);

/* Rounds x * 2^(bits-1) to the nearest integer (ties to even), clipped to
 * the signed range of `bits` (16, 24 or 32) and returned left-justified in
 * 32 bits (the shape libsndfile's int API uses); NaN becomes 0. *clipped is
 * incremented when the value was out of range. */
int32_t circa__quantize(float x, unsigned bits, uint64_t *clipped);

/* Bits of an integer sample format (16, 24, 32), 0 for float. */
unsigned circa__format_bits(circa_sample_format f);

/* ---- 2. byte streams ----------------------------------------------------- */
/* Reads an fd through a remembered prefix: the first `hist_cap` bytes stay
 * in memory (allocated as they arrive) so that format probes may seek back
 * into them, which is what libsndfile needs to open a pipe. Reads past the
 * prefix are not kept. */
typedef struct circa__bstream {
    int fd;
    unsigned char *hist;  /* first min(fetched, hist_cap) bytes of the stream */
    size_t hist_cap, hist_alloc;
    int64_t fetched;      /* bytes read from fd so far */
    int64_t pos;          /* logical position: < hist length, or == fetched */
    int err;              /* errno of a failed read, 0 if none */
} circa__bstream;

/* Sets up a stream on fd; hist_cap may be 0. Cannot fail. */
void circa__bstream_init(circa__bstream *s, int fd, size_t hist_cap);
void circa__bstream_free(circa__bstream *s);
/* Reads up to n bytes, fewer only at end of stream or on error (s->err). */
size_t circa__bstream_read(circa__bstream *s, void *dst, size_t n);
/* Moves to byte `to` inside the remembered prefix (reading ahead into it if
 * need be) or to the end of what was read. Returns 0, or -1 without moving
 * or consuming anything where that is not possible. */
int circa__bstream_seek(circa__bstream *s, int64_t to);
/* Reads and discards n bytes: 0, or -1 at end of stream or on error. */
int circa__bstream_skip(circa__bstream *s, uint64_t n);

/* ---- 3. messages --------------------------------------------------------- */
/* Formats a message into why[0..cap) when why is not NULL; returns st. */
circa_status circa__say(char *why, size_t cap, circa_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- 4. limits ----------------------------------------------------------- */
/* CIRCA_OK when rate and channels are within circa's limits, else
 * CIRCA_E_FORMAT with a message saying which is out of range. */
circa_status circa__audio_check(uint32_t rate, uint32_t channels, char *why, size_t cap);

#endif
