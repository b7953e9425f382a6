/* SPDX-License-Identifier: MIT */
/* Linear probes: multinomial logistic regression with L2 regularisation, trained with L-BFGS
 * on image embeddings (scikit-learn's LogisticRegression objective), and its probabilities. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/utf8.h"
#include "model/model.h"
#include "probe/lbfgs.h"
#include "probe/probe.h"

void bmc_probe_options_init(bmc_probe_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->c = 1.0;
    options->max_iterations = 10000;
    options->tolerance = 1e-9;
}

bmc_probe *bmci_probe_alloc(int32_t dim, size_t label_count)
{
    bmc_probe *probe = calloc(1, sizeof *probe);
    if (!probe)
        return NULL;
    probe->dim = dim;
    probe->label_count = label_count;
    probe->labels = calloc(label_count, sizeof *probe->labels);
    probe->weights = calloc(label_count * (size_t)dim, sizeof *probe->weights);
    probe->biases = calloc(label_count, sizeof *probe->biases);
    if (!probe->labels || !probe->weights || !probe->biases) {
        bmc_probe_free(probe);
        return NULL;
    }
    return probe;
}

void bmc_probe_free(bmc_probe *probe)
{
    if (!probe)
        return;
    for (size_t i = 0; probe->labels && i < probe->label_count; i++)
        free(probe->labels[i]);
    free(probe->labels);
    free(probe->weights);
    free(probe->biases);
    free(probe->model_name);
    free(probe->model_source);
    free(probe);
}

bmc_status bmci_probe_check_labels(const char *who, const char *const *labels, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (!labels[i])
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: label %zu is NULL", who, i);
        size_t length = strlen(labels[i]);
        if (length == 0)
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: label %zu is empty", who, i);
        if (bmci_utf8_first_invalid(labels[i], length) != length)
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: label %zu is not valid UTF-8", who, i);
        /* Few-shot label sets are small: the quadratic scan costs nothing. */
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: label '%s' is given twice "
                                 "(numbers %zu and %zu)", who, labels[i], j, i);
    }
    return BMC_OK;
}

/* The first non-finite value of rows x dim floats: its row, or `rows` if all are finite. */
static size_t first_non_finite_row(const float *values, size_t rows, size_t dim)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t d = 0; d < dim; d++)
            if (!isfinite(values[r * dim + d]))
                return r;
    return rows;
}

/* Softmax of z[0..k) in place, with its log-sum-exp returned (for the loss). */
static double softmax_in_place(double *z, size_t k)
{
    double top = z[0];
    for (size_t j = 1; j < k; j++)
        top = fmax(top, z[j]);
    double sum = 0.0;
    for (size_t j = 0; j < k; j++) {
        z[j] = exp(z[j] - top);
        sum += z[j];
    }
    for (size_t j = 0; j < k; j++)
        z[j] /= sum;
    return top + log(sum);
}

/* ---- training ------------------------------------------------------------------------------ */

typedef struct problem {
    const double *x;      /* count x dim, the embeddings in double */
    const int32_t *y;     /* count class indices */
    size_t count, dim, k;
    double c;
    double *z;            /* k scratch logits */
} problem;

/* The objective and its gradient; the parameters are W (k x dim, row-major) then b (k). */
static void objective(void *user_data, const double *w, size_t n, double *f, double *gradient)
{
    const problem *p = user_data;
    const double *b = w + p->k * p->dim;
    double *gb = gradient + p->k * p->dim;
    double penalty = 0.0;
    for (size_t i = 0; i < p->k * p->dim; i++) {
        penalty += w[i] * w[i];
        gradient[i] = w[i];
    }
    memset(gb, 0, p->k * sizeof *gb);
    double loss = 0.0;
    for (size_t i = 0; i < p->count; i++) {
        const double *xi = p->x + i * p->dim;
        for (size_t j = 0; j < p->k; j++) {
            const double *wj = w + j * p->dim;
            double z = b[j];
            for (size_t d = 0; d < p->dim; d++)
                z += wj[d] * xi[d];
            p->z[j] = z;
        }
        double true_logit = p->z[p->y[i]];
        loss += softmax_in_place(p->z, p->k) - true_logit;
        for (size_t j = 0; j < p->k; j++) {
            double r = p->c * (p->z[j] - (j == (size_t)p->y[i]));
            double *gj = gradient + j * p->dim;
            for (size_t d = 0; d < p->dim; d++)
                gj[d] += r * xi[d];
            gb[j] += r;
        }
    }
    (void)n;
    *f = 0.5 * penalty + p->c * loss;
}

