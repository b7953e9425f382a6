/* SPDX-License-Identifier: MIT */
/* AVX2 kernels of the 32-bit resampling passes, bit for bit the portable ones: both passes for
 * integer samples (mode I: 16-bit grey images are resampled as such), the vertical one for float
 * samples (mode F) too. resize_wide_simd.c has the AVX-512 ones and chooses.
 *
 * As there, each output sums its own terms in double in Pillow's order, with separate products
 * and additions: these functions are compiled for AVX2 without FMA, so the compiler cannot
 * fuse them. Four doubles a vector. The horizontal pass puts eight rows in the lanes of two
 * vectors (so that a tap's samples are two loads and its weight one broadcast, whatever the
 * kernel's length) and runs each output over the longest kernel of the four outputs it takes at
 * once, with Pillow's zero weights past its own: for integer samples that can only change the
 * sign of a zero sum, and both signs round to the same integer. Float samples keep the portable
 * horizontal pass (a zero's sign is stored there, and inf * 0 is NaN). */
#include "image/resize_wide_simd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX2_TARGET __attribute__((target("avx2")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2")))

/* Pillow's int32 store: rounded half away from zero, which the portable code writes as
 * (int32_t)(v >= 0 ? v + 0.5 : v - 0.5), a truncation. */
AVX2_INLINE __m128i round_int(__m256d sum)
{
    const __m256d half = _mm256_set1_pd(0.5);
    __m256d positive = _mm256_cmp_pd(sum, _mm256_setzero_pd(), _CMP_GE_OQ);
    return _mm256_cvttpd_epi32(_mm256_blendv_pd(_mm256_sub_pd(sum, half), _mm256_add_pd(sum, half), positive));
}

/* ---- horizontal, integer samples ------------------------------------------------------------- */

#define LANES 8   /* rows in a block: two vectors of four, so that a weight's broadcast serves eight */
#define OUTPUTS 4 /* outputs whose sums go on together (independent additions overlap) */

/* A 4 x 4 block of 32-bit values transposed in place: v[i] lane j becomes v[j] lane i. */
AVX2_INLINE void transpose4(__m128i v[4])
{
    __m128i a0 = _mm_unpacklo_epi32(v[0], v[1]), a1 = _mm_unpackhi_epi32(v[0], v[1]);
    __m128i a2 = _mm_unpacklo_epi32(v[2], v[3]), a3 = _mm_unpackhi_epi32(v[2], v[3]);
    v[0] = _mm_unpacklo_epi64(a0, a2);
    v[1] = _mm_unpackhi_epi64(a0, a2);
    v[2] = _mm_unpacklo_epi64(a1, a3);
    v[3] = _mm_unpackhi_epi64(a1, a3);
}

/* Rows 0 .. n - 1 (n <= 4; lanes past n are zero) of the block as columns of four doubles,
 * column x at LANES * x. */
AVX2_INLINE void transpose_rows(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, int n, double *columns)
{
    int32_t x = 0;
    for (; n == 4 && x + 4 <= in_width; x += 4) {
        __m128i r[4];
        for (int i = 0; i < 4; i++)
            r[i] = _mm_loadu_si128((const __m128i *)(src + (ptrdiff_t)i * src_stride + 4 * (size_t)x));
        transpose4(r);
        double *out = columns + LANES * (size_t)x;
        _mm256_storeu_pd(out, _mm256_cvtepi32_pd(r[0]));
        _mm256_storeu_pd(out + LANES, _mm256_cvtepi32_pd(r[1]));
        _mm256_storeu_pd(out + 2 * LANES, _mm256_cvtepi32_pd(r[2]));
        _mm256_storeu_pd(out + 3 * LANES, _mm256_cvtepi32_pd(r[3]));
    }
    for (; x < in_width; x++) {
        int32_t v[4] = {0};
        for (int i = 0; i < n; i++)
            memcpy(&v[i], src + (ptrdiff_t)i * src_stride + 4 * (size_t)x, 4);
        _mm256_storeu_pd(columns + LANES * (size_t)x, _mm256_cvtepi32_pd(_mm_loadu_si128((const __m128i *)v)));
    }
}

