/*
 * test_chat.c - chat templates (ll_chat_apply): byte-for-byte agreement
 * with llama.cpp's built-in renderer on the templates of the arch/ models
 * (their chat_template_render, read from each GGUF's own template), with a
 * Jinja engine on the real templates (tests/data/chat/jinja_renders.json,
 * written by tools/render_chat_templates.py), with llama.cpp's own test
 * expectations, and the errors: unknown or missing template, bad role,
 * conversations a template rejects.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <string.h>

#include "format/gguf.h"
#include "test_util.h"
#include "util/json.h"

static const ll_chat_message CONV4[] = {{"system", "You are a helpful assistant."},
                                        {"user", "Hello!"},
                                        {"assistant", "Hi there."},
                                        {"user", "Tell me a story."}};

/* Renders and compares; on a mismatch prints both. */
static void check_render(const char *what, const char *tmpl, ll_chat_style style, const ll_chat_message *m, size_t n,
                         bool gen, const char *expected) {
    ll_error err = {0};
    char *out = NULL;
    size_t len = 0;
    ll_status st = ll_chat_apply_style(tmpl, style, m, n, gen, &out, &len, &err);
    CHECK(st == LL_OK, "%s: %s", what, err.message);
    if (st == LL_OK) {
        CHECK(len == strlen(out), "%s: length %zu vs %zu", what, len, strlen(out));
        CHECK(strcmp(out, expected) == 0, "%s:\n got      [%s]\n expected [%s]", what, out, expected);
    }
    free(out);
}

static void check_fails(const char *what, const char *tmpl, ll_chat_style style, const ll_chat_message *m, size_t n,
                        const char *needle) {
    ll_error err = {0};
    char *out = (char *)1;
    ll_status st = ll_chat_apply_style(tmpl, style, m, n, true, &out, NULL, &err);
    CHECK(st != LL_OK, "%s: succeeded", what);
    CHECK(out == NULL, "%s: out not cleared", what);
    CHECK(strstr(err.message, needle) != NULL, "%s: message [%s] lacks [%s]", what, err.message, needle);
}

/* ---- llama.cpp's chat_template_render of every arch/ reference ---- */

static void test_arch_refs(void) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/models/arch", tu_shared());
    DIR *d = opendir(dir);
    CHECK(d != NULL, "cannot open %s", dir);
    if (!d) return;
    static const char *const arch_family[][2] = {{"llama3", "llama3"}, {"qwen2", "chatml"}, {"qwen3", "chatml"},
                                                 {"gemma2", "gemma"},  {"gemma3", "gemma"}, {"phi3", "phi3"}};
    bool seen[6] = {0};
    size_t n_files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t L = strlen(e->d_name);
        if (L < 9 || strcmp(e->d_name + L - 9, ".ref.json") != 0) continue;
        char ref[1400], gguf[1400];
        snprintf(ref, sizeof ref, "%s/%s", dir, e->d_name);
        snprintf(gguf, sizeof gguf, "%s/%.*s.gguf", dir, (int)(L - 9), e->d_name);
        ll_error err = {0};
        lj_doc *doc = lj_parse_file(ref, &err);
        CHECK(doc != NULL, "%s: %s", ref, err.message);
        ll_gguf *g = ll_gguf_open(gguf, &err);
        CHECK(g != NULL, "%s: %s", gguf, err.message);
        if (!doc || !g) {
            lj_free(doc);
            ll_gguf_close(g);
            continue;
        }
        bool found = false;
        char *tmpl = ll_gguf_get_str(g, "tokenizer.chat_template", &found, &err);
        CHECK(tmpl != NULL, "%s: no tokenizer.chat_template", gguf);
        const lj_value *r = lj_get(lj_root(doc), "chat_template_render");
        const lj_value *msgs = r ? lj_get(r, "messages") : NULL;
        const lj_value *res = r ? lj_get(r, "result") : NULL;
        const lj_value *add = r ? lj_get(r, "add_assistant") : NULL;
        CHECK(msgs && res && add && msgs->type == LJ_ARR && res->type == LJ_STR, "%s: chat_template_render", ref);
        if (tmpl && msgs && res && add && msgs->type == LJ_ARR && msgs->n <= 16) {
            ll_chat_message m[16];
            for (size_t i = 0; i < msgs->n; i++) {
                m[i].role = lj_get(lj_at(msgs, i), "role")->str;
                m[i].content = lj_get(lj_at(msgs, i), "content")->str;
            }
            check_render(e->d_name, tmpl, LL_CHAT_LLAMACPP, m, msgs->n, add->b, res->str);
            const char *fam = ll_chat_family(tmpl);
            for (size_t a = 0; a < 6; a++) {
                char key[32];
                snprintf(key, sizeof key, "-%s-", arch_family[a][0]);
                if (strstr(e->d_name, key)) {
                    seen[a] = true;
                    CHECK(fam && strcmp(fam, arch_family[a][1]) == 0, "%s: family %s, expected %s", e->d_name,
                          fam ? fam : "(none)", arch_family[a][1]);
                }
            }
            n_files++;
        }
        free(tmpl);
        ll_gguf_close(g);
        lj_free(doc);
    }
    closedir(d);
    CHECK(n_files >= 14, "only %zu reference files", n_files);
    for (size_t a = 0; a < 6; a++) CHECK(seen[a], "no reference for %s", arch_family[a][0]);
}

