#define _POSIX_C_SOURCE 200809L
/*
 * test_llamacpp_vectors.c - every case of llama.cpp's own sampler tests
 * (../shared/vectors/llamacpp-sampling-vectors.jsonl, produced by the real
 * library) run through logitlab's llama.cpp profile: the candidate arrays
 * (ids in order, logits, probabilities, sorted flag) and the tokens that a
 * seeded dist selects must match.
 */
#include "test_util.h"
#include "util/json.h"

#define P_ATOL 2e-7
#define P_RTOL 2e-6

typedef struct {
    ll_chain *ch;
    ll_error err;
} harness;

static float *logits_from_probs(const lj_value *probs, size_t *n) {
    *n = probs->n;
    float *l = malloc(*n * sizeof *l);
    for (size_t i = 0; i < *n; i++) l[i] = (float)log((double)(float)lj_num(probs->items[i]));
    return l;
}

/* Checks ids, logits, p and sorted of the chain's candidates against out. */
static void check_candidates(ll_chain *ch, const lj_value *out, const float *input, const char *label) {
    const ll_candidates *c = ll_chain_candidates(ch);
    const lj_value *ids = lj_get(out, "ids"), *lg = lj_get(out, "logits"), *p = lj_get(out, "p");
    const lj_value *sorted = lj_get(out, "sorted"), *sel = lj_get(out, "selected_id");
    CHECK(c != NULL, "%s: no candidates", label);
    if (!c) return;
    CHECK(c->size == ids->n, "%s: size %zu, expected %zu", label, c->size, ids->n);
    if (c->size != ids->n) return;
    for (size_t i = 0; i < c->size; i++) {
        /* Among tied logits llama.cpp's order is whatever libstdc++'s heap
         * and introsort leave (unspecified); logitlab puts the lower
         * position first. Tied ids must agree as a set. */
        int32_t got = ll_candidates_id(c, i), want = (int32_t)lj_num(ids->items[i]);
        bool ok = got == want || input[got] == input[want];
        CHECK(ok, "%s: id[%zu] = %d, expected %d", label, i, got, (int)lj_num(ids->items[i]));
        if (lg) CHECK(tu_close(c->logit[i], lj_num(lg->items[i]), 1e-6, 1e-6), "%s: logit[%zu] = %.9g, expected %.9g",
                      label, i, (double)c->logit[i], lj_num(lg->items[i]));
        if (p) CHECK(tu_close(ll_candidates_prob(c, i), lj_num(p->items[i]), P_ATOL, P_RTOL),
                     "%s: p[%zu] = %.9g, expected %.9g", label, i, (double)ll_candidates_prob(c, i),
                     lj_num(p->items[i]));
    }
    if (sorted) CHECK(c->sorted == sorted->b, "%s: sorted = %d, expected %d", label, c->sorted, sorted->b);
    if (sel && c->selected >= 0)
        CHECK(ll_candidates_id(c, (size_t)c->selected) == (int32_t)lj_num(sel), "%s: selected %d, expected %d", label,
              ll_candidates_id(c, (size_t)c->selected), (int)lj_num(sel));
}

