/*
 * http.c - the HTTP side of `logitlab serve`, on libmicrohttpd: routing,
 * the API key, the body limit, the OpenAI error shape, server-sent events,
 * /health, /v1/models, /metrics, /tokenize and /detokenize, and a clean
 * stop on SIGINT/SIGTERM.
 *
 * libmicrohttpd runs a thread per connection, so a connection may block:
 * a non-streamed request waits for its answer, a streamed one waits in
 * the response callback for the next event. Both watch the socket while
 * they wait, so a client that goes away cancels its request (and frees
 * its slot) at the engine's next step, not when the answer is done.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "meta.h"
#include "serve_impl.h"

#define N_ENDPOINTS 10
static const char *const endpoints[N_ENDPOINTS] = {"/v1/completions", "/v1/chat/completions", "/v1/models", "/health",
                                                   "/metrics",        "/tokenize",            "/detokenize", "playground",
                                                   "other",           "unauthorized"};
enum { EP_COMPLETIONS, EP_CHAT, EP_MODELS, EP_HEALTH, EP_METRICS, EP_TOKENIZE, EP_DETOKENIZE, EP_PAGE, EP_OTHER, EP_UNAUTH };

typedef struct {
    srv_model m;
    srv_engine *engine;
    const ll_serve_options *o;
    atomic_int stopping;
    pthread_mutex_t mu;
    /* answers per endpoint and status class (1xx..5xx) */
    unsigned long long answers[N_ENDPOINTS][6];
    unsigned long long seq;
} srv_server;

typedef struct {
    char *body;
    size_t len, cap;
    bool too_big;
    size_t received; /* body bytes that arrived, stored or not */
    bool answered;   /* by answer_early */
    int ep;
} srv_conn;

/* ---- answers ---- */

static void count(srv_server *s, int ep, unsigned status) {
    pthread_mutex_lock(&s->mu);
    s->answers[ep][status / 100 < 6 ? status / 100 : 5]++;
    pthread_mutex_unlock(&s->mu);
}

static enum MHD_Result reply(srv_server *s, struct MHD_Connection *c, int ep, unsigned status, const char *type,
                             const char *body, size_t len) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == 405)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
                                ep == EP_PAGE                                            ? "GET, HEAD"
                                : ep == EP_MODELS || ep == EP_HEALTH || ep == EP_METRICS ? "GET"
                                                                                         : "POST");
    if (status == 401) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    count(s, ep, status);
    return ret;
}

static enum MHD_Result reply_json(srv_server *s, struct MHD_Connection *c, int ep, unsigned status, json_t *o) {
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!body) return MHD_NO;
    enum MHD_Result r = reply(s, c, ep, status, "application/json", body, strlen(body));
    free(body);
    return r;
}

static enum MHD_Result reply_err(srv_server *s, struct MHD_Connection *c, int ep, const srv_err *e) {
    char *body = srv_err_body(e);
    if (!body) return MHD_NO;
    enum MHD_Result r = reply(s, c, ep, (unsigned)e->status, "application/json", body, strlen(body));
    free(body);
    return r;
}

static enum MHD_Result fail(srv_server *s, struct MHD_Connection *c, int ep, int status, const char *param,
                            const char *fmt, const char *a1) {
    srv_err e = {0};
    srv_fail(&e, status, param, fmt, a1);
    return reply_err(s, c, ep, &e);
}

/* Whether the peer closed its end (or reset it). */
static bool peer_gone(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return false;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLERR | POLLHUP | POLLRDHUP)) return true;
    char b;
    ssize_t n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Waits on the job's condition for at most 50 ms (the caller holds mu). */
static void wait_a_little(srv_job *j) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&j->cv, &j->mu, &ts);
}

