/*
 * cmd_model.c - looking inside a model from the command line:
 *   logitlab info -m MODEL            metadata, hyperparameters, tensors
 *   logitlab tokenize -m MODEL TEXT   ids and pieces
 *   logitlab logits -m MODEL (-p PROMPT | --tokens IDS)
 * so anyone can compare logitlab with another engine on the same file.
 */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "core/internal.h"
#include "explain/term.h"
#include "format/tensor_types.h"
#include "model/export.h"
#include "util/json.h"

typedef struct {
    const char *model, *tokenizer, *prompt, *tokens;
    bool json, all, full, no_bos, special;
    long long top, threads;
    ll_kv_type kv_type; /* logits */
    const char *text;
} model_opts;

static int parse_common(int argc, char **argv, model_opts *o, const char *cmd, void (*usage)(FILE *), ll_error *err) {
    ll_args a;
    ll_args_init(&a, argc, argv, 0);
    int kind;
    o->top = 10;
    o->threads = LL_CLI_THREADS_AUTO;
    while ((kind = ll_args_next(&a)) != 0) {
        const char *v;
        if (kind == 2) {
            if (!strcmp(cmd, "tokenize") && !o->text) {
                o->text = a.value;
                continue;
            }
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "unexpected argument '%s' (see logitlab %s --help)", LL_Q(a.value), cmd);
            return 2;
        }
        int r = ll_cli_model_flag(&a, &o->model, &o->tokenizer, &o->prompt, &o->threads, err);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(a.flag, "--help") || !strcmp(a.flag, "-h")) {
            usage(stdout);
            return -1;
        } else if (!strcmp(cmd, "logits") && !strcmp(a.flag, "--kv-type")) {
            if (!ll_args_value(&a, &v, err) || ll_kv_type_parse(v, &o->kv_type, err) != LL_OK) return 2;
        } else if (!strcmp(a.flag, "--tokens")) {
            if (!ll_args_value(&a, &o->tokens, err)) return 2;
        } else if (!strcmp(a.flag, "--top")) {
            if (!ll_args_value(&a, &v, err) || !ll_parse_int(a.flag, v, 1, INT32_MAX, &o->top, err)) return 2;
        } else if (!strcmp(a.flag, "--json")) {
            o->json = true;
        } else if (!strcmp(a.flag, "--all")) {
            o->all = true;
        } else if (!strcmp(a.flag, "--full")) {
            o->full = true;
        } else if (!strcmp(a.flag, "--no-bos")) {
            o->no_bos = true;
        } else if (!strcmp(a.flag, "--special")) {
            o->special = true;
        } else {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "unknown flag '%s' (see logitlab %s --help)", LL_Q(a.flag), cmd);
            return 2;
        }
    }
    return 0;
}

void ll_cli_write_text(lj_writer *w, const char *key, const char *bytes_key, const char *s, size_t n) {
    lj_w_key(w, key);
    lj_w_strn(w, s, n);
    if (!lj_utf8_valid(s, n)) {
        /* the string above has U+FFFD for the invalid bytes: these are exact */
        lj_w_key(w, bytes_key);
        lj_w_bytes(w, s, n);
    }
}

void ll_cli_write_token_fields(lj_writer *w, const ll_tokenizer *tok, int32_t id) {
    char small[96];
    char *buf = small;
    size_t len = ll_token_to_bytes(tok, id, true, small, sizeof small);
    if (len > sizeof small) {
        /* a long piece: fetch it whole rather than cut it */
        buf = malloc(len);
        if (buf) ll_token_to_bytes(tok, id, true, buf, len);
    }
    lj_w_key(w, "id");
    lj_w_int(w, id);
    if (buf) {
        ll_cli_write_text(w, "token", "bytes", buf, len);
    } else {
        lj_w_key(w, "token"); /* out of memory: say nothing rather than something cut */
        lj_w_null(w);
    }
    if (buf != small) free(buf);
}

ll_model *ll_cli_load_model(const char *path, const char *tokenizer, ll_error *err) {
    if (!path && tokenizer) {
        /* a GGUF given with -m is refused by ll_model_load itself */
        ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                "--tokenizer %s: the embedded model is a GGUF, which carries its own tokenizer (--tokenizer is for a "
                "llama2.c checkpoint given with -m)",
                LL_Q(tokenizer));
        return NULL;
    }
    if (!path) return ll_model_load_default(err);
    return ll_model_load(path, tokenizer, err);
}

