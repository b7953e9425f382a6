/* SPDX-License-Identifier: MIT */
/* PNG decoding and writing with libpng.
 *
 * Decoding opens every colour type and bit depth in the mode Pillow 9.4's PngImagePlugin
 * gives it (its _MODES table): grey 1 -> "1", grey 2/4/8 -> L (2- and 4-bit samples scaled by
 * 0x55 / 0x11 as Pillow's unpackers do), grey 16 -> I (the 16-bit value), RGB 8/16 -> RGB
 * and RGBA 8/16 -> RGBA (16-bit samples keep their high byte), grey+alpha 8 -> LA, grey+alpha
 * 16 -> RGBA (L, L, L, A high bytes), palette 1/2/4/8 -> P with the PLTE entries. tRNS,
 * gamma and the other ancillary chunks do not change pixels, as in Pillow.
 *
 * libpng reports errors through a callback that must not return: ours records the message
 * and longjmps back to the decoding function, which frees everything it allocated. */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "image/codecs.h"
#include "image/png_rows.h"
#include "core/error.h"
#include "core/log.h"
#include "core/runtime.h"

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

int bmci_is_png(const uint8_t *data, size_t size)
{
    size_t n = size < sizeof png_signature ? size : sizeof png_signature;
    return n > 0 && memcmp(data, png_signature, n) == 0;
}

/* State shared with libpng's callbacks. It lives in the caller of the function that calls
 * setjmp, so its fields keep their values across the longjmp. */
struct png_decoder {
    jmp_buf jump;
    char message[256];
    bmc_status status;       /* status to report when libpng fails */
    const uint8_t *data;
    size_t size;
    size_t pos;
    png_structp png;
    png_infop info;
    uint8_t *raw;            /* libpng's rows before conversion */
    bmc_image *image;        /* owned here until decoding succeeds */
};

static void on_png_error(png_structp png, png_const_charp message)
{
    struct png_decoder *d = png_get_error_ptr(png);
    snprintf(d->message, sizeof d->message, "%s", message);
    longjmp(d->jump, 1);
}

static void on_png_warning(png_structp png, png_const_charp message)
{
    (void)png;
    bmci_log(BMC_LOG_DEBUG, "png: warning: %s", message);
}

static void read_from_memory(png_structp png, png_bytep out, size_t count)
{
    struct png_decoder *d = png_get_io_ptr(png);
    if (count > d->size - d->pos) {
        d->status = BMC_ERR_CORRUPT_DATA;
        png_error(png, "file is truncated");
    }
    memcpy(out, d->data + d->pos, count);
    d->pos += count;
}

static int32_t pillow_mode(int color_type, int bit_depth)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
        return bit_depth == 1 ? BMC_IMAGE_MODE_1 : bit_depth == 16 ? BMC_IMAGE_MODE_I : BMC_IMAGE_MODE_L;
    case PNG_COLOR_TYPE_PALETTE: return BMC_IMAGE_MODE_P;
    case PNG_COLOR_TYPE_RGB: return BMC_IMAGE_MODE_RGB;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return bit_depth == 16 ? BMC_IMAGE_MODE_RGBA : BMC_IMAGE_MODE_LA;
    case PNG_COLOR_TYPE_RGB_ALPHA: return BMC_IMAGE_MODE_RGBA;
    default: return 0;
    }
}

/* One row as libpng delivers it (packed sub-byte samples expanded to one byte each, 16-bit
 * samples big-endian) -> one row of the image in its Pillow mode. */
