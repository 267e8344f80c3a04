/*
 * engine.c - the server's slots and the one scheduler thread that steps
 * them.
 *
 * Each slot owns an ll_context (its own key/value cache). The scheduler
 * takes queued requests into free slots and then, round after round,
 * advances every busy slot by one step: the whole prompt, or one token of
 * each of the request's n sequences. A request joins at the next round
 * and leaves as soon as it is done; nothing a request computes depends on
 * another one (its own context, its own chains and seeds), so its tokens
 * are the same alone or among others, and the same as `logitlab generate`
 * with the same parameters: every token is ll_gen_seq_step, the step
 * generate.c's sampling loop takes (generate_impl.h).
 *
 * Continuous batching: a round is one forward step (ll_decode_batch)
 * over the rows of every busy slot - the next token of each live sequence
 * and a piece of each new prompt - so the weights are read once for all
 * of them; a request joins at the next round and leaves when it is done.
 * The engine's own work context lends the threads; the slots' contexts
 * only hold caches. A row's numbers never depend on the other rows of
 * its step (src/model/forward.c), so the tokens are the same alone or
 * among others.
 *
 * Prompt cache: a free slot keeps what its context holds; a request goes
 * to the slot that shares the longest prefix with its prompt and decodes
 * only the rest. A position is reused only if it was computed with the
 * arithmetic a fresh run of this prompt would use (a prompt of more than
 * 8 tokens is a matrix-matrix product, generated tokens and short prompts
 * take the one-token arithmetic), so a cached answer is the uncached one.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve_impl.h"

/* ---- jobs ---- */

srv_job *srv_job_new(void) {
    srv_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->refs = 1;
    j->status = 200;
    return j;
}

void srv_job_ref(srv_job *j) {
    pthread_mutex_lock(&j->mu);
    j->refs++;
    pthread_mutex_unlock(&j->mu);
}

void srv_job_unref(srv_job *j) {
    if (!j) return;
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left) return;
    free(j->prompt);
    free(j->echo_text);
    free(j->bias);
    free(j->eos);
    free(j->suppress);
    for (size_t i = 0; j->stop && i < j->n_stop; i++) free(j->stop[i]);
    free(j->stop);
    for (size_t i = 0; j->breakers && i < j->n_breakers; i++) free((void *)j->breakers[i].tokens);
    free(j->breakers);
    free(j->samplers);
    free(j->out);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

bool srv_job_emit(srv_job *j, const char *s, size_t n) {
    pthread_mutex_lock(&j->mu);
    bool ok = srv_buf_add(&j->out, &j->out_len, &j->out_cap, s, n);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return ok;
}

/* One server-sent event, "data: " body "\n\n", appended whole (all or
 * nothing) with one wake-up of the connection's thread, which sends it in
 * one piece: three appends woke it up to three times a token. */
bool srv_job_emit_event(srv_job *j, const char *body) {
    pthread_mutex_lock(&j->mu);
    size_t len = j->out_len;
    bool ok = srv_buf_add(&j->out, &j->out_len, &j->out_cap, "data: ", 6) &&
              srv_buf_add(&j->out, &j->out_len, &j->out_cap, body, strlen(body)) &&
              srv_buf_add(&j->out, &j->out_len, &j->out_cap, "\n\n", 2);
    if (!ok) j->out_len = len;
    pthread_mutex_unlock(&j->mu);
    pthread_cond_broadcast(&j->cv); /* after the unlock: the woken reader does not block on mu at once */
    return ok;
}

