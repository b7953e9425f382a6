/* SPDX-License-Identifier: MIT */
/* The embedding index: entries (normalised vectors, ids, texts), the id table, and the
 * calls that add, remove, append and look up entries. Search lives in search.c and the
 * file format in file_format.c. */
#include "index/index.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/error.h"
#include "core/fp16.h"

/* ---- creation ----------------------------------------------------------------------------- */

bmc_status bmci_index_new(int32_t dim, int32_t dtype, bmc_index **out)
{
    if (dim < 1 || dim > BMCI_INDEX_MAX_DIM)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "index: dim %d is outside 1..%d", dim,
                         BMCI_INDEX_MAX_DIM);
    if (!bmci_index_value_size(dtype))
        return bmci_fail(BMC_ERR_UNSUPPORTED, "index: dtype %d is not BMC_DTYPE_F32, BMC_DTYPE_F16 "
                         "or BMC_DTYPE_BF16", dtype);
    bmc_index *index = calloc(1, sizeof *index);
    if (!index)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "index: out of memory");
    index->dim = dim;
    index->dtype = dtype;
    index->row_bytes = (size_t)dim * bmci_index_value_size(dtype);
    *out = index;
    return BMC_OK;
}

bmc_status bmc_index_create(int32_t dim, int32_t dtype, bmc_index **out)
{
    if (!out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_index_create: NULL out");
    bmc_index *index;
    bmc_status status = bmci_index_new(dim, dtype, &index);
    if (status != BMC_OK)
        return status;
    index->text_offsets = calloc(1, sizeof *index->text_offsets); /* offsets[0] = 0 */
    if (!index->text_offsets) {
        free(index);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "index: out of memory");
    }
    *out = index;
    return BMC_OK;
}

void bmc_index_free(bmc_index *index)
{
    if (!index)
        return;
    if (index->map) {
        bmci_index_unmap(index);
    } else {
        free(index->vectors);
        free(index->ids);
        free(index->text_offsets);
        free(index->texts);
    }
    free(index->slot_ids);
    free(index->slot_positions);
    free(index);
}

/* ---- id table ------------------------------------------------------------------------------ */

static size_t hash_id(int64_t id)
{
    uint64_t x = (uint64_t)id; /* splitmix64's finaliser: consecutive ids spread evenly */
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return (size_t)x;
}

size_t bmci_index_find(const bmc_index *index, int64_t id)
{
    if (!index->slot_ids || id < 0)
        return SIZE_MAX;
    for (size_t s = hash_id(id) & index->slot_mask;; s = (s + 1) & index->slot_mask) {
        if (index->slot_ids[s] == id)
            return index->slot_positions[s];
        if (index->slot_ids[s] < 0)
            return SIZE_MAX;
    }
}

/* Insert into a table known to have room; returns 0 if the id is already there. */
static int slot_insert(int64_t *slot_ids, size_t *slot_positions, size_t mask, int64_t id,
                       size_t position)
{
    for (size_t s = hash_id(id) & mask;; s = (s + 1) & mask) {
        if (slot_ids[s] == id)
            return 0;
        if (slot_ids[s] < 0) {
            slot_ids[s] = id;
            slot_positions[s] = position;
            return 1;
        }
    }
}

/* Make the table hold `entries` ids at a load of at most 1/2, rebuilt from the current
 * entries. On failure the old table is kept. */
static bmc_status rebuild_ids(bmc_index *index, size_t entries, const char *what)
{
    size_t slots = 16;
    while (slots < entries * 2) {
        if (slots > SIZE_MAX / 4 / sizeof(int64_t))
            return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: too many entries", what);
        slots *= 2;
    }
    int64_t *slot_ids = malloc(slots * sizeof *slot_ids);
    size_t *slot_positions = malloc(slots * sizeof *slot_positions);
    if (!slot_ids || !slot_positions) {
        free(slot_ids);
        free(slot_positions);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory for the id table", what);
    }
    memset(slot_ids, 0xFF, slots * sizeof *slot_ids); /* all -1: empty */
    for (size_t i = 0; i < index->count; i++) {
        if (index->ids[i] < 0 ||
            !slot_insert(slot_ids, slot_positions, slots - 1, index->ids[i], i)) {
            free(slot_ids);
            free(slot_positions);
            return bmci_fail(BMC_ERR_CORRUPT_DATA, "%s: id %lld of entry %zu is %s", what,
                             (long long)index->ids[i], i,
                             index->ids[i] < 0 ? "negative" : "a duplicate");
        }
    }
    free(index->slot_ids);
    free(index->slot_positions);
    index->slot_ids = slot_ids;
    index->slot_positions = slot_positions;
    index->slot_mask = slots - 1;
    return BMC_OK;
}

