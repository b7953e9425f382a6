/* SPDX-License-Identifier: MIT */
/* Dot-product kernels for index search: scores of a block of stored rows against a block of
 * queries, the inner loop of every search. This file picks the kernel path (AVX-512 in
 * kernels_avx512.c, AVX2 and portable C here) and holds the last two.
 *
 * Portable and AVX2 sum each (row, query) pair the same way: eight lane accumulators over the
 * dimension in steps of 8, folded as ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)), plus the tail
 * (dim % 8 values) summed in order. The tiles only decide how many pairs run side by side
 * (3 rows x 4 queries keeps 12 accumulators in AVX registers and loads each value once per
 * tile), so a score never depends on which tile or thread computed it.
 *
 * The SIMD kernels are compiled with target attributes and chosen at run time with
 * __builtin_cpu_supports, so the library itself needs no -march flag. */
#include "index/index.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/cpu.h"
#include "core/fp16.h"

#if defined(__x86_64__) && defined(__GNUC__)
#  define HAVE_X86_KERNELS 1
#  include <cpuid.h>
#  include <immintrin.h>
#endif

#define INLINE static inline __attribute__((always_inline))

/* Row storage as the kernels see it. */
enum { ROWS_F32, ROWS_F16, ROWS_BF16 };

static int row_kind(int32_t dtype)
{
    return dtype == BMC_DTYPE_F16 ? ROWS_F16 : dtype == BMC_DTYPE_BF16 ? ROWS_BF16 : ROWS_F32;
}

INLINE float row_value(const unsigned char *row, int kind, size_t d)
{
    if (kind == ROWS_F16)
        return bmci_f16_to_f32(((const uint16_t *)row)[d]);
    if (kind == ROWS_BF16)
        return bmci_bf16_to_f32(((const uint16_t *)row)[d]);
    return ((const float *)row)[d];
}

/* The part of the dimension past the last full group of 8, summed in order. */
INLINE float tail_dot(const unsigned char *row, int kind, const float *query, size_t from,
                      size_t dim)
{
    float sum = 0.0f;
    for (size_t d = from; d < dim; d++)
        sum += row_value(row, kind, d) * query[d];
    return sum;
}

/* ---- portable kernels ----------------------------------------------------------------- */

INLINE float fold_lanes(const float lane[8])
{
    return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
}

static float dot_portable(const unsigned char *row, int kind, const float *query, size_t dim)
{
    float lane[8] = {0};
    size_t full = dim & ~(size_t)7;
    for (size_t d = 0; d < full; d += 8)
        for (int l = 0; l < 8; l++)
            lane[l] += row_value(row, kind, d + l) * query[d + l];
    return fold_lanes(lane) + tail_dot(row, kind, query, full, dim);
}

static void block_portable(const unsigned char *rows, size_t row_count, size_t row_bytes,
                           int kind, const float *queries, size_t query_count, size_t dim,
                           float *out, size_t out_stride)
{
    for (size_t r = 0; r < row_count; r++)
        for (size_t q = 0; q < query_count; q++)
            out[r * out_stride + q] = dot_portable(rows + r * row_bytes, kind, queries + q * dim, dim);
}

/* ---- AVX2 + FMA + F16C kernels ---------------------------------------------------------- */
#ifdef HAVE_X86_KERNELS
#define TARGET __attribute__((target("avx2,fma,f16c")))

TARGET INLINE __m256 load8(const unsigned char *row, size_t d, int kind)
{
    if (kind == ROWS_F16)
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * d)));
    if (kind == ROWS_BF16) {
        __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(row + 2 * d)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
    }
    return _mm256_loadu_ps((const float *)row + d);
}

/* The same fold as fold_lanes(): hadd(t, t)[0] after hadd(s, s) is (s0+s1)+(s2+s3). */
TARGET INLINE float fold8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 t = _mm_hadd_ps(s, s);
    return _mm_cvtss_f32(_mm_hadd_ps(t, t));
}

/* R rows x C queries (R, C <= 4 and constant after inlining, so the accumulators live in
 * registers). Rows are loaded once per step and reused for every query. */
