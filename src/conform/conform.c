/*
 * conform.c - `logitlab conform`: the requests (one table), the probes
 * that judge their answers (another table), the HTTP transport (libcurl)
 * and the report.
 *
 * A request row is a JSON template added to a base body (model, prompt,
 * max_tokens 24); "$A", "$B", "$STOP" and "$K" in it are filled from the
 * server's own answers (the greedy continuation's first token and another
 * of its tokens, read with /tokenize; a piece of the greedy text) or from
 * the row, so no tokenizer is needed here. A probe row names the request it
 * judges, the requests it compares with, and the judge; a refused request
 * of its own makes the verdict "error", an unusable reference "not
 * testable". Every request is sent once, in table order, so a run sends
 * at most cf_max_requests() requests.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conform.h"
#include "core/internal.h"

/* The greedy answer's length: long enough that a repetition shows (for the
 * penalties) and that 3 tokens are clearly a cut, short enough for ~1 s. */
#define BASE_TOKENS 24

/* ---- the requests ---- */

enum {
    S_NONE, /* no request (0, so a probe row leaves it out by default) */
    S_GREEDY,
    S_GREEDY2,
    S_SEED7A,
    S_SEED7B,
    S_SEED8,
    S_TOP_P,
    S_TOP_K,
    S_MIN_P,
    S_MAX_TOKENS,
    S_STOP,
    S_N,
    S_LOGPROBS,
    S_PRESENCE,
    S_FREQUENCY,
    S_REPETITION,
    S_BAN,
    S_FORCE,
    S_ECHO,
    S_CHAT,
    S_CHAT_MCT,
    S_CHAT_LOGPROBS,
    S_COUNT
};

typedef struct {
    bool chat;          /* /chat/completions (messages) instead of /completions (prompt) */
    const char *fields; /* JSON object added to the base body; a null removes a base field */
    int k;              /* what "$K" becomes (a count the judge checks) */
} shot_row;

static const shot_row shots[S_COUNT] = {
    [S_GREEDY] = {false, "{\"temperature\": 0}", 0},
    [S_GREEDY2] = {false, "{\"temperature\": 0}", 0},
    [S_SEED7A] = {false, "{\"temperature\": 1, \"seed\": 7}", 0},
    [S_SEED7B] = {false, "{\"temperature\": 1, \"seed\": 7}", 0},
    [S_SEED8] = {false, "{\"temperature\": 1, \"seed\": 8}", 0},
    [S_TOP_P] = {false, "{\"temperature\": 1, \"seed\": 7, \"top_p\": 0.001}", 0},
    [S_TOP_K] = {false, "{\"temperature\": 1, \"seed\": 7, \"top_k\": 1}", 0},
    [S_MIN_P] = {false, "{\"temperature\": 1, \"seed\": 7, \"min_p\": 0.999}", 0},
    [S_MAX_TOKENS] = {false, "{\"temperature\": 0, \"max_tokens\": \"$K\"}", 3},
    [S_STOP] = {false, "{\"temperature\": 0, \"stop\": \"$STOP\"}", 0},
    [S_N] = {false, "{\"temperature\": 1, \"seed\": 7, \"n\": \"$K\", \"max_tokens\": 4}", 3},
    [S_LOGPROBS] = {false, "{\"temperature\": 0, \"logprobs\": \"$K\", \"max_tokens\": 8}", 3},
    [S_PRESENCE] = {false, "{\"temperature\": 0, \"presence_penalty\": 2}", 0},
    [S_FREQUENCY] = {false, "{\"temperature\": 0, \"frequency_penalty\": 2}", 0},
    [S_REPETITION] = {false, "{\"temperature\": 0, \"repetition_penalty\": 1.5}", 0},
    [S_BAN] = {false, "{\"temperature\": 0, \"logit_bias\": {\"$A\": -100}}", 0},
    [S_FORCE] = {false, "{\"temperature\": 0, \"logit_bias\": {\"$B\": 100}, \"max_tokens\": \"$K\"}", 6},
    [S_ECHO] = {false, "{\"temperature\": 0, \"echo\": true, \"max_tokens\": 4}", 0},
    [S_CHAT] = {true, "{\"temperature\": 0}", 0},
    [S_CHAT_MCT] = {true, "{\"temperature\": 0, \"max_tokens\": null, \"max_completion_tokens\": \"$K\"}", 3},
    [S_CHAT_LOGPROBS] = {true, "{\"temperature\": 0, \"logprobs\": true, \"top_logprobs\": \"$K\", \"max_tokens\": 8}",
                         3},
};

/* GET /models (when --model is not given) and up to three /tokenize calls
 * (the prompt under "content" or else "prompt", then prompt + answer). */
#define EXTRA_REQUESTS 4

/* ---- a run ---- */

typedef struct run run;
/* Sends one request (body NULL: GET); the answer in *resp (malloc'ed),
 * its status returned, 0 with *why set when there was none. */
typedef long (*send_fn)(run *r, const char *url, const char *body, char **resp, size_t *len, char **why);

struct run {
    const cf_options *o;
    send_fn send;
    char *api, *root; /* the API base (…/v1) and the server's root (/tokenize) */
    const char *prompt;
    char *model;
    /* the transport */
    CURL *curl;
    struct curl_slist *headers;
    const char *const *bodies; /* offline: the answers in order */
    const size_t *lens;
    size_t n_bodies, next_body;
    size_t n_requests;
    cf_answer ans[S_COUNT];
    /* learnt from the greedy answer */
    cf_tokens cont; /* its tokens (ids, pieces where /tokenize gives them) */
    char *cont_why; /* why they are unknown */
    long long a_id, b_id;
    size_t b_at; /* where b_id is in cont */
    char *stop;  /* a piece of the greedy text */
    size_t stop_len, stop_at;
    char *stop_why;
    /* judged before the probes that compare with seed 7's answer: without
     * a working seed, that answer is one random draw among many */
    bool seed_honoured;
};

/* ---- small helpers ---- */

static size_t first_diff(const char *a, size_t na, const char *b, size_t nb) {
    size_t i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    return i;
}

static bool same_text(const cf_choice *a, const cf_choice *b) {
    return a->len == b->len && !memcmp(a->text, b->text, a->len);
}

static bool is_prefix(const cf_choice *a, const cf_choice *of) {
    return a->len <= of->len && !memcmp(a->text, of->text, a->len);
}

static size_t find(const char *s, size_t n, const char *w, size_t m) {
    for (size_t i = 0; m && i + m <= n; i++)
        if (!memcmp(s + i, w, m)) return i;
    return (size_t)-1;
}

