/*
 * test_hostile_model.c - crafted model files that must be clean errors
 * (issue 9): each class is generated here, in memory, by a raw GGUF byte
 * builder and a llama2.c header builder (the well-formed writer in
 * src/model/gguf_write.c cannot lie about sizes), then loaded through
 * ll_gguf_open_memory / ll_model_load_memory, or ll_model_load on a
 * temporary file. Every case asserts that the load fails and that the
 * message names the key or field and the value; the quadratic cases
 * (80,000 keys, 80,000 tensors) must finish within a generous bound; a FIFO
 * and a directory given as the model must fail at once, by kind.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "format/gguf.h"
#include "test_util.h"

/* ---- raw GGUF: metadata and tensor directory written as given ---- */

enum { T_U8 = 0, T_U32 = 4, T_I32 = 5, T_F32 = 6, T_STR = 8, T_ARR = 9, T_F64 = 12 };

typedef struct {
    tu_bytes kv, ti, data;
    uint64_t n_kv, n_tensors;
} gguf_b;

static void kv_u32(gguf_b *g, const char *key, uint32_t v) {
    tu_put_str(&g->kv, key);
    tu_put_u32(&g->kv, T_U32);
    tu_put_u32(&g->kv, v);
    g->n_kv++;
}
static void kv_f32(gguf_b *g, const char *key, float v) {
    tu_put_str(&g->kv, key);
    tu_put_u32(&g->kv, T_F32);
    tu_put_f32(&g->kv, v);
    g->n_kv++;
}
static void kv_f64(gguf_b *g, const char *key, double v) {
    tu_put_str(&g->kv, key);
    tu_put_u32(&g->kv, T_F64);
    tu_put_f64(&g->kv, v);
    g->n_kv++;
}
static void kv_str(gguf_b *g, const char *key, const char *v) {
    tu_put_str(&g->kv, key);
    tu_put_u32(&g->kv, T_STR);
    tu_put_str(&g->kv, v);
    g->n_kv++;
}

/* A tensor of ggml type `type` whose data is `bytes` zero bytes at the
 * next 32-aligned data offset (bytes may lie: 0 for a wrapped size). */
static void tensor(gguf_b *g, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t bytes) {
    while (g->data.n % 32) tu_put_u8(&g->data, 0);
    tu_put_str(&g->ti, name);
    tu_put_u32(&g->ti, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) tu_put_u64(&g->ti, ne[d]);
    tu_put_u32(&g->ti, type);
    tu_put_u64(&g->ti, g->data.n);
    tu_put_zeros(&g->data, bytes);
    g->n_tensors++;
}
static void tensor_f32(gguf_b *g, const char *name, uint64_t cols, uint64_t rows) {
    uint64_t ne[2] = {cols, rows}, bytes;
    /* a size that wraps or is absurd is written as 0 bytes: the lie the reader must catch */
    if (__builtin_mul_overflow(cols * 4, rows ? rows : 1, &bytes) || cols > (1u << 30) || bytes > (64u << 20))
        bytes = 0;
    tensor(g, name, rows ? 2 : 1, ne, LL_T_F32, bytes);
}

/* The file: header, metadata, tensor directory, padding to 32, data. The
 * counts in the header are the ones given (n_kv/n_tensors = UINT64_MAX:
 * those written). */
static uint8_t *gguf_finish(gguf_b *g, uint64_t n_tensors, uint64_t n_kv, size_t *size) {
    tu_bytes f = {0};
    tu_put(&f, "GGUF", 4);
    tu_put_u32(&f, 3);
    tu_put_u64(&f, n_tensors == UINT64_MAX ? g->n_tensors : n_tensors);
    tu_put_u64(&f, n_kv == UINT64_MAX ? g->n_kv : n_kv);
    tu_put(&f, g->kv.b, g->kv.n);
    tu_put(&f, g->ti.b, g->ti.n);
    if (g->n_tensors) {
        while (f.n % 32) tu_put_u8(&f, 0);
        tu_put(&f, g->data.b, g->data.n);
    }
    free(g->kv.b);
    free(g->ti.b);
    free(g->data.b);
    memset(g, 0, sizeof *g);
    *size = f.n;
    return f.b ? f.b : calloc(1, 1);
}

/* ---- a small Llama model in that raw form, with knobs to break it ---- */

typedef struct {
    uint32_t dim, heads, kv_heads, ffn, layers;
    uint32_t n_tokens; /* tokenizer.ggml.tokens */
    uint64_t emb_rows; /* token_embd.weight rows */
    uint64_t out_rows; /* output.weight rows; 0: tied (absent) */
    bool no_kv_heads;  /* leave head_count_kv out */
    int64_t ctx;       /* context_length; < 0: absent */
    int64_t ffn_meta;  /* feed_forward_length written; < 0: ffn */
    int64_t rope_dims; /* rope.dimension_count; < 0: absent */
    bool eps_set, eps_f64;
    double eps;
    bool base_set, base_f64;
    double base;
    uint32_t extra_keys;      /* filler metadata "x.key.NNNNNN" */
    uint32_t extra_tensors;   /* filler F32 [1] tensors "x.t.NNNNNN" */
    bool dup_key, dup_tensor; /* one filler repeated (the last) */
} spec;

