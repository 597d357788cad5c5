/* The toy "Attention is all you need" encoder-decoder of the PyTorch
 * tutorial (wmathor/nlp-tutorial Transformer_Torch.py), as the golden
 * fixture transformer_small describes it:
 *
 *   enc_inputs [B,S] -> src_emb -> (+ pe in [S,B,D]) -> n_layers x EncoderLayer
 *   dec_inputs [B,T] -> tgt_emb -> (+ pe) -> n_layers x DecoderLayer(self, cross)
 *   -> projection -> logits [B,T,V] -> output = logits.view(-1, V)
 *
 * Masks are bool, True = masked out:
 *   encoder self-attention   key token is P (id 0)                 [B,S,S]
 *   decoder self-attention   key token is P  OR  j > i (triu k=1)  [B,T,T]
 *   decoder-encoder          the *source token id* is P            [B,T,S]
 * repeated over heads to [B,H,Tq,Tk] inside each attention, then
 * masked_fill(-1e9) (not -inf: a fully masked row becomes uniform).
 * Linear layers have no bias; each attention and feed-forward block ends
 * in a freshly made LayerNorm (weight 1, bias 0, eps 1e-5): post-norm.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerstep/attention.h"
#include "layerstep/config.h"
#include "layerstep/transformer.h"
#include "random_weights.h"

#define TF_MAX_VOCAB 4096
#define TF_WORD 32

typedef struct tf_cfg {
    int64_t d_model, d_ff, d_k, d_v, n_layers, n_heads;
    int64_t src_vocab_size, tgt_vocab_size, src_len, tgt_len;
    int n_src_words, n_tgt_words;
    char src_words[TF_MAX_VOCAB][TF_WORD]; /* id -> word ("" if none) */
    char tgt_words[TF_MAX_VOCAB][TF_WORD];
    int64_t start_id;           /* tgt_vocab['S'] */
    int n_sentences;
    char sentences[8][3][128];  /* make_data's (src, dec_in, dec_out) */
} tf_cfg;

/* vocab object {"word": id} -> table id -> word, checked for range */
static int read_vocab(const cJSON *root, const char *key, const char *file, int64_t size,
                      char (*tab)[TF_WORD], int *n_out, ls_error *err)
{
    const cJSON *v = ls_json_at(root, key);
    *n_out = 0;
    if (!v)
        return LS_OK; /* vocabularies are optional: ids work without them */
    if (!cJSON_IsObject(v))
        return ls_error_set(err, LS_ERR_FORMAT, "%s: '%s' must be an object {word: id}", file, key);
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= (double)size ||
            it->valuedouble != (double)(int64_t)it->valuedouble || strlen(it->string) >= TF_WORD ||
            !it->string[0]) {
            return ls_error_set(err, LS_ERR_RANGE,
                                "%s: '%s.%s' must be an integer id in [0, %lld) for a word of at "
                                "most %d bytes",
                                file, key, it->string, (long long)size, TF_WORD - 1);
        }
        snprintf(tab[(int64_t)it->valuedouble], TF_WORD, "%s", it->string);
    }
    *n_out = (int)size;
    return LS_OK;
}

static int tf_parse(ls_model *m, ls_error *err)
{
    const cJSON *c = ls_model_config(m);
    const char *f = ls_model_config_path(m);
    tf_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    int rc;
    if ((rc = ls_json_int(c, "globals.d_model", f, 1, 1 << 16, &cfg->d_model, err)) ||
        (rc = ls_json_int(c, "globals.d_ff", f, 1, 1 << 18, &cfg->d_ff, err)) ||
        (rc = ls_json_int(c, "globals.d_k", f, 1, 1 << 14, &cfg->d_k, err)) ||
        (rc = ls_json_int(c, "globals.d_v", f, 1, 1 << 14, &cfg->d_v, err)) ||
        (rc = ls_json_int(c, "globals.n_layers", f, 1, 256, &cfg->n_layers, err)) ||
        (rc = ls_json_int(c, "globals.n_heads", f, 1, 1024, &cfg->n_heads, err)) ||
        (rc = ls_json_int(c, "globals.src_vocab_size", f, 1, TF_MAX_VOCAB, &cfg->src_vocab_size, err)) ||
        (rc = ls_json_int(c, "globals.tgt_vocab_size", f, 1, TF_MAX_VOCAB, &cfg->tgt_vocab_size, err)) ||
        (rc = ls_json_int_opt(c, "globals.src_len", f, 1, 4096, 5, &cfg->src_len, err)) ||
        (rc = ls_json_int_opt(c, "globals.tgt_len", f, 1, 4096, 6, &cfg->tgt_len, err)))
        goto fail;
    if (cfg->n_heads * cfg->d_k > (1 << 16) || cfg->n_heads * cfg->d_v > (1 << 16)) {
        rc = ls_error_set(err, LS_ERR_RANGE, "%s: n_heads * d_k is too large", f);
        goto fail;
    }
    if ((rc = read_vocab(c, "globals.src_vocab", f, cfg->src_vocab_size, cfg->src_words,
                         &cfg->n_src_words, err)) ||
        (rc = read_vocab(c, "globals.tgt_vocab", f, cfg->tgt_vocab_size, cfg->tgt_words,
                         &cfg->n_tgt_words, err)))
        goto fail;
    cfg->start_id = -1;
    const cJSON *s = ls_json_at(c, "globals.tgt_vocab.S");
    if (cJSON_IsNumber(s))
        cfg->start_id = (int64_t)s->valuedouble;
    const cJSON *sent = ls_json_at(c, "globals.sentences"), *it;
    cJSON_ArrayForEach(it, sent)
    {
        if (cfg->n_sentences >= 8 || cJSON_GetArraySize(it) != 3)
            break;
        for (int k = 0; k < 3; k++) {
            const cJSON *w = cJSON_GetArrayItem(it, k);
            snprintf(cfg->sentences[cfg->n_sentences][k], 128, "%s",
                     cJSON_IsString(w) ? w->valuestring : "");
        }
        cfg->n_sentences++;
    }
    ls_model_set_cfg(m, cfg);
    return LS_OK;
fail:
    free(cfg);
    return rc;
}