/* Outside text in quotes, for a terminal ('\'' inside is written \x27). */
#define QMAX (LL_QUOTE_MAX + 2)
static const char *qt(char q[QMAX], const char *s, size_t n) {
    char b[LL_QUOTE_MAX];
    return ll_bufprintf(q, QMAX, "'%s'", ll_quote(b, s, n));
}

/* Up to 16 bytes of s from at, quoted. */
static const char *excerpt(char q[QMAX], const char *s, size_t n, size_t at) {
    if (at > n) at = n;
    return qt(q, s + at, LL_MIN(n - at, (size_t)16));
}

/* "(N tokens)" from usage, or the text's bytes when usage is missing. */
static const char *size_of(char *buf, size_t cap, const cf_answer *a) {
    if (a->completion_tokens >= 0) return ll_bufprintf(buf, cap, "%lld tokens", a->completion_tokens);
    return ll_bufprintf(buf, cap, "%zu bytes", a->choices[0].len);
}

/* "differs at char 13: 'in peace' vs 'Go, I pray'" */
static char *diff_text(const char *what, const cf_choice *a, const cf_choice *b) {
    char qa[QMAX], qb[QMAX];
    size_t d = first_diff(a->text, a->len, b->text, b->len);
    return cf_msgf("%s at char %zu: %s vs %s", what, d, excerpt(qa, a->text, a->len, d),
                   excerpt(qb, b->text, b->len, d));
}

/* "id 391 (' God')", or "id 391" when /tokenize gave no piece. */
static const char *tok_ref(char *buf, size_t cap, const run *r, size_t i) {
    char q[QMAX];
    if (!r->cont.pieces[i]) return ll_bufprintf(buf, cap, "id %lld", r->cont.ids[i]);
    return ll_bufprintf(buf, cap, "id %lld (%s)", r->cont.ids[i], qt(q, r->cont.pieces[i], r->cont.piece_len[i]));
}

/* ---- the judges: each returns the verdict and sets *ev ---- */

typedef struct probe_row probe_row;
typedef cf_verdict (*judge_fn)(const run *r, const probe_row *p, char **ev);

struct probe_row {
    const char *name, *param, *sends, *judges;
    int shot;       /* the request judged (its refusal: "error") */
    uint32_t extra; /* more requests of its own (bit per request) */
    int ref, ctl;   /* the answers it is compared with (unusable: "not testable"); ctl may be S_NONE */
    int aux;        /* an answer used when usable, or S_NONE */
    bool greedy;    /* compares with temperature 0 answers: only once temperature 0 is honoured */
    judge_fn judge;
};

#define ANS(i) (&r->ans[i].choices[0])

/* The first token (of those with logprobs) that is not the most likely in
 * its own list, or -1: what temperature 0 must never choose. */
static long less_likely(const cf_choice *c, double *lp, double *best) {
    for (size_t i = 0; i < c->n_lp; i++) {
        *best = -INFINITY;
        for (size_t j = 0; j < c->lp[i].n_top; j++) *best = LL_MAX(*best, c->lp[i].top[j].logprob);
        *lp = c->lp[i].logprob;
        if (c->lp[i].n_top && !(*lp >= *best - 1e-4)) return (long)i;
    }
    return -1;
}

/* temperature 0: the same text twice, and (where the logprobs request
 * answered with them) every chosen token the most likely by the server's
 * own numbers; a server that samples with a fixed default seed is
 * deterministic too, so the first alone proves nothing. */
static cf_verdict judge_temperature(const run *r, const probe_row *p, char **ev) {
    char n[32], q[QMAX];
    if (!same_text(ANS(p->shot), ANS(p->ref))) {
        *ev = diff_text("temperature 0 twice: differs", ANS(p->ref), ANS(p->shot));
        return CF_IGNORED;
    }
    const cf_choice *lp = r->ans[p->aux].ok ? ANS(p->aux) : NULL;
    size_of(n, sizeof n, &r->ans[p->ref]);
    if (!lp || !lp->n_lp) {
        *ev = cf_msgf("temperature 0 twice: the same text (%s); no logprobs to show it is the most likely one", n);
        return CF_HONOURED;
    }
    double x, best;
    long i = less_likely(lp, &x, &best);
    if (i >= 0) {
        *ev = cf_msgf("temperature 0 chose token %ld %s with logprob %g where its list has %g: it samples", i,
                      qt(q, lp->lp[i].token, lp->lp[i].len), x, best);
        return CF_IGNORED;
    }
    *ev = cf_msgf("temperature 0 twice: the same text (%s); each of %zu tokens the most likely by its logprobs", n,
                  lp->n_lp);
    return CF_HONOURED;
}

static cf_verdict judge_seed(const run *r, const probe_row *p, char **ev) {
    const cf_choice *a = ANS(S_SEED7A), *b = ANS(S_SEED7B), *c = ANS(S_SEED8), *g = ANS(p->ref);
    char n[32];
    (void)p;
    if (!same_text(a, b)) {
        *ev = diff_text("seed 7 twice: differs", a, b);
        return CF_IGNORED;
    }
    if (same_text(a, c)) {
        if (same_text(a, g)) {
            *ev = cf_msgf("temperature 1 gives the greedy text for seeds 7 and 8: no randomness to seed");
            return CF_UNTESTABLE;
        }
        *ev = cf_msgf("seeds 7 and 8 give the same sampled text (%s): the seed changes nothing",
                      size_of(n, sizeof n, &r->ans[S_SEED7A]));
        return CF_IGNORED;
    }
    char *d = diff_text("seed 8 differs", a, c);
    *ev = d ? cf_msgf("seed 7 twice: the same text (%s); %s", size_of(n, sizeof n, &r->ans[S_SEED7A]), d) : NULL;
    free(d);
    return CF_HONOURED;
}

/* top_p tiny, top_k 1, min_p high at temperature 1 and seed 7 leave only
 * the most likely token: the greedy text. The control is seed 7 without
 * the parameter, which must differ from greedy for this to prove anything. */
static cf_verdict judge_greedy_sample(const run *r, const probe_row *p, char **ev) {
    const cf_choice *s = ANS(p->shot), *g = ANS(p->ref), *c = ANS(p->ctl);
    if (same_text(c, g)) {
        *ev = cf_msgf("temperature 1 with seed 7 gives the greedy text without %s too: no evidence", p->param);
        return CF_UNTESTABLE;
    }
    size_t d = first_diff(c->text, c->len, g->text, g->len);
    if (same_text(s, g)) {
        *ev = cf_msgf("the greedy text (seed 7 without %s differs from it at char %zu)", p->param, d);
        return CF_HONOURED;
    }
    if (same_text(s, c)) {
        *ev = cf_msgf("the text of seed 7 without %s, which differs from greedy at char %zu", p->param, d);
        return CF_IGNORED;
    }
    char *e = diff_text("not the greedy text: differs", g, s);
    if (!r->seed_honoured) {
        /* it did not force the greedy text; whether it did something else
         * cannot be told when seed 7 is no fixed draw */
        *ev = e ? cf_msgf("%s (the seed is not honoured, so it is not compared with seed 7's text)", e) : NULL;
        free(e);
        return CF_IGNORED;
    }
    *ev = e ? cf_msgf("%s (nor the text of seed 7 without %s)", e, p->param) : NULL;
    free(e);
    return CF_WRONG;
}