static ll_model *load_model(const model_opts *o, ll_error *err) { return ll_cli_load_model(o->model, o->tokenizer, err); }

static int report(const char *cmd, const ll_error *err) {
    fprintf(stderr, "logitlab %s: %s\n", cmd, err->message);
    return err->status == LL_ERR_INVALID_ARGUMENT ? 2 : 1;
}

/* ---- info ---- */

/* the numbers the file's keys gave the architecture's parts */
static void print_arch_numbers(const ll_arch_info *ai, size_t n_layers) {
    printf("attention     scores x %g", (double)ai->attention_scale);
    if (ai->attn_softcap) printf(", soft-cap %g", (double)ai->attn_softcap);
    if (ai->sliding_window_layers)
        printf(", sliding window %zu on %zu of %zu layers", ai->sliding_window, ai->sliding_window_layers, n_layers);
    printf("\n");
    if (ai->rope_position_scale != 1.0f || ai->rope_factors != LL_ROPE_FACTORS_OFF || ai->rope_mscale != 1.0f ||
        ai->rope_local_base) {
        const char *sep = " ";
        printf("rope scaling ");
        if (ai->rope_position_scale != 1.0f) printf("%spositions x %g", sep, (double)ai->rope_position_scale), sep = ", ";
        if (ai->rope_factors == LL_ROPE_FACTORS_LONG_SHORT)
            printf("%sLongRoPE factors (long for contexts over %zu positions, else short)", sep, ai->rope_orig_ctx),
                sep = ", ";
        else if (ai->rope_factors == LL_ROPE_FACTORS_PER_PAIR) printf("%sper-pair factors (rope_freqs)", sep), sep = ", ";
        if (ai->rope_mscale != 1.0f) printf("%scos/sin x %g", sep, (double)ai->rope_mscale), sep = ", ";
        if (ai->rope_local_base) printf("%slocal layers base %g unscaled", sep, (double)ai->rope_local_base);
        printf("\n");
    }
    if (ai->final_softcap) printf("logits        soft-cap %g\n", (double)ai->final_softcap);
}

static void info_usage(FILE *f) {
    fputs("usage: logitlab info -m MODEL [--tokenizer tokenizer.bin] [--json]\n"
          "Prints the model's format, hyperparameters, tokenizer and (GGUF) metadata and tensor list.\n",
          f);
}

static void print_meta_value(FILE *f, const ll_meta_entry *e) {
    switch (e->kind) {
    case LL_META_STRING:
        fputc('"', f);
        ll_term_put_text(f, e->str, e->str_len > 80 ? 80 : e->str_len);
        fputs(e->str_len > 80 ? "\"..." : "\"", f);
        break;
    case LL_META_FLOAT: fprintf(f, "%g", e->f); break;
    case LL_META_BOOL: fputs(e->b ? "true" : "false", f); break;
    case LL_META_INT: fprintf(f, "%lld", e->i); break;
    case LL_META_ARRAY: fprintf(f, "[%s x %llu]", e->elem_type, e->n_elems); break;
    case LL_META_UINT: fprintf(f, "%llu", e->u); break;
    }
}

static void print_meta_list(const ll_gguf *g) {
    ll_meta_entry e;
    for (size_t i = 0; ll_gguf_meta_at(g, i, &e); i++) {
        fputs("  ", stdout);
        size_t kl = strlen(e.key);
        ll_term_put_text(stdout, e.key, kl);
        printf("%*s ", kl < 44 ? (int)(44 - kl) : 0, "");
        print_meta_value(stdout, &e);
        putchar('\n');
    }
}

/* A GGUF's metadata as a JSON object (arrays as their type and length). */
static void write_meta_json(lj_writer *w, const ll_gguf *g) {
    lj_w_obj_begin(w);
    ll_meta_entry e;
    for (size_t i = 0; ll_gguf_meta_at(g, i, &e); i++) {
        lj_w_key(w, e.key);
        switch (e.kind) {
        case LL_META_STRING: lj_w_strn(w, e.str, e.str_len); break;
        case LL_META_FLOAT: lj_w_double(w, e.f); break;
        case LL_META_BOOL: lj_w_bool(w, e.b); break;
        case LL_META_INT: lj_w_int(w, e.i); break;
        case LL_META_ARRAY: {
            char d[64];
            snprintf(d, sizeof d, "[%s x %llu]", e.elem_type, e.n_elems);
            lj_w_str(w, d);
            break;
        }
        case LL_META_UINT:
            if (e.u > (unsigned long long)INT64_MAX) lj_w_double(w, (double)e.u);
            else lj_w_int(w, (long long)e.u);
            break;
        }
    }
    lj_w_obj_end(w);
}

