/*
 * fuzz_tokbin.c - libFuzzer target for llama2.c's tokenizer.bin (max token
 * length, then score, length and bytes per token), as loaded by
 * `--tokenizer tokenizer.bin`; a loaded tokenizer then encodes and decodes
 * text, byte tokens included. Run by scripts/fuzz.sh.
 */
#include "fuzz_common.h"
#include "tokenizer/tokenizer_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ll_error err;
    ll_tokenizer *t = ll_tokenizer_from_llama2c(data, size, &err);
    if (!t) {
        fz_report("tokenizer", &err);
        return 0;
    }
    fz_exercise_tokenizer(t, data, size);
    ll_tokenizer_free(t);
    return 0;
}
