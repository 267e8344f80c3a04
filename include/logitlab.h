/*
 * logitlab.h - the one public header of logitlab.
 *
 * logitlab turns a vector of next-token logits into a token through a chain
 * of logits processors, with the exact semantics of the frameworks people
 * compare it to (Hugging Face generate(), llama.cpp, the OpenAI/vLLM API),
 * and records what every stage did so the result can be explained.
 *
 * Conventions
 *  - Every object is created by a *_new function and released by the
 *    matching *_free function; nothing is global or hidden.
 *  - Every function that can fail returns ll_status (or NULL) and, when the
 *    caller passes a non-NULL ll_error*, leaves a human-readable message
 *    naming the bad value and the valid range.
 *  - Token ids are int32_t, logits float32, as in every GGUF runtime.
 */
#ifndef LOGITLAB_H
#define LOGITLAB_H

#include <signal.h> /* sig_atomic_t */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LL_VERSION_MAJOR 0
#define LL_VERSION_MINOR 1
#define LL_VERSION_PATCH 0
#define LL_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

typedef enum ll_status {
    LL_OK = 0,
    LL_ERR_INVALID_ARGUMENT, /* a value outside its valid range */
    LL_ERR_OUT_OF_MEMORY,
    LL_ERR_IO,
    LL_ERR_FORMAT,           /* malformed file or data */
    LL_ERR_UNSUPPORTED,      /* valid input that logitlab does not handle */
    LL_ERR_STATE,            /* call not valid in the object's state */
    LL_ERR_INTERRUPTED
} ll_status;

#define LL_ERROR_MESSAGE_MAX 512

typedef struct ll_error {
    ll_status status;
    char message[LL_ERROR_MESSAGE_MAX];
} ll_error;

const char *ll_status_string(ll_status status);
void ll_error_clear(ll_error *err);

/* ------------------------------------------------------------------ */
/* Profiles: the same parameter names, each framework's exact meaning  */
/* ------------------------------------------------------------------ */

typedef enum ll_profile {
    LL_PROFILE_HF = 0,     /* Hugging Face transformers generate() */
    LL_PROFILE_LLAMACPP,   /* llama.cpp common_sampler / llama-server */
    LL_PROFILE_OPENAI,     /* OpenAI API as implemented by vLLM */
    LL_PROFILE_LLAMA2C,    /* karpathy/llama2.c run.c */
    LL_PROFILE_COUNT
} ll_profile;

const char *ll_profile_name(ll_profile profile);
/* Accepts "hf", "llama.cpp" (or "llamacpp"), "openai" (or "vllm"), "llama2.c". */
ll_status ll_profile_from_name(const char *name, ll_profile *out, ll_error *err);
/* The profile's length default: new tokens when neither max_new_tokens nor
 * max_length is given; -1: until the context is full. */
int32_t ll_profile_max_new_tokens(ll_profile profile);
/* Whether ignore_eos also bans the EOS ids (llama.cpp) rather than only not
 * stopping at them. */
bool ll_profile_ignore_eos_bans(ll_profile profile);

/* A departure: a value of `param` that the profile's framework accepts and
 * then ignores (it adds no processor for it), where logitlab fails with an
 * error. The values concerned are [lo, hi] (each bound included when
 * lo_incl / hi_incl); lo and hi are NaN when the values depend on the
 * model (an id beyond the vocabulary). docs/semantics.md lists them. */
typedef struct ll_profile_note {
    const char *param;     /* "top_p" */
    double lo, hi;
    bool lo_incl, hi_incl;
    const char *values;    /* the values in words: "> 1" */
    const char *framework; /* what the framework does with them */
    const char *logitlab;  /* what logitlab does */
} ll_profile_note;
/* The profile's departures (*notes points to static storage); returns how many. */
size_t ll_profile_notes(ll_profile profile, const ll_profile_note **notes);
/* The departure for param = value in this profile, or NULL (value NaN finds
 * the notes whose values depend on the model). */
const ll_profile_note *ll_profile_note_find(ll_profile profile, const char *param, double value);

/* ------------------------------------------------------------------ */
/* Candidates: the array every processor works on                      */
/* ------------------------------------------------------------------ */

struct ll_workspace;

/*
 * Structure of arrays. While `id` is NULL the array is the whole vocabulary
 * in id order (id of position i is i); processors that reorder or drop
 * candidates materialise ids in the chain's workspace. Probabilities are
 * p[i] / p_norm (a pending normalisation keeps full-vocabulary sampling from
 * paying a division per token); use ll_candidates_prob().
 */
typedef struct ll_candidates {
    int32_t *id;
    float *logit;
    float *p;
    size_t size;
    int64_t selected;  /* index into the arrays, -1 when nothing is selected */
    bool sorted;       /* by logit, descending */
    bool p_valid;      /* p holds a softmax computed by some stage */
    double p_norm;     /* divisor still to apply to p (1.0 when normalised) */
    struct ll_workspace *ws;
} ll_candidates;

static inline int32_t ll_candidates_id(const ll_candidates *c, size_t i) {
    return c->id ? c->id[i] : (int32_t)i;
}

/* Probability of candidate i: the stored softmax if a stage computed one,
 * else NaN. */
float ll_candidates_prob(const ll_candidates *c, size_t i);

/* ------------------------------------------------------------------ */
/* Token history seen by processors                                    */
/* ------------------------------------------------------------------ */

typedef struct ll_history {
    const int32_t *tokens; /* prompt tokens followed by generated tokens */
    size_t n;
    size_t prompt_len;
} ll_history;

/* ------------------------------------------------------------------ */
/* Samplers (logits processors and token selectors)                    */
/* ------------------------------------------------------------------ */

typedef struct ll_sampler ll_sampler;

enum {
    LL_SAMPLER_SELECTS = 1u << 0,      /* sets c->selected (must be last) */
    LL_SAMPLER_NEEDS_SORTED = 1u << 1, /* the chain sorts the input first */
    LL_SAMPLER_NOOP = 1u << 2          /* disabled by its parameters */
};

/* The one interface every processor implements; a custom processor is an
 * ops table plus a state pointer (see ll_sampler_custom_new). */
typedef struct ll_sampler_ops {
    const char *name;
    unsigned flags;
    ll_status (*apply)(void *state, ll_candidates *c, const ll_history *h, ll_error *err);
    void (*accept)(void *state, int32_t token, bool is_prompt); /* may be NULL */
    void (*reset)(void *state);                                 /* may be NULL */
    void (*free_state)(void *state);                            /* may be NULL */
} ll_sampler_ops;

