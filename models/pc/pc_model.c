/* pc_model.c: the circuit object: construction from a tree, derived coder
 * tables, accessors, and the versioned, checksummed model file (docs/pc.md). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* madvise */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "../../codecs/common/le_bytes.h"
#include "pc_internal.h"

#define PC_MAGIC "CIPC"
#define PC_VERSION 1
#define PC_HEADER 28
#define PC_RECIPE_MAX 4096

int circa_pc__shape_ok(uint64_t D, uint64_t K, uint64_t M) {
    return D >= 1 && D <= PC_MAX_VARS && K >= 2 && K <= 256 && M >= 1 && M <= PC_MAX_HIDDEN;
}

void circa_pc_free(circa_pc *pc) {
    if (!pc) return;
    free(pc->parent);
    free(pc->order);
    free(pc->child_start);
    free(pc->child_list);
    free(pc->inner);
    free(pc->inner_var);
    free(pc->theta);
    free(pc->inputs);
    free(pc->theta_d);
    free(pc->theta_dt);
    free(pc->cdf);
    free(pc->recipe);
    free(pc);
}

/* Children in CSR form, ascending index; 0 when parent[] has one root and
 * every parent index is in range, -1 otherwise. */
static int build_children(circa_pc *pc) {
    uint32_t D = pc->D, roots = 0;
    memset(pc->child_start, 0, (D + 1) * sizeof *pc->child_start);
    for (uint32_t v = 0; v < D; v++) {
        uint32_t p = pc->parent[v];
        if (p == PC_NONE) {
            pc->root = v;
            roots++;
        } else if (p >= D || p == v) {
            return -1;
        } else {
            pc->child_start[p + 1]++;
        }
    }
    if (roots != 1) return -1;
    for (uint32_t v = 0; v < D; v++) pc->child_start[v + 1] += pc->child_start[v];
    uint32_t *fill = malloc((D + 1) * sizeof *fill);
    if (!fill) return -2;
    memcpy(fill, pc->child_start, (D + 1) * sizeof *fill);
    for (uint32_t v = 0; v < D; v++)
        if (pc->parent[v] != PC_NONE) pc->child_list[fill[pc->parent[v]]++] = v;
    free(fill);
    return 0;
}

/* Preorder from the root with an explicit stack; -1 when it does not reach
 * every node (a cycle hides them), which makes parent[] not a tree. */
static int build_order(circa_pc *pc) {
    uint32_t D = pc->D, n = 0, top = 0;
    uint32_t *stack = malloc(D * sizeof *stack);
    if (!stack) return -2;
    stack[top++] = pc->root;
    pc->depth = 0;
    uint32_t *depth = pc->inner_var; /* scratch, D >= I entries, rebuilt below */
    depth[pc->root] = 0;
    while (top > 0 && n < D) {
        uint32_t u = stack[--top];
        pc->order[n++] = u;
        for (uint32_t i = pc->child_start[u + 1]; i > pc->child_start[u]; i--) {
            uint32_t c = pc->child_list[i - 1];
            depth[c] = depth[u] + 1;
            if (depth[c] > pc->depth) pc->depth = depth[c];
            stack[top++] = c;
        }
    }
    free(stack);
    return n == D && top == 0 ? 0 : -1;
}

static void number_inner(circa_pc *pc) {
    pc->I = 0;
    for (uint32_t i = 0; i < pc->D; i++) {
        uint32_t v = pc->order[i];
        int inner = v == pc->root || pc->child_start[v + 1] > pc->child_start[v];
        pc->inner[v] = inner ? (int32_t)pc->I++ : -1;
    }
    for (uint32_t v = 0; v < pc->D; v++)
        if (pc->inner[v] >= 0) pc->inner_var[pc->inner[v]] = v;
}

