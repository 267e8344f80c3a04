/*
 * test_hf_vectors.c - Hugging Face's own logits-processor tests
 * (../shared/vectors/hf-vectors.json, outputs of the real transformers
 * code) run through logitlab's processors with HF semantics.
 *
 * HF processors work on a whole [batch, vocab] tensor and mark removed
 * tokens with filter_value; logitlab drops them. Each row is run on its
 * own and the full row is rebuilt (a dropped token reads filter_value) so
 * the comparison is exactly the HF test's.
 *
 * Five vectors check Python argument types (an int where HF wants a float,
 * a float where it wants an int, the list form of sequence_bias rejecting
 * id 0). A C API has no such distinction: those are checked against the
 * typed C behaviour instead, and docs/semantics.md says so.
 */
#include "sampling/chain_impl.h"
#include "test_util.h"
#include "util/json.h"

#define MAXV 64
#define MAXROWS 8

typedef struct {
    size_t rows, V;
    float in[MAXROWS][MAXV];
    int32_t ids[MAXROWS][MAXV];
    size_t n_ids[MAXROWS];
} request;

static int32_t ival(const lj_value *v) { return (int32_t)lj_num(v); }

static void read_request(const lj_value *r, request *q) {
    memset(q, 0, sizeof *q);
    const lj_value *v;
    if ((v = lj_get(r, "logits_uniform"))) {
        q->rows = (size_t)lj_num(v->items[0]);
        q->V = (size_t)lj_num(v->items[1]);
        for (size_t i = 0; i < q->rows; i++)
            for (size_t j = 0; j < q->V; j++) q->in[i][j] = 1.0f / (float)q->V;
    } else if ((v = lj_get(r, "logits"))) {
        q->rows = v->n;
        q->V = v->items[0]->n;
        for (size_t i = 0; i < q->rows; i++)
            for (size_t j = 0; j < q->V; j++) {
                const lj_value *x = v->items[i]->items[j];
                q->in[i][j] = (x->type == LJ_STR && !strcmp(x->str, "nan")) ? NAN : (float)lj_num(x);
            }
    } else if ((v = lj_get(r, "logits_from_probs"))) {
        q->rows = v->n;
        q->V = v->items[0]->n;
        for (size_t i = 0; i < q->rows; i++)
            for (size_t j = 0; j < q->V; j++) q->in[i][j] = logf((float)lj_num(v->items[i]->items[j]));
    }
    if ((v = lj_get(r, "logits_set")))
        for (size_t k = 0; k < v->n; k++)
            q->in[ival(v->items[k]->items[0])][ival(v->items[k]->items[1])] = (float)lj_num(v->items[k]->items[2]);
    if ((v = lj_get(r, "input_ids")))
        for (size_t i = 0; i < v->n; i++) {
            q->n_ids[i] = v->items[i]->n;
            for (size_t j = 0; j < v->items[i]->n; j++) q->ids[i][j] = ival(v->items[i]->items[j]);
        }
}

static size_t id_list(const lj_value *v, int32_t *out) {
    if (!v) return 0;
    if (v->type != LJ_ARR) {
        out[0] = ival(v);
        return 1;
    }
    for (size_t i = 0; i < v->n; i++) out[i] = ival(v->items[i]);
    return v->n;
}

static float filter_value_of(const lj_value *pr) {
    const lj_value *fv = lj_get(pr, "filter_value");
    return fv ? (float)lj_num(fv) : -INFINITY;
}

static size_t allowed_cb(void *user, const ll_history *h, int32_t *allowed, size_t cap) {
    (void)h;
    const lj_value *list = user;
    size_t n = 0;
    for (size_t i = 0; i < list->n && n < cap; i++) allowed[n++] = ival(list->items[i]);
    return n;
}

