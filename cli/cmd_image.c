/* cmd_image.c: `circa image encode|decode`: the lossless image codec
 * (include/circa/image.h) from PNG/PGM/PPM to a circa image stream and back. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audio_cli.h"
#include "circa/image.h"
#include "commands.h"
#include "fileio.h"

#define NAME "image"

static void image_usage(FILE *out) {
    fprintf(out,
            "usage: circa image encode [IN] [-o OUT] [-f] [-v]\n"
            "       circa image decode [IN] [-o OUT] [-f]\n"
            "\n"
            "encode codes a PNG, PGM (P5) or PPM (P6) losslessly as a circa image\n"
            "stream; decode gives back the image: a PNG, or a PGM/PPM when OUT ends\n"
            "in .pgm, .ppm or .pnm. IN defaults to stdin, OUT to stdout (binary output\n"
            "is never written to a terminal). gAMA, sRGB, iCCP and text chunks are\n"
            "kept; palette PNGs come back as RGB(A) with the same pixels.\n"
            "\n"
            "  -o OUT   output file (written through a temporary, renamed when complete)\n"
            "  -f       overwrite OUT if it exists\n"
            "  -v       (encode) print size and bits per pixel on stderr\n"
            "\n"
            "Exit status: 0 ok, 1 usage error, 2 data or I/O error.\n");
}

typedef struct image_args {
    const char *in;  /* "-" for stdin */
    const char *out; /* NULL for stdout */
    int force, verbose;
} image_args;

/* Parses argv[2..argc); returns -1 to go on, else an exit status. */
static int parse(int argc, char **argv, image_args *a) {
    memset(a, 0, sizeof *a);
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            image_usage(stdout);
            return EXIT_OK;
        } else if (!strcmp(s, "-o")) {
            if (++i >= argc) return cli_usage_error(NAME, "-o needs a file name", NULL);
            a->out = argv[i];
        } else if (!strcmp(s, "-f")) {
            a->force = 1;
        } else if (!strcmp(s, "-v")) {
            a->verbose = 1;
        } else if (s[0] == '-' && s[1]) {
            return cli_usage_error(NAME, "unknown option", s);
        } else if (a->in) {
            return cli_usage_error(NAME, "more than one input", s);
        } else {
            a->in = s;
        }
    }
    if (!a->in) a->in = "-";
    if (a->out && !strcmp(a->out, "-")) a->out = NULL;
    return -1;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static int cmd_encode(const image_args *a) {
    const char *shown = strcmp(a->in, "-") ? a->in : "stdin";
    size_t n;
    uint8_t *src = cli_read_whole(a->in, &n);
    if (!src) return EXIT_DATA;
    circa_image *img = NULL;
    circa_status st = circa_image_load(src, n, &img);
    free(src);
    if (st != CIRCA_OK) {
        cli_error(shown, "%s", st == CIRCA_E_FORMAT ? "not a readable PNG, PGM (P5) or PPM (P6) image"
                                                    : circa_strerror(st));
        return EXIT_DATA;
    }
    uint8_t *out;
    size_t out_n;
    st = circa_image_encode(img, &out, &out_n);
    if (st != CIRCA_OK) {
        cli_error(shown, "%s", circa_strerror(st));
        circa_image_free(img);
        return EXIT_DATA;
    }
    if (a->verbose)
        fprintf(stderr, "%s: %ux%u, %u channel(s) x %u bits -> %zu bytes, %.4f bpp\n", shown,
                (unsigned)img->width, (unsigned)img->height, img->channels, img->depth, out_n,
                8.0 * (double)out_n / ((double)img->width * img->height));
    circa_image_free(img);
    int rc = cli_write_whole(a->out, a->force, a->in, out, out_n);
    free(out);
    return rc;
}

static int cmd_decode(const image_args *a) {
    const char *shown = strcmp(a->in, "-") ? a->in : "stdin";
    if (!strcmp(a->in, "-") && isatty(STDIN_FILENO)) {
        cli_error("stdin", "refusing to read binary data from a terminal");
        return EXIT_DATA;
    }
    size_t n;
    uint8_t *src = cli_read_whole(a->in, &n);
    if (!src) return EXIT_DATA;
    circa_image *img = NULL;
    circa_status st = circa_image_decode(src, n, &img);
    free(src);
    if (st != CIRCA_OK) {
        cli_error(shown, "%s", circa_strerror(st));
        return EXIT_DATA;
    }
    int pnm = a->out && (ends_with(a->out, ".pgm") || ends_with(a->out, ".ppm") || ends_with(a->out, ".pnm"));
    uint8_t *out;
    size_t out_n;
    st = pnm ? circa_image_save_pnm(img, &out, &out_n) : circa_image_save_png(img, &out, &out_n);
    circa_image_free(img);
    if (st != CIRCA_OK) {
        const char *why = st == CIRCA_E_UNSUPPORTED ? "this image cannot be written as PNM (use .png)"
                                                    : circa_strerror(st);
        cli_error(a->out ? a->out : "stdout", "%s", why);
        return EXIT_DATA;
    }
    int rc = cli_write_whole(a->out, a->force, a->in, out, out_n);
    free(out);
    return rc;
}

static int cmd_image(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        image_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    int encode = !strcmp(argv[1], "encode"), decode = !strcmp(argv[1], "decode");
    if (!encode && !decode) return cli_usage_error(NAME, "unknown subcommand", argv[1]);
    image_args a;
    int rc = parse(argc, argv, &a);
    if (rc >= 0) return rc;
    return encode ? cmd_encode(&a) : cmd_decode(&a);
}

const cli_command cli_image_commands[] = {
    {"image", cmd_image, "lossless image codec: circa image encode|decode (PNG, PGM, PPM)"},
    {NULL, NULL, NULL},
};
