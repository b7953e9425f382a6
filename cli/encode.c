/* SPDX-License-Identifier: MIT */
/* Encoding inputs: image lists a chunk at a time, so that long lists never hold more than one
 * chunk of decoded images in memory, and the texts of stdin. */
#include <stdlib.h>

#include "cli.h"

int cli_encode_inputs(const char *cmd, bmc_image_encoder *encoder, const cli_encode_job *job,
                      cli_chunk_fn fn, void *user_data)
{
    size_t chunk = job->batch_size * CLI_CHUNK_BATCHES;
    if (chunk > job->count)
        chunk = job->count;
    size_t dim = (size_t)job->dim;
    bmc_image **images = malloc(chunk * sizeof *images);
    float *embeddings = malloc(chunk * dim * sizeof *embeddings);
    int rc = images && embeddings ? CLI_OK : cli_error(cmd, "out of memory for %zu images", chunk);
    for (size_t first = 0; rc == CLI_OK && first < job->count; first += chunk) {
        size_t count = job->count - first < chunk ? job->count - first : chunk;
        rc = cli_load_images(cmd, job->inputs + first, count, job->view, images);
        if (rc != CLI_OK)
            break;
        if (job->progress)
            job->progress->offset = first;
        if (bmc_image_encoder_encode(encoder, (const bmc_image *const *)images, count, job->flags,
                                     embeddings, count * dim) != BMC_OK)
            rc = cli_library_error(cmd);
        cli_free_images(images, count);
        if (rc == CLI_OK)
            rc = fn(user_data, first, count, embeddings);
    }
    cli_progress_end();
    free(embeddings);
    free(images);
    return rc;
}

/* Encodes every line with a new text encoder. */
static int encode_lines(const char *cmd, bmc_model *model, const bmc_encoder_options *options,
                        uint32_t flags, const cli_lines *lines, float *embeddings)
{
    bmc_text_encoder *encoder = NULL;
    int rc = CLI_OK;
    if (bmc_text_encoder_create(model, options, &encoder) != BMC_OK ||
        bmc_text_encoder_encode(encoder, (const char *const *)lines->text, lines->count, flags,
                                embeddings, lines->count * (size_t)bmc_model_embed_dim(model)) != BMC_OK)
        rc = cli_library_error(cmd);
    cli_progress_end();
    bmc_text_encoder_free(encoder);
    return rc;
}

int cli_encode_stdin(const char *cmd, bmc_model *model, const bmc_encoder_options *options,
                     cli_progress *progress, uint32_t flags, cli_lines *lines, float **embeddings)
{
    cli_lines read;
    int rc = cli_read_lines(cmd, stdin, &read);
    if (rc != CLI_OK)
        return rc;
    size_t dim = (size_t)bmc_model_embed_dim(model);
    float *result = NULL;
    if (read.count == 0)
        rc = cli_error(cmd, "no texts on stdin");
    else if ((rc = cli_lines_check_no_nul(cmd, &read)) == CLI_OK) {
        if (progress)
            progress->total = read.count;
        result = malloc(read.count * dim * sizeof *result);
        rc = result ? encode_lines(cmd, model, options, flags, &read, result)
                    : cli_error(cmd, "out of memory for %zu embeddings", read.count);
    }
    if (rc != CLI_OK) {
        free(result);
        cli_lines_free(&read);
        return rc;
    }
    *lines = read;
    *embeddings = result;
    return CLI_OK;
}
