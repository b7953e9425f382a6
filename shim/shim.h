/* SPDX-License-Identifier: MIT */
/* The C face of the C++ shim: the only functions through which lib/ reaches libtorch.
 * Every function here catches every C++ exception and turns it into a status with the
 * exception's text as the last-error message, and runs under c10::InferenceMode. */
#ifndef BMC_SHIM_H
#define BMC_SHIM_H

#include "biomedclip.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A TorchScript bundle loaded on a device in a dtype. Immutable after loading; forward calls
 * may run from several threads at once. */
typedef struct bmci_torch_model bmci_torch_model;

/* The extra files stored beside the TorchScript code, as malloc'd NUL-terminated copies
 * (free with free()). `vocab` may contain NUL bytes only if the file did; vocab_size counts
 * its bytes. */
typedef struct bmci_bundle_files {
    char *bundle_json;
    char *vocab;
    size_t vocab_size;
} bmci_bundle_files;

/* Load the bundle at `path` onto `device` ("cpu", "cuda", "cuda:N") in `dtype`
 * (BMC_DTYPE_*). Statuses: BMC_ERR_IO (cannot read), BMC_ERR_CORRUPT_DATA (not a TorchScript
 * archive), BMC_ERR_MODEL (no bundle.json/vocab.txt or a method missing), BMC_ERR_DEVICE. */
bmc_status bmci_torch_load(const char *path, const char *device, int32_t dtype,
                           bmci_torch_model **out, bmci_bundle_files *files);

/* Whether the scripted module has a method of this name (optional heads probe with it). */
int bmci_torch_has_method(const bmci_torch_model *model, const char *name);

/* Run encode_image on `count` float32 CHW tensors of side `image_size` (host memory) and
 * write `count` x `dim` float32 raw features to `out`. */
bmc_status bmci_torch_encode_image(const bmci_torch_model *model, const float *pixels,
                                   int64_t count, int64_t image_size, float *out, int64_t dim);

/* Run encode_text on a `count` x `length` matrix of token ids (0 = padding) and write
 * `count` x `dim` float32 raw features to `out`. */
bmc_status bmci_torch_encode_text(const bmci_torch_model *model, const int64_t *ids,
                                  int64_t count, int64_t length, float *out, int64_t dim);

/* Whether the model runs on the CPU (1) or an accelerator (0). */
int bmci_torch_on_cpu(const bmci_torch_model *model);

/* Release a loaded model. NULL is allowed. */
void bmci_torch_free(bmci_torch_model *model);

#ifdef __cplusplus
}
#endif

#endif
