/* SPDX-License-Identifier: MIT */
/* Internal layout of bmc_index, shared by the index modules: entries.c (entries, ids, texts),
 * search.c (top-k search), kernels.c (dot-product kernels) and file_format.c
 * (save, load, map). */
#ifndef BMC_LIB_INDEX_H
#define BMC_LIB_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "biomedclip.h"

#define BMCI_INDEX_MAX_DIM 65536

struct bmc_index {
    int32_t dim;
    int32_t dtype;          /* BMC_DTYPE_F32 or BMC_DTYPE_F16 */
    size_t row_bytes;       /* dim * element size */
    size_t count;
    size_t capacity;        /* entries the owned arrays can hold (0 when mapped) */
    unsigned char *vectors; /* count rows of row_bytes, normalised */
    int64_t *ids;           /* count ids, in entry order */
    uint64_t *text_offsets; /* count + 1 offsets into texts (the file's layout) */
    char *texts;
    size_t text_capacity;   /* bytes allocated for texts (0 when mapped) */
    /* id -> position, open addressing with linear probing; empty slots hold id -1 */
    int64_t *slot_ids;
    size_t *slot_positions;
    size_t slot_mask;       /* slot count - 1 (a power of two) */
    /* non-NULL when the arrays above (except the slots) point into a read-only file mapping */
    void *map;
    size_t map_size;
};

/* Check that `vector` is finite and non-zero and write it scaled to unit length (computed in
 * double) to `unit`; the message names `what` and `entry`. */
bmc_status bmci_index_unit(const float *vector, int32_t dim, float *unit, const char *what,
                           size_t entry);

/* Release a mapped index's file mapping (file_format.c). */
void bmci_index_unmap(bmc_index *index);

/* An empty index with no storage yet. */
bmc_status bmci_index_new(int32_t dim, int32_t dtype, bmc_index **out);

/* (Re)build the id table for the current entries; fails on a duplicate id (`what` names the
 * caller in the message). */
bmc_status bmci_index_build_ids(bmc_index *index, const char *what);

/* The position of `id`, or SIZE_MAX if absent. */
size_t bmci_index_find(const bmc_index *index, int64_t id);

/* Decode row `position` into `out` (dim floats). */
void bmci_index_row(const bmc_index *index, size_t position, float *out);

/* Dot products of `rows` stored rows (starting at `first`, dtype of the index) with
 * `query_count` float queries (dim each, contiguous): out[q * out_stride + r]. The arithmetic
 * for one (row, query) pair is the same whatever the tile it falls in, so results do not
 * depend on how work is split. */
void bmci_index_dot(const bmc_index *index, size_t first, size_t rows, const float *queries,
                    size_t query_count, float *out, size_t out_stride);

/* Use the portable kernels even on CPUs with AVX2 (tests compare both); returns the previous
 * setting. Not thread-safe: call it while no search runs. */
int bmci_index_force_portable(int force);

#endif
