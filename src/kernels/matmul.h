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
 *    once for all tokens, 16 rows x 8 tokens per kernel call), except
 *    repacked Q4_0, whose one kernel (matvec_r16) takes any number of
 *    tokens 8 at a time with the GEMM's arithmetic;
 *  - a batch with float weights (F32, F16, BF16): 64 tokens at a time
 *    are transposed (k-major, the tokens in registers' lanes) and a
 *    kernel computes 6 rows x 64 tokens, broadcasting the weights from
 *    their rows (no copy for F32);
 *  - where a table has neither: 32 rows at a time are dequantized into a
 *    transposed panel (32 rows x 256 k, fits L1) and a register-blocked
 *    kernel computes 6 tokens x 32 rows per step.
 *
 * For one token with Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and K-quant weights the
 * activation vector is first rounded to int8 blocks (ll_qvec, once per
 * product, before the rows are split between threads) and each row is an
 * integer dot product combined with the float block scales, as llama.cpp
 * does: the weights are never widened to float, which is what made this
 * path compute-bound. Q4_0 is read repacked, 16 rows at a time
 * (LL_T_Q4_0_R16 below). Every table adds the products up in the one
 * order written down here for each type and gives the same bits.
 */
#ifndef LL_MATMUL_H
#define LL_MATMUL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "threadpool.h"

#define LL_PANEL_ROWS 32
#define LL_PANEL_K    256

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
    /* Filled by ll_qvec_lanes for the several-token kernels that want them
     * (prepare_qn), NULL otherwise: lane_c[g] = -offset * (q[4g] + ... +
     * q[4g + 3]), the start of an int32 lane of four unsigned x signed
     * products whose unsigned side is the weight plus offset (128 for
     * Q8_0), and lane_d[8b + j] = d[b], a block's scale in each of
     * its eight lanes. Computed once per token instead of once per token
     * and weight row. */
    int32_t *lane_c;
    float *lane_d;
} ll_qvec;

/* How far ahead of the block in use the one-token kernels ask for the
 * weights. A row's bytes stream through in order and the hardware
 * prefetcher alone kept the Q8_0 kernel at ~6.5 GB/s from memory (13.5
 * from L2; plain loads stream at ~16): asking ahead took it to 9-12 GB/s
 * (Xeon, Emerald Rapids, 2 vCPUs; best of 7 over 100000 rows of 2048, 3
 * interleaved rounds: F16 ~9.6 / 10.6 / 11.0 / 10.5 GB/s at 1 / 2 / 4 /
 * 8 KiB ahead, Q8_0 8.9 / 8.5 / 10.9 / 10.3, Q4_K 7.8 / 8.6 / 9.2 / 9.9;
 * 256 B was worse than 1 KiB). -DLL_PREFETCH_AHEAD=N to measure others. */
#ifndef LL_PREFETCH_AHEAD
#define LL_PREFETCH_AHEAD 4096
#endif

/* Asks for the bytes [p, p + bytes) LL_PREFETCH_AHEAD further on, a cache
 * line at a time (a prefetch never faults, past a row's end included). */
static inline void ll_prefetch_ahead(const void *p, size_t bytes) {
    for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch((const char *)p + LL_PREFETCH_AHEAD + o, 0, 3);
}

/* lane_c and lane_d of qx (n values) for weights of `type` (Q8_0) */
void ll_qvec_lanes(uint32_t type, size_t n, ll_qvec *qx);

/*
 * The integer prompt GEMM (more than 8 tokens, quantized weights but
 * repacked Q4_0), as
 * llama.cpp's: the activations are quantized once per product (in ggml's
 * blocks and rounding: Q8_0's 32 for the 32-block types, Q8_K's 256 for
 * the K-quants) and each panel of weight rows is unpacked once
 * for all tokens. A kernel call computes 16 rows (one int32 lane each) x
 * 8 tokens; the unit of a scale is 32 values (16 for Q6_K).
 *
 * A group of 16 rows of n values: v[n * 16] then s[n/unit * 16] then
 * (types with a min) m[n/unit * 16]. Step k (values 4k .. 4k+3) is 64
 * bytes, row r's four at 4r, each value plus the type's offset o (so
 * unsigned: Q8_0 128, Q4_0 8, Q5_0 16, Q6_K 32, the others 0); s and m
 * hold each row's scale and min (x = (v - o) s + m) per unit.
 * A token of n values: q[n] (int8), then per unit s (its block's scale), m (s times the sum of the unit's values), c
 * (int32: -o times that sum), each array n/unit long, tokens ll_gq_token_bytes apart.
 *
 * Output (r, t), unit by unit:
 *   isum = c + sum(v q)           (exactly sum((v - o) q), in any order)
 *   acc = fma((float)isum * s_r, s_t, acc)
 *   with a min: acc = fma(m_r, m_t, acc)
 * so every table gives the same bits, and a token's results never depend
 * on which others share its tile or its product.
 */