static ll_sampler *make_stage(const char *kind, const lj_value *prm, ll_error *err) {
    double v;
    if (!strcmp(kind, "temp")) return ll_sampler_temperature_new((float)lj_num(lj_get(prm, "temp")), LL_PROFILE_LLAMACPP, err);
    if (!strcmp(kind, "temp_ext") || !strcmp(kind, "temp_ext_dynamic"))
        return ll_sampler_dynatemp_new((float)lj_num(lj_get(prm, "temp")), (float)lj_num(lj_get(prm, "delta")),
                                       (float)lj_num(lj_get(prm, "exponent")), err);
    if (!strcmp(kind, "top_k")) return ll_sampler_top_k_new((int32_t)lj_num(lj_get(prm, "k")), 0, LL_PROFILE_LLAMACPP, err);
    if (!strcmp(kind, "top_p"))
        return ll_sampler_top_p_new((float)lj_num(lj_get(prm, "p")), (size_t)lj_num(lj_get(prm, "min_keep")),
                                    LL_PROFILE_LLAMACPP, err);
    if (!strcmp(kind, "min_p"))
        return ll_sampler_min_p_new((float)lj_num(lj_get(prm, "p")), (size_t)lj_num(lj_get(prm, "min_keep")),
                                    LL_PROFILE_LLAMACPP, err);
    if (!strcmp(kind, "typical"))
        return ll_sampler_typical_new((float)lj_num(lj_get(prm, "p")), (size_t)lj_num(lj_get(prm, "min_keep")),
                                      LL_PROFILE_LLAMACPP, err);
    if (!strcmp(kind, "xtc"))
        return ll_sampler_xtc_new((float)lj_num(lj_get(prm, "probability")), (float)lj_num(lj_get(prm, "threshold")),
                                  (size_t)lj_num(lj_get(prm, "min_keep")), (uint32_t)lj_num(lj_get(prm, "seed")), err);
    if (!strcmp(kind, "top_n_sigma")) return ll_sampler_top_n_sigma_new((float)lj_num(lj_get(prm, "n")), err);
    if (!strcmp(kind, "penalties")) {
        v = lj_num(lj_get(prm, "penalty_last_n"));
        ll_penalty_params pp = {(float)lj_num(lj_get(prm, "repeat")), (float)lj_num(lj_get(prm, "freq")),
                                (float)lj_num(lj_get(prm, "present")), LL_PENALTY_SCOPE_LAST_N,
                                LL_PENALTY_SCOPE_LAST_N, (int32_t)v, LL_PROFILE_LLAMACPP};
        return ll_sampler_penalties_new(&pp, err);
    }
    if (!strcmp(kind, "dry")) {
        const lj_value *br = lj_get(prm, "seq_breakers");
        ll_token_seq seqs[8];
        int32_t toks[8][8];
        size_t nb = br ? br->n : 0;
        for (size_t b = 0; b < nb && b < 8; b++) {
            const lj_value *s = br->items[b];
            for (size_t j = 0; j < s->n && j < 8; j++) toks[b][j] = (int32_t)lj_num(s->items[j]);
            seqs[b].tokens = toks[b];
            seqs[b].n = s->n;
        }
        ll_dry_params dp = {(float)lj_num(lj_get(prm, "multiplier")), (float)lj_num(lj_get(prm, "base")),
                            (int32_t)lj_num(lj_get(prm, "allowed_length")),
                            (int32_t)lj_num(lj_get(prm, "penalty_last_n")), seqs, nb};
        return ll_sampler_dry_new(&dp, err);
    }
    return NULL;
}

static void run_single_case(const lj_value *cs, int idx) {
    const char *kind = lj_get(cs, "case")->str;
    const lj_value *prm = lj_get(cs, "params"), *out = lj_get(cs, "out");
    char label[96];
    snprintf(label, sizeof label, "case %d (%s)", idx, kind);
    size_t n;
    float *logits = logits_from_probs(lj_get(cs, "input_probs"), &n);
    ll_error err;
    ll_error_clear(&err);
    ll_chain *ch = ll_chain_new(n, &err);
    ll_sampler *s = make_stage(kind, prm, &err);
    CHECK(s != NULL, "%s: cannot build the stage: %s", label, err.message);
    if (!s) goto done;
    CHECK_OK(ll_chain_add(ch, s, &err), err);
    const lj_value *then = lj_get(prm, "then");
    bool with_dist = then && !strcmp(then->str, "dist(0)");
    if (with_dist) CHECK_OK(ll_chain_add(ch, ll_sampler_dist_new(0, LL_PROFILE_LLAMACPP, &err), &err), err);
    const lj_value *last = lj_get(prm, "last_tokens");
    if (last) {
        int32_t toks[64];
        for (size_t i = 0; i < last->n; i++) toks[i] = (int32_t)lj_num(last->items[i]);
        CHECK_OK(ll_chain_set_prompt(ch, toks, last->n, &err), err);
    }
    int32_t tok;
    ll_status st = ll_chain_apply(ch, logits, n, &tok, &err);
    CHECK_OK(st, err);
    if (st == LL_OK) check_candidates(ch, out, logits, label);
done:
    ll_chain_free(ch);
    free(logits);
}

/* n_vocab 10000, logits logf(id); the samplers of `seq` one after another,
 * each checked together with the token dist(0) would pick after it. */
