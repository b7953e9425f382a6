// SPDX-License-Identifier: MIT
// libtorch's intra-op threads, chosen per forward pass by the model's dtype.
//
// Measured on a 2-core AVX-512 machine (full-size image tower, docs/threading-and-memory.md):
// where the linear layers and attention products run in oneDNN (packed_linear.cpp,
// batched_matmul.cpp), they run on libtorch's OpenMP threads and OpenBLAS stays idle, so one
// thread per physical core is best. Without oneDNN (a build without its headers), float32
// products go to OpenBLAS, whose own pthread pool already uses every core, and a second pool of
// OpenMP threads spinning beside it halves the speed (batch 1: 3.1 images/s with 1 OpenMP
// thread, 1.4 with 2): there the library keeps one.
// libgomp keeps the thread count per calling thread, so it is set on the thread that runs the
// forward, each time: a host's worker threads get the same choice as its main thread.
#include <ATen/Parallel.h>

#include "core/cpu.h"
#include "core/runtime.h"
#include "shim/torch_model.h"

void bmci_torch_use_threads(const bmci_torch_model *model)
{
    if (!model->device.is_cpu())
        return;
    int want = bmci_runtime_cpu_threads();
    if (want == 0)
        want = !model->packed_linear_ids.empty() || model->dtype == c10::kBFloat16
                   ? bmci_cpu_physical_cores() : 1;
    if (at::get_num_threads() != want)
        at::set_num_threads(want);
}