ll_sampler *ll_sampler_custom_new(const ll_sampler_ops *ops, void *state, ll_error *err);
void ll_sampler_free(ll_sampler *s);
const char *ll_sampler_name(const ll_sampler *s);
/* A human-readable description with the parameters, e.g. "top_k(k=40)". */
const char *ll_sampler_describe(const ll_sampler *s);
unsigned ll_sampler_flags(const ll_sampler *s);

/* Where repetition/frequency/presence penalties look for repeated tokens. */
typedef enum ll_penalty_scope {
    LL_PENALTY_SCOPE_LAST_N = 0,  /* the last N accepted tokens (llama.cpp) */
    LL_PENALTY_SCOPE_ALL,         /* prompt and generated tokens (HF) */
    LL_PENALTY_SCOPE_GENERATED    /* generated tokens only (OpenAI/vLLM) */
} ll_penalty_scope;

const char *ll_penalty_scope_name(ll_penalty_scope scope);

typedef struct ll_token_bias {
    int32_t token;
    float bias; /* -INFINITY bans the token */
} ll_token_bias;

typedef struct ll_token_seq {
    const int32_t *tokens;
    size_t n;
} ll_token_seq;

typedef struct ll_sequence_bias {
    ll_token_seq seq;
    float bias;
} ll_sequence_bias;

/* Probability-valued parameters are taken as double and rounded to float
 * where the matched framework computes in float. */

/* Temperature. t == 0 means greedy: in the llama.cpp profile every logit
 * but the first maximum becomes -inf (as llama.cpp does); elsewhere the
 * chain builder selects greedy decoding instead. */
ll_sampler *ll_sampler_temperature_new(float t, ll_profile sem, ll_error *err);
/* Entropy-scaled temperature (llama.cpp temp_ext, "DynaTemp"). */
ll_sampler *ll_sampler_dynatemp_new(float t, float range, float exponent, ll_error *err);
ll_sampler *ll_sampler_top_k_new(int32_t k, size_t min_keep, ll_profile sem, ll_error *err);
ll_sampler *ll_sampler_top_p_new(double p, size_t min_keep, ll_profile sem, ll_error *err);
ll_sampler *ll_sampler_min_p_new(double p, size_t min_keep, ll_profile sem, ll_error *err);
ll_sampler *ll_sampler_typical_new(double p, size_t min_keep, ll_profile sem, ll_error *err);
ll_sampler *ll_sampler_epsilon_new(double epsilon, size_t min_keep, ll_error *err);
ll_sampler *ll_sampler_eta_new(double eta, size_t min_keep, ll_error *err);
ll_sampler *ll_sampler_top_n_sigma_new(float n, ll_error *err);
/* Top-H (Hugging Face main): entropy-bounded truncation of the 100 most
 * likely tokens; top_h in (0, 1]. */
ll_sampler *ll_sampler_top_h_new(double top_h, ll_error *err);

typedef struct ll_penalty_params {
    float repetition;   /* 1.0 = off; > 0 */
    float frequency;    /* 0 = off */
    float presence;     /* 0 = off */
    ll_penalty_scope scope;            /* tokens counted by frequency/presence */
    ll_penalty_scope repetition_scope; /* tokens the repetition penalty sees */
    int32_t last_n;     /* window for LL_PENALTY_SCOPE_LAST_N */
    ll_profile sem;     /* arithmetic of the framework being matched */
} ll_penalty_params;
ll_sampler *ll_sampler_penalties_new(const ll_penalty_params *pp, ll_error *err);

ll_sampler *ll_sampler_no_repeat_ngram_new(int32_t n, ll_error *err);
/* Encoder-decoder models: bans tokens that would repeat an n-gram of the
 * encoder input (HF encoder_no_repeat_ngram_size). */
ll_sampler *ll_sampler_encoder_no_repeat_ngram_new(int32_t n, const int32_t *encoder_ids,
                                                   size_t n_enc, ll_error *err);
ll_sampler *ll_sampler_logit_bias_new(const ll_token_bias *biases, size_t n, size_t n_vocab,
                                      ll_error *err);
ll_sampler *ll_sampler_sequence_bias_new(const ll_sequence_bias *biases, size_t n,
                                         size_t n_vocab, ll_error *err);
/* Bad-word sequences are banned (their last token gets -inf when the rest
 * matches the end of the history). Single-token entries equal to an EOS id
 * are dropped, as Hugging Face does. */
ll_sampler *ll_sampler_bad_words_new(const ll_token_seq *seqs, size_t n, const int32_t *eos,
                                     size_t n_eos, size_t n_vocab, ll_error *err);
ll_sampler *ll_sampler_suppress_tokens_new(const int32_t *ids, size_t n, size_t n_vocab,
                                           ll_error *err);
/* HF begin_suppress_tokens: only while the history has begin_index tokens. */
ll_sampler *ll_sampler_suppress_tokens_at_begin_new(const int32_t *ids, size_t n, size_t n_vocab,
                                                    size_t begin_index, ll_error *err);
/* EOS ids get -inf while fewer than `min_new_tokens` tokens were generated
 * (counted after the prompt), or while the whole sequence is shorter than
 * `min_length` (prompt included, as HF counts it). 0 leaves one off. */
ll_sampler *ll_sampler_min_length_new(int32_t min_length, int32_t min_new_tokens,
                                      const int32_t *eos, size_t n_eos, ll_error *err);
/* HF ForcedBOS / ForcedEOS: every logit -inf except the forced token when
 * the history has 1 token (BOS) or max_length - 1 tokens (EOS). */
ll_sampler *ll_sampler_forced_bos_new(int32_t bos, ll_error *err);
ll_sampler *ll_sampler_forced_eos_new(int32_t max_length, const int32_t *eos, size_t n_eos,
                                      ll_error *err);
/* HF exponential_decay_length_penalty: after start_index generated tokens,
 * EOS logits grow by |logit| * (factor^(len - start) - 1). */
ll_sampler *ll_sampler_exp_decay_length_new(int32_t start_index, double decay_factor,
                                            size_t prompt_len, const int32_t *eos, size_t n_eos,
                                            ll_error *err);
