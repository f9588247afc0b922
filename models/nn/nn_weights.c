/* nn_weights.c: the versioned, checksummed weight file of named float32 /
 * int32 records (format in docs/nn.md). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "circa/nn.h"
#include "../../codecs/common/le_bytes.h"

#define W_MAGIC "CIRCA-NN"
#define W_HEADER 24
#define W_TRAILER 4
#define W_MAX_RECORDS 65536u
#define W_MAX_ELEMS ((uint64_t)1 << 28)
#define W_MAX_FILE ((uint64_t)1 << 32)

struct circa_nn_weights {
    size_t n;
    circa_nn_record *recs;
    void *blk; /* names and data of all records */
};


/* Printable ASCII without spaces, 1..NAME_MAX-1 bytes: names appear in
 * diagnostics and docs, so keep them plain. */
static int name_ok(const char *s, size_t len) {
    if (len == 0 || len >= CIRCA_NN_NAME_MAX) return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x21 || s[i] > 0x7e) return 0;
    return 1;
}

/* Elements of a shape, or 0 when the shape is invalid or too large. */
static uint64_t shape_elems(int ndim, const size_t *shape) {
    if (ndim < 1 || ndim > CIRCA_NN_MAX_DIMS) return 0;
    uint64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0 || shape[d] > W_MAX_ELEMS) return 0;
        n *= shape[d];
        if (n > W_MAX_ELEMS) return 0;
    }
    return n;
}

static size_t record_bytes(const circa_nn_record *r) {
    return 4 + strlen(r->name) + 4 * (size_t)r->ndim + 4 * (size_t)shape_elems(r->ndim, r->shape);
}

circa_status circa_nn_weights_encode(const circa_nn_record *recs, size_t n, uint8_t **buf,
                                     size_t *len) {
    if (!buf || !len || (n && !recs) || n > W_MAX_RECORDS) return CIRCA_E_PARAM;
    *buf = NULL;
    *len = 0;
    uint64_t total = W_HEADER + W_TRAILER;
    for (size_t i = 0; i < n; i++) {
        const circa_nn_record *r = &recs[i];
        if (!r->name || !name_ok(r->name, strlen(r->name)) || !shape_elems(r->ndim, r->shape) ||
            (r->dtype != CIRCA_NN_F32 && r->dtype != CIRCA_NN_I32) || !r->data)
            return CIRCA_E_PARAM;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(recs[j].name, r->name)) return CIRCA_E_PARAM;
        total += record_bytes(r);
    }
    if (total >= W_MAX_FILE) return CIRCA_E_LIMIT;
    uint8_t *b = malloc((size_t)total), *p = b;
    if (!b) return CIRCA_E_NOMEM;
    memcpy(p, W_MAGIC, 8);
    circa__put32(p + 8, CIRCA_NN_WEIGHTS_VERSION);
    circa__put32(p + 12, (uint32_t)n);
    circa__put32(p + 16, (uint32_t)total);
    circa__put32(p + 20, (uint32_t)(total >> 32));
    p += W_HEADER;
    for (size_t i = 0; i < n; i++) {
        const circa_nn_record *r = &recs[i];
        size_t nl = strlen(r->name);
        p[0] = (uint8_t)nl;
        p[1] = 0;
        p[2] = (uint8_t)r->dtype;
        p[3] = (uint8_t)r->ndim;
        memcpy(p + 4, r->name, nl);
        p += 4 + nl;
        for (int d = 0; d < r->ndim; d++, p += 4) circa__put32(p, (uint32_t)r->shape[d]);
        uint64_t ne = shape_elems(r->ndim, r->shape);
        const uint8_t *src = r->data;
        for (uint64_t e = 0; e < ne; e++, p += 4) { /* host words to little-endian */
            uint32_t v;
            memcpy(&v, src + 4 * e, 4);
            circa__put32(p, v);
        }
    }
    circa__put32(p, (uint32_t)crc32(0L, b, (uInt)(p - b)));
    *buf = b;
    *len = (size_t)total;
    return CIRCA_OK;
}

circa_status circa_nn_weights_write(const char *path, const circa_nn_record *recs, size_t n) {
    if (!path) return CIRCA_E_PARAM;
    uint8_t *buf;
    size_t len;
    circa_status st = circa_nn_weights_encode(recs, n, &buf, &len);
    if (st != CIRCA_OK) return st;
    FILE *f = fopen(path, "wb");
    if (!f) st = CIRCA_E_IO;
    else {
        if (fwrite(buf, 1, len, f) != len) st = CIRCA_E_IO;
        if (fclose(f) != 0) st = CIRCA_E_IO;
    }
    free(buf);
    return st;
}

void circa_nn_weights_free(circa_nn_weights *w) {
    if (!w) return;
    free(w->recs);
    free(w->blk);
    free(w);
}

/* Walks the records of a checksummed body: first pass (out NULL) measures
 * the storage needed, second fills it. CIRCA_E_FORMAT on any bad field. */
