/* block.c: block codec dispatch (codec.h), the per-level choice of codec, and
 * the block header and frame header fields of format v1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "circa/codec.h"
#include "frame_format.h"
#include "../deflate/deflate.h"
#include "../cm/cm.h"
#include "../records/records.h"

const char *circa_block_name(unsigned type) {
    switch (type) {
    case CIRCA_BLOCK_STORED: return "stored";
    case CIRCA_BLOCK_DEFLATE: return "deflate";
    case CIRCA_BLOCK_CM: return "cm";
    case CIRCA_BLOCK_MODEL: return "model";
    case CIRCA_BLOCK_PC: return "pc";
    default: return NULL;
    }
}

circa_status circa_block_encode(circa_block_type type, int level, const uint8_t *src, size_t n,
                                uint8_t *dst, size_t cap, size_t *out_len, uint8_t *param) {
    if (level < CIRCA_LEVEL_MIN || level > CIRCA_LEVEL_MAX || (!src && n) || !out_len || !param)
        return CIRCA_E_PARAM;
    *param = 0;
    switch (type) {
    case CIRCA_BLOCK_STORED:
        if (n > cap) return CIRCA_E_DST_SIZE;
        if (n) memcpy(dst, src, n);
        *out_len = n;
        return CIRCA_OK;
    case CIRCA_BLOCK_DEFLATE: {
        /* libdeflate level: 6 at circa level 1 (smaller than gzip -9 and
         * faster than gzip -6), 12 (its slowest, smallest) above. */
        int dlevel = level == 1 ? 6 : 12;
        *param = (uint8_t)dlevel;
        return circa__deflate_encode(src, n, dst, cap, out_len, dlevel);
    }
    case CIRCA_BLOCK_CM:
        return circa__cm_encode(src, n, dst, cap, out_len, param, level, NULL);
    case CIRCA_BLOCK_PC:
        return circa__records_encode(src, n, dst, cap, out_len);
    default:
        return CIRCA_E_UNSUPPORTED;
    }
}

circa_status circa_block_decode(circa_block_type type, uint8_t param, const uint8_t *src, size_t n,
                                uint8_t *dst, size_t raw_size) {
    switch (type) {
    case CIRCA_BLOCK_STORED:
        if (param != 0 || n != raw_size) return CIRCA_E_FORMAT;
        if (n) memcpy(dst, src, n);
        return CIRCA_OK;
    case CIRCA_BLOCK_DEFLATE:
        /* The parameter records the level used; informative, but must be valid. */
        if (param < 1 || param > 12) return CIRCA_E_FORMAT;
        return circa__deflate_decode(src, n, dst, raw_size);
    case CIRCA_BLOCK_CM:
        return circa__cm_decode(src, n, dst, raw_size, param);
    case CIRCA_BLOCK_PC:
        if (param != 0) return CIRCA_E_FORMAT;
        return circa__records_decode(src, n, dst, raw_size);
    case CIRCA_BLOCK_MODEL:
        return CIRCA_E_MODEL; /* needs circa_block_decode_records */
    default:
        return CIRCA_E_UNSUPPORTED;
    }
}

circa_status circa_block_encode_records(const circa_record_model *m, const uint8_t *src, size_t n,
                                        uint8_t *dst, size_t cap, size_t *out_len) {
    if (!m || !m->width || n % m->width || !out_len) return CIRCA_E_PARAM;
    circa_rc_enc enc;
    circa_rc_enc_init(&enc, dst, cap);
    circa_status st = m->encode(m->model, src, n / m->width, &enc);
    if (st != CIRCA_OK) return st;
    size_t len = circa_rc_enc_finish(&enc);
    if (len == 0) return CIRCA_E_DST_SIZE;
    *out_len = len;
    return CIRCA_OK;
}

