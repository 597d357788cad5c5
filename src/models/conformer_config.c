/* conformer_config.c - a Conformer's config.json (WeNet's train.yaml
 * encoder_conf, as tools/convert_wenet.py writes it): every field read,
 * checked and defaulted as WeNet does; what the engine cannot run is
 * refused in one line naming the file and the key. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/attention.h"
#include "layerstep/config.h"
#include "layerstep/model.h"

#include "conformer.h"

const sub_desc ls_conformer_subs[] = {
    [IN_LINEAR] = {"LinearNoSubsampling", "out", 0, {0}, {0}},
    [IN_CONV2D] = {"Conv2dSubsampling4", "out", 2, {3, 3}, {2, 2}},
    [IN_CONV2D6] = {"Conv2dSubsampling6", "linear", 2, {3, 5}, {2, 3}},
    [IN_CONV2D8] = {"Conv2dSubsampling8", "linear", 3, {3, 3, 3}, {2, 2, 2}},
};

/* ------------------------------------------------------------------ */
/* config                                                               */

static int pick(const cJSON *root, const char *key, const char *file, const char *dflt,
                const char *const *names, int n, int *out, ls_error *err)
{
    char s[64];
    int rc = ls_json_str_opt(root, key, file, dflt, s, sizeof s, err);
    if (rc)
        return rc;
    char known[256] = "";
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return LS_OK;
        }
        strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
        strncat(known, names[i], sizeof known - strlen(known) - 1);
    }
    return ls_error_set(err, LS_ERR_RANGE, "%s: '%s' is \"%s\", layerstep supports %s", file, key,
                        s, known);
}

/* A key that must keep WeNet's default because only that path is built. */
static int only_bool(const cJSON *root, const char *key, const char *file, bool want,
                     const char *why, ls_error *err)
{
    bool v;
    int rc = ls_json_bool_opt(root, key, file, want, &v, err);
    if (!rc && v != want)
        rc = ls_error_set(err, LS_ERR_RANGE, "%s: '%s' = %s is not supported (%s)", file, key,
                          v ? "true" : "false", why);
    return rc;
}

/* n_kv_head and head_dim: null (WeNet's default) or the plain MHA value. */
static int null_or(const cJSON *root, const char *key, const char *file, int64_t want,
                   ls_error *err)
{
    const cJSON *v = ls_json_at(root, key);
    if (!v || cJSON_IsNull(v))
        return LS_OK;
    int64_t got;
    int rc = ls_json_int(root, key, file, 1, 1 << 20, &got, err);
    if (!rc && got != want)
        rc = ls_error_set(err, LS_ERR_RANGE,
                          "%s: '%s' = %lld is not supported (only null or %lld: linear_pos and "
                          "the head split need heads * d_k = output_size)",
                          file, key, (long long)got, (long long)want);
    return rc;
}

