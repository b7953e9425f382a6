/* SPDX-License-Identifier: MIT */
/* N-gram counts of a tokenised sentence: the shared first step of BLEU and CIDEr-D. */
#include "captions/caption.h"

#include <stdlib.h>

static int by_id(const void *a, const void *b)
{
    int32_t x = ((const bmci_ngram_count *)a)->id, y = ((const bmci_ngram_count *)b)->id;
    return (x > y) - (x < y);
}

long bmci_ngram_counts(bmci_intern *table, const bmci_sentence *sentence, int n,
                       bmci_ngram_count *out)
{
    if (sentence->length < (size_t)n)
        return 0;
    size_t positions = sentence->length - (size_t)n + 1;
    for (size_t i = 0; i < positions; i++) {
        /* the key is the n word ids themselves; its length tells the order apart */
        int32_t id = bmci_intern_add(table, sentence->tokens + i, (size_t)n * sizeof(int32_t));
        if (id < 0)
            return -1;
        out[i] = (bmci_ngram_count){id, 1};
    }
    qsort(out, positions, sizeof *out, by_id);
    size_t distinct = 0;
    for (size_t i = 0; i < positions; i++) {
        if (distinct && out[distinct - 1].id == out[i].id)
            out[distinct - 1].count++;
        else
            out[distinct++] = out[i];
    }
    return (long)distinct;
}
