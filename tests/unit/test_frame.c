/* test_frame.c: the container: one-shot and streaming round trips (empty, 1
 * byte, random, repetitive, corpus files, block boundaries, 1-byte buffers),
 * thread-count invariance, concatenated frames, and rejection of every
 * truncation and every single-bit flip of a small frame. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "circa/circa.h"
#include "circa/codec.h"
#include "test_util.h"

static int quick(void) { return getenv("CIRCA_TEST_QUICK") != NULL; }

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint8_t rnd8(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)(rng >> 24);
}

static uint8_t *random_bytes(size_t n) {
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) p[i] = rnd8();
    return p;
}

/* Text-like data with repeats: words from a small vocabulary. */
static uint8_t *wordy_bytes(size_t n) {
    static const char *words[] = {"circa ", "frame ", "block ", "coder ", "model ", "the ", "of ", "\n"};
    uint8_t *p = malloc(n ? n : 1);
    size_t i = 0;
    while (i < n) {
        const char *w = words[rnd8() % 8];
        for (size_t k = 0; w[k] && i < n; k++) p[i++] = (uint8_t)w[k];
    }
    return p;
}

/* Compresses with the one-shot API, checks the bound, decompresses, compares. */
static size_t roundtrip(const uint8_t *src, size_t n, int level) {
    size_t cap = circa_compress_bound(n), clen = 0, dlen = 0;
    uint8_t *c = malloc(cap), *d = malloc(n ? n : 1);
    circa_status st = circa_compress(c, cap, &clen, src, n, level);
    cr_assert_eq(st, CIRCA_OK, "compress: %s", circa_strerror(st));
    cr_assert(clen <= cap);
    st = circa_decompress(d, n, &dlen, c, clen);
    cr_assert_eq(st, CIRCA_OK, "decompress (n=%zu, level %d): %s", n, level, circa_strerror(st));
    cr_assert_eq(dlen, n);
    cr_assert(n == 0 || memcmp(src, d, n) == 0);
    free(c);
    free(d);
    return clen;
}

Test(frame, small_and_empty) {
    uint8_t one = 'x';
    for (int level = 1; level <= 9; level++) {
        roundtrip(NULL, 0, level);
        roundtrip(&one, 1, level);
    }
}

Test(frame, random_never_grows_beyond_headers) {
    size_t n = 300000;
    uint8_t *p = random_bytes(n);
    int levels[] = {1, 3, 9};
    for (int i = 0; i < 3; i++) {
        size_t c = roundtrip(p, n, levels[i]);
        cr_assert(c <= circa_compress_bound(n));
        cr_assert(c <= n + 20 + 20 + 20, "random grew to %zu", c);
    }
    free(p);
}

Test(frame, repetitive_and_wordy) {
    size_t n = 1 << 20;
    uint8_t *zeros = calloc(n, 1), *w = wordy_bytes(n);
    for (int level = 1; level <= 9; level += quick() ? 4 : 1) {
        cr_assert(roundtrip(zeros, n, level) < 2000);
        cr_assert(roundtrip(w, n, level) < n / 3);
    }
    free(zeros);
    free(w);
}

Test(frame, every_corpus_file, .timeout = 300) {
    static const char *files[] = {"alice29.txt", "asyoulik.txt", "lcet10.txt", "plrabn12.txt",
                                  "html", "urls.10K", "geo.protodata", "kppkn.gtb",
                                  "paper-100k.pdf", "fireworks.jpeg"};
    int levels[] = {1, CIRCA_LEVEL_DEFAULT, 9};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (quick() && i % 3) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/corpora/files/%s", CIRCA_SOURCE_DIR, files[i]);
        size_t n;
        uint8_t *p = slurp(path, &n);
        for (int k = 0; k < 3; k++) roundtrip(p, n, levels[k]);
        free(p);
    }
}

