/* SPDX-License-Identifier: MIT */
/* AVX2 and AVX-512 (BW; VBMI and VNNI) kernels of the 8-bit resampling passes, bit for bit the
 * portable ones.
 *
 * Pillow's weights are 22-bit fixed point, too wide for the 16-bit multiplies SIMD is fast at,
 * and Pillow-SIMD's 16-bit weights would change results. So each weight k is split as
 * k = hi * 2^11 + lo with lo in 0..2047 and hi a small signed number, both 16-bit; pairs of
 * (pixel, pixel) x (weight, weight) go through madd (16-bit products summed into 32 bits) into
 * separate hi and lo sums, and hi_sum * 2^11 + lo_sum is the exact sum modulo 2^32. The true
 * sum fits in 32 bits (Pillow keeps 2 bits of headroom), so it is the exact sum, whatever the
 * order of the terms; rounding (+ 2^21) and clipping (>> 22, then 0..255) follow as Pillow.
 *
 * Kernels are compiled with target attributes and chosen at run time, so the library needs no
 * -march flag; the callers keep the portable passes as the reference and the fallback. */
#include "image/resize_simd.h"

#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS 22
#define SPLIT_BITS 11

static int level_limit = 3; /* tests lower it */

int bmci_resize_limit_simd(int level)
{
    int previous = level_limit;
    level_limit = level;
    return previous;
}

int bmci_resize_force_portable(int force)
{
    return bmci_resize_limit_simd(force ? 0 : 3) == 0;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

static int cpu_level(void)
{
    static int known = -1; /* a benign race: every thread computes the same answer */
    if (known < 0) {
        __builtin_cpu_init();
        int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
        int permute = avx512 && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vnni");
        known = permute ? 3 : avx512 ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return known;
}

int bmci_resize_simd_level(void)
{
    int level = cpu_level();
    return level < level_limit ? level : level_limit;
}

static int16_t weight_hi(int32_t k)
{
    return (int16_t)(k >> SPLIT_BITS); /* arithmetic shift: floor */
}

static int16_t weight_lo(int32_t k)
{
    return (int16_t)(k & ((1 << SPLIT_BITS) - 1));
}

static uint8_t clip8(uint32_t sum)
{
    int32_t v = (int32_t)sum >> PRECISION_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* ---- horizontal pass ------------------------------------------------------------------------ */

/* Each step of the horizontal kernel loads 16 bytes of one input row (the first `taps` pixels
 * of a group), broadcasts them to both 128-bit lanes and shuffles them into 16-bit values such
 * that every 32-bit lane sums two taps of one band. Lane 0 takes the first half of the taps,
 * lane 1 the second; with 3 bands the fourth 32-bit lane of each half stays zero. */
static int group_taps(int bands)
{
    return bands == 1 ? 16 : bands == 2 ? 8 : 4;
}

/* The tap (within its group) and band held by 16-bit position p (0..15), or -1 for none. */
static int position_tap(int bands, int p, int *band)
{
    int half = p / 8, pair = (p % 8) / 2, odd = p % 2;
    int q = 0;
    if (bands == 3) {
        if (pair == 3)
            return -1;
        *band = pair;
    } else {
        *band = pair % bands;
        q = pair / bands;
    }
    return half * (group_taps(bands) / 2) + 2 * q + odd;
}

/* The expanded weights of a horizontal pass: for output i, groups offset[i] .. offset[i+1]-1,
 * each 16 hi then 16 lo weights laid out as the shuffled pixels. */
struct htable {
    int16_t *w;
    size_t *offset;
};

static int htable_build(struct htable *t, const struct bmci_weights8 *w, int bands)
{
    int taps = group_taps(bands);
    t->offset = malloc(((size_t)w->count + 1) * sizeof *t->offset);
    if (!t->offset)
        return 0;
    size_t groups = 0;
    for (int32_t i = 0; i < w->count; i++) {
        t->offset[i] = groups;
        groups += ((size_t)w->length[i] + (size_t)taps - 1) / (size_t)taps;
    }
    t->offset[w->count] = groups;
    t->w = groups > SIZE_MAX / 64 ? NULL : malloc(groups * 64);
    if (!t->w) {
        free(t->offset);
        return 0;
    }
    for (int32_t i = 0; i < w->count; i++) {
        const int32_t *k = w->k + (size_t)i * (size_t)w->ksize;
        for (size_t g = t->offset[i]; g < t->offset[i + 1]; g++) {
            int16_t *out = t->w + 32 * g;
            int32_t first = (int32_t)(g - t->offset[i]) * taps;
            for (int p = 0; p < 16; p++) {
                int band = 0, tap = position_tap(bands, p, &band);
                int32_t x = first + tap;
                int32_t kx = tap >= 0 && x < w->length[i] ? k[x] : 0;
                out[p] = weight_hi(kx);
                out[16 + p] = weight_lo(kx);
            }
        }
    }
    return 1;
}

static void htable_free(struct htable *t)
{
    free(t->w);
    free(t->offset);
}

/* One output pixel's group sum: taps at s, s + step, ... with the weights at k. The caller
 * guarantees that every 16-byte load stays inside the row. */
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2")))

AVX2_INLINE void horizontal_groups(const uint8_t *s, size_t step, size_t groups, const __m256i *k, __m256i mask,
                                   __m256i *hi, __m256i *lo)
{
    for (size_t g = 0; g < groups; g++, s += step, k += 2) {
        __m256i px = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)s)), mask);
        *hi = _mm256_add_epi32(*hi, _mm256_madd_epi16(px, _mm256_loadu_si256(k)));
        *lo = _mm256_add_epi32(*lo, _mm256_madd_epi16(px, _mm256_loadu_si256(k + 1)));
    }
}

