/*
 * tokenizer.c - vocabularies from GGUF metadata or a llama2.c
 * tokenizer.bin, the common encoding steps (special tokens, BOS/EOS) and
 * decoding, including a streaming decoder that never emits a split UTF-8
 * character.
 */
#define _POSIX_C_SOURCE 200809L
#include "tokenizer_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hashing ---- */

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static bool map_build(ll_tokenizer *t, ll_error *err) {
    size_t cap = 16;
    while (cap < t->n * 2) cap <<= 1;
    t->map.slots = ll_calloc(cap, sizeof *t->map.slots, err);
    if (!t->map.slots) return false;
    t->map.mask = cap - 1;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = (size_t)hash_bytes(t->text[i], t->len[i]) & t->map.mask;
        bool dup = false;
        while (t->map.slots[h]) {
            uint32_t j = t->map.slots[h] - 1;
            if (t->len[j] == t->len[i] && memcmp(t->text[j], t->text[i], t->len[i]) == 0) {
                dup = true; /* duplicate pieces: the first id wins, as llama.cpp's map */
                break;
            }
            h = (h + 1) & t->map.mask;
        }
        if (!dup) t->map.slots[h] = (uint32_t)i + 1;
    }
    return true;
}

int32_t ll_vocab_lookup(const ll_tokenizer *t, const char *s, size_t len) {
    size_t h = (size_t)hash_bytes(s, len) & t->map.mask;
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

/* ---- construction ---- */

void ll_tokenizer_free(ll_tokenizer *t) {
    if (!t) return;
    free(t->text);
    free(t->len);
    free(t->score);
    free(t->type);
    free(t->map.slots);
    ll_bpe_free(t);
    free(t->special);
    free(t->eog);
    free(t->storage);
    free(t);
}

static ll_tokenizer *alloc_vocab(size_t n, size_t text_bytes, ll_error *err) {
    ll_tokenizer *t = ll_calloc(1, sizeof *t, err);
    if (!t) return NULL;
    t->n = n;
    t->text = ll_calloc(n, sizeof *t->text, err);
    t->len = ll_calloc(n, sizeof *t->len, err);
    t->score = ll_calloc(n, sizeof *t->score, err);
    t->type = ll_calloc(n, sizeof *t->type, err);
    t->storage = ll_malloc(text_bytes + n, err);
    if (!t->text || !t->len || !t->score || !t->type || !t->storage) {
        ll_tokenizer_free(t);
        return NULL;
    }
    t->bos = t->eos = t->unk = t->eot = t->sep = t->pad = t->mask_id = -1;
    for (int i = 0; i < 256; i++) t->byte_id[i] = -1;
    return t;
}

/* Fills byte_id, the special-token list (longest first) and the EOG set. */
static bool finish_vocab(ll_tokenizer *t, ll_error *err) {
    if (!map_build(t, err)) return false;
    size_t n_special = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->type[i] == LL_TOK_BYTE && t->len[i] == 6 && memcmp(t->text[i], "<0x", 3) == 0) {
            unsigned v;
            if (sscanf(t->text[i] + 3, "%2x", &v) == 1 && v < 256 && t->byte_id[v] < 0) t->byte_id[v] = (int32_t)i;
        }
        if (t->type[i] == LL_TOK_CONTROL || t->type[i] == LL_TOK_USER_DEFINED || t->type[i] == LL_TOK_UNKNOWN)
            n_special++;
    }
    t->special = ll_calloc(n_special ? n_special : 1, sizeof *t->special, err);
    if (!t->special) return false;
    for (size_t i = 0; i < t->n; i++)
        if (t->type[i] == LL_TOK_CONTROL || t->type[i] == LL_TOK_USER_DEFINED || t->type[i] == LL_TOK_UNKNOWN)
            if (t->len[i] > 0) t->special[t->n_special++] = (int32_t)i;
    /* longest first, then lowest id: a simple insertion sort (few specials) */
    for (size_t i = 1; i < t->n_special; i++) {
        int32_t v = t->special[i];
        size_t j = i;
        while (j > 0 && (t->len[t->special[j - 1]] < t->len[v] ||
                         (t->len[t->special[j - 1]] == t->len[v] && t->special[j - 1] > v))) {
            t->special[j] = t->special[j - 1];
            j--;
        }
        t->special[j] = v;
    }
    t->eog = ll_calloc(4, sizeof *t->eog, err);
    if (!t->eog) return false;
    int32_t cand[3] = {t->eos, t->eot, -1};
    for (int i = 0; i < 2; i++) {
        if (cand[i] < 0 || (size_t)cand[i] >= t->n) continue;
        bool seen = false;
        for (size_t j = 0; j < t->n_eog; j++) seen |= t->eog[j] == cand[i];
        if (!seen) t->eog[t->n_eog++] = cand[i];
    }
    return true;
}

