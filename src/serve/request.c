/*
 * request.c - a completion or chat request body -> a checked srv_job.
 *
 * Every field is checked here, before the request waits for a slot: its
 * JSON type, its value against the valid range (named in the 400, as the
 * CLI names a flag's), and finally the whole parameter set by building the
 * chain once, so the library's own checks (a profile's ranges, what a
 * profile lacks) answer in the request's terms. Sampling parameters are
 * read from the parameter table (src/sampling/tables.c): a field there is
 * a request field under its library name; the names other servers use
 * for the same thing are a short alias list. A field nobody knows is an
 * error, not silently dropped.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../sampling/tables.h"
#include "serve_impl.h"

/* The names vLLM, llama.cpp's server and HF give the table's parameters. */
static const struct {
    const char *alias, *name;
} aliases[] = {
    {"repeat_penalty", "repetition_penalty"}, /* llama.cpp server */
    {"repeat_last_n", "penalty_last_n"},      /* llama.cpp server */
    {"min_tokens", "min_new_tokens"},         /* vLLM */
    {"mirostat_ent", "mirostat_tau"},
    {"mirostat_lr", "mirostat_eta"},
    {"dynatemp_exp", "dynatemp_exponent"},
};

#define MAX_STOP 16
#define MAX_STOP_LEN 1024
#define MAX_SAMPLES 64

static const ll_param_row *param_row(const char *key) {
    for (size_t a = 0; a < LL_ARRAY_LEN(aliases); a++)
        if (!strcmp(key, aliases[a].alias)) key = aliases[a].name;
    for (int i = 0; i < LL_P_COUNT; i++)
        if (!strcmp(ll_param_rows[i].name, key)) return &ll_param_rows[i];
    return NULL;
}

static const char *type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* The value as the message shows it (bounded). */
static const char *shown(const json_t *v, char *buf, size_t cap) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) return "?";
    char q[LL_QUOTE_MAX];
    snprintf(buf, cap, "%s", ll_quote(q, s, strlen(s)));
    free(s);
    return buf;
}

static bool get_bool(const char *key, const json_t *v, bool *out, srv_err *e) {
    if (!json_is_boolean(v)) return srv_fail(e, 400, key, "%s must be true or false, not %s", key, type_name(v));
    *out = json_is_true(v);
    return true;
}

/* An integer in [lo, hi]; a number with no fraction counts as one. */
static bool get_int(const char *key, const json_t *v, long long lo, long long hi, long long *out, srv_err *e) {
    char b[LL_QUOTE_MAX];
    double d = 0;
    if (json_is_integer(v)) {
        long long x = json_integer_value(v);
        if (x < lo || x > hi)
            return srv_fail(e, 400, key, "%s = %lld is out of range: valid is [%lld, %lld]", key, x, lo, hi);
        *out = x;
        return true;
    }
    if (!json_is_real(v)) return srv_fail(e, 400, key, "%s must be an integer, not %s", key, type_name(v));
    d = json_real_value(v);
    if (d != floor(d)) return srv_fail(e, 400, key, "%s = %s is not an integer", key, shown(v, b, sizeof b));
    /* (double)INT64_MAX rounds up to 2^63, which does not fit a long long:
     * compare with the powers of two so the cast below is always defined */
    if (d < (double)lo || d > (double)hi || d >= 0x1p63 || d < -0x1p63)
        return srv_fail(e, 400, key, "%s = %s is out of range: valid is [%lld, %lld]", key, shown(v, b, sizeof b), lo, hi);
    *out = (long long)d;
    return true;
}

static bool get_number(const char *key, const json_t *v, double *out, srv_err *e) {
    if (!json_is_number(v)) return srv_fail(e, 400, key, "%s must be a number, not %s", key, type_name(v));
    *out = json_number_value(v);
    return true;
}

