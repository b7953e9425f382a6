/* SPDX-License-Identifier: MIT */
/* AVX-512 kernels of the 32-bit resampling passes (modes I and F), bit for bit the portable
 * ones; on CPUs with AVX2 but not AVX-512 the entry points hand over to resize_wide_avx2.c.
 *
 * Pillow sums a 32-bit sample's terms in double, one output at a time. Here eight outputs go
 * at once, one per lane, and each lane still adds its own terms in Pillow's order, from 0.0.
 * Products and sums use the explicitly rounded intrinsics (to nearest, the default mode) so
 * that no compiler fuses them into FMAs, which round once where the portable code rounds
 * twice. Lanes past an output's kernel are masked, not multiplied by zero weights: in mode F,
 * 0 * inf is NaN. The horizontal pass gathers each tap's samples (the outputs' windows
 * overlap and step unevenly, so they are permuted out of the window the outputs read); the
 * vertical pass loads whole rows. Integer samples (mode I) have passes of their own that
 * convert each sample to double once and, in the horizontal one, depart from Pillow's
 * operations only where an integer result cannot tell (see horizontal_rows_int). */
#include "image/resize_wide_simd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/resize_simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define WIDE_TARGET __attribute__((target("avx512f")))
#define WIDE_INLINE static inline __attribute__((always_inline, target("avx512f")))
#define NEAREST (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

/* acc + v * k in the lanes of m, rounded after the product and after the sum */
WIDE_INLINE __m512d add_product(__m512d acc, __mmask8 m, __m512d v, __m512d k)
{
    return _mm512_mask_add_round_pd(acc, m, acc, _mm512_mul_round_pd(v, k, NEAREST), NEAREST);
}

/* the samples at p in the lanes of m, as doubles */
WIDE_INLINE __m512d load8(const uint8_t *p, __mmask8 m, const int is_float)
{
    if (is_float)
        return _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_maskz_loadu_ps((__mmask16)m, p)));
    return _mm512_cvtepi32_pd(_mm512_castsi512_si256(_mm512_maskz_loadu_epi32((__mmask16)m, p)));
}

/* the samples at base + 4 * index[l] in the lanes l of m, as doubles */
WIDE_INLINE __m512d gather8(const uint8_t *base, __m512i index, __mmask8 m, const int is_float)
{
    if (is_float)
        return _mm512_cvtps_pd(_mm512_castps512_ps256(
            _mm512_mask_i32gather_ps(_mm512_setzero_ps(), (__mmask16)m, index, base, 4)));
    return _mm512_cvtepi32_pd(_mm512_castsi512_si256(
        _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), (__mmask16)m, index, base, 4)));
}

/* Pillow's stores: a float converted, or an int32 rounded half away from zero, which the
 * portable code writes as (int32_t)(v >= 0 ? v + 0.5 : v - 0.5), a truncation */
WIDE_INLINE void store8(uint8_t *p, __mmask8 m, __m512d sum, const int is_float)
{
    if (is_float) {
        _mm512_mask_storeu_ps(p, (__mmask16)m, _mm512_castps256_ps512(_mm512_cvtpd_ps(sum)));
        return;
    }
    const __m512d half = _mm512_set1_pd(0.5);
    __mmask8 positive = _mm512_cmp_pd_mask(sum, _mm512_setzero_pd(), _CMP_GE_OQ);
    __m512d rounded = _mm512_mask_add_round_pd(_mm512_sub_round_pd(sum, half, NEAREST), positive, sum, half,
                                               NEAREST);
    _mm512_mask_storeu_epi32(p, (__mmask16)m, _mm512_castsi256_si512(_mm512_cvttpd_epi32(rounded)));
}

static __mmask8 first_lanes(size_t n)
{
    return n >= 8 ? (__mmask8)0xff : (__mmask8)((1u << n) - 1);
}

/* ---- horizontal ------------------------------------------------------------------------------ */

/* What the pass precomputes once: the weights transposed (tap j of output i at j * stride + i,
 * stride the count rounded up to whole blocks, zeros past each output's kernel) so that eight
 * outputs' weights of a tap are one load, and per block of eight outputs its longest kernel
 * and its span (first to last input sample it reads). */
