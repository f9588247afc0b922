/* cmd_separate.c: the speech-separation subcommands `circa separate`, `separate-train`, `separate-eval` and `separate-init` (Conv-TasNet, docs/separate.md). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "audio_cli.h"
#include "circa/cuda.h"
#include "circa/separate.h"
#include "circa/spectral.h"
#include "commands.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- shared option parsing ---------------------------------------------------------- */

/* Options of the training-side commands; a field unused by a command stays default. */
typedef struct sep_opts {
    const char *data, *out, *model, *resume;
    circa_tasnet_config cfg;
    int have_config;
    circa_separate_train_config tr;
    uint64_t split_seed, seed;
    unsigned threads;
    int mixtures, gpu;
    double seconds_eval;
    double chunk_s; /* separate-eval: 0 whole signals, else through the op in chunks */
} sep_opts;

static int parse_config(const char *s, circa_tasnet_config *c) {
    int v[8], n = 0;
    if (sscanf(s, "%d,%d,%d,%d,%d,%d,%d,%d%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &n) != 8 ||
        s[n] != 0)
        return -1;
    c->N = v[0], c->L = v[1], c->B = v[2], c->H = v[3], c->Sc = v[4], c->P = v[5], c->X = v[6], c->R = v[7];
    c->C = 2;
    return circa_tasnet_config_check(c) == CIRCA_OK ? 0 : -1;
}

static int num(const char *s, double lo, double hi, double *v) {
    return audio_cli_number(s, v) == 0 && *v >= lo && *v <= hi ? 0 : -1;
}

/* Parses argv into o; returns EXIT_OK to go on, else an exit status (-h: prints usage). */
static int parse_opts(const char *cmd, const char *usage, int argc, char **argv, sep_opts *o) {
    memset(o, 0, sizeof *o);
    o->cfg = circa_tasnet_config_default();
    o->tr = circa_separate_train_config_default();
    o->split_seed = 1, o->seed = 1, o->threads = 1, o->mixtures = 50, o->seconds_eval = 4;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d;
        if (!strcmp(k, "-h") || !strcmp(k, "--help")) { fputs(usage, stdout); return -2; }
        if (!strcmp(k, "--causal")) { o->cfg.causal = 1; continue; }
        if (!strcmp(k, "--restart")) { o->tr.restart = 1; continue; }
        if (!strcmp(k, "--gpu")) { o->gpu = 1; continue; }
        if (!v) return cli_usage_error(cmd, "missing value after", k);
        i++;
        if (!strcmp(k, "--data")) o->data = v;
        else if (!strcmp(k, "--out") || !strcmp(k, "-o")) o->out = v;
        else if (!strcmp(k, "--model")) o->model = v;
        else if (!strcmp(k, "--resume")) o->resume = v;
        else if (!strcmp(k, "--config")) {
            int causal = o->cfg.causal;
            o->cfg.causal = causal;
            if (parse_config(v, &o->cfg)) return cli_usage_error(cmd, "bad --config (N,L,B,H,Sc,P,X,R)", v);
            o->have_config = 1;
        } else if (!strcmp(k, "--seconds") && !num(v, 0, 1e7, &d)) o->tr.seconds = d, o->seconds_eval = d;
        else if (!strcmp(k, "--segment") && !num(v, 0.01, 60, &d)) o->tr.segment_s = d;
        else if (!strcmp(k, "--batch") && !num(v, 1, 256, &d)) o->tr.batch = (int)d;
        else if (!strcmp(k, "--lr") && !num(v, 1e-7, 1, &d)) o->tr.lr = (float)d;
        else if (!strcmp(k, "--seed") && !num(v, 0, 4e9, &d)) o->seed = (uint64_t)d;
        else if (!strcmp(k, "--split-seed") && !num(v, 0, 4e9, &d)) o->split_seed = (uint64_t)d;
        else if (!strcmp(k, "--epoch-steps") && !num(v, 1, 1e6, &d)) o->tr.epoch_steps = (int)d;
        else if (!strcmp(k, "--val") && !num(v, 1, 1e4, &d)) o->tr.val_mixtures = (int)d;
        else if (!strcmp(k, "--chunk") && !num(v, 2, 600, &d)) o->chunk_s = d;
        else if (!strcmp(k, "--mixtures") && !num(v, 1, 1e5, &d)) o->mixtures = (int)d;
        else if (!strcmp(k, "-T") && !num(v, 1, 256, &d)) o->threads = (unsigned)d;
        else return cli_usage_error(cmd, "unknown option or bad value", k);
    }
    o->cfg.threads = o->threads;
    o->tr.mix_threads = o->threads;
    o->tr.seed = o->seed;
    return EXIT_OK;
}

