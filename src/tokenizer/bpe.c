/*
 * bpe.c - GPT-2 byte-level BPE and WordPiece.
 *
 * BPE: the text is split by the vocabulary's pre-tokenizer (a list of
 * regular expressions, each splitting the pieces of the previous one; text
 * between matches is kept as its own piece), every byte of a piece is
 * mapped to a printable code point, and adjacent symbols are merged in the
 * order of tokenizer.ggml.merges (lowest rank first, leftmost on a tie).
 * The pre-tokenizer lists are llama.cpp's for each tokenizer.ggml.pre.
 *
 * WordPiece: lowercase and strip accents (unless the GGUF says otherwise),
 * split on whitespace, punctuation and CJK ideographs, then take the
 * longest vocabulary piece at each point ("▁" marks the start of a word in
 * GGUF BERT vocabularies); a word that cannot be covered is one [UNK].
 * A byte the byte-level vocabulary has no symbol for is an error naming it
 * (llama.cpp drops it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regex.h"
#include "tokenizer_impl.h"
#include "unicode.h"

/* ---- pre-tokenizers ---- */

#define G2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define L3                                                                                                        \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "      \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define QWEN2                                                                                                     \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "           \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

static const char *const pre_default[] = {"[\\p{P}\\$\\+<=>\\^~\\|]+", G2, "\\p{N}+", "[0-9][0-9][0-9]", NULL};
static const char *const pre_gpt2[] = {G2, NULL};
static const char *const pre_llama3[] = {L3, NULL};
static const char *const pre_qwen2[] = {QWEN2, NULL};
static const char *const pre_falcon[] = {"[\\p{P}\\$\\+<=>\\^~\\|`]+", G2, "[0-9][0-9][0-9]", NULL};
static const char *const pre_starcoder[] = {"\\p{N}", G2, NULL};
static const char *const pre_deepseek_coder[] = {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+",
                                                 "[\xe4\xb8\x80-\xe9\xbe\xa5\xe0\xa0\x80-\xe4\xb8\x80\xea\xb0\x80-\xed\x9f\xbf]+",
                                                 "\\p{N}", NULL};
