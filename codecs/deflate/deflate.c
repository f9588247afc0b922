/* deflate.c: the deflate block codec: raw deflate (no zlib/gzip wrapper, the
 * frame already carries a CRC-32) through zlib. */
#include "deflate.h"
#include <limits.h>
#include <zlib.h>

circa_status circa__deflate_encode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                   size_t *out_len, int zlevel) {
    if (n > UINT_MAX || cap > UINT_MAX) return CIRCA_E_LIMIT;
    z_stream z = {0};
    /* windowBits -15: raw deflate with a 32 KiB window; memLevel 8 is zlib's default. */
    if (deflateInit2(&z, zlevel, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return CIRCA_E_NOMEM;
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    z.next_out = dst;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t produced = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) return CIRCA_E_DST_SIZE; /* ran out of room */
    *out_len = produced;
    return CIRCA_OK;
}

circa_status circa__deflate_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t raw_size) {
    if (n > UINT_MAX || raw_size > UINT_MAX) return CIRCA_E_LIMIT;
    z_stream z = {0};
    if (inflateInit2(&z, -15) != Z_OK) return CIRCA_E_NOMEM;
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    z.next_out = dst;
    z.avail_out = (uInt)raw_size;
    int rc = inflate(&z, Z_FINISH);
    int exact = rc == Z_STREAM_END && z.avail_in == 0 && z.avail_out == 0;
    inflateEnd(&z);
    return exact ? CIRCA_OK : CIRCA_E_FORMAT;
}
