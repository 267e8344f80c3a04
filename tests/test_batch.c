/*
 * test_batch.c - ll_decode_batch, the step a server takes over rows of
 * several contexts: every row's logits are bit for bit what the same
 * sequence gives alone (ll_context_decode, ll_context_decode_tree),
 * whoever shares the step; the contexts advance as if decoded alone;
 * bad rows are errors naming the row, and a stopped step leaves every
 * context as it was. The work context's threads also run a server's
 * other work between steps (ll_context_parallel_for).
 */
#include <stdatomic.h>

#include "test_util.h"

#define N_SEQ 5
#define N_GEN 6

static const int32_t prompt_len[N_SEQ] = {1, 3, 8, 9, 40}; /* both sides of the 8-row boundary */

static void make_prompt(size_t s, size_t V, int32_t *out) {
    for (int32_t i = 0; i < prompt_len[s]; i++) out[i] = (int32_t)((7 + 13 * s + 31 * (size_t)i) % V);
}

static int32_t argmax(const float *x, size_t n) {
    size_t b = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return (int32_t)b;
}

/* Each sequence alone: its prompt, then N_GEN greedy tokens one at a time. */
static void alone(const ll_model *m, size_t V, float *logits /* [N_SEQ][N_GEN + 1][V] */, int32_t *gen) {
    ll_error err;
    int32_t p[64];
    for (size_t s = 0; s < N_SEQ; s++) {
        ll_context *c = ll_context_new(m, 128, 2, &err);
        CHECK(c != NULL, "%s", err.message);
        if (!c) return;
        make_prompt(s, V, p);
        float *lg = logits + s * (N_GEN + 1) * V;
        CHECK_OK(ll_context_decode(c, p, (size_t)prompt_len[s], lg, NULL, &err), err);
        for (size_t g = 0; g < N_GEN; g++) {
            int32_t t = gen[s * N_GEN + g] = argmax(lg + g * V, V);
            CHECK_OK(ll_context_decode(c, &t, 1, lg + (g + 1) * V, NULL, &err), err);
        }
        ll_context_free(c);
    }
}

/* All sequences in one step per token: the prompts share the first step
 * (with a work context that owns no row), then one row per sequence; the
 * last two sequences join one step late to mix prompts and generation. */
static void together(const ll_model *m, size_t V, const float *ref, const int32_t *gen, const char *name) {
    ll_error err;
    ll_context *work = ll_context_new(m, 16, 2, &err);
    ll_context *c[N_SEQ];
    for (size_t s = 0; s < N_SEQ; s++) c[s] = ll_context_new(m, 128, 1, &err);
    float *lg = malloc(LL_BATCH_MAX * V * sizeof(float));
    int32_t p[64];
    size_t step[N_SEQ] = {0}; /* logits rows compared so far per sequence */
    bool same = true;
    for (size_t round = 0; round < N_GEN + 2; round++) {
        ll_batch_row rows[LL_BATCH_MAX];
        size_t n = 0, owner[LL_BATCH_MAX];
        for (size_t s = 0; s < N_SEQ; s++) {
            size_t join = s >= 3 ? 1 : 0;
            if (round < join || step[s] > N_GEN) continue;
            if (round == join) {
                make_prompt(s, V, p);
                for (int32_t i = 0; i < prompt_len[s]; i++, n++) {
                    rows[n] = (ll_batch_row){c[s], p[i], LL_BATCH_APPEND, -1, NULL};
                    owner[n] = SIZE_MAX;
                }
                rows[n - 1].logits = lg + (n - 1) * V;
                owner[n - 1] = s;
            } else {
                rows[n] = (ll_batch_row){c[s], gen[s * N_GEN + step[s] - 1], LL_BATCH_APPEND, -1, lg + n * V};
                owner[n++] = s;
            }
        }
        if (n == 0) break;
        ll_status st = ll_decode_batch(work, rows, n, &err);
        CHECK_OK(st, err);
        if (st != LL_OK) break;
        for (size_t i = 0; i < n; i++) {
            if (owner[i] == SIZE_MAX) continue;
            size_t s = owner[i];
            same = same && memcmp(lg + i * V, ref + (s * (N_GEN + 1) + step[s]) * V, V * sizeof(float)) == 0;
            step[s]++;
        }
    }
    CHECK(same, "%s: every row's logits equal the sequence decoded alone, bit for bit", name);
    for (size_t s = 0; s < N_SEQ; s++) {
        CHECK(step[s] == N_GEN + 1, "%s: sequence %zu took %zu steps", name, s, step[s]);
        CHECK(ll_context_n_past(c[s]) == (size_t)prompt_len[s] + N_GEN, "%s: sequence %zu holds %zu positions", name, s,
              ll_context_n_past(c[s]));
    }
    CHECK(ll_context_n_past(work) == 0, "%s: the work context owns no row", name);
    for (size_t s = 0; s < N_SEQ; s++) ll_context_free(c[s]);
    ll_context_free(work);
    free(lg);
}

