/* pc.h: probabilistic circuits (hidden Chow-Liu trees over byte-valued
 * variables): structure learning, EM, likelihood, a model file, and exact
 * arithmetic coding of fixed-size records with circa's range coder.
 *
 * Contents
 *   1. the model handle          circa_pc, load / save / free, num_vars, id
 *   2. coding                    circa_pc_encode, circa_pc_decode
 *   3. likelihood                circa_pc_loglik, circa_pc_bpd
 *   4. learning                  circa_pc_learn_params, circa_pc_learn, circa_pc_em
 *   5. IDX (MNIST) files         circa_idx_info, circa_idx_parse
 *   6. adaptive coding           circa_pc_online: learns while it codes
 *
 * A worked example (error handling elided):
 *
 *     circa_pc_learn_params p = circa_pc_learn_defaults();
 *     p.hidden = 32; p.threads = 2;
 *     circa_pc *pc;
 *     circa_pc_learn(train, n_train, 784, &p, &pc);       // records of 784 bytes
 *     circa_pc_save_file(pc, "fmnist.pc");
 *     circa_rc_enc enc;
 *     circa_rc_enc_init(&enc, dst, cap);
 *     circa_pc_encode(pc, test, n_test, &enc);              // state carries across records
 *     size_t len = circa_rc_enc_finish(&enc);
 *     ...
 *     circa_rc_dec dec;
 *     circa_rc_dec_init(&dec, dst, len);
 *     circa_pc_decode(pc, &dec, out, n_test);
 *     circa_pc_free(pc);
 *
 * The model: each variable v (a byte of the record) has a hidden variable
 * with M states; the hidden variables form a tree (a Chow-Liu tree learned
 * from pairwise mutual information, rooted at its centre). The circuit is
 * smooth and decomposable, so marginals and conditionals are exact.
 * Parameters are categorical tables P(X_v | state) over K <= 256 categories
 * and M x M transition tables between a node's and its parent's states.
 *
 * Threading: a loaded model is immutable. Encode, decode, loglik and bpd may
 * run on the same model from many threads at once (each call allocates its
 * own scratch). Learning and circa_pc_em need exclusive use of the model.
 * Coding is bit-exact between encoder and decoder on any IEEE-754 platform
 * (double arithmetic with a fixed order, no FMA, no libm calls; see
 * docs/pc.md). The model file format is in docs/pc.md. */
#ifndef CIRCA_PC_H
#define CIRCA_PC_H

#include <stddef.h>
#include <stdint.h>
#include "circa/circa.h"
#include "circa/entropy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- 1. the model handle ------------------------------------------------ */
typedef struct circa_pc circa_pc;

/* Parses a model file held in memory (the buffer need not outlive the call).
 * Fails with CIRCA_E_TRUNCATED (short), CIRCA_E_FORMAT (bad magic, field,
 * structure or parameter, trailing bytes), CIRCA_E_VERSION, CIRCA_E_CHECKSUM,
 * CIRCA_E_LIMIT or CIRCA_E_NOMEM; *out is NULL on failure. */
CIRCA_API circa_status circa_pc_load(const void *buf, size_t n, circa_pc **out);
/* The same from a file; CIRCA_E_IO when it cannot be read. */
CIRCA_API circa_status circa_pc_load_file(const char *path, circa_pc **out);
/* Serialises the model into a malloc'd buffer (*buf, *n; caller frees). */
CIRCA_API circa_status circa_pc_save(const circa_pc *pc, uint8_t **buf, size_t *n);
/* Writes the model file through a temporary in the same directory, renamed
 * into place when complete; CIRCA_E_IO on failure (the temporary is removed). */
CIRCA_API circa_status circa_pc_save_file(const circa_pc *pc, const char *path);
/* Frees a model; accepts NULL. */
CIRCA_API void circa_pc_free(circa_pc *pc);