/* ---- the graph ---- */

static int linear_mod(ls_graph *g, const char *name, int x, int64_t in, int64_t out)
{
    char extra[96];
    snprintf(extra, sizeof extra, "in_features=%lld, out_features=%lld, bias=False", (long long)in,
             (long long)out);
    ls_graph_begin(g, "Linear", extra, "%s", name);
    int w = ls_graph_weight(g, "weight", 2, (int64_t[]){out, in});
    return ls_graph_end(g, ls_g_linear(g, x, w, -1, NULL));
}

/* [B,Tk] pad flags -> [B,Tq,Tk] (the same for every query row) */
static int pad_mask(ls_graph *g, int ids_k, int64_t B, int64_t Tq, int64_t Tk, const char *point)
{
    int eq = ls_g_scalar(g, LS_OP_EQ_SCALAR, ids_k, 0.0f, NULL);
    int r = ls_g_reshape(g, eq, 3, (int64_t[]){B, 1, Tk}, NULL);
    ls_op_params p = {.i = {3, B, Tq, Tk}};
    return ls_graph_op(g, LS_OP_EXPAND, &p, &r, 1, point);
}

/* MultiHeadAttention.forward(input_Q, input_K, input_V, attn_mask):
 * returns the module output; *attn gets the attention map node. */
static int mha(ls_graph *g, const tf_cfg *c, const char *name, int xq, int xkv, int mask3,
               int *attn)
{
    const int64_t D = c->d_model, H = c->n_heads;
    ls_graph_begin(g, "MultiHeadAttention", "", "%s", name);
    /* forward(input_Q, input_K, input_V, attn_mask): named so that one
     * attention can be fed its own tensors (layerstep run --module) */
    int in_q = ls_graph_arg(g, xq, "input_Q", 0);
    int in_k = ls_graph_arg(g, xkv, "input_K", 0);
    int in_v = ls_graph_arg(g, xkv, "input_V", 0);
    mask3 = ls_graph_arg(g, mask3, "attn_mask", 0);
    int wq = linear_mod(g, "W_Q", in_q, D, H * c->d_k);
    int wk = linear_mod(g, "W_K", in_k, D, H * c->d_k);
    int wv = linear_mod(g, "W_V", in_v, D, H * c->d_v);
    int q = ls_attn_heads(g, wq, (int)H, (int)c->d_k, "q");
    int k = ls_attn_heads(g, wk, (int)H, (int)c->d_k, "k");
    int v = ls_attn_heads(g, wv, (int)H, (int)c->d_v, "v");
    /* attn_mask.unsqueeze(1).repeat(1, n_heads, 1, 1) */
    /* copy the shape: a builder call may move the node array */
    const ls_tensor *msp = ls_graph_shape(g, mask3);
    int m4 = -1;
    if (msp) {
        ls_tensor ms = *msp;
        int u = ls_g_unsqueeze(g, mask3, 1, NULL);
        ls_op_params p = {.i = {4, ms.shape[0], H, ms.shape[1], ms.shape[2]}};
        m4 = ls_graph_op(g, LS_OP_EXPAND, &p, &u, 1, NULL);
    }
    ls_attn_spec s = ls_attn_spec_default((int)H, (int)c->d_k, (int)c->d_v);
    int ctx = ls_attn_core(g, q, k, v, m4, -1, &s);
    char an[512];
    snprintf(an, sizeof an, "%s.attn", ls_graph_scope(g));
    *attn = ls_graph_find(g, an);
    int fc = linear_mod(g, "fc", ctx, H * c->d_v, D);
    int sum = ls_g_op2(g, LS_OP_ADD, fc, in_q, NULL); /* residual = input_Q */
    int out = ls_graph_end(g, ls_g_layer_norm(g, sum, -1, -1, 1e-5f, NULL));
    /* the (output, attn) tuple */
    ls_graph_begin(g, "MultiHeadAttention", "", "%s", name);
    ls_graph_alias(g, *attn, "1");
    ls_graph_end(g, -1);
    return out;
}

