/* writer.c: writes float frames as WAV, FLAC, AU or raw, to files through
 * libsndfile and to pipes through paths that never seek back: WAV and AU
 * headers with "unknown" sizes written here, and FLAC through libsndfile
 * with its final STREAMINFO rewrite dropped. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sndfile.h>
#include "audio_internal.h"
#include "../../codecs/common/le_bytes.h"

#define BYTE_BLOCK (64u << 10) /* packed PCM write granularity */
#define INT_BLOCK 16384u       /* samples per libsndfile integer write */

struct circa_audio_writer {
    circa_audio_info info;
    int fd, own_fd;
    SNDFILE *sf;
    int *ibuf;                 /* quantized samples for libsndfile, INT_BLOCK */
    unsigned bits;             /* integer sample bits, 0 for float */
    int virt;                  /* libsndfile writes through the callbacks below */
    int64_t vpos, vend;        /* their position and the stream's length */
    int verr;                  /* errno of a failed write(2) */
    int pcm;                   /* packed PCM written here (raw; WAV, AU on a pipe) */
    circa__pcm_layout lay;
    size_t frame_bytes;
    unsigned char *bytes;      /* BYTE_BLOCK, or one frame if larger */
    size_t bytes_cap;
    uint64_t clipped;
    int failed, finished;
    circa_status finish_status;
    char err[256];
};

static circa_status fail(circa_audio_writer *w, circa_status st, const char *fmt, const char *a) {
    return circa__say(w->err, sizeof w->err, st, fmt, a);
}