static void convert_row(const uint8_t *raw, int color_type, int bit_depth, bmc_image *image, uint8_t *out)
{
    int32_t w = image->width;
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) {
        /* Pillow: "1" stores 0/255; L;2 and L;4 multiply by 0x55 and 0x11. */
        unsigned scale = bit_depth == 1 ? 255 : bit_depth == 2 ? 0x55 : 0x11;
        for (int32_t x = 0; x < w; x++)
            out[x] = (uint8_t)(raw[x] * scale);
    } else if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth == 16) {
        int32_t x = 0;
#if defined(__SSE2__)
        /* Eight big-endian samples at a time: swap each one's bytes, widen with zeros. */
        for (; x + 8 <= w; x += 8) {
            __m128i be = _mm_loadu_si128((const __m128i *)(raw + 2 * (size_t)x));
            __m128i v = _mm_or_si128(_mm_slli_epi16(be, 8), _mm_srli_epi16(be, 8));
            _mm_storeu_si128((__m128i *)(out + 4 * (size_t)x), _mm_unpacklo_epi16(v, _mm_setzero_si128()));
            _mm_storeu_si128((__m128i *)(out + 4 * (size_t)x + 16), _mm_unpackhi_epi16(v, _mm_setzero_si128()));
        }
#endif
        for (; x < w; x++) {
            int32_t v = (int32_t)raw[2 * x] << 8 | raw[2 * x + 1];
            memcpy(out + 4 * (size_t)x, &v, sizeof v);
        }
    } else if (color_type == PNG_COLOR_TYPE_GRAY_ALPHA && bit_depth == 16) {
        for (int32_t x = 0; x < w; x++, raw += 4, out += 4) {
            out[0] = out[1] = out[2] = raw[0];
            out[3] = raw[2];
        }
    } else if (bit_depth == 16) {
        size_t samples = (size_t)w * (size_t)image->bands;
        for (size_t i = 0; i < samples; i++)
            out[i] = raw[2 * i];
    } else {
        memcpy(out, raw, image->stride); /* 8-bit samples and palette indices as they are */
    }
}

static void copy_palette(struct png_decoder *d)
{
    png_colorp entries = NULL;
    int count = 0;
    if (!png_get_PLTE(d->png, d->info, &entries, &count))
        return;
    for (int i = 0; i < count && i < 256; i++) {
        d->image->palette[3 * i + 0] = entries[i].red;
        d->image->palette[3 * i + 1] = entries[i].green;
        d->image->palette[3 * i + 2] = entries[i].blue;
    }
}

/* Everything that may longjmp. Returns BMC_OK or a status with the message already set. */
static bmc_status decode_guarded(struct png_decoder *d)
{
    if (setjmp(d->jump))
        return bmci_fail(d->status, "png: %s", d->message);

    png_set_read_fn(d->png, d, read_from_memory);
    /* Let any size through libpng so that our own limits decide, with BMC_ERR_LIMIT. */
    png_set_user_limits(d->png, 0x7fffffff, 0x7fffffff);
    png_read_info(d->png, d->info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(d->png, d->info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    bmc_status status = bmci_check_image_size("png", width, height);
    if (status != BMC_OK)
        return status;
    int32_t mode = pillow_mode(color_type, bit_depth);
    if (mode == 0)
        return bmci_fail(BMC_ERR_UNSUPPORTED, "png: colour type %d is not supported", color_type);

    /* Pillow never checks the CRCs of IDAT chunks (it skips them) nor the zlib checksum of the
     * image data; neither do we from here on, which saves computing them. The chunks read so
     * far, IHDR and PLTE among them, had their CRCs checked. */
    png_set_crc_action(d->png, PNG_CRC_QUIET_USE, PNG_CRC_DEFAULT);
#ifdef PNG_IGNORE_ADLER32
    png_set_option(d->png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
    if (bit_depth < 8)
        png_set_packing(d->png);
    int passes = png_set_interlace_handling(d->png);
    png_read_update_info(d->png, d->info);
    size_t row_bytes = png_get_rowbytes(d->png, d->info);
    size_t channels = png_get_channels(d->png, d->info);
    if (row_bytes != (size_t)width * channels * (bit_depth == 16 ? 2 : 1))
        return bmci_fail(BMC_ERR_INTERNAL, "png: unexpected row size %zu for %u pixels", row_bytes, width);

    status = bmci_image_new(mode, (int32_t)width, (int32_t)height, &d->image);
    if (status != BMC_OK)
        return status;
    if (mode == BMC_IMAGE_MODE_P)
        copy_palette(d);

    /* The plain cases take the faster whole-buffer path; anything it gives up on is read below
     * by libpng from the same place. */
    uint8_t *rows = NULL;
    size_t bpp = channels * (size_t)(bit_depth / 8);
    if (passes == 1 && bit_depth >= 8 && bmci_png_read_rows(d->data, d->size, d->pos, height, row_bytes, bpp, &rows)) {
        for (png_uint_32 y = 0; y < height; y++)
            convert_row(rows + (size_t)y * (row_bytes + 1) + 1, color_type, bit_depth, d->image,
                        d->image->pixels + y * d->image->stride);
        free(rows);
        return BMC_OK;
    }

    /* Interlaced passes fill the whole image step by step, so they need every raw row at
     * once; otherwise one row at a time is enough. */
    size_t raw_rows = passes > 1 ? height : 1;
    if (raw_rows > SIZE_MAX / row_bytes || !(d->raw = malloc(raw_rows * row_bytes)))
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "png: cannot allocate %zu rows of %zu bytes", raw_rows, row_bytes);
    if (passes == 1) {
        for (png_uint_32 y = 0; y < height; y++) {
            png_read_row(d->png, d->raw, NULL);
            convert_row(d->raw, color_type, bit_depth, d->image, d->image->pixels + y * d->image->stride);
        }
    } else {
        for (int pass = 0; pass < passes; pass++)
            for (png_uint_32 y = 0; y < height; y++)
                png_read_row(d->png, d->raw + y * row_bytes, NULL);
        for (png_uint_32 y = 0; y < height; y++)
            convert_row(d->raw + y * row_bytes, color_type, bit_depth, d->image,
                        d->image->pixels + y * d->image->stride);
    }
    return BMC_OK;
}

bmc_status bmci_png_decode(const uint8_t *data, size_t size, bmc_image **out)
{
    struct png_decoder d;
    memset(&d, 0, sizeof d);
    d.data = data;
    d.size = size;
    d.status = BMC_ERR_CORRUPT_DATA;
    d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d, on_png_error, on_png_warning);
    if (d.png)
        d.info = png_create_info_struct(d.png);
    if (!d.png || !d.info) {
        png_destroy_read_struct(&d.png, NULL, NULL);
        return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "png: cannot create the libpng decoder");
    }
    bmc_status status = decode_guarded(&d);
    png_destroy_read_struct(&d.png, &d.info, NULL);
    free(d.raw);
    if (status != BMC_OK) {
        bmc_image_free(d.image);
        return status;
    }
    *out = d.image;
    return BMC_OK;
}