/* Builds the processor for row `row`; NULL with err on a validation error. */
static ll_sampler *make(const lj_value *pr, size_t row, size_t rows, size_t V, size_t *prompt_len,
                        ll_error *err) {
    const char *name = lj_get(pr, "name")->str;
    const lj_value *kw = lj_get(pr, "kwargs");
    const lj_value *mk = lj_get(pr, "min_tokens_to_keep");
    size_t min_keep = mk ? (size_t)lj_num(mk) : 1;
    if (mk && lj_num(mk) < 1 && strcmp(name, "top_k") != 0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "min_tokens_to_keep has to be a positive integer");
        return NULL;
    }
    int32_t ids[MAXV];
    if (!strcmp(name, "min_length")) {
        size_t n = id_list(lj_get(pr, "eos_token_id"), ids);
        return ll_sampler_min_length_new(ival(lj_get(pr, "min_length")), 0, ids, n, err);
    }
    if (!strcmp(name, "min_new_tokens")) {
        size_t n = id_list(lj_get(pr, "eos_token_id"), ids);
        *prompt_len = (size_t)lj_num(lj_get(pr, "prompt_length_to_skip"));
        return ll_sampler_min_length_new(0, ival(lj_get(pr, "min_new_tokens")), ids, n, err);
    }
    if (!strcmp(name, "temperature")) return ll_sampler_temperature_new((float)lj_num(lj_get(pr, "value")), LL_PROFILE_HF, err);
    if (!strcmp(name, "repetition_penalty")) {
        const lj_value *ign = lj_get(pr, "prompt_ignore_length");
        ll_penalty_params pp = {(float)lj_num(lj_get(pr, "penalty")), 0, 0, LL_PENALTY_SCOPE_ALL,
                                LL_PENALTY_SCOPE_ALL, 0, LL_PROFILE_HF};
        if (ign) {
            /* main's prompt_ignore_length: the first N ids are not seen */
            pp.scope = pp.repetition_scope = LL_PENALTY_SCOPE_GENERATED;
            *prompt_len = (size_t)lj_num(ign);
        }
        return ll_sampler_penalties_new(&pp, err);
    }
    if (!strcmp(name, "encoder_repetition_penalty")) {
        size_t n = id_list(lj_get(pr, "encoder_input_ids")->items[row], ids);
        return ll_sampler_encoder_repetition_penalty_new((float)lj_num(lj_get(pr, "penalty")), ids, n, err);
    }
    if (!strcmp(name, "top_k")) {
        int32_t k = ival(lj_get(pr, "k"));
        return ll_sampler_top_k_new(k, mk ? (size_t)lj_num(mk) : 1, LL_PROFILE_HF, err);
    }
    if (!strcmp(name, "top_p")) return ll_sampler_top_p_new(lj_num(lj_get(pr, "p")), min_keep, LL_PROFILE_HF, err);
    if (!strcmp(name, "top_h")) return ll_sampler_top_h_new(lj_num(lj_get(pr, "h")), err);
    if (!strcmp(name, "min_p")) return ll_sampler_min_p_new(lj_num(lj_get(pr, "p")), min_keep, LL_PROFILE_HF, err);
    if (!strcmp(name, "typical")) return ll_sampler_typical_new(lj_num(lj_get(pr, "mass")), min_keep, LL_PROFILE_HF, err);
    if (!strcmp(name, "epsilon")) return ll_sampler_epsilon_new(lj_num(lj_get(pr, "epsilon")), min_keep, err);
    if (!strcmp(name, "eta")) return ll_sampler_eta_new(lj_num(lj_get(pr, "epsilon")), min_keep, err);
    if (!strcmp(name, "no_repeat_ngram")) return ll_sampler_no_repeat_ngram_new(ival(lj_get(pr, "n")), err);
    if (!strcmp(name, "encoder_no_repeat_ngram")) {
        const lj_value *enc = lj_get(pr, "encoder_input_ids");
        /* one encoder row shared by all, or rows spread over the batch */
        const lj_value *e = enc->items[0]->type == LJ_ARR ? enc->items[row / (rows / enc->n)] : enc;
        size_t n = id_list(e, ids);
        return ll_sampler_encoder_no_repeat_ngram_new(ival(lj_get(pr, "n")), ids, n, err);
    }
    if (!strcmp(name, "no_bad_words")) {
        const lj_value *bw = lj_get(pr, "bad_words_ids");
        static int32_t toks[16][16];
        ll_token_seq seqs[16];
        for (size_t i = 0; i < bw->n; i++) {
            seqs[i].n = id_list(bw->items[i], toks[i]);
            seqs[i].tokens = toks[i];
        }
        size_t ne = id_list(lj_get(pr, "eos_token_id"), ids);
        return ll_sampler_bad_words_new(seqs, bw->n, ids, ne, V, err);
    }
    if (!strcmp(name, "sequence_bias")) {
        const lj_value *sb = lj_get(pr, "sequence_bias");
        static int32_t toks[16][16];
        ll_sequence_bias b[16];
        for (size_t i = 0; i < sb->n; i++) {
            b[i].seq.n = id_list(sb->items[i]->items[0], toks[i]);
            b[i].seq.tokens = toks[i];
            b[i].bias = (float)lj_num(sb->items[i]->items[1]);
        }
        return ll_sampler_sequence_bias_new(b, sb->n, V, err);
    }
    if (!strcmp(name, "prefix_allowed"))
        return ll_sampler_prefix_allowed_new(allowed_cb, (void *)lj_get(pr, "allowed")->items[row], err);
    if (!strcmp(name, "forced_bos")) return ll_sampler_forced_bos_new(ival(lj_get(pr, "bos_token_id")), err);
    if (!strcmp(name, "forced_eos")) {
        size_t n = id_list(lj_get(pr, "eos_token_id"), ids);
        return ll_sampler_forced_eos_new(ival(lj_get(pr, "max_length")), ids, n, err);
    }
    if (!strcmp(name, "inf_nan_remove")) return ll_sampler_inf_nan_remove_new(err);
    if (!strcmp(name, "exponential_decay_length_penalty")) {
        size_t n = id_list(lj_get(pr, "eos_token_id"), ids);
        return ll_sampler_exp_decay_length_new(ival(lj_get(pr, "start_index")), lj_num(lj_get(pr, "decay_factor")),
                                               (size_t)lj_num(lj_get(pr, "input_ids_seq_length")), ids, n, err);
    }
    if (!strcmp(name, "logit_normalization")) return ll_sampler_log_softmax_new(err);
    if (!strcmp(name, "BarkEosPrioritizerLogitsProcessor")) {
        size_t n = id_list(lj_get(kw, "eos_token_id"), ids);
        return ll_sampler_bark_eos_prioritizer_new(ids, n, (float)lj_num(lj_get(kw, "min_eos_p")), err);
    }
    if (!strcmp(name, "WatermarkLogitsProcessor"))
        return ll_sampler_watermark_new((size_t)lj_num(lj_get(kw, "vocab_size")), 0.25, 2.0f, 15485863u, err);
    ll_fail(err, LL_ERR_UNSUPPORTED, "no processor named %s", name);
    return NULL;
}

