/* SPDX-License-Identifier: MIT */
/* The C face of VQA heads in the shim: loading a head archive beside a base bundle and running
 * base features + head without leaving the device. Every function catches every C++
 * exception (status + message) and runs under c10::InferenceMode. */
#ifndef BMC_SHIM_VQA_H
#define BMC_SHIM_VQA_H

#include "biomedclip.h"
#include "shim/shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The base features a head reads (its vqa_head.json "inputs"). */
#define BMCI_VQA_IMAGE_TOKENS       1u /* encode_image_tokens: [1, T, vision_width] */
#define BMCI_VQA_IMAGE_EMBEDDING    2u /* encode_image: [1, embed_dim], raw */
#define BMCI_VQA_QUESTION_TOKENS    4u /* encode_text_tokens: [N, L, text_width] */
#define BMCI_VQA_QUESTION_EMBEDDING 8u /* encode_text: [N, embed_dim], raw */

/* What a head expects, from its vqa_head.json; checked against the base's outputs on every
 * run so that a mismatch is an error, not garbage. */
typedef struct bmci_vqa_shape {
    uint32_t features;     /* BMCI_VQA_* flags */
    int64_t vision_width;
    int64_t text_width;
    int64_t embed_dim;
    int64_t answers;       /* logits per question */
} bmci_vqa_shape;

/* A head archive loaded on its base model's device, in its dtype. Immutable after loading;
 * runs may come from several threads at once. */
typedef struct bmci_vqa_head bmci_vqa_head;

/* Load the head archive at `path` for `base`. *json receives vqa_head.json as a malloc'd
 * NUL-terminated copy (free with free()). Statuses: BMC_ERR_IO (cannot read),
 * BMC_ERR_CORRUPT_DATA (not a TorchScript archive), BMC_ERR_MODEL (no vqa_head.json, a model
 * bundle given as head, no forward method). */
bmc_status bmci_vqa_head_load(const bmci_torch_model *base, const char *path, bmci_vqa_head **out,
                              char **json);

/* Check that the head takes `shape`'s inputs and gives `shape->answers` logits (one run on a
 * small dummy batch), and that the base has the methods for those inputs; BMC_ERR_MODEL
 * with the reason otherwise. */
bmc_status bmci_vqa_head_check(const bmci_torch_model *base, const bmci_vqa_head *head,
                               const bmci_vqa_shape *shape);

/* One image (3 x image_size x image_size float32 pixels, host memory) and `count` questions
 * (token ids, count x length, padded with pad_id): the base features `shape` names go through
 * the head and count x shape->answers float32 logits are written to `logits`. A feature or
 * result of another shape gives BMC_ERR_MODEL. */
bmc_status bmci_vqa_head_run(const bmci_torch_model *base, const bmci_vqa_head *head,
                             const bmci_vqa_shape *shape, const float *pixels, int64_t image_size,
                             const int64_t *ids, int64_t count, int64_t length, int64_t pad_id,
                             float *logits);

/* Release a head. NULL is allowed. */
void bmci_vqa_head_free(bmci_vqa_head *head);

#ifdef __cplusplus
}
#endif

#endif
