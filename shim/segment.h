/* SPDX-License-Identifier: MIT */
/* The C face of the segmentation decoder in the shim: loading a decoder archive beside a base
 * bundle and running base features + decoder without leaving the device. Every function
 * catches every C++ exception (status + message) and runs under c10::InferenceMode. */
#ifndef BMC_SHIM_SEGMENT_H
#define BMC_SHIM_SEGMENT_H

#include "biomedclip.h"
#include "shim/shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A decoder archive loaded on its base model's device, in its dtype. Immutable after loading;
 * runs may come from several threads at once. */
typedef struct bmci_torch_decoder bmci_torch_decoder;

/* Load the decoder archive at `path` for `base`. *json receives decoder.json as a malloc'd
 * NUL-terminated copy (free with free()). Statuses: BMC_ERR_IO (cannot read),
 * BMC_ERR_CORRUPT_DATA (not a TorchScript archive), BMC_ERR_MODEL (no decoder.json, a model
 * bundle given as decoder, no forward method). */
bmc_status bmci_decoder_load(const bmci_torch_model *base, const char *path,
                             bmci_torch_decoder **out, char **json);

/* The shapes one decoder run works with. */
typedef struct bmci_decoder_shape {
    const int64_t *taps;   /* hidden states to tap, image_hidden_states numbering */
    int64_t tap_count;
    int64_t image_size;    /* side of the pixel tensor */
    int64_t tokens;        /* tokens per tapped state: 1 + grid^2 */
    int64_t width;         /* vision width of the tapped states */
    int64_t map_size;      /* side of the logits map */
} bmci_decoder_shape;

/* One image (3 x S x S float32 pixels, host memory) under `prompt_count` prompts (token ids,
 * prompt_count x length, padded with the pad id): the base's tapped states of the image and
 * raw text embeddings of the prompts go through the decoder, and prompt_count x map_size^2
 * float32 logits are written to `logits`. A state or result of another shape than `shape`
 * says gives BMC_ERR_MODEL. */
bmc_status bmci_decoder_run(const bmci_torch_model *base, const bmci_torch_decoder *decoder,
                            const bmci_decoder_shape *shape, const float *pixels,
                            const int64_t *ids, int64_t prompt_count, int64_t length,
                            float *logits);

/* Release a decoder. NULL is allowed. */
void bmci_decoder_free(bmci_torch_decoder *decoder);

#ifdef __cplusplus
}
#endif

#endif
