/* separate.h: two-speaker speech separation with Conv-TasNet (tasnet.h):
 * a training-mixture generator over a folder of speech, a training loop,
 * bounded-memory inference as a circa_op, and oracle time-frequency masks
 * for evaluation.
 *
 * Contents
 *   1. the mixer            circa_mixer_*: speech folder -> 8 kHz mixtures
 *   2. inference            circa_separate_whole, circa_op_separate_create
 *   3. evaluation           circa_separate_oracle, circa_separate_best_perm
 *   4. training             circa_separate_train
 *
 * Threading: no global state; a mixer, model or operator is used by one
 * thread at a time. */
#ifndef CIRCA_SEPARATE_H
#define CIRCA_SEPARATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "circa/circa.h"
#include "circa/audio.h"
#include "circa/tasnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The rate every model here works at. */
#define CIRCA_SEPARATE_RATE 8000u

/* ---- 1. the mixer ------------------------------------------------------------ */
/* Speaker ids: the `speaker` column of DIR/MANIFEST.tsv (whose `file`
 * column holds paths relative to DIR) when present, else the name of each
 * file's parent folder. Files: every .flac .wav .ogg .mp3 .au .aiff under
 * DIR (recursively), downmixed and resampled to 8 kHz on load. */
typedef struct circa_mixer_config {
    double val_fraction;   /* share of speakers held out for validation (0.1) */
    uint64_t split_seed;   /* decides which speakers are held out */
    int augment;           /* 1: gain, speed, EQ, reverb, noise on training mixtures */
    double max_seconds;    /* per file kept after loading (0: all) */
} circa_mixer_config;

/* val_fraction 0.1, split_seed 1, augment 1, max_seconds 0. */
CIRCA_API circa_mixer_config circa_mixer_config_default(void);

typedef struct circa_mixer circa_mixer;
enum { CIRCA_MIXER_TRAIN = 0, CIRCA_MIXER_VAL = 1 };

/* Loads DIR. Needs at least 4 speakers (2 per split). On failure *out is
 * NULL and a one-line reason goes to why[0..cap) (when why is not NULL):
 * CIRCA_E_IO (unreadable folder or file), CIRCA_E_FORMAT (a file that is
 * not audio), CIRCA_E_PARAM (too few speakers), CIRCA_E_NOMEM. */
CIRCA_API circa_status circa_mixer_load(const char *dir, const circa_mixer_config *cfg,
                                        circa_mixer **out, char *why, size_t cap);
CIRCA_API void circa_mixer_free(circa_mixer *m); /* accepts NULL */
/* Speakers in a split; 0 for a bad split. */
CIRCA_API size_t circa_mixer_speakers(const circa_mixer *m, int split);
/* Name of speaker i of a split (NULL when out of range). */
CIRCA_API const char *circa_mixer_speaker_name(const circa_mixer *m, int split, size_t i);
/* Seconds of speech loaded in a split. */
CIRCA_API double circa_mixer_seconds(const circa_mixer *m, int split);

typedef struct circa_mixer_info {
    size_t spk[2];   /* speaker indices within the split, always different */
    double snr_db;   /* level of source 0 over source 1, uniform in [-5, 5] */
} circa_mixer_info;

/* One mixture of t samples at 8 kHz, a pure function of (m, split, seed):
 * src [2][t] are the two (augmented) sources, mix = src0 + src1 (+ low-level
 * noise when augmenting, on training mixtures only). info may be NULL.
 * CIRCA_E_PARAM for a bad split or t == 0, CIRCA_E_NOMEM. */
CIRCA_API circa_status circa_mixer_make(const circa_mixer *m, int split, uint64_t seed, size_t t,
                                        float *mix, float *src, circa_mixer_info *info);

/* ---- 2. inference ------------------------------------------------------------- */
/* Separates x[0..n) into est [C][n] in one forward pass (zero-padded to a
 * length the model takes), each estimate then scaled so that their sum is
 * the least-squares fit of x (mixture-consistent levels: SI-SNR training
 * leaves the scale free). CIRCA_E_PARAM (n == 0), CIRCA_E_NOMEM. */
CIRCA_API circa_status circa_separate_whole(circa_tasnet *net, const float *x, size_t n,
                                            float *est);

