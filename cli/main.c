/* main.c: the `circa` command line: parses arguments into a mode and options
 * and hands each input to fileio.c. Subcommands are pipe filters. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <png.h>
#include <sndfile.h>
#include <fftw3.h>
#include <zlib.h>
#include "circa/circa.h"
#include "circa/codec.h"
#include "circa/cuda.h"
#include "circa/pc.h"
#include "commands.h"
#include "fileio.h"

/* Every room's table of subcommands (commands.h). */
static const cli_command *const command_tables[] = {cli_audio_commands, cli_spectral_commands,
                                                    cli_pc_commands, cli_image_commands,
                                                    cli_separate_commands, cli_rbf_commands};
#define TABLE_COUNT (sizeof command_tables / sizeof command_tables[0])

static void usage(FILE *out) {
    fprintf(out,
            "usage: circa [compress|decompress|test|list] [OPTIONS] [FILE...]\n"
            "       circa version [-v] | help\n"
            "\n"
            "Compresses FILEs to FILE.circa (or stdin to stdout) with circa's frame\n"
            "format; `circa -d` decompresses. Inputs are kept unless --rm is given.\n"
            "\n"
            "  -d, --decompress  decompress (same as the `decompress` subcommand)\n"
            "  -t, --test        decode and verify, write nothing\n"
            "  -l, --list        describe frames without decoding them (-v: every block)\n"
            "  -1 ... -9         level: -1 fastest, -9 smallest (default -%d)\n"
            "  -T N              code N blocks in parallel (output is the same for any N)\n"
            "  -c, --stdout      write to stdout\n"
            "  -o FILE           write to FILE (one input only)\n"
            "  -f, --force       overwrite outputs; write compressed data to a terminal\n"
            "  -k, --keep        keep inputs (the default)\n"
            "      --rm          remove each input after its output is complete and verified\n"
            "      --model M.pc  code records (IDX files or raw records) with a learned\n"
            "                    probabilistic circuit; decompression needs the same model\n"
            "  -q, --quiet       no messages but errors\n"
            "  -v, --verbose     more messages (repeat for more)\n"
            "  -V, --version     print the version\n"
            "  -h, --help        this help\n"
            "\n"
            "Exit status: 0 ok, 1 usage error, 2 data or I/O error.\n",
            CIRCA_LEVEL_DEFAULT);
    int first = 1;
    for (size_t t = 0; t < TABLE_COUNT; t++)
        for (const cli_command *c = command_tables[t]; c->name; c++) {
            if (first) fprintf(out, "\nOther subcommands (circa NAME -h for help):\n");
            first = 0;
            fprintf(out, "  %-16s  %s\n", c->name, c->summary);
        }
}

static int usage_error(const char *what, const char *arg) {
    fprintf(stderr, "circa: %s%s%s (see 'circa help')\n", what, arg ? ": " : "", arg ? arg : "");
    return EXIT_USAGE;
}

static int print_version(int verbose) {
    printf("circa %s\n", circa_version_string());
    if (!verbose) return EXIT_OK;
    printf("block codecs:");
    for (unsigned t = 0; t < CIRCA_BLOCK_TYPE_COUNT; t++) printf(" %s", circa_block_name(t));
    printf("\nzlib %s, libpng %s, %s, %s\n", zlibVersion(), png_get_libpng_ver(NULL),
           sf_version_string(), fftw_version);
    circa_cuda_device devs[16];
    int count = 0;
    const char *why = NULL;
    circa_cuda_devices(devs, 16, &count, &why);
    if (count == 0) printf("CUDA: no device (%s)\n", why ? why : "unknown");
    for (int i = 0; i < count; i++)
        printf("CUDA device %d: %s, compute %d.%d, %d SMs, %zu MiB\n", devs[i].index, devs[i].name,
               devs[i].cc_major, devs[i].cc_minor, devs[i].multiprocessors,
               devs[i].total_mem >> 20);
    return EXIT_OK;
}

static void on_signal(int sig) {
    cli_remove_temporary();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int parse_threads(const char *s, unsigned *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end != 0 || v < 0 || v > CIRCA_THREADS_MAX) return -1;
    if (v == 0) { /* -T0: one per core */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        v = n < 1 ? 1 : n > CIRCA_THREADS_MAX ? CIRCA_THREADS_MAX : n;
    }
    *out = (unsigned)v;
    return 0;
}

/* Parse results: keep going, stop with success (help or version printed),
 * or stop with a usage error (message printed). */
enum { PARSE_GO = 0, PARSE_DONE = -1 };

/* Parses one short-option cluster such as -9kc or -T4. */
static int parse_short(cli_opts *o, char **argv, int *i) {
    const char *a = argv[*i];
    for (size_t k = 1; a[k]; k++) {
        char ch = a[k];
        if (ch >= '1' && ch <= '9') { o->level = ch - '0'; continue; }
        switch (ch) {
        case 'd': o->mode = MODE_DECOMPRESS; break;
        case 'z': o->mode = MODE_COMPRESS; break;
        case 't': o->mode = MODE_TEST; break;
        case 'l': o->mode = MODE_LIST; break;
        case 'c': o->to_stdout = 1; break;
        case 'f': o->force = 1; break;
        case 'k': o->rm = 0; break;
        case 'q': o->verbosity = 0; break;
        case 'v': o->verbosity++; break;
        case 'h': usage(stdout); return PARSE_DONE;
        case 'V': print_version(0); return PARSE_DONE;
        case 'o':
        case 'T': {
            const char *val = a[k + 1] ? a + k + 1 : argv[++*i];
            if (!val) return usage_error("option needs a value", a);
            if (ch == 'o') o->out_name = val;
            else if (parse_threads(val, &o->threads)) return usage_error("bad thread count", val);
            return PARSE_GO;
        }
        default: {
            char opt[3] = {'-', ch, 0};
            return usage_error("unknown option", opt);
        }
        }
    }
    return PARSE_GO;
}

