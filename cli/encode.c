/* SPDX-License-Identifier: MIT */
/* Encoding inputs: image lists a chunk at a time, so that long lists never hold more than one
 * chunk of embeddings (and, for raw pixel files, of decoded images) in memory, and the texts of
 * stdin. */
#include <stdlib.h>

#include "cli.h"

static int any_raw(const cli_encode_job *job)
{
    for (size_t i = 0; i < job->count; i++)
        if (job->inputs[i].raw || job->inputs[i].dicom)
            return 1;
    return 0;
}

/* Image files only: the library's file pipeline decodes one batch while the model runs the
 * previous one. */
static int encode_files(const char *cmd, bmc_image_encoder *encoder, const cli_encode_job *job,
                        size_t first, size_t count, const char **paths, float *embeddings)
{
    for (size_t i = 0; i < count; i++)
        paths[i] = job->inputs[first + i].path;
    if (bmc_image_encoder_encode_files(encoder, paths, count, job->flags, embeddings,
                                       count * (size_t)job->dim) != BMC_OK)
        return cli_library_error(cmd);
    return CLI_OK;
}

/* Raw pixel files or DICOM frames with options among the inputs: every image of a chunk is
 * decoded first. */
static int encode_images(const char *cmd, bmc_image_encoder *encoder, const cli_encode_job *job,
                         size_t first, size_t count, bmc_image **images, float *embeddings)
{
    int rc = cli_load_images(cmd, job->inputs + first, count, job->view, images);
    if (rc != CLI_OK)
        return rc;
    if (bmc_image_encoder_encode(encoder, (const bmc_image *const *)images, count, job->flags,
                                 embeddings, count * (size_t)job->dim) != BMC_OK)
        rc = cli_library_error(cmd);
    cli_free_images(images, count);
    return rc;
}

int cli_encode_inputs(const char *cmd, bmc_image_encoder *encoder, const cli_encode_job *job,
                      cli_chunk_fn fn, void *user_data)
{
    int files = !any_raw(job);
    size_t chunk = job->batch_size * CLI_CHUNK_BATCHES;
    if (chunk > job->count)
        chunk = job->count;
    size_t dim = (size_t)job->dim;
    /* Image files need their paths, pixel files their decoded images: pointers either way. */
    void **inputs = malloc(chunk * sizeof *inputs);
    float *embeddings = malloc(chunk * dim * sizeof *embeddings);
    int rc = inputs && embeddings ? CLI_OK : cli_error(cmd, "out of memory for %zu images", chunk);
    for (size_t first = 0; rc == CLI_OK && first < job->count; first += chunk) {
        size_t count = job->count - first < chunk ? job->count - first : chunk;
        if (job->progress)
            job->progress->offset = first;
        rc = files ? encode_files(cmd, encoder, job, first, count, (const char **)inputs, embeddings)
                   : encode_images(cmd, encoder, job, first, count, (bmc_image **)inputs, embeddings);
        if (rc == CLI_OK)
            rc = fn(user_data, first, count, embeddings);
    }
    cli_progress_end();
    free(embeddings);
    free(inputs);
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