int ll_cmd_info(int argc, char **argv) {
    ll_error err;
    ll_error_clear(&err);
    model_opts o = {0};
    int r = parse_common(argc, argv, &o, "info", info_usage, &err);
    if (r < 0) return 0;
    if (r > 0) return report("info", &err);
    ll_model *m = load_model(&o, &err);
    /* INVALID_ARGUMENT is the call, not the file (--tokenizer with a GGUF):
     * there is no metadata to show for that */
    if (!m && o.model && err.status != LL_ERR_INVALID_ARGUMENT) {
        /* Not a model: a vocabulary-only GGUF still has metadata to show,
         * but the command fails with the loader's reason, so a script that
         * checks the exit status does not take it for a model. */
        ll_error err2;
        ll_gguf *g = ll_gguf_open(o.model, &err2);
        if (!g) return report("info", &err);
        if (o.json) {
            lj_writer w;
            lj_w_init(&w, stdout, true);
            lj_w_obj_begin(&w);
            lj_w_key(&w, "format");
            lj_w_str(&w, "gguf");
            lj_w_key(&w, "runnable");
            lj_w_bool(&w, false);
            lj_w_key(&w, "error");
            lj_w_str(&w, err.message);
            lj_w_key(&w, "gguf_version");
            lj_w_int(&w, ll_gguf_version(g));
            lj_w_key(&w, "n_tensors");
            lj_w_int(&w, (long long)ll_gguf_n_tensors(g));
            lj_w_key(&w, "metadata");
            write_meta_json(&w, g);
            lj_w_obj_end(&w);
            lj_w_end(&w);
        } else {
            printf("not a runnable model\nGGUF v%u, %zu metadata keys, %zu tensors\n", ll_gguf_version(g),
                   ll_gguf_n_meta(g), ll_gguf_n_tensors(g));
            print_meta_list(g);
        }
        ll_gguf_close(g);
        return report("info", &err);
    }
    if (!m) return report("info", &err);
    const ll_model_info *in = ll_model_get_info(m);
    const ll_tokenizer *tok = ll_model_get_tokenizer(m);
    const ll_gguf *g = ll_model_gguf(m);
    ll_arch_info ai;
    ll_model_get_arch_info(m, &ai);
    ll_tensor_entry t;
    if (o.json) {
        lj_writer w;
        lj_w_init(&w, stdout, true);
        lj_w_obj_begin(&w);
#define KS(k, v) lj_w_key(&w, k), lj_w_str(&w, v)
#define KI(k, v) lj_w_key(&w, k), lj_w_int(&w, (long long)(v))
        KS("format", in->format);
        KS("architecture", in->arch);
        KS("name", in->name);
        KS("file_type", in->file_type);
        KI("file_bytes", in->file_bytes);
        KI("n_params", in->n_params);
        KI("n_vocab", in->n_vocab);
        KI("n_ctx_train", in->n_ctx_train);
        KI("dim", in->dim);
        KI("n_layers", in->n_layers);
        KI("n_heads", in->n_heads);
        KI("n_kv_heads", in->n_kv_heads);
        KI("head_dim", in->head_dim);
        KI("ffn_dim", in->ffn_dim);
        KI("rope_dim", in->rope_dim);
        lj_w_key(&w, "rope_base"), lj_w_float(&w, in->rope_base);
        lj_w_key(&w, "rms_eps"), lj_w_float(&w, in->rms_eps);
        lj_w_key(&w, "tied_output"), lj_w_bool(&w, in->tied_output);
        KS("block", ai.block);
        lj_w_key(&w, "attention_scale"), lj_w_float(&w, ai.attention_scale);
        lj_w_key(&w, "attn_softcap"), lj_w_float(&w, ai.attn_softcap);
        lj_w_key(&w, "final_softcap"), lj_w_float(&w, ai.final_softcap);
        KI("sliding_window", ai.sliding_window);
        KI("sliding_window_layers", ai.sliding_window_layers);
        KI("token_bytes", ll_model_token_bytes(m));
        KI("default_threads", ll_model_default_threads(m));
        KI("cpus", ll_cpus_available());
        if (tok) {
            KS("tokenizer", ll_tokenizer_describe(tok));
            KI("bos", ll_tokenizer_bos(tok));
            KI("eos", ll_tokenizer_eos(tok));
        }
        if (g) {
            lj_w_key(&w, "tensors");
            lj_w_arr_begin(&w);
            for (size_t i = 0; ll_gguf_tensor_at(g, i, &t); i++) {
                lj_w_obj_begin(&w);
                KS("name", t.name);
                KS("type", t.type);
                lj_w_key(&w, "shape");
                lj_w_arr_begin(&w);
                for (uint32_t d = 0; d < t.n_dims; d++) lj_w_int(&w, (long long)t.shape[d]);
                lj_w_arr_end(&w);
                KI("bytes", t.n_bytes);
                lj_w_obj_end(&w);
            }
            lj_w_arr_end(&w);
        }
#undef KS
#undef KI
        lj_w_obj_end(&w);
        lj_w_end(&w);
    } else {
        printf("format        %s", in->format);
        if (g) printf(" v%u", in->gguf_version);
        printf("\narchitecture  ");
        ll_term_put_text(stdout, in->arch, strlen(in->arch));
        printf(" (%s)\nblock         %s", ai.family, ai.block);
        printf("\nname          ");
        ll_term_put_text(stdout, in->name[0] ? in->name : "-", in->name[0] ? strlen(in->name) : 1);
        printf("\nweights       %s\nfile          %llu bytes\nparameters    %llu\n", in->file_type,
               (unsigned long long)in->file_bytes, (unsigned long long)in->n_params);
        printf("vocabulary    %zu\ncontext       %zu (training)\ndim           %zu\nlayers        %zu\n"
               "heads         %zu (kv %zu, head size %zu)\nffn           %zu\nrope          %zu dims, base %g, %s\n"
               "rms eps       %g\noutput        %s\n",
               in->n_vocab, in->n_ctx_train, in->dim, in->n_layers, in->n_heads, in->n_kv_heads, in->head_dim,
               in->ffn_dim, in->rope_dim, (double)in->rope_base, in->rope_neox ? "neox" : "adjacent pairs",
               (double)in->rms_eps, in->tied_output ? "tied to the embeddings" : "separate matrix");
        print_arch_numbers(&ai, in->n_layers);
        if (tok)
            printf("tokenizer     %s, %zu tokens, bos %d, eos %d%s\n", ll_tokenizer_describe(tok),
                   ll_tokenizer_n_vocab(tok), ll_tokenizer_bos(tok), ll_tokenizer_eos(tok),
                   ll_tokenizer_adds_bos(tok) ? ", adds BOS" : "");
        else printf("tokenizer     none (pass --tokenizer tokenizer.bin)\n");
        int cpus = ll_cpus_available();
        printf("threads       %d by default (%.1f MiB of weights per token: a thread per 6 MiB, at most the %d CPU%s "
               "here)\n",
               ll_model_default_threads(m), (double)ll_model_token_bytes(m) / 1048576.0, cpus, cpus == 1 ? "" : "s");
        if (g) {
            printf("\nmetadata (%zu keys)\n", ll_gguf_n_meta(g));
            print_meta_list(g);
            printf("\ntensors (%zu)\n", ll_gguf_n_tensors(g));
            for (size_t i = 0; ll_gguf_tensor_at(g, i, &t); i++) {
                size_t nl = strlen(t.name);
                fputs("  ", stdout);
                ll_term_put_text(stdout, t.name, nl);
                printf("%*s %-5s [", nl < 32 ? (int)(32 - nl) : 0, "", t.type);
                for (uint32_t d = 0; d < t.n_dims; d++) printf(d ? ", %llu" : "%llu", (unsigned long long)t.shape[d]);
                printf("] %llu bytes\n", (unsigned long long)t.n_bytes);
            }
        }
    }
    ll_model_free(m);
    return 0;
}