static int load_model(const char *path, unsigned threads, circa_tasnet **net) {
    circa_status st = circa_tasnet_load(path, threads, net);
    if (st == CIRCA_OK && circa_tasnet_get_config(*net)->C != 2) {
        circa_tasnet_free(*net);
        st = CIRCA_E_UNSUPPORTED;
    }
    if (st != CIRCA_OK) cli_error(path, "not a usable separation model: %s", circa_strerror(st));
    return st == CIRCA_OK ? EXIT_OK : EXIT_DATA;
}

/* --gpu: moves inference to CUDA device 0 (gLN and cLN batch passes; causal
 * streams stay on the CPU). */
static int use_gpu(const char *cmd, circa_tasnet *net) {
    const char *why = NULL;
    circa_status st = circa_tasnet_use_cuda(net, CIRCA_TASNET_GPU, &why);
    if (st != CIRCA_OK) cli_error(cmd, "--gpu: %s", why ? why : circa_strerror(st));
    return st == CIRCA_OK ? EXIT_OK : EXIT_DATA;
}

/* --gpu before anything slow (loading speech): is there a device at all? */
static int gpu_present(const char *cmd) {
    int count = 0;
    const char *why = NULL;
    circa_cuda_devices(NULL, 0, &count, &why);
    if (count == 0) cli_error(cmd, "--gpu: %s", why ? why : "no CUDA device");
    return count > 0 ? EXIT_OK : EXIT_DATA;
}

static int load_data(const char *cmd, const sep_opts *o, int augment, circa_mixer **m) {
    if (!o->data) return cli_usage_error(cmd, "--data DIR is required", NULL);
    circa_mixer_config mc = circa_mixer_config_default();
    mc.split_seed = o->split_seed;
    mc.augment = augment;
    char why[512] = "";
    circa_status st = circa_mixer_load(o->data, &mc, m, why, sizeof why);
    if (st != CIRCA_OK) {
        fprintf(stderr, "circa: %s\n", *why ? why : circa_strerror(st));
        return EXIT_DATA;
    }
    fprintf(stderr, "circa: %s: %zu training speakers (%.1f min), %zu validation speakers (%.1f min)\n", cmd,
            circa_mixer_speakers(*m, 0), circa_mixer_seconds(*m, 0) / 60, circa_mixer_speakers(*m, 1),
            circa_mixer_seconds(*m, 1) / 60);
    return EXIT_OK;
}

/* ---- separate-init / separate-train -------------------------------------------------------- */

static const char *INIT_USAGE =
    "usage: circa separate-init [--config N,L,B,H,Sc,P,X,R] [--causal] [--seed S] -o MODEL\n"
    "Writes an untrained (randomly initialised) model: for tests.\n";

static int cmd_separate_init(int argc, char **argv) {
    sep_opts o;
    int rc = parse_opts("separate-init", INIT_USAGE, argc, argv, &o);
    if (rc != EXIT_OK) return rc == -2 ? EXIT_OK : rc;
    if (!o.out) return cli_usage_error("separate-init", "-o MODEL is required", NULL);
    circa_tasnet *net;
    circa_status st = circa_tasnet_create(&o.cfg, o.seed, &net);
    if (st == CIRCA_OK) st = circa_tasnet_save(net, o.out);
    circa_tasnet_free(net);
    if (st != CIRCA_OK) cli_error(o.out, "%s", circa_strerror(st));
    return st == CIRCA_OK ? EXIT_OK : EXIT_DATA;
}

