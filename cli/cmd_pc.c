/* cmd_pc.c: `circa pc learn|eval|code|info`: probabilistic-circuit models of
 * fixed-size records (IDX image files or raw records), gzip input accepted. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "circa/pc.h"
#include "commands.h"
#include "fileio.h"

#define NAME "pc"

static void pc_usage(FILE *out) {
    fprintf(out,
            "usage: circa pc learn (--idx FILE | --records WIDTH FILE) -o MODEL.pc [OPTIONS]\n"
            "       circa pc eval  --model MODEL.pc (--idx FILE | --records WIDTH FILE | FILE) [-T N]\n"
            "       circa pc code  --model MODEL.pc (--idx FILE | --records WIDTH FILE | FILE)\n"
            "       circa pc info  MODEL.pc\n"
            "\n"
            "Learns a hidden Chow-Liu tree circuit over the bytes of fixed-size records,\n"
            "reports its bits per byte (eval), or codes the records with it and checks\n"
            "the round trip (code). Inputs may be gzip-compressed; FILE alone is an IDX\n"
            "file if its header says so, otherwise raw records of the model's width.\n"
            "\n"
            "learn options:\n"
            "  --hidden M             hidden states per node (default 32)\n"
            "  --epochs E             mini-batch EM epochs (default 5)\n"
            "  --full-epochs F        full-batch EM epochs after them (default 1)\n"
            "  --batch B              mini-batch size (default 512)\n"
            "  --inertia A0,A1        mini-batch inertia schedule (default 0.1,0.9)\n"
            "  --pseudocount P        for transition tables (default 0.1)\n"
            "  --input-pseudocount P  for input tables (default 1.0)\n"
            "  --seed S               initialisation seed (default 1)\n"
            "  --init MODEL.pc        continue EM from this model (no structure learning)\n"
            "  --limit N              use only the first N records\n"
            "  -T N                   threads (0: one per core)\n"
            "\n"
            "Exit status: 0 ok, 1 usage error, 2 data or I/O error.\n");
}

/* ---- input ---------------------------------------------------------------- */
/* Reads a whole (possibly gzip-compressed) file; NULL after printing an error. */
static uint8_t *read_all(const char *path, size_t *len) {
    gzFile g = gzopen(path, "rb");
    if (!g) {
        cli_error(path, "cannot open");
        return NULL;
    }
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        if (n == cap) {
            uint8_t *b = cap > (SIZE_MAX >> 2) ? NULL : realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b, cap *= 2;
        }
        size_t want = cap - n > (1u << 30) ? (1u << 30) : cap - n;
        int got = gzread(g, buf + n, (unsigned)want);
        if (got < 0) {
            int err;
            cli_error(path, "read failed: %s", gzerror(g, &err));
            free(buf);
            gzclose(g);
            return NULL;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    gzclose(g);
    if (!buf) cli_error(path, "out of memory");
    *len = n;
    return buf;
}

/* Records of one data set, as named on the command line. */
typedef struct dataset {
    const char *path;
    size_t width;  /* --records WIDTH, or 0 */
    int idx;       /* --idx */
    uint8_t *buf;
    const uint8_t *rec;
    size_t count, d;
} dataset;

/* Loads ds; want_d (0: any) is the model's width. Returns EXIT_OK or prints
 * an error and returns EXIT_DATA. */
static int load_data(dataset *ds, size_t want_d) {
    size_t len;
    ds->buf = read_all(ds->path, &len);
    if (!ds->buf) return EXIT_DATA;
    circa_idx_info info;
    circa_status st = ds->width ? CIRCA_E_FORMAT : circa_idx_parse(ds->buf, len, &info);
    if (st == CIRCA_OK && info.type == 0x08) {
        ds->rec = ds->buf + info.header_size, ds->count = info.count, ds->d = info.record_size;
    } else if (ds->idx) {
        cli_error(ds->path, "not an IDX file of unsigned bytes (%s)",
                  st == CIRCA_OK ? "element type is not u8" : circa_strerror(st));
        return EXIT_DATA;
    } else {
        size_t w = ds->width ? ds->width : want_d;
        if (w == 0 || len % w != 0) {
            cli_error(ds->path, "length %zu is not a multiple of the record width %zu", len, w);
            return EXIT_DATA;
        }
        ds->rec = ds->buf, ds->count = len / w, ds->d = w;
    }
    if (want_d && ds->d != want_d) {
        cli_error(ds->path, "records of %zu bytes, the model codes %zu", ds->d, want_d);
        return EXIT_DATA;
    }
    if (ds->count == 0) {
        cli_error(ds->path, "no records");
        return EXIT_DATA;
    }
    return EXIT_OK;
}

/* ---- argument parsing ------------------------------------------------------ */
typedef struct pc_args {
    dataset data;
    const char *model, *out, *init;
    circa_pc_learn_params lp;
    size_t limit;
} pc_args;

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out) {
    char *end;
    if (!s || *s < '0' || *s > '9') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v > max) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out) {
    char *end;
    if (!s || !*s) return -1;
    *out = strtod(s, &end);
    return *end ? -1 : 0;
}

