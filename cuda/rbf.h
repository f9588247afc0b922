/* cuda/rbf.h: the seam between cuda/rbf_host.c (C: checks, nearest kernels,
 * the fitting loop) and cuda/rbf.cu (device memory and kernels) for RBF
 * image fields (include/circa/rbf.h, section 6). Both are built only when
 * CIRCA_HAVE_CUDA; cuda/rbf_fallback.c stands in for them otherwise. Not
 * installed.
 *
 * A session (circa_cuda_rbf) holds one field on one device: its geometry,
 * its trainable numbers, their gradient and Adam moments, and optionally a
 * set of points (positions, 4 nearest kernels, targets) for gradients. Each
 * call takes a lock of its own for its launches (see saxpy.cu) and restores
 * the caller's current device. Every int returned is a circa_status value:
 * CIRCA_OK, CIRCA_E_NOMEM (device or host memory) or CIRCA_E_DEVICE. */
#ifndef CIRCA_CUDA_RBF_H
#define CIRCA_CUDA_RBF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CIRCA_CUDA_RBF_HIDDEN __attribute__((visibility("hidden")))
#else
#define CIRCA_CUDA_RBF_HIDDEN
#endif

#define CIRCA_CUDA_RBF_NN 4        /* kernels per position (RBF_NN) */
#define CIRCA_CUDA_RBF_F_MAX 64    /* CIRCA_RBF_FEATURES_MAX */
#define CIRCA_CUDA_RBF_H_MAX 128   /* CIRCA_RBF_HIDDEN_MAX */
#define CIRCA_CUDA_RBF_D_MAX (4 + 64) /* RBF_D_MAX: 2 grid levels x 2 features + F */

/* A field's sizes, parameter offsets (rbf_layout) and fixed frequencies:
 * everything the device needs besides the arrays. */
typedef struct circa_cuda_rbf_shape {
    uint32_t width, height;   /* the fitted image */
    uint32_t channels, K, F, H, G, D;
    uint32_t levels, res[2];  /* grid levels (0 or 2) and resolutions */
    uint64_t lc, grid[2], lcb, w0, b0, w1, b1, w2, b2, total, mlp_begin;
    float m_rbf[CIRCA_CUDA_RBF_F_MAX];
    float m_h[CIRCA_CUDA_RBF_H_MAX];
} circa_cuda_rbf_shape;

typedef struct circa_cuda_rbf circa_cuda_rbf;

/* Opens a session on `device`: copies kc (K x 2 centres), ka (K x 3 inverse
 * covariances) and theta (s->total numbers); zeroes the Adam moments. */
CIRCA_CUDA_RBF_HIDDEN int circa_cuda__rbf_open(int device, const circa_cuda_rbf_shape *s,
                                               const float *kc, const float *ka,
                                               const float *theta, circa_cuda_rbf **out);
/* Frees the session's device memory and the session; accepts NULL. */
CIRCA_CUDA_RBF_HIDDEN void circa_cuda__rbf_close(circa_cuda_rbf *d);

/* Renders n positions xy (n x 2, pixels of the fitted image) whose 4
 * nearest kernels are knn (n x 4, nearest first, as circa_rbf__point):
 * n x channels samples at `depth` bits into out, rounded as
 * circa_rbf_render does. */
CIRCA_CUDA_RBF_HIDDEN int circa_cuda__rbf_render(circa_cuda_rbf *d, size_t n, const float *xy,
                                                 const uint32_t *knn, unsigned depth,
                                                 uint16_t *out);

/* Replaces the session's points: n positions, their nearest kernels (as
 * above) and targets (n x channels, in [0,1]). */
CIRCA_CUDA_RBF_HIDDEN int circa_cuda__rbf_points(circa_cuda_rbf *d, size_t n, const float *xy,
                                                 const uint32_t *knn, const float *targets);

/* The gradient of scale x the summed squared error over n of the session's
 * points: points batch[0..n) (indices below the point count), or points
 * 0..n-1 when batch is NULL. The device gradient starts from grad_io when
 * it is not NULL (and is copied back there: accumulation), else from zero
 * (and stays on the device for circa_cuda__rbf_adam). *se receives the
 * summed squared error over the n points and every channel. */
CIRCA_CUDA_RBF_HIDDEN int circa_cuda__rbf_grad(circa_cuda_rbf *d, size_t n,
                                               const uint32_t *batch, float scale,
                                               float *grad_io, double *se);

/* One Adam step (0-based step number) on the device with the gradient of
 * the last circa_cuda__rbf_grad: the CPU's adam_step (rbf_train.c), with
 * rate lr_rest below s->mlp_begin and lr_mlp from it, and the L1 term
 * l1 * sign(w) on the numbers below l1_end. */
CIRCA_CUDA_RBF_HIDDEN int circa_cuda__rbf_adam(circa_cuda_rbf *d, unsigned step,
                                               double lr_rest, double lr_mlp, size_t l1_end,
                                               float l1);

/* Copies the session's s->total trainable numbers to theta. */
CIRCA_CUDA_RBF_HIDDEN int circa_cuda__rbf_theta(circa_cuda_rbf *d, float *theta);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_CUDA_RBF_H */
