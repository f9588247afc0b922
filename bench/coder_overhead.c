/* coder_overhead.c: measures, per file, the cm codec's coded size against its model's ideal code length, and its encode/decode speed at levels 3 and 9.
 *
 * Usage: coder_overhead FILE...   Each file is coded as one block. Speeds are
 * the best of REPEATS runs (wall clock), so that a busy machine disturbs them
 * less; the ideal length is accounted in a separate, untimed run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codecs/cm/cm.h"

static double now_seconds(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC); /* C11; wall clock is fine for runs of seconds */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads a whole file; returns NULL on failure. */
static uint8_t *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            uint8_t *grown = realloc(buf, cap);
            if (!grown) break;
            buf = grown;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return NULL;
    }
    *size = len;
    return buf ? buf : malloc(1);
}

typedef struct level_totals {
    size_t raw, coded;
    double ideal_bytes, enc_s, dec_s;
} level_totals;

enum { REPEATS = 3 };

/* Codes one file at one level, checks the round trip and prints one row. */
static int bench_one(const char *name, const uint8_t *data, size_t n, int level, level_totals *tot) {
    size_t cap = n + n / 2 + 64, coded_len = 0;
    uint8_t *coded = malloc(cap), *back = malloc(n ? n : 1), param = 0;
    if (!coded || !back) {
        free(coded);
        free(back);
        return 1;
    }
    double ideal_bits = 0, enc_s = 1e30, dec_s = 1e30;
    circa_status s = circa__cm_encode(data, n, coded, cap, &coded_len, &param, level, &ideal_bits);
    circa_status d = s;
    for (int r = 0; r < REPEATS && s == CIRCA_OK && d == CIRCA_OK; r++) {
        double t0 = now_seconds();
        s = circa__cm_encode(data, n, coded, cap, &coded_len, &param, level, NULL);
        double t1 = now_seconds();
        d = s == CIRCA_OK ? circa__cm_decode(coded, coded_len, back, n, param) : s;
        double t2 = now_seconds();
        if (t1 - t0 < enc_s) enc_s = t1 - t0;
        if (t2 - t1 < dec_s) dec_s = t2 - t1;
    }
    int ok = s == CIRCA_OK && d == CIRCA_OK && memcmp(back, data, n) == 0;
    double ideal_bytes = ideal_bits / 8, overhead = ideal_bytes > 0 ? (coded_len / ideal_bytes - 1) * 100 : 0;
    printf("%-16s %2d %9zu %9zu %12.1f %9.4f%% %8.2f %8.2f %s\n", name, level, n, coded_len,
           ideal_bytes, overhead, n / 1e6 / enc_s, n / 1e6 / dec_s, ok ? "ok" : "ROUND TRIP FAILED");
    tot->raw += n;
    tot->coded += coded_len;
    tot->ideal_bytes += ideal_bytes;
    tot->enc_s += enc_s;
    tot->dec_s += dec_s;
    free(coded);
    free(back);
    return !ok;
}

int main(int argc, char **argv) {
    static const int levels[] = {3, 9};
    level_totals totals[2];
    memset(totals, 0, sizeof totals);
    int failures = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE...\n", argv[0]);
        return 2;
    }
    printf("%-16s %2s %9s %9s %12s %10s %8s %8s\n", "file", "lv", "size", "coded", "ideal", "overhead",
           "enc MB/s", "dec MB/s");
    for (int i = 1; i < argc; i++) {
        size_t n = 0;
        uint8_t *data = read_file(argv[i], &n);
        if (!data) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            failures++;
            continue;
        }
        const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        for (int l = 0; l < 2; l++) failures += bench_one(name, data, n, levels[l], &totals[l]);
        free(data);
    }
    for (int l = 0; l < 2; l++) {
        level_totals *t = &totals[l];
        double overhead = t->ideal_bytes > 0 ? (t->coded / t->ideal_bytes - 1) * 100 : 0;
        printf("%-16s %2d %9zu %9zu %12.1f %9.4f%% %8.2f %8.2f\n", "TOTAL", levels[l], t->raw, t->coded,
               t->ideal_bytes, overhead, t->raw / 1e6 / t->enc_s, t->raw / 1e6 / t->dec_s);
    }
    return failures != 0;
}
