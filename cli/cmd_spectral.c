/* cmd_spectral.c: the FFT-based audio subcommands: `circa resample`, `circa fir`, `circa filter`, `circa spectrogram` and `circa denoise` (I/O conventions in audio_cli.h, docs/spectral.md). */
#define _POSIX_C_SOURCE 200809L /* fdopen */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "audio_cli.h"
#include "circa/spectral.h"
#include "commands.h"

#define FORMAT_HELP \
    "Format options apply to the next file named; before -o OUT (or after the\n" \
    "last input) they choose the output:\n" \
    "  -t TYPE      wav | flac | au | raw (default: OUT's suffix, else the input's)\n" \
    "  -c CHANNELS  raw input: channels\n" \
    "  -b BITS      16 | 24 | 32 (default: the input's)\n" \
    "  -e ENCODING  signed | float\n" \
    "  -o OUT       write OUT (default: stdout; never a terminal)\n" \
    "  -f           overwrite OUT if it exists\n" \
    "See docs/audio.md and docs/spectral.md.\n"

/* Set when an argument callback found a usage error. The callbacks report
 * it by taking the argument (returning 1) because EXIT_USAGE is also 1,
 * which audio_cli_parse would read as "taken"; the command checks this
 * after parsing. One command runs per process, so a file-scope flag is
 * enough. */
static int extra_failed;

static int extra_error(const char *cmd, const char *what, const char *arg) {
    if (!extra_failed) cli_usage_error(cmd, what, arg); /* one line only */
    extra_failed = 1;
    return 1;
}

/* audio_cli_parse's result, folded with extra_failed. */
static int parse(audio_cli_args *a, int argc, char **argv, const char *usage,
                 audio_cli_extra_fn extra, void *ctx) {
    int rc = audio_cli_parse(a, argc, argv, usage, extra, ctx);
    return extra_failed ? EXIT_USAGE : rc;
}

/* A long option's value: "--name V" or "--name=V"; NULL when argv[*i] is
 * not --name. Sets *missing when the value is absent. */
static const char *long_value(int argc, char **argv, int *i, const char *name, int *missing) {
    size_t len = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, len) != 0) return NULL;
    if (a[len] == '=') return a + len + 1;
    if (a[len] != 0) return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return a;
    }
    return argv[++*i];
}

/* A numeric option: 1 taken (*out set, or extra_failed), 0 not this option. */
static int number_option(const char *cmd, int argc, char **argv, int *i, const char *name,
                         double *out) {
    int missing = 0;
    const char *v = long_value(argc, argv, i, name, &missing);
    if (!v) return 0;
    if (missing) return extra_error(cmd, "option needs a value", name);
    if (audio_cli_number(v, out)) return extra_error(cmd, "bad number", v);
    return 1;
}

/* ---- resample ------------------------------------------------------------- */
static const char resample_usage[] =
    "usage: circa resample -r RATE [-q low|medium|high|best] [FORMAT OPTIONS] [IN] [-o OUT]\n"
    "Converts IN (default stdin) to RATE frames per second, time-aligned, with\n"
    "ceil(frames * RATE / input rate) frames out. Quality (default high):\n"
    "  low     passband 80%, 70 dB      medium  passband 90%, 100 dB\n"
    "  high    passband 95%, 130 dB     best    passband 97%, 160 dB\n"
    "(of the lower Nyquist frequency; stopband at Nyquist). Here -r is the\n"
    "output rate, so raw input cannot be described.\n"
    "e.g. sox in.flac -t wav - | circa resample -r 16000 | circa gain -3 | sox -t wav - out.flac\n\n"
    FORMAT_HELP;

typedef struct resample_args {
    uint32_t rate;
    circa_resample_quality quality;
} resample_args;

static int resample_extra(void *ctx, audio_cli_args *a, int argc, char **argv, int *i) {
    resample_args *r = ctx;
    const char *arg = argv[*i];
    (void)a;
    int is_rate = strcmp(arg, "-r") == 0 || strcmp(arg, "--rate") == 0;
    int is_q = strcmp(arg, "-q") == 0 || strcmp(arg, "--quality") == 0;
    if (!is_rate && !is_q) return 0;
    if (*i + 1 >= argc) return extra_error("resample", "option needs a value", arg);
    const char *v = argv[++*i];
    if (is_q) {
        if (circa_resample_quality_parse(v, &r->quality))
            return extra_error("resample", "quality is low, medium, high or best", v);
        return 1;
    }
    double d;
    if (audio_cli_number(v, &d) || d < 1 || d > CIRCA_AUDIO_MAX_RATE || d != (uint32_t)d)
        return extra_error("resample", "bad rate (1 to 10000000)", v);
    r->rate = (uint32_t)d;
    return 1;
}

