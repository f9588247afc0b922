/* image_internal.h: what the files of codecs/image/ share: the pixel model's
 * two entry points (image_model.c), used by the stream layer (image_stream.c). */
#ifndef CIRCA_CODECS_IMAGE_INTERNAL_H
#define CIRCA_CODECS_IMAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "circa/image.h"

/* Codes img's samples as one range-coder stream; *out is malloc'd.
 * CIRCA_E_NOMEM, or CIRCA_E_DST_SIZE if the bound was too small (a bug). */
circa_status circa_image__code_encode(const circa_image *img, uint8_t **out, size_t *out_size);

/* Decodes samples into img (its fields and samples already allocated) from
 * exactly size bytes. CIRCA_E_FORMAT or CIRCA_E_TRUNCATED on corrupt input,
 * CIRCA_E_NOMEM. */
circa_status circa_image__code_decode(const uint8_t *src, size_t size, circa_image *img);

/* Checks width, height, channels and depth: CIRCA_OK, CIRCA_E_PARAM or CIRCA_E_LIMIT. */
circa_status circa_image__check_shape(uint32_t width, uint32_t height, unsigned channels,
                                      unsigned depth);

#endif