circa_status circa_pc__create(uint32_t D, uint32_t K, uint32_t M, const uint32_t *parent,
                              circa_pc **out) {
    *out = NULL;
    if (!circa_pc__shape_ok(D, K, M)) return CIRCA_E_PARAM;
    circa_pc *pc = calloc(1, sizeof *pc);
    if (!pc) return CIRCA_E_NOMEM;
    pc->D = D, pc->K = K, pc->M = M;
    pc->parent = malloc(D * sizeof *pc->parent);
    pc->order = malloc(D * sizeof *pc->order);
    pc->child_start = malloc((D + 1) * sizeof *pc->child_start);
    pc->child_list = malloc((D > 1 ? D - 1 : 1) * sizeof *pc->child_list);
    pc->inner = malloc(D * sizeof *pc->inner);
    pc->inner_var = malloc(D * sizeof *pc->inner_var);
    pc->recipe = calloc(1, 1);
    if (!pc->parent || !pc->order || !pc->child_start || !pc->child_list || !pc->inner ||
        !pc->inner_var || !pc->recipe) {
        circa_pc_free(pc);
        return CIRCA_E_NOMEM;
    }
    memcpy(pc->parent, parent, D * sizeof *parent);
    int r = build_children(pc);
    if (r == 0) r = build_order(pc);
    if (r != 0) {
        circa_pc_free(pc);
        return r == -2 ? CIRCA_E_NOMEM : CIRCA_E_FORMAT;
    }
    number_inner(pc);
    pc->theta = malloc((size_t)pc->I * M * M * sizeof *pc->theta);
    pc->inputs = malloc((size_t)D * K * M * sizeof *pc->inputs);
    if (!pc->theta || !pc->inputs) {
        circa_pc_free(pc);
        return CIRCA_E_NOMEM;
    }
    /* The root's unused rows stay uniform so every block is a valid table. */
    for (size_t i = 0; i < (size_t)pc->I * M * M; i++) pc->theta[i] = 1.0f / (float)M;
    *out = pc;
    return CIRCA_OK;
}

circa_status circa_pc__set_recipe(circa_pc *pc, const char *text) {
    size_t n = strlen(text);
    if (n > PC_RECIPE_MAX) n = PC_RECIPE_MAX;
    char *r = malloc(n + 1);
    if (!r) return CIRCA_E_NOMEM;
    memcpy(r, text, n);
    r[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i] == '\n' || r[i] == '\r') r[i] = ' '; /* one line */
    free(pc->recipe);
    pc->recipe = r;
    return CIRCA_OK;
}

/* ---- coder tables -------------------------------------------------------- */
/* Rows are renormalised in double with a fixed summation order, so the coder
 * sees exact, reproducible tables whatever rounding the float file carries. */
static void build_coder_tables(circa_pc *pc, double *td, double *tdt, double *cdf) {
    uint32_t M = pc->M, K = pc->K;
    for (uint32_t t = 0; t < pc->I; t++) {
        const float *th = pc->theta + (size_t)t * M * M;
        double *d = td + (size_t)t * M * M, *dt = tdt + (size_t)t * M * M;
        for (uint32_t j = 0; j < M; j++) {
            double s = 0;
            for (uint32_t k = 0; k < M; k++) s += th[j * M + k];
            for (uint32_t k = 0; k < M; k++) {
                d[j * M + k] = th[j * M + k] / s;
                dt[k * M + j] = d[j * M + k];
            }
        }
    }
    for (uint32_t v = 0; v < pc->D; v++) {
        const float *in = pc->inputs + (size_t)v * K * M;
        double *c = cdf + (size_t)v * (K + 1) * M;
        for (uint32_t m = 0; m < M; m++) {
            double s = 0;
            for (uint32_t x = 0; x < K; x++) s += in[x * M + m];
            c[m] = 0;
            for (uint32_t x = 0; x < K; x++) c[(x + 1) * M + m] = c[x * M + m] + in[x * M + m] / s;
        }
    }
}

/* The coder reads a few rows of this table per variable, scattered over tens
 * of MiB: on 2 MiB pages (where the system allows them) those reads do not
 * also miss the TLB. Falls back to malloc; NULL when memory runs out. */
static double *alloc_table(size_t count) {
    size_t bytes = count * sizeof(double), huge = (size_t)2 << 20;
    void *p = NULL;
    if (bytes >= huge) {
        if (posix_memalign(&p, huge, (bytes + huge - 1) / huge * huge) != 0) p = NULL;
#ifdef MADV_HUGEPAGE
        if (p) madvise(p, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE);
#endif
    }
    return p ? p : malloc(bytes);
}

