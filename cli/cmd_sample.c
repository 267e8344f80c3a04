/*
 * cmd_sample.c - `logitlab sample`: run a sampling chain on a logits vector
 * without a model, and print what it did as JSON.
 */
#include "commands.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "core/file.h"
#include "core/internal.h"
#include "util/json.h"

static void usage(FILE *f) {
    fputs("usage: logitlab sample --logits FILE [options]\n"
          "\n"
          "Reads a logits vector (a JSON array of numbers, where \"-inf\" is allowed,\n"
          "or raw little-endian float32), applies a sampling chain and prints JSON:\n"
          "the final candidates in order, the selected token and, with --trace,\n"
          "every stage.\n"
          "\n"
          "  --logits FILE          JSON or raw float32 ('-' reads stdin)\n"
          "  --format json|f32      input format (default: guessed from the content)\n"
          "  --history IDS          token history, e.g. 1,2,3 (prompt first)\n"
          "  --prompt-len N         how many history tokens are prompt (default: all)\n"
          "  --repeat N             apply N times, accepting each token into the history\n"
          "  --trace                record every stage\n"
          "  --top N                tokens shown per trace stage (default 10)\n"
          "  --candidates N         final candidates printed (default 50, 0 = all)\n"
          "  --compact              single-line JSON\n"
          "\n",
          f);
    ll_cli_sampling_help(f);
}

/* The logits file's bytes: stdin for "-", else through ll_file_map (a FIFO
 * or a directory is an error naming it, not a hang). Either is at most
 * LL_CLI_INPUT_MAX, 1 GiB (a vocabulary of 2^28 floats). */
static bool read_input(const char *path, ll_file *f, char **stdin_buf, ll_error *err) {
    *stdin_buf = NULL;
    memset(f, 0, sizeof *f);
    if (strcmp(path, "-") == 0) {
        size_t len;
        *stdin_buf = ll_read_stdin(LL_CLI_INPUT_MAX, &len, err);
        if (!*stdin_buf) return false;
        f->data = (const uint8_t *)*stdin_buf;
        f->size = len;
        return true;
    }
    return ll_file_map(f, path, LL_CLI_INPUT_MAX, err) == LL_OK;
}

/* A JSON array of logits, or an object whose "logits" is one. */
static float *json_logits(const char *path, const char *buf, size_t len, size_t *n_out, ll_error *err) {
    lj_doc *d = lj_parse(buf, len, err);
    if (!d) {
        ll_error_prefix(err, "%s", LL_Q(path));
        return NULL;
    }
    float *out = NULL;
    const lj_value *arr = lj_root(d);
    if (arr->type == LJ_OBJ) arr = lj_get(arr, "logits");
    if (!arr || arr->type != LJ_ARR || arr->n == 0) {
        ll_fail(err, LL_ERR_FORMAT, "%s: expected a non-empty JSON array of logits", LL_Q(path));
        goto done;
    }
    out = ll_calloc(arr->n, sizeof *out, err);
    for (size_t i = 0; out && i < arr->n; i++) {
        const lj_value *v = arr->items[i];
        /* "nan" is read so that the chain can reject it with its index */
        bool nan_str = v->type == LJ_STR && !strcmp(v->str, "nan");
        if (!lj_is_num(v) && !nan_str) {
            ll_fail(err, LL_ERR_FORMAT, "%s: logits[%zu] is not a number", LL_Q(path), i);
        } else {
            double x = nan_str ? NAN : lj_num(v);
            if (!(isfinite(x) && isinf((float)x))) {
                out[i] = (float)x;
                continue;
            }
            /* 1e300 would become inf: a logit beyond a float is an error, not +inf */
            ll_fail(err, LL_ERR_FORMAT, "%s: logits[%zu] = %g is out of range: valid is a 32-bit float, |x| <= %g",
                    LL_Q(path), i, x, (double)FLT_MAX);
        }
        free(out);
        out = NULL;
    }
    if (out) *n_out = arr->n;
done:
    lj_free(d);
    return out;
}

float *ll_cli_load_logits(const char *path, const char *format, size_t *n_out, ll_error *err) {
    ll_file file;
    char *stdin_buf;
    if (!read_input(path, &file, &stdin_buf, err)) return NULL;
    const char *buf = (const char *)file.data;
    size_t len = file.size, k = 0;
    float *out = NULL;
    while (k < len && (buf[k] == ' ' || buf[k] == '\n' || buf[k] == '\t' || buf[k] == '\r')) k++;
    bool json = format ? strcmp(format, "json") == 0 : (k < len && (buf[k] == '[' || buf[k] == '{'));
    if (json) {
        out = json_logits(path, buf, len, n_out, err);
    } else if (format && strcmp(format, "f32") != 0) {
        ll_fail(err, LL_ERR_INVALID_ARGUMENT, "--format: '%s' is not json or f32", LL_Q(format));
    } else if (len == 0 || len % 4 != 0) {
        ll_fail(err, LL_ERR_FORMAT, "%s: %zu bytes is not a whole number of float32 values", LL_Q(path), len);
    } else if ((out = ll_malloc(len, err)) != NULL) {
        for (size_t i = 0; i < len / 4; i++) { /* little-endian on disk, read byte by byte to be endian-safe */
            const unsigned char *b = (const unsigned char *)buf + 4 * i;
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&out[i], &u, sizeof u);
        }
        *n_out = len / 4;
    }
    if (stdin_buf) free(stdin_buf);
    else ll_file_close(&file);
    return out;
}

