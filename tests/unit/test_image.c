/* test_image.c: the lossless image codec: pixel-exact round trips for every
 * PNG colour type and bit depth (PNGs written here with libpng), PGM/PPM,
 * chunks kept, Kodak images, the pixel model's probabilistic circuit
 * (against brute-force conditionals), and rejection of truncated,
 * corrupted, other-version and absurd streams and images. CIRCA_TEST_QUICK=1 shrinks the Kodak part. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "circa/image.h"
#include "codecs/image/image_internal.h"
#include "models/pc/pc_internal.h"

static int quick(void) {
    const char *q = getenv("CIRCA_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}

/* A smooth pattern plus noise, so prediction has something to find. */
static uint16_t sample_at(uint32_t x, uint32_t y, unsigned c, unsigned depth) {
    uint32_t maxv = (1u << depth) - 1;
    uint32_t v = (x * 7 + y * 3 + c * 50) * (maxv / 255 + 1) + (rnd() % 9);
    return (uint16_t)(v % (maxv + 1));
}

/* A small ICC profile libpng accepts: a 128-byte header (display class,
 * RGB, XYZ, D50 illuminant), a white point tag and a tag of noise (libpng
 * 1.6 wrongly calls an iCCP chunk under 92 bytes "too short", so the
 * profile must not compress too well). */
#define ICC_LEN 300
static const uint8_t *icc_profile(void) {
    static uint8_t p[ICC_LEN];
    static const uint8_t d50[12] = {0, 0, 0xF6, 0xD6, 0, 1, 0, 0, 0, 0, 0xD3, 0x2D};
    memset(p, 0, sizeof p);
    p[2] = ICC_LEN >> 8, p[3] = ICC_LEN & 255;
    p[8] = 2, p[9] = 0x10;
    memcpy(p + 12, "mntrRGB XYZ ", 12);
    memcpy(p + 36, "acsp", 4);
    memcpy(p + 68, d50, 12);
    p[131] = 2;
    memcpy(p + 132, "wtpt", 4); /* at 156, 20 bytes */
    p[139] = 156, p[143] = 20;
    memcpy(p + 144, "zzzz", 4); /* at 176, 124 bytes */
    p[151] = 176, p[155] = 124;
    memcpy(p + 156, "XYZ ", 4);
    memcpy(p + 164, d50, 12);
    uint32_t h = 12345;
    for (int i = 176; i < ICC_LEN; i++) p[i] = (uint8_t)((h = h * 1103515245u + 12345u) >> 24);
    return p;
}

typedef struct png_spec {
    int color_type, depth;
    uint32_t w, h;
    int with_chunks;
} png_spec;

/* Writes a PNG with libpng into memory; returns the bytes (malloc'd) and
 * fills expect with the samples a reader should see (palette expanded). */
