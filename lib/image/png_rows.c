/* SPDX-License-Identifier: MIT */
/* The image data of a plain PNG in one go: the IDAT chunks' zlib stream inflated by libdeflate
 * into one buffer, then the rows unfiltered in place.
 *
 * Why beside libpng: on the ordinary PNGs of radiology and pathology most of the decoding time
 * is zlib's inflate (about 1 ms of Pillow's 3 ms for a 300 x 257 RGB image); libdeflate
 * inflates the same stream in a little over half the time but only as a whole buffer, which
 * libpng cannot use. libpng still reads and checks everything before the image data (IHDR,
 * PLTE, the chunks' CRCs); this module only takes over the IDAT stream of the cases it knows,
 * and gives up at the first thing it does not expect, so that the caller goes on with libpng
 * from the same place and reports what libpng and Pillow report. The filters are the PNG
 * specification's, exact integer arithmetic: any correct implementation gives libpng's bytes. */
#include "image/png_rows.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

static uint32_t read_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The IDAT chunks from `pos` (the first one's data, its header just before) to the first chunk
 * of another type, their data joined. Returns the joined size, 0 when the layout is not the
 * expected one; *stream is either into `data` (a single chunk) or malloc'd in *joined. */
static size_t gather_idat(const uint8_t *data, size_t size, size_t pos, const uint8_t **stream, uint8_t **joined)
{
    *joined = NULL;
    if (pos < 8 || pos > size || memcmp(data + pos - 4, "IDAT", 4) != 0)
        return 0;
    size_t total = 0, chunks = 0;
    for (size_t at = pos - 8; at + 8 <= size && memcmp(data + at + 4, "IDAT", 4) == 0; chunks++) {
        size_t length = read_be32(data + at);
        if (length > size - at - 8)
            return 0; /* truncated: libpng says so */
        total += length;
        at += 12 + length; /* header, data, CRC */
    }
    if (total == 0)
        return 0;
    if (chunks == 1) {
        *stream = data + pos;
        return total;
    }
    uint8_t *out = malloc(total);
    if (!out)
        return 0;
    size_t filled = 0;
    for (size_t at = pos - 8; filled < total; at += 12 + read_be32(data + at)) {
        size_t length = read_be32(data + at);
        memcpy(out + filled, data + at + 8, length);
        filled += length;
    }
    *stream = out;
    *joined = out;
    return total;
}

/* Paeth's predictor as the PNG specification defines it (the nearest of a, b, c to a + b - c,
 * ties to a, then b), written with selects rather than branches: on noisy rows the branches
 * mispredict about every other byte. */
static inline uint8_t paeth(int a, int b, int c)
{
    int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
    int best = a, distance = pa;
    best = pb < distance ? b : best;
    distance = pb < distance ? pb : distance;
    best = pc < distance ? c : best;
    return (uint8_t)best;
}

/* The Up filter, 16 bytes a step where SSE2 is there (the compilers' -O2 leaves the plain loop
 * byte by byte). */
static void add_prior(uint8_t *restrict row, const uint8_t *restrict prior, size_t bytes)
{
    size_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= bytes; i += 16) {
        __m128i sum = _mm_add_epi8(_mm_loadu_si128((const __m128i *)(row + i)),
                                   _mm_loadu_si128((const __m128i *)(prior + i)));
        _mm_storeu_si128((__m128i *)(row + i), sum);
    }
#endif
    for (; i < bytes; i++)
        row[i] = (uint8_t)(row[i] + prior[i]);
}

/* Sub (1), Average (3) and Paeth (4): each byte depends on the one bpp bytes before it. Those
 * are carried in locals (registers once the pixel loop is unrolled for a constant bpp): read
 * back from the row, every byte would wait for its own store to be forwarded. `bpp` and `type`
 * are constants at each call site, which the forced inlining keeps (left to itself, GCC made
 * one out-of-line copy with bpp a variable: 3% slower PNG decoding). Bytes before the row's
 * start count as 0; the row is done from byte `start` (a whole number of pixels), those before
 * it already unfiltered. */
static ALWAYS_INLINE void unfilter_serial(uint8_t *restrict row, const uint8_t *restrict prior, size_t start,
                                          size_t bytes, const size_t bpp, const int type)
{
    uint8_t a[8] = {0}, c[8] = {0}; /* left and upper left of the next pixel's bytes */
    for (size_t k = 0; start >= bpp && k < bpp; k++)
        a[k] = row[start - bpp + k], c[k] = prior[start - bpp + k];
    for (size_t i = start; i < bytes; i += bpp) {
#pragma GCC unroll 8
        for (size_t k = 0; k < bpp; k++) {
            if (i + k >= bytes) /* a last partial pixel, never in a valid row: only for safety */
                break;
            uint8_t b = prior[i + k];
            uint8_t predicted = type == 1 ? a[k] : type == 3 ? (uint8_t)((a[k] + b) >> 1) : paeth(a[k], b, c[k]);
            a[k] = (uint8_t)(row[i + k] + predicted);
            row[i + k] = a[k];
            c[k] = b;
        }
    }
}

