/* SPDX-License-Identifier: MIT */
/* Internal: the geometry of the image transform, shared by the preprocessing and the mapping
 * of segmentation maps back to the image. */
#ifndef BMC_LIB_PREPROCESS_H
#define BMC_LIB_PREPROCESS_H

#include "biomedclip.h"

/* Where a width x height image goes under `options` (already checked), as torchvision
 * computes it: the resized size (out_w x out_h; for BMC_RESIZE_SQUASH image_size square; for
 * the shortest-side resize the short side becomes image_size, the long one
 * int(image_size * long / short), both unchanged when the short side already is image_size)
 * and the top-left corner of the image_size x image_size centre crop in the resized image
 * (int(round((side - image_size) / 2.0)), halves to even). Errors: BMC_ERR_LIMIT (a resized
 * side over 2^31). */
bmc_status bmci_preprocess_plan(int32_t width, int32_t height, const bmc_preprocess_options *options,
                                int32_t *out_w, int32_t *out_h, int32_t *left, int32_t *top);

#endif