static uint8_t *make_png(const png_spec *s, size_t *len, uint16_t **expect, unsigned *channels) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    cr_assert(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    cr_assert(png && info);
    cr_assert(setjmp(png_jmpbuf(png)) == 0);
    png_init_io(png, f);
    png_set_IHDR(png, info, s->w, s->h, s->depth, s->color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_color pal[16];
    for (int i = 0; i < 16; i++)
        pal[i] = (png_color){(png_byte)(i * 16), (png_byte)(255 - i * 9), (png_byte)(i * i)};
    int palette = s->color_type == PNG_COLOR_TYPE_PALETTE;
    if (palette) png_set_PLTE(png, info, pal, 16);
    if (s->with_chunks) {
        png_set_gAMA_fixed(png, info, 45455);
        png_set_iCCP(png, info, "test profile", 0, icc_profile(), ICC_LEN);
        png_text t[3];
        memset(t, 0, sizeof t);
        t[0].compression = PNG_TEXT_COMPRESSION_NONE, t[0].key = "Title", t[0].text = "a test";
        t[1].compression = PNG_TEXT_COMPRESSION_zTXt, t[1].key = "Comment";
        t[1].text = "zipped words words words";
        t[2].compression = PNG_ITXT_COMPRESSION_NONE, t[2].key = "Author", t[2].text = "\xc3\xa9t\xc3\xa9";
        t[2].lang = "fr", t[2].lang_key = "Auteur";
        png_set_text(png, info, t, 3);
    }
    png_write_info(png, info);
    *channels = palette ? 3 : (unsigned)png_get_channels(png, info);
    unsigned pch = palette ? 1 : *channels;
    size_t per_row = (size_t)s->w * pch;
    *expect = malloc((size_t)s->w * s->h * *channels * sizeof(uint16_t));
    uint8_t *row = calloc(per_row * 2 + 8, 1);
    for (uint32_t y = 0; y < s->h; y++) {
        memset(row, 0, per_row * 2 + 8);
        for (uint32_t x = 0; x < s->w; x++)
            for (unsigned c = 0; c < pch; c++) {
                uint16_t v = palette ? (uint16_t)(sample_at(x, y, 0, (unsigned)s->depth) & 15)
                                     : sample_at(x, y, c, (unsigned)s->depth);
                size_t k = (size_t)x * pch + c;
                if (s->depth == 16) {
                    row[2 * k] = (uint8_t)(v >> 8), row[2 * k + 1] = (uint8_t)v;
                } else if (s->depth == 8) {
                    row[k] = (uint8_t)v;
                } else {
                    unsigned per = 8 / (unsigned)s->depth;
                    row[k / per] |= (uint8_t)(v << (8 - s->depth * (int)(k % per + 1)));
                }
                uint16_t *e = *expect + ((size_t)y * s->w + x) * *channels;
                if (palette) {
                    e[0] = pal[v].red, e[1] = pal[v].green, e[2] = pal[v].blue;
                } else {
                    e[c] = v;
                }
            }
        png_write_row(png, row);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    fclose(f);
    *len = n;
    return (uint8_t *)buf;
}

/* encode -> decode must give the same samples and fields back. */
static circa_image *round_trip(const circa_image *img, size_t *stream_len) {
    uint8_t *s;
    size_t n;
    cr_assert_eq(circa_image_encode(img, &s, &n), CIRCA_OK);
    circa_image *back;
    cr_assert_eq(circa_image_decode(s, n, &back), CIRCA_OK);
    cr_assert_eq(back->width, img->width);
    cr_assert_eq(back->height, img->height);
    cr_assert_eq(back->channels, img->channels);
    cr_assert_eq(back->depth, img->depth);
    size_t count = (size_t)img->width * img->height * img->channels;
    cr_assert(memcmp(back->samples, img->samples, count * 2) == 0);
    cr_assert_eq(back->meta_size, img->meta_size);
    cr_assert(img->meta_size == 0 || memcmp(back->meta, img->meta, img->meta_size) == 0);
    if (stream_len) *stream_len = n;
    free(s);
    return back;
}

static void check_png(int color_type, int depth, uint32_t w, uint32_t h) {
    png_spec s = {color_type, depth, w, h, 0};
    size_t len;
    uint16_t *expect;
    unsigned ch;
    uint8_t *png = make_png(&s, &len, &expect, &ch);
    circa_image *img;
    cr_assert_eq(circa_image_load(png, len, &img), CIRCA_OK, "type %d depth %d", color_type, depth);
    cr_assert_eq(img->channels, ch);
    size_t count = (size_t)w * h * ch;
    cr_assert(memcmp(img->samples, expect, count * 2) == 0, "type %d depth %d samples", color_type, depth);
    circa_image *back = round_trip(img, NULL);
    /* And through a PNG written by circa. */
    uint8_t *out;
    size_t out_n;
    cr_assert_eq(circa_image_save_png(back, &out, &out_n), CIRCA_OK);
    circa_image *again;
    cr_assert_eq(circa_image_load(out, out_n, &again), CIRCA_OK);
    cr_assert_eq(again->depth, img->depth);
    cr_assert(memcmp(again->samples, expect, count * 2) == 0);
    circa_image_free(again);
    circa_image_free(back);
    circa_image_free(img);
    free(out);
    free(expect);
    free(png);
}

Test(image, png_every_type_and_depth) {
    static const int grey_depths[] = {1, 2, 4, 8, 16};
    for (int i = 0; i < 5; i++) check_png(PNG_COLOR_TYPE_GRAY, grey_depths[i], 37, 23);
    for (int d = 8; d <= 16; d += 8) {
        check_png(PNG_COLOR_TYPE_GRAY_ALPHA, d, 31, 17);
        check_png(PNG_COLOR_TYPE_RGB, d, 40, 29);
        check_png(PNG_COLOR_TYPE_RGB_ALPHA, d, 19, 33);
    }
    check_png(PNG_COLOR_TYPE_PALETTE, 4, 25, 21);
    check_png(PNG_COLOR_TYPE_PALETTE, 8, 25, 21);
    check_png(PNG_COLOR_TYPE_RGB, 8, 1, 1);
    check_png(PNG_COLOR_TYPE_GRAY, 8, 1, 300);
    check_png(PNG_COLOR_TYPE_RGB, 16, 300, 1);
}

Test(image, extreme_samples) {
    /* Alternating 0 and max stresses the residual range and the colour transform. */
    for (unsigned depth = 8; depth <= 16; depth += 8) {
        circa_image *img;
        cr_assert_eq(circa_image_create(33, 9, 4, depth, &img), CIRCA_OK);
        size_t count = 33 * 9 * 4;
        for (size_t i = 0; i < count; i++)
            img->samples[i] = (uint16_t)(((i * 7 + i / 5) & 1) ? (1u << depth) - 1 : 0);
        circa_image_free(round_trip(img, NULL));
        for (size_t i = 0; i < count; i++) img->samples[i] = (uint16_t)(rnd() & ((1u << depth) - 1));
        circa_image_free(round_trip(img, NULL));
        circa_image_free(img);
    }
}

static void check_pnm(const char *magic, unsigned ch, unsigned maxval) {
    uint32_t w = 21, h = 13;
    char head[64];
    int hl = snprintf(head, sizeof head, "%s\n# a comment\n%u %u\n%u\n", magic, (unsigned)w, (unsigned)h,
                      maxval);
    unsigned bytes = maxval > 255 ? 2 : 1;
    size_t count = (size_t)w * h * ch, len = (size_t)hl + count * bytes;
    uint8_t *p = malloc(len);
    memcpy(p, head, (size_t)hl);
    for (size_t i = 0; i < count; i++) {
        uint16_t v = (uint16_t)((i * 37 + rnd() % 5) % (maxval + 1));
        if (bytes == 2) {
            p[hl + 2 * i] = (uint8_t)(v >> 8), p[hl + 2 * i + 1] = (uint8_t)v;
        } else {
            p[hl + i] = (uint8_t)v;
        }
    }
    circa_image *img;
    cr_assert_eq(circa_image_load(p, len, &img), CIRCA_OK);
    circa_image *back = round_trip(img, NULL);
    uint8_t *out;
    size_t out_n;
    cr_assert_eq(circa_image_save_pnm(back, &out, &out_n), CIRCA_OK);
    circa_image *again;
    cr_assert_eq(circa_image_load(out, out_n, &again), CIRCA_OK);
    cr_assert(memcmp(again->samples, img->samples, count * 2) == 0);
    circa_image_free(again);
    circa_image_free(back);
    circa_image_free(img);
    free(out);
    free(p);
}

Test(image, pgm_and_ppm) {
    check_pnm("P5", 1, 255);
    check_pnm("P6", 3, 255);
    check_pnm("P5", 1, 1000);
    check_pnm("P6", 3, 65535);
    check_pnm("P6", 3, 100);
}

static const char *text_of(png_textp t, int n, const char *key, int *compression) {
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].key, key)) {
            *compression = t[i].compression;
            return t[i].text;
        }
    return NULL;
}

