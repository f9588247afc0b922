/* fft.c: the FFT plan cache: FFTW real-transform plans made once under a lock, keyed by size, precision and direction, executed from any thread. */
#include <fftw3.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include "circa/spectral.h"

/* A cached plan. FFTW's new-array execute needs arrays aligned like the ones
 * planned with, so `plan` is made on fftw_malloc buffers and `unaligned`
 * (FFTW_UNALIGNED) is made on demand for callers with other buffers. */
struct circa_fft {
    size_t n;
    circa_fft_precision precision;
    circa_fft_direction direction;
    void *plan;      /* fftw_plan or fftwf_plan */
    void *unaligned; /* same, FFTW_UNALIGNED; guarded by cache_lock */
    struct circa_fft *next;
};

/* The only global state of the room: FFTW's planner is not thread-safe, so
 * every planner call happens under this lock; execution needs no lock. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct circa_fft *cache_head;

/* Makes one FFTW plan on scratch buffers (so planning never touches caller
 * data); NULL when FFTW or malloc fails. Called with cache_lock held. */
static void *make_plan(size_t n, circa_fft_precision p, circa_fft_direction d, unsigned flags) {
    size_t reals = n, complexes = 2 * (n / 2 + 1);
    size_t in_len = d == CIRCA_FFT_FORWARD ? reals : complexes;
    size_t out_len = d == CIRCA_FFT_FORWARD ? complexes : reals;
    void *plan = NULL;
    if (n > INT32_MAX) return NULL;
    if (p == CIRCA_FFT_F64) {
        double *in = fftw_malloc(in_len * sizeof *in), *out = fftw_malloc(out_len * sizeof *out);
        if (in && out)
            plan = d == CIRCA_FFT_FORWARD
                       ? fftw_plan_dft_r2c_1d((int)n, in, (fftw_complex *)out, flags)
                       : fftw_plan_dft_c2r_1d((int)n, (fftw_complex *)in, out, flags);
        fftw_free(in);
        fftw_free(out);
    } else {
        float *in = fftwf_malloc(in_len * sizeof *in), *out = fftwf_malloc(out_len * sizeof *out);
        if (in && out)
            plan = d == CIRCA_FFT_FORWARD
                       ? fftwf_plan_dft_r2c_1d((int)n, in, (fftwf_complex *)out, flags)
                       : fftwf_plan_dft_c2r_1d((int)n, (fftwf_complex *)in, out, flags);
        fftwf_free(in);
        fftwf_free(out);
    }
    return plan;
}

/* ESTIMATE keeps first use cheap for the large sizes long IRs need; for
 * the power-of-two and 2^a3^b5^c sizes used here it picks good codelets. */
#define PLAN_FLAGS FFTW_ESTIMATE

static void destroy_plan(circa_fft_precision p, void *plan) {
    if (!plan) return;
    if (p == CIRCA_FFT_F64) fftw_destroy_plan(plan);
    else fftwf_destroy_plan(plan);
}