/* The Python-type checks of HF that a C API cannot express. */
static bool python_type_case(const char *id) {
    static const char *const ids[] = {"error_temperature_{\"value\": 1}", "error_top_k_{\"k\": 2.0}",
                                      "error_repetition_penalty_{\"penalty\": 2}",
                                      "error_sequence_bias_{\"sequence_bias\": [[[3], 1]]}",
                                      "error_sequence_bias_{\"sequence_bias\": [[[0], 1.0]]}"};
    for (size_t i = 0; i < LL_ARRAY_LEN(ids); i++)
        if (!strcmp(id, ids[i])) return true;
    return false;
}

/* Applies the processors of the vector to one row; writes the full row. */
static ll_status run_row(const lj_value *procs, const request *q, size_t row, float *out, ll_error *err) {
    ll_chain *ch = ll_chain_new(q->V, err);
    if (!ch) return LL_ERR_OUT_OF_MEMORY;
    memcpy(ch->ws.input, q->in[row], q->V * sizeof(float));
    ll_candidates c;
    ll_cand_init_dense(&c, &ch->ws, ch->ws.input, q->V);
    ll_status st = LL_OK;
    float fv = -INFINITY;
    for (size_t k = 0; k < procs->n && st == LL_OK; k++) {
        const lj_value *pr = procs->items[k];
        size_t prompt_len = q->n_ids[row];
        ll_sampler *s = make(pr, row, q->rows, q->V, &prompt_len, err);
        if (!s) {
            st = err->status ? err->status : LL_ERR_INVALID_ARGUMENT;
            break;
        }
        fv = filter_value_of(pr);
        if (!strcmp(lj_get(pr, "name")->str, "hamming_diversity")) break;
        ll_history h = {q->ids[row], q->n_ids[row], prompt_len};
        for (size_t i = 0; i < q->n_ids[row]; i++)
            if (s->ops.accept) s->ops.accept(s->state, q->ids[row][i], i < prompt_len);
        st = s->ops.apply(s->state, &c, &h, err);
        ll_sampler_free(s);
    }
    if (st == LL_OK) {
        for (size_t j = 0; j < q->V; j++) out[j] = fv;
        for (size_t i = 0; i < c.size; i++) out[ll_candidates_id(&c, i)] = c.logit[i];
    }
    ll_chain_free(ch);
    return st;
}

