/* pc_struct.c: HCLT structure learning: pairwise mutual information on
 * coarsened values, a maximum spanning tree (Prim), rooted at its centre. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "pc_internal.h"

#define MI_PSEUDOCOUNT 0.1 /* spread over the levels^2 cells of each pair */

typedef struct mi_job {
    const uint8_t *xs; /* D x N coarsened values, variable-major */
    uint32_t D, N, L;
    const double *logc; /* logc[c] = log(c + pseudo / L^2), c = 0..N */
    const double *h;    /* marginal entropies */
    double *mi;         /* D x D */
    uint32_t first, step;
} mi_job;

/* Mutual information of rows u = first, first+step, ... against every v > u:
 * MI = H(u) + H(v) - H(u,v) with the pseudocount smoothed joint. Spreading
 * the pseudocount evenly keeps the marginals pair-independent, so only the
 * joint entropy needs the pair's histogram. */
static void *mi_rows(void *arg) {
    mi_job *j = arg;
    uint32_t L = j->L, N = j->N, cells = L * L;
    double total = N + MI_PSEUDOCOUNT, ltot = log(total);
    uint32_t *hist = malloc(cells * sizeof *hist);
    if (!hist) return NULL; /* the caller sees the NaN it pre-filled */
    for (uint32_t u = j->first; u < j->D; u += j->step) {
        const uint8_t *xu = j->xs + (size_t)u * N;
        for (uint32_t v = u + 1; v < j->D; v++) {
            const uint8_t *xv = j->xs + (size_t)v * N;
            memset(hist, 0, cells * sizeof *hist);
            for (uint32_t n = 0; n < N; n++) hist[xu[n] * L + xv[n]]++;
            double hj = 0;
            for (uint32_t c = 0; c < cells; c++) hj -= (hist[c] + MI_PSEUDOCOUNT / cells) * (j->logc[hist[c]] - ltot);
            hj /= total;
            double mi = j->h[u] + j->h[v] - hj;
            j->mi[(size_t)u * j->D + v] = j->mi[(size_t)v * j->D + u] = mi;
        }
    }
    free(hist);
    return NULL;
}

/* Fills mi (D x D) for the first N records; -1 on allocation failure. */
static int mutual_information(const uint8_t *rec, uint32_t D, uint32_t N, uint32_t K,
                              uint32_t L, unsigned threads, double *mi) {
    unsigned shift = 0;
    while ((K - 1) >> shift >= L) shift++; /* values -> L levels */
    uint8_t *xs = malloc((size_t)D * N);
    double *logc = malloc((N + 1) * sizeof *logc), *h = malloc(D * sizeof *h);
    uint32_t *cnt = calloc(L, sizeof *cnt);
    if (!xs || !logc || !h || !cnt) {
        free(xs), free(logc), free(h), free(cnt);
        return -1;
    }
    for (uint32_t n = 0; n < N; n++)
        for (uint32_t v = 0; v < D; v++) xs[(size_t)v * N + n] = rec[(size_t)n * D + v] >> shift;
    for (uint32_t c = 0; c <= N; c++) logc[c] = log(c + MI_PSEUDOCOUNT / ((double)L * L));
    double total = N + MI_PSEUDOCOUNT;
    for (uint32_t v = 0; v < D; v++) {
        memset(cnt, 0, L * sizeof *cnt);
        for (uint32_t n = 0; n < N; n++) cnt[xs[(size_t)v * N + n]]++;
        h[v] = 0;
        for (uint32_t a = 0; a < L; a++) {
            double p = (cnt[a] + MI_PSEUDOCOUNT / L) / total;
            h[v] -= p * log(p);
        }
    }
    for (size_t i = 0; i < (size_t)D * D; i++) mi[i] = 0;
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    pthread_t tid[64];
    mi_job jobs[64];
    int created[64] = {0};
    for (unsigned t = 0; t < threads; t++) {
        jobs[t] = (mi_job){xs, D, N, L, logc, h, mi, t, threads};
        if (t > 0) created[t] = pthread_create(&tid[t], NULL, mi_rows, &jobs[t]) == 0;
    }
    mi_rows(&jobs[0]);
    for (unsigned t = 1; t < threads; t++) {
        if (created[t]) pthread_join(tid[t], NULL);
        else mi_rows(&jobs[t]); /* no thread could start: do its rows here */
    }
    free(xs), free(logc), free(h), free(cnt);
    return 0;
}

