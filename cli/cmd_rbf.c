/* cmd_rbf.c: `circa rbf fit|render|info`: RBF image fields (models/rbf,
 * include/circa/rbf.h): fit a field to an image, render it at any size,
 * describe a field file. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio_cli.h"
#include "circa/image.h"
#include "circa/rbf.h"
#include "commands.h"
#include "fileio.h"

#define NAME "rbf"

static void rbf_usage(FILE *out) {
    fprintf(out,
            "usage: circa rbf fit [IN.png] [-o F.rbf] [options]\n"
            "       circa rbf render [F.rbf] [-o OUT.png] [--size WxH | --scale S] [-T N] [--gpu]\n"
            "       circa rbf info [F.rbf]\n"
            "\n"
            "fit learns an RBF field (NeuRBF: adaptive kernels, sinusoidal composition,\n"
            "grid and a small MLP) that reproduces the image; render draws it at any size.\n"
            "Inputs default to stdin, outputs to stdout (never a terminal).\n"
            "\n"
            "fit options:\n"
            "  --params N        budget of stored numbers (default 72000)\n"
            "  --kernels K       number of kernels (overrides --params)\n"
            "  --steps S         Adam steps (default 8000)\n"
            "  --batch B         pixels per step (default: all, up to 65536)\n"
            "  --target-psnr DB  stop once the training PSNR reaches DB\n"
            "  --features F      weights per kernel (32)   --hidden H   MLP width (64)\n"
            "  --grid R          fine grid resolution (default max(W,H)/2; 0: no grid)\n"
            "  --quant Q         store quantised, entropy-coded numbers with step Q\n"
            "                    (relative to each group's RMS; 0: exact float32, default)\n"
            "  --bpp B           lossy field codec: choose the size and the step to reach\n"
            "                    about B bits per pixel (see docs/rbf.md); without --batch,\n"
            "                    4 x S steps on a quarter of the default batch each,\n"
            "                    then a tenth as many against rounding noise (on the CPU)\n"
            "  --seed N  -T N  -f (overwrite)  -q (no progress)\n"
            "  --gpu             fit (or render) on CUDA device 0: not bit-reproducible,\n"
            "                    same quality (docs/rbf.md); with --bpp, the fit only\n"
            "\n"
            "Progress (step, PSNR, seconds) goes to stderr.\n"
            "Exit status: 0 ok, 1 usage error, 2 data or I/O error.\n");
}

typedef struct rbf_args {
    const char *in, *out;
    int force, quiet, gpu;
    unsigned threads;
    uint32_t size_w, size_h;
    double scale, quant, bpp;
    circa_rbf_config cfg;
    int grid_set;
    unsigned grid;
} rbf_args;

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *v) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || x < lo || x > hi) return 0;
    *v = x;
    return 1;
}

static int parse_double(const char *s, double lo, double hi, double *v) {
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || end == s || *end || !(x >= lo && x <= hi)) return 0;
    *v = x;
    return 1;
}

/* One option with a value; returns 1 if taken, 0 if not an option of ours,
 * -1 on a bad value (message printed). */
static int take_value(rbf_args *a, const char *opt, const char *val) {
    uint64_t u;
    double d;
    circa_rbf_config *c = &a->cfg;
#define U(name, lo, hi, dst)                                                         \
    if (!strcmp(opt, name)) {                                                        \
        if (!parse_u64(val, lo, hi, &u)) return cli_usage_error(NAME, "bad " name, val), -1; \
        dst = u;                                                                     \
        return 1;                                                                    \
    }
#define D(name, lo, hi, dst)                                                          \
    if (!strcmp(opt, name)) {                                                         \
        if (!parse_double(val, lo, hi, &d)) return cli_usage_error(NAME, "bad " name, val), -1; \
        dst = d;                                                                      \
        return 1;                                                                     \
    }
    U("--params", 100, 1ull << 32, c->params)
    U("--kernels", 4, CIRCA_RBF_KERNELS_MAX, c->kernels)
    U("--steps", 1, 10000000, c->steps)
    U("--batch", 1, 1u << 26, c->batch)
    U("--seed", 0, UINT64_MAX, c->seed)
    U("--features", 1, CIRCA_RBF_FEATURES_MAX, c->features)
    U("--hidden", 8, CIRCA_RBF_HIDDEN_MAX, c->hidden)
    U("-T", 1, CIRCA_THREADS_MAX, a->threads)
    D("--target-psnr", 1, 150, c->target_psnr)
    D("--quant", 0, 100, a->quant)
    D("--bpp", 0.01, 64, a->bpp)
    D("--scale", 0.001, 64, a->scale)
    if (!strcmp(opt, "--grid")) {
        if (!parse_u64(val, 0, CIRCA_RBF_GRID_MAX, &u)) return cli_usage_error(NAME, "bad --grid", val), -1;
        a->grid_set = 1, a->grid = (unsigned)u;
        return 1;
    }
    if (!strcmp(opt, "--size")) {
        unsigned w, h;
        char extra;
        if (sscanf(val, "%ux%u%c", &w, &h, &extra) != 2 || w == 0 || h == 0 || w > (1u << 16) || h > (1u << 16))
            return cli_usage_error(NAME, "bad --size (WxH)", val), -1;
        a->size_w = w, a->size_h = h;
        return 1;
    }
#undef U
#undef D
    return 0;
}

