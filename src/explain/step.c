/*
 * step.c - "step through the code on the numbers shown": each lesson's
 * arithmetic redone in double on the model's current logits, row by row,
 * with the line of the source that does it. The results agree with the
 * live demo (which runs the real chain) to the digits printed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../sampling/tables.h"
#include "explain_impl.h"

typedef struct {
    const ll_explain *e;
    int32_t *order; /* token ids by logit, highest first */
    double max, z;  /* max logit, sum of exp(logit - max) */
} dist;

typedef struct {
    float logit;
    int32_t id;
} keyed;

static int by_logit_desc(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
    return x->id < y->id ? -1 : 1;
}

static bool dist_init(dist *d, const ll_explain *e, ll_error *err) {
    d->e = e;
    d->order = ll_malloc(e->V * sizeof *d->order, err);
    keyed *k = ll_malloc(e->V * sizeof *k, err);
    if (!d->order || !k) {
        free(d->order);
        free(k);
        return false;
    }
    for (size_t i = 0; i < e->V; i++) k[i] = (keyed){e->logits[i], (int32_t)i};
    qsort(k, e->V, sizeof *k, by_logit_desc);
    for (size_t i = 0; i < e->V; i++) d->order[i] = k[i].id;
    free(k);
    d->max = e->logits[d->order[0]];
    d->z = 0;
    for (size_t i = 0; i < e->V; i++) d->z += exp((double)e->logits[i] - d->max);
    return true;
}

static double prob(const dist *d, int32_t id) { return exp((double)d->e->logits[id] - d->max) / d->z; }

static void label(const ll_explain *e, int32_t id, int cols) {
    char buf[96];
    size_t len = ll_token_to_bytes(e->tok, id, true, buf, sizeof buf);
    ll_term_token(&e->term, buf, len > sizeof buf ? sizeof buf : len, cols ? cols : -40);
}

static void say(const ll_explain *e, const char *text) { ll_term_wrap(&e->term, text, 2); }

static void step_temperature(const ll_explain *e, const dist *d, double T) {
    FILE *f = e->term.f;
    if (T <= 0) {
        say(e, "T = 0: temp_apply calls mask_all_but_first_max, which sets every logit but the first maximum "
               "to -inf; the only survivor gets probability 1.");
        fprintf(f, "  survivor: ");
        label(e, d->order[0], 0);
        fprintf(f, " (logit %.4f)\n", e->logits[d->order[0]]);
        return;
    }
    say(e, "temp_apply: c->ws->k->div(c->logit, c->size, s->t) divides every logit by T; the sampler's softmax "
           "then computes exp(x - max) and divides by the sum over all tokens.");
    double zt = 0, mt = d->max / T;
    for (size_t i = 0; i < e->V; i++) zt += exp((double)e->logits[i] / T - mt);
    fprintf(f, "  T = %g, max logit / T = %.4f, sum over the %zu tokens of exp(logit/T - max/T) = %.4f\n", T, mt, e->V, zt);
    fprintf(f, "  %-14s %10s %10s %12s %10s %10s\n", "token", "logit", "logit/T", "exp(.-max)", "p(T)", "p(T=1)");
    for (int i = 0; i < 8; i++) {
        int32_t id = d->order[i];
        double x = (double)e->logits[id] / T, ex = exp(x - mt);
        fputs("  ", f);
        label(e, id, 14);
        fprintf(f, " %10.4f %10.4f %12.6f %10.4f %10.4f\n", e->logits[id], x, ex, ex / zt, prob(d, id));
    }
}

static void step_top_k(const ll_explain *e, const dist *d, int k) {
    FILE *f = e->term.f;
    if (k <= 0 || (size_t)k >= e->V) {
        say(e, "k = 0 (or at least the vocabulary) is 'off' in llama.cpp: top_k_apply returns without a change.");
        return;
    }
    say(e, "top_k_apply: partial sort so the k highest logits come first, then c->size = k: the rest are simply "
           "no longer candidates. The survivors' probabilities are renormalised: p' = p / (sum of kept p).");
    double kept = 0;
    for (int i = 0; i < k; i++) kept += prob(d, d->order[i]);
    fprintf(f, "  sum of the %d kept probabilities = %.4f\n", k, kept);
    fprintf(f, "  %4s %-14s %10s %10s %6s %10s\n", "rank", "token", "logit", "p", "kept", "p'");
    int rows = k + 3 < 14 ? k + 3 : 14;
    for (int i = 0; i < rows; i++) {
        int32_t id = d->order[i];
        fprintf(f, "  %4d ", i + 1);
        label(e, id, 14);
        fprintf(f, " %10.4f %10.4f %6s ", e->logits[id], prob(d, id), i < k ? "yes" : "no");
        if (i < k) fprintf(f, "%10.4f\n", prob(d, id) / kept);
        else fputs("         -\n", f);
    }
}