/* Remaining Hugging Face processors, for exact reproduction of HF setups. */
ll_sampler *ll_sampler_inf_nan_remove_new(ll_error *err);
ll_sampler *ll_sampler_log_softmax_new(ll_error *err); /* renormalize_logits */
ll_sampler *ll_sampler_encoder_repetition_penalty_new(float penalty, const int32_t *encoder_ids,
                                                      size_t n, ll_error *err);
/* Writes the tokens allowed after history h into allowed (at most cap);
 * returns their count. */
typedef size_t (*ll_allowed_tokens_fn)(void *user, const ll_history *h, int32_t *allowed, size_t cap);
ll_sampler *ll_sampler_prefix_allowed_new(ll_allowed_tokens_fn fn, void *user, ll_error *err);
ll_sampler *ll_sampler_bark_eos_prioritizer_new(const int32_t *eos, size_t n_eos, float min_eos_p,
                                                ll_error *err);
/* Group beam search: scores[t] -= penalty for each token chosen by the
 * earlier groups at this step (HF HammingDiversityLogitsProcessor). */
void ll_hamming_diversity(float *scores, size_t n_vocab, const int32_t *previous_group_tokens,
                          size_t n, float diversity_penalty);
/* HF WatermarkLogitsProcessor with "lefthash" seeding (torch's CPU
 * generator and randperm reproduced). HF defaults: ratio 0.25, bias 2,
 * key 15485863. */
ll_sampler *ll_sampler_watermark_new(size_t vocab_size, double greenlist_ratio, float bias,
                                     uint64_t hashing_key, ll_error *err);
ll_sampler *ll_sampler_xtc_new(float probability, float threshold, size_t min_keep,
                               uint32_t seed, ll_error *err);

typedef struct ll_dry_params {
    float multiplier;      /* 0 = off */
    float base;            /* >= 1 */
    int32_t allowed_length;
    int32_t last_n;        /* window; 0 = off */
    const ll_token_seq *breakers; /* sequence breakers as token sequences */
    size_t n_breakers;
} ll_dry_params;
ll_sampler *ll_sampler_dry_new(const ll_dry_params *dp, ll_error *err);

ll_sampler *ll_sampler_mirostat_new(int32_t n_vocab, uint32_t seed, float tau, float eta,
                                    int32_t m, ll_error *err);
ll_sampler *ll_sampler_mirostat_v2_new(uint32_t seed, float tau, float eta, ll_error *err);

/* Greedy: argmax; ties go to the first maximum in array order (the lowest
 * id while the array is in id order). */
ll_sampler *ll_sampler_greedy_new(ll_error *err);
/* Multinomial sampling with a seeded RNG: inverse CDF over the current
 * array order. LLAMACPP: std::mt19937 + libstdc++ generate_canonical<double>
 * exactly as llama.cpp's dist; HF/OPENAI: the same generator, candidates
 * walked in token-id order; LLAMA2C: llama2.c's xorshift and sampler. */
ll_sampler *ll_sampler_dist_new(uint32_t seed, ll_profile sem, ll_error *err);
/* llama2.c's top-p sampler (prefilter, qsort, cum > p); selects a token. */
ll_sampler *ll_sampler_llama2c_top_p_new(float p, uint64_t seed, ll_error *err);

/* ------------------------------------------------------------------ */
/* Trace: what every stage of a chain did                              */
/* ------------------------------------------------------------------ */

typedef struct ll_trace_token {
    int32_t id;
    float logit;
    float p; /* softmax over the candidates at that point */
} ll_trace_token;

#define LL_TRACE_MAX_TOP 64

typedef struct ll_trace_stage {
    char name[64];           /* ll_sampler_describe() of the stage */
    size_t n_before, n_after;        /* candidates with a finite logit */
    double mass_removed;     /* probability (before the stage) of tokens it removed */
    double entropy_before, entropy_after; /* nats */
    size_t n_top, n_top_after;
    ll_trace_token top_before[LL_TRACE_MAX_TOP];
    ll_trace_token top_after[LL_TRACE_MAX_TOP];
    int32_t selected;        /* token chosen by this stage, -1 if none */
} ll_trace_stage;

typedef struct ll_trace ll_trace;

ll_trace *ll_trace_new(size_t top_n, ll_error *err);
void ll_trace_free(ll_trace *t);
size_t ll_trace_n_stages(const ll_trace *t);
const ll_trace_stage *ll_trace_stage_at(const ll_trace *t, size_t i);

/* ------------------------------------------------------------------ */
/* Chains                                                              */
/* ------------------------------------------------------------------ */

typedef struct ll_chain ll_chain;

ll_chain *ll_chain_new(size_t n_vocab, ll_error *err);
void ll_chain_free(ll_chain *chain);
/* Appends s; the chain owns it from now on (also on failure). */
ll_status ll_chain_add(ll_chain *chain, ll_sampler *s, ll_error *err);
size_t ll_chain_length(const ll_chain *chain);
const ll_sampler *ll_chain_get(const ll_chain *chain, size_t i);
size_t ll_chain_n_vocab(const ll_chain *chain);
/* "top_k(k=40) -> top_p(p=0.95) -> ..." into buf, as snprintf does: at most
 * cap - 1 characters and a NUL; returns the length of the whole description,
 * so a result >= cap means it was cut (call again with result + 1 bytes). */
size_t ll_chain_describe(const ll_chain *chain, char *buf, size_t cap);

/* Forget all state (history, penalties, RNG back to its seed). */
void ll_chain_reset(ll_chain *chain);
/* Reset, then accept `n` prompt tokens (they count as history). */
ll_status ll_chain_set_prompt(ll_chain *chain, const int32_t *tokens, size_t n, ll_error *err);
/* Add one generated token to the history of the chain and its samplers. */
ll_status ll_chain_accept(ll_chain *chain, int32_t token, ll_error *err);
ll_history ll_chain_history(const ll_chain *chain);

/* Record every stage of the following sample calls in `trace` (NULL stops). */
void ll_chain_set_trace(ll_chain *chain, ll_trace *trace);

/* Runs the chain on n_vocab logits and returns the selected token. The
 * logits are copied; NaN or +inf is an error naming the first bad index.
 * Does not accept the token (call ll_chain_accept). */
ll_status ll_chain_sample(ll_chain *chain, const float *logits, size_t n_vocab,
                          int32_t *token, ll_error *err);
