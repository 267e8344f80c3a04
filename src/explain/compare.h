/*
 * compare.h - one set of hyperparameters under every profile, side by
 * side: each profile's chain and trace on the same logits, the token each
 * selects with the same seed, and for every pair of profiles the first
 * stage where they part ways and why (order, defaults, which tokens a
 * penalty sees, the rule of a cut, the greedy rule). Used by `logitlab
 * compare` and by the tour's "four frameworks" lesson (internal).
 *
 * The reasons are read from data, not written per parameter: the stage
 * descriptions of the built chains (ll_sampler_describe says the rule a
 * stage follows, e.g. "top_p(p=0.9, cum>=p)"), each profile's own default
 * chain (ll_sampling_params_init), the traces' numbers, and the library's
 * warnings.
 */
#ifndef LL_EXPLAIN_COMPARE_H
#define LL_EXPLAIN_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "logitlab.h"
#include "term.h"

typedef enum {
    LL_CMP_SAME = 0,    /* the same chain and numbers, the same token */
    LL_CMP_ORDER,       /* the same stages, run in another order */
    LL_CMP_DEFAULTS,    /* a parameter left unset: each profile's own default */
    LL_CMP_VALUE,       /* the same setting resolves to another value */
    LL_CMP_RULE,        /* the same stage and value, another rule (e.g. an inclusive or exclusive cut) */
    LL_CMP_HISTORY,     /* a penalty counts other tokens (prompt, generated, last-n window) */
    LL_CMP_GREEDY,      /* one profile decodes greedily with these settings */
    LL_CMP_MISSING,     /* a stage one profile has and the other has not */
    LL_CMP_ARITHMETIC   /* the same stage description, different numbers */
} ll_cmp_kind;

const char *ll_cmp_kind_name(ll_cmp_kind k);

typedef struct {
    char desc[128];    /* ll_sampler_describe(); a leading '?' means off */
    char name[48];     /* ll_sampler_name() */
    bool off, selects;
} ll_cmp_stage;

typedef struct {
    ll_profile profile;
    bool ok;                           /* false: error says why this profile has no chain */
    char error[LL_ERROR_MESSAGE_MAX];
    char warnings[1024];               /* ll_sampling_params_warnings, one per line */
    char *chain;                       /* the whole description */
    ll_cmp_stage *stages;              /* every stage of the chain, trace stage i = stage i */
    size_t n_stages;
    size_t *active;                    /* indexes of the stages that are on (the selector last) */
    size_t n_active;
    ll_trace *trace;                   /* LL_TRACE_MAX_TOP tokens per stage */
    int32_t selected;
    float selected_p;                  /* its probability in the distribution it was drawn from */
    char **defaults;                   /* the profile's default chain (do_sample on), stage descriptions */
    size_t n_defaults;
    char greedy_why[256];              /* set when the selector is greedy */
    /* !ok because of a value the framework accepts and ignores where
     * logitlab rejects it (ll_profile_note_find): the note, the value
     * ("top_p = 1.5") and the sentence that says both, "<framework> accepts
     * top_p = 1.5 and <what it does>; logitlab rejects it: <error>" */
    const ll_profile_note *note;
    char note_value[96];
    char departure[LL_ERROR_MESSAGE_MAX + 512];
} ll_cmp_column;

/* What a column that has no chain says: the departure when there is one,
 * else the library's message. */
const char *ll_cmp_column_error(const ll_cmp_column *col);

typedef struct {
    size_t a, b;                       /* column indexes */
    ll_cmp_kind kind;
    size_t step, step_b;               /* 1-based positions in a's and b's active stages where they part */
    char stage_a[128], stage_b[128];   /* the stages there ("" when a chain has none) */
    char why[768];
} ll_cmp_diff;

typedef struct {
    size_t n_cols;
    ll_cmp_column cols[LL_PROFILE_COUNT];
    size_t n_diffs;
    ll_cmp_diff diffs[LL_PROFILE_COUNT * (LL_PROFILE_COUNT - 1) / 2];
    uint32_t seed;
} ll_compare;

/* Runs p (its profile field ignored) under each of the n profiles on the
 * logits, the history being history[0..n_history) of which the first
 * prompt_len are prompt. A profile that cannot take the parameters gets
 * ok = false and the library's message; that is not an error of the call,
 * which fails only for memory or bad logits. Free with ll_compare_free,
 * also after a failure. */
ll_status ll_compare_run(ll_compare *c, const ll_sampling_params *p, const ll_profile *profiles, size_t n,
                         const float *logits, size_t n_vocab, const int32_t *history, size_t n_history,
                         size_t prompt_len, ll_error *err);
void ll_compare_free(ll_compare *c);

/* The pair's first difference (also stored in c->diffs by ll_compare_run). */
void ll_compare_first_difference(const ll_compare *c, size_t a, size_t b, ll_cmp_diff *d);

/* The table: chains, stage by stage side by side (top_n tokens after each
 * stage), the selected tokens, the first difference of each pair. tok may
 * be NULL (tokens shown as #id). */
void ll_compare_print(const ll_compare *c, const ll_term *t, const ll_tokenizer *tok, size_t top_n);

/* --generate: each profile's continuation of the prompt, same seed. */
typedef struct {
    ll_profile profile;
    bool ok;
    char error[LL_ERROR_MESSAGE_MAX];
    int32_t *tokens;
    size_t n_tokens;
    char *text;
    size_t text_len;
    ll_stop_reason reason;
} ll_cmp_gen;

typedef struct {
    size_t n;
    ll_cmp_gen g[LL_PROFILE_COUNT];
    /* first position (0-based) where the profiles that ran do not all have
     * the same token (one that ended counts as different); -1: none */
    long first_divergence;
} ll_compare_gen;

ll_status ll_compare_generate(ll_compare_gen *out, const ll_lm *lm, const ll_tokenizer *tok, const int32_t *prompt,
                              size_t n_prompt, const ll_sampling_params *p, const ll_profile *profiles, size_t n,
                              int32_t max_new_tokens, const volatile sig_atomic_t *interrupt, ll_error *err);
void ll_compare_gen_free(ll_compare_gen *g);
/* First position where columns a and b differ (-1: never). */
long ll_compare_gen_pair(const ll_compare_gen *g, size_t a, size_t b);
void ll_compare_print_generate(const ll_compare_gen *g, const ll_term *t, const ll_tokenizer *tok);

#endif /* LL_EXPLAIN_COMPARE_H */
