/*
 * test_arch.c - the architectures of src/model/arch.c against llama.cpp:
 * every file of ../shared/models/arch (llama3, qwen2, qwen3, gemma2,
 * gemma3 and phi3; F32, Q8_0, and Q4_K_M for llama3 and qwen2) fed the
 * reference tokens (teacher forcing) must give llama.cpp's logits at every
 * position within the tolerance the README states for the file, both with
 * the prompt decoded as one batch (logits of every row) and one token at
 * a time; the greedy token must agree wherever llama.cpp's margin is
 * clearly larger than that tolerance. Then the model's chat template as
 * llama.cpp renders it, an unsupported architecture (a clear error listing
 * the supported ones), and hostile edits of the real files (a missing
 * tensor, a bad shape, bad or unsupported keys), each an error that names
 * what is wrong.
 */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>

#include "model/export.h"
#include "format/gguf.h"
#include "format/gguf_write.h"
#include "test_util.h"
#include "util/json.h"

/* The README's tolerances ("Observed envelopes against kv_f32_noflash"):
 * F32 1e-4, except Gemma F32 1e-3 (llama.cpp's GELU goes through an FP16
 * table; logitlab reproduces the table, the rest of the gap is the order
 * of float sums amplified by the post-norms); quantized 3e-2. */
static const struct {
    const char *name;
    double tol;
} files[] = {
    {"llama3-F32", 1e-4},   {"llama3-Q8_0", 3e-2}, {"llama3-Q4_K_M", 3e-2}, {"qwen2-F32", 1e-4},  {"qwen2-Q8_0", 3e-2},
    {"qwen2-Q4_K_M", 3e-2}, {"qwen3-F32", 1e-4},   {"qwen3-Q8_0", 3e-2},    {"gemma2-F32", 1e-3}, {"gemma2-Q8_0", 3e-2},
    {"gemma3-F32", 1e-3},   {"gemma3-Q8_0", 3e-2}, {"phi3-F32", 1e-4},      {"phi3-Q8_0", 3e-2},
};

static int b64v(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static size_t b64_decode(const char *s, uint8_t *out, size_t cap) {
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s; s++) {
        int v = b64v(*s);
        if (v < 0) continue;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n < cap) out[n] = (uint8_t)(acc >> bits);
            n++;
        }
    }
    return n;
}

static size_t ids_of(const lj_value *arr, int32_t *out, size_t cap) {
    for (size_t i = 0; i < arr->n && i < cap; i++) out[i] = (int32_t)lj_num(arr->items[i]);
    return arr->n;
}

static void path_of(char *buf, size_t cap, const char *file, const char *ext) {
    snprintf(buf, cap, "%s/models/arch/synth-a1-%s%s", tu_shared(), file, ext);
}

static const lj_value *find_run(const lj_value *root, const char *name) {
    const lj_value *runs = lj_get(root, "runs");
    for (size_t r = 0; runs && r < runs->n; r++)
        if (!strcmp(lj_get(lj_get(runs->items[r], "config"), "name")->str, name)) return runs->items[r];
    return NULL;
}

typedef struct {
    double worst;
    int compared, decided, agreed;
} stats;

/* The snapshot at position pos, if any, against logits. */
static void compare_pos(const char *file, const char *mode, size_t pi, const lj_value *snaps, size_t pos,
                        const float *logits, size_t V, double tol, stats *s) {
    float want[4096];
    for (size_t i = 0; i < snaps->n; i++) {
        const lj_value *sn = snaps->items[i];
        if ((size_t)lj_num(lj_get(sn, "pos")) != pos) continue;
        size_t nb = b64_decode(lj_get(sn, "logits_f32le_b64")->str, (uint8_t *)want, sizeof want);
        CHECK(nb == V * 4, "%s: snapshot of %zu bytes, expected %zu", file, nb, V * 4);
        if (nb != V * 4) return;
        double md = 0;
        for (size_t k = 0; k < V; k++) md = fmax(md, fabs((double)logits[k] - want[k]));
        if (isnan(md) || !isfinite(logits[0])) md = INFINITY;
        s->worst = fmax(s->worst, md);
        s->compared++;
        CHECK(md <= tol, "%s (%s): prompt %zu, %s (pos %zu): max |diff| %.3g > %.3g", file, mode, pi,
              lj_get(sn, "label")->str, pos, md, tol);
    }
}

/* The greedy decision made from position from_pos. */
static void compare_greedy(const char *file, const char *mode, const lj_value *greedy, size_t from_pos,
                           const float *logits, size_t V, double tol, stats *s) {
    for (size_t i = 0; i < greedy->n; i++) {
        const lj_value *g = greedy->items[i];
        if ((size_t)lj_num(lj_get(g, "from_pos")) != from_pos) continue;
        if (lj_num(lj_get(g, "margin")) <= 2 * tol) return;
        int32_t best = 0;
        for (size_t k = 1; k < V; k++)
            if (logits[k] > logits[best]) best = (int32_t)k;
        s->decided++;
        s->agreed += best == (int32_t)lj_num(lj_get(g, "token"));
        CHECK(best == (int32_t)lj_num(lj_get(g, "token")),
              "%s (%s): greedy from pos %zu picks %d, llama.cpp %g (margin %g)", file, mode, from_pos, best,
              lj_num(lj_get(g, "token")), lj_num(lj_get(g, "margin")));
    }
}

