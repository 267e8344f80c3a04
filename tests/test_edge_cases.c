/*
 * test_edge_cases.c - the corners of the sampling pipeline: a one-token
 * vocabulary, everything banned, NaN and +inf input, k larger than the
 * vocabulary, p = 0 and p = 1, ties, min_keep, an empty history, bad
 * parameters (each error names the value and the valid range), and the
 * fast large-vocabulary paths checked against plain reference code.
 */
#include "sampling/chain_impl.h"
#include "test_util.h"

static ll_chain *chain_of(size_t n_vocab, ll_sampler **stages, size_t n) {
    ll_error err;
    ll_chain *ch = ll_chain_new(n_vocab, &err);
    for (size_t i = 0; i < n; i++) {
        ll_status st = ll_chain_add(ch, stages[i], &err);
        CHECK(st == LL_OK, "adding stage %zu: %s", i, err.message);
    }
    return ch;
}

#define CHAIN(V, ...)                                                   \
    chain_of((V), (ll_sampler *[]){__VA_ARGS__},                        \
             sizeof((ll_sampler *[]){__VA_ARGS__}) / sizeof(ll_sampler *))

static const ll_profile L = LL_PROFILE_LLAMACPP, H = LL_PROFILE_HF;

static void test_single_token_vocab(void) {
    for (int prof = 0; prof < LL_PROFILE_COUNT; prof++) {
        ll_sampling_params p;
        ll_sampling_params_init(&p, (ll_profile)prof);
        p.do_sample = 1;
        ll_error err;
        ll_chain *ch = ll_chain_from_params(&p, 1, &err);
        CHECK(ch != NULL, "profile %d with V=1: %s", prof, err.message);
        if (!ch) continue;
        float l = 0.3f;
        int32_t tok = -1;
        CHECK_OK(ll_chain_sample(ch, &l, 1, &tok, &err), err);
        CHECK(tok == 0, "V=1 must select token 0, got %d", tok);
        ll_chain_free(ch);
    }
}

static void test_all_banned(void) {
    float l[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    ll_error err;
    ll_chain *ch = CHAIN(4, ll_sampler_dist_new(1, L, &err));
    int32_t tok;
    ll_status st = ll_chain_sample(ch, l, 4, &tok, &err);
    CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "no token can be selected"), "all -inf: %s",
          err.message);
    ll_chain_free(ch);
    ch = CHAIN(4, ll_sampler_greedy_new(&err));
    st = ll_chain_sample(ch, l, 4, &tok, &err);
    CHECK(st != LL_OK, "greedy on all -inf must fail");
    ll_chain_free(ch);
    /* a ban of every token through logit_bias ends the same way */
    float ok[2] = {1, 2};
    ll_token_bias b[2] = {{0, -INFINITY}, {1, -INFINITY}};
    ch = CHAIN(2, ll_sampler_logit_bias_new(b, 2, 2, &err), ll_sampler_dist_new(1, L, &err));
    CHECK(ll_chain_sample(ch, ok, 2, &tok, &err) != LL_OK, "everything banned must be an error");
    ll_chain_free(ch);
}

static void test_invalid_logits(void) {
    float l[5] = {0, 1, NAN, 2, 3};
    ll_error err;
    ll_chain *ch = CHAIN(5, ll_sampler_greedy_new(&err));
    int32_t tok;
    ll_status st = ll_chain_sample(ch, l, 5, &tok, &err);
    CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "logit[2] = nan"), "NaN: %s", err.message);
    l[2] = INFINITY;
    st = ll_chain_sample(ch, l, 5, &tok, &err);
    CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "logit[2] = inf"), "+inf: %s", err.message);
    l[2] = -INFINITY;
    CHECK_OK(ll_chain_sample(ch, l, 5, &tok, &err), err);
    CHECK(tok == 4, "greedy picks the maximum, got %d", tok);
    st = ll_chain_sample(ch, l, 4, &tok, &err);
    CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "vocabulary of 5"), "size mismatch: %s", err.message);
    ll_chain_free(ch);
}