/* The options that take a value (an unknown one is reported as unknown,
 * not as missing its value). */
static int takes_value(const char *o) {
    static const char *const names[] = {"--idx",   "--records", "--model", "-o",
                                        "--init",  "--hidden",  "--epochs", "--full-epochs",
                                        "--batch", "--seed",    "--limit", "--pseudocount",
                                        "--input-pseudocount", "--inertia", "-T", NULL};
    for (int k = 0; names[k]; k++)
        if (!strcmp(o, names[k])) return 1;
    return 0;
}

/* One option with a value at argv[*i]; returns EXIT_OK or a usage error. */
static int parse_option(pc_args *a, int argc, char **argv, int *i) {
    const char *o = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    unsigned long long u;
    double x;
    if (!takes_value(o)) return cli_usage_error(NAME, "unknown option", o);
    if (!v) return cli_usage_error(NAME, "option needs a value", o);
    ++*i;
    if (!strcmp(o, "--idx")) a->data.path = v, a->data.idx = 1;
    else if (!strcmp(o, "--records")) {
        if (parse_uint(v, 1u << 20, &u) || u == 0) return cli_usage_error(NAME, "bad record width", v);
        if (*i + 1 >= argc) return cli_usage_error(NAME, "--records needs WIDTH FILE", NULL);
        a->data.width = (size_t)u, a->data.path = argv[++*i];
    } else if (!strcmp(o, "--model")) a->model = v;
    else if (!strcmp(o, "-o")) a->out = v;
    else if (!strcmp(o, "--init")) a->init = v;
    else if (!strcmp(o, "--hidden")) {
        if (parse_uint(v, 256, &u) || u == 0) return cli_usage_error(NAME, "bad hidden size (1..256)", v);
        a->lp.hidden = (unsigned)u;
    } else if (!strcmp(o, "--epochs") || !strcmp(o, "--full-epochs")) {
        if (parse_uint(v, 100000, &u)) return cli_usage_error(NAME, "bad epoch count", v);
        if (o[2] == 'e') a->lp.epochs = (unsigned)u;
        else a->lp.full_epochs = (unsigned)u;
    } else if (!strcmp(o, "--batch")) {
        if (parse_uint(v, 1u << 24, &u) || u == 0) return cli_usage_error(NAME, "bad batch size", v);
        a->lp.batch = (unsigned)u;
    } else if (!strcmp(o, "--seed")) {
        if (parse_uint(v, UINT64_MAX, &u)) return cli_usage_error(NAME, "bad seed", v);
        a->lp.seed = u;
    } else if (!strcmp(o, "--limit")) {
        if (parse_uint(v, SIZE_MAX, &u) || u == 0) return cli_usage_error(NAME, "bad limit", v);
        a->limit = (size_t)u;
    } else if (!strcmp(o, "--pseudocount") || !strcmp(o, "--input-pseudocount")) {
        if (parse_double(v, &x) || !(x >= 0 && x < 1e9)) return cli_usage_error(NAME, "bad pseudocount", v);
        if (o[2] == 'p') a->lp.pseudocount = x;
        else a->lp.input_pseudocount = x;
    } else if (!strcmp(o, "--inertia")) {
        double a0, a1;
        if (sscanf(v, "%lf,%lf", &a0, &a1) != 2 || !(a0 >= 0 && a0 < 1 && a1 >= 0 && a1 < 1))
            return cli_usage_error(NAME, "bad inertia (A0,A1 in [0,1))", v);
        a->lp.inertia_start = a0, a->lp.inertia_end = a1;
    } else if (!strcmp(o, "-T")) {
        if (parse_uint(v, 64, &u)) return cli_usage_error(NAME, "bad thread count", v);
        if (u == 0) {
            long n = sysconf(_SC_NPROCESSORS_ONLN);
            u = n < 1 ? 1 : n > 64 ? 64 : (unsigned long long)n;
        }
        a->lp.threads = (unsigned)u;
    } else {
        --*i;
        return cli_usage_error(NAME, "unknown option", o);
    }
    return EXIT_OK;
}

