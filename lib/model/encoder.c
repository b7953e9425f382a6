/* SPDX-License-Identifier: MIT */
/* Image and text encoder handles: per-thread batch scratch over a shared model. */
#include "model/encoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "core/error.h"
#include "model/length_groups.h"
#include "model/model.h"
#include "model/score.h"
#include "text/tokenizer.h"

struct bmc_image_encoder {
    const bmc_model *model;
    bmc_encoder_options options;
    float *batch;             /* batch_size preprocessed 3 x S x S tensors */
    size_t tensor_floats;     /* floats per tensor */
};

struct bmc_text_encoder {
    const bmc_model *model;
    bmc_encoder_options options;
    int32_t *token_ids;       /* batch_size x context_length: the batch's texts, tokenized */
    size_t *lengths;          /* tokens per text of the current batch */
    bmci_length_groups groups;/* the batch ordered by length and cut into forwards */
    int64_t *group_ids;       /* one group's ids, padded to its longest text */
    float *group_rows;        /* the batch's features in the groups' order */
};

void bmc_encoder_options_init(bmc_encoder_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->batch_size = 32;
    options->truncate = 1;
}

static bmc_status resolve_options(const char *fn, const bmc_encoder_options *given,
                                  bmc_encoder_options *out)
{
    bmc_encoder_options_init(out);
    if (!given)
        return BMC_OK;
    /* A program built against an older header passes the smaller struct it knows: the fields
     * it has are taken, later ones keep their defaults (the ABI only grows). */
    size_t known = given->struct_size;
    if (known != sizeof *given && known != offsetof(bmc_encoder_options, fast_jpeg))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: options.struct_size is %zu, expected %zu "
                         "(call bmc_encoder_options_init)", fn, given->struct_size, sizeof *given);
    if (given->batch_size < 1 || given->batch_size > 65536)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: batch_size %d is not in 1..65536", fn,
                         given->batch_size);
    memcpy(out, given, known);
    out->struct_size = sizeof *out;
    return BMC_OK;
}

static bmc_status check_encode_args(const char *fn, const void *encoder, const void *inputs,
                                    size_t count, const float *embeddings, size_t capacity,
                                    int32_t dim)
{
    if (!encoder || !inputs || !embeddings)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    if (count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: count is 0", fn);
    if (capacity / (size_t)dim < count)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "%s: output holds %zu floats, %zu x %d needed", fn,
                         capacity, count, dim);
    return BMC_OK;
}

/* Normalises finished rows and reports progress; a non-zero answer cancels. */
static bmc_status finish_batch(const bmc_encoder_options *options, uint32_t flags, float *rows,
                               size_t rows_count, int32_t dim, size_t done, size_t total)
{
    if (!(flags & BMC_ENCODE_RAW))
        for (size_t i = 0; i < rows_count; i++)
            bmci_l2_normalize(rows + i * (size_t)dim, (size_t)dim);
    if (options->progress_fn && options->progress_fn(options->progress_user_data, done, total) != 0)
        return bmci_fail(BMC_ERR_CANCELLED, "cancelled by the progress callback after %zu of %zu",
                         done, total);
    return BMC_OK;
}

/* ---- image encoder ------------------------------------------------------------------------ */

bmc_status bmc_image_encoder_create(const bmc_model *model, const bmc_encoder_options *options,
                                    bmc_image_encoder **out)
{
    if (!model || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_image_encoder_create: NULL argument");
    bmc_encoder_options resolved;
    bmc_status status = resolve_options("bmc_image_encoder_create", options, &resolved);
    if (status != BMC_OK)
        return status;
    bmc_image_encoder *encoder = calloc(1, sizeof *encoder);
    size_t side = (size_t)model->preprocess.image_size;
    size_t tensor_floats = 3 * side * side;
    float *batch = malloc((size_t)resolved.batch_size * tensor_floats * sizeof *batch);
    if (!encoder || !batch) {
        free(encoder);
        free(batch);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_image_encoder_create: out of memory for a batch "
                         "of %d images", resolved.batch_size);
    }
    encoder->model = model;
    encoder->options = resolved;
    encoder->batch = batch;
    encoder->tensor_floats = tensor_floats;
    *out = encoder;
    return BMC_OK;
}

void bmc_image_encoder_free(bmc_image_encoder *encoder)
{
    if (!encoder)
        return;
    free(encoder->batch);
    free(encoder);
}

bmc_status bmci_image_encoder_run_batch(bmc_image_encoder *encoder, const float *tensors,
                                        size_t count, uint32_t flags, float *rows, size_t done,
                                        size_t total)
{
    const bmc_model *model = encoder->model;
    bmc_status status = bmci_torch_encode_image(model->torch, tensors, (int64_t)count,
                                                model->preprocess.image_size, rows, model->embed_dim);
    if (status != BMC_OK)
        return status;
    return finish_batch(&encoder->options, flags, rows, count, model->embed_dim, done, total);
}

