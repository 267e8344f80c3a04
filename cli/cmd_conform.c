/*
 * cmd_conform.c - `logitlab conform`: probes an OpenAI-compatible server
 * and says, per sampling parameter, whether it is honoured (src/conform).
 * Built only with libcurl and jansson; without them the command says how
 * to get them.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"

#ifdef LL_HAVE_CONFORM
#include "conform/conform.h"
#endif

static void usage(FILE *f) {
    fputs("usage: logitlab conform --url http://HOST:PORT/v1 [--model NAME] [--api-key KEY] [--prompt TEXT]\n"
          "                        [--timeout S] [--json]\n"
          "Does an OpenAI-compatible server honour the sampling parameters? Requests whose answers reveal it\n"
          "(the same seed twice, a ban on the greedy token, ...), one verdict per parameter with the evidence:\n"
          "honoured, ignored (accepted, no effect), wrong (an effect, not the documented one), error (refused),\n"
          "not testable. Token ids come from the server's own POST /tokenize; no tokenizer is needed here.\n"
          "  --url URL         the API's base URL, e.g. http://127.0.0.1:8080/v1 (/tokenize is looked for\n"
          "                    at the server's root, the URL without /v1)\n"
          "  --model NAME      the model field (default: the first of GET URL/models)\n"
          "  --api-key KEY     sent as \"Authorization: Bearer KEY\"\n"
          "  --prompt TEXT     the prompt of every request (default \"And God said\"; one whose greedy\n"
          "                    continuation repeats a token lets the penalties be tested)\n"
          "  --timeout S       seconds per request, 1 to 3600 (default 60)\n"
          "  --json            the report as JSON\n"
          "Exit status: 0 when the run completed (whatever the verdicts), 1 when the server could not be\n"
          "reached or its base answer is unusable, 2 for a usage error.\n",
          f);
#ifdef LL_HAVE_CONFORM
    fprintf(f,
            "\nThe probes (%zu requests at most: GET /models without --model, up to 3 POST /tokenize, the rest\n"
            "completions and chat completions of 24 tokens or fewer):\n",
            cf_max_requests());
    cf_print_probes(f);
#endif
}

int ll_cmd_conform(int argc, char **argv) {
#ifndef LL_HAVE_CONFORM
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            break;
        }
    fprintf(stderr, "logitlab conform: built without it: apt-get install libcurl4-openssl-dev libjansson-dev "
                    "pkg-config, then rebuild\n");
    return 1;
#else
    ll_error err;
    ll_error_clear(&err);
    cf_options o = {.timeout_s = 60};
    bool json = false;
    long long timeout = 60;
    ll_args a;
    ll_args_init(&a, argc, argv, 0);
    int kind;
    while ((kind = ll_args_next(&a)) != 0) {
        const char *v;
        if (kind == 2) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unexpected argument '%s' (see logitlab conform --help)",
                    LL_Q(a.value));
            goto usage_error;
        }
        const char *f = a.flag;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(f, "--url")) {
            if (!ll_args_value(&a, &o.url, &err)) goto usage_error;
        } else if (!strcmp(f, "--model")) {
            if (!ll_args_value(&a, &o.model, &err)) goto usage_error;
        } else if (!strcmp(f, "--api-key")) {
            if (!ll_args_value(&a, &o.api_key, &err)) goto usage_error;
        } else if (!strcmp(f, "--prompt")) {
            if (!ll_args_value(&a, &o.prompt, &err)) goto usage_error;
        } else if (!strcmp(f, "--timeout")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(f, v, 1, 3600, &timeout, &err)) goto usage_error;
        } else if (!strcmp(f, "--json")) {
            json = true;
        } else {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unknown flag '%s' (see logitlab conform --help)", LL_Q(f));
            goto usage_error;
        }
    }
    /* the flag values go into a request body or header as they are */
    const struct {
        const char *flag, *value;
        size_t max;
    } texts[] = {{"--url", o.url, 2000},
                 {"--model", o.model, 256},
                 {"--api-key", o.api_key, 4096},
                 {"--prompt", o.prompt, 4096}};
    if (!o.url) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "--url is required, e.g. --url http://127.0.0.1:8080/v1");
        goto usage_error;
    }
    for (size_t i = 0; i < LL_ARRAY_LEN(texts); i++) {
        const char *s = texts[i].value;
        if (!s) continue;
        size_t n = strlen(s);
        bool ok = n > 0 && n <= texts[i].max;
        for (size_t k = 0; ok && k < n; k++) /* a header must not carry a line break; the others must be text */
            ok = (unsigned char)s[k] >= 0x20 || (s[k] == '\n' && strcmp(texts[i].flag, "--prompt") == 0);
        ok = ok && lj_utf8_valid(s, n);
        if (!ok) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT,
                    "%s '%s': valid is 1 to %zu bytes of UTF-8 without control characters", texts[i].flag, LL_Q(s),
                    texts[i].max);
            goto usage_error;
        }
    }
    o.timeout_s = (double)timeout;
    cf_report rep;
    char *why = NULL;
    int rc = cf_run(&o, &rep, &why);
    if (rc != 0) {
        fprintf(stderr, "logitlab conform: %s\n", why ? why : "out of memory");
        free(why);
        return rc;
    }
    if (json) {
        if (!cf_report_json(&rep, stdout)) {
            fprintf(stderr, "logitlab conform: could not write the JSON report\n");
            rc = 1;
        }
    } else {
        cf_report_print(&rep, stdout);
    }
    cf_report_free(&rep);
    return rc;
usage_error:
    fprintf(stderr, "logitlab conform: %s\n", err.message);
    return 2;
#endif
}
