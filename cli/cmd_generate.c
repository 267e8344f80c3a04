/*
 * cmd_generate.c - `logitlab generate`: the whole loop from the command
 * line. Every hyperparameter is a flag named as users know it; text
 * streams to stdout as it becomes final; --json prints one object with the
 * text, ids, stop reason, log-probs and timings; Ctrl-C ends the loop
 * cleanly and keeps what was generated. --chat renders the prompt as a
 * user message with the model's chat template (docs/chat.md) first.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "core/internal.h"
#include "util/json.h"

/* The one piece of process state a signal handler may touch. */
static volatile sig_atomic_t interrupted;
/* Set when streaming to stdout failed (a closed pipe, a full disk): the
 * loop is stopped through `interrupted`, and the exit says why. */
static bool output_failed;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

static void usage(FILE *f) {
    fputs("usage: logitlab generate [-m MODEL] [-p PROMPT | -p - | < prompt.txt] [options]\n"
          "Generates text, streaming it to stdout; tokens/s go to stderr at the end.\n"
          "  -m, --model FILE          GGUF or llama2.c checkpoint (default: the embedded model)\n"
          "  --tokenizer FILE          tokenizer.bin for a llama2.c checkpoint\n"
          "  -p, --prompt TEXT         '-' or no -p with a redirected stdin: read the prompt from stdin\n"
          "  -c, --ctx-size N          context window (default: the model's, at most 4096)\n",
          f);
    ll_cli_threads_help(f, "  -t, --threads N|auto      ");
    fputs("  --kv-type f32|f16|q8_0    KV cache storage (default f32; f16 = llama.cpp's default -ctk/-ctv f16, q8_0 = -ctk/-ctv q8_0)\n"
          "  --one-token-prompt        the prompt's products with the one-token arithmetic, 8 tokens at a time:\n"
          "                            slower; with Q8_0 weights llama.cpp's logits bit for bit (docs/parity.md)\n"
          "  --max-new-tokens N        (alias --n-predict)\n"
          "  --max-length N            prompt + new tokens, as Hugging Face counts\n"
          "  --stop TEXT               repeatable; not included in the output\n"
          "  --ignore-eos              --max-time SECONDS\n"
          "  -n, --n N                 independent samples (OpenAI's n), each with its own seed stream\n"
          "  --num-beams N             --length-penalty X    --early-stopping true|false|never\n"
          "  --num-return-sequences N  (beam search)\n"
          "  --logprobs N              the chosen token's log-prob and N alternatives, raw and processed\n"
          "  --no-bos                  do not add BOS to the prompt\n"
          "  --chat                    the prompt is a user message: render it with the model's chat template\n"
          "                            (logitlab's own format when the model has none; docs/chat.md)\n"
          "  --system TEXT             a system message before it (needs --chat)\n"
          "  --chat-template NAME|TEXT a family name or template text instead of the model's (needs --chat)\n"
          "  --verbose                 show the rendered chat prompt on stderr\n"
          "  --json                    one JSON object: text, tokens, stop reason, logprobs, timings\n"
          "  --quiet                   no statistics on stderr\n",
          f);
    ll_cli_sampling_help(f);
}

typedef struct {
    const char *model, *tokenizer, *prompt;
    const char *system, *chat_template; /* NULL: none given */
    long long ctx, threads;
    ll_kv_type kv_type;
    bool one_token_prompt;
    bool json, quiet, no_bos, stream, chat, verbose;
    const char **stop;
    size_t n_stop;
    ll_generate_params g;
    ll_cli_sampling s;
} gen_opts;

