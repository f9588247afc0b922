/* deflate.h: the deflate block codec (raw RFC 1951 streams through libdeflate). */
#ifndef CIRCA_DEFLATE_H
#define CIRCA_DEFLATE_H
#include <stdint.h>
#include <stddef.h>
#include "circa/circa.h"

/* Codes src at libdeflate level (1..12); CIRCA_E_DST_SIZE when it does not fit cap. */
circa_status circa__deflate_encode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                   size_t *out_len, int level);
/* Inflates exactly raw_size bytes, consuming exactly n bytes, or fails with CIRCA_E_FORMAT. */
circa_status circa__deflate_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t raw_size);
#endif
