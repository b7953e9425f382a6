/* SPDX-License-Identifier: MIT */
/* Internal access to the process-wide settings of bmc_configure(). */
#ifndef BMC_LIB_RUNTIME_H
#define BMC_LIB_RUNTIME_H

#include "biomedclip.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Check an image size against the configured limits before anything is allocated.
 * `what` names the source in the message ("png", "jpeg", "pixels"). */
bmc_status bmci_check_image_size(const char *what, int64_t width, int64_t height);

/* max_image_pixels as configured: also the bound on all frames of a DICOM file together,
 * which are decoded at once. Thread-safe. */
int64_t bmci_runtime_max_image_pixels(void);

/* The largest cpu_threads bmc_configure accepts. */
#define BMCI_MAX_CPU_THREADS 1024

/* cpu_threads as configured: intra-op threads for CPU forward passes, 0 for the library's
 * choice (shim/threads.cpp). Thread-safe. */
int32_t bmci_runtime_cpu_threads(void);

#ifdef __cplusplus
}
#endif

#endif
