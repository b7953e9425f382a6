/* SPDX-License-Identifier: MIT */
/* bmc_image_load_file / bmc_image_load_memory (and their _draft forms): read the bytes,
 * recognise the format from its first bytes and hand over to the PNG, JPEG or DICOM decoder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/codecs.h"
#include "core/error.h"

/* Largest draft size accepted: the preprocessing's own limit on image_size. */
#define MAX_DRAFT 4096

/* `draft` 0: full decode; else the JPEG scaled decode (PNG and DICOM ignore it). */
static bmc_status load_memory(const void *data, size_t size, int32_t draft, bmc_image **out, const char *fn)
{
    if (!data || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, data ? "out" : "data");
    const uint8_t *bytes = data;
    if (size == 0)
        return bmci_fail(BMC_ERR_CORRUPT_DATA, "image: no data (0 bytes)");
    if (bmci_is_png(bytes, size))
        return bmci_png_decode(bytes, size, out);
    if (bmci_is_jpeg(bytes, size))
        return bmci_jpeg_decode(bytes, size, draft, out);
    /* DICOM last: a file without the Part 10 preamble is recognised only by parsing it */
    return bmci_dicom_load_image(bytes, size, bmci_is_dicom(bytes, size), out);
}

static bmc_status check_draft(int32_t draft, const char *fn)
{
    if (draft < 1 || draft > MAX_DRAFT)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: size %d is outside 1..%d", fn, draft, MAX_DRAFT);
    return BMC_OK;
}

bmc_status bmc_image_load_memory(const void *data, size_t size, bmc_image **out)
{
    return load_memory(data, size, 0, out, "bmc_image_load_memory");
}

bmc_status bmc_image_load_memory_draft(const void *data, size_t size, int32_t draft, bmc_image **out)
{
    bmc_status status = check_draft(draft, "bmc_image_load_memory_draft");
    return status != BMC_OK ? status : load_memory(data, size, draft, out, "bmc_image_load_memory_draft");
}

/* The file's size as fstat gives it, plus one byte, so that a regular file is read with one
 * allocation and no copy; the loop still grows the buffer when the file grows while it is read,
 * or is a pipe or device whose size fstat does not know. (Growing from 64 KiB by doubling
 * copied a 220 KB PNG twice and left glibc trimming and faulting its heap at every load.) */
static size_t first_capacity(FILE *file)
{
    struct stat st;
    if (fstat(fileno(file), &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
        (uint64_t)st.st_size < SIZE_MAX / 2)
        return (size_t)st.st_size + 1;
    return (size_t)1 << 16;
}

bmc_status bmci_read_whole_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return bmci_fail(BMC_ERR_IO, "image: cannot open '%s': %s", path, strerror(errno));
    uint8_t *buffer = NULL;
    size_t used = 0, capacity = 0, first = first_capacity(file);
    for (;;) {
        if (used == capacity) {
            size_t grown = capacity ? capacity * 2 : first;
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

static bmc_status load_file(const char *path, int32_t draft, bmc_image **out, const char *fn)
{
    if (!path || !out)
        return bmci_fail(BMC_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, path ? "out" : "path");
    uint8_t *data = NULL;
    size_t size = 0;
    bmc_status status = bmci_read_whole_file(path, &data, &size);
    if (status != BMC_OK)
        return status;
    status = load_memory(data ? data : (const uint8_t *)"", size, draft, out, fn);
    free(data);
    if (status != BMC_OK)
        return bmci_fail_context(status, path);
    return BMC_OK;
}

bmc_status bmc_image_load_file(const char *path, bmc_image **out)
{
    return load_file(path, 0, out, "bmc_image_load_file");
}

bmc_status bmc_image_load_file_draft(const char *path, int32_t draft, bmc_image **out)
{
    bmc_status status = check_draft(draft, "bmc_image_load_file_draft");
    return status != BMC_OK ? status : load_file(path, draft, out, "bmc_image_load_file_draft");
}
