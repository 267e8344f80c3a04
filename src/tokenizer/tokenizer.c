/*
 * tokenizer.c - vocabularies from GGUF metadata or a llama2.c
 * tokenizer.bin, the common encoding steps (special tokens, BOS/EOS) and
 * decoding, including a streaming decoder that never emits a split UTF-8
 * character.
 *
 * Both vocabulary files are untrusted input. Loading checks every count and
 * size with overflow-checked arithmetic, rejects metadata that contradicts
 * itself (array lengths, token types, special ids, byte tokens) with a
 * message naming the key and the value, and stays O(n log n) in the size of
 * the vocabulary whatever it contains.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* getentropy */
#include "tokenizer_impl.h"

#include "../core/file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__linux__) || defined(__APPLE__)
#include <unistd.h>
#if defined(__APPLE__)
#include <sys/random.h>
#endif
#define LL_HAVE_GETENTROPY 1
#endif

/* ---- hashing: SipHash-1-3 with a per-tokenizer key ---- */

static inline uint64_t rotl64(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

#define SIP_ROUND(v0, v1, v2, v3)                                                                                \
    do {                                                                                                        \
        v0 += v1, v1 = rotl64(v1, 13), v1 ^= v0, v0 = rotl64(v0, 32);                                          \
        v2 += v3, v3 = rotl64(v3, 16), v3 ^= v2;                                                                \
        v0 += v3, v3 = rotl64(v3, 21), v3 ^= v0;                                                                \
        v2 += v1, v1 = rotl64(v1, 17), v1 ^= v2, v2 = rotl64(v2, 32);                                          \
    } while (0)

/* 8 bytes as a little-endian word, whatever the host's order, so that the
 * one-shot and the incremental hash agree */
static inline uint64_t load64le(const char *p) {
    uint64_t m;
    memcpy(&m, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    m = __builtin_bswap64(m);
#endif
    return m;
}

static inline void sip_block(ll_tok_hasher *h, uint64_t m) {
    h->v3 ^= m;
    SIP_ROUND(h->v0, h->v1, h->v2, h->v3);
    h->v0 ^= m;
}

void ll_tok_hash_init(ll_tok_hasher *h, const ll_tokenizer *t) {
    h->v0 = t->hash_key[0] ^ 0x736f6d6570736575ull;
    h->v1 = t->hash_key[1] ^ 0x646f72616e646f6dull;
    h->v2 = t->hash_key[0] ^ 0x6c7967656e657261ull;
    h->v3 = t->hash_key[1] ^ 0x7465646279746573ull;
    h->tail = 0;
    h->len = 0;
}

void ll_tok_hash_feed(ll_tok_hasher *h, const char *s, size_t n) {
    size_t i = 0;
    for (; i < n && (h->len & 7); i++) {
        h->tail |= (uint64_t)(uint8_t)s[i] << (8 * (h->len & 7));
        if ((++h->len & 7) == 0) sip_block(h, h->tail), h->tail = 0;
    }
    for (; i + 8 <= n; i += 8, h->len += 8) sip_block(h, load64le(s + i));
    for (; i < n; i++) {
        h->tail |= (uint64_t)(uint8_t)s[i] << (8 * (h->len & 7));
        if ((++h->len & 7) == 0) sip_block(h, h->tail), h->tail = 0;
    }
}

uint64_t ll_tok_hash_end(ll_tok_hasher *h) {
    sip_block(h, h->tail | h->len << 56);
    h->v2 ^= 0xff;
    SIP_ROUND(h->v0, h->v1, h->v2, h->v3);
    SIP_ROUND(h->v0, h->v1, h->v2, h->v3);
    SIP_ROUND(h->v0, h->v1, h->v2, h->v3);
    return h->v0 ^ h->v1 ^ h->v2 ^ h->v3;
}

/* The same value as init + feed + end, in registers: the piece map's hot path. */
uint64_t ll_tok_hash(const ll_tokenizer *t, const char *s, size_t n) {
    uint64_t v0 = t->hash_key[0] ^ 0x736f6d6570736575ull, v1 = t->hash_key[1] ^ 0x646f72616e646f6dull;
    uint64_t v2 = t->hash_key[0] ^ 0x6c7967656e657261ull, v3 = t->hash_key[1] ^ 0x7465646279746573ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t m = load64le(s + i);
        v3 ^= m;
        SIP_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    uint64_t last = (uint64_t)n << 56;
    for (size_t k = 0; i + k < n; k++) last |= (uint64_t)(uint8_t)s[i + k] << (8 * k);
    v3 ^= last;
    SIP_ROUND(v0, v1, v2, v3);
    v0 ^= last;
    v2 ^= 0xff;
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* A key nobody who writes a vocabulary file can know in advance. */
static void draw_hash_key(ll_tokenizer *t) {
    uint64_t k[2] = {0, 0};
    bool got = false;
#ifdef LL_HAVE_GETENTROPY
    got = getentropy(k, sizeof k) == 0;
#endif
    if (!got) { /* the clock and where this tokenizer lives (ASLR) */
        struct timespec ts;
        timespec_get(&ts, TIME_UTC);
        k[0] = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec;
        k[1] = (uint64_t)(uintptr_t)t ^ (uint64_t)(uintptr_t)&ts << 17 ^ (uint64_t)clock();
    }
    t->hash_key[0] = k[0];
    t->hash_key[1] = k[1];
}

static bool map_build(ll_tokenizer *t, ll_error *err) {
    size_t cap = 16;
    while (cap < t->n * 2) cap <<= 1; /* n <= INT32_MAX: no overflow */
    t->map.slots = ll_calloc(cap, sizeof *t->map.slots, err);
    if (!t->map.slots) return false;
    t->map.mask = cap - 1;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = (size_t)ll_tok_hash(t, t->text[i], t->len[i]) & t->map.mask;
        bool dup = false;
        while (t->map.slots[h]) {
            uint32_t j = t->map.slots[h] - 1;
            if (t->len[j] == t->len[i] && memcmp(t->text[j], t->text[i], t->len[i]) == 0) {
                dup = true; /* duplicate pieces: the first id wins */
                break;
            }
            h = (h + 1) & t->map.mask;
        }
        if (!dup) t->map.slots[h] = (uint32_t)i + 1;
    }
    return true;
}

int32_t ll_vocab_lookup(const ll_tokenizer *t, const char *s, size_t len) {
    size_t h = (size_t)ll_tok_hash(t, s, len) & t->map.mask;
    while (t->map.slots[h]) {
        uint32_t j = t->map.slots[h] - 1;
        if (t->len[j] == len && memcmp(t->text[j], s, len) == 0) return (int32_t)j;
        h = (h + 1) & t->map.mask;
    }
    return -1;
}

void ll_ids_push(ll_ids *v, int32_t id) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        int32_t *a = realloc(v->ids, cap * sizeof *a);
        if (!a) {
            v->oom = true;
            return;
        }
        v->ids = a;
        v->cap = cap;
    }
    v->ids[v->n++] = id;
}

