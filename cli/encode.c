/* Encoding a list of image inputs a chunk at a time, so that long lists never hold more than
 * one chunk of decoded images in memory. */
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