/* Teacher forcing: batch = the prompt as one decode with every row's
 * logits, then one token at a time; otherwise every token alone. */
static void run_prompt(const char *file, ll_model *m, const lj_value *pr, size_t pi, bool batch, int threads,
                       double tol) {
    const char *mode = batch ? (threads == 1 ? "batch, 1 thread" : "batch, 2 threads") : "one token at a time";
    size_t V = ll_model_get_info(m)->n_vocab;
    int32_t ids[256];
    size_t np = ids_of(lj_get(pr, "prompt_ids"), ids, 128);
    size_t ng = ids_of(lj_get(pr, "generated_ids"), ids + np, 128);
    size_t n = np + ng;
    CHECK(np <= 128 && ng <= 128, "%s: %zu prompt ids and %zu generated", file, np, ng);
    if (np > 128 || ng > 128) return;
    ll_error err;
    ll_context *c = ll_context_new(m, 0, threads, &err);
    CHECK(c != NULL, "%s: context: %s", file, err.message);
    float *all = malloc(n * V * sizeof *all);
    if (!c || !all) {
        ll_context_free(c);
        free(all);
        return;
    }
    const lj_value *snaps = lj_get(pr, "logits"), *greedy = lj_get(pr, "greedy");
    stats s = {0};
    size_t done = 0;
    if (batch) {
        ll_status st = ll_context_decode(c, ids, np, NULL, all, &err);
        CHECK_OK(st, err);
        if (st == LL_OK) done = np;
    }
    for (; done < n; done++) {
        ll_status st = ll_context_decode(c, ids + done, 1, all + done * V, NULL, &err);
        CHECK_OK(st, err);
        if (st != LL_OK) break;
    }
    for (size_t pos = 0; pos < done; pos++) {
        compare_pos(file, mode, pi, snaps, pos, all + pos * V, V, tol, &s);
        compare_greedy(file, mode, greedy, pos, all + pos * V, V, tol, &s);
    }
    CHECK(s.compared == (int)snaps->n, "%s (%s): %d of %zu snapshots compared", file, mode, s.compared, snaps->n);
    printf("%-14s %-22s prompt %zu: %2d positions, max |logit diff| %.2e (tolerance %.0e); greedy agrees %d/%d "
           "where the margin > 2x tolerance\n",
           file, mode, pi, s.compared, s.worst, tol, s.agreed, s.decided);
    free(all);
    ll_context_free(c);
}

static void run_file(const char *file, double tol) {
    char gguf[1024], ref[1024];
    path_of(gguf, sizeof gguf, file, ".gguf");
    path_of(ref, sizeof ref, file, ".ref.json");
    ll_error err;
    ll_model *m = ll_model_load(gguf, NULL, &err);
    CHECK(m != NULL, "%s: %s", file, err.message);
    lj_doc *d = lj_parse_file(ref, &err);
    CHECK(d != NULL, "%s: %s", ref, err.message);
    const lj_value *root = d ? lj_root(d) : NULL, *run = root ? find_run(root, "kv_f32_noflash") : NULL;
    CHECK(!d || run != NULL, "%s: no kv_f32_noflash run", ref);
    if (m && run) {
        const ll_model_info *in = ll_model_get_info(m);
        const char *want = lj_get(root, "architecture")->str;
        CHECK(!strcmp(in->arch, want), "%s: architecture '%s', llama.cpp read '%s'", file, in->arch, want);
        CHECK(in->n_vocab == (size_t)lj_num(lj_get(root, "n_vocab")), "%s: n_vocab %zu", file, in->n_vocab);
        const lj_value *prompts = lj_get(run, "prompts");
        for (size_t pi = 0; pi < prompts->n; pi++) {
            run_prompt(file, m, prompts->items[pi], pi, true, 2, tol);
            run_prompt(file, m, prompts->items[pi], pi, true, 1, tol);
            run_prompt(file, m, prompts->items[pi], pi, false, 2, tol);
        }
    }
    lj_free(d);
    ll_model_free(m);
}

/* ---- chat templates: the model's own, rendered as llama.cpp renders it ---- */

static void chat_render(const char *file) {
    char gguf[1024], ref[1024];
    path_of(gguf, sizeof gguf, file, ".gguf");
    path_of(ref, sizeof ref, file, ".ref.json");
    ll_error err;
    ll_model *m = ll_model_load(gguf, NULL, &err);
    lj_doc *d = lj_parse_file(ref, &err);
    CHECK(m && d, "%s: model or reference: %s", file, err.message);
    char *tmpl = NULL, *out = NULL;
    if (m && d && ll_model_chat_template(m, &tmpl, &err) == LL_OK && tmpl) {
        const lj_value *cr = lj_get(lj_root(d), "chat_template_render"), *msgs = lj_get(cr, "messages");
        ll_chat_message mm[8];
        size_t n = msgs->n < 8 ? msgs->n : 8;
        for (size_t i = 0; i < n; i++)
            mm[i] = (ll_chat_message){lj_get(msgs->items[i], "role")->str, lj_get(msgs->items[i], "content")->str};
        ll_status st =
            ll_chat_apply_style(tmpl, LL_CHAT_LLAMACPP, mm, n, lj_get(cr, "add_assistant")->b, &out, NULL, &err);
        const char *want = lj_get(cr, "result")->str;
        CHECK(st == LL_OK, "%s: chat template (%s): %s", file, ll_chat_family(tmpl) ? ll_chat_family(tmpl) : "?",
              err.message);
        CHECK(st != LL_OK || !strcmp(out, want), "%s: chat template renders\n[%s]\nllama.cpp renders\n[%s]", file, out,
              want);
    } else {
        CHECK(tmpl != NULL, "%s: the model's chat template: %s", file, m ? err.message : "no model");
    }
    free(tmpl);
    free(out);
    lj_free(d);
    ll_model_free(m);
}

