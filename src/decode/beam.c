/*
 * beam.c - beam search with Hugging Face's current semantics (transformers
 * main, the vectorised beam search of v4.50+ with per-item early stopping).
 *
 * Each step: the running beams' logits become log-softmax scores, the
 * processors act on those log-probabilities (with each beam's own
 * history), the beam's running sum is added, and the best
 * K = max(2, 1 + n_eos) * num_beams continuations of all beams are taken.
 * Among them, those that end (EOS, or the length limit) and rank within
 * the first num_beams become finished hypotheses, scored
 * sum / generated_length^length_penalty; the best num_beams that do not
 * end keep running. early_stopping decides when a batch item is done
 * (True: num_beams finished; False: HF's heuristic, best running score at
 * the current length cannot beat the worst finished; "never": with
 * length_penalty > 0 the bound at max_length is used, the exact rule).
 *
 * An interrupt or max_time acts as HF's MaxTimeCriteria does: every
 * continuation of the step in progress hits a stopping criterion, so the
 * best num_beams of them finish like at the length limit. A stop inside
 * the forward pass (the context polls between layers), with no logits for
 * a next step, finalizes the running beams as HF's BeamSearchScorer did:
 * each becomes a hypothesis scored sum / length^length_penalty and the
 * best num_beams of those and the finished ones are kept.
 *
 * The arithmetic is float32 where HF's is (running sums, the -1e9 masks,
 * the normalisation). Beams are branches of one prompt cache: forking a
 * beam copies nothing (see ll_context_decode_tree). Tie order among equal
 * scores is by position (torch's topk is unspecified there).
 */
#include <stdlib.h>
#include <string.h>

#include "../sampling/rng.h"
#include "generate_impl.h"

#define NEG (-1.0e9f)

typedef struct {
    int32_t *toks; /* generated tokens */
    size_t n;
    int32_t node;  /* tree node of the last token, -1 before the first */
    float score;   /* running sum of processed log-probs (float32, as HF) */
} beam;

typedef struct {
    float score;   /* candidate's accumulated score */
    int beam;
    int32_t tok;
    size_t order;  /* position for stable tie-breaking */
} cand;