static circa_status resample_make(void *ctx, const circa_audio_info *in, circa_op **op,
                                  char *why, size_t cap) {
    resample_args *r = ctx;
    circa_status st = circa_resampler_create(in->rate, r->rate, in->channels, r->quality, op);
    if (st == CIRCA_E_UNSUPPORTED || st == CIRCA_E_PARAM) {
        snprintf(why, cap, "cannot resample %u Hz to %u Hz (ratio needs too many phases)",
                 (unsigned)in->rate, (unsigned)r->rate);
        st = CIRCA_E_UNSUPPORTED; /* a property of the data, not of the command line */
    }
    return st;
}

static int cmd_resample(int argc, char **argv) {
    resample_args r = {0, CIRCA_RESAMPLE_HIGH};
    audio_cli_args a;
    audio_cli_args_init(&a, "resample", 1);
    int rc = parse(&a, argc, argv, resample_usage, resample_extra, &r);
    if (rc != AUDIO_CLI_GO) return rc;
    if (!r.rate) return cli_usage_error("resample", "needs -r RATE", NULL);
    return audio_cli_run_op(&a, resample_make, &r);
}

/* ---- fir -------------------------------------------------------------------- */
static const char fir_usage[] =
    "usage: circa fir IR [FORMAT OPTIONS] [IN] [-o OUT]\n"
    "Convolves IN (default stdin) with the impulse response in the audio file IR\n"
    "(any length; FFT partitioned convolution). IR has the input's rate and one\n"
    "channel (used for every channel) or the input's channel count. The output\n"
    "has input + IR - 1 frames: the whole tail.\n\n" FORMAT_HELP;

typedef struct fir_args {
    const char *ir_name;
    float *ir;
    size_t frames;
    circa_audio_info info;
} fir_args;

static int fir_extra(void *ctx, audio_cli_args *a, int argc, char **argv, int *i) {
    fir_args *f = ctx;
    (void)a, (void)argc;
    if (f->ir_name || argv[*i][0] == '-') return 0;
    f->ir_name = argv[*i];
    return 1;
}

/* IRs are held in memory: at most this many frames (about 6 minutes at 48 kHz). */
#define FIR_MAX_FRAMES ((size_t)1 << 24)

/* Reads the whole IR; EXIT_OK or EXIT_DATA after a message. */
static int load_ir(fir_args *f) {
    circa_audio_reader *r;
    if (circa_audio_open_read(f->ir_name, NULL, &r) != CIRCA_OK) {
        cli_error(f->ir_name, "cannot read the impulse response");
        return EXIT_DATA;
    }
    f->info = *circa_audio_reader_info(r);
    size_t cap = 1 << 16, ch = f->info.channels, got = 1;
    f->ir = malloc(cap * ch * sizeof *f->ir);
    int rc = f->ir ? EXIT_OK : EXIT_DATA;
    while (rc == EXIT_OK && got) {
        if (f->frames == cap) {
            float *bigger = cap < FIR_MAX_FRAMES ? realloc(f->ir, 2 * cap * ch * sizeof *f->ir) : NULL;
            if (!bigger) {
                cli_error(f->ir_name, "impulse response too long (limit %zu frames)", FIR_MAX_FRAMES);
                rc = EXIT_DATA;
                break;
            }
            f->ir = bigger;
            cap *= 2;
        }
        if (circa_audio_read(r, f->ir + f->frames * ch, cap - f->frames, &got) != CIRCA_OK) {
            cli_error(f->ir_name, "%s", circa_audio_reader_error(r));
            rc = EXIT_DATA;
        }
        f->frames += got;
    }
    if (rc == EXIT_OK && f->frames == 0) {
        cli_error(f->ir_name, "impulse response is empty");
        rc = EXIT_DATA;
    }
    circa_audio_close_read(r);
    return rc;
}

