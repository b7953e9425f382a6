/* SPDX-License-Identifier: MIT */
/* Prompt templates and template ensembling: one embedding per label, the normalised mean of
 * its prompts' normalised embeddings. */
#include "classify/ensemble.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/encoder.h"
#include "model/model.h"
#include "model/score.h"

/* "a photo of {}." + "pneumonia" -> "a photo of pneumonia."; NULL when out of memory. */
static char *fill_template(const char *template_text, const char *label)
{
    const char *slot = strstr(template_text, "{}");
    size_t before = (size_t)(slot - template_text), label_len = strlen(label);
    size_t after = strlen(slot + 2);
    char *prompt = malloc(before + label_len + after + 1);
    if (!prompt)
        return NULL;
    memcpy(prompt, template_text, before);
    memcpy(prompt + before, label, label_len);
    memcpy(prompt + before + label_len, slot + 2, after + 1);
    return prompt;
}

bmc_status bmci_check_templates(const char *fn, const char *what, const char *const *templates,
                                size_t count)
{
    for (size_t t = 0; t < count; t++) {
        const char *slot = templates[t] ? strstr(templates[t], "{}") : NULL;
        if (!slot || strstr(slot + 2, "{}"))
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT,
                             "%s: %s %zu must contain \"{}\" exactly once", fn, what, t);
    }
    return BMC_OK;
}

bmc_status bmci_check_labels(const char *fn, const char *const *labels, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!labels[i])
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: label %zu is NULL", fn, i);
    return BMC_OK;
}

bmc_status bmci_ensemble_labels(const char *fn, bmc_text_encoder *encoder,
                                const char *const *labels, size_t label_count,
                                const char *const *templates, size_t template_count, float *out)
{
    const size_t dim = (size_t)bmci_text_encoder_model(encoder)->embed_dim;
    if (template_count != 0 && label_count > SIZE_MAX / template_count / dim / sizeof(float))
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: %zu labels x %zu templates is too many", fn,
                         label_count, template_count);
    const size_t prompt_count = label_count * template_count;
    char **prompts = calloc(prompt_count, sizeof *prompts);
    float *embeddings = malloc(prompt_count * dim * sizeof *embeddings);
    bmc_status status = BMC_OK;
    if (!prompts || !embeddings)
        status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    for (size_t i = 0; status == BMC_OK && i < prompt_count; i++) {
        prompts[i] = fill_template(templates[i % template_count], labels[i / template_count]);
        if (!prompts[i])
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    }
    if (status == BMC_OK)
        status = bmc_text_encoder_encode(encoder, (const char *const *)prompts, prompt_count, 0,
                                         embeddings, prompt_count * dim);
    for (size_t label = 0; status == BMC_OK && label < label_count; label++) {
        float *mean = out + label * dim;
        for (size_t d = 0; d < dim; d++) {
            double sum = 0.0;
            for (size_t t = 0; t < template_count; t++)
                sum += embeddings[(label * template_count + t) * dim + d];
            mean[d] = (float)(sum / (double)template_count);
        }
        bmci_l2_normalize(mean, dim);
    }
    for (size_t i = 0; prompts && i < prompt_count; i++)
        free(prompts[i]);
    free(prompts);
    free(embeddings);
    return status;
}
