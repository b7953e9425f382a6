/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the tokenizer on arbitrary bytes, with every option, and vocabulary parsing.
 * The first byte picks options; the rest is the text (or, in vocabulary mode, the vocab.txt).
 * Any status is fine; crashes, leaks, sanitizer reports and ids out of range are not. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "biomedclip.h"

static const char vocab[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n!\n\"\n#\n&\n'\n(\n)\n,\n-\n.\n/\n:\n;\n[\n]\na\nb\nc\ne\n"
    "i\nl\nn\no\np\nr\ns\nt\nu\nx\ny\n##a\n##b\n##e\n##i\n##n\n##o\n##s\n##t\n##x\nlung\nchest\n"
    "ray\ncafe\n\xE8\x82\xBA\n##\xE8\x82\xBA\nthe\n##ing\n\xC3\xA9\n";

static void check_ids(const bmc_tokenizer *t, const int32_t *ids, size_t n)
{
    int32_t size = 0;
    bmc_tokenizer_vocab_size(t, &size);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= size) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    uint8_t mode = data[0];
    const char *text = (const char *)data + 1;
    size_t length = size - 1;
    bmc_tokenizer_options o;
    bmc_tokenizer_options_init(&o);
    o.lowercase = mode & 1;
    o.clean = (mode >> 1) & 1;
    o.special_tokens = (mode >> 2) & 1;
    o.invalid_utf8 = (mode >> 3) & 1 ? BMC_INVALID_UTF8_REPLACE : BMC_INVALID_UTF8_ERROR;
    o.context_length = (mode >> 4) & 1 ? 8 : 256;
    o.overflow = (mode >> 5) & 1 ? BMC_OVERFLOW_ERROR : BMC_OVERFLOW_TRUNCATE;

    bmc_tokenizer *t = NULL;
    if (mode & 0x80) { /* vocabulary mode: the input is a vocab.txt */
        if (bmc_tokenizer_create_memory(text, length, &o, &t) != BMC_OK) return 0;
        text = "Chest x-ray [MASK] caf\xC3\xA9 \xE8\x82\xBA\xE8\x82\xBA lungs";
        length = strlen(text);
    } else if (bmc_tokenizer_create_memory(vocab, sizeof vocab - 1, &o, &t) != BMC_OK) {
        abort();
    }
    int32_t ids[256];
    size_t count = 0;
    int32_t truncated = 0;
    if (bmc_tokenizer_encode(t, text, length, ids, 256, &count, &truncated) == BMC_OK) {
        if (count < 2 || count > (size_t)o.context_length) abort();
        check_ids(t, ids, count);
    }
    bmc_tokenizer_free(t);
    return 0;
}