typedef struct {
    srv_job *job;
    struct MHD_Connection *c;
} srv_stream;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    srv_stream *st = cls;
    srv_job *j = st->job;
    pthread_mutex_lock(&j->mu);
    while (j->out_pos == j->out_len && !j->done) {
        wait_a_little(j);
        if (j->out_pos == j->out_len && !j->done && peer_gone(st->c)) {
            atomic_store(&j->cancelled, 1);
            pthread_mutex_unlock(&j->mu);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    size_t n = j->out_len - j->out_pos;
    if (n == 0) {
        pthread_mutex_unlock(&j->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    if (n > max) n = max;
    memcpy(buf, j->out + j->out_pos, n);
    j->out_pos += n;
    pthread_mutex_unlock(&j->mu);
    return (ssize_t)n;
}

static void stream_free(void *cls) {
    srv_stream *st = cls;
    /* a stream that ends early (the client closed it) cancels the request */
    atomic_store(&st->job->cancelled, 1);
    srv_job_unref(st->job);
    free(st);
}

/* ---- endpoints ---- */

static enum MHD_Result generate(srv_server *s, struct MHD_Connection *c, int ep, json_t *body) {
    srv_err e = {0};
    srv_job *j = srv_job_new();
    if (!j) return MHD_NO;
    pthread_mutex_lock(&s->mu);
    unsigned long long seq = ++s->seq;
    pthread_mutex_unlock(&s->mu);
    snprintf(j->id, sizeof j->id, "%s-%llx%llx", ep == EP_CHAT ? "chatcmpl" : "cmpl", (unsigned long long)time(NULL), seq);
    j->created = (long long)time(NULL);
    if (!srv_parse_request(j, body, ep == EP_CHAT ? SRV_CHAT : SRV_COMPLETION, &s->m, &e)) {
        srv_job_unref(j);
        return reply_err(s, c, ep, &e);
    }
    int rc = srv_engine_submit(s->engine, j);
    if (rc != 0) {
        srv_job_unref(j);
        if (rc == -1)
            srv_fail(&e, 503, NULL, "the server is busy: %d requests wait already (--queue); try again later",
                     s->o->queue);
        else
            srv_fail(&e, 503, NULL, "the server is stopping");
        e.type = "server_error";
        return reply_err(s, c, ep, &e);
    }
    if (j->stream) {
        srv_stream *st = calloc(1, sizeof *st);
        if (!st) {
            atomic_store(&j->cancelled, 1);
            srv_job_unref(j);
            return MHD_NO;
        }
        st->job = j;
        st->c = c;
        struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free);
        if (!r) {
            stream_free(st);
            return MHD_NO;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        enum MHD_Result ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        count(s, ep, 200);
        return ret;
    }
    pthread_mutex_lock(&j->mu);
    while (!j->done) {
        wait_a_little(j);
        if (!j->done && peer_gone(c)) {
            atomic_store(&j->cancelled, 1);
            pthread_mutex_unlock(&j->mu);
            srv_job_unref(j);
            count(s, ep, 499);
            return MHD_NO; /* closes the connection */
        }
    }
    int status = j->status;
    pthread_mutex_unlock(&j->mu);
    enum MHD_Result ret = reply(s, c, ep, (unsigned)status, "application/json", j->out ? j->out : "", j->out_len);
    srv_job_unref(j);
    return ret;
}

static enum MHD_Result models(srv_server *s, struct MHD_Connection *c) {
    json_t *m = json_object();
    json_object_set_new(m, "id", json_string(s->m.id));
    json_object_set_new(m, "object", json_string("model"));
    json_object_set_new(m, "created", json_integer(s->m.created));
    json_object_set_new(m, "owned_by", json_string("logitlab"));
    json_object_set_new(m, "max_model_len", json_integer((json_int_t)s->m.n_ctx));
    json_t *data = json_array();
    json_array_append_new(data, m);
    json_t *o = json_object();
    json_object_set_new(o, "object", json_string("list"));
    json_object_set_new(o, "data", data);
    return reply_json(s, c, EP_MODELS, 200, o);
}

static enum MHD_Result metrics(srv_server *s, struct MHD_Connection *c) {
    char *buf = NULL;
    size_t len = 0, cap = 0;
    srv_engine_metrics(s->engine, &buf, &len, &cap);
    pthread_mutex_lock(&s->mu);
    srv_buf_printf(&buf, &len, &cap, "# HELP logitlab_http_responses_total HTTP answers by endpoint and status class\n"
                                     "# TYPE logitlab_http_responses_total counter\n");
    for (int ep = 0; ep < N_ENDPOINTS; ep++)
        for (int k = 1; k < 6; k++)
            srv_buf_printf(&buf, &len, &cap, "logitlab_http_responses_total{endpoint=\"%s\",code=\"%dxx\"} %llu\n",
                           endpoints[ep], k, s->answers[ep][k]);
    pthread_mutex_unlock(&s->mu);
    enum MHD_Result r = buf ? reply(s, c, EP_METRICS, 200, "text/plain; version=0.0.4", buf, len) : MHD_NO;
    free(buf);
    return r;
}

/* POST /tokenize {"content" | "prompt": text, "add_special": bool,
 * "with_pieces": bool} -> {"tokens": [...], "count", "max_model_len"}. */
static enum MHD_Result tokenize(srv_server *s, struct MHD_Connection *c, json_t *body) {
    srv_err e = {0};
    const char *key;
    json_t *v, *text = NULL;
    bool add_special = false, pieces = false;
    if (!json_is_object(body)) {
        srv_fail(&e, 400, NULL, "the request body must be a JSON object");
        return reply_err(s, c, EP_TOKENIZE, &e);
    }
    json_object_foreach(body, key, v) {
        bool *flag = !strcmp(key, "add_special") || !strcmp(key, "add_special_tokens") ? &add_special
                     : !strcmp(key, "with_pieces")                                      ? &pieces
                                                                                        : NULL;
        if (!strcmp(key, "content") || !strcmp(key, "prompt")) {
            if (!json_is_string(v)) {
                srv_fail(&e, 400, key, "%s must be a string", key);
                return reply_err(s, c, EP_TOKENIZE, &e);
            }
            text = v;
        } else if (!strcmp(key, "model")) {
        } else if (flag) {
            if (!json_is_boolean(v)) {
                srv_fail(&e, 400, key, "%s must be true or false", key);
                return reply_err(s, c, EP_TOKENIZE, &e);
            }
            *flag = json_is_true(v);
        } else {
            char q[LL_QUOTE_MAX];
            srv_fail(&e, 400, key, "unknown field '%s' (valid: content, add_special, with_pieces)",
                     ll_quote(q, key, strlen(key)));
            return reply_err(s, c, EP_TOKENIZE, &e);
        }
    }
    if (!text) {
        srv_fail(&e, 400, "content", "content is required");
        return reply_err(s, c, EP_TOKENIZE, &e);
    }
    int32_t *ids = NULL;
    size_t n = 0;
    ll_error err;
    ll_error_clear(&err);
    if (ll_tokenize(s->m.tok, json_string_value(text), json_string_length(text), add_special, false, &ids, &n, &err) !=
        LL_OK) {
        srv_fail(&e, 400, "content", "%s", err.message);
        return reply_err(s, c, EP_TOKENIZE, &e);
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (pieces) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(ids[i]));
            json_object_set_new(o, "piece", srv_json_token_text(s->m.tok, ids[i]));
            json_array_append_new(arr, o);
        } else {
            json_array_append_new(arr, json_integer(ids[i]));
        }
    }
    free(ids);
    json_t *o = json_object();
    json_object_set_new(o, "tokens", arr);
    json_object_set_new(o, "count", json_integer((json_int_t)n));
    json_object_set_new(o, "max_model_len", json_integer((json_int_t)s->m.n_ctx));
    return reply_json(s, c, EP_TOKENIZE, 200, o);
}

/* POST /detokenize {"tokens": [...]} -> {"content": text, "prompt": text}. */
static enum MHD_Result detokenize(srv_server *s, struct MHD_Connection *c, json_t *body) {
    srv_err e = {0};
    json_t *t = json_is_object(body) ? json_object_get(body, "tokens") : NULL;
    if (!json_is_object(body) || !t) {
        srv_fail(&e, 400, "tokens", "tokens (an array of token ids) is required");
        return reply_err(s, c, EP_DETOKENIZE, &e);
    }
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (strcmp(key, "tokens") != 0 && strcmp(key, "model") != 0) {
            char q[LL_QUOTE_MAX];
            srv_fail(&e, 400, key, "unknown field '%s' (valid: tokens)", ll_quote(q, key, strlen(key)));
            return reply_err(s, c, EP_DETOKENIZE, &e);
        }
    }
    if (!json_is_array(t)) {
        srv_fail(&e, 400, "tokens", "tokens must be an array of token ids");
        return reply_err(s, c, EP_DETOKENIZE, &e);
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    ll_error err;
    ll_error_clear(&err);
    ll_detokenizer *d = ll_detokenizer_new(s->m.tok, &err);
    bool ok = d && srv_buf_add(&buf, &len, &cap, "", 0);
    for (size_t i = 0; ok && i < json_array_size(t); i++) {
        json_t *x = json_array_get(t, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 || (size_t)json_integer_value(x) >= s->m.n_vocab) {
            ll_detokenizer_free(d);
            free(buf);
            srv_fail(&e, 400, "tokens", "tokens[%zu] is not a token id: valid is an integer in [0, %zu)", i, s->m.n_vocab);
            return reply_err(s, c, EP_DETOKENIZE, &e);
        }
        size_t n;
        const char *p = ll_detokenizer_push(d, (int32_t)json_integer_value(x), &n);
        ok = srv_buf_add(&buf, &len, &cap, p, n);
    }
    if (ok) {
        size_t n;
        const char *p = ll_detokenizer_flush(d, &n);
        ok = srv_buf_add(&buf, &len, &cap, p, n);
    }
    ll_detokenizer_free(d);
    if (!ok) {
        free(buf);
        return MHD_NO;
    }
    json_t *o = json_object();
    json_object_set_new(o, "content", srv_json_text(buf, len));
    json_object_set_new(o, "prompt", srv_json_text(buf, len));
    free(buf);
    return reply_json(s, c, EP_DETOKENIZE, 200, o);
}

/* GET (or HEAD) of the playground's page, files and metadata (meta.c). */
static enum MHD_Result page(srv_server *s, struct MHD_Connection *c, const char *url, const char *method) {
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        char q[LL_QUOTE_MAX], u[LL_QUOTE_MAX];
        srv_err e = {0};
        srv_fail(&e, 405, NULL, "%s %s is not allowed: use GET", ll_quote(q, method, strlen(method)),
                 ll_quote(u, url, strlen(url)));
        return reply_err(s, c, EP_PAGE, &e);
    }
    srv_page_answer a;
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (!srv_page_get(url, inm, s->m.profile, &a)) return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(a.status == 304 ? 0 : a.len, (void *)a.body,
                                                             a.owned ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
    free(a.owned);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a.type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, a.cache);
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, a.etag);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (a.csp) MHD_add_response_header(r, "Content-Security-Policy", a.csp);
    enum MHD_Result ret = MHD_queue_response(c, a.status, r);
    MHD_destroy_response(r);
    count(s, EP_PAGE, a.status);
    return ret;
}

