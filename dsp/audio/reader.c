/* reader.c: opens audio for reading and yields float frames: PCM and float
 * WAV parsed here (so that "unknown" sizes read to the end of the stream,
 * on pipes and files alike), raw PCM, and everything else through
 * libsndfile, from files directly and from pipes through a remembered
 * prefix that its format probes can seek back into. */
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

#define PREFIX_BYTES (1u << 20)   /* what format probes on a pipe may seek back into */
#define BYTE_BLOCK (64u << 10)    /* packed PCM read granularity */
#define INT_BLOCK 16384u          /* samples per libsndfile integer read */

struct circa_audio_reader {
    circa_audio_info info;
    int fd, own_fd;
    SNDFILE *sf;
    int sf_float;             /* read with sf_readf_float (float or lossy sources) */
    int *ibuf;                /* libsndfile integer reads, INT_BLOCK samples */
    circa__bstream bs;        /* pipes and raw input */
    int pcm;                  /* packed PCM decoded here (raw, PCM/float WAV) */
    circa__pcm_layout lay;
    size_t frame_bytes;
    uint64_t left;            /* data bytes still to read; UINT64_MAX: to end of stream */
    unsigned char *bytes;     /* BYTE_BLOCK (or one frame, if larger) */
    size_t bytes_cap;
    int ended;
    char err[256];
};

/* ---- small helpers ------------------------------------------------------- */

static circa_status fail(circa_audio_reader *r, circa_status st, const char *fmt, const char *a) {
    return circa__say(r->err, sizeof r->err, st, fmt, a);
}

/* Sets up decoding of packed PCM from the byte stream. */
static circa_status start_pcm(circa_audio_reader *r, circa__pcm_layout lay, uint64_t left) {
    r->pcm = 1;
    r->lay = lay;
    r->frame_bytes = (size_t)lay.bytes * r->info.channels;
    r->left = left;
    r->bytes_cap = r->frame_bytes > BYTE_BLOCK ? r->frame_bytes : BYTE_BLOCK;
    r->bytes = malloc(r->bytes_cap);
    if (r->bs.hist_cap > (size_t)r->bs.fetched) r->bs.hist_cap = (size_t)r->bs.fetched; /* no more probes */
    return r->bytes ? CIRCA_OK : CIRCA_E_NOMEM;
}

/* ---- WAV, parsed here ------------------------------------------------------ */
/* A fmt chunk, decoded. */
typedef struct wav_fmt {
    unsigned tag, channels, block_align, bits;
    uint32_t rate;
} wav_fmt;

static circa_status parse_fmt(circa_audio_reader *r, const unsigned char *p, uint32_t size,
                              wav_fmt *f) {
    if (size < 16) return fail(r, CIRCA_E_FORMAT, "%s", "WAV fmt chunk too short");
    f->tag = circa__get16(p);
    f->channels = circa__get16(p + 2);
    f->rate = circa__get32(p + 4);
    f->block_align = circa__get16(p + 12);
    f->bits = circa__get16(p + 14);
    if (f->tag == 0xFFFE && size >= 40) f->tag = circa__get16(p + 24); /* WAVE_FORMAT_EXTENSIBLE */
    circa_status st = circa__audio_check(f->rate, f->channels, r->err, sizeof r->err);
    if (st != CIRCA_OK) return st;
    int ok = (f->tag == 1 && f->bits >= 1 && f->bits <= 32) ||
             (f->tag == 3 && (f->bits == 32 || f->bits == 64));
    if (!ok) {
        circa__say(r->err, sizeof r->err, CIRCA_E_UNSUPPORTED,
                   "WAV encoding %u with %u bits cannot be read from a pipe (save it to a file)",
                   f->tag, f->bits);
        return CIRCA_E_UNSUPPORTED;
    }
    if (f->block_align != f->channels * ((f->bits + 7) / 8))
        return fail(r, CIRCA_E_FORMAT, "%s", "WAV fmt chunk: block size does not match channels");
    return CIRCA_OK;
}