static int parse(int argc, char **argv, gen_opts *o, ll_error *err) {
    ll_args a;
    ll_args_init(&a, argc, argv, 0);
    int kind;
    while ((kind = ll_args_next(&a)) != 0) {
        const char *v;
        long long n;
        double d;
        if (kind == 2) {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "unexpected argument '%s' (the prompt goes after -p)", LL_Q(a.value));
            return 2;
        }
        int r = ll_cli_sampling_flag(&o->s, &a, err);
        if (r == 0) r = ll_cli_model_flag(&a, &o->model, &o->tokenizer, &o->prompt, &o->threads, err);
        if (r < 0) return 2;
        if (r > 0) continue;
        const char *f = a.flag;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            usage(stdout);
            return -1;
        } else if (!strcmp(f, "-c") || !strcmp(f, "--ctx-size")) {
            if (!ll_args_value(&a, &v, err) || !ll_parse_int(f, v, 1, 1 << 20, &o->ctx, err)) return 2;
        } else if (!strcmp(f, "--kv-type")) {
            if (!ll_args_value(&a, &v, err) || ll_kv_type_parse(v, &o->kv_type, err) != LL_OK) return 2;
        } else if (!strcmp(f, "--one-token-prompt")) {
            o->one_token_prompt = true;
        } else if (!strcmp(f, "--max-new-tokens") || !strcmp(f, "--n-predict")) {
            if (!ll_args_value(&a, &v, err) || !ll_parse_int(f, v, 1, INT32_MAX, &n, err)) return 2;
            o->g.max_new_tokens = (int32_t)n;
        } else if (!strcmp(f, "--max-length")) {
            if (!ll_args_value(&a, &v, err) || !ll_parse_int(f, v, 1, INT32_MAX, &n, err)) return 2;
            o->g.max_length = (int32_t)n;
        } else if (!strcmp(f, "--stop")) {
            if (!ll_args_value(&a, &v, err)) return 2;
            if (!*v) {
                ll_fail(err, LL_ERR_INVALID_ARGUMENT, "--stop: a stop string cannot be empty");
                return 2;
            }
            const char **ns = realloc(o->stop, (o->n_stop + 1) * sizeof *ns);
            if (!ns) {
                ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory");
                return 1;
            }
            o->stop = ns;
            o->stop[o->n_stop++] = v;
        } else if (!strcmp(f, "--ignore-eos")) {
            o->g.ignore_eos = true;
        } else if (!strcmp(f, "--max-time")) {
            if (!ll_args_value(&a, &v, err) || !ll_parse_float(f, v, false, &d, err)) return 2;
            if (!(d > 0)) {
                ll_fail(err, LL_ERR_INVALID_ARGUMENT, "--max-time: %s is out of range: valid is > 0 seconds", LL_Q(v));
                return 2;
            }
            o->g.max_time = d;
        } else if (!strcmp(f, "-n") || !strcmp(f, "--n")) {
            if (!ll_args_value(&a, &v, err) || !ll_parse_int(f, v, 1, 64, &n, err)) return 2;
            o->g.n = (int32_t)n;
        } else if (!strcmp(f, "--num-beams")) {
            if (!ll_args_value(&a, &v, err) || !ll_parse_int(f, v, 1, 64, &n, err)) return 2;
            o->g.num_beams = (int32_t)n;
        } else if (!strcmp(f, "--length-penalty")) {
            float fl;
            if (!ll_args_value(&a, &v, err) || !ll_parse_float32(f, v, false, &fl, err)) return 2;
            o->g.length_penalty = fl;
        } else if (!strcmp(f, "--early-stopping")) {
            bool b = true;
            if (a.inline_value || (a.i < a.argc && a.argv[a.i][0] != '-')) {
                if (!ll_args_value(&a, &v, err)) return 2;
                if (!strcmp(v, "never")) {
                    o->g.early_stopping = LL_EARLY_STOPPING_NEVER;
                    continue;
                }
                if (!ll_parse_bool(f, v, &b, err)) {
                    ll_fail(err, LL_ERR_INVALID_ARGUMENT, "--early-stopping: '%s' is not one of true, false, never", LL_Q(v));
                    return 2;
                }
            }
            o->g.early_stopping = b ? LL_EARLY_STOPPING_TRUE : LL_EARLY_STOPPING_FALSE;
        } else if (!strcmp(f, "--num-return-sequences")) {
            if (!ll_args_value(&a, &v, err) || !ll_parse_int(f, v, 1, 64, &n, err)) return 2;
            o->g.num_return_sequences = (int32_t)n;
        } else if (!strcmp(f, "--logprobs")) {
            if (!ll_args_value(&a, &v, err) || !ll_parse_int(f, v, 0, LL_MAX_LOGPROBS, &n, err)) return 2;
            o->g.logprobs = (int32_t)n;
        } else if (!strcmp(f, "--no-bos")) {
            o->no_bos = true;
        } else if (!strcmp(f, "--chat")) {
            o->chat = true;
        } else if (!strcmp(f, "--system")) {
            if (!ll_args_value(&a, &v, err)) return 2;
            o->system = v;
        } else if (!strcmp(f, "--chat-template")) {
            if (!ll_args_value(&a, &v, err)) return 2;
            o->chat_template = v;
        } else if (!strcmp(f, "--verbose")) {
            o->verbose = true;
        } else if (!strcmp(f, "--json")) {
            o->json = true;
        } else if (!strcmp(f, "--quiet") || !strcmp(f, "-q")) {
            o->quiet = true;
        } else {
            ll_fail(err, LL_ERR_INVALID_ARGUMENT, "unknown flag '%s' (see logitlab generate --help)", LL_Q(f));
            return 2;
        }
    }
    /* without --chat the prompt is raw text: a system message or a template would be dropped without a word */
    if (!o->chat && (o->system || o->chat_template)) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "%s needs --chat (without it the prompt is used as raw text)",
                o->system ? "--system" : "--chat-template");
        return 2;
    }
    return 0;
}

