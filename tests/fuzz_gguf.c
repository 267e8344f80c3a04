/*
 * fuzz_gguf.c - libFuzzer target for a GGUF model file: the GGUF reader,
 * the model loader and the tokenizer loader, then the loaded model in use
 * (tokenize, decode, one forward step in a tiny context). Any input must
 * be rejected cleanly or loaded and usable, never read out of bounds.
 *
 * scripts/fuzz.sh [seconds] builds this and every other fuzz_* target with
 * clang, makes a seed corpus from ../shared/models and runs them. By hand:
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DLOGITLAB_FUZZ=ON -DLOGITLAB_BUILD_BENCH=OFF
 *   cmake --build build-fuzz --target fuzz_gguf
 *   mkdir -p corpus/gguf && cp ../shared/models/stories260K.gguf corpus/gguf/
 *   build-fuzz/tests/fuzz_gguf -max_len=16000000 -max_total_time=60 -rss_limit_mb=4096 -timeout=30 corpus/gguf
 * The corpus must be a directory (a file argument is only run once, not
 * fuzzed), and -max_len must cover the largest seed (libFuzzer's default
 * cuts inputs at 1 MB, before the tensor data of most models).
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ll_error err;
    ll_model *m = ll_model_load_memory(data, size, &err);
    if (!m) {
        fz_report("load", &err);
        return 0;
    }
    const ll_tokenizer *t = ll_model_get_tokenizer(m);
    if (t) fz_exercise_tokenizer(t, data, size);
    fz_exercise_model(m);
    ll_model_free(m);
    return 0;
}