/* ---- the real templates rendered by Jinja ---- */

static const char *data_path(char *buf, size_t cap) {
    /* __FILE__ is tests/test_chat.c (absolute under CMake) */
    const char *slash = strrchr(__FILE__, '/');
    if (!slash)
        snprintf(buf, cap, "data/chat/jinja_renders.json");
    else
        snprintf(buf, cap, "%.*s/data/chat/jinja_renders.json", (int)(slash - __FILE__), __FILE__);
    return buf;
}

static void test_jinja_renders(void) {
    char path[1024];
    ll_error err = {0};
    lj_doc *doc = lj_parse_file(data_path(path, sizeof path), &err);
    CHECK(doc != NULL, "%s: %s", path, err.message);
    if (!doc) return;
    const lj_value *ts = lj_get(lj_root(doc), "templates");
    CHECK(ts && ts->n == 9, "templates: %zu", ts ? ts->n : 0);
    size_t n_ok = 0, n_err = 0;
    for (size_t t = 0; ts && t < ts->n; t++) {
        const lj_value *T = lj_at(ts, t);
        const char *name = lj_get(T, "name")->str, *tmpl = lj_get(T, "template")->str;
        const char *bos = lj_get(T, "bos_token")->str;
        const lj_value *cases = lj_get(T, "cases");
        for (size_t c = 0; c < cases->n; c++) {
            const lj_value *C = lj_at(cases, c);
            const lj_value *msgs = lj_get(C, "messages");
            ll_chat_message m[16];
            CHECK(msgs->n <= 16, "too many messages");
            if (msgs->n > 16) continue;
            for (size_t i = 0; i < msgs->n; i++) {
                m[i].role = lj_get(lj_at(msgs, i), "role")->str;
                m[i].content = lj_get(lj_at(msgs, i), "content")->str;
            }
            bool gen = lj_get(C, "add_generation_prompt")->b;
            char what[256];
            snprintf(what, sizeof what, "jinja %s / %s / gen=%d", name, lj_get(C, "conversation")->str, gen);
            const lj_value *res = lj_get(C, "result"), *jerr = lj_get(C, "error");
            if (res) {
                /* the leading BOS text is the tokenizer's to add */
                const char *want = res->str;
                if (bos[0] && strncmp(want, bos, strlen(bos)) == 0) want += strlen(bos);
                check_render(what, tmpl, LL_CHAT_JINJA, m, msgs->n, gen, want);
                n_ok++;
            } else {
                CHECK(jerr != NULL, "%s: neither result nor error", what);
                if (jerr) check_fails(what, tmpl, LL_CHAT_JINJA, m, msgs->n, jerr->str);
                n_err++;
            }
        }
    }
    CHECK(n_ok >= 150 && n_err >= 10, "renderings %zu, errors %zu", n_ok, n_err);
    lj_free(doc);
}

/* ---- published templates without a model file: llama.cpp's renderings ---- */

static const char *published_template(lj_doc *doc, const char *name) {
    const lj_value *ts = lj_get(lj_root(doc), "templates");
    for (size_t t = 0; ts && t < ts->n; t++)
        if (strcmp(lj_get(lj_at(ts, t), "name")->str, name) == 0) return lj_get(lj_at(ts, t), "template")->str;
    return NULL;
}