/* Parses argv[2..]; a lone non-option word is the data file. Returns
 * EXIT_OK, a usage error, or -1 after printing help. */
static int parse_args(pc_args *a, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->lp = circa_pc_learn_defaults();
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            pc_usage(stdout);
            return -1;
        }
        if (o[0] != '-' || !o[1]) {
            if (a->data.path) return cli_usage_error(NAME, "more than one data file", o);
            a->data.path = o;
            continue;
        }
        int r = parse_option(a, argc, argv, &i);
        if (r != EXIT_OK) return r;
    }
    return EXIT_OK;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the calling thread: per-core speed, whatever else the machine runs. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int model_error(const char *path, circa_status st) {
    if (st == CIRCA_E_IO && access(path, R_OK) != 0) cli_error(path, "cannot load model: %s", strerror(errno));
    else cli_error(path, "cannot load model: %s", circa_strerror(st));
    return EXIT_DATA;
}

/* ---- learn -------------------------------------------------------------------- */
static void on_epoch(void *ctx, unsigned epoch, double bpd, double seconds) {
    (void)ctx;
    fprintf(stderr, "epoch %u: train bpd %.4f, %.1f s\n", epoch, bpd, seconds);
}

static int cmd_learn(pc_args *a) {
    if (!a->data.path) return cli_usage_error(NAME, "learn needs --idx FILE or --records WIDTH FILE", NULL);
    if (!a->out) return cli_usage_error(NAME, "learn needs -o MODEL.pc", NULL);
    circa_pc *pc = NULL;
    circa_status st;
    if (a->init && (st = circa_pc_load_file(a->init, &pc)) != CIRCA_OK) return model_error(a->init, st);
    int r = load_data(&a->data, pc ? circa_pc_num_vars(pc) : 0);
    if (r != EXIT_OK) {
        circa_pc_free(pc);
        free(a->data.buf);
        return r;
    }
    size_t n = a->limit && a->limit < a->data.count ? a->limit : a->data.count;
    a->lp.progress = on_epoch;
    double t0 = now();
    fprintf(stderr, "learning from %zu records of %zu bytes, M=%u, %u+%u epochs, %u threads\n", n,
            a->data.d, pc ? circa_pc_num_hidden(pc) : a->lp.hidden, a->lp.epochs,
            a->lp.full_epochs, a->lp.threads ? a->lp.threads : 1);
    st = pc ? circa_pc_em(pc, a->data.rec, n, &a->lp)
            : circa_pc_learn(a->data.rec, n, a->data.d, &a->lp, &pc);
    free(a->data.buf);
    if (st != CIRCA_OK) {
        cli_error(a->data.path, "learning failed: %s", circa_strerror(st));
        circa_pc_free(pc);
        return st == CIRCA_E_PARAM ? EXIT_USAGE : EXIT_DATA;
    }
    st = circa_pc_save_file(pc, a->out);
    if (st != CIRCA_OK) {
        cli_error(a->out, "cannot write model: %s", circa_strerror(st));
        circa_pc_free(pc);
        return EXIT_DATA;
    }
    fprintf(stderr, "wrote %s: id %08x, depth %u, %llu parameters, %.1f s\n", a->out,
            circa_pc_id(pc), circa_pc_depth(pc), (unsigned long long)circa_pc_num_params(pc),
            now() - t0);
    circa_pc_free(pc);
    return EXIT_OK;
}

/* ---- eval / code ------------------------------------------------------------------ */
/* Loads --model and the data set for eval and code; EXIT_OK or an error. */
static int open_model_and_data(pc_args *a, circa_pc **pc) {
    if (!a->model) return cli_usage_error(NAME, "needs --model MODEL.pc", NULL);
    if (!a->data.path) return cli_usage_error(NAME, "needs a data file", NULL);
    circa_status st = circa_pc_load_file(a->model, pc);
    if (st != CIRCA_OK) return model_error(a->model, st);
    int r = load_data(&a->data, circa_pc_num_vars(*pc));
    if (r != EXIT_OK) {
        circa_pc_free(*pc);
        free(a->data.buf);
    }
    if (r == EXIT_OK && a->limit && a->limit < a->data.count) a->data.count = a->limit;
    return r;
}

