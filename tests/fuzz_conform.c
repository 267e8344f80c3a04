/*
 * fuzz_conform.c - libFuzzer target for what `logitlab conform` reads from
 * a server: the input is answer bodies separated by NUL bytes, given to the
 * requests in their order (GET /models, the greedy completion, /tokenize,
 * every probe's request); each is read, every probe is judged and the
 * report written both ways. The seed is a recorded run against
 * `logitlab serve` (tests/conform/fuzz-seed.bin).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform/conform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BODIES 40

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *bodies[MAX_BODIES];
    size_t lens[MAX_BODIES], n = 0, start = 0;
    for (size_t i = 0; i <= size && n < MAX_BODIES; i++)
        if (i == size || data[i] == 0) {
            bodies[n] = (const char *)data + start;
            lens[n++] = i - start;
            start = i + 1;
        }
    /* each reader alone on the first body, then the whole run */
    cf_answer a;
    for (int chat = 0; chat < 2; chat++) {
        cf_answer_parse(&a, 200, bodies[0], lens[0], chat);
        cf_answer_free(&a);
    }
    cf_answer_parse(&a, 400, bodies[0], lens[0], false);
    cf_answer_free(&a);
    cf_tokens t;
    char *why = NULL;
    if (cf_tokens_parse(&t, bodies[0], lens[0], &why)) cf_tokens_free(&t);
    free(why);
    cf_report rep;
    cf_judge_bodies(bodies, lens, n, &rep);
    static FILE *null;
    if (!null) null = fopen("/dev/null", "w");
    if (null && rep.results) {
        cf_report_print(&rep, null);
        cf_report_json(&rep, null);
    }
    cf_report_free(&rep);
    return 0;
}
