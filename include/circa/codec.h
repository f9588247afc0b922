/* codec.h: circa's block codecs, the units a frame is made of.
 *
 * Contents
 *   circa_block_type     the block types of format v1 (docs/format.md)
 *   circa_block_encode   code one block with one codec
 *   circa_block_decode   decode one block, validating sizes
 *   circa_block_name     a codec's name, for `circa list`
 *
 * A block codec is a pure function of (bytes, level) -> (coded bytes, one
 * parameter byte); decoding takes (coded bytes, parameter byte, raw size).
 * Codecs keep no state between blocks, so blocks decode independently and in
 * any order. Each call allocates what it needs and frees it before returning;
 * functions are safe to call from many threads at once. */
#ifndef CIRCA_CODEC_H
#define CIRCA_CODEC_H

#include "circa.h"
#include "entropy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum circa_block_type {
    CIRCA_BLOCK_STORED = 0,  /* raw bytes, coded size == raw size */
    CIRCA_BLOCK_DEFLATE = 1, /* raw deflate (RFC 1951) through zlib */
    CIRCA_BLOCK_CM = 2,      /* adaptive context-mixing byte model + range coder */
    CIRCA_BLOCK_MODEL = 3,   /* whole records coded by the frame's record model */
    CIRCA_BLOCK_PC = 4,      /* records coded by a circuit over their columns, learned in the block */
    CIRCA_BLOCK_TYPE_COUNT
} circa_block_type;

/* Codes src[0..n) with codec `type` at `level` (1..9) into dst[0..cap).
 * On success *out_len is the coded size and *param the codec parameter byte
 * to store in the block header. Returns CIRCA_E_DST_SIZE when the coded form
 * does not fit in cap: callers pass cap < n to accept only a gain. */
CIRCA_API circa_status circa_block_encode(circa_block_type type, int level,
                                          const uint8_t *src, size_t n,
                                          uint8_t *dst, size_t cap,
                                          size_t *out_len, uint8_t *param);

/* Decodes coded src[0..n) into exactly raw_size bytes at dst. Returns
 * CIRCA_E_FORMAT (or CHECKSUM/TRUNCATED) on any inconsistency; never reads or
 * writes out of bounds, whatever the input. */
CIRCA_API circa_status circa_block_decode(circa_block_type type, uint8_t param,
                                          const uint8_t *src, size_t n,
                                          uint8_t *dst, size_t raw_size);

/* A record model: codes runs of `width`-byte records with circa's range
 * coder. Both functions must be pure functions of (model, records) so the
 * decoder reproduces the encoder's probabilities exactly, and safe to call
 * from several threads at once. */
struct circa_record_model {
    size_t width; /* bytes per record */
    uint32_t id;  /* identifies the model; recorded in frame headers */
    const void *model;
    circa_status (*encode)(const void *model, const uint8_t *records, size_t n, circa_rc_enc *enc);
    circa_status (*decode)(const void *model, circa_rc_dec *dec, uint8_t *records, size_t n);
};

/* Codes src (a whole number of records) with a record model; same contract
 * as circa_block_encode. */
CIRCA_API circa_status circa_block_encode_records(const circa_record_model *m, const uint8_t *src,
                                                  size_t n, uint8_t *dst, size_t cap,
                                                  size_t *out_len);
CIRCA_API circa_status circa_block_decode_records(const circa_record_model *m, const uint8_t *src,
                                                  size_t n, uint8_t *dst, size_t raw_size);

/* "stored", "deflate", "cm", "model", "pc", or NULL for an unknown type. */
CIRCA_API const char *circa_block_name(unsigned type);

/* ---- walking a frame without decoding it (`circa list`) ---------------- */
#define CIRCA_FRAME_HEADER_MAX_SIZE 24
#define CIRCA_BLOCK_HEADER_BYTES 20

typedef struct circa_frame_info {
    unsigned version, flags, block_log;
    int content_size_known;
    uint64_t content_size;
    int model_id_known;
    uint32_t model_id;  /* the record model the frame needs */
    size_t header_size; /* bytes of the frame header */
} circa_frame_info;

typedef struct circa_block_info {
    int is_end;                        /* the end mark: total_size and content_crc are set */
    unsigned type, param;
    uint32_t raw_size, coded_size, raw_crc, coded_crc;
    uint64_t total_size;               /* end mark: content bytes in the frame */
    uint32_t content_crc, block_count; /* end mark: CRC-32 of the content, blocks in the frame */
} circa_block_info;

/* Parses a frame header from the first n bytes of src. Returns
 * CIRCA_E_TRUNCATED when n is too short (info->header_size then says how
 * many bytes are needed), and validates magic, version, flags and check. */
CIRCA_API circa_status circa_frame_info_parse(const void *src, size_t n, circa_frame_info *info);

/* Parses and validates one 20-byte block header (or end mark) of a frame
 * whose header is `frame`. */
CIRCA_API circa_status circa_block_info_parse(const void *src16, const circa_frame_info *frame,
                                              circa_block_info *info);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_CODEC_H */
