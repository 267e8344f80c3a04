/*
 * q4_0_r16.c - Q4_0 weights repacked 16 rows at a time (matmul.h,
 * LL_T_Q4_0_R16): the repacking, a row back out of a group, and the
 * scalar kernel the SIMD tables are tested against.
 *
 * Why: row by row, a Q4_0 product on one token spends about 12 vector
 * operations per 64 weights (unpack, multiply-add, convert, scale, add,
 * and a horizontal sum per row), which kept it below what memory
 * delivers at two threads. With 16 rows in the lanes of one register a
 * block's conversion, scaling and accumulation serve 16 rows, and no row
 * needs a horizontal sum: about 3 operations per 64 weights.
 */
#include "matmul.h"

#include <math.h>
#include <string.h>

#include "quant.h"

#define Q4_BLOCK_BYTES 18

size_t ll_repack_bytes(const ll_matrix *m) {
    if (m->type != LL_T_Q4_0 || m->cols == 0 || m->cols % 32 != 0 || m->rows == 0) return 0;
    size_t bytes = (m->rows + 15) / 16 * ll_r16_group_bytes(m->cols);
    return (bytes + 63) & ~(size_t)63;
}

void ll_repack(ll_matrix *m, uint8_t *buf) {
    size_t n = m->cols, nb = n / 32, gb = ll_r16_group_bytes(n);
    for (size_t g = 0; g < (m->rows + 15) / 16; g++) {
        uint8_t *q = buf + g * gb, *d = q + 256 * nb;
        for (size_t r = 0; r < 16; r++) {
            size_t i = 16 * g + r;
            const uint8_t *row = i < m->rows ? m->data + i * m->row_bytes : NULL;
            for (size_t b = 0; b < nb; b++) {
                const uint8_t *blk = row ? row + Q4_BLOCK_BYTES * b : NULL;
                if (blk) memcpy(d + 32 * b + 2 * r, blk, 2);
                else memset(d + 32 * b + 2 * r, 0, 2); /* a missing row: scale 0, values 0 (8 - 8) */
                for (size_t c = 0; c < 4; c++) {
                    uint8_t *dst = q + 256 * b + 64 * c + 4 * r;
                    if (blk) memcpy(dst, blk + 2 + 4 * c, 4);
                    else memset(dst, 0x88, 4);
                }
            }
        }
    }
    m->type = LL_T_Q4_0_R16;
    m->data = buf;
}

void ll_r16_row_blocks(const uint8_t *w, size_t n, size_t i, size_t b0, size_t nb, uint8_t *out) {
    size_t all = n / 32, r = i % 16;
    const uint8_t *q = w + i / 16 * ll_r16_group_bytes(n), *d = q + 256 * all;
    for (size_t k = 0; k < nb; k++) {
        size_t b = b0 + k;
        uint8_t *o = out + Q4_BLOCK_BYTES * k;
        memcpy(o, d + 32 * b + 2 * r, 2);
        for (size_t c = 0; c < 4; c++) memcpy(o + 2 + 4 * c, q + 256 * b + 64 * c + 4 * r, 4);
    }
}

void ll_r16x_put(const ll_qvec *qx, size_t n, size_t t, size_t T, uint8_t *x) {
    for (size_t b = 0; b < n / 32; b++) {
        uint8_t *blk = x + LL_R16X_BLOCK(T) * b;
        for (size_t s = 0; s < 8; s++) memcpy(blk + ll_r16x_at(T, s, t), qx->q + 32 * b + 4 * s, 4);
        int32_t c = -8 * (qx->sum[2 * b] + qx->sum[2 * b + 1]);
        memcpy(blk + ll_r16x_at(T, LL_R16X_C, t), &c, 4);
        memcpy(blk + ll_r16x_at(T, LL_R16X_D, t), &qx->d[b], 4);
    }
}

void ll_matvec_r16_scalar(const uint8_t *w, size_t n, const uint8_t *x, size_t T, float *y, size_t ldy, size_t r0,
                          size_t r1) {
    size_t nb = n / 32;
    for (size_t i = r0; i < r1; i++) {
        const uint8_t *q = w + i / 16 * ll_r16_group_bytes(n), *d = q + 256 * nb;
        size_t r = i % 16;
        for (size_t t = 0; t < T; t++) {
            float acc = 0.0f;
            for (size_t b = 0; b < nb; b++) {
                const uint8_t *blk = x + LL_R16X_BLOCK(T) * b;
                int32_t isum = ll_r16x_c(blk, T, t);
                for (size_t c = 0; c < 4; c++) {
                    int8_t lo[4], hi[4];
                    int32_t vl = ll_r16x_step(blk, T, c, t), vh = ll_r16x_step(blk, T, 4 + c, t);
                    memcpy(lo, &vl, 4);
                    memcpy(hi, &vh, 4);
                    for (size_t m = 0; m < 4; m++) {
                        uint8_t v = q[256 * b + 64 * c + 4 * r + m];
                        isum += (v & 0xF) * lo[m] + (v >> 4) * hi[m];
                    }
                }
                float dw = ll_fp16_to_fp32((uint16_t)(d[32 * b + 2 * r] | d[32 * b + 2 * r + 1] << 8));
                acc = fmaf((float)isum * dw, ll_r16x_d(blk, T, t), acc);
            }
            y[t * ldy + i] = acc;
        }
    }
}
