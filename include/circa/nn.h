/* nn.h: circa's neural-network room: float32 layer ops with forward and
 * backward passes, parameters with Adam and gradient clipping, the SI-SNR /
 * PIT loss, and a versioned, checksummed weight file of named records.
 *
 * Contents
 *   1. layout and conventions
 *   2. conv1d (any kernel, stride, dilation, padding, groups)   circa_nn_conv1d_*
 *   3. transposed conv1d (overlap-add)                           circa_nn_tconv1d_*
 *   4. norms: gLN and cumulative LN (cLN)                        circa_nn_norm_*
 *   5. activations: PReLU, sigmoid, ReLU, softmax                circa_nn_prelu_* ...
 *   6. dense                                                     circa_nn_dense_*
 *   7. parameters, Adam, global-norm clipping                    circa_nn_param, circa_nn_adam_*
 *   8. SI-SNR and permutation-invariant training                 circa_nn_sisnr, circa_nn_pit_loss
 *   9. weight files                                              circa_nn_weights_*
 *
 * 1. Layout and conventions. A tensor is a plain contiguous float array,
 * row-major, whose shape the caller passes with it: activations are
 * [batch][channels][time]; conv weights are PyTorch's [out][in/groups][k],
 * transposed-conv weights [in][out][k], dense weights [out][in]. Ops are
 * stateless functions over a small descriptor struct of sizes (rnnoise /
 * Opus style); the descriptor does not own the weights.
 *
 * Backward functions ACCUMULATE: dx, dw, db ... receive += their gradient,
 * so residual branches need no extra adds; zero them before a pass. Any
 * gradient output may be NULL to skip it. Inputs and outputs must not
 * overlap unless a function says so.
 *
 * A worked example (one conv, one step; error handling elided):
 *
 *     circa_nn_conv1d cv = { .cin = 4, .cout = 8, .k = 3, .stride = 1,
 *                            .dilation = 2, .pad_left = 4, .groups = 1 }; // causal
 *     circa_nn_param w, b;
 *     circa_nn_param_alloc(&w, "conv.w", 3, (size_t[]){8, 4, 3});
 *     circa_nn_param_alloc(&b, "conv.b", 1, (size_t[]){8});
 *     int tout = circa_nn_conv1d_out_len(&cv, T);
 *     circa_nn_conv1d_forward(&cv, batch, T, x, w.w, b.w, y);
 *     ... dy = dLoss/dy ...
 *     circa_nn_conv1d_backward(&cv, batch, T, x, w.w, dy, dx, w.g, b.g);
 *     circa_nn_param ps[2] = { w, b };
 *     circa_nn_clip_grad_norm(ps, 2, 5.0f, NULL);
 *     circa_nn_adam a = circa_nn_adam_default();
 *     circa_nn_adam_step(&a, ps, 2);
 *
 * Threading: no global state. The heavy ops (conv, tconv) split their rows
 * over `threads` pthreads (descriptor field; 0 or 1 = the calling thread);
 * results do not depend on the thread count. */
#ifndef CIRCA_NN_H
#define CIRCA_NN_H

#include <stddef.h>
#include <stdint.h>
#include "circa/circa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- 2. conv1d ------------------------------------------------------------ */
/* y[b][o][t] = bias[o] + sum_{i in group(o), j<k} w[o][i'][j] * x[b][i][t*stride + j*dilation - pad_left],
 * with zeros outside [0, tin). Causal conv: pad_left = (k-1)*dilation,
 * pad_right = 0. Depthwise: groups = cin = cout. */
typedef struct circa_nn_conv1d {
    int cin, cout, k, stride, dilation, pad_left, pad_right, groups;
    unsigned threads;
} circa_nn_conv1d;

/* Output length for tin input frames; 0 when the descriptor or tin is
 * invalid (non-positive sizes, groups not dividing cin and cout, or the
 * padded input shorter than the dilated kernel). */
