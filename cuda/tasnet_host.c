/* cuda/tasnet_host.c: Conv-TasNet inference on the GPU (include/circa/tasnet.h,
 * section 6): checks, packing the model's parameters for the device session
 * (cuda/tasnet.cu, through cuda/tasnet.h), and the hook that
 * circa_tasnet_forward calls while a model is on the GPU. Built only when
 * CIRCA_HAVE_CUDA; cuda/tasnet_fallback.c stands in otherwise. */
#include <stdlib.h>
#include <string.h>

#include "circa/cuda.h"
#include "circa/tasnet.h"
#include "../models/tasnet/tasnet_internal.h"
#include "tasnet.h"

/* The device used (the one the other GPU paths use). */
#define TASNET_CUDA_DEVICE 0

/* The parameters in the model's order, one float array (free() it). */
static float *pack(const circa_tasnet *net, size_t *count) {
    size_t n = 0;
    for (size_t i = 0; i < net->np; i++) n += net->ps[i].size;
    float *buf = malloc((n ? n : 1) * sizeof *buf), *p = buf;
    if (!buf) return NULL;
    for (size_t i = 0; i < net->np; i++) {
        memcpy(p, net->ps[i].w, net->ps[i].size * sizeof *p);
        p += net->ps[i].size;
    }
    *count = n;
    return buf;
}

circa_status circa_tasnet_use_cuda(circa_tasnet *net, circa_tasnet_device where, const char **why) {
    if (why) *why = NULL;
    if (!net) return CIRCA_E_PARAM;
    if (where != CIRCA_TASNET_CPU && where != CIRCA_TASNET_GPU && where != CIRCA_TASNET_GPU_TRAIN) {
        if (why) *why = "unknown device choice";
        return CIRCA_E_PARAM;
    }
    circa_tasnet__cuda_release(net);
    if (where == CIRCA_TASNET_CPU) return CIRCA_OK;
    int count = 0;
    const char *reason = NULL;
    circa_cuda_devices(NULL, 0, &count, &reason);
    if (count == 0) {
        if (why) *why = reason ? reason : "no CUDA device";
        return CIRCA_E_DEVICE;
    }
    const circa_tasnet_config *c = &net->cfg;
    circa_cuda_tasnet_shape s = {c->N, c->L, c->B, c->H, c->Sc, c->P, c->X, c->R, c->C, c->causal};
    size_t n;
    float *params = pack(net, &n);
    if (!params) return CIRCA_E_NOMEM;
    circa_cuda_tasnet *g = NULL;
    circa_status st = (circa_status)circa_cuda__tasnet_open(TASNET_CUDA_DEVICE, &s, params, n, &g, why);
    free(params);
    if (st == CIRCA_OK) net->gpu = g, net->gpu_mode = where, net->gpu_stale = 0;
    else if (why && !*why) *why = circa_strerror(st);
    return st;
}

circa_tasnet_device circa_tasnet_on_cuda(const circa_tasnet *net) {
    return net && net->gpu ? net->gpu_mode : CIRCA_TASNET_CPU;
}

circa_status circa_tasnet__forward_cuda(circa_tasnet *net, int batch, int t, int frames,
                                        const float *mix, float *est) {
    if (net->gpu_stale) { /* an optimiser step since the last upload */
        size_t n;
        float *params = pack(net, &n);
        if (!params) return CIRCA_E_NOMEM;
        circa_status st = (circa_status)circa_cuda__tasnet_upload(net->gpu, params);
        free(params);
        if (st != CIRCA_OK) return st;
        net->gpu_stale = 0;
    }
    if (net->gpu_mode == CIRCA_TASNET_GPU_TRAIN)
        return (circa_status)circa_cuda__tasnet_train_forward(net->gpu, batch, t, frames, mix, est);
    return (circa_status)circa_cuda__tasnet_forward(net->gpu, batch, t, frames, mix, est);
}

/* The device's gradient, added into each parameter's g. */
circa_status circa_tasnet__backward_cuda(circa_tasnet *net, const float *dest) {
    if (net->gpu_mode != CIRCA_TASNET_GPU_TRAIN) return CIRCA_E_STATE;
    size_t n = 0;
    for (size_t i = 0; i < net->np; i++) n += net->ps[i].size;
    float *grad = malloc((n ? n : 1) * sizeof *grad);
    if (!grad) return CIRCA_E_NOMEM;
    circa_status st = (circa_status)circa_cuda__tasnet_backward(net->gpu, dest, grad);
    const float *p = grad;
    for (size_t i = 0; st == CIRCA_OK && i < net->np; i++)
        for (size_t j = 0; j < net->ps[i].size; j++) net->ps[i].g[j] += *p++;
    free(grad);
    net->gpu_stale = 1; /* the caller may now change the weights */
    return st;
}

void circa_tasnet__cuda_release(circa_tasnet *net) {
    circa_cuda__tasnet_close(net->gpu);
    net->gpu = NULL;
    net->gpu_mode = CIRCA_TASNET_CPU;
    net->gpu_stale = 0;
}
