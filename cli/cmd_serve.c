/*
 * cmd_serve.c - `logitlab serve`: the OpenAI-compatible HTTP server
 * (src/serve). Built only with libmicrohttpd and jansson; without them
 * the command says how to get them.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"

#ifdef LL_HAVE_SERVE
#include "serve/serve.h"
#endif

static void usage(FILE *f) {
    fputs("usage: logitlab serve [-m MODEL] [--host 127.0.0.1] [--port 8080] [--parallel N] [options]\n"
          "An OpenAI-compatible server: POST /v1/completions, /v1/chat/completions, /tokenize, /detokenize;\n"
          "GET /v1/models, /health, /metrics. Every sampling parameter of the profile is a request field.\n"
          "  -m, --model FILE          GGUF or llama2.c checkpoint (default: the embedded model)\n"
          "  --tokenizer FILE          tokenizer.bin for a llama2.c checkpoint\n"
          "  --host ADDR               (default 127.0.0.1)\n"
          "  --port N                  (default 8080; 0: any free port, printed on start)\n"
          "  -np, --parallel N         requests generated at once, batched into one step (default 4)\n"
          "  --queue N                 requests waiting for a slot at most; more get 503 (default 64)\n"
          "  -c, --ctx-size N          context window per slot (default: the model's, at most 4096)\n"
          "  -t, --threads N|auto      threads of each forward step (all slots share them)\n"
          "  --kv-type f32|f16|q8_0    the slots' KV caches (default f32; f16 halves their memory, q8_0 about quarters it)\n",
          f);
    ll_cli_threads_help(f, "                            ");
    fputs("  --api-key KEY             require \"Authorization: Bearer KEY\" (not for /health)\n"
          "  --profile NAME            a request's default profile: openai (default), hf, llama.cpp, llama2.c\n"
          "  --body-limit BYTES        a larger request body is a 413 (default 1048576)\n"
          "  --alias NAME              the model's name in /v1/models (default: the file name or \"logitlab\")\n"
          "  --port-file FILE          write the port there once listening (for scripts using --port 0):\n"
          "                            whole, by a rename; a file that cannot be written stops the server\n",
          f);
}

int ll_cmd_serve(int argc, char **argv) {
#ifndef LL_HAVE_SERVE
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            break;
        }
    fprintf(stderr, "logitlab serve: built without the server: apt-get install libmicrohttpd-dev libjansson-dev "
                    "pkg-config, then rebuild\n");
    return 1;
#else
    ll_error err;
    ll_error_clear(&err);
    const char *model = NULL, *tokenizer = NULL, *prompt = NULL, *profile = "openai", *alias = NULL;
    long long threads = LL_CLI_THREADS_AUTO, port = 8080, parallel = 4, queue = 64, ctx = 0, body_limit = 1 << 20;
    ll_serve_options o = {.host = "127.0.0.1"};
    ll_model *m = NULL;
    int rc = 1;
    ll_args a;
    ll_args_init(&a, argc, argv, 0);
    int kind;
    while ((kind = ll_args_next(&a)) != 0) {
        const char *v;
        if (kind == 2) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unexpected argument '%s' (see logitlab serve --help)", LL_Q(a.value));
            goto fail;
        }
        int r = ll_cli_model_flag(&a, &model, &tokenizer, &prompt, &threads, &err);
        if (r < 0) goto fail;
        if (r > 0) {
            if (prompt) {
                ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "serve takes no prompt: requests bring theirs");
                goto fail;
            }
            continue;
        }
        const char *f = a.flag;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(f, "--host")) {
            if (!ll_args_value(&a, &o.host, &err)) goto fail;
        } else if (!strcmp(f, "--port")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(f, v, 0, 65535, &port, &err)) goto fail;
        } else if (!strcmp(f, "-np") || !strcmp(f, "--parallel")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(f, v, 1, 256, &parallel, &err)) goto fail;
        } else if (!strcmp(f, "--queue")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(f, v, 0, 100000, &queue, &err)) goto fail;
        } else if (!strcmp(f, "-c") || !strcmp(f, "--ctx-size")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(f, v, 2, 1 << 24, &ctx, &err)) goto fail;
        } else if (!strcmp(f, "--kv-type")) {
            if (!ll_args_value(&a, &v, &err) || ll_kv_type_parse(v, &o.kv_type, &err) != LL_OK) goto fail;
        } else if (!strcmp(f, "--api-key")) {
            if (!ll_args_value(&a, &o.api_key, &err)) goto fail;
            if (!o.api_key[0]) {
                ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "--api-key is empty");
                goto fail;
            }
        } else if (!strcmp(f, "--profile")) {
            if (!ll_args_value(&a, &profile, &err)) goto fail;
        } else if (!strcmp(f, "--body-limit")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(f, v, 1024, 1LL << 30, &body_limit, &err)) goto fail;
        } else if (!strcmp(f, "--alias")) {
            if (!ll_args_value(&a, &alias, &err)) goto fail;
        } else if (!strcmp(f, "--port-file")) {
            if (!ll_args_value(&a, &o.ready_file, &err)) goto fail;
        } else {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unknown flag '%s' (see logitlab serve --help)", LL_Q(f));
            goto fail;
        }
    }
    if (ll_profile_from_name(profile, &o.profile, &err) != LL_OK) goto fail;
    m = ll_cli_load_model(model, tokenizer, &err);
    if (!m) goto fail;
    size_t n_ctx = (size_t)ctx;
    if (!n_ctx) {
        n_ctx = ll_model_get_info(m)->n_ctx_train;
        if (n_ctx == 0 || n_ctx > 4096) n_ctx = 4096;
    }
    if (!alias) {
        /* the file name without its directory, as llama.cpp's server names it */
        alias = model ? strrchr(model, '/') ? strrchr(model, '/') + 1 : model : "logitlab";
    }
    o.port = (int)port;
    o.parallel = (int)parallel;
    o.queue = (int)queue;
    o.n_ctx = n_ctx;
    o.threads = ll_cli_threads(threads, m);
    o.body_limit = (size_t)body_limit;
    o.model_id = alias;
    if (ll_serve_run(m, &o, &err) != 0) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "logitlab serve: %s\n", err.message);
    rc = err.status == LL_ERR_INVALID_ARGUMENT ? 2 : 1;
done:
    ll_model_free(m);
    return rc;
#endif
}
