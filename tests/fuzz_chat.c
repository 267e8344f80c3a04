/*
 * fuzz_chat.c - libFuzzer target for chat templates (ll_chat_apply): the
 * template text comes from a model file (tokenizer.chat_template), so it
 * is outside input, and so are the messages a server receives. The input
 * is the template, a NUL byte, then messages as "role\x01content\x02"...;
 * both rendering styles run on every input, with and without the
 * generation prompt. A rendering must succeed with a string of the length
 * it reports or fail with a message. Run by scripts/fuzz.sh.
 */
#include "fuzz_common.h"

#define FZ_MAX_MSGS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* the template: up to the first NUL (all of it when there is none) */
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    buf[tlen] = '\0';
    /* messages: role \x01 content \x02, in place */
    ll_chat_message msgs[FZ_MAX_MSGS];
    size_t n = 0;
    char *p = nul ? buf + tlen + 1 : buf + size;
    while (*p && n < FZ_MAX_MSGS) {
        char *sep = strchr(p, '\x01');
        if (!sep) break;
        *sep = '\0';
        char *end = strchr(sep + 1, '\x02');
        if (end) *end = '\0';
        msgs[n].role = p;
        msgs[n].content = sep + 1;
        n++;
        if (!end) break;
        p = end + 1;
    }
    if (n == 0) { /* a conversation every family accepts */
        static const ll_chat_message dflt[2] = {{"user", "Hello"}, {"assistant", "Hi there"}};
        memcpy(msgs, dflt, sizeof dflt);
        n = 2;
    }
    for (int style = 0; style < 2; style++)
        for (int add = 0; add < 2; add++) {
            ll_error err;
            char *out = NULL;
            size_t len = 0;
            if (ll_chat_apply_style(buf, (ll_chat_style)style, msgs, n, add != 0, &out, &len, &err) == LL_OK) {
                if (!out || strlen(out) != len) abort(); /* the reported length is the string's */
                free(out);
            } else {
                fz_report("chat", &err);
            }
        }
    free(buf);
    return 0;
}
