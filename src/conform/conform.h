/*
 * conform.h - `logitlab conform`: does an OpenAI-compatible server honour
 * the sampling parameters it accepts? A fixed set of requests whose
 * answers reveal it (the same seed twice, a ban on the greedy token, ...),
 * judged into one verdict per parameter with the evidence.
 *
 * A layer beside src/serve: it speaks HTTP (libcurl) and JSON (jansson)
 * and never touches the engine. Everything the server answers is outside
 * input: cf_answer_parse reads a body with bounded sizes and checked JSON
 * types, and the judges work on what it read, so both run without a
 * network (tests/fuzz_conform.c).
 */
#ifndef LL_CONFORM_H
#define LL_CONFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What a run is told (the flags of `logitlab conform`). */
typedef struct {
    const char *url;     /* base URL of the API, e.g. http://127.0.0.1:8080/v1 */
    const char *model;   /* NULL: the first of GET /models */
    const char *api_key; /* NULL: no Authorization header */
    const char *prompt;  /* NULL: CF_DEFAULT_PROMPT */
    double timeout_s;    /* per request */
} cf_options;

#define CF_DEFAULT_PROMPT "And God said"
/* An answer larger than this is refused (every probe asks for a few tokens). */
#define CF_MAX_BODY           (4u << 20)
#define CF_MAX_CHOICES        64
#define CF_MAX_LOGPROB_TOKENS 4096
#define CF_MAX_TOP            64

typedef enum { CF_HONOURED, CF_IGNORED, CF_WRONG, CF_ERROR, CF_UNTESTABLE } cf_verdict;
const char *cf_verdict_name(cf_verdict v);

/* One generated token's log-probability and the alternatives reported with it. */
typedef struct {
    char *token;
    size_t len;
    double logprob; /* NaN when the server sent null */
    size_t n_top;
    struct cf_alt {
        char *token;
        size_t len;
        double logprob;
    } * top;
} cf_logprob;

typedef struct {
    long long index;
    char *text; /* the completion's text or the chat message's content */
    size_t len;
    char *finish_reason; /* NULL when absent or null */
    bool has_logprobs;   /* a logprobs object came back */
    size_t n_lp;
    cf_logprob *lp;
} cf_choice;

/* A completion or chat answer as read from its body. */
typedef struct {
    long status; /* HTTP status; 0: no answer; -1: not sent */
    bool ok;     /* usable: a 2xx answer read whole */
    char *error; /* why it is not (names the field); NULL when usable or out of memory */
    size_t n_choices;
    cf_choice *choices;
    long long completion_tokens; /* usage.completion_tokens, -1 when absent */
} cf_answer;

/* Reads a completion (chat false) or chat completion answer. On a non-2xx
 * status the error is the server's message (OpenAI's {"error": {...}}
 * shape, or the start of the body). Always fills a; false when unusable. */
bool cf_answer_parse(cf_answer *a, long status, const char *body, size_t len, bool chat);
void cf_answer_free(cf_answer *a);

/* A /tokenize answer: {"tokens": [ids] or [{"id", "piece"}]}. ids and
 * pieces are malloc'ed (pieces[i] NULL where the server gave no text);
 * false with why (a static or malloc'ed message in *why, see free_why). */
typedef struct {
    size_t n;
    long long *ids;
    char **pieces;
    size_t *piece_len;
} cf_tokens;
bool cf_tokens_parse(cf_tokens *t, const char *body, size_t len, char **why);
void cf_tokens_free(cf_tokens *t);

/* The outcome of one probe. */
typedef struct {
    const char *name, *param, *sends, *judges; /* the probe's row */
    cf_verdict verdict;
    char *evidence; /* malloc'ed, ASCII (outside text quoted) */
} cf_result;

typedef struct cf_report {
    char *url, *model;
    size_t n_requests;
    double seconds;
    size_t n_results;
    cf_result *results;
} cf_report;

/* The whole run. Returns 0 when it completed (whatever the verdicts), 1
 * when the server could not be reached or its base answer is unusable
 * (why in *err, malloc'ed), 2 when the options are invalid. */
int cf_run(const cf_options *o, cf_report *rep, char **err);
void cf_report_free(cf_report *rep);
void cf_report_print(const cf_report *rep, FILE *f);
/* false when out of memory or the write failed */
bool cf_report_json(const cf_report *rep, FILE *f);

/* The requests a run sends at most, and the probes' table, for --help. */
size_t cf_max_requests(void);
void cf_print_probes(FILE *f);

/* The judging without a network: the bodies are given to the requests in
 * their order (models, tokenize, then each probe request) as answers with
 * status 200, and every probe is judged. For the fuzz target and tests. */
void cf_judge_bodies(const char *const *bodies, const size_t *lens, size_t n, cf_report *rep);

/* A malloc'ed message (NULL only when out of memory): internal to src/conform. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2)))
#endif
char *
cf_msgf(const char *fmt, ...);

#endif /* LL_CONFORM_H */