/* max_tokens / max_completion_tokens K: at most K tokens, a prefix of the
 * reference (BASE_TOKENS long). */
static cf_verdict judge_max_tokens(const run *r, const probe_row *p, char **ev) {
    const cf_answer *a = &r->ans[p->shot], *ga = &r->ans[p->ref];
    const cf_choice *s = ANS(p->shot), *g = ANS(p->ref);
    int k = shots[p->shot].k;
    char q[QMAX], n[32];
    if (ga->completion_tokens >= 0 && ga->completion_tokens <= k) {
        *ev = cf_msgf("the reference answer itself has only %lld tokens", ga->completion_tokens);
        return CF_UNTESTABLE;
    }
    if (a->completion_tokens > k || same_text(s, g)) {
        *ev = cf_msgf("%s %d: %s, not cut", p->param, k, size_of(n, sizeof n, a));
        return CF_IGNORED;
    }
    if (!is_prefix(s, g)) {
        *ev = diff_text("not a prefix of the uncut answer: differs", g, s);
        return CF_WRONG;
    }
    char qf[LL_QUOTE_MAX];
    *ev = cf_msgf("%s %d: %s, %s, finish_reason %s", p->param, k, size_of(n, sizeof n, a), qt(q, s->text, s->len),
                  s->finish_reason ? ll_quote(qf, s->finish_reason, strlen(s->finish_reason)) : "missing");
    return CF_HONOURED;
}

/* stop: the greedy text up to the stop string's first occurrence, without it. */
static cf_verdict judge_stop(const run *r, const probe_row *p, char **ev) {
    const cf_choice *s = ANS(p->shot), *g = ANS(p->ref);
    char qs[QMAX], qf[LL_QUOTE_MAX];
    const char *stop = qt(qs, r->stop, r->stop_len);
    size_t end = r->stop_at + r->stop_len; /* the greedy text up to the stop string's end */
    bool cut = s->len == r->stop_at && !memcmp(s->text, g->text, s->len);
    bool with = s->len == end && !memcmp(s->text, g->text, s->len);
    const char *fr = s->finish_reason ? ll_quote(qf, s->finish_reason, strlen(s->finish_reason)) : "missing";
    if (cut && !strcmp(fr, "stop")) {
        *ev = cf_msgf("stop %s (char %zu of the greedy text): cut there, not included, finish_reason stop", stop,
                      r->stop_at);
        return CF_HONOURED;
    }
    if (cut || with) {
        *ev = cf_msgf("stop %s: cut at char %zu%s, finish_reason %s", stop, s->len,
                      with ? ", the stop string included" : "", fr);
        return CF_WRONG;
    }
    if (s->len > end && !memcmp(s->text, g->text, end)) {
        *ev = cf_msgf("stop %s: not cut, the text goes on past char %zu to %zu bytes", stop, end, s->len);
        return CF_IGNORED;
    }
    char *d = diff_text("differs from the greedy text", g, s);
    *ev = d ? cf_msgf("stop %s: %s, before the stop string", stop, d) : NULL;
    free(d);
    return CF_WRONG;
}

static cf_verdict judge_n(const run *r, const probe_row *p, char **ev) {
    const cf_answer *a = &r->ans[p->shot];
    size_t k = (size_t)shots[p->shot].k;
    uint64_t seen = 0;
    bool distinct = a->n_choices == k;
    for (size_t i = 0; distinct && i < a->n_choices; i++) {
        long long x = a->choices[i].index;
        distinct = x >= 0 && (size_t)x < k && !(seen >> x & 1);
        if (distinct) seen |= 1ull << x;
    }
    if (a->n_choices == 1) {
        *ev = cf_msgf("n %zu: 1 choice", k);
        return CF_IGNORED;
    }
    if (!distinct) {
        *ev = cf_msgf("n %zu: %zu choices, indices not 0..%zu each once", k, a->n_choices, k - 1);
        return CF_WRONG;
    }
    *ev = cf_msgf("n %zu: %zu choices, indices 0..%zu each once", k, a->n_choices, k - 1);
    return CF_HONOURED;
}

/* logprobs K / top_logprobs K: for every token, K alternatives (K+1 when
 * the chosen one is added), their probabilities sum to at most 1, and the
 * chosen token is in the list with the same logprob or, absent, no more
 * likely than any listed. (That it is the most likely, as temperature 0
 * wants, is the temperature probe's question.) */
static cf_verdict judge_logprobs(const run *r, const probe_row *p, char **ev) {
    const cf_answer *a = &r->ans[p->shot];
    const cf_choice *c = ANS(p->shot);
    size_t k = (size_t)shots[p->shot].k;
    const double tol = 1e-4;
    char q[QMAX];
    if (!c->has_logprobs) {
        *ev = cf_msgf("%s %zu: the answer has no logprobs", p->param, k);
        return CF_IGNORED;
    }
    if (c->n_lp == 0 || (a->completion_tokens >= 0 && (long long)c->n_lp != a->completion_tokens)) {
        *ev = cf_msgf("%zu tokens with logprobs for %lld generated", c->n_lp, a->completion_tokens);
        return CF_WRONG;
    }
    double lo = 2, hi = -1;
    for (size_t i = 0; i < c->n_lp; i++) {
        const cf_logprob *x = &c->lp[i];
        const char *t = qt(q, x->token, x->len);
        if (!(x->logprob <= tol)) {
            *ev = cf_msgf("token %zu %s: logprob %g is not <= 0", i, t, x->logprob);
            return CF_WRONG;
        }
        if (x->n_top == 0 || x->n_top > k + 1) {
            *ev = cf_msgf("token %zu %s: %zu alternatives for %s %zu", i, t, x->n_top, p->param, k);
            return CF_WRONG;
        }
        double mass = 0, worst = INFINITY, own = NAN;
        for (size_t j = 0; j < x->n_top; j++) {
            double lp = x->top[j].logprob;
            if (!(lp <= tol)) {
                *ev = cf_msgf("token %zu %s: alternative %zu has logprob %g, not <= 0", i, t, j, lp);
                return CF_WRONG;
            }
            mass += exp(lp);
            if (lp < worst) worst = lp;
            if (x->top[j].len == x->len && !memcmp(x->top[j].token, x->token, x->len) && isnan(own)) own = lp;
        }
        if (mass > 1 + 1e-3) {
            *ev = cf_msgf("token %zu %s: the alternatives' probabilities sum to %.4f > 1", i, t, mass);
            return CF_WRONG;
        }
        if (isnan(own) ? x->logprob > worst + tol : fabs(own - x->logprob) > tol) {
            *ev = isnan(own)
                      ? cf_msgf("token %zu %s: logprob %g, not in its top list although more likely than %g there", i,
                                t, x->logprob, worst)
                      : cf_msgf("token %zu %s: logprob %g, but %g in its top list", i, t, x->logprob, own);
            return CF_WRONG;
        }
        lo = LL_MIN(lo, mass);
        hi = LL_MAX(hi, mass);
    }
    *ev = cf_msgf("%zu tokens, %zu alternatives each: listed mass %.3f..%.3f (<= 1); the chosen tokens' logprobs "
                  "agree with the lists",
                  c->n_lp, k, lo, hi);
    return CF_HONOURED;
}