/* A table parameter: its type and, where the row bounds it, its range. */
static bool put_param(const ll_param_row *row, const char *key, const json_t *v, ll_sampling_params *p, srv_err *e) {
    char b[LL_QUOTE_MAX];
    int id = (int)(row - ll_param_rows);
    if (row->type == LL_PT_INT || row->type == LL_PT_SEED) {
        long long lo = row->lo < (double)INT64_MIN ? INT64_MIN : (long long)row->lo;
        long long hi = row->hi > (double)INT64_MAX ? INT64_MAX : (long long)row->hi;
        long long x = 0;
        if (!get_int(key, v, lo, hi, &x, e)) return false;
        ll_param_put(p, id, (double)x);
        return true;
    }
    double d = 0;
    if (!get_number(key, v, &d, e)) return false;
    if (row->type == LL_PT_FLOAT) {
        /* no silent rounding to 0 or to infinity */
        if (fabs(d) > FLT_MAX)
            return srv_fail(e, 400, key, "%s = %s does not fit a float (at most %g in magnitude)", key,
                            shown(v, b, sizeof b), (double)FLT_MAX);
        if (d != 0 && fabs(d) < FLT_TRUE_MIN)
            return srv_fail(e, 400, key, "%s = %s would become 0 as a float", key, shown(v, b, sizeof b));
    }
    if (d < row->lo || d > row->hi)
        return srv_fail(e, 400, key, "%s = %s is out of range: valid is [%g, %g]", key, shown(v, b, sizeof b), row->lo,
                        row->hi);
    ll_param_put(p, id, d);
    return true;
}

/* A token id list: [1, 2, 3], each in [0, n_vocab). */
static bool get_ids(const char *key, const json_t *v, size_t n_vocab, int32_t **ids, size_t *n, srv_err *e) {
    if (!json_is_array(v)) return srv_fail(e, 400, key, "%s must be an array of token ids, not %s", key, type_name(v));
    size_t k = json_array_size(v);
    int32_t *a = realloc(*ids, (*n + k + 1) * sizeof *a);
    if (!a) return srv_fail(e, 500, key, "out of memory");
    *ids = a;
    for (size_t i = 0; i < k; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s[%zu]", key, i);
        long long x = 0;
        if (!get_int(name, json_array_get(v, i), 0, (long long)n_vocab - 1, &x, e)) return false;
        a[(*n)++] = (int32_t)x;
    }
    return true;
}

/* A bias value: a number that fits a float (1e300 would become inf, and the
 * message would then name inf instead of what the client sent). The range
 * itself is the profile's, checked when the chain is built. */
static bool get_bias(const char *key, const json_t *v, double *out, srv_err *e) {
    char b[LL_QUOTE_MAX];
    if (!get_number(key, v, out, e)) return false;
    if (fabs(*out) > FLT_MAX)
        return srv_fail(e, 400, "logit_bias", "%s = %s does not fit a float (at most %g in magnitude)", key,
                        shown(v, b, sizeof b), (double)FLT_MAX);
    return true;
}

/* OpenAI's {"123": 5.0}, or llama.cpp's [[123, 5.0], [7, false]] (false: ban). */
static bool get_logit_bias(const json_t *v, size_t n_vocab, srv_job *j, srv_err *e) {
    const char *key = "logit_bias";
    char b[LL_QUOTE_MAX];
    size_t k = json_is_object(v) ? json_object_size(v) : json_is_array(v) ? json_array_size(v) : 0;
    if (!json_is_object(v) && !json_is_array(v))
        return srv_fail(e, 400, key, "logit_bias must be an object {\"token id\": bias}, not %s", type_name(v));
    j->bias = calloc(k + 1, sizeof *j->bias);
    if (!j->bias) return srv_fail(e, 500, key, "out of memory");
    if (json_is_object(v)) {
        const char *id;
        json_t *bv;
        json_object_foreach((json_t *)v, id, bv) {
            char *end;
            errno = 0;
            long long x = strtoll(id, &end, 10);
            if (!*id || *end || errno || id[0] == '+' || id[0] == ' ')
                return srv_fail(e, 400, key, "logit_bias: key '%s' is not a token id", ll_quote(b, id, strlen(id)));
            if (x < 0 || (unsigned long long)x >= n_vocab)
                return srv_fail(e, 400, key, "logit_bias: token id %lld is out of range: valid is [0, %zu)", x, n_vocab);
            char name[64];
            snprintf(name, sizeof name, "logit_bias[%lld]", x);
            double d = 0;
            if (!get_bias(name, bv, &d, e)) return false;
            j->bias[j->n_bias++] = (ll_token_bias){(int32_t)x, (float)d};
        }
    } else {
        for (size_t i = 0; i < k; i++) {
            const json_t *pair = json_array_get(v, i);
            if (!json_is_array(pair) || json_array_size(pair) != 2)
                return srv_fail(e, 400, key, "logit_bias[%zu] must be a pair [token id, bias], not %s", i,
                                shown(pair, b, sizeof b));
            char name[64];
            snprintf(name, sizeof name, "logit_bias[%zu][0]", i);
            long long x = 0;
            if (!get_int(name, json_array_get(pair, 0), 0, (long long)n_vocab - 1, &x, e)) return false;
            const json_t *bv = json_array_get(pair, 1);
            float bias;
            if (json_is_false(bv)) {
                bias = -INFINITY; /* llama.cpp: false bans the token */
            } else {
                double d = 0;
                snprintf(name, sizeof name, "logit_bias[%zu][1]", i);
                if (!get_bias(name, bv, &d, e)) return false;
                bias = (float)d;
            }
            j->bias[j->n_bias++] = (ll_token_bias){(int32_t)x, bias};
        }
    }
    return true;
}