static const char *const pre_deepseek_llm[] = {
    "[\r\n]",
    "\\s?[A-Za-z\xc2\xb5\xc3\x80-\xc3\x96\xc3\x98-\xc3\xb6\xc3\xb8-\xc6\xba\xc6\xbc-\xc6\xbf\xc7\x84-\xca\x93\xca\x95-"
    "\xca\xaf\xcd\xb0-\xcd\xb3\xcd\xb6\xcd\xb7\xcd\xbb-\xcd\xbd\xcd\xbf\xce\x86\xce\x88-\xce\x8a\xce\x8c\xce\x8e-\xce\xa1"
    "\xce\xa3-\xcf\xb5\xcf\xb7-\xd2\x81\xd2\x8a-\xd4\xaf\xd4\xb1-\xd5\x96\xe1\x82\xa0-\xe1\x83\x85\xe1\x8e\xa0-\xe1\x8f\xb5"
    "\xe1\x8f\xb8-\xe1\x8f\xbd\xe1\xb2\x90-\xe1\xb2\xba\xe1\xb2\xbd-\xe1\xb2\xbf\xe1\xb4\x80-\xe1\xb4\xab\xe1\xb5\xab-\xe1"
    "\xb5\xb7\xe1\xb5\xb9-\xe1\xb6\x9a\xe1\xb8\x80-\xe1\xbc\x95\xe1\xbc\x98-\xe1\xbc\x9d\xe1\xbc\xa0-\xe1\xbd\x85\xe1\xbd\x88"
    "-\xe1\xbd\x8d\xe1\xbd\x90-\xe1\xbd\x97\xe1\xbd\x99\xe1\xbd\x9b\xe1\xbd\x9d\xe1\xbd\x9f-\xe1\xbd\xbd\xe1\xbe\x80-\xe1\xbe"
    "\xb4\xe1\xbe\xb6-\xe1\xbe\xbc\xe1\xbe\xbe\xe1\xbf\x82-\xe1\xbf\x84\xe1\xbf\x86-\xe1\xbf\x8c\xe1\xbf\x90-\xe1\xbf\x93\xe1"
    "\xbf\x96-\xe1\xbf\x9b\xe1\xbf\xa0-\xe1\xbf\xac\xe1\xbf\xb2-\xe1\xbf\xb4\xe1\xbf\xb6-\xe1\xbf\xbc\xe2\x84\x82\xe2\x84\x87"
    "\xe2\x84\x8a-\xe2\x84\x93\xe2\x84\x95\xe2\x84\x99-\xe2\x84\x9d\xe2\x84\xa4\xe2\x84\xa6\xe2\x84\xa8\xe2\x84\xaa-\xe2\x84"
    "\xad\xe2\x84\xaf-\xe2\x84\xb4\xe2\x84\xb9\xe2\x84\xbc-\xe2\x84\xbf\xe2\x85\x85-\xe2\x85\x89\xe2\x85\x8e\xe2\x86\x83\xe2"
    "\x86\x84\xe2\xb0\x80-\xe2\xb1\xbb\xe2\xb1\xbe-\xe2\xb3\xa4\xe2\xb3\xab-\xe2\xb3\xae\xe2\xb3\xb2\xe2\xb3\xb3\xea\x99\x80"
    "-\xea\x99\xad\xea\x9a\x80-\xea\x9a\x9b\xea\x9c\xa2-\xea\x9d\xaf\xea\x9d\xb1-\xea\x9e\x87\xea\x9e\x8b-\xea\x9e\x8e\xea"
    "\xad\xb0-\xea\xae\xbf\xef\xac\x80-\xef\xac\x86\xef\xac\x93-\xef\xac\x97\xef\xbc\xa1-\xef\xbc\xba\xef\xbd\x81-\xef\xbd"
    "\x9a\xf0\x90\x90\x80-\xf0\x90\x91\x8f\xf0\x90\x92\xb0-\xf0\x90\x93\x93\xf0\x90\x93\x98-\xf0\x90\x93\xbb\xf0\x90\xb2\x80"
    "-\xf0\x90\xb2\xb2\xf0\x90\xb3\x80-\xf0\x90\xb3\xb2\xf0\x91\xa2\xa0-\xf0\x91\xa3\x9f\xf0\x9e\xa4\x80-\xf0\x9e\xa5\x83]+",
    "\\s?[!-/:-~\xef\xbc\x81-\xef\xbc\x8f\xef\xbc\x9a-\xef\xbd\x9e\xe2\x80\x98-\xe2\x80\x9f\xe3\x80\x80-\xe3\x80\x82]+",
    "\\s+$",
    "[\xe4\xb8\x80-\xe9\xbe\xa5\xe0\xa0\x80-\xe4\xb8\x80\xea\xb0\x80-\xed\x9f\xbf]+",
    "\\p{N}+",
    NULL};
static const char *const pre_bloom[] = {
    " ?[^(\\s|.,!?\xe2\x80\xa6\xe3\x80\x82\xef\xbc\x8c\xe3\x80\x81\xe0\xa5\xa4\xdb\x94\xd8\x8c)]+", NULL};

/* One row per tokenizer.ggml.pre name llama.cpp knows: the split, whether a
 * word found whole in the vocabulary skips merging, and whether BOS is added
 * when the file has no tokenizer.ggml.add_bos_token (llama.cpp turns it on
 * for the Llama 3 family, whose GGUFs usually carry no such key). */
