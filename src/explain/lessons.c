/*
 * lessons.c - the content of the tour. The concept texts are short on
 * purpose: the live numbers and the source carry the rest. What the tables
 * know (parameter names, flags, stages, defaults, ranges, orders) is read
 * from src/sampling/tables.c, never spelled here: a lesson names its
 * parameter row and its text uses {...} placeholders (ll_lesson_expand).
 */
#include "lessons.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../sampling/tables.h"

#define NONE (-1)

const ll_lesson ll_lessons[] = {
    {.id = "loop",
     .title = "The generation loop: logits -> probabilities -> token -> fed back",
     .kind = LL_LESSON_LOOP,
     .param = NONE,
     .param2 = NONE,
     .value_name = "steps",
     .concept =
         "A language model does one thing: given the tokens so far, it returns one score (a logit) for every "
         "token of its vocabulary - 4096 numbers for the KJV model. Everything called an inference "
         "hyperparameter happens between those logits and the choice of the next token:\n"
         "  logits -> processors (penalties, temperature, top-k, ...) -> probabilities -> pick a token\n"
         "The picked token is appended to the input and the model runs again, one token per step, until "
         "something stops it. The model never sees probabilities and never 'decides': the chain does.\n"
         "Below, the chain as logitlab runs it (every stage applies to the candidate array in place), the "
         "sampler that picks by inverse CDF, and the loop stepped by hand on the real model.",
     .sources = {"ll_chain_run", "dist_apply", NULL},
     .def = 5, .lo = 1, .hi = 20, .integer = true, .side = {3, 6, 12}, .more = {1, 2, 4, 8, 16}},
    {.title = "Temperature",
     .kind = LL_LESSON_STAGE,
     .param = LL_P_TEMPERATURE,
     .param2 = NONE,
     .concept =
         "Temperature divides every logit by T before the softmax:\n"
         "  p_i = exp(logit_i / T) / sum_j exp(logit_j / T)\n"
         "T < 1 sharpens the distribution (the top token gains), T > 1 flattens it (rare tokens gain), "
         "T = 1 changes nothing and T = 0 means greedy: always the top token. It never removes a token "
         "by itself; it changes how much the others matter, and so what top-p and min-p later cut.\n"
         "llama.cpp applies it last in its default chain, HF first: see the lesson on the order.",
     .sources = {"temp_apply", NULL, NULL},
     .def = 0.7, .lo = 0, .hi = 10, .side = {0.2, 0.8, 1.5}, .more = {0.1, 0.5, 1.0, 1.5, 2.0}},
    {.title = "{name}",
     .kind = LL_LESSON_STAGE,
     .param = LL_P_TOP_K,
     .param2 = NONE,
     .concept =
         "{name} keeps the k highest logits and removes the rest (their probability becomes 0; the "
         "survivors are renormalised). It is a fixed budget whatever the shape of the distribution: "
         "too many tokens when the model is sure, too few when it is not - which is what top_p and min_p "
         "fix.\n"
         "Meaning of 0: llama.cpp and HF treat {name} = 0 as 'off'; vLLM uses -1 for off. Ties at the k-th "
         "logit: llama.cpp cuts at exactly k, HF keeps every token tied with the k-th.",
     .sources = {"top_k_apply", "top_k_keep_ties", NULL},
     .def = 5, .lo = 0, .hi = 4096, .integer = true, .side = {1, 10, 100}, .more = {1, 2, 5, 20, 100}},
    {.title = "{name} (nucleus sampling)",
     .kind = LL_LESSON_STAGE,
     .param = LL_P_TOP_P,
     .param2 = NONE,
     .concept =
         "{name} keeps the smallest set of most likely tokens whose probabilities add up to at least p, "
         "and removes the rest. When the model is sure, one or two tokens make p; when it is unsure, "
         "many do - the budget adapts.\n"
         "Details differ: llama.cpp keeps tokens until the cumulative sum reaches p (the token that "
         "crosses p is kept); HF removes tokens whose cumulative sum from the bottom is <= 1 - p, computed "
         "on a distribution already changed by temperature (HF applies temperature first).",
     .sources = {"top_p_llamacpp", "top_p_hf", NULL},
     .def = 0.9, .lo = 0, .hi = 1, .side = {0.5, 0.9, 1.0}, .more = {0.1, 0.5, 0.8, 0.95, 1.0}},
    {.title = "{name}",
     .kind = LL_LESSON_STAGE,
     .param = LL_P_MIN_P,
     .param2 = NONE,
     .concept =
         "{name} keeps the tokens whose probability is at least {name} times the top token's:\n"
         "  keep i  if  p_i >= {name} * p_max   (llama.cpp compares logits: logit_i >= logit_max + ln {name})\n"
         "So the cut scales with the model's confidence: with a clear favourite almost nothing survives, "
         "with a flat distribution many tokens do. It is cheap (no sort) and works well at high "
         "temperature, which is why llama.cpp enables {default:llama.cpp:min_p} by default.",
     .sources = {"min_p_llamacpp", NULL, NULL},
     .def = 0.1, .lo = 0, .hi = 1, .side = {0.02, 0.1, 0.3}, .more = {0.01, 0.05, 0.1, 0.2, 0.5}},
    {.title = "{name} (locally typical sampling)",
     .kind = LL_LESSON_STAGE,
     .param = LL_P_TYPICAL_P,
     .param2 = NONE,
     .concept =
         "Typical sampling keeps the tokens whose surprise -ln p_i is closest to the distribution's "
         "entropy H (the average surprise), adding them in that order until their probabilities sum to "
         "{name}. The most likely token can be cut if it is 'too predictable'; the idea is that "
         "human text is about as surprising as the model expects on average, not maximally likely.\n"
         "  score_i = | -ln p_i - H |,  H = -sum_j p_j ln p_j",
     .sources = {"typical_llamacpp", NULL, NULL},
     .def = 0.5, .lo = 0, .hi = 1, .side = {0.2, 0.5, 0.95}, .more = {0.1, 0.3, 0.5, 0.8, 0.95}},
    {.title = "{name}",
     .kind = LL_LESSON_STAGE,
     .param = LL_P_REPETITION,
     .param2 = NONE,
     .words = "penalty repetition",
     .concept =
         "The repetition penalty makes every token that already occurred less likely, once per "
         "distinct token, however often it occurred:\n"
         "  logit > 0:  logit / r        logit <= 0:  logit * r\n"
         "(dividing a negative logit would raise it, hence the two cases). Which tokens count differs: "
         "llama.cpp looks at the last penalty_last_n tokens ({default:llama.cpp:penalty_last_n}) including "
         "the prompt; HF at the whole sequence; the demo uses the prompt as the history. Watch the greedy "
         "generations: at 1.0 the model loops, a penalty breaks the loop.",
     .sources = {"repeat_llamacpp", "tracker_apply", NULL},
     .def = 1.3, .lo = 0.01, .hi = 10, .side = {1.0, 1.3, 1.8}, .more = {1.0, 1.1, 1.3, 1.5, 2.0}},
    {.id = "frequency_presence",
     .title = "{name} and {name2}",
     .kind = LL_LESSON_STAGE,
     .param = LL_P_FREQUENCY,
     .param2 = LL_P_PRESENCE,
     .words = "frequency presence",
     .concept =
         "The OpenAI penalties subtract from the logit of each token seen before:\n"
         "  logit - count * {name} - (count > 0) * {name2}\n"
         "frequency grows with every repetition, presence is a flat charge for having appeared at all. "
         "Unlike repetition_penalty they are additive, so they act the same on positive and negative "
         "logits. OpenAI allows {range:openai:frequency_penalty}; negative values encourage repetition. "
         "The demo sets both to the value.",
     .sources = {"freq_presence_llamacpp", NULL, NULL},
     .def = 0.5, .lo = NAN, .hi = NAN, .side = {0.0, 0.5, 1.5}, .more = {-1.0, 0.0, 0.5, 1.0, 2.0},
     .range_profile = LL_PROFILE_OPENAI},
    {.title = "{name}",
     .kind = LL_LESSON_STAGE,
     .param = LL_P_LOGIT_BIAS,
     .param2 = NONE,
     .value_name = "bias on the current top token",
     .words = "bias",
     .concept =
         "{name} adds a fixed number to the logits of chosen token ids before anything else runs: "
         "+5 makes a token far more likely, -100 (or -inf) bans it. It is how an API forbids a word or "
         "forces a format. The OpenAI API accepts {range:openai:logit_bias}; llama.cpp takes any value and "
         "'-inf'. The demo biases the token the model currently likes most.",
     .sources = {"logit_bias_apply", "add_to_id", NULL},
     .def = -3, .lo = NAN, .hi = NAN, .side = {0, -2, -100}, .more = {-100, -5, -1, 1, 5},
     .range_profile = LL_PROFILE_OPENAI},
    {.id = "stopping",
     .title = "max_new_tokens vs max_length vs stop strings",
     .kind = LL_LESSON_STOP,
     .param = NONE,
     .param2 = NONE,
     .value_name = "max_new_tokens",
     .words = "stop",
     .concept =
         "Generation stops at the first of: an end-of-sequence token (EOS; ignore_eos turns it off), a "
         "stop string in the decoded text, a length limit, a time limit, or a full context window.\n"
         "max_new_tokens counts generated tokens only; max_length (Hugging Face) counts the prompt too, "
         "so the same number gives fewer new tokens with a longer prompt. Stop strings are matched on "
         "the text, across token boundaries, and are not part of the returned text (the OpenAI rule); "
         "while streaming, text that could still become a stop string is held back.",
     .sources = {"ll_gen_resolve", "ll_stopper_push", NULL},
     .def = 12, .lo = 1, .hi = 200, .integer = true, .side = {4, 12, 30}, .more = {1, 5, 10, 20, 40}},
    {.id = "decoding",
     .title = "Greedy vs sampling vs beam search",
     .kind = LL_LESSON_DECODE,
     .param = NONE,
     .param2 = NONE,
     .value_name = "num_beams",
     .words = "beam beams greedy sampling",
     .concept =
         "Greedy takes the most likely token at each step: deterministic, and prone to loops. Sampling "
         "draws from the processed distribution: varied, reproducible with a seed. Beam search keeps the "
         "num_beams best partial sequences by total log-probability and returns the best finished one "
         "(score = sum of log-probs / length^length_penalty): it finds more probable sequences than "
         "greedy, which for open-ended text often means blander ones.\n"
         "In Hugging Face, do_sample and num_beams pick the mode; temperature 0 means greedy everywhere. "
         "Without do_sample, HF decodes greedily whatever temperature or top_p say - silently; logitlab "
         "says so (below).",
     .sources = {"greedy_apply", "select_top", NULL},
     .def = 4, .lo = 2, .hi = 16, .integer = true, .side = {2, 4, 8}, .more = {2, 3, 4, 6, 8}},
    {.id = "seeds",
     .title = "Seeds and reproducibility",
     .kind = LL_LESSON_SEED,
     .param = LL_P_SEED,
     .param2 = NONE,
     .concept =
         "Sampling uses a pseudo-random generator; the seed fixes its sequence, so the same seed, model, "
         "prompt and parameters give the same tokens - on any thread count, in logitlab. llama.cpp uses "
         "std::mt19937 seeded with the seed and draws one number per token; logitlab reproduces it bit "
         "for bit. With n samples, each gets its own stream derived from the seed (sample 0 is the "
         "single-sample result).",
     .sources = {"ll_mt19937_next", "ll_gen_derive_seed", NULL},
     .def = 42, .lo = NAN, .hi = NAN, .integer = true, .side = {1, 2, 3}, .more = {0, 1, 7, 42, 1234},
     .range_profile = LL_PROFILE_LLAMACPP},
    {.id = "order",
     .title = "The order of the chain (why HF and llama.cpp differ)",
     .kind = LL_LESSON_ORDER,
     .param = LL_P_TEMPERATURE,
     .param2 = NONE,
     .concept =
         "The same parameters give different distributions in different frameworks because the stages "
         "run in a different order. Hugging Face's warpers run {order:hf}; llama.cpp's chain runs "
         "{order:llama.cpp}: {name} first in one, last in the other. With {name} > 1 first, the "
         "distribution is flatter when top_p measures it, so more tokens survive; with {name} last, top_p "
         "sees the original distribution. The demo runs top_k 40, top_p 0.9 and the {name} in both orders.",
     .sources = {"ll_chain_from_params", NULL, NULL},
     .def = 1.5, .lo = 0.05, .hi = 10, .side = {0.5, 1.0, 2.0}, .more = {0.5, 0.8, 1.0, 1.5, 2.0}},
    {.id = "frameworks",
     .title = "The same settings, four frameworks",
     .kind = LL_LESSON_COMPARE,
     .param = LL_P_TEMPERATURE,
     .param2 = NONE,
     .words = "compare profiles",
     .concept =
         "Hugging Face, llama.cpp, the OpenAI API (vLLM) and llama2.c all take '{name} 0.7, top_p 0.9', "
         "and each does something else with it: its own order (HF applies {name} before the cuts, "
         "llama.cpp after), its own defaults for what you did not set (top_k {default:hf:top_k} in HF, "
         "{default:llama.cpp:top_k} in llama.cpp, {default:openai:top_k} in OpenAI; min_p "
         "{default:llama.cpp:min_p} in llama.cpp), its own rules (an inclusive or exclusive top_p cut, which "
         "tokens a penalty counts) and its own greedy rule (HF without do_sample never samples).\n"
         "Below, logitlab compare on the live distribution: each profile's chain, what every stage kept, the "
         "token each selects with the same seed, and for each pair the first step where they part and why - "
         "read from the chains and their traces, not from a table of known differences.",
     .sources = {"same_stage", NULL, NULL},
     .def = 0.7, .lo = 0, .hi = 2, .side = {0.3, 0.7, 1.2}, .more = {0.0, 0.5, 0.7, 1.0, 1.5}},
    {.id = "combined",
     .title = "A real generation loop with all of them",
     .kind = LL_LESSON_COMBINED,
     .param = LL_P_TEMPERATURE,
     .param2 = NONE,
     .words = "all",
     .concept =
         "A real request combines everything: a repetition penalty, llama.cpp's default chain "
         "({chain:llama.cpp}), then the sampler, the token fed back, stop checks after each token. Below: "
         "what every stage did to the next-token distribution of your prompt (from the chain's trace), then "
         "the loop running with a stop string at the end of the verse.",
     .sources = {"sample_loop", "ll_gen_seq_step", NULL},
     .def = 0.8, .lo = 0, .hi = 5, .side = {0.3, 0.8, 1.3}, .more = {0.0, 0.5, 0.8, 1.2, 2.0}},
};

