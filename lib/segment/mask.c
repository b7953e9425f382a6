/* SPDX-License-Identifier: MIT */
/* Segmentation maps after the decoder: back to the image's own geometry, thresholds and
 * coloured overlays, each reproducing what the Pillow reference (tools/reference/seg_reference.py)
 * computes. */
#include "segment/mask.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image.h"
#include "image/preprocess.h"
#include "image/resize.h"

/* Probabilities are resized with convex weights, so they stay within 0..1. */
#define MASK_FILTER BMC_FILTER_BILINEAR

static int32_t clamp_index(int64_t i, int32_t size)
{
    return i < 0 ? 0 : i >= size ? size - 1 : (int32_t)i;
}

/* The resized image's grid with the map in the crop and the map's edge pixels repeated
 * outside it, so that resizing does not blend the crop's border with made-up values. */
static float *edge_canvas(const float *map, int32_t size, int32_t canvas_w, int32_t canvas_h, int32_t left,
                          int32_t top)
{
    float *canvas = malloc((size_t)canvas_w * (size_t)canvas_h * sizeof *canvas);
    if (!canvas)
        return NULL;
    for (int32_t y = 0; y < canvas_h; y++) {
        const float *row = map + (size_t)clamp_index((int64_t)y - top, size) * (size_t)size;
        float *out = canvas + (size_t)y * (size_t)canvas_w;
        for (int32_t x = 0; x < canvas_w; x++)
            out[x] = row[clamp_index((int64_t)x - left, size)];
    }
    return canvas;
}

/* Whether the centre of pixel i (of `count` across) lands in [start, start + size) of the
 * resized axis of `resized` pixels; double arithmetic in the reference's order. */
static int centre_inside(int32_t i, int32_t count, int32_t resized, int32_t start, int32_t size)
{
    double at = ((double)i + 0.5) * (double)resized / (double)count;
    return at >= (double)start && at < (double)start + (double)size;
}

/* Sets every pixel whose centre falls outside the crop to 0. */
static void clear_outside_crop(float *out, int32_t width, int32_t height, int32_t resized_w, int32_t resized_h,
                               int32_t left, int32_t top, int32_t size)
{
    for (int32_t y = 0; y < height; y++) {
        float *row = out + (size_t)y * (size_t)width;
        int row_inside = centre_inside(y, height, resized_h, top, size);
        for (int32_t x = 0; x < width; x++)
            if (!row_inside || !centre_inside(x, width, resized_w, left, size))
                row[x] = 0.0f;
    }
}

bmc_status bmci_map_to_image(const float *map, const bmc_preprocess_options *pre, int32_t width, int32_t height,
                             float *out)
{
    const int32_t size = pre->image_size;
    if (pre->resize_mode == BMC_RESIZE_SQUASH)
        return bmci_resize_f32(map, size, size, out, width, height, MASK_FILTER);
    int32_t resized_w, resized_h, left, top;
    bmc_status status = bmci_preprocess_plan(width, height, pre, &resized_w, &resized_h, &left, &top);
    if (status != BMC_OK)
        return status;
    float *canvas = edge_canvas(map, size, resized_w, resized_h, left, top);
    if (!canvas)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "segment: no memory for a %dx%d map", resized_w, resized_h);
    status = bmci_resize_f32(canvas, resized_w, resized_h, out, width, height, MASK_FILTER);
    free(canvas);
    if (status == BMC_OK)
        clear_outside_crop(out, width, height, resized_w, resized_h, left, top, size);
    return status;
}

bmc_status bmc_mask_threshold(const float *probabilities, size_t count, float threshold, uint8_t *mask)
{
    if (!probabilities || !mask)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_mask_threshold: NULL argument");
    if (isnan(threshold))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_mask_threshold: threshold is NaN");
    for (size_t i = 0; i < count; i++)
        mask[i] = probabilities[i] > threshold ? 255 : 0; /* NaN compares false: 0 */
    return BMC_OK;
}

/* Pillow's ImagingBlend for 0 <= alpha <= 1: in1 + alpha * (in2 - in1) in float, truncated. */
static uint8_t blend(uint8_t in1, uint8_t in2, float alpha)
{
    return (uint8_t)((float)in1 + alpha * (float)((int)in2 - (int)in1));
}

bmc_status bmc_mask_overlay(const bmc_image *image, const uint8_t *mask, size_t mask_size,
                            const uint8_t color[3], float alpha, uint8_t *rgb, size_t size)
{
    if (!image || !mask || !color || !rgb)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_mask_overlay: NULL argument");
    if (!(alpha >= 0.0f && alpha <= 1.0f))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_mask_overlay: alpha %g is not in 0..1", alpha);
    const size_t pixels = (size_t)image->width * (size_t)image->height;
    if (mask_size < pixels)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_mask_overlay: mask of %zu bytes for a %dx%d image",
                         mask_size, image->width, image->height);
    if (size / 3 < pixels)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "bmc_mask_overlay: buffer of %zu bytes, need %zu", size,
                         pixels * 3);
    bmc_status status = bmc_image_to_rgb8(image, rgb, size);
    if (status != BMC_OK)
        return status;
    for (size_t i = 0; i < pixels; i++)
        if (mask[i])
            for (int c = 0; c < 3; c++)
                rgb[3 * i + (size_t)c] = blend(rgb[3 * i + (size_t)c], color[c], alpha);
    return BMC_OK;
}
