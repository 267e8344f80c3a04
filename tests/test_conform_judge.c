/*
 * test_conform_judge.c - the verdicts of `logitlab conform` without a
 * network: a recorded run against `logitlab serve` (tests/conform/
 * fuzz-seed.bin, the answers in request order) is judged as is (every
 * probe honoured), then with answers swapped or crafted the way a server
 * that ignores a parameter or answers nonsense would send them, and each
 * verdict and message is checked exactly.
 */
#include <string.h>

#include "conform/conform.h"
#include "test_util.h"

/* the recorded answers: GET /models, the greedy completion, two /tokenize,
 * then one per request from "greedy again" on, in conform.c's table order */
enum {
    B_MODELS,
    B_GREEDY,
    B_TOK_PROMPT,
    B_TOK_ALL,
    B_GREEDY2,
    B_SEED7A,
    B_SEED7B,
    B_SEED8,
    B_TOP_P,
    B_TOP_K,
    B_MIN_P,
    B_MAX_TOKENS,
    B_STOP,
    B_N,
    B_LOGPROBS,
    B_PRESENCE,
    B_FREQUENCY,
    B_REPETITION,
    B_BAN,
    B_FORCE,
    B_ECHO,
    B_CHAT,
    B_CHAT_MCT,
    B_CHAT_LOGPROBS,
    B_COUNT
};

static const char *bodies[B_COUNT];
static size_t lens[B_COUNT];

static const cf_result *find(const cf_report *r, const char *name) {
    for (size_t i = 0; i < r->n_results; i++)
        if (!strcmp(r->results[i].name, name)) return &r->results[i];
    return NULL;
}

/* Judges the recording with body b replaced by text (b < 0: none), and
 * checks the probe's verdict and, where given, its evidence's start. */
static void expect(int b, const char *text, const char *probe, cf_verdict v, const char *evidence) {
    const char *saved = b >= 0 ? bodies[b] : NULL;
    size_t saved_len = b >= 0 ? lens[b] : 0;
    if (b >= 0) {
        bodies[b] = text;
        lens[b] = strlen(text);
    }
    cf_report rep;
    cf_judge_bodies(bodies, lens, B_COUNT, &rep);
    const cf_result *x = find(&rep, probe);
    CHECK(x != NULL, "no probe %s", probe);
    if (x) {
        CHECK(x->verdict == v, "%s: %s, expected %s: %s", probe, cf_verdict_name(x->verdict), cf_verdict_name(v),
              x->evidence);
        CHECK(!evidence || (x->evidence && !strncmp(x->evidence, evidence, strlen(evidence))),
              "%s: evidence '%s', expected it to start with '%s'", probe, x->evidence, evidence);
    }
    cf_report_free(&rep);
    if (b >= 0) {
        bodies[b] = saved;
        lens[b] = saved_len;
    }
}

