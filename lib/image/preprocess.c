/* SPDX-License-Identifier: MIT */
/* open_clip's inference transform for BiomedCLIP, bit for bit:
 *   torchvision Resize(size, BICUBIC) on the shortest side (or a squash to size x size),
 *   CenterCrop(size), convert('RGB'), ToTensor (x / 255), Normalize((x - mean) / std),
 * with Pillow 9.4 doing the resize, crop and conversion and torch the float32 arithmetic. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/preprocess.h"

#include "core/error.h"
#include "image/image.h"
#include "image/normalize_simd.h"
#include "image/resize.h"

/* Largest accepted image_size: the output is image_size^2 pixels. */
#define MAX_IMAGE_SIZE 4096

void bmc_preprocess_options_init(bmc_preprocess_options *options)
{
    if (!options)
        return;
    *options = (bmc_preprocess_options){
        .struct_size = sizeof *options,
        .image_size = 224,
        .resize_mode = BMC_RESIZE_SHORTEST_CROP,
        .filter = BMC_FILTER_BICUBIC,
        .mean = {0.48145466f, 0.4578275f, 0.40821073f},
        .std = {0.26862954f, 0.26130258f, 0.27577711f},
    };
}

static bmc_status check_options(const bmc_preprocess_options *o, const char *fn)
{
    if (o->struct_size != sizeof *o)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT,
                         "%s: options struct_size %zu is not sizeof(bmc_preprocess_options) %zu "
                         "(call bmc_preprocess_options_init first)", fn, o->struct_size, sizeof *o);
    if (o->image_size < 1 || o->image_size > MAX_IMAGE_SIZE)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: image_size %d is outside 1..%d", fn, o->image_size,
                         MAX_IMAGE_SIZE);
    if (o->resize_mode != BMC_RESIZE_SHORTEST_CROP && o->resize_mode != BMC_RESIZE_SQUASH)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: unknown resize_mode %d", fn, o->resize_mode);
    if (o->filter != BMC_FILTER_NEAREST && o->filter != BMC_FILTER_BILINEAR && o->filter != BMC_FILTER_BICUBIC)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: unknown filter %d", fn, o->filter);
    for (int c = 0; c < 3; c++)
        if (!isfinite(o->mean[c]) || !isfinite(o->std[c]) || o->std[c] == 0.0f)
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: mean[%d] = %g, std[%d] = %g (need finite, std non-zero)",
                             fn, c, o->mean[c], c, o->std[c]);
    return BMC_OK;
}

/* Python's round() on a half-integer d / 2 (d >= 0): halves go to the even neighbour. */
static int64_t half_round_even(int64_t d)
{
    int64_t q = d / 2;
    return (d % 2 == 1 && q % 2 == 1) ? q + 1 : q;
}

bmc_status bmci_preprocess_plan(int32_t width, int32_t height, const bmc_preprocess_options *o, int32_t *out_w,
                                int32_t *out_h, int32_t *left, int32_t *top)
{
    int64_t size = o->image_size, w = width, h = height;
    int64_t new_w = size, new_h = size;
    if (o->resize_mode == BMC_RESIZE_SHORTEST_CROP) {
        int64_t shorter = w <= h ? w : h, longer = w <= h ? h : w;
        if (shorter == size) {
            new_w = w; /* torchvision leaves the image alone */
            new_h = h;
        } else {
            /* Python: int(size * long / short), a true division in double, truncated */
            int64_t new_long = (int64_t)((double)(size * longer) / (double)shorter);
            new_w = w <= h ? size : new_long;
            new_h = w <= h ? new_long : size;
        }
    }
    if (new_w > INT32_MAX || new_h > INT32_MAX)
        return bmci_fail(BMC_ERR_LIMIT, "preprocess: resizing %dx%d gives a side over 2^31", width, height);
    *out_w = (int32_t)new_w;
    *out_h = (int32_t)new_h;
    /* CenterCrop: int(round((H - size) / 2.0)); never negative since both sides >= size */
    *left = (int32_t)half_round_even(new_w - size);
    *top = (int32_t)half_round_even(new_h - size);
    return BMC_OK;
}

