/* SPDX-License-Identifier: MIT */
/* Internal pieces of the caption metrics (metrics.c is the public entry): the
 * tokenised corpus, the Porter stemmer, n-gram counting and one module per metric. */
#ifndef BMC_LIB_CAPTION_H
#define BMC_LIB_CAPTION_H

#include <stddef.h>
#include <stdint.h>

#include "biomedclip.h"
#include "core/intern.h"

/* A tokenised caption: word ids from the corpus's word table. */
typedef struct bmci_sentence {
    const int32_t *tokens;
    size_t length;
} bmci_sentence;

typedef struct bmci_caption_corpus {
    size_t count;                /* candidates */
    bmci_sentence *candidates;   /* count */
    bmci_sentence *references;   /* every reference, grouped by candidate */
    size_t *first_reference;     /* candidate i's references: [first[i], first[i + 1]) */
    int32_t *tokens;             /* storage behind all sentences */
    bmci_intern words;           /* word id -> its UTF-8 bytes */
} bmci_caption_corpus;

/* Tokenise every caption (the rules of include/biomedclip.h) into `corpus`. Arguments are
 * checked by the caller, except UTF-8 validity. On failure the corpus holds nothing. */
bmc_status bmci_caption_corpus_build(bmci_caption_corpus *corpus, const char *const *candidates,
                                     size_t count, const char *const *references,
                                     const size_t *reference_counts);
void bmci_caption_corpus_free(bmci_caption_corpus *corpus);

/* Stem a lowercase word of `length` code points in place, as nltk's PorterStemmer does in its
 * default NLTK_EXTENSIONS mode; returns the stem's length (never more than `length`). */
size_t bmci_porter_stem(uint32_t *word, size_t length);

/* One n-gram of a sentence with its number of occurrences. */
typedef struct bmci_ngram_count {
    int32_t id;
    int32_t count;
} bmci_ngram_count;

/* The distinct n-grams (ids from `table`) of a sentence with their counts, sorted by id, into
 * `out` (room for length entries). Returns how many, or -1 when out of memory. */
long bmci_ngram_counts(bmci_intern *table, const bmci_sentence *sentence, int n,
                       bmci_ngram_count *out);

/* The metrics over a corpus; `per_candidate` may be NULL. */
bmc_status bmci_bleu(const bmci_caption_corpus *corpus, int max_n, const bmc_caption_options *options,
                     double *corpus_score, double *per_candidate);
bmc_status bmci_rouge_l(const bmci_caption_corpus *corpus, const bmc_caption_options *options,
                        double *corpus_score, double *per_candidate);
bmc_status bmci_meteor(const bmci_caption_corpus *corpus, const bmc_caption_options *options,
                       double *corpus_score, double *per_candidate);
bmc_status bmci_cider_d(const bmci_caption_corpus *corpus, const bmc_caption_options *options,
                        double *corpus_score, double *per_candidate);

#endif
