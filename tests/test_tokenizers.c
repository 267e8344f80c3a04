/*
 * test_tokenizers.c - tokenizer acceptance data (../shared/models):
 *  - every vocab/ggml-vocab-*.gguf with .inp/.out (llama.cpp's
 *    test-tokenizer-0 cases: SentencePiece, byte-level BPE with each
 *    pre-tokenizer (Llama 3's llama-bpe and Qwen2's among them), WordPiece),
 *    encoded without BOS;
 *  - expected/tok512.encode-cases.jsonl with tok512.bin and with the
 *    stories260K GGUF: the ids_runc_llamacpp field. llama2.c's run.c and
 *    llama.cpp agree on it; SentencePiece itself differs on leading and
 *    repeated spaces because it applies remove_extra_whitespaces, which
 *    neither engine does and logitlab follows the engines;
 *  - llama2-tokenizer/encode-cases.jsonl with the Llama 2 tokenizer.bin;
 *  - decoding: every case decodes back to its text where the tokenizer is
 *    lossless, and the streaming decoder emits only whole UTF-8 characters.
 */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"
#include "util/json.h"

static void vocab_case(const char *name) {
    char gguf[512], inp[600], outp[600];
    snprintf(gguf, sizeof gguf, "%s/models/vocab/ggml-vocab-%s.gguf", tu_shared(), name);
    snprintf(inp, sizeof inp, "%s.inp", gguf);
    snprintf(outp, sizeof outp, "%s.out", gguf);
    ll_error err;
    ll_tokenizer *t = ll_tokenizer_load(gguf, &err);
    CHECK(t != NULL, "%s: %s", name, err.message);
    size_t ni, no;
    char *in = tu_read_file(inp, &ni), *out = tu_read_file(outp, &no);
    CHECK(in && out, "%s: missing .inp/.out", name);
    if (!t || !in || !out) {
        ll_tokenizer_free(t);
        free(in);
        free(out);
        return;
    }
    const char *sep = "\n__ggml_vocab_test__\n";
    char *p = in, *line = out;
    int idx = 0, ok = 0;
    for (;;) {
        char *e = strstr(p, sep);
        if (!e) break;
        *e = '\0';
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        int32_t want[4096];
        size_t nw = 0;
        bool want_fits = true;
        for (char *q = line; *q;) {
            char *end;
            long v = strtol(q, &end, 10);
            if (end == q) break;
            if (nw == LL_ARRAY_LEN(want)) {
                want_fits = false;
                break;
            }
            want[nw++] = (int32_t)v;
            q = end;
        }
        CHECK(want_fits, "%s case %d: more than %zu expected ids", name, idx, LL_ARRAY_LEN(want));
        int32_t *ids;
        size_t n;
        ll_status st = ll_tokenize(t, p, strlen(p), false, false, &ids, &n, &err);
        CHECK(st == LL_OK, "%s case %d: %s", name, idx, err.message);
        if (st == LL_OK) {
            bool same = n == nw && memcmp(ids, want, n * sizeof *ids) == 0;
            if (!same) {
                char got[512] = "", exp[512] = "";
                for (size_t i = 0; i < n && i < 40; i++) snprintf(got + strlen(got), sizeof got - strlen(got), " %d", ids[i]);
                for (size_t i = 0; i < nw && i < 40; i++) snprintf(exp + strlen(exp), sizeof exp - strlen(exp), " %d", want[i]);
                CHECK(0, "%s case %d '%s':\n   got%s\n  want%s", name, idx, p, got, exp);
            } else {
                ok++;
            }
            free(ids);
        }
        p = e + strlen(sep);
        line = nl ? nl + 1 : line + strlen(line);
        idx++;
    }
    CHECK(idx == 46, "%s: %d cases read", name, idx);
    printf("%-16s %-24s %d/%d cases\n", name, ll_tokenizer_describe(t), ok, idx);
    free(in);
    free(out);
    ll_tokenizer_free(t);
}

