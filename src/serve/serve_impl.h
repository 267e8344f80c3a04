/*
 * serve_impl.h - what the parts of `logitlab serve` share (internal): a
 * request as the engine runs it (srv_job), the request reader (request.c:
 * JSON -> checked generation parameters), the engine (engine.c: slots
 * and the one scheduler thread that steps them), the JSON helpers
 * (json_out.c) and the HTTP glue (http.c, libmicrohttpd).
 *
 * Layering: serve sits above decode (it runs the same per-token steps as
 * ll_generate, through generate_impl.h, so a request gives the tokens
 * `logitlab generate` gives with the same parameters) and below cli.
 */
#ifndef LL_SERVE_IMPL_H
#define LL_SERVE_IMPL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "../core/internal.h"
#include "../decode/generate_impl.h"
#include "serve.h"

/* ---- an error answer in OpenAI's shape ---- */

typedef struct {
    int status;         /* HTTP status */
    const char *type;   /* "invalid_request_error", ... */
    const char *code;   /* NULL or "model_not_found", ... */
    char param[64];     /* the request field, "" when none */
    char message[LL_ERROR_MESSAGE_MAX + 128];
} srv_err;

/* Fills e and returns false (so a reader can `return srv_fail(...)`). */
bool srv_fail(srv_err *e, int status, const char *param, const char *fmt, ...) LL_PRINTF(4, 5);
/* {"error": {"message", "type", "param", "code"}} as text (malloc'ed). */
char *srv_err_body(const srv_err *e);

/* ---- what the server knows about its model ---- */

typedef struct {
    const ll_model *model;
    const ll_tokenizer *tok;
    size_t n_vocab, n_ctx;
    const char *id;       /* the model's name in /v1/models and answers */
    ll_profile profile;   /* the default profile (--profile) */
    long long created;
} srv_model;

/* ---- a request ---- */

typedef enum { SRV_COMPLETION = 0, SRV_CHAT } srv_kind;

typedef struct srv_job {
    srv_kind kind;
    bool stream, include_usage, echo, trace, chat_logprobs;
    int logprobs;       /* -1: off; N >= 0: the chosen token's log-prob and N alternatives */
    int trace_top;      /* tokens before/after per stage in a trace */
    int32_t *prompt;
    size_t n_prompt;
    char *echo_text;    /* the prompt as text (echo) */
    size_t echo_len;
    ll_generate_params gp; /* points into the storage below */
    ll_token_bias *bias;
    size_t n_bias;
    int32_t *eos, *suppress;
    size_t n_eos, n_suppress;
    char **stop;
    size_t n_stop;
    ll_token_seq *breakers;
    size_t n_breakers;
    char *samplers;
    char id[64];
    long long created;
    const srv_model *model;

    /* what the engine writes and the connection reads (guarded by mu) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *out;
    size_t out_len, out_cap, out_pos;
    bool done;
    int status;          /* of the whole answer when not streaming */
    int refs;
    atomic_int cancelled; /* the client went away, or the server stops */
    double t_submit;
} srv_job;

/* A job with its lock, one reference (the caller's). */
srv_job *srv_job_new(void);
void srv_job_ref(srv_job *j);
void srv_job_unref(srv_job *j);
/* Appends to the answer and wakes the reader (false when out of memory). */
bool srv_job_emit(srv_job *j, const char *s, size_t n);
/* Appends one server-sent event, "data: " body "\n\n", whole, and wakes the reader. */
bool srv_job_emit_event(srv_job *j, const char *body);
/* The whole answer is written (status: the HTTP status, non-streaming). */
void srv_job_finish(srv_job *j, int status);

/* Reads a completion (kind SRV_COMPLETION) or chat request into j:
 * every field checked, the chain built once so that a bad value is a 400
 * naming it before the request waits in the queue. */
bool srv_parse_request(srv_job *j, json_t *body, srv_kind kind, const srv_model *m, srv_err *e);

/* ---- the engine ---- */

typedef struct srv_engine srv_engine;

typedef struct {
    int parallel;      /* slots */
    int queue;         /* requests waiting for a slot, at most */
    int threads;       /* of the work context that runs every step */
    ll_kv_type kv_type; /* of the slots' caches */
} srv_engine_config;

srv_engine *srv_engine_new(const srv_model *m, const srv_engine_config *cfg, ll_error *err);
/* 0: queued; -1: the queue is full; -2: the server is stopping. Takes a
 * reference on success. */
int srv_engine_submit(srv_engine *e, srv_job *j);
/* Stops taking work, cancels the running requests (their answers end with
 * what they have, finish_reason "interrupted"), fails the queued ones, and
 * joins the scheduler. */
void srv_engine_stop(srv_engine *e);
void srv_engine_free(srv_engine *e);
/* Prometheus text of the engine's counters appended to *buf. */
void srv_engine_metrics(srv_engine *e, char **buf, size_t *len, size_t *cap);

/* ---- JSON helpers ---- */

/* A JSON string of bytes that may not be valid UTF-8 (invalid bytes become
 * U+FFFD, as the detokenizer does). */
json_t *srv_json_text(const char *s, size_t n);
/* A token's decoded bytes as a string, and as an array of byte values. */
json_t *srv_json_token_text(const ll_tokenizer *tok, int32_t id);
json_t *srv_json_token_bytes(const ll_tokenizer *tok, int32_t id);
/* The trace's stages: the same record as `logitlab inspect --json`'s "stages". */
json_t *srv_json_trace(const ll_trace *trace, const ll_tokenizer *tok);
/* Appends printf output to a growing buffer (false when out of memory). */
bool srv_buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...) LL_PRINTF(4, 5);
bool srv_buf_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n);

#endif /* LL_SERVE_IMPL_H */