circa_status circa_pc__finish(circa_pc *pc) {
    size_t tsz = (size_t)pc->I * pc->M * pc->M;
    size_t csz = (size_t)pc->D * (pc->K + 1) * pc->M;
    double *td = alloc_table(tsz), *tdt = alloc_table(tsz);
    double *cdf = alloc_table(csz);
    uint8_t *file = NULL;
    size_t n = 0;
    if (!td || !tdt || !cdf) goto nomem;
    build_coder_tables(pc, td, tdt, cdf);
    free(pc->theta_d);
    free(pc->theta_dt);
    free(pc->cdf);
    pc->theta_d = td, pc->theta_dt = tdt, pc->cdf = cdf;
    circa_status st = circa_pc_save(pc, &file, &n);
    if (st != CIRCA_OK) return st;
    pc->id = (uint32_t)file[n - 4] | (uint32_t)file[n - 3] << 8 | (uint32_t)file[n - 2] << 16 |
             (uint32_t)file[n - 1] << 24;
    free(file);
    return CIRCA_OK;
nomem:
    free(td);
    free(tdt);
    free(cdf);
    return CIRCA_E_NOMEM;
}

/* ---- accessors ------------------------------------------------------------ */
size_t circa_pc_num_vars(const circa_pc *pc) { return pc->D; }
unsigned circa_pc_num_categories(const circa_pc *pc) { return pc->K; }
unsigned circa_pc_num_hidden(const circa_pc *pc) { return pc->M; }
uint32_t circa_pc_id(const circa_pc *pc) { return pc->id; }
const char *circa_pc_recipe(const circa_pc *pc) { return pc->recipe; }
unsigned circa_pc_depth(const circa_pc *pc) { return pc->depth; }
const uint32_t *circa_pc_order(const circa_pc *pc) { return pc->order; }

uint64_t circa_pc_num_params(const circa_pc *pc) {
    uint64_t D = pc->D, K = pc->K, M = pc->M, I = pc->I;
    return D * M * (K - 1) + (I - 1) * M * (M - 1) + (M - 1);
}

/* ---- the model file ------------------------------------------------------- */
/* Total file size for a shape, or 0 when it would not fit in size_t. */
static size_t file_size(uint64_t D, uint64_t K, uint64_t M, uint64_t I, uint64_t recipe) {
    uint64_t floats = M + (I - 1) * M * M + D * M * K;
    uint64_t total = PC_HEADER + recipe + 4 * D + 4 * floats + 4;
    return total > (uint64_t)SIZE_MAX / 2 ? 0 : (size_t)total;
}

circa_status circa_pc_save(const circa_pc *pc, uint8_t **buf, size_t *n) {
    uint32_t D = pc->D, K = pc->K, M = pc->M;
    size_t rl = strlen(pc->recipe);
    size_t total = file_size(D, K, M, pc->I, rl);
    uint8_t *f = total ? malloc(total) : NULL;
    *buf = NULL, *n = 0;
    if (!f) return CIRCA_E_NOMEM;
    memcpy(f, PC_MAGIC, 4);
    f[4] = PC_VERSION, f[5] = 0, f[6] = 0, f[7] = 0;
    circa__put32(f + 8, D), circa__put32(f + 12, K), circa__put32(f + 16, M), circa__put32(f + 20, pc->root);
    circa__put32(f + 24, (uint32_t)rl);
    memcpy(f + PC_HEADER, pc->recipe, rl);
    uint8_t *p = f + PC_HEADER + rl;
    for (uint32_t v = 0; v < D; v++, p += 4) circa__put32(p, pc->parent[v]);
    const float *root = pc->theta + (size_t)pc->inner[pc->root] * M * M;
    for (uint32_t k = 0; k < M; k++, p += 4) circa__put_f32(p, root[k]);
    for (uint32_t v = 0; v < D; v++) {
        if (pc->inner[v] < 0 || v == pc->root) continue;
        const float *th = pc->theta + (size_t)pc->inner[v] * M * M;
        for (size_t i = 0; i < (size_t)M * M; i++, p += 4) circa__put_f32(p, th[i]);
    }
    for (uint32_t v = 0; v < D; v++) {
        const float *in = pc->inputs + (size_t)v * K * M;
        for (uint32_t m = 0; m < M; m++)
            for (uint32_t x = 0; x < K; x++, p += 4) circa__put_f32(p, in[x * M + m]);
    }
    circa__put32(p, (uint32_t)crc32_z(0, f, total - 4));
    *buf = f, *n = total;
    return CIRCA_OK;
}

/* A row of probabilities is valid when every entry is finite, in (0, 1], and
 * they sum to 1 within float rounding. */