/* ---- tokenize ---- */

static void tokenize_usage(FILE *f) {
    fputs("usage: logitlab tokenize -m MODEL [--tokenizer FILE] [--no-bos] [--special] [--json] TEXT\n"
          "Prints the token ids and pieces of TEXT ('-' reads stdin). --special parses special-token\n"
          "text such as <s>; --no-bos leaves out BOS/EOS. MODEL may also be a vocabulary-only GGUF or\n"
          "a llama2.c tokenizer.bin.\n",
          f);
}

int ll_cmd_tokenize(int argc, char **argv) {
    ll_error err;
    ll_error_clear(&err);
    model_opts o = {0};
    int r = parse_common(argc, argv, &o, "tokenize", tokenize_usage, &err);
    if (r < 0) return 0;
    if (r > 0) return report("tokenize", &err);
    if (!o.text) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "TEXT is required (see logitlab tokenize --help)");
        return report("tokenize", &err);
    }
    if (!o.model) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "-m MODEL is required");
        return report("tokenize", &err);
    }
    /* a model, or just a tokenizer file */
    ll_model *m = NULL;
    ll_tokenizer *own = NULL;
    const ll_tokenizer *tok;
    ll_error err2;
    ll_error_clear(&err2);
    m = ll_model_load(o.model, o.tokenizer, &err2);
    if (!m && err2.status == LL_ERR_INVALID_ARGUMENT) return report("tokenize", &err2); /* --tokenizer with a GGUF */
    if (m && ll_model_get_tokenizer(m)) {
        tok = ll_model_get_tokenizer(m);
    } else {
        ll_model_free(m);
        m = NULL;
        own = ll_tokenizer_load(o.tokenizer ? o.tokenizer : o.model, &err);
        if (!own) return report("tokenize", &err);
        tok = own;
    }
    size_t len = 0;
    char *in_buf = NULL;
    const char *text = o.text;
    if (!strcmp(text, "-")) {
        /* all of it, NUL bytes included: ll_tokenize takes the length */
        in_buf = ll_read_stdin(LL_CLI_INPUT_MAX, &len, &err);
        if (!in_buf) {
            ll_tokenizer_free(own);
            ll_model_free(m);
            return report("tokenize", &err);
        }
        text = in_buf;
    } else {
        len = strlen(text);
    }
    int32_t *ids;
    size_t n;
    int rc = 0;
    if (ll_tokenize(tok, text, len, !o.no_bos, o.special, &ids, &n, &err) != LL_OK) {
        rc = report("tokenize", &err);
    } else if (o.json) {
        lj_writer w;
        lj_w_init(&w, stdout, false);
        lj_w_obj_begin(&w);
        lj_w_key(&w, "ids");
        lj_w_arr_begin(&w);
        for (size_t i = 0; i < n; i++) lj_w_int(&w, ids[i]);
        lj_w_arr_end(&w);
        lj_w_key(&w, "pieces");
        lj_w_arr_begin(&w);
        for (size_t i = 0; i < n; i++) lj_w_str(&w, ll_token_text(tok, ids[i]));
        lj_w_arr_end(&w);
        lj_w_obj_end(&w);
        lj_w_end(&w);
        free(ids);
    } else {
        for (size_t i = 0; i < n; i++) {
            const char *piece = ll_token_text(tok, ids[i]);
            printf("%6d  '", ids[i]);
            ll_term_put_text(stdout, piece, strlen(piece));
            printf("'\n");
        }
        printf("%zu tokens\n", n);
        free(ids);
    }
    free(in_buf);
    ll_tokenizer_free(own);
    ll_model_free(m);
    return rc;
}

