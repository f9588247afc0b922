/* cuda/tasnet_fallback.c: Conv-TasNet's GPU entry points (include/circa/tasnet.h,
 * section 6) in a build without CUDA: moving a model to a GPU returns
 * CIRCA_E_UNSUPPORTED, and no model is ever on it. Built only when
 * CIRCA_HAVE_CUDA is off (tasnet.cu and tasnet_host.c replace it when on). */
#include "circa/tasnet.h"
#include "../models/tasnet/tasnet_internal.h"

circa_status circa_tasnet_use_cuda(circa_tasnet *net, circa_tasnet_device where, const char **why) {
    if (why) *why = NULL;
    if (!net) return CIRCA_E_PARAM;
    if (where == CIRCA_TASNET_CPU) return CIRCA_OK;
    if (where != CIRCA_TASNET_GPU && where != CIRCA_TASNET_GPU_TRAIN) return CIRCA_E_PARAM;
    if (why) *why = "built without CUDA";
    return CIRCA_E_UNSUPPORTED;
}

circa_tasnet_device circa_tasnet_on_cuda(const circa_tasnet *net) {
    (void)net;
    return CIRCA_TASNET_CPU;
}

circa_status circa_tasnet__forward_cuda(circa_tasnet *net, int batch, int t, int frames,
                                        const float *mix, float *est) {
    (void)net, (void)batch, (void)t, (void)frames, (void)mix, (void)est;
    return CIRCA_E_UNSUPPORTED;
}

circa_status circa_tasnet__backward_cuda(circa_tasnet *net, const float *dest) {
    (void)net, (void)dest;
    return CIRCA_E_STATE;
}

void circa_tasnet__cuda_release(circa_tasnet *net) { (void)net; }
