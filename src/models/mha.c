/* torch.nn.MultiheadAttention (PyTorch 1.13, batch_first=True) as a model
 * of its own: one graph holds every case whose inputs are given, each
 * under its case name ("kpm", "causal", ...).
 *
 *   in_proj_weight [3E,E] rows q|k|v, in_proj_bias [3E], out_proj [E,E] + [E]
 *   self-attention (x given): one GEMM with the packed weight, split after
 *   cross-attention (query/key/value given): three GEMMs with the chunks
 *   q / sqrt(hd) BEFORE q @ k^T; key_padding_mask OR attn_mask -> -inf
 *   additive mask; softmax with no zeroing.
 *
 * A config with "embedding" wraps the module in a small model (lesson 01's,
 * tools/train_mha_lesson.py), named like its torch modules:
 *   tokens [B,T] -> embed (nn.Embedding) -> pos_enc (x + the sinusoid
 *   table, optional) -> <case> (self-attention, key_padding_mask /
 *   attn_mask inputs without a prefix) -> out (nn.Linear, optional)
 *   -> predicted (argmax); weights "embed.weight", "<case>.in_proj_weight",
 *   "out.weight", ...; "vocab" labels the token axes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/attention.h"
#include "layerstep/config.h"
#include "layerstep/model.h"
#include "random_weights.h"

#define MHA_MAX_CASES 16
#define MHA_MAX_VOCAB 4096
#define MHA_WORD 24

typedef struct mha_cfg {
    int64_t embed_dim, num_heads;
    bool bias;
    int n_cases;
    char cases[MHA_MAX_CASES][32];
    /* example inputs: x [batch, length, E] seeded N(0,1), a causal
     * attn_mask or none, key lengths (a key_padding_mask) or none */
    int64_t ex_batch, ex_length, ex_seed;
    bool ex_causal;
    int n_ex_lengths;
    int64_t ex_lengths[64];
    /* the wrapped model ("embedding" given): module names, sizes, words */
    bool wrapped, has_pe, has_out;
    char root_class[64], embed_name[32], pe_name[32], out_name[32];
    int64_t vocab_size, out_features, pad_id;
    int n_vocab;                       /* 0: no "vocab" */
    char vocab[MHA_MAX_VOCAB][MHA_WORD]; /* inside: the model frees cfg with free() */
    int n_ex_tokens;                   /* example_inputs.tokens, else random ids */
    int64_t ex_tokens[4096];
} mha_cfg;

/* "example_inputs": {"batch", "length", "seed", "causal", "key_lengths"},
 * every field optional (2, 6, 7, true, none). */
static int parse_example(const cJSON *c, const char *f, mha_cfg *cfg, ls_error *err)
{
    int rc;
    if ((rc = ls_json_int_opt(c, "example_inputs.batch", f, 1, 64, 2, &cfg->ex_batch, err)) ||
        (rc = ls_json_int_opt(c, "example_inputs.length", f, 1, 4096, 6, &cfg->ex_length, err)) ||
        (rc = ls_json_int_opt(c, "example_inputs.seed", f, 0, INT64_MAX, 7, &cfg->ex_seed, err)) ||
        (rc = ls_json_bool_opt(c, "example_inputs.causal", f, true, &cfg->ex_causal, err)))
        return rc;
    const cJSON *kl = ls_json_at(c, "example_inputs.key_lengths");
    if (!kl)
        return LS_OK;
    if (!cJSON_IsArray(kl) || cJSON_GetArraySize(kl) != cfg->ex_batch)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: 'example_inputs.key_lengths' must be an array of one length per batch item (%lld)",
                            f, (long long)cfg->ex_batch);
    const cJSON *e;
    cJSON_ArrayForEach(e, kl) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 1 || e->valuedouble > (double)cfg->ex_length ||
            e->valuedouble != (double)(int64_t)e->valuedouble)
            return ls_error_set(err, LS_ERR_RANGE,
                                "%s: 'example_inputs.key_lengths' entries must be 1..%lld (the length)",
                                f, (long long)cfg->ex_length);
        cfg->ex_lengths[cfg->n_ex_lengths++] = (int64_t)e->valuedouble;
    }
    return LS_OK;
}

/* The id of `w` in the vocab, -1 if none. */
static int64_t vocab_id(const mha_cfg *cfg, const char *w, size_t n)
{
    for (int i = 0; i < cfg->n_vocab; i++)
        if (strlen(cfg->vocab[i]) == n && !strncmp(cfg->vocab[i], w, n))
            return i;
    return -1;
}

/* example_inputs.tokens: words separated by blanks, or, without a blank,
 * one token per character (a vocab of letters); the rest of the length is
 * the pad id. */