/* The hi and lo sums of output pixel i of one row (see horizontal_groups). */
AVX2_INLINE void pixel_sums(const uint8_t *row, int32_t in_width, int bands, size_t step, int32_t i,
                            const struct bmci_weights8 *w, const struct htable *t, __m256i mask, __m256i *hi,
                            __m256i *lo)
{
    const uint8_t *s = row + (size_t)w->start[i] * (size_t)bands;
    size_t left = (size_t)(in_width - w->start[i]) * (size_t)bands; /* bytes readable from s */
    const __m256i *k = (const __m256i *)(t->w + 32 * t->offset[i]);
    size_t groups = t->offset[i + 1] - t->offset[i];
    size_t whole = left < 16 ? 0 : (left - 16) / step + 1; /* groups whose load fits in the row */
    whole = whole < groups ? whole : groups;
    *hi = _mm256_setzero_si256();
    *lo = _mm256_setzero_si256();
    horizontal_groups(s, step, whole, k, mask, hi, lo);
    for (size_t g = whole; g < groups; g++) {
        /* the row ends inside this load: the missing bytes only meet zero weights */
        uint8_t tail[16] = {0};
        memcpy(tail, s + g * step, left - g * step);
        horizontal_groups(tail, 0, 1, k + 2 * g, mask, hi, lo);
    }
}

/* One pixel's sums folded into its band sums in 32-bit lanes 0 .. bands - 1, rounding added:
 * the exact sum hi * 2^11 + lo (modulo 2^32, as Pillow's int32 sum), then the two 128-bit
 * halves (the two halves of the taps), then, for 1 and 2 bands, the lanes of one band. */
AVX2_INLINE __m128i band_sums(__m256i hi, __m256i lo, const int bands)
{
    __m256i sum = _mm256_add_epi32(_mm256_slli_epi32(hi, SPLIT_BITS), lo);
    __m128i four = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
    if (bands <= 2)
        four = _mm_add_epi32(four, _mm_shuffle_epi32(four, _MM_SHUFFLE(1, 0, 3, 2)));
    if (bands == 1)
        four = _mm_add_epi32(four, _mm_shuffle_epi32(four, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_add_epi32(four, _mm_set1_epi32(1 << (PRECISION_BITS - 1)));
}

/* Output pixel i of four rows at once when its groups' 16-byte loads stay inside the row (all
 * but the row's last few pixels). The weights are loaded once for the four rows; the rows' hi
 * and lo sums are paired into 256-bit vectors (row a's in the low 128 bits, row b's in the high)
 * as the two halves of the taps are added, so that the shift, fold, rounding and narrowing run
 * on two rows a step; all of it modulo 2^32, where the split sums add up to the exact one in
 * any grouping. The four pixels are stored as whole 32-bit words where the bytes past `bands`
 * fall inside the row, which the next pixels then overwrite (`spill`), and as `bands` bytes
 * otherwise. */
AVX2_INLINE __m256i paired_sums(__m256i hi_a, __m256i lo_a, __m256i hi_b, __m256i lo_b, const int bands)
{
    __m256i hi = _mm256_add_epi32(_mm256_permute2x128_si256(hi_a, hi_b, 0x20), _mm256_permute2x128_si256(hi_a, hi_b, 0x31));
    __m256i lo = _mm256_add_epi32(_mm256_permute2x128_si256(lo_a, lo_b, 0x20), _mm256_permute2x128_si256(lo_a, lo_b, 0x31));
    __m256i sum = _mm256_add_epi32(_mm256_slli_epi32(hi, SPLIT_BITS), lo);
    if (bands <= 2)
        sum = _mm256_add_epi32(sum, _mm256_shuffle_epi32(sum, _MM_SHUFFLE(1, 0, 3, 2)));
    if (bands == 1)
        sum = _mm256_add_epi32(sum, _mm256_shuffle_epi32(sum, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm256_srai_epi32(_mm256_add_epi32(sum, _mm256_set1_epi32(1 << (PRECISION_BITS - 1))), PRECISION_BITS);
}

AVX2_INLINE void four_rows(const uint8_t *s, ptrdiff_t src_stride, size_t step, size_t groups, const __m256i *k,
                           __m256i mask, uint8_t *d, ptrdiff_t dst_stride, const int bands, int spill)
{
    __m256i hi[4], lo[4];
#pragma GCC unroll 4 /* the arrays stay in registers only when unrolled */
    for (int r = 0; r < 4; r++)
        hi[r] = lo[r] = _mm256_setzero_si256();
    for (size_t g = 0; g < groups; g++, s += step, k += 2) {
        __m256i khi = _mm256_loadu_si256(k), klo = _mm256_loadu_si256(k + 1);
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            __m128i bytes = _mm_loadu_si128((const __m128i *)(s + r * src_stride));
            __m256i px = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(bytes), mask);
            hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(px, khi));
            lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(px, klo));
        }
    }
    __m256i rows01 = paired_sums(hi[0], lo[0], hi[1], lo[1], bands); /* row 0 | row 1 */
    __m256i rows23 = paired_sums(hi[2], lo[2], hi[3], lo[3], bands); /* row 2 | row 3 */
    /* packs and packus work within 128-bit halves: 32-bit word 0 is row 0, 1 row 2, 4 row 1, 5 row 3 */
    __m256i packed = _mm256_packus_epi16(_mm256_packs_epi32(rows01, rows23), _mm256_setzero_si256());
    uint32_t words[8];
    _mm256_storeu_si256((__m256i *)words, packed);
    static const int word_of_row[4] = {0, 4, 1, 5};
#pragma GCC unroll 4
    for (int r = 0; r < 4; r++) {
        if (spill) /* sizes known at compile time: one store each, not a byte loop */
            memcpy(d + r * dst_stride, &words[word_of_row[r]], 4);
        else
            memcpy(d + r * dst_stride, &words[word_of_row[r]], (size_t)bands);
    }
}