TARGET INLINE void tile(const unsigned char *rows, size_t row_bytes, int kind, const float *queries,
                        size_t dim, float *out, size_t out_stride, const int R, const int C)
{
    __m256 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < C; c++)
            acc[r][c] = _mm256_setzero_ps();
    size_t full = dim & ~(size_t)7;
    for (size_t d = 0; d < full; d += 8) {
        __m256 x[4];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            x[r] = load8(rows + r * row_bytes, d, kind);
#pragma GCC unroll 4
        for (int c = 0; c < C; c++) {
            __m256 q = _mm256_loadu_ps(queries + c * dim + d);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
                acc[r][c] = _mm256_fmadd_ps(x[r], q, acc[r][c]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < C; c++)
            out[r * out_stride + c] = fold8(acc[r][c]) +
                tail_dot(rows + r * row_bytes, kind, queries + c * dim, full, dim);
}

/* Rows outer, queries inner: three rows (L1-resident) meet every query (L2-resident), so each
 * stored vector streams from memory exactly once per pass, in address order. */
TARGET INLINE void block_avx2(const unsigned char *rows, size_t row_count, size_t row_bytes,
                              int kind, const float *queries, size_t query_count, size_t dim,
                              float *out, size_t out_stride)
{
    size_t r = 0;
    for (; r + 3 <= row_count; r += 3) {
        const unsigned char *x = rows + r * row_bytes;
        size_t q = 0;
        for (; q + 4 <= query_count; q += 4)
            tile(x, row_bytes, kind, queries + q * dim, dim, out + r * out_stride + q, out_stride, 3, 4);
        for (; q < query_count; q++)
            tile(x, row_bytes, kind, queries + q * dim, dim, out + r * out_stride + q, out_stride, 3, 1);
    }
    for (; r < row_count; r++) {
        const unsigned char *x = rows + r * row_bytes;
        size_t q = 0;
        for (; q + 4 <= query_count; q += 4)
            tile(x, row_bytes, kind, queries + q * dim, dim, out + r * out_stride + q, out_stride, 1, 4);
        for (; q < query_count; q++)
            tile(x, row_bytes, kind, queries + q * dim, dim, out + r * out_stride + q, out_stride, 1, 1);
    }
}

/* One copy per storage kind, so the kind is a constant in each. */
#define BLOCK_AVX2(name, kind)                                                                   \
    TARGET static void name(const unsigned char *rows, size_t row_count, size_t row_bytes,       \
                            const float *queries, size_t query_count, size_t dim, float *out,    \
                            size_t out_stride)                                                   \
    {                                                                                            \
        block_avx2(rows, row_count, row_bytes, kind, queries, query_count, dim, out, out_stride); \
    }
BLOCK_AVX2(block_avx2_f32, ROWS_F32)
BLOCK_AVX2(block_avx2_f16, ROWS_F16)
BLOCK_AVX2(block_avx2_bf16, ROWS_BF16)

/* AVX2 and FMA as the compiler's runtime check sees them (it includes the operating
 * system's support for AVX state); F16C from CPUID leaf 1, which every compiler understands. */
static int cpu_has_avx2(void)
{
    static int known = -1; /* a benign race: every thread computes the same answer */
    if (known < 0) {
        unsigned a, b, c, d;
        int f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
    }
    return known;
}
#else
static int cpu_has_avx2(void)
{
    return 0;
}
#endif

/* ---- choosing a path ------------------------------------------------------------------ */

static int forced = BMCI_KERNELS_AUTO;

static int path_runs(int path, int32_t dtype)
{
    if (path == BMCI_KERNELS_AVX512)
        return dtype == BMC_DTYPE_BF16 ? bmci_cpu_has_avx512_bf16() : bmci_cpu_has_avx512f();
    if (path == BMCI_KERNELS_AVX2)
        return cpu_has_avx2();
    return path == BMCI_KERNELS_PORTABLE;
}

int bmci_index_kernel_path(int32_t dtype)
{
    int path = forced != BMCI_KERNELS_AUTO ? forced : BMCI_KERNELS_AVX512;
    while (path > BMCI_KERNELS_PORTABLE && !path_runs(path, dtype))
        path--;
    return path;
}

int bmci_index_force_kernels(int path)
{
    if (path != BMCI_KERNELS_AUTO && !path_runs(path, BMC_DTYPE_F32))
        return -1;
    int previous = forced;
    forced = path;
    return previous;
}

/* ---- queries and dispatch --------------------------------------------------------------- */

bmc_status bmci_index_pack_queries(const bmc_index *index, const float *unit, size_t count,
                                   bmci_queries *out)
{
    int path = bmci_index_kernel_path(index->dtype);
    if (path == BMCI_KERNELS_AVX512)
        return bmci_avx512_pack_queries(index, unit, count, out);
    /* Portable and AVX2 take the queries as they are, rounded for bfloat16 rows. */
    size_t n = count * (size_t)index->dim;
    float *data = malloc(n * sizeof *data);
    if (!data)
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "bmc_index_search: out of memory");
    int bf16 = index->dtype == BMC_DTYPE_BF16;
    for (size_t i = 0; i < n; i++)
        data[i] = bf16 ? bmci_bf16_to_f32(bmci_f32_to_bf16(unit[i])) : unit[i];
    *out = (bmci_queries){.path = path, .count = count, .data = data};
    return BMC_OK;
}

void bmci_index_queries_free(bmci_queries *queries)
{
    free(queries->data);
    queries->data = NULL;
}

void bmci_index_dot(const bmc_index *index, size_t first, size_t rows, const bmci_queries *queries,
                    size_t q0, size_t nq, float *out, size_t out_stride)
{
    if (queries->path == BMCI_KERNELS_AVX512) {
        bmci_avx512_dot(index, first, rows, queries, q0, nq, out, out_stride);
        return;
    }
    const unsigned char *start = index->vectors + first * index->row_bytes;
    size_t dim = (size_t)index->dim;
    const float *q = (const float *)queries->data + q0 * dim;
    int kind = row_kind(index->dtype);
#ifdef HAVE_X86_KERNELS
    if (queries->path == BMCI_KERNELS_AVX2) {
        if (kind == ROWS_F16)
            block_avx2_f16(start, rows, index->row_bytes, q, nq, dim, out, out_stride);
        else if (kind == ROWS_BF16)
            block_avx2_bf16(start, rows, index->row_bytes, q, nq, dim, out, out_stride);
        else
            block_avx2_f32(start, rows, index->row_bytes, q, nq, dim, out, out_stride);
        return;
    }
#endif
    block_portable(start, rows, index->row_bytes, kind, q, nq, dim, out, out_stride);
}
