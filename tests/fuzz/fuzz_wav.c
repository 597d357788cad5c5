/* libFuzzer target: the WAV reader on arbitrary bytes, both sample scales,
 * then the filterbank on what it returns (capped so one input stays fast). */
#include <stddef.h>
#include <stdint.h>

#include "layerstep/audio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ls_arena *a = ls_arena_new(1 << 16);
    if (!a)
        return 0;
    ls_tensor t;
    ls_wav_info info;
    ls_error err;
    if (ls_wav_parse(data, size, "fuzz.wav", LS_WAV_NORMALIZED, a, &t, &info, &err) == LS_OK) {
        ls_stats s;
        ls_tensor_stats(&t, &s);
    }
    if (ls_wav_parse(data, size, "fuzz.wav", LS_WAV_INT16_SCALE, a, &t, NULL, &err) == LS_OK &&
        t.shape[0] <= 16000) {
        ls_fbank_opts o = ls_fbank_wenet_opts();
        ls_tensor feats;
        ls_fbank_compute(t.data, t.shape[0], &o, a, &feats, &err);
    }
    ls_arena_free(a);
    return 0;
}