static void check_rows(const char *id, const lj_value *ex, const request *q, float out[][MAXV]) {
    const char *kind = lj_get(ex, "kind")->str;
    const lj_value *vals = lj_get(ex, "values");
    double atol = lj_get(ex, "atol") ? lj_num(lj_get(ex, "atol")) : 1e-6;
    double rtol = lj_get(ex, "rtol") ? lj_num(lj_get(ex, "rtol")) : 1e-6;
    for (size_t r = 0; r < q->rows; r++) {
        if (!strcmp(kind, "close") || !strcmp(kind, "exp_close")) {
            bool e = !strcmp(kind, "exp_close");
            for (size_t j = 0; j < q->V; j++) {
                double want = lj_num(vals->items[r]->items[j]);
                double got = e ? exp((double)out[r][j]) : out[r][j];
                CHECK(tu_close(got, want, atol, rtol), "%s: row %zu col %zu = %.9g, expected %.9g", id, r, j, got, want);
            }
        } else if (!strcmp(kind, "isinf_mask")) {
            const lj_value *m = lj_get(ex, "mask")->items[r];
            for (size_t j = 0; j < q->V; j++)
                CHECK((isinf(out[r][j]) != 0) == m->items[j]->b, "%s: row %zu col %zu = %g (mask %d)", id, r, j,
                      (double)out[r][j], m->items[j]->b);
        } else if (!strcmp(kind, "column") || !strcmp(kind, "columns")) {
            const lj_value *cols = lj_get(ex, "cols");
            size_t nc = cols ? cols->n : 1;
            for (size_t k = 0; k < nc; k++) {
                size_t col = (size_t)(cols ? lj_num(cols->items[k]) : lj_num(lj_get(ex, "col")));
                CHECK(tu_close(out[r][col], lj_num(vals->items[r]), lj_get(ex, "atol") ? atol : 0, lj_get(ex, "rtol") ? rtol : 0),
                      "%s: row %zu col %zu = %.9g, expected %.9g", id, r, col, (double)out[r][col], lj_num(vals->items[r]));
            }
        } else if (!strcmp(kind, "no_inf")) {
            for (size_t j = 0; j < q->V; j++) CHECK(isfinite(out[r][j]), "%s: row %zu col %zu is %g", id, r, j, (double)out[r][j]);
        } else if (!strcmp(kind, "count_nonzero") || !strcmp(kind, "count_eq0")) {
            bool nz = !strcmp(kind, "count_nonzero");
            size_t cnt = 0;
            for (size_t j = 0; j < q->V; j++) cnt += nz ? out[r][j] != 0.0f : out[r][j] == 0.0f;
            CHECK(cnt == (size_t)lj_num(vals->items[r]), "%s: row %zu count %zu, expected %g", id, r, cnt, lj_num(vals->items[r]));
        } else if (!strcmp(kind, "unchanged")) {
            for (size_t j = 0; j < q->V; j++) CHECK(out[r][j] == q->in[r][j], "%s: row %zu col %zu changed", id, r, j);
        } else if (!strcmp(kind, "probs_close")) {
            double mx = -INFINITY, sum = 0;
            for (size_t j = 0; j < q->V; j++) mx = fmax(mx, q->in[r][j]);
            for (size_t j = 0; j < q->V; j++) sum += exp(q->in[r][j] - mx);
            for (size_t j = 0; j < q->V; j++) {
                double want = exp(q->in[r][j] - mx) / sum;
                CHECK(tu_close(exp((double)out[r][j]), want, atol, rtol), "%s: row %zu col %zu", id, r, j);
            }
        } else {
            CHECK(0, "%s: unknown expectation kind %s", id, kind);
        }
    }
}

