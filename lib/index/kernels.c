/* SPDX-License-Identifier: MIT */
/* Dot-product kernels for index search: scores of a block of stored rows against a block of
 * queries, the inner loop of every search.
 *
 * Each (row, query) pair is summed the same way everywhere: eight lane accumulators over the
 * dimension in steps of 8, folded as ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)), plus the tail
 * (dim % 8 values) summed in order. The tiles only decide how many pairs run side by side
 * (3 rows x 4 queries keeps 12 accumulators in AVX registers and loads each value once per
 * tile), so a score never depends on which tile or thread computed it.
 *
 * The AVX2/FMA/F16C kernels are compiled with a target attribute and chosen at run time with
 * __builtin_cpu_supports, so the library itself needs no -march flag. */
#include "index/index.h"

#include <string.h>

#include "core/fp16.h"

#if defined(__x86_64__) && defined(__GNUC__)
#  define HAVE_X86_KERNELS 1
#  include <cpuid.h>
#  include <immintrin.h>
#endif

#define INLINE static inline __attribute__((always_inline))

static int force_portable;

int bmci_index_force_portable(int force)
{
    int previous = force_portable;
    force_portable = force;
    return previous;
}

/* The part of the dimension past the last full group of 8, summed in order. */
INLINE float tail_dot(const unsigned char *row, int half, const float *query, size_t from,
                      size_t dim)
{
    float sum = 0.0f;
    for (size_t d = from; d < dim; d++) {
        float x = half ? bmci_f16_to_f32(((const uint16_t *)row)[d]) : ((const float *)row)[d];
        sum += x * query[d];
    }
    return sum;
}

/* ---- portable kernels ----------------------------------------------------------------- */

INLINE float fold_lanes(const float lane[8])
{
    return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
}

static float dot_portable(const unsigned char *row, int half, const float *query, size_t dim)
{
    float lane[8] = {0};
    size_t full = dim & ~(size_t)7;
    for (size_t d = 0; d < full; d += 8) {
        for (int l = 0; l < 8; l++) {
            float x = half ? bmci_f16_to_f32(((const uint16_t *)row)[d + l])
                           : ((const float *)row)[d + l];
            lane[l] += x * query[d + l];
        }
    }
    return fold_lanes(lane) + tail_dot(row, half, query, full, dim);
}

static void block_portable(const unsigned char *rows, size_t row_count, size_t row_bytes,
                           int half, const float *queries, size_t query_count, size_t dim,
                           float *out, size_t out_stride)
{
    for (size_t q = 0; q < query_count; q++)
        for (size_t r = 0; r < row_count; r++)
            out[q * out_stride + r] = dot_portable(rows + r * row_bytes, half, queries + q * dim, dim);
}

/* ---- AVX2 + FMA + F16C kernels ---------------------------------------------------------- */
#ifdef HAVE_X86_KERNELS
#define TARGET __attribute__((target("avx2,fma,f16c")))

TARGET INLINE __m256 load8(const unsigned char *row, size_t d, int half)
{
    if (half)
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * d)));
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
TARGET INLINE void tile(const unsigned char *rows, size_t row_bytes, int half, const float *queries,
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
            x[r] = load8(rows + r * row_bytes, d, half);
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
            out[c * out_stride + r] = fold8(acc[r][c]) +
                tail_dot(rows + r * row_bytes, half, queries + c * dim, full, dim);
}

/* Rows outer, queries inner: three rows (L1-resident) meet every query (L2-resident), so each
 * stored vector streams from memory exactly once per pass, in address order. */
TARGET INLINE void block_avx2(const unsigned char *rows, size_t row_count, size_t row_bytes,
                              int half, const float *queries, size_t query_count, size_t dim,
                              float *out, size_t out_stride)
{
    size_t r = 0;
    for (; r + 3 <= row_count; r += 3) {
        const unsigned char *x = rows + r * row_bytes;
        size_t q = 0;
        for (; q + 4 <= query_count; q += 4)
            tile(x, row_bytes, half, queries + q * dim, dim, out + q * out_stride + r, out_stride, 3, 4);
        for (; q < query_count; q++)
            tile(x, row_bytes, half, queries + q * dim, dim, out + q * out_stride + r, out_stride, 3, 1);
    }
    for (; r < row_count; r++) {
        const unsigned char *x = rows + r * row_bytes;
        size_t q = 0;
        for (; q + 4 <= query_count; q += 4)
            tile(x, row_bytes, half, queries + q * dim, dim, out + q * out_stride + r, out_stride, 1, 4);
        for (; q < query_count; q++)
            tile(x, row_bytes, half, queries + q * dim, dim, out + q * out_stride + r, out_stride, 1, 1);
    }
}

TARGET static void block_avx2_f32(const unsigned char *rows, size_t row_count, size_t row_bytes,
                                  const float *queries, size_t query_count, size_t dim,
                                  float *out, size_t out_stride)
{
    block_avx2(rows, row_count, row_bytes, 0, queries, query_count, dim, out, out_stride);
}

TARGET static void block_avx2_f16(const unsigned char *rows, size_t row_count, size_t row_bytes,
                                  const float *queries, size_t query_count, size_t dim,
                                  float *out, size_t out_stride)
{
    block_avx2(rows, row_count, row_bytes, 1, queries, query_count, dim, out, out_stride);
}

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
#endif

void bmci_index_dot(const bmc_index *index, size_t first, size_t rows, const float *queries,
                    size_t query_count, float *out, size_t out_stride)
{
    const unsigned char *start = index->vectors + first * index->row_bytes;
    size_t dim = (size_t)index->dim;
    int half = index->dtype == BMC_DTYPE_F16;
#ifdef HAVE_X86_KERNELS
    if (!force_portable && cpu_has_avx2()) {
        if (half)
            block_avx2_f16(start, rows, index->row_bytes, queries, query_count, dim, out, out_stride);
        else
            block_avx2_f32(start, rows, index->row_bytes, queries, query_count, dim, out, out_stride);
        return;
    }
#endif
    block_portable(start, rows, index->row_bytes, half, queries, query_count, dim, out, out_stride);
}
