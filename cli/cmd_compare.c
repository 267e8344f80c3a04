/*
 * cmd_compare.c - `logitlab compare`: one prompt (on a model) or one
 * logits vector, one set of hyperparameters, every profile side by side:
 * each profile's chain, the candidates after each stage, the token each
 * selects with the same seed, and for each pair of profiles the first
 * stage where they part and why. --generate N adds each profile's
 * continuation with the first diverging token marked. The comparison
 * itself is src/explain/compare.c, shared with the tour.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "core/internal.h"
#include "explain/compare.h"
#include "explain/term.h"
#include "sampling/tables.h"
#include "util/json.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *f) {
    fputs("usage: logitlab compare [-m MODEL] -p PROMPT [sampling flags] [options]\n"
          "       logitlab compare --logits FILE [sampling flags] [options]\n"
          "The same hyperparameters under every profile (hf, llama.cpp, openai, llama2.c), side by side:\n"
          "each profile's chain in its order, the candidates after each stage, the token it selects with\n"
          "the same seed, and for each pair of profiles the first stage where they differ and why (order,\n"
          "defaults, which tokens a penalty sees, the rule of a cut, the greedy rule). A parameter a\n"
          "profile does not have is said in its column.\n"
          "  -m, --model FILE     (default: the embedded model)   --tokenizer FILE\n",
          f);
    ll_cli_threads_help(f, "  -t, --threads N|auto ");
    fputs("  -p, --prompt TEXT    the next token after this prompt (its tokens are the penalties' history)\n"
          "  --no-bos             do not add BOS to the prompt\n"
          "  --logits FILE        a logits vector instead of a model (JSON array or raw float32, '-': stdin)\n"
          "  --format json|f32    --history IDS   --prompt-len N   (with --logits, as `logitlab sample`)\n"
          "  --profiles LIST      e.g. hf,llama.cpp (default: all four)\n"
          "  --top N              tokens shown after each stage (default 5, at most 64)\n"
          "  --generate N         also N new tokens under each profile (needs a model), divergence marked\n"
          "  --json               one JSON object with the same numbers\n"
          "  --width N            columns (default: the terminal's)   --color, --no-color\n"
          "\n",
          f);
    ll_cli_sampling_help(f);
}

/* A value the flag refuses that a framework accepts and ignores
 * (--no-repeat-ngram-size -1: hf adds no processor): compare takes it, so
 * that the columns say what each framework does with it. The library still
 * refuses it in every profile, naming the value and the range (the flag's
 * range is the library's, checked there too). */
static bool take_departure(ll_cli_sampling *s, const ll_args *a) {
    const ll_param_row *row = a->flag ? ll_param_by_flag(a->flag) : NULL;
    if (!row || !a->value || row->type == LL_PT_OTHER || row->type == LL_PT_SEED || !row->checked) return false;
    char *end;
    double v = strtod(a->value, &end);
    if (end == a->value || *end || !isfinite(v)) return false;
    if (row->type == LL_PT_INT && (v != floor(v) || v < INT32_MIN + 1.0 || v > INT32_MAX)) return false;
    for (int p = 0; p < LL_PROFILE_COUNT; p++)
        if (ll_profile_note_find((ll_profile)p, row->name, v)) {
            ll_param_put(&s->p, (int)(row - ll_param_rows), v);
            return true;
        }
    return false;
}

/* "hf,llama.cpp": each a profile name, none twice. */
static bool parse_profiles(const char *flag, const char *s, ll_profile *out, size_t *n, ll_error *err) {
    *n = 0;
    size_t pos = 1;
    for (const char *p = s;; pos++) {
        const char *e = p;
        while (*e && *e != ',') e++;
        char name[64];
        if (e == p || (size_t)(e - p) >= sizeof name) {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s': %s profile name at position %zu (valid are hf, llama.cpp, "
                    "openai, llama2.c, separated by ',')", flag, LL_Q(s), e == p ? "empty" : "too long a", pos);
            return false;
        }
        snprintf(name, sizeof name, "%.*s", (int)(e - p), p);
        ll_profile prof;
        if (ll_profile_from_name(name, &prof, err) != LL_OK) {
            ll_error_prefix(err, "%s", flag);
            return false;
        }
        for (size_t i = 0; i < *n; i++)
            if (out[i] == prof) {
                ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s: '%s' names the %s profile twice", flag, LL_Q(s),
                        ll_profile_name(prof));
                return false;
            }
        out[(*n)++] = prof;
        if (!*e) break;
        p = e + 1;
    }
    return true;
}