void srv_job_finish(srv_job *j, int status) {
    pthread_mutex_lock(&j->mu);
    j->status = status;
    j->done = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* ---- slots ---- */

typedef struct {
    ll_gen_seq g; /* chain, text, tokens, log-probs, done/reason */
    int32_t node; /* its last token in the context's token tree (n > 1) */
    ll_trace *trace;
    json_t *traces; /* per generated token (non-streaming) */
    char *delta;    /* text made final during this step (ll_generate_params.on_text) */
    size_t delta_len, delta_cap;
    size_t offset; /* bytes of tokens so far (text_offset) */
} srv_seq;

typedef struct {
    ll_context *ctx;
    srv_job *job; /* NULL: free */
    ll_gen_setup su;
    bool su_set;
    srv_seq *seq;
    size_t ns;
    float *logits;           /* [ns][V]: row m holds the next-token logits of live sequence m */
    int32_t *parents, *toks; /* the rows it asks the next step for (n > 1: token-tree parents) */
    size_t *rows;            /* per sequence: its row of logits */
    size_t k;                /* generation rows asked for */
    bool live;               /* slot_sample's answer this round */
    size_t prompt_pos;       /* prompt tokens in the context so far */
    size_t piece;            /* prompt tokens asked for */
    bool prompt_done;
    /* what the context's prefix holds (the prompt cache), and for each
     * token whether it was part of a run of more than 8 rows (the GEMM) */
    int32_t *held;
    bool *held_run;
    size_t n_held, cap_held;
    size_t n_cached; /* prompt tokens the cache saved */
    /* echo with logprobs: each prompt token's log-prob given the ones before */
    ll_token_logprobs *prompt_lp;
    float *piece_logits;
    double t_first;
    size_t n_generated;
    char *chain_desc;
    size_t row0, n_rows; /* its rows in the step being built */
} srv_slot;

#define N_TTFT_BUCKETS 9
#define N_TPS_BUCKETS 9
static const double ttft_le[N_TTFT_BUCKETS] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
static const double tps_le[N_TPS_BUCKETS] = {1, 5, 10, 25, 50, 100, 250, 500, 1000};

struct srv_engine {
    const srv_model *m;
    srv_engine_config cfg;
    ll_context *work; /* the threads and scratch of every step */
    ll_batch_row rows[LL_BATCH_MAX];
    srv_slot *slots;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu; /* the queue and the counters */
    pthread_cond_t cv;
    srv_job **queue;
    size_t q_head, q_len;
    atomic_int stopping;
    int busy;
    /* counters for /metrics */
    unsigned long long n_requests, n_finished, n_cancelled, n_rejected, prompt_tokens, gen_tokens, cached_tokens;
    unsigned long long n_steps, step_rows; /* forward steps and the rows they held */
    unsigned long long ttft_count[N_TTFT_BUCKETS + 1], tps_count[N_TPS_BUCKETS + 1];
    double ttft_sum, tps_sum;
    unsigned long long ttft_n, tps_n;
};

static bool engine_stopping(void *user);

srv_engine *srv_engine_new(const srv_model *m, const srv_engine_config *cfg, ll_error *err) {
    srv_engine *e = ll_calloc(1, sizeof *e, err);
    if (!e) return NULL;
    e->m = m;
    e->cfg = *cfg;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    e->slots = ll_calloc((size_t)cfg->parallel, sizeof *e->slots, err);
    e->queue = ll_calloc((size_t)cfg->queue + 1, sizeof *e->queue, err);
    if (!e->slots || !e->queue) goto fail;
    /* the steps run on the work context's threads; a slot's context only
     * holds its cache (one thread: no pool threads of its own), in the
     * configured type (each row attends to its own slot's cache in that
     * cache's type, so the work context's own stays F32) */
    e->work = ll_context_new(m->model, 1, cfg->threads, err);
    if (!e->work) goto fail;
    ll_context_set_abort(e->work, engine_stopping, e);
    ll_context_params sp = ll_context_params_default();
    sp.n_ctx = m->n_ctx;
    sp.n_threads = 1;
    sp.kv_type = cfg->kv_type;
    for (int i = 0; i < cfg->parallel; i++) {
        e->slots[i].ctx = ll_context_new_ex(m->model, &sp, err);
        if (!e->slots[i].ctx) goto fail;
    }
    return e;
fail:
    srv_engine_free(e);
    return NULL;
}

/* ---- answers ---- */

static const char *finish_reason(ll_stop_reason r) {
    switch (r) {
    case LL_STOP_EOS:
    case LL_STOP_STRING: return "stop";
    case LL_STOP_LENGTH:
    case LL_STOP_CONTEXT: return "length";
    default: return "interrupted";
    }
}

/* The log-probs of one token: OpenAI's completions shape adds to the
 * four parallel arrays, the chat shape returns one "content" entry. The
 * numbers are the model's (log-softmax of the raw logits, as vLLM
 * returns by default); "processed" is what the chain left. */
static void lp_completion_add(json_t *lp, const ll_tokenizer *tok, const ll_token_logprobs *x, size_t offset) {
    json_array_append_new(json_object_get(lp, "tokens"), srv_json_token_text(tok, x->id));
    json_array_append_new(json_object_get(lp, "token_logprobs"), json_real(x->raw));
    json_array_append_new(json_object_get(lp, "text_offset"), json_integer((json_int_t)offset));
    json_t *top = json_object();
    for (size_t k = 0; k < x->n_top; k++) {
        if (x->top_raw[k].id < 0) continue;
        json_t *t = srv_json_token_text(tok, x->top_raw[k].id);
        const char *s = json_is_string(t) ? json_string_value(t) : "";
        /* two ids with the same text: the first (most likely) one stays */
        if (!json_object_get(top, s)) json_object_set_new(top, s, json_real(x->top_raw[k].logprob));
        json_decref(t);
    }
    json_array_append_new(json_object_get(lp, "top_logprobs"), top);
}

static json_t *lp_completion_new(void) {
    json_t *lp = json_object();
    json_object_set_new(lp, "tokens", json_array());
    json_object_set_new(lp, "token_logprobs", json_array());
    json_object_set_new(lp, "top_logprobs", json_array());
    json_object_set_new(lp, "text_offset", json_array());
    return lp;
}

/* echo with logprobs: the prompt's tokens first, the first one with no
 * log-prob (nothing comes before it), as OpenAI's completions answer.
 * Returns the bytes they take (the generated tokens' first offset). */
static size_t lp_completion_prompt(json_t *lp, const srv_slot *s) {
    const srv_job *j = s->job;
    const ll_tokenizer *tok = j->model->tok;
    size_t off = 0;
    for (size_t p = 0; p < j->n_prompt; p++) {
        if (p == 0) {
            json_array_append_new(json_object_get(lp, "tokens"), srv_json_token_text(tok, j->prompt[0]));
            json_array_append_new(json_object_get(lp, "token_logprobs"), json_null());
            json_array_append_new(json_object_get(lp, "top_logprobs"), json_null());
            json_array_append_new(json_object_get(lp, "text_offset"), json_integer(0));
        } else {
            lp_completion_add(lp, tok, &s->prompt_lp[p], off);
        }
        off += ll_token_to_bytes(tok, j->prompt[p], false, NULL, 0);
    }
    return off;
}

static json_t *lp_chat_entry(const ll_tokenizer *tok, const ll_token_logprobs *x) {
    json_t *o = json_object();
    json_object_set_new(o, "token", srv_json_token_text(tok, x->id));
    json_object_set_new(o, "logprob", json_real(x->raw));
    json_object_set_new(o, "bytes", srv_json_token_bytes(tok, x->id));
    json_t *top = json_array();
    for (size_t k = 0; k < x->n_top; k++) {
        if (x->top_raw[k].id < 0) continue;
        json_t *t = json_object();
        json_object_set_new(t, "token", srv_json_token_text(tok, x->top_raw[k].id));
        json_object_set_new(t, "logprob", json_real(x->top_raw[k].logprob));
        json_object_set_new(t, "bytes", srv_json_token_bytes(tok, x->top_raw[k].id));
        json_array_append_new(top, t);
    }
    json_object_set_new(o, "top_logprobs", top);
    return o;
}

static json_t *usage_json(const srv_slot *s) {
    json_t *u = json_object();
    size_t gen = 0;
    for (size_t i = 0; i < s->ns; i++) gen += s->seq[i].g.n;
    json_object_set_new(u, "prompt_tokens", json_integer((json_int_t)s->job->n_prompt));
    json_object_set_new(u, "completion_tokens", json_integer((json_int_t)gen));
    json_object_set_new(u, "total_tokens", json_integer((json_int_t)(s->job->n_prompt + gen)));
    json_t *d = json_object();
    json_object_set_new(d, "cached_tokens", json_integer((json_int_t)s->n_cached));
    json_object_set_new(u, "prompt_tokens_details", d);
    return u;
}

static json_t *answer_head(const srv_job *j, bool chunk) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(j->id));
    json_object_set_new(o, "object", json_string(j->kind == SRV_CHAT ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                                                     : "text_completion"));
    json_object_set_new(o, "created", json_integer(j->created));
    json_object_set_new(o, "model", json_string(j->model->id));
    /* logitlab's: the seed the request ran with (drawn when it gave none) */
    json_object_set_new(o, "seed", json_integer((json_int_t)j->gp.sampling.seed));
    return o;
}