/* Output pixel i of one row, whatever its position (pixel_sums copies a load that would leave
 * the row), rounded, clipped to bytes by packs then packus as Pillow's clip8 does, and stored. */
AVX2_INLINE void one_pixel(const uint8_t *row, int32_t in_width, int bands, size_t step, int32_t i,
                           const struct bmci_weights8 *w, const struct htable *t, __m256i mask, uint8_t *d)
{
    __m256i hi, lo;
    pixel_sums(row, in_width, bands, step, i, w, t, mask, &hi, &lo);
    __m128i v = _mm_srai_epi32(band_sums(hi, lo, bands), PRECISION_BITS);
    __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(v, v), _mm_packs_epi32(v, v));
    uint32_t out = (uint32_t)_mm_cvtsi128_si32(bytes);
    memcpy(d, &out, (size_t)bands);
}

/* `bands` is a constant at each call site, so the compiler specialises the pass per band count.
 * Rows go four at a time through four_rows wherever its loads stay inside the row, and one at a
 * time otherwise (the row's last few pixels) and for the last rows. Four rows a pixel went from
 * 0.34 to 0.20-0.26 ms for a 333 x 250 JPEG's resize (docs/performance.md); an earlier
 * version with the sums in arrays left to the compiler, which kept them on the stack, had
 * measured slower than one row at a time. */
AVX2_INLINE void horizontal_avx2_bands(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                       ptrdiff_t dst_stride, int32_t rows, const int bands,
                                       const struct bmci_weights8 *w, const struct htable *t)
{
    const size_t step = (size_t)group_taps(bands) * (size_t)bands; /* bytes per group */
    uint8_t mask_bytes[32];
    for (int p = 0; p < 16; p++) {
        int band = 0, tap = position_tap(bands, p, &band);
        mask_bytes[2 * p] = tap < 0 ? 0x80 : (uint8_t)(tap * bands + band);
        mask_bytes[2 * p + 1] = 0x80; /* zero high byte: pixels become 16-bit */
    }
    const __m256i mask = _mm256_loadu_si256((const __m256i *)mask_bytes);
    int32_t y = 0;
    for (; y + 4 <= rows; y += 4) {
        const uint8_t *row = src + y * src_stride;
        uint8_t *d = dst + y * dst_stride;
        for (int32_t i = 0; i < w->count; i++, d += bands) {
            size_t first = (size_t)w->start[i] * (size_t)bands, groups = t->offset[i + 1] - t->offset[i];
            if (first + (groups - 1) * step + 16 <= (size_t)in_width * (size_t)bands)
                four_rows(row + first, src_stride, step, groups, (const __m256i *)(t->w + 32 * t->offset[i]), mask, d,
                          dst_stride, bands, bands < 4 && (i + 1) * bands + 4 - bands <= w->count * bands);
            else
                for (int r = 0; r < 4; r++)
                    one_pixel(row + r * src_stride, in_width, bands, step, i, w, t, mask, d + r * dst_stride);
        }
    }
    for (; y < rows; y++) {
        const uint8_t *row = src + y * src_stride;
        uint8_t *d = dst + y * dst_stride;
        for (int32_t i = 0; i < w->count; i++, d += bands)
            one_pixel(row, in_width, bands, step, i, w, t, mask, d);
    }
}