const size_t ll_n_lessons = sizeof ll_lessons / sizeof ll_lessons[0];

/* ---- what the tables say about a lesson ---- */

enum { MAX_LESSONS = 32, TEXT_MAX = 160, FLAG_MAX = 48 };

static size_t lesson_index(const ll_lesson *L) { return (size_t)(L - ll_lessons); }

/* The derived texts below are computed once, under pthread_once, so that
 * any thread (a server showing lessons, say) may read them. */
static char param_flags[LL_P_COUNT][FLAG_MAX];
static pthread_once_t flags_once = PTHREAD_ONCE_INIT;

static void fill_flags(void) {
    for (int i = 0; i < LL_P_COUNT; i++) {
        const char *f = ll_param_rows[i].flags ? ll_param_rows[i].flags : "";
        size_t n = strcspn(f, " ");
        snprintf(param_flags[i], sizeof param_flags[i], "%.*s", (int)n, f);
    }
}

const char *ll_param_flag(int param) {
    if (param < 0 || param >= LL_P_COUNT) return "";
    pthread_once(&flags_once, fill_flags);
    return param_flags[param];
}

const char *ll_lesson_id(const ll_lesson *L) {
    return L->id ? L->id : L->param >= 0 ? ll_param_rows[L->param].name : "?";
}

