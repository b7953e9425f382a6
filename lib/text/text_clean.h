/* SPDX-License-Identifier: MIT */
/* open_clip's text cleaning for BiomedCLIP (clean='whitespace'): ftfy.fix_text's deterministic
 * fixes, html.unescape twice, then whitespace stripped and collapsed. docs/tokenizer.md lists
 * exactly what is and is not reproduced. */
#ifndef BMC_LIB_TEXT_CLEAN_H
#define BMC_LIB_TEXT_CLEAN_H

#include <stddef.h>

#include "biomedclip.h"
#include "text/text_buffer.h"

/* The whole cleaning step on text[0..length) (valid UTF-8); the result replaces out's content.
 * Errors: BMC_ERR_OUT_OF_MEMORY. Thread-safe. */
bmc_status bmci_clean_text(const char *text, size_t length, bmci_str *out);

/* ftfy.fix_text() with its default configuration, less the mojibake heuristics. */
void bmci_ftfy_fix_text(const char *text, size_t length, bmci_str *out);

/* Python's html.unescape(), appended to out. */
void bmci_html_unescape(const char *text, size_t length, bmci_str *out);

/* ftfy's own fixes.unescape_html(): only ';'-terminated references of at most 24 ASCII letters
 * and digits, plus ftfy's upper-case entity names. Appended to out. */
void bmci_ftfy_unescape_html(const char *text, size_t length, bmci_str *out);

/* Python's str.isspace() for one code point. */
int bmci_python_isspace(uint32_t c);

#endif