static void test_k_larger_than_vocab(void) {
    float l[5] = {0.5f, 2, -1, 3, 1};
    ll_error err;
    ll_chain *ch = CHAIN(5, ll_sampler_top_k_new(100, 0, L, &err));
    int32_t tok;
    CHECK_OK(ll_chain_apply(ch, l, 5, &tok, &err), err);
    const ll_candidates *c = ll_chain_candidates(ch);
    CHECK(c->size == 5 && c->sorted, "llama.cpp top_k(100) on V=5 keeps 5, sorted");
    CHECK(ll_candidates_id(c, 0) == 3 && ll_candidates_id(c, 4) == 2, "sorted descending");
    ll_chain_free(ch);
    ch = CHAIN(5, ll_sampler_top_k_new(100, 1, H, &err));
    CHECK_OK(ll_chain_apply(ch, l, 5, &tok, &err), err);
    c = ll_chain_candidates(ch);
    CHECK(c->size == 5 && ll_candidates_id(c, 0) == 0, "hf top_k(100) on V=5 removes nothing, order untouched");
    ll_chain_free(ch);
}

static void test_p_zero_and_one(void) {
    float l[5] = {1, 2, 3, 0.5f, 2.5f};
    ll_error err;
    int32_t tok;
    for (int sem = 0; sem < 2; sem++) {
        ll_profile s = sem ? H : L;
        ll_chain *ch = CHAIN(5, ll_sampler_top_p_new(0.0, 1, s, &err));
        CHECK_OK(ll_chain_apply(ch, l, 5, &tok, &err), err);
        const ll_candidates *c = ll_chain_candidates(ch);
        CHECK(c->size == 1 && ll_candidates_id(c, 0) == 2, "top_p=0 keeps the argmax (profile %d)", sem);
        ll_chain_free(ch);
        ll_sampler *one = ll_sampler_top_p_new(1.0, 1, s, &err);
        CHECK(one && (ll_sampler_flags(one) & LL_SAMPLER_NOOP), "top_p=1 is a no-op (profile %d)", sem);
        ll_sampler_free(one);
    }
    ll_sampler *mp = ll_sampler_min_p_new(0.0, 0, L, &err);
    CHECK(mp && (ll_sampler_flags(mp) & LL_SAMPLER_NOOP), "min_p=0 is a no-op in llama.cpp");
    ll_sampler_free(mp);
}

static void test_ties(void) {
    float l[6] = {1, 3, 3, 2, 3, 0};
    ll_error err;
    int32_t tok;
    ll_chain *ch = CHAIN(6, ll_sampler_greedy_new(&err));
    CHECK_OK(ll_chain_sample(ch, l, 6, &tok, &err), err);
    CHECK(tok == 1, "greedy takes the first maximum, got %d", tok);
    ll_chain_free(ch);
    ch = CHAIN(6, ll_sampler_top_k_new(1, 0, L, &err));
    CHECK_OK(ll_chain_apply(ch, l, 6, &tok, &err), err);
    CHECK(ll_chain_candidates(ch)->size == 1 && ll_candidates_id(ll_chain_candidates(ch), 0) == 1,
          "llama.cpp top_k(1) keeps exactly one: the lowest position of the tie");
    ll_chain_free(ch);
    ch = CHAIN(6, ll_sampler_top_k_new(1, 1, H, &err));
    CHECK_OK(ll_chain_apply(ch, l, 6, &tok, &err), err);
    CHECK(ll_chain_candidates(ch)->size == 3, "hf top_k(1) keeps every token tied with the k-th: %zu",
          ll_chain_candidates(ch)->size);
    ll_chain_free(ch);
}