#define LL_GF_ROWS 6
/* rows per gemm_f call when a group's tokens fit one register (16): 12
 * accumulators keep both FMA units busy where 6 left them waiting */
#define LL_GF_ROWS_NARROW 12
#define LL_GF_TOKENS      64

#define LL_GQ_ROWS   16
#define LL_GQ_TOKENS 8

static inline size_t ll_gq_group_bytes(size_t n, size_t unit) { return (16 * n + 128 * (n / unit) + 63) & ~(size_t)63; }
static inline size_t ll_gq_token_bytes(size_t n, size_t unit) { return (n + 12 * (n / unit) + 63) & ~(size_t)63; }

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
    /* T <= 8 tokens at once for Q8_0 (each weight block unpacked
     * once), y[t * ldy + i] equal to what matvec_q gives token t: NULL where
     * the table has none */
    void (*matvec_qn)(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const ll_qvec *qx, size_t T,
                      float *y, size_t ldy, size_t r0, size_t r1);
    /* The float prompt GEMM, tokens in lanes: for r < nr (<= LL_GF_ROWS,
     * or LL_GF_ROWS_NARROW when tn <= 16)
     * and t < tn (<= LL_GF_TOKENS; lanes up to tn rounded up to 16 may be
     * written too), c[r * LL_GF_TOKENS + t] (+)= sum over k < kc of
     * w[r][k] * xt[k * LL_GF_TOKENS + t], one fused multiply-add per k in
     * order (so an output's bits do not depend on its tile, and equal the
     * panel GEMM's): NULL where the table has none. A short prompt costs
     * its own tokens' lanes, not all LL_GF_TOKENS. */
    void (*gemm_f)(size_t kc, const float *const *w, size_t nr, const float *xt, size_t tn, float *c, int accumulate);
    /* out[t * 16 + r] for the group of 16 rows at w and the LL_GQ_TOKENS
     * tokens from x (each ll_gq_token_bytes apart), in the layout above:
     * NULL where the table has none */
    void (*gemm_q)(size_t n, size_t unit, int offset, int min, const uint8_t *w, const uint8_t *x, float *out);
    /* run on each token's qvec before matvec_qn (ll_qvec_lanes), NULL where
     * matvec_qn needs only q, d and sum */
    void (*prepare_qn)(uint32_t type, size_t n, ll_qvec *qx);
    /* dst[j * ld + i] = src[i * ls + j] for a 16 x 16 tile of floats (the
     * float GEMM's tokens in and its results out); NULL: matmul.c's loop */
    void (*transpose16)(const float *src, size_t ls, float *dst, size_t ld);
    /* Rows [r0, r1) of LL_T_Q4_0_R16 weights (r0 a multiple of 16) for the
     * T <= 8 tokens of a tile x (ll_r16x_put): y[t * ldy + i], in the order
     * below; every table has one */
    void (*matvec_r16)(const uint8_t *w, size_t n, const uint8_t *x, size_t T, float *y, size_t ldy, size_t r0,
                       size_t r1);
} ll_matmul_kernels;

/* Q8_0 rows on quantized activations (one token, or several by
 * matvec_qn) follow ggml's order of float operations exactly (its x86
 * vec_dot_q8_0_q8_0, which llama.cpp also matches in its batched path),
 * in every table: 8 float lanes start at +0; block by block in order, lane
 * j takes fma(d_w * d_x, p_j, lane j), p_j the exact integer sum of the
 * products of values 4j .. 4j+3; the row is ll_q8_hsum8 of the lanes. So
 * a Q8_0 model's logits can equal llama.cpp's bit for bit
 * (docs/parity.md). */
