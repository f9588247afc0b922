/* mixer.c: loads a folder of speech at 8 kHz, splits its speakers into training and validation sets, and builds augmented two-speaker mixtures deterministically from a seed. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "circa/separate.h"
#include "circa/spectral.h"
#include "sep_internal.h"

typedef struct utt {
    float *x;
    size_t n;
} utt;

typedef struct speaker {
    char *name;
    utt *u;
    size_t nu;
    uint64_t key; /* split order */
} speaker;

struct circa_mixer {
    circa_mixer_config cfg;
    speaker *spk;
    size_t nspk;
    size_t *split[2]; /* indices into spk */
    size_t nsplit[2];
};

circa_mixer_config circa_mixer_config_default(void) {
    circa_mixer_config c = {0.1, 1, 1, 0};
    return c;
}

static void set_why(char *why, size_t cap, const char *fmt, const char *a, const char *b) {
    if (why && cap) snprintf(why, cap, fmt, a, b);
}

/* ---- files ------------------------------------------------------------------ */

static int is_audio_name(const char *n) {
    const char *d = strrchr(n, '.');
    if (!d) return 0;
    const char *ok[] = {".flac", ".wav", ".ogg", ".mp3", ".au", ".aiff", ".aif"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcasecmp(d, ok[i]) == 0) return 1;
    return 0;
}

typedef struct flist {
    char **rel;
    size_t n, cap;
} flist;

static int flist_add(flist *f, const char *rel) {
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 64;
        char **r = realloc(f->rel, nc * sizeof *r);
        if (!r) return -1;
        f->rel = r;
        f->cap = nc;
    }
    f->rel[f->n] = strdup(rel);
    return f->rel[f->n] ? (int)(f->n++, 0) : -1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walks root/rel recursively; -1 on allocation failure, -2 unreadable. */
static int walk(const char *root, const char *rel, flist *f, int depth) {
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d) return -2;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char sub[4096], full[8192];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", root, sub);
        struct stat st;
        if (stat(full, &st) != 0) continue;
        if (S_ISDIR(st.st_mode) && depth < 8) rc = walk(root, sub, f, depth + 1) == -1 ? -1 : 0;
        else if (S_ISREG(st.st_mode) && is_audio_name(e->d_name)) rc = flist_add(f, sub);
    }
    closedir(d);
    return rc;
}

/* Speaker of rel from MANIFEST.tsv (columns "file" and "speaker"); NULL if
 * absent. The manifest is small: a linear scan per file is fine. */
static char *manifest_speaker(const char *root, const char *rel) {
    char path[4096];
    snprintf(path, sizeof path, "%s/MANIFEST.tsv", root);
    FILE *fp = fopen(path, "r");
    if (!fp) return NULL;
    char line[8192];
    int fcol = -1, scol = -1;
    char *res = NULL;
    for (int ln = 0; !res && fgets(line, sizeof line, fp); ln++) {
        line[strcspn(line, "\r\n")] = 0;
        char *save = NULL, *tok = strtok_r(line, "\t", &save);
        const char *file = NULL, *spk = NULL;
        for (int c = 0; tok; c++, tok = strtok_r(NULL, "\t", &save)) {
            if (ln == 0) {
                if (strcmp(tok, "file") == 0) fcol = c;
                if (strcmp(tok, "speaker") == 0) scol = c;
            } else {
                if (c == fcol) file = tok;
                if (c == scol) spk = tok;
            }
        }
        if (ln == 0 && (fcol < 0 || scol < 0)) break;
        if (file && spk && strcmp(file, rel) == 0) res = strdup(spk);
    }
    fclose(fp);
    return res;
}

static char *parent_name(const char *rel) {
    const char *slash = strrchr(rel, '/');
    if (!slash) return strdup("_");
    const char *start = slash;
    while (start > rel && start[-1] != '/') start--;
    size_t len = (size_t)(slash - start);
    char *s = malloc(len + 1);
    if (s) memcpy(s, start, len), s[len] = 0;
    return s;
}

/* ---- loading one file ----------------------------------------------------------- */