/* Streams src through contexts with tiny buffers; returns the frame. */
static uint8_t *stream_compress(const uint8_t *src, size_t n, const circa_cparams *p,
                                size_t in_step, size_t out_step, size_t *clen) {
    circa_cctx *c;
    cr_assert_eq(circa_cctx_create(p, &c), CIRCA_OK);
    size_t cap = circa_compress_bound(n) + 64;
    uint8_t *dst = malloc(cap);
    circa_outbuf out = {dst, 0, 0};
    size_t pos = 0, left = 1;
    while (pos < n || left) {
        size_t step = n - pos < in_step ? n - pos : in_step;
        circa_inbuf in = {src + pos, step, 0};
        circa_end end = pos + step == n ? CIRCA_END : CIRCA_CONTINUE;
        out.size = out.pos + out_step > cap ? cap : out.pos + out_step;
        cr_assert_eq(circa_compress_stream(c, &out, &in, end, &left), CIRCA_OK);
        pos += in.pos;
        if (end != CIRCA_END) left = 1;
    }
    circa_cctx_free(c);
    *clen = out.pos;
    return dst;
}

static void stream_decompress_check(const uint8_t *frame, size_t clen, const uint8_t *src,
                                    size_t n, size_t in_step, size_t out_step) {
    circa_dctx *d;
    cr_assert_eq(circa_dctx_create(&d), CIRCA_OK);
    uint8_t *dst = malloc(n + 1);
    circa_outbuf out = {dst, 0, 0};
    size_t pos = 0;
    int open = 1;
    for (int idle = 0; idle < 3 && (pos < clen || open);) {
        size_t step = clen - pos < in_step ? clen - pos : in_step;
        circa_inbuf in = {frame + pos, step, 0};
        size_t before = out.pos;
        out.size = out.pos + out_step > n ? n : out.pos + out_step;
        cr_assert_eq(circa_decompress_stream(d, &out, &in, &open), CIRCA_OK);
        pos += in.pos;
        idle = (in.pos == 0 && out.pos == before) ? idle + 1 : 0;
    }
    cr_assert_eq(open, 0);
    cr_assert_eq(out.pos, n);
    cr_assert(memcmp(dst, src, n) == 0);
    circa_dctx_free(d);
    free(dst);
}

Test(frame, streaming_one_byte_buffers) {
    size_t n = 150000;
    uint8_t *src = wordy_bytes(n);
    circa_cparams p = circa_cparams_default();
    p.block_log = 16; /* several blocks */
    size_t clen;
    uint8_t *frame = stream_compress(src, n, &p, 1, 1, &clen);
    stream_decompress_check(frame, clen, src, n, 1, 1);
    stream_decompress_check(frame, clen, src, n, 7, 4096);
    free(frame);
    free(src);
}

Test(frame, block_boundaries) {
    size_t sizes[] = {65535, 65536, 65537, 2 * 65536, 3 * 65536 + 1};
    uint8_t *src = wordy_bytes(3 * 65536 + 1);
    circa_cparams p = circa_cparams_default();
    p.block_log = 16;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t clen;
        uint8_t *frame = stream_compress(src, sizes[i], &p, 1 << 20, 1 << 20, &clen);
        stream_decompress_check(frame, clen, src, sizes[i], 1 << 20, 1 << 20);
        free(frame);
    }
    free(src);
}

Test(frame, thread_count_does_not_change_output) {
    size_t n = 5 * 65536 + 123;
    uint8_t *src = wordy_bytes(n);
    circa_cparams p = circa_cparams_default();
    p.block_log = 16;
    size_t len1, len4;
    uint8_t *f1 = stream_compress(src, n, &p, n, n * 2, &len1);
    p.threads = 4;
    uint8_t *f4 = stream_compress(src, n, &p, 1000, 777, &len4);
    cr_assert_eq(len1, len4);
    cr_assert(memcmp(f1, f4, len1) == 0);
    free(f1);
    free(f4);
    free(src);
}

Test(frame, concatenated_frames) {
    uint8_t a[] = "first frame ", b[] = "second frame";
    uint8_t buf[512], out[64];
    size_t la, lb, lo;
    cr_assert_eq(circa_compress(buf, sizeof buf, &la, a, sizeof a - 1, 3), CIRCA_OK);
    cr_assert_eq(circa_compress(buf + la, sizeof buf - la, &lb, b, sizeof b - 1, 1), CIRCA_OK);
    cr_assert_eq(circa_decompress(out, sizeof out, &lo, buf, la + lb), CIRCA_OK);
    cr_assert_eq(lo, sizeof a + sizeof b - 2);
    cr_assert(memcmp(out, "first frame second frame", lo) == 0);
}

