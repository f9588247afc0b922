/* cmd_audio.c: the simple audio pipe filters: `circa gain`, `circa mix` and
 * `circa stats` (options and I/O conventions in audio_cli.h, docs/audio.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audio_cli.h"
#include "commands.h"

#define FORMAT_HELP \
    "Format options apply to the next file named; before -o OUT (or after the\n" \
    "last input) they choose the output:\n" \
    "  -t TYPE      wav | flac | au | raw (default: OUT's suffix, else the input's)\n" \
    "  -r RATE      raw input: frames per second\n" \
    "  -c CHANNELS  raw input: channels\n" \
    "  -b BITS      16 | 24 | 32 (default: the input's)\n" \
    "  -e ENCODING  signed | float\n" \
    "  -o OUT       write OUT (default: stdout; never a terminal)\n" \
    "  -f           overwrite OUT if it exists\n" \
    "Raw is little-endian. See docs/audio.md.\n"

/* ---- gain ----------------------------------------------------------------- */
static const char gain_usage[] =
    "usage: circa gain DB [FORMAT OPTIONS] [IN] [-o OUT]\n"
    "Changes the level by DB decibels (negative is quieter), IN (default stdin)\n"
    "to OUT (default stdout). 0 dB copies samples bit-exactly.\n"
    "e.g. sox in.flac -t wav - | circa gain -3 | sox -t wav - out.flac\n\n" FORMAT_HELP;

typedef struct gain_args {
    double db;
    int have_db;
} gain_args;

/* Claims the first number, which may look like an option ("-3"). */
static int gain_extra(void *ctx, audio_cli_args *a, int argc, char **argv, int *i) {
    gain_args *g = ctx;
    (void)a, (void)argc;
    if (g->have_db || audio_cli_number(argv[*i], &g->db) != 0) return AUDIO_CLI_NOT_MINE;
    g->have_db = 1;
    return AUDIO_CLI_TAKEN;
}

static circa_status gain_make(void *ctx, const circa_audio_info *in, circa_op **op, char *why,
                              size_t cap) {
    (void)why, (void)cap;
    return circa_op_gain_create(((gain_args *)ctx)->db, in->rate, in->channels, op);
}

static int cmd_gain(int argc, char **argv) {
    gain_args g = {0, 0};
    audio_cli_args a;
    audio_cli_args_init(&a, "gain", 1);
    int r = audio_cli_parse(&a, argc, argv, gain_usage, gain_extra, &g);
    if (r != AUDIO_CLI_GO) return r;
    if (!g.have_db) {
        fprintf(stderr, "circa: gain: needs DB, e.g. circa gain -3 in.wav (see 'circa gain -h')\n");
        return EXIT_USAGE;
    }
    return audio_cli_run_op(&a, gain_make, &g);
}

/* ---- mix ------------------------------------------------------------------ */
static const char mix_usage[] =
    "usage: circa mix [-v DB] A [-v DB] B ... [-o OUT]\n"
    "Sums the inputs (- is stdin, once), each scaled by the -v DB before it\n"
    "(default 0), to OUT (default stdout). Inputs must share rate and channels;\n"
    "the output is as long as the longest, in the first input's type.\n\n" FORMAT_HELP;

typedef struct mix_state {
    circa_audio_reader *r[AUDIO_CLI_MAX_INPUTS];
    float *buf[AUDIO_CLI_MAX_INPUTS];
    size_t got[AUDIO_CLI_MAX_INPUTS];
    int ended[AUDIO_CLI_MAX_INPUTS];
} mix_state;

