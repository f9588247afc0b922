/* tasnet.h: Conv-TasNet speech separation (Luo & Mesgarani 2019) built on
 * the nn room: configuration, parameter init, forward and backward passes
 * for training, and save / load through the nn weight file.
 *
 * Contents
 *   1. configuration          circa_tasnet_config, circa_tasnet_config_default
 *   2. the model handle       circa_tasnet_create / free / params
 *   3. forward and backward   circa_tasnet_forward, circa_tasnet_infer, circa_tasnet_backward
 *   4. files                  circa_tasnet_save, circa_tasnet_load
 *   5. streaming (causal)     circa_tasnet_stream_*
 *   6. GPU passes             circa_tasnet_use_cuda, circa_tasnet_on_cuda
 *
 * A worked example: one training step (error handling elided):
 *
 *     circa_tasnet_config cfg = circa_tasnet_config_default();
 *     circa_tasnet *net;
 *     circa_tasnet_create(&cfg, 42, &net);
 *     size_t np; circa_nn_param *ps = circa_tasnet_params(net, &np);
 *     circa_nn_adam adam = circa_nn_adam_default();
 *     // mix [batch][T], est and dest [batch][C][T], ref [batch][C][T]
 *     circa_tasnet_forward(net, batch, T, mix, est);
 *     float loss;
 *     memset(dest, 0, ...);
 *     circa_nn_pit_loss(batch, cfg.C, T, est, ref, &loss, dest, NULL);
 *     circa_nn_params_zero_grad(ps, np);
 *     circa_tasnet_backward(net, dest);
 *     circa_nn_clip_grad_norm(ps, np, 5.0f, NULL);
 *     circa_nn_adam_step(&adam, ps, np);
 *
 * The network: encoder conv (N filters, length L, stride L/2, no bias,
 * linear) -> separator: norm(N) -> 1x1 N->B -> R x X blocks -> PReLU ->
 * 1x1 Sc->C*N -> sigmoid masks -> decoder transposed conv N->1 (no bias)
 * on each masked representation. A block: 1x1 B->H, PReLU, norm, depthwise
 * conv (kernel P, dilation 2^x), PReLU, norm, then a residual 1x1 H->B
 * (added to the block input; the last block has none, its output being
 * unused) and a skip 1x1 H->Sc (summed over blocks). Every PReLU has one
 * scalar slope. Non-causal: gLN and centred depthwise padding (P odd);
 * causal: cumulative LN and left padding (P-1)*dilation.
 *
 * Threading: a model is used by one thread at a time (forward keeps the
 * activations that backward needs); cfg.threads splits its convs. */
#ifndef CIRCA_TASNET_H
#define CIRCA_TASNET_H

#include <stddef.h>
#include "circa/circa.h"
#include "circa/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- 1. configuration ------------------------------------------------------ */
typedef struct circa_tasnet_config {
    int N, L, B, H, Sc, P, X, R, C; /* the paper's names; C sources */
    int causal;                     /* 0: gLN, non-causal; 1: cLN, causal */
    unsigned threads;               /* for the convs; 0 or 1: calling thread */
} circa_tasnet_config;

/* N 128, L 16, B 64, H 256, Sc 64, P 3, X 8, R 3, C 2, non-causal, 1 thread
 * (about 1.27M parameters). */
CIRCA_API circa_tasnet_config circa_tasnet_config_default(void);
/* CIRCA_OK when the configuration is usable: all sizes positive and
 * bounded, L even, P odd when non-causal, C in 1..4; else CIRCA_E_PARAM. */
CIRCA_API circa_status circa_tasnet_config_check(const circa_tasnet_config *cfg);

/* ---- 2. the model handle ---------------------------------------------------- */
typedef struct circa_tasnet circa_tasnet;

/* Creates a model with PyTorch-style initial weights (uniform in
 * +-1/sqrt(fan_in) for convs, gains 1, biases 0 in norms, PReLU slopes
 * 0.25) drawn from `seed`. CIRCA_E_PARAM on a bad config, CIRCA_E_NOMEM;
 * *out is NULL on failure. */
CIRCA_API circa_status circa_tasnet_create(const circa_tasnet_config *cfg, uint64_t seed,
                                           circa_tasnet **out);
CIRCA_API void circa_tasnet_free(circa_tasnet *net); /* accepts NULL */
CIRCA_API const circa_tasnet_config *circa_tasnet_get_config(const circa_tasnet *net);
/* The parameters (values, gradients, Adam moments), owned by the model; *n
 * receives their count. Names are listed in docs/nn.md. */
CIRCA_API circa_nn_param *circa_tasnet_params(circa_tasnet *net, size_t *n);

/* ---- 3. forward and backward ------------------------------------------------- */
/* Frames for t samples: (t - L)/(L/2) + 1, or 0 when t < L or t - L is not
 * a multiple of L/2 (the model does not pad; the caller does). */
CIRCA_API int circa_tasnet_frames(const circa_tasnet_config *cfg, int t);
/* mix [batch][t] -> est [batch][C][t]. Keeps the activations for
 * circa_tasnet_backward. CIRCA_E_PARAM when frames(t) is 0 or batch <= 0,
 * CIRCA_E_NOMEM (est is then undefined and backward refuses). */
CIRCA_API circa_status circa_tasnet_forward(circa_tasnet *net, int batch, int t,
                                            const float *mix, float *est);
/* The same output as circa_tasnet_forward, for inference: keeps one block's
 * activations instead of every block's (for the default model about 13 MB
 * instead of 70 MB per second of 8 kHz audio), so backward refuses after it
 * (CIRCA_E_STATE). On a GPU it is circa_tasnet_forward. */
