/*
 * test_stories.c - the real stories260K model (../shared/models): the GGUF
 * file and the llama2.c checkpoints must reproduce llama2.c's outputs
 * byte for byte (greedy text, the int8 model's greedy text, two seeded
 * samples with the llama2.c profile) and its logits within 1e-4.
 */
#include "test_util.h"

#include <ctype.h>

static void shared_path(char *buf, size_t cap, const char *rel) { snprintf(buf, cap, "%s/models/%s", tu_shared(), rel); }

/* run.c's loop and printing: the prompt is fed token by token, `steps`
 * counts positions, BOS ends generation, a piece after BOS loses its
 * leading space, byte pieces print only if printable or space. */
static char *generate_like_runc(ll_model *m, const char *prompt, int steps, ll_chain *chain) {
    ll_error err;
    const ll_tokenizer *tok = ll_model_get_tokenizer(m);
    int32_t *ids;
    size_t n_ids;
    CHECK_OK(ll_tokenize(tok, prompt, strlen(prompt), true, false, &ids, &n_ids, &err), err);
    ll_context *ctx = ll_context_new(m, 0, 1, &err);
    size_t V = ll_model_get_info(m)->n_vocab;
    float *logits = malloc(V * sizeof *logits);
    size_t cap = 65536, o = 0;
    char *out = calloc(cap, 1);
    int32_t token = ids[0];
    for (int pos = 0; pos < steps; pos++) {
        CHECK_OK(ll_context_decode(ctx, &token, 1, logits, NULL, &err), err);
        int32_t next;
        if ((size_t)pos < n_ids - 1) next = ids[pos + 1];
        else CHECK_OK(ll_chain_sample_inplace(chain, logits, V, &next, &err), err);
        if (next == 1) break;
        char piece[256];
        size_t n = ll_token_to_bytes(tok, next, false, piece, sizeof piece);
        const char *s = piece;
        if (token == 1 && n > 0 && s[0] == ' ') s++, n--;
        bool printable = !(n == 1 && !(isprint((unsigned char)s[0]) || isspace((unsigned char)s[0])));
        if (printable && o + n < cap) {
            memcpy(out + o, s, n);
            o += n;
        }
        token = next;
    }
    out[o++] = '\n';
    free(logits);
    free(ids);
    ll_context_free(ctx);
    return out;
}

static void check_text(const char *got, const char *expected_file, const char *label) {
    char p[1024];
    shared_path(p, sizeof p, expected_file);
    size_t n;
    char *want = tu_read_file(p, &n);
    CHECK(want != NULL, "cannot read %s", p);
    if (!want) return;
    CHECK(strcmp(got, want) == 0, "%s differs from %s\n--- got ---\n%s--- want ---\n%s", label, expected_file, got,
          want);
    free(want);
}

static ll_chain *greedy_chain(size_t V) {
    ll_error err;
    ll_chain *ch = ll_chain_new(V, &err);
    ll_chain_add(ch, ll_sampler_greedy_new(&err), &err);
    return ch;
}

static ll_chain *llama2c_chain(size_t V, float temp, float topp, int64_t seed) {
    ll_error err;
    ll_sampling_params p;
    ll_sampling_params_init(&p, LL_PROFILE_LLAMA2C);
    p.temperature = temp;
    p.top_p = topp;
    p.seed = seed;
    ll_chain *ch = ll_chain_from_params(&p, V, &err);
    CHECK(ch != NULL, "llama2.c chain: %s", err.message);
    return ch;
}

