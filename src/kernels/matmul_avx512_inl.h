/*
 * matmul_avx512_inl.h - the pieces of 32-block arithmetic that the AVX-512
 * matrix kernels share (matmul_avx512.c, and matmul_vnni.c, which is
 * compiled with VNNI on): half-precision block scales, a pair of blocks'
 * weight scales in lanes, the final sums, and the bodies of the
 * several-token Q8_0 kernel (matvec_qn) and of the repacked Q4_0 one
 * (matvec_r16), which each file gives its own integer step (vpdpbusd or
 * vpmaddubsw).
 * Include only from files compiled with AVX512F/BW/VL and F16C.
 */
#ifndef LL_MATMUL_AVX512_INL_H
#define LL_MATMUL_AVX512_INL_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "hsum_x86.h"
#include "matmul.h"
#include "quant.h"

/* A block's half-precision scale. */
static inline float ll_h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/* Two blocks' half-precision scales, each in its eight lanes: two word
 * broadcasts and one conversion (exact, as every F16 -> F32 is). */
static inline __m512 ll_scales2(const uint8_t *b0, const uint8_t *b1) {
    uint16_t h0, h1;
    memcpy(&h0, b0, 2);
    memcpy(&h1, b1, 2);
    return _mm512_cvtph_ps(_mm256_blend_epi32(_mm256_set1_epi16((short)h0), _mm256_set1_epi16((short)h1), 0xF0));
}

/* Two Q8_0 blocks' 32 values each, as 64 signed bytes. */
static inline __m512i ll_bytes2(const uint8_t *q0, const uint8_t *q1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(const void *)q0)),
                              _mm256_loadu_si256((const __m256i *)(const void *)q1), 1);
}

/* ll_q32_hsum's tree of 16 lanes */
static inline float ll_hsum16(__m512 v) {
    return ll_hsum16_m256(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
}

/* Q8_0's chain (matmul.h) through a pair of blocks: p holds the int32
 * lanes of both (the first block's in lanes 0-7), sc their scales d_w *
 * d_x in the same lanes; the first block's lanes go in first. */
static inline __m256 ll_q8_chain2(__m256 acc, __m512i p, __m512 sc) {
    __m512 f = _mm512_cvtepi32_ps(p);
    acc = _mm256_fmadd_ps(_mm512_castps512_ps256(sc), _mm512_castps512_ps256(f), acc);
    return _mm256_fmadd_ps(_mm512_extractf32x8_ps(sc, 1), _mm512_extractf32x8_ps(f, 1), acc);
}

/* ---- several Q8_0 tokens at once (matvec_qn) ----
 * A table supplies the integer step: prep sets up a block pair's weights
 * once for all tokens, lanes gives a token's 16 exact int32 lanes of the
 * pair (lane j: the products of values 4j .. 4j+3 of the first block,
 * lane 8 + j of the second), lanes8 the 8 of a lone last block. The
 * float steps are ggml's chain (matmul.h), so every token gets the bits
 * matvec_q gives it alone. */
enum { LL_QN_MAX = 8 };

typedef struct {
    __m512i w;     /* the pair's weights as the integer step wants them */
    __mmask64 neg; /* in vpmaddubsw's form: the negative weights */
} ll_qn_pair;

typedef ll_qn_pair (*ll_qn_prep_fn)(const uint8_t *b0, const uint8_t *b1);
typedef __m512i (*ll_qn_lanes_fn)(ll_qn_pair w, const ll_qvec *x, size_t blk);
typedef __m256i (*ll_qn_lanes8_fn)(const uint8_t *b, const ll_qvec *x, size_t blk);

static inline __attribute__((always_inline)) void
ll_matvec_qn_body(const uint8_t *w, size_t row_bytes, size_t n, const ll_qvec *qx, size_t T, float *y,
                  size_t ldy, size_t r0, size_t r1, ll_qn_prep_fn prep, ll_qn_lanes_fn lanes, ll_qn_lanes8_fn lanes8) {
    const size_t nb = n / 32;
    for (size_t i = r0; i < r1; i++) {
        const uint8_t *row = w + i * row_bytes;
        __m256 c8[LL_QN_MAX];
        for (size_t t = 0; t < T; t++) c8[t] = _mm256_setzero_ps();
        size_t blk = 0;
        for (; blk + 2 <= nb; blk += 2) {
            const uint8_t *b0 = row + 34 * blk, *b1 = b0 + 34;
            ll_prefetch_ahead(b0, 64);
            __m512 ws = ll_scales2(b0, b1);
            ll_qn_pair wp = prep(b0, b1);
            for (size_t t = 0; t < T; t++) {
                /* the token's scales were laid out once (ll_qvec_lanes) */
                __m512 sc = _mm512_mul_ps(ws, _mm512_loadu_ps(qx[t].lane_d + 8 * blk));
                c8[t] = ll_q8_chain2(c8[t], lanes(wp, &qx[t], blk), sc);
            }
        }
        for (size_t t = 0; t < T; t++) {
            const uint8_t *b = row + 34 * blk; /* a lone last block, if nb is odd */
            if (blk < nb)
                c8[t] = _mm256_fmadd_ps(_mm256_set1_ps(ll_h2f(b) * qx[t].d[blk]), _mm256_cvtepi32_ps(lanes8(b, &qx[t], blk)),
                                        c8[t]);
            y[t * ldy + i] = ll_hsum8_m256(c8[t]);
        }
    }
}

/* ---- Q4_0 repacked 16 rows at a time (matmul.h, LL_T_Q4_0_R16) ----
 * A block of a group is four 64-byte loads: the low nibbles of load c
 * are step c (values 4c .. 4c+3 of each row, row r in lane r), the high
 * ones step 4 + c. The tokens come as a tile (ll_r16x_put). A table
 * supplies the integer steps, which must give the exact int32 lanes
 * c + sum((w + 8) q) of a token's block: start(c) opens a chain, step
 * adds one step's products, join adds a second chain into the first and
 * end(chain, c) closes it. The steps go step by step across the tokens,
 * so 4 to 8 tokens keep as many independent chains in flight; fewer
 * tokens take two chains each (even and odd steps). Then, per token, one
 * conversion, one product by the rows' scales and one fused multiply-add
 * by the token's scale serve all 16 rows. */
typedef struct {
    __m512i (*start)(int32_t c);
    __m512i (*step)(__m512i chain, __m512i v, int32_t x4);
    __m512i (*join)(__m512i a, __m512i b);
    __m512i (*end)(__m512i chain, int32_t c);
} ll_r16_steps;

/* Four tokens or more keep a group's weights for several times as long as
 * one token does, and the weights then come from memory rather than the
 * L3 (the rows' keys and values push them out): there a prefetch into L1
 * holds one of the core's few fill buffers for a whole memory latency
 * (about 6 GB/s a core, measured inside a step), while one into L2 further
 * ahead leaves them to the loads (8-row steps, 110M Q4_0, median of 6 and
 * 4 interleaved runs: 6.95 -> 6.45 ms F16 cache, 7.31 -> 7.14 F32). One
 * token keeps ll_prefetch_ahead, which measured better for it. */
#define LL_R16_AHEAD_MANY 8192
static inline __attribute__((always_inline)) void ll_r16_group(const uint8_t *g, size_t nb, const uint8_t *x,
                                                                const size_t T, __m512 acc[LL_QN_MAX],
                                                                const ll_r16_steps *is) {
    const __m512i lo = _mm512_set1_epi8(0x0F);
    const uint8_t *d = g + 256 * nb;
    const size_t chains = T >= 4 ? 1 : 2;
    /* the next group's scales: their own stream, which the quants'
     * prefetch reaches only after they are needed */
    for (size_t o = 0; o < 32 * nb; o += 64) __builtin_prefetch(d + ll_r16_group_bytes(32 * nb) + o, 0, 3);
    for (size_t t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *q = g + 256 * b, *blk = x + LL_R16X_BLOCK(T) * b;
        if (T >= 4) /* into L2, further ahead (LL_R16_AHEAD_MANY) */
            for (size_t o = 0; o < 256; o += 64) __builtin_prefetch(q + LL_R16_AHEAD_MANY + o, 0, 1);
        else
            ll_prefetch_ahead(q, 256);
        __m512i v[8];
        for (int c = 0; c < 4; c++) {
            __m512i raw = _mm512_loadu_si512(q + 64 * c);
            v[c] = _mm512_and_si512(raw, lo);
            v[4 + c] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), lo);
        }
        __m512 ws = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(d + 32 * b)));
        __m512i ch[2][LL_QN_MAX];
        for (size_t t = 0; t < T; t++) {
            ch[0][t] = is->start(ll_r16x_c(blk, T, t));
            if (chains == 2) ch[1][t] = _mm512_setzero_si512();
        }
        for (size_t s = 0; s < 8; s++)
            for (size_t t = 0; t < T; t++)
                ch[s % chains][t] = is->step(ch[s % chains][t], v[s], ll_r16x_step(blk, T, s, t));
        for (size_t t = 0; t < T; t++) {
            __m512i sum = is->end(chains == 2 ? is->join(ch[0][t], ch[1][t]) : ch[0][t], ll_r16x_c(blk, T, t));
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(sum), ws), _mm512_set1_ps(ll_r16x_d(blk, T, t)),
                                     acc[t]);
        }
    }
}