static void stream_text(void *user, int32_t seq, const char *text, size_t len) {
    (void)user;
    (void)seq;
    if (output_failed) return;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    if (!ll_cli_stdout_ok()) {
        /* nobody gets the rest: stop generating it */
        output_failed = true;
        interrupted = 1;
    }
}

static void write_alternatives(lj_writer *w, const ll_tokenizer *tok, const ll_logprob *top, size_t n) {
    lj_w_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        lj_w_obj_begin(w);
        ll_cli_write_token_fields(w, tok, top[i].id);
        lj_w_key(w, "logprob");
        lj_w_float(w, top[i].logprob);
        lj_w_obj_end(w);
    }
    lj_w_arr_end(w);
}

static void write_json(const gen_opts *o, const ll_tokenizer *tok, const ll_generate_result *r, const char *prompt,
                       const char *chat_prompt, size_t chat_len) {
    lj_writer w;
    lj_w_init(&w, stdout, true);
    lj_w_obj_begin(&w);
    ll_cli_write_text(&w, "prompt", "prompt_bytes", prompt, strlen(prompt));
    if (chat_prompt) ll_cli_write_text(&w, "chat_prompt", "chat_prompt_bytes", chat_prompt, chat_len);
    lj_w_key(&w, "n_prompt_tokens");
    lj_w_int(&w, (long long)r->n_prompt);
    lj_w_key(&w, "profile");
    lj_w_str(&w, ll_profile_name(o->g.sampling.profile));
    lj_w_key(&w, "results");
    lj_w_arr_begin(&w);
    for (size_t i = 0; i < r->n_seqs; i++) {
        const ll_generation *q = &r->seqs[i];
        lj_w_obj_begin(&w);
        ll_cli_write_text(&w, "text", "text_bytes", q->text, q->text_len);
        lj_w_key(&w, "tokens");
        lj_w_arr_begin(&w);
        for (size_t k = 0; k < q->n_tokens; k++) lj_w_int(&w, q->tokens[k]);
        lj_w_arr_end(&w);
        lj_w_key(&w, "stop_reason");
        lj_w_str(&w, ll_stop_reason_name(q->reason));
        lj_w_key(&w, "score");
        lj_w_double(&w, q->score);
        if (q->logprobs) {
            /* raw: log-softmax of the model's logits; processed: the chain's final distribution */
            lj_w_key(&w, "logprobs");
            lj_w_arr_begin(&w);
            for (size_t k = 0; k < q->n_tokens; k++) {
                const ll_token_logprobs *lp = &q->logprobs[k];
                lj_w_obj_begin(&w);
                ll_cli_write_token_fields(&w, tok, lp->id);
                lj_w_key(&w, "raw_logprob");
                lj_w_float(&w, lp->raw);
                lj_w_key(&w, "processed_logprob");
                lj_w_float(&w, lp->processed);
                lj_w_key(&w, "top_raw");
                write_alternatives(&w, tok, lp->top_raw, lp->n_top);
                lj_w_key(&w, "top_processed");
                write_alternatives(&w, tok, lp->top_processed, lp->n_top);
                lj_w_obj_end(&w);
            }
            lj_w_arr_end(&w);
        }
        lj_w_obj_end(&w);
    }
    lj_w_arr_end(&w);
    lj_w_key(&w, "timings");
    lj_w_obj_begin(&w);
    lj_w_key(&w, "prompt_seconds");
    lj_w_double(&w, r->prompt_seconds);
    lj_w_key(&w, "generation_seconds");
    lj_w_double(&w, r->gen_seconds);
    lj_w_key(&w, "generated_tokens");
    lj_w_int(&w, (long long)r->n_generated);
    lj_w_key(&w, "prompt_tokens_per_second");
    lj_w_double(&w, r->prompt_seconds > 0 ? (double)r->n_prompt / r->prompt_seconds : 0.0);
    lj_w_key(&w, "generated_tokens_per_second");
    lj_w_double(&w, r->gen_seconds > 0 ? (double)r->n_generated / r->gen_seconds : 0.0);
    lj_w_obj_end(&w);
    lj_w_obj_end(&w);
    lj_w_end(&w);
}

