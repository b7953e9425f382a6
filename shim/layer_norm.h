/* SPDX-License-Identifier: MIT */
// bfloat16 layer norms through oneDNN.
#ifndef BMC_SHIM_LAYER_NORM_H
#define BMC_SHIM_LAYER_NORM_H

#include <torch/script.h>

#include <cstdint>

// Replaces every aten::layer_norm in the methods of the frozen CPU `module` by bmc::layer_norm,
// which runs bfloat16 layer norms over the last dimension in oneDNN and everything else
// (float32 included) through at::layer_norm, as before. Returns the number of nodes replaced
// (0 in a build without oneDNN). Throws on failure.
int64_t bmci_route_layer_norms(torch::jit::script::Module &module);

#endif