static int32_t special_id(const ll_gguf *g, const char *key, size_t n, ll_error *err, bool *bad) {
    uint64_t v;
    bool found;
    if (ll_gguf_get_u64(g, key, &v, &found, err) != LL_OK) {
        *bad = true;
        return -1;
    }
    if (!found || v >= n) return -1; /* 0xFFFFFFFF and friends mean "none" */
    return (int32_t)v;
}

ll_tokenizer *ll_tokenizer_from_gguf(const ll_gguf *g, ll_error *err) {
    const ll_gguf_kv *model = ll_gguf_find(g, "tokenizer.ggml.model");
    const ll_gguf_kv *tokens = ll_gguf_find(g, "tokenizer.ggml.tokens");
    if (!model || model->type != LL_GGUF_STRING) {
        ll_fail(err, LL_ERR_FORMAT, "the file has no tokenizer (tokenizer.ggml.model is missing)");
        return NULL;
    }
    if (!tokens || tokens->type != LL_GGUF_ARRAY || tokens->arr_type != LL_GGUF_STRING || tokens->arr_n == 0) {
        ll_fail(err, LL_ERR_FORMAT, "tokenizer.ggml.tokens is missing or not an array of strings");
        return NULL;
    }
    char kind[32];
    snprintf(kind, sizeof kind, "%.*s", (int)(model->v.s.len < 31 ? model->v.s.len : 31), model->v.s.ptr);
    ll_tokenizer_kind k;
    if (!strcmp(kind, "llama")) k = LL_TOKENIZER_SPM;
    else if (!strcmp(kind, "gpt2")) k = LL_TOKENIZER_BPE;
    else if (!strcmp(kind, "bert")) k = LL_TOKENIZER_WPM;
    else {
        ll_fail(err, LL_ERR_UNSUPPORTED, "tokenizer model '%s' is not supported (valid: llama, gpt2, bert)", kind);
        return NULL;
    }
    size_t n = (size_t)tokens->arr_n, bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += tokens->arr_str[i].len;
    ll_tokenizer *t = alloc_vocab(n, bytes, err);
    if (!t) return NULL;
    t->kind = k;
    char *p = t->storage;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, tokens->arr_str[i].ptr, tokens->arr_str[i].len);
        p[tokens->arr_str[i].len] = '\0';
        t->text[i] = p;
        t->len[i] = (uint32_t)tokens->arr_str[i].len;
        p += tokens->arr_str[i].len + 1;
        t->type[i] = LL_TOK_NORMAL;
    }
    const ll_gguf_kv *scores = ll_gguf_find(g, "tokenizer.ggml.scores");
    if (scores && scores->type == LL_GGUF_ARRAY && scores->arr_type == LL_GGUF_FLOAT32 && scores->arr_n == n)
        for (size_t i = 0; i < n; i++) memcpy(&t->score[i], scores->arr_data + 4 * i, 4);
    const ll_gguf_kv *types = ll_gguf_find(g, "tokenizer.ggml.token_type");
    if (types && types->type == LL_GGUF_ARRAY && types->arr_type == LL_GGUF_INT32 && types->arr_n == n)
        for (size_t i = 0; i < n; i++) memcpy(&t->type[i], types->arr_data + 4 * i, 4);
    bool bad = false;
    t->bos = special_id(g, "tokenizer.ggml.bos_token_id", n, err, &bad);
    t->eos = special_id(g, "tokenizer.ggml.eos_token_id", n, err, &bad);
    t->unk = special_id(g, "tokenizer.ggml.unknown_token_id", n, err, &bad);
    t->eot = special_id(g, "tokenizer.ggml.eot_token_id", n, err, &bad);
    t->sep = special_id(g, "tokenizer.ggml.seperator_token_id", n, err, &bad);
    t->pad = special_id(g, "tokenizer.ggml.padding_token_id", n, err, &bad);
    t->mask_id = special_id(g, "tokenizer.ggml.mask_token_id", n, err, &bad);
    if (bad) {
        ll_tokenizer_free(t);
        return NULL;
    }
    /* defaults as llama.cpp: SPM adds BOS and a space prefix; BPE adds
     * nothing unless told; WordPiece adds [CLS] ... [SEP] */
    t->add_bos = k == LL_TOKENIZER_SPM || k == LL_TOKENIZER_WPM;
    t->add_eos = k == LL_TOKENIZER_WPM;
    t->add_space_prefix = k == LL_TOKENIZER_SPM;
    bool found, b;
    if (ll_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b, &found, err) == LL_OK && found) t->add_bos = b;
    if (ll_gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &b, &found, err) == LL_OK && found) t->add_eos = b;
    if (ll_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &b, &found, err) == LL_OK && found)
        t->add_space_prefix = b;
    if (k == LL_TOKENIZER_WPM) {
        /* BERT: [CLS] text [SEP] with add_special; case folding and accent
         * stripping unless the vocabulary says otherwise */
        int32_t cls = special_id(g, "tokenizer.ggml.cls_token_id", n, err, &bad);
        if (cls >= 0) t->bos = cls;
        t->eos = t->sep;
        t->add_bos = t->add_eos = true;
        t->wpm_lowercase = true;
        if (ll_gguf_get_bool(g, "tokenizer.ggml.normalizer.lowercase", &b, &found, err) == LL_OK && found)
            t->wpm_lowercase = b;
        t->wpm_strip_accents = t->wpm_lowercase;
        if (ll_gguf_get_bool(g, "tokenizer.ggml.normalizer.strip_accents", &b, &found, err) == LL_OK && found)
            t->wpm_strip_accents = b;
    }
    snprintf(t->desc, sizeof t->desc, "%s", kind);
    if (!finish_vocab(t, err)) {
        ll_tokenizer_free(t);
        return NULL;
    }
    if (k == LL_TOKENIZER_BPE && ll_bpe_prepare(t, g, err) != LL_OK) {
        ll_tokenizer_free(t);
        return NULL;
    }
    return t;
}