int ls_conformer_parse_config(ls_model *m, ls_error *err)
{
    const cJSON *r = ls_model_config(m);
    const char *f = ls_model_config_path(m);
    conformer_cfg *c = calloc(1, sizeof *c);
    if (!c)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    static const char *const INPUTS[] = {"linear", "conv2d", "conv2d6", "conv2d8"};
    static const char *const ACTS[] = {"swish", "relu", "gelu", "tanh"};
    static const char *const POS[] = {"rel_pos"};
    static const char *const ATT[] = {"rel_selfattn"};
    static const char *const CNORM[] = {"batch_norm", "layer_norm"};
    static const char *const LNORM[] = {"layer_norm"};
    static const char *const MLP[] = {"position_wise_feed_forward"};
    int in = 0, act = 0, unused = 0, cnorm = 0;
    int64_t chunk;
    int rc;
    /* defaults are ConformerEncoder's own */
    if ((rc = ls_json_int(r, "encoder_conf.input_size", f, 1, 1 << 16, &c->input_size, err)) ||
        (rc = ls_json_int_opt(r, "encoder_conf.output_size", f, 1, 1 << 16, 256,
                              &c->output_size, err)) ||
        (rc = ls_json_int_opt(r, "encoder_conf.attention_heads", f, 1, 1 << 12, 4, &c->heads,
                              err)) ||
        (rc = ls_json_int_opt(r, "encoder_conf.linear_units", f, 1, 1 << 18, 2048,
                              &c->linear_units, err)) ||
        (rc = ls_json_int_opt(r, "encoder_conf.num_blocks", f, 0, 1024, 6, &c->num_blocks,
                              err)) ||
        (rc = ls_json_num_opt(r, "encoder_conf.dropout_rate", f, 0, 1, 0.1, &c->dropout_rate,
                              err)) ||
        (rc = ls_json_num_opt(r, "encoder_conf.positional_dropout_rate", f, 0, 1, 0.1,
                              &c->pos_dropout_rate, err)) ||
        (rc = ls_json_num_opt(r, "encoder_conf.attention_dropout_rate", f, 0, 1, 0.0,
                              &c->att_dropout_rate, err)) ||
        (rc = pick(r, "encoder_conf.input_layer", f, "conv2d", INPUTS, 4, &in, err)) ||
        (rc = pick(r, "encoder_conf.pos_enc_layer_type", f, "rel_pos", POS, 1, &unused, err)) ||
        (rc = pick(r, "encoder_conf.selfattention_layer_type", f, "rel_selfattn", ATT, 1, &unused,
                   err)) ||
        (rc = pick(r, "encoder_conf.activation_type", f, "swish", ACTS, 4, &act, err)) ||
        (rc = pick(r, "encoder_conf.cnn_module_norm", f, "batch_norm", CNORM, 2, &cnorm, err)) ||
        (rc = pick(r, "encoder_conf.layer_norm_type", f, "layer_norm", LNORM, 1, &unused, err)) ||
        (rc = pick(r, "encoder_conf.mlp_type", f, "position_wise_feed_forward", MLP, 1, &unused,
                   err)) ||
        (rc = ls_json_bool_opt(r, "encoder_conf.normalize_before", f, true, &c->normalize_before,
                               err)) ||
        (rc = ls_json_bool_opt(r, "encoder_conf.macaron_style", f, true, &c->macaron, err)) ||
        (rc = ls_json_bool_opt(r, "encoder_conf.use_cnn_module", f, true, &c->use_cnn, err)) ||
        (rc = ls_json_int_opt(r, "encoder_conf.cnn_module_kernel", f, 1, 1 << 12, 15, &c->kernel,
                              err)) ||
        (rc = ls_json_bool_opt(r, "encoder_conf.causal", f, false, &c->causal, err)) ||
        (rc = ls_json_int_opt(r, "encoder_conf.conv_inner_factor", f, 1, 64, 2,
                              &c->conv_inner_factor, err)) ||
        (rc = ls_json_bool_opt(r, "encoder_conf.query_bias", f, true, &c->q_bias, err)) ||
        (rc = ls_json_bool_opt(r, "encoder_conf.key_bias", f, true, &c->k_bias, err)) ||
        (rc = ls_json_bool_opt(r, "encoder_conf.value_bias", f, true, &c->v_bias, err)) ||
        (rc = ls_json_bool_opt(r, "encoder_conf.conv_bias", f, true, &c->conv_bias, err)) ||
        (rc = ls_json_bool_opt(r, "encoder_conf.mlp_bias", f, true, &c->mlp_bias, err)) ||
        (rc = ls_json_num_opt(r, "encoder_conf.norm_eps", f, 0, 1, 1e-5, &c->norm_eps, err)) ||
        (rc = ls_json_num_opt(r, "encoder_conf.conv_norm_eps", f, 0, 1, 1e-5, &c->conv_norm_eps,
                              err)) ||
        (rc = ls_json_bool_opt(r, "encoder_conf.final_norm", f, true, &c->final_norm, err)) ||
        (rc = ls_json_bool_opt(r, "encoder_conf.rel_shift", f, false, &c->rel_shift, err)) ||
        (rc = ls_json_bool_opt(r, "global_cmvn.norm_var", f, true, &c->cmvn_norm_var, err)) ||
        (rc = ls_json_int_opt(r, "output_dim", f, 0, 1 << 20, 0, &c->vocab, err)) ||
        (rc = ls_json_int_opt(r, "encoder_conf.static_chunk_size", f, 0, 1 << 20, 0, &chunk,
                              err)))
        goto fail;
    c->input = (input_layer)in;
    c->out_bias = c->q_bias;
    c->act = (activation)act;
    c->cnn_layer_norm = cnorm == 1;
    if (chunk != 0) {
        rc = ls_error_set(err, LS_ERR_RANGE,
                          "%s: 'encoder_conf.static_chunk_size' = %lld is not supported (only 0: "
                          "full-context attention)",
                          f, (long long)chunk);
        goto fail;
    }
    if ((rc = only_bool(r, "encoder_conf.use_dynamic_chunk", f, false,
                        "a training-time random chunk mask", err)) ||
        (rc = only_bool(r, "encoder_conf.use_sdpa", f, false,
                        "the SDPA path fuses the scores layerstep shows", err)))
        goto fail;
    if (c->output_size % c->heads) {
        rc = ls_error_set(err, LS_ERR_RANGE,
                          "%s: 'encoder_conf.output_size' = %lld is not divisible by "
                          "'encoder_conf.attention_heads' = %lld",
                          f, (long long)c->output_size, (long long)c->heads);
        goto fail;
    }
    if ((rc = null_or(r, "encoder_conf.n_kv_head", f, c->heads, err)) ||
        (rc = null_or(r, "encoder_conf.head_dim", f, c->output_size / c->heads, err)))
        goto fail;
    if (c->use_cnn && !c->causal && c->kernel % 2 == 0) {
        rc = ls_error_set(err, LS_ERR_RANGE,
                          "%s: 'encoder_conf.cnn_module_kernel' = %lld must be odd when "
                          "'encoder_conf.causal' is false (the depthwise conv pads (K-1)/2 on "
                          "each side)",
                          f, (long long)c->kernel);
        goto fail;
    }
    if (c->use_cnn && (c->conv_inner_factor * c->output_size) % 2) {
        rc = ls_error_set(err, LS_ERR_RANGE,
                          "%s: 'encoder_conf.conv_inner_factor' * output_size = %lld is odd, the "
                          "GLU cannot halve it",
                          f, (long long)(c->conv_inner_factor * c->output_size));
        goto fail;
    }
    if (ls_conformer_sub_len(&ls_conformer_subs[c->input], c->input_size) < 1) {
        rc = ls_error_set(err, LS_ERR_RANGE,
                          "%s: 'encoder_conf.input_size' = %lld is too small for input_layer "
                          "\"%s\" (no feature bins left after subsampling)",
                          f, (long long)c->input_size, INPUTS[c->input]);
        goto fail;
    }
    ls_model_set_cfg(m, c);
    return LS_OK;
fail:
    free(c);
    return rc;
}

