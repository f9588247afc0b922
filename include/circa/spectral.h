/* spectral.h: circa's spectral room: FFTW transforms behind a shared plan
 * cache, STFT/ISTFT, FFT convolution, Kaiser-designed FIR filters, the
 * polyphase resampler, spectrograms as PNG, and spectral-gating denoise.
 *
 * Contents
 *   1. FFT plan cache                circa_fft_get, circa_fft_forward/_inverse, circa_fftf_*
 *   2. STFT / ISTFT                  circa_stft_*
 *   3. FIR design (Kaiser)           circa_fir_design
 *   4. operators (circa_op)          circa_op_fir_create, circa_op_filter_create,
 *                                    circa_resampler_create, circa_op_denoise_create
 *   5. spectrogram PNG               circa_spectrogram_*
 *
 * Threading: the only shared state is the FFT plan cache. Plans are made once,
 * under a lock, and executed from any number of threads at once. Every other
 * object is used by one thread at a time; different objects may be used from
 * different threads at once.
 *
 * Operators follow audio.h: interleaved float32 frames in and out; memory is
 * bounded whatever the stream length. docs/spectral.md has the conventions
 * (STFT framing, filter edges, resampler presets, lengths and latency). */
#ifndef CIRCA_SPECTRAL_H
#define CIRCA_SPECTRAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "circa.h"
#include "audio.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- 1. FFT plan cache ------------------------------------------------------
 * Real transforms of any size n >= 2. A plan is looked up (or made, under a
 * lock) once, and then executed from any thread. Spectra are n/2+1 complex
 * numbers stored as interleaved (re, im) pairs. The inverse is unnormalised:
 * inverse(forward(x)) = n * x. Buffers from circa_fft_alloc run the fast
 * (aligned) path; other buffers work too, through a second, unaligned plan. */
typedef struct circa_fft circa_fft;

typedef enum circa_fft_precision { CIRCA_FFT_F64 = 0, CIRCA_FFT_F32 = 1 } circa_fft_precision;
typedef enum circa_fft_direction { CIRCA_FFT_FORWARD = 0, CIRCA_FFT_INVERSE = 1 } circa_fft_direction;

/* The cached plan for (n, precision, direction); made on first use. The plan
 * lives until circa_fft_cache_clear. Fails with CIRCA_E_PARAM for n < 2 and
 * CIRCA_E_NOMEM when FFTW cannot plan; *out is NULL then. */
CIRCA_API circa_status circa_fft_get(size_t n, circa_fft_precision precision,
                                     circa_fft_direction direction, const circa_fft **out);
CIRCA_API size_t circa_fft_size(const circa_fft *plan);

/* Executes a double plan: forward reads n reals from in (kept) and writes
 * n/2+1 complex to out; inverse reads n/2+1 complex from in (overwritten, as
 * FFTW's c2r does) and writes n reals to out. in and out must not overlap.
 * CIRCA_E_PARAM when the plan's precision or direction does not match. */
CIRCA_API circa_status circa_fft_forward(const circa_fft *plan, const double *in, double *out);
CIRCA_API circa_status circa_fft_inverse(const circa_fft *plan, double *in, double *out);
/* The same for float plans. */
CIRCA_API circa_status circa_fftf_forward(const circa_fft *plan, const float *in, float *out);
CIRCA_API circa_status circa_fftf_inverse(const circa_fft *plan, float *in, float *out);

/* SIMD-aligned memory for transform buffers (NULL on failure); free with
 * circa_fft_dealloc, which accepts NULL. */
CIRCA_API void *circa_fft_alloc(size_t bytes);
CIRCA_API void circa_fft_dealloc(void *p);
/* The smallest n' >= n whose only prime factors are 2, 3 and 5 (fast sizes);
 * 0 on overflow. */
CIRCA_API size_t circa_fft_good_size(size_t n);
/* Number of plans in the cache (for tests and diagnostics). */
CIRCA_API size_t circa_fft_cache_count(void);
/* Destroys every cached plan. Only call when no thread holds or runs a plan
 * (e.g. at exit, for leak checkers). */
CIRCA_API void circa_fft_cache_clear(void);

/* ---- 2. STFT / ISTFT ----------------------------------------------------------
 * Framing: frame t covers samples [t*hop - (n_fft - hop), t*hop + hop) of a
 * signal taken as zero outside [0, len): the frame's newest hop samples are
 * t*hop .. t*hop+hop-1, so a stream can be analysed as it arrives. A signal
 * of len samples has circa_stft_frames(len) = ceil((len + n_fft - hop) / hop)
 * frames, which cover every sample with the full window overlap.
 * Windows are half-sample-shifted so they are never zero: Hann
 * w[k] = sin^2(pi (k + 1/2) / n_fft), sqrt-Hann its square root.
 * Synthesis is weighted overlap-add, normalised by the window sum, so
 * inverse(forward(x)) = x for any 1 <= hop <= n_fft (to rounding):
 *   CIRCA_WINDOW_HANN:      Hann analysis, plain overlap-add synthesis;
 *   CIRCA_WINDOW_SQRT_HANN: sqrt-Hann analysis and synthesis (use when
 *                           the spectrum is modified, e.g. denoise). */