/* A token that occurs twice in the greedy continuation (what a penalty
 * must change); its index in cont, or -1. */
static long repeated_token(const run *r, size_t *count) {
    for (size_t i = 0; i < r->cont.n; i++) {
        size_t c = 0;
        for (size_t j = 0; j < r->cont.n; j++) c += r->cont.ids[j] == r->cont.ids[i];
        if (c > 1) {
            *count = c;
            return (long)i;
        }
    }
    return -1;
}

static cf_verdict judge_penalty(const run *r, const probe_row *p, char **ev) {
    const cf_choice *s = ANS(p->shot), *g = ANS(p->ref);
    size_t count = 0;
    long rep = r->cont.n ? repeated_token(r, &count) : -1;
    char t[QMAX + 32], w[QMAX + 64] = "";
    if (rep >= 0)
        ll_bufprintf(w, sizeof w, "the greedy text repeats %s %zux; ", tok_ref(t, sizeof t, r, (size_t)rep), count);
    if (!same_text(s, g)) {
        char *d = diff_text("with it the text differs", g, s);
        *ev = d ? cf_msgf("%s%s", w, d) : NULL;
        free(d);
        return CF_HONOURED;
    }
    if (r->cont.n && rep < 0) {
        *ev = cf_msgf("the greedy text repeats no token: nothing to penalise");
        return CF_UNTESTABLE;
    }
    *ev = cf_msgf("%swith it the greedy text unchanged", w);
    return CF_IGNORED;
}

static cf_verdict judge_ban(const run *r, const probe_row *p, char **ev) {
    const cf_choice *s = ANS(p->shot), *g = ANS(p->ref);
    char t[QMAX + 32];
    tok_ref(t, sizeof t, r, 0);
    if (same_text(s, g)) {
        *ev = cf_msgf("-100 on %s, the greedy first token: the greedy text still", t);
        return CF_IGNORED;
    }
    char *d = diff_text("differs", g, s);
    *ev = d ? cf_msgf("-100 on %s, the greedy first token: the text %s", t, d) : NULL;
    free(d);
    return CF_HONOURED;
}

/* +100 on a token of the greedy text (not its first): every token is that one. */
static cf_verdict judge_force(const run *r, const probe_row *p, char **ev) {
    const cf_answer *a = &r->ans[p->shot];
    const cf_choice *s = ANS(p->shot), *g = ANS(p->ref);
    const char *piece = r->cont.pieces[r->b_at];
    size_t plen = r->cont.piece_len[r->b_at];
    char t[QMAX + 32], q[QMAX], n[32];
    tok_ref(t, sizeof t, r, r->b_at);
    if (same_text(s, g) || is_prefix(s, g)) {
        *ev = cf_msgf("+100 on %s: the greedy text still", t);
        return CF_IGNORED;
    }
    if (!piece) { /* no piece from /tokenize: the shortest period of the text */
        for (plen = 1; plen <= s->len / 2; plen++)
            if (s->len % plen == 0 && !memcmp(s->text, s->text + plen, s->len - plen)) break;
        piece = s->text;
    }
    size_t reps = plen && s->len % plen == 0 ? s->len / plen : 0;
    for (size_t i = 0; reps && i < reps; i++)
        if (memcmp(s->text + i * plen, piece, plen) != 0) reps = 0;
    bool count_ok = a->completion_tokens < 0 || (long long)reps == a->completion_tokens;
    if (reps < 2 || !count_ok) {
        *ev =
            cf_msgf("+100 on %s: %s (%s), not that token repeated", t, qt(q, s->text, s->len), size_of(n, sizeof n, a));
        return CF_WRONG;
    }
    *ev = cf_msgf("+100 on %s: %s, that token %zu times", t, qt(q, s->text, s->len), reps);
    return CF_HONOURED;
}

static cf_verdict judge_echo(const run *r, const probe_row *p, char **ev) {
    const cf_choice *s = ANS(p->shot), *g = ANS(p->ref);
    size_t pn = strlen(r->prompt);
    char q[QMAX];
    if (s->len >= pn && !memcmp(s->text, r->prompt, pn)) {
        cf_choice rest = {.text = s->text + pn, .len = s->len - pn};
        if (!is_prefix(&rest, g)) {
            *ev = diff_text("the prompt, then a text that differs from the greedy one", g, &rest);
            return CF_WRONG;
        }
        *ev = cf_msgf("the answer starts with the prompt %s, then the greedy text", qt(q, r->prompt, pn));
        return CF_HONOURED;
    }
    if (is_prefix(s, g)) {
        *ev = cf_msgf("the greedy text without the prompt");
        return CF_IGNORED;
    }
    *ev = cf_msgf("neither the prompt nor the greedy text: %s", qt(q, s->text, s->len));
    return CF_WRONG;
}

#define BIT(s) (1u << (s))

