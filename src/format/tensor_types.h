/*
 * tensor_types.h - the ggml tensor types logitlab knows: their ids, block
 * sizes and byte sizes (internal).
 */
#ifndef LL_TENSOR_TYPES_H
#define LL_TENSOR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    LL_T_F32 = 0,
    LL_T_F16 = 1,
    LL_T_Q4_0 = 2,
    LL_T_Q4_1 = 3,
    LL_T_Q5_0 = 6,
    LL_T_Q5_1 = 7,
    LL_T_Q8_0 = 8,
    LL_T_Q8_1 = 9,
    LL_T_Q2_K = 10,
    LL_T_Q3_K = 11,
    LL_T_Q4_K = 12,
    LL_T_Q5_K = 13,
    LL_T_Q6_K = 14,
    LL_T_Q8_K = 15,
    LL_T_BF16 = 30,
    LL_T_COUNT = 40
};

typedef struct {
    const char *name;
    uint32_t block;      /* elements per block */
    uint32_t block_bytes;
    bool supported;      /* logitlab can compute with it */
} ll_type_info;

/* Info for a type id, or NULL if the id is not a ggml type we can even
 * size (unknown ids make a file unreadable). */
const ll_type_info *ll_type_info_of(uint32_t type);

#define LL_QK 32
#define LL_QK_K 256

#endif /* LL_TENSOR_TYPES_H */