typedef enum circa_window { CIRCA_WINDOW_HANN = 0, CIRCA_WINDOW_SQRT_HANN = 1 } circa_window;

typedef struct circa_stft_config {
    size_t n_fft;        /* frame length, >= 2 (any size; 2^a 3^b 5^c is fastest) */
    size_t hop;          /* 1 .. n_fft */
    circa_window window;
} circa_stft_config;

typedef struct circa_stft circa_stft;

/* *out is NULL on failure (CIRCA_E_PARAM, CIRCA_E_NOMEM). */
CIRCA_API circa_status circa_stft_create(const circa_stft_config *cfg, circa_stft **out);
CIRCA_API void circa_stft_free(circa_stft *st);
CIRCA_API size_t circa_stft_bins(const circa_stft *st);  /* n_fft/2 + 1 */
CIRCA_API size_t circa_stft_frames(const circa_stft *st, size_t len);
/* The analysis window (n_fft values), e.g. for amplitude calibration. */
CIRCA_API const double *circa_stft_window(const circa_stft *st);

/* One frame: windows n_fft samples of x and writes bins complex (re, im) to
 * spec. Never fails. */
CIRCA_API void circa_stft_analyze_frame(circa_stft *st, const double *x, double *spec);
/* One frame back: inverse-transforms spec (kept), applies the normalised
 * synthesis window and adds n_fft samples into acc. Never fails. */
CIRCA_API void circa_stft_synthesize_frame(circa_stft *st, const double *spec, double *acc);

/* Whole signals. forward writes circa_stft_frames(len) frames of bins complex
 * each to spec (frame-major). inverse rebuilds len samples from those frames
 * into y. CIRCA_E_NOMEM when scratch cannot be allocated. */
CIRCA_API circa_status circa_stft_forward(circa_stft *st, const double *x, size_t len,
                                          double *spec);
CIRCA_API circa_status circa_stft_inverse(circa_stft *st, const double *spec, double *y,
                                          size_t len);

/* ---- 3. FIR design -------------------------------------------------------------
 * Linear-phase (odd length) windowed-sinc filters with a Kaiser window. A
 * cutoff is the centre of its transition band (the -6 dB point): the band
 * edge passes at cutoff -/+ width/2 and stops at cutoff +/- width/2. Length
 * n = ceil((atten - 7.95) / (2.285 * 2 pi width / rate)) + 1, made odd. */
typedef enum circa_fir_type {
    CIRCA_FIR_LOWPASS = 0,  /* passes below f1 */
    CIRCA_FIR_HIGHPASS,     /* passes above f1 */
    CIRCA_FIR_BANDPASS      /* passes f1 .. f2 */
} circa_fir_type;

typedef struct circa_fir_spec {
    circa_fir_type type;
    double f1_hz, f2_hz;  /* cutoffs (f2 only for bandpass) */
    double width_hz;      /* transition width; 0: min(f/4 of the lowest cutoff, rate/40) */
    double atten_db;      /* stopband attenuation; 0: 80 dB */
} circa_fir_spec;

/* Designs the taps; *taps (free with free()) and *n on success. CIRCA_E_PARAM
 * when a transition band leaves (0, rate/2) or the filter would exceed 2^22 taps. */
CIRCA_API circa_status circa_fir_design(const circa_fir_spec *spec, double rate, double **taps,
                                        size_t *n);

/* ---- 4. operators -------------------------------------------------------------
 * All return a circa_op (audio.h) in *out, or NULL with CIRCA_E_PARAM /
 * CIRCA_E_NOMEM. Release with circa_op_free. */

/* Convolution with an impulse response of any length (uniformly partitioned
 * overlap-save through FFTW, in double). ir holds ir_frames frames of
 * ir_channels (1: the same IR for every channel; else must equal channels).
 * Output length = input length + ir_frames - 1 (the whole tail). */
CIRCA_API circa_status circa_op_fir_create(const float *ir, size_t ir_frames,
                                           uint32_t ir_channels, uint32_t rate,
                                           uint32_t channels, circa_op **out);

/* A Kaiser-designed filter (section 3), delay-compensated: the output has
 * the input's length and is time-aligned with it. */
CIRCA_API circa_status circa_op_filter_create(const circa_fir_spec *spec, uint32_t rate,
                                              uint32_t channels, circa_op **out);

/* Resampler presets: edges as fractions of the lower Nyquist frequency,
 * min(in_rate, out_rate) / 2. */