static void test_llamacpp_published(void) {
    char path[1024];
    ll_error err = {0};
    lj_doc *doc = lj_parse_file(data_path(path, sizeof path), &err);
    CHECK(doc != NULL, "%s: %s", path, err.message);
    if (!doc) return;
    const char *l2 = published_template(doc, "llama2"), *mi = published_template(doc, "mistral"),
               *ze = published_template(doc, "zephyr");
    CHECK(l2 && mi && ze, "published templates missing");
    if (l2 && mi && ze) {
        CHECK(strcmp(ll_chat_family(l2), "llama2") == 0, "llama2 family");
        CHECK(strcmp(ll_chat_family(mi), "mistral") == 0, "mistral family");
        CHECK(strcmp(ll_chat_family(ze), "zephyr") == 0, "zephyr family");
        /* llama.cpp (llm_chat_apply_template): Llama-2-chat's text is its llama2-sys-strip form, no BOS
         * inside the history, no space around the reply */
        check_render("llama.cpp llama2", l2, LL_CHAT_LLAMACPP, CONV4, 4, true,
                     "[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello! [/INST]Hi there.</s>"
                     "[INST] Tell me a story. [/INST]");
        /* Mistral v0.2 is llama.cpp's plain llama2: the system text joins the first user turn */
        check_render("llama.cpp mistral", mi, LL_CHAT_LLAMACPP, CONV4, 4, true,
                     "[INST] You are a helpful assistant.\nHello! [/INST]Hi there.</s>[INST] Tell me a story. [/INST]");
        check_render("llama.cpp zephyr", ze, LL_CHAT_LLAMACPP, CONV4, 4, true,
                     "<|system|>\nYou are a helpful assistant.<|endoftext|>\n<|user|>\nHello!<|endoftext|>\n"
                     "<|assistant|>\nHi there.<|endoftext|>\n<|user|>\nTell me a story.<|endoftext|>\n<|assistant|>\n");
    }
    lj_free(doc);

    /* llama.cpp's own expectations (tests/test-chat-template.cpp), on its 6-message conversation */
    static const ll_chat_message C6[] = {{"system", "You are a helpful assistant"},
                                         {"user", "Hello"},
                                         {"assistant", "Hi there"},
                                         {"user", "Who are you"},
                                         {"assistant", "   I am an assistant   "},
                                         {"user", "Another question"}};
    check_render("llama.cpp chatml", "chatml", LL_CHAT_LLAMACPP, C6, 6, true,
                 "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                 "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n"
                 "<|im_start|>assistant\n   I am an assistant   <|im_end|>\n<|im_start|>user\nAnother "
                 "question<|im_end|>\n<|im_start|>assistant\n");
    check_render("llama.cpp gemma", "gemma", LL_CHAT_LLAMACPP, C6, 6, true,
                 "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n<start_of_turn>model\nHi "
                 "there<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\nI am an "
                 "assistant<end_of_turn>\n<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n");
    check_render(
        "llama.cpp llama3", "llama3", LL_CHAT_LLAMACPP, C6, 6, true,
        "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|><|start_header_id|>"
        "user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi "
        "there<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|><|start_header_id|>"
        "assistant<|end_header_id|>\n\nI am an assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
        "Another question<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    check_render("llama.cpp phi3", "phi3", LL_CHAT_LLAMACPP, C6, 6, true,
                 "<|system|>\nYou are a helpful assistant<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi "
                 "there<|end|>\n<|user|>\nWho are you<|end|>\n<|assistant|>\n   I am an assistant   <|end|>\n<|user|>\n"
                 "Another question<|end|>\n<|assistant|>\n");
    check_render("llama.cpp mistral (llama2)", "llama2", LL_CHAT_LLAMACPP, C6, 6, true,
                 "[INST] You are a helpful assistant\nHello [/INST]Hi there</s>[INST] Who are you [/INST]   I am an "
                 "assistant   </s>[INST] Another question [/INST]");
    /* a template the Jinja style cannot render but llama.cpp's can */
    check_render("llama.cpp mistral-v7", "mistral-v7", LL_CHAT_LLAMACPP, CONV4, 4, true,
                 "[SYSTEM_PROMPT] You are a helpful assistant.[/SYSTEM_PROMPT][INST] Hello![/INST] Hi there.</s>[INST] "
                 "Tell me a story.[/INST]");
}

/* ---- names, logitlab's own format, the model accessor ---- */

