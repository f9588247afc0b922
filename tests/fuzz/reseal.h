/* reseal.h: for fuzz targets of files that carry a CRC-32 (zlib) of every
 * byte before it: runs a parser on a copy of the input with that CRC made
 * right (little-endian), so that mutations also reach the checks behind
 * the checksum instead of stopping at it. */
#ifndef CIRCA_FUZZ_RESEAL_H
#define CIRCA_FUZZ_RESEAL_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The CRC of data[0, at) stored at data[at, at + 4). */
static inline void fuzz_try_resealed_at(const uint8_t *data, size_t size, size_t at,
                                 void (*try_file)(const uint8_t *, size_t)) {
    if (size < 4 || at > size - 4) return;
    uint8_t *copy = malloc(size);
    if (!copy) abort();
    memcpy(copy, data, size);
    uint32_t crc = (uint32_t)crc32(0L, copy, (uInt)at);
    for (int i = 0; i < 4; i++) copy[at + i] = (uint8_t)(crc >> (8 * i));
    try_file(copy, size);
    free(copy);
}

/* The CRC in the last 4 bytes. */
static inline void fuzz_try_resealed(const uint8_t *data, size_t size, void (*try_file)(const uint8_t *, size_t)) {
    if (size >= 4) fuzz_try_resealed_at(data, size, size - 4, try_file);
}

#endif