static char lesson_titles[MAX_LESSONS][TEXT_MAX], lesson_names[MAX_LESSONS][TEXT_MAX];
static pthread_once_t lessons_once = PTHREAD_ONCE_INIT;

static void fill_lesson_texts(void) {
    for (size_t i = 0; i < ll_n_lessons && i < MAX_LESSONS; i++) {
        const ll_lesson *L = &ll_lessons[i];
        ll_lesson_expand(L, L->title, lesson_titles[i], sizeof lesson_titles[i]);
        if (L->value_name || L->param < 0) continue;
        if (L->param2 >= 0)
            snprintf(lesson_names[i], sizeof lesson_names[i], "%s = %s", ll_param_rows[L->param].name,
                     ll_param_rows[L->param2].name);
        else snprintf(lesson_names[i], sizeof lesson_names[i], "%s", ll_param_rows[L->param].name);
    }
}

const char *ll_lesson_title(const ll_lesson *L) {
    size_t i = lesson_index(L);
    if (i >= MAX_LESSONS) return L->title;
    pthread_once(&lessons_once, fill_lesson_texts);
    return lesson_titles[i];
}

const char *ll_lesson_value_name(const ll_lesson *L) {
    size_t i = lesson_index(L);
    if (L->value_name || L->param < 0 || i >= MAX_LESSONS) return L->value_name ? L->value_name : "value";
    pthread_once(&lessons_once, fill_lesson_texts);
    return lesson_names[i];
}

