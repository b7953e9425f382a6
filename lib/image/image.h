/* SPDX-License-Identifier: MIT */
/* Internal: the bmc_image handle and the per-mode helpers shared by the decoders, the pixel
 * views, the resampler and the preprocessing. */
#ifndef BMC_LIB_IMAGE_H
#define BMC_LIB_IMAGE_H

#include "biomedclip.h"

/* An image laid out the way Pillow 9.4 holds it after opening a file, but packed: `bands`
 * samples per pixel, rows `stride` bytes apart, top row first. Mode I holds one int32_t per
 * pixel; every other mode one byte per sample (mode 1 as 0/255, LA as L then A, P as indices). */
struct bmc_image {
    int32_t width;
    int32_t height;
    int32_t mode;             /* BMC_IMAGE_MODE_* */
    int32_t bands;            /* 1 (1, L, P, I), 2 (LA), 3 (RGB), 4 (RGBA, CMYK) */
    size_t stride;            /* bytes per row */
    uint8_t *pixels;
    uint8_t palette[256 * 3]; /* mode P only: RGB triples; Pillow's grey ramp past the file's entries */
};

/* Samples per pixel and bytes per sample of a mode; 0 for an unknown mode. */
int32_t bmci_mode_bands(int32_t mode);
int32_t bmci_mode_sample_bytes(int32_t mode);

/* A short name for a mode ("RGB", "I", ...), "?" if unknown. */
const char *bmci_mode_name(int32_t mode);

/* Allocate an image with uninitialised pixels and the grey-ramp palette. The caller has
 * already checked the size against the configured limits where the size comes from input.
 * Errors: BMC_ERR_INVALID_ARGUMENT (unknown mode, size < 1), BMC_ERR_OUT_OF_MEMORY. */
bmc_status bmci_image_new(int32_t mode, int32_t width, int32_t height, bmc_image **out);

/* Row `y` of the image converted to RGB as Pillow's convert('RGB') does, 3 * width bytes. */
void bmci_image_row_to_rgb8(const bmc_image *image, int32_t y, uint8_t *rgb);

/* Row y as one byte per pixel, for the modes whose RGB conversion gives R = G = B (1, L, LA, I):
 * that byte. Returns 0, writing nothing, for the other modes. */
int bmci_image_row_to_grey8(const bmc_image *image, int32_t y, uint8_t *grey);

/* Pillow's MULDIV255: a * b / 255 rounded, in integers, for a, b in 0..255. */
static inline uint32_t bmci_muldiv255(uint32_t a, uint32_t b)
{
    uint32_t t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

/* The VOI LUT functions of the display pipeline (PS3.3 C.11.2.1.2-3), or a stretch of the
 * values' own finite minimum..maximum. */
#define BMCI_VOI_STRETCH      0
#define BMCI_VOI_LINEAR       1
#define BMCI_VOI_LINEAR_EXACT 2
#define BMCI_VOI_SIGMOID      3

/* The VOI and presentation steps of the display pipeline, after the modality LUT. */
typedef struct bmci_display {
    int32_t voi_function;     /* BMCI_VOI_* */
    double window_center;     /* unless BMCI_VOI_STRETCH; width >= 1 for LINEAR, > 0 otherwise */
    double window_width;
    int32_t monochrome1;      /* invert (1-channel only) */
} bmci_display;

/* Make an 8-bit L (1 channel) or RGB (3 channels, interleaved) image from modality values,
 * `width * height * channels` doubles, through the VOI LUT and MONOCHROME1 inversion of
 * bmc_image_from_pixels(). Checks the size limits. Errors: BMC_ERR_INVALID_ARGUMENT,
 * BMC_ERR_LIMIT, BMC_ERR_OUT_OF_MEMORY. */
bmc_status bmci_image_from_values(const double *values, int32_t width, int32_t height,
                                  int32_t channels, const bmci_display *display, bmc_image **out);

#endif