static void test_names_and_model(void) {
    check_render("logitlab", "logitlab", LL_CHAT_JINJA, CONV4, 4, true,
                 "System: You are a helpful assistant.\n\nUser: Hello!\n\nAssistant: Hi there.\n\nUser: Tell me a "
                 "story.\n\nAssistant:");
    check_render("logitlab no gen", "logitlab", LL_CHAT_LLAMACPP, CONV4 + 1, 1, false, "User: Hello!\n\n");
    check_render("qwen2.5 name", "qwen2.5", LL_CHAT_JINJA, CONV4 + 1, 1, true,
                 "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                 "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n");
    CHECK(ll_chat_family("logitlab") && strcmp(ll_chat_family("logitlab"), "logitlab") == 0, "family logitlab");
    CHECK(ll_chat_family("{{ nothing }}") == NULL, "unknown family");
    CHECK(ll_chat_family(NULL) == NULL, "NULL family");
    CHECK(strstr(ll_chat_families(), "zephyr") != NULL, "families list");

    /* the embedded-style model without a template: NULL, not an error */
    char path[1024];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", tu_shared());
    ll_error err = {0};
    ll_model *m = ll_model_load(path, NULL, &err);
    CHECK(m != NULL, "%s: %s", path, err.message);
    if (m) {
        char *t = (char *)1;
        CHECK_OK(ll_model_chat_template(m, &t, &err), err);
        CHECK(t == NULL, "stories260K has no template");
        ll_model_free(m);
    }
    m = ll_model_load_default(&err);
    CHECK(m != NULL, "default model: %s", err.message);
    if (m) {
        char *t = (char *)1;
        CHECK_OK(ll_model_chat_template(m, &t, &err), err);
        CHECK(t == NULL, "the embedded model has no template");
        free(t);
        ll_model_free(m);
    }
}

/* ---- errors ---- */

static void test_errors(void) {
    check_fails(
        "unknown", "{% for m in messages %}{{ m.content }}{% endfor %}", LL_CHAT_JINJA, CONV4, 4,
        "chat template not recognised: it starts '{% for m in messages %}{{ m.content }}{% endfor %}' (50 bytes)");
    check_fails("unknown lists families", "<|weird|>", LL_CHAT_LLAMACPP, CONV4, 4,
                "llama2, llama3, chatml (Qwen), mistral, gemma, phi3, zephyr, logitlab");
    /* a long template is quoted by its start only */
    char longt[400];
    memset(longt, 'x', sizeof longt - 1);
    longt[sizeof longt - 1] = '\0';
    check_fails("unknown long", longt, LL_CHAT_JINJA, CONV4, 4, "(399 bytes)");
    check_fails("none", NULL, LL_CHAT_JINJA, CONV4, 4, "no chat template");
    check_fails("empty", "", LL_CHAT_JINJA, CONV4, 4, "no chat template");
    check_fails("phi4 is not chatml", "{{'<|im_start|>' + m + '<|im_sep|>'}}", LL_CHAT_JINJA, CONV4, 4,
                "not recognised");
    static const ll_chat_message bad[] = {{"user", "hi"}, {"tool", "x"}};
    check_fails("bad role", "chatml", LL_CHAT_JINJA, bad, 2,
                "message 1 has role 'tool' (valid: system, user, assistant)");
    static const ll_chat_message badq[] = {{"us\ner", "hi"}};
    check_fails("bad role quoted", "chatml", LL_CHAT_JINJA, badq, 1, "role 'us\\x0Aer'");
    static const ll_chat_message nocontent[] = {{"user", NULL}};
    check_fails("no content", "chatml", LL_CHAT_JINJA, nocontent, 1, "message 0 has no content");
    check_fails("no messages", "chatml", LL_CHAT_JINJA, CONV4, 0, "at least one message");
    check_fails("gemma2 system", "gemma", LL_CHAT_JINJA, CONV4, 4, "System role not supported");
    check_fails("gemma alternate", "gemma3", LL_CHAT_JINJA, CONV4 + 2, 1, "Conversation roles must alternate");
    check_fails("mistral-v7 jinja", "mistral-v7", LL_CHAT_JINJA, CONV4, 4, "use the llama.cpp style");
    ll_error err = {0};
    char *out = NULL;
    CHECK(ll_chat_apply_style("chatml", (ll_chat_style)7, CONV4, 4, true, &out, NULL, &err) == LL_ERR_INVALID_ARGUMENT,
          "bad style");
    CHECK(strstr(err.message, "chat style 7") != NULL, "%s", err.message);
}

int main(void) {
    test_arch_refs();
    test_jinja_renders();
    test_llamacpp_published();
    test_names_and_model();
    test_errors();
    printf("test_chat: %d checks, %d failures\n", tu_checks, tu_failures);
    return tu_failures ? 1 : 0;
}
