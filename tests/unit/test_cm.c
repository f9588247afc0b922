/* test_cm.c: the cm block codec: round trips (empty, tiny, random, repetitive,
 * 2-D image records, the corpus), parameter validation, early stop on a small destination,
 * rejection of truncated, padded and corrupted streams, coder overhead, and
 * identical output from concurrent calls. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/cm/cm.h"

/* Sanitized builds run several times slower: they code a prefix of each
 * corpus file instead of all of it. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* xorshift64*: deterministic test randomness. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

/* A destination large enough for any input: the model can lose a little on
 * incompressible data, never double it. */
static size_t coded_cap(size_t n) { return n + n / 2 + 64; }

typedef struct coded {
    uint8_t *bytes;
    size_t len;
    uint8_t param;
} coded;

static coded encode_ok(const uint8_t *src, size_t n, int level) {
    coded c = {malloc(coded_cap(n)), 0, 0};
    cr_assert_not_null(c.bytes);
    circa_status s = circa__cm_encode(src, n, c.bytes, coded_cap(n), &c.len, &c.param, level, NULL);
    cr_assert_eq(s, CIRCA_OK, "encode of %zu bytes at level %d: status %d", n, level, (int)s);
    return c;
}

/* Encodes, decodes and compares; returns the coded size. */
static size_t roundtrip(const uint8_t *src, size_t n, int level) {
    coded c = encode_ok(src, n, level);
    uint8_t *back = malloc(n ? n : 1);
    cr_assert_not_null(back);
    circa_status s = circa__cm_decode(c.bytes, c.len, back, n, c.param);
    cr_assert_eq(s, CIRCA_OK, "decode of %zu bytes at level %d: status %d", n, level, (int)s);
    cr_assert(memcmp(back, src, n) == 0, "round trip of %zu bytes at level %d differs", n, level);
    free(back);
    free(c.bytes);
    return c.len;
}

