/*
 * tables.c - the parameter, stage and profile tables (see tables.h): every
 * fact about a profile that is data lives here, and params.c, the CLI, the
 * tour, generate.c, beam.c and docs/semantics.md read it from here.
 */
#include "tables.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters ---- */

#define OFF(f) offsetof(ll_sampling_params, f)
#define BIG ((double)INT32_MAX)

const ll_param_row ll_param_rows[LL_P_COUNT] = {
    [LL_P_TEMPERATURE] = {"temperature", "t", "--temperature --temp", "T", "0 = greedy", LL_PT_FLOAT,
                          OFF(temperature), 0, INFINITY, true, LL_ST_TEMPERATURE, LL_OFF_EQ, 1, -1, NULL},
    [LL_P_DYNATEMP_RANGE] = {"dynatemp_range", "range", "--dynatemp-range", "R", "entropy-scaled temperature (> 0 on)",
                             LL_PT_FLOAT, OFF(dynatemp_range), -INFINITY, INFINITY, false, LL_ST_TEMPERATURE,
                             LL_OFF_LE, 0, -1, NULL},
    [LL_P_DYNATEMP_EXPONENT] = {"dynatemp_exponent", "exponent", "--dynatemp-exp --dynatemp-exponent", "X",
                                "exponent of the entropy scaling", LL_PT_FLOAT, OFF(dynatemp_exponent), -INFINITY,
                                INFINITY, false, LL_ST_TEMPERATURE, LL_OFF_NONE, 0, LL_P_DYNATEMP_RANGE, "> 0"},
    [LL_P_TOP_K] = {"top_k", "k", "--top-k", "K", "keep the K most likely", LL_PT_INT, OFF(top_k), INT32_MIN + 1.0,
                    BIG, false, LL_ST_TOP_K, LL_OFF_LE, 0, -1, NULL},
    [LL_P_TOP_P] = {"top_p", "p", "--top-p", "P", "nucleus: the smallest set with mass P", LL_PT_DOUBLE, OFF(top_p),
                    -INFINITY, INFINITY, false, LL_ST_TOP_P, LL_OFF_GE, 1, -1, NULL},
    [LL_P_MIN_P] = {"min_p", "p", "--min-p", "P", "drop tokens below P x the top probability", LL_PT_DOUBLE,
                    OFF(min_p), -INFINITY, INFINITY, false, LL_ST_MIN_P, LL_OFF_LE, 0, -1, NULL},
    [LL_P_TYPICAL_P] = {"typical_p", "p", "--typical-p --typical", "P", "locally typical sampling", LL_PT_DOUBLE,
                        OFF(typical_p), -INFINITY, INFINITY, false, LL_ST_TYPICAL, LL_OFF_GE, 1, -1, NULL},
    [LL_P_EPSILON] = {"epsilon_cutoff", "epsilon", "--epsilon-cutoff", "E", "drop tokens with p < E", LL_PT_DOUBLE,
                      OFF(epsilon_cutoff), -INFINITY, INFINITY, false, LL_ST_EPSILON, LL_OFF_EQ, 0, -1, NULL},
    [LL_P_ETA] = {"eta_cutoff", "eta", "--eta-cutoff", "E", "entropy-dependent cutoff", LL_PT_DOUBLE, OFF(eta_cutoff),
                  -INFINITY, INFINITY, false, LL_ST_ETA, LL_OFF_EQ, 0, -1, NULL},
    [LL_P_TOP_N_SIGMA] = {"top_n_sigma", "n", "--top-n-sigma --top-nsigma", "N", "mask logits below max - N sigma",
                          LL_PT_FLOAT, OFF(top_n_sigma), -INFINITY, INFINITY, false, LL_ST_TOP_N_SIGMA, LL_OFF_LE, 0,
                          -1, NULL},
    [LL_P_MIN_KEEP] = {"min_keep", "min_keep", "--min-keep", "N", "a truncating stage keeps at least N (HF min_tokens_to_keep)",
                       LL_PT_INT, OFF(min_keep), 0, BIG, true, -1, LL_OFF_NONE, 0, -1, NULL},
    [LL_P_REPETITION] = {"repetition_penalty", "rep", "--repetition-penalty --repeat-penalty", "R",
                         "divide (multiply) the logits of seen tokens", LL_PT_FLOAT, OFF(repetition_penalty),
                         -INFINITY, INFINITY, false, LL_ST_PENALTIES, LL_OFF_EQ, 1, -1, NULL},
    [LL_P_FREQUENCY] = {"frequency_penalty", "freq", "--frequency-penalty", "F", "minus F x count of a seen token",
                        LL_PT_FLOAT, OFF(frequency_penalty), -INFINITY, INFINITY, false, LL_ST_PENALTIES, LL_OFF_EQ,
                        0, -1, NULL},
    [LL_P_PRESENCE] = {"presence_penalty", "pres", "--presence-penalty", "P", "minus P once for a seen token",
                       LL_PT_FLOAT, OFF(presence_penalty), -INFINITY, INFINITY, false, LL_ST_PENALTIES, LL_OFF_EQ, 0,
                       -1, NULL},
    [LL_P_PENALTY_LAST_N] = {"penalty_last_n", "last_n", "--penalty-last-n --repeat-last-n", "N",
                             "the window of the last_n scope", LL_PT_INT, OFF(penalty_last_n), 0, BIG, false,
                             LL_ST_PENALTIES, LL_OFF_NONE, 0, -1, NULL},
    [LL_P_NO_REPEAT_NGRAM] = {"no_repeat_ngram_size", "n", "--no-repeat-ngram-size", "N",
                              "ban a token that would repeat an N-gram", LL_PT_INT, OFF(no_repeat_ngram_size), 0, BIG,
                              true, LL_ST_NO_REPEAT_NGRAM, LL_OFF_LE, 0, -1, NULL},
    [LL_P_MIN_NEW_TOKENS] = {"min_new_tokens", "min_new_tokens", "--min-new-tokens", "N",
                             "EOS banned until N new tokens", LL_PT_INT, OFF(min_new_tokens), 0, BIG, true,
                             LL_ST_MIN_LENGTH, LL_OFF_LE, 0, -1, NULL},
    [LL_P_MIN_LENGTH] = {"min_length", "min_length", "--min-length", "N", "EOS banned until N tokens, prompt included",
                         LL_PT_INT, OFF(min_length), 0, BIG, true, LL_ST_MIN_LENGTH, LL_OFF_LE, 0, -1, NULL},
    [LL_P_XTC_PROBABILITY] = {"xtc_probability", "p", "--xtc-probability", "P", "chance to exclude the top choices",
                              LL_PT_FLOAT, OFF(xtc_probability), -INFINITY, INFINITY, false, LL_ST_XTC, LL_OFF_LE, 0,
                              -1, NULL},
    [LL_P_XTC_THRESHOLD] = {"xtc_threshold", "threshold", "--xtc-threshold", "T", "what counts as a top choice",
                            LL_PT_FLOAT, OFF(xtc_threshold), -INFINITY, INFINITY, false, LL_ST_XTC, LL_OFF_NONE, 0,
                            LL_P_XTC_PROBABILITY, "> 0"},
    /* llama.cpp gives XTC its own mt19937, seeded like dist's (common_sampler
     * passes params.seed to both): a separate stream; --xtc-seed seeds it
     * apart (-1: the seed) */
    [LL_P_XTC_SEED] = {"xtc_seed", "seed", "--xtc-seed", "N", "XTC's own RNG seed (default: the seed)", LL_PT_SEED,
                       OFF(xtc_seed), -1, (double)UINT32_MAX, true, LL_ST_XTC, LL_OFF_NONE, 0, LL_P_XTC_PROBABILITY,
                       "> 0"},
    [LL_P_DRY_MULTIPLIER] = {"dry_multiplier", "mult", "--dry-multiplier", "M", "DRY repetition penalty (> 0 on)",
                             LL_PT_FLOAT, OFF(dry_multiplier), -INFINITY, INFINITY, false, LL_ST_DRY, LL_OFF_EQ, 0, -1,
                             NULL},
    [LL_P_DRY_BASE] = {"dry_base", "base", "--dry-base", "B", "DRY exponential base", LL_PT_FLOAT, OFF(dry_base),
                       -INFINITY, INFINITY, false, LL_ST_DRY, LL_OFF_NONE, 0, LL_P_DRY_MULTIPLIER, "> 0"},
    [LL_P_DRY_ALLOWED_LENGTH] = {"dry_allowed_length", "allowed", "--dry-allowed-length", "N",
                                 "repeats up to N tokens are free", LL_PT_INT, OFF(dry_allowed_length), 0, BIG, false,
                                 LL_ST_DRY, LL_OFF_NONE, 0, LL_P_DRY_MULTIPLIER, "> 0"},
    [LL_P_DRY_PENALTY_LAST_N] = {"dry_penalty_last_n", "last", "--dry-penalty-last-n", "N", "DRY's window",
                                 LL_PT_INT, OFF(dry_penalty_last_n), 0, BIG, false, LL_ST_DRY, LL_OFF_NONE, 0,
                                 LL_P_DRY_MULTIPLIER, "> 0"},
    [LL_P_MIROSTAT] = {"mirostat", "mirostat", "--mirostat", "0|1|2", "replaces the order with mirostat v1/v2",
                       LL_PT_INT, OFF(mirostat), 0, 2, true, -1, LL_OFF_EQ, 0, -1, NULL},
    [LL_P_MIROSTAT_TAU] = {"mirostat_tau", "tau", "--mirostat-tau --mirostat-ent", "T", "target surprise",
                           LL_PT_FLOAT, OFF(mirostat_tau), -INFINITY, INFINITY, false, -1, LL_OFF_NONE, 0,
                           LL_P_MIROSTAT, "= 1 or 2"},
    [LL_P_MIROSTAT_ETA] = {"mirostat_eta", "eta", "--mirostat-eta --mirostat-lr", "E", "learning rate", LL_PT_FLOAT,
                           OFF(mirostat_eta), -INFINITY, INFINITY, false, -1, LL_OFF_NONE, 0, LL_P_MIROSTAT,
                           "= 1 or 2"},
    [LL_P_SEED] = {"seed", "seed", "--seed -s", "N", "the RNG seed (default 42)", LL_PT_SEED, OFF(seed), -1,
                   (double)UINT32_MAX, false, -1, LL_OFF_NONE, 0, -1, NULL},
    [LL_P_PENALTY_SCOPE] = {"penalty_scope", NULL, "--penalty-scope", "S", "last_n | all | generated: where penalties look",
                            LL_PT_OTHER, 0, 0, 0, false, LL_ST_PENALTIES, LL_OFF_NONE, 0, -1, NULL},
    [LL_P_LOGIT_BIAS] = {"logit_bias", NULL, "--logit-bias", "ID=BIAS", "repeatable; BIAS may be -inf (ban)",
                         LL_PT_OTHER, 0, 0, 0, false, LL_ST_LOGIT_BIAS, LL_OFF_NONE, 0, -1, NULL},
    [LL_P_SEQUENCE_BIAS] = {"sequence_bias", NULL, "--sequence-bias", "IDS=BIAS", "e.g. 12,34=-5 (repeatable)",
                            LL_PT_OTHER, 0, 0, 0, false, LL_ST_SEQUENCE_BIAS, LL_OFF_NONE, 0, -1, NULL},
    [LL_P_BAD_WORDS] = {"bad_words", NULL, "--bad-words", "IDS", "e.g. 12,34 (repeatable)", LL_PT_OTHER, 0, 0, 0,
                        false, LL_ST_BAD_WORDS, LL_OFF_NONE, 0, -1, NULL},
    [LL_P_SUPPRESS_TOKENS] = {"suppress_tokens", NULL, "--suppress-tokens", "IDS", "these ids get -inf",
                              LL_PT_OTHER, 0, 0, 0, false, LL_ST_SUPPRESS_TOKENS, LL_OFF_NONE, 0, -1, NULL},
    [LL_P_EOS_IDS] = {"eos_ids", NULL, "--eos-id --eos-token-id", "IDS", "end-of-generation ids", LL_PT_OTHER, 0, 0,
                      0, false, -1, LL_OFF_NONE, 0, -1, NULL},
    [LL_P_DRY_BREAKERS] = {"dry_breakers", NULL, "--dry-breaker", "IDS", "a DRY sequence breaker (repeatable)",
                           LL_PT_OTHER, 0, 0, 0, false, LL_ST_DRY, LL_OFF_NONE, 0, -1, NULL},
    [LL_P_DO_SAMPLE] = {"do_sample", NULL, "--do-sample", "[=false]", "sample (hf decodes greedily without it)",
                        LL_PT_OTHER, 0, 0, 0, false, -1, LL_OFF_NONE, 0, -1, NULL},
    [LL_P_GREEDY] = {"greedy", NULL, "--greedy", "", "the same as --do-sample=false", LL_PT_OTHER, 0, 0, 0, false, -1,
                     LL_OFF_NONE, 0, -1, NULL},
    [LL_P_SAMPLERS] = {"samplers", NULL, "--samplers", "LIST",
                       "order, e.g. penalties,top_k,temperature,top_p; a stage may take its own "
                       "values: top_k(k=50),temperature(t=0.7),top_k(k=3, min_keep=2)",
                       LL_PT_OTHER, 0, 0, 0, false, -1, LL_OFF_NONE, 0, -1, NULL},
    [LL_P_PROFILE] = {"profile", NULL, "--profile", "NAME", "hf | llama.cpp | openai | llama2.c (default llama.cpp)",
                      LL_PT_OTHER, 0, 0, 0, false, -1, LL_OFF_NONE, 0, -1, NULL},
};

