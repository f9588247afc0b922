/* cm.c: the "cm" block codec, a bitwise context-mixing byte model (order-n,
 * word, record and match models, gated neural mixers, APM refinement) whose
 * bit probabilities drive circa's range coder.
 *
 * How it works. Each byte is coded as 8 binary decisions, most significant
 * bit first. For every decision, each context model looks up a one-byte bit
 * history state in a slot selected by (its context, the bits of the byte seen
 * so far); an adaptive table (StateMap) maps that state to a probability. The
 * stretched probabilities (logits) of all models are combined by small neural
 * networks whose weight sets are chosen by small contexts, and adaptive
 * probability maps (APMs) refine the result. After the bit is coded, every
 * table learns from it.
 *
 * Profiles. "fast" (levels 1-5) mixes orders 0-3 with one mixer and one APM.
 * "strong" (levels 6-9) mixes orders 0-4 and 6, a word model, four record
 * contexts (or, without records, order 5 and three sparse contexts) and a
 * match model with two mixers (four and a final one within records) and
 * three APMs.
 *
 * Records. The strong profile detects a record length per block (a period
 * of the data: equal bytes, or close values, recur at that distance) and,
 * within it, a row length (for 2-D data such as an image per record). Its
 * record contexts are then the 2-D neighbours of the byte: W (left), N (a row
 * back), NW, NE, NN, quantised, combined, and as the plane prediction
 * W + N - NW with quantised gradients.
 *
 * Hashed context tables are arrays of 16-byte buckets: one check byte and the
 * 15 bit-history states of a nibble's binary tree (1 + 2 + 4 + 8 nodes). A
 * bucket is looked up twice per byte (for the high and the low nibble) among
 * three neighbours; on a miss the least used neighbour is recycled. The
 * strong profile's lookups miss the caches, so they are prefetched one bit
 * ahead.
 *
 * Exactness. The whole model uses integer arithmetic only, and every table is
 * computed from integer constants, so encoder and decoder agree bit for bit on
 * any platform. Floating point is used only to report the ideal code length.
 *
 * Parameter byte: bits 7..5 the profile (0 fast, 1 strong), bits 4..0 the
 * block's table size log, from which every table size follows (fast: 16..21,
 * strong: 16..23); other values are rejected. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* for mmap's MAP_ANONYMOUS and madvise under -std=c11 */
#endif
#include "cm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "circa/entropy.h"

/* Big tables are mapped directly on Linux (see cm_arena_alloc), except under
 * AddressSanitizer, which cannot check accesses inside a raw mapping. */
#if defined(__SANITIZE_ADDRESS__)
#define CM_USE_MMAP 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CM_USE_MMAP 0
#endif
#endif
#if !defined(CM_USE_MMAP) && defined(__linux__)
#define CM_USE_MMAP 1
#endif
#if !defined(CM_USE_MMAP)
#define CM_USE_MMAP 0
#endif
#if CM_USE_MMAP
#include <sys/mman.h>
#endif

/* Hot helpers are forced inline so that each profile's loop is compiled with
 * its constants (table and input counts) folded in. */
#if defined(__GNUC__)
#define CM_PREFETCH(p) __builtin_prefetch(p)
#define CM_HOT __attribute__((always_inline)) static inline
#else
#define CM_PREFETCH(p) ((void)(p))
#define CM_HOT static inline
#endif
#if defined(__GNUC__) && !defined(__clang__)
#define CM_UNROLL _Pragma("GCC unroll 16")
#else
#define CM_UNROLL
#endif

/* ---- profiles and the parameter byte ------------------------------------- */

enum {
    CM_PROFILE_FAST = 0,
    CM_PROFILE_STRONG = 1,
    CM_TABLE_LOG_MIN = 16,
    CM_TABLE_LOG_MAX_FAST = 21,
    CM_TABLE_LOG_MAX_STRONG = 23,
    CM_MATCH_MIN = 6,       /* bytes hashed to find a match candidate */
    CM_MATCH_VERIFY = 32,   /* bytes compared backwards to measure a new match */
    CM_RECORD_MAX = 4096,   /* longest record length detected */
    CM_RECORD_WINDOW = 256, /* bytes a record length is tested on */
    CM_RECORD_COOLDOWN = 32,
    CM_RECORD_SCAN = 512,   /* longest record length searched for directly */
    CM_SCAN_WINDOW = 1024,  /* bytes that search is done on */
    CM_PAGE_MASK = 255,     /* buckets per 4 KiB page - 1 */
    CM_MAX_HASHED = 10,     /* hashed context tables */
    CM_MAX_INPUTS = 14      /* mixer inputs, bias included (a weight set's stride) */
};

/* The table size log a level may use at most. */
static int cm_level_table_log_max(int level) {
    static const unsigned char max_log[10] = {0, 20, 20, 20, 21, 21, 21, 22, 22, 23};
    return max_log[level];
}

/* Tables sized to the block: about 32 table bytes per input byte is enough to
 * keep collisions rare, and smaller tables stay in cache. */
static int cm_table_log_for(size_t n, int log_max) {
    int log = CM_TABLE_LOG_MIN;
    while (log < log_max && ((size_t)1 << log) / 32 < n) log++;
    return log;
}

/* A parameter byte is valid for a block of raw_size bytes if it names a known
 * profile and a table size the encoder could have chosen for that size; this
 * also bounds the decoder's memory by the block size. */
static int cm_param_valid(uint8_t param, size_t raw_size) {
    int profile = param >> 5, log = param & 31;
    int log_max = profile == CM_PROFILE_FAST ? CM_TABLE_LOG_MAX_FAST
                : profile == CM_PROFILE_STRONG ? CM_TABLE_LOG_MAX_STRONG : 0;
    return log_max && log >= CM_TABLE_LOG_MIN && log <= cm_table_log_for(raw_size, log_max);
}

/* ---- fixed-point logistic functions --------------------------------------- */

/* squash(x) = 65536 / (1 + e^(-x/256)) at x = -2048, -1920, ..., 2048; values
 * in between are interpolated linearly. Integer knots keep it exact. */
static const uint16_t cm_squash_knots[33] = {
    22, 36, 60, 98, 162, 267, 439, 720, 1179, 1921, 3108, 4971, 7812, 11955, 17625, 24743,
    32768, 40793, 47911, 53581, 57724, 60565, 62428, 63615, 64357, 64816, 65097, 65269,
    65374, 65438, 65476, 65500, 65514};

/* Per-call constant tables, derived from integers only. */
typedef struct cm_tables {
    uint16_t squash[4096];   /* logit x+2048 (x in -2048..2047, 1/256 nats) -> P(1) in 1/65536 */
    int16_t stretch[4096];   /* 12-bit probability -> logit, the inverse of squash */
    uint8_t next[256][2];    /* bit history state transitions */
    uint8_t total[256];      /* observations a state stands for (bucket priority) */
    uint32_t state_p0[256];  /* initial StateMap entry of each state */
    uint16_t recip[1024];    /* 2^17 / (2n + 3): adaptation rate after n updates */
} cm_tables;

