/*
 * params.c - from named hyperparameters to a chain, per profile.
 *
 * A profile is a framework's documented behaviour: its defaults, its
 * valid ranges, which processors exist, and the order they run in:
 *
 *   hf        [sequence/logit bias] repetition -> no_repeat_ngram -> bad
 *             words -> min length -> suppress; when sampling: temperature
 *             -> top_k -> top_p -> min_p -> typical -> epsilon -> eta ->
 *             dist, else greedy
 *   llama.cpp [logit bias] penalties -> dry -> top_n_sigma -> top_k ->
 *             typical -> top_p -> min_p -> xtc -> temperature -> dist
 *             (mirostat replaces everything after the bias)
 *   openai    bad words -> min_tokens -> logit bias -> penalties ->
 *             temperature -> min_p -> top_k -> top_p -> dist (vLLM)
 *   llama2.c  temperature -> run.c's sampler
 *
 * A parameter the profile's framework does not have is an error naming
 * the profiles that have it, never silently dropped. docs/semantics.md
 * has the full table.
 */
#include "chain_impl.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const profile_names[LL_PROFILE_COUNT] = {"hf", "llama.cpp", "openai", "llama2.c"};

const char *ll_profile_name(ll_profile profile) {
    return (unsigned)profile < LL_PROFILE_COUNT ? profile_names[profile] : "?";
}

ll_status ll_profile_from_name(const char *name, ll_profile *out, ll_error *err) {
    static const struct {
        const char *name;
        ll_profile p;
    } aliases[] = {{"hf", LL_PROFILE_HF},           {"transformers", LL_PROFILE_HF},
                   {"llama.cpp", LL_PROFILE_LLAMACPP}, {"llamacpp", LL_PROFILE_LLAMACPP},
                   {"openai", LL_PROFILE_OPENAI},   {"vllm", LL_PROFILE_OPENAI},
                   {"llama2.c", LL_PROFILE_LLAMA2C},  {"llama2c", LL_PROFILE_LLAMA2C}};
    for (size_t i = 0; i < LL_ARRAY_LEN(aliases); i++)
        if (strcmp(name, aliases[i].name) == 0) {
            *out = aliases[i].p;
            return LL_OK;
        }
    char q[LL_QUOTE_MAX];
    return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "unknown profile '%s': valid are hf, llama.cpp, openai, llama2.c",
                   ll_quote(q, name, strlen(name)));
}

void ll_sampling_params_init(ll_sampling_params *p, ll_profile profile) {
    memset(p, 0, sizeof *p);
    p->profile = profile;
    p->do_sample = -1;
    p->temperature = p->dynatemp_range = p->dynatemp_exponent = NAN;
    p->top_k = LL_UNSET_INT;
    p->top_p = p->min_p = p->typical_p = p->epsilon_cutoff = p->eta_cutoff = NAN;
    p->top_n_sigma = NAN;
    p->min_keep = LL_UNSET_INT;
    p->repetition_penalty = p->frequency_penalty = p->presence_penalty = NAN;
    p->penalty_last_n = LL_UNSET_INT;
    p->penalty_scope = -1;
    p->no_repeat_ngram_size = LL_UNSET_INT;
    p->min_new_tokens = p->min_length = LL_UNSET_INT;
    p->xtc_probability = p->xtc_threshold = NAN;
    p->dry_multiplier = p->dry_base = NAN;
    p->dry_allowed_length = p->dry_penalty_last_n = LL_UNSET_INT;
    p->mirostat = LL_UNSET_INT;
    p->mirostat_tau = p->mirostat_eta = NAN;
    p->seed = -1;
}

/* ---- resolved parameters: the profile's defaults filled in ---- */

typedef struct {
    ll_profile prof;
    bool sample;
    float temperature, dynatemp_range, dynatemp_exponent;
    int32_t top_k;
    double top_p, min_p, typical_p, epsilon, eta;
    bool min_p_set;
    float top_n_sigma;
    size_t min_keep;
    float rep, freq, pres;
    int32_t last_n;
    ll_penalty_scope scope, rep_scope;
    int32_t no_repeat_ngram;
    float xtc_p, xtc_t;
    float dry_mult, dry_base;
    int32_t dry_allowed, dry_last_n;
    int32_t mirostat;
    float mirostat_tau, mirostat_eta;
    uint32_t seed;
} resolved;

#define SETF(x) (!isnan(x))
#define SETI(x) ((x) != LL_UNSET_INT)
#define PICKF(x, d) (SETF(x) ? (x) : (d))
#define PICKI(x, d) (SETI(x) ? (x) : (d))

/* Parameters a profile does not have: fail if the user set one. */
static ll_status reject(const ll_sampling_params *p, bool set, const char *name, const char *has, ll_error *err) {
    if (!set) return LL_OK;
    return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                   "%s is not a parameter of the %s profile (%s has it); choose that profile, or name the stage "
                   "explicitly with samplers=...",
                   name, ll_profile_name(p->profile), has);
}

