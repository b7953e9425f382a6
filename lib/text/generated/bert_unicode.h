/* SPDX-License-Identifier: MIT */
/* Character classes of the BERT normalizer and pre-tokenizer, exactly as the Hugging Face
 * `tokenizers` library (Rust) decides them. It uses the tables of the `unicode_categories` crate
 * (an older Unicode version than utf8proc's) for controls, punctuation and non-spacing marks and
 * Rust's standard library for lowercase and whitespace, so utf8proc's categories would disagree
 * on characters added to Unicode since then. lib/text/generated/bert_unicode.c is generated from the reference
 * by tools/codegen/make_tokenizer_unicode.py. All functions are pure and thread-safe. */
#ifndef BMC_LIB_BERT_UNICODE_H
#define BMC_LIB_BERT_UNICODE_H

#include <stdint.h>

typedef struct bmci_range {
    uint32_t first, last;
} bmci_range;

/* clean_text removes it: U+0000, U+FFFD, and controls (Cc, Cf, Co) other than tab, LF, CR. */
int bmci_bert_is_dropped(uint32_t c);
/* clean_text turns it into U+0020 (whitespace that is not removed as a control). */
int bmci_bert_is_space(uint32_t c);
/* The pre-tokenizer splits on it and drops it. */
int bmci_bert_is_whitespace(uint32_t c);
/* The pre-tokenizer makes it a word of its own (ASCII punctuation or Unicode P*). */
int bmci_bert_is_punctuation(uint32_t c);
/* strip_accents removes it after NFD (Mn). */
int bmci_bert_is_mark(uint32_t c);
/* The reference's NFD leaves this character whole although Unicode decomposes it (characters
 * newer than its normalization tables). */
int bmci_bert_keeps_composed(uint32_t c);
/* Rust's char::to_lowercase for every character but U+0130, which becomes "i" U+0307. */
uint32_t bmci_bert_lowercase(uint32_t c);

#endif
