/* test_entropy.c: the range coder: symmetric encode/decode over random integer
 * CDFs of every precision up to 2^24, binary decisions, exact stream length,
 * truncation detection, and its overhead against the ideal code length. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "circa/entropy.h"

/* xorshift64*: deterministic test randomness. */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

/* A random CDF over k symbols with the given total; every frequency >= 1. */
static void random_cdf(uint32_t *cum, uint32_t k, uint32_t total, int skew) {
    double *w = malloc(k * sizeof *w), sum = 0;
    for (uint32_t i = 0; i < k; i++) {
        double u = (double)(rnd() >> 11) / 9007199254740992.0;
        w[i] = skew ? pow(u, 8.0) : u;
        sum += w[i];
    }
    uint32_t spare = total - k, acc = 0;
    cum[0] = 0;
    for (uint32_t i = 0; i < k; i++) {
        uint32_t f = 1 + (uint32_t)(spare * (w[i] / sum));
        if (i == k - 1 || acc + f > total - (k - 1 - i)) f = total - acc - (k - 1 - i);
        acc += f;
        cum[i + 1] = acc;
    }
    cum[k] = total;
    free(w);
}

static uint32_t find_symbol(const uint32_t *cum, uint32_t k, uint32_t v) {
    uint32_t lo = 0, hi = k; /* cum[lo] <= v < cum[hi] */
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (cum[mid] <= v) lo = mid; else hi = mid;
    }
    return lo;
}

/* Codes n symbols drawn from the CDF itself; checks the round trip and
 * returns coded bits / ideal bits. */
static double roundtrip_cdf(uint32_t k, unsigned bits, int pow2, int skew, size_t n) {
    uint32_t total = (uint32_t)1 << bits;
    if (!pow2 && total >= 3) total -= (uint32_t)(rnd() % (total / 3)); /* a non-power-of-two total */
    if (total < k) total = k;
    uint32_t *cum = malloc((k + 1) * sizeof *cum);
    uint32_t *sym = malloc(n * sizeof *sym);
    random_cdf(cum, k, total, skew);
    double ideal = 0;
    for (size_t i = 0; i < n; i++) {
        sym[i] = find_symbol(cum, k, (uint32_t)(rnd() % total));
        ideal -= log2((double)(cum[sym[i] + 1] - cum[sym[i]]) / total);
    }
    size_t cap = n * 4 + 64;
    uint8_t *buf = malloc(cap);
    circa_rc_enc e;
    circa_rc_enc_init(&e, buf, cap);
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cum[sym[i]], f = cum[sym[i] + 1] - c;
        if (pow2) circa_rc_encode_pow2(&e, c, f, bits);
        else circa_rc_encode(&e, c, f, total);
    }
    size_t len = circa_rc_enc_finish(&e);
    cr_assert(len > 0);
    circa_rc_dec d;
    circa_rc_dec_init(&d, buf, len);
    for (size_t i = 0; i < n; i++) {
        uint32_t v = pow2 ? circa_rc_decode_target_pow2(&d, bits) : circa_rc_decode_target(&d, total);
        uint32_t s = find_symbol(cum, k, v);
        cr_assert_eq(s, sym[i], "symbol %zu: %u != %u (k=%u bits=%u)", i, s, sym[i], k, bits);
        if (pow2) circa_rc_decode_update_pow2(&d, cum[s], cum[s + 1] - cum[s], bits);
        else circa_rc_decode_update(&d, cum[s], cum[s + 1] - cum[s], total);
    }
    cr_assert_eq(circa_rc_dec_finish(&d), 0, "stream not consumed exactly");
    free(cum);
    free(sym);
    free(buf);
    return ideal > 0 ? (double)(len * 8) / ideal : 1.0;
}

Test(entropy, roundtrip_every_precision) {
    for (unsigned bits = 1; bits <= CIRCA_RC_TOTAL_BITS_MAX; bits++) {
        uint32_t k = bits >= 9 ? 256 : (1u << bits);
        for (int pow2 = 0; pow2 < 2; pow2++)
            for (int skew = 0; skew < 2; skew++) roundtrip_cdf(k, bits, pow2, skew, 3000);
    }
}