static int parse_ex_tokens(const cJSON *c, const char *f, mha_cfg *cfg, ls_error *err)
{
    const cJSON *t = ls_json_at(c, "example_inputs.tokens");
    if (!t)
        return LS_OK;
    if (!cJSON_IsString(t) || !cfg->n_vocab)
        return ls_error_set(err, LS_ERR_FORMAT,
                            "%s: 'example_inputs.tokens' must be a string of words of 'vocab'", f);
    const char *p = t->valuestring;
    bool by_char = !strchr(p, ' ');
    while (*p) {
        size_t n = 1;
        if (!by_char) {
            while (*p == ' ')
                p++;
            if (!*p)
                break;
            n = strcspn(p, " ");
        }
        int64_t id = vocab_id(cfg, p, n);
        if (id < 0)
            return ls_error_set(err, LS_ERR_FORMAT, "%s: 'example_inputs.tokens': '%.*s' is not in 'vocab'",
                                f, (int)(n > 40 ? 40 : n), p);
        if (cfg->n_ex_tokens >= cfg->ex_length)
            return ls_error_set(err, LS_ERR_RANGE,
                                "%s: 'example_inputs.tokens' has more tokens than 'example_inputs.length' (%lld)",
                                f, (long long)cfg->ex_length);
        cfg->ex_tokens[cfg->n_ex_tokens++] = id;
        p += n;
    }
    return LS_OK;
}

/* "embedding", "positional_encoding", "output", "vocab", "root_class":
 * the model around the module (see the top of the file). */
static int parse_wrap(const cJSON *c, const char *f, mha_cfg *cfg, ls_error *err)
{
    int rc;
    const cJSON *emb = ls_json_at(c, "embedding");
    static const char *const NEED[] = {"positional_encoding", "output", "vocab"};
    if (!emb) {
        for (int i = 0; i < 3; i++)
            if (ls_json_at(c, NEED[i]))
                return ls_error_set(err, LS_ERR_FORMAT, "%s: '%s' needs 'embedding' (token ids in)",
                                    f, NEED[i]);
        return LS_OK;
    }
    cfg->wrapped = true;
    if ((rc = ls_json_int(c, "embedding.num_embeddings", f, 1, MHA_MAX_VOCAB, &cfg->vocab_size, err)) ||
        (rc = ls_json_str_opt(c, "embedding.name", f, "embed", cfg->embed_name, sizeof cfg->embed_name, err)) ||
        (rc = ls_json_int_opt(c, "embedding.pad_id", f, 0, cfg->vocab_size - 1, 0, &cfg->pad_id, err)) ||
        (rc = ls_json_str_opt(c, "root_class", f, "Model", cfg->root_class, sizeof cfg->root_class, err)))
        return rc;
    if ((cfg->has_pe = ls_json_at(c, "positional_encoding") != NULL)) {
        char kind[32];
        if ((rc = ls_json_str_opt(c, "positional_encoding.name", f, "pos_enc", cfg->pe_name,
                                  sizeof cfg->pe_name, err)) ||
            (rc = ls_json_str_opt(c, "positional_encoding.kind", f, "sinusoid", kind, sizeof kind, err)))
            return rc;
        if (strcmp(kind, "sinusoid"))
            return ls_error_set(err, LS_ERR_RANGE,
                                "%s: 'positional_encoding.kind' '%s' is not supported (only \"sinusoid\")",
                                f, kind);
    }
    if ((cfg->has_out = ls_json_at(c, "output") != NULL) &&
        ((rc = ls_json_int(c, "output.out_features", f, 1, 1 << 20, &cfg->out_features, err)) ||
         (rc = ls_json_str_opt(c, "output.name", f, "out", cfg->out_name, sizeof cfg->out_name, err))))
        return rc;
    const cJSON *voc = ls_json_at(c, "vocab"), *w;
    if (voc && (!cJSON_IsArray(voc) || cJSON_GetArraySize(voc) != cfg->vocab_size))
        return ls_error_set(err, LS_ERR_FORMAT, "%s: 'vocab' must be an array of %lld words (num_embeddings)",
                            f, (long long)cfg->vocab_size);
    cJSON_ArrayForEach(w, voc) {
        if (!cJSON_IsString(w) || !w->valuestring[0] || strlen(w->valuestring) >= MHA_WORD ||
            strchr(w->valuestring, ' '))
            return ls_error_set(err, LS_ERR_FORMAT,
                                "%s: 'vocab' entry %d must be a word of 1 to %d bytes without blanks",
                                f, cfg->n_vocab, MHA_WORD - 1);
        snprintf(cfg->vocab[cfg->n_vocab++], MHA_WORD, "%s", w->valuestring);
    }
    if (ls_json_at(c, "cases"))
        return ls_error_set(err, LS_ERR_FORMAT, "%s: 'cases' and 'embedding' do not go together "
                            "(the wrapped model has one self-attention)", f);
    return parse_ex_tokens(c, f, cfg, err);
}

