/* SPDX-License-Identifier: MIT */
/* Internal view of a loaded model, shared by the encoders, the scorer and the task heads. */
#ifndef BMC_LIB_MODEL_H
#define BMC_LIB_MODEL_H

#include "biomedclip.h"
#include "shim/shim.h"

/* The bundle format versions this library reads. */
#define BMCI_BUNDLE_FORMAT_VERSION 1

struct bmc_model {
    bmci_torch_model *torch;
    struct bmc_tokenizer *tokenizer;
    bmc_preprocess_options preprocess;
    int32_t embed_dim;
    int32_t context_length;
    float logit_scale;        /* exp of the checkpoint's logit_scale parameter */
    char *name;
    char *source;
};

#endif
