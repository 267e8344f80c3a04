/*
 * test_threads.c - threads: a model's logits are the same bits at 1, 2, 3
 * and 4 threads (prompt and one-token steps; the embedded KJV model,
 * stories260K and the synthetic model in F32, Q8_0 and Q4_K_M); the
 * default thread count (ll_model_default_threads) lies in [1, CPUs], is
 * one thread per 6 MiB of the weights a token reads (ll_model_token_bytes,
 * checked against the file's tensor list) and follows the affinity mask;
 * the pool runs every chunk of every job exactly once, each slot on one
 * thread at a time, through thousands of small jobs, sleeping and late
 * workers (a chunk that sleeps milliseconds, as a worker without a core
 * does) and jobs of more chunks than one claim word counts. Nothing here
 * measures speed; an alarm only turns a hang into a failure.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "test_util.h"

#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "kernels/threadpool.h"

#define N_PROMPT     20 /* more than LL_BATCH_SHORT_RUN: the prompt GEMMs */
#define N_STEPS      12
#define HANG_SECONDS 600 /* the whole test takes seconds; this catches a deadlock */
#define STR_(x)      #x
#define STR(x)       STR_(x)

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "FAIL test_threads: not done after " STR(HANG_SECONDS) " s (a pool deadlock?)\n";
    if (write(2, msg, sizeof msg - 1) < 0) _exit(2);
    _exit(1);
}

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* ---- the same bits at every thread count ---- */

/* the prompt's logits then each step's (greedy on the 1-thread run's
 * choices, so every run decodes the same tokens): (1 + N_STEPS) x V */
static float *run(const ll_model *m, int threads, const int32_t *steps) {
    ll_error err;
    size_t V = ll_model_get_info(m)->n_vocab;
    float *out = calloc((1 + N_STEPS) * V, sizeof *out);
    ll_context *c = ll_context_new(m, 64, threads, &err);
    CHECK(c != NULL, "%d threads: %s", threads, err.message);
    if (!c || !out) {
        free(out);
        ll_context_free(c);
        return NULL;
    }
    int32_t p[N_PROMPT];
    for (size_t i = 0; i < N_PROMPT; i++) p[i] = (int32_t)(1 + (31 * i + 7) % (V - 1));
    CHECK_OK(ll_context_decode(c, p, N_PROMPT, out, NULL, &err), err);
    for (size_t s = 0; s < N_STEPS; s++)
        CHECK_OK(ll_context_decode(c, &steps[s], 1, out + (s + 1) * V, NULL, &err), err);
    ll_context_free(c);
    return out;
}

static void same_bits(const char *name, const ll_model *m) {
    size_t V = ll_model_get_info(m)->n_vocab;
    int32_t steps[N_STEPS];
    for (size_t s = 0; s < N_STEPS; s++) steps[s] = (int32_t)(2 + (13 * s) % (V - 2));
    float *ref = run(m, 1, steps);
    if (!ref) return;
    for (int t = 2; t <= 4; t++) {
        float *got = run(m, t, steps);
        if (!got) continue;
        size_t first = (1 + N_STEPS) * V;
        for (size_t i = 0; i < (1 + N_STEPS) * V && first == (1 + N_STEPS) * V; i++)
            if (memcmp(&got[i], &ref[i], sizeof(float)) != 0) first = i;
        CHECK(first == (1 + N_STEPS) * V, "%s: %d threads differ from 1 at step %zu, token %zu: %.9g vs %.9g", name, t,
              first / V, first % V, (double)got[first], (double)ref[first]);
        free(got);
    }
    free(ref);
}

/* ---- the default thread count ---- */

static int affinity_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return (int)sysconf(_SC_NPROCESSORS_ONLN);
    return CPU_COUNT(&set);
}

/* What a token reads, from the file's tensor list: every 2-D tensor but
 * the embeddings, which count once as the output matrix when the model
 * has none of its own (tied). */