#undef OFF

bool ll_param_get(const ll_sampling_params *p, int id, double *v) {
    const ll_param_row *row = &ll_param_rows[id];
    const char *b = (const char *)p + row->offset;
    switch (row->type) {
    case LL_PT_INT: {
        int32_t x;
        memcpy(&x, b, sizeof x);
        *v = x;
        return x != LL_UNSET_INT;
    }
    case LL_PT_FLOAT: {
        float x;
        memcpy(&x, b, sizeof x);
        *v = x;
        return !isnan(x);
    }
    case LL_PT_DOUBLE: {
        double x;
        memcpy(&x, b, sizeof x);
        *v = x;
        return !isnan(x);
    }
    case LL_PT_SEED: {
        int64_t x;
        memcpy(&x, b, sizeof x);
        *v = (double)x;
        return x >= 0;
    }
    default: *v = NAN; return false;
    }
}

void ll_param_put(ll_sampling_params *p, int id, double v) {
    const ll_param_row *row = &ll_param_rows[id];
    char *b = (char *)p + row->offset;
    switch (row->type) {
    case LL_PT_INT: {
        int32_t x = (int32_t)v;
        memcpy(b, &x, sizeof x);
        break;
    }
    case LL_PT_FLOAT: {
        float x = (float)v;
        memcpy(b, &x, sizeof x);
        break;
    }
    case LL_PT_DOUBLE: memcpy(b, &v, sizeof v); break;
    case LL_PT_SEED: {
        int64_t x = (int64_t)v;
        memcpy(b, &x, sizeof x);
        break;
    }
    default: break;
    }
}

