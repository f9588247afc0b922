/* frame_decompress.c: the streaming frame decoder, a state machine over frame
 * header, block headers, block bodies and the end mark; every field and
 * checksum is validated before its data is used (docs/format.md). */
#include <stdlib.h>
#include <string.h>
#include "circa/codec.h"
#include "frame_format.h"

enum { S_FRAME_HEADER, S_BLOCK_HEADER, S_BLOCK_BODY, S_FLUSH };

struct circa_dctx {
    int stage;
    uint8_t hdr[CIRCA_FRAME_HEADER_MAX]; /* frame or block header being gathered */
    size_t hdr_len;
    circa__frame_header fh;
    circa__block_header bh;
    size_t block_max;  /* raw block limit of the current frame */
    uint8_t *coded;    /* the current block's coded bytes */
    size_t coded_len;
    uint8_t *raw;      /* the current block decoded, being flushed */
    size_t raw_len, raw_pos;
    size_t buf_cap;    /* capacity of coded and raw */
    uint64_t total;
    uint32_t crc;
    uint32_t blocks;
    const circa_record_model *model;
};

circa_status circa_dctx_create(circa_dctx **out) {
    if (!out) return CIRCA_E_PARAM;
    *out = calloc(1, sizeof **out);
    return *out ? CIRCA_OK : CIRCA_E_NOMEM;
}

void circa_dctx_set_model(circa_dctx *d, const circa_record_model *model) {
    if (d) d->model = model;
}

void circa_dctx_free(circa_dctx *d) {
    if (!d) return;
    free(d->coded);
    free(d->raw);
    free(d);
}

/* Copies up to `want` total bytes of header into d->hdr; 1 when complete. */
static int gather(circa_dctx *d, circa_inbuf *in, size_t want) {
    size_t n = want - d->hdr_len, avail = in->size - in->pos;
    if (n > avail) n = avail;
    memcpy(d->hdr + d->hdr_len, (const uint8_t *)in->src + in->pos, n);
    in->pos += n;
    d->hdr_len += n;
    return d->hdr_len == want;
}

static circa_status start_frame(circa_dctx *d) {
    /* A frame made with a record model decodes only with that very model. */
    if ((d->fh.flags & CIRCA_FLAG_MODEL_ID) && (!d->model || d->model->id != d->fh.model_id))
        return CIRCA_E_MODEL;
    d->block_max = (size_t)1 << d->fh.block_log;
    if (d->buf_cap < d->block_max) {
        free(d->coded);
        free(d->raw);
        d->coded = malloc(d->block_max);
        d->raw = malloc(d->block_max);
        d->buf_cap = d->coded && d->raw ? d->block_max : 0;
        if (!d->buf_cap) return CIRCA_E_NOMEM;
    }
    d->total = 0;
    d->crc = 0;
    d->blocks = 0;
    d->stage = S_BLOCK_HEADER;
    return CIRCA_OK;
}

static circa_status read_frame_header(circa_dctx *d, circa_inbuf *in) {
    for (;;) {
        size_t want = d->hdr_len < 8 ? 8 : d->fh.header_size;
        if (!gather(d, in, want)) return CIRCA_OK; /* need more input */
        circa_status st = circa__read_frame_header(d->hdr, d->hdr_len, &d->fh);
        if (st == CIRCA_E_TRUNCATED && d->hdr_len < d->fh.header_size) continue;
        if (st != CIRCA_OK) return st;
        d->hdr_len = 0;
        return start_frame(d);
    }
}

static circa_status end_frame(circa_dctx *d) {
    if (d->bh.total_size != d->total || d->bh.content_crc != d->crc ||
        d->bh.block_count != d->blocks)
        return CIRCA_E_CHECKSUM;
    if ((d->fh.flags & CIRCA_FLAG_CONTENT_SIZE) && d->fh.content_size != d->total)
        return CIRCA_E_FORMAT;
    d->stage = S_FRAME_HEADER;
    return CIRCA_OK;
}

static circa_status read_block_header(circa_dctx *d, circa_inbuf *in) {
    if (!gather(d, in, CIRCA_BLOCK_HEADER_SIZE)) return CIRCA_OK;
    d->hdr_len = 0;
    circa_status st = circa__read_block_header(d->hdr, d->block_max, &d->bh);
    if (st != CIRCA_OK) return st;
    if (d->bh.type == CIRCA_END_MARK) return end_frame(d);
    /* A frame that declares its size may not hold more than that. */
    if ((d->fh.flags & CIRCA_FLAG_CONTENT_SIZE) && d->total + d->bh.raw_size > d->fh.content_size)
        return CIRCA_E_FORMAT;
    d->coded_len = 0;
    d->stage = S_BLOCK_BODY;
    return CIRCA_OK;
}