/* ---- logits ---- */

static void logits_usage(FILE *f) {
    fputs("usage: logitlab logits -m MODEL (-p PROMPT | --tokens IDS) [options]\n"
          "Runs the prompt as one batch and prints the next-token logits.\n"
          "  --all          logits at every position (default: the last)\n"
          "  --top N        the N largest (default 10)      --full   every logit\n"
          "  --json         machine-readable                --no-bos do not add BOS to -p\n"
          "  --tokenizer FILE (llama2.c)                    --kv-type f32|f16|q8_0  KV cache (default f32)\n",
          f);
    ll_cli_threads_help(f, "  -t N|auto      threads ");
}

typedef struct {
    float logit;
    size_t id;
} ranked;

/* Largest logit first; ties (and NaN, last) by id, so the order is total. */
static int cmp_ranked(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    bool na = a->logit != a->logit, nb = b->logit != b->logit;
    if (na != nb) return na ? 1 : -1;
    if (!na && a->logit != b->logit) return a->logit > b->logit ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

int ll_cmd_logits(int argc, char **argv) {
    ll_error err;
    ll_error_clear(&err);
    model_opts o = {0};
    int r = parse_common(argc, argv, &o, "logits", logits_usage, &err);
    if (r < 0) return 0;
    if (r > 0) return report("logits", &err);
    if (!!o.prompt == !!o.tokens) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "give exactly one of -p PROMPT and --tokens IDS");
        return report("logits", &err);
    }
    ll_model *m = load_model(&o, &err);
    if (!m) return report("logits", &err);
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = 0;
    ll_context *ctx = NULL;
    float *logits = NULL;
    ranked *order = NULL;
    if (o.prompt) {
        const ll_tokenizer *tok = ll_model_get_tokenizer(m);
        if (!tok) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "the model has no tokenizer: pass --tokenizer or use --tokens");
            goto fail;
        }
        if (ll_tokenize(tok, o.prompt, strlen(o.prompt), !o.no_bos, false, &ids, &n, &err) != LL_OK) goto fail;
    } else if (!ll_parse_id_list("--tokens", o.tokens, &ids, &n, &err)) {
        goto fail;
    }
    if (n == 0) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "the prompt has no tokens");
        goto fail;
    }
    const ll_model_info *in = ll_model_get_info(m);
    size_t V = in->n_vocab;
    for (size_t i = 0; i < n; i++)
        if ((size_t)ids[i] >= V) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "--tokens: item %zu = %d is out of range: valid is [0, %zu] (the vocabulary)",
                    i + 1, ids[i], V - 1);
            goto fail;
        }
    ll_context_params cp = ll_context_params_default();
    cp.n_ctx = n > in->n_ctx_train ? n : 0;
    cp.n_threads = ll_cli_threads(o.threads, m);
    cp.kv_type = o.kv_type;
    ctx = ll_context_new_ex(m, &cp, &err);
    if (!ctx) goto fail;
    size_t n_logits;
    if (!ll_mul_size_ok(n, V, &n_logits) || !(logits = ll_calloc(n_logits, sizeof *logits, &err))) {
        ll_fail(&err, LL_ERR_OUT_OF_MEMORY, "out of memory for %zu x %zu logits", n, V);
        goto fail;
    }
    order = ll_calloc(V, sizeof *order, &err);
    if (!order) goto fail;
    if (ll_context_decode(ctx, ids, n, logits + (n - 1) * V, o.all ? logits : NULL, &err) != LL_OK) goto fail;
    size_t first = o.all ? 0 : n - 1;
    lj_writer w;
    lj_w_init(&w, stdout, false);
    if (o.json) {
        lj_w_obj_begin(&w);
        lj_w_key(&w, "tokens");
        lj_w_arr_begin(&w);
        for (size_t i = 0; i < n; i++) lj_w_int(&w, ids[i]);
        lj_w_arr_end(&w);
        lj_w_key(&w, "positions");
        lj_w_arr_begin(&w);
    }
    for (size_t p = first; p < n; p++) {
        const float *l = logits + p * V;
        size_t shown = o.full ? V : (size_t)(o.top < (long long)V ? o.top : (long long)V);
        if (!o.full) {
            /* one O(V log V) sort, whatever --top is (a selection loop was O(top * V)) */
            for (size_t i = 0; i < V; i++) order[i] = (ranked){l[i], i};
            qsort(order, V, sizeof *order, cmp_ranked);
        }
        if (o.json) {
            lj_w_obj_begin(&w);
            lj_w_key(&w, "pos");
            lj_w_int(&w, (long long)p);
            lj_w_key(&w, "input");
            lj_w_int(&w, ids[p]);
            lj_w_key(&w, o.full ? "logits" : "top");
            lj_w_arr_begin(&w);
            for (size_t i = 0; i < shown; i++) {
                if (o.full) {
                    lj_w_float(&w, l[i]);
                } else {
                    lj_w_arr_begin(&w);
                    lj_w_int(&w, (long long)order[i].id);
                    lj_w_float(&w, order[i].logit);
                    lj_w_arr_end(&w);
                }
            }
            lj_w_arr_end(&w);
            lj_w_obj_end(&w);
        } else {
            printf("pos %zu (input %d):\n", p, ids[p]);
            const ll_tokenizer *tok = ll_model_get_tokenizer(m);
            for (size_t i = 0; i < shown; i++) {
                size_t id = o.full ? i : order[i].id;
                const char *piece = tok ? ll_token_text(tok, (int32_t)id) : "";
                printf("  %6zu %12.6f  ", id, (double)l[id]);
                ll_term_put_text(stdout, piece, strlen(piece));
                putchar('\n');
            }
        }
    }
    if (o.json) {
        lj_w_arr_end(&w);
        lj_w_obj_end(&w);
        lj_w_end(&w);
    }
    goto done;