/* Same, but works in place on `logits` (the caller's scratch buffer, e.g.
 * the model's output) and so avoids the copy. */
ll_status ll_chain_sample_inplace(ll_chain *chain, float *logits, size_t n_vocab,
                                  int32_t *token, ll_error *err);
/* Applies the chain without requiring a selecting stage (token may be -1).
 * Useful to inspect a distribution. */
ll_status ll_chain_apply(ll_chain *chain, const float *logits, size_t n_vocab, int32_t *token,
                         ll_error *err);
/* The candidates left by the last sample/apply call; valid until the next
 * call. Probabilities are filled in (softmax over the survivors) if no
 * stage computed them. */
const ll_candidates *ll_chain_candidates(ll_chain *chain);

/* ------------------------------------------------------------------ */
/* Building a chain from named hyperparameters                         */
/* ------------------------------------------------------------------ */

#define LL_UNSET_INT INT32_MIN

/* Float fields left as NaN and int fields left as LL_UNSET_INT take the
 * profile's default (see docs/semantics.md). */
typedef struct ll_sampling_params {
    ll_profile profile;
    int do_sample;              /* -1 unset, 0 greedy, 1 sample */
    float temperature;
    float dynatemp_range, dynatemp_exponent;
    int32_t top_k;
    /* probabilities are double: HF compares cumulative mass with 1 - top_p
     * computed in double, and the user's "0.9" must reach it unrounded */
    double top_p, min_p, typical_p;
    double epsilon_cutoff, eta_cutoff;
    float top_n_sigma;
    int32_t min_keep;
    float repetition_penalty, frequency_penalty, presence_penalty;
    int32_t penalty_last_n;
    int penalty_scope;          /* ll_penalty_scope, or -1 for the profile's */
    int32_t no_repeat_ngram_size;
    const ll_token_bias *logit_bias;
    size_t n_logit_bias;
    const ll_sequence_bias *sequence_bias;
    size_t n_sequence_bias;
    const ll_token_seq *bad_words;
    size_t n_bad_words;
    const int32_t *suppress_tokens;
    size_t n_suppress_tokens;
    int32_t min_new_tokens, min_length;
    const int32_t *eos_ids;
    size_t n_eos_ids;
    float xtc_probability, xtc_threshold;
    float dry_multiplier, dry_base;
    int32_t dry_allowed_length, dry_penalty_last_n;
    const ll_token_seq *dry_breakers;
    size_t n_dry_breakers;
    int32_t mirostat;           /* 0 off, 1, 2 */
    float mirostat_tau, mirostat_eta;
    int64_t seed;               /* -1 or unset: LL_DEFAULT_SEED */
    /* XTC's own RNG (llama.cpp gives each RNG stage its own mt19937; with a
     * fixed seed they all get that seed): -1 = seed */
    int64_t xtc_seed;
    /* user order, e.g. "penalties,top_k,temperature,top_p": stage names
     * (or HF class / llama.cpp names) separated by ',' ';' or blanks; a
     * stage may give its own values, "top_k(k=50),temperature(t=0.7),
     * top_k(k=3, min_keep=2)", which override the fields above for that
     * occurrence only (docs/semantics.md, "samplers=") */
    const char *samplers;
} ll_sampling_params;

#define LL_DEFAULT_SEED 42u

void ll_sampling_params_init(ll_sampling_params *p, ll_profile profile);
ll_chain *ll_chain_from_params(const ll_sampling_params *p, size_t n_vocab, ll_error *err);
/* Non-fatal remarks about the parameters (e.g. HF ignores temperature when
 * do_sample is false); written to buf, empty when there is none. */
void ll_sampling_params_warnings(const ll_sampling_params *p, char *buf, size_t cap);
/* The profile's greedy rule: whether these parameters decode greedily
 * (HF: without do_sample or at temperature 0; vLLM: temperature < 1e-5;
 * llama2.c: temperature 0; llama.cpp: only with do_sample false). */
bool ll_sampling_params_greedy(const ll_sampling_params *p);
/* Checks a samplers= list as the chain builder reads it (names, the
 * parameters in parentheses, their values and ranges) without building a
 * chain. */
ll_status ll_samplers_check(const char *samplers, ll_error *err);
/* The stage, parameter and profile tables as markdown (docs/semantics.md
 * holds the same text); as snprintf: returns the whole length. */
size_t ll_profiles_markdown(char *buf, size_t cap);

/* ------------------------------------------------------------------ */
/* Tokenizers                                                          */
/* ------------------------------------------------------------------ */

typedef struct ll_tokenizer ll_tokenizer;

typedef enum ll_tokenizer_kind {
    LL_TOKENIZER_SPM = 0, /* SentencePiece-style BPE with byte fallback ("llama") */
    LL_TOKENIZER_BPE,     /* GPT-2 byte-level BPE with a pre-tokenizer ("gpt2") */
    LL_TOKENIZER_WPM      /* WordPiece ("bert") */
} ll_tokenizer_kind;

/* A GGUF file (a model, or a vocabulary-only file) or a llama2.c
 * tokenizer.bin. */
ll_tokenizer *ll_tokenizer_load(const char *path, ll_error *err);
void ll_tokenizer_free(ll_tokenizer *t);
ll_tokenizer_kind ll_tokenizer_get_kind(const ll_tokenizer *t);
/* "llama", "gpt2:deepseek-llm", "bert", ... */
const char *ll_tokenizer_describe(const ll_tokenizer *t);
size_t ll_tokenizer_n_vocab(const ll_tokenizer *t);
int32_t ll_tokenizer_bos(const ll_tokenizer *t); /* -1 if none */
int32_t ll_tokenizer_eos(const ll_tokenizer *t);
/* Whether encoding adds BOS by default (tokenizer.ggml.add_bos_token, or
 * the tokenizer type's default). */
bool ll_tokenizer_adds_bos(const ll_tokenizer *t);
/* End-of-generation ids (EOS, EOT, ...): writes up to cap, returns count. */
size_t ll_tokenizer_eog_ids(const ll_tokenizer *t, int32_t *ids, size_t cap);
bool ll_tokenizer_is_eog(const ll_tokenizer *t, int32_t id);

/* Encodes text (len bytes, any UTF-8). add_special: BOS/EOS as the
 * tokenizer's defaults say; parse_special: recognise special-token text
 * such as "<s>". *ids is allocated (caller frees). */