static void cm_init_logistic(cm_tables *t) {
    for (int i = 0; i < 4096; i++) {
        int k = i >> 7, w = i & 127;
        int v = (cm_squash_knots[k] * (128 - w) + cm_squash_knots[k + 1] * w) >> 7;
        t->squash[i] = (uint16_t)(v < 1 ? 1 : v > 65535 ? 65535 : v);
    }
    /* stretch(p) is the smallest x whose squash reaches p (in 12 bits). */
    int p = 0;
    for (int x = -2047; x <= 2047; x++) {
        int v = t->squash[x + 2048] >> 4;
        while (p <= v && p < 4096) t->stretch[p++] = (int16_t)x;
    }
    while (p < 4096) t->stretch[p++] = 2047;
}

/* ---- bit history states --------------------------------------------------- */

/* A state stands for a pair of counts (n0, n1) of zeros and ones seen in a
 * context, biased to recent history: when a bit arrives, the opposite count,
 * if above 2, is roughly halved. Pairs are bounded so that there are fewer than
 * 256: the larger count may be at most cm_count_bound[smaller count]. */
static const uint8_t cm_count_bound[8] = {40, 24, 16, 12, 9, 7, 7, 7};

static int cm_pair_allowed(int n0, int n1) {
    int lo = n0 < n1 ? n0 : n1, hi = n0 < n1 ? n1 : n0;
    return lo < 8 && hi <= cm_count_bound[lo];
}

static void cm_init_states(cm_tables *t) {
    int16_t index[41][41];
    uint8_t n0_of[256], n1_of[256];
    int count = 0;
    for (int sum = 0; sum <= 80; sum++) /* state 0 is (0,0): a fresh slot */
        for (int n1 = 0; n1 <= sum; n1++) {
            int n0 = sum - n1;
            if (n0 > 40 || n1 > 40) continue;
            index[n0][n1] = -1;
            if (!cm_pair_allowed(n0, n1)) continue;
            index[n0][n1] = (int16_t)count;
            n0_of[count] = (uint8_t)n0;
            n1_of[count] = (uint8_t)n1;
            count++;
        }
    memset(t->next, 0, sizeof t->next);
    memset(t->total, 0, sizeof t->total);
    for (int s = 0; s < 256; s++) t->state_p0[s] = (uint32_t)1 << 31;
    for (int s = 0; s < count; s++) {
        for (int bit = 0; bit < 2; bit++) {
            int same = bit ? n1_of[s] : n0_of[s], other = bit ? n0_of[s] : n1_of[s];
            if (same < 40) same++;
            if (other > 2) other = other / 2 + 1;
            /* Project onto the allowed pairs, keeping the fresh evidence. */
            while (!cm_pair_allowed(same, other)) {
                if (same > other) same--;
                else other--;
            }
            t->next[s][bit] = (uint8_t)(bit ? index[other][same] : index[same][other]);
        }
        int n0 = n0_of[s], n1 = n1_of[s];
        t->total[s] = (uint8_t)(n0 + n1);
        /* P(1) = (n1 + 1/2) / (n + 1) as a 22-bit probability, count 0. */
        uint32_t p22 = (uint32_t)(((uint64_t)(2 * n1 + 1) << 22) / (uint64_t)(2 * (n0 + n1) + 2));
        t->state_p0[s] = p22 << 10;
    }
    for (int n = 0; n < 1024; n++) t->recip[n] = (uint16_t)(131072 / (2 * n + 3));
}

static void cm_init_tables(cm_tables *t) {
    cm_init_logistic(t);
    cm_init_states(t);
}

CM_HOT int cm_squash(const cm_tables *t, int x) {
    if (x > 2047) x = 2047;
    if (x < -2047) x = -2047;
    return t->squash[x + 2048];
}

/* ---- StateMaps: adaptive probabilities -------------------------------- */

/* A context's StateMap maps each bit history state to a 32-bit probability
 * of a 1, moved 1/256 of the way to each coded bit. The states are shared by
 * all contexts of an order, so the maps learn fast and a fixed rate is enough. */
CM_HOT int cm_p12(uint32_t p32) { return (int)(p32 >> 20); }

CM_HOT void cm_sm_update(uint32_t *p32, int bit) {
    uint32_t p = *p32;
    *p32 = bit ? p + ((~p) >> 8) : p - (p >> 8);
}

/* The match model's map: an entry holds a 22-bit probability in its top bits
 * and an update count in its low 10 bits; the rate 1/(n + 1.5) slows down to
 * 1/(limit + 1.5), since some of its contexts are rare. */
CM_HOT void cm_counted_update(uint32_t *entry, int bit, unsigned limit, const uint16_t *recip) {
    uint32_t v = *entry;
    unsigned n = v & 1023;
    int32_t p = (int32_t)(v >> 10);
    int32_t target = bit ? (1 << 22) - 1 : 0;
    p += (int32_t)(((int64_t)(target - p) * recip[n]) >> 17);
    n += n < limit;
    *entry = ((uint32_t)p << 10) | n;
}

/* ---- APM: maps (context, probability) to a refined probability -------------- */

/* Each context owns 33 probabilities at logits -2048, -1920, ..., 2048; the
 * output interpolates the two around the input, and the nearer one learns. */
typedef struct cm_apm {
    uint16_t *t;       /* contexts x 33 entries, owned by the model */
    uint32_t slot; /* the entry to update after the bit */
    int rate;
} cm_apm;

/* Sets up an APM over `contexts` contexts in t (contexts * 33 entries). */
static void cm_apm_init(cm_apm *a, uint16_t *t, const cm_tables *tb, size_t contexts, int rate) {
    a->t = t;
    for (int j = 0; j < 33; j++) /* every context starts as the identity map */
        t[j] = (uint16_t)(j == 32 ? 65535 : tb->squash[j * 128]);
    for (size_t c = 1; c < contexts; c++) memcpy(t + c * 33, t, 33 * sizeof *t);
    a->slot = 0;
    a->rate = rate;
}

CM_HOT int cm_apm_predict(cm_apm *a, int x, uint32_t ctx) {
    if (x > 2047) x = 2047;
    if (x < -2047) x = -2047;
    int u = x + 2048, w = u & 127;
    uint32_t i = ctx * 33 + (uint32_t)(u >> 7);
    a->slot = i + (uint32_t)(w >> 6);
    return (a->t[i] * (128 - w) + a->t[i + 1] * w) >> 7;
}

CM_HOT void cm_apm_update(cm_apm *a, int bit) {
    int v = a->t[a->slot];
    v += ((bit ? 65535 : 0) - v) >> a->rate;
    a->t[a->slot] = (uint16_t)v;
}

/* ---- mixer --------------------------------------------------------------- */

/* A weight set is CM_MAX_INPUTS fixed-point weights, 1.0 = 2^14. */
typedef struct cm_mixer {
    int32_t *weights;  /* sets x CM_MAX_INPUTS */
    int32_t *active;   /* the set chosen for this bit */
    int p12;           /* its last output, 12-bit */
    int rate;
} cm_mixer;

