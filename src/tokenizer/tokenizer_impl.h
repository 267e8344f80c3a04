/*
 * tokenizer_impl.h - the vocabulary shared by every tokenizer kind, and
 * the entry points of the SentencePiece-style, byte-level BPE and
 * WordPiece encoders (internal).
 */
#ifndef LL_TOKENIZER_IMPL_H
#define LL_TOKENIZER_IMPL_H

#include "../core/internal.h"
#include "../model/gguf.h"

/* token types as GGUF stores them */
enum {
    LL_TOK_NORMAL = 1,
    LL_TOK_UNKNOWN = 2,
    LL_TOK_CONTROL = 3,
    LL_TOK_USER_DEFINED = 4,
    LL_TOK_UNUSED = 5,
    LL_TOK_BYTE = 6
};

typedef struct {
    uint32_t *slots; /* id + 1, 0 = empty */
    size_t mask;
} ll_str_map;

/* GPT-2 pre-tokenizer families */
typedef enum {
    LL_PRE_GPT2 = 0,
    LL_PRE_LLAMA3,
    LL_PRE_DEEPSEEK_LLM,
    LL_PRE_DEEPSEEK_CODER,
    LL_PRE_FALCON,
    LL_PRE_MPT,
    LL_PRE_STARCODER,
    LL_PRE_REFACT,
    LL_PRE_QWEN2
} ll_pre_kind;

struct ll_tokenizer {
    ll_tokenizer_kind kind;
    char desc[64];
    size_t n;
    char **text;
    uint32_t *len;
    float *score;
    int32_t *type;
    int32_t bos, eos, unk, eot, sep, pad, mask_id;
    bool add_bos, add_eos, add_space_prefix;
    ll_str_map map;          /* piece text -> id */
    int32_t byte_id[256];    /* SPM byte tokens, or BPE byte symbols */
    /* BPE: pre-tokenizer and merge ranks (bpe.c) */
    struct ll_bpe_data *bpe;
    ll_pre_kind pre;
    bool ignore_merges;      /* llama3-style: whole words in the vocab skip merging */
    /* WordPiece normalisation */
    bool wpm_lowercase, wpm_strip_accents;
    /* specials, longest first, for parse_special / user-defined matching */
    int32_t *special;
    size_t n_special;
    int32_t *eog;
    size_t n_eog;
    char *storage;           /* all piece texts */
};

ll_tokenizer *ll_tokenizer_from_gguf(const ll_gguf *g, ll_error *err);
ll_tokenizer *ll_tokenizer_from_llama2c(const uint8_t *b, size_t size, ll_error *err);

int32_t ll_vocab_lookup(const ll_tokenizer *t, const char *s, size_t len);

/* Each appends to a growing id list. */
typedef struct {
    int32_t *ids;
    size_t n, cap;
    bool oom;
} ll_ids;
void ll_ids_push(ll_ids *v, int32_t id);

void ll_spm_encode(const ll_tokenizer *t, const char *text, size_t len, ll_ids *out);
ll_status ll_bpe_encode(const ll_tokenizer *t, const char *text, size_t len, ll_ids *out, ll_error *err);
ll_status ll_wpm_encode(const ll_tokenizer *t, const char *text, size_t len, ll_ids *out, ll_error *err);
ll_status ll_bpe_prepare(ll_tokenizer *t, const ll_gguf *g, ll_error *err);
void ll_bpe_free(ll_tokenizer *t);

#endif /* LL_TOKENIZER_IMPL_H */
