/*
 * test_profiles.c - chains built from named hyperparameters: each
 * profile's order and defaults, its no-op rules, the errors for a
 * parameter its framework does not have, and a user-given order.
 */
#include "test_util.h"

static char desc[4096];

static ll_chain *build(ll_sampling_params *p, size_t V, ll_error *err) {
    ll_chain *ch = ll_chain_from_params(p, V, err);
    if (ch) ll_chain_describe(ch, desc, sizeof desc);
    else desc[0] = '\0';
    return ch;
}

static void expect_chain(ll_sampling_params *p, const char *want) {
    ll_error err;
    ll_chain *ch = build(p, 100, &err);
    CHECK(ch != NULL, "chain for profile %s: %s", ll_profile_name(p->profile), err.message);
    CHECK(ch && strcmp(desc, want) == 0, "profile %s chain:\n  got  %s\n  want %s", ll_profile_name(p->profile), desc,
          want);
    ll_chain_free(ch);
}

static void expect_fail(ll_sampling_params *p, const char *needle) {
    ll_error err;
    ll_error_clear(&err);
    ll_chain *ch = build(p, 100, &err);
    CHECK(ch == NULL, "expected failure containing '%s', got chain %s", needle, desc);
    CHECK(strstr(err.message, needle) != NULL, "message '%s' should contain '%s'", err.message, needle);
    ll_chain_free(ch);
}

