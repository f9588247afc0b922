/* fuzz_frame.c: libFuzzer target for the frame decoder: any input must decode
 * or fail with a status, never crash, hang or touch memory out of bounds.
 * The one-shot and the streaming decoder (odd buffer sizes) must agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "circa/circa.h"

#define OUT_CAP (1u << 22) /* content beyond 4 MiB is cut off (CIRCA_E_DST_SIZE) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *one = malloc(OUT_CAP), *two = malloc(OUT_CAP);
    if (!one || !two) abort();
    size_t len1 = 0;
    circa_status st1 = circa_decompress(one, OUT_CAP, &len1, data, size);

    circa_dctx *d;
    if (circa_dctx_create(&d) != CIRCA_OK) abort();
    circa_inbuf in = {data, 0, 0};
    circa_outbuf out = {two, 0, 0};
    circa_status st2 = CIRCA_OK;
    int open = 0;
    while (st2 == CIRCA_OK && out.pos < OUT_CAP) {
        size_t before_in = in.pos, before_out = out.pos;
        in.size = in.pos + 3 < size ? in.pos + 3 : size;
        out.size = out.pos + 1000 < OUT_CAP ? out.pos + 1000 : OUT_CAP;
        st2 = circa_decompress_stream(d, &out, &in, &open);
        if (in.pos == before_in && out.pos == before_out && in.pos == size) break;
    }
    circa_dctx_free(d);
    /* Whatever the one-shot decoder produced before stopping, streaming produced too. */
    if (st1 == CIRCA_OK && (st2 != CIRCA_OK || open || out.pos != len1 || memcmp(one, two, len1)))
        abort();
    free(one);
    free(two);
    return 0;
}
