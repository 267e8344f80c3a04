/*
 * quant.h - the tensor storage formats of GGUF: half and bfloat16
 * conversion, dequantization of every supported block type (the scalar
 * reference the SIMD kernels are tested against), and quantizers used by
 * the synthetic-model writer (internal).
 *
 * Block layouts (little-endian, no padding; "half" = IEEE binary16):
 *   Q8_0  32 values: half d, int8 q[32]                  x = q * d
 *   Q4_0  32 values: half d, uint8 q[16]                 x = (nibble - 8) * d,
 *         low nibbles are values 0..15, high nibbles 16..31
 *   Q4_1  32 values: half d, half m, uint8 q[16]         x = nibble * d + m
 *   Q5_0  32 values: half d, uint32 qh, uint8 q[16]      x = (q5 - 16) * d
 *   Q5_1  32 values: half d, half m, uint32 qh, q[16]    x = q5 * d + m
 *         q5 = nibble | (bit j of qh) << 4 for value j (qh little-endian:
 *         bits 0..15 go with the low nibbles, 16..31 with the high ones)
 *   Q4_K  256 values: half d, half dmin, uint8 scales[12], uint8 q[128];
 *         8 sub-blocks of 32 with 6-bit scale and min: x = d*sc*q - dmin*m
 *   Q5_K  as Q4_K plus uint8 qh[32] (the fifth bit) before q
 *   Q6_K  256 values: uint8 ql[128], qh[64], int8 scales[16], half d (last);
 *         x = d * scales[i/16] * (6-bit q - 32)
 */
#ifndef LL_QUANT_H
#define LL_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "../format/tensor_types.h"

float ll_fp16_to_fp32(uint16_t h);
uint16_t ll_fp32_to_fp16(float f); /* round to nearest even */
static inline float ll_bf16_to_fp32(uint16_t h) {
    union {
        uint32_t u;
        float f;
    } v = {(uint32_t)h << 16};
    return v.f;
}
uint16_t ll_fp32_to_bf16(float f); /* round to nearest even, NaN stays NaN */

/* Bytes of one row of n values (n a multiple of the block size). */
size_t ll_row_bytes(uint32_t type, size_t n);

/* Scalar reference: n values (a multiple of the block) of `type` to float. */
void ll_dequantize_row_ref(uint32_t type, const void *src, float *dst, size_t n);

/* Quantizers (for writing models): n floats to a row of `type`. */
void ll_quantize_row(uint32_t type, const float *src, void *dst, size_t n);

/* Where the parts of a 32-value block with a 4-bit body lie (Q4_0, Q4_1,
 * Q5_0, Q5_1): one table row per type instead of a branch per type. */
typedef struct {
    uint32_t type;
    uint8_t bytes; /* the block */
    uint8_t min;   /* offset of the half m (x = q * d + m), 0 if none */
    uint8_t qh;    /* offset of the 32 fifth bits, 0 if none */
    uint8_t qs;    /* offset of the 16 bytes of nibbles */
    uint8_t bias;  /* subtracted from q where there is no m: 8 or 16 */
} ll_q32_layout;

/*                       type       bytes min qh  qs  bias */
#define LL_Q4_0_LAYOUT {LL_T_Q4_0, 18, 0, 0, 2, 8}
#define LL_Q4_1_LAYOUT {LL_T_Q4_1, 20, 2, 0, 4, 0}
#define LL_Q5_0_LAYOUT {LL_T_Q5_0, 22, 0, 2, 6, 16}
#define LL_Q5_1_LAYOUT {LL_T_Q5_1, 24, 2, 4, 8, 0}

/* The layout of `type`, or NULL if it is not one of these. (The kernels
 * keep their own static copies of the rows above so that the compiler
 * specialises each loop for its type.) */
const ll_q32_layout *ll_q32_layout_of(uint32_t type);

/* The 32 unsigned values (0..31, before bias, scale and min) of one block. */
static inline void ll_q32_values(const ll_q32_layout *L, const uint8_t *b, uint8_t v[32]) {
    uint32_t qh = L->qh ? (uint32_t)b[L->qh] | (uint32_t)b[L->qh + 1] << 8 | (uint32_t)b[L->qh + 2] << 16 |
                              (uint32_t)b[L->qh + 3] << 24
                        : 0;
    for (int j = 0; j < 16; j++) {
        v[j] = (uint8_t)((b[L->qs + j] & 0xF) | ((qh >> j) & 1) << 4);
        v[j + 16] = (uint8_t)((b[L->qs + j] >> 4) | ((qh >> (j + 16)) & 1) << 4);
    }
}

/* Unpacks the 6-bit scale and min of sub-block j of a Q4_K/Q5_K block. */
static inline void ll_q4k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

#endif /* LL_QUANT_H */