/* Parameters only one stage reads, and only while another parameter turns
 * it on (all llama.cpp's): setting one while its stage is off is a mistake
 * said now, like a stage left out of samplers=..., never a value silently
 * unused. One row per dependent parameter. */
static const struct {
    const char *name, *needs; /* the parameter, and what turns its stage on */
    size_t field, on_field;   /* offsets in ll_sampling_params */
    bool is_int, on_is_int;
} dependents[] = {
#define DEP(name, fi, needs, on, oi) {#name, #needs " " on, offsetof(ll_sampling_params, name), \
                                      offsetof(ll_sampling_params, needs), fi, oi}
    DEP(mirostat_tau, false, mirostat, "= 1 or 2", true),
    DEP(mirostat_eta, false, mirostat, "= 1 or 2", true),
    DEP(dynatemp_exponent, false, dynatemp_range, "> 0", false),
    DEP(xtc_threshold, false, xtc_probability, "> 0", false),
    DEP(dry_base, false, dry_multiplier, "> 0", false),
    DEP(dry_allowed_length, true, dry_multiplier, "> 0", false),
    DEP(dry_penalty_last_n, true, dry_multiplier, "> 0", false),
#undef DEP
};

static bool param_set(const ll_sampling_params *p, size_t off, bool is_int, double *v) {
    const char *b = (const char *)p + off;
    if (is_int) {
        int32_t x;
        memcpy(&x, b, sizeof x);
        *v = x;
        return SETI(x);
    }
    float x;
    memcpy(&x, b, sizeof x);
    *v = x;
    return SETF(x);
}

static ll_status check_dependents(const ll_sampling_params *p, ll_error *err) {
    for (size_t i = 0; i < LL_ARRAY_LEN(dependents); i++) {
        double v, on;
        if (!param_set(p, dependents[i].field, dependents[i].is_int, &v)) continue;
        bool enabled = param_set(p, dependents[i].on_field, dependents[i].on_is_int, &on) && on > 0;
        if (p->profile == LL_PROFILE_LLAMACPP && enabled) continue;
        char vs[32];
        if (dependents[i].is_int) snprintf(vs, sizeof vs, "%d", (int)v);
        else ll_format_float(vs, (float)v);
        const char *name = dependents[i].name;
        if (p->profile != LL_PROFILE_LLAMACPP)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "%s = %s is not used: only the llama.cpp profile has its stage (the %s profile is in use); "
                           "choose that profile with %s, or leave %s unset",
                           name, vs, ll_profile_name(p->profile), dependents[i].needs, name);
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                       "%s = %s is set but its stage is off, so nothing uses it: set %s, or leave %s unset", name, vs,
                       dependents[i].needs, name);
    }
    return LL_OK;
}