/* D: number of variables = bytes per record. */
CIRCA_API size_t circa_pc_num_vars(const circa_pc *pc);
/* K: categories per variable (every byte of a record must be < K). */
CIRCA_API unsigned circa_pc_num_categories(const circa_pc *pc);
/* M: hidden states per node. */
CIRCA_API unsigned circa_pc_num_hidden(const circa_pc *pc);
/* Number of free parameters (D*M*(K-1) + (I-1)*M*(M-1) + (M-1)). */
CIRCA_API uint64_t circa_pc_num_params(const circa_pc *pc);
/* The CRC-32 of the model's file bytes (the file's last four bytes): equal
 * ids mean identical models, whatever file they were loaded from. */
CIRCA_API uint32_t circa_pc_id(const circa_pc *pc);
/* The training recipe stored with the model (a NUL-terminated line); never NULL. */
CIRCA_API const char *circa_pc_recipe(const circa_pc *pc);
/* Height of the hidden tree (edges from the root to the deepest leaf). */
CIRCA_API unsigned circa_pc_depth(const circa_pc *pc);
/* The coding order: order[i] is the record byte coded i-th (D entries). */
CIRCA_API const uint32_t *circa_pc_order(const circa_pc *pc);

/* ---- 2. coding ---------------------------------------------------------- */
/* Every conditional is quantised to an integer CDF with this total. */
#define CIRCA_PC_PREC_BITS 24

/* Codes n records of D bytes each (natural byte order), one after another,
 * with the caller's encoder; the coder state carries across records.
 * CIRCA_E_PARAM when a byte is >= K (all bytes are checked first, so then
 * nothing is coded and the encoder is untouched), CIRCA_E_NOMEM (likewise).
 * Encoder overflow is reported by circa_rc_enc_finish as usual. */
CIRCA_API circa_status circa_pc_encode(const circa_pc *pc, const uint8_t *records, size_t n,
                                       circa_rc_enc *enc);
/* Decodes n records into records (n*D bytes). It cannot detect corruption
 * by itself beyond the decoder's own checks (circa_rc_dec_finish); a frame
 * checksum should guard the content. CIRCA_E_NOMEM on allocation failure. */
CIRCA_API circa_status circa_pc_decode(const circa_pc *pc, circa_rc_dec *dec, uint8_t *records,
                                       size_t n);

/* ---- 3. likelihood ------------------------------------------------------ */
/* Sum over the n records of ln P(record), in nats, computed with `threads`
 * threads (0 or 1: the calling thread only). Returns NAN when a byte is >= K
 * or memory runs out; -INFINITY when some record has probability 0. */
CIRCA_API double circa_pc_loglik(const circa_pc *pc, const uint8_t *records, size_t n,
                                 unsigned threads);
/* Bits per dimension: -loglik / (n * D * ln 2); NAN on the same failures. */
CIRCA_API double circa_pc_bpd(const circa_pc *pc, const uint8_t *records, size_t n,
                              unsigned threads);

/* ---- 4. learning -------------------------------------------------------- */
typedef struct circa_pc_learn_params {
    unsigned hidden;       /* M, hidden states per node (1..256); default 32 */
    unsigned epochs;       /* mini-batch EM epochs; default 5 */
    unsigned batch;        /* mini-batch size; default 512 */
    unsigned threads;      /* worker threads over the batch (0 or 1: one); default 1 */
    uint64_t seed;         /* initial parameters; default 1 */
    unsigned full_epochs;  /* full-batch EM epochs after the mini-batch ones; default 1 */
    double inertia_start;  /* mini-batch step: theta = a*theta_old + (1-a)*theta_new, */
    double inertia_end;    /*   a annealed linearly from start to end; defaults 0.1, 0.9 */
    double pseudocount;    /* added to each node's counts, spread over its children; default 0.1 */
    double input_pseudocount; /* the same for input tables; default 1.0 */
    unsigned categories;   /* K (2..256); 0: 256 */
    unsigned mi_samples;   /* records used for mutual information; default 5000 */
    unsigned mi_levels;    /* values coarsened to this many levels for MI (power of 2 <= K); default 16 */
    /* Called after every epoch (may be NULL): 1-based epoch over mini-batch
     * then full-batch epochs, training bpd during that epoch, seconds since start. */
    void (*progress)(void *ctx, unsigned epoch, double train_bpd, double seconds);
    void *ctx;
} circa_pc_learn_params;