static int mha_parse(ls_model *m, ls_error *err)
{
    const cJSON *c = ls_model_config(m);
    const char *f = ls_model_config_path(m);
    mha_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    int rc;
    bool batch_first = true;
    if ((rc = ls_json_int(c, "kwargs.embed_dim", f, 1, 1 << 16, &cfg->embed_dim, err)) ||
        (rc = ls_json_int(c, "kwargs.num_heads", f, 1, 1024, &cfg->num_heads, err)) ||
        (rc = ls_json_bool_opt(c, "kwargs.bias", f, true, &cfg->bias, err)) ||
        (rc = ls_json_bool_opt(c, "kwargs.batch_first", f, true, &batch_first, err)))
        goto fail;
    /* torch's other switches change the math (an extra key, separate
     * projections): refused, not ignored, so such a model cannot run wrong */
    bool bias_kv = false, zero_attn = false;
    if ((rc = ls_json_bool_opt(c, "kwargs.add_bias_kv", f, false, &bias_kv, err)) ||
        (rc = ls_json_bool_opt(c, "kwargs.add_zero_attn", f, false, &zero_attn, err)))
        goto fail;
    if (bias_kv || zero_attn) {
        rc = ls_error_set(err, LS_ERR_RANGE, "%s: 'kwargs.%s' = true is not supported", f,
                          bias_kv ? "add_bias_kv" : "add_zero_attn");
        goto fail;
    }
    static const char *const KVDIM[] = {"kwargs.kdim", "kwargs.vdim"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = ls_json_at(c, KVDIM[i]);
        int64_t dim;
        if (!v || cJSON_IsNull(v))
            continue;
        if ((rc = ls_json_int(c, KVDIM[i], f, 1, 1 << 16, &dim, err)))
            goto fail;
        if (dim != cfg->embed_dim) {
            rc = ls_error_set(err, LS_ERR_RANGE,
                              "%s: '%s' = %lld is not supported (only null or embed_dim %lld: "
                              "one packed in_proj_weight)",
                              f, KVDIM[i], (long long)dim, (long long)cfg->embed_dim);
            goto fail;
        }
    }
    if (cfg->embed_dim % cfg->num_heads) {
        rc = ls_error_set(err, LS_ERR_RANGE,
                          "%s: 'kwargs.embed_dim' (%lld) must be divisible by 'kwargs.num_heads' (%lld)",
                          f, (long long)cfg->embed_dim, (long long)cfg->num_heads);
        goto fail;
    }
    if ((rc = parse_example(c, f, cfg, err)) || (rc = parse_wrap(c, f, cfg, err)))
        goto fail;
    if (!batch_first) {
        rc = ls_error_set(err, LS_ERR_RANGE, "%s: only batch_first=true is supported", f);
        goto fail;
    }
    const cJSON *cases = ls_json_at(c, "cases");
    const cJSON *it;
    cJSON_ArrayForEach(it, cases)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
        if (!cJSON_IsString(name) || !name->valuestring[0] ||
            strlen(name->valuestring) >= sizeof cfg->cases[0] || strchr(name->valuestring, '/')) {
            rc = ls_error_set(err, LS_ERR_FORMAT, "%s: every entry of 'cases' needs a short 'name'", f);
            goto fail;
        }
        if (cfg->n_cases >= MHA_MAX_CASES) {
            rc = ls_error_set(err, LS_ERR_RANGE, "%s: more than %d cases", f, MHA_MAX_CASES);
            goto fail;
        }
        snprintf(cfg->cases[cfg->n_cases++], sizeof cfg->cases[0], "%s", name->valuestring);
    }
    if (cfg->n_cases == 0) {
        /* a plain module config: one case named "mha" */
        snprintf(cfg->cases[0], sizeof cfg->cases[0], "mha");
        cfg->n_cases = 1;
    }
    ls_model_set_cfg(m, cfg);
    return LS_OK;
fail:
    free(cfg);
    return rc;
}

static const ls_tensor *input_of(const ls_tmap *in, const char *cs, const char *what)
{
    char name[96];
    snprintf(name, sizeof name, "%s.%s", cs, what);
    return ls_tmap_get(in, name);
}

static int add_input(ls_graph *g, const char *cs, const char *what, const ls_tensor *t)
{
    char name[96];
    snprintf(name, sizeof name, "%s.%s", cs, what);
    return ls_graph_input(g, name, t->dtype, t->ndim, t->shape);
}