static void test_min_keep(void) {
    float l[5] = {10, 0, -1, -2, -3};
    ll_error err;
    int32_t tok;
    ll_chain *ch = CHAIN(5, ll_sampler_top_p_new(0.1, 3, L, &err));
    CHECK_OK(ll_chain_apply(ch, l, 5, &tok, &err), err);
    CHECK(ll_chain_candidates(ch)->size == 3, "top_p with min_keep 3 keeps 3");
    ll_chain_free(ch);
    ch = CHAIN(5, ll_sampler_min_p_new(0.5, 2, L, &err));
    CHECK_OK(ll_chain_apply(ch, l, 5, &tok, &err), err);
    CHECK(ll_chain_candidates(ch)->size == 2, "min_p with min_keep 2 keeps 2");
    ll_chain_free(ch);
    ch = CHAIN(5, ll_sampler_typical_new(0.01, 4, H, &err));
    CHECK_OK(ll_chain_apply(ch, l, 5, &tok, &err), err);
    CHECK(ll_chain_candidates(ch)->size >= 4, "hf typical with min_keep 4 keeps >= 4");
    ll_chain_free(ch);
}

static void test_empty_history(void) {
    float l[4] = {1, -1, 0.5f, 2};
    ll_error err;
    int32_t tok;
    ll_penalty_params pp = {1.3f, 0.5f, 0.5f, LL_PENALTY_SCOPE_LAST_N, LL_PENALTY_SCOPE_LAST_N, 64, L};
    ll_chain *ch = CHAIN(4, ll_sampler_penalties_new(&pp, &err), ll_sampler_no_repeat_ngram_new(2, &err),
                         ll_sampler_min_length_new(0, 3, (int32_t[]){3}, 1, &err));
    CHECK_OK(ll_chain_apply(ch, l, 4, &tok, &err), err);
    const ll_candidates *c = ll_chain_candidates(ch);
    CHECK(c->logit[0] == 1 && c->logit[1] == -1 && c->logit[2] == 0.5f, "nothing to penalise without history");
    CHECK(c->logit[3] == -INFINITY, "EOS suppressed before min_new_tokens");
    ll_chain_free(ch);
}

static void expect_error(ll_sampler *s, const ll_error *err, const char *needle) {
    CHECK(s == NULL, "expected an error containing '%s'", needle);
    if (s) {
        ll_sampler_free(s);
        return;
    }
    CHECK(strstr(err->message, needle) != NULL, "message '%s' should contain '%s'", err->message, needle);
}

static void test_validation_messages(void) {
    ll_error err;
    expect_error(ll_sampler_top_p_new(1.7, 1, L, &err), &err, "top_p = 1.7 is out of range: valid is [0, 1]");
    expect_error(ll_sampler_temperature_new(-1, L, &err), &err, "temperature = -1");
    expect_error(ll_sampler_temperature_new(NAN, L, &err), &err, "not a finite number");
    expect_error(ll_sampler_temperature_new(0, H, &err), &err, "strictly positive");
    expect_error(ll_sampler_top_k_new(-5, 0, LL_PROFILE_OPENAI, &err), &err, "top_k = -5");
    expect_error(ll_sampler_min_p_new(-0.1, 0, L, &err), &err, "min_p = -0.1");
    expect_error(ll_sampler_min_p_new(1.5, 1, H, &err), &err, "valid is [0, 1]");
    expect_error(ll_sampler_typical_new(0, 1, H, &err), &err, "typical_p = 0");
    ll_penalty_params pp = {0, 0, 0, LL_PENALTY_SCOPE_ALL, LL_PENALTY_SCOPE_ALL, 0, H};
    expect_error(ll_sampler_penalties_new(&pp, &err), &err, "repetition_penalty = 0");
    pp.repetition = 1.0f;
    pp.frequency = INFINITY;
    expect_error(ll_sampler_penalties_new(&pp, &err), &err, "frequency_penalty");
    expect_error(ll_sampler_logit_bias_new((ll_token_bias[]){{9, 1}}, 1, 5, &err), &err,
                 "token id 9 is out of range: valid is [0, 5)");
    expect_error(ll_sampler_no_repeat_ngram_new(0, &err), &err, "no_repeat_ngram_size = 0");
    expect_error(ll_sampler_xtc_new(1.5f, 0.1f, 0, 1, &err), &err, "xtc_probability = 1.5");
    expect_error(ll_sampler_min_length_new(-2, 0, (int32_t[]){1}, 1, &err), &err, "min_length = -2");
    expect_error(ll_sampler_llama2c_top_p_new(0.9f, 0, &err), &err, "seed = 0");
}

