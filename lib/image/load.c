/* SPDX-License-Identifier: MIT */
/* bmc_image_load_file / bmc_image_load_memory: read the bytes, recognise the format from its
 * first bytes and hand over to the PNG, JPEG or DICOM decoder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/codecs.h"
#include "core/error.h"

bmc_status bmc_image_load_memory(const void *data, size_t size, bmc_image **out)
{
    if (!data || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_image_load_memory: %s is NULL", data ? "out" : "data");
    const uint8_t *bytes = data;
    if (size == 0)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "image: no data (0 bytes)");
    if (bmci_is_png(bytes, size))
        return bmci_png_decode(bytes, size, out);
    if (bmci_is_jpeg(bytes, size))
        return bmci_jpeg_decode(bytes, size, out);
    /* DICOM last: a file without the Part 10 preamble is recognised only by parsing it */
    return bmci_dicom_load_image(bytes, size, bmci_is_dicom(bytes, size), out);
}

bmc_status bmci_read_whole_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return bmci_fail(BMC_ERR_IO, "image: cannot open '%s': %s", path, strerror(errno));
    uint8_t *buffer = NULL;
    size_t used = 0, capacity = 0;
    for (;;) {
        if (used == capacity) {
            size_t grown = capacity ? capacity * 2 : 1 << 16;
            uint8_t *bigger = grown > capacity ? realloc(buffer, grown) : NULL;
            if (!bigger) {
                free(buffer);
                fclose(file);
                return bmci_fail(BMC_ERR_OUT_OF_MEMORY, "image: '%s' does not fit in memory", path);
            }
            buffer = bigger;
            capacity = grown;
        }
        size_t got = fread(buffer + used, 1, capacity - used, file);
        used += got;
        if (got == 0)
            break;
    }
    int failed = ferror(file);
    fclose(file);
    if (failed) {
        free(buffer);
        return bmci_fail(BMC_ERR_IO, "image: cannot read '%s'", path);
    }
    *data = buffer;
    *size = used;
    return BMC_OK;
}

bmc_status bmc_image_load_file(const char *path, bmc_image **out)
{
    if (!path || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "bmc_image_load_file: %s is NULL", path ? "out" : "path");
    uint8_t *data = NULL;
    size_t size = 0;
    bmc_status status = bmci_read_whole_file(path, &data, &size);
    if (status != BMC_OK)
        return status;
    status = bmc_image_load_memory(data ? data : (const uint8_t *)"", size, out);
    free(data);
    if (status != BMC_OK)
        return bmci_fail_context(status, path);
    return BMC_OK;
}
