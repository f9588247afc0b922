/* test_records.c: the "pc" block codec (codecs/records): record-width
 * detection on synthetic tables, block round trips (with bytes before the
 * first record and after the last), the frame choosing it at level 9 where
 * it wins, columns coded as differences where that helps, and corrupt
 * bodies and frames rejected without crashing. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "circa/circa.h"
#include "circa/codec.h"
#include "../../codecs/records/records.h"

static uint32_t u16le(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

static uint64_t rng;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)((rng >> 20) % n);
}

/* A table whose rows come from a few hidden classes: each class gives each
 * column its own small set of likely values (census rows, sensor states),
 * so a column depends on far-away columns through the class. */
static uint8_t *latent_table(uint32_t W, size_t n, uint32_t K, uint64_t seed) {
    enum { CLASSES = 6 };
    rng = seed;
    uint8_t centre[CLASSES][256];
    for (int c = 0; c < CLASSES; c++)
        for (uint32_t j = 0; j < W && j < 256; j++) centre[c][j] = (uint8_t)rnd(K);
    uint8_t *p = malloc(n * W);
    for (size_t r = 0; r < n; r++) {
        uint32_t c = rnd(4) ? rnd(2) : rnd(CLASSES); /* two common classes */
        for (uint32_t j = 0; j < W; j++) {
            uint32_t v = centre[c][j % 256] + (rnd(4) == 0 ? rnd(3) : 0);
            p[r * W + j] = (uint8_t)(v % K);
        }
    }
    return p;
}

static void block_roundtrip(const uint8_t *src, size_t n, size_t *coded) {
    uint8_t *dst = malloc(n + 65536), *back = malloc(n), param = 1;
    size_t len = 0;
    circa_status st = circa_block_encode(CIRCA_BLOCK_PC, 9, src, n, dst, n + 65536, &len, &param);
    cr_assert_eq(st, CIRCA_OK, "encode: %s", circa_strerror(st));
    cr_assert_eq(param, 0);
    st = circa_block_decode(CIRCA_BLOCK_PC, param, dst, len, back, n);
    cr_assert_eq(st, CIRCA_OK, "decode: %s", circa_strerror(st));
    cr_assert(memcmp(src, back, n) == 0);
    if (coded) *coded = len;
    free(dst), free(back);
}

Test(records, detects_table_widths) {
    static const uint32_t widths[] = {3, 7, 24, 100, 200};
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++) {
        uint8_t *t = latent_table(widths[i], 30000 / widths[i] + 64, 40, 7 + i);
        uint32_t w, s;
        cr_assert(circa__records_detect(t, (30000 / widths[i] + 64) * widths[i], &w, &s));
        cr_expect_eq(w, widths[i], "width %u found as %u", widths[i], w);
        cr_expect_eq(s, 0);
        free(t);
    }
}

Test(records, no_structure_no_width) {
    size_t n = 100000;
    uint8_t *p = malloc(n);
    rng = 99;
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rnd(256);
    uint32_t w, s;
    cr_expect_not(circa__records_detect(p, n, &w, &s), "random bytes gave width %u", w);
    size_t len = 0;
    uint8_t param;
    cr_expect_eq(circa_block_encode(CIRCA_BLOCK_PC, 9, p, n, p, 0, &len, &param), CIRCA_E_UNSUPPORTED);
    uint8_t *few = latent_table(16, 20, 10, 3); /* 20 records: too few to learn from */
    cr_expect_not(circa__records_detect(few, 20 * 16, &w, &s));
    free(few), free(p);
}

/* An IDX file (u8, 300 images of 6 x 5): width 30 after the 16-byte header. */
static uint8_t *idx_file(size_t *n) {
    uint8_t *body = latent_table(30, 300, 200, 11);
    *n = 16 + 300 * 30;
    uint8_t *p = malloc(*n);
    const uint8_t head[16] = {0, 0, 8, 3, 0, 0, 1, 44, 0, 0, 0, 6, 0, 0, 0, 5};
    memcpy(p, head, 16);
    memcpy(p + 16, body, 300 * 30);
    free(body);
    return p;
}