/* A streaming operator at 8 kHz, 1 channel in, C channels out, in bounded
 * memory. gLN models: chunks of chunk_s seconds overlapping by overlap_s,
 * each chunk's sources reordered to match the previous chunk's in the
 * overlap, then cross-faded. Causal models: frame by frame through
 * circa_tasnet_stream_* (chunk_s, overlap_s ignored); the output lags by
 * circa_separate_latency samples inside, but the op emits it aligned.
 * The model must outlive the op. CIRCA_E_PARAM (overlap not below half the
 * chunk), CIRCA_E_NOMEM. */
CIRCA_API circa_status circa_op_separate_create(circa_tasnet *net, double chunk_s,
                                                double overlap_s, circa_op **out);
/* Algorithmic latency of a causal model in samples at 8 kHz: one encoder
 * window, L. (A gLN model needs its whole chunk.) */
CIRCA_API int circa_separate_latency(const circa_tasnet_config *cfg);

/* ---- 3. evaluation -------------------------------------------------------------- */
typedef enum circa_oracle_mask { CIRCA_ORACLE_IBM = 0, CIRCA_ORACLE_IRM, CIRCA_ORACLE_WFM }
    circa_oracle_mask;
/* Oracle mask separation of mix from the true sources src [2][t]: 32 ms
 * Hann STFT with 8 ms hop at 8 kHz; IBM (1 where the source dominates),
 * IRM (|S| / (|S1| + |S2|)... as sqrt of the power ratio), WFM (power ratio,
 * the Wiener filter). est [2][t]. CIRCA_E_PARAM, CIRCA_E_NOMEM. */
CIRCA_API circa_status circa_separate_oracle(circa_oracle_mask kind, size_t t, const float *mix,
                                             const float *src, float *est);
/* Best-permutation scores of est [2][t] against ref [2][t]: mean SI-SNR
 * and mean SNR (plain SNR, used as "SDR") in dB; the permutation is chosen
 * by SI-SNR. Never fails; NaN for silent references. */
CIRCA_API void circa_separate_score(size_t t, const float *est, const float *ref,
                                    double *sisnr, double *snr);

/* ---- 4. training ----------------------------------------------------------------- */
typedef struct circa_separate_train_config {
    double seconds;       /* wall-clock budget, 0: none */
    double segment_s;     /* 4 */
    int batch;            /* 4 */
    float lr;             /* 1e-3 */
    uint64_t seed;
    int epoch_steps;      /* steps per "epoch" (validation, checkpoint): 100 */
    int val_mixtures;     /* validation mixtures per epoch: 16 */
    int max_epochs;       /* 100 */
    int patience;         /* epochs without improvement before halving lr: 3 */
    int stop_after;       /* halvings without improvement before stopping: 3 */
    const char *out;      /* model path (best validation); its .ckpt is the checkpoint */
    const char *resume;   /* checkpoint to resume from, or NULL */
    int restart;          /* with resume: a new stage: lr from this config, plateau
                             counters and best score cleared (0: carry them on) */
    unsigned mix_threads; /* threads making each batch's mixtures (0 or 1: the
                             calling thread); the batches do not depend on it */
} circa_separate_train_config;

CIRCA_API circa_separate_train_config circa_separate_train_config_default(void);

/* Trains net on m's training split, validating on its validation split
 * (SI-SNRi) every epoch_steps steps; writes the best model to cfg->out and
 * a checkpoint (the weights plus Adam state and counters) to cfg->out +
 * ".ckpt" every epoch. Progress lines go to log (may be NULL). When resuming,
 * net's weights are replaced by the checkpoint's. CIRCA_E_IO, CIRCA_E_MODEL
 * / CIRCA_E_FORMAT (bad checkpoint), CIRCA_E_NOMEM; *best_db (may be NULL)
 * receives the best validation SI-SNRi. A model on the GPU
 * (circa_tasnet_use_cuda with CIRCA_TASNET_GPU_TRAIN) trains there: the
 * passes on the device, the mixer, loss, clipping and Adam on the host. */
CIRCA_API circa_status circa_separate_train(circa_tasnet *net, const circa_mixer *m,
                                            const circa_separate_train_config *cfg, FILE *log,
                                            double *best_db);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_SEPARATE_H */
