/*
 * test_prompt_pieces.c - how a long prompt is cut into steps, and why it
 * must not matter: a run of more than 8 rows is a matrix-matrix product,
 * 8 or fewer take the one-token arithmetic, so ll_batch_prompt_piece never
 * leaves a last piece of 8 or fewer after a longer one. Then a prompt of
 * 257..264 (and 260) tokens through ll_context_decode gives bit for bit the
 * logits of every position that the same prompt gives as two calls (100 +
 * the rest) and as the server's steps (ll_decode_batch, pieces from
 * ll_batch_prompt_piece), so `logitlab generate` and the server agree.
 * Last, `logitlab synth --arch` (ll_model_synth): a model of every
 * architecture of the table is written, loads with the shape, tensors and
 * sliding windows asked for, and runs a prompt past its window, the batch
 * and the one-token arithmetic agreeing; bad options are errors naming
 * the value.
 */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>

#include "format/tensor_types.h"
#include "model/export.h"
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

/* Every architecture synthesized: 6 layers (gemma3: five local, one
 * global), GQA, a head size other than dim / heads, a window of 8 that a
 * 24-token prompt passes. */
static void synth_archs(void) {
    static const struct {
        const char *arch;
        size_t per_layer; /* tensors per layer, from the layer-tensor table's rows */
        size_t local;     /* sliding-window layers of 6 */
    } want[] = {{"llama", 9, 0},   {"qwen2", 12, 0},  {"qwen3", 11, 0},
                {"gemma2", 11, 3}, {"gemma3", 13, 5}, {"phi3", 6, 0}};
    static const uint32_t types[] = {LL_T_F32, LL_T_Q8_0};
    char path[] = "/tmp/test_prompt_pieces-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return;
    close(fd);
    for (size_t i = 0; i < LL_ARRAY_LEN(want); i++)
        for (size_t ti = 0; ti < LL_ARRAY_LEN(types); ti++) {
            ll_synth_options o = {.arch = want[i].arch,
                                  .type = types[ti],
                                  .embd_type = types[ti],
                                  .vocab = 300,
                                  .dim = 64,
                                  .layers = 6,
                                  .heads = 4,
                                  .kv_heads = 2,
                                  .head_dim = 24,
                                  .ffn = 96,
                                  .ctx = 64,
                                  .window = 8,
                                  .tied = ti == 0,
                                  .seed = 3 + i};
            ll_error err;
            ll_status st = ll_model_synth(&o, path, &err);
            CHECK_OK(st, err);
            ll_model *m = st == LL_OK ? ll_model_load(path, NULL, &err) : NULL;
            CHECK(m != NULL, "%s: %s", want[i].arch, err.message);
            if (!m) continue;
            const ll_model_info *in = ll_model_get_info(m);
            ll_arch_info ai;
            ll_model_get_arch_info(m, &ai);
            CHECK(!strcmp(in->arch, want[i].arch) && in->n_layers == 6 && in->dim == 64 && in->n_heads == 4 &&
                      in->n_kv_heads == 2 && in->head_dim == 24 && in->ffn_dim == 96 && in->n_vocab == 300 &&
                      in->tied_output == (ti == 0),
                  "%s: arch %s layers %zu dim %zu heads %zu/%zu head %zu ffn %zu vocab %zu tied %d", want[i].arch,
                  in->arch, in->n_layers, in->dim, in->n_heads, in->n_kv_heads, in->head_dim, in->ffn_dim, in->n_vocab,
                  in->tied_output);
            CHECK(ai.sliding_window_layers == want[i].local && ai.sliding_window == (want[i].local ? 8u : 0u),
                  "%s: window %zu on %zu layers", want[i].arch, ai.sliding_window, ai.sliding_window_layers);
            size_t n_t = ll_gguf_n_tensors(ll_model_gguf(m));
            CHECK(n_t == 2 + (ti != 0) + 6 * want[i].per_layer, "%s: %zu tensors", want[i].arch, n_t);
            /* 24 tokens past the window: as one batch and one at a time */
            enum { N = 24 };
            int32_t p[N];
            for (size_t k = 0; k < N; k++) p[k] = (int32_t)(3 + 11 * k % 297);
            float *batch = malloc(N * 300 * sizeof(float)), *one = malloc(300 * sizeof(float));
            ll_context *a = ll_context_new(m, 32, 1, &err), *b = ll_context_new(m, 32, 1, &err);
            CHECK(batch && one && a && b, "%s: setup: %s", want[i].arch, err.message);
            if (batch && one && a && b) {
                CHECK_OK(ll_context_decode(a, p, N, NULL, batch, &err), err);
                double worst = 0, peak = 0;
                bool finite = true;
                for (size_t k = 0; k < N; k++) {
                    CHECK_OK(ll_context_decode(b, &p[k], 1, one, NULL, &err), err);
                    for (size_t v = 0; v < 300; v++) {
                        finite = finite && isfinite(one[v]) && isfinite(batch[k * 300 + v]);
                        worst = fmax(worst, fabs((double)one[v] - batch[k * 300 + v]));
                        peak = fmax(peak, fabs((double)batch[k * 300 + v]));
                    }
                }
                /* F32: the same sums in other orders; Q8_0: int8 activations on one side */
                double tol = ti == 0 ? 1e-4 : 3e-2;
                CHECK(finite && peak > 0 && worst <= tol * fmax(1.0, peak),
                      "%s %s: batch vs one at a time %g (largest logit %g, finite %d)", want[i].arch,
                      ti ? "Q8_0" : "F32", worst, peak, finite);
            }
            free(batch);
            free(one);
            ll_context_free(a);
            ll_context_free(b);
            ll_model_free(m);
        }
    /* bad options name the value */
    static const struct {
        ll_synth_options o;
        const char *needle;
    } bad[] = {
        {{.arch = "mamba",
          .type = LL_T_F32,
          .embd_type = LL_T_F32,
          .vocab = 300,
          .dim = 64,
          .layers = 1,
          .heads = 4,
          .kv_heads = 4,
          .head_dim = 16,
          .ffn = 64,
          .ctx = 8},
         "architecture 'mamba' is not one logitlab runs (supported: llama, qwen2, qwen3, gemma2, gemma3, phi3)"},
        {{.arch = "llama",
          .type = LL_T_Q4_K,
          .embd_type = LL_T_Q4_K,
          .vocab = 300,
          .dim = 64,
          .layers = 1,
          .heads = 4,
          .kv_heads = 4,
          .head_dim = 16,
          .ffn = 64,
          .ctx = 8},
         "dim = 64 is not a multiple of the Q4_K block (256)"},
        {{.arch = "llama",
          .type = LL_T_F32,
          .embd_type = LL_T_F32,
          .vocab = 300,
          .dim = 64,
          .layers = 1,
          .heads = 4,
          .kv_heads = 3,
          .head_dim = 16,
          .ffn = 64,
          .ctx = 8},
         "heads 4 must be a multiple of kv heads 3"},
        {{.arch = "llama",
          .type = LL_T_F32,
          .embd_type = LL_T_F32,
          .vocab = 259,
          .dim = 64,
          .layers = 1,
          .heads = 4,
          .kv_heads = 4,
          .head_dim = 16,
          .ffn = 64,
          .ctx = 8},
         "vocabulary 259 is out of range: valid is [260"},
    };
    for (size_t i = 0; i < LL_ARRAY_LEN(bad); i++) {
        ll_error err;
        ll_status st = ll_model_synth(&bad[i].o, path, &err);
        CHECK(st == LL_ERR_INVALID_ARGUMENT && strstr(err.message, bad[i].needle), "bad %zu: %d %s", i, (int)st,
              err.message);
    }
    unlink(path);
}

int main(void) {
    piece_sizes();
    prompts();
    synth_archs();
    return tu_finish("prompt_pieces");
}
