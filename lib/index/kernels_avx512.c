/* SPDX-License-Identifier: MIT */
/* AVX-512 kernels for index search, compiled with target attributes and called by kernels.c
 * only on CPUs with AVX-512F (and AVX512_BF16 for bfloat16 rows).
 *
 * They work as a small matrix product. The queries are packed once per search in groups of
 * 16, transposed so that one register holds dimension d of 16 queries; each stored value of
 * a row is broadcast and multiplied with that register. A tile of 6 rows x 4 groups (64
 * queries) keeps 24 accumulators in registers, so every value read from the index serves up
 * to 64 queries, and the scores come out without horizontal sums. Each (row, query) score is
 * one chain of fused multiply-adds over d in order (over pairs of d for bfloat16, one
 * vdpbf16ps per pair), whatever tile or thread computes it.
 *
 * float16 rows are widened 16 values at a time into a small buffer and broadcast from there.
 * bfloat16 rows are multiplied as they are stored: vdpbf16ps takes a broadcast pair of row
 * values and 16 pairs of query values, which is why bfloat16 queries are rounded too. */
#include "index/index.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#if defined(__x86_64__) && defined(__GNUC__)

#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))
#define TARGET __attribute__((target("avx512f")))
#define TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))

#define TILE_ROWS 6
#define TILE_GROUPS 4

/* ---- packed queries ----------------------------------------------------------------------- */

/* Values per dimension step of one group: 16 floats, or 16 pairs of bfloat16. */
static size_t group_steps(const bmc_index *index)
{
    size_t dim = (size_t)index->dim;
    return index->dtype == BMC_DTYPE_BF16 ? (dim + 1) / 2 : dim;
}

/* Group g holds queries 16g .. 16g + 15 (zeros past the last one): 32-bit element
 * [g][step][lane]. For bfloat16, step p of a lane holds dimension 2p in its low half and
 * 2p + 1 (0 past the end) in its high half, the order vdpbf16ps pairs them in. */
bmc_status bmci_avx512_pack_queries(const bmc_index *index, const float *unit, size_t count,
                                    bmci_queries *out)
{
    size_t dim = (size_t)index->dim, steps = group_steps(index);
    size_t groups = (count + BMCI_QUERY_GROUP - 1) / BMCI_QUERY_GROUP;
    size_t bytes = groups * steps * BMCI_QUERY_GROUP * 4;
    uint32_t *data = aligned_alloc(64, bytes);
    if (!data)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_index_search: out of memory");
    memset(data, 0, bytes);
    for (size_t q = 0; q < count; q++) {
        uint32_t *lane = data + (q / BMCI_QUERY_GROUP) * steps * BMCI_QUERY_GROUP + q % BMCI_QUERY_GROUP;
        const float *v = unit + q * dim;
        for (size_t d = 0; d < dim; d++) {
            if (index->dtype == BMC_DTYPE_BF16)
                lane[d / 2 * BMCI_QUERY_GROUP] |= (uint32_t)bmci_f32_to_bf16(v[d]) << (16 * (d % 2));
            else
                memcpy(&lane[d * BMCI_QUERY_GROUP], &v[d], 4);
        }
    }
    *out = (bmci_queries){.path = BMCI_KERNELS_AVX512, .count = count, .data = data};
    return BMC_OK;
}

/* ---- float32 and float16 rows ------------------------------------------------------------- */

/* R rows x V groups (constant after inlining: the accumulators stay in registers). `rows`
 * are R float32 rows of `dim`, or for float16 R rows of halves widened chunk by chunk. The
 * last group's scores are stored under `last` (its lanes that hold queries). */