static spec base_spec(void) {
    spec s = {0};
    s.dim = 8, s.heads = 2, s.kv_heads = 2, s.ffn = 16, s.layers = 1;
    s.n_tokens = 260, s.emb_rows = 260, s.out_rows = 260;
    s.ctx = 64, s.rope_dims = -1, s.ffn_meta = -1;
    return s;
}

static uint8_t *make_model(const spec *s, size_t *size) {
    gguf_b g = {0};
    char k[64];
    kv_str(&g, "general.architecture", "llama");
    kv_str(&g, "general.name", "hostile");
    if (s->ctx >= 0) kv_u32(&g, "llama.context_length", (uint32_t)s->ctx);
    kv_u32(&g, "llama.embedding_length", s->dim);
    kv_u32(&g, "llama.block_count", s->layers);
    kv_u32(&g, "llama.feed_forward_length", s->ffn_meta < 0 ? s->ffn : (uint32_t)s->ffn_meta);
    kv_u32(&g, "llama.attention.head_count", s->heads);
    if (!s->no_kv_heads) kv_u32(&g, "llama.attention.head_count_kv", s->kv_heads);
    if (s->rope_dims >= 0) kv_u32(&g, "llama.rope.dimension_count", (uint32_t)s->rope_dims);
    if (s->eps_set) {
        if (s->eps_f64)
            kv_f64(&g, "llama.attention.layer_norm_rms_epsilon", s->eps);
        else
            kv_f32(&g, "llama.attention.layer_norm_rms_epsilon", (float)s->eps);
    }
    if (s->base_set) {
        if (s->base_f64)
            kv_f64(&g, "llama.rope.freq_base", s->base);
        else
            kv_f32(&g, "llama.rope.freq_base", (float)s->base);
    }
    /* a SentencePiece vocabulary: <unk> <s> </s>, the 256 byte tokens, fillers */
    kv_str(&g, "tokenizer.ggml.model", "llama");
    tu_put_str(&g.kv, "tokenizer.ggml.tokens");
    tu_put_u32(&g.kv, T_ARR);
    tu_put_u32(&g.kv, T_STR);
    tu_put_u64(&g.kv, s->n_tokens);
    for (uint32_t i = 0; i < s->n_tokens; i++) {
        if (i == 0)
            snprintf(k, sizeof k, "<unk>");
        else if (i == 1)
            snprintf(k, sizeof k, "<s>");
        else if (i == 2)
            snprintf(k, sizeof k, "</s>");
        else if (i < 259)
            snprintf(k, sizeof k, "<0x%02X>", i - 3);
        else
            snprintf(k, sizeof k, "w%u", i);
        tu_put_str(&g.kv, k);
    }
    g.n_kv++;
    tu_put_str(&g.kv, "tokenizer.ggml.scores");
    tu_put_u32(&g.kv, T_ARR);
    tu_put_u32(&g.kv, T_F32);
    tu_put_u64(&g.kv, s->n_tokens);
    for (uint32_t i = 0; i < s->n_tokens; i++) tu_put_f32(&g.kv, i < 259 ? 0.0f : -(float)i);
    g.n_kv++;
    tu_put_str(&g.kv, "tokenizer.ggml.token_type");
    tu_put_u32(&g.kv, T_ARR);
    tu_put_u32(&g.kv, T_I32);
    tu_put_u64(&g.kv, s->n_tokens);
    for (uint32_t i = 0; i < s->n_tokens; i++) tu_put_u32(&g.kv, i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1);
    g.n_kv++;
    kv_u32(&g, "tokenizer.ggml.unknown_token_id", 0);
    kv_u32(&g, "tokenizer.ggml.bos_token_id", 1);
    kv_u32(&g, "tokenizer.ggml.eos_token_id", 2);
    for (uint32_t i = 0; i < s->extra_keys; i++) {
        snprintf(k, sizeof k, "x.key.%06u", s->dup_key && i + 1 == s->extra_keys ? 0 : i);
        kv_u32(&g, k, i);
    }
    if (s->dup_key && s->extra_keys == 0) kv_str(&g, "general.name", "again");

    uint32_t d = s->dim, kvd = s->dim / s->heads * s->kv_heads;
    tensor_f32(&g, "token_embd.weight", d, s->emb_rows);
    if (s->out_rows) tensor_f32(&g, "output.weight", d, s->out_rows);
    tensor_f32(&g, "output_norm.weight", d, 0);
    for (uint32_t l = 0; l < s->layers; l++) {
        char nm[64];
#define T(suffix, c, r)                                                                                                \
    snprintf(nm, sizeof nm, "blk.%u." suffix ".weight", l);                                                            \
    tensor_f32(&g, nm, c, r)
        T("attn_q", d, d);
        T("attn_k", d, kvd);
        T("attn_v", d, kvd);
        T("attn_output", d, d);
        T("ffn_gate", d, s->ffn);
        T("ffn_down", s->ffn, d);
        T("ffn_up", d, s->ffn);
        T("attn_norm", d, 0);
        T("ffn_norm", d, 0);
#undef T
    }
    for (uint32_t i = 0; i < s->extra_tensors; i++) {
        snprintf(k, sizeof k, "x.t.%06u", s->dup_tensor && i + 1 == s->extra_tensors ? 0 : i);
        tensor_f32(&g, k, 1, 0);
    }
    if (s->dup_tensor && s->extra_tensors == 0) tensor_f32(&g, "output_norm.weight", d, 0);
    return gguf_finish(&g, UINT64_MAX, UINT64_MAX, size);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Loads a spec from memory (an exact-size copy, so ASan sees any read past
 * the end); returns whether it loaded, the error in *err, time in *secs. */
/* A model that loads must also run: one token through a small context. */
static void run_one_token(ll_model *m) {
    ll_error err;
    ll_context *c = ll_context_new(m, 8, 1, &err);
    CHECK(c != NULL, "context: %s", err.message);
    if (!c) return;
    int32_t t = 1;
    float *lg = malloc(ll_model_get_info(m)->n_vocab * sizeof *lg);
    CHECK(ll_context_decode(c, &t, 1, lg, NULL, &err) == LL_OK, "decode: %s", err.message);
    free(lg);
    ll_context_free(c);
}

static bool load_spec(const spec *s, ll_error *err, double *secs) {
    size_t n;
    uint8_t *b = make_model(s, &n);
    ll_error_clear(err);
    double t0 = now_s();
    ll_model *m = ll_model_load_memory(b, n, err);
    if (secs) *secs = now_s() - t0;
    bool ok = m != NULL;
    if (m) {
        run_one_token(m); /* a model that loads must also run */
        ll_model_free(m);
    }
    free(b);
    return ok;
}

/* The load fails and the message contains every one of the NULL-ended needles. */
static void expect_fail(const spec *s, const char *what, ...) {
    ll_error err;
    bool ok = load_spec(s, &err, NULL);
    CHECK(!ok, "%s: must not load", what);
    va_list ap;
    va_start(ap, what);
    for (const char *needle; (needle = va_arg(ap, const char *));)
        CHECK(strstr(err.message, needle) != NULL, "%s: message lacks '%s': %s", what, needle, err.message);
    va_end(ap);
}

static void test_valid_model(void) {
    spec s = base_spec();
    ll_error err;
    CHECK(load_spec(&s, &err, NULL), "the untouched model loads: %s", err.message);
    s.out_rows = 0;
    CHECK(load_spec(&s, &err, NULL), "the tied model loads: %s", err.message);
    s = base_spec();
    s.no_kv_heads = true, s.ctx = -1;
    CHECK(load_spec(&s, &err, NULL), "defaults for absent keys: %s", err.message);
}

/* issue 9, item 1: sizes that wrap, shapes the hyperparameters do not imply */
static void test_sizes_and_shapes(void) {
    ll_error err;
    /* a 2^62-element F32 tensor: 2^64 bytes wrapped to 0 before */
    gguf_b g = {0};
    uint64_t ne[3] = {1ull << 31, 1ull << 31, 1};
    tensor(&g, "huge", 2, ne, LL_T_F32, 0);
    size_t n;
    uint8_t *b = gguf_finish(&g, UINT64_MAX, UINT64_MAX, &n);
    ll_gguf *gg = ll_gguf_open_memory(b, n, &err);
    CHECK(!gg && strstr(err.message, "'huge'") && strstr(err.message, "4611686018427387904") &&
              strstr(err.message, "2^64"),
          "2^62 F32 elements: %s", err.message);
    ll_gguf_close(gg);
    free(b);
    /* dimensions whose product overflows 64 bits */
    uint64_t ne3[3] = {1ull << 32, 1ull << 32, 1ull << 32};
    tensor(&g, "wide", 3, ne3, LL_T_F32, 0);
    b = gguf_finish(&g, UINT64_MAX, UINT64_MAX, &n);
    gg = ll_gguf_open_memory(b, n, &err);
    CHECK(!gg && strstr(err.message, "'wide'") && strstr(err.message, "overflow"), "product: %s", err.message);
    ll_gguf_close(gg);
    free(b);
    /* the model: an embedding of 2^58 rows of 16 = 2^62 elements */
    spec s = base_spec();
    s.dim = 16, s.emb_rows = 1ull << 58, s.out_rows = 0;
    expect_fail(&s, "vocabulary of 2^58", "token_embd.weight", "2^64", NULL);
    /* tokenizer and embedding disagree, both ways */
    s = base_spec();
    s.emb_rows = s.out_rows = 300;
    expect_fail(&s, "fewer tokens than rows", "260", "300", "tokenizer", NULL);
    s = base_spec();
    s.n_tokens = 300;
    expect_fail(&s, "more tokens than rows", "300", "260", "tokenizer", NULL);
    /* the classifier's rows */
    s = base_spec();
    s.out_rows = 261;
    expect_fail(&s, "output rows", "output.weight", "261", "260", NULL);
}

/* issue 9, items 5 and 11: metadata out of range, one named rule per message */
static void test_hyperparameters(void) {
    spec s = base_spec();
    s.heads = 3, s.kv_heads = 3;
    expect_fail(&s, "heads do not divide dim", "embedding_length 8 is not a multiple of", "attention.head_count 3",
                NULL);
    s = base_spec();
    s.heads = 4, s.kv_heads = 3;
    expect_fail(&s, "kv heads do not divide heads", "head_count 4 is not a multiple of", "head_count_kv 3", NULL);
    s = base_spec();
    s.heads = 16, s.kv_heads = 16;
    expect_fail(&s, "more heads than dims", "llama.attention.head_count", "16", "valid: 1 to 8", NULL);
    s = base_spec();
    s.kv_heads = 4;
    expect_fail(&s, "more kv heads than heads", "head_count_kv", "= 4", "valid: 1 to 2", NULL);
    s = base_spec();
    s.layers = 0;
    expect_fail(&s, "no layers", "llama.block_count", "= 0", "valid: 1 to 4096", NULL);
    s = base_spec();
    s.layers = 5000;
    expect_fail(&s, "too many layers", "llama.block_count", "= 5000", "valid: 1 to 4096", NULL);
    s = base_spec();
    s.ctx = 0;
    expect_fail(&s, "no context", "llama.context_length", "= 0", "valid: 1 to", NULL);
    s = base_spec();
    s.ffn_meta = 0;
    expect_fail(&s, "no ffn", "llama.feed_forward_length", "= 0", "valid: 1 to", NULL);
    s.ffn_meta = 2000000;
    expect_fail(&s, "huge ffn", "llama.feed_forward_length", "= 2000000", "valid: 1 to 1048576", NULL);
    s.ffn_meta = 32;
    expect_fail(&s, "ffn disagrees with the tensors", "blk.0.ffn_gate.weight", "expected [8, 32]", NULL);
    s = base_spec();
    s.rope_dims = 3;
    expect_fail(&s, "odd rope dims", "rope.dimension_count 3", "odd", NULL);
    s = base_spec();
    s.rope_dims = 6;
    expect_fail(&s, "rope dims over head size", "rope.dimension_count", "= 6", "valid: 0 to 4", NULL);

    const char *eps = "llama.attention.layer_norm_rms_epsilon", *fb = "llama.rope.freq_base";
    struct {
        double v;
        bool f64;
        const char *shown;
    } bad[] = {{0.0, false, "= 0 "},       {-1e-5, false, "= -1e-05"},  {NAN, false, "= nan"},
               {INFINITY, false, "= inf"}, {-INFINITY, true, "= -inf"}, {1e300, true, "= 1e+300"},
               {1e-300, true, "= 1e-300"}};
    for (size_t i = 0; i < LL_ARRAY_LEN(bad); i++) {
        s = base_spec();
        s.eps_set = true, s.eps = bad[i].v, s.eps_f64 = bad[i].f64;
        expect_fail(&s, "rms_eps", eps, bad[i].shown, "valid: a finite number > 0", NULL);
        s = base_spec();
        s.base_set = true, s.base = bad[i].v, s.base_f64 = bad[i].f64;
        expect_fail(&s, "freq_base", fb, bad[i].shown, "valid: a finite number > 0", NULL);
    }
    ll_error err;
    s = base_spec();
    s.eps_set = s.base_set = true, s.eps = 1e-6, s.base = 500000.0;
    CHECK(load_spec(&s, &err, NULL), "valid eps and base load: %s", err.message);
}

/* issue 9, item 4: duplicates found by sorting, many keys and tensors fast */
static void test_quadratic(void) {
    ll_error err;
    spec s = base_spec();
    s.dup_key = true;
    expect_fail(&s, "duplicate key", "metadata key 'general.name' appears twice", NULL);
    s = base_spec();
    s.dup_tensor = true;
    expect_fail(&s, "duplicate tensor", "tensor name 'output_norm.weight' appears twice", NULL);

    double secs;
    s = base_spec();
    s.extra_keys = 80000;
    CHECK(load_spec(&s, &err, &secs), "80,000 keys load: %s", err.message);
    printf("80,000 metadata keys: loaded in %.3f s\n", secs);
    CHECK(secs < 3.0, "80,000 keys took %.1f s (bound 3 s; it was 80 s before)", secs);
    s.dup_key = true;
    CHECK(!load_spec(&s, &err, &secs) && strstr(err.message, "'x.key.000000' appears twice"),
          "duplicate among 80,000: %s", err.message);
    CHECK(secs < 3.0, "80,000 keys with a duplicate took %.1f s", secs);

    s = base_spec();
    s.extra_tensors = 80000;
    CHECK(load_spec(&s, &err, &secs), "80,000 tensors load: %s", err.message);
    printf("80,000 tensors: loaded in %.3f s\n", secs);
    CHECK(secs < 3.0, "80,000 tensors took %.1f s (bound 3 s; it was 55 s before)", secs);
    s.dup_tensor = true;
    CHECK(!load_spec(&s, &err, &secs) && strstr(err.message, "'x.t.000000' appears twice"),
          "duplicate among 80,000 tensors: %s", err.message);
    CHECK(secs < 3.0, "80,000 tensors with a duplicate took %.1f s", secs);
}

/* issue 9, item 4: what a file may declare is bounded, by name */
static void test_limits(void) {
    ll_error err;
    size_t n;
    gguf_b g = {0};
    /* more metadata entries than the limit (the file is small, but the limit is said first) */
    kv_u32(&g, "a", 1);
    uint8_t *b = gguf_finish(&g, 0, (uint64_t)LL_GGUF_MAX_KV + 1, &n);
    CHECK(!ll_gguf_open_memory(b, n, &err) && strstr(err.message, "1048577 metadata entries") &&
              strstr(err.message, "at most 1048576"),
          "kv limit: %s", err.message);
    free(b);
    kv_u32(&g, "a", 1);
    b = gguf_finish(&g, (uint64_t)LL_GGUF_MAX_TENSORS + 1, UINT64_MAX, &n);
    CHECK(!ll_gguf_open_memory(b, n, &err) && strstr(err.message, "1048577 tensors") &&
              strstr(err.message, "at most 1048576"),
          "tensor limit: %s", err.message);
    free(b);
    /* a 70,000-byte key */
    char *longkey = malloc(70001);
    memset(longkey, 'k', 70000);
    longkey[70000] = '\0';
    kv_u32(&g, longkey, 1);
    b = gguf_finish(&g, UINT64_MAX, UINT64_MAX, &n);
    CHECK(!ll_gguf_open_memory(b, n, &err) && strstr(err.message, "length 70000") &&
              strstr(err.message, "at most 65535"),
          "key length: %s", err.message);
    free(b);
    /* a 300-byte tensor name */
    longkey[300] = '\0';
    uint64_t one = 1;
    tensor(&g, longkey, 1, &one, LL_T_F32, 4);
    b = gguf_finish(&g, UINT64_MAX, UINT64_MAX, &n);
    CHECK(!ll_gguf_open_memory(b, n, &err) && strstr(err.message, "length 300") && strstr(err.message, "at most 256"),
          "name length: %s", err.message);
    free(b);
    free(longkey);
    /* a key with a NUL inside would look up as its prefix */
    tu_put_strn(&g.kv, "general.architecture\0x", 22);
    tu_put_u32(&g.kv, T_STR);
    tu_put_str(&g.kv, "llama");
    g.n_kv++;
    b = gguf_finish(&g, UINT64_MAX, UINT64_MAX, &n);
    CHECK(!ll_gguf_open_memory(b, n, &err) && strstr(err.message, "NUL"), "NUL in key: %s", err.message);
    free(b);
    /* an array longer than the limit, inside the file: built directly (64 MiB
     * of zero pages from calloc, not copied) */
    size_t big = (size_t)LL_GGUF_MAX_ARRAY_LEN + 1;
    tu_bytes h = {0};
    tu_put(&h, "GGUF", 4);
    tu_put_u32(&h, 3);
    tu_put_u64(&h, 0);
    tu_put_u64(&h, 1);
    tu_put_str(&h, "big");
    tu_put_u32(&h, T_ARR);
    tu_put_u32(&h, T_U8);
    tu_put_u64(&h, big);
    n = h.n + big;
    b = calloc(1, n);
    memcpy(b, h.b, h.n);
    free(h.b);
    CHECK(!ll_gguf_open_memory(b, n, &err) && strstr(err.message, "'big'") && strstr(err.message, "67108865") &&
              strstr(err.message, "at most 67108864"),
          "array limit: %s", err.message);
    free(b);
    /* arrays nested 5 deep */
    tu_put_str(&g.kv, "nest");
    tu_put_u32(&g.kv, T_ARR);
    for (int i = 0; i < 5; i++) {
        tu_put_u32(&g.kv, T_ARR);
        tu_put_u64(&g.kv, 1);
    }
    tu_put_u32(&g.kv, T_U8);
    tu_put_u64(&g.kv, 0);
    g.n_kv++;
    b = gguf_finish(&g, UINT64_MAX, UINT64_MAX, &n);
    CHECK(!ll_gguf_open_memory(b, n, &err) && strstr(err.message, "nested"), "nesting: %s", err.message);
    free(b);
}

/* ---- llama2.c checkpoints ---- */

static char tmpdir[] = "/tmp/ll_hostile_XXXXXX";

static void write_file(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

/* Loads bytes written to a temporary file; returns whether it loaded. */
static bool load_file(const void *b, size_t n, const char *tokenizer, ll_error *err, ll_model_info *info) {
    char path[256];
    snprintf(path, sizeof path, "%s/model.bin", tmpdir);
    write_file(path, b, n);
    ll_error_clear(err);
    ll_model *m = ll_model_load(path, tokenizer, err);
    if (m && info) *info = *ll_model_get_info(m);
    if (m) run_one_token(m);
    bool ok = m != NULL;
    ll_model_free(m);
    remove(path);
    return ok;
}

/* dim, hidden, layers, heads, kv heads, vocab (negative: separate classifier), seq_len */
typedef struct {
    int32_t h[7];
    int v2;          /* 0: legacy fp32; 1: int8 version 2 */
    int32_t group;   /* v2 */
    uint8_t shared;  /* v2 */
    int64_t payload; /* weight bytes written; < 0: exactly what the header needs */
} l2c_spec;

static l2c_spec l2c_base(void) {
    l2c_spec s = {{8, 16, 1, 2, 2, 32, 16}, 0, 4, 1, -1};
    return s;
}

static uint8_t *make_l2c(const l2c_spec *s, size_t *size) {
    tu_bytes f = {0};
    uint64_t dim = (uint32_t)s->h[0], hid = (uint32_t)s->h[1], L = (uint32_t)s->h[2];
    uint64_t kv = s->h[3] > 0 ? dim / (uint32_t)s->h[3] * (uint32_t)s->h[4] : 0;
    uint64_t V = s->h[5] < 0 ? 0u - (uint64_t)(int64_t)s->h[5] : (uint64_t)s->h[5];
    bool shared = s->v2 ? s->shared : s->h[5] > 0;
    uint64_t weights = V * dim * (shared ? 1 : 2) + L * (2 * dim * dim + 2 * dim * kv + 3 * dim * hid);
    uint64_t norms = (2 * L + 1) * dim;
    uint64_t need;
    if (s->v2) {
        tu_put_u32(&f, 0x616b3432);
        tu_put_u32(&f, 2);
        for (int i = 0; i < 7; i++) tu_put_u32(&f, (uint32_t)s->h[i]);
        tu_put_u8(&f, s->shared);
        tu_put_u32(&f, (uint32_t)s->group);
        tu_put_zeros(&f, 256 - f.n);
        need = norms * 4 + weights + (s->group > 0 ? weights / (uint32_t)s->group * 4 : 0);
    } else {
        for (int i = 0; i < 7; i++) tu_put_u32(&f, (uint32_t)s->h[i]);
        need = (norms + weights + (uint64_t)(uint32_t)s->h[6] * (s->h[3] > 0 ? dim / (uint32_t)s->h[3] : 0)) * 4;
    }
    uint64_t pay = s->payload >= 0 ? (uint64_t)s->payload : need;
    tu_put_zeros(&f, pay > (64u << 20) ? 0 : (size_t)pay);
    *size = f.n;
    return f.b;
}

static void l2c_expect(const l2c_spec *s, const char *what, ...) {
    size_t n;
    uint8_t *b = make_l2c(s, &n);
    ll_error err;
    bool ok = load_file(b, n, NULL, &err, NULL);
    free(b);
    CHECK(!ok, "%s: must not load", what);
    va_list ap;
    va_start(ap, what);
    for (const char *needle; (needle = va_arg(ap, const char *));)
        CHECK(strstr(err.message, needle) != NULL, "%s: message lacks '%s': %s", what, needle, err.message);
    va_end(ap);
}

/* An int8 checkpoint whose activations are all zero (every weight zero)
 * or NaN (a NaN norm): the activation quantizer's 0/0 and NaN -> int8 were
 * undefined behaviour (found by fuzz_llama2c). Zeros give zero logits, a
 * NaN norm gives NaN logits - never an arbitrary number. */
static void int8_nonfinite(void) {
    for (int nan_norm = 0; nan_norm < 2; nan_norm++) {
        l2c_spec s = l2c_base();
        s.v2 = 1;
        size_t n;
        uint8_t *b = make_l2c(&s, &n);
        if (nan_norm) {
            float v = NAN;
            memcpy(b + 256, &v, 4); /* the first attention-norm weight */
        }
        char path[256];
        snprintf(path, sizeof path, "%s/int8.bin", tmpdir);
        write_file(path, b, n);
        free(b);
        ll_error err;
        ll_model *m = ll_model_load(path, NULL, &err);
        CHECK(m != NULL, "int8 %s: %s", nan_norm ? "NaN norm" : "zeros", err.message);
        ll_context *c = m ? ll_context_new(m, 8, 1, &err) : NULL;
        float lg[32];
        int32_t t = 1;
        if (c && ll_context_decode(c, &t, 1, lg, NULL, &err) == LL_OK) {
            size_t bad = 0;
            for (int i = 0; i < 32; i++) bad += nan_norm ? !isnan(lg[i]) : lg[i] != 0.0f;
            CHECK(bad == 0, "int8 %s: %zu logits are not %s", nan_norm ? "NaN norm" : "zeros", bad,
                  nan_norm ? "NaN" : "0");
        } else {
            CHECK(false, "int8 %s: decode: %s", nan_norm ? "NaN norm" : "zeros", err.message);
        }
        ll_context_free(c);
        ll_model_free(m);
        remove(path);
    }
}

/* issue 9, items 1 and 2 for llama2.c */
static void test_llama2c(void) {
    ll_error err;
    ll_model_info info;
    size_t n;
    /* well-formed ones load, with the right sharing */
    l2c_spec s = l2c_base();
    uint8_t *b = make_l2c(&s, &n);
    CHECK(load_file(b, n, NULL, &err, &info) && info.n_vocab == 32 && info.tied_output, "legacy shared: %s",
          err.message);
    free(b);
    s.h[5] = -32;
    b = make_l2c(&s, &n);
    CHECK(load_file(b, n, NULL, &err, &info) && info.n_vocab == 32 && !info.tied_output, "legacy separate: %s",
          err.message);
    free(b);
    s = l2c_base();
    s.v2 = 1;
    b = make_l2c(&s, &n);
    CHECK(load_file(b, n, NULL, &err, &info) && info.n_vocab == 32, "int8: %s", err.message);
    free(b);
    s.shared = 0;
    b = make_l2c(&s, &n);
    CHECK(load_file(b, n, NULL, &err, &info) && !info.tied_output, "int8 separate: %s", err.message);
    free(b);
    int8_nonfinite();
    /* grouped-query attention: kv dimension 4 is not a multiple of the group
     * size 8, and need not be (no quantized row has kv columns) */
    s.shared = 1, s.h[4] = 1, s.group = 8;
    b = make_l2c(&s, &n);
    CHECK(load_file(b, n, NULL, &err, &info) && info.n_kv_heads == 1, "int8 GQA, kv 4, group 8: %s", err.message);
    free(b);

    /* the 60-byte file: vocab_size = INT32_MIN */
    s = l2c_base();
    s.h[5] = INT32_MIN;
    s.payload = 32;
    b = make_l2c(&s, &n);
    CHECK(n == 60, "the file is %zu bytes", n);
    free(b);
    l2c_expect(&s, "vocab INT32_MIN", "vocab_size = -2147483648", "valid: 1 to", NULL);
    static const char *const field[7] = {"dim",        "hidden_dim", "n_layers", "n_heads",
                                         "n_kv_heads", "vocab_size", "seq_len"};
    const int32_t bad[] = {0, -1, INT32_MIN, INT32_MAX};
    for (int f = 0; f < 7; f++)
        for (size_t i = 0; i < LL_ARRAY_LEN(bad); i++) {
            if (f == 5 && bad[i] == -1) continue; /* -1: one token, separate classifier: valid */
            s = l2c_base();
            s.h[f] = bad[i];
            s.payload = 64;
            char want[64], what[64];
            snprintf(want, sizeof want, "%s = %d", field[f], bad[i]);
            snprintf(what, sizeof what, "header %s = %d", field[f], bad[i]);
            l2c_expect(&s, what, want, "out of range", NULL);
            s.v2 = 1;
            l2c_expect(&s, what, want, "out of range", NULL);
        }
    s = l2c_base();
    s.v2 = 1, s.h[5] = -32;
    l2c_expect(&s, "int8 negative vocab", "vocab_size = -32", NULL);
    s = l2c_base();
    s.h[3] = 3, s.h[4] = 3;
    l2c_expect(&s, "heads do not divide dim", "dim 8 is not a multiple of n_heads 3", NULL);
    s = l2c_base();
    s.h[3] = 2, s.h[4] = 3;
    l2c_expect(&s, "kv heads over heads", "n_kv_heads = 3", "valid: 1 to 2", NULL);
    s = l2c_base();
    s.h[3] = 4, s.h[4] = 3;
    l2c_expect(&s, "kv heads do not divide heads", "n_heads 4 is not a multiple of n_kv_heads 3", NULL);
    s = l2c_base();
    s.h[0] = 6, s.h[3] = 2, s.h[4] = 2;
    l2c_expect(&s, "odd head size", "head size", "= 3 is odd", NULL);
    /* int8 header: group and shared flag */
    const int32_t bad_group[] = {0, -4, INT32_MIN, 3, 16};
    for (size_t i = 0; i < LL_ARRAY_LEN(bad_group); i++) {
        s = l2c_base();
        s.v2 = 1, s.group = bad_group[i];
        char want[64];
        snprintf(want, sizeof want, "group size %d", bad_group[i]);
        l2c_expect(&s, "int8 group", want, NULL);
    }
    s = l2c_base();
    s.v2 = 1, s.h[1] = 18, s.group = 4;
    l2c_expect(&s, "group vs hidden", "group size 4 does not divide hidden_dim", NULL);
    s = l2c_base();
    s.v2 = 1, s.shared = 2;
    l2c_expect(&s, "shared flag", "shared_classifier) = 2", NULL);
    /* truncation, including headers whose full size is absurd: no allocation, a clear error */
    s = l2c_base();
    s.payload = 100;
    l2c_expect(&s, "truncated", "truncated", NULL);
    s.v2 = 1;
    l2c_expect(&s, "int8 truncated", "truncated", NULL);
    s = l2c_base();
    s.h[0] = 65536, s.h[1] = 1 << 20, s.h[2] = 4096, s.h[3] = 1, s.h[4] = 1, s.h[5] = -(1 << 24), s.h[6] = 1 << 24;
    s.payload = 0;
    l2c_expect(&s, "largest legal header", "truncated", NULL);
    s.v2 = 1, s.group = 65536, s.h[5] = 1 << 24;
    l2c_expect(&s, "largest legal int8 header", "truncated", NULL);

    /* a tokenizer.bin with fewer tokens than the vocabulary */
    tu_bytes t = {0};
    tu_put_u32(&t, 8);
    for (int i = 0; i < 20; i++) {
        char piece[8];
        snprintf(piece, sizeof piece, "t%d", i);
        tu_put_f32(&t, 0.0f);
        tu_put_u32(&t, (uint32_t)strlen(piece));
        tu_put(&t, piece, strlen(piece));
    }
    char tokpath[256];
    snprintf(tokpath, sizeof tokpath, "%s/tokenizer.bin", tmpdir);
    write_file(tokpath, t.b, t.n);
    free(t.b);
    s = l2c_base();
    b = make_l2c(&s, &n);
    CHECK(!load_file(b, n, tokpath, &err, NULL) && strstr(err.message, "20 tokens") && strstr(err.message, "32"),
          "tokenizer.bin of 20 tokens for 32: %s", err.message);
    free(b);
    remove(tokpath);
}

/* issue 9, item 10: special files as -m */
static void test_special_files(void) {
    ll_error err;
    char fifo[256];
    snprintf(fifo, sizeof fifo, "%s/fifo", tmpdir);
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo %s", fifo);
    alarm(60); /* a hang fails the test instead of stalling the suite */
    double t0 = now_s();
    ll_model *m = ll_model_load(fifo, NULL, &err);
    double secs = now_s() - t0;
    CHECK(!m && strstr(err.message, "FIFO") && strstr(err.message, fifo), "FIFO as the model: %s", err.message);
    CHECK(secs < 1.0, "a FIFO took %.2f s to refuse", secs);
    ll_model_free(m);
    t0 = now_s();
    ll_gguf *g = ll_gguf_open(fifo, &err);
    CHECK(!g && strstr(err.message, "FIFO") && now_s() - t0 < 1.0, "FIFO to ll_gguf_open: %s", err.message);
    ll_gguf_close(g);
    alarm(0);
    remove(fifo);
    m = ll_model_load(tmpdir, NULL, &err);
    CHECK(!m && strstr(err.message, "directory"), "directory as the model: %s", err.message);
    ll_model_free(m);
    char missing[256];
    snprintf(missing, sizeof missing, "%s/missing.gguf", tmpdir);
    m = ll_model_load(missing, NULL, &err);
    CHECK(!m && strstr(err.message, "cannot open") && strstr(err.message, "missing.gguf"), "missing: %s", err.message);
    ll_model_free(m);
    /* an empty file */
    CHECK(!load_file("", 0, NULL, &err, NULL) && strstr(err.message, "0 bytes"), "empty file: %s", err.message);
    /* a GGUF model through a file (the map is handed to the parser) */
    spec s = base_spec();
    size_t n;
    uint8_t *b = make_model(&s, &n);
    CHECK(load_file(b, n, NULL, &err, NULL), "GGUF from a file: %s", err.message);
    free(b);
    /* and a broken one names the path */
    s.layers = 0;
    b = make_model(&s, &n);
    CHECK(!load_file(b, n, NULL, &err, NULL) && strstr(err.message, "model.bin") && strstr(err.message, "block_count"),
          "GGUF error names the file: %s", err.message);
    free(b);
}

int main(void) {
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "cannot make a temporary directory\n");
        return 1;
    }
    test_valid_model();
    test_sizes_and_shapes();
    test_hyperparameters();
    test_quadratic();
    test_limits();
    test_llama2c();
    test_special_files();
    rmdir(tmpdir);
    return tu_finish("hostile model files");
}