struct htable {
    double *kt;
    size_t stride;
    int32_t *taps, *span;
    int short_kernels; /* every block within 16 samples and with taps (horizontal_rows_int) */
    double *columns;   /* for integer samples with long kernels (horizontal_rows_int_long), or NULL */
    int32_t *results;
};

/* horizontal_rows_int: the horizontal pass of integer samples (mode I) when each block of eight
 * outputs reads within 16 samples, as in downscales up to about 1.5x and all upscales. Block
 * by block: the block's weights and sample indices stay in registers while the rows go by, two
 * at a time (their sums are independent, so their additions overlap). A row's 16 samples are converted to
 * double once and each tap's eight permuted out of them. Two departures from Pillow's order of
 * operations, neither of which changes an integer result: the sum starts from the first term
 * rather than from 0.0 + that term, and outputs with shorter kernels run on with zero weights
 * rather than masks. Both can only change the sign of a zero sum (0.0 + -0.0 is +0.0), and
 * both signs round to the same integer. (Float samples keep the general pass: their zeros'
 * signs are stored, and inf * 0 is NaN.) */
#define ROWS 2 /* three or four at a time measured slower: more vectors than registers */
#define MAX_TAPS 16 /* a block reads at most 16 samples */

WIDE_INLINE void load_doubles(const uint8_t *src, int32_t in_width, int32_t first, __m512d *lo, __m512d *hi)
{
    int32_t left = in_width - first;
    __mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
    __m512i v = _mm512_maskz_loadu_epi32(m, src + 4 * (size_t)first);
    *lo = _mm512_cvtepi32_pd(_mm512_castsi512_si256(v));
    *hi = _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(v, 1));
}

/* Rows y .. y + n - 1 (n a constant) of one block whose weights and indices are k and index. */
WIDE_INLINE void block_rows_int(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, int32_t first,
                                uint8_t *dst, ptrdiff_t dst_stride, __mmask8 live, const __m512d *k,
                                const __m512i *index, const int taps, const int n)
{
    __m512d lo[ROWS], hi[ROWS], sum[ROWS];
#pragma GCC unroll 8 /* the arrays stay in registers only when these loops are unrolled */
    for (int r = 0; r < n; r++) {
        load_doubles(src + (ptrdiff_t)r * src_stride, in_width, first, &lo[r], &hi[r]);
        sum[r] = _mm512_mul_round_pd(_mm512_permutex2var_pd(lo[r], index[0], hi[r]), k[0], NEAREST);
    }
    for (int j = 1; j < taps; j++)
#pragma GCC unroll 8
        for (int r = 0; r < n; r++)
            sum[r] = _mm512_add_round_pd(
                sum[r], _mm512_mul_round_pd(_mm512_permutex2var_pd(lo[r], index[j], hi[r]), k[j], NEAREST), NEAREST);
#pragma GCC unroll 8
    for (int r = 0; r < n; r++)
        store8(dst + (ptrdiff_t)r * dst_stride, live, sum[r], 0);
}

/* All rows of the block of outputs i .. i + 7; `taps` is a constant for the usual kernels. */
WIDE_INLINE void block_int(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                           ptrdiff_t dst_stride, int32_t rows, const struct bmci_weights_wide *w,
                           const struct htable *t, int32_t i, const int taps)
{
    __mmask8 live = first_lanes((size_t)(w->count - i));
    int32_t first = w->start[i];
    __m512i start = _mm512_maskz_loadu_epi32((__mmask16)live, w->start + i);
    __m512i offset = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(_mm512_sub_epi32(start, _mm512_set1_epi32(first))));
    __m512d k[MAX_TAPS];
    __m512i index[MAX_TAPS];
    for (int j = 0; j < taps; j++) {
        k[j] = _mm512_loadu_pd(t->kt + (size_t)j * t->stride + (size_t)i);
        index[j] = _mm512_add_epi64(offset, _mm512_set1_epi64(j));
    }
    const uint8_t *s = src;
    uint8_t *d = dst + 4 * (size_t)i;
    int32_t y = 0;
    for (; y + ROWS <= rows; y += ROWS, s += ROWS * src_stride, d += ROWS * dst_stride)
        block_rows_int(s, src_stride, in_width, first, d, dst_stride, live, k, index, taps, ROWS);
    for (; y < rows; y++, s += src_stride, d += dst_stride)
        block_rows_int(s, src_stride, in_width, first, d, dst_stride, live, k, index, taps, 1);
}

