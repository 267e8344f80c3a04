/*
 * cmd_bench.c - measuring the forward pass:
 *   logitlab synth -o FILE ...   a Llama GGUF of any shape and type with
 *                                random weights (the project's own writer)
 *   logitlab bench -m MODEL ...  prompt tokens/s and generated tokens/s,
 *                                as llama-bench measures them (pp: one batch
 *                                of random tokens; tg: single-token decodes
 *                                from an empty cache), medians of repeats
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "args.h"
#include "commands.h"
#include "core/internal.h"
#include "kernels/quant.h"
#include "format/gguf_write.h"
#include "util/json.h"

/* ---- synth ---- */

typedef struct {
    uint64_t s;
} rng64;

static uint64_t next64(rng64 *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float gauss(rng64 *r) {
    double u1 = ((double)(next64(r) >> 11) + 1.0) * 0x1p-53, u2 = (double)(next64(r) >> 11) * 0x1p-53;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static uint32_t parse_type(const char *s, bool *mixed) {
    static const struct {
        const char *n;
        uint32_t t;
        bool mixed;
    } types[] = {{"F32", LL_T_F32, 0},   {"F16", LL_T_F16, 0},   {"BF16", LL_T_BF16, 0},  {"Q8_0", LL_T_Q8_0, 0},
                 {"Q4_0", LL_T_Q4_0, 0}, {"Q4_K", LL_T_Q4_K, 0}, {"Q5_K", LL_T_Q5_K, 0},  {"Q6_K", LL_T_Q6_K, 0},
                 {"Q4_K_M", LL_T_Q4_K, 1}, {"Q5_K_M", LL_T_Q5_K, 1}};
    for (size_t i = 0; i < LL_ARRAY_LEN(types); i++)
        if (!strcmp(s, types[i].n)) {
            *mixed = types[i].mixed;
            return types[i].t;
        }
    return UINT32_MAX;
}

/* llama-quantize's "use more bits" layers of the _M mixes */
static bool more_bits(size_t i, size_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static ll_status add_matrix(ll_gguf_writer *w, const char *name, uint32_t type, size_t cols, size_t rows, rng64 *r,
                            float scale, float offset) {
    size_t rb = ll_row_bytes(type, cols);
    uint8_t *data = malloc(rb * rows);
    float *row = malloc(cols * sizeof *row);
    if (!data || !row) {
        free(data);
        free(row);
        return LL_ERR_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < rows; i++) {
        for (size_t k = 0; k < cols; k++) row[k] = offset + scale * gauss(r);
        ll_quantize_row(type, row, data + i * rb, cols);
    }
    uint64_t ne[2] = {cols, rows};
    ll_status st = ll_gguf_add_tensor(w, name, type, ne, rows > 1 ? 2 : 1, data);
    free(data);
    free(row);
    return st;
}

static void synth_usage(FILE *f) {
    fputs("usage: logitlab synth -o FILE [options]\n"
          "Writes a Llama GGUF with random weights (N(0, 0.02); norms 1 + 0.1 N) and a placeholder\n"
          "SentencePiece vocabulary, for benchmarks and tests.\n"
          "  --type T       F32 F16 BF16 Q8_0 Q4_0 Q4_K Q5_K Q6_K Q4_K_M Q5_K_M (default F32)\n"
          "  --vocab N      32000     --dim N      768     --layers N  12\n"
          "  --heads N      12        --kv-heads N (heads) --ffn N    2048\n"
          "  --ctx N        1024      --seed N     1       --untied   a separate output matrix\n",
          f);
}

int ll_cmd_synth(int argc, char **argv) {
    ll_error err;
    ll_error_clear(&err);
    const char *out = NULL, *type_s = "F32";
    long long vocab = 32000, dim = 768, layers = 12, heads = 12, kv = -1, ffn = 2048, ctx = 1024, seed = 1;
    bool tied = true;
    ll_args a;
    ll_args_init(&a, argc, argv, 0);
    int kind;
    while ((kind = ll_args_next(&a)) != 0) {
        const char *v;
        if (kind == 2) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unexpected argument '%s'", LL_Q(a.value));
            goto fail;
        }
#define NUM(F, var, lo, hi)                                                                            \
    if (!strcmp(a.flag, F)) {                                                                          \
        if (!ll_args_value(&a, &v, &err) || !ll_parse_int(a.flag, v, lo, hi, &var, &err)) goto fail; \
        continue;                                                                                      \
    }
        NUM("--vocab", vocab, 260, 1 << 20)
        NUM("--dim", dim, 8, 65536)
        NUM("--layers", layers, 1, 1024)
        NUM("--heads", heads, 1, 1024)
        NUM("--kv-heads", kv, 1, 1024)
        NUM("--ffn", ffn, 8, 1 << 20)
        NUM("--ctx", ctx, 1, 1 << 24)
        NUM("--seed", seed, 0, INT64_MAX)
#undef NUM
        if (!strcmp(a.flag, "-o")) {
            if (!ll_args_value(&a, &out, &err)) goto fail;
        } else if (!strcmp(a.flag, "--type")) {
            if (!ll_args_value(&a, &type_s, &err)) goto fail;
        } else if (!strcmp(a.flag, "--untied")) {
            tied = false;
        } else if (!strcmp(a.flag, "--help") || !strcmp(a.flag, "-h")) {
            synth_usage(stdout);
            return 0;
        } else {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unknown flag '%s' (see logitlab synth --help)", LL_Q(a.flag));
            goto fail;
        }
    }
    if (kv < 0) kv = heads;
    bool mixed;
    uint32_t type = parse_type(type_s, &mixed);
    if (!out) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "-o FILE is required");
        goto fail;
    }
    if (type == UINT32_MAX) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT,
                "--type %s is not one of F32 F16 BF16 Q8_0 Q4_0 Q4_K Q5_K Q6_K Q4_K_M Q5_K_M", type_s);
        goto fail;
    }
    size_t blk = ll_type_info_of(type)->block;
    if (dim % heads || heads % kv || dim % (long long)blk || ffn % (long long)blk) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT,
                "dim %lld must divide by heads %lld, heads by kv heads %lld, and dim and ffn by the %s block (%zu)",
                dim, heads, kv, type_s, blk);
        goto fail;
    }
    ll_gguf_writer *w = ll_gguf_writer_new(&err);
    if (!w) goto fail;
    rng64 r = {(uint64_t)seed};
    ll_gguf_add_str(w, "general.architecture", "llama");
    ll_gguf_add_str(w, "general.name", "logitlab synthetic");
    ll_gguf_add_str(w, "general.description", "random weights written by logitlab synth, for benchmarks and tests");
    ll_gguf_add_u32(w, "llama.context_length", (uint32_t)ctx);
    ll_gguf_add_u32(w, "llama.embedding_length", (uint32_t)dim);
    ll_gguf_add_u32(w, "llama.block_count", (uint32_t)layers);
    ll_gguf_add_u32(w, "llama.feed_forward_length", (uint32_t)ffn);
    ll_gguf_add_u32(w, "llama.attention.head_count", (uint32_t)heads);
    ll_gguf_add_u32(w, "llama.attention.head_count_kv", (uint32_t)kv);
    ll_gguf_add_u32(w, "llama.rope.dimension_count", (uint32_t)(dim / heads));
    ll_gguf_add_f32(w, "llama.rope.freq_base", 10000.0f);
    ll_gguf_add_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    /* placeholder vocabulary: specials, 256 byte tokens, numbered pieces */
    char **tok = calloc((size_t)vocab, sizeof *tok);
    float *scores = calloc((size_t)vocab, sizeof *scores);
    int32_t *types = calloc((size_t)vocab, sizeof *types);
    if (!tok || !scores || !types) {
        free(tok);
        free(scores);
        free(types);
        ll_gguf_writer_free(w);
        ll_fail(&err, LL_ERR_OUT_OF_MEMORY, "out of memory");
        goto fail;
    }
    for (long long i = 0; i < vocab; i++) {
        char b[32];
        if (i == 0) snprintf(b, sizeof b, "<unk>"), types[i] = 2;
        else if (i == 1) snprintf(b, sizeof b, "<s>"), types[i] = 3;
        else if (i == 2) snprintf(b, sizeof b, "</s>"), types[i] = 3;
        else if (i < 259) snprintf(b, sizeof b, "<0x%02X>", (unsigned)(i - 3)), types[i] = 6;
        else snprintf(b, sizeof b, "\xe2\x96\x81t%lld", i), types[i] = 1;
        tok[i] = ll_strdup(b, &err);
        scores[i] = -(float)i;
    }
    ll_gguf_add_str(w, "tokenizer.ggml.model", "llama");
    ll_gguf_add_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tok, (size_t)vocab);
    ll_gguf_add_arr_f32(w, "tokenizer.ggml.scores", scores, (size_t)vocab);
    ll_gguf_add_arr_i32(w, "tokenizer.ggml.token_type", types, (size_t)vocab);
    ll_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
    ll_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", 2);
    ll_gguf_add_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    for (long long i = 0; i < vocab; i++) free(tok[i]);
    free(tok);
    free(scores);
    free(types);
    ll_status st = LL_OK;
    size_t kvd = (size_t)(dim / heads * kv);
    uint32_t out_type = mixed || type == LL_T_Q4_0 ? LL_T_Q6_K : type;
    st = add_matrix(w, "token_embd.weight", type, (size_t)dim, (size_t)vocab, &r, 0.02f, 0.0f);
    if (st == LL_OK && !tied) st = add_matrix(w, "output.weight", out_type, (size_t)dim, (size_t)vocab, &r, 0.02f, 0.0f);
    if (st == LL_OK) st = add_matrix(w, "output_norm.weight", LL_T_F32, (size_t)dim, 1, &r, 0.1f, 1.0f);
    for (long long l = 0; l < layers && st == LL_OK; l++) {
        char n[96];
        uint32_t big = mixed && more_bits((size_t)l, (size_t)layers) ? LL_T_Q6_K : type;
#define M(suffix, ty, c, rows)                                                               \
    snprintf(n, sizeof n, "blk.%lld.%s.weight", l, suffix);                                  \
    if (st == LL_OK) st = add_matrix(w, n, ty, (size_t)(c), (size_t)(rows), &r, 0.02f, 0.0f);
        M("attn_q", type, dim, dim)
        M("attn_k", type, dim, kvd)
        M("attn_v", big, dim, kvd)
        M("attn_output", type, dim, dim)
        M("ffn_gate", type, dim, ffn)
        M("ffn_up", type, dim, ffn)
        M("ffn_down", big, ffn, dim)
#undef M
        snprintf(n, sizeof n, "blk.%lld.attn_norm.weight", l);
        if (st == LL_OK) st = add_matrix(w, n, LL_T_F32, (size_t)dim, 1, &r, 0.1f, 1.0f);
        snprintf(n, sizeof n, "blk.%lld.ffn_norm.weight", l);
        if (st == LL_OK) st = add_matrix(w, n, LL_T_F32, (size_t)dim, 1, &r, 0.1f, 1.0f);
    }
    if (st != LL_OK) {
        ll_gguf_writer_free(w);
        ll_fail(&err, st, "cannot build the model (out of memory)");
        goto fail;
    }
    st = ll_gguf_write(w, out, &err);
    ll_gguf_writer_free(w);
    if (st != LL_OK) goto fail;
    return 0;