/* ---- --json ---- */

static void write_column(lj_writer *w, const ll_cmp_column *col, const ll_tokenizer *tok, size_t top_n) {
    lj_w_obj_begin(w);
    lj_w_key(w, "profile");
    lj_w_str(w, ll_profile_name(col->profile));
    lj_w_key(w, "ok");
    lj_w_bool(w, col->ok);
    if (!col->ok) {
        lj_w_key(w, "error");
        lj_w_str(w, col->error);
        if (col->note) {
            /* what the framework does with the value logitlab rejects */
            lj_w_key(w, "departure");
            lj_w_obj_begin(w);
            lj_w_key(w, "parameter");
            lj_w_str(w, col->note->param);
            lj_w_key(w, "value");
            lj_w_str(w, col->note_value);
            lj_w_key(w, "values");
            lj_w_str(w, col->note->values);
            lj_w_key(w, "framework");
            lj_w_str(w, col->note->framework);
            lj_w_key(w, "logitlab");
            lj_w_str(w, col->error);
            lj_w_key(w, "text");
            lj_w_str(w, col->departure);
            lj_w_obj_end(w);
        }
        lj_w_obj_end(w);
        return;
    }
    lj_w_key(w, "chain");
    lj_w_str(w, col->chain);
    lj_w_key(w, "warnings");
    lj_w_str(w, col->warnings);
    lj_w_key(w, "stages");
    lj_w_arr_begin(w);
    size_t step = 0;
    for (size_t i = 0; i < col->n_stages; i++) {
        const ll_cmp_stage *s = &col->stages[i];
        const ll_trace_stage *ts = ll_trace_stage_at(col->trace, i);
        lj_w_obj_begin(w);
        lj_w_key(w, "stage");
        lj_w_str(w, s->desc);
        lj_w_key(w, "name");
        lj_w_str(w, s->name);
        lj_w_key(w, "off");
        lj_w_bool(w, s->off);
        if (!s->off) {
            lj_w_key(w, "step");
            lj_w_int(w, (long long)++step);
        }
        ll_cli_write_stage_fields(w, ts, tok, top_n);
        lj_w_obj_end(w);
    }
    lj_w_arr_end(w);
    lj_w_key(w, "selected");
    lj_w_obj_begin(w);
    ll_cli_write_token_ref(w, tok, col->selected);
    lj_w_key(w, "p");
    lj_w_float(w, col->selected_p);
    lj_w_obj_end(w);
    if (col->greedy_why[0]) {
        lj_w_key(w, "greedy_because");
        lj_w_str(w, col->greedy_why);
    }
    lj_w_obj_end(w);
}

