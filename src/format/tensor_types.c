/*
 * tensor_types.c - the table of ggml tensor types: names, block sizes and
 * byte sizes, and which of them logitlab computes with. It sits below the
 * GGUF reader, the kernels and the model, which all size tensors from it.
 */
#include "tensor_types.h"

static const ll_type_info type_table[LL_T_COUNT] = {
    [LL_T_F32] = {"F32", 1, 4, true},
    [LL_T_F16] = {"F16", 1, 2, true},
    [LL_T_Q4_0] = {"Q4_0", 32, 18, true},
    [LL_T_Q4_1] = {"Q4_1", 32, 20, true},
    [LL_T_Q5_0] = {"Q5_0", 32, 22, true},
    [LL_T_Q5_1] = {"Q5_1", 32, 24, true},
    [LL_T_Q8_0] = {"Q8_0", 32, 34, true},
    [LL_T_Q8_1] = {"Q8_1", 32, 36, false},
    [LL_T_Q2_K] = {"Q2_K", 256, 84, false},
    [LL_T_Q3_K] = {"Q3_K", 256, 110, false},
    [LL_T_Q4_K] = {"Q4_K", 256, 144, true},
    [LL_T_Q5_K] = {"Q5_K", 256, 176, true},
    [LL_T_Q6_K] = {"Q6_K", 256, 210, true},
    [LL_T_Q8_K] = {"Q8_K", 256, 292, false},
    [LL_T_BF16] = {"BF16", 1, 2, true},
};

const ll_type_info *ll_type_info_of(uint32_t type) {
    if (type >= LL_T_COUNT || !type_table[type].name) return NULL;
    return &type_table[type];
}
