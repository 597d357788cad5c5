#include <string.h>

#include "layerstep/model.h"

/* One line per architecture (each defined in src/models/<arch>.c). */
extern const ls_arch ls_arch_transformer;
extern const ls_arch ls_arch_mha;
extern const ls_arch ls_arch_wav2vec2;
extern const ls_arch ls_arch_conformer;

static const ls_arch *const archs[] = {
    &ls_arch_transformer,
    &ls_arch_mha,
    &ls_arch_wav2vec2,
    &ls_arch_conformer,
};

int ls_arch_count(void) { return (int)(sizeof archs / sizeof archs[0]); }
const ls_arch *ls_arch_at(int i) { return archs[i]; }

const ls_arch *ls_arch_find(const char *name)
{
    for (int i = 0; i < ls_arch_count(); i++)
        if (strcmp(archs[i]->name, name) == 0)
            return archs[i];
    return NULL;
}