bool ll_param_is_off(int param, double v) {
    const ll_param_row *row = &ll_param_rows[param];
    switch (row->off) {
    case LL_OFF_EQ: return v == row->off_at;
    case LL_OFF_LE: return v <= row->off_at;
    case LL_OFF_GE: return v >= row->off_at;
    default: return false;
    }
}

/* Whether the blank-separated list has the word s[0..len). */
static bool in_words(const char *list, const char *s, size_t len) {
    for (const char *w = list; w && *w;) {
        while (*w == ' ') w++;
        const char *e = w;
        while (*e && *e != ' ') e++;
        if ((size_t)(e - w) == len && len && !strncmp(w, s, len)) return true;
        w = e;
    }
    return false;
}

const ll_param_row *ll_param_by_flag(const char *flag) {
    for (size_t i = 0; i < LL_P_COUNT; i++)
        if (in_words(ll_param_rows[i].flags, flag, strlen(flag))) return &ll_param_rows[i];
    return NULL;
}

/* ---- stages: when each one does something, and how to build it ---- */

#define V(id) (c->r->v[id])
#define F(id) LL_RF(c->r, id)
#define I(id) LL_RI(c->r, id)
#define MIN_KEEP ((size_t)I(LL_P_MIN_KEEP))

static bool logit_bias_on(const ll_stage_ctx *c) { return c->p->n_logit_bias > 0; }
static ll_sampler *logit_bias_build(const ll_stage_ctx *c, ll_error *err) {
    if (!logit_bias_on(c)) return ll_sampler_noop_new("logit_bias", "logit_bias(none)", err);
    return ll_sampler_logit_bias_new(c->p->logit_bias, c->p->n_logit_bias, c->n_vocab, err);
}

/* HF has no logit_bias: a one-token sequence_bias is the same thing, so in
 * the hf profile the logit biases join the sequence biases (unless
 * logit_bias is named in samplers= on its own). */
static bool merges_logit_bias(const ll_stage_ctx *c) {
    return c->r->prof == LL_PROFILE_HF && !c->listed[LL_ST_LOGIT_BIAS];
}
static bool sequence_bias_on(const ll_stage_ctx *c) {
    return c->p->n_sequence_bias + (merges_logit_bias(c) ? c->p->n_logit_bias : 0) > 0;
}
static ll_sampler *sequence_bias_build(const ll_stage_ctx *c, ll_error *err) {
    const ll_sampling_params *p = c->p;
    if (!sequence_bias_on(c)) return ll_sampler_noop_new("sequence_bias", "sequence_bias(none)", err);
    if (!merges_logit_bias(c) || !p->n_logit_bias)
        return ll_sampler_sequence_bias_new(p->sequence_bias, p->n_sequence_bias, c->n_vocab, err);
    size_t n = p->n_sequence_bias + p->n_logit_bias;
    ll_sequence_bias *sb = ll_calloc(n, sizeof *sb, err);
    if (!sb) return NULL;
    for (size_t i = 0; i < p->n_sequence_bias; i++) sb[i] = p->sequence_bias[i];
    for (size_t i = 0; i < p->n_logit_bias; i++) {
        sb[p->n_sequence_bias + i].seq.tokens = &p->logit_bias[i].token;
        sb[p->n_sequence_bias + i].seq.n = 1;
        sb[p->n_sequence_bias + i].bias = p->logit_bias[i].bias;
    }
    ll_sampler *s = ll_sampler_sequence_bias_new(sb, n, c->n_vocab, err);
    free(sb);
    return s;
}

static bool penalties_on(const ll_stage_ctx *c) {
    return F(LL_P_REPETITION) != 1.0f || F(LL_P_FREQUENCY) != 0.0f || F(LL_P_PRESENCE) != 0.0f;
}
static ll_sampler *penalties_build(const ll_stage_ctx *c, ll_error *err) {
    ll_penalty_params pp = {F(LL_P_REPETITION), F(LL_P_FREQUENCY), F(LL_P_PRESENCE), c->r->scope,
                            c->r->rep_scope,    I(LL_P_PENALTY_LAST_N), c->r->prof};
    return ll_sampler_penalties_new(&pp, err);
}