static circa_status fir_make(void *ctx, const circa_audio_info *in, circa_op **op, char *why,
                             size_t cap) {
    fir_args *f = ctx;
    if (f->info.rate != in->rate) {
        snprintf(why, cap, "%s: the IR is %u Hz, the input %u Hz", f->ir_name,
                 (unsigned)f->info.rate, (unsigned)in->rate);
        return CIRCA_E_FORMAT;
    }
    if (f->info.channels != 1 && f->info.channels != in->channels) {
        snprintf(why, cap, "%s: the IR has %u channels, the input %u", f->ir_name,
                 (unsigned)f->info.channels, (unsigned)in->channels);
        return CIRCA_E_FORMAT;
    }
    return circa_op_fir_create(f->ir, f->frames, f->info.channels, in->rate, in->channels, op);
}

static int cmd_fir(int argc, char **argv) {
    fir_args f;
    memset(&f, 0, sizeof f);
    audio_cli_args a;
    audio_cli_args_init(&a, "fir", 1);
    int rc = parse(&a, argc, argv, fir_usage, fir_extra, &f);
    if (rc != AUDIO_CLI_GO) return rc;
    if (!f.ir_name) return cli_usage_error("fir", "needs an impulse response file", NULL);
    rc = load_ir(&f);
    if (rc == EXIT_OK) rc = audio_cli_run_op(&a, fir_make, &f);
    free(f.ir);
    return rc;
}

/* ---- filter ------------------------------------------------------------------ */
static const char filter_usage[] =
    "usage: circa filter lowpass FREQ | highpass FREQ | bandpass LO HI\n"
    "                    [--width HZ] [--atten DB] [FORMAT OPTIONS] [IN] [-o OUT]\n"
    "Linear-phase Kaiser-window FIR filter, delay-compensated (same length,\n"
    "time-aligned). A cutoff is the middle (-6 dB) of its transition band of\n"
    "--width Hz (default min(lowest cutoff / 4, rate / 40)); --atten is the\n"
    "stopband attenuation (default 80 dB).\n\n" FORMAT_HELP;

typedef struct filter_args {
    circa_fir_spec spec;
    int have_type, numbers;
} filter_args;

static int filter_extra(void *ctx, audio_cli_args *a, int argc, char **argv, int *i) {
    filter_args *f = ctx;
    static const char *const types[] = {"lowpass", "highpass", "bandpass"};
    (void)a;
    int r = number_option("filter", argc, argv, i, "--width", &f->spec.width_hz);
    if (r == 0) r = number_option("filter", argc, argv, i, "--atten", &f->spec.atten_db);
    if (r != 0) return r;
    if (!f->have_type) {
        for (int t = 0; t < 3; t++)
            if (strcmp(argv[*i], types[t]) == 0) {
                f->spec.type = (circa_fir_type)t;
                f->have_type = 1;
                return 1;
            }
        return 0;
    }
    int want = f->spec.type == CIRCA_FIR_BANDPASS ? 2 : 1;
    double v;
    if (f->numbers >= want || audio_cli_number(argv[*i], &v)) return 0;
    if (f->numbers++ == 0) f->spec.f1_hz = v;
    else f->spec.f2_hz = v;
    return 1;
}

static circa_status filter_make(void *ctx, const circa_audio_info *in, circa_op **op, char *why,
                                size_t cap) {
    filter_args *f = ctx;
    circa_status st = circa_op_filter_create(&f->spec, in->rate, in->channels, op);
    if (st == CIRCA_E_PARAM)
        snprintf(why, cap, "the transition band does not fit between 0 and %g Hz (or the "
                 "filter would be too long)", in->rate / 2.0);
    return st;
}

static int cmd_filter(int argc, char **argv) {
    filter_args f;
    memset(&f, 0, sizeof f);
    audio_cli_args a;
    audio_cli_args_init(&a, "filter", 1);
    int rc = parse(&a, argc, argv, filter_usage, filter_extra, &f);
    if (rc != AUDIO_CLI_GO) return rc;
    if (!f.have_type) return cli_usage_error("filter", "needs lowpass, highpass or bandpass", NULL);
    if (f.numbers < (f.spec.type == CIRCA_FIR_BANDPASS ? 2 : 1))
        return cli_usage_error("filter", f.spec.type == CIRCA_FIR_BANDPASS ? "needs LO HI" : "needs FREQ",
                           NULL);
    return audio_cli_run_op(&a, filter_make, &f);
}

