/*
 * answer.c - reads what an OpenAI-compatible server answered (completion
 * and chat bodies, /tokenize) for `logitlab conform`. The server is not
 * trusted: the body's size is bounded by the caller (CF_MAX_BODY), every
 * JSON type is checked, every count is bounded, and an unusable answer gets
 * a message that names the field, so a verdict is never drawn from
 * something misread.
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform.h"
#include "core/internal.h"

static const char *type_name(const json_t *v) {
    if (!v) return "missing";
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* A malloc'ed message (NULL only when out of memory, which the caller
 * then reports as such). */
char *cf_msgf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static char *dup_bytes(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* A string field, copied; NULL with *why set when it is not one. */
static char *get_string(const json_t *v, const char *field, size_t *len, char **why) {
    if (!json_is_string(v)) {
        *why = cf_msgf("%s must be a string, not %s", field, type_name(v));
        return NULL;
    }
    *len = json_string_length(v);
    char *s = dup_bytes(json_string_value(v), *len);
    if (!s) *why = cf_msgf("out of memory reading %s", field);
    return s;
}

static bool get_logprob(const json_t *v, const char *field, double *out, char **why) {
    if (json_is_null(v)) { /* OpenAI's first echoed token has none */
        *out = NAN;
        return true;
    }
    if (!json_is_number(v)) {
        *why = cf_msgf("%s must be a number, not %s", field, type_name(v));
        return false;
    }
    *out = json_number_value(v);
    return true;
}

static void lp_free(cf_logprob *lp) {
    free(lp->token);
    for (size_t k = 0; k < lp->n_top; k++) free(lp->top[k].token);
    free(lp->top);
}

static bool alloc_top(cf_logprob *lp, size_t n, const char *field, char **why) {
    if (n > CF_MAX_TOP) {
        *why = cf_msgf("%s has %zu alternatives: at most %d are read", field, n, CF_MAX_TOP);
        return false;
    }
    lp->top = calloc(n + 1, sizeof *lp->top);
    if (!lp->top) *why = cf_msgf("out of memory reading %s", field);
    return lp->top != NULL;
}

/* Completions: {"tokens": [...], "token_logprobs": [...], "top_logprobs":
 * [{text: logprob} or null], ...}, three parallel arrays. */
static bool read_completion_lp(cf_choice *c, const json_t *lp, size_t ci, char **why) {
    const json_t *toks = json_object_get(lp, "tokens"), *lps = json_object_get(lp, "token_logprobs"),
                 *tops = json_object_get(lp, "top_logprobs");
    char f[96];
    if (!json_is_array(toks) || !json_is_array(lps)) {
        *why = cf_msgf("choices[%zu].logprobs.%s must be an array, not %s", ci,
                       json_is_array(toks) ? "token_logprobs" : "tokens", type_name(json_is_array(toks) ? lps : toks));
        return false;
    }
    size_t n = json_array_size(toks);
    if (json_array_size(lps) != n || (json_is_array(tops) && json_array_size(tops) != n)) {
        *why = cf_msgf("choices[%zu].logprobs: tokens has %zu entries but token_logprobs %zu and top_logprobs %zu", ci,
                       n, json_array_size(lps), json_is_array(tops) ? json_array_size(tops) : 0);
        return false;
    }
    if (tops && !json_is_null(tops) && !json_is_array(tops)) {
        *why = cf_msgf("choices[%zu].logprobs.top_logprobs must be an array, not %s", ci, type_name(tops));
        return false;
    }
    if (n > CF_MAX_LOGPROB_TOKENS) {
        *why = cf_msgf("choices[%zu].logprobs has %zu tokens: at most %d are read", ci, n, CF_MAX_LOGPROB_TOKENS);
        return false;
    }
    c->lp = calloc(n + 1, sizeof *c->lp);
    if (!c->lp) {
        *why = cf_msgf("out of memory reading choices[%zu].logprobs", ci);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        cf_logprob *x = &c->lp[c->n_lp++];
        snprintf(f, sizeof f, "choices[%zu].logprobs.tokens[%zu]", ci, i);
        if (!(x->token = get_string(json_array_get(toks, i), f, &x->len, why))) return false;
        snprintf(f, sizeof f, "choices[%zu].logprobs.token_logprobs[%zu]", ci, i);
        if (!get_logprob(json_array_get(lps, i), f, &x->logprob, why)) return false;
        const json_t *top = json_is_array(tops) ? json_array_get(tops, i) : NULL;
        if (!top || json_is_null(top)) continue;
        snprintf(f, sizeof f, "choices[%zu].logprobs.top_logprobs[%zu]", ci, i);
        if (!json_is_object(top)) {
            *why = cf_msgf("%s must be an object {token: logprob}, not %s", f, type_name(top));
            return false;
        }
        if (!alloc_top(x, json_object_size(top), f, why)) return false;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)top, key, v) {
            struct cf_alt *a = &x->top[x->n_top];
            if (!json_is_number(v)) {
                char q[LL_QUOTE_MAX];
                *why = cf_msgf("%s['%s'] must be a number, not %s", f, ll_quote(q, key, strlen(key)), type_name(v));
                return false;
            }
            a->len = strlen(key);
            if (!(a->token = dup_bytes(key, a->len))) {
                *why = cf_msgf("out of memory reading %s", f);
                return false;
            }
            a->logprob = json_number_value(v);
            x->n_top++;
        }
    }
    return true;
}

