/* image.h: circa's lossless image codec: PNG/PGM/PPM in, a checksummed
 * circa image stream out, and back to pixel-exact PNG (or PNM).
 *
 * Contents
 *   1. the image                 circa_image, circa_image_create, circa_image_free
 *   2. reading and writing       circa_image_load (PNG, P5, P6), circa_image_save_png,
 *                                circa_image_save_pnm
 *   3. the codec                 circa_image_encode, circa_image_decode
 *
 * A worked example (error handling elided):
 *
 *     circa_image *img;
 *     circa_image_load(png_bytes, png_len, &img);     // PNG or binary PNM
 *     uint8_t *stream; size_t stream_len;
 *     circa_image_encode(img, &stream, &stream_len);  // caller frees stream
 *     circa_image *back;
 *     circa_image_decode(stream, stream_len, &back);  // back->samples == img->samples
 *     circa_image_save_png(back, &png_out, &png_out_len);
 *     circa_image_free(img); circa_image_free(back); free(stream);
 *
 * The stream format is in docs/image.md. Everything is integer arithmetic:
 * any build decodes any other build's streams. There is no global state;
 * different calls may run in different threads at once. */
#ifndef CIRCA_IMAGE_H
#define CIRCA_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "circa/circa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Images larger than this (width x height) are refused with CIRCA_E_LIMIT
 * before anything large is allocated; so are widths or heights over 2^24. */
#define CIRCA_IMAGE_MAX_PIXELS ((uint64_t)1 << 26)
#define CIRCA_IMAGE_MAX_SIDE ((uint32_t)1 << 24)

/* ---- 1. the image ------------------------------------------------------- */
/* Samples are interleaved, row-major, one uint16_t each whatever the depth:
 * sample (x, y, c) is samples[(y * width + x) * channels + c], in
 * [0, 2^depth - 1] (or [0, maxval] for PNM input). Channels: 1 grey,
 * 2 grey+alpha, 3 RGB, 4 RGBA. Depth: 1, 2, 4 (grey only), 8 or 16.
 *
 * meta holds the ancillary data kept across a round trip, as records
 * (type: 4 bytes, length: u32 little-endian, data): "gAMA" (u32 gamma x
 * 100000), "sRGB" (1 byte intent), "iCCP" (name, NUL, uncompressed
 * profile), "tEXt"/"zTXt"/"iTXt" (key NUL lang NUL translated-key NUL text;
 * lang and translated key empty except for iTXt), "PNMm" (u16 maxval of a
 * PNM source). The image owns samples and meta. */
typedef struct circa_image {
    uint32_t width, height;
    unsigned channels;
    unsigned depth;
    uint16_t *samples;
    uint8_t *meta;
    size_t meta_size;
} circa_image;

/* Allocates an image with zeroed samples and no meta. Returns CIRCA_E_PARAM
 * for a bad channel count or depth (or depth < 8 with channels > 1),
 * CIRCA_E_LIMIT for too large an image, CIRCA_E_NOMEM; *out is NULL then. */
CIRCA_API circa_status circa_image_create(uint32_t width, uint32_t height, unsigned channels,
                                          unsigned depth, circa_image **out);

/* Frees an image; accepts NULL. */
CIRCA_API void circa_image_free(circa_image *img);

/* Appends one meta record (see above). CIRCA_E_NOMEM or CIRCA_E_PARAM
 * (data too long); the image is unchanged on failure. */
CIRCA_API circa_status circa_image_add_meta(circa_image *img, const char type[4], const void *data,
                                            size_t size);

/* ---- 2. reading and writing --------------------------------------------- */
/* Reads a PNG or a binary PNM (P5 grey, P6 RGB; maxval 1..65535) from
 * memory. Palette PNGs and PNGs with a tRNS chunk are expanded to RGB(A) or
 * grey+alpha at 8 bits (16 for 16-bit tRNS images); grey PNGs of depth
 * 1, 2, 4 keep their depth; interlaced PNGs are read de-interlaced.
 * Returns CIRCA_E_FORMAT (not an image, corrupt, truncated),
 * CIRCA_E_LIMIT (dimensions), CIRCA_E_NOMEM; *out is NULL on failure. */
CIRCA_API circa_status circa_image_load(const void *buf, size_t size, circa_image **out);

/* Writes img as a non-interlaced PNG with its gAMA, sRGB, iCCP and text
 * records; *buf is malloc'd (caller frees). CIRCA_E_PARAM for an invalid
 * image, CIRCA_E_NOMEM, CIRCA_E_FORMAT if libpng fails; *buf NULL then. */
CIRCA_API circa_status circa_image_save_png(const circa_image *img, uint8_t **buf, size_t *size);

/* Writes img as P5 (1 channel) or P6 (3 channels) with the maxval from its
 * PNMm record (else 2^depth - 1). CIRCA_E_UNSUPPORTED for 2 or 4 channels
 * or a sample above maxval, CIRCA_E_NOMEM; *buf NULL on failure. */
CIRCA_API circa_status circa_image_save_pnm(const circa_image *img, uint8_t **buf, size_t *size);

/* ---- 3. the codec -------------------------------------------------------- */
/* Codes img as a circa image stream; *buf is malloc'd (caller frees).
 * CIRCA_E_PARAM for an invalid image (bad fields, a sample out of range),
 * CIRCA_E_LIMIT, CIRCA_E_NOMEM; *buf is NULL on failure. */
CIRCA_API circa_status circa_image_encode(const circa_image *img, uint8_t **buf, size_t *size);

/* Decodes a whole stream. CIRCA_E_FORMAT (bad magic, fields, trailing
 * bytes), CIRCA_E_VERSION, CIRCA_E_TRUNCATED, CIRCA_E_CHECKSUM (header or
 * samples), CIRCA_E_LIMIT, CIRCA_E_NOMEM; *out is NULL on failure. */
CIRCA_API circa_status circa_image_decode(const void *buf, size_t size, circa_image **out);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_IMAGE_H */