static bool no_repeat_on(const ll_stage_ctx *c) { return I(LL_P_NO_REPEAT_NGRAM) > 0; }
static ll_sampler *no_repeat_build(const ll_stage_ctx *c, ll_error *err) {
    if (!no_repeat_on(c)) return ll_sampler_noop_new("no_repeat_ngram", "no_repeat_ngram(off)", err);
    return ll_sampler_no_repeat_ngram_new(I(LL_P_NO_REPEAT_NGRAM), err);
}

static bool bad_words_on(const ll_stage_ctx *c) { return c->p->n_bad_words > 0; }
static ll_sampler *bad_words_build(const ll_stage_ctx *c, ll_error *err) {
    const ll_sampling_params *p = c->p;
    if (!bad_words_on(c)) return ll_sampler_noop_new("bad_words", "bad_words(none)", err);
    return ll_sampler_bad_words_new(p->bad_words, p->n_bad_words, p->eos_ids, p->n_eos_ids, c->n_vocab, err);
}

static bool min_length_on(const ll_stage_ctx *c) { return I(LL_P_MIN_LENGTH) > 0 || I(LL_P_MIN_NEW_TOKENS) > 0; }
static ll_sampler *min_length_build(const ll_stage_ctx *c, ll_error *err) {
    return ll_sampler_min_length_new(I(LL_P_MIN_LENGTH), I(LL_P_MIN_NEW_TOKENS), c->p->eos_ids, c->p->n_eos_ids, err);
}

static bool suppress_on(const ll_stage_ctx *c) { return c->p->n_suppress_tokens > 0; }
static ll_sampler *suppress_build(const ll_stage_ctx *c, ll_error *err) {
    if (!suppress_on(c)) return ll_sampler_noop_new("suppress_tokens", "suppress_tokens(none)", err);
    return ll_sampler_suppress_tokens_new(c->p->suppress_tokens, c->p->n_suppress_tokens, c->n_vocab, err);
}

static ll_sampler *dry_build(const ll_stage_ctx *c, ll_error *err) {
    ll_dry_params dp = {F(LL_P_DRY_MULTIPLIER), F(LL_P_DRY_BASE), I(LL_P_DRY_ALLOWED_LENGTH), I(LL_P_DRY_PENALTY_LAST_N),
                        c->p->dry_breakers,     c->p->n_dry_breakers};
    return ll_sampler_dry_new(&dp, err);
}

static ll_sampler *top_n_sigma_build(const ll_stage_ctx *c, ll_error *err) {
    return ll_sampler_top_n_sigma_new(F(LL_P_TOP_N_SIGMA), err);
}

/* The no-op rules below are each framework's own: HF adds a warper only
 * for a value that does something (top_k != 0, top_p < 1, min_p given),
 * llama.cpp returns a no-op sampler for k <= 0 or p >= 1 itself. */
static ll_sampler *top_k_build(const ll_stage_ctx *c, ll_error *err) {
    if (c->r->prof == LL_PROFILE_HF && I(LL_P_TOP_K) == 0) return ll_sampler_noop_new("top_k", "top_k(k=0: off)", err);
    return ll_sampler_top_k_new(I(LL_P_TOP_K), MIN_KEEP, c->r->prof, err);
}

static ll_sampler *typical_build(const ll_stage_ctx *c, ll_error *err) {
    if (V(LL_P_TYPICAL_P) == 1.0) return ll_sampler_noop_new("typical", "typical(p=1: off)", err);
    return ll_sampler_typical_new(V(LL_P_TYPICAL_P), MIN_KEEP, c->r->prof, err);
}

static ll_sampler *top_p_build(const ll_stage_ctx *c, ll_error *err) {
    if (c->r->prof != LL_PROFILE_LLAMACPP && V(LL_P_TOP_P) == 1.0)
        return ll_sampler_noop_new("top_p", "top_p(p=1: off)", err);
    return ll_sampler_top_p_new(V(LL_P_TOP_P), MIN_KEEP, c->r->prof, err);
}

static ll_sampler *min_p_build(const ll_stage_ctx *c, ll_error *err) {
    double mp = V(LL_P_MIN_P);
    bool off;
    switch (c->r->prof) {
    case LL_PROFILE_HF: off = !c->r->set[LL_P_MIN_P]; break; /* HF: MinP whenever min_p is given */
    case LL_PROFILE_LLAMACPP: off = mp == 0.0; break;
    default: off = !(mp > 0.0); break;
    }
    if (off) return ll_sampler_noop_new("min_p", "min_p(p=0: off)", err);
    return ll_sampler_min_p_new(mp, MIN_KEEP, c->r->prof, err);
}

static ll_sampler *xtc_build(const ll_stage_ctx *c, ll_error *err) {
    return ll_sampler_xtc_new(F(LL_P_XTC_PROBABILITY), F(LL_P_XTC_THRESHOLD), MIN_KEEP, c->r->xtc_seed, err);
}

static ll_sampler *temperature_build(const ll_stage_ctx *c, ll_error *err) {
    float t = F(LL_P_TEMPERATURE);
    if (c->r->prof == LL_PROFILE_LLAMACPP && F(LL_P_DYNATEMP_RANGE) > 0.0f)
        return ll_sampler_dynatemp_new(t, F(LL_P_DYNATEMP_RANGE), F(LL_P_DYNATEMP_EXPONENT), err);
    if (c->r->prof == LL_PROFILE_HF && t == 1.0f) return ll_sampler_noop_new("temperature", "temperature(t=1)", err);
    return ll_sampler_temperature_new(t, c->r->prof, err);
}

static ll_sampler *epsilon_build(const ll_stage_ctx *c, ll_error *err) {
    if (V(LL_P_EPSILON) == 0.0) return ll_sampler_noop_new("epsilon", "epsilon(off)", err);
    return ll_sampler_epsilon_new(V(LL_P_EPSILON), MIN_KEEP, err);
}

static ll_sampler *eta_build(const ll_stage_ctx *c, ll_error *err) {
    if (V(LL_P_ETA) == 0.0) return ll_sampler_noop_new("eta", "eta(off)", err);
    return ll_sampler_eta_new(V(LL_P_ETA), MIN_KEEP, err);
}

#undef V
#undef F
#undef I
#undef MIN_KEEP

