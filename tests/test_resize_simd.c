/* SPDX-License-Identifier: MIT */
/* The SIMD resampling kernels against the portable passes, their reference (which
 * test_preprocess and test_image compare with Pillow): random images of many sizes, with 1 to
 * 4 bands, odd widths, widths below the vector width, upscales, downscales, one-axis resizes and
 * windows must give the same bytes both ways. The portable path is forced through
 * bmci_resize_force_portable, so both run whatever the CPU. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
                             (size_t)w * (size_t)bmci_mode_sample_bytes(fast->mode) * (size_t)fast->bands) != 0;
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

/* A random 32-bit sample: for mode I, 16-bit values (PNG's) or any up to 2^30 in magnitude; for
 * mode F, `kind` 0 finite values from denormals to 1e30 (and -0.0), 1 the same with infinities
 * of both signs, 2 with NaNs. (NaNs and infinities are kept apart so that every NaN that
 * arises has the one payload, whatever the order of an addition's operands.) */
static uint32_t random_wide_sample(int is_float, int kind)
{
    uint32_t r = next_random();
    if (!is_float) /* 16-bit, wide with negatives, or mostly zeros (sums of +-0 terms) */
        return kind == 0   ? r % 65536
               : kind == 1 ? (uint32_t)((int32_t)(r % (1u << 31)) - (1 << 30))
                           : ((r >> 8) % 4 == 0 ? r % 65536 : 0);
    static const float specials[] = {1e30f, -1e30f, 1e-40f, -0.0f, 65535.0f, -3.5f};
    float v = (float)((int32_t)(r % 2000001) - 1000000) / 977.0f;
    if (r % 17 == 0)
        v = specials[(r >> 8) % 6];
    else if (r % 23 == 0 && kind == 1)
        v = (r >> 8) % 2 ? INFINITY : -INFINITY;
    else if (r % 23 == 0 && kind == 2)
        v = NAN;
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits;
}

/* The 32-bit passes (resize_wide_simd.c) against the portable ones: mode I images through the
 * resampler, mode F maps through bmci_resize_f32 (the segmentation masks' path), downscales
 * (the preprocessing's 257 -> 224, long kernels past the kernels' 32-sample window),
 * upscales and windows, at every level the CPU has; the bytes must be equal. */
static void test_wide_images(void)
{
    static const int32_t sizes[][4] = {{300, 257, 261, 224}, {257, 300, 224, 261}, {17, 9, 40, 31},
                                       {512, 512, 224, 224}, {1237, 911, 301, 224}, {7, 3, 5, 2},
                                       {224, 224, 600, 417}, {33, 65, 32, 64}, {320, 200, 230, 150}};
    int previous = bmci_resize_limit_simd(3);
    int top = bmci_resize_simd_level();
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (int kind = 0; kind < 3; kind++) {
            int32_t w = sizes[i][0], h = sizes[i][1], out_w = sizes[i][2], out_h = sizes[i][3];
            { /* mode I */
                bmc_image *image = NULL;
                CHECK_STATUS(bmci_image_new(BMC_IMAGE_MODE_I, w, h, &image), BMC_OK);
                if (!image)
                    continue;
                for (int32_t y = 0; y < h; y++)
                    for (int32_t x = 0; x < w; x++) {
                        uint32_t v = random_wide_sample(0, kind);
                        memcpy(image->pixels + (size_t)y * image->stride + 4 * (size_t)x, &v, 4);
                    }
                for (int level = 1; level <= top; level++) {
                    compare_at_level(level, image, out_w, out_h, BMC_FILTER_BICUBIC, 0, 0, out_w, out_h);
                    compare_at_level(level, image, out_w, out_h, BMC_FILTER_BILINEAR, out_w / 5, out_h / 7,
                                     out_w - out_w / 5, out_h - out_h / 7);
                }
                bmc_image_free(image);
            }
            /* mode F */
            float *in = malloc((size_t)w * (size_t)h * sizeof *in);
            float *fast = malloc((size_t)out_w * (size_t)out_h * sizeof *fast);
            float *portable = malloc((size_t)out_w * (size_t)out_h * sizeof *portable);
            if (in && fast && portable) {
                for (size_t s = 0; s < (size_t)w * (size_t)h; s++) {
                    uint32_t v = random_wide_sample(1, kind);
                    memcpy(in + s, &v, 4);
                }
                for (int level = 1; level <= top; level++) {
                    bmci_resize_limit_simd(level);
                    CHECK_STATUS(bmci_resize_f32(in, w, h, fast, out_w, out_h, BMC_FILTER_BICUBIC), BMC_OK);
                    bmci_resize_force_portable(1);
                    CHECK_STATUS(bmci_resize_f32(in, w, h, portable, out_w, out_h, BMC_FILTER_BICUBIC), BMC_OK);
                    int differ = memcmp(fast, portable, (size_t)out_w * (size_t)out_h * sizeof *fast) != 0;
                    CHECK(!differ, "level %d: F %dx%d -> %dx%d (samples of kind %d) differ", level, w, h, out_w,
                          out_h, kind);
                    windows_differing += differ;
                    images_compared++;
                }
            }
            free(in);
            free(fast);
            free(portable);
        }
    bmci_resize_limit_simd(previous);
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
    RUN(test_wide_images);
    printf("compared %d resizes, SIMD and portable: %d differ\n", images_compared, windows_differing);
    return harness_summary("test_resize_simd");
}