ll_status ll_tokenize(const ll_tokenizer *t, const char *text, size_t len, bool add_special, bool parse_special,
                      int32_t **ids, size_t *n_ids, ll_error *err);
/* The piece as stored in the vocabulary (NUL-terminated, never NULL). */
const char *ll_token_text(const ll_tokenizer *t, int32_t id);
/* The bytes the token stands for in decoded text (byte tokens give their
 * byte, SentencePiece's U+2581 gives a space, control tokens nothing
 * unless `special`); returns the length (may exceed cap: nothing is
 * written past cap). */
size_t ll_token_to_bytes(const ll_tokenizer *t, int32_t id, bool special, char *buf, size_t cap);

/* Streaming decoder: turns tokens into text that is always valid UTF-8,
 * holding back the bytes of a character split across tokens. */
typedef struct ll_detokenizer ll_detokenizer;
ll_detokenizer *ll_detokenizer_new(const ll_tokenizer *t, ll_error *err);
void ll_detokenizer_free(ll_detokenizer *d);
/* Feeds one token; returns the text that became complete (valid UTF-8,
 * NUL-terminated, valid until the next call) and its length in *len. */
const char *ll_detokenizer_push(ll_detokenizer *d, int32_t id, size_t *len);
/* Whatever is still held back (an incomplete character becomes U+FFFD). */
const char *ll_detokenizer_flush(ll_detokenizer *d, size_t *len);
void ll_detokenizer_reset(ll_detokenizer *d);

/* ------------------------------------------------------------------ */
/* Models and inference                                                */
/* ------------------------------------------------------------------ */

typedef struct ll_model ll_model;

typedef struct ll_model_info {
    char format[16];        /* "gguf" or "llama2.c" */
    char arch[32];          /* "llama" */
    char name[128];
    char file_type[32];     /* main weight type, e.g. "Q4_K" */
    uint32_t gguf_version;
    size_t n_vocab, n_ctx_train, dim, n_layers, n_heads, n_kv_heads, head_dim, ffn_dim, rope_dim;
    float rope_base, rms_eps;
    bool rope_neox;         /* rotate halves (NeoX) rather than adjacent pairs */
    bool tied_output;       /* classifier shares the token embeddings */
    uint64_t n_params, file_bytes;
} ll_model_info;

/* GGUF (llama architecture) or a llama2.c checkpoint, recognised by its
 * content. tokenizer_path: a llama2.c tokenizer.bin for llama2.c
 * checkpoints (NULL: none). A GGUF carries its own tokenizer, so a
 * tokenizer_path with one fails (LL_ERR_INVALID_ARGUMENT, naming both
 * files) rather than being ignored. */
ll_model *ll_model_load(const char *path, const char *tokenizer_path, ll_error *err);
/* A GGUF image in memory (kept alive by the caller): the embedded model. */
ll_model *ll_model_load_memory(const void *data, size_t size, ll_error *err);
/* The embedded default model (a small Llama trained on the King James
 * Bible, Q8_0, with its SentencePiece vocabulary; docs/default-model.md). */
ll_model *ll_model_load_default(ll_error *err);
/* Its GGUF image (e.g. to write it to a file for another engine). */
const void *ll_default_model_bytes(size_t *size);
void ll_model_free(ll_model *m);
const ll_model_info *ll_model_get_info(const ll_model *m);
const ll_tokenizer *ll_model_get_tokenizer(const ll_model *m); /* NULL if it has none */

/* What the architecture's row and the file's keys make of the block
 * (docs/architectures.md says what each part means). */
typedef enum {
    LL_ROPE_FACTORS_OFF,      /* no per-pair factors */
    LL_ROPE_FACTORS_PER_PAIR, /* rope_freqs.weight (Llama 3.1) */
    LL_ROPE_FACTORS_LONG_SHORT /* LongRoPE: the long set when the context exceeds rope_orig_ctx, else the short */
} ll_rope_factor_kind;
typedef struct ll_arch_info {
    const char *family;          /* the families stored under the architecture, e.g. "Gemma 2" */
    char block[256];             /* the block's parts, e.g. "SwiGLU, NeoX RoPE, q/k/v biases" (cut with "..."
                                    if ever longer) */
    float attention_scale;       /* scores are q.k x this */
    float attn_softcap;          /* 0: off */
    float final_softcap;         /* 0: off */
    size_t sliding_window;       /* keys a local layer sees (0: none) */
    size_t sliding_window_layers; /* how many layers are local */
    float rope_position_scale;   /* positions x this (1: unscaled) */
    ll_rope_factor_kind rope_factors;
    size_t rope_orig_ctx;        /* LL_ROPE_FACTORS_LONG_SHORT: the context up to which the short set is used */
    float rope_mscale;           /* cos and sin x this (1: unscaled) */
    float rope_local_base;       /* local layers' own RoPE base, unscaled (0: they share the global one) */
} ll_arch_info;
void ll_model_get_arch_info(const ll_model *m, ll_arch_info *out);

/* A GGUF file's metadata and tensor directory as stored, for listings:
 * any architecture, a vocabulary-only file too. Read-only views into the
 * mapped file, valid while it is open (or the model it belongs to lives). */
typedef struct ll_gguf ll_gguf;
ll_gguf *ll_gguf_open(const char *path, ll_error *err);
void ll_gguf_close(ll_gguf *g);
/* The GGUF a model was loaded from; NULL for a llama2.c checkpoint. */
const ll_gguf *ll_model_gguf(const ll_model *m);
uint32_t ll_gguf_version(const ll_gguf *g);
size_t ll_gguf_n_meta(const ll_gguf *g);
size_t ll_gguf_n_tensors(const ll_gguf *g);
typedef enum { LL_META_UINT, LL_META_INT, LL_META_FLOAT, LL_META_BOOL, LL_META_STRING, LL_META_ARRAY } ll_meta_kind;
typedef struct ll_meta_entry {
    const char *key;         /* NUL-terminated (any bytes: escape before printing) */
    ll_meta_kind kind;
    const char *type_name;   /* GGUF's value type: "uint32", "float32", "string", "array", ... */
    unsigned long long u;    /* LL_META_UINT */
    long long i;             /* LL_META_INT */
    double f;                /* LL_META_FLOAT */
    bool b;                  /* LL_META_BOOL */
    const char *str;         /* LL_META_STRING: the bytes as stored, not NUL-terminated */
    size_t str_len;
    const char *elem_type;   /* LL_META_ARRAY: the elements' type name and count */
    unsigned long long n_elems;
} ll_meta_entry;
/* Entry i in file order; false (and *out untouched) when i >= ll_gguf_n_meta. */
bool ll_gguf_meta_at(const ll_gguf *g, size_t i, ll_meta_entry *out);
typedef struct ll_tensor_entry {
    const char *name;        /* NUL-terminated (any bytes: escape before printing) */
    const char *type;        /* "F32", "Q4_K", ... */
    uint32_t n_dims;
    uint64_t shape[4];       /* shape[0] is the contiguous dimension; 1 beyond n_dims */
    uint64_t n_bytes;
} ll_tensor_entry;
/* Tensor i in file order; false (and *out untouched) when i >= ll_gguf_n_tensors. */
bool ll_gguf_tensor_at(const ll_gguf *g, size_t i, ll_tensor_entry *out);

