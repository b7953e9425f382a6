/* SPDX-License-Identifier: MIT */
// Batched products of two activations (attention) through oneDNN.
#ifndef BMC_SHIM_BATCHED_MATMUL_H
#define BMC_SHIM_BATCHED_MATMUL_H

#include <torch/script.h>

#include <cstdint>

// Replaces every aten::matmul in the methods of the frozen CPU `module` by bmc::matmul, which
// runs batched float32 products in oneDNN and everything else through at::matmul.
// Returns the number of products rerouted (0 in a build without oneDNN). Throws on failure.
int64_t bmci_route_matmuls(torch::jit::script::Module &module);

#endif
