/* pc_idx.c: the IDX file header (MNIST and friends), parsed and checked. */
#include "circa/pc.h"

/* Bytes per element of an IDX type code, or 0 for an unknown type. */
static size_t elem_size(unsigned type) {
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
    }
}

circa_status circa_idx_parse(const uint8_t *buf, size_t n, circa_idx_info *info) {
    if (!buf || !info) return CIRCA_E_PARAM;
    if (n < 4) return CIRCA_E_TRUNCATED;
    if (buf[0] != 0 || buf[1] != 0 || !elem_size(buf[2]) || buf[3] < 1 || buf[3] > 8)
        return CIRCA_E_FORMAT;
    info->type = buf[2];
    info->ndims = buf[3];
    info->header_size = 4 + 4 * (size_t)info->ndims;
    if (n < info->header_size) return CIRCA_E_TRUNCATED;
    size_t rec = elem_size(info->type);
    for (unsigned i = 0; i < 8; i++) info->dims[i] = 0;
    for (unsigned i = 0; i < info->ndims; i++) {
        const uint8_t *p = buf + 4 + 4 * i;
        info->dims[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (i == 0) continue;
        if (info->dims[i] != 0 && rec > SIZE_MAX / info->dims[i]) return CIRCA_E_FORMAT;
        rec *= info->dims[i];
    }
    info->record_size = rec;
    info->count = info->dims[0];
    if (rec != 0 && info->count > (SIZE_MAX - info->header_size) / rec) return CIRCA_E_FORMAT;
    size_t want = info->header_size + info->count * rec;
    if (n < want) return CIRCA_E_TRUNCATED;
    return n == want ? CIRCA_OK : CIRCA_E_FORMAT;
}
