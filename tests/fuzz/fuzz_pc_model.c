/* fuzz_pc_model.c: libFuzzer target for the PC model loader (and the IDX
 * header parser): any input must load or fail with a status, never crash or
 * touch memory out of bounds; a model that loads must code two records and
 * decode them back exactly. Each input is also tried with its trailing CRC-32
 * made right (reseal.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "circa/pc.h"
#include "reseal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void try_file(const uint8_t *data, size_t size) {
    circa_pc *pc;
    if (circa_pc_load(data, size, &pc) != CIRCA_OK) return;
    size_t D = circa_pc_num_vars(pc), K = circa_pc_num_categories(pc);
    if (D <= 4096) {
        uint8_t *rec = malloc(2 * D), *back = malloc(2 * D), *dst = malloc(4 * D + 64);
        if (!rec || !back || !dst) abort();
        for (size_t i = 0; i < 2 * D; i++) rec[i] = (uint8_t)((data[i % size] + i) % K);
        circa_rc_enc enc;
        circa_rc_enc_init(&enc, dst, 4 * D + 64);
        if (circa_pc_encode(pc, rec, 2, &enc) != CIRCA_OK) abort();
        size_t len = circa_rc_enc_finish(&enc);
        circa_rc_dec dec;
        circa_rc_dec_init(&dec, dst, len);
        if (len == 0 || circa_pc_decode(pc, &dec, back, 2) != CIRCA_OK || circa_rc_dec_finish(&dec) ||
            memcmp(rec, back, 2 * D) != 0)
            abort();
        free(rec), free(back), free(dst);
    }
    circa_pc_free(pc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    circa_idx_info info;
    (void)circa_idx_parse(data, size, &info);
    try_file(data, size);
    fuzz_try_resealed(data, size, try_file); /* past the model's trailing CRC-32 */
    return 0;
}