static void run_sampler_queue(const lj_value *cs, int idx) {
    const lj_value *prm = lj_get(cs, "params");
    size_t n = (size_t)lj_num(lj_get(prm, "n_vocab"));
    const char *seq = lj_get(prm, "seq")->str;
    float *logits = malloc(n * sizeof *logits);
    for (size_t i = 0; i < n; i++) logits[i] = (float)log((double)i);
    const lj_value *steps = lj_get(cs, "steps");
    for (size_t k = 0; k < strlen(seq); k++) {
        ll_error err;
        ll_error_clear(&err);
        ll_chain *ch = ll_chain_new(n, &err);
        for (size_t j = 0; j <= k; j++) {
            ll_sampler *s = NULL;
            if (seq[j] == 'k') s = ll_sampler_top_k_new((int32_t)lj_num(lj_get(prm, "top_k")), 0, LL_PROFILE_LLAMACPP, &err);
            if (seq[j] == 'p') s = ll_sampler_top_p_new((float)lj_num(lj_get(prm, "top_p")), 1, LL_PROFILE_LLAMACPP, &err);
            if (seq[j] == 'm') s = ll_sampler_min_p_new((float)lj_num(lj_get(prm, "min_p")), 1, LL_PROFILE_LLAMACPP, &err);
            ll_chain_add(ch, s, &err);
        }
        ll_chain_add(ch, ll_sampler_dist_new(0, LL_PROFILE_LLAMACPP, &err), &err);
        int32_t tok = -1;
        ll_status st = ll_chain_sample(ch, logits, n, &tok, &err);
        char label[96];
        snprintf(label, sizeof label, "case %d (sampler_queue %s, step %zu)", idx, seq, k);
        CHECK_OK(st, err);
        const lj_value *want = steps->items[k];
        const ll_candidates *c = ll_chain_candidates(ch);
        CHECK(c->size == (size_t)lj_num(lj_get(want, "size")), "%s: size %zu, expected %g", label, c->size,
              lj_num(lj_get(want, "size")));
        CHECK(c->sorted == lj_get(want, "sorted")->b, "%s: sorted %d", label, c->sorted);
        if (c->size) {
            int32_t mn = INT32_MAX, mx = -1;
            for (size_t i = 0; i < c->size; i++) {
                int32_t id = ll_candidates_id(c, i);
                if (id < mn) mn = id;
                if (id > mx) mx = id;
            }
            CHECK(ll_candidates_id(c, 0) == (int32_t)lj_num(lj_get(want, "first_id")), "%s: first id %d", label,
                  ll_candidates_id(c, 0));
            CHECK(ll_candidates_id(c, c->size - 1) == (int32_t)lj_num(lj_get(want, "last_id")), "%s: last id %d",
                  label, ll_candidates_id(c, c->size - 1));
            CHECK(mn == (int32_t)lj_num(lj_get(want, "min_id")) && mx == (int32_t)lj_num(lj_get(want, "max_id")),
                  "%s: id range [%d, %d]", label, mn, mx);
        }
        CHECK(tok == (int32_t)lj_num(lj_get(want, "selected_id")), "%s: selected %d, expected %g", label, tok,
              lj_num(lj_get(want, "selected_id")));
        ll_chain_free(ch);
    }
    free(logits);
}

static void run_rng(const lj_value *cs) {
    uint32_t seed = (uint32_t)lj_num(lj_get(cs, "seed"));
    ll_mt19937 r;
    ll_mt19937_seed(&r, seed);
    const lj_value *first8 = lj_get(cs, "mt19937_first8");
    for (size_t i = 0; i < first8->n; i++) {
        uint32_t v = ll_mt19937_next(&r);
        CHECK(v == (uint32_t)lj_num(first8->items[i]), "mt19937(%u) output %zu = %u", seed, i, v);
    }
    ll_mt19937_seed(&r, seed);
    const lj_value *ud = lj_get(cs, "uniform_double_first4");
    for (size_t i = 0; i < ud->n; i++) {
        double u = ll_mt19937_canonical_double(&r);
        CHECK(u == lj_num(ud->items[i]), "canonical double(%u) %zu = %.17g", seed, i, u);
    }
    ll_mt19937_seed(&r, seed);
    const lj_value *uf = lj_get(cs, "uniform_float_first4");
    for (size_t i = 0; i < uf->n; i++) {
        float u = ll_mt19937_canonical_float(&r);
        CHECK(u == (float)lj_num(uf->items[i]), "canonical float(%u) %zu = %.9g", seed, i, (double)u);
    }
}