static const struct {
    const char *name;
    ll_pre_kind kind;
    const char *const *exprs;
    bool ignore_merges;
    bool add_bos;
} pre_table[] = {
    {"default", LL_PRE_GPT2, pre_default, false, false},
    {"gpt-2", LL_PRE_GPT2, pre_gpt2, false, false},
    {"mpt", LL_PRE_MPT, pre_gpt2, false, false},
    {"olmo", LL_PRE_GPT2, pre_gpt2, false, false},
    {"jais", LL_PRE_GPT2, pre_gpt2, false, false},
    {"phi-2", LL_PRE_GPT2, pre_gpt2, false, false},
    {"llama3", LL_PRE_LLAMA3, pre_llama3, true, true},
    {"llama-v3", LL_PRE_LLAMA3, pre_llama3, true, true},
    {"llama-bpe", LL_PRE_LLAMA3, pre_llama3, true, true},
    {"falcon3", LL_PRE_LLAMA3, pre_llama3, true, true},
    {"dbrx", LL_PRE_LLAMA3, pre_llama3, false, false},
    {"smaug-bpe", LL_PRE_LLAMA3, pre_llama3, false, false},
    {"deepseek-llm", LL_PRE_DEEPSEEK_LLM, pre_deepseek_llm, false, false},
    {"deepseek-coder", LL_PRE_DEEPSEEK_CODER, pre_deepseek_coder, false, false},
    {"falcon", LL_PRE_FALCON, pre_falcon, false, false},
    {"starcoder", LL_PRE_STARCODER, pre_starcoder, false, false},
    {"refact", LL_PRE_REFACT, pre_starcoder, false, false},
    {"command-r", LL_PRE_STARCODER, pre_starcoder, false, false},
    {"smollm", LL_PRE_STARCODER, pre_starcoder, false, false},
    {"qwen2", LL_PRE_QWEN2, pre_qwen2, false, false},
    {"deepseek-r1-qwen", LL_PRE_QWEN2, pre_qwen2, false, false},
    {"stablelm2", LL_PRE_QWEN2, pre_qwen2, false, false},
    {"bloom", LL_PRE_GPT2, pre_bloom, false, false},
    {"poro-chat", LL_PRE_GPT2, pre_bloom, false, false},
};

/* The compiled pre-tokenizer and the merge table of one vocabulary. */
typedef struct ll_bpe_data {
    ll_regex *re[8];
    size_t n;
    char **merge_text;     /* merge strings "left right", by rank */
    uint32_t *merge_len;   /* their lengths */
    char *merge_block;     /* their storage */
    uint32_t *merge_slots; /* rank + 1, open addressing over merge_text */
    size_t merge_mask;
} bpe_data;

static const bpe_data *data_of(const ll_tokenizer *t) { return t->bpe; }

void ll_bpe_free(ll_tokenizer *t) {
    bpe_data *d = t->bpe;
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) ll_regex_free(d->re[i]);
    free(d->merge_slots);
    free(d->merge_text);
    free(d->merge_len);
    free(d->merge_block);
    free(d);
    t->bpe = NULL;
}

/* A merge is two non-empty pieces separated by one space (byte-level
 * pieces never contain a space: the byte 0x20 is written as U+0120). */
static bool merge_ok(const ll_gguf_str *m) {
    const char *sp = m->len ? memchr(m->ptr, ' ', m->len) : NULL;
    return sp && sp != m->ptr && sp != m->ptr + m->len - 1 &&
           !memchr(sp + 1, ' ', (size_t)(m->ptr + m->len - (sp + 1)));
}

