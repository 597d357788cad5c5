/* libFuzzer target: config.json for every architecture (ours and Hugging
 * Face wav2vec2 configs).  The bytes are written as a model directory's
 * config.json (with no weights) and loaded the way `layerstep run --model`
 * loads it; the graph is then built for the example inputs (shapes only,
 * nothing is computed). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "layerstep/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[] = "/tmp/ls_fuzz_cfg_XXXXXX";
    if (!mkdtemp(dir))
        return 0;
    char path[64];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, size, f);
        fclose(f);
        ls_model *m = NULL;
        ls_error err;
        /* random weights capped low so one input stays cheap */
        if (ls_model_load_limit(dir, (size_t)64 << 20, &m, &err) == LS_OK) {
            /* random weights were made: build with the example inputs */
            ls_tmap *in = ls_tmap_new("inputs");
            const ls_arch *a = ls_model_arch(m);
            ls_graph *g = NULL;
            if (in && a->example_inputs && a->example_inputs(m, in, &err) == LS_OK &&
                ls_model_build(m, in, NULL, &g, &err) == LS_OK)
                ls_graph_free(g);
            ls_tmap_free(in);
            ls_model_free(m);
        }
        unlink(path);
    }
    rmdir(dir);
    return 0;
}
