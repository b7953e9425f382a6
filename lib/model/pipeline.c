/* SPDX-License-Identifier: MIT */
/* Image files -> embeddings: a few worker threads decode and preprocess the files of the next
 * batch while the calling thread runs the image tower on the current one.
 *
 * Two batches of tensors exist, no more: batch k goes to slot k % 2, and a worker may claim a
 * file of batch k only once batch k - 2 is released (the calling thread is done with it). The
 * encoder's own scratch is slot 0, so a run allocates one batch of tensors beyond the encoder.
 * Workers claim files in order, so when a file fails every file before it has been claimed;
 * once those are loaded, the first failure in file order is known, and it is the one reported:
 * the same file, status and message whichever worker got there first. */
#include "model/pipeline.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "model/encoder.h"
#include "model/model.h"

/* Decode threads: two keep the tower fed on small machines without taking every core from
 * libtorch's own threads, which run the forward beside them. */
#define MAX_WORKERS 2
#define PENDING (-1) /* a file's status until a worker has loaded it */

static const char *const FN = "bmc_image_encoder_encode_files";

/* One of the two batches in flight. */
struct slot {
    float *tensors;        /* batch_size preprocessed tensors */
    bmc_status *statuses;  /* per file of the batch; PENDING until loaded */
    char **messages;       /* per file: why it failed (malloc'd), else NULL */
    size_t loaded;         /* files of the batch loaded or failed so far */
};

struct pipeline {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a file was loaded, a batch released, or stop set */
    const bmci_file_job *job;
    const bmc_preprocess_options *preprocess;
    int32_t draft;   /* fast_jpeg: the JPEG draft size (the model's input size), else 0 */
    size_t batch_size, tensor_floats;
    struct slot slots[2];
    size_t next;     /* the next file to claim */
    size_t released; /* batches the calling thread is done with */
    size_t busy;     /* files claimed and not yet loaded */
    int stop;
};

/* Loads and preprocesses one file; on failure keeps a copy of the message, since this
 * thread's last error is not the caller's. */
static bmc_status load_file(const struct pipeline *p, size_t file, float *tensor, char **message)
{
    const char *path = p->job->paths[file];
    bmc_image *image = NULL;
    bmc_status status = p->draft ? bmc_image_load_file_draft(path, p->draft, &image)
                                 : bmc_image_load_file(path, &image);
    if (status == BMC_OK && (status = bmc_preprocess(image, p->preprocess, tensor,
                                                     p->tensor_floats)) != BMC_OK)
        bmci_fail_context(status, path);
    bmc_image_free(image);
    if (status != BMC_OK)
        *message = strdup(bmc_last_error());
    return status;
}

static void *worker(void *arg)
{
    struct pipeline *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->next < p->job->count && p->next / p->batch_size >= p->released + 2)
            pthread_cond_wait(&p->changed, &p->lock);
        if (p->stop || p->next == p->job->count)
            break;
        size_t file = p->next++;
        struct slot *slot = &p->slots[file / p->batch_size % 2];
        size_t at = file % p->batch_size;
        p->busy++;
        pthread_mutex_unlock(&p->lock);

        char *message = NULL;
        bmc_status status = load_file(p, file, slot->tensors + at * p->tensor_floats, &message);

        pthread_mutex_lock(&p->lock);
        slot->statuses[at] = status;
        slot->messages[at] = message;
        slot->loaded++;
        p->busy--;
        /* Without skipping the run will fail at this file: nothing after it is needed. */
        if (status != BMC_OK && (!p->job->skip_fn || status == BMC_ERR_OUT_OF_MEMORY))
            p->stop = 1;
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Waits until the batch's n files are loaded, or until the workers stopped at a failure. */
static void wait_for_batch(struct pipeline *p, const struct slot *slot, size_t n)
{
    pthread_mutex_lock(&p->lock);
    while (slot->loaded < n && !(p->stop && p->busy == 0))
        pthread_cond_wait(&p->changed, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

/* The loaded files of batch [first, first + n) packed to the front of the slot, their indices
 * in kept[]; failures are skipped or end the run. */
static bmc_status gather_batch(struct pipeline *p, struct slot *slot, size_t first, size_t n,
                               size_t *kept, size_t *count)
{
    const bmci_file_job *job = p->job;
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        bmc_status status = slot->statuses[i];
        const char *why = slot->messages[i] ? slot->messages[i] : "(no message: out of memory)";
        if (status == PENDING)
            return bmci_fail(BMC_ERR_INTERNAL, "%s: file %zu was never loaded", FN, first + i);
        /* Running out of memory says nothing about the file: it fails the run rather than
         * dropping the file from a collection as unreadable. */
        if (status != BMC_OK && (!job->skip_fn || status == BMC_ERR_OUT_OF_MEMORY))
            return bmci_fail(status, "%s: file %zu: %s", FN, first + i, why);
        if (status != BMC_OK) {
            job->skip_fn(job->user_data, first + i, why);
            continue;
        }
        if (ok != i)
            memmove(slot->tensors + ok * p->tensor_floats, slot->tensors + i * p->tensor_floats,
                    p->tensor_floats * sizeof *slot->tensors);
        kept[ok++] = first + i;
    }
    *count = ok;
    return BMC_OK;
}

/* Hands the slot back to the workers for batch `batch` + 2. */
static void release_batch(struct pipeline *p, struct slot *slot, size_t n, size_t batch)
{
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < n; i++) {
        free(slot->messages[i]);
        slot->messages[i] = NULL;
        slot->statuses[i] = PENDING;
    }
    slot->loaded = 0;
    p->released = batch + 1;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

/* The calling thread's part: each batch in order, as soon as it is loaded. */
static bmc_status run_batches(struct pipeline *p, bmc_image_encoder *encoder, float *rows,
                              size_t *kept)
{
    const bmci_file_job *job = p->job;
    for (size_t batch = 0, first = 0; first < job->count; batch++, first += p->batch_size) {
        size_t n = job->count - first < p->batch_size ? job->count - first : p->batch_size;
        struct slot *slot = &p->slots[batch % 2];
        size_t ok = 0;
        wait_for_batch(p, slot, n);
        bmc_status status = gather_batch(p, slot, first, n, kept, &ok);
        if (status == BMC_OK && ok > 0)
            status = bmci_image_encoder_run_batch(encoder, slot->tensors, ok, job->flags, rows,
                                                  first + n, job->count);
        if (status == BMC_OK && ok > 0)
            status = job->batch_fn(job->user_data, rows, kept, ok);
        release_batch(p, slot, n, batch);
        if (status != BMC_OK)
            return status;
    }
    return BMC_OK;
}

static size_t worker_count(size_t files)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = cpus < 1 ? 1 : cpus < MAX_WORKERS ? (size_t)cpus : MAX_WORKERS;
    return n < files ? n : files;
}