static inline __attribute__((always_inline)) void ll_r16_rows(const uint8_t *w, size_t n, const uint8_t *x,
                                                               const size_t T, float *y, size_t ldy, size_t r0,
                                                               size_t r1, const ll_r16_steps *is) {
    size_t nb = n / 32, gb = ll_r16_group_bytes(n);
    for (size_t i0 = r0; i0 < r1; i0 += 16) {
        __m512 acc[LL_QN_MAX];
        ll_r16_group(w + i0 / 16 * gb, nb, x, T, acc, is);
        __mmask16 keep = r1 - i0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (r1 - i0)) - 1);
        for (size_t t = 0; t < T; t++) _mm512_mask_storeu_ps(y + t * ldy + i0, keep, acc[t]);
    }
}

/* matvec_r16 with the token count a constant in each copy (the
 * accumulators and chains stay in registers) */
static inline __attribute__((always_inline)) void ll_matvec_r16_body(const uint8_t *w, size_t n, const uint8_t *x,
                                                                      size_t T, float *y, size_t ldy, size_t r0,
                                                                      size_t r1, const ll_r16_steps *is) {
    switch (T) {
    case 1: ll_r16_rows(w, n, x, 1, y, ldy, r0, r1, is); break;
    case 2: ll_r16_rows(w, n, x, 2, y, ldy, r0, r1, is); break;
    case 3: ll_r16_rows(w, n, x, 3, y, ldy, r0, r1, is); break;
    case 4: ll_r16_rows(w, n, x, 4, y, ldy, r0, r1, is); break;
    case 5: ll_r16_rows(w, n, x, 5, y, ldy, r0, r1, is); break;
    case 6: ll_r16_rows(w, n, x, 6, y, ldy, r0, r1, is); break;
    case 7: ll_r16_rows(w, n, x, 7, y, ldy, r0, r1, is); break;
    default: ll_r16_rows(w, n, x, 8, y, ldy, r0, r1, is); break;
    }
}

#endif /* LL_MATMUL_AVX512_INL_H */
