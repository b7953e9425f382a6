/* SPDX-License-Identifier: MIT */
/* METEOR as nltk 3.8's meteor_score computes it (nltk/translate/meteor_score.py) with its
 * exact and stem stages and without the WordNet synonym stage (as if WordNet had no synsets;
 * this library ships no WordNet). For each reference: align words, first identical ones, then
 * identical Porter stems among those left, each stage scanning the candidate from its last
 * word back and taking the last unmatched reference word that fits; then
 *     P = m / |candidate|, R = m / |reference|, Fmean = P R / (alpha P + (1 - alpha) R),
 *     penalty = gamma (chunks / m)^beta, score = (1 - penalty) Fmean,
 * where chunks counts runs of matches adjacent in both sentences. A candidate's score is the
 * best over its references; the corpus score is their mean. No match (or an empty sentence)
 * scores 0. */
#include "captions/caption.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/error.h"

/* Stem id of every word of the corpus (stems interned in `stems`). */
static bmc_status stem_words(const bmci_caption_corpus *corpus, bmci_intern *stems, int32_t **out)
{
    size_t words = corpus->words.count, longest = 0;
    for (size_t w = 0; w < words; w++) {
        size_t length;
        bmci_intern_key(&corpus->words, (int32_t)w, &length);
        if (length > longest)
            longest = length;
    }
    int32_t *stem_of = malloc((words ? words : 1) * sizeof *stem_of);
    uint32_t *code_points = malloc((longest + 1) * sizeof *code_points);
    char *utf8 = malloc(longest * 4 + 1);
    bmc_status status = stem_of && code_points && utf8
                            ? BMC_OK
                            : bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_caption_score: out of memory");
    for (size_t w = 0; w < words && status == BMC_OK; w++) {
        size_t length, n = 0;
        const utf8proc_uint8_t *bytes = bmci_intern_key(&corpus->words, (int32_t)w, &length);
        for (size_t at = 0; at < length; n++) { /* valid: the tokenizer checked it */
            utf8proc_int32_t c;
            at += (size_t)utf8proc_iterate(bytes + at, (utf8proc_ssize_t)(length - at), &c);
            code_points[n] = (uint32_t)c;
        }
        n = bmci_porter_stem(code_points, n);
        size_t used = 0;
        for (size_t k = 0; k < n; k++)
            used += (size_t)utf8proc_encode_char((utf8proc_int32_t)code_points[k],
                                                (utf8proc_uint8_t *)utf8 + used);
        stem_of[w] = bmci_intern_add(stems, utf8, used);
        if (stem_of[w] < 0)
            status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_caption_score: out of memory");
    }
    free(code_points);
    free(utf8);
    if (status != BMC_OK) {
        free(stem_of);
        return status;
    }
    *out = stem_of;
    return BMC_OK;
}

/* One alignment stage: candidate words from the last to the first, each matched with the
 * last unmatched reference word of the same key. match[i] is the reference position matched
 * to candidate word i, or -1. */
static void align_stage(const bmci_sentence *hyp, const bmci_sentence *ref, const int32_t *key,
                        long *match, unsigned char *ref_taken)
{
    for (size_t i = hyp->length; i-- > 0;) {
        if (match[i] >= 0)
            continue;
        int32_t want = key ? key[hyp->tokens[i]] : hyp->tokens[i];
        for (size_t j = ref->length; j-- > 0;) {
            if (!ref_taken[j] && (key ? key[ref->tokens[j]] : ref->tokens[j]) == want) {
                match[i] = (long)j;
                ref_taken[j] = 1;
                break;
            }
        }
    }
}

static double single_meteor(const bmci_sentence *hyp, const bmci_sentence *ref,
                            const int32_t *stem_of, const bmc_caption_options *o, long *match,
                            unsigned char *ref_taken)
{
    if (hyp->length == 0 || ref->length == 0)
        return 0.0;
    for (size_t i = 0; i < hyp->length; i++)
        match[i] = -1;
    memset(ref_taken, 0, ref->length);
    align_stage(hyp, ref, NULL, match, ref_taken);
    align_stage(hyp, ref, stem_of, match, ref_taken);
    size_t matches = 0, chunks = 0;
    long previous_ref = -2;
    size_t previous_hyp = 0;
    for (size_t i = 0; i < hyp->length; i++) { /* matches in candidate order */
        if (match[i] < 0)
            continue;
        if (matches == 0 || i != previous_hyp + 1 || match[i] != previous_ref + 1)
            chunks++;
        matches++;
        previous_hyp = i;
        previous_ref = match[i];
    }
    if (matches == 0)
        return 0.0;
    double precision = (double)matches / (double)hyp->length;
    double recall = (double)matches / (double)ref->length;
    double fmean = (precision * recall) / (o->meteor_alpha * precision + (1 - o->meteor_alpha) * recall);
    double fragmentation = (double)chunks / (double)matches;
    double penalty = o->meteor_gamma * pow(fragmentation, o->meteor_beta);
    return (1 - penalty) * fmean;
}

bmc_status bmci_meteor(const bmci_caption_corpus *corpus, const bmc_caption_options *options,
                       double *corpus_score, double *per_candidate)
{
    bmci_intern stems;
    bmci_intern_init(&stems);
    int32_t *stem_of = NULL;
    bmc_status status = stem_words(corpus, &stems, &stem_of);
    bmci_intern_free(&stems);
    if (status != BMC_OK)
        return status;
    size_t longest = 1;
    for (size_t i = 0; i < corpus->count; i++)
        if (corpus->candidates[i].length > longest)
            longest = corpus->candidates[i].length;
    for (size_t r = 0; r < corpus->first_reference[corpus->count]; r++)
        if (corpus->references[r].length > longest)
            longest = corpus->references[r].length;
    long *match = malloc(longest * sizeof *match);
    unsigned char *ref_taken = malloc(longest);
    if (!match || !ref_taken) {
        free(match);
        free(ref_taken);
        free(stem_of);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_caption_score: out of memory");
    }
    double sum = 0.0;
    for (size_t i = 0; i < corpus->count; i++) {
        double best = 0.0;
        for (size_t r = corpus->first_reference[i]; r < corpus->first_reference[i + 1]; r++) {
            double score = single_meteor(&corpus->candidates[i], &corpus->references[r], stem_of,
                                         options, match, ref_taken);
            if (r == corpus->first_reference[i] || score > best)
                best = score;
        }
        if (per_candidate)
            per_candidate[i] = best;
        sum += best;
    }
    *corpus_score = sum / (double)corpus->count;
    free(match);
    free(ref_taken);
    free(stem_of);
    return BMC_OK;
}