typedef enum circa_resample_quality {
    CIRCA_RESAMPLE_LOW = 0,
    CIRCA_RESAMPLE_MEDIUM,
    CIRCA_RESAMPLE_HIGH,
    CIRCA_RESAMPLE_BEST
} circa_resample_quality;
#define CIRCA_RESAMPLE_QUALITY_COUNT 4

typedef struct circa_resample_preset {
    const char *name;    /* "low", "medium", "high", "best" */
    double passband;     /* flat (ripple <= the attenuation) up to this fraction */
    double stopband;     /* attenuated by atten_db from this fraction */
    double atten_db;
} circa_resample_preset;

/* The preset of a quality, or NULL when out of range. */
CIRCA_API const circa_resample_preset *circa_resample_preset_get(circa_resample_quality q);
/* Parses "low", "medium", "high", "best"; CIRCA_E_PARAM otherwise. */
CIRCA_API circa_status circa_resample_quality_parse(const char *name, circa_resample_quality *q);

/* Rational-ratio resampler (any in_rate, out_rate up to 2^24 Hz whose reduced
 * ratio fits the polyphase table). Output frame k is the input's value at
 * time k / out_rate: the filter delay is compensated, and a stream of n input
 * frames gives exactly circa_resampler_output_frames(in, out, n) frames.
 * CIRCA_E_UNSUPPORTED when the reduced ratio needs too many phases. */
CIRCA_API circa_status circa_resampler_create(uint32_t in_rate, uint32_t out_rate,
                                              uint32_t channels, circa_resample_quality q,
                                              circa_op **out);
/* ceil(in_frames * out_rate / in_rate), without overflow. */
CIRCA_API uint64_t circa_resampler_output_frames(uint32_t in_rate, uint32_t out_rate,
                                                 uint64_t in_frames);

/* Spectral-gating denoise: STFT (sqrt-Hann, ~46 ms frames, 75% overlap);
 * the noise profile is the mean power spectrum of the quietest frames of a
 * leading segment; bins under profile * threshold are attenuated; the gain
 * mask is smoothed over frequency and (attack/release) over time. The output
 * has the input's length and is time-aligned with it. */
typedef struct circa_denoise_config {
    double profile_s;       /* leading seconds searched for the noise profile (2.0) */
    double quiet_fraction;  /* fraction of that segment's frames, the quietest, averaged (0.2) */
    double threshold_db;    /* a bin passes when this far above the noise (6.0) */
    double reduction_db;    /* attenuation of gated bins (24.0) */
    double freq_smooth_hz;  /* half-width of the mask's frequency smoothing (150.0) */
    double release_ms;      /* time for a closing gate to fall (60.0); opening is instant */
} circa_denoise_config;

CIRCA_API circa_denoise_config circa_denoise_default(void);
CIRCA_API circa_status circa_op_denoise_create(const circa_denoise_config *cfg, uint32_t rate,
                                               uint32_t channels, circa_op **out);

/* ---- 5. spectrogram ----------------------------------------------------------------
 * Streams audio in, writes a PNG: one panel per channel (stacked), log
 * magnitude in dBFS (a full-scale sine reads 0 dB) over range_db, a magma
 * colour map, a time axis (s), a frequency axis (kHz) and a dB colour bar.
 * Memory is bounded: the plot keeps at most 2 * width columns, pooling
 * adjacent columns (mean power) whenever it fills, so any length fits. */
typedef struct circa_spectrogram_config {
    uint32_t width;      /* plot width in pixels (800) */
    uint32_t height;     /* plot height = frequency bins (257: 512-point DFT) */
    double range_db;     /* dynamic range shown (120) */
    const char *title;   /* a line above the plot (e.g. the file name), or NULL;
                            drawn in capitals, characters the font lacks as '?' */
} circa_spectrogram_config;

typedef struct circa_spectrogram circa_spectrogram;

CIRCA_API circa_spectrogram_config circa_spectrogram_default(void);
/* total_frames: the stream length when known (sets the time resolution of
 * short inputs), else -1. *out is NULL on failure. */
CIRCA_API circa_status circa_spectrogram_create(const circa_spectrogram_config *cfg,
                                                uint32_t rate, uint32_t channels,
                                                int64_t total_frames, circa_spectrogram **out);
/* Feeds interleaved frames. CIRCA_E_NOMEM on allocation failure. */
CIRCA_API circa_status circa_spectrogram_push(circa_spectrogram *sg, const float *in,
                                              size_t frames);
/* Ends the stream (analyses the last partial frames) and writes the PNG to
 * fp, which the caller opened and closes. Pushing after this is an error
 * (CIRCA_E_STATE). CIRCA_E_IO when writing fails, CIRCA_E_NOMEM. */
CIRCA_API circa_status circa_spectrogram_write_png(circa_spectrogram *sg, FILE *fp);
CIRCA_API void circa_spectrogram_free(circa_spectrogram *sg);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_SPECTRAL_H */