/* ---- small parsers and message helpers ---- */

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int ll_byte_token_value(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int hi = hex_digit(s[3]), lo = hex_digit(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

const char *ll_kv_kind(const ll_gguf_kv *kv, char *buf, size_t cap) {
    if (kv->type == LL_GGUF_ARRAY) snprintf(buf, cap, "an array of %s", ll_gguf_type_name(kv->arr_type));
    else {
        const char *n = ll_gguf_type_name(kv->type);
        snprintf(buf, cap, "%s %s", (n[0] == 'i' || n[0] == 'a') ? "an" : "a", n);
    }
    return buf;
}

/* ---- tries for longest-match encoding ---- */

typedef struct {
    const char *s;
    uint32_t len;
    int32_t id;
} trie_key;

/* by text (bytes unsigned, a prefix first), then by id */
static int trie_key_cmp(const void *a, const void *b) {
    const trie_key *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
    if (c) return c;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Builds the trie of the non-empty texts of the tokens `want` accepts. The
 * keys are sorted, so each node is a range of them sharing its prefix: a
 * key as long as the prefix ends there (the first, lowest id, of equal
 * texts wins), the rest split by their next byte into the children. Every
 * key is visited once per node on its path: O(total text bytes) after the
 * sort. */
static bool trie_build(ll_trie *tr, const ll_tokenizer *t, bool (*want)(const ll_tokenizer *, size_t),
                       ll_error *err) {
    trie_key *keys = NULL;
    uint32_t *lo = NULL, *hi = NULL;
    uint16_t *depth = NULL;
    bool ok = false;
    size_t nk = 0;
    uint64_t bytes = 1; /* the root */
    for (size_t i = 0; i < t->n; i++)
        if (t->len[i] > 0 && want(t, i)) nk++, bytes += t->len[i]; /* n and each len are bounded: no wrap */
    if (bytes > UINT32_MAX) {
        ll_fail(err, LL_ERR_FORMAT, "the vocabulary's token texts take %llu bytes (valid: at most %u)",
                (unsigned long long)bytes - 1, UINT32_MAX - 1);
        return false;
    }
    size_t cap = (size_t)bytes; /* at most one node per key byte */
    keys = ll_calloc(nk ? nk : 1, sizeof *keys, err);
    tr->node = ll_calloc(cap, sizeof *tr->node, err);
    lo = ll_calloc(cap, sizeof *lo, err);
    hi = ll_calloc(cap, sizeof *hi, err);
    depth = ll_calloc(cap, sizeof *depth, err);
    if (!keys || !tr->node || !lo || !hi || !depth) goto done;
    nk = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->len[i] > 0 && want(t, i)) keys[nk++] = (trie_key){t->text[i], t->len[i], (int32_t)i};
    qsort(keys, nk, sizeof *keys, trie_key_cmp);
    tr->node[0] = (ll_trie_node){0, -1, 0, 0};
    lo[0] = 0, hi[0] = (uint32_t)nk, depth[0] = 0;
    tr->n = 1;
    for (size_t x = 0; x < tr->n; x++) { /* breadth first: children are appended together */
        size_t j = lo[x], d = depth[x];
        if (j < hi[x] && keys[j].len == d) tr->node[x].id = keys[j].id;
        while (j < hi[x] && keys[j].len == d) j++;
        tr->node[x].first = (uint32_t)tr->n;
        while (j < hi[x]) {
            uint8_t c = (uint8_t)keys[j].s[d];
            size_t k = j;
            while (k < hi[x] && (uint8_t)keys[k].s[d] == c) k++;
            size_t y = tr->n++;
            tr->node[y] = (ll_trie_node){0, -1, 0, c};
            lo[y] = (uint32_t)j, hi[y] = (uint32_t)k, depth[y] = (uint16_t)(d + 1); /* d < LL_TOKEN_MAX_BYTES */
            tr->node[x].n_child++;
            j = k;
        }
    }
    /* shared prefixes leave most of the worst-case room unused */
    ll_trie_node *fit = realloc(tr->node, tr->n * sizeof *tr->node);
    if (fit) tr->node = fit;
    ok = true;
done:
    free(keys);
    free(lo);
    free(hi);
    free(depth);
    return ok;
}

int32_t ll_trie_longest(const ll_trie *tr, const char *s, size_t n, size_t *len) {
    int32_t best = -1;
    size_t x = 0;
    for (size_t d = 0; d < n; d++) {
        const ll_trie_node *p = &tr->node[x];
        uint8_t c = (uint8_t)s[d];
        size_t a = p->first, b = a + p->n_child;
        while (a < b) {
            size_t mid = a + (b - a) / 2;
            if (tr->node[mid].byte < c) a = mid + 1;
            else b = mid;
        }
        if (a == (size_t)p->first + p->n_child || tr->node[a].byte != c) break;
        x = a;
        if (tr->node[x].id >= 0) {
            best = tr->node[x].id;
            *len = d + 1;
        }
    }
    return best;
}

/* ---- construction ---- */

void ll_tokenizer_free(ll_tokenizer *t) {
    if (!t) return;
    free(t->text);
    free(t->len);
    free(t->score);
    free(t->type);
    free(t->map.slots);
    ll_bpe_free(t);
    free(t->special.node);
    free(t->user.node);
    free(t->wpm.node);
    free(t->eog);
    free(t->storage);
    free(t);
}

/* n tokens whose texts, each with its NUL, take storage_bytes. */
static ll_tokenizer *alloc_vocab(size_t n, size_t storage_bytes, ll_error *err) {
    ll_tokenizer *t = ll_calloc(1, sizeof *t, err);
    if (!t) return NULL;
    t->n = n;
    t->text = ll_calloc(n, sizeof *t->text, err);
    t->len = ll_calloc(n, sizeof *t->len, err);
    t->score = ll_calloc(n, sizeof *t->score, err);
    t->type = ll_calloc(n, sizeof *t->type, err);
    t->storage = ll_malloc(storage_bytes, err);
    if (!t->text || !t->len || !t->score || !t->type || !t->storage) {
        ll_tokenizer_free(t);
        return NULL;
    }
    t->bos = t->eos = t->unk = t->eot = t->sep = t->pad = t->mask_id = -1;
    for (int i = 0; i < 256; i++) t->byte_id[i] = -1;
    draw_hash_key(t);
    return t;
}

static bool is_special(int32_t ty) {
    return ty == LL_TOK_CONTROL || ty == LL_TOK_USER_DEFINED || ty == LL_TOK_UNKNOWN;
}

/* which tokens each trie holds */
static bool want_special(const ll_tokenizer *t, size_t i) { return is_special(t->type[i]); }
static bool want_user(const ll_tokenizer *t, size_t i) { return t->type[i] == LL_TOK_USER_DEFINED; }
static bool want_any(const ll_tokenizer *t, size_t i) {
    (void)t, (void)i;
    return true;
}

/* Names token i in messages: the GGUF array element or the tokenizer.bin entry. */
static const char *token_name(char *buf, size_t cap, bool gguf, size_t i) {
    snprintf(buf, cap, gguf ? "tokenizer.ggml.tokens[%zu]" : "tokenizer.bin token %zu", i);
    return buf;
}

/* Texts of tokens that end a turn whatever the eos/eot keys say: llama.cpp
 * puts every token spelled like one of these into its end-of-generation set
 * (Llama 3's <|eot_id|> and <|end_of_text|>, Qwen's <|im_end|> and
 * <|endoftext|>, Phi-3's <|end|>, Gemma's <end_of_turn>, ...), so a chat
 * stops at the end of the assistant's turn. */
static const char *const eog_texts[] = {"<|eot_id|>",    "<|im_end|>",    "<|end|>",  "<|return|>",
                                        "<|call|>",      "<end_of_turn>", "<|endoftext|>",
                                        "<|eom_id|>",    "<EOT>",         "_<EOT>",   "<|end_of_text|>",
                                        "<end_of_utterance>"};

static void add_eog(ll_tokenizer *t, int32_t id) {
    if (id < 0 || (size_t)id >= t->n) return;
    for (size_t j = 0; j < t->n_eog; j++)
        if (t->eog[j] == id) return;
    t->eog[t->n_eog++] = id;
}

/* The EOG set: eos, eot, then the tokens named in eog_texts. gpt-oss's
 * harmony format ends a message with <|end|> but a generation only at
 * <|return|> or <|call|>: where both exist, llama.cpp drops <|end|>, and so
 * does this. */
static bool build_eog(ll_tokenizer *t, ll_error *err) {
    t->eog = ll_calloc(2 + LL_ARRAY_LEN(eog_texts), sizeof *t->eog, err);
    if (!t->eog) return false;
    add_eog(t, t->eos);
    add_eog(t, t->eot);
    for (size_t i = 0; i < LL_ARRAY_LEN(eog_texts); i++)
        add_eog(t, ll_vocab_lookup(t, eog_texts[i], strlen(eog_texts[i])));
    int32_t end = ll_vocab_lookup(t, "<|end|>", 7);
    if (end >= 0 && ll_vocab_lookup(t, "<|return|>", 10) >= 0 && ll_vocab_lookup(t, "<|call|>", 8) >= 0) {
        size_t k = 0;
        for (size_t j = 0; j < t->n_eog; j++)
            if (t->eog[j] != end) t->eog[k++] = t->eog[j];
        t->n_eog = k;
    }
    return true;
}

/* Checks the byte tokens and builds the piece map, byte_id, the tries and
 * the EOG set. O(n log n): one hash insert per piece, one sort per trie.
 * The readers have bounded every text by LL_TOKEN_MAX_BYTES. */
static bool finish_vocab(ll_tokenizer *t, bool gguf, ll_error *err) {
    char name[64], q[LL_QUOTE_MAX];
    bool ok = false;
    if (!map_build(t, err)) goto done;
    size_t n_bytes = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->type[i] == LL_TOK_BYTE) {
            /* decoding turns a byte token into its byte by reading its text:
             * accept only the exact form, and one token per byte value (a
             * second one could never be produced by encoding) */
            int v = ll_byte_token_value(t->text[i], t->len[i]);
            if (v < 0) {
                ll_fail(err, LL_ERR_FORMAT, "%s = '%s' is typed BYTE but is not a byte token '<0xHH>' (two hex digits)",
                        token_name(name, sizeof name, gguf, i), ll_quote(q, t->text[i], t->len[i]));
                goto done;
            }
            if (t->byte_id[v] >= 0) {
                ll_fail(err, LL_ERR_FORMAT,
                        "%s = '%s' is a second byte token for byte 0x%02X (token %d is the first; each byte value may "
                        "have one)",
                        token_name(name, sizeof name, gguf, i), ll_quote(q, t->text[i], t->len[i]),
                        (unsigned)v, (int)t->byte_id[v]);
                goto done;
            }
            t->byte_id[v] = (int32_t)i;
            n_bytes++;
        }
    }
    /* text that no piece covers must still encode to something meaningful:
     * a byte token for every byte, or the unknown token (never id 0 by
     * default, which is whatever token happens to come first) */
    if (t->kind == LL_TOKENIZER_SPM && t->unk < 0 && n_bytes < 256) {
        ll_fail(err, LL_ERR_FORMAT,
                "%s: this SentencePiece (llama) vocabulary has %zu of the 256 byte tokens <0x00>..<0xFF> and no unknown "
                "token (%s), so text outside it could not be encoded",
                gguf ? "tokenizer.ggml.tokens" : "tokenizer.bin", n_bytes,
                gguf ? "tokenizer.ggml.unknown_token_id, or a token typed UNKNOWN" : "token 0");
        goto done;
    }
    if (t->kind == LL_TOKENIZER_WPM && t->unk < 0) {
        ll_fail(err, LL_ERR_FORMAT,
                "tokenizer.ggml.unknown_token_id: this WordPiece (bert) vocabulary names no unknown token, so a word "
                "it cannot cover could not be encoded");
        goto done;
    }
    if (!trie_build(&t->special, t, want_special, err) || !trie_build(&t->user, t, want_user, err) ||
        (t->kind == LL_TOKENIZER_WPM && !trie_build(&t->wpm, t, want_any, err)))
        goto done;
    if (!build_eog(t, err)) goto done;
    ok = true;
done:
    return ok;
}

