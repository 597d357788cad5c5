/* torch.nn.MultiheadAttention (PyTorch 1.13, batch_first=True) as a model
 * of its own: one graph holds every case whose inputs are given, each
 * under its case name ("kpm", "causal", ...).
 *
 *   in_proj_weight [3E,E] rows q|k|v, in_proj_bias [3E], out_proj [E,E] + [E]
 *   self-attention (x given): one GEMM with the packed weight, split after
 *   cross-attention (query/key/value given): three GEMMs with the chunks
 *   q / sqrt(hd) BEFORE q @ k^T; key_padding_mask OR attn_mask -> -inf
 *   additive mask; softmax with no zeroing.
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
    if ((rc = parse_example(c, f, cfg, err)))
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

static int build_case(ls_graph *g, const mha_cfg *cfg, const ls_tmap *in, const char *cs,
                      int w_in, int b_in, int w_out, int b_out, ls_error *err)
{
    const int64_t E = cfg->embed_dim, H = cfg->num_heads, hd = E / H;
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
    ls_graph_end(g, out);
    char an[96];
    snprintf(an, sizeof an, "%s.attn", cs);
    int attn_node = ls_graph_find(g, an);
    if (attn_node >= 0) {
        ls_graph_begin(g, "MultiheadAttention", "", "%s", cs);
        ls_graph_alias(g, attn_node, "1");
        ls_graph_end(g, -1);
    }
    return LS_OK;
}

static int mha_build(const ls_model *m, const ls_tmap *in, const ls_build_opts *o, ls_graph **out,
                     ls_error *err)
{
    (void)o;
    const mha_cfg *cfg = ls_model_cfg(m);
    const int64_t E = cfg->embed_dim;
    ls_graph *g = ls_graph_new("MultiheadAttention", ls_model_weights(m));
    if (!g)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
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
    int rc = ls_tensor_alloc(ls_tmap_arena(out), LS_F32, 3, (int64_t[]){B, T, E}, &x, err);
    if (rc)
        return rc;
    for (int64_t i = 0; i < B * T * E; i++)
        ((float *)x.data)[i] = ls_rng_normal(&r);
    char name[96];
    snprintf(name, sizeof name, "%s.x", cfg->cases[0]);
    if ((rc = ls_tmap_put_ref(out, name, &x, err)))
        return rc;
    if (cfg->ex_causal) {
        rc = ls_tensor_alloc(ls_tmap_arena(out), LS_BOOL, 2, (int64_t[]){T, T}, &am, err);
        if (rc)
            return rc;
        for (int64_t i = 0; i < T; i++)
            for (int64_t j = 0; j < T; j++)
                ((unsigned char *)am.data)[i * T + j] = j > i;
        snprintf(name, sizeof name, "%s.attn_mask", cfg->cases[0]);
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
        snprintf(name, sizeof name, "%s.key_padding_mask", cfg->cases[0]);
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
    ls_rw_put(s, "in_proj_weight", "", 2, (int64_t[]){3 * E, E}, sqrt(6.0 / (double)(4 * E)), 0);
    if (c->bias)
        ls_rw_put(s, "in_proj_bias", "", 1, (int64_t[]){3 * E}, 0, 0.0f);
    ls_rw_put(s, "out_proj.weight", "", 2, (int64_t[]){E, E}, 1.0 / sqrt((double)E), 0);
    if (c->bias)
        ls_rw_put(s, "out_proj.bias", "", 1, &E, 0, 0.0f);
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

const ls_arch ls_arch_mha = {
    .name = "mha",
    .root_class = "MultiheadAttention",
    .parse_config = mha_parse,
    .build = mha_build,
    .example_inputs = mha_example_inputs,
    .random_weights = mha_random_weights,
    .random_weights_bytes = mha_random_weights_bytes,
};