/* One server-sent event: "data: {...}\n\n". Takes the reference. */
static bool send_event(srv_job *j, json_t *o) {
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s) return false;
    bool ok = srv_job_emit_event(j, s);
    free(s);
    return ok;
}

/* A streamed step of sequence i: the text that became final, the token's
 * log-probs and trace, and the finish reason when it ended. */
static bool stream_token(srv_slot *s, size_t i, bool has_token, json_t *trace) {
    srv_job *j = s->job;
    srv_seq *q = &s->seq[i];
    const ll_tokenizer *tok = j->model->tok;
    json_t *o = answer_head(j, true);
    json_t *c = json_object();
    json_object_set_new(c, "index", json_integer((json_int_t)i));
    json_t *text = srv_json_text(q->delta ? q->delta : "", q->delta_len);
    const ll_token_logprobs *x = has_token && q->g.lp ? &q->g.lp[q->g.n - 1] : NULL;
    if (j->kind == SRV_CHAT) {
        json_t *d = json_object();
        json_object_set_new(d, "content", text);
        json_object_set_new(c, "delta", d);
        if (x) {
            json_t *lp = json_object(), *arr = json_array();
            json_array_append_new(arr, lp_chat_entry(tok, x));
            json_object_set_new(lp, "content", arr);
            json_object_set_new(c, "logprobs", lp);
        } else {
            json_object_set_new(c, "logprobs", json_null());
        }
    } else {
        json_object_set_new(c, "text", text);
        if (x) {
            json_t *lp = lp_completion_new();
            lp_completion_add(lp, tok, x, q->offset);
            json_object_set_new(c, "logprobs", lp);
        } else {
            json_object_set_new(c, "logprobs", json_null());
        }
    }
    if (trace) json_object_set_new(c, "trace", trace);
    json_object_set_new(c, "finish_reason", q->g.done ? json_string(finish_reason(q->g.reason)) : json_null());
    json_t *choices = json_array();
    json_array_append_new(choices, c);
    json_object_set_new(o, "choices", choices);
    q->delta_len = 0;
    return send_event(j, o);
}

/* The first streamed chunk of each choice: the role (chat) or the echoed
 * prompt (completions with echo). */
static bool stream_start(srv_slot *s) {
    srv_job *j = s->job;
    if (j->kind != SRV_CHAT && !j->echo) return true;
    for (size_t i = 0; i < s->ns; i++) {
        json_t *o = answer_head(j, true), *c = json_object();
        json_object_set_new(c, "index", json_integer((json_int_t)i));
        if (j->kind == SRV_CHAT) {
            json_t *d = json_object();
            json_object_set_new(d, "role", json_string("assistant"));
            json_object_set_new(d, "content", json_string(""));
            json_object_set_new(c, "delta", d);
        } else {
            json_object_set_new(c, "text", srv_json_text(j->echo_text, j->echo_len));
            json_t *lp = NULL;
            if (s->prompt_lp) {
                lp = lp_completion_new();
                s->seq[i].offset = lp_completion_prompt(lp, s);
            }
            json_object_set_new(c, "logprobs", lp ? lp : json_null());
        }
        json_object_set_new(c, "finish_reason", json_null());
        json_t *choices = json_array();
        json_array_append_new(choices, c);
        json_object_set_new(o, "choices", choices);
        if (!send_event(j, o)) return false;
    }
    return true;
}