/* Writes all n bytes to the fd; 0 or -1 with w->verr set. */
static int write_all(circa_audio_writer *w, const void *p, size_t n) {
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t r = write(w->fd, b, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            w->verr = r < 0 ? errno : EIO;
            return -1;
        }
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

/* ---- FLAC on a pipe: libsndfile through callbacks -------------------------
 * At the end libFLAC seeks back to fill in STREAMINFO (length, MD5, frame
 * sizes). A pipe cannot go back, so writes anywhere but at the end of the
 * stream are dropped: STREAMINFO keeps "unknown" (0) in those fields, which
 * is valid FLAC that every decoder plays. */
static sf_count_t v_len(void *u) { return ((circa_audio_writer *)u)->vend; }
static sf_count_t v_seek(sf_count_t off, int whence, void *u) {
    circa_audio_writer *w = u;
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? w->vpos : w->vend;
    if (base + off < 0) return -1;
    w->vpos = base + off;
    return w->vpos;
}
static sf_count_t v_read(void *dst, sf_count_t n, void *u) {
    (void)dst, (void)n, (void)u;
    return 0;
}
static sf_count_t v_write(const void *src, sf_count_t n, void *u) {
    circa_audio_writer *w = u;
    if (w->vpos != w->vend) { /* a rewrite of what was already sent: drop it */
        w->vpos += n;
        return n;
    }
    if (write_all(w, src, (size_t)n) != 0) return 0;
    w->vpos = w->vend += n;
    return n;
}
static sf_count_t v_tell(void *u) { return ((circa_audio_writer *)u)->vpos; }

/* ---- opening ------------------------------------------------------------- */
static int subtype_of(circa_sample_format f) {
    switch (f) {
    case CIRCA_SAMPLE_S16: return SF_FORMAT_PCM_16;
    case CIRCA_SAMPLE_S24: return SF_FORMAT_PCM_24;
    case CIRCA_SAMPLE_S32: return SF_FORMAT_PCM_32;
    default: return SF_FORMAT_FLOAT;
    }
}

/* A WAV file of known, modest length gets the plain header every reader
 * knows; otherwise RF64, which libsndfile turns into WAV (with a JUNK
 * chunk and an extensible fmt) if it ends under 4 GiB. */
static int wav_major(const circa_audio_writer *w) {
    uint64_t bytes = (uint64_t)w->info.frames * w->info.channels * (w->bits ? w->bits / 8 : 4);
    return w->info.frames >= 0 && bytes < (1ull << 31) ? SF_FORMAT_WAV : SF_FORMAT_RF64;
}

static int major_of(const circa_audio_writer *w) {
    switch (w->info.container) {
    case CIRCA_AUDIO_WAV: return wav_major(w);
    case CIRCA_AUDIO_FLAC: return SF_FORMAT_FLAC;
    default: return SF_FORMAT_AU;
    }
}

static circa_status open_sndfile(circa_audio_writer *w, int is_pipe) {
    SF_INFO si;
    memset(&si, 0, sizeof si);
    si.samplerate = (int)w->info.rate;
    si.channels = (int)w->info.channels;
    si.format = major_of(w) | subtype_of(w->info.format);
    if (w->virt) {
        SF_VIRTUAL_IO vio = {v_len, v_seek, v_read, v_write, v_tell};
        w->sf = sf_open_virtual(&vio, SFM_WRITE, &si, w);
    } else {
        w->sf = sf_open_fd(w->fd, SFM_WRITE, &si, 0);
    }
    if (!w->sf) {
        if (w->verr) return fail(w, CIRCA_E_IO, "%s", strerror(w->verr));
        circa__say(w->err, sizeof w->err, CIRCA_E_UNSUPPORTED, "cannot write %s%s: %s",
                   circa_audio_container_name(w->info.container), is_pipe ? " to a pipe" : "",
                   sf_strerror(NULL));
        return CIRCA_E_UNSUPPORTED;
    }
    sf_command(w->sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
    if ((si.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_RF64)
        sf_command(w->sf, SFC_RF64_AUTO_DOWNGRADE, NULL, SF_TRUE);
    if (w->bits && !(w->ibuf = malloc(sizeof *w->ibuf * INT_BLOCK))) return CIRCA_E_NOMEM;
    return CIRCA_OK;
}

/* The canonical 44-byte header (46 for float: fmt gains cbSize = 0), with
 * the RIFF and data sizes 0xFFFFFFFF: "unknown, read to the end". */
static circa_status write_wav_header(circa_audio_writer *w) {
    unsigned char h[46];
    int is_float = w->info.format == CIRCA_SAMPLE_F32;
    uint32_t fmt_size = is_float ? 18 : 16;
    uint64_t byte_rate = (uint64_t)w->info.rate * w->frame_bytes;
    if (byte_rate > 0xFFFFFFFFu)
        return fail(w, CIRCA_E_UNSUPPORTED, "%s", "too many bytes per second for a WAV header");
    memcpy(h, "RIFF", 4);
    circa__put32(h + 4, 0xFFFFFFFFu);
    memcpy(h + 8, "WAVEfmt ", 8);
    circa__put32(h + 16, fmt_size);
    circa__put16(h + 20, is_float ? 3 : 1);
    circa__put16(h + 22, w->info.channels);
    circa__put32(h + 24, w->info.rate);
    circa__put32(h + 28, (uint32_t)byte_rate);
    circa__put16(h + 32, (unsigned)w->frame_bytes);
    circa__put16(h + 34, w->lay.bytes * 8);
    size_t at = 36;
    if (is_float) {
        circa__put16(h + at, 0);
        at += 2;
    }
    memcpy(h + at, "data", 4);
    circa__put32(h + at + 4, 0xFFFFFFFFu);
    if (write_all(w, h, at + 8) != 0) return fail(w, CIRCA_E_IO, "%s", strerror(w->verr));
    return CIRCA_OK;
}

/* The AU header: 28 bytes, big-endian: ".snd", data offset 28, data size
 * 0xFFFFFFFF (unknown), encoding, rate, channels, and 4 zero bytes of
 * annotation (the minimum the format defines, so readers do not warn). */
static circa_status write_au_header(circa_audio_writer *w) {
    static const uint32_t encoding[] = {3, 4, 5, 6}; /* s16, s24, s32, f32 */
    uint32_t v[6] = {0x2E736E64u, 28, 0xFFFFFFFFu, encoding[w->info.format], w->info.rate,
                     w->info.channels};
    unsigned char h[28] = {0};
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 4; k++) h[4 * i + k] = (unsigned char)(v[i] >> (24 - 8 * k));
    if (write_all(w, h, sizeof h) != 0) return fail(w, CIRCA_E_IO, "%s", strerror(w->verr));
    return CIRCA_OK;
}

/* Packed PCM written here, after the container's header if it has one. */
static circa_status start_pcm(circa_audio_writer *w) {
    circa_audio_container c = w->info.container;
    w->pcm = 1;
    w->lay = circa__pcm_layout_of(w->info.format, c == CIRCA_AUDIO_AU);
    w->frame_bytes = (size_t)w->lay.bytes * w->info.channels;
    w->bytes_cap = w->frame_bytes > BYTE_BLOCK ? w->frame_bytes : BYTE_BLOCK;
    if (!(w->bytes = malloc(w->bytes_cap))) return CIRCA_E_NOMEM;
    return c == CIRCA_AUDIO_WAV ? write_wav_header(w)
           : c == CIRCA_AUDIO_AU ? write_au_header(w) : CIRCA_OK;
}

static circa_status check_info(circa_audio_writer *w, const circa_audio_info *info) {
    if ((unsigned)info->container > CIRCA_AUDIO_RAW)
        return fail(w, CIRCA_E_PARAM, "%s", "circa writes wav, flac, au or raw");
    if ((unsigned)info->format > CIRCA_SAMPLE_F32)
        return fail(w, CIRCA_E_PARAM, "%s", "unknown sample format");
    circa_status st = circa__audio_check(info->rate, info->channels, w->err, sizeof w->err);
    if (st != CIRCA_OK) return st;
    if (info->container == CIRCA_AUDIO_FLAC && info->format != CIRCA_SAMPLE_S16 &&
        info->format != CIRCA_SAMPLE_S24)
        return fail(w, CIRCA_E_UNSUPPORTED, "%s", "FLAC holds 16- or 24-bit integer samples");
    return CIRCA_OK;
}

static circa_status open_output(circa_audio_writer *w) {
    struct stat sb;
    if (w->fd < 0 || fstat(w->fd, &sb) != 0)
        return fail(w, CIRCA_E_IO, "%s", strerror(w->fd < 0 ? EBADF : errno));
    /* libsndfile seeks back to finish headers: only a file we write from its
     * start qualifies. Anything else (pipes, terminals, appends to a file)
     * gets a stream that never seeks. */
    int flags = fcntl(w->fd, F_GETFL);
    int seekable = (S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode)) && flags >= 0 &&
                   !(flags & O_APPEND) && lseek(w->fd, 0, SEEK_CUR) == 0;
    if (w->info.container == CIRCA_AUDIO_RAW) return start_pcm(w);
    if (seekable) return open_sndfile(w, 0);
    if (w->info.container != CIRCA_AUDIO_FLAC) return start_pcm(w); /* WAV, AU */
    w->virt = 1;
    return open_sndfile(w, 1);
}

circa_status circa_audio_open_write_fd(int fd, int own_fd, const circa_audio_info *info,
                                       char *why, size_t why_cap, circa_audio_writer **out) {
    if (why && why_cap) why[0] = 0;
    circa_audio_writer *w = out && info ? calloc(1, sizeof *w) : NULL;
    if (!w) {
        if (own_fd && fd >= 0) close(fd);
        if (out) *out = NULL;
        circa_status st = out && info ? CIRCA_E_NOMEM : CIRCA_E_PARAM;
        return circa__say(why, why_cap, st, "%s", circa_strerror(st));
    }
    *out = NULL;
    w->fd = fd;
    w->own_fd = own_fd;
    w->info = *info;
    w->bits = circa__format_bits(info->format);
    circa_status st = check_info(w, info);
    if (st == CIRCA_OK) st = open_output(w);
    if (st != CIRCA_OK) {
        if (!w->err[0]) circa__say(w->err, sizeof w->err, st, "%s", circa_strerror(st));
        circa__say(why, why_cap, st, "%s", w->err);
        w->finished = 1; /* nothing to complete */
        circa_audio_close_write(w);
        return st;
    }
    *out = w;
    return CIRCA_OK;
}

circa_status circa_audio_open_write(const char *path, const circa_audio_info *info,
                                    circa_audio_writer **out) {
    if (!path || !out) return CIRCA_E_PARAM;
    if (strcmp(path, "-") == 0) return circa_audio_open_write_fd(STDOUT_FILENO, 0, info, NULL, 0, out);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        *out = NULL;
        return CIRCA_E_IO;
    }
    return circa_audio_open_write_fd(fd, 1, info, NULL, 0, out);
}

