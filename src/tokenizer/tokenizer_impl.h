/*
 * tokenizer_impl.h - the vocabulary shared by every tokenizer kind, and
 * the entry points of the SentencePiece-style, byte-level BPE and
 * WordPiece encoders (internal).
 */
#ifndef LL_TOKENIZER_IMPL_H
#define LL_TOKENIZER_IMPL_H

#include "../core/internal.h"
#include "../format/gguf.h"

/* token types as GGUF stores them (tokenizer.ggml.token_type); a loaded
 * vocabulary holds only these values */
enum {
    LL_TOK_NORMAL = 1,
    LL_TOK_UNKNOWN = 2,
    LL_TOK_CONTROL = 3,
    LL_TOK_USER_DEFINED = 4,
    LL_TOK_UNUSED = 5,
    LL_TOK_BYTE = 6
};

/* Longest text ll_tokenize accepts, in bytes. The encoders size their
 * buffers as small multiples of the text length and count symbols in int;
 * this bound keeps every such product far from overflow. */
#define LL_TOKENIZE_MAX_BYTES ((size_t)1 << 28)

/* Longest token text a vocabulary may hold, in bytes. Longest-match
 * encoding (WordPiece, special tokens) costs up to this much per text
 * position, so a file must not choose it: the longest piece in the real
 * vocabularies tested (gpt-neox, mpt) has 1024 bytes, most have under 300. */
#define LL_TOKEN_MAX_BYTES 4096

/* Piece texts are hashed with SipHash-1-3 under a key drawn per tokenizer,
 * so a crafted vocabulary cannot make its piece or merge tables degenerate
 * into one long probe chain (quadratic loading and encoding). Results never
 * depend on the key: it only moves entries between slots. */
typedef struct {
    uint64_t v0, v1, v2, v3, tail, len;
} ll_tok_hasher;

typedef struct {
    uint32_t *slots; /* id + 1, 0 = empty */
    size_t mask;
} ll_str_map;

/* A byte trie over some of the vocabulary's texts, for longest-match
 * encoding in time proportional to the match: nodes in breadth-first order,
 * the children of each contiguous and sorted by byte (found by binary
 * search), so no crafted set of texts can make a walk slower than its
 * length times 8 comparisons. */
typedef struct {
    uint32_t first;   /* index of the first child */
    int32_t id;       /* the lowest id whose text ends here, or -1 */
    uint16_t n_child; /* 0..256 */
    uint8_t byte;     /* the byte on the edge from the parent */
} ll_trie_node;

typedef struct {
    ll_trie_node *node; /* node[0] is the root (the empty text) */
    size_t n;
} ll_trie;

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
    uint64_t hash_key[2];    /* for ll_tok_hash */
    ll_str_map map;          /* piece text -> id */
    int32_t byte_id[256];    /* the token typed BYTE for each byte value, or -1 */
    /* BPE: pre-tokenizer and merge ranks (bpe.c) */
    struct ll_bpe_data *bpe;
    ll_pre_kind pre;
    bool ignore_merges;      /* llama3-style: whole words in the vocab skip merging */
    /* WordPiece normalisation */
    bool wpm_lowercase, wpm_strip_accents;
    /* special tokens (control, unknown, user-defined), and the user-defined
     * ones alone (matched even without parse_special): the longest match
     * wins, then the lowest id */
    ll_trie special;
    ll_trie user;
    ll_trie wpm; /* WordPiece: every piece */
    int32_t *eog;
    size_t n_eog;
    char *storage;           /* all piece texts */
};

ll_tokenizer *ll_tokenizer_from_gguf(const ll_gguf *g, ll_error *err);
ll_tokenizer *ll_tokenizer_from_llama2c(const uint8_t *b, size_t size, ll_error *err);

int32_t ll_vocab_lookup(const ll_tokenizer *t, const char *s, size_t len);

/* Keyed hashing of piece texts (t->hash_key); feed may be called several
 * times to hash a concatenation without building it. */
void ll_tok_hash_init(ll_tok_hasher *h, const ll_tokenizer *t);
void ll_tok_hash_feed(ll_tok_hasher *h, const char *s, size_t n);
uint64_t ll_tok_hash_end(ll_tok_hasher *h);
uint64_t ll_tok_hash(const ll_tokenizer *t, const char *s, size_t n);

/* The byte a byte token stands for: s must be exactly "<0xHH>" (two hex
 * digits, either case); -1 otherwise. */
int ll_byte_token_value(const char *s, size_t n);

/* The longest text in tr that starts s[0..n): its id, with its length in
 * *len; -1 (and *len untouched) when none does. */
int32_t ll_trie_longest(const ll_trie *tr, const char *s, size_t n, size_t *len);

/* "a uint32", "an array of int32": what a metadata value is, for messages.
 * 48 bytes hold any; returns buf. */
const char *ll_kv_kind(const ll_gguf_kv *kv, char *buf, size_t cap);

/* Each appends to a growing id list. */
typedef struct {
    int32_t *ids;
    size_t n, cap;
    bool oom;
} ll_ids;
void ll_ids_push(ll_ids *v, int32_t id);

void ll_spm_encode(const ll_tokenizer *t, const char *text, size_t len, ll_ids *out);
/* base: where text starts in the text given to ll_tokenize (for messages) */
ll_status ll_bpe_encode(const ll_tokenizer *t, const char *text, size_t len, size_t base, ll_ids *out, ll_error *err);
ll_status ll_wpm_encode(const ll_tokenizer *t, const char *text, size_t len, ll_ids *out, ll_error *err);
ll_status ll_bpe_prepare(ll_tokenizer *t, const ll_gguf *g, ll_error *err);
void ll_bpe_free(ll_tokenizer *t);

#endif /* LL_TOKENIZER_IMPL_H */
