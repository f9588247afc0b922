/* rbf.h: RBF image fields after NeuRBF (Chen et al., ICCV 2023): an image as
 * a continuous function of position, fitted by gradient descent, rendered
 * at any size, and stored either exactly (float32) or quantised and
 * entropy-coded, so that the field file is itself a lossy image codec.
 *
 * Contents
 *   1. the field and its configuration   circa_rbf, circa_rbf_config
 *   2. fitting                           circa_rbf_fit
 *   3. rendering                         circa_rbf_render
 *   4. field files                       circa_rbf_save, circa_rbf_load, circa_rbf_describe
 *
 * The model, per position p (pixel units of the fitted image):
 *   - K adaptive kernels with fixed centres c_k and shapes A_k (symmetric
 *     2x2): phi_k = 1 / (1 + (p-c_k)^T A_k (p-c_k)), over the 4 kernels
 *     nearest p, normalised to sum 1;
 *   - multi-frequency composition: f[c] = sum_k w_k[c] sin(phi_k m_c),
 *     m_c = 2^linspace(-3, 12, F), F trainable weights per kernel;
 *   - a dense bilinear grid of 2 levels x 2 features (resolutions 16 and
 *     max(W,H)/2 by default) over the normalised image square;
 *   - x = [grid; f] + bias -> z = W0 x + b0, h = z + sin(z m0) (m0 log-spaced
 *     10..100) -> ReLU(W1 h + b1) -> W2 . + b2: one value per channel in [0,1].
 * Centres come from a Sobel-weighted k-means, shapes from the weighted
 * covariance of each cluster (docs/rbf.md). Both are quantised when chosen
 * and never trained, so a stored field renders exactly what was fitted.
 *
 * A worked example (error handling elided):
 *
 *     circa_rbf_config cfg = circa_rbf_config_default();
 *     cfg.params = 72000; cfg.threads = 2;  // 8000 steps by default
 *     circa_rbf *f;
 *     circa_rbf_fit(img, &cfg, &f);                 // img from circa_image_load
 *     circa_image *big;
 *     circa_rbf_render(f, 2 * img->width, 2 * img->height, 2, &big);
 *     uint8_t *file; size_t n;
 *     circa_rbf_save(f, 0, &file, &n);              // 0: exact float32 field
 *     circa_rbf_free(f);
 *
 * Threads: fitting and rendering split their pixels over cfg.threads
 * threads; the results do not depend on the thread count. There is no
 * global state. */
#ifndef CIRCA_RBF_H
#define CIRCA_RBF_H

#include <stddef.h>
#include <stdint.h>
#include "circa/circa.h"
#include "circa/image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CIRCA_RBF_VERSION 2
#define CIRCA_RBF_FEATURES_MAX 64  /* F: weights per kernel */
#define CIRCA_RBF_HIDDEN_MAX 128   /* H: MLP width */
#define CIRCA_RBF_KERNELS_MAX (1u << 22)
#define CIRCA_RBF_GRID_MAX 4096    /* finest grid resolution */

/* ---- 1. the field and its configuration --------------------------------- */
typedef struct circa_rbf circa_rbf;

/* Progress callback: called every `progress_every` steps and at the end
 * with the step count, the PSNR (dB) of the current batch and the seconds
 * since fitting began. */
typedef void (*circa_rbf_progress)(void *ctx, unsigned step, double psnr, double seconds);

typedef struct circa_rbf_config {
    uint64_t params;        /* budget of stored numbers (kernels, grid, MLP); used when kernels == 0 */
    uint32_t kernels;       /* K; 0: as many as the budget allows */
    unsigned features;      /* F, 1..CIRCA_RBF_FEATURES_MAX (32) */
    unsigned hidden;        /* H, 8..CIRCA_RBF_HIDDEN_MAX, a multiple of 8 (64) */
    unsigned grid_base;     /* coarse grid resolution (16); 0 with grid_fine 0: no grid */
    unsigned grid_fine;     /* fine grid resolution (0: max(W,H)/2) */
    unsigned steps;         /* Adam steps (8000; NeuRBF used 3500, docs/rbf.md) */
    unsigned batch;         /* pixels per step (0: all, up to 2^16), stratified over rows */
    uint64_t seed;          /* initialisation and batches (1) */
    unsigned threads;       /* 0 or 1: the calling thread */
    double target_psnr;     /* stop once the batch PSNR reaches this (0: never) */
    double lr_mlp, lr_rest; /* Adam learning rates (1e-2, 5e-3), cosine-decayed to 1/100 */
    unsigned progress_every;/* steps between progress calls (100) */
    double l1_weights;      /* L1 penalty on the kernel weights, added to their gradient
                               as l1_weights * sign(w): small weights go to zero, which
                               the codec stores cheaply (the codec: 1e-6; 0) */
    int coarse_geometry;    /* 1: centres at whole pixels, shapes in half octaves and
                               correlations in 1/16 (about 18 bits a kernel less in a
                               file; the codec's choice); 0: 1/8 px, 1/16, 1/1024 (0) */
    circa_rbf_progress progress;
    void *progress_ctx;
} circa_rbf_config;

