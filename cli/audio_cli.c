/* audio_cli.c: the audio subcommands' shared machinery: sox-like format
 * options, inputs and outputs with circa's messages and exit statuses, and
 * the block loop that runs a circa_op (see audio_cli.h). */
#define _POSIX_C_SOURCE 200809L
#include "audio_cli.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK_SAMPLES 65536u /* samples per block in and out: 256 KiB of floats */

/* ---- 1. parsing ---------------------------------------------------------- */
void audio_cli_args_init(audio_cli_args *a, const char *cmd, int max_inputs) {
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->max_inputs = max_inputs < 1 ? 1 : max_inputs > AUDIO_CLI_MAX_INPUTS ? AUDIO_CLI_MAX_INPUTS
                                                                           : max_inputs;
}

int audio_cli_number(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == 0 || *end != 0 || errno == ERANGE || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* A whole decimal number in [lo, hi]: 0, or -1. */
static int parse_uint(const char *s, unsigned long lo, unsigned long hi, uint32_t *out) {
    char *end;
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != 0 || errno == ERANGE || v < lo || v > hi) return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_type(const char *s, circa_audio_container *out) {
    static const struct { const char *name; circa_audio_container c; } types[] = {
        {"wav", CIRCA_AUDIO_WAV}, {"flac", CIRCA_AUDIO_FLAC}, {"au", CIRCA_AUDIO_AU},
        {"snd", CIRCA_AUDIO_AU}, {"raw", CIRCA_AUDIO_RAW}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(s, types[i].name) == 0) {
            *out = types[i].c;
            return 0;
        }
    return -1;
}

/* Fields given in src override those of dst. */
static void merge_format(audio_cli_format *dst, const audio_cli_format *src) {
    if (src->has_type) {
        dst->has_type = 1;
        dst->type = src->type;
    }
    if (src->rate) dst->rate = src->rate;
    if (src->channels) dst->channels = src->channels;
    if (src->bits) dst->bits = src->bits;
    if (src->encoding) dst->encoding = src->encoding;
}

audio_cli_format audio_cli_take_pending(audio_cli_args *a) {
    audio_cli_format f = a->pending;
    memset(&a->pending, 0, sizeof a->pending);
    return f;
}

static int add_input(audio_cli_args *a, const char *name) {
    if (a->n_inputs >= a->max_inputs)
        return cli_usage_error(a->cmd, a->max_inputs == 1 ? "one input only" : "too many inputs", name);
    a->inputs[a->n_inputs] = name;
    a->in_fmt[a->n_inputs] = audio_cli_take_pending(a);
    a->in_gain_db[a->n_inputs] = a->pending_gain_db;
    a->pending_gain_db = 0;
    a->has_pending_gain = 0;
    a->n_inputs++;
    return AUDIO_CLI_GO;
}

/* Applies one option that takes a value. */
static int value_option(audio_cli_args *a, char opt, const char *v) {
    audio_cli_format *p = &a->pending;
    switch (opt) {
    case 't': return parse_type(v, &p->type) ? cli_usage_error(a->cmd, "unknown type (wav, flac, au, raw)", v)
                                             : (p->has_type = 1, AUDIO_CLI_GO);
    case 'r': return parse_uint(v, 1, CIRCA_AUDIO_MAX_RATE, &p->rate)
                         ? cli_usage_error(a->cmd, "bad rate (1 to 10000000)", v) : AUDIO_CLI_GO;
    case 'c': return parse_uint(v, 1, CIRCA_AUDIO_MAX_CHANNELS, &p->channels)
                         ? cli_usage_error(a->cmd, "bad channel count (1 to 1024)", v) : AUDIO_CLI_GO;
    case 'b': {
        uint32_t b;
        if (parse_uint(v, 16, 32, &b) || b % 8) return cli_usage_error(a->cmd, "bits are 16, 24 or 32", v);
        p->bits = b;
        return AUDIO_CLI_GO;
    }
    case 'e':
        if (strcmp(v, "signed") == 0 || strcmp(v, "signed-integer") == 0) p->encoding = 1;
        else if (strcmp(v, "float") == 0 || strcmp(v, "floating-point") == 0) p->encoding = 2;
        else return cli_usage_error(a->cmd, "encoding is signed or float", v);
        return AUDIO_CLI_GO;
    case 'v':
        if (!a->accept_volume) return cli_usage_error(a->cmd, "unknown option", "-v");
        if (audio_cli_number(v, &a->pending_gain_db)) return cli_usage_error(a->cmd, "bad gain in dB", v);
        a->has_pending_gain = 1;
        return AUDIO_CLI_GO;
    default: /* 'o' */
        if (a->out_name) return cli_usage_error(a->cmd, "-o given twice", v);
        a->out_name = v;
        merge_format(&a->out_fmt, &a->pending);
        audio_cli_take_pending(a);
        return AUDIO_CLI_GO;
    }
}

static int one_argument(audio_cli_args *a, int argc, char **argv, int *i, const char *usage_text) {
    const char *arg = argv[*i];
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    if (strcmp(arg, "-") == 0 || arg[0] != '-') return add_input(a, arg);
    if (strcmp(arg, "-f") == 0 || strcmp(arg, "--force") == 0) {
        a->force = 1;
        return AUDIO_CLI_GO;
    }
    if (arg[1] && strchr("trcbevo", arg[1])) {
        const char *v = arg[2] ? arg + 2 : (*i + 1 < argc ? argv[++*i] : NULL);
        if (!v) return cli_usage_error(a->cmd, "option needs a value", arg);
        return value_option(a, arg[1], v);
    }
    return cli_usage_error(a->cmd, "unknown option", arg);
}

int audio_cli_parse(audio_cli_args *a, int argc, char **argv, const char *usage_text,
                    audio_cli_extra_fn extra, void *ctx) {
    int only_inputs = 0;
    for (int i = 1; i < argc; i++) {
        int r = AUDIO_CLI_GO;
        int mine = only_inputs || !extra ? AUDIO_CLI_NOT_MINE : extra(ctx, a, argc, argv, &i);
        if (mine == AUDIO_CLI_BAD) return EXIT_USAGE;
        if (mine == AUDIO_CLI_TAKEN) continue;
        if (only_inputs) r = add_input(a, argv[i]);
        else if (strcmp(argv[i], "--") == 0) only_inputs = 1;
        else r = one_argument(a, argc, argv, &i, usage_text);
        if (r != AUDIO_CLI_GO) return r;
    }
    if (a->has_pending_gain) return cli_usage_error(a->cmd, "-v must come before an input", NULL);
    merge_format(&a->out_fmt, &a->pending); /* left over: they describe the output */
    audio_cli_take_pending(a);
    if (a->n_inputs == 0 && a->max_inputs == 1) add_input(a, "-");
    return AUDIO_CLI_GO;
}

/* ---- 2. inputs ----------------------------------------------------------- */
const char *audio_cli_display_name(const char *name) {
    return !name || strcmp(name, "-") == 0 ? "stdin" : name;
}

/* The raw description from options: EXIT_OK, or EXIT_USAGE after a message. */
static int raw_info(const char *shown, const audio_cli_format *f, circa_audio_info *raw) {
    memset(raw, 0, sizeof *raw);
    if (!f->rate || !f->channels || (!f->bits && f->encoding != 2)) {
        cli_error(shown, "raw input needs -r RATE -c CHANNELS -b BITS (or -e float) before it");
        return EXIT_USAGE;
    }
    if (f->encoding == 2 && f->bits && f->bits != 32) {
        cli_error(shown, "float samples are 32 bits");
        return EXIT_USAGE;
    }
    raw->container = CIRCA_AUDIO_RAW;
    raw->rate = f->rate;
    raw->channels = f->channels;
    raw->format = f->encoding == 2 ? CIRCA_SAMPLE_F32
                  : f->bits == 16 ? CIRCA_SAMPLE_S16
                  : f->bits == 24 ? CIRCA_SAMPLE_S24 : CIRCA_SAMPLE_S32;
    return EXIT_OK;
}

int audio_cli_open_input(const audio_cli_args *a, const char *name, const audio_cli_format *fmt,
                         circa_audio_reader **out) {
    const char *shown = audio_cli_display_name(name);
    int is_raw = fmt->has_type && fmt->type == CIRCA_AUDIO_RAW;
    circa_audio_info raw;
    *out = NULL;
    if (is_raw) {
        int r = raw_info(shown, fmt, &raw);
        if (r != EXIT_OK) return r;
    } else if (fmt->rate || fmt->channels || fmt->bits || fmt->encoding) {
        cli_error(shown, "-r, -c, -b and -e describe raw input (add -t raw)");
        return EXIT_USAGE;
    }
    int fd = !name || strcmp(name, "-") == 0 ? STDIN_FILENO : open(name, O_RDONLY);
    if (fd < 0) {
        cli_error(shown, "%s", strerror(errno));
        return EXIT_DATA;
    }
    if (fd == STDIN_FILENO && isatty(fd)) {
        cli_error(shown, "refusing to read audio from a terminal");
        return EXIT_DATA;
    }
    char why[256];
    circa_status st = circa_audio_open_read_fd(fd, fd != STDIN_FILENO, is_raw ? &raw : NULL, why,
                                               sizeof why, out);
    if (st != CIRCA_OK) {
        cli_error(shown, "%s", why);
        return EXIT_DATA;
    }
    const circa_audio_info *in = circa_audio_reader_info(*out);
    if (fmt->has_type && !is_raw && in->container != fmt->type) {
        cli_error(shown, "not %s but %s (drop -t to take it as it is)",
                  circa_audio_container_name(fmt->type), circa_audio_container_name(in->container));
        circa_audio_close_read(*out);
        *out = NULL;
        return EXIT_DATA;
    }
    return EXIT_OK;
}

/* ---- 3. outputs ---------------------------------------------------------- */
/* The temporary being written, so that a signal can remove it. */
static char g_tmp[4096];
static volatile sig_atomic_t g_tmp_active;

/* Further partial outputs written outside audio_cli_target (the second
 * source of `circa separate -o A -o B`), removed on a signal too. */
#define EXTRA_TMP 4
static char g_extra[EXTRA_TMP][4096];
static volatile sig_atomic_t g_extra_active[EXTRA_TMP];

static void on_signal(int sig) {
    if (g_tmp_active) unlink(g_tmp);
    for (int i = 0; i < EXTRA_TMP; i++)
        if (g_extra_active[i]) unlink(g_extra[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

int cli_temporary_register(const char *path) {
    for (int i = 0; i < EXTRA_TMP; i++)
        if (!g_extra_active[i] && strlen(path) < sizeof g_extra[i]) {
            strcpy(g_extra[i], path);
            g_extra_active[i] = 1;
            signal(SIGINT, on_signal);
            signal(SIGTERM, on_signal);
            signal(SIGHUP, on_signal);
            return i;
        }
    return -1;
}

void cli_temporary_forget(int slot) {
    if (slot >= 0 && slot < EXTRA_TMP) g_extra_active[slot] = 0;
}

static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int open_temporary(audio_cli_target *t, const char *name) {
    const char *slash = strrchr(name, '/');
    size_t dir = slash ? (size_t)(slash - name + 1) : 0;
    int n = snprintf(g_tmp, sizeof g_tmp, "%.*s.%s.tmpXXXXXX", (int)dir, name, name + dir);
    if (n < 0 || (size_t)n >= sizeof g_tmp) {
        cli_error(name, "name too long");
        return EXIT_DATA;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    t->fd = mkstemp(g_tmp);
    if (t->fd < 0) {
        cli_error(name, "cannot create temporary output: %s", strerror(errno));
        return EXIT_DATA;
    }
    g_tmp_active = 1;
    mode_t mask = umask(0); /* mkstemp makes 0600; give the usual 0666 & ~umask */
    umask(mask);
    (void)fchmod(t->fd, 0666 & ~mask);
    t->is_file = 1;
    return EXIT_OK;
}

int audio_cli_target_open(audio_cli_target *t, const char *name, int force,
                          const char *const *inputs, int n_inputs) {
    memset(t, 0, sizeof *t);
    t->fd = -1;
    if (!name || strcmp(name, "-") == 0) {
        t->name = "stdout";
        if (isatty(STDOUT_FILENO) && !force) {
            cli_error("stdout", "refusing to write audio to a terminal (use -o FILE, or a pipe)");
            return EXIT_DATA;
        }
        t->fd = STDOUT_FILENO;
        return EXIT_OK;
    }
    t->name = t->final = name;
    for (int i = 0; i < n_inputs; i++)
        if (strcmp(inputs[i], "-") != 0 && same_file(inputs[i], name)) {
            cli_error(name, "output would overwrite an input");
            return EXIT_DATA;
        }
    struct stat sb;
    if (stat(name, &sb) == 0 && !force) {
        cli_error(name, "already exists; not overwritten (use -f)");
        return EXIT_DATA;
    }
    return open_temporary(t, name);
}

int audio_cli_target_commit(audio_cli_target *t, int fd_closed) {
    if (!t->is_file) return EXIT_OK;
    if (!fd_closed && close(t->fd) != 0) {
        cli_error(t->name, "%s", strerror(errno));
        audio_cli_target_abandon(t, 1);
        return EXIT_DATA;
    }
    t->fd = -1;
    if (rename(g_tmp, t->final) != 0) {
        cli_error(t->name, "cannot rename temporary output: %s", strerror(errno));
        audio_cli_target_abandon(t, 1);
        return EXIT_DATA;
    }
    g_tmp_active = 0;
    t->is_file = 0;
    return EXIT_OK;
}

void audio_cli_target_abandon(audio_cli_target *t, int fd_closed) {
    if (!t->is_file) return;
    if (!fd_closed && t->fd >= 0) close(t->fd);
    t->fd = -1;
    if (g_tmp_active) unlink(g_tmp);
    g_tmp_active = 0;
    t->is_file = 0;
}

/* The container an output name's suffix asks for; -1 when none does. */
static int type_of_name(const char *name) {
    static const struct { const char *suffix; circa_audio_container c; } map[] = {
        {".wav", CIRCA_AUDIO_WAV}, {".flac", CIRCA_AUDIO_FLAC}, {".au", CIRCA_AUDIO_AU},
        {".snd", CIRCA_AUDIO_AU}, {".raw", CIRCA_AUDIO_RAW}, {".pcm", CIRCA_AUDIO_RAW}};
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (!dot || strchr(dot, '/')) return -1;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(dot, map[i].suffix) == 0) return (int)map[i].c;
    return -1;
}

/* The output's description: EXIT_OK, or EXIT_USAGE after a message. */
static int resolve_output(const audio_cli_args *a, const circa_audio_info *like, uint32_t rate,
                          uint32_t channels, circa_audio_info *info) {
    const audio_cli_format *f = &a->out_fmt;
    if (f->rate || f->channels)
        return cli_usage_error(a->cmd, "-r and -c describe raw input: put them before the input "
                              "(- for stdin)", NULL);
    int by_name = type_of_name(a->out_name);
    memset(info, 0, sizeof *info);
    info->container = f->has_type ? f->type : by_name >= 0 ? (circa_audio_container)by_name
                                                           : like->container;
    if (info->container == CIRCA_AUDIO_OTHER) info->container = CIRCA_AUDIO_WAV;
    if (f->encoding == 2 && f->bits && f->bits != 32)
        return cli_usage_error(a->cmd, "float samples are 32 bits", NULL);
    info->format = f->encoding == 2 ? CIRCA_SAMPLE_F32
                   : f->bits == 16 ? CIRCA_SAMPLE_S16
                   : f->bits == 24 ? CIRCA_SAMPLE_S24
                   : f->bits == 32 ? CIRCA_SAMPLE_S32
                   : f->encoding == 1 && like->format == CIRCA_SAMPLE_F32 ? CIRCA_SAMPLE_S32
                                                                           : like->format;
    int fits = info->format == CIRCA_SAMPLE_S16 || info->format == CIRCA_SAMPLE_S24;
    if (info->container == CIRCA_AUDIO_FLAC && !fits) {
        if (f->bits || f->encoding) return cli_usage_error(a->cmd, "FLAC holds 16- or 24-bit samples", NULL);
        info->format = CIRCA_SAMPLE_S24; /* the closest FLAC has to s32 or float input */
    }
    info->rate = rate;
    info->channels = channels;
    /* the length hint (it picks WAV's header): the input's, at the new rate */
    info->frames = like->frames < 0 || !like->rate ? -1
                   : (int64_t)((double)like->frames * rate / like->rate) + 1;
    return EXIT_OK;
}

int audio_cli_open_output(const audio_cli_args *a, const circa_audio_info *like, uint32_t rate,
                          uint32_t channels, audio_cli_output *o) {
    memset(o, 0, sizeof *o);
    o->target.fd = -1;
    int r = resolve_output(a, like, rate, channels, &o->info);
    if (r != EXIT_OK) return r;
    r = audio_cli_target_open(&o->target, a->out_name, a->force, a->inputs, a->n_inputs);
    if (r != EXIT_OK) return r;
    char why[256];
    int own = o->target.is_file; /* the writer closes a file, and reports close errors */
    circa_status st = circa_audio_open_write_fd(o->target.fd, own, &o->info, why, sizeof why, &o->w);
    if (st != CIRCA_OK) {
        cli_error(o->target.name, "%s", why);
        audio_cli_target_abandon(&o->target, own);
        return st == CIRCA_E_PARAM ? EXIT_USAGE : EXIT_DATA;
    }
    return EXIT_OK;
}

int audio_cli_write(audio_cli_output *o, const float *buf, size_t frames) {
    if (circa_audio_write(o->w, buf, frames) == CIRCA_OK) return EXIT_OK;
    cli_error(o->target.name, "%s", circa_audio_writer_error(o->w));
    return EXIT_DATA;
}

int audio_cli_close_output(audio_cli_output *o, int ok) {
    if (!o->w) return ok;
    int own = o->target.is_file;
    if (ok != EXIT_OK) {
        circa_audio_close_write(o->w);
        o->w = NULL;
        audio_cli_target_abandon(&o->target, own);
        return ok;
    }
    uint64_t clipped = circa_audio_writer_clipped(o->w);
    if (circa_audio_finish_write(o->w) != CIRCA_OK) {
        cli_error(o->target.name, "%s", circa_audio_writer_error(o->w));
        ok = EXIT_DATA;
    }
    circa_audio_close_write(o->w);
    o->w = NULL;
    if (ok != EXIT_OK) {
        audio_cli_target_abandon(&o->target, own);
        return ok;
    }
    if (clipped)
        fprintf(stderr, "circa: %s: warning: %llu samples clipped\n", o->target.name,
                (unsigned long long)clipped);
    return audio_cli_target_commit(&o->target, own);
}

/* ---- 4. running an operator ---------------------------------------------- */
static size_t block_frames(uint32_t channels) {
    return channels >= BLOCK_SAMPLES ? 1 : BLOCK_SAMPLES / channels;
}

/* Pushes n frames through the operator, writing what it makes. */
static int push(const audio_cli_args *a, circa_op *op, const float *in, size_t n, float *out,
                size_t out_cap, audio_cli_output *o) {
    size_t pos = 0;
    for (;;) {
        size_t used = 0, made = 0;
        const float *src = n ? in + pos * op->in_channels : NULL;
        circa_status st = circa_op_process(op, src, n - pos, &used, out, out_cap, &made);
        if (st == CIRCA_OK && used == 0 && made == 0 && pos < n) st = CIRCA_E_STATE;
        if (st != CIRCA_OK) {
            cli_error(a->cmd, "%s: %s", op->name ? op->name : "operator", circa_strerror(st));
            return EXIT_DATA;
        }
        if (made && audio_cli_write(o, out, made) != EXIT_OK) return EXIT_DATA;
        pos += used;
        if (n ? pos >= n && made < out_cap : made == 0) return EXIT_OK;
    }
}

static int stream(const audio_cli_args *a, circa_audio_reader *r, circa_op *op,
                  audio_cli_output *o) {
    size_t in_cap = block_frames(op->in_channels), out_cap = block_frames(op->out_channels);
    float *in = malloc(sizeof *in * in_cap * op->in_channels);
    float *out = malloc(sizeof *out * out_cap * op->out_channels);
    int rc = in && out ? EXIT_OK : EXIT_DATA;
    if (rc) cli_error(a->cmd, "%s", circa_strerror(CIRCA_E_NOMEM));
    for (size_t got = 1; rc == EXIT_OK && got > 0;) {
        if (circa_audio_read(r, in, in_cap, &got) != CIRCA_OK) {
            cli_error(audio_cli_display_name(a->inputs[0]), "%s", circa_audio_reader_error(r));
            rc = EXIT_DATA;
            break;
        }
        rc = push(a, op, in, got, out, out_cap, o); /* got == 0: drain */
    }
    free(in);
    free(out);
    return rc;
}

int audio_cli_run_op(const audio_cli_args *a, audio_cli_make_op make, void *ctx) {
    circa_audio_reader *r;
    int rc = audio_cli_open_input(a, a->inputs[0], &a->in_fmt[0], &r);
    if (rc != EXIT_OK) return rc;
    const circa_audio_info *in = circa_audio_reader_info(r);
    circa_op *op = NULL;
    char why[256] = "";
    circa_status st = make(ctx, in, &op, why, sizeof why);
    if (st != CIRCA_OK || !op) {
        cli_error(a->cmd, "%s", why[0] ? why : circa_strerror(st == CIRCA_OK ? CIRCA_E_STATE : st));
        circa_audio_close_read(r);
        return st == CIRCA_E_PARAM ? EXIT_USAGE : EXIT_DATA;
    }
    if (op->in_rate != in->rate || op->in_channels != in->channels || !op->out_channels) {
        cli_error(a->cmd, "operator takes %u Hz, %u channels; the input has %u Hz, %u channels",
                  op->in_rate, op->in_channels, in->rate, in->channels);
        rc = EXIT_DATA;
    }
    audio_cli_output o;
    memset(&o, 0, sizeof o);
    if (rc == EXIT_OK) rc = audio_cli_open_output(a, in, op->out_rate, op->out_channels, &o);
    if (rc == EXIT_OK) rc = stream(a, r, op, &o);
    rc = audio_cli_close_output(&o, rc);
    circa_op_free(op);
    circa_audio_close_read(r);
    return rc;
}

/* ---- whole-file helpers ------------------------------------------------------ */
uint8_t *cli_read_whole(const char *path, size_t *len) {
    int is_stdin = !strcmp(path, "-");
    const char *shown = is_stdin ? "stdin" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        cli_error(shown, "%s", strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            uint8_t *b = cap > (SIZE_MAX >> 2) ? NULL : realloc(buf, cap * 2);
            if (!b) break;
            buf = b, cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = !buf || ferror(f);
    if (!is_stdin) fclose(f);
    if (bad) {
        cli_error(shown, buf ? "read failed" : "out of memory");
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

int cli_write_whole(const char *out, int force, const char *in, const uint8_t *p, size_t n) {
    if (!out && isatty(STDOUT_FILENO)) {
        cli_error("stdout", "refusing to write binary data to a terminal (use -o, or a pipe)");
        return EXIT_DATA;
    }
    audio_cli_target t;
    const char *inputs[1] = {in};
    int rc = audio_cli_target_open(&t, out, out ? force : 1, inputs, in ? 1 : 0);
    if (rc != EXIT_OK) return rc;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(t.fd, p + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            cli_error(t.name, "write failed: %s", strerror(errno));
            audio_cli_target_abandon(&t, 0);
            return EXIT_DATA;
        }
        done += (size_t)w;
    }
    return audio_cli_target_commit(&t, 0);
}