/* open_clip's resize and centre crop: the size x size image that convert('RGB') then takes. */
static bmc_status preprocess_crop(const bmc_image *image, const bmc_preprocess_options *o, bmc_image **crop)
{
    int32_t out_w = 0, out_h = 0, left = 0, top = 0, size = o->image_size;
    bmc_status status = bmci_preprocess_plan(image->width, image->height, o, &out_w, &out_h, &left, &top);
    if (status != BMC_OK)
        return status;
    return bmci_resize_window(image, out_w, out_h, o->filter, left, top, size, size, crop);
}

static bmc_status preprocess_rgb8(const bmc_image *image, const bmc_preprocess_options *o, uint8_t *rgb)
{
    bmc_image *crop = NULL;
    bmc_status status = preprocess_crop(image, o, &crop);
    if (status != BMC_OK)
        return status;
    for (int32_t y = 0; y < crop->height; y++)
        bmci_image_row_to_rgb8(crop, y, rgb + (size_t)y * (size_t)crop->width * 3);
    bmc_image_free(crop);
    return BMC_OK;
}

/* Validate the common arguments and resolve NULL options to the defaults. */
static bmc_status prepare(const bmc_image *image, const bmc_preprocess_options **options,
                          bmc_preprocess_options *defaults, const void *buffer, const char *fn)
{
    if (!image || !buffer)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, image ? "output buffer" : "image");
    if (!*options) {
        bmc_preprocess_options_init(defaults);
        *options = defaults;
    }
    return check_options(*options, fn);
}

bmc_status bmc_preprocess_rgb8(const bmc_image *image, const bmc_preprocess_options *options, uint8_t *rgb,
                               size_t size)
{
    bmc_preprocess_options defaults;
    bmc_status status = prepare(image, &options, &defaults, rgb, "bmc_preprocess_rgb8");
    if (status != BMC_OK)
        return status;
    size_t needed = (size_t)options->image_size * (size_t)options->image_size * 3;
    if (size < needed)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "bmc_preprocess_rgb8: buffer of %zu bytes, need %zu", size,
                         needed);
    return preprocess_rgb8(image, options, rgb);
}

bmc_status bmc_preprocess(const bmc_image *image, const bmc_preprocess_options *options, float *tensor,
                          size_t count)
{
    bmc_preprocess_options defaults;
    bmc_status status = prepare(image, &options, &defaults, tensor, "bmc_preprocess");
    if (status != BMC_OK)
        return status;
    size_t plane = (size_t)options->image_size * (size_t)options->image_size;
    if (count < 3 * plane)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "bmc_preprocess: tensor of %zu floats, need %zu", count,
                         3 * plane);
    bmc_image *crop = NULL;
    status = preprocess_crop(image, options, &crop);
    if (status != BMC_OK)
        return status;
    int32_t size = options->image_size;
    size_t pixels = (size_t)size * (size_t)size;
    uint8_t *bytes = malloc(pixels * 3); /* the crop's bytes, grey or RGB */
    if (!bytes) {
        bmc_image_free(crop);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_preprocess: cannot allocate %zu bytes", pixels * 3);
    }
    /* A grey crop (convert('RGB') gives R = G = B) goes as one byte a pixel, without making its
     * RGB bytes. */
    int stride = bmci_image_row_to_grey8(crop, 0, bytes) ? 1 : 3;
    for (int32_t y = 0; y < size; y++) {
        uint8_t *row = bytes + (size_t)y * (size_t)size * (size_t)stride;
        if (stride == 1)
            bmci_image_row_to_grey8(crop, y, row);
        else
            bmci_image_row_to_rgb8(crop, y, row);
    }
    bmc_image_free(crop);
    /* torchvision in float32, one rounding per operation: x / 255, then - mean, then / std.
     * A byte has 256 values, so each channel's results are a table computed that way. */
    float table[3][256];
    for (int c = 0; c < 3; c++)
        for (int x = 0; x < 256; x++) {
            float v = (float)x / 255.0f;
            v = v - options->mean[c];
            table[c][x] = v / options->std[c];
        }
    float *const planes[3] = {tensor, tensor + plane, tensor + 2 * plane};
    if (!bmci_normalize_simd(bytes, pixels, stride, table, options->mean, options->std, planes))
        for (size_t i = 0; i < pixels; i++)
            for (int c = 0; c < 3; c++)
                planes[c][i] = table[c][bytes[i * (size_t)stride + (stride == 3 ? (size_t)c : 0)]];
    free(bytes);
    return status;
}
