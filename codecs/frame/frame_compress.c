/* frame_compress.c: the streaming frame encoder: buffers input into blocks,
 * codes a batch of blocks on `threads` threads, and writes header, blocks and
 * end mark (docs/format.md). Output does not depend on the thread count. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "circa/codec.h"
#include "frame_format.h"

enum { FRAME_NONE, FRAME_OPEN, FRAME_ENDED };

typedef struct block_job {
    int level;
    const circa_record_model *model;
    const uint8_t *src;
    size_t n;
    uint8_t *dst; /* room for CIRCA_BLOCK_HEADER_SIZE + n */
    size_t len;
    circa_status st;
} block_job;

struct circa_cctx {
    int level;
    unsigned threads;
    unsigned block_log;
    size_t block_size;
    int size_known;
    uint64_t content_size;
    const circa_record_model *model;
    uint64_t record_offset; /* with a model: bytes before the first record */
    size_t record_block;    /* with a model: the largest whole-records block */
    uint8_t *in; /* up to threads * block_size bytes of pending input */
    size_t in_cap, in_len;
    uint8_t *out; /* coded bytes not yet handed to the caller */
    size_t out_cap, out_len, out_pos;
    int state;
    uint64_t total; /* content bytes in this frame so far */
    uint32_t crc;   /* CRC-32 of those bytes */
    uint32_t blocks; /* blocks in this frame so far */
    block_job *jobs;
};

circa_cparams circa_cparams_default(void) {
    circa_cparams p = {CIRCA_LEVEL_DEFAULT, 1, 0, 0, 0, NULL, 0};
    return p;
}

/* Default block size: 1 MiB up to level 5; 4 MiB above, where the context
 * model profits from longer history. */
static unsigned default_block_log(int level) { return level >= 6 ? 22 : 20; }

circa_status circa_cctx_create(const circa_cparams *params, circa_cctx **out) {
    if (!out) return CIRCA_E_PARAM;
    *out = NULL;
    circa_cparams p = params ? *params : circa_cparams_default();
    if (p.level < CIRCA_LEVEL_MIN || p.level > CIRCA_LEVEL_MAX) return CIRCA_E_PARAM;
    if (p.threads == 0) p.threads = 1;
    if (p.threads > CIRCA_THREADS_MAX) return CIRCA_E_PARAM;
    if (p.block_log == 0) p.block_log = default_block_log(p.level);
    if (p.block_log < 16 || p.block_log > CIRCA_BLOCK_LOG_MAX) return CIRCA_E_PARAM;
    if (p.model && (!p.model->width || !p.model->encode || !p.model->decode)) return CIRCA_E_PARAM;
    circa_cctx *c = calloc(1, sizeof *c);
    if (!c) return CIRCA_E_NOMEM;
    c->level = p.level;
    c->threads = p.threads;
    c->block_log = p.block_log;
    c->block_size = (size_t)1 << p.block_log;
    c->size_known = p.content_size_known != 0;
    c->content_size = p.content_size;
    c->model = p.model;
    c->record_offset = p.record_offset;
    if (c->model) {
        size_t records = c->block_size / c->model->width;
        c->record_block = records ? records * c->model->width : c->block_size;
    }
    c->in_cap = c->threads * c->block_size;
    c->out_cap = CIRCA_FRAME_HEADER_MAX + c->threads * (c->block_size + CIRCA_BLOCK_HEADER_SIZE) +
                 CIRCA_BLOCK_HEADER_SIZE;
    c->in = malloc(c->in_cap);
    c->out = malloc(c->out_cap);
    c->jobs = calloc(c->threads, sizeof *c->jobs);
    if (!c->in || !c->out || !c->jobs) {
        circa_cctx_free(c);
        return CIRCA_E_NOMEM;
    }
    *out = c;
    return CIRCA_OK;
}

void circa_cctx_free(circa_cctx *c) {
    if (!c) return;
    free(c->in);
    free(c->out);
    free(c->jobs);
    free(c);
}

static void *run_job(void *arg) {
    block_job *j = arg;
    j->st = circa__encode_block(j->level, j->model, j->src, j->n, j->dst, &j->len);
    return NULL;
}

/* Length of the block that starts at content position pos. Without a model
 * blocks are block_size long. With one, the first block ends where records
 * start, and later blocks end on multiples of record_block from there, so
 * that they hold whole records even after a flush cut one short. */
static size_t block_length_at(const circa_cctx *c, uint64_t pos) {
    if (!c->model) return c->block_size;
    if (pos < c->record_offset) {
        uint64_t left = c->record_offset - pos;
        return left < c->block_size ? (size_t)left : c->block_size;
    }
    return c->record_block - (size_t)((pos - c->record_offset) % c->record_block);
}

/* Codes up to `threads` blocks from the start of the buffered input,
 * appending them to c->out; with `last`, a final short block too. Block i is
 * coded into its own slot, then the slots are packed together, and the
 * input not yet coded moves to the front of the buffer. */