/* The first row is the temperature probe, which the greedy rows need. */
static const probe_row probes[] = {
    {.name = "temperature 0",
     .param = "temperature",
     .sends = "temperature 0 twice (and the logprobs request)",
     .judges = "the same text twice, each token the most likely by the logprobs",
     .shot = S_GREEDY2,
     .ref = S_GREEDY,
     .aux = S_LOGPROBS,
     .judge = judge_temperature},
    {.name = "seed",
     .param = "seed",
     .sends = "temperature 1 with seed 7 twice, seed 8 once",
     .judges = "seed 7 gives the same text twice, seed 8 another",
     .shot = S_SEED8,
     .extra = BIT(S_SEED7A) | BIT(S_SEED7B),
     .ref = S_GREEDY,
     .judge = judge_seed},
    {.name = "top_p",
     .param = "top_p",
     .sends = "top_p 0.001 at temperature 1, seed 7",
     .judges = "the answer is the greedy text (seed 7 alone is not)",
     .shot = S_TOP_P,
     .ref = S_GREEDY,
     .ctl = S_SEED7A,
     .greedy = true,
     .judge = judge_greedy_sample},
    {.name = "top_k",
     .param = "top_k",
     .sends = "top_k 1 at temperature 1, seed 7 (extension)",
     .judges = "the answer is the greedy text (seed 7 alone is not)",
     .shot = S_TOP_K,
     .ref = S_GREEDY,
     .ctl = S_SEED7A,
     .greedy = true,
     .judge = judge_greedy_sample},
    {.name = "min_p",
     .param = "min_p",
     .sends = "min_p 0.999 at temperature 1, seed 7 (extension)",
     .judges = "the answer is the greedy text (seed 7 alone is not)",
     .shot = S_MIN_P,
     .ref = S_GREEDY,
     .ctl = S_SEED7A,
     .greedy = true,
     .judge = judge_greedy_sample},
    {.name = "max_tokens",
     .param = "max_tokens",
     .sends = "max_tokens 3 at temperature 0",
     .judges = "at most 3 tokens, a prefix of the greedy text",
     .shot = S_MAX_TOKENS,
     .ref = S_GREEDY,
     .greedy = true,
     .judge = judge_max_tokens},
    {.name = "max_completion_tokens",
     .param = "max_completion_tokens",
     .sends = "chat, max_completion_tokens 3 (no max_tokens)",
     .judges = "at most 3 tokens, a prefix of the greedy chat answer",
     .shot = S_CHAT_MCT,
     .ref = S_CHAT,
     .greedy = true,
     .judge = judge_max_tokens},
    {.name = "stop",
     .param = "stop",
     .sends = "stop = 4 bytes of the greedy text, temperature 0",
     .judges = "the greedy text up to the stop string, without it, finish_reason stop",
     .shot = S_STOP,
     .ref = S_GREEDY,
     .greedy = true,
     .judge = judge_stop},
    {.name = "n",
     .param = "n",
     .sends = "n 3 at temperature 1",
     .judges = "3 choices with indices 0, 1, 2",
     .shot = S_N,
     .ref = S_GREEDY,
     .judge = judge_n},
    {.name = "logprobs",
     .param = "logprobs",
     .sends = "logprobs 3 at temperature 0",
     .judges = "3 alternatives per token summing to <= 1; the chosen token's logprob agrees with its list",
     .shot = S_LOGPROBS,
     .ref = S_GREEDY,
     .judge = judge_logprobs},
    {.name = "top_logprobs",
     .param = "top_logprobs",
     .sends = "chat, logprobs true, top_logprobs 3 at temperature 0",
     .judges = "the same checks as logprobs",
     .shot = S_CHAT_LOGPROBS,
     .ref = S_CHAT,
     .judge = judge_logprobs},
    {.name = "presence_penalty",
     .param = "presence_penalty",
     .sends = "presence_penalty 2 at temperature 0",
     .judges = "the greedy text changes (it repeats a token)",
     .shot = S_PRESENCE,
     .ref = S_GREEDY,
     .greedy = true,
     .judge = judge_penalty},
    {.name = "frequency_penalty",
     .param = "frequency_penalty",
     .sends = "frequency_penalty 2 at temperature 0",
     .judges = "the greedy text changes (it repeats a token)",
     .shot = S_FREQUENCY,
     .ref = S_GREEDY,
     .greedy = true,
     .judge = judge_penalty},
    {.name = "repetition_penalty",
     .param = "repetition_penalty",
     .sends = "repetition_penalty 1.5 at temperature 0 (extension)",
     .judges = "the greedy text changes (it repeats a token)",
     .shot = S_REPETITION,
     .ref = S_GREEDY,
     .greedy = true,
     .judge = judge_penalty},
    {.name = "logit_bias -100",
     .param = "logit_bias",
     .sends = "logit_bias -100 on the greedy first token (id from /tokenize)",
     .judges = "the answer is no longer the greedy text",
     .shot = S_BAN,
     .ref = S_GREEDY,
     .greedy = true,
     .judge = judge_ban},
    {.name = "logit_bias +100",
     .param = "logit_bias",
     .sends = "logit_bias +100 on another token of the greedy text, max_tokens 6",
     .judges = "the answer is that token 6 times",
     .shot = S_FORCE,
     .ref = S_GREEDY,
     .greedy = true,
     .judge = judge_force},
    {.name = "echo",
     .param = "echo",
     .sends = "echo true at temperature 0, max_tokens 4",
     .judges = "the answer is the prompt, then the greedy text",
     .shot = S_ECHO,
     .ref = S_GREEDY,
     .greedy = true,
     .judge = judge_echo},
};
#define N_PROBES LL_ARRAY_LEN(probes)

const char *cf_verdict_name(cf_verdict v) {
    static const char *const names[] = {"honoured", "ignored", "wrong", "error", "not testable"};
    return (unsigned)v < LL_ARRAY_LEN(names) ? names[v] : "?";
}

size_t cf_max_requests(void) { return S_COUNT - 1 + EXTRA_REQUESTS; }

void cf_print_probes(FILE *f) {
    for (size_t i = 0; i < N_PROBES; i++)
        fprintf(f, "  %-22s sends %s;\n  %-22s honoured when %s\n", probes[i].name, probes[i].sends, "",
                probes[i].judges);
}

/* A probe's verdict: its own requests first (refused: error; not sent:
 * not testable), then its references and temperature 0 where it compares
 * with greedy answers, then the judge. */
static void judge_probe(const run *r, const probe_row *p, const cf_result *temperature, cf_result *res) {
    res->name = p->name;
    res->param = p->param;
    res->sends = p->sends;
    res->judges = p->judges;
    uint32_t own = BIT(p->shot) | p->extra, refs = (BIT(p->ref) | BIT(p->ctl)) & ~BIT(S_NONE);
    for (int s = 1; s < S_COUNT; s++) {
        const cf_answer *a = &r->ans[s];
        if (!(own >> s & 1) || a->ok) continue;
        res->verdict = a->status < 0 ? CF_UNTESTABLE : CF_ERROR;
        res->evidence = cf_msgf("%s", a->error ? a->error : "out of memory");
        return;
    }
    for (int s = 1; s < S_COUNT; s++) {
        const cf_answer *a = &r->ans[s];
        if (!(refs >> s & 1) || a->ok) continue;
        res->verdict = CF_UNTESTABLE;
        res->evidence = cf_msgf("the reference request failed: %s", a->error ? a->error : "out of memory");
        return;
    }
    if (p->greedy && temperature->verdict != CF_HONOURED) {
        res->verdict = CF_UNTESTABLE;
        res->evidence = cf_msgf("it is judged against temperature 0 answers, and temperature 0 is %s",
                                cf_verdict_name(temperature->verdict));
        return;
    }
    res->verdict = p->judge(r, p, &res->evidence);
}