/* ---- hostile edits of the real files ---- */

/* One edit of a copied file: a key dropped or replaced, a tensor dropped
 * or cut to fewer elements along ne[0] (1-D) or ne[1] (2-D). */
typedef struct {
    const char *drop_key;
    const char *set_key; /* with set_str, set_u32 or set_f32 (the first given) */
    const char *set_str;
    long long set_u32; /* NO_U32: not this one */
    double set_f32;
    const char *drop_tensor;
    const char *cut_tensor; /* keeps cut_to elements of its last dimension */
    uint64_t cut_to;
} edit;

#define NO_U32 -1

/* Copies every key and tensor of src into a writer, applying e. */
static ll_status copy_edited(const ll_gguf *g, const edit *e, const char *path, ll_error *err) {
    ll_gguf_writer *w = ll_gguf_writer_new(err);
    if (!w) return LL_ERR_OUT_OF_MEMORY;
    ll_status st = LL_OK;
    for (uint64_t i = 0; i < g->n_kv && st == LL_OK; i++) {
        const ll_gguf_kv *kv = &g->kv[i];
        if (e->drop_key && !strcmp(kv->key, e->drop_key)) continue;
        if (e->set_key && !strcmp(kv->key, e->set_key)) continue; /* written below */
        char tmp[4096];
        switch (kv->type) {
        case LL_GGUF_STRING:
            if (kv->v.s.len >= sizeof tmp) {
                /* long strings (chat templates) are not needed to load the model */
                break;
            }
            memcpy(tmp, kv->v.s.ptr, kv->v.s.len);
            tmp[kv->v.s.len] = 0;
            st = ll_gguf_add_str(w, kv->key, tmp);
            break;
        case LL_GGUF_UINT32:
            st = ll_gguf_add_u32(w, kv->key, (uint32_t)kv->v.u);
            break;
        case LL_GGUF_FLOAT32:
            st = ll_gguf_add_f32(w, kv->key, (float)kv->v.f);
            break;
        case LL_GGUF_BOOL:
            st = ll_gguf_add_bool(w, kv->key, kv->v.b);
            break;
        case LL_GGUF_ARRAY:
            if (kv->arr_type == LL_GGUF_STRING) {
                const char **v = malloc(kv->arr_n * sizeof *v);
                char **owned = malloc(kv->arr_n * sizeof *owned);
                for (uint64_t k = 0; v && owned && k < kv->arr_n; k++) {
                    owned[k] = malloc(kv->arr_str[k].len + 1);
                    memcpy(owned[k], kv->arr_str[k].ptr, kv->arr_str[k].len);
                    owned[k][kv->arr_str[k].len] = 0;
                    v[k] = owned[k];
                }
                st = v && owned ? ll_gguf_add_arr_str(w, kv->key, v, kv->arr_n) : LL_ERR_OUT_OF_MEMORY;
                for (uint64_t k = 0; owned && k < kv->arr_n; k++) free(owned[k]);
                free(owned);
                free(v);
            } else if (kv->arr_type == LL_GGUF_FLOAT32 || kv->arr_type == LL_GGUF_INT32) {
                /* the values in the file need not be 4-byte aligned: copy them */
                void *v = malloc(kv->arr_n * 4 + 1);
                if (v) memcpy(v, kv->arr_data, kv->arr_n * 4);
                st = !v                                ? LL_ERR_OUT_OF_MEMORY
                     : kv->arr_type == LL_GGUF_FLOAT32 ? ll_gguf_add_arr_f32(w, kv->key, v, kv->arr_n)
                                                       : ll_gguf_add_arr_i32(w, kv->key, v, kv->arr_n);
                free(v);
            } else {
                st = ll_fail(err, LL_ERR_FORMAT, "test: array key %s of type %d", kv->key, (int)kv->arr_type);
            }
            break;
        default:
            st = ll_fail(err, LL_ERR_FORMAT, "test: key %s of type %d", kv->key, (int)kv->type);
        }
    }
    if (st == LL_OK && e->set_key) {
        if (e->set_str)
            st = ll_gguf_add_str(w, e->set_key, e->set_str);
        else if (e->set_u32 >= 0)
            st = ll_gguf_add_u32(w, e->set_key, (uint32_t)e->set_u32);
        else
            st = ll_gguf_add_f32(w, e->set_key, (float)e->set_f32);
    }
    for (uint64_t i = 0; i < g->n_tensors && st == LL_OK; i++) {
        const ll_gguf_tensor *t = &g->tensors[i];
        if (e->drop_tensor && !strcmp(t->name, e->drop_tensor)) continue;
        uint64_t ne[4] = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
        if (e->cut_tensor && !strcmp(t->name, e->cut_tensor)) ne[t->n_dims - 1] = e->cut_to; /* a prefix of the data */
        st = ll_gguf_add_tensor(w, t->name, t->type, ne, t->n_dims, t->data);
    }
    if (st == LL_OK) st = ll_gguf_write(w, path, err);
    ll_gguf_writer_free(w);
    return st;
}

