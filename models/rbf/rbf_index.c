/* rbf_index.c: nearest kernel centres by a bucket grid, for the 4 kernels
 * each position uses and for the k-means assignment steps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rbf_internal.h"

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

circa_status circa_rbf__index_build(rbf_index *ix, const float *kc, uint32_t K, uint32_t w,
                                    uint32_t h) {
    memset(ix, 0, sizeof *ix);
    if (K == 0) return CIRCA_E_PARAM;
    /* About one centre per cell keeps a query to a few rings. */
    double cell = sqrt((double)w * h / K);
    if (cell < 1) cell = 1;
    ix->cell = (float)cell;
    ix->nx = (int)ceil(w / cell), ix->ny = (int)ceil(h / cell);
    if (ix->nx < 1) ix->nx = 1;
    if (ix->ny < 1) ix->ny = 1;
    size_t cells = (size_t)ix->nx * ix->ny;
    ix->start = calloc(cells + 1, sizeof *ix->start);
    ix->items = malloc(K * sizeof *ix->items);
    uint32_t *cellof = malloc(K * sizeof *cellof);
    if (!ix->start || !ix->items || !cellof) {
        free(cellof);
        circa_rbf__index_free(ix);
        return CIRCA_E_NOMEM;
    }
    for (uint32_t k = 0; k < K; k++) {
        int cx = clampi((int)floorf(kc[2 * k] / ix->cell), 0, ix->nx - 1);
        int cy = clampi((int)floorf(kc[2 * k + 1] / ix->cell), 0, ix->ny - 1);
        cellof[k] = (uint32_t)cy * (uint32_t)ix->nx + (uint32_t)cx;
        ix->start[cellof[k] + 1]++;
    }
    for (size_t c = 0; c < cells; c++) ix->start[c + 1] += ix->start[c];
    /* Counting sort keeps kernel order inside a cell: queries are deterministic. */
    uint32_t *fill = malloc(cells * sizeof *fill);
    if (!fill) {
        free(cellof);
        circa_rbf__index_free(ix);
        return CIRCA_E_NOMEM;
    }
    memcpy(fill, ix->start, cells * sizeof *fill);
    for (uint32_t k = 0; k < K; k++) ix->items[fill[cellof[k]]++] = k;
    free(fill);
    free(cellof);
    return CIRCA_OK;
}

void circa_rbf__index_free(rbf_index *ix) {
    free(ix->start);
    free(ix->items);
    memset(ix, 0, sizeof *ix);
}

/* Inserts (d, k) into the sorted best list of length *m (capacity n). */
static void keep_best(float d, uint32_t k, unsigned n, unsigned *m, float *bd, uint32_t *bk) {
    unsigned i = *m;
    if (i == n) {
        if (d > bd[n - 1] || (d == bd[n - 1] && k > bk[n - 1])) return;
        i = n - 1;
    } else {
        (*m)++;
    }
    while (i > 0 && (bd[i - 1] > d || (bd[i - 1] == d && bk[i - 1] > k))) {
        bd[i] = bd[i - 1], bk[i] = bk[i - 1];
        i--;
    }
    bd[i] = d, bk[i] = k;
}

static void scan_cell(const rbf_index *ix, const float *kc, int cx, int cy, float x, float y,
                      unsigned n, unsigned *m, float *bd, uint32_t *bk) {
    if (cx < 0 || cy < 0 || cx >= ix->nx || cy >= ix->ny) return;
    size_t c = (size_t)cy * ix->nx + cx;
    for (uint32_t i = ix->start[c]; i < ix->start[c + 1]; i++) {
        uint32_t k = ix->items[i];
        float dx = x - kc[2 * k], dy = y - kc[2 * k + 1];
        keep_best(dx * dx + dy * dy, k, n, m, bd, bk);
    }
}

void circa_rbf__index_query(const rbf_index *ix, const float *kc, float x, float y, unsigned n,
                            uint32_t *out) {
    float bd[RBF_NN];
    uint32_t bk[RBF_NN];
    unsigned m = 0;
    int cx = clampi((int)floorf(x / ix->cell), 0, ix->nx - 1);
    int cy = clampi((int)floorf(y / ix->cell), 0, ix->ny - 1);
    int rmax = ix->nx > ix->ny ? ix->nx : ix->ny;
    for (int r = 0; r <= rmax; r++) {
        if (r == 0) {
            scan_cell(ix, kc, cx, cy, x, y, n, &m, bd, bk);
        } else {
            for (int i = -r; i <= r; i++) {
                scan_cell(ix, kc, cx + i, cy - r, x, y, n, &m, bd, bk);
                scan_cell(ix, kc, cx + i, cy + r, x, y, n, &m, bd, bk);
            }
            for (int i = -r + 1; i <= r - 1; i++) {
                scan_cell(ix, kc, cx - r, cy + i, x, y, n, &m, bd, bk);
                scan_cell(ix, kc, cx + r, cy + i, x, y, n, &m, bd, bk);
            }
        }
        /* Every centre in ring r+1 or beyond is at least r cells away
         * (the query may sit anywhere inside its own cell). */
        float reach = (float)r * ix->cell;
        if (m == n && bd[n - 1] <= reach * reach) break;
    }
    for (unsigned i = 0; i < n; i++) out[i] = bk[i < m ? i : m - 1];
}