/* The rows [lo, lo+E) of the packed projection: a view, no copy. */
static int chunk(ls_graph *g, int w, int64_t lo, int64_t e)
{
    return w < 0 ? -1 : ls_g_slice(g, w, 0, lo, lo + e, 1, NULL);
}

/* From the projected q, k, v [B,T,E] on: the head split, the masks (bool
 * input nodes or -1), the attention, out_proj; the module's output is
 * named <cs>, its per-head weights <cs>.1 (torch's tuple).  Returns the
 * output node. */
static int attn_body(ls_graph *g, const mha_cfg *cfg, const char *cs, int q, int k, int v,
                     int kpm_i, int am_i, int64_t B, int64_t Tq, int64_t Tk, int w_out, int b_out)
{
    const int64_t E = cfg->embed_dim, H = cfg->num_heads, hd = E / H;
    ls_graph_begin(g, "MultiheadAttention", "", "%s", cs);
    q = ls_attn_heads(g, q, (int)H, (int)hd, "q");
    k = ls_attn_heads(g, k, (int)H, (int)hd, "k");
    v = ls_attn_heads(g, v, (int)H, (int)hd, "v");

    ls_attn_spec s = ls_attn_spec_default((int)H, (int)hd, (int)hd);
    s.scale_mode = LS_SCALE_Q_DIV_BEFORE;
    s.scale = sqrtf((float)hd);
    s.mask_mode = LS_MASK_ADD;
    int mask = -1, mask_add = -1;
    if (kpm_i >= 0 || am_i >= 0) {
        /* [B,Tk] -> [B,1,1,Tk]; [Tq,Tk] -> [1,1,Tq,Tk]; OR; repeat over heads */
        int m4 = -1;
        if (kpm_i >= 0)
            m4 = ls_g_reshape(g, kpm_i, 4, (int64_t[]){B, 1, 1, Tk}, NULL);
        if (am_i >= 0) {
            int a4 = ls_g_reshape(g, am_i, 4, (int64_t[]){1, 1, Tq, Tk}, NULL);
            m4 = m4 >= 0 ? ls_g_op2(g, LS_OP_LOGICAL_OR, m4, a4, NULL) : a4;
        }
        ls_op_params ep;
        memset(&ep, 0, sizeof ep);
        ep.i[0] = 4;
        ep.i[1] = B;
        ep.i[2] = H;
        ep.i[3] = Tq;
        ep.i[4] = Tk;
        mask = ls_graph_op(g, LS_OP_EXPAND, &ep, &m4, 1, NULL);
        int zeros = ls_g_scalar(g, LS_OP_SCALE, ls_graph_op(g, LS_OP_CAST,
                                &(ls_op_params){.i = {LS_F32}}, &mask, 1, NULL), 0.0f, NULL);
        mask_add = ls_g_masked_fill(g, zeros, mask, -INFINITY, NULL);
    }
    int ctx = ls_attn_core(g, q, k, v, mask, mask_add, &s);
    char extra[96];
    snprintf(extra, sizeof extra, "in_features=%lld, out_features=%lld, bias=%s", (long long)E,
             (long long)E, cfg->bias ? "True" : "False");
    ls_graph_begin(g, "NonDynamicallyQuantizableLinear", extra, "out_proj");
    int out = ls_graph_end(g, ls_g_linear(g, ctx, w_out, b_out, NULL));
    out = ls_graph_end(g, out);
    char an[96];
    snprintf(an, sizeof an, "%s.attn", cs);
    int attn_node = ls_graph_find(g, an);
    if (attn_node >= 0) {
        ls_graph_begin(g, "MultiheadAttention", "", "%s", cs);
        ls_graph_alias(g, attn_node, "1");
        ls_graph_end(g, -1);
    }
    return out;
}