int main(void) {
    ll_sampling_params p;

    /* llama.cpp defaults: common_sampler's chain */
    ll_sampling_params_init(&p, LL_PROFILE_LLAMACPP);
    expect_chain(&p, "?penalties(off) -> ?dry(off) -> ?top_n_sigma(n<=0: off) -> top_k(k=40) -> ?typical(p=1: off) -> "
                     "top_p(p=0.95, cum>=p) -> min_p(p=0.05) -> ?xtc(off: probability 0 or threshold > 0.5) -> "
                     "temperature(t=0.8) -> dist(seed=42)");
    p.repetition_penalty = 1.1f;
    p.top_k = 0;
    p.seed = 7;
    expect_chain(&p, "penalties(rep=1.1, freq=0, pres=0; last 64) -> ?dry(off) -> ?top_n_sigma(n<=0: off) -> "
                     "?top_k(k<=0: off) -> ?typical(p=1: off) -> top_p(p=0.95, cum>=p) -> min_p(p=0.05) -> "
                     "?xtc(off: probability 0 or threshold > 0.5) -> temperature(t=0.8) -> dist(seed=7)");
    ll_sampling_params_init(&p, LL_PROFILE_LLAMACPP);
    p.mirostat = 2;
    p.seed = 1;
    expect_chain(&p, "temperature(t=0.8) -> mirostat_v2(tau=5, eta=0.1, seed=1)");
    ll_sampling_params_init(&p, LL_PROFILE_LLAMACPP);
    p.temperature = 0.0f; /* llama.cpp: greedy by masking, dist still draws */
    p.top_k = 0;
    p.top_p = 1.0;
    p.min_p = 0.0;
    expect_chain(&p, "?penalties(off) -> ?dry(off) -> ?top_n_sigma(n<=0: off) -> ?top_k(k<=0: off) -> "
                     "?typical(p=1: off) -> ?top_p(p=1: off) -> ?min_p(p=0: off) -> "
                     "?xtc(off: probability 0 or threshold > 0.5) -> temperature(t=0) -> dist(seed=42)");
    ll_sampling_params_init(&p, LL_PROFILE_LLAMACPP);
    p.epsilon_cutoff = 0.01;
    expect_fail(&p, "epsilon_cutoff is not a parameter of the llama.cpp profile (hf has it)");

    /* hf: greedy unless do_sample; warpers only when sampling; top_k 50 */
    ll_sampling_params_init(&p, LL_PROFILE_HF);
    p.temperature = 0.7f;
    expect_chain(&p, "greedy");
    char warn[512];
    ll_sampling_params_warnings(&p, warn, sizeof warn);
    CHECK(strstr(warn, "ignored") != NULL, "hf warns that warpers are ignored without do_sample: '%s'", warn);
    p.do_sample = 1;
    expect_chain(&p, "temperature(t=0.7) -> top_k(k=50, ties kept) -> ?top_p(p=1: off) -> ?min_p(p=0: off) -> "
                     "?typical(p=1: off) -> ?epsilon(off) -> ?eta(off) -> dist(seed=42, id order)");
    p.repetition_penalty = 1.2f;
    p.no_repeat_ngram_size = 3;
    p.top_k = 0;
    p.top_p = 0.9;
    p.min_p = 0.1;
    expect_chain(&p, "penalties(rep=1.2, freq=0, pres=0; all) -> no_repeat_ngram(n=3) -> temperature(t=0.7) -> "
                     "?top_k(k=0: off) -> top_p(p=0.9, tail<=1-p removed) -> min_p(p=0.1) -> ?typical(p=1: off) -> "
                     "?epsilon(off) -> ?eta(off) -> dist(seed=42, id order)");
    p.temperature = 0.0f; /* temperature 0 means greedy everywhere */
    expect_chain(&p, "penalties(rep=1.2, freq=0, pres=0; all) -> no_repeat_ngram(n=3) -> greedy");
    ll_sampling_params_init(&p, LL_PROFILE_HF);
    p.frequency_penalty = 0.5f;
    expect_fail(&p, "frequency_penalty is not a parameter of the hf profile");
    ll_sampling_params_init(&p, LL_PROFILE_HF);
    p.do_sample = 1;
    p.top_p = 1.7;
    expect_fail(&p, "top_p = 1.7 is out of range: valid is [0, 1]");

    /* openai (vLLM): penalties -> temperature -> min_p -> top_k -> top_p */
    ll_sampling_params_init(&p, LL_PROFILE_OPENAI);
    p.presence_penalty = 0.5f;
    p.top_p = 0.9;
    expect_chain(&p, "penalties(rep=1, freq=0, pres=0.5; rep: all, freq: generated) -> ?temperature(t=1) -> "
                     "?min_p(p=0: off) -> ?top_k(k=0: off) -> top_p(p=0.9, tail<=1-p removed) -> dist(seed=42, id order)");
    p.temperature = 0.0f;
    expect_chain(&p, "penalties(rep=1, freq=0, pres=0.5; rep: all, freq: generated) -> greedy");
    ll_sampling_params_init(&p, LL_PROFILE_OPENAI);
    p.temperature = 2.5f;
    expect_fail(&p, "temperature = 2.5 is out of range: the openai profile accepts [0, 2]");
    ll_sampling_params_init(&p, LL_PROFILE_OPENAI);
    p.frequency_penalty = 3.0f;
    expect_fail(&p, "frequency_penalty = 3 is out of range");
    ll_sampling_params_init(&p, LL_PROFILE_OPENAI);
    ll_token_bias big = {5, 150.0f};
    p.logit_bias = &big;
    p.n_logit_bias = 1;
    expect_fail(&p, "logit_bias for token 5 = 150 is out of range: the openai profile accepts [-100, 100]");
    ll_sampling_params_init(&p, LL_PROFILE_OPENAI);
    p.mirostat = 1;
    expect_fail(&p, "mirostat is not a parameter of the openai profile");

    /* llama2.c: run.c's sampler and nothing else */
    ll_sampling_params_init(&p, LL_PROFILE_LLAMA2C);
    expect_chain(&p, "llama2c_sample(top_p=0.9, seed=42)");
    p.temperature = 0.8f;
    expect_chain(&p, "temperature(t=0.8) -> llama2c_sample(top_p=0.9, seed=42)");
    p.temperature = 0.0f;
    expect_chain(&p, "greedy");
    p.top_k = 40;
    expect_fail(&p, "the llama2.c profile has only temperature, top_p and seed");

    /* a user-given order */
    ll_sampling_params_init(&p, LL_PROFILE_LLAMACPP);
    p.samplers = "penalties;top_k;temperature;top_p";
    p.repetition_penalty = 1.1f;
    expect_chain(&p, "penalties(rep=1.1, freq=0, pres=0; last 64) -> top_k(k=40) -> temperature(t=0.8) -> "
                     "top_p(p=0.95, cum>=p) -> dist(seed=42)");
    p.samplers = "top_k,temperature";
    expect_fail(&p, "penalties is set but 'penalties' is not in samplers=top_k,temperature");
    p.samplers = "top_k,bogus";
    p.repetition_penalty = NAN;
    expect_fail(&p, "unknown sampler 'bogus'");
    ll_sampling_params_init(&p, LL_PROFILE_HF);
    p.do_sample = 1;
    p.samplers = "top_k,temperature";
    expect_chain(&p, "top_k(k=50, ties kept) -> ?temperature(t=1) -> dist(seed=42, id order)");

    /* a processor named in samplers= runs there, once (it ran at the front
     * and again where named: penalties -> penalties -> dist) */
    ll_sampling_params_init(&p, LL_PROFILE_HF);
    p.do_sample = 1;
    p.repetition_penalty = 2.0f;
    p.samplers = "repetition_penalty";
    expect_chain(&p, "penalties(rep=2, freq=0, pres=0; all) -> dist(seed=42, id order)");
    p.samplers = "top_k";
    expect_chain(&p, "penalties(rep=2, freq=0, pres=0; all) -> top_k(k=50, ties kept) -> dist(seed=42, id order)");
    /* HF processors anywhere: after a warper, by their HF class names too */
    int32_t sup[2] = {3, 4};
    ll_token_seq bw = {sup, 2};
    p.suppress_tokens = sup;
    p.n_suppress_tokens = 1;
    p.bad_words = &bw;
    p.n_bad_words = 1;
    p.no_repeat_ngram_size = 2;
    p.samplers = "top_k, TemperatureLogitsWarper, suppress_tokens, NoBadWordsLogitsProcessor, penalties, no_repeat_ngram";
    expect_chain(&p, "top_k(k=50, ties kept) -> ?temperature(t=1) -> suppress_tokens(1) -> bad_words(1 sequence) -> "
                     "penalties(rep=2, freq=0, pres=0; all) -> no_repeat_ngram(n=2) -> dist(seed=42, id order)");
    /* greedy: the processors run where named, the warpers are left out */
    p.do_sample = 0;
    expect_chain(&p, "suppress_tokens(1) -> bad_words(1 sequence) -> penalties(rep=2, freq=0, pres=0; all) -> "
                     "no_repeat_ngram(n=2) -> greedy");

    /* per-stage values in samplers=: the same warper twice, its own min_keep
     * (HF min_tokens_to_keep); a flag is the value of occurrences without one */
    ll_sampling_params_init(&p, LL_PROFILE_HF);
    p.do_sample = 1;
    p.samplers = "top_k(k=50),temperature(t=0.7),top_k(k=3)";
    expect_chain(&p, "top_k(k=50, ties kept) -> temperature(t=0.7) -> top_k(k=3, ties kept) -> dist(seed=42, id order)");
    p.samplers = "temperature(t=0.7), temperature(t=2.0)";
    expect_chain(&p, "temperature(t=0.7) -> temperature(t=2) -> dist(seed=42, id order)");
    p.top_k = 5;
    p.samplers = "top_k(k=3),top_k";
    expect_chain(&p, "top_k(k=3, ties kept) -> top_k(k=5, ties kept) -> dist(seed=42, id order)");
    p.samplers = "top_k(k=3)";
    expect_fail(&p, "top_k = 5 is set, but every stage in samplers= that reads it gives its own k");
    p.top_k = LL_UNSET_INT;
    p.samplers = "top_k,top_p(p=1.5)";
    expect_fail(&p, "samplers position 2, top_p(p=1.5): top_p = 1.5 is out of range: valid is [0, 1]");
    p.samplers = "top_k(k=x)";
    expect_fail(&p, "samplers position 1, top_k: k = 'x' is not an integer: valid is an integer in [");
    p.samplers = "temperature, top_k(q=1)";
    expect_fail(&p, "samplers position 2, top_k: unknown parameter 'q': valid are k, min_keep");
    p.samplers = "top_k(k=3";
    expect_fail(&p, "samplers position 1, top_k: '(' is not closed");
    p.samplers = "no_repeat_ngram(n=2),top_k,no_repeat_ngram(n=3)";
    expect_chain(&p, "no_repeat_ngram(n=2) -> top_k(k=50, ties kept) -> no_repeat_ngram(n=3) -> dist(seed=42, id order)");

    /* constraints come first in every profile */
    ll_sampling_params_init(&p, LL_PROFILE_LLAMACPP);
    int32_t eos = 2;
    ll_token_bias ban = {7, -INFINITY};
    p.logit_bias = &ban;
    p.n_logit_bias = 1;
    p.min_new_tokens = 4;
    p.eos_ids = &eos;
    p.n_eos_ids = 1;
    p.top_k = 0;
    p.top_p = 1.0;
    p.min_p = 0.0;
    expect_chain(&p, "logit_bias(1 token) -> min_new_tokens(4) -> ?penalties(off) -> ?dry(off) -> "
                     "?top_n_sigma(n<=0: off) -> ?top_k(k<=0: off) -> ?typical(p=1: off) -> ?top_p(p=1: off) -> "
                     "?min_p(p=0: off) -> ?xtc(off: probability 0 or threshold > 0.5) -> temperature(t=0.8) -> "
                     "dist(seed=42)");
    p.n_eos_ids = 0;
    expect_fail(&p, "needs at least one EOS token id");

    ll_profile prof;
    ll_error err;
    CHECK(ll_profile_from_name("vllm", &prof, &err) == LL_OK && prof == LL_PROFILE_OPENAI, "alias vllm");
    CHECK(ll_profile_from_name("mlx", &prof, &err) != LL_OK && strstr(err.message, "unknown profile 'mlx'"),
          "unknown profile");
    return tu_finish("profiles");
}
