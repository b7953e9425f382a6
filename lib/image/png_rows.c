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

/* The Up filter: rows never overlap, and saying so lets the compiler vectorise. */
static void add_prior(uint8_t *restrict row, const uint8_t *restrict prior, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++)
        row[i] = (uint8_t)(row[i] + prior[i]);
}

/* Undo one row's filter; `prior` is the previous row unfiltered (zeros for the first).
 * Returns 0 for a filter type the specification does not define. */
static int unfilter_row(uint8_t *row, const uint8_t *prior, size_t bytes, size_t bpp, int type)
{
    switch (type) {
    case 0: return 1;
    case 1:
        for (size_t i = bpp; i < bytes; i++)
            row[i] = (uint8_t)(row[i] + row[i - bpp]);
        return 1;
    case 2: add_prior(row, prior, bytes); return 1;
    case 3:
        for (size_t i = 0; i < bytes; i++)
            row[i] = (uint8_t)(row[i] + (((i >= bpp ? row[i - bpp] : 0) + prior[i]) >> 1));
        return 1;
    case 4:
        add_prior(row, prior, bpp < bytes ? bpp : bytes); /* Paeth with a = c = 0 picks b */
        for (size_t i = bpp; i < bytes; i++)
            row[i] = (uint8_t)(row[i] + paeth(row[i - bpp], prior[i], prior[i - bpp]));
        return 1;
    default: return 0;
    }
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
