/* entropy.h: circa's one arithmetic coder, an exact-integer range coder with a
 * 56-bit range and carry propagation, for integer CDFs of any total up to
 * 2^CIRCA_RC_TOTAL_BITS_MAX.
 *
 * Contents
 *   circa_rc_enc  encoder:  init, encode (cum, freq, total), encode_pow2, encode_bit, finish
 *   circa_rc_dec  decoder:  init, target / update pairs, decode_bit, finish
 *
 * Why this design. The coder keeps `range` in [2^48, 2^56] and `low` in 57
 * bits (56 + a carry bit), writing one byte whenever range drops below 2^48,
 * with LZMA's cache-and-carry scheme. A symbol of frequency f out of a total
 * T takes r*f of the range, r = floor(range / T); the part of the range lost
 * to that floor is below T/range <= 2^24/2^48, so the coded size is within
 * 2^-24 of the model's ideal per symbol (plus 8 bytes at the end), for any
 * total up to 2^24. Encoder and decoder use only integer arithmetic, so they
 * agree bit for bit on every platform.
 *
 * Stream layout: the encoder writes exactly as many bytes as the decoder
 * reads (8 at start-up plus one per renormalisation), the first byte is
 * always 0, and the last 7 bytes are exactly the final low, so the decoder
 * ends with code == 0. circa_rc_dec_finish checks all three, so truncation,
 * trailing garbage and most corruption are detected even before a block
 * checksum is checked.
 *
 * Both sides are plain structs with inline functions: the hot loops of the
 * models inline them. They never read or write outside the given buffers:
 * the encoder records overflow (and stops writing), the decoder feeds zeros
 * past the end and records the overrun. */
#ifndef CIRCA_ENTROPY_H
#define CIRCA_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CIRCA_RC_TOTAL_BITS_MAX 24
#define CIRCA_RC__TOP ((uint64_t)1 << 56)
#define CIRCA_RC__BOT ((uint64_t)1 << 48)
#define CIRCA_RC__MASK (CIRCA_RC__TOP - 1)

typedef struct circa_rc_enc {
    uint64_t low;        /* 57 bits: bit 56 is a pending carry */
    uint64_t range;      /* in [2^48, 2^56] between calls */
    uint64_t cache_size; /* 1 + number of pending 0xFF bytes */
    uint8_t cache;       /* the byte before the pending 0xFFs */
    uint8_t *dst;
    size_t cap, pos;
    int overflow;        /* set when dst was too small; output is then invalid */
} circa_rc_enc;

typedef struct circa_rc_dec {
    uint64_t code;  /* stream value minus low, always < range */
    uint64_t range;
    const uint8_t *src;
    size_t size, pos;
    size_t overrun; /* bytes requested past the end of src */
    int bad_start;  /* the first byte was not 0 */
} circa_rc_dec;

/* ---- encoder ----------------------------------------------------------- */
static inline void circa_rc__put(circa_rc_enc *e, uint8_t b) {
    if (e->pos < e->cap)
        e->dst[e->pos++] = b;
    else
        e->overflow = 1;
}

/* Moves the top byte of low out, resolving a carry into pending bytes. */
static inline void circa_rc__shift_low(circa_rc_enc *e) {
    if (e->low < ((uint64_t)0xFF << 48) || e->low >= CIRCA_RC__TOP) {
        uint8_t carry = (uint8_t)(e->low >> 56);
        uint8_t b = e->cache;
        do {
            circa_rc__put(e, (uint8_t)(b + carry));
            b = 0xFF;
        } while (--e->cache_size != 0);
        e->cache = (uint8_t)(e->low >> 48);
    }
    e->cache_size++;
    e->low = (e->low << 8) & CIRCA_RC__MASK;
}

static inline void circa_rc__enc_norm(circa_rc_enc *e) {
    while (e->range < CIRCA_RC__BOT) {
        e->range <<= 8;
        circa_rc__shift_low(e);
    }
}

static inline void circa_rc_enc_init(circa_rc_enc *e, void *dst, size_t cap) {
    e->low = 0;
    e->range = CIRCA_RC__MASK;
    e->cache_size = 1;
    e->cache = 0;
    e->dst = (uint8_t *)dst;
    e->cap = cap;
    e->pos = 0;
    e->overflow = 0;
}

/* Codes the interval [cum, cum+freq) of [0, total). Requires freq >= 1,
 * cum + freq <= total, 1 <= total <= 2^CIRCA_RC_TOTAL_BITS_MAX. */
static inline void circa_rc_encode(circa_rc_enc *e, uint32_t cum, uint32_t freq, uint32_t total) {
    uint64_t r = e->range / total;
    e->low += r * cum;
    e->range = r * freq;
    circa_rc__enc_norm(e);
}

