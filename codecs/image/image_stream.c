/* image_stream.c: the circa image stream (docs/image.md): header, meta
 * records, checksums, and the coded planes from image_model.c; plus the
 * circa_image object itself. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "circa/image.h"
#include "image_internal.h"
#include "../common/le_bytes.h"

#define MAGIC "\x89" "CIM"
#define VERSION 2
#define FIXED_HEAD 20 /* magic, version, channels, depth, flags, width, height, meta length */
#define TAIL_HEAD 12  /* sample CRC, payload length, header CRC */


circa_status circa_image__check_shape(uint32_t width, uint32_t height, unsigned channels,
                                      unsigned depth) {
    if (channels < 1 || channels > 4) return CIRCA_E_PARAM;
    if (depth != 1 && depth != 2 && depth != 4 && depth != 8 && depth != 16) return CIRCA_E_PARAM;
    if (depth < 8 && channels != 1) return CIRCA_E_PARAM;
    if (width == 0 || height == 0) return CIRCA_E_PARAM;
    if (width > CIRCA_IMAGE_MAX_SIDE || height > CIRCA_IMAGE_MAX_SIDE) return CIRCA_E_LIMIT;
    if ((uint64_t)width * height > CIRCA_IMAGE_MAX_PIXELS) return CIRCA_E_LIMIT;
    return CIRCA_OK;
}

circa_status circa_image_create(uint32_t width, uint32_t height, unsigned channels, unsigned depth,
                                circa_image **out) {
    *out = NULL;
    circa_status st = circa_image__check_shape(width, height, channels, depth);
    if (st != CIRCA_OK) return st;
    circa_image *img = calloc(1, sizeof *img);
    if (!img) return CIRCA_E_NOMEM;
    img->samples = calloc((size_t)width * height * channels, sizeof(uint16_t));
    if (!img->samples) {
        free(img);
        return CIRCA_E_NOMEM;
    }
    img->width = width, img->height = height, img->channels = channels, img->depth = depth;
    *out = img;
    return CIRCA_OK;
}

void circa_image_free(circa_image *img) {
    if (!img) return;
    free(img->samples);
    free(img->meta);
    free(img);
}

circa_status circa_image_add_meta(circa_image *img, const char type[4], const void *data, size_t size) {
    if (size > ((uint32_t)1 << 28) || img->meta_size > ((size_t)1 << 29)) return CIRCA_E_PARAM;
    uint8_t *m = realloc(img->meta, img->meta_size + 8 + size);
    if (!m) return CIRCA_E_NOMEM;
    memcpy(m + img->meta_size, type, 4);
    circa__put32(m + img->meta_size + 4, (uint32_t)size);
    if (size) memcpy(m + img->meta_size + 8, data, size);
    img->meta = m;
    img->meta_size += 8 + size;
    return CIRCA_OK;
}

/* CRC-32 of the samples as PNG stores them: one byte each up to depth 8,
 * two big-endian bytes each at depth 16. */
static uint32_t samples_crc(const circa_image *img) {
    size_t n = (size_t)img->width * img->height * img->channels;
    uLong crc = crc32(0, NULL, 0);
    uint8_t chunk[8192];
    size_t fill = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t v = img->samples[i];
        if (img->depth == 16) chunk[fill++] = (uint8_t)(v >> 8);
        chunk[fill++] = (uint8_t)v;
        if (fill >= sizeof chunk - 2) {
            crc = crc32(crc, chunk, (uInt)fill);
            fill = 0;
        }
    }
    return (uint32_t)crc32(crc, chunk, (uInt)fill);
}

/* Meta records must tile the meta bytes exactly. */
static int meta_valid(const uint8_t *m, size_t n) {
    size_t pos = 0;
    while (pos < n) {
        if (n - pos < 8) return 0;
        uint32_t len = circa__get32(m + pos + 4);
        if (len > n - pos - 8) return 0;
        pos += 8 + (size_t)len;
    }
    return 1;
}

static int samples_in_range(const circa_image *img) {
    size_t n = (size_t)img->width * img->height * img->channels;
    uint32_t maxv = (1u << img->depth) - 1;
    for (size_t i = 0; i < n; i++)
        if (img->samples[i] > maxv) return 0;
    return 1;
}

