/*
 * matmul.c - the threaded driver of matrix products and the scalar kernel
 * table (the reference every SIMD table is tested against).
 */
#include "matmul.h"

#include <stdlib.h>
#include <string.h>

#include "quant.h"

/* ---- scalar kernels ---- */

static void scalar_dequant(uint32_t type, const uint8_t *row, size_t k0, size_t kc, float *out) {
    const ll_type_info *ti = ll_type_info_of(type);
    ll_dequantize_row_ref(type, row + k0 / ti->block * ti->block_bytes, out, kc);
}

static void scalar_matvec(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const float *x, float *y,
                          size_t r0, size_t r1) {
    float buf[LL_PANEL_K];
    for (size_t i = r0; i < r1; i++) {
        const uint8_t *row = w + i * row_bytes;
        float acc[8] = {0};
        for (size_t k0 = 0; k0 < n; k0 += LL_PANEL_K) {
            size_t kc = n - k0 < LL_PANEL_K ? n - k0 : LL_PANEL_K;
            scalar_dequant(type, row, k0, kc, buf);
            for (size_t k = 0; k < kc; k++) acc[k % 8] += buf[k] * x[k0 + k];
        }
        y[i] = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
    }
}

static void scalar_gemm(const float *panel, size_t kc, const float *b, size_t ldb, size_t T, float *c, size_t ldc,
                        int accumulate) {
    for (size_t t = 0; t < T; t++)
        for (size_t i = 0; i < LL_PANEL_ROWS; i++) {
            float s = accumulate ? c[t * ldc + i] : 0.0f;
            for (size_t k = 0; k < kc; k++) s += panel[k * LL_PANEL_ROWS + i] * b[t * ldb + k];
            c[t * ldc + i] = s;
        }
}

const ll_matmul_kernels ll_matmul_scalar = {"scalar", scalar_matvec, scalar_dequant, scalar_gemm};

/* ---- driver ---- */

size_t ll_matmul_scratch_floats(void) {
    /* the panel, one dequantized row chunk, and a C tile for partial rows */
    return LL_PANEL_ROWS * LL_PANEL_K + LL_PANEL_K + 64 * LL_PANEL_ROWS;
}

typedef struct {
    const ll_matmul_kernels *k;
    const ll_matrix *w;
    const float *x;
    size_t T;
    float *y;
    float *scratch;
    size_t scratch_stride;
} job;

/* Splits rows into n_parts ranges on multiples of `align` rows. */
static void part_range(size_t rows, size_t align, int part, int n_parts, size_t *r0, size_t *r1) {
    size_t units = (rows + align - 1) / align;
    size_t a = units * (size_t)part / (size_t)n_parts, b = units * (size_t)(part + 1) / (size_t)n_parts;
    *r0 = a * align;
    *r1 = b * align < rows ? b * align : rows;
}

static void matvec_part(void *ctx, int part, int n_parts) {
    job *j = ctx;
    size_t r0, r1;
    part_range(j->w->rows, 16, part, n_parts, &r0, &r1);
    if (r0 < r1) j->k->matvec(j->w->type, j->w->data, j->w->row_bytes, j->w->cols, j->x, j->y, r0, r1);
}

static void gemm_part(void *ctx, int part, int n_parts) {
    job *j = ctx;
    const ll_matrix *w = j->w;
    size_t r0, r1;
    part_range(w->rows, LL_PANEL_ROWS, part, n_parts, &r0, &r1);
    float *panel = j->scratch + (size_t)part * j->scratch_stride;
    float *rowbuf = panel + LL_PANEL_ROWS * LL_PANEL_K;
    float *tile = rowbuf + LL_PANEL_K;
    size_t n = w->cols, T = j->T;
    for (size_t i0 = r0; i0 < r1; i0 += LL_PANEL_ROWS) {
        size_t nr = r1 - i0 < LL_PANEL_ROWS ? r1 - i0 : LL_PANEL_ROWS;
        for (size_t k0 = 0; k0 < n; k0 += LL_PANEL_K) {
            size_t kc = n - k0 < LL_PANEL_K ? n - k0 : LL_PANEL_K;
            for (size_t i = 0; i < LL_PANEL_ROWS; i++) {
                if (i < nr) j->k->dequant(w->type, w->data + (i0 + i) * w->row_bytes, k0, kc, rowbuf);
                else memset(rowbuf, 0, kc * sizeof *rowbuf);
                for (size_t k = 0; k < kc; k++) panel[k * LL_PANEL_ROWS + i] = rowbuf[k];
            }
            if (nr == LL_PANEL_ROWS) {
                j->k->gemm(panel, kc, j->x + k0, n, T, j->y + i0, w->rows, k0 > 0);
            } else {
                /* partial panel: compute into a 32-wide tile, 64 tokens at a time */
                for (size_t t0 = 0; t0 < T; t0 += 64) {
                    size_t tn = T - t0 < 64 ? T - t0 : 64;
                    for (size_t t = 0; t < tn && k0 > 0; t++)
                        memcpy(tile + t * LL_PANEL_ROWS, j->y + (t0 + t) * w->rows + i0, nr * sizeof(float));
                    j->k->gemm(panel, kc, j->x + t0 * n + k0, n, tn, tile, LL_PANEL_ROWS, k0 > 0);
                    for (size_t t = 0; t < tn; t++)
                        memcpy(j->y + (t0 + t) * w->rows + i0, tile + t * LL_PANEL_ROWS, nr * sizeof(float));
                }
            }
        }
    }
}

void ll_matmul(ll_pool *pool, const ll_matmul_kernels *k, const ll_matrix *w, const float *x, size_t T, float *y,
               float *scratch) {
    job j = {k, w, x, T, y, scratch, ll_matmul_scratch_floats()};
    if (T == 1) {
        ll_pool_run(pool, matvec_part, &j);
        return;
    }
    ll_pool_run(pool, gemm_part, &j);
}

const ll_matmul_kernels *ll_matmul_best(void) {
    /* the same CPU test as the sampling kernels, so LOGITLAB_SIMD governs both */
    extern const char *ll_simd_level_name(void);
    const char *lvl = ll_simd_level_name();
#if defined(LL_HAVE_AVX512)
    if (strcmp(lvl, "avx512") == 0) return &ll_matmul_avx512;
#endif
#if defined(LL_HAVE_AVX2)
    if (strcmp(lvl, "avx2") == 0 || strcmp(lvl, "avx512") == 0) return &ll_matmul_avx2;
#endif
    (void)lvl;
    return &ll_matmul_scalar;
}
