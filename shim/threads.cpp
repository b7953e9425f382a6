// Process-wide libtorch thread settings.
#include <torch/torch.h>

#include "shim.h"
#include "../lib/error.h"

extern "C" bmc_status bmci_torch_set_threads(int32_t threads)
{
    try {
        at::set_num_threads(threads);
        return BMC_OK;
    } catch (const std::exception &e) {
        return bmci_fail(BMC_ERR_INTERNAL, "libtorch: set_num_threads(%d): %s", threads, e.what());
    } catch (...) {
        return bmci_fail(BMC_ERR_INTERNAL, "libtorch: set_num_threads(%d) failed", threads);
    }
}