/* A special token id: absent leaves *out alone; 0xFFFFFFFF (how converters
 * write "none") or -1 mean none; anything else must be a token. */
static bool special_id(const ll_gguf *g, const char *key, size_t n, int32_t *out, ll_error *err) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    char kind[48];
    if (!kv) return true;
    uint64_t v;
    switch (kv->type) {
    case LL_GGUF_UINT8: case LL_GGUF_UINT16: case LL_GGUF_UINT32: case LL_GGUF_UINT64:
        v = kv->v.u;
        if (v == UINT32_MAX || v == UINT64_MAX) {
            *out = -1;
            return true;
        }
        break;
    case LL_GGUF_INT8: case LL_GGUF_INT16: case LL_GGUF_INT32: case LL_GGUF_INT64:
        if (kv->v.i == -1) {
            *out = -1;
            return true;
        }
        if (kv->v.i < 0) {
            ll_fail(err, LL_ERR_FORMAT, "%s = %lld is not a token id (valid: 0..%zu, or -1 for none)", key,
                    (long long)kv->v.i, n - 1);
            return false;
        }
        v = (uint64_t)kv->v.i;
        break;
    default:
        ll_fail(err, LL_ERR_FORMAT, "%s is %s, expected an integer token id (at byte offset %llu)", key,
                ll_kv_kind(kv, kind, sizeof kind), (unsigned long long)kv->offset);
        return false;
    }
    if (v >= n) {
        ll_fail(err, LL_ERR_FORMAT, "%s = %llu is not a token id (valid: 0..%zu, or 4294967295 for none)", key,
                (unsigned long long)v, n - 1);
        return false;
    }
    *out = (int32_t)v;
    return true;
}

