/*
 * cmd_explain.c - `logitlab explain` (the tour, or one lesson for scripts)
 * and `logitlab inspect` (the next-token distribution after every stage of
 * a chain, from its trace).
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "core/internal.h"
#include "explain/explain.h"
#include "explain/term.h"
#include "util/json.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

/* No SA_RESTART: a read waiting for the user's line returns, so Ctrl-C ends
 * the tour at once instead of after the next Enter. */
static void catch_sigint(struct sigaction *old) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old);
}

static void explain_usage(FILE *f) {
    fputs("usage: logitlab explain [LESSON] [options]\n"
          "The inference hyperparameters, one at a time: the idea, the C function that implements it,\n"
          "and a live demo on the model's real next-token distribution. Without LESSON: the interactive\n"
          "tour (it asks what next after each lesson). With LESSON (a name or number): that lesson,\n"
          "printed once, for scripts.\n"
          "  -m, --model FILE   any GGUF or llama2.c model (default: the embedded KJV model)\n"
          "  --tokenizer FILE   tokenizer.bin for a llama2.c checkpoint\n"
          "  --prompt TEXT      (default \"And God said\")\n"
          "  --value X          the lesson's hyperparameter value\n"
          "  --more             with LESSON: also the lesson at more values\n"
          "  --step             with LESSON: also the code stepped through on the numbers\n"
          "  --list             the lessons\n"
          "  --width N          columns (default: the terminal's)\n"
          "  --color, --no-color  (default: colour on a terminal unless NO_COLOR is set)\n",
          f);
    ll_cli_threads_help(f, "  -t, --threads N|auto  ");
}

int ll_cmd_explain(int argc, char **argv) {
    ll_error err;
    ll_error_clear(&err);
    const char *model = NULL, *tokenizer = NULL, *prompt = NULL, *lesson = NULL;
    bool list = false, more = false, step = false, have_value = false;
    double value = 0;
    long long width = 0, threads = LL_CLI_THREADS_AUTO;
    int color = -1;
    ll_args a;
    ll_args_init(&a, argc, argv, 0);
    int kind;
    while ((kind = ll_args_next(&a)) != 0) {
        const char *v;
        if (kind == 2) {
            if (lesson) {
                ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unexpected argument '%s' (one lesson at a time)", LL_Q(a.value));
                goto fail;
            }
            lesson = a.value;
            continue;
        }
        int r = ll_cli_model_flag(&a, &model, &tokenizer, &prompt, &threads, &err);
        if (r < 0) goto fail;
        if (r > 0) continue;
        const char *f = a.flag;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            explain_usage(stdout);
            return 0;
        } else if (!strcmp(f, "--value")) {
            /* a double (top_p is one), that must also fit the float fields (temperature) */
            float as_float;
            if (!ll_args_value(&a, &v, &err) || !ll_parse_float(f, v, false, &value, &err) ||
                !ll_parse_float32(f, v, false, &as_float, &err))
                goto fail;
            have_value = true;
        } else if (!strcmp(f, "--width")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(f, v, 40, 1000, &width, &err)) goto fail;
        } else if (!strcmp(f, "--list")) {
            list = true;
        } else if (!strcmp(f, "--more")) {
            more = true;
        } else if (!strcmp(f, "--step")) {
            step = true;
        } else if (!strcmp(f, "--color")) {
            color = 1;
        } else if (!strcmp(f, "--no-color")) {
            color = 0;
        } else {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unknown flag '%s' (see logitlab explain --help)", LL_Q(f));
            goto fail;
        }
    }
    if (list) {
        for (size_t i = 0; i < ll_explain_n_lessons(); i++)
            printf("%2zu  %-20s %s\n", i + 1, ll_explain_lesson_id(i), ll_explain_lesson_title(i));
        return 0;
    }
    int which = -1;
    if (lesson) {
        which = ll_explain_find(lesson);
        if (which < 0) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "'%s' %s (see logitlab explain --list)", LL_Q(lesson),
                    which == -2 ? "fits more than one lesson" : "is not a lesson");
            goto fail;
        }
    } else if (have_value || more || step) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "--value, --more and --step need a LESSON");
        goto fail;
    }
    ll_model *m = ll_cli_load_model(model, tokenizer, &err);
    if (!m) goto fail;
    ll_explain_options o = {stdout, stdin, prompt, (int)threads, (int)width, color, &interrupted, model, tokenizer};
    struct sigaction old;
    catch_sigint(&old);
    ll_explain *e = ll_explain_new(m, &o, &err);
    ll_status st = e ? LL_OK : err.status;
    if (e && which >= 0) {
        st = ll_explain_lesson(e, which, have_value ? &value : NULL, &err);
        if (st == LL_OK && more) st = ll_explain_more_values(e, &err);
        if (st == LL_OK && step) st = ll_explain_step(e, &err);
    } else if (e) {
        st = ll_explain_tour(e, &err);
    }
    fflush(stdout);
    ll_explain_free(e);
    ll_model_free(m);
    sigaction(SIGINT, &old, NULL);
    if (interrupted) return 130;
    if (st != LL_OK) goto fail;
    return 0;
