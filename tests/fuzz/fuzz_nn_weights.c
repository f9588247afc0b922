/* fuzz_nn_weights.c: libFuzzer target for the nn weight-file parser and the
 * Conv-TasNet loader (the .cnn model files `circa separate` reads): any
 * input must parse or fail with a status, never crash or touch memory out
 * of bounds. A model that loads and is small runs one forward pass, and a
 * causal one also streams, so a file that passes every check is usable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "circa/tasnet.h"
#include "reseal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parameters above which a loaded model is not run: keeps each input fast. */
#define RUN_MAX_PARAMS 100000

static void run_model(circa_tasnet *net) {
    const circa_tasnet_config *c = circa_tasnet_get_config(net);
    int S = c->L / 2, t = c->L + 6 * S;
    float *x = malloc((size_t)t * sizeof *x), *est = malloc((size_t)t * (size_t)c->C * sizeof *est);
    if (!x || !est) abort();
    for (int i = 0; i < t; i++) x[i] = (float)((i * 37) % 17 - 8) / 8;
    if (circa_tasnet_forward(net, 1, t, x, est) != CIRCA_OK) abort();
    circa_tasnet_stream *s;
    if (c->causal && circa_tasnet_stream_create(net, &s) == CIRCA_OK) {
        int nout;
        for (int h = 0; h + S <= t; h += S)
            if (circa_tasnet_stream_push(s, x + h, est, &nout) != CIRCA_OK) abort();
        if (circa_tasnet_stream_flush(s, est, &nout) != CIRCA_OK) abort();
        circa_tasnet_stream_free(s);
    }
    free(x);
    free(est);
}

/* Parses buf and, if it is a weight file, loads it as a model. */
static void try_file(const uint8_t *buf, size_t size) {
    circa_nn_weights *w;
    if (circa_nn_weights_parse(buf, size, &w) != CIRCA_OK) return;
    for (size_t i = 0; i < circa_nn_weights_count(w); i++)
        if (!circa_nn_weights_record(w, i)) abort();
    circa_tasnet *net;
    if (circa_tasnet_from_weights(w, 1, &net) == CIRCA_OK) {
        size_t np, total = 0;
        circa_nn_param *ps = circa_tasnet_params(net, &np);
        for (size_t i = 0; i < np; i++) total += ps[i].size;
        if (total <= RUN_MAX_PARAMS) run_model(net);
        circa_tasnet_free(net);
    }
    circa_nn_weights_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    try_file(data, size);
    fuzz_try_resealed(data, size, try_file);
    return 0;
}