static int parse(int argc, char **argv, rbf_args *a) {
    memset(a, 0, sizeof *a);
    a->cfg = circa_rbf_config_default();
    a->threads = 1;
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            rbf_usage(stdout);
            return EXIT_OK;
        } else if (!strcmp(s, "-f")) {
            a->force = 1;
        } else if (!strcmp(s, "--gpu")) {
            a->gpu = 1;
        } else if (!strcmp(s, "-q")) {
            a->quiet = 1;
        } else if (!strcmp(s, "-o")) {
            if (++i >= argc) return cli_usage_error(NAME, "-o needs a file name", NULL);
            a->out = argv[i];
        } else if (s[0] == '-' && s[1]) {
            if (i + 1 >= argc) {
                int known = take_value(a, s, "");
                return known == 0 ? cli_usage_error(NAME, "unknown option", s) : EXIT_USAGE;
            }
            int r = take_value(a, s, argv[i + 1]);
            if (r < 0) return EXIT_USAGE;
            if (r == 0) return cli_usage_error(NAME, "unknown option", s);
            i++;
        } else if (a->in) {
            return cli_usage_error(NAME, "more than one input", s);
        } else {
            a->in = s;
        }
    }
    if (!a->in) a->in = "-";
    if (a->out && !strcmp(a->out, "-")) a->out = NULL;
    a->cfg.threads = a->threads;
    return -1;
}

static const char *shown(const char *name) { return strcmp(name, "-") ? name : "stdin"; }

static circa_image *read_image(const char *in) {
    size_t n;
    uint8_t *src = cli_read_whole(in, &n);
    if (!src) return NULL;
    circa_image *img = NULL;
    circa_status st = circa_image_load(src, n, &img);
    free(src);
    if (st != CIRCA_OK)
        cli_error(shown(in), "%s", st == CIRCA_E_FORMAT ? "not a readable PNG, PGM (P5) or PPM (P6) image"
                                                        : circa_strerror(st));
    return img;
}

static circa_rbf *read_field(const char *in) {
    if (!strcmp(in, "-") && isatty(STDIN_FILENO)) {
        cli_error("stdin", "refusing to read binary data from a terminal");
        return NULL;
    }
    size_t n;
    uint8_t *src = cli_read_whole(in, &n);
    if (!src) return NULL;
    circa_rbf *f = NULL;
    circa_status st = circa_rbf_load(src, n, &f);
    free(src);
    if (st != CIRCA_OK) cli_error(shown(in), "not a valid circa field file: %s", circa_strerror(st));
    return f;
}

/* ctx: the total of steps the fit will run. */
static void show_progress(void *ctx, unsigned step, double psnr, double seconds) {
    fprintf(stderr, "circa rbf: step %u/%u  psnr %.2f dB  %.1f s\n", step, *(const unsigned *)ctx, psnr, seconds);
}

/* Saves f (exact, or quantised at step q) and writes it; *bytes gets the size. */
static int write_field(const rbf_args *a, const circa_rbf *f, double q, size_t *bytes) {
    uint8_t *buf;
    size_t n;
    circa_status st = circa_rbf_save(f, q, &buf, &n);
    if (st != CIRCA_OK) {
        cli_error(shown(a->in), "cannot encode the field: %s", circa_strerror(st));
        return EXIT_DATA;
    }
    *bytes = n;
    int rc = cli_write_whole(a->out, a->force, a->in, buf, n);
    free(buf);
    return rc;
}

/* The PSNR the stored file renders: quantised numbers when q > 0. */
static double stored_psnr(circa_rbf *f, const circa_image *img, double q, unsigned threads) {
    if (q > 0 && circa_rbf_quantise(f, q) != CIRCA_OK) return -1;
    return circa_rbf_psnr(f, img, threads);
}