static int cm_mixer_init(cm_mixer *m, size_t sets, int n_inputs, int rate) {
    m->weights = malloc(sets * CM_MAX_INPUTS * sizeof *m->weights);
    if (!m->weights) return 0;
    for (size_t i = 0; i < sets * CM_MAX_INPUTS; i++) m->weights[i] = (1 << 14) * 3 / (n_inputs * 2);
    m->active = m->weights;
    m->p12 = 2048;
    m->rate = rate;
    return 1;
}

/* Returns the mixed logit for inputs in[0..n) using weight set `set`. The
 * products are summed modulo 2^32 (see cm_mixer_train). */
CM_HOT int cm_mixer_dot(cm_mixer *m, const cm_tables *t, const int32_t *restrict in, int n, uint32_t set) {
    const int32_t *restrict w = m->weights + (size_t)set * CM_MAX_INPUTS;
    uint32_t sum = 0;
    CM_UNROLL
    for (int i = 0; i < n; i++) sum += (uint32_t)in[i] * (uint32_t)w[i];
    int x = (int32_t)sum >> 14;
    if (x > 2047) x = 2047;
    if (x < -2047) x = -2047;
    m->active = m->weights + (size_t)set * CM_MAX_INPUTS;
    m->p12 = cm_squash(t, x) >> 4;
    return x;
}

/* Gradient step on coding cost: w += rate * in * (bit - p), rounded. A step
 * moves a weight by less than 2^-4 and a saturated output stops the drift, so
 * in practice the weights of a set sum to well under 32 in magnitude, while
 * the dot product could only wrap beyond 64. Sums are done modulo 2^32 so
 * that even a pathological input cannot cause signed overflow: at worst it
 * would code badly, identically on both sides. */
CM_HOT void cm_mixer_train(cm_mixer *m, const int32_t *restrict in, int n, int bit) {
    int32_t err = ((bit << 12) - m->p12) * m->rate;
    int32_t *restrict w = m->active;
    CM_UNROLL
    for (int i = 0; i < n; i++) w[i] = (int32_t)((uint32_t)w[i] + (uint32_t)((in[i] * err + 32768) >> 16));
}

/* ---- the arena of big tables ---------------------------------------------- */

/* The context, match and APM tables are read at random, so with 4 KiB pages
 * nearly every access would also miss the TLB. They are carved from one
 * zeroed arena which, on Linux, is mapped directly and marked for transparent
 * huge pages (2 MiB); elsewhere it comes from calloc. */
typedef struct cm_arena {
    uint8_t *base;  /* what was allocated or mapped */
    size_t size;
    int mapped;
    uint8_t *next;  /* next free byte, 64-byte aligned */
} cm_arena;

enum { CM_HUGE_PAGE = 2 << 20 };

static int cm_arena_alloc(cm_arena *a, size_t size) {
    a->mapped = 0;
#if CM_USE_MMAP
    a->size = size + CM_HUGE_PAGE;
    void *p = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
        a->base = p;
        a->mapped = 1;
        a->next = (uint8_t *)(((uintptr_t)p + CM_HUGE_PAGE - 1) & ~(uintptr_t)(CM_HUGE_PAGE - 1));
#ifdef MADV_HUGEPAGE
        madvise(a->next, size, MADV_HUGEPAGE); /* only a hint: failure is harmless */
#endif
        return 1;
    }
#endif
    a->size = size + 64;
    a->base = calloc(a->size, 1);
    if (!a->base) return 0;
    a->next = a->base + (64 - (uintptr_t)a->base % 64) % 64;
    return 1;
}

/* Takes `size` bytes (a multiple of 64) from the arena; the caller has sized
 * the arena for all its takes. */
static void *cm_arena_take(cm_arena *a, size_t size) {
    void *p = a->next;
    a->next += size;
    return p;
}

static void cm_arena_free(cm_arena *a) {
    if (!a->base) return;
#if CM_USE_MMAP
    if (a->mapped) {
        munmap(a->base, a->size);
        return;
    }
#endif
    free(a->base);
}

/* ---- the model ----------------------------------------------------------- */

/* Context tables per profile. The hot functions take `strong` as a constant
 * so that each profile gets its own code with fixed loop counts. */
enum {
    CM_HASHED_FAST = 2,   /* orders 2, 3 */
    CM_HASHED_STRONG = 10 /* orders 2, 3, 4, 6, two word, four record (or sparse x3, order 5) */
};
#define CM_N_HASHED(strong) ((strong) ? CM_HASHED_STRONG : CM_HASHED_FAST)
#define CM_N_STATES(strong) (2 + CM_N_HASHED(strong))
#define CM_N_INPUTS(strong) (1 + CM_N_STATES(strong) + ((strong) ? 1 : 0))

typedef struct cm_model {
    cm_tables tab;

    /* history: hist[0..pos) are the bytes coded so far */
    const uint8_t *hist;
    uint32_t pos;
    uint32_t c0;     /* bits of the current byte with a leading 1 */
    int bitpos;      /* bits of the current byte coded so far */
    uint32_t nib;    /* bits of the current nibble with a leading 1 */
    uint64_t c8;     /* the last 8 bytes, most recent in the low byte */
    uint32_t word, prev_word;

    /* record detection: a distance at which bytes keep repeating */
    uint32_t last_pos[256], last_dist[256];
    uint32_t rec_len;  /* 0 while none is known */
    uint32_t row;      /* the record's row length (a divisor of rec_len), or rec_len */
    int rec_strikes;   /* consecutive failed re-tests of rec_len */
    int rec_peak;      /* its last cm_period_peak */
    uint32_t rec_tested_at;

    /* direct tables for orders 0 and 1, hashed tables for the rest */
    uint8_t o0[256];
    uint8_t *o1;
    cm_arena arena;                    /* holds the tables below and the APM of order 1 */
    uint8_t *table[CM_MAX_HASHED];     /* 64-byte aligned */
    uint32_t ctx_hash[CM_MAX_HASHED];
    uint8_t *bucket[CM_MAX_HASHED];
    uint32_t page[CM_MAX_HASHED];      /* first bucket index of this byte's page */
    uint32_t page_shift[CM_MAX_HASHED];/* 32 - log2(buckets in the table) */

    /* the states used for this bit and their StateMaps */
    uint8_t *state[CM_MAX_HASHED + 2];
    uint32_t *sm_entry[CM_MAX_HASHED + 2];
    uint32_t sm[CM_MAX_HASHED + 2][256];

    /* match model: the byte after an earlier occurrence of the recent bytes */
    uint32_t *match_table;
    uint32_t match_bits;
    uint32_t match_ptr;      /* index of the predicted byte; valid if match_on */
    uint32_t match_len;      /* bytes the match has agreed since its last miss */
    uint32_t match_misses;   /* recent byte mispredictions, a 4-bit shift register */
    int match_on;
    int match_bit;           /* predicted bit, or -1 */
    uint32_t match_sm_ctx;
    uint32_t match_sm[16 * 16 * 2];

    /* mixing and refinement */
    int32_t in[CM_MAX_INPUTS];
    cm_mixer mix_a, mix_b;
    /* While a record length is known, two more mixers (weight sets chosen by
     * the column in the row and by the quantised gradients W-N and N-NE)
     * join, and a final mixer (weight sets chosen by the partial byte)
     * combines the four outputs. */
    cm_mixer mix_col, mix_grad, mix_final;
    int32_t in_final[5];
    uint32_t col_ctx, grad_ctx; /* mix_col's and mix_grad's contexts for this byte */
    cm_apm apm_order0, apm_order1, apm_above;
    uint32_t apm1_mask;          /* contexts of apm_order1 and apm_above - 1 */
    uint32_t apm_above_byte;     /* apm_above's byte: a row back, or 2 back without records */
    uint16_t apm_order0_t[256 * 33];
} cm_model;

