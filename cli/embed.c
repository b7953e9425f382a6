/* SPDX-License-Identifier: MIT */
/* biomedclip embed-image and embed-text: embeddings as a float32 .npy array. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage_image(void)
{
    printf("Usage: biomedclip embed-image --model BUNDLE IMAGE... --out FILE.npy [--raw]\n"
           "                              [--device D] [--dtype f32|f16|bf16] [--batch N]\n"
           "                              [--fast-jpeg] [--pixels FILE --width W --height H --type T ...]\n"
           "\n"
           "Runs each image through the model's image tower and writes the embeddings in order\n"
           "as a float32 N x dim .npy array, L2-normalised unless --raw is given.\n"
           "\n"
           "  --model BUNDLE   the model bundle (.bmc.pt)\n"
           "  --out FILE.npy   the output array (NumPy format 1.0)\n"
           "  --raw            the projection's raw output instead of unit vectors\n"
           "  --device D       cpu (default), cuda or cuda:N\n"
           "  --dtype T        f32 (default); f16 on CUDA; bf16 on CUDA and CPUs with AVX512_BF16/AMX\n"
           "  --batch N        images per forward pass (default 32)\n"
           "  --fast-jpeg      decode large JPEGs at 1/2, 1/4 or 1/8 scale, not below the model's\n"
           "                   input size: faster, not bit-exact (docs/performance.md)\n");
    cli_pixel_usage();
}

static void usage_text(void)
{
    printf("Usage: biomedclip embed-text --model BUNDLE --out FILE.npy [--raw]\n"
           "                             [--device D] [--dtype f32|f16|bf16] [--batch N]\n"
           "\n"
           "Runs each line of UTF-8 text on stdin through the model's text tower (texts longer\n"
           "than the context are truncated, as open_clip does) and writes the embeddings in\n"
           "order as a float32 N x dim .npy array, L2-normalised unless --raw is given.\n"
           "\n"
           "  --model BUNDLE   the model bundle (.bmc.pt)\n"
           "  --out FILE.npy   the output array (NumPy format 1.0)\n"
           "  --raw            the projection's raw output instead of unit vectors\n"
           "  --device D       cpu (default), cuda or cuda:N\n"
           "  --dtype T        f32 (default); f16 on CUDA; bf16 on CUDA and CPUs with AVX512_BF16/AMX\n"
           "  --batch N        texts per forward pass (default 32)\n");
}

/* ---- embed-image -------------------------------------------------------------------------- */

static const char *const CMD_IMAGE = "embed-image";

typedef struct image_run {
    cli_npy npy;
    int32_t dim;
} image_run;

static int write_chunk(void *user_data, size_t first, size_t count, const float *embeddings)
{
    image_run *run = user_data;
    (void)first;
    return cli_npy_write_f32(CMD_IMAGE, &run->npy, embeddings, count * (size_t)run->dim);
}

static int embed_images(const cli_args *args, const bmc_pixels *view,
                        const cli_model_args *margs, uint32_t flags, const char *out)
{
    cli_progress progress = {CMD_IMAGE, 0, args->input_count};
    bmc_encoder_options eopts;
    int rc = cli_encoder_options(CMD_IMAGE, margs, &progress, &eopts);
    bmc_model *model = NULL;
    if (rc != CLI_OK || (rc = cli_load_model(CMD_IMAGE, margs, &model)) != CLI_OK)
        return rc;
    bmc_image_encoder *encoder = NULL;
    image_run run = {{NULL, NULL}, bmc_model_embed_dim(model)};
    size_t shape[2] = {args->input_count, (size_t)run.dim};
    if (bmc_image_encoder_create(model, &eopts, &encoder) != BMC_OK)
        rc = cli_library_error(CMD_IMAGE);
    else if ((rc = cli_npy_open(CMD_IMAGE, &run.npy, out, CLI_NPY_F32, shape, 2)) == CLI_OK) {
        cli_encode_job job = {args->inputs, args->input_count, view, (size_t)eopts.batch_size,
                              run.dim, flags, &progress};
        rc = cli_encode_inputs(CMD_IMAGE, encoder, &job, write_chunk, &run);
        rc = cli_npy_close(CMD_IMAGE, &run.npy, rc == CLI_OK);
    }
    bmc_image_encoder_free(encoder);
    bmc_model_free(model);
    return rc;
}

