/*
 * chain_impl.h - the chain's layout, shared with the parts of logitlab that
 * drive a chain directly (processor tests, beam search).
 */
#ifndef LL_CHAIN_IMPL_H
#define LL_CHAIN_IMPL_H

#include "sampler_impl.h"
#include "trace.h"

struct ll_chain {
    size_t n_vocab;
    ll_sampler **s;
    size_t n, cap;
    ll_workspace ws;
    ll_candidates cur;
    bool have_result;
    int32_t *hist;
    size_t hist_n, hist_cap, prompt_len;
    ll_trace *trace;
};

/* Runs every stage on c (already initialised on the chain's workspace). */
ll_status ll_chain_run(ll_chain *ch, ll_candidates *c, ll_error *err);

#endif /* LL_CHAIN_IMPL_H */