/* Chat: {"content": [{"token", "logprob", "top_logprobs": [{"token", "logprob"}]}]}. */
static bool read_chat_lp(cf_choice *c, const json_t *lp, size_t ci, char **why) {
    const json_t *content = json_object_get(lp, "content");
    char f[96];
    if (json_is_null(content) || !content) return true; /* no tokens */
    if (!json_is_array(content)) {
        *why = cf_msgf("choices[%zu].logprobs.content must be an array, not %s", ci, type_name(content));
        return false;
    }
    size_t n = json_array_size(content);
    if (n > CF_MAX_LOGPROB_TOKENS) {
        *why =
            cf_msgf("choices[%zu].logprobs.content has %zu tokens: at most %d are read", ci, n, CF_MAX_LOGPROB_TOKENS);
        return false;
    }
    c->lp = calloc(n + 1, sizeof *c->lp);
    if (!c->lp) {
        *why = cf_msgf("out of memory reading choices[%zu].logprobs", ci);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(content, i);
        cf_logprob *x = &c->lp[c->n_lp++];
        snprintf(f, sizeof f, "choices[%zu].logprobs.content[%zu]", ci, i);
        if (!json_is_object(e)) {
            *why = cf_msgf("%s must be an object, not %s", f, type_name(e));
            return false;
        }
        snprintf(f, sizeof f, "choices[%zu].logprobs.content[%zu].token", ci, i);
        if (!(x->token = get_string(json_object_get(e, "token"), f, &x->len, why))) return false;
        snprintf(f, sizeof f, "choices[%zu].logprobs.content[%zu].logprob", ci, i);
        if (!get_logprob(json_object_get(e, "logprob"), f, &x->logprob, why)) return false;
        const json_t *top = json_object_get(e, "top_logprobs");
        if (!top || json_is_null(top)) continue;
        snprintf(f, sizeof f, "choices[%zu].logprobs.content[%zu].top_logprobs", ci, i);
        if (!json_is_array(top)) {
            *why = cf_msgf("%s must be an array, not %s", f, type_name(top));
            return false;
        }
        if (!alloc_top(x, json_array_size(top), f, why)) return false;
        for (size_t k = 0; k < json_array_size(top); k++) {
            const json_t *t = json_array_get(top, k);
            struct cf_alt *a = &x->top[x->n_top];
            char f2[128];
            snprintf(f2, sizeof f2, "%s[%zu]", f, k);
            if (!json_is_object(t)) {
                *why = cf_msgf("%s must be an object {token, logprob}, not %s", f2, type_name(t));
                return false;
            }
            snprintf(f2, sizeof f2, "%s[%zu].token", f, k);
            if (!(a->token = get_string(json_object_get(t, "token"), f2, &a->len, why))) return false;
            x->n_top++;
            snprintf(f2, sizeof f2, "%s[%zu].logprob", f, k);
            if (!json_is_number(json_object_get(t, "logprob"))) {
                *why = cf_msgf("%s must be a number, not %s", f2, type_name(json_object_get(t, "logprob")));
                return false;
            }
            a->logprob = json_number_value(json_object_get(t, "logprob"));
        }
    }
    return true;
}