static ll_status resolve(const ll_sampling_params *p, resolved *r, ll_error *err) {
    memset(r, 0, sizeof *r);
    r->prof = p->profile;
    bool custom_order = p->samplers && *p->samplers;
    r->seed = p->seed >= 0 ? (uint32_t)p->seed : LL_DEFAULT_SEED;
    if (p->seed > (int64_t)UINT32_MAX)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "seed = %lld is out of range: valid is [0, %u]",
                       (long long)p->seed, UINT32_MAX);
    switch (p->profile) {
    case LL_PROFILE_HF:
        r->temperature = PICKF(p->temperature, 1.0f);
        r->sample = p->do_sample == 1;
        if (SETF(p->temperature) && p->temperature == 0.0f) r->sample = false; /* T = 0 means greedy */
        r->top_k = PICKI(p->top_k, 50);
        r->top_p = PICKF(p->top_p, 1.0);
        r->min_p_set = SETF(p->min_p);
        r->min_p = PICKF(p->min_p, 0.0);
        r->typical_p = PICKF(p->typical_p, 1.0);
        r->epsilon = PICKF(p->epsilon_cutoff, 0.0);
        r->eta = PICKF(p->eta_cutoff, 0.0);
        r->rep = PICKF(p->repetition_penalty, 1.0f);
        r->scope = r->rep_scope = LL_PENALTY_SCOPE_ALL;
        r->min_keep = (size_t)PICKI(p->min_keep, 1);
        if (!custom_order) {
            ll_status st;
            if ((st = reject(p, SETF(p->frequency_penalty) && p->frequency_penalty != 0.0f, "frequency_penalty",
                             "openai, llama.cpp", err)) ||
                (st = reject(p, SETF(p->presence_penalty) && p->presence_penalty != 0.0f, "presence_penalty",
                             "openai, llama.cpp", err)) ||
                (st = reject(p, SETF(p->dynatemp_range) && p->dynatemp_range != 0.0f, "dynatemp_range", "llama.cpp",
                             err)) ||
                (st = reject(p, SETF(p->top_n_sigma) && p->top_n_sigma > 0.0f, "top_n_sigma", "llama.cpp", err)) ||
                (st = reject(p, SETF(p->xtc_probability) && p->xtc_probability > 0.0f, "xtc_probability",
                             "llama.cpp", err)) ||
                (st = reject(p, SETF(p->dry_multiplier) && p->dry_multiplier != 0.0f, "dry_multiplier", "llama.cpp",
                             err)) ||
                (st = reject(p, SETI(p->mirostat) && p->mirostat != 0, "mirostat", "llama.cpp", err)))
                return st;
        }
        r->freq = PICKF(p->frequency_penalty, 0.0f);
        r->pres = PICKF(p->presence_penalty, 0.0f);
        break;
    case LL_PROFILE_LLAMACPP:
        r->temperature = PICKF(p->temperature, 0.8f);
        r->sample = p->do_sample != 0;
        r->top_k = PICKI(p->top_k, 40);
        r->top_p = PICKF(p->top_p, 0.95);
        r->min_p = PICKF(p->min_p, 0.05);
        r->min_p_set = true;
        r->typical_p = PICKF(p->typical_p, 1.0);
        r->rep = PICKF(p->repetition_penalty, 1.0f);
        r->freq = PICKF(p->frequency_penalty, 0.0f);
        r->pres = PICKF(p->presence_penalty, 0.0f);
        r->scope = r->rep_scope = LL_PENALTY_SCOPE_LAST_N;
        r->last_n = PICKI(p->penalty_last_n, 64);
        r->min_keep = (size_t)PICKI(p->min_keep, 0);
        r->dynatemp_range = PICKF(p->dynatemp_range, 0.0f);
        r->dynatemp_exponent = PICKF(p->dynatemp_exponent, 1.0f);
        r->top_n_sigma = PICKF(p->top_n_sigma, -1.0f);
        r->xtc_p = PICKF(p->xtc_probability, 0.0f);
        r->xtc_t = PICKF(p->xtc_threshold, 0.1f);
        r->dry_mult = PICKF(p->dry_multiplier, 0.0f);
        r->dry_base = PICKF(p->dry_base, 1.75f);
        r->dry_allowed = PICKI(p->dry_allowed_length, 2);
        r->dry_last_n = PICKI(p->dry_penalty_last_n, 64);
        r->mirostat = PICKI(p->mirostat, 0);
        r->mirostat_tau = PICKF(p->mirostat_tau, 5.0f);
        r->mirostat_eta = PICKF(p->mirostat_eta, 0.1f);
        if (!custom_order) {
            ll_status st;
            if ((st = reject(p, SETF(p->epsilon_cutoff) && p->epsilon_cutoff != 0.0, "epsilon_cutoff", "hf", err)) ||
                (st = reject(p, SETF(p->eta_cutoff) && p->eta_cutoff != 0.0, "eta_cutoff", "hf", err)))
                return st;
        }
        r->epsilon = PICKF(p->epsilon_cutoff, 0.0);
        r->eta = PICKF(p->eta_cutoff, 0.0);
        break;
    case LL_PROFILE_OPENAI:
        r->temperature = PICKF(p->temperature, 1.0f);
        if (SETF(p->temperature) && !(p->temperature >= 0.0f && p->temperature <= 2.0f))
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "temperature = %g is out of range: the openai profile accepts [0, 2], 0 = greedy",
                           (double)p->temperature);
        r->sample = p->do_sample != 0 && r->temperature >= 1e-5f;
        if (r->temperature > 0.0f && r->temperature < 0.01f) r->temperature = 0.01f; /* vLLM; warned */
        r->top_k = PICKI(p->top_k, 0);
        r->top_p = PICKF(p->top_p, 1.0);
        r->min_p = PICKF(p->min_p, 0.0);
        r->min_p_set = r->min_p > 0.0;
        r->rep = PICKF(p->repetition_penalty, 1.0f);
        r->freq = PICKF(p->frequency_penalty, 0.0f);
        r->pres = PICKF(p->presence_penalty, 0.0f);
        if (!(r->freq >= -2.0f && r->freq <= 2.0f))
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "frequency_penalty = %g is out of range: the openai profile accepts [-2, 2]", (double)r->freq);
        if (!(r->pres >= -2.0f && r->pres <= 2.0f))
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "presence_penalty = %g is out of range: the openai profile accepts [-2, 2]", (double)r->pres);
        r->rep_scope = LL_PENALTY_SCOPE_ALL;
        r->scope = LL_PENALTY_SCOPE_GENERATED;
        r->min_keep = (size_t)PICKI(p->min_keep, 0);
        for (size_t i = 0; i < p->n_logit_bias; i++)
            if (!(p->logit_bias[i].bias >= -100.0f && p->logit_bias[i].bias <= 100.0f))
                return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                               "logit_bias for token %d = %g is out of range: the openai profile accepts [-100, 100]",
                               p->logit_bias[i].token, (double)p->logit_bias[i].bias);
        if (!custom_order) {
            ll_status st;
            if ((st = reject(p, SETF(p->typical_p) && p->typical_p < 1.0, "typical_p", "hf, llama.cpp", err)) ||
                (st = reject(p, SETF(p->epsilon_cutoff) && p->epsilon_cutoff != 0.0, "epsilon_cutoff", "hf", err)) ||
                (st = reject(p, SETF(p->eta_cutoff) && p->eta_cutoff != 0.0, "eta_cutoff", "hf", err)) ||
                (st = reject(p, SETF(p->dynatemp_range) && p->dynatemp_range != 0.0f, "dynatemp_range", "llama.cpp",
                             err)) ||
                (st = reject(p, SETF(p->top_n_sigma) && p->top_n_sigma > 0.0f, "top_n_sigma", "llama.cpp", err)) ||
                (st = reject(p, SETF(p->xtc_probability) && p->xtc_probability > 0.0f, "xtc_probability",
                             "llama.cpp", err)) ||
                (st = reject(p, SETF(p->dry_multiplier) && p->dry_multiplier != 0.0f, "dry_multiplier", "llama.cpp",
                             err)) ||
                (st = reject(p, SETI(p->mirostat) && p->mirostat != 0, "mirostat", "llama.cpp", err)))
                return st;
        }
        r->typical_p = PICKF(p->typical_p, 1.0);
        break;
    case LL_PROFILE_LLAMA2C: {
        r->temperature = PICKF(p->temperature, 1.0f);
        r->sample = p->do_sample != 0 && r->temperature != 0.0f;
        r->top_p = PICKF(p->top_p, 0.9);
        bool other = SETI(p->top_k) || SETF(p->min_p) || SETF(p->typical_p) || SETF(p->epsilon_cutoff) ||
                     SETF(p->eta_cutoff) || SETF(p->repetition_penalty) || SETF(p->frequency_penalty) ||
                     SETF(p->presence_penalty) || SETF(p->top_n_sigma) || SETF(p->xtc_probability) ||
                     SETF(p->dry_multiplier) || SETI(p->mirostat) || SETF(p->dynatemp_range) ||
                     p->n_logit_bias || p->n_sequence_bias || p->n_bad_words || p->n_suppress_tokens ||
                     SETI(p->no_repeat_ngram_size) || SETI(p->min_new_tokens) || SETI(p->min_length) || custom_order;
        if (other)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "the llama2.c profile has only temperature, top_p and seed (as run.c); use another "
                           "profile for other parameters");
        if (p->seed == 0)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "seed = 0 is out of range for llama2.c: valid is >= 1");
        break;
    }
    default:
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "unknown profile %d", (int)p->profile);
    }
    r->no_repeat_ngram = PICKI(p->no_repeat_ngram_size, 0);
    if (p->penalty_scope >= 0) {
        if (p->penalty_scope > LL_PENALTY_SCOPE_GENERATED)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "penalty_scope = %d: valid are last_n, all, generated",
                           p->penalty_scope);
        r->scope = r->rep_scope = (ll_penalty_scope)p->penalty_scope;
    }
    if (!SETI(p->penalty_last_n) && r->last_n == 0) r->last_n = 64;
    if (SETI(p->penalty_last_n)) r->last_n = p->penalty_last_n;
    if (SETI(p->min_keep) && p->min_keep < 0)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "min_keep = %d is negative: valid is [0, inf)", p->min_keep);
    if (SETF(p->temperature) && (!isfinite(p->temperature) || p->temperature < 0.0f))
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "temperature = %g is out of range: valid is [0, inf), 0 = greedy",
                       (double)p->temperature);
    if (SETI(p->mirostat) && (p->mirostat < 0 || p->mirostat > 2))
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "mirostat = %d is out of range: valid are 0 (off), 1 and 2",
                       p->mirostat);
    return check_dependents(p, err);
}

