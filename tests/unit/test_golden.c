/* test_golden.c: golden frames: every tests/golden/valid/X.circa decodes to
 * X.raw (the format stays readable), every tests/golden/invalid/ frame is
 * rejected with an error status. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "circa/circa.h"
#include "test_util.h"

#define GOLDEN CIRCA_SOURCE_DIR "/tests/golden"

/* Calls fn(dir, name) for each *.circa in dir; returns how many. */
static int each_frame(const char *dir, void (*fn)(const char *, const char *)) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "no directory %s", dir);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 6 && strcmp(e->d_name + n - 6, ".circa") == 0) {
            fn(dir, e->d_name);
            count++;
        }
    }
    closedir(d);
    return count;
}

static void check_valid(const char *dir, const char *name) {
    char path[1024], raw_path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(raw_path, sizeof raw_path, "%s/%.*s.raw", dir, (int)(strlen(name) - 6), name);
    size_t n, raw_n, out_n;
    uint8_t *frame = slurp(path, &n), *raw = slurp(raw_path, &raw_n);
    uint8_t *out = malloc(raw_n + 1);
    circa_status st = circa_decompress(out, raw_n, &out_n, frame, n);
    cr_assert_eq(st, CIRCA_OK, "%s: %s", name, circa_strerror(st));
    cr_assert_eq(out_n, raw_n, "%s: size", name);
    cr_assert(memcmp(out, raw, raw_n) == 0, "%s: content", name);
    free(frame);
    free(raw);
    free(out);
}

static void check_invalid(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t n, out_n;
    uint8_t *frame = slurp(path, &n), *out = malloc(1 << 20);
    circa_status st = circa_decompress(out, 1 << 20, &out_n, frame, n);
    cr_assert_neq(st, CIRCA_OK, "%s was accepted", name);
    free(frame);
    free(out);
}

Test(golden, valid_frames_decode) { cr_assert(each_frame(GOLDEN "/valid", check_valid) >= 10); }

Test(golden, invalid_frames_rejected) { cr_assert(each_frame(GOLDEN "/invalid", check_invalid) >= 5); }