static int ffn(ls_graph *g, const tf_cfg *c, int x)
{
    const int64_t D = c->d_model, F = c->d_ff;
    ls_graph_begin(g, "PoswiseFeedForwardNet", "", "pos_ffn");
    ls_graph_begin(g, "Sequential", "", "fc");
    int h = linear_mod(g, "0", x, D, F);
    ls_graph_begin(g, "ReLU", "", "1");
    h = ls_graph_end(g, ls_g_op1(g, LS_OP_RELU, h, NULL));
    h = linear_mod(g, "2", h, F, D);
    h = ls_graph_end(g, h);
    int sum = ls_g_op2(g, LS_OP_ADD, h, x, NULL);
    return ls_graph_end(g, ls_g_layer_norm(g, sum, -1, -1, 1e-5f, NULL));
}

/* Embedding + PositionalEncoding (which works in [T,B,D]) -> [B,T,D] */
static int embed(ls_graph *g, const tf_cfg *c, int ids, const char *emb_name, int64_t vocab,
                 int64_t B, int64_t T)
{
    const int64_t D = c->d_model;
    char extra[64];
    snprintf(extra, sizeof extra, "%lld, %lld", (long long)vocab, (long long)D);
    ls_graph_begin(g, "Embedding", extra, "%s", emb_name);
    int w = ls_graph_weight(g, "weight", 2, (int64_t[]){vocab, D});
    int e = ls_graph_end(g, ls_g_op2(g, LS_OP_EMBEDDING, ids, w, NULL));
    int tbd = ls_g_transpose(g, e, 0, 1, NULL);
    ls_graph_begin(g, "PositionalEncoding", "", "pos_emb");
    ls_op_params pp = {.i = {T, D}};
    int pe = ls_graph_op(g, LS_OP_POS_TABLE, &pp, NULL, 0, "pe");
    int pe3 = ls_g_reshape(g, pe, 3, (int64_t[]){T, 1, D}, NULL);
    int x = ls_g_op2(g, LS_OP_ADD, tbd, pe3, NULL);
    ls_graph_begin(g, "Dropout", "p=0.1, inplace=False", "dropout");
    x = ls_graph_end(g, ls_graph_alias(g, x, NULL));
    x = ls_graph_end(g, x);
    (void)B;
    return ls_g_transpose(g, x, 0, 1, NULL);
}

typedef struct enc_out {
    int out;
    int attns[256];
} enc_out;

static int encoder(ls_graph *g, const tf_cfg *c, int enc_ids, int64_t B, int64_t S, enc_out *eo)
{
    ls_graph_begin(g, "Encoder", "", "encoder");
    int x = embed(g, c, enc_ids, "src_emb", c->src_vocab_size, B, S);
    int mask = pad_mask(g, enc_ids, B, S, S, "enc_self_attn_mask");
    ls_graph_begin(g, "ModuleList", "", "layers");
    for (int64_t l = 0; l < c->n_layers; l++) {
        ls_graph_begin(g, "EncoderLayer", "", "%lld", (long long)l);
        int attn;
        x = mha(g, c, "enc_self_attn", x, x, mask, &attn);
        x = ffn(g, c, x);
        eo->attns[l] = attn;
        x = ls_graph_end(g, x);
        ls_graph_begin(g, "EncoderLayer", "", "%lld", (long long)l);
        ls_graph_alias(g, attn, "1");
        ls_graph_end(g, -1);
    }
    ls_graph_end(g, -1);
    eo->out = ls_graph_end(g, x);
    ls_graph_begin(g, "Encoder", "", "encoder");
    for (int64_t l = 0; l < c->n_layers; l++) {
        char p[32];
        snprintf(p, sizeof p, "1.%lld", (long long)l);
        ls_graph_alias(g, eo->attns[l], p);
    }
    ls_graph_end(g, -1);
    return eo->out;
}