static const char *g_model_path; /* --model */

static int parse_long(cli_opts *o, const char *a, char **argv, int *i) {
    static const struct { const char *name; char short_form; } map[] = {
        {"--decompress", 'd'}, {"--test", 't'}, {"--list", 'l'}, {"--stdout", 'c'},
        {"--force", 'f'}, {"--keep", 'k'}, {"--quiet", 'q'}, {"--verbose", 'v'},
        {"--help", 'h'}, {"--version", 'V'}, {"--compress", 'z'}};
    if (strcmp(a, "--rm") == 0) { o->rm = 1; return PARSE_GO; }
    if (strncmp(a, "--model=", 8) == 0) { g_model_path = a + 8; return PARSE_GO; }
    if (strcmp(a, "--model") == 0) {
        if (!(g_model_path = argv[++*i])) return usage_error("option needs a value", a);
        return PARSE_GO;
    }
    for (size_t m = 0; m < sizeof map / sizeof map[0]; m++)
        if (strcmp(a, map[m].name) == 0) {
            char buf[3] = {'-', map[m].short_form, 0};
            char *one[2] = {buf, NULL};
            int k = 0;
            return parse_short(o, one, &k);
        }
    return usage_error("unknown option", a);
}

/* A leading subcommand word sets the mode; returns 1 when it was one. */
static int parse_subcommand(cli_opts *o, const char *w, int *special) {
    if (strcmp(w, "compress") == 0) o->mode = MODE_COMPRESS;
    else if (strcmp(w, "decompress") == 0) o->mode = MODE_DECOMPRESS;
    else if (strcmp(w, "test") == 0) o->mode = MODE_TEST;
    else if (strcmp(w, "list") == 0) o->mode = MODE_LIST;
    else if (strcmp(w, "version") == 0) *special = 'V';
    else if (strcmp(w, "help") == 0) *special = 'h';
    else return 0;
    return 1;
}

/* Parses argv into o and files; returns PARSE_GO, PARSE_DONE or an exit code. */
static int parse_args(int argc, char **argv, cli_opts *o, const char **files, int *nfiles) {
    int special = 0, only_files = 0, first = 1;
    if (argc > 1 && parse_subcommand(o, argv[1], &special)) first = 2;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        int r = PARSE_GO;
        if (only_files || a[0] != '-' || a[1] == 0) files[(*nfiles)++] = a;
        else if (strcmp(a, "--") == 0) only_files = 1;
        else if (a[1] == '-') r = parse_long(o, a, argv, &i);
        else r = parse_short(o, argv, &i);
        if (r != PARSE_GO) return r;
    }
    if (special == 'h') { usage(stdout); return PARSE_DONE; }
    if (special == 'V') { print_version(o->verbosity >= 2); return PARSE_DONE; }
    if (o->out_name && *nfiles > 1) return usage_error("-o takes a single input", NULL);
    if (o->out_name && o->to_stdout) return usage_error("-o and -c are exclusive", NULL);
    return PARSE_GO;
}

/* The subcommand of another room named by argv[1], or NULL. */
static const cli_command *find_command(const char *name) {
    for (size_t t = 0; t < TABLE_COUNT; t++)
        for (const cli_command *c = command_tables[t]; c->name; c++)
            if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

/* circa_record_model adapters for a probabilistic circuit. */
static circa_status pc_encode_records(const void *m, const uint8_t *r, size_t n, circa_rc_enc *e) {
    return circa_pc_encode(m, r, n, e);
}
static circa_status pc_decode_records(const void *m, circa_rc_dec *d, uint8_t *r, size_t n) {
    return circa_pc_decode(m, d, r, n);
}

/* Loads --model into *rm; returns 0, or EXIT_DATA after a message. */
static int load_model(const char *path, circa_pc **pc, circa_record_model *rm) {
    circa_status st = circa_pc_load_file(path, pc);
    if (st != CIRCA_OK) {
        cli_error(path, "cannot load model: %s", circa_strerror(st));
        return EXIT_DATA;
    }
    rm->width = circa_pc_num_vars(*pc);
    rm->id = circa_pc_id(*pc);
    rm->model = *pc;
    rm->encode = pc_encode_records;
    rm->decode = pc_decode_records;
    return 0;
}

int main(int argc, char **argv) {
    const cli_command *cmd = argc > 1 ? find_command(argv[1]) : NULL;
    if (cmd) return cmd->run(argc - 1, argv + 1);
    cli_opts o = {MODE_COMPRESS, CIRCA_LEVEL_DEFAULT, 1, 0, NULL, 0, 0, 1, NULL};
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    int nfiles = 0;
    if (!files) return EXIT_DATA;
    int r = parse_args(argc, argv, &o, files, &nfiles);
    if (r != PARSE_GO) {
        free(files);
        return r == PARSE_DONE ? EXIT_OK : r;
    }
    circa_pc *pc = NULL;
    circa_record_model rm;
    if (g_model_path) {
        if ((r = load_model(g_model_path, &pc, &rm)) != 0) {
            free(files);
            return r;
        }
        o.model = &rm;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    int status = EXIT_OK;
    if (nfiles == 0) files[nfiles++] = "-";
    for (int i = 0; i < nfiles; i++)
        if (cli_process(&o, files[i]) != EXIT_OK) status = EXIT_DATA;
    circa_pc_free(pc);
    free(files);
    return status;
}
