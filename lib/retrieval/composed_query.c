/* SPDX-License-Identifier: MIT */
/* Composed queries (image + text -> image, as ALIGN shows): the normalised weighted sum of an
 * image's and a text's normalised embeddings, searched like any other query. */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "model/encoder.h"
#include "model/model.h"
#include "model/score.h"

bmc_status bmc_compose_query(const float *image_embedding, const float *text_embedding,
                             size_t dim, float text_weight, float *query)
{
    const char *fn = "bmc_compose_query";
    if (!image_embedding || !text_embedding || !query)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    if (dim == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: dim is 0", fn);
    if (!(text_weight >= 0.0f && text_weight <= 1.0f))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: text_weight is %g, must be 0..1", fn,
                         (double)text_weight);
    double image_norm = sqrt(bmci_dot(image_embedding, image_embedding, dim));
    double text_norm = sqrt(bmci_dot(text_embedding, text_embedding, dim));
    if (!isfinite(image_norm) || image_norm == 0.0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: the image embedding is zero or not finite", fn);
    if (!isfinite(text_norm) || text_norm == 0.0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: the text embedding is zero or not finite", fn);
    /* In double, then rounded once: the result is the exact weighted sum to float precision. */
    const double wi = (1.0 - (double)text_weight) / image_norm, wt = (double)text_weight / text_norm;
    double sum = 0.0;
    for (size_t d = 0; d < dim; d++) {
        double v = wi * image_embedding[d] + wt * text_embedding[d];
        sum += v * v;
    }
    /* Opposite unit vectors at equal weights cancel: there is no direction to search. */
    if (!(sqrt(sum) > 1e-6))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT,
                         "%s: the weighted sum is zero (the image and text embeddings cancel)", fn);
    const double norm = sqrt(sum);
    for (size_t d = 0; d < dim; d++)
        query[d] = (float)((wi * image_embedding[d] + wt * text_embedding[d]) / norm);
    return BMC_OK;
}

bmc_status bmc_index_search_composed(const bmc_index *index, bmc_image_encoder *image_encoder,
                                     bmc_text_encoder *text_encoder, const bmc_image *image,
                                     const char *text, float text_weight, int32_t k,
                                     int64_t *ids, float *scores)
{
    const char *fn = "bmc_index_search_composed";
    if (!index || !image_encoder || !text_encoder || !image || !text || !ids)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    const bmc_model *model = bmci_image_encoder_model(image_encoder);
    if (bmci_text_encoder_model(text_encoder) != model)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: the encoders were made from different models", fn);
    if (bmc_index_dim(index) != model->embed_dim)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: the index holds %d-d vectors, the model makes %d-d",
                         fn, bmc_index_dim(index), model->embed_dim);
    if (!(text_weight >= 0.0f && text_weight <= 1.0f))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: text_weight is %g, must be 0..1", fn,
                         (double)text_weight);
    const size_t dim = (size_t)model->embed_dim;
    float *embeddings = malloc(3 * dim * sizeof *embeddings); /* image, text, query */
    bmc_status status = embeddings ? BMC_OK : bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    if (status == BMC_OK)
        status = bmc_image_encoder_encode(image_encoder, &image, 1, 0, embeddings, dim);
    if (status == BMC_OK)
        status = bmc_text_encoder_encode(text_encoder, &text, 1, 0, embeddings + dim, dim);
    if (status == BMC_OK)
        status = bmc_compose_query(embeddings, embeddings + dim, dim, text_weight, embeddings + 2 * dim);
    if (status == BMC_OK)
        status = bmc_index_search(index, embeddings + 2 * dim, 1, k, NULL, ids, scores,
                                  k > 0 ? (size_t)k : 0);
    free(embeddings);
    return status;
}