/* Skips a chunk body (and its pad byte) by reading through it. */
static circa_status skip_chunk(circa_audio_reader *r, uint64_t size) {
    if (circa__bstream_skip(&r->bs, size + (size & 1)) != 0)
        return fail(r, r->bs.err ? CIRCA_E_IO : CIRCA_E_FORMAT, "%s",
                    r->bs.err ? strerror(r->bs.err) : "truncated WAV header (no data chunk)");
    return CIRCA_OK;
}

/* The data size a writer that could not seek puts in the header: ffmpeg's
 * 0xFFFFFFFF, sox's 0x7FFFF000 (rounded down to whole frames), and on a
 * pipe also 0 (flac -d -c). A file's 0 is an empty file. */
static int size_unknown(uint32_t size, unsigned block_align, int is_pipe) {
    uint32_t sox = 0x7FFFF000u / block_align * block_align;
    return size == 0xFFFFFFFFu || size == sox || (size == 0 && is_pipe);
}

static void set_pcm_info(circa_audio_reader *r, const wav_fmt *f, circa__pcm_layout *lay) {
    memset(lay, 0, sizeof *lay);
    lay->bytes = (f->bits + 7) / 8;
    lay->is_float = f->tag == 3;
    lay->is_unsigned = lay->bytes == 1;
    r->info.rate = f->rate;
    r->info.channels = f->channels;
    r->info.container = CIRCA_AUDIO_WAV;
    r->info.frames = -1;
    r->info.format = lay->is_float ? CIRCA_SAMPLE_F32
                     : lay->bytes == 3 ? CIRCA_SAMPLE_S24
                     : lay->bytes == 4 ? CIRCA_SAMPLE_S32 : CIRCA_SAMPLE_S16;
}

/* Walks RIFF chunks up to "data"; the 12-byte RIFF header was read. */
static circa_status open_wav_stream(circa_audio_reader *r, int rf64, int is_pipe) {
    unsigned char h[8], body[64];
    wav_fmt f;
    int have_fmt = 0;
    uint64_t size64 = 0;
    for (;;) {
        if (circa__bstream_read(&r->bs, h, 8) < 8)
            return fail(r, r->bs.err ? CIRCA_E_IO : CIRCA_E_FORMAT, "%s",
                        r->bs.err ? strerror(r->bs.err) : "truncated WAV header (no data chunk)");
        uint32_t size = circa__get32(h + 4);
        if (memcmp(h, "data", 4) == 0) {
            if (!have_fmt) return fail(r, CIRCA_E_FORMAT, "%s", "WAV data chunk before fmt chunk");
            uint64_t left = size;
            if (rf64 && size == 0xFFFFFFFFu) left = size64 ? size64 : UINT64_MAX;
            else if (size_unknown(size, f.block_align, is_pipe)) left = UINT64_MAX;
            circa__pcm_layout lay;
            set_pcm_info(r, &f, &lay);
            return start_pcm(r, lay, left);
        }
        int is_fmt = memcmp(h, "fmt ", 4) == 0, is_ds64 = rf64 && memcmp(h, "ds64", 4) == 0;
        if (!is_fmt && !is_ds64) {
            circa_status st = skip_chunk(r, size);
            if (st != CIRCA_OK) return st;
            continue;
        }
        uint32_t take = size < sizeof body ? size : (uint32_t)sizeof body;
        if (circa__bstream_read(&r->bs, body, take) < take)
            return fail(r, CIRCA_E_FORMAT, "%s", "truncated WAV header");
        if (is_fmt) {
            circa_status st = parse_fmt(r, body, size, &f);
            if (st != CIRCA_OK) return st;
            have_fmt = 1;
        } else if (take >= 16) {
            size64 = circa__get64(body + 8);
        }
        circa_status st = skip_chunk(r, size - take);
        if (st != CIRCA_OK) return st;
    }
}

/* ---- libsndfile --------------------------------------------------------- */
static sf_count_t v_len(void *u) {
    (void)u;
    return SF_COUNT_MAX; /* a pipe: as long as it turns out to be */
}
static sf_count_t v_seek(sf_count_t off, int whence, void *u) {
    circa__bstream *s = u;
    int64_t to = whence == SEEK_SET ? off : whence == SEEK_CUR ? s->pos + off : -1;
    return circa__bstream_seek(s, to) == 0 ? s->pos : -1;
}
static sf_count_t v_read(void *dst, sf_count_t n, void *u) {
    return (sf_count_t)circa__bstream_read(u, dst, (size_t)n);
}
static sf_count_t v_write(const void *src, sf_count_t n, void *u) {
    (void)src, (void)n, (void)u;
    return 0;
}
static sf_count_t v_tell(void *u) { return ((circa__bstream *)u)->pos; }

