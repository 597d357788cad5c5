/* transformer.h - text helpers for the toy translation Transformer
 * (arch "transformer"): words <-> token ids with the vocabularies of its
 * config.json ("globals.src_vocab", "globals.tgt_vocab").
 *
 *   ls_tmap *in = ls_tmap_new("text");
 *   ls_transformer_text_inputs(m, "ich mochte ein bier P", NULL, in, &err);   // enc_inputs [1,5]
 *   char words[256];
 *   ls_transformer_words(m, false, ids, n, words, sizeof words);             // "i want a beer ."
 */
#ifndef LAYERSTEP_TRANSFORMER_H
#define LAYERSTEP_TRANSFORMER_H

#include "layerstep/model.h"

/* src -> "enc_inputs" [1,src_len] (padded with P); tgt (may be NULL) ->
 * "dec_inputs" [1,tgt_len].  An unknown word is an error that names it and
 * lists the vocabulary. */
int ls_transformer_text_inputs(const ls_model *m, const char *src, const char *tgt, ls_tmap *out,
                               ls_error *err);
/* Space-separated words of ids (target vocabulary unless source). */
void ls_transformer_words(const ls_model *m, bool source, const int64_t *ids, int64_t n, char *buf,
                          size_t size);

#endif
