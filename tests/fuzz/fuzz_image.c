/* fuzz_image.c: the image stream decoder on arbitrary bytes: it must reject
 * or decode without crashing, and what it decodes must re-encode to a stream
 * that decodes to the same samples. Each input is also tried with its header
 * CRC made right (reseal.h), so that mutated headers reach the checks and
 * the decoding behind it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "circa/image.h"
#include "reseal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void try_stream(const uint8_t *data, size_t size) {
    circa_image *img = NULL;
    if (circa_image_decode(data, size, &img) != CIRCA_OK) return;
    uint8_t *again;
    size_t again_n;
    if (circa_image_encode(img, &again, &again_n) != CIRCA_OK) abort();
    circa_image *back = NULL;
    if (circa_image_decode(again, again_n, &back) != CIRCA_OK) abort();
    size_t n = (size_t)img->width * img->height * img->channels;
    if (memcmp(img->samples, back->samples, n * sizeof(uint16_t)) != 0) abort();
    circa_image_free(back);
    circa_image_free(img);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    try_stream(data, size);
    /* docs/image.md: 20 fixed bytes (the meta length at 16), the meta
     * records, then the sample CRC, the payload length and the header CRC
     * over everything before it. */
    if (size >= 20) {
        uint32_t meta = (uint32_t)data[16] | (uint32_t)data[17] << 8 | (uint32_t)data[18] << 16 |
                        (uint32_t)data[19] << 24;
        uint64_t head = 20 + (uint64_t)meta + 12;
        if (head <= size) fuzz_try_resealed_at(data, size, (size_t)(head - 4), try_stream);
    }
    return 0;
}