/* Runs op over a whole buffer (channels as the op says), appending to a
 * malloc'd output; CIRCA_E_NOMEM or the op's failure. */
circa_status sep_run_op(circa_op *op, const float *in, size_t n, float **out, size_t *nout) {
    size_t cap = 0, len = 0, pos = 0;
    float *buf = NULL;
    circa_status st = CIRCA_OK;
    uint32_t oc = op->out_channels, ic = op->in_channels;
    for (;;) {
        if (cap - len < 4096) {
            size_t nc = cap ? cap * 2 : 16384;
            float *b = realloc(buf, nc * oc * sizeof *b);
            if (!b) { st = CIRCA_E_NOMEM; break; }
            buf = b, cap = nc;
        }
        size_t used = 0, made = 0;
        int drain = pos >= n;
        st = circa_op_process(op, drain ? NULL : in + pos * ic, drain ? 0 : n - pos, &used,
                              buf + len * oc, cap - len, &made);
        if (st != CIRCA_OK) break;
        pos += used;
        len += made;
        if (drain && made == 0) break;
        if (!drain && used == 0 && made == 0) { st = CIRCA_E_STATE; break; }
    }
    if (st != CIRCA_OK) { free(buf); return st; }
    *out = buf;
    *nout = len;
    return CIRCA_OK;
}

/* Resamples mono x (n at rate) to out_rate; *y malloc'd. */
circa_status sep_resample(const float *x, size_t n, uint32_t rate, uint32_t out_rate, float **y,
                          size_t *ny) {
    if (rate == out_rate) {
        *y = malloc((n ? n : 1) * sizeof **y);
        if (!*y) return CIRCA_E_NOMEM;
        memcpy(*y, x, n * sizeof *x);
        *ny = n;
        return CIRCA_OK;
    }
    circa_op *op;
    circa_status st = circa_resampler_create(rate, out_rate, 1, CIRCA_RESAMPLE_MEDIUM, &op);
    if (st != CIRCA_OK) return st;
    st = sep_run_op(op, x, n, y, ny);
    circa_op_free(op);
    return st;
}

static circa_status load_file(const char *path, double max_s, utt *u, char *why, size_t cap) {
    circa_audio_reader *r;
    circa_status st = circa_audio_open_read(path, NULL, &r);
    if (st != CIRCA_OK) {
        set_why(why, cap, "%s: %s", path, circa_strerror(st));
        return st;
    }
    const circa_audio_info *in = circa_audio_reader_info(r);
    uint32_t ch = in->channels, rate = in->rate;
    size_t cap_f = 0, n = 0, limit = max_s > 0 ? (size_t)(max_s * rate) : (size_t)-1;
    float *mono = NULL, blk[4096 * 8];
    size_t per = sizeof blk / sizeof blk[0] / ch;
    if (per == 0) per = 1;
    float *b = ch * per > sizeof blk / sizeof blk[0] ? malloc(ch * per * sizeof *b) : blk;
    if (!b) st = CIRCA_E_NOMEM;
    while (st == CIRCA_OK && n < limit) {
        size_t got = 0;
        st = circa_audio_read(r, b, per, &got);
        if (st != CIRCA_OK || got == 0) break;
        if (n + got > cap_f) {
            size_t nc = cap_f ? cap_f * 2 : 65536;
            while (nc < n + got) nc *= 2;
            float *m2 = realloc(mono, nc * sizeof *m2);
            if (!m2) { st = CIRCA_E_NOMEM; break; }
            mono = m2, cap_f = nc;
        }
        for (size_t i = 0; i < got; i++) { /* downmix: mean of channels */
            double s = 0;
            for (uint32_t c = 0; c < ch; c++) s += b[i * ch + c];
            mono[n + i] = (float)(s / ch);
        }
        n += got;
    }
    if (b != blk) free(b);
    circa_audio_close_read(r);
    if (n > limit) n = limit;
    if (st == CIRCA_OK) st = sep_resample(mono, n, rate, CIRCA_SEPARATE_RATE, &u->x, &u->n);
    free(mono);
    if (st != CIRCA_OK) set_why(why, cap, "%s: %s", path, circa_strerror(st));
    return st;
}

