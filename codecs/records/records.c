/* records.c: the "pc" block codec (block type 4, docs/format.md). A block of
 * fixed-width records is coded by a probabilistic circuit over the record's
 * byte columns: a hidden Chow-Liu tree chosen by the encoder from the
 * block's records and stored in the body, whose parameters are learned
 * while coding, identically in the decoder (circa_pc_online). Bytes before
 * the first record and after the last whole one go through an adaptive
 * order-0 model in the same range-coder stream.
 *
 * Columns that change little from record to record (counters, slowly
 * drifting readings) are coded as their difference from the previous
 * record's value, mod 256, which the circuit models far better.
 *
 * Body: W (u16), S (u16), K - 1 (u8), M (u8), then W parents (u16 each,
 * 0xFFFF for the root), the delta mask (ceil(W/8) bytes, bit j of byte j/8
 * for column j), then the range-coder stream: S prefix bytes, the
 * (Raw_Size - S) / W records, the (Raw_Size - S) % W tail bytes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "records.h"
#include "circa/entropy.h"
#include "circa/pc.h"
#include "../common/le_bytes.h"
#include "../../models/pc/pc_internal.h"

#define HEAD 6                 /* W, S, K - 1, M */
#define MIN_RECORDS 64         /* fewer records teach a circuit nothing */
#define SAMPLE (64u << 10)     /* bytes the width detector looks at */
#define TABLE_MAX (1u << 21)   /* W * K * M bound: with M <= 16, at most 56 MiB of tables */
/* M <= 16 (the encoder's largest) also bounds the decoder's time: about
 * 6 M^2 operations per byte. */
#define SEED 0x43495243u       /* the online circuit's start ("CIRC") */

/* ---- width detection (encoder only: the width is stored) ------------------ */
/* An IDX header (MNIST and friends) at the start of the block gives the
 * record width and offset exactly. */
static int idx_header(const uint8_t *p, size_t n, uint32_t *width, uint32_t *offset) {
    static const unsigned esize[16] = {[0x08] = 1, [0x09] = 1, [0x0B] = 2, [0x0C] = 4, [0x0D] = 4, [0x0E] = 8};
    if (n < 8 || p[0] || p[1] || p[2] > 0x0E || !esize[p[2]] || p[3] < 2 || p[3] > 4) return 0;
    size_t hdr = 4 + 4 * (size_t)p[3];
    if (n < hdr) return 0;
    uint64_t w = esize[p[2]];
    for (unsigned i = 1; i < p[3]; i++) {
        const uint8_t *d = p + 4 + 4 * i;
        w *= (uint64_t)d[0] << 24 | (uint64_t)d[1] << 16 | (uint64_t)d[2] << 8 | d[3];
        if (w > CIRCA_RECORDS_WIDTH_MAX) return 0;
    }
    if (w < 2 || hdr >= w) return 0;
    *width = (uint32_t)w, *offset = (uint32_t)hdr;
    return 1;
}

/* Otherwise the distance d at which bytes repeat clearly more often than
 * at d - 1 and d + 1 (a column of a table holds similar values): the
 * smallest d whose excess is at least half the largest (multiples of the
 * width repeat as well), and well above chance (4 standard deviations of a
 * count near side, plus 1/2048 of the sample). */