static uint32_t cm_hash_mix(uint32_t h) {
    h ^= h >> 16;
    h *= 0x7feb352dU;
    h ^= h >> 15;
    h *= 0x846ca68bU;
    h ^= h >> 16;
    return h;
}

static inline uint32_t cm_hash_bytes(uint64_t bytes, uint64_t mult) {
    return (uint32_t)((bytes * mult) >> 32);
}

/* Finds (or claims) bucket `index` or one of its two neighbours by its check
 * byte; on a miss the neighbour whose first node has seen the fewest bits is
 * cleared and reused. */
static uint8_t *cm_find_bucket(const cm_model *m, uint8_t *table, uint32_t index, uint8_t check) {
    uint8_t *cand[3];
    for (uint32_t k = 0; k < 3; k++) {
        cand[k] = table + ((size_t)(index ^ k) << 4);
        if (cand[k][0] == check) return cand[k];
    }
    uint8_t *victim = cand[0];
    for (int k = 1; k < 3; k++)
        if (m->tab.total[cand[k][1]] < m->tab.total[victim[1]]) victim = cand[k];
    memset(victim, 0, 16);
    victim[0] = check;
    return victim;
}

/* The bucket index of hash h in table i. The first nibble's bucket picks a
 * 4 KiB page of the table; the second nibble's bucket is kept in that page,
 * which halves TLB misses. The low 8 bits of h are the check byte. */
static inline uint32_t cm_bucket_index(const cm_model *m, int i, uint32_t h, int first_nibble) {
    uint32_t page = first_nibble ? (h >> m->page_shift[i]) & ~(uint32_t)CM_PAGE_MASK : m->page[i];
    return page | ((h >> 8) & CM_PAGE_MASK);
}

/* The hash of a context's bucket for the nibble that follows the bits c0:
 * the context hashes are already well mixed, so one multiply suffices. */
static inline uint32_t cm_nibble_hash(uint32_t ctx_hash, uint32_t c0) {
    uint32_t h = (ctx_hash ^ (c0 * 0x9E3779B1U)) * 0x85EBCA6BU;
    return h ^ (h >> 15);
}

/* Called at each nibble boundary: selects every hashed context's bucket. */
CM_HOT void cm_select_buckets(cm_model *m, const int strong) {
    int first = m->bitpos == 0;
    for (int i = 0; i < CM_N_HASHED(strong); i++) {
        uint32_t h = cm_nibble_hash(m->ctx_hash[i], m->c0);
        uint32_t index = cm_bucket_index(m, i, h, first);
        if (first) m->page[i] = index & ~(uint32_t)CM_PAGE_MASK;
        m->bucket[i] = cm_find_bucket(m, m->table[i], index, (uint8_t)h);
    }
}

/* Letters (case folded) form words; other bytes end them. */
static inline void cm_next_words(uint32_t *word, uint32_t *prev_word, uint8_t c) {
    uint32_t lower = c | 32u;
    if (lower >= 'a' && lower <= 'z') {
        *word = (*word + lower + 1) * 0x2F0B4C35U;
    } else if (*word) {
        *prev_word = *word;
        *word = 0;
    }
}

/* The sum of |hist[i] - hist[i - dist]| over the `window` bytes before end. */
static uint32_t cm_period_sad(const uint8_t *hist, uint32_t end, uint32_t dist, uint32_t window) {
    uint32_t sad = 0;
    for (uint32_t i = end - window; i < end; i++) {
        int d = (int)hist[i] - (int)hist[i - dist];
        sad += (uint32_t)(d < 0 ? -d : d);
    }
    return sad;
}

/* How much better the byte `dist` back predicts the last `window` bytes than
 * the bytes dist-1 and dist+1 back do (in matches per CM_RECORD_WINDOW bytes):
 * a period of the data stands out as a peak, while plain local similarity
 * does not. */
static int cm_period_peak(const uint8_t *hist, uint32_t end, uint32_t dist, uint32_t window) {
    if (end < window + dist + 1) return 0;
    int same[3] = {0, 0, 0};
    for (uint32_t i = end - window; i < end; i++)
        for (int k = 0; k < 3; k++) same[k] += hist[i] == hist[i - (dist - 1 + (uint32_t)k)];
    int peak = same[1] - (same[0] > same[2] ? same[0] : same[2]);
    /* Numeric data (images, samples) rarely repeats exactly, but a period
     * shows as a dip in the distance between values: a dip to half of the
     * neighbours' counts as much as an ADOPT-sized peak of equal bytes. */
    uint32_t at = cm_period_sad(hist, end, dist, window);
    uint32_t lo = cm_period_sad(hist, end, dist - 1, window);
    uint32_t hi = cm_period_sad(hist, end, dist + 1, window);
    uint32_t near = lo < hi ? lo : hi;
    peak = (int)((int64_t)peak * CM_RECORD_WINDOW / window); /* in matches per CM_RECORD_WINDOW */
    if (near > at) {
        int dip = (int)((uint64_t)(near - at) * (CM_RECORD_WINDOW / 4) / near);
        if (dip > peak) peak = dip;
    }
    return peak;
}

/* Numeric records (samples, images) with noise seldom repeat a byte at two
 * equal gaps, so they are also searched for directly: the distance d in
 * 2..max_dist whose sum of differences dips most below those of d-1 and d+1.
 * Returns d, and in *dip the depth of the dip as cm_period_peak counts it. */
static uint32_t cm_scan_period(const uint8_t *hist, uint32_t end, uint32_t max_dist, int *dip) {
    uint32_t best = 0;
    *dip = 0;
    if (end < CM_SCAN_WINDOW + max_dist + 2) return 0;
    uint32_t prev = cm_period_sad(hist, end, 1, CM_SCAN_WINDOW);
    uint32_t cur = cm_period_sad(hist, end, 2, CM_SCAN_WINDOW);
    for (uint32_t d = 2; d <= max_dist; d++) {
        uint32_t next = cm_period_sad(hist, end, d + 1, CM_SCAN_WINDOW);
        uint32_t near = prev < next ? prev : next;
        if (near > cur) {
            int depth = (int)((uint64_t)(near - cur) * (CM_RECORD_WINDOW / 4) / near);
            if (depth > *dip) *dip = depth, best = d;
        }
        prev = cur;
        cur = next;
    }
    return best;
}

/* Records of 2-D data (an image per record) consist of rows: the row length
 * is the divisor d of the record length at which the bytes d back are much
 * closer in value than those d-1 and d+1 back. Returns the record length
 * itself when no divisor stands out. */