TARGET INLINE void tile(const unsigned char *rows, size_t row_bytes, int half, const float *groups,
                        size_t dim, float *out, size_t out_stride, __mmask16 last, const int R,
                        const int V)
{
    __m512 acc[TILE_ROWS][TILE_GROUPS];
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            acc[r][v] = _mm512_setzero_ps();
    size_t group_floats = dim * BMCI_QUERY_GROUP;
    _Alignas(64) float wide[TILE_ROWS][16];
    for (size_t d0 = 0; d0 < dim; d0 += 16) {
        size_t n = dim - d0 < 16 ? dim - d0 : 16;
        const float *x[TILE_ROWS];
#pragma GCC unroll 6
        for (int r = 0; r < R; r++) {
            if (!half) {
                x[r] = (const float *)(rows + r * row_bytes) + d0;
                continue;
            }
            const unsigned char *h = rows + r * row_bytes + 2 * d0;
            uint16_t end[16] = {0}; /* the last chunk, padded: never read past the row */
            if (n < 16)
                h = memcpy(end, h, 2 * n);
            _mm512_store_ps(wide[r], _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)h)));
            x[r] = wide[r];
        }
        const float *q = groups + d0 * BMCI_QUERY_GROUP;
#pragma GCC unroll 2
        for (size_t j = 0; j < n; j++, q += BMCI_QUERY_GROUP) {
            __m512 g[TILE_GROUPS];
#pragma GCC unroll 4
            for (int v = 0; v < V; v++)
                g[v] = _mm512_load_ps(q + v * group_floats);
#pragma GCC unroll 6
            for (int r = 0; r < R; r++) {
                __m512 b = _mm512_set1_ps(x[r][j]);
#pragma GCC unroll 4
                for (int v = 0; v < V; v++)
                    acc[r][v] = _mm512_fmadd_ps(b, g[v], acc[r][v]);
            }
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            _mm512_mask_storeu_ps(out + r * out_stride + v * BMCI_QUERY_GROUP,
                                  v == V - 1 ? last : 0xFFFF, acc[r][v]);
}

/* ---- bfloat16 rows ------------------------------------------------------------------------- */

/* One step of a bfloat16 tile: pair p of R rows times V groups of query pairs. */
TARGET_BF16 INLINE void step_bf16(__m512 acc[TILE_ROWS][TILE_GROUPS], const uint32_t pair[TILE_ROWS],
                                  const float *q, size_t group_floats, const int R, const int V)
{
    __m512bh g[TILE_GROUPS];
#pragma GCC unroll 4
    for (int v = 0; v < V; v++)
        g[v] = (__m512bh)_mm512_load_ps(q + v * group_floats);
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
        __m512bh b = (__m512bh)_mm512_set1_epi32((int)pair[r]);
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            acc[r][v] = _mm512_dpbf16_ps(acc[r][v], b, g[v]);
    }
}