static uint8_t *read_corpus(const char *name, size_t *n) {
    char path[512];
    snprintf(path, sizeof path, "%s/corpora/files/%s", CIRCA_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
    cr_assert_not_null(buf);
    *n = fread(buf, 1, (size_t)size, f);
    fclose(f);
    cr_assert_eq(*n, (size_t)size);
    return buf;
}

static uint8_t *random_bytes(size_t n) {
    uint8_t *buf = malloc(n);
    cr_assert_not_null(buf);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(rnd() >> 56);
    return buf;
}

/* Text-like sample data: words from a small vocabulary. */
static uint8_t *wordy_bytes(size_t n) {
    static const char *words[] = {"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog. ", "\n"};
    uint8_t *buf = malloc(n);
    cr_assert_not_null(buf);
    size_t i = 0;
    while (i < n) {
        const char *w = words[rnd() % 9];
        for (size_t k = 0; w[k] && i < n; k++) buf[i++] = (uint8_t)w[k];
    }
    return buf;
}

/* ---- round trips ---------------------------------------------------------- */

Test(cm, empty_input) {
    for (int level = 1; level <= 9; level++) {
        uint8_t dst[64], param = 0, back[1];
        size_t len = 0;
        cr_assert_eq(circa__cm_encode(NULL, 0, dst, sizeof dst, &len, &param, level, NULL), CIRCA_OK);
        cr_assert_gt(len, 0);
        cr_assert_eq(circa__cm_decode(dst, len, back, 0, param), CIRCA_OK);
        cr_assert_eq(circa__cm_decode(dst, len - 1, back, 0, param), CIRCA_E_FORMAT);
    }
}

Test(cm, one_byte) {
    for (int level = 1; level <= 9; level++)
        for (int b = 0; b < 256; b += 51) {
            uint8_t byte = (uint8_t)b;
            roundtrip(&byte, 1, level);
        }
}

Test(cm, small_sizes) {
    uint8_t *data = wordy_bytes(300);
    for (size_t n = 2; n <= 300; n += 7) {
        roundtrip(data, n, 3);
        roundtrip(data, n, 9);
    }
    free(data);
}

Test(cm, random_bytes) {
    size_t n = 1 << 16;
    uint8_t *data = random_bytes(n);
    for (int level = 1; level <= 9; level += 2) {
        size_t len = roundtrip(data, n, level);
        cr_assert_lt(len, n + n / 100, "random data grew to %zu at level %d", len, level);
    }
    free(data);
}

Test(cm, repetitive_bytes) {
    size_t n = SANITIZED ? 50000 : 200000;
    uint8_t *data = malloc(n);
    cr_assert_not_null(data);
    memset(data, 'a', n);
    cr_assert_lt(roundtrip(data, n, 3), 200);
    cr_assert_lt(roundtrip(data, n, 9), 200);
    for (size_t i = 0; i < n; i++) data[i] = "abcab"[i % 5];
    cr_assert_lt(roundtrip(data, n, 3), 400);
    cr_assert_lt(roundtrip(data, n, 9), 400);
    /* fixed-width records with a changing field */
    for (size_t i = 0; i < n; i++) data[i] = (uint8_t)(i % 48 == 7 ? (i / 48) * 13 : i % 48);
    cr_assert_lt(roundtrip(data, n, 9), n / 16);
    free(data);
}

Test(cm, text_compresses) {
    size_t n = 100000;
    uint8_t *data = wordy_bytes(n);
    size_t fast = roundtrip(data, n, 3), strong = roundtrip(data, n, 9);
    cr_assert_lt(fast, n / 3);
    /* Words drawn independently: both profiles come within 4% of the
     * source's entropy (about 8,480 bytes), where the strong profile's extra
     * contexts have nothing left to find and only cost their learning. */
    cr_assert_leq(strong, fast + fast / 200, "strong %zu, fast %zu", strong, fast);
    free(data);
}

/* Synthetic 2-D records: `count` images of side x side grey bytes, each a
 * soft blob (a bright disc fading out) at a random place on a black
 * background, plus a little noise, like a scanned-image data set. */
static uint8_t *image_records(size_t count, int side) {
    size_t n = count * (size_t)side * (size_t)side;
    uint8_t *buf = malloc(n);
    cr_assert_not_null(buf);
    uint8_t *p = buf;
    for (size_t k = 0; k < count; k++) {
        int cx = side / 4 + (int)(rnd() % (uint64_t)(side / 2)), cy = side / 4 + (int)(rnd() % (uint64_t)(side / 2));
        int r2 = 9 + (int)(rnd() % 40), peak = 120 + (int)(rnd() % 120);
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                int d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                int v = d2 >= 2 * r2 ? 0 : peak * (2 * r2 - d2) / (2 * r2) + (int)(rnd() % 5);
                *p++ = (uint8_t)(v > 255 ? 255 : v);
            }
    }
    return buf;
}

/* Image records exercise the record detector's row search and the 2-D
 * contexts and mixers: the strong profile must round-trip them at every
 * level and beat the fast one clearly; small prefixes (a record length
 * found late, or never) must round-trip too. */
Test(cm, image_records) {
    size_t count = SANITIZED ? 60 : 250;
    int side = 24;
    size_t n = count * (size_t)(side * side);
    uint8_t *data = image_records(count, side);
    size_t fast = roundtrip(data, n, 3);
    for (int level = 6; level <= 9; level++) {
        size_t strong = roundtrip(data, n, level);
        cr_assert_lt(strong, fast - fast / 16, "level %d: %zu, level 3: %zu", level, strong, fast);
    }
    for (size_t m = 1; m < 3000; m = m * 3 + 1) roundtrip(data, m, 9);
    /* rows of two bytes: no north-east neighbour before the coded byte */
    for (size_t i = 0; i < n; i++) data[i] = (uint8_t)(i % 2 ? (i / 2) % 7 : 100 + (i / 2) % 5);
    roundtrip(data, n, 9);
    free(data);
}

/* ---- the corpus: every file at levels 3 and 9 ----------------------------- */

