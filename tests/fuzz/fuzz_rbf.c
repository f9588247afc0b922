/* fuzz_rbf.c: the field file reader on arbitrary bytes: it must reject or
 * load without crashing; a loaded field must render, and save back to a
 * file that loads to the same numbers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "circa/rbf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    circa_rbf *f = NULL;
    if (circa_rbf_load(data, size, &f) != CIRCA_OK) return 0;
    circa_image *img = NULL;
    if (circa_rbf_render(f, 3, 2, 1, &img) != CIRCA_OK) abort();
    uint8_t *again;
    size_t n;
    if (circa_rbf_save(f, 0, &again, &n) != CIRCA_OK) abort();
    circa_rbf *g = NULL;
    if (circa_rbf_load(again, n, &g) != CIRCA_OK) abort();
    circa_image *img2 = NULL;
    if (circa_rbf_render(g, 3, 2, 1, &img2) != CIRCA_OK) abort();
    if (memcmp(img->samples, img2->samples, 3 * 2 * img->channels * sizeof(uint16_t))) abort();
    circa_image_free(img);
    circa_image_free(img2);
    circa_rbf_free(f);
    circa_rbf_free(g);
    free(again);
    return 0;
}