int main(void) {
    /* the recording lies beside this file */
    char path[4096];
    const char *slash = strrchr(__FILE__, '/');
    snprintf(path, sizeof path, "%.*sconform/fuzz-seed.bin", slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__);
    size_t len = 0;
    char *all = tu_read_file(path, &len);
    CHECK(all != NULL, "cannot read %s", path);
    if (!all) return 1;
    size_t n = 0, start = 0;
    for (size_t i = 0; i < len && n < B_COUNT; i++)
        if (all[i] == 0) {
            bodies[n] = all + start;
            lens[n++] = i - start;
            start = i + 1;
        }
    CHECK(n == B_COUNT, "the recording has %zu answers, expected %d", n, B_COUNT);

    /* as recorded: every probe honoured, 24 requests */
    cf_report rep;
    cf_judge_bodies(bodies, lens, B_COUNT, &rep);
    CHECK(rep.n_results == 17, "%zu probes", rep.n_results);
    CHECK(rep.n_requests == B_COUNT, "%zu requests", rep.n_requests);
    for (size_t i = 0; i < rep.n_results; i++)
        CHECK(rep.results[i].verdict == CF_HONOURED, "%s: %s: %s", rep.results[i].name,
              cf_verdict_name(rep.results[i].verdict), rep.results[i].evidence);
    CHECK(rep.n_requests <= cf_max_requests(), "%zu requests, at most %zu", rep.n_requests, cf_max_requests());
    cf_report_free(&rep);
    expect(-1, NULL, "logit_bias +100", CF_HONOURED,
           "+100 on id 376 (' me'): ' me me me me me me', that token 6 times");

    /* a server that ignores the parameter answers as without it */
    expect(B_SEED8, bodies[B_SEED7A], "seed", CF_IGNORED, "seeds 7 and 8 give the same sampled text (24 tokens)");
    expect(B_SEED7B, bodies[B_SEED8], "seed", CF_IGNORED, "seed 7 twice: differs at char 1:");
    expect(B_TOP_K, bodies[B_SEED7A], "top_k", CF_IGNORED, "the text of seed 7 without top_k");
    expect(B_N, bodies[B_SEED7A], "n", CF_IGNORED, "n 3: 1 choice");
    expect(B_STOP, bodies[B_GREEDY], "stop", CF_IGNORED, "stop ' and': not cut");
    expect(B_MAX_TOKENS, bodies[B_GREEDY], "max_tokens", CF_IGNORED, "max_tokens 3: 24 tokens, not cut");
    expect(B_FORCE, bodies[B_GREEDY], "logit_bias +100", CF_IGNORED, "+100 on id 376 (' me'): the greedy text still");
    expect(B_BAN, bodies[B_GREEDY], "logit_bias -100", CF_IGNORED, "-100 on id 324 (' unto')");
    expect(B_PRESENCE, bodies[B_GREEDY], "presence_penalty", CF_IGNORED, "the greedy text repeats id 4049 (',') 4x");
    expect(B_ECHO, bodies[B_MAX_TOKENS], "echo", CF_IGNORED, "the greedy text without the prompt");
    expect(B_CHAT_LOGPROBS, bodies[B_CHAT], "top_logprobs", CF_IGNORED, "top_logprobs 3: the answer has no logprobs");

    /* answers that are wrong or unreadable: the message names the field */
    expect(B_TOP_K, "{\"choices\": [{\"index\": 0, \"text\": 5}]}", "top_k", CF_ERROR,
           "choices[0].text must be a string, not an integer");
    expect(B_MIN_P, "{\"error\": {\"message\": \"no\"}}", "min_p", CF_ERROR, "choices must be an array, not missing");
    expect(B_N, "{\"choices\": []}", "n", CF_ERROR, "choices has 0 entries: valid is [1, 64]");
    expect(B_N,
           "{\"choices\": [{\"index\": 0, \"text\": \"a\"}, {\"index\": 0, \"text\": \"b\"}, {\"index\": 2, \"text\": "
           "\"c\"}]}",
           "n", CF_WRONG, "n 3: 3 choices, indices not 0..2 each once");
    expect(B_STOP,
           "{\"choices\": [{\"index\": 0, \"text\": \" unto me, Go, I pray thee, and\", \"finish_reason\": \"stop\"}]}",
           "stop", CF_WRONG, "stop ' and': cut at char 30, the stop string included");
    expect(B_LOGPROBS,
           "{\"choices\": [{\"index\": 0, \"text\": \" a\", \"logprobs\": {\"tokens\": [\" a\"], \"token_logprobs\": "
           "[-0.1], \"top_logprobs\": [{\" a\": -0.1, \" b\": -0.2}]}}], \"usage\": {\"completion_tokens\": 1}}",
           "logprobs", CF_WRONG, "token 0 ' a': the alternatives' probabilities sum to 1.7236 > 1");
    expect(B_LOGPROBS,
           "{\"choices\": [{\"index\": 0, \"text\": \" a\", \"logprobs\": {\"tokens\": [\" a\"], \"token_logprobs\": "
           "[-0.5], \"top_logprobs\": [{\" a\": -0.7}]}}]}",
           "logprobs", CF_WRONG, "token 0 ' a': logprob -0.5, but -0.7 in its top list");
    expect(B_LOGPROBS,
           "{\"choices\": [{\"index\": 0, \"text\": \" a\", \"logprobs\": {\"tokens\": [\" a\"], \"token_logprobs\": "
           "[-0.5], \"top_logprobs\": [{\" a\": \"x\"}]}}]}",
           "logprobs", CF_ERROR, "choices[0].logprobs.top_logprobs[0][' a'] must be a number, not a string");
    /* temperature 0 that samples: a chosen token less likely than one listed */
    const char *sampled = "{\"choices\": [{\"index\": 0, \"text\": \" b\", \"logprobs\": {\"tokens\": [\" b\"], "
                          "\"token_logprobs\": [-2], \"top_logprobs\": [{\" a\": -0.5, \" b\": -2}]}}]}";
    expect(B_LOGPROBS, sampled, "temperature 0", CF_IGNORED,
           "temperature 0 chose token 0 ' b' with logprob -2 where its list has -0.5: it samples");
    expect(B_LOGPROBS, sampled, "logprobs", CF_HONOURED, "1 tokens, 3 alternatives each");
    expect(B_LOGPROBS, sampled, "stop", CF_UNTESTABLE,
           "it is judged against temperature 0 answers, and temperature 0 is ignored");
    expect(B_GREEDY2, bodies[B_SEED7A], "temperature 0", CF_IGNORED, "temperature 0 twice: differs at char ");
    /* /tokenize missing: the logit_bias requests are not sent */
    expect(B_TOK_PROMPT, "{\"error\": \"not found\"}", "logit_bias -100", CF_UNTESTABLE,
           "not sent: token ids unknown (/tokenize: tokens must be an array, not missing)");

    /* the base answer unusable: no report */
    bodies[B_GREEDY] = "[1, 2";
    lens[B_GREEDY] = 5;
    cf_judge_bodies(bodies, lens, B_COUNT, &rep);
    CHECK(rep.n_results == 0 && rep.results == NULL, "a report from an unreadable base answer");
    cf_report_free(&rep);

    /* each reader alone */
    cf_answer a;
    CHECK(!cf_answer_parse(&a, 401, "{\"error\": {\"message\": \"bad key\"}}", 33, false), "401 read as usable");
    CHECK(a.error && !strcmp(a.error, "HTTP 401: bad key"), "error: %s", a.error);
    cf_answer_free(&a);
    CHECK(!cf_answer_parse(&a, 500, "<html>\x01", 7, true), "500 read as usable");
    CHECK(a.error && !strcmp(a.error, "HTTP 500: <html>\\x01"), "error: %s", a.error);
    cf_answer_free(&a);
    const char *neg = "{\"choices\": [{\"index\": 0, \"message\": {\"content\": \"x\"}}], \"usage\": "
                      "{\"completion_tokens\": -1}}";
    CHECK(!cf_answer_parse(&a, 200, neg, strlen(neg), true), "negative usage read");
    CHECK(a.error && !strcmp(a.error, "usage.completion_tokens must be a non-negative integer, not negative"),
          "error: %s", a.error);
    cf_answer_free(&a);
    cf_tokens t;
    char *why = NULL;
    CHECK(!cf_tokens_parse(&t, "{\"tokens\": [1, -2]}", 19, &why), "a negative token id read");
    CHECK(why &&
              !strcmp(why, "/tokenize: tokens[1] must be a token id (an integer in [0, 2^53]), not out of that range"),
          "why: %s", why);
    free(why);

    free(all);
    printf("%d checks, %d failures\n", tu_checks, tu_failures);
    return tu_failures ? 1 : 0;
}