static const char *TRAIN_USAGE =
    "usage: circa separate-train --data DIR --out MODEL [options]\n"
    "Trains a two-speaker Conv-TasNet on mixtures of speech from DIR (speaker = MANIFEST.tsv's\n"
    "speaker column, else each file's folder), holding out 10% of speakers for validation.\n"
    "  --config N,L,B,H,Sc,P,X,R  model size (default 128,16,64,256,64,3,8,3)\n"
    "  --causal          causal model (cumulative LN), streamable\n"
    "  --seconds S       wall-clock budget (default: none)\n"
    "  --segment S       training segment seconds (4)      --batch N   (4)\n"
    "  --lr LR           Adam learning rate (1e-3)         --seed S    (1)\n"
    "  --epoch-steps N   steps between validations (100)   --val N     validation mixtures (16)\n"
    "  --split-seed S    which speakers are held out (1)   -T N        threads\n"
    "  --gpu             forward and backward passes on CUDA device 0 (mixing, loss\n"
    "                    and Adam stay on the CPU; -T threads make the mixtures)\n"
    "  --resume CKPT     continue from MODEL.ckpt (its configuration wins)\n"
    "  --restart         with --resume: a new stage (--lr again, plateau counters\n"
    "                    and best score cleared)\n"
    "Writes MODEL (best validation SI-SNRi), MODEL.ckpt and MODEL.ckpt.opt (checkpoint).\n";

static int cmd_separate_train(int argc, char **argv) {
    sep_opts o;
    int rc = parse_opts("separate-train", TRAIN_USAGE, argc, argv, &o);
    if (rc != EXIT_OK) return rc == -2 ? EXIT_OK : rc;
    if (!o.out) return cli_usage_error("separate-train", "--out MODEL is required", NULL);
    circa_mixer *m = NULL;
    circa_tasnet *net = NULL;
    if (o.gpu && (rc = gpu_present("separate-train")) != EXIT_OK) return rc;
    rc = load_data("separate-train", &o, 1, &m);
    if (rc == EXIT_OK && o.resume) rc = load_model(o.resume, o.threads, &net);
    else if (rc == EXIT_OK) {
        circa_status st = circa_tasnet_create(&o.cfg, o.seed, &net);
        if (st != CIRCA_OK) rc = cli_usage_error("separate-train", circa_strerror(st), NULL);
    }
    if (rc == EXIT_OK && o.gpu) {
        const char *why = NULL;
        circa_status st = circa_tasnet_use_cuda(net, CIRCA_TASNET_GPU_TRAIN, &why);
        if (st != CIRCA_OK) rc = EXIT_DATA, cli_error("separate-train", "--gpu: %s", why ? why : circa_strerror(st));
    }
    if (rc == EXIT_OK) {
        size_t np;
        circa_nn_param *ps = circa_tasnet_params(net, &np);
        size_t count = 0;
        for (size_t i = 0; i < np; i++) count += ps[i].size;
        const circa_tasnet_config *c = circa_tasnet_get_config(net);
        fprintf(stderr, "circa: separate-train: config %d,%d,%d,%d,%d,%d,%d,%d %s, %zu parameters%s\n", c->N,
                c->L, c->B, c->H, c->Sc, c->P, c->X, c->R, c->causal ? "causal cLN" : "gLN", count,
                o.gpu ? ", on the GPU" : "");
        o.tr.out = o.out;
        o.tr.resume = o.resume;
        double best;
        circa_status st = circa_separate_train(net, m, &o.tr, stderr, &best);
        if (st != CIRCA_OK) cli_error(o.out, "training failed: %s", circa_strerror(st)), rc = EXIT_DATA;
        else fprintf(stderr, "circa: separate-train: best validation SI-SNRi %.2f dB, model in %s\n", best, o.out);
    }
    circa_tasnet_free(net);
    circa_mixer_free(m);
    return rc;
}

/* ---- separate-eval ------------------------------------------------------------------ */