static circa_status read_block_body(circa_dctx *d, circa_inbuf *in) {
    size_t n = d->bh.coded_size - d->coded_len, avail = in->size - in->pos;
    if (n > avail) n = avail;
    memcpy(d->coded + d->coded_len, (const uint8_t *)in->src + in->pos, n);
    in->pos += n;
    d->coded_len += n;
    if (d->coded_len < d->bh.coded_size) return CIRCA_OK;
    /* Checking the coded bytes first catches every flipped bit, even one
     * in padding that the codec itself would ignore. */
    if (circa__crc32(0, d->coded, d->coded_len) != d->bh.coded_crc) return CIRCA_E_CHECKSUM;
    circa_status st;
    if (d->bh.type == CIRCA_BLOCK_MODEL) {
        /* Only frames that name a model may hold model blocks. */
        if (!(d->fh.flags & CIRCA_FLAG_MODEL_ID) || d->bh.param != 0) return CIRCA_E_FORMAT;
        st = circa_block_decode_records(d->model, d->coded, d->coded_len, d->raw, d->bh.raw_size);
    } else {
        st = circa_block_decode((circa_block_type)d->bh.type, (uint8_t)d->bh.param, d->coded,
                                d->coded_len, d->raw, d->bh.raw_size);
    }
    if (st != CIRCA_OK) return st;
    uint32_t crc = circa__crc32(0, d->raw, d->bh.raw_size);
    if (crc != d->bh.raw_crc) return CIRCA_E_CHECKSUM;
    d->crc = (uint32_t)crc32_combine(d->crc, crc, (z_off_t)d->bh.raw_size);
    d->total += d->bh.raw_size;
    d->blocks++;
    d->raw_len = d->bh.raw_size;
    d->raw_pos = 0;
    d->stage = S_FLUSH;
    return CIRCA_OK;
}

static void flush_raw(circa_dctx *d, circa_outbuf *out) {
    size_t n = d->raw_len - d->raw_pos, room = out->size - out->pos;
    if (n > room) n = room;
    memcpy((uint8_t *)out->dst + out->pos, d->raw + d->raw_pos, n);
    out->pos += n;
    d->raw_pos += n;
    if (d->raw_pos == d->raw_len) d->stage = S_BLOCK_HEADER;
}

circa_status circa_decompress_stream(circa_dctx *d, circa_outbuf *out, circa_inbuf *in,
                                     int *in_frame) {
    if (!d || !out || !in || in->pos > in->size || out->pos > out->size) return CIRCA_E_PARAM;
    circa_status st = CIRCA_OK;
    for (;;) {
        size_t in_before = in->pos, out_before = out->pos;
        int stage_before = d->stage;
        switch (d->stage) {
        case S_FRAME_HEADER: st = read_frame_header(d, in); break;
        case S_BLOCK_HEADER: st = read_block_header(d, in); break;
        case S_BLOCK_BODY: st = read_block_body(d, in); break;
        case S_FLUSH: flush_raw(d, out); break;
        }
        if (st != CIRCA_OK) break;
        if (in->pos == in_before && out->pos == out_before && d->stage == stage_before) break;
    }
    if (in_frame) *in_frame = d->stage != S_FRAME_HEADER || d->hdr_len > 0;
    return st;
}

circa_status circa_decompress(void *dst, size_t dst_cap, size_t *dst_len, const void *src,
                              size_t src_len) {
    if (!dst_len || (!src && src_len)) return CIRCA_E_PARAM;
    circa_dctx *d;
    circa_status st = circa_dctx_create(&d);
    if (st != CIRCA_OK) return st;
    circa_inbuf in = {src, src_len, 0};
    circa_outbuf out = {dst, dst_cap, 0};
    int open = 0;
    st = circa_decompress_stream(d, &out, &in, &open);
    if (st == CIRCA_OK && in.pos < in.size) st = CIRCA_E_DST_SIZE; /* stopped for room */
    if (st == CIRCA_OK && open) st = d->stage == S_FLUSH ? CIRCA_E_DST_SIZE : CIRCA_E_TRUNCATED;
    if (st == CIRCA_OK && src_len == 0) st = CIRCA_E_TRUNCATED; /* no frame at all */
    circa_dctx_free(d);
    *dst_len = out.pos;
    return st;
}

circa_status circa_frame_content_size(const void *src, size_t src_len, uint64_t *size) {
    circa__frame_header h;
    circa_status st = circa__read_frame_header(src, src_len, &h);
    if (st != CIRCA_OK) return st;
    if (!(h.flags & CIRCA_FLAG_CONTENT_SIZE)) return CIRCA_E_UNSUPPORTED;
    *size = h.content_size;
    return CIRCA_OK;
}