/* Ten branches of one context (more than the 8 rows of the one-token
 * arithmetic) beside another context's prompt: each branch's logits are
 * what the sequence alone gives. */
static void branches(const ll_model *m, size_t V, const char *name) {
    ll_error err;
    enum { NB = 10 };
    ll_context *a = ll_context_new(m, 64, 2, &err), *b = ll_context_new(m, 64, 1, &err);
    ll_context *solo = ll_context_new(m, 64, 1, &err);
    int32_t p[64];
    make_prompt(2, V, p);
    float *lg = malloc((NB + 1) * V * sizeof(float)), *ref = malloc(V * sizeof(float));
    CHECK_OK(ll_context_decode(a, p, 8, lg, NULL, &err), err);
    CHECK_OK(ll_context_decode(solo, p, 8, lg, NULL, &err), err);
    bool same = true;
    ll_batch_row rows[NB + 12];
    size_t n = 0;
    for (int32_t i = 0; i < NB; i++)
        rows[n++] = (ll_batch_row){a, (int32_t)((i * 37 + 5) % (int32_t)V), -1, -1, lg + (size_t)i * V};
    make_prompt(4, V, p);
    for (int32_t i = 0; i < 12; i++)
        rows[n++] = (ll_batch_row){b, p[i], LL_BATCH_APPEND, -1, i == 11 ? lg + NB * V : NULL};
    CHECK_OK(ll_decode_batch(a, rows, n, &err), err);
    for (int32_t i = 0; i < NB; i++) {
        int32_t t = rows[i].token;
        CHECK(rows[i].node == i, "%s: branch %d made node %d", name, i, rows[i].node);
        CHECK_OK(ll_context_decode(solo, &t, 1, ref, NULL, &err), err);
        CHECK_OK(ll_context_rewind(solo, 8, &err), err);
        same = same && memcmp(ref, lg + (size_t)i * V, V * sizeof(float)) == 0;
    }
    CHECK(same, "%s: each of %d branches equals its sequence alone, bit for bit", name, NB);
    CHECK(ll_context_n_past(a) == 8 && ll_context_n_past(b) == 12, "%s: branches leave the prefix, appends extend it",
          name);
    /* the same branches through ll_context_decode_tree */
    int32_t parents[NB], toks[NB], nodes[NB];
    for (int32_t i = 0; i < NB; i++) parents[i] = -1, toks[i] = rows[i].token;
    ll_context_tree_clear(a);
    float *lg2 = malloc(NB * V * sizeof(float));
    CHECK_OK(ll_context_decode_tree(a, parents, toks, NB, lg2, nodes, &err), err);
    CHECK(memcmp(lg, lg2, NB * V * sizeof(float)) == 0, "%s: ll_context_decode_tree gives the same logits", name);
    free(lg2);
    free(lg);
    free(ref);
    ll_context_free(a);
    ll_context_free(b);
    ll_context_free(solo);
}

static bool stop_now(void *user) {
    (void)user;
    return true;
}

