/* inputs.c - a WAV file turned into the inputs a speech model's forward
 * takes, on the sample scale its reference was trained on (see audio.h).
 */
#include "layerstep/audio.h"

#include <string.h>

#include "layerstep/config.h"

/* Batch of one: [1, ...] tensors plus an int64 [1] length. */
static int put_batch1(ls_tmap *inputs, const char *x_name, const ls_tensor *x,
                      const char *len_name, int64_t len, ls_error *err)
{
    ls_tensor b;
    int rc = ls_tensor_unsqueeze(x, 0, &b, err);
    if (rc != LS_OK)
        return rc;
    ls_tensor l = ls_tensor_make(LS_I64, 1, (int64_t[]){1}, &len);
    if ((rc = ls_tmap_put(inputs, x_name, &b, err)) != LS_OK)
        return rc;
    return ls_tmap_put(inputs, len_name, &l, err);
}

static int conformer_inputs(const ls_model *m, const char *wav_path, ls_arena *a,
                            ls_tmap *inputs, ls_wav_info *info, ls_error *err)
{
    int64_t bins;
    int rc = ls_json_int_opt(ls_model_config(m), "encoder_conf.input_size",
                             ls_model_config_path(m), 4, 1024, 80, &bins, err);
    if (rc != LS_OK)
        return rc;
    ls_tensor wav, feats;
    if ((rc = ls_wav_load(wav_path, LS_WAV_INT16_SCALE, a, &wav, info, err)) != LS_OK)
        return rc;
    ls_fbank_opts o = ls_fbank_wenet_opts();
    o.num_mel_bins = (int)bins;
    if ((rc = ls_fbank_compute(wav.data, wav.shape[0], &o, a, &feats, err)) != LS_OK)
        return ls_error_prefix(err, "%s", wav_path);
    return put_batch1(inputs, "xs", &feats, "xs_lens", feats.shape[0], err);
}

static int wav2vec2_inputs(const char *wav_path, ls_arena *a, ls_tmap *inputs,
                           ls_wav_info *info, ls_error *err)
{
    ls_tensor wav;
    int rc = ls_wav_load(wav_path, LS_WAV_NORMALIZED, a, &wav, info, err);
    if (rc != LS_OK)
        return rc;
    return put_batch1(inputs, "waveforms", &wav, "lengths", wav.shape[0], err);
}

int ls_audio_model_inputs(const ls_model *m, const char *wav_path, ls_tmap *inputs,
                          ls_error *err)
{
    return ls_audio_model_inputs_info(m, wav_path, inputs, NULL, err);
}

int ls_audio_model_inputs_info(const ls_model *m, const char *wav_path, ls_tmap *inputs,
                               ls_wav_info *info, ls_error *err)
{
    const ls_arch *arch = ls_model_arch(m);
    const char *name = arch && arch->name ? arch->name : "(none)";
    const int conformer = strcmp(name, "conformer") == 0;
    if (!conformer && strcmp(name, "wav2vec2") != 0)
        return ls_error_set(err, LS_ERR_ARG,
                            "%s: arch '%s' takes no audio input, expected a conformer or "
                            "wav2vec2 model",
                            wav_path, name);
    /* The samples and features are scratch: the map keeps its own copies. */
    ls_arena *a = ls_arena_new((size_t)1 << 20);
    if (!a)
        return ls_error_set(err, LS_ERR_NOMEM, "%s: out of memory", wav_path);
    int rc = conformer ? conformer_inputs(m, wav_path, a, inputs, info, err)
                       : wav2vec2_inputs(wav_path, a, inputs, info, err);
    ls_arena_free(a);
    return rc;
}