static const char *EVAL_USAGE =
    "usage: circa separate-eval --model MODEL --data DIR [--mixtures N] [--seconds S] [--seed S]\n"
    "       [--split-seed S] [--chunk C] [-T N] [--gpu]\n"
    "Scores MODEL on N (50) mixtures of S (4) seconds of held-out speakers (the validation split of\n"
    "separate-train with the same --split-seed) next to oracle IBM, IRM and WFM masks (32 ms Hann\n"
    "STFT, 8 ms hop). SDRi is the plain-SNR improvement of the best-permutation estimate; \"+-\" is\n"
    "the standard error of the mean SI-SNRi over the mixtures. --chunk C scores what `circa separate\n"
    "--chunk C` outputs (gLN models in overlapping chunks of C seconds; causal models frame by frame)\n"
    "instead of one pass over each whole mixture.\n";

/* Sums over mixtures of the improvements, and of the squared SI-SNRi for its
 * standard error: test sets differ by more than a model change (a 50-mixture
 * mean moves by about 0.5 dB from one seed to another). */
typedef struct eval_sum {
    double si, si2, snr;
} eval_sum;

/* gLN models: `circa separate` takes chunks of SEP_CHUNK_S seconds by default.
 * A gLN model is better with more context, so the chunk is long: every input
 * up to 30 s is one whole pass. Measured on held-out mixtures (docs/separate.md):
 * 4 s chunks lost about 1.2 dB SI-SNRi against whole 12 s mixtures, and at
 * 60 s 30 s chunks beat one whole pass. Memory: about 11 MB per second of
 * chunk for the 1.27M model (circa_tasnet_infer). */
#define SEP_CHUNK_S 30.0

/* Overlap between chunks: 2 s (on 8 s chunks of 24 s mixtures 2 s gained
 * 1.7 dB over 1 s: more evidence for the order of the speakers), a quarter
 * of shorter chunks. */
static double chunk_overlap(double chunk_s) { return chunk_s >= 8 ? 2.0 : chunk_s / 4; }

/* Separates mix [t] through the streaming op, as `circa separate` does at 8 kHz,
 * into est [2][t]. */
static circa_status separate_via_op(circa_tasnet *net, double chunk_s, const float *mix, size_t t, float *est) {
    circa_op *op;
    circa_status st = circa_op_separate_create(net, chunk_s, chunk_overlap(chunk_s), &op);
    float *out = st == CIRCA_OK ? malloc(2 * t * sizeof *out) : NULL;
    if (st == CIRCA_OK && !out) st = CIRCA_E_NOMEM;
    size_t used = 0, made = 0;
    while (st == CIRCA_OK && made < t) {
        size_t u = 0, m = 0;
        int end = used == t;
        st = circa_op_process(op, end ? NULL : mix + used, t - used, &u, out + 2 * made, t - made, &m);
        used += u, made += m;
        /* drained short, or a stalled operator (the circa_op contract): never loop */
        if (st == CIRCA_OK && m == 0 && (end || u == 0)) st = CIRCA_E_STATE;
    }
    for (size_t i = 0; st == CIRCA_OK && i < t; i++) est[i] = out[2 * i], est[t + i] = out[2 * i + 1];
    free(out);
    circa_op_free(op);
    return st;
}

/* Standard error of the mean of n values with sum s and sum of squares s2. */
static double std_error(double s, double s2, int n) {
    if (n < 2) return 0;
    double var = (s2 - s * s / n) / (n - 1);
    return var > 0 ? sqrt(var / n) : 0;
}