static bool get_stop(const json_t *v, srv_job *j, srv_err *e) {
    const char *key = "stop";
    size_t k = json_is_string(v) ? 1 : json_is_array(v) ? json_array_size(v) : 0;
    if (!json_is_string(v) && !json_is_array(v))
        return srv_fail(e, 400, key, "stop must be a string or an array of strings, not %s", type_name(v));
    if (k > MAX_STOP) return srv_fail(e, 400, key, "stop has %zu strings: valid is at most %d", k, MAX_STOP);
    j->stop = calloc(k + 1, sizeof *j->stop);
    if (!j->stop) return srv_fail(e, 500, key, "out of memory");
    for (size_t i = 0; i < k; i++) {
        const json_t *s = json_is_string(v) ? v : json_array_get(v, i);
        if (!json_is_string(s)) return srv_fail(e, 400, key, "stop[%zu] must be a string, not %s", i, type_name(s));
        size_t n = json_string_length(s);
        if (n == 0 || n > MAX_STOP_LEN)
            return srv_fail(e, 400, key, "stop[%zu] has %zu bytes: valid is [1, %d]", i, n, MAX_STOP_LEN);
        if (memchr(json_string_value(s), 0, n)) return srv_fail(e, 400, key, "stop[%zu] contains a NUL character", i);
        j->stop[i] = strdup(json_string_value(s));
        if (!j->stop[i]) return srv_fail(e, 500, key, "out of memory");
        j->n_stop++;
    }
    return true;
}

static bool get_samplers(const json_t *v, srv_job *j, srv_err *e) {
    const char *key = "samplers";
    char *buf = NULL;
    size_t len = 0, cap = 0;
    bool ok = true;
    if (json_is_string(v)) {
        ok = srv_buf_add(&buf, &len, &cap, json_string_value(v), json_string_length(v));
    } else if (json_is_array(v)) {
        for (size_t i = 0; ok && i < json_array_size(v); i++) {
            const json_t *s = json_array_get(v, i);
            if (!json_is_string(s)) {
                free(buf);
                return srv_fail(e, 400, key, "samplers[%zu] must be a stage name, not %s", i, type_name(s));
            }
            ok = (i == 0 || srv_buf_add(&buf, &len, &cap, ",", 1)) &&
                 srv_buf_add(&buf, &len, &cap, json_string_value(s), json_string_length(s));
        }
    } else {
        return srv_fail(e, 400, key, "samplers must be a string or an array of stage names, not %s", type_name(v));
    }
    if (!ok || !buf) {
        free(buf);
        return len == 0 && ok ? srv_fail(e, 400, key, "samplers is empty") : srv_fail(e, 500, key, "out of memory");
    }
    if (strlen(buf) != len) {
        free(buf);
        return srv_fail(e, 400, key, "samplers contains a NUL character");
    }
    ll_error err;
    ll_error_clear(&err);
    if (ll_samplers_check(buf, &err) != LL_OK) {
        free(buf);
        return srv_fail(e, 400, key, "samplers: %s", err.message);
    }
    j->samplers = buf;
    return true;
}

/* dry_sequence_breakers: strings, each tokenized without BOS (llama.cpp's
 * server takes strings too). */
