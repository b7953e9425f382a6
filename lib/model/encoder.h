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

/* Runs the image tower on `count` preprocessed tensors into `rows` (count x embed_dim), then
 * normalises them (unless flags has BMC_ENCODE_RAW) and reports progress as (done, total):
 * one batch of bmc_image_encoder_encode(), for callers that prepare their own batches. */
bmc_status bmci_image_encoder_run_batch(bmc_image_encoder *encoder, const float *tensors,
                                        size_t count, uint32_t flags, float *rows, size_t done,
                                        size_t total);

/* The encoder's batch size, and its scratch of batch_size preprocessed tensors, which the file
 * pipeline borrows as one of its two batches rather than allocating a third. */
/* Non-zero when the encoder's options ask for the JPEG draft decode (fast_jpeg). */
int bmci_image_encoder_fast_jpeg(const bmc_image_encoder *encoder);
size_t bmci_image_encoder_batch_size(const bmc_image_encoder *encoder);
float *bmci_image_encoder_scratch(bmc_image_encoder *encoder);

#endif