int circa__records_detect(const uint8_t *src, size_t n, uint32_t *width, uint32_t *offset) {
    *width = 0, *offset = 0;
    if (idx_header(src, n, width, offset)) return (n - *offset) / *width >= MIN_RECORDS;
    size_t s = n < SAMPLE ? n : SAMPLE;
    uint32_t dmax = (uint32_t)(s / 8 < 1024 ? s / 8 : 1024);
    if (dmax < 4) return 0;
    uint32_t *eq = calloc(dmax + 2, sizeof *eq);
    int64_t *excess = calloc(dmax + 1, sizeof *excess);
    if (!eq || !excess) {
        free(eq), free(excess);
        return 0;
    }
    for (uint32_t d = 1; d <= dmax + 1; d++) {
        uint32_t c = 0;
        for (size_t i = d; i < s; i++) c += src[i] == src[i - d];
        eq[d] = c;
    }
    int64_t top = 0;
    for (uint32_t d = 2; d <= dmax; d++) {
        uint32_t side = eq[d - 1] > eq[d + 1] ? eq[d - 1] : eq[d + 1];
        int64_t x = (int64_t)eq[d] - side, noise = (int64_t)(4 * sqrt((double)side));
        excess[d] = x > noise + (int64_t)(s / 2048) ? x : 0;
        if (excess[d] > top) top = excess[d];
    }
    uint32_t best = 0;
    for (uint32_t d = 2; d <= dmax && !best && top > 0; d++)
        if (2 * excess[d] >= top) best = d;
    free(eq), free(excess);
    if (!best || n / best < MIN_RECORDS) return 0;
    *width = best;
    return 1;
}

/* ---- order-0 bytes around the records ----------------------------------- */
/* A binary tree of adaptive bit probabilities (p of a 1, out of 65536). */
typedef struct byte_model {
    uint16_t p[256];
} byte_model;

static void byte_model_init(byte_model *b) {
    for (int i = 0; i < 256; i++) b->p[i] = 32768;
}

static void byte_adapt(uint16_t *p, int bit) {
    if (bit) *p = (uint16_t)(*p + ((65536 - *p) >> 4));
    else *p = (uint16_t)(*p - (*p >> 4));
    if (*p < 64) *p = 64;
    if (*p > 65536 - 64) *p = 65536 - 64;
}

static void encode_bytes(byte_model *b, const uint8_t *p, size_t n, circa_rc_enc *e) {
    for (size_t i = 0; i < n; i++)
        for (int k = 7, node = 1; k >= 0; k--) {
            int bit = p[i] >> k & 1;
            circa_rc_encode_bit(e, bit, b->p[node]);
            byte_adapt(&b->p[node], bit);
            node = node * 2 + bit;
        }
}

static void decode_bytes(byte_model *b, uint8_t *p, size_t n, circa_rc_dec *d) {
    for (size_t i = 0; i < n; i++) {
        int node = 1;
        for (int k = 7; k >= 0; k--) {
            int bit = circa_rc_decode_bit(d, b->p[node]);
            byte_adapt(&b->p[node], bit);
            node = node * 2 + bit;
        }
        p[i] = (uint8_t)(node - 256);
    }
}

/* ---- column deltas ---------------------------------------------------------- */
static int is_delta(const uint8_t *mask, uint32_t j) { return mask[j / 8] >> (j % 8) & 1; }

/* Replaces each masked column by its difference from the record before
 * (forward), or undoes that (!forward), in place. */
static void column_deltas(uint8_t *rec, size_t R, uint32_t W, const uint8_t *mask, int forward) {
    for (uint32_t j = 0; j < W; j++) {
        if (!is_delta(mask, j)) continue;
        if (forward)
            for (size_t r = R; r-- > 1;) rec[r * W + j] = (uint8_t)(rec[r * W + j] - rec[(r - 1) * W + j]);
        else
            for (size_t r = 1; r < R; r++) rec[r * W + j] = (uint8_t)(rec[r * W + j] + rec[(r - 1) * W + j]);
    }
}

/* Order-0 entropy in bits of a column's values, or of its differences. */
static double column_entropy(const uint8_t *rec, size_t R, uint32_t W, uint32_t j, int delta) {
    uint32_t count[256] = {0};
    for (size_t r = 0; r < R; r++)
        count[(uint8_t)(rec[r * W + j] - (delta && r ? rec[(r - 1) * W + j] : 0))]++;
    double h = 0;
    for (int v = 0; v < 256; v++)
        if (count[v]) h -= count[v] * log2((double)count[v] / (double)R);
    return h;
}