/* ---- building a request ---- */

/* A copy of the template with "$A", "$B", "$STOP", "$K" filled in (as keys
 * too); NULL with *why when one is not known. */
static json_t *fill(const run *r, const json_t *v, int k, char **why) {
    if (json_is_string(v) && json_string_value(v)[0] == '$') {
        const char *name = json_string_value(v) + 1;
        if (!strcmp(name, "K")) return json_integer(k);
        if (!strcmp(name, "STOP")) {
            if (!r->stop) *why = cf_msgf("not sent: no stop string (%s)", r->stop_why ? r->stop_why : "?");
            return r->stop ? json_stringn(r->stop, r->stop_len) : NULL;
        }
        *why = cf_msgf("not sent: unknown placeholder $%s in the request table", name);
        return NULL;
    }
    if (!json_is_object(v)) return json_deep_copy(v);
    json_t *o = json_object();
    const char *key;
    json_t *x;
    json_object_foreach((json_t *)v, key, x) {
        char id[32];
        const char *name = key;
        if (key[0] == '$') {
            if (!r->cont.n) {
                *why = cf_msgf("not sent: token ids unknown (%s)", r->cont_why ? r->cont_why : "?");
                json_decref(o);
                return NULL;
            }
            name = ll_bufprintf(id, sizeof id, "%lld", !strcmp(key, "$A") ? r->a_id : r->b_id);
        }
        json_t *y = fill(r, x, k, why);
        if (!y) {
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, name, y);
    }
    return o;
}

static char *request_body(const run *r, int s, char **why) {
    const shot_row *row = &shots[s];
    json_t *body = json_object(), *tmpl = json_loads(row->fields, 0, NULL);
    json_object_set_new(body, "model", json_string(r->model));
    if (row->chat) {
        json_t *msg = json_object(), *msgs = json_array();
        json_object_set_new(msg, "role", json_string("user"));
        json_object_set_new(msg, "content", json_string(r->prompt));
        json_array_append_new(msgs, msg);
        json_object_set_new(body, "messages", msgs);
    } else {
        json_object_set_new(body, "prompt", json_string(r->prompt));
    }
    json_object_set_new(body, "max_tokens", json_integer(BASE_TOKENS));
    if (!tmpl) *why = cf_msgf("not sent: the request table's template does not parse");
    json_t *f = tmpl ? fill(r, tmpl, row->k, why) : NULL;
    char *text = NULL;
    if (f) {
        const char *key;
        json_t *x;
        json_object_foreach(f, key, x) {
            if (json_is_null(x))
                json_object_del(body, key);
            else
                json_object_set(body, key, x);
        }
        text = json_dumps(body, JSON_COMPACT);
    }
    if (!text && !*why) *why = cf_msgf("not sent: out of memory");
    json_decref(f);
    json_decref(tmpl);
    json_decref(body);
    return text;
}

static void send_shot(run *r, int s) {
    char *why = NULL, *resp = NULL;
    size_t len = 0;
    char *body = request_body(r, s, &why);
    long status = -1;
    if (body) {
        char url[2200];
        ll_bufprintf(url, sizeof url, "%s%s", r->api, shots[s].chat ? "/chat/completions" : "/completions");
        status = r->send(r, url, body, &resp, &len, &why);
    }
    if (status > 0)
        cf_answer_parse(&r->ans[s], status, resp ? resp : "", len, shots[s].chat);
    else {
        memset(&r->ans[s], 0, sizeof r->ans[s]);
        r->ans[s].status = status;
        r->ans[s].completion_tokens = -1;
        r->ans[s].error = why ? why : cf_msgf("out of memory");
        why = NULL;
    }
    free(why);
    free(resp);
    free(body);
}

/* ---- what the greedy answer teaches ---- */

/* POST /tokenize {field: text, "with_pieces": true}; NULL with *why. */
static bool tokenize(run *r, const char *field, const char *text, cf_tokens *t, char **why) {
    json_t *o = json_object();
    json_object_set_new(o, field, json_string(text));
    json_object_set_new(o, "with_pieces", json_true());
    char *body = json_dumps(o, JSON_COMPACT), *resp = NULL, url[2200];
    json_decref(o);
    size_t len = 0;
    bool ok = false;
    ll_bufprintf(url, sizeof url, "%s/tokenize", r->root);
    long status = body ? r->send(r, url, body, &resp, &len, why) : 0;
    if (status == 200)
        ok = cf_tokens_parse(t, resp, len, why);
    else if (status > 0)
        *why = cf_msgf("/tokenize answered HTTP %ld", status);
    else if (!*why)
        *why = cf_msgf("out of memory");
    free(resp);
    free(body);
    return ok;
}

/* The greedy continuation's tokens: /tokenize(prompt + answer) past
 * /tokenize(prompt), when the first extends the second. */
static void learn_tokens(run *r) {
    const cf_choice *g = ANS(S_GREEDY);
    cf_tokens tp = {0}, tg = {0};
    char *why = NULL, *all = NULL;
    const char *field = "content"; /* llama.cpp's and logitlab's; vLLM's is "prompt" */
    if (!tokenize(r, field, r->prompt, &tp, &why)) {
        free(why);
        why = NULL;
        field = "prompt";
        if (!tokenize(r, field, r->prompt, &tp, &why)) goto done;
    }
    if (memchr(g->text, 0, g->len)) {
        why = cf_msgf("the greedy text holds a NUL byte");
        goto done;
    }
    size_t pn = strlen(r->prompt);
    if (!(all = malloc(pn + g->len + 1))) goto done;
    memcpy(all, r->prompt, pn);
    memcpy(all + pn, g->text, g->len + 1);
    if (!tokenize(r, field, all, &tg, &why)) goto done;
    bool prefix = tp.n < tg.n;
    for (size_t i = 0; prefix && i < tp.n; i++) prefix = tp.ids[i] == tg.ids[i];
    if (!prefix) {
        why = cf_msgf("the tokens of prompt + answer do not extend the prompt's");
        goto done;
    }
    /* cont = tg past the prompt's tokens */
    size_t n = tg.n - tp.n;
    memmove(tg.ids, tg.ids + tp.n, n * sizeof *tg.ids);
    for (size_t i = 0; i < tp.n; i++) free(tg.pieces[i]);
    memmove(tg.pieces, tg.pieces + tp.n, n * sizeof *tg.pieces);
    memmove(tg.piece_len, tg.piece_len + tp.n, n * sizeof *tg.piece_len);
    tg.n = n;
    r->cont = tg;
    tg = (cf_tokens){0};
    r->a_id = r->cont.ids[0];
    for (size_t i = 1; i < r->cont.n; i++)
        if (r->cont.ids[i] != r->a_id) {
            r->b_id = r->cont.ids[i];
            r->b_at = i;
            break;
        }
    if (r->b_at == 0) {
        cf_tokens_free(&r->cont);
        why = cf_msgf("the greedy text has a single distinct token");
    }
done:
    if (!r->cont.n)
        r->cont_why = why ? why : cf_msgf("out of memory");
    else
        free(why);
    free(all);
    cf_tokens_free(&tp);
    cf_tokens_free(&tg);
}