/* png_read_png under its own setjmp, so no caller's locals can be clobbered. */
static int read_whole_png(png_structp rp, png_infop info, FILE *f) {
    if (setjmp(png_jmpbuf(rp))) return 0;
    png_init_io(rp, f);
    png_read_png(rp, info, PNG_TRANSFORM_IDENTITY, NULL);
    return 1;
}

Test(image, chunks_are_kept) {
    png_spec s = {PNG_COLOR_TYPE_RGB, 8, 16, 16, 1};
    size_t len;
    uint16_t *expect;
    unsigned ch;
    uint8_t *png = make_png(&s, &len, &expect, &ch);
    circa_image *img;
    cr_assert_eq(circa_image_load(png, len, &img), CIRCA_OK);
    circa_image *back = round_trip(img, NULL);
    uint8_t *out;
    size_t out_n;
    cr_assert_eq(circa_image_save_png(back, &out, &out_n), CIRCA_OK);
    /* Read the written PNG with libpng directly. */
    FILE *f = fmemopen(out, out_n, "rb");
    png_structp rp = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(rp);
    cr_assert(read_whole_png(rp, info, f));
    png_fixed_point g;
    cr_assert(png_get_gAMA_fixed(rp, info, &g));
    cr_assert_eq(g, 45455);
    png_charp name;
    int ct;
    png_bytep prof;
    png_uint_32 plen;
    cr_assert(png_get_iCCP(rp, info, &name, &ct, &prof, &plen));
    cr_assert_str_eq(name, "test profile");
    cr_assert_eq(plen, ICC_LEN);
    cr_assert(memcmp(prof, icc_profile(), ICC_LEN) == 0);
    png_textp t;
    int nt = 0;
    png_get_text(rp, info, &t, &nt);
    int comp;
    cr_assert_str_eq(text_of(t, nt, "Title", &comp), "a test");
    cr_assert_eq(comp, PNG_TEXT_COMPRESSION_NONE);
    cr_assert_str_eq(text_of(t, nt, "Comment", &comp), "zipped words words words");
    cr_assert_eq(comp, PNG_TEXT_COMPRESSION_zTXt);
    cr_assert_str_eq(text_of(t, nt, "Author", &comp), "\xc3\xa9t\xc3\xa9");
    for (int i = 0; i < nt; i++)
        if (!strcmp(t[i].key, "Author")) {
            cr_assert_str_eq(t[i].lang, "fr");
            cr_assert_str_eq(t[i].lang_key, "Auteur");
        }
    png_destroy_read_struct(&rp, &info, NULL);
    fclose(f);
    circa_image_free(back);
    circa_image_free(img);
    free(out);
    free(expect);
    free(png);
}

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *b = malloc((size_t)n);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* A width x height crop of img at (0, 0). */
static circa_image *crop(const circa_image *img, uint32_t w, uint32_t h) {
    circa_image *c;
    cr_assert_eq(circa_image_create(w, h, img->channels, img->depth, &c), CIRCA_OK);
    for (uint32_t y = 0; y < h; y++)
        memcpy(c->samples + (size_t)y * w * img->channels,
               img->samples + (size_t)y * img->width * img->channels, (size_t)w * img->channels * 2);
    return c;
}