const char *ll_lesson_stage(const ll_lesson *L) {
    if (L->param < 0 || ll_param_rows[L->param].stage < 0) return NULL;
    return ll_stage_rows[ll_param_rows[L->param].stage].name;
}

/* The profile's range for a parameter: its own (ranges that differ), else
 * the row's; a seed starts at the profile's smallest. */
static void param_range(int profile, int param, double *lo, double *hi) {
    const ll_profile_row *pr = &ll_profile_rows[profile];
    *lo = ll_param_rows[param].lo;
    *hi = ll_param_rows[param].hi;
    if (ll_param_rows[param].type == LL_PT_SEED) *lo = (double)pr->seed_min;
    for (size_t k = 0; k < sizeof pr->ranges / sizeof pr->ranges[0] && pr->ranges[k].param >= 0; k++)
        if (pr->ranges[k].param == param) {
            *lo = pr->ranges[k].lo;
            *hi = pr->ranges[k].hi;
        }
}

double ll_lesson_lo(const ll_lesson *L) {
    double lo = L->lo, hi;
    if (isnan(lo) && L->param >= 0) param_range(L->range_profile, L->param, &lo, &hi);
    return lo;
}

double ll_lesson_hi(const ll_lesson *L) {
    double lo, hi = L->hi;
    if (isnan(hi) && L->param >= 0) param_range(L->range_profile, L->param, &lo, &hi);
    return hi;
}