#define E (-1)
const ll_stage_row ll_stage_rows[LL_ST_COUNT] = {
    [LL_ST_LOGIT_BIAS] = {"logit_bias", NULL, NULL, "logit-bias", "--logit-bias", true,
                          {LL_P_LOGIT_BIAS, E}, logit_bias_on, logit_bias_build},
    [LL_ST_SEQUENCE_BIAS] = {"sequence_bias", NULL, "SequenceBiasLogitsProcessor", NULL, "--sequence-bias", true,
                             {LL_P_SEQUENCE_BIAS, E}, sequence_bias_on, sequence_bias_build},
    [LL_ST_PENALTIES] = {"penalties", "repetition_penalty", "RepetitionPenaltyLogitsProcessor", "penalties",
                         "--repetition-penalty", true,
                         {LL_P_REPETITION, LL_P_FREQUENCY, LL_P_PRESENCE, LL_P_PENALTY_LAST_N, E}, penalties_on,
                         penalties_build},
    [LL_ST_NO_REPEAT_NGRAM] = {"no_repeat_ngram", "no_repeat_ngram_size", "NoRepeatNGramLogitsProcessor", NULL,
                               "--no-repeat-ngram-size", true, {LL_P_NO_REPEAT_NGRAM, E}, no_repeat_on,
                               no_repeat_build},
    [LL_ST_BAD_WORDS] = {"bad_words", NULL, "NoBadWordsLogitsProcessor", NULL, "--bad-words", true,
                         {LL_P_BAD_WORDS, E}, bad_words_on, bad_words_build},
    [LL_ST_MIN_LENGTH] = {"min_length", "min_new_tokens min_tokens MinNewTokensLengthLogitsProcessor",
                          "MinLengthLogitsProcessor", NULL, "--min-new-tokens", true,
                          {LL_P_MIN_LENGTH, LL_P_MIN_NEW_TOKENS, E}, min_length_on, min_length_build},
    [LL_ST_SUPPRESS_TOKENS] = {"suppress_tokens", NULL, "SuppressTokensLogitsProcessor", NULL, "--suppress-tokens",
                               true, {LL_P_SUPPRESS_TOKENS, E}, suppress_on, suppress_build},
    [LL_ST_DRY] = {"dry", NULL, NULL, "dry", "--dry-multiplier", true,
                   {LL_P_DRY_MULTIPLIER, LL_P_DRY_BASE, LL_P_DRY_ALLOWED_LENGTH, LL_P_DRY_PENALTY_LAST_N, E}, NULL,
                   dry_build},
    [LL_ST_TOP_N_SIGMA] = {"top_n_sigma", NULL, NULL, "top_n_sigma", "--top-n-sigma", false, {LL_P_TOP_N_SIGMA, E},
                           NULL, top_n_sigma_build},
    [LL_ST_TOP_K] = {"top_k", NULL, "TopKLogitsWarper", "top_k", "--top-k", false, {LL_P_TOP_K, LL_P_MIN_KEEP, E}, NULL,
                     top_k_build},
    [LL_ST_TYPICAL] = {"typical", "typical_p typ_p", "TypicalLogitsWarper", "typical", "--typical-p", false,
                       {LL_P_TYPICAL_P, LL_P_MIN_KEEP, E}, NULL, typical_build},
    [LL_ST_TOP_P] = {"top_p", NULL, "TopPLogitsWarper", "top_p", "--top-p", false, {LL_P_TOP_P, LL_P_MIN_KEEP, E}, NULL,
                     top_p_build},
    [LL_ST_MIN_P] = {"min_p", NULL, "MinPLogitsWarper", "min_p", "--min-p", false, {LL_P_MIN_P, LL_P_MIN_KEEP, E}, NULL,
                     min_p_build},
    [LL_ST_XTC] = {"xtc", NULL, NULL, "xtc", "--xtc-probability", false,
                   {LL_P_XTC_PROBABILITY, LL_P_XTC_THRESHOLD, LL_P_XTC_SEED, LL_P_MIN_KEEP, E}, NULL, xtc_build},
    [LL_ST_TEMPERATURE] = {"temperature", "temp temp_ext", "TemperatureLogitsWarper", "temperature", "--temperature",
                           false, {LL_P_TEMPERATURE, LL_P_DYNATEMP_RANGE, LL_P_DYNATEMP_EXPONENT, E}, NULL,
                           temperature_build},
    [LL_ST_EPSILON] = {"epsilon", "epsilon_cutoff", "EpsilonLogitsWarper", NULL, "--epsilon-cutoff", false,
                       {LL_P_EPSILON, LL_P_MIN_KEEP, E}, NULL, epsilon_build},
    [LL_ST_ETA] = {"eta", "eta_cutoff", "EtaLogitsWarper", NULL, "--eta-cutoff", false, {LL_P_ETA, LL_P_MIN_KEEP, E},
                   NULL, eta_build},
};

/* s[0..len) spells name, case-insensitively, with '-' for '_' ("Top-K"). */
static bool name_is(const char *name, const char *s, size_t len) {
    if (!name || strlen(name) != len) return false;
    for (size_t i = 0; i < len; i++) {
        char c = (char)tolower((unsigned char)s[i]);
        if (c == '-') c = '_';
        if (c != (char)tolower((unsigned char)name[i])) return false;
    }
    return true;
}

bool ll_stage_matches(int stage, const char *s, size_t len) {
    const ll_stage_row *st = &ll_stage_rows[stage];
    if (name_is(st->name, s, len) || name_is(st->hf_class, s, len) || name_is(st->llamacpp, s, len)) return true;
    for (const char *w = st->aliases; w && *w;) {
        while (*w == ' ') w++;
        const char *e = w;
        while (*e && *e != ' ') e++;
        char word[64];
        size_t n = (size_t)(e - w) < sizeof word ? (size_t)(e - w) : sizeof word - 1;
        memcpy(word, w, n);
        word[n] = '\0';
        if (n && name_is(word, s, len)) return true;
        w = e;
    }
    return false;
}

const char *ll_stage_list_text(void) {
    static char buf[512];
    if (!buf[0]) {
        size_t n = 0;
        for (size_t i = 0; i < LL_ST_COUNT && n < sizeof buf; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? ", " : "", ll_stage_rows[i].name);
    }
    return buf;
}

/* ---- profiles ---- */

#define BIT(p) (1ull << (p))

/* Values transformers accepts and then ignores (it adds no processor for
 * them), where logitlab says no (docs/semantics.md, "departures"). */