/* Opens every input and checks they agree with the first. */
static int mix_open(const audio_cli_args *a, mix_state *m) {
    int stdin_used = 0;
    for (int k = 0; k < a->n_inputs; k++) {
        if (strcmp(a->inputs[k], "-") == 0 && stdin_used++) {
            fprintf(stderr, "circa: mix: stdin can be only one of the inputs\n");
            return EXIT_USAGE;
        }
        int rc = audio_cli_open_input(a, a->inputs[k], &a->in_fmt[k], &m->r[k]);
        if (rc != EXIT_OK) return rc;
        const circa_audio_info *f = circa_audio_reader_info(m->r[0]);
        const circa_audio_info *i = circa_audio_reader_info(m->r[k]);
        if (i->rate != f->rate || i->channels != f->channels) {
            cli_error(audio_cli_display_name(a->inputs[k]),
                      "%u Hz, %u channels, but %s has %u Hz, %u channels (mix needs them equal)",
                      i->rate, i->channels, audio_cli_display_name(a->inputs[0]), f->rate,
                      f->channels);
            return EXIT_DATA;
        }
    }
    return EXIT_OK;
}

/* Reads one block of every input that has not ended; *frames is the most read. */
static int mix_read(const audio_cli_args *a, mix_state *m, size_t block, size_t *frames) {
    *frames = 0;
    for (int k = 0; k < a->n_inputs; k++) {
        m->got[k] = 0;
        if (m->ended[k]) continue;
        if (circa_audio_read(m->r[k], m->buf[k], block, &m->got[k]) != CIRCA_OK) {
            cli_error(audio_cli_display_name(a->inputs[k]), "%s", circa_audio_reader_error(m->r[k]));
            return EXIT_DATA;
        }
        if (m->got[k] < block) m->ended[k] = 1;
        if (m->got[k] > *frames) *frames = m->got[k];
    }
    return EXIT_OK;
}

static int mix_stream(const audio_cli_args *a, mix_state *m, audio_cli_output *o) {
    uint32_t ch = circa_audio_reader_info(m->r[0])->channels;
    size_t block = ch >= 16384 ? 1 : 16384 / ch; /* 64 KiB per input */
    float *out = malloc(sizeof *out * block * ch);
    int rc = out ? EXIT_OK : EXIT_DATA;
    for (int k = 0; rc == EXIT_OK && k < a->n_inputs; k++)
        if (!(m->buf[k] = malloc(sizeof *out * block * ch))) rc = EXIT_DATA;
    if (rc != EXIT_OK) cli_error("mix", "%s", circa_strerror(CIRCA_E_NOMEM));
    for (size_t frames = 1; rc == EXIT_OK && frames > 0;) {
        rc = mix_read(a, m, block, &frames);
        if (rc == EXIT_OK && frames > 0) {
            circa_mix(out, frames, ch, (const float *const *)m->buf, m->got, a->in_gain_db,
                      (size_t)a->n_inputs);
            rc = audio_cli_write(o, out, frames);
        }
    }
    free(out);
    return rc;
}

static int cmd_mix(int argc, char **argv) {
    audio_cli_args a;
    audio_cli_args_init(&a, "mix", AUDIO_CLI_MAX_INPUTS);
    a.accept_volume = 1;
    int rc = audio_cli_parse(&a, argc, argv, mix_usage, NULL, NULL);
    if (rc != AUDIO_CLI_GO) return rc;
    if (a.n_inputs == 0) {
        fprintf(stderr, "circa: mix: name the inputs (- for stdin) (see 'circa mix -h')\n");
        return EXIT_USAGE;
    }
    mix_state *m = calloc(1, sizeof *m);
    if (!m) return EXIT_DATA;
    audio_cli_output o;
    memset(&o, 0, sizeof o);
    rc = mix_open(&a, m);
    if (rc == EXIT_OK) {
        circa_audio_info like = *circa_audio_reader_info(m->r[0]);
        for (int k = 1; k < a.n_inputs; k++) { /* the length hint: the longest */
            int64_t f = circa_audio_reader_info(m->r[k])->frames;
            like.frames = f < 0 || like.frames < 0 ? -1 : f > like.frames ? f : like.frames;
        }
        rc = audio_cli_open_output(&a, &like, like.rate, like.channels, &o);
    }
    if (rc == EXIT_OK) rc = mix_stream(&a, m, &o);
    rc = audio_cli_close_output(&o, rc);
    for (int k = 0; k < a.n_inputs; k++) {
        circa_audio_close_read(m->r[k]);
        free(m->buf[k]);
    }
    free(m);
    return rc;
}