TARGET_BF16 INLINE void tile_bf16(const unsigned char *rows, size_t row_bytes, const float *groups,
                                  size_t dim, float *out, size_t out_stride, __mmask16 last,
                                  const int R, const int V)
{
    __m512 acc[TILE_ROWS][TILE_GROUPS];
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            acc[r][v] = _mm512_setzero_ps();
    size_t full = dim / 2, group_floats = (dim + 1) / 2 * BMCI_QUERY_GROUP;
    uint32_t pair[TILE_ROWS];
#pragma GCC unroll 2
    for (size_t p = 0; p < full; p++) {
#pragma GCC unroll 6
        for (int r = 0; r < R; r++)
            memcpy(&pair[r], rows + r * row_bytes + 4 * p, 4);
        step_bf16(acc, pair, groups + p * BMCI_QUERY_GROUP, group_floats, R, V);
    }
    if (dim % 2) { /* the last value alone: reading a pair would run past the row */
#pragma GCC unroll 6
        for (int r = 0; r < R; r++) {
            uint16_t single;
            memcpy(&single, rows + r * row_bytes + 4 * full, 2);
            pair[r] = single;
        }
        step_bf16(acc, pair, groups + full * BMCI_QUERY_GROUP, group_floats, R, V);
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            _mm512_mask_storeu_ps(out + r * out_stride + v * BMCI_QUERY_GROUP,
                                  v == V - 1 ? last : 0xFFFF, acc[r][v]);
}

/* ---- blocks -------------------------------------------------------------------------------- */

/* One function per row kind and tile height, each with the four tile widths, so every tile's
 * shape is a constant. */
#define TILES(name, target, call, R)                                                            \
    target static void name(const unsigned char *rows, size_t row_bytes, const float *groups,   \
                            size_t group_floats, size_t group_count, size_t dim, float *out,    \
                            size_t out_stride, __mmask16 last)                                  \
    {                                                                                           \
        for (size_t g = 0; g < group_count; g += TILE_GROUPS) {                                 \
            const float *gs = groups + g * group_floats;                                        \
            float *o = out + g * BMCI_QUERY_GROUP;                                              \
            size_t left = group_count - g;                                                      \
            __mmask16 m = left <= TILE_GROUPS ? last : 0xFFFF;                                  \
            if (left >= 4)                                                                      \
                call(R, 4);                                                                     \
            else if (left == 3)                                                                 \
                call(R, 3);                                                                     \
            else if (left == 2)                                                                 \
                call(R, 2);                                                                     \
            else                                                                                \
                call(R, 1);                                                                     \
        }                                                                                       \
    }

#define CALL_F32(R, V) tile(rows, row_bytes, 0, gs, dim, o, out_stride, m, R, V)
#define CALL_F16(R, V) tile(rows, row_bytes, 1, gs, dim, o, out_stride, m, R, V)
#define CALL_BF16(R, V) tile_bf16(rows, row_bytes, gs, dim, o, out_stride, m, R, V)

TILES(tiles_f32_6, TARGET, CALL_F32, TILE_ROWS)
TILES(tiles_f32_1, TARGET, CALL_F32, 1)
TILES(tiles_f16_6, TARGET, CALL_F16, TILE_ROWS)
TILES(tiles_f16_1, TARGET, CALL_F16, 1)
TILES(tiles_bf16_6, TARGET_BF16, CALL_BF16, TILE_ROWS)
TILES(tiles_bf16_1, TARGET_BF16, CALL_BF16, 1)

typedef void tiles_fn(const unsigned char *, size_t, const float *, size_t, size_t, size_t, float *,
                      size_t, __mmask16);

void bmci_avx512_dot(const bmc_index *index, size_t first, size_t rows, const bmci_queries *queries,
                     size_t q0, size_t nq, float *out, size_t out_stride)
{
    size_t dim = (size_t)index->dim, row_bytes = index->row_bytes;
    size_t group_floats = group_steps(index) * BMCI_QUERY_GROUP;
    const float *groups = (const float *)queries->data + q0 / BMCI_QUERY_GROUP * group_floats;
    size_t group_count = (nq + BMCI_QUERY_GROUP - 1) / BMCI_QUERY_GROUP;
    __mmask16 last = (__mmask16)(nq % BMCI_QUERY_GROUP ? (1u << nq % BMCI_QUERY_GROUP) - 1 : 0xFFFF);
    tiles_fn *six = index->dtype == BMC_DTYPE_F16 ? tiles_f16_6
                    : index->dtype == BMC_DTYPE_BF16 ? tiles_bf16_6 : tiles_f32_6;
    tiles_fn *one = index->dtype == BMC_DTYPE_F16 ? tiles_f16_1
                    : index->dtype == BMC_DTYPE_BF16 ? tiles_bf16_1 : tiles_f32_1;
    const unsigned char *x = index->vectors + first * row_bytes;
    size_t r = 0;
    for (; r + TILE_ROWS <= rows; r += TILE_ROWS)
        six(x + r * row_bytes, row_bytes, groups, group_floats, group_count, dim,
            out + r * out_stride, out_stride, last);
    for (; r < rows; r++)
        one(x + r * row_bytes, row_bytes, groups, group_floats, group_count, dim,
            out + r * out_stride, out_stride, last);
}

#else /* no x86 SIMD: kernels.c never calls these */

bmc_status bmci_avx512_pack_queries(const bmc_index *index, const float *unit, size_t count,
                                    bmci_queries *out)
{
    return bmci_fail(BMC_ERR_UNSUPPORTED, "bmc_index_search: no AVX-512 kernels in this build");
}

void bmci_avx512_dot(const bmc_index *index, size_t first, size_t rows, const bmci_queries *queries,
                     size_t q0, size_t nq, float *out, size_t out_stride)
{
}

#endif
