/*
 * chat.c - chat templates: a conversation (system/user/assistant messages)
 * to the prompt text a model was trained on (ll_chat_apply).
 *
 * A model's GGUF carries its Hugging Face chat template as Jinja source
 * (tokenizer.chat_template). logitlab has no Jinja engine: like llama.cpp's
 * built-in renderer, it recognises the template's family from marker text
 * and formats with its own code. Unlike llama.cpp, the default output is
 * what the template itself renders (checked byte for byte against Jinja
 * renderings in tests/data/chat, tools/render_chat_templates.py), with the
 * variant's details found in the text too: the Llama 3.1 date preamble, the
 * Qwen default system prompt, Qwen3's thinking blocks, Gemma's system
 * handling, the Phi-3 end of text. LL_CHAT_LLAMACPP gives llama.cpp's
 * built-in rendering instead (llama_chat_apply_template), which the
 * reference files of ../shared/models/arch hold. docs/chat.md has the
 * families, the markers and every difference between the two.
 *
 * A template that matches no family, or a variant whose Jinja semantics are
 * not implemented, is an error that quotes the template's start: never a
 * silent guess.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../format/gguf.h"

/* Bounds on what a caller or a file may hand over: far above any real chat
 * (templates are a few KB, conversations a context's worth of text). */
#define LL_CHAT_MAX_TEMPLATE ((size_t)1 << 24) /* bytes of template text */
#define LL_CHAT_MAX_MESSAGES ((size_t)1 << 20)
#define LL_CHAT_MAX_TOTAL    ((size_t)1 << 30) /* bytes of content, all messages together */

#define LL_CHAT_FAMILIES "llama2, llama3, chatml (Qwen), mistral, gemma, phi3, zephyr, logitlab"

typedef enum { F_LLAMA2, F_LLAMA3, F_CHATML, F_MISTRAL, F_GEMMA, F_PHI3, F_ZEPHYR, F_LOGITLAB } family;

static const char *const family_names[] = {"llama2", "llama3", "chatml", "mistral",
                                           "gemma",  "phi3",   "zephyr", "logitlab"};

/* llama.cpp's own variants within the families (llm_chat_template). */
typedef enum {
    LC_PLAIN, /* the family has one form */
    LC_L2,
    LC_L2_SYS,
    LC_L2_SYS_BOS,
    LC_L2_SYS_STRIP,
    LC_M_V1,
    LC_M_V3,
    LC_M_V3_TEKKEN,
    LC_M_V7,
    LC_M_V7_TEKKEN
} lc_variant;

/* The Jinja templates whose semantics are implemented. */
typedef enum {
    J_NONE, /* recognised family, Jinja form not implemented: see jinja_why */
    J_LLAMA2_META,
    J_MISTRAL_LEGACY,
    J_LLAMA3,
    J_LLAMA31,
    J_CHATML, /* + default_system for Qwen 2 / 2.5 */
    J_QWEN3,
    J_GEMMA2,
    J_GEMMA3,
    J_PHI3,
    J_ZEPHYR,
    J_LOGITLAB
} jinja_variant;

typedef struct {
    family fam;
    lc_variant lc;
    jinja_variant jv;
    const char *jinja_why;
    const char *bos, *eos;      /* the family's bos_token / eos_token texts */
    char *default_system;       /* Qwen: the system turn used when there is none (owned) */
    char date[64];              /* Llama 3.1: date_string's default */
    bool phi_skip_empty_system; /* Phi-3.5: "'system' and message['content']" */
    bool phi_eos_at_end;        /* "{% else %}{{ eos_token }}": EOS text without a generation prompt */
} chat_spec;

/* ---- output buffer ---- */

typedef struct {
    char *p;
    size_t len, cap;
    ll_status st;
    ll_error *err;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
    if (b->st != LL_OK || n == 0) return;
    size_t need;
    if (__builtin_add_overflow(b->len, n + 1, &need)) {
        b->st = ll_fail(b->err, LL_ERR_OUT_OF_MEMORY, "chat: the rendered prompt exceeds %zu bytes", (size_t)SIZE_MAX);
        return;
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        char *np = ll_realloc_array(b->p, cap, 1, b->err);
        if (!np) {
            b->st = LL_ERR_OUT_OF_MEMORY;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}
static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

/* ---- whitespace as the two renderers see it ---- */

/* Python's str.strip() (Jinja's trim filter, .strip() in templates) removes
 * every code point str.isspace() accepts, Unicode ones included; returns the
 * UTF-8 length of the one starting at s (0 if none). */
static size_t py_space_len(const unsigned char *s, size_t n) {
    if (n >= 1 && ((s[0] >= 0x09 && s[0] <= 0x0d) || (s[0] >= 0x1c && s[0] <= 0x20))) return 1;
    if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0)) return 2;
    if (n >= 3 && s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) return 3; /* U+1680 */
    if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] <= 0x8a || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
        return s[2] >= 0x80 ? 3 : 0;                                      /* U+2000-200A, 2028, 2029, 202F */
    if (n >= 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) return 3; /* U+205F */
    if (n >= 3 && s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) return 3; /* U+3000 */
    return 0;
}