/* A bool flag: absent leaves *out alone; any other type is an error. */
static bool flag(const ll_gguf *g, const char *key, bool *out, ll_error *err) {
    bool found, b;
    if (ll_gguf_get_bool(g, key, &b, &found, err) != LL_OK) return false;
    if (found) *out = b;
    return true;
}

/* An optional per-token array: NULL when absent; an error when it is not an
 * array of `want` or its length is not the vocabulary's. */
static bool token_array(const ll_gguf *g, const char *key, ll_gguf_type want, size_t n, const ll_gguf_kv **out,
                        ll_error *err) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    char kind[48];
    *out = NULL;
    if (!kv) return true;
    if (kv->type != LL_GGUF_ARRAY || kv->arr_type != want) {
        ll_fail(err, LL_ERR_FORMAT, "%s is %s, expected an array of %s (at byte offset %llu)", key,
                ll_kv_kind(kv, kind, sizeof kind), ll_gguf_type_name(want), (unsigned long long)kv->offset);
        return false;
    }
    if (kv->arr_n != n) {
        ll_fail(err, LL_ERR_FORMAT, "%s has %llu entries but tokenizer.ggml.tokens has %zu: one per token expected", key,
                (unsigned long long)kv->arr_n, n);
        return false;
    }
    *out = kv;
    return true;
}

