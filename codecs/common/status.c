/* status.c: messages for circa_status codes and the library version string. */
#include "circa/circa.h"

#define CIRCA__STR2(x) #x
#define CIRCA__STR(x) CIRCA__STR2(x)

const char *circa_strerror(circa_status s) {
    switch (s) {
    case CIRCA_OK: return "success";
    case CIRCA_E_NOMEM: return "out of memory";
    case CIRCA_E_IO: return "input/output error";
    case CIRCA_E_PARAM: return "invalid parameter";
    case CIRCA_E_FORMAT: return "corrupt or not circa data";
    case CIRCA_E_VERSION: return "unknown format version";
    case CIRCA_E_UNSUPPORTED: return "unsupported feature";
    case CIRCA_E_CHECKSUM: return "checksum mismatch (data is corrupt)";
    case CIRCA_E_TRUNCATED: return "truncated input";
    case CIRCA_E_DST_SIZE: return "destination buffer too small";
    case CIRCA_E_LIMIT: return "size or memory limit exceeded";
    case CIRCA_E_STATE: return "call made in the wrong state";
    case CIRCA_E_DEVICE: return "accelerator error";
    case CIRCA_E_MODEL: return "model missing or not the one the data was compressed with";
    case CIRCA_STATUS_COUNT: break;
    }
    return "unknown error";
}

const char *circa_version_string(void) {
    return CIRCA__STR(CIRCA_VERSION_MAJOR) "." CIRCA__STR(CIRCA_VERSION_MINOR) "." CIRCA__STR(
        CIRCA_VERSION_PATCH);
}