Test(image, kodak, .timeout = 60) {
    static const char *names[] = {"kodim03.png", "kodim13.png", "kodim23.png"};
    int count = quick() ? 1 : 3;
    for (int i = 0; i < count; i++) {
        char path[512];
        snprintf(path, sizeof path, CIRCA_SOURCE_DIR "/corpora/kodak/%s", names[i]);
        size_t len;
        uint8_t *png = read_file(path, &len);
        circa_image *img;
        cr_assert_eq(circa_image_load(png, len, &img), CIRCA_OK);
        cr_assert_eq(img->channels, 3);
        if (quick()) {
            circa_image *c = crop(img, 96, 64);
            circa_image_free(img);
            img = c;
        }
        size_t n;
        circa_image_free(round_trip(img, &n));
        /* It must beat the PNG it came from by a clear margin. */
        if (!quick()) cr_assert_lt(n, len * 85 / 100, "%s: %zu bytes vs PNG %zu", names[i], n, len);
        circa_image_free(img);
        free(png);
    }
}

/* A stream written by this version's encoder (tests/golden/image) must
 * decode to the same pixels in every later build: the circuit's EM and
 * tables are part of the format, so a change to their arithmetic shows
 * here, and needs a new stream version. The crop is big enough for the
 * circuit to learn and be used. */
Test(image, golden_stream_decodes) {
    size_t slen, plen;
    uint8_t *stream = read_file(CIRCA_SOURCE_DIR "/tests/golden/image/kodim23-crop.cimg", &slen);
    uint8_t *png = read_file(CIRCA_SOURCE_DIR "/tests/golden/image/kodim23-crop.png", &plen);
    circa_image *want, *got;
    cr_assert_eq(circa_image_load(png, plen, &want), CIRCA_OK);
    cr_assert_eq(circa_image_decode(stream, slen, &got), CIRCA_OK);
    cr_assert(got->width == want->width && got->height == want->height && got->channels == want->channels);
    size_t n = (size_t)want->width * want->height * want->channels;
    cr_assert(memcmp(got->samples, want->samples, n * sizeof *want->samples) == 0);
    uint8_t *again;
    size_t alen;
    cr_assert_eq(circa_image_encode(want, &again, &alen), CIRCA_OK);
    cr_assert(alen == slen && memcmp(again, stream, slen) == 0, "the encoder's bytes changed");
    free(again), free(stream), free(png);
    circa_image_free(want), circa_image_free(got);
}