/* ---- building ---- */

typedef struct {
    ll_chain *ch;
    ll_error *err;
    ll_status st;
} builder;

static void add(builder *b, ll_sampler *s) {
    if (b->st != LL_OK) {
        ll_sampler_free(s);
        return;
    }
    if (!s) {
        b->st = b->err ? b->err->status : LL_ERR_INVALID_ARGUMENT;
        if (b->st == LL_OK) b->st = LL_ERR_INVALID_ARGUMENT;
        return;
    }
    b->st = ll_chain_add(b->ch, s, b->err);
}

/* Hard constraints, common to every profile: they ban or bias named tokens
 * and do not interact with the order of the warpers. */
static void add_constraints(builder *b, const ll_sampling_params *p, const resolved *r, size_t n_vocab) {
    ll_error *err = b->err;
    if (r->prof == LL_PROFILE_HF) {
        /* HF has no logit_bias; a one-token sequence_bias is the same thing */
        size_t n = p->n_sequence_bias + p->n_logit_bias;
        if (n) {
            ll_sequence_bias *sb = ll_calloc(n, sizeof *sb, err);
            if (!sb) {
                b->st = LL_ERR_OUT_OF_MEMORY;
                return;
            }
            for (size_t i = 0; i < p->n_sequence_bias; i++) sb[i] = p->sequence_bias[i];
            for (size_t i = 0; i < p->n_logit_bias; i++) {
                sb[p->n_sequence_bias + i].seq.tokens = &p->logit_bias[i].token;
                sb[p->n_sequence_bias + i].seq.n = 1;
                sb[p->n_sequence_bias + i].bias = p->logit_bias[i].bias;
            }
            add(b, ll_sampler_sequence_bias_new(sb, n, n_vocab, err));
            free(sb);
        }
        return; /* the rest comes in HF's own order (see build_hf) */
    }
    if (r->prof == LL_PROFILE_OPENAI) {
        if (p->n_bad_words) add(b, ll_sampler_bad_words_new(p->bad_words, p->n_bad_words, p->eos_ids, p->n_eos_ids, n_vocab, err));
        if (SETI(p->min_new_tokens) || SETI(p->min_length))
            add(b, ll_sampler_min_length_new(PICKI(p->min_length, 0), PICKI(p->min_new_tokens, 0), p->eos_ids,
                                             p->n_eos_ids, err));
        if (p->n_logit_bias) add(b, ll_sampler_logit_bias_new(p->logit_bias, p->n_logit_bias, n_vocab, err));
    } else {
        if (p->n_logit_bias) add(b, ll_sampler_logit_bias_new(p->logit_bias, p->n_logit_bias, n_vocab, err));
        if (p->n_bad_words) add(b, ll_sampler_bad_words_new(p->bad_words, p->n_bad_words, p->eos_ids, p->n_eos_ids, n_vocab, err));
        if (SETI(p->min_new_tokens) || SETI(p->min_length))
            add(b, ll_sampler_min_length_new(PICKI(p->min_length, 0), PICKI(p->min_new_tokens, 0), p->eos_ids,
                                             p->n_eos_ids, err));
    }
    if (p->n_sequence_bias) add(b, ll_sampler_sequence_bias_new(p->sequence_bias, p->n_sequence_bias, n_vocab, err));
    if (p->n_suppress_tokens) add(b, ll_sampler_suppress_tokens_new(p->suppress_tokens, p->n_suppress_tokens, n_vocab, err));
    if (r->no_repeat_ngram > 0) add(b, ll_sampler_no_repeat_ngram_new(r->no_repeat_ngram, err));
}