/* Threads. The CPUs this process may run on: its affinity mask (taskset,
 * cpusets), else the online CPUs; at least 1, at most 512 (a context's
 * limit). */
int ll_cpus_available(void);
/* Bytes of weights one generated token reads: every matrix of every layer
 * and the output matrix (the embedding lookup reads one row). */
uint64_t ll_model_token_bytes(const ll_model *m);
/* The thread count to generate with: one thread per 6 MiB of
 * ll_model_token_bytes (a smaller model is slower with a second thread:
 * the measurements are in model.c), at least 1, at most
 * ll_cpus_available(). What the CLI's -t defaults to. */
int ll_model_default_threads(const ll_model *m);

/* One sequence's key/value cache plus the scratch of a forward pass. */
typedef struct ll_context ll_context;

/* n_ctx 0 = the model's training context; n_threads >= 1. An F32 KV
 * cache (ll_context_new_ex chooses). */
ll_context *ll_context_new(const ll_model *m, size_t n_ctx, int n_threads, ll_error *err);
/* How the KV cache stores keys and values. LL_KV_F16 halves its bytes:
 * each value is rounded to IEEE half, to nearest even, as ggml stores an F16
 * cache (llama.cpp's default `-ctk f16 -ctv f16`), read back widened, and
 * the query is rounded to half for its dot products with the keys, as ggml
 * converts it. LL_KV_Q8_0 takes about a quarter of F32's bytes: each head's
 * key and value in ggml's Q8_0 blocks (32 values, a half scale, as
 * llama.cpp's `-ctk q8_0 -ctv q8_0` stores them); the query is quantized to
 * Q8_0 for its dot products with the keys (ggml's vec_dot_q8_0_q8_0, as
 * llama.cpp computes KQ against a Q8_0 cache) and the values are read back
 * as q x scale. It needs a head size that is a multiple of 32
 * (docs/semantics.md, "KV cache type"). */
typedef enum ll_kv_type { LL_KV_F32 = 0, LL_KV_F16 = 1, LL_KV_Q8_0 = 2 } ll_kv_type;
/* "f32", "f16", "q8_0"; NULL for a value outside the enum. */
const char *ll_kv_type_name(ll_kv_type t);
/* Parses "f32" / "f16" / "q8_0"; anything else is LL_ERR_INVALID_ARGUMENT
 * naming the value and the valid ones. */
ll_status ll_kv_type_parse(const char *s, ll_kv_type *out, ll_error *err);
/* Everything a context fixes when it is made (the cache's layout is
 * allocated once): start from ll_context_params_default() and set fields,
 * so a field added later keeps its default in old code. */
typedef struct ll_context_params {
    size_t n_ctx;       /* 0: the model's training context */
    int n_threads;      /* >= 1 */
    ll_kv_type kv_type; /* default LL_KV_F32 */
    /* false (default): a prompt's run of more than 8 tokens is one
     * matrix-matrix product (fast). true: every matrix product of this
     * context's steps uses the one-token arithmetic, up to 8 tokens at a
     * time (attention keeps its several-token order), so how a prompt is
     * cut changes no bit, and Q8_0 products are llama.cpp's, whose batches
     * give its one-token bits: with it a Q8_0 model's logits can equal
     * llama.cpp's (docs/parity.md). Slower prompts: the weights are read
     * once per 8 tokens. In ll_decode_batch the work context's setting
     * applies. */
    bool one_token_products;
} ll_context_params;
ll_context_params ll_context_params_default(void); /* n_ctx 0, 1 thread, F32, batched prompts */
ll_context *ll_context_new_ex(const ll_model *m, const ll_context_params *p, ll_error *err);
ll_kv_type ll_context_kv_type(const ll_context *c);
/* The KV cache's size in bytes (keys and values of every layer and position,
 * the positions rounded up to whole blocks of 128). */
size_t ll_context_kv_bytes(const ll_context *c);
void ll_context_free(ll_context *c);
size_t ll_context_n_ctx(const ll_context *c);
const ll_model *ll_context_model(const ll_context *c);
size_t ll_context_n_past(const ll_context *c);
/* Runs n tokens at positions n_past..n_past+n-1 (the prompt in the steps
 * ll_batch_prompt_piece cuts, or one token when generating) and appends
 * them to the cache. Writes the
 * logits of the last token to logits_last (n_vocab floats) and, if
 * logits_all is not NULL, of every token (n x n_vocab). Every id must be
 * in [0, n_vocab) and n at most n_ctx - n_past, else LL_ERR_INVALID_ARGUMENT
 * naming the value and the range. All or nothing: when the abort callback
 * (ll_context_set_abort) stops it, it returns LL_ERR_INTERRUPTED with the
 * context as before the call. */
ll_status ll_context_decode(ll_context *c, const int32_t *tokens, size_t n, float *logits_last, float *logits_all,
                            ll_error *err);
/* Forgets cached positions >= n_past (and every branch). */
ll_status ll_context_rewind(ll_context *c, size_t n_past, ll_error *err);
/* Branching sequences (beam search, parallel samples) that share the cached
 * prefix: decodes one token for each of n sequences, where parents[i] is a
 * node returned by an earlier call (-1: right after the prefix). A branch
 * is a path of nodes, so forking a sequence copies nothing. Writes n x
 * n_vocab logits and the ids of the n new nodes. */
ll_status ll_context_decode_tree(ll_context *c, const int32_t *parents, const int32_t *tokens, size_t n,
                                 float *logits, int32_t *nodes, ll_error *err);
