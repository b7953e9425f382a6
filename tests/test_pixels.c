/* SPDX-License-Identifier: MIT */
/* Pixel views and the DICOM grayscale display pipeline. Expected values are worked out by
 * hand from the header's formulas (DICOM PS3.3 C.11.2.1.2.1), the arithmetic in comments:
 *   window (c, w): c' = c - 0.5, h = (w - 1) / 2;
 *   v <= c' - h -> 0, v > c' + h -> 255, else round(((v - c') / (w - 1) + 0.5) * 255). */
#include <math.h>
#include <stdint.h>

#include "biomedclip.h"
#include "harness.h"
#include "image/image.h"

/* Make an image from a view and compare its samples with `expected`. */
static void expect_pixels(const bmc_pixels *view, int32_t mode, const uint8_t *expected, size_t count,
                          const char *what)
{
    bmc_image *image = NULL;
    CHECK_STATUS(bmc_image_from_pixels(view, &image), BMC_OK);
    if (!image)
        return;
    CHECK(image->mode == mode, "%s: mode %d, expected %d", what, image->mode, mode);
    CHECK(image->stride * (size_t)image->height == count, "%s: %zu samples", what, image->stride * (size_t)image->height);
    for (size_t i = 0; i < count && i < image->stride * (size_t)image->height; i++)
        CHECK(image->pixels[i] == expected[i], "%s: sample %zu is %d, expected %d", what, i, image->pixels[i],
              expected[i]);
    bmc_image_free(image);
}

static bmc_pixels view_of(const void *data, int32_t width, int32_t height, int32_t channels, int32_t type)
{
    bmc_pixels p;
    bmc_pixels_init(&p);
    p.data = data;
    p.width = width;
    p.height = height;
    p.channels = channels;
    p.sample_type = type;
    return p;
}

static void test_init(void)
{
    bmc_pixels p;
    memset(&p, 0x55, sizeof p);
    bmc_pixels_init(&p);
    CHECK(p.struct_size == sizeof p && p.data == NULL && p.width == 0 && p.has_rescale == 0 && p.has_window == 0 &&
              p.monochrome1 == 0 && p.row_stride == 0,
          "zeroed");
    CHECK(p.rescale_slope == 1.0 && p.rescale_intercept == 0.0, "slope 1, intercept 0");
    bmc_pixels_init(NULL);
}

static void test_u16_window(void)
{
    /* c = 40, w = 400: c' = 39.5, h = 199.5, edges -160 and 239.
     *   0   -> ((0 - 39.5) / 399 + 0.5) * 255 = 102.26 -> 102
     *   100 -> ((100 - 39.5) / 399 + 0.5) * 255 = 166.17 -> 166
     *   239 -> not above 239: ((199.5) / 399 + 0.5) * 255 = 255
     *   240 -> above 239 -> 255 */
    const uint16_t stored[4] = {0, 100, 239, 240};
    bmc_pixels p = view_of(stored, 2, 2, 1, BMC_SAMPLE_U16);
    p.has_window = 1;
    p.window_center = 40;
    p.window_width = 400;
    const uint8_t expected[4] = {102, 166, 255, 255};
    expect_pixels(&p, BMC_IMAGE_MODE_L, expected, 4, "u16 window");
}

