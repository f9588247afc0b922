/* test_sizes.c: compressed sizes of the corpus files at levels 3 and 9 must
 * equal tests/regression/sizes.csv exactly (zstd keeps such a table): a
 * change to the context model that moves a ratio shows up here, and the
 * table is then regenerated on purpose (tests/regression/make-sizes.sh).
 * Level 1 is left out: its deflate comes from libdeflate, whose output may
 * change with the library's version. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "circa/circa.h"
#include "test_util.h"

Test(sizes, corpus_sizes_match_the_table, .timeout = 300) {
    FILE *csv = fopen(CIRCA_SOURCE_DIR "/tests/regression/sizes.csv", "r");
    cr_assert_not_null(csv);
    char line[512], name[256];
    int level, rows = 0;
    unsigned long want;
    int quick = getenv("CIRCA_TEST_QUICK") != NULL;
    while (fgets(line, sizeof line, csv)) {
        if (line[0] == '#' || sscanf(line, "%255[^,],%d,%lu", name, &level, &want) != 3) continue;
        if (quick && level == 9) continue; /* sanitizer builds: the strong model is slow there */
        char path[1024];
        snprintf(path, sizeof path, "%s/corpora/files/%s", CIRCA_SOURCE_DIR, name);
        size_t n, len;
        uint8_t *src = slurp(path, &n), *dst = malloc(circa_compress_bound(n));
        cr_assert_eq(circa_compress(dst, circa_compress_bound(n), &len, src, n, level), CIRCA_OK);
        cr_expect_eq(len, want, "%s at -%d: %zu bytes, the table says %lu", name, level, len, want);
        free(src);
        free(dst);
        rows++;
    }
    fclose(csv);
    cr_assert(rows >= 10, "only %d rows checked", rows);
}