/* The defaults above (72,000 numbers: the paper's Kodak-crop budget). */
CIRCA_API circa_rbf_config circa_rbf_config_default(void);

/* What a field holds. */
typedef struct circa_rbf_info {
    uint32_t width, height;  /* the fitted image */
    unsigned channels, depth;
    uint32_t kernels;
    unsigned features, hidden, grid_base, grid_fine;
    uint64_t trainable;      /* kernel weights + grid + bias + MLP */
    uint64_t stored;         /* trainable + 5 fixed numbers per kernel (centre, shape) */
    int coarse_geometry;     /* as circa_rbf_config.coarse_geometry */
} circa_rbf_info;

CIRCA_API void circa_rbf_get_info(const circa_rbf *f, circa_rbf_info *info);
/* Frees a field; accepts NULL. */
CIRCA_API void circa_rbf_free(circa_rbf *f);

/* ---- 2. fitting ---------------------------------------------------------- */
/* Fits a field to img (1 to 4 channels, 8 or 16 bits). CIRCA_E_PARAM for a
 * bad config (sizes out of range, a budget too small for one kernel per
 * 1/4 of the pixels... see docs/rbf.md) or image; CIRCA_E_LIMIT when the
 * pixel count exceeds CIRCA_IMAGE_MAX_PIXELS / 4; CIRCA_E_NOMEM. *out is
 * NULL on failure. */
CIRCA_API circa_status circa_rbf_fit(const circa_image *img, const circa_rbf_config *cfg,
                                     circa_rbf **out);

/* ---- 3. rendering -------------------------------------------------------- */
/* Renders the field at width x height (the fitted image is stretched to fill
 * it), at the fitted depth and channel count. CIRCA_E_PARAM or CIRCA_E_LIMIT
 * for bad sizes, CIRCA_E_NOMEM; *out NULL on failure. */
CIRCA_API circa_status circa_rbf_render(const circa_rbf *f, uint32_t width, uint32_t height,
                                        unsigned threads, circa_image **out);

/* PSNR (dB, peak 2^depth - 1) of the field rendered at the image's size
 * against img; a negative value on error (size mismatch, no memory). */
CIRCA_API double circa_rbf_psnr(const circa_rbf *f, const circa_image *img, unsigned threads);

/* ---- 4. field files (docs/rbf.md) ---------------------------------------- */
/* Serialises f into a malloc'd buffer. quant_step 0 stores every trainable
 * number as float32; quant_step > 0 quantises them uniformly (the step is
 * scaled per parameter group, docs/rbf.md) and codes them with circa's range
 * coder: a lossy, much smaller file. CIRCA_E_PARAM, CIRCA_E_NOMEM. */
CIRCA_API circa_status circa_rbf_save(const circa_rbf *f, double quant_step, uint8_t **buf,
                                      size_t *len);

/* Parses and validates a field file (magic, version, sizes, CRC-32).
 * CIRCA_E_TRUNCATED, CIRCA_E_FORMAT, CIRCA_E_VERSION, CIRCA_E_CHECKSUM,
 * CIRCA_E_LIMIT, CIRCA_E_NOMEM; *out NULL on failure. */
CIRCA_API circa_status circa_rbf_load(const void *buf, size_t len, circa_rbf **out);

/* Replaces the trainable numbers of f by their quantised values at
 * quant_step, exactly as circa_rbf_save then circa_rbf_load would; used to
 * measure or fine-tune what a lossy file will render. */