__attribute__((target("avx2"))) static void horizontal_avx2(const uint8_t *src, ptrdiff_t src_stride,
                                                             int32_t in_width, uint8_t *dst,
                                                             ptrdiff_t dst_stride, int32_t rows, int bands,
                                                             const struct bmci_weights8 *w,
                                                             const struct htable *t)
{
    if (bands == 1)
        horizontal_avx2_bands(src, src_stride, in_width, dst, dst_stride, rows, 1, w, t);
    else if (bands == 2)
        horizontal_avx2_bands(src, src_stride, in_width, dst, dst_stride, rows, 2, w, t);
    else if (bands == 3)
        horizontal_avx2_bands(src, src_stride, in_width, dst, dst_stride, rows, 3, w, t);
    else
        horizontal_avx2_bands(src, src_stride, in_width, dst, dst_stride, rows, 4, w, t);
}

/* ---- horizontal pass by byte permutation (AVX-512 VBMI and VNNI) ---------------------------- */

/* For short kernels (upscales, and downscales up to about 3.5x, the usual preprocessing case)
 * the layout is turned around: each 32-bit lane holds one output sample (pixel p of a block of
 * 16 / bands output pixels, band b). For each pair of taps, one byte permutation (vpermi2b)
 * picks the two input samples every lane needs out of a 128-byte window of the row, widened to
 * 16 bits by its zero mask, and two dpwssd multiply them by the split weights and accumulate
 * (modulo 2^32, as madd plus add above). A block of five RGB pixels then costs, per row, two
 * masked loads, Q permutations and 2Q dpwssd for Q tap pairs, where the kernel above spends a
 * shuffle, two madds and a fold per pixel and group: 333 x 250 -> 224 x 250 RGB goes from
 * 0.18 to 0.05 ms. Longer kernels, whose taps do not fit the window, keep the kernel above. */

#define PERM_WINDOW 128  /* bytes of a row a block can reach: the two vpermi2b tables */
#define PERM_MAX_PAIRS 8 /* tap pairs whose weights stay in registers (3 vectors a pair) */

/* Per block: its first input pixel and, per tap pair, the permutation indices and the hi and lo
 * weight pairs, 64 bytes each. */
struct ptable {
    int32_t pixels; /* output pixels per block */
    int32_t pairs;  /* tap pairs of every block */
    int32_t blocks;
    int32_t *base;
    uint8_t *vectors; /* blocks * pairs * 3 vectors of 64 bytes */
};

/* The largest block (at most 16 / bands output pixels) whose every block's taps with a weight
 * fall inside PERM_WINDOW bytes from its first input pixel; 0 when even one pixel's do not. */
static int32_t ptable_block_pixels(const struct bmci_weights8 *w, int bands)
{
    for (int32_t pixels = 16 / bands; pixels >= 1; pixels--) {
        int fits = 1;
        for (int32_t i = 0; i < w->count && fits; i++) {
            int32_t base = w->start[i - i % pixels];
            fits = (int64_t)(w->start[i] - base + w->length[i]) * bands <= PERM_WINDOW;
        }
        if (fits)
            return pixels;
    }
    return 0;
}

static int ptable_build(struct ptable *t, const struct bmci_weights8 *w, int bands)
{
    int32_t longest = 0;
    for (int32_t i = 0; i < w->count; i++)
        longest = w->length[i] > longest ? w->length[i] : longest;
    t->pairs = (longest + 1) / 2;
    t->pixels = ptable_block_pixels(w, bands);
    if (t->pairs > PERM_MAX_PAIRS || t->pixels < 1)
        return 0;
    t->blocks = (w->count + t->pixels - 1) / t->pixels;
    t->base = malloc((size_t)t->blocks * sizeof *t->base);
    t->vectors = calloc((size_t)t->blocks * (size_t)t->pairs, 3 * 64);
    if (!t->base || !t->vectors) {
        free(t->base);
        free(t->vectors);
        return 0;
    }
    for (int32_t block = 0; block < t->blocks; block++) {
        int32_t first = block * t->pixels, base = w->start[first];
        t->base[block] = base;
        for (int32_t q = 0; q < t->pairs; q++) {
            uint8_t *index = t->vectors + ((size_t)block * (size_t)t->pairs + (size_t)q) * 3 * 64;
            int16_t *hi = (int16_t *)(index + 64), *lo = (int16_t *)(index + 128);
            for (int32_t p = 0; p < t->pixels && first + p < w->count; p++) {
                int32_t i = first + p;
                const int32_t *k = w->k + (size_t)i * (size_t)w->ksize;
                for (int b = 0; b < bands; b++)
                    for (int half = 0; half < 2; half++) {
                        int32_t tap = 2 * q + half, lane = p * bands + b;
                        if (tap >= w->length[i])
                            continue; /* weight 0, index 0 */
                        index[4 * lane + 2 * half] = (uint8_t)((w->start[i] - base + tap) * bands + b);
                        hi[2 * lane + half] = weight_hi(k[tap]);
                        lo[2 * lane + half] = weight_lo(k[tap]);
                    }
            }
        }
    }
    return 1;
}