bmc_status bmci_index_build_ids(bmc_index *index, const char *what)
{
    return rebuild_ids(index, index->count, what);
}

/* Room for `extra` more ids without passing a load of 1/2. */
static bmc_status reserve_ids(bmc_index *index, size_t extra, const char *what)
{
    size_t wanted = index->count + extra;
    if (index->slot_ids && wanted * 2 <= index->slot_mask + 1)
        return BMC_OK;
    return rebuild_ids(index, wanted, what);
}

/* ---- storage ------------------------------------------------------------------------------- */

static bmc_status grow(void **array, size_t new_bytes, const char *what)
{
    void *grown = realloc(*array, new_bytes ? new_bytes : 1);
    if (!grown)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory (%zu bytes)", what, new_bytes);
    *array = grown;
    return BMC_OK;
}

/* Capacity for `extra` more entries with `extra_text` more text bytes. Arrays grow by half
 * again so repeated adds stay amortised linear. Nothing visible changes on failure. */
static bmc_status reserve(bmc_index *index, size_t extra, size_t extra_text, const char *what)
{
    if (extra > SIZE_MAX / 2 / index->row_bytes - index->count ||
        extra_text > SIZE_MAX / 2 - index->text_offsets[index->count])
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: %zu entries are too many", what, extra);
    size_t entries = index->count + extra;
    if (entries > index->capacity) {
        size_t capacity = index->capacity + index->capacity / 2;
        if (capacity < entries)
            capacity = entries;
        if (capacity > SIZE_MAX / 2 / index->row_bytes)
            capacity = entries;
        bmc_status status;
        if ((status = grow((void **)&index->vectors, capacity * index->row_bytes, what)) ||
            (status = grow((void **)&index->ids, capacity * sizeof *index->ids, what)) ||
            (status = grow((void **)&index->text_offsets,
                           (capacity + 1) * sizeof *index->text_offsets, what)))
            return status;
        index->capacity = capacity;
    }
    size_t text_bytes = (size_t)index->text_offsets[index->count] + extra_text;
    if (text_bytes > index->text_capacity) {
        size_t capacity = index->text_capacity + index->text_capacity / 2;
        if (capacity < text_bytes)
            capacity = text_bytes;
        bmc_status status = grow((void **)&index->texts, capacity, what);
        if (status != BMC_OK)
            return status;
        index->text_capacity = capacity;
    }
    return reserve_ids(index, extra, what);
}

static void store_row(bmc_index *index, size_t position, const float *unit)
{
    unsigned char *row = index->vectors + position * index->row_bytes;
    if (index->dtype == BMC_DTYPE_F32) {
        memcpy(row, unit, index->row_bytes);
        return;
    }
    uint16_t *halves = (uint16_t *)row;
    int f16 = index->dtype == BMC_DTYPE_F16;
    for (int32_t d = 0; d < index->dim; d++)
        halves[d] = f16 ? bmci_f32_to_f16(unit[d]) : bmci_f32_to_bf16(unit[d]);
}

void bmci_index_row(const bmc_index *index, size_t position, float *out)
{
    const unsigned char *row = index->vectors + position * index->row_bytes;
    if (index->dtype == BMC_DTYPE_F32) {
        memcpy(out, row, index->row_bytes);
        return;
    }
    const uint16_t *halves = (const uint16_t *)row;
    int f16 = index->dtype == BMC_DTYPE_F16;
    for (int32_t d = 0; d < index->dim; d++)
        out[d] = f16 ? bmci_f16_to_f32(halves[d]) : bmci_bf16_to_f32(halves[d]);
}

/* Append one entry whose room has been reserved; `unit` is already normalised. */
static void push_entry(bmc_index *index, const float *unit, int64_t id, const char *text,
                       size_t text_length)
{
    size_t i = index->count;
    store_row(index, i, unit);
    index->ids[i] = id;
    uint64_t start = index->text_offsets[i];
    if (text_length)
        memcpy(index->texts + start, text, text_length);
    index->text_offsets[i + 1] = start + text_length;
    slot_insert(index->slot_ids, index->slot_positions, index->slot_mask, id, i);
    index->count++;
}

/* ---- checks -------------------------------------------------------------------------------- */