fail:
    fprintf(stderr, "logitlab synth: %s\n", err.message);
    return err.status == LL_ERR_INVALID_ARGUMENT ? 2 : 1;
}

/* ---- bench ---- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void bench_usage(FILE *f) {
    fputs("usage: logitlab bench -m MODEL [-p 128] [-n 64] [-t 1,2] [-r 3] [--json]\n"
          "pp: a batch of -p random tokens from an empty cache; tg: -n single-token decodes from an\n"
          "empty cache; each repeated -r times after a warm-up, median tokens/s. Peak RSS at the end.\n",
          f);
}

int ll_cmd_bench(int argc, char **argv) {
    ll_error err;
    ll_error_clear(&err);
    const char *model = NULL, *tokenizer = NULL, *threads_s = "2";
    long long pp = 128, tg = 64, reps = 3;
    bool json = false;
    ll_args a;
    ll_args_init(&a, argc, argv, 0);
    int kind;
    while ((kind = ll_args_next(&a)) != 0) {
        const char *v;
        if (kind == 2) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unexpected argument '%s'", LL_Q(a.value));
            goto fail;
        }
        if (!strcmp(a.flag, "-m") || !strcmp(a.flag, "--model")) {
            if (!ll_args_value(&a, &model, &err)) goto fail;
        } else if (!strcmp(a.flag, "--tokenizer")) {
            if (!ll_args_value(&a, &tokenizer, &err)) goto fail;
        } else if (!strcmp(a.flag, "-p")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(a.flag, v, 0, 1 << 20, &pp, &err)) goto fail;
        } else if (!strcmp(a.flag, "-n")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(a.flag, v, 0, 1 << 20, &tg, &err)) goto fail;
        } else if (!strcmp(a.flag, "-r")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(a.flag, v, 1, 1000, &reps, &err)) goto fail;
        } else if (!strcmp(a.flag, "-t")) {
            if (!ll_args_value(&a, &threads_s, &err)) goto fail;
        } else if (!strcmp(a.flag, "--json")) {
            json = true;
        } else if (!strcmp(a.flag, "--help") || !strcmp(a.flag, "-h")) {
            bench_usage(stdout);
            return 0;
        } else {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unknown flag '%s' (see logitlab bench --help)", LL_Q(a.flag));
            goto fail;
        }
    }
    if (!model) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "-m MODEL is required");
        goto fail;
    }
    int32_t *threads = NULL;
    size_t n_threads = 0;
    if (!ll_parse_id_list("-t", threads_s, &threads, &n_threads, &err)) {
        free(threads);
        goto fail;
    }
    if (n_threads == 0) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "-t: give one or more thread counts, e.g. 1,2");
        goto fail;
    }
    for (size_t i = 0; i < n_threads; i++)
        if (threads[i] < 1 || threads[i] > 512) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "-t: item %zu = %d is out of range: valid is [1, 512]", i + 1,
                    threads[i]);
            free(threads);
            goto fail;
        }
    double t0 = now_s();
    ll_model *m = ll_cli_load_model(model, tokenizer, &err);
    if (!m) {
        free(threads);
        goto fail;
    }
    double load_s = now_s() - t0;
    const ll_model_info *in = ll_model_get_info(m);
    size_t V = in->n_vocab, n_ctx = (size_t)(pp > tg ? pp : tg) + 1;
    float *logits = malloc(V * sizeof *logits);
    int32_t *toks = malloc(((size_t)(pp > tg ? pp : tg) + 1) * sizeof *toks);
    double *samples = malloc((size_t)reps * sizeof *samples);
    ll_status st = LL_OK;
    if (!logits || !toks || !samples) {
        st = ll_fail(&err, LL_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    rng64 r = {7};
    for (long long i = 0; i <= (pp > tg ? pp : tg); i++) toks[i] = (int32_t)(next64(&r) % V);
    if (!json)
        printf("model: %s (%s, %llu params, %.1f MiB), load %.3f s, simd %s\n", model, in->file_type,
               (unsigned long long)in->n_params, (double)in->file_bytes / 1048576.0, load_s, ll_simd_level_name());
    for (size_t ti = 0; ti < n_threads && st == LL_OK; ti++) {
        ll_context *ctx = ll_context_new(m, n_ctx, threads[ti], &err);
        if (!ctx) {
            st = err.status;
            break;
        }
        for (int test = 0; test < 2; test++) {
            long long n = test == 0 ? pp : tg;
            if (n == 0) continue;
            for (long long rep = -1; rep < reps && st == LL_OK; rep++) { /* rep -1: warm-up */
                st = ll_context_rewind(ctx, 0, &err);
                double s = now_s();
                if (st == LL_OK && test == 0) {
                    st = ll_context_decode(ctx, toks, (size_t)n, logits, NULL, &err);
                } else {
                    for (long long i = 0; i < n && st == LL_OK; i++)
                        st = ll_context_decode(ctx, &toks[i], 1, logits, NULL, &err);
                }
                double dt = now_s() - s;
                if (rep >= 0) samples[rep] = (double)n / dt;
            }
            if (st != LL_OK) break; /* a failed decode is not a speed */
            qsort(samples, (size_t)reps, sizeof *samples, cmp_d);
            double med = reps % 2 ? samples[reps / 2] : 0.5 * (samples[reps / 2 - 1] + samples[reps / 2]);
            if (json) {
                /* through the JSON writer: the path is the user's bytes */
                lj_writer w;
                lj_w_init(&w, stdout, false);
                char test_name[32];
                snprintf(test_name, sizeof test_name, "%s%lld", test ? "tg" : "pp", n);
                lj_w_obj_begin(&w);
                ll_cli_write_text(&w, "model", "model_bytes", model, strlen(model));
                lj_w_key(&w, "type");
                lj_w_str(&w, in->file_type);
                lj_w_key(&w, "threads");
                lj_w_int(&w, threads[ti]);
                lj_w_key(&w, "test");
                lj_w_str(&w, test_name);
                lj_w_key(&w, "tokens_per_s");
                lj_w_double(&w, round(med * 100.0) / 100.0);
                lj_w_key(&w, "min");
                lj_w_double(&w, round(samples[0] * 100.0) / 100.0);
                lj_w_key(&w, "max");
                lj_w_double(&w, round(samples[reps - 1] * 100.0) / 100.0);
                lj_w_obj_end(&w);
                lj_w_end(&w);
            } else
                printf("  threads %2d  %s%-5lld %10.2f tokens/s  (min %.2f, max %.2f over %lld runs)\n", threads[ti],
                       test ? "tg" : "pp", n, med, samples[0], samples[reps - 1], reps);
        }
        ll_context_free(ctx);
    }
    if (st != LL_OK) goto out;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    size_t kv_bytes = 2 * in->n_layers * n_ctx * in->n_kv_heads * in->head_dim * 4;
    if (!json)
        printf("peak RSS %.1f MiB (file %.1f MiB + KV cache %.1f MiB + %.1f MiB)\n", (double)ru.ru_maxrss / 1024.0,
               (double)in->file_bytes / 1048576.0, (double)kv_bytes / 1048576.0,
               (double)ru.ru_maxrss / 1024.0 - (double)in->file_bytes / 1048576.0 - (double)kv_bytes / 1048576.0);
    else
        printf("{\"peak_rss_kib\":%ld,\"file_bytes\":%llu,\"kv_bytes\":%zu}\n", ru.ru_maxrss,
               (unsigned long long)in->file_bytes, kv_bytes);
out:
    free(samples);
    free(toks);
    free(logits);
    free(threads);
    ll_model_free(m);
    if (st == LL_OK) return 0;
fail:
    fprintf(stderr, "logitlab bench: %s\n", err.message);
    return err.status == LL_ERR_INVALID_ARGUMENT ? 2 : 1;
}