static void ptable_free(struct ptable *t)
{
    free(t->base);
    free(t->vectors);
}

#define PERMUTE_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vnni")))

/* One block over all rows; `pairs` is a constant at each call site, so the tables stay in
 * registers while the rows go by. */
PERMUTE_INLINE void permute_block(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                  ptrdiff_t dst_stride, int32_t rows, int bands, const struct ptable *t,
                                  int32_t block, int32_t outputs, const int pairs)
{
    __m512i index[PERM_MAX_PAIRS], hi_w[PERM_MAX_PAIRS], lo_w[PERM_MAX_PAIRS];
    const uint8_t *v = t->vectors + (size_t)block * (size_t)pairs * 3 * 64;
    for (int q = 0; q < pairs; q++) {
        index[q] = _mm512_loadu_si512((const void *)(v + q * 192));
        hi_w[q] = _mm512_loadu_si512((const void *)(v + q * 192 + 64));
        lo_w[q] = _mm512_loadu_si512((const void *)(v + q * 192 + 128));
    }
    size_t offset = (size_t)t->base[block] * (size_t)bands;
    size_t left = (size_t)in_width * (size_t)bands - offset; /* bytes of the row from the window's start */
    __mmask64 first = left >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << left) - 1;
    __mmask64 second = left >= 128 ? ~(__mmask64)0 : left <= 64 ? 0 : ((__mmask64)1 << (left - 64)) - 1;
    __mmask16 store = (__mmask16)((1u << (outputs * bands)) - 1);
    const __mmask64 low_bytes = 0x5555555555555555ull;
    const __m512i zero = _mm512_setzero_si512(), half = _mm512_set1_epi32(1 << (PRECISION_BITS - 1));
    const uint8_t *s = src + offset;
    uint8_t *d = dst + (size_t)block * (size_t)t->pixels * (size_t)bands;
    for (int32_t y = 0; y < rows; y++, s += src_stride, d += dst_stride) {
        __m512i a = _mm512_maskz_loadu_epi8(first, s), b = _mm512_maskz_loadu_epi8(second, s + 64);
        __m512i hi = zero, lo = half;
        for (int q = 0; q < pairs; q++) {
            __m512i px = _mm512_maskz_permutex2var_epi8(low_bytes, a, index[q], b);
            hi = _mm512_dpwssd_epi32(hi, px, hi_w[q]);
            lo = _mm512_dpwssd_epi32(lo, px, lo_w[q]);
        }
        __m512i sum = _mm512_srai_epi32(_mm512_add_epi32(_mm512_slli_epi32(hi, SPLIT_BITS), lo), PRECISION_BITS);
        /* clip to 0..255 as Pillow's clip8: max with 0, then unsigned saturation */
        _mm_mask_storeu_epi8(d, store, _mm512_cvtusepi32_epi8(_mm512_max_epi32(sum, zero)));
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vnni"))) static void
horizontal_permute(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst, ptrdiff_t dst_stride,
                   int32_t rows, int bands, const struct bmci_weights8 *w, const struct ptable *t)
{
    for (int32_t block = 0; block < t->blocks; block++) {
        int32_t outputs = w->count - block * t->pixels;
        outputs = outputs < t->pixels ? outputs : t->pixels;
#define PERMUTE_CASE(Q)                                                                                     \
    case Q: permute_block(src, src_stride, in_width, dst, dst_stride, rows, bands, t, block, outputs, Q); break;
        switch (t->pairs) {
            PERMUTE_CASE(1) PERMUTE_CASE(2) PERMUTE_CASE(3) PERMUTE_CASE(4)
            PERMUTE_CASE(5) PERMUTE_CASE(6) PERMUTE_CASE(7) PERMUTE_CASE(8)
        }
#undef PERMUTE_CASE
    }
}

int bmci_resize_horizontal_u8_simd(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                   ptrdiff_t dst_stride, int32_t rows, int32_t bands,
                                   const struct bmci_weights8 *w)
{
    int level = bmci_resize_simd_level();
    if (level < 1 || bands < 1 || bands > 4)
        return 0;
    struct ptable p;
    if (level >= 3 && ptable_build(&p, w, bands)) {
        horizontal_permute(src, src_stride, in_width, dst, dst_stride, rows, bands, w, &p);
        ptable_free(&p);
        return 1;
    }
    struct htable t;
    if (!htable_build(&t, w, bands))
        return 0;
    horizontal_avx2(src, src_stride, in_width, dst, dst_stride, rows, bands, w, &t);
    htable_free(&t);
    return 1;
}

/* ---- vertical pass -------------------------------------------------------------------------- */

/* The weights of one output row as (row r, row r+1) pairs, hi and lo halves packed for madd;
 * an odd last row gets a zero partner. */
static void vertical_pairs(const int32_t *k, int32_t n, uint32_t *hi, uint32_t *lo)
{
    for (int32_t r = 0; r < n; r += 2) {
        int32_t k0 = k[r], k1 = r + 1 < n ? k[r + 1] : 0;
        hi[r / 2] = (uint16_t)weight_hi(k0) | (uint32_t)(uint16_t)weight_hi(k1) << 16;
        lo[r / 2] = (uint16_t)weight_lo(k0) | (uint32_t)(uint16_t)weight_lo(k1) << 16;
    }
}

/* Samples from..samples-1 of one output row, as the portable pass computes them. */
static void vertical_tail(const uint8_t *const *rows, const int32_t *k, int32_t n, uint8_t *dst, size_t from,
                          size_t samples)
{
    for (size_t x = from; x < samples; x++) {
        uint32_t sum = 1u << (PRECISION_BITS - 1);
        for (int32_t r = 0; r < n; r++)
            sum += (uint32_t)rows[r][x] * (uint32_t)k[r];
        dst[x] = clip8(sum);
    }
}

/* Steps of the vertical kernels: bytes of rows r and r+1 are interleaved (unpack 8-bit), then
 * widened to (row r, row r+1) 16-bit pairs (unpack with zero) for madd. The unpacks work within
 * 128-bit lanes, and the packs at the end undo their order within each lane, so the results
 * come out in sample order. */
#define VERTICAL_STEP(W, p, khi, klo, H, L)                                                                 \
    do {                                                                                                    \
        H = _mm##W##_add_epi32(H, _mm##W##_madd_epi16(p, khi));                                           \
        L = _mm##W##_add_epi32(L, _mm##W##_madd_epi16(p, klo));                                           \
    } while (0)

__attribute__((target("avx2"))) static size_t vertical_row_avx2(const uint8_t *const *rows, int32_t n,
                                                                const uint32_t *khi, const uint32_t *klo,
                                                                uint8_t *dst, size_t from, size_t samples)
{
    const __m256i zero = _mm256_setzero_si256(), half = _mm256_set1_epi32(1 << (PRECISION_BITS - 1));
    size_t x = from;
    for (; x + 32 <= samples; x += 32) {
        __m256i h0 = zero, h1 = zero, h2 = zero, h3 = zero, l0 = half, l1 = half, l2 = half, l3 = half;
        for (int32_t r = 0; r < n; r += 2) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(rows[r] + x));
            __m256i b = r + 1 < n ? _mm256_loadu_si256((const __m256i *)(rows[r + 1] + x)) : zero;
            __m256i kh = _mm256_set1_epi32((int32_t)khi[r / 2]), kl = _mm256_set1_epi32((int32_t)klo[r / 2]);
            __m256i ab_lo = _mm256_unpacklo_epi8(a, b), ab_hi = _mm256_unpackhi_epi8(a, b);
            VERTICAL_STEP(256, _mm256_unpacklo_epi8(ab_lo, zero), kh, kl, h0, l0);
            VERTICAL_STEP(256, _mm256_unpackhi_epi8(ab_lo, zero), kh, kl, h1, l1);
            VERTICAL_STEP(256, _mm256_unpacklo_epi8(ab_hi, zero), kh, kl, h2, l2);
            VERTICAL_STEP(256, _mm256_unpackhi_epi8(ab_hi, zero), kh, kl, h3, l3);
        }
        __m256i s0 = _mm256_srai_epi32(_mm256_add_epi32(_mm256_slli_epi32(h0, SPLIT_BITS), l0), PRECISION_BITS);
        __m256i s1 = _mm256_srai_epi32(_mm256_add_epi32(_mm256_slli_epi32(h1, SPLIT_BITS), l1), PRECISION_BITS);
        __m256i s2 = _mm256_srai_epi32(_mm256_add_epi32(_mm256_slli_epi32(h2, SPLIT_BITS), l2), PRECISION_BITS);
        __m256i s3 = _mm256_srai_epi32(_mm256_add_epi32(_mm256_slli_epi32(h3, SPLIT_BITS), l3), PRECISION_BITS);
        /* values are in -512..511: packs is exact, packus clips to 0..255 as Pillow's clip8 */
        __m256i out = _mm256_packus_epi16(_mm256_packs_epi32(s0, s1), _mm256_packs_epi32(s2, s3));
        _mm256_storeu_si256((__m256i *)(dst + x), out);
    }
    return x;
}

