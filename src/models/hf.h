/* hf.h - Hugging Face transformers model directories (internal to
 * src/models, not part of the public API).
 *
 *   // in ls_model_load, after model.safetensors is read:
 *   ls_tmap *renamed;
 *   if (ls_wav2vec2_hf_import(weights, &renamed, &err) == LS_OK) {
 *       ls_tmap_free(weights);
 *       weights = renamed;
 *   }
 *
 * A directory saved by transformers has "model_type" in config.json
 * instead of "arch", and its weights carry transformers' module names.
 * Each importer renames them into the reference's names, the way the
 * reference's own importer does, so builders only ever see one naming.
 */
#ifndef LAYERSTEP_MODELS_HF_H
#define LAYERSTEP_MODELS_HF_H

#include "layerstep/tmap.h"

/* transformers Wav2Vec2 / Wav2Vec2ForCTC keys -> torchaudio Wav2Vec2Model
 * keys (the table is at the top of wav2vec2.c).  Keys with no torchaudio
 * counterpart (masked_spec_embed, quantizer, ...) are left out.  *out is a
 * new map owning copies of the tensors; `in` is not changed. */
int ls_wav2vec2_hf_import(const ls_tmap *in, ls_tmap **out, ls_error *err);

#endif