/* ---- writing ------------------------------------------------------------- */
static circa_status write_pcm(circa_audio_writer *w, const float *buf, size_t frames) {
    size_t ch = w->info.channels, per = w->bytes_cap / w->frame_bytes;
    for (size_t done = 0; done < frames;) {
        size_t n = frames - done < per ? frames - done : per;
        w->clipped += circa__pcm_encode(&w->lay, buf + done * ch, w->bytes, n * ch);
        if (write_all(w, w->bytes, n * w->frame_bytes) != 0)
            return fail(w, CIRCA_E_IO, "%s", strerror(w->verr));
        done += n;
    }
    return CIRCA_OK;
}

static circa_status sndfile_failed(circa_audio_writer *w) {
    if (w->verr) return fail(w, CIRCA_E_IO, "%s", strerror(w->verr));
    return fail(w, CIRCA_E_IO, "%s", sf_strerror(w->sf));
}

static circa_status write_sndfile(circa_audio_writer *w, const float *buf, size_t frames) {
    size_t ch = w->info.channels;
    if (!w->bits) {
        if ((size_t)sf_writef_float(w->sf, buf, (sf_count_t)frames) != frames) return sndfile_failed(w);
        return CIRCA_OK;
    }
    size_t per = INT_BLOCK / ch;
    for (size_t done = 0; done < frames;) {
        size_t n = frames - done < per ? frames - done : per;
        const float *src = buf + done * ch;
        for (size_t i = 0; i < n * ch; i++) w->ibuf[i] = circa__quantize(src[i], w->bits, &w->clipped);
        if ((size_t)sf_writef_int(w->sf, w->ibuf, (sf_count_t)n) != n) return sndfile_failed(w);
        done += n;
    }
    return CIRCA_OK;
}

