/* SPDX-License-Identifier: MIT */
/* The whole-buffer PNG path (lib/image/png_rows.c) against libpng, its reference: PNGs built
 * here from random filtered data (every filter type, every colour type and sample depth it
 * takes, widths that end inside a pixel group, the stream split over several IDAT chunks) must
 * unfilter to libpng's rows byte for byte; and every input it must leave to libpng (a cut or
 * overlong stream, a bad checksum, an unknown filter type, an IDAT run broken by another chunk,
 * an image over its size limit) must make it give up, so that libpng decides. */
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "harness.h"
#include "image/png_rows.h"

static uint64_t rng_state = 0x2545f4914f6cdd1du;

static uint32_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* A PNG under construction. */
struct png_buffer {
    uint8_t *data;
    size_t size;
    size_t first_idat; /* offset of the first IDAT chunk's data */
};

static void put(struct png_buffer *b, const void *bytes, size_t n)
{
    b->data = realloc(b->data, b->size + n);
    if (!b->data)
        abort();
    memcpy(b->data + b->size, bytes, n);
    b->size += n;
}

static void put_be32(struct png_buffer *b, uint32_t v)
{
    uint8_t bytes[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, bytes, 4);
}

static void put_chunk(struct png_buffer *b, const char *type, const uint8_t *data, size_t n)
{
    put_be32(b, (uint32_t)n);
    size_t start = b->size;
    put(b, type, 4);
    if (n)
        put(b, data, n);
    put_be32(b, (uint32_t)crc32(0, b->data + start, (uInt)(n + 4)));
}

struct layout {
    int color_type, bit_depth, channels;
};

/* The PNG of `filtered` (height rows, each a filter type byte and row_bytes bytes), its zlib
 * stream cut into IDAT chunks of random sizes; `between` puts a tEXt chunk after the first. */
static struct png_buffer build_png(const struct layout *l, uint32_t width, uint32_t height, const uint8_t *stream,
                                   size_t stream_size, int between)
{
    struct png_buffer b = {0};
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    put(&b, signature, 8);
    uint8_t ihdr[13] = {(uint8_t)(width >> 24), (uint8_t)(width >> 16), (uint8_t)(width >> 8), (uint8_t)width,
                        (uint8_t)(height >> 24), (uint8_t)(height >> 16), (uint8_t)(height >> 8), (uint8_t)height,
                        (uint8_t)l->bit_depth, (uint8_t)l->color_type, 0, 0, 0};
    put_chunk(&b, "IHDR", ihdr, sizeof ihdr);
    if (l->color_type == PNG_COLOR_TYPE_PALETTE) {
        uint8_t palette[768];
        for (int i = 0; i < 768; i++)
            palette[i] = (uint8_t)next_random();
        put_chunk(&b, "PLTE", palette, sizeof palette);
    }
    size_t at = 0;
    for (int chunk = 0; at < stream_size; chunk++) {
        size_t n = 1 + next_random() % (stream_size / 3 + 1);
        n = n < stream_size - at ? n : stream_size - at;
        if (chunk == 0)
            b.first_idat = b.size + 8;
        put_chunk(&b, "IDAT", stream + at, n);
        at += n;
        if (chunk == 0 && between)
            put_chunk(&b, "tEXt", (const uint8_t *)"k\0v", 3);
    }
    put_chunk(&b, "IEND", NULL, 0);
    return b;
}

struct reader {
    const uint8_t *data;
    size_t size, pos;
    jmp_buf jump;
};

static void read_memory(png_structp png, png_bytep out, size_t count)
{
    struct reader *r = png_get_io_ptr(png);
    if (count > r->size - r->pos)
        png_error(png, "truncated");
    memcpy(out, r->data + r->pos, count);
    r->pos += count;
}

static void on_error(png_structp png, png_const_charp message)
{
    struct reader *r = png_get_error_ptr(png);
    longjmp(r->jump, 1);
}

static void on_warning(png_structp png, png_const_charp message)
{
}