ll_tokenizer *ll_tokenizer_from_gguf(const ll_gguf *g, ll_error *err) {
    const ll_gguf_kv *model = ll_gguf_find(g, "tokenizer.ggml.model");
    const ll_gguf_kv *tokens = ll_gguf_find(g, "tokenizer.ggml.tokens");
    const ll_gguf_kv *scores, *types;
    ll_tokenizer *t = NULL;
    char kind[48], q[LL_QUOTE_MAX];
    if (!model) {
        ll_fail(err, LL_ERR_FORMAT, "the file has no tokenizer (tokenizer.ggml.model is missing)");
        return NULL;
    }
    if (model->type != LL_GGUF_STRING) {
        ll_fail(err, LL_ERR_FORMAT, "tokenizer.ggml.model is %s, expected a string (at byte offset %llu)",
                ll_kv_kind(model, kind, sizeof kind), (unsigned long long)model->offset);
        return NULL;
    }
    ll_tokenizer_kind k;
    const ll_gguf_str *ms = &model->v.s;
    if (ms->len == 5 && !memcmp(ms->ptr, "llama", 5)) k = LL_TOKENIZER_SPM;
    else if (ms->len == 4 && !memcmp(ms->ptr, "gpt2", 4)) k = LL_TOKENIZER_BPE;
    else if (ms->len == 4 && !memcmp(ms->ptr, "bert", 4)) k = LL_TOKENIZER_WPM;
    else {
        ll_fail(err, LL_ERR_UNSUPPORTED, "tokenizer.ggml.model = '%s' is not supported (valid: llama, gpt2, bert)",
                ll_quote(q, ms->ptr, ms->len));
        return NULL;
    }
    if (!tokens) {
        ll_fail(err, LL_ERR_FORMAT, "tokenizer.ggml.tokens is missing");
        return NULL;
    }
    if (tokens->type != LL_GGUF_ARRAY || tokens->arr_type != LL_GGUF_STRING) {
        ll_fail(err, LL_ERR_FORMAT, "tokenizer.ggml.tokens is %s, expected an array of string (at byte offset %llu)",
                ll_kv_kind(tokens, kind, sizeof kind), (unsigned long long)tokens->offset);
        return NULL;
    }
    /* ids are int32 throughout the API */
    if (tokens->arr_n == 0 || tokens->arr_n > (uint64_t)INT32_MAX) {
        ll_fail(err, LL_ERR_FORMAT, "tokenizer.ggml.tokens has %llu entries (valid: 1..%d)",
                (unsigned long long)tokens->arr_n, INT32_MAX);
        return NULL;
    }
    size_t n = (size_t)tokens->arr_n;
    uint64_t storage = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t len = tokens->arr_str[i].len;
        if (len > LL_TOKEN_MAX_BYTES) {
            ll_fail(err, LL_ERR_FORMAT, "tokenizer.ggml.tokens[%zu] has %llu bytes (valid: at most %d)", i,
                    (unsigned long long)len, LL_TOKEN_MAX_BYTES);
            return NULL;
        }
        if (!ll_add_ok(storage, len + 1, &storage) || storage > SIZE_MAX) {
            ll_fail(err, LL_ERR_FORMAT, "tokenizer.ggml.tokens takes more than %zu bytes", (size_t)SIZE_MAX);
            return NULL;
        }
    }
    if (!token_array(g, "tokenizer.ggml.scores", LL_GGUF_FLOAT32, n, &scores, err) ||
        !token_array(g, "tokenizer.ggml.token_type", LL_GGUF_INT32, n, &types, err))
        return NULL;
    t = alloc_vocab(n, (size_t)storage, err);
    if (!t) return NULL;
    t->kind = k;
    char *p = t->storage;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, tokens->arr_str[i].ptr, tokens->arr_str[i].len);
        p[tokens->arr_str[i].len] = '\0';
        t->text[i] = p;
        t->len[i] = (uint32_t)tokens->arr_str[i].len;
        p += tokens->arr_str[i].len + 1;
        t->type[i] = LL_TOK_NORMAL; /* llama.cpp's default without token_type */
    }
    if (scores)
        for (size_t i = 0; i < n; i++) {
            memcpy(&t->score[i], scores->arr_data + 4 * i, 4);
            if (isnan(t->score[i])) {
                ll_fail(err, LL_ERR_FORMAT, "tokenizer.ggml.scores[%zu] is NaN (token '%s'): merges compare scores", i,
                        ll_quote(q, t->text[i], t->len[i]));
                goto fail;
            }
        }
    if (types)
        for (size_t i = 0; i < n; i++) {
            memcpy(&t->type[i], types->arr_data + 4 * i, 4);
            if (t->type[i] < LL_TOK_NORMAL || t->type[i] > LL_TOK_BYTE) {
                ll_fail(err, LL_ERR_FORMAT,
                        "tokenizer.ggml.token_type[%zu] = %d is not a token type (valid: 1 normal, 2 unknown, 3 "
                        "control, 4 user-defined, 5 unused, 6 byte)",
                        i, (int)t->type[i]);
                goto fail;
            }
        }
    if (!special_id(g, "tokenizer.ggml.bos_token_id", n, &t->bos, err) ||
        !special_id(g, "tokenizer.ggml.eos_token_id", n, &t->eos, err) ||
        !special_id(g, "tokenizer.ggml.unknown_token_id", n, &t->unk, err) ||
        !special_id(g, "tokenizer.ggml.eot_token_id", n, &t->eot, err) ||
        !special_id(g, "tokenizer.ggml.seperator_token_id", n, &t->sep, err) ||
        !special_id(g, "tokenizer.ggml.padding_token_id", n, &t->pad, err) ||
        !special_id(g, "tokenizer.ggml.mask_token_id", n, &t->mask_id, err))
        goto fail;
    if (k == LL_TOKENIZER_SPM && t->unk < 0 && !ll_gguf_find(g, "tokenizer.ggml.unknown_token_id")) {
        /* no key: the token typed UNKNOWN (llama.cpp assumes 0, which is
         * where SentencePiece puts <unk>) */
        for (size_t i = 0; i < n && t->unk < 0; i++)
            if (t->type[i] == LL_TOK_UNKNOWN) t->unk = (int32_t)i;
    }
    /* defaults as llama.cpp: SPM adds BOS and a space prefix; BPE adds
     * nothing unless told; WordPiece adds [CLS] ... [SEP] */
    t->add_bos = k == LL_TOKENIZER_SPM || k == LL_TOKENIZER_WPM;
    t->add_eos = k == LL_TOKENIZER_WPM;
    t->add_space_prefix = k == LL_TOKENIZER_SPM;
    if (!flag(g, "tokenizer.ggml.add_bos_token", &t->add_bos, err) ||
        !flag(g, "tokenizer.ggml.add_eos_token", &t->add_eos, err) ||
        !flag(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix, err))
        goto fail;
    if (k == LL_TOKENIZER_WPM) {
        /* BERT: [CLS] text [SEP] with add_special; case folding and accent
         * stripping unless the vocabulary says otherwise */
        int32_t cls = -1;
        if (!special_id(g, "tokenizer.ggml.cls_token_id", n, &cls, err)) goto fail;
        if (cls >= 0) t->bos = cls;
        t->eos = t->sep;
        t->add_bos = t->add_eos = true;
        t->wpm_lowercase = true;
        if (!flag(g, "tokenizer.ggml.normalizer.lowercase", &t->wpm_lowercase, err)) goto fail;
        t->wpm_strip_accents = t->wpm_lowercase;
        if (!flag(g, "tokenizer.ggml.normalizer.strip_accents", &t->wpm_strip_accents, err)) goto fail;
    }
    snprintf(t->desc, sizeof t->desc, "%s", k == LL_TOKENIZER_SPM ? "llama" : k == LL_TOKENIZER_BPE ? "gpt2" : "bert");
    if (!finish_vocab(t, true, err)) goto fail;
    if (k == LL_TOKENIZER_BPE && ll_bpe_prepare(t, g, err) != LL_OK) goto fail;
    return t;