static circa_status encode_buffered(circa_cctx *c, int last) {
    size_t slot = c->block_size + CIRCA_BLOCK_HEADER_SIZE;
    uint8_t *base = c->out + c->out_len;
    size_t nblocks = 0, off = 0;
    while (nblocks < c->threads && off < c->in_len) {
        size_t n = block_length_at(c, c->total + off);
        if (off + n > c->in_len) {
            if (!last) break;
            n = c->in_len - off;
        }
        block_job *j = &c->jobs[nblocks++];
        j->level = c->level;
        j->model = c->model;
        j->src = c->in + off;
        j->n = n;
        j->dst = base + (nblocks - 1) * slot;
        j->st = CIRCA_OK;
        off += n;
    }
    pthread_t tid[CIRCA_THREADS_MAX];
    size_t started = 1;
    for (; started < nblocks; started++)
        if (pthread_create(&tid[started], NULL, run_job, &c->jobs[started]) != 0) break;
    run_job(&c->jobs[0]);
    for (size_t i = 1; i < nblocks; i++) {
        if (i < started)
            pthread_join(tid[i], NULL);
        else
            run_job(&c->jobs[i]); /* thread creation failed: code it here */
    }
    for (size_t i = 0; i < nblocks; i++) {
        block_job *j = &c->jobs[i];
        if (j->st != CIRCA_OK) return j->st;
        memmove(c->out + c->out_len, j->dst, j->len);
        c->out_len += j->len;
        uint32_t block_crc = circa__get32(j->dst + 12);
        c->crc = (uint32_t)crc32_combine(c->crc, block_crc, (z_off_t)j->n);
        c->total += j->n;
        c->blocks++;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return CIRCA_OK;
}

static void write_end_mark(circa_cctx *c) {
    circa__block_header h = {CIRCA_END_MARK, 0, 0, 0, 0, 0, c->total, c->crc, c->blocks};
    circa__write_block_header(c->out + c->out_len, &h);
    c->out_len += CIRCA_BLOCK_HEADER_SIZE;
}

static void drain(circa_cctx *c, circa_outbuf *out) {
    size_t n = c->out_len - c->out_pos;
    size_t room = out->size - out->pos;
    if (n > room) n = room;
    if (n) memcpy((uint8_t *)out->dst + out->pos, c->out + c->out_pos, n);
    out->pos += n;
    c->out_pos += n;
    if (c->out_pos == c->out_len) c->out_pos = c->out_len = 0;
}

static void open_frame(circa_cctx *c) {
    circa__frame_header h = {0, c->block_log, c->content_size, 0, 0};
    if (c->size_known) h.flags |= CIRCA_FLAG_CONTENT_SIZE;
    if (c->model) {
        h.flags |= CIRCA_FLAG_MODEL_ID;
        h.model_id = c->model->id;
    }
    c->out_len += circa__write_frame_header(c->out + c->out_len, &h);
    c->state = FRAME_OPEN;
    c->total = 0;
    c->crc = 0;
    c->blocks = 0;
}

circa_status circa_compress_stream(circa_cctx *c, circa_outbuf *out, circa_inbuf *in,
                                   circa_end end, size_t *remaining) {
    if (!c || !out || !in || in->pos > in->size || out->pos > out->size || end > CIRCA_END)
        return CIRCA_E_PARAM;
    circa_status st = CIRCA_OK;
    drain(c, out);
    while (c->out_len == 0) {
        size_t avail = in->size - in->pos;
        if (c->state == FRAME_ENDED) {
            if (avail == 0) break;
            c->state = FRAME_NONE; /* more input after a frame: a new frame */
            c->size_known = 0;
        }
        if (c->state == FRAME_NONE) {
            if (avail == 0 && end != CIRCA_END) break;
            open_frame(c);
        }
        size_t take = c->in_cap - c->in_len;
        if (take > avail) take = avail;
        if (c->size_known && c->total + c->in_len + take > c->content_size) return CIRCA_E_PARAM;
        if (take) memcpy(c->in + c->in_len, (const uint8_t *)in->src + in->pos, take);
        in->pos += take;
        c->in_len += take;
        int full = c->in_len == c->in_cap;
        int last = in->pos == in->size && end != CIRCA_CONTINUE;
        if ((full || last) && c->in_len > 0 && (st = encode_buffered(c, last)) != CIRCA_OK)
            return st;
        if (last && c->in_len == 0 && end == CIRCA_END) {
            if (c->size_known && c->total != c->content_size) return CIRCA_E_PARAM;
            write_end_mark(c);
            c->state = FRAME_ENDED;
        }
        drain(c, out);
        /* Stop when the input is used up and nothing more is due now. */
        if (in->pos == in->size && !full && !(last && c->in_len > 0)) break;
    }
    if (remaining) {
        size_t due = c->out_len - c->out_pos;
        if (end == CIRCA_FLUSH) due += c->in_len;
        if (end == CIRCA_END && c->state != FRAME_ENDED) due += c->in_len ? c->in_len : 1;
        *remaining = due;
    }
    return st;
}

size_t circa_compress_bound(size_t n) {
    /* Blocks are at least 64 KiB and never grow by more than their header. */
    return CIRCA_FRAME_HEADER_MAX + n + (n / 65536 + 1) * CIRCA_BLOCK_HEADER_SIZE +
           CIRCA_BLOCK_HEADER_SIZE;
}

circa_status circa_compress(void *dst, size_t dst_cap, size_t *dst_len, const void *src,
                            size_t src_len, int level) {
    if (!dst_len || (!src && src_len)) return CIRCA_E_PARAM;
    circa_cparams p = circa_cparams_default();
    p.level = level;
    p.content_size_known = 1;
    p.content_size = src_len;
    circa_cctx *c;
    circa_status st = circa_cctx_create(&p, &c);
    if (st != CIRCA_OK) return st;
    circa_inbuf in = {src, src_len, 0};
    circa_outbuf out = {dst, dst_cap, 0};
    size_t left = 0;
    do {
        st = circa_compress_stream(c, &out, &in, CIRCA_END, &left);
    } while (st == CIRCA_OK && left && out.pos < out.size);
    circa_cctx_free(c);
    if (st == CIRCA_OK && left) st = CIRCA_E_DST_SIZE;
    *dst_len = out.pos;
    return st;
}