static void run_hamming(const char *id, const lj_value *pr, const lj_value *ex, const request *q) {
    /* group 1 of 2 (one beam each): scores -= penalty * (times group 0 chose the token) */
    const lj_value *cur = lj_get(pr, "current_tokens");
    size_t num_beams = (size_t)lj_num(lj_get(pr, "num_beams")), groups = (size_t)lj_num(lj_get(pr, "num_beam_groups"));
    size_t sub = num_beams / groups, gidx = (size_t)lj_num(lj_get(pr, "beam_group_idx"));
    size_t start = gidx * sub;
    float out[MAXROWS][MAXV];
    for (size_t r = 0; r < q->rows; r++) {
        memcpy(out[r], q->in[r], q->V * sizeof(float));
        size_t b = r / sub;
        int32_t prev[MAXV];
        for (size_t i = 0; i < start; i++) prev[i] = ival(cur->items[b * num_beams + i]);
        ll_hamming_diversity(out[r], q->V, prev, start, (float)lj_num(lj_get(pr, "diversity_penalty")));
    }
    check_rows(id, ex, q, out);
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/hf-vectors.json", tu_shared());
    ll_error err;
    lj_doc *d = lj_parse_file(path, &err);
    if (!d) {
        fprintf(stderr, "%s (the shared test data is required)\n", err.message);
        return 1;
    }
    const lj_value *pv = lj_get(lj_root(d), "processor_vectors");
    size_t ran = 0;
    for (size_t v = 0; v < pv->n; v++) {
        const lj_value *vec = pv->items[v], *req = lj_get(vec, "request"), *ex = lj_get(vec, "expect");
        const char *id = lj_get(vec, "id")->str;
        const lj_value *procs = lj_get(req, "processors");
        request q;
        read_request(req, &q);
        ran++;
        if (!strcmp(lj_get(procs->items[0], "name")->str, "hamming_diversity")) {
            run_hamming(id, procs->items[0], ex, &q);
            continue;
        }
        if (python_type_case(id)) {
            /* the typed C equivalent is valid: check it builds and runs */
            float out[MAXROWS][MAXV];
            ll_error_clear(&err);
            ll_status st = run_row(procs, &q, 0, out[0], &err);
            if (strstr(id, "[[[0], 1.0]]") || strstr(id, "[[[3], 1]]"))
                CHECK(st == LL_OK && out[0][strstr(id, "[[[0]") ? 0 : 3] == q.in[0][strstr(id, "[[[0]") ? 0 : 3] + 1.0f,
                      "%s: the C form of this bias must apply", id);
            else
                CHECK(st == LL_OK, "%s: the typed C value is valid: %s", id, err.message);
            continue;
        }
        float out[MAXROWS][MAXV];
        bool want_error = !strcmp(lj_get(ex, "kind")->str, "error");
        bool failed = false;
        for (size_t r = 0; r < q.rows; r++) {
            ll_error_clear(&err);
            ll_status st = run_row(procs, &q, r, out[r], &err);
            if (st != LL_OK) {
                failed = true;
                if (!want_error) CHECK(0, "%s: row %zu failed: %s", id, r, err.message);
                break;
            }
        }
        if (want_error) {
            CHECK(failed, "%s: expected an error", id);
            if (failed) CHECK(err.message[0] != '\0', "%s: the error has no message", id);
            continue;
        }
        if (!failed) check_rows(id, ex, &q, out);
    }
    CHECK(ran == 85, "expected 85 processor vectors, ran %zu", ran);
    lj_free(d);
    return tu_finish("hf vectors");
}
