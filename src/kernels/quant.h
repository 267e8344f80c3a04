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

#include "../model/tensor_types.h"

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