static int row_ok(const uint8_t *p, uint32_t count, size_t stride) {
    double s = 0;
    for (uint32_t i = 0; i < count; i++) {
        float f = circa__get_f32(p + i * stride);
        if (!(f > 0.0f && f <= 1.0f)) return 0;
        s += f;
    }
    return fabs(s - 1.0) <= 1e-3;
}

/* Reads the parameters at p into pc (already shaped); 0 or -1 when invalid. */
static int read_params(circa_pc *pc, const uint8_t *p) {
    uint32_t D = pc->D, K = pc->K, M = pc->M;
    float *root = pc->theta + (size_t)pc->inner[pc->root] * M * M;
    if (!row_ok(p, M, 4)) return -1;
    for (uint32_t k = 0; k < M; k++, p += 4) root[k] = circa__get_f32(p);
    for (uint32_t v = 0; v < D; v++) {
        if (pc->inner[v] < 0 || v == pc->root) continue;
        float *th = pc->theta + (size_t)pc->inner[v] * M * M;
        for (uint32_t j = 0; j < M; j++) {
            if (!row_ok(p, M, 4)) return -1;
            for (uint32_t k = 0; k < M; k++, p += 4) th[j * M + k] = circa__get_f32(p);
        }
    }
    for (uint32_t v = 0; v < D; v++) {
        float *in = pc->inputs + (size_t)v * K * M;
        for (uint32_t m = 0; m < M; m++) {
            if (!row_ok(p, K, 4)) return -1;
            for (uint32_t x = 0; x < K; x++, p += 4) in[x * M + m] = circa__get_f32(p);
        }
    }
    return 0;
}

circa_status circa_pc_load(const void *buf, size_t n, circa_pc **out) {
    const uint8_t *f = buf;
    *out = NULL;
    if (n < 4) return CIRCA_E_TRUNCATED;
    if (memcmp(f, PC_MAGIC, 4) != 0) return CIRCA_E_FORMAT;
    if (n < PC_HEADER) return CIRCA_E_TRUNCATED;
    if (f[4] != PC_VERSION || f[5] != 0) return CIRCA_E_VERSION;
    if (f[6] != 0 || f[7] != 0) return CIRCA_E_FORMAT; /* no flags are defined */
    uint32_t D = circa__get32(f + 8), K = circa__get32(f + 12), M = circa__get32(f + 16), root = circa__get32(f + 20);
    uint32_t rl = circa__get32(f + 24);
    if (!circa_pc__shape_ok(D, K, M) || root >= D || rl > PC_RECIPE_MAX) return CIRCA_E_FORMAT;
    /* The inner count is only known after parsing the tree; bound the size
     * from below (I >= 1) first, so a short buffer is never over-read. */
    size_t min_size = file_size(D, K, M, 1, rl);
    if (!min_size) return CIRCA_E_LIMIT;
    if (n < min_size) return CIRCA_E_TRUNCATED;
    const uint8_t *parents = f + PC_HEADER + rl;
    uint32_t inner = 0;
    /* Count distinct parents (inner nodes other than the root) to size the file. */
    uint8_t *is_parent = calloc(D, 1);
    if (!is_parent) return CIRCA_E_NOMEM;
    for (uint32_t v = 0; v < D; v++) {
        uint32_t p = circa__get32(parents + 4 * (size_t)v);
        if (p < D) is_parent[p] = 1; /* out-of-range ones fail in __create */
    }
    is_parent[root] = 1;
    for (uint32_t v = 0; v < D; v++) inner += is_parent[v];
    free(is_parent);
    size_t want = file_size(D, K, M, inner, rl);
    if (!want) return CIRCA_E_LIMIT;
    if (n < want) return CIRCA_E_TRUNCATED;
    if (n > want) return CIRCA_E_FORMAT;
    if (circa__get32(f + n - 4) != (uint32_t)crc32_z(0, f, n - 4)) return CIRCA_E_CHECKSUM;
    uint32_t *parent = malloc(D * sizeof *parent);
    if (!parent) return CIRCA_E_NOMEM;
    for (uint32_t v = 0; v < D; v++) parent[v] = circa__get32(parents + 4 * (size_t)v);
    circa_pc *pc;
    circa_status st = circa_pc__create(D, K, M, parent, &pc);
    free(parent);
    if (st != CIRCA_OK) return st == CIRCA_E_PARAM ? CIRCA_E_FORMAT : st;
    if (pc->root != root || pc->I != inner || read_params(pc, parents + 4 * (size_t)D) != 0) {
        circa_pc_free(pc);
        return CIRCA_E_FORMAT;
    }
    char *r = malloc((size_t)rl + 1);
    if (!r) {
        circa_pc_free(pc);
        return CIRCA_E_NOMEM;
    }
    memcpy(r, f + PC_HEADER, rl);
    r[rl] = 0;
    free(pc->recipe);
    pc->recipe = r;
    st = circa_pc__finish(pc);
    if (st != CIRCA_OK) {
        circa_pc_free(pc);
        return st;
    }
    *out = pc;
    return CIRCA_OK;
}