static const char *corpus_files[] = {
    "alice29.txt", "asyoulik.txt", "fireworks.jpeg", "geo.protodata", "html",
    "kppkn.gtb", "lcet10.txt", "paper-100k.pdf", "plrabn12.txt", "urls.10K",
};

static void corpus_roundtrip(int index) {
    size_t n;
    uint8_t *data = read_corpus(corpus_files[index], &n);
    if (SANITIZED && n > 40000) n = 40000;
    size_t fast = roundtrip(data, n, 3), strong = roundtrip(data, n, 9);
    cr_assert_lt(strong, n, "%s did not compress", corpus_files[index]);
    cr_assert_leq(strong, fast + fast / 50, "%s: level 9 (%zu) lost to level 3 (%zu)",
                  corpus_files[index], strong, fast);
    free(data);
}

Test(cm_corpus, alice29) { corpus_roundtrip(0); }
Test(cm_corpus, asyoulik) { corpus_roundtrip(1); }
Test(cm_corpus, fireworks) { corpus_roundtrip(2); }
Test(cm_corpus, geo) { corpus_roundtrip(3); }
Test(cm_corpus, html) { corpus_roundtrip(4); }
Test(cm_corpus, kppkn) { corpus_roundtrip(5); }
Test(cm_corpus, lcet10) { corpus_roundtrip(6); }
Test(cm_corpus, paper) { corpus_roundtrip(7); }
Test(cm_corpus, plrabn12) { corpus_roundtrip(8); }
Test(cm_corpus, urls) { corpus_roundtrip(9); }

/* The range coder must code within 0.1% of the model's ideal code length. */
Test(cm, coder_overhead) {
    size_t n;
    uint8_t *data = read_corpus("alice29.txt", &n);
    if (SANITIZED) n = 40000;
    for (int level = 3; level <= 9; level += 6) {
        uint8_t *dst = malloc(coded_cap(n)), param;
        size_t len;
        double ideal_bits = -1;
        cr_assert_eq(circa__cm_encode(data, n, dst, coded_cap(n), &len, &param, level, &ideal_bits), CIRCA_OK);
        double ideal_bytes = ideal_bits / 8;
        cr_assert_gt(ideal_bytes, n / 5.0);
        cr_assert_geq(len + 1, ideal_bytes, "coded %zu below ideal %.1f", len, ideal_bytes);
        cr_assert_leq(len, ideal_bytes * 1.001 + 8, "coded %zu vs ideal %.1f", len, ideal_bytes);
        free(dst);
    }
    free(data);
}

/* ---- parameters ------------------------------------------------------------ */

Test(cm, levels_and_param_byte) {
    uint8_t src[100], dst[400], param;
    size_t len;
    memset(src, 'x', sizeof src);
    cr_assert_eq(circa__cm_encode(src, sizeof src, dst, sizeof dst, &len, &param, 0, NULL), CIRCA_E_PARAM);
    cr_assert_eq(circa__cm_encode(src, sizeof src, dst, sizeof dst, &len, &param, 10, NULL), CIRCA_E_PARAM);
    uint8_t fast_param = 0, strong_param = 0;
    for (int level = 1; level <= 9; level++) {
        cr_assert_eq(circa__cm_encode(src, sizeof src, dst, sizeof dst, &len, &param, level, NULL), CIRCA_OK);
        if (level <= 5) fast_param = param;
        else strong_param = param;
    }
    cr_assert_neq(fast_param >> 5, strong_param >> 5, "the profiles must differ in the parameter byte");
}

/* Every parameter byte is either rejected up front or decodes safely; table
 * sizes larger than the block size calls for are rejected. */
