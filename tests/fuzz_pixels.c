/* SPDX-License-Identifier: MIT */
/* Fuzz target: bmc_image_from_pixels() on views of random geometry, row strides (padded,
 * negative, too short), sample types (valid or not), rescale and window values (any double,
 * NaN and infinities included) and MONOCHROME1, then the image's RGB copy and preprocessing.
 * The first 40 bytes describe the view; the rest are its samples, repeated to fill a buffer of
 * exactly the bytes the view spans, so that AddressSanitizer sees any read outside it.
 * Nothing may crash, leak or trip a sanitizer; a view the library accepts must give an image
 * of its width and height. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "biomedclip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { HEADER = 40 };

static double get_double(const uint8_t *p)
{
    double v;
    memcpy(&v, p, sizeof v);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    bmc_pixels view;
    bmc_pixels_init(&view);
    view.width = 1 + data[0] % 96;
    view.height = 1 + data[1] % 96;
    /* Mostly valid channel counts and sample types, now and then an invalid one. */
    static const int32_t channels[8] = {1, 3, 4, 1, 3, 4, 2, 0};
    view.channels = channels[data[2] % 8];
    view.sample_type = data[3] % 6; /* 0 and 5 are not sample types */
    int32_t sample = view.sample_type == BMC_SAMPLE_U8 ? 1 : view.sample_type == BMC_SAMPLE_F32 ? 4 : 2;
    int64_t row = (int64_t)view.width * (view.channels > 0 ? view.channels : 1) * sample;
    /* Stride: packed (0), padded, exactly a row, one byte short, or any of them negative. */
    int64_t pad = data[4] % 16;
    int64_t stride = (data[5] & 3) == 0 ? 0 : (data[5] & 3) == 1 ? row + pad : (data[5] & 3) == 2 ? row : row - 1;
    if (data[5] & 4)
        stride = -stride;
    view.row_stride = stride;
    view.has_rescale = data[6] & 1;
    view.has_window = data[6] & 2;
    view.monochrome1 = data[6] & 4;
    if (data[6] & 8)
        view.struct_size = data[7]; /* an unknown struct_size */
    view.rescale_slope = get_double(data + 8);
    view.rescale_intercept = get_double(data + 16);
    view.window_center = get_double(data + 24);
    view.window_width = get_double(data + 32);

    /* The bytes the view spans: |stride| * (height - 1) + one row; a short stride is refused
     * before any read, so a packed row is enough then. */
    int64_t step = stride == 0 ? row : stride < 0 ? -stride : stride;
    if (step < row)
        step = row;
    size_t span = (size_t)(step * (view.height - 1) + row);
    uint8_t *buffer = malloc(span);
    if (!buffer)
        return 0;
    const uint8_t *samples = data + HEADER;
    size_t count = size - HEADER;
    for (size_t i = 0; i < span; i++)
        buffer[i] = count ? samples[i % count] : (uint8_t)i;
    view.data = stride < 0 ? buffer + (size_t)(step * (view.height - 1)) : buffer;

    bmc_image *image = NULL;
    if (bmc_image_from_pixels(&view, &image) == BMC_OK) {
        int32_t width = 0, height = 0, mode = 0;
        bmc_image_info(image, &width, &height, &mode);
        if (width != view.width || height != view.height)
            abort();
        size_t bytes = (size_t)width * (size_t)height * 3;
        uint8_t *rgb = malloc(bytes);
        if (rgb && bmc_image_to_rgb8(image, rgb, bytes) != BMC_OK)
            abort();
        free(rgb);
        bmc_preprocess_options options;
        bmc_preprocess_options_init(&options);
        options.image_size = 16;
        options.resize_mode = data[4] & 16 ? BMC_RESIZE_SQUASH : BMC_RESIZE_SHORTEST_CROP;
        float tensor[3 * 16 * 16];
        bmc_preprocess(image, &options, tensor, sizeof tensor / sizeof tensor[0]);
        bmc_image_free(image);
    }
    free(buffer);
    return 0;
}