/* A stop string from the greedy text: 4 bytes from the first space past
 * its first third (a word start), cut where its first occurrence is. */
static void learn_stop(run *r) {
    const cf_choice *g = ANS(S_GREEDY);
    if (g->len < 12) {
        r->stop_why = cf_msgf("the greedy text has only %zu bytes", g->len);
        return;
    }
    size_t p = g->len / 3;
    while (p < g->len && g->text[p] != ' ') p++;
    if (p + 4 > g->len) p = g->len / 3;
    while (p > 0 && ((unsigned char)g->text[p] & 0xC0) == 0x80) p--; /* a character's start */
    size_t e = p + 4;
    while (e < g->len && ((unsigned char)g->text[e] & 0xC0) == 0x80) e++;
    if (e > g->len) e = g->len;
    size_t at = find(g->text, g->len, g->text + p, e - p);
    if (at == 0 || memchr(g->text + p, 0, e - p)) {
        r->stop_why = cf_msgf("no piece of the greedy text fits (it starts with its own stop candidate or holds NUL)");
        return;
    }
    if (!(r->stop = malloc(e - p + 1))) return;
    memcpy(r->stop, g->text + p, e - p);
    r->stop[e - p] = '\0';
    r->stop_len = e - p;
    r->stop_at = at;
}

/* GET /models: the first model's id. */
static char *first_model(run *r, char **why) {
    char url[2200], *resp = NULL, *id = NULL;
    size_t len = 0;
    ll_bufprintf(url, sizeof url, "%s/models", r->api);
    long status = r->send(r, url, NULL, &resp, &len, why);
    if (status <= 0) goto done;
    json_t *root = status == 200 ? json_loadb(resp, len, 0, NULL) : NULL;
    const json_t *m = json_object_get(json_array_get(json_object_get(root, "data"), 0), "id");
    if (json_is_string(m) && json_string_length(m) > 0 && json_string_length(m) <= 256 &&
        strlen(json_string_value(m)) == json_string_length(m)) {
        if (!(id = strdup(json_string_value(m)))) *why = cf_msgf("out of memory");
    } else
        *why = cf_msgf("GET %s answered HTTP %ld without data[0].id (a string of 1 to 256 bytes): give --model", url,
                       status);
    json_decref(root);
done:
    free(resp);
    return id;
}

/* ---- transport ---- */

typedef struct {
    char *buf;
    size_t len, cap;
    bool over;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *user) {
    sink *s = user;
    size_t add = size * n;
    if (add > CF_MAX_BODY - s->len) {
        s->over = true;
        return 0; /* aborts the transfer */
    }
    if (s->len + add + 1 > s->cap) {
        size_t cap = LL_MAX(s->cap * 2, s->len + add + 1);
        char *b = realloc(s->buf, cap);
        if (!b) return 0;
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, add);
    s->len += add;
    s->buf[s->len] = '\0';
    return add;
}

static long send_http(run *r, const char *url, const char *body, char **resp, size_t *len, char **why) {
    sink s = {0};
    long status = 0;
    long ms = (long)(r->o->timeout_s * 1000);
    curl_easy_setopt(r->curl, CURLOPT_URL, url);
    curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, LL_MIN(ms, 10000L));
    curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(r->curl, CURLOPT_HTTPGET, 1L);
    }
    r->n_requests++;
    CURLcode rc = curl_easy_perform(r->curl);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
        *resp = s.buf;
        *len = s.len;
        return status;
    }
    free(s.buf);
    *why = s.over ? cf_msgf("no answer: %s sent more than %u bytes", url, CF_MAX_BODY)
                  : cf_msgf("no answer from %s: %s", url, curl_easy_strerror(rc));
    return 0;
}

static long send_offline(run *r, const char *url, const char *body, char **resp, size_t *len, char **why) {
    (void)url;
    (void)body;
    r->n_requests++;
    if (r->next_body >= r->n_bodies) {
        *why = cf_msgf("no answer: no more bodies");
        return 0;
    }
    size_t i = r->next_body++, n = r->lens[i];
    if (!(*resp = malloc(n + 1))) return 0;
    memcpy(*resp, r->bodies[i], n);
    (*resp)[n] = '\0';
    *len = n;
    return 200;
}

/* ---- the run ---- */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static void run_free(run *r) {
    for (int s = 1; s < S_COUNT; s++) cf_answer_free(&r->ans[s]);
    cf_tokens_free(&r->cont);
    free(r->cont_why);
    free(r->stop);
    free(r->stop_why);
    free(r->api);
    free(r->root);
    free(r->model);
    if (r->headers) curl_slist_free_all(r->headers);
    if (r->curl) curl_easy_cleanup(r->curl);
}

/* The probes after the greedy answer; 1 with *err when it is unusable. */
static int run_probes(run *r, cf_report *rep, char **err) {
    double t0 = now_s();
    if (!r->model && !(r->model = first_model(r, err))) return 1;
    send_shot(r, S_GREEDY);
    if (!r->ans[S_GREEDY].ok) {
        *err = cf_msgf("the base request (temperature 0, max_tokens %d) failed: %s", BASE_TOKENS,
                       r->ans[S_GREEDY].error ? r->ans[S_GREEDY].error : "out of memory");
        return 1;
    }
    learn_tokens(r);
    learn_stop(r);
    for (int s = 1; s < S_COUNT; s++)
        if (s != S_GREEDY) send_shot(r, s);
    rep->results = calloc(N_PROBES, sizeof *rep->results);
    rep->model = strdup(r->model);
    rep->url = strdup(r->api);
    if (!rep->results || !rep->model || !rep->url) {
        *err = cf_msgf("out of memory");
        return 1;
    }
    for (size_t i = 0; i < N_PROBES; i++) {
        judge_probe(r, &probes[i], &rep->results[0], &rep->results[i]);
        if (probes[i].judge == judge_seed) r->seed_honoured = rep->results[i].verdict == CF_HONOURED;
        rep->n_results++;
    }
    rep->n_requests = r->n_requests;
    rep->seconds = now_s() - t0;
    return 0;
}