static void run_dist_sequence(const lj_value *cs) {
    const lj_value *lg = lj_get(cs, "logits"), *want = lj_get(cs, "selected_ids_16_draws");
    size_t n = lg->n;
    float logits[16];
    for (size_t i = 0; i < n; i++) logits[i] = (float)lj_num(lg->items[i]);
    ll_error err;
    ll_chain *ch = ll_chain_new(n, &err);
    ll_chain_add(ch, ll_sampler_dist_new((uint32_t)lj_num(lj_get(cs, "seed")), LL_PROFILE_LLAMACPP, &err), &err);
    for (size_t i = 0; i < want->n; i++) {
        int32_t tok;
        CHECK_OK(ll_chain_sample(ch, logits, n, &tok, &err), err);
        CHECK(tok == (int32_t)lj_num(want->items[i]), "dist_sequence %s draw %zu: %d, expected %g",
              lj_get(cs, "name")->str, i, tok, lj_num(want->items[i]));
    }
    ll_chain_free(ch);
}

static void run_penalty_logits(const lj_value *cs) {
    const char *kind = lj_get(cs, "case")->str;
    const lj_value *in = lj_get(cs, "input_logits"), *acc = lj_get(cs, "accepted"), *out = lj_get(cs, "out_logits");
    size_t n = in->n;
    float logits[16];
    for (size_t i = 0; i < n; i++) logits[i] = (float)lj_num(in->items[i]);
    ll_error err;
    ll_chain *ch = ll_chain_new(n, &err);
    ll_penalty_params pp = {(float)lj_num(lj_get(cs, "repeat")), (float)lj_num(lj_get(cs, "freq")),
                            (float)lj_num(lj_get(cs, "present")), LL_PENALTY_SCOPE_LAST_N, LL_PENALTY_SCOPE_LAST_N,
                            (int32_t)lj_num(lj_get(cs, "penalty_last_n")), LL_PROFILE_LLAMACPP};
    CHECK_OK(ll_chain_add(ch, ll_sampler_penalties_new(&pp, &err), &err), err);
    for (size_t i = 0; i < acc->n; i++) ll_chain_accept(ch, (int32_t)lj_num(acc->items[i]), &err);
    int32_t tok;
    CHECK_OK(ll_chain_apply(ch, logits, n, &tok, &err), err);
    const ll_candidates *c = ll_chain_candidates(ch);
    for (size_t i = 0; i < n; i++)
        CHECK(c->logit[i] == (float)lj_num(out->items[i]), "%s: logit[%zu] = %.9g, expected %.9g", kind, i,
              (double)c->logit[i], lj_num(out->items[i]));
    ll_chain_free(ch);
}

static void run_logit_bias(const lj_value *cs) {
    const lj_value *in = lj_get(cs, "input_logits"), *bias = lj_get(cs, "bias"), *out = lj_get(cs, "out_logits");
    size_t n = in->n;
    float logits[16];
    for (size_t i = 0; i < n; i++) logits[i] = (float)lj_num(in->items[i]);
    ll_token_bias b[8];
    size_t nb = 0, n_in_range = 0;
    for (size_t i = 0; i < bias->n; i++) {
        b[nb].token = (int32_t)lj_num(bias->items[i]->items[0]);
        b[nb].bias = (float)lj_num(bias->items[i]->items[1]);
        if ((size_t)b[nb].token < n) n_in_range++;
        nb++;
    }
    ll_error err;
    /* llama.cpp silently ignores an id outside the vocabulary; logitlab
     * rejects it with a message naming the id and the valid range */
    ll_sampler *bad = ll_sampler_logit_bias_new(b, nb, n, &err);
    CHECK(bad == NULL && strstr(err.message, "out of range"), "out-of-vocabulary bias must be rejected");
    ll_sampler_free(bad);
    ll_token_bias ok[8];
    size_t nok = 0;
    for (size_t i = 0; i < nb; i++)
        if ((size_t)b[i].token < n) ok[nok++] = b[i];
    CHECK(nok == n_in_range, "bias split");
    ll_chain *ch = ll_chain_new(n, &err);
    CHECK_OK(ll_chain_add(ch, ll_sampler_logit_bias_new(ok, nok, n, &err), &err), err);
    int32_t tok;
    CHECK_OK(ll_chain_apply(ch, logits, n, &tok, &err), err);
    const ll_candidates *c = ll_chain_candidates(ch);
    for (size_t i = 0; i < n; i++)
        CHECK(c->logit[i] == (float)lj_num(out->items[i]), "logit_bias: logit[%zu] = %g", i, (double)c->logit[i]);
    ll_chain_free(ch);
}