/* Starts the workers, runs the batches and joins every worker that started, on every path. */
static bmc_status run_pipeline(struct pipeline *p, bmc_image_encoder *encoder, float *rows,
                               size_t *kept)
{
    pthread_t threads[MAX_WORKERS];
    size_t started = 0, wanted = worker_count(p->job->count);
    bmc_status status = BMC_OK;
    for (; started < wanted; started++)
        if (pthread_create(&threads[started], NULL, worker, p) != 0) {
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: cannot start a decode thread", FN);
            break;
        }
    if (status == BMC_OK)
        status = run_batches(p, encoder, rows, kept);
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    return status;
}

bmc_status bmci_encode_files(bmc_image_encoder *encoder, const bmci_file_job *job)
{
    if (!encoder || !job->paths)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL argument", FN);
    if (job->count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: count is 0", FN);
    for (size_t i = 0; i < job->count; i++)
        if (!job->paths[i])
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: path %zu is NULL", FN, i);

    const bmc_model *model = bmci_image_encoder_model(encoder);
    const size_t batch_size = bmci_image_encoder_batch_size(encoder);
    const size_t per_slot = job->count < batch_size ? job->count : batch_size;
    const size_t side = (size_t)model->preprocess.image_size;
    struct pipeline p = {.job = job, .preprocess = &model->preprocess, .batch_size = batch_size,
                         .tensor_floats = 3 * side * side,
                         .draft = bmci_image_encoder_fast_jpeg(encoder) ? (int32_t)side : 0};
    p.slots[0].tensors = bmci_image_encoder_scratch(encoder);
    /* A second batch only when there is a second batch. */
    p.slots[1].tensors = job->count > batch_size
                             ? malloc(batch_size * p.tensor_floats * sizeof(float)) : NULL;
    float *rows = malloc(per_slot * (size_t)model->embed_dim * sizeof *rows);
    size_t *kept = malloc(per_slot * sizeof *kept);
    int ready = rows && kept && (job->count <= batch_size || p.slots[1].tensors);
    for (int s = 0; s < 2; s++) {
        p.slots[s].statuses = malloc(per_slot * sizeof *p.slots[s].statuses);
        p.slots[s].messages = calloc(per_slot, sizeof *p.slots[s].messages);
        ready = ready && p.slots[s].statuses && p.slots[s].messages;
        for (size_t i = 0; p.slots[s].statuses && i < per_slot; i++)
            p.slots[s].statuses[i] = PENDING;
    }

    bmc_status status;
    if (!ready)
        status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory for a batch of %zu images",
                           FN, batch_size);
    else if (pthread_mutex_init(&p.lock, NULL) != 0)
        status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: cannot make a mutex", FN);
    else {
        if (pthread_cond_init(&p.changed, NULL) != 0)
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: cannot make a condition variable", FN);
        else {
            status = run_pipeline(&p, encoder, rows, kept);
            pthread_cond_destroy(&p.changed);
        }
        pthread_mutex_destroy(&p.lock);
    }

    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; p.slots[s].messages && i < per_slot; i++)
            free(p.slots[s].messages[i]);
        free(p.slots[s].messages);
        free(p.slots[s].statuses);
    }
    free(p.slots[1].tensors);
    free(rows);
    free(kept);
    return status;
}

/* ---- the public call: every file, in order, into the caller's buffer --------------------- */

struct into_buffer {
    float *embeddings;
    size_t dim;
};

/* Without skipping, a batch's files are consecutive. */
static bmc_status copy_rows(void *user_data, const float *rows, const size_t *files, size_t count)
{
    struct into_buffer *out = user_data;
    memcpy(out->embeddings + files[0] * out->dim, rows, count * out->dim * sizeof *rows);
    return BMC_OK;
}

bmc_status bmc_image_encoder_encode_files(bmc_image_encoder *encoder, const char *const *paths,
                                          size_t count, uint32_t flags, float *embeddings,
                                          size_t capacity)
{
    if (!encoder || !paths || !embeddings)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL argument", FN);
    if (count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: count is 0", FN);
    const size_t dim = (size_t)bmci_image_encoder_model(encoder)->embed_dim;
    if (capacity / dim < count)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "%s: output holds %zu floats, %zu x %zu needed",
                         FN, capacity, count, dim);
    struct into_buffer out = {embeddings, dim};
    bmci_file_job job = {paths, count, flags, copy_rows, NULL, &out};
    return bmci_encode_files(encoder, &job);
}
