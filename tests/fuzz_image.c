/* SPDX-License-Identifier: MIT */
/* Fuzz target: decode any bytes as an image (PNG, JPEG, DICOM), then run the full
 * preprocessing on it. Every other input of four bytes or more is decoded from a file (a
 * memfd, through bmc_image_load_file and its draft variant), the rest from memory: the two
 * paths read through different sources (stdio and a memory reader), and both must hold.
 * Nothing may crash, leak or trip a sanitizer; failures must come back as statuses. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "biomedclip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a file: a memfd's path, or NULL if it cannot be written. */
static const char *as_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_image", 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return NULL;
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int configured;
    if (!configured) {
        /* Smaller limits than the defaults keep every input fast to decode. */
        bmc_runtime_config config;
        bmc_runtime_config_init(&config);
        config.max_image_pixels = 1 << 18;
        bmc_configure(&config);
        configured = 1;
    }
    bmc_image *image = NULL;
    const char *path = size >= 4 && (size / 2) % 2 ? as_file(data, size) : NULL;
    /* The JPEG draft decode too (libjpeg's scaled inverse DCT), at a size from the input. */
    int32_t draft = size > 0 ? 1 + data[size - 1] % 64 : 1;
    if ((path ? bmc_image_load_file_draft(path, draft, &image)
              : bmc_image_load_memory_draft(data, size, draft, &image)) == BMC_OK)
        bmc_image_free(image);
    image = NULL;
    if ((path ? bmc_image_load_file(path, &image) : bmc_image_load_memory(data, size, &image)) != BMC_OK)
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