fail:
    ll_tokenizer_free(t);
    return NULL;
}

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* llama2.c tokenizer.bin: uint32 max_token_length, then per token float
 * score, uint32 length, bytes, up to the end of the file. ' ' stands for
 * U+2581; ids 1 and 2 are stored as "\n<s>\n" and "\n</s>\n". */
ll_tokenizer *ll_tokenizer_from_llama2c(const uint8_t *b, size_t size, ll_error *err) {
    if (size < 4) {
        ll_fail(err, LL_ERR_FORMAT, "tokenizer.bin has %zu bytes, too short for its 4-byte header", size);
        return NULL;
    }
    uint32_t max_len = rd32(b);
    /* first pass: count tokens, check every length against the header, the
     * bytes left and LL_TOKEN_MAX_BYTES, and size the storage (each ' '
     * becomes 3 bytes) */
    size_t pos = 4, n = 0;
    uint64_t storage = 0;
    while (pos < size) {
        if (size - pos < 8) {
            ll_fail(err, LL_ERR_FORMAT,
                    "tokenizer.bin is truncated in the entry of token %zu (byte %zu: %zu bytes left, 8 needed)", n,
                    pos, size - pos);
            return NULL;
        }
        uint32_t len = rd32(b + pos + 4);
        uint64_t expanded;
        if (len > max_len) {
            ll_fail(err, LL_ERR_FORMAT,
                    "tokenizer.bin token %zu has length %u, more than the header's max_token_length %u (byte %zu)", n,
                    len, max_len, pos + 4);
            return NULL;
        }
        if (len > size - pos - 8) {
            ll_fail(err, LL_ERR_FORMAT,
                    "tokenizer.bin token %zu has length %u past the end of the file (byte %zu: %zu bytes left)", n, len,
                    pos + 4, size - pos - 8);
            return NULL;
        }
        if (len > LL_TOKEN_MAX_BYTES) {
            ll_fail(err, LL_ERR_FORMAT, "tokenizer.bin token %zu has %u bytes (valid: at most %d; byte %zu)", n, len,
                    LL_TOKEN_MAX_BYTES, pos + 4);
            return NULL;
        }
        /* the piece the vocabulary holds has each ' ' as U+2581 (3 bytes) */
        expanded = len;
        for (uint32_t j = 0; j < len; j++) expanded += b[pos + 8 + j] == ' ' ? 2 : 0;
        if (expanded > LL_TOKEN_MAX_BYTES) {
            ll_fail(err, LL_ERR_FORMAT,
                    "tokenizer.bin token %zu has %llu bytes with each space written as U+2581 (valid: at most %d; "
                    "byte %zu)",
                    n, (unsigned long long)expanded, LL_TOKEN_MAX_BYTES, pos + 4);
            return NULL;
        }
        if (!ll_add_ok(storage, expanded + 1, &storage) || storage > SIZE_MAX) {
            ll_fail(err, LL_ERR_FORMAT, "tokenizer.bin takes more than %zu bytes once read", (size_t)SIZE_MAX);
            return NULL;
        }
        float score;
        memcpy(&score, b + pos, 4);
        if (isnan(score)) {
            ll_fail(err, LL_ERR_FORMAT, "tokenizer.bin token %zu has score NaN (byte %zu): merges compare scores", n,
                    pos);
            return NULL;
        }
        pos += 8 + (size_t)len;
        if (++n > (size_t)INT32_MAX) {
            ll_fail(err, LL_ERR_FORMAT, "tokenizer.bin has more than %d tokens", INT32_MAX);
            return NULL;
        }
    }
    if (n == 0) {
        ll_fail(err, LL_ERR_FORMAT, "tokenizer.bin has no tokens (only its 4-byte header)");
        return NULL;
    }
    ll_tokenizer *t = alloc_vocab(n, (size_t)storage, err);
    if (!t) return NULL;
    t->kind = LL_TOKENIZER_SPM;
    snprintf(t->desc, sizeof t->desc, "llama (tokenizer.bin)");
    char *p = t->storage;
    pos = 4;
    for (size_t i = 0; i < n; i++) {
        memcpy(&t->score[i], b + pos, 4);
        uint32_t len = rd32(b + pos + 4);
        const char *s = (const char *)b + pos + 8;
        pos += 8 + (size_t)len;
        t->text[i] = p;
        if (i == 1 && len == 5 && memcmp(s, "\n<s>\n", 5) == 0) s = "<s>", len = 3;
        if (i == 2 && len == 6 && memcmp(s, "\n</s>\n", 6) == 0) s = "</s>", len = 4;
        size_t o = 0;
        for (uint32_t j = 0; j < len; j++) {
            if (s[j] == ' ') { /* back to SentencePiece's U+2581 */
                p[o++] = (char)0xE2;
                p[o++] = (char)0x96;
                p[o++] = (char)0x81;
            } else {
                p[o++] = s[j];
            }
        }
        p[o] = '\0';
        t->len[i] = (uint32_t)o;
        p += o + 1;
        /* the file has no types: a piece of the byte-token form is one */
        t->type[i] = ll_byte_token_value(t->text[i], o) >= 0 ? LL_TOK_BYTE : LL_TOK_NORMAL;
    }
    t->type[0] = LL_TOK_UNKNOWN, t->unk = 0;
    if (n > 1) t->type[1] = LL_TOK_CONTROL, t->bos = 1;
    if (n > 2) t->type[2] = LL_TOK_CONTROL, t->eos = 2;
    t->add_bos = true;
    t->add_space_prefix = true;
    if (!finish_vocab(t, false, err)) {
        ll_tokenizer_free(t);
        return NULL;
    }
    return t;
}