circa_status circa_image_encode(const circa_image *img, uint8_t **buf, size_t *size) {
    *buf = NULL;
    *size = 0;
    if (!img || !img->samples) return CIRCA_E_PARAM;
    circa_status st = circa_image__check_shape(img->width, img->height, img->channels, img->depth);
    if (st != CIRCA_OK) return st;
    if (!samples_in_range(img) || !meta_valid(img->meta, img->meta_size) ||
        img->meta_size > UINT32_MAX / 2)
        return CIRCA_E_PARAM;
    uint8_t *coded;
    size_t coded_len;
    st = circa_image__code_encode(img, &coded, &coded_len);
    if (st != CIRCA_OK) return st;
    size_t head = FIXED_HEAD + img->meta_size + TAIL_HEAD;
    if (coded_len > UINT32_MAX) {
        free(coded);
        return CIRCA_E_LIMIT;
    }
    uint8_t *out = malloc(head + coded_len);
    if (!out) {
        free(coded);
        return CIRCA_E_NOMEM;
    }
    memcpy(out, MAGIC, 4);
    out[4] = VERSION, out[5] = (uint8_t)img->channels, out[6] = (uint8_t)img->depth, out[7] = 0;
    circa__put32(out + 8, img->width);
    circa__put32(out + 12, img->height);
    circa__put32(out + 16, (uint32_t)img->meta_size);
    if (img->meta_size) memcpy(out + FIXED_HEAD, img->meta, img->meta_size);
    uint8_t *tail = out + FIXED_HEAD + img->meta_size;
    circa__put32(tail, samples_crc(img));
    circa__put32(tail + 4, (uint32_t)coded_len);
    circa__put32(tail + 8, (uint32_t)crc32(crc32(0, NULL, 0), out, (uInt)(head - 4)));
    memcpy(out + head, coded, coded_len);
    free(coded);
    *buf = out;
    *size = head + coded_len;
    return CIRCA_OK;
}

/* Parses and checks the header; on success *img is allocated (with meta)
 * and the payload pointer and length locate the coded planes. */
static circa_status parse_header(const uint8_t *p, size_t n, circa_image **img, const uint8_t **payload,
                                 size_t *payload_len, uint32_t *crc) {
    if (n < 4 || memcmp(p, MAGIC, 4) != 0) return n < 4 ? CIRCA_E_TRUNCATED : CIRCA_E_FORMAT;
    if (n < FIXED_HEAD) return CIRCA_E_TRUNCATED;
    if (p[4] != VERSION) return CIRCA_E_VERSION;
    uint32_t meta_len = circa__get32(p + 16);
    if (meta_len > n - FIXED_HEAD || n - FIXED_HEAD - meta_len < TAIL_HEAD) return CIRCA_E_TRUNCATED;
    size_t head = FIXED_HEAD + (size_t)meta_len + TAIL_HEAD;
    const uint8_t *tail = p + head - TAIL_HEAD;
    if (circa__get32(tail + 8) != (uint32_t)crc32(crc32(0, NULL, 0), p, (uInt)(head - 4)))
        return CIRCA_E_CHECKSUM;
    if (p[7] != 0) return CIRCA_E_UNSUPPORTED;
    if (!meta_valid(p + FIXED_HEAD, meta_len)) return CIRCA_E_FORMAT;
    uint32_t len = circa__get32(tail + 4);
    if (len > n - head) return CIRCA_E_TRUNCATED;
    if (len < n - head) return CIRCA_E_FORMAT; /* trailing bytes */
    /* Every sample costs the coder at least 0.001 bits (probabilities are
     * clamped to [48, 65488] / 65536), so a valid payload has at least one
     * byte per 7547 samples: refusing less keeps a tiny corrupt stream from
     * claiming a huge image. */
    uint64_t samples = (uint64_t)circa__get32(p + 8) * circa__get32(p + 12) * p[5];
    if (samples / 8192 > len) return CIRCA_E_FORMAT;
    circa_status st = circa_image_create(circa__get32(p + 8), circa__get32(p + 12), p[5], p[6], img);
    if (st != CIRCA_OK) return st == CIRCA_E_PARAM ? CIRCA_E_FORMAT : st;
    if (meta_len) {
        (*img)->meta = malloc(meta_len);
        if (!(*img)->meta) return CIRCA_E_NOMEM;
        memcpy((*img)->meta, p + FIXED_HEAD, meta_len);
        (*img)->meta_size = meta_len;
    }
    *crc = circa__get32(tail);
    *payload = p + head;
    *payload_len = len;
    return CIRCA_OK;
}

circa_status circa_image_decode(const void *buf, size_t size, circa_image **out) {
    *out = NULL;
    circa_image *img = NULL;
    const uint8_t *payload;
    size_t payload_len;
    uint32_t crc;
    circa_status st = parse_header(buf, size, &img, &payload, &payload_len, &crc);
    if (st == CIRCA_OK) st = circa_image__code_decode(payload, payload_len, img);
    if (st == CIRCA_OK && samples_crc(img) != crc) st = CIRCA_E_CHECKSUM;
    if (st != CIRCA_OK) {
        circa_image_free(img);
        return st;
    }
    *out = img;
    return CIRCA_OK;
}