static void jsonl_cases(const char *tok_path, const char *cases_path, const char *field, const char *label) {
    ll_error err;
    ll_tokenizer *t = ll_tokenizer_load(tok_path, &err);
    CHECK(t != NULL, "%s: %s", label, err.message);
    FILE *f = fopen(cases_path, "r");
    CHECK(f != NULL, "cannot open %s", cases_path);
    if (!t || !f) {
        ll_tokenizer_free(t);
        if (f) fclose(f);
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int idx = 0, ok = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        lj_doc *d = lj_parse(line, (size_t)len, &err);
        if (!d) continue;
        const lj_value *c = lj_root(d), *want = lj_get(c, field);
        const char *text = lj_get(c, "text")->str;
        int32_t *ids;
        size_t n;
        CHECK_OK(ll_tokenize(t, text, strlen(text), true, false, &ids, &n, &err), err);
        bool same = n == want->n;
        for (size_t i = 0; same && i < n; i++) same = ids[i] == (int32_t)lj_num(want->items[i]);
        CHECK(same, "%s case %d (%s): %zu ids, expected %zu", label, idx, text, n, want->n);
        ok += same;
        /* the streaming decoder gives back the text (SentencePiece drops the
         * prefix space after BOS) and never a broken UTF-8 character */
        ll_detokenizer *dt = ll_detokenizer_new(t, &err);
        size_t o = 0, l;
        char *round = malloc(4 * strlen(text) + 64);
        for (size_t i = 0; i < n; i++) {
            const char *s = ll_detokenizer_push(dt, ids[i], &l);
            memcpy(round + o, s, l);
            o += l;
        }
        const char *s = ll_detokenizer_flush(dt, &l);
        memcpy(round + o, s, l);
        o += l;
        round[o] = '\0';
        CHECK(strcmp(round, text) == 0, "%s case %d: decodes to '%s', expected '%s'", label, idx, round, text);
        free(round);
        ll_detokenizer_free(dt);
        free(ids);
        lj_free(d);
        idx++;
    }
    printf("%-40s %d/%d cases\n", label, ok, idx);
    free(line);
    fclose(f);
    ll_tokenizer_free(t);
}

static void streaming_utf8(void) {
    /* "é" (C3 A9) as two byte tokens: nothing is emitted until both came */
    char path[512];
    snprintf(path, sizeof path, "%s/models/tok512.bin", tu_shared());
    ll_error err;
    ll_tokenizer *t = ll_tokenizer_load(path, &err);
    if (!t) return;
    ll_detokenizer *d = ll_detokenizer_new(t, &err);
    size_t l;
    int32_t b1 = 3 + 0xC3, b2 = 3 + 0xA9;
    const char *s = ll_detokenizer_push(d, b1, &l);
    CHECK(l == 0, "half a character is held back, got %zu bytes", l);
    s = ll_detokenizer_push(d, b2, &l);
    CHECK(l == 2 && memcmp(s, "\xC3\xA9", 2) == 0, "the whole character comes out together");
    ll_detokenizer_push(d, b1, &l);
    s = ll_detokenizer_flush(d, &l);
    CHECK(l == 3 && memcmp(s, "\xEF\xBF\xBD", 3) == 0, "an unfinished character flushes as U+FFFD");
    ll_detokenizer_free(d);
    ll_tokenizer_free(t);
}

/* One text through a vocabulary: the ids must be exactly want[0..nw). */
static void expect_ids(const char *vocab, const char *text, bool add_special, bool parse_special, const int32_t *want,
                       size_t nw) {
    char path[512];
    snprintf(path, sizeof path, "%s/models/vocab/ggml-vocab-%s.gguf", tu_shared(), vocab);
    ll_error err;
    ll_tokenizer *t = ll_tokenizer_load(path, &err);
    CHECK(t != NULL, "%s: %s", vocab, err.message);
    if (!t) return;
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK_OK(ll_tokenize(t, text, strlen(text), add_special, parse_special, &ids, &n, &err), err);
    CHECK(n == nw && (n == 0 || memcmp(ids, want, n * sizeof *ids) == 0),
          "%s '%s' (add_special %d, parse_special %d): %zu ids, first %d", vocab, text, add_special, parse_special, n,
          n ? ids[0] : -1);
    free(ids);
    ll_tokenizer_free(t);
}

