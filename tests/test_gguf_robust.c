/*
 * test_gguf_robust.c - hostile input for the GGUF reader, the model
 * loader and the tokenizer loader, on a real file (stories260K.gguf):
 *  - truncated at every offset of the header, metadata and tensor
 *    directory, and of the first tensor; beyond that at every 251st offset
 *    (every prefix of the data section takes the same checks, a tensor
 *    bound, so the stride loses no code path) - each must fail with a
 *    message, never crash;
 *  - 3000 copies with 1 to 8 random bytes overwritten (anywhere in the
 *    header and metadata) - each must load or fail cleanly;
 *  - hand-made headers with absurd counts, lengths, types and offsets.
 * Run under AddressSanitizer in CI, where an out-of-bounds read fails.
 */
#include "format/gguf.h"
#include "test_util.h"

/* Loads everything a model load does from memory; returns whether it worked. */
static bool try_load(const uint8_t *b, size_t n, ll_error *err) {
    uint8_t *copy = malloc(n ? n : 1); /* exact-size copy: ASan sees reads past the end */
    memcpy(copy, b, n);
    ll_model *m = ll_model_load_memory(copy, n, err);
    bool ok = m != NULL;
    if (m) {
        /* a loaded model must also run */
        ll_context *c = ll_context_new(m, 8, 1, err);
        if (c) {
            int32_t t = 1;
            float *lg = malloc(ll_model_get_info(m)->n_vocab * sizeof *lg);
            ll_context_decode(c, &t, 1, lg, NULL, err);
            free(lg);
            ll_context_free(c);
        }
        ll_model_free(m);
    }
    free(copy);
    return ok;
}

static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(void) {
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void handmade(void) {
    ll_error err;
    uint8_t b[256];
    memset(b, 0, sizeof b);
    memcpy(b, "GGUF", 4);
    put32(b + 4, 3);
    put64(b + 8, 0);
    put64(b + 16, 0xFFFFFFFFFFFFull); /* absurd metadata count */
    CHECK(ll_gguf_open_memory(b, sizeof b, &err) == NULL && strstr(err.message, "metadata entries"), "kv count: %s",
          err.message);
    put64(b + 16, 1);
    put64(b + 24, 0xFFFFFFFFFFFFFFFFull); /* key length past the end */
    CHECK(ll_gguf_open_memory(b, sizeof b, &err) == NULL && strstr(err.message, "length"), "key length: %s", err.message);
    put64(b + 24, 3);
    memcpy(b + 32, "abc", 3);
    put32(b + 35, 99); /* value type */
    CHECK(ll_gguf_open_memory(b, sizeof b, &err) == NULL && strstr(err.message, "value type 99"), "type: %s",
          err.message);
    put32(b + 35, 9); /* array */
    put32(b + 39, 4);
    put64(b + 43, 0x4000000000000000ull); /* 2^62 uint32 elements */
    CHECK(ll_gguf_open_memory(b, sizeof b, &err) == NULL && strstr(err.message, "past the end"), "array: %s",
          err.message);
    put32(b + 4, 1);
    CHECK(ll_gguf_open_memory(b, sizeof b, &err) == NULL && strstr(err.message, "version 1"), "version: %s",
          err.message);
    CHECK(ll_gguf_open_memory(b, 10, &err) == NULL && strstr(err.message, "too short"), "short: %s", err.message);
    memcpy(b, "GGML", 4);
    CHECK(ll_gguf_open_memory(b, sizeof b, &err) == NULL && strstr(err.message, "not a GGUF file"), "magic: %s",
          err.message);
    /* a tensor with 5 dimensions, then one whose data is out of the file */
    memset(b, 0, sizeof b);
    memcpy(b, "GGUF", 4);
    put32(b + 4, 3);
    put64(b + 8, 1);
    put64(b + 16, 0);
    put64(b + 24, 1);
    b[32] = 'w';
    put32(b + 33, 5);
    CHECK(ll_gguf_open_memory(b, sizeof b, &err) == NULL && strstr(err.message, "5 dimensions"), "dims: %s",
          err.message);
    put32(b + 33, 1);
    put64(b + 37, 1000);
    put32(b + 45, 0);
    put64(b + 49, 0);
    CHECK(ll_gguf_open_memory(b, sizeof b, &err) == NULL && strstr(err.message, "truncated"), "data bound: %s",
          err.message);
    put32(b + 45, 77);
    CHECK(ll_gguf_open_memory(b, sizeof b, &err) == NULL && strstr(err.message, "type id 77"), "tensor type: %s",
          err.message);
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", tu_shared());
    size_t n;
    uint8_t *file = (uint8_t *)tu_read_file(path, &n);
    if (!file) {
        fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    ll_error err;
    CHECK(try_load(file, n, &err), "the intact file loads: %s", err.message);
    /* data section start and the first tensor's end */
    ll_gguf *g = ll_gguf_open_memory(file, n, &err);
    size_t data = g ? (size_t)g->data_offset : 16384, first_end = data;
    for (uint64_t i = 0; g && i < g->n_tensors; i++)
        if (g->tensors[i].offset == 0) first_end = data + (size_t)g->tensors[i].n_bytes;
    ll_gguf_close(g);
    size_t truncations = 0, unhelpful = 0;
    for (size_t cut = 0; cut < n; cut += cut < first_end ? 1 : 251) {
        ll_error_clear(&err);
        bool ok = try_load(file, cut, &err);
        CHECK(!ok, "a file truncated at %zu bytes must not load", cut);
        if (!strstr(err.message, "offset") && !strstr(err.message, "truncated") && !strstr(err.message, "short") &&
            !strstr(err.message, "past the end") && !strstr(err.message, "ends inside") && !strstr(err.message, "missing"))
            unhelpful++;
        truncations++;
    }
    CHECK(unhelpful == 0, "%zu truncation errors do not say where or what", unhelpful);
    size_t loaded = 0;
    uint8_t *copy = malloc(n);
    for (int trial = 0; trial < 3000; trial++) {
        memcpy(copy, file, n);
        int flips = 1 + (int)(rnd() % 8);
        for (int f = 0; f < flips; f++) copy[rnd() % data] = (uint8_t)rnd();
        ll_error_clear(&err);
        if (try_load(copy, n, &err)) loaded++;
        else CHECK(err.message[0] != '\0', "a rejected file has a message");
    }
    free(copy);
    printf("%zu truncations rejected; 3000 corrupted copies: %zu still loaded (and ran), %zu rejected cleanly\n",
           truncations, loaded, 3000 - loaded);
    handmade();
    free(file);
    return tu_finish("gguf robustness");
}
