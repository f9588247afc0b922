/* fuzz_image.c: the image stream decoder on arbitrary bytes: it must reject
 * or decode without crashing, and what it decodes must re-encode to a stream
 * that decodes to the same samples. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "circa/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    circa_image *img = NULL;
    if (circa_image_decode(data, size, &img) != CIRCA_OK) return 0;
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
    return 0;
}