/* ---- writing ------------------------------------------------------------------------------ */

struct png_writer {
    jmp_buf jump;
    char message[256];
    png_structp png;
    png_infop info;
    FILE *file;
};

static void on_png_write_error(png_structp png, png_const_charp message)
{
    struct png_writer *w = png_get_error_ptr(png);
    snprintf(w->message, sizeof w->message, "%s", message);
    longjmp(w->jump, 1);
}

static bmc_status write_guarded(struct png_writer *w, const char *path, const uint8_t *pixels,
                                int32_t width, int32_t height, int32_t channels)
{
    if (setjmp(w->jump))
        return bmci_fail(BMC_ERR_IO, "png: cannot write '%s': %s", path, w->message);
    static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, 0, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    png_init_io(w->png, w->file);
    png_set_IHDR(w->png, w->info, (png_uint_32)width, (png_uint_32)height, 8, color_types[channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(w->png, w->info);
    size_t row = (size_t)width * (size_t)channels;
    for (int32_t y = 0; y < height; y++)
        png_write_row(w->png, pixels + (size_t)y * row);
    png_write_end(w->png, NULL);
    return BMC_OK;
}

bmc_status bmc_png_write_file(const char *path, const uint8_t *pixels, int32_t width, int32_t height,
                              int32_t channels)
{
    if (!path || !pixels)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_png_write_file: %s is NULL", path ? "pixels" : "path");
    if (width < 1 || height < 1 || channels < 1 || channels > 4 || channels == 2)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT,
                         "bmc_png_write_file: %dx%d with %d channels (need sizes >= 1 and 1, 3 or 4 channels)",
                         width, height, channels);
    struct png_writer w;
    memset(&w, 0, sizeof w);
    w.file = fopen(path, "wb");
    if (!w.file)
        return bmci_fail(BMC_ERR_IO, "png: cannot open '%s' for writing: %s", path, strerror(errno));
    w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, on_png_write_error, on_png_warning);
    if (w.png)
        w.info = png_create_info_struct(w.png);
    bmc_status status = w.info ? write_guarded(&w, path, pixels, width, height, channels)
                               : bmci_fail(BMC_ERR_OUT_OF_MEMORY, "png: cannot create the libpng encoder");
    png_destroy_write_struct(&w.png, &w.info);
    if (fclose(w.file) != 0 && status == BMC_OK)
        status = bmci_fail(BMC_ERR_IO, "png: cannot write '%s': %s", path, strerror(errno));
    if (status != BMC_OK)
        remove(path); /* no half-written file left behind */
    return status;
}
