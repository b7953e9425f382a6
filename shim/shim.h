/* The C face of the C++ shim: the only functions through which lib/ reaches libtorch.
 * Every function here catches every C++ exception and turns it into a status with the
 * exception's text as the last-error message. */
#ifndef BMC_SHIM_H
#define BMC_SHIM_H

#include "biomedclip.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Set libtorch's intra-op thread count (process-wide). */
bmc_status bmci_torch_set_threads(int32_t threads);

#ifdef __cplusplus
}
#endif

#endif
