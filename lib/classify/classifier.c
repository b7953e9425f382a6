/* SPDX-License-Identifier: MIT */
/* Zero-shot classification: label embeddings ensembled over prompt templates. */
#include <stdlib.h>
#include <string.h>

#include "classify/ensemble.h"
#include "core/error.h"
#include "model/encoder.h"
#include "model/model.h"

struct bmc_classifier {
    const bmc_model *model;
    size_t label_count;
    char **labels;
    float *label_embeddings;  /* label_count x embed_dim, unit length */
};

bmc_status bmc_classifier_create(bmc_text_encoder *encoder, const char *const *labels,
                                 size_t label_count, const char *const *templates,
                                 size_t template_count, bmc_classifier **out)
{
    static const char *const default_templates[] = {BMC_DEFAULT_TEMPLATE};
    if (!encoder || !labels || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_classifier_create: NULL argument");
    if (label_count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_classifier_create: no labels");
    if (!templates || template_count == 0) {
        templates = default_templates;
        template_count = 1;
    }
    bmc_status status = bmci_check_templates("bmc_classifier_create", "template", templates,
                                             template_count);
    if (status == BMC_OK)
        status = bmci_check_labels("bmc_classifier_create", labels, label_count);
    if (status != BMC_OK)
        return status;

    const bmc_model *model = bmci_text_encoder_model(encoder);
    bmc_classifier *classifier = calloc(1, sizeof *classifier);
    if (classifier) {
        classifier->model = model;
        classifier->label_count = label_count;
        classifier->labels = calloc(label_count, sizeof *classifier->labels);
        classifier->label_embeddings = malloc(label_count * (size_t)model->embed_dim * sizeof(float));
    }
    status = classifier && classifier->labels && classifier->label_embeddings
                 ? BMC_OK
                 : bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_classifier_create: out of memory");
    for (size_t i = 0; status == BMC_OK && i < label_count; i++) {
        classifier->labels[i] = strdup(labels[i]);
        if (!classifier->labels[i])
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_classifier_create: out of memory");
    }
    if (status == BMC_OK)
        status = bmci_ensemble_labels("bmc_classifier_create", encoder, labels, label_count,
                                      templates, template_count, classifier->label_embeddings);
    if (status != BMC_OK) {
        bmc_classifier_free(classifier);
        return status;
    }
    *out = classifier;
    return BMC_OK;
}

void bmc_classifier_free(bmc_classifier *classifier)
{
    if (!classifier)
        return;
    for (size_t i = 0; classifier->labels && i < classifier->label_count; i++)
        free(classifier->labels[i]);
    free(classifier->labels);
    free(classifier->label_embeddings);
    free(classifier);
}

size_t bmc_classifier_label_count(const bmc_classifier *classifier)
{
    return classifier ? classifier->label_count : 0;
}

const char *bmc_classifier_label(const bmc_classifier *classifier, size_t index)
{
    return classifier && index < classifier->label_count ? classifier->labels[index] : NULL;
}

bmc_status bmc_classifier_probabilities(const bmc_classifier *classifier,
                                        const float *image_embeddings, size_t count,
                                        float *probabilities, size_t capacity)
{
    if (!classifier)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_classifier_probabilities: classifier is NULL");
    bmc_status status = bmc_model_logits(classifier->model, image_embeddings, count,
                                         classifier->label_embeddings, classifier->label_count,
                                         probabilities, capacity);
    if (status == BMC_OK)
        status = bmc_softmax(probabilities, count, classifier->label_count);
    return status;
}

bmc_status bmc_classify(const bmc_classifier *classifier, bmc_image_encoder *encoder,
                        const bmc_image *image, size_t k, int32_t *label_indices,
                        float *probabilities)
{
    if (!classifier || !encoder || !image || !label_indices || !probabilities)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_classify: NULL argument");
    if (k == 0 || k > classifier->label_count)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_classify: k is %zu, must be 1..%zu", k,
                         classifier->label_count);
    if (bmci_image_encoder_model(encoder) != classifier->model)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT,
                         "bmc_classify: the image encoder was made from another model than the classifier");
    const size_t dim = (size_t)classifier->model->embed_dim;
    float *embedding = malloc(dim * sizeof *embedding);
    float *all = malloc(classifier->label_count * sizeof *all);
    int32_t *order = malloc(k * sizeof *order);
    bmc_status status = embedding && all && order
                            ? bmc_image_encoder_encode(encoder, &image, 1, 0, embedding, dim)
                            : bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_classify: out of memory");
    if (status == BMC_OK)
        status = bmc_classifier_probabilities(classifier, embedding, 1, all, classifier->label_count);
    if (status == BMC_OK)
        status = bmc_top_k(all, classifier->label_count, k, order);
    if (status == BMC_OK) {
        for (size_t i = 0; i < k; i++) {
            label_indices[i] = order[i];
            probabilities[i] = all[order[i]];
        }
    }
    free(embedding);
    free(all);
    free(order);
    return status;
}