typedef struct {
    const char *p;
    size_t n;
} span;

static span py_strip(span s) {
    const unsigned char *u = (const unsigned char *)s.p;
    size_t a = 0, e = s.n, k;
    while (a < e && (k = py_space_len(u + a, e - a)) > 0) a += k;
    for (;;) {
        bool cut = false;
        for (k = 1; k <= 3 && k <= e - a; k++)
            if (py_space_len(u + e - k, k) == k) {
                e -= k;
                cut = true;
                break;
            }
        if (!cut) break;
    }
    return (span){s.p + a, e - a};
}

/* llama.cpp's trim(): isspace() in the C locale, byte by byte. */
static span c_trim(span s) {
    size_t a = 0, e = s.n;
    while (a < e && strchr(" \t\n\v\f\r", s.p[a]) && s.p[a]) a++;
    while (e > a && strchr(" \t\n\v\f\r", s.p[e - 1]) && s.p[e - 1]) e--;
    return (span){s.p + a, e - a};
}

static span lstrip_nl(span s) {
    while (s.n && s.p[0] == '\n') s.p++, s.n--;
    return s;
}
static span rstrip_nl(span s) {
    while (s.n && s.p[s.n - 1] == '\n') s.n--;
    return s;
}

static span S(const char *s) { return (span){s, strlen(s)}; }
static void puts_span(sbuf *b, span s) { put(b, s.p, s.n); }

/* memmem over spans: the first occurrence of needle in h, or NULL. */
static const char *find(span h, const char *needle) {
    size_t m = strlen(needle);
    if (m == 0 || m > h.n) return NULL;
    for (size_t i = 0; i + m <= h.n; i++)
        if (h.p[i] == needle[0] && memcmp(h.p + i, needle, m) == 0) return h.p + i;
    return NULL;
}
static const char *find_last(span h, const char *needle) {
    size_t m = strlen(needle);
    if (m == 0 || m > h.n) return NULL;
    for (size_t i = h.n - m + 1; i-- > 0;)
        if (memcmp(h.p + i, needle, m) == 0) return h.p + i;
    return NULL;
}

static bool has(const char *t, const char *needle) { return strstr(t, needle) != NULL; }

/* ---- recognising a template ---- */

/* Reads a Jinja string literal's text (the escapes \n, \t, \\, \', \")
 * from s up to the closing quote q or the marker end (exclusive). */
