/*
 * l2c.c - llama2.c's int8 matrix-vector product (runq.c's arithmetic, so
 * an int8 checkpoint gives the numbers llama2.c gives): scalar on purpose,
 * a reference engine's order of operations rather than a fast one.
 */
#include "l2c.h"

#include <math.h>
#include <stdbool.h>

/* Symmetric int8 per group, round half away from zero. Two cases runq.c
 * leaves to chance: a group of zeros (scale 0, so 0/0) quantizes to zeros;
 * a NaN or inf activation (weights from a broken file) has no int8 form,
 * so the group's scale becomes NaN and the logits say so (the sampler
 * rejects NaN logits) instead of an undefined conversion. */
void ll_l2c_quantize(const float *x, size_t n, int group, int8_t *q, float *s) {
    for (size_t g = 0; g < n / (size_t)group; g++) {
        const float *xg = x + g * (size_t)group;
        int8_t *qg = q + g * (size_t)group;
        float wmax = 0.0f;
        bool finite = true;
        for (int i = 0; i < group; i++) {
            float v = fabsf(xg[i]);
            finite = finite && isfinite(v);
            if (v > wmax) wmax = v;
        }
        float scale = wmax / 127.0f;
        s[g] = finite ? scale : NAN;
        /* |x| / scale is 127 up to rounding, except when scale is subnormal */
        for (int i = 0; i < group; i++)
            qg[i] = finite && scale > 0.0f ? (int8_t)round(fminf(fmaxf(xg[i] / scale, -127.0f), 127.0f)) : 0;
    }
}

void ll_l2c_matvec(const int8_t *wq, const float *ws, size_t rows, size_t cols, int group, const int8_t *xq,
                   const float *xs, float *y) {
    size_t G = (size_t)group;
    for (size_t i = 0; i < rows; i++) {
        float val = 0.0f;
        size_t in = i * cols;
        for (size_t j = 0; j + G <= cols; j += G) {
            int32_t ival = 0;
            for (size_t k = 0; k < G; k++) ival += (int32_t)xq[j + k] * (int32_t)wq[in + j + k];
            val += ((float)ival) * ws[(in + j) / G] * xs[j / G];
        }
        y[i] = val;
    }
}