static json_t *trace_record(srv_slot *s, size_t i) {
    srv_seq *q = &s->seq[i];
    json_t *o = json_object();
    json_object_set_new(o, "chain", json_string(s->chain_desc ? s->chain_desc : ""));
    json_object_set_new(o, "stages", srv_json_trace(q->trace, s->job->model->tok));
    json_object_set_new(o, "selected", json_integer(q->g.toks[q->g.n - 1]));
    return o;
}

/* The whole answer of a non-streamed request, or the streamed tail. */
static void finish_job(srv_engine *e, srv_slot *s) {
    srv_job *j = s->job;
    bool ok = true;
    if (j->stream) {
        if (j->include_usage) {
            json_t *o = answer_head(j, true);
            json_object_set_new(o, "choices", json_array());
            json_object_set_new(o, "usage", usage_json(s));
            ok = send_event(j, o);
        }
        ok = ok && srv_job_emit(j, "data: [DONE]\n\n", 14);
        srv_job_finish(j, 200);
    } else {
        json_t *o = answer_head(j, false), *choices = json_array();
        const ll_tokenizer *tok = j->model->tok;
        for (size_t i = 0; i < s->ns; i++) {
            srv_seq *q = &s->seq[i];
            json_t *c = json_object();
            json_object_set_new(c, "index", json_integer((json_int_t)i));
            size_t tlen = q->g.text.stop.text ? q->g.text.stop.len : 0;
            const char *t = tlen ? q->g.text.stop.text : "";
            if (j->kind == SRV_CHAT) {
                json_t *msg = json_object();
                json_object_set_new(msg, "role", json_string("assistant"));
                json_object_set_new(msg, "content", srv_json_text(t, tlen));
                json_object_set_new(c, "message", msg);
            } else if (j->echo) {
                char *all = NULL;
                size_t len = 0, cap = 0;
                ok = ok && srv_buf_add(&all, &len, &cap, j->echo_text, j->echo_len) && srv_buf_add(&all, &len, &cap, t, tlen);
                json_object_set_new(c, "text", srv_json_text(all ? all : "", len));
                free(all);
            } else {
                json_object_set_new(c, "text", srv_json_text(t, tlen));
            }
            if (q->g.lp) {
                if (j->kind == SRV_CHAT) {
                    json_t *lp = json_object(), *arr = json_array();
                    for (size_t k = 0; k < q->g.n; k++) json_array_append_new(arr, lp_chat_entry(tok, &q->g.lp[k]));
                    json_object_set_new(lp, "content", arr);
                    json_object_set_new(c, "logprobs", lp);
                } else {
                    json_t *lp = lp_completion_new();
                    size_t off = s->prompt_lp ? lp_completion_prompt(lp, s) : j->echo ? j->echo_len : 0;
                    for (size_t k = 0; k < q->g.n; k++) {
                        lp_completion_add(lp, tok, &q->g.lp[k], off);
                        off += ll_token_to_bytes(tok, q->g.lp[k].id, false, NULL, 0);
                    }
                    json_object_set_new(c, "logprobs", lp);
                }
            } else {
                json_object_set_new(c, "logprobs", json_null());
            }
            if (q->traces) {
                json_object_set_new(c, "trace", q->traces);
                q->traces = NULL;
            }
            json_object_set_new(c, "finish_reason", json_string(finish_reason(q->g.reason)));
            json_array_append_new(choices, c);
        }
        json_object_set_new(o, "choices", choices);
        json_object_set_new(o, "usage", usage_json(s));
        char *body = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        ok = ok && body && srv_job_emit(j, body, strlen(body));
        free(body);
        srv_job_finish(j, 200);
    }
    (void)ok; /* out of memory while answering: the answer is cut, the connection closes */
    pthread_mutex_lock(&e->mu);
    e->n_finished++;
    e->gen_tokens += s->n_generated;
    double dt = ll_now_seconds() - s->t_first;
    if (s->n_generated > 1 && dt > 0) {
        double tps = (double)(s->n_generated - 1) / dt;
        size_t b = 0;
        while (b < N_TPS_BUCKETS && tps > tps_le[b]) b++;
        e->tps_count[b]++;
        e->tps_sum += tps;
        e->tps_n++;
    }
    pthread_mutex_unlock(&e->mu);
}

/* An answer that failed while running (out of memory, a model error). */
static void fail_job(srv_job *j, int status, const char *msg) {
    srv_err er = {0};
    srv_fail(&er, status, NULL, "%s", msg);
    char *body = srv_err_body(&er);
    if (j->stream) {
        /* the 200 and the first events are gone: an error event */
        if (body) srv_job_emit_event(j, body);
    } else if (body) {
        srv_job_emit(j, body, strlen(body));
    }
    free(body);
    srv_job_finish(j, status);
}

static void on_text(void *user, int32_t seq, const char *text, size_t len) {
    srv_slot *s = user;
    srv_seq *q = &s->seq[seq];
    srv_buf_add(&q->delta, &q->delta_len, &q->delta_cap, text, len);
}

static void slot_release(srv_engine *e, srv_slot *s) {
    for (size_t i = 0; s->seq && i < s->ns; i++) {
        srv_seq *q = &s->seq[i];
        ll_gen_seq_free(&q->g);
        ll_trace_free(q->trace);
        json_decref(q->traces);
        free(q->delta);
    }
    free(s->seq);
    free(s->logits);
    free(s->parents);
    free(s->toks);
    free(s->rows);
    free(s->prompt_lp);
    free(s->piece_logits);
    free(s->chain_desc);
    if (s->su_set) ll_gen_setup_free(&s->su);
    srv_job *j = s->job;
    /* the context and what it holds stay: the prompt cache */
    srv_slot keep = {.ctx = s->ctx, .held = s->held, .held_run = s->held_run, .n_held = s->n_held,
                     .cap_held = s->cap_held};
    *s = keep;
    srv_job_unref(j);
    pthread_mutex_lock(&e->mu);
    e->busy--;
    pthread_mutex_unlock(&e->mu);
}

