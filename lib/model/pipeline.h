/* SPDX-License-Identifier: MIT */
/* The file pipeline: image files -> embeddings, decoding on worker threads while the calling
 * thread runs the image tower. Internal form for callers that consume batches as they finish
 * (image collections) or skip unreadable files; bmc_image_encoder_encode_files() is the public
 * one. */
#ifndef BMC_LIB_PIPELINE_H
#define BMC_LIB_PIPELINE_H

#include "biomedclip.h"

/* Receives a finished batch on the calling thread: `count` embeddings (count x embed_dim, valid
 * during the call) of the files whose indices are files[0..count), in order. A status other than
 * BMC_OK stops the run and is returned by it. */
typedef bmc_status (*bmci_batch_fn)(void *user_data, const float *rows, const size_t *files,
                                    size_t count);

/* Receives, on the calling thread, a file that could not be loaded and why. */
typedef void (*bmci_skip_fn)(void *user_data, size_t file, const char *message);

typedef struct bmci_file_job {
    const char *const *paths;
    size_t count;
    uint32_t flags;          /* BMC_ENCODE_* */
    bmci_batch_fn batch_fn;
    bmci_skip_fn skip_fn;    /* NULL: the first unreadable file fails the run; else it is
                              * handed here and left out of its batch */
    void *user_data;         /* for both callbacks */
} bmci_file_job;

/* Runs the job. Batch k holds files [k x batch_size, (k + 1) x batch_size) less any skipped,
 * so without skips the batches are those of bmc_image_encoder_encode() over the same images.
 * Progress is reported after each batch as (files up to the batch's end, count).
 * Errors: as bmc_image_encoder_encode_files(). */
bmc_status bmci_encode_files(bmc_image_encoder *encoder, const bmci_file_job *job);

#endif