static void test_s16_rescale_window(void)
{
    /* CT: HU = stored * 1 - 1024, window c = 40, w = 400 (edges -160 and 239 as above).
     *   -2000 -> -3024 HU -> 0;   0 -> -1024 HU -> 0
     *   1024  -> 0 HU -> 102;     1064 -> 40 HU -> ((40 - 39.5) / 399 + 0.5) * 255 = 127.82 -> 128
     *   2000  -> 976 HU -> 255;   864 -> -160 HU: at the lower edge -> 0
     *   865   -> -159 HU -> ((-159 - 39.5) / 399 + 0.5) * 255 = 0.64 -> 1 */
    const int16_t stored[8] = {-2000, 0, 1024, 1064, 2000, 864, 865, 0};
    bmc_pixels p = view_of(stored, 4, 2, 1, BMC_SAMPLE_S16);
    p.has_rescale = 1;
    p.rescale_slope = 1.0;
    p.rescale_intercept = -1024.0;
    p.has_window = 1;
    p.window_center = 40;
    p.window_width = 400;
    const uint8_t expected[8] = {0, 0, 102, 128, 255, 0, 1, 0};
    expect_pixels(&p, BMC_IMAGE_MODE_L, expected, 8, "s16 rescale + window");

    /* MONOCHROME1 inverts the result: 255 - y. */
    p.monochrome1 = 1;
    const uint8_t inverted[8] = {255, 255, 153, 127, 0, 255, 254, 255};
    expect_pixels(&p, BMC_IMAGE_MODE_L, inverted, 8, "s16 MONOCHROME1");
}

static void test_stretch_without_window(void)
{
    /* slope 2.5, intercept 10: v = 10, 20, 35, 260; min 10, max 260 -> (v - 10) / 250 * 255:
     *   0, 10.2 -> 10, 25.5 -> 26 (halves round up), 255 */
    const uint16_t stored[4] = {0, 4, 10, 100};
    bmc_pixels p = view_of(stored, 4, 1, 1, BMC_SAMPLE_U16);
    p.has_rescale = 1;
    p.rescale_slope = 2.5;
    p.rescale_intercept = 10.0;
    const uint8_t expected[4] = {0, 10, 26, 255};
    expect_pixels(&p, BMC_IMAGE_MODE_L, expected, 4, "u16 stretch");

    /* A constant image gives 0 (and 255 with MONOCHROME1). */
    const uint16_t flat[3] = {77, 77, 77};
    bmc_pixels q = view_of(flat, 3, 1, 1, BMC_SAMPLE_U16);
    const uint8_t zeros[3] = {0, 0, 0};
    expect_pixels(&q, BMC_IMAGE_MODE_L, zeros, 3, "constant");
}

static void test_window_width_one(void)
{
    /* w = 1: c' = 99.5, h = 0: v <= 99.5 -> 0, v > 99.5 -> 255, nothing in between. */
    const uint16_t stored[2] = {99, 100};
    bmc_pixels p = view_of(stored, 2, 1, 1, BMC_SAMPLE_U16);
    p.has_window = 1;
    p.window_center = 100;
    p.window_width = 1;
    const uint8_t expected[2] = {0, 255};
    expect_pixels(&p, BMC_IMAGE_MODE_L, expected, 2, "window width 1");
}

static void test_f32(void)
{
    /* c = 0.5, w = 4: c' = 0, h = 1.5, edges -1.5 and 1.5.
     *   -1.5 -> 0 (at the edge); 0.25 -> (0.25 / 3 + 0.5) * 255 = 148.75 -> 149;
     *   NaN -> 0; 3 -> 255; +inf -> 255; -inf -> 0 */
    const float stored[6] = {-1.5f, 0.25f, NAN, 3.0f, INFINITY, -INFINITY};
    bmc_pixels p = view_of(stored, 3, 2, 1, BMC_SAMPLE_F32);
    p.has_window = 1;
    p.window_center = 0.5;
    p.window_width = 4;
    const uint8_t expected[6] = {0, 149, 0, 255, 255, 0};
    expect_pixels(&p, BMC_IMAGE_MODE_L, expected, 6, "f32 window");

    /* No window: finite min -1.5, max 3 -> (v + 1.5) / 4.5 * 255: 0, 1.75 / 4.5 * 255 = 99.17 -> 99,
     * NaN -> 0, 255, +inf -> 255, -inf -> 0. MONOCHROME1 inverts all but NaN. */
    p.has_window = 0;
    const uint8_t stretched[6] = {0, 99, 0, 255, 255, 0};
    expect_pixels(&p, BMC_IMAGE_MODE_L, stretched, 6, "f32 stretch");
    p.monochrome1 = 1;
    const uint8_t inverted[6] = {255, 156, 0, 0, 0, 255};
    expect_pixels(&p, BMC_IMAGE_MODE_L, inverted, 6, "f32 stretch MONOCHROME1");
}

