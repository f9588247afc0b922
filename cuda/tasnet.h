/* cuda/tasnet.h: the seam between cuda/tasnet_host.c (C: checks, packing
 * the model's parameters) and cuda/tasnet.cu (device memory, cuBLAS and
 * kernels) for Conv-TasNet inference on a GPU (include/circa/tasnet.h,
 * section 6). Both are built only when CIRCA_HAVE_CUDA; tasnet_fallback.c
 * stands in otherwise. Not installed.
 *
 * A session holds one model's parameters on one device, a cuBLAS handle and
 * activation buffers grown to the largest batch x frames seen. Every int
 * returned is a circa_status value: CIRCA_OK, CIRCA_E_NOMEM (device or host
 * memory) or CIRCA_E_DEVICE (a CUDA or cuBLAS error, or no loadable
 * cuBLAS). Calls take the file's launch lock and restore the caller's
 * current device. */
#ifndef CIRCA_CUDA_TASNET_H
#define CIRCA_CUDA_TASNET_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CIRCA_CUDA_TASNET_HIDDEN __attribute__((visibility("hidden")))
#else
#define CIRCA_CUDA_TASNET_HIDDEN
#endif

/* The configuration (circa_tasnet_config without threads). */
typedef struct circa_cuda_tasnet_shape {
    int N, L, B, H, Sc, P, X, R, C, causal;
} circa_cuda_tasnet_shape;

typedef struct circa_cuda_tasnet circa_cuda_tasnet;

/* Opens a session on `device` with the model's parameters packed in its
 * order (tasnet.c, build_params: enc.w, sep.norm.g, sep.norm.b, sep.in.w,
 * sep.in.b, per block in.w in.b prelu1 norm1.g norm1.b dw.w dw.b prelu2
 * norm2.g norm2.b [res.w res.b] skip.w skip.b, then sep.prelu, sep.mask.w,
 * sep.mask.b, dec.w): `count` floats. *why (may be NULL) receives a static
 * reason when cuBLAS cannot be loaded. */
CIRCA_CUDA_TASNET_HIDDEN int circa_cuda__tasnet_open(int device, const circa_cuda_tasnet_shape *s,
                                                     const float *params, size_t count,
                                                     circa_cuda_tasnet **out, const char **why);
CIRCA_CUDA_TASNET_HIDDEN void circa_cuda__tasnet_close(circa_cuda_tasnet *d); /* accepts NULL */

/* mix [batch][t] -> est [batch][C][t]; t gives `frames` encoder frames. */
CIRCA_CUDA_TASNET_HIDDEN int circa_cuda__tasnet_forward(circa_cuda_tasnet *d, int batch, int t,
                                                        int frames, const float *mix, float *est);

/* Training. train_forward is forward that keeps its activations on the
 * device; backward then takes dest = dLoss/dest [batch][C][t] and writes
 * the whole gradient, `count` floats in the packed order, to grad
 * (CIRCA_E_STATE without a kept forward). upload replaces the parameters
 * (after an optimiser step on the host). */
CIRCA_CUDA_TASNET_HIDDEN int circa_cuda__tasnet_train_forward(circa_cuda_tasnet *d, int batch, int t,
                                                              int frames, const float *mix, float *est);
CIRCA_CUDA_TASNET_HIDDEN int circa_cuda__tasnet_backward(circa_cuda_tasnet *d, const float *dest,
                                                         float *grad);
CIRCA_CUDA_TASNET_HIDDEN int circa_cuda__tasnet_upload(circa_cuda_tasnet *d, const float *params);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_CUDA_TASNET_H */