/* logits of the traced run at pos 0 (input BOS) and pos 4, within 1e-4 */
static void check_trace_logits(ll_model *m, const char *label) {
    char p[1024];
    shared_path(p, sizeof p, "expected/stories260K.greedy.trace.txt");
    size_t n;
    char *trace = tu_read_file(p, &n);
    CHECK(trace != NULL, "cannot read %s", p);
    if (!trace) return;
    ll_error err;
    ll_context *ctx = ll_context_new(m, 0, 2, &err);
    size_t V = ll_model_get_info(m)->n_vocab;
    int32_t prompt[5] = {1, 403, 407, 261, 378};
    float *all = malloc(5 * V * sizeof *all);
    CHECK_OK(ll_context_decode(ctx, prompt, 5, NULL, all, &err), err);
    int checked = 0;
    for (char *line = strtok(trace, "\n"); line; line = strtok(NULL, "\n")) {
        int pos, input;
        if (sscanf(line, "logits pos=%d input=%d", &pos, &input) != 2) continue;
        char *q = strchr(line, ' ');
        q = strchr(q + 1, ' ');
        q = strchr(q + 1, ' ');
        double max_diff = 0;
        for (size_t i = 0; i < V; i++) {
            double want = strtod(q, &q);
            double d = fabs(want - all[(size_t)pos * V + i]);
            if (d > max_diff) max_diff = d;
        }
        CHECK(max_diff < 1e-4, "%s: logits at pos %d differ by %g", label, pos, max_diff);
        checked++;
    }
    CHECK(checked == 2, "%s: two traced positions", label);
    free(all);
    free(trace);
    ll_context_free(ctx);
}

int main(void) {
    char model_path[1024], tok_path[1024], q8_path[1024], bin_path[1024];
    shared_path(model_path, sizeof model_path, "stories260K.gguf");
    shared_path(tok_path, sizeof tok_path, "tok512.bin");
    shared_path(q8_path, sizeof q8_path, "stories260K_q8.bin");
    shared_path(bin_path, sizeof bin_path, "stories260K.bin");
    ll_error err;

    ll_model *gg = ll_model_load(model_path, NULL, &err);
    CHECK(gg != NULL, "load gguf: %s", err.message);
    ll_model *bin = ll_model_load(bin_path, tok_path, &err);
    CHECK(bin != NULL, "load llama2.c fp32: %s", err.message);
    ll_model *q8 = ll_model_load(q8_path, tok_path, &err);
    CHECK(q8 != NULL, "load llama2.c int8: %s", err.message);
    if (!gg || !bin || !q8) return tu_finish("stories260K");

    const ll_model_info *in = ll_model_get_info(gg);
    CHECK(in->dim == 64 && in->n_layers == 5 && in->n_heads == 8 && in->n_kv_heads == 4 && in->n_vocab == 512 &&
              in->ffn_dim == 172 && in->n_ctx_train == 2048,
          "stories260K hyperparameters");

    int32_t *ids;
    size_t n;
    CHECK_OK(ll_tokenize(ll_model_get_tokenizer(gg), "Once upon a time", 16, true, false, &ids, &n, &err), err);
    CHECK(n == 5 && ids[0] == 1 && ids[1] == 403 && ids[2] == 407 && ids[3] == 261 && ids[4] == 378,
          "prompt ids");
    free(ids);

    check_trace_logits(gg, "gguf");
    check_trace_logits(bin, "llama2.c fp32");

    ll_model *models[2] = {gg, bin};
    const char *names[2] = {"gguf greedy", "llama2.c greedy"};
    for (int i = 0; i < 2; i++) {
        ll_chain *ch = greedy_chain(512);
        char *text = generate_like_runc(models[i], "Once upon a time", 200, ch);
        check_text(text, "expected/stories260K.greedy.txt", names[i]);
        free(text);
        ll_chain_free(ch);
    }
    ll_chain *ch = greedy_chain(512);
    char *text = generate_like_runc(q8, "Once upon a time", 200, ch);
    check_text(text, "expected/stories260K_q8.greedy.txt", "int8 greedy");
    free(text);
    ll_chain_free(ch);

    ch = llama2c_chain(512, 1.0f, 0.9f, 42);
    text = generate_like_runc(bin, "Once upon a time", 200, ch);
    check_text(text, "expected/stories260K.t1.0-p0.9-s42.txt", "top-p 0.9 seed 42");
    free(text);
    ll_chain_free(ch);
    ch = llama2c_chain(512, 1.0f, 1.0f, 42);
    text = generate_like_runc(bin, "Once upon a time", 200, ch);
    check_text(text, "expected/stories260K.t1.0-p1.0-s42.txt", "top-p 1.0 seed 42");
    free(text);
    ll_chain_free(ch);

    ll_model_free(gg);
    ll_model_free(bin);
    ll_model_free(q8);
    return tu_finish("stories260K");
}