static uint32_t cm_detect_row(const uint8_t *hist, uint32_t end, uint32_t rec) {
    uint32_t best = rec;
    uint64_t best_score = 0;
    for (uint32_t d = 3; d <= rec / 2 && end >= CM_RECORD_WINDOW + d + 1; d++) {
        if (rec % d) continue;
        uint32_t at = cm_period_sad(hist, end, d, CM_RECORD_WINDOW);
        uint32_t lo = cm_period_sad(hist, end, d - 1, CM_RECORD_WINDOW);
        uint32_t hi = cm_period_sad(hist, end, d + 1, CM_RECORD_WINDOW);
        uint32_t near = lo < hi ? lo : hi;
        /* Row: clearly closer than both neighbours (by a third). */
        if ((uint64_t)at * 3 < (uint64_t)near * 2 && (uint64_t)(near - at) > best_score) {
            best_score = near - at;
            best = d;
        }
    }
    return best;
}

/* Fixed-width records. A byte value whose last two gaps were equal proposes
 * that gap as the record length; a proposal is tested (at most once every
 * CM_RECORD_COOLDOWN bytes, as tests cost a few hundred operations) and
 * adopted when its peak is clearly higher than the current length's. While
 * no length is known, the lengths up to CM_RECORD_SCAN are also searched
 * directly every 4 KiB (16 KiB after the first 64 KiB), for numeric records.
 * A known length is re-tested every 4 KiB on a longer window and dropped
 * when two re-tests in a row find its peak faded. Each adopted length gets
 * its row length (cm_detect_row), re-detected every 64 KiB. */
static void cm_update_record(cm_model *m, uint8_t c) {
    enum { ADOPT = CM_RECORD_WINDOW / 8, DROP = CM_RECORD_WINDOW / 16, MARGIN = CM_RECORD_WINDOW / 32,
           SCAN_ADOPT = CM_RECORD_WINDOW / 20 };
    uint32_t at = m->pos - 1; /* c is hist[at] */
    uint32_t dist = at - m->last_pos[c];
    if (dist >= 2 && dist < CM_RECORD_MAX && dist == m->last_dist[c] && dist != m->rec_len &&
        m->pos - m->rec_tested_at >= CM_RECORD_COOLDOWN) {
        m->rec_tested_at = m->pos;
        int peak = cm_period_peak(m->hist, m->pos, dist, CM_RECORD_WINDOW);
        if (peak >= ADOPT && peak > m->rec_peak + MARGIN) {
            m->rec_len = dist;
            m->rec_peak = peak;
            m->rec_strikes = 0;
            m->row = cm_detect_row(m->hist, m->pos, dist);
        }
    }
    m->last_dist[c] = dist;
    m->last_pos[c] = at;
    if (!m->rec_len && (m->pos & (m->pos < 65536 ? 4095 : 16383)) == 0) {
        int dip;
        uint32_t d = cm_scan_period(m->hist, m->pos, CM_RECORD_SCAN, &dip);
        if (d && dip >= SCAN_ADOPT) {
            m->rec_len = d;
            m->rec_peak = cm_period_peak(m->hist, m->pos, d, CM_RECORD_WINDOW);
            m->rec_strikes = 0;
            m->row = cm_detect_row(m->hist, m->pos, d);
        }
    } else if (m->rec_len && (m->pos & 4095) == 0) {
        /* The re-test looks further back: it is rare, and must not drop
         * the length over a short stretch of uniform bytes. */
        uint32_t window = m->pos >= 4 * CM_RECORD_WINDOW + 1 + m->rec_len ? 4 * CM_RECORD_WINDOW : CM_RECORD_WINDOW;
        m->rec_peak = cm_period_peak(m->hist, m->pos, m->rec_len, window);
        m->rec_strikes = m->rec_peak < DROP ? m->rec_strikes + 1 : 0;
        if (m->rec_strikes >= 2) m->rec_len = 0, m->rec_peak = 0, m->row = 0, m->rec_strikes = 0;
        else if ((m->pos & 65535) == 0) m->row = cm_detect_row(m->hist, m->pos, m->rec_len);
    }
}

/* A difference between two bytes in 13 buckets, finer near 0. */
static inline int cm_quant_diff(int d) {
    int a = d < 0 ? -d : d;
    int q = a == 0 ? 0 : a < 3 ? 1 : a < 8 ? 2 : a < 24 ? 3 : a < 64 ? 4 : a < 128 ? 5 : 6;
    return d < 0 ? 6 + q : q;
}

/* The hashes of every hashed context for the byte at `pos`, given the bytes
 * before it (c8: the last 8, hist: all) and the word hashes. */
CM_HOT void cm_context_hashes(const cm_model *m, uint32_t pos, uint64_t c8, uint32_t word,
                              uint32_t prev_word, uint32_t *h, const int strong) {
    h[0] = cm_hash_bytes(c8 & 0xFFFF, 0x9E3779B97F4A7C15ULL);
    h[1] = cm_hash_bytes(c8 & 0xFFFFFF, 0xC2B2AE3D27D4EB4FULL);
    if (!strong) return;
    h[2] = cm_hash_bytes(c8 & 0xFFFFFFFF, 0x165667B19E3779F9ULL);
    h[3] = cm_hash_bytes(c8 & 0xFFFFFFFFFFFFULL, 0xD6E8FEB86659FD93ULL);
    h[4] = word ^ cm_hash_bytes(word ? 0 : (c8 & 0xFF) + 256, 0x9FB21C651E98DF25ULL);
    h[5] = cm_hash_mix(word + prev_word * 0x01000193U);
    uint32_t rec = m->rec_len;
    if (rec) {
        /* 2-D neighbours: W left, N the byte a row back, NW, NE, NN. */
        uint32_t row = m->row, w = (uint32_t)(c8 & 0xFF);
        const uint8_t *hist = m->hist;
        uint32_t n = row <= pos ? hist[pos - row] : 0;
        uint32_t nn = 2 * row <= pos ? hist[pos - 2 * row] : 0;
        uint32_t nw = row + 1 <= pos ? hist[pos - row - 1] : 0;
        /* (a row of 2 has no NE before the byte being coded: N stands in) */
        uint32_t ne = row > 2 && row - 1 <= pos ? hist[pos - row + 1] : n;
        int grad = (int)w + (int)n - (int)nw; /* the plane through W, N and NW */
        uint32_t pred = (uint32_t)(grad < 0 ? 0 : grad > 255 ? 255 : grad);
        h[6] = cm_hash_mix(n | nn << 8 | row << 16);
        h[7] = cm_hash_mix((n | w << 8 | row << 16) + 0x3C6EF372U);
        h[8] = cm_hash_mix(((n >> 2) | (nw >> 2) << 6 | (ne >> 2) << 12 | (w >> 2) << 18) + 0x7F4A7C15U);
        uint32_t grads = (uint32_t)(cm_quant_diff((int)w - (int)n) | cm_quant_diff((int)n - (int)ne) << 4);
        h[9] = cm_hash_mix((pred | grads << 8 | row << 16) + 0xA54FF53AU);
    } else {
        h[6] = cm_hash_mix((uint32_t)((c8 >> 8) & 0xFFFF) + 0x7F4A7C15U);   /* bytes 2-3 */
        h[7] = cm_hash_mix((uint32_t)((c8 >> 16) & 0xFFFF) + 0xA54FF53AU);  /* bytes 3-4 */
        h[8] = cm_hash_bytes(c8 & 0xFFFFFFFFFFULL, 0xA0761D6478BD642FULL);  /* order 5 */
        h[9] = cm_hash_mix((uint32_t)(c8 & 0xFF00FF) + 0x510E527FU);        /* bytes 1 and 3 */
    }
}