/* The encoder's choice (stored): a column is differenced when that lowers
 * its order-0 entropy by more than a tenth. A smaller gain is not worth it:
 * the difference hides the value itself, which the other columns depend on
 * (kppkn.gtb has one such column: 0.93 of the entropy, and coding it as a
 * difference costs 2% more). */
static void choose_deltas(const uint8_t *rec, size_t R, uint32_t W, uint8_t *mask) {
    memset(mask, 0, (W + 7) / 8);
    for (uint32_t j = 0; j < W; j++)
        if (column_entropy(rec, R, W, j, 1) < 0.9 * column_entropy(rec, R, W, j, 0))
            mask[j / 8] |= (uint8_t)(1u << (j % 8));
}

/* ---- the block ------------------------------------------------------------ */
/* Hidden states: 16 for small tables, 8 otherwise, fewer when W * K is large
 * (TABLE_MAX bounds the decoder's tables). */
static uint32_t hidden_states(uint32_t W, uint32_t K) {
    uint32_t M = (uint64_t)W * K <= (1u << 16) ? 16 : 8;
    while (M > 1 && (uint64_t)W * K * M > TABLE_MAX) M /= 2;
    return M;
}

/* Codes the records in runs of 256 and gives up (CIRCA_E_DST_SIZE) once the
 * output is clearly heading past cap: after a sixteenth of the records, at
 * 1.25x the share of cap that the records done so far may take. The frame
 * tries the context model first and passes its size as cap, so text that
 * merely looks like records costs a fraction of a full trial. */
static circa_status encode_records(circa_pc_online *o, const uint8_t *rec, size_t R, uint32_t W,
                                   circa_rc_enc *e, size_t cap) {
    for (size_t r = 0; r < R; r += 256) {
        size_t k = R - r < 256 ? R - r : 256;
        circa_status st = circa_pc_online_encode(o, rec + r * W, k, e);
        if (st != CIRCA_OK) return st;
        double done = (double)(r + k) / (double)R;
        if (e->overflow || (16 * (r + k) >= R && (double)e->pos > 1.25 * done * (double)cap + 4096))
            return CIRCA_E_DST_SIZE;
    }
    return CIRCA_OK;
}

/* The body's head: fields, tree and delta mask. */
static size_t head_size(uint32_t W) { return HEAD + 2 * (size_t)W + (W + 7) / 8; }

static void write_head(uint8_t *dst, uint32_t W, uint32_t S, uint32_t K, uint32_t M, const uint32_t *parent,
                       const uint8_t *mask) {
    circa__put16(dst, (uint16_t)W), circa__put16(dst + 2, (uint16_t)S);
    dst[4] = (uint8_t)(K - 1), dst[5] = (uint8_t)M;
    for (uint32_t v = 0; v < W; v++)
        circa__put16(dst + HEAD + 2 * v, parent[v] == PC_NONE ? 0xFFFF : (uint16_t)parent[v]);
    memcpy(dst + HEAD + 2 * (size_t)W, mask, (W + 7) / 8);
}

circa_status circa__records_encode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                                   size_t *out_len) {
    uint32_t W, S;
    if (!circa__records_detect(src, n, &W, &S)) return CIRCA_E_UNSUPPORTED;
    size_t R = (n - S) / W, head = head_size(W);
    if (cap < head + 8) return CIRCA_E_DST_SIZE;
    uint8_t *rec = malloc(R * W), *mask = malloc((W + 7) / 8);
    uint32_t *parent = malloc(W * sizeof *parent);
    circa_pc_online *o = NULL;
    circa_status st = rec && mask && parent ? CIRCA_OK : CIRCA_E_NOMEM;
    if (st == CIRCA_OK) {
        memcpy(rec, src + S, R * W);
        choose_deltas(rec, R, W, mask);
        column_deltas(rec, R, W, mask, 1);
    }
    uint32_t K = 2, M = 0;
    for (size_t i = 0; st == CIRCA_OK && i < R * W; i++)
        if (rec[i] >= K) K = rec[i] + 1u;
    if (st == CIRCA_OK) {
        M = hidden_states(W, K);
        st = circa_pc__learn_tree(rec, R, W, K, W <= 256 ? 5000 : 2000, 16, 1, parent);
    }
    if (st == CIRCA_OK) st = circa_pc_online_new(W, K, M, parent, SEED, &o);
    if (st == CIRCA_OK) {
        write_head(dst, W, S, K, M, parent, mask);
        byte_model b;
        byte_model_init(&b);
        circa_rc_enc e;
        circa_rc_enc_init(&e, dst + head, cap - head);
        encode_bytes(&b, src, S, &e);
        st = encode_records(o, rec, R, W, &e, cap - head);
        encode_bytes(&b, src + S + R * W, n - S - R * W, &e);
        size_t len = circa_rc_enc_finish(&e);
        if (st == CIRCA_OK && len == 0) st = CIRCA_E_DST_SIZE;
        *out_len = head + len;
    }
    circa_pc_online_free(o);
    free(rec), free(mask), free(parent);
    return st;
}