static const ll_profile_note hf_notes[] = {
    {"top_p", 1, INFINITY, false, true, "> 1", "adds no TopPLogitsWarper (only top_p < 1 adds one): no truncation",
     "error: top_p out of range [0, 1]"},
    {"typical_p", 1, INFINITY, false, true, "> 1",
     "adds no TypicalLogitsWarper (only typical_p < 1 adds one): no truncation",
     "error: typical_p out of range [0, 1]"},
    {"epsilon_cutoff", 1, INFINITY, true, true, ">= 1",
     "adds no EpsilonLogitsWarper (only 0 < epsilon_cutoff < 1 adds one): no truncation",
     "error: epsilon_cutoff out of range (0, 1)"},
    {"epsilon_cutoff", -INFINITY, 0, true, false, "< 0",
     "adds no EpsilonLogitsWarper (only 0 < epsilon_cutoff < 1 adds one): no truncation",
     "error: epsilon_cutoff out of range (0, 1)"},
    {"eta_cutoff", 1, INFINITY, true, true, ">= 1",
     "adds no EtaLogitsWarper (only 0 < eta_cutoff < 1 adds one): no truncation",
     "error: eta_cutoff out of range (0, 1)"},
    {"eta_cutoff", -INFINITY, 0, true, false, "< 0",
     "adds no EtaLogitsWarper (only 0 < eta_cutoff < 1 adds one): no truncation",
     "error: eta_cutoff out of range (0, 1)"},
    {"no_repeat_ngram_size", -INFINITY, 0, true, false, "< 0",
     "adds no NoRepeatNGramLogitsProcessor (only a size > 0 adds one): nothing banned",
     "error: no_repeat_ngram_size out of range [0, 2147483647]"},
    {"min_new_tokens", -INFINITY, 0, true, false, "< 0",
     "adds no MinNewTokensLengthLogitsProcessor (only a value > 0 adds one): EOS allowed at once",
     "error: min_new_tokens out of range [0, 2147483647]"},
    {"min_length", -INFINITY, 0, true, false, "< 0",
     "adds no MinLengthLogitsProcessor (only a value > 0 adds one): EOS allowed at once",
     "error: min_length out of range [0, 2147483647]"},
    {"suppress_tokens", NAN, NAN, true, true, "an id >= the vocabulary size",
     "SuppressTokensLogitsProcessor skips it (main; v4.45 indexes past the end): nothing suppressed for it",
     "error naming the id and the vocabulary range"},
};

#define NOTES(a) a, sizeof a / sizeof a[0]

/* The scalar defaults. A parameter a profile lacks still has one: it is
 * what a stage named in samplers= uses. */
#define COMMON_DEFAULTS                                                                                          \
    [LL_P_DYNATEMP_RANGE] = 0, [LL_P_DYNATEMP_EXPONENT] = 1, [LL_P_TYPICAL_P] = 1, [LL_P_EPSILON] = 0,          \
    [LL_P_ETA] = 0, [LL_P_REPETITION] = 1, [LL_P_FREQUENCY] = 0, [LL_P_PRESENCE] = 0,                           \
    [LL_P_PENALTY_LAST_N] = 64, [LL_P_NO_REPEAT_NGRAM] = 0, [LL_P_MIN_NEW_TOKENS] = 0, [LL_P_MIN_LENGTH] = 0,    \
    [LL_P_XTC_PROBABILITY] = 0, [LL_P_XTC_THRESHOLD] = 0.1f, [LL_P_DRY_MULTIPLIER] = 0,                         \
    [LL_P_DRY_BASE] = 1.75f, [LL_P_DRY_ALLOWED_LENGTH] = 2, [LL_P_DRY_PENALTY_LAST_N] = 64, [LL_P_MIROSTAT] = 0, \
    [LL_P_MIROSTAT_TAU] = 5.0f, [LL_P_MIROSTAT_ETA] = 0.1f, [LL_P_SEED] = LL_DEFAULT_SEED, \
    [LL_P_XTC_SEED] = LL_DEFAULT_SEED

/* what HF, llama.cpp (chains after the bias) and vLLM lack */
#define LLAMACPP_ONLY                                                                                               \
    (BIT(LL_P_DYNATEMP_RANGE) | BIT(LL_P_TOP_N_SIGMA) | BIT(LL_P_XTC_PROBABILITY) | BIT(LL_P_DRY_MULTIPLIER) |     \
     BIT(LL_P_MIROSTAT))