/* A small coded stream of a generated RGB image, for corruption tests. */
static uint8_t *small_stream(size_t *n) {
    circa_image *img;
    cr_assert_eq(circa_image_create(24, 16, 3, 8, &img), CIRCA_OK);
    for (size_t i = 0; i < 24 * 16 * 3; i++)
        img->samples[i] = sample_at((uint32_t)(i / 3 % 24), (uint32_t)(i / 72), (unsigned)(i % 3), 8);
    cr_assert_eq(circa_image_add_meta(img, "tEXt", "k\0\0\0v", 5), CIRCA_OK);
    uint8_t *s;
    cr_assert_eq(circa_image_encode(img, &s, n), CIRCA_OK);
    circa_image_free(img);
    return s;
}

Test(image, truncation_is_rejected) {
    size_t n;
    uint8_t *s = small_stream(&n);
    for (size_t cut = 0; cut < n; cut++) {
        circa_image *img = (circa_image *)1;
        circa_status st = circa_image_decode(s, cut, &img);
        cr_assert_neq(st, CIRCA_OK, "cut at %zu of %zu", cut, n);
        cr_assert_null(img);
    }
    /* Trailing bytes too. */
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, s, n);
    longer[n] = 0;
    circa_image *img;
    cr_assert_neq(circa_image_decode(longer, n + 1, &img), CIRCA_OK);
    free(longer);
    free(s);
}

Test(image, bit_flips_are_rejected) {
    size_t n;
    uint8_t *s = small_stream(&n);
    for (size_t byte = 0; byte < n; byte++)
        for (int bit = 0; bit < 8; bit += quick() ? 3 : 1) {
            s[byte] ^= (uint8_t)(1u << bit);
            circa_image *img;
            cr_assert_neq(circa_image_decode(s, n, &img), CIRCA_OK, "flip %zu.%d", byte, bit);
            s[byte] ^= (uint8_t)(1u << bit);
        }
    free(s);
}

/* Rewrites the dimensions of a stream and fixes up its header CRC, so only
 * the dimension checks can refuse it. */
static void set_dims(uint8_t *s, uint32_t w, uint32_t h) {
    for (int i = 0; i < 4; i++) s[8 + i] = (uint8_t)(w >> (8 * i)), s[12 + i] = (uint8_t)(h >> (8 * i));
    uint32_t meta = (uint32_t)s[16] | (uint32_t)s[17] << 8 | (uint32_t)s[18] << 16 | (uint32_t)s[19] << 24;
    size_t head = 20 + meta + 12;
    uint32_t crc = (uint32_t)crc32(0, s, (unsigned)(head - 4));
    for (int i = 0; i < 4; i++) s[head - 4 + i] = (uint8_t)(crc >> (8 * i));
}