static void fill_named_logits(const char *spec, float *l, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(spec, "logf(1..10) for ids 0..9")) l[i] = (float)log((double)(i + 1));
        else l[i] = -1.5f * (float)log((double)(i + 1));
    }
}

static void run_mirostat(const lj_value *cs) {
    const char *kind = lj_get(cs, "case")->str;
    bool v1 = !strncmp(kind, "mirostat_v1", 11);
    const char *spec = lj_get(cs, "logits")->str;
    size_t n = strstr(spec, "0..99") ? 100 : 10;
    float logits[100];
    fill_named_logits(spec, logits, n);
    const lj_value *want = lj_get(cs, "selected_ids_8_steps");
    if (!want) want = lj_get(cs, "selected_ids_12_steps");
    const lj_value *left = lj_get(cs, "candidates_left");
    ll_error err;
    ll_chain *ch = ll_chain_new(n, &err);
    uint32_t seed = (uint32_t)lj_num(lj_get(cs, "seed"));
    float tau = (float)lj_num(lj_get(cs, "tau")), eta = (float)lj_num(lj_get(cs, "eta"));
    ll_sampler *s = v1 ? ll_sampler_mirostat_new((int32_t)lj_num(lj_get(cs, "n_vocab")), seed, tau, eta,
                                                 (int32_t)lj_num(lj_get(cs, "m")), &err)
                       : ll_sampler_mirostat_v2_new(seed, tau, eta, &err);
    CHECK_OK(ll_chain_add(ch, s, &err), err);
    for (size_t i = 0; i < want->n; i++) {
        int32_t tok;
        CHECK_OK(ll_chain_sample(ch, logits, n, &tok, &err), err);
        CHECK(tok == (int32_t)lj_num(want->items[i]), "%s step %zu: %d, expected %g", kind, i, tok,
              lj_num(want->items[i]));
        const ll_candidates *c = ll_chain_candidates(ch);
        CHECK(c->size == (size_t)lj_num(left->items[i]), "%s step %zu: %zu candidates left, expected %g", kind, i,
              c->size, lj_num(left->items[i]));
        ll_chain_accept(ch, tok, &err);
    }
    ll_chain_free(ch);
}

static void run_hashed_chain(const lj_value *cs) {
    size_t n = (size_t)lj_num(lj_get(cs, "n_vocab"));
    float *logits = malloc(n * sizeof *logits);
    for (size_t i = 0; i < n; i++) {
        uint32_t x = (uint32_t)((uint32_t)i * 2654435761u);
        logits[i] = (float)((double)x / 4294967296.0 * 10.0 - 5.0);
    }
    const char *spec = lj_get(cs, "chain")->str;
    ll_error err;
    ll_chain *ch = ll_chain_new(n, &err);
    const ll_profile L = LL_PROFILE_LLAMACPP;
    ll_penalty_params pp = {1.1f, 0, 0, LL_PENALTY_SCOPE_LAST_N, LL_PENALTY_SCOPE_LAST_N, 64, L};
    if (!strncmp(spec, "default_common_chain", 20)) {
        ll_chain_add(ch, ll_sampler_top_k_new(40, 0, L, &err), &err);
        ll_chain_add(ch, ll_sampler_top_p_new(0.95f, 0, L, &err), &err);
        ll_chain_add(ch, ll_sampler_min_p_new(0.05f, 0, L, &err), &err);
        ll_chain_add(ch, ll_sampler_dynatemp_new(0.8f, 0, 1, &err), &err);
        ll_chain_add(ch, ll_sampler_dist_new(42, L, &err), &err);
    } else if (!strncmp(spec, "penalties(64,1.1", 16)) {
        ll_chain_add(ch, ll_sampler_penalties_new(&pp, &err), &err);
        ll_chain_add(ch, ll_sampler_top_k_new(40, 0, L, &err), &err);
        ll_chain_add(ch, ll_sampler_top_p_new(0.95f, 1, L, &err), &err);
        ll_chain_add(ch, ll_sampler_min_p_new(0.05f, 1, L, &err), &err);
        ll_chain_add(ch, ll_sampler_temperature_new(0.8f, L, &err), &err);
        ll_chain_add(ch, ll_sampler_dist_new(42, L, &err), &err);
    } else if (!strncmp(spec, "top_k(50)", 9)) {
        ll_chain_add(ch, ll_sampler_top_k_new(50, 0, L, &err), &err);
        ll_chain_add(ch, ll_sampler_top_p_new(0.9f, 1, L, &err), &err);
        ll_chain_add(ch, ll_sampler_temperature_new(0.7f, L, &err), &err);
        ll_chain_add(ch, ll_sampler_dist_new(42, L, &err), &err);
    } else {
        ll_penalty_params pp2 = {1.5f, 0.2f, 0.3f, LL_PENALTY_SCOPE_LAST_N, LL_PENALTY_SCOPE_LAST_N, 64, L};
        ll_chain_add(ch, ll_sampler_penalties_new(&pp2, &err), &err);
        ll_chain_add(ch, ll_sampler_greedy_new(&err), &err);
    }
    const lj_value *want = lj_get(cs, "selected_ids_24_steps"), *left = lj_get(cs, "candidates_left");
    for (size_t i = 0; i < want->n; i++) {
        int32_t tok;
        CHECK_OK(ll_chain_sample(ch, logits, n, &tok, &err), err);
        CHECK(tok == (int32_t)lj_num(want->items[i]), "chain %s step %zu: %d, expected %g", spec, i, tok,
              lj_num(want->items[i]));
        CHECK(ll_chain_candidates(ch)->size == (size_t)lj_num(left->items[i]), "chain %s step %zu: %zu left", spec, i,
              ll_chain_candidates(ch)->size);
        ll_chain_accept(ch, tok, &err);
    }
    const lj_value *top5 = lj_get(cs, "raw_top5");
    for (size_t i = 0; i < top5->n; i++)
        CHECK(logits[(size_t)lj_num(top5->items[i]->items[0])] == (float)lj_num(top5->items[i]->items[1]),
              "hashed logits differ at rank %zu", i);
    ll_chain_free(ch);
    free(logits);
}

