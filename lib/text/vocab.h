/* SPDX-License-Identifier: MIT */
/* A WordPiece vocabulary: vocab.txt parsed into an immutable token <-> id map. */
#ifndef BMC_LIB_VOCAB_H
#define BMC_LIB_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "biomedclip.h"

typedef struct bmci_vocab {
    char *blob;          /* every token, each followed by NUL, in line order */
    uint32_t *offsets;   /* offsets[id] = start of token `id` in blob; offsets[count] = end */
    int32_t count;       /* number of lines = number of ids */
    uint32_t *slots;     /* open-addressing hash table of id + 1 (0 = empty) */
    uint32_t mask;       /* slot count - 1 (a power of two) */
    size_t max_len;      /* longest token in bytes */
    size_t max_cont_len; /* longest token that starts with "##", without the "##" */
} bmci_vocab;

/* Parse vocab.txt text: one token per line, id = 0-based line number; a final line without a
 * newline counts, a trailing newline adds no empty token, "\r\n" endings are accepted. A token
 * that appears twice maps to its last line (as in the Hugging Face libraries). Errors:
 * BMC_ERR_CORRUPT_DATA (empty, not UTF-8, NUL bytes, more than 2^31-2 lines),
 * BMC_ERR_OUT_OF_MEMORY. `what` names the source in messages. */
bmc_status bmci_vocab_parse(bmci_vocab *vocab, const char *text, size_t size, const char *what);

void bmci_vocab_free(bmci_vocab *vocab);

/* The id of the token prefix + bytes (prefix may be NULL), or -1 if it is not in the vocab. */
int32_t bmci_vocab_find(const bmci_vocab *vocab, const char *prefix, size_t prefix_len,
                        const char *bytes, size_t len);

static inline const char *bmci_vocab_token(const bmci_vocab *vocab, int32_t id)
{
    return vocab->blob + vocab->offsets[id];
}

#endif