static int cmp_cand(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* The k best of n in cmp_cand order, into top[0..k): an insertion into a
 * sorted array of k, since k (a few times num_beams) is tiny next to
 * n = num_beams * n_vocab, where a full sort cost more than the model. */
static void select_top(const cand *c, size_t n, cand *top, size_t k) {
    size_t have = 0;
    for (size_t i = 0; i < n; i++) {
        if (have == k && cmp_cand(&c[i], &top[k - 1]) >= 0) continue;
        size_t j = have < k ? have++ : k - 1;
        while (j > 0 && cmp_cand(&c[i], &top[j - 1]) < 0) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = c[i];
    }
}

typedef struct {
    float score;     /* normalised */
    int32_t *toks;
    size_t n;
    bool finished;   /* really finished (not a placeholder) */
    bool eos;
    size_t order;
} hyp;

static int cmp_hyp(const void *a, const void *b) {
    const hyp *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* HF's BeamSearchScorer.finalize for a search stopped between steps: each
 * running beam becomes a hypothesis scored sum / length^length_penalty;
 * fin[0..nb) (sorted, placeholders unfinished) keeps the best nb of those
 * and the finished ones. fin has room for nb + K >= 2 nb entries. */
static void finalize_running(const beam *run, size_t nb, hyp *fin, float length_penalty) {
    for (size_t j = 0; j < nb; j++) {
        if (!fin[j].finished) fin[j].score = -INFINITY; /* placeholders lose to any beam */
        fin[j].order = j;
    }
    for (size_t j = 0; j < nb; j++) {
        hyp *h = &fin[nb + j];
        memcpy(h->toks, run[j].toks, run[j].n * sizeof(int32_t));
        h->n = run[j].n;
        h->score = run[j].score / (float)pow((double)run[j].n, (double)length_penalty);
        h->finished = true;
        h->eos = false; /* an ending token would have finished the beam */
        h->order = nb + j;
    }
    qsort(fin, 2 * nb, sizeof *fin, cmp_hyp);
}

/* processed log-probs of one beam: log_softmax, then the chain with the
 * beam's history; tokens the chain removed read -inf */
static ll_status beam_scores(ll_chain *ch, const int32_t *prompt, size_t n_prompt, const beam *b, float *lg, size_t V,
                             float *out, ll_error *err) {
    float mx = -INFINITY;
    for (size_t i = 0; i < V; i++)
        if (lg[i] > mx) mx = lg[i];
    double sum = 0.0;
    for (size_t i = 0; i < V; i++) sum += exp((double)lg[i] - (double)mx);
    float lse = (float)log(sum);
    for (size_t i = 0; i < V; i++) lg[i] = (lg[i] - mx) - lse;
    ll_status st = ll_chain_set_prompt(ch, prompt, n_prompt, err);
    for (size_t i = 0; st == LL_OK && i < b->n; i++) st = ll_chain_accept(ch, b->toks[i], err);
    if (st != LL_OK) return st;
    int32_t ignored;
    st = ll_chain_apply(ch, lg, V, &ignored, err);
    if (st != LL_OK) return st;
    const ll_candidates *c = ll_chain_candidates(ch);
    for (size_t i = 0; i < V; i++) out[i] = -INFINITY;
    for (size_t i = 0; i < c->size; i++) out[ll_candidates_id(c, i)] = c->logit[i];
    return LL_OK;
}

ll_status ll_beam_search(const ll_lm *lm, const ll_tokenizer *tok, const int32_t *prompt, size_t n_prompt,
                         const ll_generate_params *p, ll_gen_setup *su, ll_generate_result *out, ll_error *err) {
    size_t V = lm->n_vocab, nb = (size_t)p->num_beams;
    size_t n_eos = su->n_eos;
    size_t K = (n_eos + 1 > 2 ? n_eos + 1 : 2) * nb;
    if (K > nb * V)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                       "beam search keeps %zu candidates per step but the vocabulary has only %zu tokens", K, V);
    size_t max_new = su->max_new;
    /* beam sampling needs do_sample itself (no profile samples beams by
     * default), and the profile's greedy rule (temperature 0) still applies */
    bool sample = su->sampling.do_sample == 1 && !ll_sampling_params_greedy(&su->sampling);
    ll_sampling_params sp = su->sampling;
    if (sample && sp.min_keep == LL_UNSET_INT) sp.min_keep = (int32_t)(n_eos ? n_eos + 1 : 2); /* HF in beam sample */
    ll_status st = LL_OK;
    ll_chain *ch = ll_chain_from_params(&sp, V, err);
    if (!ch) return err ? err->status : LL_ERR_INVALID_ARGUMENT;
    ll_mt19937 rng;
    ll_mt19937_seed(&rng, sp.seed >= 0 ? (uint32_t)sp.seed : LL_DEFAULT_SEED);

    beam *run = ll_calloc(nb, sizeof *run, err), *next = ll_calloc(nb, sizeof *next, err);
    hyp *fin = ll_calloc(nb + K, sizeof *fin, err);
    cand *cands = ll_calloc(nb * V, sizeof *cands, err);
    cand *top = ll_calloc(K, sizeof *top, err), *sel = ll_calloc(K, sizeof *sel, err);
    float *logits = ll_malloc(nb * V * sizeof(float), err), *proc = ll_malloc(nb * V * sizeof(float), err);
    int32_t *parents = ll_calloc(nb, sizeof *parents, err), *toks = ll_calloc(nb, sizeof *toks, err);
    int32_t *nodes = ll_calloc(nb, sizeof *nodes, err);
    int32_t *store = ll_calloc((2 * nb + nb + K) * (max_new + 1), sizeof *store, err);
    bool *hits = ll_calloc(K, sizeof *hits, err);
    double *weights = sample ? ll_malloc(nb * V * sizeof *weights, err) : NULL; /* beam sampling's draws */
    if (!run || !next || !fin || !cands || !top || !sel || !logits || !proc || !parents || !toks || !nodes || !store || !hits ||
        (sample && !weights)) {
        st = LL_ERR_OUT_OF_MEMORY;
        goto done;
    }
    size_t stride = max_new + 1;
    for (size_t j = 0; j < nb; j++) {
        run[j] = (beam){store + j * stride, 0, -1, j == 0 ? 0.0f : NEG};
        next[j].toks = store + (nb + j) * stride;
        fin[j] = (hyp){NEG, store + (2 * nb + j) * stride, 0, false, false, j};
    }
    for (size_t j = 0; j < K; j++) fin[nb + j].toks = store + (3 * nb + j) * stride;
    bool unsat = true; /* HF's is_early_stop_heuristic_unsatisfied */

    lm->reset(lm->self);
    double t0 = ll_now_seconds();
    ll_stop_reason stop_all = LL_STOP_NONE;
    /* a stop before or during the prompt: empty sequences, not an error */
    if (ll_gen_should_stop(&su->stop)) {
        stop_all = su->stop.reason;
    } else {
        st = lm->extend(lm->self, prompt, n_prompt, logits, err);
        if (st == LL_ERR_INTERRUPTED) {
            stop_all = ll_gen_stop_reason(&su->stop);
            st = LL_OK;
        }
        if (st != LL_OK) goto done;
    }
    out->prompt_seconds = ll_now_seconds() - t0;
    out->prompt_stopped = stop_all != LL_STOP_NONE;
    for (size_t j = 1; j < nb; j++) memcpy(logits + j * V, logits, V * sizeof(float));
    double t_start = ll_now_seconds();

    /* cur = generated length before this step */
    for (size_t cur = 0; cur < max_new && stop_all == LL_STOP_NONE; cur++) {
        /* b: processed log-probs plus running sums, over every beam */
        for (size_t j = 0; j < nb; j++) {
            st = beam_scores(ch, prompt, n_prompt, &run[j], logits + j * V, V, proc + j * V, err);
            if (st != LL_OK) goto done;
            for (size_t t = 0; t < V; t++)
                cands[j * V + t] = (cand){proc[j * V + t] + run[j].score, (int)j, (int32_t)t, j * V + t};
        }
        size_t total = nb * V;
        /* c: the K best continuations (sorted), or K draws in draw order */
        if (!sample) {
            select_top(cands, total, top, K);
            /* every continuation banned: HF would go on with -inf scores,
             * but no sequence can be returned from there */
            if (top[0].score == -INFINITY) {
                st = ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                             "beam search: no token can be selected: every continuation of every beam was removed or "
                             "has logit -inf");
                goto done;
            }
        } else {
            double mx = -INFINITY;
            for (size_t i = 0; i < total; i++)
                if (cands[i].score > mx) mx = cands[i].score;
            double sum = 0.0;
            if (mx > -INFINITY) /* else exp(-inf - -inf) would be NaN */
                for (size_t i = 0; i < total; i++) sum += (weights[i] = exp((double)cands[i].score - mx));
            for (size_t k = 0; k < K; k++) {
                double u = ll_mt19937_canonical_double(&rng) * sum, acc = 0.0;
                /* zero weights (banned, or drawn already) are never picked:
                 * when rounding leaves acc short of u, the last possible
                 * one is; when none is left, torch.multinomial without
                 * replacement (HF's draw) fails, and so does this */
                size_t pick = SIZE_MAX, last = SIZE_MAX;
                for (size_t i = 0; mx > -INFINITY && i < total; i++) {
                    if (!(weights[i] > 0)) continue;
                    last = i;
                    acc += weights[i];
                    if (acc >= u) {
                        pick = i;
                        break;
                    }
                }
                if (pick == SIZE_MAX) pick = last;
                if (pick == SIZE_MAX) {
                    st = ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                                 "beam sampling: no token can be selected: only %zu continuations have a nonzero "
                                 "probability but each step draws %zu (2 x num_beams, more with several EOS ids)",
                                 k, K);
                    goto done;
                }
                top[k] = cands[pick];
                sum -= weights[pick];
                weights[pick] = 0.0;
            }
        }
        /* d: which continuations end: EOS, or a stopping criterion (the
         * length limit, and max_time or the interrupt, which HF's
         * MaxTimeCriteria-like criteria apply to every candidate) */
        bool stop_now = ll_gen_should_stop(&su->stop);
        if (stop_now) stop_all = su->stop.reason;
        bool at_limit = cur + 1 >= max_new || stop_now;
        bool all_hit = true;
        for (size_t k = 0; k < K; k++) {
            hits[k] = at_limit || ll_gen_is_eos(su, top[k].tok);
            all_hit &= hits[k];
        }
        /* e: the next running beams: the best nb, ending ones pushed down */
        for (size_t k = 0; k < K; k++) {
            sel[k] = top[k];
            sel[k].score = top[k].score + (hits[k] ? NEG : 0.0f);
            sel[k].order = k;
        }
        qsort(sel, K, sizeof *sel, cmp_cand);
        /* f: finished hypotheses (first nb positions of top only) */
        bool all_finished = true;
        for (size_t j = 0; j < nb; j++) all_finished &= fin[j].finished;
        float denom = (float)pow((double)(cur + 1), (double)p->length_penalty);
        for (size_t k = 0; k < K; k++) {
            hyp *h = &fin[nb + k];
            bool did = hits[k] && k < nb;
            float s = top[k].score / denom;
            if (all_finished && p->early_stopping == LL_EARLY_STOPPING_TRUE) s += NEG;
            if (!unsat) s += NEG;
            if (!did) s += NEG;
            const beam *src = &run[top[k].beam];
            memcpy(h->toks, src->toks, src->n * sizeof(int32_t));
            h->toks[src->n] = top[k].tok;
            h->n = src->n + 1;
            h->score = s;
            h->finished = did;
            h->eos = ll_gen_is_eos(su, top[k].tok);
            h->order = nb + k;
        }
        for (size_t j = 0; j < nb; j++) fin[j].order = j;
        qsort(fin, nb + K, sizeof *fin, cmp_hyp);
        /* the running beams for the next step */
        for (size_t j = 0; j < nb; j++) {
            const beam *src = &run[sel[j].beam];
            memcpy(next[j].toks, src->toks, src->n * sizeof(int32_t));
            next[j].toks[src->n] = sel[j].tok;
            next[j].n = src->n + 1;
            next[j].score = sel[j].score;
            next[j].node = src->node;
        }
        for (size_t j = 0; j < nb; j++) {
            beam t = run[j];
            run[j] = next[j];
            next[j] = t;
        }
        /* heuristic: can the best running beam still beat the worst finished? */
        double Lh = (p->early_stopping == LL_EARLY_STOPPING_NEVER && p->length_penalty > 0.0f) ? (double)max_new
                                                                                               : (double)(cur + 1);
        float best = run[0].score / (float)pow(Lh, (double)p->length_penalty);
        float worst = INFINITY;
        for (size_t j = 0; j < nb; j++)
            if (fin[j].score < worst) worst = fin[j].score;
        bool improvable = false;
        for (size_t j = 0; j < nb; j++) improvable |= best > (fin[j].finished ? worst : NEG);
        unsat = unsat && improvable;
        all_finished = true;
        for (size_t j = 0; j < nb; j++) all_finished &= fin[j].finished;
        bool cont = unsat && !(all_finished && p->early_stopping == LL_EARLY_STOPPING_TRUE) && !all_hit;
        if (!cont) break;
        /* decode the new last token of each running beam */
        for (size_t j = 0; j < nb; j++) {
            parents[j] = run[j].node;
            toks[j] = run[j].toks[run[j].n - 1];
        }
        st = lm->branch(lm->self, parents, toks, nb, logits, nodes, err);
        if (st == LL_ERR_INTERRUPTED) {
            st = LL_OK;
            stop_all = ll_gen_stop_reason(&su->stop);
            finalize_running(run, nb, fin, p->length_penalty);
            break;
        }
        if (st != LL_OK) goto done;
        for (size_t j = 0; j < nb; j++) run[j].node = nodes[j];
        out->n_generated += nb;
    }
    out->gen_seconds = ll_now_seconds() - t_start;
    size_t nrs = (size_t)p->num_return_sequences;
    out->seqs = ll_calloc(nrs, sizeof *out->seqs, err);
    if (!out->seqs) {
        st = LL_ERR_OUT_OF_MEMORY;
        goto done;
    }
    out->n_seqs = nrs;
    for (size_t r = 0; r < nrs && st == LL_OK; r++) {
        ll_gen_text text;
        st = ll_gen_text_init(&text, tok, p, err);
        bool stopped = false;
        for (size_t i = 0; st == LL_OK && i < fin[r].n && !stopped; i++) {
            bool oom = false;
            if (ll_gen_is_eos(su, fin[r].toks[i])) break;
            stopped = ll_gen_text_push(&text, p, (int32_t)r, fin[r].toks[i], &oom);
        }
        if (st == LL_OK) {
            ll_gen_text_stream(&text, p, (int32_t)r, true);
            st = ll_gen_finish_seq(&out->seqs[r], &text, fin[r].toks, fin[r].n, err);
            out->seqs[r].score = fin[r].score;
            out->seqs[r].reason = stop_all != LL_STOP_NONE ? stop_all
                                  : fin[r].eos           ? LL_STOP_EOS
                                  : stopped              ? LL_STOP_STRING
                                  : su->length_is_context ? LL_STOP_CONTEXT
                                                          : LL_STOP_LENGTH;
        }
        ll_gen_text_free(&text);
    }
done:
    ll_chain_free(ch);
    free(run);
    free(next);
    free(fin);
    free(cands);
    free(top);
    free(sel);
    free(logits);
    free(proc);
    free(parents);
    free(toks);
    free(nodes);
    free(store);
    free(hits);
    free(weights);
    return st;
}