/* libpng's rows, unfiltered, without any transformation: 1 on success. */
static int libpng_rows(const struct png_buffer *b, uint8_t *rows, size_t row_bytes, uint32_t height)
{
    struct reader r;
    memset(&r, 0, sizeof r);
    r.data = b->data;
    r.size = b->size;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int ok = 0;
    if (info && !setjmp(r.jump)) {
        png_set_read_fn(png, &r, read_memory);
        png_read_info(png, info);
        for (uint32_t y = 0; y < height; y++)
            png_read_row(png, rows + (size_t)y * row_bytes, NULL);
        ok = 1;
    }
    png_destroy_read_struct(&png, &info, NULL);
    return ok;
}

static const struct layout layouts[] = {
    {PNG_COLOR_TYPE_GRAY, 8, 1},       {PNG_COLOR_TYPE_GRAY, 16, 1}, {PNG_COLOR_TYPE_GRAY_ALPHA, 8, 2},
    {PNG_COLOR_TYPE_GRAY_ALPHA, 16, 2}, {PNG_COLOR_TYPE_RGB, 8, 3},   {PNG_COLOR_TYPE_RGB, 16, 3},
    {PNG_COLOR_TYPE_RGB_ALPHA, 8, 4},  {PNG_COLOR_TYPE_RGB_ALPHA, 16, 4}, {PNG_COLOR_TYPE_PALETTE, 8, 1},
};

static uint8_t *random_filtered(uint32_t height, size_t row_bytes, int max_filter)
{
    size_t stride = row_bytes + 1;
    uint8_t *filtered = malloc(height * stride);
    if (!filtered)
        abort();
    for (size_t i = 0; i < height * stride; i++)
        filtered[i] = (uint8_t)next_random();
    for (uint32_t y = 0; y < height; y++)
        filtered[y * stride] = (uint8_t)(next_random() % (unsigned)(max_filter + 1));
    return filtered;
}

static uint8_t *deflate_all(const uint8_t *data, size_t size, size_t *out_size)
{
    uLongf n = compressBound((uLong)size);
    uint8_t *out = malloc(n);
    if (!out || compress2(out, &n, data, (uLong)size, 6) != Z_OK)
        abort();
    *out_size = n;
    return out;
}

static int compared;

static void test_random_images(void)
{
    static const uint32_t widths[] = {1, 2, 3, 5, 8, 31, 100, 257};
    static const uint32_t heights[] = {1, 2, 7, 33};
    for (size_t l = 0; l < sizeof layouts / sizeof *layouts; l++)
        for (size_t w = 0; w < sizeof widths / sizeof *widths; w++)
            for (size_t h = 0; h < sizeof heights / sizeof *heights; h++) {
                const struct layout *layout = &layouts[l];
                uint32_t width = widths[w], height = heights[h];
                size_t bpp = (size_t)layout->channels * (size_t)(layout->bit_depth / 8);
                size_t row_bytes = width * bpp;
                uint8_t *filtered = random_filtered(height, row_bytes, 4);
                size_t stream_size = 0;
                uint8_t *stream = deflate_all(filtered, height * (row_bytes + 1), &stream_size);
                struct png_buffer b = build_png(layout, width, height, stream, stream_size, 0);
                uint8_t *expected = malloc(height * row_bytes), *rows = NULL;
                int reference = expected && libpng_rows(&b, expected, row_bytes, height);
                CHECK(reference, "libpng decodes colour type %d depth %d %ux%u", layout->color_type,
                      layout->bit_depth, width, height);
                int ok = bmci_png_read_rows(b.data, b.size, b.first_idat, height, row_bytes, bpp, &rows);
                CHECK(ok == 1, "fast path takes colour type %d depth %d %ux%u", layout->color_type, layout->bit_depth,
                      width, height);
                if (ok && reference) {
                    size_t differ = 0;
                    for (uint32_t y = 0; y < height; y++)
                        differ += memcmp(rows + y * (row_bytes + 1) + 1, expected + y * row_bytes, row_bytes) != 0;
                    CHECK(differ == 0, "colour type %d depth %d %ux%u: %zu rows differ from libpng's",
                          layout->color_type, layout->bit_depth, width, height, differ);
                    compared++;
                }
                free(rows);
                free(expected);
                free(b.data);
                free(stream);
                free(filtered);
            }
}

