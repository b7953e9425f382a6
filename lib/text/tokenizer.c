/* SPDX-License-Identifier: MIT */
/* The public tokenizer: vocabulary + options, text -> [CLS] ids [SEP], special tokens in text,
 * truncation, batches. The pipeline itself is in text_clean.c and wordpiece.c. */
#include "text/tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "text/text_buffer.h"
#include "text/text_clean.h"
#include "core/utf8.h"
#include "text/wordpiece.h"

#define MAX_CONTEXT_LENGTH 1048576

const char *const bmci_special_names[BMCI_SPECIAL_COUNT] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                            "[MASK]"};

void bmc_tokenizer_options_init(bmc_tokenizer_options *options)
{
    if (!options) return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->context_length = 256;
    options->lowercase = 1;
    options->clean = 1;
    options->invalid_utf8 = BMC_INVALID_UTF8_ERROR;
    options->overflow = BMC_OVERFLOW_TRUNCATE;
    options->special_tokens = 1;
}

static bmc_status check_options(const bmc_tokenizer_options *o)
{
    if (o->struct_size != sizeof *o)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: options.struct_size is %zu, expected %zu "
                         "(call bmc_tokenizer_options_init)", o->struct_size, sizeof *o);
    if (o->context_length < 2 || o->context_length > MAX_CONTEXT_LENGTH)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: options.context_length %d is outside 2..%d",
                         (int)o->context_length, MAX_CONTEXT_LENGTH);
    if (o->invalid_utf8 != BMC_INVALID_UTF8_ERROR && o->invalid_utf8 != BMC_INVALID_UTF8_REPLACE)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: options.invalid_utf8 %d is not a BMC_INVALID_UTF8_* value",
                         (int)o->invalid_utf8);
    if (o->overflow != BMC_OVERFLOW_TRUNCATE && o->overflow != BMC_OVERFLOW_ERROR)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: options.overflow %d is not a BMC_OVERFLOW_* value",
                         (int)o->overflow);
    return BMC_OK;
}

bmc_status bmc_tokenizer_create_memory(const char *vocab, size_t size,
                                       const bmc_tokenizer_options *options, bmc_tokenizer **out)
{
    if (!out) return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: out is NULL");
    if (!vocab && size > 0) return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: vocab is NULL");
    bmc_tokenizer_options defaults;
    bmc_tokenizer_options_init(&defaults);
    if (!options) options = &defaults;
    bmc_status status = check_options(options);
    if (status != BMC_OK) return status;

    bmc_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "tokenizer: no memory");
    t->options = *options;
    status = bmci_vocab_parse(&t->vocab, vocab ? vocab : "", size, "text");
    if (status != BMC_OK) {
        free(t);
        return status;
    }
    for (int i = 0; i < BMCI_SPECIAL_COUNT; i++) {
        const char *name = bmci_special_names[i];
        t->special[i] = bmci_vocab_find(&t->vocab, NULL, 0, name, strlen(name));
        if (t->special[i] < 0 && i != BMC_TOKEN_MASK) {
            bmc_tokenizer_free(t);
            return bmci_fail(BMC_ERR_CORRUPT_DATA, "tokenizer: the vocabulary has no %s token", name);
        }
    }
    *out = t;
    return BMC_OK;
}

bmc_status bmc_tokenizer_create_file(const char *path, const bmc_tokenizer_options *options,
                                     bmc_tokenizer **out)
{
    if (!path) return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: vocab_path is NULL");
    if (!out) return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: out is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return bmci_fail(BMC_ERR_IO, "tokenizer: cannot open '%s': %s", path, strerror(errno));
    bmci_str text = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) bmci_str_append(&text, chunk, got);
    int read_error = ferror(f);
    fclose(f);
    if (read_error) {
        bmci_str_free(&text);
        return bmci_fail(BMC_ERR_IO, "tokenizer: cannot read '%s'", path);
    }
    if (text.failed) {
        bmci_str_free(&text);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "tokenizer: no memory to read '%s'", path);
    }
    bmc_status status = bmc_tokenizer_create_memory(text.data ? text.data : "", text.len, options, out);
    bmci_str_free(&text);
    if (status != BMC_OK) {
        char context[512];
        snprintf(context, sizeof context, "'%s'", path);
        return bmci_fail_context(status, context);
    }
    return BMC_OK;
}

void bmc_tokenizer_free(bmc_tokenizer *t)
{
    if (!t) return;
    bmci_vocab_free(&t->vocab);
    free(t);
}