Test(entropy, overhead_below_a_tenth_of_a_percent) {
    /* Large runs so the 8 flush bytes are negligible; skewed (low-entropy)
     * CDFs at the maximum precision stress the rounding most. */
    for (int skew = 0; skew < 2; skew++) {
        double ratio = roundtrip_cdf(256, 24, 0, skew, 400000);
        cr_assert(ratio < 1.001, "overhead %.5f%% (skew %d)", (ratio - 1) * 100, skew);
        ratio = roundtrip_cdf(256, 16, 1, skew, 400000);
        cr_assert(ratio < 1.001, "overhead %.5f%% (pow2, skew %d)", (ratio - 1) * 100, skew);
    }
}

Test(entropy, bits_roundtrip_and_overhead) {
    size_t n = 1000000;
    uint8_t *bits = malloc(n), *buf = malloc(n / 2 + 64);
    uint16_t *p = malloc(n * sizeof *p);
    double ideal = 0;
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint16_t)(1 + rnd() % 65535);
        bits[i] = (rnd() % 65536) < p[i];
        ideal -= log2((bits[i] ? p[i] : 65536 - p[i]) / 65536.0);
    }
    circa_rc_enc e;
    circa_rc_enc_init(&e, buf, n / 2 + 64);
    for (size_t i = 0; i < n; i++) circa_rc_encode_bit(&e, bits[i], p[i]);
    size_t len = circa_rc_enc_finish(&e);
    cr_assert(len > 0);
    cr_assert((double)len * 8 < ideal * 1.001 + 64, "coded %zu bytes, ideal %.0f", len, ideal / 8);
    circa_rc_dec d;
    circa_rc_dec_init(&d, buf, len);
    for (size_t i = 0; i < n; i++) cr_assert_eq(circa_rc_decode_bit(&d, p[i]), bits[i]);
    cr_assert_eq(circa_rc_dec_finish(&d), 0);
    free(bits);
    free(buf);
    free(p);
}

Test(entropy, carry_propagation_extremes) {
    /* Always coding the top of the range forces long runs of 0xFF and
     * carries; the bottom forces runs of 0x00. */
    for (int top = 0; top < 2; top++) {
        uint8_t buf[4096];
        circa_rc_enc e;
        circa_rc_enc_init(&e, buf, sizeof buf);
        for (int i = 0; i < 2000; i++) {
            uint32_t total = 65535 - (uint32_t)(i & 1);
            circa_rc_encode(&e, top ? total - 1 : 0, 1, total);
        }
        size_t len = circa_rc_enc_finish(&e);
        cr_assert(len > 0);
        circa_rc_dec d;
        circa_rc_dec_init(&d, buf, len);
        for (int i = 0; i < 2000; i++) {
            uint32_t total = 65535 - (uint32_t)(i & 1);
            uint32_t v = circa_rc_decode_target(&d, total);
            cr_assert_eq(v, top ? total - 1 : 0);
            circa_rc_decode_update(&d, top ? total - 1 : 0, 1, total);
        }
        cr_assert_eq(circa_rc_dec_finish(&d), 0);
    }
}

Test(entropy, overflow_and_truncation_detected) {
    uint8_t buf[16];
    circa_rc_enc e;
    circa_rc_enc_init(&e, buf, sizeof buf);
    for (int i = 0; i < 100; i++) circa_rc_encode(&e, 3, 1, 256);
    cr_assert_eq(circa_rc_enc_finish(&e), 0, "overflow must be reported");

    uint8_t big[256];
    circa_rc_enc_init(&e, big, sizeof big);
    for (int i = 0; i < 100; i++) circa_rc_encode(&e, (uint32_t)i, 1, 256);
    size_t len = circa_rc_enc_finish(&e);
    cr_assert(len > 8);
    for (size_t cut = 0; cut < len; cut++) {
        circa_rc_dec d;
        circa_rc_dec_init(&d, big, cut);
        for (int i = 0; i < 100; i++) {
            uint32_t v = circa_rc_decode_target(&d, 256);
            circa_rc_decode_update(&d, v, 1, 256);
        }
        cr_assert_neq(circa_rc_dec_finish(&d), 0, "truncation at %zu not detected", cut);
    }
}
