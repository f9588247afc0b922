/* image_internal.h: what the files of codecs/image/ share: the pixel model's
 * two entry points (image_model.c), used by the stream layer (image_stream.c),
 * and two hooks into its probabilistic circuit for the unit tests. */
#ifndef CIRCA_CODECS_IMAGE_INTERNAL_H
#define CIRCA_CODECS_IMAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "circa/image.h"
#include "circa/pc.h"

/* Codes img's samples as one range-coder stream; *out is malloc'd.
 * CIRCA_E_NOMEM, or CIRCA_E_DST_SIZE if the bound was too small (a bug). */
circa_status circa_image__code_encode(const circa_image *img, uint8_t **out, size_t *out_size);

/* Decodes samples into img (its fields and samples already allocated) from
 * exactly size bytes. CIRCA_E_FORMAT or CIRCA_E_TRUNCATED on corrupt input,
 * CIRCA_E_NOMEM. */
circa_status circa_image__code_decode(const uint8_t *src, size_t size, circa_image *img);

/* The pixel model's probabilistic circuit (docs/image.md), for the tests:
 * records of CIRCA_IMAGE__PC_VARS bytes, byte 0 the residual's bit length
 * capped at CIRCA_IMAGE__PC_KCAP, byte v below circa_image__pc_levels[v]. */
#define CIRCA_IMAGE__PC_VARS 12
#define CIRCA_IMAGE__PC_KCAP 8
extern const uint8_t circa_image__pc_levels[CIRCA_IMAGE__PC_VARS];

/* Encodes img as circa_image__code_encode does (the stream is dropped) and
 * returns plane `plane`'s circuit as the last checkpoint left it (*pc, a
 * copy the caller frees; NULL when it never learned) and how many of that
 * plane's samples were coded with a PC input. CIRCA_E_NOMEM. */
circa_status circa_image__pc_probe(const circa_image *img, unsigned plane, circa_pc **pc,
                                   uint64_t *uses);
/* P(k > i | k >= i, context rec[1..]) exactly as the coder computes it
 * (through the tables it builds from pc), for i < CIRCA_IMAGE__PC_KCAP;
 * -1 when memory runs out. */
double circa_image__pc_prob(const circa_pc *pc, const uint8_t *rec, unsigned i);

/* Checks width, height, channels and depth: CIRCA_OK, CIRCA_E_PARAM or CIRCA_E_LIMIT. */
circa_status circa_image__check_shape(uint32_t width, uint32_t height, unsigned channels,
                                      unsigned depth);

#endif