fail:
    fprintf(stderr, "logitlab explain: %s\n", err.message);
    return err.status == LL_ERR_INVALID_ARGUMENT ? 2 : 1;
}

/* ---- inspect ---- */

static void inspect_usage(FILE *f) {
    fputs("usage: logitlab inspect [-m MODEL] -p PROMPT [sampling flags] [--top N] [--json]\n"
          "The next token's distribution after each stage of the sampling chain, from the chain's trace:\n"
          "candidates left, probability removed, entropy, and the top tokens with their probabilities\n"
          "(softmax over the candidates at that point). The prompt's tokens are the penalties' history.\n"
          "  -m, --model FILE  (default: the embedded model)   --tokenizer FILE\n"
          "  --top N           tokens per stage (default 10, at most 64)\n"
          "  --no-bos          do not add BOS to the prompt\n",
          f);
    ll_cli_threads_help(f, "  -t, --threads N|auto  ");
    ll_cli_sampling_help(f);
}

static void print_token(const ll_tokenizer *tok, int32_t id) {
    char buf[64];
    size_t len = ll_token_to_bytes(tok, id, true, buf, sizeof buf - 1);
    bool cut = len > sizeof buf - 1; /* the table shows 63 bytes; --json has it whole */
    if (cut) len = sizeof buf - 1;
    buf[len] = '\0';
    putchar('\'');
    ll_term_put_text(stdout, buf, len);
    if (cut) fputs("...", stdout);
    putchar('\'');
}