static void test_channels(void)
{
    /* 3-channel u16 without a window: one min/max for the whole view (0 and 250), so colours
     * keep their balance: v * 255 / 250 -> 0, 102, 204, 51, 153, 255. MONOCHROME1 applies to
     * 1-channel views only. */
    const uint16_t rgb16[6] = {0, 100, 200, 50, 150, 250};
    bmc_pixels p = view_of(rgb16, 2, 1, 3, BMC_SAMPLE_U16);
    p.monochrome1 = 1;
    const uint8_t expected[6] = {0, 102, 204, 51, 153, 255};
    expect_pixels(&p, BMC_IMAGE_MODE_RGB, expected, 6, "u16 RGB stretch");

    /* 8-bit views are copied as they are; the pipeline fields are ignored. */
    const uint8_t rgba[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    bmc_pixels q = view_of(rgba, 2, 1, 4, BMC_SAMPLE_U8);
    q.has_window = 1;
    q.window_width = 0; /* would be invalid for a wider type */
    q.monochrome1 = 1;
    expect_pixels(&q, BMC_IMAGE_MODE_RGBA, rgba, 8, "u8 RGBA");
    q.channels = 3;
    q.width = 2;
    const uint8_t rgb_expected[6] = {1, 2, 3, 4, 5, 6};
    expect_pixels(&q, BMC_IMAGE_MODE_RGB, rgb_expected, 6, "u8 RGB");

    /* An 8-bit gray MONOCHROME1 view is inverted: 255 - v -> 254, 253, 252, 251. */
    const uint8_t gray[4] = {1, 2, 3, 4};
    bmc_pixels g = view_of(gray, 4, 1, 1, BMC_SAMPLE_U8);
    g.monochrome1 = 1;
    const uint8_t gray_inverted[4] = {254, 253, 252, 251};
    expect_pixels(&g, BMC_IMAGE_MODE_L, gray_inverted, 4, "u8 gray MONOCHROME1");

    /* RGB to RGB8 through the image API. */
    bmc_image *image = NULL;
    CHECK_STATUS(bmc_image_from_pixels(&q, &image), BMC_OK);
    uint8_t out[6] = {0};
    CHECK_STATUS(bmc_image_to_rgb8(image, out, sizeof out), BMC_OK);
    CHECK(memcmp(out, rgb_expected, 6) == 0, "to_rgb8");
    bmc_image_free(image);
}

static void test_strides(void)
{
    /* 3 x 2 u8 with rows 5 bytes apart (padded). */
    const uint8_t padded[10] = {1, 2, 3, 99, 99, 4, 5, 6, 99, 99};
    bmc_pixels p = view_of(padded, 3, 2, 1, BMC_SAMPLE_U8);
    p.row_stride = 5;
    const uint8_t expected[6] = {1, 2, 3, 4, 5, 6};
    expect_pixels(&p, BMC_IMAGE_MODE_L, expected, 6, "padded stride");

    /* Negative stride: data points at the last row in memory, which is read first. */
    p.data = padded + 5;
    p.row_stride = -5;
    const uint8_t flipped[6] = {4, 5, 6, 1, 2, 3};
    expect_pixels(&p, BMC_IMAGE_MODE_L, flipped, 6, "negative stride");

    /* u16 rows 7 bytes apart: the second row starts at an odd address. Window c = 128.5,
     * w = 256: c' = 128, h = 127.5, edges 0.5 and 255.5; 255 -> ((255 - 128) / 255 + 0.5) * 255
     * = 254.5 -> 255 (halves up), 1 -> ((1 - 128) / 255 + 0.5) * 255 = 0.5 -> 1, 0 -> 0. */
    uint8_t bytes[14] = {0};
    const uint16_t row0[3] = {0, 1, 255}, row1[3] = {255, 1, 0};
    memcpy(bytes, row0, 6);
    memcpy(bytes + 7, row1, 6);
    bmc_pixels q = view_of(bytes, 3, 2, 1, BMC_SAMPLE_U16);
    q.row_stride = 7;
    q.has_window = 1;
    q.window_center = 128.5;
    q.window_width = 256;
    const uint8_t unaligned[6] = {0, 1, 255, 255, 1, 0};
    expect_pixels(&q, BMC_IMAGE_MODE_L, unaligned, 6, "odd stride u16");

    /* A stride shorter than a row, either way, is refused. */
    bmc_image *image = NULL;
    p.data = padded;
    p.row_stride = 2;
    CHECK_STATUS(bmc_image_from_pixels(&p, &image), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "row_stride") != NULL, "message names the field: %s", bmc_last_error());
    p.row_stride = -2;
    CHECK_STATUS(bmc_image_from_pixels(&p, &image), BMC_ERR_INVALID_ARGUMENT);
    CHECK(image == NULL, "out untouched");
}

