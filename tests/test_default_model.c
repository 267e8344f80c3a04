/*
 * test_default_model.c - the model compiled into the binary: it is the
 * committed file whose sha256 docs/default-model.md states, it loads with
 * its SentencePiece vocabulary, and it meets the quality bar of the
 * teaching examples: greedy KJV English from "And God said", a low
 * temperature that loops, and a repetition penalty that breaks the loop.
 */
#include "test_util.h"

/* ---- SHA-256 (FIPS 180-4), enough to check one file ---- */

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256(const uint8_t *msg, size_t len, uint8_t out[32]) {
    static const uint32_t K[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t total = ((len + 9 + 63) / 64) * 64;
    for (size_t off = 0; off < total; off += 64) {
        uint8_t block[64];
        for (size_t i = 0; i < 64; i++) {
            size_t k = off + i;
            uint8_t b = 0;
            if (k < len) b = msg[k];
            else if (k == len) b = 0x80;
            else if (k >= total - 8) b = (uint8_t)(((uint64_t)len * 8) >> (8 * (total - 1 - k)));
            block[i] = b;
        }
        uint32_t w[64];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 | (uint32_t)block[4 * i + 2] << 8 |
                   block[4 * i + 3];
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
            uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
    }
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
}

static ll_generate_result gen(ll_model *m, const char *prompt, float temperature, uint32_t seed, float rep, int n) {
    ll_error err;
    ll_context *c = ll_context_new(m, 0, 1, &err);
    ll_lm lm;
    ll_lm_from_context(&lm, c);
    const ll_tokenizer *tok = ll_model_get_tokenizer(m);
    int32_t *ids;
    size_t n_ids;
    ll_tokenize(tok, prompt, strlen(prompt), true, false, &ids, &n_ids, &err);
    ll_generate_params p;
    ll_generate_params_init(&p, LL_PROFILE_LLAMACPP);
    p.sampling.temperature = temperature;
    p.sampling.seed = seed;
    p.sampling.repetition_penalty = rep;
    p.max_new_tokens = n;
    p.ignore_eos = true;
    ll_generate_result r;
    ll_status st = ll_generate(&lm, tok, ids, n_ids, &p, &r, &err);
    CHECK_OK(st, err);
    free(ids);
    ll_context_free(c);
    return r;
}

/* Token 4-grams that occur more than once: a loop's signature. */
static size_t repeated_4grams(const ll_generation *g) {
    size_t rep = 0;
    for (size_t i = 0; i + 4 <= g->n_tokens; i++)
        for (size_t j = 0; j < i; j++)
            if (!memcmp(g->tokens + i, g->tokens + j, 4 * sizeof(int32_t))) {
                rep++;
                break;
            }
    return rep;
}

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : ".";
    size_t size;
    const uint8_t *bytes = ll_default_model_bytes(&size);
    uint8_t digest[32];
    sha256(bytes, size, digest);
    char hex[65];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    uint8_t check[32];
    sha256((const uint8_t *)"abc", 3, check);
    CHECK(check[0] == 0xba && check[31] == 0xad, "sha256 itself (FIPS 180-4 'abc' vector)");

    char path[1024];
    snprintf(path, sizeof path, "%s/docs/default-model.md", root);
    char *doc = tu_read_file(path, NULL);
    CHECK(doc != NULL, "docs/default-model.md exists");
    CHECK(doc && strstr(doc, hex), "the embedded model's sha256 %s is the one docs/default-model.md states", hex);
    free(doc);

    ll_error err;
    ll_model *m = ll_model_load_default(&err);
    CHECK(m != NULL, "the embedded model loads: %s", m ? "" : err.message);
    if (!m) return tu_finish("default model");
    const ll_model_info *in = ll_model_get_info(m);
    CHECK(size <= 8u << 20, "at most 8 MiB (%zu bytes)", size);
    CHECK(!strcmp(in->arch, "llama") && in->n_vocab == 4096 && in->n_layers == 6 && in->dim == 256,
          "a 6-layer Llama with a 4096-token vocabulary");
    const ll_tokenizer *tok = ll_model_get_tokenizer(m);
    CHECK(tok && ll_tokenizer_get_kind(tok) == LL_TOKENIZER_SPM && ll_tokenizer_adds_bos(tok),
          "its SentencePiece vocabulary, adding BOS");

    /* greedy: KJV English */
    ll_generate_result r = gen(m, "And God said", 0.0f, 0, 1.0f, 30);
    const char *want = " unto me, Go, I pray thee, and go, and I will shew thee what thou hast done.";
    CHECK(r.n_seqs == 1 && !strncmp(r.seqs[0].text, want, strlen(want)), "greedy from 'And God said': '%s'",
          r.n_seqs ? r.seqs[0].text : "");
    ll_generate_result_free(&r);

    /* a low temperature loops; the repetition penalty breaks the loop */
    ll_generate_result lo = gen(m, "And God said", 0.2f, 5, 1.0f, 120);
    ll_generate_result pen = gen(m, "And God said", 0.2f, 5, 1.3f, 120);
    size_t a = repeated_4grams(&lo.seqs[0]), b = repeated_4grams(&pen.seqs[0]);
    CHECK(a >= 15, "temperature 0.2 loops: %zu repeated 4-grams in 120 tokens", a);
    CHECK(b * 3 <= a, "repetition_penalty 1.3 breaks it: %zu repeated 4-grams (vs %zu)", b, a);
    ll_generate_result_free(&lo);
    ll_generate_result_free(&pen);
    ll_model_free(m);
    return tu_finish("default model");
}