/* a and b the same word, ignoring case, leading dashes and '-' for '_' */
static bool same_word(const char *a, size_t na, const char *b, size_t nb) {
    while (na && *a == '-') a++, na--;
    while (nb && *b == '-') b++, nb--;
    if (na != nb || !na) return false;
    for (size_t i = 0; i < na; i++) {
        char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];
        if ((x | 0x20) != (y | 0x20)) return false;
    }
    return true;
}

static bool in_list(const char *list, const char *w, size_t n) {
    for (const char *p = list; p && *p;) {
        while (*p == ' ') p++;
        size_t k = strcspn(p, " ");
        if (same_word(p, k, w, n)) return true;
        p += k;
    }
    return false;
}

bool ll_lesson_named(const ll_lesson *L, const char *word) {
    size_t n = strlen(word);
    if (in_list(L->words, word, n)) return true;
    /* a parameter's names find the lesson about it, not every lesson that uses it */
    if (L->kind != LL_LESSON_STAGE && L->kind != LL_LESSON_SEED) return false;
    int ps[2] = {L->param, L->param2};
    for (int i = 0; i < 2; i++) {
        if (ps[i] < 0) continue;
        const ll_param_row *row = &ll_param_rows[ps[i]];
        if (same_word(row->name, strlen(row->name), word, n) || in_list(row->flags, word, n)) return true;
    }
    return L->param >= 0 && ll_param_rows[L->param].stage >= 0 && ll_stage_matches(ll_param_rows[L->param].stage, word, n);
}

/* ---- placeholders ---- */

typedef struct {
    char *buf;
    size_t cap, len;
} out_t;

static void put(out_t *o, const char *s, size_t n) {
    if (o->len < o->cap) {
        size_t room = o->cap - o->len - 1;
        memcpy(o->buf + o->len, s, n < room ? n : room);
        o->buf[o->len + (n < room ? n : room)] = '\0';
    }
    o->len += n;
}