/* llama2.c tokenizer.bin: uint32 max_len, then per token float score,
 * uint32 length, bytes. ' ' stands for U+2581; ids 1 and 2 are stored as
 * "\n<s>\n" and "\n</s>\n". */
ll_tokenizer *ll_tokenizer_from_llama2c(const uint8_t *b, size_t size, ll_error *err) {
    if (size < 4) {
        ll_fail(err, LL_ERR_FORMAT, "tokenizer.bin is too short");
        return NULL;
    }
    /* first pass: count tokens and check every length */
    size_t pos = 4, n = 0, bytes = 0;
    while (pos < size) {
        if (size - pos < 8) {
            ll_fail(err, LL_ERR_FORMAT, "tokenizer.bin is truncated in the entry of token %zu (byte %zu)", n, pos);
            return NULL;
        }
        uint32_t len = (uint32_t)b[pos + 4] | (uint32_t)b[pos + 5] << 8 | (uint32_t)b[pos + 6] << 16 |
                       (uint32_t)b[pos + 7] << 24;
        if (len > size - pos - 8) {
            ll_fail(err, LL_ERR_FORMAT, "tokenizer.bin token %zu has length %u past the end of the file (byte %zu)", n,
                    len, pos);
            return NULL;
        }
        pos += 8 + len;
        bytes += len + 3; /* room for the U+2581 expansion below */
        n++;
    }
    ll_tokenizer *t = alloc_vocab(n, bytes * 3, err);
    if (!t) return NULL;
    t->kind = LL_TOKENIZER_SPM;
    snprintf(t->desc, sizeof t->desc, "llama (tokenizer.bin)");
    char *p = t->storage;
    pos = 4;
    for (size_t i = 0; i < n; i++) {
        memcpy(&t->score[i], b + pos, 4);
        uint32_t len = (uint32_t)b[pos + 4] | (uint32_t)b[pos + 5] << 8 | (uint32_t)b[pos + 6] << 16 |
                       (uint32_t)b[pos + 7] << 24;
        const char *s = (const char *)b + pos + 8;
        pos += 8 + len;
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
        t->type[i] = LL_TOK_NORMAL;
        if (o == 6 && memcmp(t->text[i], "<0x", 3) == 0 && t->text[i][5] == '>') t->type[i] = LL_TOK_BYTE;
    }
    if (n > 0) t->type[0] = LL_TOK_UNKNOWN, t->unk = 0;
    if (n > 1) t->type[1] = LL_TOK_CONTROL, t->bos = 1;
    if (n > 2) t->type[2] = LL_TOK_CONTROL, t->eos = 2;
    t->add_bos = true;
    t->add_space_prefix = true;
    if (!finish_vocab(t, err)) {
        ll_tokenizer_free(t);
        return NULL;
    }
    return t;
}

