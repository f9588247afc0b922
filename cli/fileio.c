/* fileio.c: the I/O loops of the `circa` program: streaming compression,
 * decompression, testing and listing, with temporary-file output, overwrite
 * protection and --rm only after a complete, verified output. */
#define _POSIX_C_SOURCE 200809L
#include "fileio.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "circa/circa.h"
#include "circa/codec.h"
#include "circa/pc.h"

#define CHUNK (1u << 17) /* 128 KiB read/write granularity */
#define SUFFIX ".circa"

/* The temporary output being written, so a signal can remove it. */
static char g_tmp_name[4096];
static volatile sig_atomic_t g_tmp_active;

void cli_remove_temporary(void) {
    if (g_tmp_active) unlink(g_tmp_name);
}

int cli_usage_error(const char *cmd, const char *what, const char *arg) {
    fprintf(stderr, "circa: %s: %s%s%s (see 'circa %s -h')\n", cmd, what, arg ? ": " : "",
            arg ? arg : "", cmd);
    return EXIT_USAGE;
}

void cli_error(const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "circa: %s: ", name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- one open input and one open output ------------------------------- */
typedef struct io {
    const char *in_name;   /* for messages: the file name or "stdin" */
    int in_fd;
    struct stat in_st;
    const char *out_name;  /* final name, or "stdout" */
    int out_fd;            /* -1 when there is no output (test, list) */
    int out_is_file;       /* written to a temporary, renamed on success */
    uint64_t bytes_in, bytes_out;
    uint32_t content_crc;  /* of the uncompressed side, for --rm verification */
    time_t last_progress;
    int show_progress;
} io;

static int read_some(io *f, uint8_t *buf, size_t cap, size_t *got) {
    for (;;) {
        ssize_t n = read(f->in_fd, buf, cap);
        if (n >= 0) {
            *got = (size_t)n;
            f->bytes_in += (uint64_t)n;
            return 0;
        }
        if (errno != EINTR) {
            cli_error(f->in_name, "%s", strerror(errno));
            return -1;
        }
    }
}

static int write_all(io *f, const uint8_t *p, size_t n) {
    f->bytes_out += n;
    if (f->out_fd < 0) return 0;
    while (n > 0) {
        ssize_t w = write(f->out_fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            cli_error(f->out_name, "%s", w < 0 ? strerror(errno) : "write failed");
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void progress(io *f, int done) {
    if (!f->show_progress) return;
    time_t now = time(NULL);
    if (!done && now == f->last_progress) return;
    f->last_progress = now;
    if (done)
        fputs("\r\033[K", stderr);
    else
        fprintf(stderr, "\rcirca: %s: %" PRIu64 " MiB -> %" PRIu64 " MiB", f->in_name,
                f->bytes_in >> 20, f->bytes_out >> 20);
}

/* ---- the loops ---------------------------------------------------------- */
/* Reads exactly n bytes (or fewer only at end of input). */
static size_t read_exact(io *f, uint8_t *buf, size_t n, int *err) {
    size_t have = 0;
    while (have < n) {
        size_t got;
        if (read_some(f, buf + have, n - have, &got)) { *err = 1; return have; }
        if (got == 0) break;
        have += got;
    }
    return have;
}

/* With a record model: where records start in the input, judged from its
 * first bytes. An IDX file's records follow its header and must be the
 * model's width; anything else is taken as raw records from byte 0. */
static int record_offset(const cli_opts *o, const io *f, const uint8_t *head, size_t n,
                         uint64_t *offset) {
    circa_idx_info idx;
    circa_status st = circa_idx_parse(head, n, &idx);
    *offset = 0;
    if ((st != CIRCA_OK && st != CIRCA_E_TRUNCATED) || n < idx.header_size || !idx.record_size)
        return 0;
    if (idx.record_size != o->model->width) {
        cli_error(f->in_name, "IDX records are %zu bytes but the model codes %zu", idx.record_size,
                  o->model->width);
        return -1;
    }
    *offset = idx.header_size;
    return 0;
}

static int compress_loop(const cli_opts *o, io *f) {
    circa_cparams p = circa_cparams_default();
    p.level = o->level;
    p.threads = o->threads;
    p.model = o->model;
    if (S_ISREG(f->in_st.st_mode)) {
        p.content_size_known = 1;
        p.content_size = (uint64_t)f->in_st.st_size;
    }
    uint8_t *ibuf = malloc(CHUNK), *obuf = malloc(CHUNK);
    circa_cctx *c = NULL;
    int rc = 0, err = 0;
    /* The first chunk is read whole before the context is made: a model
     * needs to know where the records start. */
    size_t got = ibuf && obuf ? read_exact(f, ibuf, CHUNK, &err) : 0;
    if (!ibuf || !obuf) cli_error(f->in_name, "%s", circa_strerror(CIRCA_E_NOMEM));
    if (!ibuf || !obuf || err || (o->model && record_offset(o, f, ibuf, got, &p.record_offset)))
        rc = -1;
    circa_status st = rc ? CIRCA_OK : circa_cctx_create(&p, &c);
    if (st != CIRCA_OK) {
        cli_error(f->in_name, "%s", circa_strerror(st));
        rc = -1;
    }
    uint32_t crc = 0;
    for (int eof = 0, first = 1; !rc && !eof; first = 0) {
        if (!first && read_some(f, ibuf, CHUNK, &got)) { rc = -1; break; }
        eof = got == 0;
        crc = (uint32_t)crc32(crc, ibuf, (uInt)got);
        circa_inbuf in = {ibuf, got, 0};
        size_t left;
        do {
            circa_outbuf out = {obuf, CHUNK, 0};
            st = circa_compress_stream(c, &out, &in, eof ? CIRCA_END : CIRCA_CONTINUE, &left);
            if (st != CIRCA_OK) {
                /* A content size mismatch means the file changed while we read it. */
                cli_error(f->in_name, "%s", st == CIRCA_E_PARAM ? "file changed while reading"
                                                                 : circa_strerror(st));
                rc = -1;
                break;
            }
            if (write_all(f, obuf, out.pos)) { rc = -1; break; }
        } while (in.pos < in.size || left > 0);
        progress(f, 0);
    }
    progress(f, 1);
    f->content_crc = crc;
    free(ibuf);
    free(obuf);
    circa_cctx_free(c);
    return rc;
}

static const char *decode_message(circa_status st) {
    if (st == CIRCA_E_MODEL) return "needs the model it was compressed with (--model FILE)";
    return st == CIRCA_E_FORMAT ? "not in circa format, or corrupt" : circa_strerror(st);
}

/* Decodes the input; writes content to the output (if any). */
static int decompress_loop(const cli_opts *o, io *f) {
    circa_dctx *d;
    circa_status st = circa_dctx_create(&d);
    if (st == CIRCA_OK) circa_dctx_set_model(d, o->model);
    uint8_t *ibuf = malloc(CHUNK), *obuf = malloc(CHUNK);
    int rc = (st == CIRCA_OK && ibuf && obuf) ? 0 : -1;
    if (rc) cli_error(f->in_name, "%s", circa_strerror(CIRCA_E_NOMEM));
    int open = 0;
    uint32_t crc = 0;
    for (int eof = 0; !rc && !eof;) {
        size_t got = 0;
        if (read_some(f, ibuf, CHUNK, &got)) { rc = -1; break; }
        eof = got == 0;
        circa_inbuf in = {ibuf, got, 0};
        do {
            circa_outbuf out = {obuf, CHUNK, 0};
            st = circa_decompress_stream(d, &out, &in, &open);
            if (st != CIRCA_OK) {
                cli_error(f->in_name, "%s", decode_message(st));
                rc = -1;
                break;
            }
            crc = (uint32_t)crc32(crc, obuf, (uInt)out.pos);
            if (write_all(f, obuf, out.pos)) { rc = -1; break; }
            if (out.pos < out.size && in.pos == in.size) break;
        } while (1);
        progress(f, 0);
    }
    progress(f, 1);
    if (!rc && (open || f->bytes_in == 0)) {
        cli_error(f->in_name, f->bytes_in == 0 ? "empty input, not a circa frame"
                                               : "truncated input (frame incomplete)");
        rc = -1;
    }
    f->content_crc = crc;
    free(ibuf);
    free(obuf);
    circa_dctx_free(d);
    return rc;
}

/* Walks the frames of the input, printing a summary (and blocks with -v). */
static int list_loop(const cli_opts *o, io *f) {
    uint8_t hdr[CIRCA_FRAME_HEADER_MAX_SIZE], *skip = malloc(CHUNK);
    uint64_t frames = 0, blocks = 0, coded = 0, raw = 0;
    unsigned used = 0; /* bit set of block types seen */
    int err = 0;
    if (!skip) return -1;
    for (;;) {
        size_t got = read_exact(f, hdr, 8, &err);
        if (err) break;
        if (got == 0 && frames > 0) break;
        circa_frame_info fi;
        circa_status st = circa_frame_info_parse(hdr, got, &fi);
        if (st == CIRCA_E_TRUNCATED && got == 8) {
            got += read_exact(f, hdr + 8, fi.header_size - 8, &err);
            st = circa_frame_info_parse(hdr, got, &fi);
        }
        if (st != CIRCA_OK) { cli_error(f->in_name, "%s", decode_message(st)); err = 1; break; }
        frames++;
        coded += fi.header_size;
        if (o->verbosity >= 2)
            printf("frame %" PRIu64 ": block size %u KiB, content size %s\n", frames,
                   1u << (fi.block_log - 10), fi.content_size_known ? "recorded" : "unknown");
        for (;;) {
            uint8_t bh[CIRCA_BLOCK_HEADER_BYTES];
            circa_block_info bi;
            if (read_exact(f, bh, sizeof bh, &err) < sizeof bh) {
                if (!err) cli_error(f->in_name, "truncated input (frame incomplete)");
                err = 1;
                break;
            }
            st = circa_block_info_parse(bh, &fi, &bi);
            if (st != CIRCA_OK) { cli_error(f->in_name, "%s", decode_message(st)); err = 1; break; }
            coded += sizeof bh;
            if (bi.is_end) break;
            blocks++;
            used |= 1u << bi.type;
            coded += bi.coded_size;
            raw += bi.raw_size;
            if (o->verbosity >= 2)
                printf("  block %" PRIu64 ": %-8s %10u -> %10u  crc32 %08x\n", blocks,
                       circa_block_name(bi.type), bi.raw_size, bi.coded_size, bi.raw_crc);
            for (uint32_t left = bi.coded_size; left > 0;) {
                size_t n = left < CHUNK ? left : CHUNK;
                if (read_exact(f, skip, n, &err) < n) {
                    if (!err) cli_error(f->in_name, "truncated input (frame incomplete)");
                    err = 1;
                    break;
                }
                left -= (uint32_t)n;
            }
            if (err) break;
        }
        if (err) break;
    }
    free(skip);
    if (err) return -1;
    char codecs[64] = "";
    for (unsigned t = 0; t < CIRCA_BLOCK_TYPE_COUNT; t++)
        if (used & (1u << t)) {
            if (codecs[0]) strcat(codecs, ",");
            strcat(codecs, circa_block_name(t));
        }
    printf("%-30s %6s %7s %14s %14s %7s  %s\n", "file", "frames", "blocks", "compressed",
           "uncompressed", "ratio", "codecs");
    printf("%-30s %6" PRIu64 " %7" PRIu64 " %14" PRIu64 " %14" PRIu64 " %7.3f  %s\n", f->in_name,
           frames, blocks, coded, raw, coded ? (double)raw / (double)coded : 0.0,
           codecs[0] ? codecs : "-");
    return 0;
}

/* ---- naming, opening and finishing ------------------------------------ */
static int has_suffix(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n > m && strcmp(s + n - m, suf) == 0;
}

/* The default output name for a file argument, or NULL (after a message). */
static char *derive_out_name(const cli_opts *o, const char *in) {
    size_t n = strlen(in);
    char *name = malloc(n + sizeof SUFFIX);
    if (!name) return NULL;
    if (o->mode == MODE_COMPRESS) {
        if (has_suffix(in, SUFFIX) && !o->force) {
            cli_error(in, "already has the %s suffix, skipped (use -f to compress anyway)", SUFFIX);
            free(name);
            return NULL;
        }
        memcpy(name, in, n);
        memcpy(name + n, SUFFIX, sizeof SUFFIX);
    } else {
        if (!has_suffix(in, SUFFIX)) {
            cli_error(in, "unknown suffix (expected %s); use -o or -c", SUFFIX);
            free(name);
            return NULL;
        }
        memcpy(name, in, n - strlen(SUFFIX));
        name[n - strlen(SUFFIX)] = 0;
    }
    return name;
}

static int open_temporary(io *f, const char *final_name) {
    const char *slash = strrchr(final_name, '/');
    size_t dir_len = slash ? (size_t)(slash - final_name + 1) : 0;
    int n = snprintf(g_tmp_name, sizeof g_tmp_name, "%.*s.%s.tmpXXXXXX", (int)dir_len, final_name,
                     final_name + dir_len);
    if (n < 0 || (size_t)n >= sizeof g_tmp_name) {
        cli_error(final_name, "name too long");
        return -1;
    }
    f->out_fd = mkstemp(g_tmp_name);
    if (f->out_fd < 0) {
        cli_error(final_name, "cannot create temporary output: %s", strerror(errno));
        return -1;
    }
    g_tmp_active = 1;
    return 0;
}

/* Keeps the input's permission bits on the output, then renames into place. */
static int commit_output(io *f) {
    if (S_ISREG(f->in_st.st_mode)) (void)fchmod(f->out_fd, f->in_st.st_mode & 0777);
    if (close(f->out_fd) != 0) {
        f->out_fd = -1;
        cli_error(f->out_name, "%s", strerror(errno));
        return -1;
    }
    f->out_fd = -1;
    if (rename(g_tmp_name, f->out_name) != 0) {
        cli_error(f->out_name, "cannot rename temporary output: %s", strerror(errno));
        return -1;
    }
    g_tmp_active = 0;
    return 0;
}

static void abandon_output(io *f) {
    if (f->out_is_file && f->out_fd >= 0) close(f->out_fd);
    f->out_fd = -1;
    if (g_tmp_active) unlink(g_tmp_name);
    g_tmp_active = 0;
}

/* Decodes a just-written compressed file and checks it holds the content
 * that was read (size and CRC-32), before --rm may delete the input. */
static int verify_compressed(const cli_opts *o, const io *written) {
    io v = {0};
    v.in_name = written->out_name;
    v.out_fd = -1;
    v.in_fd = open(written->out_name, O_RDONLY);
    if (v.in_fd < 0) {
        cli_error(written->out_name, "cannot reopen for verification: %s", strerror(errno));
        return -1;
    }
    int rc = decompress_loop(o, &v);
    close(v.in_fd);
    if (!rc && (v.bytes_out != written->bytes_in || v.content_crc != written->content_crc)) {
        cli_error(written->out_name, "verification failed: content differs; input kept");
        rc = -1;
    }
    return rc;
}

static int open_input(io *f, const char *in_name, const cli_opts *o) {
    int is_stdin = !in_name || strcmp(in_name, "-") == 0;
    f->in_name = is_stdin ? "stdin" : in_name;
    f->in_fd = is_stdin ? STDIN_FILENO : open(in_name, O_RDONLY);
    if (f->in_fd < 0 || fstat(f->in_fd, &f->in_st) != 0) {
        cli_error(f->in_name, "%s", strerror(errno));
        return -1;
    }
    if (S_ISDIR(f->in_st.st_mode)) {
        cli_error(f->in_name, "is a directory");
        return -1;
    }
    if (o->mode != MODE_COMPRESS && isatty(f->in_fd) && !o->force) {
        cli_error(f->in_name, "refusing to read compressed data from a terminal (use -f)");
        return -1;
    }
    return 0;
}

static int same_file(const struct stat *a, const char *path) {
    struct stat b;
    return stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

/* Chooses and opens the output; 1 means "skip this input" (message given). */
static int open_output(io *f, const cli_opts *o, const char *in_name, char **owned) {
    f->out_fd = -1;
    if (o->mode == MODE_TEST || o->mode == MODE_LIST) return 0;
    int is_stdin = !in_name || strcmp(in_name, "-") == 0;
    if (o->to_stdout || (is_stdin && !o->out_name)) {
        f->out_name = "stdout";
        f->out_fd = STDOUT_FILENO;
        if (o->mode == MODE_COMPRESS && isatty(STDOUT_FILENO) && !o->force) {
            cli_error("stdout", "refusing to write compressed data to a terminal (use -o, or -f)");
            return -1;
        }
        return 0;
    }
    const char *name = o->out_name;
    if (!name && !(name = *owned = derive_out_name(o, in_name))) return -1;
    f->out_name = name;
    struct stat st;
    if (!is_stdin && same_file(&f->in_st, name)) {
        cli_error(name, "output would overwrite the input");
        return -1;
    }
    if (stat(name, &st) == 0 && !o->force) {
        cli_error(name, "already exists; not overwritten (use -f)");
        return -1;
    }
    f->out_is_file = 1;
    return open_temporary(f, name);
}

int cli_process(const cli_opts *o, const char *in_name) {
    io f = {0};
    char *owned = NULL;
    f.out_fd = -1;
    int rc = open_input(&f, in_name, o);
    if (!rc) rc = open_output(&f, o, in_name, &owned);
    f.show_progress = !rc && o->verbosity >= 1 && isatty(STDERR_FILENO) && o->mode != MODE_LIST;
    if (!rc) {
        switch (o->mode) {
        case MODE_COMPRESS: rc = compress_loop(o, &f); break;
        case MODE_DECOMPRESS:
        case MODE_TEST: rc = decompress_loop(o, &f); break;
        case MODE_LIST: rc = list_loop(o, &f); break;
        }
    }
    if (!rc && f.out_is_file) rc = commit_output(&f);
    if (rc) abandon_output(&f);
    if (!rc && o->mode == MODE_COMPRESS && o->rm && f.out_is_file) rc = verify_compressed(o, &f);
    if (!rc && o->rm && f.out_is_file && S_ISREG(f.in_st.st_mode) && unlink(in_name) != 0) {
        cli_error(f.in_name, "cannot remove: %s", strerror(errno));
        rc = -1;
    }
    if (!rc && o->verbosity >= 2 && o->mode != MODE_LIST) {
        uint64_t raw = o->mode == MODE_COMPRESS ? f.bytes_in : f.bytes_out;
        uint64_t coded = o->mode == MODE_COMPRESS ? f.bytes_out : f.bytes_in;
        fprintf(stderr, "circa: %s: %" PRIu64 " -> %" PRIu64 " bytes (%.2f%%)%s%s\n", f.in_name,
                o->mode == MODE_COMPRESS ? raw : coded, o->mode == MODE_COMPRESS ? coded : raw,
                raw ? 100.0 * (double)coded / (double)raw : 0.0, f.out_name ? " => " : "",
                f.out_name ? f.out_name : (o->mode == MODE_TEST ? " OK" : ""));
    }
    if (f.in_fd > STDIN_FILENO) close(f.in_fd);
    free(owned);
    return rc ? EXIT_DATA : EXIT_OK;
}