float ll_q8_hsum8(const float acc[8]);

/* Q4_0: the repacked rows' order (LL_T_Q4_0_R16 below), the integer
 * GEMM's. Q4_1, Q5_0 and Q5_1 follow ll_q32_hsum's order (matmul.c,
 * dot_q32). F32, F16 and BF16 rows on float activations
 * (matvec): four accumulators of 16 lanes start at +0; each 64 values
 * in order give value 16c + l to accumulator c, lane l (a fused
 * multiply-add); then each further 16 values to accumulator 0; the row is
 * ll_q32_hsum of (a0 + a1) + (a2 + a3) lanewise, then the last n % 16
 * values added in order, each product rounded first. Q4_K, Q5_K and Q6_K:
 * matmul.c's dot_k. */

typedef struct {
    uint32_t type;
    const uint8_t *data;
    size_t rows, cols, row_bytes;
} ll_matrix;

/*
 * Q4_0 weights repacked at load, 16 rows interleaved (q4_0_r16.c): the
 * internal type LL_T_Q4_0_R16, what the model layer makes of every Q4_0
 * matrix (ll_repack). A group of 16 rows of n values takes the bytes of
 * 16 Q4_0 rows (16 x 18 n/32), rows past the matrix's end zero:
 *   q[n/32][4][64] then d[n/32][16] (half precision)
 * q[b][c] holds, at byte 4r + m, the Q4_0 byte 4c + m of row r's block b
 * (low nibble: value 4c + m, high nibble: value 16 + 4c + m, each w + 8),
 * so one 64-byte load gives 16 rows x 4 values of two steps, the rows in
 * the int32 lanes: each row's sum is a lane, never a horizontal add, and
 * a block's float steps are shared by 16 rows. Every product with it,
 * a prompt's too, goes through matvec_r16, 8 tokens at a time over a
 * chunk of rows. The arithmetic is the integer GEMM's (above), per row r
 * and token, block by block:
 *   isum = -8 * (sum of the token's 32 values) + sum((w + 8) q)
 *   acc = fma((float)isum * d_r, d_t, acc)
 * so a row's result is the same bits for any number of tokens, in every
 * table, and what the integer GEMM gives a plain Q4_0 matrix.
 */
#define LL_T_Q4_0_R16 1001u

/* The bytes of a group of 16 repacked rows of n values (16 Q4_0 rows). */
static inline size_t ll_r16_group_bytes(size_t n) { return 16 * (n / 32) * 18; }

/* Bytes ll_repack needs for m (a multiple of 64), 0 when m stays as it is
 * (only Q4_0 is repacked). */
size_t ll_repack_bytes(const ll_matrix *m);
/* *m repacked into buf (ll_repack_bytes of it, 64-byte aligned; a group
 * starts on a cache line when n is a multiple of 64, the kernels' loads
 * are unaligned ones otherwise): m's type and data change, its shape
 * stays. */
void ll_repack(ll_matrix *m, uint8_t *buf);
/* Blocks [b0, b0 + nb) of row i of an LL_T_Q4_0_R16 matrix of n columns
 * back in Q4_0's layout (18 bytes each) */
void ll_r16_row_blocks(const uint8_t *w, size_t n, size_t i, size_t b0, size_t nb, uint8_t *out);
/* Row i of w as floats, whatever its type (repacked ones included) */
void ll_matrix_row(const ll_matrix *w, size_t i, float *out);
/*
 * What matvec_r16 takes for T <= 8 quantized tokens (LL_QX_32): a tile,
 * the tokens interleaved block by block, so that one pointer serves them
 * all and a block's offset term is worked out once per token, not once
 * per group of rows. Block b is LL_R16X_BLOCK(T) bytes from the tile's
 * start (40 T b): for each step s = 0..7 the T tokens' values 4s .. 4s+3
 * (within the block) as one int32 each, token after token; then each
 * token's c = -8 * (the sum of its 32 values) (int32); then each token's
 * scale d (float). A kernel can then take 8 tokens step by step, 8
 * independent chains of integer sums, rather than one token's 8 steps
 * in a row, each waiting on the last.
 */