static int compare_ids(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Ids must be non-negative, new to the index and distinct among themselves. */
static bmc_status check_new_ids(const bmc_index *index, const int64_t *ids, size_t count,
                                const char *what)
{
    for (size_t i = 0; i < count; i++) {
        if (ids[i] < 0)
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: id %lld of entry %zu is negative",
                             what, (long long)ids[i], i);
        if (bmci_index_find(index, ids[i]) != SIZE_MAX)
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: id %lld of entry %zu is already in the index",
                             what, (long long)ids[i], i);
    }
    int64_t *sorted = malloc(count * sizeof *sorted);
    if (!sorted)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    memcpy(sorted, ids, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, compare_ids);
    for (size_t i = 1; i < count; i++) {
        if (sorted[i] == sorted[i - 1]) {
            int64_t duplicate = sorted[i];
            free(sorted);
            return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: id %lld appears twice", what,
                             (long long)duplicate);
        }
    }
    free(sorted);
    return BMC_OK;
}

/* The length of a text, or an error if it is not valid UTF-8. */
static bmc_status check_text(const char *text, size_t entry, size_t *length)
{
    size_t n = strlen(text);
    for (size_t at = 0; at < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t used = utf8proc_iterate((const utf8proc_uint8_t *)text + at,
                                                 (utf8proc_ssize_t)(n - at), &cp);
        if (used < 0)
            return bmci_fail(BMC_ERR_INVALID_UTF8, "bmc_index_add: text of entry %zu is not valid "
                             "UTF-8 at byte %zu", entry, at);
        at += (size_t)used;
    }
    *length = n;
    return BMC_OK;
}

bmc_status bmci_index_unit(const float *vector, int32_t dim, float *unit, const char *what,
                           size_t entry)
{
    double sum = 0.0;
    for (int32_t d = 0; d < dim; d++)
        sum += (double)vector[d] * vector[d];
    if (!(sum > 0.0) || !isfinite(sum))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: vector %zu is %s", what, entry,
                         sum == 0.0 ? "zero" : "not finite");
    double norm = sqrt(sum);
    for (int32_t d = 0; d < dim; d++)
        unit[d] = (float)(vector[d] / norm);
    return BMC_OK;
}

/* ---- add, remove, append ---------------------------------------------------------------- */

static bmc_status check_writable(const bmc_index *index, const char *what)
{
    if (index->map)
        return bmci_fail(BMC_ERR_UNSUPPORTED, "%s: the index is memory-mapped (read-only)", what);
    return BMC_OK;
}

bmc_status bmc_index_add(bmc_index *index, const float *vectors, size_t count,
                         const int64_t *ids, const char *const *texts)
{
    static const char what[] = "bmc_index_add";
    if (!index || !vectors || !ids)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL %s", what,
                         !index ? "index" : !vectors ? "vectors" : "ids");
    if (count == 0)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: no entries", what);
    bmc_status status = check_writable(index, what);
    if (status != BMC_OK)
        return status;
    size_t dim = (size_t)index->dim;
    float *unit = malloc(dim * sizeof *unit);
    if (!unit)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    /* Check everything before changing anything. */
    size_t text_total = 0;
    for (size_t i = 0; i < count && status == BMC_OK; i++) {
        size_t length = 0;
        status = bmci_index_unit(vectors + i * dim, index->dim, unit, what, i);
        if (status == BMC_OK && texts && texts[i])
            status = check_text(texts[i], i, &length);
        text_total += length;
    }
    if (status == BMC_OK)
        status = check_new_ids(index, ids, count, what);
    if (status == BMC_OK)
        status = reserve(index, count, text_total, what);
    for (size_t i = 0; i < count && status == BMC_OK; i++) {
        bmci_index_unit(vectors + i * dim, index->dim, unit, what, i);
        const char *text = texts && texts[i] ? texts[i] : "";
        push_entry(index, unit, ids[i], text, strlen(text));
    }
    free(unit);
    return status;
}