/* The end-of-generation set of a vocabulary, in order: eos, eot, then the
 * tokens llama.cpp recognises by their text. */
static void expect_eog(const char *vocab, const int32_t *want, size_t nw) {
    char path[512];
    snprintf(path, sizeof path, "%s/models/vocab/ggml-vocab-%s.gguf", tu_shared(), vocab);
    ll_error err;
    ll_tokenizer *t = ll_tokenizer_load(path, &err);
    CHECK(t != NULL, "%s: %s", vocab, err.message);
    if (!t) return;
    int32_t ids[16];
    size_t n = ll_tokenizer_eog_ids(t, ids, LL_ARRAY_LEN(ids));
    CHECK(n == nw && memcmp(ids, want, n * sizeof *ids) == 0, "%s: %zu end-of-generation ids, expected %zu", vocab, n,
          nw);
    for (size_t i = 0; i < nw; i++) CHECK(ll_tokenizer_is_eog(t, want[i]), "%s: %d ends a generation", vocab, want[i]);
    ll_tokenizer_free(t);
}

/* Llama 3 and Qwen2 as llama.cpp loads them: llama-bpe adds BOS with no
 * add_bos_token key (the Llama 3 family's default), qwen2 says false; the
 * chat markers are single tokens with parse_special; generation ends at
 * the end of a turn (<|eot_id|>, <|im_end|>) as well as at eos. */
static void llama3_qwen2_specials(void) {
    expect_ids("llama-bpe", "Hello", true, false, (const int32_t[]){128000, 9906}, 2);
    expect_ids("llama-bpe", "Hello", false, false, (const int32_t[]){9906}, 1);
    expect_ids("llama-bpe", "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", false, true,
               (const int32_t[]){128006, 882, 128007, 271, 13347, 128009}, 6);
    expect_ids("qwen2", "Hello", true, false, (const int32_t[]){9707}, 1);
    expect_ids("qwen2", "<|im_start|>user\nHi<|im_end|>", true, true,
               (const int32_t[]){151644, 872, 198, 13048, 151645}, 5);
    /* without parse_special the markers are plain text */
    expect_ids("qwen2", "<|im_end|>", false, false, (const int32_t[]){27, 91, 318, 6213, 91, 29}, 6);
    expect_eog("llama-bpe", (const int32_t[]){128001, 128009}, 2); /* <|end_of_text|>, <|eot_id|> */
    expect_eog("qwen2", (const int32_t[]){151645, 151643}, 2);     /* <|im_end|>, <|endoftext|> */
    expect_eog("phi-3", (const int32_t[]){32000, 32007}, 2);       /* <|endoftext|>, <|end|> */
    expect_eog("gpt-2", (const int32_t[]){50256}, 1);              /* eos is <|endoftext|> itself */
}

int main(void) {
    const char *vocabs[] = {"llama-spm", "phi-3", "gpt-2", "mpt", "falcon", "starcoder", "refact", "deepseek-coder",
                            "deepseek-llm", "bert-bge", "llama-bpe", "qwen2"};
    for (size_t i = 0; i < LL_ARRAY_LEN(vocabs); i++) vocab_case(vocabs[i]);
    char tok[512], cases[512];
    snprintf(tok, sizeof tok, "%s/models/tok512.bin", tu_shared());
    snprintf(cases, sizeof cases, "%s/models/expected/tok512.encode-cases.jsonl", tu_shared());
    jsonl_cases(tok, cases, "ids_runc_llamacpp", "tok512.bin");
    snprintf(tok, sizeof tok, "%s/models/stories260K.gguf", tu_shared());
    jsonl_cases(tok, cases, "ids_runc_llamacpp", "stories260K.gguf");
    snprintf(tok, sizeof tok, "%s/models/llama2-tokenizer/tokenizer.bin", tu_shared());
    snprintf(cases, sizeof cases, "%s/models/llama2-tokenizer/encode-cases.jsonl", tu_shared());
    jsonl_cases(tok, cases, "ids", "llama2 tokenizer.bin");
    streaming_utf8();
    llama3_qwen2_specials();
    return tu_finish("tokenizers");
}