/* Drops every branch (the prefix stays). */
void ll_context_tree_clear(ll_context *c);
/* Continuous batching: one forward step over rows of several contexts of
 * the same model (a server's slots), so the weights are read once for all
 * of them. Row i decodes rows[i].token for rows[i].ctx:
 *  - parent LL_BATCH_APPEND: appends it to that context's prefix (the
 *    rows of one context that append must be adjacent; they take the
 *    positions n_past, n_past + 1, ... in order, like ll_context_decode,
 *    and drop that context's branches);
 *  - parent -1 or a node: a branch, as ll_context_decode_tree (node set);
 *    one context cannot both append and branch in one call.
 * logits, if not NULL, receives the n_vocab logits after the row's token.
 * `work` lends its threads and scratch (any context of the model; it need
 * not own a row) and its abort callback is the one polled. n is at most
 * LL_BATCH_MAX. What a row computes does not depend on the other rows: a
 * row that continues a sequence by one token, and every run of at most 8
 * appended tokens, uses the one-token arithmetic; a context's run of more
 * than 8 appended tokens is one matrix-matrix product, as
 * ll_context_decode computes it. All or nothing, as ll_context_decode. */
#define LL_BATCH_MAX 256
/* a context's run of at most this many appended rows takes the one-token
 * arithmetic; a longer one is one matrix-matrix product */
#define LL_BATCH_SHORT_RUN 8
#define LL_BATCH_APPEND (-2)
typedef struct {
    ll_context *ctx;
    int32_t token;
    int32_t parent; /* LL_BATCH_APPEND, -1 (a branch right after the prefix) or a node */
    int32_t node;   /* out: the node made (branch rows) */
    float *logits;  /* out: n_vocab floats, or NULL */
} ll_batch_row;
ll_status ll_decode_batch(ll_context *work, ll_batch_row *rows, size_t n, ll_error *err);
/* How many of a prompt's `left` remaining tokens the next step takes: at
 * most LL_BATCH_MAX, and never a last piece of 8 or fewer after a longer
 * one, so every token of a prompt of more than 8 goes through the
 * matrix-matrix product and its logits do not depend on how the prompt was
 * cut (ll_context_decode and the server both cut prompts with it). */
size_t ll_batch_prompt_piece(size_t left);
/* A stop check for long decodes (a prompt of thousands of tokens can take
 * seconds): ll_context_decode and ll_context_decode_tree call
 * should_stop(user) on the calling thread before each layer, and once it
 * returns true they return LL_ERR_INTERRUPTED, leaving the context as it
 * was before the call (n_past and the branches unchanged). NULL removes
 * it. ll_generate on a context from ll_lm_from_context adds its own check
 * (the interrupt flag and max_time) for the duration of the call, still
 * calling this one, and puts this one back after. */
typedef bool (*ll_abort_fn)(void *user);
void ll_context_set_abort(ll_context *c, ll_abort_fn should_stop, void *user);
/* The check and user pointer set now (NULL if none), to chain or restore it. */
void ll_context_get_abort(const ll_context *c, ll_abort_fn *should_stop, void **user);

/* Runs fn(user, i) for every i in [0, n) on c's threads (the caller among
 * them) and returns when all are done: work between steps, such as a
 * server sampling its slots' next tokens, on the threads the steps use,
 * which otherwise wait. fn must be safe to run at once for different i;
 * which thread runs which i is unspecified. */
void ll_context_parallel_for(ll_context *c, size_t n, void (*fn)(void *user, size_t i), void *user);

/* ------------------------------------------------------------------ */
/* Generation: the loop that feeds each chosen token back              */
/* ------------------------------------------------------------------ */

/* A language model as the loop sees it: anything that turns a token prefix
 * into next-token logits. ll_lm_from_context wraps a real model; tests use
 * a deterministic toy. */
typedef struct ll_lm {
    void *self;
    size_t n_vocab;
    size_t n_ctx; /* positions available, prompt included */
    /* Forget everything. */
    void (*reset)(void *self);
    /* Append n tokens to the shared prefix; logits after the last one.
     * Returning LL_ERR_INTERRUPTED here or from branch (e.g. when a flag
     * is set) ends the generation with what it has, not with an error:
     * the sequences so far, reason LL_STOP_INTERRUPTED. */
    ll_status (*extend)(void *self, const int32_t *tokens, size_t n, float *logits, ll_error *err);
    /* One token on each of n branches off the prefix (parents[i]: a node
     * from an earlier call, or -1); n x n_vocab logits, new node ids. */
    ll_status (*branch)(void *self, const int32_t *parents, const int32_t *tokens, size_t n, float *logits,
                        int32_t *nodes, ll_error *err);
} ll_lm;

void ll_lm_from_context(ll_lm *lm, ll_context *c);

typedef enum ll_stop_reason {
    LL_STOP_NONE = 0,
    LL_STOP_EOS,         /* an end-of-generation token */
    LL_STOP_STRING,      /* a stop string appeared in the text */
    LL_STOP_LENGTH,      /* max_new_tokens / max_length */
    LL_STOP_TIME,        /* max_time */
    LL_STOP_CONTEXT,     /* the context window is full */
    LL_STOP_INTERRUPTED  /* the caller's interrupt flag */
} ll_stop_reason;
const char *ll_stop_reason_name(ll_stop_reason r);

typedef enum ll_early_stopping {
    LL_EARLY_STOPPING_FALSE = 0, /* HF's heuristic (default) */
    LL_EARLY_STOPPING_TRUE = 1,  /* stop once num_beams hypotheses are finished */
    LL_EARLY_STOPPING_NEVER = 2  /* the exact criterion */
} ll_early_stopping;

#define LL_MAX_LOGPROBS 20