static int cmd_fit(rbf_args *a) {
    if (!a->out && isatty(STDOUT_FILENO)) {
        cli_error("stdout", "refusing to write binary data to a terminal (use -o, or a pipe)");
        return EXIT_DATA;
    }
    circa_image *img = read_image(a->in);
    if (!img) return EXIT_DATA;
    circa_rbf_config cfg = a->cfg;
    if (a->grid_set) {
        if (a->grid == 0) cfg.grid_base = cfg.grid_fine = 0;
        else cfg.grid_fine = a->grid;
    }
    /* The codec splits the default batch, then refines (circa_rbf_fit_rate). */
    unsigned total = cfg.steps * (a->bpp > 0 && cfg.batch == 0 ? CIRCA_RBF_CODEC_BATCH_SPLIT : 1);
    if (a->bpp > 0) total += total / CIRCA_RBF_CODEC_REFINE_DIV;
    if (!a->quiet) cfg.progress = show_progress, cfg.progress_ctx = &total;
    circa_rbf *f = NULL;
    double q = a->quant;
    circa_status st = a->bpp > 0 ? (a->gpu ? circa_rbf_fit_rate_cuda(img, &cfg, a->bpp, &f, &q)
                                           : circa_rbf_fit_rate(img, &cfg, a->bpp, &f, &q))
                      : a->gpu   ? circa_rbf_fit_cuda(img, &cfg, &f)
                                 : circa_rbf_fit(img, &cfg, &f);
    if (st != CIRCA_OK) {
        if (a->gpu && st == CIRCA_E_UNSUPPORTED) cli_error(shown(a->in), "--gpu: this build has no CUDA support");
        else if (a->gpu && st == CIRCA_E_DEVICE) cli_error(shown(a->in), "--gpu: no usable CUDA device, or a CUDA error");
        else
            cli_error(shown(a->in), "cannot fit a field: %s%s", circa_strerror(st),
                      st == CIRCA_E_PARAM ? " (budget too small, or training diverged)" : "");
        circa_image_free(img);
        return EXIT_DATA;
    }
    size_t bytes = 0;
    int rc = write_field(a, f, q, &bytes);
    if (rc == EXIT_OK && !a->quiet) {
        circa_rbf_info info;
        circa_rbf_get_info(f, &info);
        double psnr = stored_psnr(f, img, q, a->threads);
        fprintf(stderr,
                "circa rbf: %s: %ux%u, %u kernels, %llu trainable (%llu stored) numbers, "
                "PSNR %.2f dB, %zu bytes (%.4f bpp)\n",
                shown(a->in), (unsigned)img->width, (unsigned)img->height, (unsigned)info.kernels,
                (unsigned long long)info.trainable, (unsigned long long)info.stored, psnr, bytes,
                8.0 * (double)bytes / ((double)img->width * img->height));
    }
    circa_rbf_free(f);
    circa_image_free(img);
    return rc;
}

static int cmd_render(rbf_args *a) {
    circa_rbf *f = read_field(a->in);
    if (!f) return EXIT_DATA;
    circa_rbf_info info;
    circa_rbf_get_info(f, &info);
    uint64_t w = info.width, h = info.height;
    if (a->size_w) w = a->size_w, h = a->size_h;
    else if (a->scale > 0) w = (uint64_t)llround(info.width * a->scale), h = (uint64_t)llround(info.height * a->scale);
    if (w < 1) w = 1;
    if (h < 1) h = 1;
    circa_image *img = NULL;
    circa_status st = w * h > CIRCA_IMAGE_MAX_PIXELS ? CIRCA_E_LIMIT
                      : a->gpu ? circa_rbf_render_cuda(f, (uint32_t)w, (uint32_t)h, &img)
                               : circa_rbf_render(f, (uint32_t)w, (uint32_t)h, a->threads, &img);
    circa_rbf_free(f);
    uint8_t *png = NULL;
    size_t n = 0;
    if (st == CIRCA_OK) st = circa_image_save_png(img, &png, &n);
    circa_image_free(img);
    if (st != CIRCA_OK) {
        cli_error(shown(a->in), "cannot render %llux%llu: %s", (unsigned long long)w,
                  (unsigned long long)h, circa_strerror(st));
        return EXIT_DATA;
    }
    int rc = cli_write_whole(a->out, a->force, a->in, png, n);
    free(png);
    return rc;
}

static int cmd_info(rbf_args *a) {
    circa_rbf *f = read_field(a->in);
    if (!f) return EXIT_DATA;
    circa_rbf_info i;
    circa_rbf_get_info(f, &i);
    printf("image      %ux%u, %u channel(s), %u bits\n"
           "kernels    %u x %u weights (centres and shapes fixed, %s)\n"
           "grid       %s\n"
           "mlp        %u -> %u (sine residual) -> %u (ReLU) -> %u\n"
           "numbers    %llu trainable, %llu stored\n",
           (unsigned)i.width, (unsigned)i.height, i.channels, i.depth, (unsigned)i.kernels,
           i.features, i.coarse_geometry ? "coarse: whole pixels" : "fine: 1/8 px", i.grid_base ? "2 levels x 2 features" : "none", i.features + (i.grid_base ? 4 : 0),
           i.hidden, i.hidden, i.channels, (unsigned long long)i.trainable,
           (unsigned long long)i.stored);
    if (i.grid_base) printf("grid res   %u and %u\n", i.grid_base, i.grid_fine);
    circa_rbf_free(f);
    return EXIT_OK;
}

static int cmd_rbf(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        rbf_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    int (*run)(rbf_args *) = !strcmp(argv[1], "fit")      ? cmd_fit
                             : !strcmp(argv[1], "render") ? cmd_render
                             : !strcmp(argv[1], "info")   ? cmd_info
                                                          : NULL;
    if (!run) return cli_usage_error(NAME, "unknown subcommand", argv[1]);
    rbf_args a;
    int rc = parse(argc, argv, &a);
    if (rc >= 0) return rc;
    return run(&a);
}

const cli_command cli_rbf_commands[] = {
    {"rbf", cmd_rbf, "RBF image fields: circa rbf fit|render|info (fit an image, render at any size)"},
    {NULL, NULL, NULL},
};
