/* SPDX-License-Identifier: MIT */
/* Prompt templates and template ensembling, shared by the single-label classifier and the
 * multi-label scorer. */
#ifndef BMC_LIB_ENSEMBLE_H
#define BMC_LIB_ENSEMBLE_H

#include <stddef.h>

#include "biomedclip.h"

/* Fails with BMC_ERR_INVALID_ARGUMENT (naming `fn`, `what` and the template's position) unless
 * every template is non-NULL and holds "{}" exactly once. */
bmc_status bmci_check_templates(const char *fn, const char *what, const char *const *templates,
                                size_t count);

/* Fails with BMC_ERR_INVALID_ARGUMENT unless every one of the `count` labels is non-NULL. */
bmc_status bmci_check_labels(const char *fn, const char *const *labels, size_t count);

/* Puts every label into every template, encodes the prompts with `encoder` and writes, per
 * label, the mean of its normalised prompt embeddings, normalised again (CLIP's template
 * ensembling), to out (label_count x the model's embed_dim floats). The templates must have
 * passed bmci_check_templates(). */
bmc_status bmci_ensemble_labels(const char *fn, bmc_text_encoder *encoder,
                                const char *const *labels, size_t label_count,
                                const char *const *templates, size_t template_count, float *out);

#endif