static char *jinja_literal_until(const char *s, char q, const char *end_marker, ll_error *err) {
    const char *e = strstr(s, end_marker);
    const char *close = strchr(s, q);
    if (!e || (close && close < e)) return NULL;
    char *out = ll_malloc((size_t)(e - s) + 1, err);
    if (!out) return NULL;
    size_t o = 0;
    for (const char *p = s; p < e; p++) {
        if (*p == '\\' && p + 1 < e) {
            p++;
            out[o++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return out;
}

/* Qwen 2 / 2.5 templates open the conversation with a fixed system turn
 * when the messages have none: a literal '<|im_start|>system\n<text><|im_end|>'. */
static ll_status find_default_system(const char *t, chat_spec *sp, ll_error *err) {
    static const char *const openers[] = {"'<|im_start|>system\\n", "\"<|im_start|>system\\n"};
    for (size_t k = 0; k < LL_ARRAY_LEN(openers); k++) {
        for (const char *p = strstr(t, openers[k]); p; p = strstr(p + 1, openers[k])) {
            const char *s = p + strlen(openers[k]);
            if (*s == openers[k][0] || *s == '\0') continue; /* '<|im_start|>system\n' + messages[0]... */
            char *text = jinja_literal_until(s, openers[k][0], "<|im_end|>", err);
            if (text) {
                sp->default_system = text;
                return LL_OK;
            }
            if (err && err->status == LL_ERR_OUT_OF_MEMORY) return LL_ERR_OUT_OF_MEMORY;
        }
    }
    return LL_OK;
}

static void lc_mistral(const char *t, chat_spec *sp) {
    /* llama.cpp's order of tests (llm_chat_detect_template) */
    if (has(t, "[SYSTEM_PROMPT]"))
        sp->lc = LC_M_V7;
    else if (has(t, "' [INST] ' + system_message") || has(t, "[AVAILABLE_TOOLS]"))
        sp->lc = has(t, " [INST]") ? LC_M_V1 : has(t, "\"[INST]\"") ? LC_M_V3_TEKKEN : LC_M_V3;
    else if (has(t, "content.strip()"))
        sp->lc = LC_L2_SYS_STRIP;
    else if (has(t, "bos_token + '[INST]"))
        sp->lc = LC_L2_SYS_BOS;
    else if (has(t, "<<SYS>>"))
        sp->lc = LC_L2_SYS;
    else
        sp->lc = LC_L2;
}

static ll_status unknown_template(const char *t, size_t len, ll_error *err) {
    char q[LL_QUOTE_MAX];
    return ll_fail(err, LL_ERR_UNSUPPORTED,
                   "chat template not recognised: it starts '%s' (%zu bytes); supported families: " LL_CHAT_FAMILIES
                   " (or name one)",
                   ll_quote(q, t, LL_MIN(len, (size_t)60)), len);
}

static ll_status detect(const char *t, size_t len, chat_spec *sp, ll_error *err) {
    memset(sp, 0, sizeof *sp);
    sp->lc = LC_PLAIN;
    sp->bos = "";
    sp->eos = "";
    if (has(t, "<|im_start|>")) {
        if (has(t, "<|im_sep|>") || has(t, "<end_of_utterance>")) return unknown_template(t, len, err);
        sp->fam = F_CHATML;
        if (has(t, "reasoning_content") || has(t, "</think>")) {
            sp->jv = J_QWEN3;
        } else {
            sp->jv = J_CHATML;
            ll_status st = find_default_system(t, sp, err);
            if (st != LL_OK) return st;
        }
        return LL_OK;
    }
    if (strncmp(t, "mistral", 7) == 0 || has(t, "[INST]")) {
        lc_mistral(t, sp);
        sp->bos = "<s>";
        sp->eos = "</s>";
        sp->fam = has(t, "<<SYS>>") ? F_LLAMA2 : F_MISTRAL;
        if (sp->fam == F_LLAMA2 && has(t, "bos_token + '[INST] ' + content.strip() + ' [/INST]'") &&
            has(t, "' '  + content.strip() + ' ' + eos_token") && has(t, "system_message != false"))
            sp->jv = J_LLAMA2_META;
        else if (sp->fam == F_MISTRAL && has(t, "'[INST] ' + message['content'] + ' [/INST]'") &&
                 has(t, "message['content'] + eos_token") && sp->lc == LC_L2)
            sp->jv = J_MISTRAL_LEGACY;
        else
            sp->jinja_why =
                sp->fam == F_LLAMA2
                    ? "only Meta's Llama-2-chat template of the Llama 2 family is implemented"
                    : "of the Mistral templates only the v0.1/v0.2 one ('[INST] ' + content + ' [/INST]') is "
                      "implemented; Mistral's v1/v3/v7 templates have llama.cpp's rendering only";
        return LL_OK;
    }
    if (has(t, "<|start_header_id|>") && has(t, "<|end_header_id|>")) {
        sp->fam = F_LLAMA3;
        sp->bos = "<|begin_of_text|>";
        sp->eos = "<|eot_id|>";
        if (has(t, "Cutting Knowledge Date: December 2023")) {
            const char *d = strstr(t, "set date_string = \"");
            const char *e = d ? strchr(d + 19, '"') : NULL;
            if (!d || !e || (size_t)(e - d - 19) >= sizeof sp->date) {
                sp->jinja_why = "this Llama 3.1-style template has no literal default date_string";
            } else {
                memcpy(sp->date, d + 19, (size_t)(e - d - 19));
                sp->jv = J_LLAMA31;
            }
        } else {
            sp->jv = J_LLAMA3;
        }
        return LL_OK;
    }
    if (has(t, "<start_of_turn>")) {
        sp->fam = F_GEMMA;
        sp->bos = "<bos>";
        sp->eos = "<eos>";
        if (has(t, "first_user_prefix"))
            sp->jv = J_GEMMA3;
        else if (has(t, "System role not supported"))
            sp->jv = J_GEMMA2;
        else
            sp->jinja_why = "only the Gemma 1/2 and Gemma 3 templates of the Gemma family are implemented";
        return LL_OK;
    }
    if (has(t, "<|assistant|>") && has(t, "<|end|>")) {
        sp->fam = F_PHI3;
        sp->bos = "<s>";
        sp->eos = "<|endoftext|>";
        if (has(t, "<|system|>")) {
            sp->jv = J_PHI3;
            sp->phi_skip_empty_system = has(t, "'system' and message['content']");
            sp->phi_eos_at_end = has(t, "{% else %}{{ eos_token }}");
        } else {
            sp->jinja_why = "this Phi-3 template has no system turn (Phi-3-mini/medium's early form)";
        }
        return LL_OK;
    }
    if (has(t, "<|user|>") && !has(t, "[gMASK]") &&
        ((has(t, "<|assistant|>") && has(t, "+ eos_token")) || has(t, "<|endoftext|>"))) {
        sp->fam = F_ZEPHYR;
        sp->bos = "<s>";
        sp->eos = has(t, "<|endoftext|>") ? "<|endoftext|>" : "</s>";
        if (has(t, "loop.last and add_generation_prompt") && has(t, "+ eos_token"))
            sp->jv = J_ZEPHYR;
        else
            sp->jinja_why = "only the zephyr-7b-beta form of the Zephyr template is implemented";
        return LL_OK;
    }
    return unknown_template(t, len, err);
}

/* Names a caller may give instead of template text: llama.cpp's names for
 * these families (--chat-template NAME) and a few of our own. */
typedef struct {
    const char *name;
    family fam;
    lc_variant lc;
    jinja_variant jv;
    const char *default_system;
} chat_name;

static const chat_name chat_names[] = {
    {"chatml", F_CHATML, LC_PLAIN, J_CHATML, NULL},
    {"qwen2.5", F_CHATML, LC_PLAIN, J_CHATML, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."},
    {"qwen3", F_CHATML, LC_PLAIN, J_QWEN3, NULL},
    {"llama2", F_LLAMA2, LC_L2, J_LLAMA2_META, NULL},
    {"llama2-sys", F_LLAMA2, LC_L2_SYS, J_LLAMA2_META, NULL},
    {"llama2-sys-bos", F_LLAMA2, LC_L2_SYS_BOS, J_LLAMA2_META, NULL},
    {"llama2-sys-strip", F_LLAMA2, LC_L2_SYS_STRIP, J_LLAMA2_META, NULL},
    {"mistral", F_MISTRAL, LC_L2, J_MISTRAL_LEGACY, NULL},
    {"mistral-v1", F_MISTRAL, LC_M_V1, J_NONE, NULL},
    {"mistral-v3", F_MISTRAL, LC_M_V3, J_NONE, NULL},
    {"mistral-v3-tekken", F_MISTRAL, LC_M_V3_TEKKEN, J_NONE, NULL},
    {"mistral-v7", F_MISTRAL, LC_M_V7, J_NONE, NULL},
    {"mistral-v7-tekken", F_MISTRAL, LC_M_V7_TEKKEN, J_NONE, NULL},
    {"llama3", F_LLAMA3, LC_PLAIN, J_LLAMA3, NULL},
    {"llama3.1", F_LLAMA3, LC_PLAIN, J_LLAMA31, NULL},
    {"gemma", F_GEMMA, LC_PLAIN, J_GEMMA2, NULL},
    {"gemma3", F_GEMMA, LC_PLAIN, J_GEMMA3, NULL},
    {"phi3", F_PHI3, LC_PLAIN, J_PHI3, NULL},
    {"zephyr", F_ZEPHYR, LC_PLAIN, J_ZEPHYR, NULL},
    {"logitlab", F_LOGITLAB, LC_PLAIN, J_LOGITLAB, NULL},
};

static ll_status spec_from_name(const chat_name *cn, chat_spec *sp, ll_error *err) {
    static const char *const bos[] = {"<s>", "<|begin_of_text|>", "", "<s>", "<bos>", "<s>", "<s>", ""};
    static const char *const eos[] = {"</s>", "<|eot_id|>", "<|im_end|>", "</s>", "<eos>", "<|endoftext|>", "</s>", ""};
    memset(sp, 0, sizeof *sp);
    sp->fam = cn->fam;
    sp->lc = cn->lc;
    sp->jv = cn->jv;
    sp->bos = bos[cn->fam];
    sp->eos = eos[cn->fam];
    if (cn->jv == J_NONE) sp->jinja_why = "Mistral's v1/v3/v7 templates have llama.cpp's rendering only";
    if (cn->jv == J_LLAMA31) snprintf(sp->date, sizeof sp->date, "26 Jul 2024");
    if (cn->jv == J_PHI3) sp->phi_skip_empty_system = sp->phi_eos_at_end = true;
    if (cn->default_system && !(sp->default_system = ll_strdup(cn->default_system, err))) return LL_ERR_OUT_OF_MEMORY;
    return LL_OK;
}

static const chat_name *lookup_name(const char *s) {
    for (size_t i = 0; i < LL_ARRAY_LEN(chat_names); i++)
        if (strcmp(s, chat_names[i].name) == 0) return &chat_names[i];
    return NULL;
}

/* ---- rendering: the templates' own (Jinja) semantics ---- */

typedef struct {
    span role, content;
    int r; /* 0 system, 1 user, 2 assistant */
} msg;

enum { R_SYSTEM, R_USER, R_ASSISTANT };

static ll_status jinja_raise(ll_error *err, const char *family_name, const char *what) {
    return ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                   "the %s chat template rejects this conversation: \"%s\" (its own check; the llama.cpp style renders "
                   "it anyway)",
                   family_name, what);
}

#define ALTERNATE "Conversation roles must alternate user/assistant/user/assistant/..."

static ll_status render_jinja(const chat_spec *sp, const msg *m, size_t n, bool gen, sbuf *b) {
    ll_error *err = b->err;
    switch (sp->jv) {
    case J_NONE:
        return ll_fail(err, LL_ERR_UNSUPPORTED,
                       "this %s template is recognised, but %s: use the llama.cpp style (LL_CHAT_LLAMACPP) for it",
                       family_names[sp->fam], sp->jinja_why ? sp->jinja_why : "its Jinja form is not implemented");
    case J_LLAMA2_META: {
        size_t first = 0;
        bool has_sys = m[0].r == R_SYSTEM;
        if (has_sys) first = 1;
        for (size_t i = first; i < n; i++) {
            size_t k = i - first;
            if ((m[i].r == R_USER) != (k % 2 == 0)) return jinja_raise(err, "Llama 2", ALTERNATE);
        }
        for (size_t i = first; i < n; i++) {
            size_t k = i - first;
            sbuf c = {0};
            c.err = err;
            if (k == 0 && has_sys) {
                puts_(&c, "<<SYS>>\n");
                puts_span(&c, m[0].content);
                puts_(&c, "\n<</SYS>>\n\n");
            }
            puts_span(&c, m[i].content);
            if (c.st != LL_OK) {
                free(c.p);
                return c.st;
            }
            span cs = py_strip((span){c.p ? c.p : "", c.len});
            if (m[i].r == R_USER) {
                if (i > first) puts_(b, sp->bos); /* the first BOS is the tokenizer's */
                puts_(b, "[INST] ");
                puts_span(b, cs);
                puts_(b, " [/INST]");
            } else if (m[i].r == R_ASSISTANT) {
                puts_(b, " ");
                puts_span(b, cs);
                puts_(b, " ");
                puts_(b, sp->eos);
            }
            free(c.p);
        }
        return b->st; /* the template ignores add_generation_prompt */
    }
    case J_MISTRAL_LEGACY:
        for (size_t i = 0; i < n; i++) {
            if ((m[i].r == R_USER) != (i % 2 == 0)) return jinja_raise(err, "Mistral", ALTERNATE);
            if (m[i].r == R_USER) {
                puts_(b, "[INST] ");
                puts_span(b, m[i].content);
                puts_(b, " [/INST]");
            } else if (m[i].r == R_ASSISTANT) {
                puts_span(b, m[i].content);
                puts_(b, sp->eos);
            } else {
                return jinja_raise(err, "Mistral", "Only user and assistant roles are supported!");
            }
        }
        return b->st;
    case J_LLAMA3:
    case J_LLAMA31: {
        size_t first = 0;
        if (sp->jv == J_LLAMA31) {
            puts_(b,
                  "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: ");
            puts_(b, sp->date);
            puts_(b, "\n\n");
            if (m[0].r == R_SYSTEM) {
                puts_span(b, py_strip(m[0].content));
                first = 1;
            }
            puts_(b, "<|eot_id|>");
        }
        for (size_t i = first; i < n; i++) {
            puts_(b, "<|start_header_id|>");
            puts_span(b, m[i].role);
            puts_(b, "<|end_header_id|>\n\n");
            puts_span(b, py_strip(m[i].content));
            puts_(b, "<|eot_id|>");
        }
        if (gen) puts_(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        return b->st;
    }
    case J_CHATML:
    case J_QWEN3: {
        if (sp->default_system && m[0].r != R_SYSTEM) {
            puts_(b, "<|im_start|>system\n");
            puts_(b, sp->default_system);
            puts_(b, "<|im_end|>\n");
        }
        /* Qwen3: the last real user query (a user turn that is not only a tool response) */
        size_t last_query = n - 1;
        for (size_t i = n; i-- > 0;) {
            span c = m[i].content;
            bool tool = c.n >= 15 && memcmp(c.p, "<tool_response>", 15) == 0 && c.n >= 16 &&
                        memcmp(c.p + c.n - 16, "</tool_response>", 16) == 0;
            if (m[i].r == R_USER && !tool) {
                last_query = i;
                break;
            }
        }
        for (size_t i = 0; i < n; i++) {
            puts_(b, "<|im_start|>");
            puts_span(b, m[i].role);
            puts_(b, "\n");
            if (sp->jv == J_QWEN3 && m[i].r == R_ASSISTANT) {
                span content = m[i].content, reasoning = S("");
                const char *close = find(content, "</think>");
                if (close) {
                    const char *last = find_last(content, "</think>");
                    span after = {last + 8, (size_t)(content.p + content.n - (last + 8))};
                    span before = rstrip_nl((span){content.p, (size_t)(close - content.p)});
                    const char *open = find_last(before, "<think>");
                    if (open) before = (span){open + 7, (size_t)(before.p + before.n - (open + 7))};
                    reasoning = lstrip_nl(before);
                    content = lstrip_nl(after);
                }
                if (i > last_query && (i == n - 1 || reasoning.n > 0)) {
                    puts_(b, "<think>\n");
                    puts_span(b, rstrip_nl(lstrip_nl(reasoning)));
                    puts_(b, "\n</think>\n\n");
                    puts_span(b, lstrip_nl(content));
                } else {
                    puts_span(b, content);
                }
            } else {
                puts_span(b, m[i].content);
            }
            puts_(b, "<|im_end|>\n");
        }
        if (gen) puts_(b, "<|im_start|>assistant\n");
        return b->st;
    }
    case J_GEMMA2:
    case J_GEMMA3: {
        size_t first = 0;
        span prefix = S("");
        if (m[0].r == R_SYSTEM) {
            if (sp->jv == J_GEMMA2) return jinja_raise(err, "Gemma", "System role not supported");
            prefix = m[0].content;
            first = 1;
        }
        for (size_t i = first; i < n; i++)
            if ((m[i].r == R_USER) != ((i - first) % 2 == 0)) return jinja_raise(err, "Gemma", ALTERNATE);
        for (size_t i = first; i < n; i++) {
            puts_(b, "<start_of_turn>");
            puts_(b, m[i].r == R_ASSISTANT ? "model" : m[i].r == R_USER ? "user" : "system");
            puts_(b, "\n");
            if (i == first && first == 1) {
                puts_span(b, prefix);
                puts_(b, "\n\n");
            }
            puts_span(b, py_strip(m[i].content));
            puts_(b, "<end_of_turn>\n");
        }
        if (gen) puts_(b, "<start_of_turn>model\n");
        return b->st;
    }
    case J_PHI3:
        for (size_t i = 0; i < n; i++) {
            if (m[i].r == R_SYSTEM && sp->phi_skip_empty_system && m[i].content.n == 0) continue;
            puts_(b, "<|");
            puts_span(b, m[i].role);
            puts_(b, "|>\n");
            puts_span(b, m[i].content);
            puts_(b, "<|end|>\n");
        }
        if (gen)
            puts_(b, "<|assistant|>\n");
        else if (sp->phi_eos_at_end)
            puts_(b, sp->eos);
        return b->st;
    case J_ZEPHYR:
        for (size_t i = 0; i < n; i++) {
            puts_(b, "<|");
            puts_span(b, m[i].role);
            puts_(b, "|>\n");
            puts_span(b, m[i].content);
            puts_(b, sp->eos);
            puts_(b, "\n");
        }
        if (gen) puts_(b, "<|assistant|>\n");
        return b->st;
    case J_LOGITLAB:
        break;
    }
    /* logitlab's own format (docs/chat.md): "Role: content" turns separated
     * by a blank line, the generation prompt "Assistant:". */
    for (size_t i = 0; i < n; i++) {
        puts_(b, m[i].r == R_SYSTEM ? "System: " : m[i].r == R_USER ? "User: " : "Assistant: ");
        puts_span(b, m[i].content);
        puts_(b, "\n\n");
    }
    if (gen) puts_(b, "Assistant:");
    return b->st;
}

/* ---- rendering: llama.cpp's built-in renderer ---- */

static ll_status render_llamacpp(const chat_spec *sp, const msg *m, size_t n, bool gen, sbuf *b) {
    switch (sp->fam) {
    case F_CHATML:
        for (size_t i = 0; i < n; i++) {
            puts_(b, "<|im_start|>");
            puts_span(b, m[i].role);
            puts_(b, "\n");
            puts_span(b, m[i].content);
            puts_(b, "<|im_end|>\n");
        }
        if (gen) puts_(b, "<|im_start|>assistant\n");
        return b->st;
    case F_LLAMA3:
        for (size_t i = 0; i < n; i++) {
            puts_(b, "<|start_header_id|>");
            puts_span(b, m[i].role);
            puts_(b, "<|end_header_id|>\n\n");
            puts_span(b, c_trim(m[i].content));
            puts_(b, "<|eot_id|>");
        }
        if (gen) puts_(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        return b->st;
    case F_GEMMA: {
        sbuf sys = {0};
        sys.err = b->err;
        for (size_t i = 0; i < n && b->st == LL_OK; i++) {
            if (m[i].r == R_SYSTEM) { /* merged into the next user turn */
                puts_span(&sys, c_trim(m[i].content));
                if (sys.st != LL_OK) b->st = sys.st;
                continue;
            }
            puts_(b, "<start_of_turn>");
            puts_(b, m[i].r == R_ASSISTANT ? "model" : "user");
            puts_(b, "\n");
            if (sys.len && m[i].r != R_ASSISTANT) {
                put(b, sys.p, sys.len);
                puts_(b, "\n\n");
                sys.len = 0;
            }
            puts_span(b, c_trim(m[i].content));
            puts_(b, "<end_of_turn>\n");
        }
        free(sys.p);
        if (gen) puts_(b, "<start_of_turn>model\n");
        return b->st;
    }
    case F_PHI3:
        for (size_t i = 0; i < n; i++) {
            puts_(b, "<|");
            puts_span(b, m[i].role);
            puts_(b, "|>\n");
            puts_span(b, m[i].content);
            puts_(b, "<|end|>\n");
        }
        if (gen) puts_(b, "<|assistant|>\n");
        return b->st;
    case F_ZEPHYR:
        for (size_t i = 0; i < n; i++) {
            puts_(b, "<|");
            puts_span(b, m[i].role);
            puts_(b, "|>\n");
            puts_span(b, m[i].content);
            puts_(b, "<|endoftext|>\n");
        }
        if (gen) puts_(b, "<|assistant|>\n");
        return b->st;
    case F_LOGITLAB:
        return render_jinja(sp, m, n, gen, b);
    case F_LLAMA2:
    case F_MISTRAL:
        break;
    }
    if (sp->lc == LC_M_V7 || sp->lc == LC_M_V7_TEKKEN) {
        const char *sp7 = sp->lc == LC_M_V7 ? " " : "";
        for (size_t i = 0; i < n; i++) {
            if (m[i].r == R_SYSTEM) {
                puts_(b, "[SYSTEM_PROMPT]");
                puts_(b, sp7);
                puts_span(b, m[i].content);
                puts_(b, "[/SYSTEM_PROMPT]");
            } else if (m[i].r == R_USER) {
                puts_(b, "[INST]");
                puts_(b, sp7);
                puts_span(b, m[i].content);
                puts_(b, "[/INST]");
            } else {
                puts_(b, sp7);
                puts_span(b, m[i].content);
                puts_(b, "</s>");
            }
        }
        return b->st;
    }
    if (sp->lc == LC_M_V1 || sp->lc == LC_M_V3 || sp->lc == LC_M_V3_TEKKEN) {
        const char *lead = sp->lc == LC_M_V1 ? " " : "";
        const char *trail = sp->lc == LC_M_V3_TEKKEN ? "" : " ";
        bool inside = false;
        for (size_t i = 0; i < n; i++) {
            if (!inside) {
                puts_(b, lead);
                puts_(b, "[INST]");
                puts_(b, trail);
                inside = true;
            }
            if (m[i].r == R_SYSTEM) {
                puts_span(b, m[i].content);
                puts_(b, "\n\n");
            } else if (m[i].r == R_USER) {
                puts_span(b, m[i].content);
                puts_(b, lead);
                puts_(b, "[/INST]");
            } else {
                puts_(b, trail);
                puts_span(b, sp->lc == LC_M_V3 ? c_trim(m[i].content) : m[i].content);
                puts_(b, "</s>");
                inside = false;
            }
        }
        return b->st;
    }
    /* the Llama 2 forms (and Mistral v0.1/v0.2, which llama.cpp renders as one) */
    bool sys_ok = sp->lc != LC_L2, bos_inside = sp->lc == LC_L2_SYS_BOS, strip = sp->lc == LC_L2_SYS_STRIP;
    bool inside = true;
    puts_(b, "[INST] ");
    for (size_t i = 0; i < n; i++) {
        span c = strip ? c_trim(m[i].content) : m[i].content;
        if (!inside) {
            inside = true;
            puts_(b, bos_inside ? "<s>[INST] " : "[INST] ");
        }
        if (m[i].r == R_SYSTEM) {
            if (sys_ok) {
                puts_(b, "<<SYS>>\n");
                puts_span(b, c);
                puts_(b, "\n<</SYS>>\n\n");
            } else {
                puts_span(b, c);
                puts_(b, "\n");
            }
        } else if (m[i].r == R_USER) {
            puts_span(b, c);
            puts_(b, " [/INST]");
        } else {
            puts_span(b, c);
            puts_(b, "</s>");
            inside = false;
        }
    }
    return b->st;
}

/* ---- public ---- */

static ll_status resolve(const char *tmpl, chat_spec *sp, ll_error *err) {
    if (!tmpl || !tmpl[0])
        return ll_fail(err, LL_ERR_UNSUPPORTED,
                       "no chat template: the model has no tokenizer.chat_template; name one of " LL_CHAT_FAMILIES
                       " (\"logitlab\" is logitlab's own format, for models without a template)");
    size_t len = strnlen(tmpl, LL_CHAT_MAX_TEMPLATE + 1);
    if (len > LL_CHAT_MAX_TEMPLATE)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "chat template has more than %zu bytes (valid: at most %zu)",
                       LL_CHAT_MAX_TEMPLATE, LL_CHAT_MAX_TEMPLATE);
    const chat_name *cn = lookup_name(tmpl);
    if (cn) return spec_from_name(cn, sp, err);
    return detect(tmpl, len, sp, err);
}

const char *ll_chat_family(const char *template_text) {
    chat_spec sp;
    if (resolve(template_text, &sp, NULL) != LL_OK) return NULL;
    free(sp.default_system);
    return family_names[sp.fam];
}

const char *ll_chat_families(void) { return LL_CHAT_FAMILIES; }

ll_status ll_chat_apply_style(const char *template_text_or_name, ll_chat_style style, const ll_chat_message *msgs,
                              size_t n, bool add_assistant, char **out, size_t *out_len, ll_error *err) {
    if (!out) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "ll_chat_apply: out is NULL");
    *out = NULL;
    if (out_len) *out_len = 0;
    if (style != LL_CHAT_JINJA && style != LL_CHAT_LLAMACPP)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "chat style %d is not valid (valid: 0 jinja, 1 llama.cpp)",
                       (int)style);
    if (n == 0 || !msgs)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "a chat needs at least one message (got %zu)", msgs ? n : 0);
    if (n > LL_CHAT_MAX_MESSAGES)
        return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "a chat has %zu messages (valid: 1 to %zu)", n,
                       LL_CHAT_MAX_MESSAGES);
    msg *m = ll_calloc(n, sizeof *m, err);
    if (!m) return LL_ERR_OUT_OF_MEMORY;
    chat_spec sp = {0};
    sbuf b = {0};
    b.err = err;
    ll_status st = LL_OK;
    size_t total = 0;
    for (size_t i = 0; i < n && st == LL_OK; i++) {
        const char *r = msgs[i].role, *c = msgs[i].content;
        if (!r || !c) {
            st = ll_fail(err, LL_ERR_INVALID_ARGUMENT, "message %zu has no %s", i, r ? "content" : "role");
            break;
        }
        m[i].r = strcmp(r, "system") == 0      ? R_SYSTEM
                 : strcmp(r, "user") == 0      ? R_USER
                 : strcmp(r, "assistant") == 0 ? R_ASSISTANT
                                               : -1;
        if (m[i].r < 0) {
            char q[LL_QUOTE_MAX];
            st = ll_fail(err, LL_ERR_INVALID_ARGUMENT, "message %zu has role '%s' (valid: system, user, assistant)", i,
                         ll_quote(q, r, strnlen(r, 4096)));
            break;
        }
        size_t left = LL_CHAT_MAX_TOTAL - total;
        size_t cl = strnlen(c, left + 1);
        if (cl > left) {
            st = ll_fail(err, LL_ERR_INVALID_ARGUMENT,
                         "the messages' contents exceed %zu bytes together (at message %zu)", LL_CHAT_MAX_TOTAL, i);
            break;
        }
        total += cl;
        m[i].role = S(r);
        m[i].content = (span){c, cl};
    }
    if (st == LL_OK) st = resolve(template_text_or_name, &sp, err);
    if (st == LL_OK)
        st = style == LL_CHAT_JINJA ? render_jinja(&sp, m, n, add_assistant, &b)
                                    : render_llamacpp(&sp, m, n, add_assistant, &b);
    if (st == LL_OK && b.st != LL_OK) st = b.st;
    if (st == LL_OK && !b.p) {
        b.p = ll_malloc(1, err); /* an empty rendering is still a string */
        if (!b.p)
            st = LL_ERR_OUT_OF_MEMORY;
        else
            b.p[0] = '\0';
    }
    free(m);
    free(sp.default_system);
    if (st != LL_OK) {
        free(b.p);
        return st;
    }
    *out = b.p;
    if (out_len) *out_len = b.len;
    return LL_OK;
}

ll_status ll_chat_apply(const char *template_text_or_name, const ll_chat_message *msgs, size_t n, bool add_assistant,
                        char **out, size_t *out_len, ll_error *err) {
    return ll_chat_apply_style(template_text_or_name, LL_CHAT_JINJA, msgs, n, add_assistant, out, out_len, err);
}

ll_status ll_model_chat_template(const ll_model *m, char **out, ll_error *err) {
    if (!out) return ll_fail(err, LL_ERR_INVALID_ARGUMENT, "ll_model_chat_template: out is NULL");
    *out = NULL;
    const ll_gguf *g = m ? ll_model_gguf(m) : NULL;
    if (!g) return LL_OK; /* llama2.c checkpoints carry no template */
    bool found = false;
    char *s = ll_gguf_get_str(g, "tokenizer.chat_template", &found, err);
    if (found && !s) return err ? err->status : LL_ERR_FORMAT; /* not a string: get_str said so */
    *out = s;
    return LL_OK;
}