static void step_top_p(const ll_explain *e, const dist *d, double p) {
    FILE *f = e->term.f;
    say(e, "top_p_llamacpp: sort by probability, add them up from the top, and keep tokens until the running sum "
           "reaches p (the token that crosses p stays); c->size becomes that count.");
    double cum = 0;
    fprintf(f, "  p = %g\n  %4s %-14s %10s %10s %6s\n", p, "rank", "token", "p", "cumul.", "kept");
    size_t cut = e->V;
    for (size_t i = 0; i < e->V && i < 40; i++) {
        int32_t id = d->order[i];
        double before = cum;
        cum += prob(d, id);
        bool kept = before < p || i == 0;
        if (!kept && cut == e->V) cut = i;
        if (i < 12 || (cut != e->V && i < cut + 2)) {
            fprintf(f, "  %4zu ", i + 1);
            label(e, id, 14);
            fprintf(f, " %10.4f %10.4f %6s\n", prob(d, id), cum, kept ? "yes" : "no");
        }
        if (cut != e->V && i >= cut + 1) break;
    }
    if (cut == e->V) fprintf(f, "  (more than 40 tokens are needed to reach p = %g)\n", p);
    else fprintf(f, "  -> %zu tokens kept\n", cut);
}

static void step_min_p(const ll_explain *e, const dist *d, double mp) {
    FILE *f = e->term.f;
    say(e, "min_p_llamacpp works on logits, without a softmax: thr = max_logit + log(min_p), and filter_ge keeps "
           "the logits >= thr. That is the same as p_i >= min_p * p_max, since p_i / p_max = exp(logit_i - max).");
    double thr = d->max + log(mp);
    fprintf(f, "  max logit %.4f + ln(%g) = threshold %.4f   (p_max %.4f x %g = %.4f)\n", d->max, mp, thr,
            prob(d, d->order[0]), mp, prob(d, d->order[0]) * mp);
    fprintf(f, "  %-14s %10s %10s %6s\n", "token", "logit", "p", "kept");
    int shown = 0;
    for (size_t i = 0; i < e->V && shown < 12; i++, shown++) {
        int32_t id = d->order[i];
        fputs("  ", f);
        label(e, id, 14);
        fprintf(f, " %10.4f %10.4f %6s\n", e->logits[id], prob(d, id), e->logits[id] >= thr ? "yes" : "no");
        if (e->logits[id] < thr && shown > 3) break;
    }
}

typedef struct {
    int32_t id;
    double score;
} scored;

static int by_score(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return x->id < y->id ? -1 : 1;
}

static void step_typical(const ll_explain *e, const dist *d, double tp, ll_error *err) {
    FILE *f = e->term.f;
    say(e, "typical_llamacpp: entropy H = -sum p ln p; each token's score is | -ln p - H |; sort by score "
           "(most typical first) and keep tokens until their probabilities add up to typical_p.");
    double H = 0;
    for (size_t i = 0; i < e->V; i++) {
        double p = prob(d, (int32_t)i);
        if (p > 0) H -= p * log(p);
    }
    scored *s = ll_malloc(e->V * sizeof *s, err);
    if (!s) return;
    for (size_t i = 0; i < e->V; i++) {
        double p = prob(d, (int32_t)i);
        s[i].id = (int32_t)i;
        s[i].score = p > 0 ? fabs(-log(p) - H) : INFINITY;
    }
    qsort(s, e->V, sizeof *s, by_score);
    if (tp >= 1.0) {
        say(e, "typical_p = 1 is 'off': the chain does not include the stage.");
        free(s);
        return;
    }
    fprintf(f, "  H = %.4f nats, typical_p = %g\n  %-14s %10s %10s %10s %10s %6s\n", H, tp, "token", "p", "-ln p",
            "|-ln p-H|", "cumul.", "kept");
    double cum = 0;
    for (size_t i = 0; i < e->V && i < 12; i++) {
        double p = prob(d, s[i].id), before = cum;
        cum += p;
        fputs("  ", f);
        label(e, s[i].id, 14);
        /* typical_llamacpp stops after the token whose running sum exceeds p */
        fprintf(f, " %10.4f %10.4f %10.4f %10.4f %6s\n", p, -log(p), s[i].score, cum, before <= tp ? "yes" : "no");
        if (before > tp && i > 3) break;
    }
    free(s);
}

