/* SPDX-License-Identifier: MIT */
/* Similarities, logits, softmax and ranking over embeddings. */
#include "model/score.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "model/model.h"

double bmci_dot(const float *a, const float *b, size_t dim)
{
    double sum = 0.0;
    for (size_t i = 0; i < dim; i++)
        sum += (double)a[i] * b[i];
    return sum;
}

void bmci_l2_normalize(float *v, size_t dim)
{
    double norm = sqrt(bmci_dot(v, v, dim));
    if (norm == 0.0)
        return;
    for (size_t i = 0; i < dim; i++)
        v[i] = (float)(v[i] / norm);
}

static bmc_status check_matrix_args(const char *fn, const float *a, size_t rows_a, const float *b,
                                    size_t rows_b, size_t dim, const float *out, size_t capacity)
{
    if (!a || !b || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL matrix", fn);
    if (dim == 0 || rows_a == 0 || rows_b == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: empty matrix (%zu x %zu rows of dim %zu)", fn,
                         rows_a, rows_b, dim);
    if (capacity / rows_b < rows_a)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "%s: output holds %zu floats, needs %zu x %zu", fn,
                         capacity, rows_a, rows_b);
    return BMC_OK;
}

static bmc_status cosine_scaled(const char *fn, const float *a, size_t rows_a, const float *b,
                                size_t rows_b, size_t dim, double scale, float *out, size_t capacity)
{
    bmc_status status = check_matrix_args(fn, a, rows_a, b, rows_b, dim, out, capacity);
    if (status != BMC_OK)
        return status;
    double *norm_b = malloc(rows_b * sizeof *norm_b);
    if (!norm_b)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    for (size_t j = 0; j < rows_b; j++)
        norm_b[j] = sqrt(bmci_dot(b + j * dim, b + j * dim, dim));
    for (size_t i = 0; i < rows_a; i++) {
        const float *row = a + i * dim;
        double norm_a = sqrt(bmci_dot(row, row, dim));
        for (size_t j = 0; j < rows_b; j++) {
            double denominator = norm_a * norm_b[j];
            double cosine = denominator > 0 ? bmci_dot(row, b + j * dim, dim) / denominator : 0.0;
            out[i * rows_b + j] = (float)(scale * cosine);
        }
    }
    free(norm_b);
    return BMC_OK;
}

bmc_status bmc_cosine_similarity(const float *a, size_t rows_a, const float *b, size_t rows_b,
                                 size_t dim, float *out, size_t capacity)
{
    return cosine_scaled("bmc_cosine_similarity", a, rows_a, b, rows_b, dim, 1.0, out, capacity);
}

bmc_status bmc_model_logits(const bmc_model *model, const float *image_embeddings,
                            size_t rows_images, const float *text_embeddings, size_t rows_texts,
                            float *out, size_t capacity)
{
    if (!model)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_model_logits: model is NULL");
    return cosine_scaled("bmc_model_logits", image_embeddings, rows_images, text_embeddings,
                         rows_texts, (size_t)model->embed_dim, model->logit_scale, out, capacity);
}

bmc_status bmc_softmax(float *values, size_t rows, size_t cols)
{
    if (!values || rows == 0 || cols == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_softmax: NULL or empty matrix");
    for (size_t i = 0; i < rows; i++) {
        float *row = values + i * cols;
        float max = row[0];
        for (size_t j = 1; j < cols; j++)
            if (row[j] > max)
                max = row[j];
        double sum = 0.0;
        for (size_t j = 0; j < cols; j++)
            sum += exp((double)row[j] - max);
        for (size_t j = 0; j < cols; j++)
            row[j] = (float)(exp((double)row[j] - max) / sum);
    }
    return BMC_OK;
}

bmc_status bmc_top_k(const float *values, size_t count, size_t k, int32_t *indices)
{
    if (!values || !indices)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_top_k: NULL argument");
    if (k > count || count > INT32_MAX)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_top_k: k %zu is more than the %zu values", k,
                         count);
    /* Insertion into a sorted prefix: k is small (labels, answers) in every caller. */
    size_t filled = 0;
    for (size_t i = 0; i < count; i++) {
        size_t pos = filled;
        while (pos > 0 && values[i] > values[indices[pos - 1]])
            pos--;
        if (pos >= k)
            continue;
        size_t last = filled < k ? filled : k - 1;
        for (size_t j = last; j > pos; j--)
            indices[j] = indices[j - 1];
        indices[pos] = (int32_t)i;
        if (filled < k)
            filled++;
    }
    return BMC_OK;
}
