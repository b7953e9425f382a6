/* SPDX-License-Identifier: MIT */
/* Internal view of a linear probe, shared by training, prediction and the file format. */
#ifndef BMC_LIB_PROBE_H
#define BMC_LIB_PROBE_H

#include "biomedclip.h"

struct bmc_probe {
    int32_t dim;
    size_t label_count;
    char **labels;
    float *weights;     /* label_count x dim */
    float *biases;      /* label_count */
    char *model_name;
    char *model_source;
    double c;
    int32_t iterations;
    int32_t converged;
};

/* An empty probe of `label_count` labels (all NULL) with its weight and bias arrays allocated;
 * NULL when out of memory. */
bmc_probe *bmci_probe_alloc(int32_t dim, size_t label_count);

/* Checks a label list: non-NULL, non-empty, valid UTF-8, no two equal. `who` names the caller
 * in the message. */
bmc_status bmci_probe_check_labels(const char *who, const char *const *labels, size_t count);

#endif