circa_status circa_block_decode_records(const circa_record_model *m, const uint8_t *src, size_t n,
                                        uint8_t *dst, size_t raw_size) {
    if (!m) return CIRCA_E_MODEL;
    if (!m->width || raw_size % m->width) return CIRCA_E_FORMAT;
    circa_rc_dec dec;
    circa_rc_dec_init(&dec, src, n);
    circa_status st = m->decode(m->model, &dec, dst, raw_size / m->width);
    if (st != CIRCA_OK) return st;
    return circa_rc_dec_finish(&dec) ? CIRCA_E_FORMAT : CIRCA_OK;
}

/* Order-0 entropy of a sample, in bits per byte. */
static double order0_entropy(const uint8_t *p, size_t n) {
    size_t count[256] = {0};
    for (size_t i = 0; i < n; i++) count[p[i]]++;
    double h = 0;
    for (int s = 0; s < 256; s++)
        if (count[s]) h -= (double)count[s] / (double)n * log2((double)count[s] / (double)n);
    return h;
}

/* True when a block looks incompressible: near-8-bit order-0 entropy and
 * fast deflate saving under 2% of a 256 KiB sample. Below level 9 such
 * blocks are stored without trying the context model, which would spend its
 * full time on them for a gain of about 1% (measured on fireworks.jpeg), so
 * random data passes at memory speed. Only the encoder's choice depends on
 * this; the format does not. */
static int looks_incompressible(const uint8_t *src, size_t n) {
    size_t sample = n < (1u << 18) ? n : (1u << 18);
    if (sample < 4096 || order0_entropy(src, sample) < 7.9) return 0;
    uint8_t *tmp = malloc(sample);
    if (!tmp) return 0;
    size_t len = 0;
    int shrinks = circa__deflate_encode(src, sample, tmp, sample - sample / 50, &len, 1) == CIRCA_OK;
    free(tmp);
    return !shrinks;
}

/* Which codecs a level tries, in order; the smallest result wins and stored
 * is the fallback, so no block grows by more than its header. Levels 1-2
 * are deflate only (speed); 3-5 the fast context model; 6-9 the strong
 * context model; from 5 up deflate is also tried and the smaller kept; 9
 * also tries the circuit over record columns (it declines blocks without
 * fixed-width records at once). */
static int level_tries(int level, circa_block_type tries[3]) {
    if (level <= 2) {
        tries[0] = CIRCA_BLOCK_DEFLATE;
        return 1;
    }
    tries[0] = CIRCA_BLOCK_CM;
    if (level < 5) return 1;
    tries[1] = CIRCA_BLOCK_DEFLATE;
    if (level < CIRCA_LEVEL_MAX) return 2;
    tries[2] = CIRCA_BLOCK_PC;
    return 3;
}