static void step_penalties(const ll_explain *e, const dist *d, double v, bool repetition) {
    FILE *f = e->term.f;
    if (repetition)
        say(e, "tracker_apply visits each distinct token of the history once (count > 0) and repeat_llamacpp "
               "changes its logit: divided by r when positive, multiplied by r when not.");
    else
        say(e, "tracker_apply visits each distinct token of the history with its count; freq_presence_llamacpp "
               "subtracts count * frequency_penalty + presence_penalty.");
    /* llama.cpp's window: the last penalty_last_n (64) tokens of the history */
    size_t win = ll_explain_penalty_window(), w0 = e->n_ids > win ? e->n_ids - win : 0;
    fprintf(f, "  history = the last %zu of the %zu prompt tokens (penalty_last_n 64); %s = %g\n", e->n_ids - w0,
            e->n_ids, repetition ? "r" : "both penalties", v);
    fprintf(f, "  %-14s %6s %10s %22s %10s\n", "token", "count", "logit", "rule", "new logit");
    for (size_t i = w0; i < e->n_ids; i++) {
        int32_t id = e->ids[i];
        bool first = true;
        for (size_t j = w0; j < i; j++) first &= e->ids[j] != id;
        if (!first) continue;
        size_t count = 0;
        for (size_t j = w0; j < e->n_ids; j++) count += e->ids[j] == id;
        double l = e->logits[id], nl;
        char rule[64];
        if (repetition) {
            nl = l > 0 ? l / v : l * v;
            snprintf(rule, sizeof rule, l > 0 ? "%.4f / %g" : "%.4f * %g", l, v);
        } else {
            nl = l - (double)count * v - v;
            snprintf(rule, sizeof rule, "- %zu*%g - %g", count, v, v);
        }
        fputs("  ", f);
        label(e, id, 14);
        fprintf(f, " %6zu %10.4f %22s %10.4f\n", count, l, rule, nl);
    }
    (void)d;
}

static void step_bias(const ll_explain *e, const dist *d, double b) {
    FILE *f = e->term.f;
    int32_t id = d->order[0];
    say(e, "logit_bias_apply adds each bias to its token's logit with add_to_id (in the dense id-ordered array "
           "that is one addition at index id); the softmax then renormalises everything.");
    double l = e->logits[id], nl = l + b;
    double z2 = d->z - exp(l - d->max) + exp(nl - d->max);
    fprintf(f, "  token ");
    label(e, id, 0);
    fprintf(f, ": logit %.4f + (%g) = %.4f\n", l, b, nl);
    fprintf(f, "  its probability: exp(%.4f - max) / Z = %.4f  ->  %.4f; every other token is scaled by %.4f\n", l,
            prob(d, id), exp(nl - d->max) / z2, d->z / z2);
}

/* The combined lesson's chain, as its demo builds it; then the sampler's
 * walk over the candidates the chain really left, in their order. */
static void step_chain_sampler(ll_explain *e, double T, ll_error *err) {
    FILE *f = e->term.f;
    ll_sampling_params p;
    ll_sampling_params_init(&p, LL_PROFILE_LLAMACPP);
    p.temperature = (float)T;
    p.repetition_penalty = 1.1f;
    p.seed = 42;
    ll_chain *ch = ll_chain_from_params(&p, e->V, err);
    if (!ch) return;
    int32_t picked = -1;
    if (ll_chain_set_prompt(ch, e->ids, e->n_ids, err) != LL_OK ||
        ll_chain_apply(ch, e->logits, e->V, &picked, err) != LL_OK) {
        ll_chain_free(ch);
        return;
    }
    const ll_candidates *c = ll_chain_candidates(ch);
    /* the stages that ran, from the chain itself ('?': a stage that is off) */
    char ran[512], text[1024];
    size_t n = 0;
    ran[0] = '\0';
    for (size_t i = 0; i + 1 < ll_chain_length(ch) && n < sizeof ran; i++) {
        const ll_sampler *s = ll_chain_get(ch, i);
        if (ll_sampler_describe(s)[0] == '?') continue;
        n += (size_t)snprintf(ran + n, sizeof ran - n, "%s%s", n ? ", " : "", ll_sampler_name(s));
    }
    snprintf(text, sizeof text,
             "The chain ran %s on the candidate array; dist_apply then sums exp(logit - max) over the survivors in "
             "their current order, draws u from mt19937 (generate_canonical<double>: two 32-bit draws a + b*2^32, "
             "divided by 2^64) and walks the candidates until the running sum reaches u * sum.",
             ran);
    say(e, text);
    double mx = -INFINITY, sum = 0;
    for (size_t i = 0; i < c->size; i++) mx = c->logit[i] > mx ? c->logit[i] : mx;
    for (size_t i = 0; i < c->size; i++) sum += exp((double)c->logit[i] - mx);
    ll_mt19937 r;
    ll_mt19937_seed(&r, 42);
    double u = ll_mt19937_canonical_double(&r);
    fprintf(f, "  %zu candidates left; seed 42: u = %.9f; target = u * %.4f = %.4f\n", c->size, u, sum, u * sum);
    double run = 0;
    for (size_t i = 0; i < c->size && i < 20; i++) {
        int32_t id = ll_candidates_id(c, i);
        run += exp((double)c->logit[i] - mx);
        fprintf(f, "  %3zu ", i + 1);
        label(e, id, 14);
        fprintf(f, " logit after the chain %.4f, running sum %.4f%s\n", c->logit[i], run,
                run >= u * sum ? "  >= target: picked" : "");
        if (run >= u * sum) break;
    }
    fprintf(f, "  the chain's own pick: ");
    label(e, picked, 0);
    fputc('\n', f);
    ll_chain_free(ch);
}

