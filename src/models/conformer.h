/* conformer.h - what conformer.c (the graph), conformer_config.c (its
 * config.json) and conformer_tree.c (the module tree print shows) share.
 * Not installed. */
#ifndef LAYERSTEP_MODELS_CONFORMER_H
#define LAYERSTEP_MODELS_CONFORMER_H

#include <stdbool.h>
#include <stdint.h>

#include "layerstep/graph.h"
#include "layerstep/model.h"

/* RelPositionalEncoding's table length (max_len=5000 in WeNet). */
#define PE_MAX_LEN 5000
#define MAX_SUB_CONVS 3

typedef enum { IN_LINEAR, IN_CONV2D, IN_CONV2D6, IN_CONV2D8 } input_layer;
typedef enum { ACT_SWISH, ACT_RELU, ACT_GELU, ACT_TANH } activation;

typedef struct conformer_cfg {
    int64_t input_size, output_size, heads, linear_units, num_blocks;
    int64_t kernel, conv_inner_factor;
    double dropout_rate, pos_dropout_rate, att_dropout_rate, norm_eps, conv_norm_eps;
    input_layer input;
    activation act;
    bool normalize_before, macaron, use_cnn, causal, final_norm;
    bool cnn_layer_norm;          /* cnn_module_norm "layer_norm" (else batch_norm) */
    bool q_bias, k_bias, v_bias, conv_bias, mlp_bias;
    bool out_bias;                /* self_attn.linear_out: see build() */
    bool rel_shift;               /* layerstep switch: WeNet before 107b478a */
    bool cmvn_norm_var;
    int64_t vocab;                /* output_dim (train.yaml): CTC units of random weights, 0 = none */
} conformer_cfg;

/* The subsampling conv stack of each input layer: kernel and stride per
 * Conv2d (no padding), each followed by a ReLU. */
typedef struct sub_desc {
    const char *klass;
    const char *linear;   /* "out" (a Sequential holding Linear 0) or "linear" */
    int n;
    int k[MAX_SUB_CONVS], s[MAX_SUB_CONVS];
} sub_desc;

/* The conv stack of each input layer, by input_layer. */
extern const sub_desc ls_conformer_subs[];

/* Length after the conv stack (frames or mel bins); < 1 when too short. */
static inline int64_t ls_conformer_sub_len(const sub_desc *d, int64_t n)
{
    for (int i = 0; i < d->n; i++) {
        if (n < d->k[i])
            return 0;
        n = (n - d->k[i]) / d->s[i] + 1;
    }
    return n;
}

/* conformer_config.c: config.json -> the model's conformer_cfg */
int ls_conformer_parse_config(ls_model *m, ls_error *err);
/* conformer_tree.c: the module tree, declared in constructor order */
void ls_conformer_declare_tree(ls_graph *g, const conformer_cfg *c, bool cmvn);
/* A Linear in the tree, as PyTorch's repr writes it. */
void ls_conformer_declare_linear(ls_graph *g, const char *name, int64_t in, int64_t out, bool bias);

#endif