static int decoder(ls_graph *g, const tf_cfg *c, int dec_ids, int enc_ids, int enc_outputs,
                   int64_t B, int64_t T, int64_t S, int *self_attns, int *cross_attns)
{
    ls_graph_begin(g, "Decoder", "", "decoder");
    int x = embed(g, c, dec_ids, "tgt_emb", c->tgt_vocab_size, B, T);
    int pad = pad_mask(g, dec_ids, B, T, T, "dec_self_attn_pad_mask");
    ls_op_params tp = {.i = {T, T, 1}};
    int tri = ls_graph_op(g, LS_OP_TRIU_MASK, &tp, NULL, 0, NULL);
    ls_op_params ep = {.i = {3, B, T, T}};
    int sub = ls_graph_op(g, LS_OP_EXPAND, &ep, &tri, 1, "dec_self_attn_subsequence_mask");
    int self_mask = ls_g_op2(g, LS_OP_LOGICAL_OR, pad, sub, "dec_self_attn_mask");
    int cross_mask = pad_mask(g, enc_ids, B, T, S, "dec_enc_attn_mask");
    ls_graph_begin(g, "ModuleList", "", "layers");
    for (int64_t l = 0; l < c->n_layers; l++) {
        ls_graph_begin(g, "DecoderLayer", "", "%lld", (long long)l);
        x = mha(g, c, "dec_self_attn", x, x, self_mask, &self_attns[l]);
        x = mha(g, c, "dec_enc_attn", x, enc_outputs, cross_mask, &cross_attns[l]);
        x = ffn(g, c, x);
        x = ls_graph_end(g, x);
        ls_graph_begin(g, "DecoderLayer", "", "%lld", (long long)l);
        ls_graph_alias(g, self_attns[l], "1");
        ls_graph_alias(g, cross_attns[l], "2");
        ls_graph_end(g, -1);
    }
    ls_graph_end(g, -1);
    int out = ls_graph_end(g, x);
    ls_graph_begin(g, "Decoder", "", "decoder");
    for (int64_t l = 0; l < c->n_layers; l++) {
        char p[32];
        snprintf(p, sizeof p, "1.%lld", (long long)l);
        ls_graph_alias(g, self_attns[l], p);
        snprintf(p, sizeof p, "2.%lld", (long long)l);
        ls_graph_alias(g, cross_attns[l], p);
    }
    ls_graph_end(g, -1);
    return out;
}

static int projection(ls_graph *g, const tf_cfg *c, int x)
{
    return linear_mod(g, "projection", x, c->d_model, c->tgt_vocab_size);
}

static int check_ids(const ls_tensor *t, const char *name, int64_t *B, int64_t *T, ls_error *err)
{
    if (!t)
        return ls_error_set(err, LS_ERR_MISSING,
                            "missing input '%s' (int64 token ids [B,T]; or give --src TEXT)", name);
    if (t->dtype != LS_I64 || t->ndim != 2)
        return ls_error_set(err, LS_ERR_SHAPE, "input '%s' must be int64 token ids [B,T], got %s %dD%s",
                            name, ls_dtype_name(t->dtype), t->ndim,
                            t->dtype == LS_BOOL ? " (bool: a '|b1' or uint8 '|u1' .npy is read as a mask)" : "");
    *B = t->shape[0];
    *T = t->shape[1];
    return LS_OK;
}