void ll_cli_write_token_ref(lj_writer *w, const ll_tokenizer *tok, int32_t id) {
    if (tok) {
        ll_cli_write_token_fields(w, tok, id);
    } else {
        lj_w_key(w, "id");
        lj_w_int(w, id);
    }
}

static void write_token_list(lj_writer *w, const ll_tokenizer *tok, const ll_trace_token *t, size_t n) {
    lj_w_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        lj_w_obj_begin(w);
        ll_cli_write_token_ref(w, tok, t[i].id);
        lj_w_key(w, "logit");
        lj_w_float(w, t[i].logit);
        lj_w_key(w, "p");
        lj_w_float(w, t[i].p);
        lj_w_obj_end(w);
    }
    lj_w_arr_end(w);
}

char *ll_cli_chain_describe(const ll_chain *ch) {
    size_t n = ll_chain_describe(ch, NULL, 0);
    char *buf = malloc(n + 1);
    if (buf) ll_chain_describe(ch, buf, n + 1);
    return buf;
}

void ll_cli_write_stage_fields(lj_writer *w, const ll_trace_stage *st, const ll_tokenizer *tok, size_t top_n) {
    lj_w_key(w, "n_before");
    lj_w_int(w, (long long)st->n_before);
    lj_w_key(w, "n_after");
    lj_w_int(w, (long long)st->n_after);
    lj_w_key(w, "mass_removed");
    lj_w_double(w, st->mass_removed);
    lj_w_key(w, "entropy_before");
    lj_w_double(w, st->entropy_before);
    lj_w_key(w, "entropy_after");
    lj_w_double(w, st->entropy_after);
    if (st->selected >= 0) {
        lj_w_key(w, "selected");
        lj_w_int(w, st->selected);
    }
    lj_w_key(w, "top_before");
    write_token_list(w, tok, st->top_before, LL_MIN(st->n_top, top_n));
    lj_w_key(w, "top_after");
    write_token_list(w, tok, st->top_after, LL_MIN(st->n_top_after, top_n));
}

void ll_cli_write_trace(lj_writer *w, const ll_trace *trace, const ll_tokenizer *tok) {
    lj_w_arr_begin(w);
    for (size_t i = 0; i < ll_trace_n_stages(trace); i++) {
        const ll_trace_stage *st = ll_trace_stage_at(trace, i);
        lj_w_obj_begin(w);
        lj_w_key(w, "stage");
        lj_w_str(w, st->name);
        ll_cli_write_stage_fields(w, st, tok, SIZE_MAX);
        lj_w_obj_end(w);
    }
    lj_w_arr_end(w);
}

