/* test_util.h: small helpers shared by the Criterion suites (static, may go unused). */
#ifndef CIRCA_TEST_UTIL_H
#define CIRCA_TEST_UTIL_H
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads a whole file into a malloc'd buffer (*n bytes, one spare byte);
 * fails the test when it cannot. */
static __attribute__((unused)) uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(*n + 1);
    cr_assert_eq(fread(p, 1, *n, f), *n);
    fclose(f);
    return p;
}
#endif