/* A token's text for the table: at most 40 bytes shown (the column is for
 * reading, the --json output has it whole), newlines as spaces. */
static void print_piece(const ll_tokenizer *tok, int32_t id, bool quoted) {
    char buf[48];
    size_t len = ll_token_to_bytes(tok, id, true, buf, sizeof buf);
    bool cut = len > 40;
    if (cut) len = 40;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7F) buf[i] = ' ';
    printf(quoted ? " '%.*s%s'" : "%-16.*s%s", (int)len, buf, cut ? "..." : "");
}

static void print_logprobs(const ll_tokenizer *tok, const ll_generation *q) {
    printf("\n%-6s %-16s %10s %10s  alternatives (raw)\n", "id", "token", "raw", "processed");
    for (size_t k = 0; k < q->n_tokens; k++) {
        const ll_token_logprobs *lp = &q->logprobs[k];
        printf("%-6d ", lp->id);
        print_piece(tok, lp->id, false);
        printf(" %10.4f %10.4f ", lp->raw, lp->processed);
        for (size_t j = 0; j < lp->n_top; j++) {
            print_piece(tok, lp->top_raw[j].id, true);
            printf(" %.3f", lp->top_raw[j].logprob);
        }
        printf("\n");
    }
}

/* --chat: the optional system message and the prompt as the user message,
 * rendered with --chat-template, else the model's template, else (a model
 * without one) logitlab's own format, which is said once on stderr. The
 * generation prompt is appended: the model writes the assistant's turn. */
