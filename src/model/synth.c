/*
 * synth.c - models with random weights for benchmarks and tests
 * (`logitlab synth`): any architecture of arch.c's table, any shape, any
 * tensor type. The keys are the ones the loader reads for the
 * architecture (its soft-caps, window, local RoPE base), the layer tensors
 * come from the layer-tensor table (a fused tensor is written whole, its
 * parts' rows stacked), so a new table row can be synthesized without a
 * line here. Weights: matrices N(0, 0.02), norms 1 + 0.1 N(0, 1), biases
 * 0.02 N(0, 1), from a seeded generator, so a file is the same bytes for
 * the same options on every machine.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../format/gguf_write.h"
#include "../format/tensor_types.h"
#include "../kernels/quant.h"
#include "arch.h"
#include "export.h"

typedef struct {
    uint64_t s;
} rng64;

/* splitmix64: tiny, seedable, the same everywhere */
static uint64_t next64(rng64 *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Box-Muller */
static float gauss(rng64 *r) {
    double u1 = ((double)(next64(r) >> 11) + 1.0) * 0x1p-53, u2 = (double)(next64(r) >> 11) * 0x1p-53;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* llama-quantize's "use more bits" layers of the _M mixes */
static bool more_bits(size_t i, size_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

/* A rows x cols tensor (rows 1: a vector) of offset + scale N(0, 1) in `type`. */
static ll_status add_random(ll_gguf_writer *w, const char *name, uint32_t type, size_t cols, size_t rows, rng64 *r,
                            float scale, float offset, ll_error *err) {
    size_t rb = ll_row_bytes(type, cols), total;
    if (!ll_mul_size_ok(rb, rows, &total))
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "tensor %s: %zu rows of %zu bytes overflow the address space",
                       name, rows, rb);
    uint8_t *data = malloc(total ? total : 1);
    float *row = malloc(cols * sizeof *row);
    ll_status st = LL_OK;
    if (!data || !row) {
        st = ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory for tensor %s (%zu bytes)", name, total);
    } else {
        for (size_t i = 0; i < rows; i++) {
            for (size_t k = 0; k < cols; k++) row[k] = offset + scale * gauss(r);
            ll_quantize_row(type, row, data + i * rb, cols);
        }
        uint64_t ne[2] = {cols, rows};
        st = ll_gguf_add_tensor(w, name, type, ne, rows > 1 ? 2 : 1, data);
        if (st != LL_OK) ll_fail(err, st, "cannot add tensor %s", name);
    }
    free(data);
    free(row);
    return st;
}

/* The shape rules of the loader and of the tensor types, each its own
 * message, before anything is written. */
static ll_status check_options(const ll_synth_options *o, const ll_arch *a, ll_error *err) {
    if (!a) {
        size_t n = ll_arch_names(NULL, 0) + 1;
        char *names = ll_malloc(n, err), q[LL_QUOTE_MAX];
        ll_status st =
            names ? ll_fail(err, LL_ERR_INVALID_ARGUMENT, "architecture '%s' is not one logitlab runs (supported: %s)",
                            ll_quote(q, o->arch, strlen(o->arch)), (ll_arch_names(names, n), names))
                  : LL_ERR_OUT_OF_MEMORY;
        free(names);
        return st;
    }
    const ll_type_info *ti = ll_type_info_of(o->type), *te = ll_type_info_of(o->embd_type);
    if (!ti || !ti->supported || !te || !te->supported)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "tensor type %u / embedding type %u cannot be written", o->type,
                       o->embd_type);
    if (o->vocab < 260 || o->vocab > UINT32_MAX)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                       "vocabulary %zu is out of range: valid is [260, 2^32) (3 specials, 256 byte tokens, pieces)",
                       o->vocab);
    if (!o->heads || !o->kv_heads || o->heads % o->kv_heads)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "heads %zu must be a multiple of kv heads %zu (both >= 1)",
                       o->heads, o->kv_heads);
    if (!o->head_dim || o->head_dim % 2)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "head size %zu must be even and >= 2 (RoPE turns pairs)",
                       o->head_dim);
    if (!o->layers || !o->ctx || !o->ffn || !o->dim)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "dim %zu, layers %zu, ffn %zu and ctx %zu must all be >= 1",
                       o->dim, o->layers, o->ffn, o->ctx);
    /* the matrices' inputs are the width, the query width and the FFN width */
    const struct {
        const char *what;
        size_t n;
        const ll_type_info *t;
    } cols[] = {{"dim", o->dim, ti},
                {"heads x head size", o->heads * o->head_dim, ti},
                {"ffn", o->ffn, ti},
                {"dim", o->dim, te},
                {"dim", o->dim, o->mixed ? ll_type_info_of(LL_T_Q6_K) : ti},
                {"ffn", o->ffn, o->mixed ? ll_type_info_of(LL_T_Q6_K) : ti}};
    for (size_t i = 0; i < LL_ARRAY_LEN(cols); i++)
        if (cols[i].n % cols[i].t->block)
            return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s = %zu is not a multiple of the %s block (%u)",
                           cols[i].what, cols[i].n, cols[i].t->name, cols[i].t->block);
    return LL_OK;
}