ll_status ll_bpe_prepare(ll_tokenizer *t, const ll_gguf *g, ll_error *err) {
    bool found;
    char q[LL_QUOTE_MAX], kind[48];
    char *pre = ll_gguf_get_str(g, "tokenizer.ggml.pre", &found, err);
    if (found && !pre) return err ? err->status : LL_ERR_FORMAT; /* not a string (or out of memory) */
    const char *name = pre ? pre : "default";
    size_t which = LL_ARRAY_LEN(pre_table);
    for (size_t i = 0; i < LL_ARRAY_LEN(pre_table); i++)
        if (!strcmp(pre_table[i].name, name)) which = i;
    if (which == LL_ARRAY_LEN(pre_table)) {
        ll_status st = ll_fail(err, LL_ERR_UNSUPPORTED, "tokenizer.ggml.pre = '%s' is not a supported pre-tokenizer",
                               ll_quote(q, name, strlen(name)));
        free(pre);
        return st;
    }
    snprintf(t->desc, sizeof t->desc, "gpt2:%s", name);
    free(pre);
    t->pre = pre_table[which].kind;
    t->ignore_merges = pre_table[which].ignore_merges;
    if (pre_table[which].add_bos && !ll_gguf_find(g, "tokenizer.ggml.add_bos_token")) t->add_bos = true;
    const ll_gguf_kv *m = ll_gguf_find(g, "tokenizer.ggml.merges");
    /* as llama.cpp: a byte-level BPE vocabulary is its merges */
    if (!m) return ll_fail(err, LL_ERR_FORMAT, "tokenizer.ggml.merges is missing (a gpt2 vocabulary needs its merges)");
    if (m->type != LL_GGUF_ARRAY || m->arr_type != LL_GGUF_STRING)
        return ll_fail(err, LL_ERR_FORMAT, "tokenizer.ggml.merges is %s, expected an array of string (at byte offset %llu)",
                       ll_kv_kind(m, kind, sizeof kind), (unsigned long long)m->offset);
    /* ranks are stored as rank + 1 in uint32 and compared as int */
    if (m->arr_n > (uint64_t)INT32_MAX - 1)
        return ll_fail(err, LL_ERR_FORMAT, "tokenizer.ggml.merges has %llu entries (valid: at most %d)",
                       (unsigned long long)m->arr_n, INT32_MAX - 1);
    size_t nm = (size_t)m->arr_n;
    uint64_t total = 1;
    for (size_t i = 0; i < nm; i++) {
        const ll_gguf_str *s = &m->arr_str[i];
        if (!merge_ok(s))
            return ll_fail(err, LL_ERR_FORMAT,
                           "tokenizer.ggml.merges[%zu] = '%s' is not two pieces separated by one space", i,
                           ll_quote(q, s->ptr, s->len));
        /* a merge joins two pieces: bounded as they are, so that hashing the
         * symbols of a word stays proportional to its length */
        if (s->len > 2 * LL_TOKEN_MAX_BYTES + 1)
            return ll_fail(err, LL_ERR_FORMAT,
                           "tokenizer.ggml.merges[%zu] has %zu bytes (valid: at most %d, two pieces of at most %d "
                           "and a space)",
                           i, s->len, 2 * LL_TOKEN_MAX_BYTES + 1, LL_TOKEN_MAX_BYTES);
        if (!ll_add_ok(total, (uint64_t)s->len + 1, &total) || total > SIZE_MAX)
            return ll_fail(err, LL_ERR_FORMAT, "tokenizer.ggml.merges takes more than %zu bytes", (size_t)SIZE_MAX);
    }
    bpe_data *d = ll_calloc(1, sizeof *d, err);
    if (!d) return LL_ERR_OUT_OF_MEMORY;
    t->bpe = d;
    for (const char *const *e = pre_table[which].exprs; *e; e++) {
        d->re[d->n] = ll_regex_compile(*e, err);
        if (!d->re[d->n]) return LL_ERR_INVALID_ARGUMENT;
        d->n++;
    }
    size_t cap = 16;
    while (cap < 2 * nm + 2) cap <<= 1;
    d->merge_slots = ll_calloc(cap, sizeof *d->merge_slots, err);
    d->merge_text = ll_calloc(nm ? nm : 1, sizeof *d->merge_text, err);
    d->merge_len = ll_calloc(nm ? nm : 1, sizeof *d->merge_len, err);
    /* merge strings point into the GGUF file, which may be closed after
     * loading: copy them into one block owned here */
    d->merge_block = ll_malloc((size_t)total, err);
    if (!d->merge_slots || !d->merge_text || !d->merge_len || !d->merge_block) return LL_ERR_OUT_OF_MEMORY;
    d->merge_mask = cap - 1;
    char *p = d->merge_block;
    for (size_t i = 0; i < nm; i++) {
        const ll_gguf_str *s = &m->arr_str[i];
        memcpy(p, s->ptr, s->len);
        p[s->len] = '\0';
        d->merge_text[i] = p;
        d->merge_len[i] = (uint32_t)s->len;
        p += s->len + 1;
        size_t h = (size_t)ll_tok_hash(t, s->ptr, s->len) & d->merge_mask;
        bool dup = false;
        while (d->merge_slots[h]) {
            uint32_t o = d->merge_slots[h] - 1;
            if (d->merge_len[o] == s->len && memcmp(d->merge_text[o], s->ptr, s->len) == 0) {
                dup = true; /* the first rank wins, as llama.cpp's bpe_ranks.emplace */
                break;
            }
            h = (h + 1) & d->merge_mask;
        }
        if (!dup) d->merge_slots[h] = (uint32_t)i + 1;
    }
    return LL_OK;
}

/* The rank of the merge "a b", or -1: hashed and compared in place, so a
 * pair of any length is looked up (no buffer to outgrow). */
