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
 *  - a batch (the prompt) with quantized weights: an integer GEMM (the
 *    layout below: activations quantized once, each row panel unpacked
 *    once for all tokens, 4 rows x 4 tokens per kernel call);
 *  - a batch with float weights (F32, F16, BF16), or where a table has no
 *    integer GEMM: 32 rows at a time are dequantized into a transposed
 *    panel (32 rows x 256 k, fits L1) and a register-blocked kernel
 *    computes 6 tokens x 32 rows per step.
 *
 * For one token with Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and K-quant weights the
 * activation vector is first rounded to int8 blocks (ll_qvec, once per
 * product, before the rows are split between threads) and each row is an
 * integer dot product combined with the float block scales, as llama.cpp
 * does: the weights are never widened to float, which is what made this
 * path compute-bound. For Q4_1,
 * Q5_0 and Q5_1 every table adds the products up in the same order and
 * gives the same bits (matmul.c, dot_q32).
 */
#ifndef LL_MATMUL_H
#define LL_MATMUL_H

#include <stddef.h>
#include <stdint.h>

#include "threadpool.h"

#define LL_PANEL_ROWS 32
#define LL_PANEL_K 256

/*
 * An activation vector of n values quantized for integer dot products:
 *  - LL_QX_32 (for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 weights): blocks of 32, d[b] = the scale
 *    rounded through half precision, like llama.cpp's Q8_0 activations;
 *  - LL_QX_256 (for K-quants): blocks of 256 with a float scale, like Q8_K.
 * q[k] * d[k / block] approximates x[k] (|q| <= 127, so a sign flip never
 * overflows); sum[g] = q[16g] + ... + q[16g + 15] carries the minimum and
 * offset terms of the K-quants without touching q again.
 */
enum { LL_QX_32 = 32, LL_QX_256 = 256 };

typedef struct {
    int8_t *q;
    float *d;
    int16_t *sum;
    size_t block;
} ll_qvec;

/*
 * The integer prompt GEMM (more than 8 tokens, quantized weights): the
 * activations are quantized once per product (32-blocks, ggml's Q8_0
 * rounding) and each weight row once per row panel into one layout for
 * every type, in pairs of 32-blocks (64 values):
 *   q[64]   the int8 weight values (Q4_0: nibble - 8, Q4_K: 0..15, ...)
 *   s[16]   lane l's scale (values 4l .. 4l+3: the 32-block's d, or a
 *           K-quant sub-block's d * sc)
 *   m[16]   (types with a min) lane l's offset: x = q * s + m
 * and for a token: q[64] its int8 values, s[16] lane l's scale (the
 * 32-block's), m[16] s times the sum of the lane's four values, c[16]
 * -128 times that sum (a correction for unsigned x signed products).
 * A row of np pairs is q[64 np], then s[16 np], then m[16 np]; a token
 * q[64 np], s[16 np], m[16 np], c[16 np] (int32).
 * y[t][r] = hsum over lanes (ll_q32_hsum) of, pair by pair,
 *   acc[l] = fma((float)isum_l, w.s[l] * x.s[l], acc[l]);
 *   with a min: acc[l] = fma(w.m[l], x.m[l], acc[l])
 * where isum_l is the exact integer sum of the lane's four products: every
 * table computes the same bits, and a token's result never depends on
 * which others share its tile or product.
 */
#define LL_GQ_RM 4 /* weight rows per kernel call */
#define LL_GQ_RN 4 /* tokens per kernel call */

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
    /* x[0..n) into qx (qx->block set, buffers sized by the caller); every
     * table must round identically, so the tables differ only in how the
     * integer sums are added up */
    void (*quantize_x)(const float *x, size_t n, ll_qvec *qx);
    /* matvec with x quantized: NULL where the table has none */
    void (*matvec_q)(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const ll_qvec *qx, float *y,
                     size_t r0, size_t r1);
    /* T <= 8 tokens at once for Q4_0 and Q8_0 (each weight block unpacked
     * once), y[t * ldy + i] equal to what matvec_q gives token t: NULL where
     * the table has none */
    void (*matvec_qn)(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const ll_qvec *qx, size_t T,
                      float *y, size_t ldy, size_t r0, size_t r1);
    /* out[t * LL_GQ_RM + r] for rows w + r * ws and tokens x + t * xs
     * (r < LL_GQ_RM, t < LL_GQ_RN) of np pairs in the layout above, with
     * or without the min terms: NULL where the table has none */
    void (*gemm_q)(size_t np, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, int min, float *out);
} ll_matmul_kernels;

/* The final sum of a Q4_1/Q5_0/Q5_1 row product from its 16 lane
 * accumulators, in the order every table uses (matmul.c, dot_q32). */
float ll_q32_hsum(const float acc[16]);

/* The activation block matvec_q wants for weights of `type`, 0 if none. */
size_t ll_qvec_block(uint32_t type);

extern const ll_matmul_kernels ll_matmul_scalar;
#if defined(LL_HAVE_AVX2)
extern const ll_matmul_kernels ll_matmul_avx2;
#endif
#if defined(LL_HAVE_AVX512)
extern const ll_matmul_kernels ll_matmul_avx512;
/* the AVX-512 table with the VNNI integer GEMM (vpdpbusd), for CPUs with
 * AVX512_VNNI; ll_gemm_q_vnni is in matmul_vnni.c */
extern const ll_matmul_kernels ll_matmul_avx512_vnni;
void ll_gemm_q_vnni(size_t np, const uint8_t *w, size_t ws, const uint8_t *x, size_t xs, int min, float *out);
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

/* How many rows ll_matmul takes in one product giving each row exactly
 * what it gives that row alone: up to 8 where the activations are
 * quantized for integer dot products, 1 on the float paths (one row is a
 * matvec, several a GEMM, which round differently). A step over rows of
 * several sequences groups them by it (src/model/forward.c). */
size_t ll_matmul_row_group(const ll_pool *pool, const ll_matmul_kernels *k, const ll_matrix *w);

#endif /* LL_MATMUL_H */
