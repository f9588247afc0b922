/* pcm.c: the audio room's shared plumbing: float <-> packed PCM conversion
 * with exact integer scaling, the rewindable byte stream used for pipes,
 * limits, names and message formatting. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "audio_internal.h"

/* ---- names and limits ---------------------------------------------------- */
const char *circa_audio_container_name(circa_audio_container c) {
    static const char *const names[] = {"wav", "flac", "au", "raw", "other"};
    return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "?";
}

const char *circa_sample_format_name(circa_sample_format f) {
    static const char *const names[] = {"s16", "s24", "s32", "f32"};
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "?";
}

circa_status circa__say(char *why, size_t cap, circa_status st, const char *fmt, ...) {
    if (!why || cap == 0) return st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return st;
}

circa_status circa__audio_check(uint32_t rate, uint32_t channels, char *why, size_t cap) {
    if (channels == 0) return circa__say(why, cap, CIRCA_E_FORMAT, "zero channels");
    if (channels > CIRCA_AUDIO_MAX_CHANNELS)
        return circa__say(why, cap, CIRCA_E_FORMAT, "%u channels (at most %u)", channels,
                          CIRCA_AUDIO_MAX_CHANNELS);
    if (rate == 0) return circa__say(why, cap, CIRCA_E_FORMAT, "sample rate 0");
    if (rate > CIRCA_AUDIO_MAX_RATE)
        return circa__say(why, cap, CIRCA_E_FORMAT, "sample rate %u Hz (at most %u)", rate,
                          CIRCA_AUDIO_MAX_RATE);
    return CIRCA_OK;
}

/* ---- conversion ---------------------------------------------------------- */
unsigned circa__format_bits(circa_sample_format f) {
    switch (f) {
    case CIRCA_SAMPLE_S16: return 16;
    case CIRCA_SAMPLE_S24: return 24;
    case CIRCA_SAMPLE_S32: return 32;
    default: return 0;
    }
}

circa__pcm_layout circa__pcm_layout_of(circa_sample_format f, int big_endian) {
    circa__pcm_layout l = {4, f == CIRCA_SAMPLE_F32, 0, big_endian};
    if (f == CIRCA_SAMPLE_S16) l.bytes = 2;
    if (f == CIRCA_SAMPLE_S24) l.bytes = 3;
    return l;
}

int32_t circa__quantize(float x, unsigned bits, uint64_t *clipped) {
    /* Double holds x * 2^31 exactly, so the only rounding is to integer. */
    double scale = ldexp(1.0, (int)bits - 1);
    double v = (double)x * scale, hi = scale - 1.0, lo = -scale;
    if (v != v) v = 0.0; /* NaN */
    if (v > hi || v < lo) {
        v = v > hi ? hi : lo;
        (*clipped)++;
    }
    int64_t r = (int64_t)nearbyint(v); /* ties to even in the default rounding mode */
    return (int32_t)(uint32_t)((uint64_t)r << (32 - bits));
}

/* The sample as an unsigned integer, bytes in file order, MSB-aligned to 32
 * bits (so that every integer width decodes the same way). */
static uint32_t load_bits(const unsigned char *p, unsigned bytes, int big) {
    uint32_t v = 0;
    for (unsigned k = 0; k < bytes; k++) {
        unsigned b = big ? p[k] : p[bytes - 1 - k];
        v = (v << 8) | b;
    }
    return v << (32 - 8 * bytes);
}

static void store_bits(unsigned char *p, uint32_t v, unsigned bytes, int big) {
    v >>= 32 - 8 * bytes;
    for (unsigned k = 0; k < bytes; k++) {
        unsigned char b = (unsigned char)(v >> (8 * k));
        if (big) p[bytes - 1 - k] = b;
        else p[k] = b;
    }
}

static float load_float(const unsigned char *p, unsigned bytes, int big) {
    uint64_t u = 0;
    for (unsigned k = 0; k < bytes; k++) u = (u << 8) | (big ? p[k] : p[bytes - 1 - k]);
    if (bytes == 4) {
        uint32_t u32 = (uint32_t)u;
        float f;
        memcpy(&f, &u32, 4);
        return f;
    }
    double d;
    memcpy(&d, &u, 8);
    return (float)d;
}

void circa__pcm_decode(const circa__pcm_layout *l, const unsigned char *src, float *dst, size_t n) {
    const float scale = 0x1p-31f; /* a power of two: exact for any int of <= 24 bits */
    for (size_t i = 0; i < n; i++, src += l->bytes) {
        if (l->is_float) {
            dst[i] = load_float(src, l->bytes, l->big_endian);
            continue;
        }
        uint32_t u = load_bits(src, l->bytes, l->big_endian);
        if (l->is_unsigned) u ^= 0x80000000u; /* offset binary to two's complement */
        dst[i] = (float)(int32_t)u * scale;
    }
}

