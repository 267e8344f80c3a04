/*
 * test_matmul_tables.h - the matrix kernel tables this CPU can run
 * (scalar first: the reference), for the tests that compare them.
 */
#ifndef LL_TEST_MATMUL_TABLES_H
#define LL_TEST_MATMUL_TABLES_H

#include <stddef.h>

#include "kernels/matmul.h"

/* Fills out[] (room for 4) and returns how many. */
static inline size_t tu_matmul_tables(const ll_matmul_kernels *out[4]) {
    size_t n = 0;
    out[n++] = &ll_matmul_scalar;
#ifdef LL_HAVE_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        out[n++] = &ll_matmul_avx2;
#endif
#ifdef LL_HAVE_AVX512
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq")) {
        out[n++] = &ll_matmul_avx512;
        if (__builtin_cpu_supports("avx512vnni")) out[n++] = &ll_matmul_avx512_vnni;
    }
#endif
    return n;
}

#endif /* LL_TEST_MATMUL_TABLES_H */
