/*
 * fuzz_serve_request.c - libFuzzer target for the server's request reader
 * (src/serve/request.c): the body of every POST /v1/completions and
 * /v1/chat/completions is outside input. The input is parsed as JSON the
 * way the server does (jansson, duplicate keys rejected) and read as both
 * kinds of request against the embedded model: each must be accepted with
 * a consistent job or refused with a status and a message. Built when the
 * server is (libmicrohttpd, jansson); run by scripts/fuzz.sh.
 */
#include "fuzz_common.h"
#include "serve/serve_impl.h"

static ll_model *model;
static srv_model sm;

static bool setup(void) {
    if (model) return true;
    ll_error err;
    model = ll_model_load_default(&err);
    if (!model) return false;
    sm.model = model;
    sm.tok = ll_model_get_tokenizer(model);
    sm.n_vocab = ll_model_get_info(model)->n_vocab;
    sm.n_ctx = 256;
    sm.id = "logitlab";
    sm.profile = LL_PROFILE_OPENAI;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!setup()) abort();
    json_error_t je;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (!body) return 0;
    for (int kind = 0; kind < 2; kind++) {
        srv_job *j = srv_job_new();
        if (!j) break;
        srv_err e = {0};
        if (srv_parse_request(j, body, (srv_kind)kind, &sm, &e)) {
            /* an accepted request fits the context it will run in */
            if (j->n_prompt == 0 || j->n_prompt >= sm.n_ctx) abort();
            for (size_t i = 0; i < j->n_prompt; i++)
                if (j->prompt[i] < 0 || (size_t)j->prompt[i] >= sm.n_vocab) abort();
        } else if (e.status < 400 || e.status > 599 || !e.message[0]) {
            abort(); /* a refusal is an HTTP error with a message */
        }
        srv_job_unref(j);
    }
    json_decref(body);
    return 0;
}
