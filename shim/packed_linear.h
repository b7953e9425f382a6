/* SPDX-License-Identifier: MIT */
// Linear layers with their weights reordered once, at load, into oneDNN's blocked layout.
#ifndef BMC_SHIM_PACKED_LINEAR_H
#define BMC_SHIM_PACKED_LINEAR_H

#include <torch/script.h>

#include <cstdint>
#include <functional>
#include <vector>

// Replaces, in every method of the frozen CPU `module`, each aten::linear whose weight is a
// float32 or bfloat16 graph constant by bmc::packed_linear, which runs oneDNN's matrix product
// on a copy of the weight packed here; the graph's own copy is dropped as soon as its layer is
// packed, so memory does not grow. `return_freed` is called after every 64 MiB or so of
// weights freed, to hand the pages back to the system (an allocator may keep them). Appends
// the ids of the packed layers to `ids` (the caller releases them with
// bmci_packed_linear_release once no forward can run). Returns the number of layers packed;
// throws on failure, leaving already-packed layers to the caller's release.
int64_t bmci_pack_linear_layers(torch::jit::script::Module &module, std::vector<int64_t> &ids,
                                const std::function<void()> &return_freed);

// Releases packed layers; their ids must not be used by a forward pass afterwards.
void bmci_packed_linear_release(const std::vector<int64_t> &ids);

// Whether this build routes linear layers through oneDNN (it is built with oneDNN's headers).
bool bmci_packed_linear_available();

#endif