static int cmd_separate_eval(int argc, char **argv) {
    sep_opts o;
    int rc = parse_opts("separate-eval", EVAL_USAGE, argc, argv, &o);
    if (rc != EXIT_OK) return rc == -2 ? EXIT_OK : rc;
    if (!o.model) return cli_usage_error("separate-eval", "--model MODEL is required", NULL);
    circa_tasnet *net = NULL;
    circa_mixer *m = NULL;
    rc = load_model(o.model, o.threads, &net);
    if (rc == EXIT_OK && o.gpu) rc = use_gpu("separate-eval", net);
    if (rc == EXIT_OK) rc = load_data("separate-eval", &o, 0, &m);
    size_t t = (size_t)(o.seconds_eval * CIRCA_SEPARATE_RATE);
    if (rc == EXIT_OK && t < 256) rc = cli_usage_error("separate-eval", "--seconds too short", NULL);
    float *mix = NULL, *src = NULL, *est = NULL;
    if (rc == EXIT_OK) {
        mix = malloc(t * sizeof *mix), src = malloc(2 * t * sizeof *src), est = malloc(2 * t * sizeof *est);
        if (!mix || !src || !est) rc = EXIT_DATA, cli_error("separate-eval", "out of memory");
    }
    eval_sum sum[4] = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
    double model_time = 0;
    for (int i = 0; rc == EXIT_OK && i < o.mixtures; i++) {
        circa_status st = circa_mixer_make(m, CIRCA_MIXER_VAL, o.seed * 1000003u + (uint64_t)i + 7, t, mix, src, NULL);
        double base_si = (circa_audio_si_snr(src, mix, t) + circa_audio_si_snr(src + t, mix, t)) / 2;
        double base_snr = (circa_audio_snr(src, mix, t) + circa_audio_snr(src + t, mix, t)) / 2;
        for (int k = 0; st == CIRCA_OK && k < 4; k++) {
            double t0 = now_s();
            if (k > 0) st = circa_separate_oracle((circa_oracle_mask)(k - 1), t, mix, src, est);
            else if (o.chunk_s > 0) st = separate_via_op(net, o.chunk_s, mix, t, est);
            else st = circa_separate_whole(net, mix, t, est);
            if (k == 0) model_time += now_s() - t0;
            double si, snr;
            circa_separate_score(t, est, src, &si, &snr);
            sum[k].si += si - base_si, sum[k].si2 += (si - base_si) * (si - base_si);
            sum[k].snr += snr - base_snr;
        }
        if (st != CIRCA_OK) rc = EXIT_DATA, cli_error("separate-eval", "%s", circa_strerror(st));
    }
    if (rc == EXIT_OK) {
        const char *names[4] = {"model", "oracle IBM", "oracle IRM", "oracle WFM"};
        printf("%d mixtures of %.1f s, held-out speakers (split seed %llu)\n", o.mixtures, o.seconds_eval,
               (unsigned long long)o.split_seed);
        printf("%-12s %9s %7s %9s\n", "method", "SI-SNRi", "+-", "SDRi");
        for (int k = 0; k < 4; k++)
            printf("%-12s %9.2f %7.2f %9.2f\n", names[k], sum[k].si / o.mixtures,
                   std_error(sum[k].si, sum[k].si2, o.mixtures), sum[k].snr / o.mixtures);
        printf("model real-time factor: %.4f %s %u thread(s)\n", model_time / (o.mixtures * o.seconds_eval),
               o.gpu ? "on the GPU, host with" : "with", o.threads);
    }
    free(mix), free(src), free(est);
    circa_tasnet_free(net);
    circa_mixer_free(m);
    return rc;
}

/* ---- separate: inference ---------------------------------------------------------------- */

static const char *SEP_USAGE =
    "usage: circa separate --model MODEL [IN] [-o OUT | -o S1 -o S2] [--chunk S | --causal] [-T N]\n"
    "       [--gpu]\n"
    "Separates two speakers: reads IN (default stdin; any rate and format), resamples to 8 kHz,\n"
    "separates, resamples back, and writes 2 channels (one speaker each) to stdout or OUT, or one\n"
    "file per speaker with two -o. Memory stays bounded: gLN models run in chunks of S (30) seconds\n"
    "overlapping by 2 s (S/4 below 8 s); causal models frame by frame (latency one encoder window,\n"
    "L samples = 2 ms at L = 16). --causal asks for the frame-by-frame stream and refuses a gLN model.\n"
    "--gpu runs gLN models on CUDA device 0 (causal models always stream on the CPU).\n"
    "Progress (seconds read, real-time factor) goes to stderr once a second when it is a terminal;\n"
    "--progress shows it always (one line each), -q never.\n"
    "Format options (-t -b -e, -r -c for raw input) as in `circa gain -h`; -f overwrites.\n";

typedef struct sep_cli {
    const char *model;
    const char *outs[2];
    int n_outs;
    double chunk_s;
    unsigned threads;
    int bad, gpu, causal;
    int progress; /* -1 (-q): never; 1 (--progress): always; 0: when stderr is a terminal */
} sep_cli;