circa_status circa_fft_get(size_t n, circa_fft_precision precision,
                           circa_fft_direction direction, const circa_fft **out) {
    *out = NULL;
    if (n < 2 || n > INT32_MAX || (precision != CIRCA_FFT_F64 && precision != CIRCA_FFT_F32) ||
        (direction != CIRCA_FFT_FORWARD && direction != CIRCA_FFT_INVERSE))
        return CIRCA_E_PARAM;
    circa_status st = CIRCA_OK;
    pthread_mutex_lock(&cache_lock);
    struct circa_fft *e = cache_head;
    while (e && !(e->n == n && e->precision == precision && e->direction == direction)) e = e->next;
    if (!e) {
        e = calloc(1, sizeof *e);
        void *plan = e ? make_plan(n, precision, direction, PLAN_FLAGS) : NULL;
        if (plan) {
            *e = (struct circa_fft){n, precision, direction, plan, NULL, cache_head};
            cache_head = e;
        } else {
            free(e);
            e = NULL;
            st = CIRCA_E_NOMEM;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    *out = e;
    return st;
}

size_t circa_fft_size(const circa_fft *plan) { return plan ? plan->n : 0; }

/* The unaligned twin of a plan, made on first need; NULL if FFTW fails. */
static void *unaligned_plan(const circa_fft *cp) {
    struct circa_fft *e = (struct circa_fft *)cp;
    pthread_mutex_lock(&cache_lock);
    if (!e->unaligned)
        e->unaligned = make_plan(e->n, e->precision, e->direction, PLAN_FLAGS | FFTW_UNALIGNED);
    void *plan = e->unaligned;
    pthread_mutex_unlock(&cache_lock);
    return plan;
}

/* Picks the plan matching the buffers' alignment; NULL on mismatch or failure. */
static void *plan_for(const circa_fft *e, circa_fft_precision p, circa_fft_direction d,
                      int aligned) {
    if (!e || e->precision != p || e->direction != d) return NULL;
    return aligned ? e->plan : unaligned_plan(e);
}

circa_status circa_fft_forward(const circa_fft *plan, const double *in, double *out) {
    int aligned = fftw_alignment_of((double *)in) == 0 && fftw_alignment_of(out) == 0;
    void *p = plan_for(plan, CIRCA_FFT_F64, CIRCA_FFT_FORWARD, aligned);
    if (!p) return CIRCA_E_PARAM;
    /* r2c out of place keeps its input, so the cast drops no promise. */
    fftw_execute_dft_r2c(p, (double *)in, (fftw_complex *)out);
    return CIRCA_OK;
}

circa_status circa_fft_inverse(const circa_fft *plan, double *in, double *out) {
    int aligned = fftw_alignment_of(in) == 0 && fftw_alignment_of(out) == 0;
    void *p = plan_for(plan, CIRCA_FFT_F64, CIRCA_FFT_INVERSE, aligned);
    if (!p) return CIRCA_E_PARAM;
    fftw_execute_dft_c2r(p, (fftw_complex *)in, out);
    return CIRCA_OK;
}

circa_status circa_fftf_forward(const circa_fft *plan, const float *in, float *out) {
    int aligned = fftwf_alignment_of((float *)in) == 0 && fftwf_alignment_of(out) == 0;
    void *p = plan_for(plan, CIRCA_FFT_F32, CIRCA_FFT_FORWARD, aligned);
    if (!p) return CIRCA_E_PARAM;
    fftwf_execute_dft_r2c(p, (float *)in, (fftwf_complex *)out);
    return CIRCA_OK;
}

circa_status circa_fftf_inverse(const circa_fft *plan, float *in, float *out) {
    int aligned = fftwf_alignment_of(in) == 0 && fftwf_alignment_of(out) == 0;
    void *p = plan_for(plan, CIRCA_FFT_F32, CIRCA_FFT_INVERSE, aligned);
    if (!p) return CIRCA_E_PARAM;
    fftwf_execute_dft_c2r(p, (fftwf_complex *)in, out);
    return CIRCA_OK;
}

void *circa_fft_alloc(size_t bytes) { return fftw_malloc(bytes ? bytes : 1); }

void circa_fft_dealloc(void *p) {
    if (p) fftw_free(p);
}

size_t circa_fft_good_size(size_t n) {
    if (n < 2) return 2;
    for (size_t m = n; m >= n; m++) { /* stops on wrap-around */
        size_t r = m;
        while (r % 2 == 0) r /= 2;
        while (r % 3 == 0) r /= 3;
        while (r % 5 == 0) r /= 5;
        if (r == 1) return m;
    }
    return 0;
}

size_t circa_fft_cache_count(void) {
    size_t count = 0;
    pthread_mutex_lock(&cache_lock);
    for (struct circa_fft *e = cache_head; e; e = e->next) count++;
    pthread_mutex_unlock(&cache_lock);
    return count;
}

void circa_fft_cache_clear(void) {
    pthread_mutex_lock(&cache_lock);
    while (cache_head) {
        struct circa_fft *e = cache_head;
        cache_head = e->next;
        destroy_plan(e->precision, e->plan);
        destroy_plan(e->precision, e->unaligned);
        free(e);
    }
    pthread_mutex_unlock(&cache_lock);
}