int bmci_image_encoder_fast_jpeg(const bmc_image_encoder *encoder)
{
    return encoder->options.fast_jpeg != 0;
}

size_t bmci_image_encoder_batch_size(const bmc_image_encoder *encoder)
{
    return (size_t)encoder->options.batch_size;
}

float *bmci_image_encoder_scratch(bmc_image_encoder *encoder)
{
    return encoder->batch;
}

bmc_status bmc_image_encoder_encode(bmc_image_encoder *encoder, const bmc_image *const *images,
                                    size_t count, uint32_t flags, float *embeddings, size_t capacity)
{
    return bmci_image_encoder_encode_part(encoder, images, count, flags, embeddings, capacity, 0, count);
}

bmc_status bmci_image_encoder_encode_part(bmc_image_encoder *encoder, const bmc_image *const *images,
                                          size_t count, uint32_t flags, float *embeddings,
                                          size_t capacity, size_t done_before, size_t total)
{
    const char *fn = "bmc_image_encoder_encode";
    bmc_status status = check_encode_args(fn, encoder, images, count, embeddings, capacity,
                                          encoder ? encoder->model->embed_dim : 1);
    if (status != BMC_OK)
        return status;
    const int32_t dim = encoder->model->embed_dim;
    const size_t batch_size = (size_t)encoder->options.batch_size;
    for (size_t start = 0; start < count; start += batch_size) {
        size_t n = count - start < batch_size ? count - start : batch_size;
        for (size_t i = 0; i < n; i++) {
            if (!images[start + i])
                return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: image %zu is NULL", fn, start + i);
            status = bmc_preprocess(images[start + i], &encoder->model->preprocess,
                                    encoder->batch + i * encoder->tensor_floats, encoder->tensor_floats);
            if (status != BMC_OK)
                return status;
        }
        status = bmci_image_encoder_run_batch(encoder, encoder->batch, n, flags,
                                              embeddings + start * (size_t)dim,
                                              done_before + start + n, total);
        if (status != BMC_OK)
            return status;
    }
    return BMC_OK;
}

bmc_status bmc_image_encoder_encode_tensors(bmc_image_encoder *encoder, const float *tensors,
                                            size_t tensor_count, size_t count, uint32_t flags,
                                            float *embeddings, size_t capacity)
{
    const char *fn = "bmc_image_encoder_encode_tensors";
    bmc_status status = check_encode_args(fn, encoder, tensors, count, embeddings, capacity,
                                          encoder ? encoder->model->embed_dim : 1);
    if (status != BMC_OK)
        return status;
    if (tensor_count / encoder->tensor_floats < count)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: %zu floats hold fewer than %zu tensors of %zu",
                         fn, tensor_count, count, encoder->tensor_floats);
    const int32_t dim = encoder->model->embed_dim;
    const size_t batch_size = (size_t)encoder->options.batch_size;
    for (size_t start = 0; start < count; start += batch_size) {
        size_t n = count - start < batch_size ? count - start : batch_size;
        status = bmci_image_encoder_run_batch(encoder, tensors + start * encoder->tensor_floats, n,
                                              flags, embeddings + start * (size_t)dim, start + n,
                                              count);
        if (status != BMC_OK)
            return status;
    }
    return BMC_OK;
}

/* ---- text encoder ------------------------------------------------------------------------- */

bmc_status bmc_text_encoder_create(const bmc_model *model, const bmc_encoder_options *options,
                                   bmc_text_encoder **out)
{
    if (!model || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_text_encoder_create: NULL argument");
    bmc_encoder_options resolved;
    bmc_status status = resolve_options("bmc_text_encoder_create", options, &resolved);
    if (status != BMC_OK)
        return status;
    size_t context = (size_t)model->context_length, batch = (size_t)resolved.batch_size;
    bmc_text_encoder *encoder = calloc(1, sizeof *encoder);
    if (encoder) {
        encoder->token_ids = malloc(batch * context * sizeof *encoder->token_ids);
        encoder->lengths = malloc(batch * sizeof *encoder->lengths);
        encoder->group_ids = malloc(batch * context * sizeof *encoder->group_ids);
        encoder->group_rows = malloc(batch * (size_t)model->embed_dim * sizeof *encoder->group_rows);
    }
    if (!encoder || !encoder->token_ids || !encoder->lengths || !encoder->group_ids ||
        !encoder->group_rows || bmci_length_groups_init(&encoder->groups, batch, context) != BMC_OK) {
        bmc_text_encoder_free(encoder);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_text_encoder_create: out of memory");
    }
    encoder->model = model;
    encoder->options = resolved;
    *out = encoder;
    return BMC_OK;
}

void bmc_text_encoder_free(bmc_text_encoder *encoder)
{
    if (!encoder)
        return;
    free(encoder->token_ids);
    free(encoder->lengths);
    bmci_length_groups_free(&encoder->groups);
    free(encoder->group_ids);
    free(encoder->group_rows);
    free(encoder);
}

/* Tokenizes texts[0..n) into token_ids, one row of context_length ids each, and their lengths. */
static bmc_status tokenize_batch(bmc_text_encoder *encoder, const char *const *texts, size_t first,
                                 size_t n)
{
    const bmc_model *model = encoder->model;
    const size_t context = (size_t)model->context_length;
    for (size_t i = 0; i < n; i++) {
        int truncated = 0;
        const char *text = texts[first + i];
        if (!text)
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_text_encoder_encode: text %zu is NULL",
                             first + i);
        bmc_status status = bmci_tokenizer_encode(model->tokenizer, text, strlen(text),
                                                  encoder->token_ids + i * context,
                                                  &encoder->lengths[i], &truncated);
        if (status != BMC_OK) {
            char where[48];
            snprintf(where, sizeof where, "text %zu", first + i);
            return bmci_fail_context(status, where);
        }
        if (truncated && !encoder->options.truncate)
            return bmci_fail(BMC_ERR_LIMIT, "bmc_text_encoder_encode: text %zu is longer than the "
                             "context of %zu tokens (truncate is off)", first + i, context);
    }
    return BMC_OK;
}

