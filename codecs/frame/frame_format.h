/* frame_format.h: constants and field (de)serialisation of the circa frame
 * format v1, shared by the frame encoder and decoder (docs/format.md). */
#ifndef CIRCA_FRAME_FORMAT_H
#define CIRCA_FRAME_FORMAT_H

#include <stdint.h>
#include <stddef.h>
#include <zlib.h>
#include "circa/circa.h"
#include "../common/le_bytes.h"

#define CIRCA_MAGIC 0xCA524943u /* bytes 43 49 52 CA: "CIR" then 0xCA */
#define CIRCA_FORMAT_VERSION 1
#define CIRCA_FLAG_CONTENT_SIZE 0x01u
#define CIRCA_FLAG_MODEL_ID 0x02u
#define CIRCA_FLAGS_KNOWN (CIRCA_FLAG_CONTENT_SIZE | CIRCA_FLAG_MODEL_ID)

#define CIRCA_FRAME_HEADER_MIN 12 /* magic, version, flags, block_log, reserved, check */
#define CIRCA_FRAME_HEADER_MAX 24 /* plus the 8-byte content size and 4-byte model id */
#define CIRCA_BLOCK_HEADER_SIZE 20
#define CIRCA_END_MARK 0xFFu

/* zlib's CRC-32 over any length (zlib takes uInt lengths). */
static inline uint32_t circa__crc32(uint32_t crc, const uint8_t *p, size_t n) {
    while (n > 0) {
        uInt chunk = n > 0x40000000u ? 0x40000000u : (uInt)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

/* The 16-bit check of a block header or end mark: the low half of the
 * CRC-32 of its other 18 bytes (bytes 0-1 and 4-19). */
static inline uint32_t circa__header_check(const uint8_t h[CIRCA_BLOCK_HEADER_SIZE]) {
    uint32_t c = circa__crc32(0, h, 2);
    c = circa__crc32(c, h + 4, CIRCA_BLOCK_HEADER_SIZE - 4);
    return c & 0xFFFFu;
}

/* A parsed block header (or end mark when type == CIRCA_END_MARK). */
typedef struct circa__block_header {
    unsigned type, param;
    uint32_t raw_size, coded_size, raw_crc, coded_crc; /* for blocks */
    uint64_t total_size;                               /* for the end mark */
    uint32_t content_crc, block_count;                 /* for the end mark */
} circa__block_header;

void circa__write_block_header(uint8_t out[CIRCA_BLOCK_HEADER_SIZE], const circa__block_header *h);
/* Parses and validates 16 bytes against the frame's block size limit. */
circa_status circa__read_block_header(const uint8_t in[CIRCA_BLOCK_HEADER_SIZE], size_t block_max,
                                      circa__block_header *h);

/* A parsed frame header. */
typedef struct circa__frame_header {
    unsigned flags, block_log;
    uint64_t content_size; /* when flags has CIRCA_FLAG_CONTENT_SIZE */
    uint32_t model_id;     /* when flags has CIRCA_FLAG_MODEL_ID */
    size_t header_size;
} circa__frame_header;

/* Writes a frame header (h->header_size is ignored); returns its size. */
size_t circa__write_frame_header(uint8_t out[CIRCA_FRAME_HEADER_MAX], const circa__frame_header *h);
/* Parses a frame header from n available bytes. CIRCA_E_TRUNCATED when more
 * bytes are needed (h->header_size then says how many in total). */
circa_status circa__read_frame_header(const uint8_t *in, size_t n, circa__frame_header *h);

/* Codes one block (picking the codec by level, and trying the record model
 * when there is one and the block is whole records) into out, which has
 * room for CIRCA_BLOCK_HEADER_SIZE + n bytes. *out_len gets the bytes written. */
circa_status circa__encode_block(int level, const circa_record_model *model, const uint8_t *src,
                                 size_t n, uint8_t *out, size_t *out_len);

#endif