WIDE_INLINE void horizontal_rows_int(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                     ptrdiff_t dst_stride, int32_t rows, const struct bmci_weights_wide *w,
                                     const struct htable *t)
{
    for (int32_t i = 0; i < w->count; i += 8) {
        int taps = t->taps[i / 8];
#define BLOCK_INT(TAPS) block_int(src, src_stride, in_width, dst, dst_stride, rows, w, t, i, TAPS)
        switch (taps) {
        case 3: BLOCK_INT(3); break;
        case 4: BLOCK_INT(4); break;
        case 5: BLOCK_INT(5); break;
        case 6: BLOCK_INT(6); break;
        default: BLOCK_INT(taps);
        }
#undef BLOCK_INT
    }
}

/* The horizontal pass of integer samples with long kernels (downscales past about 1.5x, such as
 * a radiograph of 2500 x 2048 to 224): eight rows in the lanes of a vector instead of eight
 * outputs, so that a tap's eight samples are one load and its weight one broadcast, with no
 * gather or permutation. Each block of eight rows is first transposed, as doubles, into
 * `columns` (column x's eight samples at 8 * x), with zero columns past the row's end for the
 * kernels' zero-weight tail; the outputs of four columns at a time go on together (their sums
 * are independent), each over the longest kernel of the four with Pillow's zero weights past
 * its own (exact for integers, as in the short-kernel pass above); the results are
 * transposed back into the rows. `columns` holds (in_width + ksize) * 8 doubles, `results`
 * count * 8 int32. */
#define LONG_OUTPUTS 4 /* outputs whose sums go on together */

