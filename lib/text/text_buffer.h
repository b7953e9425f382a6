/* SPDX-License-Identifier: MIT */
/* Growable byte and code-point buffers for the tokenizer's text passes. An allocation failure
 * sets `failed` and turns later appends into no-ops, so a pass checks once at its end. */
#ifndef BMC_LIB_TEXT_BUFFER_H
#define BMC_LIB_TEXT_BUFFER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

typedef struct bmci_str {
    char *data;
    size_t len, cap;
    int failed;
} bmci_str;

typedef struct bmci_u32s {
    uint32_t *data;
    size_t len, cap;
    int failed;
    int borrowed; /* data is caller storage (e.g. a stack array), copied to the heap to grow */
} bmci_u32s;

static inline int bmci_grow(void **data, size_t *cap, size_t need, size_t item, int *failed)
{
    if (*failed) return 0;
    if (need <= *cap) return 1;
    size_t cap2 = *cap ? *cap : 64;
    while (cap2 < need) {
        if (cap2 > SIZE_MAX / 2 / item) { *failed = 1; return 0; }
        cap2 *= 2;
    }
    void *p = realloc(*data, cap2 * item);
    if (!p) { *failed = 1; return 0; }
    *data = p;
    *cap = cap2;
    return 1;
}

/* Make room for `more` bytes (plus a terminating NUL). */
static inline int bmci_str_reserve(bmci_str *s, size_t more)
{
    if (more > SIZE_MAX - s->len - 1) { s->failed = 1; return 0; }
    return bmci_grow((void **)&s->data, &s->cap, s->len + more + 1, 1, &s->failed);
}

static inline void bmci_str_append(bmci_str *s, const char *bytes, size_t n)
{
    if (!bmci_str_reserve(s, n) || n == 0) return;
    memcpy(s->data + s->len, bytes, n);
    s->len += n;
    s->data[s->len] = '\0';
}

static inline void bmci_str_put(bmci_str *s, uint32_t cp)
{
    if (!bmci_str_reserve(s, 4)) return;
    s->len += bmci_utf8_encode(cp, s->data + s->len);
    s->data[s->len] = '\0';
}

static inline void bmci_str_free(bmci_str *s)
{
    free(s->data);
    memset(s, 0, sizeof *s);
}

static inline void bmci_u32s_put(bmci_u32s *s, uint32_t cp)
{
    if (s->len == s->cap) {
        if (s->borrowed && !s->failed) {
            uint32_t *heap = malloc(s->cap * 2 * sizeof *heap);
            if (!heap) { s->failed = 1; return; }
            memcpy(heap, s->data, s->len * sizeof *heap);
            s->data = heap;
            s->cap *= 2;
            s->borrowed = 0;
        } else if (!bmci_grow((void **)&s->data, &s->cap, s->len + 1, 4, &s->failed)) {
            return;
        }
    }
    s->data[s->len++] = cp;
}

static inline void bmci_u32s_free(bmci_u32s *s)
{
    if (!s->borrowed) free(s->data);
    memset(s, 0, sizeof *s);
}

#endif