/* The early stop a step checks after each token: the server is stopping
 * (the sequence ends "interrupted" with the tokens it has). It is also the
 * work context's abort callback: a stopping server interrupts a step. */
static bool engine_stopping(void *user) {
    srv_engine *e = user;
    return atomic_load(&e->stopping);
}

/* ---- the prompt cache ---- */

/* Records that the context's prefix grew by n tokens. */
static bool held_push(srv_slot *s, const int32_t *t, size_t n, bool run) {
    if (s->n_held + n > s->cap_held) {
        size_t cap = s->cap_held ? s->cap_held : 256;
        while (cap < s->n_held + n) cap *= 2;
        int32_t *h = realloc(s->held, cap * sizeof *h);
        if (h) s->held = h;
        bool *r = h ? realloc(s->held_run, cap * sizeof *r) : NULL;
        if (r) s->held_run = r;
        if (!h || !r) {
            s->n_held = 0; /* forget the cache rather than hold a wrong one */
            return false;
        }
        s->cap_held = cap;
    }
    memcpy(s->held + s->n_held, t, n * sizeof *t);
    for (size_t i = 0; i < n; i++) s->held_run[s->n_held + i] = run;
    s->n_held += n;
    return true;
}

/* How many of the prompt's first tokens a slot can reuse: they match what
 * its context holds, each was computed with the arithmetic a fresh run of
 * this prompt would use (a run of more than 8 tokens for a longer prompt,
 * one token at a time for a short one), and what is left is decoded the
 * same way (more than 8 tokens, or a short prompt's last). A request that
 * wants the prompt's log-probs decodes all of it. */
static size_t reusable(const srv_slot *s, const srv_job *j) {
    size_t n = j->n_prompt;
    if (n == 0 || (j->echo && j->logprobs >= 0)) return 0;
    bool run = n > LL_BATCH_SHORT_RUN;
    size_t most = run ? n - LL_BATCH_SHORT_RUN - 1 : n - 1, r = 0;
    while (r < most && r < s->n_held && s->held[r] == j->prompt[r] && s->held_run[r] == run) r++;
    return r;
}

/* ---- a request in a slot ---- */

static ll_status slot_start(srv_engine *e, srv_slot *s, srv_job *j, ll_error *err) {
    s->job = j;
    j->gp.on_text = on_text;
    j->gp.user = s;
    ll_lm lm;
    ll_lm_from_context(&lm, s->ctx);
    ll_status st = ll_gen_resolve(&lm, j->model->tok, j->n_prompt, &j->gp, &s->su, err);
    if (st != LL_OK) return st;
    s->su_set = true;
    s->su.stop.prev_fn = engine_stopping;
    s->su.stop.prev_user = e;
    size_t V = j->model->n_vocab, ns = (size_t)j->gp.n;
    s->ns = ns;
    s->seq = ll_calloc(ns, sizeof *s->seq, err);
    s->logits = ll_malloc(ns * V * sizeof(float), err);
    s->parents = ll_calloc(ns, sizeof(int32_t), err);
    s->toks = ll_calloc(ns, sizeof(int32_t), err);
    s->rows = ll_calloc(ns, sizeof(size_t), err);
    if (!s->seq || !s->logits || !s->parents || !s->toks || !s->rows) return LL_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < ns; i++) {
        srv_seq *q = &s->seq[i];
        st = ll_gen_seq_init(&q->g, (int32_t)i, &s->su, &j->gp, j->model->tok, j->prompt, j->n_prompt, V, err);
        if (st != LL_OK) return st;
        if (j->trace) {
            q->trace = ll_trace_new((size_t)j->trace_top, err);
            if (!q->trace) return LL_ERR_OUT_OF_MEMORY;
            ll_chain_set_trace(q->g.chain, q->trace);
            if (!j->stream) q->traces = json_array();
        }
        q->node = -1;
        s->rows[i] = i;
    }
    if (j->trace) {
        size_t n = ll_chain_describe(s->seq[0].g.chain, NULL, 0);
        s->chain_desc = malloc(n + 1);
        if (s->chain_desc) ll_chain_describe(s->seq[0].g.chain, s->chain_desc, n + 1);
    }
    if (j->n_prompt == 0) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "the prompt has no tokens");
    if (j->echo && j->logprobs >= 0 && j->kind != SRV_CHAT) {
        s->prompt_lp = ll_calloc(j->n_prompt, sizeof *s->prompt_lp, err);
        s->piece_logits = ll_malloc((size_t)LL_BATCH_MAX * V * sizeof(float), err);
        if (!s->prompt_lp || !s->piece_logits) return LL_ERR_OUT_OF_MEMORY;
    }
    s->n_cached = s->prompt_pos = reusable(s, j);
    s->n_held = s->prompt_pos;
    return ll_context_rewind(s->ctx, s->prompt_pos, err);
}

/* Time to first token, for /metrics. */
static void note_first_token(srv_engine *e, srv_slot *s) {
    s->t_first = ll_now_seconds();
    double ttft = s->t_first - s->job->t_submit;
    pthread_mutex_lock(&e->mu);
    size_t b = 0;
    while (b < N_TTFT_BUCKETS && ttft > ttft_le[b]) b++;
    e->ttft_count[b]++;
    e->ttft_sum += ttft;
    e->ttft_n++;
    pthread_mutex_unlock(&e->mu);
}