Test(records, idx_header_gives_width_and_offset) {
    size_t n;
    uint8_t *p = idx_file(&n);
    uint32_t w, s;
    cr_assert(circa__records_detect(p, n, &w, &s));
    cr_expect_eq(w, 30);
    cr_expect_eq(s, 16);
    block_roundtrip(p, n, NULL);
    block_roundtrip(p, n - 7, NULL); /* a partial last record: the tail */
    free(p);
}

Test(records, block_roundtrips) {
    static const struct { uint32_t W, K; size_t n; } cases[] = {
        {4, 3, 3000}, {5, 3, 900}, {24, 40, 3000}, {64, 256, 700}, {700, 256, 80}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t *t = latent_table(cases[i].W, cases[i].n, cases[i].K, 21 + i);
        block_roundtrip(t, cases[i].n * cases[i].W, NULL);
        block_roundtrip(t, cases[i].n * cases[i].W - 1, NULL);
        free(t);
    }
}

/* Which codec each block of a frame used. */
static unsigned first_block_type(const uint8_t *frame, size_t n) {
    circa_frame_info fi;
    cr_assert_eq(circa_frame_info_parse(frame, n, &fi), CIRCA_OK);
    circa_block_info bi;
    cr_assert_eq(circa_block_info_parse(frame + fi.header_size, &fi, &bi), CIRCA_OK);
    return bi.type;
}

static size_t compress_level(const uint8_t *src, size_t n, int level, uint8_t **out) {
    size_t cap = circa_compress_bound(n), len = 0;
    *out = malloc(cap);
    cr_assert_eq(circa_compress(*out, cap, &len, src, n, level), CIRCA_OK);
    return len;
}

Test(records, level9_picks_the_circuit_where_it_wins, .timeout = 120) {
    size_t W = 24, n = 4000 * W;
    uint8_t *t = latent_table((uint32_t)W, n / W, 40, 5), *c9, *c8, *back = malloc(n);
    size_t l9 = compress_level(t, n, 9, &c9), l8 = compress_level(t, n, 8, &c8), dlen;
    cr_expect_eq(first_block_type(c9, l9), CIRCA_BLOCK_PC);
    cr_expect_eq(first_block_type(c8, l8), CIRCA_BLOCK_CM);
    cr_expect(l9 < l8 * 95 / 100, "pc %zu bytes, cm %zu", l9, l8);
    cr_assert_eq(circa_decompress(back, n, &dlen, c9, l9), CIRCA_OK);
    cr_assert(dlen == n && memcmp(back, t, n) == 0);
    free(t), free(c9), free(c8), free(back);
}

Test(records, corrupt_frames_rejected, .timeout = 120) {
    size_t W = 12, n = 300 * W;
    uint8_t *t = latent_table((uint32_t)W, n / W, 30, 8), *c, *back = malloc(n);
    size_t len = compress_level(t, n, 9, &c), dlen;
    cr_assert_eq(first_block_type(c, len), CIRCA_BLOCK_PC);
    for (size_t cut = 0; cut < len; cut++)
        cr_assert_neq(circa_decompress(back, n, &dlen, c, cut), CIRCA_OK, "cut at %zu", cut);
    for (size_t bit = 0; bit < len * 8; bit += 7) {
        c[bit / 8] ^= (uint8_t)(1u << bit % 8);
        cr_assert_neq(circa_decompress(back, n, &dlen, c, len), CIRCA_OK, "bit %zu", bit);
        c[bit / 8] ^= (uint8_t)(1u << bit % 8);
    }
    free(t), free(c), free(back);
}

/* Bodies without the frame's checksums: every bad field is refused, and no
 * flip or cut crashes or runs away (the sanitizer build checks memory). */