static int build_case(ls_graph *g, const mha_cfg *cfg, const ls_tmap *in, const char *cs,
                      int w_in, int b_in, int w_out, int b_out, ls_error *err)
{
    const int64_t E = cfg->embed_dim;
    const ls_tensor *x = input_of(in, cs, "x");
    const ls_tensor *qt = input_of(in, cs, "query"), *kt = input_of(in, cs, "key"),
                    *vt = input_of(in, cs, "value");
    const ls_tensor *kpm = input_of(in, cs, "key_padding_mask");
    const ls_tensor *am = input_of(in, cs, "attn_mask");
    if (!x && !(qt && kt && vt))
        return LS_OK; /* this case's inputs are not given: not built */
    const ls_tensor *shapes[3] = {x ? x : qt, x ? x : kt, x ? x : vt};
    for (int k = 0; k < 3; k++)
        if (shapes[k]->ndim != 3 || shapes[k]->shape[2] != E || shapes[k]->dtype != LS_F32)
            return ls_error_set(err, LS_ERR_SHAPE, "input '%s.%s' must be float32 [B,T,%lld]", cs,
                                x ? "x" : (k == 0 ? "query" : k == 1 ? "key" : "value"),
                                (long long)E);
    int64_t B = shapes[0]->shape[0], Tq = shapes[0]->shape[1], Tk = shapes[1]->shape[1];
    if (shapes[1]->shape[0] != B || shapes[2]->shape[0] != B || shapes[2]->shape[1] != Tk)
        return ls_error_set(err, LS_ERR_SHAPE, "case '%s': query, key and value disagree in shape", cs);
    if (kpm && (kpm->dtype != LS_BOOL || kpm->ndim != 2 || kpm->shape[0] != B || kpm->shape[1] != Tk))
        return ls_error_set(err, LS_ERR_SHAPE, "input '%s.key_padding_mask' must be bool [%lld, %lld]",
                            cs, (long long)B, (long long)Tk);
    if (am && (am->dtype != LS_BOOL || am->ndim != 2 || am->shape[0] != Tq || am->shape[1] != Tk))
        return ls_error_set(err, LS_ERR_SHAPE, "input '%s.attn_mask' must be bool [%lld, %lld]", cs,
                            (long long)Tq, (long long)Tk);

    int q, k, v;
    if (x) {
        int xi = add_input(g, cs, "x", x);
        ls_graph_begin(g, "MultiheadAttention", "", "%s", cs);
        /* one packed GEMM, split after: the rounding torch uses when
         * query is key is value */
        int qkv = ls_g_linear(g, xi, w_in, b_in, NULL);
        q = ls_g_slice(g, qkv, 2, 0, E, 1, NULL);
        k = ls_g_slice(g, qkv, 2, E, 2 * E, 1, NULL);
        v = ls_g_slice(g, qkv, 2, 2 * E, 3 * E, 1, NULL);
    } else {
        int qi = add_input(g, cs, "query", qt), ki = add_input(g, cs, "key", kt),
            vi = add_input(g, cs, "value", vt);
        ls_graph_begin(g, "MultiheadAttention", "", "%s", cs);
        q = ls_g_linear(g, qi, chunk(g, w_in, 0, E), chunk(g, b_in, 0, E), NULL);
        k = ls_g_linear(g, ki, chunk(g, w_in, E, E), chunk(g, b_in, E, E), NULL);
        v = ls_g_linear(g, vi, chunk(g, w_in, 2 * E, E), chunk(g, b_in, 2 * E, E), NULL);
    }
    ls_graph_end(g, -1);
    /* masks are inputs of the case; they are recorded at the root */
    int kpm_i = kpm ? add_input(g, cs, "key_padding_mask", kpm) : -1;
    int am_i = am ? add_input(g, cs, "attn_mask", am) : -1;
    attn_body(g, cfg, cs, q, k, v, kpm_i, am_i, B, Tq, Tk, w_out, b_out);
    return LS_OK;
}

