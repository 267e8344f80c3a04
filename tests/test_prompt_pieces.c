/*
 * test_prompt_pieces.c - how a long prompt is cut into steps, and why it
 * must not matter: a run of more than 8 rows is a matrix-matrix product,
 * 8 or fewer take the one-token arithmetic, so ll_batch_prompt_piece never
 * leaves a last piece of 8 or fewer after a longer one. Then a prompt of
 * 257..264 (and 260) tokens through ll_context_decode gives bit for bit the
 * logits of every position that the same prompt gives as two calls (100 +
 * the rest) and as the server's steps (ll_decode_batch, pieces from
 * ll_batch_prompt_piece), so `logitlab generate` and the server agree.
 */
#include "test_util.h"

static void piece_sizes(void) {
    /* left -> first piece; a rest of 1..8 after a full step moves down into the last step */
    static const size_t want[][2] = {{0, 0},     {1, 1},     {8, 8},     {9, 9},     {256, 256}, {257, 248},
                                     {260, 251}, {264, 255}, {265, 256}, {512, 256}, {520, 256}, {521, 256}};
    for (size_t i = 0; i < LL_ARRAY_LEN(want); i++)
        CHECK(ll_batch_prompt_piece(want[i][0]) == want[i][1], "left %zu: piece %zu, want %zu", want[i][0],
              ll_batch_prompt_piece(want[i][0]), want[i][1]);
    /* every cut of every length up to 4 steps: pieces in [1, LL_BATCH_MAX], the last one alone or > 8 */
    for (size_t n = 1; n <= 4 * LL_BATCH_MAX + 20; n++) {
        size_t left = n, pieces = 0;
        bool ok = true;
        while (left) {
            size_t p = ll_batch_prompt_piece(left);
            ok = ok && p >= 1 && p <= LL_BATCH_MAX && p <= left && (pieces == 0 || p > 8);
            if (!ok) break;
            left -= p, pieces++;
        }
        CHECK(ok, "prompt of %zu: a piece out of bounds or a short last piece after a longer one", n);
    }
}

static void make_prompt(size_t n, size_t V, int32_t *out) {
    for (size_t i = 0; i < n; i++) out[i] = (int32_t)((5 + 37 * i + i * i / 7) % V);
}

/* The logits of every position, three ways. */
static void same_logits(const char *name, const ll_model *m, size_t n) {
    ll_error err;
    size_t V = ll_model_get_info(m)->n_vocab;
    int32_t *p = malloc(n * sizeof *p);
    float *one = malloc(n * V * sizeof(float)), *two = malloc(n * V * sizeof(float)),
          *srv = malloc(n * V * sizeof(float)), *last = malloc(V * sizeof(float));
    ll_context *a = ll_context_new(m, n + 4, 2, &err), *b = ll_context_new(m, n + 4, 1, &err),
               *c = ll_context_new(m, n + 4, 2, &err);
    CHECK(p && one && two && srv && last && a && b && c, "%s: setup: %s", name, err.message);
    if (!(p && one && two && srv && last && a && b && c)) goto out;
    make_prompt(n, V, p);
    /* one call */
    CHECK_OK(ll_context_decode(a, p, n, last, one, &err), err);
    CHECK(!memcmp(last, one + (n - 1) * V, V * sizeof(float)), "%s/%zu: logits_last is not the last row", name, n);
    CHECK(ll_context_n_past(a) == n, "%s/%zu: n_past %zu", name, n, ll_context_n_past(a));
    /* 100 + the rest, one thread */
    CHECK_OK(ll_context_decode(b, p, 100, NULL, two, &err), err);
    CHECK_OK(ll_context_decode(b, p + 100, n - 100, NULL, two + 100 * V, &err), err);
    /* the server's steps */
    ll_batch_row rows[LL_BATCH_MAX];
    size_t steps = 0;
    for (size_t done = 0, k; done < n; done += k, steps++) {
        k = ll_batch_prompt_piece(n - done);
        for (size_t i = 0; i < k; i++)
            rows[i] = (ll_batch_row){c, p[done + i], LL_BATCH_APPEND, -1, srv + (done + i) * V};
        CHECK_OK(ll_decode_batch(c, rows, k, &err), err);
    }
    CHECK(steps == 2, "%s/%zu: %zu steps", name, n, steps);
    size_t bad_two = n, bad_srv = n;
    for (size_t i = n; i-- > 0;) {
        if (memcmp(one + i * V, two + i * V, V * sizeof(float))) bad_two = i;
        if (memcmp(one + i * V, srv + i * V, V * sizeof(float))) bad_srv = i;
    }
    CHECK(bad_two == n, "%s/%zu: 100 + %zu differs from one call first at position %zu", name, n, n - 100, bad_two);
    CHECK(bad_srv == n, "%s/%zu: the server's pieces differ from one call first at position %zu", name, n, bad_srv);
out:
    ll_context_free(a);
    ll_context_free(b);
    ll_context_free(c);
    free(p);
    free(one);
    free(two);
    free(srv);
    free(last);
}

static void prompts(void) {
    static const char *const types[] = {"F32", "Q8_0", "Q4_K_M", "Q4_0"};
    for (size_t i = 0; i < LL_ARRAY_LEN(types); i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/models/synthetic/synth-t1-%s.gguf", tu_shared(), types[i]);
        ll_error err;
        ll_model *m = ll_model_load(path, NULL, &err);
        CHECK(m != NULL, "%s: %s", path, err.message);
        if (!m) continue;
        static const size_t lens[] = {257, 260, 264};
        for (size_t k = 0; k < LL_ARRAY_LEN(lens); k++) same_logits(types[i], m, lens[k]);
        ll_model_free(m);
    }
}

int main(void) {
    piece_sizes();
    prompts();
    return tu_finish("prompt_pieces");
}