static void test_determinism(void) {
    float l[50];
    for (int i = 0; i < 50; i++) l[i] = (float)((i * 37) % 23) / 5.0f;
    ll_error err;
    int32_t a[100], b[100];
    for (int run = 0; run < 2; run++) {
        ll_chain *ch = CHAIN(50, ll_sampler_top_k_new(20, 0, L, &err), ll_sampler_temperature_new(1.3f, L, &err),
                             ll_sampler_dist_new(7, L, &err));
        for (int i = 0; i < 100; i++) ll_chain_sample(ch, l, 50, run ? &b[i] : &a[i], &err);
        if (run == 1) {
            ll_chain_reset(ch);
            int32_t again;
            ll_chain_sample(ch, l, 50, &again, &err);
            CHECK(again == a[0], "reset restarts the random stream");
        }
        ll_chain_free(ch);
    }
    CHECK(memcmp(a, b, sizeof a) == 0, "the same seed gives the same tokens");
    int distinct = 0;
    for (int i = 1; i < 100; i++) distinct += a[i] != a[0];
    CHECK(distinct > 10, "sampling actually varies (%d of 99 differ from the first)", distinct);
}

/* ---- large vocabularies: the fast paths against plain reference code ---- */

static uint64_t st = 12345;
static double unif(void) {
    st ^= st << 13;
    st ^= st >> 7;
    st ^= st << 17;
    return (double)(st >> 11) * 0x1p-53;
}

static int cmp_desc(const void *a, const void *b) {
    const float *x = *(const float *const *)a, *y = *(const float *const *)b;
    if (*x != *y) return *x > *y ? -1 : 1;
    return x < y ? -1 : x > y; /* ties: lower position first */
}

static void test_large_vocab_paths(void) {
    const size_t V = 128256;
    float *l = malloc(V * sizeof *l);
    const float **order = malloc(V * sizeof *order);
    ll_error err;
    for (int trial = 0; trial < 6; trial++) {
        for (size_t i = 0; i < V; i++) {
            double g = sqrt(-2 * log(unif() + 1e-300)) * cos(6.283185307179586 * unif());
            l[i] = trial == 3 ? (float)(int)(g * 2) : (float)(3.0 * g); /* trial 3: heavy ties */
            if (trial == 4 && unif() < 0.5) l[i] = -INFINITY;
        }
        for (size_t i = 0; i < V; i++) order[i] = &l[i];
        qsort(order, V, sizeof *order, cmp_desc);
        size_t ks[] = {1, 40, 1000, 20000};
        for (size_t ki = 0; ki < 4; ki++) {
            ll_chain *ch = CHAIN(V, ll_sampler_top_k_new((int32_t)ks[ki], 0, L, &err));
            int32_t tok;
            CHECK_OK(ll_chain_apply(ch, l, V, &tok, &err), err);
            const ll_candidates *c = ll_chain_candidates(ch);
            bool same = c->size == ks[ki];
            for (size_t i = 0; same && i < c->size; i++) same = ll_candidates_id(c, i) == (int32_t)(order[i] - l);
            CHECK(same, "top_k(%zu) on V=%zu (trial %d) equals a full sort", ks[ki], V, trial);
            ll_chain_free(ch);
        }
        /* greedy: first maximum */
        ll_chain *ch = CHAIN(V, ll_sampler_greedy_new(&err));
        int32_t tok;
        ll_chain_sample(ch, l, V, &tok, &err);
        CHECK(tok == (int32_t)(order[0] - l), "greedy on V=%zu (trial %d)", V, trial);
        ll_chain_free(ch);
        /* llama.cpp top_p on the full vocabulary: float softmax in array
         * order, then the sorted prefix until cum >= p */
        double pv = 0.9;
        ch = CHAIN(V, ll_sampler_top_p_new(pv, 0, L, &err));
        ll_chain_apply(ch, l, V, &tok, &err);
        float mx = *order[0], sum = 0.0f;
        float *e = malloc(V * sizeof *e);
        for (size_t i = 0; i < V; i++) sum += (e[i] = ll_expf(l[i] - mx));
        float cum = 0.0f;
        size_t keep = V;
        for (size_t i = 0; i < V; i++) {
            cum += e[order[i] - l] / sum;
            if (cum >= (float)pv) {
                keep = i + 1;
                break;
            }
        }
        CHECK(ll_chain_candidates(ch)->size == keep, "llama.cpp top_p(0.9) on V=%zu (trial %d): %zu vs %zu", V, trial,
              ll_chain_candidates(ch)->size, keep);
        ll_chain_free(ch);
        /* llama.cpp dist over the whole vocabulary: the block-skipping walk
         * picks what the plain sequential walk picks */
        ch = CHAIN(V, ll_sampler_dist_new(99, L, &err));
        ll_mt19937 r;
        ll_mt19937_seed(&r, 99);
        for (int draw = 0; draw < 20; draw++) {
            ll_chain_sample(ch, l, V, &tok, &err);
            double S = 0;
            for (size_t i = 0; i < V; i++) S += e[i];
            double u = ll_mt19937_canonical_double(&r), run = 0, target = S * u;
            int32_t want = (int32_t)V - 1;
            for (size_t i = 0; i < V; i++) {
                run += e[i];
                if (run >= target) {
                    want = (int32_t)i;
                    break;
                }
            }
            CHECK(tok == want, "dist on V=%zu (trial %d, draw %d): %d vs %d", V, trial, draw, tok, want);
        }
        ll_chain_free(ch);
        free(e);
        /* min_p (llama.cpp): every logit >= max + log(p), in id order */
        ch = CHAIN(V, ll_sampler_min_p_new(0.05, 0, L, &err));
        ll_chain_apply(ch, l, V, &tok, &err);
        float thr = mx + logf(0.05f);
        size_t n_ok = 0;
        for (size_t i = 0; i < V; i++) n_ok += l[i] >= thr;
        const ll_candidates *c = ll_chain_candidates(ch);
        bool in_order = true;
        for (size_t i = 1; i < c->size; i++) in_order &= ll_candidates_id(c, i) > ll_candidates_id(c, i - 1);
        CHECK(c->size == n_ok && in_order, "min_p on V=%zu keeps %zu in id order (got %zu)", V, n_ok, c->size);
        ll_chain_free(ch);
    }
    free(order);
    free(l);
}