static void errors(const ll_model *m, const ll_model *other) {
    ll_error err;
    ll_context *a = ll_context_new(m, 8, 1, &err), *b = ll_context_new(m, 8, 1, &err);
    ll_context *x = ll_context_new(other, 8, 1, &err);
    ll_batch_row r[4];
    r[0] = (ll_batch_row){a, 1, LL_BATCH_APPEND, -1, NULL};
    r[1] = (ll_batch_row){b, 1, LL_BATCH_APPEND, -1, NULL};
    r[2] = (ll_batch_row){a, 1, LL_BATCH_APPEND, -1, NULL};
    CHECK(ll_decode_batch(a, r, 3, &err) == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "row 2") &&
              strstr(err.message, "adjacent"),
          "non-adjacent appends: %s", err.message);
    r[1] = (ll_batch_row){a, 1, -1, -1, NULL};
    CHECK(ll_decode_batch(a, r, 2, &err) == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "both append"),
          "append and branch in one context: %s", err.message);
    r[1] = (ll_batch_row){x, 1, LL_BATCH_APPEND, -1, NULL};
    CHECK(ll_decode_batch(a, r, 2, &err) == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "row 1") &&
              strstr(err.message, "another model"),
          "another model: %s", err.message);
    r[1] = (ll_batch_row){b, -7, LL_BATCH_APPEND, -1, NULL};
    CHECK(ll_decode_batch(a, r, 2, &err) == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "token 1 = -7"),
          "a bad id: %s", err.message);
    r[1] = (ll_batch_row){b, 1, 3, -1, NULL};
    CHECK(ll_decode_batch(a, r, 2, &err) == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "parent 1 = node 3"),
          "a missing parent: %s", err.message);
    r[1] = (ll_batch_row){NULL, 1, LL_BATCH_APPEND, -1, NULL};
    CHECK(ll_decode_batch(a, r, 2, &err) == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "row 1 has no context"),
          "no context: %s", err.message);
    CHECK(ll_decode_batch(a, r, 0, &err) == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "[1, 256]"), "no rows: %s",
          err.message);
    CHECK(ll_decode_batch(a, r, LL_BATCH_MAX + 1, &err) == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "257 rows"),
          "too many rows: %s", err.message);
    ll_batch_row full[9];
    for (int i = 0; i < 9; i++) full[i] = (ll_batch_row){b, 1, LL_BATCH_APPEND, -1, NULL};
    CHECK(ll_decode_batch(a, full, 9, &err) == LL_ERR_INVALID_ARGUMENT && strstr(err.message, "room for 8"),
          "a full context: %s", err.message);
    /* a stopped step: every context as before */
    r[0] = (ll_batch_row){a, 1, LL_BATCH_APPEND, -1, NULL};
    r[1] = (ll_batch_row){b, 2, LL_BATCH_APPEND, -1, NULL};
    ll_context_set_abort(x, stop_now, NULL);
    ll_context *w = ll_context_new(m, 8, 1, &err);
    ll_context_set_abort(w, stop_now, NULL);
    CHECK(ll_decode_batch(w, r, 2, &err) == LL_ERR_INTERRUPTED, "the work context's abort stops the step: %s",
          err.message);
    CHECK(ll_context_n_past(a) == 0 && ll_context_n_past(b) == 0, "a stopped step changes no context");
    ll_context_set_abort(w, NULL, NULL);
    CHECK_OK(ll_decode_batch(w, r, 2, &err), err);
    CHECK(ll_context_n_past(a) == 1 && ll_context_n_past(b) == 1, "then it goes on");
    ll_context_free(w);
    ll_context_free(a);
    ll_context_free(b);
    ll_context_free(x);
}

/* one_token_products: every product of a prompt uses the one-token
 * arithmetic (attention keeps its several-token order), so how a prompt is
 * cut changes no bit: 20 tokens in one call (which would otherwise be one
 * matrix product) give the logits of the same 20 in pieces of 5 (which
 * never are); a default context's single call rounds differently
 * somewhere, so the test can tell the two apart. */
