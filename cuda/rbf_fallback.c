/* cuda/rbf_fallback.c: the GPU entry points of RBF image fields
 * (include/circa/rbf.h, section 6) in a build without CUDA: each returns
 * CIRCA_E_UNSUPPORTED. Built only when CIRCA_HAVE_CUDA is off (rbf.cu and
 * rbf_host.c replace it when on). */
#include "circa/rbf.h"

circa_status circa_rbf_render_cuda(const circa_rbf *f, uint32_t width, uint32_t height,
                                   circa_image **out) {
    (void)f, (void)width, (void)height;
    if (out) *out = NULL;
    return CIRCA_E_UNSUPPORTED;
}

circa_status circa_rbf_loss_grad_cuda(const circa_rbf *f, size_t n, const float *xy,
                                      const float *targets, float *grad, double *mse) {
    (void)f, (void)n, (void)xy, (void)targets, (void)grad, (void)mse;
    return CIRCA_E_UNSUPPORTED;
}

circa_status circa_rbf_fit_cuda(const circa_image *img, const circa_rbf_config *cfg,
                                circa_rbf **out) {
    (void)img, (void)cfg;
    if (out) *out = NULL;
    return CIRCA_E_UNSUPPORTED;
}