/* The special token whose text starts at s[0..n), or -1. */
static int special_at(const bmc_tokenizer *t, const char *s, size_t n)
{
    int best = -1;
    size_t best_len = 0;
    for (int i = 0; i < BMCI_SPECIAL_COUNT; i++) {
        size_t len = strlen(bmci_special_names[i]);
        if (t->special[i] >= 0 && len <= n && len > best_len && memcmp(s, bmci_special_names[i], len) == 0) {
            best = i;
            best_len = len;
        }
    }
    return best;
}

/* The text split at special tokens (leftmost, longest), each part through WordPiece. */
static bmc_status encode_parts(const bmc_tokenizer *t, const char *s, size_t n, bmci_id_sink *sink)
{
    int lowercase = t->options.lowercase != 0;
    int32_t unk = t->special[BMC_TOKEN_UNK];
    size_t start = 0, i = 0;
    while (t->options.special_tokens && i < n) {
        const char *open = memchr(s + i, '[', n - i);
        if (!open) break;
        i = (size_t)(open - s);
        int which = special_at(t, s + i, n - i);
        if (which < 0) {
            i++;
            continue;
        }
        bmc_status status = bmci_wordpiece_encode(&t->vocab, unk, lowercase, s + start, i - start, sink);
        if (status != BMC_OK || sink->full) return status;
        if (sink->count < sink->capacity) sink->ids[sink->count++] = t->special[which];
        else sink->full = 1;
        i += strlen(bmci_special_names[which]);
        start = i;
    }
    if (sink->full) return BMC_OK;
    return bmci_wordpiece_encode(&t->vocab, unk, lowercase, s + start, n - start, sink);
}

/* Invalid bytes as U+FFFD, one each. */
static void replace_invalid(const char *s, size_t n, bmci_str *out)
{
    size_t i = 0;
    while (i < n) {
        size_t bad = i + bmci_utf8_first_invalid(s + i, n - i);
        bmci_str_append(out, s + i, bad - i);
        if (bad == n) break;
        bmci_str_put(out, 0xFFFD);
        i = bad + 1;
    }
}

bmc_status bmci_tokenizer_encode(const bmc_tokenizer *t, const char *text, size_t length,
                                 int32_t *ids, size_t *count, int *truncated)
{
    bmci_str fixed = {0}, cleaned = {0};
    size_t bad = bmci_utf8_first_invalid(text, length);
    if (bad != length) {
        if (t->options.invalid_utf8 == BMC_INVALID_UTF8_ERROR)
            return bmci_fail(BMC_ERR_INVALID_UTF8, "tokenizer: invalid UTF-8 at byte offset %zu", bad);
        replace_invalid(text, length, &fixed);
        if (fixed.failed) {
            bmci_str_free(&fixed);
            return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "tokenizer: no memory to repair the text");
        }
        text = fixed.data;
        length = fixed.len;
    }
    bmc_status status = BMC_OK;
    if (t->options.clean) {
        status = bmci_clean_text(text, length, &cleaned);
        text = cleaned.data ? cleaned.data : "";
        length = cleaned.len;
    }
    size_t room = (size_t)t->options.context_length - 2;
    bmci_id_sink sink = {ids + 1, 0, room, 0};
    if (status == BMC_OK) status = encode_parts(t, text, length, &sink);
    bmci_str_free(&fixed);
    bmci_str_free(&cleaned);
    if (status != BMC_OK) return status;
    if (sink.full && t->options.overflow == BMC_OVERFLOW_ERROR)
        return bmci_fail(BMC_ERR_LIMIT, "tokenizer: the text needs more than the %d tokens of the context",
                         (int)t->options.context_length);
    ids[0] = t->special[BMC_TOKEN_CLS];
    ids[sink.count + 1] = t->special[BMC_TOKEN_SEP];
    *count = sink.count + 2;
    *truncated = sink.full;
    return BMC_OK;
}

bmc_status bmc_tokenizer_encode(const bmc_tokenizer *t, const char *text, size_t length,
                                int32_t *ids, size_t capacity, size_t *count, int32_t *truncated)
{
    if (!t) return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: tokenizer is NULL");
    if (!count) return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: count is NULL");
    if (!text && length > 0) return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: text is NULL");
    int32_t stack[512];
    size_t context = (size_t)t->options.context_length;
    int32_t *row = context <= 512 ? stack : malloc(context * sizeof *row);
    if (!row) return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "tokenizer: no memory for %zu ids", context);
    size_t needed = 0;
    int cut = 0;
    bmc_status status = bmci_tokenizer_encode(t, text ? text : "", length, row, &needed, &cut);
    if (status == BMC_OK && ids && capacity < needed)
        status = bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "tokenizer: the ids need %zu elements, the buffer has %zu",
                           needed, capacity);
    if (status == BMC_OK) {
        if (ids) memcpy(ids, row, needed * sizeof *ids);
        *count = needed;
        if (truncated) *truncated = cut;
    }
    if (row != stack) free(row);
    return status;
}

