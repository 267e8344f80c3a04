/*
 * lessons.c - the content of the tour. The concept texts are short on
 * purpose: the live numbers and the source carry the rest.
 */
#include "lessons.h"

#include <math.h>

const ll_lesson ll_lessons[] = {
    {"loop", "The generation loop: logits -> probabilities -> token -> fed back", LL_LESSON_LOOP, NULL, "steps",
     "A language model does one thing: given the tokens so far, it returns one score (a logit) for every "
     "token of its vocabulary - 4096 numbers for the KJV model. Everything called an inference "
     "hyperparameter happens between those logits and the choice of the next token:\n"
     "  logits -> processors (penalties, temperature, top-k, ...) -> probabilities -> pick a token\n"
     "The picked token is appended to the input and the model runs again, one token per step, until "
     "something stops it. The model never sees probabilities and never 'decides': the chain does.\n"
     "Below, the chain as logitlab runs it (every stage applies to the candidate array in place), the "
     "sampler that picks by inverse CDF, and the loop stepped by hand on the real model.",
     {"ll_chain_run", "dist_apply", NULL}, 5, 1, 20, true, {3, 6, 12}, {1, 2, 4, 8, 16}},
    {"temperature", "Temperature", LL_LESSON_STAGE, "temperature", "temperature",
     "Temperature divides every logit by T before the softmax:\n"
     "  p_i = exp(logit_i / T) / sum_j exp(logit_j / T)\n"
     "T < 1 sharpens the distribution (the top token gains), T > 1 flattens it (rare tokens gain), "
     "T = 1 changes nothing and T = 0 means greedy: always the top token. It never removes a token "
     "by itself; it changes how much the others matter, and so what top-p and min-p later cut.\n"
     "llama.cpp applies it last in its default chain, HF first: see the lesson on the order.",
     {"temp_apply", NULL, NULL}, 0.7, 0, 10, false, {0.2, 0.8, 1.5}, {0.1, 0.5, 1.0, 1.5, 2.0}},
    {"top_k", "top_k", LL_LESSON_STAGE, "top_k", "top_k",
     "top_k keeps the k highest logits and removes the rest (their probability becomes 0; the "
     "survivors are renormalised). It is a fixed budget whatever the shape of the distribution: "
     "too many tokens when the model is sure, too few when it is not - which is what top_p and min_p "
     "fix.\n"
     "Meaning of 0: llama.cpp and HF treat top_k = 0 as 'off'; vLLM uses -1 for off. Ties at the k-th "
     "logit: llama.cpp cuts at exactly k, HF keeps every token tied with the k-th.",
     {"top_k_apply", "top_k_keep_ties", NULL}, 5, 0, 4096, true, {1, 10, 100}, {1, 2, 5, 20, 100}},
    {"top_p", "top_p (nucleus sampling)", LL_LESSON_STAGE, "top_p", "top_p",
     "top_p keeps the smallest set of most likely tokens whose probabilities add up to at least p, "
     "and removes the rest. When the model is sure, one or two tokens make p; when it is unsure, "
     "many do - the budget adapts.\n"
     "Details differ: llama.cpp keeps tokens until the cumulative sum reaches p (the token that "
     "crosses p is kept); HF removes tokens whose cumulative sum from the bottom is <= 1 - p, computed "
     "on a distribution already changed by temperature (HF applies temperature first).",
     {"top_p_llamacpp", "top_p_hf", NULL}, 0.9, 0, 1, false, {0.5, 0.9, 1.0}, {0.1, 0.5, 0.8, 0.95, 1.0}},
    {"min_p", "min_p", LL_LESSON_STAGE, "min_p", "min_p",
     "min_p keeps the tokens whose probability is at least min_p times the top token's:\n"
     "  keep i  if  p_i >= min_p * p_max   (llama.cpp compares logits: logit_i >= logit_max + ln min_p)\n"
     "So the cut scales with the model's confidence: with a clear favourite almost nothing survives, "
     "with a flat distribution many tokens do. It is cheap (no sort) and works well at high "
     "temperature, which is why llama.cpp enables 0.05 by default.",
     {"min_p_llamacpp", NULL, NULL}, 0.1, 0, 1, false, {0.02, 0.1, 0.3}, {0.01, 0.05, 0.1, 0.2, 0.5}},
    {"typical_p", "typical_p (locally typical sampling)", LL_LESSON_STAGE, "typical", "typical_p",
     "Typical sampling keeps the tokens whose surprise -ln p_i is closest to the distribution's "
     "entropy H (the average surprise), adding them in that order until their probabilities sum to "
     "typical_p. The most likely token can be cut if it is 'too predictable'; the idea is that "
     "human text is about as surprising as the model expects on average, not maximally likely.\n"
     "  score_i = | -ln p_i - H |,  H = -sum_j p_j ln p_j",
     {"typical_llamacpp", NULL, NULL}, 0.5, 0, 1, false, {0.2, 0.5, 0.95}, {0.1, 0.3, 0.5, 0.8, 0.95}},
    {"repetition_penalty", "repetition_penalty", LL_LESSON_STAGE, "penalties", "repetition_penalty",
     "The repetition penalty makes every token that already occurred less likely, once per "
     "distinct token, however often it occurred:\n"
     "  logit > 0:  logit / r        logit <= 0:  logit * r\n"
     "(dividing a negative logit would raise it, hence the two cases). Which tokens count differs: "
     "llama.cpp looks at the last penalty_last_n tokens (64) including the prompt; HF at the whole "
     "sequence; the demo uses the prompt as the history. Watch the greedy generations: at 1.0 the "
     "model loops, a penalty breaks the loop.",
     {"repeat_llamacpp", "tracker_apply", NULL}, 1.3, 0.01, 10, false, {1.0, 1.3, 1.8}, {1.0, 1.1, 1.3, 1.5, 2.0}},
    {"frequency_presence", "frequency_penalty and presence_penalty", LL_LESSON_STAGE, "penalties",
     "frequency_penalty = presence_penalty",
     "The OpenAI penalties subtract from the logit of each token seen before:\n"
     "  logit - count * frequency_penalty - (count > 0) * presence_penalty\n"
     "frequency grows with every repetition, presence is a flat charge for having appeared at all. "
     "Unlike repetition_penalty they are additive, so they act the same on positive and negative "
     "logits. OpenAI allows [-2, 2]; negative values encourage repetition. The demo sets both to the "
     "value.",
     {"freq_presence_llamacpp", NULL, NULL}, 0.5, -2, 2, false, {0.0, 0.5, 1.5}, {-1.0, 0.0, 0.5, 1.0, 2.0}},
    {"logit_bias", "logit_bias", LL_LESSON_STAGE, "logit_bias", "bias on the current top token",
     "logit_bias adds a fixed number to the logits of chosen token ids before anything else runs: "
     "+5 makes a token far more likely, -100 (or -inf) bans it. It is how an API forbids a word or "
     "forces a format. The OpenAI API accepts [-100, 100]; llama.cpp takes any value and '-inf'. "
     "The demo biases the token the model currently likes most.",
     {"logit_bias_apply", "add_to_id", NULL}, -3, -100, 100, false, {0, -2, -100}, {-100, -5, -1, 1, 5}},
    {"stopping", "max_new_tokens vs max_length vs stop strings", LL_LESSON_STOP, NULL, "max_new_tokens",
     "Generation stops at the first of: an end-of-sequence token (EOS; ignore_eos turns it off), a "
     "stop string in the decoded text, a length limit, a time limit, or a full context window.\n"
     "max_new_tokens counts generated tokens only; max_length (Hugging Face) counts the prompt too, "
     "so the same number gives fewer new tokens with a longer prompt. Stop strings are matched on "
     "the text, across token boundaries, and are not part of the returned text (the OpenAI rule); "
     "while streaming, text that could still become a stop string is held back.",
     {"ll_gen_resolve", "ll_stopper_push", NULL}, 12, 1, 200, true, {4, 12, 30}, {1, 5, 10, 20, 40}},
    {"decoding", "Greedy vs sampling vs beam search", LL_LESSON_DECODE, NULL, "num_beams",
     "Greedy takes the most likely token at each step: deterministic, and prone to loops. Sampling "
     "draws from the processed distribution: varied, reproducible with a seed. Beam search keeps the "
     "num_beams best partial sequences by total log-probability and returns the best finished one "
     "(score = sum of log-probs / length^length_penalty): it finds more probable sequences than "
     "greedy, which for open-ended text often means blander ones.\n"
     "In Hugging Face, do_sample and num_beams pick the mode; temperature 0 means greedy everywhere.",
     {"greedy_apply", "select_top", NULL}, 4, 2, 16, true, {2, 4, 8}, {2, 3, 4, 6, 8}},
    {"seeds", "Seeds and reproducibility", LL_LESSON_SEED, NULL, "seed",
     "Sampling uses a pseudo-random generator; the seed fixes its sequence, so the same seed, model, "
     "prompt and parameters give the same tokens - on any thread count, in logitlab. llama.cpp uses "
     "std::mt19937 seeded with the seed and draws one number per token; logitlab reproduces it bit "
     "for bit. With n samples, each gets its own stream derived from the seed (sample 0 is the "
     "single-sample result).",
     {"ll_mt19937_next", "derive_seed", NULL}, 42, 0, 4294967295.0, true, {1, 2, 3}, {0, 1, 7, 42, 1234}},
    {"order", "The order of the chain (why HF and llama.cpp differ)", LL_LESSON_ORDER, NULL, "temperature",
     "The same parameters give different distributions in different frameworks because the stages "
     "run in a different order. Hugging Face applies temperature first, then top_k, then top_p; "
     "llama.cpp runs penalties, top_k, typical, top_p, min_p and applies temperature last. With "
     "temperature > 1 first, the distribution is flatter when top_p measures it, so more tokens "
     "survive; with temperature last, top_p sees the original distribution. The demo runs "
     "top_k 40, top_p 0.9 and the temperature in both orders.",
     {"ll_chain_from_params", NULL, NULL}, 1.5, 0.05, 10, false, {0.5, 1.0, 2.0}, {0.5, 0.8, 1.0, 1.5, 2.0}},
    {"frameworks", "The same settings, four frameworks", LL_LESSON_COMPARE, NULL, "temperature",
     "Hugging Face, llama.cpp, the OpenAI API (vLLM) and llama2.c all take 'temperature 0.7, top_p 0.9', "
     "and each does something else with it: its own order (HF applies temperature before the cuts, "
     "llama.cpp after), its own defaults for what you did not set (top_k 50 in HF, 40 in llama.cpp, off "
     "in OpenAI; min_p 0.05 in llama.cpp), its own rules (an inclusive or exclusive top_p cut, which "
     "tokens a penalty counts) and its own greedy rule (HF without do_sample never samples).\n"
     "Below, logitlab compare on the live distribution: each profile's chain, what every stage kept, the "
     "token each selects with the same seed, and for each pair the first step where they part and why - "
     "read from the chains and their traces, not from a table of known differences.",
     {"same_stage", NULL, NULL}, 0.7, 0, 2, false, {0.3, 0.7, 1.2}, {0.0, 0.5, 0.7, 1.0, 1.5}},
    {"combined", "A real generation loop with all of them", LL_LESSON_COMBINED, NULL, "temperature",
     "A real request combines everything: llama.cpp's default chain (repetition penalty, top_k 40, "
     "top_p 0.95, min_p 0.05, temperature) then the sampler, the token fed back, stop checks after "
     "each token. Below: what every stage did to the next-token distribution of your prompt (from "
     "the chain's trace), then the loop running with a stop string at the end of the verse.",
     {"sample_loop", NULL, NULL}, 0.8, 0, 5, false, {0.3, 0.8, 1.3}, {0.0, 0.5, 0.8, 1.2, 2.0}},
};

const size_t ll_n_lessons = sizeof ll_lessons / sizeof ll_lessons[0];