static ll_status render_chat(const gen_opts *o, const ll_model *m, const char *prompt, char **out, size_t *out_len,
                             ll_error *err) {
    char *tmpl = NULL;
    ll_status st = LL_OK;
    if (!o->chat_template && (st = ll_model_chat_template(m, &tmpl, err)) != LL_OK) return st;
    const char *use = o->chat_template ? o->chat_template : tmpl ? tmpl : "logitlab";
    if (!o->chat_template && !tmpl && !o->quiet)
        fputs("logitlab generate: the model has no chat template; using logitlab's own format "
              "(\"System: ...\\n\\nUser: ...\\n\\nAssistant:\", docs/chat.md; --chat-template NAME picks another)\n",
              stderr);
    ll_chat_message msgs[2];
    size_t n = 0;
    if (o->system) msgs[n++] = (ll_chat_message){"system", o->system};
    msgs[n++] = (ll_chat_message){"user", prompt};
    st = ll_chat_apply(use, msgs, n, true, out, out_len, err);
    if (st == LL_OK && o->verbose) {
        const char *fam = ll_chat_family(use);
        fprintf(stderr, "logitlab generate: chat template %s (%s); the rendered prompt, %zu bytes:\n%s\n",
                fam ? fam : "?", o->chat_template ? "--chat-template" : tmpl ? "the model's" : "none in the model",
                *out_len, *out);
    }
    free(tmpl);
    return st;
}