/* Loads file with edit e applied: must fail with status want and a
 * message containing every one of the needles. */
static void hostile(const char *file, const edit *e, ll_status want, const char *const *needles) {
    char src[1024], path[] = "/tmp/test_arch_XXXXXX";
    path_of(src, sizeof src, file, ".gguf");
    ll_error err;
    ll_gguf *g = ll_gguf_open(src, &err);
    CHECK(g != NULL, "%s: %s", src, err.message);
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (!g || fd < 0) {
        ll_gguf_close(g);
        return;
    }
    close(fd);
    ll_status st = copy_edited(g, e, path, &err);
    CHECK_OK(st, err);
    ll_gguf_close(g);
    ll_model *m = st == LL_OK ? ll_model_load(path, NULL, &err) : NULL;
    if (st == LL_OK) {
        CHECK(m == NULL && err.status == want, "%s edited: loads (%p) or status %d, expected %d: %s", file, (void *)m,
              (int)err.status, (int)want, m ? "" : err.message);
        for (size_t i = 0; !m && needles[i]; i++)
            CHECK(strstr(err.message, needles[i]) != NULL, "%s edited: message lacks \"%s\": %s", file, needles[i],
                  err.message);
    }
    ll_model_free(m);
    unlink(path);
}

static void hostile_files(void) {
    /* an unknown architecture names itself and the supported ones */
    hostile("qwen2-F32", &(edit){.set_key = "general.architecture", .set_str = "mamba", .set_u32 = NO_U32},
            LL_ERR_UNSUPPORTED,
            (const char *[]){"architecture 'mamba' is not supported (supported: llama, qwen2, qwen3, gemma2, gemma3, "
                             "phi3)",
                             NULL});
    /* a mixture of experts (Mixtral is 'llama' with expert tensors) */
    hostile("llama3-F32", &(edit){.set_key = "llama.expert_count", .set_u32 = 8}, LL_ERR_UNSUPPORTED,
            (const char *[]){"metadata 'llama.expert_count' = 8: mixture-of-experts models are not supported", NULL});
    /* a tensor the architecture's row requires */
    hostile("gemma2-F32", &(edit){.drop_tensor = "blk.3.post_ffw_norm.weight", .set_u32 = NO_U32}, LL_ERR_FORMAT,
            (const char *[]){"tensor 'blk.3.post_ffw_norm.weight' is missing", NULL});
    hostile("qwen2-F32", &(edit){.drop_tensor = "blk.1.attn_v.bias", .set_u32 = NO_U32}, LL_ERR_FORMAT,
            (const char *[]){"tensor 'blk.1.attn_v.bias' is missing", NULL});
    hostile("qwen3-F32", &(edit){.drop_tensor = "blk.0.attn_q_norm.weight", .set_u32 = NO_U32}, LL_ERR_FORMAT,
            (const char *[]){"tensor 'blk.0.attn_q_norm.weight' is missing", NULL});
    hostile("phi3-F32", &(edit){.drop_tensor = "blk.1.attn_qkv.weight", .set_u32 = NO_U32}, LL_ERR_FORMAT,
            (const char *[]){"tensor 'blk.1.attn_qkv.weight' is missing", NULL});
    /* bad shapes: a q/k norm of half a head, a fused QKV one row short, a
     * fused gate/up with only the gate */
    hostile("qwen3-F32", &(edit){.cut_tensor = "blk.1.attn_k_norm.weight", .cut_to = 32, .set_u32 = NO_U32},
            LL_ERR_FORMAT,
            (const char *[]){"tensor 'blk.1.attn_k_norm.weight' has shape [32, 1], expected [64, 1]", NULL});
    hostile("phi3-F32", &(edit){.cut_tensor = "blk.0.attn_qkv.weight", .cut_to = 255, .set_u32 = NO_U32}, LL_ERR_FORMAT,
            (const char *[]){"tensor 'blk.0.attn_qkv.weight' has shape [128, 255], expected [128, 256]", NULL});
    hostile("phi3-F32", &(edit){.cut_tensor = "blk.0.ffn_up.weight", .cut_to = 256, .set_u32 = NO_U32}, LL_ERR_FORMAT,
            (const char *[]){"tensor 'blk.0.ffn_up.weight' has shape [128, 256], expected [128, 512]", NULL});
    hostile("gemma3-F32", &(edit){.cut_tensor = "blk.2.attn_k.weight", .cut_to = 128, .set_u32 = NO_U32}, LL_ERR_FORMAT,
            (const char *[]){"tensor 'blk.2.attn_k.weight' has shape [128, 128], expected [128, 64]", NULL});
    /* keys: a required window, the head size that the width cannot give,
     * unequal key and value heads, soft-caps and RoPE scaling */
    hostile("gemma3-F32", &(edit){.drop_key = "gemma3.attention.sliding_window", .set_u32 = NO_U32}, LL_ERR_FORMAT,
            (const char *[]){"required metadata 'gemma3.attention.sliding_window' is missing", NULL});
    hostile("gemma2-F32",
            &(edit){.drop_key = "gemma2.attention.key_length", .set_key = "gemma2.attention.head_count", .set_u32 = 3},
            LL_ERR_FORMAT,
            (const char *[]){"gemma2.embedding_length 128 is not a multiple of gemma2.attention.head_count 3",
                             "'gemma2.attention.key_length', which would give the head size, is absent", NULL});
    hostile("qwen3-F32", &(edit){.set_key = "qwen3.attention.value_length", .set_u32 = 32}, LL_ERR_UNSUPPORTED,
            (const char *[]){"qwen3.attention.value_length 32 differs from the key head size 64", NULL});
    hostile("gemma2-F32", &(edit){.set_key = "gemma2.attn_logit_softcapping", .set_u32 = NO_U32, .set_f32 = -1.0},
            LL_ERR_FORMAT,
            (const char *[]){"metadata 'gemma2.attn_logit_softcapping' = -1 is invalid", "0 for off", NULL});
    hostile("gemma3-F32", &(edit){.set_key = "gemma3.rope.scaling.type", .set_str = "yarn", .set_u32 = NO_U32},
            LL_ERR_UNSUPPORTED,
            (const char *[]){"metadata 'gemma3.rope.scaling.type' = 'yarn' is not supported (supported: none, linear, "
                             "longrope",
                             NULL});
    hostile("gemma3-F32", &(edit){.set_key = "gemma3.rope.scaling.factor", .set_u32 = NO_U32, .set_f32 = INFINITY},
            LL_ERR_FORMAT, (const char *[]){"metadata 'gemma3.rope.scaling.factor' = inf is invalid", NULL});
    hostile("phi3-F32", &(edit){.set_key = "phi3.rope.dimension_count", .set_u32 = 23}, LL_ERR_FORMAT,
            (const char *[]){"phi3.rope.dimension_count 23 is odd", NULL});
    hostile("phi3-F32", &(edit){.set_key = "phi3.rope.dimension_count", .set_u32 = 64}, LL_ERR_FORMAT,
            (const char *[]){"metadata 'phi3.rope.dimension_count' = 64 is out of range (valid: 0 to 32)", NULL});
    /* RoPE factors of the wrong length */
    hostile("llama3-F32", &(edit){.cut_tensor = "rope_freqs.weight", .cut_to = 16, .set_u32 = NO_U32}, LL_ERR_FORMAT,
            (const char *[]){"tensor 'rope_freqs.weight' has shape [16, 1], expected [32, 1]", NULL});
    hostile("phi3-F32", &(edit){.cut_tensor = "rope_factors_short.weight", .cut_to = 11, .set_u32 = NO_U32},
            LL_ERR_FORMAT,
            (const char *[]){"tensor 'rope_factors_short.weight' has shape [11, 1], expected [12, 1]", NULL});
}