static void step_sampler(const ll_explain *e, const dist *d) {
    FILE *f = e->term.f;
    say(e, "dist_apply (llama.cpp's dist): sum = sum of exp(logit - max) over the candidates, u = a uniform number "
           "in [0, 1) from mt19937 (generate_canonical<double>: two 32-bit draws a + b*2^32, divided by 2^64), "
           "then walk the candidates adding exp(logit - max) until the running sum reaches u * sum.");
    ll_mt19937 r;
    ll_mt19937_seed(&r, 42);
    double u = ll_mt19937_canonical_double(&r);
    fprintf(f, "  no processors here - the raw distribution, sorted: seed 42: u = %.9f; target = u * %.4f = %.4f\n", u,
            d->z, u * d->z);
    double run = 0;
    for (size_t i = 0; i < e->V && i < 20; i++) {
        int32_t id = d->order[i];
        run += exp((double)e->logits[id] - d->max);
        fprintf(f, "  %3zu ", i + 1);
        label(e, id, 14);
        fprintf(f, " running sum %.4f%s\n", run, run >= u * d->z ? "  >= target: picked" : "");
        if (run >= u * d->z) break;
    }
    fputs("  (dist walks the candidates in the order the chain left them: sorted if a stage sorted them, else by\n"
          "  id; with the raw logits in id order the same u would pick another token. The last lesson walks the\n"
          "  real chain's candidates.)\n",
          f);
}

static void step_beam(const ll_explain *e, const dist *d, int beams) {
    FILE *f = e->term.f;
    int32_t eos[16];
    size_t n_eos = ll_tokenizer_eog_ids(e->tok, eos, 16);
    if (n_eos > 16) n_eos = 16;
    int K = (int)(n_eos + 1 > 2 ? n_eos + 1 : 2) * beams;
    say(e, "Beam search step 1: processors run on log-softmax scores; each beam's scores are added to its running "
           "score (all beams start from the prompt, so only beam 0 counts at first); select_top keeps the "
           "K = max(2, 1 + number of EOS ids) * num_beams best candidates, of which the best num_beams non-EOS "
           "ones continue.");
    fprintf(f, "  num_beams %d, %zu EOS id(s) -> K = %d candidates:\n", beams, n_eos, K);
    double lz = log(d->z);
    int running = 0;
    for (int i = 0; i < K && (size_t)i < e->V; i++) {
        int32_t id = d->order[i];
        bool is_eos = false;
        for (size_t j = 0; j < n_eos; j++) is_eos |= eos[j] == id;
        const char *role = "";
        if (is_eos) role = i < beams ? "  (EOS: a finished hypothesis)" : "  (EOS beyond num_beams: dropped)";
        else if (running < beams) role = "  (a beam)", running++;
        fprintf(f, "  %3d ", i + 1);
        label(e, id, 14);
        fprintf(f, " log p = %.4f - %.4f - %.4f = %.4f%s\n", e->logits[id], d->max, lz,
                (double)e->logits[id] - d->max - lz, role);
    }
}