static void test_bad_views(void)
{
    const uint16_t data[4] = {0};
    bmc_image *image = NULL;
    bmc_pixels good = view_of(data, 2, 2, 1, BMC_SAMPLE_U16);
    CHECK_STATUS(bmc_image_from_pixels(NULL, &image), BMC_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(bmc_image_from_pixels(&good, NULL), BMC_ERR_INVALID_ARGUMENT);

    bmc_pixels p = good;
    p.struct_size = 8;
    CHECK_STATUS(bmc_image_from_pixels(&p, &image), BMC_ERR_INVALID_ARGUMENT);
    p = good, p.data = NULL;
    CHECK_STATUS(bmc_image_from_pixels(&p, &image), BMC_ERR_INVALID_ARGUMENT);
    p = good, p.width = 0;
    CHECK_STATUS(bmc_image_from_pixels(&p, &image), BMC_ERR_INVALID_ARGUMENT);
    p = good, p.height = -3;
    CHECK_STATUS(bmc_image_from_pixels(&p, &image), BMC_ERR_INVALID_ARGUMENT);
    p = good, p.channels = 2;
    CHECK_STATUS(bmc_image_from_pixels(&p, &image), BMC_ERR_INVALID_ARGUMENT);
    p = good, p.sample_type = 9;
    CHECK_STATUS(bmc_image_from_pixels(&p, &image), BMC_ERR_INVALID_ARGUMENT);
    p = good, p.has_window = 1, p.window_center = 10, p.window_width = 0.5;
    CHECK_STATUS(bmc_image_from_pixels(&p, &image), BMC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(bmc_last_error(), "window_width") != NULL, "message: %s", bmc_last_error());
    p = good, p.has_window = 1, p.window_center = INFINITY, p.window_width = 10;
    CHECK_STATUS(bmc_image_from_pixels(&p, &image), BMC_ERR_INVALID_ARGUMENT);
    p = good, p.has_rescale = 1, p.rescale_slope = NAN;
    CHECK_STATUS(bmc_image_from_pixels(&p, &image), BMC_ERR_INVALID_ARGUMENT);
    /* Unused fields are not judged: a NaN slope without has_rescale is fine. */
    p = good, p.rescale_slope = NAN;
    CHECK_STATUS(bmc_image_from_pixels(&p, &image), BMC_OK);
    bmc_image_free(image);
    image = NULL;

    /* Over the size limits: refused before the data is read (the view claims far more rows
     * than `data` holds). */
    p = good, p.width = 70000;
    CHECK_STATUS(bmc_image_from_pixels(&p, &image), BMC_ERR_LIMIT);
    p = good, p.width = 60000, p.height = 60000;
    CHECK_STATUS(bmc_image_from_pixels(&p, &image), BMC_ERR_LIMIT);
    CHECK(image == NULL, "out untouched");
}

int main(void)
{
    RUN(test_init);
    RUN(test_u16_window);
    RUN(test_s16_rescale_window);
    RUN(test_stretch_without_window);
    RUN(test_window_width_one);
    RUN(test_f32);
    RUN(test_channels);
    RUN(test_strides);
    RUN(test_bad_views);
    return harness_summary("test_pixels");
}
