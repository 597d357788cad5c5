/* conformer_tree.c - the Conformer's module tree, declared first in
 * WeNet's constructor order so `print` shows its module_tree.txt; the
 * forward pass (conformer.c) then re-enters the modules. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/attention.h"
#include "layerstep/config.h"
#include "layerstep/model.h"

#include "conformer.h"

/* ------------------------------------------------------------------ */
/* module tree: declared first, in constructor order, so `print` shows
 * WeNet's module_tree.txt; the forward pass then re-enters the modules. */

void ls_conformer_declare_linear(ls_graph *g, const char *name, int64_t in, int64_t out, bool bias)
{
    char e[160];
    snprintf(e, sizeof e, "in_features=%lld, out_features=%lld, bias=%s", (long long)in,
             (long long)out, bias ? "True" : "False");
    ls_graph_declare(g, "Linear", e, name);
}

static void declare_norm(ls_graph *g, const char *name, int64_t d, double eps)
{
    char e[160], f[32];
    snprintf(e, sizeof e, "(%lld,), eps=%s, elementwise_affine=True", (long long)d,
             ls_py_float(eps, f, sizeof f));
    ls_graph_declare(g, "LayerNorm", e, name);
}

static void declare_dropout(ls_graph *g, const char *name, double p)
{
    char e[64], f[32];
    snprintf(e, sizeof e, "p=%s, inplace=False", ls_py_float(p, f, sizeof f));
    ls_graph_declare(g, "Dropout", e, name);
}

static void declare_act(ls_graph *g, const conformer_cfg *c)
{
    static const char *const K[] = {"SiLU", "ReLU", "GELU", "Tanh"};
    ls_graph_declare(g, K[c->act], c->act == ACT_GELU ? "approximate='none'" : "", "activation");
}

static void declare_conv1d(ls_graph *g, const char *name, int64_t in, int64_t out, int64_t k,
                           int64_t pad, int64_t groups, bool bias)
{
    char e[256];
    int n = snprintf(e, sizeof e, "%lld, %lld, kernel_size=(%lld,), stride=(1,)", (long long)in,
                     (long long)out, (long long)k);
    if (pad)
        n += snprintf(e + n, sizeof e - (size_t)n, ", padding=(%lld,)", (long long)pad);
    if (groups > 1)
        n += snprintf(e + n, sizeof e - (size_t)n, ", groups=%lld", (long long)groups);
    if (!bias)
        snprintf(e + n, sizeof e - (size_t)n, ", bias=False");
    ls_graph_declare(g, "Conv1d", e, name);
}

static void declare_ffn(ls_graph *g, const conformer_cfg *c, const char *name)
{
    ls_graph_begin(g, "PositionwiseFeedForward", "", "%s", name);
    ls_conformer_declare_linear(g, "w_1", c->output_size, c->linear_units, c->mlp_bias);
    declare_act(g, c);
    declare_dropout(g, "dropout", c->dropout_rate);
    ls_conformer_declare_linear(g, "w_2", c->linear_units, c->output_size, c->mlp_bias);
    ls_graph_end(g, -1);
}