/* ---- the request handler ---- */

static int route(const char *url) {
    static const struct {
        const char *path;
        int ep;
    } routes[] = {{"/v1/completions", EP_COMPLETIONS}, {"/completions", EP_COMPLETIONS},
                  {"/v1/chat/completions", EP_CHAT},   {"/chat/completions", EP_CHAT},
                  {"/v1/models", EP_MODELS},           {"/models", EP_MODELS},
                  {"/health", EP_HEALTH},              {"/metrics", EP_METRICS},
                  {"/tokenize", EP_TOKENIZE},          {"/detokenize", EP_DETOKENIZE}};
    for (size_t i = 0; i < LL_ARRAY_LEN(routes); i++)
        if (!strcmp(url, routes[i].path)) return routes[i].ep;
    return srv_page_exists(url) ? EP_PAGE : EP_OTHER;
}

static bool authorized(srv_server *s, struct MHD_Connection *c) {
    if (!s->o->api_key) return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7) != 0) return false;
    const char *k = h + 7, *want = s->o->api_key;
    size_t n = strlen(k), m = strlen(want);
    /* constant time in the key's bytes: no early exit on the first difference */
    unsigned diff = (unsigned)(n ^ m);
    for (size_t i = 0; i < m; i++) diff |= (unsigned char)want[i] ^ (unsigned char)(i < n ? k[i] : 0);
    return diff == 0;
}

