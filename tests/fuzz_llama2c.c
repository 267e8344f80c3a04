/*
 * fuzz_llama2c.c - libFuzzer target for llama2.c checkpoints (the legacy
 * fp32 format with its 7-int header, and the version-2 int8 format with
 * its 256-byte header) through the model loader's in-memory entry, then
 * one forward step at the first and last token id in a tiny context.
 * Run by scripts/fuzz.sh.
 */
#include "fuzz_common.h"
#include "core/internal.h"
#include "model/model_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ll_error err;
    ll_model *m = calloc(1, sizeof *m);
    if (!m) return 0;
    /* what ll_model_load does after mapping a file that is not GGUF (the
     * model's own mapping stays empty: the fuzzer owns the bytes) */
    if (ll_model_from_llama2c(m, data, size, &err) == LL_OK) {
        fz_exercise_model(m);
    } else {
        fz_report("load", &err);
    }
    ll_model_free(m);
    return 0;
}
