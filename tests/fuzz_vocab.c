/*
 * fuzz_vocab.c - libFuzzer target for GGUF vocabulary files (the
 * tokenizer loader on its own, as `--tokenizer vocab.gguf` and the
 * tokenizer tests use it): SentencePiece, BPE and WordPiece vocabularies,
 * merges, token types and scores, special ids. A loaded tokenizer then
 * encodes and decodes text (byte tokens included). Run by scripts/fuzz.sh.
 */
#include "fuzz_common.h"
#include "format/gguf.h"
#include "tokenizer/tokenizer_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ll_error err;
    ll_gguf *g = ll_gguf_open_memory(data, size, &err);
    if (!g) {
        fz_report("gguf", &err);
        return 0;
    }
    ll_tokenizer *t = ll_tokenizer_from_gguf(g, &err);
    /* the tokenizer must own what it keeps: close the file first */
    ll_gguf_close(g);
    if (!t) {
        fz_report("tokenizer", &err);
        return 0;
    }
    fz_exercise_tokenizer(t, data, size);
    ll_tokenizer_free(t);
    return 0;
}
