/* SPDX-License-Identifier: MIT */
/* Internal: the image data of a non-interlaced PNG inflated and unfiltered in one go
 * (png_rows.c), for the decoder in png.c. */
#ifndef BMC_LIB_PNG_ROWS_H
#define BMC_LIB_PNG_ROWS_H

#include <stddef.h>
#include <stdint.h>

/* Images whose filtered data is larger go row by row through libpng: the whole-buffer inflate
 * holds the image's data a second time while it decodes. */
#define BMCI_PNG_ROWS_MAX_BYTES ((size_t)64 << 20)

/* The `height` rows of `row_bytes` bytes each (`bpp` bytes per complete pixel, at least 1) of
 * the PNG in data[0 .. size), whose first IDAT chunk's data starts at `pos`, its 8-byte header
 * just before. On success returns 1 and sets *rows to a malloc'd buffer (free with free())
 * where row y's unfiltered bytes start at y * (row_bytes + 1) + 1. Returns 0, with *rows NULL,
 * for anything it does not handle or that is wrong (chunks cut short, a stream of another
 * size, a bad checksum, an unknown filter, too large, no memory): the caller then reads the
 * same data with libpng, which reports the error if there is one. Thread-safe. */
int bmci_png_read_rows(const uint8_t *data, size_t size, size_t pos, size_t height, size_t row_bytes, size_t bpp,
                       uint8_t **rows);

#endif
