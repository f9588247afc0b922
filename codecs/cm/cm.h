/* cm.h: private interface of the "cm" block codec, a bitwise context-mixing byte model driving circa's range coder. */
#ifndef CIRCA_CODECS_CM_H
#define CIRCA_CODECS_CM_H

#include "circa/circa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Codes src[0..n) into dst[0..cap). *param receives the parameter byte the
 * decoder needs (profile + table size). Returns CIRCA_E_DST_SIZE if the output
 * would not fit in cap (it stops as soon as that is known). If ideal_bits is
 * non-NULL, it receives the sum of -log2(p) of every coded decision under the
 * model's quantised probabilities (the model's ideal code length, for
 * measuring coder overhead). level is 1..9: 1-5 select the fast profile,
 * 6-9 the strong one. */
circa_status circa__cm_encode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                              size_t *out_len, uint8_t *param, int level,
                              double *ideal_bits);

/* Decodes exactly raw_size bytes from src[0..n). Returns CIRCA_E_FORMAT for an
 * unknown parameter byte and for truncated, padded or corrupt input; never
 * reads or writes out of bounds, and its running time is bounded by raw_size. */
circa_status circa__cm_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t raw_size,
                              uint8_t param);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_CODECS_CM_H */