static void count_cancelled(srv_engine *e, srv_job *j) {
    srv_job_finish(j, 499);
    pthread_mutex_lock(&e->mu);
    e->n_cancelled++;
    pthread_mutex_unlock(&e->mu);
}

/* A request the server stops: its sequences end "interrupted" with what
 * they have, and it is answered. */
static void slot_interrupt(srv_engine *e, srv_slot *s) {
    srv_job *j = s->job;
    bool started = s->prompt_done;
    for (size_t i = 0; i < s->ns; i++) {
        if (s->seq[i].g.done) continue;
        ll_gen_seq_end(&s->seq[i].g, LL_STOP_INTERRUPTED);
        if (j->stream && started) stream_token(s, i, false, NULL);
    }
    if (j->stream && !started) stream_start(s);
    finish_job(e, s);
}

/* Before a step, a slot that is generating picks the next token of each
 * live sequence from the logits the last step left (and streams it); the
 * ones not done become its rows. Returns false when the request is over
 * (answered). It touches only its slot and request, and the engine's
 * counters under e->mu, so the slots sample at once (run_round). */
static bool slot_sample(srv_engine *e, srv_slot *s) {
    srv_job *j = s->job;
    ll_error err;
    ll_error_clear(&err);
    size_t V = j->model->n_vocab, k = 0;
    for (size_t i = 0; i < s->ns; i++) {
        srv_seq *q = &s->seq[i];
        if (q->g.done) continue;
        int32_t t;
        if (ll_gen_seq_step(&q->g, s->logits + s->rows[i] * V, &t, &err) != LL_OK) {
            fail_job(j, 500, err.message);
            return false;
        }
        if (s->n_generated == 0) note_first_token(e, s);
        s->n_generated++;
        json_t *trace = q->trace ? trace_record(s, i) : NULL;
        if (trace && q->traces) {
            json_array_append_new(q->traces, trace);
            trace = NULL;
        }
        if (j->stream) {
            if (!stream_token(s, i, true, trace)) {
                fail_job(j, 500, "out of memory");
                return false;
            }
            q->offset += ll_token_to_bytes(j->model->tok, t, false, NULL, 0);
        }
        if (q->g.done) continue;
        s->parents[k] = q->node;
        s->toks[k] = t;
        s->rows[i] = k++;
    }
    s->k = k;
    if (k == 0) {
        finish_job(e, s);
        return false;
    }
    return true;
}

typedef struct {
    srv_engine *e;
    srv_slot **slots;
} sample_job;

static void sample_one(void *user, size_t i) {
    sample_job *sj = user;
    srv_slot *s = sj->slots[i];
    s->live = slot_sample(sj->e, s);
}

/* The rows a slot wants in the next step: its generated tokens, or the
 * next piece of its prompt (the last token's logits to s->logits, every
 * token's when the prompt's log-probs are asked for). */
static size_t slot_want(const srv_slot *s) {
    return s->prompt_done ? s->k : ll_batch_prompt_piece(s->job->n_prompt - s->prompt_pos);
}

static void slot_rows(srv_engine *e, srv_slot *s, size_t row0) {
    srv_job *j = s->job;
    size_t V = j->model->n_vocab, n = slot_want(s);
    s->row0 = row0;
    s->n_rows = n;
    for (size_t i = 0; i < n; i++) {
        ll_batch_row *r = &e->rows[row0 + i];
        if (s->prompt_done) {
            *r = (ll_batch_row){s->ctx, s->toks[i], s->ns == 1 ? LL_BATCH_APPEND : s->parents[i], -1,
                                s->logits + i * V};
        } else {
            size_t p = s->prompt_pos + i;
            bool last = p + 1 == j->n_prompt;
            *r = (ll_batch_row){s->ctx, j->prompt[p], LL_BATCH_APPEND, -1,
                                last ? s->logits : s->prompt_lp ? s->piece_logits + i * V : NULL};
        }
    }
}

/* After a step that went well: the slot's prompt went on (and may be
 * complete: its first chunk streams), or its sequences' new nodes. */
static bool slot_advance(srv_engine *e, srv_slot *s) {
    srv_job *j = s->job;
    size_t V = j->model->n_vocab, n = s->n_rows;
    if (s->prompt_done) {
        if (s->ns == 1) {
            held_push(s, s->toks, 1, false);
        } else {
            for (size_t i = 0, m = 0; i < s->ns; i++)
                if (!s->seq[i].g.done) s->seq[i].node = e->rows[s->row0 + m++].node;
        }
        return true;
    }
    for (size_t i = 0; s->prompt_lp && i < n; i++) {
        size_t p = s->prompt_pos + i;
        if (p + 1 < j->n_prompt)
            ll_gen_logprobs_raw(s->piece_logits + i * V, V, j->prompt[p + 1], (size_t)j->logprobs,
                                &s->prompt_lp[p + 1]);
    }
    held_push(s, j->prompt + s->prompt_pos, n, n > LL_BATCH_SHORT_RUN);
    s->prompt_pos += n;
    if (s->prompt_pos < j->n_prompt) return true;
    if (s->prompt_lp) ll_gen_logprobs_raw(s->logits, V, j->prompt[0], 0, &s->prompt_lp[0]);
    for (size_t i = 1; i < s->ns; i++) memcpy(s->logits + i * V, s->logits, V * sizeof(float));
    s->prompt_done = true;
    if (j->stream && !stream_start(s)) {
        fail_job(j, 500, "out of memory");
        return false;
    }
    return true;
}

