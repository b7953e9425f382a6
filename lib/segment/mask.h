/* SPDX-License-Identifier: MIT */
/* Internal: segmentation maps back on the image's own grid. */
#ifndef BMC_LIB_MASK_H
#define BMC_LIB_MASK_H

#include "biomedclip.h"

/* Put a pre->image_size square probability map (what the decoder saw) on the grid of a
 * width x height image, inverting the preprocessing `pre` (already checked), into `out`
 * (width x height floats). BMC_RESIZE_SQUASH: Pillow's mode "F" BILINEAR resize of the map.
 * BMC_RESIZE_SHORTEST_CROP: the map is the centre crop of the resized image; a canvas of the
 * resized size holds it with its edge pixels repeated outward, is resized to width x height
 * the same way, and pixels whose centre ((x + 0.5) * resized_w / width, likewise y) lies
 * outside the crop become 0. Errors: BMC_ERR_LIMIT, BMC_ERR_OUT_OF_MEMORY. */
bmc_status bmci_map_to_image(const float *map, const bmc_preprocess_options *pre, int32_t width,
                             int32_t height, float *out);

#endif
