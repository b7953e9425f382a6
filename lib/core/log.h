/* SPDX-License-Identifier: MIT */
/* Internal logging through the host's callback (bmc_configure); silent without one. */
#ifndef BMC_LIB_LOG_H
#define BMC_LIB_LOG_H

#include "core/error.h"

#ifdef __cplusplus
extern "C" {
#endif

void bmci_log(int32_t level, const char *fmt, ...) BMCI_PRINTF(2, 3);

#ifdef __cplusplus
}
#endif

#endif