static circa_status walk(const uint8_t *b, size_t body_end, uint32_t n, circa_nn_record *out,
                         uint8_t *store, size_t *need) {
    size_t pos = W_HEADER, used = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (body_end - pos < 4) return CIRCA_E_FORMAT;
        size_t nl = b[pos];
        int dtype = b[pos + 2], ndim = b[pos + 3];
        if (b[pos + 1] != 0 || (dtype != CIRCA_NN_F32 && dtype != CIRCA_NN_I32) || ndim < 1 ||
            ndim > CIRCA_NN_MAX_DIMS)
            return CIRCA_E_FORMAT;
        pos += 4;
        if (body_end - pos < nl + 4 * (size_t)ndim) return CIRCA_E_FORMAT;
        if (!name_ok((const char *)b + pos, nl)) return CIRCA_E_FORMAT;
        size_t shape[CIRCA_NN_MAX_DIMS] = {0};
        for (int d = 0; d < ndim; d++) shape[d] = circa__get32(b + pos + nl + 4 * (size_t)d);
        uint64_t ne = shape_elems(ndim, shape);
        if (!ne) return CIRCA_E_FORMAT;
        size_t hdr = nl + 4 * (size_t)ndim;
        if ((uint64_t)(body_end - pos - hdr) < 4 * ne) return CIRCA_E_FORMAT;
        /* Storage: 4-aligned data first, then the NUL-terminated name. */
        size_t data_at = used, name_at = used + 4 * (size_t)ne;
        used = (name_at + nl + 1 + 3) & ~(size_t)3;
        if (out) {
            circa_nn_record *r = &out[i];
            char *name = (char *)store + name_at;
            memcpy(name, b + pos, nl);
            name[nl] = 0;
            for (uint32_t j = 0; j < i; j++)
                if (!strcmp(out[j].name, name)) return CIRCA_E_FORMAT;
            uint8_t *dst = store + data_at;
            const uint8_t *src = b + pos + hdr;
            for (uint64_t e = 0; e < ne; e++) {
                uint32_t v = circa__get32(src + 4 * e);
                memcpy(dst + 4 * e, &v, 4);
            }
            r->name = name;
            r->dtype = (circa_nn_dtype)dtype;
            r->ndim = ndim;
            memcpy(r->shape, shape, sizeof shape);
            r->data = dst;
        }
        pos += hdr + 4 * (size_t)ne;
    }
    if (pos != body_end) return CIRCA_E_FORMAT; /* bytes no record accounts for */
    *need = used;
    return CIRCA_OK;
}

circa_status circa_nn_weights_parse(const void *buf, size_t len, circa_nn_weights **out) {
    if (!out) return CIRCA_E_PARAM;
    *out = NULL;
    if (!buf) return CIRCA_E_PARAM;
    const uint8_t *b = buf;
    if (len < 8 || memcmp(b, W_MAGIC, 8) != 0) return len < 8 ? CIRCA_E_TRUNCATED : CIRCA_E_FORMAT;
    if (len < W_HEADER + W_TRAILER) return CIRCA_E_TRUNCATED;
    uint32_t version = circa__get32(b + 8), n = circa__get32(b + 12);
    uint64_t total = circa__get64(b + 16);
    if (version != CIRCA_NN_WEIGHTS_VERSION) return CIRCA_E_VERSION;
    if (total < W_HEADER + W_TRAILER) return CIRCA_E_FORMAT;
    if (total >= W_MAX_FILE || n > W_MAX_RECORDS) return CIRCA_E_LIMIT;
    if (len < total) return CIRCA_E_TRUNCATED;
    if (len > total) return CIRCA_E_FORMAT;
    size_t body_end = (size_t)total - W_TRAILER;
    if ((uint32_t)crc32(0L, b, (uInt)body_end) != circa__get32(b + body_end)) return CIRCA_E_CHECKSUM;
    size_t need;
    circa_status st = walk(b, body_end, n, NULL, NULL, &need);
    if (st != CIRCA_OK) return st;
    circa_nn_weights *w = calloc(1, sizeof *w);
    if (!w) return CIRCA_E_NOMEM;
    w->n = n;
    w->recs = calloc(n ? n : 1, sizeof *w->recs);
    w->blk = malloc(need ? need : 1);
    if (!w->recs || !w->blk) {
        circa_nn_weights_free(w);
        return CIRCA_E_NOMEM;
    }
    st = walk(b, body_end, n, w->recs, w->blk, &need);
    if (st != CIRCA_OK) {
        circa_nn_weights_free(w);
        return st;
    }
    *out = w;
    return CIRCA_OK;
}

circa_status circa_nn_weights_load(const char *path, circa_nn_weights **out) {
    if (!out) return CIRCA_E_PARAM;
    *out = NULL;
    if (!path) return CIRCA_E_PARAM;
    FILE *f = fopen(path, "rb");
    if (!f) return CIRCA_E_IO;
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    circa_status st = buf ? CIRCA_OK : CIRCA_E_NOMEM;
    while (st == CIRCA_OK) {
        if (len == cap) {
            if (cap >= W_MAX_FILE) {
                st = CIRCA_E_LIMIT;
                break;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                st = CIRCA_E_NOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) st = CIRCA_E_IO;
            break;
        }
    }
    fclose(f);
    if (st == CIRCA_OK) st = circa_nn_weights_parse(buf, len, out);
    free(buf);
    return st;
}

size_t circa_nn_weights_count(const circa_nn_weights *w) { return w ? w->n : 0; }

const circa_nn_record *circa_nn_weights_record(const circa_nn_weights *w, size_t i) {
    return w && i < w->n ? &w->recs[i] : NULL;
}

const circa_nn_record *circa_nn_weights_find(const circa_nn_weights *w, const char *name) {
    if (!w || !name) return NULL;
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->recs[i].name, name)) return &w->recs[i];
    return NULL;
}

circa_status circa_nn_weights_get_param(const circa_nn_weights *w, circa_nn_param *p) {
    if (!w || !p || !p->w) return CIRCA_E_PARAM;
    const circa_nn_record *r = circa_nn_weights_find(w, p->name);
    if (!r) return CIRCA_E_MODEL;
    if (r->dtype != CIRCA_NN_F32 || r->ndim != p->ndim) return CIRCA_E_FORMAT;
    for (int d = 0; d < p->ndim; d++)
        if (r->shape[d] != p->shape[d]) return CIRCA_E_FORMAT;
    memcpy(p->w, r->data, p->size * sizeof(float));
    return CIRCA_OK;
}