static int teacher(ls_graph *g, const tf_cfg *c, const ls_tmap *in, ls_error *err)
{
    int64_t B = 0, S = 0, B2 = 0, T = 0; /* set by check_ids; gcc -O3 cannot see it */
    const ls_tensor *et = ls_tmap_get(in, "enc_inputs"), *dt = ls_tmap_get(in, "dec_inputs");
    int rc;
    if ((rc = check_ids(et, "enc_inputs", &B, &S, err)))
        return rc;
    if (!dt)
        return ls_error_set(err, LS_ERR_MISSING,
                            "missing input 'dec_inputs' for teacher forcing (or use --mode greedy)");
    if ((rc = check_ids(dt, "dec_inputs", &B2, &T, err)))
        return rc;
    if (B2 != B)
        return ls_error_set(err, LS_ERR_SHAPE, "enc_inputs has batch %lld, dec_inputs %lld",
                            (long long)B, (long long)B2);
    const ls_tensor *ot = ls_tmap_get(in, "dec_outputs");
    int enc = ls_graph_input(g, "enc_inputs", LS_I64, 2, et->shape);
    int dec = ls_graph_input(g, "dec_inputs", LS_I64, 2, dt->shape);
    int outs = -1;
    if (ot) {
        if (ot->dtype != LS_I64)
            return ls_error_set(err, LS_ERR_SHAPE, "input 'dec_outputs' must be int64 like dec_inputs, got %s",
                                ls_dtype_name(ot->dtype));
        if (!ls_tensor_same_shape(ot, dt))
            return ls_error_set(err, LS_ERR_SHAPE,
                                "input 'dec_outputs' must have the shape of dec_inputs [%lld,%lld], got %dD [%lld,...]",
                                (long long)B2, (long long)T, ot->ndim, (long long)(ot->ndim ? ot->shape[0] : 0));
        outs = ls_graph_input(g, "dec_outputs", LS_I64, 2, ot->shape);
    }
    enc_out eo;
    int self_a[256], cross_a[256];
    encoder(g, c, enc, B, S, &eo);
    int dec_out = decoder(g, c, dec, enc, eo.out, B, T, S, self_a, cross_a);
    int logits = projection(g, c, dec_out);
    int flat = ls_g_reshape(g, logits, 2, (int64_t[]){B * T, c->tgt_vocab_size}, "output");
    for (int64_t l = 0; l < c->n_layers; l++) {
        char p[32];
        snprintf(p, sizeof p, "output.1.%lld", (long long)l);
        ls_graph_alias(g, eo.attns[l], p);
        snprintf(p, sizeof p, "output.2.%lld", (long long)l);
        ls_graph_alias(g, self_a[l], p);
        snprintf(p, sizeof p, "output.3.%lld", (long long)l);
        ls_graph_alias(g, cross_a[l], p);
    }
    ls_g_op1(g, LS_OP_ARGMAX, logits, "predicted");
    if (outs >= 0) {
        /* what teacher forcing trains: CrossEntropyLoss(ignore_index=0) */
        int tgt = ls_g_reshape(g, outs, 1, (int64_t[]){B * T}, NULL);
        ls_op_params p = {.i = {0}};
        int in2[2] = {flat, tgt};
        ls_graph_op(g, LS_OP_CROSS_ENTROPY, &p, in2, 2, "loss");
    }
    return LS_OK;
}

/* greedy_decoder(model, enc_inputs[b:b+1], start_symbol): the decoder runs
 * on the whole dec_input at every step; the not yet written zeros are
 * masked as pad keys.  Step i writes argmax(logits[i]) into position i+1. */
static int greedy(ls_graph *g, const tf_cfg *c, const ls_tmap *in, ls_error *err)
{
    int64_t B = 0, S = 0; /* set by check_ids */
    const ls_tensor *et = ls_tmap_get(in, "enc_inputs");
    int rc = check_ids(et, "enc_inputs", &B, &S, err);
    if (rc)
        return rc;
    if (c->start_id < 0)
        return ls_error_set(err, LS_ERR_MISSING,
                            "greedy decoding needs the start symbol: 'globals.tgt_vocab.S' in config.json");
    const int64_t T = c->tgt_len;
    int enc = ls_graph_input(g, "enc_inputs", LS_I64, 2, et->shape);
    int results[64];
    if (B > 64)
        return ls_error_set(err, LS_ERR_RANGE, "greedy decoding: at most 64 sentences at once");
    for (int64_t b = 0; b < B; b++) {
        int src = ls_g_slice(g, enc, 0, b, b + 1, 1, NULL);
        enc_out eo;
        int enc_out = encoder(g, c, src, 1, S, &eo);
        /* dec_input = zeros(1, T) with the start symbol in position 0 */
        ls_tensor d0;
        if (ls_tensor_alloc(ls_graph_arena(g), LS_I64, 2, (int64_t[]){1, T}, &d0, err))
            return err->code;
        ((int64_t *)d0.data)[0] = c->start_id;
        int dec = ls_graph_const(g, NULL, &d0);
        for (int64_t i = 0; i + 1 < T; i++) {
            int self_a[256], cross_a[256];
            int d = decoder(g, c, dec, src, enc_out, 1, T, S, self_a, cross_a);
            int logits = projection(g, c, d);
            int next = ls_g_op1(g, LS_OP_ARGMAX, logits, NULL); /* [1,T] */
            int pieces[3], n = 0;
            pieces[n++] = ls_g_slice(g, dec, 1, 0, i + 1, 1, NULL);
            pieces[n++] = ls_g_slice(g, next, 1, i, i + 1, 1, NULL);
            if (i + 2 < T)
                pieces[n++] = ls_g_slice(g, dec, 1, i + 2, T, 1, NULL);
            ls_op_params cp = {.i = {1}};
            dec = ls_graph_op(g, LS_OP_CONCAT, &cp, pieces, n, NULL);
        }
        results[b] = dec;
    }
    ls_op_params cp = {.i = {0}};
    if (B == 1)
        ls_graph_alias(g, results[0], "greedy_decoder");
    else
        ls_graph_op(g, LS_OP_CONCAT, &cp, results, (int)B, "greedy_decoder");
    return LS_OK;
}