Test(cm, bad_param_rejected) {
    size_t n = 2000;
    uint8_t *data = wordy_bytes(n), back[2000];
    coded c = encode_ok(data, n, 9);
    int accepted = 0;
    for (int p = 0; p < 256; p++) {
        circa_status s = circa__cm_decode(c.bytes, c.len, back, n, (uint8_t)p);
        if (p == c.param) {
            cr_assert_eq(s, CIRCA_OK);
            cr_assert(memcmp(back, data, n) == 0);
        } else if (s == CIRCA_OK) {
            accepted++;
        }
        if (s != CIRCA_OK) cr_assert_eq(s, CIRCA_E_FORMAT, "param %d: status %d", p, (int)s);
    }
    cr_assert_eq(accepted, 0, "%d wrong parameter bytes decoded without error", accepted);
    uint8_t profile = c.param & 0xE0, log = c.param & 31;
    cr_assert_eq(circa__cm_decode(c.bytes, c.len, back, n, 0xFF), CIRCA_E_FORMAT);
    cr_assert_eq(circa__cm_decode(c.bytes, c.len, back, n, (uint8_t)(c.param | 0xE0)), CIRCA_E_FORMAT);
    cr_assert_eq(circa__cm_decode(c.bytes, c.len, back, n, (uint8_t)(profile | 31)), CIRCA_E_FORMAT);
    cr_assert_eq(circa__cm_decode(c.bytes, c.len, back, n, (uint8_t)(profile | 3)), CIRCA_E_FORMAT);
    cr_assert_eq(circa__cm_decode(c.bytes, c.len, back, n, (uint8_t)(profile | (log + 1))), CIRCA_E_FORMAT);
    /* the largest tables are valid only for blocks that call for them */
    uint8_t big = (uint8_t)(profile | 23), *big_back = malloc(1 << 20);
    cr_assert_eq(circa__cm_decode(c.bytes, c.len, big_back, 1 << 16, big), CIRCA_E_FORMAT);
    cr_assert_neq(circa__cm_decode(c.bytes, c.len, big_back, 1 << 20, big), CIRCA_OK);
    free(big_back);
    free(c.bytes);
    free(data);
}

/* ---- the destination too small --------------------------------------------- */

Test(cm, dst_too_small) {
    size_t n = 1 << 16;
    uint8_t *data = random_bytes(n), *dst = malloc(n);
    uint8_t param;
    size_t len = 12345;
    for (int level = 3; level <= 9; level += 6) {
        cr_assert_eq(circa__cm_encode(data, n, dst, n / 2, &len, &param, level, NULL), CIRCA_E_DST_SIZE);
        cr_assert_eq(circa__cm_encode(data, n, dst, n - 1, &len, &param, level, NULL), CIRCA_E_DST_SIZE);
        cr_assert_eq(circa__cm_encode(data, n, dst, 0, &len, &param, level, NULL), CIRCA_E_DST_SIZE);
        cr_assert_eq(circa__cm_encode(data, 0, dst, 7, &len, &param, level, NULL), CIRCA_E_DST_SIZE);
    }
    /* exactly the coded size fits; one byte less does not */
    uint8_t *text = wordy_bytes(n);
    coded c = encode_ok(text, n, 9);
    cr_assert_eq(circa__cm_encode(text, n, dst, c.len, &len, &param, 9, NULL), CIRCA_OK);
    cr_assert_eq(len, c.len);
    cr_assert(memcmp(dst, c.bytes, len) == 0);
    cr_assert_eq(circa__cm_encode(text, n, dst, c.len - 1, &len, &param, 9, NULL), CIRCA_E_DST_SIZE);
    free(c.bytes);
    free(text);
    free(data);
    free(dst);
}

/* ---- damaged streams ------------------------------------------------------- */

Test(cm, truncated_input) {
    size_t n = 20000;
    uint8_t *data = wordy_bytes(n), *back = malloc(n);
    for (int level = 3; level <= 9; level += 6) {
        coded c = encode_ok(data, n, level);
        for (size_t cut = 0; cut < c.len; cut += 1 + cut / 4)
            cr_assert_eq(circa__cm_decode(c.bytes, cut, back, n, c.param), CIRCA_E_FORMAT,
                         "level %d: %zu of %zu bytes accepted", level, cut, c.len);
        cr_assert_eq(circa__cm_decode(c.bytes, c.len - 1, back, n, c.param), CIRCA_E_FORMAT);
        /* trailing garbage and a wrong raw size are errors too */
        uint8_t *longer = malloc(c.len + 1);
        memcpy(longer, c.bytes, c.len);
        longer[c.len] = 0;
        cr_assert_eq(circa__cm_decode(longer, c.len + 1, back, n, c.param), CIRCA_E_FORMAT);
        cr_assert_eq(circa__cm_decode(c.bytes, c.len, back, n / 2, c.param), CIRCA_E_FORMAT);
        free(longer);
        free(c.bytes);
    }
    free(data);
    free(back);
}