__attribute__((target("avx512f,avx512bw"))) static size_t vertical_row_avx512(const uint8_t *const *rows,
                                                                              int32_t n, const uint32_t *khi,
                                                                              const uint32_t *klo, uint8_t *dst,
                                                                              size_t samples)
{
    const __m512i zero = _mm512_setzero_si512(), half = _mm512_set1_epi32(1 << (PRECISION_BITS - 1));
    size_t x = 0;
    for (; x + 64 <= samples; x += 64) {
        __m512i h0 = zero, h1 = zero, h2 = zero, h3 = zero, l0 = half, l1 = half, l2 = half, l3 = half;
        for (int32_t r = 0; r < n; r += 2) {
            __m512i a = _mm512_loadu_si512((const void *)(rows[r] + x));
            __m512i b = r + 1 < n ? _mm512_loadu_si512((const void *)(rows[r + 1] + x)) : zero;
            __m512i kh = _mm512_set1_epi32((int32_t)khi[r / 2]), kl = _mm512_set1_epi32((int32_t)klo[r / 2]);
            __m512i ab_lo = _mm512_unpacklo_epi8(a, b), ab_hi = _mm512_unpackhi_epi8(a, b);
            VERTICAL_STEP(512, _mm512_unpacklo_epi8(ab_lo, zero), kh, kl, h0, l0);
            VERTICAL_STEP(512, _mm512_unpackhi_epi8(ab_lo, zero), kh, kl, h1, l1);
            VERTICAL_STEP(512, _mm512_unpacklo_epi8(ab_hi, zero), kh, kl, h2, l2);
            VERTICAL_STEP(512, _mm512_unpackhi_epi8(ab_hi, zero), kh, kl, h3, l3);
        }
        __m512i s0 = _mm512_srai_epi32(_mm512_add_epi32(_mm512_slli_epi32(h0, SPLIT_BITS), l0), PRECISION_BITS);
        __m512i s1 = _mm512_srai_epi32(_mm512_add_epi32(_mm512_slli_epi32(h1, SPLIT_BITS), l1), PRECISION_BITS);
        __m512i s2 = _mm512_srai_epi32(_mm512_add_epi32(_mm512_slli_epi32(h2, SPLIT_BITS), l2), PRECISION_BITS);
        __m512i s3 = _mm512_srai_epi32(_mm512_add_epi32(_mm512_slli_epi32(h3, SPLIT_BITS), l3), PRECISION_BITS);
        __m512i out = _mm512_packus_epi16(_mm512_packs_epi32(s0, s1), _mm512_packs_epi32(s2, s3));
        _mm512_storeu_si512((void *)(dst + x), out);
    }
    return x;
}