static uint64_t listed_token_bytes(const ll_model *m) {
    const ll_gguf *g = ll_model_gguf(m);
    uint64_t sum = 0, embd = 0;
    bool has_output = false;
    ll_tensor_entry t;
    for (size_t i = 0; ll_gguf_tensor_at(g, i, &t); i++) {
        if (t.n_dims != 2) continue;
        if (!strcmp(t.name, "token_embd.weight")) {
            embd = t.n_bytes;
            continue;
        }
        if (!strcmp(t.name, "output.weight")) has_output = true;
        sum += t.n_bytes;
    }
    return has_output ? sum : sum + embd;
}

static void default_choice(const char *name, const ll_model *m, int want_at_most) {
    int cpus = ll_cpus_available(), d = ll_model_default_threads(m);
    uint64_t bytes = ll_model_token_bytes(m);
    CHECK(d >= 1 && d <= cpus, "%s: default %d threads, outside [1, %d CPUs]", name, d, cpus);
    if (ll_model_gguf(m))
        CHECK(bytes == listed_token_bytes(m), "%s: %llu bytes per token, the tensor list says %llu", name,
              (unsigned long long)bytes, (unsigned long long)listed_token_bytes(m));
    uint64_t want = bytes / ((uint64_t)6 << 20);
    if (want < 1) want = 1;
    if (want > (uint64_t)cpus) want = (uint64_t)cpus;
    CHECK(d == (int)want, "%s: default %d threads for %llu bytes per token and %d CPUs, want %d", name, d,
          (unsigned long long)bytes, cpus, (int)want);
    CHECK(want_at_most == 0 || d <= want_at_most, "%s: default %d threads, want at most %d", name, d, want_at_most);
}

static void cpus_follow_affinity(const ll_model *two_threads) {
    int cpus = ll_cpus_available();
    CHECK(cpus >= 1 && cpus <= LL_POOL_MAX_THREADS, "ll_cpus_available() = %d", cpus);
    int mask = affinity_cpus();
    CHECK(cpus == (mask < LL_POOL_MAX_THREADS ? mask : LL_POOL_MAX_THREADS), "ll_cpus_available() = %d, mask has %d",
          cpus, mask);
    /* one CPU: one thread for any model */
    cpu_set_t old, one;
    if (sched_getaffinity(0, sizeof old, &old) != 0) return;
    int first = 0;
    while (first < CPU_SETSIZE && !CPU_ISSET(first, &old)) first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    CHECK(sched_setaffinity(0, sizeof one, &one) == 0, "cannot pin to CPU %d", first);
    CHECK(ll_cpus_available() == 1, "pinned to one CPU: ll_cpus_available() = %d", ll_cpus_available());
    CHECK(ll_model_default_threads(two_threads) == 1, "pinned to one CPU: default %d threads",
          ll_model_default_threads(two_threads));
    CHECK(sched_setaffinity(0, sizeof old, &old) == 0, "cannot restore the affinity mask");
    CHECK(ll_cpus_available() == cpus, "mask restored: %d CPUs, was %d", ll_cpus_available(), cpus);
}

/* ---- the pool ---- */

#define MAX_CHUNKS_TESTED 70000 /* more than the 0xFFFF one claim word counts */
#define MAX_SLOTS         8

typedef struct {
    atomic_int runs[MAX_CHUNKS_TESTED];
    atomic_int busy[MAX_SLOTS];
    atomic_int bad_slot;
    int n_slots;
    size_t late; /* this chunk sleeps 3 ms when a worker runs it (SIZE_MAX: none) */
} stress;

static void stress_chunk(void *ctx, size_t i, int slot) {
    stress *s = ctx;
    bool ok = slot >= 0 && slot < s->n_slots && !atomic_exchange(&s->busy[slot], 1);
    if (!ok) atomic_fetch_add(&s->bad_slot, 1);
    if (i == s->late && slot != 0) sleep_us(3000);
    if (i < MAX_CHUNKS_TESTED) atomic_fetch_add(&s->runs[i], 1);
    if (ok) atomic_store(&s->busy[slot], 0);
}

/* every one of runs[0..n) is 1 (then cleared); returns how many were not */
static size_t check_once(stress *s, size_t n) {
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) wrong += atomic_exchange(&s->runs[i], 0) != 1;
    return wrong;
}