#define LL_R16X_BLOCK(T) ((size_t)40 * (T))
static inline size_t ll_r16x_bytes(size_t n, size_t T) { return LL_R16X_BLOCK(T) * (n / 32); }
/* token t of the T in tile x, from its quantized values qx (n values) */
void ll_r16x_put(const ll_qvec *qx, size_t n, size_t t, size_t T, uint8_t *x);
/* where token t's 4 bytes of field f sit in a block of a tile of T:
 * f = 0..7 the steps, LL_R16X_C the offset term, LL_R16X_D the scale */
enum { LL_R16X_C = 8, LL_R16X_D = 9 };
static inline size_t ll_r16x_at(size_t T, size_t f, size_t t) { return 4 * (f * T + t); }
/* token t's int32 of step s in block blk (LL_R16X_BLOCK(T) bytes), its
 * offset term and its scale */
static inline int32_t ll_r16x_step(const uint8_t *blk, size_t T, size_t s, size_t t) {
    int32_t v;
    memcpy(&v, blk + ll_r16x_at(T, s, t), 4);
    return v;
}
static inline int32_t ll_r16x_c(const uint8_t *blk, size_t T, size_t t) { return ll_r16x_step(blk, T, LL_R16X_C, t); }
static inline float ll_r16x_d(const uint8_t *blk, size_t T, size_t t) {
    float v;
    memcpy(&v, blk + ll_r16x_at(T, LL_R16X_D, t), 4);
    return v;
}
/* the scalar table's matvec_r16 */
void ll_matvec_r16_scalar(const uint8_t *w, size_t n, const uint8_t *x, size_t T, float *y, size_t ldy, size_t r0,
                          size_t r1);

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
void ll_gemm_q_vnni(size_t n, size_t unit, int offset, int min, const uint8_t *w, const uint8_t *x, float *out);
/* matvec_qn with vpdpbusd (matmul_vnni.c): the same bits as the AVX-512 BW one */
void ll_matvec_qn_vnni(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const ll_qvec *qx, size_t T,
                       float *y, size_t ldy, size_t r0, size_t r1);
/* matvec_r16 with vpdpbusd (matmul_vnni.c) */
void ll_matvec_r16_vnni(const uint8_t *w, size_t n, const uint8_t *x, size_t T, float *y, size_t ldy, size_t r0,
                        size_t r1);
#endif
const ll_matmul_kernels *ll_matmul_best(void);

/* Per-thread scratch for ll_matmul: ll_matmul_scratch_floats() floats per
 * thread. */
size_t ll_matmul_scratch_floats(void);

void ll_matmul(ll_pool *pool, const ll_matmul_kernels *k, const ll_matrix *w, const float *x, size_t T, float *y,
               float *scratch);

/* y[i] = x W_i^T for n_w matrices that read the same input (a layer's
 * query, key and value; its gate and up): repacked Q4_0 of one width and
 * up to LL_QROWS_MAX tokens quantize x once and run as one pool job (one
 * hand-over to the threads instead of n_w), others one ll_matmul each.
 * Each y[i] has the bits ll_matmul gives it alone. */
#define LL_SHARED_MAX 3
void ll_matmul_shared(ll_pool *pool, const ll_matmul_kernels *k, const ll_matrix *const *w, size_t n_w, const float *x,
                      size_t T, float *const *y, float *scratch);

/* How many rows ll_matmul takes in one product giving each row exactly
 * what it gives that row alone: up to 8 where the activations are
 * quantized for integer dot products, 1 on the float paths (one row is a
 * matvec, several a GEMM, which round differently). A step over rows of
 * several sequences groups them by it (src/model/forward.c). */
size_t ll_matmul_row_group(const ll_pool *pool, const ll_matmul_kernels *k, const ll_matrix *w);
/* Up to this many tokens (beams, parallel samples, short prompts, a
 * server's decode rows) a product runs as matvecs on quantized activations,
 * a block of rows at a time so the rows stay in cache while every token
 * uses them: the weights are read from memory once, not dequantized to
 * floats as the GEMM path does (which only pays off over many tokens). */
#define LL_QROWS_MAX 8

#endif /* LL_MATMUL_H */