int ll_cmd_generate(int argc, char **argv) {
    ll_error err;
    ll_error_clear(&err);
    gen_opts o;
    memset(&o, 0, sizeof o);
    o.threads = LL_CLI_THREADS_AUTO;
    ll_cli_sampling_init(&o.s);
    ll_generate_params_init(&o.g, o.s.p.profile);
    int rc = 0;
    ll_model *m = NULL;
    ll_context *c = NULL;
    char *stdin_prompt = NULL, *chat_prompt = NULL;
    size_t chat_len = 0;
    int32_t *ids = NULL;
    ll_generate_result res;
    memset(&res, 0, sizeof res);
    int r = parse(argc, argv, &o, &err);
    if (r < 0) goto done;
    if (r > 0) goto fail;
    ll_cli_sampling_finish(&o.s);
    o.g.sampling = o.s.p;
    o.g.stop = o.stop;
    o.g.n_stop = o.n_stop;
    if (o.s.n_eos) {
        o.g.eos_ids = o.s.eos;
        o.g.n_eos_ids = o.s.n_eos;
    }
    const char *prompt = o.prompt;
    if (!prompt || !strcmp(prompt, "-")) {
        if (!prompt && isatty(STDIN_FILENO)) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "no prompt: give -p TEXT or pipe the prompt on stdin");
            goto fail;
        }
        size_t len;
        stdin_prompt = ll_read_stdin(LL_CLI_INPUT_MAX, &len, &err);
        if (!stdin_prompt) goto fail;
        /* the prompt is text: a NUL would end it early without a word */
        const char *nul = memchr(stdin_prompt, '\0', len);
        if (nul) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT,
                    "the prompt on standard input has a NUL byte at offset %zu (of %zu bytes): a prompt is text",
                    (size_t)(nul - stdin_prompt), len);
            goto fail;
        }
        /* a piped file or `echo` ends with a newline the user did not mean as prompt text */
        if (len && stdin_prompt[len - 1] == '\n') stdin_prompt[--len] = '\0';
        if (len && stdin_prompt[len - 1] == '\r') stdin_prompt[--len] = '\0';
        prompt = stdin_prompt;
    }
    if (!o.quiet) {
        /* e.g. hf without do_sample ignores the warpers: say so, as `sample` does */
        char warn[1024];
        ll_sampling_params_warnings(&o.g.sampling, warn, sizeof warn);
        fputs(warn, stderr);
    }
    m = ll_cli_load_model(o.model, o.tokenizer, &err);
    if (!m) goto fail;
    const ll_tokenizer *tok = ll_model_get_tokenizer(m);
    if (!tok) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "the model has no tokenizer: give --tokenizer FILE");
        goto fail;
    }
    if (o.chat && render_chat(&o, m, prompt, &chat_prompt, &chat_len, &err) != LL_OK) {
        /* an unknown template, none, or a conversation the template refuses: the user's choice to fix */
        if (err.status == LL_ERR_UNSUPPORTED) err.status = LL_ERR_INVALID_ARGUMENT;
        goto fail;
    }
    size_t n_ids;
    /* a chat template writes its special tokens as text (<|im_start|>): read them as tokens, as the server does */
    if (chat_prompt ? ll_tokenize(tok, chat_prompt, chat_len, !o.no_bos, true, &ids, &n_ids, &err) != LL_OK
                    : ll_tokenize(tok, prompt, strlen(prompt), !o.no_bos, false, &ids, &n_ids, &err) != LL_OK)
        goto fail;
    size_t n_ctx = (size_t)o.ctx;
    if (!n_ctx) {
        n_ctx = ll_model_get_info(m)->n_ctx_train;
        if (n_ctx == 0 || n_ctx > 4096) n_ctx = 4096;
    }
    ll_context_params cp = ll_context_params_default();
    cp.n_ctx = n_ctx;
    cp.n_threads = ll_cli_threads(o.threads, m);
    cp.kv_type = o.kv_type;
    cp.one_token_products = o.one_token_prompt;
    c = ll_context_new_ex(m, &cp, &err);
    if (!c) goto fail;
    ll_lm lm;
    ll_lm_from_context(&lm, c);
    /* stream only one sequence that is final as it grows: beams change their past */
    o.stream = !o.json && o.g.n == 1 && o.g.num_beams == 1;
    if (o.stream) o.g.on_text = stream_text;
    o.g.interrupt = &interrupted;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    ll_status st = ll_generate(&lm, tok, ids, n_ids, &o.g, &res, &err);
    sigaction(SIGINT, &old, NULL);
    if (st != LL_OK) goto fail;
    if (o.json) {
        write_json(&o, tok, &res, prompt, chat_prompt, chat_len);
    } else {
        for (size_t i = 0; i < res.n_seqs; i++) {
            const ll_generation *q = &res.seqs[i];
            if (!o.stream) {
                if (res.n_seqs > 1) {
                    if (o.g.num_beams > 1) printf("--- %zu (score %.4f, %s)\n", i + 1, q->score, ll_stop_reason_name(q->reason));
                    else printf("--- sample %zu (%s)\n", i + 1, ll_stop_reason_name(q->reason));
                }
                fwrite(q->text, 1, q->text_len, stdout);
            }
            printf("\n");
            if (q->logprobs) print_logprobs(tok, q);
        }
        fflush(stdout);
    }
    if (!o.quiet && !output_failed) {
        size_t n_out = 0;
        for (size_t i = 0; i < res.n_seqs; i++) n_out += res.seqs[i].n_tokens;
        const char *reason = res.n_seqs ? ll_stop_reason_name(res.seqs[0].reason) : "none";
        /* decode steps per second: a step decodes every live sample or beam at once */
        if (res.prompt_stopped)
            fprintf(stderr, "[%zu prompt tokens: stopped after %.2f s, before the prompt was decoded; stopped: %s]\n",
                    res.n_prompt, res.prompt_seconds, reason);
        else
            fprintf(stderr,
                    "[%zu prompt tokens: %.1f tokens/s; %zu tokens out, %zu decoded: %.1f tokens/s; stopped: %s]\n",
                    res.n_prompt, res.prompt_seconds > 0 ? (double)res.n_prompt / res.prompt_seconds : 0.0, n_out,
                    res.n_generated, res.gen_seconds > 0 ? (double)res.n_generated / res.gen_seconds : 0.0, reason);
    }
    /* a failed write: ll_cli_finish_output (main) reports it and exits 1 */
    rc = output_failed ? 1 : interrupted ? 130 : 0;
    goto done;
fail:
    fprintf(stderr, "logitlab generate: %s\n", err.message);
    rc = err.status == LL_ERR_INVALID_ARGUMENT ? 2 : 1;
done:
    ll_generate_result_free(&res);
    free(ids);
    free(stdin_prompt);
    free(chat_prompt);
    ll_context_free(c);
    ll_model_free(m);
    free(o.stop);
    ll_cli_sampling_free(&o.s);
    return rc;
}