/* The wrapped model: tokens -> embed -> pos_enc -> <case> -> out -> predicted. */
static int build_wrapped(ls_graph *g, const mha_cfg *cfg, const ls_tmap *in, ls_error *err)
{
    const int64_t E = cfg->embed_dim, V = cfg->vocab_size;
    const char *cs = cfg->cases[0];
    const ls_tensor *ids = ls_tmap_get(in, "tokens");
    const ls_tensor *kpm = ls_tmap_get(in, "key_padding_mask");
    const ls_tensor *am = ls_tmap_get(in, "attn_mask");
    if (!ids)
        return ls_error_set(err, LS_ERR_MISSING, "no input 'tokens' (token ids, int64 [B,T])");
    if (ids->dtype != LS_I64 || ids->ndim != 2)
        return ls_error_set(err, LS_ERR_SHAPE, "input 'tokens' must be int64 [B,T], got %s %dD",
                            ls_dtype_name(ids->dtype), ids->ndim);
    const int64_t B = ids->shape[0], T = ids->shape[1];
    if (kpm && (kpm->dtype != LS_BOOL || kpm->ndim != 2 || kpm->shape[0] != B || kpm->shape[1] != T))
        return ls_error_set(err, LS_ERR_SHAPE, "input 'key_padding_mask' must be bool [%lld, %lld]",
                            (long long)B, (long long)T);
    if (am && (am->dtype != LS_BOOL || am->ndim != 2 || am->shape[0] != T || am->shape[1] != T))
        return ls_error_set(err, LS_ERR_SHAPE, "input 'attn_mask' must be bool [%lld, %lld]",
                            (long long)T, (long long)T);
    int x = ls_graph_input(g, "tokens", LS_I64, 2, ids->shape);
    int kpm_i = kpm ? ls_graph_input(g, "key_padding_mask", LS_BOOL, 2, kpm->shape) : -1;
    int am_i = am ? ls_graph_input(g, "attn_mask", LS_BOOL, 2, am->shape) : -1;
    char extra[96];
    snprintf(extra, sizeof extra, "%lld, %lld", (long long)V, (long long)E);
    ls_graph_begin(g, "Embedding", extra, "%s", cfg->embed_name);
    int w = ls_graph_weight(g, "weight", 2, (int64_t[]){V, E});
    x = ls_graph_end(g, ls_g_op2(g, LS_OP_EMBEDDING, x, w, NULL));
    if (cfg->has_pe) {
        /* x + pe[:T], the table broadcast over the batch */
        ls_graph_begin(g, "PositionalEncoding", "", "%s", cfg->pe_name);
        ls_op_params pp = {.i = {T, E}};
        int pe = ls_graph_op(g, LS_OP_POS_TABLE, &pp, NULL, 0, "pe");
        int pe3 = ls_g_reshape(g, pe, 3, (int64_t[]){1, T, E}, NULL);
        x = ls_graph_end(g, ls_g_op2(g, LS_OP_ADD, x, pe3, NULL));
    }
    /* self-attention: one packed GEMM, split after, as torch does */
    ls_graph_begin(g, "MultiheadAttention", "", "%s", cs);
    int w_in = ls_graph_weight(g, "in_proj_weight", 2, (int64_t[]){3 * E, E});
    int b_in = cfg->bias ? ls_graph_weight(g, "in_proj_bias", 1, (int64_t[]){3 * E}) : -1;
    int w_out = ls_graph_weight(g, "out_proj.weight", 2, (int64_t[]){E, E});
    int b_out = cfg->bias ? ls_graph_weight(g, "out_proj.bias", 1, (int64_t[]){E}) : -1;
    int qkv = ls_g_linear(g, x, w_in, b_in, NULL);
    int q = ls_g_slice(g, qkv, 2, 0, E, 1, NULL);
    int k = ls_g_slice(g, qkv, 2, E, 2 * E, 1, NULL);
    int v = ls_g_slice(g, qkv, 2, 2 * E, 3 * E, 1, NULL);
    ls_graph_end(g, -1);
    int y = attn_body(g, cfg, cs, q, k, v, kpm_i, am_i, B, T, T, w_out, b_out);
    if (cfg->has_out) {
        const int64_t O = cfg->out_features;
        snprintf(extra, sizeof extra, "in_features=%lld, out_features=%lld, bias=True",
                 (long long)E, (long long)O);
        ls_graph_begin(g, "Linear", extra, "%s", cfg->out_name);
        int wo = ls_graph_weight(g, "weight", 2, (int64_t[]){O, E});
        int bo = ls_graph_weight(g, "bias", 1, (int64_t[]){O});
        y = ls_graph_end(g, ls_g_linear(g, y, wo, bo, NULL));
        /* the predicted token at every position: logits.argmax(-1) */
        ls_g_op1(g, LS_OP_ARGMAX, y, "predicted");
    }
    return LS_OK;
}

/* The bare module: every configured case whose inputs are given. */
static int build_cases(ls_graph *g, const mha_cfg *cfg, const ls_tmap *in, ls_error *err)
{
    const int64_t E = cfg->embed_dim;
    /* the weights live at the root: every case shares them */
    int w_in = ls_graph_weight(g, "in_proj_weight", 2, (int64_t[]){3 * E, E});
    int b_in = cfg->bias ? ls_graph_weight(g, "in_proj_bias", 1, (int64_t[]){3 * E}) : -1;
    int w_out = ls_graph_weight(g, "out_proj.weight", 2, (int64_t[]){E, E});
    int b_out = cfg->bias ? ls_graph_weight(g, "out_proj.bias", 1, (int64_t[]){E}) : -1;
    int rc = LS_OK, built = 0;
    for (int c = 0; c < cfg->n_cases && !rc && ls_graph_ok(g); c++) {
        int before = ls_graph_n_nodes(g);
        rc = build_case(g, cfg, in, cfg->cases[c], w_in, b_in, w_out, b_out, err);
        built += ls_graph_n_nodes(g) > before;
    }
    if (!rc && ls_graph_ok(g) && built == 0)
        rc = ls_error_set(err, LS_ERR_MISSING,
                          "no inputs for any case: give <case>.x or <case>.query/key/value "
                          "(cases: %s%s)", cfg->cases[0], cfg->n_cases > 1 ? ", ..." : "");
    return rc;
}