static int merge_rank(const ll_tokenizer *t, const bpe_data *d, const char *a, size_t na, const char *b, size_t nb) {
    ll_tok_hasher hs;
    ll_tok_hash_init(&hs, t);
    ll_tok_hash_feed(&hs, a, na);
    ll_tok_hash_feed(&hs, " ", 1);
    ll_tok_hash_feed(&hs, b, nb);
    size_t n = na + nb + 1;
    size_t h = (size_t)ll_tok_hash_end(&hs) & d->merge_mask;
    while (d->merge_slots[h]) {
        uint32_t r = d->merge_slots[h] - 1;
        const char *s = d->merge_text[r];
        if (d->merge_len[r] == n && memcmp(s, a, na) == 0 && s[na] == ' ' && memcmp(s + na + 1, b, nb) == 0)
            return (int)r;
        h = (h + 1) & d->merge_mask;
    }
    return -1;
}

/* GPT-2's bytes_to_unicode */
static uint32_t byte_cp(uint8_t b) {
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE)) return b;
    uint32_t n = 0;
    for (int x = 0; x < b; x++)
        if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE))) n++;
    return 256 + n;
}

typedef struct {
    size_t start, len; /* byte range in the encoded piece */
    int prev, next;
} sym;

typedef struct {
    int left, right, rank;
    size_t size;
} pair;

static bool pair_before(const pair *x, const pair *y) {
    return x->rank < y->rank || (x->rank == y->rank && x->left < y->left);
}

/* Encodes one byte-encoded piece. False when a symbol is not a token and
 * one of its characters (one byte of the text each) is not a token either:
 * *bad is where that character starts in w. */
static bool bpe_word(const ll_tokenizer *t, const bpe_data *d, const char *w, size_t n, ll_ids *out, size_t *bad) {
    if (t->ignore_merges) {
        int32_t id = ll_vocab_lookup(t, w, n);
        if (id >= 0) {
            ll_ids_push(out, id);
            return true;
        }
    }
    sym *s = malloc((n + 1) * sizeof *s);
    pair *heap = malloc((2 * n + 2) * sizeof *heap);
    size_t hn = 0, hcap = 2 * n + 2;
    bool ok = true;
    if (!s || !heap) {
        free(s);
        free(heap);
        out->oom = true;
        return true;
    }
    int ns = 0;
    for (size_t i = 0; i < n;) {
        size_t st = i;
        (void)ll_utf8_next(w, n, &i);
        s[ns].start = st;
        s[ns].len = i - st;
        s[ns].prev = ns - 1;
        s[ns].next = i < n ? ns + 1 : -1;
        ns++;
    }
#define PUSH_PAIR(l, r)                                                                               \
    do {                                                                                              \
        int rk_ = merge_rank(t, d, w + s[l].start, s[l].len, w + s[r].start, s[r].len);                \
        if (rk_ >= 0) {                                                                               \
            if (hn == hcap) {                                                                         \
                hcap *= 2;                                                                            \
                pair *nh_ = realloc(heap, hcap * sizeof *heap);                                       \
                if (!nh_) {                                                                           \
                    out->oom = true; /* a merge left out would change the result */                  \
                    break;                                                                            \
                }                                                                                     \
                heap = nh_;                                                                           \
            }                                                                                         \
            pair p_ = {l, r, rk_, s[l].len + s[r].len};                                               \
            size_t k_ = hn++;                                                                         \
            heap[k_] = p_;                                                                            \
            while (k_ > 0 && pair_before(&heap[k_], &heap[(k_ - 1) / 2])) {                           \
                pair tmp_ = heap[k_];                                                                 \
                heap[k_] = heap[(k_ - 1) / 2];                                                        \
                heap[(k_ - 1) / 2] = tmp_;                                                            \
                k_ = (k_ - 1) / 2;                                                                    \
            }                                                                                         \
        }                                                                                             \
    } while (0)
    for (int i = 1; i < ns; i++) PUSH_PAIR(i - 1, i);
    while (hn > 0) {
        pair top = heap[0];
        heap[0] = heap[--hn];
        for (size_t k = 0;;) {
            size_t l = 2 * k + 1, r = l + 1, m = k;
            if (l < hn && pair_before(&heap[l], &heap[m])) m = l;
            if (r < hn && pair_before(&heap[r], &heap[m])) m = r;
            if (m == k) break;
            pair tmp = heap[k];
            heap[k] = heap[m];
            heap[m] = tmp;
            k = m;
        }
        sym *L = &s[top.left], *R = &s[top.right];
        if (L->len == 0 || R->len == 0 || L->len + R->len != top.size || L->next != top.right) continue;
        L->len += R->len;
        R->len = 0;
        L->next = R->next;
        if (R->next >= 0) s[R->next].prev = top.left;
        if (L->prev >= 0) PUSH_PAIR(L->prev, top.left);
        if (L->next >= 0) PUSH_PAIR(top.left, L->next);
    }
#undef PUSH_PAIR
    for (int i = 0; ok && i >= 0 && i < ns; i = s[i].next) {
        int32_t id = ll_vocab_lookup(t, w + s[i].start, s[i].len);
        if (id >= 0) {
            ll_ids_push(out, id);
            continue;
        }
        /* a merge that made no token: its characters one by one. llama.cpp
         * looks up single bytes of the encoding instead and drops what it
         * does not find; a byte the vocabulary cannot express is an error
         * here, never left out without a word. */
        for (size_t k = s[i].start, e = s[i].start + s[i].len; k < e;) {
            size_t c = k;
            (void)ll_utf8_next(w, e, &k);
            int32_t b = ll_vocab_lookup(t, w + c, k - c);
            if (b < 0) {
                *bad = c;
                ok = false;
                break;
            }
            ll_ids_push(out, b);
        }
    }
    free(s);
    free(heap);
    return ok;
}

