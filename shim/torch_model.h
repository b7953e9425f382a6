/* SPDX-License-Identifier: MIT */
// The C++ side of a loaded bundle, shared by the shim's task modules (heads run on the same
// device, in the same dtype, on the base model's features without a trip through host memory).
#ifndef BMC_SHIM_TORCH_MODEL_H
#define BMC_SHIM_TORCH_MODEL_H

#include <torch/script.h>

#include <vector>

#include "shim/shim.h"

struct bmci_torch_model {
    torch::jit::script::Module module;
    c10::Device device{c10::kCPU};
    c10::ScalarType dtype = c10::kFloat;
    // Linear layers whose weights oneDNN packed at load (shim/packed_linear.h); released with
    // the model.
    std::vector<int64_t> packed_linear_ids;
    ~bmci_torch_model();
};

// Copies host pixels (count x 3 x size x size float32) to the model's device and dtype.
torch::Tensor bmci_torch_pixels(const bmci_torch_model *model, const float *pixels, int64_t count,
                                int64_t image_size);

// Copies host token ids (count x length) to the model's device as int64.
torch::Tensor bmci_torch_ids(const bmci_torch_model *model, const int64_t *ids, int64_t count,
                             int64_t length);

// Sets libtorch's intra-op threads for a forward pass of `model` on the calling thread (see
// threads.cpp); every forward calls it first.
void bmci_torch_use_threads(const bmci_torch_model *model);

// Runs a method of the base module; the module is immutable after loading, so concurrent
// calls are safe.
c10::IValue bmci_torch_call(const bmci_torch_model *model, const char *method,
                            std::vector<c10::IValue> inputs);

#endif
