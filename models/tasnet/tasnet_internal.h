/* tasnet_internal.h: the Conv-TasNet model struct, shared by the batch
 * code (tasnet.c) and the streaming code (tasnet_stream.c). */
#ifndef CIRCA_TASNET_INTERNAL_H
#define CIRCA_TASNET_INTERNAL_H

#include "circa/tasnet.h"

/* The parameters of one TCN block, pointing into the model's array. */
typedef struct block {
    circa_nn_param *in_w, *in_b, *a1, *n1g, *n1b, *dw_w, *dw_b, *a2, *n2g, *n2b;
    circa_nn_param *res_w, *res_b, *skip_w, *skip_b; /* res_* NULL in the last block */
    int dilation;
} block;

/* Activations kept by forward for backward, all [batch][channels][frames]. */
typedef struct acts {
    int batch, t, k;
    int keep;          /* 1: every block's activations, for backward; 0 (inference):
                          r alternates between two buffers, h1 and d share one each */
    float *mix, *enc, *nrm0, *skip, *ps, *mask, *masked;
    float **r;         /* J inputs of the blocks, [B] */
    float **h1, **d;   /* per block, [H]: the two conv outputs inside it */
    float *a1, *n1, *a2, *n2; /* [H] scratch: the current block's PReLU and
                                 norm outputs, recomputed by backward (cheap
                                 next to the convs; saves 4H per frame per block) */
    void *blk;
} acts;

struct circa_tasnet {
    circa_tasnet_config cfg;
    circa_nn_param *ps;
    size_t np;
    circa_nn_param *enc_w, *nrm_g, *nrm_b, *in_w, *in_b, *out_a, *mask_w, *mask_b, *dec_w;
    block *blocks;
    int nblocks;
    acts a;
    int have_acts;
    struct circa_cuda_tasnet *gpu; /* non-NULL while the passes run on a GPU (section 6) */
    circa_tasnet_device gpu_mode;
    int gpu_stale;                 /* host weights may differ from the device's */
};

/* The GPU hooks (cuda/tasnet_host.c, or cuda/tasnet_fallback.c without
 * CUDA): the passes on net->gpu, and closing it (accepts none). */
circa_status circa_tasnet__forward_cuda(circa_tasnet *net, int batch, int t, int frames,
                                        const float *mix, float *est);
circa_status circa_tasnet__backward_cuda(circa_tasnet *net, const float *dest);
void circa_tasnet__cuda_release(circa_tasnet *net);

#endif
