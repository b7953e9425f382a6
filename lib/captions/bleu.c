/* SPDX-License-Identifier: MIT */
/* BLEU as nltk 3.8's corpus_bleu and sentence_bleu compute it (nltk/translate/bleu_score.py):
 * clipped n-gram counts against the maximum count in any one reference, denominators of at
 * least 1 per sentence, the brevity penalty from the closest reference length (the shorter
 * one on a tie), uniform weights 1/N, and the geometric mean taken as exp(fsum(w log p)).
 * Without smoothing a zero precision becomes sys.float_info.min, as nltk's method0 does;
 * smoothing methods 1-4 follow nltk's SmoothingFunction with its defaults. */
#include "captions/caption.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

typedef struct bleu_counts {
    int64_t numerator[4], denominator[4];
    int64_t hyp_length, ref_length;
} bleu_counts;

/* Python's math.fsum: the correctly rounded sum (Shewchuk's exact partials, then a
 * round-half-even correction of the last step). Only a handful of finite terms here. */
static double fsum(const double *x, int n)
{
    double partials[8];
    int count = 0;
    for (int k = 0; k < n; k++) {
        double v = x[k];
        int kept = 0;
        for (int j = 0; j < count; j++) {
            double y = partials[j];
            if (fabs(v) < fabs(y)) {
                double t = v;
                v = y;
                y = t;
            }
            double hi = v + y, lo = y - (hi - v);
            if (lo != 0.0)
                partials[kept++] = lo;
            v = hi;
        }
        partials[kept] = v;
        count = kept + 1;
    }
    if (count == 0)
        return 0.0;
    double hi = partials[--count], lo = 0.0;
    while (count > 0) {
        double v = hi, y = partials[--count];
        hi = v + y;
        lo = y - (hi - v);
        if (lo != 0.0)
            break;
    }
    /* If the remainder below `lo` pushes it past a tie, round in its direction. */
    if (count > 0 && ((lo < 0.0 && partials[count - 1] < 0.0) || (lo > 0.0 && partials[count - 1] > 0.0))) {
        double y = lo * 2.0, v = hi + y;
        if (y == v - hi)
            hi = v;
    }
    return hi;
}

static double brevity_penalty(int64_t ref_length, int64_t hyp_length)
{
    if (hyp_length > ref_length)
        return 1.0;
    if (hyp_length == 0)
        return 0.0;
    return exp(1.0 - (double)ref_length / (double)hyp_length);
}

static double bleu_from_counts(const bleu_counts *c, int max_n, const bmc_caption_options *o)
{
    if (c->numerator[0] == 0) /* nltk returns 0 before smoothing */
        return 0.0;
    double terms[4];
    int count = 0, zeros_seen = 0;
    for (int i = 0; i < max_n; i++) {
        double num = (double)c->numerator[i], den = (double)c->denominator[i], p;
        switch (o->bleu_smoothing) {
        case 1: p = c->numerator[i] ? num / den : (num + o->bleu_epsilon) / den; break;
        case 2: p = i == 0 ? num / den : (num + 1.0) / (den + 1.0); break;
        case 3: p = c->numerator[i] ? num / den : 1.0 / (ldexp(1.0, ++zeros_seen) * den); break;
        case 4:
            if (c->numerator[i] == 0 && c->hyp_length > 1)
                p = 1.0 / (ldexp(1.0, ++zeros_seen) * o->bleu_k / log((double)c->hyp_length)) / den;
            else
                p = num / den;
            break;
        default: p = c->numerator[i] ? num / den : DBL_MIN; break;
        }
        if (p > 0.0) /* nltk skips precisions that stay 0 */
            terms[count++] = (1.0 / max_n) * log(p);
    }
    return brevity_penalty(c->ref_length, c->hyp_length) * exp(fsum(terms, count));
}

/* Counts of candidate i. `hyp`, `ref` and `best` have room for the longest sentence. */
static bmc_status sentence_counts(const bmci_caption_corpus *corpus, size_t i, int max_n,
                                  bmci_intern *table, bmci_ngram_count *hyp,
                                  bmci_ngram_count *ref, int32_t *best, bleu_counts *c)
{
    const bmci_sentence *candidate = &corpus->candidates[i];
    size_t first = corpus->first_reference[i], last = corpus->first_reference[i + 1];
    memset(c, 0, sizeof *c);
    for (int n = 1; n <= max_n; n++) {
        long h = bmci_ngram_counts(table, candidate, n, hyp);
        if (h < 0)
            return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_caption_score: out of memory");
        memset(best, 0, (size_t)h * sizeof *best);
        for (size_t r = first; r < last; r++) {
            long m = bmci_ngram_counts(table, &corpus->references[r], n, ref);
            if (m < 0)
                return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_caption_score: out of memory");
            for (long a = 0, b = 0; a < h && b < m;) { /* both sorted by id */
                if (hyp[a].id < ref[b].id) {
                    a++;
                } else if (hyp[a].id > ref[b].id) {
                    b++;
                } else {
                    if (ref[b].count > best[a])
                        best[a] = ref[b].count;
                    a++;
                    b++;
                }
            }
        }
        int64_t clipped = 0, total = 0;
        for (long a = 0; a < h; a++) {
            clipped += hyp[a].count < best[a] ? hyp[a].count : best[a];
            total += hyp[a].count;
        }
        c->numerator[n - 1] = clipped;
        c->denominator[n - 1] = total > 1 ? total : 1;
    }
    /* the closest reference length; on a tie the shorter */
    int64_t hyp_length = (int64_t)candidate->length, closest = -1;
    for (size_t r = first; r < last; r++) {
        int64_t length = (int64_t)corpus->references[r].length;
        int64_t gap = llabs(length - hyp_length), best_gap = llabs(closest - hyp_length);
        if (closest < 0 || gap < best_gap || (gap == best_gap && length < closest))
            closest = length;
    }
    c->hyp_length = hyp_length;
    c->ref_length = closest;
    return BMC_OK;
}

bmc_status bmci_bleu(const bmci_caption_corpus *corpus, int max_n, const bmc_caption_options *options,
                     double *corpus_score, double *per_candidate)
{
    size_t longest = 1;
    for (size_t i = 0; i < corpus->count; i++)
        if (corpus->candidates[i].length > longest)
            longest = corpus->candidates[i].length;
    for (size_t r = 0; r < corpus->first_reference[corpus->count]; r++)
        if (corpus->references[r].length > longest)
            longest = corpus->references[r].length;
    bmci_intern table;
    bmci_intern_init(&table);
    bmci_ngram_count *hyp = malloc(longest * sizeof *hyp), *ref = malloc(longest * sizeof *ref);
    int32_t *best = malloc(longest * sizeof *best);
    bmc_status status = hyp && ref && best ? BMC_OK
                        : bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_caption_score: out of memory");
    bleu_counts total = {{0}, {0}, 0, 0};
    for (size_t i = 0; i < corpus->count && status == BMC_OK; i++) {
        bleu_counts c;
        status = sentence_counts(corpus, i, max_n, &table, hyp, ref, best, &c);
        if (status != BMC_OK)
            break;
        for (int n = 0; n < max_n; n++) {
            total.numerator[n] += c.numerator[n];
            total.denominator[n] += c.denominator[n];
        }
        total.hyp_length += c.hyp_length;
        total.ref_length += c.ref_length;
        if (per_candidate)
            per_candidate[i] = bleu_from_counts(&c, max_n, options);
    }
    if (status == BMC_OK)
        *corpus_score = bleu_from_counts(&total, max_n, options);
    free(hyp);
    free(ref);
    free(best);
    bmci_intern_free(&table);
    return status;
}