/* ---- speakers and the split ----------------------------------------------------- */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t hash_name(const char *s, uint64_t seed) {
    uint64_t h = 1469598103934665603ull ^ seed;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return splitmix(&h);
}

static speaker *find_or_add(circa_mixer *m, const char *name) {
    for (size_t i = 0; i < m->nspk; i++)
        if (strcmp(m->spk[i].name, name) == 0) return &m->spk[i];
    speaker *s = realloc(m->spk, (m->nspk + 1) * sizeof *s);
    if (!s) return NULL;
    m->spk = s;
    speaker *n = &s[m->nspk];
    memset(n, 0, sizeof *n);
    n->name = strdup(name);
    if (!n->name) return NULL;
    m->nspk++;
    return n;
}

static const circa_mixer *sort_ctx;
static int cmp_idx(const void *a, const void *b) {
    const speaker *x = &sort_ctx->spk[*(const size_t *)a], *y = &sort_ctx->spk[*(const size_t *)b];
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Orders speakers by a seeded hash of their names (so the split does not
 * depend on file order) and holds out the first val_fraction of them. */
static circa_status make_split(circa_mixer *m) {
    size_t n = m->nspk, nval = (size_t)lround(m->cfg.val_fraction * (double)n);
    if (nval < 2) nval = 2;
    if (n < 4 || n - nval < 2) return CIRCA_E_PARAM;
    size_t *idx = malloc(n * sizeof *idx);
    if (!idx) return CIRCA_E_NOMEM;
    for (size_t i = 0; i < n; i++) idx[i] = i, m->spk[i].key = hash_name(m->spk[i].name, m->cfg.split_seed);
    sort_ctx = m; /* qsort has no context argument in C11 */
    qsort(idx, n, sizeof *idx, cmp_idx);
    m->split[CIRCA_MIXER_VAL] = idx;
    m->nsplit[CIRCA_MIXER_VAL] = nval;
    m->split[CIRCA_MIXER_TRAIN] = idx + nval;
    m->nsplit[CIRCA_MIXER_TRAIN] = n - nval;
    return CIRCA_OK;
}

static circa_status add_file(circa_mixer *m, const char *dir, const char *rel, char *why,
                             size_t cap) {
    char *name = manifest_speaker(dir, rel);
    if (!name) name = parent_name(rel);
    if (!name) return CIRCA_E_NOMEM;
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    utt u = {0};
    circa_status st = load_file(path, m->cfg.max_seconds, &u, why, cap);
    speaker *s = st == CIRCA_OK ? find_or_add(m, name) : NULL;
    free(name);
    if (st != CIRCA_OK) return st;
    utt *nu = s ? realloc(s->u, (s->nu + 1) * sizeof *nu) : NULL;
    if (!nu) { free(u.x); return CIRCA_E_NOMEM; }
    s->u = nu;
    s->u[s->nu++] = u;
    return CIRCA_OK;
}

circa_status circa_mixer_load(const char *dir, const circa_mixer_config *cfg, circa_mixer **out,
                              char *why, size_t cap) {
    *out = NULL;
    circa_mixer *m = calloc(1, sizeof *m);
    flist f = {0};
    if (!m) return CIRCA_E_NOMEM;
    m->cfg = cfg ? *cfg : circa_mixer_config_default();
    circa_status st = CIRCA_OK;
    int w = walk(dir, "", &f, 0);
    if (w == -2) { set_why(why, cap, "%s: %s", dir, "cannot read the folder"); st = CIRCA_E_IO; }
    if (w == -1) st = CIRCA_E_NOMEM;
    if (st == CIRCA_OK) qsort(f.rel, f.n, sizeof *f.rel, cmp_str);
    for (size_t i = 0; st == CIRCA_OK && i < f.n; i++) st = add_file(m, dir, f.rel[i], why, cap);
    for (size_t i = 0; i < f.n; i++) free(f.rel[i]);
    free(f.rel);
    if (st == CIRCA_OK) {
        st = make_split(m);
        if (st == CIRCA_E_PARAM) set_why(why, cap, "%s: %s", dir, "needs speech from at least 4 speakers");
    }
    if (st != CIRCA_OK) { circa_mixer_free(m); return st; }
    *out = m;
    return CIRCA_OK;
}

void circa_mixer_free(circa_mixer *m) {
    if (!m) return;
    for (size_t i = 0; i < m->nspk; i++) {
        for (size_t j = 0; j < m->spk[i].nu; j++) free(m->spk[i].u[j].x);
        free(m->spk[i].u);
        free(m->spk[i].name);
    }
    free(m->spk);
    free(m->split[CIRCA_MIXER_VAL]);
    free(m);
}

size_t circa_mixer_speakers(const circa_mixer *m, int split) {
    return m && (split == 0 || split == 1) ? m->nsplit[split] : 0;
}

const char *circa_mixer_speaker_name(const circa_mixer *m, int split, size_t i) {
    if (i >= circa_mixer_speakers(m, split)) return NULL;
    return m->spk[m->split[split][i]].name;
}

double circa_mixer_seconds(const circa_mixer *m, int split) {
    double s = 0;
    for (size_t i = 0; i < circa_mixer_speakers(m, split); i++) {
        const speaker *p = &m->spk[m->split[split][i]];
        for (size_t j = 0; j < p->nu; j++) s += (double)p->u[j].n / CIRCA_SEPARATE_RATE;
    }
    return s;
}

/* ---- mixtures ------------------------------------------------------------------ */

static double uni(uint64_t *s) { return (double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0); }
static double gauss(uint64_t *s) {
    double u = uni(s) + 1e-12, v = uni(s);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static double energy(const float *x, size_t n) {
    double e = 0;
    for (size_t i = 0; i < n; i++) e += (double)x[i] * x[i];
    return e;
}

/* Copies a random stretch of need samples from u into y (zero-padded at a
 * random place when the utterance is shorter). */
static void crop(const utt *u, size_t need, uint64_t *rng, float *y) {
    memset(y, 0, need * sizeof *y);
    if (u->n >= need) {
        size_t off = (size_t)(uni(rng) * (double)(u->n - need + 1));
        memcpy(y, u->x + off, need * sizeof *y);
    } else {
        size_t off = (size_t)(uni(rng) * (double)(need - u->n + 1));
        memcpy(y + off, u->x, u->n * sizeof *y);
    }
}

/* RBJ peaking biquad at a random centre and gain: a cheap random EQ. */
static void random_eq(float *x, size_t n, uint64_t *rng) {
    double f0 = 150 * pow(3000.0 / 150, uni(rng)), gdb = (uni(rng) * 2 - 1) * 8, q = 0.5 + uni(rng);
    double A = pow(10, gdb / 40), w0 = 6.283185307179586 * f0 / CIRCA_SEPARATE_RATE;
    double al = sin(w0) / (2 * q), c = cos(w0);
    double b0 = 1 + al * A, b1 = -2 * c, b2 = 1 - al * A, a0 = 1 + al / A, a1 = -2 * c, a2 = 1 - al / A;
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
    for (size_t i = 0; i < n; i++) {
        double y = (b0 * x[i] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2) / a0;
        x2 = x1, x1 = x[i], y2 = y1, y1 = y;
        x[i] = (float)y;
    }
}

/* Synthetic room: a unit direct path plus exponentially decaying noise
 * (RT60 0.15-0.6 s), convolved through the FFT convolver; keeps length n. */
static circa_status random_reverb(float *x, size_t n, uint64_t *rng) {
    double rt60 = 0.15 + 0.45 * uni(rng), wet = 0.1 + 0.4 * uni(rng);
    size_t len = (size_t)(rt60 * CIRCA_SEPARATE_RATE);
    float *ir = malloc(len * sizeof *ir);
    if (!ir) return CIRCA_E_NOMEM;
    double decay = -6.907755 / (rt60 * CIRCA_SEPARATE_RATE); /* ln(1e-3) per sample */
    for (size_t i = 0; i < len; i++) ir[i] = (float)(wet * 0.1 * gauss(rng) * exp(decay * (double)i));
    ir[0] = 1.0f;
    circa_op *op;
    circa_status st = circa_op_fir_create(ir, len, 1, CIRCA_SEPARATE_RATE, 1, &op);
    free(ir);
    float *y = NULL;
    size_t ny = 0;
    if (st == CIRCA_OK) st = sep_run_op(op, x, n, &y, &ny);
    circa_op_free(op);
    if (st == CIRCA_OK) memcpy(x, y, (ny < n ? ny : n) * sizeof *x);
    free(y);
    return st;
}

/* One source: crop (longer when speed-perturbing, then resampled by a
 * rate ratio 7200..8800 / 8000 in 100 Hz steps), EQ and reverb. */
static circa_status make_source(const speaker *s, size_t t, int augment, uint64_t *rng, float *y) {
    const utt *u = &s->u[(size_t)(uni(rng) * (double)s->nu) % s->nu];
    if (!augment) { crop(u, t, rng, y); return CIRCA_OK; }
    uint32_t r_in = 7200 + 100 * (uint32_t)(uni(rng) * 17); /* speed r_in/8000 */
    size_t need = (size_t)((double)t * r_in / CIRCA_SEPARATE_RATE) + 64;
    float *raw = malloc(need * sizeof *raw), *z = NULL;
    size_t nz = 0;
    if (!raw) return CIRCA_E_NOMEM;
    crop(u, need, rng, raw);
    /* Taking 8 kHz samples as if they were at r_in and resampling to 8 kHz
     * plays them r_in/8000 times slower (pitch and tempo together). */
    circa_status st = sep_resample(raw, need, r_in, CIRCA_SEPARATE_RATE, &z, &nz);
    free(raw);
    if (st != CIRCA_OK) return st;
    memset(y, 0, t * sizeof *y);
    memcpy(y, z, (nz < t ? nz : t) * sizeof *y);
    free(z);
    if (uni(rng) < 0.7) random_eq(y, t, rng);
    if (uni(rng) < 0.5) st = random_reverb(y, t, rng);
    return st;
}

circa_status circa_mixer_make(const circa_mixer *m, int split, uint64_t seed, size_t t, float *mix,
                              float *src, circa_mixer_info *info) {
    size_t ns = circa_mixer_speakers(m, split);
    if (ns < 2 || t == 0 || !mix || !src) return CIRCA_E_PARAM;
    uint64_t rng = seed * 0x2545F4914F6CDD1Dull + (uint64_t)split + 1;
    size_t a = (size_t)(uni(&rng) * (double)ns) % ns;
    size_t b = (a + 1 + (size_t)(uni(&rng) * (double)(ns - 1)) % (ns - 1)) % ns; /* b != a */
    int aug = m->cfg.augment && split == CIRCA_MIXER_TRAIN;
    circa_status st = make_source(&m->spk[m->split[split][a]], t, aug, &rng, src);
    if (st == CIRCA_OK) st = make_source(&m->spk[m->split[split][b]], t, aug, &rng, src + t);
    if (st != CIRCA_OK) return st;
    double snr = uni(&rng) * 10 - 5, e0 = energy(src, t) + 1e-12, e1 = energy(src + t, t) + 1e-12;
    /* Scale so 10 log10(e0'/e1') = snr and the mixture sits at a random level. */
    double level = pow(10, (-28 + 18 * (aug ? uni(&rng) : 0.5)) / 20) * sqrt((double)t);
    double g0 = level * pow(10, snr / 40) / sqrt(e0), g1 = level * pow(10, -snr / 40) / sqrt(e1);
    double noise = aug ? level / sqrt((double)t) * pow(10, (-35 + 15 * uni(&rng)) / 20) : 0;
    for (size_t i = 0; i < t; i++) {
        src[i] = (float)(src[i] * g0);
        src[t + i] = (float)(src[t + i] * g1);
        mix[i] = src[i] + src[t + i] + (float)(noise ? noise * gauss(&rng) : 0);
    }
    if (info) info->spk[0] = a, info->spk[1] = b, info->snr_db = snr;
    return CIRCA_OK;
}