static ll_sampler *make_penalties(const resolved *r, ll_error *err) {
    ll_penalty_params pp = {r->rep, r->freq, r->pres, r->scope, r->rep_scope, r->last_n,
                            r->prof == LL_PROFILE_HF ? LL_PROFILE_HF : r->prof};
    return ll_sampler_penalties_new(&pp, err);
}

static ll_sampler *make_temperature(const resolved *r, ll_error *err) {
    if (r->prof == LL_PROFILE_LLAMACPP && r->dynatemp_range > 0.0f)
        return ll_sampler_dynatemp_new(r->temperature, r->dynatemp_range, r->dynatemp_exponent, err);
    if (r->prof == LL_PROFILE_HF && r->temperature == 1.0f) return ll_sampler_noop_new("temperature", "temperature(t=1)", err);
    return ll_sampler_temperature_new(r->temperature, r->prof, err);
}

/* ---- the order of the middle stages (samplers=...) ---- */

enum {
    ST_PENALTIES,
    ST_DRY,
    ST_TOP_N_SIGMA,
    ST_TOP_K,
    ST_TYPICAL,
    ST_TOP_P,
    ST_MIN_P,
    ST_XTC,
    ST_TEMPERATURE,
    ST_EPSILON,
    ST_ETA,
    ST_COUNT
};

static const char *const stage_names[ST_COUNT] = {"penalties", "dry",   "top_n_sigma", "top_k",
                                                  "typical",   "top_p", "min_p",       "xtc",
                                                  "temperature", "epsilon", "eta"};

static const struct {
    const char *name;
    int stage;
} stage_aliases[] = {{"penalties", ST_PENALTIES}, {"repetition_penalty", ST_PENALTIES}, {"dry", ST_DRY},
                     {"top_n_sigma", ST_TOP_N_SIGMA}, {"top_k", ST_TOP_K}, {"typical", ST_TYPICAL},
                     {"typical_p", ST_TYPICAL}, {"typ_p", ST_TYPICAL}, {"top_p", ST_TOP_P}, {"min_p", ST_MIN_P},
                     {"xtc", ST_XTC}, {"temperature", ST_TEMPERATURE}, {"temp", ST_TEMPERATURE},
                     {"epsilon", ST_EPSILON}, {"epsilon_cutoff", ST_EPSILON}, {"eta", ST_ETA},
                     {"eta_cutoff", ST_ETA}};

#define STAGE_LIST "penalties, dry, top_n_sigma, top_k, typical, top_p, min_p, xtc, temperature, epsilon, eta"

/* Whether s[0..len) spells name, case-insensitively and with '-' for '_'
 * ("Top-K" is top_k). */
static bool name_is(const char *name, const char *s, size_t len) {
    if (strlen(name) != len) return false;
    for (size_t i = 0; i < len; i++) {
        char c = (char)tolower((unsigned char)s[i]);
        if (c == '-') c = '_';
        if (c != name[i]) return false;
    }
    return true;
}