/* The URL: http(s)://, printable, no trailing '/'; the root drops a final /v1. */
static bool set_urls(run *r, const char *url, char **err) {
    char q[LL_QUOTE_MAX];
    size_t n = strlen(url);
    bool printable = true;
    for (size_t i = 0; i < n; i++) printable &= (unsigned char)url[i] > 0x20 && (unsigned char)url[i] < 0x7f;
    if ((strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) || !printable || n > 2000) {
        *err = cf_msgf("--url '%s': valid is http://HOST:PORT/v1 or https://... (printable, at most 2000 bytes)",
                       ll_quote(q, url, n));
        return false;
    }
    while (n > 8 && url[n - 1] == '/') n--;
    r->api = strndup(url, n);
    size_t root = n >= 3 && !memcmp(url + n - 3, "/v1", 3) ? n - 3 : n;
    r->root = strndup(url, root);
    if (!r->api || !r->root) *err = cf_msgf("out of memory");
    return r->api && r->root;
}

int cf_run(const cf_options *o, cf_report *rep, char **err) {
    run r = {.o = o, .send = send_http, .prompt = o->prompt ? o->prompt : CF_DEFAULT_PROMPT};
    int rc = 2;
    bool global = false;
    memset(rep, 0, sizeof *rep);
    *err = NULL;
    if (!set_urls(&r, o->url, err)) goto done;
    rc = 1;
    if (o->model && !(r.model = strdup(o->model))) goto oom;
    global = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    if (!global || !(r.curl = curl_easy_init())) {
        *err = cf_msgf("libcurl could not start");
        goto done;
    }
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(r.curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    r.headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!r.headers) goto oom;
    if (o->api_key) {
        char *h = cf_msgf("Authorization: Bearer %s", o->api_key);
        struct curl_slist *l = h ? curl_slist_append(r.headers, h) : NULL;
        free(h);
        if (!l) goto oom;
        r.headers = l;
    }
    rc = run_probes(&r, rep, err);
    goto done;
oom:
    *err = cf_msgf("out of memory");
done:
    run_free(&r);
    if (global) curl_global_cleanup();
    if (rc) cf_report_free(rep);
    return rc;
}

void cf_judge_bodies(const char *const *bodies, const size_t *lens, size_t n, cf_report *rep) {
    static const cf_options o = {.url = "http://offline/v1", .timeout_s = 1};
    run r = {.o = &o, .send = send_offline, .prompt = CF_DEFAULT_PROMPT, .bodies = bodies, .lens = lens, .n_bodies = n};
    char *err = NULL;
    memset(rep, 0, sizeof *rep);
    if (set_urls(&r, o.url, &err) && run_probes(&r, rep, &err) != 0) cf_report_free(rep);
    free(err);
    run_free(&r);
}

void cf_report_free(cf_report *rep) {
    for (size_t i = 0; i < rep->n_results; i++) free(rep->results[i].evidence);
    free(rep->results);
    free(rep->url);
    free(rep->model);
    memset(rep, 0, sizeof *rep);
}

/* ---- the report ---- */

void cf_report_print(const cf_report *rep, FILE *f) {
    size_t count[CF_UNTESTABLE + 1] = {0}, w = strlen("parameter");
    char q[LL_QUOTE_MAX];
    for (size_t i = 0; i < rep->n_results; i++) w = LL_MAX(w, strlen(rep->results[i].name));
    fprintf(f, "logitlab conform: %s, model '%s': %zu requests in %.1f s\n\n", rep->url,
            ll_quote(q, rep->model, strlen(rep->model)), rep->n_requests, rep->seconds);
    fprintf(f, "%-*s  %-12s  %s\n", (int)w, "parameter", "verdict", "evidence");
    for (size_t i = 0; i < rep->n_results; i++) {
        const cf_result *x = &rep->results[i];
        count[x->verdict]++;
        fprintf(f, "%-*s  %-12s  %s\n", (int)w, x->name, cf_verdict_name(x->verdict),
                x->evidence ? x->evidence : "(out of memory)");
    }
    fprintf(f, "\n");
    for (int v = 0; v <= CF_UNTESTABLE; v++)
        fprintf(f, "%s%zu %s", v ? ", " : "", count[v], cf_verdict_name((cf_verdict)v));
    fprintf(f, "\n");
}

bool cf_report_json(const cf_report *rep, FILE *f) {
    json_t *root = json_object(), *arr = json_array(), *sum = json_object();
    size_t count[CF_UNTESTABLE + 1] = {0};
    for (size_t i = 0; i < rep->n_results; i++) {
        const cf_result *x = &rep->results[i];
        json_t *o = json_object();
        count[x->verdict]++;
        json_object_set_new(o, "name", json_string(x->name));
        json_object_set_new(o, "parameter", json_string(x->param));
        json_object_set_new(o, "sends", json_string(x->sends));
        json_object_set_new(o, "judges", json_string(x->judges));
        json_object_set_new(o, "verdict", json_string(cf_verdict_name(x->verdict)));
        json_object_set_new(o, "evidence", x->evidence ? json_string(x->evidence) : json_null());
        json_array_append_new(arr, o);
    }
    for (int v = 0; v <= CF_UNTESTABLE; v++)
        json_object_set_new(sum, cf_verdict_name((cf_verdict)v), json_integer((json_int_t)count[v]));
    /* the model name is the server's: json_stringn refuses invalid UTF-8, null then */
    json_object_set_new(root, "url", json_string(rep->url));
    json_t *model = json_string(rep->model);
    json_object_set_new(root, "model", model ? model : json_null());
    json_object_set_new(root, "requests", json_integer((json_int_t)rep->n_requests));
    json_object_set_new(root, "max_requests", json_integer((json_int_t)cf_max_requests()));
    json_object_set_new(root, "seconds", json_real(rep->seconds));
    json_object_set_new(root, "summary", sum);
    json_object_set_new(root, "probes", arr);
    int rc = json_dumpf(root, f, JSON_INDENT(2));
    json_decref(root);
    return rc == 0 && fputc('\n', f) != EOF;
}