/* Prim's maximum spanning tree over the dense MI matrix, as parent links
 * from node 0 (ties go to the lower index, so the tree is deterministic). */
static int max_spanning_tree(const double *mi, uint32_t D, uint32_t *link) {
    double *best = malloc(D * sizeof *best);
    uint8_t *in = calloc(D, 1);
    if (!best || !in) {
        free(best), free(in);
        return -1;
    }
    for (uint32_t v = 0; v < D; v++) best[v] = -INFINITY, link[v] = PC_NONE;
    uint32_t u = 0;
    in[0] = 1;
    for (uint32_t step = 1; step < D; step++) {
        for (uint32_t v = 0; v < D; v++)
            if (!in[v] && mi[(size_t)u * D + v] > best[v]) best[v] = mi[(size_t)u * D + v], link[v] = u;
        uint32_t pick = PC_NONE;
        for (uint32_t v = 0; v < D; v++)
            if (!in[v] && (pick == PC_NONE || best[v] > best[pick])) pick = v;
        in[pick] = 1;
        u = pick;
    }
    free(best), free(in);
    return 0;
}

/* Breadth-first search over the undirected tree (adjacency in CSR form):
 * dist[] and from[] (the BFS parent); returns the farthest node. */
static uint32_t bfs(const uint32_t *adj_start, const uint32_t *adj, uint32_t D, uint32_t src,
                    uint32_t *dist, uint32_t *from, uint32_t *queue) {
    for (uint32_t v = 0; v < D; v++) dist[v] = PC_NONE;
    uint32_t head = 0, tail = 0, far = src;
    dist[src] = 0, from[src] = PC_NONE, queue[tail++] = src;
    while (head < tail) {
        uint32_t u = queue[head++];
        if (dist[u] > dist[far]) far = u;
        for (uint32_t i = adj_start[u]; i < adj_start[u + 1]; i++) {
            uint32_t w = adj[i];
            if (dist[w] != PC_NONE) continue;
            dist[w] = dist[u] + 1, from[w] = u, queue[tail++] = w;
        }
    }
    return far;
}

/* Re-roots the tree given by link[] (node 0 the root) at its centre, the
 * middle of a longest path, which minimises the height; writes parent[]. */
static int root_at_centre(const uint32_t *link, uint32_t D, uint32_t *parent) {
    uint32_t *start = calloc(D + 1, sizeof *start), *adj = malloc(2 * D * sizeof *adj);
    uint32_t *dist = malloc(D * sizeof *dist), *queue = malloc(D * sizeof *queue);
    uint32_t *fill = malloc((D + 1) * sizeof *fill);
    int ok = start && adj && dist && queue && fill;
    if (ok) {
        for (uint32_t v = 0; v < D; v++)
            if (link[v] != PC_NONE) start[v + 1]++, start[link[v] + 1]++;
        for (uint32_t v = 0; v < D; v++) start[v + 1] += start[v];
        memcpy(fill, start, (D + 1) * sizeof *fill);
        for (uint32_t v = 0; v < D; v++)
            if (link[v] != PC_NONE) adj[fill[v]++] = link[v], adj[fill[link[v]]++] = v;
        uint32_t a = bfs(start, adj, D, 0, dist, parent, queue);
        uint32_t b = bfs(start, adj, D, a, dist, parent, queue);
        uint32_t c = b;
        for (uint32_t steps = dist[b] / 2; steps > 0; steps--) c = parent[c];
        bfs(start, adj, D, c, dist, parent, queue);
    }
    free(start), free(adj), free(dist), free(queue), free(fill);
    return ok ? 0 : -1;
}

circa_status circa_pc__learn_tree(const uint8_t *records, size_t n, uint32_t D, uint32_t K,
                                  unsigned samples, unsigned levels, unsigned threads,
                                  uint32_t *parent) {
    uint32_t N = (uint32_t)(n < samples ? n : samples);
    if (N == 0) N = (uint32_t)(n < 5000 ? n : 5000);
    uint32_t L = levels;
    if (L < 2 || L > K) L = K < 16 ? K : 16;
    double *mi = malloc((size_t)D * D * sizeof *mi);
    uint32_t *link = malloc(D * sizeof *link);
    int ok = mi && link && mutual_information(records, D, N, K, L, threads, mi) == 0 &&
             max_spanning_tree(mi, D, link) == 0 && root_at_centre(link, D, parent) == 0;
    free(mi), free(link);
    return ok ? CIRCA_OK : CIRCA_E_NOMEM;
}
