/*
 * commands.h - the logitlab subcommands (each gets argv after its name).
 */
#ifndef LL_CLI_COMMANDS_H
#define LL_CLI_COMMANDS_H

#include "logitlab.h"
#include "util/json.h"

int ll_cmd_sample(int argc, char **argv);
int ll_cmd_info(int argc, char **argv);
int ll_cmd_tokenize(int argc, char **argv);
int ll_cmd_logits(int argc, char **argv);
int ll_cmd_synth(int argc, char **argv);
int ll_cmd_bench(int argc, char **argv);
int ll_cmd_generate(int argc, char **argv);
int ll_cmd_convert(int argc, char **argv);
int ll_cmd_explain(int argc, char **argv);
int ll_cmd_inspect(int argc, char **argv);
int ll_cmd_compare(int argc, char **argv);
int ll_cmd_serve(int argc, char **argv);
int ll_cmd_conform(int argc, char **argv);
/* -m PATH, or the embedded default model when PATH is NULL. --tokenizer is
 * for llama2.c checkpoints: with a GGUF -m (ll_model_load refuses it) or
 * with the embedded model it is an error naming both. */
ll_model *ll_cli_load_model(const char *path, const char *tokenizer, ll_error *err);
/* key: the text as a JSON string; when it is not valid UTF-8 (the string
 * then has U+FFFD for the invalid bytes) also bytes_key: its exact bytes. */
void ll_cli_write_text(lj_writer *w, const char *key, const char *bytes_key, const char *s, size_t n);
/* "id" and "token" (its decoded bytes, whole) of a JSON object being
 * written, and "bytes" when the token is not valid UTF-8 by itself (a
 * byte-fallback token, part of a character). */
void ll_cli_write_token_fields(lj_writer *w, const ll_tokenizer *tok, int32_t id);
/* A logits vector from PATH ('-': standard input), as `sample` and
 * `compare` take it: a JSON array of numbers ("-inf" allowed; "nan" read so
 * the chain rejects it naming its index) or an object with "logits", or raw
 * little-endian float32; format "json", "f32" or NULL (guessed from the
 * first byte). At most LL_CLI_INPUT_MAX bytes; a FIFO or a directory is an
 * error naming it. malloc'ed; NULL with err set. */
float *ll_cli_load_logits(const char *path, const char *format, size_t *n_out, ll_error *err);
/* The chain's stages, whole, e.g. "top_k(k=40) -> dist(seed=42)" (malloc'ed;
 * NULL when out of memory). */
char *ll_cli_chain_describe(const ll_chain *ch);
/* The trace's stages as a JSON array; tok (may be NULL) adds each token's text. */
void ll_cli_write_trace(lj_writer *w, const ll_trace *trace, const ll_tokenizer *tok);
/* One stage's record (counts, mass, entropies, selected, top tokens before
 * and after, at most top_n each): the fields every trace writer shares. */
void ll_cli_write_stage_fields(lj_writer *w, const ll_trace_stage *st, const ll_tokenizer *tok, size_t top_n);
/* A token as {"id", "token"...} with a tokenizer, {"id"} without. */
void ll_cli_write_token_ref(lj_writer *w, const ll_tokenizer *tok, int32_t id);

#endif /* LL_CLI_COMMANDS_H */
