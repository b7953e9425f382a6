/* SPDX-License-Identifier: MIT */
/* preprocess: load an image, turn it into BiomedCLIP's input tensor, print what happened.
 *
 *   preprocess [--squash] [--size N] [--save-crop OUT.png] IMAGE
 *
 * Prints the image's size and Pillow mode, then per channel the mean, standard deviation,
 * minimum and maximum of the normalised 3 x N x N tensor. --save-crop writes the N x N RGB
 * image the tensor was made from. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "biomedclip.h"

static const char *mode_name(int32_t mode)
{
    static const char *names[] = {"?", "1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I"};
    return mode >= 1 && mode <= 8 ? names[mode] : names[0];
}

static int usage(const char *program)
{
    fprintf(stderr,
            "usage: %s [--squash] [--size N] [--save-crop OUT.png] IMAGE\n"
            "  Preprocess a PNG or JPEG as BiomedCLIP does (resize the short side to N, centre-crop,\n"
            "  RGB, normalise) and print tensor statistics.\n"
            "  --squash          resize to N x N ignoring the aspect ratio instead of cropping\n"
            "  --size N          output side (default 224)\n"
            "  --save-crop FILE  write the N x N RGB image as PNG\n",
            program);
    return 2;
}

static int fail(const char *what, bmc_status status)
{
    fprintf(stderr, "%s: %s (%s)\n", what, bmc_status_string(status), bmc_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    bmc_preprocess_options options;
    bmc_preprocess_options_init(&options);
    const char *input = NULL, *crop_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--squash") == 0)
            options.resize_mode = BMC_RESIZE_SQUASH;
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            options.image_size = atoi(argv[++i]);
        else if (strcmp(argv[i], "--save-crop") == 0 && i + 1 < argc)
            crop_path = argv[++i];
        else if (argv[i][0] == '-' || input)
            return usage(argv[0]);
        else
            input = argv[i];
    }
    if (!input)
        return usage(argv[0]);

    bmc_image *image = NULL;
    bmc_status status = bmc_image_load_file(input, &image);
    if (status != BMC_OK)
        return fail(input, status);
    int32_t width, height, mode;
    bmc_image_info(image, &width, &height, &mode);
    printf("%s: %dx%d, mode %s\n", input, width, height, mode_name(mode));
    if (mode == BMC_IMAGE_MODE_I)
        printf("  note: 16-bit grayscale opens as mode I and values above 255 clip, as in Pillow;\n"
               "  for medical data use bmc_image_from_pixels() with a window instead\n");

    int n = options.image_size;
    size_t plane = (size_t)n * (size_t)n;
    float *tensor = malloc(3 * plane * sizeof *tensor);
    uint8_t *rgb = malloc(3 * plane);
    if (!tensor || !rgb) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    status = bmc_preprocess(image, &options, tensor, 3 * plane);
    if (status != BMC_OK)
        return fail("preprocess", status);
    printf("  tensor 3x%dx%d:\n", n, n);
    for (int c = 0; c < 3; c++) {
        const float *p = tensor + (size_t)c * plane;
        double sum = 0, squares = 0, lo = p[0], hi = p[0];
        for (size_t i = 0; i < plane; i++) {
            sum += p[i];
            squares += (double)p[i] * p[i];
            lo = p[i] < lo ? p[i] : lo;
            hi = p[i] > hi ? p[i] : hi;
        }
        double mean = sum / (double)plane;
        double std = sqrt(fmax(squares / (double)plane - mean * mean, 0.0));
        printf("    %c: mean %+.4f  std %.4f  min %+.4f  max %+.4f\n", "RGB"[c], mean, std, lo, hi);
    }

    if (crop_path) {
        status = bmc_preprocess_rgb8(image, &options, rgb, 3 * plane);
        if (status == BMC_OK)
            status = bmc_png_write_file(crop_path, rgb, n, n, 3);
        if (status != BMC_OK)
            return fail(crop_path, status);
        printf("  wrote the %dx%d crop to %s\n", n, n, crop_path);
    }
    free(tensor);
    free(rgb);
    bmc_image_free(image);
    return 0;
}