int ll_cmd_inspect(int argc, char **argv) {
    ll_error err;
    ll_error_clear(&err);
    const char *model = NULL, *tokenizer = NULL, *prompt = NULL;
    long long top = 10, threads = LL_CLI_THREADS_AUTO;
    bool json = false, no_bos = false;
    ll_cli_sampling s;
    ll_cli_sampling_init(&s);
    ll_model *m = NULL;
    ll_context *c = NULL;
    ll_chain *ch = NULL;
    ll_trace *tr = NULL;
    int32_t *ids = NULL;
    float *logits = NULL;
    char *desc = NULL;
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
        int r = ll_cli_sampling_flag(&s, &a, &err);
        if (r == 0) r = ll_cli_model_flag(&a, &model, &tokenizer, &prompt, &threads, &err);
        if (r < 0) goto fail;
        if (r > 0) continue;
        const char *f = a.flag;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            inspect_usage(stdout);
            goto done;
        } else if (!strcmp(f, "--top")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(f, v, 1, LL_TRACE_MAX_TOP, &top, &err)) goto fail;
        } else if (!strcmp(f, "--json")) {
            json = true;
        } else if (!strcmp(f, "--no-bos")) {
            no_bos = true;
        } else {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unknown flag '%s' (see logitlab inspect --help)", LL_Q(f));
            goto fail;
        }
    }
    if (!prompt) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "-p PROMPT is required");
        goto fail;
    }
    ll_cli_sampling_finish(&s);
    {
        /* What is set but ignored (hf without do_sample keeps only greedy)
         * is said on stderr, as sample and generate do: stdout (the table,
         * --json) stays the same, and the explain tour, which runs these
         * commands and reads their stdout, is unaffected. The llama.cpp
         * "no seed given" note is left out (fb1c5e5): inspect's one draw
         * shows its seed in the chain, and every tour command would get it. */
        ll_sampling_params wp = s.p;
        if (wp.seed < 0) wp.seed = LL_DEFAULT_SEED;
        char warn[1024];
        ll_sampling_params_warnings(&wp, warn, sizeof warn);
        fputs(warn, stderr);
    }
    m = ll_cli_load_model(model, tokenizer, &err);
    if (!m) goto fail;
    const ll_tokenizer *tok = ll_model_get_tokenizer(m);
    if (!tok) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "the model has no tokenizer: give --tokenizer FILE");
        goto fail;
    }
    size_t n, V = ll_model_get_info(m)->n_vocab;
    if (ll_tokenize(tok, prompt, strlen(prompt), !no_bos, false, &ids, &n, &err) != LL_OK) goto fail;
    size_t n_ctx = ll_model_get_info(m)->n_ctx_train;
    if (n_ctx && n > n_ctx) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "the prompt has %zu tokens but the model's context holds %zu: shorten it",
                n, n_ctx);
        goto fail;
    }
    if (n_ctx < n) n_ctx = n;
    c = ll_context_new(m, n_ctx, ll_cli_threads(threads, m), &err);
    if (!c || !(logits = ll_malloc(V * sizeof *logits, &err))) goto fail;
    if (ll_context_decode(c, ids, n, logits, NULL, &err) != LL_OK) goto fail;
    ch = ll_chain_from_params(&s.p, V, &err);
    if (!ch) goto fail;
    tr = ll_trace_new((size_t)top, &err);
    if (!tr || ll_chain_set_prompt(ch, ids, n, &err) != LL_OK) goto fail;
    ll_chain_set_trace(ch, tr);
    int32_t picked;
    if (ll_chain_apply(ch, logits, V, &picked, &err) != LL_OK) goto fail;
    desc = ll_cli_chain_describe(ch);
    if (!desc) {
        ll_fail(&err, LL_ERR_OUT_OF_MEMORY, "out of memory");
        goto fail;
    }
    if (json) {
        lj_writer w;
        lj_w_init(&w, stdout, true);
        lj_w_obj_begin(&w);
        ll_cli_write_text(&w, "prompt", "prompt_bytes", prompt, strlen(prompt));
        lj_w_key(&w, "n_prompt_tokens");
        lj_w_int(&w, (long long)n);
        lj_w_key(&w, "profile");
        lj_w_str(&w, ll_profile_name(s.p.profile));
        lj_w_key(&w, "chain");
        lj_w_str(&w, desc);
        lj_w_key(&w, "stages");
        ll_cli_write_trace(&w, tr, tok);
        lj_w_key(&w, "selected");
        lj_w_int(&w, picked);
        lj_w_obj_end(&w);
        lj_w_end(&w);
    } else {
        printf("prompt \"%s\" (%zu tokens); chain: %s\n", prompt, n, desc);
        for (size_t i = 0; i < ll_trace_n_stages(tr); i++) {
            const ll_trace_stage *st = ll_trace_stage_at(tr, i);
            printf("\n%zu. %s: %zu -> %zu candidates, removed %.4f, entropy %.3f -> %.3f nats\n", i + 1, st->name,
                   st->n_before, st->n_after, st->mass_removed, st->entropy_before, st->entropy_after);
            if (st->selected >= 0) {
                printf("   picked %d ", st->selected);
                print_token(tok, st->selected);
                putchar('\n');
                continue;
            }
            for (size_t k = 0; k < st->n_top_after; k++) {
                printf("   %2zu %6d %10.4f  %.4f  ", k + 1, st->top_after[k].id, st->top_after[k].logit,
                       st->top_after[k].p);
                print_token(tok, st->top_after[k].id);
                putchar('\n');
            }
        }
    }
    goto done;
fail:
    fprintf(stderr, "logitlab inspect: %s\n", err.message);
    rc = err.status == LL_ERR_INVALID_ARGUMENT ? 2 : 1;
done:
    free(desc);
    ll_trace_free(tr);
    ll_chain_free(ch);
    free(logits);
    free(ids);
    ll_context_free(c);
    ll_model_free(m);
    ll_cli_sampling_free(&s);
    return rc;
}
