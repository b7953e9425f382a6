/* SPDX-License-Identifier: MIT */
/* Images from caller-owned pixel views, with the DICOM grayscale display pipeline for samples
 * wider than 8 bits: modality LUT (rescale), the linear VOI LUT of DICOM PS3.3 C.11.2.1.2.1,
 * MONOCHROME1 inversion. The arithmetic is in double precision. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "image/image.h"
#include "core/runtime.h"

void bmc_pixels_init(bmc_pixels *pixels)
{
    if (!pixels)
        return;
    memset(pixels, 0, sizeof *pixels);
    pixels->struct_size = sizeof *pixels;
    pixels->rescale_slope = 1.0;
    pixels->rescale_intercept = 0.0;
}

static int32_t sample_size(int32_t type)
{
    switch (type) {
    case BMC_SAMPLE_U8: return 1;
    case BMC_SAMPLE_U16:
    case BMC_SAMPLE_S16: return 2;
    case BMC_SAMPLE_F32: return 4;
    default: return 0;
    }
}

/* The first sample of row y, walking by the signed stride. */
static const uint8_t *view_row(const bmc_pixels *p, int64_t stride, int32_t y)
{
    return (const uint8_t *)p->data + (ptrdiff_t)y * (ptrdiff_t)stride;
}

/* Sample i of a row, after the modality LUT. Samples may be unaligned: read with memcpy. */
static double modality_value(const bmc_pixels *p, const uint8_t *row, size_t i)
{
    double v;
    if (p->sample_type == BMC_SAMPLE_U16) {
        uint16_t s;
        memcpy(&s, row + 2 * i, sizeof s);
        v = s;
    } else if (p->sample_type == BMC_SAMPLE_S16) {
        int16_t s;
        memcpy(&s, row + 2 * i, sizeof s);
        v = s;
    } else {
        float s;
        memcpy(&s, row + 4 * i, sizeof s);
        v = s;
    }
    return p->has_rescale ? v * p->rescale_slope + p->rescale_intercept : v;
}

/* The VOI LUT: one of the window functions of PS3.3 C.11.2.1.2-3 with output 0..255, or a
 * stretch of [lo, hi] onto 0..255. NaN becomes 0; the caller applies MONOCHROME1. */
struct voi {
    int function;         /* BMCI_VOI_* */
    double center, width; /* window */
    double lo, hi;        /* stretch */
};

/* apply_voi's value where its exact-rounding forms overflow (windows wider than about 1e306,
 * stretches of ranges wider than DBL_MAX): the same function, computed so that no step leaves
 * the doubles; never NaN. The fuzzer found the overflow (a NaN cast to uint8_t). */
static double voi_wide(const struct voi *voi, double v)
{
    double y;
    if (voi->function == BMCI_VOI_LINEAR)
        y = ((v - (voi->center - 0.5)) / (voi->width - 1.0) + 0.5) * 255.0;
    else if (voi->function == BMCI_VOI_LINEAR_EXACT)
        y = ((v - voi->center) / voi->width + 0.5) * 255.0;
    else if (voi->function == BMCI_VOI_STRETCH)
        y = (v / 2.0 - voi->lo / 2.0) / (voi->hi / 2.0 - voi->lo / 2.0) * 255.0;
    else
        y = 0.0; /* the sigmoid saturates instead of overflowing */
    return isnan(y) ? 0.0 : y;
}

static uint8_t apply_voi(const struct voi *voi, double v)
{
    if (isnan(v))
        return 0;
    double y;
    if (voi->function == BMCI_VOI_LINEAR) {
        double c = voi->center - 0.5, half = (voi->width - 1.0) / 2.0;
        if (v <= c - half)
            return 0;
        if (v > c + half)
            return 255; /* also when width is 1: then no value falls in between */
        /* ((v - c') / (w - 1) + 0.5) * 255 with a single rounding at the division, so that
         * results that are exactly halves stay exact and round up */
        y = (255.0 * (v - c) + 127.5 * (voi->width - 1.0)) / (voi->width - 1.0);
    } else if (voi->function == BMCI_VOI_LINEAR_EXACT) {
        if (v <= voi->center - voi->width / 2.0)
            return 0;
        if (v > voi->center + voi->width / 2.0)
            return 255;
        y = ((v - voi->center) / voi->width + 0.5) * 255.0;
    } else if (voi->function == BMCI_VOI_SIGMOID) {
        y = 255.0 / (1.0 + exp(-4.0 * (v - voi->center) / voi->width));
    } else {
        if (v <= voi->lo || !(voi->hi > voi->lo))
            return 0;
        if (v >= voi->hi)
            return 255;
        y = (v - voi->lo) * 255.0 / (voi->hi - voi->lo);
    }
    if (!isfinite(y))
        y = voi_wide(voi, v);
    y = floor(y + 0.5);
    return (uint8_t)(y < 0.0 ? 0.0 : y > 255.0 ? 255.0 : y);
}

/* The finite minimum and maximum of the view after rescale (hi < lo when there are none). */
static void finite_range(const bmc_pixels *p, int64_t stride, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    size_t samples = (size_t)p->width * (size_t)p->channels;
    for (int32_t y = 0; y < p->height; y++) {
        const uint8_t *row = view_row(p, stride, y);
        for (size_t i = 0; i < samples; i++) {
            double v = modality_value(p, row, i);
            if (isfinite(v)) {
                *lo = v < *lo ? v : *lo;
                *hi = v > *hi ? v : *hi;
            }
        }
    }
}