int bmci_resize_vertical_u8_simd(const uint8_t *src, ptrdiff_t src_stride, int32_t row0, uint8_t *dst,
                                 ptrdiff_t dst_stride, size_t samples, const struct bmci_weights8 *w)
{
    int level = bmci_resize_simd_level();
    if (level < 1)
        return 0;
    size_t pairs = ((size_t)w->ksize + 1) / 2;
    uint32_t *khi = malloc(pairs * 2 * sizeof *khi);
    const uint8_t **rows = malloc((size_t)w->ksize * sizeof *rows);
    if (!khi || !rows) {
        free(khi);
        free(rows);
        return 0;
    }
    uint32_t *klo = khi + pairs;
    for (int32_t y = 0; y < w->count; y++) {
        int32_t n = w->length[y];
        const int32_t *k = w->k + (size_t)y * (size_t)w->ksize;
        for (int32_t r = 0; r < n; r++)
            rows[r] = src + (ptrdiff_t)(w->start[y] - row0 + r) * src_stride;
        vertical_pairs(k, n, khi, klo);
        uint8_t *d = dst + (ptrdiff_t)y * dst_stride;
        size_t x = level >= 2 ? vertical_row_avx512(rows, n, khi, klo, d, samples) : 0;
        x = vertical_row_avx2(rows, n, khi, klo, d, x, samples);
        vertical_tail(rows, k, n, d, x, samples);
    }
    free(khi);
    free(rows);
    return 1;
}

/* ---- premultiplied alpha ---------------------------------------------------------------------- */

/* Pillow's rgbA2rgba on eight pixels a step: colour samples times alpha / 255 with its
 * rounding, (t + (t >> 8)) >> 8 for t = c * a + 128, which stays within 16 bits. */