static void one_token_prompt(const ll_model *m, size_t V, const char *name) {
    enum { NP = 20, PIECE = 5 };
    ll_error err;
    int32_t p[NP];
    for (int32_t i = 0; i < NP; i++) p[i] = (int32_t)((11 + 29 * (size_t)i) % V);
    float *all = malloc(NP * V * sizeof(float)), *cut = malloc(NP * V * sizeof(float));
    float *fast = malloc(NP * V * sizeof(float)), *last = malloc(V * sizeof(float));
    ll_context_params cp = ll_context_params_default();
    cp.n_ctx = 64;
    cp.n_threads = 2;
    cp.one_token_products = true;
    ll_context *c = ll_context_new_ex(m, &cp, &err), *s = ll_context_new_ex(m, &cp, &err);
    cp.one_token_products = false;
    ll_context *f = ll_context_new_ex(m, &cp, &err);
    CHECK(c && s && f && all && cut && fast && last, "%s: contexts", name);
    if (c && s && f && all && cut && fast && last) {
        CHECK_OK(ll_context_decode(c, p, NP, last, all, &err), err);
        CHECK_OK(ll_context_decode(f, p, NP, last, fast, &err), err);
        for (size_t i = 0; i < NP; i += PIECE)
            CHECK_OK(ll_context_decode(s, p + i, PIECE, last, cut + i * V, &err), err);
        CHECK(memcmp(all, cut, NP * V * sizeof(float)) == 0,
              "%s: one-token products: the prompt in one call has the logits of its pieces of 5, bit for bit", name);
        CHECK(memcmp(all, fast, NP * V * sizeof(float)) != 0, "%s: the batched prompt rounds differently somewhere",
              name);
    }
    ll_context_free(c);
    ll_context_free(s);
    ll_context_free(f);
    free(all);
    free(cut);
    free(fast);
    free(last);
}

static void run_model(const char *path) {
    ll_error err;
    ll_model *m = ll_model_load(path, NULL, &err);
    CHECK(m != NULL, "%s: %s", path, err.message);
    if (!m) return;
    size_t V = ll_model_get_info(m)->n_vocab;
    float *ref = malloc(N_SEQ * (N_GEN + 1) * V * sizeof(float));
    int32_t gen[N_SEQ * N_GEN];
    alone(m, V, ref, gen);
    together(m, V, ref, gen, path);
    branches(m, V, path);
    one_token_prompt(m, V, path);
    free(ref);
    ll_model_free(m);
}

/* ll_context_parallel_for runs each index once, on 1 and 3 threads, and
 * nothing for none */
static void count_index(void *user, size_t i) { atomic_fetch_add((atomic_int *)user + i, 1); }

static void parallel_for(const ll_model *m) {
    for (int threads = 1; threads <= 3; threads += 2) {
        ll_error err;
        ll_context_params p = ll_context_params_default();
        p.n_threads = threads;
        ll_context *c = ll_context_new_ex(m, &p, &err);
        CHECK(c != NULL, "a context of %d threads", threads);
        if (!c) continue;
        static atomic_int seen[1000];
        for (size_t n = 0; n <= 1000; n += 333) {
            for (size_t i = 0; i < 1000; i++) atomic_store(&seen[i], 0);
            ll_context_parallel_for(c, n, count_index, seen);
            size_t wrong = 0;
            for (size_t i = 0; i < 1000; i++) wrong += atomic_load(&seen[i]) != (i < n ? 1 : 0);
            CHECK(wrong == 0, "%d threads, %zu indices: %zu run other than once", threads, n, wrong);
        }
        ll_context_free(c);
    }
}

int main(void) {
    char path[512];
    const char *types[] = {"F32", "Q4_0", "Q8_0", "Q4_K_M"};
    for (size_t i = 0; i < LL_ARRAY_LEN(types); i++) {
        snprintf(path, sizeof path, "%s/models/synthetic/synth-t1-%s.gguf", tu_shared(), types[i]);
        run_model(path);
    }
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", tu_shared());
    run_model(path);
    ll_error err;
    ll_model *m = ll_model_load_default(&err);
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", tu_shared());
    ll_model *other = ll_model_load(path, NULL, &err);
    if (m && other) errors(m, other);
    if (m) parallel_for(m);
    ll_model_free(m);
    ll_model_free(other);
    return tu_finish("batch");
}
