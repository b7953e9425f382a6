/* SPDX-License-Identifier: MIT */
/* Caption tokenisation and the tokenised corpus that every metric reads.
 *
 * Rules (also in include/biomedclip.h and docs/caption-metrics.md): valid UTF-8; each code
 * point lowercased with utf8proc's simple case mapping; ASCII whitespace and ASCII
 * punctuation separate tokens and are dropped; a token is a maximal run of other code
 * points. Tokens are interned, so sentences become arrays of word ids. */
#include "captions/caption.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/error.h"

static int is_separator(utf8proc_int32_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '!' && c <= '/') ||
           (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

/* Append the tokens of `text` to tokens[*used ...] (room for strlen(text) ids: a token takes
 * at least one byte). `what` and `item` name the text in error messages. */
static bmc_status tokenize(bmci_intern *words, const char *text, int32_t *tokens, size_t *used,
                           const char *what, size_t item)
{
    size_t n = strlen(text);
    char *word = malloc(n * 2 + 8); /* lowercasing can lengthen a code point's encoding */
    if (!word)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_caption_score: out of memory");
    size_t word_length = 0;
    bmc_status status = BMC_OK;
    for (size_t at = 0; at <= n; ) {
        utf8proc_int32_t c = ' '; /* the end of the text ends the last token */
        if (at < n) {
            utf8proc_ssize_t step = utf8proc_iterate((const utf8proc_uint8_t *)text + at,
                                                     (utf8proc_ssize_t)(n - at), &c);
            if (step < 0) {
                status = bmci_fail(BMC_ERR_INVALID_UTF8, "bmc_caption_score: %s %zu is not valid "
                                   "UTF-8 at byte %zu", what, item, at);
                break;
            }
            at += (size_t)step;
        } else {
            at++;
        }
        if (!is_separator(c)) {
            word_length += (size_t)utf8proc_encode_char(utf8proc_tolower(c),
                                                        (utf8proc_uint8_t *)word + word_length);
            continue;
        }
        if (word_length) {
            int32_t id = bmci_intern_add(words, word, word_length);
            if (id < 0) {
                status = bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_caption_score: out of memory");
                break;
            }
            tokens[(*used)++] = id;
            word_length = 0;
        }
    }
    free(word);
    return status;
}

void bmci_caption_corpus_free(bmci_caption_corpus *corpus)
{
    free(corpus->candidates);
    free(corpus->references);
    free(corpus->first_reference);
    free(corpus->tokens);
    bmci_intern_free(&corpus->words);
    memset(corpus, 0, sizeof *corpus);
}

bmc_status bmci_caption_corpus_build(bmci_caption_corpus *corpus, const char *const *candidates,
                                     size_t count, const char *const *references,
                                     const size_t *reference_counts)
{
    memset(corpus, 0, sizeof *corpus);
    bmci_intern_init(&corpus->words);
    size_t total_references = 0, total_bytes = 0;
    for (size_t i = 0; i < count; i++) {
        total_references += reference_counts[i];
        total_bytes += strlen(candidates[i]);
    }
    for (size_t r = 0; r < total_references; r++)
        total_bytes += strlen(references[r]);
    corpus->count = count;
    corpus->candidates = calloc(count, sizeof *corpus->candidates);
    corpus->references = calloc(total_references ? total_references : 1, sizeof *corpus->references);
    corpus->first_reference = calloc(count + 1, sizeof *corpus->first_reference);
    corpus->tokens = malloc((total_bytes ? total_bytes : 1) * sizeof *corpus->tokens);
    if (!corpus->candidates || !corpus->references || !corpus->first_reference || !corpus->tokens) {
        bmci_caption_corpus_free(corpus);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_caption_score: out of memory");
    }
    /* The token storage has room for every token up front, so sentences can point into it. */
    size_t used = 0, r = 0;
    bmc_status status = BMC_OK;
    for (size_t i = 0; i < count && status == BMC_OK; i++) {
        size_t start = used;
        status = tokenize(&corpus->words, candidates[i], corpus->tokens, &used, "candidate", i);
        corpus->candidates[i] = (bmci_sentence){corpus->tokens + start, used - start};
        corpus->first_reference[i] = r;
        for (size_t j = 0; j < reference_counts[i] && status == BMC_OK; j++, r++) {
            start = used;
            status = tokenize(&corpus->words, references[r], corpus->tokens, &used, "reference", r);
            corpus->references[r] = (bmci_sentence){corpus->tokens + start, used - start};
        }
    }
    corpus->first_reference[count] = total_references;
    if (status != BMC_OK)
        bmci_caption_corpus_free(corpus);
    return status;
}