ll_tokenizer *ll_tokenizer_load(const char *path, ll_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        ll_fail(err, LL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    uint8_t magic[4] = {0};
    size_t got = fread(magic, 1, 4, f);
    if (got == 4 && memcmp(magic, "GGUF", 4) == 0) {
        fclose(f);
        ll_gguf *g = ll_gguf_open(path, err);
        if (!g) return NULL;
        ll_tokenizer *t = ll_tokenizer_from_gguf(g, err);
        ll_gguf_close(g);
        if (!t) ll_error_prefix(err, "%s", path);
        return t;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = sz > 0 ? malloc((size_t)sz) : NULL;
    if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        fclose(f);
        free(buf);
        ll_fail(err, LL_ERR_IO, "cannot read %s", path);
        return NULL;
    }
    fclose(f);
    ll_tokenizer *t = ll_tokenizer_from_llama2c(buf, (size_t)sz, err);
    free(buf);
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

static ll_status encode_fragment(const ll_tokenizer *t, const char *s, size_t n, bool first_fragment, ll_ids *out,
                                 ll_error *err) {
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
    case LL_TOKENIZER_BPE: return ll_bpe_encode(t, s, n, out, err);
    case LL_TOKENIZER_WPM: return ll_wpm_encode(t, s, n, out, err);
    }
    return LL_ERR_UNSUPPORTED;
}

ll_status ll_tokenize(const ll_tokenizer *t, const char *text, size_t len, bool add_special, bool parse_special,
                      int32_t **ids, size_t *n_ids, ll_error *err) {
    ll_ids out = {0};
    *ids = NULL;
    *n_ids = 0;
    if (add_special && t->add_bos && t->bos >= 0) ll_ids_push(&out, t->bos);
    /* split on special-token text: user-defined tokens always, control and
     * unknown tokens only when parse_special (llama.cpp's rule) */
    size_t start = 0;
    bool prev_special = true;
    ll_status st = LL_OK;
    for (size_t i = 0; i <= len && st == LL_OK;) {
        int32_t hit = -1;
        for (size_t k = 0; i < len && k < t->n_special; k++) {
            int32_t id = t->special[k];
            if (!parse_special && t->type[id] != LL_TOK_USER_DEFINED) continue;
            if (t->len[id] <= len - i && memcmp(text + i, t->text[id], t->len[id]) == 0) {
                hit = id;
                break;
            }
        }
        if (i < len && hit < 0) {
            i++;
            continue;
        }
        if (i > start) {
            st = encode_fragment(t, text + start, i - start, prev_special, &out, err);
            prev_special = false;
        }
        if (hit < 0) break;
        ll_ids_push(&out, hit);
        i += t->len[hit];
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
        if (ty == LL_TOK_BYTE) {
            unsigned v = 0;
            if (sscanf(s + 3, "%2x", &v) == 1) return put(buf, cap, 0, (char)v);
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
};

ll_detokenizer *ll_detokenizer_new(const ll_tokenizer *t, ll_error *err) {
    ll_detokenizer *d = ll_calloc(1, sizeof *d, err);
    if (!d) return NULL;
    d->t = t;
    d->prev = -1;
    d->cap = 256;
    d->out = ll_malloc(d->cap, err);
    if (!d->out) {
        free(d);
        return NULL;
    }
    return d;
}

void ll_detokenizer_free(ll_detokenizer *d) {
    if (!d) return;
    free(d->out);
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
    char piece[512];
    size_t n = ll_token_to_bytes(d->t, id, false, piece, sizeof piece);
    if (n > sizeof piece) n = sizeof piece;
    const char *s = piece;
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