static bmc_status check_train_arguments(const bmc_model *model, const float *embeddings,
                                        size_t count, const int32_t *classes,
                                        const char *const *labels, size_t label_count,
                                        const bmc_probe_options *options)
{
    static const char *const who = "bmc_probe_train";
    if (!model || !embeddings || !classes || !labels)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL %s", who,
                         !model ? "model" : !embeddings ? "embeddings" : !classes ? "classes" : "labels");
    if (options && options->struct_size != sizeof *options)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: options.struct_size is %zu, expected %zu "
                         "(call bmc_probe_options_init)", who, options->struct_size, sizeof *options);
    if (options && !(options->c > 0.0 && isfinite(options->c)))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: c must be positive and finite, not %g", who, options->c);
    if (options && options->max_iterations < 1)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: max_iterations must be at least 1, not %d",
                         who, options->max_iterations);
    if (options && !(options->tolerance >= 0.0 && options->tolerance <= 1.0))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: tolerance must be in 0..1, not %g", who,
                         options->tolerance);
    if (count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: no examples", who);
    if (label_count < 2)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: %zu label%s; a probe needs at least two "
                         "classes", who, label_count, label_count == 1 ? "" : "s");
    bmc_status status = bmci_probe_check_labels(who, labels, label_count);
    if (status != BMC_OK)
        return status;
    for (size_t i = 0; i < count; i++)
        if (classes[i] < 0 || (size_t)classes[i] >= label_count)
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: example %zu has class %d, outside "
                             "0..%zu", who, i, classes[i], label_count - 1);
    for (size_t j = 0; j < label_count; j++) {
        size_t seen = 0;
        for (size_t i = 0; i < count && !seen; i++)
            seen = (size_t)classes[i] == j;
        if (!seen)
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: label '%s' has no examples", who, labels[j]);
    }
    size_t dim = (size_t)model->embed_dim;
    size_t bad = first_non_finite_row(embeddings, count, dim);
    if (bad < count)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: embedding %zu has a NaN or infinite value",
                         who, bad);
    return BMC_OK;
}

