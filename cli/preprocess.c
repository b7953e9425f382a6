/* SPDX-License-Identifier: MIT */
/* biomedclip preprocess: the model's input tensors (or the resized RGB pixels) of images. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const CMD = "preprocess";

static void usage(void)
{
    printf("Usage: biomedclip preprocess IMAGE... --out FILE.npy [--uint8] [--model BUNDLE]\n"
           "                             [--pixels FILE --width W --height H --type T ...]\n"
           "\n"
           "Runs open_clip's BiomedCLIP transform (Pillow-exact bicubic resize of the short side,\n"
           "centre crop, RGB, normalisation) on each image and writes the results in order as\n"
           "one .npy array: float32 N x 3 x S x S (S = 224), or with --uint8 the resized and\n"
           "cropped pixels as uint8 N x S x S x 3 (RGB).\n"
           "\n"
           "  --out FILE.npy   the output array (NumPy format 1.0)\n"
           "  --uint8          write the 8-bit RGB pixels before normalisation\n"
           "  --model BUNDLE   use the bundle's preprocessing instead of BiomedCLIP's defaults\n");
    cli_pixel_usage();
}

/* Preprocesses one image into `buffer` and appends it to the array. */
static int write_one(const bmc_image *image, const bmc_preprocess_options *popts, int uint8,
                     void *buffer, size_t values, cli_npy *npy)
{
    if (uint8) {
        if (bmc_preprocess_rgb8(image, popts, buffer, values) != BMC_OK)
            return cli_library_error(CMD);
        return cli_npy_write_u8(CMD, npy, buffer, values);
    }
    if (bmc_preprocess(image, popts, buffer, values) != BMC_OK)
        return cli_library_error(CMD);
    return cli_npy_write_f32(CMD, npy, buffer, values);
}

static int preprocess_all(const cli_args *args, const bmc_pixels *view,
                          const bmc_preprocess_options *popts, int uint8, const char *out)
{
    size_t side = (size_t)popts->image_size;
    size_t values = 3 * side * side;
    size_t shape_f32[4] = {args->input_count, 3, side, side};
    size_t shape_u8[4] = {args->input_count, side, side, 3};
    void *buffer = malloc(values * (uint8 ? 1 : sizeof(float)));
    if (!buffer)
        return cli_error(CMD, "out of memory");
    cli_npy npy;
    int rc = cli_npy_open(CMD, &npy, out, uint8 ? CLI_NPY_U8 : CLI_NPY_F32,
                          uint8 ? shape_u8 : shape_f32, 4);
    for (size_t i = 0; rc == CLI_OK && i < args->input_count; i++) {
        bmc_image *image;
        rc = cli_load_images(CMD, &args->inputs[i], 1, view, &image);
        if (rc == CLI_OK) {
            rc = write_one(image, popts, uint8, buffer, values, &npy);
            bmc_image_free(image);
        }
    }
    if (npy.file)
        rc = cli_npy_close(CMD, &npy, rc == CLI_OK);
    free(buffer);
    return rc;
}

int cli_preprocess(int argc, char **argv)
{
    const char *out = NULL;
    int uint8 = 0;
    cli_model_args margs = {0};
    cli_pixel_args pargs = {0};
    cli_option options[3 + CLI_PIXEL_OPTION_COUNT] = {
        {"--out", &out, NULL, 0},
        {"--uint8", NULL, &uint8, 0},
        {"--model", &margs.model, NULL, 0},
    };
    size_t option_count = 3 + cli_pixel_options(&pargs, options + 3);
    cli_args args;
    int rc = cli_parse(CMD, argc, argv, options, option_count, &args);
    if (rc != CLI_OK)
        return rc;
    bmc_pixels view;
    bmc_preprocess_options popts;
    bmc_preprocess_options_init(&popts);
    bmc_model *model = NULL;
    if (args.help)
        usage();
    else if (args.input_count == 0)
        rc = cli_usage_error(CMD, "no images given");
    else if (!out)
        rc = cli_usage_error(CMD, "--out FILE.npy is required");
    else if ((rc = cli_pixel_view(CMD, &pargs, &args, &view)) == CLI_OK &&
             (!margs.model || (rc = cli_load_model(CMD, &margs, &model)) == CLI_OK)) {
        if (model && bmc_model_preprocess_options(model, &popts) != BMC_OK)
            rc = cli_library_error(CMD);
        else
            rc = preprocess_all(&args, &view, &popts, uint8, out);
    }
    bmc_model_free(model);
    cli_args_free(&args);
    return rc;
}