static bool read_choice(cf_choice *c, const json_t *v, size_t i, bool chat, char **why) {
    char f[64];
    if (!json_is_object(v)) {
        *why = cf_msgf("choices[%zu] must be an object, not %s", i, type_name(v));
        return false;
    }
    const json_t *idx = json_object_get(v, "index");
    if (!json_is_integer(idx)) {
        *why = cf_msgf("choices[%zu].index must be an integer, not %s", i, type_name(idx));
        return false;
    }
    c->index = json_integer_value(idx);
    const json_t *text = json_object_get(v, "text");
    if (chat) {
        const json_t *msg = json_object_get(v, "message");
        if (!json_is_object(msg)) {
            *why = cf_msgf("choices[%zu].message must be an object, not %s", i, type_name(msg));
            return false;
        }
        text = json_object_get(msg, "content");
        if (json_is_null(text)) text = NULL; /* no content: an empty answer */
    }
    snprintf(f, sizeof f, chat ? "choices[%zu].message.content" : "choices[%zu].text", i);
    if (chat && !text) {
        c->text = dup_bytes("", 0);
        c->len = 0;
        if (!c->text) *why = cf_msgf("out of memory reading %s", f);
    } else {
        c->text = get_string(text, f, &c->len, why);
    }
    if (!c->text) return false;
    const json_t *fr = json_object_get(v, "finish_reason");
    if (fr && !json_is_null(fr)) {
        size_t n;
        snprintf(f, sizeof f, "choices[%zu].finish_reason", i);
        if (!(c->finish_reason = get_string(fr, f, &n, why))) return false;
    }
    const json_t *lp = json_object_get(v, "logprobs");
    if (!lp || json_is_null(lp)) return true;
    if (!json_is_object(lp)) {
        *why = cf_msgf("choices[%zu].logprobs must be an object or null, not %s", i, type_name(lp));
        return false;
    }
    c->has_logprobs = true;
    return chat ? read_chat_lp(c, lp, i, why) : read_completion_lp(c, lp, i, why);
}

/* The message of an error body: OpenAI's {"error": {"message"}}, an
 * {"error": "..."} or {"detail": ...} (other servers), else the body's start. */
static char *error_message(long status, const char *body, size_t len) {
    char q[LL_QUOTE_MAX];
    json_t *root = json_loadb(body, len, 0, NULL);
    const json_t *e = json_object_get(root, "error"), *m = json_object_get(e, "message");
    if (!json_is_string(m)) m = json_is_string(e) ? e : json_object_get(root, "detail");
    if (!json_is_string(m)) m = json_object_get(root, "message");
    char *s = json_is_string(m)
                  ? cf_msgf("HTTP %ld: %s", status, ll_quote(q, json_string_value(m), json_string_length(m)))
                  : cf_msgf("HTTP %ld: %s", status, len ? ll_quote(q, body, len) : "(empty body)");
    json_decref(root);
    return s;
}