bmc_status bmc_index_remove(bmc_index *index, const int64_t *ids, size_t count, size_t *removed)
{
    static const char what[] = "bmc_index_remove";
    if (!index || (!ids && count > 0))
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL %s", what, !index ? "index" : "ids");
    bmc_status status = check_writable(index, what);
    if (status != BMC_OK)
        return status;
    unsigned char *doomed = calloc(index->count ? index->count : 1, 1);
    if (!doomed)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    size_t hits = 0;
    for (size_t i = 0; i < count; i++) {
        size_t position = bmci_index_find(index, ids[i]);
        if (position != SIZE_MAX && !doomed[position]) {
            doomed[position] = 1;
            hits++;
        }
    }
    if (hits) {
        /* Compact everything in one pass, keeping the order of the survivors. */
        size_t kept = 0;
        uint64_t text_end = 0;
        for (size_t i = 0; i < index->count; i++) {
            if (doomed[i])
                continue;
            uint64_t start = index->text_offsets[i], length = index->text_offsets[i + 1] - start;
            if (kept != i) {
                memmove(index->vectors + kept * index->row_bytes,
                        index->vectors + i * index->row_bytes, index->row_bytes);
                index->ids[kept] = index->ids[i];
            }
            memmove(index->texts + text_end, index->texts + start, length);
            text_end += length;
            index->text_offsets[++kept] = text_end;
        }
        index->count = kept;
        /* Positions moved, so the table is rebuilt in place: it only shrinks in use, so
         * clearing and re-inserting needs no allocation. */
        memset(index->slot_ids, 0xFF, (index->slot_mask + 1) * sizeof *index->slot_ids);
        for (size_t i = 0; i < index->count; i++)
            slot_insert(index->slot_ids, index->slot_positions, index->slot_mask, index->ids[i], i);
    }
    free(doomed);
    if (removed)
        *removed = hits;
    return BMC_OK;
}

bmc_status bmc_index_append(bmc_index *index, const bmc_index *other)
{
    static const char what[] = "bmc_index_append";
    if (!index || !other)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: NULL index", what);
    if (index == other)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: cannot append an index to itself", what);
    bmc_status status = check_writable(index, what);
    if (status != BMC_OK)
        return status;
    if (index->dim != other->dim)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: dims differ (%d and %d)", what, index->dim,
                         other->dim);
    if (other->count == 0)
        return BMC_OK;
    size_t text_total = (size_t)other->text_offsets[other->count];
    if ((status = check_new_ids(index, other->ids, other->count, what)) != BMC_OK ||
        (status = reserve(index, other->count, text_total, what)) != BMC_OK)
        return status;
    float *row = malloc((size_t)other->dim * sizeof *row);
    if (!row)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    for (size_t i = 0; i < other->count; i++) {
        bmci_index_row(other, i, row); /* already normalised: only the dtype may change */
        uint64_t start = other->text_offsets[i];
        push_entry(index, row, other->ids[i], other->texts + start,
                   (size_t)(other->text_offsets[i + 1] - start));
    }
    free(row);
    return BMC_OK;
}

/* ---- lookups ------------------------------------------------------------------------------- */

int32_t bmc_index_dim(const bmc_index *index)
{
    return index ? index->dim : 0;
}

int32_t bmc_index_dtype(const bmc_index *index)
{
    return index ? index->dtype : 0;
}

size_t bmc_index_count(const bmc_index *index)
{
    return index ? index->count : 0;
}

bmc_status bmc_index_id_at(const bmc_index *index, size_t position, int64_t *id)
{
    if (!index || !id)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_index_id_at: NULL %s", !index ? "index" : "id");
    if (position >= index->count)
        return bmci_fail(BMC_ERR_NOT_FOUND, "bmc_index_id_at: position %zu is past the %zu entries",
                         position, index->count);
    *id = index->ids[position];
    return BMC_OK;
}

bmc_status bmc_index_get_vector(const bmc_index *index, int64_t id, float *vector,
                                size_t capacity)
{
    if (!index || !vector)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_index_get_vector: NULL %s",
                         !index ? "index" : "vector");
    size_t position = bmci_index_find(index, id);
    if (position == SIZE_MAX)
        return bmci_fail(BMC_ERR_NOT_FOUND, "bmc_index_get_vector: no entry with id %lld", (long long)id);
    if (capacity < (size_t)index->dim)
        return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "bmc_index_get_vector: buffer holds %zu floats, "
                         "needs %d", capacity, index->dim);
    bmci_index_row(index, position, vector);
    return BMC_OK;
}

bmc_status bmc_index_get_text(const bmc_index *index, int64_t id, char *text, size_t capacity,
                              size_t *needed)
{
    if (!index)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_index_get_text: NULL index");
    size_t position = bmci_index_find(index, id);
    if (position == SIZE_MAX)
        return bmci_fail(BMC_ERR_NOT_FOUND, "bmc_index_get_text: no entry with id %lld", (long long)id);
    uint64_t start = index->text_offsets[position];
    size_t length = (size_t)(index->text_offsets[position + 1] - start);
    if (text) {
        if (capacity <= length)
            return bmci_fail(BMC_ERR_BUFFER_TOO_SMALL, "bmc_index_get_text: buffer holds %zu bytes, "
                             "the text needs %zu", capacity, length + 1);
        memcpy(text, index->texts + start, length);
        text[length] = '\0';
    }
    if (needed)
        *needed = length + 1;
    return BMC_OK;
}