/* What the loader made of each file's keys: the numbers the forward pass
 * follows (model_impl.h is internal, so through `logitlab info`'s
 * public fields only). */
static void info_fields(void) {
    static const struct {
        const char *file;
        size_t head_dim, rope_dim;
        bool neox, tied;
        float base;
    } want[] = {{"llama3-F32", 64, 64, false, false, 500000.0f}, {"qwen2-F32", 32, 32, true, true, 1000000.0f},
                {"qwen3-F32", 64, 64, true, true, 1000000.0f},   {"gemma2-F32", 64, 64, true, true, 10000.0f},
                {"gemma3-F32", 64, 64, true, true, 1000000.0f},  {"phi3-F32", 32, 24, true, false, 10000.0f}};
    for (size_t i = 0; i < LL_ARRAY_LEN(want); i++) {
        char gguf[1024];
        path_of(gguf, sizeof gguf, want[i].file, ".gguf");
        ll_error err;
        ll_model *m = ll_model_load(gguf, NULL, &err);
        CHECK(m != NULL, "%s: %s", want[i].file, err.message);
        if (!m) continue;
        const ll_model_info *in = ll_model_get_info(m);
        CHECK(in->head_dim == want[i].head_dim && in->rope_dim == want[i].rope_dim && in->rope_neox == want[i].neox &&
                  in->tied_output == want[i].tied && in->rope_base == want[i].base,
              "%s: head %zu rope %zu neox %d tied %d base %g", want[i].file, in->head_dim, in->rope_dim, in->rope_neox,
              in->tied_output, (double)in->rope_base);
        ll_model_free(m);
    }
}

/* The public view `logitlab info` prints from: the architecture's facts
 * (ll_model_get_arch_info) and the file's listing (ll_gguf_meta_at,
 * ll_gguf_tensor_at), both checked against what the files hold. */
