/* SPDX-License-Identifier: MIT */
/* Internal view of bmc_tokenizer for other modules (the text encoder) and tests. */
#ifndef BMC_LIB_TOKENIZER_H
#define BMC_LIB_TOKENIZER_H

#include "biomedclip.h"
#include "text/vocab.h"

#define BMCI_SPECIAL_COUNT 5 /* BMC_TOKEN_PAD .. BMC_TOKEN_MASK */

struct bmc_tokenizer {
    bmci_vocab vocab;
    bmc_tokenizer_options options;
    int32_t special[BMCI_SPECIAL_COUNT]; /* ids by BMC_TOKEN_*; -1 if absent ([MASK] only) */
};

/* The token text of each BMC_TOKEN_* ("[PAD]", ...). */
extern const char *const bmci_special_names[BMCI_SPECIAL_COUNT];

/* Tokenize into ids[0..*count) = [CLS] tokens [SEP] with at most context_length ids; `ids` has
 * room for context_length. *truncated tells whether tokens were dropped. Errors as
 * bmc_tokenizer_encode() (without the buffer checks). */
bmc_status bmci_tokenizer_encode(const bmc_tokenizer *tokenizer, const char *text, size_t length,
                                 int32_t *ids, size_t *count, int *truncated);

#endif
