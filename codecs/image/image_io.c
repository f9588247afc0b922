/* image_io.c: reading PNG (through libpng) and binary PNM into a circa_image,
 * and writing them back, keeping gAMA, sRGB, iCCP and text chunks. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "circa/image.h"
#include "image_internal.h"
#include "../common/le_bytes.h"

/* ---- PNG reading --------------------------------------------------------------- */
typedef struct mem_reader {
    const uint8_t *p;
    size_t n, pos;
} mem_reader;

static void read_mem(png_structp png, png_bytep dst, png_size_t len) {
    mem_reader *r = png_get_io_ptr(png);
    if (len > r->n - r->pos) png_error(png, "truncated");
    memcpy(dst, r->p + r->pos, len);
    r->pos += len;
}

/* libpng's warnings are not ours to print. */
static void quiet_warning(png_structp png, png_const_charp msg) {
    (void)png, (void)msg;
}

/* Errors end the read or write through setjmp, silently: the caller turns
 * them into a status. */
static void quiet_error(png_structp png, png_const_charp msg) {
    (void)msg;
    png_longjmp(png, 1);
}

/* Appends a text record: key NUL lang NUL translated NUL text. */
static circa_status add_text(circa_image *img, const png_text *t) {
    const char *type = t->compression == PNG_TEXT_COMPRESSION_NONE   ? "tEXt"
                       : t->compression == PNG_TEXT_COMPRESSION_zTXt ? "zTXt"
                                                                     : "iTXt";
    const char *lang = t->compression > 0 && t->lang ? t->lang : "";
    const char *tkey = t->compression > 0 && t->lang_key ? t->lang_key : "";
    size_t tl = t->compression > 0 ? t->itxt_length : t->text_length;
    if (!t->text) tl = 0;
    size_t kl = strlen(t->key), ll = strlen(lang), al = strlen(tkey);
    size_t n = kl + ll + al + 3 + tl;
    uint8_t *b = malloc(n);
    if (!b) return CIRCA_E_NOMEM;
    memcpy(b, t->key, kl + 1);
    memcpy(b + kl + 1, lang, ll + 1);
    memcpy(b + kl + ll + 2, tkey, al + 1);
    if (tl) memcpy(b + kl + ll + al + 3, t->text, tl);
    circa_status st = circa_image_add_meta(img, type, b, n);
    free(b);
    return st;
}

static circa_status collect_meta(png_structp png, png_infop info, circa_image *img) {
    circa_status st = CIRCA_OK;
    png_fixed_point gamma;
    if (png_get_valid(png, info, PNG_INFO_gAMA) && png_get_gAMA_fixed(png, info, &gamma)) {
        uint8_t b[4];
        circa__put32(b, (uint32_t)gamma);
        st = circa_image_add_meta(img, "gAMA", b, 4);
    }
    int intent;
    if (st == CIRCA_OK && png_get_valid(png, info, PNG_INFO_sRGB) && png_get_sRGB(png, info, &intent)) {
        uint8_t b = (uint8_t)intent;
        st = circa_image_add_meta(img, "sRGB", &b, 1);
    }
    png_charp name;
    int ctype;
    png_bytep prof;
    png_uint_32 plen;
    if (st == CIRCA_OK && png_get_valid(png, info, PNG_INFO_iCCP) &&
        png_get_iCCP(png, info, &name, &ctype, &prof, &plen)) {
        size_t nl = strlen(name);
        uint8_t *b = malloc(nl + 1 + plen);
        if (!b) return CIRCA_E_NOMEM;
        memcpy(b, name, nl + 1);
        memcpy(b + nl + 1, prof, plen);
        st = circa_image_add_meta(img, "iCCP", b, nl + 1 + plen);
        free(b);
    }
    png_textp text;
    int nt = 0;
    png_get_text(png, info, &text, &nt);
    for (int i = 0; i < nt && st == CIRCA_OK; i++) st = add_text(img, &text[i]);
    return st;
}

/* Everything the setjmp-protected part allocates, freed in one place. */
typedef struct png_read_job {
    png_structp png;
    png_infop info;
    png_bytep *rows;
    png_bytep data;
    circa_image *img;
    circa_status st;
} png_read_job;

/* Sets up transforms and reads the pixels; may longjmp (job->st then stays
 * CIRCA_E_FORMAT unless set otherwise). */