static bool is_sep(char c) { return c == ',' || c == ';'; }
static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* The user's order as stage ids (*stages allocated, *n of them). Names are
 * separated by ',' or ';' (llama.cpp's --samplers uses ';'), with optional
 * blanks around, or by blanks alone. The whole string is read, whatever
 * its length; an empty name (",,", a leading or trailing separator) is an
 * error naming its position, as is an unknown name. */
static ll_status parse_order(const char *order, int **stages, size_t *n, ll_error *err) {
    *stages = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *q = order; *q; q++)
        if (is_sep(*q) || is_blank(*q)) cap++;
    int *st = ll_calloc(cap, sizeof *st, err);
    if (!st) return LL_ERR_OUT_OF_MEMORY;
    size_t k = 0, pos = 1;
    const char *s = order;
    for (;;) {
        while (is_blank(*s)) s++;
        const char *b = s;
        while (*s && !is_sep(*s) && !is_blank(*s)) s++;
        size_t len = (size_t)(s - b);
        if (len == 0) {
            /* the list is quoted bounded: the position must survive a long one */
            char q[LL_QUOTE_MAX];
            free(st);
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "samplers='%s': empty stage name at position %zu (names are separated by ',' or ';')",
                           ll_quote(q, order, strlen(order)), pos);
        }
        int stage = -1;
        for (size_t i = 0; i < LL_ARRAY_LEN(stage_aliases) && stage < 0; i++)
            if (name_is(stage_aliases[i].name, b, len)) stage = stage_aliases[i].stage;
        if (stage < 0) {
            char q[LL_QUOTE_MAX];
            free(st);
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "unknown sampler '%s' at position %zu of samplers: valid are " STAGE_LIST,
                           ll_quote(q, b, len), pos);
        }
        st[k++] = stage;
        while (is_blank(*s)) s++;
        if (!*s) break;
        if (is_sep(*s)) s++;
        pos++;
    }
    *stages = st;
    *n = k;
    return LL_OK;
}

/* One stage of the user's order (or of the profile's default order). */
static ll_status add_stage(builder *b, int stage, const resolved *r, const ll_sampling_params *p) {
    ll_error *err = b->err;
    switch (stage) {
    case ST_PENALTIES: add(b, make_penalties(r, err)); break;
    case ST_TEMPERATURE: add(b, make_temperature(r, err)); break;
    case ST_TOP_K:
        if (r->prof == LL_PROFILE_HF && r->top_k == 0) add(b, ll_sampler_noop_new("top_k", "top_k(k=0: off)", err));
        else add(b, ll_sampler_top_k_new(r->top_k, r->min_keep, r->prof, err));
        break;
    case ST_TOP_P:
        if (r->prof != LL_PROFILE_LLAMACPP && r->top_p == 1.0) add(b, ll_sampler_noop_new("top_p", "top_p(p=1: off)", err));
        else add(b, ll_sampler_top_p_new(r->top_p, r->min_keep, r->prof, err));
        break;
    case ST_MIN_P:
        if (!r->min_p_set || (r->prof != LL_PROFILE_HF && r->min_p == 0.0))
            add(b, ll_sampler_noop_new("min_p", "min_p(p=0: off)", err));
        else add(b, ll_sampler_min_p_new(r->min_p, r->min_keep, r->prof, err));
        break;
    case ST_TYPICAL:
        if (r->typical_p == 1.0) add(b, ll_sampler_noop_new("typical", "typical(p=1: off)", err));
        else add(b, ll_sampler_typical_new(r->typical_p, r->min_keep, r->prof, err));
        break;
    case ST_EPSILON:
        if (r->epsilon == 0.0) add(b, ll_sampler_noop_new("epsilon", "epsilon(off)", err));
        else add(b, ll_sampler_epsilon_new(r->epsilon, r->min_keep, err));
        break;
    case ST_ETA:
        if (r->eta == 0.0) add(b, ll_sampler_noop_new("eta", "eta(off)", err));
        else add(b, ll_sampler_eta_new(r->eta, r->min_keep, err));
        break;
    case ST_TOP_N_SIGMA: add(b, ll_sampler_top_n_sigma_new(r->top_n_sigma, err)); break;
    case ST_XTC: add(b, ll_sampler_xtc_new(r->xtc_p, r->xtc_t, r->min_keep, r->seed, err)); break;
    case ST_DRY: {
        ll_dry_params dp = {r->dry_mult, r->dry_base, r->dry_allowed, r->dry_last_n, p->dry_breakers,
                            p->n_dry_breakers};
        add(b, ll_sampler_dry_new(&dp, err));
        break;
    }
    default: return b->st = ll_fail(err, LL_ERR_INVALID_ARGUMENT, "unknown stage %d", stage);
    }
    return b->st;
}

/* Every parameter that does something must have its stage in the user's
 * order: one that is set but not listed would be ignored without a word.
 * A stage is "doing something" when its resolved value is active, or, for
 * the stages whose defaults are active (top_k, top_p, min_p, temperature
 * in llama.cpp), when the user set it to an active value. */