CIRCA_API int circa_nn_conv1d_out_len(const circa_nn_conv1d *c, int tin);
/* x [batch][cin][tin] -> y [batch][cout][tout] (overwritten); bias may be
 * NULL. CIRCA_E_PARAM (nothing written) on an invalid descriptor, a
 * non-positive batch or a NULL array. A thread that cannot be started is
 * not an error: its rows run on the calling thread. */
CIRCA_API circa_status circa_nn_conv1d_forward(const circa_nn_conv1d *c, int batch, int tin,
                                               const float *x, const float *w,
                                               const float *bias, float *y);
/* Accumulates dx [batch][cin][tin], dw [cout][cin/groups][k], db [cout]
 * from dy [batch][cout][tout]; any of them may be NULL. Errors as forward. */
CIRCA_API circa_status circa_nn_conv1d_backward(const circa_nn_conv1d *c, int batch, int tin,
                                                const float *x, const float *w,
                                                const float *dy, float *dx, float *dw,
                                                float *db);

/* ---- 3. transposed conv1d ------------------------------------------------- */
/* Overlap-add: y[b][o][t*stride + j] += sum_i w[i][o][j] * x[b][i][t], plus
 * bias[o]; no padding, groups = 1; tout = (tin-1)*stride + k. */
typedef struct circa_nn_tconv1d {
    int cin, cout, k, stride;
    unsigned threads;
} circa_nn_tconv1d;

CIRCA_API int circa_nn_tconv1d_out_len(const circa_nn_tconv1d *c, int tin);
/* Same failure rules as conv1d. */
CIRCA_API circa_status circa_nn_tconv1d_forward(const circa_nn_tconv1d *c, int batch, int tin,
                                                const float *x, const float *w,
                                                const float *bias, float *y);
CIRCA_API circa_status circa_nn_tconv1d_backward(const circa_nn_tconv1d *c, int batch, int tin,
                                                 const float *x, const float *w,
                                                 const float *dy, float *dx, float *dw,
                                                 float *db);

/* ---- 4. norms ------------------------------------------------------------- */
/* gLN: per batch item, mean and variance over all channels and frames.
 * cLN (the paper's cumulative LN, causal): at frame k, mean and variance
 * over all channels and frames t <= k. Both then apply a per-channel gain
 * and bias: y = gain[c] * (x - mean) / sqrt(var + eps) + bias[c]. Note that
 * Asteroid's "cLN" is a per-frame channel LN, not this. */
typedef enum circa_nn_norm_kind { CIRCA_NN_GLN = 0, CIRCA_NN_CLN = 1 } circa_nn_norm_kind;
#define CIRCA_NN_NORM_EPS 1e-8f

/* x, y [batch][c][t] (y may equal x); CIRCA_E_PARAM on bad sizes or kind,
 * CIRCA_E_NOMEM when scratch cannot be allocated. Statistics are summed in
 * double. */
CIRCA_API circa_status circa_nn_norm_forward(circa_nn_norm_kind kind, int batch, int c, int t,
                                             const float *x, const float *gain,
                                             const float *bias, float *y);
/* Accumulates dx, dgain, dbias (each may be NULL); x is the forward input. */
CIRCA_API circa_status circa_nn_norm_backward(circa_nn_norm_kind kind, int batch, int c, int t,
                                              const float *x, const float *gain,
                                              const float *dy, float *dx, float *dgain,
                                              float *dbias);

/* ---- 5. activations (elementwise over n floats; never fail) --------------- */
/* Every forward here may run in place (y == x); backward dx must not alias dy. */
/* PReLU with one scalar slope a: y = x > 0 ? x : a*x. y may equal x. */
CIRCA_API void circa_nn_prelu_forward(size_t n, const float *x, float a, float *y);
/* Accumulates dx (may be NULL) and *da (may be NULL); x is the forward input. */
CIRCA_API void circa_nn_prelu_backward(size_t n, const float *x, float a, const float *dy,
                                       float *dx, float *da);