/* The defaults listed above. */
CIRCA_API circa_pc_learn_params circa_pc_learn_defaults(void);

/* Learns an HCLT structure and its parameters from n records of d bytes.
 * CIRCA_E_PARAM for bad parameters, n == 0, d == 0 or a byte >= K;
 * CIRCA_E_NOMEM; *out is NULL on failure. Deterministic for a given seed,
 * data and thread count. */
CIRCA_API circa_status circa_pc_learn(const uint8_t *records, size_t n, size_t d,
                                      const circa_pc_learn_params *p, circa_pc **out);
/* Runs more EM on an existing model (p->epochs mini-batch then
 * p->full_epochs full-batch epochs; hidden, categories and mi_* are ignored).
 * On failure the model is unchanged. */
CIRCA_API circa_status circa_pc_em(circa_pc *pc, const uint8_t *records, size_t n,
                                   const circa_pc_learn_params *p);

/* ---- 5. IDX files --------------------------------------------------------- */
/* The IDX format (MNIST and friends): 2 zero bytes, a type byte (0x08 u8,
 * 0x09 s8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64), the number of dims,
 * then each dim as a big-endian uint32, then the data. */
typedef struct circa_idx_info {
    unsigned type, ndims;
    uint32_t dims[8];
    size_t header_size; /* 4 + 4 * ndims */
    size_t record_size; /* bytes per record: element size x dims[1..] */
    size_t count;       /* dims[0] */
} circa_idx_info;

/* Parses and checks an IDX header against the buffer's length.
 * CIRCA_E_TRUNCATED when the buffer is shorter than the data the header
 * announces, CIRCA_E_FORMAT for a bad header or trailing bytes. */
CIRCA_API circa_status circa_idx_parse(const uint8_t *buf, size_t n, circa_idx_info *info);

/* ---- 6. adaptive coding ---------------------------------------------------- */
/* A circuit over a given tree whose parameters are learned while coding:
 * each record is coded with the current parameters, then its expected
 * counts (one record's E-step) are added, and at records 1, 2, 4, 8, 16
 * and every 16 after, the parameters become the smoothed normalised counts
 * (docs/pc.md). The decoder repeats the same steps on what it decodes, so no
 * parameter is ever stored: only the tree (parent[], as for circa_pc). Two
 * objects made with the same arguments code identically on any IEEE-754
 * platform. One object codes one stream; it is not thread-safe. */
typedef struct circa_pc_online circa_pc_online;

/* D variables, K categories, M hidden states, the tree as parent[] (D
 * entries, PC_NONE = 0xFFFFFFFF for the root), a seed for the start.
 * CIRCA_E_PARAM (shape), CIRCA_E_FORMAT (parent[] is not a tree), CIRCA_E_NOMEM. */
CIRCA_API circa_status circa_pc_online_new(uint32_t D, uint32_t K, uint32_t M,
                                           const uint32_t *parent, uint64_t seed,
                                           circa_pc_online **out);
CIRCA_API void circa_pc_online_free(circa_pc_online *o);
/* The circuit as it stands (its coder tables change as it learns). */
CIRCA_API const circa_pc *circa_pc_online_model(const circa_pc_online *o);
/* Codes n records of D bytes and learns from them; CIRCA_E_PARAM when a
 * byte is >= K (checked first: nothing is coded then). */
CIRCA_API circa_status circa_pc_online_encode(circa_pc_online *o, const uint8_t *records, size_t n,
                                              circa_rc_enc *enc);
/* Decodes n records and learns from them, as the encoder did. */
CIRCA_API circa_status circa_pc_online_decode(circa_pc_online *o, circa_rc_dec *dec,
                                              uint8_t *records, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_PC_H */