static void png_read_body(png_read_job *j, mem_reader *r) {
    png_set_read_fn(j->png, r, read_mem);
    png_set_user_limits(j->png, CIRCA_IMAGE_MAX_SIDE, CIRCA_IMAGE_MAX_SIDE);
    png_read_info(j->png, j->info);
    png_uint_32 w, h;
    int depth, ctype, il;
    png_get_IHDR(j->png, j->info, &w, &h, &depth, &ctype, &il, NULL, NULL);
    if (ctype == PNG_COLOR_TYPE_PALETTE || png_get_valid(j->png, j->info, PNG_INFO_tRNS)) {
        png_set_expand(j->png); /* palette -> RGB, tRNS -> alpha, grey < 8 -> 8 bits */
    } else if (depth < 8) {
        png_set_packing(j->png); /* one sample per byte, values unscaled */
    }
    png_set_interlace_handling(j->png);
    png_read_update_info(j->png, j->info);
    unsigned ch = png_get_channels(j->png, j->info);
    unsigned d = png_get_bit_depth(j->png, j->info);
    j->st = circa_image__check_shape(w, h, ch, d);
    if (j->st != CIRCA_OK) return;
    j->st = circa_image_create(w, h, ch, d, &j->img);
    if (j->st != CIRCA_OK) return;
    j->st = CIRCA_E_FORMAT;
    size_t rowbytes = png_get_rowbytes(j->png, j->info);
    j->data = malloc(rowbytes * h);
    j->rows = malloc(sizeof(png_bytep) * h);
    if (!j->data || !j->rows) {
        j->st = CIRCA_E_NOMEM;
        return;
    }
    for (png_uint_32 y = 0; y < h; y++) j->rows[y] = j->data + rowbytes * y;
    png_read_image(j->png, j->rows);
    png_read_end(j->png, j->info); /* text chunks after the image data */
    for (size_t y = 0, i = 0; y < h; y++)
        for (size_t k = 0; k < (size_t)w * ch; k++, i++)
            j->img->samples[i] = d == 16 ? (uint16_t)(j->rows[y][2 * k] << 8 | j->rows[y][2 * k + 1])
                                         : j->rows[y][k];
    j->st = collect_meta(j->png, j->info, j->img);
}

static circa_status load_png(const uint8_t *p, size_t n, circa_image **out) {
    png_read_job j;
    memset(&j, 0, sizeof j);
    j.st = CIRCA_E_FORMAT;
    mem_reader r = {p, n, 0};
    j.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, quiet_error, quiet_warning);
    if (j.png) j.info = png_create_info_struct(j.png);
    if (!j.png || !j.info) {
        png_destroy_read_struct(&j.png, NULL, NULL);
        return CIRCA_E_NOMEM;
    }
    png_set_error_fn(j.png, NULL, quiet_error, quiet_warning);
    if (setjmp(png_jmpbuf(j.png)) == 0) png_read_body(&j, &r);
    png_destroy_read_struct(&j.png, &j.info, NULL);
    free(j.rows);
    free(j.data);
    if (j.st != CIRCA_OK) {
        circa_image_free(j.img);
        return j.st;
    }
    *out = j.img;
    return CIRCA_OK;
}

/* ---- PNM reading ------------------------------------------------------------------ */
/* Reads one header number after whitespace and comments; -1 if none. */
static long pnm_number(const uint8_t *p, size_t n, size_t *pos) {
    for (;;) {
        while (*pos < n && (p[*pos] == ' ' || p[*pos] == '\t' || p[*pos] == '\n' || p[*pos] == '\r'))
            (*pos)++;
        if (*pos < n && p[*pos] == '#') {
            while (*pos < n && p[*pos] != '\n') (*pos)++;
            continue;
        }
        break;
    }
    long v = 0;
    int digits = 0;
    while (*pos < n && p[*pos] >= '0' && p[*pos] <= '9' && digits < 10) {
        v = v * 10 + (p[*pos] - '0');
        (*pos)++, digits++;
    }
    return digits ? v : -1;
}