static void run_float_boundary(const lj_value *cs) {
    /* sorted softmax and its float prefix sums, as llama.cpp computes them */
    size_t n;
    float *logits = logits_from_probs(lj_get(cs, "input_probs"), &n);
    ll_error err;
    ll_chain *ch = ll_chain_new(n, &err);
    ll_chain_add(ch, ll_sampler_top_p_new(0.7f, 0, LL_PROFILE_LLAMACPP, &err), &err);
    int32_t tok;
    CHECK_OK(ll_chain_apply(ch, logits, n, &tok, &err), err);
    const ll_candidates *c = ll_chain_candidates(ch);
    const lj_value *sp = lj_get(cs, "softmax_p_sorted"), *cum = lj_get(cs, "float_cumsum");
    float run = 0.0f;
    for (size_t i = 0; i < c->size; i++) {
        CHECK(c->p[i] == (float)lj_num(sp->items[i]), "boundary p[%zu] = %.9g", i, (double)c->p[i]);
        run += c->p[i];
        CHECK(run == (float)lj_num(cum->items[i]), "boundary cumsum[%zu] = %.9g", i, (double)run);
    }
    CHECK(c->size == 2, "p = 0.7f keeps exactly 2 (cum 0.699999988 >= 0.7f), kept %zu", c->size);
    ll_chain_free(ch);
    free(logits);
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/llamacpp-sampling-vectors.jsonl", tu_shared());
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s: the shared test data is required\n", path);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int idx = 0, cases = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        ll_error err;
        lj_doc *d = lj_parse(line, (size_t)len, &err);
        CHECK(d != NULL, "line %d: %s", idx, err.message);
        if (!d) continue;
        const lj_value *cs = lj_root(d);
        const char *kind = lj_get(cs, "case")->str;
        cases++;
        if (!strcmp(kind, "sampler_queue")) run_sampler_queue(cs, idx);
        else if (!strcmp(kind, "rng")) run_rng(cs);
        else if (!strcmp(kind, "dist_sequence")) run_dist_sequence(cs);
        else if (!strcmp(kind, "penalties_mixed_sign") || !strcmp(kind, "penalties_window")) run_penalty_logits(cs);
        else if (!strcmp(kind, "logit_bias")) run_logit_bias(cs);
        else if (!strncmp(kind, "mirostat", 8)) run_mirostat(cs);
        else if (!strcmp(kind, "chain_hashed_logits")) run_hashed_chain(cs);
        else if (!strcmp(kind, "top_p_float_boundary")) run_float_boundary(cs);
        else run_single_case(cs, idx);
        lj_free(d);
        idx++;
    }
    free(line);
    fclose(f);
    CHECK(cases == 93, "expected 93 cases, read %d", cases);
    return tu_finish("llama.cpp vectors");
}
