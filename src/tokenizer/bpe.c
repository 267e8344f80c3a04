/* bpe.c - placeholder until the byte-level BPE lands in this series. */
#include "tokenizer_impl.h"

ll_status ll_bpe_prepare(ll_tokenizer *t, const ll_gguf *g, ll_error *err) {
    (void)t;
    (void)g;
    (void)err;
    return LL_OK;
}

ll_status ll_bpe_encode(const ll_tokenizer *t, const char *text, size_t len, ll_ids *out, ll_error *err) {
    (void)t;
    (void)text;
    (void)len;
    (void)out;
    return ll_fail(err, LL_ERR_UNSUPPORTED, "byte-level BPE encoding is not implemented yet");
}

ll_status ll_wpm_encode(const ll_tokenizer *t, const char *text, size_t len, ll_ids *out, ll_error *err) {
    (void)t;
    (void)text;
    (void)len;
    (void)out;
    return ll_fail(err, LL_ERR_UNSUPPORTED, "WordPiece encoding is not implemented yet");
}