/* "<arch>.<suffix>" keys */
static void add_u32k(ll_gguf_writer *w, const char *arch, const char *suffix, size_t v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    ll_gguf_add_u32(w, key, (uint32_t)v);
}

static void add_f32k(ll_gguf_writer *w, const char *arch, const char *suffix, float v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    ll_gguf_add_f32(w, key, v);
}

static void add_keys(ll_gguf_writer *w, const ll_synth_options *o, const ll_arch *a) {
    const char *n = a->name;
    ll_gguf_add_str(w, "general.architecture", n);
    ll_gguf_add_str(w, "general.name", "logitlab synthetic");
    ll_gguf_add_str(w, "general.description", "random weights written by logitlab synth, for benchmarks and tests");
    ll_gguf_add_u32(w, "general.file_type", ll_ftype_of(o->type));
    add_u32k(w, n, "context_length", o->ctx);
    add_u32k(w, n, "embedding_length", o->dim);
    add_u32k(w, n, "block_count", o->layers);
    add_u32k(w, n, "feed_forward_length", o->ffn);
    add_u32k(w, n, "attention.head_count", o->heads);
    add_u32k(w, n, "attention.head_count_kv", o->kv_heads);
    if (o->dim % o->heads || o->head_dim != o->dim / o->heads) {
        add_u32k(w, n, "attention.key_length", o->head_dim);
        add_u32k(w, n, "attention.value_length", o->head_dim);
    }
    add_u32k(w, n, "rope.dimension_count", o->head_dim);
    add_f32k(w, n, "rope.freq_base", 10000.0f);
    add_f32k(w, n, "attention.layer_norm_rms_epsilon", 1e-5f);
    /* the architecture's own parts, at the values its models use */
    if (a->attn_softcap.used && a->attn_softcap.def) add_f32k(w, n, "attn_logit_softcapping", a->attn_softcap.def);
    if (a->final_softcap.used && a->final_softcap.def) add_f32k(w, n, "final_logit_softcapping", a->final_softcap.def);
    if (a->swa_period) add_u32k(w, n, "attention.sliding_window", o->window);
    if (a->swa_own_rope) add_f32k(w, n, "rope.freq_base_swa", 10000.0f);
}