static bool get_breakers(const json_t *v, const ll_tokenizer *tok, srv_job *j, srv_err *e) {
    const char *key = "dry_sequence_breakers";
    if (!json_is_array(v)) return srv_fail(e, 400, key, "%s must be an array of strings, not %s", key, type_name(v));
    size_t k = json_array_size(v);
    j->breakers = calloc(k + 1, sizeof *j->breakers);
    if (!j->breakers) return srv_fail(e, 500, key, "out of memory");
    for (size_t i = 0; i < k; i++) {
        const json_t *s = json_array_get(v, i);
        if (!json_is_string(s) || json_string_length(s) == 0)
            return srv_fail(e, 400, key, "%s[%zu] must be a non-empty string", key, i);
        int32_t *ids = NULL;
        size_t n = 0;
        ll_error err;
        ll_error_clear(&err);
        if (ll_tokenize(tok, json_string_value(s), json_string_length(s), false, false, &ids, &n, &err) != LL_OK)
            return srv_fail(e, 400, key, "%s[%zu]: %s", key, i, err.message);
        j->breakers[j->n_breakers++] = (ll_token_seq){ids, n};
    }
    return true;
}

/* The prompt: a string (tokenized with BOS as `logitlab generate` does) or
 * token ids (used as given). */
static bool get_prompt(const json_t *v, const srv_model *m, srv_job *j, srv_err *e) {
    const char *key = "prompt";
    if (json_is_string(v)) {
        ll_error err;
        ll_error_clear(&err);
        size_t n = json_string_length(v);
        if (ll_tokenize(m->tok, json_string_value(v), n, true, false, &j->prompt, &j->n_prompt, &err) != LL_OK)
            return srv_fail(e, 400, key, "prompt: %s", err.message);
        j->echo_text = malloc(n + 1);
        if (!j->echo_text) return srv_fail(e, 500, key, "out of memory");
        memcpy(j->echo_text, json_string_value(v), n + 1);
        j->echo_len = n;
        return true;
    }
    if (json_is_array(v) && json_array_size(v) > 0 &&
        (json_is_array(json_array_get(v, 0)) || json_is_string(json_array_get(v, 0))))
        return srv_fail(e, 400, key, "prompt: one prompt per request (a string or one array of token ids), not a batch");
    if (!json_is_array(v))
        return srv_fail(e, 400, key, "prompt must be a string or an array of token ids, not %s", type_name(v));
    if (!get_ids(key, v, m->n_vocab, &j->prompt, &j->n_prompt, e)) return false;
    /* the text of the ids, for echo */
    char *buf = NULL;
    size_t len = 0, cap = 0;
    ll_error err;
    ll_error_clear(&err);
    ll_detokenizer *d = ll_detokenizer_new(m->tok, &err);
    bool ok = d && srv_buf_add(&buf, &len, &cap, "", 0);
    for (size_t i = 0; ok && i < j->n_prompt; i++) {
        size_t n;
        const char *s = ll_detokenizer_push(d, j->prompt[i], &n);
        ok = srv_buf_add(&buf, &len, &cap, s, n);
    }
    if (ok) {
        size_t n;
        const char *s = ll_detokenizer_flush(d, &n);
        ok = srv_buf_add(&buf, &len, &cap, s, n);
    }
    ll_detokenizer_free(d);
    if (!ok) {
        free(buf);
        return srv_fail(e, 500, key, "out of memory");
    }
    j->echo_text = buf;
    j->echo_len = len;
    return true;
}

/* messages -> the model's chat template (tokenizer.chat_template; the
 * embedded model and llama2.c checkpoints have none and get logitlab's own
 * format, docs/chat.md) -> prompt tokens. Content is a string or OpenAI's
 * list of {"type": "text", "text": ...} parts. */
