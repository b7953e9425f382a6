/* SPDX-License-Identifier: MIT */
/* Fuzz target: decode any bytes as an image, then run the full preprocessing on it.
 * Nothing may crash, leak or trip a sanitizer; failures must come back as statuses. */
#include <stdint.h>
#include <stdlib.h>

#include "biomedclip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int configured;
    if (!configured) {
        /* Smaller limits than the defaults keep every input fast to decode. */
        bmc_runtime_config config;
        bmc_runtime_config_init(&config);
        config.max_image_pixels = 1 << 22;
        bmc_configure(&config);
        configured = 1;
    }
    bmc_image *image = NULL;
    /* The JPEG draft decode too (libjpeg's scaled inverse DCT), at a size from the input. */
    if (bmc_image_load_memory_draft(data, size, size > 0 ? 1 + data[size - 1] % 64 : 1, &image) == BMC_OK)
        bmc_image_free(image);
    image = NULL;
    if (bmc_image_load_memory(data, size, &image) != BMC_OK)
        return 0;
    int32_t width = 0, height = 0, mode = 0;
    bmc_image_info(image, &width, &height, &mode);
    if ((int64_t)width * height <= 1 << 16) {
        size_t bytes = (size_t)width * (size_t)height * 3;
        uint8_t *rgb = malloc(bytes);
        if (rgb)
            bmc_image_to_rgb8(image, rgb, bytes);
        free(rgb);
    }
    bmc_preprocess_options options;
    bmc_preprocess_options_init(&options);
    options.image_size = 32; /* the arithmetic is the same at any size; small is fast */
    options.resize_mode = size % 2 ? BMC_RESIZE_SQUASH : BMC_RESIZE_SHORTEST_CROP;
    float tensor[3 * 32 * 32];
    bmc_preprocess(image, &options, tensor, sizeof tensor / sizeof tensor[0]);
    bmc_image_free(image);
    return 0;
}
