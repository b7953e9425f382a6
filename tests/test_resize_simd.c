/* SPDX-License-Identifier: MIT */
/* The SIMD resampling kernels against the portable passes, their reference (which
 * test_preprocess and test_image compare with Pillow): random images of many sizes, with 1 to
 * 4 bands, odd widths, widths below the vector width, upscales, downscales, one-axis resizes and
 * windows must give the same bytes both ways. The portable path is forced through
 * bmci_resize_force_portable, so both run whatever the CPU. */
#include <stdint.h>

#include "biomedclip.h"
#include "harness.h"
#include "image/image.h"
#include "image/resize.h"
#include "image/resize_simd.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Random samples; every third image gets smooth content with extremes, where clipping and the
 * negative lobes of the bicubic kernel matter. */
static bmc_image *random_image(int32_t mode, int32_t width, int32_t height, int smooth)
{
    bmc_image *image = NULL;
    CHECK_STATUS(bmci_image_new(mode, width, height, &image), BMC_OK);
    if (!image)
        return NULL;
    for (int32_t y = 0; y < height; y++)
        for (size_t x = 0; x < (size_t)width * (size_t)image->bands; x++) {
            uint8_t v = (uint8_t)next_random();
            if (smooth)
                v = ((x / (size_t)image->bands + (size_t)y) / 3) % 2 ? 255 : 0;
            image->pixels[(size_t)y * image->stride + x] = v;
        }
    return image;
}

static int images_compared, windows_differing;

/* Resize (a window of) `image` both ways and compare the bytes. */
static void compare_at_level(int level, const bmc_image *image, int32_t out_w, int32_t out_h, int32_t filter,
                             int32_t x0, int32_t y0, int32_t w, int32_t h)
{
    bmc_image *fast = NULL, *portable = NULL;
    int previous = bmci_resize_limit_simd(level);
    CHECK_STATUS(bmci_resize_window(image, out_w, out_h, filter, x0, y0, w, h, &fast), BMC_OK);
    bmci_resize_force_portable(1);
    CHECK_STATUS(bmci_resize_window(image, out_w, out_h, filter, x0, y0, w, h, &portable), BMC_OK);
    bmci_resize_limit_simd(previous);
    if (fast && portable) {
        size_t differ = 0;
        for (int32_t y = 0; y < h; y++)
            differ += memcmp(fast->pixels + (size_t)y * fast->stride, portable->pixels + (size_t)y * portable->stride,
                             (size_t)w * (size_t)fast->bands) != 0;
        CHECK(differ == 0, "level %d: %s %dx%d -> %dx%d (filter %d, window %dx%d at %d,%d): %zu rows differ", level,
              bmci_mode_name(image->mode), image->width, image->height, out_w, out_h, filter, w, h, x0, y0, differ);
        windows_differing += differ != 0;
        images_compared++;
    }
    bmc_image_free(fast);
    bmc_image_free(portable);
}

/* Every kernel set the CPU has (AVX2 alone too) against the portable passes. */
static void compare(const bmc_image *image, int32_t out_w, int32_t out_h, int32_t filter, int32_t x0, int32_t y0,
                    int32_t w, int32_t h)
{
    int previous = bmci_resize_limit_simd(3);
    int top = bmci_resize_simd_level();
    bmci_resize_limit_simd(previous);
    for (int level = 1; level <= top; level++)
        compare_at_level(level, image, out_w, out_h, filter, x0, y0, w, h);
}