/* Build an RGB image of 13 x 9 from `filtered`, with the stream changed by `spoil`, and check
 * that the fast path gives up on it. */
static void expect_refused(const char *what, int max_filter, int between, size_t cut, int extra_row, int bad_checksum)
{
    const struct layout rgb = {PNG_COLOR_TYPE_RGB, 8, 3};
    uint32_t width = 13, height = 9 + (extra_row ? 1 : 0);
    size_t row_bytes = width * 3;
    uint8_t *filtered = random_filtered(height, row_bytes, max_filter);
    if (max_filter > 4)
        filtered[4 * (row_bytes + 1)] = 5; /* row 4: a filter type the specification lacks */
    size_t stream_size = 0;
    uint8_t *stream = deflate_all(filtered, height * (row_bytes + 1), &stream_size);
    if (bad_checksum)
        stream[stream_size - 1] ^= 1;
    stream_size -= cut;
    struct png_buffer b = build_png(&rgb, width, 9, stream, stream_size, between);
    uint8_t *rows = (uint8_t *)&rows;
    int ok = bmci_png_read_rows(b.data, b.size, b.first_idat, 9, row_bytes, 3, &rows);
    CHECK(ok == 0 && rows == NULL, "%s: fast path gives up (returned %d)", what, ok);
    free(b.data);
    free(stream);
    free(filtered);
}

static void test_refusals(void)
{
    expect_refused("unknown filter type 5", 5, 0, 0, 0, 0);
    expect_refused("stream cut short", 4, 0, 7, 0, 0);
    expect_refused("stream one row too long", 4, 0, 0, 1, 0);
    expect_refused("bad Adler-32", 4, 0, 0, 0, 1);
    expect_refused("IDAT run broken by tEXt", 4, 1, 0, 0, 0);
}

static void test_limits_and_arguments(void)
{
    const struct layout rgb = {PNG_COLOR_TYPE_RGB, 8, 3};
    uint8_t filtered[4] = {0, 1, 2, 3};
    size_t stream_size = 0;
    uint8_t *stream = deflate_all(filtered, sizeof filtered, &stream_size);
    struct png_buffer b = build_png(&rgb, 1, 1, stream, stream_size, 0);
    uint8_t *rows = NULL;
    CHECK(bmci_png_read_rows(b.data, b.size, b.first_idat, 1, 3, 3, &rows) == 1, "1x1 RGB taken");
    CHECK(rows && rows[1] == 1 && rows[2] == 2 && rows[3] == 3, "1x1 RGB pixel is 1 2 3");
    free(rows);
    /* the same bytes claimed to be an image over the limit: refused before any allocation */
    size_t huge_rows = BMCI_PNG_ROWS_MAX_BYTES / 4 + 1;
    CHECK(bmci_png_read_rows(b.data, b.size, b.first_idat, huge_rows, 3, 3, &rows) == 0 && !rows,
          "filtered data over %zu bytes refused", (size_t)BMCI_PNG_ROWS_MAX_BYTES);
    CHECK(bmci_png_read_rows(b.data, b.size, b.first_idat - 1, 1, 3, 3, &rows) == 0, "position not after IDAT");
    CHECK(bmci_png_read_rows(b.data, b.first_idat + 1, b.first_idat, 1, 3, 3, &rows) == 0, "file cut in the IDAT");
    CHECK(bmci_png_read_rows(b.data, b.size, b.size + 5, 1, 3, 3, &rows) == 0, "position past the end");
    free(b.data);
    free(stream);
}

int main(void)
{
    RUN(test_random_images);
    RUN(test_refusals);
    RUN(test_limits_and_arguments);
    printf("compared %d images with libpng's rows\n", compared);
    return harness_summary("test_png_rows");
}