/* The penalties stage visits only the window; the result must be what
 * llama.cpp's loop over every candidate gives. */
static void test_penalties_window_equivalence(void) {
    const size_t V = 1000;
    float l[1000], ref[1000];
    ll_error err;
    for (size_t i = 0; i < V; i++) l[i] = (float)(unif() * 8 - 4);
    ll_penalty_params pp = {1.15f, 0.3f, 0.2f, LL_PENALTY_SCOPE_LAST_N, LL_PENALTY_SCOPE_LAST_N, 32, L};
    ll_chain *ch = CHAIN(V, ll_sampler_penalties_new(&pp, &err));
    int32_t hist[300];
    for (int i = 0; i < 300; i++) hist[i] = (int32_t)(unif() * 60);
    ll_chain_set_prompt(ch, hist, 100, &err);
    for (int i = 100; i < 300; i++) ll_chain_accept(ch, hist[i], &err);
    int32_t tok;
    CHECK_OK(ll_chain_apply(ch, l, V, &tok, &err), err);
    int count[1000] = {0};
    for (int i = 300 - 32; i < 300; i++) count[hist[i]]++;
    for (size_t i = 0; i < V; i++) {
        float x = l[i];
        if (count[i] > 0) {
            x = x <= 0 ? x * 1.15f : x / 1.15f;
            x -= (float)count[i] * 0.3f + 0.2f;
        }
        ref[i] = x;
    }
    CHECK(memcmp(ll_chain_candidates(ch)->logit, ref, sizeof ref) == 0, "penalties over the last 32 tokens");
    ll_chain_free(ch);
}