bmc_status bmc_probe_train(const bmc_model *model, const float *embeddings, size_t count,
                           const int32_t *classes, const char *const *labels, size_t label_count,
                           const bmc_probe_options *options, bmc_probe **out)
{
    if (!out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_probe_train: NULL out");
    bmc_status status = check_train_arguments(model, embeddings, count, classes, labels,
                                              label_count, options);
    if (status != BMC_OK)
        return status;
    bmc_probe_options defaults;
    bmc_probe_options_init(&defaults);
    if (!options)
        options = &defaults;

    const size_t dim = (size_t)model->embed_dim, k = label_count, n = k * dim + k;
    bmc_probe *probe = bmci_probe_alloc(model->embed_dim, label_count);
    double *x = malloc(count * dim * sizeof *x);
    double *w = calloc(n, sizeof *w);
    double *z = malloc(k * sizeof *z);
    if (probe) {
        probe->model_name = strdup(model->name ? model->name : "");
        probe->model_source = strdup(model->source ? model->source : "");
        for (size_t j = 0; j < k; j++)
            if (!(probe->labels[j] = strdup(labels[j])))
                break;
    }
    if (!probe || !x || !w || !z || !probe->model_name || !probe->model_source ||
        !probe->labels[k - 1])
        status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_probe_train: out of memory");
    bmci_lbfgs_result result = {0};
    if (status == BMC_OK) {
        for (size_t i = 0; i < count * dim; i++)
            x[i] = embeddings[i];
        problem p = {x, classes, count, dim, k, options->c, z};
        status = bmci_lbfgs_minimize("bmc_probe_train", objective, &p, w, n,
                                     options->max_iterations, options->tolerance, &result);
    }
    if (status == BMC_OK) {
        /* The loss sees only differences of biases: fix their free constant at a zero sum, as
         * the solver started there and every gradient keeps it (their components sum to 0). */
        double mean = 0.0;
        for (size_t j = 0; j < k; j++)
            mean += w[k * dim + j] / (double)k;
        for (size_t i = 0; i < k * dim; i++)
            probe->weights[i] = (float)w[i];
        for (size_t j = 0; j < k; j++)
            probe->biases[j] = (float)(w[k * dim + j] - mean);
        probe->c = options->c;
        probe->iterations = result.iterations;
        probe->converged = result.converged;
        *out = probe;
        probe = NULL;
    }
    bmc_probe_free(probe);
    free(x);
    free(w);
    free(z);
    return status;
}

/* ---- accessors and prediction ---------------------------------------------------------------- */

size_t bmc_probe_label_count(const bmc_probe *probe)
{
    return probe ? probe->label_count : 0;
}

const char *bmc_probe_label(const bmc_probe *probe, size_t index)
{
    return probe && index < probe->label_count ? probe->labels[index] : NULL;
}

int32_t bmc_probe_dim(const bmc_probe *probe)
{
    return probe ? probe->dim : 0;
}

const char *bmc_probe_model_name(const bmc_probe *probe)
{
    return probe ? probe->model_name : "";
}

const char *bmc_probe_model_source(const bmc_probe *probe)
{
    return probe ? probe->model_source : "";
}

bmc_status bmc_probe_training(const bmc_probe *probe, double *c, int32_t *iterations,
                              int32_t *converged)
{
    if (!probe)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_probe_training: NULL probe");
    if (c)
        *c = probe->c;
    if (iterations)
        *iterations = probe->iterations;
    if (converged)
        *converged = probe->converged;
    return BMC_OK;
}

bmc_status bmc_probe_weights(const bmc_probe *probe, float *weights, size_t weight_capacity,
                             float *biases, size_t bias_capacity)
{
    if (!probe)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_probe_weights: NULL probe");
    size_t need = probe->label_count * (size_t)probe->dim;
    if (weights && weight_capacity < need)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "bmc_probe_weights: the weights need %zu "
                         "floats, the buffer holds %zu", need, weight_capacity);
    if (biases && bias_capacity < probe->label_count)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "bmc_probe_weights: the biases need %zu "
                         "floats, the buffer holds %zu", probe->label_count, bias_capacity);
    if (weights)
        memcpy(weights, probe->weights, need * sizeof *weights);
    if (biases)
        memcpy(biases, probe->biases, probe->label_count * sizeof *biases);
    return BMC_OK;
}

bmc_status bmc_probe_probabilities(const bmc_probe *probe, const float *embeddings, size_t count,
                                   float *probabilities, size_t capacity)
{
    if (!probe || !embeddings || !probabilities)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_probe_probabilities: NULL %s",
                         !probe ? "probe" : !embeddings ? "embeddings" : "probabilities");
    if (count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_probe_probabilities: count is 0");
    const size_t k = probe->label_count, dim = (size_t)probe->dim;
    if (capacity / k < count)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "bmc_probe_probabilities: %zu x %zu "
                         "probabilities do not fit in %zu floats", count, k, capacity);
    size_t bad = first_non_finite_row(embeddings, count, dim);
    if (bad < count)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_probe_probabilities: embedding %zu has "
                         "a NaN or infinite value", bad);
    double *z = malloc(k * sizeof *z);
    if (!z)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_probe_probabilities: out of memory");
    for (size_t i = 0; i < count; i++) {
        const float *x = embeddings + i * dim;
        for (size_t j = 0; j < k; j++) {
            const float *wj = probe->weights + j * dim;
            double sum = probe->biases[j];
            for (size_t d = 0; d < dim; d++)
                sum += (double)wj[d] * (double)x[d];
            z[j] = sum;
        }
        softmax_in_place(z, k);
        for (size_t j = 0; j < k; j++)
            probabilities[i * k + j] = (float)z[j];
    }
    free(z);
    return BMC_OK;
}
