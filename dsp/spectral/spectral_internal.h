/* spectral_internal.h: helpers shared by the files of dsp/spectral (private
 * to the room).
 *
 * Contents
 *   1. operator plumbing            spectral__op_new
 *   2. Kaiser length formula        spectral__kaiser_taps (window, beta: circa/special.h)
 *   3. partitioned convolution      spectral__conv_*
 *   4. small maths                  spectral__gcd, spectral__sinc */
#ifndef CIRCA_DSP_SPECTRAL_INTERNAL_H
#define CIRCA_DSP_SPECTRAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "circa/audio.h"
#include "circa/spectral.h"

/* ---- 1. operators ------------------------------------------------------- */
typedef circa_status (*spectral__process_fn)(circa_op *op, const float *in, size_t in_frames,
                                             size_t *consumed, float *out, size_t out_cap,
                                             size_t *produced);

/* Allocates an operator around `state`. On success the operator owns state
 * and frees it with free_state when destroyed; on failure (CIRCA_E_NOMEM)
 * free_state(state) has already been called and *out is NULL. */
circa_status spectral__op_new(const char *name, uint32_t in_rate, uint32_t out_rate,
                              uint32_t channels, spectral__process_fn process,
                              void (*free_state)(void *state), void *state, circa_op **out);

/* ---- 2. Kaiser length formula ---------------------------------------------- */
/* Kaiser's length estimate for an attenuation and a transition width given
 * as a fraction of the sampling rate (cycles per sample); >= 1. */
double spectral__kaiser_taps(double atten_db, double width_per_sample);

/* ---- 3. partitioned convolution ------------------------------------------ */
/* Uniformly partitioned overlap-save convolution of one input channel with
 * `nfilt` filters that share its input spectrum (several filters give the
 * polyphase branches of an upsampler), optionally keeping only every
 * decim-th output (decimation done in the frequency domain). Each call to
 * conv_run consumes exactly `block` input samples and produces block/decim
 * outputs per filter. */
typedef struct spectral__conv_kernel spectral__conv_kernel; /* shared, read-only spectra */
typedef struct spectral__conv spectral__conv;               /* one channel's state */

/* Transforms nfilt filters of len taps each (filt[f * len + j]) into
 * partitions; decim >= 1. Sizes are chosen from len. NULL on failure. */
spectral__conv_kernel *spectral__conv_kernel_new(const double *filt, size_t len, size_t nfilt,
                                                 size_t decim);
void spectral__conv_kernel_free(spectral__conv_kernel *k);
/* Input samples per run (a multiple of decim). */
size_t spectral__conv_block(const spectral__conv_kernel *k);
/* Per-channel state; the kernel must outlive it. NULL on failure. */
spectral__conv *spectral__conv_new(const spectral__conv_kernel *k);
void spectral__conv_free(spectral__conv *c);
/* Convolves the next block input samples; writes out[f * (block/decim) + j]:
 * output j of filter f is convolution sample decim * j of this block. */
void spectral__conv_run(spectral__conv *c, const double *in, double *out);

/* A streaming convolution operator (conv.c): nfilt (1 or channels) filters
 * of taps taps each (filt[f * taps + j]); of the full convolution it emits
 * samples lead .. in + taps - 1 - tail. NULL *out and PARAM / NOMEM on failure. */
circa_status spectral__conv_op_create(const char *name, const double *filt, size_t taps,
                                      size_t nfilt, size_t lead, size_t tail, uint32_t rate,
                                      uint32_t channels, circa_op **out);

/* ---- 3b. drawing (spectrogram_draw.c) ------------------------------------ */
/* An RGB canvas, 3 bytes per pixel, rows top to bottom. */
typedef struct spectral__canvas {
    unsigned char *px;
    uint32_t w, h;
} spectral__canvas;

#define SPECTRAL_FONT_W 5 /* glyph cell, plus 1 px of spacing */
#define SPECTRAL_FONT_H 7
/* Magma colour for t in [0, 1] (clamped) into rgb[3]. */
void spectral__magma(double t, unsigned char *rgb);
void spectral__pixel(spectral__canvas *c, int x, int y, const unsigned char *rgb);
void spectral__fill(spectral__canvas *c, int x, int y, int w, int h, const unsigned char *rgb);
/* Draws text with its top-left corner at (x, y); lower case is drawn as
 * capitals, unknown characters as '?'. Returns the width drawn. */
int spectral__text(spectral__canvas *c, int x, int y, const char *s, const unsigned char *rgb);
int spectral__text_width(const char *s);
/* A "nice" tick step (1, 2 or 5 x 10^k) giving about `count` ticks over span. */
double spectral__tick_step(double span, int count);
/* Formats a tick value with the decimals its step needs. */
void spectral__tick_label(char *buf, size_t cap, double v, double step);

/* ---- 4. small maths ----------------------------------------------------- */
#define SPECTRAL_PI 3.14159265358979323846 /* M_PI is not in strict C11 */
uint64_t spectral__gcd(uint64_t a, uint64_t b);
/* sin(pi x) / (pi x), 1 at 0. */
double spectral__sinc(double x);

#endif