/* The rounded sums of outputs i .. i + m - 1 (m a constant) for the block's eight rows (rows
 * 0-3 in low[o], 4-7 in high[o]), each over `taps` taps of its weights (zero past its kernel). */
AVX2_INLINE void output_sums(const double *columns, const struct bmci_weights_wide *w, int32_t i, int32_t taps,
                             __m128i *low, __m128i *high, const int m)
{
    const double *col[OUTPUTS], *k[OUTPUTS];
    __m256d lo[OUTPUTS], hi[OUTPUTS];
#pragma GCC unroll 4 /* the sums stay in registers only when these loops are unrolled */
    for (int o = 0; o < m; o++) {
        col[o] = columns + LANES * (size_t)w->start[i + o];
        k[o] = w->k + (size_t)(i + o) * (size_t)w->ksize;
        __m256d weight = _mm256_broadcast_sd(k[o]);
        lo[o] = _mm256_mul_pd(_mm256_loadu_pd(col[o]), weight);
        hi[o] = _mm256_mul_pd(_mm256_loadu_pd(col[o] + 4), weight);
    }
    for (int32_t j = 1; j < taps; j++)
#pragma GCC unroll 4
        for (int o = 0; o < m; o++) {
            __m256d weight = _mm256_broadcast_sd(k[o] + j);
            const double *c = col[o] + LANES * (size_t)j;
            lo[o] = _mm256_add_pd(lo[o], _mm256_mul_pd(_mm256_loadu_pd(c), weight));
            hi[o] = _mm256_add_pd(hi[o], _mm256_mul_pd(_mm256_loadu_pd(c + 4), weight));
        }
#pragma GCC unroll 4
    for (int o = 0; o < m; o++) {
        low[o] = round_int(lo[o]);
        high[o] = round_int(hi[o]);
    }
}

/* Four outputs of n <= 4 rows: v[o] holds output o of the rows, transposed here into rows. */
AVX2_INLINE void store_four(__m128i v[4], uint8_t *d, ptrdiff_t dst_stride, int n)
{
    transpose4(v);
    for (int r = 0; r < n; r++)
        _mm_storeu_si128((__m128i *)(d + (ptrdiff_t)r * dst_stride), v[r]);
}

/* One output of n <= 4 rows. */
AVX2_INLINE void store_one(__m128i v, uint8_t *d, ptrdiff_t dst_stride, int n)
{
    int32_t lanes[4];
    _mm_storeu_si128((__m128i *)lanes, v);
    for (int r = 0; r < n; r++)
        memcpy(d + (ptrdiff_t)r * dst_stride, &lanes[r], 4);
}

AVX2_TARGET static void horizontal_int(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                       ptrdiff_t dst_stride, int32_t rows, const struct bmci_weights_wide *w,
                                       double *columns)
{
    const int32_t count = w->count;
    for (int32_t y = 0; y < rows; y += LANES) {
        int n = rows - y < LANES ? rows - y : LANES;
        int n_low = n < 4 ? n : 4, n_high = n - n_low;
        transpose_rows(src + (ptrdiff_t)y * src_stride, src_stride, in_width, n_low, columns);
        if (n_high > 0) /* else the high lanes keep the last block's rows: summed, never stored */
            transpose_rows(src + (ptrdiff_t)(y + 4) * src_stride, src_stride, in_width, n_high, columns + 4);
        uint8_t *d = dst + (ptrdiff_t)y * dst_stride, *d_high = d + (ptrdiff_t)n_low * dst_stride;
        int32_t i = 0;
        for (; i + OUTPUTS <= count; i += OUTPUTS) {
            int32_t taps = 0;
            for (int o = 0; o < OUTPUTS; o++)
                taps = w->length[i + o] > taps ? w->length[i + o] : taps;
            __m128i low[OUTPUTS], high[OUTPUTS];
            output_sums(columns, w, i, taps, low, high, OUTPUTS);
            store_four(low, d + 4 * (size_t)i, dst_stride, n_low);
            store_four(high, d_high + 4 * (size_t)i, dst_stride, n_high);
        }
        for (; i < count; i++) {
            __m128i low, high;
            output_sums(columns, w, i, w->length[i], &low, &high, 1);
            store_one(low, d + 4 * (size_t)i, dst_stride, n_low);
            store_one(high, d_high + 4 * (size_t)i, dst_stride, n_high);
        }
    }
}