__attribute__((target("avx2"))) static size_t premultiply_rgba_avx2(const uint8_t *src, uint8_t *dst,
                                                                     size_t pixels)
{
    const __m256i zero = _mm256_setzero_si256(), rounding = _mm256_set1_epi16(128);
    /* within each 128-bit lane: two pixels of four 16-bit samples, alpha at samples 3 and 7 */
    const __m256i alpha = _mm256_setr_epi8(6, 7, 6, 7, 6, 7, 6, 7, 14, 15, 14, 15, 14, 15, 14, 15, 6, 7, 6, 7, 6, 7,
                                           6, 7, 14, 15, 14, 15, 14, 15, 14, 15);
    size_t i = 0;
    for (; i + 8 <= pixels; i += 8) {
        __m256i px = _mm256_loadu_si256((const __m256i *)(src + 4 * i));
        __m256i half[2] = {_mm256_unpacklo_epi8(px, zero), _mm256_unpackhi_epi8(px, zero)};
        for (int h = 0; h < 2; h++) {
            __m256i t = _mm256_add_epi16(_mm256_mullo_epi16(half[h], _mm256_shuffle_epi8(half[h], alpha)), rounding);
            __m256i scaled = _mm256_srli_epi16(_mm256_add_epi16(t, _mm256_srli_epi16(t, 8)), 8);
            half[h] = _mm256_blend_epi16(scaled, half[h], 0x88); /* alpha itself unchanged */
        }
        _mm256_storeu_si256((__m256i *)(dst + 4 * i), _mm256_packus_epi16(half[0], half[1]));
    }
    return i;
}

size_t bmci_premultiply_rgba_simd(const uint8_t *src, uint8_t *dst, size_t pixels)
{
    return bmci_resize_simd_level() >= 1 ? premultiply_rgba_avx2(src, dst, pixels) : 0;
}

/* Pillow's rgba2rgbA on eight pixels a step: each colour sample c of a pixel whose alpha a is
 * neither 0 nor 255 becomes min(255, 255 * c / a), the quotient truncated, as the portable
 * code's reciprocals give it. In float, 255 * c and a are exact and the division is correctly
 * rounded; a quotient that is not a whole number lies at least 1/a above the one below and
 * below the one above, far more than a float's rounding near 255 (2^-16), so truncating the
 * float gives the integer quotient. Pixels of alpha 0 (whose division is not a number) and
 * 255 keep their samples. */
__attribute__((target("avx2"))) static size_t unpremultiply_rgba_avx2(uint8_t *pixels, size_t count)
{
    const __m256i low_byte = _mm256_set1_epi32(0xff);
    const __m256 full = _mm256_set1_ps(255.0f);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256i px = _mm256_loadu_si256((const __m256i *)(pixels + 4 * i));
        __m256i a = _mm256_srli_epi32(px, 24);
        __m256 alpha = _mm256_cvtepi32_ps(a);
        __m256i out = _mm256_slli_epi32(a, 24);
        for (int b = 0; b < 3; b++) {
            __m256 c = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(px, 8 * b), low_byte));
            __m256 q = _mm256_min_ps(_mm256_div_ps(_mm256_mul_ps(c, full), alpha), full);
            out = _mm256_or_si256(out, _mm256_slli_epi32(_mm256_cvttps_epi32(q), 8 * b));
        }
        __m256i keep = _mm256_or_si256(_mm256_cmpeq_epi32(a, _mm256_setzero_si256()), _mm256_cmpeq_epi32(a, low_byte));
        _mm256_storeu_si256((__m256i *)(pixels + 4 * i), _mm256_blendv_epi8(out, px, keep));
    }
    return i;
}

size_t bmci_unpremultiply_rgba_simd(uint8_t *pixels, size_t count)
{
    return bmci_resize_simd_level() >= 1 ? unpremultiply_rgba_avx2(pixels, count) : 0;
}

#else /* no x86 kernels: the portable passes always run */

size_t bmci_premultiply_rgba_simd(const uint8_t *src, uint8_t *dst, size_t pixels)
{
    return 0;
}

size_t bmci_unpremultiply_rgba_simd(uint8_t *pixels, size_t count)
{
    return 0;
}


int bmci_resize_simd_level(void)
{
    return 0;
}

int bmci_resize_horizontal_u8_simd(const uint8_t *src, ptrdiff_t src_stride, int32_t in_width, uint8_t *dst,
                                   ptrdiff_t dst_stride, int32_t rows, int32_t bands,
                                   const struct bmci_weights8 *w)
{
    return 0;
}

int bmci_resize_vertical_u8_simd(const uint8_t *src, ptrdiff_t src_stride, int32_t row0, uint8_t *dst,
                                 ptrdiff_t dst_stride, size_t samples, const struct bmci_weights8 *w)
{
    return 0;
}

#endif