/* On the CPU a forward costs about as much as this many more token rows, whatever its size
 * (measured on the full-size text tower: 15-token texts ran at the same rate in batches of
 * 4 to 32, and a fifth slower in batches of 2). A GPU runs a batch in one forward: there one
 * group, padded to the batch's longest text, as before. */
#define CPU_GROUP_COST_ROWS 16

/* Runs the text tower on the n tokenized texts into rows (n x dim), texts of similar length
 * together: each group of the plan is one call, padded with the tokenizer's [PAD] id to its
 * own longest text. */
static bmc_status encode_groups(bmc_text_encoder *encoder, size_t n, float *rows)
{
    const bmc_model *model = encoder->model;
    const size_t context = (size_t)model->context_length, dim = (size_t)model->embed_dim;
    const int64_t pad = model->tokenizer->special[BMC_TOKEN_PAD];
    bmci_length_groups *groups = &encoder->groups;
    size_t group_cost = bmci_torch_on_cpu(model->torch) ? CPU_GROUP_COST_ROWS : n * context;
    bmci_length_groups_plan(groups, encoder->lengths, n, group_cost);
    for (size_t g = 0, first = 0; g < groups->count; first = groups->ends[g++]) {
        size_t members = groups->ends[g] - first;
        size_t longest = encoder->lengths[groups->order[groups->ends[g] - 1]];
        for (size_t k = 0; k < members; k++) {
            size_t text = groups->order[first + k];
            const int32_t *tokens = encoder->token_ids + text * context;
            for (size_t j = 0; j < longest; j++)
                encoder->group_ids[k * longest + j] = j < encoder->lengths[text] ? tokens[j] : pad;
        }
        bmc_status status = bmci_torch_encode_text(model->torch, encoder->group_ids, (int64_t)members,
                                                   (int64_t)longest, encoder->group_rows + first * dim,
                                                   (int64_t)dim);
        if (status != BMC_OK)
            return status;
    }
    for (size_t k = 0; k < n; k++)
        memcpy(rows + groups->order[k] * dim, encoder->group_rows + k * dim, dim * sizeof *rows);
    return BMC_OK;
}

bmc_status bmc_text_encoder_encode(bmc_text_encoder *encoder, const char *const *texts,
                                   size_t count, uint32_t flags, float *embeddings, size_t capacity)
{
    return bmci_text_encoder_encode_part(encoder, texts, count, flags, embeddings, capacity, 0, count);
}

bmc_status bmci_text_encoder_encode_part(bmc_text_encoder *encoder, const char *const *texts,
                                         size_t count, uint32_t flags, float *embeddings,
                                         size_t capacity, size_t done_before, size_t total)
{
    bmc_status status = check_encode_args("bmc_text_encoder_encode", encoder, texts, count,
                                          embeddings, capacity, encoder ? encoder->model->embed_dim : 1);
    if (status != BMC_OK)
        return status;
    const int32_t dim = encoder->model->embed_dim;
    const size_t batch_size = (size_t)encoder->options.batch_size;
    for (size_t start = 0; start < count; start += batch_size) {
        size_t n = count - start < batch_size ? count - start : batch_size;
        status = tokenize_batch(encoder, texts, start, n);
        float *rows = embeddings + start * (size_t)dim;
        if (status == BMC_OK)
            status = encode_groups(encoder, n, rows);
        if (status == BMC_OK)
            status = finish_batch(&encoder->options, flags, rows, n, dim, done_before + start + n, total);
        if (status != BMC_OK)
            return status;
    }
    return BMC_OK;
}

const bmc_model *bmci_image_encoder_model(const bmc_image_encoder *encoder)
{
    return encoder ? encoder->model : NULL;
}

const bmc_model *bmci_text_encoder_model(const bmc_text_encoder *encoder)
{
    return encoder ? encoder->model : NULL;
}