const ll_profile_row ll_profile_rows[LL_PROFILE_COUNT] = {
    [LL_PROFILE_HF] =
        {.id = LL_PROFILE_HF,
         .name = "hf",
         .aliases = "transformers",
         .framework = "Hugging Face transformers generate()",
         .defaults = {COMMON_DEFAULTS, [LL_P_TEMPERATURE] = 1, [LL_P_TOP_K] = 50, [LL_P_TOP_P] = 1, [LL_P_MIN_P] = 0,
                      [LL_P_TOP_N_SIGMA] = 0, [LL_P_MIN_KEEP] = 1},
         .lacks = LLAMACPP_ONLY | BIT(LL_P_FREQUENCY) | BIT(LL_P_PRESENCE),
         .front = {LL_ST_SEQUENCE_BIAS, LL_ST_PENALTIES, LL_ST_NO_REPEAT_NGRAM, LL_ST_BAD_WORDS, LL_ST_MIN_LENGTH,
                   LL_ST_SUPPRESS_TOKENS, E},
         .order = {LL_ST_TEMPERATURE, LL_ST_TOP_K, LL_ST_TOP_P, LL_ST_MIN_P, LL_ST_TYPICAL, LL_ST_EPSILON, LL_ST_ETA, E},
         .ranges = {{E, 0, 0}},
         .do_sample_default = false,
         .greedy_below = FLT_TRUE_MIN, /* temperature 0 */
         .greedy_text = "greedy unless do_sample; temperature 0 is greedy (logitlab: HF rejects it when sampling)",
         .max_new_tokens = 20,
         .length_text = "20 new tokens (generation_config max_length 20 counts the prompt in v4.45)",
         .ignore_eos_text = "EOS no longer ends the sequence",
         .scope = LL_PENALTY_SCOPE_ALL,
         .rep_scope = LL_PENALTY_SCOPE_ALL,
         .seed_min = 0,
         .warnings = LL_WARN_DO_SAMPLE,
         .notes = NOTES(hf_notes)},
    [LL_PROFILE_LLAMACPP] =
        {.id = LL_PROFILE_LLAMACPP,
         .name = "llama.cpp",
         .aliases = "llamacpp",
         .framework = "llama.cpp common_sampler / llama-server",
         .defaults = {COMMON_DEFAULTS, [LL_P_TEMPERATURE] = 0.8f, [LL_P_TOP_K] = 40, [LL_P_TOP_P] = 0.95,
                      [LL_P_MIN_P] = 0.05, [LL_P_TOP_N_SIGMA] = -1, [LL_P_MIN_KEEP] = 0},
         .lacks = BIT(LL_P_EPSILON) | BIT(LL_P_ETA),
         .front = {LL_ST_LOGIT_BIAS, LL_ST_BAD_WORDS, LL_ST_MIN_LENGTH, LL_ST_SEQUENCE_BIAS, LL_ST_SUPPRESS_TOKENS,
                   LL_ST_NO_REPEAT_NGRAM, E},
         .order = {LL_ST_PENALTIES, LL_ST_DRY, LL_ST_TOP_N_SIGMA, LL_ST_TOP_K, LL_ST_TYPICAL, LL_ST_TOP_P, LL_ST_MIN_P,
                   LL_ST_XTC, LL_ST_TEMPERATURE, E},
         .ranges = {{E, 0, 0}},
         .do_sample_default = true,
         .greedy_below = 0, /* temperature <= 0 masks all but the first maximum; dist still draws */
         .greedy_runs_order = true,
         .greedy_text = "always samples; temperature <= 0 keeps only the first maximum (dist still draws)",
         .max_new_tokens = -1,
         .length_text = "until the context is full (n_predict -1)",
         .ignore_eos_bans = true,
         .ignore_eos_text = "EOS gets a -inf logit bias (it cannot be chosen)",
         .scope = LL_PENALTY_SCOPE_LAST_N,
         .rep_scope = LL_PENALTY_SCOPE_LAST_N,
         .seed_min = 0,
         .warnings = LL_WARN_NO_SEED},
    [LL_PROFILE_OPENAI] =
        {.id = LL_PROFILE_OPENAI,
         .name = "openai",
         .aliases = "vllm",
         .framework = "the OpenAI API as vLLM implements it",
         .defaults = {COMMON_DEFAULTS, [LL_P_TEMPERATURE] = 1, [LL_P_TOP_K] = 0, [LL_P_TOP_P] = 1, [LL_P_MIN_P] = 0,
                      [LL_P_TOP_N_SIGMA] = 0, [LL_P_MIN_KEEP] = 0},
         .lacks = LLAMACPP_ONLY | BIT(LL_P_TYPICAL_P) | BIT(LL_P_EPSILON) | BIT(LL_P_ETA),
         .front = {LL_ST_BAD_WORDS, LL_ST_MIN_LENGTH, LL_ST_LOGIT_BIAS, LL_ST_SEQUENCE_BIAS, LL_ST_SUPPRESS_TOKENS,
                   LL_ST_NO_REPEAT_NGRAM, E},
         .order = {LL_ST_PENALTIES, LL_ST_TEMPERATURE, LL_ST_MIN_P, LL_ST_TOP_K, LL_ST_TOP_P, E},
         .ranges = {{LL_P_TEMPERATURE, 0, 2}, {LL_P_FREQUENCY, -2, 2}, {LL_P_PRESENCE, -2, 2}, {LL_P_MIN_P, 0, 1},
                    {LL_P_LOGIT_BIAS, -100, 100}, {E, 0, 0}},
         .do_sample_default = true,
         .greedy_below = 1e-5f,
         .temp_floor = 0.01f,
         .greedy_text = "temperature < 1e-5 is greedy (top_k/top_p/min_p reset); (0, 0.01) raised to 0.01",
         .max_new_tokens = 16,
         .length_text = "16 new tokens (the Completions API's max_tokens)",
         .ignore_eos_text = "EOS no longer ends the sequence (it can still be chosen)",
         .scope = LL_PENALTY_SCOPE_GENERATED,
         .rep_scope = LL_PENALTY_SCOPE_ALL,
         .seed_min = 0,
         .warnings = LL_WARN_TEMP_FLOOR},
    [LL_PROFILE_LLAMA2C] =
        {.id = LL_PROFILE_LLAMA2C,
         .name = "llama2.c",
         .aliases = "llama2c",
         .framework = "karpathy/llama2.c run.c",
         .defaults = {COMMON_DEFAULTS, [LL_P_TEMPERATURE] = 1, [LL_P_TOP_K] = 0, [LL_P_TOP_P] = 0.9, [LL_P_MIN_P] = 0,
                      [LL_P_TOP_N_SIGMA] = 0, [LL_P_MIN_KEEP] = 0},
         .lacks = ~(BIT(LL_P_TEMPERATURE) | BIT(LL_P_TOP_P) | BIT(LL_P_SEED)),
         .strict = true,
         .strict_text = "the llama2.c profile has only temperature, top_p and seed (as run.c); use another profile "
                        "for other parameters",
         .front = {E},
         .order = {LL_ST_TEMPERATURE, E},
         .ranges = {{E, 0, 0}},
         .do_sample_default = true,
         .greedy_below = FLT_TRUE_MIN,
         .greedy_text = "temperature 0 is argmax (no random draw)",
         .max_new_tokens = -1,
         .length_text = "until the context is full (run.c's steps = seq_len)",
         .ignore_eos_text = "EOS no longer ends the sequence",
         .scope = LL_PENALTY_SCOPE_LAST_N,
         .rep_scope = LL_PENALTY_SCOPE_LAST_N,
         .seed_min = 1,
         .warnings = 0},
};
#undef E

/* ---- public accessors ---- */

const char *ll_profile_name(ll_profile profile) {
    return (unsigned)profile < LL_PROFILE_COUNT ? ll_profile_rows[profile].name : "?";
}

ll_status ll_profile_from_name(const char *name, ll_profile *out, ll_error *err) {
    for (int i = 0; i < LL_PROFILE_COUNT; i++)
        if (!strcmp(name, ll_profile_rows[i].name) || in_words(ll_profile_rows[i].aliases, name, strlen(name))) {
            *out = (ll_profile)i;
            return LL_OK;
        }
    char q[LL_QUOTE_MAX];
    return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "unknown profile '%s': valid are hf, llama.cpp, openai, llama2.c",
                   ll_quote(q, name, strlen(name)));
}

int32_t ll_profile_max_new_tokens(ll_profile profile) {
    return (unsigned)profile < LL_PROFILE_COUNT ? ll_profile_rows[profile].max_new_tokens : -1;
}

