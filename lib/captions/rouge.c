/* SPDX-License-Identifier: MIT */
/* ROUGE-L as coco-caption computes it (pycocoevalcap/rouge/rouge.py, after Lin 2004): per
 * candidate, the longest common subsequence with each reference gives a precision
 * LCS/|candidate| and a recall LCS/|reference|; the best precision and the best recall (each
 * over all references, separately) combine as
 *     F = (1 + beta^2) P R / (R + beta^2 P),   beta = 1.2,
 * and the corpus score is the mean of F. An empty candidate or reference counts as no
 * overlap (coco-caption's split(" ") would see one empty token, with the same result). */
#include "captions/caption.h"

#include <stdlib.h>

#include "core/error.h"

/* LCS length by dynamic programming, keeping one row (`row` has b_length + 1 entries). */
static size_t lcs_length(const bmci_sentence *a, const bmci_sentence *b, size_t *row)
{
    for (size_t j = 0; j <= b->length; j++)
        row[j] = 0;
    for (size_t i = 1; i <= a->length; i++) {
        size_t diagonal = 0; /* row[j - 1] of the previous i */
        for (size_t j = 1; j <= b->length; j++) {
            size_t above = row[j];
            row[j] = a->tokens[i - 1] == b->tokens[j - 1] ? diagonal + 1
                     : above > row[j - 1]                 ? above
                                                          : row[j - 1];
            diagonal = above;
        }
    }
    return row[b->length];
}

bmc_status bmci_rouge_l(const bmci_caption_corpus *corpus, const bmc_caption_options *options,
                        double *corpus_score, double *per_candidate)
{
    size_t longest = 0;
    for (size_t i = 0; i < corpus->count; i++)
        if (corpus->candidates[i].length > longest)
            longest = corpus->candidates[i].length;
    size_t *row = malloc((longest + 1) * sizeof *row);
    if (!row)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_caption_score: out of memory");
    double beta2 = options->rouge_beta * options->rouge_beta, sum = 0.0;
    for (size_t i = 0; i < corpus->count; i++) {
        const bmci_sentence *candidate = &corpus->candidates[i];
        double best_precision = 0.0, best_recall = 0.0;
        for (size_t r = corpus->first_reference[i]; r < corpus->first_reference[i + 1]; r++) {
            const bmci_sentence *reference = &corpus->references[r];
            if (candidate->length == 0 || reference->length == 0)
                continue;
            double lcs = (double)lcs_length(reference, candidate, row);
            double precision = lcs / (double)candidate->length;
            double recall = lcs / (double)reference->length;
            if (precision > best_precision)
                best_precision = precision;
            if (recall > best_recall)
                best_recall = recall;
        }
        double f = 0.0;
        if (best_precision != 0.0 && best_recall != 0.0)
            f = ((1.0 + beta2) * best_precision * best_recall) / (best_recall + beta2 * best_precision);
        if (per_candidate)
            per_candidate[i] = f;
        sum += f;
    }
    *corpus_score = sum / (double)corpus->count;
    free(row);
    return BMC_OK;
}