circa_status circa_pc_load_file(const char *path, circa_pc **out) {
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return CIRCA_E_IO;
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, fp);
        if (n < cap) break;
        uint8_t *b = realloc(buf, cap * 2);
        if (!b) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b, cap *= 2;
    }
    int err = ferror(fp);
    fclose(fp);
    if (!buf) return CIRCA_E_NOMEM;
    circa_status st = err ? CIRCA_E_IO : circa_pc_load(buf, n, out);
    free(buf);
    return st;
}

circa_status circa_pc_save_file(const circa_pc *pc, const char *path) {
    uint8_t *buf;
    size_t n;
    circa_status st = circa_pc_save(pc, &buf, &n);
    if (st != CIRCA_OK) return st;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        free(buf);
        return CIRCA_E_NOMEM;
    }
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd >= 0) { /* mkstemp makes 0600; a model is an ordinary file */
        mode_t mask = umask(0);
        umask(mask);
        fchmod(fd, 0666 & ~mask);
    }
    FILE *fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
    int ok = fp && fwrite(buf, 1, n, fp) == n;
    if (fp) ok = (fclose(fp) == 0) && ok;
    else if (fd >= 0) close(fd);
    if (ok) ok = rename(tmp, path) == 0;
    if (!ok && fd >= 0) unlink(tmp);
    free(tmp);
    free(buf);
    return ok ? CIRCA_OK : CIRCA_E_IO;
}

/* ---- random circuits for tests ------------------------------------------- */
static void random_rows(float *p, uint32_t rows, uint32_t cols, size_t row_stride,
                        size_t col_stride, uint64_t *s) {
    for (uint32_t r = 0; r < rows; r++) {
        double sum = 0;
        for (uint32_t c = 0; c < cols; c++) {
            double u = circa_pc__uniform(s);
            float w = (float)(0.02 + u * u * u);
            p[r * row_stride + c * col_stride] = w;
            sum += w;
        }
        for (uint32_t c = 0; c < cols; c++) p[r * row_stride + c * col_stride] /= (float)sum;
    }
}

circa_status circa_pc__random(uint32_t D, uint32_t K, uint32_t M, uint64_t seed, circa_pc **out) {
    *out = NULL;
    if (!circa_pc__shape_ok(D, K, M)) return CIRCA_E_PARAM;
    uint32_t *parent = malloc(D * sizeof *parent);
    uint32_t *perm = malloc(D * sizeof *perm);
    if (!parent || !perm) {
        free(parent);
        free(perm);
        return CIRCA_E_NOMEM;
    }
    uint64_t s = seed;
    /* A random permutation, each node attached to a random earlier one. */
    for (uint32_t i = 0; i < D; i++) perm[i] = i;
    for (uint32_t i = D; i > 1; i--) {
        uint32_t j = (uint32_t)(circa_pc__rand(&s) % i), t = perm[i - 1];
        perm[i - 1] = perm[j], perm[j] = t;
    }
    parent[perm[0]] = PC_NONE;
    for (uint32_t i = 1; i < D; i++) parent[perm[i]] = perm[circa_pc__rand(&s) % i];
    circa_pc *pc;
    circa_status st = circa_pc__create(D, K, M, parent, &pc);
    free(parent);
    free(perm);
    if (st != CIRCA_OK) return st;
    for (uint32_t t = 0; t < pc->I; t++)
        random_rows(pc->theta + (size_t)t * M * M, pc->inner_var[t] == pc->root ? 1 : M, M, M, 1, &s);
    for (uint32_t v = 0; v < D; v++) random_rows(pc->inputs + (size_t)v * K * M, M, K, 1, M, &s);
    st = circa_pc__finish(pc);
    if (st != CIRCA_OK) {
        circa_pc_free(pc);
        return st;
    }
    *out = pc;
    return CIRCA_OK;
}