static int mha_build(const ls_model *m, const ls_tmap *in, const ls_build_opts *o, ls_graph **out,
                     ls_error *err)
{
    (void)o;
    const mha_cfg *cfg = ls_model_cfg(m);
    ls_graph *g = ls_graph_new(cfg->wrapped ? cfg->root_class : "MultiheadAttention",
                               ls_model_weights(m));
    if (!g)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    int rc = cfg->wrapped ? build_wrapped(g, cfg, in, err) : build_cases(g, cfg, in, err);
    if (!rc && !ls_graph_ok(g))
        rc = ls_error_set(err, ls_graph_error(g)->code, "%s", ls_graph_error(g)->msg);
    if (rc) {
        ls_graph_free(g);
        return rc;
    }
    *out = g;
    return LS_OK;
}

/* Seeded N(0,1) x (the generator --random-inputs uses) of the configured
 * size, with a causal attn_mask and/or a key_padding_mask from key
 * lengths (True = a padded key) as the config asks. */
static int mha_example_inputs(const ls_model *m, ls_tmap *out, ls_error *err)
{
    const mha_cfg *cfg = ls_model_cfg(m);
    int64_t B = cfg->ex_batch, T = cfg->ex_length, E = cfg->embed_dim;
    ls_rng r = {(uint64_t)cfg->ex_seed};
    ls_tensor x, am, kpm;
    int rc;
    char name[96];
    /* the wrapped model's inputs carry no case prefix */
    const char *pre = cfg->wrapped ? "" : cfg->cases[0], *dot = cfg->wrapped ? "" : ".";
    if (cfg->wrapped) {
        /* example_inputs.tokens in every item, then the pad id; without
         * them seeded random ids */
        if ((rc = ls_tensor_alloc(ls_tmap_arena(out), LS_I64, 2, (int64_t[]){B, T}, &x, err)))
            return rc;
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < T; j++)
                ((int64_t *)x.data)[b * T + j] =
                    !cfg->n_ex_tokens ? (int64_t)(ls_rng_next(&r) % (uint64_t)cfg->vocab_size)
                    : j < cfg->n_ex_tokens ? cfg->ex_tokens[j] : cfg->pad_id;
        if ((rc = ls_tmap_put_ref(out, "tokens", &x, err)))
            return rc;
    } else {
        if ((rc = ls_tensor_alloc(ls_tmap_arena(out), LS_F32, 3, (int64_t[]){B, T, E}, &x, err)))
            return rc;
        for (int64_t i = 0; i < B * T * E; i++)
            ((float *)x.data)[i] = ls_rng_normal(&r);
        snprintf(name, sizeof name, "%s.x", cfg->cases[0]);
        if ((rc = ls_tmap_put_ref(out, name, &x, err)))
            return rc;
    }
    if (cfg->ex_causal) {
        rc = ls_tensor_alloc(ls_tmap_arena(out), LS_BOOL, 2, (int64_t[]){T, T}, &am, err);
        if (rc)
            return rc;
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j < T; j++)
                ((unsigned char *)am.data)[i * T + j] = j > i;
        snprintf(name, sizeof name, "%s%sattn_mask", pre, dot);
        if ((rc = ls_tmap_put_ref(out, name, &am, err)))
            return rc;
    }
    if (cfg->n_ex_lengths) {
        rc = ls_tensor_alloc(ls_tmap_arena(out), LS_BOOL, 2, (int64_t[]){B, T}, &kpm, err);
        if (rc)
            return rc;
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < T; j++)
                ((unsigned char *)kpm.data)[b * T + j] = j >= cfg->ex_lengths[b];
        snprintf(name, sizeof name, "%s%skey_padding_mask", pre, dot);
        if ((rc = ls_tmap_put_ref(out, name, &kpm, err)))
            return rc;
    }
    return LS_OK;
}

/* ---- seeded random weights (a config without a weights file) ----
 * torch's own init for nn.MultiheadAttention: in_proj_weight xavier
 * uniform U(+-sqrt(6 / (E + 3E))), out_proj.weight U(+-1/sqrt(E)),
 * both biases 0.  One walk counts bytes, the other fills
 * (src/models/random_weights.c). */
