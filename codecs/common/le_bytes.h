/* le_bytes.h: little-endian field access for circa's file formats (frames,
 * image streams, PC model, nn weight and RBF field files, WAV/AU headers):
 * one copy of the byte shuffling, with float32 carried through its bit
 * pattern. Private to the library. */
#ifndef CIRCA_LE_BYTES_H
#define CIRCA_LE_BYTES_H

#include <stdint.h>
#include <string.h>

static inline void circa__put16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void circa__put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void circa__put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t circa__get16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static inline uint32_t circa__get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t circa__get64(const uint8_t *p) {
    return (uint64_t)circa__get32(p) | (uint64_t)circa__get32(p + 4) << 32;
}
static inline void circa__put_f32(uint8_t *p, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    circa__put32(p, u);
}
static inline float circa__get_f32(const uint8_t *p) {
    uint32_t u = circa__get32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

#endif
