/* SPDX-License-Identifier: MIT */
/* Internal access to encoders for the classifier, retrieval and the heads. */
#ifndef BMC_LIB_ENCODER_H
#define BMC_LIB_ENCODER_H

#include "biomedclip.h"

const bmc_model *bmci_image_encoder_model(const bmc_image_encoder *encoder);
const bmc_model *bmci_text_encoder_model(const bmc_text_encoder *encoder);

/* The encode calls for one part of a longer job: progress is reported as done_before + items
 * done in this call, out of `total`, so a caller working in chunks reports the whole job. */
bmc_status bmci_image_encoder_encode_part(bmc_image_encoder *encoder, const bmc_image *const *images,
                                          size_t count, uint32_t flags, float *embeddings,
                                          size_t capacity, size_t done_before, size_t total);
bmc_status bmci_text_encoder_encode_part(bmc_text_encoder *encoder, const char *const *texts,
                                         size_t count, uint32_t flags, float *embeddings,
                                         size_t capacity, size_t done_before, size_t total);

#endif