static void write_json(const ll_compare *c, const ll_compare_gen *g, const ll_tokenizer *tok, size_t top_n,
                       const char *prompt, size_t n_prompt, const char *logits_path, size_t n_vocab) {
    lj_writer w;
    lj_w_init(&w, stdout, true);
    lj_w_obj_begin(&w);
    if (prompt) {
        ll_cli_write_text(&w, "prompt", "prompt_bytes", prompt, strlen(prompt));
        lj_w_key(&w, "n_prompt_tokens");
        lj_w_int(&w, (long long)n_prompt);
    } else {
        lj_w_key(&w, "logits");
        lj_w_str(&w, logits_path);
    }
    lj_w_key(&w, "n_vocab");
    lj_w_int(&w, (long long)n_vocab);
    lj_w_key(&w, "seed");
    lj_w_int(&w, c->seed);
    lj_w_key(&w, "profiles");
    lj_w_arr_begin(&w);
    for (size_t i = 0; i < c->n_cols; i++) write_column(&w, &c->cols[i], tok, top_n);
    lj_w_arr_end(&w);
    lj_w_key(&w, "differences");
    lj_w_arr_begin(&w);
    for (size_t i = 0; i < c->n_diffs; i++) {
        const ll_cmp_diff *d = &c->diffs[i];
        lj_w_obj_begin(&w);
        lj_w_key(&w, "a");
        lj_w_str(&w, ll_profile_name(c->cols[d->a].profile));
        lj_w_key(&w, "b");
        lj_w_str(&w, ll_profile_name(c->cols[d->b].profile));
        lj_w_key(&w, "kind");
        lj_w_str(&w, ll_cmp_kind_name(d->kind));
        lj_w_key(&w, "step");
        lj_w_int(&w, (long long)d->step);
        lj_w_key(&w, "stage_a");
        lj_w_str(&w, d->stage_a);
        lj_w_key(&w, "stage_b");
        lj_w_str(&w, d->stage_b);
        lj_w_key(&w, "why");
        lj_w_str(&w, d->why);
        lj_w_obj_end(&w);
    }
    lj_w_arr_end(&w);
    if (g) {
        lj_w_key(&w, "generate");
        lj_w_obj_begin(&w);
        lj_w_key(&w, "first_divergence");
        if (g->first_divergence < 0) lj_w_null(&w);
        else lj_w_int(&w, g->first_divergence);
        lj_w_key(&w, "profiles");
        lj_w_arr_begin(&w);
        for (size_t i = 0; i < g->n; i++) {
            const ll_cmp_gen *x = &g->g[i];
            lj_w_obj_begin(&w);
            lj_w_key(&w, "profile");
            lj_w_str(&w, ll_profile_name(x->profile));
            lj_w_key(&w, "ok");
            lj_w_bool(&w, x->ok);
            if (!x->ok) {
                lj_w_key(&w, "error");
                lj_w_str(&w, x->error);
            } else {
                ll_cli_write_text(&w, "text", "text_bytes", x->text, x->text_len);
                lj_w_key(&w, "tokens");
                lj_w_arr_begin(&w);
                for (size_t k = 0; k < x->n_tokens; k++) lj_w_int(&w, x->tokens[k]);
                lj_w_arr_end(&w);
                lj_w_key(&w, "stop_reason");
                lj_w_str(&w, ll_stop_reason_name(x->reason));
            }
            lj_w_obj_end(&w);
        }
        lj_w_arr_end(&w);
        lj_w_key(&w, "pairs");
        lj_w_arr_begin(&w);
        for (size_t a = 0; a < g->n; a++)
            for (size_t b = a + 1; b < g->n; b++) {
                if (!g->g[a].ok || !g->g[b].ok) continue;
                long d = ll_compare_gen_pair(g, a, b);
                lj_w_obj_begin(&w);
                lj_w_key(&w, "a");
                lj_w_str(&w, ll_profile_name(g->g[a].profile));
                lj_w_key(&w, "b");
                lj_w_str(&w, ll_profile_name(g->g[b].profile));
                lj_w_key(&w, "first_divergence");
                if (d < 0) lj_w_null(&w);
                else lj_w_int(&w, d);
                lj_w_obj_end(&w);
            }
        lj_w_arr_end(&w);
        lj_w_obj_end(&w);
    }
    lj_w_obj_end(&w);
    lj_w_end(&w);
}