static circa_status load_pnm(const uint8_t *p, size_t n, circa_image **out) {
    size_t pos = 2;
    unsigned ch = p[1] == '5' ? 1 : 3;
    long w = pnm_number(p, n, &pos), h = pnm_number(p, n, &pos), maxv = pnm_number(p, n, &pos);
    if (w <= 0 || h <= 0 || maxv <= 0 || maxv > 65535 || pos >= n) return CIRCA_E_FORMAT;
    if (w > (long)CIRCA_IMAGE_MAX_SIDE || h > (long)CIRCA_IMAGE_MAX_SIDE) return CIRCA_E_LIMIT;
    pos++; /* the single whitespace before the raster */
    unsigned bytes = maxv > 255 ? 2 : 1;
    circa_image *img;
    circa_status st = circa_image_create((uint32_t)w, (uint32_t)h, ch, bytes * 8, &img);
    if (st != CIRCA_OK) return st;
    size_t count = (size_t)w * (size_t)h * ch;
    if ((n - pos) / bytes < count) {
        circa_image_free(img);
        return CIRCA_E_FORMAT;
    }
    for (size_t i = 0; i < count; i++) {
        uint16_t v = bytes == 2 ? (uint16_t)(p[pos + 2 * i] << 8 | p[pos + 2 * i + 1]) : p[pos + i];
        if (v > maxv) {
            circa_image_free(img);
            return CIRCA_E_FORMAT;
        }
        img->samples[i] = v;
    }
    uint8_t m[2] = {(uint8_t)maxv, (uint8_t)(maxv >> 8)};
    st = circa_image_add_meta(img, "PNMm", m, 2);
    if (st != CIRCA_OK) {
        circa_image_free(img);
        return st;
    }
    *out = img;
    return CIRCA_OK;
}

circa_status circa_image_load(const void *buf, size_t size, circa_image **out) {
    const uint8_t *p = buf;
    *out = NULL;
    if (size >= 8 && png_sig_cmp(p, 0, 8) == 0) return load_png(p, size, out);
    if (size >= 3 && p[0] == 'P' && (p[1] == '5' || p[1] == '6')) return load_pnm(p, size, out);
    return CIRCA_E_FORMAT;
}

/* ---- PNG writing -------------------------------------------------------------------- */
typedef struct mem_writer {
    uint8_t *p;
    size_t n, cap;
    int failed;
} mem_writer;

static void write_mem(png_structp png, png_bytep src, png_size_t len) {
    mem_writer *w = png_get_io_ptr(png);
    if (w->failed) return;
    if (len > w->cap - w->n) {
        size_t cap = w->cap ? w->cap : 65536;
        while (cap - w->n < len) cap *= 2;
        uint8_t *q = realloc(w->p, cap);
        if (!q) {
            w->failed = 1;
            png_error(png, "out of memory");
        }
        w->p = q, w->cap = cap;
    }
    memcpy(w->p + w->n, src, len);
    w->n += len;
}

static void flush_mem(png_structp png) {
    (void)png;
}

/* Text records become png_text entries pointing into the meta bytes. */
static void set_text(png_structp png, png_infop info, const char *type, const uint8_t *d, uint32_t len) {
    const uint8_t *end = d + len;
    const uint8_t *key = d, *lang = memchr(key, 0, len);
    if (!lang) return;
    lang++;
    const uint8_t *tkey = lang < end ? memchr(lang, 0, (size_t)(end - lang)) : NULL;
    if (!tkey) return;
    tkey++;
    const uint8_t *text = tkey < end ? memchr(tkey, 0, (size_t)(end - tkey)) : NULL;
    if (!text) return;
    text++;
    png_text t;
    memset(&t, 0, sizeof t);
    int itxt = memcmp(type, "iTXt", 4) == 0;
    t.compression = memcmp(type, "tEXt", 4) == 0 ? PNG_TEXT_COMPRESSION_NONE
                    : itxt                       ? PNG_ITXT_COMPRESSION_NONE
                                                 : PNG_TEXT_COMPRESSION_zTXt;
    t.key = (png_charp)key;
    t.lang = itxt ? (png_charp)lang : NULL;
    t.lang_key = itxt ? (png_charp)tkey : NULL;
    /* libpng wants a NUL-terminated text: copy it. */
    size_t tl = (size_t)(end - text);
    char *copy = malloc(tl + 1);
    if (!copy) return;
    memcpy(copy, text, tl);
    copy[tl] = 0;
    t.text = copy;
    png_set_text(png, info, &t, 1);
    free(copy);
}

static void set_meta(png_structp png, png_infop info, const circa_image *img) {
    size_t pos = 0;
    while (pos + 8 <= img->meta_size) {
        const char *type = (const char *)img->meta + pos;
        uint32_t len = circa__get32(img->meta + pos + 4);
        const uint8_t *d = img->meta + pos + 8;
        if (len > img->meta_size - pos - 8) break;
        if (memcmp(type, "gAMA", 4) == 0 && len == 4)
            png_set_gAMA_fixed(png, info, (png_fixed_point)circa__get32(d));
        else if (memcmp(type, "sRGB", 4) == 0 && len == 1)
            png_set_sRGB(png, info, d[0]);
        else if (memcmp(type, "iCCP", 4) == 0) {
            const uint8_t *z = memchr(d, 0, len);
            if (z && z + 1 < d + len)
                png_set_iCCP(png, info, (png_const_charp)d, 0, z + 1, (png_uint_32)(d + len - z - 1));
        } else if (!memcmp(type, "tEXt", 4) || !memcmp(type, "zTXt", 4) || !memcmp(type, "iTXt", 4))
            set_text(png, info, type, d, len);
        pos += 8 + (size_t)len;
    }
}