static int sep_extra(void *ctx, audio_cli_args *a, int argc, char **argv, int *i) {
    sep_cli *s = ctx;
    const char *k = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    double d;
    (void)a;
    if (!strcmp(k, "--gpu")) return s->gpu = 1, AUDIO_CLI_TAKEN;
    if (!strcmp(k, "--causal")) return s->causal = 1, AUDIO_CLI_TAKEN;
    if (!strcmp(k, "-q")) return s->progress = -1, AUDIO_CLI_TAKEN;
    if (!strcmp(k, "--progress")) return s->progress = 1, AUDIO_CLI_TAKEN;
    int is_o = !strcmp(k, "-o"), is_m = !strcmp(k, "--model"), is_c = !strcmp(k, "--chunk"), is_t = !strcmp(k, "-T");
    if (!is_o && !is_m && !is_c && !is_t) return AUDIO_CLI_NOT_MINE;
    (*i)++;
    if (!v) s->bad = s->bad ? s->bad : (cli_usage_error("separate", "missing value after", k), 1);
    else if (is_o && s->n_outs < 2) s->outs[s->n_outs++] = v;
    else if (is_o) s->bad = s->bad ? s->bad : (cli_usage_error("separate", "at most two -o", v), 1);
    else if (is_m) s->model = v;
    else if (is_c && !num(v, 2, 600, &d)) s->chunk_s = d;
    else if (is_t && !num(v, 1, 256, &d)) s->threads = (unsigned)d;
    else s->bad = s->bad ? s->bad : (cli_usage_error("separate", "bad value", v), 1);
    return AUDIO_CLI_TAKEN;
}

/* The pipeline: downmix -> resample to 8 kHz -> separate -> resample back. */
typedef struct chain {
    circa_op *op[3];
    float *buf[3];
    size_t cap[3];
} chain;

static void chain_free(chain *c) {
    for (int k = 0; k < 3; k++) circa_op_free(c->op[k]), free(c->buf[k]);
}

/* Pushes n frames (in == NULL: the end) through op k and on, writing what
 * comes out of the last stage. Returns an exit status. */
/* Where separated audio goes: one 2-channel output, or one per speaker.
 * audio_cli keeps a single temporary at a time, so the second speaker's
 * file is written here to NAME.partial and renamed at the end. */
typedef struct sep_outs {
    audio_cli_output o;
    int two;
    const char *name2;
    char tmp2[4096];
    circa_audio_writer *w2;
    int tmp2_slot;          /* cli_temporary_register's slot for tmp2 */
} sep_outs;

static int outs_write(sep_outs *so, const float *in, size_t n) {
    if (!so->two) return audio_cli_write(&so->o, in, n);
    float tmp[1024];
    for (size_t p = 0; p < n; p += 1024) {
        size_t m = n - p < 1024 ? n - p : 1024;
        for (int s = 0; s < 2; s++) {
            for (size_t j = 0; j < m; j++) tmp[j] = in[(p + j) * 2 + (size_t)s];
            if (s == 0) {
                int rc = audio_cli_write(&so->o, tmp, m);
                if (rc != EXIT_OK) return rc;
            } else if (circa_audio_write(so->w2, tmp, m) != CIRCA_OK) {
                cli_error(so->name2, "%s", circa_audio_writer_error(so->w2));
                return EXIT_DATA;
            }
        }
    }
    return EXIT_OK;
}

static int outs_open(audio_cli_args *a, const circa_audio_info *in, const sep_cli *s, sep_outs *so) {
    memset(so, 0, sizeof *so);
    so->two = s->n_outs == 2;
    a->out_name = s->outs[0];
    if (so->two && strcmp(s->outs[0], s->outs[1]) == 0) return cli_usage_error("separate", "the two -o name the same file", s->outs[1]);
    if (so->two && !a->force && access(s->outs[1], F_OK) == 0) {
        cli_error(s->outs[1], "already exists; not overwritten (use -f)");
        return EXIT_DATA;
    }
    int rc = audio_cli_open_output(a, in, in->rate, so->two ? 1 : 2, &so->o);
    if (rc != EXIT_OK || !so->two) return rc;
    so->name2 = s->outs[1];
    snprintf(so->tmp2, sizeof so->tmp2, "%s.partial", s->outs[1]);
    circa_audio_info info = so->o.info;
    circa_status st = circa_audio_open_write(so->tmp2, &info, &so->w2);
    so->tmp2_slot = st == CIRCA_OK ? cli_temporary_register(so->tmp2) : -1;
    if (st != CIRCA_OK) {
        cli_error(so->name2, "cannot write: %s", circa_strerror(st));
        return audio_cli_close_output(&so->o, EXIT_DATA);
    }
    return EXIT_OK;
}