uint64_t circa__pcm_encode(const circa__pcm_layout *l, const float *src, unsigned char *dst,
                           size_t n) {
    uint64_t clipped = 0;
    for (size_t i = 0; i < n; i++, dst += l->bytes) {
        uint32_t u;
        if (l->is_float) {
            memcpy(&u, &src[i], 4);
            store_bits(dst, u, 4, l->big_endian);
            continue;
        }
        u = (uint32_t)circa__quantize(src[i], 8 * l->bytes, &clipped);
        store_bits(dst, u, l->bytes, l->big_endian);
    }
    return clipped;
}

/* ---- byte streams -------------------------------------------------------- */
void circa__bstream_init(circa__bstream *s, int fd, size_t hist_cap) {
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->hist_cap = hist_cap;
}

void circa__bstream_free(circa__bstream *s) {
    if (!s) return;
    free(s->hist);
    s->hist = NULL;
    s->hist_alloc = 0;
}

static int64_t hist_len(const circa__bstream *s) {
    return s->fetched < (int64_t)s->hist_cap ? s->fetched : (int64_t)s->hist_cap;
}

/* Makes room to remember `need` bytes of prefix; -1 when memory is short
 * (the caller then stops remembering: later seeks back fail cleanly). */
static int hist_reserve(circa__bstream *s, size_t need) {
    if (need <= s->hist_alloc) return 0;
    size_t cap = s->hist_alloc ? s->hist_alloc : 4096;
    while (cap < need) cap *= 2;
    if (cap > s->hist_cap) cap = s->hist_cap;
    unsigned char *p = realloc(s->hist, cap);
    if (!p) return -1;
    s->hist = p;
    s->hist_alloc = cap;
    return 0;
}

/* One read(2) from the fd at the stream's end, remembering the prefix. */
static ssize_t fetch(circa__bstream *s, unsigned char *dst, size_t n) {
    ssize_t r;
    do r = read(s->fd, dst, n);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        s->err = errno;
        return -1;
    }
    int64_t keep = (int64_t)s->hist_cap - s->fetched;
    if (keep > r) keep = r;
    if (keep > 0 && hist_reserve(s, (size_t)(s->fetched + keep)) != 0) {
        s->hist_cap = (size_t)s->fetched; /* out of memory: remember no more */
        keep = 0;
    }
    if (keep > 0) memcpy(s->hist + s->fetched, dst, (size_t)keep);
    s->fetched += r;
    return r;
}

size_t circa__bstream_read(circa__bstream *s, void *dst, size_t n) {
    unsigned char *d = dst;
    size_t done = 0;
    while (done < n) {
        if (s->pos < s->fetched) { /* inside the remembered prefix */
            if (s->pos >= hist_len(s)) break; /* cannot happen: seek keeps pos readable */
            size_t c = (size_t)(hist_len(s) - s->pos);
            if (c > n - done) c = n - done;
            memcpy(d + done, s->hist + s->pos, c);
            done += c;
            s->pos += (int64_t)c;
            continue;
        }
        ssize_t r = fetch(s, d + done, n - done);
        if (r <= 0) break;
        done += (size_t)r;
        s->pos = s->fetched;
    }
    return done;
}

int circa__bstream_skip(circa__bstream *s, uint64_t n) {
    unsigned char junk[4096];
    while (n > 0) {
        size_t c = n < sizeof junk ? (size_t)n : sizeof junk;
        if (circa__bstream_read(s, junk, c) < c) return -1;
        n -= c;
    }
    return 0;
}

int circa__bstream_seek(circa__bstream *s, int64_t to) {
    if (to < 0) return -1;
    if (to < hist_len(s) || to == s->fetched) {
        s->pos = to;
        return 0;
    }
    /* Ahead: only as far as the prefix is remembered, so a failed probe
     * leaves the stream as it was (libsndfile then goes on from there). */
    if (to < s->fetched || to > (int64_t)s->hist_cap) return -1;
    int64_t back = s->pos;
    s->pos = s->fetched;
    if (circa__bstream_skip(s, (uint64_t)(to - s->fetched)) != 0) {
        /* what was read is remembered, so the old position is still readable */
        s->pos = back < hist_len(s) || back == s->fetched ? back : s->fetched;
        return -1;
    }
    return 0;
}