bmc_status bmc_tokenizer_encode_batch(const bmc_tokenizer *t, const char *const *texts, size_t n,
                                      int32_t *ids, size_t capacity, int32_t *lengths,
                                      int32_t *truncated)
{
    if (!t) return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: tokenizer is NULL");
    if (n == 0) return BMC_OK;
    if (!texts || !ids) return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: texts or ids is NULL");
    size_t context = (size_t)t->options.context_length;
    if (n > SIZE_MAX / context / sizeof *ids)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: a batch of %zu texts is too large", n);
    if (capacity < n * context)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "tokenizer: a batch of %zu texts needs %zu ids, the buffer has %zu",
                         n, n * context, capacity);
    /* Work in a private matrix so that a failure leaves the caller's buffers untouched. */
    int32_t *matrix = malloc(n * context * sizeof *matrix);
    int32_t *meta = malloc(2 * n * sizeof *meta);
    if (!matrix || !meta) {
        free(matrix);
        free(meta);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "tokenizer: no memory for a batch of %zu texts", n);
    }
    bmc_status status = BMC_OK;
    for (size_t i = 0; i < n && status == BMC_OK; i++) {
        if (!texts[i]) {
            status = bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: text %zu is NULL", i);
            break;
        }
        int32_t *row = matrix + i * context;
        size_t count = 0;
        int cut = 0;
        status = bmci_tokenizer_encode(t, texts[i], strlen(texts[i]), row, &count, &cut);
        if (status != BMC_OK) {
            char where[64];
            snprintf(where, sizeof where, "text %zu", i);
            status = bmci_fail_context(status, where);
            break;
        }
        for (size_t j = count; j < context; j++) row[j] = t->special[BMC_TOKEN_PAD];
        meta[2 * i] = (int32_t)count;
        meta[2 * i + 1] = cut;
    }
    if (status == BMC_OK) {
        memcpy(ids, matrix, n * context * sizeof *ids);
        for (size_t i = 0; i < n; i++) {
            if (lengths) lengths[i] = meta[2 * i];
            if (truncated) truncated[i] = meta[2 * i + 1];
        }
    }
    free(matrix);
    free(meta);
    return status;
}

bmc_status bmc_tokenizer_special_id(const bmc_tokenizer *t, int32_t which, int32_t *id)
{
    if (!t || !id) return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: tokenizer or id is NULL");
    if (which < 0 || which >= BMCI_SPECIAL_COUNT)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: %d is not a BMC_TOKEN_* value", (int)which);
    if (t->special[which] < 0)
        return bmci_fail(BMC_ERR_NOT_FOUND, "tokenizer: the vocabulary has no %s token", bmci_special_names[which]);
    *id = t->special[which];
    return BMC_OK;
}

bmc_status bmc_tokenizer_token(const bmc_tokenizer *t, int32_t id, const char **token)
{
    if (!t || !token) return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: tokenizer or token is NULL");
    if (id < 0 || id >= t->vocab.count)
        return bmci_fail(BMC_ERR_NOT_FOUND, "tokenizer: id %d is outside the vocabulary (0..%d)", (int)id,
                         (int)t->vocab.count - 1);
    *token = bmci_vocab_token(&t->vocab, id);
    return BMC_OK;
}

bmc_status bmc_tokenizer_token_id(const bmc_tokenizer *t, const char *token, int32_t *id)
{
    if (!t || !token || !id) return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: NULL argument");
    int32_t found = bmci_vocab_find(&t->vocab, NULL, 0, token, strlen(token));
    if (found < 0) return bmci_fail(BMC_ERR_NOT_FOUND, "tokenizer: '%s' is not in the vocabulary", token);
    *id = found;
    return BMC_OK;
}

bmc_status bmc_tokenizer_vocab_size(const bmc_tokenizer *t, int32_t *size)
{
    if (!t || !size) return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: tokenizer or size is NULL");
    *size = t->vocab.count;
    return BMC_OK;
}

bmc_status bmc_tokenizer_context_length(const bmc_tokenizer *t, int32_t *context_length)
{
    if (!t || !context_length)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "tokenizer: tokenizer or context_length is NULL");
    *context_length = t->options.context_length;
    return BMC_OK;
}