/* ---- stats ---------------------------------------------------------------- */
static const char stats_usage[] =
    "usage: circa stats [FORMAT OPTIONS] [IN] [--ref [FORMAT OPTIONS] REF]\n"
    "Prints peak and RMS level (dBFS; a full-scale sine is -3.01 dB RMS),\n"
    "duration, channels and rate of IN (default stdin). With --ref, also the\n"
    "SNR and SI-SNR (dB) of IN against REF, which must share rate and channels;\n"
    "the shorter is padded with silence. Only -t, -r, -c, -b, -e apply (for\n"
    "raw inputs).\n";

typedef struct stats_args {
    const char *ref;
    audio_cli_format ref_fmt;
} stats_args;

static int stats_extra(void *ctx, audio_cli_args *a, int argc, char **argv, int *i) {
    stats_args *s = ctx;
    if (strcmp(argv[*i], "--ref") != 0) return AUDIO_CLI_NOT_MINE;
    if (*i + 1 >= argc || s->ref) {
        fprintf(stderr, "circa: stats: --ref needs one file (see 'circa stats -h')\n");
        return AUDIO_CLI_BAD;
    }
    s->ref = argv[++*i];
    s->ref_fmt = audio_cli_take_pending(a);
    return AUDIO_CLI_TAKEN;
}

static void print_db(const char *key, double v, const char *unit) {
    if (isnan(v)) printf("%-10s undefined\n", key);
    else printf("%-10s %.2f %s\n", key, v, unit);
}

/* Reads a block, padding a reader that has ended with silence. */
static int read_padded(circa_audio_reader *r, const char *name, float *buf, size_t block,
                       uint32_t ch, size_t *got) {
    *got = 0;
    if (r && circa_audio_read(r, buf, block, got) != CIRCA_OK) {
        cli_error(audio_cli_display_name(name), "%s", circa_audio_reader_error(r));
        return EXIT_DATA;
    }
    memset(buf + *got * ch, 0, sizeof *buf * (block - *got) * ch);
    return EXIT_OK;
}

/* Reads IN (and REF in step), accumulating levels and the comparison. */
static int stats_scan(const audio_cli_args *a, const stats_args *s, circa_audio_reader *in,
                      circa_audio_reader *ref, circa_audio_stats *st, circa_audio_compare *cmp,
                      uint64_t *ref_frames) {
    const circa_audio_info *info = circa_audio_reader_info(in);
    uint32_t ch = info->channels;
    size_t block = ch >= 16384 ? 1 : 16384 / ch;
    float *x = malloc(sizeof *x * block * ch), *y = malloc(sizeof *y * block * ch);
    int rc = x && y ? EXIT_OK : EXIT_DATA;
    if (rc) cli_error("stats", "%s", circa_strerror(CIRCA_E_NOMEM));
    for (size_t gx = 1, gy = 1; rc == EXIT_OK && (gx > 0 || gy > 0);) {
        rc = read_padded(in, a->inputs[0], x, block, ch, &gx);
        if (rc == EXIT_OK) rc = read_padded(ref, s->ref, y, block, ch, &gy);
        if (rc != EXIT_OK) break;
        circa_audio_stats_update(st, x, gx);
        *ref_frames += gy;
        size_t n = gx > gy ? gx : gy;
        if (ref && n) circa_audio_compare_update(cmp, y, x, n * ch);
        if (gx < block) in = NULL; /* ended: keep padding */
        if (gy < block) ref = NULL;
    }
    free(x);
    free(y);
    return rc;
}