/* ---- denoise ------------------------------------------------------------------ */
static const char denoise_usage[] =
    "usage: circa denoise [--profile S] [--threshold DB] [--reduction DB]\n"
    "                     [--smooth HZ] [--release MS] [FORMAT OPTIONS] [IN] [-o OUT]\n"
    "Spectral gating: learns the noise from the quietest 20% of the first S\n"
    "seconds (default 2), then attenuates by --reduction dB (24) every\n"
    "time-frequency bin less than --threshold dB (6) above it; the gain mask is\n"
    "smoothed over --smooth Hz (150) and released over --release ms (60).\n"
    "Same length, time-aligned.\n\n" FORMAT_HELP;

static int denoise_extra(void *ctx, audio_cli_args *a, int argc, char **argv, int *i) {
    circa_denoise_config *c = ctx;
    (void)a;
    struct { const char *name; double *v; } opts[] = {
        {"--profile", &c->profile_s}, {"--threshold", &c->threshold_db},
        {"--reduction", &c->reduction_db}, {"--smooth", &c->freq_smooth_hz},
        {"--release", &c->release_ms}};
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        int r = number_option("denoise", argc, argv, i, opts[k].name, opts[k].v);
        if (r != 0) return r;
    }
    return 0;
}

static circa_status denoise_make(void *ctx, const circa_audio_info *in, circa_op **op, char *why,
                                 size_t cap) {
    circa_status st = circa_op_denoise_create(ctx, in->rate, in->channels, op);
    if (st == CIRCA_E_PARAM)
        snprintf(why, cap, "bad setting (profile 0..600 s, reduction, smooth, release >= 0) "
                 "or rate below 1000 Hz");
    return st;
}

static int cmd_denoise(int argc, char **argv) {
    circa_denoise_config c = circa_denoise_default();
    audio_cli_args a;
    audio_cli_args_init(&a, "denoise", 1);
    int rc = parse(&a, argc, argv, denoise_usage, denoise_extra, &c);
    if (rc != AUDIO_CLI_GO) return rc;
    return audio_cli_run_op(&a, denoise_make, &c);
}

/* ---- spectrogram ---------------------------------------------------------------- */
static const char spectrogram_usage[] =
    "usage: circa spectrogram [IN] [-o OUT.png] [--width W] [--height H] [--range DB]\n"
    "                         [--title TEXT]\n"
    "Draws IN's spectrogram (default stdin) as a PNG to OUT (default stdout):\n"
    "one panel per channel, dBFS over --range (120) in the magma colour map,\n"
    "time (s) and frequency (kHz) axes. The plot is W x H pixels (800 x 257;\n"
    "H bins: a 2(H-1)-point DFT); any input length fits (columns are pooled).\n"
    "-t, -c, -b, -e describe a raw input as for audio commands.\n";

typedef struct spectrogram_args {
    circa_spectrogram_config cfg;
} spectrogram_args;

static int spectrogram_extra(void *ctx, audio_cli_args *a, int argc, char **argv, int *i) {
    spectrogram_args *s = ctx;
    (void)a;
    double w = -1, h = -1;
    int r = number_option("spectrogram", argc, argv, i, "--width", &w);
    if (r == 0) r = number_option("spectrogram", argc, argv, i, "--height", &h);
    if (r == 0) r = number_option("spectrogram", argc, argv, i, "--range", &s->cfg.range_db);
    if (r == 0) {
        int missing = 0;
        const char *t = long_value(argc, argv, i, "--title", &missing);
        if (t && missing) return extra_error("spectrogram", "option needs a value", "--title");
        if (t) s->cfg.title = t;
        r = t ? 1 : 0;
    }
    if (r != 1) return r;
    if ((w != -1 && !(w >= 32 && w <= 16384 && w == (uint32_t)w)) ||
        (h != -1 && !(h >= 17 && h <= 8193 && h == (uint32_t)h)))
        return extra_error("spectrogram", "bad size (width 32..16384, height 17..8193)", argv[*i]);
    if (w != -1) s->cfg.width = (uint32_t)w;
    if (h != -1) s->cfg.height = (uint32_t)h;
    return 1;
}