ll_tokenizer *ll_tokenizer_load(const char *path, ll_error *err) {
    /* ll_file_map: a FIFO or a directory is an error naming its kind, not a
     * hang or an allocation of the size ftell reports for it */
    ll_file f;
    if (ll_file_map(&f, path, 0, err) != LL_OK) return NULL;
    ll_tokenizer *t = NULL;
    if (f.size >= 4 && memcmp(f.data, "GGUF", 4) == 0) {
        ll_gguf *g = ll_gguf_open_memory(f.data, f.size, err);
        if (g) {
            t = ll_tokenizer_from_gguf(g, err); /* copies what it keeps */
            ll_gguf_close(g);
        }
    } else {
        t = ll_tokenizer_from_llama2c(f.data, f.size, err);
    }
    ll_file_close(&f);
    if (!t) ll_error_prefix(err, "%s", path);
    return t;
}

/* ---- accessors ---- */

ll_tokenizer_kind ll_tokenizer_get_kind(const ll_tokenizer *t) { return t->kind; }
const char *ll_tokenizer_describe(const ll_tokenizer *t) { return t->desc; }
size_t ll_tokenizer_n_vocab(const ll_tokenizer *t) { return t->n; }
int32_t ll_tokenizer_bos(const ll_tokenizer *t) { return t->bos; }
int32_t ll_tokenizer_eos(const ll_tokenizer *t) { return t->eos; }
bool ll_tokenizer_adds_bos(const ll_tokenizer *t) { return t->add_bos && t->bos >= 0; }

size_t ll_tokenizer_eog_ids(const ll_tokenizer *t, int32_t *ids, size_t cap) {
    for (size_t i = 0; i < t->n_eog && i < cap; i++) ids[i] = t->eog[i];
    return t->n_eog;
}

bool ll_tokenizer_is_eog(const ll_tokenizer *t, int32_t id) {
    for (size_t i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) return true;
    return false;
}

const char *ll_token_text(const ll_tokenizer *t, int32_t id) {
    if (id < 0 || (size_t)id >= t->n) return "";
    return t->text[id];
}

/* ---- encoding ---- */

/* s is the fragment of the text at offset base, between special tokens */
static ll_status encode_fragment(const ll_tokenizer *t, const char *s, size_t n, size_t base, bool first_fragment,
                                 ll_ids *out, ll_error *err) {
    switch (t->kind) {
    case LL_TOKENIZER_SPM: {
        (void)first_fragment;
        /* escape spaces to U+2581 and add the dummy prefix */
        size_t cap = 3 * n + 3;
        char *buf = malloc(cap ? cap : 1);
        if (!buf) return ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
        size_t m = 0;
        if (t->add_space_prefix && first_fragment) {
            buf[m++] = (char)0xE2, buf[m++] = (char)0x96, buf[m++] = (char)0x81;
        }
        for (size_t i = 0; i < n; i++) {
            if (s[i] == ' ') buf[m++] = (char)0xE2, buf[m++] = (char)0x96, buf[m++] = (char)0x81;
            else buf[m++] = s[i];
        }
        ll_spm_encode(t, buf, m, out);
        free(buf);
        return LL_OK;
    }
    case LL_TOKENIZER_BPE: return ll_bpe_encode(t, s, n, base, out, err);
    case LL_TOKENIZER_WPM: return ll_wpm_encode(t, s, n, out, err);
    }
    return LL_ERR_UNSUPPORTED;
}

ll_status ll_tokenize(const ll_tokenizer *t, const char *text, size_t len, bool add_special, bool parse_special,
                      int32_t **ids, size_t *n_ids, ll_error *err) {
    ll_ids out = {0};
    *ids = NULL;
    *n_ids = 0;
    if (len > LL_TOKENIZE_MAX_BYTES)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "the text to tokenize has %zu bytes (valid: at most %zu)", len,
                       LL_TOKENIZE_MAX_BYTES);
    if (add_special && t->add_bos && t->bos >= 0) ll_ids_push(&out, t->bos);
    /* split on special-token text: user-defined tokens always, control and
     * unknown tokens only when parse_special (llama.cpp's rule) */
    size_t start = 0;
    bool prev_special = true;
    ll_status st = LL_OK;
    for (size_t i = 0; i <= len && st == LL_OK;) {
        int32_t hit = -1;
        size_t hit_len = 0;
        /* the longest special text here, then the lowest id: one walk of at
         * most LL_TOKEN_MAX_BYTES steps, however many specials share a prefix */
        if (i < len) hit = ll_trie_longest(parse_special ? &t->special : &t->user, text + i, len - i, &hit_len);
        if (i < len && hit < 0) {
            i++;
            continue;
        }
        if (i > start) {
            st = encode_fragment(t, text + start, i - start, start, prev_special, &out, err);
            prev_special = false;
        }
        if (hit < 0) break;
        ll_ids_push(&out, hit);
        i += hit_len;
        start = i;
        prev_special = true;
    }
    if (st == LL_OK && add_special && t->add_eos) {
        int32_t e = t->kind == LL_TOKENIZER_WPM ? t->sep : t->eos;
        if (e >= 0) ll_ids_push(&out, e);
    }
    if (out.oom) st = ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory while tokenizing");
    if (st != LL_OK) {
        free(out.ids);
        return st;
    }
    if (!out.ids) out.ids = malloc(sizeof(int32_t));
    *ids = out.ids;
    *n_ids = out.n;
    return LL_OK;
}

/* ---- decoding ---- */

/* GPT-2's byte-level alphabet: each byte is a printable code point */
static int byte_of_cp(uint32_t cp) {
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) return (int)cp;
    /* the rest were mapped to 256.. in order */
    int n = 0;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) continue;
        if ((uint32_t)(256 + n) == cp) return b;
        n++;
    }
    return -1;
}

static size_t put(char *buf, size_t cap, size_t o, char c) {
    if (o < cap) buf[o] = c;
    return o + 1;
}

