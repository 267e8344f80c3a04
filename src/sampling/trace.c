/*
 * trace.c - per-stage record of a chain application: how many candidates
 * a stage kept, how much probability it removed, the entropy before and
 * after, and the most likely tokens on each side.
 *
 * Probabilities are a softmax over the candidates at that point, computed
 * into the trace's own buffers so that tracing never changes what the
 * stages see or produce. This is the one mechanism the explainer, the CLI
 * and the server use to show a chain at work.
 */
#include "trace.h"

#include <math.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

struct ll_trace {
    size_t top_n;
    ll_trace_stage *stages;
    size_t n, cap;
    size_t n_vocab;
    float *p;          /* softmax of the current snapshot, by position */
    float *p_by_id;    /* before-probabilities by token id (0 elsewhere) */
    int32_t *ids;      /* ids of the before snapshot */
    size_t n_ids;
};

ll_trace *ll_trace_new(size_t top_n, ll_error *err) {
    if (top_n > LL_TRACE_MAX_TOP) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "trace top_n = %zu is out of range: valid is [0, %d]", top_n,
                LL_TRACE_MAX_TOP);
        return NULL;
    }
    ll_trace *t = ll_calloc(1, sizeof *t, err);
    if (t) t->top_n = top_n;
    return t;
}

void ll_trace_free(ll_trace *t) {
    if (!t) return;
    free(t->stages);
    free(t->p);
    free(t->p_by_id);
    free(t->ids);
    free(t);
}

size_t ll_trace_n_stages(const ll_trace *t) { return t->n; }

const ll_trace_stage *ll_trace_stage_at(const ll_trace *t, size_t i) { return i < t->n ? &t->stages[i] : NULL; }

ll_status ll_trace_begin(ll_trace *t, size_t n_vocab, size_t n_stages, ll_error *err) {
    t->n = 0;
    if (n_stages > t->cap) {
        ll_trace_stage *st = ll_realloc_array(t->stages, n_stages, sizeof *st, err);
        if (!st) return LL_ERR_OUT_OF_MEMORY;
        t->stages = st;
        t->cap = n_stages;
    }
    if (n_vocab > t->n_vocab) {
        free(t->p);
        free(t->p_by_id);
        free(t->ids);
        t->p = ll_calloc(n_vocab, sizeof *t->p, err);
        t->p_by_id = ll_calloc(n_vocab, sizeof *t->p_by_id, err);
        t->ids = ll_calloc(n_vocab, sizeof *t->ids, err);
        if (!t->p || !t->p_by_id || !t->ids) {
            t->n_vocab = 0;
            return LL_ERR_OUT_OF_MEMORY;
        }
        t->n_vocab = n_vocab;
    }
    return LL_OK;
}

/* Softmax of c into t->p; returns the entropy and counts finite logits. */
static double snapshot(ll_trace *t, const ll_candidates *c, size_t *n_finite) {
    float max = -INFINITY;
    size_t finite = 0;
    for (size_t i = 0; i < c->size; i++) {
        if (c->logit[i] > max) max = c->logit[i];
        if (c->logit[i] > -INFINITY) finite++;
    }
    *n_finite = finite;
    if (finite == 0) {
        memset(t->p, 0, c->size * sizeof *t->p);
        return 0.0;
    }
    double sum = c->ws->k->exp_sum(c->logit, c->size, max, t->p, NULL);
    double h = 0.0;
    for (size_t i = 0; i < c->size; i++) {
        double p = (double)t->p[i] / sum;
        t->p[i] = (float)p;
        if (p > 0.0) h -= p * log(p);
    }
    return h;
}

/* The top_n candidates by logit (ties: lower position), with their p. */
static size_t top_tokens(const ll_trace *t, const ll_candidates *c, ll_trace_token *out) {
    size_t n = 0, want = LL_MIN(t->top_n, c->size);
    for (size_t i = 0; i < c->size && want > 0; i++) {
        float l = c->logit[i];
        if (n == want && !(l > out[n - 1].logit)) continue;
        size_t j = n < want ? n++ : n - 1;
        while (j > 0 && out[j - 1].logit < l) {
            out[j] = out[j - 1];
            j--;
        }
        out[j].id = ll_candidates_id(c, i);
        out[j].logit = l;
        out[j].p = t->p[i];
    }
    return n;
}

void ll_trace_before(ll_trace *t, const ll_candidates *c) {
    if (t->n >= t->cap || t->n_vocab == 0) return;
    ll_trace_stage *st = &t->stages[t->n];
    memset(st, 0, sizeof *st);
    st->selected = -1;
    st->entropy_before = snapshot(t, c, &st->n_before);
    st->n_top = top_tokens(t, c, st->top_before);
    t->n_ids = c->size;
    for (size_t i = 0; i < c->size; i++) {
        int32_t id = ll_candidates_id(c, i);
        t->ids[i] = id;
        t->p_by_id[id] = t->p[i];
    }
}

void ll_trace_after(ll_trace *t, const ll_candidates *c, const char *desc) {
    if (t->n >= t->cap || t->n_vocab == 0) return;
    ll_trace_stage *st = &t->stages[t->n];
    snprintf(st->name, sizeof st->name, "%s", desc);
    /* mark survivors (negative), then add up what is still positive */
    for (size_t i = 0; i < c->size; i++)
        if (c->logit[i] > -INFINITY) {
            float *q = &t->p_by_id[ll_candidates_id(c, i)];
            *q = -*q;
        }
    double removed = 0.0;
    for (size_t i = 0; i < t->n_ids; i++) {
        float q = t->p_by_id[t->ids[i]];
        if (q > 0.0f) removed += q;
        t->p_by_id[t->ids[i]] = 0.0f;
    }
    st->mass_removed = removed;
    st->entropy_after = snapshot(t, c, &st->n_after);
    st->n_top_after = top_tokens(t, c, st->top_after);
    if (c->selected >= 0 && (size_t)c->selected < c->size) st->selected = ll_candidates_id(c, (size_t)c->selected);
    t->n++;
}
