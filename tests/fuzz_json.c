/*
 * fuzz_json.c - libFuzzer target for the JSON reader (src/util/json.c) and
 * for the logits file of `logitlab sample --logits FILE` (a JSON array, an
 * object with "logits", or raw float32), which is run here as the command
 * runs it, on the input written to a memory file. Run by scripts/fuzz.sh
 * (with -close_fd_mask=2: the command's error messages would flood the
 * log; crash reports still show).
 */
#define _GNU_SOURCE
#include "fuzz_common.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "commands.h"
#include "util/json.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static int memfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    /* the command prints its result: keep the write succeeding, unseen */
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        close(null);
    }
    memfd = memfd_create("fuzz_json", 0);
    if (memfd < 0) abort();
    return 0;
}

/* Reads every node back through the accessors (bounded depth: the tree
 * walk here must not be what overflows the stack). */
static void walk(const lj_value *v, int depth) {
    if (!v || depth > 200) return;
    switch (v->type) {
    case LJ_NUM:
    case LJ_STR:
        (void)lj_num(v);
        (void)lj_is_num(v);
        if (v->type == LJ_STR) (void)strlen(v->str);
        break;
    case LJ_ARR:
        for (size_t i = 0; i < v->n; i++) walk(lj_at(v, i), depth + 1);
        (void)lj_at(v, v->n);
        break;
    case LJ_OBJ:
        for (size_t i = 0; i < v->n; i++) {
            (void)lj_get(v, v->keys[i]);
            walk(v->items[i], depth + 1);
        }
        (void)lj_get(v, "logits");
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ll_error err;
    lj_doc *d = lj_parse((const char *)data, size, &err);
    if (d) {
        walk(lj_root(d), 0);
        lj_free(d);
    }
    if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size) abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
    char *argv[] = {"--logits", path, "--compact", "--candidates", "4", "--top-k", "8", "--temperature", "0.7", NULL};
    (void)ll_cmd_sample(9, argv);
    return 0;
}