static int tf_build(const ls_model *m, const ls_tmap *in, const ls_build_opts *o, ls_graph **out,
                    ls_error *err)
{
    const tf_cfg *c = ls_model_cfg(m);
    if (c->n_layers > 256)
        return ls_error_set(err, LS_ERR_RANGE, "too many layers");
    ls_graph *g = ls_graph_new("Transformer", ls_model_weights(m));
    if (!g)
        return ls_error_set(err, LS_ERR_NOMEM, "out of memory");
    int rc;
    const char *mode = o->mode ? o->mode : "teacher";
    if (!strcmp(mode, "teacher"))
        rc = teacher(g, c, in, err);
    else if (!strcmp(mode, "greedy"))
        rc = greedy(g, c, in, err);
    else
        rc = ls_error_set(err, LS_ERR_ARG, "unknown mode '%s' (teacher or greedy)", mode);
    if (!rc && !ls_graph_ok(g))
        rc = ls_error_set(err, ls_graph_error(g)->code, "%s", ls_graph_error(g)->msg);
    if (rc) {
        ls_graph_free(g);
        return rc;
    }
    *out = g;
    return LS_OK;
}

/* ---- text ---- */

static int64_t word_id(const char (*tab)[TF_WORD], int n, const char *w)
{
    for (int i = 0; i < n; i++)
        if (tab[i][0] && !strcmp(tab[i], w))
            return i;
    return -1;
}

static int words_to_ids(const tf_cfg *c, bool source, const char *text, int64_t len, int64_t *ids,
                        ls_error *err)
{
    const char(*tab)[TF_WORD] = source ? c->src_words : c->tgt_words;
    int n = source ? c->n_src_words : c->n_tgt_words;
    if (n == 0)
        return ls_error_set(err, LS_ERR_MISSING, "config.json has no %s vocabulary",
                            source ? "source" : "target");
    int64_t k = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        char w[TF_WORD];
        size_t l = strcspn(p, " \t");
        if (l >= TF_WORD)
            return ls_error_set(err, LS_ERR_ARG, "word too long in '%s'", text);
        memcpy(w, p, l);
        w[l] = '\0';
        p += l;
        int64_t id = word_id(tab, n, w);
        if (id < 0) {
            char known[1024] = "";
            for (int i = 0; i < n; i++)
                if (tab[i][0]) {
                    strncat(known, " ", sizeof known - strlen(known) - 1);
                    strncat(known, tab[i], sizeof known - strlen(known) - 1);
                }
            return ls_error_set(err, LS_ERR_ARG, "'%s' is not in the %s vocabulary (known:%s)", w,
                                source ? "source" : "target", known);
        }
        if (k >= len)
            return ls_error_set(err, LS_ERR_ARG, "'%s' has more than %lld words", text,
                                (long long)len);
        ids[k++] = id;
    }
    for (; k < len; k++)
        ids[k] = 0; /* pad with P */
    return LS_OK;
}

int ls_transformer_text_inputs(const ls_model *m, const char *src, const char *tgt, ls_tmap *out,
                               ls_error *err)
{
    if (strcmp(ls_model_arch(m)->name, "transformer") != 0)
        return ls_error_set(err, LS_ERR_ARG, "--src needs a transformer model, not '%s'",
                            ls_model_arch(m)->name);
    const tf_cfg *c = ls_model_cfg(m);
    ls_tensor e, d;
    int rc;
    if ((rc = ls_tensor_alloc(ls_tmap_arena(out), LS_I64, 2, (int64_t[]){1, c->src_len}, &e, err)) ||
        (rc = words_to_ids(c, true, src, c->src_len, e.data, err)) ||
        (rc = ls_tmap_put_ref(out, "enc_inputs", &e, err)))
        return rc;
    if (!tgt)
        return LS_OK;
    if ((rc = ls_tensor_alloc(ls_tmap_arena(out), LS_I64, 2, (int64_t[]){1, c->tgt_len}, &d, err)) ||
        (rc = words_to_ids(c, false, tgt, c->tgt_len, d.data, err)))
        return rc;
    return ls_tmap_put_ref(out, "dec_inputs", &d, err);
}

void ls_transformer_words(const ls_model *m, bool source, const int64_t *ids, int64_t n, char *buf,
                          size_t size)
{
    const tf_cfg *c = ls_model_cfg(m);
    const char(*tab)[TF_WORD] = source ? c->src_words : c->tgt_words;
    int nw = source ? c->n_src_words : c->n_tgt_words;
    size_t k = 0;
    buf[0] = '\0';
    for (int64_t i = 0; i < n && k < size; i++) {
        if (ids[i] >= 0 && ids[i] < nw && tab[ids[i]][0])
            k += (size_t)snprintf(buf + k, size - k, "%s%s", i ? " " : "", tab[ids[i]]);
        else
            k += (size_t)snprintf(buf + k, size - k, "%s#%lld", i ? " " : "", (long long)ids[i]);
    }
}

