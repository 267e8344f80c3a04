/*
 * fuzz_gguf.c - libFuzzer target for the GGUF reader, the tokenizer
 * loader and the model loader: any input must be rejected cleanly or
 * loaded, never read out of bounds. Build with clang:
 *   cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DLOGITLAB_FUZZ=ON && cmake --build build-fuzz
 *   build-fuzz/tests/fuzz_gguf -max_total_time=60 ../shared/models/stories260K.gguf
 * (a corpus directory of GGUF files works better than one file).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logitlab.h"
#include "model/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    ll_error err;
    ll_model *m = ll_model_load_memory(copy, size, &err);
    if (m) {
        const ll_tokenizer *t = ll_model_get_tokenizer(m);
        int32_t *ids = NULL;
        size_t n = 0;
        if (t && ll_tokenize(t, "Hello world", 11, true, true, &ids, &n, &err) == LL_OK) free(ids);
        ll_model_free(m);
    }
    free(copy);
    return 0;
}
