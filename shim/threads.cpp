// SPDX-License-Identifier: MIT
// Process-wide libtorch thread settings.
#include <ATen/Parallel.h>

#include "shim/guard.h"
#include "shim/shim.h"

extern "C" bmc_status bmci_torch_set_threads(int32_t threads)
{
    return bmci_guard("set_num_threads", [&] {
        at::set_num_threads(threads);
        return BMC_OK;
    });
}
