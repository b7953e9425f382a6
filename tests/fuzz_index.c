/* SPDX-License-Identifier: MIT */
/* Fuzz target: open any bytes as an index file, with bmc_index_load() and bmc_index_map(), and
 * use whatever opens (search, texts, vectors). For half of the inputs the checksums are
 * recomputed first, so the fuzzer gets past them to the structural checks (offsets, ids,
 * texts, sizes). Nothing may crash, leak or trip a sanitizer. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "biomedclip.h"
#include "core/crc32.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Rewrite the section and header checksums where the header's sizes fit in the input. */
static void reseal(uint8_t *file, size_t size)
{
    if (size < 64)
        return;
    uint32_t dtype, dim;
    memcpy(&dtype, file + 12, 4);
    memcpy(&dim, file + 16, 4);
    uint64_t count = get64(file + 24), text_bytes = get64(file + 32);
    if (dim > 65536 || count > size || text_bytes > size)
        return;
    uint64_t sizes[4] = {count * dim * (dtype == 2 || dtype == 3 ? 2 : 4), count * 8, (count + 1) * 8,
                         text_bytes};
    uint64_t at = 64;
    for (int s = 0; s < 4; s++) {
        uint64_t offset = (at + 63) / 64 * 64;
        if (offset + sizes[s] > size)
            break;
        uint32_t crc = bmci_crc32(0, file + offset, (size_t)sizes[s]);
        memcpy(file + 40 + 4 * s, &crc, 4);
        at = offset + sizes[s];
    }
    uint32_t crc = bmci_crc32(0, file, 60);
    memcpy(file + 60, &crc, 4);
}

static void exercise(bmc_index *index)
{
    int32_t dim = bmc_index_dim(index);
    float *query = malloc((size_t)dim * sizeof *query);
    if (!query)
        return;
    for (int32_t d = 0; d < dim; d++)
        query[d] = (float)(d % 3) - 0.5f;
    int64_t ids[4];
    float scores[4];
    bmc_index_search(index, query, 1, 4, NULL, ids, scores, 4);
    for (int i = 0; i < 4 && ids[i] >= 0; i++) {
        size_t needed = 0;
        if (bmc_index_get_text(index, ids[i], NULL, 0, &needed) == BMC_OK) {
            char *text = malloc(needed);
            if (text)
                bmc_index_get_text(index, ids[i], text, needed, NULL);
            free(text);
        }
        bmc_index_get_vector(index, ids[i], query, (size_t)dim);
    }
    free(query);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    uint8_t *file = malloc(size ? size : 1);
    if (!file)
        return 0;
    memcpy(file, data, size);
    if (size && (data[size - 1] & 1))
        reseal(file, size);
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_index", 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (fd >= 0 && ftruncate(fd, 0) == 0 && pwrite(fd, file, size, 0) == (ssize_t)size) {
        bmc_index *index = NULL;
        if (bmc_index_load(path, &index) == BMC_OK)
            exercise(index);
        bmc_index_free(index);
        index = NULL;
        if (bmc_index_map(path, 0, &index) == BMC_OK)
            exercise(index);
        bmc_index_free(index);
    }
    free(file);
    return 0;
}