static int outs_close(sep_outs *so, int rc) {
    if (so->w2) {
        circa_status st = circa_audio_close_write(so->w2);
        if (rc == EXIT_OK && st != CIRCA_OK) cli_error(so->name2, "%s", circa_strerror(st)), rc = EXIT_DATA;
        if (rc == EXIT_OK && rename(so->tmp2, so->name2) != 0)
            cli_error(so->name2, "cannot rename temporary output"), rc = EXIT_DATA;
        if (rc != EXIT_OK) unlink(so->tmp2);
        cli_temporary_forget(so->tmp2_slot);
    }
    return audio_cli_close_output(&so->o, rc);
}

static int chain_push(chain *c, int k, const float *in, size_t n, sep_outs *o) {
    if (k == 3) return outs_write(o, in, n);
    if (!c->op[k]) return chain_push(c, k + 1, in, n, o);
    size_t pos = 0;
    for (;;) {
        size_t used = 0, made = 0;
        circa_status st = circa_op_process(c->op[k], in ? in + pos * c->op[k]->in_channels : NULL,
                                           in ? n - pos : 0, &used, c->buf[k], c->cap[k], &made);
        if (st != CIRCA_OK) { cli_error("separate", "%s: %s", c->op[k]->name, circa_strerror(st)); return EXIT_DATA; }
        pos += used;
        if (made) {
            int rc = chain_push(c, k + 1, c->buf[k], made, o);
            if (rc != EXIT_OK) return rc;
        }
        if (in && pos >= n) return EXIT_OK;
        if (!in && made == 0) return chain_push(c, k + 1, NULL, 0, o);
        if (in && used == 0 && made == 0) { cli_error("separate", "internal error: %s stalled", c->op[k]->name); return EXIT_DATA; }
    }
}

static int chain_make(chain *c, circa_tasnet *net, uint32_t rate, double chunk_s) {
    circa_status st = CIRCA_OK;
    if (rate != CIRCA_SEPARATE_RATE) st = circa_resampler_create(rate, CIRCA_SEPARATE_RATE, 1, CIRCA_RESAMPLE_HIGH, &c->op[0]);
    if (st == CIRCA_OK) st = circa_op_separate_create(net, chunk_s, chunk_overlap(chunk_s), &c->op[1]);
    if (st == CIRCA_OK && rate != CIRCA_SEPARATE_RATE)
        st = circa_resampler_create(CIRCA_SEPARATE_RATE, rate, 2, CIRCA_RESAMPLE_HIGH, &c->op[2]);
    for (int k = 0; st == CIRCA_OK && k < 3; k++) {
        c->cap[k] = 16384;
        c->buf[k] = malloc(c->cap[k] * 2 * sizeof(float));
        if (!c->buf[k]) st = CIRCA_E_NOMEM;
    }
    if (st != CIRCA_OK) cli_error("separate", "cannot set up: %s", circa_strerror(st));
    return st == CIRCA_OK ? EXIT_OK : EXIT_DATA;
}

/* Progress on stderr, at most once a second: seconds of input read, and the
 * real-time factor so far. A terminal line (\r) on a terminal, else whole lines. */
typedef struct sep_progress {
    int on, tty;
    double t0, last, rate;
    uint64_t frames;
} sep_progress;

static void progress_show(sep_progress *p, const char *name, int done) {
    if (!p->on) return;
    double now = now_s(), audio = (double)p->frames / p->rate;
    if (!done && now - p->last < 1.0) return;
    p->last = now;
    if (done && p->tty) { fputs("\r\033[K", stderr); return; }
    fprintf(stderr, "%scirca: separate: %s: %.1f s of audio, RTF %.3f%s", p->tty ? "\r\033[K" : "", name,
            audio, audio > 0 ? (now - p->t0) / audio : 0.0, p->tty ? "" : "\n");
}