bool cf_answer_parse(cf_answer *a, long status, const char *body, size_t len, bool chat) {
    memset(a, 0, sizeof *a);
    a->status = status;
    a->completion_tokens = -1;
    char *why = NULL;
    bool ok = false;
    json_t *root = NULL;
    if (status < 200 || status > 299) {
        why = error_message(status, body, len);
        goto done;
    }
    json_error_t je;
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        why = cf_msgf("the answer is not JSON (%s at byte %d)", je.text, je.position);
        goto done;
    }
    if (!json_is_object(root)) {
        why = cf_msgf("the answer must be a JSON object, not %s", type_name(root));
        goto done;
    }
    const json_t *choices = json_object_get(root, "choices");
    if (!json_is_array(choices)) {
        why = cf_msgf("choices must be an array, not %s", type_name(choices));
        goto done;
    }
    size_t n = json_array_size(choices);
    if (n == 0 || n > CF_MAX_CHOICES) {
        why = cf_msgf("choices has %zu entries: valid is [1, %d]", n, CF_MAX_CHOICES);
        goto done;
    }
    a->choices = calloc(n, sizeof *a->choices);
    if (!a->choices) {
        why = cf_msgf("out of memory reading choices");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        a->n_choices++;
        if (!read_choice(&a->choices[i], json_array_get(choices, i), i, chat, &why)) goto done;
    }
    const json_t *usage = json_object_get(root, "usage"), *ct = json_object_get(usage, "completion_tokens");
    if (usage && !json_is_null(usage) && !json_is_object(usage)) {
        why = cf_msgf("usage must be an object, not %s", type_name(usage));
        goto done;
    }
    if (ct && !json_is_null(ct)) {
        if (!json_is_integer(ct) || json_integer_value(ct) < 0) {
            why = cf_msgf("usage.completion_tokens must be a non-negative integer, not %s",
                          json_is_integer(ct) ? "negative" : type_name(ct));
            goto done;
        }
        a->completion_tokens = json_integer_value(ct);
    }
    ok = true;
done:
    json_decref(root);
    /* when even the message could not be allocated, the answer is still unusable */
    a->error = ok ? NULL : why ? why : dup_bytes("out of memory", 13);
    a->ok = ok;
    return ok;
}

void cf_answer_free(cf_answer *a) {
    for (size_t i = 0; i < a->n_choices; i++) {
        cf_choice *c = &a->choices[i];
        free(c->text);
        free(c->finish_reason);
        for (size_t k = 0; k < c->n_lp; k++) lp_free(&c->lp[k]);
        free(c->lp);
    }
    free(a->choices);
    free(a->error);
    memset(a, 0, sizeof *a);
}

bool cf_tokens_parse(cf_tokens *t, const char *body, size_t len, char **why) {
    memset(t, 0, sizeof *t);
    *why = NULL;
    bool ok = false;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    const json_t *toks = json_object_get(root, "tokens");
    size_t n = json_array_size(toks);
    if (!json_is_array(toks)) {
        *why = cf_msgf("/tokenize: tokens must be an array, not %s", root ? type_name(toks) : "(not JSON)");
        goto done;
    }
    if (n > CF_MAX_LOGPROB_TOKENS) {
        *why = cf_msgf("/tokenize: tokens has %zu entries: at most %d are read", n, CF_MAX_LOGPROB_TOKENS);
        goto done;
    }
    t->ids = calloc(n + 1, sizeof *t->ids);
    t->pieces = calloc(n + 1, sizeof *t->pieces);
    t->piece_len = calloc(n + 1, sizeof *t->piece_len);
    if (!t->ids || !t->pieces || !t->piece_len) {
        *why = cf_msgf("/tokenize: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(toks, i), *id = json_is_object(e) ? json_object_get(e, "id") : e;
        /* a token id is at most what JSON numbers hold exactly, and never negative */
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > (1LL << 53)) {
            *why = cf_msgf("/tokenize: tokens[%zu]%s must be a token id (an integer in [0, 2^53]), not %s", i,
                           json_is_object(e) ? ".id" : "", json_is_integer(id) ? "out of that range" : type_name(id));
            goto done;
        }
        t->ids[i] = json_integer_value(id);
        const json_t *piece = json_is_object(e) ? json_object_get(e, "piece") : NULL;
        if (json_is_string(piece)) {
            t->piece_len[i] = json_string_length(piece);
            if (!(t->pieces[i] = dup_bytes(json_string_value(piece), t->piece_len[i]))) {
                *why = cf_msgf("/tokenize: out of memory");
                goto done;
            }
        }
        t->n++;
    }
    ok = true;
done:
    json_decref(root);
    if (!ok) cf_tokens_free(t);
    return ok;
}

void cf_tokens_free(cf_tokens *t) {
    for (size_t i = 0; t->pieces && i < t->n; i++) free(t->pieces[i]);
    free(t->ids);
    free(t->pieces);
    free(t->piece_len);
    memset(t, 0, sizeof *t);
}