Test(frame, content_size_mismatch_is_an_error) {
    circa_cparams p = circa_cparams_default();
    p.content_size_known = 1;
    p.content_size = 10;
    circa_cctx *c;
    cr_assert_eq(circa_cctx_create(&p, &c), CIRCA_OK);
    uint8_t buf[256];
    circa_inbuf in = {"12345", 5, 0};
    circa_outbuf out = {buf, sizeof buf, 0};
    size_t left;
    cr_assert_eq(circa_compress_stream(c, &out, &in, CIRCA_END, &left), CIRCA_E_PARAM);
    circa_cctx_free(c);
}

/* Decoding must fail cleanly: a status other than OK, or a short output. */
static int decodes_ok(const uint8_t *frame, size_t len, uint8_t *dst, size_t cap) {
    size_t dlen;
    return circa_decompress(dst, cap, &dlen, frame, len) == CIRCA_OK;
}

static void check_corruptions(int level) {
    size_t n = 3000;
    uint8_t *src = wordy_bytes(n), frame[4096], *dst = malloc(n);
    size_t len;
    cr_assert_eq(circa_compress(frame, sizeof frame, &len, src, n, level), CIRCA_OK);
    for (size_t cut = 0; cut < len; cut++)
        cr_assert(!decodes_ok(frame, cut, dst, n), "truncation at %zu of %zu accepted", cut, len);
    size_t step = quick() ? 7 : 1;
    for (size_t bit = 0; bit < len * 8; bit += step) {
        frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert(!decodes_ok(frame, len, dst, n), "flip of bit %zu accepted (level %d)", bit, level);
        frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    cr_assert(decodes_ok(frame, len, dst, n));
    free(src);
    free(dst);
}

Test(frame, every_truncation_and_bit_flip_rejected, .timeout = 300) {
    check_corruptions(1);
    check_corruptions(3);
    check_corruptions(9);
}

Test(frame, header_fields_validated) {
    uint8_t frame[256], dst[16];
    size_t len;
    cr_assert_eq(circa_compress(frame, sizeof frame, &len, "hello", 5, 1), CIRCA_OK);
    uint8_t bad[256];
    memcpy(bad, frame, len);
    bad[4] = 2; /* version */
    size_t dlen;
    cr_assert_eq(circa_decompress(dst, sizeof dst, &dlen, bad, len), CIRCA_E_VERSION);
    memcpy(bad, frame, len);
    bad[5] |= 0x80; /* unknown flag */
    cr_assert_eq(circa_decompress(dst, sizeof dst, &dlen, bad, len), CIRCA_E_UNSUPPORTED);
    memcpy(bad, frame, len);
    bad[0] ^= 1; /* magic */
    cr_assert_eq(circa_decompress(dst, sizeof dst, &dlen, bad, len), CIRCA_E_FORMAT);
    uint64_t size;
    cr_assert_eq(circa_frame_content_size(frame, len, &size), CIRCA_OK);
    cr_assert_eq(size, 5);
    cr_assert_eq(circa_decompress(dst, 4, &dlen, frame, len), CIRCA_E_DST_SIZE);
}

/* ---- record models ------------------------------------------------------ */
/* A toy record model: byte i of a record is likely to equal i; every other
 * value has frequency 1 out of 2^16. */
#define TOY_WIDTH 12
static void toy_cdf(size_t col, unsigned v, uint32_t *cum, uint32_t *freq) {
    uint32_t big = 65536 - 255, likely = (uint32_t)(col % 256);
    *freq = v == likely ? big : 1;
    *cum = v < likely ? v : (v == likely ? likely : likely + big + (v - likely - 1));
}
static circa_status toy_encode(const void *m, const uint8_t *rec, size_t n, circa_rc_enc *e) {
    (void)m;
    for (size_t i = 0; i < n * TOY_WIDTH; i++) {
        uint32_t cum, freq;
        toy_cdf(i % TOY_WIDTH, rec[i], &cum, &freq);
        circa_rc_encode_pow2(e, cum, freq, 16);
    }
    return CIRCA_OK;
}
static circa_status toy_decode(const void *m, circa_rc_dec *d, uint8_t *rec, size_t n) {
    (void)m;
    for (size_t i = 0; i < n * TOY_WIDTH; i++) {
        uint32_t t = circa_rc_decode_target_pow2(d, 16), cum, freq;
        unsigned v;
        for (v = 0; v < 256; v++) {
            toy_cdf(i % TOY_WIDTH, v, &cum, &freq);
            if (t < cum + freq) break;
        }
        rec[i] = (uint8_t)v;
        circa_rc_decode_update_pow2(d, cum, freq, 16);
    }
    return CIRCA_OK;
}

static uint8_t *toy_data(size_t header, size_t records) {
    uint8_t *p = malloc(header + records * TOY_WIDTH);
    for (size_t i = 0; i < header; i++) p[i] = rnd8();
    for (size_t i = 0; i < records * TOY_WIDTH; i++)
        p[header + i] = rnd8() % 8 ? (uint8_t)(i % TOY_WIDTH) : rnd8();
    return p;
}

static size_t decode_with(const circa_record_model *m, const uint8_t *frame, size_t len,
                          uint8_t *dst, size_t cap, circa_status *st) {
    circa_dctx *d;
    cr_assert_eq(circa_dctx_create(&d), CIRCA_OK);
    circa_dctx_set_model(d, m);
    circa_inbuf in = {frame, len, 0};
    circa_outbuf out = {dst, cap, 0};
    int open = 0;
    *st = circa_decompress_stream(d, &out, &in, &open);
    if (*st == CIRCA_OK && open) *st = CIRCA_E_TRUNCATED;
    circa_dctx_free(d);
    return out.pos;
}

Test(frame, record_model_blocks) {
    circa_record_model m = {TOY_WIDTH, 0x12345678u, NULL, toy_encode, toy_decode};
    size_t header = 16, records = 20000, n = header + records * TOY_WIDTH;
    uint8_t *src = toy_data(header, records), *dst = malloc(n);
    circa_cparams p = circa_cparams_default();
    p.block_log = 16;
    p.model = &m;
    p.record_offset = header;
    size_t len1, len2;
    uint8_t *f1 = stream_compress(src, n, &p, n, 2 * n, &len1);
    p.threads = 3;
    uint8_t *f2 = stream_compress(src, n, &p, 4097, 999, &len2);
    cr_assert(len1 == len2 && memcmp(f1, f2, len1) == 0, "-T changed a model frame");
    cr_assert(len1 < n / 3, "model frame not small: %zu of %zu", len1, n); /* ~2.1 bits a byte */
    circa_status st;
    cr_assert_eq(decode_with(&m, f1, len1, dst, n, &st), n);
    cr_assert_eq(st, CIRCA_OK, "%s", circa_strerror(st));
    cr_assert(memcmp(src, dst, n) == 0);
    decode_with(NULL, f1, len1, dst, n, &st);
    cr_assert_eq(st, CIRCA_E_MODEL, "missing model must be refused");
    circa_record_model other = m;
    other.id ^= 1;
    decode_with(&other, f1, len1, dst, n, &st);
    cr_assert_eq(st, CIRCA_E_MODEL, "a different model must be refused");
    /* The walker sees one header block, then record blocks. */
    circa_frame_info fi;
    cr_assert_eq(circa_frame_info_parse(f1, len1, &fi), CIRCA_OK);
    cr_assert(fi.model_id_known && fi.model_id == m.id);
    circa_block_info bi;
    cr_assert_eq(circa_block_info_parse(f1 + fi.header_size, &fi, &bi), CIRCA_OK);
    cr_assert_eq(bi.raw_size, header);
    cr_assert_eq(circa_block_info_parse(f1 + fi.header_size + CIRCA_BLOCK_HEADER_BYTES + bi.coded_size,
                                        &fi, &bi), CIRCA_OK);
    cr_assert_eq(bi.type, CIRCA_BLOCK_MODEL);
    cr_assert_eq(bi.raw_size % TOY_WIDTH, 0);
    free(f1);
    free(f2);
    free(src);
    free(dst);
}