static void mha_all_weights(ls_rw *s, const mha_cfg *c)
{
    const int64_t E = c->embed_dim;
    /* the wrapped model: embed N(0,1), the module under its name, out
     * nn.Linear's default */
    const char *pre = c->wrapped ? c->cases[0] : "";
    if (c->wrapped)
        ls_rw_normal(s, c->embed_name, "weight", 2, (int64_t[]){c->vocab_size, E});
    ls_rw_put(s, pre, "in_proj_weight", 2, (int64_t[]){3 * E, E}, sqrt(6.0 / (double)(4 * E)), 0);
    if (c->bias)
        ls_rw_put(s, pre, "in_proj_bias", 1, (int64_t[]){3 * E}, 0, 0.0f);
    ls_rw_put(s, pre, "out_proj.weight", 2, (int64_t[]){E, E}, 1.0 / sqrt((double)E), 0);
    if (c->bias)
        ls_rw_put(s, pre, "out_proj.bias", 1, &E, 0, 0.0f);
    if (c->wrapped && c->has_out)
        ls_rw_linear(s, c->out_name, E, c->out_features, true);
}

static void mha_walk(ls_rw *s, const ls_model *m) { mha_all_weights(s, ls_model_cfg(m)); }

static int mha_random_weights(ls_model *m, uint64_t seed, ls_error *err)
{
    return ls_rw_fill_model(m, seed, mha_walk, err);
}

static uint64_t mha_random_weights_bytes(const ls_model *m)
{
    return ls_rw_count_model(m, mha_walk);
}

/* ---- words (the wrapped model with a "vocab") ---- */

static const char *word_of(const mha_cfg *c, int64_t id, char *buf, size_t n)
{
    if (id < 0 || id >= c->n_vocab)
        return NULL;
    snprintf(buf, n, "%s", c->vocab[id]);
    return buf;
}

static const char *mha_id_word(const ls_model *m, const char *point, int64_t id, char *buf, size_t n)
{
    const mha_cfg *c = ls_model_cfg(m);
    if (!c->wrapped || (strcmp(point, "tokens") && strcmp(point, "predicted")))
        return NULL;
    return word_of(c, id, buf, n);
}

/* A position axis (query rows, key columns) is labelled "7:n", its
 * position and the input token there, so a row can be named by number
 * (the lesson asks for key numbers) and read by token; the out layer's
 * columns are the vocabulary. */
static const char *mha_token_label(const ls_model *m, const ls_tmap *inputs, const char *point,
                                   int64_t batch, int axis, int64_t index, char *buf, size_t n)
{
    const mha_cfg *c = ls_model_cfg(m);
    char w[MHA_WORD];
    if (!c->wrapped || !c->n_vocab)
        return NULL;
    if (c->has_out && !strcmp(point, c->out_name) && axis == 1)
        return word_of(c, index, buf, n);
    const ls_tensor *ids = ls_tmap_get(inputs, "tokens");
    if (!ids || ids->ndim != 2 || index < 0 || index >= ids->shape[1] || batch < 0 ||
        batch >= ids->shape[0])
        return NULL;
    if (!word_of(c, (int64_t)ls_tensor_get(ids, (int64_t[]){batch, index}), w, sizeof w))
        return NULL;
    snprintf(buf, n, "%lld:%s", (long long)index, w);
    return buf;
}

/* tokens and predicted as text, one line per batch item */
static void mha_print_result(const ls_model *m, const ls_exec *ex, FILE *out)
{
    const mha_cfg *c = ls_model_cfg(m);
    const ls_graph *g = ls_exec_graph(ex);
    static const char *const PTS[] = {"tokens", "predicted"};
    if (!c->wrapped || !c->n_vocab)
        return;
    bool by_char = true;
    for (int i = 0; i < c->n_vocab; i++)
        by_char &= strlen(c->vocab[i]) == 1;
    for (int p = 0; p < 2; p++) {
        const ls_tensor *t = ls_exec_out(ex, ls_graph_find(g, PTS[p]));
        if (!t || t->ndim != 2)
            continue;
        for (int64_t b = 0; b < t->shape[0]; b++) {
            fprintf(out, "%s[%lld]: ", PTS[p], (long long)b);
            for (int64_t j = 0; j < t->shape[1]; j++) {
                char w[MHA_WORD];
                int64_t id = (int64_t)ls_tensor_get(t, (int64_t[]){b, j});
                const char *s = word_of(c, id, w, sizeof w);
                if (s)
                    fprintf(out, "%s%s", j && !by_char ? " " : "", s);
                else
                    fprintf(out, "%s<%lld>", j && !by_char ? " " : "", (long long)id);
            }
            fputc('\n', out);
        }
    }
}

const ls_arch ls_arch_mha = {
    .name = "mha",
    .root_class = "MultiheadAttention",
    .parse_config = mha_parse,
    .build = mha_build,
    .example_inputs = mha_example_inputs,
    .random_weights = mha_random_weights,
    .random_weights_bytes = mha_random_weights_bytes,
    .token_label = mha_token_label,
    .id_word = mha_id_word,
    .print_result = mha_print_result,
};