static void test_random_images(void)
{
    static const int32_t modes[] = {BMC_IMAGE_MODE_L, BMC_IMAGE_MODE_LA, BMC_IMAGE_MODE_RGB, BMC_IMAGE_MODE_RGBA,
                                    BMC_IMAGE_MODE_CMYK};
    static const int32_t sides[] = {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 64, 97, 224, 301};
    static const int32_t filters[] = {BMC_FILTER_BICUBIC, BMC_FILTER_BILINEAR};
    size_t n_sides = sizeof sides / sizeof *sides;
    int count = 0;
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++)
        for (size_t i = 0; i < n_sides; i++) {
            int32_t width = sides[i], height = sides[(i * 7 + m) % n_sides];
            bmc_image *image = random_image(modes[m], width, height, count++ % 3 == 0);
            if (!image)
                continue;
            /* downscale, upscale, each axis alone, the preprocessing's shortest-side sizes */
            int32_t targets[][2] = {{(width + 2) / 3, (height + 1) / 2}, {width * 2 + 1, height * 3},
                                    {width + 5, height},                 {width, height + 7},
                                    {224, 224},                          {(width + 6) / 7, height * 5 + 3}};
            for (size_t t = 0; t < sizeof targets / sizeof *targets; t++)
                for (size_t f = 0; f < sizeof filters / sizeof *filters; f++) {
                    int32_t out_w = targets[t][0], out_h = targets[t][1];
                    compare(image, out_w, out_h, filters[f], 0, 0, out_w, out_h);
                    if (out_w > 2 && out_h > 2) /* an inner window, as the centre crop takes */
                        compare(image, out_w, out_h, filters[f], out_w / 3, out_h / 4, out_w - out_w / 3 - 1,
                                out_h - out_h / 4 - 1);
                }
            bmc_image_free(image);
        }
}

/* Large downscales: long kernels, many groups per output pixel. */
static void test_large_downscales(void)
{
    static const int32_t modes[] = {BMC_IMAGE_MODE_L, BMC_IMAGE_MODE_LA, BMC_IMAGE_MODE_RGB, BMC_IMAGE_MODE_RGBA};
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
        bmc_image *image = random_image(modes[m], 1237, 911, m % 2);
        if (!image)
            continue;
        compare(image, 301, 224, BMC_FILTER_BICUBIC, 38, 0, 224, 224);
        compare(image, 37, 19, BMC_FILTER_BICUBIC, 0, 0, 37, 19);
        compare(image, 5, 3, BMC_FILTER_BILINEAR, 0, 0, 5, 3);
        bmc_image_free(image);
    }
}

/* Every (colour, alpha) pair through the RGBA path: a uniform image stays uniform under the
 * resampler, so each pixel comes out as Pillow's rgbA2rgba then rgba2rgbA of its input,
 * written here with a plain division. Nine pixels a row: eight go through the vector
 * premultiplication, one through the scalar one. */
static void test_alpha_round_trip(void)
{
    int wrong = 0;
    for (uint32_t alpha = 0; alpha < 256; alpha++)
        for (uint32_t colour = 0; colour < 256; colour++) {
            bmc_image *image = NULL, *out = NULL;
            if (bmci_image_new(BMC_IMAGE_MODE_RGBA, 9, 2, &image) != BMC_OK)
                return;
            for (size_t i = 0; i < 18; i++) {
                uint8_t *p = image->pixels + 4 * i;
                p[0] = p[1] = p[2] = (uint8_t)colour;
                p[3] = (uint8_t)alpha;
            }
            uint32_t t = colour * alpha + 128, premultiplied = (t + (t >> 8)) >> 8;
            uint32_t expected = alpha == 0 || alpha == 255 ? premultiplied : 255 * premultiplied / alpha;
            expected = expected > 255 ? 255 : expected;
            if (bmci_resize_window(image, 11, 3, BMC_FILTER_BICUBIC, 0, 0, 11, 3, &out) == BMC_OK) {
                for (size_t i = 0; i < 33; i++)
                    wrong += out->pixels[4 * i] != expected || out->pixels[4 * i + 3] != alpha;
            } else {
                wrong++;
            }
            bmc_image_free(out);
            bmc_image_free(image);
        }
    CHECK(wrong == 0, "%d pixels of the 65,536 (colour, alpha) pairs differ from Pillow's formulas", wrong);
}

static void test_force_portable(void)
{
    int previous = bmci_resize_force_portable(1);
    CHECK(bmci_resize_simd_level() == 0, "forced portable, SIMD level %d", bmci_resize_simd_level());
    bmci_resize_force_portable(previous);
    printf("SIMD level on this CPU: %d (0 portable, 1 AVX2, 2 AVX-512BW, 3 with VBMI and VNNI)\n", bmci_resize_simd_level());
}

int main(void)
{
    RUN(test_force_portable);
    RUN(test_random_images);
    RUN(test_large_downscales);
    RUN(test_alpha_round_trip);
    printf("compared %d resizes, SIMD and portable: %d differ\n", images_compared, windows_differing);
    return harness_summary("test_resize_simd");
}