/* Reads and checks the body's fields and tree. */
static circa_status read_head(const uint8_t *src, size_t n, size_t raw_size, uint32_t *W, uint32_t *S,
                              uint32_t *K, uint32_t *M, uint32_t **parent) {
    *parent = NULL;
    if (n < HEAD) return CIRCA_E_FORMAT;
    *W = circa__get16(src), *S = circa__get16(src + 2), *K = src[4] + 1u, *M = src[5];
    if (*W < 2 || *W > CIRCA_RECORDS_WIDTH_MAX || *S >= *W || raw_size < (size_t)*S + *W || *K < 2 ||
        *M < 1 || *M > 16 || (uint64_t)*W * *K * *M > TABLE_MAX || n < head_size(*W))
        return CIRCA_E_FORMAT;
    if (*W % 8 && src[head_size(*W) - 1] >> (*W % 8)) return CIRCA_E_FORMAT; /* mask bits past W */
    uint32_t *p = malloc(*W * sizeof *p);
    if (!p) return CIRCA_E_NOMEM;
    for (uint32_t v = 0; v < *W; v++) {
        uint32_t q = circa__get16(src + HEAD + 2 * v);
        p[v] = q == 0xFFFF ? PC_NONE : q;
        if (q != 0xFFFF && q >= *W) {
            free(p);
            return CIRCA_E_FORMAT;
        }
    }
    *parent = p;
    return CIRCA_OK;
}

circa_status circa__records_decode(const uint8_t *src, size_t n, uint8_t *dst, size_t raw_size) {
    uint32_t W, S, K, M, *parent;
    circa_status st = read_head(src, n, raw_size, &W, &S, &K, &M, &parent);
    if (st != CIRCA_OK) return st;
    circa_pc_online *o = NULL;
    st = circa_pc_online_new(W, K, M, parent, SEED, &o);
    free(parent);
    if (st != CIRCA_OK) return st == CIRCA_E_NOMEM ? st : CIRCA_E_FORMAT;
    size_t head = head_size(W), R = (raw_size - S) / W;
    byte_model b;
    byte_model_init(&b);
    circa_rc_dec d;
    circa_rc_dec_init(&d, src + head, n - head);
    decode_bytes(&b, dst, S, &d);
    /* Records go in runs, so a stream read far past its end stops early. */
    for (size_t r = 0; r < R && st == CIRCA_OK; r += 256) {
        size_t k = R - r < 256 ? R - r : 256;
        st = circa_pc_online_decode(o, &d, dst + S + r * W, k);
        if (d.overrun > 16) st = CIRCA_E_FORMAT;
    }
    if (st == CIRCA_OK) decode_bytes(&b, dst + S + R * W, raw_size - S - R * W, &d);
    if (st == CIRCA_OK && circa_rc_dec_finish(&d)) st = CIRCA_E_FORMAT;
    if (st == CIRCA_OK) column_deltas(dst + S, R, W, src + HEAD + 2 * (size_t)W, 0);
    circa_pc_online_free(o);
    return st;
}