circa_status circa__encode_block(int level, const circa_record_model *model, const uint8_t *src,
                                 size_t n, uint8_t *out, size_t *out_len) {
    uint8_t *body = out + CIRCA_BLOCK_HEADER_SIZE;
    circa__block_header h = {CIRCA_BLOCK_STORED, 0, (uint32_t)n, (uint32_t)n, 0, 0, 0, 0, 0};
    h.raw_crc = circa__crc32(0, src, n);
    size_t best = n; /* stored size: anything kept must beat it */
    circa_block_type tries[3];
    int count = 0;
    /* Whole records go to the model first; deflate is then a cheap check
     * that the model helps. Other blocks (an IDX header, a partial last
     * record) take the level's usual codecs. */
    if (model && n > 0 && n % model->width == 0) {
        tries[count++] = CIRCA_BLOCK_MODEL;
        tries[count++] = CIRCA_BLOCK_DEFLATE;
    } else {
        count = level_tries(level, tries);
    }
    if (level < CIRCA_LEVEL_MAX && tries[0] == CIRCA_BLOCK_CM && looks_incompressible(src, n))
        count = 0; /* stored */
    uint8_t *scratch = NULL;
    for (int i = 0; i < count && best > 0; i++) {
        /* The first candidate codes straight into place; later ones into scratch. */
        uint8_t *dst = body;
        if (h.type != CIRCA_BLOCK_STORED) {
            if (!scratch && !(scratch = malloc(best))) return CIRCA_E_NOMEM;
            dst = scratch;
        }
        size_t len = 0;
        uint8_t param = 0;
        circa_status st =
            tries[i] == CIRCA_BLOCK_MODEL
                ? circa_block_encode_records(model, src, n, dst, best - 1, &len)
                : circa_block_encode(tries[i], level, src, n, dst, best - 1, &len, &param);
        if (st == CIRCA_E_DST_SIZE || st == CIRCA_E_UNSUPPORTED) continue; /* no gain, or no records */
        if (st != CIRCA_OK) {
            free(scratch);
            return st;
        }
        if (dst == scratch) memcpy(body, scratch, len);
        best = len;
        h.type = tries[i];
        h.param = param;
    }
    free(scratch);
    if (h.type == CIRCA_BLOCK_STORED && n) memcpy(body, src, n);
    h.coded_size = (uint32_t)best;
    h.coded_crc = circa__crc32(0, body, best);
    circa__write_block_header(out, &h);
    *out_len = CIRCA_BLOCK_HEADER_SIZE + best;
    return CIRCA_OK;
}

/* ---- block header: type(1) param(1) check(2) then 16 bytes of fields ---- */
void circa__write_block_header(uint8_t out[CIRCA_BLOCK_HEADER_SIZE], const circa__block_header *h) {
    out[0] = (uint8_t)h->type;
    out[1] = (uint8_t)h->param;
    if (h->type == CIRCA_END_MARK) {
        circa__put64(out + 4, h->total_size);
        circa__put32(out + 12, h->content_crc);
        circa__put32(out + 16, h->block_count);
    } else {
        circa__put32(out + 4, h->raw_size);
        circa__put32(out + 8, h->coded_size);
        circa__put32(out + 12, h->raw_crc);
        circa__put32(out + 16, h->coded_crc);
    }
    circa__put16(out + 2, circa__header_check(out));
}

circa_status circa__read_block_header(const uint8_t in[CIRCA_BLOCK_HEADER_SIZE], size_t block_max,
                                      circa__block_header *h) {
    if (circa__get16(in + 2) != circa__header_check(in)) return CIRCA_E_CHECKSUM;
    memset(h, 0, sizeof *h);
    h->type = in[0];
    h->param = in[1];
    if (h->type == CIRCA_END_MARK) {
        if (h->param != 0) return CIRCA_E_FORMAT;
        h->total_size = circa__get64(in + 4);
        h->content_crc = circa__get32(in + 12);
        h->block_count = circa__get32(in + 16);
        return CIRCA_OK;
    }
    if (!circa_block_name(h->type)) return CIRCA_E_UNSUPPORTED;
    h->raw_size = circa__get32(in + 4);
    h->coded_size = circa__get32(in + 8);
    h->raw_crc = circa__get32(in + 12);
    h->coded_crc = circa__get32(in + 16);
    /* A block is never empty, never above the frame's block size, and never
     * coded larger than stored. */
    if (h->raw_size == 0 || h->raw_size > block_max || h->coded_size > h->raw_size)
        return CIRCA_E_FORMAT;
    if (h->type == CIRCA_BLOCK_STORED && h->coded_size != h->raw_size) return CIRCA_E_FORMAT;
    return CIRCA_OK;
}

/* ---- frame header: magic(4) version(1) flags(1) block_log(1) reserved(1)
 *      [content size(8)] check(4) -------------------------------------- */
