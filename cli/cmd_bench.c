/*
 * cmd_bench.c - measuring the forward pass:
 *   logitlab synth -o FILE ...   a GGUF of any architecture, shape and type
 *                                with random weights (src/model/synth.c)
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
#include "format/tensor_types.h"
#include "model/export.h"
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

static uint32_t parse_type(const char *s, bool *mixed) {
    static const struct {
        const char *n;
        uint32_t t;
        bool mixed;
    } types[] = {{"F32", LL_T_F32, 0},   {"F16", LL_T_F16, 0},   {"BF16", LL_T_BF16, 0},  {"Q8_0", LL_T_Q8_0, 0},
                 {"Q4_0", LL_T_Q4_0, 0}, {"Q4_1", LL_T_Q4_1, 0}, {"Q5_0", LL_T_Q5_0, 0},  {"Q5_1", LL_T_Q5_1, 0},
                 {"Q4_K", LL_T_Q4_K, 0}, {"Q5_K", LL_T_Q5_K, 0}, {"Q6_K", LL_T_Q6_K, 0},  {"Q4_K_M", LL_T_Q4_K, 1},
                 {"Q5_K_M", LL_T_Q5_K, 1}};
    for (size_t i = 0; i < LL_ARRAY_LEN(types); i++)
        if (!strcmp(s, types[i].n)) {
            *mixed = types[i].mixed;
            return types[i].t;
        }
    return UINT32_MAX;
}
#define LL_SYNTH_TYPES "F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K Q4_K_M Q5_K_M"

static void synth_usage(FILE *f) {
    fputs("usage: logitlab synth -o FILE [options]\n"
          "Writes a GGUF of any architecture logitlab runs with random weights (N(0, 0.02); norms\n"
          "1 + 0.1 N; biases 0.02 N) and a placeholder SentencePiece vocabulary, for benchmarks and tests.\n"
          "  --arch A       llama qwen2 qwen3 gemma2 gemma3 phi3 (default llama)\n"
          "  --type T       " LL_SYNTH_TYPES " (default F32)\n"
          "  --embd-type T  token_embd's type (default: --type; llama-quantize's Q4_K_M of a tied model: Q6_K)\n"
          "  --vocab N      32000     --dim N      768     --layers N  12\n"
          "  --heads N      12        --kv-heads N (heads) --ffn N    2048\n"
          "  --head-dim N   (dim / heads)                --window N 4096 (sliding-window layers)\n"
          "  --ctx N        1024      --seed N     1       --untied   a separate output matrix\n",
          f);
}

int ll_cmd_synth(int argc, char **argv) {
    ll_error err;
    ll_error_clear(&err);
    const char *out = NULL, *type_s = "F32", *embd_s = NULL;
    long long vocab = 32000, dim = 768, layers = 12, heads = 12, kv = -1, head_dim = -1, ffn = 2048, ctx = 1024,
              window = 4096, seed = 1;
    ll_synth_options so = {.arch = "llama", .tied = true};
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
        NUM("--head-dim", head_dim, 2, 1024)
        NUM("--ffn", ffn, 8, 1 << 20)
        NUM("--ctx", ctx, 1, 1 << 24)
        NUM("--window", window, 0, 1 << 24)
        NUM("--seed", seed, 0, INT64_MAX)
#undef NUM
        if (!strcmp(a.flag, "-o")) {
            if (!ll_args_value(&a, &out, &err)) goto fail;
        } else if (!strcmp(a.flag, "--type")) {
            if (!ll_args_value(&a, &type_s, &err)) goto fail;
        } else if (!strcmp(a.flag, "--embd-type")) {
            if (!ll_args_value(&a, &embd_s, &err)) goto fail;
        } else if (!strcmp(a.flag, "--arch")) {
            if (!ll_args_value(&a, &so.arch, &err)) goto fail;
        } else if (!strcmp(a.flag, "--untied")) {
            so.tied = false;
        } else if (!strcmp(a.flag, "--help") || !strcmp(a.flag, "-h")) {
            synth_usage(stdout);
            return 0;
        } else {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unknown flag '%s' (see logitlab synth --help)", LL_Q(a.flag));
            goto fail;
        }
    }
    if (!out) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "-o FILE is required");
        goto fail;
    }
    so.type = parse_type(type_s, &so.mixed);
    if (so.type == UINT32_MAX) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "--type %s is not one of " LL_SYNTH_TYPES, LL_Q(type_s));
        goto fail;
    }
    bool embd_mixed = false;
    so.embd_type = embd_s ? parse_type(embd_s, &embd_mixed) : so.type;
    if (so.embd_type == UINT32_MAX || embd_mixed) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "--embd-type %s is not one of " LL_SYNTH_TYPES " without _M",
                LL_Q(embd_s));
        goto fail;
    }
    if (head_dim < 0 && dim % heads) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "dim %lld is not a multiple of heads %lld: give --head-dim", dim,
                heads);
        goto fail;
    }
    so.vocab = (size_t)vocab, so.dim = (size_t)dim, so.layers = (size_t)layers, so.heads = (size_t)heads;
    so.kv_heads = (size_t)(kv < 0 ? heads : kv);
    so.head_dim = (size_t)(head_dim < 0 ? dim / heads : head_dim);
    so.ffn = (size_t)ffn, so.ctx = (size_t)ctx, so.window = (size_t)window, so.seed = (uint64_t)seed;
    if (ll_model_synth(&so, out, &err) != LL_OK) goto fail;
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

/* "-t 1,2,auto": each item a thread count or auto (LL_CLI_THREADS_AUTO, the
 * model's choice, known once it is loaded). *out (the caller frees) holds
 * *n items; false with err naming the item otherwise. */