CIRCA_API circa_status circa_tasnet_infer(circa_tasnet *net, int batch, int t,
                                          const float *mix, float *est);
/* Accumulates every parameter's gradient from dest = dLoss/dest [batch][C][t]
 * for the last forward call. CIRCA_E_STATE when there was none (or it
 * failed), CIRCA_E_NOMEM. */
CIRCA_API circa_status circa_tasnet_backward(circa_tasnet *net, const float *dest);

/* ---- 4. files ---------------------------------------------------------------- */
/* Writes config (record "tasnet.config", int32[10]: N L B H Sc P X R C
 * causal) and all parameters as an nn weight file. CIRCA_E_IO, NOMEM. */
CIRCA_API circa_status circa_tasnet_save(const circa_tasnet *net, const char *path);
/* Builds a model from parsed weights: CIRCA_E_MODEL when the config record
 * or a parameter is missing, CIRCA_E_FORMAT when the float tensors do not
 * add up to the config's size (checked before allocating), one has the
 * wrong shape, a record is unknown or a weight is NaN or infinite,
 * CIRCA_E_PARAM on a bad config, CIRCA_E_NOMEM. `threads` sets
 * cfg.threads. *out is NULL on failure. */
CIRCA_API circa_status circa_tasnet_from_weights(const circa_nn_weights *w, unsigned threads,
                                                 circa_tasnet **out);
/* Loads a file: errors as circa_nn_weights_load, then from_weights. */
CIRCA_API circa_status circa_tasnet_load(const char *path, unsigned threads,
                                         circa_tasnet **out);

/* ---- 5. streaming (causal models) ---------------------------------------------- */
/* Frame-by-frame inference of a causal model, hop by hop (S = L/2 samples):
 * the same numbers as circa_tasnet_forward on the whole signal, up to the
 * order of the decoder's overlap-add sums. State per stream: the last L
 * input samples, the cLN running sums, (P-1)*d + 1 frames of H channels per
 * block, and the decoder's L - S sample tail. No allocation per hop. */
typedef struct circa_tasnet_stream circa_tasnet_stream;

/* The model must be causal (CIRCA_E_UNSUPPORTED otherwise) and must
 * outlive the stream, unchanged: the stream copies its pointwise weights
 * (input-major, for speed) and reads the rest from it. Several streams may
 * share one model (not alongside a forward/backward on it). CIRCA_E_NOMEM;
 * *out is NULL on failure. */
CIRCA_API circa_status circa_tasnet_stream_create(const circa_tasnet *net,
                                                  circa_tasnet_stream **out);
CIRCA_API void circa_tasnet_stream_free(circa_tasnet_stream *s); /* accepts NULL */
/* Consumes S input samples; writes S finished samples per source to out,
 * [C][S], and sets *nout = S, except on the first hop of a signal, which
 * only fills the window (*nout = 0): output lags input by one hop. */
CIRCA_API circa_status circa_tasnet_stream_push(circa_tasnet_stream *s, const float *in,
                                                float *out, int *nout);
/* Ends the signal: writes the last S samples per source ([C][S]; *nout = S,
 * or 0 when fewer than two hops were pushed) and resets the stream for a
 * new signal. A signal of t samples, (t - L) % S == 0, takes t/S pushes and
 * one flush and yields t samples per source. */
CIRCA_API circa_status circa_tasnet_stream_flush(circa_tasnet_stream *s, float *out, int *nout);

/* ---- 6. GPU inference and training (CUDA) ---------------------------------------- */
/* Where circa_tasnet_forward and circa_tasnet_backward run. */
typedef enum circa_tasnet_device {
    CIRCA_TASNET_CPU = 0,       /* the default */
    CIRCA_TASNET_GPU = 1,       /* inference on CUDA device 0: forward keeps no activations */
    CIRCA_TASNET_GPU_TRAIN = 2  /* forward keeps its activations on the device; backward works */
} circa_tasnet_device;

/* Moves the model's passes to `where` (cuda/tasnet.cu: cuBLAS SGEMMs for
 * the 1x1 convolutions and the decoder, kernels for the rest). The weights
 * are copied to the device now, and again at the first forward after a
 * backward (so an optimiser step on the host between them is seen); call
 * again after changing them otherwise. On the GPU:
 *   - CIRCA_TASNET_GPU: forward keeps nothing, so circa_tasnet_backward
 *     returns CIRCA_E_STATE; memory grows with the signal, not the depth.
 *   - CIRCA_TASNET_GPU_TRAIN: backward accumulates the whole gradient into
 *     the parameters' g on the host (Adam and clipping stay on the host).
 * Results equal the CPU's to float rounding, not bit for bit. Streams
 * (section 5) always run on the CPU. cuBLAS is loaded at run time
 * ($CIRCA_CUBLAS may name it).
 * CIRCA_E_UNSUPPORTED in a build without CUDA; CIRCA_E_DEVICE when no
 * device is usable or cuBLAS cannot be loaded, CIRCA_E_NOMEM, CIRCA_E_PARAM
 * for an unknown `where`; *why (may be NULL) then receives a static
 * one-line reason. On failure the model is on the CPU. While on the GPU,
 * circa_tasnet_forward and _backward return CIRCA_E_DEVICE for a CUDA error. */
CIRCA_API circa_status circa_tasnet_use_cuda(circa_tasnet *net, circa_tasnet_device where,
                                             const char **why);
/* Where the model's passes run now. */
CIRCA_API circa_tasnet_device circa_tasnet_on_cuda(const circa_tasnet *net);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_TASNET_H */