static bool get_messages(const json_t *v, const srv_model *m, srv_job *j, srv_err *e) {
    const char *key = "messages";
    char b[LL_QUOTE_MAX];
    if (!json_is_array(v) || json_array_size(v) == 0)
        return srv_fail(e, 400, key, "messages must be a non-empty array of {\"role\", \"content\"}, not %s",
                        json_is_array(v) ? "an empty array" : type_name(v));
    size_t n = json_array_size(v);
    ll_chat_message *msgs = calloc(n, sizeof *msgs);
    char **owned = calloc(n, sizeof *owned);
    char *tmpl = NULL, *text = NULL;
    size_t len = 0;
    bool ok = false;
    if (!msgs || !owned) {
        srv_fail(e, 500, key, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *msg = json_array_get(v, i), *role = json_object_get(msg, "role"),
                     *content = json_object_get(msg, "content");
        if (!json_is_object(msg)) {
            srv_fail(e, 400, key, "messages[%zu] must be an object {\"role\", \"content\"}, not %s", i, type_name(msg));
            goto done;
        }
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)msg, k, x) {
            if (strcmp(k, "role") && strcmp(k, "content") && strcmp(k, "name")) {
                srv_fail(e, 400, key, "messages[%zu]: unknown field '%s' (valid: role, content, name)", i,
                         ll_quote(b, k, strlen(k)));
                goto done;
            }
        }
        if (!json_is_string(role)) {
            srv_fail(e, 400, key, "messages[%zu].role must be a string", i);
            goto done;
        }
        msgs[i].role = json_string_value(role);
        if (json_is_string(content)) {
            msgs[i].content = json_string_value(content);
            if (strlen(msgs[i].content) != json_string_length(content)) {
                srv_fail(e, 400, key, "messages[%zu].content contains a NUL character", i);
                goto done;
            }
        } else if (json_is_array(content)) {
            char *buf = NULL;
            size_t bl = 0, bc = 0;
            bool good = srv_buf_add(&buf, &bl, &bc, "", 0);
            for (size_t k2 = 0; good && k2 < json_array_size(content); k2++) {
                const json_t *part = json_array_get(content, k2), *t = json_object_get(part, "text");
                const json_t *ty = json_object_get(part, "type");
                if (!json_is_string(ty) || strcmp(json_string_value(ty), "text") != 0 || !json_is_string(t)) {
                    free(buf);
                    srv_fail(e, 400, key, "messages[%zu].content[%zu]: only {\"type\": \"text\", \"text\": ...} parts are supported", i, k2);
                    goto done;
                }
                good = srv_buf_add(&buf, &bl, &bc, json_string_value(t), json_string_length(t));
            }
            owned[i] = buf;
            if (!good) {
                srv_fail(e, 500, key, "out of memory");
                goto done;
            }
            msgs[i].content = buf;
        } else {
            srv_fail(e, 400, key, "messages[%zu].content must be a string or an array of text parts, not %s", i,
                     content ? type_name(content) : "missing");
            goto done;
        }
    }
    ll_error err;
    ll_error_clear(&err);
    if (ll_model_chat_template(m->model, &tmpl, &err) != LL_OK) {
        srv_fail(e, 500, key, "%s", err.message);
        goto done;
    }
    if (ll_chat_apply(tmpl ? tmpl : "logitlab", msgs, n, true, &text, &len, &err) != LL_OK) {
        srv_fail(e, 400, key, "messages: %s", err.message);
        goto done;
    }
    /* the template writes the special tokens as text: read them as tokens */
    if (ll_tokenize(m->tok, text, len, true, true, &j->prompt, &j->n_prompt, &err) != LL_OK) {
        srv_fail(e, 400, key, "messages: %s", err.message);
        goto done;
    }
    ok = true;
done:
    for (size_t i = 0; owned && i < n; i++) free(owned[i]);
    free(owned);
    free(msgs);
    free(tmpl);
    free(text);
    return ok;
}

/* Names the field a library message is about (messages start with it). */
static void param_of_message(const char *msg, char *param, size_t cap) {
    size_t n = 0;
    while (msg[n] && (msg[n] == '_' || (msg[n] >= 'a' && msg[n] <= 'z'))) n++;
    param[0] = '\0';
    if (n == 0 || n >= cap) return;
    char word[64];
    memcpy(word, msg, n);
    word[n] = '\0';
    if (param_row(word) || !strcmp(word, "n") || !strcmp(word, "logprobs") || !strcmp(word, "samplers"))
        memcpy(param, word, n + 1);
}

/* A seed from the kernel's random source, in [1, 2^32 - 1] (every
 * profile's valid range; llama2.c's starts at 1). */