/* The same with total = 2^bits: a shift instead of a division. */
static inline void circa_rc_encode_pow2(circa_rc_enc *e, uint32_t cum, uint32_t freq, unsigned bits) {
    uint64_t r = e->range >> bits;
    e->low += r * cum;
    e->range = r * freq;
    circa_rc__enc_norm(e);
}

/* Codes one bit; p1 is the probability of a 1 in 1/65536 units, 1..65535. */
static inline void circa_rc_encode_bit(circa_rc_enc *e, int bit, uint32_t p1) {
    uint64_t split = (e->range >> 16) * p1;
    if (bit) {
        e->range = split;
    } else {
        e->low += split;
        e->range -= split;
    }
    circa_rc__enc_norm(e);
}

/* Writes the final bytes. Returns the stream length, or 0 on overflow. */
static inline size_t circa_rc_enc_finish(circa_rc_enc *e) {
    for (int i = 0; i < 8; i++) circa_rc__shift_low(e);
    return e->overflow ? 0 : e->pos;
}

/* ---- decoder ----------------------------------------------------------- */
static inline uint8_t circa_rc__get(circa_rc_dec *d) {
    if (d->pos < d->size) return d->src[d->pos++];
    d->overrun++;
    return 0;
}

static inline void circa_rc__dec_norm(circa_rc_dec *d) {
    while (d->range < CIRCA_RC__BOT) {
        d->range <<= 8;
        d->code = ((d->code << 8) | circa_rc__get(d)) & CIRCA_RC__MASK;
    }
}

static inline void circa_rc_dec_init(circa_rc_dec *d, const void *src, size_t size) {
    d->src = (const uint8_t *)src;
    d->size = size;
    d->pos = 0;
    d->overrun = 0;
    d->range = CIRCA_RC__MASK;
    d->code = 0;
    d->bad_start = circa_rc__get(d) != 0;
    for (int i = 0; i < 7; i++) d->code = (d->code << 8) | circa_rc__get(d);
    /* A valid stream never has code >= range; clamp so corrupt input stays in bounds. */
    if (d->code >= d->range) {
        d->code = d->range - 1;
        d->bad_start = 1;
    }
}

/* Returns the value in [0, total) that locates the next symbol; the caller
 * finds the symbol s with cum(s) <= value < cum(s)+freq(s) and then calls
 * circa_rc_decode_update with the same total. Corrupt input can only yield
 * values in range, so lookups stay in bounds. */
static inline uint32_t circa_rc_decode_target(circa_rc_dec *d, uint32_t total) {
    uint64_t r = d->range / total;
    uint64_t v = d->code / r;
    return v < total ? (uint32_t)v : total - 1;
}

static inline void circa_rc_decode_update(circa_rc_dec *d, uint32_t cum, uint32_t freq, uint32_t total) {
    uint64_t r = d->range / total;
    d->code -= r * cum;
    d->range = r * freq;
    if (d->code >= d->range) d->code = d->range - 1; /* only on corrupt input */
    circa_rc__dec_norm(d);
}

static inline uint32_t circa_rc_decode_target_pow2(circa_rc_dec *d, unsigned bits) {
    uint64_t v = d->code / (d->range >> bits);
    uint32_t total = (uint32_t)1 << bits;
    return v < total ? (uint32_t)v : total - 1;
}

static inline void circa_rc_decode_update_pow2(circa_rc_dec *d, uint32_t cum, uint32_t freq, unsigned bits) {
    uint64_t r = d->range >> bits;
    d->code -= r * cum;
    d->range = r * freq;
    if (d->code >= d->range) d->code = d->range - 1;
    circa_rc__dec_norm(d);
}

static inline int circa_rc_decode_bit(circa_rc_dec *d, uint32_t p1) {
    uint64_t split = (d->range >> 16) * p1;
    int bit;
    if (d->code < split) {
        d->range = split;
        bit = 1;
    } else {
        d->code -= split;
        d->range -= split;
        bit = 0;
    }
    circa_rc__dec_norm(d);
    return bit;
}

/* Returns 0 when the stream was consumed exactly and well formed, nonzero
 * when it was truncated, had trailing bytes, a bad first byte, or did not
 * end exactly on the encoder's final low (the encoder flushes all of low, so
 * a valid stream leaves code == 0: this catches flips in the last bytes). */
static inline int circa_rc_dec_finish(const circa_rc_dec *d) {
    return d->bad_start || d->overrun != 0 || d->pos != d->size || d->code != 0;
}

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_ENTROPY_H */