circa_status circa_audio_write(circa_audio_writer *w, const float *buf, size_t frames) {
    if (!w || (!buf && frames)) return CIRCA_E_PARAM;
    if (w->failed || w->finished) return w->failed ? CIRCA_E_IO : CIRCA_E_STATE;
    if (frames == 0) return CIRCA_OK;
    circa_status st = w->pcm ? write_pcm(w, buf, frames) : write_sndfile(w, buf, frames);
    if (st != CIRCA_OK) w->failed = 1;
    return st;
}

uint64_t circa_audio_writer_clipped(const circa_audio_writer *w) { return w ? w->clipped : 0; }

const char *circa_audio_writer_error(const circa_audio_writer *w) { return w ? w->err : ""; }

circa_status circa_audio_finish_write(circa_audio_writer *w) {
    if (!w) return CIRCA_E_PARAM;
    if (w->finished) return w->finish_status;
    w->finished = 1;
    circa_status st = w->failed ? CIRCA_E_IO : CIRCA_OK;
    if (w->sf) {
        int e = sf_close(w->sf);
        w->sf = NULL;
        if (st == CIRCA_OK && (e != 0 || w->verr))
            st = fail(w, CIRCA_E_IO, "%s", w->verr ? strerror(w->verr) : sf_error_number(e));
    }
    if (w->own_fd && w->fd >= 0) {
        if (close(w->fd) != 0 && st == CIRCA_OK) st = fail(w, CIRCA_E_IO, "%s", strerror(errno));
        w->fd = -1;
    }
    w->finish_status = st;
    return st;
}

circa_status circa_audio_close_write(circa_audio_writer *w) {
    if (!w) return CIRCA_OK;
    circa_status st = circa_audio_finish_write(w);
    if (w->sf) sf_close(w->sf);
    if (w->own_fd && w->fd >= 0) close(w->fd);
    free(w->ibuf);
    free(w->bytes);
    free(w);
    return st;
}