#if defined(__SSE2__)
/* Sub for pixels of 1, 2, 4 or 8 bytes, 16 bytes a step: within a step, a prefix sum of the
 * bytes bpp apart (shifted copies added, doubling the distance), plus the last pixel of the
 * step before repeated across the step. Sums wrap modulo 256 byte by byte, as the filter does.
 * Returns how many bytes it did (whole steps); the caller does the rest. */
static ALWAYS_INLINE size_t unfilter_sub_sse2(uint8_t *row, size_t bytes, const size_t bpp)
{
    __m128i carry = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 16 <= bytes; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(row + i));
        switch (bpp) {
        case 1: x = _mm_add_epi8(x, _mm_slli_si128(x, 1)); /* fall through */
        case 2: x = _mm_add_epi8(x, _mm_slli_si128(x, 2)); /* fall through */
        case 4: x = _mm_add_epi8(x, _mm_slli_si128(x, 4)); /* fall through */
        default: x = _mm_add_epi8(x, _mm_slli_si128(x, 8));
        }
        x = _mm_add_epi8(x, carry);
        _mm_storeu_si128((__m128i *)(row + i), x);
        switch (bpp) { /* the step's last pixel in every pixel of the next */
        case 1: carry = _mm_unpackhi_epi64(_mm_shufflehi_epi16(_mm_unpackhi_epi8(x, x), 0xff),
                                           _mm_shufflehi_epi16(_mm_unpackhi_epi8(x, x), 0xff)); break;
        case 2: carry = _mm_unpackhi_epi64(_mm_shufflehi_epi16(x, 0xff), _mm_shufflehi_epi16(x, 0xff)); break;
        case 4: carry = _mm_shuffle_epi32(x, 0xff); break;
        default: carry = _mm_unpackhi_epi64(x, x);
        }
    }
    return i;
}
#endif

static ALWAYS_INLINE void unfilter_serial_types(uint8_t *restrict row, const uint8_t *restrict prior, size_t bytes,
                                                const size_t bpp, int type)
{
    if (type == 1) {
        size_t start = 0;
#if defined(__SSE2__)
        if (bpp == 1 || bpp == 2 || bpp == 4 || bpp == 8)
            start = unfilter_sub_sse2(row, bytes, bpp);
#endif
        unfilter_serial(row, prior, start, bytes, bpp, 1);
    } else if (type == 3) {
        unfilter_serial(row, prior, 0, bytes, bpp, 3);
    } else {
        unfilter_serial(row, prior, 0, bytes, bpp, 4);
    }
}

/* Undo one row's filter; `prior` is the previous row unfiltered (zeros for the first). bpp is
 * 1 to 8 (bytes per pixel of the depths this module takes). Returns 0 for a filter type the
 * specification does not define. */
static int unfilter_row(uint8_t *row, const uint8_t *prior, size_t bytes, size_t bpp, int type)
{
    if (type == 0)
        return 1;
    if (type == 2) {
        add_prior(row, prior, bytes);
        return 1;
    }
    if (type != 1 && type != 3 && type != 4)
        return 0;
    switch (bpp) {
    case 1: unfilter_serial_types(row, prior, bytes, 1, type); break;
    case 2: unfilter_serial_types(row, prior, bytes, 2, type); break;
    case 3: unfilter_serial_types(row, prior, bytes, 3, type); break;
    case 4: unfilter_serial_types(row, prior, bytes, 4, type); break;
    case 6: unfilter_serial_types(row, prior, bytes, 6, type); break;
    case 8: unfilter_serial_types(row, prior, bytes, 8, type); break;
    default: return 0; /* not a PNG pixel size: libpng takes over */
    }
    return 1;
}

int bmci_png_read_rows(const uint8_t *data, size_t size, size_t pos, size_t height, size_t row_bytes, size_t bpp,
                       uint8_t **rows)
{
    *rows = NULL;
    size_t stride = row_bytes + 1; /* each row starts with its filter type */
    if (height == 0 || row_bytes == 0 || bpp == 0 || height > BMCI_PNG_ROWS_MAX_BYTES / stride)
        return 0;
    size_t expected = height * stride;
    const uint8_t *stream = NULL;
    uint8_t *joined = NULL, *filtered = NULL, *prior = NULL;
    struct libdeflate_decompressor *inflater = NULL;
    int ok = 0;
    size_t in = gather_idat(data, size, pos, &stream, &joined);
    if (in > 0 && (inflater = libdeflate_alloc_decompressor()) && (filtered = malloc(expected)) &&
        (prior = calloc(1, row_bytes))) {
        size_t produced = 0;
        /* Anything but a complete stream of exactly the image's size (a short or long stream, a
         * bad checksum, which libpng is told to ignore) leaves the case to libpng. */
        ok = libdeflate_zlib_decompress(inflater, stream, in, filtered, expected, &produced) == LIBDEFLATE_SUCCESS &&
             produced == expected;
        for (size_t y = 0; ok && y < height; y++) {
            uint8_t *row = filtered + y * stride;
            ok = unfilter_row(row + 1, y ? row + 1 - stride : prior, row_bytes, bpp, row[0]);
        }
    }
    libdeflate_free_decompressor(inflater);
    free(joined);
    free(prior);
    if (!ok) {
        free(filtered);
        return 0;
    }
    *rows = filtered;
    return 1;
}