/* One forward step over rows [0, n) of the slots in `in` (their row0 and
 * n_rows set). A failure that is no stop is retried slot by slot, so a
 * bad request fails alone. Slots whose request ended are released. */
static void run_step(srv_engine *e, srv_slot **in, size_t n_in, size_t n) {
    ll_error err;
    ll_error_clear(&err);
    ll_status st = ll_decode_batch(e->work, e->rows, n, &err);
    pthread_mutex_lock(&e->mu);
    e->n_steps++;
    e->step_rows += n;
    pthread_mutex_unlock(&e->mu);
    for (size_t i = 0; i < n_in; i++) {
        srv_slot *s = in[i];
        ll_status si = st;
        if (st != LL_OK && st != LL_ERR_INTERRUPTED && n_in > 1) {
            ll_error_clear(&err);
            si = ll_decode_batch(e->work, e->rows + s->row0, s->n_rows, &err);
        }
        bool live;
        if (si == LL_ERR_INTERRUPTED) {
            slot_interrupt(e, s);
            live = false;
        } else if (si != LL_OK) {
            fail_job(s->job, si == LL_ERR_OUT_OF_MEMORY ? 500 : 400, err.message);
            live = false;
        } else {
            live = slot_advance(e, s);
        }
        if (!live) slot_release(e, s);
    }
}

/* A round: every generating slot samples its next tokens, then all the
 * rows the busy slots want go through as few steps as fit (LL_BATCH_MAX
 * rows each): usually one. */
static void run_round(srv_engine *e) {
    int P = e->cfg.parallel;
    srv_slot *in[256], *gen[256];
    size_t n_in = 0, n = 0, n_gen = 0;
    for (int i = 0; i < P; i++) {
        srv_slot *s = &e->slots[i];
        if (!s->job) continue;
        if (atomic_load(&s->job->cancelled) && !atomic_load(&e->stopping)) {
            /* the client went away: nobody reads the answer */
            count_cancelled(e, s->job);
            slot_release(e, s);
            continue;
        }
        if (atomic_load(&e->stopping)) {
            slot_interrupt(e, s);
            slot_release(e, s);
            continue;
        }
        if (s->prompt_done) gen[n_gen++] = s;
    }
    /* the generating slots sample on the work context's threads, which
     * otherwise wait for the next step */
    sample_job sj = {e, gen};
    ll_context_parallel_for(e->work, n_gen, sample_one, &sj);
    for (int i = 0; i < P; i++) {
        srv_slot *s = &e->slots[i];
        if (!s->job) continue;
        if (s->prompt_done && !s->live) {
            slot_release(e, s);
            continue;
        }
        size_t want = slot_want(s);
        if (n + want > LL_BATCH_MAX) {
            run_step(e, in, n_in, n);
            n_in = n = 0;
        }
        slot_rows(e, s, n);
        n += want;
        in[n_in++] = s;
    }
    if (n) run_step(e, in, n_in, n);
}

/* The free slot for a request: the one whose cache saves the most. */
static srv_slot *pick_slot(srv_engine *e, const srv_job *j) {
    srv_slot *best = NULL;
    size_t best_r = 0;
    for (int i = 0; i < e->cfg.parallel; i++) {
        srv_slot *s = &e->slots[i];
        if (s->job) continue;
        size_t r = reusable(s, j);
        if (!best || r > best_r) best = s, best_r = r;
    }
    return best;
}

static void *scheduler(void *arg) {
    srv_engine *e = arg;
    for (;;) {
        pthread_mutex_lock(&e->mu);
        while (!atomic_load(&e->stopping) && e->busy == 0 && e->q_len == 0) pthread_cond_wait(&e->cv, &e->mu);
        if (atomic_load(&e->stopping)) {
            /* the queued requests never started: 503 */
            while (e->q_len) {
                srv_job *j = e->queue[e->q_head];
                e->q_head = (e->q_head + 1) % ((size_t)e->cfg.queue + 1);
                e->q_len--;
                pthread_mutex_unlock(&e->mu);
                fail_job(j, 503, "the server is stopping");
                srv_job_unref(j);
                pthread_mutex_lock(&e->mu);
            }
            if (e->busy == 0) {
                pthread_mutex_unlock(&e->mu);
                break;
            }
        }
        /* new requests join at this round */
        while (e->q_len && e->busy < e->cfg.parallel) {
            srv_job *j = e->queue[e->q_head];
            srv_slot *s = pick_slot(e, j);
            e->q_head = (e->q_head + 1) % ((size_t)e->cfg.queue + 1);
            e->q_len--;
            e->busy++;
            pthread_mutex_unlock(&e->mu);
            ll_error err;
            ll_error_clear(&err);
            if (slot_start(e, s, j, &err) != LL_OK) {
                fail_job(j, err.status == LL_ERR_OUT_OF_MEMORY ? 500 : 400, err.message);
                slot_release(e, s);
            } else {
                pthread_mutex_lock(&e->mu);
                e->cached_tokens += s->n_cached;
                pthread_mutex_unlock(&e->mu);
            }
            pthread_mutex_lock(&e->mu);
        }
        pthread_mutex_unlock(&e->mu);
        run_round(e);
    }
    return NULL;
}