/* placeholder SentencePiece vocabulary: specials, 256 byte tokens, numbered pieces */
static ll_status add_vocab(ll_gguf_writer *w, size_t vocab, ll_error *err) {
    char **tok = calloc(vocab, sizeof *tok);
    float *scores = calloc(vocab, sizeof *scores);
    int32_t *types = calloc(vocab, sizeof *types);
    ll_status st = LL_OK;
    if (!tok || !scores || !types) st = ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory for %zu tokens", vocab);
    for (size_t i = 0; i < vocab && st == LL_OK; i++) {
        char b[32];
        if (i == 0)
            snprintf(b, sizeof b, "<unk>"), types[i] = 2;
        else if (i == 1)
            snprintf(b, sizeof b, "<s>"), types[i] = 3;
        else if (i == 2)
            snprintf(b, sizeof b, "</s>"), types[i] = 3;
        else if (i < 259)
            snprintf(b, sizeof b, "<0x%02X>", (unsigned)(i - 3)), types[i] = 6;
        else
            snprintf(b, sizeof b, "\xe2\x96\x81t%zu", i), types[i] = 1;
        tok[i] = ll_strdup(b, err);
        if (!tok[i]) st = LL_ERR_OUT_OF_MEMORY;
        scores[i] = -(float)i;
    }
    if (st == LL_OK) {
        ll_gguf_add_str(w, "tokenizer.ggml.model", "llama");
        ll_gguf_add_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tok, vocab);
        ll_gguf_add_arr_f32(w, "tokenizer.ggml.scores", scores, vocab);
        ll_gguf_add_arr_i32(w, "tokenizer.ggml.token_type", types, vocab);
        ll_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
        ll_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", 2);
        ll_gguf_add_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    }
    for (size_t i = 0; tok && i < vocab; i++) free(tok[i]);
    free(tok);
    free(scores);
    free(types);
    return st;
}

/* Layer l's tensors, as the layer-tensor table lists them for the row. */
static ll_status add_layer(ll_gguf_writer *w, const ll_synth_options *o, const ll_arch *a, size_t l, rng64 *r,
                           ll_error *err) {
    const size_t dims[LL_DIM_COUNT] = {o->dim, o->heads * o->head_dim, o->kv_heads * o->head_dim, o->ffn, o->head_dim};
    uint32_t big = o->mixed && more_bits(l, o->layers) ? LL_T_Q6_K : o->type;
    ll_status st = LL_OK;
    for (size_t i = 0; i < ll_layer_tensor_count() && st == LL_OK; i++) {
        const ll_layer_tensor *t = ll_layer_tensor_at(i);
        if (!ll_arch_has(a, t)) continue;
        char n[96];
        snprintf(n, sizeof n, "blk.%zu.%s", l, t->name);
        if (t->parts == 0) {
            bool norm = strstr(t->name, "norm") != NULL;
            st = add_random(w, n, LL_T_F32, dims[t->cols], 1, r, norm ? 0.1f : 0.02f, norm ? 1.0f : 0.0f, err);
            continue;
        }
        size_t rows = 0;
        for (unsigned p = 0; p < t->parts; p++) rows += dims[t->rows[p]];
        /* the tensors llama-quantize gives more bits in the _M mixes */
        bool more = !strcmp(t->name, "attn_v.weight") || !strcmp(t->name, "ffn_down.weight");
        st = add_random(w, n, more ? big : o->type, dims[t->cols], rows, r, 0.02f, 0.0f, err);
    }
    return st;
}

ll_status ll_model_synth(const ll_synth_options *o, const char *path, ll_error *err) {
    const ll_arch *a = ll_arch_find(o->arch);
    ll_status st = check_options(o, a, err);
    if (st != LL_OK) return st;
    ll_gguf_writer *w = ll_gguf_writer_new(err);
    if (!w) return err ? err->status : LL_ERR_OUT_OF_MEMORY;
    rng64 r = {o->seed};
    add_keys(w, o, a);
    st = add_vocab(w, o->vocab, err);
    uint32_t out_type = o->mixed || o->type == LL_T_Q4_0 ? LL_T_Q6_K : o->type;
    if (st == LL_OK) st = add_random(w, "token_embd.weight", o->embd_type, o->dim, o->vocab, &r, 0.02f, 0.0f, err);
    if (st == LL_OK && !o->tied) st = add_random(w, "output.weight", out_type, o->dim, o->vocab, &r, 0.02f, 0.0f, err);
    if (st == LL_OK) st = add_random(w, "output_norm.weight", LL_T_F32, o->dim, 1, &r, 0.1f, 1.0f, err);
    for (size_t l = 0; l < o->layers && st == LL_OK; l++) st = add_layer(w, o, a, l, &r, err);
    if (st == LL_OK) st = ll_gguf_write(w, path, err);
    ll_gguf_writer_free(w);
    return st;
}
