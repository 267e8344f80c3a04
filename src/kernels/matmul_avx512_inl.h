/*
 * matmul_avx512_inl.h - the pieces of 32-block arithmetic that the AVX-512
 * matrix kernels share (matmul_avx512.c, and matmul_vnni.c, which is
 * compiled with VNNI on): half-precision block scales, a pair of blocks'
 * weight scales in lanes, a pair of Q4_0 blocks' nibbles as bytes, the
 * final sums, and the several-token kernel's body (matvec_qn), which each
 * file gives its own integer step (vpdpbusd or vpmaddubsw).
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

/* The 16 nibble bytes at q0 and at q1 as 64 bytes 0..15: in each 32-byte
 * half, the low nibbles (values 0-15 of the block) then the high ones
 * (values 16-31), the order of the activations. */
static inline __m512i ll_nibbles2(const uint8_t *q0, const uint8_t *q1) {
    /* 64-bit lanes 0-1 keep a block's low nibbles, 2-3 take its high ones */
    const __m512i shift = _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0);
    __m256i z0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)q0));
    __m256i z1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)q1));
    return _mm512_and_si512(_mm512_srlv_epi64(_mm512_inserti64x4(_mm512_castsi256_si512(z0), z1, 1), shift),
                            _mm512_set1_epi8(0x0F));
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

/* Q4_0's final sum (matmul.h): the two accumulators lanewise, then the tree */
static inline float ll_q4_hsum2(__m512 a0, __m512 a1) { return ll_hsum16(_mm512_add_ps(a0, a1)); }

/* Q8_0's chain (matmul.h) through a pair of blocks: p holds the int32
 * lanes of both (the first block's in lanes 0-7), sc their scales d_w *
 * d_x in the same lanes; the first block's lanes go in first. */
static inline __m256 ll_q8_chain2(__m256 acc, __m512i p, __m512 sc) {
    __m512 f = _mm512_cvtepi32_ps(p);
    acc = _mm256_fmadd_ps(_mm512_castps512_ps256(sc), _mm512_castps512_ps256(f), acc);
    return _mm256_fmadd_ps(_mm512_extractf32x8_ps(sc, 1), _mm512_extractf32x8_ps(f, 1), acc);
}

/* ---- several tokens at once (matvec_qn) ----
 * A table supplies the integer step: prep sets up a block pair's weights
 * once for all tokens, lanes gives a token's 16 exact int32 lanes of the
 * pair (lane j: the products of values 4j .. 4j+3 of the first block,
 * lane 8 + j of the second), lanes8 the 8 of a lone last Q8_0 block, and
 * tail4 a lone last Q4_0 block's integer sum. The float steps are the one
 * order matmul.h gives each type, so every token gets the bits matvec_q
 * gives it alone. */
enum { LL_QN_MAX = 8 };

typedef struct {
    __m512i w;     /* the pair's weights as the integer step wants them */
    __mmask64 neg; /* Q8_0 in vpmaddubsw's form: the negative weights */
} ll_qn_pair;

typedef ll_qn_pair (*ll_qn_prep_fn)(int q4, const uint8_t *b0, const uint8_t *b1);
typedef __m512i (*ll_qn_lanes_fn)(int q4, ll_qn_pair w, const ll_qvec *x, size_t blk);
typedef __m256i (*ll_qn_lanes8_fn)(const uint8_t *b, const ll_qvec *x, size_t blk);
typedef int (*ll_qn_tail4_fn)(const uint8_t *b, const int8_t *xq);

static inline __attribute__((always_inline)) void
ll_matvec_qn_body(uint32_t type, const uint8_t *w, size_t row_bytes, size_t n, const ll_qvec *qx, size_t T, float *y,
                  size_t ldy, size_t r0, size_t r1, ll_qn_prep_fn prep, ll_qn_lanes_fn lanes, ll_qn_lanes8_fn lanes8,
                  ll_qn_tail4_fn tail4) {
    const int q4 = type == LL_T_Q4_0;
    const size_t bb = q4 ? 18 : 34, nb = n / 32;
    for (size_t i = r0; i < r1; i++) {
        const uint8_t *row = w + i * row_bytes;
        __m512 a0[LL_QN_MAX], a1[LL_QN_MAX]; /* Q4_0: two 16-lane accumulators */
        __m256 c8[LL_QN_MAX];                /* Q8_0: ggml's chain */
        for (size_t t = 0; t < T; t++) {
            a0[t] = a1[t] = _mm512_setzero_ps();
            c8[t] = _mm256_setzero_ps();
        }
        size_t blk = 0;
        for (; blk + 2 <= nb; blk += 2) {
            const uint8_t *b0 = row + bb * blk, *b1 = b0 + bb;
            ll_prefetch_ahead(b0, 64);
            __m512 ws = ll_scales2(b0, b1);
            ll_qn_pair wp = prep(q4, b0, b1);
            for (size_t t = 0; t < T; t++) {
                __m512i p = lanes(q4, wp, &qx[t], blk);
                /* the token's scales were laid out once (ll_qvec_lanes) */
                __m512 sc = _mm512_mul_ps(ws, _mm512_loadu_ps(qx[t].lane_d + 8 * blk));
                if (!q4)
                    c8[t] = ll_q8_chain2(c8[t], p, sc);
                else if (blk & 2)
                    a1[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), sc, a1[t]);
                else
                    a0[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), sc, a0[t]);
            }
        }
        for (size_t t = 0; t < T; t++) {
            const uint8_t *b = row + bb * blk; /* a lone last block, if nb is odd */
            if (!q4) {
                if (blk < nb)
                    c8[t] = _mm256_fmadd_ps(_mm256_set1_ps(ll_h2f(b) * qx[t].d[blk]), _mm256_cvtepi32_ps(lanes8(b, &qx[t], blk)),
                                            c8[t]);
                y[t * ldy + i] = ll_hsum8_m256(c8[t]);
            } else {
                float s = ll_q4_hsum2(a0[t], a1[t]);
                if (blk < nb) s += ll_h2f(b) * qx[t].d[blk] * (float)tail4(b, qx[t].q + 32 * blk);
                y[t * ldy + i] = s;
            }
        }
    }
}

#endif /* LL_MATMUL_AVX512_INL_H */