typedef struct ll_generate_params {
    ll_sampling_params sampling; /* profile, do_sample, seed, every processor */
    int32_t max_new_tokens;      /* LL_UNSET_INT: max_length, else the profile's default */
    int32_t max_length;          /* prompt + new tokens, as HF counts (LL_UNSET_INT: unset) */
    const int32_t *eos_ids;      /* NULL: the tokenizer's end-of-generation ids */
    size_t n_eos_ids;
    bool ignore_eos;
    const char *const *stop;     /* stop strings, matched on the decoded text */
    size_t n_stop;
    /* seconds from the call, the prompt included (HF's MaxTimeCriteria);
     * 0 = no limit. Checked during the prompt too: a limit that expires
     * there gives sequences of no tokens (reason LL_STOP_TIME). */
    double max_time;
    int32_t n;                   /* independent samples (default 1) */
    int32_t num_beams;           /* > 1: beam search (beam sampling with do_sample) */
    float length_penalty;        /* beam scores = sum of log-probs / length^length_penalty */
    ll_early_stopping early_stopping;
    int32_t num_return_sequences;
    int32_t logprobs;            /* -1: off; N >= 0: the chosen token's log-probs and N alternatives */
    /* streaming: text of sequence `seq` as it becomes final (a possible
     * stop string is held back until it is decided) */
    void (*on_text)(void *user, int32_t seq, const char *text, size_t len);
    void *user;
    /* Nonzero stops the generation (a SIGINT handler may set it): polled after every token and, on a context from
     * ll_lm_from_context, between the layers of the prompt and of every
     * decode, so it takes effect within a fraction of a second. */
    const volatile sig_atomic_t *interrupt;
} ll_generate_params;

void ll_generate_params_init(ll_generate_params *p, ll_profile profile);

typedef struct ll_logprob {
    int32_t id;
    float logprob;
} ll_logprob;

typedef struct ll_token_logprobs {
    int32_t id;
    float raw;       /* log-softmax of the model's logits */
    float processed; /* log of the probability the chain gave it (-inf if it was removed) */
    size_t n_top;
    ll_logprob top_raw[LL_MAX_LOGPROBS];
    ll_logprob top_processed[LL_MAX_LOGPROBS];
} ll_token_logprobs;

typedef struct ll_generation {
    int32_t *tokens;             /* generated tokens (an EOS that ended it included) */
    size_t n_tokens;
    char *text;                  /* decoded, without the stop string */
    size_t text_len;
    ll_stop_reason reason;
    double score;                /* beams: HF's normalised score; else the summed processed log-probs */
    ll_token_logprobs *logprobs; /* n_tokens entries when requested */
} ll_generation;

typedef struct ll_generate_result {
    ll_generation *seqs;
    size_t n_seqs;
    size_t n_prompt;
    bool prompt_stopped;         /* the interrupt or max_time came before the prompt was decoded */
    double prompt_seconds, gen_seconds;
    size_t n_generated;          /* tokens decoded after the prompt, all sequences */
} ll_generate_result;

/* tok may be NULL (no text, no stop strings). A stop by the interrupt flag
 * or max_time is not an error: LL_OK with what exists, each sequence's
 * reason saying why (n samples: the tokens so far; beam search: the best
 * num_return_sequences of the finished hypotheses and the live beams,
 * scored as HF finalizes them; during the prompt: empty sequences). */
ll_status ll_generate(const ll_lm *lm, const ll_tokenizer *tok, const int32_t *prompt, size_t n_prompt,
                      const ll_generate_params *p, ll_generate_result *out, ll_error *err);
void ll_generate_result_free(ll_generate_result *r);

/* ------------------------------------------------------------------ */
/* Random numbers: reproducible across runs and platforms              */
/* ------------------------------------------------------------------ */

typedef struct ll_mt19937 {
    uint32_t mt[624];
    size_t index;
} ll_mt19937;

void ll_mt19937_seed(ll_mt19937 *r, uint32_t seed);
uint32_t ll_mt19937_next(ll_mt19937 *r);
/* libstdc++ std::generate_canonical<double, 53>: two draws. */
double ll_mt19937_canonical_double(ll_mt19937 *r);
/* libstdc++ std::uniform_real_distribution<float>(0, 1): one draw. */
float ll_mt19937_canonical_float(ll_mt19937 *r);

/* ------------------------------------------------------------------ */
/* Numerics shared by every stage                                      */
/* ------------------------------------------------------------------ */

/* exp(x) rounded to float, computed in double: deterministic on every
 * platform and identical in the scalar and SIMD kernels. */
float ll_expf(float x);
/* Name of the SIMD kernel set a new chain would use: "avx512", "avx2" or
 * "scalar" (LOGITLAB_SIMD=scalar|avx2|avx512 in the environment lowers it). */
const char *ll_simd_level_name(void);

/* ------------------------------------------------------------------ */
/* Chat templates: a conversation to the prompt text (docs/chat.md)    */
/* ------------------------------------------------------------------ */

typedef struct ll_chat_message {
    const char *role;    /* "system", "user" or "assistant" */
    const char *content; /* UTF-8, NUL-terminated */
} ll_chat_message;

typedef enum ll_chat_style {
    /* what the model's own Jinja template renders (as transformers'
     * apply_chat_template), without the leading BOS text, which the
     * tokenizer adds as a token */
    LL_CHAT_JINJA = 0,
    /* llama.cpp's built-in renderer (llama_chat_apply_template) */
    LL_CHAT_LLAMACPP = 1
} ll_chat_style;

/* Renders msgs[0..n) with a template: tokenizer.chat_template text, whose
 * family (Llama 2, Llama 3, ChatML/Qwen, Mistral, Gemma, Phi-3, Zephyr) is
 * recognised from marker text, or a family name ("llama3", "chatml",
 * "gemma", ..., "logitlab" for logitlab's own format). add_assistant
 * appends the generation prompt. *out (caller frees) is NUL-terminated,
 * *out_len (may be NULL) its length. An unknown template, none, a role
 * other than system/user/assistant, or a conversation the template itself
 * rejects (Gemma 2 and a system message) is an error saying which. */
ll_status ll_chat_apply(const char *template_text_or_name, const ll_chat_message *msgs, size_t n, bool add_assistant,
                        char **out, size_t *out_len, ll_error *err);
ll_status ll_chat_apply_style(const char *template_text_or_name, ll_chat_style style, const ll_chat_message *msgs,
                              size_t n, bool add_assistant, char **out, size_t *out_len, ll_error *err);
/* The family a template text or name belongs to ("llama3", ...), or NULL. */
const char *ll_chat_family(const char *template_text_or_name);
/* The supported families as a list for messages and --help. */
const char *ll_chat_families(void);
/* A copy of the model's tokenizer.chat_template (caller frees); *out is
 * NULL when it has none (llama2.c checkpoints, the embedded model). */
ll_status ll_model_chat_template(const ll_model *m, char **out, ll_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LOGITLAB_H */
