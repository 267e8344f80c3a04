/*
 * fuzz_common.h - what every libFuzzer target does with a tokenizer or a
 * model it managed to load: use it, with bounded work, so that a file
 * that loads but lies (a byte token without its byte, a special id past
 * the vocabulary, an embedding with fewer rows than tokens) is caught
 * where it would hurt a user, not only at load time.
 *
 * Header-only (static functions) so each target stays one source file.
 */
#ifndef LL_FUZZ_COMMON_H
#define LL_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logitlab.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LL_FUZZ_VERBOSE=1 prints why an input was rejected (when running one
 * reproducer or seed by hand: `fuzz_x FILE`). */
static inline void fz_report(const char *what, const ll_error *err) {
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("LL_FUZZ_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "%s: %s\n", what, err->message);
}

/* Text that reaches every encoder path: ASCII words and digits, runs of
 * spaces and newlines, multi-byte UTF-8, bytes that are not UTF-8 (byte
 * fallback), and the special-token spellings of the common vocabularies. */
static const char fz_text[] = "Hello world, 12345 it's  \n\n\t  tabs  caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80"
                              " \xff\xfe\x80 bad<s></s><unk><|endoftext|><|im_start|>[CLS][SEP]<0x0A> x";

/* Encodes text, then decodes every id both ways (token_to_bytes and the
 * streaming detokenizer). */
static inline void fz_round_trip(const ll_tokenizer *t, const char *text, size_t len, bool add_special, bool parse_special) {
    ll_error err;
    int32_t *ids = NULL;
    size_t n = 0;
    if (ll_tokenize(t, text, len, add_special, parse_special, &ids, &n, &err) != LL_OK) return;
    size_t nv = ll_tokenizer_n_vocab(t);
    ll_detokenizer *d = ll_detokenizer_new(t, &err);
    char buf[64];
    for (size_t i = 0; i < n; i++) {
        /* an encoder must only produce ids of its own vocabulary */
        if (ids[i] < 0 || (size_t)ids[i] >= nv) abort();
        (void)ll_token_to_bytes(t, ids[i], true, buf, sizeof buf);
        size_t dl;
        if (d) (void)ll_detokenizer_push(d, ids[i], &dl);
    }
    if (d) {
        size_t dl;
        (void)ll_detokenizer_flush(d, &dl);
        ll_detokenizer_free(d);
    }
    free(ids);
}

/* Decodes token id (its text, its bytes with and without specials, into a
 * buffer too small and one large enough). */
static inline void fz_decode_id(const ll_tokenizer *t, int32_t id) {
    char small[4], big[256];
    const char *s = ll_token_text(t, id);
    (void)strlen(s);
    size_t n = ll_token_to_bytes(t, id, false, small, sizeof small);
    (void)n;
    n = ll_token_to_bytes(t, id, true, big, sizeof big);
    (void)n;
}

/* The whole tokenizer API on a loaded tokenizer. tail: bytes from the
 * input used as a second text, so the fuzzer also steers the encoder. */
static inline void fz_exercise_tokenizer(const ll_tokenizer *t, const uint8_t *tail, size_t tail_len) {
    (void)ll_tokenizer_describe(t);
    (void)ll_tokenizer_get_kind(t);
    (void)ll_tokenizer_adds_bos(t);
    size_t nv = ll_tokenizer_n_vocab(t);
    int32_t eog[16];
    size_t ne = ll_tokenizer_eog_ids(t, eog, 16);
    for (size_t i = 0; i < ne && i < 16; i++) fz_decode_id(t, eog[i]);
    fz_decode_id(t, ll_tokenizer_bos(t));
    fz_decode_id(t, ll_tokenizer_eos(t));
    fz_decode_id(t, -1);
    fz_decode_id(t, (int32_t)(nv > INT32_MAX ? INT32_MAX : nv));
    /* every id of a small vocabulary; of a large one the first 600 (the
     * byte tokens live there) and the last 100 */
    for (size_t i = 0; i < nv && i < 600; i++) fz_decode_id(t, (int32_t)i);
    for (size_t i = nv > 700 ? nv - 100 : nv; i < nv; i++) fz_decode_id(t, (int32_t)i);
    fz_round_trip(t, fz_text, sizeof fz_text - 1, true, true);
    fz_round_trip(t, fz_text, sizeof fz_text - 1, false, false);
    if (tail_len > 256) {
        tail += tail_len - 256;
        tail_len = 256;
    }
    fz_round_trip(t, (const char *)tail, tail_len, true, true);
}

/* One token at the first and the last id of the vocabulary through a
 * 4-position context: the embedding lookup, every layer and the
 * classifier; the work is bounded by the weights the file holds. */
static inline void fz_exercise_model(ll_model *m) {
    ll_error err;
    const ll_model_info *info = ll_model_get_info(m);
    ll_context *c = ll_context_new(m, 4, 1, &err);
    float *logits = info->n_vocab ? malloc(info->n_vocab * sizeof *logits) : NULL;
    if (c && logits) {
        int32_t tok[2] = {0, (int32_t)(info->n_vocab - 1)};
        if (ll_context_decode(c, tok, 1, logits, NULL, &err) != LL_OK ||
            ll_context_decode(c, tok + 1, 1, logits, NULL, &err) != LL_OK)
            fz_report("decode", &err);
    } else {
        fz_report("context", &err);
    }
    free(logits);
    ll_context_free(c);
}

#endif /* LL_FUZZ_COMMON_H */