/* Sources libsndfile decodes to float: read them as float, not as int. */
static int float_natured(int subtype) {
    switch (subtype) {
    case SF_FORMAT_FLOAT: case SF_FORMAT_DOUBLE: case SF_FORMAT_VORBIS: case SF_FORMAT_OPUS:
    case SF_FORMAT_MPEG_LAYER_I: case SF_FORMAT_MPEG_LAYER_II: case SF_FORMAT_MPEG_LAYER_III:
        return 1;
    default: return 0;
    }
}

static circa_sample_format format_of(int subtype) {
    if (float_natured(subtype)) return CIRCA_SAMPLE_F32;
    switch (subtype) {
    case SF_FORMAT_PCM_24: case SF_FORMAT_ALAC_20: case SF_FORMAT_ALAC_24: return CIRCA_SAMPLE_S24;
    case SF_FORMAT_PCM_32: case SF_FORMAT_ALAC_32: return CIRCA_SAMPLE_S32;
    default: return CIRCA_SAMPLE_S16; /* 8-bit, u-law, ADPCM, ...: exact in s16 */
    }
}

static circa_audio_container container_of(int major) {
    switch (major) {
    case SF_FORMAT_WAV: case SF_FORMAT_WAVEX: case SF_FORMAT_RF64: return CIRCA_AUDIO_WAV;
    case SF_FORMAT_FLAC: return CIRCA_AUDIO_FLAC;
    case SF_FORMAT_AU: return CIRCA_AUDIO_AU;
    case SF_FORMAT_RAW: return CIRCA_AUDIO_RAW;
    default: return CIRCA_AUDIO_OTHER;
    }
}

static circa_status open_sndfile(circa_audio_reader *r, int is_pipe) {
    SF_INFO si;
    memset(&si, 0, sizeof si);
    if (is_pipe) {
        SF_VIRTUAL_IO vio = {v_len, v_seek, v_read, v_write, v_tell};
        r->sf = sf_open_virtual(&vio, SFM_READ, &si, &r->bs);
    } else {
        r->sf = sf_open_fd(r->fd, SFM_READ, &si, 0);
    }
    if (!r->sf) {
        if (r->bs.err) return fail(r, CIRCA_E_IO, "%s", strerror(r->bs.err));
        circa__say(r->err, sizeof r->err, CIRCA_E_FORMAT, "not audio that can be read%s (%s)",
                   is_pipe ? " from a pipe" : "", sf_strerror(NULL));
        return CIRCA_E_FORMAT;
    }
    if (si.channels <= 0) return fail(r, CIRCA_E_FORMAT, "%s", "zero channels");
    circa_status st = circa__audio_check((uint32_t)(si.samplerate < 0 ? 0 : si.samplerate),
                                         (uint32_t)si.channels, r->err, sizeof r->err);
    if (st != CIRCA_OK) return st;
    r->info.rate = (uint32_t)si.samplerate;
    r->info.channels = (uint32_t)si.channels;
    r->info.format = format_of(si.format & SF_FORMAT_SUBMASK);
    r->info.container = container_of(si.format & SF_FORMAT_TYPEMASK);
    r->info.frames = is_pipe ? -1 : (int64_t)si.frames;
    r->sf_float = float_natured(si.format & SF_FORMAT_SUBMASK);
    if (!r->sf_float && !(r->ibuf = malloc(sizeof *r->ibuf * INT_BLOCK))) return CIRCA_E_NOMEM;
    return CIRCA_OK;
}

