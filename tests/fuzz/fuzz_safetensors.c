/* libFuzzer target: the safetensors parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "layerstep/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ls_tmap *m = NULL;
    ls_error err;
    if (ls_safetensors_parse(data, size, "fuzz.safetensors", &m, &err) == LS_OK) {
        /* touch every tensor so a bad offset would be caught by ASan */
        for (int i = 0; i < ls_tmap_count(m); i++) {
            ls_stats s;
            ls_tensor_stats(ls_tmap_at(m, i), &s);
        }
        ls_tmap_free(m);
    }
    return 0;
}
