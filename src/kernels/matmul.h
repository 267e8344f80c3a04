/*
 * matmul.h - matrix products with weights stored in any supported GGUF
 * type (internal).
 *
 * Y[t][i] = sum_k W[i][k] * X[t][k]: W has `rows` rows of n values in its
 * storage type, X holds T activation vectors of n floats, Y is T x rows.
 *
 *  - one token (T == 1, generation): each row is dequantized in registers
 *    and multiplied straight into the activations (weights are streamed
 *    once from memory: this path is bandwidth-bound);
 *  - a batch (the prompt): 32 rows at a time are dequantized into a
 *    transposed panel (32 rows x 256 k, fits L1) and a register-blocked
 *    kernel computes 6 tokens x 32 rows per step, so the dequantization
 *    is paid once for all tokens.
 *
 * Activations stay float: results differ from llama.cpp (which rounds
 * activations to the weight's block format) by the amounts the synthetic
 * model's README documents for a dequantizing engine.
 */
#ifndef LL_MATMUL_H
#define LL_MATMUL_H

#include <stddef.h>
#include <stdint.h>

#include "threadpool.h"

#define LL_PANEL_ROWS 32
#define LL_PANEL_K 256

typedef struct ll_matmul_kernels {
    const char *name;
    /* y[i - r0] ... : y[i] = dot(row i, x) for i in [r0, r1) */
    void (*matvec)(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const float *x, float *y, size_t r0,
                   size_t r1);
    /* values [k0, k0 + kc) of row `row` (kc a multiple of the block) to float */
    void (*dequant)(uint32_t type, const uint8_t *row, size_t k0, size_t kc, float *out);
    /* C[t * ldc + i] (+)= sum_k panel[k * 32 + i] * B[t * ldb + k] for t < T, i < 32 */
    void (*gemm)(const float *panel, size_t kc, const float *b, size_t ldb, size_t T, float *c, size_t ldc,
                 int accumulate);
} ll_matmul_kernels;

extern const ll_matmul_kernels ll_matmul_scalar;
#if defined(LL_HAVE_AVX2)
extern const ll_matmul_kernels ll_matmul_avx2;
#endif
#if defined(LL_HAVE_AVX512)
extern const ll_matmul_kernels ll_matmul_avx512;
#endif
const ll_matmul_kernels *ll_matmul_best(void);

typedef struct {
    uint32_t type;
    const uint8_t *data;
    size_t rows, cols, row_bytes;
} ll_matrix;

/* Per-thread scratch for ll_matmul: ll_matmul_scratch_floats() floats per
 * thread. */
size_t ll_matmul_scratch_floats(void);

void ll_matmul(ll_pool *pool, const ll_matmul_kernels *k, const ll_matrix *w, const float *x, size_t T, float *y,
               float *scratch);

#endif /* LL_MATMUL_H */
