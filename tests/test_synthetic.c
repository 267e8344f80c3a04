/*
 * test_synthetic.c - the synthetic Llama "synth-t1" in every tensor type
 * (../shared/models/synthetic): tokenizer ids, and logits fed the
 * reference tokens (prompt as a batch, then one token at a time) against
 * llama.cpp's within the tolerance its README states per type; the greedy
 * token must agree wherever llama.cpp's margin is clearly larger than that
 * tolerance. Run with 1 and 2 threads: the logits must not change.
 */
#include "test_util.h"
#include "util/json.h"

static const struct {
    const char *name;
    double tol;
} files[] = {{"F32", 1e-4},  {"F16", 2e-3},    {"BF16", 1e-2},   {"Q8_0", 3e-2},
             {"Q6_K", 3e-2}, {"Q5_K_M", 3e-2}, {"Q4_K_M", 3e-2}, {"Q4_0", 3e-2}};

static int b64v(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static size_t b64_decode(const char *s, uint8_t *out) {
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s; s++) {
        int v = b64v(*s);
        if (v < 0) continue;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n;
}

static void ids_of(const lj_value *arr, int32_t *out, size_t *n) {
    *n = arr->n;
    for (size_t i = 0; i < arr->n; i++) out[i] = (int32_t)lj_num(arr->items[i]);
}

static void run_file(const char *name, double tol, int threads) {
    char gguf[1024], ref[1024];
    snprintf(gguf, sizeof gguf, "%s/models/synthetic/synth-t1-%s.gguf", tu_shared(), name);
    snprintf(ref, sizeof ref, "%s/models/synthetic/synth-t1-%s.ref.json", tu_shared(), name);
    ll_error err;
    ll_model *m = ll_model_load(gguf, NULL, &err);
    CHECK(m != NULL, "%s: %s", name, err.message);
    lj_doc *d = lj_parse_file(ref, &err);
    CHECK(d != NULL, "%s: %s", ref, err.message);
    if (!m || !d) {
        ll_model_free(m);
        lj_free(d);
        return;
    }
    const lj_value *root = lj_root(d);
    size_t V = ll_model_get_info(m)->n_vocab;
    CHECK(V == (size_t)lj_num(lj_get(root, "n_vocab")), "%s: n_vocab", name);

    if (threads == 1) {
        const lj_value *cases = lj_get(root, "tokenizer_cases");
        for (size_t i = 0; i < cases->n; i++) {
            const char *text = lj_get(cases->items[i], "text")->str;
            int32_t want[512];
            size_t nw;
            ids_of(lj_get(cases->items[i], "ids"), want, &nw);
            int32_t *ids;
            size_t n;
            CHECK_OK(ll_tokenize(ll_model_get_tokenizer(m), text, strlen(text), true, false, &ids, &n, &err), err);
            bool same = n == nw && memcmp(ids, want, n * sizeof *ids) == 0;
            CHECK(same, "%s: tokenizer case %zu (%s): %zu ids, expected %zu", name, i, text, n, nw);
            free(ids);
        }
    }

    const lj_value *run = NULL, *runs = lj_get(root, "runs");
    for (size_t r = 0; r < runs->n; r++)
        if (!strcmp(lj_get(lj_get(runs->items[r], "config"), "name")->str, "kv_f32_noflash")) run = runs->items[r];
    CHECK(run != NULL, "%s: kv_f32_noflash run", name);
    const lj_value *prompts = lj_get(run, "prompts");
    float *logits = malloc(V * sizeof *logits), *want = malloc(V * sizeof *want);
    for (size_t pi = 0; pi < prompts->n; pi++) {
        const lj_value *pr = prompts->items[pi];
        int32_t prompt[64], gen[64];
        size_t np, ng;
        ids_of(lj_get(pr, "prompt_ids"), prompt, &np);
        ids_of(lj_get(pr, "generated_ids"), gen, &ng);
        ll_context *ctx = ll_context_new(m, 0, threads, &err);
        CHECK(ctx != NULL, "%s: context: %s", name, err.message);
        if (!ctx) continue;
        const lj_value *snaps = lj_get(pr, "logits"), *greedy = lj_get(pr, "greedy");
        double worst = 0;
        int agreed = 0, decided = 0;
        for (size_t step = 0; step <= ng; step++) {
            if (step == 0) CHECK_OK(ll_context_decode(ctx, prompt, np, logits, NULL, &err), err);
            else CHECK_OK(ll_context_decode(ctx, &gen[step - 1], 1, logits, NULL, &err), err);
            size_t pos = np - 1 + step;
            for (size_t s = 0; s < snaps->n; s++) {
                const lj_value *sn = snaps->items[s];
                if ((size_t)lj_num(lj_get(sn, "pos")) != pos) continue;
                size_t nb = b64_decode(lj_get(sn, "logits_f32le_b64")->str, (uint8_t *)want);
                CHECK(nb == V * 4, "%s: snapshot size", name);
                double md = 0;
                for (size_t i = 0; i < V; i++) md = fmax(md, fabs((double)logits[i] - want[i]));
                worst = fmax(worst, md);
                CHECK(md <= tol, "%s (%d threads): prompt %zu, %s (pos %zu): max |diff| %.3g > %.3g", name, threads,
                      pi, lj_get(sn, "label")->str, pos, md, tol);
            }
            if (step < greedy->n) {
                const lj_value *g = greedy->items[step];
                int32_t best = 0;
                for (size_t i = 1; i < V; i++)
                    if (logits[i] > logits[best]) best = (int32_t)i;
                if (lj_num(lj_get(g, "margin")) > 2 * tol) {
                    decided++;
                    agreed += best == (int32_t)lj_num(lj_get(g, "token"));
                    CHECK(best == (int32_t)lj_num(lj_get(g, "token")),
                          "%s: greedy step %zu picks %d, llama.cpp %g (margin %g)", name, step, best,
                          lj_num(lj_get(g, "token")), lj_num(lj_get(g, "margin")));
                }
            }
        }
        printf("%-7s %d thread(s) prompt %zu: max |logit diff| %.2e (tolerance %.0e); greedy agrees %d/%d where the "
               "margin > 2x tolerance\n",
               name, threads, pi, worst, tol, agreed, decided);
        ll_context_free(ctx);
    }
    free(logits);
    free(want);
    lj_free(d);
    ll_model_free(m);
}

/* A batch of up to 8 tokens (beams, parallel samples, short prompts) runs
 * the same integer matvecs as single tokens, so for the quantized types a
 * token's logits must not depend on whether it was decoded alone or in a
 * batch: beams and n samples get exactly the numbers a sequential run gets. */
static void batch_equals_sequential(const char *name) {
    char gguf[1024];
    snprintf(gguf, sizeof gguf, "%s/models/synthetic/synth-t1-%s.gguf", tu_shared(), name);
    ll_error err;
    ll_model *m = ll_model_load(gguf, NULL, &err);
    CHECK(m != NULL, "%s: %s", name, err.message);
    if (!m) return;
    size_t V = ll_model_get_info(m)->n_vocab;
    ll_context *c = ll_context_new(m, 32, 2, &err);
    int32_t toks[6] = {1, 17, 29, 101, 7, 55};
    float *a = malloc(V * sizeof *a), *b = malloc(V * sizeof *b);
    CHECK_OK(ll_context_decode(c, toks, 6, a, NULL, &err), err);
    ll_context_rewind(c, 0, &err);
    for (int i = 0; i < 6; i++) CHECK_OK(ll_context_decode(c, &toks[i], 1, b, NULL, &err), err);
    size_t diff = 0;
    for (size_t i = 0; i < V; i++) diff += a[i] != b[i];
    CHECK(diff == 0, "%s: a batch of 6 gives the logits of 6 single decodes bit for bit (%zu differ)", name, diff);
    free(a);
    free(b);
    ll_context_free(c);
    ll_model_free(m);
}

int main(void) {
    for (size_t i = 0; i < LL_ARRAY_LEN(files); i++) {
        run_file(files[i].name, files[i].tol, 1);
        run_file(files[i].name, files[i].tol, 2);
    }
    static const char *const integer_types[] = {"Q4_0", "Q8_0", "Q4_K_M", "Q5_K_M", "Q6_K"};
    for (size_t i = 0; i < LL_ARRAY_LEN(integer_types); i++) batch_equals_sequential(integer_types[i]);
    return tu_finish("synthetic");
}
