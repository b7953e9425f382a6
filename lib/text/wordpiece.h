/* SPDX-License-Identifier: MIT */
/* The BERT pipeline of the Hugging Face `tokenizers` library on valid UTF-8 text:
 * BertNormalizer (clean_text, CJK spacing, strip accents + lowercase when `lowercase`),
 * BertPreTokenizer and WordPiece (greedy longest match, "##" continuations, [UNK] for a word over
 * 100 characters or with an unmatchable position). Special tokens and [CLS]/[SEP] are the
 * caller's business (lib/text/tokenizer.c). */
#ifndef BMC_LIB_WORDPIECE_H
#define BMC_LIB_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

#include "text/vocab.h"

/* Where ids go: at most `capacity` of them; `full` is set when one more did not fit, at which
 * point encoding stops early (the caller only needs to know that the text was longer). */
typedef struct bmci_id_sink {
    int32_t *ids;
    size_t count, capacity;
    int full;
} bmci_id_sink;

/* Tokenize text[0..length) (valid UTF-8) into `sink`. Returns BMC_OK or BMC_ERR_OUT_OF_MEMORY.
 * Thread-safe: the vocabulary is only read. */
bmc_status bmci_wordpiece_encode(const bmci_vocab *vocab, int32_t unk_id, int lowercase,
                                 const char *text, size_t length, bmci_id_sink *sink);

/* The normalizer alone on one code point, for the per-code-point parity check: writes what
 * BertNormalizer makes of `c` in the middle of a word to out (room for 8) and returns the count
 * (the spaces around a CJK ideograph included). */
size_t bmci_wordpiece_normalize_char(uint32_t c, int lowercase, uint32_t *out);

#endif
