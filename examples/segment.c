/* SPDX-License-Identifier: MIT */
/* segment — text-prompted segmentation of an image with a BiomedCLIP model and a decoder.
 *
 *   segment MODEL DECODER IMAGE "PROMPT" [OUT_PREFIX]
 *
 * Writes OUT_PREFIX.mask.png (white where the probability is above 0.5) and
 * OUT_PREFIX.overlay.png (the image with the mask tinted red), both at the image's own size,
 * and prints how much of the image the mask covers. OUT_PREFIX defaults to "segment". */
#include <stdio.h>
#include <stdlib.h>

#include <biomedclip.h>

static int fail(const char *what)
{
    fprintf(stderr, "segment: %s: %s\n", what, bmc_last_error());
    return 1;
}

/* Writes PREFIX.SUFFIX as a PNG; returns 0 on success. */
static int write_png(const char *prefix, const char *suffix, const uint8_t *pixels, int32_t width,
                     int32_t height, int32_t channels)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.%s", prefix, suffix);
    return bmc_png_write_file(path, pixels, width, height, channels) == BMC_OK ? 0 : fail(path);
}

/* Probability map -> mask and overlay PNGs, and how much of the image the mask covers. */
static int write_outputs(const bmc_image *image, const float *prob, int32_t width, int32_t height,
                         const char *prefix)
{
    const size_t pixels = (size_t)width * (size_t)height;
    uint8_t *mask = malloc(pixels), *rgb = malloc(pixels * 3);
    const uint8_t red[3] = {255, 0, 0};
    int result = 1;
    if (!mask || !rgb)
        fprintf(stderr, "segment: out of memory\n");
    else if (bmc_mask_threshold(prob, pixels, 0.5f, mask) != BMC_OK)
        fail("threshold");
    else if (bmc_mask_overlay(image, mask, pixels, red, 0.5f, rgb, pixels * 3) != BMC_OK)
        fail("overlay");
    else
        result = write_png(prefix, "mask.png", mask, width, height, 1) ||
                 write_png(prefix, "overlay.png", rgb, width, height, 3);
    if (result == 0) {
        size_t covered = 0;
        for (size_t i = 0; i < pixels; i++)
            covered += mask[i] != 0;
        printf("  mask covers %.1f%% of the image: %s.mask.png, %s.overlay.png\n",
               100.0 * (double)covered / (double)pixels, prefix, prefix);
    }
    free(mask);
    free(rgb);
    return result;
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: %s MODEL DECODER IMAGE \"PROMPT\" [OUT_PREFIX]\n", argv[0]);
        return 2;
    }
    const char *prefix = argc == 6 ? argv[5] : "segment";
    bmc_model *model = NULL;
    bmc_segmenter *segmenter = NULL;
    bmc_image *image = NULL;
    if (bmc_model_load(argv[1], NULL, &model) != BMC_OK)
        return fail(argv[1]);
    if (bmc_segmenter_load(model, argv[2], NULL, &segmenter) != BMC_OK) {
        bmc_model_free(model);
        return fail(argv[2]);
    }
    int result = 1;
    if (bmc_image_load_file(argv[3], &image) != BMC_OK) {
        fail(argv[3]);
    } else {
        int32_t width, height;
        bmc_image_info(image, &width, &height, NULL);
        float *prob = malloc((size_t)width * (size_t)height * sizeof *prob);
        const char *prompts[] = {argv[4]};
        printf("%s (%dx%d), decoder %s: \"%s\"\n", argv[3], width, height,
               bmc_segmenter_name(segmenter), argv[4]);
        if (!prob)
            fprintf(stderr, "segment: out of memory\n");
        else if (bmc_segment(segmenter, image, prompts, 1, prob, (size_t)width * (size_t)height) != BMC_OK)
            fail("segment");
        else
            result = write_outputs(image, prob, width, height, prefix);
        free(prob);
    }
    bmc_image_free(image);
    bmc_segmenter_free(segmenter);
    bmc_model_free(model);
    return result;
}