int ll_cmd_sample(int argc, char **argv) {
    ll_error err;
    ll_error_clear(&err);
    ll_cli_sampling smp;
    ll_cli_sampling_init(&smp);
    const char *logits_path = NULL, *format = NULL;
    int32_t *history = NULL;
    size_t n_history = 0;
    long long prompt_len = -1, repeat = 1, top_n = 10, max_cands = 50;
    bool trace_on = false, pretty = true;
    int rc = 1;
    float *logits = NULL;
    ll_chain *chain = NULL;
    ll_trace *trace = NULL;
    int32_t *tokens = NULL;

    ll_args a;
    ll_args_init(&a, argc, argv, 0);
    int kind;
    while ((kind = ll_args_next(&a)) != 0) {
        const char *v;
        if (kind == 2) {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unexpected argument '%s' (see logitlab sample --help)", LL_Q(a.value));
            goto fail;
        }
        int r = ll_cli_sampling_flag(&smp, &a, &err);
        if (r < 0) goto fail;
        if (r > 0) continue;
        if (!strcmp(a.flag, "--help") || !strcmp(a.flag, "-h")) {
            usage(stdout);
            rc = 0;
            goto done;
        } else if (!strcmp(a.flag, "--logits")) {
            if (!ll_args_value(&a, &logits_path, &err)) goto fail;
        } else if (!strcmp(a.flag, "--format")) {
            if (!ll_args_value(&a, &format, &err)) goto fail;
        } else if (!strcmp(a.flag, "--history")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_id_list(a.flag, v, &history, &n_history, &err)) goto fail;
        } else if (!strcmp(a.flag, "--prompt-len")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(a.flag, v, 0, INT32_MAX, &prompt_len, &err)) goto fail;
        } else if (!strcmp(a.flag, "--repeat")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(a.flag, v, 1, 1000000, &repeat, &err)) goto fail;
        } else if (!strcmp(a.flag, "--top")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(a.flag, v, 0, LL_TRACE_MAX_TOP, &top_n, &err)) goto fail;
        } else if (!strcmp(a.flag, "--candidates")) {
            if (!ll_args_value(&a, &v, &err) || !ll_parse_int(a.flag, v, 0, INT32_MAX, &max_cands, &err)) goto fail;
        } else if (!strcmp(a.flag, "--trace")) {
            trace_on = true;
        } else if (!strcmp(a.flag, "--compact")) {
            pretty = false;
        } else {
            ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "unknown flag '%s' (see logitlab sample --help)", LL_Q(a.flag));
            goto fail;
        }
    }
    if (!logits_path) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "--logits FILE is required (see logitlab sample --help)");
        goto fail;
    }
    if (prompt_len > (long long)n_history) {
        ll_fail(&err, LL_ERR_INVALID_ARGUMENT, "--prompt-len = %lld is out of range: the history has %zu tokens",
                prompt_len, n_history);
        goto fail;
    }
    size_t n_vocab = 0;
    logits = ll_cli_load_logits(logits_path, format, &n_vocab, &err);
    if (!logits) goto fail;
    ll_cli_sampling_finish(&smp);
    chain = ll_chain_from_params(&smp.p, n_vocab, &err);
    if (!chain) goto fail;
    char warn[1024];
    ll_sampling_params_warnings(&smp.p, warn, sizeof warn);
    if (warn[0]) fputs(warn, stderr);
    size_t pl = prompt_len < 0 ? n_history : (size_t)prompt_len;
    if (ll_chain_set_prompt(chain, history, pl, &err) != LL_OK) goto fail;
    for (size_t i = pl; i < n_history; i++)
        if (ll_chain_accept(chain, history[i], &err) != LL_OK) goto fail;
    if (trace_on) {
        trace = ll_trace_new((size_t)top_n, &err);
        if (!trace) goto fail;
        ll_chain_set_trace(chain, trace);
    }
    tokens = ll_calloc((size_t)repeat, sizeof *tokens, &err);
    if (!tokens) goto fail;
    for (long long r = 0; r < repeat; r++) {
        if (ll_chain_sample(chain, logits, n_vocab, &tokens[r], &err) != LL_OK) goto fail;
        if (r + 1 < repeat && ll_chain_accept(chain, tokens[r], &err) != LL_OK) goto fail;
    }

    const ll_candidates *c = ll_chain_candidates(chain);
    lj_writer w;
    lj_w_init(&w, stdout, pretty);
    lj_w_obj_begin(&w);
    lj_w_key(&w, "profile");
    lj_w_str(&w, ll_profile_name(smp.p.profile));
    char *desc = ll_cli_chain_describe(chain);
    lj_w_key(&w, "chain");
    if (desc) lj_w_str(&w, desc);
    else lj_w_null(&w);
    free(desc);
    lj_w_key(&w, "n_vocab");
    lj_w_int(&w, (long long)n_vocab);
    if (repeat > 1) {
        lj_w_key(&w, "tokens");
        lj_w_arr_begin(&w);
        for (long long r = 0; r < repeat; r++) lj_w_int(&w, tokens[r]);
        lj_w_arr_end(&w);
    }
    lj_w_key(&w, "selected");
    lj_w_obj_begin(&w);
    lj_w_key(&w, "id");
    lj_w_int(&w, tokens[repeat - 1]);
    if (c->selected >= 0) {
        lj_w_key(&w, "logit");
        lj_w_float(&w, c->logit[c->selected]);
        lj_w_key(&w, "p");
        lj_w_float(&w, ll_candidates_prob(c, (size_t)c->selected));
    }
    lj_w_obj_end(&w);
    lj_w_key(&w, "n_candidates");
    lj_w_int(&w, (long long)c->size);
    lj_w_key(&w, "candidates");
    lj_w_arr_begin(&w);
    size_t shown = max_cands == 0 ? c->size : LL_MIN(c->size, (size_t)max_cands);
    for (size_t i = 0; i < shown; i++) {
        lj_w_obj_begin(&w);
        lj_w_key(&w, "id");
        lj_w_int(&w, ll_candidates_id(c, i));
        lj_w_key(&w, "logit");
        lj_w_float(&w, c->logit[i]);
        lj_w_key(&w, "p");
        lj_w_float(&w, ll_candidates_prob(c, i));
        lj_w_obj_end(&w);
    }
    lj_w_arr_end(&w);
    if (trace) {
        lj_w_key(&w, "trace");
        ll_cli_write_trace(&w, trace, NULL);
    }
    lj_w_obj_end(&w);
    lj_w_end(&w);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "logitlab sample: %s\n", err.message);
    rc = err.status == LL_ERR_INVALID_ARGUMENT ? 2 : 1;
done:
    free(tokens);
    ll_trace_free(trace);
    ll_chain_free(chain);
    free(logits);
    free(history);
    ll_cli_sampling_free(&smp);
    return rc;
}
