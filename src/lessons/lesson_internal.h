/* lesson_internal.h - what lesson.c, lesson_run.c and answers.c share. */
#ifndef LAYERSTEP_LESSON_INTERNAL_H
#define LAYERSTEP_LESSON_INTERNAL_H

#include "layerstep/lesson.h"

/* idx (n numbers) names a cell of t */
static inline bool ls_lesson_index_inside(const ls_tensor *t, int n, const int64_t *idx)
{
    if (n != t->ndim)
        return false;
    for (int d = 0; d < n; d++)
        if (idx[d] < 0 || idx[d] >= t->shape[d])
            return false;
    return true;
}

#endif