/* Whether a POST body of this Content-Type is read as JSON: none given,
 * application/json or any "+json" type (parameters after ';' ignored), and
 * curl's default for -d (application/x-www-form-urlencoded), which the
 * README's curl lines send. */
static bool json_content_type(const char *ct) {
    if (!ct) return true;
    while (*ct == ' ' || *ct == '\t') ct++;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
    static const char *const ok[] = {"application/json", "application/x-www-form-urlencoded"};
    for (size_t i = 0; i < LL_ARRAY_LEN(ok); i++)
        if (n == strlen(ok[i]) && !strncasecmp(ct, ok[i], n)) return true;
    return n > 5 && !strncasecmp(ct + n - 5, "+json", 5);
}

/* Everything that is decided without the body: the route, /health, the
 * key, the method, the GET endpoints, the declared size and the content
 * type. Returns -1 when the request goes on to its body.
 *
 * When a body is on its way these are answered after it has been read (and
 * dropped, not stored): a server that answers and closes while the client
 * still sends makes the kernel reset the connection, and the client sees a
 * broken connection instead of the 413 or 404. Only a client that waits
 * for "100 Continue", or one that declares more than DRAIN bytes past the
 * limit, gets its answer at once. */
static int answer_early(srv_server *s, struct MHD_Connection *c, srv_conn *cn, const char *url, const char *method) {
    int ep = cn->ep;
    bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    if (ep == EP_OTHER) {
        char q[LL_QUOTE_MAX];
        return fail(s, c, ep, 404, NULL, "no such endpoint: '%s' (see README.md, \"Serve\")", ll_quote(q, url, strlen(url)));
    }
    /* the page is public, like /health: its requests to the API carry the key */
    if (ep == EP_PAGE) return page(s, c, url, method);
    if (ep == EP_HEALTH && get) {
        const char *b = atomic_load(&s->stopping) ? "{\"status\":\"stopping\"}" : "{\"status\":\"ok\"}";
        return reply(s, c, ep, atomic_load(&s->stopping) ? 503 : 200, "application/json", b, strlen(b));
    }
    if (!authorized(s, c))
        return fail(s, c, EP_UNAUTH, 401, NULL, "a valid API key is required: send \"Authorization: Bearer KEY\"%s", "");
    bool wants_get = ep == EP_MODELS || ep == EP_METRICS || ep == EP_HEALTH;
    if ((wants_get && !get) || (!wants_get && !post)) {
        char q[LL_QUOTE_MAX];
        srv_err e = {0};
        srv_fail(&e, 405, NULL, "%s %s is not allowed: use %s", ll_quote(q, method, strlen(method)), endpoints[ep],
                 wants_get ? "GET" : "POST");
        return reply_err(s, c, ep, &e);
    }
    if (ep == EP_MODELS) return models(s, c);
    if (ep == EP_METRICS) return metrics(s, c);
    if (cn->too_big) {
        char lim[32];
        snprintf(lim, sizeof lim, "%zu", s->o->body_limit);
        return fail(s, c, ep, 413, NULL, "the request body is over the limit of %s bytes (--body-limit)", lim);
    }
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!json_content_type(ct)) {
        char q[LL_QUOTE_MAX];
        return fail(s, c, ep, 415, NULL, "Content-Type '%s' is not JSON: send \"Content-Type: application/json\"",
                    ll_quote(q, ct, strlen(ct)));
    }
    return -1;
}