static void arch_info_and_listing(void) {
    static const struct {
        const char *file, *family_has;
        float attn_scale, attn_cap, final_cap;
        size_t window, local, n_tensors;
        ll_rope_factor_kind factors;
        float local_base;
    } want[] = {
        {"llama3-F32", "Llama 1/2/3", 0.125f, 0, 0, 0, 0, 22, LL_ROPE_FACTORS_PER_PAIR, 0},
        {"qwen2-F32", "Qwen2", 0.17677669f, 0, 0, 0, 0, 26, LL_ROPE_FACTORS_OFF, 0},
        {"gemma2-F32", "Gemma 2", 0.125f, 0.05f, 0.5f, 16, 2, 46, LL_ROPE_FACTORS_OFF, 0},
        {"gemma3-F32", "Gemma 3", 0.125f, 0, 0, 24, 5, 80, LL_ROPE_FACTORS_OFF, 10000.0f},
        {"phi3-F32", "Phi-3", 0.17677669f, 0, 0, 0, 0, 17, LL_ROPE_FACTORS_LONG_SHORT, 0},
    };
    for (size_t i = 0; i < LL_ARRAY_LEN(want); i++) {
        char gguf[1024];
        path_of(gguf, sizeof gguf, want[i].file, ".gguf");
        ll_error err;
        ll_model *m = ll_model_load(gguf, NULL, &err);
        CHECK(m != NULL, "%s: %s", want[i].file, err.message);
        if (!m) continue;
        ll_arch_info ai;
        ll_model_get_arch_info(m, &ai);
        CHECK(strstr(ai.family, want[i].family_has) != NULL, "%s: family '%s'", want[i].file, ai.family);
        CHECK(ai.attention_scale == want[i].attn_scale && ai.attn_softcap == want[i].attn_cap &&
                  ai.final_softcap == want[i].final_cap && ai.sliding_window == want[i].window &&
                  ai.sliding_window_layers == want[i].local && ai.rope_factors == want[i].factors &&
                  ai.rope_local_base == want[i].local_base,
              "%s: scale %g caps %g %g window %zu on %zu factors %d local base %g", want[i].file,
              (double)ai.attention_scale, (double)ai.attn_softcap, (double)ai.final_softcap, ai.sliding_window,
              ai.sliding_window_layers, (int)ai.rope_factors, (double)ai.rope_local_base);
        CHECK(ai.block[0] && strlen(ai.block) < sizeof ai.block, "%s: block '%s'", want[i].file, ai.block);
        /* the listing: every tensor the reader has, in file order, found again by name */
        const ll_gguf *g = ll_model_gguf(m);
        CHECK(g && ll_gguf_n_tensors(g) == want[i].n_tensors, "%s: %zu tensors", want[i].file,
              g ? ll_gguf_n_tensors(g) : 0);
        if (!g) {
            ll_model_free(m);
            continue;
        }
        ll_tensor_entry t, untouched = {.name = "x"};
        for (size_t k = 0; ll_gguf_tensor_at(g, k, &t); k++) {
            const ll_gguf_tensor *r = ll_gguf_tensor_find(g, t.name);
            CHECK(r && r == &g->tensors[k] && !strcmp(t.type, ll_type_info_of(r->type)->name) &&
                      t.n_dims == r->n_dims && t.shape[0] == r->ne[0] && t.shape[1] == r->ne[1] &&
                      t.n_bytes == r->n_bytes,
                  "%s: tensor %zu '%s'", want[i].file, k, t.name);
        }
        t = untouched;
        CHECK(!ll_gguf_tensor_at(g, ll_gguf_n_tensors(g), &t) && !strcmp(t.name, "x"), "%s: past the end",
              want[i].file);
        ll_meta_entry e;
        bool arch_seen = false;
        for (size_t k = 0; ll_gguf_meta_at(g, k, &e); k++)
            if (!strcmp(e.key, "general.architecture"))
                arch_seen = e.kind == LL_META_STRING && e.str_len == strlen(ll_model_get_info(m)->arch) &&
                            !memcmp(e.str, ll_model_get_info(m)->arch, e.str_len) && !strcmp(e.type_name, "string");
            else if (!strcmp(e.key, "tokenizer.ggml.tokens"))
                CHECK(e.kind == LL_META_ARRAY && e.n_elems == 512 && !strcmp(e.elem_type, "string"),
                      "%s: tokens %d %llu", want[i].file, (int)e.kind, e.n_elems);
        CHECK(arch_seen, "%s: general.architecture", want[i].file);
        CHECK(!ll_gguf_meta_at(g, ll_gguf_n_meta(g), &e), "%s: meta past the end", want[i].file);
        ll_model_free(m);
    }
}

/* `logitlab convert` of each architecture: an F32 copy is the same model
 * (same logits, bit for bit, at every position of a 40-token run that
 * passes both sliding windows), and a Q8_0 copy loads and stays within
 * the quantized tolerance of the original. */