static bool parse_thread_list(const char *s, int32_t **out, size_t *n, ll_error *err) {
    size_t len = strlen(s), items = 1;
    for (size_t i = 0; i < len; i++) items += s[i] == ',';
    char *copy = ll_malloc(len + 1, err);
    int32_t *v = ll_calloc(items, sizeof *v, err);
    bool ok = copy && v;
    if (ok) memcpy(copy, s, len + 1);
    char *item = copy;
    for (size_t i = 0; ok && i < items; i++) {
        char *comma = strchr(item, ',');
        if (comma) *comma = '\0';
        char what[48]; /* "-t: item " and at most 20 digits */
        snprintf(what, sizeof what, "-t: item %zu", i + 1);
        long long t;
        ok = ll_parse_threads(what, item, &t, err);
        v[i] = (int32_t)t;
        item = comma ? comma + 1 : item;
    }
    free(copy);
    if (!ok) {
        free(v);
        return false;
    }
    *out = v;
    *n = items;
    return true;
}

static void bench_usage(FILE *f) {
    fputs("usage: logitlab bench -m MODEL [-p 128] [-n 64] [-t 1,2,auto] [-r 3] [--kv-type f32|f16|q8_0] [--json]\n"
          "pp: a batch of -p random tokens from an empty cache; tg: -n single-token decodes from an\n"
          "empty cache; each repeated -r times after a warm-up, median tokens/s. Peak RSS at the end.\n",
          f);
    ll_cli_threads_help(f, "-t: thread counts, each a number or auto ");
}

int ll_cmd_bench(int argc, char **argv) {
    ll_error err;
    ll_error_clear(&err);
    const char *model = NULL, *tokenizer = NULL, *threads_s = "auto";
    long long pp = 128, tg = 64, reps = 3;
    bool json = false;
    ll_kv_type kv_type = LL_KV_F32;
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
        } else if (!strcmp(a.flag, "--kv-type")) {
            if (!ll_args_value(&a, &v, &err) || ll_kv_type_parse(v, &kv_type, &err) != LL_OK) goto fail;
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
    if (!parse_thread_list(threads_s, &threads, &n_threads, &err)) goto fail;
    double t0 = now_s();
    ll_model *m = ll_cli_load_model(model, tokenizer, &err);
    if (!m) {
        free(threads);
        goto fail;
    }
    double load_s = now_s() - t0;
    const ll_model_info *in = ll_model_get_info(m);
    size_t V = in->n_vocab, n_ctx = (size_t)(pp > tg ? pp : tg) + 1, kv_bytes = 0;
    float *logits = malloc(V * sizeof *logits);
    int32_t *toks = malloc(((size_t)(pp > tg ? pp : tg) + 1) * sizeof *toks);
    double *samples = malloc((size_t)reps * sizeof *samples);
    ll_status st = LL_OK;
    if (!logits || !toks || !samples) {
        st = ll_fail(&err, LL_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    int auto_n = ll_model_default_threads(m);
    for (size_t i = 0; i < n_threads; i++)
        if (threads[i] == LL_CLI_THREADS_AUTO) threads[i] = auto_n;
    rng64 r = {7};
    for (long long i = 0; i <= (pp > tg ? pp : tg); i++) toks[i] = (int32_t)(next64(&r) % V);
    if (!json) {
        printf("model: %s (%s, %llu params, %.1f MiB), load %.3f s, simd %s\n", model, in->file_type,
               (unsigned long long)in->n_params, (double)in->file_bytes / 1048576.0, load_s, ll_simd_level_name());
        printf("threads: auto = %d here (%.1f MiB of weights per token: a thread per 6 MiB, %d CPUs)\n", auto_n,
               (double)ll_model_token_bytes(m) / 1048576.0, ll_cpus_available());
    }
    for (size_t ti = 0; ti < n_threads && st == LL_OK; ti++) {
        ll_context_params cp = ll_context_params_default();
        cp.n_ctx = n_ctx;
        cp.n_threads = threads[ti];
        cp.kv_type = kv_type;
        ll_context *ctx = ll_context_new_ex(m, &cp, &err);
        if (!ctx) {
            st = err.status;
            break;
        }
        kv_bytes = ll_context_kv_bytes(ctx); /* its type's bytes, whole blocks of positions */
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
    if (!json)
        printf("peak RSS %.1f MiB (file %.1f MiB + KV cache %.1f MiB + %.1f MiB)\n", (double)ru.ru_maxrss / 1024.0,
               (double)in->file_bytes / 1048576.0, (double)kv_bytes / 1048576.0,
               (double)ru.ru_maxrss / 1024.0 - (double)in->file_bytes / 1048576.0 - (double)kv_bytes / 1048576.0);
    else
        printf("{\"peak_rss_kib\":%ld,\"file_bytes\":%llu,\"kv_bytes\":%zu,\"default_threads\":%d}\n", ru.ru_maxrss,
               (unsigned long long)in->file_bytes, kv_bytes, auto_n);
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