static int sep_stream(circa_audio_reader *r, const char *name, chain *c, sep_outs *o, int show) {
    uint32_t ch = circa_audio_reader_info(r)->channels;
    int tty = isatty(STDERR_FILENO);
    sep_progress prog = {show > 0 || (show == 0 && tty), tty, now_s(), now_s(),
                         (double)circa_audio_reader_info(r)->rate, 0};
    size_t per = 65536 / ch ? 65536 / ch : 1;
    float *b = malloc(per * ch * sizeof *b), *mono = malloc(per * sizeof *mono);
    int rc = b && mono ? EXIT_OK : EXIT_DATA;
    while (rc == EXIT_OK) {
        size_t got = 0;
        circa_status st = circa_audio_read(r, b, per, &got);
        if (st != CIRCA_OK) { cli_error(name, "%s", *circa_audio_reader_error(r) ? circa_audio_reader_error(r) : circa_strerror(st)); rc = EXIT_DATA; break; }
        if (got == 0) break;
        for (size_t i = 0; i < got; i++) {
            double s = 0;
            for (uint32_t k = 0; k < ch; k++) s += b[i * ch + k];
            mono[i] = (float)(s / ch);
        }
        rc = chain_push(c, 0, mono, got, o);
        prog.frames += got;
        progress_show(&prog, name, 0);
    }
    if (rc == EXIT_OK) rc = chain_push(c, 0, NULL, 0, o);
    progress_show(&prog, name, 1);
    free(b);
    free(mono);
    return rc;
}

static int cmd_separate(int argc, char **argv) {
    sep_cli s = {NULL, {NULL, NULL}, 0, SEP_CHUNK_S, 1, 0, 0, 0, 0};
    audio_cli_args a;
    audio_cli_args_init(&a, "separate", 1);
    int rc = audio_cli_parse(&a, argc, argv, SEP_USAGE, sep_extra, &s);
    if (rc != AUDIO_CLI_GO) return rc;
    if (s.bad) return EXIT_USAGE;
    if (!s.model) return cli_usage_error("separate", "--model MODEL is required", NULL);
    circa_tasnet *net = NULL;
    rc = load_model(s.model, s.threads, &net);
    if (rc == EXIT_OK && s.causal && !circa_tasnet_get_config(net)->causal) {
        cli_error("separate", "%s: --causal needs a causal (cLN) model; this one is gLN", s.model);
        rc = EXIT_DATA;
    }
    if (rc == EXIT_OK && s.gpu && !circa_tasnet_get_config(net)->causal) rc = use_gpu("separate", net);
    circa_audio_reader *r = NULL;
    if (rc == EXIT_OK) rc = audio_cli_open_input(&a, a.inputs[0], &a.in_fmt[0], &r);
    chain c;
    memset(&c, 0, sizeof c);
    sep_outs so;
    int opened = 0;
    if (rc == EXIT_OK) {
        const circa_audio_info *in = circa_audio_reader_info(r);
        rc = chain_make(&c, net, in->rate, s.chunk_s);
        if (rc == EXIT_OK) rc = outs_open(&a, in, &s, &so), opened = rc == EXIT_OK;
    }
    if (rc == EXIT_OK) rc = sep_stream(r, audio_cli_display_name(a.inputs[0]), &c, &so, s.progress);
    if (opened) rc = outs_close(&so, rc);
    chain_free(&c);
    circa_audio_close_read(r);
    circa_tasnet_free(net);
    return rc;
}

const cli_command cli_separate_commands[] = {
    {"separate", cmd_separate, "separate two speakers with a Conv-TasNet model (2-channel output)"},
    {"separate-train", cmd_separate_train, "train a two-speaker Conv-TasNet on a folder of speech"},
    {"separate-eval", cmd_separate_eval, "score a separation model against oracle masks on held-out speakers"},
    {"separate-init", cmd_separate_init, "write an untrained separation model (for tests)"},
    {NULL, NULL, NULL}};
