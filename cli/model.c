/* SPDX-License-Identifier: MIT */
/* What the model commands share: loading the bundle on a device, encoder options, progress. */
#include <string.h>
#include <unistd.h>

#include "cli.h"

size_t cli_model_options(cli_model_args *margs, cli_option *options)
{
    const cli_option table[CLI_MODEL_OPTION_COUNT] = {
        {"--model", &margs->model, NULL, 0},
        {"--device", &margs->device, NULL, 0},
        {"--dtype", &margs->dtype, NULL, 0},
        {"--batch", &margs->batch, NULL, 0},
    };
    memcpy(options, table, sizeof table);
    return CLI_MODEL_OPTION_COUNT;
}

static int parse_dtype(const char *cmd, const char *text, int32_t *dtype)
{
    static const struct { const char *name; int32_t dtype; } names[] = {
        {"f32", BMC_DTYPE_F32}, {"f16", BMC_DTYPE_F16}, {"bf16", BMC_DTYPE_BF16},
    };
    if (!text)
        return CLI_OK;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(text, names[i].name) == 0) {
            *dtype = names[i].dtype;
            return CLI_OK;
        }
    return cli_usage_error(cmd, "--dtype must be f32, f16 or bf16, not '%s'", text);
}

int cli_load_model(const char *cmd, const cli_model_args *margs, bmc_model **model)
{
    if (!margs->model)
        return cli_usage_error(cmd, "--model BUNDLE is required");
    bmc_model_options options;
    bmc_model_options_init(&options);
    options.device = margs->device;
    int rc = parse_dtype(cmd, margs->dtype, &options.dtype);
    if (rc != CLI_OK)
        return rc;
    if (bmc_model_load(margs->model, &options, model) != BMC_OK)
        return cli_library_error(cmd);
    return CLI_OK;
}

/* Whether a progress line is open on the terminal (the tool is single-threaded). */
static int progress_line_open;

/* The encoders' progress callback: one line on the terminal, rewritten in place. */
static int32_t show_progress(void *user_data, size_t done, size_t total)
{
    cli_progress *progress = user_data;
    (void)total;
    size_t finished = progress->offset + done;
    if (!progress_line_open && finished == progress->total)
        return 0; /* done in its first batch: a short run shows nothing */
    fprintf(stderr, "\rbiomedclip %s: %zu of %zu", progress->cmd, finished, progress->total);
    progress_line_open = 1;
    return 0;
}

void cli_progress_end(void)
{
    if (progress_line_open)
        fputc('\n', stderr);
    progress_line_open = 0;
}

int cli_encoder_options(const char *cmd, const cli_model_args *margs, cli_progress *progress,
                        bmc_encoder_options *options)
{
    bmc_encoder_options_init(options);
    int rc = cli_parse_int(cmd, "--batch", margs->batch, 1, 65536, &options->batch_size);
    if (rc != CLI_OK)
        return rc;
    options->fast_jpeg = margs->fast_jpeg;
    /* Only a person watching a terminal wants progress; logs and pipes stay clean. */
    if (progress && isatty(STDERR_FILENO)) {
        options->progress_fn = show_progress;
        options->progress_user_data = progress;
    }
    return CLI_OK;
}
