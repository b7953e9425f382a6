// SPDX-License-Identifier: MIT
// libtorch's intra-op threads, chosen per forward pass by the model's dtype.
//
// Measured on a 2-core AVX-512 machine (full-size image tower, docs/threading-and-memory.md):
// float32 matrix products go to OpenBLAS, whose own pthread pool already uses every core;
// a second pool of OpenMP threads spinning beside it halves the speed (batch 1: 3.1 images/s
// with 1 OpenMP thread, 1.4 with 2). bfloat16 products go to oneDNN, which runs on libtorch's
// OpenMP threads and leaves OpenBLAS idle: there every physical core helps (6.4 -> 10.6).
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
        want = model->dtype == c10::kBFloat16 ? bmci_cpu_physical_cores() : 1;
    if (at::get_num_threads() != want)
        at::set_num_threads(want);
}