bool ll_profile_ignore_eos_bans(ll_profile profile) {
    return (unsigned)profile < LL_PROFILE_COUNT && ll_profile_rows[profile].ignore_eos_bans;
}

size_t ll_profile_notes(ll_profile profile, const ll_profile_note **notes) {
    if ((unsigned)profile >= LL_PROFILE_COUNT) {
        *notes = NULL;
        return 0;
    }
    *notes = ll_profile_rows[profile].notes;
    return ll_profile_rows[profile].n_notes;
}

const ll_profile_note *ll_profile_note_find(ll_profile profile, const char *param, double value) {
    const ll_profile_note *n;
    size_t k = ll_profile_notes(profile, &n);
    for (size_t i = 0; i < k; i++) {
        if (strcmp(n[i].param, param) != 0) continue;
        if (isnan(n[i].lo)) {
            if (isnan(value)) return &n[i];
            continue;
        }
        bool above = n[i].lo_incl ? value >= n[i].lo : value > n[i].lo;
        bool below = n[i].hi_incl ? value <= n[i].hi : value < n[i].hi;
        if (above && below) return &n[i];
    }
    return NULL;
}

/* ---- the tables as markdown (docs/semantics.md) ---- */

typedef struct {
    char *buf;
    size_t cap, len;
} md_out;

static void md(md_out *o, const char *fmt, ...) LL_PRINTF(2, 3);
static void md(md_out *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->len < o->cap ? o->buf + o->len : NULL, o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0) o->len += (size_t)n;
}

static void md_value(md_out *o, int id, double v) {
    if (ll_param_rows[id].type == LL_PT_INT || ll_param_rows[id].type == LL_PT_SEED) md(o, "%lld", (long long)v);
    else if (ll_param_rows[id].type == LL_PT_FLOAT) md(o, "%g", (double)(float)v);
    else md(o, "%g", v);
}

static void md_stages(md_out *o, const int *list, size_t n) {
    for (size_t i = 0; i < n && list[i] >= 0; i++) md(o, "%s%s", i ? " → " : "", ll_stage_rows[list[i]].name);
    if (n == 0 || list[0] < 0) md(o, "—");
}

size_t ll_profiles_markdown(char *buf, size_t cap) {
    md_out o = {buf, cap, 0};
    if (cap) buf[0] = '\0';
    md(&o, "### Stages\n\n| stage | also named | HF class | llama.cpp | flag | keys in `samplers=` | runs when greedy |\n"
           "|---|---|---|---|---|---|---|\n");
    for (int s = 0; s < LL_ST_COUNT; s++) {
        const ll_stage_row *st = &ll_stage_rows[s];
        md(&o, "| `%s` | %s | %s | %s | `%s` | ", st->name, st->aliases ? st->aliases : "—",
           st->hf_class ? st->hf_class : "—", st->llamacpp ? st->llamacpp : "—", st->flag);
        bool any = false;
        for (size_t k = 0; k < LL_ARRAY_LEN(st->params) && st->params[k] >= 0; k++)
            if (st->params[k] < LL_P_N_SCALAR) {
                md(&o, "%s`%s` (%s)", any ? ", " : "", ll_param_rows[st->params[k]].key, ll_param_rows[st->params[k]].name);
                any = true;
            }
        md(&o, "%s | %s |\n", any ? "" : "— (lists from the flag)", st->processor ? "yes" : "no");
    }
    md(&o, "\n### Parameters and defaults\n\n| parameter | flag | valid | ");
    for (int p = 0; p < LL_PROFILE_COUNT; p++) md(&o, "%s | ", ll_profile_rows[p].name);
    md(&o, "\n|---|---|---|");
    for (int p = 0; p < LL_PROFILE_COUNT; p++) md(&o, "---|");
    md(&o, "\n");
    for (int i = 0; i < LL_P_N_SCALAR; i++) {
        const ll_param_row *row = &ll_param_rows[i];
        md(&o, "| `%s` | `", row->name);
        for (const char *f = row->flags; *f; f++) md(&o, "%s", *f == ' ' ? "`, `" : (char[]){*f, 0});
        md(&o, "` | ");
        if (isinf(row->lo) && isinf(row->hi)) md(&o, "per stage");
        else {
            md(&o, "[");
            md_value(&o, i, row->lo);
            md(&o, ", ");
            if (isinf(row->hi)) md(&o, "inf)");
            else md_value(&o, i, row->hi), md(&o, "]");
        }
        if (row->needs >= 0) md(&o, "; needs `%s %s`", ll_param_rows[row->needs].name, row->needs_text);
        md(&o, " | ");
        for (int p = 0; p < LL_PROFILE_COUNT; p++) {
            const ll_profile_row *pr = &ll_profile_rows[p];
            if (pr->lacks >> i & 1) md(&o, "—");
            else md_value(&o, i, pr->defaults[i]);
            for (size_t k = 0; k < LL_ARRAY_LEN(pr->ranges) && pr->ranges[k].param >= 0; k++)
                if (pr->ranges[k].param == i) md(&o, ", range [%g, %g]", pr->ranges[k].lo, pr->ranges[k].hi);
            md(&o, " | ");
        }
        md(&o, "\n");
    }
    md(&o, "\n### Profiles\n\n| profile | framework | front processors (left out when off) | default order | greedy rule "
           "| length default | `ignore_eos` |\n|---|---|---|---|---|---|---|\n");
    for (int p = 0; p < LL_PROFILE_COUNT; p++) {
        const ll_profile_row *pr = &ll_profile_rows[p];
        md(&o, "| `%s` (%s) | %s | ", pr->name, pr->aliases, pr->framework);
        md_stages(&o, pr->front, LL_ARRAY_LEN(pr->front));
        md(&o, " | ");
        md_stages(&o, pr->order, LL_ARRAY_LEN(pr->order));
        md(&o, " | %s | %s | %s |\n", pr->greedy_text, pr->length_text, pr->ignore_eos_text);
    }
    md(&o, "\n### Departures: values a framework accepts and ignores, logitlab rejects\n\n"
           "| profile | parameter | values | the framework | logitlab |\n|---|---|---|---|---|\n");
    for (int p = 0; p < LL_PROFILE_COUNT; p++) {
        const ll_profile_row *pr = &ll_profile_rows[p];
        for (size_t k = 0; k < pr->n_notes; k++)
            md(&o, "| `%s` | `%s` | %s | %s | %s |\n", pr->name, pr->notes[k].param, pr->notes[k].values,
               pr->notes[k].framework, pr->notes[k].logitlab);
    }
    return o.len;
}