static inline uint32_t cm_match_hash(const cm_model *m, uint64_t c8) {
    return cm_hash_bytes(c8 & 0xFFFFFFFFFFFFULL, 0x9E3779B97F4A7C15ULL) >> (32 - m->match_bits);
}

/* The tables are far larger than the caches. One bit before a nibble ends,
 * the lines that either value of the last bit will need are requested, so
 * that the misses overlap with coding that bit. */
CM_HOT void cm_prefetch_next_nibble(const cm_model *m, const int strong) {
    int first = m->bitpos == 7;
    for (uint32_t bit = 0; bit < 2; bit++) {
        uint32_t c0 = m->c0 * 2 + bit, h[CM_MAX_HASHED];
        if (first) {
            uint8_t c = (uint8_t)c0;
            uint64_t c8 = m->c8 << 8 | c;
            uint32_t word = m->word, prev_word = m->prev_word;
            cm_next_words(&word, &prev_word, c);
            cm_context_hashes(m, m->pos + 1, c8, word, prev_word, h, strong);
            c0 = 1;
            if (strong) CM_PREFETCH(m->match_table + cm_match_hash(m, c8));
        } else {
            memcpy(h, m->ctx_hash, sizeof h);
        }
        for (int i = 0; i < CM_N_HASHED(strong); i++) {
            uint32_t hh = cm_nibble_hash(h[i], c0);
            CM_PREFETCH(m->table[i] + ((size_t)cm_bucket_index(m, i, hh, first) << 4));
        }
    }
}

/* ---- match model ---------------------------------------------------------- */

/* The longest match among recent candidates is followed byte by byte. A miss
 * does not end it at once (records differ in a few fields): it keeps
 * predicting, with its recent misses as context, until it misses too often or
 * a better candidate appears. */
static void cm_match_update(cm_model *m, uint8_t c) {
    uint32_t pos = m->pos;
    const uint8_t *hist = m->hist;
    if (m->match_on) {
        int miss = hist[m->match_ptr] != c;
        m->match_misses = ((m->match_misses << 1) | (uint32_t)miss) & 15;
        m->match_len = miss ? 0 : m->match_len < 65535 ? m->match_len + 1 : 65535;
        m->match_ptr++;
        if (miss && (m->match_misses & 7) == 7) m->match_on = 0;
    }
    if (pos < CM_MATCH_MIN) return;
    uint32_t h = cm_match_hash(m, m->c8);
    if (!m->match_on || m->match_len < 16) {
        uint32_t cand = m->match_table[h];
        if (cand > 0 && cand != m->match_ptr) {
            uint32_t len = 0;
            while (len < CM_MATCH_VERIFY && len < cand && hist[cand - 1 - len] == hist[pos - 1 - len]) len++;
            if (len >= CM_MATCH_MIN && (!m->match_on || len > m->match_len)) {
                m->match_on = 1;
                m->match_len = len;
                m->match_ptr = cand;
                m->match_misses = 0;
            }
        }
    }
    m->match_table[h] = pos;
}

/* Match length in 0..15: exact up to 7, then two steps per doubling. */
static inline uint32_t cm_match_bucket(uint32_t len) {
    if (len < 8) return len;
    uint32_t b = 8;
    while (len >= 16 && b < 14) {
        len >>= 1;
        b += 2;
    }
    return b + (len >= 12);
}

/* The match model's input for this bit: the stretched probability that the
 * bit is the one the match predicts. */
CM_HOT int32_t cm_match_input(cm_model *m) {
    m->match_bit = -1;
    if (!m->match_on) return 0;
    uint32_t expected = m->hist[m->match_ptr] | 256u;
    if ((expected >> (8 - m->bitpos)) != m->c0) return 0; /* this byte already differs */
    m->match_bit = (int)((expected >> (7 - m->bitpos)) & 1);
    m->match_sm_ctx = (cm_match_bucket(m->match_len) * 16 + m->match_misses) * 2 + (uint32_t)m->match_bit;
    return m->tab.stretch[cm_p12(m->match_sm[m->match_sm_ctx])];
}

/* ---- predict / update ------------------------------------------------------ */

/* Gathers the states of this bit from every context into the mixer inputs. */
CM_HOT void cm_gather(cm_model *m, const int strong) {
    const int n_hashed = CM_N_HASHED(strong), n_states = CM_N_STATES(strong);
    uint8_t **state = m->state;
    state[0] = &m->o0[m->c0];
    state[1] = &m->o1[((m->c8 & 0xFF) << 8) | m->c0];
    CM_UNROLL
    for (int i = 0; i < n_hashed; i++) state[i + 2] = m->bucket[i] + m->nib;
    m->in[0] = 256;
    CM_UNROLL
    for (int i = 0; i < n_states; i++) {
        m->sm_entry[i] = &m->sm[i][*state[i]];
        m->in[i + 1] = m->tab.stretch[cm_p12(*m->sm_entry[i])];
    }
}

/* Returns P(next bit = 1) in 1/65536 units. */
CM_HOT uint32_t cm_predict(cm_model *m, const int strong) {
    const cm_tables *t = &m->tab;
    cm_gather(m, strong);
    int p;
    if (!strong) {
        int x = cm_mixer_dot(&m->mix_a, t, m->in, CM_N_INPUTS(0), m->c0);
        int pa = cm_apm_predict(&m->apm_order0, x, m->c0);
        p = (cm_squash(t, x) + pa * 3) >> 2;
    } else {
        m->in[CM_N_INPUTS(1) - 1] = cm_match_input(m);
        uint32_t mctx = m->match_bit < 0 ? 0 : 1 + cm_match_bucket(m->match_len);
        int xa = cm_mixer_dot(&m->mix_a, t, m->in, CM_N_INPUTS(1), m->c0);
        int xb = cm_mixer_dot(&m->mix_b, t, m->in, CM_N_INPUTS(1), mctx * 8 + (uint32_t)m->bitpos);
        int x = (xa + xb) >> 1;
        if (m->rec_len) {
            uint32_t bp = (uint32_t)m->bitpos;
            int xc = cm_mixer_dot(&m->mix_col, t, m->in, CM_N_INPUTS(1), m->col_ctx * 8 + bp);
            int xd = cm_mixer_dot(&m->mix_grad, t, m->in, CM_N_INPUTS(1), m->grad_ctx * 8 + bp);
            m->in_final[0] = 256;
            m->in_final[1] = xa;
            m->in_final[2] = xb;
            m->in_final[3] = xc;
            m->in_final[4] = xd;
            x = cm_mixer_dot(&m->mix_final, t, m->in_final, 5, m->c0);
        }
        uint32_t c1 = (uint32_t)(m->c8 & 0xFF);
        int p0 = cm_apm_predict(&m->apm_order0, x, m->c0);
        int p1 = cm_apm_predict(&m->apm_order1, x, (m->c0 | c1 << 8) & m->apm1_mask);
        int p2 = cm_apm_predict(&m->apm_above, x, (m->c0 | m->apm_above_byte << 8) & m->apm1_mask);
        p = (p0 * 2 + p1 * 3 + p2 * 3) >> 3;
    }
    if (p < 32) p = 32;
    if (p > 65536 - 32) p = 65536 - 32;
    return (uint32_t)p;
}