int bmci_resize_horizontal_int_avx2(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                    ptrdiff_t dst_stride, int32_t rows, const struct bmci_weights_wide *w)
{
    /* zero columns past the row's end meet the kernels' zero-weight tails */
    if ((size_t)in_width + (size_t)w->ksize > SIZE_MAX / (LANES * sizeof(double)))
        return 0;
    double *columns = calloc(((size_t)in_width + (size_t)w->ksize) * LANES, sizeof *columns);
    if (!columns)
        return 0;
    horizontal_int(src, src_stride, in_width, dst, dst_stride, rows, w, columns);
    free(columns);
    return 1;
}

/* ---- vertical -------------------------------------------------------------------------------- */

/* Samples s .. s + 3 of a row as doubles: int32 or float samples converted, or doubles
 * (`converted`: rows of the integer pass's ring, below). */
AVX2_INLINE __m256d row4(const uint8_t *row, size_t s, const int is_float, const int converted)
{
    if (converted)
        return _mm256_loadu_pd((const double *)row + s);
    if (is_float)
        return _mm256_cvtps_pd(_mm_loadu_ps((const float *)(const void *)(row + 4 * s)));
    return _mm256_cvtepi32_pd(_mm_loadu_si128((const __m128i *)(row + 4 * s)));
}

AVX2_INLINE double sample(const uint8_t *row, size_t s, const int is_float, const int converted)
{
    if (converted)
        return ((const double *)(const void *)row)[s];
    if (is_float) {
        float v;
        memcpy(&v, row + 4 * s, 4);
        return v;
    }
    int32_t v;
    memcpy(&v, row + 4 * s, 4);
    return v;
}

AVX2_INLINE void store4(uint8_t *p, __m256d sum, const int is_float)
{
    if (is_float)
        _mm_storeu_ps((float *)(void *)p, _mm256_cvtpd_ps(sum));
    else
        _mm_storeu_si128((__m128i *)p, round_int(sum));
}

/* One output row from n input rows with weights k: 32 samples a step in eight independent sums
 * (an addition waits three cycles on the one before it), then four a step, then one. */
AVX2_INLINE void vertical_row(const uint8_t *const *rows, const double *k, int32_t n, uint8_t *dst, size_t samples,
                              const int is_float, const int converted)
{
    size_t s = 0;
    for (; s + 32 <= samples; s += 32) {
        __m256d a[8];
#pragma GCC unroll 8 /* as in output_sums: unrolled, the sums stay in registers */
        for (int v = 0; v < 8; v++)
            a[v] = _mm256_setzero_pd();
        for (int32_t r = 0; r < n; r++) {
            __m256d weight = _mm256_broadcast_sd(k + r);
#pragma GCC unroll 8
            for (int v = 0; v < 8; v++)
                a[v] = _mm256_add_pd(a[v], _mm256_mul_pd(row4(rows[r], s + 4 * (size_t)v, is_float, converted), weight));
        }
#pragma GCC unroll 8
        for (int v = 0; v < 8; v++)
            store4(dst + 4 * (s + 4 * (size_t)v), a[v], is_float);
    }
    for (; s + 4 <= samples; s += 4) {
        __m256d a = _mm256_setzero_pd();
        for (int32_t r = 0; r < n; r++)
            a = _mm256_add_pd(a, _mm256_mul_pd(row4(rows[r], s, is_float, converted), _mm256_broadcast_sd(k + r)));
        store4(dst + 4 * s, a, is_float);
    }
    for (; s < samples; s++) {
        double sum = 0.0;
        for (int32_t r = 0; r < n; r++)
            sum += sample(rows[r], s, is_float, converted) * k[r];
        if (is_float) {
            float v = (float)sum;
            memcpy(dst + 4 * s, &v, 4);
        } else {
            int32_t v = (int32_t)(sum >= 0.0 ? sum + 0.5 : sum - 0.5);
            memcpy(dst + 4 * s, &v, 4);
        }
    }
}

