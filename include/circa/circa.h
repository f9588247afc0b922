/* circa.h: the public entry point of libcirca: status codes, version, and the
 * framed compressor / decompressor (streaming and one-shot).
 *
 * Contents
 *   1. status codes and messages        circa_status, circa_strerror
 *   2. version                          circa_version_string
 *   3. buffers and end directives       circa_inbuf, circa_outbuf, circa_end
 *   4. streaming compression            circa_cctx_*, circa_compress_stream
 *   5. streaming decompression          circa_dctx_*, circa_decompress_stream
 *   6. one-shot helpers                 circa_compress, circa_decompress
 *
 * A worked example (error handling elided):
 *
 *     circa_cparams p = circa_cparams_default();
 *     p.level = 9;
 *     circa_cctx *c;
 *     circa_cctx_create(&p, &c);
 *     circa_inbuf  in  = { src, src_len, 0 };
 *     circa_outbuf out = { dst, dst_cap, 0 };
 *     size_t left;
 *     do circa_compress_stream(c, &out, &in, CIRCA_END, &left); while (left && out.pos < out.size);
 *     circa_cctx_free(c);
 *
 * Threading: there is no global state. A context is used by one thread at a
 * time; different contexts may be used from different threads at once.
 * Memory: a context holds at most (threads x block size x a small constant)
 * bytes, whatever the input length. The frame format is in docs/format.md. */
#ifndef CIRCA_CIRCA_H
#define CIRCA_CIRCA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(CIRCA_SHARED_BUILD)
#define CIRCA_API __declspec(dllexport)
#elif defined(__GNUC__)
#define CIRCA_API __attribute__((visibility("default")))
#else
#define CIRCA_API
#endif

/* ---- 1. status codes ---------------------------------------------------- */
typedef enum circa_status {
    CIRCA_OK = 0,
    CIRCA_E_NOMEM,       /* allocation failed */
    CIRCA_E_IO,          /* read or write failed */
    CIRCA_E_PARAM,       /* invalid argument from the caller */
    CIRCA_E_FORMAT,      /* input is not valid circa data (bad magic, field, ...) */
    CIRCA_E_VERSION,     /* a format version this build does not know */
    CIRCA_E_UNSUPPORTED, /* a valid but unsupported feature (block type, flag) */
    CIRCA_E_CHECKSUM,    /* a checksum did not match: data is corrupt */
    CIRCA_E_TRUNCATED,   /* input ended before the frame did */
    CIRCA_E_DST_SIZE,    /* destination buffer is too small */
    CIRCA_E_LIMIT,       /* input exceeds a memory or size limit */
    CIRCA_E_STATE,       /* call made in the wrong state (e.g. input after a frame ended) */
    CIRCA_E_DEVICE,      /* accelerator (CUDA) error */
    CIRCA_E_MODEL,       /* the frame needs a model that was not given, or a different one */
    CIRCA_STATUS_COUNT
} circa_status;

/* A short, static, lower-case message for a status; never NULL. */
CIRCA_API const char *circa_strerror(circa_status s);

/* ---- 2. version --------------------------------------------------------- */
#define CIRCA_VERSION_MAJOR 0
#define CIRCA_VERSION_MINOR 1
#define CIRCA_VERSION_PATCH 0
CIRCA_API const char *circa_version_string(void);

/* ---- 3. buffers --------------------------------------------------------- */
/* Caller-owned buffers with a cursor. A call reads src[pos..size) and writes
 * dst[pos..size), advancing pos by what it consumed or produced. */
typedef struct circa_inbuf {
    const void *src;
    size_t size;
    size_t pos;
} circa_inbuf;

typedef struct circa_outbuf {
    void *dst;
    size_t size;
    size_t pos;
} circa_outbuf;

typedef enum circa_end {
    CIRCA_CONTINUE = 0, /* buffer input, emit whole blocks as they fill */
    CIRCA_FLUSH = 1,    /* also code the partial block buffered so far */
    CIRCA_END = 2       /* flush, then close the frame with the end mark */
} circa_end;

