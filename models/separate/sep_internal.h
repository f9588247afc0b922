/* sep_internal.h: helpers shared by the separate room's files (not public API). */
#ifndef CIRCA_SEP_INTERNAL_H
#define CIRCA_SEP_INTERNAL_H
#include "circa/audio.h"

/* Runs op over n input frames and drains it; *out (malloc'd, *nout frames
 * of op->out_channels) on success, else the op's status or CIRCA_E_NOMEM. */
circa_status sep_run_op(circa_op *op, const float *in, size_t n, float **out, size_t *nout);
/* Resamples mono x (n at rate) to out_rate into malloc'd *y; as above. */
circa_status sep_resample(const float *x, size_t n, uint32_t rate, uint32_t out_rate, float **y,
                          size_t *ny);
#endif
