/* tasnet_kinks: how far Conv-TasNet's training gradients move when the
 * input moves by a rounding-sized amount (each sample times 1 + 2e-7 u, u
 * uniform in +-1), for random models as initialised (PReLU slopes 0.25) and
 * with every slope set to 1 (no kink). It is the CPU-side reference for the
 * GPU gradient checks (docs/nn.md, "Why two rows for training").
 *
 *   tasnet_kinks [-X BLOCKS] [-b BATCH] [-t SAMPLES] [-n MODELS]
 *
 * Prints, per model, both cases' relative L2 change over all gradients and
 * the worst tensor's max-norm relative change. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "circa/nn.h"
#include "circa/tasnet.h"

static uint64_t rng_state;
static float uniform_pm1(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) / 16777216.0) * 2 - 1;
}

static double max_rel(const float *a, const float *b, size_t n) {
    double m = 0, d = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(b[i]) > m) m = fabs(b[i]);
        if (fabs(a[i] - b[i]) > d) d = fabs(a[i] - b[i]);
    }
    return d / (m > 0 ? m : 1);
}

/* Every parameter's gradient for one forward and backward, into g[i]. */
static int gradients(circa_tasnet *net, int batch, int t, const float *mix, const float *dest, float *out,
                     float **g) {
    size_t np;
    circa_nn_param *ps = circa_tasnet_params(net, &np);
    if (circa_tasnet_forward(net, batch, t, mix, out) != CIRCA_OK) return -1;
    circa_nn_params_zero_grad(ps, np);
    if (circa_tasnet_backward(net, dest) != CIRCA_OK) return -1;
    for (size_t i = 0; i < np; i++) memcpy(g[i], ps[i].g, ps[i].size * sizeof(float));
    return 0;
}

/* One model, one slope setting (0: as initialised): prints the change. */
static int compare(int X, int batch, int t, int seed, float slope) {
    circa_tasnet_config c = circa_tasnet_config_default();
    c.X = X, c.R = 1, c.threads = 2;
    circa_tasnet *net;
    if (circa_tasnet_create(&c, 41 + (uint64_t)seed, &net) != CIRCA_OK) return -1;
    size_t np, ne = (size_t)batch * c.C * t, nm = (size_t)batch * t;
    circa_nn_param *ps = circa_tasnet_params(net, &np);
    if (slope > 0)
        for (size_t i = 0; i < np; i++)
            if (strstr(ps[i].name, "prelu"))
                for (size_t j = 0; j < ps[i].size; j++) ps[i].w[j] = slope;
    rng_state = 12345 + (uint64_t)seed;
    float *mix = malloc(nm * sizeof *mix), *moved = malloc(nm * sizeof *moved);
    float *dest = malloc(ne * sizeof *dest), *out = malloc(ne * sizeof *out);
    float **g = calloc(np, sizeof *g), **h = calloc(np, sizeof *h);
    int ok = mix && moved && dest && out && g && h;
    for (size_t i = 0; ok && i < np; i++)
        ok = (g[i] = malloc(ps[i].size * sizeof(float))) && (h[i] = malloc(ps[i].size * sizeof(float)));
    if (ok) {
        for (size_t i = 0; i < nm; i++) mix[i] = uniform_pm1(), moved[i] = mix[i] * (1 + 2e-7f * uniform_pm1());
        for (size_t i = 0; i < ne; i++) dest[i] = uniform_pm1();
        ok = gradients(net, batch, t, mix, dest, out, g) == 0 && gradients(net, batch, t, moved, dest, out, h) == 0;
    }
    if (ok) {
        double num = 0, den = 0, worst = 0;
        const char *worst_name = "";
        for (size_t i = 0; i < np; i++) {
            double e = max_rel(h[i], g[i], ps[i].size);
            if (e > worst) worst = e, worst_name = ps[i].name;
            for (size_t j = 0; j < ps[i].size; j++) {
                double d = (double)h[i][j] - g[i][j];
                num += d * d, den += (double)g[i][j] * g[i][j];
            }
        }
        printf("model %d, %s: gradients L2 %.3g, worst tensor %.3g (%s)\n", seed,
               slope > 0 ? "smooth (slopes 1)" : "as initialised", sqrt(num / (den > 0 ? den : 1)), worst,
               worst_name);
    }
    for (size_t i = 0; g && h && i < np; i++) free(g[i]), free(h[i]);
    free(g), free(h), free(mix), free(moved), free(dest), free(out);
    circa_tasnet_free(net);
    return ok ? 0 : -1;
}

int main(int argc, char **argv) {
    int X = 2, batch = 1, t = 16008, models = 4;
    for (int i = 1; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "-X")) X = v;
        else if (!strcmp(argv[i], "-b")) batch = v;
        else if (!strcmp(argv[i], "-t")) t = v;
        else if (!strcmp(argv[i], "-n")) models = v;
        else {
            fprintf(stderr, "usage: tasnet_kinks [-X BLOCKS] [-b BATCH] [-t SAMPLES] [-n MODELS]\n");
            return 1;
        }
    }
    printf("default widths, %d block(s), batch %d x %d samples; input moved by 2e-7 relative\n", X, batch, t);
    for (int m = 0; m < models; m++)
        if (compare(X, batch, t, m, 0) || compare(X, batch, t, m, 1)) {
            fprintf(stderr, "tasnet_kinks: model %d failed\n", m);
            return 2;
        }
    return 0;
}