/* ---- 4. streaming compression ------------------------------------------- */
#define CIRCA_LEVEL_MIN 1
#define CIRCA_LEVEL_MAX 9
#define CIRCA_LEVEL_DEFAULT 3
#define CIRCA_THREADS_MAX 64

/* A model that codes fixed-width records (codec.h), e.g. a probabilistic
 * circuit (pc.h); used like a zstd dictionary: the frame records its id. */
typedef struct circa_record_model circa_record_model;

typedef struct circa_cparams {
    int level;             /* 1 (fastest) .. 9 (smallest) */
    unsigned threads;      /* blocks coded in parallel; output identical for any value */
    unsigned block_log;    /* 0: the level's default, else 16..24 (block = 2^block_log bytes) */
    int content_size_known;/* nonzero: content_size is written to the frame header */
    uint64_t content_size; /* and the frame fails with CIRCA_E_PARAM if it differs */
    const circa_record_model *model; /* optional; must outlive the context */
    uint64_t record_offset; /* with a model: bytes before the first record (e.g. an IDX header) */
} circa_cparams;

CIRCA_API circa_cparams circa_cparams_default(void);

typedef struct circa_cctx circa_cctx;

/* Creates a compression context. *out is NULL on failure. */
CIRCA_API circa_status circa_cctx_create(const circa_cparams *params, circa_cctx **out);
/* Frees a context; accepts NULL. */
CIRCA_API void circa_cctx_free(circa_cctx *cctx);

/* Consumes input and produces frame bytes. *remaining (may be NULL) is set to
 * the number of bytes the context still holds to write: with CIRCA_END, call
 * again until it is 0, which means the frame is complete. After a frame is
 * complete the next call with input starts a new frame. On error the context
 * must be freed. */
CIRCA_API circa_status circa_compress_stream(circa_cctx *cctx, circa_outbuf *out,
                                             circa_inbuf *in, circa_end end,
                                             size_t *remaining);

/* ---- 5. streaming decompression ----------------------------------------- */
typedef struct circa_dctx circa_dctx;

CIRCA_API circa_status circa_dctx_create(circa_dctx **out);
/* Gives the decoder the model that frames made with one need (they record
 * its id); NULL removes it. The model must outlive the context. */
CIRCA_API void circa_dctx_set_model(circa_dctx *dctx, const circa_record_model *model);
CIRCA_API void circa_dctx_free(circa_dctx *dctx);

/* Consumes frame bytes and produces content. Concatenated frames decode to
 * the concatenation of their contents. *in_frame (may be NULL) is set to 1
 * while a frame is open (started and not yet fully decoded and flushed) and 0
 * at a frame boundary: a caller at end of input with *in_frame == 1 holds a
 * truncated frame. On error the context must be freed. */
CIRCA_API circa_status circa_decompress_stream(circa_dctx *dctx, circa_outbuf *out,
                                               circa_inbuf *in, int *in_frame);

/* Largest raw block size a decoder will accept, in bytes (memory bound). */
#define CIRCA_BLOCK_LOG_MIN 10
#define CIRCA_BLOCK_LOG_MAX 24

/* ---- 6. one-shot helpers ------------------------------------------------ */
/* An upper bound of the compressed size of n bytes (for dst capacity). */
CIRCA_API size_t circa_compress_bound(size_t n);

/* Compresses src into dst; *dst_len receives the frame size. */
CIRCA_API circa_status circa_compress(void *dst, size_t dst_cap, size_t *dst_len,
                                      const void *src, size_t src_len, int level);

/* Decompresses one or more whole frames in src into dst. */
CIRCA_API circa_status circa_decompress(void *dst, size_t dst_cap, size_t *dst_len,
                                        const void *src, size_t src_len);

/* Reads the content size from a frame header: CIRCA_OK and *size when the
 * header records it, CIRCA_E_UNSUPPORTED when it does not. */
CIRCA_API circa_status circa_frame_content_size(const void *src, size_t src_len,
                                                uint64_t *size);

#ifdef __cplusplus
}
#endif
#endif /* CIRCA_CIRCA_H */
