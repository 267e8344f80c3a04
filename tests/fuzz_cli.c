/*
 * fuzz_cli.c - libFuzzer target for the command line's list parsers
 * (cli/args.c): token id lists, --logit-bias, --sequence-bias, the DRY
 * breakers, --samplers, and every other sampling flag, then the chain they
 * describe (src/sampling/params.c: ll_chain_from_params parses the sampler
 * order) built over a small vocabulary and run for a few tokens; every
 * argument is also read as a --kv-type value (ll_kv_type_parse).
 *
 * The input is an argument vector, one argument per line, e.g.
 * "--samplers\ntop_k,temperature\n--logit-bias\n3=-inf". A line that is
 * not a flag is also read as a token id list. Run by scripts/fuzz.sh.
 */
#include "fuzz_common.h"

#include <math.h>

#include "args.h"

#define FZ_VOCAB 48
#define FZ_MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* split into NUL-terminated lines (a NUL inside a line ends that argument, as in argv) */
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[FZ_MAX_ARGS + 1];
    int argc = 0;
    char *p = text;
    while (argc < FZ_MAX_ARGS && p <= text + size) {
        argv[argc++] = p;
        char *nl = memchr(p, '\n', (size_t)(text + size - p));
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    argv[argc] = NULL;

    ll_error err;
    ll_cli_sampling s;
    ll_cli_sampling_init(&s);
    int32_t *ids = NULL;
    size_t n_ids = 0;
    bool ok = true;
    ll_args a;
    ll_args_init(&a, argc, argv, 0);
    int kind;
    while (ok && (kind = ll_args_next(&a)) != 0) {
        if (kind == 2) {
            ok = ll_parse_id_list("--history", a.value, &ids, &n_ids, &err);
            if (!ok) fz_report("ids", &err);
            continue;
        }
        int r = ll_cli_sampling_flag(&s, &a, &err);
        if (r < 0) {
            fz_report(a.flag, &err);
            ok = false;
        }
        /* r == 0: not a sampling flag; the command would reject it, the
         * fuzzer goes on to the next one */
    }
    if (ok) {
        ll_cli_sampling_finish(&s);
        ll_chain *c = ll_chain_from_params(&s.p, FZ_VOCAB, &err);
        if (!c) fz_report("chain", &err);
        if (c) {
            char desc[256];
            (void)ll_chain_describe(c, desc, sizeof desc);
            /* the history: only ids of the vocabulary, as the CLI checks */
            size_t nh = 0;
            for (size_t i = 0; i < n_ids && nh < 64; i++)
                if (ids[i] >= 0 && ids[i] < FZ_VOCAB) ids[nh++] = ids[i];
            float logits[FZ_VOCAB];
            for (int i = 0; i < FZ_VOCAB; i++) logits[i] = (float)((i * 37) % 11) - 5.0f + 0.25f * (float)(i % 3);
            logits[5] = -INFINITY;
            if (ll_chain_set_prompt(c, ids, nh, &err) == LL_OK) {
                for (int step = 0; step < 4; step++) {
                    int32_t tok = -1;
                    if (ll_chain_sample(c, logits, FZ_VOCAB, &tok, &err) != LL_OK) break;
                    /* an id of the vocabulary, never the one at -inf (issue 9, item 6) */
                    if (tok < 0 || tok >= FZ_VOCAB || tok == 5) abort();
                    if (ll_chain_accept(c, tok, &err) != LL_OK) break;
                }
            }
            ll_chain_free(c);
        }
    }
    /* every argument as a --kv-type value: a name of the table, or an
     * error that quotes it */
    for (int i = 0; i < argc; i++) {
        ll_kv_type t = LL_KV_F32;
        if (ll_kv_type_parse(argv[i], &t, &err) == LL_OK) {
            if (!ll_kv_type_name(t) || strcmp(ll_kv_type_name(t), argv[i]) != 0) abort();
        } else if (err.status != LL_ERR_INVALID_ARGUMENT || t != LL_KV_F32) {
            abort();
        }
    }
    free(ids);
    ll_cli_sampling_free(&s);
    free(text);
    return 0;
}