/* The logits of 40 tokens through models a and b differ by at most tol. */
static void same_logits(const char *what, ll_model *a, ll_model *b, double tol) {
    ll_error err;
    size_t V = ll_model_get_info(a)->n_vocab, n = 40;
    int32_t ids[40];
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)((i * 37 + 11) % V);
    float *la = malloc(n * V * sizeof *la), *lb = malloc(n * V * sizeof *lb);
    ll_context *ca = ll_context_new(a, 64, 1, &err), *cb = ll_context_new(b, 64, 1, &err);
    if (la && lb && ca && cb && ll_context_decode(ca, ids, n, NULL, la, &err) == LL_OK &&
        ll_context_decode(cb, ids, n, NULL, lb, &err) == LL_OK) {
        double md = 0;
        for (size_t i = 0; i < n * V; i++) md = fmax(md, fabs((double)la[i] - lb[i]));
        CHECK(md <= tol, "%s: logits differ by %g (allowed %g)", what, md, tol);
    } else {
        CHECK(false, "%s: decode: %s", what, err.message);
    }
    free(la);
    free(lb);
    ll_context_free(ca);
    ll_context_free(cb);
}

static void export_roundtrip(const char *file) {
    char src[1024], path[] = "/tmp/test_arch_export_XXXXXX";
    path_of(src, sizeof src, file, ".gguf");
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return;
    close(fd);
    ll_error err;
    ll_model *m = ll_model_load(src, NULL, &err);
    CHECK(m != NULL, "%s: %s", file, err.message);
    static const uint32_t types[] = {0 /* F32 */, 8 /* Q8_0 */};
    for (size_t ti = 0; m && ti < LL_ARRAY_LEN(types); ti++) {
        ll_export_options o = {.type = types[ti]};
        ll_status st = ll_model_export_gguf(m, &o, path, &err);
        CHECK_OK(st, err);
        ll_model *c = st == LL_OK ? ll_model_load(path, NULL, &err) : NULL;
        CHECK(st != LL_OK || c != NULL, "%s exported: %s", file, err.message);
        if (!c) continue;
        CHECK(!strcmp(ll_model_get_info(c)->arch, ll_model_get_info(m)->arch), "%s exported: architecture %s", file,
              ll_model_get_info(c)->arch);
        char what[1100];
        snprintf(what, sizeof what, "%s exported as %s", file, types[ti] == 0 ? "F32" : "Q8_0");
        same_logits(what, m, c, types[ti] == 0 ? 0.0 : 0.1);
        ll_model_free(c);
    }
    ll_model_free(m);
    unlink(path);
}

/* Branches (beams, parallel samples) that run past the sliding windows,
 * and rows of two contexts in one step (ll_decode_batch): a row gets the
 * logits of the same tokens decoded one at a time, bit for bit (every row
 * takes the one-token arithmetic, and its attention reads only its own
 * path). */
static void branches_and_batches(const char *file) {
    char gguf[1024];
    path_of(gguf, sizeof gguf, file, ".gguf");
    ll_error err;
    ll_model *m = ll_model_load(gguf, NULL, &err);
    CHECK(m != NULL, "%s: %s", file, err.message);
    if (!m) return;
    enum { N = 40, PREFIX = 8 };
    size_t V = ll_model_get_info(m)->n_vocab;
    int32_t ids[N];
    for (size_t i = 0; i < N; i++) ids[i] = (int32_t)((i * 37 + 11) % V);
    float *ref = malloc(N * V * sizeof *ref), *two = malloc(2 * V * sizeof *two);
    ll_context *a = ll_context_new(m, 64, 2, &err), *b = ll_context_new(m, 64, 2, &err);
    ll_context *c = ll_context_new(m, 64, 2, &err);
    bool ok = ref && two && a && b && c;
    for (size_t i = 0; ok && i < N; i++) ok = ll_context_decode(a, &ids[i], 1, ref + i * V, NULL, &err) == LL_OK;
    CHECK(ok, "%s: one at a time: %s", file, err.message);
    /* a chain of branch nodes after an 8-token prefix, each step with a
     * sibling that differs */
    for (size_t i = 0; ok && i < PREFIX; i++) ok = ll_context_decode(b, &ids[i], 1, two, NULL, &err) == LL_OK;
    int32_t prev = -1;
    size_t differ = 0;
    for (size_t i = PREFIX; ok && i < N; i++) {
        int32_t parents[2] = {prev, prev}, toks[2] = {ids[i], (ids[i] + 1) % (int32_t)V}, nodes[2];
        ok = ll_context_decode_tree(b, parents, toks, 2, two, nodes, &err) == LL_OK;
        for (size_t k = 0; ok && k < V; k++) differ += two[k] != ref[i * V + k];
        prev = nodes[0];
    }
    CHECK(ok && differ == 0, "%s: branches past the window: %zu logits differ from one at a time (%s)", file, differ,
          ok ? "" : err.message);
    /* two contexts, one row each per step */
    ll_context_rewind(a, 0, &err);
    differ = 0;
    for (size_t i = 0; ok && i < N; i++) {
        ll_batch_row rows[2] = {{.ctx = a, .token = ids[i], .parent = LL_BATCH_APPEND, .logits = two},
                                {.ctx = c, .token = ids[i], .parent = LL_BATCH_APPEND, .logits = two + V}};
        ok = ll_decode_batch(a, rows, 2, &err) == LL_OK;
        for (size_t k = 0; ok && k < 2 * V; k++) differ += two[k] != ref[i * V + k % V];
    }
    CHECK(ok && differ == 0, "%s: two contexts per step: %zu logits differ from one at a time (%s)", file, differ,
          ok ? "" : err.message);
    free(ref);
    free(two);
    ll_context_free(a);
    ll_context_free(b);
    ll_context_free(c);
    ll_model_free(m);
}