int cli_embed_image(int argc, char **argv)
{
    const char *out = NULL;
    int raw = 0;
    cli_model_args margs = {0};
    cli_pixel_args pargs = {0};
    cli_option options[3 + CLI_MODEL_OPTION_COUNT + CLI_PIXEL_OPTION_COUNT] = {
        {"--out", &out, NULL, 0},
        {"--raw", NULL, &raw, 0},
        {"--fast-jpeg", NULL, &margs.fast_jpeg, 0},
    };
    size_t option_count = 3;
    option_count += cli_model_options(&margs, options + option_count);
    option_count += cli_pixel_options(&pargs, options + option_count);
    cli_args args;
    int rc = cli_parse(CMD_IMAGE, argc, argv, options, option_count, &args);
    if (rc != CLI_OK)
        return rc;
    bmc_pixels view;
    if (args.help)
        usage_image();
    else if (!margs.model)
        rc = cli_usage_error(CMD_IMAGE, "--model BUNDLE is required");
    else if (args.input_count == 0)
        rc = cli_usage_error(CMD_IMAGE, "no images given");
    else if (!out)
        rc = cli_usage_error(CMD_IMAGE, "--out FILE.npy is required");
    else if ((rc = cli_pixel_view(CMD_IMAGE, &pargs, &args, &view)) == CLI_OK)
        rc = embed_images(&args, &view, &margs, raw ? BMC_ENCODE_RAW : 0, out);
    cli_args_free(&args);
    return rc;
}

/* ---- embed-text --------------------------------------------------------------------------- */

static const char *const CMD_TEXT = "embed-text";

/* Loads the model first, so that its errors show before the tool waits for stdin. */
static int embed_texts(const cli_model_args *margs, uint32_t flags, const char *out)
{
    cli_progress progress = {CMD_TEXT, 0, 0};
    bmc_encoder_options eopts;
    bmc_model *model = NULL;
    int rc = cli_encoder_options(CMD_TEXT, margs, &progress, &eopts);
    if (rc != CLI_OK || (rc = cli_load_model(CMD_TEXT, margs, &model)) != CLI_OK)
        return rc;
    cli_lines lines;
    float *embeddings;
    if ((rc = cli_encode_stdin(CMD_TEXT, model, &eopts, &progress, flags, &lines,
                               &embeddings)) == CLI_OK) {
        size_t dim = (size_t)bmc_model_embed_dim(model);
        size_t shape[2] = {lines.count, dim};
        cli_npy npy;
        if ((rc = cli_npy_open(CMD_TEXT, &npy, out, CLI_NPY_F32, shape, 2)) == CLI_OK) {
            rc = cli_npy_write_f32(CMD_TEXT, &npy, embeddings, lines.count * dim);
            rc = cli_npy_close(CMD_TEXT, &npy, rc == CLI_OK);
        }
        free(embeddings);
        cli_lines_free(&lines);
    }
    bmc_model_free(model);
    return rc;
}

int cli_embed_text(int argc, char **argv)
{
    const char *out = NULL;
    int raw = 0;
    cli_model_args margs = {0};
    cli_option options[2 + CLI_MODEL_OPTION_COUNT] = {
        {"--out", &out, NULL, 0},
        {"--raw", NULL, &raw, 0},
    };
    size_t option_count = 2 + cli_model_options(&margs, options + 2);
    cli_args args;
    int rc = cli_parse(CMD_TEXT, argc, argv, options, option_count, &args);
    if (rc != CLI_OK)
        return rc;
    size_t extra = args.input_count;
    int help = args.help;
    cli_args_free(&args);
    if (help) {
        usage_text();
        return CLI_OK;
    }
    if (extra)
        return cli_usage_error(CMD_TEXT, "the texts come from stdin, one per line, not from arguments");
    if (!margs.model)
        return cli_usage_error(CMD_TEXT, "--model BUNDLE is required");
    if (!out)
        return cli_usage_error(CMD_TEXT, "--out FILE.npy is required");
    return embed_texts(&margs, raw ? BMC_ENCODE_RAW : 0, out);
}