static void pool_stress(int n_threads) {
    ll_error err;
    ll_pool *p = ll_pool_new(n_threads, &err);
    CHECK(p != NULL, "%d threads: %s", n_threads, err.message);
    stress *s = calloc(1, sizeof *s);
    if (!p || !s) {
        ll_pool_free(p);
        free(s);
        return;
    }
    CHECK(ll_pool_size(p) == n_threads, "pool of %d has size %d", n_threads, ll_pool_size(p));
    s->n_slots = n_threads;
    size_t calls = 0, wrong_calls = 0;
    for (int k = 0; k < 3000; k++) {
        size_t n = (size_t)(k * 7 % 70);
        s->late = k % 97 == 5 && n ? n - 1 : SIZE_MAX;
        ll_pool_for(p, n, k % 6, stress_chunk, s); /* max_threads 0: all of them */
        wrong_calls += check_once(s, n) != 0;
        calls++;
        if (k % 211 == 0) sleep_us(2000); /* the workers go to sleep: the next job wakes them */
    }
    s->late = 12345;
    ll_pool_for(p, MAX_CHUNKS_TESTED, 0, stress_chunk, s);
    wrong_calls += check_once(s, MAX_CHUNKS_TESTED) != 0;
    calls++;
    CHECK(wrong_calls == 0, "%d threads: %zu of %zu jobs ran a chunk other than exactly once", n_threads, wrong_calls,
          calls);
    CHECK(atomic_load(&s->bad_slot) == 0, "%d threads: %d chunks ran with a slot out of range or in use", n_threads,
          atomic_load(&s->bad_slot));
    ll_pool_free(p);
    free(s);
}

static void pool_limits(void) {
    ll_error err;
    CHECK(ll_pool_new(0, &err) == NULL && err.status == LL_ERR_INVALID_ARGUMENT, "a pool of 0 threads");
    CHECK(strstr(err.message, "n_threads = 0 is out of range: valid is [1, 512]") != NULL, "message: %s", err.message);
    CHECK(ll_pool_new(LL_POOL_MAX_THREADS + 1, &err) == NULL, "a pool of 513 threads");
    CHECK(strstr(err.message, "n_threads = 513 is out of range") != NULL, "message: %s", err.message);
}

int main(void) {
    signal(SIGALRM, on_alarm);
    alarm(HANG_SECONDS);
    char path[1024];
    ll_error err;

    pool_limits();
    for (int n = 1; n <= MAX_SLOTS; n *= 2) pool_stress(n);
    pool_stress(3);

    ll_model *kjv = ll_model_load_default(&err);
    CHECK(kjv != NULL, "%s", err.message);
    if (kjv) {
        same_bits("KJV", kjv);
        default_choice("KJV", kjv, 1); /* 5.5 MiB per token: a second thread does not pay */
        CHECK(ll_model_token_bytes(kjv) == 5814272, "KJV: %llu bytes per token",
              (unsigned long long)ll_model_token_bytes(kjv));
    }
    static const char *files[] = {"models/stories260K.gguf", "models/synthetic/synth-t1-F32.gguf",
                                  "models/synthetic/synth-t1-Q8_0.gguf", "models/synthetic/synth-t1-Q4_K_M.gguf"};
    for (size_t i = 0; i < LL_ARRAY_LEN(files); i++) {
        snprintf(path, sizeof path, "%s/%s", tu_shared(), files[i]);
        ll_model *m = ll_model_load(path, NULL, &err);
        CHECK(m != NULL, "%s: %s", path, err.message);
        if (!m) continue;
        same_bits(files[i], m);
        default_choice(files[i], m, 0);
        /* the F32 synthetic model reads 12.5 MiB per token: two threads where there are two CPUs */
        if (i == 1) {
            CHECK(ll_model_default_threads(m) == (ll_cpus_available() >= 2 ? 2 : 1), "synth F32: default %d",
                  ll_model_default_threads(m));
            cpus_follow_affinity(m);
        }
        ll_model_free(m);
    }
    ll_model_free(kjv);

    printf("test_threads: %d/%d checks passed\n", tu_checks - tu_failures, tu_checks);
    return tu_failures ? 1 : 0;
}
