/* records.h: private interface of the "pc" block codec: fixed-width records
 * coded by a probabilistic circuit over their byte columns that learns
 * while it codes (include/circa/pc.h, section 6). */
#ifndef CIRCA_CODECS_RECORDS_H
#define CIRCA_CODECS_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include "circa/circa.h"

#define CIRCA_RECORDS_WIDTH_MAX 4096u /* widest record the block codec takes */

/* Finds a record width (2..CIRCA_RECORDS_WIDTH_MAX) and the offset of the
 * first record in src: 1 when found, 0 when the block shows no fixed-width
 * structure (or too few records for a circuit to learn from). */
int circa__records_detect(const uint8_t *src, size_t n, uint32_t *width, uint32_t *offset);

/* Codes src[0..n) into dst[0..cap): the bytes before the first record and
 * after the last whole one with an adaptive order-0 model, the records with
 * an adaptive circuit over a Chow-Liu tree of their columns (the tree is
 * stored). CIRCA_E_UNSUPPORTED when no record structure is found,
 * CIRCA_E_DST_SIZE when the result would not fit, CIRCA_E_NOMEM. */
circa_status circa__records_encode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                   size_t *out_len);

/* Decodes exactly raw_size bytes from src[0..n). CIRCA_E_FORMAT for any bad
 * field, tree, or a stream that does not end exactly where it should; the
 * tables it allocates are bounded (docs/format.md) and its time by raw_size. */
circa_status circa__records_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t raw_size);

#endif /* CIRCA_CODECS_RECORDS_H */