/* Called after the last bit of a byte: shifts it into the history. */
static void cm_end_byte(cm_model *m, const int strong) {
    uint8_t c = (uint8_t)m->c0;
    m->pos++;
    m->c8 = (m->c8 << 8) | c;
    m->c0 = 1;
    m->bitpos = 0;
    if (strong) {
        cm_next_words(&m->word, &m->prev_word, c);
        cm_update_record(m, c);
        cm_match_update(m, c);
        if (m->rec_len) {
            const uint8_t *hh = m->hist;
            uint32_t row = m->row, pos = m->pos, col = pos % row;
            int w = hh[pos - 1], n = row <= pos ? hh[pos - row] : 0;
            int ne = row > 2 && row - 1 <= pos ? hh[pos - row + 1] : n;
            m->col_ctx = col < 255 ? col : 255;
            m->grad_ctx = (uint32_t)(cm_quant_diff(w - n) * 13 + cm_quant_diff(n - ne));
        }
        m->apm_above_byte = m->rec_len ? (m->row <= m->pos ? m->hist[m->pos - m->row] : 0)
                                       : (uint32_t)((m->c8 >> 8) & 0xFF);
    }
    cm_context_hashes(m, m->pos, m->c8, m->word, m->prev_word, m->ctx_hash, strong);
}

CM_HOT void cm_update(cm_model *m, int bit, const int strong) {
    const cm_tables *t = &m->tab;
    const int n_states = CM_N_STATES(strong);
    CM_UNROLL
    for (int i = 0; i < n_states; i++) {
        *m->state[i] = t->next[*m->state[i]][bit];
        cm_sm_update(m->sm_entry[i], bit);
    }
    cm_mixer_train(&m->mix_a, m->in, CM_N_INPUTS(strong), bit);
    cm_apm_update(&m->apm_order0, bit);
    if (strong) {
        cm_mixer_train(&m->mix_b, m->in, CM_N_INPUTS(strong), bit);
        if (m->rec_len) {
            cm_mixer_train(&m->mix_col, m->in, CM_N_INPUTS(strong), bit);
            cm_mixer_train(&m->mix_grad, m->in, CM_N_INPUTS(strong), bit);
            cm_mixer_train(&m->mix_final, m->in_final, 5, bit);
        }
        cm_apm_update(&m->apm_order1, bit);
        cm_apm_update(&m->apm_above, bit);
        if (m->match_bit >= 0) cm_counted_update(&m->match_sm[m->match_sm_ctx], bit, 1023, t->recip);
    }
    m->c0 = (m->c0 << 1) | (uint32_t)bit;
    m->nib = (m->nib << 1) | (uint32_t)bit;
    m->bitpos++;
    if (m->bitpos == 8) cm_end_byte(m, strong);
    if (m->bitpos == 0 || m->bitpos == 4) {
        m->nib = 1;
        cm_select_buckets(m, strong);
    } else if (strong && (m->bitpos == 3 || m->bitpos == 7)) {
        cm_prefetch_next_nibble(m, strong); /* the fast profile's tables mostly stay in cache */
    }
}

/* ---- allocation ----------------------------------------------------------- */

static void cm_model_free(cm_model *m) {
    if (!m) return;
    cm_arena_free(&m->arena);
    free(m->o1);
    free(m->mix_a.weights);
    free(m->mix_b.weights);
    free(m->mix_col.weights);
    free(m->mix_grad.weights);
    free(m->mix_final.weights);
    free(m);
}

/* Low orders have few contexts: their tables are smaller than the block's
 * table size and capped, which saves memory, cache and TLB misses. */
static int cm_table_log_of(int strong, int i, int table_log) {
    /* fast: orders 2, 3; strong: orders 2, 3, 4, 6, word, word pair, record or
     * sparse x2, record or order 5 and sparse */
    static const unsigned char shrink_fast[CM_HASHED_FAST] = {1, 0};
    static const unsigned char shrink_strong[CM_HASHED_STRONG] = {2, 1, 0, 0, 1, 1, 2, 2, 2, 2};
    static const unsigned char cap_strong[CM_HASHED_STRONG] = {20, 21, 23, 23, 21, 21, 20, 20, 20, 20};
    int log = table_log - (strong ? shrink_strong[i] : shrink_fast[i]);
    if (strong && log > cap_strong[i]) log = cap_strong[i];
    return log < CM_TABLE_LOG_MIN ? CM_TABLE_LOG_MIN : log;
}

/* The order-1 APM has (partial byte, previous byte) contexts; small blocks,
 * which cannot train that many, keep only the low bits of the previous byte. */
static size_t cm_apm1_contexts(int table_log) {
    return (size_t)1 << (table_log - 6 < 16 ? table_log - 6 : 16);
}

/* Carves the hashed tables, the match table and the order-1 APM from one
 * arena. The hashed tables come first, each a multiple of 4 KiB. */
static int cm_model_alloc_tables(cm_model *m, int strong, int table_log) {
    size_t total = 0;
    for (int i = 0; i < CM_N_HASHED(strong); i++) total += (size_t)1 << cm_table_log_of(strong, i, table_log);
    if (strong) {
        m->match_bits = (uint32_t)table_log - 2;
        total += ((size_t)1 << m->match_bits) * sizeof *m->match_table;
        total += 2 * ((cm_apm1_contexts(table_log) * 33 * sizeof(uint16_t) + 63) & ~(size_t)63);
    }
    if (!cm_arena_alloc(&m->arena, total)) return 0;
    for (int i = 0; i < CM_N_HASHED(strong); i++) {
        int log = cm_table_log_of(strong, i, table_log);
        m->page_shift[i] = 32 - ((uint32_t)log - 4);
        m->table[i] = cm_arena_take(&m->arena, (size_t)1 << log);
    }
    if (strong) {
        m->match_table = cm_arena_take(&m->arena, ((size_t)1 << m->match_bits) * sizeof *m->match_table);
        size_t contexts = cm_apm1_contexts(table_log);
        m->apm1_mask = (uint32_t)contexts - 1;
        size_t apm_bytes = (contexts * 33 * sizeof(uint16_t) + 63) & ~(size_t)63;
        cm_apm_init(&m->apm_order1, cm_arena_take(&m->arena, apm_bytes), &m->tab, contexts, 7);
        cm_apm_init(&m->apm_above, cm_arena_take(&m->arena, apm_bytes), &m->tab, contexts, 7);
    }
    return 1;
}