/* ---- opening ------------------------------------------------------------- */
static circa_status open_raw(circa_audio_reader *r, const circa_audio_info *raw,
                             const struct stat *st) {
    if (raw->container != CIRCA_AUDIO_RAW || (unsigned)raw->format > CIRCA_SAMPLE_F32)
        return fail(r, CIRCA_E_PARAM, "%s", "raw input needs container raw and a sample format");
    circa_status s = circa__audio_check(raw->rate, raw->channels, r->err, sizeof r->err);
    if (s != CIRCA_OK) return CIRCA_E_PARAM;
    r->info = *raw;
    circa__bstream_init(&r->bs, r->fd, 0);
    s = start_pcm(r, circa__pcm_layout_of(raw->format, 0), UINT64_MAX);
    r->info.frames = S_ISREG(st->st_mode) ? (int64_t)((uint64_t)st->st_size / r->frame_bytes) : -1;
    return s;
}

/* Reads the first 12 bytes: 1 for RIFF/WAVE, 2 for RF64/WAVE, 0 for
 * anything else, -1 (message set) for an empty input or a read error. */
static int probe_wav(circa_audio_reader *r) {
    unsigned char h[12];
    size_t got = circa__bstream_read(&r->bs, h, sizeof h);
    if (r->bs.err || got == 0) {
        if (r->bs.err) fail(r, CIRCA_E_IO, "%s", strerror(r->bs.err));
        else fail(r, CIRCA_E_FORMAT, "%s", "empty input, no audio header");
        return -1;
    }
    if (got < 12 || memcmp(h + 8, "WAVE", 4) != 0) return 0;
    return memcmp(h, "RIFF", 4) == 0 ? 1 : memcmp(h, "RF64", 4) == 0 ? 2 : 0;
}

static circa_status open_pipe(circa_audio_reader *r) {
    circa__bstream_init(&r->bs, r->fd, PREFIX_BYTES);
    int wav = probe_wav(r);
    if (wav < 0) return r->bs.err ? CIRCA_E_IO : CIRCA_E_FORMAT;
    if (wav) return open_wav_stream(r, wav == 2, 1);
    circa__bstream_seek(&r->bs, 0);
    return open_sndfile(r, 1);
}

/* Files: WAV in PCM or float is parsed here too, so that files and pipes
 * agree (sizes, truncated headers); libsndfile takes everything else,
 * including WAV encodings this parser leaves alone. */
static circa_status open_file(circa_audio_reader *r, const struct stat *sb) {
    off_t start = lseek(r->fd, 0, SEEK_CUR);
    if (start < 0) return fail(r, CIRCA_E_IO, "%s", strerror(errno));
    circa__bstream_init(&r->bs, r->fd, 0);
    circa_status st;
    int wav = probe_wav(r);
    if (wav < 0) return r->bs.err ? CIRCA_E_IO : CIRCA_E_FORMAT;
    if (wav) {
        st = open_wav_stream(r, wav == 2, 0);
        if (st == CIRCA_OK && S_ISREG(sb->st_mode)) {
            uint64_t avail = (uint64_t)(sb->st_size - start - r->bs.pos);
            r->info.frames = (int64_t)((r->left < avail ? r->left : avail) / r->frame_bytes);
        }
        if (st != CIRCA_E_UNSUPPORTED) return st;
        free(r->bytes); /* not ours after all: start again with libsndfile */
        r->bytes = NULL;
        r->pcm = 0;
        r->err[0] = 0;
    }
    if (lseek(r->fd, start, SEEK_SET) != start) return fail(r, CIRCA_E_IO, "%s", strerror(errno));
    return open_sndfile(r, 0);
}

circa_status circa_audio_open_read_fd(int fd, int own_fd, const circa_audio_info *raw, char *why,
                                      size_t why_cap, circa_audio_reader **out) {
    if (why && why_cap) why[0] = 0;
    if (!out) {
        if (own_fd && fd >= 0) close(fd);
        return circa__say(why, why_cap, CIRCA_E_PARAM, "no output pointer");
    }
    *out = NULL;
    circa_audio_reader *r = calloc(1, sizeof *r);
    if (!r) {
        if (own_fd && fd >= 0) close(fd);
        return circa__say(why, why_cap, CIRCA_E_NOMEM, "%s", circa_strerror(CIRCA_E_NOMEM));
    }
    r->fd = fd;
    r->own_fd = own_fd;
    struct stat sb;
    circa_status st = CIRCA_OK;
    if (fd < 0 || fstat(fd, &sb) != 0) st = fail(r, CIRCA_E_IO, "%s", strerror(fd < 0 ? EBADF : errno));
    else if (S_ISDIR(sb.st_mode)) st = fail(r, CIRCA_E_IO, "%s", "is a directory");
    else if (raw) st = open_raw(r, raw, &sb);
    else if (S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode)) st = open_file(r, &sb);
    else st = open_pipe(r);
    if (st != CIRCA_OK) {
        if (!r->err[0]) circa__say(r->err, sizeof r->err, st, "%s", circa_strerror(st));
        circa__say(why, why_cap, st, "%s", r->err);
        circa_audio_close_read(r);
        return st;
    }
    *out = r;
    return CIRCA_OK;
}

