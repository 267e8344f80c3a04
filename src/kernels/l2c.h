/*
 * l2c.h - llama2.c's int8 format (runq.c), as its own kernel: weights and
 * activations quantized symmetrically to int8 per group of `group` values
 * with one float scale each, products summed in int32 per group (internal).
 * Not a GGUF type: the model loader keeps such weights as they are in the
 * checkpoint, and the forward pass quantizes each activation row here
 * before its products.
 */
#ifndef LL_L2C_H
#define LL_L2C_H

#include <stddef.h>
#include <stdint.h>

/* x[n] -> q[n] and s[n / group] (n a multiple of group), as runq.c. */
void ll_l2c_quantize(const float *x, size_t n, int group, int8_t *q, float *s);

/* y[rows] = W x for W as int8 wq[rows][cols] with scales ws[rows * cols /
 * group] (row-major, one per group), x as ll_l2c_quantize left it. */
void ll_l2c_matvec(const int8_t *wq, const float *ws, size_t rows, size_t cols, int group, const int8_t *xq,
                   const float *xs, float *y);

#endif /* LL_L2C_H */