size_t circa__write_frame_header(uint8_t out[CIRCA_FRAME_HEADER_MAX], const circa__frame_header *h) {
    size_t n = 8;
    circa__put32(out, CIRCA_MAGIC);
    out[4] = CIRCA_FORMAT_VERSION;
    out[5] = (uint8_t)h->flags;
    out[6] = (uint8_t)h->block_log;
    out[7] = 0;
    if (h->flags & CIRCA_FLAG_CONTENT_SIZE) {
        circa__put64(out + n, h->content_size);
        n += 8;
    }
    if (h->flags & CIRCA_FLAG_MODEL_ID) {
        circa__put32(out + n, h->model_id);
        n += 4;
    }
    circa__put32(out + n, circa__crc32(0, out, n));
    return n + 4;
}

circa_status circa__read_frame_header(const uint8_t *in, size_t n, circa__frame_header *h) {
    h->header_size = CIRCA_FRAME_HEADER_MIN;
    if (n < 4) return CIRCA_E_TRUNCATED;
    if (circa__get32(in) != CIRCA_MAGIC) return CIRCA_E_FORMAT;
    if (n < 8) return CIRCA_E_TRUNCATED;
    if (in[4] != CIRCA_FORMAT_VERSION) return CIRCA_E_VERSION;
    h->flags = in[5];
    if (h->flags & ~CIRCA_FLAGS_KNOWN) return CIRCA_E_UNSUPPORTED;
    h->block_log = in[6];
    if (h->block_log < CIRCA_BLOCK_LOG_MIN || h->block_log > CIRCA_BLOCK_LOG_MAX || in[7] != 0)
        return CIRCA_E_FORMAT;
    size_t fields = 8 + ((h->flags & CIRCA_FLAG_CONTENT_SIZE) ? 8 : 0) +
                    ((h->flags & CIRCA_FLAG_MODEL_ID) ? 4 : 0);
    h->header_size = fields + 4;
    if (n < h->header_size) return CIRCA_E_TRUNCATED;
    if (circa__get32(in + fields) != circa__crc32(0, in, fields)) return CIRCA_E_CHECKSUM;
    size_t at = 8;
    h->content_size = 0;
    h->model_id = 0;
    if (h->flags & CIRCA_FLAG_CONTENT_SIZE) {
        h->content_size = circa__get64(in + at);
        at += 8;
    }
    if (h->flags & CIRCA_FLAG_MODEL_ID) h->model_id = circa__get32(in + at);
    return CIRCA_OK;
}

/* ---- the public walking API (codec.h) ---------------------------------- */
circa_status circa_frame_info_parse(const void *src, size_t n, circa_frame_info *info) {
    if (!info || (!src && n)) return CIRCA_E_PARAM;
    circa__frame_header h;
    circa_status st = circa__read_frame_header(src, n, &h);
    memset(info, 0, sizeof *info);
    info->header_size = h.header_size;
    if (st != CIRCA_OK) return st;
    info->version = CIRCA_FORMAT_VERSION;
    info->flags = h.flags;
    info->block_log = h.block_log;
    info->content_size_known = (h.flags & CIRCA_FLAG_CONTENT_SIZE) != 0;
    info->content_size = h.content_size;
    info->model_id_known = (h.flags & CIRCA_FLAG_MODEL_ID) != 0;
    info->model_id = h.model_id;
    return CIRCA_OK;
}

circa_status circa_block_info_parse(const void *src16, const circa_frame_info *frame,
                                    circa_block_info *info) {
    if (!src16 || !frame || !info) return CIRCA_E_PARAM;
    circa__block_header h;
    circa_status st = circa__read_block_header(src16, (size_t)1 << frame->block_log, &h);
    memset(info, 0, sizeof *info);
    if (st != CIRCA_OK) return st;
    info->is_end = h.type == CIRCA_END_MARK;
    info->type = h.type;
    info->param = h.param;
    info->raw_size = h.raw_size;
    info->coded_size = h.coded_size;
    info->raw_crc = h.raw_crc;
    info->coded_crc = h.coded_crc;
    info->block_count = h.block_count;
    info->total_size = h.total_size;
    info->content_crc = h.content_crc;
    return CIRCA_OK;
}