size_t ll_token_to_bytes(const ll_tokenizer *t, int32_t id, bool special, char *buf, size_t cap) {
    if (id < 0 || (size_t)id >= t->n) return 0;
    int32_t ty = t->type[id];
    const char *s = t->text[id];
    size_t n = t->len[id], o = 0;
    if (ty == LL_TOK_CONTROL || ty == LL_TOK_UNKNOWN || ty == LL_TOK_UNUSED) {
        if (!special) return 0;
        for (size_t i = 0; i < n; i++) o = put(buf, cap, o, s[i]);
        return o;
    }
    if (t->kind == LL_TOKENIZER_SPM) {
        if (ty == LL_TOK_BYTE) { /* "<0xHH>", checked when the vocabulary was loaded */
            int v = ll_byte_token_value(s, n);
            if (v >= 0) return put(buf, cap, 0, (char)v);
        }
        for (size_t i = 0; i < n; i++) {
            if (i + 2 < n && (uint8_t)s[i] == 0xE2 && (uint8_t)s[i + 1] == 0x96 && (uint8_t)s[i + 2] == 0x81) {
                o = put(buf, cap, o, ' ');
                i += 2;
            } else {
                o = put(buf, cap, o, s[i]);
            }
        }
        return o;
    }
    if (t->kind == LL_TOKENIZER_BPE && ty != LL_TOK_USER_DEFINED) {
        /* each code point stands for one byte */
        for (size_t i = 0; i < n;) {
            uint32_t cp = (uint8_t)s[i];
            size_t l = cp < 0x80 ? 1 : cp < 0xE0 ? 2 : cp < 0xF0 ? 3 : 4;
            if (l > n - i) l = n - i;
            if (l == 2) cp = ((cp & 0x1F) << 6) | ((uint8_t)s[i + 1] & 0x3F);
            else if (l == 3) cp = ((cp & 0x0F) << 12) | (((uint8_t)s[i + 1] & 0x3F) << 6) | ((uint8_t)s[i + 2] & 0x3F);
            int b = byte_of_cp(cp);
            o = put(buf, cap, o, b >= 0 ? (char)b : '?');
            i += l;
        }
        return o;
    }
    if (t->kind == LL_TOKENIZER_WPM) {
        /* "##x" continues a word, anything else starts one with a space */
        if (n >= 2 && s[0] == '#' && s[1] == '#') {
            for (size_t i = 2; i < n; i++) o = put(buf, cap, o, s[i]);
            return o;
        }
        o = put(buf, cap, o, ' ');
    }
    for (size_t i = 0; i < n; i++) o = put(buf, cap, o, s[i]);
    return o;
}

struct ll_detokenizer {
    const ll_tokenizer *t;
    int32_t prev;
    char pending[8];
    size_t n_pending;
    char *out;
    size_t cap;
    char *piece; /* one token's bytes; grows for long pieces */
    size_t piece_cap;
};

ll_detokenizer *ll_detokenizer_new(const ll_tokenizer *t, ll_error *err) {
    ll_detokenizer *d = ll_calloc(1, sizeof *d, err);
    if (!d) return NULL;
    d->t = t;
    d->prev = -1;
    d->cap = 256;
    d->out = ll_malloc(d->cap, err);
    d->piece_cap = 256;
    d->piece = ll_malloc(d->piece_cap, err);
    if (!d->out || !d->piece) {
        ll_detokenizer_free(d);
        return NULL;
    }
    return d;
}

void ll_detokenizer_free(ll_detokenizer *d) {
    if (!d) return;
    free(d->out);
    free(d->piece);
    free(d);
}

void ll_detokenizer_reset(ll_detokenizer *d) {
    d->prev = -1;
    d->n_pending = 0;
}

static size_t utf8_len(uint8_t c) {
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) return 2;
    if ((c & 0xF0) == 0xE0) return 3;
    if ((c & 0xF8) == 0xF0) return 4;
    return 0; /* continuation or invalid lead */
}

/* Appends bytes, emitting only complete UTF-8 characters; an invalid
 * sequence becomes U+FFFD. */
static void feed(ll_detokenizer *d, const char *s, size_t n, size_t *o) {
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (d->n_pending > 0 && (c & 0xC0) != 0x80) { /* the held character was cut short */
            memcpy(d->out + *o, "\xEF\xBF\xBD", 3);
            *o += 3;
            d->n_pending = 0;
        }
        if (d->n_pending == 0) {
            size_t l = utf8_len(c);
            if (l == 1) {
                d->out[(*o)++] = (char)c;
                continue;
            }
            if (l == 0) {
                memcpy(d->out + *o, "\xEF\xBF\xBD", 3);
                *o += 3;
                continue;
            }
        }
        d->pending[d->n_pending++] = (char)c;
        if (d->n_pending == utf8_len((uint8_t)d->pending[0])) {
            memcpy(d->out + *o, d->pending, d->n_pending);
            *o += d->n_pending;
            d->n_pending = 0;
        }
    }
}

const char *ll_detokenizer_push(ll_detokenizer *d, int32_t id, size_t *len) {
    size_t n = ll_token_to_bytes(d->t, id, false, d->piece, d->piece_cap);
    if (n > d->piece_cap) { /* a piece longer than any so far: never cut it */
        char *p = realloc(d->piece, n);
        if (!p) {
            *len = 0;
            return "";
        }
        d->piece = p;
        d->piece_cap = n;
        n = ll_token_to_bytes(d->t, id, false, d->piece, d->piece_cap);
    }
    const char *s = d->piece;
    /* SentencePiece drops the space that follows BOS */
    if (d->t->kind == LL_TOKENIZER_SPM && d->prev == d->t->bos && d->t->bos >= 0 && n > 0 && s[0] == ' ') {
        s++;
        n--;
    }
    d->prev = id;
    size_t need = 3 * (n + d->n_pending) + 8;
    if (need > d->cap) {
        char *o = realloc(d->out, need);
        if (!o) {
            *len = 0;
            return "";
        }
        d->out = o;
        d->cap = need;
    }
    size_t o = 0;
    feed(d, s, n, &o);
    d->out[o] = '\0';
    *len = o;
    return d->out;
}

const char *ll_detokenizer_flush(ll_detokenizer *d, size_t *len) {
    size_t o = 0;
    if (d->n_pending) {
        memcpy(d->out, "\xEF\xBF\xBD", 3);
        o = 3;
        d->n_pending = 0;
    }
    d->out[o] = '\0';
    *len = o;
    return d->out;
}
