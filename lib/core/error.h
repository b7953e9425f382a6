/* SPDX-License-Identifier: MIT */
/* Internal error reporting: every failure path sets the thread-local message and returns its
 * status in one statement, `return bmci_fail(BMC_ERR_..., "png: %s", why);`. */
#ifndef BMC_LIB_ERROR_H
#define BMC_LIB_ERROR_H

#include "biomedclip.h"

#if defined(__GNUC__)
#  define BMCI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define BMCI_PRINTF(a, b)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Record `status` with a printf-style message as this thread's last error; returns status. */
bmc_status bmci_fail(bmc_status status, const char *fmt, ...) BMCI_PRINTF(2, 3);

/* Record a message given as-is (no formatting); returns status. */
bmc_status bmci_fail_text(bmc_status status, const char *message);

/* Prefix this thread's last error with "context: " (keeps the status); returns status. */
bmc_status bmci_fail_context(bmc_status status, const char *context);

#ifdef __cplusplus
}
#endif

#endif