static void png_write_body(png_structp png, png_infop info, const circa_image *img, mem_writer *w,
                           uint8_t *row) {
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_write_fn(png, w, write_mem, flush_mem);
    png_set_compression_level(png, 6);
    png_set_IHDR(png, info, img->width, img->height, (int)img->depth, types[img->channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    set_meta(png, info, img);
    png_write_info(png, info);
    if (img->depth < 8) png_set_packing(png);
    size_t per_row = (size_t)img->width * img->channels;
    for (uint32_t y = 0; y < img->height; y++) {
        const uint16_t *s = img->samples + per_row * y;
        for (size_t k = 0; k < per_row; k++) {
            if (img->depth == 16) {
                row[2 * k] = (uint8_t)(s[k] >> 8);
                row[2 * k + 1] = (uint8_t)s[k];
            } else {
                row[k] = (uint8_t)s[k];
            }
        }
        png_write_row(png, row);
    }
    png_write_end(png, info);
}

circa_status circa_image_save_png(const circa_image *img, uint8_t **buf, size_t *size) {
    *buf = NULL;
    *size = 0;
    if (!img || !img->samples ||
        circa_image__check_shape(img->width, img->height, img->channels, img->depth) != CIRCA_OK)
        return CIRCA_E_PARAM;
    mem_writer w = {NULL, 0, 0, 0};
    uint8_t *row = malloc((size_t)img->width * img->channels * 2);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, quiet_error, quiet_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!row || !png || !info) {
        png_destroy_write_struct(&png, &info);
        free(row);
        return CIRCA_E_NOMEM;
    }
    png_set_error_fn(png, NULL, quiet_error, quiet_warning);
    circa_status st = CIRCA_E_FORMAT;
    if (setjmp(png_jmpbuf(png)) == 0) {
        png_write_body(png, info, img, &w, row);
        st = CIRCA_OK;
    } else if (w.failed) {
        st = CIRCA_E_NOMEM;
    }
    png_destroy_write_struct(&png, &info);
    free(row);
    if (st != CIRCA_OK) {
        free(w.p);
        return st;
    }
    *buf = w.p;
    *size = w.n;
    return CIRCA_OK;
}

/* ---- PNM writing -------------------------------------------------------------------- */
static uint32_t pnm_maxval(const circa_image *img) {
    size_t pos = 0;
    while (pos + 8 <= img->meta_size) {
        uint32_t len = circa__get32(img->meta + pos + 4);
        if (len > img->meta_size - pos - 8) break;
        if (memcmp(img->meta + pos, "PNMm", 4) == 0 && len == 2)
            return (uint32_t)img->meta[pos + 8] | (uint32_t)img->meta[pos + 9] << 8;
        pos += 8 + (size_t)len;
    }
    return (1u << img->depth) - 1;
}

circa_status circa_image_save_pnm(const circa_image *img, uint8_t **buf, size_t *size) {
    *buf = NULL;
    *size = 0;
    if (!img || (img->channels != 1 && img->channels != 3)) return CIRCA_E_UNSUPPORTED;
    uint32_t maxv = pnm_maxval(img);
    if (maxv == 0 || maxv > 65535) return CIRCA_E_UNSUPPORTED;
    size_t count = (size_t)img->width * img->height * img->channels;
    unsigned bytes = maxv > 255 ? 2 : 1;
    char head[64];
    int hl = snprintf(head, sizeof head, "P%c\n%u %u\n%u\n", img->channels == 1 ? '5' : '6',
                      (unsigned)img->width, (unsigned)img->height, (unsigned)maxv);
    uint8_t *out = malloc((size_t)hl + count * bytes);
    if (!out) return CIRCA_E_NOMEM;
    memcpy(out, head, (size_t)hl);
    uint8_t *q = out + hl;
    for (size_t i = 0; i < count; i++) {
        uint16_t v = img->samples[i];
        if (v > maxv) {
            free(out);
            return CIRCA_E_UNSUPPORTED;
        }
        if (bytes == 2) *q++ = (uint8_t)(v >> 8);
        *q++ = (uint8_t)v;
    }
    *buf = out;
    *size = (size_t)hl + count * bytes;
    return CIRCA_OK;
}
