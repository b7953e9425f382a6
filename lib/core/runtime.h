/* SPDX-License-Identifier: MIT */
/* Internal access to the process-wide settings of bmc_configure(). */
#ifndef BMC_LIB_RUNTIME_H
#define BMC_LIB_RUNTIME_H

#include "biomedclip.h"

/* Check an image size against the configured limits before anything is allocated.
 * `what` names the source in the message ("png", "jpeg", "pixels"). */
bmc_status bmci_check_image_size(const char *what, int64_t width, int64_t height);

#endif