/* Streams the input into sg; EXIT_OK or EXIT_DATA after a message. */
static int spectrogram_feed(const audio_cli_args *a, circa_audio_reader *r, circa_spectrogram *sg,
                            uint32_t channels) {
    size_t cap = 65536 / channels ? 65536 / channels : 1, got = 1;
    float *buf = malloc(cap * channels * sizeof *buf);
    int rc = buf ? EXIT_OK : EXIT_DATA;
    if (!buf) cli_error("spectrogram", "%s", circa_strerror(CIRCA_E_NOMEM));
    while (rc == EXIT_OK && got) {
        if (circa_audio_read(r, buf, cap, &got) != CIRCA_OK) {
            cli_error(audio_cli_display_name(a->inputs[0]), "%s", circa_audio_reader_error(r));
            rc = EXIT_DATA;
        } else if (circa_spectrogram_push(sg, buf, got) != CIRCA_OK) {
            cli_error("spectrogram", "%s", circa_strerror(CIRCA_E_NOMEM));
            rc = EXIT_DATA;
        }
    }
    free(buf);
    return rc;
}

/* Writes the PNG through the CLI's output target (temporary + rename). */
static int spectrogram_write(const audio_cli_args *a, circa_spectrogram *sg) {
    audio_cli_target t;
    int rc = audio_cli_target_open(&t, a->out_name, a->force, a->inputs, a->n_inputs);
    if (rc != EXIT_OK) return rc;
    int fd = t.is_file ? t.fd : dup(t.fd);
    FILE *fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!fp) {
        cli_error(t.name, "cannot write");
        audio_cli_target_abandon(&t, 0);
        return EXIT_DATA;
    }
    circa_status st = circa_spectrogram_write_png(sg, fp);
    if (fclose(fp) != 0 && st == CIRCA_OK) st = CIRCA_E_IO;
    if (st != CIRCA_OK) {
        cli_error(t.name, "%s", circa_strerror(st));
        audio_cli_target_abandon(&t, t.is_file);
        return EXIT_DATA;
    }
    return audio_cli_target_commit(&t, t.is_file);
}

static int cmd_spectrogram(int argc, char **argv) {
    spectrogram_args s = {circa_spectrogram_default()};
    audio_cli_args a;
    audio_cli_args_init(&a, "spectrogram", 1);
    int rc = parse(&a, argc, argv, spectrogram_usage, spectrogram_extra, &s);
    if (rc != AUDIO_CLI_GO) return rc;
    circa_audio_reader *r;
    rc = audio_cli_open_input(&a, a.inputs[0], &a.in_fmt[0], &r);
    if (rc != EXIT_OK) return rc;
    const circa_audio_info *in = circa_audio_reader_info(r);
    circa_spectrogram *sg;
    if (!s.cfg.title && strcmp(a.inputs[0], "-") != 0) {
        const char *slash = strrchr(a.inputs[0], '/'); /* the file's name, not its path */
        s.cfg.title = slash ? slash + 1 : a.inputs[0];
    }
    circa_status st = circa_spectrogram_create(&s.cfg, in->rate, in->channels, in->frames, &sg);
    if (st != CIRCA_OK) {
        cli_error("spectrogram", "%s", st == CIRCA_E_PARAM ? "more than 64 channels" : circa_strerror(st));
        circa_audio_close_read(r);
        return EXIT_DATA;
    }
    rc = spectrogram_feed(&a, r, sg, in->channels);
    circa_audio_close_read(r);
    if (rc == EXIT_OK) rc = spectrogram_write(&a, sg);
    circa_spectrogram_free(sg);
    return rc;
}

const cli_command cli_spectral_commands[] = {
    {"resample", cmd_resample, "change the sample rate (polyphase, Kaiser; -q low..best)"},
    {"fir", cmd_fir, "convolve with an impulse response file (FFT, any length)"},
    {"filter", cmd_filter, "lowpass / highpass / bandpass (linear-phase Kaiser FIR)"},
    {"spectrogram", cmd_spectrogram, "draw a spectrogram PNG (time, kHz, dBFS axes)"},
    {"denoise", cmd_denoise, "spectral-gating noise reduction"},
    {NULL, NULL, NULL}};