static void step_limits(const ll_explain *e, int v) {
    FILE *f = e->term.f;
    say(e, "ll_gen_resolve turns the limits into one number of new tokens: max_new_tokens if set; else "
           "max_length - prompt tokens; else the profile's default (hf 20, openai 16, llama.cpp until the context "
           "is full); never more than the room left in the context. ll_stopper_push appends each token's text and "
           "looks for every stop string in the part that could newly contain it.");
    int room = (int)(e->n_ctx - e->n_ids);
    fprintf(f, "  prompt %zu tokens, context %zu: room %d\n", e->n_ids, e->n_ctx, room);
    fprintf(f, "  max_new_tokens = %d        -> min(%d, room %d) = %d new tokens\n", v, v, room, v < room ? v : room);
    if (v <= (int)e->n_ids)
        fprintf(f, "  max_length = %d            -> an error: the %zu prompt tokens alone reach it\n", v, e->n_ids);
    else
        fprintf(f, "  max_length = %d            -> min(%d - %zu, room %d) = %d new tokens\n", v, v, e->n_ids, room,
                v - (int)e->n_ids < room ? v - (int)e->n_ids : room);
    fprintf(f, "  neither, profile llama.cpp -> %zu (the context)\n", e->n_ctx - e->n_ids);
}

static void step_order(const ll_explain *e, const dist *d, double T) {
    FILE *f = e->term.f;
    say(e, "ll_chain_from_params builds the stages in the profile's order. top_p measures the distribution it "
           "is given: after temperature (HF) or before it (llama.cpp). The cumulative sums of the top tokens:");
    double zt = 0, mt = d->max / T;
    for (size_t i = 0; i < e->V; i++) zt += exp((double)e->logits[i] / T - mt);
    fprintf(f, "  %4s %-14s %10s %10s %10s %10s\n", "rank", "token", "p(T=1)", "cumul.", "p(T)", "cumul.");
    double c1 = 0, c2 = 0;
    for (int i = 0; i < 14; i++) {
        int32_t id = d->order[i];
        double p1 = prob(d, id), p2 = exp((double)e->logits[id] / T - mt) / zt;
        c1 += p1;
        c2 += p2;
        fprintf(f, "  %4d ", i + 1);
        label(e, id, 14);
        fprintf(f, " %10.4f %10.4f %10.4f %10.4f\n", p1, c1, p2, c2);
    }
    fputs("  top_p 0.9 stops where each cumulative column reaches 0.9 (within top_k 40).\n", f);
}

static void step_seed(const ll_explain *e, uint32_t seed) {
    FILE *f = e->term.f;
    say(e, "ll_mt19937_next: the Mersenne Twister (624 words of state, refilled by mt_twist every 624 draws), "
           "then the tempering shifts. The same seed always gives the same stream, on every platform.");
    ll_mt19937 r;
    ll_mt19937_seed(&r, seed);
    for (int i = 0; i < 4; i++) {
        uint32_t a = ll_mt19937_next(&r), b = ll_mt19937_next(&r);
        fprintf(f, "  draw %d: a = %10u, b = %10u -> u = (a + b * 2^32) / 2^64 = %.9f\n", i + 1, a, b,
                ((double)a + (double)b * 4294967296.0) / 18446744073709551616.0);
    }
}

ll_status ll_explain_step_through(ll_explain *e, const ll_lesson *L, double v, ll_error *err) {
    dist d;
    if (!dist_init(&d, e, err)) return err ? err->status : LL_ERR_OUT_OF_MEMORY;
    fprintf(e->term.f, "  prompt \"%s\"\n", e->prompt);
    if (L->kind == LL_LESSON_STAGE) {
        switch (L->param) {
        case LL_P_TEMPERATURE: step_temperature(e, &d, v); break;
        case LL_P_TOP_K: step_top_k(e, &d, (int)v); break;
        case LL_P_TOP_P: step_top_p(e, &d, v); break;
        case LL_P_MIN_P: step_min_p(e, &d, v); break;
        case LL_P_TYPICAL_P: step_typical(e, &d, v, err); break;
        case LL_P_REPETITION: step_penalties(e, &d, v, true); break;
        case LL_P_FREQUENCY: step_penalties(e, &d, v, false); break;
        case LL_P_LOGIT_BIAS: step_bias(e, &d, v); break;
        default: break;
        }
    } else if (L->kind == LL_LESSON_LOOP) {
        step_sampler(e, &d);
    } else if (L->kind == LL_LESSON_COMBINED) {
        step_chain_sampler(e, v, err);
    } else if (L->kind == LL_LESSON_DECODE) {
        step_beam(e, &d, (int)v);
    } else if (L->kind == LL_LESSON_STOP) {
        step_limits(e, (int)v);
    } else if (L->kind == LL_LESSON_ORDER) {
        step_order(e, &d, v);
    } else if (L->kind == LL_LESSON_SEED) {
        step_seed(e, (uint32_t)v);
    }
    free(d.order);
    fflush(e->term.f);
    return LL_OK;
}