Test(records, corrupt_bodies_never_crash, .timeout = 120) {
    size_t W = 10, n = 200 * W;
    uint8_t *t = latent_table((uint32_t)W, n / W, 20, 9), *body = malloc(n + 4096), *back = malloc(n), param;
    size_t len;
    cr_assert_eq(circa_block_encode(CIRCA_BLOCK_PC, 9, t, n, body, n + 4096, &len, &param), CIRCA_OK);
    uint8_t *bad = malloc(len);
    static const struct { size_t at; uint8_t v; } fields[] = {
        {0, 1}, {1, 0x20}, {2, 10}, {4, 0}, {5, 0}, {5, 17}, {6, 11}, {7, 0x30}};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        memcpy(bad, body, len);
        bad[fields[i].at] = fields[i].v;
        if (fields[i].at == 1) bad[0] = 0xFF; /* width 0xFF.. > 4096 */
        cr_expect_neq(circa_block_decode(CIRCA_BLOCK_PC, 0, bad, len, back, n), CIRCA_OK, "field %zu", i);
    }
    cr_expect_neq(circa_block_decode(CIRCA_BLOCK_PC, 1, body, len, back, n), CIRCA_OK);
    for (size_t cut = 0; cut < len; cut += 3) circa_block_decode(CIRCA_BLOCK_PC, 0, body, cut, back, n);
    for (size_t bit = 0; bit < len * 8; bit += 5) {
        memcpy(bad, body, len);
        bad[bit / 8] ^= (uint8_t)(1u << bit % 8);
        circa_block_decode(CIRCA_BLOCK_PC, 0, bad, len, back, n);
    }
    free(t), free(body), free(back), free(bad);
}

/* A log of little-endian numbers: a record counter (u32), a time stamp
 * (u32, steps of 1-3), a drifting reading (u16), a status byte, a noisy
 * u16 and a zero byte: 14 bytes a row. */
static uint8_t *sensor_table(size_t n, uint64_t seed) {
    rng = seed;
    uint8_t *p = malloc(n * 14);
    uint32_t t = 20000, x = 30000;
    for (size_t r = 0; r < n; r++) {
        uint8_t *q = p + r * 14;
        t += 1 + rnd(3);
        x = x + rnd(201) < 100 ? 0 : x + rnd(201) - 100;
        uint32_t u = rnd(1000), fields[] = {(uint32_t)r, t};
        for (int f = 0; f < 2; f++)
            for (int b = 0; b < 4; b++) q[4 * f + b] = (uint8_t)(fields[f] >> (8 * b));
        q[8] = (uint8_t)x, q[9] = (uint8_t)(x >> 8), q[10] = rnd(16) < 14 ? 1 : (uint8_t)rnd(256);
        q[11] = (uint8_t)u, q[12] = (uint8_t)(u >> 8), q[13] = 0;
    }
    return p;
}

Test(records, counters_are_coded_as_differences, .timeout = 120) {
    size_t R = 8000, n = R * 14;
    uint8_t *t = sensor_table(R, 4), *body = malloc(n), *back = malloc(n), param, *c9, *c8;
    size_t len;
    cr_assert_eq(circa_block_encode(CIRCA_BLOCK_PC, 9, t, n, body, n, &len, &param), CIRCA_OK);
    cr_assert_eq(u16le(body), 14);
    uint32_t mask = body[6 + 2 * 14] | (uint32_t)body[7 + 2 * 14] << 8;
    cr_expect(mask & 1, "the record counter's low byte is not differenced (mask %#x)", mask);
    cr_expect(mask & (1u << 4), "the time stamp's low byte is not differenced (mask %#x)", mask);
    cr_expect_not(mask & (1u << 13), "a constant column is differenced (mask %#x)", mask);
    cr_assert_eq(circa_block_decode(CIRCA_BLOCK_PC, param, body, len, back, n), CIRCA_OK);
    cr_assert(memcmp(t, back, n) == 0);
    size_t l9 = compress_level(t, n, 9, &c9), l8 = compress_level(t, n, 8, &c8);
    cr_expect_eq(first_block_type(c9, l9), CIRCA_BLOCK_PC, "pc %zu, cm %zu", len, l8);
    cr_expect(l9 < l8, "pc frame %zu bytes, cm %zu", l9, l8);
    /* Mask bits past the width are refused. */
    body[7 + 2 * 14] |= 0x80;
    cr_expect_neq(circa_block_decode(CIRCA_BLOCK_PC, 0, body, len, back, n), CIRCA_OK);
    free(t), free(body), free(back), free(c9), free(c8);
}