/* LongRoPE picks its factors by the context's size, as llama.cpp: a
 * context of at most rope.scaling.original_context_length (128) positions
 * uses the short factors, a longer one the long factors (the file's own
 * 512 positions, the reference). Position 0 does not turn, so it is the
 * same in both. */
static void longrope_by_context(void) {
    char gguf[1024];
    path_of(gguf, sizeof gguf, "phi3-F32", ".gguf");
    ll_error err;
    ll_model *m = ll_model_load(gguf, NULL, &err);
    CHECK(m != NULL, "phi3-F32: %s", err.message);
    if (!m) return;
    size_t V = ll_model_get_info(m)->n_vocab, sizes[3] = {128, 129, 512};
    int32_t ids[6] = {1, 403, 407, 261, 378, 11};
    float *l[3];
    for (size_t s = 0; s < 3; s++) {
        l[s] = malloc(6 * V * sizeof(float));
        ll_context *c = ll_context_new(m, sizes[s], 1, &err);
        CHECK(c && l[s] && ll_context_decode(c, ids, 6, NULL, l[s], &err) == LL_OK, "phi3 n_ctx %zu: %s", sizes[s],
              err.message);
        ll_context_free(c);
    }
    size_t d128 = 0, d129 = 0, d0 = 0;
    for (size_t k = 0; k < 6 * V; k++) {
        d128 += l[0][k] != l[2][k];
        d129 += l[1][k] != l[2][k];
        d0 += k < V && l[0][k] != l[2][k];
    }
    CHECK(d128 > 0 && d0 == 0, "phi3: a 128-position context uses the short factors (%zu logits differ, %zu at pos 0)",
          d128, d0);
    CHECK(d129 == 0, "phi3: a 129-position context uses the long factors, as 512 does (%zu logits differ)", d129);
    for (size_t s = 0; s < 3; s++) free(l[s]);
    ll_model_free(m);
}

/* A Q4_0 model is repacked at load, a fused tensor's parts each on its
 * own: exported again (as F32: the dequantized weights, exactly), it must
 * compute what the loaded Q4_0 model computes, up to the activations'
 * 8-bit rounding (a part written from the wrong rows would be far off). */
static void export_repacked(const char *file) {
    char src[1024], q4[] = "/tmp/test_arch_q4_XXXXXX", f32[] = "/tmp/test_arch_f32_XXXXXX";
    path_of(src, sizeof src, file, ".gguf");
    int fq = mkstemp(q4), ff = mkstemp(f32);
    CHECK(fq >= 0 && ff >= 0, "mkstemp");
    if (fq >= 0) close(fq);
    if (ff >= 0) close(ff);
    ll_error err;
    ll_model *m = ll_model_load(src, NULL, &err), *c = NULL, *d = NULL;
    CHECK(m != NULL, "%s: %s", file, err.message);
    ll_export_options oq = {.type = 2 /* Q4_0 */}, of = {.type = 0 /* F32 */};
    if (m && ll_model_export_gguf(m, &oq, q4, &err) == LL_OK) c = ll_model_load(q4, NULL, &err);
    CHECK(c != NULL, "%s as Q4_0: %s", file, err.message);
    if (c && ll_model_export_gguf(c, &of, f32, &err) == LL_OK) d = ll_model_load(f32, NULL, &err);
    CHECK(d != NULL, "%s as Q4_0 then F32: %s", file, err.message);
    if (c && d) same_logits(file, c, d, 0.05);
    ll_model_free(m);
    ll_model_free(c);
    ll_model_free(d);
    unlink(q4);
    unlink(f32);
}

int main(int argc, char **argv) {
    /* an argument picks one file (for debugging) */
    for (size_t i = 0; i < LL_ARRAY_LEN(files); i++)
        if (argc < 2 || !strcmp(argv[1], files[i].name)) run_file(files[i].name, files[i].tol);
    if (argc < 2) {
        static const char *const one_per_arch[] = {"llama3-F32", "qwen2-F32",  "qwen3-F32",
                                                   "gemma2-F32", "gemma3-F32", "phi3-F32"};
        for (size_t i = 0; i < LL_ARRAY_LEN(one_per_arch); i++) {
            chat_render(one_per_arch[i]);
            export_roundtrip(one_per_arch[i]);
        }
        export_repacked("phi3-F32"); /* fused QKV and gate/up */
        export_repacked("llama3-F32");
        info_fields();
        arch_info_and_listing();
        hostile_files();
        static const char *const windowed[] = {"gemma2-F32", "gemma3-Q8_0", "llama3-Q4_K_M"};
        for (size_t i = 0; i < LL_ARRAY_LEN(windowed); i++) branches_and_batches(windowed[i]);
        longrope_by_context();
    }
    return tu_finish("arch");
}