int ll_cmd_compare(int argc, char **argv) {
    ll_error err;
    ll_error_clear(&err);
    ll_cli_sampling s;
    ll_cli_sampling_init(&s);
    const char *model = NULL, *tokenizer = NULL, *prompt = NULL, *logits_path = NULL, *format = NULL;
    long long threads = LL_CLI_THREADS_AUTO, top = 5, width = 0, gen = 0, prompt_len = -1;
    bool json = false, no_bos = false;
    int color = -1;
    ll_profile profiles[LL_PROFILE_COUNT];
    size_t n_profiles = LL_PROFILE_COUNT;
    for (size_t i = 0; i < LL_PROFILE_COUNT; i++) profiles[i] = (ll_profile)i;
    int32_t *history = NULL, *ids = NULL;
    size_t n_history = 0, n_ids = 0, n_vocab = 0;
    float *logits = NULL;
    ll_model *m = NULL;
    ll_context *ctx = NULL;
    const ll_tokenizer *tok = NULL;
    ll_compare cmp;
    ll_compare_gen cg;
    memset(&cmp, 0, sizeof cmp);
    memset(&cg, 0, sizeof cg);
    int rc = 0;
    ll_args a;
    ll_args_init(&a, argc, argv, 0);
    int kind;
    while ((kind = ll_args_next(&a)) != 0) {
        const char *v;
        if (kind == 2) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unexpected argument '%s' (the prompt goes after -p)", LL_Q(a.value));
            goto fail;
        }
        if (!strcmp(a.flag, "--profile")) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT,
                    "--profile: compare runs every profile; choose which with --profiles, e.g. --profiles hf,llama.cpp");
            goto fail;
        }
        int r = ll_cli_sampling_flag(&s, &a, &err);
        if (r < 0 && take_departure(&s, &a)) r = 1;
        if (r == 0) r = ll_cli_model_flag(&a, &model, &tokenizer, &prompt, &threads, &err);
        if (r < 0) goto fail;
        if (r > 0) continue;
        const char *f = a.flag;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            usage(stdout);
            goto done;
        } else if (!strcmp(f, "--logits")) {
            if (!ll_args_value(&a, &logits_path, &err)) goto fail;
        } else if (!strcmp(f, "--format")) {
            if (!ll_args_value(&a, &format, &err)) goto fail;
        } else if (!strcmp(f, "--history")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_id_list(f, v, &history, &n_history, &err)) goto fail;
        } else if (!strcmp(f, "--prompt-len")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(f, v, 0, INT32_MAX, &prompt_len, &err)) goto fail;
        } else if (!strcmp(f, "--profiles")) {
            if (!ll_args_value(&a, &v, &err) || !parse_profiles(f, v, profiles, &n_profiles, &err)) goto fail;
        } else if (!strcmp(f, "--top")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(f, v, 1, LL_TRACE_MAX_TOP, &top, &err)) goto fail;
        } else if (!strcmp(f, "--generate")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(f, v, 1, 4096, &gen, &err)) goto fail;
        } else if (!strcmp(f, "--width")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(f, v, 40, 1000, &width, &err)) goto fail;
        } else if (!strcmp(f, "--json")) {
            json = true;
        } else if (!strcmp(f, "--no-bos")) {
            no_bos = true;
        } else if (!strcmp(f, "--color")) {
            color = 1;
        } else if (!strcmp(f, "--no-color")) {
            color = 0;
        } else {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unknown flag '%s' (see logitlab compare --help)", LL_Q(f));
            goto fail;
        }
    }
    if (!prompt == !logits_path) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "%s (see logitlab compare --help)",
                prompt ? "give -p PROMPT or --logits FILE, not both" : "give -p PROMPT (on a model) or --logits FILE");
        goto fail;
    }
    if (logits_path && (model || tokenizer || no_bos || gen)) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "%s needs a model: it goes with -p PROMPT, not with --logits",
                gen ? "--generate" : model ? "-m" : tokenizer ? "--tokenizer" : "--no-bos");
        goto fail;
    }
    if (prompt && (history || prompt_len >= 0 || format)) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT,
                "%s goes with --logits: with -p the prompt's tokens are the history",
                history ? "--history" : format ? "--format" : "--prompt-len");
        goto fail;
    }
    if (prompt_len > (long long)n_history) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "--prompt-len = %lld is out of range: the history has %zu tokens",
                prompt_len, n_history);
        goto fail;
    }
    ll_cli_sampling_finish(&s);
    if (logits_path) {
        logits = ll_cli_load_logits(logits_path, format, &n_vocab, &err);
        if (!logits) goto fail;
        size_t pl = prompt_len < 0 ? n_history : (size_t)prompt_len;
        if (ll_compare_run(&cmp, &s.p, profiles, n_profiles, logits, n_vocab, history, n_history, pl, &err) != LL_OK)
            goto fail;
    } else {
        m = ll_cli_load_model(model, tokenizer, &err);
        if (!m) goto fail;
        tok = ll_model_get_tokenizer(m);
        if (!tok) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "the model has no tokenizer: give --tokenizer FILE");
            goto fail;
        }
        n_vocab = ll_model_get_info(m)->n_vocab;
        if (ll_tokenize(tok, prompt, strlen(prompt), !no_bos, false, &ids, &n_ids, &err) != LL_OK) goto fail;
        /* the context `logitlab generate` uses, so --generate gives its tokens */
        size_t n_ctx = ll_model_get_info(m)->n_ctx_train;
        if (n_ctx == 0 || n_ctx > 4096) n_ctx = 4096;
        if (n_ids + (size_t)gen > n_ctx) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT,
                    "the prompt has %zu tokens and --generate asks %lld more, but the context holds %zu: shorten them",
                    n_ids, gen, n_ctx);
            goto fail;
        }
        ctx = ll_context_new(m, n_ctx, ll_cli_threads(threads, m), &err);
        if (!ctx || !(logits = ll_malloc(n_vocab * sizeof *logits, &err))) goto fail;
        if (ll_context_decode(ctx, ids, n_ids, logits, NULL, &err) != LL_OK) goto fail;
        if (ll_compare_run(&cmp, &s.p, profiles, n_profiles, logits, n_vocab, ids, n_ids, n_ids, &err) != LL_OK)
            goto fail;
        if (gen) {
            ll_lm lm;
            ll_lm_from_context(&lm, ctx);
            ll_sampling_params gp = s.p;
            if (gp.seed < 0) gp.seed = LL_DEFAULT_SEED;
            struct sigaction sa, old;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_sigint;
            sigemptyset(&sa.sa_mask);
            sigaction(SIGINT, &sa, &old);
            ll_status st = ll_compare_generate(&cg, &lm, tok, ids, n_ids, &gp, profiles, n_profiles, (int32_t)gen,
                                               &interrupted, &err);
            sigaction(SIGINT, &old, NULL);
            if (st != LL_OK) goto fail;
            if (interrupted) {
                rc = 130;
                goto done;
            }
        }
    }
    if (json) {
        write_json(&cmp, gen ? &cg : NULL, tok, (size_t)top, prompt, n_ids, logits_path, n_vocab);
    } else {
        ll_term t;
        ll_term_detect(&t, stdout);
        if (width) t.width = (int)width;
        if (color >= 0) t.color = color != 0;
        if (prompt) {
            printf("  the next token after \"");
            ll_term_put_text(stdout, prompt, strlen(prompt));
            printf("\" (%zu prompt tokens, %zu in the vocabulary)\n", n_ids, n_vocab);
        } else {
            printf("  logits from ");
            ll_term_put_text(stdout, logits_path, strlen(logits_path));
            printf(" (%zu tokens; history: %zu tokens)\n", n_vocab, n_history);
        }
        ll_compare_print(&cmp, &t, tok, (size_t)top);
        if (gen) ll_compare_print_generate(&cg, &t, tok);
    }
    goto done;
fail:
    fprintf(stderr, "logitlab compare: %s\n", err.message);
    rc = err.status == LL_ERR_INVALID_ARGUMENT ? 2 : 1;
done:
    ll_compare_gen_free(&cg);
    ll_compare_free(&cmp);
    free(logits);
    free(ids);
    free(history);
    ll_context_free(ctx);
    ll_model_free(m);
    ll_cli_sampling_free(&s);
    return rc;
}