CIRCA_API void circa_nn_sigmoid_forward(size_t n, const float *x, float *y);
/* y is the forward OUTPUT; dx += dy * y * (1 - y). */
CIRCA_API void circa_nn_sigmoid_backward(size_t n, const float *y, const float *dy, float *dx);
CIRCA_API void circa_nn_relu_forward(size_t n, const float *x, float *y);
CIRCA_API void circa_nn_relu_backward(size_t n, const float *x, const float *dy, float *dx);
/* Softmax over each of `rows` contiguous rows of length n; y is the output. */
CIRCA_API void circa_nn_softmax_forward(size_t rows, size_t n, const float *x, float *y);
CIRCA_API void circa_nn_softmax_backward(size_t rows, size_t n, const float *y,
                                         const float *dy, float *dx);

/* ---- 6. dense ------------------------------------------------------------- */
/* y[b][o] = bias[o] + sum_i w[o][i] x[b][i]; bias may be NULL. */
CIRCA_API void circa_nn_dense_forward(int batch, int in, int out, const float *x,
                                      const float *w, const float *bias, float *y);
CIRCA_API void circa_nn_dense_backward(int batch, int in, int out, const float *x,
                                       const float *w, const float *dy, float *dx,
                                       float *dw, float *db);

/* ---- 7. parameters and optimisation ---------------------------------------- */
#define CIRCA_NN_NAME_MAX 64
#define CIRCA_NN_MAX_DIMS 4

/* A trainable tensor: value w, gradient g, Adam moments m and v, all `size`
 * floats, owned by the struct (release with circa_nn_param_release). */
typedef struct circa_nn_param {
    char name[CIRCA_NN_NAME_MAX];
    int ndim;
    size_t shape[CIRCA_NN_MAX_DIMS];
    size_t size;
    float *w, *g, *m, *v;
} circa_nn_param;

/* Allocates a zeroed parameter. CIRCA_E_PARAM on a bad name (empty or
 * >= CIRCA_NN_NAME_MAX) or shape, CIRCA_E_NOMEM; *p is zeroed on failure. */
CIRCA_API circa_status circa_nn_param_alloc(circa_nn_param *p, const char *name, int ndim,
                                            const size_t *shape);
/* Frees the arrays and zeroes *p; accepts NULL and zeroed params. */
CIRCA_API void circa_nn_param_release(circa_nn_param *p);
CIRCA_API void circa_nn_params_zero_grad(circa_nn_param *ps, size_t n);

typedef struct circa_nn_adam {
    float lr, beta1, beta2, eps;
    long step; /* steps taken; bias correction uses step after increment */
} circa_nn_adam;

/* lr 1e-3, betas 0.9 / 0.999, eps 1e-8, step 0 (PyTorch's defaults). */
CIRCA_API circa_nn_adam circa_nn_adam_default(void);
/* One Adam step with bias correction (as torch.optim.Adam), from each
 * param's g. CIRCA_E_PARAM on a NULL optimiser or bad hyper-parameters. */
CIRCA_API circa_status circa_nn_adam_step(circa_nn_adam *a, circa_nn_param *ps, size_t n);
/* Scales all gradients so their global L2 norm is at most max_norm; *norm
 * (may be NULL) receives the norm before clipping. A non-finite norm or
 * max_norm <= 0 leaves the gradients alone and returns CIRCA_E_PARAM. */
CIRCA_API circa_status circa_nn_clip_grad_norm(circa_nn_param *ps, size_t n, float max_norm,
                                               float *norm);

/* ---- 8. SI-SNR and PIT -------------------------------------------------------- */
#define CIRCA_NN_SISNR_EPS 1e-8
/* Scale-invariant SNR in dB of estimate est against reference ref (t
 * samples), both made zero-mean first:
 *   a = <e0, r0> / (|r0|^2 + eps); s = a r0; n = e0 - s;
 *   sisnr = 10 log10(|s|^2 / (|n|^2 + eps) + eps).
 * If dest is not NULL, dest += d sisnr / d est. Computed in double. */
