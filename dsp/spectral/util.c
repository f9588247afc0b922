/* util.c: small helpers of the spectral room: operator allocation, Kaiser's length formula, gcd and sinc. */
#include <math.h>
#include <stdlib.h>
#include "spectral_internal.h"

/* ---- operators ----------------------------------------------------------- */
/* Our operators are one allocation holding the circa_op, with the state
 * owned through free_state; destroy releases both. */
typedef struct spectral_op {
    circa_op op;
    void (*free_state)(void *state);
} spectral_op;

static void spectral_op_destroy(circa_op *op) {
    if (!op) return;
    spectral_op *s = (spectral_op *)op;
    if (s->free_state) s->free_state(op->state);
    free(s);
}

circa_status spectral__op_new(const char *name, uint32_t in_rate, uint32_t out_rate,
                              uint32_t channels, spectral__process_fn process,
                              void (*free_state)(void *state), void *state, circa_op **out) {
    spectral_op *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s) {
        free_state(state);
        return CIRCA_E_NOMEM;
    }
    s->op = (circa_op){name, in_rate, out_rate, channels, channels, process, spectral_op_destroy,
                       state};
    s->free_state = free_state;
    *out = &s->op;
    return CIRCA_OK;
}

/* ---- Kaiser design formula ---------------------------------------------- */
/* (The window and beta come from circa/special.h.) */
double spectral__kaiser_taps(double atten_db, double width) {
    double n = (atten_db - 7.95) / (2.285 * 2 * SPECTRAL_PI * width) + 1;
    return n < 1 ? 1 : n;
}

/* ---- small maths --------------------------------------------------------- */
uint64_t spectral__gcd(uint64_t a, uint64_t b) {
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

double spectral__sinc(double x) {
    if (fabs(x) < 1e-300) return 1;
    return sin(SPECTRAL_PI * x) / (SPECTRAL_PI * x);
}
