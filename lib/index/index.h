/* SPDX-License-Identifier: MIT */
/* Internal layout of bmc_index, shared by the index modules: entries.c (entries, ids, texts),
 * search.c (top-k search), kernels.c and kernels_avx512.c (dot-product kernels),
 * file_format.c (save, load, map), index_set.c (several files searched as one) and
 * manifest.c (the manifest files of index sets). */
#ifndef BMC_LIB_INDEX_H
#define BMC_LIB_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "biomedclip.h"

#define BMCI_INDEX_MAX_DIM 65536

struct bmc_index {
    int32_t dim;
    int32_t dtype;          /* BMC_DTYPE_F32, BMC_DTYPE_F16 or BMC_DTYPE_BF16 */
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

/* The header checksum (bytes 60..63, the CRC-32 of bytes 0..59, which hold every section's
 * checksum) of a mapped index's file (file_format.c); 0 for an index that is not mapped. */
uint32_t bmci_index_header_crc(const bmc_index *index);

/* ---- index set manifests (manifest.c) ------------------------------------------------------ */

typedef struct bmci_manifest_shard {
    uint64_t count, bytes; /* entries, file size */
    uint32_t header_crc;   /* the shard file's bytes 60..63 */
    char *path;            /* as recorded: relative to the manifest's folder, or absolute */
} bmci_manifest_shard;

typedef struct bmci_manifest {
    uint32_t dim, dtype;
    size_t shard_count;
    bmci_manifest_shard *shards;
} bmci_manifest;

/* Parse manifest text (`size` bytes; `name` goes in messages). On success *out owns its
 * shards' paths; free with bmci_manifest_free(). Never reads past `size`. */
bmc_status bmci_manifest_parse(const char *name, const char *text, size_t size,
                               bmci_manifest *out);
void bmci_manifest_free(bmci_manifest *manifest);

/* Write `manifest` to `path` atomically (a temporary file, synced, renamed into place). */
bmc_status bmci_manifest_write(const char *path, const bmci_manifest *manifest);

/* An empty index with no storage yet. */
bmc_status bmci_index_new(int32_t dim, int32_t dtype, bmc_index **out);

/* (Re)build the id table for the current entries; fails on a duplicate id (`what` names the
 * caller in the message). */
bmc_status bmci_index_build_ids(bmc_index *index, const char *what);

/* The position of `id`, or SIZE_MAX if absent. */
size_t bmci_index_find(const bmc_index *index, int64_t id);

/* Decode row `position` into `out` (dim floats). */
void bmci_index_row(const bmc_index *index, size_t position, float *out);

/* Bytes per stored value of `dtype` (4 or 2), or 0 for a dtype the index does not store. */
static inline size_t bmci_index_value_size(int64_t dtype)
{
    return dtype == BMC_DTYPE_F32 ? 4 : dtype == BMC_DTYPE_F16 || dtype == BMC_DTYPE_BF16 ? 2 : 0;
}

/* bfloat16 is the top half of a float32: widening is exact; narrowing rounds to nearest, ties
 * to even (as PyTorch's .to(torch.bfloat16) and AVX512_BF16's vcvtneps2bf16 on normal numbers),
 * and keeps a NaN a NaN. */
static inline float bmci_bf16_to_f32(uint16_t value)
{
    union { uint32_t u; float f; } x = {.u = (uint32_t)value << 16};
    return x.f;
}

static inline uint16_t bmci_f32_to_bf16(float value)
{
    union { float f; uint32_t u; } x = {.f = value};
    if ((x.u & 0x7FFFFFFFu) > 0x7F800000u)
        return (uint16_t)((x.u >> 16) | 0x40); /* quiet NaN */
    return (uint16_t)((x.u + 0x7FFFu + ((x.u >> 16) & 1)) >> 16);
}

/* ---- kernels (kernels.c) ------------------------------------------------------------------- */

/* Kernel paths. A search picks one when it packs its queries and keeps it throughout. */
enum {
    BMCI_KERNELS_AUTO = 0,     /* the fastest the CPU runs for the dtype */
    BMCI_KERNELS_PORTABLE = 1, /* plain C */
    BMCI_KERNELS_AVX2 = 2,     /* AVX2 + FMA + F16C */
    BMCI_KERNELS_AVX512 = 3    /* AVX-512F; for bfloat16 rows also AVX512_BF16 (vdpbf16ps) */
};

/* Normalised queries in the layout of one kernel path. For bfloat16 indexes the queries are
 * rounded to bfloat16 too (vdpbf16ps multiplies two bfloat16 values), on every path. */
typedef struct bmci_queries {
    int path;     /* BMCI_KERNELS_*, never AUTO */
    size_t count;
    void *data;   /* owned; the layout is the path's business */
} bmci_queries;

/* Lay out `count` normalised queries (dim floats each, contiguous) for the kernel path that
 * bmci_index_kernel_path() gives for the index's dtype. Free with bmci_index_queries_free(). */
bmc_status bmci_index_pack_queries(const bmc_index *index, const float *unit, size_t count,
                                   bmci_queries *out);
void bmci_index_queries_free(bmci_queries *queries);

/* The argument checks bmc_index_search and bmc_index_set_search share, so both reject the
 * same calls with the same messages: `what` names the caller and `handle_name` its handle
 * (the index or the set) in "NULL ..." messages. */
bmc_status bmci_index_check_search_args(const char *what, const void *handle,
                                        const char *handle_name, const float *queries,
                                        size_t query_count, int32_t k,
                                        const bmc_index_search_options *options,
                                        const int64_t *ids, size_t capacity);

/* Dot products of `rows` stored rows (starting at `first`) with queries [q0, q0 + nq) of
 * `queries`: out[r * out_stride + (q - q0)]. q0 must be a multiple of BMCI_QUERY_GROUP.
 * The arithmetic for one (row, query) pair is the same whatever the tile it falls in, so
 * results do not depend on how work is split. */
#define BMCI_QUERY_GROUP 16
void bmci_index_dot(const bmc_index *index, size_t first, size_t rows, const bmci_queries *queries,
                    size_t q0, size_t nq, float *out, size_t out_stride);

/* The path searches of `dtype` rows take now: the forced one if it can run that dtype on
 * this CPU, else the fastest that can. */
int bmci_index_kernel_path(int32_t dtype);

/* Force a kernel path (tests run every path the CPU has); BMCI_KERNELS_AUTO undoes it.
 * Returns the previous setting, or -1 (and changes nothing) if the CPU cannot run `path`.
 * A forced AVX-512 path scores bfloat16 rows with AVX2 on CPUs without AVX512_BF16.
 * Not thread-safe: call it while no search runs. */
int bmci_index_force_kernels(int path);

/* The AVX-512 kernels (kernels_avx512.c), called by kernels.c on CPUs that have them. */
bmc_status bmci_avx512_pack_queries(const bmc_index *index, const float *unit, size_t count,
                                    bmci_queries *out);
void bmci_avx512_dot(const bmc_index *index, size_t first, size_t rows, const bmci_queries *queries,
                     size_t q0, size_t nq, float *out, size_t out_stride);

#endif