void ls_conformer_declare_tree(ls_graph *g, const conformer_cfg *c, bool cmvn)
{
    const int64_t D = c->output_size, ID = c->conv_inner_factor * D / 2;
    const sub_desc *sd = &ls_conformer_subs[c->input];
    char e[256], f[32];
    if (cmvn)
        ls_graph_declare(g, "GlobalCMVN", "", "global_cmvn");
    ls_graph_begin(g, sd->klass, "", "embed");
    if (c->input == IN_LINEAR) {
        ls_graph_begin(g, "Sequential", "", "out");
        ls_conformer_declare_linear(g, "0", c->input_size, D, true);
        declare_norm(g, "1", D, 1e-5);
        declare_dropout(g, "2", c->dropout_rate);
        ls_graph_end(g, -1);
    } else {
        ls_graph_begin(g, "Sequential", "", "conv");
        for (int i = 0; i < sd->n; i++) {
            char name[16];
            snprintf(e, sizeof e, "%lld, %lld, kernel_size=(%d, %d), stride=(%d, %d)",
                     (long long)(i ? D : 1), (long long)D, sd->k[i], sd->k[i], sd->s[i],
                     sd->s[i]);
            snprintf(name, sizeof name, "%d", 2 * i);
            ls_graph_declare(g, "Conv2d", e, name);
            snprintf(name, sizeof name, "%d", 2 * i + 1);
            ls_graph_declare(g, "ReLU", "", name);
        }
        ls_graph_end(g, -1);
        const int64_t in = D * ls_conformer_sub_len(sd, c->input_size);
        if (c->input == IN_CONV2D) {
            ls_graph_begin(g, "Sequential", "", "out");
            ls_conformer_declare_linear(g, "0", in, D, true);
            ls_graph_end(g, -1);
        } else {
            ls_conformer_declare_linear(g, "linear", in, D, true);
        }
    }
    ls_graph_begin(g, "RelPositionalEncoding", "", "pos_enc");
    declare_dropout(g, "dropout", c->pos_dropout_rate);
    ls_graph_end(g, -1);
    ls_graph_end(g, -1);
    declare_norm(g, "after_norm", D, c->norm_eps);
    ls_graph_begin(g, "ModuleList", "", "encoders");
    for (int64_t l = 0; l < c->num_blocks; l++) {
        ls_graph_begin(g, "ConformerEncoderLayer", "", "%lld", (long long)l);
        ls_graph_begin(g, "RelPositionMultiHeadedAttention", "", "self_attn");
        ls_conformer_declare_linear(g, "linear_q", D, D, c->q_bias);
        ls_conformer_declare_linear(g, "linear_k", D, D, c->k_bias);
        ls_conformer_declare_linear(g, "linear_v", D, D, c->v_bias);
        ls_conformer_declare_linear(g, "linear_out", D, D, c->out_bias);
        declare_dropout(g, "dropout", c->att_dropout_rate);
        ls_conformer_declare_linear(g, "linear_pos", D, D, false);
        ls_graph_end(g, -1);
        declare_ffn(g, c, "feed_forward");
        if (c->macaron)
            declare_ffn(g, c, "feed_forward_macaron");
        if (c->use_cnn) {
            ls_graph_begin(g, "ConvolutionModule", "", "conv_module");
            declare_conv1d(g, "pointwise_conv1", D, 2 * ID, 1, 0, 1, c->conv_bias);
            declare_conv1d(g, "depthwise_conv", ID, ID, c->kernel,
                           c->causal ? 0 : (c->kernel - 1) / 2, ID, c->conv_bias);
            if (c->cnn_layer_norm) {
                declare_norm(g, "norm", ID, c->conv_norm_eps);
            } else {
                snprintf(e, sizeof e,
                         "%lld, eps=%s, momentum=0.1, affine=True, track_running_stats=True",
                         (long long)ID, ls_py_float(c->conv_norm_eps, f, sizeof f));
                ls_graph_declare(g, "BatchNorm1d", e, "norm");
            }
            declare_conv1d(g, "pointwise_conv2", ID, D, 1, 0, 1, c->conv_bias);
            declare_act(g, c);
            ls_graph_end(g, -1);
        }
        declare_norm(g, "norm_ff", D, c->norm_eps);
        declare_norm(g, "norm_mha", D, c->norm_eps);
        if (c->macaron)
            declare_norm(g, "norm_ff_macaron", D, c->norm_eps);
        if (c->use_cnn) {
            declare_norm(g, "norm_conv", D, c->norm_eps);
            declare_norm(g, "norm_final", D, c->norm_eps);
        }
        declare_dropout(g, "dropout", c->dropout_rate);
        ls_graph_end(g, -1);
    }
    ls_graph_end(g, -1);
}