static void put_value(out_t *o, int param, double v) {
    char b[48];
    switch (ll_param_rows[param].type) {
    case LL_PT_INT:
    case LL_PT_SEED: snprintf(b, sizeof b, "%lld", (long long)v); break;
    case LL_PT_FLOAT: snprintf(b, sizeof b, "%g", (double)(float)v); break;
    default: snprintf(b, sizeof b, "%g", v); break;
    }
    put(o, b, strlen(b));
}

static int find_param(const char *s, size_t n) {
    for (int i = 0; i < LL_P_COUNT; i++)
        if (strlen(ll_param_rows[i].name) == n && !strncmp(ll_param_rows[i].name, s, n)) return i;
    return -1;
}

static int find_profile(const char *s, size_t n) {
    for (int i = 0; i < LL_PROFILE_COUNT; i++)
        if (strlen(ll_profile_rows[i].name) == n && !strncmp(ll_profile_rows[i].name, s, n)) return i;
    return -1;
}

/* One placeholder, key = "default:hf:top_k"; false when unknown. */
static bool expand_one(const ll_lesson *L, const char *key, size_t n, out_t *o) {
    const char *c1 = memchr(key, ':', n);
    const char *arg = c1 ? c1 + 1 : key + n;
    size_t kn = c1 ? (size_t)(c1 - key) : n, an = (size_t)(key + n - arg);
    const char *c2 = memchr(arg, ':', an);
    int prof = find_profile(arg, c2 ? (size_t)(c2 - arg) : an);
    int param = c2 ? find_param(c2 + 1, (size_t)(key + n - c2 - 1)) : -1;
#define IS(w) (kn == strlen(w) && !strncmp(key, w, kn))
    if (!c1 && (IS("name") || IS("name2") || IS("flag") || IS("flag2"))) {
        int p = key[kn - 1] == '2' ? L->param2 : L->param;
        if (p < 0) return false;
        const char *s = key[0] == 'n' ? ll_param_rows[p].name : ll_param_flag(p);
        put(o, s, strlen(s));
        return true;
    }
    if ((IS("default") || IS("range")) && prof >= 0 && param >= 0) {
        if (IS("range")) {
            double lo, hi;
            param_range(prof, param, &lo, &hi);
            put(o, "[", 1);
            put_value(o, param, lo);
            put(o, ", ", 2);
            put_value(o, param, hi);
            put(o, "]", 1);
        } else if (param >= LL_P_N_SCALAR) {
            return false;
        } else if (ll_param_is_off(param, ll_profile_rows[prof].defaults[param])) {
            put(o, "off", 3);
        } else {
            put_value(o, param, ll_profile_rows[prof].defaults[param]);
        }
        return true;
    }
    if ((IS("order") || IS("chain")) && prof >= 0 && !c2) {
        const ll_profile_row *pr = &ll_profile_rows[prof];
        bool chain = IS("chain"), any = false;
        for (size_t i = 0; i < sizeof pr->order / sizeof pr->order[0] && pr->order[i] >= 0; i++) {
            const ll_stage_row *st = &ll_stage_rows[pr->order[i]];
            int p0 = st->params[0];
            bool scalar = p0 >= 0 && p0 < LL_P_N_SCALAR;
            if (chain && (!scalar || ll_param_is_off(p0, pr->defaults[p0]))) continue;
            if (any) put(o, ", ", 2);
            put(o, chain ? ll_param_rows[p0].name : st->name, strlen(chain ? ll_param_rows[p0].name : st->name));
            if (chain) {
                put(o, " ", 1);
                put_value(o, p0, pr->defaults[p0]);
            }
            any = true;
        }
        return any;
    }
#undef IS
    return false;
}

size_t ll_lesson_expand(const ll_lesson *L, const char *text, char *buf, size_t cap) {
    out_t o = {buf, cap, 0};
    if (cap) buf[0] = '\0';
    for (const char *p = text; *p;) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            put(&o, p, strlen(p));
            break;
        }
        put(&o, p, (size_t)(open - p));
        if (!expand_one(L, open + 1, (size_t)(close - open - 1), &o)) {
            put(&o, "{?", 2);
            put(&o, open + 1, (size_t)(close - open));
        }
        p = close + 1;
    }
    return o.len;
}