CIRCA_API double circa_nn_sisnr(size_t t, const float *est, const float *ref, float *dest);

/* Utterance-level PIT loss: est and ref [batch][c][t], c in 1..4. For each
 * item the permutation p maximising mean_s sisnr(est[p[s]], ref[s]) is
 * chosen; *loss = -mean over items of that maximum. dest (may be NULL)
 * accumulates d loss / d est through the chosen permutations; perm (may be
 * NULL) receives them, [batch][c]. CIRCA_E_PARAM on bad sizes. */
CIRCA_API circa_status circa_nn_pit_loss(int batch, int c, size_t t, const float *est,
                                         const float *ref, float *loss, float *dest,
                                         int *perm);

/* ---- 9. weight files --------------------------------------------------------- */
/* A file of named records (docs/nn.md): magic "CIRCA-NN", version, record
 * count, total size; per record a name, a dtype (float32 or int32), up to
 * 4 dimensions and little-endian data; a trailing CRC-32 (zlib) of all
 * bytes before it. */
#define CIRCA_NN_WEIGHTS_VERSION 1
typedef enum circa_nn_dtype { CIRCA_NN_F32 = 0, CIRCA_NN_I32 = 1 } circa_nn_dtype;

typedef struct circa_nn_record {
    const char *name;
    circa_nn_dtype dtype;
    int ndim;
    size_t shape[CIRCA_NN_MAX_DIMS];
    const void *data; /* float or int32_t, prod(shape) elements */
} circa_nn_record;

/* Serialises records into a malloc'd buffer (*buf, *len; free() it).
 * CIRCA_E_PARAM on a bad or duplicate name, dtype or shape; CIRCA_E_NOMEM. */
CIRCA_API circa_status circa_nn_weights_encode(const circa_nn_record *recs, size_t n,
                                               uint8_t **buf, size_t *len);
/* Writes the encoding to path; errors as encode, plus CIRCA_E_IO. */
CIRCA_API circa_status circa_nn_weights_write(const char *path, const circa_nn_record *recs,
                                              size_t n);

/* A parsed, validated file; records point into it. */
typedef struct circa_nn_weights circa_nn_weights;
/* Parses and validates a buffer (copied; need not outlive the call).
 * CIRCA_E_TRUNCATED (short), CIRCA_E_FORMAT (magic, field, duplicate name,
 * trailing bytes), CIRCA_E_VERSION, CIRCA_E_CHECKSUM, CIRCA_E_LIMIT, or
 * CIRCA_E_NOMEM; *out is NULL on failure. */
CIRCA_API circa_status circa_nn_weights_parse(const void *buf, size_t len,
                                              circa_nn_weights **out);
/* Reads and parses a file: CIRCA_E_IO if it cannot be read, else as parse. */
CIRCA_API circa_status circa_nn_weights_load(const char *path, circa_nn_weights **out);
CIRCA_API void circa_nn_weights_free(circa_nn_weights *w);
CIRCA_API size_t circa_nn_weights_count(const circa_nn_weights *w);
/* Record i (NULL when out of range); valid while w lives. */
CIRCA_API const circa_nn_record *circa_nn_weights_record(const circa_nn_weights *w, size_t i);
/* The record called name, or NULL. */
CIRCA_API const circa_nn_record *circa_nn_weights_find(const circa_nn_weights *w,
                                                       const char *name);
/* Copies record `name` into a param of exactly the same float32 shape:
 * CIRCA_E_MODEL when missing, CIRCA_E_FORMAT when dtype or shape differ. */
CIRCA_API circa_status circa_nn_weights_get_param(const circa_nn_weights *w,
                                                  circa_nn_param *p);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_NN_H */
