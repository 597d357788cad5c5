/* libFuzzer target: the .npy parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "layerstep/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ls_arena *a = ls_arena_new(1 << 16);
    ls_tensor t;
    ls_error err;
    if (ls_npy_parse(data, size, "fuzz.npy", a, &t, &err) == LS_OK) {
        ls_stats s;
        ls_tensor_stats(&t, &s);
    }
    ls_arena_free(a);
    return 0;
}
