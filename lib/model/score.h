/* SPDX-License-Identifier: MIT */
/* Internal vector helpers shared by the encoders, the classifier and the index. */
#ifndef BMC_LIB_SCORE_H
#define BMC_LIB_SCORE_H

#include <stddef.h>

/* Scale `v` to unit length (computed in double); a zero vector stays zero. */
void bmci_l2_normalize(float *v, size_t dim);

/* Dot product accumulated in double, so results do not depend on vector length rounding. */
double bmci_dot(const float *a, const float *b, size_t dim);

#endif