/* The error for a byte that has no token: the piece whose code points
 * start at cps[c0] has the unencodable character at byte e of its byte
 * encoding; name the byte, where it is in the text and the missing symbol. */
static ll_status missing_byte(const ll_tokenizer *t, const char *text, size_t len, size_t base, const uint32_t *cps,
                              size_t c0, size_t e, ll_error *err) {
    size_t c = c0, q = 0, m = 0;
    char u[4];
    size_t ul = ll_utf8_put(cps[c], u);
    for (;;) { /* each byte of each code point is one symbol of 1 or 2 bytes */
        char bl[4];
        size_t l = ll_utf8_put(byte_cp((uint8_t)u[q]), bl);
        if (m + l > e) break;
        m += l;
        if (++q == ul) ul = ll_utf8_put(cps[++c], u), q = 0;
    }
    size_t off = 0;
    for (size_t j = 0; j < c; j++) (void)ll_utf8_next(text, len, &off);
    uint8_t byte = (uint8_t)u[q];
    char where[160];
    if (off + ul <= len && memcmp(text + off, u, ul) == 0)
        snprintf(where, sizeof where, "byte 0x%02X at offset %zu of the text", byte, base + off + q);
    else /* the character is U+FFFD standing for a byte that is not UTF-8 */
        snprintf(where, sizeof where,
                 "byte 0x%02X of U+FFFD (which replaces the invalid UTF-8 at offset %zu of the text)", byte,
                 base + off);
    return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                   "%s has no token in this vocabulary (%s): tokenizer.ggml.tokens has no piece for its byte-level "
                   "symbol U+%04X",
                   where, t->desc, (unsigned)byte_cp(byte));
}

/* Splits [a, b) of cps by one regex: matches and the gaps between them. */
typedef struct {
    size_t *start, *end;
    size_t n, cap;
} spans;

static bool span_push(spans *sp, size_t a, size_t b) {
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? 2 * sp->cap : 64;
        size_t *s = realloc(sp->start, cap * sizeof *s), *e = NULL;
        if (s) sp->start = s;
        e = s ? realloc(sp->end, cap * sizeof *e) : NULL;
        if (!s || !e) return false;
        sp->end = e;
        sp->cap = cap;
    }
    sp->start[sp->n] = a;
    sp->end[sp->n] = b;
    sp->n++;
    return true;
}