/* A flipped bit must be reported, or at the very least not decode to the
 * original (the check of the coder's final state makes even flips in the
 * last bytes errors). */
Test(cm, flipped_bytes) {
    size_t n = 4000;
    uint8_t *data = wordy_bytes(n), *back = malloc(n);
    int silent = 0, trials = 0;
    for (int level = 3; level <= 9; level += 6) {
        coded c = encode_ok(data, n, level);
        for (size_t pos = 0; pos < c.len; pos += 1 + c.len / 60) {
            uint8_t saved = c.bytes[pos];
            c.bytes[pos] ^= (uint8_t)(1u << (rnd() % 8));
            circa_status s = circa__cm_decode(c.bytes, c.len, back, n, c.param);
            trials++;
            if (s == CIRCA_OK) {
                silent++;
                cr_assert(memcmp(back, data, n) != 0, "a flip at %zu of %zu decoded to the original", pos, c.len);
            } else {
                cr_assert_eq(s, CIRCA_E_FORMAT);
            }
            c.bytes[pos] = saved;
        }
        free(c.bytes);
    }
    cr_assert_lt(silent * 20, trials, "%d of %d flips went undetected", silent, trials);
    free(data);
    free(back);
}

/* Garbage never crashes, and a huge claimed size fails fast. */
Test(cm, garbage_input) {
    size_t n = 4096, raw = SANITIZED ? 1 << 20 : 1 << 24;
    uint8_t *junk = random_bytes(n), *back = malloc(raw);
    cr_assert_not_null(back);
    for (int profile = 0; profile < 2; profile++) {
        uint8_t param = (uint8_t)(profile << 5 | 16);
        junk[0] = 0; /* get past the coder's first-byte check */
        cr_assert_eq(circa__cm_decode(junk, n, back, raw, param), CIRCA_E_FORMAT);
        cr_assert_eq(circa__cm_decode(junk, 3, back, 100, param), CIRCA_E_FORMAT);
        cr_assert_eq(circa__cm_decode(NULL, 0, back, 100, param), CIRCA_E_FORMAT);
    }
    free(junk);
    free(back);
}

/* ---- threads ---------------------------------------------------------------- */

typedef struct job {
    const uint8_t *src;
    size_t n;
    int level;
    coded out;
} job;

static void *encode_job(void *arg) {
    job *j = arg;
    j->out.bytes = malloc(coded_cap(j->n));
    if (j->out.bytes &&
        circa__cm_encode(j->src, j->n, j->out.bytes, coded_cap(j->n), &j->out.len, &j->out.param, j->level, NULL) != CIRCA_OK)
        j->out.len = 0;
    return NULL;
}

Test(cm, concurrent_calls_agree) {
    size_t n = SANITIZED ? 20000 : 100000;
    uint8_t *data = wordy_bytes(n);
    job jobs[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (job){data, n, t < 2 ? 3 : 9, {NULL, 0, 0}};
        cr_assert_eq(pthread_create(&threads[t], NULL, encode_job, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++) pthread_join(threads[t], NULL);
    for (int t = 0; t < 4; t += 2) {
        cr_assert_gt(jobs[t].out.len, 0);
        cr_assert_eq(jobs[t].out.len, jobs[t + 1].out.len);
        cr_assert(memcmp(jobs[t].out.bytes, jobs[t + 1].out.bytes, jobs[t].out.len) == 0);
    }
    for (int t = 0; t < 4; t++) free(jobs[t].out.bytes);
    free(data);
}
