/* fuzz_rbf.c: the field file reader on arbitrary bytes: it must reject or
 * load without crashing; a loaded field must render, and save back to a
 * file that loads to the same numbers. Each input is tried as it is and
 * with its trailing CRC-32 made right, so that mutations also reach the
 * header and payload checks behind the checksum. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>


#include "circa/rbf.h"
#include "reseal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void try_file(const uint8_t *data, size_t size) {
    circa_rbf *f = NULL;
    if (circa_rbf_load(data, size, &f) != CIRCA_OK) return;
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
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    try_file(data, size);
    fuzz_try_resealed(data, size, try_file);
    return 0;
}
