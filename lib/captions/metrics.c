/* SPDX-License-Identifier: MIT */
/* The public entry of the caption metrics: options, argument checks, tokenising the corpus
 * once, and dispatch to bleu.c, rouge.c, meteor.c and cider.c. */
#include "captions/caption.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void bmc_caption_options_init(bmc_caption_options *options)
{
    if (!options)
        return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->bleu_smoothing = 0;
    options->bleu_epsilon = 0.1;
    options->bleu_k = 5.0;
    options->rouge_beta = 1.2;
    options->meteor_alpha = 0.9;
    options->meteor_beta = 3.0;
    options->meteor_gamma = 0.5;
    options->cider_sigma = 6.0;
}

static bmc_status check_options(const bmc_caption_options *o)
{
    static const char what[] = "bmc_caption_score";
    if (o->struct_size != sizeof *o)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: options not initialised with "
                         "bmc_caption_options_init", what);
    if (o->bleu_smoothing < 0 || o->bleu_smoothing > 4)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: bleu_smoothing %d is not 0..4", what,
                         o->bleu_smoothing);
    const double values[] = {o->bleu_epsilon, o->bleu_k, o->rouge_beta, o->meteor_alpha,
                             o->meteor_beta, o->meteor_gamma, o->cider_sigma};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++)
        if (!isfinite(values[i]) || values[i] < 0.0)
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: a metric parameter is negative or not "
                             "finite", what);
    if (o->bleu_k <= 0.0 || o->cider_sigma <= 0.0 || o->meteor_alpha > 1.0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: bleu_k and cider_sigma must be positive "
                         "and meteor_alpha at most 1", what);
    return BMC_OK;
}

static bmc_status check_arguments(int32_t metric, const char *const *candidates, size_t count,
                                  const char *const *references, const size_t *reference_counts)
{
    static const char what[] = "bmc_caption_score";
    if (metric < BMC_CAPTION_BLEU_1 || metric > BMC_CAPTION_CIDER_D)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: unknown metric %d", what, metric);
    if (!candidates || !references || !reference_counts)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL %s", what,
                         !candidates ? "candidates" : !references ? "references" : "reference_counts");
    if (count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: no candidates", what);
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        if (!candidates[i])
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: candidate %zu is NULL", what, i);
        if (reference_counts[i] == 0)
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: candidate %zu has no references", what, i);
        if (reference_counts[i] > SIZE_MAX / 2 - total)
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: too many references", what);
        total += reference_counts[i];
    }
    for (size_t r = 0; r < total; r++)
        if (!references[r])
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: reference %zu is NULL", what, r);
    return BMC_OK;
}

bmc_status bmc_caption_score(int32_t metric, const char *const *candidates, size_t count,
                             const char *const *references, const size_t *reference_counts,
                             const bmc_caption_options *options, double *corpus_score,
                             double *per_candidate)
{
    bmc_caption_options defaults;
    bmc_caption_options_init(&defaults);
    if (!options)
        options = &defaults;
    bmc_status status = check_arguments(metric, candidates, count, references, reference_counts);
    if (status == BMC_OK)
        status = check_options(options);
    if (status != BMC_OK)
        return status;
    /* Per-candidate scores go to a scratch array first: outputs are untouched on failure. */
    double *scores = malloc(count * sizeof *scores), corpus_value = 0.0;
    if (!scores)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_caption_score: out of memory");
    bmci_caption_corpus corpus;
    status = bmci_caption_corpus_build(&corpus, candidates, count, references, reference_counts);
    if (status == BMC_OK) {
        switch (metric) {
        case BMC_CAPTION_ROUGE_L: status = bmci_rouge_l(&corpus, options, &corpus_value, scores); break;
        case BMC_CAPTION_METEOR: status = bmci_meteor(&corpus, options, &corpus_value, scores); break;
        case BMC_CAPTION_CIDER_D: status = bmci_cider_d(&corpus, options, &corpus_value, scores); break;
        default: status = bmci_bleu(&corpus, metric, options, &corpus_value, scores); break;
        }
        bmci_caption_corpus_free(&corpus);
    }
    if (status == BMC_OK) {
        if (corpus_score)
            *corpus_score = corpus_value;
        if (per_candidate)
            memcpy(per_candidate, scores, count * sizeof *scores);
    }
    free(scores);
    return status;
}