/* Bytes past --body-limit that the server reads and drops to answer an
 * oversized body with a clean 413 (see answer_early); a client that sends
 * more is cut off. */
#define DRAIN ((size_t)16 << 20)

static int hex_value(char h) {
    return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
}

/* The path's %XX escapes decoded in place, as libmicrohttpd does, except
 * %00: a NUL would end the path early ("/health%00" read as "/health"),
 * so it stays escaped and such a path matches no route (404). */
static size_t unescape_path(void *cls, struct MHD_Connection *c, char *s) {
    (void)cls, (void)c;
    char *w = s;
    for (const char *r = s; *r;) {
        int hi = r[0] == '%' ? hex_value(r[1]) : -1, lo = hi >= 0 ? hex_value(r[2]) : -1;
        if (lo >= 0 && (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    srv_server *s = cls;
    srv_conn *cn = *con_cls;
    if (!cn) {
        cn = calloc(1, sizeof *cn);
        if (!cn) return MHD_NO;
        *con_cls = cn;
        cn->ep = route(url);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        const char *ex = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
        unsigned long long declared = 0;
        if (cl) {
            char *end;
            errno = 0;
            declared = strtoull(cl, &end, 10);
            if (errno != 0 || *end != '\0') declared = ULLONG_MAX; /* libmicrohttpd checks it; be safe */
            if (declared > s->o->body_limit) cn->too_big = true;
        }
        bool body_coming = declared > 0 || te != NULL;
        bool waits = ex && !strcasecmp(ex, "100-continue");
        if (!body_coming || waits || declared > s->o->body_limit + DRAIN) {
            int r = answer_early(s, c, cn, url, method);
            if (r >= 0) {
                cn->answered = true;
                return (enum MHD_Result)r;
            }
        }
        return MHD_YES;
    }
    if (*upload_size) {
        /* past the limit (declared, or sent chunked), the body is dropped
         * as it arrives; past the drain too, the connection is cut */
        cn->received += *upload_size;
        if (cn->received > s->o->body_limit) cn->too_big = true;
        if (cn->received > s->o->body_limit + DRAIN) return MHD_NO;
        if (!cn->too_big && !srv_buf_add(&cn->body, &cn->len, &cn->cap, upload, *upload_size)) return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    if (cn->answered) return MHD_YES;
    int ep = cn->ep;
    int early = answer_early(s, c, cn, url, method);
    if (early >= 0) {
        cn->answered = true;
        return (enum MHD_Result)early;
    }
    json_error_t je;
    json_t *body = json_loadb(cn->body ? cn->body : "", cn->len, JSON_REJECT_DUPLICATES, &je);
    if (!body) {
        srv_err e = {0};
        srv_fail(&e, 400, NULL, "the body is not valid JSON: %s (at byte %d)", je.text, je.position);
        return reply_err(s, c, ep, &e);
    }
    enum MHD_Result r = ep == EP_TOKENIZE     ? tokenize(s, c, body)
                        : ep == EP_DETOKENIZE ? detokenize(s, c, body)
                                              : generate(s, c, ep, body);
    json_decref(body);
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls, (void)c, (void)toe;
    srv_conn *cn = *con_cls;
    if (!cn) return;
    free(cn->body);
    free(cn);
    *con_cls = NULL;
}

/* ---- the server ---- */

/* The bound port into `path`, whole or not at all: written to a file beside
 * it, then renamed over it, so a script that polls for the file never reads
 * it empty (the test suite's servers did, under load). */
static ll_status write_ready_file(const char *path, int port, ll_error *err) {
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) return ll_fail(err, LL_ERR_OUT_OF_MEMORY, "out of memory writing --port-file");
    snprintf(tmp, n, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    bool ok = f && fprintf(f, "%d\n", port) > 0;
    ok = f && fclose(f) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    ll_status st = LL_OK;
    if (!ok) {
        char shown[LL_QUOTE_MAX];
        ll_quote(shown, path, strlen(path));
        st = ll_fail(err, LL_ERR_IO, "cannot write the port to --port-file %s: %s", shown, strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return st;
}

int ll_serve_run(ll_model *model, const ll_serve_options *o, ll_error *err) {
    srv_server *s = ll_calloc(1, sizeof *s, err);
    if (!s) return 1;
    pthread_mutex_init(&s->mu, NULL);
    s->o = o;
    s->m.model = model;
    s->m.tok = ll_model_get_tokenizer(model);
    s->m.n_vocab = ll_model_get_info(model)->n_vocab;
    s->m.n_ctx = o->n_ctx;
    s->m.id = o->model_id;
    s->m.profile = o->profile;
    s->m.created = (long long)time(NULL);
    int rc = 1;
    struct MHD_Daemon *d = NULL;
    struct addrinfo *ai = NULL;
    /* SIGINT/SIGTERM go to the thread that waits for them below, never to
     * a worker: block them before any thread starts (threads inherit it) */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    if (!s->m.tok) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "the model has no tokenizer: a server needs one to read prompts");
        goto done;
    }
    srv_engine_config ec = {o->parallel, o->queue, o->threads, o->kv_type};
    s->engine = srv_engine_new(&s->m, &ec, err);
    if (!s->engine) goto done;
    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    int gai = getaddrinfo(o->host, port, &hints, &ai);
    if (gai != 0) {
        char q[LL_QUOTE_MAX];
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "--host %s: %s", ll_quote(q, o->host, strlen(o->host)), gai_strerror(gai));
        goto done;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600, MHD_OPTION_UNESCAPE_CALLBACK, unescape_path,
                         NULL, MHD_OPTION_END);
    if (!d) {
        ll_fail(err, LL_ERR_IO, "cannot listen on %s port %d: %s (is the port in use?)", o->host, o->port,
                strerror(errno));
        goto done;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int bound = di ? di->port : o->port;
    fprintf(stderr, "logitlab serve: %s on http://%s:%d (%d slots, queue %d, context %zu, %s cache, profile %s)\n",
            s->m.id, o->host, bound, o->parallel, o->queue, o->n_ctx, ll_kv_type_name(o->kv_type),
            ll_profile_name(o->profile));
    if (o->ready_file && write_ready_file(o->ready_file, bound, err) != LL_OK) goto done;
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "logitlab serve: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&s->stopping, 1);
    /* running requests end with what they have, waiting ones get 503; then
     * the connections finish writing and close */
    srv_engine_stop(s->engine);
    MHD_stop_daemon(d);
    d = NULL;
    rc = 0;
done:
    if (d) MHD_stop_daemon(d);
    if (ai) freeaddrinfo(ai);
    srv_engine_free(s->engine);
    pthread_mutex_destroy(&s->mu);
    free(s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