static int tf_example_inputs(const ls_model *m, ls_tmap *out, ls_error *err)
{
    const tf_cfg *c = ls_model_cfg(m);
    if (c->n_sentences == 0 || !c->n_src_words || !c->n_tgt_words)
        return ls_error_set(err, LS_ERR_MISSING,
                            "%s: no example sentences ('globals.sentences'); give --inputs DIR",
                            ls_model_config_path(m));
    int64_t B = c->n_sentences;
    ls_tensor e, d, o;
    int rc;
    ls_arena *a = ls_tmap_arena(out);
    if ((rc = ls_tensor_alloc(a, LS_I64, 2, (int64_t[]){B, c->src_len}, &e, err)) ||
        (rc = ls_tensor_alloc(a, LS_I64, 2, (int64_t[]){B, c->tgt_len}, &d, err)) ||
        (rc = ls_tensor_alloc(a, LS_I64, 2, (int64_t[]){B, c->tgt_len}, &o, err)))
        return rc;
    for (int64_t b = 0; b < B; b++) {
        if ((rc = words_to_ids(c, true, c->sentences[b][0], c->src_len, (int64_t *)e.data + b * c->src_len, err)) ||
            (rc = words_to_ids(c, false, c->sentences[b][1], c->tgt_len, (int64_t *)d.data + b * c->tgt_len, err)) ||
            (rc = words_to_ids(c, false, c->sentences[b][2], c->tgt_len, (int64_t *)o.data + b * c->tgt_len, err)))
            return ls_error_prefix(err, "%s: globals.sentences[%lld]", ls_model_config_path(m),
                                   (long long)b);
    }
    if ((rc = ls_tmap_put_ref(out, "enc_inputs", &e, err)) ||
        (rc = ls_tmap_put_ref(out, "dec_inputs", &d, err)))
        return rc;
    return ls_tmap_put_ref(out, "dec_outputs", &o, err);
}

static void print_rows(const ls_model *m, const ls_tensor *ids, const char *label, FILE *out)
{
    int64_t B = ids->shape[0], T = ids->shape[1];
    for (int64_t b = 0; b < B; b++) {
        int64_t row[4096];
        for (int64_t t = 0; t < T && t < 4096; t++)
            row[t] = (int64_t)ls_tensor_get(ids, (int64_t[]){b, t});
        char words[2048];
        ls_transformer_words(m, false, row, T < 4096 ? T : 4096, words, sizeof words);
        fprintf(out, "%s[%lld]: %s\n", label, (long long)b, words);
    }
}

static void tf_print_result(const ls_model *m, const ls_exec *ex, FILE *out)
{
    const ls_graph *g = ls_exec_graph(ex);
    const ls_tensor *t;
    if ((t = ls_exec_out(ex, ls_graph_find(g, "greedy_decoder"))))
        print_rows(m, t, "greedy_decoder", out);
    if ((t = ls_exec_out(ex, ls_graph_find(g, "predicted"))))
        print_rows(m, t, "teacher-forced argmax", out);
    if ((t = ls_exec_out(ex, ls_graph_find(g, "loss"))))
        fprintf(out, "loss (cross-entropy vs dec_outputs, pad ignored): %.6f\n",
                ls_tensor_get_flat(t, 0));
}

static const char *word_of(const tf_cfg *c, bool src, int64_t id, char *buf, size_t n)
{
    const char(*tab)[TF_WORD] = src ? c->src_words : c->tgt_words;
    int nw = src ? c->n_src_words : c->n_tgt_words;
    if (id < 0 || id >= nw || !tab[id][0])
        return NULL;
    snprintf(buf, n, "%s", tab[id]);
    return buf;
}

static const char *tf_id_word(const ls_model *m, const char *point, int64_t id, char *buf, size_t n)
{
    const tf_cfg *c = ls_model_cfg(m);
    if (!strcmp(point, "enc_inputs"))
        return word_of(c, true, id, buf, n);
    if (!strcmp(point, "dec_inputs") || !strcmp(point, "dec_outputs") || !strcmp(point, "predicted") ||
        !strncmp(point, "greedy_decoder", 14))
        return word_of(c, false, id, buf, n);
    return NULL;
}