CIRCA_API circa_status circa_rbf_quantise(circa_rbf *f, double quant_step);

/* ---- 5. the field as a lossy codec ---------------------------------------- */
/* Fits a field sized for about bpp bits per pixel and finds the finest
 * quantisation step whose file fits in bpp * pixels / 8 bytes (docs/rbf.md
 * for the sizing rule). cfg supplies steps, batch, seed, threads and
 * progress; its params and kernels are replaced. With cfg->batch 0, the fit
 * runs CIRCA_RBF_CODEC_BATCH_SPLIT x cfg->steps steps, each on that many
 * times fewer pixels than the default batch (the same pixel visits; better
 * fields at a given rate, docs/rbf.md); progress counts those steps.
 * *quant_step receives the step to pass to circa_rbf_save. Errors as
 * circa_rbf_fit; CIRCA_E_LIMIT when even the coarsest step does not fit. */
#define CIRCA_RBF_CODEC_BATCH_SPLIT 4
/* Then a tenth as many steps again (1 / CIRCA_RBF_CODEC_REFINE_DIV) train
 * against rounding noise, on the CPU also for the GPU fit; the result is
 * kept only if its rounded numbers render better. Progress counts them. */
#define CIRCA_RBF_CODEC_REFINE_DIV 10
CIRCA_API circa_status circa_rbf_fit_rate(const circa_image *img, const circa_rbf_config *cfg,
                                          double bpp, circa_rbf **out, double *quant_step);

/* ---- 6. CUDA -------------------------------------------------------------- */
/* The forward and backward passes on a GPU (cuda/rbf.cu, docs/rbf.md). Each
 * function exists in every build: without CUDA support it returns
 * CIRCA_E_UNSUPPORTED, and in a CUDA build with no usable device (no driver,
 * no GPU) CIRCA_E_DEVICE; CIRCA_E_DEVICE also reports any CUDA error, and
 * CIRCA_E_NOMEM a lack of host or device memory. They use device 0 and
 * restore the calling thread's current device. */

/* circa_rbf_render on the GPU: the same image, up to 1 in the last place of
 * a sample where float rounding differs. CIRCA_E_PARAM, CIRCA_E_LIMIT for
 * bad sizes; *out NULL on failure. */
CIRCA_API circa_status circa_rbf_render_cuda(const circa_rbf *f, uint32_t width, uint32_t height,
                                             circa_image **out);

/* The mean squared error of f over n > 0 points (xy: n x 2 positions in
 * pixels of the fitted image; targets: n x channels values in [0,1]) and its
 * gradient with respect to the trainable numbers, added into grad
 * (circa_rbf_info.trainable floats, in the order of the field file); *mse
 * (may be NULL) receives the error. The building block of a GPU fit; the
 * gradient equals the CPU's up to float rounding (its sums are formed with
 * float atomics, in an order that varies from run to run). CIRCA_E_PARAM
 * for NULL arrays or n == 0, CIRCA_E_LIMIT for n > CIRCA_IMAGE_MAX_PIXELS. */
CIRCA_API circa_status circa_rbf_loss_grad_cuda(const circa_rbf *f, size_t n, const float *xy,
                                                const float *targets, float *grad, double *mse);

/* circa_rbf_fit with each step's gradient and Adam update on the GPU: the
 * same checks, initialisation, batches, learning rates and schedule, and the
 * parameters stay on the device between steps. Float atomics make the
 * gradients' rounding depend on scheduling, so a GPU fit is NOT
 * bit-reproducible: two runs give slightly different fields, neither equal
 * to the CPU's (of the same quality). cfg->threads is checked but not used.
 * Errors as circa_rbf_fit, plus the device errors above. */
CIRCA_API circa_status circa_rbf_fit_cuda(const circa_image *img, const circa_rbf_config *cfg,
                                          circa_rbf **out);

/* circa_rbf_fit_rate with the fit on the GPU (circa_rbf_fit_cuda); sizing,
 * step search, the refinement against rounding and coding stay on the CPU.
 * Not bit-reproducible. */
CIRCA_API circa_status circa_rbf_fit_rate_cuda(const circa_image *img, const circa_rbf_config *cfg,
                                               double bpp, circa_rbf **out, double *quant_step);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_RBF_H */
