/* deflate.c: the deflate block codec: raw deflate streams (RFC 1951, no zlib
 * or gzip wrapper: the frame already carries CRC-32s) through libdeflate,
 * which codes whole buffers 3-4x faster than zlib and a little smaller at
 * the same level, and whose output any inflater reads. */
#include "deflate.h"
#include <libdeflate.h>

circa_status circa__deflate_encode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                   size_t *out_len, int level) {
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    if (!c) return CIRCA_E_NOMEM;
    size_t produced = libdeflate_deflate_compress(c, src, n, dst, cap);
    libdeflate_free_compressor(c);
    if (produced == 0) return CIRCA_E_DST_SIZE; /* did not fit in cap */
    *out_len = produced;
    return CIRCA_OK;
}

circa_status circa__deflate_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t raw_size) {
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d) return CIRCA_E_NOMEM;
    size_t used = 0, produced = 0;
    enum libdeflate_result r =
        libdeflate_deflate_decompress_ex(d, src, n, dst, raw_size, &used, &produced);
    libdeflate_free_decompressor(d);
    /* The stream must fill the block exactly and use every coded byte. */
    return r == LIBDEFLATE_SUCCESS && used == n && produced == raw_size ? CIRCA_OK : CIRCA_E_FORMAT;
}
