/* SPDX-License-Identifier: MIT */
/* Interning: byte strings (words, n-grams of word ids) mapped to dense ids 0, 1, 2, ... so the
 * caption metrics compare integers instead of strings. */
#ifndef BMC_LIB_INTERN_H
#define BMC_LIB_INTERN_H

#include <stddef.h>
#include <stdint.h>

typedef struct bmci_intern {
    char *bytes;          /* every key, back to back */
    size_t bytes_used, bytes_capacity;
    size_t *key_start;    /* key i is bytes[key_start[i] .. key_start[i + 1]) */
    size_t count, capacity;
    int32_t *slots;       /* open addressing, -1 = empty */
    size_t slot_mask;
} bmci_intern;

void bmci_intern_init(bmci_intern *table);
void bmci_intern_free(bmci_intern *table);

/* The id of the `length`-byte key, adding it if new; -1 when out of memory. */
int32_t bmci_intern_add(bmci_intern *table, const void *key, size_t length);

/* The id of the key, or -1 if it was never added. */
int32_t bmci_intern_find(const bmci_intern *table, const void *key, size_t length);

/* The bytes of key `id` and their number. */
const void *bmci_intern_key(const bmci_intern *table, int32_t id, size_t *length);

#endif