/* Allocates a fresh model with hashed tables of up to 2^table_log bytes. */
static cm_model *cm_model_new(int strong, int table_log, const uint8_t *hist) {
    cm_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    cm_init_tables(&m->tab);
    m->hist = hist;
    m->c0 = 1;
    m->nib = 1;
    int ok = (m->o1 = calloc(65536, 1)) != NULL;
    ok = ok && cm_model_alloc_tables(m, strong, table_log);
    ok = ok && cm_mixer_init(&m->mix_a, 256, CM_N_INPUTS(strong), strong ? 5 : 6);
    ok = ok && (!strong || cm_mixer_init(&m->mix_b, 17 * 8, CM_N_INPUTS(strong), 5));
    ok = ok && (!strong || cm_mixer_init(&m->mix_col, 256 * 8, CM_N_INPUTS(strong), 5));
    ok = ok && (!strong || cm_mixer_init(&m->mix_grad, 169 * 8, CM_N_INPUTS(strong), 5));
    ok = ok && (!strong || cm_mixer_init(&m->mix_final, 256, 5, 2));
    if (!ok) {
        cm_model_free(m);
        return NULL;
    }
    if (strong) /* the final mixer starts as the plain average of its four inputs */
        for (int k = 0; k < 256; k++) {
            int32_t *w = m->mix_final.weights + k * CM_MAX_INPUTS;
            w[0] = 0;
            w[1] = w[2] = w[3] = w[4] = 1 << 12;
        }
    cm_apm_init(&m->apm_order0, m->apm_order0_t, &m->tab, 256, 7);
    for (size_t i = 0; i < sizeof m->match_sm / sizeof m->match_sm[0]; i++) m->match_sm[i] = m->tab.state_p0[0];
    for (int k = 0; k < CM_MAX_HASHED + 2; k++)
        for (int s = 0; s < 256; s++) m->sm[k][s] = m->tab.state_p0[s];
    cm_context_hashes(m, 0, 0, 0, 0, m->ctx_hash, strong);
    cm_select_buckets(m, strong);
    return m;
}

/* ---- block coding --------------------------------------------------------- */

/* -log2(q / 65536) summed over a histogram of the probabilities given to the
 * coded outcomes (counting is cheaper than a log per bit). */
static double cm_ideal_bits(const uint64_t *outcomes) {
    double bits = 0;
    for (uint32_t q = 1; q < 65536; q++)
        if (outcomes[q]) bits += (double)outcomes[q] * (16.0 - log2((double)q));
    return bits;
}

/* The encoder's loop, specialised per profile; stops early on overflow. */
CM_HOT void cm_encode_bytes(cm_model *m, circa_rc_enc *enc, const uint8_t *src, size_t n,
                            uint64_t *outcomes, const int strong) {
    for (size_t i = 0; i < n && !enc->overflow; i++) {
        for (int b = 7; b >= 0; b--) {
            int bit = (src[i] >> b) & 1;
            uint32_t p = cm_predict(m, strong);
            if (outcomes) outcomes[bit ? p : 65536 - p]++;
            circa_rc_encode_bit(enc, bit, p);
            cm_update(m, bit, strong);
        }
    }
}

static void cm_encode_fast(cm_model *m, circa_rc_enc *enc, const uint8_t *src, size_t n, uint64_t *outcomes) {
    cm_encode_bytes(m, enc, src, n, outcomes, 0);
}

static void cm_encode_strong(cm_model *m, circa_rc_enc *enc, const uint8_t *src, size_t n, uint64_t *outcomes) {
    cm_encode_bytes(m, enc, src, n, outcomes, 1);
}

/* The decoder's loop; a valid stream is never read past its end, so the
 * first overrun ends it. */
CM_HOT void cm_decode_bytes(cm_model *m, circa_rc_dec *dec, uint8_t *dst, size_t n, const int strong) {
    for (size_t i = 0; i < n && !dec->overrun; i++) {
        uint32_t c = 0;
        for (int b = 0; b < 8; b++) {
            int bit = circa_rc_decode_bit(dec, cm_predict(m, strong));
            c = (c << 1) | (uint32_t)bit;
            if (b == 7) dst[i] = (uint8_t)c; /* stored before cm_update reads it as history */
            cm_update(m, bit, strong);
        }
    }
}

static void cm_decode_fast(cm_model *m, circa_rc_dec *dec, uint8_t *dst, size_t n) {
    cm_decode_bytes(m, dec, dst, n, 0);
}

static void cm_decode_strong(cm_model *m, circa_rc_dec *dec, uint8_t *dst, size_t n) {
    cm_decode_bytes(m, dec, dst, n, 1);
}

circa_status circa__cm_encode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                              size_t *out_len, uint8_t *param, int level,
                              double *ideal_bits) {
    if ((!src && n) || (!dst && cap) || !out_len || !param || level < 1 || level > 9)
        return CIRCA_E_PARAM;
    if (n > UINT32_MAX - 1) return CIRCA_E_LIMIT;
    int strong = level >= 6;
    int table_log = cm_table_log_for(n, cm_level_table_log_max(level));
    *param = (uint8_t)((strong ? CM_PROFILE_STRONG : CM_PROFILE_FAST) << 5 | table_log);
    if (ideal_bits) *ideal_bits = 0;

    circa_rc_enc enc;
    circa_rc_enc_init(&enc, dst, cap);
    if (n > 0) {
        cm_model *m = cm_model_new(strong, table_log, src);
        uint64_t *outcomes = ideal_bits ? calloc(65536, sizeof *outcomes) : NULL;
        if (!m || (ideal_bits && !outcomes)) {
            cm_model_free(m);
            free(outcomes);
            return CIRCA_E_NOMEM;
        }
        if (strong) cm_encode_strong(m, &enc, src, n, outcomes);
        else cm_encode_fast(m, &enc, src, n, outcomes);
        cm_model_free(m);
        if (outcomes) *ideal_bits = cm_ideal_bits(outcomes);
        free(outcomes);
    }
    size_t len = circa_rc_enc_finish(&enc);
    if (enc.overflow || len == 0) return CIRCA_E_DST_SIZE;
    *out_len = len;
    return CIRCA_OK;
}

circa_status circa__cm_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t raw_size,
                              uint8_t param) {
    if (!cm_param_valid(param, raw_size)) return CIRCA_E_FORMAT;
    if ((!src && n) || (!dst && raw_size)) return CIRCA_E_PARAM;
    if (raw_size > UINT32_MAX - 1) return CIRCA_E_LIMIT;
    circa_rc_dec dec;
    circa_rc_dec_init(&dec, src, n);
    if (dec.bad_start) return CIRCA_E_FORMAT;
    if (raw_size > 0) {
        int strong = (param >> 5) == CM_PROFILE_STRONG;
        cm_model *m = cm_model_new(strong, param & 31, dst);
        if (!m) return CIRCA_E_NOMEM;
        if (strong) cm_decode_strong(m, &dec, dst, raw_size);
        else cm_decode_fast(m, &dec, dst, raw_size);
        cm_model_free(m);
    }
    /* The encoder flushes its whole low end, so a valid stream also ends with
     * code == 0 exactly: this catches damage in the final bytes, which
     * circa_rc_dec_finish alone cannot see. */
    return circa_rc_dec_finish(&dec) || dec.code != 0 ? CIRCA_E_FORMAT : CIRCA_OK;
}