static void stats_print(const audio_cli_args *a, const stats_args *s, const circa_audio_info *info,
                        const circa_audio_stats *st, const circa_audio_compare *cmp,
                        uint64_t ref_frames) {
    printf("%-10s %s\n", "input:", audio_cli_display_name(a->inputs[0]));
    printf("%-10s %s %s\n", "type:", circa_audio_container_name(info->container),
           circa_sample_format_name(info->format));
    printf("%-10s %u\n", "channels:", info->channels);
    printf("%-10s %u\n", "rate:", info->rate);
    printf("%-10s %llu\n", "frames:", (unsigned long long)st->frames);
    printf("%-10s %.6f s\n", "duration:", circa_audio_stats_duration(st));
    print_db("peak:", circa_audio_stats_peak_db(st), "dBFS");
    print_db("rms:", circa_audio_stats_rms_db(st), "dBFS");
    if (!s->ref) return;
    printf("%-10s %s\n", "reference:", audio_cli_display_name(s->ref));
    print_db("snr:", circa_audio_compare_snr(cmp), "dB");
    print_db("si-snr:", circa_audio_compare_si_snr(cmp), "dB");
    if (ref_frames != st->frames)
        fprintf(stderr, "circa: %s: warning: %llu frames, the reference %llu; compared padded "
                        "with silence\n", audio_cli_display_name(a->inputs[0]),
                (unsigned long long)st->frames, (unsigned long long)ref_frames);
}

static int check_ref(const circa_audio_info *in, const circa_audio_info *ref, const char *name) {
    if (in->rate == ref->rate && in->channels == ref->channels) return EXIT_OK;
    cli_error(audio_cli_display_name(name),
              "%u Hz, %u channels, but the input has %u Hz, %u channels", ref->rate,
              ref->channels, in->rate, in->channels);
    return EXIT_DATA;
}

static int cmd_stats(int argc, char **argv) {
    stats_args s;
    memset(&s, 0, sizeof s);
    audio_cli_args a;
    audio_cli_args_init(&a, "stats", 1);
    int rc = audio_cli_parse(&a, argc, argv, stats_usage, stats_extra, &s);
    if (rc != AUDIO_CLI_GO) return rc;
    if (a.out_name) {
        fprintf(stderr, "circa: stats: prints text to stdout; -o is not used\n");
        return EXIT_USAGE;
    }
    const audio_cli_format *left = &a.out_fmt;
    if (left->has_type || left->rate || left->channels || left->bits || left->encoding) {
        fprintf(stderr, "circa: stats: format options go before the file they describe "
                        "(- for stdin)\n");
        return EXIT_USAGE;
    }
    if (s.ref && strcmp(s.ref, "-") == 0 && strcmp(a.inputs[0], "-") == 0) {
        fprintf(stderr, "circa: stats: stdin cannot be both the input and the reference\n");
        return EXIT_USAGE;
    }
    circa_audio_reader *in = NULL, *ref = NULL;
    rc = audio_cli_open_input(&a, a.inputs[0], &a.in_fmt[0], &in);
    if (rc == EXIT_OK && s.ref) rc = audio_cli_open_input(&a, s.ref, &s.ref_fmt, &ref);
    if (rc == EXIT_OK && ref)
        rc = check_ref(circa_audio_reader_info(in), circa_audio_reader_info(ref), s.ref);
    if (rc == EXIT_OK) {
        const circa_audio_info *info = circa_audio_reader_info(in);
        circa_audio_stats st;
        circa_audio_compare cmp;
        uint64_t ref_frames = 0;
        circa_audio_stats_init(&st, info->rate, info->channels);
        circa_audio_compare_init(&cmp);
        rc = stats_scan(&a, &s, in, ref, &st, &cmp, &ref_frames);
        if (rc == EXIT_OK) stats_print(&a, &s, info, &st, &cmp, ref_frames);
    }
    circa_audio_close_read(in);
    circa_audio_close_read(ref);
    return rc;
}

const cli_command cli_audio_commands[] = {
    {"gain", cmd_gain, "change the level of audio by DB decibels"},
    {"mix", cmd_mix, "mix audio inputs, each with its own gain"},
    {"stats", cmd_stats, "print peak, RMS, duration; SNR and SI-SNR against --ref"},
    {NULL, NULL, NULL}};
