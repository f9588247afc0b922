/* fuzz_records.c: libFuzzer target for the "pc" block decoder (block type 4)
 * without the frame's checksums in the way. The first 3 bytes give the
 * decoded size (little-endian, at most 2^18); the rest is the block body.
 * Any input must decode or fail with a status, never crash, touch memory out
 * of bounds or run away. A body that decodes is re-encoded as a block of the
 * same bytes, which must decode back exactly (when the codec takes it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "circa/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    size_t raw = ((size_t)data[0] | (size_t)data[1] << 8 | (size_t)(data[2] & 3) << 16) + 1;
    uint8_t *out = malloc(raw), *body = malloc(raw + 65536), *back = malloc(raw);
    if (!out || !body || !back) abort();
    if (circa_block_decode(CIRCA_BLOCK_PC, 0, data + 3, size - 3, out, raw) == CIRCA_OK) {
        size_t len = 0;
        uint8_t param;
        if (circa_block_encode(CIRCA_BLOCK_PC, 9, out, raw, body, raw + 65536, &len, &param) == CIRCA_OK &&
            (circa_block_decode(CIRCA_BLOCK_PC, param, body, len, back, raw) != CIRCA_OK ||
             memcmp(out, back, raw) != 0))
            abort();
    }
    free(out), free(body), free(back);
    return 0;
}