int srv_engine_submit(srv_engine *e, srv_job *j) {
    pthread_mutex_lock(&e->mu);
    int rc = 0;
    if (atomic_load(&e->stopping)) {
        rc = -2;
    } else if (e->q_len >= (size_t)e->cfg.queue) {
        rc = -1;
        e->n_rejected++;
    } else {
        if (!e->started) {
            if (pthread_create(&e->thread, NULL, scheduler, e) != 0) {
                pthread_mutex_unlock(&e->mu);
                return -2;
            }
            e->started = true;
        }
        srv_job_ref(j);
        j->t_submit = ll_now_seconds();
        e->queue[(e->q_head + e->q_len) % ((size_t)e->cfg.queue + 1)] = j;
        e->q_len++;
        e->n_requests++;
        e->prompt_tokens += j->n_prompt;
        pthread_cond_signal(&e->cv);
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

void srv_engine_stop(srv_engine *e) {
    pthread_mutex_lock(&e->mu);
    atomic_store(&e->stopping, 1);
    for (int i = 0; i < e->cfg.parallel; i++)
        if (e->slots[i].job) atomic_store(&e->slots[i].job->cancelled, 1);
    pthread_cond_broadcast(&e->cv);
    bool started = e->started;
    pthread_mutex_unlock(&e->mu);
    if (started) pthread_join(e->thread, NULL);
    pthread_mutex_lock(&e->mu);
    e->started = false;
    pthread_mutex_unlock(&e->mu);
}

void srv_engine_free(srv_engine *e) {
    if (!e) return;
    for (int i = 0; e->slots && i < e->cfg.parallel; i++) {
        ll_context_free(e->slots[i].ctx);
        free(e->slots[i].held);
        free(e->slots[i].held_run);
    }
    ll_context_free(e->work);
    free(e->slots);
    free(e->queue);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}

static void histogram(char **buf, size_t *len, size_t *cap, const char *name, const char *help, const double *le,
                      size_t n, const unsigned long long *count, double sum, unsigned long long total) {
    srv_buf_printf(buf, len, cap, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    unsigned long long cum = 0;
    for (size_t i = 0; i < n; i++) {
        cum += count[i];
        srv_buf_printf(buf, len, cap, "%s_bucket{le=\"%g\"} %llu\n", name, le[i], cum);
    }
    srv_buf_printf(buf, len, cap, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, total, name, sum,
                   name, total);
}

void srv_engine_metrics(srv_engine *e, char **buf, size_t *len, size_t *cap) {
    pthread_mutex_lock(&e->mu);
    srv_buf_printf(buf, len, cap,
                   "# HELP logitlab_requests_started_total generation requests accepted into the queue\n"
                   "# TYPE logitlab_requests_started_total counter\nlogitlab_requests_started_total %llu\n"
                   "# HELP logitlab_requests_finished_total generation requests answered\n"
                   "# TYPE logitlab_requests_finished_total counter\nlogitlab_requests_finished_total %llu\n"
                   "# HELP logitlab_requests_cancelled_total requests whose client went away\n"
                   "# TYPE logitlab_requests_cancelled_total counter\nlogitlab_requests_cancelled_total %llu\n"
                   "# HELP logitlab_requests_rejected_total requests refused because the queue was full\n"
                   "# TYPE logitlab_requests_rejected_total counter\nlogitlab_requests_rejected_total %llu\n"
                   "# HELP logitlab_prompt_tokens_total prompt tokens of accepted requests\n"
                   "# TYPE logitlab_prompt_tokens_total counter\nlogitlab_prompt_tokens_total %llu\n"
                   "# HELP logitlab_prompt_tokens_cached_total prompt tokens the prompt cache saved\n"
                   "# TYPE logitlab_prompt_tokens_cached_total counter\nlogitlab_prompt_tokens_cached_total %llu\n"
                   "# HELP logitlab_steps_total forward steps (each one batch of rows of every busy slot)\n"
                   "# TYPE logitlab_steps_total counter\nlogitlab_steps_total %llu\n"
                   "# HELP logitlab_step_rows_total rows of all steps (rows per step: the batch size)\n"
                   "# TYPE logitlab_step_rows_total counter\nlogitlab_step_rows_total %llu\n"
                   "# HELP logitlab_generated_tokens_total tokens generated (finished requests)\n"
                   "# TYPE logitlab_generated_tokens_total counter\nlogitlab_generated_tokens_total %llu\n"
                   "# HELP logitlab_queue_depth requests waiting for a slot\n"
                   "# TYPE logitlab_queue_depth gauge\nlogitlab_queue_depth %zu\n"
                   "# HELP logitlab_slots_busy slots generating\n"
                   "# TYPE logitlab_slots_busy gauge\nlogitlab_slots_busy %d\n"
                   "# HELP logitlab_slots slots (--parallel)\n"
                   "# TYPE logitlab_slots gauge\nlogitlab_slots %d\n",
                   e->n_requests, e->n_finished, e->n_cancelled, e->n_rejected, e->prompt_tokens, e->cached_tokens,
                   e->n_steps, e->step_rows, e->gen_tokens, e->q_len,
                   e->busy, e->cfg.parallel);
    histogram(buf, len, cap, "logitlab_time_to_first_token_seconds", "from queued to the first generated token", ttft_le,
              N_TTFT_BUCKETS, e->ttft_count, e->ttft_sum, e->ttft_n);
    histogram(buf, len, cap, "logitlab_tokens_per_second", "generation speed of a finished request after its first token",
              tps_le, N_TPS_BUCKETS, e->tps_count, e->tps_sum, e->tps_n);
    pthread_mutex_unlock(&e->mu);
}