static void test_trace(void) {
    float l[6] = {3, 2, 1, 0, -1, -2};
    ll_error err;
    ll_chain *ch = CHAIN(6, ll_sampler_top_k_new(2, 0, L, &err), ll_sampler_temperature_new(0.5f, L, &err),
                         ll_sampler_dist_new(3, L, &err));
    ll_trace *tr = ll_trace_new(4, &err);
    ll_chain_set_trace(ch, tr);
    int32_t tok;
    CHECK_OK(ll_chain_sample(ch, l, 6, &tok, &err), err);
    CHECK(ll_trace_n_stages(tr) == 3, "three stages traced");
    const ll_trace_stage *s0 = ll_trace_stage_at(tr, 0);
    double z = 0;
    for (int i = 0; i < 6; i++) z += exp(l[i]);
    double removed = (exp(1) + exp(0) + exp(-1) + exp(-2)) / z;
    CHECK(s0->n_before == 6 && s0->n_after == 2, "top_k counts %zu -> %zu", s0->n_before, s0->n_after);
    CHECK(fabs(s0->mass_removed - removed) < 1e-6, "mass removed %.9f vs %.9f", s0->mass_removed, removed);
    CHECK(s0->top_before[0].id == 0 && fabs(s0->top_before[0].p - exp(3) / z) < 1e-6, "top token before");
    CHECK(fabs(s0->top_after[0].p - exp(3) / (exp(3) + exp(2))) < 1e-6, "renormalised after");
    const ll_trace_stage *s1 = ll_trace_stage_at(tr, 1);
    CHECK(s1->entropy_after < s1->entropy_before && s1->mass_removed == 0.0, "temperature < 1 sharpens");
    const ll_trace_stage *s2 = ll_trace_stage_at(tr, 2);
    CHECK(s2->selected == tok, "the selecting stage records the token");
    ll_trace_free(tr);
    ll_chain_free(ch);
}

/* Whenever a stage leaves the array marked sorted it must be sorted: later
 * stages trust the flag. HF top_k without ties once gathered in id order
 * and marked it sorted, so HF top_k -> top_p measured the wrong prefix. */
static void test_sorted_flag_after_each_stage(void) {
    enum { V = 200 };
    float l[V];
    uint64_t x = 12345;
    for (size_t i = 0; i < V; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        l[i] = (float)((double)(x >> 11) * 0x1p-53 * 4.0 - 2.0);
    }
    l[137] = 9.0f; /* one dominant token: p ~ 0.9 */
    ll_error err;
    int32_t tok;
    ll_profile profs[2] = {L, H};
    for (int k = 0; k < 2; k++) {
        ll_chain *ch = CHAIN(V, ll_sampler_top_k_new(40, 1, profs[k], &err));
        CHECK_OK(ll_chain_apply(ch, l, V, &tok, &err), err);
        const ll_candidates *c = ll_chain_candidates(ch);
        bool ok = c->size == 40 && c->sorted;
        for (size_t i = 1; ok && i < c->size; i++) ok = c->logit[i - 1] >= c->logit[i];
        CHECK(ok, "%s top_k(40): 40 candidates, marked sorted and really sorted",
              k ? "hf" : "llama.cpp");
        ll_chain_free(ch);
        ch = CHAIN(V, ll_sampler_top_k_new(40, 1, profs[k], &err), ll_sampler_top_p_new(0.5, 1, profs[k], &err));
        CHECK_OK(ll_chain_apply(ch, l, V, &tok, &err), err);
        c = ll_chain_candidates(ch);
        CHECK(c->size == 1 && ll_candidates_id(c, 0) == 137, "%s top_k(40) -> top_p(0.5) keeps the dominant token only (%zu)",
              k ? "hf" : "llama.cpp", c->size);
        ll_chain_free(ch);
    }
}

int main(void) {
    test_sorted_flag_after_each_stage();
    test_single_token_vocab();
    test_all_banned();
    test_invalid_logits();
    test_k_larger_than_vocab();
    test_p_zero_and_one();
    test_ties();
    test_min_keep();
    test_empty_history();
    test_validation_messages();
    test_determinism();
    test_large_vocab_paths();
    test_penalties_window_equivalence();
    test_trace();
    return tu_finish("edge cases");
}
