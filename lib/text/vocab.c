/* SPDX-License-Identifier: MIT */
/* vocab.txt parsing and the token -> id hash table. */
#include "text/vocab.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/utf8.h"

/* FNV-1a over prefix then bytes, so "##" + piece is hashed without building the string. */
static uint32_t hash_bytes(uint32_t h, const char *bytes, size_t len)
{
    const unsigned char *p = (const unsigned char *)bytes;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static uint32_t hash_token(const char *prefix, size_t prefix_len, const char *bytes, size_t len)
{
    return hash_bytes(hash_bytes(2166136261u, prefix, prefix_len), bytes, len);
}

static int token_equals(const bmci_vocab *v, int32_t id, const char *prefix, size_t prefix_len,
                        const char *bytes, size_t len)
{
    const char *t = bmci_vocab_token(v, id);
    size_t tlen = v->offsets[id + 1] - v->offsets[id] - 1;
    return tlen == prefix_len + len && (prefix_len == 0 || memcmp(t, prefix, prefix_len) == 0) &&
           memcmp(t + prefix_len, bytes, len) == 0;
}

int32_t bmci_vocab_find(const bmci_vocab *v, const char *prefix, size_t prefix_len,
                        const char *bytes, size_t len)
{
    if (!prefix) prefix_len = 0;
    uint32_t i = hash_token(prefix, prefix_len, bytes, len) & v->mask;
    for (;;) {
        uint32_t slot = v->slots[i];
        if (slot == 0) return -1;
        if (token_equals(v, (int32_t)slot - 1, prefix, prefix_len, bytes, len))
            return (int32_t)slot - 1;
        i = (i + 1) & v->mask;
    }
}

/* Insert every id; a repeated token's slot is taken over by its later line. */
static void build_table(bmci_vocab *v)
{
    for (int32_t id = 0; id < v->count; id++) {
        const char *t = bmci_vocab_token(v, id);
        size_t len = v->offsets[id + 1] - v->offsets[id] - 1;
        uint32_t i = hash_token(NULL, 0, t, len) & v->mask;
        while (v->slots[i] != 0 && !token_equals(v, (int32_t)v->slots[i] - 1, NULL, 0, t, len))
            i = (i + 1) & v->mask;
        v->slots[i] = (uint32_t)id + 1;
        if (len > v->max_len) v->max_len = len;
        if (len >= 2 && t[0] == '#' && t[1] == '#' && len - 2 > v->max_cont_len)
            v->max_cont_len = len - 2;
    }
}

static size_t count_lines(const char *text, size_t size)
{
    size_t lines = 0;
    for (const char *p = text, *end = text + size; p < end; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    return lines;
}

bmc_status bmci_vocab_parse(bmci_vocab *v, const char *text, size_t size, const char *what)
{
    memset(v, 0, sizeof *v);
    if (size == 0) return bmci_fail(BMC_ERR_CORRUPT_DATA, "tokenizer: vocabulary %s is empty", what);
    if (memchr(text, '\0', size))
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "tokenizer: vocabulary %s contains a NUL byte at offset %zu",
                         what, (size_t)((const char *)memchr(text, '\0', size) - text));
    size_t bad = bmci_utf8_first_invalid(text, size);
    if (bad != size)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "tokenizer: vocabulary %s is not UTF-8 (byte offset %zu)",
                         what, bad);
    size_t lines = count_lines(text, size);
    if (lines > (size_t)INT32_MAX - 1 || size > UINT32_MAX - lines - 1)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "tokenizer: vocabulary %s is too large", what);

    uint32_t slots = 16;
    while (slots < 2 * lines) slots *= 2;
    v->blob = malloc(size + 1);
    v->offsets = malloc((lines + 1) * sizeof *v->offsets);
    v->slots = calloc(slots, sizeof *v->slots);
    if (!v->blob || !v->offsets || !v->slots) {
        bmci_vocab_free(v);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "tokenizer: no memory for a vocabulary of %zu lines", lines);
    }
    v->mask = slots - 1;
    size_t out = 0;
    const char *p = text, *end = text + size;
    for (size_t id = 0; id < lines; id++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        size_t len = (size_t)(stop - p);
        if (len > 0 && p[len - 1] == '\r') len--;
        v->offsets[id] = (uint32_t)out;
        memcpy(v->blob + out, p, len);
        out += len;
        v->blob[out++] = '\0';
        p = nl ? nl + 1 : end;
    }
    v->offsets[lines] = (uint32_t)out;
    v->count = (int32_t)lines;
    build_table(v);
    return BMC_OK;
}

void bmci_vocab_free(bmci_vocab *v)
{
    free(v->blob);
    free(v->offsets);
    free(v->slots);
    memset(v, 0, sizeof *v);
}