static int64_t random_seed(void) {
    uint32_t v = 0;
    while (v == 0) {
        if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
            /* no kernel source: the clock and a counter, still different per request */
            static atomic_uint count;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            v = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec * 2654435761u ^ atomic_fetch_add(&count, 1) * 40503u;
        }
    }
    return (int64_t)v;
}

bool srv_parse_request(srv_job *j, json_t *body, srv_kind kind, const srv_model *m, srv_err *e) {
    char b[LL_QUOTE_MAX];
    if (!json_is_object(body)) return srv_fail(e, 400, NULL, "the request body must be a JSON object, not %s", type_name(body));
    j->kind = kind;
    j->model = m;
    j->logprobs = -1;
    j->trace_top = 10;
    /* the profile first: every other value is read in its terms */
    ll_profile prof = m->profile;
    json_t *pv = json_object_get(body, "profile");
    if (pv && !json_is_null(pv)) {
        if (!json_is_string(pv)) return srv_fail(e, 400, "profile", "profile must be a string, not %s", type_name(pv));
        ll_error err;
        ll_error_clear(&err);
        if (ll_profile_from_name(json_string_value(pv), &prof, &err) != LL_OK)
            return srv_fail(e, 400, "profile", "profile: %s", err.message);
    }
    ll_generate_params_init(&j->gp, prof);
    ll_sampling_params *sp = &j->gp.sampling;
    bool have_prompt = false, logprobs_given = false, stream_options = false;
    long long top_logprobs = -1, max_tokens = -1;
    const char *seen[LL_P_COUNT] = {0}; /* the field name each table parameter was given under */
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (json_is_null(v)) continue; /* null: not given, as OpenAI clients send it */
        const ll_param_row *row = param_row(key);
        if (!strcmp(key, "profile") || !strcmp(key, "user")) {
            if (!strcmp(key, "user") && !json_is_string(v))
                return srv_fail(e, 400, key, "user must be a string, not %s", type_name(v));
        } else if (!strcmp(key, "model")) {
            if (!json_is_string(v)) return srv_fail(e, 400, key, "model must be a string, not %s", type_name(v));
            if (strcmp(json_string_value(v), m->id) != 0) {
                e->code = "model_not_found";
                return srv_fail(e, 404, key, "the model '%s' does not exist: this server has '%s'",
                                ll_quote(b, json_string_value(v), json_string_length(v)), m->id);
            }
        } else if (!strcmp(key, "prompt") && kind == SRV_COMPLETION) {
            if (!get_prompt(v, m, j, e)) return false;
            have_prompt = true;
        } else if (!strcmp(key, "messages") && kind == SRV_CHAT) {
            have_prompt = true; /* read below, once the model's template is known */
        } else if (!strcmp(key, "max_tokens") || !strcmp(key, "max_completion_tokens") ||
                   !strcmp(key, "max_new_tokens")) {
            long long x = 0;
            if (!get_int(key, v, 1, INT32_MAX, &x, e)) return false;
            if (max_tokens >= 0 && x != max_tokens)
                return srv_fail(e, 400, key, "%s = %lld differs from the other length field (%lld): give one", key, x,
                                max_tokens);
            max_tokens = x;
        } else if (!strcmp(key, "n")) {
            long long x = 0;
            if (!get_int(key, v, 1, MAX_SAMPLES, &x, e)) return false;
            j->gp.n = (int32_t)x;
        } else if (!strcmp(key, "stream")) {
            if (!get_bool(key, v, &j->stream, e)) return false;
        } else if (!strcmp(key, "stream_options")) {
            if (!json_is_object(v)) return srv_fail(e, 400, key, "stream_options must be an object, not %s", type_name(v));
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2) {
                if (strcmp(k2, "include_usage") != 0)
                    return srv_fail(e, 400, "stream_options", "stream_options: unknown field '%s' (valid: include_usage)",
                                    ll_quote(b, k2, strlen(k2)));
                if (!json_is_null(v2) && !get_bool("stream_options.include_usage", v2, &j->include_usage, e)) return false;
            }
            stream_options = true;
        } else if (!strcmp(key, "echo") && kind == SRV_COMPLETION) {
            if (!get_bool(key, v, &j->echo, e)) return false;
        } else if (!strcmp(key, "trace")) {
            if (!get_bool(key, v, &j->trace, e)) return false;
        } else if (!strcmp(key, "trace_top")) {
            long long x = 0;
            if (!get_int(key, v, 1, LL_TRACE_MAX_TOP, &x, e)) return false;
            j->trace_top = (int)x;
        } else if (!strcmp(key, "logprobs") && kind == SRV_CHAT) {
            if (!get_bool(key, v, &j->chat_logprobs, e)) return false;
            logprobs_given = true;
        } else if (!strcmp(key, "top_logprobs") && kind == SRV_CHAT) {
            if (!get_int(key, v, 0, LL_MAX_LOGPROBS, &top_logprobs, e)) return false;
        } else if ((!strcmp(key, "logprobs") && kind == SRV_COMPLETION) || !strcmp(key, "n_probs")) {
            long long x = 0;
            if (!get_int(key, v, 0, LL_MAX_LOGPROBS, &x, e)) return false;
            j->logprobs = (int)x;
        } else if (!strcmp(key, "stop")) {
            if (!get_stop(v, j, e)) return false;
        } else if (!strcmp(key, "logit_bias")) {
            if (!get_logit_bias(v, m->n_vocab, j, e)) return false;
        } else if (!strcmp(key, "ignore_eos")) {
            if (!get_bool(key, v, &j->gp.ignore_eos, e)) return false;
        } else if (!strcmp(key, "stop_token_ids") || !strcmp(key, "eos_ids")) {
            if (!get_ids(key, v, m->n_vocab, &j->eos, &j->n_eos, e)) return false;
        } else if (!strcmp(key, "suppress_tokens")) {
            if (!get_ids(key, v, m->n_vocab, &j->suppress, &j->n_suppress, e)) return false;
        } else if (!strcmp(key, "samplers")) {
            if (!get_samplers(v, j, e)) return false;
        } else if (!strcmp(key, "dry_sequence_breakers")) {
            if (!get_breakers(v, m->tok, j, e)) return false;
        } else if (!strcmp(key, "do_sample") || !strcmp(key, "greedy")) {
            bool x = false;
            if (!get_bool(key, v, &x, e)) return false;
            sp->do_sample = !strcmp(key, "greedy") ? !x : x;
        } else if (!strcmp(key, "penalty_scope")) {
            const char *s = json_is_string(v) ? json_string_value(v) : "";
            int scope = !strcmp(s, "last_n") ? LL_PENALTY_SCOPE_LAST_N
                        : !strcmp(s, "all")  ? LL_PENALTY_SCOPE_ALL
                        : !strcmp(s, "generated") ? LL_PENALTY_SCOPE_GENERATED
                                                  : -1;
            if (scope < 0)
                return srv_fail(e, 400, key, "penalty_scope = %s: valid are \"last_n\", \"all\", \"generated\"",
                                shown(v, b, sizeof b));
            sp->penalty_scope = scope;
        } else if (row && row->type != LL_PT_OTHER) {
            /* repeat_penalty and repetition_penalty are one parameter: both
             * given, the later would silently win */
            const char *other = seen[row - ll_param_rows];
            if (other)
                return srv_fail(e, 400, key, "%s and %s are the same parameter (%s): give one", other, key, row->name);
            seen[row - ll_param_rows] = key;
            if (!put_param(row, key, v, sp, e)) return false;
        } else {
            return srv_fail(e, 400, key, "unknown field '%s': logitlab serve does not support it (README.md, \"Serve\")",
                            ll_quote(b, key, strlen(key)));
        }
    }
    if (!have_prompt) return srv_fail(e, 400, kind == SRV_CHAT ? "messages" : "prompt", "%s is required",
                                      kind == SRV_CHAT ? "messages" : "prompt");
    if (stream_options && !j->stream)
        return srv_fail(e, 400, "stream_options", "stream_options is only allowed with stream: true");
    if (kind == SRV_CHAT) {
        if (top_logprobs >= 0 && !j->chat_logprobs)
            return srv_fail(e, 400, "top_logprobs", "top_logprobs needs logprobs: true");
        if (j->chat_logprobs) j->logprobs = top_logprobs >= 0 ? (int)top_logprobs : 0;
        (void)logprobs_given;
        if (!get_messages(json_object_get(body, "messages"), m, j, e)) return false;
        /* chat: until the context is full unless max_tokens says otherwise
         * (vLLM's chat default), rather than the Completions API's 16 */
        if (max_tokens < 0 && j->n_prompt < m->n_ctx) max_tokens = (long long)(m->n_ctx - j->n_prompt);
    }
    if (j->n_prompt == 0) return srv_fail(e, 400, "prompt", "the prompt is empty: give at least one token");
    if (j->n_prompt >= m->n_ctx)
        return srv_fail(e, 400, "prompt",
                        "the prompt has %zu tokens but the context holds %zu (--ctx-size): shorten it", j->n_prompt,
                        m->n_ctx);
    if (max_tokens >= 0) {
        if ((size_t)max_tokens > m->n_ctx - j->n_prompt)
            return srv_fail(e, 400, "max_tokens",
                            "max_tokens = %lld is out of range: the prompt has %zu tokens and the context holds %zu, "
                            "so valid is [1, %zu]",
                            max_tokens, j->n_prompt, m->n_ctx, m->n_ctx - j->n_prompt);
        j->gp.max_new_tokens = (int32_t)max_tokens;
    }
    /* point the parameters at what was read */
    sp->logit_bias = j->bias;
    sp->n_logit_bias = j->n_bias;
    sp->suppress_tokens = j->suppress;
    sp->n_suppress_tokens = j->n_suppress;
    sp->dry_breakers = j->breakers;
    sp->n_dry_breakers = j->n_breakers;
    sp->samplers = j->samplers;
    j->gp.stop = (const char *const *)j->stop;
    j->gp.n_stop = j->n_stop;
    j->gp.logprobs = j->logprobs;
    if (j->n_eos) {
        /* stop_token_ids: in addition to the model's end-of-generation ids */
        int32_t eog[LL_GEN_MAX_EOS];
        size_t ne = ll_tokenizer_eog_ids(m->tok, eog, LL_GEN_MAX_EOS);
        if (ne > LL_GEN_MAX_EOS) ne = LL_GEN_MAX_EOS;
        if (j->n_eos + ne > LL_GEN_MAX_EOS)
            return srv_fail(e, 400, "stop_token_ids", "stop_token_ids has %zu ids: valid is at most %zu", j->n_eos,
                            (size_t)LL_GEN_MAX_EOS - ne);
        int32_t *all = realloc(j->eos, (j->n_eos + ne) * sizeof *all);
        if (!all) return srv_fail(e, 500, NULL, "out of memory");
        memcpy(all + j->n_eos, eog, ne * sizeof *all);
        j->eos = all;
        j->n_eos += ne;
        j->gp.eos_ids = j->eos;
        j->gp.n_eos_ids = j->n_eos;
    }
    /* no seed: a random one, as OpenAI, vLLM and llama.cpp's server sample
     * differently each time (the answer says which, so it can be repeated) */
    if (sp->seed < 0) sp->seed = random_seed();
    /* the whole set, as the engine will build it */
    ll_lm lm = {.n_vocab = m->n_vocab, .n_ctx = m->n_ctx};
    ll_gen_setup su;
    ll_error err;
    ll_error_clear(&err);
    bool ok = ll_gen_resolve(&lm, m->tok, j->n_prompt, &j->gp, &su, &err) == LL_OK;
    if (ok) {
        ll_chain *ch = ll_chain_from_params(&su.sampling, m->n_vocab, &err);
        ok = ch != NULL;
        ll_chain_free(ch);
    }
    ll_gen_setup_free(&su);
    if (!ok) {
        char param[64];
        param_of_message(err.message, param, sizeof param);
        if (err.status == LL_ERR_OUT_OF_MEMORY) return srv_fail(e, 500, NULL, "%s", err.message);
        /* the library names the parameter by its own name: a request that
         * used another server's name for it gets that name too */
        const ll_param_row *row = param[0] ? param_row(param) : NULL;
        const char *given = row ? seen[row - ll_param_rows] : NULL;
        if (given && strcmp(given, param) != 0) return srv_fail(e, 400, given, "%s: %s", given, err.message);
        return srv_fail(e, 400, param, "%s", err.message);
    }
    return true;
}