static ll_status check_order_covers(const resolved *r, const ll_sampling_params *p, const bool listed[ST_COUNT],
                                    ll_error *err) {
    for (int i = 0; i < ST_COUNT; i++) {
        bool active = false;
        switch (i) {
        case ST_PENALTIES: active = r->rep != 1.0f || r->freq != 0.0f || r->pres != 0.0f; break;
        case ST_DRY: active = r->dry_mult != 0.0f; break;
        case ST_TOP_N_SIGMA: active = r->top_n_sigma > 0.0f; break;
        case ST_TYPICAL: active = r->typical_p < 1.0; break;
        case ST_XTC: active = r->xtc_p > 0.0f; break;
        case ST_EPSILON: active = r->epsilon > 0.0; break;
        case ST_ETA: active = r->eta > 0.0; break;
        case ST_TOP_K: active = SETI(p->top_k) && p->top_k > 0; break;
        case ST_TOP_P: active = SETF(p->top_p) && p->top_p < 1.0; break;
        case ST_MIN_P: active = SETF(p->min_p) && p->min_p > 0.0; break;
        case ST_TEMPERATURE:
            active = (SETF(p->temperature) && p->temperature != 1.0f) ||
                     (SETF(p->dynatemp_range) && p->dynatemp_range > 0.0f);
            break;
        default: break;
        }
        if (active && !listed[i]) {
            char q[LL_QUOTE_MAX];
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "%s is set but '%s' is not in samplers=%s: add it where it should run, or leave %s unset",
                           stage_names[i], stage_names[i], ll_quote(q, p->samplers, strlen(p->samplers)),
                           stage_names[i]);
        }
    }
    return LL_OK;
}

static void add_selector(builder *b, const resolved *r) {
    if (!r->sample) add(b, ll_sampler_greedy_new(b->err));
    else add(b, ll_sampler_dist_new(r->seed, r->prof, b->err));
}

/* The DRY stage matches these ids against the history; one past the
 * vocabulary could never match, so it is a mistake, said now. */
static ll_status check_dry_breakers(const ll_sampling_params *p, size_t n_vocab, ll_error *err) {
    for (size_t i = 0; i < p->n_dry_breakers; i++) {
        const ll_token_seq *q = &p->dry_breakers[i];
        if (!q->tokens || q->n == 0)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "dry_breakers[%zu] is empty: a breaker is one or more token ids",
                           i);
        for (size_t j = 0; j < q->n; j++)
            if (q->tokens[j] < 0 || (size_t)q->tokens[j] >= n_vocab)
                return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                               "dry_breakers[%zu] has token id %d: out of range, valid is [0, %zu] (the vocabulary)", i,
                               q->tokens[j], n_vocab ? n_vocab - 1 : 0);
    }
    return LL_OK;
}

