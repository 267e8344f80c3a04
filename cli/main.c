/*
 * main.c - the logitlab command: dispatches to a subcommand, and checks
 * that what it wrote reached its destination.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"

static void usage(FILE *f) {
    fprintf(f,
            "logitlab %s - LLM inference hyperparameters, exact and explained\n"
            "\n"
            "usage: logitlab COMMAND [options]\n"
            "\n"
            "commands:\n"
            "  explain    the hyperparameter tour: concept, source and live demo, one at a time\n"
            "  inspect    the next-token distribution after every stage of a sampling chain\n"
            "  sample     apply a sampling chain to a logits vector (no model needed)\n"
            "  compare    the same settings under every profile, side by side, and why they differ\n"
            "  info       a model's metadata, hyperparameters and tensors\n"
            "  tokenize   token ids and pieces of a text\n"
            "  generate   generate text: every hyperparameter as a flag, streaming, --json\n"
            "  serve      an OpenAI-compatible HTTP server: every hyperparameter as a request field\n"
            "  conform    does an OpenAI-compatible server honour each sampling parameter? verdicts with evidence\n"
            "  logits     next-token logits of a prompt\n"
            "  bench      prompt and generation speed of a model\n"
            "  convert    write a model as a GGUF of another tensor type\n"
            "  synth      write a synthetic Llama GGUF with random weights\n"
            "  version    print the version and the SIMD level in use\n"
            "\n"
            "Run 'logitlab COMMAND --help' for the options of a command.\n",
            LL_VERSION_STRING);
}

static int dispatch(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "sample")) return ll_cmd_sample(argc - 2, argv + 2);
    if (!strcmp(cmd, "info")) return ll_cmd_info(argc - 2, argv + 2);
    if (!strcmp(cmd, "tokenize")) return ll_cmd_tokenize(argc - 2, argv + 2);
    if (!strcmp(cmd, "explain")) return ll_cmd_explain(argc - 2, argv + 2);
    if (!strcmp(cmd, "inspect")) return ll_cmd_inspect(argc - 2, argv + 2);
    if (!strcmp(cmd, "compare")) return ll_cmd_compare(argc - 2, argv + 2);
    if (!strcmp(cmd, "generate")) return ll_cmd_generate(argc - 2, argv + 2);
    if (!strcmp(cmd, "serve")) return ll_cmd_serve(argc - 2, argv + 2);
    if (!strcmp(cmd, "conform")) return ll_cmd_conform(argc - 2, argv + 2);
    if (!strcmp(cmd, "logits")) return ll_cmd_logits(argc - 2, argv + 2);
    if (!strcmp(cmd, "bench")) return ll_cmd_bench(argc - 2, argv + 2);
    if (!strcmp(cmd, "convert")) return ll_cmd_convert(argc - 2, argv + 2);
    if (!strcmp(cmd, "synth")) return ll_cmd_synth(argc - 2, argv + 2);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("logitlab %s (simd: %s)\n", LL_VERSION_STRING, ll_simd_level_name());
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "logitlab: unknown command '%s'\n\n", LL_Q(cmd));
    usage(stderr);
    return 2;
}

int main(int argc, char **argv) {
    /* A reader that went away (`logitlab generate | head -c 1`) makes the
     * next write fail with EPIPE instead of killing us without a word: the
     * streaming loop then stops, and the exit check below says why and
     * exits 1. A full disk (ENOSPC) takes the same path. */
    signal(SIGPIPE, SIG_IGN);
    return ll_cli_finish_output(dispatch(argc, argv));
}