fail:
    rc = report("logits", &err);
done:
    free(order);
    free(logits);
    free(ids);
    ll_context_free(ctx);
    ll_model_free(m);
    return rc;
}

/* ---- convert ---- */

static void convert_usage(FILE *f) {
    fputs("usage: logitlab convert -m MODEL [--tokenizer tokenizer.bin] -o OUT.gguf [--type T] [--name NAME]\n"
          "                        [--description TEXT] [--license TEXT]\n"
          "Writes MODEL (GGUF, or a llama2.c checkpoint with its tokenizer.bin) as a llama GGUF that\n"
          "llama.cpp also reads. --type: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K (default Q8_0); norms stay F32.\n",
          f);
}

int ll_cmd_convert(int argc, char **argv) {
    ll_error err;
    ll_error_clear(&err);
    const char *model = NULL, *tokenizer = NULL, *out = NULL, *type_s = "Q8_0";
    ll_export_options eo = {0};
    ll_args a;
    ll_args_init(&a, argc, argv, 0);
    int kind;
    while ((kind = ll_args_next(&a)) != 0) {
        const char **dst = NULL;
        if (kind == 2) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unexpected argument '%s'", LL_Q(a.value));
            return report("convert", &err);
        }
        if (!strcmp(a.flag, "--help") || !strcmp(a.flag, "-h")) {
            convert_usage(stdout);
            return 0;
        }
        if (!strcmp(a.flag, "-m") || !strcmp(a.flag, "--model")) dst = &model;
        else if (!strcmp(a.flag, "--tokenizer")) dst = &tokenizer;
        else if (!strcmp(a.flag, "-o")) dst = &out;
        else if (!strcmp(a.flag, "--type")) dst = &type_s;
        else if (!strcmp(a.flag, "--name")) dst = &eo.name;
        else if (!strcmp(a.flag, "--description")) dst = &eo.description;
        else if (!strcmp(a.flag, "--license")) dst = &eo.license;
        else {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unknown flag '%s' (see logitlab convert --help)", LL_Q(a.flag));
            return report("convert", &err);
        }
        if (!ll_args_value(&a, dst, &err)) return report("convert", &err);
    }
    static const struct {
        const char *n;
        uint32_t t;
    } types[] = {{"F32", LL_T_F32},   {"F16", LL_T_F16},   {"BF16", LL_T_BF16}, {"Q8_0", LL_T_Q8_0},
                 {"Q4_0", LL_T_Q4_0}, {"Q4_1", LL_T_Q4_1}, {"Q5_0", LL_T_Q5_0}, {"Q5_1", LL_T_Q5_1},
                 {"Q4_K", LL_T_Q4_K}, {"Q5_K", LL_T_Q5_K}, {"Q6_K", LL_T_Q6_K}};
    eo.type = UINT32_MAX;
    for (size_t i = 0; i < LL_ARRAY_LEN(types); i++)
        if (!strcmp(type_s, types[i].n)) eo.type = types[i].t;
    if (eo.type == UINT32_MAX) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "--type %s is not one of F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K", LL_Q(type_s));
        return report("convert", &err);
    }
    if (!model || !out) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "-m MODEL and -o OUT are required");
        return report("convert", &err);
    }
    ll_model *m = ll_cli_load_model(model, tokenizer, &err);
    if (!m) return report("convert", &err);
    ll_status st = ll_model_export_gguf(m, &eo, out, &err);
    ll_model_free(m);
    if (st != LL_OK) return report("convert", &err);
    return 0;
}