ll_chain *ll_chain_from_params(const ll_sampling_params *p, size_t n_vocab, ll_error *err) {
    resolved r;
    if (resolve(p, &r, err) != LL_OK || check_dry_breakers(p, n_vocab, err) != LL_OK) return NULL;
    /* the user's order is read whether or not this profile and mode use
     * it, so a bad list is always an error */
    bool custom_order = p->samplers && *p->samplers;
    int *order = NULL;
    size_t n_order = 0;
    if (custom_order && parse_order(p->samplers, &order, &n_order, err) != LL_OK) return NULL;
    ll_chain *ch = ll_chain_new(n_vocab, err);
    if (!ch) {
        free(order);
        return NULL;
    }
    builder b = {ch, err, LL_OK};

    if (r.prof == LL_PROFILE_LLAMA2C) {
        if (!r.sample) {
            add(&b, ll_sampler_greedy_new(err));
        } else {
            if (r.temperature != 1.0f) add(&b, ll_sampler_temperature_new(r.temperature, r.prof, err));
            add(&b, ll_sampler_llama2c_top_p_new((float)r.top_p, r.seed, err));
        }
        goto done;
    }

    add_constraints(&b, p, &r, n_vocab);
    if (r.prof == LL_PROFILE_HF) {
        if (r.rep != 1.0f) add(&b, make_penalties(&r, err));
        if (r.no_repeat_ngram > 0) add(&b, ll_sampler_no_repeat_ngram_new(r.no_repeat_ngram, err));
        if (p->n_bad_words)
            add(&b, ll_sampler_bad_words_new(p->bad_words, p->n_bad_words, p->eos_ids, p->n_eos_ids, n_vocab, err));
        if ((SETI(p->min_length) && p->min_length > 0) || (SETI(p->min_new_tokens) && p->min_new_tokens > 0))
            add(&b, ll_sampler_min_length_new(PICKI(p->min_length, 0), PICKI(p->min_new_tokens, 0), p->eos_ids,
                                              p->n_eos_ids, err));
        if (p->n_suppress_tokens)
            add(&b, ll_sampler_suppress_tokens_new(p->suppress_tokens, p->n_suppress_tokens, n_vocab, err));
        if (!r.sample) {
            add_selector(&b, &r);
            goto done;
        }
    }

    if (r.prof == LL_PROFILE_LLAMACPP && r.mirostat) {
        if (custom_order) {
            /* llama.cpp ignores its sampler order under mirostat; here that is said */
            char q[LL_QUOTE_MAX];
            b.st = ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                           "samplers=%s has no effect with mirostat = %d (it runs only temperature, then mirostat): "
                           "leave out one of them",
                           ll_quote(q, p->samplers, strlen(p->samplers)), r.mirostat);
            goto done;
        }
        add(&b, ll_sampler_temperature_new(r.temperature, r.prof, err));
        if (r.mirostat == 1)
            add(&b, ll_sampler_mirostat_new((int32_t)n_vocab, r.seed, r.mirostat_tau, r.mirostat_eta, 100, err));
        else add(&b, ll_sampler_mirostat_v2_new(r.seed, r.mirostat_tau, r.mirostat_eta, err));
        goto done;
    }

    if (r.prof == LL_PROFILE_OPENAI && !r.sample) {
        /* vLLM: below 1e-5 it is greedy, and top_p/top_k/min_p are reset */
        if (r.rep != 1.0f || r.freq != 0.0f || r.pres != 0.0f) add(&b, make_penalties(&r, err));
        add_selector(&b, &r);
        goto done;
    }

    if (!custom_order) {
        static const int hf_order[] = {ST_TEMPERATURE, ST_TOP_K, ST_TOP_P, ST_MIN_P, ST_TYPICAL, ST_EPSILON, ST_ETA};
        static const int lc_order[] = {ST_PENALTIES, ST_DRY, ST_TOP_N_SIGMA, ST_TOP_K, ST_TYPICAL,
                                       ST_TOP_P,     ST_MIN_P, ST_XTC,     ST_TEMPERATURE};
        static const int oa_order[] = {ST_PENALTIES, ST_TEMPERATURE, ST_MIN_P, ST_TOP_K, ST_TOP_P};
        const int *dflt = r.prof == LL_PROFILE_HF ? hf_order : r.prof == LL_PROFILE_LLAMACPP ? lc_order : oa_order;
        size_t n = r.prof == LL_PROFILE_HF         ? LL_ARRAY_LEN(hf_order)
                   : r.prof == LL_PROFILE_LLAMACPP ? LL_ARRAY_LEN(lc_order)
                                                   : LL_ARRAY_LEN(oa_order);
        for (size_t i = 0; i < n && b.st == LL_OK; i++) add_stage(&b, dflt[i], &r, p);
    } else {
        bool listed[ST_COUNT] = {false};
        for (size_t i = 0; i < n_order; i++) listed[order[i]] = true;
        if (check_order_covers(&r, p, listed, err) != LL_OK) b.st = err ? err->status : LL_ERR_INVALID_ARGUMENT;
        for (size_t i = 0; i < n_order && b.st == LL_OK; i++) add_stage(&b, order[i], &r, p);
    }
    add_selector(&b, &r);

done:
    free(order);
    if (b.st != LL_OK) {
        ll_chain_free(ch);
        return NULL;
    }
    return ch;
}

void ll_sampling_params_warnings(const ll_sampling_params *p, char *buf, size_t cap) {
    if (cap == 0) return;
    buf[0] = '\0';
    size_t len = 0;
#define WARN(...)                                                                   \
    do {                                                                            \
        if (len < cap) {                                                            \
            int w_ = snprintf(buf + len, cap - len, __VA_ARGS__);                   \
            if (w_ > 0) len += (size_t)w_;                                          \
        }                                                                           \
    } while (0)
    if (p->profile == LL_PROFILE_HF && p->do_sample != 1) {
        bool warpers = (SETF(p->temperature) && p->temperature != 0.0f && p->temperature != 1.0f) ||
                       SETI(p->top_k) || SETF(p->top_p) || SETF(p->min_p) || SETF(p->typical_p) ||
                       SETF(p->epsilon_cutoff) || SETF(p->eta_cutoff);
        if (warpers)
            WARN("hf profile: do_sample is false, so temperature/top_k/top_p/min_p/typical_p/epsilon/eta are "
                 "ignored (greedy decoding, as transformers does); pass do_sample to sample\n");
        else if (p->samplers && *p->samplers) {
            char q[LL_QUOTE_MAX];
            WARN("hf profile: do_sample is false, so samplers=%s is not used (greedy decoding); pass do_sample to "
                 "sample\n",
                 ll_quote(q, p->samplers, strlen(p->samplers)));
        }
    }
    if (p->profile == LL_PROFILE_OPENAI && SETF(p->temperature) && p->temperature > 0.0f &&
        p->temperature < 0.01f) {
        if (p->temperature < 1e-5f)
            WARN("openai profile: temperature %g < 1e-5 is greedy decoding (vLLM)\n", (double)p->temperature);
        else
            WARN("openai profile: temperature %g is raised to 0.01, as vLLM does\n", (double)p->temperature);
    }
    if (p->profile == LL_PROFILE_LLAMACPP && p->seed < 0)
        WARN("llama.cpp profile: no seed given, using %u (llama.cpp itself would pick a random seed)\n",
             LL_DEFAULT_SEED);
#undef WARN
}