circa_status circa_audio_open_read(const char *path, const circa_audio_info *raw,
                                   circa_audio_reader **out) {
    if (!path || !out) return CIRCA_E_PARAM;
    if (strcmp(path, "-") == 0) return circa_audio_open_read_fd(STDIN_FILENO, 0, raw, NULL, 0, out);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        *out = NULL;
        return CIRCA_E_IO;
    }
    return circa_audio_open_read_fd(fd, 1, raw, NULL, 0, out);
}

const circa_audio_info *circa_audio_reader_info(const circa_audio_reader *r) {
    return r ? &r->info : NULL;
}

const char *circa_audio_reader_error(const circa_audio_reader *r) { return r ? r->err : ""; }

/* ---- reading ------------------------------------------------------------- */
static circa_status read_pcm(circa_audio_reader *r, float *buf, size_t frames, size_t *got) {
    size_t ch = r->info.channels, per = r->bytes_cap / r->frame_bytes;
    while (*got < frames && !r->ended) {
        size_t want = frames - *got < per ? frames - *got : per;
        uint64_t bytes = (uint64_t)want * r->frame_bytes;
        if (bytes > r->left) bytes = r->left;
        size_t n = circa__bstream_read(&r->bs, r->bytes, (size_t)bytes);
        if (r->bs.err) return fail(r, CIRCA_E_IO, "%s", strerror(r->bs.err));
        if (r->left != UINT64_MAX) r->left -= n;
        size_t whole = n / r->frame_bytes;
        circa__pcm_decode(&r->lay, r->bytes, buf + *got * ch, whole * ch);
        *got += whole;
        if (whole < want) r->ended = 1; /* end of stream or of the data chunk */
    }
    return CIRCA_OK;
}

static circa_status read_sndfile(circa_audio_reader *r, float *buf, size_t frames, size_t *got) {
    size_t ch = r->info.channels, per = INT_BLOCK / ch;
    while (*got < frames && !r->ended) {
        size_t want = frames - *got, n;
        if (r->sf_float) {
            n = (size_t)sf_readf_float(r->sf, buf + *got * ch, (sf_count_t)want);
        } else {
            if (want > per) want = per;
            n = (size_t)sf_readf_int(r->sf, r->ibuf, (sf_count_t)want);
            for (size_t i = 0; i < n * ch; i++) buf[*got * ch + i] = (float)r->ibuf[i] * 0x1p-31f;
        }
        *got += n;
        if (n < want) r->ended = 1;
    }
    if (r->bs.err) return fail(r, CIRCA_E_IO, "%s", strerror(r->bs.err));
    if (r->ended && sf_error(r->sf) != SF_ERR_NO_ERROR)
        return fail(r, CIRCA_E_FORMAT, "corrupt audio data (%s)", sf_strerror(r->sf));
    return CIRCA_OK;
}

circa_status circa_audio_read(circa_audio_reader *r, float *buf, size_t frames, size_t *got) {
    if (got) *got = 0;
    if (!r || !got || (!buf && frames)) return CIRCA_E_PARAM;
    if (frames > SIZE_MAX / sizeof(float) / r->info.channels) return CIRCA_E_PARAM;
    return r->pcm ? read_pcm(r, buf, frames, got) : read_sndfile(r, buf, frames, got);
}

void circa_audio_close_read(circa_audio_reader *r) {
    if (!r) return;
    if (r->sf) sf_close(r->sf);
    circa__bstream_free(&r->bs);
    if (r->own_fd && r->fd >= 0) close(r->fd);
    free(r->ibuf);
    free(r->bytes);
    free(r);
}
