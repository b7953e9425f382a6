/* SPDX-License-Identifier: MIT */
/* Internal: Pillow 9.4's Image.resize, bit for bit, for every image mode. */
#ifndef BMC_LIB_RESIZE_H
#define BMC_LIB_RESIZE_H

#include "image/image.h"

/* A window of Pillow's `image.resize((out_width, out_height), filter)`: the pixels in
 * columns x0 .. x0+width-1 and rows y0 .. y0+height-1 of the resized image, as a new image
 * of the same mode (and palette). Only the window is computed, so a crop of a huge upscale
 * costs what the crop costs, yet every pixel equals Pillow's (each output pixel of Pillow's
 * separable resampler depends only on its own coefficients and its input rows/columns).
 *
 * As Pillow: same size -> a copy; modes 1 and P always use NEAREST; LA and RGBA are resized
 * premultiplied (Pillow's La/RGBa conversions) unless the filter is NEAREST; mode I uses the
 * 32-bit path (double sums rounded to int32 after each pass); other modes the 8-bit fixed-
 * point path with rounding and clipping after each pass; the horizontal pass runs first and
 * a pass is skipped when its dimension keeps its size. `filter` is BMC_FILTER_*.
 * Errors: BMC_ERR_INVALID_ARGUMENT (bad sizes, window or filter), BMC_ERR_OUT_OF_MEMORY. */
bmc_status bmci_resize_window(const bmc_image *image, int32_t out_width, int32_t out_height,
                              int32_t filter, int32_t x0, int32_t y0, int32_t width, int32_t height,
                              bmc_image **out);

/* Pillow's resize of a mode "F" image (32-bit float samples, double sums, no rounding between
 * the passes): `in` is in_width x in_height floats, `out` receives out_width x out_height.
 * Meant for probability masks going back to an image's geometry.
 * Errors: BMC_ERR_INVALID_ARGUMENT, BMC_ERR_OUT_OF_MEMORY. */
bmc_status bmci_resize_f32(const float *in, int32_t in_width, int32_t in_height, float *out,
                           int32_t out_width, int32_t out_height, int32_t filter);

#endif
