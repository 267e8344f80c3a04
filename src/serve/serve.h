/*
 * serve.h - `logitlab serve`: an OpenAI-compatible HTTP server over one
 * model (internal to the CLI; built only when libmicrohttpd and jansson
 * are found, see CMakeLists.txt).
 */
#ifndef LL_SERVE_H
#define LL_SERVE_H

#include "logitlab.h"

typedef struct {
    const char *host;       /* "127.0.0.1" */
    int port;               /* 0: any free port (printed on start) */
    int parallel;           /* slots: requests generated at once */
    int queue;              /* requests waiting for a slot, at most */
    size_t n_ctx;           /* per slot */
    int threads;            /* of the forward step all slots share */
    ll_kv_type kv_type;     /* the slots' KV caches (LL_KV_F32, LL_KV_F16 or LL_KV_Q8_0) */
    const char *api_key;    /* NULL: no key */
    ll_profile profile;     /* the default profile of a request */
    size_t body_limit;      /* bytes; a larger body is a 413 */
    const char *model_id;   /* the name in /v1/models */
    /* written once listening, before serving: "listening on http://HOST:PORT" */
    const char *ready_file; /* NULL or a path that gets the port number */
} ll_serve_options;

/* Serves until SIGINT or SIGTERM; returns 0 after a clean stop. The
 * caller blocks nothing: this blocks SIGINT/SIGTERM in every thread it
 * starts and waits for them itself. */
int ll_serve_run(ll_model *m, const ll_serve_options *o, ll_error *err);

#endif /* LL_SERVE_H */