Test(image, absurd_dimensions_are_rejected) {
    circa_image *img;
    cr_assert_eq(circa_image_create(0, 5, 3, 8, &img), CIRCA_E_PARAM);
    cr_assert_eq(circa_image_create(1u << 25, 1, 3, 8, &img), CIRCA_E_LIMIT);
    cr_assert_eq(circa_image_create(1u << 14, 1u << 14, 3, 8, &img), CIRCA_E_LIMIT);
    cr_assert_eq(circa_image_create(5, 5, 3, 4, &img), CIRCA_E_PARAM);
    size_t n;
    uint8_t *s = small_stream(&n);
    static const uint32_t dims[][2] = {{0, 16},           {24, 0},      {1u << 30, 1u << 30},
                                       {1u << 24, 1u << 24}, {4000, 4000}, {25, 16}};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        set_dims(s, dims[i][0], dims[i][1]);
        cr_assert_neq(circa_image_decode(s, n, &img), CIRCA_OK, "dims %u x %u", dims[i][0], dims[i][1]);
    }
    free(s);
    /* A PNG header claiming 2^30 x 2^30 pixels. */
    png_spec sp = {PNG_COLOR_TYPE_GRAY, 8, 4, 4, 0};
    uint16_t *expect;
    unsigned ch;
    uint8_t *png = make_png(&sp, &n, &expect, &ch);
    png[16] = 0x40, png[20] = 0x40; /* IHDR width/height big-endian: 0x40000004 */
    cr_assert_neq(circa_image_load(png, n, &img), CIRCA_OK);
    free(png);
    free(expect);
    /* Not an image at all, and a truncated PPM. */
    cr_assert_eq(circa_image_load("hello", 5, &img), CIRCA_E_FORMAT);
    cr_assert_eq(circa_image_load("P6\n4 4\n255\nabc", 15, &img), CIRCA_E_FORMAT);
    cr_assert_eq(circa_image_load("P6\n99999999 99999999\n255\nabc", 28, &img), CIRCA_E_LIMIT);
}

Test(image, other_versions_are_rejected) {
    size_t n;
    uint8_t *s = small_stream(&n);
    cr_assert_eq(s[4], 2);
    for (unsigned v = 0; v < 4; v++) {
        if (v == 2) continue;
        s[4] = (uint8_t)v;
        set_dims(s, 24, 16); /* fixes the header CRC */
        circa_image *img;
        cr_assert_eq(circa_image_decode(s, n, &img), CIRCA_E_VERSION, "version %u", v);
    }
    free(s);
}

/* P(k > i | k >= i, context) by brute force: the circuit's joint
 * probabilities of every value of k with the context, summed. */
static double brute_prob(const circa_pc *pc, uint8_t *rec, unsigned i) {
    uint8_t obs[CIRCA_IMAGE__PC_VARS];
    memset(obs, 1, sizeof obs);
    double above = 0, from = 0;
    for (unsigned x = i; x < circa_pc_num_categories(pc); x++) {
        rec[0] = (uint8_t)x;
        double p = circa_pc__marginal(pc, rec, obs);
        from += p;
        if (x > i) above += p;
    }
    return above / from;
}

/* The circuit is really used: after encoding a textured image, each plane
 * has learned one, most samples were coded with its input, and the
 * probabilities the coder tabulates equal the circuit's exact conditionals. */
Test(image, pc_is_used_and_exact, .timeout = 60) {
    uint32_t w = 96, h = 64;
    circa_image *img;
    cr_assert_eq(circa_image_create(w, h, 3, 8, &img), CIRCA_OK);
    for (size_t i = 0; i < (size_t)w * h * 3; i++)
        img->samples[i] = sample_at((uint32_t)(i / 3 % w), (uint32_t)(i / 3 / w), (unsigned)(i % 3), 8);
    for (unsigned plane = 0; plane < 3; plane++) {
        circa_pc *pc;
        uint64_t uses;
        cr_assert_eq(circa_image__pc_probe(img, plane, &pc, &uses), CIRCA_OK);
        cr_assert_not_null(pc, "plane %u learned no circuit", plane);
        cr_assert_eq(circa_pc_num_vars(pc), CIRCA_IMAGE__PC_VARS);
        cr_assert_gt(uses, (uint64_t)w * h / 2, "plane %u: %llu samples with a PC input", plane,
                     (unsigned long long)uses);
        for (int t = 0; t < 200; t++) {
            uint8_t rec[CIRCA_IMAGE__PC_VARS] = {0};
            for (unsigned v = 1; v < CIRCA_IMAGE__PC_VARS; v++)
                rec[v] = (uint8_t)(rnd() % circa_image__pc_levels[v]);
            for (unsigned i = 0; i < CIRCA_IMAGE__PC_KCAP; i++) {
                double got = circa_image__pc_prob(pc, rec, i), want = brute_prob(pc, rec, i);
                cr_assert(got >= 0 && got <= 1, "p %g", got);
                cr_assert(fabs(got - want) <= 1e-9 * want + 1e-300, "plane %u, i %u: %.17g vs %.17g",
                          plane, i, got, want);
            }
        }
        circa_pc_free(pc);
    }
    circa_image_free(img);
}
