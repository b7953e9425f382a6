/* SPDX-License-Identifier: MIT */
/* A string-interning hash table: FNV-1a hashes, linear probing, keys in one growing buffer. */
#include "core/intern.h"

#include <stdlib.h>
#include <string.h>

void bmci_intern_init(bmci_intern *table)
{
    memset(table, 0, sizeof *table);
}

void bmci_intern_free(bmci_intern *table)
{
    free(table->bytes);
    free(table->key_start);
    free(table->slots);
    memset(table, 0, sizeof *table);
}

static uint64_t hash_bytes(const void *key, size_t length)
{
    const unsigned char *p = key;
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < length; i++)
        h = (h ^ p[i]) * 0x100000001B3ull;
    return h ^ (h >> 29);
}

const void *bmci_intern_key(const bmci_intern *table, int32_t id, size_t *length)
{
    size_t start = table->key_start[id];
    *length = table->key_start[id + 1] - start;
    return table->bytes + start;
}

static int same_key(const bmci_intern *table, int32_t id, const void *key, size_t length)
{
    size_t have;
    const void *stored = bmci_intern_key(table, id, &have);
    return have == length && memcmp(stored, key, length) == 0;
}

int32_t bmci_intern_find(const bmci_intern *table, const void *key, size_t length)
{
    if (!table->slots)
        return -1;
    for (size_t s = hash_bytes(key, length) & table->slot_mask;; s = (s + 1) & table->slot_mask) {
        int32_t id = table->slots[s];
        if (id < 0 || same_key(table, id, key, length))
            return id;
    }
}

/* Double the slot array (or make the first one) and re-insert every key. */
static int grow_slots(bmci_intern *table)
{
    size_t slots = table->slots ? (table->slot_mask + 1) * 2 : 64;
    int32_t *fresh = malloc(slots * sizeof *fresh);
    if (!fresh)
        return 0;
    memset(fresh, 0xFF, slots * sizeof *fresh);
    for (size_t id = 0; id < table->count; id++) {
        size_t length;
        const void *key = bmci_intern_key(table, (int32_t)id, &length);
        size_t s = hash_bytes(key, length) & (slots - 1);
        while (fresh[s] >= 0)
            s = (s + 1) & (slots - 1);
        fresh[s] = (int32_t)id;
    }
    free(table->slots);
    table->slots = fresh;
    table->slot_mask = slots - 1;
    return 1;
}

int32_t bmci_intern_add(bmci_intern *table, const void *key, size_t length)
{
    int32_t found = bmci_intern_find(table, key, length);
    if (found >= 0)
        return found;
    if (table->count >= INT32_MAX - 1)
        return -1;
    if (!table->slots || (table->count + 1) * 2 > table->slot_mask + 1) {
        if (!grow_slots(table))
            return -1;
    }
    if (table->count + 2 > table->capacity) {
        size_t capacity = table->capacity ? table->capacity * 2 : 64;
        size_t *starts = realloc(table->key_start, capacity * sizeof *starts);
        if (!starts)
            return -1;
        table->key_start = starts;
        table->capacity = capacity;
        if (table->count == 0)
            table->key_start[0] = 0;
    }
    if (table->bytes_used + length > table->bytes_capacity) {
        size_t capacity = table->bytes_capacity ? table->bytes_capacity * 2 : 1024;
        while (capacity < table->bytes_used + length)
            capacity *= 2;
        char *bytes = realloc(table->bytes, capacity);
        if (!bytes)
            return -1;
        table->bytes = bytes;
        table->bytes_capacity = capacity;
    }
    if (length)
        memcpy(table->bytes + table->bytes_used, key, length);
    table->bytes_used += length;
    int32_t id = (int32_t)table->count++;
    table->key_start[table->count] = table->bytes_used;
    size_t s = hash_bytes(key, length) & table->slot_mask;
    while (table->slots[s] >= 0)
        s = (s + 1) & table->slot_mask;
    table->slots[s] = id;
    return id;
}
