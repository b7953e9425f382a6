/* SPDX-License-Identifier: MIT */
/* Multi-label zero-shot scoring as CheXzero does it: per label a positive and a negative
 * prompt embedding, and the label's probability the softmax over that pair of logits alone. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify/ensemble.h"
#include "core/error.h"
#include "model/encoder.h"
#include "model/model.h"
#include "model/score.h"

struct bmc_multilabel {
    const bmc_model *model;
    size_t label_count;
    char **labels;
    float *positive; /* label_count x embed_dim, unit length */
    float *negative;
};

static const char *const FN = "bmc_multilabel_create";

static bmc_status check_arguments(bmc_text_encoder *encoder, const char *const *labels,
                                  size_t label_count, const char *const *positive,
                                  size_t positive_count, const char *const *negative,
                                  size_t negative_count, bmc_multilabel **out)
{
    if (!encoder || !labels || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL argument", FN);
    if (label_count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: no labels", FN);
    bmc_status status = bmci_check_labels(FN, labels, label_count);
    if (status == BMC_OK)
        status = bmci_check_templates(FN, "positive template", positive, positive_count);
    if (status == BMC_OK)
        status = bmci_check_templates(FN, "negative template", negative, negative_count);
    return status;
}

bmc_status bmc_multilabel_create(bmc_text_encoder *encoder, const char *const *labels,
                                 size_t label_count, const char *const *positive_templates,
                                 size_t positive_count, const char *const *negative_templates,
                                 size_t negative_count, bmc_multilabel **out)
{
    static const char *const default_positive[] = {BMC_DEFAULT_POSITIVE_TEMPLATE};
    static const char *const default_negative[] = {BMC_DEFAULT_NEGATIVE_TEMPLATE};
    if (!positive_templates || positive_count == 0) {
        positive_templates = default_positive;
        positive_count = 1;
    }
    if (!negative_templates || negative_count == 0) {
        negative_templates = default_negative;
        negative_count = 1;
    }
    bmc_status status = check_arguments(encoder, labels, label_count, positive_templates,
                                        positive_count, negative_templates, negative_count, out);
    if (status != BMC_OK)
        return status;

    const bmc_model *model = bmci_text_encoder_model(encoder);
    const size_t dim = (size_t)model->embed_dim;
    bmc_multilabel *scorer = calloc(1, sizeof *scorer);
    if (scorer) {
        scorer->model = model;
        scorer->label_count = label_count;
        scorer->labels = calloc(label_count, sizeof *scorer->labels);
        if (label_count <= SIZE_MAX / dim / sizeof(float)) {
            scorer->positive = malloc(label_count * dim * sizeof(float));
            scorer->negative = malloc(label_count * dim * sizeof(float));
        }
    }
    status = scorer && scorer->labels && scorer->positive && scorer->negative
                 ? BMC_OK
                 : bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", FN);
    for (size_t i = 0; status == BMC_OK && i < label_count; i++)
        if (!(scorer->labels[i] = strdup(labels[i])))
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", FN);
    if (status == BMC_OK)
        status = bmci_ensemble_labels(FN, encoder, labels, label_count, positive_templates,
                                      positive_count, scorer->positive);
    if (status == BMC_OK)
        status = bmci_ensemble_labels(FN, encoder, labels, label_count, negative_templates,
                                      negative_count, scorer->negative);
    if (status != BMC_OK) {
        bmc_multilabel_free(scorer);
        return status;
    }
    *out = scorer;
    return BMC_OK;
}

void bmc_multilabel_free(bmc_multilabel *scorer)
{
    if (!scorer)
        return;
    for (size_t i = 0; scorer->labels && i < scorer->label_count; i++)
        free(scorer->labels[i]);
    free(scorer->labels);
    free(scorer->positive);
    free(scorer->negative);
    free(scorer);
}

size_t bmc_multilabel_label_count(const bmc_multilabel *scorer)
{
    return scorer ? scorer->label_count : 0;
}

const char *bmc_multilabel_label(const bmc_multilabel *scorer, size_t index)
{
    return scorer && index < scorer->label_count ? scorer->labels[index] : NULL;
}

bmc_status bmc_multilabel_probabilities(const bmc_multilabel *scorer,
                                        const float *image_embeddings, size_t count,
                                        float *probabilities, size_t capacity)
{
    const char *fn = "bmc_multilabel_probabilities";
    if (!scorer || !image_embeddings || !probabilities)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    if (count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: no image embeddings", fn);
    const size_t labels = scorer->label_count, dim = (size_t)scorer->model->embed_dim;
    if (capacity / labels < count)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "%s: output holds %zu floats, needs %zu x %zu",
                         fn, capacity, count, labels);
    /* Checked before anything is written, so a bad row leaves the output untouched. */
    for (size_t i = 0; i < count; i++) {
        double norm = bmci_dot(image_embeddings + i * dim, image_embeddings + i * dim, dim);
        if (!isfinite(norm))
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: image embedding %zu is not finite", fn, i);
    }
    const double scale = scorer->model->logit_scale;
    for (size_t i = 0; i < count; i++) {
        const float *row = image_embeddings + i * dim;
        double norm = sqrt(bmci_dot(row, row, dim));
        for (size_t l = 0; l < labels; l++) {
            /* softmax([a, b])[0] = 1 / (1 + exp(b - a)): a huge gap gives exp = inf and
             * probability 0, where exp(a) / (exp(a) + exp(b)) would give inf / inf. */
            double gap = norm > 0 ? scale * (bmci_dot(row, scorer->negative + l * dim, dim) -
                                             bmci_dot(row, scorer->positive + l * dim, dim)) / norm
                                  : 0.0;
            probabilities[i * labels + l] = (float)(1.0 / (1.0 + exp(gap)));
        }
    }
    return BMC_OK;
}

bmc_status bmc_multilabel_classify(const bmc_multilabel *scorer, bmc_image_encoder *encoder,
                                   const bmc_image *image, float *probabilities, size_t capacity)
{
    const char *fn = "bmc_multilabel_classify";
    if (!scorer || !encoder || !image || !probabilities)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    if (bmci_image_encoder_model(encoder) != scorer->model)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT,
                         "%s: the image encoder was made from another model than the scorer", fn);
    if (capacity < scorer->label_count)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "%s: output holds %zu floats, needs %zu", fn,
                         capacity, scorer->label_count);
    const size_t dim = (size_t)scorer->model->embed_dim;
    float *embedding = malloc(dim * sizeof *embedding);
    bmc_status status = embedding ? bmc_image_encoder_encode(encoder, &image, 1, 0, embedding, dim)
                                  : bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    if (status == BMC_OK)
        status = bmc_multilabel_probabilities(scorer, embedding, 1, probabilities, capacity);
    free(embedding);
    return status;
}