static void display_pipeline(const bmc_pixels *p, int64_t stride, bmc_image *image)
{
    struct voi voi = {p->has_window ? BMCI_VOI_LINEAR : BMCI_VOI_STRETCH, p->window_center,
                      p->window_width, 0.0, 0.0};
    if (voi.function == BMCI_VOI_STRETCH)
        finite_range(p, stride, &voi.lo, &voi.hi);
    int invert = p->monochrome1 && p->channels == 1;
    size_t samples = (size_t)p->width * (size_t)p->channels;
    for (int32_t y = 0; y < p->height; y++) {
        const uint8_t *row = view_row(p, stride, y);
        uint8_t *out = image->pixels + (size_t)y * image->stride;
        for (size_t i = 0; i < samples; i++) {
            double v = modality_value(p, row, i);
            uint8_t display = apply_voi(&voi, v);
            out[i] = invert && !isnan(v) ? (uint8_t)(255 - display) : display;
        }
    }
}

static bmc_status check_view(const bmc_pixels *p, int64_t *stride)
{
    if (p->struct_size != sizeof *p)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT,
                         "bmc_image_from_pixels: struct_size %zu is not sizeof(bmc_pixels) %zu "
                         "(call bmc_pixels_init first)", p->struct_size, sizeof *p);
    if (!p->data)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_image_from_pixels: data is NULL");
    if (p->width < 1 || p->height < 1)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_image_from_pixels: size %dx%d is empty",
                         p->width, p->height);
    if (p->channels != 1 && p->channels != 3 && p->channels != 4)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_image_from_pixels: %d channels (need 1, 3 or 4)",
                         p->channels);
    if (sample_size(p->sample_type) == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_image_from_pixels: unknown sample type %d",
                         p->sample_type);
    int64_t row_bytes = (int64_t)p->width * p->channels * sample_size(p->sample_type);
    *stride = p->row_stride ? p->row_stride : row_bytes;
    if (*stride < row_bytes && -*stride < row_bytes)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT,
                         "bmc_image_from_pixels: row_stride %lld is shorter than a row of %lld bytes",
                         (long long)p->row_stride, (long long)row_bytes);
    if (p->sample_type == BMC_SAMPLE_U8)
        return BMC_OK; /* the display pipeline does not apply */
    if (p->has_rescale && (!isfinite(p->rescale_slope) || !isfinite(p->rescale_intercept)))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_image_from_pixels: rescale slope/intercept not finite");
    if (p->has_window && (!isfinite(p->window_center) || !isfinite(p->window_width)))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_image_from_pixels: window centre/width not finite");
    if (p->has_window && p->window_width < 1.0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_image_from_pixels: window_width %g is below 1",
                         p->window_width);
    return BMC_OK;
}

bmc_status bmc_image_from_pixels(const bmc_pixels *pixels, bmc_image **out)
{
    if (!pixels || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_image_from_pixels: %s is NULL", pixels ? "out" : "pixels");
    int64_t stride = 0;
    bmc_status status = check_view(pixels, &stride);
    if (status == BMC_OK)
        status = bmci_check_image_size("pixels", pixels->width, pixels->height);
    if (status != BMC_OK)
        return status;
    static const int32_t modes[5] = {0, BMC_IMAGE_MODE_L, 0, BMC_IMAGE_MODE_RGB, BMC_IMAGE_MODE_RGBA};
    bmc_image *image = NULL;
    status = bmci_image_new(modes[pixels->channels], pixels->width, pixels->height, &image);
    if (status != BMC_OK)
        return status;
    if (pixels->sample_type == BMC_SAMPLE_U8) {
        /* 8-bit data is display-ready, but MONOCHROME1 still means white is 0. */
        int invert = pixels->monochrome1 && pixels->channels == 1;
        for (int32_t y = 0; y < pixels->height; y++) {
            uint8_t *row = image->pixels + (size_t)y * image->stride;
            memcpy(row, view_row(pixels, stride, y), image->stride);
            for (size_t x = 0; invert && x < image->stride; x++)
                row[x] = (uint8_t)(255 - row[x]);
        }
    } else {
        display_pipeline(pixels, stride, image);
    }
    *out = image;
    return BMC_OK;
}

bmc_status bmci_image_from_values(const double *values, int32_t width, int32_t height,
                                  int32_t channels, const bmci_display *display, bmc_image **out)
{
    if (channels != 1 && channels != 3)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "image: %d channels (need 1 or 3)", channels);
    bmc_status status = bmci_check_image_size("pixels", width, height);
    if (status != BMC_OK)
        return status;
    size_t count = (size_t)width * (size_t)height * (size_t)channels;
    struct voi voi = {display->voi_function, display->window_center, display->window_width, INFINITY, -INFINITY};
    if (voi.function == BMCI_VOI_STRETCH)
        for (size_t i = 0; i < count; i++)
            if (isfinite(values[i])) {
                voi.lo = values[i] < voi.lo ? values[i] : voi.lo;
                voi.hi = values[i] > voi.hi ? values[i] : voi.hi;
            }
    bmc_image *image = NULL;
    status = bmci_image_new(channels == 1 ? BMC_IMAGE_MODE_L : BMC_IMAGE_MODE_RGB, width, height, &image);
    if (status != BMC_OK)
        return status;
    int invert = display->monochrome1 && channels == 1;
    for (size_t i = 0; i < count; i++) {
        uint8_t y = apply_voi(&voi, values[i]);
        image->pixels[i] = invert && !isnan(values[i]) ? (uint8_t)(255 - y) : y;
    }
    *out = image;
    return BMC_OK;
}