static int cmd_eval(pc_args *a) {
    circa_pc *pc;
    int r = open_model_and_data(a, &pc);
    if (r != EXIT_OK) return r;
    double t0 = now();
    double bpd = circa_pc_bpd(pc, a->data.rec, a->data.count, a->lp.threads);
    double dt = now() - t0;
    int ok = bpd == bpd;
    if (!ok) cli_error(a->data.path, "a byte is outside the model's %u categories", circa_pc_num_categories(pc));
    else
        printf("model: %s (id %08x, D=%zu, K=%u, M=%u, %llu parameters)\nrecords: %zu\ntime: %.2f s\nbpd: %.4f\n",
               a->model, circa_pc_id(pc), circa_pc_num_vars(pc), circa_pc_num_categories(pc),
               circa_pc_num_hidden(pc), (unsigned long long)circa_pc_num_params(pc), a->data.count, dt, bpd);
    circa_pc_free(pc);
    free(a->data.buf);
    return ok ? EXIT_OK : EXIT_DATA;
}

/* Encodes all records, decodes them, checks they match, reports sizes and
 * single-thread speeds. */
static int cmd_code(pc_args *a) {
    circa_pc *pc;
    int r = open_model_and_data(a, &pc);
    if (r != EXIT_OK) return r;
    size_t n = a->data.count, D = a->data.d, raw = n * D;
    size_t cap = raw + raw / 2 + 64; /* a bad model can expand; the coder flags overflow */
    uint8_t *dst = malloc(cap), *back = malloc(raw);
    r = EXIT_DATA;
    if (!dst || !back) {
        cli_error(a->data.path, "out of memory");
        goto done;
    }
    circa_rc_enc enc;
    circa_rc_enc_init(&enc, dst, cap);
    double t0 = now(), c0 = cpu_now();
    circa_status st = circa_pc_encode(pc, a->data.rec, n, &enc);
    size_t len = circa_rc_enc_finish(&enc);
    double t1 = now(), c1 = cpu_now();
    if (st != CIRCA_OK || len == 0) {
        cli_error(a->data.path, "encoding failed: %s", st ? circa_strerror(st) : "output overflow");
        goto done;
    }
    circa_rc_dec dec;
    circa_rc_dec_init(&dec, dst, len);
    st = circa_pc_decode(pc, &dec, back, n);
    double t2 = now(), c2 = cpu_now();
    if (st != CIRCA_OK || circa_rc_dec_finish(&dec) || memcmp(back, a->data.rec, raw) != 0) {
        cli_error(a->data.path, "round trip FAILED (%s)", st ? circa_strerror(st) : "content differs");
        goto done;
    }
    printf("model: %s (id %08x, M=%u)\nrecords: %zu of %zu bytes, round trip exact\n"
           "coded bytes: %zu\n"
           "encode: %.1f records/s per core (%.2f s CPU, %.2f s wall, 1 thread)\n"
           "decode: %.1f records/s per core (%.2f s CPU, %.2f s wall, 1 thread)\n"
           "coded bpd: %.4f\n",
           a->model, circa_pc_id(pc), circa_pc_num_hidden(pc), n, D, len, n / (c1 - c0), c1 - c0,
           t1 - t0, n / (c2 - c1), c2 - c1, t2 - t1, len * 8.0 / (double)raw);
    r = EXIT_OK;
done:
    free(dst);
    free(back);
    circa_pc_free(pc);
    free(a->data.buf);
    return r;
}

static int cmd_info(pc_args *a) {
    const char *path = a->model ? a->model : a->data.path;
    if (!path) return cli_usage_error(NAME, "info needs MODEL.pc", NULL);
    circa_pc *pc;
    circa_status st = circa_pc_load_file(path, &pc);
    if (st != CIRCA_OK) return model_error(path, st);
    printf("model: %s\nid: %08x\nvariables: %zu\ncategories: %u\nhidden: %u\ndepth: %u\n"
           "parameters: %llu\nrecipe: %s\n",
           path, circa_pc_id(pc), circa_pc_num_vars(pc), circa_pc_num_categories(pc),
           circa_pc_num_hidden(pc), circa_pc_depth(pc), (unsigned long long)circa_pc_num_params(pc),
           circa_pc_recipe(pc));
    circa_pc_free(pc);
    return EXIT_OK;
}

static int run_pc(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        pc_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    pc_args a;
    int r = parse_args(&a, argc, argv);
    if (r != EXIT_OK) return r < 0 ? EXIT_OK : r;
    const char *verb = argv[1];
    if (!strcmp(verb, "learn")) return cmd_learn(&a);
    if (!strcmp(verb, "eval")) return cmd_eval(&a);
    if (!strcmp(verb, "code")) return cmd_code(&a);
    if (!strcmp(verb, "info")) return cmd_info(&a);
    return cli_usage_error(NAME, "unknown pc command", verb);
}

const cli_command cli_pc_commands[] = {
    {"pc", run_pc, "probabilistic circuits: learn, eval, code (circa pc -h)"},
    {NULL, NULL, NULL}};