/* Rows y .. y + n - 1 (n <= 8; lanes past n are zero) as columns of eight doubles. */
WIDE_INLINE void transpose_rows(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, int n, double *columns)
{
    int32_t x = 0;
    for (; x + 8 <= in_width; x += 8) {
        __m256i r[8];
        for (int i = 0; i < 8; i++)
            r[i] = i < n ? _mm256_loadu_si256((const __m256i *)(src + (ptrdiff_t)i * src_stride + 4 * (size_t)x))
                         : _mm256_setzero_si256();
        /* the 8 x 8 transpose of 32-bit values: pairs, then quadruples, then 128-bit halves */
        __m256i a[8], b[8];
        for (int i = 0; i < 8; i += 2) {
            a[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
            a[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
        }
        for (int i = 0; i < 8; i += 4)
            for (int j = 0; j < 2; j++) {
                b[i + j] = _mm256_unpacklo_epi64(a[i + j], a[i + j + 2]);
                b[i + j + 2] = _mm256_unpackhi_epi64(a[i + j], a[i + j + 2]);
            }
        /* b[0] holds columns 0 (low half) and 4 (high half), b[2] 1 and 5, b[1] 2 and 6, b[3] 3 and 7,
         * for rows 0-3; b[4..7] the same for rows 4-7 */
        static const int order[4] = {0, 2, 1, 3};
        for (int c = 0; c < 4; c++) {
            __m256i rows03 = b[order[c]], rows47 = b[4 + order[c]];
            __m256i low = _mm256_permute2x128_si256(rows03, rows47, 0x20);
            __m256i high = _mm256_permute2x128_si256(rows03, rows47, 0x31);
            _mm512_storeu_pd(columns + 8 * (size_t)(x + c), _mm512_cvtepi32_pd(low));
            _mm512_storeu_pd(columns + 8 * (size_t)(x + c + 4), _mm512_cvtepi32_pd(high));
        }
    }
    for (; x < in_width; x++) {
        int32_t v[8] = {0};
        for (int i = 0; i < n; i++)
            memcpy(&v[i], src + (ptrdiff_t)i * src_stride + 4 * (size_t)x, 4);
        _mm512_storeu_pd(columns + 8 * (size_t)x, _mm512_cvtepi32_pd(_mm256_loadu_si256((const __m256i *)v)));
    }
}

/* Outputs i .. i + n - 1 (n a constant) of the block, each over `taps` taps; the weights are
 * the pass's transposed table, zero past each output's kernel. */
WIDE_INLINE void long_outputs(const double *columns, const struct bmci_weights_wide *w, const struct htable *t,
                              int32_t i, int32_t taps, int32_t *results, const int n)
{
    const double *col[LONG_OUTPUTS], *k = t->kt + (size_t)i;
    __m512d sum[LONG_OUTPUTS];
#pragma GCC unroll 8 /* as in block_rows_int */
    for (int o = 0; o < n; o++) {
        col[o] = columns + 8 * (size_t)w->start[i + o];
        sum[o] = _mm512_mul_round_pd(_mm512_loadu_pd(col[o]), _mm512_set1_pd(k[o]), NEAREST);
    }
    for (int32_t j = 1; j < taps; j++)
#pragma GCC unroll 8
        for (int o = 0; o < n; o++)
            sum[o] = _mm512_add_round_pd(
                sum[o],
                _mm512_mul_round_pd(_mm512_loadu_pd(col[o] + 8 * (size_t)j),
                                    _mm512_set1_pd(k[(size_t)j * t->stride + (size_t)o]), NEAREST),
                NEAREST);
#pragma GCC unroll 8
    for (int o = 0; o < n; o++)
        store8((uint8_t *)(results + 8 * (size_t)(i + o)), 0xff, sum[o], 0);
}

WIDE_INLINE void horizontal_rows_int_long(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                          ptrdiff_t dst_stride, int32_t rows, const struct bmci_weights_wide *w,
                                          const struct htable *t)
{
    double *columns = t->columns;
    int32_t *results = t->results;
    const int32_t count = w->count;
    for (int32_t y = 0; y < rows; y += 8) {
        int n = rows - y < 8 ? rows - y : 8;
        transpose_rows(src + (ptrdiff_t)y * src_stride, src_stride, in_width, n, columns);
        int32_t i = 0;
        for (; i + LONG_OUTPUTS <= count; i += LONG_OUTPUTS) {
            int32_t taps = 0;
            for (int o = 0; o < LONG_OUTPUTS; o++)
                taps = w->length[i + o] > taps ? w->length[i + o] : taps;
            long_outputs(columns, w, t, i, taps, results, LONG_OUTPUTS);
        }
        for (; i < count; i++)
            long_outputs(columns, w, t, i, w->length[i], results, 1);
        for (int r = 0; r < n; r++) {
            int32_t *out = (int32_t *)(dst + (ptrdiff_t)(y + r) * dst_stride);
            for (int32_t x = 0; x < count; x++)
                out[x] = results[8 * (size_t)x + (size_t)r];
        }
    }
}

/* Eight outputs whose inputs lie within 32 samples: those samples are loaded once (two
 * vectors) and each tap's eight picked out of them by a permutation. Gathers would be simpler,
 * but microcode against Gather Data Sampling makes them slower here than the scalar pass. */
WIDE_INLINE __m512d pick8(__m512i lo, __m512i hi, __m512i index, const int is_float)
{
    __m512i v = _mm512_permutex2var_epi32(lo, index, hi);
    if (is_float)
        return _mm512_cvtps_pd(_mm256_castsi256_ps(_mm512_castsi512_si256(v)));
    return _mm512_cvtepi32_pd(_mm512_castsi512_si256(v));
}

/* The row's samples first .. first + 31 that exist, in two vectors. */
WIDE_INLINE void load_window(const uint8_t *src, int32_t in_width, int32_t first, __m512i *lo, __m512i *hi)
{
    int32_t left = in_width - first;
    __mmask16 m0 = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
    __mmask16 m1 = left >= 32 ? 0xffff : left <= 16 ? 0 : (__mmask16)((1u << (left - 16)) - 1);
    *lo = _mm512_maskz_loadu_epi32(m0, src + 4 * (size_t)first);
    *hi = _mm512_maskz_loadu_epi32(m1, src + 4 * (size_t)first + 64);
}

/* One row, or two (`pair`) with the same weights: the second row's sums are independent of
 * the first's, so their additions overlap, and the masks, weights and indices serve both. */
WIDE_INLINE void horizontal_row(const uint8_t *src, const uint8_t *src2, int32_t in_width, uint8_t *dst,
                                uint8_t *dst2, const struct bmci_weights_wide *w, const struct htable *t,
                                const int pair, const int is_float)
{
    /* the tables in locals: the stores below go through byte pointers, which may alias anything,
     * and would make the compiler load them again at every step */
    const int32_t count = w->count, *starts = w->start, *lengths = w->length, *taps = t->taps, *spans = t->span;
    const double *kt = t->kt;
    const size_t stride = t->stride;
    for (int32_t i = 0; i < count; i += 8) {
        __mmask8 live = first_lanes((size_t)(count - i));
        __m512i start = _mm512_maskz_loadu_epi32((__mmask16)live, starts + i);
        __m512i length = _mm512_maskz_loadu_epi32((__mmask16)live, lengths + i);
        int32_t first = starts[i];
        int narrow = spans[i / 8] <= 32;
        __m512i lo = _mm512_setzero_si512(), hi = lo, lo2 = lo, hi2 = lo, offset = start;
        if (narrow) {
            load_window(src, in_width, first, &lo, &hi);
            if (pair)
                load_window(src2, in_width, first, &lo2, &hi2);
            offset = _mm512_sub_epi32(start, _mm512_set1_epi32(first));
        }
        __m512d sum = _mm512_setzero_pd(), sum2 = sum;
        int32_t block_taps = taps[i / 8];
        for (int32_t j = 0; j < block_taps; j++) {
            __m512i tap = _mm512_set1_epi32(j);
            __mmask8 m = live & (__mmask8)_mm512_cmpgt_epi32_mask(length, tap);
            __m512d k = _mm512_maskz_loadu_pd(m, kt + (size_t)j * stride + (size_t)i);
            __m512i index = _mm512_add_epi32(offset, tap);
            __m512d v = narrow ? pick8(lo, hi, index, is_float) : gather8(src, index, m, is_float);
            sum = add_product(sum, m, v, k);
            if (pair) {
                __m512d v2 = narrow ? pick8(lo2, hi2, index, is_float) : gather8(src2, index, m, is_float);
                sum2 = add_product(sum2, m, v2, k);
            }
        }
        store8(dst + 4 * (size_t)i, live, sum, is_float);
        if (pair)
            store8(dst2 + 4 * (size_t)i, live, sum2, is_float);
    }
}

WIDE_TARGET static void horizontal_rows(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                        ptrdiff_t dst_stride, int32_t rows, int is_float,
                                        const struct bmci_weights_wide *w, const struct htable *t)
{
    if (!is_float && t->short_kernels) {
        horizontal_rows_int(src, src_stride, in_width, dst, dst_stride, rows, w, t);
        return;
    }
    if (!is_float && t->columns) {
        horizontal_rows_int_long(src, src_stride, in_width, dst, dst_stride, rows, w, t);
        return;
    }
    for (int32_t y = 0; y < rows; y += 2) {
        const uint8_t *s = src + (ptrdiff_t)y * src_stride, *s2 = s + src_stride;
        uint8_t *d = dst + (ptrdiff_t)y * dst_stride, *d2 = d + dst_stride;
        int pair = y + 1 < rows;
        if (is_float && pair)
            horizontal_row(s, s2, in_width, d, d2, w, t, 1, 1);
        else if (is_float)
            horizontal_row(s, NULL, in_width, d, NULL, w, t, 0, 1);
        else if (pair)
            horizontal_row(s, s2, in_width, d, d2, w, t, 1, 0);
        else
            horizontal_row(s, NULL, in_width, d, NULL, w, t, 0, 0);
    }
}

int bmci_resize_horizontal_wide_simd(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                     ptrdiff_t dst_stride, int32_t rows, int is_float,
                                     const struct bmci_weights_wide *w)
{
    int level = bmci_resize_simd_level();
    if (level == 1 && !is_float)
        return bmci_resize_horizontal_int_avx2(src, src_stride, in_width, dst, dst_stride, rows, w);
    if (level < 2)
        return 0;
    size_t count = (size_t)w->count, ksize = (size_t)w->ksize, blocks = (count + 7) / 8;
    struct htable t = {calloc(blocks * 8 * ksize, sizeof *t.kt), blocks * 8, calloc(blocks, sizeof *t.taps),
                       calloc(blocks, sizeof *t.span), 1, NULL, NULL};
    if (t.kt && t.taps && t.span) {
        for (size_t i = 0; i < count; i++) {
            for (size_t j = 0; j < (size_t)w->length[i]; j++)
                t.kt[j * t.stride + i] = w->k[i * ksize + j];
            int32_t b = (int32_t)(i / 8), reach = w->start[i] + w->length[i] - w->start[b * 8];
            t.taps[b] = w->length[i] > t.taps[b] ? w->length[i] : t.taps[b];
            t.span[b] = reach > t.span[b] ? reach : t.span[b];
        }
        for (size_t b = 0; b < blocks; b++)
            t.short_kernels &= t.span[b] <= 16 && t.taps[b] >= 1;
        if (!is_float && !t.short_kernels) { /* without them the older kernels below run */
            t.columns = calloc(((size_t)in_width + ksize) * 8, sizeof *t.columns);
            t.results = t.columns ? malloc(count * 8 * sizeof *t.results) : NULL;
            if (!t.results) {
                free(t.columns);
                t.columns = NULL;
            }
        }
        horizontal_rows(src, src_stride, in_width, dst, dst_stride, rows, is_float, w, &t);
    }
    int done = t.kt && t.taps && t.span;
    free(t.kt);
    free(t.taps);
    free(t.span);
    free(t.columns);
    free(t.results);
    return done;
}

/* ---- vertical -------------------------------------------------------------------------------- */

/* The samples s .. s + 7 of a row in the lanes of m, as doubles: int32 or float samples
 * converted, or doubles (`converted`: rows of the integer pass's ring, below). */
WIDE_INLINE __m512d row8(const uint8_t *row, size_t s, __mmask8 m, const int is_float, const int converted)
{
    if (converted)
        return _mm512_maskz_loadu_pd(m, row + 8 * s);
    return load8(row + 4 * s, m, is_float);
}

/* One output row from n input rows: 32 samples a step in four independent sums (one sum's
 * additions wait on each other), then eight a step. */
WIDE_INLINE void vertical_row(const uint8_t *const *rows, const double *k, int32_t n, uint8_t *dst, size_t samples,
                              const int is_float, const int converted)
{
    const __mmask8 all = 0xff;
    size_t s = 0;
    for (; s + 32 <= samples; s += 32) {
        __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
        for (int32_t r = 0; r < n; r++) {
            __m512d weight = _mm512_set1_pd(k[r]);
            a0 = add_product(a0, all, row8(rows[r], s, all, is_float, converted), weight);
            a1 = add_product(a1, all, row8(rows[r], s + 8, all, is_float, converted), weight);
            a2 = add_product(a2, all, row8(rows[r], s + 16, all, is_float, converted), weight);
            a3 = add_product(a3, all, row8(rows[r], s + 24, all, is_float, converted), weight);
        }
        store8(dst + 4 * s, all, a0, is_float);
        store8(dst + 4 * s + 32, all, a1, is_float);
        store8(dst + 4 * s + 64, all, a2, is_float);
        store8(dst + 4 * s + 96, all, a3, is_float);
    }
    for (; s < samples; s += 8) {
        __mmask8 m = first_lanes(samples - s);
        __m512d sum = _mm512_setzero_pd();
        for (int32_t r = 0; r < n; r++)
            sum = add_product(sum, m, row8(rows[r], s, m, is_float, converted), _mm512_set1_pd(k[r]));
        store8(dst + 4 * s, m, sum, is_float);
    }
}

/* Integer samples (mode I) converted to double once per input row, not once per output row that
 * reads it (about five times for a small downscale; the conversion is the costliest step of a
 * tap here): the rows of the current window are kept converted in a ring of ksize rows. Output
 * windows only move forward, so a row's slot is reused only once no later window reads it.
 * Returns 0, doing nothing, for weights whose windows go back or exceed ksize. */
WIDE_INLINE int vertical_rows_int(const uint8_t *src, ptrdiff_t src_stride, int32_t row0, uint8_t *dst,
                                  ptrdiff_t dst_stride, size_t samples, const struct bmci_weights_wide *w,
                                  const uint8_t **rows, double *ring)
{
    const int32_t count = w->count, ksize = w->ksize, *starts = w->start, *lengths = w->length;
    for (int32_t y = 0; y < count; y++)
        if (lengths[y] > ksize || (y > 0 && starts[y] < starts[y - 1]))
            return 0;
    size_t ring_stride = (samples + 7) / 8 * 8;
    int32_t converted = 0; /* rows before this one (from row0) are in the ring */
    for (int32_t y = 0; y < count; y++) {
        int32_t n = lengths[y], first = starts[y] - row0;
        for (; converted < first + n; converted++) {
            const uint8_t *in = src + (ptrdiff_t)converted * src_stride;
            double *out = ring + (size_t)(converted % ksize) * ring_stride;
            for (size_t s = 0; s < samples; s += 8) {
                __mmask8 m = first_lanes(samples - s);
                _mm512_storeu_pd(out + s, load8(in + 4 * s, m, 0));
            }
        }
        for (int32_t r = 0; r < n; r++)
            rows[r] = (const uint8_t *)(ring + (size_t)((first + r) % ksize) * ring_stride);
        vertical_row(rows, w->k + (size_t)y * (size_t)ksize, n, dst + (ptrdiff_t)y * dst_stride, samples, 0, 1);
    }
    return 1;
}

WIDE_TARGET static void vertical_rows(const uint8_t *src, ptrdiff_t src_stride, int32_t row0, uint8_t *dst,
                                      ptrdiff_t dst_stride, size_t samples, int is_float,
                                      const struct bmci_weights_wide *w, const uint8_t **rows, double *ring)
{
    if (!is_float && ring && vertical_rows_int(src, src_stride, row0, dst, dst_stride, samples, w, rows, ring))
        return;
    for (int32_t y = 0; y < w->count; y++) {
        int32_t n = w->length[y];
        for (int32_t r = 0; r < n; r++)
            rows[r] = src + (ptrdiff_t)(w->start[y] - row0 + r) * src_stride;
        const double *k = w->k + (size_t)y * (size_t)w->ksize;
        uint8_t *d = dst + (ptrdiff_t)y * dst_stride;
        if (is_float)
            vertical_row(rows, k, n, d, samples, 1, 0);
        else
            vertical_row(rows, k, n, d, samples, 0, 0);
    }
}

int bmci_resize_vertical_wide_simd(const uint8_t *src, ptrdiff_t src_stride, int32_t row0, uint8_t *dst,
                                   ptrdiff_t dst_stride, size_t samples, int is_float,
                                   const struct bmci_weights_wide *w)
{
    int level = bmci_resize_simd_level();
    if (level == 1)
        return bmci_resize_vertical_wide_avx2(src, src_stride, row0, dst, dst_stride, samples, is_float, w);
    if (level < 2)
        return 0;
    const uint8_t **rows = malloc((size_t)w->ksize * sizeof *rows);
    if (!rows)
        return 0;
    /* the integer pass's ring; without it that pass converts as it goes */
    double *ring = is_float || samples > SIZE_MAX / 8 / (size_t)w->ksize - 8
                       ? NULL
                       : malloc((size_t)w->ksize * ((samples + 7) / 8 * 8) * sizeof *ring);
    vertical_rows(src, src_stride, row0, dst, dst_stride, samples, is_float, w, rows, ring);
    free(ring);
    free(rows);
    return 1;
}

#else /* no x86 kernels: the portable passes always run */

int bmci_resize_horizontal_wide_simd(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                     ptrdiff_t dst_stride, int32_t rows, int is_float,
                                     const struct bmci_weights_wide *w)
{
    return 0;
}

int bmci_resize_vertical_wide_simd(const uint8_t *src, ptrdiff_t src_stride, int32_t row0, uint8_t *dst,
                                   ptrdiff_t dst_stride, size_t samples, int is_float,
                                   const struct bmci_weights_wide *w)
{
    return 0;
}

#endif