static const char *tf_token_label(const ls_model *m, const ls_tmap *inputs, const char *point,
                                  int64_t batch, int axis, int64_t index, char *buf, size_t n)
{
    /* axis 0 = query positions, 1 = key positions of a [Tq,Tk] slice */
    const tf_cfg *c = ls_model_cfg(m);
    /* the logits' last axis is the target vocabulary, a word per column */
    if (axis == 1 && (!strcmp(point, "projection") || !strcmp(point, "logits")))
        return word_of(c, false, index, buf, n);
    bool enc_side = !strncmp(point, "encoder.", 8) || (axis == 1 && strstr(point, "dec_enc_attn"));
    const ls_tensor *ids = ls_tmap_get(inputs, enc_side ? "enc_inputs" : "dec_inputs");
    if (!ids || ids->ndim != 2 || index < 0 || index >= ids->shape[1] || batch < 0 ||
        batch >= ids->shape[0])
        return NULL;
    int64_t id = (int64_t)ls_tensor_get(ids, (int64_t[]){batch, index});
    const char(*tab)[TF_WORD] = enc_side ? c->src_words : c->tgt_words;
    int nw = enc_side ? c->n_src_words : c->n_tgt_words;
    if (id < 0 || id >= nw || !tab[id][0])
        return NULL;
    snprintf(buf, n, "%s", tab[id]);
    return buf;
}

/* ---- seeded random weights (for configs without a weights file) ----
 * PyTorch's defaults: nn.Embedding N(0,1), nn.Linear (no bias here)
 * U(-1/sqrt(in), 1/sqrt(in)).  Both calls walk the same list of weights,
 * one to add up bytes, one to fill (src/models/random_weights.c). */
static void tf_put(ls_rw *s, const char *name, int64_t rows, int64_t cols, bool normal)
{
    if (normal)
        ls_rw_normal(s, name, "", 2, (int64_t[]){rows, cols});
    else
        ls_rw_put(s, name, "", 2, (int64_t[]){rows, cols}, 1.0 / sqrt((double)cols), 0);
}

static void tf_attn_weights(ls_rw *s, const tf_cfg *c, const char *prefix)
{
    char k[160];
    const int64_t D = c->d_model, H = c->n_heads;
    static const char *const qkv[] = {"W_Q", "W_K", "W_V"};
    for (int j = 0; j < 3; j++) {
        snprintf(k, sizeof k, "%s.%s.weight", prefix, qkv[j]);
        tf_put(s, k, H * (j == 2 ? c->d_v : c->d_k), D, false);
    }
    snprintf(k, sizeof k, "%s.fc.weight", prefix);
    tf_put(s, k, D, H * c->d_v, false);
}

static void tf_all_weights(ls_rw *s, const tf_cfg *c)
{
    char k[160];
    const int64_t D = c->d_model;
    tf_put(s, "encoder.src_emb.weight", c->src_vocab_size, D, true);
    tf_put(s, "decoder.tgt_emb.weight", c->tgt_vocab_size, D, true);
    for (int side = 0; side < 2; side++)
        for (int64_t l = 0; l < c->n_layers; l++) {
            const char *part = side ? "decoder" : "encoder";
            snprintf(k, sizeof k, "%s.layers.%lld.%s", part, (long long)l,
                     side ? "dec_self_attn" : "enc_self_attn");
            tf_attn_weights(s, c, k);
            if (side) {
                snprintf(k, sizeof k, "decoder.layers.%lld.dec_enc_attn", (long long)l);
                tf_attn_weights(s, c, k);
            }
            snprintf(k, sizeof k, "%s.layers.%lld.pos_ffn.fc.0.weight", part, (long long)l);
            tf_put(s, k, c->d_ff, D, false);
            snprintf(k, sizeof k, "%s.layers.%lld.pos_ffn.fc.2.weight", part, (long long)l);
            tf_put(s, k, D, c->d_ff, false);
        }
    tf_put(s, "projection.weight", c->tgt_vocab_size, D, false);
}

static void tf_walk(ls_rw *s, const ls_model *m) { tf_all_weights(s, ls_model_cfg(m)); }

static int tf_random_weights(ls_model *m, uint64_t seed, ls_error *err)
{
    return ls_rw_fill_model(m, seed, tf_walk, err);
}

static uint64_t tf_random_weights_bytes(const ls_model *m)
{
    return ls_rw_count_model(m, tf_walk);
}

const ls_arch ls_arch_transformer = {
    .name = "transformer",
    .root_class = "Transformer",
    .parse_config = tf_parse,
    .build = tf_build,
    .example_inputs = tf_example_inputs,
    .random_weights = tf_random_weights,
    .random_weights_bytes = tf_random_weights_bytes,
    .token_label = tf_token_label,
    .id_word = tf_id_word,
    .print_result = tf_print_result,
};