/* Integer samples converted to double once per input row rather than once per output row that
 * reads it, in a ring of ksize converted rows, as resize_wide_simd.c's AVX-512 pass does (see
 * there). Returns 0, doing nothing, for weights whose windows go back or exceed ksize. */
AVX2_INLINE int vertical_rows_int(const uint8_t *src, ptrdiff_t src_stride, int32_t row0, uint8_t *dst,
                                  ptrdiff_t dst_stride, size_t samples, const struct bmci_weights_wide *w,
                                  const uint8_t **rows, double *ring)
{
    const int32_t count = w->count, ksize = w->ksize;
    for (int32_t y = 0; y < count; y++)
        if (w->length[y] > ksize || (y > 0 && w->start[y] < w->start[y - 1]))
            return 0;
    int32_t converted = 0; /* rows before this one (from row0) are in the ring */
    for (int32_t y = 0; y < count; y++) {
        int32_t n = w->length[y], first = w->start[y] - row0;
        for (; converted < first + n; converted++) {
            const uint8_t *in = src + (ptrdiff_t)converted * src_stride;
            double *out = ring + (size_t)(converted % ksize) * samples;
            size_t s = 0;
            for (; s + 4 <= samples; s += 4)
                _mm256_storeu_pd(out + s, row4(in, s, 0, 0));
            for (; s < samples; s++)
                out[s] = sample(in, s, 0, 0);
        }
        for (int32_t r = 0; r < n; r++)
            rows[r] = (const uint8_t *)(ring + (size_t)((first + r) % ksize) * samples);
        vertical_row(rows, w->k + (size_t)y * (size_t)ksize, n, dst + (ptrdiff_t)y * dst_stride, samples, 0, 1);
    }
    return 1;
}

AVX2_TARGET static void vertical_rows(const uint8_t *src, ptrdiff_t src_stride, int32_t row0, uint8_t *dst,
                                      ptrdiff_t dst_stride, size_t samples, int is_float,
                                      const struct bmci_weights_wide *w, const uint8_t **rows, double *ring)
{
    if (!is_float && ring && vertical_rows_int(src, src_stride, row0, dst, dst_stride, samples, w, rows, ring))
        return;
    for (int32_t y = 0; y < w->count; y++) {
        for (int32_t r = 0; r < w->length[y]; r++)
            rows[r] = src + (ptrdiff_t)(w->start[y] - row0 + r) * src_stride;
        const double *k = w->k + (size_t)y * (size_t)w->ksize;
        uint8_t *d = dst + (ptrdiff_t)y * dst_stride;
        if (is_float)
            vertical_row(rows, k, w->length[y], d, samples, 1, 0);
        else
            vertical_row(rows, k, w->length[y], d, samples, 0, 0);
    }
}

int bmci_resize_vertical_wide_avx2(const uint8_t *src, ptrdiff_t src_stride, int32_t row0, uint8_t *dst,
                                   ptrdiff_t dst_stride, size_t samples, int is_float,
                                   const struct bmci_weights_wide *w)
{
    const uint8_t **rows = malloc((size_t)w->ksize * sizeof *rows);
    if (!rows)
        return 0;
    /* the integer pass's ring; without it that pass converts as it goes */
    double *ring = is_float || samples > SIZE_MAX / sizeof(double) / (size_t)w->ksize
                       ? NULL
                       : malloc((size_t)w->ksize * samples * sizeof *ring);
    vertical_rows(src, src_stride, row0, dst, dst_stride, samples, is_float, w, rows, ring);
    free(ring);
    free(rows);
    return 1;
}

#else /* no x86 kernels: the portable passes run */

int bmci_resize_horizontal_int_avx2(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                    ptrdiff_t dst_stride, int32_t rows, const struct bmci_weights_wide *w)
{
    return 0;
}

int bmci_resize_vertical_wide_avx2(const uint8_t *src, ptrdiff_t src_stride, int32_t row0, uint8_t *dst,
                                   ptrdiff_t dst_stride, size_t samples, int is_float,
                                   const struct bmci_weights_wide *w)
{
    return 0;
}

#endif