ll_status ll_bpe_encode(const ll_tokenizer *t, const char *text, size_t len, size_t base, ll_ids *out,
                        ll_error *err) {
    const bpe_data *d = data_of(t);
    uint32_t *cps = malloc((len + 1) * sizeof *cps);
    spans cur = {0}, next = {0};
    char *enc = malloc(8 * len + 8);
    ll_status st = LL_OK;
    if (!cps || !enc) {
        st = ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    size_t n = 0;
    for (size_t i = 0; i < len;) cps[n++] = ll_utf8_next(text, len, &i);
    if (n == 0) goto done;
    bool room = span_push(&cur, 0, n);
    for (size_t r = 0; r < d->n; r++) {
        next.n = 0;
        for (size_t k = 0; k < cur.n; k++) {
            /* the span is matched as a text of its own: $ and lookahead stop at its end */
            size_t a = cur.start[k], b = cur.end[k], pos = a, gap = a;
            while (pos < b) {
                long e = ll_regex_match_at(d->re[r], cps + a, b - a, pos - a);
                if (e < 0 || (size_t)e + a == pos) {
                    pos++;
                    continue;
                }
                if (pos > gap) room &= span_push(&next, gap, pos);
                room &= span_push(&next, pos, (size_t)e + a);
                pos = gap = (size_t)e + a;
            }
            if (gap < b) room &= span_push(&next, gap, b);
        }
        spans tmp = cur;
        cur = next;
        next = tmp;
    }
    if (!room) { /* a piece left out would drop its text */
        st = ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < cur.n; k++) {
        /* byte-encode the piece: each byte of its UTF-8 (an invalid input
         * byte was read as U+FFFD, and counts as that character) becomes
         * one printable code point */
        size_t m = 0;
        for (size_t c = cur.start[k]; c < cur.end[k]; c++) {
            char u[4];
            size_t ul = ll_utf8_put(cps[c], u);
            for (size_t q = 0; q < ul; q++) m += ll_utf8_put(byte_cp((uint8_t)u[q]), enc + m);
        }
        size_t bad;
        if (!bpe_word(t, d, enc, m, out, &bad)) {
            st = missing_byte(t, text, len, base, cps, cur.start[k], bad, err);
            goto done;
        }
    }
done:
    free(cps);
    free(cur.start);
    free(cur.end);
    free(next.start);
    free(next.end);
    free(enc);
    return st;
}

/* ---- WordPiece ---- */

static bool is_cjk(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static void wpm_word(const ll_tokenizer *t, const char *w, size_t n, ll_ids *out) {
    if (n == 0) return;
    /* "▁" + word, then greedy longest match */
    char *buf = malloc(n + 3);
    if (!buf) {
        out->oom = true;
        return;
    }
    memcpy(buf, "\xe2\x96\x81", 3);
    memcpy(buf + 3, w, n);
    size_t m = n + 3, before = out->n;
    bool ok = true;
    for (size_t i = 0; i < m;) {
        /* the longest piece here: one walk down the trie, as long as the
         * longest piece that starts like the text at most */
        size_t l = 0;
        int32_t id = ll_trie_longest(&t->wpm, buf + i, m - i, &l);
        if (id < 0) {
            ok = false;
            break;
        }
        ll_ids_push(out, id);
        i += l;
    }
    if (!ok) { /* finish_vocab refuses a WordPiece vocabulary without an unknown token */
        out->n = before;
        ll_ids_push(out, t->unk);
    }
    free(buf);
}

ll_status ll_wpm_encode(const ll_tokenizer *t, const char *text, size_t len, ll_ids *out, ll_error *err) {
    char *word = malloc(4 * len + 8);
    if (!word) return ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
    size_t wn = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = ll_utf8_next(text, len, &i);
        if (ll_uc_is_whitespace(cp)) {
            wpm_word(t, word, wn, out);
            wn = 0;
            continue;
        }
        if (cp == 0 || cp == 0xFFFD || ll_uc_class(cp) == LL_UC_CONTROL) continue;
        if (t->wpm_strip_accents) {
            cp = ll_uc_nfd_base(cp);
            if (ll_uc_class(cp) == LL_UC_MARK) continue;
        }
        if (t->wpm_lowercase) cp = ll_uc_tolower(cp);
        int cls = ll_uc_class(cp);
        if (cls == LL_UC_PUNCT || (cp < 0x7F && cls == LL_UC_SYMBOL) || is_cjk(cp)) {
            wpm_word(t, word, wn, out);
            wn = ll_utf8_put(cp, word);
            wpm_word(t, word, wn, out);
            wn = 0;
            continue;
        }
        wn += ll_utf8_put(cp, word + wn);
    }
    wpm_word(t, word, wn, out);
    free(word);
    return LL_OK;
}
